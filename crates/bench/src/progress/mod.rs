//! Progress: phone sync batches ingested over HTTP GraphQL by thousands of simulated learners
//! on an open-loop schedule, the saturation point, the same rows written straight into the
//! table as a baseline, and dashboard and roster reads under 200 concurrent users.

mod direct;
pub(crate) mod http;
mod ingest;
mod reads;
pub(crate) mod setup;

use std::time::Duration;

use anyhow::Context as _;
use progress::entity::progress_event;
use sea_orm::{EntityTrait, PaginatorTrait};

use crate::app::App;
use crate::progress::ingest::{Cursor, EVENTS_PER_BATCH, Ingested, Offer};
use crate::report::{Table, num};

/// The table section of these figures.
pub const SECTION: &str = "progress";
/// Time between one learner's batches in the main run (a phone flushing every 10 s).
const INTERVAL: Duration = Duration::from_secs(10);
/// The p99 a run may reach and still count as sustainable.
const SUSTAINABLE_P99_MS: f64 = 1000.0;
/// Share of the offered events a sustainable run accepts within its time.
const SUSTAINABLE_SHARE: f64 = 0.95;
/// Offered load grows by this factor per saturation step.
const STEP_FACTOR: f64 = 1.5;
/// Saturation steps at most.
const MAX_STEPS: usize = 8;
/// Steps that narrow the saturation point once a step was not sustained: four leave the last
/// sustained and the first unsustained load within 2.6 % of each other (two left 10.7 %).
const BISECTIONS: usize = 4;
/// The goals.
const RATIO_GOAL: f64 = 0.5;
const P99_GOAL_MS: f64 = 100.0;
/// Warm-up of the read runs.
const READ_WARMUP: Duration = Duration::from_secs(2);

/// How hard and how long.
#[derive(Debug, Clone, Copy)]
pub struct ProgressSettings {
    /// Learners in the main run.
    pub learners: usize,
    /// The main run's window.
    pub ingest: Duration,
    /// Each saturation step's window.
    pub step: Duration,
    /// The baseline's window per mode.
    pub direct: Duration,
    /// Concurrent users of the read runs.
    pub readers: usize,
    /// Enrollments in the roster cohort.
    pub roster: usize,
    /// The read runs' window.
    pub read: Duration,
}

async fn event_rows(app: &App) -> anyhow::Result<u64> {
    progress_event::Entity::find()
        .count(&app.state().db)
        .await
        .context("cannot count progress_events")
}

/// Whether a run kept up with what it was offered.
fn sustainable(r: &Ingested, offer: &Offer) -> bool {
    r.requests.errors == 0
        && r.rejected == 0
        && r.requests.percentile_ms(99.0) <= SUSTAINABLE_P99_MS
        && r.events_per_sec() >= SUSTAINABLE_SHARE * offer.events_per_sec()
}

