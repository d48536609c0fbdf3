//! The evaluation reports on a course of 10,000 learners (issue #6): 1,000,000 progress events,
//! 20,000 quiz attempts with 200,000 answers, surveys, follow-ups, certificates and JP (see
//! [`setup`]); then each report over HTTP GraphQL as an admin (the whole course, one cohort) and
//! as a unit admin of one office, and the streamed exports.
//!
//! Decisions:
//! - **Each report: 1 warm-up and [`RUNS`] timed requests** on one keep-alive connection,
//!   every field of the report's main types selected (a dashboard asks for all of them). The
//!   time is from sending the request to the last byte of the answer; the median and the max
//!   are printed, and the goal (under [`GOAL_MS`]) is judged on the max.
//! - **SQL statements per request** come from the app's statement counter
//!   ([`App::statements`]): the difference around the request, nothing else running (no job
//!   workers). The same count on every run is printed once; differing counts as a range.
//! - **Exports**: `reportExportUrl` as the admin, then the file downloaded over HTTP and read
//!   frame by frame, counting bytes and keeping none. Memory: a thread (not a task, so a busy
//!   runtime cannot starve it) reads `VmRSS` from `/proc/self/status` every 10 ms during the
//!   download; the figure is the highest sample minus the one before the request. Not
//!   `VmHWM`: it holds the process's peak so far (the setup's), and resetting it means writing
//!   5 to `/proc/self/clear_refs`, which this benchmark does not do. The server and the client
//!   share this process, so the growth is the server's streaming plus the client's buffers.
//!   `RssAnon` is sampled beside it: the heap's part, as opposed to mapped files. The allocator
//!   may reuse memory freed by earlier work (the setup, the reports), so the growth is a lower
//!   bound of what the download needs. One download of each file, after the reports.

pub mod setup;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::Context as _;
use bytes::Bytes;
use http_body_util::{BodyExt as _, Full};
use hyper::{Request, StatusCode, header};
use serde_json::{Value, json};

use crate::app::App;
use crate::progress::http::{self, bearer};
use crate::report::{Table, num};
use crate::reports::setup::ReportData;

/// The table section of these figures.
pub const SECTION: &str = "reports";
/// Timed requests per report, after one warm-up.
const RUNS: usize = 5;
/// The goal per report.
const GOAL_MS: f64 = 2000.0;
/// How often the memory sampler reads `VmRSS`.
const RSS_EVERY: Duration = Duration::from_millis(10);

/// How big.
#[derive(Debug, Clone, Copy)]
pub struct ReportSettings {
    /// Learners of the course.
    pub learners: usize,
}

const LIKERT: &str = "{ answers mean distribution }";

fn learning_query() -> String {
    "query($c: ID!, $h: ID) { learningReport(courseId: $c, cohortId: $h) { courseId cohortId unitId \
     tests { preTest { quizId lessonId title } postTest { quizId lessonId title } paired preMean \
     postMean classGain classGainCategory gains { counted high medium low leftOut negative \
     meanGain histogram { from to count } } postTestTaken postTestPassed passRate } } }"
        .into()
}

fn items_query() -> String {
    "query($q: ID!) { itemAnalysis(quizId: $q) { quizId kind attempts itemCount \
     reliabilityMethod reliability meanTotal items { questionId questionVersionId version kind \
     prompt n facility discrimination pointBiserial flags } } }"
        .into()
}

fn completion_query() -> String {
    let figures = "{ enrolled started completed completionRate medianDaysToComplete overdue \
                   withdrawn expired }";
    format!(
        "query($c: ID!, $h: ID) {{ completionReport(courseId: $c, cohortId: $h) {{ courseId \
         cohortId unitId measuredAt total {figures} byUnit {{ unitId unitName figures {figures} \
         }} }} }}"
    )
}

fn reaction_query() -> String {
    format!(
        "query($c: ID!, $h: ID) {{ reactionReport(courseId: $c, cohortId: $h) {{ courseId \
         cohortId unitId completed responses responseRate minimumResponses overall {LIKERT} \
         dimensions {{ dimension summary {LIKERT} }} trainers {{ trainer {{ id name }} responses \
         overall {LIKERT} dimensions {{ dimension summary {LIKERT} }} }} }} }}"
    )
}

