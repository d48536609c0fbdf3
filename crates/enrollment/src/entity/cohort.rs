//! A cohort (angkatan): one run of a course with its own windows, capacity and enrollment mode.

use sea_orm::entity::prelude::*;

/// A row of `cohorts`.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "cohorts")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub course_id: Uuid,
    pub name: String,
    pub enroll_opens_at: Option<DateTimeUtc>,
    pub enroll_closes_at: Option<DateTimeUtc>,
    pub starts_at: Option<DateTimeUtc>,
    pub due_at: Option<DateTimeUtc>,
    /// Seats; `None` is unlimited.
    pub capacity: Option<i32>,
    /// `open`, `approval` or `closed`.
    pub self_enrollment: String,
    pub created_by: Uuid,
    pub created_at: DateTimeUtc,
    /// Also touched to lock the row while seats are counted.
    pub updated_at: DateTimeUtc,
    pub archived_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
