//! A course's structure: ordered modules, each with ordered lessons.
//!
//! - Positions of the active (not archived) modules of a course, and of the active lessons of a
//!   module, are always `0..n`: every change rewrites them in its transaction. Archived ones
//!   keep their last position and are listed after the active ones.
//! - Deleting in a course that has ever been published archives instead (the id stays, learners
//!   no longer see it, editors see it flagged), because learners may have records on it.
//!   Archiving a module archives its active lessons with it. In a course never published,
//!   deleting really deletes.
//! - Lesson kinds and their completion rule: a video completes when this share of it was
//!   watched (default 0.9); a document when this share of its pages was viewed (default 0.9);
//!   a text lesson when opened (threshold always 1.0). Lessons are required by default.
//! - A lesson reaches learners when it is published: the lessons a course has when it is first
//!   published go out with it; one added later waits, hidden from learners and not counted
//!   toward completion, until an editor publishes it ([`Courses::publish_lesson`]) after the
//!   readiness check the course passed.
//! - Every change runs under the course's lock ([`crate::lifecycle::lock_course`]), so two
//!   editors reordering at once never interleave their position writes.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Utc};
use jobs::JobQueue;
use kernel::{Actor, Role};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, Set,
};
use serde_json::json;
use uuid::Uuid;

use crate::Courses;
use crate::entity::{course, course_module, lesson, material, upload};
use crate::error::CourseError;
use crate::lifecycle::{MAX_TITLE, multiline_text, required_line};

/// Longest module description.
pub const MAX_MODULE_DESCRIPTION: usize = 10_000;
/// Largest Markdown body of a lesson, in bytes (200 KiB).
pub const MAX_BODY_BYTES: usize = 200 * 1024;
/// The default completion threshold of video and document lessons.
pub const DEFAULT_THRESHOLD: f64 = 0.9;
/// The job that brings the enrollments of a course already out up to date after an edit
/// changed which lessons count toward completion, what completes them, or their order
/// (`requiredTotal`, `nextLessonId`, a completion that archiving a required lesson made due).
/// The progress crate runs it, since course cannot depend on progress. Payload:
/// `{"courseId": "<uuid>"}`.
pub const PLAN_CHANGED_JOB: &str = "course.plan_changed";
/// Attempts of a [`PLAN_CHANGED_JOB`].
const PLAN_CHANGED_ATTEMPTS: u32 = 5;

/// What a lesson is made of.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, async_graphql::Enum)]
pub enum LessonKind {
    /// A recorded video; completes when the threshold share of it was watched.
    Video,
    /// A document (PDF, slides); completes when the threshold share of its pages was viewed.
    Document,
    /// Markdown text; completes when opened.
    Text,
    /// A quiz (pre-test, post-test, practice or graded): completed by the quiz crate, on submit
    /// for a pre-test and on a pass otherwise; never by progress events.
    Quiz,
    /// A survey (reaction or follow-up): completed by the evaluation crate when answered.
    Survey,
}

impl LessonKind {
    /// The stored form.
    pub fn as_str(self) -> &'static str {
        match self {
            LessonKind::Video => "video",
            LessonKind::Document => "document",
            LessonKind::Text => "text",
            LessonKind::Quiz => "quiz",
            LessonKind::Survey => "survey",
        }
    }

    /// Reads the stored form.
    pub fn from_stored(s: &str) -> Option<Self> {
        match s {
            "video" => Some(LessonKind::Video),
            "document" => Some(LessonKind::Document),
            "text" => Some(LessonKind::Text),
            "quiz" => Some(LessonKind::Quiz),
            "survey" => Some(LessonKind::Survey),
            _ => None,
        }
    }

    /// The completion threshold of a new lesson of this kind.
    pub fn default_threshold(self) -> f64 {
        match self {
            LessonKind::Video | LessonKind::Document => DEFAULT_THRESHOLD,
            LessonKind::Text | LessonKind::Quiz | LessonKind::Survey => 1.0,
        }
    }

    /// Whether another crate completes lessons of this kind (quiz, survey), not progress events.
    pub fn completed_elsewhere(self) -> bool {
        matches!(self, LessonKind::Quiz | LessonKind::Survey)
    }
}

/// Checks a completion threshold for a lesson of `kind`.
///
/// # Errors
/// BAD_USER_INPUT on `completionThreshold`: outside `(0, 1]`, or other than 1 for a text lesson.
pub fn check_threshold(kind: LessonKind, threshold: f64) -> Result<f64, CourseError> {
    if kind == LessonKind::Text && threshold != 1.0 {
        return Err(CourseError::invalid(
            "completionThreshold",
            "a text lesson completes when opened; its threshold is always 1.0",
        ));
    }
    if kind.completed_elsewhere() && threshold != 1.0 {
        return Err(CourseError::invalid(
            "completionThreshold",
            "a quiz or survey lesson completes when taken; its threshold is always 1.0",
        ));
    }
    if !(threshold > 0.0 && threshold <= 1.0) {
        return Err(CourseError::invalid(
            "completionThreshold",
            format!("the completion threshold is a share above 0 and at most 1, not {threshold}"),
        ));
    }
    Ok(threshold)
}