fn follow_up_query() -> String {
    let side = format!(
        "{{ requests {{ sent answered open closed responseRate }} responses minimumResponses \
         questions {{ question {{ id text }} kind dimension answers likert {LIKERT} texts }} }}"
    );
    format!(
        "query($c: ID!, $h: ID) {{ followUpReport(courseId: $c, cohortId: $h) {{ courseId \
         cohortId unitId learner {side} supervisor {side} }} }}"
    )
}

fn course_trend_query() -> String {
    "query($c: ID!) { courseTrend(courseId: $c) { courseId unitId postTest { quizId title } \
     minimumResponses points { cohortId cohortName startsAt reactionResponses reactionMean \
     gain { paired preMean postMean classGain classGainCategory } falling fallingMeasures } } }"
        .into()
}

fn trainer_trend_query() -> String {
    "query($p: ID!) { trainerTrend(personId: $p) { personId name minimumResponses points { \
     courseId courseTitle cohortId cohortName startsAt trainerResponses trainerMean gain { \
     paired preMean postMean classGain classGainCategory } falling fallingMeasures } } }"
        .into()
}

fn matrix_query() -> String {
    let cell = "{ courseId enrolled completed completionRate }";
    format!(
        "query($u: ID, $cs: [ID!]!) {{ completionMatrix(unitId: $u, courseIds: $cs) {{ \
         unit {{ unitId code name }} courses {{ courseId code title }} rows {{ unit {{ unitId \
         code name }} cells {cell} }} total {cell} }} }}"
    )
}

fn compliance_query() -> String {
    let figures = "{ people compliant belowTarget complianceRate meanJp }";
    format!(
        "query($u: ID) {{ jpCompliance(unitId: $u, first: 50) {{ year target unit {{ unitId \
         code name }} rows {{ unit {{ unitId code name }} figures {figures} }} total {figures} \
         peopleBelowTarget {{ edges {{ cursor node {{ personId name nip unitId unitName total \
         missing }} }} pageInfo {{ hasNextPage endCursor }} }} }} }}"
    )
}

/// One report request to time.
struct Case {
    report: &'static str,
    scope: String,
    token: String,
    query: String,
    variables: Value,
}

/// The timings of one case.
struct Timed {
    median_ms: f64,
    max_ms: f64,
    statements: (u64, u64),
    bytes: usize,
}

/// Sets up, measures every report and both exports, adds the rows.
///
/// # Errors
/// When setting up, a request or a download fails.
pub async fn run(app: &App, s: &ReportSettings, table: &mut Table) -> anyhow::Result<()> {
    let db = app.database.label();
    eprintln!(
        "{db}: reports setup: {} learners, {} progress events each ...",
        s.learners,
        setup::EVENTS_PER_LEARNER
    );
    let started = Instant::now();
    let data = setup::run(app, s.learners)
        .await
        .context("cannot set up the report data")?;
    let took = started.elapsed();
    setup_rows(table, db, &data, took);

    let cases = cases(&data);
    let mut over = Vec::new();
    for case in &cases {
        eprintln!("{db}: {} ({}) ...", case.report, case.scope);
        let t = time_case(app, case)
            .await
            .with_context(|| format!("{} ({})", case.report, case.scope))?;
        let met = t.max_ms < GOAL_MS;
        if !met {
            over.push(format!("{} ({})", case.report, case.scope));
        }
        let statements = match t.statements {
            (a, b) if a == b => format!("{a}"),
            (a, b) => format!("{a}-{b}"),
        };
        table.add(
            SECTION,
            db,
            format!("{}: {}", case.report, case.scope),
            format!(
                "median {} / max {} ms, {statements} SQL statements, {} kB; goal < {} ms: {}",
                num(t.median_ms, 1),
                num(t.max_ms, 1),
                num(t.bytes as f64 / 1000.0, 1),
                num(GOAL_MS, 0),
                if met { "MET" } else { "NOT MET" }
            ),
        );
    }
    table.add(
        SECTION,
        db,
        format!(
            "goal: every report < {} ms (max of {RUNS} after 1 warm-up)",
            num(GOAL_MS, 0)
        ),
        if over.is_empty() {
            format!("MET ({} of {})", cases.len(), cases.len())
        } else {
            format!("NOT MET: {}", over.join(", "))
        },
    );

    for (what, format, section) in [
        ("XLSX export, every sheet", "XLSX", None),
        ("CSV export, LEARNERS section", "CSV", Some("LEARNERS")),
    ] {
        eprintln!("{db}: {what} ...");
        let link = gql_data(
            app,
            &data.admin_token,
            "mutation($c: ID!, $f: ReportFormat!, $s: ReportSection) { reportExportUrl(courseId: $c, format: $f, section: $s) { url fileName } }",
            json!({"c": data.course_id, "f": format, "s": section}),
        )
        .await?;
        let url = link["reportExportUrl"]["url"]
            .as_str()
            .context("reportExportUrl gave no url")?
            .to_owned();
        let d = download(app, &url).await.with_context(|| what.to_owned())?;
        export_rows(table, db, what, format, &d);
    }
    Ok(())
}

