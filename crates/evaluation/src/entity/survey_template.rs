//! A survey template: one version of a questionnaire for one level.

use sea_orm::entity::prelude::*;

/// A row of `survey_templates`.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "survey_templates")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// The id of the family's first version; every version of a template shares it.
    pub family_id: Uuid,
    /// 1, 2, …: a new version is made when a template with responses is edited.
    pub version: i32,
    /// `reaction`, `follow_up_learner` or `follow_up_supervisor`.
    pub level: String,
    pub name: String,
    /// `None` for the built-in defaults.
    pub created_by: Option<Uuid>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
    /// Set when a newer version replaced it; its responses keep pointing here.
    pub retired_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