/// Checks a Markdown body: at most 200 KiB, no control characters but line breaks and tabs.
///
/// # Errors
/// BAD_USER_INPUT on `body`.
pub fn check_body(raw: &str) -> Result<Option<String>, CourseError> {
    if raw.len() > MAX_BODY_BYTES {
        return Err(CourseError::invalid(
            "body",
            format!(
                "the lesson body must be at most {} KiB of Markdown",
                MAX_BODY_BYTES / 1024
            ),
        ));
    }
    let body = multiline_text("body", raw, usize::MAX)?;
    Ok((!body.is_empty()).then_some(body))
}

/// Checks a requested position against the `len` items it goes among.
fn check_position(
    field: &'static str,
    position: Option<i32>,
    len: usize,
) -> Result<usize, CourseError> {
    match position {
        None => Ok(len),
        Some(p) => usize::try_from(p)
            .ok()
            .filter(|p| *p <= len)
            .ok_or_else(|| {
                CourseError::invalid(field, format!("{field} must be between 0 and {len}"))
            }),
    }
}

/// Checks that a reorder list names each item once and exactly the current active set.
fn check_same_set(
    field: &'static str,
    what: &str,
    given: &[Uuid],
    current: &[Uuid],
) -> Result<(), CourseError> {
    let mut seen = HashSet::new();
    if let Some(dup) = given.iter().find(|id| !seen.insert(**id)) {
        return Err(CourseError::invalid(
            field,
            format!("{dup} is listed more than once"),
        ));
    }
    let current: HashSet<&Uuid> = current.iter().collect();
    if given.len() != current.len() || given.iter().any(|id| !current.contains(id)) {
        // Usually a stale client: someone added or removed one meanwhile.
        return Err(CourseError::Conflict(format!(
            "the list must hold exactly the {} current {what}, each once; reload and try again",
            current.len()
        )));
    }
    Ok(())
}

/// Input for a new module.
#[derive(Debug, Clone, Default)]
pub struct NewModule {
    /// Title.
    pub title: String,
    /// Description.
    pub description: Option<String>,
    /// Where to insert it among the active modules (default: at the end).
    pub position: Option<i32>,
}

/// Changes to a module; `None` leaves a field as it is, an empty description clears it.
#[derive(Debug, Clone, Default)]
pub struct ModuleChanges {
    /// Title.
    pub title: Option<String>,
    /// Description.
    pub description: Option<String>,
}

/// Input for a new lesson.
#[derive(Debug, Clone)]
pub struct NewLesson {
    /// Title.
    pub title: String,
    /// Kind.
    pub kind: LessonKind,
    /// Whether completing the course needs it (default true).
    pub required: Option<bool>,
    /// Completion threshold (default by kind).
    pub completion_threshold: Option<f64>,
    /// Markdown body.
    pub body: Option<String>,
    /// Where to insert it among the module's active lessons (default: at the end).
    pub position: Option<i32>,
}

/// Changes to a lesson; `None` leaves a field as it is, an empty body clears it. The kind does
/// not change: a lesson of another kind is a new lesson.
#[derive(Debug, Clone, Default)]
pub struct LessonChanges {
    /// Title.
    pub title: Option<String>,
    /// Whether it is required.
    pub required: Option<bool>,
    /// Completion threshold.
    pub completion_threshold: Option<f64>,
    /// Markdown body.
    pub body: Option<String>,
}

/// What a delete did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Removal {
    /// The row is gone (the course was never published).
    Deleted,
    /// The row stays, archived, because learners may have records on it.
    Archived,
}

/// Queues [`PLAN_CHANGED_JOB`] for `course` in `conn`'s transaction when the course has been
/// published (before that no learner has a record to bring up to date). Changes in a row leave
/// one queued job.
///
/// # Errors
/// INTERNAL when the insert fails.
pub(crate) async fn queue_plan_change(
    jobs: &JobQueue,
    conn: &impl ConnectionTrait,
    course: &course::Model,
) -> Result<(), CourseError> {
    if course.published_at.is_some() {
        jobs.enqueue_once_in(
            conn,
            PLAN_CHANGED_JOB,
            json!({ "courseId": course.id }),
            None,
            PLAN_CHANGED_ATTEMPTS,
        )
        .await?;
    }
    Ok(())
}

/// A module by id.
///
/// # Errors
/// NOT_FOUND.
pub async fn find_module(
    conn: &impl ConnectionTrait,
    id: Uuid,
) -> Result<course_module::Model, CourseError> {
    course_module::Entity::find_by_id(id)
        .one(conn)
        .await?
        .ok_or(CourseError::NotFound("module"))
}

