//! The data the reports are measured on: a course as a trainer and an admin make it (GraphQL),
//! then everything its learners would have left behind months later, written straight into the
//! tables (sea-orm entities, `INSERT`s of [`CHUNK`] rows, one transaction per [`BATCH`]
//! learners): people in a unit tree, enrollments in four cohorts, progress events and the lesson
//! progress they add up to, pre-test and post-test attempts with every answer graded, quiz
//! results, JP, certificates, reaction surveys and follow-ups.
//!
//! Decisions:
//! - **Rows look like the app's own.** Lesson progress is the progress crate's pure rules
//!   ([`LessonState`], [`completion_time`], [`columns_of`]) applied to the generated events;
//!   answers and item scores are the post-test suite's questions and keys
//!   ([`crate::post_test::setup::Question::plan`]), so stored answers parse and scores are what
//!   grading gives; percents, passes, results (`HIGHEST`), enrollment percents, next lessons,
//!   completion times (the last required lesson's), JP years (WIB), follow-up reminders (every
//!   7 days, closed after the third) follow the rules of the crates that write them.
//! - **Paths, not independent coin flips.** A learner's story must hold together (a post-test
//!   opens once the videos are watched; a course completes on a passed post-test), so each
//!   learner follows one [`Path`]; 20 learners in a row hold 3 `Retook`, 11 `Passed`, 3
//!   `Failed`, 2 `Watching`, 1 `Withdrew` (shuffled): 70% completed, and 40 attempts, so the
//!   issue's 2 attempts (20 answers) per learner on average.
//! - **Deterministic.** Every value comes from a SplitMix64 stream seeded with [`SEED`] and the
//!   learner's index (ids are UUID v7, as the app makes them, so they differ between runs). The
//!   `rand` crate is not a dependency of the bench.
//! - **Variety where reports look.** Questions differ in difficulty (facilities spread from
//!   about 0.3 to 0.9), cohort III is given less of the possible gain and lower reaction
//!   answers (the course trend marks it falling), the two trainers are rated differently, 25%
//!   of people also have JP from classroom training (compliance is not all-or-nothing), a
//!   second, smaller course shares the people (the completion matrix has two columns).
//! - **Planner statistics as in production.** On PostgreSQL the setup ends with `ANALYZE`:
//!   autovacuum would have analyzed the tables after a million new rows (the local test server
//!   runs with autovacuum off, which would leave the planner guessing one row per table).
//!   SQLite gets none: the app never runs `ANALYZE` there.
//! - **What is left out**: the notification outbox rows of follow-up requests (no report reads
//!   them), and the progress events of the second course (its lesson progress is written; the
//!   million events are the main course's).

use std::collections::HashMap;

use anyhow::Context as _;
use chrono::{DateTime, Duration, NaiveDate, Utc};
use course::structure::LessonKind;
use enrollment::entity::enrollment as enrollment_e;
use evaluation::entity::{
    certificate, follow_up_request, supervisor, survey_answer, survey_response,
};
use evaluation::survey::follow_up::{
    AUDIENCE_LEARNER, AUDIENCE_SUPERVISOR, STATE_ANSWERED, STATE_CLOSED, STATE_OPEN,
};
use identity::entity::person;
use progress::completion::columns_of;
use progress::entity::{jp_ledger, lesson_progress, progress_event};
use progress::rules::{Effect, LessonRule, LessonState, completion_time};
use quiz::entity::{attempt_item, question_version, quiz_attempt, quiz_result};
use quiz::grading::round4;
use quiz::question::{Layout, QuestionBody};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseTransaction, DbBackend, EntityTrait,
    QueryFilter, Set,
};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::app::App;
use crate::post_test::setup::{
    CONFIGURE, Question, SET_QUESTIONS, Verdict, bank, done_lesson_row as quiz_lesson_row,
};
use crate::progress::http::gql;
use crate::progress::setup::{
    CREATE_COHORT, CREATE_LESSON, LESSONS, VIDEO_SECONDS, admin, draft, id_of, person_row, publish,
    token_in,
};

/// The seed of every generated value.
pub const SEED: u64 = 0x4C4D_535F_5250_5431;
/// Rows per INSERT (well under both databases' bind-parameter limits).
const CHUNK: usize = 500;
/// Learners written per transaction.
const BATCH: usize = 500;
/// Progress events per learner: [`PLAYED`] segments, each followed by a position report.
pub const EVENTS_PER_LEARNER: usize = 2 * PLAYED;
/// Played segments per learner.
const PLAYED: usize = 50;
/// Length of a played segment, seconds: 16 of them make a video, 48 the three.
const SEGMENT_SECONDS: f64 = 37.5;
/// Questions of the pre-test and of the post-test (the same form).
pub const QUESTIONS: usize = 10;
/// The cohorts (angkatan), each a learning window of 90 days: (name, days ago it started,
/// how much of the possible gain its learners make, shift of its reaction answers).
const COHORTS: [(&str, i64, f64, f64); 4] = [
    ("Angkatan I", 240, 0.62, 0.0),
    ("Angkatan II", 180, 0.66, 0.1),
    // A weaker run: less learned, less liked (the trends mark it as falling).
    ("Angkatan III", 120, 0.2, -0.7),
    ("Angkatan IV", 60, 0.60, 0.0),
];
/// Days of each cohort's learning window.
const WINDOW_DAYS: i64 = 90;
/// The offices (dinas) under the city, each with [`PER_DINAS`] units.
const DINAS: [(&str, &str); 8] = [
    ("DINKES", "Dinas Kesehatan"),
    ("DINDIKBUD", "Dinas Pendidikan dan Kebudayaan"),
    ("DPUPR", "Dinas Pekerjaan Umum dan Penataan Ruang"),
    ("DINSOS", "Dinas Sosial"),
    ("DISHUB", "Dinas Perhubungan"),
    ("DISDUKCAPIL", "Dinas Kependudukan dan Pencatatan Sipil"),
    ("DLH", "Dinas Lingkungan Hidup"),
    ("DISKOMINFO", "Dinas Komunikasi dan Informatika"),
];
/// Units under each office.
const PER_DINAS: usize = 5;
/// The districts (kecamatan) of Tangerang Selatan, which name the units.
const KECAMATAN: [&str; 7] = [
    "Serpong",
    "Serpong Utara",
    "Ciputat",
    "Ciputat Timur",
    "Pamulang",
    "Pondok Aren",
    "Setu",
];
const POSITIONS: [&str; 6] = [
    "Perawat Ahli Pertama",
    "Bidan Terampil",
    "Analis Kebijakan Ahli Muda",
    "Pranata Komputer Ahli Pertama",
    "Pengadministrasi Perkantoran",
    "Analis Sumber Daya Manusia Aparatur",
];
const GRADES: [&str; 7] = ["II/c", "II/d", "III/a", "III/b", "III/c", "III/d", "IV/a"];
const COMMENTS: [&str; 6] = [
    "Materi sangat relevan dengan pekerjaan di puskesmas.",
    "Video kadang tersendat di jaringan seluler.",
    "Contoh kasusnya membantu, mohon ditambah.",
    "Narasumber menjelaskan dengan jelas.",
    "Durasi video sebaiknya lebih pendek.",
    "Sudah saya terapkan saat menangani kasus gawat darurat.",
];
/// JP of the main course and of the second one.
const MAIN_JP: i32 = 10;
const SECOND_JP: i32 = 10;
/// Days after completion when follow-ups are asked (set as a trainer would).
const FOLLOW_UP_DAYS: i64 = 60;
/// The app's reminder interval and reminders before closing (evaluation defaults).
const REMINDER_DAYS: i64 = 7;
const MAX_REMINDERS: i64 = 3;
/// The post-test's pass mark and the pre-test's (the input's default).
const POST_PASSING: f64 = 60.0;
const PRE_PASSING: f64 = 70.0;
/// Minutes of each quiz attempt's time limit.
const TIME_LIMIT_MINUTES: i64 = 30;

