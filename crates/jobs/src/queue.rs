//! The queue itself: enqueue, claim with a lease, record the outcome (retrying with exponential
//! backoff), and the admin's view (list, retry).
//!
//! A lease is held by the pair (`locked_by`, `attempts`): every claim increments `attempts`, so a
//! worker whose lease expired and whose job was claimed again (even by the same worker) can no
//! longer complete, fail, renew or release it. Every write below is a single guarded statement.

use std::fmt;
use std::time::Duration;

use chrono::{DateTime, Utc};
use kernel::pagination::{Page, encode_cursor};
use kernel::{Actor, SharedClock};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, DatabaseConnection, DbBackend, EntityTrait, ExprTrait,
    FromQueryResult, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect, Set, Statement,
};
use uuid::Uuid;

use crate::JobError;
use crate::entity::{self, Column, Entity, Status};

/// The longest job kind the `jobs.kind` column holds.
pub const MAX_KIND_LEN: usize = 100;
/// The longest worker id the `jobs.locked_by` column holds.
pub const MAX_WORKER_ID_LEN: usize = 100;
/// Error texts are cut to this many characters before they are stored.
pub const MAX_ERROR_LEN: usize = 4000;

/// Where a job is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, async_graphql::Enum)]
pub enum JobState {
    /// Waiting until it is due.
    Queued,
    /// Held by a worker under a lease.
    Running,
    /// Done.
    Succeeded,
    /// Gave up after its last attempt; `last_error` says why. An admin may retry it.
    Failed,
}

impl JobState {
    /// The stable lower-case name, as stored.
    pub fn as_str(self) -> &'static str {
        match self {
            JobState::Queued => "queued",
            JobState::Running => "running",
            JobState::Succeeded => "succeeded",
            JobState::Failed => "failed",
        }
    }
}

impl fmt::Display for JobState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl From<Status> for JobState {
    fn from(s: Status) -> Self {
        match s {
            Status::Queued => JobState::Queued,
            Status::Running => JobState::Running,
            Status::Succeeded => JobState::Succeeded,
            Status::Failed => JobState::Failed,
        }
    }
}

impl From<JobState> for Status {
    fn from(s: JobState) -> Self {
        match s {
            JobState::Queued => Status::Queued,
            JobState::Running => Status::Running,
            JobState::Succeeded => Status::Succeeded,
            JobState::Failed => Status::Failed,
        }
    }
}

/// How long a failed attempt waits before the next: `base · 2^(attempt − 1)`, at most `max`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    /// The wait after the first failed attempt.
    pub base: Duration,
    /// The longest wait.
    pub max: Duration,
}

impl Default for Backoff {
    /// 1 s, 2 s, 4 s, ... up to one hour.
    fn default() -> Self {
        Backoff {
            base: Duration::from_secs(1),
            max: Duration::from_secs(3600),
        }
    }
}

impl Backoff {
    /// The wait after failed attempt number `attempt` (1 for the first).
    pub fn delay(&self, attempt: u32) -> Duration {
        let exponent = Ord::min(attempt.saturating_sub(1), 31);
        self.base
            .checked_mul(1u32 << exponent)
            .map_or(self.max, |d| d.min(self.max))
    }
}

/// A job as the admin sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Job {
    /// Its id.
    pub id: Uuid,
    /// Which handler runs it.
    pub kind: String,
    /// Where it is in its life.
    pub state: JobState,
    /// Attempts so far (the running one included).
    pub attempts: u32,
    /// Attempts allowed.
    pub max_attempts: u32,
    /// When it is (or was) due.
    pub run_at: DateTime<Utc>,
    /// When the current lease ends, while running.
    pub lease_until: Option<DateTime<Utc>>,
    /// The worker holding the lease, while running.
    pub locked_by: Option<String>,
    /// The error of the latest failed attempt, kept after a retry or a later success.
    pub last_error: Option<String>,
    /// When it was enqueued.
    pub created_at: DateTime<Utc>,
    /// When it last changed.
    pub updated_at: DateTime<Utc>,
}

impl Job {
    fn from_model(m: entity::Model) -> Result<Self, JobError> {
        Ok(Job {
            id: m.id,
            kind: m.kind,
            state: m.state.into(),
            attempts: count(m.attempts, "attempts")?,
            max_attempts: count(m.max_attempts, "max_attempts")?,
            run_at: instant(m.run_at_ms, "run_at_ms")?,
            lease_until: m
                .lease_until_ms
                .map(|ms| instant(ms, "lease_until_ms"))
                .transpose()?,
            locked_by: m.locked_by,
            last_error: m.last_error,
            created_at: instant(m.created_at_ms, "created_at_ms")?,
            updated_at: instant(m.updated_at_ms, "updated_at_ms")?,
        })
    }

