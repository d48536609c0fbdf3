//! One submitted survey: a level, about one enrollment, by one respondent.

use sea_orm::entity::prelude::*;

/// A row of `survey_responses`.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "survey_responses")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub level: String,
    /// The template version answered.
    pub template_id: Uuid,
    pub course_id: Uuid,
    pub cohort_id: Uuid,
    pub enrollment_id: Uuid,
    /// The learner, or their supervisor for `follow_up_supervisor`.
    pub respondent_id: Uuid,
    pub submitted_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    /// Its answers.
    #[sea_orm(has_many = "super::survey_answer::Entity")]
    Answers,
}

impl Related<super::survey_answer::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Answers.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
