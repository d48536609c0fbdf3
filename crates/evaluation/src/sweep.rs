//! The periodic sweep: issues the certificates that became due, asks the follow-up surveys that
//! are due, sends reminders and closes unanswered requests.
//!
//! It is a job (`evaluation.sweep`) that schedules its successor before it works, so a failing
//! run (retried by the queue) does not end the chain. Workers call
//! [`Evaluation::schedule_sweep`] when they start; it enqueues a run only when none is queued,
//! and a run enqueues the next one only when no other is queued, so replicas converge on one
//! chain. Every step is idempotent, so two sweeps at once are harmless. Time comes from the
//! service's clock: a test moves a manual clock and the next run is due.

use chrono::{DateTime, Utc};
use jobs::{HandlerError, JobHandler};

use crate::Evaluation;
use crate::error::EvaluationError;

/// The job kind of the sweep.
pub const SWEEP_KIND: &str = "evaluation.sweep";

/// Attempts of one sweep run.
const SWEEP_ATTEMPTS: u32 = 3;

/// What one sweep did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SweepReport {
    /// Certificates issued.
    pub certificates_issued: usize,
    /// Follow-up requests created.
    pub follow_ups_requested: usize,
    /// Reminders sent.
    pub reminders_sent: usize,
    /// Requests closed after their last reminder.
    pub follow_ups_closed: usize,
}

impl Evaluation {
    /// Runs every step of the sweep once, now.
    ///
    /// # Errors
    /// INTERNAL on database failure (the steps already done stay done).
    pub async fn sweep(&self) -> Result<SweepReport, EvaluationError> {
        let certificates_issued = self.issue_due_certificates().await?;
        let f = self.sweep_follow_ups().await?;
        Ok(SweepReport {
            certificates_issued,
            follow_ups_requested: f.requested,
            reminders_sent: f.reminded,
            follow_ups_closed: f.closed,
        })
    }

    /// Runs the sweep now on an admin's request (with `follow_ups` false, only the
    /// certificates); audited.
    ///
    /// # Errors
    /// FORBIDDEN for non-admins; INTERNAL on database failure.
    pub async fn run_sweep(
        &self,
        actor: &kernel::Actor,
        follow_ups: bool,
    ) -> Result<SweepReport, EvaluationError> {
        if !actor.is_admin() {
            return Err(EvaluationError::Forbidden);
        }
        let report = if follow_ups {
            self.sweep().await?
        } else {
            SweepReport {
                certificates_issued: self.issue_due_certificates().await?,
                ..SweepReport::default()
            }
        };
        let txn = kernel::db::begin_write(&self.db).await?;
        identity::audit::record(
            &txn,
            actor,
            self.clock.now(),
            "evaluation.run_sweep",
            "evaluation",
            SWEEP_KIND,
            serde_json::json!({
                "followUps": follow_ups,
                "certificatesIssued": report.certificates_issued,
                "followUpsRequested": report.follow_ups_requested,
                "remindersSent": report.reminders_sent,
                "followUpsClosed": report.follow_ups_closed,
            }),
        )
        .await?;
        txn.commit().await?;
        Ok(report)
    }

    /// Enqueues a sweep due at `run_at` (now when `None`) unless one is already queued.
    /// Returns whether it enqueued one.
    ///
    /// # Errors
    /// INTERNAL on database failure.
    pub async fn schedule_sweep(
        &self,
        run_at: Option<DateTime<Utc>>,
    ) -> Result<bool, EvaluationError> {
        Ok(self
            .jobs
            .enqueue_unless_queued(SWEEP_KIND, serde_json::json!({}), run_at, SWEEP_ATTEMPTS)
            .await?)
    }
}

/// Runs [`Evaluation::sweep`] as a job.
pub struct SweepHandler(pub Evaluation);

#[async_trait::async_trait]
impl JobHandler for SweepHandler {
    fn kind(&self) -> &'static str {
        SWEEP_KIND
    }

    async fn run(&self, _payload: serde_json::Value) -> Result<(), HandlerError> {
        let ev = &self.0;
        ev.schedule_sweep(Some(ev.clock.now() + ev.settings.sweep_interval))
            .await?;
        let report = ev.sweep().await?;
        if report != SweepReport::default() {
            tracing::info!(
                sweep.certificates_issued = report.certificates_issued,
                sweep.follow_ups_requested = report.follow_ups_requested,
                sweep.reminders_sent = report.reminders_sent,
                sweep.follow_ups_closed = report.follow_ups_closed,
                "evaluation sweep"
            );
        }
        Ok(())
    }
}