    /// The opaque cursor that pages after this job.
    pub fn cursor(&self) -> String {
        encode_cursor(&self.id.to_string())
    }
}

/// One page of [`JobQueue::list`], newest job first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobPage {
    /// The jobs on this page.
    pub jobs: Vec<Job>,
    /// Whether another page follows the last job.
    pub has_next_page: bool,
}

/// A job a worker has claimed and holds under a lease.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClaimedJob {
    /// Its id.
    pub id: Uuid,
    /// Which handler runs it.
    pub kind: String,
    /// This attempt's number, from 1.
    pub attempt: u32,
    /// Attempts allowed.
    pub max_attempts: u32,
    /// When the lease taken by the claim ends (renewals move it on in the database).
    pub lease_until: DateTime<Utc>,
    payload: String,
}

impl ClaimedJob {
    /// The handler's input.
    ///
    /// # Errors
    /// When the stored payload is not JSON (only possible if the row was edited by hand).
    pub fn payload(&self) -> Result<serde_json::Value, serde_json::Error> {
        serde_json::from_str(&self.payload)
    }

    /// Whether a failure of this attempt is final.
    pub fn is_last_attempt(&self) -> bool {
        self.attempt >= self.max_attempts
    }
}

/// What [`JobQueue::fail`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailOutcome {
    /// The job is queued again, due at `run_at`.
    Retrying {
        /// When the next attempt is due.
        run_at: DateTime<Utc>,
    },
    /// That was the last attempt: the job is failed.
    GaveUp,
    /// The worker no longer held the lease; nothing was written.
    LeaseLost,
}

/// Whether a job of `kind` (with `payload`, when given) is queued on `conn`.
async fn queued<C: ConnectionTrait>(
    conn: &C,
    kind: &str,
    payload: Option<&serde_json::Value>,
) -> Result<bool, JobError> {
    let mut find = Entity::find()
        .filter(Column::Kind.eq(kind))
        .filter(Column::State.eq(Status::Queued));
    if let Some(payload) = payload {
        find = find.filter(Column::Payload.eq(payload.to_string()));
    }
    Ok(find.count(conn).await? > 0)
}

/// The durable job queue on the platform's database.
#[derive(Debug, Clone)]
pub struct JobQueue {
    db: DatabaseConnection,
    clock: SharedClock,
    backoff: Backoff,
}

impl JobQueue {
    /// A queue on `db` that reads the time from `clock`, with the default [`Backoff`].
    pub fn new(db: DatabaseConnection, clock: SharedClock) -> Self {
        JobQueue {
            db,
            clock,
            backoff: Backoff::default(),
        }
    }

    /// The same queue with another retry backoff.
    pub fn with_backoff(mut self, backoff: Backoff) -> Self {
        self.backoff = backoff;
        self
    }

    /// The retry backoff.
    pub fn backoff(&self) -> Backoff {
        self.backoff
    }

    /// The clock the queue reads.
    pub fn clock(&self) -> &SharedClock {
        &self.clock
    }

    /// Enqueues a job of `kind`, due at `run_at` (now when `None`), that may be attempted
    /// `max_attempts` times. Returns its id.
    ///
    /// # Errors
    /// [`JobError::InvalidInput`] for an empty or too long kind or zero attempts;
    /// [`JobError::Database`] when the insert fails.
    pub async fn enqueue(
        &self,
        kind: &str,
        payload: serde_json::Value,
        run_at: Option<DateTime<Utc>>,
        max_attempts: u32,
    ) -> Result<Uuid, JobError> {
        self.enqueue_in(&self.db, kind, payload, run_at, max_attempts)
            .await
    }

