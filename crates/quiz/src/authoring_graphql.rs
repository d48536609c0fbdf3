//! The authoring part of the quiz API: question banks and their questions, for trainers and
//! admins. Answer keys are fields here: only a bank's readers (its course's editors, admins, and
//! the editors of courses that borrow a shared bank) reach these types, and every resolver goes
//! through a [`Quizzes`] method that checks that first.
//!
//! Nested lists load in batches without a per-request loader: the questions of one page share
//! a batch, so `versions` costs one query for the whole page, and the banks of one list share
//! one for `questionCount` and `lentTo`.

use std::collections::HashMap;
use std::sync::Arc;

use async_graphql::connection::Connection;
use async_graphql::{Context, ID, InputObject, Object, SimpleObject};
use chrono::{DateTime, Utc};
use course::graphql::{Course, course_by_id};
use identity::graphql::parse_id;
use kernel::GqlResultExt;
use kernel::context::{actor, service};
use kernel::pagination::{Page, connection};
use tokio::sync::OnceCell;
use uuid::Uuid;

use crate::Quizzes;
use crate::bank::{
    self, AuthoredQuestion, BankView, KeyInput, NewQuestion, OptionInput, PairInput,
    QuestionChanges, QuestionFilter,
};
use crate::entity::{question_bank_loan, question_version};
use crate::error::QuizError;
use crate::question::{MultiScoring, QuestionBody, QuestionKind};

fn quizzes<'a>(ctx: &Context<'a>) -> async_graphql::Result<&'a Quizzes> {
    service::<Quizzes>(ctx)
}

fn gql_id(id: Uuid) -> ID {
    ID(id.to_string())
}

/// The banks of one list, loaded together for their nested fields.
struct BankBatch {
    ids: Vec<Uuid>,
    counts: OnceCell<HashMap<Uuid, u64>>,
    loans: OnceCell<HashMap<Uuid, Vec<question_bank_loan::Model>>>,
}

impl BankBatch {
    fn of(views: &[BankView]) -> Arc<Self> {
        Arc::new(BankBatch {
            ids: views.iter().map(|v| v.bank().id).collect(),
            counts: OnceCell::new(),
            loans: OnceCell::new(),
        })
    }
}

/// A question bank: a course's own, or a shared one that admins lend to courses.
pub struct QuestionBank {
    view: BankView,
    batch: Arc<BankBatch>,
}

impl QuestionBank {
    fn one(view: BankView) -> Self {
        let batch = BankBatch::of(std::slice::from_ref(&view));
        QuestionBank { view, batch }
    }

    fn list(views: Vec<BankView>) -> Vec<Self> {
        let batch = BankBatch::of(&views);
        views
            .into_iter()
            .map(|view| QuestionBank {
                view,
                batch: batch.clone(),
            })
            .collect()
    }
}