/// Sets up, measures everything on `app`, adds the rows.
///
/// # Errors
/// When setting up or a run fails, or the stored rows disagree with what was accepted.
pub async fn run(app: &App, s: &ProgressSettings, table: &mut Table) -> anyhow::Result<()> {
    let db = app.database.label();
    eprintln!(
        "{db}: progress setup: course, {} learners, a cohort of {} ...",
        s.learners, s.roster
    );
    let course = setup::course(app)
        .await
        .context("cannot set up the course")?;
    let cohort = setup::cohort(app, &course, "Angkatan beban").await?;
    let learners = setup::learners(app, &course, cohort, "lrn", s.learners, false).await?;
    let big = setup::cohort(app, &course, "Angkatan besar").await?;
    setup::learners(app, &course, big, "ros", s.roster, true).await?;
    table.add(
        SECTION,
        db,
        "setup",
        format!(
            "{} video lessons of {} s; batch = {EVENTS_PER_BATCH} events (5 PLAYED 2 s segments + 5 POSITION)",
            setup::LESSONS,
            setup::VIDEO_SECONDS
        ),
    );
    let mut cursors = vec![Cursor::default(); learners.len()];

    // 1. The main run.
    let main = Offer {
        learners: s.learners,
        interval: INTERVAL,
        window: s.ingest,
    };
    eprintln!(
        "{db}: progress ingestion, {} learners every {} s for {} s ...",
        main.learners,
        main.interval.as_secs_f64(),
        main.window.as_secs()
    );
    let r = checked_run(app, &learners, &course.lessons, &mut cursors, main, table).await?;
    let name = format!(
        "syncProgress, {} learners × {EVENTS_PER_BATCH} events / {} s (offered {} events/s, {} s)",
        num(main.learners as f64, 0),
        main.interval.as_secs_f64(),
        num(main.events_per_sec(), 0),
        main.window.as_secs()
    );
    table.add(
        SECTION,
        db,
        format!("{name}: accepted events/s"),
        num(r.events_per_sec(), 0),
    );
    let p99 = r.requests.percentile_ms(99.0);
    table.add(
        SECTION,
        db,
        format!("{name}: request p50 / p99"),
        format!(
            "{} / {} ms ({} goal p99 < {P99_GOAL_MS} ms)",
            num(r.requests.percentile_ms(50.0), 1),
            num(p99, 1),
            if p99 < P99_GOAL_MS { "meets" } else { "BELOW" }
        ),
    );
    table.add(
        SECTION,
        db,
        format!("{name}: errors / rejected events"),
        format!("{} / {}", r.requests.errors, r.rejected),
    );
    if let Some(e) = &r.first_error {
        table.add(SECTION, db, format!("{name}: first error"), e.clone());
    }

    // 2. Saturation: shorter intervals for the same learners until it stops keeping up.
    let mut best = sustainable(&r, &main).then(|| (main, r.events_per_sec(), p50_p99(&r)));
    let mut previous = r.events_per_sec();
    let mut factor = 1.0;
    let going_up = best.is_some();
    // The last sustained and the first unsustained factor, once the climb has found both.
    let mut bracket: Option<(f64, f64)> = None;
    let mut steps = Vec::with_capacity(MAX_STEPS + BISECTIONS);
    for _ in 0..MAX_STEPS {
        let last = factor;
        factor = if going_up {
            factor * STEP_FACTOR
        } else {
            factor / 2.0
        };
        let (r, ok) = step(
            app,
            &learners,
            &course.lessons,
            &mut cursors,
            s,
            factor,
            table,
        )
        .await?;
        steps.push((factor, r.events_per_sec(), ok, p50_p99(&r)));
        let rising = r.events_per_sec() > previous * 1.05;
        previous = r.events_per_sec();
        if going_up && !ok {
            bracket = Some((last, factor));
        }
        if going_up && (!ok || !rising) || !going_up && ok {
            break;
        }
    }
    // Between the last sustained step and the first that was not, the ×1.5 grid leaves a third
    // of the range unexplored: halve it (geometrically) BISECTIONS times.
    if let Some((mut low, mut high)) = bracket {
        for _ in 0..BISECTIONS {
            let mid = (low * high).sqrt();
            let (r, ok) =
                step(app, &learners, &course.lessons, &mut cursors, s, mid, table).await?;
            steps.push((mid, r.events_per_sec(), ok, p50_p99(&r)));
            if ok {
                low = mid;
            } else {
                high = mid;
            }
        }
    }
    for (factor, rate, ok, latency) in steps {
        if ok && best.as_ref().is_none_or(|b| rate > b.1) {
            let offer = Offer {
                learners: s.learners,
                interval: INTERVAL.div_f64(factor),
                window: s.step,
            };
            best = Some((offer, rate, latency));
        }
    }
    let api_rate = best.as_ref().map_or(0.0, |b| b.1);
    table.add(
        SECTION,
        db,
        format!(
            "highest sustainable ingestion (p99 ≤ {SUSTAINABLE_P99_MS} ms, ≥ {}% accepted in time, no errors)",
            SUSTAINABLE_SHARE * 100.0
        ),
        match &best {
            Some((offer, rate, lat)) => format!(
                "{} events/s (offered {}), p50 / p99 {lat} ms",
                num(*rate, 0),
                num(offer.events_per_sec(), 0)
            ),
            None => "none of the steps".into(),
        },
    );

    // 3. The baseline.
    let lesson = *course.lessons.first().context("no lesson")?;
    let mut rates = Vec::new();
    for (what, per_insert) in [
        ("direct INSERT, 1 row each", 1),
        (
            "direct INSERT, 10 rows each (one phone batch)",
            EVENTS_PER_BATCH,
        ),
        ("direct INSERT, 500 rows each", direct::BATCH_ROWS),
    ] {
        eprintln!("{db}: {what} ...");
        let before = event_rows(app).await?;
        let w = direct::run(app, &learners, lesson, per_insert, s.direct).await?;
        let added = event_rows(app).await? - before;
        anyhow::ensure!(
            added == w.rows,
            "{what}: {added} rows stored, {} written",
            w.rows
        );
        table.add(
            SECTION,
            db,
            format!(
                "{what} ({} writers, {} s): rows/s",
                direct::WRITERS,
                num(w.elapsed.as_secs_f64(), 1)
            ),
            num(w.per_sec(), 0),
        );
        rates.push(w.per_sec());
    }
    if let [single, phone, batched] = rates[..] {
        let to_batched = api_rate / batched;
        table.add(
            SECTION,
            db,
            "API (highest sustainable) / direct batched",
            format!(
                "{} ({} goal {RATIO_GOAL:.2})",
                num(to_batched, 3),
                if to_batched >= RATIO_GOAL {
                    "meets"
                } else {
                    "BELOW"
                }
            ),
        );
        table.add(
            SECTION,
            db,
            "API (highest sustainable) / direct 10-row batches",
            num(api_rate / phone, 3),
        );
        table.add(
            SECTION,
            db,
            "API (highest sustainable) / direct single-row",
            num(api_rate / single, 3),
        );
    }

    // 4. Reads by 200 different users at once.
    let readers: Vec<String> = learners
        .iter()
        .take(s.readers)
        .map(|l| l.token.clone())
        .collect();
    eprintln!("{db}: myLearning, {} learners ...", readers.len());
    let dash = reads::run(app, &readers, reads::Read::MyLearning, READ_WARMUP, s.read).await?;
    read_rows(
        table,
        db,
        &format!("myLearning ({} learners at once)", readers.len()),
        &dash,
        s.read,
    );
    let admins = vec![course.admin_token.clone(); s.readers];
    eprintln!("{db}: cohortRoster, {} clients ...", admins.len());
    let roster = reads::run(app, &admins, reads::Read::Roster(big), READ_WARMUP, s.read).await?;
    read_rows(
        table,
        db,
        &format!(
            "cohortRoster(first: {}) by progress, {} enrollments, pages 1-{} ({} clients)",
            reads::PAGE,
            num(s.roster as f64, 0),
            reads::PAGES_DEEP,
            admins.len()
        ),
        &roster,
        s.read,
    );
    Ok(())
}

