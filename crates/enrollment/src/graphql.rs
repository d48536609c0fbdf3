//! The enrollment part of the GraphQL API: cohorts, enrollments, assignment and rosters. Types
//! are written for clients and wrap the entities; nested people and cohorts load through
//! [`EnrollmentLoader`], a per-request DataLoader the gateway attaches.

use std::collections::HashMap;

use async_graphql::connection::{Connection, Edge};
use async_graphql::dataloader::{DataLoader, Loader};
use async_graphql::{Context, Enum, ID, InputObject, MaybeUndefined, Object, SimpleObject};
use chrono::{DateTime, Utc};
use identity::entity::person;
use identity::graphql::{Person, Unit, parse_id};
use kernel::GqlResultExt;
use kernel::context::{actor, clock, service};
use kernel::pagination::Page;
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter};
use uuid::Uuid;

use crate::Enrollments;
use crate::assign::{AssignReport, AssignTarget};
use crate::cohorts::{CohortChanges, CohortInput, SelfEnrollment};
use crate::entity::{assignment_rule, cohort, enrollment};
use crate::error::EnrollmentError;
use crate::roster::RosterSort;

fn service_of<'a>(ctx: &Context<'a>) -> async_graphql::Result<&'a Enrollments> {
    service::<Enrollments>(ctx)
}

fn internal(e: impl std::fmt::Display) -> async_graphql::Error {
    kernel::error::to_graphql(EnrollmentError::Database(sea_orm::DbErr::Custom(
        e.to_string(),
    )))
}

/// Key of [`EnrollmentLoader`]: a person by id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct PersonById(pub Uuid);
/// Key of [`EnrollmentLoader`]: a cohort by id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct CohortById(pub Uuid);

/// Key of [`EnrollmentLoader`]: the seats taken in a cohort.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct SeatsTakenIn(pub Uuid);

/// Loads the people and cohorts of enrollments, and the seats taken in cohorts, in batches: a roster page costs one query for
/// its people. Create one per request.
pub struct EnrollmentLoader {
    db: DatabaseConnection,
}

impl EnrollmentLoader {
    /// A loader over `db`.
    pub fn new(db: DatabaseConnection) -> Self {
        EnrollmentLoader { db }
    }
}

impl Loader<PersonById> for EnrollmentLoader {
    type Value = person::Model;
    type Error = std::sync::Arc<sea_orm::DbErr>;

    async fn load(
        &self,
        keys: &[PersonById],
    ) -> Result<HashMap<PersonById, person::Model>, Self::Error> {
        Ok(person::Entity::find()
            .filter(person::Column::Id.is_in(keys.iter().map(|k| k.0)))
            .all(&self.db)
            .await?
            .into_iter()
            .map(|p| (PersonById(p.id), p))
            .collect())
    }
}

impl Loader<CohortById> for EnrollmentLoader {
    type Value = cohort::Model;
    type Error = std::sync::Arc<sea_orm::DbErr>;

    async fn load(
        &self,
        keys: &[CohortById],
    ) -> Result<HashMap<CohortById, cohort::Model>, Self::Error> {
        Ok(cohort::Entity::find()
            .filter(cohort::Column::Id.is_in(keys.iter().map(|k| k.0)))
            .all(&self.db)
            .await?
            .into_iter()
            .map(|c| (CohortById(c.id), c))
            .collect())
    }
}

impl Loader<SeatsTakenIn> for EnrollmentLoader {
    type Value = u64;
    type Error = std::sync::Arc<EnrollmentError>;

    async fn load(&self, keys: &[SeatsTakenIn]) -> Result<HashMap<SeatsTakenIn, u64>, Self::Error> {
        let ids: Vec<Uuid> = keys.iter().map(|k| k.0).collect();
        let taken = crate::seats::taken_in(&self.db, &ids).await?;
        // A cohort without active or completed enrollments has none taken.
        Ok(keys
            .iter()
            .map(|k| (*k, taken.get(&k.0).copied().unwrap_or(0)))
            .collect())
    }
}

async fn load_person(ctx: &Context<'_>, id: Uuid) -> async_graphql::Result<Option<person::Model>> {
    match ctx.data_opt::<DataLoader<EnrollmentLoader>>() {
        Some(l) => l.load_one(PersonById(id)).await.map_err(internal),
        None => person::Entity::find_by_id(id)
            .one(&service_of(ctx)?.db)
            .await
            .map_err(internal),
    }
}

