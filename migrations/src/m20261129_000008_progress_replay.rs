//! An index for the replay that finds when a lesson completed: every stored event of one
//! enrollment's lesson, in the order they happened (`progress::completion::replayed_completion`,
//! run when a lesson's rule first holds, or when an event older than its completion arrives).
//!
//! The table had only its primary key and the (person, client id) key, so each replay read the
//! whole table: measured in the progress benchmark at about 90 ms a replay on SQLite with a
//! million events, and since learners who study at the same pace complete lessons at the same
//! time, a burst of completions stalled ingestion (from 22,500 to under 5,000 events/s).

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum ProgressEvents {
    Table,
    EnrollmentId,
    LessonId,
    OccurredAt,
}

const NAME: &str = "idx_progress_events_replay";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let columns = vec![
            ProgressEvents::EnrollmentId,
            ProgressEvents::LessonId,
            ProgressEvents::OccurredAt,
        ];
        crate::one_index::create(manager, NAME, ProgressEvents::Table, columns).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        crate::one_index::drop(manager, NAME, ProgressEvents::Table).await
    }
}
