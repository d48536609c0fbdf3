//! The baseline: the same kind of rows written straight into `progress_events` through the
//! app's own pool (sea-orm over sqlx), with no validation, no interval merge and no lesson or
//! enrollment update: one row per INSERT, then [`BATCH_ROWS`] rows per INSERT.
//!
//! The rows come as the phones send them: runs of [`EVENTS_PER_BATCH`] rows of one learner,
//! learner after learner. The order matters to the table's indexes: the replay index is keyed
//! by enrollment first, so ten rows of one learner land on one index page, while ten rows of ten
//! learners touch ten pages.

use std::time::{Duration, Instant};

use anyhow::Context as _;
use chrono::Utc;
use progress::entity::progress_event;
use sea_orm::{EntityTrait, Set};
use uuid::Uuid;

use crate::app::App;
use crate::progress::ingest::EVENTS_PER_BATCH;
use crate::progress::setup::{Learner, VIDEO_SECONDS};

/// Rows per INSERT in the batched baseline.
pub const BATCH_ROWS: usize = 500;
/// Concurrent writers on each side of the baseline, each with its own pooled connection.
pub const WRITERS: usize = 4;

/// Rows written and the time taken.
#[derive(Debug, Clone, Copy)]
pub struct Written {
    /// Rows inserted.
    pub rows: u64,
    /// Wall time.
    pub elapsed: Duration,
}

impl Written {
    /// Rows per second.
    pub fn per_sec(&self) -> f64 {
        self.rows as f64 / self.elapsed.as_secs_f64()
    }
}

/// A row like those the API stores: alternately a played segment and a position.
fn row(learner: &Learner, lesson: Uuid, n: u64) -> progress_event::ActiveModel {
    let now = Utc::now();
    let from = (n / 2) as f64 * 2.0 % (VIDEO_SECONDS - 2.0);
    let played = n.is_multiple_of(2);
    progress_event::ActiveModel {
        id: Set(kernel::new_id()),
        client_event_id: Set(Uuid::new_v4()),
        person_id: Set(learner.person_id),
        enrollment_id: Set(learner.enrollment_id),
        lesson_id: Set(lesson),
        kind: Set(if played { "played" } else { "position" }.into()),
        from_seconds: Set(played.then_some(from)),
        to_seconds: Set(played.then_some(from + 2.0)),
        position_seconds: Set((!played).then_some(from + 2.0)),
        page: Set(None),
        occurred_at: Set(now),
        received_at: Set(now),
    }
}

/// Inserts rows with [`WRITERS`] tasks for `window`, `per_insert` rows per statement (each its
/// own autocommit transaction); returns the rows written.
///
/// # Errors
/// When an insert fails or a task panics.
pub async fn run(
    app: &App,
    learners: &[Learner],
    lesson: Uuid,
    per_insert: usize,
    window: Duration,
) -> anyhow::Result<Written> {
    anyhow::ensure!(!learners.is_empty(), "no learners to write for");
    let started = Instant::now();
    let end = started + window;
    let mut tasks = Vec::with_capacity(WRITERS);
    for w in 0..WRITERS {
        let db = app.state().db.clone();
        let learners = learners.to_vec();
        tasks.push(tokio::spawn(async move {
            // This writer's rows: its own run of phone batches, interleaved with the others'.
            let mut k = 0u64;
            let mut rows = 0u64;
            while Instant::now() < end {
                let batch: Vec<_> = (0..per_insert)
                    .map(|_| {
                        let phone_batch = k / EVENTS_PER_BATCH as u64 * WRITERS as u64 + w as u64;
                        let learner = &learners[phone_batch as usize % learners.len()];
                        k += 1;
                        row(learner, lesson, k)
                    })
                    .collect();
                progress_event::Entity::insert_many(batch)
                    .exec_without_returning(&db)
                    .await
                    .with_context(|| format!("an insert of {per_insert} rows failed"))?;
                rows += per_insert as u64;
            }
            anyhow::Ok(rows)
        }));
    }
    let mut rows = 0;
    for t in tasks {
        rows += t.await.context("a writer panicked")??;
    }
    Ok(Written {
        rows,
        elapsed: started.elapsed(),
    })
}