const CREATE_UNIT: &str = "mutation($i: CreateUnitInput!) { createUnit(input: $i) { id } }";
const ADD_OWNER: &str =
    "mutation($c: ID!, $p: ID!) { addCourseOwner(courseId: $c, personId: $p) { id } }";
const REORDER: &str =
    "mutation($m: ID!, $ids: [ID!]!) { reorderLessons(moduleId: $m, lessonIds: $ids) { id } }";
const SURVEY_SETTINGS: &str = "mutation($c: ID!, $i: UpdateCourseSurveySettingsInput!) { updateCourseSurveySettings(courseId: $c, input: $i) { courseId } }";
const TEMPLATES: &str = "query($c: ID!) { courseSurveySettings(courseId: $c) { reactionTemplate { ...t } followUpLearnerTemplate { ...t } followUpSupervisorTemplate { ...t } } } fragment t on SurveyTemplate { id questions { id kind dimension perTrainer required } }";

/// A small, seedable generator (SplitMix64): deterministic values without the `rand` crate.
pub struct Rng(u64);

impl Rng {
    /// Stream `stream` of [`SEED`]: each learner has their own, so a learner's values do not
    /// depend on how the others were generated.
    pub fn new(stream: u64) -> Rng {
        Rng(SEED ^ stream.wrapping_mul(0xD134_2543_DE82_EF95))
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `[0, 1)`.
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// Uniform in `[a, b)`.
    pub fn between(&mut self, a: f64, b: f64) -> f64 {
        a + (b - a) * self.unit()
    }

    /// Uniform in `0..n` (`n > 0`).
    pub fn below(&mut self, n: usize) -> usize {
        ((self.unit() * n as f64) as usize).min(n.saturating_sub(1))
    }

    /// Fisher–Yates.
    pub fn shuffle<T>(&mut self, v: &mut [T]) {
        for i in (1..v.len()).rev() {
            v.swap(i, self.below(i + 1));
        }
    }

    /// A Likert answer around `mean`: a rounded bell (sum of three uniforms) clamped to 1..5.
    fn likert(&mut self, mean: f64) -> i32 {
        let bell = (self.unit() + self.unit() + self.unit() - 1.5) * 1.6;
        (mean + bell).round().clamp(1.0, 5.0) as i32
    }
}

/// `t` plus `seconds` (to the millisecond).
fn after(t: DateTime<Utc>, seconds: f64) -> DateTime<Utc> {
    t + Duration::milliseconds((seconds * 1000.0) as i64)
}

const HOUR: f64 = 3600.0;
const DAY: f64 = 86_400.0;

/// Learner `i`'s NIP: valid (a birth date, an appointment month 20–27 years later, sex and
/// serial) and unique, and never one of the roster suite's: those are born on days 1–28, these
/// on the 29th or 30th (of a month that has one).
pub fn nip(i: usize) -> String {
    const MONTHS: [u32; 11] = [1, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12];
    let serial = i % 1000;
    let rest = i / 1000;
    let month = MONTHS[rest % MONTHS.len()];
    let day = 29 + (rest / MONTHS.len()) % 2;
    let year = 1966 + rest / (2 * MONTHS.len());
    let appointed = year + 20 + i % 8;
    let appointed_month = 1 + (i / 8) % 12;
    let sex = 1 + (i / 3) % 2;
    format!("{year}{month:02}{day:02}{appointed}{appointed_month:02}{sex}{serial:03}")
}

/// Certificate `i`'s verification code: `i` spread by a multiplier and written in the
/// certificate alphabet; distinct for distinct `i` (the product stays below 31^10).
pub fn certificate_code(i: usize) -> String {
    let alphabet = evaluation::certificate::code::ALPHABET;
    let base = alphabet.len() as u64;
    let mut x = (i as u64).wrapping_mul(2_654_435_761).wrapping_add(97_531);
    (0..evaluation::certificate::code::LEN)
        .map(|_| {
            let c = alphabet[(x % base) as usize];
            x /= base;
            char::from(c)
        })
        .collect()
}

/// How a learner's course went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Path {
    /// Failed the post-test, passed the retake: completed, three attempts.
    Retook,
    /// Passed the post-test at once: completed, two attempts.
    Passed,
    /// Watched everything and failed the post-test, a retake left: active, two attempts.
    Failed,
    /// Took the pre-test and watched part of the videos: active, one attempt.
    Watching,
    /// Took the pre-test, watched a little and withdrew: one attempt.
    Withdrew,
}

/// Paths of 20 learners in a row (before shuffling).
const MIX: [(Path, usize); 5] = [
    (Path::Retook, 3),
    (Path::Passed, 11),
    (Path::Failed, 3),
    (Path::Watching, 2),
    (Path::Withdrew, 1),
];

/// Every learner's path: [`MIX`] repeated, shuffled.
pub fn paths(learners: usize) -> Vec<Path> {
    let cycle: Vec<Path> = MIX
        .iter()
        .flat_map(|(p, n)| std::iter::repeat_n(*p, *n))
        .collect();
    let mut out: Vec<Path> = (0..learners).map(|i| cycle[i % cycle.len()]).collect();
    Rng::new(u64::MAX).shuffle(&mut out);
    out
}

/// The played segments of someone who watched the first `watched` seconds of the videos, in
/// the order played: (video, from, to). Forward through the videos; the segments left of
/// [`PLAYED`] replay earlier ones (a learner going back), each after the one it replays.
pub fn segments(watched: f64, r: &mut Rng) -> Vec<(usize, f64, f64)> {
    let mut out = Vec::with_capacity(PLAYED);
    let mut g = 0.0;
    while g < watched && out.len() < PLAYED {
        let video = (g / VIDEO_SECONDS) as usize;
        let base = video as f64 * VIDEO_SECONDS;
        out.push((video, g - base, (g + SEGMENT_SECONDS).min(watched) - base));
        g += SEGMENT_SECONDS;
    }
    while !out.is_empty() && out.len() < PLAYED {
        let at = 1 + r.below(out.len());
        let again = out[r.below(at)];
        out.insert(at, again);
    }
    out
}

/// A quiz of the course.
struct QuizInfo {
    id: Uuid,
    passing: f64,
}

/// A question of both tests, with its stored version.
struct Item {
    question: Question,
    version_id: Uuid,
    body: QuestionBody,
    /// Added to a learner's ability on this question: some are easy, some hard.
    ease: f64,
}

struct CohortInfo {
    id: Uuid,
    starts: DateTime<Utc>,
    due: DateTime<Utc>,
    gain: f64,
    reaction: f64,
}

struct TemplateQuestion {
    id: Uuid,
    likert: bool,
    per_trainer: bool,
    required: bool,
}

struct Template {
    id: Uuid,
    questions: Vec<TemplateQuestion>,
}

/// The second course: enrollments in one cohort, lesson progress and JP.
struct SecondCourse {
    id: Uuid,
    cohort: Uuid,
    lessons: Vec<Uuid>,
    title: String,
    starts: DateTime<Utc>,
}

/// Everything a learner's rows refer to.
struct Ctx {
    now: DateTime<Utc>,
    admin_id: Uuid,
    course_id: Uuid,
    course_code: String,
    course_title: String,
    /// Required lessons in course order: pre-test, the videos, post-test.
    order: Vec<Uuid>,
    pre: QuizInfo,
    post: QuizInfo,
    items: Vec<Item>,
    max_score: f64,
    cohorts: Vec<CohortInfo>,
    /// The units people work in, and the head (supervisor) of each.
    leaves: Vec<Uuid>,
    heads: Vec<Uuid>,
    /// The course's trainers (owners) and the mean of the answers about each.
    trainers: Vec<(Uuid, f64)>,
    reaction: Template,
    follow_learner: Template,
    follow_supervisor: Template,
    second: SecondCourse,
}

