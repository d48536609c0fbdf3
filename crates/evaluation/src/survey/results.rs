//! Survey results for a course's editors (its trainers) and admins, only ever as aggregates:
//! per dimension and per question, the number of answers, the mean and the distribution of
//! 1..5; no response is shown with its respondent.
//!
//! Anonymity: per-trainer results and free comments are shown only once at least
//! [`crate::EvaluationSettings::min_responses`] (5) responses exist; below that they are null
//! with their `n`, so a client can say "not enough responses". Per-trainer answers never enter
//! the course-wide dimension figures: with a single trainer they would be that trainer's
//! result, visible below 5 responses. Comments come sorted by text, not in the order they
//! were written.
//!
//! Cost: a fixed number of statements (counts and distributions by `GROUP BY`), whatever the
//! number of responses.

use std::collections::{BTreeMap, HashMap};

use kernel::Actor;
use sea_orm::sea_query::{Expr, Func, SimpleExpr};
use sea_orm::{
    ColumnTrait, ConnectionTrait, EntityTrait, JoinType, PaginatorTrait, QueryFilter, QueryOrder,
    QuerySelect, QueryTrait, RelationTrait, Select,
};
use uuid::Uuid;

use super::respond::{Trainer, trainers_of};
use super::{Dimension, QuestionKind, SurveyLevel};
use crate::Evaluation;
use crate::entity::{survey_answer, survey_question, survey_response};
use crate::error::EvaluationError;

/// Counts of the answers 1, 2, 3, 4 and 5.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Distribution(pub [i64; 5]);

impl Distribution {
    fn add(&mut self, likert: i32, n: i64) {
        if let Some(slot) = usize::try_from(likert - 1)
            .ok()
            .and_then(|i| self.0.get_mut(i))
        {
            *slot += n;
        }
    }

    /// The number of answers.
    pub fn answers(&self) -> i64 {
        self.0.iter().sum()
    }

    /// The mean answer; `None` without answers.
    pub fn mean(&self) -> Option<f64> {
        let n = self.answers();
        if n == 0 {
            return None;
        }
        let sum: i64 = self
            .0
            .iter()
            .zip(1i64..)
            .map(|(count, value)| count * value)
            .sum();
        Some(sum as f64 / n as f64)
    }
}

/// The answers of one dimension.
#[derive(Debug, Clone, PartialEq)]
pub struct DimensionResult {
    /// The dimension.
    pub dimension: Dimension,
    /// Its answers.
    pub distribution: Distribution,
}

/// The answers of one Likert question.
#[derive(Debug, Clone, PartialEq)]
pub struct QuestionResult {
    /// The question.
    pub question: survey_question::Model,
    /// Its answers.
    pub distribution: Distribution,
}

/// A free-text answer, without its author.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Comment {
    /// The question it answers.
    pub question: String,
    /// The answer.
    pub text: String,
}

/// The results about one trainer.
#[derive(Debug, Clone)]
pub struct TrainerResult {
    /// The trainer.
    pub trainer: Trainer,
    /// Responses that answered about them.
    pub responses: i64,
    /// Per dimension; `None` below the minimum number of responses.
    pub dimensions: Option<Vec<DimensionResult>>,
    /// Per question; `None` below the minimum.
    pub questions: Option<Vec<QuestionResult>>,
    /// Comments about them; `None` below the minimum.
    pub comments: Option<Vec<Comment>>,
}

/// A course's results for one survey level.
#[derive(Debug, Clone)]
pub struct SurveyResults {
    /// The course.
    pub course_id: Uuid,
    /// The level.
    pub level: SurveyLevel,
    /// The cohort, when the results are of one cohort.
    pub cohort_id: Option<Uuid>,
    /// Responses (n).
    pub responses: i64,
    /// Responses needed for per-trainer results and comments.
    pub minimum_responses: i64,
    /// Course-wide answers per dimension (per-trainer questions left out), in [`Dimension::ALL`]
    /// order, only dimensions that have questions.
    pub dimensions: Vec<DimensionResult>,
    /// Course-wide Likert questions.
    pub questions: Vec<QuestionResult>,
    /// Course-wide comments; `None` below the minimum.
    pub comments: Option<Vec<Comment>>,
    /// Each trainer (course owners, and anyone answered about).
    pub trainers: Vec<TrainerResult>,
}

