//! The certificate as a PDF, written by hand: PDF 1.4, one A4 landscape page, the standard
//! Type 1 fonts Helvetica and Helvetica-Bold with WinAnsi encoding (no font is embedded), and a
//! QR code of the verification link drawn as filled rectangles. About 10 KB, no dependency
//! beyond the QR encoder.

use chrono::{DateTime, Datelike, Utc};
use qrcode::{Color, EcLevel, QrCode};

use crate::error::EvaluationError;

/// A4 landscape, in points.
const PAGE_WIDTH: f64 = 842.0;
const PAGE_HEIGHT: f64 = 595.0;

/// What the certificate says.
#[derive(Debug, Clone)]
pub struct CertificateText {
    /// The holder.
    pub holder_name: String,
    /// Their NIP/NI.
    pub holder_nip: Option<String>,
    /// The course's code.
    pub course_code: String,
    /// The course's title.
    pub course_title: String,
    /// Training hours.
    pub jp: i32,
    /// Completion, shown as a WIB date.
    pub completed_at: DateTime<Utc>,
    /// Issue, shown as a WIB date.
    pub issued_at: DateTime<Utc>,
    /// The verification code as shown (`KX7P-9QMR-2D`).
    pub code: String,
    /// The verification link the QR code holds.
    pub verify_url: String,
    /// Who issues it.
    pub issuer: String,
}

/// A date in WIB written the Indonesian way: `29 November 2026`.
pub fn tanggal(at: DateTime<Utc>) -> String {
    const MONTHS: [&str; 12] = [
        "Januari",
        "Februari",
        "Maret",
        "April",
        "Mei",
        "Juni",
        "Juli",
        "Agustus",
        "September",
        "Oktober",
        "November",
        "Desember",
    ];
    let d = at.with_timezone(&kernel::time::wib()).date_naive();
    let month = MONTHS.get(d.month0() as usize).copied().unwrap_or_default();
    format!("{} {month} {}", d.day(), d.year())
}

/// The byte of `c` in WinAnsiEncoding; `?` for characters it lacks.
fn win_ansi(c: char) -> u8 {
    match c {
        ' '..='~' => c as u8,
        '\u{a0}'..='\u{ff}' => c as u32 as u8,
        '€' => 0x80,
        '‚' => 0x82,
        'ƒ' => 0x83,
        '„' => 0x84,
        '…' => 0x85,
        '†' => 0x86,
        '‡' => 0x87,
        'ˆ' => 0x88,
        '‰' => 0x89,
        'Š' => 0x8a,
        '‹' => 0x8b,
        'Œ' => 0x8c,
        'Ž' => 0x8e,
        '‘' => 0x91,
        '’' => 0x92,
        '“' => 0x93,
        '”' => 0x94,
        '•' => 0x95,
        '–' => 0x96,
        '—' => 0x97,
        '˜' => 0x98,
        '™' => 0x99,
        'š' => 0x9a,
        '›' => 0x9b,
        'œ' => 0x9c,
        'ž' => 0x9e,
        'Ÿ' => 0x9f,
        _ => b'?',
    }
}

/// A PDF literal string of `text` in WinAnsi: parentheses and backslashes escaped, bytes
/// outside ASCII as octal escapes, so the content stream stays ASCII.
pub fn literal(text: &str) -> String {
    let mut out = String::from("(");
    for c in text.chars() {
        let c = if c.is_control() { ' ' } else { c };
        match win_ansi(c) {
            b'(' => out.push_str("\\("),
            b')' => out.push_str("\\)"),
            b'\\' => out.push_str("\\\\"),
            b @ 0x20..=0x7e => out.push(char::from(b)),
            b => out.push_str(&format!("\\{b:03o}")),
        }
    }
    out.push(')');
    out
}

