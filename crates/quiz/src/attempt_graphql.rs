//! The quiz-taking part of the GraphQL API: quiz settings for editors, and for learners the
//! quiz, its attempts, autosave and submit. Nothing a learner can reach here carries an answer
//! key, per-option correctness or per-question scores before the quiz's review policy allows:
//! those live only under `AttemptQuestion.review`, which is null until then.

use std::collections::HashMap;

use async_graphql::connection::Connection;
use async_graphql::{Context, Enum, ID, InputObject, Object, SimpleObject};
use chrono::{DateTime, Utc};
use identity::graphql::parse_id;
use kernel::GqlResultExt;
use kernel::context::{actor, service};
use kernel::pagination::{Page, connection};
use uuid::Uuid;

use crate::Quizzes;
use crate::attempt::{self, AnswerSave, AttemptDetail};
use crate::entity::{quiz, quiz_attempt, quiz_grant, quiz_result};
use crate::error::{QuizError, Refusal};
use crate::grading::{Answer, RawAnswer};
use crate::question::{self, Layout, QuestionBody, QuestionKind};
use crate::quiz::{Draw, FormPolicy, GradingMethod, QuizConfig, QuizKind, ReviewPolicy};

fn quizzes<'a>(ctx: &Context<'a>) -> async_graphql::Result<&'a Quizzes> {
    service::<Quizzes>(ctx)
}

fn internal(what: &str, value: &str) -> async_graphql::Error {
    QuizError::Internal(format!("stored {what} `{value}` is unknown")).gql_err()
}

trait GqlErr {
    fn gql_err(self) -> async_graphql::Error;
}

impl GqlErr for QuizError {
    fn gql_err(self) -> async_graphql::Error {
        kernel::error::to_graphql(self)
    }
}

/// A quiz: the settings of a quiz lesson, and for a learner their standing in it.
pub struct Quiz(pub quiz::Model);