/// What the suite measures on: ids and tokens.
pub struct ReportData {
    /// The course with 10,000 learners.
    pub course_id: Uuid,
    /// The small course beside it (the matrix's second column).
    pub second_course_id: Uuid,
    /// The main course's cohorts, oldest first.
    pub cohorts: Vec<Uuid>,
    /// The post-test.
    pub post_quiz: Uuid,
    /// The course's first trainer.
    pub trainer_id: Uuid,
    /// The city: the root of the unit tree.
    pub root_unit: Uuid,
    /// The admin's token.
    pub admin_token: String,
    /// A unit admin of [`ReportData::dinas_unit`].
    pub unit_admin_token: String,
    /// Rows written.
    pub counts: Counts,
}

/// Rows written by the setup, per table.
#[derive(Debug, Default, Clone, Copy)]
pub struct Counts {
    /// People of the main course.
    pub learners: u64,
    /// Enrollments of both courses.
    pub enrollments: u64,
    /// Main course: completed, active (and of those past their due date), withdrawn.
    pub completed: u64,
    pub active: u64,
    pub overdue: u64,
    pub withdrawn: u64,
    /// `progress_events`, `lesson_progress` (both courses).
    pub events: u64,
    pub lesson_progress: u64,
    /// `quiz_attempts`, `attempt_items`, `quiz_results`.
    pub attempts: u64,
    pub items: u64,
    pub results: u64,
    /// `jp_ledger` (course credits of both courses and classroom JP), `certificates`.
    pub jp_rows: u64,
    pub certificates: u64,
    /// Reaction responses; follow-up requests (both audiences) and those answered.
    pub reaction_responses: u64,
    pub follow_up_requests: u64,
    pub follow_up_responses: u64,
    /// `survey_answers` of every response.
    pub survey_answers: u64,
}

/// One transaction's rows, per table.
#[derive(Default)]
struct Batch {
    people: Vec<person::ActiveModel>,
    supervisors: Vec<supervisor::ActiveModel>,
    enrollments: Vec<enrollment_e::ActiveModel>,
    progress: Vec<lesson_progress::ActiveModel>,
    events: Vec<progress_event::ActiveModel>,
    attempts: Vec<quiz_attempt::ActiveModel>,
    items: Vec<attempt_item::ActiveModel>,
    results: Vec<quiz_result::ActiveModel>,
    jp: Vec<jp_ledger::ActiveModel>,
    certificates: Vec<certificate::ActiveModel>,
    responses: Vec<survey_response::ActiveModel>,
    answers: Vec<survey_answer::ActiveModel>,
    requests: Vec<follow_up_request::ActiveModel>,
}

/// Inserts `rows` in statements of [`CHUNK`] rows; returns how many.
async fn insert<A>(txn: &DatabaseTransaction, rows: Vec<A>, what: &str) -> anyhow::Result<u64>
where
    A: ActiveModelTrait,
{
    let n = rows.len() as u64;
    let mut rows = rows.into_iter();
    loop {
        let chunk: Vec<A> = rows.by_ref().take(CHUNK).collect();
        if chunk.is_empty() {
            return Ok(n);
        }
        A::Entity::insert_many(chunk)
            .exec_without_returning(txn)
            .await
            .with_context(|| format!("cannot insert {what}"))?;
    }
}

impl Batch {
    /// Writes the batch in one transaction, parents before children; adds to `counts`.
    async fn write(self, app: &App, counts: &mut Counts) -> anyhow::Result<()> {
        let txn = kernel::db::begin_write(&app.state().db).await?;
        counts.learners += insert(&txn, self.people, "people").await?;
        insert(&txn, self.supervisors, "supervisors").await?;
        insert(&txn, self.enrollments, "enrollments").await?;
        counts.lesson_progress += insert(&txn, self.progress, "lesson progress").await?;
        counts.events += insert(&txn, self.events, "progress events").await?;
        counts.attempts += insert(&txn, self.attempts, "attempts").await?;
        counts.items += insert(&txn, self.items, "attempt items").await?;
        counts.results += insert(&txn, self.results, "quiz results").await?;
        counts.jp_rows += insert(&txn, self.jp, "JP").await?;
        counts.certificates += insert(&txn, self.certificates, "certificates").await?;
        insert(&txn, self.responses, "survey responses").await?;
        counts.survey_answers += insert(&txn, self.answers, "survey answers").await?;
        insert(&txn, self.requests, "follow-up requests").await?;
        txn.commit().await?;
        Ok(())
    }
}

/// Makes the course, the units and `learners` learners with their whole history; returns what
/// the measurements need.
///
/// # Errors
/// When a mutation or an insert fails.
pub async fn run(app: &App, learners: usize) -> anyhow::Result<ReportData> {
    let now = Utc::now();
    let (admin_id, admin_token) = admin(app).await?;
    let (root_unit, dinas, leaves) = units(app, &admin_token).await?;
    // The heads of the units (the learners' supervisors) and a unit admin of the first office.
    let heads: Vec<Uuid> = leaves.iter().map(|_| kernel::new_id()).collect();
    let unit_admin = kernel::new_id();
    let mut staff: Vec<person::ActiveModel> = heads
        .iter()
        .zip(&leaves)
        .enumerate()
        .map(|(n, (id, unit))| {
            let mut p = person_row(*id, n, "kepala", "learner");
            p.unit_id = Set(Some(*unit));
            p.nip = Set(Some(nip(learners + n)));
            p.position = Set(Some("Kepala Unit".into()));
            p.grade = Set(Some("IV/a".into()));
            p.employment_type = Set(Some("PNS".into()));
            p
        })
        .collect();
    let mut ua = person_row(unit_admin, 0, "admin-unit", "learner,unit_admin");
    ua.unit_id = Set(Some(dinas[0]));
    ua.employment_type = Set(Some("PNS".into()));
    ua.nip = Set(Some(nip(learners + heads.len())));
    staff.push(ua);
    let txn = kernel::db::begin_write(&app.state().db).await?;
    insert(&txn, staff, "unit heads").await?;
    txn.commit().await?;
    let unit_admin_token = token_in(app, unit_admin, "learner,unit_admin", Some(dinas[0]))?;

    let cx = course(app, now, admin_id, &admin_token, leaves, heads).await?;
    let mut counts = Counts::default();
    let paths = paths(learners);
    for start in (0..learners).step_by(BATCH) {
        let mut b = Batch::default();
        for (i, path) in paths.iter().enumerate().skip(start).take(BATCH) {
            learner(&cx, i, *path, &mut b, &mut counts);
        }
        b.write(app, &mut counts).await?;
    }
    if app.state().db.get_database_backend() == DbBackend::Postgres {
        app.state()
            .db
            .execute_unprepared("ANALYZE")
            .await
            .context("ANALYZE failed")?;
    }
    Ok(ReportData {
        course_id: cx.course_id,
        second_course_id: cx.second.id,
        cohorts: cx.cohorts.iter().map(|c| c.id).collect(),
        post_quiz: cx.post.id,
        trainer_id: cx.trainers[0].0,
        root_unit,
        admin_token,
        unit_admin_token,
        counts,
    })
}

/// The unit tree, through `createUnit` as the admin: the city, its offices, their units.
/// Returns (root, offices, units).
async fn units(app: &App, admin: &str) -> anyhow::Result<(Uuid, Vec<Uuid>, Vec<Uuid>)> {
    let addr = app.server.addr;
    let create = |code: String, name: String, parent: Option<Uuid>| async move {
        id_of(
            &gql(
                addr,
                admin,
                CREATE_UNIT,
                json!({"i": {"code": code, "name": name, "parentId": parent}}),
            )
            .await?["createUnit"]["id"],
        )
    };
    let root = create(
        "PEMKOT-TANGSEL".into(),
        "Pemerintah Kota Tangerang Selatan".into(),
        None,
    )
    .await?;
    let mut offices = Vec::with_capacity(DINAS.len());
    let mut leaves = Vec::with_capacity(DINAS.len() * PER_DINAS);
    for (d, (code, name)) in DINAS.iter().enumerate() {
        let office = create((*code).into(), (*name).into(), Some(root)).await?;
        offices.push(office);
        for k in 0..PER_DINAS {
            let kecamatan = KECAMATAN[(d + k) % KECAMATAN.len()];
            let leaf_name = if d == 0 {
                format!("Puskesmas {kecamatan}")
            } else {
                format!("UPTD {code} Kecamatan {kecamatan}")
            };
            leaves.push(create(format!("{code}-{}", k + 1), leaf_name, Some(office)).await?);
        }
    }
    Ok((root, offices, leaves))
}

