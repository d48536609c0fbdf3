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
//!
//! Filters ([`ResultsFilter`]): a cohort (the response's), and a unit subtree, which keeps the
//! responses *about* learners whose current unit is in it (for the supervisor's follow-up too:
//! the supervisor answers about a learner of the unit). Reports of other levels can leave the
//! per-trainer part out, which saves its statements.

use std::collections::{BTreeMap, HashMap};

use kernel::Actor;
use sea_orm::sea_query::{Expr, ExprTrait, Func, Query, SimpleExpr};
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, EntityTrait, JoinType, PaginatorTrait, QueryFilter,
    QueryOrder, QuerySelect, QueryTrait, RelationTrait, Select,
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
    /// The id of the question it answers.
    pub question_id: Uuid,
    /// The question it answers.
    pub question: String,
    /// The answer.
    pub text: String,
}

/// How many answered one free-text question (counted whatever the number of responses; the
/// texts themselves are in the comments, shown only from the minimum).
#[derive(Debug, Clone, PartialEq)]
pub struct TextResult {
    /// The question.
    pub question: survey_question::Model,
    /// Non-empty answers.
    pub answers: i64,
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
    /// Course-wide free-text questions with their number of answers.
    pub texts: Vec<TextResult>,
    /// Course-wide comments; `None` below the minimum.
    pub comments: Option<Vec<Comment>>,
    /// Each trainer (course owners, and anyone answered about).
    pub trainers: Vec<TrainerResult>,
}

/// Whose responses count.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ResultsFilter {
    /// Responses of this cohort only.
    pub cohort_id: Option<Uuid>,
    /// Responses about learners whose current unit's path starts with this one (a unit
    /// subtree, `/…/<unit>/`).
    pub unit_path: Option<String>,
    /// Whether to compute the per-trainer results (`trainers` stays empty otherwise).
    pub per_trainer: bool,
}

/// The conditions on `survey_responses` for a course, a level and a filter.
fn response_condition(course_id: Uuid, level: SurveyLevel, filter: &ResultsFilter) -> Condition {
    let mut c = Condition::all()
        .add(survey_response::Column::CourseId.eq(course_id))
        .add(survey_response::Column::Level.eq(level.as_str()));
    if let Some(cohort) = filter.cohort_id {
        c = c.add(survey_response::Column::CohortId.eq(cohort));
    }
    if let Some(path) = &filter.unit_path {
        use enrollment::entity::enrollment as e;
        use identity::entity::{person, unit};
        // The course's enrollments of people in the subtree. Unit paths are
        // `/<uuid>/…/<uuid>/`: no LIKE wildcards inside.
        let in_subtree = Query::select()
            .column((e::Entity, e::Column::Id))
            .from(e::Entity)
            .inner_join(
                person::Entity,
                Expr::col((person::Entity, person::Column::Id))
                    .equals((e::Entity, e::Column::PersonId)),
            )
            .inner_join(
                unit::Entity,
                Expr::col((unit::Entity, unit::Column::Id))
                    .equals((person::Entity, person::Column::UnitId)),
            )
            .and_where(Expr::col((e::Entity, e::Column::CourseId)).eq(course_id))
            .and_where(Expr::col((unit::Entity, unit::Column::Path)).like(format!("{path}%")))
            .to_owned();
        c = c.add(survey_response::Column::EnrollmentId.in_subquery(in_subtree));
    }
    c
}

fn answers_of(
    course_id: Uuid,
    level: SurveyLevel,
    filter: &ResultsFilter,
) -> Select<survey_answer::Entity> {
    survey_answer::Entity::find()
        .join(JoinType::InnerJoin, survey_answer::Relation::Response.def())
        .filter(response_condition(course_id, level, filter))
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

/// Computes [`SurveyResults`] of one cohort or of all, with the per-trainer results (no
/// authorization: callers have checked).
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
    let filter = ResultsFilter {
        cohort_id,
        unit_path: None,
        per_trainer: true,
    };
    filtered_results(conn, course_id, level, &filter, minimum).await
}

/// Computes [`SurveyResults`] of the responses `filter` keeps (no authorization: callers have
/// checked). The minimum applies to the responses kept: a unit's few responses stay hidden
/// even when the course has many.
///
/// # Errors
/// INTERNAL on database failure.
pub async fn filtered_results(
    conn: &impl ConnectionTrait,
    course_id: Uuid,
    level: SurveyLevel,
    filter: &ResultsFilter,
    minimum: i64,
) -> Result<SurveyResults, EvaluationError> {
    let cohort_id = filter.cohort_id;
    let responses_q =
        survey_response::Entity::find().filter(response_condition(course_id, level, filter));
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

    // Likert answers per value, and (as the rows with no Likert value) text answers.
    let counts: Vec<(Uuid, Option<Uuid>, Option<i32>, i64)> = answers_of(course_id, level, filter)
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
        .group_by(survey_answer::Column::QuestionId)
        .group_by(survey_answer::Column::TrainerId)
        .group_by(survey_answer::Column::Likert)
        .into_tuple()
        .all(conn)
        .await?;
    let per_trainer_n: HashMap<Uuid, i64> = if filter.per_trainer {
        answers_of(course_id, level, filter)
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
            .collect()
    } else {
        HashMap::new()
    };

    // Distributions per (question, trainer).
    let mut dist: BTreeMap<(Option<Uuid>, i32, Uuid), Distribution> = BTreeMap::new();
    let mut text_n: HashMap<Uuid, i64> = HashMap::new();
    for (question_id, trainer, likert, n) in counts {
        let Some(q) = questions.get(&question_id) else {
            continue;
        };
        match likert {
            Some(v) => dist
                .entry((trainer, q.position, question_id))
                .or_default()
                .add(v, n),
            None if trainer.is_none() => *text_n.entry(question_id).or_default() += n,
            None => {}
        }
    }
    let mut texts: Vec<TextResult> = questions
        .values()
        .filter(|q| QuestionKind::from_stored(&q.kind) == QuestionKind::Text && !q.per_trainer)
        .map(|q| TextResult {
            question: q.clone(),
            answers: text_n.get(&q.id).copied().unwrap_or(0),
        })
        .collect();
    texts.sort_by_key(|t| (t.question.position, t.question.template_id));
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

    let mut trainers = if filter.per_trainer {
        trainers_of(conn, course_id).await?
    } else {
        Vec::new()
    };
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
        let rows: Vec<(Uuid, Option<Uuid>, Option<String>)> = answers_of(course_id, level, filter)
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
                        question_id: q,
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
        texts,
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
