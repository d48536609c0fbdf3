//! Group commit of phone syncs. Each sync is judged alone in the request (see [`crate::sync`]),
//! then handed to a writer, which writes whatever syncs are waiting in one transaction with a
//! fixed number of statements per group: under load, a hundred phones cost about what one does.
//! An idle writer takes the next sync at once, so nothing waits for a group to fill.
//!
//! The syncs of one person always go to the same writer: two writers never touch the same
//! person's rows, so they cannot deadlock on them. SQLite gets one writer (it has one writer at a
//! time anyway), PostgreSQL [`POSTGRES_WRITERS`]. Each writer runs on a thread of its own.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::sync::{Arc, Mutex, PoisonError};

use chrono::{DateTime, Utc};
use course::entity::lesson;
use enrollment::entity::enrollment as enrollment_entity;
use kernel::SharedClock;
use kernel::db::{ROWS_PER_CASE_UPDATE, value_by_id};
use sea_orm::sea_query::{Expr, OnConflict};
use sea_orm::{
    ColumnTrait, DatabaseConnection, DatabaseTransaction, DbBackend, EntityTrait, QueryFilter,
    QuerySelect, Set, Value,
};
use tokio::sync::{mpsc, oneshot};
use tracing::Instrument;
use uuid::Uuid;

use crate::completion::{self, Refresh, columns_of, state_of};
use crate::entity::{lesson_progress, progress_event};
use crate::error::ProgressError;
use crate::locks::{LessonLocks, Locked};
use crate::plan::{self, CoursePlan};
use crate::rules::{Effect, LessonRule, LessonState, completion_time_after};
use crate::sync::{
    EventKind, EventOutcome, LessonProgressView, ProgressEvent, RejectReason, SyncResult,
    check_against, check_material,
};

/// Events written in one group at most (a sync is never split, so one of 500 may go alone).
const GROUP_EVENTS: usize = 1_000;
/// Syncs in one group at most.
const GROUP_SYNCS: usize = 128;
/// Syncs waiting for one writer, by default, before more are turned away with
/// TOO_MANY_REQUESTS (see [`Committer::submit`]).
pub const SYNC_QUEUE: usize = 1_024;
/// Writers on PostgreSQL, which writes on several connections at once (measured: 2 writers
/// sustained 10,000 events/s, 8 writers 22,000).
pub const POSTGRES_WRITERS: usize = 8;
/// Event rows per INSERT: 12 parameters each, far below either database's limit.
const EVENTS_PER_INSERT: usize = 500;

/// A sync judged on its own, waiting to be written.
#[derive(Debug)]
pub(crate) struct Pending {
    /// The learner.
    pub person_id: Uuid,
    /// The batch, times already truncated to microseconds.
    pub events: Vec<ProgressEvent>,
    /// One verdict per event so far (checks that need no database).
    pub outcomes: Vec<EventOutcome>,
    /// When the sync arrived.
    pub received_at: DateTime<Utc>,
}

type Answer = Result<SyncResult, ProgressError>;

struct Job {
    pending: Pending,
    reply: oneshot::Sender<Answer>,
}

/// The writers of one progress service, started on the first sync.
#[derive(Debug)]
pub struct Committer {
    lanes: Mutex<Vec<mpsc::Sender<Job>>>,
    /// The pre-test gate, when wired.
    locks: Option<Arc<dyn LessonLocks>>,
    /// Syncs waiting for one writer at most.
    queue: usize,
}

impl Default for Committer {
    fn default() -> Self {
        Committer::new(None, SYNC_QUEUE)
    }
}

impl Committer {
    /// Writers that refuse events in lessons `locks` (when given) says are locked, and turn
    /// syncs away once `queue` of them wait for one writer (at least one always may).
    pub(crate) fn new(locks: Option<Arc<dyn LessonLocks>>, queue: usize) -> Self {
        Committer {
            lanes: Mutex::default(),
            locks,
            queue: queue.max(1),
        }
    }

