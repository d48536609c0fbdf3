//! Small SVG charts for the printable report, drawn as strings: a horizontal bar chart, a
//! paired histogram and a line chart. No script, no external font or image: they print the
//! same from any browser.
//!
//! Decisions:
//! - Fixed width ([`WIDTH`], 640 user units) scaled by the page (`width="100%"`), heights
//!   from the data. Text is escaped; long labels are cut with an ellipsis.
//! - Print in black and white still tells series apart: the second series of a histogram is
//!   dark and the first light, and each line of a line chart has its own dash pattern and
//!   marker.
//! - A missing value is drawn as missing: a bar with "–", a gap in a line, never a zero.

use std::fmt::Write as _;

/// Width of every chart, in user units.
pub const WIDTH: f64 = 640.0;

const FONT: &str = "font-family=\"sans-serif\" font-size=\"11\"";
/// Light and dark: first and second series.
const PAIR: [&str; 2] = ["#9db4cf", "#1f4e8c"];
/// Line colours, each with its dash pattern.
const LINES: [(&str, &str); 6] = [
    ("#1f4e8c", ""),
    ("#c0392b", "6 3"),
    ("#2e7d32", "2 2"),
    ("#6a1b9a", "8 3 2 3"),
    ("#e67e22", "4 4"),
    ("#455a64", "1 3"),
];

/// Escapes text for SVG (XML) content and attributes.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c if (c as u32) < 0x20 && c != '\t' && c != '\n' => {}
            c => out.push(c),
        }
    }
    out
}

/// `s` cut to `max` characters, with an ellipsis when cut.
fn cut(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        s.to_owned()
    } else {
        let mut out: String = s.chars().take(max.saturating_sub(1)).collect();
        out.push('…');
        out
    }
}

/// A number with at most `places` decimals, a decimal comma (Indonesian), no trailing zeros.
pub fn number(x: f64, places: usize) -> String {
    let s = format!("{x:.places$}");
    let s = if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_owned()
    } else {
        s
    };
    let s = if s == "-0" { "0".to_owned() } else { s };
    s.replace('.', ",")
}

fn open(height: f64, title: &str) -> String {
    format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {WIDTH} {height}\" width=\"100%\" \
         role=\"img\" aria-label=\"{t}\"><title>{t}</title>",
        t = escape(title)
    )
}

/// One bar of a bar chart.
#[derive(Debug, Clone, PartialEq)]
pub struct Bar {
    /// What it is (a unit, a dimension).
    pub label: String,
    /// Its value; `None` is drawn as missing ("–").
    pub value: Option<f64>,
    /// Shown after the value, e.g. `n = 12`.
    pub note: Option<String>,
}

impl Bar {
    /// A bar `label` of `value`.
    pub fn new(label: impl Into<String>, value: Option<f64>) -> Self {
        Bar {
            label: label.into(),
            value,
            note: None,
        }
    }

    /// The bar with a note after its value.
    pub fn with_note(mut self, note: impl Into<String>) -> Self {
        self.note = Some(note.into());
        self
    }
}

/// The scale of a bar chart.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BarScale {
    /// The value at the left end (0 for rates, 1 for a Likert mean).
    pub min: f64,
    /// The value at the right end (1 for a rate, 5 for a Likert mean).
    pub max: f64,
    /// Show values as percentages of 1 (`0.75` → `75%`).
    pub percent: bool,
    /// Grid lines between `min` and `max` (4: quarters).
    pub ticks: usize,
}

impl BarScale {
    /// Shares from 0 to 1, shown as percentages.
    pub const RATE: BarScale = BarScale {
        min: 0.0,
        max: 1.0,
        percent: true,
        ticks: 4,
    };
    /// Likert means from 1 to 5.
    pub const LIKERT: BarScale = BarScale {
        min: 1.0,
        max: 5.0,
        percent: false,
        ticks: 4,
    };

    fn label(&self, x: f64) -> String {
        if self.percent {
            format!("{}%", number(x * 100.0, 1))
        } else {
            number(x, 2)
        }
    }
}

const BAR_ROW: f64 = 24.0;
const BAR_LABEL_W: f64 = 200.0;
const BAR_AREA_W: f64 = 320.0;

/// The width of a bar of `value` on `scale`, clamped to the plot.
pub fn bar_width(value: f64, scale: &BarScale) -> f64 {
    let span = scale.max - scale.min;
    if span <= 0.0 || !value.is_finite() {
        return 0.0;
    }
    ((value - scale.min) / span).clamp(0.0, 1.0) * BAR_AREA_W
}

