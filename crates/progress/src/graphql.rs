//! The progress part of the GraphQL API: `syncProgress` for phones, completion recompute and
//! external JP for admins, the learner's `myLearning`, and the JP and completion reports. Types
//! here are written for clients and wrap the service's values; resolvers parse ids, call a
//! [`Progress`] method with the actor and map the result.

use async_graphql::connection::{Connection, Edge};
use async_graphql::{Context, Enum, ID, InputObject, Object, SimpleObject};
use chrono::{DateTime, Utc};
use course::structure::LessonKind;
use enrollment::entity::enrollment as enrollment_entity;
use identity::graphql::parse_id;
use kernel::GqlResultExt;
use kernel::context::{actor, service};
use kernel::pagination::Page;
use uuid::Uuid;

use crate::Progress;
use crate::completion::Recomputed;
use crate::entity::jp_ledger;
use crate::error::ProgressError;
use crate::jp::{self, BelowTarget, ExternalJp, LedgerEntry, PersonJp};
use crate::sync::{self, EventKind, EventOutcome, LessonProgressView, RejectReason};
use crate::views::{self, LearningItem, UnitCompletion};

fn progress<'a>(ctx: &Context<'a>) -> async_graphql::Result<&'a Progress> {
    service::<Progress>(ctx)
}

/// One progress event recorded on a phone.
#[derive(InputObject, Debug, Clone)]
pub struct ProgressEventInput {
    /// A UUID the phone made for this event; sending it again is recognised as a replay.
    pub client_event_id: ID,
    /// The lesson.
    pub lesson_id: ID,
    /// What happened.
    pub kind: EventKind,
    /// PLAYED: start of the segment actually played, in seconds.
    pub from_seconds: Option<f64>,
    /// PLAYED: its end, in seconds.
    pub to_seconds: Option<f64>,
    /// POSITION: the player's position, in seconds.
    pub position_seconds: Option<f64>,
    /// PAGE_VIEWED: the page, from 1.
    pub page: Option<i32>,
    /// When it happened on the phone (events may arrive days later, in any order).
    pub occurred_at: DateTime<Utc>,
    /// The material played or read (`LessonMedia.materialId` when the phone fetched it, or the
    /// offline package's). Recommended for PLAYED, POSITION and PAGE_VIEWED: when the trainer
    /// has replaced the file since, the event is refused with MATERIAL_CHANGED instead of being
    /// measured against the new one, and the phone knows to fetch the lesson's media again.
    pub material_id: Option<ID>,
}

/// Whether an event was taken.
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProgressEventStatus {
    /// Recorded (or recorded before: see `duplicate`).
    Accepted,
    /// Refused: see `reason`.
    Rejected,
}

/// Why an event was refused (the values of [`RejectReason`], plus ids that do not parse).
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProgressRejectReason {
    /// Not enrolled (active or completed) in the lesson's course.
    NotEnrolled,
    /// No such lesson, or one its course has not published yet.
    UnknownLesson,
    /// `occurredAt` more than five minutes in the future.
    FutureTime,
    /// A played segment that is negative, inverted, empty or beyond the media's end.
    SegmentOutOfRange,
    /// A position that is negative or beyond the media's end.
    PositionOutOfRange,
    /// A page below 1 or beyond the document.
    BadPage,
    /// The same `clientEventId` earlier in this batch.
    DuplicateInBatch,
    /// A field the kind needs is missing.
    MissingField,
    /// The kind does not fit the lesson (a page of a video).
    WrongLessonKind,
    /// MARKED_DONE on a video or document lesson: they complete by watching or reading.
    ManualCompletionNotAllowed,
    /// The lesson is locked: the course's gating pre-test comes first.
    LessonLocked,
    /// `materialId` is not the material the lesson shows now: the trainer replaced (or
    /// removed) the file. Fetch the lesson's `media` again; the event's seconds or pages were
    /// of the other file and are not counted.
    MaterialChanged,
    /// `clientEventId` or `materialId` is not a UUID.
    InvalidId,
}

