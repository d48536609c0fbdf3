//! Follow-up surveys (Kirkpatrick levels 3 and 4): supervisors (atasan), the requests the sweep
//! creates a set number of days after completion for the learner and their supervisor, the
//! reminders until they answer, and the closing of requests nobody answers.
//!
//! The sweep is idempotent: one request per enrollment and audience (a unique index, inserted
//! with `ON CONFLICT DO NOTHING`), and a reminder is a conditional UPDATE on the reminder count
//! it read, so two sweeps running at once send it once. Each new request and each reminder
//! writes a row to the notification outbox in the same transaction.
//!
//! Supervisors live in their own table rather than as a column of `people`: identity owns
//! `people` and its entity, and only evaluation reads the relation.

use std::collections::{BTreeSet, HashMap};

use chrono::{DateTime, Duration, Utc};
use enrollment::entity::enrollment as enrollment_entity;
use identity::entity::person;
use kernel::Actor;
use kernel::pagination::{Page, encode_cursor};
use sea_orm::sea_query::{Expr, OnConflict};
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect,
    QueryTrait, Set,
};
use uuid::Uuid;

use super::settings::DEFAULT_FOLLOW_UP_DAYS;
use crate::Evaluation;
use crate::entity::{course_survey_setting, follow_up_request, notification, supervisor};
use crate::error::EvaluationError;

/// The learner is asked.
pub const AUDIENCE_LEARNER: &str = "learner";
/// The learner's supervisor is asked.
pub const AUDIENCE_SUPERVISOR: &str = "supervisor";
/// Waiting for an answer.
pub const STATE_OPEN: &str = "open";
/// Answered.
pub const STATE_ANSWERED: &str = "answered";
/// Closed without an answer.
pub const STATE_CLOSED: &str = "closed";
/// Outbox kind of a new request.
pub const NOTIFY_REQUESTED: &str = "follow_up_requested";
/// Outbox kind of a reminder.
pub const NOTIFY_REMINDER: &str = "follow_up_reminder";

/// Enrollments handled per statement by the sweep.
const BATCH: u64 = 500;

/// What one follow-up sweep did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FollowUpSweep {
    /// Requests created.
    pub requested: usize,
    /// Reminders sent.
    pub reminded: usize,
    /// Requests closed after their last reminder.
    pub closed: usize,
}

/// A person's supervisor.
#[derive(Debug, Clone)]
pub struct SupervisorView {
    /// The person.
    pub person_id: Uuid,
    /// Their supervisor, if set.
    pub supervisor: Option<person::Model>,
}

/// A page of follow-up requests.
#[derive(Debug, Clone)]
pub struct RequestPage {
    /// (cursor, request, name of the person asked, name of the learner).
    pub rows: Vec<(String, follow_up_request::Model, String, String)>,
    /// Whether more follow.
    pub has_next_page: bool,
}

/// The supervisor of `person_id`, if set.
///
/// # Errors
/// INTERNAL on database failure.
pub async fn supervisor_of(
    conn: &impl ConnectionTrait,
    person_id: Uuid,
) -> Result<Option<Uuid>, EvaluationError> {
    Ok(supervisor::Entity::find_by_id(person_id)
        .one(conn)
        .await?
        .map(|s| s.supervisor_id))
}

/// A candidate for a request: (enrollment, completed_at, days).
type Candidate = (enrollment_entity::Model, DateTime<Utc>, i64);

