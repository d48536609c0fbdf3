//! The sections of a course's export, and the data of its printable page: **the one place where
//! a report is wired into the exports**.
//!
//! Wiring a report takes a few lines in [`build`]: compute it when the export wants it
//! (`b.wants(ReportSection::X)` for its sheet or CSV file, `b.html()` for the page), push a
//! [`Section`] made from it, and fill its field of [`PrintableReport`] for the charts. A new CSV
//! section also needs its [`ReportSection`] variant and link name (in `mod.rs`). The reports
//! wired now, in the workbook's order: the cover sheet, completion
//! ([`crate::report::completion`]), learning ([`crate::report::learning`]), reaction
//! ([`crate::report::reaction`]), follow-up ([`crate::report::follow_up`]), the course trend
//! ([`crate::report::trends`]), item analysis ([`crate::report::items`]) and the per-learner
//! table, which is read in keyset pages.
//!
//! Decisions of the report sections:
//! - **Each section is its report's own figures**, computed by the function the GraphQL query
//!   calls, with the export's cohort and audience: a file never disagrees with the API, and
//!   what the API hides stays hidden (figures about a trainer and follow-up texts below 5
//!   responses; reaction means of a unit admin's trend below 5).
//! - A report's parts go in one table, one row each, with a first column that says which part
//!   a row is (`Total` / `Unit kerja`, `Seluruh pelatihan` / `Narasumber`, `Peserta` /
//!   `Atasan`), and a figure shared by several rows repeated on each, so that a sheet can be
//!   filtered and a CSV file read by a program without knowing the layout.
//! - Hidden figures are empty cells with the reason in `Keterangan`, never a zero.
//! - The trend is of every cohort of the course, also in a cohort's export: a trend is about
//!   the cohorts, and the one exported is among them.
//! - The page's trainer chart shows a trainer's mean in a cohort only from 5 responses about
//!   them, for every reader (see [`crate::report::trends`]); the caption counts hidden points.
//!
//! Decisions of the per-learner section ("Peserta"):
//! - One row per enrollment in the course (or cohort) that is or was a seat: active,
//!   completed, withdrawn or expired, the states the completion report counts (its `enrolled`
//!   plus `withdrawn` and `expired`). Pending, waitlisted and rejected requests are not
//!   learners. The state column tells the four apart. A person with enrollments in two cohorts
//!   has two rows. For a unit admin, only people whose current unit is in their subtree.
//! - Ordered by name, then enrollment id; keyset pages of [`PAGE_ROWS`] rows on that pair.
//! - Pre-test and post-test scores as in the learning report: the pre-test's first attempt
//!   (by person), the post-test's final percent of the result that belongs to this enrollment;
//!   the individual gain `g = (post - pre) / (100 - pre)` when both exist and `pre < 100`.
//!   One trio of columns per post-test with a paired pre-test, in course order, named after the
//!   post-test when there are several; the three columns stay (empty) in a course without a
//!   pair, so a sheet's layout does not depend on the course.
//!
//! SQL, whatever the number of learners: the completion report's (at most 2), the learning
//! report's (at most 3), the reaction report's (at most 9), the follow-up report's (at most 9),
//! the course trend's (at most 4), for item analysis the course's quizzes (1) and 2 per quiz,
//! for the page the paired score distribution (1 GROUP BY) and the trainers per cohort (3), and
//! for the learners one statement per page of 1,000 (the join of enrollments, people, units,
//! cohorts, certificates and two results per pair, on indexed keys).

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use enrollment::entity::cohort;
use identity::entity::unit;
use quiz::entity::quiz as quiz_entity;
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseConnection, DbBackend, EntityTrait, FromQueryResult,
    QueryFilter, Statement, Value,
};
use uuid::Uuid;

use super::html::{LearningChart, PrintableReport, QuizQuality, TrendChart};
use super::svg::{Axis, Bar, Series};
use super::{
    Cell, Column, ColumnKind, PAGE_ROWS, ReportFormat, ReportSection, Row, RowPages, Rows, Section,
};
use crate::Evaluation;
use crate::certificate::code;
use crate::error::EvaluationError;
use crate::report::completion::{self, CompletionFigures, UnitFigures};
use crate::report::follow_up::{self, AnswerSummary, FollowUpReport, FollowUpSide};
use crate::report::items::{self, ItemAnalysis};
use crate::report::learning::{self, Audience, MAX_PERCENT, PrePostResult};
use crate::report::ph;
use crate::report::reaction::{self, ReactionReport, overall};
use crate::report::stats::{self, EPSILON, GAIN_BINS, GainCategory, ItemFlag, ReliabilityMethod};
use crate::report::trends::{self, CourseTrainerLine, CourseTrend, TrendMeasure};
use crate::survey::results::{DimensionResult, Distribution};
use crate::survey::{Dimension, QuestionKind};

/// Score bins of the pre-test/post-test distribution: ten bins of 10 points.
pub const SCORE_BINS: usize = 10;

/// What an export is of, and for whom.
#[derive(Debug, Clone)]
pub struct ExportScope {
    /// The course.
    pub course: course::entity::course::Model,
    /// The cohort, or every cohort.
    pub cohort: Option<cohort::Model>,
    /// Whose learners.
    pub(crate) audience: Audience,
    /// The unit admin's unit, when the export is restricted to its subtree.
    pub unit: Option<unit::Model>,
    /// When the export was made.
    pub generated_at: DateTime<Utc>,
}

impl ExportScope {
    fn cohort_id(&self) -> Option<Uuid> {
        self.cohort.as_ref().map(|c| c.id)
    }
}

/// The bin of a percent score: `floor(score / 10)`, 100 in the last bin (`[90, 100]`).
pub fn score_bin(score: f64) -> usize {
    let i = ((score + EPSILON) / 10.0).floor();
    if i <= 0.0 {
        0
    } else {
        // In 0..=9 after the clamp; the cast cannot truncate.
        (i as usize).min(SCORE_BINS - 1)
    }
}

/// The pre-test and post-test distributions of `(pre, post, learners)` groups.
pub fn score_distributions(groups: &[(f64, f64, u64)]) -> ([u64; SCORE_BINS], [u64; SCORE_BINS]) {
    let mut pre = [0; SCORE_BINS];
    let mut post = [0; SCORE_BINS];
    for (a, b, n) in groups {
        pre[score_bin(*a)] += n;
        post[score_bin(*b)] += n;
    }
    (pre, post)
}

/// What an export is being built into.
struct Builder<'a> {
    scope: &'a ExportScope,
    format: ReportFormat,
    only: Option<ReportSection>,
    sections: Vec<Section>,
    page: PrintableReport,
}

impl Builder<'_> {
    /// Whether the file has a sheet (or is the CSV file) of `section`.
    fn wants(&self, section: ReportSection) -> bool {
        match self.format {
            ReportFormat::Csv => self.only == Some(section),
            ReportFormat::Xlsx => true,
            ReportFormat::Html => false,
        }
    }

    /// Whether the printable page is being made.
    fn html(&self) -> bool {
        self.format == ReportFormat::Html
    }

    /// Whether the reader sees every learner (admins, the course's trainers).
    fn sees_all(&self) -> bool {
        self.scope.audience == Audience::All
    }
}