/// A horizontal bar chart: one row per bar, labels on the left, values after the bars.
pub fn bar_chart(title: &str, bars: &[Bar], scale: &BarScale) -> String {
    let top = 8.0;
    let height = top + bars.len() as f64 * BAR_ROW + 24.0;
    let x0 = BAR_LABEL_W;
    let mut s = open(height, title);
    let _ = write!(s, "<g {FONT}>");
    // Grid and axis labels.
    let plot_bottom = top + bars.len() as f64 * BAR_ROW;
    let ticks = scale.ticks.max(1);
    for i in 0..=ticks {
        let v = scale.min + (scale.max - scale.min) * i as f64 / ticks as f64;
        let x = x0 + bar_width(v, scale);
        let _ = write!(
            s,
            "<line x1=\"{x:.1}\" y1=\"{top}\" x2=\"{x:.1}\" y2=\"{plot_bottom}\" stroke=\"#ddd\"/>\
             <text x=\"{x:.1}\" y=\"{:.1}\" text-anchor=\"middle\" fill=\"#555\">{}</text>",
            plot_bottom + 14.0,
            escape(&scale.label(v))
        );
    }
    for (i, bar) in bars.iter().enumerate() {
        let y = top + i as f64 * BAR_ROW;
        let _ = write!(
            s,
            "<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\">{}</text>",
            x0 - 6.0,
            y + 16.0,
            escape(&cut(&bar.label, 28))
        );
        let value_text = match bar.value {
            Some(v) if v.is_finite() => {
                let w = bar_width(v, scale);
                let _ = write!(
                    s,
                    "<rect class=\"bar\" x=\"{x0}\" y=\"{:.1}\" width=\"{w:.1}\" height=\"{:.1}\" fill=\"{}\"/>",
                    y + 4.0,
                    BAR_ROW - 8.0,
                    PAIR[1]
                );
                scale.label(v)
            }
            _ => "–".to_owned(),
        };
        let text = match &bar.note {
            Some(n) => format!("{value_text} ({n})"),
            None => value_text,
        };
        let _ = write!(
            s,
            "<text x=\"{:.1}\" y=\"{:.1}\">{}</text>",
            x0 + BAR_AREA_W + 6.0,
            y + 16.0,
            escape(&text)
        );
    }
    s.push_str("</g></svg>");
    s
}

/// The smallest "round" number (1, 2 or 5 times a power of ten) at least `x`, at least 1.
pub fn nice_ceiling(x: f64) -> f64 {
    if x.is_nan() || x <= 1.0 {
        return 1.0;
    }
    let p = 10f64.powf(x.log10().floor());
    for m in [1.0, 2.0, 5.0, 10.0] {
        if m * p >= x - 1e-9 {
            return m * p;
        }
    }
    10.0 * p
}

const PLOT_LEFT: f64 = 44.0;
const PLOT_RIGHT: f64 = WIDTH - 16.0;
const PLOT_TOP: f64 = 30.0;
const PLOT_BOTTOM: f64 = 200.0;

/// The height in user units of a histogram bar of `count` with axis maximum `max`.
pub fn histogram_bar_height(count: u64, max: f64) -> f64 {
    if max <= 0.0 {
        return 0.0;
    }
    (count as f64 / max).min(1.0) * (PLOT_BOTTOM - PLOT_TOP)
}

fn legend(s: &mut String, items: &[(&str, &str, &str)]) {
    // (colour, dash, text), right-aligned at the top.
    let mut x = PLOT_RIGHT;
    for (colour, dash, text) in items.iter().rev() {
        let w = 26.0 + 6.5 * text.chars().count() as f64;
        x -= w;
        let _ = write!(
            s,
            "<line x1=\"{x:.1}\" y1=\"12\" x2=\"{:.1}\" y2=\"12\" stroke=\"{colour}\" stroke-width=\"8\"{}/>\
             <text x=\"{:.1}\" y=\"16\">{}</text>",
            x + 16.0,
            if dash.is_empty() {
                String::new()
            } else {
                format!(" stroke-dasharray=\"{dash}\"")
            },
            x + 20.0,
            escape(text)
        );
    }
}