/// Completed enrollments whose follow-up is due by `now` (and not later than the catch-up
/// window) without a request for `audience`: one statement per distinct follow-up day count
/// in use.
async fn due_without_request(
    conn: &impl ConnectionTrait,
    now: DateTime<Utc>,
    window: Duration,
    audience: &str,
    settings: &[course_survey_setting::Model],
) -> Result<Vec<Candidate>, EvaluationError> {
    let special: BTreeSet<i32> = settings
        .iter()
        .filter(|s| s.follow_up_enabled)
        .map(|s| s.follow_up_days)
        .collect();
    // Courses with a stored row that is not the plain default (other days, or disabled).
    let non_default: Vec<Uuid> = settings
        .iter()
        .filter(|s| !s.follow_up_enabled || s.follow_up_days != DEFAULT_FOLLOW_UP_DAYS)
        .map(|s| s.course_id)
        .collect();
    let mut groups: Vec<(i32, Condition)> = vec![(
        DEFAULT_FOLLOW_UP_DAYS,
        Condition::all().add(enrollment_entity::Column::CourseId.is_not_in(non_default)),
    )];
    for days in special.into_iter().filter(|d| *d != DEFAULT_FOLLOW_UP_DAYS) {
        let courses: Vec<Uuid> = settings
            .iter()
            .filter(|s| s.follow_up_enabled && s.follow_up_days == days)
            .map(|s| s.course_id)
            .collect();
        groups.push((
            days,
            Condition::all().add(enrollment_entity::Column::CourseId.is_in(courses)),
        ));
    }
    let asked = follow_up_request::Entity::find()
        .select_only()
        .column(follow_up_request::Column::EnrollmentId)
        .filter(follow_up_request::Column::Audience.eq(audience))
        .into_query();
    let mut out = Vec::new();
    for (days, courses) in groups {
        let span = Duration::days(i64::from(days));
        let mut q = enrollment_entity::Entity::find()
            .filter(enrollment_entity::Column::State.eq(enrollment::state::COMPLETED))
            .filter(enrollment_entity::Column::CompletedAt.lte(now - span))
            .filter(enrollment_entity::Column::CompletedAt.gte(now - span - window))
            .filter(courses)
            .filter(enrollment_entity::Column::Id.not_in_subquery(asked.clone()));
        if audience == AUDIENCE_SUPERVISOR {
            let with_supervisor = supervisor::Entity::find()
                .select_only()
                .column(supervisor::Column::PersonId)
                .into_query();
            q = q.filter(enrollment_entity::Column::PersonId.in_subquery(with_supervisor));
        }
        let rows = q
            .order_by_asc(enrollment_entity::Column::Id)
            .limit(BATCH)
            .all(conn)
            .await?;
        out.extend(rows.into_iter().filter_map(|e| {
            let at = e.completed_at?;
            Some((e, at, i64::from(days)))
        }));
    }
    Ok(out)
}

async fn notify(
    conn: &impl ConnectionTrait,
    person_id: Uuid,
    kind: &str,
    request_id: Uuid,
    now: DateTime<Utc>,
) -> Result<(), EvaluationError> {
    notification::Entity::insert(notification::ActiveModel {
        id: Set(kernel::new_id()),
        person_id: Set(person_id),
        kind: Set(kind.to_owned()),
        follow_up_request_id: Set(Some(request_id)),
        created_at: Set(now),
        delivered_at: Set(None),
    })
    .exec_without_returning(conn)
    .await?;
    Ok(())
}

impl Evaluation {
    /// Creates the follow-up requests that are due, sends the reminders that are due, and
    /// closes requests whose last reminder went unanswered. Each step in its own transaction,
    /// a batch of up to 500 at a time, until nothing is left; idempotent.
    ///
    /// # Errors
    /// INTERNAL on database failure.
    pub async fn sweep_follow_ups(&self) -> Result<FollowUpSweep, EvaluationError> {
        let mut out = FollowUpSweep::default();
        for audience in [AUDIENCE_LEARNER, AUDIENCE_SUPERVISOR] {
            loop {
                let n = self.create_requests(audience).await?;
                out.requested += n;
                if n == 0 {
                    break;
                }
            }
        }
        loop {
            let (reminded, closed, seen) = self.remind_batch().await?;
            out.reminded += reminded;
            out.closed += closed;
            if seen < BATCH as usize {
                break;
            }
        }
        Ok(out)
    }