fn answers_of(
    course_id: Uuid,
    level: SurveyLevel,
    cohort_id: Option<Uuid>,
) -> Select<survey_answer::Entity> {
    let mut q = survey_answer::Entity::find()
        .join(JoinType::InnerJoin, survey_answer::Relation::Response.def())
        .filter(survey_response::Column::CourseId.eq(course_id))
        .filter(survey_response::Column::Level.eq(level.as_str()));
    if let Some(c) = cohort_id {
        q = q.filter(survey_response::Column::CohortId.eq(c));
    }
    q
}

/// Sums per-question distributions into per-dimension ones.
fn by_dimension(questions: &[QuestionResult]) -> Vec<DimensionResult> {
    let mut dims: BTreeMap<Dimension, Distribution> = BTreeMap::new();
    for q in questions {
        let Some(d) = q
            .question
            .dimension
            .as_deref()
            .and_then(Dimension::from_stored)
        else {
            continue;
        };
        let slot = dims.entry(d).or_default();
        for (i, n) in q.distribution.0.iter().enumerate() {
            slot.0[i] += n;
        }
    }
    dims.into_iter()
        .map(|(dimension, distribution)| DimensionResult {
            dimension,
            distribution,
        })
        .collect()
}

impl Evaluation {
    /// The results of a course's `level` survey, of one cohort or of all. Course editors
    /// (owners) and admins.
    ///
    /// # Errors
    /// NOT_FOUND for an unknown course, or a cohort of another course; FORBIDDEN for others;
    /// INTERNAL on database failure.
    pub async fn survey_results(
        &self,
        actor: &Actor,
        course_id: Uuid,
        level: SurveyLevel,
        cohort_id: Option<Uuid>,
    ) -> Result<SurveyResults, EvaluationError> {
        let course = course::access::find_course(&self.db, course_id).await?;
        course::access::require_editor(&self.db, actor, &course).await?;
        if let Some(c) = cohort_id {
            let cohort = enrollment::entity::cohort::Entity::find_by_id(c)
                .one(&self.db)
                .await?;
            if cohort.is_none_or(|c| c.course_id != course_id) {
                return Err(EvaluationError::NotFound("cohort"));
            }
        }
        results(
            &self.db,
            course_id,
            level,
            cohort_id,
            self.settings.min_responses,
        )
        .await
    }
}