/// A lesson by id.
///
/// # Errors
/// NOT_FOUND.
pub async fn find_lesson(
    conn: &impl ConnectionTrait,
    id: Uuid,
) -> Result<lesson::Model, CourseError> {
    lesson::Entity::find_by_id(id)
        .one(conn)
        .await?
        .ok_or(CourseError::NotFound("lesson"))
}

/// The modules of the courses in `course_ids` (archived ones too), in one query: per course,
/// active ones by position, then archived ones.
///
/// # Errors
/// INTERNAL on database failure.
pub async fn modules_of(
    conn: &impl ConnectionTrait,
    course_ids: &[Uuid],
) -> Result<Vec<course_module::Model>, CourseError> {
    let mut rows = course_module::Entity::find()
        .filter(course_module::Column::CourseId.is_in(course_ids.iter().copied()))
        .order_by_asc(course_module::Column::Position)
        .order_by_asc(course_module::Column::Id)
        .all(conn)
        .await?;
    // Stable: keeps the position order inside each group.
    rows.sort_by_key(|m| (m.course_id, m.archived_at.is_some()));
    Ok(rows)
}

/// The lessons of the modules in `module_ids` (archived ones too), in one query: per module,
/// active ones by position, then archived ones.
///
/// # Errors
/// INTERNAL on database failure.
pub async fn lessons_of(
    conn: &impl ConnectionTrait,
    module_ids: &[Uuid],
) -> Result<Vec<lesson::Model>, CourseError> {
    let mut rows = lesson::Entity::find()
        .filter(lesson::Column::ModuleId.is_in(module_ids.iter().copied()))
        .order_by_asc(lesson::Column::Position)
        .order_by_asc(lesson::Column::Id)
        .all(conn)
        .await?;
    rows.sort_by_key(|l| (l.module_id, l.archived_at.is_some()));
    Ok(rows)
}

/// Whether `actor` edits a course owned by `owners`: the rule of
/// [`crate::access::require_editor`], for callers that already loaded the owners (the GraphQL
/// layer shows archived modules and lessons to editors only).
pub fn is_editor(actor: &Actor, owners: &[Uuid]) -> bool {
    actor.is_admin()
        || (actor.has(Role::Trainer) && actor.person_id.is_some_and(|me| owners.contains(&me)))
}

async fn active_modules(
    conn: &impl ConnectionTrait,
    course_id: Uuid,
) -> Result<Vec<course_module::Model>, CourseError> {
    Ok(course_module::Entity::find()
        .filter(course_module::Column::CourseId.eq(course_id))
        .filter(course_module::Column::ArchivedAt.is_null())
        .order_by_asc(course_module::Column::Position)
        .order_by_asc(course_module::Column::Id)
        .all(conn)
        .await?)
}

async fn active_lessons(
    conn: &impl ConnectionTrait,
    module_id: Uuid,
) -> Result<Vec<lesson::Model>, CourseError> {
    Ok(lesson::Entity::find()
        .filter(lesson::Column::ModuleId.eq(module_id))
        .filter(lesson::Column::ArchivedAt.is_null())
        .order_by_asc(lesson::Column::Position)
        .order_by_asc(lesson::Column::Id)
        .all(conn)
        .await?)
}

/// Writes positions `0..n` to modules in `order` (id, current position), touching only those
/// that move.
async fn number_modules(
    conn: &impl ConnectionTrait,
    order: &[(Uuid, i32)],
    now: DateTime<Utc>,
) -> Result<(), CourseError> {
    for (i, (id, current)) in order.iter().enumerate() {
        let want = i32::try_from(i).unwrap_or(i32::MAX);
        if *current != want {
            course_module::Entity::update_many()
                .col_expr(course_module::Column::Position, Expr::value(want))
                .col_expr(course_module::Column::UpdatedAt, Expr::value(now))
                .filter(course_module::Column::Id.eq(*id))
                .exec(conn)
                .await?;
        }
    }
    Ok(())
}

/// Writes positions `0..n` to lessons in `order` (id, current position) and puts them in
/// `module_id`, touching only those that change.
async fn number_lessons(
    conn: &impl ConnectionTrait,
    module_id: Uuid,
    order: &[(Uuid, Uuid, i32)],
    now: DateTime<Utc>,
) -> Result<(), CourseError> {
    for (i, (id, current_module, current)) in order.iter().enumerate() {
        let want = i32::try_from(i).unwrap_or(i32::MAX);
        if *current != want || *current_module != module_id {
            lesson::Entity::update_many()
                .col_expr(lesson::Column::Position, Expr::value(want))
                .col_expr(lesson::Column::ModuleId, Expr::value(module_id))
                .col_expr(lesson::Column::UpdatedAt, Expr::value(now))
                .filter(lesson::Column::Id.eq(*id))
                .exec(conn)
                .await?;
        }
    }
    Ok(())
}

