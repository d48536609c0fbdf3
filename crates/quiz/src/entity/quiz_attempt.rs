//! One attempt of one learner at one quiz.

use sea_orm::entity::prelude::*;

/// A `quiz_attempts` row.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "quiz_attempts")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub quiz_id: Uuid,
    pub person_id: Uuid,
    pub enrollment_id: Uuid,
    /// 1 for the first attempt; unique per (quiz, person).
    pub number: i32,
    /// `open` or `graded`.
    pub state: String,
    /// Server time.
    pub started_at: DateTimeUtc,
    /// The earlier of start + time limit (+ granted time) and the quiz's close; `None` when
    /// neither exists.
    pub deadline_at: Option<DateTimeUtc>,
    pub submitted_at: Option<DateTimeUtc>,
    /// `learner` (submitted) or `deadline` (closed by the job).
    pub closed_by: Option<String>,
    pub score: Option<f64>,
    pub max_score: f64,
    pub percent: Option<f64>,
    pub passed: Option<bool>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

/// No relations: lookups go by id.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
