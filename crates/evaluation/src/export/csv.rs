//! The CSV writer: one section per file, RFC 4180.
//!
//! Decisions:
//! - UTF-8 with a byte order mark, so Excel reads names such as "Siti Nur'aini, S.Kep." right
//!   instead of guessing a Windows code page; CRLF line ends; a field is quoted when it holds a
//!   comma, a quote, CR or LF, and a quote inside is doubled.
//! - **Formula guard**: a text cell that starts with `=`, `+`, `-`, `@`, a tab or CR would be
//!   run as a formula by a spreadsheet (CSV injection); it gets a leading `'`. Only text cells:
//!   numbers are written as numbers, so a negative gain stays `-0.5`.
//! - Numbers keep their full precision (Rust's shortest round-trip form, never an exponent); a
//!   share is written from 0 to 1 like in the data; dates as `YYYY-MM-DD` and instants as
//!   `YYYY-MM-DD HH:MM:SS` in WIB, forms every spreadsheet parses.
//! - The separator is a comma, as RFC 4180 says, whatever the reader's locale: a spreadsheet
//!   set to Indonesian (decimal comma) may need its import dialog, and XLSX is the file for
//!   people; CSV is for programs.

use super::{Cell, Encoder, Section};

/// The byte order mark.
pub const BOM: &str = "\u{feff}";

/// Whether a text would be taken for a formula.
fn looks_like_formula(s: &str) -> bool {
    s.starts_with(['=', '+', '-', '@', '\t', '\r'])
}

/// Appends `s` as one field: guarded, then quoted when needed.
pub fn push_text(out: &mut String, s: &str) {
    let guard = looks_like_formula(s);
    let quote = s.contains([',', '"', '\r', '\n']);
    if quote {
        out.push('"');
    }
    if guard {
        out.push('\'');
    }
    for c in s.chars() {
        if c == '"' {
            out.push('"');
        }
        out.push(c);
    }
    if quote {
        out.push('"');
    }
}

/// Appends a cell as one field.
pub fn push_cell(out: &mut String, cell: &Cell) {
    use std::fmt::Write;
    match cell {
        Cell::Empty => {}
        Cell::Text(s) => push_text(out, s),
        Cell::Integer(n) => {
            let _ = write!(out, "{n}");
        }
        Cell::Number(x) if x.is_finite() => {
            let _ = write!(out, "{x}");
        }
        Cell::Number(_) => {}
        Cell::Date(d) => {
            let _ = write!(out, "{}", d.format("%Y-%m-%d"));
        }
        Cell::DateTime(t) => {
            let _ = write!(
                out,
                "{}",
                t.with_timezone(&kernel::time::wib())
                    .format("%Y-%m-%d %H:%M:%S")
            );
        }
    }
}

/// Writes the sections it is given (the export gives it one) as CSV.
#[derive(Debug, Default)]
pub struct CsvEncoder {
    out: String,
    started: bool,
}

impl CsvEncoder {
    /// A writer that has written nothing yet.
    pub fn new() -> Self {
        CsvEncoder::default()
    }

    fn line<'a>(&mut self, cells: impl Iterator<Item = &'a Cell>) {
        for (i, c) in cells.enumerate() {
            if i > 0 {
                self.out.push(',');
            }
            push_cell(&mut self.out, c);
        }
        self.out.push_str("\r\n");
    }
}

impl Encoder for CsvEncoder {
    fn begin(&mut self, section: &Section) -> std::io::Result<()> {
        if !self.started {
            self.out.push_str(BOM);
            self.started = true;
        }
        let headers: Vec<Cell> = section
            .columns
            .iter()
            .map(|c| Cell::Text(c.header.clone()))
            .collect();
        self.line(headers.iter());
        Ok(())
    }

    fn row(&mut self, cells: &[Cell]) -> std::io::Result<()> {
        self.line(cells.iter());
        Ok(())
    }

    fn end(&mut self) -> std::io::Result<()> {
        Ok(())
    }

    fn finish(&mut self) -> std::io::Result<()> {
        if !self.started {
            self.out.push_str(BOM);
            self.started = true;
        }
        Ok(())
    }