fn module_order(modules: &[course_module::Model]) -> Vec<(Uuid, i32)> {
    modules.iter().map(|m| (m.id, m.position)).collect()
}

fn lesson_order(lessons: &[lesson::Model]) -> Vec<(Uuid, Uuid, i32)> {
    lessons
        .iter()
        .map(|l| (l.id, l.module_id, l.position))
        .collect()
}

/// Deletes lessons for good, first detaching the uploads and materials that name them (they
/// belong to the course and are cleaned up with it; the foreign key from uploads would refuse).
async fn delete_lessons(conn: &impl ConnectionTrait, ids: &[Uuid]) -> Result<(), CourseError> {
    if ids.is_empty() {
        return Ok(());
    }
    upload::Entity::update_many()
        .col_expr(upload::Column::LessonId, Expr::value(Option::<Uuid>::None))
        .filter(upload::Column::LessonId.is_in(ids.iter().copied()))
        .exec(conn)
        .await?;
    material::Entity::update_many()
        .col_expr(
            material::Column::LessonId,
            Expr::value(Option::<Uuid>::None),
        )
        .filter(material::Column::LessonId.is_in(ids.iter().copied()))
        .exec(conn)
        .await?;
    lesson::Entity::delete_many()
        .filter(lesson::Column::Id.is_in(ids.iter().copied()))
        .exec(conn)
        .await?;
    Ok(())
}

fn archived_conflict(what: &str) -> CourseError {
    CourseError::Conflict(format!("the {what} is archived and cannot change"))
}

impl Courses {
    /// A lesson with its course, for an actor who may edit the course (the media pipeline
    /// attaches materials through this).
    ///
    /// # Errors
    /// NOT_FOUND; FORBIDDEN for non-editors.
    pub async fn editable_lesson(
        &self,
        actor: &Actor,
        lesson_id: Uuid,
    ) -> Result<(course::Model, lesson::Model), CourseError> {
        let lesson = find_lesson(&self.db, lesson_id).await?;
        let course = crate::access::find_course(&self.db, lesson.course_id).await?;
        crate::access::require_editor(&self.db, actor, &course).await?;
        Ok((course, lesson))
    }

    /// Opens a change to a lesson that is not archived: its course locked and editable by
    /// `actor`, the lesson read under that lock.
    ///
    /// # Errors
    /// NOT_FOUND; FORBIDDEN for non-editors; CONFLICT for an archived lesson or while the course
    /// is closed to the actor.
    async fn begin_lesson_edit(
        &self,
        actor: &Actor,
        lesson_id: Uuid,
    ) -> Result<(crate::lifecycle::Edit, lesson::Model), CourseError> {
        let course_id = find_lesson(&self.db, lesson_id).await?.course_id;
        let edit = self.begin_edit(actor, course_id).await?;
        let current = find_lesson(&edit.tx, lesson_id).await?;
        if current.archived_at.is_some() {
            return Err(archived_conflict("lesson"));
        }
        Ok((edit, current))
    }

    /// Queues [`PLAN_CHANGED_JOB`] in `edit`'s transaction (see [`queue_plan_change`]).
    ///
    /// # Errors
    /// INTERNAL when the insert fails.
    async fn plan_changed(&self, edit: &crate::lifecycle::Edit) -> Result<(), CourseError> {
        queue_plan_change(&self.jobs, &edit.tx, &edit.course).await
    }

    /// Adds a module to a course.
    ///
    /// # Errors
    /// NOT_FOUND; FORBIDDEN for non-editors; BAD_USER_INPUT for a bad title, description or
    /// position; CONFLICT while the course is closed to the actor.
    pub async fn create_module(
        &self,
        actor: &Actor,
        course_id: Uuid,
        input: NewModule,
    ) -> Result<(course::Model, course_module::Model), CourseError> {
        let title = required_line("title", &input.title, MAX_TITLE)?;
        let description = input
            .description
            .as_deref()
            .map(|d| multiline_text("description", d, MAX_MODULE_DESCRIPTION))
            .transpose()?
            .filter(|d| !d.is_empty());
        let edit = self.begin_edit(actor, course_id).await?;
        let mut order = module_order(&active_modules(&edit.tx, course_id).await?);
        let at = check_position("position", input.position, order.len())?;
        let id = kernel::new_id();
        // Parked at the end while the others are renumbered around its slot.
        let parked = i32::try_from(order.len()).unwrap_or(i32::MAX);
        let model = course_module::ActiveModel {
            id: Set(id),
            course_id: Set(course_id),
            position: Set(parked),
            title: Set(title.clone()),
            description: Set(description),
            archived_at: Set(None),
            created_at: Set(edit.now),
            updated_at: Set(edit.now),
        }
        .insert(&edit.tx)
        .await?;
        order.insert(at, (id, parked));
        number_modules(&edit.tx, &order, edit.now).await?;
        let model = course_module::Model {
            position: i32::try_from(at).unwrap_or(i32::MAX),
            ..model
        };
        let course = edit.course.clone();
        edit.finish(
            actor,
            "course.module.create",
            "course_module",
            id,
            json!({"courseId": course_id, "title": title}),
        )
        .await?;
        Ok((course, model))
    }

