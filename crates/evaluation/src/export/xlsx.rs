//! The XLSX writer: a workbook with a sheet per section, its parts (SpreadsheetML) written by
//! hand into a [`ZipStream`], row by row.
//!
//! Decisions:
//! - Sheets first, each as its rows arrive; the workbook, its relationships, the styles and
//!   the content types last, once every sheet name is known (a reader finds the parts through
//!   the ZIP's central directory, so their order does not matter).
//! - Strings are inline (`t="inlineStr"`): no shared-string table to hold in memory. They are
//!   never formulas, so no guard is needed here. Characters XML 1.0 forbids are dropped, and a
//!   string is cut at Excel's 32,767 characters.
//! - Styles by column kind: a bold header row (frozen), counts as integers, decimals with two
//!   places, shares as percentages, dates as `yyyy-mm-dd` and instants as `yyyy-mm-dd hh:mm`,
//!   both as Excel serial numbers (days since 1899-12-30) in WIB.
//! - Column widths from the header and the kind, fixed before the first row (a streamed sheet
//!   cannot measure its data).

use std::fmt::Write as _;
use std::io::Write as _;

use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};

use super::zip::ZipStream;
use super::{Cell, ColumnKind, Encoder, Section};

const MAIN_NS: &str = "http://schemas.openxmlformats.org/spreadsheetml/2006/main";
const REL_NS: &str = "http://schemas.openxmlformats.org/officeDocument/2006/relationships";
const XML_HEAD: &str = "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>\n";

/// Most characters in a cell.
pub const MAX_CELL_CHARS: usize = 32_767;
/// Most rows in a sheet, the header included.
pub const MAX_ROWS: u32 = 1_048_576;

/// Style indexes in `cellXfs` of [`STYLES`].
mod style {
    pub const HEADER: u8 = 1;
    pub const DECIMAL: u8 = 2;
    pub const SHARE: u8 = 3;
    pub const DATE: u8 = 4;
    pub const DATE_TIME: u8 = 5;
    pub const INTEGER: u8 = 6;
}

const STYLES: &str = concat!(
    "<styleSheet xmlns=\"http://schemas.openxmlformats.org/spreadsheetml/2006/main\">",
    "<numFmts count=\"2\"><numFmt numFmtId=\"164\" formatCode=\"yyyy-mm-dd\"/>",
    "<numFmt numFmtId=\"165\" formatCode=\"yyyy-mm-dd hh:mm\"/></numFmts>",
    "<fonts count=\"2\"><font><sz val=\"11\"/><name val=\"Calibri\"/><family val=\"2\"/></font>",
    "<font><b/><sz val=\"11\"/><name val=\"Calibri\"/><family val=\"2\"/></font></fonts>",
    "<fills count=\"2\"><fill><patternFill patternType=\"none\"/></fill>",
    "<fill><patternFill patternType=\"gray125\"/></fill></fills>",
    "<borders count=\"1\"><border><left/><right/><top/><bottom/><diagonal/></border></borders>",
    "<cellStyleXfs count=\"1\"><xf numFmtId=\"0\" fontId=\"0\" fillId=\"0\" borderId=\"0\"/></cellStyleXfs>",
    "<cellXfs count=\"7\">",
    "<xf numFmtId=\"0\" fontId=\"0\" fillId=\"0\" borderId=\"0\" xfId=\"0\"/>",
    "<xf numFmtId=\"0\" fontId=\"1\" fillId=\"0\" borderId=\"0\" xfId=\"0\" applyFont=\"1\"/>",
    "<xf numFmtId=\"2\" fontId=\"0\" fillId=\"0\" borderId=\"0\" xfId=\"0\" applyNumberFormat=\"1\"/>",
    "<xf numFmtId=\"10\" fontId=\"0\" fillId=\"0\" borderId=\"0\" xfId=\"0\" applyNumberFormat=\"1\"/>",
    "<xf numFmtId=\"164\" fontId=\"0\" fillId=\"0\" borderId=\"0\" xfId=\"0\" applyNumberFormat=\"1\"/>",
    "<xf numFmtId=\"165\" fontId=\"0\" fillId=\"0\" borderId=\"0\" xfId=\"0\" applyNumberFormat=\"1\"/>",
    "<xf numFmtId=\"1\" fontId=\"0\" fillId=\"0\" borderId=\"0\" xfId=\"0\" applyNumberFormat=\"1\"/>",
    "</cellXfs>",
    "<cellStyles count=\"1\"><cellStyle name=\"Normal\" xfId=\"0\" builtinId=\"0\"/></cellStyles>",
    "</styleSheet>"
);

