//! Attempts: start, autosave, submit, close at the deadline, grade, and the results evaluation
//! reads.
//!
//! - Starting records the server's time. The deadline is the earlier of start + time limit (+
//!   time an admin granted) and the quiz's close. A job is queued for deadline + grace.
//! - Starting again while an attempt is open gives that attempt back (a phone that lost the
//!   answer to its first request), so a flaky connection never burns an attempt.
//! - Answers are saved per question, last write wins by the client's sequence number; a lower
//!   or equal sequence with a different answer is stale. An answer given (by the phone's clock)
//!   after the deadline is refused; until deadline + grace the server still takes answers given
//!   before it, so a phone that was offline can send what it answered in time. After that the
//!   attempt is closed whatever the client says.
//! - Grading happens here only, from the saved answers. Submitting twice gives the same result.
//!   The closing job grades an abandoned attempt with what was saved.
//! - A graded pre-test completes its lesson (taking it is the point); other quizzes complete
//!   their lesson on a pass. Results per (quiz, learner) are kept in `quiz_results`.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, Duration, Utc};
use jobs::{HandlerError, JobHandler};
use kernel::Actor;
use kernel::pagination::{Page, encode_cursor};
use rand::seq::SliceRandom;
use sea_orm::sea_query::{Expr, OnConflict};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect, Set,
};
use serde_json::json;
use uuid::Uuid;

use crate::Quizzes;
use crate::entity::{attempt_item, question_version, quiz, quiz_attempt, quiz_grant, quiz_result};
use crate::error::{QuizError, Refusal};
use crate::grading::{self, Answer, RawAnswer};
use crate::question::{Layout, QuestionBody};
use crate::quiz::{FormPolicy, GradingMethod, QuizKind, ReviewPolicy};

/// Which of a quiz's attempts [`Quizzes::quiz_attempts`] lists.
#[derive(Debug, Clone, Copy, Default)]
pub struct AttemptFilter {
    /// Only this learner's.
    pub person_id: Option<Uuid>,
    /// Only those in this stored state ([`state`]).
    pub state: Option<&'static str>,
}

/// A page of attempts, each with its cursor.
#[derive(Debug)]
pub struct AttemptPage {
    /// The attempts, newest first.
    pub rows: Vec<(String, quiz_attempt::Model)>,
    /// Whether more follow.
    pub has_next_page: bool,
}

/// The job that closes an attempt at its deadline (plus grace).
pub const CLOSE_JOB: &str = "quiz.close_attempt";
/// Most answers in one save.
pub const MAX_ANSWERS: usize = 200;

/// Attempt states, as stored.
pub mod state {
    /// Being answered.
    pub const OPEN: &str = "open";
    /// Submitted or closed, and graded.
    pub const GRADED: &str = "graded";
}

/// Who closed an attempt, as stored.
pub mod closed_by {
    /// The learner submitted it.
    pub const LEARNER: &str = "learner";
    /// Its deadline passed; the job (or the next request) closed it.
    pub const DEADLINE: &str = "deadline";
}

/// One answer of a save.
#[derive(Debug, Clone, PartialEq)]
pub struct AnswerSave {
    /// The question answered (a question of the attempt).
    pub question_id: Uuid,
    /// The client's sequence number: a later answer to the same question has a higher one.
    pub seq: i64,
    /// When the learner answered, by the phone's clock.
    pub answered_at: DateTime<Utc>,
    /// The answer.
    pub raw: RawAnswer,
}

/// The verdict on one answer of a save.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AnswerOutcome {
    /// The question.
    pub question_id: Uuid,
    /// The sequence number sent.
    pub seq: i64,
    /// Why it was refused; `None` when saved.
    pub rejected: Option<Refusal>,
    /// Saved earlier already (same sequence, same answer): changed nothing now.
    pub duplicate: bool,
}

/// An attempt with what it needs to be shown.
#[derive(Debug, Clone)]
pub struct AttemptDetail {
    /// The attempt.
    pub attempt: quiz_attempt::Model,
    /// Its quiz.
    pub quiz: quiz::Model,
    /// Its items, in order.
    pub items: Vec<attempt_item::Model>,
    /// The question versions the items were given, by version id.
    pub versions: HashMap<Uuid, question_version::Model>,
    /// Whether the caller may see the answer key and per-question scores.
    pub review: bool,
    /// The server's time when this was read.
    pub now: DateTime<Utc>,
}