impl From<RejectReason> for ProgressRejectReason {
    fn from(r: RejectReason) -> Self {
        match r {
            RejectReason::NotEnrolled => Self::NotEnrolled,
            RejectReason::UnknownLesson => Self::UnknownLesson,
            RejectReason::FutureTime => Self::FutureTime,
            RejectReason::SegmentOutOfRange => Self::SegmentOutOfRange,
            RejectReason::PositionOutOfRange => Self::PositionOutOfRange,
            RejectReason::BadPage => Self::BadPage,
            RejectReason::DuplicateInBatch => Self::DuplicateInBatch,
            RejectReason::MissingField => Self::MissingField,
            RejectReason::WrongLessonKind => Self::WrongLessonKind,
            RejectReason::ManualCompletionNotAllowed => Self::ManualCompletionNotAllowed,
            RejectReason::LessonLocked => Self::LessonLocked,
            RejectReason::MaterialChanged => Self::MaterialChanged,
        }
    }
}

/// The verdict on one event, in the order sent.
#[derive(SimpleObject, Debug, Clone)]
pub struct ProgressEventResult {
    /// The event's `clientEventId`.
    pub client_event_id: ID,
    /// Accepted or rejected.
    pub status: ProgressEventStatus,
    /// Accepted before: it changed nothing now (the phone may forget it).
    pub duplicate: bool,
    /// Why it was rejected.
    pub reason: Option<ProgressRejectReason>,
}

impl From<EventOutcome> for ProgressEventResult {
    fn from(o: EventOutcome) -> Self {
        ProgressEventResult {
            client_event_id: ID(o.client_event_id.to_string()),
            status: if o.rejected.is_some() {
                ProgressEventStatus::Rejected
            } else {
                ProgressEventStatus::Accepted
            },
            duplicate: o.duplicate,
            reason: o.rejected.map(Into::into),
        }
    }
}

/// A learner's state in one lesson.
pub struct LessonProgress(pub LessonProgressView);

#[Object]
impl LessonProgress {
    /// The lesson.
    async fn lesson_id(&self) -> ID {
        ID(self.0.lesson_id.to_string())
    }
    /// The enrollment it counts toward.
    async fn enrollment_id(&self) -> ID {
        ID(self.0.enrollment_id.to_string())
    }
    /// The lesson's kind.
    async fn kind(&self) -> LessonKind {
        self.0.kind
    }
    /// Seconds actually played: overlapping segments count once, skipped parts not at all.
    async fn watched_seconds(&self) -> f64 {
        self.0.watched_seconds
    }
    /// Share of the video watched or of the document's pages viewed, 0 to 1; null for text
    /// lessons and media whose length is not known yet.
    async fn share(&self) -> Option<f64> {
        self.0.share
    }
    /// Distinct pages viewed, ascending.
    async fn pages_viewed(&self) -> &[i32] {
        &self.0.pages_viewed
    }
    /// Where to resume: seconds for a video, the page for a document. The latest report by
    /// `occurredAt` wins across devices.
    async fn resume_position(&self) -> Option<f64> {
        self.0.resume_position
    }
    /// When the resume position was reported.
    async fn resume_at(&self) -> Option<DateTime<Utc>> {
        self.0.resume_at
    }
    /// Whether the lesson is complete (never revoked).
    async fn completed(&self) -> bool {
        self.0.completed_at.is_some()
    }
    /// When its completion rule first held (the time of that event).
    async fn completed_at(&self) -> Option<DateTime<Utc>> {
        self.0.completed_at
    }
}

/// An enrollment's progress.
pub struct EnrollmentProgress(pub enrollment_entity::Model);

