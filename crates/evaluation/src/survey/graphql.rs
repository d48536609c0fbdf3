//! The survey part of the GraphQL API: templates (admins edit, trainers choose), a course's
//! survey settings, the forms and submissions of learners and supervisors, the aggregated
//! results, follow-up requests and supervisors. Resolvers parse ids, call an [`Evaluation`]
//! method with the actor and wrap the result.

use async_graphql::connection::Connection;
use async_graphql::{Context, Enum, ID, InputObject, MaybeUndefined, Object, SimpleObject};
use chrono::{DateTime, Utc};
use identity::graphql::parse_id;
use kernel::GqlResultExt;
use kernel::context::{actor, service};
use kernel::pagination::{Page, connection};
use uuid::Uuid;

use super::follow_up::{self, SupervisorView};
use super::respond::{AnswerInput, FormItem, PendingSurvey, SurveyForm};
use super::results::{self, Comment, Distribution, SurveyResults};
use super::settings::{CourseSurveys, SurveySettingsChanges};
use super::templates::{QuestionSpec, TemplateView};
use super::{Dimension, QuestionKind, SurveyLevel};
use crate::Evaluation;
use crate::certificate::graphql::Certificate;
use crate::entity::{follow_up_request, survey_question};
use crate::error::EvaluationError;
use crate::sweep::SweepReport;

fn evaluation<'a>(ctx: &Context<'a>) -> async_graphql::Result<&'a Evaluation> {
    service::<Evaluation>(ctx)
}

fn id_of(u: Uuid) -> ID {
    ID(u.to_string())
}

fn page_of(first: Option<i32>, after: Option<String>) -> async_graphql::Result<Page> {
    Page::new(first, after).map_err(EvaluationError::from).gql()
}

/// A person named in survey results and forms (a trainer, a supervisor).
#[derive(SimpleObject, Debug, Clone)]
pub struct SurveyPerson {
    /// The person.
    pub id: ID,
    /// Their name.
    pub name: String,
}

/// A question of a template.
pub struct SurveyQuestion(pub survey_question::Model);

#[Object]
impl SurveyQuestion {
    /// The question.
    async fn id(&self) -> ID {
        id_of(self.0.id)
    }
    /// 1, 2, … in the order asked.
    async fn position(&self) -> i32 {
        self.0.position
    }
    /// Likert (1 to 5) or free text.
    async fn kind(&self) -> QuestionKind {
        QuestionKind::from_stored(&self.0.kind)
    }
    /// What a Likert question measures.
    async fn dimension(&self) -> Option<Dimension> {
        self.0.dimension.as_deref().and_then(Dimension::from_stored)
    }
    /// Asked once for each trainer of the course.
    async fn per_trainer(&self) -> bool {
        self.0.per_trainer
    }
    /// Whether an answer is required.
    async fn required(&self) -> bool {
        self.0.required
    }
    /// The question.
    async fn text(&self) -> &str {
        &self.0.text
    }
}

/// A survey template: one version of a questionnaire.
pub struct SurveyTemplate(pub TemplateView);

#[Object]
impl SurveyTemplate {
    /// This version.
    async fn id(&self) -> ID {
        id_of(self.0.template.id)
    }
    /// Shared by every version of the template.
    async fn family_id(&self) -> ID {
        id_of(self.0.template.family_id)
    }
    /// 1, 2, …: editing a template that has responses makes the next version.
    async fn version(&self) -> i32 {
        self.0.template.version
    }
    /// Which survey it is for.
    async fn level(&self) -> SurveyLevel {
        self.0.level()
    }
    /// Its name.
    async fn name(&self) -> &str {
        &self.0.template.name
    }
    /// Whether it is the default of its level (used by courses that chose none).
    async fn is_default(&self) -> bool {
        self.0.is_default
    }
    /// When a newer version replaced it (its responses stay with it).
    async fn retired_at(&self) -> Option<DateTime<Utc>> {
        self.0.template.retired_at
    }
    /// When it was created.
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.template.created_at
    }
    /// When it last changed.
    async fn updated_at(&self) -> DateTime<Utc> {
        self.0.template.updated_at
    }
    /// Its questions in order.
    async fn questions(&self) -> Vec<SurveyQuestion> {
        self.0
            .questions
            .iter()
            .cloned()
            .map(SurveyQuestion)
            .collect()
    }
}

/// A course's surveys.
pub struct CourseSurveySettings(pub CourseSurveys);

