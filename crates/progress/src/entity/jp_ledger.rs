//! The JP ledger: one row per credit, from a completed course or recorded by an admin.

use sea_orm::entity::prelude::*;

/// A `jp_ledger` row.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "jp_ledger")]
pub struct Model {
    /// Primary key.
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// Who earned it.
    pub person_id: Uuid,
    /// The JP year: calendar year in WIB of `earned_at`.
    pub year: i32,
    /// The course, for a course credit.
    pub course_id: Option<Uuid>,
    /// The completed enrollment, for a course credit (unique: credited once).
    pub enrollment_id: Option<Uuid>,
    /// Training hours.
    pub jp: i32,
    /// `course` or `external`.
    pub source: String,
    /// What it was for.
    pub description: String,
    /// When it was earned.
    pub earned_at: DateTimeUtc,
    /// The admin who recorded an external credit.
    pub recorded_by: Option<Uuid>,
    /// When the row was written.
    pub created_at: DateTimeUtc,
}

/// No relations: lookups go by id.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
