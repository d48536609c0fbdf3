//! The course reports of the GraphQL API: `completionReport`, `reactionReport` and
//! `followUpReport`, each of a course or of one of its cohorts. Resolvers parse ids, call an
//! [`Evaluation`] method with the actor and wrap the result. Likert figures reuse the survey
//! results' types (`LikertSummary`, `SurveyDimensionResult`, `SurveyPerson`, `SurveyQuestion`).

use async_graphql::{Context, ID, Object, SimpleObject};
use chrono::{DateTime, Utc};

use super::completion::{self, UnitFigures};
use super::follow_up::{self, AnswerSummary, FollowUpSide, QuestionSummary, RequestCounts};
use super::graphql::{course_report, id_of, wrapped};
use super::reaction::{self, overall};
use crate::Evaluation;
use crate::survey::graphql::{LikertSummary, SurveyDimensionResult, SurveyPerson, SurveyQuestion};
use crate::survey::results::DimensionResult;
use crate::survey::{Dimension, QuestionKind};

fn dimensions(v: &[DimensionResult]) -> Vec<SurveyDimensionResult> {
    v.iter()
        .map(|d| SurveyDimensionResult {
            dimension: d.dimension,
            summary: LikertSummary(d.distribution),
        })
        .collect()
}

/// Completion figures of a group of enrollments (counted per enrollment).
pub struct CompletionFigures(pub completion::CompletionFigures);

#[Object]
impl CompletionFigures {
    /// Active or completed enrollments (people holding a seat).
    async fn enrolled(&self) -> i64 {
        self.0.enrolled
    }
    /// Of those, completed or with any progress.
    async fn started(&self) -> i64 {
        self.0.started
    }
    /// Completed.
    async fn completed(&self) -> i64 {
        self.0.completed
    }
    /// `completed / enrolled`, a share from 0 to 1; null when nobody is enrolled.
    async fn completion_rate(&self) -> Option<f64> {
        self.0.completion_rate()
    }
    /// The median number of days from activation (getting a seat) to completion, in
    /// fractional days; null without completions.
    async fn median_days_to_complete(&self) -> Option<f64> {
        self.0.median_days
    }
    /// Active and past their due date at `CompletionReport.measuredAt`.
    async fn overdue(&self) -> i64 {
        self.0.overdue
    }
    /// Withdrawn (not counted in `enrolled`).
    async fn withdrawn(&self) -> i64 {
        self.0.withdrawn
    }
    /// Expired by an admin after the learning window (not counted in `enrolled`).
    async fn expired(&self) -> i64 {
        self.0.expired
    }
}

/// The completion figures of the learners of one unit (their current unit, not its subtree).
pub struct UnitCompletionFigures(pub UnitFigures);

#[Object]
impl UnitCompletionFigures {
    /// The unit; null for people without a unit.
    async fn unit_id(&self) -> Option<ID> {
        self.0.unit_id.map(id_of)
    }
    /// Its name.
    async fn unit_name(&self) -> Option<&str> {
        self.0.unit_name.as_deref()
    }
    /// Its figures.
    async fn figures(&self) -> CompletionFigures {
        CompletionFigures(self.0.figures)
    }
}

/// How far the learners of a course got: enrolled, started, completed, how fast, overdue, left.
pub struct CompletionReport(pub completion::CompletionReport);

#[Object]
impl CompletionReport {
    /// The course.
    async fn course_id(&self) -> ID {
        id_of(self.0.course_id)
    }
    /// The cohort it covers; null: every cohort.
    async fn cohort_id(&self) -> Option<ID> {
        self.0.cohort_id.map(id_of)
    }
    /// Set for a unit admin: the report covers only people whose unit is in this unit's
    /// subtree.
    async fn unit_id(&self) -> Option<ID> {
        self.0.unit_id.map(id_of)
    }
    /// The moment `overdue` was measured at.
    async fn measured_at(&self) -> DateTime<Utc> {
        self.0.at
    }
    /// Every enrollment the report covers.
    async fn total(&self) -> CompletionFigures {
        CompletionFigures(self.0.total)
    }
    /// The same figures by the learner's unit, by unit name (people without a unit last);
    /// they add up to `total` (but the medians).
    async fn by_unit(&self) -> Vec<UnitCompletionFigures> {
        wrapped(&self.0.units, UnitCompletionFigures)
    }
}

