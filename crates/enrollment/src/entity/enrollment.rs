//! A person's enrollment in a cohort, with progress figures kept up to date by the progress crate.

use sea_orm::entity::prelude::*;

/// A row of `enrollments`.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "enrollments")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub cohort_id: Uuid,
    pub course_id: Uuid,
    pub person_id: Uuid,
    /// `pending`, `waitlisted`, `active`, `completed`, `withdrawn`, `expired` or `rejected`.
    pub state: String,
    /// `self`, `assigned` or `rule`.
    pub source: String,
    pub rule_id: Option<Uuid>,
    pub requested_at: DateTimeUtc,
    pub activated_at: Option<DateTimeUtc>,
    pub completed_at: Option<DateTimeUtc>,
    /// When it was withdrawn, expired or rejected.
    pub ended_at: Option<DateTimeUtc>,
    pub due_at: Option<DateTimeUtc>,
    /// 0..=100, kept by the progress crate.
    pub progress_percent: f64,
    pub required_done: i32,
    pub required_total: i32,
    pub next_lesson_id: Option<Uuid>,
    pub last_activity_at: Option<DateTimeUtc>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

/// Joins used by the roster (sorting by name, filtering by unit).
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    /// The enrolled person.
    #[sea_orm(
        belongs_to = "identity::entity::person::Entity",
        from = "Column::PersonId",
        to = "identity::entity::person::Column::Id"
    )]
    Person,
}

impl ActiveModelBehavior for ActiveModel {}
