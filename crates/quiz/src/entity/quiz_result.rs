//! A learner's standing in a quiz across attempts: what evaluation reads.

use sea_orm::entity::prelude::*;

/// A `quiz_results` row.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "quiz_results")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub quiz_id: Uuid,
    #[sea_orm(primary_key, auto_increment = false)]
    pub person_id: Uuid,
    pub enrollment_id: Uuid,
    /// Graded attempts.
    pub attempts: i32,
    /// Percent of the first graded attempt (a pre-test's baseline).
    pub first_percent: f64,
    /// Percent by the quiz's grading method (highest, last or average).
    pub final_percent: f64,
    pub passed: bool,
    pub first_passed_at: Option<DateTimeUtc>,
    pub updated_at: DateTimeUtc,
}

/// No relations: lookups go by id.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