#[Object]
impl CourseSurveySettings {
    /// The course.
    async fn course_id(&self) -> ID {
        id_of(self.0.course_id)
    }
    /// The reaction template in force.
    async fn reaction_template(&self) -> SurveyTemplate {
        SurveyTemplate(self.0.reaction.clone())
    }
    /// The learner's follow-up template in force.
    async fn follow_up_learner_template(&self) -> SurveyTemplate {
        SurveyTemplate(self.0.follow_up_learner.clone())
    }
    /// The supervisor's follow-up template in force.
    async fn follow_up_supervisor_template(&self) -> SurveyTemplate {
        SurveyTemplate(self.0.follow_up_supervisor.clone())
    }
    /// Whether the reaction survey follows the default template (the course chose none).
    async fn reaction_uses_default(&self) -> bool {
        self.0.uses_default[0]
    }
    /// Whether the learner's follow-up follows the default template.
    async fn follow_up_learner_uses_default(&self) -> bool {
        self.0.uses_default[1]
    }
    /// Whether the supervisor's follow-up follows the default template.
    async fn follow_up_supervisor_uses_default(&self) -> bool {
        self.0.uses_default[2]
    }
    /// Whether the certificate waits for the reaction survey.
    async fn reaction_required_for_certificate(&self) -> bool {
        self.0.reaction_required_for_certificate
    }
    /// Whether follow-ups are asked.
    async fn follow_up_enabled(&self) -> bool {
        self.0.follow_up_enabled
    }
    /// Days after completion when follow-ups are asked.
    async fn follow_up_days(&self) -> i32 {
        self.0.follow_up_days
    }
}

/// One item of a form: a question, about one trainer when asked per trainer.
pub struct SurveyFormItem(pub FormItem);

#[Object]
impl SurveyFormItem {
    /// The question to answer (send it back as `questionId`).
    async fn question_id(&self) -> ID {
        id_of(self.0.question.id)
    }
    /// Its position in the template.
    async fn position(&self) -> i32 {
        self.0.question.position
    }
    /// Likert (1 to 5) or free text.
    async fn kind(&self) -> QuestionKind {
        QuestionKind::from_stored(&self.0.question.kind)
    }
    /// What a Likert question measures.
    async fn dimension(&self) -> Option<Dimension> {
        self.0
            .question
            .dimension
            .as_deref()
            .and_then(Dimension::from_stored)
    }
    /// Whether an answer is required.
    async fn required(&self) -> bool {
        self.0.question.required
    }
    /// The question.
    async fn text(&self) -> &str {
        &self.0.question.text
    }
    /// The trainer this item is about (send it back as `trainerId`).
    async fn trainer(&self) -> Option<SurveyPerson> {
        self.0.trainer.as_ref().map(|t| SurveyPerson {
            id: id_of(t.id),
            name: t.name.clone(),
        })
    }
}

/// A follow-up survey asked of a learner or their supervisor.
pub struct FollowUpRequest {
    row: follow_up_request::Model,
    person_name: Option<String>,
    learner_name: Option<String>,
}

/// Who a follow-up asks.
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum FollowUpAudience {
    /// The learner.
    Learner,
    /// The learner's supervisor (atasan).
    Supervisor,
}

/// Where a follow-up request is.
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum FollowUpState {
    /// Waiting for an answer; reminders are sent.
    Open,
    /// Answered.
    Answered,
    /// Closed without an answer (after the last reminder, or by an admin).
    Closed,
}

impl FollowUpState {
    fn as_str(self) -> &'static str {
        match self {
            FollowUpState::Open => follow_up::STATE_OPEN,
            FollowUpState::Answered => follow_up::STATE_ANSWERED,
            FollowUpState::Closed => follow_up::STATE_CLOSED,
        }
    }
}

#[Object]
impl FollowUpRequest {
    /// The request.
    async fn id(&self) -> ID {
        id_of(self.row.id)
    }
    /// The enrollment it is about.
    async fn enrollment_id(&self) -> ID {
        id_of(self.row.enrollment_id)
    }
    /// The course.
    async fn course_id(&self) -> ID {
        id_of(self.row.course_id)
    }
    /// Learner or supervisor.
    async fn audience(&self) -> FollowUpAudience {
        if self.row.audience == follow_up::AUDIENCE_SUPERVISOR {
            FollowUpAudience::Supervisor
        } else {
            FollowUpAudience::Learner
        }
    }
    /// The survey level it asks for.
    async fn level(&self) -> SurveyLevel {
        if self.row.audience == follow_up::AUDIENCE_SUPERVISOR {
            SurveyLevel::FollowUpSupervisor
        } else {
            SurveyLevel::FollowUpLearner
        }
    }
    /// Open, answered or closed.
    async fn state(&self) -> FollowUpState {
        match self.row.state.as_str() {
            follow_up::STATE_ANSWERED => FollowUpState::Answered,
            follow_up::STATE_CLOSED => FollowUpState::Closed,
            _ => FollowUpState::Open,
        }
    }
    /// Who is asked.
    async fn person_id(&self) -> ID {
        id_of(self.row.person_id)
    }
    /// Their name (admin lists only).
    async fn person_name(&self) -> Option<&str> {
        self.person_name.as_deref()
    }
    /// The learner it is about.
    async fn learner_id(&self) -> ID {
        id_of(self.row.learner_id)
    }
    /// The learner's name (admin lists only).
    async fn learner_name(&self) -> Option<&str> {
        self.learner_name.as_deref()
    }
    /// Completion plus the course's follow-up days.
    async fn due_at(&self) -> DateTime<Utc> {
        self.row.due_at
    }
    /// When it was asked.
    async fn created_at(&self) -> DateTime<Utc> {
        self.row.created_at
    }
    /// Reminders sent so far.
    async fn reminder_count(&self) -> i32 {
        self.row.reminder_count
    }
    /// When the latest reminder went out.
    async fn reminded_at(&self) -> Option<DateTime<Utc>> {
        self.row.reminded_at
    }
    /// When the next reminder (or, after the last, the closing) is due.
    async fn next_reminder_at(&self) -> Option<DateTime<Utc>> {
        self.row.next_reminder_at
    }
    /// When it was answered.
    async fn answered_at(&self) -> Option<DateTime<Utc>> {
        self.row.answered_at
    }
    /// When it was closed.
    async fn closed_at(&self) -> Option<DateTime<Utc>> {
        self.row.closed_at
    }
    /// `no_response` (after the last reminder) or `admin`.
    async fn close_reason(&self) -> Option<&str> {
        self.row.close_reason.as_deref()
    }
}

