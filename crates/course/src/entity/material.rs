//! A recorded material (video, audio, PDF, image) in object storage, and what processing made
//! of it.

use sea_orm::entity::prelude::*;

/// A row of `materials`.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "materials")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub course_id: Uuid,
    pub lesson_id: Option<Uuid>,
    /// `video`, `audio`, `document` or `image`.
    pub kind: String,
    /// The original upload.
    pub object_key: String,
    pub file_name: String,
    /// Detected from the file's first bytes, not taken from the client.
    pub content_type: String,
    pub size_bytes: i64,
    pub sha256: String,
    /// `uploaded`, `processing`, `ready` or `failed`.
    pub state: String,
    pub failure_reason: Option<String>,
    pub duration_ms: Option<i64>,
    pub width: Option<i32>,
    pub height: Option<i32>,
    pub page_count: Option<i32>,
    /// JSON list of renditions made by processing.
    pub renditions: Option<String>,
    pub poster_key: Option<String>,
    pub created_by: Uuid,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
