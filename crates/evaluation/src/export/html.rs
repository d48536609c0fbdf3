//! The printable report of a course or cohort: one self-contained HTML page (inline CSS for A4
//! print, inline SVG charts, no script, no external asset), in Indonesian, the page a head of
//! agency prints.
//!
//! The page is drawn from a [`PrintableReport`], whose fields are the charts' data. A report
//! fills its field in [`super::sections::build`]; a field left `None` prints "Data belum
//! tersedia." in its place, so the page keeps its shape whatever is wired.
//!
//! Every text that comes from the database goes through [`escape`] (the SVG functions escape
//! their own labels); the page is also served with a Content-Security-Policy that allows no
//! script at all.

use std::fmt::Write as _;

use chrono::{DateTime, Utc};

use super::sections::{SCORE_BINS, gain_category_label};
use super::svg::{self, Axis, Bar, BarScale, Series, number};
use crate::certificate::pdf::tanggal;
use crate::report::learning::PrePostResult;
use crate::report::stats::GainCategory;

/// The Content-Security-Policy the page is served with: inline styles, nothing else.
pub const CSP: &str = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; \
                       base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/// Escapes text for HTML content and attribute values.
pub fn escape(s: &str) -> String {
    svg::escape(s)
}

/// A post-test with its paired pre-test, and their score distributions.
#[derive(Debug, Clone, PartialEq)]
pub struct LearningChart {
    /// The learning report's figures.
    pub result: PrePostResult,
    /// Paired learners per pre-test score bin (`[0, 10)`, …, `[90, 100]`).
    pub pre_bins: [u64; SCORE_BINS],
    /// Paired learners per post-test score bin.
    pub post_bins: [u64; SCORE_BINS],
}

/// A quiz's reliability, for the question-quality table.
#[derive(Debug, Clone, PartialEq)]
pub struct QuizQuality {
    /// The quiz's lesson title.
    pub title: String,
    /// Pre-test, post-test, …
    pub kind: String,
    /// Attempts counted.
    pub attempts: usize,
    /// Items.
    pub items: usize,
    /// KR-20 or Cronbach's alpha.
    pub method: String,
    /// The coefficient.
    pub reliability: Option<f64>,
    /// Items with a review flag.
    pub flagged: usize,
}

/// A line chart's data: a value per series and point (cohorts in time order).
#[derive(Debug, Clone, PartialEq)]
pub struct TrendChart {
    /// The points' names (cohort names, perhaps with the course).
    pub x_labels: Vec<String>,
    /// One line per trainer (or measure).
    pub series: Vec<Series>,
    /// The y axis (1 to 5 for reaction means, 0 to 1 for gains).
    pub axis: Axis,
    /// A sentence under the chart (what is plotted, hidden means).
    pub caption: Option<String>,
}

/// Everything the printable page shows. `None` in a chart field: "Data belum tersedia."
#[derive(Debug, Clone, PartialEq)]
pub struct PrintableReport {
    /// The course's title.
    pub course_title: String,
    /// Its code.
    pub course_code: String,
    /// Its JP.
    pub jp: i32,
    /// The cohort's name, or every cohort.
    pub cohort: Option<String>,
    /// The unit whose subtree the page is restricted to (a unit admin's).
    pub unit: Option<String>,
    /// The issuing agency.
    pub issuer: String,
    /// When the page was made.
    pub generated_at: DateTime<Utc>,
    /// Completion rate (0 to 1) per unit (from the completion report).
    pub completion_by_unit: Option<Vec<Bar>>,
    /// Per post-test: figures and the pre-test vs post-test distribution.
    pub learning: Option<Vec<LearningChart>>,
    /// Reaction mean (1 to 5) per dimension (from the reaction report).
    pub reaction_by_dimension: Option<Vec<Bar>>,
    /// Trainers' reaction means across cohorts (from the trends report).
    pub trainer_trend: Option<TrendChart>,
    /// Quiz reliability; `None` leaves the section out (not the reader's business: a unit
    /// admin's page).
    pub item_quality: Option<Vec<QuizQuality>>,
}

impl PrintableReport {
    /// A page of `course` with no data yet.
    pub fn new(
        course: &course::entity::course::Model,
        cohort: Option<String>,
        unit: Option<String>,
        issuer: String,
        generated_at: DateTime<Utc>,
    ) -> Self {
        PrintableReport {
            course_title: course.title.clone(),
            course_code: course.code.clone(),
            jp: course.jp_credit,
            cohort,
            unit,
            issuer,
            generated_at,
            completion_by_unit: None,
            learning: None,
            reaction_by_dimension: None,
            trainer_trend: None,
            item_quality: None,
        }
    }
}

