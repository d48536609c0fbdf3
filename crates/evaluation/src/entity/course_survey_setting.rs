//! A course's choice of surveys; a course without a row uses the defaults.

use sea_orm::entity::prelude::*;

/// A row of `course_survey_settings`.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "course_survey_settings")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub course_id: Uuid,
    /// `None`: the default template of the level.
    pub reaction_template_id: Option<Uuid>,
    pub follow_up_learner_template_id: Option<Uuid>,
    pub follow_up_supervisor_template_id: Option<Uuid>,
    pub reaction_required_for_certificate: bool,
    pub follow_up_enabled: bool,
    /// Days after completion when the follow-up is asked.
    pub follow_up_days: i32,
    pub updated_by: Option<Uuid>,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
