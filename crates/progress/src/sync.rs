//! Phone sync: a batch of up to [`MAX_BATCH`] progress events, each judged on its own,
//! ingested in one transaction with a fixed number of statements per lesson touched.
//!
//! Idempotent: an event already stored for the person (same client id) is reported accepted
//! and duplicate, and changes nothing. Order-independent: lesson state is a merge of events
//! ([`crate::rules`]), and a completion time is found by replaying the lesson's stored events in
//! the order they happened.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use chrono::{DateTime, Duration, SubsecRound, Utc};
use course::entity::lesson;
use course::structure::LessonKind;
use enrollment::entity::enrollment as enrollment_entity;
use kernel::Actor;
use sea_orm::sea_query::OnConflict;
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, QuerySelect, Set};
use uuid::Uuid;

use crate::Progress;
use crate::completion::{self, columns_of, refresh_enrollment, state_of};
use crate::entity::{lesson_progress, progress_event};
use crate::error::ProgressError;
use crate::plan::{self, CoursePlan};
use crate::rules::{DURATION_TOLERANCE_SECONDS, Effect, LessonRule, LessonState};

/// Most events in one sync call; a longer batch is refused whole.
pub const MAX_BATCH: usize = 500;

/// How far in the future an event may claim to have happened: phone clocks drift.
pub fn clock_skew() -> Duration {
    Duration::minutes(5)
}

/// What a phone reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, async_graphql::Enum)]
pub enum EventKind {
    /// A segment `fromSeconds`–`toSeconds` actually played.
    Played,
    /// The player's position `positionSeconds`.
    Position,
    /// Page `page` of a document seen.
    PageViewed,
    /// The lesson opened.
    Opened,
    /// The learner marked the lesson done (text lessons only).
    MarkedDone,
}

impl EventKind {
    fn as_str(self) -> &'static str {
        match self {
            EventKind::Played => "played",
            EventKind::Position => "position",
            EventKind::PageViewed => "page_viewed",
            EventKind::Opened => "opened",
            EventKind::MarkedDone => "marked_done",
        }
    }
}

/// One event of a batch.
#[derive(Debug, Clone, PartialEq)]
pub struct ProgressEvent {
    /// The phone's id for it (UUID), unique per person: a replay carries the same id.
    pub client_event_id: Uuid,
    /// The lesson.
    pub lesson_id: Uuid,
    /// What happened.
    pub kind: EventKind,
    /// Start of a played segment (PLAYED).
    pub from_seconds: Option<f64>,
    /// End of a played segment (PLAYED).
    pub to_seconds: Option<f64>,
    /// The position (POSITION).
    pub position_seconds: Option<f64>,
    /// The page, from 1 (PAGE_VIEWED).
    pub page: Option<i32>,
    /// When it happened on the phone.
    pub occurred_at: DateTime<Utc>,
}

/// Why one event was refused; the rest of the batch is unaffected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, async_graphql::Enum)]
pub enum RejectReason {
    /// The learner has no active or completed enrollment in the lesson's course.
    NotEnrolled,
    /// No such lesson.
    UnknownLesson,
    /// `occurredAt` lies more than five minutes in the future.
    FutureTime,
    /// A played segment is negative, inverted, empty or beyond the media's end.
    SegmentOutOfRange,
    /// A position is negative or beyond the media's end.
    PositionOutOfRange,
    /// A page below 1 or beyond the document's pages.
    BadPage,
    /// The same client id appeared earlier in this batch.
    DuplicateInBatch,
    /// A field the kind needs is missing (`fromSeconds`/`toSeconds`, `positionSeconds`, `page`).
    MissingField,
    /// The kind does not fit the lesson (a page of a video, a played segment of a document).
    WrongLessonKind,
    /// MARKED_DONE on a video or document: those complete only by watching or reading.
    ManualCompletionNotAllowed,
}