#[Object]
impl QuestionBank {
    async fn id(&self) -> ID {
        gql_id(self.view.bank().id)
    }
    async fn title(&self) -> &str {
        &self.view.bank().title
    }
    /// Whether it is a shared bank (no course; admins edit it and lend it to courses).
    async fn shared(&self) -> bool {
        self.view.bank().course_id.is_none()
    }
    /// The course it belongs to; null for a shared bank.
    async fn course(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<Course>> {
        match self.view.bank().course_id {
            Some(id) => course_by_id(ctx, id).await,
            None => Ok(None),
        }
    }
    /// Whether the caller may change it and its questions (false for a borrowed shared bank).
    async fn can_edit(&self) -> bool {
        self.view.can_edit()
    }
    /// Whether it was archived: hidden from lists unless asked for, closed to new questions;
    /// quizzes that use it keep working.
    async fn archived(&self) -> bool {
        self.view.bank().archived_at.is_some()
    }
    async fn created_at(&self) -> DateTime<Utc> {
        self.view.bank().created_at
    }
    async fn updated_at(&self) -> DateTime<Utc> {
        self.view.bank().updated_at
    }
    /// The number of its questions that are not archived.
    async fn question_count(&self, ctx: &Context<'_>) -> async_graphql::Result<i32> {
        let counts = self
            .batch
            .counts
            .get_or_try_init(|| async {
                bank::question_counts(&quizzes(ctx)?.db, &self.batch.ids)
                    .await
                    .gql()
            })
            .await?;
        let n = counts.get(&self.view.bank().id).copied().unwrap_or(0);
        Ok(i32::try_from(n).unwrap_or(i32::MAX))
    }
    /// The courses a shared bank is lent to, oldest loan first: for admins; null for others.
    async fn lent_to(
        &self,
        ctx: &Context<'_>,
    ) -> async_graphql::Result<Option<Vec<QuestionBankLoan>>> {
        if !actor(ctx)?.is_admin() {
            return Ok(None);
        }
        let loans = self
            .batch
            .loans
            .get_or_try_init(|| async {
                bank::loans_of(&quizzes(ctx)?.db, &self.batch.ids)
                    .await
                    .gql()
            })
            .await?;
        Ok(Some(
            loans
                .get(&self.view.bank().id)
                .map(|ls| ls.iter().cloned().map(QuestionBankLoan).collect())
                .unwrap_or_default(),
        ))
    }
    /// Its questions in the order written, with answer keys; `tag` keeps those with that tag,
    /// `includeArchived` (default false) adds the archived ones.
    async fn questions(
        &self,
        ctx: &Context<'_>,
        tag: Option<String>,
        include_archived: Option<bool>,
        first: Option<i32>,
        after: Option<String>,
    ) -> async_graphql::Result<Connection<String, Question>> {
        let page = Page::new(first, after.clone()).gql()?;
        let result = quizzes(ctx)?
            .questions(
                &self.view,
                QuestionFilter {
                    tag,
                    include_archived: include_archived.unwrap_or(false),
                },
                page,
            )
            .await
            .gql()?;
        let (cursors, questions): (Vec<String>, Vec<AuthoredQuestion>) =
            result.questions.into_iter().unzip();
        Ok(connection(
            after.is_some(),
            result.has_next_page,
            cursors
                .into_iter()
                .zip(Question::list(&self.view, questions)),
        ))
    }
}

/// A shared bank's loan to a course.
pub struct QuestionBankLoan(question_bank_loan::Model);

#[Object]
impl QuestionBankLoan {
    async fn course(&self, ctx: &Context<'_>) -> async_graphql::Result<Course> {
        course_by_id(ctx, self.0.course_id)
            .await?
            .ok_or(QuizError::NotFound("course"))
            .gql()
    }
    async fn lent_at(&self) -> DateTime<Utc> {
        self.0.lent_at
    }
}

/// An option of a choice question, with whether it is correct.
#[derive(SimpleObject)]
pub struct QuestionOption {
    /// Stable across versions while an edit keeps it.
    id: ID,
    text: String,
    correct: bool,
}

/// A pair of a matching question: an item on the left and its right-hand choice.
#[derive(SimpleObject)]
pub struct QuestionPair {
    /// The pair's id (its left item's): name it in an edit to keep the pair.
    id: ID,
    left: String,
    /// The id of the right-hand choice, as learners answer with it.
    right_id: ID,
    right: String,
}

/// The answer-key fields of a body; each is null for kinds it does not belong to.
struct Key<'a>(&'a QuestionBody);