/// A survey as the person answering it sees it.
pub struct SurveyFormObject(pub SurveyForm);

#[Object(name = "SurveyForm")]
impl SurveyFormObject {
    /// Which survey.
    async fn level(&self) -> SurveyLevel {
        self.0.level
    }
    /// The enrollment it is about.
    async fn enrollment_id(&self) -> ID {
        id_of(self.0.enrollment.id)
    }
    /// The course.
    async fn course_id(&self) -> ID {
        id_of(self.0.enrollment.course_id)
    }
    /// The course's title.
    async fn course_title(&self) -> &str {
        &self.0.course_title
    }
    /// The learner (the supervisor answers about them).
    async fn learner_name(&self) -> &str {
        &self.0.learner_name
    }
    /// The template in force (or the one answered).
    async fn template(&self) -> SurveyTemplate {
        SurveyTemplate(self.0.template.clone())
    }
    /// The questions in order; the per-trainer block repeated for each trainer.
    async fn items(&self) -> Vec<SurveyFormItem> {
        self.0.items.iter().cloned().map(SurveyFormItem).collect()
    }
    /// Whether it was answered.
    async fn submitted(&self) -> bool {
        self.0.response.is_some()
    }
    /// When it was answered.
    async fn submitted_at(&self) -> Option<DateTime<Utc>> {
        self.0.response.as_ref().map(|r| r.submitted_at)
    }
    /// The follow-up request, for follow-ups.
    async fn follow_up_request(&self) -> Option<FollowUpRequest> {
        self.0.request.clone().map(|row| FollowUpRequest {
            row,
            person_name: None,
            learner_name: None,
        })
    }
}

/// A survey waiting for the signed-in person.
pub struct PendingSurveyObject(pub PendingSurvey);

#[Object(name = "PendingSurvey")]
impl PendingSurveyObject {
    /// Which survey.
    async fn level(&self) -> SurveyLevel {
        self.0.level
    }
    /// The enrollment it is about (ask `surveyForm` with it).
    async fn enrollment_id(&self) -> ID {
        id_of(self.0.enrollment_id)
    }
    /// The course.
    async fn course_id(&self) -> ID {
        id_of(self.0.course_id)
    }
    /// The course's title.
    async fn course_title(&self) -> &str {
        &self.0.course_title
    }
    /// The learner it is about.
    async fn learner_name(&self) -> &str {
        &self.0.learner_name
    }
    /// The follow-up request, for follow-ups.
    async fn follow_up_request(&self) -> Option<FollowUpRequest> {
        self.0.request.clone().map(|row| FollowUpRequest {
            row,
            person_name: None,
            learner_name: None,
        })
    }
}

/// What `submitSurvey` wrote.
pub struct SurveySubmission {
    response_id: Uuid,
    submitted_at: DateTime<Utc>,
    level: SurveyLevel,
    certificate: Option<crate::entity::certificate::Model>,
}

#[Object]
impl SurveySubmission {
    /// The stored response.
    async fn response_id(&self) -> ID {
        id_of(self.response_id)
    }
    /// When it was stored.
    async fn submitted_at(&self) -> DateTime<Utc> {
        self.submitted_at
    }
    /// Which survey.
    async fn level(&self) -> SurveyLevel {
        self.level
    }
    /// The enrollment's certificate when it has one now (a reaction may release it).
    async fn certificate(&self) -> Option<Certificate> {
        self.certificate.clone().map(Certificate)
    }
}