/// The sections of the export of `scope` in `format` (`only`: the CSV file's section), and
/// the page data when `format` is HTML. Small reports are computed here; the per-learner rows
/// are read later, while the file is sent.
///
/// # Errors
/// INTERNAL on database failure.
pub(crate) async fn build(
    ev: &Evaluation,
    scope: &ExportScope,
    format: ReportFormat,
    only: Option<ReportSection>,
) -> Result<(Vec<Section>, PrintableReport), EvaluationError> {
    let db = &ev.db;
    let mut b = Builder {
        scope,
        format,
        only,
        sections: Vec::new(),
        page: PrintableReport::new(
            &scope.course,
            scope.cohort.as_ref().map(|c| c.name.clone()),
            scope.unit.as_ref().map(|u| u.name.clone()),
            ev.settings.issuer.clone(),
            scope.generated_at,
        ),
    };
    if format == ReportFormat::Xlsx {
        b.sections.push(cover_section(scope));
    }

    let minimum = ev.settings.min_responses;

    // The completion report: a sheet, and the completion rate per unit on the page.
    if b.wants(ReportSection::Completion) || b.html() {
        let (total, units) = completion::completion(
            db,
            scope.course.id,
            scope.cohort_id(),
            &scope.audience,
            scope.generated_at,
        )
        .await?;
        if b.wants(ReportSection::Completion) {
            b.sections.push(completion_section(&total, &units));
        }
        if b.html() {
            b.page.completion_by_unit = Some(completion_bars(&units));
        }
    }

    // The learning report; its pairs also name the learners' score columns.
    let mut pairs: Vec<PrePostResult> = Vec::new();
    if b.wants(ReportSection::Learning) || b.wants(ReportSection::Learners) || b.html() {
        pairs = learning::learning(db, scope.course.id, scope.cohort_id(), &scope.audience).await?;
    }
    if b.wants(ReportSection::Learning) {
        b.sections.push(learning_section(&pairs));
    }
    if b.html() {
        let mut groups = if pairs.iter().any(|p| p.paired > 0) {
            score_pairs(db, scope.course.id, scope.cohort_id(), &scope.audience).await?
        } else {
            HashMap::new()
        };
        b.page.learning = Some(
            pairs
                .iter()
                .map(|p| {
                    let (pre_bins, post_bins) = score_distributions(
                        &groups.remove(&p.post_test.quiz_id).unwrap_or_default(),
                    );
                    LearningChart {
                        result: p.clone(),
                        pre_bins,
                        post_bins,
                    }
                })
                .collect(),
        );
    }

    // The reaction report, with its 5-response rule for figures about a trainer.
    if b.wants(ReportSection::Reaction) || b.html() {
        let r = reaction::reaction(
            db,
            scope.course.id,
            scope.cohort_id(),
            &scope.audience,
            minimum,
        )
        .await?;
        if b.wants(ReportSection::Reaction) {
            b.sections.push(reaction_section(&r));
        }
        if b.html() {
            b.page.reaction_by_dimension = Some(reaction_bars(&r));
        }
    }

    // The follow-up report: a sheet only.
    if b.wants(ReportSection::FollowUp) {
        let r = follow_up::follow_up(
            db,
            scope.course.id,
            scope.cohort_id(),
            &scope.audience,
            minimum,
        )
        .await?;
        b.sections.push(follow_up_section(&r));
    }

    // The course trend across every cohort (a trend is about the cohorts, whichever one the
    // export is of); on the page, its cohorts are the axis of the trainers' chart.
    if b.wants(ReportSection::Trends) || b.html() {
        let trend = trends::trend_of_course(db, scope.course.id, &scope.audience, minimum).await?;
        if b.wants(ReportSection::Trends) {
            b.sections.push(trends_section(&trend));
        }
        if b.html() {
            let lines =
                trends::course_trainer_lines(db, scope.course.id, &scope.audience, minimum).await?;
            b.page.trainer_trend = trainer_chart(&trend, &lines, minimum);
        }
    }

    // Item analysis: the course's trainers and admins only.
    if b.sees_all() && (b.wants(ReportSection::Items) || b.html()) {
        let analyses = item_analyses(db, scope.course.id).await?;
        if b.wants(ReportSection::Items) {
            b.sections.push(items_section(&analyses));
        }
        if b.html() {
            b.page.item_quality = Some(
                analyses
                    .iter()
                    .map(|(title, a)| QuizQuality {
                        title: title.clone(),
                        kind: quiz_kind_label(&a.kind).to_owned(),
                        attempts: a.attempts,
                        items: a.item_count,
                        method: method_label(a.method).to_owned(),
                        reliability: a.reliability,
                        flagged: a.items.iter().filter(|i| !i.stats.flags.is_empty()).count(),
                    })
                    .collect(),
            );
        }
    }

    // Learners last: the big sheet, read while it is sent.
    if b.wants(ReportSection::Learners) {
        b.sections.push(learners_section(db.clone(), scope, &pairs));
    }
    Ok((b.sections, b.page))
}

/// The cover sheet: what the workbook is of.
fn cover_section(scope: &ExportScope) -> Section {
    let row = |k: &str, v: Cell| vec![Cell::text(k), v];
    let mut rows = vec![
        row("Pelatihan", Cell::text(&scope.course.title)),
        row("Kode", Cell::text(&scope.course.code)),
        row("Jam pelajaran (JP)", Cell::count(scope.course.jp_credit)),
        row(
            "Angkatan",
            Cell::text(
                scope
                    .cohort
                    .as_ref()
                    .map_or("Semua angkatan", |c| c.name.as_str()),
            ),
        ),
        row(
            "Cakupan",
            Cell::text(match &scope.unit {
                Some(u) => format!("Peserta unit kerja {} beserta sub-unitnya", u.name),
                None => "Seluruh peserta".to_owned(),
            }),
        ),
        row("Dibuat pada (WIB)", Cell::DateTime(scope.generated_at)),
    ];
    rows.push(row(
        "Catatan",
        Cell::text("Nilai dalam persen (0–100); gain g = (post − pre) / (100 − pre)."),
    ));
    Section::new(
        None,
        "Info",
        vec![
            Column::new("Keterangan", ColumnKind::Text),
            Column::new("Nilai", ColumnKind::Text),
        ],
        Rows::Ready(rows),
    )
}

/// The label of a gain category.
pub fn gain_category_label(c: GainCategory) -> &'static str {
    match c {
        GainCategory::High => "Tinggi",
        GainCategory::Medium => "Sedang",
        GainCategory::Low => "Rendah",
    }
}

fn quiz_kind_label(stored: &str) -> &'static str {
    match stored {
        "pre_test" => "Pre-test",
        "post_test" => "Post-test",
        "practice" => "Latihan",
        "graded" => "Kuis bernilai",
        _ => "Kuis",
    }
}

fn method_label(m: ReliabilityMethod) -> &'static str {
    match m {
        ReliabilityMethod::Kr20 => "KR-20",
        ReliabilityMethod::CronbachAlpha => "Alpha Cronbach",
    }
}

fn flag_label(f: ItemFlag) -> &'static str {
    match f {
        ItemFlag::TooHard => "terlalu sulit",
        ItemFlag::TooEasy => "terlalu mudah",
        ItemFlag::WeakDiscrimination => "daya beda lemah",
    }
}