fn template(v: &Value) -> anyhow::Result<Template> {
    Ok(Template {
        id: id_of(&v["id"])?,
        questions: v["questions"]
            .as_array()
            .context("a template without questions")?
            .iter()
            .map(|q| {
                Ok(TemplateQuestion {
                    id: id_of(&q["id"])?,
                    likert: q["kind"] == "LIKERT",
                    per_trainer: q["perTrainer"] == true,
                    required: q["required"] == true,
                })
            })
            .collect::<anyhow::Result<_>>()?,
    })
}

/// The main course through GraphQL, as its trainer writes it and the admin approves it: the
/// pre-test, three videos and the post-test in one module, a second trainer, the survey
/// settings, four cohorts; and the small second course with one cohort.
async fn course(
    app: &App,
    now: DateTime<Utc>,
    admin_id: Uuid,
    admin_token: &str,
    leaves: Vec<Uuid>,
    heads: Vec<Uuid>,
) -> anyhow::Result<Ctx> {
    let addr = app.server.addr;
    let db = &app.state().db;
    let d = draft(
        app,
        "pengajar-laporan",
        "Manajemen Risiko Kegawatdaruratan di Puskesmas",
        MAIN_JP,
    )
    .await?;
    let co_trainer = kernel::new_id();
    person::Entity::insert(person_row(
        co_trainer,
        1,
        "pengajar-laporan",
        "learner,trainer",
    ))
    .exec_without_returning(db)
    .await
    .context("cannot insert the second trainer")?;
    gql(
        addr,
        admin_token,
        ADD_OWNER,
        json!({"c": d.id, "p": co_trainer}),
    )
    .await?;
    let quiz_lesson = |title: &'static str| {
        let (trainer, module) = (d.trainer.clone(), d.module);
        async move {
            id_of(
                &gql(
                    addr,
                    &trainer,
                    CREATE_LESSON,
                    json!({"m": module, "i": {"title": title, "kind": "QUIZ", "required": true}}),
                )
                .await?["createLesson"]["id"],
            )
        }
    };
    let pre_lesson = quiz_lesson("Pre-test").await?;
    let post_lesson = quiz_lesson("Post-test").await?;
    let mut order = vec![pre_lesson];
    order.extend(&d.lessons);
    order.push(post_lesson);
    gql(
        addr,
        &d.trainer,
        REORDER,
        json!({"m": d.module, "ids": order}),
    )
    .await?;
    let questions = bank(
        addr,
        &d.trainer,
        d.id,
        "Bank soal pre-test/post-test",
        QUESTIONS,
    )
    .await?;
    let ids: Vec<Uuid> = questions.iter().map(|q| q.id).collect();
    let configure = |lesson: Uuid, settings: Value| {
        let (trainer, ids) = (d.trainer.clone(), ids.clone());
        async move {
            let quiz = id_of(
                &gql(
                    addr,
                    &trainer,
                    CONFIGURE,
                    json!({"l": lesson, "s": settings}),
                )
                .await?["configureQuiz"]["id"],
            )?;
            gql(
                addr,
                &trainer,
                SET_QUESTIONS,
                json!({"q": quiz, "ids": ids}),
            )
            .await?;
            anyhow::Ok(quiz)
        }
    };
    let pre = configure(
        pre_lesson,
        json!({"kind": "PRE_TEST", "gatesMaterial": true, "timeLimitMinutes": TIME_LIMIT_MINUTES,
               "maxAttempts": 1, "passingPercent": PRE_PASSING, "reviewPolicy": "SCORE_ONLY",
               "shuffleQuestions": true, "shuffleOptions": true}),
    )
    .await?;
    let post = configure(
        post_lesson,
        json!({"kind": "POST_TEST", "pairedQuizId": pre, "timeLimitMinutes": TIME_LIMIT_MINUTES,
               "maxAttempts": 2, "gradingMethod": "HIGHEST", "passingPercent": POST_PASSING,
               "reviewPolicy": "AFTER_CLOSE", "shuffleQuestions": true, "shuffleOptions": true}),
    )
    .await?;
    gql(
        addr,
        &d.trainer,
        SURVEY_SETTINGS,
        json!({"c": d.id, "i": {"followUpEnabled": true, "followUpDays": FOLLOW_UP_DAYS,
                                 "reactionRequiredForCertificate": false}}),
    )
    .await?;
    publish(app, &d).await?;

    let mut cohorts = Vec::with_capacity(COHORTS.len());
    for (name, ago, gain, reaction) in COHORTS {
        let starts = now - Duration::days(ago);
        let due = starts + Duration::days(WINDOW_DAYS);
        let id = id_of(
            &gql(
                addr,
                admin_token,
                CREATE_COHORT,
                json!({"c": d.id, "i": {"name": name, "startsAt": starts, "dueAt": due,
                                         "selfEnrollment": "APPROVAL"}}),
            )
            .await?["createCohort"]["id"],
        )?;
        cohorts.push(CohortInfo {
            id,
            starts,
            due,
            gain,
            reaction,
        });
    }
    let settings = gql(addr, &d.trainer, TEMPLATES, json!({"c": d.id})).await?;
    let s = &settings["courseSurveySettings"];

    let versions: HashMap<Uuid, question_version::Model> = question_version::Entity::find()
        .filter(question_version::Column::QuestionId.is_in(ids.clone()))
        .all(db)
        .await?
        .into_iter()
        .map(|v| (v.question_id, v))
        .collect();
    let mut r = Rng::new(u64::MAX - 1);
    let items = questions
        .into_iter()
        .map(|question| {
            let v = versions
                .get(&question.id)
                .context("a question without its version")?;
            Ok(Item {
                version_id: v.id,
                body: QuestionBody::from_stored(&v.body).map_err(|e| anyhow::anyhow!("{e}"))?,
                question,
                ease: r.between(-0.35, 0.3),
            })
        })
        .collect::<anyhow::Result<Vec<Item>>>()?;
    let max_score = round4(items.iter().map(|i| i.question.points).sum());
    let row = course::entity::course::Entity::find_by_id(d.id)
        .one(db)
        .await?
        .context("the course is missing")?;

    // The second course: the same trainer tag would clash, so its own trainer.
    let second = draft(
        app,
        "pengajar-pendamping",
        "Pelayanan Publik Digital",
        SECOND_JP,
    )
    .await?;
    publish(app, &second).await?;
    let second_starts = now - Duration::days(100);
    let second_cohort = id_of(
        &gql(
            addr,
            admin_token,
            CREATE_COHORT,
            json!({"c": second.id, "i": {"name": "Angkatan I", "startsAt": second_starts,
                                          "dueAt": second_starts + Duration::days(WINDOW_DAYS)}}),
        )
        .await?["createCohort"]["id"],
    )?;
    Ok(Ctx {
        now,
        admin_id,
        course_id: d.id,
        course_code: row.code,
        course_title: row.title,
        order,
        pre: QuizInfo {
            id: pre,
            passing: PRE_PASSING,
        },
        post: QuizInfo {
            id: post,
            passing: POST_PASSING,
        },
        items,
        max_score,
        cohorts,
        leaves,
        heads,
        trainers: vec![(d.trainer_id, 4.2), (co_trainer, 3.5)],
        reaction: template(&s["reactionTemplate"])?,
        follow_learner: template(&s["followUpLearnerTemplate"])?,
        follow_supervisor: template(&s["followUpSupervisorTemplate"])?,
        second: SecondCourse {
            id: second.id,
            cohort: second_cohort,
            lessons: second.lessons,
            title: "Pelayanan Publik Digital".into(),
            starts: second_starts,
        },
    })
}