    /// The pre-test gate these writers ask, kept when the service is rewired at start-up.
    pub(crate) fn locks(&self) -> Option<Arc<dyn LessonLocks>> {
        self.locks.clone()
    }

    /// Syncs waiting for one writer at most.
    pub(crate) fn queue(&self) -> usize {
        self.queue
    }

    /// Writes `pending` with whatever other syncs are waiting, and gives its result.
    ///
    /// When the writer already has a full queue, the sync is not stored and the caller gets
    /// [`ProgressError::Busy`] at once: above what the database can write, waiting in line would
    /// only grow every phone's wait (and its own timeouts and retries) without bound, whereas a
    /// phone told to come back later keeps its events and replays them.
    pub(crate) async fn submit(
        &self,
        db: &DatabaseConnection,
        clock: &SharedClock,
        pending: Pending,
    ) -> Answer {
        let person_id = pending.person_id;
        let lane = self.lane(db, clock, person_id)?;
        let (reply, answer) = oneshot::channel();
        match lane.try_send(Job { pending, reply }) {
            Ok(()) => {}
            Err(mpsc::error::TrySendError::Full(_)) => {
                tracing::debug!(%person_id, queue = self.queue, "progress writer full; sync turned away");
                return Err(ProgressError::Busy {
                    retry_after_secs: retry_after(person_id),
                });
            }
            Err(mpsc::error::TrySendError::Closed(_)) => {
                return Err(ProgressError::Internal(
                    "the progress writer stopped".into(),
                ));
            }
        }
        answer.await.map_err(|_| {
            ProgressError::Internal("the progress writer stopped before answering".into())
        })?
    }

    /// The writer of `person_id`. Writers start on the first sync; when one has stopped (it
    /// panicked), all are started again.
    fn lane(
        &self,
        db: &DatabaseConnection,
        clock: &SharedClock,
        person_id: Uuid,
    ) -> Result<mpsc::Sender<Job>, ProgressError> {
        let mut lanes = self.lanes.lock().unwrap_or_else(PoisonError::into_inner);
        if lanes.is_empty() || lanes.iter().any(mpsc::Sender::is_closed) {
            let writers = match db.get_database_backend() {
                DbBackend::Sqlite => 1,
                _ => POSTGRES_WRITERS,
            };
            let mut started = Vec::with_capacity(writers);
            for n in 0..writers {
                started.push(start_writer(
                    n,
                    db.clone(),
                    clock.clone(),
                    self.locks.clone(),
                    self.queue,
                )?);
            }
            *lanes = started;
        }
        // UUID v7 ends in random bits.
        let i = (person_id.as_u128() % lanes.len() as u128) as usize;
        Ok(lanes[i].clone())
    }
}

/// Seconds a turned-away phone should wait: 2 to 6, spread by person so that phones turned
/// away together do not all come back in the same second.
fn retry_after(person_id: Uuid) -> u64 {
    // UUID v7 ends in random bits; the remainder is below 5.
    2 + (person_id.as_u128() % 5) as u64
}

/// Starts writer `n` on a thread of its own, with a single-threaded runtime. On the request
/// runtime the writer would wait behind every ready request task each time a statement
/// answers, a dozen times a group: under load that wait, not the database, set the pace.
fn start_writer(
    n: usize,
    db: DatabaseConnection,
    clock: SharedClock,
    locks: Option<Arc<dyn LessonLocks>>,
    queue: usize,
) -> Result<mpsc::Sender<Job>, ProgressError> {
    let (tx, rx) = mpsc::channel(queue);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| ProgressError::Internal(format!("cannot start a progress writer: {e}")))?;
    std::thread::Builder::new()
        .name(format!("progress-writer-{n}"))
        // Ends when every sender is gone: the service was dropped.
        .spawn(move || runtime.block_on(write_lane(db, clock, locks, rx)))
        .map_err(|e| ProgressError::Internal(format!("cannot start a progress writer: {e}")))?;
    Ok(tx)
}