/// The learning report as a table: a row per post-test.
pub fn learning_section(tests: &[PrePostResult]) -> Section {
    let mut columns = vec![
        Column::new("Pre-test", ColumnKind::Text),
        Column::new("Post-test", ColumnKind::Text),
        Column::new("Peserta berpasangan", ColumnKind::Integer),
        Column::new("Rata-rata pre-test (%)", ColumnKind::Decimal),
        Column::new("Rata-rata post-test (%)", ColumnKind::Decimal),
        Column::new("Gain kelas <g>", ColumnKind::Decimal),
        Column::new("Kategori <g>", ColumnKind::Text),
        Column::new("Gain individu dihitung", ColumnKind::Integer),
        Column::new("Gain tinggi (g ≥ 0,7)", ColumnKind::Integer),
        Column::new("Gain sedang (0,3 ≤ g < 0,7)", ColumnKind::Integer),
        Column::new("Gain rendah (g < 0,3)", ColumnKind::Integer),
        Column::new("Gain negatif", ColumnKind::Integer),
        Column::new("Dikecualikan (pre-test 100)", ColumnKind::Integer),
        Column::new("Rata-rata gain individu", ColumnKind::Decimal),
    ];
    for i in 0..GAIN_BINS {
        let close = if i + 1 == GAIN_BINS { "]" } else { ")" };
        columns.push(Column::new(
            format!(
                "g [{},{}–{},{}{close}",
                i / 10,
                i % 10,
                (i + 1) / 10,
                (i + 1) % 10
            ),
            ColumnKind::Integer,
        ));
    }
    columns.extend([
        Column::new("Mengikuti post-test", ColumnKind::Integer),
        Column::new("Lulus post-test", ColumnKind::Integer),
        Column::new("Tingkat kelulusan", ColumnKind::Share),
    ]);
    let rows = tests
        .iter()
        .map(|t| {
            let g = &t.gains;
            let mut row = vec![
                Cell::text(&t.pre_test.title),
                Cell::text(&t.post_test.title),
                Cell::count(t.paired),
                Cell::opt_number(t.pre_mean),
                Cell::opt_number(t.post_mean),
                Cell::opt_number(t.class_gain),
                Cell::opt_text(
                    t.class_gain
                        .map(|c| gain_category_label(GainCategory::of(c))),
                ),
                Cell::count(g.counted),
                Cell::count(g.high),
                Cell::count(g.medium),
                Cell::count(g.low),
                Cell::count(g.negative),
                Cell::count(g.left_out),
                Cell::opt_number(g.mean_gain),
            ];
            row.extend(g.bins.iter().map(|n| Cell::count(*n)));
            row.extend([
                Cell::count(t.post_taken),
                Cell::count(t.post_passed),
                Cell::opt_number(t.pass_rate()),
            ]);
            row
        })
        .collect();
    Section::new(
        Some(ReportSection::Learning),
        "Hasil belajar",
        columns,
        Rows::Ready(rows),
    )
}

/// Item analysis as a table: a row per quiz and question version, the quiz's figures repeated
/// so that the sheet can be filtered; a quiz without items has one row.
pub fn items_section(analyses: &[(String, ItemAnalysis)]) -> Section {
    let columns = vec![
        Column::new("Kuis", ColumnKind::Text),
        Column::new("Jenis kuis", ColumnKind::Text),
        Column::new("Percobaan dihitung (n)", ColumnKind::Integer),
        Column::new("Butir (k)", ColumnKind::Integer),
        Column::new("Metode reliabilitas", ColumnKind::Text),
        Column::new("Reliabilitas", ColumnKind::Decimal),
        Column::new("Rata-rata skor total", ColumnKind::Decimal),
        Column::new("No.", ColumnKind::Integer),
        Column::new("Soal", ColumnKind::Text),
        Column::new("Versi", ColumnKind::Integer),
        Column::new("Jenis soal", ColumnKind::Text),
        Column::new("n butir", ColumnKind::Integer),
        Column::new("Tingkat kemudahan (p)", ColumnKind::Decimal),
        Column::new("Daya beda (D)", ColumnKind::Decimal),
        Column::new("Korelasi point-biserial", ColumnKind::Decimal),
        Column::new("Tanda", ColumnKind::Text),
    ];
    let mut rows = Vec::new();
    for (title, a) in analyses {
        let quiz = || {
            vec![
                Cell::text(title),
                Cell::text(quiz_kind_label(&a.kind)),
                Cell::count(a.attempts),
                Cell::count(a.item_count),
                Cell::text(method_label(a.method)),
                Cell::opt_number(a.reliability),
                Cell::opt_number(a.mean_total),
            ]
        };
        if a.items.is_empty() {
            rows.push(quiz());
        }
        for (i, item) in a.items.iter().enumerate() {
            let mut row = quiz();
            row.extend([
                Cell::count(i + 1),
                Cell::text(&item.prompt),
                Cell::count(item.version),
                Cell::text(&item.kind),
                Cell::count(item.stats.n),
                Cell::opt_number(item.stats.facility),
                Cell::opt_number(item.stats.discrimination),
                Cell::opt_number(item.stats.point_biserial),
                Cell::opt_text(
                    Some(
                        item.stats
                            .flags
                            .iter()
                            .map(|f| flag_label(*f))
                            .collect::<Vec<_>>()
                            .join(", "),
                    )
                    .filter(|f| !f.is_empty()),
                ),
            ]);
            rows.push(row);
        }
    }
    Section::new(
        Some(ReportSection::Items),
        "Analisis butir",
        columns,
        Rows::Ready(rows),
    )
}

/// The label of a unit row: the unit's name, or "Tanpa unit kerja" for people without one.
fn unit_label(name: Option<&str>) -> &str {
    name.unwrap_or("Tanpa unit kerja")
}

/// The Indonesian name of a reaction dimension.
pub fn dimension_label(d: Dimension) -> &'static str {
    match d {
        Dimension::Material => "Materi",
        Dimension::Trainer => "Narasumber",
        Dimension::Organisation => "Penyelenggaraan dan platform",
        Dimension::Usefulness => "Manfaat",
    }
}

fn yes_no(b: bool) -> Cell {
    Cell::text(if b { "Ya" } else { "Tidak" })
}

/// The completion report as a table: the total first, then a row per learner's unit (by
/// name, people without a unit last), as `completionReport` gives them.
pub fn completion_section(total: &CompletionFigures, units: &[UnitFigures]) -> Section {
    let columns = vec![
        Column::new("Baris", ColumnKind::Text),
        Column::new("Unit kerja", ColumnKind::Text),
        Column::new("Terdaftar (aktif + selesai)", ColumnKind::Integer),
        Column::new("Mulai belajar", ColumnKind::Integer),
        Column::new("Selesai", ColumnKind::Integer),
        Column::new("Tingkat penyelesaian", ColumnKind::Share),
        Column::new("Median hari sampai selesai", ColumnKind::Decimal),
        Column::new("Lewat tenggat", ColumnKind::Integer),
        Column::new("Mengundurkan diri", ColumnKind::Integer),
        Column::new("Kedaluwarsa", ColumnKind::Integer),
    ];
    let row = |kind: &str, unit: Cell, f: &CompletionFigures| {
        vec![
            Cell::text(kind),
            unit,
            Cell::count(f.enrolled),
            Cell::count(f.started),
            Cell::count(f.completed),
            Cell::opt_number(f.completion_rate()),
            Cell::opt_number(f.median_days),
            Cell::count(f.overdue),
            Cell::count(f.withdrawn),
            Cell::count(f.expired),
        ]
    };
    let mut rows = vec![row("Total", Cell::Empty, total)];
    rows.extend(units.iter().map(|u| {
        row(
            "Unit kerja",
            Cell::text(unit_label(u.unit_name.as_deref())),
            &u.figures,
        )
    }));
    Section::new(
        Some(ReportSection::Completion),
        "Penyelesaian",
        columns,
        Rows::Ready(rows),
    )
}