/// The verdict on one event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EventOutcome {
    /// The phone's id for it.
    pub client_event_id: Uuid,
    /// Why it was refused; `None` when accepted.
    pub rejected: Option<RejectReason>,
    /// Accepted earlier already: changed nothing now.
    pub duplicate: bool,
}

/// A learner's state in one lesson, for the phone to reconcile with.
#[derive(Debug, Clone, PartialEq)]
pub struct LessonProgressView {
    /// The enrollment.
    pub enrollment_id: Uuid,
    /// The lesson.
    pub lesson_id: Uuid,
    /// Its kind.
    pub kind: LessonKind,
    /// Seconds actually played (union of segments, within the media's length).
    pub watched_seconds: f64,
    /// Share watched or read, in [0, 1]; absent for text or unmeasured media.
    pub share: Option<f64>,
    /// Distinct pages viewed.
    pub pages_viewed: Vec<i32>,
    /// Where to resume: seconds (video) or page (document).
    pub resume_position: Option<f64>,
    /// When the resume point was reported.
    pub resume_at: Option<DateTime<Utc>>,
    /// When the lesson completed.
    pub completed_at: Option<DateTime<Utc>>,
}

impl LessonProgressView {
    /// The view of a stored row under `rule`.
    ///
    /// # Errors
    /// INTERNAL when the row's JSON cannot be read.
    pub fn of(row: &lesson_progress::Model, rule: &LessonRule) -> Result<Self, ProgressError> {
        let state = state_of(row)?;
        Ok(LessonProgressView {
            enrollment_id: row.enrollment_id,
            lesson_id: row.lesson_id,
            kind: rule.kind,
            watched_seconds: row.watched_seconds,
            share: state.share(rule),
            pages_viewed: state.pages,
            resume_position: row.position_seconds,
            resume_at: row.position_at,
            completed_at: row.completed_at,
        })
    }
}

/// The answer to a sync.
#[derive(Debug, Clone)]
pub struct SyncResult {
    /// One verdict per event, in input order.
    pub outcomes: Vec<EventOutcome>,
    /// The state of every lesson an accepted event touched.
    pub lessons: Vec<LessonProgressView>,
    /// The enrollments touched, with their progress after the batch.
    pub enrollments: Vec<enrollment_entity::Model>,
}

/// Checks what an event can be checked for without the database.
fn check_alone(e: &ProgressEvent, now: DateTime<Utc>) -> Result<(), RejectReason> {
    if e.occurred_at > now + clock_skew() {
        return Err(RejectReason::FutureTime);
    }
    match e.kind {
        EventKind::Played => {
            let (Some(a), Some(b)) = (e.from_seconds, e.to_seconds) else {
                return Err(RejectReason::MissingField);
            };
            if !a.is_finite() || !b.is_finite() || a < 0.0 || b <= a {
                return Err(RejectReason::SegmentOutOfRange);
            }
        }
        EventKind::Position => {
            let Some(p) = e.position_seconds else {
                return Err(RejectReason::MissingField);
            };
            if !p.is_finite() || p < 0.0 {
                return Err(RejectReason::PositionOutOfRange);
            }
        }
        EventKind::PageViewed => match e.page {
            None => return Err(RejectReason::MissingField),
            Some(p) if p < 1 => return Err(RejectReason::BadPage),
            Some(_) => {}
        },
        EventKind::Opened | EventKind::MarkedDone => {}
    }
    Ok(())
}