/// Advance widths (per 1000 em) of the printable ASCII characters, from the fonts' AFM files.
const HELVETICA: [u16; 95] = [
    278, 278, 355, 556, 556, 889, 667, 191, 333, 333, 389, 584, 278, 333, 278, 278, 556, 556, 556,
    556, 556, 556, 556, 556, 556, 556, 278, 278, 584, 584, 584, 556, 1015, 667, 667, 722, 722, 667,
    611, 778, 722, 278, 500, 667, 556, 833, 722, 778, 667, 778, 722, 667, 611, 722, 667, 944, 667,
    667, 611, 278, 278, 278, 469, 556, 333, 556, 556, 500, 556, 556, 278, 556, 556, 222, 222, 500,
    222, 833, 556, 556, 556, 556, 333, 500, 278, 556, 500, 722, 500, 500, 500, 334, 260, 334, 584,
];
const HELVETICA_BOLD: [u16; 95] = [
    278, 333, 474, 556, 556, 889, 722, 238, 333, 333, 389, 584, 278, 333, 278, 278, 556, 556, 556,
    556, 556, 556, 556, 556, 556, 556, 333, 333, 584, 584, 584, 611, 975, 722, 722, 722, 722, 667,
    611, 778, 722, 278, 556, 722, 611, 833, 722, 778, 667, 778, 722, 667, 611, 722, 667, 944, 667,
    667, 611, 333, 278, 333, 584, 556, 333, 556, 611, 556, 611, 556, 333, 611, 611, 278, 278, 556,
    278, 889, 611, 611, 611, 611, 389, 556, 333, 611, 556, 778, 556, 556, 500, 389, 280, 389, 584,
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Font {
    Regular,
    Bold,
}

impl Font {
    fn name(self) -> &'static str {
        match self {
            Font::Regular => "/F1",
            Font::Bold => "/F2",
        }
    }

    /// The width of `text` at `size` points.
    fn width(self, text: &str, size: f64) -> f64 {
        let table = match self {
            Font::Regular => &HELVETICA,
            Font::Bold => &HELVETICA_BOLD,
        };
        let units: u32 = text
            .chars()
            .map(|c| {
                let b = win_ansi(c);
                if (0x20..=0x7e).contains(&b) {
                    u32::from(table[usize::from(b - 0x20)])
                } else {
                    556
                }
            })
            .sum();
        f64::from(units) * size / 1000.0
    }
}

/// The content stream being written.
struct Content(String);

impl Content {
    fn text_at(&mut self, font: Font, size: f64, x: f64, y: f64, text: &str) {
        self.0.push_str(&format!(
            "BT {} {size:.1} Tf {x:.2} {y:.2} Td {} Tj ET\n",
            font.name(),
            literal(text)
        ));
    }

    /// Centres `text` on `cx`, shrinking the size until it fits `max_width`.
    fn centered(&mut self, font: Font, size: f64, cx: f64, y: f64, max_width: f64, text: &str) {
        let mut size = size;
        while size > 6.0 && font.width(text, size) > max_width {
            size -= 0.5;
        }
        let x = cx - font.width(text, size) / 2.0;
        self.text_at(font, size, x, y, text);
    }
}

/// Splits `text` into lines no wider than `max_width`, at spaces.
fn wrap(text: &str, font: Font, size: f64, max_width: f64) -> Vec<String> {
    let mut lines: Vec<String> = Vec::new();
    let mut line = String::new();
    for word in text.split_whitespace() {
        let candidate = if line.is_empty() {
            word.to_owned()
        } else {
            format!("{line} {word}")
        };
        if font.width(&candidate, size) <= max_width || line.is_empty() {
            line = candidate;
        } else {
            lines.push(std::mem::take(&mut line));
            line = word.to_owned();
        }
    }
    if !line.is_empty() {
        lines.push(line);
    }
    lines
}

