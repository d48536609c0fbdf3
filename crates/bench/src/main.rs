//! `bench`: measures the `lms` gateway on this machine and prints the figures as a table.
//!
//! 1. `me` over GraphQL against a plain axum handler doing the same work on the same state.
//! 2. `signIn` over HTTP with the production argon2id cost, and one hash on its own.
//! 3. Importing a generated roster, then importing it again unchanged.
//! 4. Media: range GETs of a large file through the gateway against the disk, signed media URLs
//!    issued per second, and transcoding a generated clip against its length.
//! 5. Progress ingestion and reads (see [`progress`]).
//! 6. The post-test burst: a cohort starts, answers and submits a quiz at once, then the
//!    database is checked (see [`post_test`]).
//!
//! Each suite runs on a fresh SQLite database, and again on a fresh PostgreSQL database (made
//! and dropped by the run) when `--database-url` names a server; media runs on SQLite only.
//! `--only` picks suites (all by default). Load generator and servers share one process and
//! one runtime, hence the same cores.

mod app;
mod load;
mod me;
mod media;
mod post_test;
mod progress;
mod report;
mod reports;
mod roster;
mod sign_in;

use std::time::Duration;

use anyhow::Context as _;
use clap::{Parser, ValueEnum};
use identity::PasswordCost;
use kernel::Secret;

use crate::app::{App, Database, PgDatabase};
use crate::load::{LoadResult, Settings};
use crate::report::{Table, num};

// The `lms` binary's allocator, so the app measured here allocates as the one deployed.
#[global_allocator]
static ALLOCATOR: gateway::Allocator = gateway::Allocator;

#[derive(Parser, Debug)]
#[command(
    name = "bench",
    about = "Benchmarks of the lms gateway; prints a table"
)]
struct Args {
    /// A PostgreSQL server URL: the suites run there too, on a database made for the run and
    /// dropped after it.
    #[arg(long)]
    database_url: Option<String>,
    /// Seconds each load test measures, after its warm-up.
    #[arg(long, default_value_t = 10)]
    duration_secs: u64,
    /// Concurrent keep-alive connections for the `me` comparison.
    #[arg(long, default_value_t = 32)]
    connections: usize,
    /// Concurrent clients (one account each) signing in.
    #[arg(long, default_value_t = 4)]
    sign_in_clients: usize,
    /// Rows of the generated roster.
    #[arg(long, default_value_t = 10_000)]
    roster_rows: usize,
    /// Simulated learners of the progress ingestion run (each a batch every 10 s).
    #[arg(long, default_value_t = 2_000)]
    progress_learners: usize,
    /// Seconds of the progress ingestion run at `--progress-learners`.
    #[arg(long, default_value_t = 30)]
    progress_secs: u64,
    /// Seconds of each progress saturation step.
    #[arg(long, default_value_t = 10)]
    progress_step_secs: u64,
    /// Enrollments in the cohort whose roster is read.
    #[arg(long, default_value_t = 10_000)]
    progress_roster: usize,
    /// Learners taking the post-test at once.
    #[arg(long, default_value_t = 1_000)]
    quiz_learners: usize,
    /// Calls each learner saves its 20 answers in: 20 = one per question, as a phone
    /// autosaves; 1 = all at once.
    #[arg(long, default_value_t = 20)]
    quiz_saves: usize,
    /// Seconds the post-test's saves are spread over.
    #[arg(long, default_value_t = 60)]
    quiz_save_secs: u64,
    /// Learners of the reports' course (100 progress events and 2 quiz attempts each).
    #[arg(long, default_value_t = 10_000)]
    report_learners: usize,
    /// Suites to run, comma-separated or repeated; every suite when not given.
    #[arg(long, value_enum, value_delimiter = ',')]
    only: Vec<Suite>,
    /// Size of the range-GET test file, MiB.
    #[arg(long, default_value_t = 200)]
    range_file_mib: u64,
    /// Passes over the whole file per side and access pattern in the range-GET comparison.
    #[arg(long, default_value_t = 5)]
    range_passes: usize,
    /// Seconds each signed-URL rate is measured.
    #[arg(long, default_value_t = 3)]
    url_secs: u64,
    /// An S3 endpoint whose presigner is measured too (`eval "$(deploy/garage-dev.sh start
    /// DIR)"` exports it for a local Garage).
    #[arg(long, env = "LMS_TEST_S3_ENDPOINT")]
    s3_endpoint: Option<String>,
    /// The S3 region.
    #[arg(long, env = "LMS_TEST_S3_REGION", default_value = "garage")]
    s3_region: String,
    /// The S3 bucket.
    #[arg(long, env = "LMS_TEST_S3_BUCKET", default_value = "lms")]
    s3_bucket: String,
    /// The S3 access key id.
    #[arg(long, env = "LMS_TEST_S3_ACCESS_KEY_ID")]
    s3_access_key_id: Option<String>,
    /// The S3 secret access key.
    #[arg(long, env = "LMS_TEST_S3_SECRET_ACCESS_KEY", hide_env_values = true)]
    s3_secret_access_key: Option<String>,
}

