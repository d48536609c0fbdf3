//! The final table: one row per figure, columns padded to line up.

/// Rows of (benchmark, database, figure, value).
pub struct Table {
    sections: Vec<&'static str>,
    rows: Vec<[String; 4]>,
}

impl Table {
    /// An empty table whose rows print grouped by benchmark in the order of `sections`
    /// (others last), each group in the order its rows were added.
    pub fn new(sections: &[&'static str]) -> Self {
        Table {
            sections: sections.to_vec(),
            rows: Vec::new(),
        }
    }

    /// Adds a row.
    pub fn add(
        &mut self,
        bench: &str,
        database: &str,
        figure: impl Into<String>,
        value: impl Into<String>,
    ) {
        self.rows
            .push([bench.into(), database.into(), figure.into(), value.into()]);
    }

    /// The table as Markdown with aligned columns.
    pub fn render(&self) -> String {
        let header = ["benchmark", "database", "figure", "value"].map(String::from);
        let width = |c: usize| {
            std::iter::once(&header)
                .chain(&self.rows)
                .map(|r| r[c].chars().count())
                .max()
                .unwrap_or(0)
        };
        let widths: Vec<usize> = (0..4).map(width).collect();
        let line = |r: &[String; 4]| {
            let cells: Vec<String> = r
                .iter()
                .zip(&widths)
                .enumerate()
                .map(|(i, (cell, w))| {
                    // Values are numbers: right-aligned, so magnitudes compare at a glance.
                    if i == 3 {
                        format!("{cell:>w$}")
                    } else {
                        format!("{cell:<w$}")
                    }
                })
                .collect();
            format!("| {} |\n", cells.join(" | "))
        };
        let rule: Vec<String> = widths.iter().map(|w| "-".repeat(*w)).collect();
        let mut rows: Vec<&[String; 4]> = self.rows.iter().collect();
        let rank = |r: &[String; 4]| {
            self.sections
                .iter()
                .position(|s| *s == r[0])
                .unwrap_or(self.sections.len())
        };
        rows.sort_by_key(|r| rank(r));
        let mut out = line(&header);
        out.push_str(&format!("|-{}-|\n", rule.join("-|-")));
        for r in rows {
            out.push_str(&line(r));
        }
        out
    }
}

/// `n` with thousands separators and `decimals` decimals.
pub fn num(n: f64, decimals: usize) -> String {
    let text = format!("{n:.decimals$}");
    let (int, frac) = text.split_once('.').unwrap_or((&text, ""));
    let (sign, digits) = int.strip_prefix('-').map_or(("", int), |d| ("-", d));
    let mut grouped = String::new();
    for (i, ch) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            grouped.push(',');
        }
        grouped.push(ch);
    }
    if frac.is_empty() {
        format!("{sign}{grouped}")
    } else {
        format!("{sign}{grouped}.{frac}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_get_separators() {
        assert_eq!(num(1234567.891, 1), "1,234,567.9");
        assert_eq!(num(999.0, 0), "999");
        assert_eq!(num(-1000.0, 2), "-1,000.00");
    }
}
