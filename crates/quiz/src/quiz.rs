//! Quizzes as lessons: the settings of a lesson of kind `quiz`, and its question list.
//!
//! - A quiz is a lesson of kind `quiz` made with the course crate's `createLesson`; its editors
//!   then configure it here (`configureQuiz`). Until configured it cannot be started.
//! - Questions are a fixed list (any of the course's own banks or banks lent to it), or a random
//!   draw of N from one bank, optionally by tag.
//! - A post-test can name its pre-test (`pairedQuizId`): the pair's scores make the learning
//!   gain. With `formPolicy` SAME the learner gets the questions they had in the pre-test; with
//!   PARALLEL, questions they did not see in it (a parallel form drawn from the same pool).
//! - A pre-test can gate the material (`gatesMaterial`): the course's other lessons stay locked
//!   for a learner until they have taken it.

use std::collections::HashSet;

use chrono::{DateTime, Utc};
use kernel::Actor;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, Set,
};
use serde_json::json;
use uuid::Uuid;

use crate::Quizzes;
use crate::entity::{question, quiz, quiz_question};
use crate::error::QuizError;

/// Most questions in a fixed list or a draw.
pub const MAX_QUESTIONS: usize = 200;
/// Longest time limit: one day.
pub const MAX_TIME_LIMIT_SECONDS: i32 = 24 * 3600;

/// What a quiz is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, async_graphql::Enum)]
pub enum QuizKind {
    /// Taken before the material; its first score is the learning baseline. Completes on
    /// submit, whatever the score.
    PreTest,
    /// Taken after the material; opens once the course's other required lessons are complete.
    PostTest,
    /// For practice; completes on a pass.
    Practice,
    /// A graded test; completes on a pass.
    Graded,
}

/// How attempts combine into the quiz's result.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, async_graphql::Enum)]
pub enum GradingMethod {
    /// The best attempt.
    Highest,
    /// The latest attempt.
    Last,
    /// The mean of all attempts.
    Average,
}

/// When a learner sees the correct answers of a graded attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, async_graphql::Enum)]
pub enum ReviewPolicy {
    /// Only the score, never the answers.
    ScoreOnly,
    /// Answers once the attempt is graded.
    AfterSubmit,
    /// Answers once the quiz has closed (its close time has passed).
    AfterClose,
}

/// How a post-test's questions relate to its pre-test's.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, async_graphql::Enum)]
pub enum FormPolicy {
    /// The questions the learner had in the pre-test.
    Same,
    /// Questions the learner did not have in the pre-test.
    Parallel,
}

macro_rules! stored_enum {
    ($t:ty { $($v:ident => $s:literal),+ $(,)? }) => {
        impl $t {
            /// The stored form.
            pub fn as_str(self) -> &'static str {
                match self { $(<$t>::$v => $s),+ }
            }
            /// Reads the stored form.
            pub fn from_stored(s: &str) -> Option<Self> {
                match s { $($s => Some(<$t>::$v),)+ _ => None }
            }
        }
    };
}

stored_enum!(QuizKind { PreTest => "pre_test", PostTest => "post_test", Practice => "practice", Graded => "graded" });
stored_enum!(GradingMethod { Highest => "highest", Last => "last", Average => "average" });
stored_enum!(ReviewPolicy { ScoreOnly => "score_only", AfterSubmit => "after_submit", AfterClose => "after_close" });
stored_enum!(FormPolicy { Same => "same", Parallel => "parallel" });

/// The settings of a quiz, as an editor gives them.
#[derive(Debug, Clone, PartialEq)]
pub struct QuizConfig {
    /// What it is for.
    pub kind: QuizKind,
    /// A random draw from a bank, or `None` for the fixed list (`setQuizQuestions`).
    pub draw: Option<Draw>,
    /// Show the questions in a random order per attempt.
    pub shuffle_questions: bool,
    /// Show options in a random order per attempt.
    pub shuffle_options: bool,
    /// Time limit per attempt, in seconds.
    pub time_limit_seconds: Option<i32>,
    /// When it opens.
    pub opens_at: Option<DateTime<Utc>>,
    /// When it closes: open attempts end then at the latest.
    pub closes_at: Option<DateTime<Utc>>,
    /// Most attempts per learner; `None` for unlimited.
    pub max_attempts: Option<i32>,
    /// How attempts combine.
    pub grading_method: GradingMethod,
    /// The percent that passes (0–100).
    pub passing_percent: f64,
    /// When answers are shown.
    pub review_policy: ReviewPolicy,
    /// A post-test's pre-test, in the same course.
    pub paired_quiz_id: Option<Uuid>,
    /// How the pair's forms relate (needs `paired_quiz_id`).
    pub form_policy: Option<FormPolicy>,
    /// A pre-test that locks the course's other lessons until taken.
    pub gates_material: bool,
}