/// The rule of the course's videos (as created: threshold 0.9, material of
/// [`VIDEO_SECONDS`]).
fn video_rule() -> LessonRule {
    LessonRule {
        kind: LessonKind::Video,
        threshold: 0.9,
        duration_seconds: Some(VIDEO_SECONDS),
        page_count: None,
    }
}

/// A video's event: when it happened, its order among the video's events, its effect, when the
/// server received it.
type VideoEvent = (DateTime<Utc>, usize, Effect, DateTime<Utc>);

/// A video's lesson-progress row from its events (time, order, effect, received): the state
/// the rules merge them into, and the completion time they give.
fn video_row(
    enrollment: Uuid,
    person: Uuid,
    lesson: Uuid,
    events: &[VideoEvent],
) -> (lesson_progress::ActiveModel, Option<DateTime<Utc>>) {
    let rule = video_rule();
    let mut state = LessonState::default();
    for (at, _, effect, _) in events {
        state.apply(*effect, *at);
    }
    let timed: Vec<(DateTime<Utc>, usize, Effect)> =
        events.iter().map(|(at, k, e, _)| (*at, *k, *e)).collect();
    let completed = completion_time(&rule, &timed);
    let (intervals, pages) = columns_of(&state);
    let updated = events.iter().map(|e| e.3).max().unwrap_or_default();
    let row = lesson_progress::ActiveModel {
        id: Set(kernel::new_id()),
        enrollment_id: Set(enrollment),
        lesson_id: Set(lesson),
        person_id: Set(person),
        watched_intervals: Set(intervals),
        watched_seconds: Set(state.watched_seconds(rule.duration_seconds)),
        pages_viewed: Set(pages),
        opened: Set(state.opened),
        position_seconds: Set(state.position.map(|p| p.1)),
        position_at: Set(state.position.map(|p| p.0)),
        completed_at: Set(completed),
        last_event_at: Set(events.iter().map(|e| e.0).max()),
        updated_at: Set(updated),
    };
    (row, completed)
}

/// The order an attempt shows a question's parts in: options shuffled; a matching question's
/// items shuffled and its choices never all beside their items.
fn layout(body: &QuestionBody, r: &mut Rng) -> Layout {
    match body {
        QuestionBody::SingleChoice { options } | QuestionBody::MultipleChoice { options, .. } => {
            let mut choices: Vec<Uuid> = options.iter().map(|o| o.id).collect();
            r.shuffle(&mut choices);
            Layout {
                choices,
                lefts: Vec::new(),
            }
        }
        QuestionBody::Matching { pairs } => {
            let mut order: Vec<usize> = (0..pairs.len()).collect();
            r.shuffle(&mut order);
            let lefts: Vec<Uuid> = order.iter().map(|k| pairs[*k].left_id).collect();
            // The answers in the items' order, turned by 1..n-1 places: none beside its item.
            let mut choices: Vec<Uuid> = order.iter().map(|k| pairs[*k].right_id).collect();
            choices.rotate_left(1 + r.below(pairs.len().saturating_sub(1).max(1)));
            Layout { choices, lefts }
        }
        _ => Layout::default(),
    }
}

/// A graded attempt, as the rows were written.
struct Graded {
    percent: f64,
    passed: bool,
    ended: DateTime<Utc>,
}

/// The people an attempt belongs to.
struct Taker {
    person: Uuid,
    enrollment: Uuid,
}

impl Ctx {
    /// Writes one graded attempt of `quiz` started at `start` and submitted at `end`, answered
    /// with `ability` (the chance of a right answer, moved per question by its ease). With
    /// `must_pass`, the answers are drawn again, the ability moved toward the wanted outcome,
    /// until the score gives it (a story that says "passed" must pass).
    #[allow(clippy::too_many_arguments)]
    fn attempt(
        &self,
        b: &mut Batch,
        r: &mut Rng,
        quiz: &QuizInfo,
        who: &Taker,
        number: i32,
        start: DateTime<Utc>,
        end: DateTime<Utc>,
        ability: f64,
        must_pass: Option<bool>,
    ) -> Graded {
        let mut ability = ability;
        let (answers, total) = loop {
            let answers: Vec<Option<Verdict>> = self
                .items
                .iter()
                .map(|item| {
                    let a = (ability + item.ease).clamp(0.02, 0.98);
                    // One answer in a hundred is never given (the time ran out on it).
                    if r.unit() < 0.01 {
                        return None;
                    }
                    let u = r.unit();
                    Some(if u < a {
                        Verdict::Right
                    } else if u < a + (1.0 - a) * 0.35 {
                        Verdict::Partial
                    } else {
                        Verdict::Wrong
                    })
                })
                .collect();
            let total = round4(
                self.items
                    .iter()
                    .zip(&answers)
                    .map(|(item, v)| v.map_or(0.0, |v| item.question.plan(v).score))
                    .sum(),
            );
            let passed = round4(100.0 * total / self.max_score) + 1e-9 >= quiz.passing;
            match must_pass {
                Some(want) if want != passed => {
                    ability = if want {
                        ability + (1.0 - ability) * 0.3
                    } else {
                        ability * 0.7
                    };
                }
                _ => break (answers, total),
            }
        };
        let percent = round4(100.0 * total / self.max_score);
        let passed = percent + 1e-9 >= quiz.passing;
        let attempt_id = kernel::new_id();
        let mut shown: Vec<usize> = (0..self.items.len()).collect();
        r.shuffle(&mut shown);
        let step = (end - start).num_milliseconds() as f64 / 1000.0 / (shown.len() + 1) as f64;
        for (position, k) in shown.iter().enumerate() {
            let item = &self.items[*k];
            let planned = answers[*k].map(|v| item.question.plan(v));
            let answered = after(start, step * (position + 1) as f64);
            b.items.push(attempt_item::ActiveModel {
                id: Set(kernel::new_id()),
                attempt_id: Set(attempt_id),
                position: Set(position as i32),
                question_id: Set(item.question.id),
                question_version_id: Set(item.version_id),
                layout: Set(layout(&item.body, r).to_stored()),
                answer: Set(planned.as_ref().map(|p| p.stored.to_stored())),
                answer_seq: Set(planned.as_ref().map(|_| position as i64 + 1)),
                answered_at: Set(planned.as_ref().map(|_| answered)),
                saved_at: Set(planned
                    .as_ref()
                    .map(|_| after(answered, r.between(0.2, 3.0)))),
                score: Set(Some(planned.map_or(0.0, |p| p.score))),
                max_score: Set(item.question.points),
            });
        }
        b.attempts.push(quiz_attempt::ActiveModel {
            id: Set(attempt_id),
            quiz_id: Set(quiz.id),
            person_id: Set(who.person),
            enrollment_id: Set(who.enrollment),
            number: Set(number),
            state: Set(quiz::attempt::state::GRADED.into()),
            started_at: Set(start),
            deadline_at: Set(Some(start + Duration::minutes(TIME_LIMIT_MINUTES))),
            submitted_at: Set(Some(end)),
            closed_by: Set(Some(quiz::attempt::closed_by::LEARNER.into())),
            score: Set(Some(total)),
            max_score: Set(self.max_score),
            percent: Set(Some(percent)),
            passed: Set(Some(passed)),
            created_at: Set(start),
            updated_at: Set(end),
        });
        Graded {
            percent,
            passed,
            ended: end,
        }
    }