/// Answers of one dimension or question: counts of 1 to 5 and their mean.
pub struct LikertSummary(pub Distribution);

#[Object]
impl LikertSummary {
    /// The number of answers.
    async fn answers(&self) -> i64 {
        self.0.answers()
    }
    /// The mean, 1 to 5; null without answers.
    async fn mean(&self) -> Option<f64> {
        self.0.mean()
    }
    /// How many answered 1, 2, 3, 4 and 5.
    async fn distribution(&self) -> Vec<i64> {
        self.0.0.to_vec()
    }
}

/// The answers of one dimension.
#[derive(SimpleObject)]
pub struct SurveyDimensionResult {
    /// The dimension.
    pub dimension: Dimension,
    /// Its answers.
    pub summary: LikertSummary,
}

/// The answers of one Likert question.
#[derive(SimpleObject)]
pub struct SurveyQuestionResult {
    /// The question.
    pub question: SurveyQuestion,
    /// Its answers.
    pub summary: LikertSummary,
}

/// A free-text answer, without its author.
#[derive(SimpleObject)]
pub struct SurveyComment {
    /// The question it answers.
    pub question: String,
    /// The answer.
    pub text: String,
}

fn dimensions(v: Vec<results::DimensionResult>) -> Vec<SurveyDimensionResult> {
    v.into_iter()
        .map(|d| SurveyDimensionResult {
            dimension: d.dimension,
            summary: LikertSummary(d.distribution),
        })
        .collect()
}

fn questions(v: Vec<results::QuestionResult>) -> Vec<SurveyQuestionResult> {
    v.into_iter()
        .map(|q| SurveyQuestionResult {
            question: SurveyQuestion(q.question),
            summary: LikertSummary(q.distribution),
        })
        .collect()
}

fn comments(v: Vec<Comment>) -> Vec<SurveyComment> {
    v.into_iter()
        .map(|c| SurveyComment {
            question: c.question,
            text: c.text,
        })
        .collect()
}

/// The results about one trainer; null parts below the minimum number of responses.
#[derive(SimpleObject)]
pub struct SurveyTrainerResult {
    /// The trainer.
    pub trainer: SurveyPerson,
    /// Responses that answered about them (n).
    pub responses: i64,
    /// Per dimension; null while `responses` is below `minimumResponses`.
    pub dimensions: Option<Vec<SurveyDimensionResult>>,
    /// Per question; null below the minimum.
    pub questions: Option<Vec<SurveyQuestionResult>>,
    /// Comments about them; null below the minimum.
    pub comments: Option<Vec<SurveyComment>>,
}

/// A course's results for one survey, as aggregates only.
pub struct SurveyResultsObject(pub SurveyResults);

#[Object(name = "SurveyResults")]
impl SurveyResultsObject {
    /// The course.
    async fn course_id(&self) -> ID {
        id_of(self.0.course_id)
    }
    /// Which survey.
    async fn level(&self) -> SurveyLevel {
        self.0.level
    }
    /// The cohort, when the results are of one cohort.
    async fn cohort_id(&self) -> Option<ID> {
        self.0.cohort_id.map(id_of)
    }
    /// Responses (n).
    async fn responses(&self) -> i64 {
        self.0.responses
    }
    /// Responses needed before per-trainer results and comments are shown (5).
    async fn minimum_responses(&self) -> i64 {
        self.0.minimum_responses
    }
    /// Course-wide answers per dimension (per-trainer questions are in `trainers`).
    async fn dimensions(&self) -> Vec<SurveyDimensionResult> {
        dimensions(self.0.dimensions.clone())
    }
    /// Course-wide Likert questions.
    async fn questions(&self) -> Vec<SurveyQuestionResult> {
        questions(self.0.questions.clone())
    }
    /// Course-wide comments, sorted by text; null while `responses` is below
    /// `minimumResponses`.
    async fn comments(&self) -> Option<Vec<SurveyComment>> {
        self.0.comments.clone().map(comments)
    }
    /// Each trainer of the course.
    async fn trainers(&self) -> Vec<SurveyTrainerResult> {
        self.0
            .trainers
            .iter()
            .cloned()
            .map(|t| SurveyTrainerResult {
                trainer: SurveyPerson {
                    id: id_of(t.trainer.id),
                    name: t.trainer.name,
                },
                responses: t.responses,
                dimensions: t.dimensions.map(dimensions),
                questions: t.questions.map(questions),
                comments: t.comments.map(comments),
            })
            .collect()
    }
}

/// A person's supervisor.
pub struct SupervisorAssignment(pub SupervisorView);