#[Object]
impl EnrollmentProgress {
    /// The enrollment.
    async fn enrollment_id(&self) -> ID {
        ID(self.0.id.to_string())
    }
    /// The course.
    async fn course_id(&self) -> ID {
        ID(self.0.course_id.to_string())
    }
    /// Required lessons complete, in percent of the required lessons.
    async fn percent(&self) -> f64 {
        self.0.progress_percent
    }
    /// Required lessons complete.
    async fn required_done(&self) -> i32 {
        self.0.required_done
    }
    /// Required lessons (every lesson when the course marks none as required).
    async fn required_total(&self) -> i32 {
        self.0.required_total
    }
    /// The first incomplete lesson in course order.
    async fn next_lesson_id(&self) -> Option<ID> {
        self.0.next_lesson_id.map(|l| ID(l.to_string()))
    }
    /// The latest event time seen.
    async fn last_activity_at(&self) -> Option<DateTime<Utc>> {
        self.0.last_activity_at
    }
    /// Whether the course is complete.
    async fn completed(&self) -> bool {
        self.0.state == enrollment::state::COMPLETED
    }
    /// When it completed: the time of the event that completed its last required lesson.
    async fn completed_at(&self) -> Option<DateTime<Utc>> {
        self.0.completed_at
    }
}

/// The answer to `syncProgress`.
pub struct SyncProgressPayload {
    results: Vec<ProgressEventResult>,
    lessons: Vec<LessonProgressView>,
    enrollments: Vec<enrollment_entity::Model>,
}

#[Object]
impl SyncProgressPayload {
    /// One verdict per event, in the order sent.
    async fn results(&self) -> &[ProgressEventResult] {
        &self.results
    }
    /// Events accepted now or before.
    async fn accepted(&self) -> usize {
        self.results
            .iter()
            .filter(|r| r.status == ProgressEventStatus::Accepted)
            .count()
    }
    /// Events rejected.
    async fn rejected(&self) -> usize {
        self.results
            .iter()
            .filter(|r| r.status == ProgressEventStatus::Rejected)
            .count()
    }
    /// The state of every lesson an accepted event touched, for the phone to reconcile.
    async fn lessons(&self) -> Vec<LessonProgress> {
        self.lessons.iter().cloned().map(LessonProgress).collect()
    }
    /// The enrollments touched, with their progress after this batch.
    async fn enrollments(&self) -> Vec<EnrollmentProgress> {
        self.enrollments
            .iter()
            .cloned()
            .map(EnrollmentProgress)
            .collect()
    }
}

/// Where a JP credit came from.
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum JpSource {
    /// A course completed on the platform.
    Course,
    /// Training outside the platform, recorded by an admin.
    External,
}

/// One row of a person's JP ledger.
pub struct JpEntry(pub LedgerEntry);

#[Object]
impl JpEntry {
    /// The row.
    async fn id(&self) -> ID {
        ID(self.0.row.id.to_string())
    }
    /// The JP year (calendar year in WIB of `earnedAt`).
    async fn year(&self) -> i32 {
        self.0.row.year
    }
    /// Training hours.
    async fn jp(&self) -> i32 {
        self.0.row.jp
    }
    /// Course or external.
    async fn source(&self) -> JpSource {
        if self.0.row.source == jp::SOURCE_EXTERNAL {
            JpSource::External
        } else {
            JpSource::Course
        }
    }
    /// What it was for.
    async fn description(&self) -> &str {
        &self.0.row.description
    }
    /// When it was earned.
    async fn earned_at(&self) -> DateTime<Utc> {
        self.0.row.earned_at
    }
    /// The course, for a course credit.
    async fn course_id(&self) -> Option<ID> {
        self.0.row.course_id.map(|c| ID(c.to_string()))
    }
    /// The course title, for a course credit.
    async fn course_title(&self) -> Option<&str> {
        self.0.course_title.as_deref()
    }
    /// The completed enrollment, for a course credit.
    async fn enrollment_id(&self) -> Option<ID> {
        self.0.row.enrollment_id.map(|c| ID(c.to_string()))
    }
}

/// A person's JP in one year against the yearly target.
pub struct JpYear(pub PersonJp);

#[Object]
impl JpYear {
    /// The person.
    async fn person_id(&self) -> ID {
        ID(self.0.person_id.to_string())
    }
    /// The JP year.
    async fn year(&self) -> i32 {
        self.0.year
    }
    /// JP earned.
    async fn total(&self) -> i64 {
        self.0.total
    }
    /// The yearly target (20 JP).
    async fn target(&self) -> i64 {
        jp::JP_TARGET
    }
    /// JP still missing to reach the target (0 once reached).
    async fn remaining(&self) -> i64 {
        (jp::JP_TARGET - self.0.total).max(0)
    }
    /// The ledger rows behind the total, oldest first.
    async fn entries(&self) -> Vec<JpEntry> {
        self.0.entries.iter().cloned().map(JpEntry).collect()
    }
}

