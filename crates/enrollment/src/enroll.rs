//! Self-enrollment and the life of an enrollment: approval, the waitlist, withdrawal, expiry.

use chrono::{DateTime, Utc};
use kernel::Actor;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect, Set,
};
use serde_json::json;
use uuid::Uuid;

use crate::cohorts::SelfEnrollment;
use crate::entity::{cohort, enrollment};
use crate::error::EnrollmentError;
use crate::{Enrollments, seats, state};

/// The enrollment of `person_id` in `cohort_id`, if any.
///
/// # Errors
/// INTERNAL on database failure.
pub async fn find_in_cohort(
    conn: &impl ConnectionTrait,
    cohort_id: Uuid,
    person_id: Uuid,
) -> Result<Option<enrollment::Model>, EnrollmentError> {
    Ok(enrollment::Entity::find()
        .filter(enrollment::Column::CohortId.eq(cohort_id))
        .filter(enrollment::Column::PersonId.eq(person_id))
        .one(conn)
        .await?)
}

/// An enrollment by id.
///
/// # Errors
/// NOT_FOUND.
pub async fn find_enrollment(
    conn: &impl ConnectionTrait,
    id: Uuid,
) -> Result<enrollment::Model, EnrollmentError> {
    enrollment::Entity::find_by_id(id)
        .one(conn)
        .await?
        .ok_or(EnrollmentError::NotFound("enrollment"))
}

