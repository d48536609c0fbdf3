//! The post-test burst: a whole cohort starts the same 20-question post-test within a second,
//! saves its answers, then submits within five seconds, over HTTP GraphQL; then the database is
//! checked for exactly one graded attempt per learner, every answer stored once and as sent, and
//! every score what the answers earn. Last, a few more learners take it one at a time: the cost
//! of each call alone, which explains the burst's figures (on SQLite every write waits for the
//! one writer, so 1 / that cost is the ceiling).
//!
//! The saves: a phone autosaves each answer as it is given, so the default is one call per
//! question (`--quiz-saves 20`), spread over `--quiz-save-secs`. A real learner answers a
//! question every half minute or so (1,000 learners: about 30 calls/s); the default window
//! squeezes 20 minutes of answering into one, so the saves run well above that pace while
//! staying a pattern phones produce. `--quiz-saves 1` sends the 20 answers in one call (a phone
//! that was offline catching up).

mod burst;
mod check;
pub(crate) mod setup;

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;

use crate::app::App;
use crate::post_test::burst::{Burst, Phase, Schedule};
use crate::report::{Table, num};

/// The table section of these figures.
pub const SECTION: &str = "quiz";
/// Starts are spread over this window (the issue: "within one second").
const START_WINDOW: Duration = Duration::from_secs(1);
/// Submits are spread over this window (the issue: "within five seconds").
const SUBMIT_WINDOW: Duration = Duration::from_secs(5);
/// The goal for the submit p99.
const SUBMIT_P99_GOAL_MS: f64 = 1000.0;
/// Learners who take the post-test one at a time after the burst and its checks (other
/// learners than the burst's: a post-test allows one attempt).
const SERIAL: usize = 30;

/// How many learners, and how they save.
#[derive(Debug, Clone, Copy)]
pub struct QuizSettings {
    /// Learners taking the post-test.
    pub learners: usize,
    /// Calls each learner saves its 20 answers in.
    pub saves: usize,
    /// The window the saves are spread over.
    pub save_window: Duration,
}

/// Sets up, runs the burst, checks the database, adds the rows.
///
/// # Errors
/// When setting up, the burst or a check query fails (a failed check is a FAIL row, not an
/// error).
pub async fn run(app: &App, s: &QuizSettings, table: &mut Table) -> anyhow::Result<()> {
    let db = app.database.label();
    eprintln!(
        "{db}: quiz setup: a post-test of {} questions, {} learners ...",
        setup::QUESTIONS,
        s.learners
    );
    let test = Arc::new(
        setup::post_test(app, s.learners + SERIAL)
            .await
            .context("cannot set up the post-test")?,
    );
    table.add(
        SECTION,
        db,
        "setup",
        format!(
            "{} questions (7 kinds), {} points; {} learners in the burst, {SERIAL} one at a time after it",
            setup::QUESTIONS,
            num(test.max_score(), 0),
            num(s.learners as f64, 0),
        ),
    );

    let schedule = Schedule {
        start: START_WINDOW,
        saves: s.saves,
        save: s.save_window,
        submit: SUBMIT_WINDOW,
    };
    eprintln!(
        "{db}: quiz burst: starts over {} s, {} save calls each over {} s, submits over {} s ...",
        START_WINDOW.as_secs_f64(),
        s.saves,
        s.save_window.as_secs_f64(),
        SUBMIT_WINDOW.as_secs_f64()
    );
    let b = burst::run(app.server.addr, &test, s.learners, schedule).await?;
    rows(table, db, s, &b);

    eprintln!("{db}: quiz checks ...");
    let checks = check::run(&app.state().db, &test, s.learners).await?;
    let all_ok = checks.iter().all(check::Check::ok);
    for c in &checks {
        table.add(
            SECTION,
            db,
            format!("check: {} = {}", c.what, num(c.want as f64, 0)),
            format!(
                "{} {}",
                num(c.got as f64, 0),
                if c.ok() { "OK" } else { "FAIL" }
            ),
        );
    }
    // After the checks, which count the burst's attempts only.
    eprintln!("{db}: quiz, {SERIAL} learners one at a time ...");
    let alone = burst::serial(
        app.server.addr,
        &test,
        s.learners..s.learners + SERIAL,
        s.saves,
    )
    .await?;
    table.add(
        SECTION,
        db,
        format!(
            "one learner at a time ({SERIAL}): start / save / submit p50 (ceiling 1/p50 if serialized)"
        ),
        format!(
            "{} / {} / {} ms ({} / {} / {} per s)",
            num(alone.starts.samples.percentile_ms(50.0), 1),
            num(alone.saves.samples.percentile_ms(50.0), 1),
            num(alone.submits.samples.percentile_ms(50.0), 1),
            num(per_sec(&alone.starts), 0),
            num(per_sec(&alone.saves), 0),
            num(per_sec(&alone.submits), 0),
        ),
    );
    if alone.error_count() > 0 {
        table.add(
            SECTION,
            db,
            "one learner at a time: errors",
            alone.error_count().to_string(),
        );
    }
    let p99 = b.submits.samples.percentile_ms(99.0);
    let errors = b.error_count();
    let met = errors == 0 && all_ok && p99 < SUBMIT_P99_GOAL_MS;
    table.add(
        SECTION,
        db,
        format!(
            "goal: no errors, nothing lost, submit p99 < {} ms",
            num(SUBMIT_P99_GOAL_MS, 0)
        ),
        format!(
            "{} (errors {errors}, checks {}, submit p99 {} ms)",
            if met { "MET" } else { "NOT MET" },
            if all_ok { "all OK" } else { "FAILED" },
            num(p99, 1)
        ),
    );
    Ok(())
}