/// The suites `--only` can pick.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Suite {
    /// `me` over GraphQL against plain axum.
    Me,
    /// `signIn` and one argon2id hash.
    SignIn,
    /// Roster import.
    Roster,
    /// Range GETs, signed URLs, transcoding.
    Media,
    /// Progress ingestion, its saturation, the direct-insert baseline, dashboard and roster.
    Progress,
    /// The post-test burst: start, save, submit, then the database checks.
    Quiz,
    /// The evaluation reports and exports of a 10,000-learner course.
    Reports,
}

impl Args {
    /// Whether `suite` runs: every one does unless `--only` names some.
    fn runs(&self, suite: Suite) -> bool {
        self.only.is_empty() || self.only.contains(&suite)
    }

    /// The media settings, with the S3 target when an endpoint and both keys are given.
    fn media(&self) -> anyhow::Result<media::MediaSettings> {
        let s3 = match &self.s3_endpoint {
            Some(endpoint) if !endpoint.is_empty() => Some(media::signed_urls::S3Target {
                endpoint: endpoint.clone(),
                region: self.s3_region.clone(),
                bucket: self.s3_bucket.clone(),
                access_key_id: self
                    .s3_access_key_id
                    .clone()
                    .context("--s3-endpoint needs --s3-access-key-id")?,
                secret_access_key: Secret::new(
                    self.s3_secret_access_key
                        .clone()
                        .context("--s3-endpoint needs --s3-secret-access-key")?,
                ),
            }),
            _ => None,
        };
        Ok(media::MediaSettings {
            file_bytes: self
                .range_file_mib
                .checked_mul(media::range_get::MIB)
                .context("--range-file-mib is too large")?,
            passes: self.range_passes,
            url_window: Duration::from_secs(self.url_secs),
            s3,
        })
    }
}

/// Warm-up before the `me` runs (split over the rounds): connections open, pools and caches fill.
const ME_WARMUP: Duration = Duration::from_secs(2);
/// Warm-up before the sign-in run (a sign-in takes tens of milliseconds).
const SIGN_IN_WARMUP: Duration = Duration::from_secs(1);
/// Hashes timed for the single-hash figure.
const HASH_SAMPLES: usize = 5;
/// The GraphQL/plain ratio the gateway aims for.
const RATIO_GOAL: f64 = 0.5;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    // The app logs an internal error with its cause, and answers only "internal server error";
    // LMS_LOG (as for `lms`, e.g. LMS_LOG=error) prints those logs on stderr.
    if let Ok(filter) = tracing_subscriber::EnvFilter::try_from_env("LMS_LOG") {
        let _ = tracing_subscriber::fmt()
            .with_env_filter(filter)
            .with_writer(std::io::stderr)
            .try_init();
    }
    anyhow::ensure!(
        args.duration_secs > 0 && args.connections > 0 && args.sign_in_clients > 0,
        "--duration-secs, --connections and --sign-in-clients must be positive"
    );
    anyhow::ensure!(
        args.quiz_learners > 0 && (1..=20).contains(&args.quiz_saves) && args.quiz_save_secs > 0,
        "--quiz-learners and --quiz-save-secs must be positive, --quiz-saves 1 to 20"
    );
    anyhow::ensure!(
        args.range_file_mib > 0 && args.range_passes > 0 && args.url_secs > 0,
        "--range-file-mib, --range-passes and --url-secs must be positive"
    );
    anyhow::ensure!(
        args.report_learners > 0,
        "--report-learners must be positive"
    );
    let mut table = Table::new(&[
        "machine",
        "me",
        "sign-in",
        "roster",
        media::SECTION,
        progress::SECTION,
        post_test::SECTION,
        reports::SECTION,
    ]);
    let load_before = load_average();
    let outcome = run_all(&args, &mut table).await;
    // Other work on the machine steals cores from both servers and the load generator.
    table.add(
        "machine",
        "-",
        "load average (1 min) at start / end",
        format!("{load_before} / {}", load_average()),
    );
    // Whatever was measured is printed, even when a later suite failed.
    println!("{}", table.render());
    outcome
}