/// One enrollment on the learner's dashboard.
pub struct LearningItemObject(pub LearningItem);

#[Object(name = "LearningItem")]
impl LearningItemObject {
    /// The enrollment.
    async fn enrollment_id(&self) -> ID {
        ID(self.0.enrollment.id.to_string())
    }
    /// The course.
    async fn course_id(&self) -> ID {
        ID(self.0.enrollment.course_id.to_string())
    }
    /// The course title.
    async fn course_title(&self) -> &str {
        &self.0.course_title
    }
    /// Required lessons complete, in percent.
    async fn percent(&self) -> f64 {
        self.0.enrollment.progress_percent
    }
    /// The first incomplete lesson in course order.
    async fn next_lesson_id(&self) -> Option<ID> {
        self.0.enrollment.next_lesson_id.map(|l| ID(l.to_string()))
    }
    /// Its title.
    async fn next_lesson_title(&self) -> Option<&str> {
        self.0.next_lesson_title.as_deref()
    }
    /// When the course is due.
    async fn due_at(&self) -> Option<DateTime<Utc>> {
        self.0.enrollment.due_at
    }
    /// Past its due date and not completed.
    async fn overdue(&self) -> bool {
        self.0.overdue
    }
    /// Whether the course is complete.
    async fn completed(&self) -> bool {
        self.0.enrollment.state == enrollment::state::COMPLETED
    }
    /// When it completed.
    async fn completed_at(&self) -> Option<DateTime<Utc>> {
        self.0.enrollment.completed_at
    }
    /// Whether the learner can learn now (active or completed); pending and waitlisted
    /// enrollments are shown too.
    async fn can_learn(&self) -> bool {
        matches!(
            self.0.enrollment.state.as_str(),
            enrollment::state::ACTIVE | enrollment::state::COMPLETED
        )
    }
}

/// The learner's dashboard.
pub struct MyLearningObject(pub views::MyLearning);

#[Object(name = "MyLearning")]
impl MyLearningObject {
    /// Enrollments: active ones first by due date, then completed and waiting ones.
    async fn items(&self) -> Vec<LearningItemObject> {
        self.0
            .items
            .iter()
            .cloned()
            .map(LearningItemObject)
            .collect()
    }
    /// JP of this WIB year against the 20 JP target, with the ledger rows behind it.
    async fn jp(&self) -> JpYear {
        JpYear(self.0.jp.clone())
    }
}

/// A person below the yearly JP target.
pub struct JpShortfall(pub BelowTarget);

#[Object]
impl JpShortfall {
    /// The person.
    async fn person_id(&self) -> ID {
        ID(self.0.person_id.to_string())
    }
    /// Their name.
    async fn name(&self) -> &str {
        &self.0.name
    }
    /// Their NIP/NI.
    async fn nip(&self) -> Option<&str> {
        self.0.nip.as_deref()
    }
    /// Their unit.
    async fn unit_id(&self) -> ID {
        ID(self.0.unit_id.to_string())
    }
    /// The unit's name.
    async fn unit_name(&self) -> &str {
        &self.0.unit_name
    }
    /// JP earned in the year.
    async fn total(&self) -> i64 {
        self.0.total
    }
    /// JP missing to the target.
    async fn missing(&self) -> i64 {
        (jp::JP_TARGET - self.0.total).max(0)
    }
}

/// Completion of a course in one unit subtree.
pub struct UnitCompletionRow(pub UnitCompletion);

#[Object]
impl UnitCompletionRow {
    /// The unit; its whole subtree counts.
    async fn unit_id(&self) -> ID {
        ID(self.0.unit_id.to_string())
    }
    /// Its name.
    async fn unit_name(&self) -> &str {
        &self.0.unit_name
    }
    /// People of the subtree enrolled (active or completed).
    async fn enrolled(&self) -> i64 {
        self.0.enrolled
    }
    /// Of those, completed.
    async fn completed(&self) -> i64 {
        self.0.completed
    }
    /// Completed in percent of enrolled (0 when none).
    async fn percent(&self) -> f64 {
        views::percent(self.0.enrolled, self.0.completed)
    }
}