/// Appends `s` escaped for XML text or attribute values, without the characters XML 1.0
/// forbids, cut to [`MAX_CELL_CHARS`].
pub fn push_xml(out: &mut String, s: &str) {
    for c in s.chars().take(MAX_CELL_CHARS) {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\t' | '\n' | '\r' => out.push(c),
            c if (c as u32) < 0x20 || c == '\u{fffe}' || c == '\u{ffff}' => {}
            c => out.push(c),
        }
    }
}

/// The column letters of 0-based column `i`: A, B, …, Z, AA, AB, ….
pub fn column_name(i: usize) -> String {
    let mut n = i + 1;
    let mut letters = Vec::new();
    while n > 0 {
        let rem = (n - 1) % 26;
        letters.push(b'A' + rem as u8);
        n = (n - 1) / 26;
    }
    letters.reverse();
    String::from_utf8(letters).unwrap_or_default()
}

fn epoch() -> NaiveDateTime {
    NaiveDate::from_ymd_opt(1899, 12, 30)
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .unwrap_or_default()
}

/// The Excel serial number of a date (days since 1899-12-30, right from March 1900 on).
pub fn date_serial(d: NaiveDate) -> f64 {
    (d.and_hms_opt(0, 0, 0).unwrap_or_default() - epoch()).num_days() as f64
}

/// The Excel serial number of an instant, in WIB, to the second.
pub fn date_time_serial(t: DateTime<Utc>) -> f64 {
    let local = t.with_timezone(&kernel::time::wib()).naive_local();
    (local - epoch()).num_seconds() as f64 / 86_400.0
}

fn width(kind: ColumnKind, header: &str) -> usize {
    let min = match kind {
        ColumnKind::Text => 16,
        ColumnKind::DateTime => 17,
        ColumnKind::Date => 11,
        _ => 9,
    };
    (header.chars().count() + 2).clamp(min, 60)
}

struct Sheet {
    name: String,
    kinds: Vec<ColumnKind>,
    rows: u32,
}

/// Writes sections as the sheets of one workbook.
pub struct XlsxEncoder {
    zip: ZipStream,
    sheets: Vec<String>,
    current: Option<Sheet>,
    buf: String,
}

impl XlsxEncoder {
    /// An empty workbook dated `at`.
    pub fn new(at: DateTime<Utc>) -> Self {
        XlsxEncoder {
            zip: ZipStream::new(at),
            sheets: Vec::new(),
            current: None,
            buf: String::new(),
        }
    }

    fn flush_buf(&mut self) -> std::io::Result<()> {
        self.zip.write_all(self.buf.as_bytes())?;
        self.buf.clear();
        Ok(())
    }

