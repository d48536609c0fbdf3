//! One learner's state in one lesson of one enrollment: the merged played intervals, the pages
//! viewed, whether it was opened, the resume point and when it completed.

use sea_orm::entity::prelude::*;

/// A `lesson_progress` row.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "lesson_progress")]
pub struct Model {
    /// Primary key.
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// The enrollment.
    pub enrollment_id: Uuid,
    /// The lesson.
    pub lesson_id: Uuid,
    /// The learner.
    pub person_id: Uuid,
    /// JSON `[[from, to], …]` in seconds, merged and sorted.
    pub watched_intervals: String,
    /// The total length of `watched_intervals`, clipped to the media's duration.
    pub watched_seconds: f64,
    /// JSON sorted list of distinct pages viewed.
    pub pages_viewed: String,
    /// Whether the lesson was opened (or a text lesson marked done).
    pub opened: bool,
    /// Resume point: seconds for a video, the page for a document.
    pub position_seconds: Option<f64>,
    /// When the resume point was reported (the latest wins).
    pub position_at: Option<DateTimeUtc>,
    /// When the lesson's completion rule first held.
    pub completed_at: Option<DateTimeUtc>,
    /// When the latest stored event of the lesson happened; `None` when none is stored. New
    /// events at or after it complete the lesson without a replay (`group::completion_after`).
    pub last_event_at: Option<DateTimeUtc>,
    /// Last write.
    pub updated_at: DateTimeUtc,
}

/// No relations: lookups go by id.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