    /// Changes a module's title or description.
    ///
    /// # Errors
    /// NOT_FOUND; FORBIDDEN for non-editors; BAD_USER_INPUT; CONFLICT for an archived module or
    /// while the course is closed to the actor.
    pub async fn update_module(
        &self,
        actor: &Actor,
        module_id: Uuid,
        changes: ModuleChanges,
    ) -> Result<(course::Model, course_module::Model), CourseError> {
        let title = changes
            .title
            .as_deref()
            .map(|t| required_line("title", t, MAX_TITLE))
            .transpose()?;
        let description = changes
            .description
            .as_deref()
            .map(|d| multiline_text("description", d, MAX_MODULE_DESCRIPTION))
            .transpose()?;
        let course_id = find_module(&self.db, module_id).await?.course_id;
        let edit = self.begin_edit(actor, course_id).await?;
        let current = find_module(&edit.tx, module_id).await?;
        if current.archived_at.is_some() {
            return Err(archived_conflict("module"));
        }
        let mut am: course_module::ActiveModel = current.into();
        if let Some(title) = title {
            am.title = Set(title);
        }
        if let Some(description) = description {
            am.description = Set((!description.is_empty()).then_some(description));
        }
        am.updated_at = Set(edit.now);
        let model = am.update(&edit.tx).await?;
        let course = edit.course.clone();
        edit.finish(
            actor,
            "course.module.update",
            "course_module",
            module_id,
            json!({"courseId": course_id}),
        )
        .await?;
        Ok((course, model))
    }

    /// Deletes a module with its lessons, or archives them when the course has ever been
    /// published. Deleting an archived module again changes nothing.
    ///
    /// # Errors
    /// NOT_FOUND; FORBIDDEN for non-editors; CONFLICT while the course is closed to the actor.
    pub async fn delete_module(
        &self,
        actor: &Actor,
        module_id: Uuid,
    ) -> Result<Removal, CourseError> {
        let course_id = find_module(&self.db, module_id).await?.course_id;
        let edit = self.begin_edit(actor, course_id).await?;
        let current = find_module(&edit.tx, module_id).await?;
        if current.archived_at.is_some() {
            return Ok(Removal::Archived);
        }
        let removal = if edit.course.published_at.is_some() {
            lesson::Entity::update_many()
                .col_expr(lesson::Column::ArchivedAt, Expr::value(edit.now))
                .col_expr(lesson::Column::UpdatedAt, Expr::value(edit.now))
                .filter(lesson::Column::ModuleId.eq(module_id))
                .filter(lesson::Column::ArchivedAt.is_null())
                .exec(&edit.tx)
                .await?;
            let mut am: course_module::ActiveModel = current.into();
            am.archived_at = Set(Some(edit.now));
            am.updated_at = Set(edit.now);
            am.update(&edit.tx).await?;
            self.plan_changed(&edit).await?;
            Removal::Archived
        } else {
            let lessons: Vec<Uuid> = lesson::Entity::find()
                .filter(lesson::Column::ModuleId.eq(module_id))
                .all(&edit.tx)
                .await?
                .into_iter()
                .map(|l| l.id)
                .collect();
            delete_lessons(&edit.tx, &lessons).await?;
            course_module::Entity::delete_by_id(module_id)
                .exec(&edit.tx)
                .await?;
            Removal::Deleted
        };
        let rest = module_order(&active_modules(&edit.tx, course_id).await?);
        number_modules(&edit.tx, &rest, edit.now).await?;
        let action = match removal {
            Removal::Deleted => "course.module.delete",
            Removal::Archived => "course.module.archive",
        };
        edit.finish(
            actor,
            action,
            "course_module",
            module_id,
            json!({"courseId": course_id}),
        )
        .await?;
        Ok(removal)
    }

    /// Puts a course's active modules in the given order (positions `0..n`).
    ///
    /// # Errors
    /// NOT_FOUND; FORBIDDEN for non-editors; BAD_USER_INPUT for an id listed twice; CONFLICT
    /// when the list is not exactly the current active modules, or while the course is closed
    /// to the actor.
    pub async fn reorder_modules(
        &self,
        actor: &Actor,
        course_id: Uuid,
        module_ids: &[Uuid],
    ) -> Result<course::Model, CourseError> {
        let edit = self.begin_edit(actor, course_id).await?;
        let current = active_modules(&edit.tx, course_id).await?;
        let ids: Vec<Uuid> = current.iter().map(|m| m.id).collect();
        check_same_set("moduleIds", "modules", module_ids, &ids)?;
        let positions: HashMap<Uuid, i32> = current.iter().map(|m| (m.id, m.position)).collect();
        let order: Vec<(Uuid, i32)> = module_ids
            .iter()
            .map(|id| (*id, positions.get(id).copied().unwrap_or(-1)))
            .collect();
        number_modules(&edit.tx, &order, edit.now).await?;
        self.plan_changed(&edit).await?;
        let course = edit.course.clone();
        edit.finish(
            actor,
            "course.modules.reorder",
            "course",
            course_id,
            json!({"moduleIds": module_ids}),
        )
        .await?;
        Ok(course)
    }

