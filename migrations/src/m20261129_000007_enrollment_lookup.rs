//! An index for the lookup every learner request makes: a person's enrollment in a course
//! (`enrollment::find_takeable`, behind progress sync, quiz starts and media access).
//!
//! With only `(person_id, state)` and `(course_id, state)` to choose from, both databases
//! planned the lookup on the course index and scanned the whole course: measured on a course of
//! 2,000 learners, 708 µs a lookup on SQLite and 553 µs on PostgreSQL, the costliest statement
//! of a progress sync.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Enrollments {
    Table,
    PersonId,
    CourseId,
    State,
}

const NAME: &str = "idx_enrollments_person_course";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_index(
                Index::create()
                    .name(NAME)
                    .table(Enrollments::Table)
                    .col(Enrollments::PersonId)
                    .col(Enrollments::CourseId)
                    .col(Enrollments::State)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_index(
                Index::drop()
                    .name(NAME)
                    .table(Enrollments::Table)
                    .to_owned(),
            )
            .await
    }
}