/// The page's completion chart: a bar per unit, its rate from 0 to 1, `n` its enrolled.
pub fn completion_bars(units: &[UnitFigures]) -> Vec<Bar> {
    units
        .iter()
        .map(|u| {
            Bar::new(
                unit_label(u.unit_name.as_deref()),
                u.figures.completion_rate(),
            )
            .with_note(format!("n = {}", u.figures.enrolled))
        })
        .collect()
}

/// The columns of a Likert distribution: answers, mean, then the count of each of 1..5.
fn likert_columns() -> impl Iterator<Item = Column> {
    [
        Column::new("Jawaban", ColumnKind::Integer),
        Column::new("Rata-rata (1–5)", ColumnKind::Decimal),
    ]
    .into_iter()
    .chain((1..=5).map(|v| Column::new(format!("Jawaban {v}"), ColumnKind::Integer)))
}

/// The cells of [`likert_columns`].
fn likert_cells(d: &Distribution) -> Vec<Cell> {
    let mut cells = vec![Cell::count(d.answers()), Cell::opt_number(d.mean())];
    cells.extend(d.0.iter().map(|n| Cell::count(*n)));
    cells
}

/// The reaction report as a table: course-wide rows (every answer together, then each
/// dimension), then per trainer (every answer about them, then each dimension), each with its
/// `n`. A trainer below the minimum number of responses has one row with their `n` and
/// nothing else, as `reactionReport` gives them.
pub fn reaction_section(r: &ReactionReport) -> Section {
    let mut columns = vec![
        Column::new("Bagian", ColumnKind::Text),
        Column::new("Narasumber", ColumnKind::Text),
        Column::new("Dimensi", ColumnKind::Text),
        Column::new("Respons (n)", ColumnKind::Integer),
    ];
    columns.extend(likert_columns());
    columns.extend([
        Column::new("Peserta selesai", ColumnKind::Integer),
        Column::new("Tingkat respons", ColumnKind::Share),
        Column::new("Keterangan", ColumnKind::Text),
    ]);
    let results = &r.results;
    let mut rows = Vec::new();
    // Rows of one block: every answer of `dims` together, then each dimension.
    let block =
        |rows: &mut Vec<Row>, head: &[Cell], n: i64, dims: &[DimensionResult], tail: &[Cell]| {
            let all = overall(dims);
            let lines = std::iter::once(("Semua dimensi", all)).chain(
                dims.iter()
                    .map(|d| (dimension_label(d.dimension), d.distribution)),
            );
            for (label, d) in lines {
                let mut row = head.to_vec();
                row.extend([Cell::text(label), Cell::count(n)]);
                row.extend(likert_cells(&d));
                row.extend(tail.iter().cloned());
                rows.push(row);
            }
        };
    block(
        &mut rows,
        &[Cell::text("Seluruh pelatihan"), Cell::Empty],
        results.responses,
        &results.dimensions,
        &[
            Cell::count(r.completed),
            Cell::opt_number(r.response_rate()),
            Cell::Empty,
        ],
    );
    for t in &results.trainers {
        let head = [Cell::text("Narasumber"), Cell::text(&t.trainer.name)];
        match &t.dimensions {
            Some(dims) => block(
                &mut rows,
                &head,
                t.responses,
                dims,
                &[Cell::Empty, Cell::Empty, Cell::Empty],
            ),
            None => {
                let mut row = head.to_vec();
                row.extend([Cell::text("Semua dimensi"), Cell::count(t.responses)]);
                // No answers, mean, distribution, completed or rate.
                row.resize(columns.len() - 1, Cell::Empty);
                row.push(Cell::text(format!(
                    "Disembunyikan: kurang dari {} respons",
                    results.minimum_responses
                )));
                rows.push(row);
            }
        }
    }
    Section::new(
        Some(ReportSection::Reaction),
        "Reaksi",
        columns,
        Rows::Ready(rows),
    )
}

/// The page's reaction chart: a bar per course-wide dimension (mean from 1 to 5), `n` its
/// answers. Course-wide means are shown whatever the number of responses, as in
/// `reactionReport`; a dimension nobody answered has no bar ("–").
pub fn reaction_bars(r: &ReactionReport) -> Vec<Bar> {
    r.results
        .dimensions
        .iter()
        .map(|d| {
            Bar::new(dimension_label(d.dimension), d.distribution.mean())
                .with_note(format!("n = {} jawaban", d.distribution.answers()))
        })
        .collect()
}

/// The follow-up report as a table: per side (the learner's, then the supervisor's) a row per
/// question in template order, the side's requests repeated on each so that the sheet can be
/// filtered; a side without answers has one row with its requests. Texts only from the
/// minimum number of responses, as `followUpReport` gives them, one per line.
pub fn follow_up_section(r: &FollowUpReport) -> Section {
    let mut columns = vec![
        Column::new("Responden", ColumnKind::Text),
        Column::new("Permintaan dikirim", ColumnKind::Integer),
        Column::new("Dijawab", ColumnKind::Integer),
        Column::new("Masih terbuka", ColumnKind::Integer),
        Column::new("Ditutup tanpa jawaban", ColumnKind::Integer),
        Column::new("Tingkat respons", ColumnKind::Share),
        Column::new("Respons (n)", ColumnKind::Integer),
        Column::new("No.", ColumnKind::Integer),
        Column::new("Pertanyaan", ColumnKind::Text),
        Column::new("Jenis", ColumnKind::Text),
        Column::new("Dimensi", ColumnKind::Text),
    ];
    columns.extend(likert_columns());
    columns.extend([
        Column::new("Jawaban teks", ColumnKind::Text),
        Column::new("Keterangan", ColumnKind::Text),
    ]);
    let width = columns.len();
    let mut rows = Vec::new();
    for (who, side) in [("Peserta", &r.learner), ("Atasan", &r.supervisor)] {
        let FollowUpSide {
            requests: q,
            responses,
            minimum_responses,
            questions,
        } = side;
        let head = vec![
            Cell::text(who),
            Cell::count(q.sent),
            Cell::count(q.answered),
            Cell::count(q.open),
            Cell::count(q.closed),
            Cell::opt_number(q.response_rate()),
            Cell::count(*responses),
        ];
        if questions.is_empty() {
            let mut row = head;
            row.resize(width, Cell::Empty);
            rows.push(row);
            continue;
        }
        for question in questions {
            let m = &question.question;
            let mut row = head.clone();
            row.extend([
                Cell::count(m.position),
                Cell::text(&m.text),
                Cell::text(match QuestionKind::from_stored(&m.kind) {
                    QuestionKind::Likert => "Likert 1–5",
                    QuestionKind::Text => "Teks",
                }),
                Cell::opt_text(
                    m.dimension
                        .as_deref()
                        .and_then(Dimension::from_stored)
                        .map(dimension_label),
                ),
            ]);
            match &question.summary {
                AnswerSummary::Likert(d) => {
                    row.extend(likert_cells(d));
                    row.extend([Cell::Empty, Cell::Empty]);
                }
                AnswerSummary::Text { answers, texts } => {
                    row.push(Cell::count(*answers));
                    row.extend(std::iter::repeat_n(Cell::Empty, 6));
                    row.extend(match texts {
                        Some(texts) => [
                            Cell::opt_text(Some(texts.join("\n")).filter(|t| !t.is_empty())),
                            Cell::Empty,
                        ],
                        None => [
                            Cell::Empty,
                            Cell::text(format!(
                                "Teks ditampilkan mulai {minimum_responses} respons"
                            )),
                        ],
                    });
                }
            }
            rows.push(row);
        }
    }
    Section::new(
        Some(ReportSection::FollowUp),
        "Tindak lanjut",
        columns,
        Rows::Ready(rows),
    )
}