impl Key<'_> {
    fn options(&self) -> Option<Vec<QuestionOption>> {
        match self.0 {
            QuestionBody::SingleChoice { options }
            | QuestionBody::MultipleChoice { options, .. } => Some(
                options
                    .iter()
                    .map(|o| QuestionOption {
                        id: gql_id(o.id),
                        text: o.text.clone(),
                        correct: o.correct,
                    })
                    .collect(),
            ),
            _ => None,
        }
    }
    fn scoring(&self) -> Option<MultiScoring> {
        match self.0 {
            QuestionBody::MultipleChoice { scoring, .. } => Some(*scoring),
            _ => None,
        }
    }
    fn truth(&self) -> Option<bool> {
        match self.0 {
            QuestionBody::TrueFalse { answer } => Some(*answer),
            _ => None,
        }
    }
    fn accepted(&self) -> Option<Vec<String>> {
        match self.0 {
            QuestionBody::ShortText { accepted, .. } => Some(accepted.clone()),
            _ => None,
        }
    }
    fn case_sensitive(&self) -> Option<bool> {
        match self.0 {
            QuestionBody::ShortText { case_sensitive, .. } => Some(*case_sensitive),
            _ => None,
        }
    }
    fn value(&self) -> Option<f64> {
        match self.0 {
            QuestionBody::Numeric { value, .. } => Some(*value),
            _ => None,
        }
    }
    fn tolerance(&self) -> Option<f64> {
        match self.0 {
            QuestionBody::Numeric { tolerance, .. } => Some(*tolerance),
            _ => None,
        }
    }
    fn pairs(&self) -> Option<Vec<QuestionPair>> {
        match self.0 {
            QuestionBody::Matching { pairs } => Some(
                pairs
                    .iter()
                    .map(|p| QuestionPair {
                        id: gql_id(p.left_id),
                        left: p.left.clone(),
                        right_id: gql_id(p.right_id),
                        right: p.right.clone(),
                    })
                    .collect(),
            ),
            _ => None,
        }
    }
}

/// The questions of one page (or one question), loaded together for their versions.
struct QuestionBatch {
    ids: Vec<Uuid>,
    versions: OnceCell<HashMap<Uuid, Vec<question_version::Model>>>,
}

/// A question with its current content and answer key.
pub struct Question {
    q: AuthoredQuestion,
    bank: BankView,
    batch: Arc<QuestionBatch>,
}

impl Question {
    fn list(bank: &BankView, questions: Vec<AuthoredQuestion>) -> Vec<Self> {
        let batch = Arc::new(QuestionBatch {
            ids: questions.iter().map(|q| q.question.id).collect(),
            versions: OnceCell::new(),
        });
        questions
            .into_iter()
            .map(|q| Question {
                q,
                bank: bank.clone(),
                batch: batch.clone(),
            })
            .collect()
    }

    fn one(bank: BankView, q: AuthoredQuestion) -> Self {
        let batch = Arc::new(QuestionBatch {
            ids: vec![q.question.id],
            versions: OnceCell::new(),
        });
        Question { q, bank, batch }
    }

    fn key(&self) -> Key<'_> {
        Key(&self.q.body)
    }
}