/// A random draw.
#[derive(Debug, Clone, PartialEq)]
pub struct Draw {
    /// The bank (the course's own, or lent to it).
    pub bank_id: Uuid,
    /// Only questions with this tag.
    pub tag: Option<String>,
    /// How many.
    pub count: i32,
}

impl QuizConfig {
    fn check(&self) -> Result<(), QuizError> {
        if !(self.passing_percent.is_finite() && (0.0..=100.0).contains(&self.passing_percent)) {
            return Err(QuizError::invalid(
                "passingPercent",
                "the passing score is a percent from 0 to 100",
            ));
        }
        if let Some(t) = self.time_limit_seconds
            && !(1..=MAX_TIME_LIMIT_SECONDS).contains(&t)
        {
            return Err(QuizError::invalid(
                "timeLimitSeconds",
                "the time limit is between 1 second and 24 hours",
            ));
        }
        if let Some(n) = self.max_attempts
            && !(1..=100).contains(&n)
        {
            return Err(QuizError::invalid(
                "maxAttempts",
                "the number of attempts is between 1 and 100 (or unlimited)",
            ));
        }
        if let (Some(o), Some(c)) = (self.opens_at, self.closes_at)
            && c <= o
        {
            return Err(QuizError::invalid(
                "closesAt",
                "the quiz must close after it opens",
            ));
        }
        if let Some(d) = &self.draw {
            if !(1..=MAX_QUESTIONS as i32).contains(&d.count) {
                return Err(QuizError::invalid(
                    "drawCount",
                    format!("a draw takes 1 to {MAX_QUESTIONS} questions"),
                ));
            }
            if d.tag
                .as_deref()
                .is_some_and(|t| t.trim().is_empty() || t.len() > 50)
            {
                return Err(QuizError::invalid(
                    "drawTag",
                    "a tag has 1 to 50 characters",
                ));
            }
        }
        if self.form_policy.is_some() && self.paired_quiz_id.is_none() {
            return Err(QuizError::invalid(
                "formPolicy",
                "a form policy needs the pre-test it pairs with (pairedQuizId)",
            ));
        }
        if self.paired_quiz_id.is_some() && self.kind != QuizKind::PostTest {
            return Err(QuizError::invalid(
                "pairedQuizId",
                "only a post-test pairs with a pre-test",
            ));
        }
        if self.gates_material && self.kind != QuizKind::PreTest {
            return Err(QuizError::invalid(
                "gatesMaterial",
                "only a pre-test can lock the material until it is taken",
            ));
        }
        Ok(())
    }
}

/// A quiz by id.
///
/// # Errors
/// NOT_FOUND.
pub async fn find(conn: &impl ConnectionTrait, id: Uuid) -> Result<quiz::Model, QuizError> {
    quiz::Entity::find_by_id(id)
        .one(conn)
        .await?
        .ok_or(QuizError::NotFound("quiz"))
}

/// The quiz of a lesson, if configured.
///
/// # Errors
/// INTERNAL on database failure.
pub async fn of_lesson(
    conn: &impl ConnectionTrait,
    lesson_id: Uuid,
) -> Result<Option<quiz::Model>, QuizError> {
    Ok(quiz::Entity::find()
        .filter(quiz::Column::LessonId.eq(lesson_id))
        .one(conn)
        .await?)
}

/// The fixed question list of a quiz, in order.
///
/// # Errors
/// INTERNAL on database failure.
pub async fn fixed_questions(
    conn: &impl ConnectionTrait,
    quiz_id: Uuid,
) -> Result<Vec<Uuid>, QuizError> {
    Ok(quiz_question::Entity::find()
        .filter(quiz_question::Column::QuizId.eq(quiz_id))
        .order_by_asc(quiz_question::Column::Position)
        .all(conn)
        .await?
        .into_iter()
        .map(|q| q.question_id)
        .collect())
}

impl Quizzes {
    /// The course of a quiz lesson, checked editable by `actor`.
    async fn editable_lesson(
        &self,
        conn: &impl ConnectionTrait,
        actor: &Actor,
        lesson_id: Uuid,
    ) -> Result<course::entity::lesson::Model, QuizError> {
        let lesson = course::entity::lesson::Entity::find_by_id(lesson_id)
            .one(conn)
            .await?
            .ok_or(QuizError::NotFound("lesson"))?;
        let course = course::access::find_course(conn, lesson.course_id).await?;
        course::access::require_editor(conn, actor, &course).await?;
        if lesson.kind != course::structure::LessonKind::Quiz.as_str() {
            return Err(QuizError::invalid(
                "lessonId",
                "only a lesson of kind QUIZ has quiz settings",
            ));
        }
        Ok(lesson)
    }

