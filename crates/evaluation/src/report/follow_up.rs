//! The follow-up report (Kirkpatrick levels 3 and 4) of a course: for the learner's and the
//! supervisor's follow-up separately, the requests sent, answered, still open and closed, the
//! response rate, and the answers summarised per question.
//!
//! Decisions:
//! - A request counts as sent once the sweep created it (any state); the response rate is
//!   answered / sent. Open requests still count in the denominator: the rate says how many of
//!   those asked have answered so far.
//! - The cohort and unit filters apply to the enrollment the follow-up is about, that is to
//!   the learner (the supervisor's follow-up of a learner of the unit belongs to the unit).
//! - The answers are the survey results' own aggregation
//!   ([`crate::survey::results::filtered_results`], without its per-trainer part: follow-up
//!   templates have no per-trainer questions). Per question, in template order: a Likert
//!   question's mean and distribution; a free-text question's number of answers, and its texts
//!   only from `min_responses` (5) responses of that survey under the filter, as the survey
//!   results show comments. Questions have two kinds, Likert 1..5 and free text: "is the skill
//!   used at work" is the Likert item "1 = belum pernah … 5 = rutin digunakan", so there is no
//!   yes/no count to give.
//! - Questions of every template version answered are listed, each version's own (the wording
//!   answered); equal positions order by template.
//!
//! SQL: the course, the authorization and the cohort (1 to 4), the requests per audience and
//! state (one `GROUP BY`), then per audience: responses, questions, answer counts, and the
//! texts once visible (3 or 4); at most 14 statements whatever the number of learners.

use std::collections::HashMap;

use kernel::Actor;
use sea_orm::{ConnectionTrait, FromQueryResult, Statement};
use uuid::Uuid;

use super::completion::enrollment_scope;
use super::learning::{Audience, course_audience};
use super::reaction::results_filter;
use crate::Evaluation;
use crate::entity::survey_question;
use crate::error::EvaluationError;
use crate::survey::SurveyLevel;
use crate::survey::follow_up::{
    AUDIENCE_LEARNER, AUDIENCE_SUPERVISOR, STATE_ANSWERED, STATE_CLOSED, STATE_OPEN,
};
use crate::survey::results::{Distribution, ResultsFilter, SurveyResults, filtered_results};

/// The follow-up requests of one audience.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RequestCounts {
    /// Requests created (any state).
    pub sent: i64,
    /// Answered.
    pub answered: i64,
    /// Still waiting for an answer.
    pub open: i64,
    /// Closed without an answer (after the last reminder, or by an admin).
    pub closed: i64,
}

impl RequestCounts {
    /// `answered / sent`, a share in `[0, 1]`; `None` when nothing was sent.
    pub fn response_rate(&self) -> Option<f64> {
        (self.sent > 0).then(|| self.answered as f64 / self.sent as f64)
    }
}

/// The answers to one question.
#[derive(Debug, Clone, PartialEq)]
pub enum AnswerSummary {
    /// A Likert question: its distribution.
    Likert(Distribution),
    /// A free-text question.
    Text {
        /// How many answered it.
        answers: i64,
        /// The texts, sorted; `None` below the minimum number of responses.
        texts: Option<Vec<String>>,
    },
}

impl AnswerSummary {
    /// The number of answers.
    pub fn answers(&self) -> i64 {
        match self {
            AnswerSummary::Likert(d) => d.answers(),
            AnswerSummary::Text { answers, .. } => *answers,
        }
    }
}

/// One question and its answers.
#[derive(Debug, Clone, PartialEq)]
pub struct QuestionSummary {
    /// The question.
    pub question: survey_question::Model,
    /// Its answers.
    pub summary: AnswerSummary,
}

/// One side of the follow-up: the learner's or the supervisor's.
#[derive(Debug, Clone)]
pub struct FollowUpSide {
    /// The requests.
    pub requests: RequestCounts,
    /// Responses (n).
    pub responses: i64,
    /// Responses needed before texts are shown.
    pub minimum_responses: i64,
    /// Every question answered, in template order.
    pub questions: Vec<QuestionSummary>,
}