/// One saturation step: the main run's learners, each sending `factor` times as often; the
/// row it adds, and whether it was sustained.
async fn step(
    app: &App,
    learners: &[setup::Learner],
    lessons: &[uuid::Uuid],
    cursors: &mut [Cursor],
    s: &ProgressSettings,
    factor: f64,
    table: &mut Table,
) -> anyhow::Result<(Ingested, bool)> {
    let db = app.database.label();
    let offer = Offer {
        learners: s.learners,
        interval: INTERVAL.div_f64(factor),
        window: s.step,
    };
    eprintln!(
        "{db}: saturation step, offered {} events/s ...",
        num(offer.events_per_sec(), 0)
    );
    let r = checked_run(app, learners, lessons, cursors, offer, table).await?;
    let ok = sustainable(&r, &offer);
    table.add(
        SECTION,
        db,
        format!(
            "step: offered {} events/s (every {} s, {} s)",
            num(offer.events_per_sec(), 0),
            num(offer.interval.as_secs_f64(), 2),
            offer.window.as_secs()
        ),
        format!(
            "accepted {} events/s, p50 / p99 {} ms, errors {}{}",
            num(r.events_per_sec(), 0),
            p50_p99(&r),
            r.requests.errors,
            if ok { "" } else { " (not sustained)" }
        ),
    );
    Ok((r, ok))
}

fn p50_p99(r: &Ingested) -> String {
    format!(
        "{} / {}",
        num(r.requests.percentile_ms(50.0), 1),
        num(r.requests.percentile_ms(99.0), 1)
    )
}

/// One ingestion run, checked against the table afterwards: rows added = events accepted.
async fn checked_run(
    app: &App,
    learners: &[setup::Learner],
    lessons: &[uuid::Uuid],
    cursors: &mut [Cursor],
    offer: Offer,
    table: &mut Table,
) -> anyhow::Result<Ingested> {
    let before = event_rows(app).await?;
    let r = ingest::run(app, learners, lessons, cursors, offer).await?;
    let added = event_rows(app).await? - before;
    let db = app.database.label();
    if added != r.accepted {
        table.add(
            SECTION,
            db,
            format!(
                "CHECK FAILED at {} events/s offered",
                num(offer.events_per_sec(), 0)
            ),
            format!("{added} rows stored, {} accepted", r.accepted),
        );
        anyhow::bail!(
            "{added} progress_events rows stored, {} accepted",
            r.accepted
        );
    }
    table.add(
        SECTION,
        db,
        format!(
            "check at {} events/s offered: rows added to progress_events = accepted",
            num(offer.events_per_sec(), 0)
        ),
        format!("{} = {}", num(added as f64, 0), num(r.accepted as f64, 0)),
    );
    Ok(r)
}

fn read_rows(table: &mut Table, db: &str, name: &str, r: &http::Samples, window: Duration) {
    table.add(
        SECTION,
        db,
        format!("{name}: requests/s"),
        num(r.ok as f64 / window.as_secs_f64(), 0),
    );
    table.add(
        SECTION,
        db,
        format!("{name}: p50 / p99 latency"),
        format!(
            "{} / {} ms",
            num(r.percentile_ms(50.0), 1),
            num(r.percentile_ms(99.0), 1)
        ),
    );
    table.add(SECTION, db, format!("{name}: errors"), r.errors.to_string());
}
