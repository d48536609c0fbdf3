//! Completion: when a lesson's rule first held, the enrollment's denormalised progress, course
//! completion at the moment of the completing event, and the JP credit written exactly once.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use enrollment::entity::enrollment as enrollment_entity;
use kernel::Actor;
use sea_orm::sea_query::Expr;
use sea_orm::{
    ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, Set, TryInsertResult,
};
use uuid::Uuid;

use crate::entity::{jp_ledger, lesson_progress, progress_event};
use crate::error::ProgressError;
use crate::plan::{self, CoursePlan};
use crate::rules::{Effect, LessonRule, LessonState};
use crate::{Progress, jp};

/// Reads the merged state stored in a `lesson_progress` row.
///
/// # Errors
/// INTERNAL when its JSON columns cannot be read.
pub fn state_of(row: &lesson_progress::Model) -> Result<LessonState, ProgressError> {
    let intervals: Vec<(f64, f64)> = serde_json::from_str(&row.watched_intervals)
        .map_err(|e| ProgressError::Internal(format!("watched_intervals of {}: {e}", row.id)))?;
    let pages: Vec<i32> = serde_json::from_str(&row.pages_viewed)
        .map_err(|e| ProgressError::Internal(format!("pages_viewed of {}: {e}", row.id)))?;
    Ok(LessonState {
        intervals,
        pages,
        opened: row.opened,
        position: row.position_at.zip(row.position_seconds),
    })
}

/// The JSON columns of a state: (watched_intervals, pages_viewed).
pub fn columns_of(state: &LessonState) -> (String, String) {
    (
        serde_json::to_string(&state.intervals).unwrap_or_else(|_| "[]".into()),
        serde_json::to_string(&state.pages).unwrap_or_else(|_| "[]".into()),
    )
}

/// The effect of a stored event, as the rules see it; `None` for one that changes no state.
pub fn effect_of(e: &progress_event::Model) -> Option<Effect> {
    match e.kind.as_str() {
        "played" => Some(Effect::Played {
            from: e.from_seconds?,
            to: e.to_seconds?,
        }),
        "position" => e.position_seconds.map(Effect::Position),
        "page_viewed" => e.page.map(Effect::PageViewed),
        // Only text lessons accept a mark; for them it is the same as opening.
        "opened" | "marked_done" => Some(Effect::Opened),
        _ => None,
    }
}

/// The first instant the rule held over every stored event of one lesson of one enrollment,
/// replayed in the order they happened (not the order they arrived).
///
/// # Errors
/// INTERNAL on database failure.
pub async fn replayed_completion(
    conn: &impl ConnectionTrait,
    enrollment_id: Uuid,
    lesson_id: Uuid,
    rule: &LessonRule,
) -> Result<Option<DateTime<Utc>>, ProgressError> {
    let events = progress_event::Entity::find()
        .filter(progress_event::Column::EnrollmentId.eq(enrollment_id))
        .filter(progress_event::Column::LessonId.eq(lesson_id))
        .order_by_asc(progress_event::Column::OccurredAt)
        .all(conn)
        .await?;
    let effects: Vec<(DateTime<Utc>, Uuid, Effect)> = events
        .iter()
        .filter_map(|e| effect_of(e).map(|x| (e.occurred_at, e.client_event_id, x)))
        .collect();
    Ok(crate::rules::completion_time(rule, &effects))
}

/// What [`refresh_enrollment`] did.
#[derive(Debug, Clone)]
pub struct Refreshed {
    /// The enrollment after the update.
    pub enrollment: enrollment_entity::Model,
    /// Whether it completed just now.
    pub completed_now: bool,
}

/// One enrollment to refresh: its course plan, every lesson row it has, and the latest event
/// time just applied (`activity`).
#[derive(Debug, Clone, Copy)]
pub struct Refresh<'a> {
    /// The enrollment as read in this transaction.
    pub enrollment: &'a enrollment_entity::Model,
    /// Its course's plan.
    pub plan: &'a CoursePlan,
    /// All its lesson rows.
    pub rows: &'a [lesson_progress::Model],
    /// The latest event time just applied.
    pub activity: Option<DateTime<Utc>>,
}