#[Object]
impl SupervisorAssignment {
    /// The person.
    async fn person_id(&self) -> ID {
        id_of(self.0.person_id)
    }
    /// Their supervisor (atasan), who answers the supervisor's follow-ups about them.
    async fn supervisor(&self) -> Option<SurveyPerson> {
        self.0.supervisor.as_ref().map(|p| SurveyPerson {
            id: id_of(p.id),
            name: p.name.clone(),
        })
    }
}

/// What a sweep did.
#[derive(SimpleObject)]
pub struct EvaluationSweep {
    /// Certificates issued.
    pub certificates_issued: i32,
    /// Follow-up requests created.
    pub follow_ups_requested: i32,
    /// Reminders sent.
    pub reminders_sent: i32,
    /// Requests closed after their last reminder.
    pub follow_ups_closed: i32,
}

impl From<SweepReport> for EvaluationSweep {
    fn from(r: SweepReport) -> Self {
        let n = |v: usize| i32::try_from(v).unwrap_or(i32::MAX);
        EvaluationSweep {
            certificates_issued: n(r.certificates_issued),
            follow_ups_requested: n(r.follow_ups_requested),
            reminders_sent: n(r.reminders_sent),
            follow_ups_closed: n(r.follow_ups_closed),
        }
    }
}

/// A question of a template being written.
#[derive(InputObject, Debug, Clone)]
pub struct SurveyQuestionInput {
    /// Likert (1 to 5) or free text.
    pub kind: QuestionKind,
    /// Required for Likert questions.
    pub dimension: Option<Dimension>,
    /// Asked once for each trainer (reaction surveys only).
    #[graphql(default = false)]
    pub per_trainer: bool,
    /// Whether an answer is required.
    #[graphql(default = true)]
    pub required: bool,
    /// The question, 1 to 500 characters.
    pub text: String,
}

impl From<SurveyQuestionInput> for QuestionSpec {
    fn from(q: SurveyQuestionInput) -> Self {
        QuestionSpec {
            kind: q.kind,
            dimension: q.dimension,
            per_trainer: q.per_trainer,
            required: q.required,
            text: q.text,
        }
    }
}

/// A new template.
#[derive(InputObject, Debug, Clone)]
pub struct CreateSurveyTemplateInput {
    /// Which survey it is for.
    pub level: SurveyLevel,
    /// Its name.
    pub name: String,
    /// Its questions in order (1 to 100).
    pub questions: Vec<SurveyQuestionInput>,
}

/// A template's new name and questions (they replace the old ones).
#[derive(InputObject, Debug, Clone)]
pub struct UpdateSurveyTemplateInput {
    /// Its name.
    pub name: String,
    /// Its questions in order (1 to 100).
    pub questions: Vec<SurveyQuestionInput>,
}

/// Changes to a course's surveys; fields left out stay as they are.
#[derive(InputObject, Debug, Clone, Default)]
pub struct UpdateCourseSurveySettingsInput {
    /// The reaction template; null goes back to the default.
    pub reaction_template_id: MaybeUndefined<ID>,
    /// The learner's follow-up template; null goes back to the default.
    pub follow_up_learner_template_id: MaybeUndefined<ID>,
    /// The supervisor's follow-up template; null goes back to the default.
    pub follow_up_supervisor_template_id: MaybeUndefined<ID>,
    /// Whether the certificate waits for the reaction survey.
    pub reaction_required_for_certificate: Option<bool>,
    /// Whether follow-ups are asked.
    pub follow_up_enabled: Option<bool>,
    /// Days after completion when follow-ups are asked (1 to 730).
    pub follow_up_days: Option<i32>,
}

/// One answer.
#[derive(InputObject, Debug, Clone)]
pub struct SurveyAnswerInput {
    /// The question (`SurveyFormItem.questionId`).
    pub question_id: ID,
    /// The trainer, for a question asked per trainer (`SurveyFormItem.trainer.id`).
    pub trainer_id: Option<ID>,
    /// 1 to 5, for a Likert question.
    pub likert: Option<i32>,
    /// For a text question (at most 4,000 characters).
    pub text: Option<String>,
}

/// A survey submission.
#[derive(InputObject, Debug, Clone)]
pub struct SubmitSurveyInput {
    /// The enrollment the survey is about.
    pub enrollment_id: ID,
    /// Which survey.
    pub level: SurveyLevel,
    /// Every answer at once.
    pub answers: Vec<SurveyAnswerInput>,
}

fn template_change(
    field: &'static str,
    v: MaybeUndefined<ID>,
) -> async_graphql::Result<Option<Option<Uuid>>> {
    Ok(match v {
        MaybeUndefined::Undefined => None,
        MaybeUndefined::Null => Some(None),
        MaybeUndefined::Value(id) => Some(Some(parse_id(field, &id)?)),
    })
}

