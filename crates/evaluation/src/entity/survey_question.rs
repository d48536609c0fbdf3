//! One question of a survey template.

use sea_orm::entity::prelude::*;

/// A row of `survey_questions`.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "survey_questions")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub template_id: Uuid,
    /// 1, 2, … in the order asked.
    pub position: i32,
    /// `likert` (1 to 5) or `text`.
    pub kind: String,
    /// `material`, `trainer`, `organisation` or `usefulness`; required for Likert items.
    pub dimension: Option<String>,
    /// Asked once for each trainer (course owner).
    pub per_trainer: bool,
    pub required: bool,
    pub text: String,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
