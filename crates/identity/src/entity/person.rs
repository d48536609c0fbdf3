//! A person: a civil servant, a trainer or an administrator.

use sea_orm::entity::prelude::*;

/// A row of `people`.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "people")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub nip: Option<String>,
    pub name: String,
    pub email: Option<String>,
    pub unit_id: Option<Uuid>,
    pub position: Option<String>,
    pub grade: Option<String>,
    pub employment_type: Option<String>,
    /// Comma-separated role names in canonical order (see `kernel::Roles`).
    pub roles: String,
    pub password_hash: Option<String>,
    pub password_changed_at: Option<DateTimeUtc>,
    pub disabled_at: Option<DateTimeUtc>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