/// Checks an event against its lesson; gives its effect.
fn check_against(e: &ProgressEvent, rule: &LessonRule) -> Result<Effect, RejectReason> {
    let limit = rule
        .duration_seconds
        .map_or(f64::INFINITY, |d| d + DURATION_TOLERANCE_SECONDS);
    match (e.kind, rule.kind) {
        (EventKind::Played, LessonKind::Video) => {
            let (from, to) = (e.from_seconds.unwrap_or(0.0), e.to_seconds.unwrap_or(0.0));
            if to > limit {
                return Err(RejectReason::SegmentOutOfRange);
            }
            Ok(Effect::Played { from, to })
        }
        (EventKind::Position, LessonKind::Video) => {
            let p = e.position_seconds.unwrap_or(0.0);
            if p > limit {
                return Err(RejectReason::PositionOutOfRange);
            }
            Ok(Effect::Position(p))
        }
        (EventKind::PageViewed, LessonKind::Document) => {
            let p = e.page.unwrap_or(0);
            if rule.page_count.is_some_and(|n| p > n) {
                return Err(RejectReason::BadPage);
            }
            Ok(Effect::PageViewed(p))
        }
        (EventKind::Opened, _) | (EventKind::MarkedDone, LessonKind::Text) => Ok(Effect::Opened),
        (EventKind::MarkedDone, _) => Err(RejectReason::ManualCompletionNotAllowed),
        (EventKind::Played | EventKind::Position | EventKind::PageViewed, _) => {
            Err(RejectReason::WrongLessonKind)
        }
    }
}

/// New effects per (enrollment, lesson), with the time each happened.
type FreshEffects = BTreeMap<(Uuid, Uuid), Vec<(DateTime<Utc>, Effect)>>;

/// An event that passed every check, waiting to be stored.
struct Candidate {
    index: usize,
    enrollment_id: Uuid,
    effect: Effect,
}