async fn run_all(args: &Args, table: &mut Table) -> anyhow::Result<()> {
    machine(args, table);
    if args.runs(Suite::SignIn) {
        hash_rows(table).await?;
    }
    suite(Database::Sqlite, args, table).await?;
    // Media runs on SQLite only: the database has no part in most of it.
    let on_database = [
        Suite::Me,
        Suite::SignIn,
        Suite::Roster,
        Suite::Progress,
        Suite::Quiz,
        Suite::Reports,
    ]
    .into_iter()
    .any(|s| args.runs(s));
    if let Some(url) = args.database_url.as_ref().filter(|_| on_database) {
        let pg = PgDatabase::create(url).await?;
        let result = suite(Database::Postgres(pg.url.clone()), args, table).await;
        let dropped = pg.drop_database().await;
        result?;
        dropped?;
    }
    Ok(())
}

/// The argon2id cost and the time of one hash on its own.
async fn hash_rows(table: &mut Table) -> anyhow::Result<()> {
    let cost = PasswordCost::default();
    table.add(
        "sign-in",
        "-",
        "argon2id cost (PasswordCost::default)",
        format!(
            "memory {} KiB, iterations {}, lanes {}",
            num(f64::from(cost.memory_kib), 0),
            cost.iterations,
            cost.lanes
        ),
    );
    eprintln!("timing one argon2id hash ...");
    let hash = sign_in::single_hash_time(cost, HASH_SAMPLES).await?;
    let cores = cores();
    table.add(
        "sign-in",
        "-",
        format!("one hash, before the load tests (median of {HASH_SAMPLES})"),
        format!("{} ms", num(hash.as_secs_f64() * 1000.0, 1)),
    );
    table.add(
        "sign-in",
        "-",
        format!("hashing ceiling ({cores} cores / one hash)"),
        format!("{} /s", num(cores as f64 / hash.as_secs_f64(), 1)),
    );
    Ok(())
}

/// The 1-minute load average from `/proc/loadavg`.
fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|l| l.split_whitespace().next().map(str::to_owned))
        .unwrap_or_else(|| "unknown".into())
}

fn cores() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

fn machine(args: &Args, table: &mut Table) {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|info| {
            info.lines()
                .find_map(|l| l.strip_prefix("model name"))
                .and_then(|rest| rest.split_once(':'))
                .map(|(_, model)| model.trim().to_owned())
        })
        .unwrap_or_else(|| "unknown".into());
    let build = if cfg!(debug_assertions) {
        "debug (figures not meaningful)"
    } else {
        "release"
    };
    let workers = tokio::runtime::Handle::current().metrics().num_workers();
    table.add("machine", "-", "logical CPUs (nproc)", cores().to_string());
    table.add("machine", "-", "CPU model", cpu);
    table.add("machine", "-", "build", build);
    table.add(
        "machine",
        "-",
        "tokio workers (servers + load generator)",
        workers.to_string(),
    );
    table.add(
        "machine",
        "-",
        "load test window",
        format!(
            "{} s per side (me: {} rounds, {} s warm-up each; signIn: {} s warm-up)",
            args.duration_secs,
            me::ROUNDS,
            (ME_WARMUP / me::ROUNDS).as_secs_f64(),
            SIGN_IN_WARMUP.as_secs_f64()
        ),
    );
}

/// Starts an app on `database`, measures everything on it, stops it.
async fn suite(database: Database, args: &Args, table: &mut Table) -> anyhow::Result<()> {
    eprintln!("{}: starting the app ...", database.label());
    let app = App::start(database).await?;
    let result = measure(&app, args, table).await;
    app.stop().await;
    result
}

