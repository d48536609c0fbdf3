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
    let done: HashMap<Uuid, DateTime<Utc>> = rows
        .iter()
        .filter_map(|r| r.completed_at.map(|at| (r.lesson_id, at)))
        .collect();
    let required = plan.required();
    let required_done = required.iter().filter(|id| done.contains_key(id)).count();
    let total = required.len();
    let percent = if total == 0 {
        0.0
    } else {
        // Rounded to a tenth so a roster shows 33.3, not 33.33333333333333.
        ((required_done as f64 / total as f64) * 1000.0).round() / 10.0
    };
    let next = plan.order.iter().copied().find(|id| !done.contains_key(id));
    let last_activity = match (enrollment.last_activity_at, activity) {
        (Some(a), Some(b)) => Some(a.max(b)),
        (a, b) => a.or(b),
    };
    let count = |n: usize| i32::try_from(n).unwrap_or(i32::MAX);
    enrollment_entity::Entity::update_many()
        .col_expr(
            enrollment_entity::Column::ProgressPercent,
            Expr::value(percent),
        )
        .col_expr(
            enrollment_entity::Column::RequiredDone,
            Expr::value(count(required_done)),
        )
        .col_expr(
            enrollment_entity::Column::RequiredTotal,
            Expr::value(count(total)),
        )
        .col_expr(enrollment_entity::Column::NextLessonId, Expr::value(next))
        .col_expr(
            enrollment_entity::Column::LastActivityAt,
            Expr::value(last_activity),
        )
        .col_expr(enrollment_entity::Column::UpdatedAt, Expr::value(now))
        .filter(enrollment_entity::Column::Id.eq(enrollment.id))
        .exec(conn)
        .await?;
    let mut updated = enrollment.clone();
    updated.progress_percent = percent;
    updated.required_done = count(required_done);
    updated.required_total = count(total);
    updated.next_lesson_id = next;
    updated.last_activity_at = last_activity;
    updated.updated_at = now;

    let mut completed_now = false;
    if total > 0 && required_done == total && enrollment.state == enrollment::state::ACTIVE {
        // The course completes when its last required lesson did: the time of that event.
        let at = required
            .iter()
            .filter_map(|id| done.get(id).copied())
            .max()
            .unwrap_or(now);
        if enrollment::mark_completed(conn, enrollment.id, at).await? {
            completed_now = true;
            updated.state = enrollment::state::COMPLETED.to_owned();
            updated.completed_at = Some(at);
            credit_course(conn, &updated, plan, at, now).await?;
        }
    }
    Ok(Refreshed {
        enrollment: updated,
        completed_now,
    })
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
    let row = lesson_progress::ActiveModel {
        id: Set(kernel::new_id()),
        enrollment_id: Set(enrollment_id),
        lesson_id: Set(lesson_id),
        person_id: Set(enrollment.person_id),
        watched_intervals: Set("[]".into()),
        watched_seconds: Set(0.0),
        pages_viewed: Set("[]".into()),
        opened: Set(true),
        position_seconds: Set(None),
        position_at: Set(None),
        completed_at: Set(Some(at)),
        updated_at: Set(now),
    };
    lesson_progress::Entity::insert(row)
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
        let plans = plan::load(&txn, &[course_id]).await?;
        let plan = plans
            .get(&course_id)
            .ok_or(ProgressError::NotFound("course"))?;
        let enrollments = enrollment_entity::Entity::find()
            .filter(enrollment_entity::Column::CourseId.eq(course_id))
            .filter(
                enrollment_entity::Column::State
                    .is_in([enrollment::state::ACTIVE, enrollment::state::COMPLETED]),
            )
            .all(&txn)
            .await?;
        let mut rows_by: HashMap<Uuid, Vec<lesson_progress::Model>> = HashMap::new();
        for chunk in enrollments.chunks(CHUNK) {
            let rows = lesson_progress::Entity::find()
                .filter(lesson_progress::Column::EnrollmentId.is_in(chunk.iter().map(|e| e.id)))
                .all(&txn)
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
                let at = replayed_completion(&txn, e.id, row.lesson_id, &lesson.rule)
                    .await?
                    .unwrap_or(row.updated_at);
                lesson_progress::Entity::update_many()
                    .col_expr(lesson_progress::Column::CompletedAt, Expr::value(at))
                    .col_expr(lesson_progress::Column::UpdatedAt, Expr::value(now))
                    .filter(lesson_progress::Column::Id.eq(row.id))
                    .exec(&txn)
                    .await?;
                row.completed_at = Some(at);
                out.lessons_completed += 1;
            }
            if refresh_enrollment(&txn, e, plan, rows, None, now)
                .await?
                .completed_now
            {
                out.enrollments_completed += 1;
            }
        }
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
}