    fn cell(buf: &mut String, reference: &str, kind: ColumnKind, cell: &Cell) {
        let number_style = |kind: ColumnKind| match kind {
            ColumnKind::Decimal => Some(style::DECIMAL),
            ColumnKind::Share => Some(style::SHARE),
            ColumnKind::Integer => Some(style::INTEGER),
            ColumnKind::Date => Some(style::DATE),
            ColumnKind::DateTime => Some(style::DATE_TIME),
            ColumnKind::Text => None,
        };
        let number = |buf: &mut String, x: f64, s: Option<u8>| {
            let _ = match s {
                Some(s) => write!(buf, "<c r=\"{reference}\" s=\"{s}\"><v>{x}</v></c>"),
                None => write!(buf, "<c r=\"{reference}\"><v>{x}</v></c>"),
            };
        };
        match cell {
            Cell::Empty => {}
            Cell::Text(s) => {
                let _ = write!(
                    buf,
                    "<c r=\"{reference}\" t=\"inlineStr\"><is><t xml:space=\"preserve\">"
                );
                push_xml(buf, s);
                buf.push_str("</t></is></c>");
            }
            Cell::Integer(n) => {
                let _ = write!(
                    buf,
                    "<c r=\"{reference}\" s=\"{}\"><v>{n}</v></c>",
                    style::INTEGER
                );
            }
            Cell::Number(x) if x.is_finite() => number(buf, *x, number_style(kind)),
            Cell::Number(_) => {}
            Cell::Date(d) => number(buf, date_serial(*d), Some(style::DATE)),
            Cell::DateTime(t) => number(buf, date_time_serial(*t), Some(style::DATE_TIME)),
        }
    }

    fn write_row(&mut self, cells: &[Cell], header: bool) -> std::io::Result<()> {
        let Some(sheet) = self.current.as_mut() else {
            return Err(std::io::Error::other("no sheet is open"));
        };
        if sheet.rows >= MAX_ROWS {
            return Err(std::io::Error::other(format!(
                "sheet {} has more rows than Excel allows ({MAX_ROWS})",
                sheet.name
            )));
        }
        sheet.rows += 1;
        let r = sheet.rows;
        let _ = write!(self.buf, "<row r=\"{r}\">");
        for (i, cell) in cells.iter().enumerate() {
            let reference = format!("{}{r}", column_name(i));
            if header {
                if let Cell::Text(s) = cell {
                    let _ = write!(
                        self.buf,
                        "<c r=\"{reference}\" s=\"{}\" t=\"inlineStr\"><is><t xml:space=\"preserve\">",
                        style::HEADER
                    );
                    push_xml(&mut self.buf, s);
                    self.buf.push_str("</t></is></c>");
                }
            } else {
                let kind = sheet.kinds.get(i).copied().unwrap_or(ColumnKind::Text);
                Self::cell(&mut self.buf, &reference, kind, cell);
            }
        }
        self.buf.push_str("</row>");
        self.flush_buf()
    }