    /// Adds a lesson to a module.
    ///
    /// # Errors
    /// NOT_FOUND; FORBIDDEN for non-editors; BAD_USER_INPUT for a bad title, threshold, body or
    /// position; CONFLICT for an archived module or while the course is closed to the actor.
    pub async fn create_lesson(
        &self,
        actor: &Actor,
        module_id: Uuid,
        input: NewLesson,
    ) -> Result<(course::Model, lesson::Model), CourseError> {
        let title = required_line("title", &input.title, MAX_TITLE)?;
        let threshold = check_threshold(
            input.kind,
            input
                .completion_threshold
                .unwrap_or_else(|| input.kind.default_threshold()),
        )?;
        let body = match input.body.as_deref() {
            Some(b) => check_body(b)?,
            None => None,
        };
        let course_id = find_module(&self.db, module_id).await?.course_id;
        let edit = self.begin_edit(actor, course_id).await?;
        let module = find_module(&edit.tx, module_id).await?;
        if module.archived_at.is_some() {
            return Err(archived_conflict("module"));
        }
        let mut order = lesson_order(&active_lessons(&edit.tx, module_id).await?);
        let at = check_position("position", input.position, order.len())?;
        let id = kernel::new_id();
        let parked = i32::try_from(order.len()).unwrap_or(i32::MAX);
        let model = lesson::ActiveModel {
            id: Set(id),
            course_id: Set(course_id),
            module_id: Set(module_id),
            position: Set(parked),
            title: Set(title.clone()),
            kind: Set(input.kind.as_str().to_owned()),
            required: Set(input.required.unwrap_or(true)),
            completion_threshold: Set(threshold),
            body: Set(body),
            material_id: Set(None),
            archived_at: Set(None),
            // Published with its course, or by `publish_lesson` once the course is out.
            published_at: Set(None),
            created_at: Set(edit.now),
            updated_at: Set(edit.now),
        }
        .insert(&edit.tx)
        .await?;
        order.insert(at, (id, module_id, parked));
        number_lessons(&edit.tx, module_id, &order, edit.now).await?;
        let model = lesson::Model {
            position: i32::try_from(at).unwrap_or(i32::MAX),
            ..model
        };
        let course = edit.course.clone();
        edit.finish(
            actor,
            "course.lesson.create",
            "lesson",
            id,
            json!({"courseId": course_id, "moduleId": module_id, "title": title}),
        )
        .await?;
        Ok((course, model))
    }

    /// Changes a lesson's title, required flag, completion threshold or body.
    ///
    /// # Errors
    /// NOT_FOUND; FORBIDDEN for non-editors; BAD_USER_INPUT; CONFLICT for an archived lesson or
    /// while the course is closed to the actor.
    pub async fn update_lesson(
        &self,
        actor: &Actor,
        lesson_id: Uuid,
        changes: LessonChanges,
    ) -> Result<(course::Model, lesson::Model), CourseError> {
        let title = changes
            .title
            .as_deref()
            .map(|t| required_line("title", t, MAX_TITLE))
            .transpose()?;
        let body = changes.body.as_deref().map(check_body).transpose()?;
        let (edit, current) = self.begin_lesson_edit(actor, lesson_id).await?;
        let kind = LessonKind::from_stored(&current.kind).ok_or_else(|| {
            CourseError::Internal(format!("lesson {lesson_id} has kind {}", current.kind))
        })?;
        let threshold = changes
            .completion_threshold
            .map(|t| check_threshold(kind, t))
            .transpose()?;
        let mut am: lesson::ActiveModel = current.into();
        let mut changed = serde_json::Map::new();
        if let Some(title) = title {
            am.title = Set(title);
            changed.insert("title".into(), json!(true));
        }
        if let Some(required) = changes.required {
            am.required = Set(required);
            changed.insert("required".into(), json!(required));
        }
        if let Some(threshold) = threshold {
            am.completion_threshold = Set(threshold);
            changed.insert("completionThreshold".into(), json!(threshold));
        }
        if let Some(body) = body {
            am.body = Set(body);
            changed.insert("body".into(), json!(true));
        }
        am.updated_at = Set(edit.now);
        let model = am.update(&edit.tx).await?;
        if model.published_at.is_some() && (changes.required.is_some() || threshold.is_some()) {
            self.plan_changed(&edit).await?;
        }
        let course = edit.course.clone();
        edit.finish(
            actor,
            "course.lesson.update",
            "lesson",
            lesson_id,
            serde_json::Value::Object(changed),
        )
        .await?;
        Ok((course, model))
    }

