//! One answer of a response.

use sea_orm::entity::prelude::*;

/// A row of `survey_answers`.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "survey_answers")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub response_id: Uuid,
    pub question_id: Uuid,
    /// The trainer a per-trainer question was answered about.
    pub trainer_id: Option<Uuid>,
    /// 1 to 5, for Likert questions.
    pub likert: Option<i32>,
    /// For text questions.
    pub answer_text: Option<String>,
}

/// Joins used by the aggregates.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    /// The response it belongs to.
    #[sea_orm(
        belongs_to = "super::survey_response::Entity",
        from = "Column::ResponseId",
        to = "super::survey_response::Column::Id"
    )]
    Response,
    /// The question it answers.
    #[sea_orm(
        belongs_to = "super::survey_question::Entity",
        from = "Column::QuestionId",
        to = "super::survey_question::Column::Id"
    )]
    Question,
}

impl Related<super::survey_response::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Response.def()
    }
}

impl Related<super::survey_question::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Question.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
