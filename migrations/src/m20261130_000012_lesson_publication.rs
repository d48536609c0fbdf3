//! `lessons.published_at`: when the lesson reached learners; `NULL` while it has not.
//!
//! Publishing a course publishes the lessons it has then. A lesson added to a course that is
//! already out starts unpublished and reaches learners only when an editor publishes it, after
//! the same readiness check the course passed (a ready recording, a quiz with questions). Before
//! this column, such a lesson was visible at once: a video without a recording, or a required
//! quiz without questions, stalled every learner's completion.
//!
//! Lessons written before this migration keep what learners saw: those of a course that has been
//! published count as published, when the course was or, if added later, when they were added.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Lessons {
    Table,
    CourseId,
    CreatedAt,
    PublishedAt,
}

#[derive(DeriveIden)]
enum Courses {
    Table,
    Id,
    PublishedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        crate::one_column::add_timestamp(manager, Lessons::Table, Lessons::PublishedAt).await?;
        // NULL for the lessons of a course never published.
        let course_published = Query::select()
            .column((Courses::Table, Courses::PublishedAt))
            .from(Courses::Table)
            .and_where(
                Expr::col((Courses::Table, Courses::Id))
                    .equals((Lessons::Table, Lessons::CourseId)),
            )
            .to_owned();
        manager
            .exec_stmt(
                Query::update()
                    .table(Lessons::Table)
                    .value(Lessons::PublishedAt, course_published)
                    .to_owned(),
            )
            .await?;
        // A lesson added after its course was published reached learners when it was added.
        manager
            .exec_stmt(
                Query::update()
                    .table(Lessons::Table)
                    .value(Lessons::PublishedAt, Expr::col(Lessons::CreatedAt))
                    .and_where(Expr::col(Lessons::PublishedAt).lt(Expr::col(Lessons::CreatedAt)))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        crate::one_column::drop(manager, Lessons::Table, Lessons::PublishedAt).await
    }
}