fn answers_of(input: Vec<SurveyAnswerInput>) -> async_graphql::Result<Vec<AnswerInput>> {
    input
        .into_iter()
        .enumerate()
        .map(|(i, a)| {
            let uuid = |name: &str, id: &ID| {
                Uuid::parse_str(id.as_str()).map_err(|_| {
                    kernel::error::to_graphql(EvaluationError::invalid(
                        format!("answers[{i}].{name}"),
                        format!("`{}` is not a valid id", id.as_str()),
                    ))
                })
            };
            Ok(AnswerInput {
                question_id: uuid("questionId", &a.question_id)?,
                trainer_id: a
                    .trainer_id
                    .as_ref()
                    .map(|t| uuid("trainerId", t))
                    .transpose()?,
                likert: a.likert,
                text: a.text,
            })
        })
        .collect()
}

/// What a notification is about.
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum NotificationKind {
    /// A follow-up survey was asked of the person.
    FollowUpRequested,
    /// A reminder of a follow-up survey not answered yet.
    FollowUpReminder,
}

/// A notification in the signed-in person's inbox.
pub struct Notification {
    row: crate::entity::notification::Model,
    request: Option<follow_up_request::Model>,
}

#[Object]
impl Notification {
    async fn id(&self) -> ID {
        id_of(self.row.id)
    }
    async fn kind(&self) -> NotificationKind {
        if self.row.kind == "follow_up_reminder" {
            NotificationKind::FollowUpReminder
        } else {
            NotificationKind::FollowUpRequested
        }
    }
    /// The follow-up it is about (answer it with `surveyForm` for its enrollment and level).
    async fn follow_up_request(&self) -> Option<FollowUpRequest> {
        self.request.clone().map(|row| FollowUpRequest {
            row,
            person_name: None,
            learner_name: None,
        })
    }
    async fn created_at(&self) -> DateTime<Utc> {
        self.row.created_at
    }
    /// When the person marked it read; `null` while unread.
    async fn read_at(&self) -> Option<DateTime<Utc>> {
        self.row.delivered_at
    }
}

/// What `markNotificationsRead` did.
#[derive(SimpleObject, Debug, Clone, Copy)]
pub struct NotificationMarks {
    /// How many of the ids were unread notifications of the caller, now read.
    pub marked: u64,
    /// How many of the caller's notifications are still unread (the badge).
    pub unread: u64,
}

/// Survey queries.
#[derive(Default)]
pub struct SurveyQuery;

#[Object]
impl SurveyQuery {
    /// Survey templates in creation order (admins, and trainers choosing for their courses).
    async fn survey_templates(
        &self,
        ctx: &Context<'_>,
        level: Option<SurveyLevel>,
        #[graphql(default = false, desc = "Also versions replaced by newer ones.")]
        include_retired: bool,
        first: Option<i32>,
        after: Option<String>,
    ) -> async_graphql::Result<Connection<String, SurveyTemplate>> {
        let actor = actor(ctx)?;
        let page = page_of(first, after.clone())?;
        let result = evaluation(ctx)?
            .list_templates(actor, level, include_retired, page)
            .await
            .gql()?;
        Ok(connection(
            after.is_some(),
            result.has_next_page,
            result
                .rows
                .into_iter()
                .map(|(cursor, t)| (cursor, SurveyTemplate(t))),
        ))
    }

    /// One template (admins and trainers).
    async fn survey_template(
        &self,
        ctx: &Context<'_>,
        id: ID,
    ) -> async_graphql::Result<SurveyTemplate> {
        let actor = actor(ctx)?;
        let id = parse_id("id", &id)?;
        evaluation(ctx)?
            .template(actor, id)
            .await
            .map(SurveyTemplate)
            .gql()
    }

    /// A course's surveys (its editors).
    async fn course_survey_settings(
        &self,
        ctx: &Context<'_>,
        course_id: ID,
    ) -> async_graphql::Result<CourseSurveySettings> {
        let actor = actor(ctx)?;
        let id = parse_id("courseId", &course_id)?;
        evaluation(ctx)?
            .course_surveys(actor, id)
            .await
            .map(CourseSurveySettings)
            .gql()
    }

    /// The signed-in person's notifications (follow-ups asked of them, reminders), newest first
    /// in cursor pages (20 by default, at most 100); only the unread ones with `unreadOnly`.
    async fn my_notifications(
        &self,
        ctx: &Context<'_>,
        unread_only: Option<bool>,
        first: Option<i32>,
        after: Option<String>,
    ) -> async_graphql::Result<Connection<String, Notification>> {
        let actor = actor(ctx)?;
        let page = page_of(first, after.clone())?;
        let result = evaluation(ctx)?
            .my_notifications(actor, unread_only.unwrap_or(false), page)
            .await
            .gql()?;
        Ok(connection(
            after.is_some(),
            result.has_next_page,
            result
                .rows
                .into_iter()
                .map(|(cursor, row, request)| (cursor, Notification { row, request })),
        ))
    }

