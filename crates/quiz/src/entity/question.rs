//! A question: its identity and current version; the content lives in its versions.

use sea_orm::entity::prelude::*;

/// A `questions` row.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "questions")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub bank_id: Uuid,
    /// The version new attempts are given.
    pub current_version: i32,
    pub created_by: Uuid,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
    /// Archived questions are no longer drawn; attempts keep them.
    pub archived_at: Option<DateTimeUtc>,
}

/// No relations: lookups go by id.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