#[Object]
impl Quiz {
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }
    /// The lesson it is.
    async fn lesson_id(&self) -> ID {
        ID(self.0.lesson_id.to_string())
    }
    async fn course_id(&self) -> ID {
        ID(self.0.course_id.to_string())
    }
    async fn kind(&self) -> async_graphql::Result<QuizKind> {
        QuizKind::from_stored(&self.0.kind).ok_or_else(|| internal("quiz kind", &self.0.kind))
    }
    /// Whether questions are drawn at random from a bank (else a fixed list).
    async fn random_draw(&self) -> bool {
        self.0.selection == "random"
    }
    async fn draw_bank_id(&self) -> Option<ID> {
        self.0.draw_bank_id.map(|id| ID(id.to_string()))
    }
    async fn draw_tag(&self) -> Option<&str> {
        self.0.draw_tag.as_deref()
    }
    async fn draw_count(&self) -> Option<i32> {
        self.0.draw_count
    }
    async fn shuffle_questions(&self) -> bool {
        self.0.shuffle_questions
    }
    async fn shuffle_options(&self) -> bool {
        self.0.shuffle_options
    }
    async fn time_limit_seconds(&self) -> Option<i32> {
        self.0.time_limit_seconds
    }
    async fn opens_at(&self) -> Option<DateTime<Utc>> {
        self.0.opens_at
    }
    async fn closes_at(&self) -> Option<DateTime<Utc>> {
        self.0.closes_at
    }
    /// Null: unlimited.
    async fn max_attempts(&self) -> Option<i32> {
        self.0.max_attempts
    }
    async fn grading_method(&self) -> async_graphql::Result<GradingMethod> {
        GradingMethod::from_stored(&self.0.grading_method)
            .ok_or_else(|| internal("grading method", &self.0.grading_method))
    }
    async fn passing_percent(&self) -> f64 {
        self.0.passing_percent
    }
    async fn review_policy(&self) -> async_graphql::Result<ReviewPolicy> {
        ReviewPolicy::from_stored(&self.0.review_policy)
            .ok_or_else(|| internal("review policy", &self.0.review_policy))
    }
    async fn paired_quiz_id(&self) -> Option<ID> {
        self.0.paired_quiz_id.map(|id| ID(id.to_string()))
    }
    async fn form_policy(&self) -> Option<FormPolicy> {
        self.0
            .form_policy
            .as_deref()
            .and_then(FormPolicy::from_stored)
    }
    async fn gates_material(&self) -> bool {
        self.0.gates_material
    }
    /// The fixed question list (editors only: FORBIDDEN for others, which nulls only this
    /// field).
    async fn question_ids(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<Vec<ID>>> {
        let q = quizzes(ctx)?;
        q.quiz_for_editor(actor(ctx)?, self.0.id).await.gql()?;
        Ok(Some(
            crate::quiz::fixed_questions(&q.db, self.0.id)
                .await
                .gql()?
                .into_iter()
                .map(|id| ID(id.to_string()))
                .collect(),
        ))
    }
    /// The signed-in learner's attempts, oldest first.
    async fn my_attempts(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<AttemptSummary>> {
        let rows = quizzes(ctx)?
            .my_attempts(actor(ctx)?, self.0.id)
            .await
            .gql()?;
        Ok(rows.into_iter().map(AttemptSummary).collect())
    }
    /// The signed-in learner's result (by the grading method), once an attempt is graded.
    async fn my_result(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<QuizResult>> {
        Ok(quizzes(ctx)?
            .my_result(actor(ctx)?, self.0.id)
            .await
            .gql()?
            .map(QuizResult))
    }
    /// Attempts the signed-in learner has left; null when unlimited.
    async fn attempts_left(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<i64>> {
        quizzes(ctx)?
            .attempts_left(actor(ctx)?, &self.0)
            .await
            .gql()
    }
}

/// An attempt without its questions (lists).
pub struct AttemptSummary(pub quiz_attempt::Model);

/// The state of an attempt.
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum AttemptState {
    /// Being answered.
    Open,
    /// Submitted or closed, and graded.
    Graded,
}

/// Who closed an attempt.
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum AttemptClosedBy {
    /// The learner submitted it.
    Learner,
    /// Its deadline passed.
    Deadline,
}

fn state_of(a: &quiz_attempt::Model) -> AttemptState {
    if a.state == attempt::state::GRADED {
        AttemptState::Graded
    } else {
        AttemptState::Open
    }
}

fn closed_by_of(a: &quiz_attempt::Model) -> Option<AttemptClosedBy> {
    match a.closed_by.as_deref() {
        Some(attempt::closed_by::LEARNER) => Some(AttemptClosedBy::Learner),
        Some(attempt::closed_by::DEADLINE) => Some(AttemptClosedBy::Deadline),
        _ => None,
    }
}

#[Object]
impl AttemptSummary {
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }
    async fn quiz_id(&self) -> ID {
        ID(self.0.quiz_id.to_string())
    }
    /// The learner.
    async fn person_id(&self) -> ID {
        ID(self.0.person_id.to_string())
    }
    async fn number(&self) -> i32 {
        self.0.number
    }
    async fn state(&self) -> AttemptState {
        state_of(&self.0)
    }
    async fn started_at(&self) -> DateTime<Utc> {
        self.0.started_at
    }
    async fn deadline_at(&self) -> Option<DateTime<Utc>> {
        self.0.deadline_at
    }
    async fn submitted_at(&self) -> Option<DateTime<Utc>> {
        self.0.submitted_at
    }
    async fn closed_by(&self) -> Option<AttemptClosedBy> {
        closed_by_of(&self.0)
    }
    /// Points earned, once graded.
    async fn score(&self) -> Option<f64> {
        self.0.score
    }
    async fn max_score(&self) -> f64 {
        self.0.max_score
    }
    /// Percent, once graded.
    async fn percent(&self) -> Option<f64> {
        self.0.percent
    }
    async fn passed(&self) -> Option<bool> {
        self.0.passed
    }
}

/// A learner's standing in a quiz across attempts.
pub struct QuizResult(pub quiz_result::Model);

#[Object]
impl QuizResult {
    /// Graded attempts.
    async fn attempts(&self) -> i32 {
        self.0.attempts
    }
    /// The first graded attempt's percent.
    async fn first_percent(&self) -> f64 {
        self.0.first_percent
    }
    /// The percent by the quiz's grading method.
    async fn final_percent(&self) -> f64 {
        self.0.final_percent
    }
    async fn passed(&self) -> bool {
        self.0.passed
    }
}

/// An option, a matching item or a matching choice: an id to answer with and a text.
#[derive(SimpleObject, Debug, Clone)]
pub struct QuizChoice {
    /// The id to answer with.
    pub id: ID,
    /// The text.
    pub text: String,
}

/// An (item, choice) pair of a matching answer.
#[derive(SimpleObject, InputObject, Debug, Clone)]
#[graphql(input_name = "MatchInput")]
pub struct Match {
    /// The left item.
    pub item_id: ID,
    /// The choice matched to it.
    pub choice_id: ID,
}

/// The last answer saved for a question.
#[derive(SimpleObject, Debug, Clone, Default)]
pub struct SavedAnswer {
    /// Its sequence number.
    pub seq: i64,
    /// When the learner gave it (phone clock, never after the server's time).
    pub answered_at: Option<DateTime<Utc>>,
    /// Options picked.
    pub option_ids: Option<Vec<ID>>,
    /// True or false.
    pub truth: Option<bool>,
    /// A typed answer.
    pub text: Option<String>,
    /// A number.
    pub number: Option<f64>,
    /// Matching pairs.
    pub matches: Option<Vec<Match>>,
}

fn saved_answer(item: &crate::entity::attempt_item::Model) -> Option<SavedAnswer> {
    let answer = Answer::from_stored(item.answer.as_deref()?)?;
    let mut out = SavedAnswer {
        seq: item.answer_seq.unwrap_or(0),
        answered_at: item.answered_at,
        ..SavedAnswer::default()
    };
    match answer {
        Answer::Choices(ids) => {
            out.option_ids = Some(ids.iter().map(|i| ID(i.to_string())).collect())
        }
        Answer::Truth(b) => out.truth = Some(b),
        Answer::Text(t) => out.text = Some(t),
        Answer::Number(n) => out.number = Some(n),
        Answer::Matches(m) => {
            out.matches = Some(
                m.into_iter()
                    .map(|(l, r)| Match {
                        item_id: ID(l.to_string()),
                        choice_id: ID(r.to_string()),
                    })
                    .collect(),
            );
        }
    }
    Some(out)
}

/// The answer key of a question, shown in a review.
#[derive(SimpleObject, Debug, Clone, Default)]
pub struct AnswerKey {
    /// The correct options (choice questions).
    pub option_ids: Option<Vec<ID>>,
    /// The right answer (true/false).
    pub truth: Option<bool>,
    /// The accepted answers (short text), normalised.
    pub accepted: Option<Vec<String>>,
    /// The right value (numeric).
    pub value: Option<f64>,
    /// Its tolerance (numeric).
    pub tolerance: Option<f64>,
    /// The right pairs (matching).
    pub matches: Option<Vec<Match>>,
}

fn key_of(body: &QuestionBody) -> AnswerKey {
    let mut k = AnswerKey::default();
    match body {
        QuestionBody::SingleChoice { options } | QuestionBody::MultipleChoice { options, .. } => {
            k.option_ids = Some(
                options
                    .iter()
                    .filter(|o| o.correct)
                    .map(|o| ID(o.id.to_string()))
                    .collect(),
            );
        }
        QuestionBody::TrueFalse { answer } => k.truth = Some(*answer),
        QuestionBody::ShortText { accepted, .. } => k.accepted = Some(accepted.clone()),
        QuestionBody::Numeric { value, tolerance } => {
            k.value = Some(*value);
            k.tolerance = Some(*tolerance);
        }
        QuestionBody::Matching { pairs } => {
            k.matches = Some(
                pairs
                    .iter()
                    .map(|p| Match {
                        item_id: ID(p.left_id.to_string()),
                        choice_id: ID(p.right_id.to_string()),
                    })
                    .collect(),
            );
        }
    }
    k
}

/// The review of one question: its score and the key. Only given once the review policy allows.
#[derive(SimpleObject, Debug, Clone)]
pub struct QuestionReview {
    /// Points earned.
    pub score: f64,
    /// Whether the full points were earned.
    pub correct: bool,
    /// The answer key.
    pub key: AnswerKey,
}

/// A question of an attempt, as the learner sees it.
#[derive(SimpleObject, Debug, Clone)]
pub struct AttemptQuestion {
    /// The question (answer with this id).
    pub question_id: ID,
    /// Order in the attempt, from 0.
    pub position: i32,
    /// Its type.
    pub kind: QuestionKind,
    /// The prompt.
    pub prompt: String,
    /// Its points.
    pub points: f64,
    /// Options (choice questions) or choices (matching), in this attempt's order.
    pub choices: Vec<QuizChoice>,
    /// Items to match (matching), in this attempt's order.
    pub items: Vec<QuizChoice>,
    /// The last answer saved.
    pub saved_answer: Option<SavedAnswer>,
    /// Score and key: null until the quiz's review policy allows.
    pub review: Option<QuestionReview>,
}

/// An attempt with its questions.
pub struct QuizAttempt(pub AttemptDetail);

#[Object]
impl QuizAttempt {
    async fn id(&self) -> ID {
        ID(self.0.attempt.id.to_string())
    }
    async fn quiz_id(&self) -> ID {
        ID(self.0.attempt.quiz_id.to_string())
    }
    async fn person_id(&self) -> ID {
        ID(self.0.attempt.person_id.to_string())
    }
    async fn number(&self) -> i32 {
        self.0.attempt.number
    }
    async fn state(&self) -> AttemptState {
        state_of(&self.0.attempt)
    }
    /// Server time at the start.
    async fn started_at(&self) -> DateTime<Utc> {
        self.0.attempt.started_at
    }
    /// The server's deadline; answers given after it are refused.
    async fn deadline_at(&self) -> Option<DateTime<Utc>> {
        self.0.attempt.deadline_at
    }
    /// Seconds until the deadline by the server's clock (0 once passed); null without one.
    async fn seconds_left(&self) -> Option<i64> {
        self.0
            .attempt
            .deadline_at
            .map(|d| (d - self.0.now).num_seconds().max(0))
    }
    /// The server's time now, so a phone can correct its clock.
    async fn server_time(&self) -> DateTime<Utc> {
        self.0.now
    }
    async fn submitted_at(&self) -> Option<DateTime<Utc>> {
        self.0.attempt.submitted_at
    }
    async fn closed_by(&self) -> Option<AttemptClosedBy> {
        closed_by_of(&self.0.attempt)
    }
    /// Points earned, once graded.
    async fn score(&self) -> Option<f64> {
        self.0.attempt.score
    }
    async fn max_score(&self) -> f64 {
        self.0.attempt.max_score
    }
    /// Percent, once graded.
    async fn percent(&self) -> Option<f64> {
        self.0.attempt.percent
    }
    async fn passed(&self) -> Option<bool> {
        self.0.attempt.passed
    }
    /// Whether the answers may be reviewed now.
    async fn review_available(&self) -> bool {
        self.0.review
    }
    /// The questions, in this attempt's order.
    async fn questions(&self) -> async_graphql::Result<Vec<AttemptQuestion>> {
        let d = &self.0;
        let mut out = Vec::with_capacity(d.items.len());
        for item in &d.items {
            let v = d.versions.get(&item.question_version_id).ok_or_else(|| {
                QuizError::Internal(format!("version of item {}", item.id)).gql_err()
            })?;
            let body = QuestionBody::from_stored(&v.body).gql()?;
            let layout = Layout::from_stored(&item.layout).gql()?;
            let shown = question::deliver(&v.prompt, v.points, &body, &layout);
            let review = d.review.then(|| {
                let score = item.score.unwrap_or(0.0);
                QuestionReview {
                    score,
                    correct: score + 1e-9 >= item.max_score,
                    key: key_of(&body),
                }
            });
            let choice = |c: question::Choice| QuizChoice {
                id: ID(c.id.to_string()),
                text: c.text,
            };
            out.push(AttemptQuestion {
                question_id: ID(item.question_id.to_string()),
                position: item.position,
                kind: shown.kind,
                prompt: shown.prompt,
                points: shown.points,
                choices: shown.choices.into_iter().map(choice).collect(),
                items: shown.items.into_iter().map(choice).collect(),
                saved_answer: saved_answer(item),
                review,
            });
        }
        Ok(out)
    }
}

/// The settings of a quiz.
#[derive(InputObject, Debug, Clone)]
pub struct QuizSettingsInput {
    /// What it is for.
    pub kind: QuizKind,
    /// Draw questions at random from this bank (else the fixed list of `setQuizQuestions`).
    pub draw_bank_id: Option<ID>,
    /// Only questions with this tag.
    pub draw_tag: Option<String>,
    /// How many to draw.
    pub draw_count: Option<i32>,
    #[graphql(default = false)]
    pub shuffle_questions: bool,
    #[graphql(default = false)]
    pub shuffle_options: bool,
    /// Per attempt, in minutes.
    pub time_limit_minutes: Option<i32>,
    pub opens_at: Option<DateTime<Utc>>,
    pub closes_at: Option<DateTime<Utc>>,
    /// Null: unlimited.
    pub max_attempts: Option<i32>,
    #[graphql(default_with = "GradingMethod::Highest")]
    pub grading_method: GradingMethod,
    /// Percent that passes, 0–100.
    #[graphql(default = 70.0)]
    pub passing_percent: f64,
    #[graphql(default_with = "ReviewPolicy::AfterSubmit")]
    pub review_policy: ReviewPolicy,
    /// A post-test's pre-test.
    pub paired_quiz_id: Option<ID>,
    pub form_policy: Option<FormPolicy>,
    /// A pre-test that locks the course's other lessons until taken.
    #[graphql(default = false)]
    pub gates_material: bool,
}

impl QuizSettingsInput {
    fn into_config(self) -> Result<QuizConfig, async_graphql::Error> {
        let draw = match (self.draw_bank_id, self.draw_count) {
            (Some(bank), Some(count)) => Some(Draw {
                bank_id: parse_id("drawBankId", &bank)?,
                tag: self.draw_tag,
                count,
            }),
            (None, None) if self.draw_tag.is_none() => None,
            _ => {
                return Err(QuizError::invalid(
                    "drawCount",
                    "a random draw needs both drawBankId and drawCount",
                ))
                .gql();
            }
        };
        let time_limit_seconds = match self.time_limit_minutes {
            None => None,
            Some(m) if (1..=24 * 60).contains(&m) => Some(m * 60),
            Some(_) => {
                return Err(QuizError::invalid(
                    "timeLimitMinutes",
                    "the time limit is 1 to 1440 minutes",
                ))
                .gql();
            }
        };
        Ok(QuizConfig {
            kind: self.kind,
            draw,
            shuffle_questions: self.shuffle_questions,
            shuffle_options: self.shuffle_options,
            time_limit_seconds,
            opens_at: self.opens_at,
            closes_at: self.closes_at,
            max_attempts: self.max_attempts,
            grading_method: self.grading_method,
            passing_percent: self.passing_percent,
            review_policy: self.review_policy,
            paired_quiz_id: self
                .paired_quiz_id
                .map(|id| parse_id("pairedQuizId", &id))
                .transpose()?,
            form_policy: self.form_policy,
            gates_material: self.gates_material,
        })
    }
}

/// One answer to save.
#[derive(InputObject, Debug, Clone)]
pub struct QuizAnswerInput {
    /// A question of the attempt.
    pub question_id: ID,
    /// Increases with each answer the phone gives to this question; the highest wins.
    pub seq: i64,
    /// When the learner answered, by the phone's clock.
    pub answered_at: DateTime<Utc>,
    /// Single or multiple choice: the options picked.
    pub option_ids: Option<Vec<ID>>,
    /// True/false.
    pub truth: Option<bool>,
    /// Short text.
    pub text: Option<String>,
    /// Numeric, as typed (`3.5` or `3,5`).
    pub number: Option<String>,
    /// Matching: (item, choice) pairs.
    pub matches: Option<Vec<Match>>,
}

/// Whether an answer was saved.
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum AnswerStatus {
    /// Saved (or saved before: see `duplicate`).
    Accepted,
    /// Refused: see `reason`; what was saved before stays.
    Rejected,
}

/// The verdict on one answer.
#[derive(SimpleObject, Debug, Clone)]
pub struct AnswerResult {
    pub question_id: ID,
    pub seq: i64,
    pub status: AnswerStatus,
    /// Saved earlier with the same sequence: changed nothing.
    pub duplicate: bool,
    /// Why it was refused.
    pub reason: Option<Refusal>,
}

/// What `saveQuizAnswers` did.
#[derive(SimpleObject, Debug, Clone)]
pub struct SaveAnswersPayload {
    pub attempt_id: ID,
    pub deadline_at: Option<DateTime<Utc>>,
    /// The server's time now.
    pub server_time: DateTime<Utc>,
    /// One per answer sent, in the order sent.
    pub results: Vec<AnswerResult>,
}

fn parse_ids(ids: &[ID]) -> Option<Vec<Uuid>> {
    ids.iter()
        .map(|i| Uuid::parse_str(i.as_str()).ok())
        .collect()
}

/// Quiz queries.
#[derive(Default)]
pub struct QuizQuery;

#[Object]
impl QuizQuery {
    /// A quiz: for its course's editors, and learners who may take the course.
    async fn quiz(&self, ctx: &Context<'_>, id: ID) -> async_graphql::Result<Quiz> {
        let id = parse_id("id", &id)?;
        quizzes(ctx)?
            .visible_quiz(actor(ctx)?, id)
            .await
            .gql()
            .map(Quiz)
    }

    /// The quiz of a lesson (null while the lesson has no settings).
    async fn quiz_of_lesson(
        &self,
        ctx: &Context<'_>,
        lesson_id: ID,
    ) -> async_graphql::Result<Option<Quiz>> {
        let lesson_id = parse_id("lessonId", &lesson_id)?;
        let q = quizzes(ctx)?;
        let Some(found) = crate::quiz::of_lesson(&q.db, lesson_id).await.gql()? else {
            return Ok(None);
        };
        q.visible_quiz(actor(ctx)?, found.id)
            .await
            .gql()
            .map(|m| Some(Quiz(m)))
    }

    /// An attempt: its learner, the course's editors, admins.
    async fn quiz_attempt(&self, ctx: &Context<'_>, id: ID) -> async_graphql::Result<QuizAttempt> {
        let id = parse_id("id", &id)?;
        quizzes(ctx)?
            .attempt(actor(ctx)?, id)
            .await
            .gql()
            .map(QuizAttempt)
    }

    /// The attempts at a quiz, newest first, in cursor pages (20 by default, at most 100):
    /// the course's editors and admins. `personId` keeps one learner's, `state` those open or
    /// graded.
    async fn quiz_attempts(
        &self,
        ctx: &Context<'_>,
        quiz_id: ID,
        person_id: Option<ID>,
        state: Option<AttemptState>,
        first: Option<i32>,
        after: Option<String>,
    ) -> async_graphql::Result<Connection<String, AttemptSummary>> {
        let quiz_id = parse_id("quizId", &quiz_id)?;
        let filter = attempt::AttemptFilter {
            person_id: person_id.map(|p| parse_id("personId", &p)).transpose()?,
            state: state.map(|s| match s {
                AttemptState::Open => attempt::state::OPEN,
                AttemptState::Graded => attempt::state::GRADED,
            }),
        };
        let page = Page::new(first, after.clone()).gql()?;
        let result = quizzes(ctx)?
            .quiz_attempts(actor(ctx)?, quiz_id, filter, page)
            .await
            .gql()?;
        Ok(connection(
            after.is_some(),
            result.has_next_page,
            result
                .rows
                .into_iter()
                .map(|(cursor, row)| (cursor, AttemptSummary(row))),
        ))
    }
}

/// A grant of extra attempts or time.
#[derive(SimpleObject, Debug, Clone)]
pub struct QuizGrant {
    pub id: ID,
    pub quiz_id: ID,
    pub person_id: ID,
    pub extra_attempts: i32,
    pub extra_seconds: i32,
    pub reason: String,
    pub granted_by: ID,
    pub created_at: DateTime<Utc>,
}

impl From<quiz_grant::Model> for QuizGrant {
    fn from(g: quiz_grant::Model) -> Self {
        QuizGrant {
            id: ID(g.id.to_string()),
            quiz_id: ID(g.quiz_id.to_string()),
            person_id: ID(g.person_id.to_string()),
            extra_attempts: g.extra_attempts,
            extra_seconds: g.extra_seconds,
            reason: g.reason,
            granted_by: ID(g.granted_by.to_string()),
            created_at: g.created_at,
        }
    }
}

/// Quiz mutations.
#[derive(Default)]
pub struct QuizMutation;

#[Object]
impl QuizMutation {
    /// Creates or changes the settings of a QUIZ lesson (its course's editors).
    async fn configure_quiz(
        &self,
        ctx: &Context<'_>,
        lesson_id: ID,
        settings: QuizSettingsInput,
    ) -> async_graphql::Result<Quiz> {
        let lesson_id = parse_id("lessonId", &lesson_id)?;
        let config = settings.into_config()?;
        quizzes(ctx)?
            .configure(actor(ctx)?, lesson_id, config)
            .await
            .gql()
            .map(Quiz)
    }

    /// Sets the fixed question list of a quiz, in order (its course's editors).
    async fn set_quiz_questions(
        &self,
        ctx: &Context<'_>,
        quiz_id: ID,
        question_ids: Vec<ID>,
    ) -> async_graphql::Result<Quiz> {
        let quiz_id = parse_id("quizId", &quiz_id)?;
        let ids = parse_ids(&question_ids).ok_or_else(|| {
            QuizError::invalid("questionIds", "a question id is not an id").gql_err()
        })?;
        quizzes(ctx)?
            .set_questions(actor(ctx)?, quiz_id, &ids)
            .await
            .gql()
            .map(Quiz)
    }

    /// Starts an attempt (or gives back the open one).
    async fn start_quiz_attempt(
        &self,
        ctx: &Context<'_>,
        quiz_id: ID,
    ) -> async_graphql::Result<QuizAttempt> {
        let quiz_id = parse_id("quizId", &quiz_id)?;
        quizzes(ctx)?
            .start(actor(ctx)?, quiz_id)
            .await
            .gql()
            .map(QuizAttempt)
    }

    /// Saves answers (at most 200); each gets its own verdict.
    async fn save_quiz_answers(
        &self,
        ctx: &Context<'_>,
        attempt_id: ID,
        answers: Vec<QuizAnswerInput>,
    ) -> async_graphql::Result<SaveAnswersPayload> {
        let attempt_id = parse_id("attemptId", &attempt_id)?;
        let q = quizzes(ctx)?;
        // Ids that do not parse name nothing in the attempt, or no option of the question.
        let mut saves = Vec::with_capacity(answers.len());
        let mut early: HashMap<usize, Refusal> = HashMap::new();
        for (i, a) in answers.iter().enumerate() {
            let question_id = Uuid::parse_str(a.question_id.as_str()).unwrap_or(Uuid::nil());
            let option_ids = match &a.option_ids {
                Some(ids) => match parse_ids(ids) {
                    Some(v) => Some(v),
                    None => {
                        early.insert(i, Refusal::UnknownOption);
                        None
                    }
                },
                None => None,
            };
            let matches = match &a.matches {
                Some(ms) => {
                    let parsed: Option<Vec<(Uuid, Uuid)>> = ms
                        .iter()
                        .map(|m| {
                            Some((
                                Uuid::parse_str(m.item_id.as_str()).ok()?,
                                Uuid::parse_str(m.choice_id.as_str()).ok()?,
                            ))
                        })
                        .collect();
                    if parsed.is_none() {
                        early.insert(i, Refusal::UnknownOption);
                    }
                    parsed
                }
                None => None,
            };
            if early.contains_key(&i) {
                continue;
            }
            saves.push((
                i,
                AnswerSave {
                    question_id,
                    seq: a.seq,
                    answered_at: a.answered_at,
                    raw: RawAnswer {
                        option_ids,
                        truth: a.truth,
                        text: a.text.clone(),
                        number: a.number.clone(),
                        matches,
                    },
                },
            ));
        }
        let index: Vec<usize> = saves.iter().map(|(i, _)| *i).collect();
        let (attempt, outcomes) = q
            .save_answers(
                actor(ctx)?,
                attempt_id,
                saves.into_iter().map(|(_, s)| s).collect(),
            )
            .await
            .gql()?;
        let mut results: Vec<Option<AnswerResult>> = vec![None; answers.len()];
        for (i, o) in index.into_iter().zip(outcomes) {
            results[i] = Some(AnswerResult {
                question_id: answers[i].question_id.clone(),
                seq: o.seq,
                status: if o.rejected.is_some() {
                    AnswerStatus::Rejected
                } else {
                    AnswerStatus::Accepted
                },
                duplicate: o.duplicate,
                reason: o.rejected,
            });
        }
        for (i, reason) in early {
            results[i] = Some(AnswerResult {
                question_id: answers[i].question_id.clone(),
                seq: answers[i].seq,
                status: AnswerStatus::Rejected,
                duplicate: false,
                reason: Some(reason),
            });
        }
        Ok(SaveAnswersPayload {
            attempt_id: ID(attempt.id.to_string()),
            deadline_at: attempt.deadline_at,
            server_time: q.clock.now(),
            results: results.into_iter().flatten().collect(),
        })
    }

    /// Submits and grades an attempt; submitting again gives the same result.
    async fn submit_quiz_attempt(
        &self,
        ctx: &Context<'_>,
        attempt_id: ID,
    ) -> async_graphql::Result<QuizAttempt> {
        let attempt_id = parse_id("attemptId", &attempt_id)?;
        quizzes(ctx)?
            .submit(actor(ctx)?, attempt_id)
            .await
            .gql()
            .map(QuizAttempt)
    }

    /// Grants a learner extra attempts and/or minutes in a quiz (admins; audited).
    async fn grant_quiz_extra(
        &self,
        ctx: &Context<'_>,
        quiz_id: ID,
        person_id: ID,
        #[graphql(default = 0)] extra_attempts: i32,
        #[graphql(default = 0)] extra_minutes: i32,
        reason: String,
    ) -> async_graphql::Result<QuizGrant> {
        let quiz_id = parse_id("quizId", &quiz_id)?;
        let person_id = parse_id("personId", &person_id)?;
        let seconds = extra_minutes.checked_mul(60).ok_or_else(|| {
            QuizError::invalid("extraMinutes", "grant at most 24 hours of extra time").gql_err()
        })?;
        quizzes(ctx)?
            .grant(
                actor(ctx)?,
                quiz_id,
                person_id,
                extra_attempts,
                seconds,
                &reason,
            )
            .await
            .gql()
            .map(QuizGrant::from)
    }
}