    /// How many of the signed-in person's notifications are unread (a phone's badge).
    async fn my_unread_notification_count(&self, ctx: &Context<'_>) -> async_graphql::Result<u64> {
        let actor = actor(ctx)?;
        evaluation(ctx)?.unread_notifications(actor).await.gql()
    }

    /// Surveys waiting for the signed-in person: reactions of completed courses, and follow-ups
    /// asked of them as learner or supervisor.
    async fn my_pending_surveys(
        &self,
        ctx: &Context<'_>,
    ) -> async_graphql::Result<Vec<PendingSurveyObject>> {
        let actor = actor(ctx)?;
        Ok(evaluation(ctx)?
            .pending_surveys(actor)
            .await
            .gql()?
            .into_iter()
            .map(PendingSurveyObject)
            .collect())
    }

    /// The form of a survey about an enrollment, for the person who answers it. CONFLICT while
    /// it is not open (course not completed, follow-up not asked yet).
    async fn survey_form(
        &self,
        ctx: &Context<'_>,
        enrollment_id: ID,
        level: SurveyLevel,
    ) -> async_graphql::Result<SurveyFormObject> {
        let actor = actor(ctx)?;
        let id = parse_id("enrollmentId", &enrollment_id)?;
        evaluation(ctx)?
            .survey_form(actor, id, level)
            .await
            .map(SurveyFormObject)
            .gql()
    }

    /// A course's survey results as aggregates, of one cohort or of all (its editors and
    /// admins).
    async fn survey_results(
        &self,
        ctx: &Context<'_>,
        course_id: ID,
        #[graphql(default_with = "SurveyLevel::Reaction")] level: SurveyLevel,
        cohort_id: Option<ID>,
    ) -> async_graphql::Result<SurveyResultsObject> {
        let actor = actor(ctx)?;
        let course_id = parse_id("courseId", &course_id)?;
        let cohort_id = cohort_id.map(|c| parse_id("cohortId", &c)).transpose()?;
        evaluation(ctx)?
            .survey_results(actor, course_id, level, cohort_id)
            .await
            .map(SurveyResultsObject)
            .gql()
    }

    /// A course's follow-up requests, oldest first (admins).
    async fn follow_up_requests(
        &self,
        ctx: &Context<'_>,
        course_id: ID,
        state: Option<FollowUpState>,
        first: Option<i32>,
        after: Option<String>,
    ) -> async_graphql::Result<Connection<String, FollowUpRequest>> {
        let actor = actor(ctx)?;
        let course_id = parse_id("courseId", &course_id)?;
        let page = page_of(first, after.clone())?;
        let result = evaluation(ctx)?
            .follow_up_requests(actor, course_id, state.map(FollowUpState::as_str), page)
            .await
            .gql()?;
        Ok(connection(
            after.is_some(),
            result.has_next_page,
            result
                .rows
                .into_iter()
                .map(|(cursor, row, person, learner)| {
                    let request = FollowUpRequest {
                        row,
                        person_name: Some(person),
                        learner_name: Some(learner),
                    };
                    (cursor, request)
                }),
        ))
    }

    /// A person's supervisor (the person, admins, unit admins in scope).
    async fn supervisor(
        &self,
        ctx: &Context<'_>,
        person_id: ID,
    ) -> async_graphql::Result<SupervisorAssignment> {
        let actor = actor(ctx)?;
        let id = parse_id("personId", &person_id)?;
        evaluation(ctx)?
            .supervisor(actor, id)
            .await
            .map(SupervisorAssignment)
            .gql()
    }
}

/// Survey mutations.
#[derive(Default)]
pub struct SurveyMutation;

#[Object]
impl SurveyMutation {
    /// Marks the signed-in person's notifications read (at most 100 ids a call). Ids that are
    /// not theirs or already read change nothing, so sending the same marks again is harmless.
    async fn mark_notifications_read(
        &self,
        ctx: &Context<'_>,
        ids: Vec<ID>,
    ) -> async_graphql::Result<NotificationMarks> {
        let actor = actor(ctx)?;
        let ids = ids
            .iter()
            .map(|id| parse_id("ids", id))
            .collect::<async_graphql::Result<Vec<Uuid>>>()?;
        let service = evaluation(ctx)?;
        let marked = service.mark_notifications_read(actor, &ids).await.gql()?;
        let unread = service.unread_notifications(actor).await.gql()?;
        Ok(NotificationMarks { marked, unread })
    }

    /// Creates a survey template (admins).
    async fn create_survey_template(
        &self,
        ctx: &Context<'_>,
        input: CreateSurveyTemplateInput,
    ) -> async_graphql::Result<SurveyTemplate> {
        let actor = actor(ctx)?;
        let questions: Vec<QuestionSpec> = input.questions.into_iter().map(Into::into).collect();
        evaluation(ctx)?
            .create_template(actor, input.level, &input.name, &questions)
            .await
            .map(SurveyTemplate)
            .gql()
    }

