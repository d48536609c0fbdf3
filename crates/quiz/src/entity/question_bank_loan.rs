//! A shared bank lent to a course: the course's editors may draw from it, not edit it.

use sea_orm::entity::prelude::*;

/// A `question_bank_loans` row.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "question_bank_loans")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub bank_id: Uuid,
    #[sea_orm(primary_key, auto_increment = false)]
    pub course_id: Uuid,
    pub lent_by: Uuid,
    pub lent_at: DateTimeUtc,
}

/// No relations: lookups go by id.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
