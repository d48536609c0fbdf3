//! Who may see and change a course: its owners (trainers) and admins edit it; signed-in people
//! see published courses in the catalogue; lesson content and media go only to those allowed to
//! take the course (owners, admins, and enrolled learners through [`LearnerAccess`]).

use kernel::{Actor, Role};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter};
use uuid::Uuid;

use crate::entity::{course, course_owner, lesson};
use crate::error::CourseError;

/// A course by id.
///
/// # Errors
/// NOT_FOUND.
pub async fn find_course(
    conn: &impl ConnectionTrait,
    id: Uuid,
) -> Result<course::Model, CourseError> {
    course::Entity::find_by_id(id)
        .one(conn)
        .await?
        .ok_or(CourseError::NotFound("course"))
}

/// Whether `person` owns `course_id`.
///
/// # Errors
/// INTERNAL on database failure.
pub async fn is_owner(
    conn: &impl ConnectionTrait,
    course_id: Uuid,
    person: Option<Uuid>,
) -> Result<bool, CourseError> {
    let Some(person) = person else {
        return Ok(false);
    };
    Ok(course_owner::Entity::find()
        .filter(course_owner::Column::CourseId.eq(course_id))
        .filter(course_owner::Column::PersonId.eq(person))
        .count(conn)
        .await?
        > 0)
}

/// Checks that `actor` may edit `course`: an admin, or a trainer who owns it.
///
/// # Errors
/// FORBIDDEN otherwise.
pub async fn require_editor(
    conn: &impl ConnectionTrait,
    actor: &Actor,
    course: &course::Model,
) -> Result<(), CourseError> {
    if actor.is_admin() {
        return Ok(());
    }
    if actor.has(Role::Trainer) && is_owner(conn, course.id, actor.person_id).await? {
        return Ok(());
    }
    Err(CourseError::Forbidden)
}

/// Whether `actor` may see the course at all: published ones for everyone signed in, others
/// for their editors.
///
/// # Errors
/// INTERNAL on database failure.
pub async fn can_see(
    conn: &impl ConnectionTrait,
    actor: &Actor,
    course: &course::Model,
) -> Result<bool, CourseError> {
    if course.state == "published" || actor.is_admin() {
        return Ok(true);
    }
    Ok(actor.has(Role::Trainer) && is_owner(conn, course.id, actor.person_id).await?)
}

/// Tells the course crate whether a person is enrolled so that they may learn a course. The
/// enrollment crate implements it; the course crate cannot depend on enrollment (dependencies
/// point downward), so the gateway hands the implementation to [`crate::Courses`].
#[async_trait::async_trait]
pub trait LearnerAccess: Send + Sync + std::fmt::Debug + 'static {
    /// Whether `person_id` may learn `course_id` (an active or completed enrollment).
    ///
    /// # Errors
    /// INTERNAL on database failure.
    async fn may_learn(&self, person_id: Uuid, course_id: Uuid) -> Result<bool, CourseError>;

    /// The lessons of `course_id` that `person_id` may not open yet, with the reason (a pre-test
    /// to take first). None by default.
    ///
    /// # Errors
    /// INTERNAL on database failure.
    async fn locked_lessons(
        &self,
        person_id: Uuid,
        course_id: Uuid,
    ) -> Result<Option<(std::collections::HashSet<Uuid>, String)>, CourseError> {
        let _ = (person_id, course_id);
        Ok(None)
    }
}

/// Checks that `actor` may open `lesson` of `course` (content access already granted): editors
/// always; a learner once the lesson is published, unless the hook says it is locked for them.
///
/// # Errors
/// NOT_FOUND for a learner and a lesson not published yet (so its existence is not revealed);
/// CONFLICT with reason LOCKED; INTERNAL on database failure.
pub async fn require_lesson_open(
    conn: &impl ConnectionTrait,
    actor: &Actor,
    course: &course::Model,
    lesson: &lesson::Model,
    learners: Option<&dyn LearnerAccess>,
) -> Result<(), CourseError> {
    if require_editor(conn, actor, course).await.is_ok() {
        return Ok(());
    }
    if lesson.published_at.is_none() {
        return Err(CourseError::NotFound("lesson"));
    }
    let (Some(learners), Some(person)) = (learners, actor.person_id) else {
        return Ok(());
    };
    match learners.locked_lessons(person, course.id).await? {
        Some((locked, why)) if locked.contains(&lesson.id) => Err(CourseError::Locked(why)),
        _ => Ok(()),
    }
}

/// Checks that `actor` may take the course's content (lesson bodies, media URLs): its editors,
/// and, when `learners` is given, people it says are enrolled in a published (or since archived)
/// course.
///
/// # Errors
/// FORBIDDEN otherwise.
pub async fn require_content_access(
    conn: &impl ConnectionTrait,
    actor: &Actor,
    course: &course::Model,
    learners: Option<&dyn LearnerAccess>,
) -> Result<(), CourseError> {
    let editor = require_editor(conn, actor, course).await;
    if editor.is_ok() {
        return editor;
    }
    // Archiving takes a course out of the catalogue; those already enrolled keep their material.
    let takeable = matches!(course.state.as_str(), "published" | "archived");
    if let (Some(learners), Some(person), true) = (learners, actor.person_id, takeable)
        && learners.may_learn(person, course.id).await?
    {
        return Ok(());
    }
    editor
}
