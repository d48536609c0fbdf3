//! Cohorts (angkatan): one run of a course with its enrollment and learning windows, its seats
//! and how learners may enroll themselves.

use chrono::{DateTime, Utc};
use kernel::Actor;
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, Set,
};
use serde_json::json;
use uuid::Uuid;

use crate::entity::cohort;
use crate::error::EnrollmentError;
use crate::{Enrollments, seats};

/// Longest cohort name.
pub const MAX_NAME: usize = 200;

/// How learners may enroll themselves in a cohort.
#[derive(Debug, Clone, Copy, PartialEq, Eq, async_graphql::Enum)]
#[graphql(rename_items = "SCREAMING_SNAKE_CASE")]
pub enum SelfEnrollment {
    /// Anyone may enroll within the window (a seat, or the waitlist when full).
    Open,
    /// Anyone may ask within the window; an admin or owner approves.
    Approval,
    /// Only assignment by admins and unit admins.
    Closed,
}

impl SelfEnrollment {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            SelfEnrollment::Open => "open",
            SelfEnrollment::Approval => "approval",
            SelfEnrollment::Closed => "closed",
        }
    }

    /// From the stored name (unknown names are treated as closed: the safe side).
    pub fn from_stored(s: &str) -> Self {
        match s {
            "open" => SelfEnrollment::Open,
            "approval" => SelfEnrollment::Approval,
            _ => SelfEnrollment::Closed,
        }
    }
}

/// A cohort's settings, as given when it is created.
#[derive(Debug, Clone)]
pub struct CohortInput {
    /// Name, e.g. `Angkatan I 2026`.
    pub name: String,
    /// Self-enrollment opens (none: already open).
    pub enroll_opens_at: Option<DateTime<Utc>>,
    /// Self-enrollment closes (none: never).
    pub enroll_closes_at: Option<DateTime<Utc>>,
    /// Learning starts.
    pub starts_at: Option<DateTime<Utc>>,
    /// Learning is due; active enrollments past it are overdue.
    pub due_at: Option<DateTime<Utc>>,
    /// Seats; none is unlimited.
    pub capacity: Option<i32>,
    /// Self-enrollment mode.
    pub self_enrollment: SelfEnrollment,
}

/// Changes to a cohort: `None` keeps a field, `Some(None)` clears an optional one.
#[derive(Debug, Clone, Default)]
pub struct CohortChanges {
    /// New name.
    pub name: Option<String>,
    /// New opening of self-enrollment.
    pub enroll_opens_at: Option<Option<DateTime<Utc>>>,
    /// New closing of self-enrollment.
    pub enroll_closes_at: Option<Option<DateTime<Utc>>>,
    /// New start.
    pub starts_at: Option<Option<DateTime<Utc>>>,
    /// New due date (enrollments that had the old one follow it).
    pub due_at: Option<Option<DateTime<Utc>>>,
    /// New capacity; raising it promotes from the waitlist.
    pub capacity: Option<Option<i32>>,
    /// New mode.
    pub self_enrollment: Option<SelfEnrollment>,
}

/// Checks the settings of a cohort as a whole.
fn validate(c: &cohort::Model) -> Result<(), EnrollmentError> {
    if c.name.trim().is_empty() {
        return Err(EnrollmentError::invalid("name", "a cohort needs a name"));
    }
    if c.name.chars().count() > MAX_NAME {
        return Err(EnrollmentError::invalid(
            "name",
            format!("the name may have at most {MAX_NAME} characters"),
        ));
    }
    if let (Some(o), Some(cl)) = (c.enroll_opens_at, c.enroll_closes_at)
        && cl <= o
    {
        return Err(EnrollmentError::invalid(
            "enrollClosesAt",
            "enrollment must close after it opens",
        ));
    }
    if let (Some(s), Some(d)) = (c.starts_at, c.due_at)
        && d <= s
    {
        return Err(EnrollmentError::invalid(
            "dueAt",
            "the due date must be after the start",
        ));
    }
    if let Some(cap) = c.capacity
        && cap < 1
    {
        return Err(EnrollmentError::invalid(
            "capacity",
            "capacity must be at least 1 (leave it empty for unlimited)",
        ));
    }
    Ok(())
}

/// A cohort by id.
///
/// # Errors
/// NOT_FOUND.
pub async fn find_cohort(
    conn: &impl ConnectionTrait,
    id: Uuid,
) -> Result<cohort::Model, EnrollmentError> {
    cohort::Entity::find_by_id(id)
        .one(conn)
        .await?
        .ok_or(EnrollmentError::NotFound("cohort"))
}