/// Computes [`SurveyResults`] (no authorization: callers have checked).
///
/// # Errors
/// INTERNAL on database failure.
pub async fn results(
    conn: &impl ConnectionTrait,
    course_id: Uuid,
    level: SurveyLevel,
    cohort_id: Option<Uuid>,
    minimum: i64,
) -> Result<SurveyResults, EvaluationError> {
    let mut responses_q = survey_response::Entity::find()
        .filter(survey_response::Column::CourseId.eq(course_id))
        .filter(survey_response::Column::Level.eq(level.as_str()));
    if let Some(c) = cohort_id {
        responses_q = responses_q.filter(survey_response::Column::CohortId.eq(c));
    }
    let responses = i64::try_from(responses_q.clone().count(conn).await?).unwrap_or(i64::MAX);

    // Every question of every template version answered.
    let templates = responses_q
        .select_only()
        .column(survey_response::Column::TemplateId)
        .distinct()
        .into_query();
    let questions: HashMap<Uuid, survey_question::Model> = survey_question::Entity::find()
        .filter(survey_question::Column::TemplateId.in_subquery(templates))
        .order_by_asc(survey_question::Column::Position)
        .all(conn)
        .await?
        .into_iter()
        .map(|q| (q.id, q))
        .collect();

    let counts: Vec<(Uuid, Option<Uuid>, Option<i32>, i64)> =
        answers_of(course_id, level, cohort_id)
            .select_only()
            .column(survey_answer::Column::QuestionId)
            .column(survey_answer::Column::TrainerId)
            .column(survey_answer::Column::Likert)
            .column_as(
                SimpleExpr::from(Func::count(Expr::col((
                    survey_answer::Entity,
                    survey_answer::Column::Id,
                )))),
                "n",
            )
            .filter(survey_answer::Column::Likert.is_not_null())
            .group_by(survey_answer::Column::QuestionId)
            .group_by(survey_answer::Column::TrainerId)
            .group_by(survey_answer::Column::Likert)
            .into_tuple()
            .all(conn)
            .await?;
    let per_trainer_n: HashMap<Uuid, i64> = answers_of(course_id, level, cohort_id)
        .select_only()
        .column(survey_answer::Column::TrainerId)
        .column_as(
            SimpleExpr::from(Func::count_distinct(Expr::col((
                survey_answer::Entity,
                survey_answer::Column::ResponseId,
            )))),
            "n",
        )
        .filter(survey_answer::Column::TrainerId.is_not_null())
        .group_by(survey_answer::Column::TrainerId)
        .into_tuple::<(Option<Uuid>, i64)>()
        .all(conn)
        .await?
        .into_iter()
        .filter_map(|(t, n)| t.map(|t| (t, n)))
        .collect();

    // Distributions per (question, trainer).
    let mut dist: BTreeMap<(Option<Uuid>, i32, Uuid), Distribution> = BTreeMap::new();
    for (question_id, trainer, likert, n) in counts {
        let (Some(q), Some(v)) = (questions.get(&question_id), likert) else {
            continue;
        };
        dist.entry((trainer, q.position, question_id))
            .or_default()
            .add(v, n);
    }
    let question_results = |trainer: Option<Uuid>| -> Vec<QuestionResult> {
        let mut out: Vec<QuestionResult> = questions
            .values()
            .filter(|q| {
                QuestionKind::from_stored(&q.kind) == QuestionKind::Likert
                    && q.per_trainer == trainer.is_some()
            })
            .map(|q| QuestionResult {
                question: q.clone(),
                distribution: dist
                    .get(&(trainer, q.position, q.id))
                    .copied()
                    .unwrap_or_default(),
            })
            .collect();
        out.sort_by_key(|r| (r.question.position, r.question.template_id));
        out
    };

    let course_questions = question_results(None);
    let visible = responses >= minimum;

    let mut trainers = trainers_of(conn, course_id).await?;
    let missing: Vec<Uuid> = per_trainer_n
        .keys()
        .filter(|t| !trainers.iter().any(|x| x.id == **t))
        .copied()
        .collect();
    if !missing.is_empty() {
        // People answered about who no longer own the course.
        trainers.extend(
            identity::entity::person::Entity::find()
                .filter(identity::entity::person::Column::Id.is_in(missing))
                .all(conn)
                .await?
                .into_iter()
                .map(|p| Trainer {
                    id: p.id,
                    name: p.name,
                }),
        );
    }

    let mut comments: Vec<(Option<Uuid>, Comment)> = Vec::new();
    if visible {
        let rows: Vec<(Uuid, Option<Uuid>, Option<String>)> =
            answers_of(course_id, level, cohort_id)
                .select_only()
                .column(survey_answer::Column::QuestionId)
                .column(survey_answer::Column::TrainerId)
                .column(survey_answer::Column::AnswerText)
                .filter(survey_answer::Column::AnswerText.is_not_null())
                .order_by_asc(survey_answer::Column::AnswerText)
                .into_tuple()
                .all(conn)
                .await?;
        comments = rows
            .into_iter()
            .filter_map(|(q, t, text)| {
                Some((
                    t,
                    Comment {
                        question: questions.get(&q)?.text.clone(),
                        text: text?,
                    },
                ))
            })
            .collect();
    }
    let comments_of = |trainer: Option<Uuid>| -> Vec<Comment> {
        comments
            .iter()
            .filter(|(t, _)| *t == trainer)
            .map(|(_, c)| c.clone())
            .collect()
    };

    let trainer_results = trainers
        .into_iter()
        .map(|t| {
            let n = per_trainer_n.get(&t.id).copied().unwrap_or(0);
            let shown = n >= minimum;
            let qs = question_results(Some(t.id));
            TrainerResult {
                responses: n,
                dimensions: shown.then(|| by_dimension(&qs)),
                questions: shown.then_some(qs),
                comments: shown.then(|| comments_of(Some(t.id))),
                trainer: t,
            }
        })
        .collect();

    Ok(SurveyResults {
        course_id,
        level,
        cohort_id,
        responses,
        minimum_responses: minimum,
        dimensions: by_dimension(&course_questions),
        questions: course_questions,
        comments: visible.then(|| comments_of(None)),
        trainers: trainer_results,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_mean_of_a_distribution_is_weighted_by_its_counts() {
        let mut d = Distribution::default();
        d.add(5, 2);
        d.add(4, 1);
        d.add(2, 1);
        // (5 + 5 + 4 + 2) / 4 = 4.
        assert_eq!(d.answers(), 4);
        assert_eq!(d.mean(), Some(4.0));
        assert_eq!(d.0, [0, 1, 0, 1, 2]);
        assert_eq!(Distribution::default().mean(), None);
        // Out-of-range values (refused long before) are ignored rather than miscounted.
        d.add(6, 1);
        assert_eq!(d.answers(), 4);
    }
}
