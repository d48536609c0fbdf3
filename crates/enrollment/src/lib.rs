//! Enrollment: cohorts (angkatan), self-enrollment, mandatory assignment and its standing rules,
//! capacity with a waitlist, approval, and who may take a course.
//!
//! Every rule is a method of [`Enrollments`] that takes the [`kernel::Actor`] asking; the
//! functions at the crate root are for the progress crate, which has already authorised.

pub mod assign;
pub mod cohorts;
pub mod enroll;
pub mod entity;
pub mod error;
pub mod graphql;
pub mod roster;
pub mod seats;

use std::collections::{BTreeSet, HashMap, HashSet};

use chrono::{DateTime, Utc};
use kernel::SharedClock;
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter};
use uuid::Uuid;

pub use error::EnrollmentError;
pub use graphql::{EnrollmentMutation, EnrollmentQuery};

/// The enrollment service: cheap to clone, registered once in the GraphQL schema data. It is
/// also identity's people observer (standing assignment rules) and the course crate's
/// [`course::access::LearnerAccess`] (who may take content).
#[derive(Clone, Debug)]
pub struct Enrollments {
    /// The database.
    pub db: DatabaseConnection,
    /// The clock.
    pub clock: SharedClock,
}

impl Enrollments {
    /// A service over `db`.
    pub fn new(db: DatabaseConnection, clock: SharedClock) -> Self {
        Enrollments { db, clock }
    }
}

#[async_trait::async_trait]
impl course::access::LearnerAccess for Enrollments {
    async fn may_learn(
        &self,
        person_id: Uuid,
        course_id: Uuid,
    ) -> Result<bool, course::CourseError> {
        find_takeable(&self.db, person_id, course_id)
            .await
            .map(|e| e.is_some())
            .map_err(|e| match e {
                EnrollmentError::Database(db) => course::CourseError::Database(db),
                other => course::CourseError::Internal(other.to_string()),
            })
    }
}

/// The states of an enrollment, as stored.
pub mod state {
    /// Asked for, waiting for an admin or owner (mode APPROVAL).
    pub const PENDING: &str = "pending";
    /// Approved or requested while the cohort was full; first come, first promoted.
    pub const WAITLISTED: &str = "waitlisted";
    /// Holds a seat and may learn.
    pub const ACTIVE: &str = "active";
    /// Finished; may still open the material.
    pub const COMPLETED: &str = "completed";
    /// Left by the learner (or taken out by an admin or owner).
    pub const WITHDRAWN: &str = "withdrawn";
    /// Ended by an admin after the learning window.
    pub const EXPIRED: &str = "expired";
    /// A request that an admin or owner turned down.
    pub const REJECTED: &str = "rejected";
}

/// The person's enrollment in `course_id` that allows learning (state active or completed), if
/// any. Used by the progress crate before it records anything.
///
/// # Errors
/// INTERNAL on database failure.
pub async fn find_takeable(
    conn: &impl ConnectionTrait,
    person_id: Uuid,
    course_id: Uuid,
) -> Result<Option<entity::enrollment::Model>, EnrollmentError> {
    Ok(find_takeable_many(conn, &[(person_id, course_id)])
        .await?
        .remove(&(person_id, course_id)))
}

/// [`find_takeable`] for several (person, course) pairs in one query, keyed by the pair; pairs
/// without such an enrollment are absent.
///
/// # Errors
/// INTERNAL on database failure.
pub async fn find_takeable_many(
    conn: &impl ConnectionTrait,
    pairs: &[(Uuid, Uuid)],
) -> Result<HashMap<(Uuid, Uuid), entity::enrollment::Model>, EnrollmentError> {
    use entity::enrollment::{Column, Entity};
    use sea_orm::QueryOrder;
    if pairs.is_empty() {
        return Ok(HashMap::new());
    }
    let wanted: HashSet<(Uuid, Uuid)> = pairs.iter().copied().collect();
    let people: BTreeSet<Uuid> = pairs.iter().map(|p| p.0).collect();
    let courses: BTreeSet<Uuid> = pairs.iter().map(|p| p.1).collect();
    // The people × courses rectangle covers the pairs; the (person, course, state) index finds
    // it, and rows outside the pairs are dropped below.
    let rows = Entity::find()
        .filter(Column::PersonId.is_in(people))
        .filter(Column::CourseId.is_in(courses))
        .filter(Column::State.is_in([state::ACTIVE, state::COMPLETED]))
        .order_by_desc(Column::RequestedAt)
        .all(conn)
        .await?;
    // A person may be in two cohorts of one course (one finished, one assigned again): the
    // active one wins, then the most recent.
    let mut found: HashMap<(Uuid, Uuid), entity::enrollment::Model> = HashMap::new();
    for row in rows {
        let key = (row.person_id, row.course_id);
        if !wanted.contains(&key) {
            continue;
        }
        match found.get(&key) {
            Some(kept) if kept.state == state::ACTIVE || row.state != state::ACTIVE => {}
            _ => {
                found.insert(key, row);
            }
        }
    }
    Ok(found)
}

/// Marks enrollment `enrollment_id` completed at `at` (active → completed). Idempotent: false
/// when it was not active (already completed, or ended).
///
/// # Errors
/// INTERNAL on database failure.
pub async fn mark_completed(
    conn: &impl ConnectionTrait,
    enrollment_id: Uuid,
    at: DateTime<Utc>,
) -> Result<bool, EnrollmentError> {
    use entity::enrollment::{Column, Entity};
    // A conditional UPDATE: of two concurrent completions exactly one sees a changed row.
    let res = Entity::update_many()
        .col_expr(Column::State, Expr::value(state::COMPLETED))
        .col_expr(Column::CompletedAt, Expr::value(at))
        .col_expr(Column::UpdatedAt, Expr::value(at))
        .filter(Column::Id.eq(enrollment_id))
        .filter(Column::State.eq(state::ACTIVE))
        .exec(conn)
        .await?;
    Ok(res.rows_affected > 0)
}
