//! A person's supervisor (atasan), who answers the supervisor's follow-up about them.

use sea_orm::entity::prelude::*;

/// A row of `supervisors`.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "supervisors")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub person_id: Uuid,
    pub supervisor_id: Uuid,
    pub set_by: Option<Uuid>,
    pub set_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