#[Object]
impl Question {
    async fn id(&self) -> ID {
        gql_id(self.q.question.id)
    }
    /// The bank it is in.
    async fn bank(&self) -> QuestionBank {
        QuestionBank::one(self.bank.clone())
    }
    async fn kind(&self) -> QuestionKind {
        self.q.body.kind()
    }
    async fn prompt(&self) -> &str {
        &self.q.version.prompt
    }
    async fn points(&self) -> f64 {
        self.q.version.points
    }
    /// The number of the current version, the one new attempts get.
    async fn version(&self) -> i32 {
        self.q.version.version
    }
    /// Lower-case tags, alphabetically (random draws select by tag).
    async fn tags(&self) -> &[String] {
        &self.q.tags
    }
    /// Whether it was archived: no longer drawn; attempts keep it.
    async fn archived(&self) -> bool {
        self.q.question.archived_at.is_some()
    }
    async fn created_at(&self) -> DateTime<Utc> {
        self.q.question.created_at
    }
    async fn updated_at(&self) -> DateTime<Utc> {
        self.q.question.updated_at
    }
    /// Options in the order written (single and multiple choice).
    async fn options(&self) -> Option<Vec<QuestionOption>> {
        self.key().options()
    }
    /// How a multiple-choice question scores.
    async fn scoring(&self) -> Option<MultiScoring> {
        self.key().scoring()
    }
    /// The right answer of a true/false question.
    async fn truth(&self) -> Option<bool> {
        self.key().truth()
    }
    /// The accepted answers of a short-text question, normalised.
    async fn accepted(&self) -> Option<Vec<String>> {
        self.key().accepted()
    }
    /// Whether case matters in a short-text question.
    async fn case_sensitive(&self) -> Option<bool> {
        self.key().case_sensitive()
    }
    /// The right value of a numeric question.
    async fn value(&self) -> Option<f64> {
        self.key().value()
    }
    /// How far from the value still counts (numeric).
    async fn tolerance(&self) -> Option<f64> {
        self.key().tolerance()
    }
    /// The pairs of a matching question, in the order written.
    async fn pairs(&self) -> Option<Vec<QuestionPair>> {
        self.key().pairs()
    }
    /// Every version, newest first. Attempts keep the version they were given; statistics are
    /// per version.
    async fn versions(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<QuestionVersion>> {
        let all = self
            .batch
            .versions
            .get_or_try_init(|| async {
                bank::versions_of(&quizzes(ctx)?.db, &self.batch.ids)
                    .await
                    .gql()
            })
            .await?;
        let current = self.q.question.current_version;
        all.get(&self.q.question.id)
            .map(|vs| {
                vs.iter()
                    .map(|v| {
                        Ok(QuestionVersion {
                            body: QuestionBody::from_stored(&v.body).gql()?,
                            current: v.version == current,
                            model: v.clone(),
                        })
                    })
                    .collect()
            })
            .unwrap_or_else(|| Ok(Vec::new()))
    }
}

/// One version of a question, as it was (or is, for the current one).
pub struct QuestionVersion {
    model: question_version::Model,
    body: QuestionBody,
    current: bool,
}

#[Object]
impl QuestionVersion {
    async fn id(&self) -> ID {
        gql_id(self.model.id)
    }
    /// From 1.
    async fn number(&self) -> i32 {
        self.model.version
    }
    /// Whether new attempts get this version.
    async fn current(&self) -> bool {
        self.current
    }
    async fn kind(&self) -> QuestionKind {
        self.body.kind()
    }
    async fn prompt(&self) -> &str {
        &self.model.prompt
    }
    async fn points(&self) -> f64 {
        self.model.points
    }
    async fn created_at(&self) -> DateTime<Utc> {
        self.model.created_at
    }
    /// Options in the order written (single and multiple choice).
    async fn options(&self) -> Option<Vec<QuestionOption>> {
        Key(&self.body).options()
    }
    /// How a multiple-choice question scores.
    async fn scoring(&self) -> Option<MultiScoring> {
        Key(&self.body).scoring()
    }
    /// The right answer of a true/false question.
    async fn truth(&self) -> Option<bool> {
        Key(&self.body).truth()
    }
    /// The accepted answers of a short-text question, normalised.
    async fn accepted(&self) -> Option<Vec<String>> {
        Key(&self.body).accepted()
    }
    /// Whether case matters in a short-text question.
    async fn case_sensitive(&self) -> Option<bool> {
        Key(&self.body).case_sensitive()
    }
    /// The right value of a numeric question.
    async fn value(&self) -> Option<f64> {
        Key(&self.body).value()
    }
    /// How far from the value still counts (numeric).
    async fn tolerance(&self) -> Option<f64> {
        Key(&self.body).tolerance()
    }
    /// The pairs of a matching question, in the order written.
    async fn pairs(&self) -> Option<Vec<QuestionPair>> {
        Key(&self.body).pairs()
    }
}

/// A new question bank.
#[derive(InputObject)]
pub struct CreateQuestionBankInput {
    /// The course it belongs to; omitted for a shared bank (admins).
    course_id: Option<ID>,
    /// 1 to 200 characters.
    title: String,
}

/// An option of a choice question.
#[derive(InputObject)]
pub struct QuestionOptionInput {
    /// The id of an option of the current version, to keep it (edits only); omitted for a new
    /// option, whose id the server makes.
    id: Option<ID>,
    text: String,
    #[graphql(default)]
    correct: bool,
}

/// A pair of a matching question.
#[derive(InputObject)]
pub struct QuestionPairInput {
    /// The id of a pair of the current version, to keep it (edits only); omitted for a new pair.
    id: Option<ID>,
    left: String,
    right: String,
}

/// A new question: its kind, and the answer-key fields of that kind (any other is refused).
#[derive(InputObject)]
pub struct CreateQuestionInput {
    kind: QuestionKind,
    /// At most 10,000 characters.
    prompt: String,
    /// Above 0, at most 1000; default 1.
    points: Option<f64>,
    /// Up to 20 tags of 1 to 50 characters, lower-cased.
    #[graphql(default)]
    tags: Vec<String>,
    /// Single and multiple choice: 2 to 20 options; exactly one correct for single choice, at
    /// least one for multiple choice.
    options: Option<Vec<QuestionOptionInput>>,
    /// Multiple choice; default ALL_OR_NOTHING.
    scoring: Option<MultiScoring>,
    /// True/false: the right answer.
    truth: Option<bool>,
    /// Short text: 1 to 20 accepted answers (compared after normalising spacing, and case unless
    /// `caseSensitive`).
    accepted: Option<Vec<String>>,
    /// Short text; default false.
    case_sensitive: Option<bool>,
    /// Numeric: the right value.
    value: Option<f64>,
    /// Numeric: how far from the value still counts (at least 0; default 0).
    tolerance: Option<f64>,
    /// Matching: 2 to 20 pairs.
    pairs: Option<Vec<QuestionPairInput>>,
}

/// Changes to a question; omitted fields stay. A key field given alone keeps the rest of the
/// current key; a new kind needs its whole key. The content changes in place until the question
/// has been given in an attempt, and goes to a new version after that.
#[derive(InputObject)]
pub struct UpdateQuestionInput {
    kind: Option<QuestionKind>,
    prompt: Option<String>,
    points: Option<f64>,
    /// Replaces all tags (tags are not versioned).
    tags: Option<Vec<String>>,
    /// Replaces the options; name an option's id to keep it.
    options: Option<Vec<QuestionOptionInput>>,
    scoring: Option<MultiScoring>,
    truth: Option<bool>,
    accepted: Option<Vec<String>>,
    case_sensitive: Option<bool>,
    value: Option<f64>,
    tolerance: Option<f64>,
    /// Replaces the pairs; name a pair's id to keep it.
    pairs: Option<Vec<QuestionPairInput>>,
}

fn option_inputs(
    list: Option<Vec<QuestionOptionInput>>,
) -> async_graphql::Result<Option<Vec<OptionInput>>> {
    list.map(|list| {
        list.into_iter()
            .map(|o| {
                Ok(OptionInput {
                    id: o.id.as_ref().map(|i| parse_id("options", i)).transpose()?,
                    text: o.text,
                    correct: o.correct,
                })
            })
            .collect()
    })
    .transpose()
}

fn pair_inputs(
    list: Option<Vec<QuestionPairInput>>,
) -> async_graphql::Result<Option<Vec<PairInput>>> {
    list.map(|list| {
        list.into_iter()
            .map(|p| {
                Ok(PairInput {
                    id: p.id.as_ref().map(|i| parse_id("pairs", i)).transpose()?,
                    left: p.left,
                    right: p.right,
                })
            })
            .collect()
    })
    .transpose()
}

/// Question bank and question authoring queries.
#[derive(Default)]
pub struct QuizAuthoringQuery;

#[Object]
impl QuizAuthoringQuery {
    /// A course's question banks: its own and the shared banks lent to it, by title (the
    /// course's editors); archived ones only with `includeArchived`.
    async fn question_banks(
        &self,
        ctx: &Context<'_>,
        course_id: ID,
        include_archived: Option<bool>,
    ) -> async_graphql::Result<Vec<QuestionBank>> {
        let actor = actor(ctx)?;
        let course_id = parse_id("courseId", &course_id)?;
        quizzes(ctx)?
            .course_banks(actor, course_id, include_archived.unwrap_or(false))
            .await
            .map(QuestionBank::list)
            .gql()
    }