    /// The quiz result of `attempts` (oldest first), graded HIGHEST.
    fn result(&self, b: &mut Batch, quiz: &QuizInfo, who: &Taker, attempts: &[Graded]) {
        let (Some(first), Some(last)) = (attempts.first(), attempts.last()) else {
            return;
        };
        let best = attempts.iter().map(|a| a.percent).fold(0.0, f64::max);
        let passed = best + 1e-9 >= quiz.passing;
        b.results.push(quiz_result::ActiveModel {
            quiz_id: Set(quiz.id),
            person_id: Set(who.person),
            enrollment_id: Set(who.enrollment),
            attempts: Set(attempts.len() as i32),
            first_percent: Set(first.percent),
            final_percent: Set(best),
            passed: Set(passed),
            first_passed_at: Set(attempts
                .iter()
                .filter(|a| a.passed)
                .map(|a| a.ended)
                .min()
                .filter(|_| passed)),
            updated_at: Set(last.ended),
        });
    }

    /// A survey response about `enrollment` with answers to every question of `template`
    /// (optional texts now and then, per-trainer questions once per trainer).
    #[allow(clippy::too_many_arguments)]
    fn response(
        &self,
        b: &mut Batch,
        r: &mut Rng,
        level: evaluation::survey::SurveyLevel,
        template: &Template,
        cohort: Uuid,
        enrollment: Uuid,
        respondent: Uuid,
        at: DateTime<Utc>,
        mean: f64,
    ) -> Uuid {
        let id = kernel::new_id();
        b.responses.push(survey_response::ActiveModel {
            id: Set(id),
            level: Set(level.as_str().into()),
            template_id: Set(template.id),
            course_id: Set(self.course_id),
            cohort_id: Set(cohort),
            enrollment_id: Set(enrollment),
            respondent_id: Set(respondent),
            submitted_at: Set(at),
        });
        for q in &template.questions {
            let about: Vec<(Option<Uuid>, f64)> = if q.per_trainer {
                self.trainers
                    .iter()
                    .map(|(t, m)| (Some(*t), m + (mean - 4.0)))
                    .collect()
            } else {
                vec![(None, mean)]
            };
            for (trainer, m) in about {
                let (likert, text) = if q.likert {
                    (Some(r.likert(m)), None)
                } else if q.required || r.unit() < 0.3 {
                    (None, Some(COMMENTS[r.below(COMMENTS.len())].to_owned()))
                } else {
                    continue;
                };
                b.answers.push(survey_answer::ActiveModel {
                    id: Set(kernel::new_id()),
                    response_id: Set(id),
                    question_id: Set(q.id),
                    trainer_id: Set(trainer),
                    likert: Set(likert),
                    answer_text: Set(text),
                });
            }
        }
        id
    }

    /// The follow-up request to `asked` about a completion at `completed`, as the sweep
    /// creates it on its due day, then answered (with a response), still open or closed after
    /// the third reminder, depending on `answers` (the chance of an answer) and on today.
    #[allow(clippy::too_many_arguments)]
    fn follow_up(
        &self,
        b: &mut Batch,
        r: &mut Rng,
        counts: &mut Counts,
        audience: &str,
        learner: Uuid,
        asked: Uuid,
        cohort: Uuid,
        enrollment: Uuid,
        completed: DateTime<Utc>,
        answers: f64,
    ) {
        let due = completed + Duration::days(FOLLOW_UP_DAYS);
        let created = after(due, r.between(0.0, HOUR));
        if created >= self.now {
            return;
        }
        let week = Duration::days(REMINDER_DAYS);
        let reminders_by = |t: DateTime<Utc>| {
            ((t - created).num_seconds() / week.num_seconds()).min(MAX_REMINDERS)
        };
        let answered = (r.unit() < answers)
            .then(|| after(created, r.between(0.5 * DAY, 20.0 * DAY)))
            .filter(|t| *t < self.now);
        let mut row = follow_up_request::ActiveModel {
            id: Set(kernel::new_id()),
            enrollment_id: Set(enrollment),
            course_id: Set(self.course_id),
            learner_id: Set(learner),
            audience: Set(audience.into()),
            person_id: Set(asked),
            state: Set(STATE_OPEN.into()),
            due_at: Set(due),
            created_at: Set(created),
            reminder_count: Set(0),
            reminded_at: Set(None),
            next_reminder_at: Set(None),
            answered_at: Set(None),
            response_id: Set(None),
            closed_at: Set(None),
            closed_by: Set(None),
            close_reason: Set(None),
        };
        let reminded = |n: i64| (n > 0).then(|| created + week * n as i32);
        if let Some(at) = answered {
            let (level, template, mean) = if audience == AUDIENCE_LEARNER {
                (
                    evaluation::survey::SurveyLevel::FollowUpLearner,
                    &self.follow_learner,
                    3.9,
                )
            } else {
                (
                    evaluation::survey::SurveyLevel::FollowUpSupervisor,
                    &self.follow_supervisor,
                    3.6,
                )
            };
            let response =
                self.response(b, r, level, template, cohort, enrollment, asked, at, mean);
            counts.follow_up_responses += 1;
            let n = reminders_by(at);
            row.state = Set(STATE_ANSWERED.into());
            row.reminder_count = Set(n as i32);
            row.reminded_at = Set(reminded(n));
            row.answered_at = Set(Some(at));
            row.response_id = Set(Some(response));
        } else if self.now >= created + week * (MAX_REMINDERS as i32 + 1) {
            row.state = Set(STATE_CLOSED.into());
            row.reminder_count = Set(MAX_REMINDERS as i32);
            row.reminded_at = Set(reminded(MAX_REMINDERS));
            row.closed_at = Set(Some(created + week * (MAX_REMINDERS as i32 + 1)));
            row.close_reason = Set(Some("no_response".into()));
        } else {
            let n = reminders_by(self.now);
            row.reminder_count = Set(n as i32);
            row.reminded_at = Set(reminded(n));
            row.next_reminder_at = Set(Some(created + week * (n as i32 + 1)));
        }
        counts.follow_up_requests += 1;
        b.requests.push(row);
    }
}

