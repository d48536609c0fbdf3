//! Durable background jobs in the platform's own database.
//!
//! - [`JobQueue`] enqueues jobs (also inside a caller's transaction), lets workers claim them
//!   under a lease, records outcomes with retry and exponential backoff, and gives admins a
//!   list and a retry.
//! - [`Worker`] runs claimed jobs through registered [`JobHandler`]s, several at a time, and
//!   stops on a [`tokio_util::sync::CancellationToken`].
//! - [`graphql`] holds the admin API: `jobs` and `retryJob`.
//!
//! Invariants: a job is held by at most one worker at a time (the claim is one statement, with
//! `FOR UPDATE SKIP LOCKED` on PostgreSQL); a worker writes an outcome only while it still holds
//! the lease; a job survives a restart, and a job whose worker died is claimed again once its
//! lease expires, so handlers must be idempotent.

pub mod entity;
mod error;
pub mod graphql;
mod queue;
mod worker;

pub use error::JobError;
pub use graphql::{JobConnection, JobsMutation, JobsQuery};
pub use queue::{
    Backoff, ClaimedJob, FailOutcome, Job, JobPage, JobQueue, JobState, MAX_ERROR_LEN,
    MAX_KIND_LEN, MAX_WORKER_ID_LEN,
};
pub use worker::{HandlerError, JobHandler, Worker, WorkerConfig};
