//! Phone sync: a batch of up to [`MAX_BATCH`] progress events, each judged on its own, then
//! written by [`crate::group`] together with the other syncs waiting, in one transaction.
//!
//! Idempotent: an event already stored for the person (same client id) is reported accepted
//! and duplicate, and changes nothing. Order-independent: lesson state is a merge of events
//! ([`crate::rules`]), and a completion time is found by replaying the lesson's stored events in
//! the order they happened.

use std::collections::HashSet;

use chrono::{DateTime, Duration, SubsecRound, Utc};
use course::structure::LessonKind;
use enrollment::entity::enrollment as enrollment_entity;
use kernel::Actor;
use uuid::Uuid;

use crate::Progress;
use crate::completion::state_of;
use crate::entity::lesson_progress;
use crate::error::ProgressError;
use crate::group::Pending;
use crate::rules::{DURATION_TOLERANCE_SECONDS, Effect, LessonRule};

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
    pub(crate) fn as_str(self) -> &'static str {
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
    /// The material the phone played or read (`LessonMedia.materialId`), when it says: an
    /// event against a file the lesson no longer shows is refused rather than measured
    /// against another file.
    pub material_id: Option<Uuid>,
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
    /// The lesson is locked for the learner: the course's gating pre-test is not taken yet.
    LessonLocked,
    /// The event names a material the lesson does not show now (replaced, or removed): its
    /// seconds or pages belong to another file.
    MaterialChanged,
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

/// Checks that an event naming its material names the one the lesson shows (`shown`). An
/// event that names none is measured against the shown file, as before phones sent it.
pub(crate) fn check_material(e: &ProgressEvent, shown: Option<Uuid>) -> Result<(), RejectReason> {
    match e.material_id {
        Some(named) if Some(named) != shown => Err(RejectReason::MaterialChanged),
        _ => Ok(()),
    }
}

/// Checks an event against its lesson; gives its effect.
pub(crate) fn check_against(e: &ProgressEvent, rule: &LessonRule) -> Result<Effect, RejectReason> {
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

        let pending = Pending {
            person_id,
            events,
            outcomes,
            received_at: now,
        };
        self.committer.submit(&self.db, &self.clock, pending).await
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
            material_id: None,
        }
    }

    #[test]
    fn an_event_naming_a_material_must_name_the_one_shown() {
        let (shown, earlier) = (Uuid::new_v4(), Uuid::new_v4());
        let named = |m| ProgressEvent {
            material_id: m,
            ..event(EventKind::PageViewed)
        };
        assert_eq!(check_material(&named(None), Some(shown)), Ok(()));
        assert_eq!(check_material(&named(None), None), Ok(()));
        assert_eq!(check_material(&named(Some(shown)), Some(shown)), Ok(()));
        assert_eq!(
            check_material(&named(Some(earlier)), Some(shown)),
            Err(RejectReason::MaterialChanged)
        );
        assert_eq!(
            check_material(&named(Some(earlier)), None),
            Err(RejectReason::MaterialChanged)
        );
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