/// Everything of learner `i`, who followed `path`.
fn learner(cx: &Ctx, i: usize, path: Path, b: &mut Batch, counts: &mut Counts) {
    let mut r = Rng::new(i as u64);
    let now = cx.now;
    let latest = after(now, -2.0 * HOUR);
    let person_id = kernel::new_id();
    let enrollment_id = kernel::new_id();
    let who = Taker {
        person: person_id,
        enrollment: enrollment_id,
    };
    let leaf = r.below(cx.leaves.len());
    let k = r.below(cx.cohorts.len());
    let cohort = &cx.cohorts[k];

    let mut p = person_row(person_id, i, "laporan", "learner");
    p.unit_id = Set(Some(cx.leaves[leaf]));
    p.nip = Set(Some(nip(i)));
    p.position = Set(Some(POSITIONS[r.below(POSITIONS.len())].into()));
    p.grade = Set(Some(GRADES[r.below(GRADES.len())].into()));
    let pppk = r.unit() < 0.15;
    p.employment_type = Set(Some(if pppk { "PPPK" } else { "PNS" }.into()));
    let name = p.name.try_as_ref().cloned().unwrap_or_default();
    b.people.push(p);
    b.supervisors.push(supervisor::ActiveModel {
        person_id: Set(person_id),
        supervisor_id: Set(cx.heads[leaf]),
        set_by: Set(Some(cx.admin_id)),
        set_at: Set(now - Duration::days(300)),
    });

    // The timeline: seat, pre-test, videos, post-test(s).
    let activated = after(cohort.starts, r.between(0.0, 3.0 * DAY));
    let self_enrolled = r.unit() < 0.25;
    let requested = if self_enrolled {
        after(activated, -r.between(HOUR, 10.0 * DAY))
    } else {
        activated
    };
    let pre_start = after(activated, r.between(0.5 * HOUR, 48.0 * HOUR));
    let pre_end = after(pre_start, r.between(8.0 * 60.0, 25.0 * 60.0));
    let finish = after(activated, r.between(6.0 * DAY, 85.0 * DAY)).min(latest);
    let ability = r.between(0.15, 0.6);
    let learned = (ability + cohort.gain * r.between(0.3, 1.4) * (1.0 - ability)).clamp(0.05, 0.97);

    let mut activity = vec![pre_end];
    let mut done: HashMap<Uuid, DateTime<Utc>> = HashMap::new();
    let pre = cx.attempt(
        b, &mut r, &cx.pre, &who, 1, pre_start, pre_end, ability, None,
    );
    cx.result(b, &cx.pre, &who, std::slice::from_ref(&pre));
    b.progress.push(quiz_lesson_row(
        enrollment_id,
        person_id,
        cx.order[0],
        pre_end,
    ));
    done.insert(cx.order[0], pre_end);

    // Post-test attempts (end times) and whether each must pass.
    let posts: Vec<(DateTime<Utc>, bool)> = match path {
        Path::Passed => vec![(finish, true)],
        Path::Retook => {
            let gap = r.between(
                DAY,
                (6.0 * DAY).min((finish - pre_end).num_seconds() as f64 / 3.0),
            );
            vec![(after(finish, -gap), false), (finish, true)]
        }
        Path::Failed => vec![(finish, false)],
        Path::Watching | Path::Withdrew => Vec::new(),
    };
    let duration = |r: &mut Rng| r.between(10.0 * 60.0, 28.0 * 60.0);
    let first_post_start = posts.first().map(|(end, _)| after(*end, -28.0 * 60.0));
    let watched = match path {
        Path::Passed | Path::Retook | Path::Failed => LESSONS as f64 * VIDEO_SECONDS,
        Path::Watching => r.between(0.15, 0.85) * LESSONS as f64 * VIDEO_SECONDS,
        Path::Withdrew => r.between(0.05, 0.5) * LESSONS as f64 * VIDEO_SECONDS,
    };
    let v_start = after(pre_end, HOUR);
    let v_end = match first_post_start {
        Some(s) => after(s, -r.between(HOUR, 12.0 * HOUR)),
        None => finish,
    };

    // The progress events, 50 segments and 50 positions, spread over the viewing days.
    let played = segments(watched, &mut r);
    let span = (v_end - v_start).num_milliseconds() as f64 / 1000.0;
    let mut per_video: Vec<Vec<VideoEvent>> = vec![Vec::new(); LESSONS];
    for (n, (video, from, to)) in played.iter().enumerate() {
        let at = after(
            v_start,
            span * (n as f64 + 0.5 * r.unit()) / played.len() as f64,
        );
        let stopped = after(at, r.between(5.0, 60.0));
        for (when, effect) in [
            (
                at,
                Effect::Played {
                    from: *from,
                    to: *to,
                },
            ),
            (stopped, Effect::Position(*to)),
        ] {
            let received = after(when, r.between(1.0, 120.0));
            let (kind, from_s, to_s, position) = match effect {
                Effect::Played { from, to } => ("played", Some(from), Some(to), None),
                _ => ("position", None, None, Some(*to)),
            };
            b.events.push(progress_event::ActiveModel {
                id: Set(kernel::new_id()),
                client_event_id: Set(Uuid::new_v4()),
                person_id: Set(person_id),
                enrollment_id: Set(enrollment_id),
                lesson_id: Set(cx.order[1 + video]),
                kind: Set(kind.into()),
                from_seconds: Set(from_s),
                to_seconds: Set(to_s),
                position_seconds: Set(position),
                page: Set(None),
                occurred_at: Set(when),
                received_at: Set(received),
            });
            let order = per_video[*video].len();
            per_video[*video].push((when, order, effect, received));
            activity.push(when);
        }
    }
    for (video, events) in per_video.iter().enumerate() {
        if events.is_empty() {
            continue;
        }
        let lesson = cx.order[1 + video];
        let (row, completed) = video_row(enrollment_id, person_id, lesson, events);
        b.progress.push(row);
        if let Some(at) = completed {
            done.insert(lesson, at);
        }
    }

    let mut graded = Vec::with_capacity(posts.len());
    for (n, (end, pass)) in posts.iter().enumerate() {
        let start = after(*end, -duration(&mut r));
        graded.push(cx.attempt(
            b,
            &mut r,
            &cx.post,
            &who,
            n as i32 + 1,
            start,
            *end,
            learned,
            Some(*pass),
        ));
    }
    cx.result(b, &cx.post, &who, &graded);
    let post_lesson = cx.order[cx.order.len() - 1];
    let completed = graded.iter().find(|g| g.passed).map(|g| g.ended);
    if let Some(at) = completed {
        b.progress
            .push(quiz_lesson_row(enrollment_id, person_id, post_lesson, at));
        done.insert(post_lesson, at);
        activity.push(at);
    }

    let last_activity = activity.iter().copied().max();
    let required_done = cx.order.iter().filter(|l| done.contains_key(l)).count();
    let percent = ((required_done as f64 / cx.order.len() as f64) * 1000.0).round() / 10.0;
    let all_done = required_done == cx.order.len();
    let completed_at = all_done
        .then(|| cx.order.iter().filter_map(|l| done.get(l)).max().copied())
        .flatten();
    let ended = (path == Path::Withdrew).then(|| {
        last_activity
            .map_or(activated, |t| after(t, r.between(DAY, 14.0 * DAY)))
            .min(latest)
    });
    let state = match (completed_at, path) {
        (Some(_), _) => enrollment::state::COMPLETED,
        (None, Path::Withdrew) => enrollment::state::WITHDRAWN,
        (None, _) => enrollment::state::ACTIVE,
    };
    match state {
        enrollment::state::COMPLETED => counts.completed += 1,
        enrollment::state::WITHDRAWN => counts.withdrawn += 1,
        _ => {
            counts.active += 1;
            if cohort.due < now {
                counts.overdue += 1;
            }
        }
    }
    counts.enrollments += 1;
    let updated = [last_activity, ended, completed_at]
        .into_iter()
        .flatten()
        .max()
        .unwrap_or(activated);
    b.enrollments.push(enrollment_e::ActiveModel {
        id: Set(enrollment_id),
        cohort_id: Set(cohort.id),
        course_id: Set(cx.course_id),
        person_id: Set(person_id),
        state: Set(state.into()),
        source: Set(if self_enrolled { "self" } else { "assigned" }.into()),
        rule_id: Set(None),
        requested_at: Set(requested),
        activated_at: Set(Some(activated)),
        completed_at: Set(completed_at),
        ended_at: Set(ended),
        due_at: Set(Some(cohort.due)),
        progress_percent: Set(percent),
        required_done: Set(required_done as i32),
        required_total: Set(cx.order.len() as i32),
        next_lesson_id: Set(cx.order.iter().copied().find(|l| !done.contains_key(l))),
        last_activity_at: Set(last_activity),
        created_at: Set(requested),
        updated_at: Set(updated),
    });

    if let Some(at) = completed_at {
        b.jp.push(jp_ledger::ActiveModel {
            id: Set(kernel::new_id()),
            person_id: Set(person_id),
            year: Set(kernel::time::wib_year(at)),
            course_id: Set(Some(cx.course_id)),
            enrollment_id: Set(Some(enrollment_id)),
            jp: Set(MAIN_JP),
            source: Set(progress::jp::SOURCE_COURSE.into()),
            description: Set(cx.course_title.clone()),
            earned_at: Set(at),
            recorded_by: Set(None),
            created_at: Set(at),
        });
        b.certificates.push(certificate::ActiveModel {
            id: Set(kernel::new_id()),
            code: Set(certificate_code(i)),
            enrollment_id: Set(enrollment_id),
            person_id: Set(person_id),
            course_id: Set(cx.course_id),
            holder_name: Set(name),
            holder_nip: Set(Some(nip(i))),
            course_code: Set(cx.course_code.clone()),
            course_title: Set(cx.course_title.clone()),
            jp: Set(MAIN_JP),
            completed_at: Set(at),
            // The sweep issues due certificates hourly.
            issued_at: Set(after(at, r.between(60.0, HOUR)).min(now)),
        });
        if r.unit() < 0.85 {
            let submitted = after(at, r.between(600.0, 5.0 * DAY)).min(after(now, -60.0));
            let mean = 3.9 + cohort.reaction + (learned - ability) * 0.8;
            cx.response(
                b,
                &mut r,
                evaluation::survey::SurveyLevel::Reaction,
                &cx.reaction,
                cohort.id,
                enrollment_id,
                person_id,
                submitted,
                mean,
            );
            counts.reaction_responses += 1;
        }
        cx.follow_up(
            b,
            &mut r,
            counts,
            AUDIENCE_LEARNER,
            person_id,
            person_id,
            cohort.id,
            enrollment_id,
            at,
            0.6,
        );
        cx.follow_up(
            b,
            &mut r,
            counts,
            AUDIENCE_SUPERVISOR,
            person_id,
            cx.heads[leaf],
            cohort.id,
            enrollment_id,
            at,
            0.45,
        );
    }

    // JP from classroom training, recorded by the admin, for a quarter of the people.
    if r.unit() < 0.25 {
        // This JP year's: between its second day and ten days ago.
        let earned = after(now, -r.between(10.0 * DAY, 300.0 * DAY))
            .max(year_start(now) + Duration::days(1));
        b.jp.push(jp_ledger::ActiveModel {
            id: Set(kernel::new_id()),
            person_id: Set(person_id),
            year: Set(kernel::time::wib_year(earned)),
            course_id: Set(None),
            enrollment_id: Set(None),
            jp: Set([8, 12, 16][r.below(3)]),
            source: Set(progress::jp::SOURCE_EXTERNAL.into()),
            description: Set("Pelatihan klasikal BKPSDM".into()),
            earned_at: Set(earned),
            recorded_by: Set(Some(cx.admin_id)),
            created_at: Set(after(earned, r.between(DAY, 7.0 * DAY)).min(now)),
        });
    }

    // One in ten also takes the second course.
    if i % 10 == 3 {
        second_course(cx, &mut r, person_id, b, counts);
    }
}