    /// Every shared question bank, by title (admins); archived ones only with
    /// `includeArchived`.
    async fn shared_question_banks(
        &self,
        ctx: &Context<'_>,
        include_archived: Option<bool>,
    ) -> async_graphql::Result<Vec<QuestionBank>> {
        let actor = actor(ctx)?;
        quizzes(ctx)?
            .shared_banks(actor, include_archived.unwrap_or(false))
            .await
            .map(QuestionBank::list)
            .gql()
    }

    /// A question bank the caller may read.
    async fn question_bank(
        &self,
        ctx: &Context<'_>,
        id: ID,
    ) -> async_graphql::Result<QuestionBank> {
        let actor = actor(ctx)?;
        let id = parse_id("id", &id)?;
        quizzes(ctx)?
            .bank(actor, id)
            .await
            .map(QuestionBank::one)
            .gql()
    }

    /// A question of a bank the caller may read, with its answer key.
    async fn question(&self, ctx: &Context<'_>, id: ID) -> async_graphql::Result<Question> {
        let actor = actor(ctx)?;
        let id = parse_id("id", &id)?;
        let (view, q) = quizzes(ctx)?.question(actor, id).await.gql()?;
        Ok(Question::one(view, q))
    }
}

/// Question bank and question authoring mutations.
#[derive(Default)]
pub struct QuizAuthoringMutation;

#[Object]
impl QuizAuthoringMutation {
    /// Creates a question bank: for a course (its editors), or shared without one (admins).
    async fn create_question_bank(
        &self,
        ctx: &Context<'_>,
        input: CreateQuestionBankInput,
    ) -> async_graphql::Result<QuestionBank> {
        let actor = actor(ctx)?;
        let course_id = input
            .course_id
            .as_ref()
            .map(|c| parse_id("courseId", c))
            .transpose()?;
        quizzes(ctx)?
            .create_bank(actor, course_id, &input.title)
            .await
            .map(QuestionBank::one)
            .gql()
    }