    /// One batch of new requests for `audience`; returns how many were created.
    async fn create_requests(&self, audience: &str) -> Result<usize, EvaluationError> {
        let now = self.clock.now();
        let txn = kernel::db::begin_write(&self.db).await?;
        let settings = course_survey_setting::Entity::find().all(&txn).await?;
        let candidates = due_without_request(
            &txn,
            now,
            self.settings.follow_up_window,
            audience,
            &settings,
        )
        .await?;
        let supervisors: HashMap<Uuid, Uuid> = if audience == AUDIENCE_SUPERVISOR {
            supervisor::Entity::find()
                .filter(
                    supervisor::Column::PersonId
                        .is_in(candidates.iter().map(|(e, _, _)| e.person_id)),
                )
                .all(&txn)
                .await?
                .into_iter()
                .map(|s| (s.person_id, s.supervisor_id))
                .collect()
        } else {
            HashMap::new()
        };
        let mut created = 0;
        for (e, completed_at, days) in &candidates {
            let asked = if audience == AUDIENCE_SUPERVISOR {
                match supervisors.get(&e.person_id) {
                    Some(s) => *s,
                    None => continue,
                }
            } else {
                e.person_id
            };
            let id = kernel::new_id();
            let rows = follow_up_request::Entity::insert(follow_up_request::ActiveModel {
                id: Set(id),
                enrollment_id: Set(e.id),
                course_id: Set(e.course_id),
                learner_id: Set(e.person_id),
                audience: Set(audience.to_owned()),
                person_id: Set(asked),
                state: Set(STATE_OPEN.to_owned()),
                due_at: Set(*completed_at + Duration::days(*days)),
                created_at: Set(now),
                reminder_count: Set(0),
                reminded_at: Set(None),
                next_reminder_at: Set(Some(now + self.settings.reminder_interval)),
                answered_at: Set(None),
                response_id: Set(None),
                closed_at: Set(None),
                closed_by: Set(None),
                close_reason: Set(None),
            })
            .on_conflict(
                OnConflict::columns([
                    follow_up_request::Column::EnrollmentId,
                    follow_up_request::Column::Audience,
                ])
                .do_nothing()
                .to_owned(),
            )
            .exec_without_returning(&txn)
            .await?;
            if rows > 0 {
                notify(&txn, asked, NOTIFY_REQUESTED, id, now).await?;
                created += 1;
            }
        }
        txn.commit().await?;
        if created > 0 {
            tracing::info!(
                follow_up.audience = audience,
                follow_up.created = created,
                "follow-up surveys asked"
            );
        }
        Ok(created)
    }

    /// One batch of due reminders: returns (reminded, closed, requests looked at).
    async fn remind_batch(&self) -> Result<(usize, usize, usize), EvaluationError> {
        let now = self.clock.now();
        let txn = kernel::db::begin_write(&self.db).await?;
        let due = follow_up_request::Entity::find()
            .filter(follow_up_request::Column::State.eq(STATE_OPEN))
            .filter(follow_up_request::Column::NextReminderAt.lte(now))
            .order_by_asc(follow_up_request::Column::NextReminderAt)
            .limit(BATCH)
            .all(&txn)
            .await?;
        let (mut reminded, mut closed) = (0, 0);
        for r in &due {
            let exhausted = r.reminder_count >= self.settings.max_reminders;
            let mut update = follow_up_request::Entity::update_many()
                .filter(follow_up_request::Column::Id.eq(r.id))
                .filter(follow_up_request::Column::State.eq(STATE_OPEN))
                .filter(follow_up_request::Column::ReminderCount.eq(r.reminder_count));
            update = if exhausted {
                update
                    .col_expr(follow_up_request::Column::State, Expr::value(STATE_CLOSED))
                    .col_expr(follow_up_request::Column::ClosedAt, Expr::value(now))
                    .col_expr(
                        follow_up_request::Column::CloseReason,
                        Expr::value("no_response"),
                    )
                    .col_expr(
                        follow_up_request::Column::NextReminderAt,
                        Expr::value(Option::<DateTime<Utc>>::None),
                    )
            } else {
                update
                    .col_expr(
                        follow_up_request::Column::ReminderCount,
                        Expr::value(r.reminder_count + 1),
                    )
                    .col_expr(follow_up_request::Column::RemindedAt, Expr::value(now))
                    .col_expr(
                        follow_up_request::Column::NextReminderAt,
                        Expr::value(now + self.settings.reminder_interval),
                    )
            };
            if update.exec(&txn).await?.rows_affected == 0 {
                continue;
            }
            if exhausted {
                closed += 1;
            } else {
                notify(&txn, r.person_id, NOTIFY_REMINDER, r.id, now).await?;
                reminded += 1;
            }
        }
        txn.commit().await?;
        Ok((reminded, closed, due.len()))
    }