/// The QR code of `data`: its modules, row by row from the top (`true` is dark).
///
/// # Errors
/// INTERNAL when the data does not fit a QR code (a public URL of thousands of characters).
pub fn qr_matrix(data: &str) -> Result<Vec<Vec<bool>>, EvaluationError> {
    let code = QrCode::with_error_correction_level(data.as_bytes(), EcLevel::M)
        .map_err(|e| EvaluationError::Internal(format!("QR code of the verification link: {e}")))?;
    let width = code.width();
    let colors = code.to_colors();
    Ok(colors
        .chunks(width)
        .map(|row| row.iter().map(|c| *c == Color::Dark).collect())
        .collect())
}

/// Draws `matrix` with its top-left corner at (`x`, `top`), `size` points wide: one filled
/// rectangle per horizontal run of dark modules.
fn draw_qr(content: &mut Content, matrix: &[Vec<bool>], x: f64, top: f64, size: f64) {
    let n = matrix.len().max(1) as f64;
    let m = size / n;
    content.0.push_str("0 0 0 rg\n");
    for (row_index, row) in matrix.iter().enumerate() {
        let y = top - (row_index as f64 + 1.0) * m;
        let mut col = 0;
        while col < row.len() {
            if !row[col] {
                col += 1;
                continue;
            }
            let start = col;
            while col < row.len() && row[col] {
                col += 1;
            }
            content.0.push_str(&format!(
                "{:.3} {:.3} {:.3} {:.3} re\n",
                x + start as f64 * m,
                y,
                (col - start) as f64 * m,
                m
            ));
        }
    }
    content.0.push_str("f\n");
}

/// The PDF of a certificate.
///
/// # Errors
/// INTERNAL when the verification link does not fit a QR code.
pub fn render(c: &CertificateText) -> Result<Vec<u8>, EvaluationError> {
    let matrix = qr_matrix(&c.verify_url)?;
    let cx = PAGE_WIDTH / 2.0;
    let mut s = Content(String::new());
    // Frame.
    s.0.push_str("0.12 0.29 0.53 RG 3 w 24 24 794 547 re S\n");
    s.0.push_str("0.75 0.6 0.2 RG 1 w 32 32 778 531 re S\n");
    s.0.push_str("0.12 0.29 0.53 rg\n");
    s.centered(Font::Bold, 34.0, cx, 500.0, 700.0, "SERTIFIKAT");
    s.0.push_str("0.2 0.2 0.2 rg\n");
    s.centered(
        Font::Regular,
        12.0,
        cx,
        476.0,
        700.0,
        &format!("Kode verifikasi: {}", c.code),
    );
    s.centered(Font::Regular, 14.0, cx, 428.0, 700.0, "Diberikan kepada");
    s.0.push_str("0 0 0 rg\n");
    s.centered(Font::Bold, 26.0, cx, 392.0, 700.0, &c.holder_name);
    s.0.push_str("0.2 0.2 0.2 rg\n");
    if let Some(nip) = &c.holder_nip {
        s.centered(Font::Regular, 13.0, cx, 368.0, 700.0, &format!("NIP {nip}"));
    }
    s.centered(
        Font::Regular,
        14.0,
        cx,
        330.0,
        700.0,
        "yang telah menyelesaikan pelatihan daring",
    );
    s.0.push_str("0 0 0 rg\n");
    let mut y = 300.0;
    for line in wrap(&c.course_title, Font::Bold, 18.0, 620.0)
        .iter()
        .take(3)
    {
        s.centered(Font::Bold, 18.0, cx, y, 620.0, line);
        y -= 23.0;
    }
    s.0.push_str("0.2 0.2 0.2 rg\n");
    s.centered(
        Font::Regular,
        12.0,
        cx,
        222.0,
        700.0,
        &format!(
            "Kode pelatihan {}  \u{b7}  {} JP (jam pelajaran)",
            c.course_code, c.jp
        ),
    );
    s.centered(
        Font::Regular,
        12.0,
        cx,
        204.0,
        700.0,
        &format!("Diselesaikan pada {} (WIB)", tanggal(c.completed_at)),
    );
    s.text_at(Font::Bold, 12.0, 64.0, 110.0, &c.issuer);
    s.text_at(
        Font::Regular,
        10.0,
        64.0,
        94.0,
        &format!("Diterbitkan {}", tanggal(c.issued_at)),
    );
    s.text_at(
        Font::Regular,
        9.0,
        64.0,
        64.0,
        "Keaslian sertifikat ini dapat diperiksa dengan memindai kode QR atau membuka:",
    );
    s.text_at(Font::Regular, 9.0, 64.0, 52.0, &c.verify_url);
    draw_qr(&mut s, &matrix, 690.0, 160.0, 110.0);
    s.0.push_str("0.2 0.2 0.2 rg\n");
    s.centered(
        Font::Regular,
        8.0,
        745.0,
        40.0,
        120.0,
        "Pindai untuk verifikasi",
    );

    let info = format!(
        "<< /Title {} /Author {} /Producer (lms) /CreationDate (D:{}Z) >>",
        literal(&format!("Sertifikat {}", c.code)),
        literal(&c.issuer),
        c.issued_at.format("%Y%m%d%H%M%S")
    );
    Ok(assemble(&s.0, &info))
}

