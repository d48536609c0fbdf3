//! A follow-up survey asked of a learner or their supervisor, with its reminders.

use sea_orm::entity::prelude::*;

/// A row of `follow_up_requests`.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "follow_up_requests")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub enrollment_id: Uuid,
    pub course_id: Uuid,
    /// The learner the follow-up is about.
    pub learner_id: Uuid,
    /// `learner` or `supervisor`.
    pub audience: String,
    /// Who is asked.
    pub person_id: Uuid,
    /// `open`, `answered` or `closed`.
    pub state: String,
    /// Completion plus the course's follow-up days.
    pub due_at: DateTimeUtc,
    pub created_at: DateTimeUtc,
    pub reminder_count: i32,
    pub reminded_at: Option<DateTimeUtc>,
    /// When the next reminder (or, after the last one, the closing) is due; `None` once answered
    /// or closed.
    pub next_reminder_at: Option<DateTimeUtc>,
    pub answered_at: Option<DateTimeUtc>,
    pub response_id: Option<Uuid>,
    pub closed_at: Option<DateTimeUtc>,
    pub closed_by: Option<Uuid>,
    /// `no_response` (after the last reminder) or `admin`.
    pub close_reason: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