    fn take(&mut self) -> Vec<u8> {
        std::mem::take(&mut self.out).into_bytes()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use chrono::{NaiveDate, TimeZone, Utc};

    use super::*;
    use crate::export::{Column, ColumnKind, Rows};

    fn field(cell: Cell) -> String {
        let mut s = String::new();
        push_cell(&mut s, &cell);
        s
    }

    #[test]
    fn fields_are_quoted_as_rfc_4180_says() {
        assert_eq!(field(Cell::text("Ani")), "Ani");
        assert_eq!(field(Cell::text("Nur, S.Kep.")), "\"Nur, S.Kep.\"");
        assert_eq!(
            field(Cell::text("Dedi \"Ucok\" Kurnia")),
            "\"Dedi \"\"Ucok\"\" Kurnia\""
        );
        assert_eq!(field(Cell::text("dua\nbaris")), "\"dua\nbaris\"");
        assert_eq!(field(Cell::text("a\r\nb")), "\"a\r\nb\"");
        // Apostrophes and non-ASCII letters need nothing.
        assert_eq!(field(Cell::text("Nur'aini Ça")), "Nur'aini Ça");
        assert_eq!(field(Cell::Empty), "");
    }

    #[test]
    fn text_that_looks_like_a_formula_is_guarded_and_numbers_are_not() {
        assert_eq!(
            field(Cell::text("=HYPERLINK(\"x\")")),
            "\"'=HYPERLINK(\"\"x\"\")\""
        );
        assert_eq!(field(Cell::text("+62812")), "'+62812");
        assert_eq!(field(Cell::text("-1")), "'-1");
        assert_eq!(field(Cell::text("@SUM(A1)")), "'@SUM(A1)");
        assert_eq!(field(Cell::text("\tx")), "'\tx");
        // Inside the text is harmless.
        assert_eq!(field(Cell::text("a=b")), "a=b");
        assert_eq!(field(Cell::Number(-0.5)), "-0.5");
        assert_eq!(field(Cell::Integer(-3)), "-3");
    }

    #[test]
    fn numbers_and_dates_have_plain_forms() {
        assert_eq!(field(Cell::Number(75.0)), "75");
        assert_eq!(field(Cell::Number(1.0 / 3.0)), "0.3333333333333333");
        assert_eq!(field(Cell::Number(1e-7)), "0.0000001");
        assert_eq!(field(Cell::Number(f64::NAN)), "");
        assert_eq!(
            field(Cell::Date(NaiveDate::from_ymd_opt(2026, 3, 1).unwrap())),
            "2026-03-01"
        );
        // 31 Dec 2025 17:30 UTC is 1 Jan 2026 00:30 WIB.
        let t = Utc
            .with_ymd_and_hms(2025, 12, 31, 17, 30, 5)
            .single()
            .unwrap();
        assert_eq!(field(Cell::DateTime(t)), "2026-01-01 00:30:05");
    }

    #[test]
    fn a_file_is_a_bom_a_header_and_crlf_lines() {
        let section = crate::export::Section::new(
            None,
            "Peserta",
            vec![
                Column::new("Nama", ColumnKind::Text),
                Column::new("Nilai", ColumnKind::Decimal),
            ],
            Rows::Ready(vec![]),
        );
        let mut e = CsvEncoder::new();
        e.begin(&section).unwrap();
        e.row(&[Cell::text("Nur, S.Kep."), Cell::Number(87.5)])
            .unwrap();
        e.row(&[Cell::text("=1+1"), Cell::Empty]).unwrap();
        e.end().unwrap();
        e.finish().unwrap();
        let bytes = e.take();
        assert_eq!(&bytes[..3], [0xef, 0xbb, 0xbf]);
        assert_eq!(
            String::from_utf8(bytes[3..].to_vec()).unwrap(),
            "Nama,Nilai\r\n\"Nur, S.Kep.\",87.5\r\n'=1+1,\r\n"
        );
        // An empty export is still a UTF-8 file with its mark.
        let mut empty = CsvEncoder::new();
        empty.finish().unwrap();
        assert_eq!(empty.take(), BOM.as_bytes());
    }
}