    /// [`JobQueue::enqueue`] on `conn`, typically the caller's own transaction, so the job exists
    /// exactly when the caller's change commits.
    ///
    /// # Errors
    /// As [`JobQueue::enqueue`].
    pub async fn enqueue_in<C: ConnectionTrait>(
        &self,
        conn: &C,
        kind: &str,
        payload: serde_json::Value,
        run_at: Option<DateTime<Utc>>,
        max_attempts: u32,
    ) -> Result<Uuid, JobError> {
        if kind.trim().is_empty() || kind.chars().count() > MAX_KIND_LEN {
            return Err(JobError::InvalidInput(format!(
                "a job kind must have 1 to {MAX_KIND_LEN} characters"
            )));
        }
        let max_attempts = i32::try_from(max_attempts)
            .ok()
            .filter(|n| *n >= 1)
            .ok_or_else(|| {
                JobError::InvalidInput("`max_attempts` must be at least 1".to_owned())
            })?;
        let now = millis(self.clock.now());
        let id = kernel::new_id();
        let row = entity::ActiveModel {
            id: Set(id),
            kind: Set(kind.to_owned()),
            payload: Set(payload.to_string()),
            state: Set(Status::Queued),
            attempts: Set(0),
            max_attempts: Set(max_attempts),
            run_at_ms: Set(run_at.map_or(now, millis)),
            lease_until_ms: Set(None),
            locked_by: Set(None),
            last_error: Set(None),
            created_at_ms: Set(now),
            updated_at_ms: Set(now),
        };
        Entity::insert(row).exec_without_returning(conn).await?;
        tracing::debug!(job.id = %id, job.kind = kind, "job enqueued");
        Ok(id)
    }

    /// [`JobQueue::enqueue_in`] unless a job of `kind` with the same payload is still queued:
    /// many changes in a row leave one job to act on them all. A running job does not count, as
    /// it may have read what came before the change. Returns whether it enqueued one. Callers
    /// serialise their changes (a row lock, a write transaction), so two cannot both enqueue.
    ///
    /// # Errors
    /// As [`JobQueue::enqueue`].
    pub async fn enqueue_once_in<C: ConnectionTrait>(
        &self,
        conn: &C,
        kind: &str,
        payload: serde_json::Value,
        run_at: Option<DateTime<Utc>>,
        max_attempts: u32,
    ) -> Result<bool, JobError> {
        if queued(conn, kind, Some(&payload)).await? {
            return Ok(false);
        }
        self.enqueue_in(conn, kind, payload, run_at, max_attempts)
            .await?;
        Ok(true)
    }

    /// Enqueues a job of `kind` due at `run_at` (now when `None`) unless one of that kind is
    /// already queued: the way a periodic job (one that enqueues its own successor) is started
    /// by every worker without piling up copies. Returns whether it enqueued one.
    ///
    /// # Errors
    /// As [`JobQueue::enqueue`].
    pub async fn enqueue_unless_queued(
        &self,
        kind: &str,
        payload: serde_json::Value,
        run_at: Option<DateTime<Utc>>,
        max_attempts: u32,
    ) -> Result<bool, JobError> {
        // The write transaction makes the check and the insert one step: two workers starting
        // together do not both enqueue.
        let txn = kernel::db::begin_write(&self.db).await?;
        if queued(&txn, kind, None).await? {
            return Ok(false);
        }
        self.enqueue_in(&txn, kind, payload, run_at, max_attempts)
            .await?;
        txn.commit().await?;
        Ok(true)
    }

    /// Atomically claims the oldest due job for `worker_id` and holds it for `lease`: a queued
    /// job whose `run_at` has come, or a running job whose lease expired (its worker stopped).
    /// Running jobs whose lease expired on their last attempt are marked failed first.
    ///
    /// # Errors
    /// [`JobError::InvalidInput`] for an empty or too long worker id; [`JobError::Database`];
    /// [`JobError::CorruptRow`] when the claimed row cannot be read.
    pub async fn claim(
        &self,
        worker_id: &str,
        lease: Duration,
    ) -> Result<Option<ClaimedJob>, JobError> {
        if worker_id.is_empty() || worker_id.chars().count() > MAX_WORKER_ID_LEN {
            return Err(JobError::InvalidInput(format!(
                "a worker id must have 1 to {MAX_WORKER_ID_LEN} characters"
            )));
        }
        let now = millis(self.clock.now());
        self.give_up_expired(now).await?;
        let backend = self.db.get_database_backend();
        let stmt = Statement::from_sql_and_values(
            backend,
            claim_sql(backend),
            [
                worker_id.into(),
                now.saturating_add(millis_of(lease)).into(),
                now.into(),
            ],
        );
        // `query_all` drains the statement, so SQLite's implicit transaction ends here.
        let Some(row) = self.db.query_all_raw(stmt).await?.into_iter().next() else {
            return Ok(None);
        };
        let m = entity::Model::from_query_result(&row, "")?;
        Ok(Some(ClaimedJob {
            id: m.id,
            kind: m.kind,
            attempt: count(m.attempts, "attempts")?,
            max_attempts: count(m.max_attempts, "max_attempts")?,
            lease_until: m
                .lease_until_ms
                .map(|ms| instant(ms, "lease_until_ms"))
                .transpose()?
                .ok_or_else(|| JobError::CorruptRow("claimed job without a lease".into()))?,
            payload: m.payload,
        }))
    }

