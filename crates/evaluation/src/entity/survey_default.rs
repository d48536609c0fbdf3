//! The default template of a level.

use sea_orm::entity::prelude::*;

/// A row of `survey_defaults`.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "survey_defaults")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub level: String,
    pub template_id: Uuid,
    pub updated_by: Option<Uuid>,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