    /// Replaces a template's name and questions (admins). A template that has responses gets a
    /// new version instead, which courses and defaults using it move to; the answer is the
    /// version now in force.
    async fn update_survey_template(
        &self,
        ctx: &Context<'_>,
        id: ID,
        input: UpdateSurveyTemplateInput,
    ) -> async_graphql::Result<SurveyTemplate> {
        let actor = actor(ctx)?;
        let id = parse_id("id", &id)?;
        let questions: Vec<QuestionSpec> = input.questions.into_iter().map(Into::into).collect();
        evaluation(ctx)?
            .update_template(actor, id, &input.name, &questions)
            .await
            .map(SurveyTemplate)
            .gql()
    }

    /// Makes a template the default of its level (admins).
    async fn set_default_survey_template(
        &self,
        ctx: &Context<'_>,
        id: ID,
    ) -> async_graphql::Result<SurveyTemplate> {
        let actor = actor(ctx)?;
        let id = parse_id("id", &id)?;
        evaluation(ctx)?
            .set_default_template(actor, id)
            .await
            .map(SurveyTemplate)
            .gql()
    }

    /// Changes a course's surveys (its editors).
    async fn update_course_survey_settings(
        &self,
        ctx: &Context<'_>,
        course_id: ID,
        input: UpdateCourseSurveySettingsInput,
    ) -> async_graphql::Result<CourseSurveySettings> {
        let actor = actor(ctx)?;
        let course_id = parse_id("courseId", &course_id)?;
        let changes = SurveySettingsChanges {
            reaction_template: template_change("reactionTemplateId", input.reaction_template_id)?,
            follow_up_learner_template: template_change(
                "followUpLearnerTemplateId",
                input.follow_up_learner_template_id,
            )?,
            follow_up_supervisor_template: template_change(
                "followUpSupervisorTemplateId",
                input.follow_up_supervisor_template_id,
            )?,
            reaction_required_for_certificate: input.reaction_required_for_certificate,
            follow_up_enabled: input.follow_up_enabled,
            follow_up_days: input.follow_up_days,
        };
        evaluation(ctx)?
            .update_course_surveys(actor, course_id, changes)
            .await
            .map(CourseSurveySettings)
            .gql()
    }

    /// Submits a survey, all answers at once. CONFLICT when it is not open or was answered
    /// already; BAD_USER_INPUT with `extensions.field` naming the answer at fault. Nothing is
    /// stored unless everything passes.
    async fn submit_survey(
        &self,
        ctx: &Context<'_>,
        input: SubmitSurveyInput,
    ) -> async_graphql::Result<SurveySubmission> {
        let actor = actor(ctx)?;
        let enrollment_id = parse_id("enrollmentId", &input.enrollment_id)?;
        let answers = answers_of(input.answers)?;
        let out = evaluation(ctx)?
            .submit_response(actor, enrollment_id, input.level, &answers)
            .await
            .gql()?;
        Ok(SurveySubmission {
            response_id: out.response.id,
            submitted_at: out.response.submitted_at,
            level: input.level,
            certificate: out.certificate,
        })
    }

    /// Closes an open follow-up request without an answer (admins).
    async fn close_follow_up_request(
        &self,
        ctx: &Context<'_>,
        id: ID,
    ) -> async_graphql::Result<FollowUpRequest> {
        let actor = actor(ctx)?;
        let id = parse_id("id", &id)?;
        let row = evaluation(ctx)?.close_follow_up(actor, id).await.gql()?;
        Ok(FollowUpRequest {
            row,
            person_name: None,
            learner_name: None,
        })
    }

    /// Sets a person's supervisor (atasan), or clears it with null (admins; unit admins for
    /// people in their unit subtree).
    async fn set_supervisor(
        &self,
        ctx: &Context<'_>,
        person_id: ID,
        supervisor_id: Option<ID>,
    ) -> async_graphql::Result<SupervisorAssignment> {
        let actor = actor(ctx)?;
        let person_id = parse_id("personId", &person_id)?;
        let supervisor_id = supervisor_id
            .map(|s| parse_id("supervisorId", &s))
            .transpose()?;
        evaluation(ctx)?
            .set_supervisor(actor, person_id, supervisor_id)
            .await
            .map(SupervisorAssignment)
            .gql()
    }

    /// Runs the evaluation sweep now (admins): issues due certificates, asks due follow-ups,
    /// sends due reminders. It also runs by itself every hour.
    async fn run_evaluation_sweep(
        &self,
        ctx: &Context<'_>,
    ) -> async_graphql::Result<EvaluationSweep> {
        let actor = actor(ctx)?;
        evaluation(ctx)?
            .run_sweep(actor, true)
            .await
            .map(Into::into)
            .gql()
    }
}