async fn load_cohort(ctx: &Context<'_>, id: Uuid) -> async_graphql::Result<Option<cohort::Model>> {
    match ctx.data_opt::<DataLoader<EnrollmentLoader>>() {
        Some(l) => l.load_one(CohortById(id)).await.map_err(internal),
        None => cohort::Entity::find_by_id(id)
            .one(&service_of(ctx)?.db)
            .await
            .map_err(internal),
    }
}

/// The state of an enrollment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
#[graphql(rename_items = "SCREAMING_SNAKE_CASE")]
pub enum EnrollmentState {
    /// Waiting for an admin or the course's owner to approve.
    Pending,
    /// Approved or requested while the cohort was full; promoted first come, first served.
    Waitlisted,
    /// Holds a seat and may learn.
    Active,
    /// Finished the course.
    Completed,
    /// Left the cohort.
    Withdrawn,
    /// Ended by an admin.
    Expired,
    /// The request was turned down.
    Rejected,
}

impl EnrollmentState {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        use crate::state::*;
        match self {
            EnrollmentState::Pending => PENDING,
            EnrollmentState::Waitlisted => WAITLISTED,
            EnrollmentState::Active => ACTIVE,
            EnrollmentState::Completed => COMPLETED,
            EnrollmentState::Withdrawn => WITHDRAWN,
            EnrollmentState::Expired => EXPIRED,
            EnrollmentState::Rejected => REJECTED,
        }
    }

    fn from_stored(s: &str) -> Option<Self> {
        [
            EnrollmentState::Pending,
            EnrollmentState::Waitlisted,
            EnrollmentState::Active,
            EnrollmentState::Completed,
            EnrollmentState::Withdrawn,
            EnrollmentState::Expired,
            EnrollmentState::Rejected,
        ]
        .into_iter()
        .find(|x| x.as_str() == s)
    }
}

/// How an enrollment came about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
#[graphql(rename_items = "SCREAMING_SNAKE_CASE")]
pub enum EnrollmentSource {
    /// The learner enrolled themselves.
    SelfEnrolled,
    /// An admin or unit admin assigned it.
    Assigned,
    /// A standing assignment rule (unit, position or grade) assigned it.
    Rule,
}

/// A cohort (angkatan): one run of a course.
pub struct Cohort(pub cohort::Model);

#[Object]
impl Cohort {
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }
    async fn name(&self) -> &str {
        &self.0.name
    }
    /// The course this cohort takes.
    async fn course(&self, ctx: &Context<'_>) -> async_graphql::Result<course::graphql::Course> {
        course::graphql::course_by_id(ctx, self.0.course_id)
            .await?
            .ok_or_else(|| {
                kernel::error::to_graphql(course::error::CourseError::NotFound("course"))
            })
    }
    /// Self-enrollment opens (null: already open).
    async fn enroll_opens_at(&self) -> Option<DateTime<Utc>> {
        self.0.enroll_opens_at
    }
    /// Self-enrollment closes (null: never).
    async fn enroll_closes_at(&self) -> Option<DateTime<Utc>> {
        self.0.enroll_closes_at
    }
    async fn starts_at(&self) -> Option<DateTime<Utc>> {
        self.0.starts_at
    }
    /// Active enrollments past this date are overdue (unless assigned another date).
    async fn due_at(&self) -> Option<DateTime<Utc>> {
        self.0.due_at
    }
    /// Seats; null is unlimited.
    async fn capacity(&self) -> Option<i32> {
        self.0.capacity
    }
    async fn self_enrollment(&self) -> SelfEnrollment {
        SelfEnrollment::from_stored(&self.0.self_enrollment)
    }
    /// Seats taken (active and completed enrollments).
    async fn seats_taken(&self, ctx: &Context<'_>) -> async_graphql::Result<u64> {
        match ctx.data_opt::<DataLoader<EnrollmentLoader>>() {
            Some(l) => Ok(l
                .load_one(SeatsTakenIn(self.0.id))
                .await
                .map_err(internal)?
                .unwrap_or(0)),
            None => crate::seats::taken(&service_of(ctx)?.db, self.0.id)
                .await
                .gql(),
        }
    }
    /// Whether a learner could enroll themselves right now.
    async fn enrollment_open(&self, ctx: &Context<'_>) -> async_graphql::Result<bool> {
        let now = clock(ctx)?.now();
        Ok(
            SelfEnrollment::from_stored(&self.0.self_enrollment) != SelfEnrollment::Closed
                && self.0.archived_at.is_none()
                && self.0.enroll_opens_at.is_none_or(|o| now >= o)
                && self.0.enroll_closes_at.is_none_or(|c| now < c),
        )
    }
    /// The caller's own enrollment in this cohort, if any.
    async fn my_enrollment(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<Enrollment>> {
        let Some(person_id) = actor(ctx)?.person_id else {
            return Ok(None);
        };
        Ok(
            crate::enroll::find_in_cohort(&service_of(ctx)?.db, self.0.id, person_id)
                .await
                .gql()?
                .map(Enrollment),
        )
    }
    /// The standing assignment rules (admins, unit admins, the course's owners).
    async fn assignment_rules(
        &self,
        ctx: &Context<'_>,
    ) -> async_graphql::Result<Vec<AssignmentRule>> {
        let actor = actor(ctx)?;
        Ok(service_of(ctx)?
            .rules(actor, self.0.id)
            .await
            .gql()?
            .into_iter()
            .map(AssignmentRule)
            .collect())
    }
}

