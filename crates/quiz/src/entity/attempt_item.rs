//! One question of an attempt: the version given, the layout shown, the last saved answer and
//! its score.

use sea_orm::entity::prelude::*;

/// An `attempt_items` row.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "attempt_items")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub attempt_id: Uuid,
    /// Order within the attempt, from 0.
    pub position: i32,
    pub question_id: Uuid,
    pub question_version_id: Uuid,
    /// JSON [`crate::question::Layout`]: option (or matching choice) ids in the order shown.
    pub layout: String,
    /// JSON [`crate::grading::Answer`]: the last saved answer.
    pub answer: Option<String>,
    /// The client's sequence number of that answer (last write wins; a lower one is stale).
    pub answer_seq: Option<i64>,
    /// When the learner gave it, by the phone's clock (checked against the deadline).
    pub answered_at: Option<DateTimeUtc>,
    /// When the server stored it.
    pub saved_at: Option<DateTimeUtc>,
    /// Points earned, once graded.
    pub score: Option<f64>,
    /// The question's points.
    pub max_score: f64,
}

/// No relations: lookups go by id.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
