//! Housekeeping: the daily `identity.purge` job deletes refresh tokens past their expiry and
//! sign-in counters that no longer count. Like every periodic job it enqueues its successor
//! before it works, and each starting worker makes sure one is queued.

use chrono::{DateTime, Utc};
use jobs::{HandlerError, JobHandler, JobQueue};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};

use crate::Identity;
use crate::entity::{refresh_token, sign_in_throttle};
use crate::error::IdentityError;

/// The job kind of the purge.
pub const PURGE_KIND: &str = "identity.purge";
/// Hours between two purges.
pub const PURGE_EVERY_HOURS: i64 = 24;
/// Attempts of one purge run.
const PURGE_ATTEMPTS: u32 = 3;

/// What [`Identity::purge_expired`] deleted.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Purged {
    /// Refresh tokens past their expiry.
    pub refresh_tokens: u64,
    /// Sign-in counters whose window and lock have both passed.
    pub throttles: u64,
}

impl Identity {
    /// Deletes what can no longer change an answer: refresh tokens past their expiry (a rotated
    /// or revoked one is kept until then, so that its reuse is still caught and ends its
    /// family), and sign-in counters whose counting window and lock are both over (the next
    /// failure would start a fresh count anyway). Run daily by the `identity.purge` job.
    ///
    /// # Errors
    /// INTERNAL on database failure.
    pub async fn purge_expired(&self) -> Result<Purged, IdentityError> {
        let now = self.clock.now();
        let refresh_tokens = refresh_token::Entity::delete_many()
            .filter(refresh_token::Column::ExpiresAt.lt(now))
            .exec(&self.db)
            .await?
            .rows_affected;
        let now_ms = now.timestamp_millis();
        let window_ms = self.settings.failure_window.num_milliseconds();
        let throttles = sign_in_throttle::Entity::delete_many()
            .filter(sign_in_throttle::Column::LockedUntilMs.lt(now_ms))
            .filter(sign_in_throttle::Column::WindowStartMs.lt(now_ms.saturating_sub(window_ms)))
            .exec(&self.db)
            .await?
            .rows_affected;
        Ok(Purged {
            refresh_tokens,
            throttles,
        })
    }
}

/// Enqueues a purge due at `run_at` (now when `None`) unless one is queued; returns whether it
/// enqueued one.
///
/// # Errors
/// When the job queue cannot be written.
pub async fn schedule_purge(
    jobs: &JobQueue,
    run_at: Option<DateTime<Utc>>,
) -> Result<bool, jobs::JobError> {
    jobs.enqueue_unless_queued(PURGE_KIND, serde_json::json!({}), run_at, PURGE_ATTEMPTS)
        .await
}

/// Runs [`Identity::purge_expired`] as a job, after queueing the next run a day later.
pub struct PurgeHandler {
    /// The service whose tables are purged.
    pub identity: Identity,
    /// Where the next run is queued.
    pub jobs: JobQueue,
}

#[async_trait::async_trait]
impl JobHandler for PurgeHandler {
    fn kind(&self) -> &'static str {
        PURGE_KIND
    }

    async fn run(&self, _payload: serde_json::Value) -> Result<(), HandlerError> {
        let next = self.identity.clock.now() + chrono::Duration::hours(PURGE_EVERY_HOURS);
        schedule_purge(&self.jobs, Some(next)).await?;
        let purged = self.identity.purge_expired().await?;
        tracing::info!(
            refresh_tokens = purged.refresh_tokens,
            sign_in_counters = purged.throttles,
            "identity purge done"
        );
        Ok(())
    }
}