/// A paired histogram of scores in `bins.len()` bins: for each bin, the first series' bar
/// (light) beside the second's (dark). `labels` name the bins, `names` the two series.
pub fn paired_histogram(
    title: &str,
    labels: &[String],
    first: &[u64],
    second: &[u64],
    names: (&str, &str),
) -> String {
    let bins = labels.len().max(1);
    let height = PLOT_BOTTOM + 36.0;
    let max = nice_ceiling(
        first
            .iter()
            .chain(second.iter())
            .copied()
            .max()
            .unwrap_or(0) as f64,
    );
    let mut s = open(height, title);
    let _ = write!(s, "<g {FONT}>");
    legend(&mut s, &[(PAIR[0], "", names.0), (PAIR[1], "", names.1)]);
    // Horizontal grid: 0, half, max.
    for frac in [0.0, 0.5, 1.0] {
        let y = PLOT_BOTTOM - frac * (PLOT_BOTTOM - PLOT_TOP);
        let _ = write!(
            s,
            "<line x1=\"{PLOT_LEFT}\" y1=\"{y:.1}\" x2=\"{PLOT_RIGHT}\" y2=\"{y:.1}\" stroke=\"#ddd\"/>\
             <text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\" fill=\"#555\">{}</text>",
            PLOT_LEFT - 6.0,
            y + 4.0,
            number(max * frac, 1)
        );
    }
    let group = (PLOT_RIGHT - PLOT_LEFT) / bins as f64;
    let bar_w = (group - 10.0) / 2.0;
    for (i, label) in labels.iter().enumerate() {
        let gx = PLOT_LEFT + i as f64 * group + 5.0;
        for (j, counts) in [first, second].into_iter().enumerate() {
            let count = counts.get(i).copied().unwrap_or(0);
            let h = histogram_bar_height(count, max);
            let x = gx + j as f64 * bar_w;
            let _ = write!(
                s,
                "<rect class=\"bar\" x=\"{x:.1}\" y=\"{:.1}\" width=\"{bar_w:.1}\" height=\"{h:.1}\" fill=\"{}\"/>",
                PLOT_BOTTOM - h,
                PAIR[j]
            );
            if count > 0 {
                let _ = write!(
                    s,
                    "<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\" font-size=\"9\">{count}</text>",
                    x + bar_w / 2.0,
                    PLOT_BOTTOM - h - 3.0
                );
            }
        }
        let _ = write!(
            s,
            "<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\">{}</text>",
            gx + bar_w,
            PLOT_BOTTOM + 14.0,
            escape(label)
        );
    }
    let _ = write!(
        s,
        "<line x1=\"{PLOT_LEFT}\" y1=\"{PLOT_BOTTOM}\" x2=\"{PLOT_RIGHT}\" y2=\"{PLOT_BOTTOM}\" stroke=\"#333\"/>"
    );
    s.push_str("</g></svg>");
    s
}

/// A line of a line chart.
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    /// Its name, in the legend.
    pub name: String,
    /// One value per x label; `None` leaves a gap.
    pub values: Vec<Option<f64>>,
}

/// The y axis of a line chart.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Axis {
    /// Bottom.
    pub min: f64,
    /// Top.
    pub max: f64,
    /// Decimals of the labels.
    pub places: usize,
}

/// The y coordinate of `v` on `axis`, clamped to the plot.
pub fn line_y(v: f64, axis: &Axis) -> f64 {
    let span = axis.max - axis.min;
    let frac = if span > 0.0 {
        ((v - axis.min) / span).clamp(0.0, 1.0)
    } else {
        0.0
    };
    PLOT_BOTTOM - frac * (PLOT_BOTTOM - PLOT_TOP)
}