async fn measure(app: &App, args: &Args, table: &mut Table) -> anyhow::Result<()> {
    let db = app.database.label();
    let version = app.database_version().await?;
    table.add("machine", db, "database version", version);
    if args.runs(Suite::Me) {
        measure_me(app, args, table).await?;
    }
    if args.runs(Suite::SignIn) {
        measure_sign_in(app, args, table).await?;
    }
    if args.runs(Suite::Roster) {
        measure_roster(app, args, table).await?;
    }
    if args.runs(Suite::Progress) {
        let settings = progress::ProgressSettings {
            learners: args.progress_learners,
            ingest: Duration::from_secs(args.progress_secs),
            step: Duration::from_secs(args.progress_step_secs),
            direct: Duration::from_secs(5),
            readers: 200,
            roster: args.progress_roster,
            read: Duration::from_secs(args.duration_secs),
        };
        progress::run(app, &settings, table)
            .await
            .context("the progress suite failed")?;
    }
    if args.runs(Suite::Quiz) {
        let settings = post_test::QuizSettings {
            learners: args.quiz_learners,
            saves: args.quiz_saves,
            save_window: Duration::from_secs(args.quiz_save_secs),
        };
        post_test::run(app, &settings, table)
            .await
            .context("the quiz suite failed")?;
    }
    if args.runs(Suite::Reports) {
        let settings = reports::ReportSettings {
            learners: args.report_learners,
        };
        reports::run(app, &settings, table)
            .await
            .context("the reports suite failed")?;
    }
    // Last: its 200 MB file and ffmpeg runs would disturb the others' caches and cores.
    if args.runs(Suite::Media) && matches!(app.database, Database::Sqlite) {
        media::run(app, &args.media()?, table).await?;
    }
    Ok(())
}

async fn measure_me(app: &App, args: &Args, table: &mut Table) -> anyhow::Result<()> {
    let db = app.database.label();
    let window = Duration::from_secs(args.duration_secs);
    eprintln!("{db}: me, {} connections ...", args.connections);
    let me = me::run(
        app,
        Settings {
            connections: args.connections,
            warmup: ME_WARMUP,
            measure: window,
        },
    )
    .await
    .context("the me comparison failed")?;
    let conns = args.connections;
    load_rows(
        table,
        "me",
        db,
        &format!("GraphQL ({conns} conns)"),
        "requests/s",
        &me.graphql,
    );
    load_rows(
        table,
        "me",
        db,
        &format!("plain axum ({conns} conns)"),
        "requests/s",
        &me.plain,
    );
    let verdict = if me.ratio() >= RATIO_GOAL {
        "meets"
    } else {
        "BELOW"
    };
    table.add(
        "me",
        db,
        "GraphQL / plain requests/s",
        format!("{} ({verdict} goal {RATIO_GOAL:.2})", num(me.ratio(), 2)),
    );
    Ok(())
}

async fn measure_sign_in(app: &App, args: &Args, table: &mut Table) -> anyhow::Result<()> {
    let db = app.database.label();
    let window = Duration::from_secs(args.duration_secs);
    eprintln!("{db}: signIn, {} clients ...", args.sign_in_clients);
    let signs = sign_in::run(
        app,
        args.sign_in_clients,
        Settings {
            connections: args.sign_in_clients,
            warmup: SIGN_IN_WARMUP,
            measure: window,
        },
    )
    .await
    .context("the sign-in run failed")?;
    load_rows(
        table,
        "sign-in",
        db,
        &format!("signIn over HTTP ({} clients)", args.sign_in_clients),
        "sign-ins/s",
        &signs,
    );
    Ok(())
}

async fn measure_roster(app: &App, args: &Args, table: &mut Table) -> anyhow::Result<()> {
    let db = app.database.label();
    eprintln!("{db}: roster import of {} rows ...", args.roster_rows);
    let roster = roster::run(app, args.roster_rows)
        .await
        .context("the roster import failed")?;
    for (what, took) in [
        ("first import (all created)", roster.first),
        ("second import (all unchanged)", roster.second),
    ] {
        let secs = took.as_secs_f64();
        table.add(
            "roster",
            db,
            format!("{what}, {} rows", num(roster.rows as f64, 0)),
            format!(
                "{} s = {} rows/s",
                num(secs, 2),
                num(roster.rows as f64 / secs, 0)
            ),
        );
    }
    Ok(())
}

/// Rate (`rate` names its unit), latencies and errors of one load run.
fn load_rows(table: &mut Table, bench: &str, db: &str, name: &str, rate: &str, r: &LoadResult) {
    table.add(bench, db, format!("{name}: {rate}"), num(r.per_sec(), 0));
    table.add(
        bench,
        db,
        format!("{name}: p50 / p99 latency"),
        format!(
            "{} / {} ms",
            num(r.percentile_ms(50.0), 2),
            num(r.percentile_ms(99.0), 2)
        ),
    );
    table.add(
        bench,
        db,
        format!("{name}: errors"),
        format!(
            "{} (status {}, body {}, transport {})",
            r.errors(),
            r.bad_status,
            r.bad_body,
            r.transport
        ),
    );
}