/// The start of this WIB year, as UTC.
fn year_start(now: DateTime<Utc>) -> DateTime<Utc> {
    let year = kernel::time::wib_year(now);
    NaiveDate::from_ymd_opt(year, 1, 1)
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .map_or(now, |d| d.and_utc() - Duration::hours(7))
}

/// An enrollment in the second course: six in ten completed (all three videos watched), the
/// others somewhere in the first two.
fn second_course(cx: &Ctx, r: &mut Rng, person: Uuid, b: &mut Batch, counts: &mut Counts) {
    let s = &cx.second;
    let enrollment_id = kernel::new_id();
    let activated = after(s.starts, r.between(0.0, 3.0 * DAY));
    let finish = after(activated, r.between(5.0 * DAY, 60.0 * DAY)).min(after(cx.now, -HOUR));
    let completes = r.unit() < 0.6;
    let watched = if completes {
        LESSONS as f64 * VIDEO_SECONDS
    } else {
        r.between(0.1, 0.6) * LESSONS as f64 * VIDEO_SECONDS
    };
    let mut done = Vec::new();
    let mut last = activated;
    for (v, lesson) in s.lessons.iter().enumerate() {
        let seen = (watched - v as f64 * VIDEO_SECONDS).clamp(0.0, VIDEO_SECONDS);
        if seen <= 0.0 {
            break;
        }
        let at = after(
            activated,
            (finish - activated).num_seconds() as f64 * (v + 1) as f64 / LESSONS as f64,
        );
        let events = [(
            at,
            0,
            Effect::Played {
                from: 0.0,
                to: seen,
            },
            after(at, 30.0),
        )];
        let (row, completed) = video_row(enrollment_id, person, *lesson, &events);
        b.progress.push(row);
        done.extend(completed);
        last = at;
    }
    let completed_at = (done.len() == s.lessons.len())
        .then(|| done.iter().max().copied())
        .flatten();
    b.enrollments.push(enrollment_e::ActiveModel {
        id: Set(enrollment_id),
        cohort_id: Set(s.cohort),
        course_id: Set(s.id),
        person_id: Set(person),
        state: Set(if completed_at.is_some() {
            enrollment::state::COMPLETED
        } else {
            enrollment::state::ACTIVE
        }
        .into()),
        source: Set("assigned".into()),
        rule_id: Set(None),
        requested_at: Set(activated),
        activated_at: Set(Some(activated)),
        completed_at: Set(completed_at),
        ended_at: Set(None),
        due_at: Set(Some(s.starts + Duration::days(WINDOW_DAYS))),
        progress_percent: Set(
            ((done.len() as f64 / s.lessons.len() as f64) * 1000.0).round() / 10.0,
        ),
        required_done: Set(done.len() as i32),
        required_total: Set(s.lessons.len() as i32),
        next_lesson_id: Set(s.lessons.get(done.len()).copied()),
        last_activity_at: Set(Some(last)),
        created_at: Set(activated),
        updated_at: Set(last),
    });
    counts.enrollments += 1;
    if let Some(at) = completed_at {
        b.jp.push(jp_ledger::ActiveModel {
            id: Set(kernel::new_id()),
            person_id: Set(person),
            year: Set(kernel::time::wib_year(at)),
            course_id: Set(Some(s.id)),
            enrollment_id: Set(Some(enrollment_id)),
            jp: Set(SECOND_JP),
            source: Set(progress::jp::SOURCE_COURSE.into()),
            description: Set(s.title.clone()),
            earned_at: Set(at),
            recorded_by: Set(None),
            created_at: Set(at),
        });
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use std::collections::HashSet;

    use identity::values::{EmploymentType, Nip};

    use super::*;

    #[test]
    fn nips_are_valid_unique_and_apart_from_the_roster_suites() {
        let mut seen = HashSet::new();
        for i in 0..30_000 {
            let n = nip(i);
            Nip::parse(&n, Some(EmploymentType::Pns), 2026).unwrap();
            let day: u32 = n[6..8].parse().unwrap();
            assert!(day >= 29, "{n}: the roster suite uses days 1 to 28");
            assert!(seen.insert(n.clone()), "{n} twice");
        }
    }

    #[test]
    fn certificate_codes_are_valid_and_unique() {
        let mut seen = HashSet::new();
        for i in 0..30_000 {
            let c = certificate_code(i);
            assert_eq!(
                evaluation::certificate::code::normalise(&c).as_deref(),
                Some(c.as_str())
            );
            assert!(seen.insert(c), "code {i} twice");
        }
    }

    #[test]
    fn the_paths_keep_the_mix_and_two_attempts_per_learner() {
        let p = paths(10_000);
        let count = |want: Path| p.iter().filter(|x| **x == want).count();
        assert_eq!(count(Path::Retook) + count(Path::Passed), 7_000);
        let attempts = 3 * count(Path::Retook)
            + 2 * (count(Path::Passed) + count(Path::Failed))
            + count(Path::Watching)
            + count(Path::Withdrew);
        assert_eq!(attempts, 20_000);
        assert_eq!(p, paths(10_000), "deterministic");
    }

    #[test]
    fn segments_cover_what_was_watched_and_number_fifty() {
        let mut r = Rng::new(1);
        let full = segments(1800.0, &mut r);
        assert_eq!(full.len(), PLAYED);
        let mut state: Vec<LessonState> = vec![LessonState::default(); LESSONS];
        for (v, from, to) in &full {
            state[*v].apply(
                Effect::Played {
                    from: *from,
                    to: *to,
                },
                Utc::now(),
            );
        }
        for s in &state {
            assert!(s.satisfies(&video_rule()));
            assert_eq!(s.intervals, vec![(0.0, 600.0)]);
        }
        // 100 s: two full segments and one of 25 s, the rest replays of them.
        let part = segments(100.0, &mut r);
        assert_eq!(part.len(), PLAYED);
        assert!(part.iter().all(|(v, _, to)| *v == 0 && *to <= 100.0));
        assert!(part.contains(&(0, 75.0, 100.0)));
    }
}
