//! A progress event as a phone reported it, kept so a replay is recognised and a lesson's
//! completion time can be found again whatever order the events arrived in.

use sea_orm::entity::prelude::*;

/// A `progress_events` row.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "progress_events")]
pub struct Model {
    /// Primary key.
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// The id the phone gave the event; unique per person.
    pub client_event_id: Uuid,
    /// The learner.
    pub person_id: Uuid,
    /// The enrollment it counted toward.
    pub enrollment_id: Uuid,
    /// The lesson.
    pub lesson_id: Uuid,
    /// `played`, `position`, `page_viewed`, `opened` or `marked_done`.
    pub kind: String,
    /// Start of a played segment.
    pub from_seconds: Option<f64>,
    /// End of a played segment.
    pub to_seconds: Option<f64>,
    /// A reported position.
    pub position_seconds: Option<f64>,
    /// A viewed page.
    pub page: Option<i32>,
    /// When it happened on the phone.
    pub occurred_at: DateTimeUtc,
    /// When the server received it.
    pub received_at: DateTimeUtc,
}

/// No relations: lookups go by id.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