fn setup_rows(table: &mut Table, db: &str, d: &ReportData, took: Duration) {
    let c = &d.counts;
    table.add(
        SECTION,
        db,
        "setup time (GraphQL course, units and cohorts; direct INSERTs of the rest)",
        format!("{} s", num(took.as_secs_f64(), 1)),
    );
    table.add(
        SECTION,
        db,
        "setup: learners / enrollments (both courses) / completed / active (overdue) / withdrawn",
        format!(
            "{} / {} / {} / {} ({}) / {}",
            num(c.learners as f64, 0),
            num(c.enrollments as f64, 0),
            num(c.completed as f64, 0),
            num(c.active as f64, 0),
            num(c.overdue as f64, 0),
            num(c.withdrawn as f64, 0)
        ),
    );
    table.add(
        SECTION,
        db,
        "setup: progress events / lesson progress / attempts / answers (attempt items) / quiz results",
        format!(
            "{} / {} / {} / {} / {}",
            num(c.events as f64, 0),
            num(c.lesson_progress as f64, 0),
            num(c.attempts as f64, 0),
            num(c.items as f64, 0),
            num(c.results as f64, 0)
        ),
    );
    table.add(
        SECTION,
        db,
        "setup: reaction responses / follow-up requests (answered) / survey answers / certificates / JP rows",
        format!(
            "{} / {} ({}) / {} / {} / {}",
            num(c.reaction_responses as f64, 0),
            num(c.follow_up_requests as f64, 0),
            num(c.follow_up_responses as f64, 0),
            num(c.survey_answers as f64, 0),
            num(c.certificates as f64, 0),
            num(c.jp_rows as f64, 0)
        ),
    );
}

/// Every report, for the whole course and one cohort as the admin, and as a unit admin.
fn cases(d: &ReportData) -> Vec<Case> {
    let admin = d.admin_token.clone();
    let unit = d.unit_admin_token.clone();
    let cohort = d.cohorts.first().copied().unwrap_or_default();
    let course = "whole course, admin".to_owned();
    let one = "cohort Angkatan I, admin".to_owned();
    let office = "whole course, unit admin of DINKES".to_owned();
    let per_course = |report: &'static str, query: fn() -> String| {
        [
            (course.clone(), admin.clone(), Value::Null),
            (one.clone(), admin.clone(), json!(cohort)),
            (office.clone(), unit.clone(), Value::Null),
        ]
        .into_iter()
        .map(move |(scope, token, h)| Case {
            report,
            scope,
            token,
            query: query(),
            variables: json!({"c": d.course_id, "h": h}),
        })
    };
    let both = [d.course_id, d.second_course_id];
    let mut out: Vec<Case> = Vec::new();
    out.extend(per_course("learningReport", learning_query));
    out.push(Case {
        report: "itemAnalysis",
        scope: "post-test, admin".into(),
        token: admin.clone(),
        query: items_query(),
        variables: json!({"q": d.post_quiz}),
    });
    out.extend(per_course("completionReport", completion_query));
    out.extend(per_course("reactionReport", reaction_query));
    out.extend(per_course("followUpReport", follow_up_query));
    out.push(Case {
        report: "courseTrend",
        scope: course.clone(),
        token: admin.clone(),
        query: course_trend_query(),
        variables: json!({"c": d.course_id}),
    });
    out.push(Case {
        report: "courseTrend",
        scope: office.clone(),
        token: unit.clone(),
        query: course_trend_query(),
        variables: json!({"c": d.course_id}),
    });
    out.push(Case {
        report: "trainerTrend",
        scope: "the course's first trainer, admin".into(),
        token: admin.clone(),
        query: trainer_trend_query(),
        variables: json!({"p": d.trainer_id}),
    });
    out.push(Case {
        report: "completionMatrix",
        scope: "root unit × 2 courses, admin".into(),
        token: admin.clone(),
        query: matrix_query(),
        variables: json!({"u": d.root_unit, "cs": both}),
    });
    out.push(Case {
        report: "completionMatrix",
        scope: "own office × 2 courses, unit admin of DINKES".into(),
        token: unit.clone(),
        query: matrix_query(),
        variables: json!({"u": Value::Null, "cs": both}),
    });
    out.push(Case {
        report: "jpCompliance",
        scope: "root unit, first 50 below target, admin".into(),
        token: admin,
        query: compliance_query(),
        variables: json!({"u": d.root_unit}),
    });
    out.push(Case {
        report: "jpCompliance",
        scope: "own office, first 50 below target, unit admin of DINKES".into(),
        token: unit,
        query: compliance_query(),
        variables: json!({"u": Value::Null}),
    });
    out
}

