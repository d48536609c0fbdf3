//! The sections of a course's export, and the data of its printable page: **the one place where
//! a report is wired into the exports**.
//!
//! Wiring a report takes a few lines in [`build`]: compute it when the export wants it
//! (`b.wants(ReportSection::X)` for its sheet or CSV file, `b.html()` for the page), push a
//! [`Section`] made from it, and fill its field of [`PrintableReport`] for the charts. A new CSV
//! section also needs its [`ReportSection`] variant and link name (in `mod.rs`). The reports
//! wired now: the cover sheet, the learning report ([`crate::report::learning`]), item analysis
//! ([`crate::report::items`]) and the per-learner table, which is read in keyset pages.
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
//! SQL: the learning report's (at most 3), for item analysis the course's quizzes (1) and 2
//! per quiz, for the page the paired score distribution (1 GROUP BY), and for the learners one
//! statement per page of 1,000 (the join of enrollments, people, units, cohorts, certificates
//! and two results per pair, on indexed keys).

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

use super::html::{LearningChart, PrintableReport, QuizQuality};
use super::{
    Cell, Column, ColumnKind, PAGE_ROWS, ReportFormat, ReportSection, Row, RowPages, Rows, Section,
};
use crate::Evaluation;
use crate::certificate::code;
use crate::error::EvaluationError;
use crate::report::items::{self, ItemAnalysis};
use crate::report::learning::{self, Audience, MAX_PERCENT, PrePostResult};
use crate::report::ph;
use crate::report::stats::{self, EPSILON, GAIN_BINS, GainCategory, ItemFlag, ReliabilityMethod};

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

    // Reports still to wire (reaction, follow-up, trends): see the module documentation.
    // For example, the completion report (`report::completion`), a sheet and the first chart:
    //   if b.wants(ReportSection::Completion) || b.html() {
    //       let (total, units) = completion::completion(
    //           db, scope.course.id, scope.cohort_id(), &scope.audience, scope.generated_at,
    //       ).await?;
    //       if b.wants(ReportSection::Completion) {
    //           b.sections.push(completion_section(&total, &units));
    //       }
    //       b.page.completion_by_unit = Some(units.iter().map(|u| {
    //           Bar::new(u.unit_name.as_deref().unwrap_or("Tanpa unit"), u.figures.completion_rate())
    //               .with_note(format!("n = {}", u.figures.enrolled))
    //       }).collect());
    //   }

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

#[derive(Debug, FromQueryResult)]
struct QuizTitle {
    id: Uuid,
    title: String,
}

/// Item analysis of every quiz of the course, in course order, with the lesson titles.
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
             WHERE q.course_id = {} ORDER BY m.position, l.position, q.id",
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

/// The joins and conditions that restrict post-test results `po` of quizzes `q` to the course's
/// paired post-tests, the cohort and the audience (the learning report's rule).
fn result_filter(
    backend: DbBackend,
    course_id: Uuid,
    cohort_id: Option<Uuid>,
    audience: &Audience,
) -> (String, String, Vec<Value>) {
    let mut values: Vec<Value> = vec![
        course_id.into(),
        quiz::quiz::QuizKind::PostTest.as_str().into(),
    ];
    let mut joins = String::new();
    let mut conditions = format!(
        "q.course_id = {} AND q.kind = {} AND q.paired_quiz_id IS NOT NULL",
        ph(backend, 1),
        ph(backend, 2)
    );
    if let Some(c) = cohort_id {
        values.push(c.into());
        joins.push_str(" JOIN enrollments e ON e.id = po.enrollment_id");
        conditions.push_str(&format!(" AND e.cohort_id = {}", ph(backend, values.len())));
    }
    if let Audience::Subtree { path, .. } = audience {
        values.push(format!("{path}%").into());
        joins.push_str(" JOIN people pe ON pe.id = po.person_id JOIN units u ON u.id = pe.unit_id");
        conditions.push_str(&format!(" AND u.path LIKE {}", ph(backend, values.len())));
    }
    (joins, conditions, values)
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
    let (joins, conditions, values) = result_filter(backend, course_id, cohort_id, audience);
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
            joins.push_str(&format!(
                " LEFT JOIN quiz_results pr{i} ON pr{i}.quiz_id = {pre_ph} AND pr{i}.person_id = e.person_id \
                 LEFT JOIN quiz_results po{i} ON po{i}.quiz_id = {post_ph} AND po{i}.enrollment_id = e.id"
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
mod tests {
    use super::*;

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
}