    /// Sets (or, with `None`, clears) the supervisor of `person_id`. Admins, and unit admins
    /// for people in their unit subtree; audited.
    ///
    /// # Errors
    /// NOT_FOUND for an unknown person; FORBIDDEN outside the actor's scope; BAD_USER_INPUT
    /// for an unknown supervisor or the person themselves; INTERNAL on database failure.
    pub async fn set_supervisor(
        &self,
        actor: &Actor,
        person_id: Uuid,
        supervisor_id: Option<Uuid>,
    ) -> Result<SupervisorView, EvaluationError> {
        let now = self.clock.now();
        let txn = kernel::db::begin_write(&self.db).await?;
        let p = person::Entity::find_by_id(person_id)
            .one(&txn)
            .await?
            .ok_or(EvaluationError::NotFound("person"))?;
        identity::scope::require_unit(&txn, actor, p.unit_id).await?;
        let supervisor = match supervisor_id {
            Some(s) if s == person_id => {
                return Err(EvaluationError::invalid(
                    "supervisorId",
                    "a person cannot be their own supervisor",
                ));
            }
            Some(s) => Some(
                person::Entity::find_by_id(s)
                    .one(&txn)
                    .await?
                    .ok_or_else(|| EvaluationError::invalid("supervisorId", "no such person"))?,
            ),
            None => None,
        };
        match &supervisor {
            Some(s) => {
                supervisor::Entity::insert(supervisor::ActiveModel {
                    person_id: Set(person_id),
                    supervisor_id: Set(s.id),
                    set_by: Set(actor.person_id),
                    set_at: Set(now),
                })
                .on_conflict(
                    OnConflict::column(supervisor::Column::PersonId)
                        .update_columns([
                            supervisor::Column::SupervisorId,
                            supervisor::Column::SetBy,
                            supervisor::Column::SetAt,
                        ])
                        .to_owned(),
                )
                .exec_without_returning(&txn)
                .await?;
            }
            None => {
                supervisor::Entity::delete_by_id(person_id)
                    .exec(&txn)
                    .await?;
            }
        }
        identity::audit::record(
            &txn,
            actor,
            now,
            "evaluation.set_supervisor",
            "person",
            person_id,
            serde_json::json!({"supervisorId": supervisor.as_ref().map(|s| s.id.to_string())}),
        )
        .await?;
        txn.commit().await?;
        Ok(SupervisorView {
            person_id,
            supervisor,
        })
    }

    /// The supervisor of `person_id`: the person themselves, admins, and unit admins in scope.
    ///
    /// # Errors
    /// NOT_FOUND for an unknown person; FORBIDDEN otherwise; INTERNAL on database failure.
    pub async fn supervisor(
        &self,
        actor: &Actor,
        person_id: Uuid,
    ) -> Result<SupervisorView, EvaluationError> {
        let p = person::Entity::find_by_id(person_id)
            .one(&self.db)
            .await?
            .ok_or(EvaluationError::NotFound("person"))?;
        if !actor.is_person(person_id) {
            identity::scope::require_unit(&self.db, actor, p.unit_id).await?;
        }
        let supervisor = match supervisor_of(&self.db, person_id).await? {
            Some(s) => person::Entity::find_by_id(s).one(&self.db).await?,
            None => None,
        };
        Ok(SupervisorView {
            person_id,
            supervisor,
        })
    }

