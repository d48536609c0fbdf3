//! Progress: offline-first progress events from phones, lesson and course completion, the JP ledger, and the learner and admin views built on them.
//!
//! Every rule is a method of [`Progress`] that takes the [`kernel::Actor`] asking. The state of
//! a lesson is a merge of events that does not depend on their order or on replays
//! ([`rules`]); [`sync`] judges a phone's batch, which `group` writes together with the other
//! batches waiting, in one transaction; [`completion`] completes lessons and enrollments and
//! credits JP exactly once; [`jp`] holds the ledger and its reports; [`views`] the learner's
//! dashboard and the completion report.

pub mod completion;
pub mod entity;
pub mod error;
pub mod graphql;
mod group;
pub mod jp;
pub mod locks;
pub mod plan;
pub mod rules;
pub mod sync;
pub mod views;

use std::sync::Arc;

use kernel::SharedClock;
use sea_orm::DatabaseConnection;

pub use error::ProgressError;
pub use graphql::{ProgressMutation, ProgressQuery};
pub use group::{POSTGRES_WRITERS, SYNC_QUEUE};
pub use locks::LessonLocks;

/// The progress service: cheap to clone, registered once in the GraphQL schema data.
#[derive(Clone, Debug)]
pub struct Progress {
    /// The database.
    pub db: DatabaseConnection,
    /// The clock.
    pub clock: SharedClock,
    /// The writers of `syncProgress`, shared by the clones.
    committer: Arc<group::Committer>,
}

impl Progress {
    /// A service over `db`.
    pub fn new(db: DatabaseConnection, clock: SharedClock) -> Self {
        Progress {
            db,
            clock,
            committer: Arc::default(),
        }
    }

    /// The same service, refusing progress in lessons that `locks` says are locked for the
    /// learner (reason `LESSON_LOCKED`). Called at wiring, before the first sync.
    #[must_use]
    pub fn with_lesson_locks(mut self, locks: Arc<dyn LessonLocks>) -> Self {
        self.committer = Arc::new(group::Committer::new(Some(locks), self.committer.queue()));
        self
    }

    /// The background jobs this crate runs: bringing enrollments up to date after their
    /// course's plan changed ([`course::structure::PLAN_CHANGED_JOB`]).
    pub fn job_handlers(&self) -> Vec<Arc<dyn jobs::JobHandler>> {
        vec![Arc::new(completion::FollowPlanChange(self.clone()))]
    }

    /// The same service, turning syncs away with TOO_MANY_REQUESTS (and `retryAfter`) once
    /// `syncs` wait for one writer (default [`SYNC_QUEUE`]; at least 1). Called at wiring.
    #[must_use]
    pub fn with_sync_queue(mut self, syncs: usize) -> Self {
        self.committer = Arc::new(group::Committer::new(self.committer.locks(), syncs));
        self
    }
}