    /// Creates or changes the settings of quiz lesson `lesson_id`. Editors of its course only;
    /// the change applies to attempts started afterwards.
    ///
    /// # Errors
    /// FORBIDDEN for non-editors; NOT_FOUND for an unknown lesson; BAD_USER_INPUT for invalid
    /// settings (with `field`), a bank the course may not draw from, or a pair outside the
    /// course; INTERNAL on database failure.
    pub async fn configure(
        &self,
        actor: &Actor,
        lesson_id: Uuid,
        config: QuizConfig,
    ) -> Result<quiz::Model, QuizError> {
        config.check()?;
        let now = self.clock.now();
        let txn = kernel::db::begin_write(&self.db).await?;
        let lesson = self.editable_lesson(&txn, actor, lesson_id).await?;
        let existing = of_lesson(&txn, lesson_id).await?;
        if let Some(d) = &config.draw
            && !crate::bank::readable_by_course(&txn, d.bank_id, lesson.course_id).await?
        {
            return Err(QuizError::invalid(
                "drawBankId",
                "the bank is neither this course's nor lent to it",
            ));
        }
        if let Some(pair) = config.paired_quiz_id {
            let p = quiz::Entity::find_by_id(pair).one(&txn).await?;
            let fits = p.as_ref().is_some_and(|p| {
                p.course_id == lesson.course_id
                    && p.kind == QuizKind::PreTest.as_str()
                    && existing.as_ref().is_none_or(|e| e.id != p.id)
            });
            if !fits {
                return Err(QuizError::invalid(
                    "pairedQuizId",
                    "the pair must be a pre-test of the same course",
                ));
            }
        }
        let id = existing.as_ref().map_or_else(kernel::new_id, |e| e.id);
        let mut am = quiz::ActiveModel {
            id: Set(id),
            lesson_id: Set(lesson_id),
            course_id: Set(lesson.course_id),
            kind: Set(config.kind.as_str().to_owned()),
            selection: Set(if config.draw.is_some() {
                "random"
            } else {
                "fixed"
            }
            .to_owned()),
            draw_bank_id: Set(config.draw.as_ref().map(|d| d.bank_id)),
            draw_tag: Set(config
                .draw
                .as_ref()
                .and_then(|d| d.tag.as_ref())
                .map(|t| t.trim().to_lowercase())),
            draw_count: Set(config.draw.as_ref().map(|d| d.count)),
            shuffle_questions: Set(config.shuffle_questions),
            shuffle_options: Set(config.shuffle_options),
            time_limit_seconds: Set(config.time_limit_seconds),
            opens_at: Set(config.opens_at),
            closes_at: Set(config.closes_at),
            max_attempts: Set(config.max_attempts),
            grading_method: Set(config.grading_method.as_str().to_owned()),
            passing_percent: Set(config.passing_percent),
            review_policy: Set(config.review_policy.as_str().to_owned()),
            paired_quiz_id: Set(config.paired_quiz_id),
            form_policy: Set(config.form_policy.map(|f| f.as_str().to_owned())),
            gates_material: Set(config.gates_material),
            created_at: Set(existing.as_ref().map_or(now, |e| e.created_at)),
            updated_at: Set(now),
        };
        let saved = if existing.is_some() {
            am.created_at =
                sea_orm::ActiveValue::Unchanged(existing.as_ref().map_or(now, |e| e.created_at));
            am.update(&txn).await?
        } else {
            am.insert(&txn).await?
        };
        identity::audit::record(
            &txn,
            actor,
            now,
            "quiz.configure",
            "quiz",
            saved.id,
            json!({ "lesson_id": lesson_id, "kind": saved.kind }),
        )
        .await?;
        txn.commit().await?;
        Ok(saved)
    }