/// The reaction figures about one trainer; null parts below the minimum number of responses.
#[derive(SimpleObject)]
pub struct ReactionTrainer {
    /// The trainer.
    pub trainer: SurveyPerson,
    /// Responses that answered about them (n).
    pub responses: i64,
    /// Every answer about them; null while `responses` is below `minimumResponses`.
    pub overall: Option<LikertSummary>,
    /// Per dimension; null below the minimum.
    pub dimensions: Option<Vec<SurveyDimensionResult>>,
}

/// Kirkpatrick level 1 of a course: the reaction survey's answers.
pub struct ReactionReport(pub reaction::ReactionReport);

#[Object]
impl ReactionReport {
    /// The course.
    async fn course_id(&self) -> ID {
        id_of(self.0.course_id)
    }
    /// The cohort it covers; null: every cohort.
    async fn cohort_id(&self) -> Option<ID> {
        self.0.cohort_id.map(id_of)
    }
    /// Set for a unit admin: only answers about people whose unit is in this unit's subtree.
    async fn unit_id(&self) -> Option<ID> {
        self.0.unit_id.map(id_of)
    }
    /// Completed enrollments: who could answer.
    async fn completed(&self) -> i64 {
        self.0.completed
    }
    /// Responses (n).
    async fn responses(&self) -> i64 {
        self.0.results.responses
    }
    /// `responses / completed`, a share from 0 to 1; null when nobody completed.
    async fn response_rate(&self) -> Option<f64> {
        self.0.response_rate()
    }
    /// Responses needed before figures about a trainer are shown (5).
    async fn minimum_responses(&self) -> i64 {
        self.0.results.minimum_responses
    }
    /// Every course-wide Likert answer together.
    async fn overall(&self) -> LikertSummary {
        LikertSummary(overall(&self.0.results.dimensions))
    }
    /// Course-wide answers per dimension (the per-trainer questions are in `trainers`).
    async fn dimensions(&self) -> Vec<SurveyDimensionResult> {
        dimensions(&self.0.results.dimensions)
    }
    /// Each trainer of the course (and anyone answered about).
    async fn trainers(&self) -> Vec<ReactionTrainer> {
        self.0
            .results
            .trainers
            .iter()
            .map(|t| ReactionTrainer {
                trainer: SurveyPerson {
                    id: id_of(t.trainer.id),
                    name: t.trainer.name.clone(),
                },
                responses: t.responses,
                overall: t.dimensions.as_deref().map(|d| LikertSummary(overall(d))),
                dimensions: t.dimensions.as_deref().map(dimensions),
            })
            .collect()
    }
}

/// Follow-up requests of one audience.
pub struct FollowUpRequestCounts(pub RequestCounts);

#[Object]
impl FollowUpRequestCounts {
    /// Requests sent (any state).
    async fn sent(&self) -> i64 {
        self.0.sent
    }
    /// Answered.
    async fn answered(&self) -> i64 {
        self.0.answered
    }
    /// Still waiting for an answer.
    async fn open(&self) -> i64 {
        self.0.open
    }
    /// Closed without an answer.
    async fn closed(&self) -> i64 {
        self.0.closed
    }
    /// `answered / sent`, a share from 0 to 1; null when nothing was sent.
    async fn response_rate(&self) -> Option<f64> {
        self.0.response_rate()
    }
}

/// The answers to one follow-up question.
pub struct FollowUpQuestionSummary(pub QuestionSummary);

#[Object]
impl FollowUpQuestionSummary {
    /// The question (the wording answered).
    async fn question(&self) -> SurveyQuestion {
        SurveyQuestion(self.0.question.clone())
    }
    /// How it is answered.
    async fn kind(&self) -> QuestionKind {
        QuestionKind::from_stored(&self.0.question.kind)
    }
    /// Its dimension.
    async fn dimension(&self) -> Option<Dimension> {
        self.0
            .question
            .dimension
            .as_deref()
            .and_then(Dimension::from_stored)
    }
    /// How many answered it.
    async fn answers(&self) -> i64 {
        self.0.summary.answers()
    }
    /// A Likert question's mean and distribution; null for a text question.
    async fn likert(&self) -> Option<LikertSummary> {
        match &self.0.summary {
            AnswerSummary::Likert(d) => Some(LikertSummary(*d)),
            AnswerSummary::Text { .. } => None,
        }
    }
    /// A text question's answers, sorted; null for a Likert question, and while the survey's
    /// `responses` is below `minimumResponses`.
    async fn texts(&self) -> Option<Vec<String>> {
        match &self.0.summary {
            AnswerSummary::Text { texts, .. } => texts.clone(),
            AnswerSummary::Likert(_) => None,
        }
    }
}