/// The course trend as a table: a row per cohort in time order, with what fell there.
pub fn trends_section(t: &CourseTrend) -> Section {
    let columns = vec![
        Column::new("Angkatan", ColumnKind::Text),
        Column::new("Mulai (WIB)", ColumnKind::DateTime),
        Column::new("Respons reaksi (n)", ColumnKind::Integer),
        Column::new("Rata-rata reaksi (1–5)", ColumnKind::Decimal),
        Column::new("Post-test", ColumnKind::Text),
        Column::new("Peserta berpasangan", ColumnKind::Integer),
        Column::new("Rata-rata pre-test (%)", ColumnKind::Decimal),
        Column::new("Rata-rata post-test (%)", ColumnKind::Decimal),
        Column::new("Gain kelas <g>", ColumnKind::Decimal),
        Column::new("Kategori <g>", ColumnKind::Text),
        Column::new("Reaksi turun", ColumnKind::Text),
        Column::new("<g> turun", ColumnKind::Text),
        Column::new("Keterangan", ColumnKind::Text),
    ];
    let rows = t
        .points
        .iter()
        .map(|p| {
            let hidden = p.reaction_mean.is_none()
                && p.reaction_responses > 0
                && p.reaction_responses < t.minimum_responses;
            vec![
                Cell::text(&p.cohort_name),
                p.starts_at.map_or(Cell::Empty, Cell::DateTime),
                Cell::count(p.reaction_responses),
                Cell::opt_number(p.reaction_mean),
                Cell::opt_text(t.post_test.as_ref().map(|q| q.title.as_str())),
                Cell::count(p.gain.paired),
                Cell::opt_number(p.gain.pre_mean),
                Cell::opt_number(p.gain.post_mean),
                Cell::opt_number(p.gain.class_gain),
                Cell::opt_text(
                    p.gain
                        .class_gain
                        .map(|g| gain_category_label(GainCategory::of(g))),
                ),
                yes_no(p.falling.contains(&TrendMeasure::Reaction)),
                yes_no(p.falling.contains(&TrendMeasure::ClassGain)),
                Cell::opt_text(hidden.then(|| {
                    format!(
                        "Rata-rata reaksi disembunyikan: kurang dari {} respons",
                        t.minimum_responses
                    )
                })),
            ]
        })
        .collect();
    Section::new(
        Some(ReportSection::Trends),
        "Tren angkatan",
        columns,
        Rows::Ready(rows),
    )
}

/// The page's trainer chart: the course's cohorts in time order, a line per trainer with
/// their mean where at least `minimum` responses answered about them; `None` without a cohort
/// or a trainer.
pub fn trainer_chart(
    trend: &CourseTrend,
    lines: &[CourseTrainerLine],
    minimum: i64,
) -> Option<TrendChart> {
    if trend.points.is_empty() || lines.is_empty() {
        return None;
    }
    let mut hidden = 0;
    let series = lines
        .iter()
        .map(|l| Series {
            name: l.name.clone(),
            values: trend
                .points
                .iter()
                .map(|p| {
                    let (n, mean) = l.cohorts.get(&p.cohort_id).copied().unwrap_or((0, None));
                    if mean.is_none() && n > 0 && n < minimum {
                        hidden += 1;
                    }
                    mean
                })
                .collect(),
        })
        .collect();
    let mut caption = format!(
        "Rata-rata jawaban tentang tiap narasumber per angkatan (skala 1–5), hanya dari \
         sedikitnya {minimum} respons."
    );
    if hidden > 0 {
        caption.push_str(&format!(" {hidden} titik disembunyikan."));
    }
    Some(TrendChart {
        x_labels: trend.points.iter().map(|p| p.cohort_name.clone()).collect(),
        series,
        axis: Axis {
            min: 1.0,
            max: 5.0,
            places: 1,
        },
        caption: Some(caption),
    })
}

#[derive(Debug, FromQueryResult)]
struct QuizTitle {
    id: Uuid,
    title: String,
}

/// Item analysis of every quiz of the course whose lesson is published, in course order, with
/// the lesson titles.
async fn item_analyses(
    conn: &DatabaseConnection,
    course_id: Uuid,
) -> Result<Vec<(String, ItemAnalysis)>, EvaluationError> {
    let backend = conn.get_database_backend();
    let titles = QuizTitle::find_by_statement(Statement::from_sql_and_values(
        backend,
        format!(
            "SELECT q.id AS id, l.title AS title FROM quizzes q \
             JOIN lessons l ON l.id = q.lesson_id \
             JOIN course_modules m ON m.id = l.module_id \
             WHERE q.course_id = {} AND l.published_at IS NOT NULL \
             ORDER BY m.position, l.position, q.id",
            ph(backend, 1)
        ),
        [course_id.into()],
    ))
    .all(conn)
    .await?;
    if titles.is_empty() {
        return Ok(Vec::new());
    }
    let quizzes: HashMap<Uuid, quiz_entity::Model> = quiz_entity::Entity::find()
        .filter(quiz_entity::Column::CourseId.eq(course_id))
        .all(conn)
        .await?
        .into_iter()
        .map(|q| (q.id, q))
        .collect();
    let mut out = Vec::with_capacity(titles.len());
    for t in titles {
        if let Some(q) = quizzes.get(&t.id) {
            out.push((t.title, items::analyse_quiz(conn, q).await?));
        }
    }
    Ok(out)
}

#[derive(Debug, FromQueryResult)]
struct ScorePair {
    quiz_id: Uuid,
    pre: f64,
    post: f64,
    n: i64,
}

/// Per post-test, the paired learners per distinct (pre-test, post-test) score: one GROUP BY.
async fn score_pairs(
    conn: &DatabaseConnection,
    course_id: Uuid,
    cohort_id: Option<Uuid>,
    audience: &Audience,
) -> Result<HashMap<Uuid, Vec<(f64, f64, u64)>>, EvaluationError> {
    let backend = conn.get_database_backend();
    let learning::Filter {
        joins,
        conditions,
        values,
    } = learning::filter(backend, course_id, cohort_id, audience);
    let sql = format!(
        "SELECT q.id AS quiz_id, pr.first_percent AS pre, po.final_percent AS post, \
         CAST(COUNT(*) AS BIGINT) AS n \
         FROM quizzes q \
         JOIN quiz_results po ON po.quiz_id = q.id \
         JOIN quiz_results pr ON pr.quiz_id = q.paired_quiz_id AND pr.person_id = po.person_id \
         {joins} WHERE {conditions} \
         GROUP BY q.id, pr.first_percent, po.final_percent"
    );
    let mut out: HashMap<Uuid, Vec<(f64, f64, u64)>> = HashMap::new();
    for r in ScorePair::find_by_statement(Statement::from_sql_and_values(backend, sql, values))
        .all(conn)
        .await?
    {
        out.entry(r.quiz_id)
            .or_default()
            .push((r.pre, r.post, u64::try_from(r.n).unwrap_or(0)));
    }
    Ok(out)
}