/// One writer: takes the first waiting sync, adds those behind it up to the group's limits,
/// writes them together, answers each, and starts again.
async fn write_lane(
    db: DatabaseConnection,
    clock: SharedClock,
    locks: Option<Arc<dyn LessonLocks>>,
    mut queue: mpsc::Receiver<Job>,
) {
    let locks = locks.as_deref();
    let mut carried: Option<Job> = None;
    loop {
        let first = match carried.take() {
            Some(job) => job,
            None => match queue.recv().await {
                Some(job) => job,
                None => return,
            },
        };
        let mut events = first.pending.events.len();
        let mut group = vec![first];
        while group.len() < GROUP_SYNCS {
            let Ok(next) = queue.try_recv() else { break };
            if events + next.pending.events.len() > GROUP_EVENTS {
                carried = Some(next);
                break;
            }
            events += next.pending.events.len();
            group.push(next);
        }
        let span = tracing::debug_span!("progress.group", syncs = group.len(), events);
        write_and_answer(&db, locks, clock.now(), group)
            .instrument(span)
            .await;
    }
}

async fn write_and_answer(
    db: &DatabaseConnection,
    locks: Option<&dyn LessonLocks>,
    now: DateTime<Utc>,
    group: Vec<Job>,
) {
    let (pendings, replies): (Vec<Pending>, Vec<oneshot::Sender<Answer>>) =
        group.into_iter().map(|j| (j.pending, j.reply)).unzip();
    match write_group(db, locks, now, &pendings).await {
        Ok(results) => {
            for (reply, result) in replies.into_iter().zip(results) {
                // A caller that went away (a dropped connection) needs no answer: its events
                // are stored, and its replay will be recognised.
                let _ = reply.send(Ok(result));
            }
        }
        Err(e) if pendings.len() == 1 => {
            if let Some(reply) = replies.into_iter().next() {
                let _ = reply.send(Err(e));
            }
        }
        Err(e) => {
            // Nothing of the group was written: write each sync alone, so one that fails does
            // not fail the others.
            tracing::warn!(error = %e, syncs = pendings.len(), "a group of syncs failed; writing each alone");
            for (pending, reply) in pendings.iter().zip(replies) {
                let alone = write_group(db, locks, now, std::slice::from_ref(pending))
                    .await
                    .and_then(|results| {
                        results.into_iter().next().ok_or_else(|| {
                            ProgressError::Internal("a sync was written without a result".into())
                        })
                    });
                let _ = reply.send(alone);
            }
        }
    }
}

/// An event that passed every check, waiting to be stored.
struct Candidate {
    job: usize,
    index: usize,
    enrollment_id: Uuid,
    effect: Effect,
    /// The id of the row written for it; `None` when an earlier sync of the group carries the
    /// same event (a replay sent while the first was still waiting).
    row_id: Option<Uuid>,
}

/// New effects per (enrollment, lesson), with the time each happened.
type FreshEffects = BTreeMap<(Uuid, Uuid), Vec<(DateTime<Utc>, Effect)>>;

