//! Every table of the platform, as timestamped migrations that run unchanged on SQLite and
//! PostgreSQL. Each domain crate owns the entities for its tables; this crate owns their shape.
//!
//! Conventions: UUID v7 primary keys; domain timestamps as `timestamp with time zone` (UTC);
//! scheduling columns that SQL itself compares or adds to (job leases, sign-in throttling) as
//! integer milliseconds since the epoch, so the arithmetic is the same on both databases.

pub use sea_orm_migration::prelude::*;

mod m20261129_000001_identity;
mod m20261129_000002_jobs;
mod m20261129_000003_courses;
mod m20261129_000004_enrollment_progress;
mod m20261129_000005_quiz;
mod m20261129_000006_evaluation;
mod m20261129_000007_enrollment_lookup;
mod m20261129_000008_progress_replay;
mod m20261129_000009_lesson_last_event;
mod m20261130_000010_refresh_token_expiry;
mod m20261130_000011_quiz_attempt_pages;
mod m20261130_000012_lesson_publication;
mod one_column;
mod one_index;

/// A named foreign key from `(table, column)` to `(table, column)`: the shape every migration
/// repeats.
fn fk(
    name: &str,
    from: (impl IntoIden, impl IntoIden),
    to: (impl IntoIden, impl IntoIden),
) -> ForeignKeyCreateStatement {
    ForeignKey::create()
        .name(name)
        .from(from.0, from.1)
        .to(to.0, to.1)
        .to_owned()
}

/// The ordered list of migrations.
pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261129_000001_identity::Migration),
            Box::new(m20261129_000002_jobs::Migration),
            Box::new(m20261129_000003_courses::Migration),
            Box::new(m20261129_000004_enrollment_progress::Migration),
            Box::new(m20261129_000005_quiz::Migration),
            Box::new(m20261129_000006_evaluation::Migration),
            Box::new(m20261129_000007_enrollment_lookup::Migration),
            Box::new(m20261129_000008_progress_replay::Migration),
            Box::new(m20261129_000009_lesson_last_event::Migration),
            Box::new(m20261130_000010_refresh_token_expiry::Migration),
            Box::new(m20261130_000011_quiz_attempt_pages::Migration),
            Box::new(m20261130_000012_lesson_publication::Migration),
        ]
    }
}