/// A line chart: one point per x label (cohorts in time order), one line per series, a gap
/// where a value is missing.
pub fn line_chart(title: &str, x_labels: &[String], series: &[Series], axis: &Axis) -> String {
    let height = PLOT_BOTTOM + 36.0;
    let mut s = open(height, title);
    let _ = write!(s, "<g {FONT}>");
    let legend_items: Vec<(&str, &str, &str)> = series
        .iter()
        .enumerate()
        .map(|(i, ser)| {
            let (c, d) = LINES[i % LINES.len()];
            (c, d, ser.name.as_str())
        })
        .collect();
    legend(&mut s, &legend_items);
    for i in 0..=4 {
        let v = axis.min + (axis.max - axis.min) * i as f64 / 4.0;
        let y = line_y(v, axis);
        let _ = write!(
            s,
            "<line x1=\"{PLOT_LEFT}\" y1=\"{y:.1}\" x2=\"{PLOT_RIGHT}\" y2=\"{y:.1}\" stroke=\"#ddd\"/>\
             <text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\" fill=\"#555\">{}</text>",
            PLOT_LEFT - 6.0,
            y + 4.0,
            number(v, axis.places)
        );
    }
    let n = x_labels.len();
    let x_of = |i: usize| {
        if n <= 1 {
            (PLOT_LEFT + PLOT_RIGHT) / 2.0
        } else {
            PLOT_LEFT + 20.0 + (PLOT_RIGHT - PLOT_LEFT - 40.0) * i as f64 / (n - 1) as f64
        }
    };
    let max_label = 90usize.checked_div(n).map_or(20, |w| w.clamp(6, 20));
    for (i, label) in x_labels.iter().enumerate() {
        let _ = write!(
            s,
            "<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\">{}</text>",
            x_of(i),
            PLOT_BOTTOM + 14.0,
            escape(&cut(label, max_label))
        );
    }
    for (k, ser) in series.iter().enumerate() {
        let (colour, dash) = LINES[k % LINES.len()];
        let mut d = String::new();
        let mut pen_down = false;
        for (i, v) in ser.values.iter().take(n).enumerate() {
            match v {
                Some(v) if v.is_finite() => {
                    let _ = write!(
                        d,
                        "{}{:.1} {:.1} ",
                        if pen_down { "L" } else { "M" },
                        x_of(i),
                        line_y(*v, axis)
                    );
                    pen_down = true;
                }
                _ => pen_down = false,
            }
        }
        let dash_attr = if dash.is_empty() {
            String::new()
        } else {
            format!(" stroke-dasharray=\"{dash}\"")
        };
        if !d.is_empty() {
            let _ = write!(
                s,
                "<path class=\"line\" d=\"{}\" fill=\"none\" stroke=\"{colour}\" stroke-width=\"2\"{dash_attr}/>",
                d.trim_end()
            );
        }
        for (i, v) in ser.values.iter().take(n).enumerate() {
            if let Some(v) = v.filter(|v| v.is_finite()) {
                let _ = write!(
                    s,
                    "<circle cx=\"{:.1}\" cy=\"{:.1}\" r=\"3\" fill=\"{colour}\"><title>{}: {}</title></circle>",
                    x_of(i),
                    line_y(v, axis),
                    escape(&ser.name),
                    number(v, axis.places)
                );
            }
        }
    }
    let _ = write!(
        s,
        "<line x1=\"{PLOT_LEFT}\" y1=\"{PLOT_BOTTOM}\" x2=\"{PLOT_RIGHT}\" y2=\"{PLOT_BOTTOM}\" stroke=\"#333\"/>"
    );
    s.push_str("</g></svg>");
    s
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn count(hay: &str, needle: &str) -> usize {
        hay.matches(needle).count()
    }

    /// Every `<` opens or closes a tag of a balanced document (a cheap well-formedness check:
    /// escaped text has no raw `<`).
    fn balanced(svg: &str) -> bool {
        let mut depth: i64 = 0;
        let mut rest = svg;
        while let Some(i) = rest.find('<') {
            let tag_end = match rest[i..].find('>') {
                Some(j) => i + j,
                None => return false,
            };
            let tag = &rest[i..=tag_end];
            if tag.starts_with("</") {
                depth -= 1;
            } else if !tag.ends_with("/>") {
                depth += 1;
            }
            if depth < 0 {
                return false;
            }
            rest = &rest[tag_end + 1..];
        }
        depth == 0
    }

    #[test]
    fn numbers_use_a_decimal_comma_without_trailing_zeros() {
        assert_eq!(number(75.0, 1), "75");
        assert_eq!(number(66.666, 1), "66,7");
        assert_eq!(number(4.25, 2), "4,25");
        assert_eq!(number(-0.0001, 2), "0");
    }

    #[test]
    fn bars_are_proportional_and_labels_escaped() {
        // On a 0..1 scale the plot is 320 wide: 0.5 -> 160, 0.25 -> 80; beyond 1 clamps.
        assert_eq!(bar_width(0.5, &BarScale::RATE), 160.0);
        assert_eq!(bar_width(0.25, &BarScale::RATE), 80.0);
        assert_eq!(bar_width(1.7, &BarScale::RATE), 320.0);
        // Likert 1..5: 4 is (4-1)/4 = 3/4 of 320 = 240.
        assert_eq!(bar_width(4.0, &BarScale::LIKERT), 240.0);
        let svg = bar_chart(
            "Penyelesaian <per> unit",
            &[
                Bar::new("Dinas Kesehatan", Some(0.5)).with_note("n = 4"),
                Bar::new("<script>alert(1)</script>", Some(0.25)),
                Bar::new("Puskesmas Ciputat", None),
            ],
            &BarScale::RATE,
        );
        assert!(balanced(&svg), "{svg}");
        assert!(svg.starts_with("<svg xmlns=\"http://www.w3.org/2000/svg\""));
        assert!(svg.contains("<title>Penyelesaian &lt;per&gt; unit</title>"));
        assert!(!svg.contains("<script>"));
        assert!(svg.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
        // Two drawn bars, the missing one as a dash.
        assert_eq!(count(&svg, "class=\"bar\""), 2);
        assert!(svg.contains("width=\"160.0\""));
        assert!(svg.contains("width=\"80.0\""));
        assert!(svg.contains(">50% (n = 4)<"));
        assert!(svg.contains(">–<"));
        // Height grows with the bars: 8 + 3 * 24 + 24 = 104.
        assert!(svg.contains("viewBox=\"0 0 640 104\""));
    }

    #[test]
    fn long_labels_are_cut() {
        let svg = bar_chart(
            "x",
            &[Bar::new(
                "Unit Pelaksana Teknis Daerah Puskesmas Pondok Aren",
                Some(1.0),
            )],
            &BarScale::RATE,
        );
        assert!(svg.contains(">Unit Pelaksana Teknis Daera…<"), "{svg}");
    }

    #[test]
    fn histogram_pairs_bars_per_bin_on_a_round_scale() {
        assert_eq!(nice_ceiling(0.0), 1.0);
        assert_eq!(nice_ceiling(3.0), 5.0);
        assert_eq!(nice_ceiling(7.0), 10.0);
        assert_eq!(nice_ceiling(10.0), 10.0);
        assert_eq!(nice_ceiling(11.0), 20.0);
        assert_eq!(nice_ceiling(120.0), 200.0);
        // The plot is 170 high; with a maximum count of 3 the axis goes to 5: 3 -> 102, 1 -> 34.
        assert_eq!(histogram_bar_height(3, 5.0), 102.0);
        assert_eq!(histogram_bar_height(1, 5.0), 34.0);
        let labels: Vec<String> = (0..10).map(|i| format!("{}–", i * 10)).collect();
        let pre = [0, 0, 1, 0, 0, 3, 0, 1, 0, 0];
        let post = [0, 0, 0, 0, 0, 0, 0, 1, 0, 3];
        let svg = paired_histogram(
            "Sebaran nilai",
            &labels,
            &pre,
            &post,
            ("Pre-test", "Post-test"),
        );
        assert!(balanced(&svg), "{svg}");
        // A bar per series and bin, zero-height ones included, so the pairs line up.
        assert_eq!(count(&svg, "class=\"bar\""), 20);
        assert_eq!(count(&svg, "height=\"102.0\""), 2);
        assert_eq!(count(&svg, "height=\"34.0\""), 3);
        assert!(svg.contains(">Pre-test<") && svg.contains(">Post-test<"));
        assert!(svg.contains(">90–<"));
        // Counts above non-empty bars only: 3, 1, 3 and 1, 1 -> five labels.
        assert_eq!(count(&svg, "font-size=\"9\""), 5);
    }

    #[test]
    fn a_missing_value_breaks_the_line() {
        let axis = Axis {
            min: 1.0,
            max: 5.0,
            places: 2,
        };
        // y of 5 is the top (30), of 1 the bottom (200), of 3 halfway (115).
        assert_eq!(line_y(5.0, &axis), 30.0);
        assert_eq!(line_y(1.0, &axis), 200.0);
        assert_eq!(line_y(3.0, &axis), 115.0);
        let labels: Vec<String> = ["Angkatan I", "Angkatan II", "Angkatan III", "Angkatan IV"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        let svg = line_chart(
            "Tren",
            &labels,
            &[
                Series {
                    name: "Budi & Ani".into(),
                    values: vec![Some(4.0), Some(3.0), None, Some(4.2)],
                },
                Series {
                    name: "Citra".into(),
                    values: vec![Some(2.0), Some(2.5), Some(3.0), Some(3.5)],
                },
            ],
            &axis,
        );
        assert!(balanced(&svg), "{svg}");
        assert_eq!(count(&svg, "class=\"line\""), 2);
        // The first line: M, L, then a new M after the gap; the second one stroke.
        let first = svg.split("class=\"line\" d=\"").nth(1).unwrap();
        let d = &first[..first.find('"').unwrap()];
        assert_eq!(d.matches('M').count(), 2, "{d}");
        assert_eq!(d.matches('L').count(), 1, "{d}");
        // Four x positions from 64 to 604: the first point at (64, y(4) = 72.5).
        assert!(d.starts_with("M64.0 72.5 L244.0 115.0 M604.0 64.0"), "{d}");
        assert_eq!(count(&svg, "<circle"), 7);
        assert!(svg.contains("Budi &amp; Ani"));
        assert!(svg.contains("stroke-dasharray=\"6 3\""));
    }
}