const STYLE: &str = "\
@page{size:A4;margin:15mm 14mm 16mm}\
*{box-sizing:border-box}\
body{font-family:'Segoe UI',Arial,Helvetica,sans-serif;color:#1d1d1d;font-size:10.5pt;line-height:1.4;max-width:182mm;margin:8mm auto;padding:0 4mm}\
header{border-bottom:2px solid #1f4e8c;margin-bottom:6mm;padding-bottom:3mm}\
.kop{margin:0;color:#1f4e8c;font-weight:bold;letter-spacing:.03em;text-transform:uppercase;font-size:9pt}\
h1{font-size:17pt;margin:1mm 0}\
.judul{font-size:12pt;margin:0 0 2mm}\
dl.meta{display:grid;grid-template-columns:28mm 1fr;gap:0 3mm;margin:0;font-size:9.5pt}\
dl.meta dt{color:#555}dl.meta dd{margin:0}\
h2{font-size:12.5pt;color:#1f4e8c;border-bottom:1px solid #c5d3e6;padding-bottom:1mm;margin:7mm 0 3mm}\
h3{font-size:10.5pt;margin:4mm 0 2mm}\
section,.blok{break-inside:avoid;page-break-inside:avoid}\
table{border-collapse:collapse;width:100%;margin:2mm 0;font-size:9.5pt}\
th,td{border:1px solid #c8c8c8;padding:1.2mm 2mm;text-align:left;vertical-align:top}\
th{background:#eef3f9;font-weight:600}\
td.n{text-align:right;white-space:nowrap}\
svg{display:block;max-width:100%;height:auto;margin:2mm 0}\
.kosong{color:#666;font-style:italic;border:1px dashed #bbb;padding:5mm;text-align:center;margin:2mm 0}\
.ket{color:#555;font-size:8.5pt;margin:1mm 0}\
footer{margin-top:8mm;border-top:1px solid #ccc;padding-top:2mm;color:#666;font-size:8.5pt}\
@media print{body{margin:0;padding:0;max-width:none}h2{break-after:avoid;page-break-after:avoid}}";

fn unavailable(out: &mut String) {
    out.push_str("<p class=\"kosong\">Data belum tersedia.</p>");
}

fn opt(x: Option<f64>, places: usize) -> String {
    x.map_or_else(|| "–".to_owned(), |v| number(v, places))
}

fn percent(x: Option<f64>) -> String {
    x.map_or_else(|| "–".to_owned(), |v| format!("{}%", number(v * 100.0, 1)))
}

/// The labels of the score bins: `0–<10`, …, `90–100`.
pub fn score_bin_labels() -> Vec<String> {
    (0..SCORE_BINS)
        .map(|i| {
            if i + 1 == SCORE_BINS {
                format!("{}–100", i * 10)
            } else {
                format!("{}–<{}", i * 10, (i + 1) * 10)
            }
        })
        .collect()
}

fn learning_block(out: &mut String, c: &LearningChart) {
    let r = &c.result;
    let _ = write!(
        out,
        "<div class=\"blok\"><h3>{} <span class=\"ket\">(pre-test: {})</span></h3>",
        escape(&r.post_test.title),
        escape(&r.pre_test.title)
    );
    let category = r
        .class_gain
        .map(|g| format!(" ({})", gain_category_label(GainCategory::of(g))))
        .unwrap_or_default();
    let g = &r.gains;
    let _ = write!(
        out,
        "<table><tbody>\
         <tr><th>Peserta dengan pre-test dan post-test</th><td class=\"n\">{}</td></tr>\
         <tr><th>Rata-rata pre-test</th><td class=\"n\">{}</td></tr>\
         <tr><th>Rata-rata post-test</th><td class=\"n\">{}</td></tr>\
         <tr><th>Gain kelas &lt;g&gt;</th><td class=\"n\">{}{}</td></tr>\
         <tr><th>Gain individu: tinggi / sedang / rendah</th><td class=\"n\">{} / {} / {}</td></tr>\
         <tr><th>Dikecualikan (pre-test sudah 100)</th><td class=\"n\">{}</td></tr>\
         <tr><th>Lulus post-test</th><td class=\"n\">{} dari {} ({})</td></tr>\
         </tbody></table>",
        r.paired,
        opt(r.pre_mean, 1),
        opt(r.post_mean, 1),
        opt(r.class_gain, 2),
        category,
        g.high,
        g.medium,
        g.low,
        g.left_out,
        r.post_passed,
        r.post_taken,
        percent(r.pass_rate()),
    );
    if r.paired > 0 {
        out.push_str(&svg::paired_histogram(
            &format!(
                "Sebaran nilai pre-test dan post-test: {}",
                r.post_test.title
            ),
            &score_bin_labels(),
            &c.pre_bins,
            &c.post_bins,
            ("Pre-test", "Post-test"),
        ));
        out.push_str(
            "<p class=\"ket\">Jumlah peserta per rentang nilai (persen), hanya peserta yang \
             mengikuti keduanya.</p>",
        );
    } else {
        out.push_str("<p class=\"kosong\">Belum ada peserta yang mengikuti keduanya.</p>");
    }
    out.push_str("</div>");
}