/// Writes a group of syncs in one transaction and gives each its result, in order.
async fn write_group(
    db: &DatabaseConnection,
    locks: Option<&dyn LessonLocks>,
    now: DateTime<Utc>,
    pendings: &[Pending],
) -> Result<Vec<SyncResult>, ProgressError> {
    let mut outcomes: Vec<Vec<EventOutcome>> =
        pendings.iter().map(|p| p.outcomes.clone()).collect();
    let txn = kernel::db::begin_write(db).await?;

    // Which course each lesson is in, who may learn there, and the courses' rules.
    let lesson_ids: BTreeSet<Uuid> = (0..pendings.len())
        .flat_map(|j| {
            open_events(&pendings[j], &outcomes[j])
                .into_iter()
                .map(|(_, e)| e.lesson_id)
        })
        .collect();
    let lesson_course = courses_of(&txn, &lesson_ids).await?;
    let pairs: BTreeSet<(Uuid, Uuid)> = (0..pendings.len())
        .flat_map(|j| {
            let person = pendings[j].person_id;
            open_events(&pendings[j], &outcomes[j])
                .into_iter()
                .filter_map(|(_, e)| lesson_course.get(&e.lesson_id).map(|c| (person, *c)))
                .collect::<Vec<_>>()
        })
        .collect();
    let pairs: Vec<(Uuid, Uuid)> = pairs.into_iter().collect();
    let enrollments = enrollment::find_takeable_many(&txn, &pairs).await?;
    let course_ids: Vec<Uuid> = enrollments
        .keys()
        .map(|(_, course)| *course)
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let plans = plan::load(&txn, &course_ids).await?;
    let locked = match locks {
        Some(locks) if !enrollments.is_empty() => {
            let enrolled: Vec<(Uuid, Uuid)> = enrollments.keys().copied().collect();
            locks.locked(&txn, &enrolled).await?
        }
        _ => Locked::new(),
    };

    // Each event against its lesson.
    let mut candidates = Vec::new();
    for (j, p) in pendings.iter().enumerate() {
        for (i, e) in open_events(&pendings[j], &outcomes[j]) {
            let verdict = match lesson_course.get(&e.lesson_id) {
                None => Err(RejectReason::UnknownLesson),
                Some(course_id) => match (
                    enrollments.get(&(p.person_id, *course_id)),
                    plans
                        .get(course_id)
                        .and_then(|plan| plan.lessons.get(&e.lesson_id)),
                ) {
                    (None, _) => Err(RejectReason::NotEnrolled),
                    (_, None) => Err(RejectReason::UnknownLesson),
                    // A gating pre-test not taken yet: the rest of the course records nothing.
                    (Some(_), Some(_))
                        if locked
                            .get(&(p.person_id, *course_id))
                            .is_some_and(|open| !open.contains(&e.lesson_id)) =>
                    {
                        Err(RejectReason::LessonLocked)
                    }
                    (Some(en), Some(l)) => check_material(e, l.material_id)
                        .and_then(|()| check_against(e, &l.rule))
                        .map(|effect| Candidate {
                            job: j,
                            index: i,
                            enrollment_id: en.id,
                            effect,
                            row_id: None,
                        }),
                },
            };
            match verdict {
                Ok(c) => candidates.push(c),
                Err(r) => outcomes[j][i].rejected = Some(r),
            }
        }
    }

    // Store first: the unique (person, client id) index decides, against syncs written
    // earlier, which events are new; only those are applied.
    let inserted = store_events(&txn, pendings, &mut candidates).await?;
    let mut fresh: FreshEffects = BTreeMap::new();
    let mut touched: Vec<BTreeSet<(Uuid, Uuid)>> = vec![BTreeSet::new(); pendings.len()];
    for c in &candidates {
        let e = &pendings[c.job].events[c.index];
        touched[c.job].insert((c.enrollment_id, e.lesson_id));
        if c.row_id.is_some_and(|id| inserted.contains(&id)) {
            fresh
                .entry((c.enrollment_id, e.lesson_id))
                .or_default()
                .push((e.occurred_at, c.effect));
        } else {
            outcomes[c.job][c.index].duplicate = true;
        }
    }

    let all_touched: BTreeSet<(Uuid, Uuid)> = touched.iter().flatten().copied().collect();
    let enrolled: HashMap<Uuid, &enrollment_entity::Model> =
        enrollments.values().map(|e| (e.id, e)).collect();
    let (rows, refreshed) = if all_touched.is_empty() {
        (HashMap::new(), HashMap::new())
    } else {
        apply(&txn, &fresh, &all_touched, &plans, &enrolled, now).await?
    };
    txn.commit().await?;

    let mut results = Vec::with_capacity(pendings.len());
    for (outcomes, touched) in outcomes.into_iter().zip(touched) {
        let mut lessons = Vec::new();
        for key in &touched {
            if let (Some(row), Some(rule)) = (rows.get(key), rule_of(&plans, key.1)) {
                lessons.push(LessonProgressView::of(row, &rule)?);
            }
        }
        let ids: BTreeSet<Uuid> = touched.iter().map(|(e, _)| *e).collect();
        let enrollments = ids
            .iter()
            .filter_map(|id| refreshed.get(id).cloned())
            .collect();
        results.push(SyncResult {
            outcomes,
            lessons,
            enrollments,
        });
    }
    Ok(results)
}