    /// Deletes a lesson, or archives it when the course has ever been published. Deleting an
    /// archived lesson again changes nothing.
    ///
    /// # Errors
    /// NOT_FOUND; FORBIDDEN for non-editors; CONFLICT while the course is closed to the actor.
    pub async fn delete_lesson(
        &self,
        actor: &Actor,
        lesson_id: Uuid,
    ) -> Result<Removal, CourseError> {
        let course_id = find_lesson(&self.db, lesson_id).await?.course_id;
        let edit = self.begin_edit(actor, course_id).await?;
        let current = find_lesson(&edit.tx, lesson_id).await?;
        if current.archived_at.is_some() {
            return Ok(Removal::Archived);
        }
        let module_id = current.module_id;
        let removal = if edit.course.published_at.is_some() {
            let published = current.published_at.is_some();
            let mut am: lesson::ActiveModel = current.into();
            am.archived_at = Set(Some(edit.now));
            am.updated_at = Set(edit.now);
            am.update(&edit.tx).await?;
            if published {
                self.plan_changed(&edit).await?;
            }
            Removal::Archived
        } else {
            delete_lessons(&edit.tx, &[lesson_id]).await?;
            Removal::Deleted
        };
        let rest = lesson_order(&active_lessons(&edit.tx, module_id).await?);
        number_lessons(&edit.tx, module_id, &rest, edit.now).await?;
        let action = match removal {
            Removal::Deleted => "course.lesson.delete",
            Removal::Archived => "course.lesson.archive",
        };
        edit.finish(
            actor,
            action,
            "lesson",
            lesson_id,
            json!({"courseId": course_id, "moduleId": module_id}),
        )
        .await?;
        Ok(removal)
    }

    /// Puts a module's active lessons in the given order (positions `0..n`).
    ///
    /// # Errors
    /// NOT_FOUND; FORBIDDEN for non-editors; BAD_USER_INPUT for an id listed twice; CONFLICT
    /// when the list is not exactly the module's current active lessons, for an archived
    /// module, or while the course is closed to the actor.
    pub async fn reorder_lessons(
        &self,
        actor: &Actor,
        module_id: Uuid,
        lesson_ids: &[Uuid],
    ) -> Result<(course::Model, course_module::Model), CourseError> {
        let course_id = find_module(&self.db, module_id).await?.course_id;
        let edit = self.begin_edit(actor, course_id).await?;
        let module = find_module(&edit.tx, module_id).await?;
        if module.archived_at.is_some() {
            return Err(archived_conflict("module"));
        }
        let current = active_lessons(&edit.tx, module_id).await?;
        let ids: Vec<Uuid> = current.iter().map(|l| l.id).collect();
        check_same_set("lessonIds", "lessons of the module", lesson_ids, &ids)?;
        let positions: HashMap<Uuid, i32> = current.iter().map(|l| (l.id, l.position)).collect();
        let order: Vec<(Uuid, Uuid, i32)> = lesson_ids
            .iter()
            .map(|id| (*id, module_id, positions.get(id).copied().unwrap_or(-1)))
            .collect();
        number_lessons(&edit.tx, module_id, &order, edit.now).await?;
        self.plan_changed(&edit).await?;
        let course = edit.course.clone();
        edit.finish(
            actor,
            "course.lessons.reorder",
            "course_module",
            module_id,
            json!({"courseId": course_id, "lessonIds": lesson_ids}),
        )
        .await?;
        Ok((course, module))
    }

