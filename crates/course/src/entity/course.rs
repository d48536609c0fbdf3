//! A course: a training turned into online material.

use sea_orm::entity::prelude::*;

/// A row of `courses`.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "courses")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub code: String,
    pub title: String,
    pub description: String,
    /// `technical`, `managerial` or `socio_cultural`.
    pub competency_type: String,
    /// Training hours credited on completion; binding once an admin approved it.
    pub jp_credit: i32,
    pub jp_approved_at: Option<DateTimeUtc>,
    pub jp_approved_by: Option<Uuid>,
    pub cover_material_id: Option<Uuid>,
    /// `draft`, `in_review`, `published` or `archived`.
    pub state: String,
    pub created_by: Uuid,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
    /// When it was first published; set once, kept through archiving and republishing.
    pub published_at: Option<DateTimeUtc>,
    /// Why an admin sent it back to draft; cleared when it is resubmitted.
    pub review_note: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
