//! Lessons a learner may not open yet, so that no progress is recorded in them either. The quiz
//! crate's pre-test gate decides; progress cannot depend on quiz (quiz depends on progress), so
//! the gateway hands the gate to [`crate::Progress::with_lesson_locks`].

use std::collections::{HashMap, HashSet};

use sea_orm::{DatabaseTransaction, DbErr};
use uuid::Uuid;

/// For each (person, course) whose material is locked for that person: the lessons that stay
/// open (the gating pre-tests themselves).
pub type Locked = HashMap<(Uuid, Uuid), HashSet<Uuid>>;

/// Which courses' material is locked for whom.
#[async_trait::async_trait]
pub trait LessonLocks: Send + Sync + std::fmt::Debug + 'static {
    /// Of `pairs` (person, course), those whose material is locked for the person, each with
    /// the lessons still open; a pair left out is open. Runs inside the progress writer's
    /// transaction, once per group of syncs, so it should cost a fixed number of statements.
    ///
    /// # Errors
    /// The database's.
    async fn locked(
        &self,
        txn: &DatabaseTransaction,
        pairs: &[(Uuid, Uuid)],
    ) -> Result<Locked, DbErr>;
}