impl Progress {
    /// Ingests a phone's batch of progress events for the signed-in learner.
    ///
    /// # Errors
    /// UNAUTHENTICATED without a person; BAD_USER_INPUT for more than [`MAX_BATCH`] events;
    /// INTERNAL on database failure. A bad event is not an error: it is rejected on its own.
    pub async fn sync(
        &self,
        actor: &Actor,
        events: Vec<ProgressEvent>,
    ) -> Result<SyncResult, ProgressError> {
        let person_id = actor.person_id.ok_or(ProgressError::Unauthenticated)?;
        if events.len() > MAX_BATCH {
            return Err(ProgressError::invalid(
                "events",
                format!(
                    "a sync carries at most {MAX_BATCH} events, not {}; send the rest in another call",
                    events.len()
                ),
            ));
        }
        let now = self.clock.now();
        // PostgreSQL keeps microseconds: compare and store what it will give back, so a replay
        // and a reply agree with the stored rows on both databases.
        let events: Vec<ProgressEvent> = events
            .into_iter()
            .map(|e| ProgressEvent {
                occurred_at: e.occurred_at.trunc_subsecs(6),
                ..e
            })
            .collect();
        let mut outcomes: Vec<EventOutcome> = events
            .iter()
            .map(|e| EventOutcome {
                client_event_id: e.client_event_id,
                rejected: None,
                duplicate: false,
            })
            .collect();
        let mut seen = HashSet::new();
        for (e, o) in events.iter().zip(outcomes.iter_mut()) {
            if !seen.insert(e.client_event_id) {
                o.rejected = Some(RejectReason::DuplicateInBatch);
            } else if let Err(r) = check_alone(e, now) {
                o.rejected = Some(r);
            }
        }

        let txn = kernel::db::begin_write(&self.db).await?;
        let lesson_ids: BTreeSet<Uuid> = events
            .iter()
            .zip(&outcomes)
            .filter(|(_, o)| o.rejected.is_none())
            .map(|(e, _)| e.lesson_id)
            .collect();
        let lesson_course: HashMap<Uuid, Uuid> = if lesson_ids.is_empty() {
            HashMap::new()
        } else {
            lesson::Entity::find()
                .select_only()
                .column(lesson::Column::Id)
                .column(lesson::Column::CourseId)
                .filter(lesson::Column::Id.is_in(lesson_ids.iter().copied()))
                .into_tuple::<(Uuid, Uuid)>()
                .all(&txn)
                .await?
                .into_iter()
                .collect()
        };
        let course_ids: Vec<Uuid> = lesson_course
            .values()
            .copied()
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        let mut enrollments: HashMap<Uuid, enrollment_entity::Model> = HashMap::new();
        for c in &course_ids {
            if let Some(e) = enrollment::find_takeable(&txn, person_id, *c).await? {
                enrollments.insert(*c, e);
            }
        }
        let plans = plan::load(&txn, &course_ids).await?;

        let mut candidates = Vec::new();
        for (i, e) in events.iter().enumerate() {
            if outcomes[i].rejected.is_some() {
                continue;
            }
            let verdict = match lesson_course.get(&e.lesson_id) {
                None => Err(RejectReason::UnknownLesson),
                Some(course_id) => match (
                    enrollments.get(course_id),
                    plans
                        .get(course_id)
                        .and_then(|p| p.lessons.get(&e.lesson_id)),
                ) {
                    (None, _) => Err(RejectReason::NotEnrolled),
                    (_, None) => Err(RejectReason::UnknownLesson),
                    (Some(en), Some(l)) => check_against(e, &l.rule).map(|effect| Candidate {
                        index: i,
                        enrollment_id: en.id,
                        effect,
                    }),
                },
            };
            match verdict {
                Ok(c) => candidates.push(c),
                Err(r) => outcomes[i].rejected = Some(r),
            }
        }

        // Store first: the unique (person, client id) index decides, even against a
        // concurrent sync of the same batch, which events are new; only those are applied.
        let rows: Vec<progress_event::ActiveModel> = candidates
            .iter()
            .map(|c| {
                let e = &events[c.index];
                progress_event::ActiveModel {
                    id: Set(kernel::new_id()),
                    client_event_id: Set(e.client_event_id),
                    person_id: Set(person_id),
                    enrollment_id: Set(c.enrollment_id),
                    lesson_id: Set(e.lesson_id),
                    kind: Set(e.kind.as_str().to_owned()),
                    from_seconds: Set(e.from_seconds.filter(|_| e.kind == EventKind::Played)),
                    to_seconds: Set(e.to_seconds.filter(|_| e.kind == EventKind::Played)),
                    position_seconds: Set(e
                        .position_seconds
                        .filter(|_| e.kind == EventKind::Position)),
                    page: Set(e.page.filter(|_| e.kind == EventKind::PageViewed)),
                    occurred_at: Set(e.occurred_at),
                    received_at: Set(now),
                }
            })
            .collect();
        let inserted: HashSet<Uuid> = if rows.is_empty() {
            HashSet::new()
        } else {
            match progress_event::Entity::insert_many(rows)
                .on_conflict(
                    OnConflict::columns([
                        progress_event::Column::PersonId,
                        progress_event::Column::ClientEventId,
                    ])
                    .do_nothing()
                    .to_owned(),
                )
                .exec_with_returning(&txn)
                .await
            {
                Ok(models) => models.into_iter().map(|m| m.client_event_id).collect(),
                Err(sea_orm::DbErr::RecordNotInserted) => HashSet::new(),
                Err(e) => return Err(e.into()),
            }
        };

        // New effects per (enrollment, lesson), and every pair an accepted event touched.
        let mut fresh: FreshEffects = BTreeMap::new();
        let mut touched: BTreeSet<(Uuid, Uuid)> = BTreeSet::new();
        for c in &candidates {
            let e = &events[c.index];
            touched.insert((c.enrollment_id, e.lesson_id));
            if inserted.contains(&e.client_event_id) {
                fresh
                    .entry((c.enrollment_id, e.lesson_id))
                    .or_default()
                    .push((e.occurred_at, c.effect));
            } else {
                outcomes[c.index].duplicate = true;
            }
        }

        let mut views = Vec::new();
        let mut enrollment_views = Vec::new();
        if !touched.is_empty() {
            self.apply(&txn, person_id, &fresh, &touched, &plans, &enrollments, now)
                .await
                .map(|(v, e)| {
                    views = v;
                    enrollment_views = e;
                })?;
        }
        txn.commit().await?;
        Ok(SyncResult {
            outcomes,
            lessons: views,
            enrollments: enrollment_views,
        })
    }