    fn workbook_parts(&mut self) -> std::io::Result<()> {
        let mut s = String::new();
        s.push_str(XML_HEAD);
        let _ = write!(
            s,
            "<workbook xmlns=\"{MAIN_NS}\" xmlns:r=\"{REL_NS}\"><bookViews><workbookView/></bookViews><sheets>"
        );
        for (i, name) in self.sheets.iter().enumerate() {
            s.push_str("<sheet name=\"");
            push_xml(&mut s, name);
            let _ = write!(s, "\" sheetId=\"{}\" r:id=\"rId{}\"/>", i + 1, i + 1);
        }
        s.push_str("</sheets></workbook>");
        self.zip.start("xl/workbook.xml")?;
        self.zip.write_all(s.as_bytes())?;

        let n = self.sheets.len();
        let mut s = String::new();
        s.push_str(XML_HEAD);
        s.push_str(
            "<Relationships xmlns=\"http://schemas.openxmlformats.org/package/2006/relationships\">",
        );
        for i in 1..=n {
            let _ = write!(
                s,
                "<Relationship Id=\"rId{i}\" Type=\"{REL_NS}/worksheet\" Target=\"worksheets/sheet{i}.xml\"/>"
            );
        }
        let _ = write!(
            s,
            "<Relationship Id=\"rId{}\" Type=\"{REL_NS}/styles\" Target=\"styles.xml\"/></Relationships>",
            n + 1
        );
        self.zip.start("xl/_rels/workbook.xml.rels")?;
        self.zip.write_all(s.as_bytes())?;

        self.zip.start("xl/styles.xml")?;
        self.zip.write_all(XML_HEAD.as_bytes())?;
        self.zip.write_all(STYLES.as_bytes())?;

        let mut s = String::new();
        s.push_str(XML_HEAD);
        s.push_str(
            "<Types xmlns=\"http://schemas.openxmlformats.org/package/2006/content-types\">\
             <Default Extension=\"rels\" ContentType=\"application/vnd.openxmlformats-package.relationships+xml\"/>\
             <Default Extension=\"xml\" ContentType=\"application/xml\"/>\
             <Override PartName=\"/xl/workbook.xml\" ContentType=\"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml\"/>\
             <Override PartName=\"/xl/styles.xml\" ContentType=\"application/vnd.openxmlformats-officedocument.spreadsheetml.styles+xml\"/>",
        );
        for i in 1..=n {
            let _ = write!(
                s,
                "<Override PartName=\"/xl/worksheets/sheet{i}.xml\" ContentType=\"application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml\"/>"
            );
        }
        s.push_str("</Types>");
        self.zip.start("[Content_Types].xml")?;
        self.zip.write_all(s.as_bytes())?;

        let mut s = String::new();
        s.push_str(XML_HEAD);
        let _ = write!(
            s,
            "<Relationships xmlns=\"http://schemas.openxmlformats.org/package/2006/relationships\">\
             <Relationship Id=\"rId1\" Type=\"{REL_NS}/officeDocument\" Target=\"xl/workbook.xml\"/></Relationships>"
        );
        self.zip.start("_rels/.rels")?;
        self.zip.write_all(s.as_bytes())?;
        Ok(())
    }
}

impl Encoder for XlsxEncoder {
    fn begin(&mut self, section: &Section) -> std::io::Result<()> {
        // Sheet names are unique in a workbook, whatever their case.
        let mut name = section.sheet.clone();
        let mut n = 2;
        while self
            .sheets
            .iter()
            .any(|s| s.to_lowercase() == name.to_lowercase())
        {
            let suffix = format!(" ({n})");
            let keep = super::MAX_SHEET_NAME.saturating_sub(suffix.chars().count());
            name = section.sheet.chars().take(keep).collect::<String>() + &suffix;
            n += 1;
        }
        self.sheets.push(name.clone());
        self.zip
            .start(&format!("xl/worksheets/sheet{}.xml", self.sheets.len()))?;
        self.buf.push_str(XML_HEAD);
        let _ = write!(
            self.buf,
            "<worksheet xmlns=\"{MAIN_NS}\" xmlns:r=\"{REL_NS}\"><sheetViews><sheetView workbookViewId=\"0\">\
             <pane ySplit=\"1\" topLeftCell=\"A2\" activePane=\"bottomLeft\" state=\"frozen\"/>\
             </sheetView></sheetViews><sheetFormatPr defaultRowHeight=\"15\"/>"
        );
        if !section.columns.is_empty() {
            self.buf.push_str("<cols>");
            for (i, c) in section.columns.iter().enumerate() {
                let _ = write!(
                    self.buf,
                    "<col min=\"{n}\" max=\"{n}\" width=\"{}\" customWidth=\"1\"/>",
                    width(c.kind, &c.header),
                    n = i + 1
                );
            }
            self.buf.push_str("</cols>");
        }
        self.buf.push_str("<sheetData>");
        self.current = Some(Sheet {
            name,
            kinds: section.columns.iter().map(|c| c.kind).collect(),
            rows: 0,
        });
        let headers: Vec<Cell> = section
            .columns
            .iter()
            .map(|c| Cell::Text(c.header.clone()))
            .collect();
        self.write_row(&headers, true)
    }

    fn row(&mut self, cells: &[Cell]) -> std::io::Result<()> {
        self.write_row(cells, false)
    }

