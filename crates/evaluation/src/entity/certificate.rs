//! A certificate of completion: a snapshot of the holder, the course and its JP.

use sea_orm::entity::prelude::*;

/// A row of `certificates`.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "certificates")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// The verification code without separators (`KX7P9QMR2D`).
    pub code: String,
    pub enrollment_id: Uuid,
    pub person_id: Uuid,
    pub course_id: Uuid,
    pub holder_name: String,
    pub holder_nip: Option<String>,
    pub course_code: String,
    pub course_title: String,
    pub jp: i32,
    pub completed_at: DateTimeUtc,
    pub issued_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