    /// Applies the new effects to the lesson rows (one read, one write per row), then refreshes
    /// the enrollments they belong to.
    #[allow(clippy::too_many_arguments)] // One private step of `sync`, sharing its loaded state.
    async fn apply(
        &self,
        txn: &sea_orm::DatabaseTransaction,
        person_id: Uuid,
        fresh: &FreshEffects,
        touched: &BTreeSet<(Uuid, Uuid)>,
        plans: &HashMap<Uuid, CoursePlan>,
        enrollments: &HashMap<Uuid, enrollment_entity::Model>,
        now: DateTime<Utc>,
    ) -> Result<(Vec<LessonProgressView>, Vec<enrollment_entity::Model>), ProgressError> {
        let rule_of = |lesson_id: Uuid| -> Option<&LessonRule> {
            plans
                .values()
                .find_map(|p| p.lessons.get(&lesson_id))
                .map(|l| &l.rule)
        };
        // Rows for lessons seen for the first time; a concurrent sync may create the same row,
        // which the unique (enrollment, lesson) index turns into nothing.
        let new_rows: Vec<lesson_progress::ActiveModel> = fresh
            .keys()
            .map(|&(enrollment_id, lesson_id)| lesson_progress::ActiveModel {
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
                updated_at: Set(now),
            })
            .collect();
        if !new_rows.is_empty() {
            lesson_progress::Entity::insert_many(new_rows)
                .on_conflict(
                    OnConflict::columns([
                        lesson_progress::Column::EnrollmentId,
                        lesson_progress::Column::LessonId,
                    ])
                    .do_nothing()
                    .to_owned(),
                )
                .exec_without_returning(txn)
                .await?;
        }
        let enrollment_ids: BTreeSet<Uuid> = touched.iter().map(|(e, _)| *e).collect();
        // Every lesson row of the touched enrollments: the enrollment's percent needs them all.
        // Locked on PostgreSQL so two syncs of one learner merge one after the other.
        let rows = lesson_progress::Entity::find()
            .filter(lesson_progress::Column::EnrollmentId.is_in(enrollment_ids.iter().copied()))
            .lock_exclusive()
            .all(txn)
            .await?;
        let mut by_enrollment: HashMap<Uuid, Vec<lesson_progress::Model>> = HashMap::new();
        let mut views = Vec::new();
        for mut row in rows {
            let key = (row.enrollment_id, row.lesson_id);
            let rule = rule_of(row.lesson_id).copied();
            if let (Some(effects), Some(rule)) = (fresh.get(&key), rule) {
                let mut state = state_of(&row)?;
                for (at, effect) in effects {
                    state.apply(*effect, *at);
                }
                let earliest = effects.iter().map(|(at, _)| *at).min();
                let completed_at = self
                    .completion_after(txn, &row, &state, &rule, earliest)
                    .await?;
                let (intervals, pages) = columns_of(&state);
                let mut am: lesson_progress::ActiveModel = row.clone().into();
                am.watched_intervals = Set(intervals);
                am.watched_seconds = Set(state.watched_seconds(rule.duration_seconds));
                am.pages_viewed = Set(pages);
                am.opened = Set(state.opened);
                am.position_seconds = Set(state.position.map(|(_, p)| p));
                am.position_at = Set(state.position.map(|(at, _)| at));
                am.completed_at = Set(completed_at);
                am.updated_at = Set(now);
                row = am.update(txn).await?;
            }
            if touched.contains(&key)
                && let Some(rule) = rule
            {
                views.push(LessonProgressView::of(&row, &rule)?);
            }
            by_enrollment
                .entry(row.enrollment_id)
                .or_default()
                .push(row);
        }

        let mut latest: HashMap<Uuid, DateTime<Utc>> = HashMap::new();
        for ((enrollment_id, _), effects) in fresh {
            if let Some(max) = effects.iter().map(|(at, _)| *at).max() {
                let slot = latest.entry(*enrollment_id).or_insert(max);
                *slot = (*slot).max(max);
            }
        }
        let mut refreshed = Vec::new();
        for e in enrollments.values() {
            if !enrollment_ids.contains(&e.id) {
                continue;
            }
            let Some(plan) = plans.get(&e.course_id) else {
                continue;
            };
            let rows = by_enrollment.get(&e.id).map_or(&[][..], Vec::as_slice);
            let r = refresh_enrollment(txn, e, plan, rows, latest.get(&e.id).copied(), now).await?;
            refreshed.push(r.enrollment);
        }
        refreshed.sort_by_key(|e| e.id);
        Ok((views, refreshed))
    }

