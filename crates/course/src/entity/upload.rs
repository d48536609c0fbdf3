//! A resumable upload session: a multipart upload in object storage, checked on completion.

use sea_orm::entity::prelude::*;

/// A row of `uploads`.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "uploads")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub course_id: Uuid,
    pub lesson_id: Option<Uuid>,
    /// `lesson` (a lesson's material) or `cover` (the course's cover image).
    pub purpose: String,
    pub object_key: String,
    /// The object store's multipart upload id.
    pub storage_upload_id: String,
    pub file_name: String,
    pub declared_content_type: String,
    pub size_bytes: i64,
    /// Hex SHA-256 the client declared for the whole file.
    pub sha256: String,
    pub part_size: i64,
    pub part_count: i32,
    /// `open`, `completed`, `rejected` or `aborted`.
    pub state: String,
    pub material_id: Option<Uuid>,
    pub created_by: Uuid,
    pub created_at: DateTimeUtc,
    pub expires_at: DateTimeUtc,
    pub completed_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