/// What `recomputeCompletions` did.
#[derive(SimpleObject, Debug, Clone, Copy)]
pub struct RecomputeCompletionsPayload {
    /// Enrollments re-evaluated.
    pub enrollments: usize,
    /// Lessons that newly count as complete.
    pub lessons_completed: usize,
    /// Enrollments completed by this run.
    pub enrollments_completed: usize,
}

impl From<Recomputed> for RecomputeCompletionsPayload {
    fn from(r: Recomputed) -> Self {
        RecomputeCompletionsPayload {
            enrollments: r.enrollments,
            lessons_completed: r.lessons_completed,
            enrollments_completed: r.enrollments_completed,
        }
    }
}

/// Input of `recordExternalJp`.
#[derive(InputObject, Debug, Clone)]
pub struct RecordExternalJpInput {
    /// Who earned it.
    pub person_id: ID,
    /// Training hours, 1 to 500.
    pub jp: i32,
    /// When it was earned; its WIB year is the JP year.
    pub earned_at: DateTime<Utc>,
    /// What it was (training, organiser), 1 to 500 characters.
    pub description: String,
}

/// Progress queries.
#[derive(Default)]
pub struct ProgressQuery;

#[Object]
impl ProgressQuery {
    /// The signed-in learner's enrollments with their progress, and their JP this year.
    async fn my_learning(&self, ctx: &Context<'_>) -> async_graphql::Result<MyLearningObject> {
        let actor = actor(ctx)?;
        progress(ctx)?
            .my_learning(actor)
            .await
            .map(MyLearningObject)
            .gql()
    }

    /// A person's JP ledger for `year` (default: this WIB year) with the courses behind it: the
    /// person themself, admins, and unit admins whose subtree holds the person.
    async fn person_jp(
        &self,
        ctx: &Context<'_>,
        person_id: ID,
        year: Option<i32>,
    ) -> async_graphql::Result<JpYear> {
        let actor = actor(ctx)?;
        let id = parse_id("personId", &person_id)?;
        progress(ctx)?
            .person_jp(actor, id, year)
            .await
            .map(JpYear)
            .gql()
    }

    /// People below 20 JP in `year` (default: this WIB year), grouped by unit, with their total:
    /// admins; unit admins within their subtree (`unitId` narrows to a subtree).
    async fn jp_below_target(
        &self,
        ctx: &Context<'_>,
        year: Option<i32>,
        unit_id: Option<ID>,
        first: Option<i32>,
        after: Option<String>,
    ) -> async_graphql::Result<Connection<String, JpShortfall>> {
        let actor = actor(ctx)?;
        let unit = unit_id.map(|u| parse_id("unitId", &u)).transpose()?;
        let page = Page::new(first, after).map_err(ProgressError::from).gql()?;
        let has_prev = page.after.is_some();
        let found = progress(ctx)?
            .jp_below_target(actor, year, unit, page)
            .await
            .gql()?;
        let mut conn = Connection::new(has_prev, found.has_next);
        conn.edges.extend(
            found
                .rows
                .into_iter()
                .map(|r| Edge::new(r.cursor(), JpShortfall(r))),
        );
        Ok(conn)
    }

    /// Completion of a course by unit subtree: `unitId` (default: your unit; admins: the
    /// top-level units) and each of its child units. Admins and unit admins in scope.
    async fn unit_completion(
        &self,
        ctx: &Context<'_>,
        course_id: ID,
        unit_id: Option<ID>,
    ) -> async_graphql::Result<Vec<UnitCompletionRow>> {
        let actor = actor(ctx)?;
        let course = parse_id("courseId", &course_id)?;
        let unit = unit_id.map(|u| parse_id("unitId", &u)).transpose()?;
        progress(ctx)?
            .unit_completion(actor, course, unit)
            .await
            .map(|rows| rows.into_iter().map(UnitCompletionRow).collect())
            .gql()
    }
}

/// Progress mutations.
#[derive(Default)]
pub struct ProgressMutation;

