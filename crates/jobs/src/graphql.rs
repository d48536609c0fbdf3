//! The GraphQL face of the queue, for admins: `jobs` (a connection) and `retryJob`.

use async_graphql::connection::{Connection, Edge};
use async_graphql::{Context, ID, Object};
use chrono::{DateTime, Utc};
use kernel::GqlResultExt;
use kernel::context::{actor, service};
use uuid::Uuid;

use crate::{Job, JobError, JobQueue, JobState};

/// A page of jobs with cursors (`JobConnection`, `JobEdge`).
pub type JobConnection = Connection<String, Job>;

/// A background job, as an admin sees it. The payload is not exposed: it may hold personal data.
#[Object]
impl Job {
    /// The job's id.
    async fn id(&self) -> ID {
        ID(self.id.to_string())
    }

    /// Which handler runs it, such as `video.transcode`.
    async fn kind(&self) -> &str {
        &self.kind
    }

    /// Where it is in its life.
    async fn state(&self) -> JobState {
        self.state
    }

    /// Attempts so far, the running one included.
    async fn attempts(&self) -> i32 {
        i32::try_from(self.attempts).unwrap_or(i32::MAX)
    }

    /// Attempts allowed before the job is given up.
    async fn max_attempts(&self) -> i32 {
        i32::try_from(self.max_attempts).unwrap_or(i32::MAX)
    }

    /// When the job is (or was) due.
    async fn run_at(&self) -> DateTime<Utc> {
        self.run_at
    }

    /// The error of the latest failed attempt.
    async fn last_error(&self) -> Option<&str> {
        self.last_error.as_deref()
    }

    /// When the job was enqueued.
    async fn created_at(&self) -> DateTime<Utc> {
        self.created_at
    }

    /// When the job last changed.
    async fn updated_at(&self) -> DateTime<Utc> {
        self.updated_at
    }
}

/// Queries on background jobs.
#[derive(Debug, Default)]
pub struct JobsQuery;

#[Object]
impl JobsQuery {
    /// Background jobs, newest first, optionally only those in `state` (admins only).
    async fn jobs(
        &self,
        ctx: &Context<'_>,
        state: Option<JobState>,
        first: Option<i32>,
        after: Option<String>,
    ) -> async_graphql::Result<JobConnection> {
        let actor = actor(ctx)?;
        let queue = service::<JobQueue>(ctx)?;
        let has_previous_page = after.is_some();
        let page = queue.list(actor, state, first, after).await.gql()?;
        let mut connection = Connection::new(has_previous_page, page.has_next_page);
        connection.edges.extend(
            page.jobs
                .into_iter()
                .map(|job| Edge::new(job.cursor(), job)),
        );
        Ok(connection)
    }
}

/// Mutations on background jobs.
#[derive(Debug, Default)]
pub struct JobsMutation;

#[Object]
impl JobsMutation {
    /// Queues a failed job again with its attempts reset (admins only).
    async fn retry_job(&self, ctx: &Context<'_>, id: ID) -> async_graphql::Result<Job> {
        let actor = actor(ctx)?;
        let queue = service::<JobQueue>(ctx)?;
        let id = match Uuid::parse_str(&id) {
            Ok(id) => id,
            Err(_) if !actor.is_admin() => return Err(JobError::Forbidden).gql(),
            Err(_) => {
                return Err(JobError::InvalidInput("`id` is not a job id".to_owned())).gql();
            }
        };
        queue.retry(actor, id).await.gql()
    }
}