/// Runs `query` once and returns its `data`, failing on any error.
async fn gql_data(app: &App, token: &str, query: &str, variables: Value) -> anyhow::Result<Value> {
    http::gql(app.server.addr, token, query, variables).await
}

/// One warm-up and [`RUNS`] timed requests of `case` on one keep-alive connection.
async fn time_case(app: &App, case: &Case) -> anyhow::Result<Timed> {
    let addr = app.server.addr;
    let mut conn = crate::load::connect(addr).await?;
    let auth = bearer(&case.token)?;
    let body = Bytes::from(serde_json::to_vec(
        &json!({"query": case.query, "variables": case.variables}),
    )?);
    let mut times = Vec::with_capacity(RUNS);
    let mut statements = Vec::with_capacity(RUNS);
    let mut bytes = 0;
    for run in 0..=RUNS {
        let before = app.statements();
        let sent = Instant::now();
        let (status, answer) = http::post(&mut conn, addr, &auth, body.clone()).await?;
        let took = sent.elapsed();
        let ran = app.statements() - before;
        let parsed: Value = serde_json::from_slice(&answer)
            .with_context(|| format!("the answer ({status}) is not JSON"))?;
        anyhow::ensure!(
            status == StatusCode::OK && parsed.get("errors").is_none(),
            "failed ({status}): {parsed}"
        );
        if run > 0 {
            times.push(took.as_secs_f64() * 1000.0);
            statements.push(ran);
            bytes = answer.len();
        }
    }
    times.sort_by(f64::total_cmp);
    Ok(Timed {
        median_ms: times[times.len() / 2],
        max_ms: times[times.len() - 1],
        statements: (
            statements.iter().copied().min().unwrap_or(0),
            statements.iter().copied().max().unwrap_or(0),
        ),
        bytes,
    })
}

/// The process's resident set, KiB: (`VmRSS`, `RssAnon`) of `/proc/self/status`. The
/// anonymous part is the heap and stacks; the rest is mapped files (and SQLite's WAL index).
fn rss_kib() -> Option<(u64, u64)> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let field = |name: &str| -> Option<u64> {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))?
            .split_whitespace()
            .next()?
            .parse()
            .ok()
    };
    Some((field("VmRSS:")?, field("RssAnon:")?))
}

/// Samples [`rss_kib`] every [`RSS_EVERY`] on its own thread until stopped; keeps the highest
/// of each.
struct RssSampler {
    stop: Arc<AtomicBool>,
    peak: Arc<[AtomicU64; 2]>,
    thread: std::thread::JoinHandle<()>,
}

impl RssSampler {
    fn start() -> RssSampler {
        let stop = Arc::new(AtomicBool::new(false));
        let peak = Arc::new([AtomicU64::new(0), AtomicU64::new(0)]);
        let (s, p) = (stop.clone(), peak.clone());
        let sample = move |p: &[AtomicU64; 2]| {
            if let Some((rss, anon)) = rss_kib() {
                p[0].fetch_max(rss, Ordering::Relaxed);
                p[1].fetch_max(anon, Ordering::Relaxed);
            }
        };
        sample(&peak);
        let thread = std::thread::spawn(move || {
            while !s.load(Ordering::Relaxed) {
                sample(&p);
                std::thread::sleep(RSS_EVERY);
            }
            // One last sample, in case the download ended between two.
            sample(&p);
        });
        RssSampler { stop, peak, thread }
    }