    /// Moves a lesson to `position` in another (or the same) module of its course.
    ///
    /// # Errors
    /// NOT_FOUND; FORBIDDEN for non-editors; BAD_USER_INPUT for a module of another course or a
    /// position out of range; CONFLICT for an archived lesson or module, or while the course
    /// is closed to the actor.
    pub async fn move_lesson(
        &self,
        actor: &Actor,
        lesson_id: Uuid,
        to_module_id: Uuid,
        position: i32,
    ) -> Result<(course::Model, lesson::Model), CourseError> {
        let (edit, current) = self.begin_lesson_edit(actor, lesson_id).await?;
        let target = course_module::Entity::find_by_id(to_module_id)
            .one(&edit.tx)
            .await?
            .ok_or(CourseError::NotFound("module"))?;
        let course_id = edit.course.id;
        if target.course_id != course_id {
            return Err(CourseError::invalid(
                "toModuleId",
                "a lesson moves only between modules of its own course",
            ));
        }
        if target.archived_at.is_some() {
            return Err(archived_conflict("module"));
        }
        let from_module = current.module_id;
        let mut order: Vec<(Uuid, Uuid, i32)> =
            lesson_order(&active_lessons(&edit.tx, to_module_id).await?)
                .into_iter()
                .filter(|(id, _, _)| *id != lesson_id)
                .collect();
        let at = check_position("position", Some(position), order.len())?;
        if from_module != to_module_id {
            let rest: Vec<(Uuid, Uuid, i32)> =
                lesson_order(&active_lessons(&edit.tx, from_module).await?)
                    .into_iter()
                    .filter(|(id, _, _)| *id != lesson_id)
                    .collect();
            number_lessons(&edit.tx, from_module, &rest, edit.now).await?;
        }
        order.insert(at, (lesson_id, from_module, current.position));
        number_lessons(&edit.tx, to_module_id, &order, edit.now).await?;
        let model = find_lesson(&edit.tx, lesson_id).await?;
        self.plan_changed(&edit).await?;
        let course = edit.course.clone();
        edit.finish(
            actor,
            "course.lesson.move",
            "lesson",
            lesson_id,
            json!({"courseId": course_id, "fromModuleId": from_module, "toModuleId": to_module_id, "position": at}),
        )
        .await?;
        Ok((course, model))
    }

    /// Publishes a lesson added to a course that is already out, once it is ready for learners
    /// (the check the course passed: a ready recording or document, a quiz with questions).
    /// From then on learners see it and it counts toward completion; enrollments already
    /// completed stay completed. The lessons of a course not yet published go out with it.
    /// Publishing a published lesson again changes nothing, so a client may resend.
    ///
    /// # Errors
    /// NOT_FOUND; FORBIDDEN for non-editors; CONFLICT for an archived lesson, a course not yet
    /// published, a lesson that is not ready (saying why), or while the course is closed to the
    /// actor.
    pub async fn publish_lesson(
        &self,
        actor: &Actor,
        lesson_id: Uuid,
    ) -> Result<(course::Model, lesson::Model), CourseError> {
        let (edit, current) = self.begin_lesson_edit(actor, lesson_id).await?;
        if edit.course.published_at.is_none() {
            return Err(CourseError::Conflict(
                "the course has not been published yet; its lessons reach learners with it".into(),
            ));
        }
        if current.published_at.is_some() {
            return Ok((edit.course, current));
        }
        crate::readiness::require_lesson_ready(&edit.tx, &current, self.readiness.as_deref())
            .await?;
        let mut am: lesson::ActiveModel = current.into();
        am.published_at = Set(Some(edit.now));
        am.updated_at = Set(edit.now);
        let model = am.update(&edit.tx).await?;
        self.plan_changed(&edit).await?;
        let course = edit.course.clone();
        edit.finish(
            actor,
            "course.lesson.publish",
            "lesson",
            lesson_id,
            json!({"courseId": course.id, "moduleId": model.module_id}),
        )
        .await?;
        Ok((course, model))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thresholds_follow_the_lesson_kind() {
        assert!(check_threshold(LessonKind::Video, 0.9).is_ok());
        assert!(check_threshold(LessonKind::Document, 1.0).is_ok());
        assert!(check_threshold(LessonKind::Video, 0.0).is_err());
        assert!(check_threshold(LessonKind::Video, 1.5).is_err());
        assert!(check_threshold(LessonKind::Video, f64::NAN).is_err());
        assert!(check_threshold(LessonKind::Text, 1.0).is_ok());
        assert!(check_threshold(LessonKind::Text, 0.5).is_err());
        assert_eq!(LessonKind::Text.default_threshold(), 1.0);
    }

    #[test]
    fn a_body_is_bounded_in_bytes() {
        assert!(check_body(&"a".repeat(MAX_BODY_BYTES)).is_ok());
        assert!(check_body(&"a".repeat(MAX_BODY_BYTES + 1)).is_err());
        assert_eq!(check_body("  ").ok(), Some(None));
    }

    #[test]
    fn a_reorder_list_is_exactly_the_current_set() {
        let (a, b, c) = (Uuid::now_v7(), Uuid::now_v7(), Uuid::now_v7());
        assert!(check_same_set("ids", "modules", &[b, a], &[a, b]).is_ok());
        assert!(check_same_set("ids", "modules", &[a], &[a, b]).is_err());
        assert!(check_same_set("ids", "modules", &[a, b, c], &[a, b]).is_err());
        assert!(check_same_set("ids", "modules", &[a, a], &[a, b]).is_err());
    }

    #[test]
    fn positions_are_bounded_by_the_list() {
        assert_eq!(check_position("position", None, 3).ok(), Some(3));
        assert_eq!(check_position("position", Some(0), 3).ok(), Some(0));
        assert!(check_position("position", Some(4), 3).is_err());
        assert!(check_position("position", Some(-1), 3).is_err());
    }
}
