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
        let columns = vec![
            Enrollments::PersonId,
            Enrollments::CourseId,
            Enrollments::State,
        ];
        crate::one_index::create(manager, NAME, Enrollments::Table, columns).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        crate::one_index::drop(manager, NAME, Enrollments::Table).await
    }
}