/// Recomputes an enrollment's denormalised progress from its lesson rows (all of them), and
/// completes it, crediting JP, when every required lesson is complete. `activity` is the latest
/// event time just applied. Never revokes a completion.
///
/// # Errors
/// INTERNAL on database failure.
pub async fn refresh_enrollment(
    conn: &impl ConnectionTrait,
    enrollment: &enrollment_entity::Model,
    plan: &CoursePlan,
    rows: &[lesson_progress::Model],
    activity: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> Result<Refreshed, ProgressError> {
    let item = Refresh {
        enrollment,
        plan,
        rows,
        activity,
    };
    refresh_enrollments(conn, &[item], now)
        .await?
        .into_iter()
        .next()
        .ok_or_else(|| ProgressError::Internal("an enrollment was refreshed into nothing".into()))
}

/// [`refresh_enrollment`] for several enrollments: their progress columns are written
/// [`kernel::db::ROWS_PER_CASE_UPDATE`] enrollments per UPDATE; each completion is its own
/// conditional UPDATE and JP credit. Results are in the order of `items`.
///
/// # Errors
/// INTERNAL on database failure.
pub async fn refresh_enrollments(
    conn: &impl ConnectionTrait,
    items: &[Refresh<'_>],
    now: DateTime<Utc>,
) -> Result<Vec<Refreshed>, ProgressError> {
    use enrollment_entity::Column as C;
    let figures: Vec<(enrollment_entity::Model, Option<DateTime<Utc>>)> =
        items.iter().map(|item| progress_of(item, now)).collect();
    for chunk in figures.chunks(kernel::db::ROWS_PER_CASE_UPDATE) {
        let each = |column: C, value: fn(&enrollment_entity::Model) -> sea_orm::Value| {
            kernel::db::value_by_id(C::Id, column, chunk.iter().map(|(m, _)| (m.id, value(m))))
        };
        enrollment_entity::Entity::update_many()
            .col_expr(
                C::ProgressPercent,
                each(C::ProgressPercent, |m| m.progress_percent.into()),
            )
            .col_expr(
                C::RequiredDone,
                each(C::RequiredDone, |m| m.required_done.into()),
            )
            .col_expr(
                C::RequiredTotal,
                each(C::RequiredTotal, |m| m.required_total.into()),
            )
            .col_expr(
                C::NextLessonId,
                each(C::NextLessonId, |m| m.next_lesson_id.into()),
            )
            .col_expr(
                C::LastActivityAt,
                each(C::LastActivityAt, |m| m.last_activity_at.into()),
            )
            .col_expr(C::UpdatedAt, Expr::value(now))
            .filter(C::Id.is_in(chunk.iter().map(|(m, _)| m.id)))
            .exec(conn)
            .await?;
    }
    let mut out = Vec::with_capacity(figures.len());
    for ((mut updated, completes_at), item) in figures.into_iter().zip(items) {
        let mut completed_now = false;
        if let Some(at) = completes_at
            && enrollment::mark_completed(conn, updated.id, at).await?
        {
            completed_now = true;
            updated.state = enrollment::state::COMPLETED.to_owned();
            updated.completed_at = Some(at);
            credit_course(conn, &updated, item.plan, at, now).await?;
        }
        out.push(Refreshed {
            enrollment: updated,
            completed_now,
        });
    }
    Ok(out)
}

/// An enrollment with its progress columns recomputed from its lesson rows, and the time it
/// completes at when every required lesson is done and it is still active.
fn progress_of(
    item: &Refresh<'_>,
    now: DateTime<Utc>,
) -> (enrollment_entity::Model, Option<DateTime<Utc>>) {
    let done: HashMap<Uuid, DateTime<Utc>> = item
        .rows
        .iter()
        .filter_map(|r| r.completed_at.map(|at| (r.lesson_id, at)))
        .collect();
    let required = item.plan.required();
    let required_done = required.iter().filter(|id| done.contains_key(id)).count();
    let total = required.len();
    let percent = if total == 0 {
        0.0
    } else {
        // Rounded to a tenth so a roster shows 33.3, not 33.33333333333333.
        ((required_done as f64 / total as f64) * 1000.0).round() / 10.0
    };
    let count = |n: usize| i32::try_from(n).unwrap_or(i32::MAX);
    let mut updated = item.enrollment.clone();
    updated.progress_percent = percent;
    updated.required_done = count(required_done);
    updated.required_total = count(total);
    updated.next_lesson_id = item
        .plan
        .order
        .iter()
        .copied()
        .find(|id| !done.contains_key(id));
    updated.last_activity_at = match (item.enrollment.last_activity_at, item.activity) {
        (Some(a), Some(b)) => Some(a.max(b)),
        (a, b) => a.or(b),
    };
    updated.updated_at = now;
    // The course completes when its last required lesson did: the time of that event.
    let completes_at =
        (total > 0 && required_done == total && item.enrollment.state == enrollment::state::ACTIVE)
            .then(|| {
                required
                    .iter()
                    .filter_map(|id| done.get(id).copied())
                    .max()
                    .unwrap_or(now)
            });
    (updated, completes_at)
}

/// Writes the course's JP for a completed enrollment, once: the unique index on
/// `enrollment_id` turns a second credit (a race, a retry) into nothing.
async fn credit_course(
    conn: &impl ConnectionTrait,
    enrollment: &enrollment_entity::Model,
    plan: &CoursePlan,
    at: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<(), ProgressError> {
    let course = &plan.course;
    // JP counts only once an admin approved the course's credit.
    if course.jp_approved_at.is_none() || course.jp_credit <= 0 {
        return Ok(());
    }
    let row = jp_ledger::ActiveModel {
        id: Set(kernel::new_id()),
        person_id: Set(enrollment.person_id),
        year: Set(kernel::time::wib_year(at)),
        course_id: Set(Some(course.id)),
        enrollment_id: Set(Some(enrollment.id)),
        jp: Set(course.jp_credit),
        source: Set(jp::SOURCE_COURSE.to_owned()),
        description: Set(course.title.chars().take(500).collect()),
        earned_at: Set(at),
        recorded_by: Set(None),
        created_at: Set(now),
    };
    // ON CONFLICT DO NOTHING rather than catching the error afterwards: on PostgreSQL a failed
    // statement would abort the whole sync transaction.
    let res = jp_ledger::Entity::insert(row)
        .on_conflict_do_nothing_on([jp_ledger::Column::EnrollmentId])
        .exec_without_returning(conn)
        .await;
    match res {
        Ok(TryInsertResult::Inserted(_) | TryInsertResult::Conflicted | TryInsertResult::Empty) => {
            Ok(())
        }
        Err(e) if kernel::db::is_unique_violation(&e) => Ok(()),
        Err(e) => Err(e.into()),
    }
}

/// A lesson row with nothing recorded yet.
pub fn blank_row(
    enrollment_id: Uuid,
    lesson_id: Uuid,
    person_id: Uuid,
    now: DateTime<Utc>,
) -> lesson_progress::ActiveModel {
    lesson_progress::ActiveModel {
        id: Set(kernel::new_id()),
        enrollment_id: Set(enrollment_id),
        lesson_id: Set(lesson_id),
        person_id: Set(person_id),
        watched_intervals: Set("[]".into()),
        watched_seconds: Set(0.0),
        pages_viewed: Set("[]".into()),
        opened: Set(false),
        position_seconds: Set(None),
        position_at: Set(None),
        completed_at: Set(None),
        last_event_at: Set(None),
        updated_at: Set(now),
    }
}

/// Inserts the rows whose (enrollment, lesson) has none yet; the unique index turns the others,
/// and a concurrent writer's same row, into nothing.
///
/// # Errors
/// INTERNAL on database failure.
pub async fn insert_missing_rows(
    conn: &impl ConnectionTrait,
    rows: Vec<lesson_progress::ActiveModel>,
) -> Result<(), ProgressError> {
    if rows.is_empty() {
        return Ok(());
    }
    lesson_progress::Entity::insert_many(rows)
        .on_conflict(
            sea_orm::sea_query::OnConflict::columns([
                lesson_progress::Column::EnrollmentId,
                lesson_progress::Column::LessonId,
            ])
            .do_nothing()
            .to_owned(),
        )
        .exec_without_returning(conn)
        .await?;
    Ok(())
}

/// Completes lesson `lesson_id` of enrollment `enrollment_id` at `at`, for lessons that progress
/// events never complete (quizzes, surveys): the quiz and evaluation crates call it in their own
/// transaction once they have authorised. Idempotent; a completion only moves earlier. Then
/// refreshes the enrollment, which may complete the course and credit its JP.
///
/// # Errors
/// NOT_FOUND when the enrollment or its course plan is gone; INTERNAL on database failure.
pub async fn complete_lesson(
    conn: &impl ConnectionTrait,
    enrollment_id: Uuid,
    lesson_id: Uuid,
    at: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<Refreshed, ProgressError> {
    let enrollment = enrollment_entity::Entity::find_by_id(enrollment_id)
        .one(conn)
        .await?
        .ok_or(ProgressError::NotFound("enrollment"))?;
    let mut row = blank_row(enrollment_id, lesson_id, enrollment.person_id, now);
    row.opened = Set(true);
    row.completed_at = Set(Some(at));
    insert_missing_rows(conn, vec![row]).await?;
    lesson_progress::Entity::update_many()
        .col_expr(lesson_progress::Column::CompletedAt, Expr::value(at))
        .col_expr(lesson_progress::Column::Opened, Expr::value(true))
        .col_expr(lesson_progress::Column::UpdatedAt, Expr::value(now))
        .filter(lesson_progress::Column::EnrollmentId.eq(enrollment_id))
        .filter(lesson_progress::Column::LessonId.eq(lesson_id))
        .filter(
            sea_orm::Condition::any()
                .add(lesson_progress::Column::CompletedAt.is_null())
                .add(lesson_progress::Column::CompletedAt.gt(at)),
        )
        .exec(conn)
        .await?;
    let plans = plan::load(conn, &[enrollment.course_id]).await?;
    let plan = plans
        .get(&enrollment.course_id)
        .ok_or(ProgressError::NotFound("course"))?;
    let rows = lesson_progress::Entity::find()
        .filter(lesson_progress::Column::EnrollmentId.eq(enrollment_id))
        .all(conn)
        .await?;
    refresh_enrollment(conn, &enrollment, plan, &rows, Some(at), now).await
}

/// The outcome of [`Progress::recompute_completions`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Recomputed {
    /// Enrollments looked at (active or completed).
    pub enrollments: usize,
    /// Lessons that newly count as complete.
    pub lessons_completed: usize,
    /// Enrollments completed by this run.
    pub enrollments_completed: usize,
}

/// Lesson rows read per query: keeps the parameter count far below SQLite's limit.
const CHUNK: usize = 500;

impl Progress {
    /// Re-evaluates every enrollment of `course_id` under its current completion rules: lessons
    /// and enrollments that now satisfy them complete (at the time their rule first held);
    /// nothing is ever revoked. Admins only; audited.
    ///
    /// # Errors
    /// FORBIDDEN for non-admins; NOT_FOUND for an unknown course; INTERNAL on database failure.
    pub async fn recompute_completions(
        &self,
        actor: &Actor,
        course_id: Uuid,
    ) -> Result<Recomputed, ProgressError> {
        if !actor.is_admin() {
            return Err(ProgressError::Forbidden);
        }
        let now = self.clock.now();
        let txn = kernel::db::begin_write(&self.db).await?;
        let out = recompute(&txn, course_id, now).await?;
        identity::audit::record(
            &txn,
            actor,
            now,
            "progress.recompute_completions",
            "course",
            course_id,
            serde_json::json!({
                "enrollments": out.enrollments,
                "lessonsCompleted": out.lessons_completed,
                "enrollmentsCompleted": out.enrollments_completed,
            }),
        )
        .await?;
        txn.commit().await?;
        Ok(out)
    }

    /// [`Progress::recompute_completions`] run by the platform after an edit changed the plan
    /// of `course_id` ([`course::structure::PLAN_CHANGED_JOB`]): the edit is the audited act.
    ///
    /// # Errors
    /// NOT_FOUND for an unknown course; INTERNAL on database failure.
    pub async fn follow_plan_change(&self, course_id: Uuid) -> Result<Recomputed, ProgressError> {
        let txn = kernel::db::begin_write(&self.db).await?;
        let out = recompute(&txn, course_id, self.clock.now()).await?;
        txn.commit().await?;
        Ok(out)
    }
}

/// Re-evaluates every active or completed enrollment of `course_id` under the course's current
/// plan: lesson rows whose rule now holds complete at the time it first held, each enrollment's
/// figures are recomputed, and those whose required lessons are now all complete complete.
///
/// Runs beside the sync writers without locking their rows: a sync committing meanwhile may
/// leave an enrollment's figures one sync behind until its next sync (a completion is never
/// lost: it is only ever added, and every sync recomputes the figures).
async fn recompute(
    txn: &sea_orm::DatabaseTransaction,
    course_id: Uuid,
    now: DateTime<Utc>,
) -> Result<Recomputed, ProgressError> {
    let plans = plan::load(txn, &[course_id]).await?;
    let plan = plans
        .get(&course_id)
        .ok_or(ProgressError::NotFound("course"))?;
    let enrollments = enrollment_entity::Entity::find()
        .filter(enrollment_entity::Column::CourseId.eq(course_id))
        .filter(
            enrollment_entity::Column::State
                .is_in([enrollment::state::ACTIVE, enrollment::state::COMPLETED]),
        )
        .all(txn)
        .await?;
    let mut rows_by: HashMap<Uuid, Vec<lesson_progress::Model>> = HashMap::new();
    for chunk in enrollments.chunks(CHUNK) {
        let rows = lesson_progress::Entity::find()
            .filter(lesson_progress::Column::EnrollmentId.is_in(chunk.iter().map(|e| e.id)))
            .all(txn)
            .await?;
        for r in rows {
            rows_by.entry(r.enrollment_id).or_default().push(r);
        }
    }
    let mut out = Recomputed {
        enrollments: enrollments.len(),
        ..Recomputed::default()
    };
    for e in &enrollments {
        let rows = rows_by.entry(e.id).or_default();
        for row in rows.iter_mut().filter(|r| r.completed_at.is_none()) {
            let Some(lesson) = plan.lessons.get(&row.lesson_id) else {
                continue;
            };
            if !state_of(row)?.satisfies(&lesson.rule) {
                continue;
            }
            let at = replayed_completion(txn, e.id, row.lesson_id, &lesson.rule)
                .await?
                .unwrap_or(row.updated_at);
            lesson_progress::Entity::update_many()
                .col_expr(lesson_progress::Column::CompletedAt, Expr::value(at))
                .col_expr(lesson_progress::Column::UpdatedAt, Expr::value(now))
                .filter(lesson_progress::Column::Id.eq(row.id))
                .exec(txn)
                .await?;
            row.completed_at = Some(at);
            out.lessons_completed += 1;
        }
    }
    for chunk in enrollments.chunks(CHUNK) {
        let items: Vec<Refresh<'_>> = chunk
            .iter()
            .map(|e| Refresh {
                enrollment: e,
                plan,
                rows: rows_by.get(&e.id).map_or(&[][..], Vec::as_slice),
                activity: None,
            })
            .collect();
        out.enrollments_completed += refresh_enrollments(txn, &items, now)
            .await?
            .iter()
            .filter(|r| r.completed_now)
            .count();
    }
    Ok(out)
}

/// Runs [`course::structure::PLAN_CHANGED_JOB`].
pub(crate) struct FollowPlanChange(pub(crate) Progress);

#[async_trait::async_trait]
impl jobs::JobHandler for FollowPlanChange {
    fn kind(&self) -> &'static str {
        course::structure::PLAN_CHANGED_JOB
    }

    async fn run(&self, payload: serde_json::Value) -> Result<(), jobs::HandlerError> {
        let course_id = payload
            .get("courseId")
            .and_then(serde_json::Value::as_str)
            .and_then(|s| Uuid::parse_str(s).ok())
            .ok_or("the job payload has no valid `courseId`")?;
        let out = self.0.follow_plan_change(course_id).await?;
        tracing::info!(
            %course_id,
            enrollments = out.enrollments,
            lessons_completed = out.lessons_completed,
            enrollments_completed = out.enrollments_completed,
            "enrollments follow the course's changed plan"
        );
        Ok(())
    }
}