/// The completion rule of a lesson of one of the planned courses.
fn rule_of(plans: &HashMap<Uuid, CoursePlan>, lesson_id: Uuid) -> Option<LessonRule> {
    plans
        .values()
        .find_map(|p| p.lessons.get(&lesson_id))
        .map(|l| l.rule)
}

/// The events of a sync not yet rejected, with their index.
fn open_events<'a>(p: &'a Pending, outcomes: &[EventOutcome]) -> Vec<(usize, &'a ProgressEvent)> {
    p.events
        .iter()
        .enumerate()
        .filter(|(i, _)| outcomes[*i].rejected.is_none())
        .collect()
}

/// The course of each lesson that exists.
async fn courses_of(
    txn: &DatabaseTransaction,
    lesson_ids: &BTreeSet<Uuid>,
) -> Result<HashMap<Uuid, Uuid>, ProgressError> {
    if lesson_ids.is_empty() {
        return Ok(HashMap::new());
    }
    Ok(lesson::Entity::find()
        .select_only()
        .column(lesson::Column::Id)
        .column(lesson::Column::CourseId)
        .filter(lesson::Column::Id.is_in(lesson_ids.iter().copied()))
        .into_tuple::<(Uuid, Uuid)>()
        .all(txn)
        .await?
        .into_iter()
        .collect())
}

/// Inserts the candidates' rows, skipping those already stored (ON CONFLICT DO NOTHING), and
/// gives the ids of the rows actually inserted. Sets each candidate's `row_id`; within the group
/// only the first of a (person, client id) gets a row.
async fn store_events(
    txn: &DatabaseTransaction,
    pendings: &[Pending],
    candidates: &mut [Candidate],
) -> Result<HashSet<Uuid>, ProgressError> {
    let mut first: HashSet<(Uuid, Uuid)> = HashSet::new();
    let mut rows = Vec::new();
    for c in candidates.iter_mut() {
        let p = &pendings[c.job];
        let e = &p.events[c.index];
        if !first.insert((p.person_id, e.client_event_id)) {
            continue;
        }
        let id = kernel::new_id();
        c.row_id = Some(id);
        rows.push(progress_event::ActiveModel {
            id: Set(id),
            client_event_id: Set(e.client_event_id),
            person_id: Set(p.person_id),
            enrollment_id: Set(c.enrollment_id),
            lesson_id: Set(e.lesson_id),
            kind: Set(e.kind.as_str().to_owned()),
            from_seconds: Set(e.from_seconds.filter(|_| e.kind == EventKind::Played)),
            to_seconds: Set(e.to_seconds.filter(|_| e.kind == EventKind::Played)),
            position_seconds: Set(e.position_seconds.filter(|_| e.kind == EventKind::Position)),
            page: Set(e.page.filter(|_| e.kind == EventKind::PageViewed)),
            occurred_at: Set(e.occurred_at),
            received_at: Set(p.received_at),
        });
    }
    let mut inserted = HashSet::new();
    let mut rows = rows.into_iter().peekable();
    while rows.peek().is_some() {
        let chunk: Vec<_> = rows.by_ref().take(EVENTS_PER_INSERT).collect();
        match progress_event::Entity::insert_many(chunk)
            .on_conflict(
                OnConflict::columns([
                    progress_event::Column::PersonId,
                    progress_event::Column::ClientEventId,
                ])
                .do_nothing()
                .to_owned(),
            )
            .exec_with_returning_keys(txn)
            .await
        {
            Ok(ids) => inserted.extend(ids),
            Err(sea_orm::DbErr::RecordNotInserted) => {}
            Err(e) => return Err(e.into()),
        }
    }
    Ok(inserted)
}