#[Object]
impl ProgressMutation {
    /// Records a phone's progress events (at most 500 per call). Each event is accepted or
    /// rejected on its own; a replayed event is accepted as a duplicate and changes nothing.
    /// Under more load than the server can write, the call fails with TOO_MANY_REQUESTS and
    /// `extensions.retryAfter` (seconds): nothing of it was stored; send it again after that.
    async fn sync_progress(
        &self,
        ctx: &Context<'_>,
        events: Vec<ProgressEventInput>,
    ) -> async_graphql::Result<SyncProgressPayload> {
        let actor = actor(ctx)?;
        if events.len() > sync::MAX_BATCH {
            return Err(ProgressError::invalid(
                "events",
                format!(
                    "a sync carries at most {} events, not {}",
                    sync::MAX_BATCH,
                    events.len()
                ),
            ))
            .gql();
        }
        // Ids that do not parse are rejected one by one, like any other bad event.
        let mut results: Vec<Option<ProgressEventResult>> = Vec::with_capacity(events.len());
        let mut parsed = Vec::with_capacity(events.len());
        for e in &events {
            let client = Uuid::parse_str(e.client_event_id.as_str());
            let material = e
                .material_id
                .as_ref()
                .map(|m| Uuid::parse_str(m.as_str()))
                .transpose();
            match client.and_then(|c| Ok((c, material?))) {
                Err(_) => results.push(Some(ProgressEventResult {
                    client_event_id: e.client_event_id.clone(),
                    status: ProgressEventStatus::Rejected,
                    duplicate: false,
                    reason: Some(ProgressRejectReason::InvalidId),
                })),
                Ok((client_event_id, material_id)) => {
                    results.push(None);
                    parsed.push(sync::ProgressEvent {
                        client_event_id,
                        // An unparsable lesson id names no lesson.
                        lesson_id: Uuid::parse_str(e.lesson_id.as_str()).unwrap_or(Uuid::nil()),
                        kind: e.kind,
                        from_seconds: e.from_seconds,
                        to_seconds: e.to_seconds,
                        position_seconds: e.position_seconds,
                        page: e.page,
                        occurred_at: e.occurred_at,
                        material_id,
                    });
                }
            }
        }
        let out = progress(ctx)?.sync(actor, parsed).await.gql()?;
        let mut outcomes = out.outcomes.into_iter();
        let results = results
            .into_iter()
            .filter_map(|r| r.or_else(|| outcomes.next().map(Into::into)))
            .collect();
        Ok(SyncProgressPayload {
            results,
            lessons: out.lessons,
            enrollments: out.enrollments,
        })
    }

    /// Re-evaluates every enrollment of a course under its current completion rules; completes
    /// those that now satisfy them, never revokes. Admins; audited. The platform runs the same
    /// after each edit to a published course that changes which lessons count, what completes
    /// them or their order; this is for anything else (a rule changed outside the API).
    async fn recompute_completions(
        &self,
        ctx: &Context<'_>,
        course_id: ID,
    ) -> async_graphql::Result<RecomputeCompletionsPayload> {
        let actor = actor(ctx)?;
        let id = parse_id("courseId", &course_id)?;
        progress(ctx)?
            .recompute_completions(actor, id)
            .await
            .map(Into::into)
            .gql()
    }

    /// Records JP earned outside the platform: admins, unit admins for people in their subtree;
    /// audited. Returns the person's ledger for the credit's JP year.
    async fn record_external_jp(
        &self,
        ctx: &Context<'_>,
        input: RecordExternalJpInput,
    ) -> async_graphql::Result<JpYear> {
        let actor = actor(ctx)?;
        let person_id = parse_id("personId", &input.person_id)?;
        let svc = progress(ctx)?;
        let row: jp_ledger::Model = svc
            .record_external_jp(
                actor,
                ExternalJp {
                    person_id,
                    jp: input.jp,
                    earned_at: input.earned_at,
                    description: input.description,
                },
            )
            .await
            .gql()?;
        jp::ledger(&svc.db, person_id, row.year)
            .await
            .map(JpYear)
            .gql()
    }
}