    /// Extends the lease on `job` to `lease` from now. Returns `false` when `worker_id` no
    /// longer holds it (the worker should stop the job).
    ///
    /// # Errors
    /// [`JobError::Database`].
    pub async fn renew(
        &self,
        job: &ClaimedJob,
        worker_id: &str,
        lease: Duration,
    ) -> Result<bool, JobError> {
        let now = millis(self.clock.now());
        let res = Entity::update_many()
            .col_expr(
                Column::LeaseUntilMs,
                Expr::value(now.saturating_add(millis_of(lease))),
            )
            .col_expr(Column::UpdatedAtMs, Expr::value(now))
            .filter(held(job, worker_id))
            .exec(&self.db)
            .await?;
        Ok(res.rows_affected == 1)
    }

    /// Records that `job` succeeded. Returns `false`, writing nothing, when `worker_id` no longer
    /// holds the lease.
    ///
    /// # Errors
    /// [`JobError::Database`].
    pub async fn complete(&self, job: &ClaimedJob, worker_id: &str) -> Result<bool, JobError> {
        let now = millis(self.clock.now());
        let res = Entity::update_many()
            .col_expr(Column::State, Expr::value(Status::Succeeded))
            .col_expr(Column::LeaseUntilMs, Expr::value(Option::<i64>::None))
            .col_expr(Column::LockedBy, Expr::value(Option::<String>::None))
            .col_expr(Column::UpdatedAtMs, Expr::value(now))
            .filter(held(job, worker_id))
            .exec(&self.db)
            .await?;
        Ok(res.rows_affected == 1)
    }

    /// Records that `job` failed with `error`: queued again after the backoff while attempts
    /// remain, else failed for good. `last_error` keeps `error` either way. Writes nothing when
    /// `worker_id` no longer holds the lease.
    ///
    /// # Errors
    /// [`JobError::Database`].
    pub async fn fail(
        &self,
        job: &ClaimedJob,
        worker_id: &str,
        error: &str,
    ) -> Result<FailOutcome, JobError> {
        let now = self.clock.now();
        let (state, run_at) = if job.is_last_attempt() {
            (Status::Failed, None)
        } else {
            let wait = chrono::Duration::from_std(self.backoff.delay(job.attempt))
                .unwrap_or(chrono::Duration::MAX);
            (
                Status::Queued,
                Some(now.checked_add_signed(wait).unwrap_or(now)),
            )
        };
        let mut update = Entity::update_many()
            .col_expr(Column::State, Expr::value(state))
            .col_expr(Column::LeaseUntilMs, Expr::value(Option::<i64>::None))
            .col_expr(Column::LockedBy, Expr::value(Option::<String>::None))
            .col_expr(Column::LastError, Expr::value(truncate(error)))
            .col_expr(Column::UpdatedAtMs, Expr::value(millis(now)));
        if let Some(run_at) = run_at {
            update = update.col_expr(Column::RunAtMs, Expr::value(millis(run_at)));
        }
        let res = update.filter(held(job, worker_id)).exec(&self.db).await?;
        Ok(match (res.rows_affected, run_at) {
            (1, Some(run_at)) => FailOutcome::Retrying { run_at },
            (1, None) => FailOutcome::GaveUp,
            _ => FailOutcome::LeaseLost,
        })
    }

    /// Gives `job` back unfinished (a worker shutting down): queued, due now, and the interrupted
    /// attempt not counted. Returns `false` when `worker_id` no longer held the lease.
    ///
    /// # Errors
    /// [`JobError::Database`].
    pub async fn release(&self, job: &ClaimedJob, worker_id: &str) -> Result<bool, JobError> {
        let now = millis(self.clock.now());
        let res = Entity::update_many()
            .col_expr(Column::State, Expr::value(Status::Queued))
            .col_expr(Column::Attempts, Expr::col(Column::Attempts).sub(1))
            .col_expr(Column::RunAtMs, Expr::value(now))
            .col_expr(Column::LeaseUntilMs, Expr::value(Option::<i64>::None))
            .col_expr(Column::LockedBy, Expr::value(Option::<String>::None))
            .col_expr(Column::UpdatedAtMs, Expr::value(now))
            .filter(held(job, worker_id))
            .exec(&self.db)
            .await?;
        Ok(res.rows_affected == 1)
    }

