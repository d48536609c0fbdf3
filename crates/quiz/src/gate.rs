//! The pre-test gate: a course whose pre-test `gatesMaterial` keeps its other lessons locked
//! for a learner until they have taken that pre-test (a graded attempt, whatever the score).

use std::collections::HashSet;

use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QuerySelect};
use uuid::Uuid;

use crate::attempt::state;
use crate::entity::{quiz, quiz_attempt};
use crate::error::QuizError;

/// Why a learner's material is locked.
const PENDING: &str = "take the pre-test first: the material opens once it is submitted";

/// The gating pre-tests of `course_ids` whose lesson is published and not archived: one
/// statement when none gates, two otherwise.
async fn gates_of(
    conn: &impl ConnectionTrait,
    course_ids: &[Uuid],
) -> Result<Vec<quiz::Model>, sea_orm::DbErr> {
    let gating = quiz::Entity::find()
        .filter(quiz::Column::CourseId.is_in(course_ids.iter().copied()))
        .filter(quiz::Column::GatesMaterial.eq(true))
        .all(conn)
        .await?;
    if gating.is_empty() {
        return Ok(gating);
    }
    let live: HashSet<Uuid> = course::entity::lesson::Entity::find()
        .filter(course::entity::lesson::Column::Id.is_in(gating.iter().map(|q| q.lesson_id)))
        .filter(course::entity::lesson::Column::ArchivedAt.is_null())
        .filter(course::entity::lesson::Column::PublishedAt.is_not_null())
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
    Ok(locked_of(conn, &[(person_id, course_id)])
        .await?
        .contains_key(&(person_id, course_id))
        .then(|| PENDING.to_owned()))
}

/// Of `pairs` (person, course), those whose material is locked for the person (a gating
/// pre-test of the course not taken yet), each with the gating pre-tests' lessons, which stay
/// open. One statement when no course gates, three otherwise, however many pairs.
async fn locked_of(
    conn: &impl ConnectionTrait,
    pairs: &[(Uuid, Uuid)],
) -> Result<progress::locks::Locked, sea_orm::DbErr> {
    let courses: Vec<Uuid> = pairs
        .iter()
        .map(|(_, course)| *course)
        .collect::<HashSet<_>>()
        .into_iter()
        .collect();
    let gating = gates_of(conn, &courses).await?;
    if gating.is_empty() {
        return Ok(progress::locks::Locked::new());
    }
    let people: HashSet<Uuid> = pairs.iter().map(|(person, _)| *person).collect();
    let taken: HashSet<(Uuid, Uuid)> = quiz_attempt::Entity::find()
        .select_only()
        .column(quiz_attempt::Column::PersonId)
        .column(quiz_attempt::Column::QuizId)
        .filter(quiz_attempt::Column::QuizId.is_in(gating.iter().map(|q| q.id)))
        .filter(quiz_attempt::Column::PersonId.is_in(people))
        .filter(quiz_attempt::Column::State.eq(state::GRADED))
        .into_tuple::<(Uuid, Uuid)>()
        .all(conn)
        .await?
        .into_iter()
        .collect();
    Ok(pairs
        .iter()
        .filter_map(|&(person, course)| {
            let of_course: Vec<&quiz::Model> =
                gating.iter().filter(|q| q.course_id == course).collect();
            of_course
                .iter()
                .any(|q| !taken.contains(&(person, q.id)))
                .then(|| {
                    let open = of_course.iter().map(|q| q.lesson_id).collect();
                    ((person, course), open)
                })
        })
        .collect())
}

/// The lessons of `course_id` locked for `person_id`, with the reason: every lesson but the
/// gating pre-tests while one of them is not taken; `None` otherwise.
///
/// # Errors
/// INTERNAL on database failure.
pub async fn locked_lessons(
    conn: &impl ConnectionTrait,
    course_id: Uuid,
    person_id: Uuid,
) -> Result<Option<(HashSet<Uuid>, String)>, QuizError> {
    let Some(open) = locked_of(conn, &[(person_id, course_id)])
        .await?
        .remove(&(person_id, course_id))
    else {
        return Ok(None);
    };
    let locked = course::entity::lesson::Entity::find()
        .filter(course::entity::lesson::Column::CourseId.eq(course_id))
        .all(conn)
        .await?
        .into_iter()
        .map(|l| l.id)
        .filter(|id| !open.contains(id))
        .collect();
    Ok(Some((locked, PENDING.to_owned())))
}

/// The pre-test gate as the progress crate asks for it, for many (person, course) pairs at
/// once inside its writer's transaction: a fixed number of statements for a group of syncs
/// (one when no course of the group has a gating pre-test, three otherwise).
#[derive(Debug, Clone, Copy, Default)]
pub struct PreTestGate;

#[async_trait::async_trait]
impl progress::LessonLocks for PreTestGate {
    async fn locked(
        &self,
        txn: &sea_orm::DatabaseTransaction,
        pairs: &[(Uuid, Uuid)],
    ) -> Result<progress::locks::Locked, sea_orm::DbErr> {
        locked_of(txn, pairs).await
    }
}

/// Who may learn a course, with the pre-test gate on top: wraps the enrollment crate's answer
/// and adds the lessons a gating pre-test keeps locked. The gateway hands it to the course
/// crate, which cannot depend on the quiz crate.
#[derive(Debug, Clone)]
pub struct GatedAccess {
    enrollments: enrollment::Enrollments,
}

impl GatedAccess {
    /// The gate over `enrollments`.
    pub fn new(enrollments: enrollment::Enrollments) -> Self {
        GatedAccess { enrollments }
    }
}

#[async_trait::async_trait]
impl course::access::LearnerAccess for GatedAccess {
    async fn may_learn(
        &self,
        person_id: Uuid,
        course_id: Uuid,
    ) -> Result<bool, course::CourseError> {
        self.enrollments.may_learn(person_id, course_id).await
    }

    async fn locked_lessons(
        &self,
        person_id: Uuid,
        course_id: Uuid,
    ) -> Result<Option<(HashSet<Uuid>, String)>, course::CourseError> {
        locked_lessons(&self.enrollments.db, course_id, person_id)
            .await
            .map_err(|e| match e {
                QuizError::Database(db) => course::CourseError::Database(db),
                other => course::CourseError::Internal(other.to_string()),
            })
    }
}
