//! A lesson: one video, document or text, with its completion rule.

use sea_orm::entity::prelude::*;

/// A row of `lessons`.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "lessons")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub course_id: Uuid,
    pub module_id: Uuid,
    /// Order within the module, from 0.
    pub position: i32,
    pub title: String,
    /// `video`, `document` or `text`.
    pub kind: String,
    pub required: bool,
    /// Share of the video watched or pages viewed that completes the lesson (0 < x <= 1).
    pub completion_threshold: f64,
    /// Markdown, for text lessons.
    pub body: Option<String>,
    /// The material currently shown (video or document lessons).
    pub material_id: Option<Uuid>,
    /// Set instead of deleting once learners may have records on the lesson; its id stays.
    pub archived_at: Option<DateTimeUtc>,
    /// When learners got the lesson: with its course's first publication, or, for a lesson
    /// added to a course already out, when an editor published it. `None` until then.
    pub published_at: Option<DateTimeUtc>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

impl Model {
    /// Whether learners of its course get the lesson: published and not archived.
    pub fn reaches_learners(&self) -> bool {
        self.published_at.is_some() && self.archived_at.is_none()
    }
}