    /// One job, for an admin.
    ///
    /// # Errors
    /// [`JobError::Forbidden`] for a non-admin; [`JobError::NotFound`]; [`JobError::Database`].
    pub async fn get(&self, actor: &Actor, id: Uuid) -> Result<Job, JobError> {
        require_admin(actor)?;
        self.find(id).await
    }

    /// A page of jobs for an admin, newest first, optionally only those in `state`; `first` and
    /// `after` as in every connection of the API.
    ///
    /// # Errors
    /// [`JobError::Forbidden`] for a non-admin; [`JobError::InvalidInput`] for a page size out of
    /// 1..=100 or a cursor we did not issue; [`JobError::Database`].
    pub async fn list(
        &self,
        actor: &Actor,
        state: Option<JobState>,
        first: Option<i32>,
        after: Option<String>,
    ) -> Result<JobPage, JobError> {
        require_admin(actor)?;
        let page = Page::new(first, after).map_err(|e| JobError::InvalidInput(e.message))?;
        let after = page
            .after
            .as_deref()
            .map(Uuid::parse_str)
            .transpose()
            .map_err(|_| JobError::InvalidInput("invalid cursor".to_owned()))?;
        let mut query = Entity::find().order_by_desc(Column::Id);
        if let Some(state) = state {
            query = query.filter(Column::State.eq(Status::from(state)));
        }
        if let Some(after) = after {
            query = query.filter(Column::Id.lt(after));
        }
        let mut rows = query.limit(page.fetch()).all(&self.db).await?;
        let has_next_page = page.cut(&mut rows);
        let jobs = rows
            .into_iter()
            .map(Job::from_model)
            .collect::<Result<_, _>>()?;
        Ok(JobPage {
            jobs,
            has_next_page,
        })
    }

    /// Puts a failed job back in the queue, due now, with its attempts reset (an admin's action,
    /// once the cause is fixed). `last_error` stays until the next failure.
    ///
    /// # Errors
    /// [`JobError::Forbidden`] for a non-admin; [`JobError::NotFound`];
    /// [`JobError::NotRetryable`] when the job is not failed; [`JobError::Database`].
    pub async fn retry(&self, actor: &Actor, id: Uuid) -> Result<Job, JobError> {
        require_admin(actor)?;
        let job = self.find(id).await?;
        if job.state != JobState::Failed {
            return Err(JobError::NotRetryable { state: job.state });
        }
        let now = millis(self.clock.now());
        let res = Entity::update_many()
            .col_expr(Column::State, Expr::value(Status::Queued))
            .col_expr(Column::Attempts, Expr::value(0))
            .col_expr(Column::RunAtMs, Expr::value(now))
            .col_expr(Column::LeaseUntilMs, Expr::value(Option::<i64>::None))
            .col_expr(Column::LockedBy, Expr::value(Option::<String>::None))
            .col_expr(Column::UpdatedAtMs, Expr::value(now))
            .filter(Column::Id.eq(id))
            .filter(Column::State.eq(Status::Failed))
            .exec(&self.db)
            .await?;
        let job = self.find(id).await?;
        if res.rows_affected != 1 {
            // Someone else retried it between our read and our write.
            return Err(JobError::NotRetryable { state: job.state });
        }
        tracing::info!(
            job.id = %id,
            job.kind = %job.kind,
            actor.person_id = ?actor.person_id,
            "failed job queued again by an admin"
        );
        Ok(job)
    }

    async fn find(&self, id: Uuid) -> Result<Job, JobError> {
        let row = Entity::find_by_id(id)
            .one(&self.db)
            .await?
            .ok_or(JobError::NotFound(id))?;
        Job::from_model(row)
    }