    /// Stops and returns the highest samples, KiB: (`VmRSS`, `RssAnon`).
    fn finish(self) -> (u64, u64) {
        self.stop.store(true, Ordering::Relaxed);
        let _ = self.thread.join();
        (
            self.peak[0].load(Ordering::Relaxed),
            self.peak[1].load(Ordering::Relaxed),
        )
    }
}

/// One download of an export.
struct Download {
    ms: f64,
    first_byte_ms: f64,
    bytes: u64,
    lines: u64,
    magic: Vec<u8>,
    /// (`VmRSS`, `RssAnon`) before the request and their peaks during the download, KiB.
    rss_before_kib: (u64, u64),
    rss_peak_kib: (u64, u64),
}

/// Downloads `url` (a link of this app) reading the body frame by frame: counts bytes and
/// lines, keeps the first four bytes, samples the memory.
async fn download(app: &App, url: &str) -> anyhow::Result<Download> {
    let addr = app.server.addr;
    let path = url
        .find("/reports/")
        .map(|i| &url[i..])
        .with_context(|| format!("not an export link: {url}"))?;
    let mut conn = crate::load::connect(addr).await?;
    let request = Request::get(path)
        .header(header::HOST, addr.to_string())
        .body(Full::new(Bytes::new()))?;
    let before = rss_kib().unwrap_or_default();
    let sampler = RssSampler::start();
    let sent = Instant::now();
    conn.ready().await?;
    let response = conn.send_request(request).await?;
    anyhow::ensure!(
        response.status() == StatusCode::OK,
        "the download answered {}",
        response.status()
    );
    let mut body = response.into_body();
    let (mut bytes, mut lines, mut magic, mut first) = (0u64, 0u64, Vec::new(), None);
    while let Some(frame) = body.frame().await {
        if let Ok(data) = frame?.into_data() {
            first.get_or_insert_with(|| sent.elapsed());
            if magic.len() < 4 {
                magic.extend(data.iter().take(4 - magic.len()));
            }
            bytes += data.len() as u64;
            lines += data.iter().filter(|b| **b == b'\n').count() as u64;
        }
    }
    let took = sent.elapsed();
    let peak = sampler.finish();
    Ok(Download {
        ms: took.as_secs_f64() * 1000.0,
        first_byte_ms: first.unwrap_or(took).as_secs_f64() * 1000.0,
        bytes,
        lines,
        magic,
        rss_before_kib: before,
        rss_peak_kib: peak,
    })
}

fn mib(kib: u64) -> f64 {
    kib as f64 / 1024.0
}

fn export_rows(table: &mut Table, db: &str, what: &str, format: &str, d: &Download) {
    let content = if format == "XLSX" {
        format!(
            "zip signature {}",
            if d.magic == b"PK\x03\x04" {
                "OK"
            } else {
                "MISSING"
            }
        )
    } else {
        format!("{} lines", num(d.lines as f64, 0))
    };
    table.add(
        SECTION,
        db,
        format!("{what}: download time (first byte after)"),
        format!("{} ms ({} ms)", num(d.ms, 1), num(d.first_byte_ms, 1)),
    );
    table.add(
        SECTION,
        db,
        format!("{what}: size"),
        format!("{} bytes, {content}", num(d.bytes as f64, 0)),
    );
    table.add(
        SECTION,
        db,
        format!(
            "{what}: peak RSS growth during the download (VmRSS sampled every {} ms by a thread, max − before; server + client)",
            RSS_EVERY.as_millis()
        ),
        format!(
            "+{} MiB, of it anonymous +{} MiB (VmRSS before {} MiB)",
            num(mib(d.rss_peak_kib.0.saturating_sub(d.rss_before_kib.0)), 1),
            num(mib(d.rss_peak_kib.1.saturating_sub(d.rss_before_kib.1)), 1),
            num(mib(d.rss_before_kib.0), 0)
        ),
    );
}