/// The Indonesian label of an enrollment state.
pub fn state_label(state: &str) -> &str {
    use enrollment::state;
    match state {
        state::PENDING => "Menunggu persetujuan",
        state::WAITLISTED => "Daftar tunggu",
        state::ACTIVE => "Aktif",
        state::COMPLETED => "Selesai",
        state::WITHDRAWN => "Mengundurkan diri",
        state::EXPIRED => "Kedaluwarsa",
        state::REJECTED => "Ditolak",
        other => other,
    }
}

/// The per-learner section ("Peserta"), read in keyset pages while the file is sent.
fn learners_section(
    db: DatabaseConnection,
    scope: &ExportScope,
    pairs: &[PrePostResult],
) -> Section {
    let mut columns = vec![
        Column::new("NIP", ColumnKind::Text),
        Column::new("Nama", ColumnKind::Text),
        Column::new("Unit kerja", ColumnKind::Text),
        Column::new("Angkatan", ColumnKind::Text),
        Column::new("Status", ColumnKind::Text),
        Column::new("Progres (%)", ColumnKind::Decimal),
        Column::new("Selesai pada (WIB)", ColumnKind::DateTime),
    ];
    let several = pairs.len() > 1;
    let named = |h: &str, p: &PrePostResult| {
        if several {
            format!("{h} – {}", p.post_test.title)
        } else {
            h.to_owned()
        }
    };
    if pairs.is_empty() {
        columns.extend([
            Column::new("Pre-test (%)", ColumnKind::Decimal),
            Column::new("Post-test (%)", ColumnKind::Decimal),
            Column::new("Gain individu (g)", ColumnKind::Decimal),
        ]);
    }
    for p in pairs {
        columns.extend([
            Column::new(named("Pre-test (%)", p), ColumnKind::Decimal),
            Column::new(named("Post-test (%)", p), ColumnKind::Decimal),
            Column::new(named("Gain individu (g)", p), ColumnKind::Decimal),
        ]);
    }
    columns.push(Column::new("Kode sertifikat", ColumnKind::Text));
    let pager = LearnerPages {
        db,
        course_id: scope.course.id,
        cohort_id: scope.cohort_id(),
        audience: scope.audience.clone(),
        pairs: pairs
            .iter()
            .map(|p| (p.pre_test.quiz_id, p.post_test.quiz_id))
            .collect(),
        after: None,
        done: false,
    };
    Section::new(
        Some(ReportSection::Learners),
        "Peserta",
        columns,
        Rows::Pages(Box::new(pager)),
    )
}

/// Keyset pages of a course's learners, by (name, enrollment id).
struct LearnerPages {
    db: DatabaseConnection,
    course_id: Uuid,
    cohort_id: Option<Uuid>,
    audience: Audience,
    /// (pre-test, post-test) quiz ids.
    pairs: Vec<(Uuid, Uuid)>,
    /// The last row sent: (name, enrollment id).
    after: Option<(String, Uuid)>,
    done: bool,
}

impl LearnerPages {
    fn statement(&self, backend: DbBackend) -> Statement {
        use enrollment::state::{ACTIVE, COMPLETED, EXPIRED, WITHDRAWN};
        let mut values: Vec<Value> = vec![
            self.course_id.into(),
            ACTIVE.into(),
            COMPLETED.into(),
            WITHDRAWN.into(),
            EXPIRED.into(),
        ];
        let p = |v: Value, values: &mut Vec<Value>| {
            values.push(v);
            ph(backend, values.len())
        };
        let mut select = String::from(
            "SELECT e.id AS enrollment_id, p.nip AS nip, p.name AS name, u.name AS unit_name, \
             c.name AS cohort_name, e.state AS state, e.progress_percent AS progress, \
             e.completed_at AS completed_at, cert.code AS certificate",
        );
        let mut joins = String::from(
            " FROM enrollments e JOIN people p ON p.id = e.person_id \
             JOIN cohorts c ON c.id = e.cohort_id",
        );
        joins.push_str(match self.audience {
            Audience::All => " LEFT JOIN units u ON u.id = p.unit_id",
            Audience::Subtree { .. } => " JOIN units u ON u.id = p.unit_id",
        });
        joins.push_str(" LEFT JOIN certificates cert ON cert.enrollment_id = e.id");
        for (i, (pre, post)) in self.pairs.iter().enumerate() {
            select.push_str(&format!(
                ", pr{i}.first_percent AS pre_{i}, po{i}.final_percent AS post_{i}"
            ));
            let pre_ph = p((*pre).into(), &mut values);
            let post_ph = p((*post).into(), &mut values);
            // The post-test result must belong to this enrollment; matching the person too
            // lets both joins use quiz_results' (quiz_id, person_id) key instead of a scan
            // per row (no index on enrollment_id: measured 25 s against 0.04 s a page).
            joins.push_str(&format!(
                " LEFT JOIN quiz_results pr{i} ON pr{i}.quiz_id = {pre_ph} AND pr{i}.person_id = e.person_id \
                 LEFT JOIN quiz_results po{i} ON po{i}.quiz_id = {post_ph} \
                 AND po{i}.person_id = e.person_id AND po{i}.enrollment_id = e.id"
            ));
        }
        let mut conditions = format!(
            " WHERE e.course_id = {} AND e.state IN ({}, {}, {}, {})",
            ph(backend, 1),
            ph(backend, 2),
            ph(backend, 3),
            ph(backend, 4),
            ph(backend, 5)
        );
        if let Some(c) = self.cohort_id {
            let x = p(c.into(), &mut values);
            conditions.push_str(&format!(" AND e.cohort_id = {x}"));
        }
        if let Audience::Subtree { path, .. } = &self.audience {
            // Unit paths are `/<uuid>/…/<uuid>/`: no LIKE wildcards inside.
            let x = p(format!("{path}%").into(), &mut values);
            conditions.push_str(&format!(" AND u.path LIKE {x}"));
        }
        if let Some((name, id)) = &self.after {
            let n1 = p(name.clone().into(), &mut values);
            let n2 = p(name.clone().into(), &mut values);
            let i = p((*id).into(), &mut values);
            conditions.push_str(&format!(
                " AND (p.name > {n1} OR (p.name = {n2} AND e.id > {i}))"
            ));
        }
        let sql = format!("{select}{joins}{conditions} ORDER BY p.name, e.id LIMIT {PAGE_ROWS}");
        Statement::from_sql_and_values(backend, sql, values)
    }
}