    fn end(&mut self) -> std::io::Result<()> {
        self.buf.push_str("</sheetData></worksheet>");
        self.flush_buf()?;
        self.current = None;
        Ok(())
    }

    fn finish(&mut self) -> std::io::Result<()> {
        if self.sheets.is_empty() {
            // A workbook needs a sheet.
            self.begin(&Section::new(
                None,
                "Kosong",
                Vec::new(),
                super::Rows::Ready(Vec::new()),
            ))?;
            self.end()?;
        }
        self.workbook_parts()?;
        self.zip.finish()
    }

    fn take(&mut self) -> Vec<u8> {
        self.zip.take()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use std::io::Read;

    use chrono::TimeZone;

    use super::*;
    use crate::export::{Column, Rows};

    #[test]
    fn columns_are_lettered_like_excel() {
        assert_eq!(column_name(0), "A");
        assert_eq!(column_name(25), "Z");
        assert_eq!(column_name(26), "AA");
        assert_eq!(column_name(51), "AZ");
        assert_eq!(column_name(52), "BA");
        assert_eq!(column_name(701), "ZZ");
        assert_eq!(column_name(702), "AAA");
    }

    #[test]
    fn dates_are_excel_serials_in_wib() {
        // 1 January 1900 is serial 1 in Excel only because of its 1900 leap-year bug; from
        // March 1900 on, serial = days since 1899-12-30: 2026-03-01 is 46082.
        let d = NaiveDate::from_ymd_opt(2026, 3, 1).unwrap();
        assert_eq!(date_serial(d), 46082.0);
        assert_eq!(
            date_serial(NaiveDate::from_ymd_opt(1900, 3, 1).unwrap()),
            61.0
        );
        // 1 March 2026 05:00 UTC is 12:00 WIB: 46082.5.
        let t = Utc.with_ymd_and_hms(2026, 3, 1, 5, 0, 0).single().unwrap();
        assert_eq!(date_time_serial(t), 46082.5);
        // 28 Feb 2026 18:00 UTC is already 1 March 01:00 WIB: 46082 + 1/24.
        let t = Utc
            .with_ymd_and_hms(2026, 2, 28, 18, 0, 0)
            .single()
            .unwrap();
        assert!((date_time_serial(t) - (46082.0 + 1.0 / 24.0)).abs() < 1e-9);
    }

    #[test]
    fn xml_text_is_escaped_and_cleaned() {
        let mut s = String::new();
        push_xml(&mut s, "<script>\"a\" & b\u{0}\u{1b}\tc\u{ffff}é");
        assert_eq!(s, "&lt;script&gt;&quot;a&quot; &amp; b\tcé");
        let mut long = String::new();
        push_xml(&mut long, &"x".repeat(40_000));
        assert_eq!(long.len(), MAX_CELL_CHARS);
    }

    /// The parts of an archive, by name, read through its central directory.
    fn parts(zip: &[u8]) -> std::collections::BTreeMap<String, String> {
        let u16_at = |i: usize| u16::from_le_bytes([zip[i], zip[i + 1]]) as usize;
        let u32_at =
            |i: usize| u32::from_le_bytes([zip[i], zip[i + 1], zip[i + 2], zip[i + 3]]) as usize;
        let end = zip.len() - 22;
        let mut at = u32_at(end + 16);
        let mut out = std::collections::BTreeMap::new();
        for _ in 0..u16_at(end + 10) {
            let compressed = u32_at(at + 20);
            let name_len = u16_at(at + 28);
            let offset = u32_at(at + 42);
            let name = String::from_utf8(zip[at + 46..at + 46 + name_len].to_vec()).unwrap();
            let data = offset + 30 + u16_at(offset + 26);
            let mut text = String::new();
            flate2::read::DeflateDecoder::new(&zip[data..data + compressed])
                .read_to_string(&mut text)
                .unwrap();
            out.insert(name, text);
            at += 46 + name_len;
        }
        out
    }

    #[test]
    fn cells_are_typed_by_value_and_styled_by_column() {
        let at = Utc.with_ymd_and_hms(2026, 3, 1, 5, 0, 0).single().unwrap();
        let section = Section::new(
            None,
            "Peserta",
            vec![
                Column::new("NIP", ColumnKind::Text),
                Column::new("Jumlah", ColumnKind::Integer),
                Column::new("Nilai", ColumnKind::Decimal),
                Column::new("Kelulusan", ColumnKind::Share),
                Column::new("Tanggal", ColumnKind::Date),
                Column::new("Selesai", ColumnKind::DateTime),
            ],
            Rows::Ready(vec![]),
        );
        let mut e = XlsxEncoder::new(at);
        e.begin(&section).unwrap();
        e.row(&[
            Cell::text("198503122010011002"),
            Cell::Integer(7),
            Cell::Number(-0.5),
            Cell::Number(0.6),
            Cell::Date(NaiveDate::from_ymd_opt(2026, 3, 1).unwrap()),
            Cell::DateTime(at),
        ])
        .unwrap();
        e.row(&[Cell::text("=1+1"), Cell::Empty, Cell::Number(f64::INFINITY)])
            .unwrap();
        e.end().unwrap();
        // A second sheet with the same name gets a suffix.
        e.begin(&section).unwrap();
        e.end().unwrap();
        e.finish().unwrap();
        let p = parts(&e.take());
        assert_eq!(
            p.keys().cloned().collect::<Vec<_>>(),
            [
                "[Content_Types].xml",
                "_rels/.rels",
                "xl/_rels/workbook.xml.rels",
                "xl/styles.xml",
                "xl/workbook.xml",
                "xl/worksheets/sheet1.xml",
                "xl/worksheets/sheet2.xml"
            ]
        );
        let sheet = &p["xl/worksheets/sheet1.xml"];
        // Header: bold, text.
        assert!(sheet.contains(
            "<row r=\"1\"><c r=\"A1\" s=\"1\" t=\"inlineStr\"><is><t xml:space=\"preserve\">NIP</t></is></c>"
        ));
        // The NIP stays text; numbers are numbers; styles follow the column.
        assert!(sheet.contains(
            "<c r=\"A2\" t=\"inlineStr\"><is><t xml:space=\"preserve\">198503122010011002</t></is></c>"
        ));
        assert!(sheet.contains("<c r=\"B2\" s=\"6\"><v>7</v></c>"));
        assert!(sheet.contains("<c r=\"C2\" s=\"2\"><v>-0.5</v></c>"));
        assert!(sheet.contains("<c r=\"D2\" s=\"3\"><v>0.6</v></c>"));
        assert!(sheet.contains("<c r=\"E2\" s=\"4\"><v>46082</v></c>"));
        assert!(sheet.contains("<c r=\"F2\" s=\"5\"><v>46082.5</v></c>"));
        // A formula-looking text is an inline string, never a formula; empty and infinite
        // values leave no cell.
        assert!(sheet.contains("<row r=\"3\"><c r=\"A3\" t=\"inlineStr\"><is><t xml:space=\"preserve\">=1+1</t></is></c></row>"));
        assert!(!sheet.contains("<f>"));
        assert!(sheet.ends_with("</sheetData></worksheet>"));
        let workbook = &p["xl/workbook.xml"];
        assert!(workbook.contains("<sheet name=\"Peserta\" sheetId=\"1\" r:id=\"rId1\"/>"));
        assert!(workbook.contains("<sheet name=\"Peserta (2)\" sheetId=\"2\" r:id=\"rId2\"/>"));
        assert!(p["[Content_Types].xml"].contains("/xl/worksheets/sheet2.xml"));
        assert!(p["xl/_rels/workbook.xml.rels"].contains("Id=\"rId3\""));
    }
}