/// One side of a follow-up: the learner's or the supervisor's.
pub struct FollowUpReportSide(pub FollowUpSide);

#[Object]
impl FollowUpReportSide {
    /// The requests.
    async fn requests(&self) -> FollowUpRequestCounts {
        FollowUpRequestCounts(self.0.requests)
    }
    /// Responses (n).
    async fn responses(&self) -> i64 {
        self.0.responses
    }
    /// Responses needed before texts are shown (5).
    async fn minimum_responses(&self) -> i64 {
        self.0.minimum_responses
    }
    /// Every question answered, in template order.
    async fn questions(&self) -> Vec<FollowUpQuestionSummary> {
        wrapped(&self.0.questions, FollowUpQuestionSummary)
    }
}

/// Kirkpatrick levels 3 and 4 of a course: what the learners and their supervisors said
/// months later.
pub struct FollowUpReport(pub follow_up::FollowUpReport);

#[Object]
impl FollowUpReport {
    /// The course.
    async fn course_id(&self) -> ID {
        id_of(self.0.course_id)
    }
    /// The cohort it covers; null: every cohort.
    async fn cohort_id(&self) -> Option<ID> {
        self.0.cohort_id.map(id_of)
    }
    /// Set for a unit admin: only follow-ups about people whose unit is in this unit's
    /// subtree.
    async fn unit_id(&self) -> Option<ID> {
        self.0.unit_id.map(id_of)
    }
    /// The learner's own follow-up.
    async fn learner(&self) -> FollowUpReportSide {
        FollowUpReportSide(self.0.learner.clone())
    }
    /// The supervisor's (atasan's) follow-up about the learner.
    async fn supervisor(&self) -> FollowUpReportSide {
        FollowUpReportSide(self.0.supervisor.clone())
    }
}

/// Reports of a course: completion, reaction, follow-up.
#[derive(Default)]
pub struct CourseReportQuery;

#[Object]
impl CourseReportQuery {
    /// Completion of a course, of one cohort or of all: enrolled, started, completed, the
    /// completion rate, the median days to complete, overdue, withdrawn and expired, in total
    /// and by unit. Admins and the course's trainers; unit admins see the people of their unit
    /// subtree only.
    async fn completion_report(
        &self,
        ctx: &Context<'_>,
        course_id: ID,
        cohort_id: Option<ID>,
    ) -> async_graphql::Result<CompletionReport> {
        course_report(ctx, course_id, cohort_id, Evaluation::completion_report)
            .await
            .map(CompletionReport)
    }

    /// The reaction survey of a course, of one cohort or of all: mean and distribution per
    /// dimension and per trainer (from 5 responses), with n and the response rate. Admins and
    /// the course's trainers; unit admins see the answers about people of their unit subtree.
    async fn reaction_report(
        &self,
        ctx: &Context<'_>,
        course_id: ID,
        cohort_id: Option<ID>,
    ) -> async_graphql::Result<ReactionReport> {
        course_report(ctx, course_id, cohort_id, Evaluation::reaction_report)
            .await
            .map(ReactionReport)
    }

    /// The follow-up surveys of a course, of one cohort or of all: requests and response
    /// rates of learners and of supervisors, and their answers per question. Admins and the
    /// course's trainers; unit admins see the follow-ups about people of their unit subtree.
    async fn follow_up_report(
        &self,
        ctx: &Context<'_>,
        course_id: ID,
        cohort_id: Option<ID>,
    ) -> async_graphql::Result<FollowUpReport> {
        course_report(ctx, course_id, cohort_id, Evaluation::follow_up_report)
            .await
            .map(FollowUpReport)
    }
}