/// The inverse of the median: the rate one at a time.
fn per_sec(p: &Phase) -> f64 {
    1000.0 / p.samples.percentile_ms(50.0).max(f64::EPSILON)
}

fn latency(p: &Phase) -> String {
    format!(
        "{} / {} ms",
        num(p.samples.percentile_ms(50.0), 1),
        num(p.samples.percentile_ms(99.0), 1)
    )
}

fn rows(table: &mut Table, db: &str, s: &QuizSettings, b: &Burst) {
    let n = s.learners as f64;
    let starts = &b.starts;
    let span = starts.span_from_due().as_secs_f64();
    table.add(
        SECTION,
        db,
        format!(
            "startQuizAttempt: {} scheduled uniformly over {} s: achieved starts/s",
            num(n, 0),
            START_WINDOW.as_secs_f64()
        ),
        format!(
            "{} /s ({} ok; first scheduled → last answered {} s)",
            num(starts.samples.ok as f64 / span.max(f64::EPSILON), 0),
            num(starts.samples.ok as f64, 0),
            num(span, 2)
        ),
    );
    table.add(
        SECTION,
        db,
        "startQuizAttempt: p50 / p99 latency (from the scheduled instant)",
        latency(starts),
    );
    let calls = n * s.saves as f64;
    let per_call = setup::QUESTIONS.div_ceil(s.saves);
    table.add(
        SECTION,
        db,
        format!(
            "saveQuizAnswers: {} calls of {per_call} answer(s) per learner over {} s ({} calls/s offered): p50 / p99",
            s.saves,
            s.save_window.as_secs_f64(),
            num(calls / s.save_window.as_secs_f64(), 0)
        ),
        latency(&b.saves),
    );
    let save_span = b.saves.span_from_due().as_secs_f64();
    table.add(
        SECTION,
        db,
        "saveQuizAnswers: first scheduled → last answered (achieved calls/s)",
        format!(
            "{} s ({} /s; {} answers accepted)",
            num(save_span, 2),
            num(b.saves.samples.ok as f64 / save_span.max(f64::EPSILON), 0),
            num(b.answers_accepted as f64, 0)
        ),
    );
    table.add(
        SECTION,
        db,
        format!(
            "submitQuizAttempt: {} scheduled uniformly over {} s: p50 / p99",
            num(n, 0),
            SUBMIT_WINDOW.as_secs_f64()
        ),
        latency(&b.submits),
    );
    table.add(
        SECTION,
        db,
        "submitQuizAttempt: first submit sent → last submit answered",
        format!(
            "{} s ({} graded, {} with the expected score)",
            num(b.submits.span_from_sent().as_secs_f64(), 2),
            num(b.submits.samples.ok as f64, 0),
            num(b.scores_right as f64, 0)
        ),
    );
    table.add(
        SECTION,
        db,
        "errors (all phases)",
        b.error_count().to_string(),
    );
    for (kind, count) in &b.errors {
        table.add(SECTION, db, format!("errors: {kind}"), count.to_string());
    }
    for (kind, first) in &b.first_errors {
        table.add(SECTION, db, format!("first error: {kind}"), first.clone());
    }
}