    /// Renames a question bank.
    async fn rename_question_bank(
        &self,
        ctx: &Context<'_>,
        id: ID,
        title: String,
    ) -> async_graphql::Result<QuestionBank> {
        let actor = actor(ctx)?;
        let id = parse_id("id", &id)?;
        quizzes(ctx)?
            .rename_bank(actor, id, &title)
            .await
            .map(QuestionBank::one)
            .gql()
    }

    /// Archives a question bank: hidden from lists, closed to new questions; quizzes that use
    /// it keep working.
    async fn archive_question_bank(
        &self,
        ctx: &Context<'_>,
        id: ID,
    ) -> async_graphql::Result<QuestionBank> {
        let actor = actor(ctx)?;
        let id = parse_id("id", &id)?;
        quizzes(ctx)?
            .set_bank_archived(actor, id, true)
            .await
            .map(QuestionBank::one)
            .gql()
    }

    /// Restores an archived question bank.
    async fn restore_question_bank(
        &self,
        ctx: &Context<'_>,
        id: ID,
    ) -> async_graphql::Result<QuestionBank> {
        let actor = actor(ctx)?;
        let id = parse_id("id", &id)?;
        quizzes(ctx)?
            .set_bank_archived(actor, id, false)
            .await
            .map(QuestionBank::one)
            .gql()
    }