/// The page.
pub fn render(r: &PrintableReport) -> String {
    let mut out = String::with_capacity(32 * 1024);
    let _ = write!(
        out,
        "<!doctype html><html lang=\"id\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>Laporan Evaluasi Pelatihan – {}</title><style>{STYLE}</style></head><body>",
        escape(&r.course_title)
    );
    let at = r.generated_at.with_timezone(&kernel::time::wib());
    let _ = write!(
        out,
        "<header><p class=\"kop\">{}</p><h1>Laporan Evaluasi Pelatihan</h1>\
         <p class=\"judul\">{} <span class=\"ket\">({}, {} JP)</span></p><dl class=\"meta\">\
         <dt>Angkatan</dt><dd>{}</dd><dt>Cakupan</dt><dd>{}</dd>\
         <dt>Dicetak</dt><dd>{} pukul {} WIB</dd></dl></header>",
        escape(&r.issuer),
        escape(&r.course_title),
        escape(&r.course_code),
        r.jp,
        escape(r.cohort.as_deref().unwrap_or("Semua angkatan")),
        match &r.unit {
            Some(u) => format!("Peserta unit kerja {} beserta sub-unitnya", escape(u)),
            None => "Seluruh peserta".to_owned(),
        },
        escape(&tanggal(r.generated_at)),
        at.format("%H:%M"),
    );

    out.push_str("<section><h2>1. Penyelesaian per unit kerja</h2>");
    match &r.completion_by_unit {
        Some(bars) if !bars.is_empty() => {
            out.push_str(&svg::bar_chart(
                "Tingkat penyelesaian per unit kerja",
                bars,
                &BarScale::RATE,
            ));
            out.push_str("<p class=\"ket\">Persentase peserta yang menyelesaikan pelatihan.</p>");
        }
        _ => unavailable(&mut out),
    }
    out.push_str("</section>");

    out.push_str("<section><h2>2. Hasil belajar: pre-test dan post-test</h2>");
    match &r.learning {
        Some(charts) if !charts.is_empty() => {
            for c in charts {
                learning_block(&mut out, c);
            }
            out.push_str(
                "<p class=\"ket\">Gain ternormalisasi Hake: g = (post − pre) / (100 − pre); \
                 &lt;g&gt; dihitung dari rata-rata kelas. Tinggi g ≥ 0,7; sedang 0,3 ≤ g &lt; 0,7; \
                 rendah g &lt; 0,3.</p>",
            );
        }
        _ => unavailable(&mut out),
    }
    out.push_str("</section>");

    out.push_str("<section><h2>3. Reaksi peserta per dimensi</h2>");
    match &r.reaction_by_dimension {
        Some(bars) if !bars.is_empty() => {
            out.push_str(&svg::bar_chart(
                "Rata-rata reaksi peserta per dimensi",
                bars,
                &BarScale::LIKERT,
            ));
            out.push_str(
                "<p class=\"ket\">Skala Likert 1 (sangat kurang) sampai 5 (sangat baik).</p>",
            );
        }
        _ => unavailable(&mut out),
    }
    out.push_str("</section>");

    out.push_str("<section><h2>4. Tren narasumber antar angkatan</h2>");
    match &r.trainer_trend {
        Some(t) if !t.x_labels.is_empty() && !t.series.is_empty() => {
            out.push_str(&svg::line_chart(
                "Tren reaksi terhadap narasumber antar angkatan",
                &t.x_labels,
                &t.series,
                &t.axis,
            ));
            if let Some(c) = &t.caption {
                let _ = write!(out, "<p class=\"ket\">{}</p>", escape(c));
            }
        }
        _ => unavailable(&mut out),
    }
    out.push_str("</section>");

    if let Some(quizzes) = &r.item_quality {
        out.push_str("<section><h2>5. Kualitas soal</h2>");
        if quizzes.is_empty() {
            unavailable(&mut out);
        } else {
            out.push_str(
                "<table><thead><tr><th>Kuis</th><th>Jenis</th><th>Percobaan</th><th>Butir</th>\
                 <th>Reliabilitas</th><th>Butir perlu ditinjau</th></tr></thead><tbody>",
            );
            for q in quizzes {
                let _ = write!(
                    out,
                    "<tr><td>{}</td><td>{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td>\
                     <td class=\"n\">{} ({})</td><td class=\"n\">{}</td></tr>",
                    escape(&q.title),
                    escape(&q.kind),
                    q.attempts,
                    q.items,
                    opt(q.reliability, 2),
                    escape(&q.method),
                    q.flagged
                );
            }
            out.push_str(
                "</tbody></table><p class=\"ket\">Butir perlu ditinjau: tingkat kemudahan di bawah \
                 0,2 atau di atas 0,9, atau daya beda di bawah 0,2. Rinciannya ada di ekspor XLSX.</p>",
            );
        }
        out.push_str("</section>");
    }

    let _ = write!(
        out,
        "<footer>Dokumen ini dibuat otomatis oleh platform pembelajaran {}.</footer></body></html>",
        escape(&r.issuer)
    );
    out
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use chrono::TimeZone;
    use uuid::Uuid;

    use super::*;
    use crate::report::learning::QuizRef;
    use crate::report::stats::GainDistribution;

    fn page() -> PrintableReport {
        PrintableReport {
            course_title: "Manajemen <script>alert('x')</script> Risiko".into(),
            course_code: "MR-1".into(),
            jp: 4,
            cohort: Some("Angkatan I & II".into()),
            unit: None,
            issuer: "BKPSDM Kota Tangerang Selatan".into(),
            generated_at: Utc.with_ymd_and_hms(2026, 3, 1, 5, 30, 0).single().unwrap(),
            completion_by_unit: None,
            learning: None,
            reaction_by_dimension: None,
            trainer_trend: None,
            item_quality: None,
        }
    }

    #[test]
    fn an_empty_page_says_data_is_not_available_and_escapes_everything() {
        let html = render(&page());
        assert!(html.starts_with("<!doctype html><html lang=\"id\">"));
        assert!(!html.contains("<script"));
        assert!(html.contains("Manajemen &lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; Risiko"));
        assert!(html.contains("Angkatan I &amp; II"));
        // 1 March 2026 05:30 UTC is 12:30 WIB.
        assert!(html.contains("1 Maret 2026 pukul 12:30 WIB"));
        assert_eq!(html.matches("Data belum tersedia.").count(), 4);
        assert!(!html.contains("<svg"));
        // No section 5 without item quality (a unit admin's page).
        assert!(!html.contains("Kualitas soal"));
        assert!(html.contains("@page{size:A4"));
        assert!(html.contains("@media print"));
        // Nothing is fetched.
        assert!(!html.contains("src=") && !html.contains("href="));
    }

    #[test]
    fn charts_appear_where_data_is() {
        let mut p = page();
        p.completion_by_unit = Some(vec![Bar::new("Dinas <Kesehatan>", Some(0.75))]);
        p.reaction_by_dimension = Some(vec![Bar::new("Materi", Some(4.2))]);
        p.trainer_trend = Some(TrendChart {
            x_labels: vec!["Angkatan I".into(), "Angkatan II".into()],
            series: vec![Series {
                name: "Budi".into(),
                values: vec![Some(4.0), Some(3.5)],
            }],
            axis: Axis {
                min: 1.0,
                max: 5.0,
                places: 1,
            },
            caption: Some("Rata-rata <5 respons disembunyikan".into()),
        });
        let quiz = |t: &str| QuizRef {
            quiz_id: Uuid::nil(),
            lesson_id: Uuid::nil(),
            title: t.into(),
        };
        p.learning = Some(vec![LearningChart {
            result: PrePostResult {
                pre_test: quiz("Pre-test"),
                post_test: quiz("Post-test"),
                paired: 5,
                pre_mean: Some(60.0),
                post_mean: Some(70.0),
                class_gain: Some(0.25),
                gains: GainDistribution::default(),
                post_taken: 5,
                post_passed: 3,
            },
            pre_bins: [0, 0, 1, 0, 0, 2, 0, 1, 0, 1],
            post_bins: [0, 0, 1, 0, 1, 0, 0, 1, 0, 2],
        }]);
        p.item_quality = Some(vec![]);
        let html = render(&p);
        assert_eq!(html.matches("<svg").count(), 4);
        // Only the item-quality section is empty.
        assert_eq!(html.matches("Data belum tersedia.").count(), 1);
        assert!(html.contains("Dinas &lt;Kesehatan&gt;"));
        assert!(html.contains("0,25 (Rendah)"));
        assert!(html.contains("3 dari 5 (60%)"));
        assert!(html.contains("Rata-rata &lt;5 respons disembunyikan"));
        assert!(html.contains(">90–100<"));
    }
}
