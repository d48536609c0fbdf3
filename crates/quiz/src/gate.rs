//! The pre-test gate: a course whose pre-test `gatesMaterial` keeps its other lessons locked
//! for a learner until they have taken that pre-test (a graded attempt, whatever the score).

use std::collections::HashSet;

use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QuerySelect};
use uuid::Uuid;

use crate::attempt::state;
use crate::entity::{quiz, quiz_attempt};
use crate::error::QuizError;

/// The gating pre-tests of a course whose lesson is not archived.
async fn gates(
    conn: &impl ConnectionTrait,
    course_id: Uuid,
) -> Result<Vec<quiz::Model>, QuizError> {
    let gating = quiz::Entity::find()
        .filter(quiz::Column::CourseId.eq(course_id))
        .filter(quiz::Column::GatesMaterial.eq(true))
        .all(conn)
        .await?;
    if gating.is_empty() {
        return Ok(gating);
    }
    let live: HashSet<Uuid> = course::entity::lesson::Entity::find()
        .filter(course::entity::lesson::Column::Id.is_in(gating.iter().map(|q| q.lesson_id)))
        .filter(course::entity::lesson::Column::ArchivedAt.is_null())
        .all(conn)
        .await?
        .into_iter()
        .map(|l| l.id)
        .collect();
    Ok(gating
        .into_iter()
        .filter(|q| live.contains(&q.lesson_id))
        .collect())
}

/// Why the course's material is locked for `person_id`, if it is: a gating pre-test they have
/// not taken yet.
///
/// # Errors
/// INTERNAL on database failure.
pub async fn pending_pre_test(
    conn: &impl ConnectionTrait,
    course_id: Uuid,
    person_id: Uuid,
) -> Result<Option<String>, QuizError> {
    let gating = gates(conn, course_id).await?;
    if gating.is_empty() {
        return Ok(None);
    }
    let taken: HashSet<Uuid> = quiz_attempt::Entity::find()
        .select_only()
        .column(quiz_attempt::Column::QuizId)
        .filter(quiz_attempt::Column::QuizId.is_in(gating.iter().map(|q| q.id)))
        .filter(quiz_attempt::Column::PersonId.eq(person_id))
        .filter(quiz_attempt::Column::State.eq(state::GRADED))
        .into_tuple::<Uuid>()
        .all(conn)
        .await?
        .into_iter()
        .collect();
    Ok(gating
        .iter()
        .any(|q| !taken.contains(&q.id))
        .then(|| "take the pre-test first: the material opens once it is submitted".to_owned()))
}

/// The lessons of `course_id` locked for `person_id`: every lesson but the gating pre-tests
/// while one of them is not taken; none otherwise.
///
/// # Errors
/// INTERNAL on database failure.
pub async fn locked_lessons(
    conn: &impl ConnectionTrait,
    course_id: Uuid,
    person_id: Uuid,
) -> Result<HashSet<Uuid>, QuizError> {
    if pending_pre_test(conn, course_id, person_id)
        .await?
        .is_none()
    {
        return Ok(HashSet::new());
    }
    let open: HashSet<Uuid> = gates(conn, course_id)
        .await?
        .iter()
        .map(|q| q.lesson_id)
        .collect();
    Ok(course::entity::lesson::Entity::find()
        .filter(course::entity::lesson::Column::CourseId.eq(course_id))
        .all(conn)
        .await?
        .into_iter()
        .map(|l| l.id)
        .filter(|id| !open.contains(id))
        .collect())
}
