//! Whether lessons are ready for learners, asked each time they are about to reach them: when a
//! course is submitted for review, approved and republished, and when a lesson added to a course
//! already out is published on its own. Videos and documents need ready media
//! ([`crate::delivery`]); lesson kinds that other crates own (a quiz's questions) are judged by
//! those crates through [`LessonReadiness`], which the gateway hands to [`crate::Courses`] since
//! course cannot depend on them.

use kernel::Actor;
use sea_orm::{DatabaseTransaction, TransactionTrait as _};
use uuid::Uuid;

use crate::Courses;
use crate::entity::lesson;
use crate::error::CourseError;

/// How many problems the refusal names; the rest are counted.
const SHOWN: usize = 5;

/// What another crate says about the lessons of the kinds it owns.
#[async_trait::async_trait]
pub trait LessonReadiness: Send + Sync + std::fmt::Debug + 'static {
    /// Why lessons among `lessons` (the active lessons of one course) cannot be taken by
    /// learners yet: a lesson id with one sentence naming the lesson, for each lesson that is
    /// not ready; empty when all are.
    ///
    /// # Errors
    /// INTERNAL on database failure.
    async fn not_ready(
        &self,
        conn: &DatabaseTransaction,
        lessons: &[lesson::Model],
    ) -> Result<Vec<(Uuid, String)>, CourseError>;
}

/// Which active lessons of a course a check looks at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Scope {
    /// Every active lesson: a course's first publication publishes them all.
    All,
    /// Those already published: republishing a course leaves unpublished lessons unpublished.
    Published,
}

/// Every reason the active lessons of `course_id` in `scope` are not ready for learners, in
/// course order.
///
/// # Errors
/// INTERNAL on database failure.
pub(crate) async fn problems(
    conn: &DatabaseTransaction,
    course_id: Uuid,
    scope: Scope,
    others: Option<&dyn LessonReadiness>,
) -> Result<Vec<LessonProblem>, CourseError> {
    let mut lessons = crate::delivery::course_lessons(conn, course_id).await?;
    if scope == Scope::Published {
        lessons.retain(|l| l.published_at.is_some());
    }
    problems_of(conn, &lessons, others).await
}

/// Every reason `lessons` (in course order) are not ready for learners, in that order, each with
/// the lesson it is about.
async fn problems_of(
    conn: &DatabaseTransaction,
    lessons: &[lesson::Model],
    others: Option<&dyn LessonReadiness>,
) -> Result<Vec<LessonProblem>, CourseError> {
    let mut found = crate::delivery::media_blockers(conn, lessons).await?;
    if let Some(others) = others {
        found.extend(others.not_ready(conn, lessons).await?);
    }
    // By the lesson's place in the course; stable for one lesson's reasons.
    let position = |id: &Uuid| lessons.iter().position(|l| l.id == *id);
    found.sort_by_key(|(id, _)| position(id));
    Ok(found
        .into_iter()
        .map(|(lesson_id, why)| LessonProblem { lesson_id, why })
        .collect())
}

/// One reason a lesson cannot reach learners yet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LessonProblem {
    /// The lesson.
    pub lesson_id: Uuid,
    /// One sentence naming the lesson and what is missing.
    pub why: String,
}

/// Checks that the lessons of the course in `scope` can reach learners.
///
/// # Errors
/// CONFLICT naming up to five lessons and why (no recording yet, still processing, failed with
/// its reason, a quiz without questions); INTERNAL on database failure.
pub(crate) async fn require_ready(
    conn: &DatabaseTransaction,
    course_id: Uuid,
    scope: Scope,
    others: Option<&dyn LessonReadiness>,
) -> Result<(), CourseError> {
    refuse_unless_empty(problems(conn, course_id, scope, others).await?)
}

/// Checks that one lesson can reach learners.
///
/// # Errors
/// As [`require_ready`].
pub(crate) async fn require_lesson_ready(
    conn: &DatabaseTransaction,
    lesson: &lesson::Model,
    others: Option<&dyn LessonReadiness>,
) -> Result<(), CourseError> {
    refuse_unless_empty(problems_of(conn, std::slice::from_ref(lesson), others).await?)
}

/// CONFLICT naming the first problems of `found`, if any.
fn refuse_unless_empty(found: Vec<LessonProblem>) -> Result<(), CourseError> {
    if found.is_empty() {
        return Ok(());
    }
    let shown: Vec<&str> = found.iter().take(SHOWN).map(|p| p.why.as_str()).collect();
    let more = found.len().saturating_sub(shown.len());
    let tail = if more > 0 {
        format!(" (and {more} more)")
    } else {
        String::new()
    };
    Err(CourseError::Conflict(format!(
        "not ready for learners: {}{tail}",
        shown.join("; ")
    )))
}

impl Courses {
    /// What keeps learners from the active lessons of `course_id`, published or not (see
    /// [`problems`]), in course order, for its editors.
    ///
    /// # Errors
    /// NOT_FOUND; FORBIDDEN for non-editors; INTERNAL on database failure.
    pub async fn readiness_problems(
        &self,
        actor: &Actor,
        course_id: Uuid,
    ) -> Result<Vec<LessonProblem>, CourseError> {
        // One snapshot for every statement (the port takes a transaction); nothing is written.
        let tx = self.db.begin().await?;
        let course = crate::access::find_course(&tx, course_id).await?;
        crate::access::require_editor(&tx, actor, &course).await?;
        let found = problems(&tx, course_id, Scope::All, self.readiness.as_deref()).await?;
        tx.rollback().await?;
        Ok(found)
    }
}