    /// Sets the fixed question list of a quiz, in order. Editors only; every question must come
    /// from a bank of the course or lent to it.
    ///
    /// # Errors
    /// FORBIDDEN for non-editors; NOT_FOUND for an unknown quiz; BAD_USER_INPUT for a repeated,
    /// unknown, archived or foreign question, or more than [`MAX_QUESTIONS`].
    pub async fn set_questions(
        &self,
        actor: &Actor,
        quiz_id: Uuid,
        question_ids: &[Uuid],
    ) -> Result<quiz::Model, QuizError> {
        if question_ids.len() > MAX_QUESTIONS {
            return Err(QuizError::invalid(
                "questionIds",
                format!("a quiz has at most {MAX_QUESTIONS} questions"),
            ));
        }
        let mut seen = HashSet::new();
        if let Some(dup) = question_ids.iter().find(|id| !seen.insert(**id)) {
            return Err(QuizError::invalid(
                "questionIds",
                format!("question {dup} is listed twice"),
            ));
        }
        let txn = kernel::db::begin_write(&self.db).await?;
        let quiz = find(&txn, quiz_id).await?;
        self.editable_lesson(&txn, actor, quiz.lesson_id).await?;
        let questions = question::Entity::find()
            .filter(question::Column::Id.is_in(question_ids.iter().copied()))
            .all(&txn)
            .await?;
        let mut banks_ok: std::collections::HashMap<Uuid, bool> = std::collections::HashMap::new();
        for q in &questions {
            if q.archived_at.is_some() {
                return Err(QuizError::invalid(
                    "questionIds",
                    format!("question {} is archived", q.id),
                ));
            }
            let ok = match banks_ok.get(&q.bank_id) {
                Some(ok) => *ok,
                None => {
                    let ok =
                        crate::bank::readable_by_course(&txn, q.bank_id, quiz.course_id).await?;
                    banks_ok.insert(q.bank_id, ok);
                    ok
                }
            };
            if !ok {
                return Err(QuizError::invalid(
                    "questionIds",
                    format!("question {} is in a bank this course may not use", q.id),
                ));
            }
        }
        if questions.len() != question_ids.len() {
            let known: HashSet<Uuid> = questions.iter().map(|q| q.id).collect();
            let missing = question_ids.iter().find(|id| !known.contains(id));
            return Err(QuizError::invalid(
                "questionIds",
                format!(
                    "question {} does not exist",
                    missing.copied().unwrap_or_default()
                ),
            ));
        }
        quiz_question::Entity::delete_many()
            .filter(quiz_question::Column::QuizId.eq(quiz_id))
            .exec(&txn)
            .await?;
        if !question_ids.is_empty() {
            let rows = question_ids
                .iter()
                .enumerate()
                .map(|(i, q)| quiz_question::ActiveModel {
                    quiz_id: Set(quiz_id),
                    question_id: Set(*q),
                    position: Set(i32::try_from(i).unwrap_or(i32::MAX)),
                });
            quiz_question::Entity::insert_many(rows)
                .exec_without_returning(&txn)
                .await?;
        }
        let now = self.clock.now();
        let mut am: quiz::ActiveModel = quiz.into();
        am.updated_at = Set(now);
        let saved = am.update(&txn).await?;
        identity::audit::record(
            &txn,
            actor,
            now,
            "quiz.set_questions",
            "quiz",
            quiz_id,
            json!({ "questions": question_ids.len() }),
        )
        .await?;
        txn.commit().await?;
        Ok(saved)
    }

    /// A quiz for its editors.
    ///
    /// # Errors
    /// NOT_FOUND; FORBIDDEN for non-editors.
    pub async fn quiz_for_editor(
        &self,
        actor: &Actor,
        quiz_id: Uuid,
    ) -> Result<quiz::Model, QuizError> {
        let quiz = find(&self.db, quiz_id).await?;
        let course = course::access::find_course(&self.db, quiz.course_id).await?;
        course::access::require_editor(&self.db, actor, &course).await?;
        Ok(quiz)
    }

    /// A quiz for its course's editors and for learners who may take the course, once its lesson
    /// is published.
    ///
    /// # Errors
    /// NOT_FOUND (also for a learner before the lesson is published); FORBIDDEN for anyone else.
    pub async fn visible_quiz(
        &self,
        actor: &Actor,
        quiz_id: Uuid,
    ) -> Result<quiz::Model, QuizError> {
        let quiz = find(&self.db, quiz_id).await?;
        let course = course::access::find_course(&self.db, quiz.course_id).await?;
        let learners = enrollment::Enrollments::new(self.db.clone(), self.clock.clone());
        course::access::require_content_access(&self.db, actor, &course, Some(&learners)).await?;
        // A quiz lesson not published yet is its editors' business only.
        let lesson = course::entity::lesson::Entity::find_by_id(quiz.lesson_id)
            .one(&self.db)
            .await?;
        if lesson.is_none_or(|l| l.published_at.is_none())
            && course::access::require_editor(&self.db, actor, &course)
                .await
                .is_err()
        {
            return Err(QuizError::NotFound("quiz"));
        }
        Ok(quiz)
    }

    /// Whether `actor` edits the quiz's course.
    pub(crate) async fn is_editor(
        &self,
        conn: &impl ConnectionTrait,
        actor: &Actor,
        course_id: Uuid,
    ) -> Result<bool, QuizError> {
        let course = course::access::find_course(conn, course_id).await?;
        Ok(course::access::require_editor(conn, actor, &course)
            .await
            .is_ok())
    }
}