/// A new enrollment row (state and source decided by the caller).
#[allow(clippy::too_many_arguments)]
pub(crate) fn new_row(
    c: &cohort::Model,
    person_id: Uuid,
    state: &str,
    source: &str,
    rule_id: Option<Uuid>,
    due_at: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> enrollment::ActiveModel {
    enrollment::ActiveModel {
        id: Set(kernel::new_id()),
        cohort_id: Set(c.id),
        course_id: Set(c.course_id),
        person_id: Set(person_id),
        state: Set(state.to_owned()),
        source: Set(source.to_owned()),
        rule_id: Set(rule_id),
        requested_at: Set(now),
        activated_at: Set((state == state::ACTIVE).then_some(now)),
        completed_at: Set(None),
        ended_at: Set(None),
        due_at: Set(due_at.or(c.due_at)),
        progress_percent: Set(0.0),
        required_done: Set(0),
        required_total: Set(0),
        next_lesson_id: Set(None),
        last_activity_at: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
    }
}

/// Refuses a cohort that takes no learners now: archived, course not published.
pub(crate) async fn require_open_course(
    conn: &impl ConnectionTrait,
    c: &cohort::Model,
) -> Result<course::entity::course::Model, EnrollmentError> {
    if c.archived_at.is_some() {
        return Err(EnrollmentError::conflict("this cohort is archived"));
    }
    let course = course::access::find_course(conn, c.course_id).await?;
    if course.state != "published" {
        return Err(EnrollmentError::conflict(
            "the course is not published; nobody can enroll in it yet",
        ));
    }
    Ok(course)
}

fn fmt_time(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

impl Enrollments {
    /// Enrolls the actor in a cohort. OPEN: a seat, or the waitlist when full; APPROVAL: a
    /// request waiting for an admin or owner. Enrolling again returns the existing enrollment;
    /// after a withdrawal it is a new request.
    ///
    /// # Errors
    /// NOT_FOUND for an unknown cohort; CONFLICT (saying why) when the cohort is closed to
    /// self-enrollment, outside its enrollment window, archived, or its course is not published.
    pub async fn enroll(
        &self,
        actor: &Actor,
        cohort_id: Uuid,
    ) -> Result<enrollment::Model, EnrollmentError> {
        let person_id = actor.person_id.ok_or(EnrollmentError::Forbidden)?;
        let now = self.clock.now();
        let tx = kernel::db::begin_write(&self.db).await?;
        let c = seats::lock_cohort(&tx, cohort_id, now).await?;
        let existing = find_in_cohort(&tx, cohort_id, person_id).await?;
        if let Some(e) = &existing
            && e.state != state::WITHDRAWN
        {
            return Ok(e.clone());
        }
        require_open_course(&tx, &c).await?;
        let mode = SelfEnrollment::from_stored(&c.self_enrollment);
        if mode == SelfEnrollment::Closed {
            return Err(EnrollmentError::conflict(
                "this cohort does not take self-enrollment; ask your training coordinator",
            ));
        }
        if let Some(o) = c.enroll_opens_at
            && now < o
        {
            return Err(EnrollmentError::conflict(format!(
                "enrollment opens at {}",
                fmt_time(o)
            )));
        }
        if let Some(cl) = c.enroll_closes_at
            && now >= cl
        {
            return Err(EnrollmentError::conflict(format!(
                "enrollment closed at {}",
                fmt_time(cl)
            )));
        }
        let next = if mode == SelfEnrollment::Approval {
            state::PENDING
        } else if seats::has_free_seat(&tx, &c).await? {
            state::ACTIVE
        } else {
            state::WAITLISTED
        };
        let model = match existing {
            // Coming back after a withdrawal: a new request, at the back of any waitlist.
            Some(e) => {
                let mut am: enrollment::ActiveModel = e.into();
                am.state = Set(next.to_owned());
                am.source = Set("self".to_owned());
                am.requested_at = Set(now);
                am.activated_at = Set((next == state::ACTIVE).then_some(now));
                am.ended_at = Set(None);
                am.updated_at = Set(now);
                am.update(&tx).await?
            }
            None => match new_row(&c, person_id, next, "self", None, None, now)
                .insert(&tx)
                .await
            {
                Ok(m) => m,
                Err(e) if kernel::db::is_unique_violation(&e) => {
                    // Another request of the same person won the race: theirs is the answer.
                    drop(tx);
                    return find_in_cohort(&self.db, cohort_id, person_id)
                        .await?
                        .ok_or(EnrollmentError::Database(e));
                }
                Err(e) => return Err(e.into()),
            },
        };
        tx.commit().await?;
        Ok(model)
    }

    /// Withdraws an enrollment: the learner themselves, or an admin or owner of the course
    /// (audited). A freed seat goes to the next on the waitlist. Withdrawing twice is harmless.
    ///
    /// # Errors
    /// NOT_FOUND; FORBIDDEN; CONFLICT for a completed, expired or rejected enrollment.
    pub async fn withdraw(
        &self,
        actor: &Actor,
        id: Uuid,
    ) -> Result<enrollment::Model, EnrollmentError> {
        self.end(actor, id, state::WITHDRAWN, "enrollment.withdraw")
            .await
    }

    /// Ends an enrollment as expired (admins only, audited); a freed seat goes to the next on
    /// the waitlist.
    ///
    /// # Errors
    /// NOT_FOUND; FORBIDDEN unless admin; CONFLICT for a completed or otherwise ended one.
    pub async fn expire(
        &self,
        actor: &Actor,
        id: Uuid,
    ) -> Result<enrollment::Model, EnrollmentError> {
        if !actor.is_admin() {
            return Err(EnrollmentError::Forbidden);
        }
        self.end(actor, id, state::EXPIRED, "enrollment.expire")
            .await
    }

    /// Turns down a pending (or waitlisted) request; admins and owners of the course, audited.
    ///
    /// # Errors
    /// NOT_FOUND; FORBIDDEN; CONFLICT unless pending or waitlisted.
    pub async fn reject(
        &self,
        actor: &Actor,
        id: Uuid,
    ) -> Result<enrollment::Model, EnrollmentError> {
        self.end(actor, id, state::REJECTED, "enrollment.reject")
            .await
    }

    async fn end(
        &self,
        actor: &Actor,
        id: Uuid,
        to: &'static str,
        action: &str,
    ) -> Result<enrollment::Model, EnrollmentError> {
        let now = self.clock.now();
        let tx = kernel::db::begin_write(&self.db).await?;
        let e = find_enrollment(&tx, id).await?;
        let own = actor.is_person(e.person_id);
        if !(own && to == state::WITHDRAWN) {
            self.require_manager(&tx, actor, e.course_id).await?;
        }
        // Lock the cohort before changing seats, then read the row again under the lock.
        let c = seats::lock_cohort(&tx, e.cohort_id, now).await?;
        let e = find_enrollment(&tx, id).await?;
        if e.state == to {
            return Ok(e);
        }
        let allowed: &[&str] = match to {
            state::REJECTED => &[state::PENDING, state::WAITLISTED],
            _ => &[state::PENDING, state::WAITLISTED, state::ACTIVE],
        };
        if !allowed.contains(&e.state.as_str()) {
            return Err(EnrollmentError::conflict(format!(
                "the enrollment is {}; it cannot become {to}",
                e.state
            )));
        }
        let from = e.state.clone();
        let mut am: enrollment::ActiveModel = e.into();
        am.state = Set(to.to_owned());
        am.ended_at = Set(Some(now));
        am.updated_at = Set(now);
        let model = am.update(&tx).await?;
        let promoted = seats::promote(&tx, &c, now).await?;
        if !own {
            identity::audit::record(
                &tx,
                actor,
                now,
                action,
                "enrollment",
                id,
                json!({"personId": model.person_id, "cohortId": model.cohort_id, "from": from, "promoted": promoted}),
            )
            .await?;
        }
        tx.commit().await?;
        Ok(model)
    }

    /// Approves a pending request: a seat when one is free, else the waitlist. Admins and owners
    /// of the course, audited. Approving twice is harmless.
    ///
    /// # Errors
    /// NOT_FOUND; FORBIDDEN; CONFLICT unless pending (or already approved).
    pub async fn approve(
        &self,
        actor: &Actor,
        id: Uuid,
    ) -> Result<enrollment::Model, EnrollmentError> {
        let now = self.clock.now();
        let tx = kernel::db::begin_write(&self.db).await?;
        let e = find_enrollment(&tx, id).await?;
        self.require_manager(&tx, actor, e.course_id).await?;
        let c = seats::lock_cohort(&tx, e.cohort_id, now).await?;
        let e = find_enrollment(&tx, id).await?;
        if e.state == state::ACTIVE || e.state == state::WAITLISTED {
            return Ok(e);
        }
        if e.state != state::PENDING {
            return Err(EnrollmentError::conflict(format!(
                "the enrollment is {}; only pending requests can be approved",
                e.state
            )));
        }
        let next = if seats::has_free_seat(&tx, &c).await? {
            state::ACTIVE
        } else {
            state::WAITLISTED
        };
        let mut am: enrollment::ActiveModel = e.into();
        am.state = Set(next.to_owned());
        if next == state::ACTIVE {
            am.activated_at = Set(Some(now));
        }
        am.updated_at = Set(now);
        let model = am.update(&tx).await?;
        identity::audit::record(
            &tx,
            actor,
            now,
            "enrollment.approve",
            "enrollment",
            id,
            json!({"personId": model.person_id, "cohortId": model.cohort_id, "state": next}),
        )
        .await?;
        tx.commit().await?;
        Ok(model)
    }

    /// Requests waiting for approval in a cohort, oldest first (admins and owners).
    ///
    /// # Errors
    /// NOT_FOUND; FORBIDDEN.
    pub async fn pending_approvals(
        &self,
        actor: &Actor,
        cohort_id: Uuid,
    ) -> Result<Vec<enrollment::Model>, EnrollmentError> {
        let c = crate::cohorts::find_cohort(&self.db, cohort_id).await?;
        self.require_manager(&self.db, actor, c.course_id).await?;
        Ok(enrollment::Entity::find()
            .filter(enrollment::Column::CohortId.eq(cohort_id))
            .filter(enrollment::Column::State.eq(state::PENDING))
            .order_by_asc(enrollment::Column::RequestedAt)
            .order_by_asc(enrollment::Column::Id)
            .limit(500)
            .all(&self.db)
            .await?)
    }

    /// The actor's own enrollments, newest first, optionally in one state.
    ///
    /// # Errors
    /// FORBIDDEN for the system actor (it has no enrollments).
    pub async fn my_enrollments(
        &self,
        actor: &Actor,
        in_state: Option<&str>,
    ) -> Result<Vec<enrollment::Model>, EnrollmentError> {
        let person_id = actor.person_id.ok_or(EnrollmentError::Forbidden)?;
        let mut q = enrollment::Entity::find().filter(enrollment::Column::PersonId.eq(person_id));
        if let Some(s) = in_state {
            q = q.filter(enrollment::Column::State.eq(s));
        }
        Ok(q.order_by_desc(enrollment::Column::RequestedAt)
            .order_by_desc(enrollment::Column::Id)
            .all(&self.db)
            .await?)
    }

    /// An enrollment, for the learner, the course's editors, and unit admins over the learner.
    ///
    /// # Errors
    /// NOT_FOUND for an unknown enrollment or one the actor may not see.
    pub async fn enrollment(
        &self,
        actor: &Actor,
        id: Uuid,
    ) -> Result<enrollment::Model, EnrollmentError> {
        let e = find_enrollment(&self.db, id).await?;
        if actor.is_person(e.person_id)
            || self
                .require_manager(&self.db, actor, e.course_id)
                .await
                .is_ok()
        {
            return Ok(e);
        }
        Err(EnrollmentError::NotFound("enrollment"))
    }

    /// Checks that `actor` manages the enrollments of `course_id`: an admin or an owner.
    pub(crate) async fn require_manager(
        &self,
        conn: &impl ConnectionTrait,
        actor: &Actor,
        course_id: Uuid,
    ) -> Result<(), EnrollmentError> {
        let course = course::access::find_course(conn, course_id).await?;
        course::access::require_editor(conn, actor, &course).await?;
        Ok(())
    }
}