/// The follow-up report of a course.
#[derive(Debug, Clone)]
pub struct FollowUpReport {
    /// The course.
    pub course_id: Uuid,
    /// The cohort it is restricted to.
    pub cohort_id: Option<Uuid>,
    /// The unit whose subtree it is restricted to (a unit admin's own unit).
    pub unit_id: Option<Uuid>,
    /// The learner's follow-up.
    pub learner: FollowUpSide,
    /// The supervisor's follow-up.
    pub supervisor: FollowUpSide,
}

/// Per question, in template order: Likert questions with their distribution, text questions
/// with their count and (when visible) their texts.
pub fn summarise(results: SurveyResults) -> Vec<QuestionSummary> {
    let mut texts: HashMap<Uuid, Vec<String>> = HashMap::new();
    if let Some(comments) = results.comments {
        for c in comments {
            texts.entry(c.question_id).or_default().push(c.text);
        }
    }
    let visible = results.responses >= results.minimum_responses;
    let mut out: Vec<QuestionSummary> = results
        .questions
        .into_iter()
        .map(|q| QuestionSummary {
            question: q.question,
            summary: AnswerSummary::Likert(q.distribution),
        })
        .chain(results.texts.into_iter().map(|t| QuestionSummary {
            summary: AnswerSummary::Text {
                answers: t.answers,
                texts: visible.then(|| texts.remove(&t.question.id).unwrap_or_default()),
            },
            question: t.question,
        }))
        .collect();
    out.sort_by_key(|q| (q.question.position, q.question.template_id));
    out
}

#[derive(Debug, FromQueryResult)]
struct RequestRow {
    audience: String,
    state: String,
    n: i64,
}

impl Evaluation {
    /// The follow-up report of `course_id`, of one cohort or of all. Admins and the course's
    /// trainers see every learner; a unit admin the follow-ups about learners of their unit
    /// subtree.
    ///
    /// # Errors
    /// NOT_FOUND for an unknown course, or a cohort of another course; FORBIDDEN for others;
    /// INTERNAL on database failure.
    pub async fn follow_up_report(
        &self,
        actor: &Actor,
        course_id: Uuid,
        cohort_id: Option<Uuid>,
    ) -> Result<FollowUpReport, EvaluationError> {
        let audience = course_audience(&self.db, actor, course_id, cohort_id).await?;
        follow_up(
            &self.db,
            course_id,
            cohort_id,
            &audience,
            self.settings.min_responses,
        )
        .await
    }
}

/// Computes the report for `audience`, texts from `minimum` responses (no authorization:
/// callers have checked). The exports call it too.
///
/// # Errors
/// INTERNAL on database failure.
pub(crate) async fn follow_up(
    conn: &impl ConnectionTrait,
    course_id: Uuid,
    cohort_id: Option<Uuid>,
    audience: &Audience,
    minimum: i64,
) -> Result<FollowUpReport, EvaluationError> {
    let mut counts = request_counts(conn, course_id, cohort_id, audience).await?;
    let filter = results_filter(cohort_id, audience, false);
    let learner = side(
        conn,
        course_id,
        SurveyLevel::FollowUpLearner,
        &filter,
        minimum,
        counts.remove(AUDIENCE_LEARNER).unwrap_or_default(),
    )
    .await?;
    let supervisor = side(
        conn,
        course_id,
        SurveyLevel::FollowUpSupervisor,
        &filter,
        minimum,
        counts.remove(AUDIENCE_SUPERVISOR).unwrap_or_default(),
    )
    .await?;
    Ok(FollowUpReport {
        course_id,
        cohort_id,
        unit_id: match audience {
            Audience::All => None,
            Audience::Subtree { unit_id, .. } => Some(*unit_id),
        },
        learner,
        supervisor,
    })
}

/// One side of the follow-up: its requests and its survey's answers per question.
async fn side(
    conn: &impl ConnectionTrait,
    course_id: Uuid,
    level: SurveyLevel,
    filter: &ResultsFilter,
    minimum: i64,
    requests: RequestCounts,
) -> Result<FollowUpSide, EvaluationError> {
    let results = filtered_results(conn, course_id, level, filter, minimum).await?;
    Ok(FollowUpSide {
        requests,
        responses: results.responses,
        minimum_responses: results.minimum_responses,
        questions: summarise(results),
    })
}