/// Applies the new effects to the lesson rows of the touched enrollments (read once, locked,
/// written back in a few statements), then refreshes those enrollments. Gives the touched lesson
/// rows as written, and the refreshed enrollments by id.
#[allow(clippy::type_complexity)] // Two lookups of one private step.
async fn apply(
    txn: &DatabaseTransaction,
    fresh: &FreshEffects,
    touched: &BTreeSet<(Uuid, Uuid)>,
    plans: &HashMap<Uuid, CoursePlan>,
    enrolled: &HashMap<Uuid, &enrollment_entity::Model>,
    now: DateTime<Utc>,
) -> Result<
    (
        HashMap<(Uuid, Uuid), lesson_progress::Model>,
        HashMap<Uuid, enrollment_entity::Model>,
    ),
    ProgressError,
> {
    // Rows for lessons seen for the first time (a quiz may create the same row meanwhile).
    let new_rows = fresh
        .keys()
        .filter_map(|&(enrollment_id, lesson_id)| {
            let person_id = enrolled.get(&enrollment_id)?.person_id;
            Some(completion::blank_row(
                enrollment_id,
                lesson_id,
                person_id,
                now,
            ))
        })
        .collect();
    completion::insert_missing_rows(txn, new_rows).await?;
    let enrollment_ids: BTreeSet<Uuid> = touched.iter().map(|(e, _)| *e).collect();
    // Every lesson row of the touched enrollments: an enrollment's percent needs them all.
    // Locked on PostgreSQL, so a quiz completing a lesson of the same enrollment waits.
    let stored = lesson_progress::Entity::find()
        .filter(lesson_progress::Column::EnrollmentId.is_in(enrollment_ids.iter().copied()))
        .lock_exclusive()
        .all(txn)
        .await?;
    let mut by_enrollment: HashMap<Uuid, Vec<lesson_progress::Model>> = HashMap::new();
    let mut changed = Vec::new();
    let mut lessons = HashMap::new();
    for mut row in stored {
        let key = (row.enrollment_id, row.lesson_id);
        let rule = rule_of(plans, row.lesson_id);
        if let (Some(effects), Some(rule)) = (fresh.get(&key), rule) {
            let prior = state_of(&row)?;
            let mut state = prior.clone();
            for (at, effect) in effects {
                state.apply(*effect, *at);
            }
            let completed_at = completion_after(txn, &row, &prior, &state, &rule, effects).await?;
            row.last_event_at = row
                .last_event_at
                .into_iter()
                .chain(effects.iter().map(|(at, _)| *at))
                .max();
            let (intervals, pages) = columns_of(&state);
            row.watched_intervals = intervals;
            row.watched_seconds = state.watched_seconds(rule.duration_seconds);
            row.pages_viewed = pages;
            row.opened = state.opened;
            row.position_seconds = state.position.map(|(_, p)| p);
            row.position_at = state.position.map(|(at, _)| at);
            row.completed_at = completed_at;
            row.updated_at = now;
            changed.push(row.clone());
        }
        if touched.contains(&key) {
            lessons.insert(key, row.clone());
        }
        by_enrollment
            .entry(row.enrollment_id)
            .or_default()
            .push(row);
    }
    write_lesson_rows(txn, &changed, now).await?;

    let mut latest: HashMap<Uuid, DateTime<Utc>> = HashMap::new();
    for ((enrollment_id, _), effects) in fresh {
        if let Some(max) = effects.iter().map(|(at, _)| *at).max() {
            let slot = latest.entry(*enrollment_id).or_insert(max);
            *slot = (*slot).max(max);
        }
    }
    let items: Vec<Refresh<'_>> = enrollment_ids
        .iter()
        .filter_map(|id| {
            let enrollment = *enrolled.get(id)?;
            Some(Refresh {
                enrollment,
                plan: plans.get(&enrollment.course_id)?,
                rows: by_enrollment.get(id).map_or(&[][..], Vec::as_slice),
                activity: latest.get(id).copied(),
            })
        })
        .collect();
    let refreshed = completion::refresh_enrollments(txn, &items, now)
        .await?
        .into_iter()
        .map(|r| (r.enrollment.id, r.enrollment))
        .collect();
    Ok((lessons, refreshed))
}

