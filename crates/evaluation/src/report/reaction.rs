//! The reaction report (Kirkpatrick level 1) of a course: the reaction survey's mean and
//! distribution of 1..5 per dimension and per trainer, with `n`, and the response rate.
//!
//! Decisions:
//! - The aggregation is the survey results' own ([`crate::survey::results::filtered_results`]),
//!   with the cohort and unit filters: one way of counting answers, so this report and
//!   `surveyResults` never disagree. Its anonymity rule comes with it: the figures about a
//!   trainer are null (with their `n`) until at least `min_responses` (5) responses answered
//!   about them, counted within the report's filter, so a unit admin's small unit or a small
//!   cohort stays hidden even when the course has many responses.
//! - Course-wide dimensions leave the per-trainer questions out (as the survey results do);
//!   the per-trainer ones are in each trainer's figures.
//! - `overall` is every course-wide Likert answer together; a trainer's `overall` every answer
//!   about them.
//! - Response rate: responses / completed enrollments, under the same filter. A reaction
//!   survey opens only on completion, so it is at most 1.
//!
//! SQL: the course, the authorization and the cohort as in the learning report (1 to 4), the
//! completed enrollments (1), then the survey results: responses, questions, answer counts per
//! (question, trainer, value), responses per trainer, the trainers (2), and the comments once
//! visible (0 or 1); whatever the number of learners and responses.

use kernel::Actor;
use sea_orm::ConnectionTrait;
use uuid::Uuid;

use super::completion::completed_count;
use super::learning::{Audience, course_audience};
use crate::Evaluation;
use crate::error::EvaluationError;
use crate::survey::SurveyLevel;
use crate::survey::results::{
    DimensionResult, Distribution, ResultsFilter, SurveyResults, filtered_results,
};

/// The reaction report of a course.
#[derive(Debug, Clone)]
pub struct ReactionReport {
    /// The course.
    pub course_id: Uuid,
    /// The cohort it is restricted to.
    pub cohort_id: Option<Uuid>,
    /// The unit whose subtree it is restricted to (a unit admin's own unit).
    pub unit_id: Option<Uuid>,
    /// Completed enrollments (who could answer).
    pub completed: i64,
    /// The aggregated reaction survey.
    pub results: SurveyResults,
}

impl ReactionReport {
    /// `responses / completed`, a share in `[0, 1]`; `None` when nobody completed.
    pub fn response_rate(&self) -> Option<f64> {
        (self.completed > 0).then(|| self.results.responses as f64 / self.completed as f64)
    }
}

/// Every answer of `dimensions` together.
pub fn overall(dimensions: &[DimensionResult]) -> Distribution {
    let mut d = Distribution::default();
    for dim in dimensions {
        for (slot, n) in d.0.iter_mut().zip(dim.distribution.0) {
            *slot += n;
        }
    }
    d
}

/// The filter of the survey results for a cohort and an audience.
pub(crate) fn results_filter(
    cohort_id: Option<Uuid>,
    audience: &Audience,
    per_trainer: bool,
) -> ResultsFilter {
    ResultsFilter {
        cohort_id,
        unit_path: match audience {
            Audience::All => None,
            Audience::Subtree { path, .. } => Some(path.clone()),
        },
        per_trainer,
    }
}

impl Evaluation {
    /// The reaction report of `course_id`, of one cohort or of all. Admins and the course's
    /// trainers see every learner's answers; a unit admin those about learners of their unit
    /// subtree. Per-trainer figures only from the minimum number of responses.
    ///
    /// # Errors
    /// NOT_FOUND for an unknown course, or a cohort of another course; FORBIDDEN for others;
    /// INTERNAL on database failure.
    pub async fn reaction_report(
        &self,
        actor: &Actor,
        course_id: Uuid,
        cohort_id: Option<Uuid>,
    ) -> Result<ReactionReport, EvaluationError> {
        let audience = course_audience(&self.db, actor, course_id, cohort_id).await?;
        reaction(
            &self.db,
            course_id,
            cohort_id,
            &audience,
            self.settings.min_responses,
        )
        .await
    }
}

/// Computes the report for `audience`, figures about a trainer from `minimum` responses (no
/// authorization: callers have checked). The exports call it too, so a file and the API
/// never disagree on what is hidden.
///
/// # Errors
/// INTERNAL on database failure.
pub(crate) async fn reaction(
    conn: &impl ConnectionTrait,
    course_id: Uuid,
    cohort_id: Option<Uuid>,
    audience: &Audience,
    minimum: i64,
) -> Result<ReactionReport, EvaluationError> {
    let completed = completed_count(conn, course_id, cohort_id, audience).await?;
    let results = filtered_results(
        conn,
        course_id,
        SurveyLevel::Reaction,
        &results_filter(cohort_id, audience, true),
        minimum,
    )
    .await?;
    Ok(ReactionReport {
        course_id,
        cohort_id,
        unit_id: match audience {
            Audience::All => None,
            Audience::Subtree { unit_id, .. } => Some(*unit_id),
        },
        completed,
        results,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::survey::Dimension;

    #[test]
    fn overall_adds_the_dimensions_up() {
        let dims = [
            DimensionResult {
                dimension: Dimension::Material,
                distribution: Distribution([0, 3, 3, 6, 3]),
            },
            DimensionResult {
                dimension: Dimension::Trainer,
                distribution: Distribution([0, 0, 1, 2, 2]),
            },
        ];
        let d = overall(&dims);
        assert_eq!(d.0, [0, 3, 4, 8, 5]);
        // (2*3 + 3*4 + 4*8 + 5*5) / 20 = (6 + 12 + 32 + 25) / 20 = 75 / 20
        assert_eq!(d.mean(), Some(75.0 / 20.0));
        assert_eq!(overall(&[]).mean(), None);
    }
}
