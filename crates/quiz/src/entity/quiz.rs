//! A quiz: the settings of a lesson of kind `quiz`.

use sea_orm::entity::prelude::*;

/// A `quizzes` row.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "quizzes")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// The lesson it is (unique).
    pub lesson_id: Uuid,
    pub course_id: Uuid,
    /// `pre_test`, `post_test`, `practice`, `graded`.
    pub kind: String,
    /// `fixed` (the `quiz_questions` list) or `random` (draw `draw_count` from a bank by tag).
    pub selection: String,
    pub draw_bank_id: Option<Uuid>,
    pub draw_tag: Option<String>,
    pub draw_count: Option<i32>,
    pub shuffle_questions: bool,
    pub shuffle_options: bool,
    pub time_limit_seconds: Option<i32>,
    pub opens_at: Option<DateTimeUtc>,
    pub closes_at: Option<DateTimeUtc>,
    /// `None`: unlimited.
    pub max_attempts: Option<i32>,
    /// `highest`, `last`, `average`.
    pub grading_method: String,
    /// 0 to 100.
    pub passing_percent: f64,
    /// `score_only`, `after_submit`, `after_close`.
    pub review_policy: String,
    /// A post-test's pre-test.
    pub paired_quiz_id: Option<Uuid>,
    /// With a pair: `same` (the questions the learner had in the pre-test) or `parallel`
    /// (questions the learner has not seen in it).
    pub form_policy: Option<String>,
    /// A pre-test that must be taken before the course's material unlocks.
    pub gates_material: bool,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

/// No relations: lookups go by id.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
