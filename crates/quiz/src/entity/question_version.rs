//! One version of a question. Immutable once written: editing a question that has answers
//! writes a new version, so attempts and statistics keep the version they were given.

use sea_orm::entity::prelude::*;

/// A `question_versions` row.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "question_versions")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub question_id: Uuid,
    /// From 1.
    pub version: i32,
    /// `single_choice`, `multiple_choice`, `true_false`, `short_text`, `numeric`, `matching`.
    pub kind: String,
    pub prompt: String,
    pub points: f64,
    /// JSON [`crate::question::QuestionBody`]: options with their correctness, accepted
    /// answers, tolerance, pairs. Holds the answer key: never sent to a learner as such.
    pub body: String,
    pub created_by: Uuid,
    pub created_at: DateTimeUtc,
}

/// No relations: lookups go by id.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