    /// Closes an open follow-up request without an answer. Admins only; audited.
    ///
    /// # Errors
    /// FORBIDDEN for non-admins; NOT_FOUND; CONFLICT when it is not open; INTERNAL on database
    /// failure.
    pub async fn close_follow_up(
        &self,
        actor: &Actor,
        id: Uuid,
    ) -> Result<follow_up_request::Model, EvaluationError> {
        if !actor.is_admin() {
            return Err(EvaluationError::Forbidden);
        }
        let now = self.clock.now();
        let txn = kernel::db::begin_write(&self.db).await?;
        let r = follow_up_request::Entity::find_by_id(id)
            .one(&txn)
            .await?
            .ok_or(EvaluationError::NotFound("follow-up request"))?;
        if r.state != STATE_OPEN {
            return Err(EvaluationError::conflict(format!(
                "the follow-up request is {}, not open",
                r.state
            )));
        }
        follow_up_request::Entity::update_many()
            .col_expr(follow_up_request::Column::State, Expr::value(STATE_CLOSED))
            .col_expr(follow_up_request::Column::ClosedAt, Expr::value(now))
            .col_expr(
                follow_up_request::Column::ClosedBy,
                Expr::value(actor.person_id),
            )
            .col_expr(follow_up_request::Column::CloseReason, Expr::value("admin"))
            .col_expr(
                follow_up_request::Column::NextReminderAt,
                Expr::value(Option::<DateTime<Utc>>::None),
            )
            .filter(follow_up_request::Column::Id.eq(id))
            .exec(&txn)
            .await?;
        identity::audit::record(
            &txn,
            actor,
            now,
            "evaluation.close_follow_up",
            "follow_up_request",
            id,
            serde_json::json!({"enrollmentId": r.enrollment_id.to_string(), "audience": r.audience}),
        )
        .await?;
        let out = follow_up_request::Entity::find_by_id(id)
            .one(&txn)
            .await?
            .ok_or(EvaluationError::NotFound("follow-up request"))?;
        txn.commit().await?;
        Ok(out)
    }

    /// A course's follow-up requests, oldest first, optionally in one state. Admins only (the
    /// list names who has not answered).
    ///
    /// # Errors
    /// FORBIDDEN for non-admins; BAD_USER_INPUT for a bad cursor; INTERNAL on database failure.
    pub async fn follow_up_requests(
        &self,
        actor: &Actor,
        course_id: Uuid,
        state: Option<&str>,
        page: Page,
    ) -> Result<RequestPage, EvaluationError> {
        if !actor.is_admin() {
            return Err(EvaluationError::Forbidden);
        }
        let mut q = follow_up_request::Entity::find()
            .filter(follow_up_request::Column::CourseId.eq(course_id));
        if let Some(s) = state {
            q = q.filter(follow_up_request::Column::State.eq(s));
        }
        if let Some(after) = &page.after {
            let after = Uuid::parse_str(after)
                .map_err(|_| EvaluationError::invalid("after", "invalid cursor"))?;
            q = q.filter(follow_up_request::Column::Id.gt(after));
        }
        let mut rows = q
            .order_by_asc(follow_up_request::Column::Id)
            .limit(page.fetch())
            .all(&self.db)
            .await?;
        let has_next_page = page.cut(&mut rows);
        let ids: BTreeSet<Uuid> = rows
            .iter()
            .flat_map(|r| [r.person_id, r.learner_id])
            .collect();
        let names: HashMap<Uuid, String> = person::Entity::find()
            .filter(person::Column::Id.is_in(ids))
            .all(&self.db)
            .await?
            .into_iter()
            .map(|p| (p.id, p.name))
            .collect();
        let name = |id: Uuid| names.get(&id).cloned().unwrap_or_default();
        Ok(RequestPage {
            rows: rows
                .into_iter()
                .map(|r| {
                    let (asked, learner) = (name(r.person_id), name(r.learner_id));
                    (encode_cursor(&r.id.to_string()), r, asked, learner)
                })
                .collect(),
            has_next_page,
        })
    }
}