    /// Lends a shared bank to a course, whose editors may then read its questions and draw
    /// from it (admins; audited).
    async fn lend_question_bank(
        &self,
        ctx: &Context<'_>,
        bank_id: ID,
        course_id: ID,
    ) -> async_graphql::Result<QuestionBank> {
        let actor = actor(ctx)?;
        let bank_id = parse_id("bankId", &bank_id)?;
        let course_id = parse_id("courseId", &course_id)?;
        quizzes(ctx)?
            .lend_bank(actor, bank_id, course_id)
            .await
            .map(QuestionBank::one)
            .gql()
    }

    /// Ends a shared bank's loan to a course (admins; audited); refused while quizzes of the
    /// course use the bank.
    async fn return_question_bank(
        &self,
        ctx: &Context<'_>,
        bank_id: ID,
        course_id: ID,
    ) -> async_graphql::Result<QuestionBank> {
        let actor = actor(ctx)?;
        let bank_id = parse_id("bankId", &bank_id)?;
        let course_id = parse_id("courseId", &course_id)?;
        quizzes(ctx)?
            .return_bank(actor, bank_id, course_id)
            .await
            .map(QuestionBank::one)
            .gql()
    }

    /// Writes a question into a bank the caller edits.
    async fn create_question(
        &self,
        ctx: &Context<'_>,
        bank_id: ID,
        input: CreateQuestionInput,
    ) -> async_graphql::Result<Question> {
        let actor = actor(ctx)?;
        let bank_id = parse_id("bankId", &bank_id)?;
        let key = KeyInput {
            options: option_inputs(input.options)?,
            scoring: input.scoring,
            truth: input.truth,
            accepted: input.accepted,
            case_sensitive: input.case_sensitive,
            value: input.value,
            tolerance: input.tolerance,
            pairs: pair_inputs(input.pairs)?,
        };
        let (view, q) = quizzes(ctx)?
            .create_question(
                actor,
                bank_id,
                NewQuestion {
                    kind: input.kind,
                    prompt: input.prompt,
                    points: input.points,
                    tags: input.tags,
                    key,
                },
            )
            .await
            .gql()?;
        Ok(Question::one(view, q))
    }

    /// Changes a question: in place until it has been given in an attempt, as a new version
    /// after that.
    async fn update_question(
        &self,
        ctx: &Context<'_>,
        id: ID,
        input: UpdateQuestionInput,
    ) -> async_graphql::Result<Question> {
        let actor = actor(ctx)?;
        let id = parse_id("id", &id)?;
        let key = KeyInput {
            options: option_inputs(input.options)?,
            scoring: input.scoring,
            truth: input.truth,
            accepted: input.accepted,
            case_sensitive: input.case_sensitive,
            value: input.value,
            tolerance: input.tolerance,
            pairs: pair_inputs(input.pairs)?,
        };
        let (view, q, _) = quizzes(ctx)?
            .update_question(
                actor,
                id,
                QuestionChanges {
                    kind: input.kind,
                    prompt: input.prompt,
                    points: input.points,
                    tags: input.tags,
                    key,
                },
            )
            .await
            .gql()?;
        Ok(Question::one(view, q))
    }

    /// Archives a question: no longer drawn at random; attempts keep it.
    async fn archive_question(&self, ctx: &Context<'_>, id: ID) -> async_graphql::Result<Question> {
        let actor = actor(ctx)?;
        let id = parse_id("id", &id)?;
        let (view, q) = quizzes(ctx)?
            .set_question_archived(actor, id, true)
            .await
            .gql()?;
        Ok(Question::one(view, q))
    }

    /// Restores an archived question.
    async fn restore_question(&self, ctx: &Context<'_>, id: ID) -> async_graphql::Result<Question> {
        let actor = actor(ctx)?;
        let id = parse_id("id", &id)?;
        let (view, q) = quizzes(ctx)?
            .set_question_archived(actor, id, false)
            .await
            .gql()?;
        Ok(Question::one(view, q))
    }
}