/// The deadline of an attempt started at `start`.
pub fn deadline_of(
    quiz: &quiz::Model,
    start: DateTime<Utc>,
    extra_seconds: i64,
) -> Option<DateTime<Utc>> {
    let by_limit = quiz
        .time_limit_seconds
        .map(|t| start + Duration::seconds(i64::from(t) + extra_seconds));
    match (by_limit, quiz.closes_at) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

/// Whether a learner may see the answers of `attempt` now.
pub fn review_allowed(
    quiz: &quiz::Model,
    attempt: &quiz_attempt::Model,
    now: DateTime<Utc>,
) -> bool {
    if attempt.state != state::GRADED {
        return false;
    }
    match ReviewPolicy::from_stored(&quiz.review_policy) {
        Some(ReviewPolicy::AfterSubmit) => true,
        Some(ReviewPolicy::AfterClose) => quiz.closes_at.is_some_and(|c| now >= c),
        Some(ReviewPolicy::ScoreOnly) | None => false,
    }
}

/// The combined percent of graded attempts (in attempt order) by `method`.
pub fn combine(method: GradingMethod, percents: &[f64]) -> f64 {
    match method {
        GradingMethod::Highest => percents.iter().copied().fold(0.0, f64::max),
        GradingMethod::Last => percents.last().copied().unwrap_or(0.0),
        GradingMethod::Average => {
            if percents.is_empty() {
                0.0
            } else {
                grading::round4(percents.iter().sum::<f64>() / percents.len() as f64)
            }
        }
    }
}

fn person_of(actor: &Actor) -> Result<Uuid, QuizError> {
    actor.person_id.ok_or(QuizError::Unauthenticated)
}

async fn grants_of(
    conn: &impl ConnectionTrait,
    quiz_id: Uuid,
    person_id: Uuid,
) -> Result<(i64, i64), QuizError> {
    let rows = quiz_grant::Entity::find()
        .filter(quiz_grant::Column::QuizId.eq(quiz_id))
        .filter(quiz_grant::Column::PersonId.eq(person_id))
        .all(conn)
        .await?;
    Ok(rows.iter().fold((0, 0), |(a, s), g| {
        (
            a + i64::from(g.extra_attempts),
            s + i64::from(g.extra_seconds),
        )
    }))
}

async fn attempts_of(
    conn: &impl ConnectionTrait,
    quiz_id: Uuid,
    person_id: Uuid,
) -> Result<Vec<quiz_attempt::Model>, QuizError> {
    Ok(quiz_attempt::Entity::find()
        .filter(quiz_attempt::Column::QuizId.eq(quiz_id))
        .filter(quiz_attempt::Column::PersonId.eq(person_id))
        .order_by_asc(quiz_attempt::Column::Number)
        .all(conn)
        .await?)
}

async fn items_of(
    conn: &impl ConnectionTrait,
    attempt_id: Uuid,
) -> Result<Vec<attempt_item::Model>, QuizError> {
    Ok(attempt_item::Entity::find()
        .filter(attempt_item::Column::AttemptId.eq(attempt_id))
        .order_by_asc(attempt_item::Column::Position)
        .all(conn)
        .await?)
}

async fn versions_of(
    conn: &impl ConnectionTrait,
    items: &[attempt_item::Model],
) -> Result<HashMap<Uuid, question_version::Model>, QuizError> {
    let ids: HashSet<Uuid> = items.iter().map(|i| i.question_version_id).collect();
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    Ok(question_version::Entity::find()
        .filter(question_version::Column::Id.is_in(ids))
        .all(conn)
        .await?
        .into_iter()
        .map(|v| (v.id, v))
        .collect())
}

/// Why the quiz is locked for this enrollment, if it is: a gating pre-test not taken yet, or (for
/// a post-test) required lessons not complete.
async fn lock_reason(
    conn: &impl ConnectionTrait,
    quiz: &quiz::Model,
    enrollment_id: Uuid,
    person_id: Uuid,
) -> Result<Option<String>, QuizError> {
    if !quiz.gates_material
        && let Some(msg) = crate::gate::pending_pre_test(conn, quiz.course_id, person_id).await?
    {
        return Ok(Some(msg));
    }
    if quiz.kind != QuizKind::PostTest.as_str() {
        return Ok(None);
    }
    let plans = progress::plan::load(conn, &[quiz.course_id]).await?;
    let Some(plan) = plans.get(&quiz.course_id) else {
        return Ok(None);
    };
    let needed: Vec<Uuid> = plan
        .required()
        .into_iter()
        .filter(|id| *id != quiz.lesson_id)
        .filter(|id| {
            plan.lessons
                .get(id)
                .is_some_and(|l| l.rule.kind != course::structure::LessonKind::Survey)
        })
        .collect();
    if needed.is_empty() {
        return Ok(None);
    }
    let done: HashSet<Uuid> = progress::entity::lesson_progress::Entity::find()
        .filter(progress::entity::lesson_progress::Column::EnrollmentId.eq(enrollment_id))
        .filter(progress::entity::lesson_progress::Column::CompletedAt.is_not_null())
        .all(conn)
        .await?
        .into_iter()
        .map(|r| r.lesson_id)
        .collect();
    let left = needed.iter().filter(|id| !done.contains(id)).count();
    Ok((left > 0).then(|| {
        format!("the post-test opens once the required lessons are complete ({left} left)")
    }))
}

impl Quizzes {
    /// Starts an attempt at `quiz_id` for the signed-in learner, or gives back their open one.
    ///
    /// # Errors
    /// UNAUTHENTICATED for the system; NOT_FOUND for an unknown quiz; FORBIDDEN when not
    /// enrolled; CONFLICT with `reason` OUTSIDE_WINDOW, LOCKED, NO_ATTEMPTS_LEFT or NOT_READY;
    /// INTERNAL on database failure.
    pub async fn start(&self, actor: &Actor, quiz_id: Uuid) -> Result<AttemptDetail, QuizError> {
        let person = person_of(actor)?;
        let now = self.clock.now();
        let txn = kernel::db::begin_write(&self.db).await?;
        let quiz = crate::quiz::find(&txn, quiz_id).await?;
        let lesson = course::entity::lesson::Entity::find_by_id(quiz.lesson_id)
            .one(&txn)
            .await?
            .ok_or(QuizError::NotFound("quiz"))?;
        // Learners never see a lesson before it is published, nor after it is archived.
        if !lesson.reaches_learners() {
            return Err(QuizError::NotFound("quiz"));
        }
        let course = course::access::find_course(&txn, quiz.course_id).await?;
        let Some(enrollment) = enrollment::find_takeable(&txn, person, quiz.course_id).await?
        else {
            return Err(QuizError::Forbidden);
        };
        if !matches!(course.state.as_str(), "published" | "archived") {
            return Err(QuizError::Forbidden);
        }

        let attempts = attempts_of(&txn, quiz_id, person).await?;
        if let Some(open) = attempts.iter().find(|a| a.state == state::OPEN) {
            let closing = open
                .deadline_at
                .is_some_and(|d| now > d + self.settings.grace);
            if !closing {
                let open = open.clone();
                txn.commit().await?;
                return self.detail(actor, open, Some(quiz)).await;
            }
            // Past its deadline and grace: close it now, then go on to a new one.
            self.grade_in(&txn, open, closed_by::DEADLINE, now).await?;
        }
        if quiz.opens_at.is_some_and(|o| now < o) || quiz.closes_at.is_some_and(|c| now >= c) {
            return Err(QuizError::refused(
                Refusal::OutsideWindow,
                "the quiz is not open now",
            ));
        }
        if let Some(why) = lock_reason(&txn, &quiz, enrollment.id, person).await? {
            return Err(QuizError::refused(Refusal::Locked, why));
        }
        let (extra_attempts, extra_seconds) = grants_of(&txn, quiz_id, person).await?;
        let used = attempts.len() as i64;
        if let Some(max) = quiz.max_attempts
            && used >= i64::from(max) + extra_attempts
        {
            return Err(QuizError::refused(
                Refusal::NoAttemptsLeft,
                format!(
                    "all {} attempts have been used",
                    i64::from(max) + extra_attempts
                ),
            ));
        }

        let chosen = self.choose_questions(&txn, &quiz, person).await?;
        let versions = crate::bank::current_versions(&txn, &chosen).await?;
        let attempt_id = kernel::new_id();
        let mut items = Vec::with_capacity(chosen.len());
        let mut max_score = 0.0;
        for (i, qid) in chosen.iter().enumerate() {
            let v = versions
                .get(qid)
                .ok_or_else(|| QuizError::Internal(format!("question {qid} has no version")))?;
            let body = QuestionBody::from_stored(&v.body)?;
            let layout = Layout::new(&body, quiz.shuffle_options, &mut rand::thread_rng());
            max_score += v.points;
            items.push(attempt_item::Model {
                id: kernel::new_id(),
                attempt_id,
                position: i32::try_from(i).unwrap_or(i32::MAX),
                question_id: *qid,
                question_version_id: v.id,
                layout: layout.to_stored(),
                answer: None,
                answer_seq: None,
                answered_at: None,
                saved_at: None,
                score: None,
                max_score: v.points,
            });
        }
        let deadline = deadline_of(&quiz, now, extra_seconds);
        let attempt = quiz_attempt::Model {
            id: attempt_id,
            quiz_id,
            person_id: person,
            enrollment_id: enrollment.id,
            number: i32::try_from(used + 1).unwrap_or(i32::MAX),
            state: state::OPEN.to_owned(),
            started_at: now,
            deadline_at: deadline,
            submitted_at: None,
            closed_by: None,
            score: None,
            max_score: grading::round4(max_score),
            percent: None,
            passed: None,
            created_at: now,
            updated_at: now,
        };
        let inserted =
            quiz_attempt::Entity::insert(quiz_attempt::ActiveModel::from(attempt.clone()))
                .exec_without_returning(&txn)
                .await;
        if let Err(e) = inserted {
            if kernel::db::is_unique_violation(&e) {
                // Another start of the same learner won the race: give that attempt back.
                drop(txn);
                let open = attempts_of(&self.db, quiz_id, person)
                    .await?
                    .into_iter()
                    .find(|a| a.state == state::OPEN)
                    .ok_or_else(|| {
                        QuizError::Conflict("another attempt was started at the same time".into())
                    })?;
                return self.detail(actor, open, None).await;
            }
            return Err(e.into());
        }
        attempt_item::Entity::insert_many(
            items.iter().cloned().map(attempt_item::ActiveModel::from),
        )
        .exec_without_returning(&txn)
        .await?;
        if let Some(d) = deadline {
            self.jobs
                .enqueue_in(
                    &txn,
                    CLOSE_JOB,
                    json!({ "attempt_id": attempt_id }),
                    Some(d + self.settings.grace),
                    10,
                )
                .await?;
        }
        txn.commit().await?;
        let versions = versions.into_values().map(|v| (v.id, v)).collect();
        Ok(AttemptDetail {
            attempt,
            quiz,
            items,
            versions,
            review: false,
            now,
        })
    }

    /// The questions of a new attempt of `person`, in the order shown.
    async fn choose_questions(
        &self,
        conn: &impl ConnectionTrait,
        quiz: &quiz::Model,
        person: Uuid,
    ) -> Result<Vec<Uuid>, QuizError> {
        // The pre-test's questions this learner had, when the quiz pairs with one.
        let mut seen: Option<Vec<Uuid>> = None;
        let policy = quiz
            .form_policy
            .as_deref()
            .and_then(FormPolicy::from_stored);
        if let (Some(pair), Some(_)) = (quiz.paired_quiz_id, policy) {
            let first = attempts_of(conn, pair, person).await?.into_iter().next();
            if let Some(first) = first {
                seen = Some(
                    items_of(conn, first.id)
                        .await?
                        .iter()
                        .map(|i| i.question_id)
                        .collect(),
                );
            }
        }
        if let (Some(FormPolicy::Same), Some(seen)) = (policy, &seen)
            && !seen.is_empty()
        {
            let mut ids = seen.clone();
            if quiz.shuffle_questions {
                ids.shuffle(&mut rand::thread_rng());
            }
            return Ok(ids);
        }
        let exclude: HashSet<Uuid> = match (policy, &seen) {
            (Some(FormPolicy::Parallel), Some(s)) => s.iter().copied().collect(),
            _ => HashSet::new(),
        };
        let mut ids: Vec<Uuid> = match (quiz.draw_bank_id, quiz.draw_count) {
            (Some(bank), Some(n)) => {
                let pool: Vec<Uuid> = crate::bank::candidates(conn, bank, quiz.draw_tag.as_deref())
                    .await?
                    .into_iter()
                    .filter(|id| !exclude.contains(id))
                    .collect();
                let n = usize::try_from(n).unwrap_or(0);
                if pool.len() < n {
                    return Err(QuizError::refused(
                        Refusal::NotReady,
                        format!(
                            "the quiz draws {n} questions but only {} are available",
                            pool.len()
                        ),
                    ));
                }
                pool.choose_multiple(&mut rand::thread_rng(), n)
                    .copied()
                    .collect()
            }
            _ => {
                let fixed = crate::quiz::fixed_questions(conn, quiz.id).await?;
                let archived: HashSet<Uuid> = crate::entity::question::Entity::find()
                    .filter(crate::entity::question::Column::Id.is_in(fixed.iter().copied()))
                    .filter(crate::entity::question::Column::ArchivedAt.is_not_null())
                    .all(conn)
                    .await?
                    .into_iter()
                    .map(|q| q.id)
                    .collect();
                fixed
                    .into_iter()
                    .filter(|id| !exclude.contains(id) && !archived.contains(id))
                    .collect()
            }
        };
        if ids.is_empty() {
            return Err(QuizError::refused(
                Refusal::NotReady,
                "the quiz has no questions yet",
            ));
        }
        if quiz.shuffle_questions {
            ids.shuffle(&mut rand::thread_rng());
        }
        Ok(ids)
    }

    /// Loads an attempt for `actor`: the learner who owns it, the course's editors, admins.
    async fn readable_attempt(
        &self,
        conn: &impl ConnectionTrait,
        actor: &Actor,
        attempt_id: Uuid,
    ) -> Result<(quiz_attempt::Model, bool), QuizError> {
        let attempt = quiz_attempt::Entity::find_by_id(attempt_id)
            .one(conn)
            .await?
            .ok_or(QuizError::NotFound("attempt"))?;
        if actor.is_person(attempt.person_id) {
            return Ok((attempt, false));
        }
        let quiz = crate::quiz::find(conn, attempt.quiz_id).await?;
        if self.is_editor(conn, actor, quiz.course_id).await? {
            return Ok((attempt, true));
        }
        Err(QuizError::Forbidden)
    }

    async fn detail(
        &self,
        actor: &Actor,
        attempt: quiz_attempt::Model,
        quiz: Option<quiz::Model>,
    ) -> Result<AttemptDetail, QuizError> {
        let now = self.clock.now();
        let quiz = match quiz {
            Some(q) => q,
            None => crate::quiz::find(&self.db, attempt.quiz_id).await?,
        };
        let items = items_of(&self.db, attempt.id).await?;
        let versions = versions_of(&self.db, &items).await?;
        let editor = !actor.is_person(attempt.person_id);
        let review =
            (editor && attempt.state == state::GRADED) || review_allowed(&quiz, &attempt, now);
        Ok(AttemptDetail {
            attempt,
            quiz,
            items,
            versions,
            review,
            now,
        })
    }

    /// An attempt, for its learner, the course's editors and admins. An open attempt past its
    /// deadline and grace is closed and graded first.
    ///
    /// # Errors
    /// NOT_FOUND; FORBIDDEN for anyone else; INTERNAL on database failure.
    pub async fn attempt(
        &self,
        actor: &Actor,
        attempt_id: Uuid,
    ) -> Result<AttemptDetail, QuizError> {
        let (attempt, _) = self.readable_attempt(&self.db, actor, attempt_id).await?;
        let attempt = self.close_if_expired(attempt).await?;
        self.detail(actor, attempt, None).await
    }

    /// Closes `attempt` when it is open past its deadline and grace; gives it as it is then.
    async fn close_if_expired(
        &self,
        attempt: quiz_attempt::Model,
    ) -> Result<quiz_attempt::Model, QuizError> {
        let now = self.clock.now();
        let expired = attempt.state == state::OPEN
            && attempt
                .deadline_at
                .is_some_and(|d| now > d + self.settings.grace);
        if !expired {
            return Ok(attempt);
        }
        let txn = kernel::db::begin_write(&self.db).await?;
        let graded = self
            .grade_in(&txn, &attempt, closed_by::DEADLINE, now)
            .await?;
        txn.commit().await?;
        Ok(graded.unwrap_or(attempt))
    }

    /// Saves answers to an open attempt of the signed-in learner; each answer gets its own
    /// verdict, and a refused one leaves what was saved for that question as it was.
    ///
    /// # Errors
    /// NOT_FOUND for an unknown attempt; FORBIDDEN for someone else's; BAD_USER_INPUT for more
    /// than [`MAX_ANSWERS`]; CONFLICT with `reason` ATTEMPT_CLOSED once it is submitted or past
    /// its deadline and grace; INTERNAL on database failure.
    pub async fn save_answers(
        &self,
        actor: &Actor,
        attempt_id: Uuid,
        answers: Vec<AnswerSave>,
    ) -> Result<(quiz_attempt::Model, Vec<AnswerOutcome>), QuizError> {
        person_of(actor)?;
        if answers.len() > MAX_ANSWERS {
            return Err(QuizError::invalid(
                "answers",
                format!("at most {MAX_ANSWERS} answers per call"),
            ));
        }
        let now = self.clock.now();
        let txn = kernel::db::begin_write(&self.db).await?;
        let attempt = quiz_attempt::Entity::find_by_id(attempt_id)
            .one(&txn)
            .await?
            .ok_or(QuizError::NotFound("attempt"))?;
        if !actor.is_person(attempt.person_id) {
            return Err(QuizError::Forbidden);
        }
        let closed = || {
            QuizError::refused(
                Refusal::AttemptClosed,
                "the attempt is closed: no more answers are taken",
            )
        };
        if attempt.state != state::OPEN
            || attempt
                .deadline_at
                .is_some_and(|d| now > d + self.settings.grace)
        {
            return Err(closed());
        }
        // Locks the attempt row (PostgreSQL) so a submit waits for this save, and checks it is
        // still open under that lock.
        let locked = quiz_attempt::Entity::update_many()
            .col_expr(quiz_attempt::Column::UpdatedAt, Expr::value(now))
            .filter(quiz_attempt::Column::Id.eq(attempt_id))
            .filter(quiz_attempt::Column::State.eq(state::OPEN))
            .exec(&txn)
            .await?;
        if locked.rows_affected == 0 {
            return Err(closed());
        }
        let items = items_of(&txn, attempt_id).await?;
        let versions = versions_of(&txn, &items).await?;
        let mut by_question: HashMap<Uuid, attempt_item::Model> =
            items.into_iter().map(|i| (i.question_id, i)).collect();

        // Within one call, answers to one question apply in sequence order.
        let mut order: Vec<usize> = (0..answers.len()).collect();
        order.sort_by_key(|&i| (answers[i].question_id, answers[i].seq));
        let mut outcomes: BTreeMap<usize, AnswerOutcome> = BTreeMap::new();
        for i in order {
            let a = &answers[i];
            let verdict = self
                .save_one(&txn, &attempt, &mut by_question, &versions, a, now)
                .await?;
            outcomes.insert(
                i,
                AnswerOutcome {
                    question_id: a.question_id,
                    seq: a.seq,
                    rejected: verdict.err(),
                    duplicate: verdict.unwrap_or(false),
                },
            );
        }
        txn.commit().await?;
        Ok((attempt, outcomes.into_values().collect()))
    }

    /// Saves one answer; `Ok(true)` for a replay of what is saved.
    async fn save_one(
        &self,
        txn: &sea_orm::DatabaseTransaction,
        attempt: &quiz_attempt::Model,
        items: &mut HashMap<Uuid, attempt_item::Model>,
        versions: &HashMap<Uuid, question_version::Model>,
        a: &AnswerSave,
        now: DateTime<Utc>,
    ) -> Result<Result<bool, Refusal>, QuizError> {
        let Some(item) = items.get_mut(&a.question_id) else {
            return Ok(Err(Refusal::QuestionNotInAttempt));
        };
        if attempt.deadline_at.is_some_and(|d| a.answered_at > d) {
            return Ok(Err(Refusal::AfterDeadline));
        }
        let version = versions
            .get(&item.question_version_id)
            .ok_or_else(|| QuizError::Internal(format!("version of item {}", item.id)))?;
        let body = QuestionBody::from_stored(&version.body)?;
        let answer = match grading::parse(&body, &a.raw) {
            Ok(x) => x,
            Err(r) => return Ok(Err(r)),
        };
        let stored = answer.to_stored();
        if let Some(prev) = item.answer_seq {
            if a.seq == prev && item.answer.as_deref() == Some(stored.as_str()) {
                return Ok(Ok(true));
            }
            if a.seq <= prev {
                return Ok(Err(Refusal::StaleSequence));
            }
        }
        // The answer time is the phone's, but never later than the server's now.
        let answered_at = a.answered_at.min(now);
        attempt_item::Entity::update_many()
            .col_expr(attempt_item::Column::Answer, Expr::value(stored.clone()))
            .col_expr(attempt_item::Column::AnswerSeq, Expr::value(a.seq))
            .col_expr(attempt_item::Column::AnsweredAt, Expr::value(answered_at))
            .col_expr(attempt_item::Column::SavedAt, Expr::value(now))
            .filter(attempt_item::Column::Id.eq(item.id))
            .exec(txn)
            .await?;
        item.answer = Some(stored);
        item.answer_seq = Some(a.seq);
        item.answered_at = Some(answered_at);
        item.saved_at = Some(now);
        Ok(Ok(false))
    }

    /// Submits and grades the signed-in learner's attempt. Submitting a graded attempt gives its
    /// result again.
    ///
    /// # Errors
    /// NOT_FOUND; FORBIDDEN for someone else's attempt; CONFLICT with `reason` ATTEMPT_CLOSED
    /// when it is past its deadline and grace (it is then graded as closed by the deadline, with
    /// what was saved) or was closed by the deadline; INTERNAL on database failure.
    pub async fn submit(
        &self,
        actor: &Actor,
        attempt_id: Uuid,
    ) -> Result<AttemptDetail, QuizError> {
        person_of(actor)?;
        let now = self.clock.now();
        let attempt = quiz_attempt::Entity::find_by_id(attempt_id)
            .one(&self.db)
            .await?
            .ok_or(QuizError::NotFound("attempt"))?;
        if !actor.is_person(attempt.person_id) {
            return Err(QuizError::Forbidden);
        }
        let late = || {
            QuizError::refused(
                Refusal::AttemptClosed,
                "the deadline has passed: the attempt was closed and graded with the answers saved in time",
            )
        };
        if attempt.state == state::GRADED {
            return if attempt.closed_by.as_deref() == Some(closed_by::LEARNER) {
                self.detail(actor, attempt, None).await
            } else {
                Err(late())
            };
        }
        let expired = attempt
            .deadline_at
            .is_some_and(|d| now > d + self.settings.grace);
        let txn = kernel::db::begin_write(&self.db).await?;
        let how = if expired {
            closed_by::DEADLINE
        } else {
            closed_by::LEARNER
        };
        let graded = self.grade_in(&txn, &attempt, how, now).await?;
        txn.commit().await?;
        let graded = match graded {
            Some(g) => g,
            // Graded meanwhile (a double submit, or the closing job): read what won.
            None => quiz_attempt::Entity::find_by_id(attempt_id)
                .one(&self.db)
                .await?
                .ok_or(QuizError::NotFound("attempt"))?,
        };
        if graded.closed_by.as_deref() != Some(closed_by::LEARNER) {
            return Err(late());
        }
        self.detail(actor, graded, None).await
    }

    /// Closes and grades an attempt whose deadline and grace have passed (the job's work).
    /// Idempotent: a graded attempt, or one whose deadline moved (extra time), is left alone.
    ///
    /// # Errors
    /// INTERNAL on database failure.
    pub async fn close_expired(&self, attempt_id: Uuid) -> Result<bool, QuizError> {
        let Some(attempt) = quiz_attempt::Entity::find_by_id(attempt_id)
            .one(&self.db)
            .await?
        else {
            return Ok(false);
        };
        let before = attempt.state.clone();
        let after = self.close_if_expired(attempt).await?;
        Ok(before == state::OPEN && after.state == state::GRADED)
    }

    /// Grades an open attempt in `txn`: scores its items from the saved answers, closes it,
    /// refreshes the learner's quiz result and completes the lesson when due. `None` when the
    /// attempt was no longer open (graded by someone else first).
    async fn grade_in(
        &self,
        txn: &sea_orm::DatabaseTransaction,
        attempt: &quiz_attempt::Model,
        how: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<quiz_attempt::Model>, QuizError> {
        // Closed by the deadline: it ended then, not when the job ran.
        let ended = if how == closed_by::DEADLINE {
            attempt.deadline_at.unwrap_or(now).min(now)
        } else {
            now
        };
        let quiz = crate::quiz::find(txn, attempt.quiz_id).await?;
        let items = items_of(txn, attempt.id).await?;
        let versions = versions_of(txn, &items).await?;
        let mut total = 0.0;
        let mut by_score: BTreeMap<i64, (f64, Vec<Uuid>)> = BTreeMap::new();
        for item in &items {
            let v = versions
                .get(&item.question_version_id)
                .ok_or_else(|| QuizError::Internal(format!("version of item {}", item.id)))?;
            let body = QuestionBody::from_stored(&v.body)?;
            let answer = item.answer.as_deref().and_then(Answer::from_stored);
            let score = grading::round4(grading::grade(&body, item.max_score, answer.as_ref()));
            total += score;
            // Items with the same score are written by one statement.
            let key = (score * 10_000.0).round() as i64;
            by_score
                .entry(key)
                .or_insert((score, Vec::new()))
                .1
                .push(item.id);
        }
        let total = grading::round4(total);
        let percent = if attempt.max_score > 0.0 {
            grading::round4(100.0 * total / attempt.max_score)
        } else {
            0.0
        };
        let passed = percent + 1e-9 >= quiz.passing_percent;
        let closed = quiz_attempt::Entity::update_many()
            .col_expr(quiz_attempt::Column::State, Expr::value(state::GRADED))
            .col_expr(quiz_attempt::Column::SubmittedAt, Expr::value(ended))
            .col_expr(quiz_attempt::Column::ClosedBy, Expr::value(how))
            .col_expr(quiz_attempt::Column::Score, Expr::value(total))
            .col_expr(quiz_attempt::Column::Percent, Expr::value(percent))
            .col_expr(quiz_attempt::Column::Passed, Expr::value(passed))
            .col_expr(quiz_attempt::Column::UpdatedAt, Expr::value(now))
            .filter(quiz_attempt::Column::Id.eq(attempt.id))
            .filter(quiz_attempt::Column::State.eq(state::OPEN))
            .exec(txn)
            .await?;
        if closed.rows_affected == 0 {
            return Ok(None);
        }
        for (score, ids) in by_score.into_values() {
            attempt_item::Entity::update_many()
                .col_expr(attempt_item::Column::Score, Expr::value(score))
                .filter(attempt_item::Column::Id.is_in(ids))
                .exec(txn)
                .await?;
        }
        let mut graded = attempt.clone();
        graded.state = state::GRADED.to_owned();
        graded.submitted_at = Some(ended);
        graded.closed_by = Some(how.to_owned());
        graded.score = Some(total);
        graded.percent = Some(percent);
        graded.passed = Some(passed);
        graded.updated_at = now;

        let result = self.refresh_result(txn, &quiz, &graded, now).await?;
        let complete_at = if quiz.kind == QuizKind::PreTest.as_str() {
            Some(ended)
        } else {
            result.first_passed_at
        };
        if let Some(at) = complete_at {
            progress::completion::complete_lesson(
                txn,
                attempt.enrollment_id,
                quiz.lesson_id,
                at,
                now,
            )
            .await?;
        }
        Ok(Some(graded))
    }

    /// Recomputes the learner's result in `quiz` from their graded attempts.
    async fn refresh_result(
        &self,
        txn: &sea_orm::DatabaseTransaction,
        quiz: &quiz::Model,
        graded: &quiz_attempt::Model,
        now: DateTime<Utc>,
    ) -> Result<quiz_result::Model, QuizError> {
        let mut attempts: Vec<quiz_attempt::Model> = attempts_of(txn, quiz.id, graded.person_id)
            .await?
            .into_iter()
            .filter(|a| a.state == state::GRADED || a.id == graded.id)
            .map(|a| if a.id == graded.id { graded.clone() } else { a })
            .collect();
        attempts.sort_by_key(|a| a.number);
        let percents: Vec<f64> = attempts.iter().map(|a| a.percent.unwrap_or(0.0)).collect();
        let method =
            GradingMethod::from_stored(&quiz.grading_method).unwrap_or(GradingMethod::Highest);
        let final_percent = combine(method, &percents);
        let passed = final_percent + 1e-9 >= quiz.passing_percent;
        let first_passed_at = attempts
            .iter()
            .filter(|a| a.passed == Some(true))
            .filter_map(|a| a.submitted_at)
            .min()
            .filter(|_| passed);
        let row = quiz_result::Model {
            quiz_id: quiz.id,
            person_id: graded.person_id,
            enrollment_id: graded.enrollment_id,
            attempts: i32::try_from(attempts.len()).unwrap_or(i32::MAX),
            first_percent: percents.first().copied().unwrap_or(0.0),
            final_percent,
            passed,
            first_passed_at,
            updated_at: now,
        };
        quiz_result::Entity::insert(quiz_result::ActiveModel::from(row.clone()))
            .on_conflict(
                OnConflict::columns([quiz_result::Column::QuizId, quiz_result::Column::PersonId])
                    .update_columns([
                        quiz_result::Column::EnrollmentId,
                        quiz_result::Column::Attempts,
                        quiz_result::Column::FirstPercent,
                        quiz_result::Column::FinalPercent,
                        quiz_result::Column::Passed,
                        quiz_result::Column::FirstPassedAt,
                        quiz_result::Column::UpdatedAt,
                    ])
                    .to_owned(),
            )
            .exec_without_returning(txn)
            .await?;
        Ok(row)
    }

    /// The signed-in learner's attempts at a quiz, oldest first (expired open ones closed
    /// first).
    ///
    /// # Errors
    /// UNAUTHENTICATED for the system; NOT_FOUND; INTERNAL on database failure.
    pub async fn my_attempts(
        &self,
        actor: &Actor,
        quiz_id: Uuid,
    ) -> Result<Vec<quiz_attempt::Model>, QuizError> {
        let person = person_of(actor)?;
        let mut out = Vec::new();
        for a in attempts_of(&self.db, quiz_id, person).await? {
            out.push(self.close_if_expired(a).await?);
        }
        Ok(out)
    }

    /// The signed-in learner's result in a quiz, if they have one.
    ///
    /// # Errors
    /// UNAUTHENTICATED for the system; INTERNAL on database failure.
    pub async fn my_result(
        &self,
        actor: &Actor,
        quiz_id: Uuid,
    ) -> Result<Option<quiz_result::Model>, QuizError> {
        let person = person_of(actor)?;
        Ok(quiz_result::Entity::find_by_id((quiz_id, person))
            .one(&self.db)
            .await?)
    }

    /// How many attempts the signed-in learner has left (`None`: unlimited).
    ///
    /// # Errors
    /// UNAUTHENTICATED for the system; INTERNAL on database failure.
    pub async fn attempts_left(
        &self,
        actor: &Actor,
        quiz: &quiz::Model,
    ) -> Result<Option<i64>, QuizError> {
        let person = person_of(actor)?;
        let Some(max) = quiz.max_attempts else {
            return Ok(None);
        };
        let (extra, _) = grants_of(&self.db, quiz.id, person).await?;
        let used = attempts_of(&self.db, quiz.id, person).await?.len() as i64;
        Ok(Some((i64::from(max) + extra - used).max(0)))
    }

    /// A page of the attempts at a quiz, newest first (in the order they were started), for the
    /// course's editors and admins; of one learner, or in one state, when asked.
    ///
    /// # Errors
    /// NOT_FOUND; FORBIDDEN for anyone else; BAD_USER_INPUT for a cursor not issued here;
    /// INTERNAL on database failure.
    pub async fn quiz_attempts(
        &self,
        actor: &Actor,
        quiz_id: Uuid,
        filter: AttemptFilter,
        page: Page,
    ) -> Result<AttemptPage, QuizError> {
        self.quiz_for_editor(actor, quiz_id).await?;
        let mut q = quiz_attempt::Entity::find().filter(quiz_attempt::Column::QuizId.eq(quiz_id));
        if let Some(person) = filter.person_id {
            q = q.filter(quiz_attempt::Column::PersonId.eq(person));
        }
        if let Some(state) = filter.state {
            q = q.filter(quiz_attempt::Column::State.eq(state));
        }
        if let Some(after) = &page.after {
            // Ids are UUID v7: descending id is newest first, and one column keys the page.
            let after = Uuid::parse_str(after)
                .map_err(|_| QuizError::invalid("after", "invalid cursor"))?;
            q = q.filter(quiz_attempt::Column::Id.lt(after));
        }
        let mut rows = q
            .order_by_desc(quiz_attempt::Column::Id)
            .limit(page.fetch())
            .all(&self.db)
            .await?;
        let has_next_page = page.cut(&mut rows);
        Ok(AttemptPage {
            rows: rows
                .into_iter()
                .map(|a| (encode_cursor(&a.id.to_string()), a))
                .collect(),
            has_next_page,
        })
    }

    /// Grants a learner extra attempts and/or extra time in a quiz. Admins only; audited. Extra
    /// time also lengthens the learner's open attempt, if any.
    ///
    /// # Errors
    /// FORBIDDEN for non-admins; NOT_FOUND for an unknown quiz or person; BAD_USER_INPUT for
    /// nothing granted, negative or excessive amounts, or a missing reason.
    pub async fn grant(
        &self,
        actor: &Actor,
        quiz_id: Uuid,
        person_id: Uuid,
        extra_attempts: i32,
        extra_seconds: i32,
        reason: &str,
    ) -> Result<quiz_grant::Model, QuizError> {
        if !actor.is_admin() {
            return Err(QuizError::Forbidden);
        }
        if !(0..=20).contains(&extra_attempts) {
            return Err(QuizError::invalid(
                "extraAttempts",
                "grant 0 to 20 extra attempts",
            ));
        }
        if !(0..=crate::quiz::MAX_TIME_LIMIT_SECONDS).contains(&extra_seconds) {
            return Err(QuizError::invalid(
                "extraMinutes",
                "grant at most 24 hours of extra time",
            ));
        }
        if extra_attempts == 0 && extra_seconds == 0 {
            return Err(QuizError::invalid(
                "extraAttempts",
                "grant at least one extra attempt or some extra time",
            ));
        }
        let reason = reason.trim();
        if reason.is_empty() || reason.chars().count() > 500 {
            return Err(QuizError::invalid(
                "reason",
                "give a reason of 1 to 500 characters",
            ));
        }
        let now = self.clock.now();
        let txn = kernel::db::begin_write(&self.db).await?;
        let quiz = crate::quiz::find(&txn, quiz_id).await?;
        identity::entity::person::Entity::find_by_id(person_id)
            .one(&txn)
            .await?
            .ok_or(QuizError::NotFound("person"))?;
        let grant = quiz_grant::Model {
            id: kernel::new_id(),
            quiz_id,
            person_id,
            extra_attempts,
            extra_seconds,
            reason: reason.to_owned(),
            granted_by: actor.person_id.ok_or(QuizError::Unauthenticated)?,
            created_at: now,
        };
        quiz_grant::ActiveModel::from(grant.clone())
            .insert(&txn)
            .await?;
        if extra_seconds > 0 {
            let open = attempts_of(&txn, quiz_id, person_id)
                .await?
                .into_iter()
                .find(|a| a.state == state::OPEN);
            if let Some(open) = open
                && let Some(d) = open.deadline_at
            {
                let moved = d + Duration::seconds(i64::from(extra_seconds));
                let mut am: quiz_attempt::ActiveModel = open.clone().into();
                am.deadline_at = Set(Some(moved));
                am.updated_at = Set(now);
                am.update(&txn).await?;
                self.jobs
                    .enqueue_in(
                        &txn,
                        CLOSE_JOB,
                        json!({ "attempt_id": open.id }),
                        Some(moved + self.settings.grace),
                        10,
                    )
                    .await?;
            }
        }
        identity::audit::record(
            &txn,
            actor,
            now,
            "quiz.grant",
            "person",
            person_id,
            json!({
                "quiz_id": quiz.id,
                "extra_attempts": extra_attempts,
                "extra_seconds": extra_seconds,
                "reason": reason,
            }),
        )
        .await?;
        txn.commit().await?;
        Ok(grant)
    }

    /// The background job handlers of this crate (closing attempts at their deadline).
    pub fn job_handlers(&self) -> Vec<Arc<dyn JobHandler>> {
        vec![Arc::new(CloseAttempt {
            quizzes: self.clone(),
        })]
    }
}

/// Closes an attempt whose deadline and grace have passed, grading what was saved.
#[derive(Debug)]
struct CloseAttempt {
    quizzes: Quizzes,
}

#[async_trait]
impl JobHandler for CloseAttempt {
    fn kind(&self) -> &'static str {
        CLOSE_JOB
    }

    async fn run(&self, payload: serde_json::Value) -> Result<(), HandlerError> {
        let id = payload
            .get("attempt_id")
            .and_then(|v| v.as_str())
            .and_then(|s| Uuid::parse_str(s).ok())
            .ok_or("payload has no attempt_id")?;
        let closed = self.quizzes.close_expired(id).await?;
        tracing::debug!(attempt.id = %id, closed, "attempt deadline job");
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grading_methods_combine_attempts() {
        let p = [40.0, 90.0, 60.0];
        assert_eq!(combine(GradingMethod::Highest, &p), 90.0);
        assert_eq!(combine(GradingMethod::Last, &p), 60.0);
        assert_eq!(combine(GradingMethod::Average, &p), 63.3333);
        assert_eq!(combine(GradingMethod::Average, &[]), 0.0);
    }
}