/// A person's place in a cohort, with their progress.
pub struct Enrollment(pub enrollment::Model);

#[Object]
impl Enrollment {
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }
    async fn person(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<Person>> {
        Ok(load_person(ctx, self.0.person_id).await?.map(Person))
    }
    async fn cohort(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<Cohort>> {
        Ok(load_cohort(ctx, self.0.cohort_id).await?.map(Cohort))
    }
    async fn course_id(&self) -> ID {
        ID(self.0.course_id.to_string())
    }
    async fn state(&self) -> async_graphql::Result<EnrollmentState> {
        EnrollmentState::from_stored(&self.0.state)
            .ok_or_else(|| internal(format!("unknown enrollment state {}", self.0.state)))
    }
    async fn source(&self) -> EnrollmentSource {
        match self.0.source.as_str() {
            "assigned" => EnrollmentSource::Assigned,
            "rule" => EnrollmentSource::Rule,
            _ => EnrollmentSource::SelfEnrolled,
        }
    }
    async fn requested_at(&self) -> DateTime<Utc> {
        self.0.requested_at
    }
    async fn activated_at(&self) -> Option<DateTime<Utc>> {
        self.0.activated_at
    }
    async fn completed_at(&self) -> Option<DateTime<Utc>> {
        self.0.completed_at
    }
    /// When it was withdrawn, expired or rejected.
    async fn ended_at(&self) -> Option<DateTime<Utc>> {
        self.0.ended_at
    }
    async fn due_at(&self) -> Option<DateTime<Utc>> {
        self.0.due_at
    }
    /// Active and past its due date (shown, nothing is deleted).
    async fn overdue(&self, ctx: &Context<'_>) -> async_graphql::Result<bool> {
        let now = clock(ctx)?.now();
        Ok(self.0.state == crate::state::ACTIVE && self.0.due_at.is_some_and(|d| now > d))
    }
    /// 0 to 100.
    async fn progress_percent(&self) -> f64 {
        self.0.progress_percent
    }
    /// Required lessons done.
    async fn required_done(&self) -> i32 {
        self.0.required_done
    }
    /// Required lessons in the course.
    async fn required_total(&self) -> i32 {
        self.0.required_total
    }
    async fn last_activity_at(&self) -> Option<DateTime<Utc>> {
        self.0.last_activity_at
    }
}

/// What kind of people a standing rule enrolls.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
#[graphql(rename_items = "SCREAMING_SNAKE_CASE")]
pub enum AssignmentRuleKind {
    /// Everyone in a unit and its sub-units.
    UnitSubtree,
    /// Everyone with a position.
    Position,
    /// Everyone with a grade.
    Grade,
}

/// A standing mandatory assignment: it also enrolls whoever matches it later.
pub struct AssignmentRule(pub assignment_rule::Model);

#[Object]
impl AssignmentRule {
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }
    async fn kind(&self) -> AssignmentRuleKind {
        match self.0.kind.as_str() {
            "position" => AssignmentRuleKind::Position,
            "grade" => AssignmentRuleKind::Grade,
            _ => AssignmentRuleKind::UnitSubtree,
        }
    }
    /// The unit (UNIT_SUBTREE), or the subtree a unit admin's position or grade rule is
    /// confined to.
    async fn unit(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<Unit>> {
        let Some(id) = self.0.unit_id else {
            return Ok(None);
        };
        Ok(identity::entity::unit::Entity::find_by_id(id)
            .one(&service_of(ctx)?.db)
            .await
            .map_err(internal)?
            .map(Unit))
    }
    /// The position or grade.
    async fn value(&self) -> Option<&str> {
        self.0.value.as_deref()
    }
    async fn due_at(&self) -> Option<DateTime<Utc>> {
        self.0.due_at
    }
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
    async fn revoked_at(&self) -> Option<DateTime<Utc>> {
        self.0.revoked_at
    }
}

/// A NIP that was not assigned.
#[derive(SimpleObject)]
pub struct NipAssignmentError {
    nip: String,
    message: String,
}

/// The outcome of `assignCohort`.
#[derive(SimpleObject)]
pub struct AssignCohortResult {
    /// People newly enrolled (or brought back to active).
    enrolled: u64,
    /// People already active or completed in the cohort.
    already_enrolled: u64,
    /// Seats taken beyond capacity: mandatory assignment is never refused for capacity.
    over_capacity: u64,
    /// The standing rule (unit, position or grade assignments).
    rule: Option<AssignmentRule>,
    /// NIPs not assigned, and why.
    errors: Vec<NipAssignmentError>,
}

impl From<AssignReport> for AssignCohortResult {
    fn from(r: AssignReport) -> Self {
        AssignCohortResult {
            enrolled: r.enrolled,
            already_enrolled: r.already_enrolled,
            over_capacity: r.over_capacity,
            rule: r.rule.map(AssignmentRule),
            errors: r
                .errors
                .into_iter()
                .map(|e| NipAssignmentError {
                    nip: e.nip,
                    message: e.message,
                })
                .collect(),
        }
    }
}

/// A new cohort.
#[derive(InputObject)]
pub struct CreateCohortInput {
    name: String,
    enroll_opens_at: Option<DateTime<Utc>>,
    enroll_closes_at: Option<DateTime<Utc>>,
    starts_at: Option<DateTime<Utc>>,
    due_at: Option<DateTime<Utc>>,
    /// Seats; omit for unlimited.
    capacity: Option<i32>,
    /// Defaults to OPEN.
    #[graphql(default_with = "SelfEnrollment::Open")]
    self_enrollment: SelfEnrollment,
}

/// Changes to a cohort: omitted fields stay, null clears an optional one.
#[derive(InputObject)]
pub struct UpdateCohortInput {
    name: Option<String>,
    enroll_opens_at: MaybeUndefined<DateTime<Utc>>,
    enroll_closes_at: MaybeUndefined<DateTime<Utc>>,
    starts_at: MaybeUndefined<DateTime<Utc>>,
    due_at: MaybeUndefined<DateTime<Utc>>,
    capacity: MaybeUndefined<i32>,
    self_enrollment: Option<SelfEnrollment>,
}

fn change<T>(v: MaybeUndefined<T>) -> Option<Option<T>> {
    match v {
        MaybeUndefined::Undefined => None,
        MaybeUndefined::Null => Some(None),
        MaybeUndefined::Value(x) => Some(Some(x)),
    }
}

/// Whom to assign a cohort to: exactly one of `unitId`, `nips`, `position`, `grade`.
#[derive(InputObject)]
pub struct AssignCohortInput {
    /// Everyone in this unit and its sub-units, now and later.
    unit_id: Option<ID>,
    /// These people, once.
    nips: Option<Vec<String>>,
    /// Everyone with this position, now and later.
    position: Option<String>,
    /// Everyone with this grade, now and later.
    grade: Option<String>,
    /// Defaults to the cohort's due date.
    due_at: Option<DateTime<Utc>>,
}

/// Enrollment queries.
#[derive(Default)]
pub struct EnrollmentQuery;

#[Object]
impl EnrollmentQuery {
    /// A cohort of a course the caller may see.
    async fn cohort(&self, ctx: &Context<'_>, id: ID) -> async_graphql::Result<Cohort> {
        let actor = actor(ctx)?;
        let id = parse_id("id", &id)?;
        service_of(ctx)?.cohort(actor, id).await.map(Cohort).gql()
    }

    /// The cohorts of a course, oldest first.
    async fn cohorts(
        &self,
        ctx: &Context<'_>,
        course_id: ID,
    ) -> async_graphql::Result<Vec<Cohort>> {
        let actor = actor(ctx)?;
        let id = parse_id("courseId", &course_id)?;
        Ok(service_of(ctx)?
            .cohorts(actor, id)
            .await
            .gql()?
            .into_iter()
            .map(Cohort)
            .collect())
    }

    /// The caller's own enrollments, newest first.
    async fn my_enrollments(
        &self,
        ctx: &Context<'_>,
        state: Option<EnrollmentState>,
    ) -> async_graphql::Result<Vec<Enrollment>> {
        let actor = actor(ctx)?;
        Ok(service_of(ctx)?
            .my_enrollments(actor, state.map(EnrollmentState::as_str))
            .await
            .gql()?
            .into_iter()
            .map(Enrollment)
            .collect())
    }

    /// One enrollment: the learner's own, or one the caller manages.
    async fn enrollment(&self, ctx: &Context<'_>, id: ID) -> async_graphql::Result<Enrollment> {
        let actor = actor(ctx)?;
        let id = parse_id("id", &id)?;
        service_of(ctx)?
            .enrollment(actor, id)
            .await
            .map(Enrollment)
            .gql()
    }

    /// A cohort's learners with their progress, a page at a time (the course's owners and
    /// admins: everyone; unit admins: their unit subtree).
    #[allow(clippy::too_many_arguments)]
    async fn cohort_roster(
        &self,
        ctx: &Context<'_>,
        cohort_id: ID,
        #[graphql(desc = "Default PROGRESS_DESC.")] sort: Option<RosterSort>,
        #[graphql(desc = "Only these states (default: all).")] states: Option<Vec<EnrollmentState>>,
        first: Option<i32>,
        after: Option<String>,
    ) -> async_graphql::Result<Connection<String, Enrollment>> {
        let actor = actor(ctx)?;
        let id = parse_id("cohortId", &cohort_id)?;
        let page = Page::new(first, after.clone())
            .map_err(EnrollmentError::from)
            .gql()?;
        let states: Vec<&str> = states
            .unwrap_or_default()
            .iter()
            .map(|s| s.as_str())
            .collect();
        let sort = sort.unwrap_or(RosterSort::ProgressDesc);
        let result = service_of(ctx)?
            .roster(actor, id, sort, &states, page)
            .await
            .gql()?;
        let mut conn = Connection::new(after.is_some(), result.has_next_page);
        if let Some(l) = ctx.data_opt::<DataLoader<EnrollmentLoader>>() {
            // The page's people are already loaded: the person fields cost no further query.
            l.feed_many(
                result
                    .rows
                    .iter()
                    .filter_map(|(_, _, p)| p.clone().map(|p| (PersonById(p.id), p))),
            )
            .await;
        }
        conn.edges.extend(
            result
                .rows
                .into_iter()
                .map(|(cursor, e, _)| Edge::new(cursor, Enrollment(e))),
        );
        Ok(conn)
    }

    /// Requests waiting for approval in a cohort, oldest first (admins and owners).
    async fn pending_approvals(
        &self,
        ctx: &Context<'_>,
        cohort_id: ID,
    ) -> async_graphql::Result<Vec<Enrollment>> {
        let actor = actor(ctx)?;
        let id = parse_id("cohortId", &cohort_id)?;
        Ok(service_of(ctx)?
            .pending_approvals(actor, id)
            .await
            .gql()?
            .into_iter()
            .map(Enrollment)
            .collect())
    }
}

/// Enrollment mutations.
#[derive(Default)]
pub struct EnrollmentMutation;

#[Object]
impl EnrollmentMutation {
    /// Creates a cohort of a course (admins and the course's owners).
    async fn create_cohort(
        &self,
        ctx: &Context<'_>,
        course_id: ID,
        input: CreateCohortInput,
    ) -> async_graphql::Result<Cohort> {
        let actor = actor(ctx)?;
        let course_id = parse_id("courseId", &course_id)?;
        service_of(ctx)?
            .create_cohort(
                actor,
                course_id,
                CohortInput {
                    name: input.name,
                    enroll_opens_at: input.enroll_opens_at,
                    enroll_closes_at: input.enroll_closes_at,
                    starts_at: input.starts_at,
                    due_at: input.due_at,
                    capacity: input.capacity,
                    self_enrollment: input.self_enrollment,
                },
            )
            .await
            .map(Cohort)
            .gql()
    }

    /// Changes a cohort; raising its capacity promotes from the waitlist.
    async fn update_cohort(
        &self,
        ctx: &Context<'_>,
        id: ID,
        input: UpdateCohortInput,
    ) -> async_graphql::Result<Cohort> {
        let actor = actor(ctx)?;
        let id = parse_id("id", &id)?;
        service_of(ctx)?
            .update_cohort(
                actor,
                id,
                CohortChanges {
                    name: input.name,
                    enroll_opens_at: change(input.enroll_opens_at),
                    enroll_closes_at: change(input.enroll_closes_at),
                    starts_at: change(input.starts_at),
                    due_at: change(input.due_at),
                    capacity: change(input.capacity),
                    self_enrollment: input.self_enrollment,
                },
            )
            .await
            .map(Cohort)
            .gql()
    }

    /// Enrolls the caller in a cohort: active, waitlisted when full, or pending approval.
    /// Enrolling again returns the existing enrollment.
    async fn enroll(&self, ctx: &Context<'_>, cohort_id: ID) -> async_graphql::Result<Enrollment> {
        let actor = actor(ctx)?;
        let id = parse_id("cohortId", &cohort_id)?;
        service_of(ctx)?
            .enroll(actor, id)
            .await
            .map(Enrollment)
            .gql()
    }

    /// Withdraws an enrollment (the learner, or an admin or owner); the seat goes to the next
    /// on the waitlist.
    async fn withdraw(
        &self,
        ctx: &Context<'_>,
        enrollment_id: ID,
    ) -> async_graphql::Result<Enrollment> {
        let actor = actor(ctx)?;
        let id = parse_id("enrollmentId", &enrollment_id)?;
        service_of(ctx)?
            .withdraw(actor, id)
            .await
            .map(Enrollment)
            .gql()
    }

    /// Approves a pending request: a seat, or the waitlist when full.
    async fn approve_enrollment(
        &self,
        ctx: &Context<'_>,
        enrollment_id: ID,
    ) -> async_graphql::Result<Enrollment> {
        let actor = actor(ctx)?;
        let id = parse_id("enrollmentId", &enrollment_id)?;
        service_of(ctx)?
            .approve(actor, id)
            .await
            .map(Enrollment)
            .gql()
    }

    /// Turns down a pending or waitlisted request.
    async fn reject_enrollment(
        &self,
        ctx: &Context<'_>,
        enrollment_id: ID,
    ) -> async_graphql::Result<Enrollment> {
        let actor = actor(ctx)?;
        let id = parse_id("enrollmentId", &enrollment_id)?;
        service_of(ctx)?
            .reject(actor, id)
            .await
            .map(Enrollment)
            .gql()
    }

    /// Ends an enrollment as expired (admins).
    async fn expire_enrollment(
        &self,
        ctx: &Context<'_>,
        enrollment_id: ID,
    ) -> async_graphql::Result<Enrollment> {
        let actor = actor(ctx)?;
        let id = parse_id("enrollmentId", &enrollment_id)?;
        service_of(ctx)?
            .expire(actor, id)
            .await
            .map(Enrollment)
            .gql()
    }

    /// Assigns a cohort as mandatory training to a unit subtree, a list of NIPs, a position or a
    /// grade (admins; unit admins within their subtree). Never refused for capacity.
    async fn assign_cohort(
        &self,
        ctx: &Context<'_>,
        cohort_id: ID,
        input: AssignCohortInput,
    ) -> async_graphql::Result<AssignCohortResult> {
        let actor = actor(ctx)?;
        let id = parse_id("cohortId", &cohort_id)?;
        let mut targets = Vec::new();
        if let Some(u) = &input.unit_id {
            targets.push(AssignTarget::UnitSubtree(parse_id("unitId", u)?));
        }
        if let Some(n) = input.nips {
            targets.push(AssignTarget::Nips(n));
        }
        if let Some(p) = input.position {
            targets.push(AssignTarget::Position(p));
        }
        if let Some(g) = input.grade {
            targets.push(AssignTarget::Grade(g));
        }
        if targets.len() != 1 {
            return Err(kernel::error::to_graphql(EnrollmentError::invalid(
                "input",
                "give exactly one of unitId, nips, position or grade",
            )));
        }
        let target = targets.remove(0);
        service_of(ctx)?
            .assign(actor, id, target, input.due_at)
            .await
            .map(AssignCohortResult::from)
            .gql()
    }

    /// Stops a standing assignment rule; the enrollments it made stay.
    async fn revoke_assignment_rule(
        &self,
        ctx: &Context<'_>,
        id: ID,
    ) -> async_graphql::Result<AssignmentRule> {
        let actor = actor(ctx)?;
        let id = parse_id("id", &id)?;
        service_of(ctx)?
            .revoke_rule(actor, id)
            .await
            .map(AssignmentRule)
            .gql()
    }
}