    /// The lesson's completion time after new events: unchanged when it was complete and no new
    /// event is older than that; otherwise the first instant the rule held over all stored
    /// events. A completion is never revoked, only moved earlier by a late, older event.
    async fn completion_after(
        &self,
        txn: &sea_orm::DatabaseTransaction,
        row: &lesson_progress::Model,
        state: &LessonState,
        rule: &LessonRule,
        earliest_new: Option<DateTime<Utc>>,
    ) -> Result<Option<DateTime<Utc>>, ProgressError> {
        let existing = row.completed_at;
        let needs_replay = match existing {
            None => state.satisfies(rule),
            Some(done) => earliest_new.is_some_and(|t| t < done),
        };
        if !needs_replay {
            return Ok(existing);
        }
        let replayed =
            completion::replayed_completion(txn, row.enrollment_id, row.lesson_id, rule).await?;
        Ok(match (existing, replayed) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(kind: EventKind) -> ProgressEvent {
        ProgressEvent {
            client_event_id: Uuid::nil(),
            lesson_id: Uuid::nil(),
            kind,
            from_seconds: None,
            to_seconds: None,
            position_seconds: None,
            page: None,
            occurred_at: Utc::now(),
        }
    }

    #[test]
    fn segments_must_be_forward_and_not_negative() {
        let now = Utc::now();
        let seg = |a, b| ProgressEvent {
            from_seconds: Some(a),
            to_seconds: Some(b),
            ..event(EventKind::Played)
        };
        assert_eq!(check_alone(&seg(0.0, 10.0), now), Ok(()));
        assert_eq!(
            check_alone(&seg(-1.0, 10.0), now),
            Err(RejectReason::SegmentOutOfRange)
        );
        assert_eq!(
            check_alone(&seg(10.0, 5.0), now),
            Err(RejectReason::SegmentOutOfRange)
        );
        assert_eq!(
            check_alone(&event(EventKind::Played), now),
            Err(RejectReason::MissingField)
        );
        let late = ProgressEvent {
            occurred_at: now + Duration::minutes(6),
            ..event(EventKind::Opened)
        };
        assert_eq!(check_alone(&late, now), Err(RejectReason::FutureTime));
    }

    #[test]
    fn marked_done_completes_only_text_lessons() {
        let rule = |kind| LessonRule {
            kind,
            threshold: 0.9,
            duration_seconds: Some(60.0),
            page_count: Some(3),
        };
        let done = event(EventKind::MarkedDone);
        assert_eq!(
            check_against(&done, &rule(LessonKind::Text)),
            Ok(Effect::Opened)
        );
        assert_eq!(
            check_against(&done, &rule(LessonKind::Video)),
            Err(RejectReason::ManualCompletionNotAllowed)
        );
        let beyond = ProgressEvent {
            from_seconds: Some(0.0),
            to_seconds: Some(63.0),
            ..event(EventKind::Played)
        };
        assert_eq!(
            check_against(&beyond, &rule(LessonKind::Video)),
            Err(RejectReason::SegmentOutOfRange)
        );
        let page = ProgressEvent {
            page: Some(4),
            ..event(EventKind::PageViewed)
        };
        assert_eq!(
            check_against(&page, &rule(LessonKind::Document)),
            Err(RejectReason::BadPage)
        );
    }
}
