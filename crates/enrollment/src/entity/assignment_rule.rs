//! A standing mandatory assignment: everyone matching it is enrolled, now and later.

use sea_orm::entity::prelude::*;

/// A row of `assignment_rules`.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "assignment_rules")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub cohort_id: Uuid,
    /// `unit_subtree` (uses `unit_id`), `position` or `grade` (use `value`).
    pub kind: String,
    pub unit_id: Option<Uuid>,
    pub value: Option<String>,
    pub due_at: Option<DateTimeUtc>,
    pub created_by: Uuid,
    pub created_at: DateTimeUtc,
    /// Set when revoked: no more auto-enrollments; existing ones stay.
    pub revoked_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