/// Writes the objects, the cross-reference table with their byte offsets, and the trailer.
fn assemble(content: &str, info: &str) -> Vec<u8> {
    let objects = [
        "<< /Type /Catalog /Pages 2 0 R >>".to_owned(),
        "<< /Type /Pages /Kids [3 0 R] /Count 1 >>".to_owned(),
        format!(
            "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 {PAGE_WIDTH} {PAGE_HEIGHT}] \
             /Resources << /Font << /F1 4 0 R /F2 5 0 R >> >> /Contents 6 0 R >>"
        ),
        "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>"
            .to_owned(),
        "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica-Bold /Encoding /WinAnsiEncoding >>"
            .to_owned(),
        format!(
            "<< /Length {} >>\nstream\n{content}\nendstream",
            content.len()
        ),
        info.to_owned(),
    ];
    // The binary comment marks the file as binary for transfer tools.
    let mut out: Vec<u8> = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n".to_vec();
    let mut offsets = Vec::with_capacity(objects.len());
    for (i, body) in objects.iter().enumerate() {
        offsets.push(out.len());
        out.extend_from_slice(format!("{} 0 obj\n{body}\nendobj\n", i + 1).as_bytes());
    }
    let xref = out.len();
    let mut table = format!("xref\n0 {}\n0000000000 65535 f \n", objects.len() + 1);
    for o in offsets {
        table.push_str(&format!("{o:010} 00000 n \n"));
    }
    table.push_str(&format!(
        "trailer\n<< /Size {} /Root 1 0 R /Info 7 0 R >>\nstartxref\n{xref}\n%%EOF\n",
        objects.len() + 1
    ));
    out.extend_from_slice(table.as_bytes());
    out
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn sample() -> CertificateText {
        let at = DateTime::parse_from_rfc3339("2026-11-28T18:30:00Z")
            .unwrap()
            .with_timezone(&Utc);
        CertificateText {
            holder_name: "Siti Nurhaliza (Puskesmas) \\ Ciputat".into(),
            holder_nip: Some("198501012010012001".into()),
            course_code: "MR-2026".into(),
            course_title: "Manajemen Risiko Layanan Kesehatan di Puskesmas untuk Keadaan Darurat dan Bencana Alam di Kota Tangerang Selatan".into(),
            jp: 12,
            completed_at: at,
            issued_at: at,
            code: "KX7P-9QMR-2D".into(),
            verify_url: "https://lms.tangerangselatankota.go.id/verify/KX7P-9QMR-2D".into(),
            issuer: "BKPSDM Kota Tangerang Selatan".into(),
        }
    }

    /// Checks the structure a reader relies on: header, trailer, and an xref table whose
    /// offsets each point at `N 0 obj`. Returns the text of the file (lossy).
    pub(crate) fn check_structure(pdf: &[u8]) -> String {
        assert!(pdf.starts_with(b"%PDF-1.4\n"));
        assert!(pdf.ends_with(b"%%EOF\n"));
        let text = String::from_utf8_lossy(pdf).into_owned();
        let startxref: usize = text
            .rsplit("startxref\n")
            .next()
            .and_then(|t| t.lines().next())
            .and_then(|n| n.trim().parse().ok())
            .unwrap();
        assert!(pdf[startxref..].starts_with(b"xref\n"));
        let table = std::str::from_utf8(&pdf[startxref..]).unwrap();
        let mut lines = table.lines().skip(1);
        let count: usize = lines
            .next()
            .unwrap()
            .split_whitespace()
            .nth(1)
            .unwrap()
            .parse()
            .unwrap();
        let entries: Vec<&str> = lines.take(count).collect();
        assert_eq!(entries[0], "0000000000 65535 f ");
        for (n, entry) in entries.iter().enumerate().skip(1) {
            assert_eq!(
                entry.len(),
                19,
                "an xref entry is 20 bytes with its newline"
            );
            let offset: usize = entry[..10].parse().unwrap();
            assert!(
                pdf[offset..].starts_with(format!("{n} 0 obj\n").as_bytes()),
                "object {n} is not at {offset}"
            );
        }
        text
    }

    #[test]
    fn the_pdf_is_well_formed_and_carries_the_certificate() {
        let pdf = render(&sample()).unwrap();
        let text = check_structure(&pdf);
        assert!(text.contains("KX7P-9QMR-2D"));
        assert!(text.contains("198501012010012001"));
        assert!(text.contains("12 JP"));
        // 18:30 UTC on the 28th is already the 29th in WIB.
        assert!(text.contains("Diselesaikan pada 29 November 2026 \\(WIB\\)"));
        // Parentheses and backslashes in names are escaped.
        assert!(text.contains("Siti Nurhaliza \\(Puskesmas\\) \\\\ Ciputat"));
        // The stream length is the number of bytes between `stream\n` and `\nendstream`.
        let start = text.find("stream\n").unwrap() + "stream\n".len();
        let end = text.find("\nendstream").unwrap();
        let declared: usize = text
            .split("/Length ")
            .nth(1)
            .and_then(|t| t.split_whitespace().next())
            .and_then(|n| n.parse().ok())
            .unwrap();
        assert_eq!(declared, end - start);
    }

    #[test]
    fn the_qr_matrix_has_a_valid_version_size() {
        let m = qr_matrix("https://lms.tangerangselatankota.go.id/verify/KX7P-9QMR-2D").unwrap();
        let n = m.len();
        // Version v is 17 + 4v modules wide, v in 1..=40.
        assert!((21..=177).contains(&n) && (n - 17).is_multiple_of(4), "{n}");
        assert!(m.iter().all(|row| row.len() == n));
        // The finder pattern's corner is dark.
        assert!(m[0][0] && m[0][n - 1] && m[n - 1][0]);
    }

    #[test]
    fn text_outside_ascii_is_escaped_in_win_ansi() {
        assert_eq!(literal("Rp 5 \u{b7} é"), "(Rp 5 \\267 \\351)");
        assert_eq!(literal("日本"), "(??)");
        assert_eq!(
            tanggal(
                DateTime::parse_from_rfc3339("2026-01-01T00:00:00Z")
                    .unwrap()
                    .with_timezone(&Utc)
            ),
            "1 Januari 2026"
        );
    }

    #[test]
    fn long_titles_wrap_at_spaces() {
        let lines = wrap(&sample().course_title, Font::Bold, 18.0, 620.0);
        assert!(lines.len() >= 2);
        assert!(lines.iter().all(|l| Font::Bold.width(l, 18.0) <= 620.0));
    }
}