impl Enrollments {
    /// Creates a cohort of `course_id`.
    ///
    /// # Errors
    /// NOT_FOUND for an unknown course; FORBIDDEN unless admin or owner of the course;
    /// CONFLICT for an archived course; BAD_USER_INPUT for invalid settings.
    pub async fn create_cohort(
        &self,
        actor: &Actor,
        course_id: Uuid,
        input: CohortInput,
    ) -> Result<cohort::Model, EnrollmentError> {
        let now = self.clock.now();
        let course = course::access::find_course(&self.db, course_id).await?;
        course::access::require_editor(&self.db, actor, &course).await?;
        if course.state == "archived" {
            return Err(EnrollmentError::conflict(
                "the course is archived; it takes no new cohorts",
            ));
        }
        let created_by = actor.person_id.ok_or(EnrollmentError::Forbidden)?;
        let model = cohort::Model {
            id: kernel::new_id(),
            course_id,
            name: input.name.trim().to_owned(),
            enroll_opens_at: input.enroll_opens_at,
            enroll_closes_at: input.enroll_closes_at,
            starts_at: input.starts_at,
            due_at: input.due_at,
            capacity: input.capacity,
            self_enrollment: input.self_enrollment.as_str().to_owned(),
            created_by,
            created_at: now,
            updated_at: now,
            archived_at: None,
        };
        validate(&model)?;
        let tx = kernel::db::begin_write(&self.db).await?;
        let am: cohort::ActiveModel = model.into();
        let model = am.insert(&tx).await?;
        identity::audit::record(
            &tx,
            actor,
            now,
            "cohort.create",
            "cohort",
            model.id,
            json!({"courseId": course_id, "name": model.name}),
        )
        .await?;
        tx.commit().await?;
        Ok(model)
    }

    /// Changes a cohort. Raising the capacity promotes waitlisted people into the new seats;
    /// lowering it below the seats taken removes nobody (new requests wait). Enrollments that
    /// carried the old due date take the new one.
    ///
    /// # Errors
    /// NOT_FOUND; FORBIDDEN unless admin or owner of the course; BAD_USER_INPUT.
    pub async fn update_cohort(
        &self,
        actor: &Actor,
        id: Uuid,
        changes: CohortChanges,
    ) -> Result<cohort::Model, EnrollmentError> {
        let now = self.clock.now();
        let tx = kernel::db::begin_write(&self.db).await?;
        // Lock first: a capacity change and a seat taken at the same moment must not interleave.
        let current = seats::lock_cohort(&tx, id, now).await?;
        let course = course::access::find_course(&tx, current.course_id).await?;
        course::access::require_editor(&tx, actor, &course).await?;
        let mut next = current.clone();
        if let Some(n) = changes.name {
            next.name = n.trim().to_owned();
        }
        if let Some(v) = changes.enroll_opens_at {
            next.enroll_opens_at = v;
        }
        if let Some(v) = changes.enroll_closes_at {
            next.enroll_closes_at = v;
        }
        if let Some(v) = changes.starts_at {
            next.starts_at = v;
        }
        if let Some(v) = changes.due_at {
            next.due_at = v;
        }
        if let Some(v) = changes.capacity {
            next.capacity = v;
        }
        if let Some(v) = changes.self_enrollment {
            next.self_enrollment = v.as_str().to_owned();
        }
        validate(&next)?;
        next.updated_at = now;
        let mut am: cohort::ActiveModel = current.clone().into();
        am.name = Set(next.name);
        am.enroll_opens_at = Set(next.enroll_opens_at);
        am.enroll_closes_at = Set(next.enroll_closes_at);
        am.starts_at = Set(next.starts_at);
        am.due_at = Set(next.due_at);
        am.capacity = Set(next.capacity);
        am.self_enrollment = Set(next.self_enrollment);
        am.updated_at = Set(now);
        let model = am.update(&tx).await?;
        if current.due_at != model.due_at {
            use crate::entity::enrollment::{Column, Entity};
            let mut q = Entity::update_many()
                .col_expr(Column::DueAt, Expr::value(model.due_at))
                .col_expr(Column::UpdatedAt, Expr::value(now))
                .filter(Column::CohortId.eq(id));
            q = match current.due_at {
                Some(old) => q.filter(Column::DueAt.eq(old)),
                None => q.filter(Column::DueAt.is_null()),
            };
            q.exec(&tx).await?;
        }
        let promoted = seats::promote(&tx, &model, now).await?;
        identity::audit::record(
            &tx,
            actor,
            now,
            "cohort.update",
            "cohort",
            id,
            json!({"capacity": model.capacity, "selfEnrollment": model.self_enrollment, "promoted": promoted.len()}),
        )
        .await?;
        tx.commit().await?;
        Ok(model)
    }

    /// A cohort, for anyone who may see its course.
    ///
    /// # Errors
    /// NOT_FOUND for an unknown cohort, or one whose course the actor may not see.
    pub async fn cohort(&self, actor: &Actor, id: Uuid) -> Result<cohort::Model, EnrollmentError> {
        let c = find_cohort(&self.db, id).await?;
        let course = course::access::find_course(&self.db, c.course_id).await?;
        if !course::access::can_see(&self.db, actor, &course).await? {
            return Err(EnrollmentError::NotFound("cohort"));
        }
        Ok(c)
    }

    /// The cohorts of a course, oldest first (archived ones left out).
    ///
    /// # Errors
    /// NOT_FOUND for an unknown course or one the actor may not see.
    pub async fn cohorts(
        &self,
        actor: &Actor,
        course_id: Uuid,
    ) -> Result<Vec<cohort::Model>, EnrollmentError> {
        let course = course::access::find_course(&self.db, course_id).await?;
        if !course::access::can_see(&self.db, actor, &course).await? {
            return Err(EnrollmentError::NotFound("course"));
        }
        Ok(cohort::Entity::find()
            .filter(cohort::Column::CourseId.eq(course_id))
            .filter(cohort::Column::ArchivedAt.is_null())
            .order_by_asc(cohort::Column::CreatedAt)
            .order_by_asc(cohort::Column::Id)
            .all(&self.db)
            .await?)
    }
}