/// Writes the merged state of `rows` back, [`ROWS_PER_CASE_UPDATE`] rows per UPDATE.
async fn write_lesson_rows(
    txn: &DatabaseTransaction,
    rows: &[lesson_progress::Model],
    now: DateTime<Utc>,
) -> Result<(), ProgressError> {
    use lesson_progress::Column as C;
    for chunk in rows.chunks(ROWS_PER_CASE_UPDATE) {
        let each = |column: C, value: fn(&lesson_progress::Model) -> Value| {
            value_by_id(C::Id, column, chunk.iter().map(|r| (r.id, value(r))))
        };
        lesson_progress::Entity::update_many()
            .col_expr(
                C::WatchedIntervals,
                each(C::WatchedIntervals, |r| r.watched_intervals.clone().into()),
            )
            .col_expr(
                C::WatchedSeconds,
                each(C::WatchedSeconds, |r| r.watched_seconds.into()),
            )
            .col_expr(
                C::PagesViewed,
                each(C::PagesViewed, |r| r.pages_viewed.clone().into()),
            )
            .col_expr(C::Opened, each(C::Opened, |r| r.opened.into()))
            .col_expr(
                C::PositionSeconds,
                each(C::PositionSeconds, |r| r.position_seconds.into()),
            )
            .col_expr(C::PositionAt, each(C::PositionAt, |r| r.position_at.into()))
            .col_expr(
                C::CompletedAt,
                each(C::CompletedAt, |r| r.completed_at.into()),
            )
            .col_expr(
                C::LastEventAt,
                each(C::LastEventAt, |r| r.last_event_at.into()),
            )
            .col_expr(C::UpdatedAt, Expr::value(now))
            .filter(C::Id.is_in(chunk.iter().map(|r| r.id)))
            .exec(txn)
            .await?;
    }
    Ok(())
}

/// The lesson's completion time after the `new` events (already merged into `state`; `prior`
/// is the stored state before them). Unchanged when it was complete and no new event is older
/// than that. When it completes now and every new event is at or after the latest stored one
/// (the usual case: phones sync as they go), the time follows from `prior` and the new events;
/// otherwise (a late, older event) it is the first instant the rule held over all stored
/// events, replayed. A completion is never revoked, only moved earlier by an older event.
async fn completion_after(
    txn: &DatabaseTransaction,
    row: &lesson_progress::Model,
    prior: &LessonState,
    state: &LessonState,
    rule: &LessonRule,
    new: &[(DateTime<Utc>, Effect)],
) -> Result<Option<DateTime<Utc>>, ProgressError> {
    let earliest_new = new.iter().map(|(at, _)| *at).min();
    match row.completed_at {
        Some(done) if earliest_new.is_none_or(|t| t >= done) => return Ok(Some(done)),
        None if !state.satisfies(rule) => return Ok(None),
        None => {
            let in_order = match row.last_event_at {
                Some(last) => earliest_new.is_none_or(|t| t >= last),
                // No stored event, so the state must be blank; a row with state but no events
                // (written outside the sync path) is replayed to be safe.
                None => *prior == LessonState::default(),
            };
            if let Some(at) = in_order
                .then(|| completion_time_after(prior, rule, new))
                .flatten()
            {
                return Ok(Some(at));
            }
        }
        Some(_) => {}
    }
    let replayed =
        completion::replayed_completion(txn, row.enrollment_id, row.lesson_id, rule).await?;
    Ok(match (row.completed_at, replayed) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    })
}
