//! Extra attempts or time an admin granted one learner in one quiz (audited).

use sea_orm::entity::prelude::*;

/// A `quiz_grants` row.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "quiz_grants")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub quiz_id: Uuid,
    pub person_id: Uuid,
    pub extra_attempts: i32,
    pub extra_seconds: i32,
    pub reason: String,
    pub granted_by: Uuid,
    pub created_at: DateTimeUtc,
}

/// No relations: lookups go by id.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