#[async_trait::async_trait]
impl RowPages for LearnerPages {
    async fn next_page(&mut self) -> Result<Vec<Row>, EvaluationError> {
        if self.done {
            return Ok(Vec::new());
        }
        let backend = self.db.get_database_backend();
        let results = self.db.query_all_raw(self.statement(backend)).await?;
        if results.len() < PAGE_ROWS {
            self.done = true;
        }
        let mut rows = Vec::with_capacity(results.len());
        for r in &results {
            let id: Uuid = r.try_get("", "enrollment_id")?;
            let name: String = r.try_get("", "name")?;
            let state: String = r.try_get("", "state")?;
            let mut row = vec![
                Cell::opt_text(r.try_get::<Option<String>>("", "nip")?),
                Cell::text(&name),
                Cell::opt_text(r.try_get::<Option<String>>("", "unit_name")?),
                Cell::text(r.try_get::<String>("", "cohort_name")?),
                Cell::text(state_label(&state)),
                Cell::Number(r.try_get::<f64>("", "progress")?),
                r.try_get::<Option<DateTime<Utc>>>("", "completed_at")?
                    .map_or(Cell::Empty, Cell::DateTime),
            ];
            if self.pairs.is_empty() {
                row.extend([Cell::Empty, Cell::Empty, Cell::Empty]);
            }
            for i in 0..self.pairs.len() {
                let pre: Option<f64> = r.try_get("", &format!("pre_{i}"))?;
                let post: Option<f64> = r.try_get("", &format!("post_{i}"))?;
                let gain = match (pre, post) {
                    (Some(a), Some(b)) => stats::hake_gain(a, b, MAX_PERCENT),
                    _ => None,
                };
                row.extend([
                    Cell::opt_number(pre),
                    Cell::opt_number(post),
                    Cell::opt_number(gain),
                ]);
            }
            row.push(Cell::opt_text(
                r.try_get::<Option<String>>("", "certificate")?
                    .map(|c| code::display(&c)),
            ));
            rows.push(row);
            self.after = Some((name, id));
        }
        Ok(rows)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::report::trends::{CohortGain, CohortPoint};
    use crate::survey::SurveyLevel;
    use crate::survey::respond::Trainer;
    use crate::survey::results::{SurveyResults, TrainerResult};

    #[test]
    fn scores_fall_in_ten_point_bins_with_100_in_the_last() {
        assert_eq!(score_bin(0.0), 0);
        assert_eq!(score_bin(9.99), 0);
        assert_eq!(score_bin(10.0), 1);
        // 70 computed as 7 * 10 of a float that is a hair below: still bin 7.
        assert_eq!(score_bin(69.999_999_999_9), 7);
        assert_eq!(score_bin(75.0), 7);
        assert_eq!(score_bin(100.0), 9);
        assert_eq!(score_bin(-5.0), 0);
    }

    #[test]
    fn distributions_count_learners_per_bin() {
        // Groups of (pre, post, learners): 25 -> 100 twice, 50 -> 75, 50 -> 25, 100 -> 100.
        // Pre: bin 2 (25) 2, bin 5 (50) 2, bin 9 (100) 1. Post: bin 2 (25) 1, bin 7 (75) 1,
        // bin 9 (100) 3.
        let (pre, post) = score_distributions(&[
            (25.0, 100.0, 2),
            (50.0, 75.0, 1),
            (50.0, 25.0, 1),
            (100.0, 100.0, 1),
        ]);
        assert_eq!(pre, [0, 0, 2, 0, 0, 2, 0, 0, 0, 1]);
        assert_eq!(post, [0, 0, 1, 0, 0, 0, 0, 1, 0, 3]);
    }

    #[test]
    fn the_learning_table_has_a_row_per_post_test() {
        let t = PrePostResult {
            pre_test: learning::QuizRef {
                quiz_id: Uuid::nil(),
                lesson_id: Uuid::nil(),
                title: "Pre".into(),
            },
            post_test: learning::QuizRef {
                quiz_id: Uuid::nil(),
                lesson_id: Uuid::nil(),
                title: "Post".into(),
            },
            paired: 5,
            pre_mean: Some(60.0),
            post_mean: Some(70.0),
            class_gain: Some(0.25),
            gains: stats::GainDistribution::default(),
            post_taken: 5,
            post_passed: 3,
        };
        let s = learning_section(&[t]);
        let Rows::Ready(rows) = &s.rows else {
            panic!("ready rows")
        };
        assert_eq!(rows.len(), 1);
        assert_eq!(rows[0].len(), s.columns.len());
        assert_eq!(s.columns[14].header, "g [0,0–0,1)");
        assert_eq!(s.columns[23].header, "g [0,9–1,0]");
        assert_eq!(rows[0][6], Cell::text("Rendah"));
        // 3 of 5 passed: 0.6.
        assert_eq!(rows[0].last(), Some(&Cell::Number(0.6)));
    }

    fn ready(s: &Section) -> &Vec<Row> {
        match &s.rows {
            Rows::Ready(rows) => rows,
            Rows::Pages(_) => panic!("ready rows"),
        }
    }

    #[track_caller]
    fn every_row_fills_the_columns(s: &Section) {
        for row in ready(s) {
            assert_eq!(row.len(), s.columns.len(), "{row:?}");
        }
    }

    fn figures(enrolled: i64, completed: i64, median: Option<f64>) -> CompletionFigures {
        CompletionFigures {
            enrolled,
            started: completed,
            completed,
            median_days: median,
            ..CompletionFigures::default()
        }
    }

    #[test]
    fn the_completion_table_has_the_total_then_a_row_per_unit() {
        let units = [
            UnitFigures {
                unit_id: Some(Uuid::from_u128(1)),
                unit_name: Some("Dinas Kesehatan".into()),
                figures: figures(4, 3, Some(2.5)),
            },
            UnitFigures {
                unit_id: None,
                unit_name: None,
                figures: figures(0, 0, None),
            },
        ];
        let s = completion_section(&figures(4, 3, Some(2.5)), &units);
        every_row_fills_the_columns(&s);
        let rows = ready(&s);
        assert_eq!(rows.len(), 3);
        assert_eq!(rows[0][..2], [Cell::text("Total"), Cell::Empty]);
        assert_eq!(rows[1][1], Cell::text("Dinas Kesehatan"));
        // 3 of 4: 0.75; nobody enrolled: no rate, no median (empty, not 0).
        assert_eq!(rows[1][5], Cell::Number(0.75));
        assert_eq!(rows[1][6], Cell::Number(2.5));
        assert_eq!(rows[2][1], Cell::text("Tanpa unit kerja"));
        assert_eq!(rows[2][5..7], [Cell::Empty, Cell::Empty]);
        let bars = completion_bars(&units);
        assert_eq!(bars[0].value, Some(0.75));
        assert_eq!(bars[0].note.as_deref(), Some("n = 4"));
        assert_eq!(bars[1].label, "Tanpa unit kerja");
        assert_eq!(bars[1].value, None);
    }

    fn reaction_report(trainers: Vec<TrainerResult>) -> ReactionReport {
        ReactionReport {
            course_id: Uuid::nil(),
            cohort_id: None,
            unit_id: None,
            completed: 8,
            results: SurveyResults {
                course_id: Uuid::nil(),
                level: SurveyLevel::Reaction,
                cohort_id: None,
                responses: 6,
                minimum_responses: 5,
                dimensions: vec![
                    DimensionResult {
                        dimension: Dimension::Material,
                        distribution: Distribution([0, 0, 1, 2, 3]),
                    },
                    DimensionResult {
                        dimension: Dimension::Usefulness,
                        distribution: Distribution([0; 5]),
                    },
                ],
                questions: Vec::new(),
                texts: Vec::new(),
                comments: None,
                trainers,
            },
        }
    }

    #[test]
    fn the_reaction_table_hides_a_trainer_below_the_minimum() {
        let trainer = |n: u128, responses: i64, dims: Option<Vec<DimensionResult>>| TrainerResult {
            trainer: Trainer {
                id: Uuid::from_u128(n),
                name: format!("Narasumber {n}"),
            },
            responses,
            dimensions: dims,
            questions: None,
            comments: None,
        };
        let shown = vec![DimensionResult {
            dimension: Dimension::Trainer,
            distribution: Distribution([0, 0, 0, 4, 1]),
        }];
        let r = reaction_report(vec![trainer(1, 5, Some(shown)), trainer(2, 4, None)]);
        let s = reaction_section(&r);
        every_row_fills_the_columns(&s);
        let rows = ready(&s);
        // Course-wide: all, Materi, Manfaat; trainer 1: all, Narasumber; trainer 2: one row.
        assert_eq!(rows.len(), 6);
        // Materi and Manfaat together: [0,0,1,2,3], (3 + 8 + 15) / 6 = 26/6.
        assert_eq!(rows[0][2], Cell::text("Semua dimensi"));
        assert_eq!(rows[0][3..5], [Cell::Integer(6), Cell::Integer(6)]);
        assert_eq!(rows[0][5], Cell::Number(26.0 / 6.0));
        // 6 responses of 8 completed.
        assert_eq!(rows[0][11..13], [Cell::Integer(8), Cell::Number(0.75)]);
        // A dimension without answers: no mean.
        assert_eq!(rows[2][2], Cell::text("Manfaat"));
        assert_eq!(rows[2][5], Cell::Empty);
        // Trainer 1: (4*4 + 5) / 5 = 4.2.
        assert_eq!(rows[4][1], Cell::text("Narasumber 1"));
        assert_eq!(rows[4][2], Cell::text("Narasumber"));
        assert_eq!(rows[4][5], Cell::Number(4.2));
        assert_eq!(rows[4][11], Cell::Empty);
        // Trainer 2: their n, nothing else.
        assert_eq!(rows[5][3], Cell::Integer(4));
        assert!(rows[5][4..13].iter().all(|c| *c == Cell::Empty));
        assert_eq!(
            rows[5][13],
            Cell::text("Disembunyikan: kurang dari 5 respons")
        );
        let bars = reaction_bars(&r);
        assert_eq!(bars.len(), 2);
        assert_eq!(bars[0].label, "Materi");
        assert_eq!(bars[0].note.as_deref(), Some("n = 6 jawaban"));
        assert_eq!(bars[1].value, None);
    }

    fn question(position: i32, kind: QuestionKind) -> crate::entity::survey_question::Model {
        crate::entity::survey_question::Model {
            id: Uuid::from_u128(position as u128),
            template_id: Uuid::nil(),
            position,
            kind: kind.as_str().into(),
            dimension: Some(Dimension::Usefulness.as_str().into()),
            per_trainer: false,
            required: false,
            text: format!("Pertanyaan {position}"),
        }
    }

    #[test]
    fn the_follow_up_table_has_a_row_per_question_and_side() {
        use crate::report::follow_up::{QuestionSummary, RequestCounts};
        let learner = FollowUpSide {
            requests: RequestCounts {
                sent: 4,
                answered: 3,
                open: 1,
                closed: 0,
            },
            responses: 3,
            minimum_responses: 5,
            questions: vec![
                QuestionSummary {
                    question: question(1, QuestionKind::Likert),
                    summary: AnswerSummary::Likert(Distribution([0, 0, 1, 1, 1])),
                },
                QuestionSummary {
                    question: question(2, QuestionKind::Text),
                    summary: AnswerSummary::Text {
                        answers: 3,
                        texts: None,
                    },
                },
            ],
        };
        let supervisor = FollowUpSide {
            requests: RequestCounts {
                sent: 2,
                answered: 0,
                open: 2,
                closed: 0,
            },
            responses: 0,
            minimum_responses: 5,
            questions: Vec::new(),
        };
        let r = FollowUpReport {
            course_id: Uuid::nil(),
            cohort_id: None,
            unit_id: None,
            learner,
            supervisor,
        };
        let s = follow_up_section(&r);
        every_row_fills_the_columns(&s);
        let rows = ready(&s);
        assert_eq!(rows.len(), 3);
        // 3 of 4 answered: 0.75; question 1: (3 + 4 + 5) / 3 = 4.
        assert_eq!(rows[0][5], Cell::Number(0.75));
        assert_eq!(rows[0][9], Cell::text("Likert 1–5"));
        assert_eq!(rows[0][10], Cell::text("Manfaat"));
        assert_eq!(rows[0][12], Cell::Number(4.0));
        // Texts below 5 responses: the count and why there are no texts.
        assert_eq!(rows[1][11], Cell::Integer(3));
        assert_eq!(rows[1][18], Cell::Empty);
        assert_eq!(rows[1][19], Cell::text("Teks ditampilkan mulai 5 respons"));
        // The supervisors: their requests only; 0 of 2 answered is a rate of 0.
        assert_eq!(rows[2][0], Cell::text("Atasan"));
        assert_eq!(rows[2][5], Cell::Number(0.0));
        assert!(rows[2][7..].iter().all(|c| *c == Cell::Empty));
    }

    fn point(
        n: u128,
        responses: i64,
        mean: Option<f64>,
        falling: Vec<TrendMeasure>,
    ) -> CohortPoint {
        CohortPoint {
            cohort_id: Uuid::from_u128(n),
            cohort_name: format!("Angkatan {n}"),
            starts_at: None,
            reaction_responses: responses,
            reaction_mean: mean,
            gain: CohortGain::default(),
            falling,
        }
    }

    #[test]
    fn the_trend_table_says_what_fell_and_what_is_hidden() {
        let t = CourseTrend {
            course_id: Uuid::nil(),
            unit_id: Some(Uuid::nil()),
            post_test: None,
            minimum_responses: 5,
            points: vec![
                point(1, 6, Some(4.5), Vec::new()),
                point(2, 5, Some(3.9), vec![TrendMeasure::Reaction]),
                point(3, 2, None, Vec::new()),
            ],
        };
        let s = trends_section(&t);
        every_row_fills_the_columns(&s);
        let rows = ready(&s);
        assert_eq!(rows[0][10], Cell::text("Tidak"));
        assert_eq!(rows[1][10], Cell::text("Ya"));
        assert_eq!(rows[1][11], Cell::text("Tidak"));
        assert_eq!(rows[1][12], Cell::Empty);
        assert_eq!(rows[2][3], Cell::Empty);
        assert_eq!(
            rows[2][12],
            Cell::text("Rata-rata reaksi disembunyikan: kurang dari 5 respons")
        );

        // The chart: trainer 1 in cohorts 1 (6 responses) and 3 (2, hidden); trainer 2 in
        // none.
        let lines = vec![
            CourseTrainerLine {
                person_id: Uuid::from_u128(7),
                name: "Budi".into(),
                cohorts: HashMap::from([
                    (Uuid::from_u128(1), (6, Some(4.25))),
                    (Uuid::from_u128(3), (2, None)),
                ]),
            },
            CourseTrainerLine {
                person_id: Uuid::from_u128(8),
                name: "Sari".into(),
                cohorts: HashMap::new(),
            },
        ];
        let c = trainer_chart(&t, &lines, 5).unwrap();
        assert_eq!(c.x_labels, ["Angkatan 1", "Angkatan 2", "Angkatan 3"]);
        assert_eq!(c.series[0].values, [Some(4.25), None, None]);
        assert_eq!(c.series[1].values, [None, None, None]);
        assert!(c.caption.unwrap().ends_with(" 1 titik disembunyikan."));
        assert_eq!(trainer_chart(&t, &[], 5), None);
    }
}
