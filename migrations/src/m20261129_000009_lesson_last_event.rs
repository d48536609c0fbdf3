//! `lesson_progress.last_event_at`: when the latest stored event of the lesson happened.
//!
//! A lesson's completion time is the first instant its rule held over its events in the order
//! they happened. When every new event is at or after the latest stored one (phones that sync as
//! they go), that instant follows from the stored state and the new events alone; only a late,
//! older event needs the stored events replayed (`progress::group`). Without this column each
//! first completion replayed the lesson's events: learners who study at the same pace complete a
//! lesson together, and on SQLite's single writer such a burst held ingestion for seconds.
//!
//! Rows written before this migration get the time of their latest stored event.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum LessonProgress {
    Table,
    EnrollmentId,
    LessonId,
    LastEventAt,
}

#[derive(DeriveIden)]
enum ProgressEvents {
    Table,
    EnrollmentId,
    LessonId,
    OccurredAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        crate::one_column::add_timestamp(
            manager,
            LessonProgress::Table,
            LessonProgress::LastEventAt,
        )
        .await?;
        let latest = Query::select()
            .expr(Expr::col((ProgressEvents::Table, ProgressEvents::OccurredAt)).max())
            .from(ProgressEvents::Table)
            .and_where(
                Expr::col((ProgressEvents::Table, ProgressEvents::EnrollmentId))
                    .equals((LessonProgress::Table, LessonProgress::EnrollmentId)),
            )
            .and_where(
                Expr::col((ProgressEvents::Table, ProgressEvents::LessonId))
                    .equals((LessonProgress::Table, LessonProgress::LessonId)),
            )
            .to_owned();
        manager
            .exec_stmt(
                Query::update()
                    .table(LessonProgress::Table)
                    .value(LessonProgress::LastEventAt, latest)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        crate::one_column::drop(manager, LessonProgress::Table, LessonProgress::LastEventAt).await
    }
}