    /// Marks failed the running jobs whose lease expired on their last attempt: their worker
    /// stopped (crashed, killed) and no attempt is left to give them to another.
    async fn give_up_expired(&self, now: i64) -> Result<(), JobError> {
        let res = Entity::update_many()
            .col_expr(Column::State, Expr::value(Status::Failed))
            .col_expr(
                Column::LastError,
                Expr::value(
                    "the lease expired during the last attempt (its worker stopped or crashed)",
                ),
            )
            .col_expr(Column::LeaseUntilMs, Expr::value(Option::<i64>::None))
            .col_expr(Column::LockedBy, Expr::value(Option::<String>::None))
            .col_expr(Column::UpdatedAtMs, Expr::value(now))
            .filter(Column::State.eq(Status::Running))
            .filter(Column::LeaseUntilMs.lte(now))
            .filter(Expr::col(Column::Attempts).gte(Expr::col(Column::MaxAttempts)))
            .exec(&self.db)
            .await?;
        if res.rows_affected > 0 {
            tracing::warn!(
                jobs = res.rows_affected,
                "jobs failed: lease expired on their last attempt"
            );
        }
        Ok(())
    }
}

/// The claim: one statement, so there is no window between choosing a job and taking it. On
/// PostgreSQL the inner select locks the chosen row and skips rows other claimers hold; SQLite
/// has no row locks but runs one writing statement at a time, which gives the same guarantee.
fn claim_sql(backend: DbBackend) -> String {
    let lock = match backend {
        DbBackend::Postgres => " FOR UPDATE SKIP LOCKED",
        _ => "",
    };
    format!(
        "UPDATE jobs \
         SET state = 'running', attempts = attempts + 1, locked_by = $1, \
             lease_until_ms = $2, updated_at_ms = $3 \
         WHERE id = ( \
             SELECT id FROM jobs \
             WHERE (state = 'queued' AND run_at_ms <= $3) \
                OR (state = 'running' AND lease_until_ms <= $3 AND attempts < max_attempts) \
             ORDER BY run_at_ms, id \
             LIMIT 1{lock} \
         ) \
         RETURNING id, kind, payload, state, attempts, max_attempts, run_at_ms, \
             lease_until_ms, locked_by, last_error, created_at_ms, updated_at_ms"
    )
}

/// The rows `worker_id` holds `job` in: still running, locked by it, on the same attempt.
fn held(job: &ClaimedJob, worker_id: &str) -> Condition {
    Condition::all()
        .add(Column::Id.eq(job.id))
        .add(Column::State.eq(Status::Running))
        .add(Column::LockedBy.eq(worker_id))
        .add(Column::Attempts.eq(i32::try_from(job.attempt).unwrap_or(i32::MAX)))
}

fn require_admin(actor: &Actor) -> Result<(), JobError> {
    if actor.is_admin() {
        Ok(())
    } else {
        Err(JobError::Forbidden)
    }
}

fn millis(at: DateTime<Utc>) -> i64 {
    at.timestamp_millis()
}

fn millis_of(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

fn instant(ms: i64, column: &str) -> Result<DateTime<Utc>, JobError> {
    DateTime::from_timestamp_millis(ms)
        .ok_or_else(|| JobError::CorruptRow(format!("{column} = {ms} is out of range")))
}

fn count(n: i32, column: &str) -> Result<u32, JobError> {
    u32::try_from(n).map_err(|_| JobError::CorruptRow(format!("{column} = {n} is negative")))
}

fn truncate(error: &str) -> String {
    match error.char_indices().nth(MAX_ERROR_LEN) {
        Some((end, _)) => format!("{}…", &error[..end]),
        None => error.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_from_the_base_up_to_the_cap() {
        let b = Backoff {
            base: Duration::from_secs(1),
            max: Duration::from_secs(10),
        };
        let waits: Vec<u64> = (1..=6).map(|a| b.delay(a).as_secs()).collect();
        assert_eq!(waits, [1, 2, 4, 8, 10, 10]);
        assert_eq!(b.delay(u32::MAX), Duration::from_secs(10));
    }

    #[test]
    fn long_errors_are_cut_on_a_character_boundary() {
        let long = "é".repeat(MAX_ERROR_LEN + 5);
        let cut = truncate(&long);
        assert_eq!(cut.chars().count(), MAX_ERROR_LEN + 1);
        assert_eq!(truncate("short"), "short");
    }

    #[test]
    fn only_postgres_claims_lock_rows() {
        assert!(claim_sql(DbBackend::Postgres).contains("FOR UPDATE SKIP LOCKED"));
        assert!(!claim_sql(DbBackend::Sqlite).contains("FOR UPDATE"));
    }
}