/// The requests per audience, counted by state in one statement.
async fn request_counts(
    conn: &impl ConnectionTrait,
    course_id: Uuid,
    cohort_id: Option<Uuid>,
    audience: &Audience,
) -> Result<HashMap<String, RequestCounts>, EvaluationError> {
    let backend = conn.get_database_backend();
    let scope = enrollment_scope(backend, course_id, cohort_id, audience);
    let sql = format!(
        "SELECT f.audience AS audience, f.state AS state, CAST(COUNT(*) AS BIGINT) AS n \
         FROM follow_up_requests f \
         JOIN enrollments e ON e.id = f.enrollment_id {joins} \
         WHERE {conditions} \
         GROUP BY f.audience, f.state",
        joins = scope.joins,
        conditions = scope.conditions,
    );
    let mut out: HashMap<String, RequestCounts> = HashMap::new();
    for r in
        RequestRow::find_by_statement(Statement::from_sql_and_values(backend, sql, scope.values))
            .all(conn)
            .await?
    {
        let c = out.entry(r.audience).or_default();
        c.sent += r.n;
        match r.state.as_str() {
            STATE_ANSWERED => c.answered += r.n,
            STATE_OPEN => c.open += r.n,
            STATE_CLOSED => c.closed += r.n,
            _ => {}
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::survey::results::{Comment, QuestionResult, TextResult};

    fn q(position: i32, kind: &str) -> survey_question::Model {
        survey_question::Model {
            id: Uuid::from_u128(position as u128),
            template_id: Uuid::from_u128(100),
            position,
            kind: kind.into(),
            dimension: None,
            per_trainer: false,
            required: false,
            text: format!("q{position}"),
        }
    }

    fn results(responses: i64, comments: Option<Vec<Comment>>) -> SurveyResults {
        SurveyResults {
            course_id: Uuid::nil(),
            level: SurveyLevel::FollowUpLearner,
            cohort_id: None,
            responses,
            minimum_responses: 5,
            dimensions: Vec::new(),
            questions: vec![QuestionResult {
                question: q(1, "likert"),
                distribution: Distribution([0, 1, 1, 2, 1]),
            }],
            texts: vec![
                TextResult {
                    question: q(3, "text"),
                    answers: 0,
                },
                TextResult {
                    question: q(2, "text"),
                    answers: 2,
                },
            ],
            comments,
            trainers: Vec::new(),
        }
    }

    #[test]
    fn questions_come_in_template_order_with_texts_only_when_visible() {
        let comment = |text: &str| Comment {
            question_id: Uuid::from_u128(2),
            question: "q2".into(),
            text: text.into(),
        };
        let s = summarise(results(5, Some(vec![comment("a"), comment("b")])));
        let positions: Vec<i32> = s.iter().map(|x| x.question.position).collect();
        assert_eq!(positions, vec![1, 2, 3]);
        assert_eq!(
            s[0].summary,
            AnswerSummary::Likert(Distribution([0, 1, 1, 2, 1]))
        );
        assert_eq!(s[0].summary.answers(), 5);
        assert_eq!(
            s[1].summary,
            AnswerSummary::Text {
                answers: 2,
                texts: Some(vec!["a".into(), "b".into()])
            }
        );
        // A question nobody answered: an empty list once visible.
        assert_eq!(
            s[2].summary,
            AnswerSummary::Text {
                answers: 0,
                texts: Some(Vec::new())
            }
        );
        // Below 5 responses: counts, no texts.
        let s = summarise(results(4, None));
        assert_eq!(
            s[1].summary,
            AnswerSummary::Text {
                answers: 2,
                texts: None
            }
        );
    }

    #[test]
    fn the_response_rate_is_answered_over_sent() {
        let c = RequestCounts {
            sent: 4,
            answered: 3,
            open: 1,
            closed: 0,
        };
        assert_eq!(c.response_rate(), Some(0.75));
        assert_eq!(RequestCounts::default().response_rate(), None);
    }
}
