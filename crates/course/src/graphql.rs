//! The course part of the GraphQL API: `course`, `courseByCode` and `catalogue`, and the
//! mutations that author courses and their structure. Types here are written for clients and
//! wrap the entities; resolvers parse ids, call a [`Courses`] method with the actor and map the
//! result.
//!
//! Nested lists load through [`CourseLoader`], a per-request DataLoader the gateway attaches, so
//! a catalogue page with owners, tags, modules and lessons costs one query per level whatever
//! its size. A [`Course`] object remembers, for the rest of the request, whether the caller
//! edits it and may take its content, so lessons do not ask again one by one.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::Arc;

use async_graphql::connection::Connection;
use async_graphql::dataloader::{DataLoader, Loader};
use async_graphql::{Context, ID, InputObject, Object, SimpleObject};
use chrono::{DateTime, Utc};
use identity::entity::person;
use identity::graphql::{Person, parse_id};
use kernel::context::{actor, service};
use kernel::pagination::{Page, connection};
use kernel::{GqlResultExt, Role};
use sea_orm::DatabaseConnection;
use tokio::sync::OnceCell;
use uuid::Uuid;

use crate::Courses;
use crate::catalogue::CatalogueFilter;
use crate::delivery::{self, LessonMedia};
use crate::entity::{course, course_module, lesson};
use crate::error::CourseError;
use crate::lifecycle::{self, CompetencyType, CourseChanges, CourseState, NewCourse};
use crate::readiness::LessonProblem;
use crate::structure::{
    self, LessonChanges, LessonKind, ModuleChanges, NewLesson, NewModule, Removal,
};

fn courses<'a>(ctx: &Context<'a>) -> async_graphql::Result<&'a Courses> {
    service::<Courses>(ctx)
}

fn ids(field: &'static str, list: &[ID]) -> async_graphql::Result<Vec<Uuid>> {
    list.iter().map(|i| parse_id(field, i)).collect()
}

/// Key of [`CourseLoader`]: the owners of a course.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct OwnersOf(pub Uuid);
/// Key of [`CourseLoader`]: the tags of a course.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TagsOf(pub Uuid);
/// Key of [`CourseLoader`]: the modules of a course, archived ones included.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ModulesOf(pub Uuid);
/// Key of [`CourseLoader`]: the lessons of a module, archived ones included.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct LessonsOf(pub Uuid);
/// Key of [`CourseLoader`]: one module by id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ModuleById(pub Uuid);
/// Key of [`CourseLoader`]: one course by id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct CourseById(pub Uuid);

/// Loads a course's owners, tags, modules and lessons in batches: one query per kind for
/// everything a request asks at one level. Create one per request (never share its results
/// between users).
pub struct CourseLoader {
    db: DatabaseConnection,
}

impl CourseLoader {
    /// A loader over `db`.
    pub fn new(db: DatabaseConnection) -> Self {
        CourseLoader { db }
    }
}

fn group<K: Hash + Eq, V>(rows: impl IntoIterator<Item = (K, V)>) -> HashMap<K, Vec<V>> {
    let mut map: HashMap<K, Vec<V>> = HashMap::new();
    for (k, v) in rows {
        map.entry(k).or_default().push(v);
    }
    map
}

fn keys<K: Copy>(keys: &[K], id: impl Fn(K) -> Uuid) -> Vec<Uuid> {
    keys.iter().map(|k| id(*k)).collect()
}

impl Loader<OwnersOf> for CourseLoader {
    type Value = Vec<person::Model>;
    type Error = Arc<CourseError>;

    async fn load(&self, k: &[OwnersOf]) -> Result<HashMap<OwnersOf, Self::Value>, Self::Error> {
        let rows = lifecycle::owners_of(&self.db, &keys(k, |k| k.0)).await?;
        Ok(group(rows.into_iter().map(|(c, p)| (OwnersOf(c), p))))
    }
}

impl Loader<TagsOf> for CourseLoader {
    type Value = Vec<String>;
    type Error = Arc<CourseError>;

    async fn load(&self, k: &[TagsOf]) -> Result<HashMap<TagsOf, Self::Value>, Self::Error> {
        let rows = lifecycle::tags_of(&self.db, &keys(k, |k| k.0)).await?;
        Ok(group(
            rows.into_iter().map(|t| (TagsOf(t.course_id), t.tag)),
        ))
    }
}

impl Loader<ModulesOf> for CourseLoader {
    type Value = Vec<course_module::Model>;
    type Error = Arc<CourseError>;

    async fn load(&self, k: &[ModulesOf]) -> Result<HashMap<ModulesOf, Self::Value>, Self::Error> {
        let rows = structure::modules_of(&self.db, &keys(k, |k| k.0)).await?;
        Ok(group(rows.into_iter().map(|m| (ModulesOf(m.course_id), m))))
    }
}

impl Loader<LessonsOf> for CourseLoader {
    type Value = Vec<lesson::Model>;
    type Error = Arc<CourseError>;

    async fn load(&self, k: &[LessonsOf]) -> Result<HashMap<LessonsOf, Self::Value>, Self::Error> {
        let rows = structure::lessons_of(&self.db, &keys(k, |k| k.0)).await?;
        Ok(group(rows.into_iter().map(|l| (LessonsOf(l.module_id), l))))
    }
}

impl Loader<ModuleById> for CourseLoader {
    type Value = course_module::Model;
    type Error = Arc<CourseError>;

    async fn load(
        &self,
        k: &[ModuleById],
    ) -> Result<HashMap<ModuleById, Self::Value>, Self::Error> {
        use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
        let rows = course_module::Entity::find()
            .filter(course_module::Column::Id.is_in(keys(k, |k| k.0)))
            .all(&self.db)
            .await
            .map_err(|e| Arc::new(CourseError::Database(e)))?;
        Ok(rows.into_iter().map(|m| (ModuleById(m.id), m)).collect())
    }
}

impl Loader<CourseById> for CourseLoader {
    type Value = course::Model;
    type Error = Arc<CourseError>;

    async fn load(
        &self,
        k: &[CourseById],
    ) -> Result<HashMap<CourseById, Self::Value>, Self::Error> {
        use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
        let rows = course::Entity::find()
            .filter(course::Column::Id.is_in(keys(k, |k| k.0)))
            .all(&self.db)
            .await
            .map_err(|e| Arc::new(CourseError::Database(e)))?;
        Ok(rows.into_iter().map(|c| (CourseById(c.id), c)).collect())
    }
}

/// The course `id` for another crate's nested `course` field (a cohort's), through the
/// request's [`CourseLoader`]: a list of cohorts costs one query for their courses. It checks
/// no rights: the caller has already been allowed to see what the course hangs from.
pub async fn course_by_id(ctx: &Context<'_>, id: Uuid) -> async_graphql::Result<Option<Course>> {
    Ok(load(ctx, CourseById(id)).await?.map(Course::new))
}

/// Loads through the request's [`CourseLoader`], or directly when none is attached (a schema
/// run outside the HTTP handler).
async fn load<K>(
    ctx: &Context<'_>,
    key: K,
) -> async_graphql::Result<Option<<CourseLoader as Loader<K>>::Value>>
where
    K: Send + Sync + Hash + Eq + Clone + 'static,
    CourseLoader: Loader<K, Error = Arc<CourseError>>,
{
    let loaded = match ctx.data_opt::<DataLoader<CourseLoader>>() {
        Some(loader) => loader.load_one(key).await,
        None => CourseLoader::new(courses(ctx)?.db.clone())
            .load(std::slice::from_ref(&key))
            .await
            .map(|mut found| found.remove(&key)),
    };
    loaded
        .map_err(|e| CourseError::Internal(format!("loading course data: {e}")))
        .gql()
}

/// A stored value this version does not know: a bug or a newer writer; logged, not shown.
fn unknown(what: &str, value: &str) -> async_graphql::Error {
    kernel::error::to_graphql(CourseError::Internal(format!("unknown {what} `{value}`")))
}

/// A course and what this request learned about the caller's rights on it.
struct CourseCtx {
    model: course::Model,
    editor: OnceCell<bool>,
    content: OnceCell<bool>,
    /// What keeps learners from its lessons, asked once per request for all of them.
    readiness: OnceCell<Vec<LessonProblem>>,
}

impl CourseCtx {
    /// Whether the caller edits the course (sees archived parts and the review note).
    async fn is_editor(&self, ctx: &Context<'_>) -> async_graphql::Result<bool> {
        self.editor
            .get_or_try_init(|| async {
                let actor = actor(ctx)?;
                if actor.is_admin() {
                    return Ok(true);
                }
                if !actor.has(Role::Trainer) {
                    return Ok(false);
                }
                let owners: Vec<Uuid> = load(ctx, OwnersOf(self.model.id))
                    .await?
                    .unwrap_or_default()
                    .iter()
                    .map(|p| p.id)
                    .collect();
                Ok::<_, async_graphql::Error>(structure::is_editor(actor, &owners))
            })
            .await
            .copied()
    }

    /// What keeps learners from the course's active lessons, for its editors; `None` for anyone
    /// else. One check for the course and every lesson of it that the request asks about.
    async fn readiness(
        &self,
        ctx: &Context<'_>,
    ) -> async_graphql::Result<Option<&[LessonProblem]>> {
        if !self.is_editor(ctx).await? {
            return Ok(None);
        }
        let found = self
            .readiness
            .get_or_try_init(|| async {
                courses(ctx)?
                    .readiness_problems(actor(ctx)?, self.model.id)
                    .await
                    .gql()
            })
            .await?;
        Ok(Some(found))
    }

    /// Checks that the caller may take the course's content (lesson bodies and media).
    async fn require_content(&self, ctx: &Context<'_>) -> async_graphql::Result<()> {
        let allowed = self
            .content
            .get_or_try_init(|| async {
                let actor = actor(ctx)?;
                match courses(ctx)?
                    .require_content_access(actor, &self.model)
                    .await
                {
                    Ok(()) => Ok(true),
                    Err(CourseError::Forbidden) => Ok(false),
                    Err(e) => Err(kernel::error::to_graphql(e)),
                }
            })
            .await?;
        if *allowed {
            Ok(())
        } else {
            Err(CourseError::Forbidden).gql()
        }
    }
}

/// A course: a training turned into online material.
#[derive(Clone)]
pub struct Course(Arc<CourseCtx>);

impl Course {
    /// Wraps a course the caller may see.
    pub fn new(model: course::Model) -> Self {
        Course(Arc::new(CourseCtx {
            model,
            editor: OnceCell::new(),
            content: OnceCell::new(),
            readiness: OnceCell::new(),
        }))
    }

    /// The course row.
    pub fn model(&self) -> &course::Model {
        &self.0.model
    }
}

#[Object]
impl Course {
    async fn id(&self) -> ID {
        ID(self.0.model.id.to_string())
    }
    /// Unique code, e.g. `MR-DINKES-2026`.
    async fn code(&self) -> &str {
        &self.0.model.code
    }
    async fn title(&self) -> &str {
        &self.0.model.title
    }
    /// Markdown.
    async fn description(&self) -> &str {
        &self.0.model.description
    }
    async fn competency_type(&self) -> async_graphql::Result<CompetencyType> {
        let stored = &self.0.model.competency_type;
        CompetencyType::from_stored(stored).ok_or_else(|| unknown("competency type", stored))
    }
    /// Training hours (JP) credited on completion.
    async fn jp_credit(&self) -> i32 {
        self.0.model.jp_credit
    }
    /// Whether an admin approved the JP credit (on publication, or by changing it since).
    async fn jp_approved(&self) -> bool {
        self.0.model.jp_approved_at.is_some()
    }
    async fn jp_approved_at(&self) -> Option<DateTime<Utc>> {
        self.0.model.jp_approved_at
    }
    /// Lower-case tags, alphabetically.
    async fn tags(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<String>> {
        Ok(load(ctx, TagsOf(self.0.model.id))
            .await?
            .unwrap_or_default())
    }
    async fn state(&self) -> async_graphql::Result<CourseState> {
        let stored = &self.0.model.state;
        CourseState::from_stored(stored).ok_or_else(|| unknown("course state", stored))
    }
    /// The trainers who author the course, by when they became owners.
    async fn owners(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<Person>> {
        Ok(load(ctx, OwnersOf(self.0.model.id))
            .await?
            .unwrap_or_default()
            .into_iter()
            .map(Person)
            .collect())
    }
    /// Modules in order. Editors get them all, archived ones (deleted after publication) last;
    /// learners get those with a lesson they can see.
    async fn modules(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<CourseModule>> {
        let editor = self.0.is_editor(ctx).await?;
        let modules: Vec<course_module::Model> = load(ctx, ModulesOf(self.0.model.id))
            .await?
            .unwrap_or_default()
            .into_iter()
            .filter(|m| editor || m.archived_at.is_none())
            .collect();
        let shown = if editor {
            modules
        } else {
            // Loaded together: one query for the lessons of every module.
            let lessons =
                futures::future::try_join_all(modules.iter().map(|m| load(ctx, LessonsOf(m.id))))
                    .await?;
            modules
                .into_iter()
                .zip(lessons)
                .filter(|(_, ls)| ls.iter().flatten().any(lesson::Model::reaches_learners))
                .map(|(m, _)| m)
                .collect()
        };
        Ok(shown
            .into_iter()
            .map(|m| CourseModule {
                model: m,
                course: self.0.clone(),
            })
            .collect())
    }
    /// Why an admin last sent the course back to draft; shown to its editors only.
    async fn review_note(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<&str>> {
        Ok(if self.0.is_editor(ctx).await? {
            self.0.model.review_note.as_deref()
        } else {
            None
        })
    }
    /// What keeps learners from its active lessons, one sentence each in course order (a
    /// recording still processing, a quiz without questions); empty when every lesson is ready.
    /// A lesson's problem blocks the course's submission and approval, its republication once
    /// the lesson is published, and `publishLesson` of a lesson added after publication. For
    /// its editors; `null` for anyone else.
    async fn readiness_problems(
        &self,
        ctx: &Context<'_>,
    ) -> async_graphql::Result<Option<Vec<&str>>> {
        Ok(self
            .0
            .readiness(ctx)
            .await?
            .map(|found| found.iter().map(|p| p.why.as_str()).collect()))
    }
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.model.created_at
    }
    async fn updated_at(&self) -> DateTime<Utc> {
        self.0.model.updated_at
    }
    /// When the course was first published.
    async fn published_at(&self) -> Option<DateTime<Utc>> {
        self.0.model.published_at
    }
}

/// A module of a course: an ordered group of lessons.
pub struct CourseModule {
    model: course_module::Model,
    course: Arc<CourseCtx>,
}

impl CourseModule {
    /// Wraps a module of `course`, which the caller may see.
    pub fn new(course: course::Model, model: course_module::Model) -> Self {
        CourseModule {
            model,
            course: Course::new(course).0,
        }
    }
}

#[Object]
impl CourseModule {
    async fn id(&self) -> ID {
        ID(self.model.id.to_string())
    }
    async fn title(&self) -> &str {
        &self.model.title
    }
    async fn description(&self) -> Option<&str> {
        self.model.description.as_deref()
    }
    /// Order within the course, from 0 (meaningless once archived).
    async fn position(&self) -> i32 {
        self.model.position
    }
    /// Whether it was deleted after the course was published: kept for learners' records,
    /// hidden from learners.
    async fn archived(&self) -> bool {
        self.model.archived_at.is_some()
    }
    /// Lessons in order. Editors get them all, archived ones last; learners get the published
    /// ones that are not archived.
    async fn lessons(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<Lesson>> {
        let editor = self.course.is_editor(ctx).await?;
        Ok(load(ctx, LessonsOf(self.model.id))
            .await?
            .unwrap_or_default()
            .into_iter()
            .filter(|l| editor || l.reaches_learners())
            .map(|l| Lesson {
                model: l,
                course: self.course.clone(),
            })
            .collect())
    }
    async fn course(&self) -> Course {
        Course(self.course.clone())
    }
}

/// A lesson: one video, document or text, with its completion rule.
pub struct Lesson {
    model: lesson::Model,
    course: Arc<CourseCtx>,
}

impl Lesson {
    /// Wraps a lesson of `course`, which the caller may see.
    pub fn new(course: course::Model, model: lesson::Model) -> Self {
        Lesson {
            model,
            course: Course::new(course).0,
        }
    }

    /// The lesson row.
    pub fn model(&self) -> &lesson::Model {
        &self.model
    }
}

#[Object]
impl Lesson {
    async fn id(&self) -> ID {
        ID(self.model.id.to_string())
    }
    async fn title(&self) -> &str {
        &self.model.title
    }
    async fn kind(&self) -> async_graphql::Result<LessonKind> {
        LessonKind::from_stored(&self.model.kind)
            .ok_or_else(|| unknown("lesson kind", &self.model.kind))
    }
    /// Whether completing the course needs this lesson.
    async fn required(&self) -> bool {
        self.model.required
    }
    /// Share of the video watched (video) or of the pages viewed (document) that completes the
    /// lesson; 1.0 for text, which completes when opened.
    async fn completion_threshold(&self) -> f64 {
        self.model.completion_threshold
    }
    /// Order within the module, from 0 (meaningless once archived).
    async fn position(&self) -> i32 {
        self.model.position
    }
    /// Whether it was deleted after the course was published: kept for learners' records,
    /// hidden from learners.
    async fn archived(&self) -> bool {
        self.model.archived_at.is_some()
    }
    /// When learners got it: with the course's first publication, or, for a lesson added
    /// later, by `publishLesson`. Null until then, and hidden from learners meanwhile.
    async fn published_at(&self) -> Option<DateTime<Utc>> {
        self.model.published_at
    }
    /// What keeps learners from it, one sentence each, as in the course's
    /// `readinessProblems`: why `publishLesson` would refuse it now, or, for a lesson already
    /// out, why the course could not be republished. Empty when it is ready, and for an archived
    /// lesson, which no longer reaches learners. For the course's editors; `null` for anyone
    /// else.
    async fn readiness_problems(
        &self,
        ctx: &Context<'_>,
    ) -> async_graphql::Result<Option<Vec<&str>>> {
        Ok(self.course.readiness(ctx).await?.map(|found| {
            found
                .iter()
                .filter(|p| p.lesson_id == self.model.id)
                .map(|p| p.why.as_str())
                .collect()
        }))
    }
    /// The Markdown body: content, for those who may take the course (FORBIDDEN otherwise).
    async fn body(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<&str>> {
        self.course.require_content(ctx).await?;
        courses(ctx)?
            .require_lesson_open(actor(ctx)?, &self.course.model, &self.model)
            .await
            .gql()?;
        Ok(self.model.body.as_deref())
    }
    /// What a player needs to show the lesson's material: content, for those who may take the
    /// course (FORBIDDEN otherwise); null without a material.
    async fn media(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<LessonMedia>> {
        self.course.require_content(ctx).await?;
        let actor = actor(ctx)?;
        delivery::lesson_media(courses(ctx)?, actor, &self.model)
            .await
            .gql()
    }
    /// The module the lesson is in.
    async fn module(&self, ctx: &Context<'_>) -> async_graphql::Result<CourseModule> {
        let model = load(ctx, ModuleById(self.model.module_id))
            .await?
            .ok_or(CourseError::NotFound("module"))
            .gql()?;
        Ok(CourseModule {
            model,
            course: self.course.clone(),
        })
    }
    async fn course(&self) -> Course {
        Course(self.course.clone())
    }
}

/// What a delete did.
#[derive(SimpleObject)]
#[graphql(name = "Removal")]
pub struct RemovalObject {
    /// The id of the module or lesson.
    id: ID,
    /// True when it was archived (the course has been published, so learners may have records
    /// on it; the id stays and editors still see it); false when it was deleted.
    archived: bool,
}

impl RemovalObject {
    fn new(id: Uuid, removal: Removal) -> Self {
        RemovalObject {
            id: ID(id.to_string()),
            archived: removal == Removal::Archived,
        }
    }
}

/// A new course.
#[derive(InputObject)]
pub struct CreateCourseInput {
    /// Unique; upper-cased; 1-32 of `A-Z 0-9 - _ .`.
    code: String,
    title: String,
    /// Markdown.
    #[graphql(default)]
    description: String,
    competency_type: CompetencyType,
    /// Proposed JP credit, 0 to 1000; an admin approves it with the course.
    jp_credit: i32,
    /// Up to 20 tags, lower-cased.
    #[graphql(default)]
    tags: Vec<String>,
}

/// Changes to a course; omitted fields stay as they are.
#[derive(InputObject)]
pub struct UpdateCourseInput {
    /// Only before the course is first published.
    code: Option<String>,
    title: Option<String>,
    description: Option<String>,
    competency_type: Option<CompetencyType>,
    /// Once approved, only admins change it (their change is the new approval).
    jp_credit: Option<i32>,
}

/// A new module.
#[derive(InputObject)]
pub struct CreateModuleInput {
    title: String,
    description: Option<String>,
    /// Where to insert it, from 0; at the end when omitted.
    position: Option<i32>,
}

/// Changes to a module; omitted fields stay, an empty description clears it.
#[derive(InputObject)]
pub struct UpdateModuleInput {
    title: Option<String>,
    description: Option<String>,
}

/// A new lesson.
#[derive(InputObject)]
pub struct CreateLessonInput {
    title: String,
    kind: LessonKind,
    /// Default true.
    required: Option<bool>,
    /// Default 0.9 for video and document; always 1.0 for text.
    completion_threshold: Option<f64>,
    /// Markdown, at most 200 KiB.
    body: Option<String>,
    /// Where to insert it, from 0; at the end when omitted.
    position: Option<i32>,
}

/// Changes to a lesson; omitted fields stay, an empty body clears it.
#[derive(InputObject)]
pub struct UpdateLessonInput {
    title: Option<String>,
    required: Option<bool>,
    completion_threshold: Option<f64>,
    body: Option<String>,
}

/// Course queries.
#[derive(Default)]
pub struct CourseQuery;

#[Object]
impl CourseQuery {
    /// A course the caller may see (published ones; their own and, for admins, all others).
    async fn course(&self, ctx: &Context<'_>, id: ID) -> async_graphql::Result<Course> {
        let actor = actor(ctx)?;
        let id = parse_id("id", &id)?;
        courses(ctx)?.course(actor, id).await.map(Course::new).gql()
    }

    /// A course the caller may see, by its code (any case).
    async fn course_by_code(
        &self,
        ctx: &Context<'_>,
        code: String,
    ) -> async_graphql::Result<Course> {
        let actor = actor(ctx)?;
        courses(ctx)?
            .course_by_code(actor, &code)
            .await
            .map(Course::new)
            .gql()
    }

    /// The catalogue, by title: published courses; with `mine`, the caller's own courses in
    /// every state; with `state`, courses in that state among those the caller may see.
    /// `search` matches title, description and tags, ignoring case.
    #[allow(clippy::too_many_arguments)]
    async fn catalogue(
        &self,
        ctx: &Context<'_>,
        search: Option<String>,
        competency_type: Option<CompetencyType>,
        tag: Option<String>,
        min_jp: Option<i32>,
        max_jp: Option<i32>,
        mine: Option<bool>,
        state: Option<CourseState>,
        first: Option<i32>,
        after: Option<String>,
    ) -> async_graphql::Result<Connection<String, Course>> {
        let actor = actor(ctx)?;
        let page = Page::new(first, after.clone()).gql()?;
        let result = courses(ctx)?
            .catalogue(
                actor,
                CatalogueFilter {
                    search,
                    competency_type,
                    tag,
                    min_jp,
                    max_jp,
                    mine: mine.unwrap_or(false),
                    state,
                },
                page,
            )
            .await
            .gql()?;
        Ok(connection(
            after.is_some(),
            result.has_next_page,
            result
                .courses
                .into_iter()
                .map(|(cursor, c)| (cursor, Course::new(c))),
        ))
    }
}

/// Course mutations.
#[derive(Default)]
pub struct CourseMutation;

#[Object]
impl CourseMutation {
    /// Creates a draft course owned by the caller (trainers and admins).
    async fn create_course(
        &self,
        ctx: &Context<'_>,
        input: CreateCourseInput,
    ) -> async_graphql::Result<Course> {
        let actor = actor(ctx)?;
        courses(ctx)?
            .create_course(
                actor,
                NewCourse {
                    code: input.code,
                    title: input.title,
                    description: input.description,
                    competency_type: input.competency_type,
                    jp_credit: input.jp_credit,
                    tags: input.tags,
                },
            )
            .await
            .map(Course::new)
            .gql()
    }

    /// Changes a course (its owners while it is a draft or published; admins always).
    async fn update_course(
        &self,
        ctx: &Context<'_>,
        id: ID,
        input: UpdateCourseInput,
    ) -> async_graphql::Result<Course> {
        let actor = actor(ctx)?;
        let id = parse_id("id", &id)?;
        courses(ctx)?
            .update_course(
                actor,
                id,
                CourseChanges {
                    code: input.code,
                    title: input.title,
                    description: input.description,
                    competency_type: input.competency_type,
                    jp_credit: input.jp_credit,
                },
            )
            .await
            .map(Course::new)
            .gql()
    }

    /// Replaces a course's tags.
    async fn set_course_tags(
        &self,
        ctx: &Context<'_>,
        id: ID,
        tags: Vec<String>,
    ) -> async_graphql::Result<Course> {
        let actor = actor(ctx)?;
        let id = parse_id("id", &id)?;
        courses(ctx)?
            .set_course_tags(actor, id, &tags)
            .await
            .map(Course::new)
            .gql()
    }

    /// Adds a co-owner, who must hold the trainer role.
    async fn add_course_owner(
        &self,
        ctx: &Context<'_>,
        course_id: ID,
        person_id: ID,
    ) -> async_graphql::Result<Course> {
        let actor = actor(ctx)?;
        let course_id = parse_id("courseId", &course_id)?;
        let person_id = parse_id("personId", &person_id)?;
        courses(ctx)?
            .add_course_owner(actor, course_id, person_id)
            .await
            .map(Course::new)
            .gql()
    }

    /// Removes an owner; a course keeps at least one.
    async fn remove_course_owner(
        &self,
        ctx: &Context<'_>,
        course_id: ID,
        person_id: ID,
    ) -> async_graphql::Result<Course> {
        let actor = actor(ctx)?;
        let course_id = parse_id("courseId", &course_id)?;
        let person_id = parse_id("personId", &person_id)?;
        courses(ctx)?
            .remove_course_owner(actor, course_id, person_id)
            .await
            .map(Course::new)
            .gql()
    }

    /// Submits a draft (with at least one lesson) for an admin's review.
    async fn submit_course_for_review(
        &self,
        ctx: &Context<'_>,
        id: ID,
    ) -> async_graphql::Result<Course> {
        let actor = actor(ctx)?;
        let id = parse_id("id", &id)?;
        courses(ctx)?
            .submit_for_review(actor, id)
            .await
            .map(Course::new)
            .gql()
    }

    /// Approves a course in review: publishes it and approves its JP credit (admins).
    async fn approve_course(&self, ctx: &Context<'_>, id: ID) -> async_graphql::Result<Course> {
        let actor = actor(ctx)?;
        let id = parse_id("id", &id)?;
        courses(ctx)?
            .approve_course(actor, id)
            .await
            .map(Course::new)
            .gql()
    }

    /// Sends a course in review back to draft; its owners see the reason (admins).
    async fn reject_course(
        &self,
        ctx: &Context<'_>,
        id: ID,
        reason: String,
    ) -> async_graphql::Result<Course> {
        let actor = actor(ctx)?;
        let id = parse_id("id", &id)?;
        courses(ctx)?
            .reject_course(actor, id, &reason)
            .await
            .map(Course::new)
            .gql()
    }

    /// Withdraws a published course from the catalogue (admins).
    async fn archive_course(&self, ctx: &Context<'_>, id: ID) -> async_graphql::Result<Course> {
        let actor = actor(ctx)?;
        let id = parse_id("id", &id)?;
        courses(ctx)?
            .archive_course(actor, id)
            .await
            .map(Course::new)
            .gql()
    }

    /// Publishes an archived course again (admins).
    async fn republish_course(&self, ctx: &Context<'_>, id: ID) -> async_graphql::Result<Course> {
        let actor = actor(ctx)?;
        let id = parse_id("id", &id)?;
        courses(ctx)?
            .republish_course(actor, id)
            .await
            .map(Course::new)
            .gql()
    }

    /// Adds a module to a course.
    async fn create_module(
        &self,
        ctx: &Context<'_>,
        course_id: ID,
        input: CreateModuleInput,
    ) -> async_graphql::Result<CourseModule> {
        let actor = actor(ctx)?;
        let course_id = parse_id("courseId", &course_id)?;
        let (course, module) = courses(ctx)?
            .create_module(
                actor,
                course_id,
                NewModule {
                    title: input.title,
                    description: input.description,
                    position: input.position,
                },
            )
            .await
            .gql()?;
        Ok(CourseModule::new(course, module))
    }

    /// Changes a module's title or description.
    async fn update_module(
        &self,
        ctx: &Context<'_>,
        id: ID,
        input: UpdateModuleInput,
    ) -> async_graphql::Result<CourseModule> {
        let actor = actor(ctx)?;
        let id = parse_id("id", &id)?;
        let (course, module) = courses(ctx)?
            .update_module(
                actor,
                id,
                ModuleChanges {
                    title: input.title,
                    description: input.description,
                },
            )
            .await
            .gql()?;
        Ok(CourseModule::new(course, module))
    }

    /// Deletes a module with its lessons; archives them instead once the course has been
    /// published.
    async fn delete_module(
        &self,
        ctx: &Context<'_>,
        id: ID,
    ) -> async_graphql::Result<RemovalObject> {
        let actor = actor(ctx)?;
        let id = parse_id("id", &id)?;
        let removal = courses(ctx)?.delete_module(actor, id).await.gql()?;
        Ok(RemovalObject::new(id, removal))
    }

    /// Orders a course's modules; the list must be exactly its current (not archived) modules.
    async fn reorder_modules(
        &self,
        ctx: &Context<'_>,
        course_id: ID,
        module_ids: Vec<ID>,
    ) -> async_graphql::Result<Course> {
        let actor = actor(ctx)?;
        let course_id = parse_id("courseId", &course_id)?;
        let module_ids = ids("moduleIds", &module_ids)?;
        courses(ctx)?
            .reorder_modules(actor, course_id, &module_ids)
            .await
            .map(Course::new)
            .gql()
    }

    /// Adds a lesson to a module. In a course that is already out, the lesson waits for
    /// `publishLesson` before learners see it.
    async fn create_lesson(
        &self,
        ctx: &Context<'_>,
        module_id: ID,
        input: CreateLessonInput,
    ) -> async_graphql::Result<Lesson> {
        let actor = actor(ctx)?;
        let module_id = parse_id("moduleId", &module_id)?;
        let (course, lesson) = courses(ctx)?
            .create_lesson(
                actor,
                module_id,
                NewLesson {
                    title: input.title,
                    kind: input.kind,
                    required: input.required,
                    completion_threshold: input.completion_threshold,
                    body: input.body,
                    position: input.position,
                },
            )
            .await
            .gql()?;
        Ok(Lesson::new(course, lesson))
    }

    /// Changes a lesson's title, required flag, completion threshold or body.
    async fn update_lesson(
        &self,
        ctx: &Context<'_>,
        id: ID,
        input: UpdateLessonInput,
    ) -> async_graphql::Result<Lesson> {
        let actor = actor(ctx)?;
        let id = parse_id("id", &id)?;
        let (course, lesson) = courses(ctx)?
            .update_lesson(
                actor,
                id,
                LessonChanges {
                    title: input.title,
                    required: input.required,
                    completion_threshold: input.completion_threshold,
                    body: input.body,
                },
            )
            .await
            .gql()?;
        Ok(Lesson::new(course, lesson))
    }

    /// Publishes a lesson added to a course that is already out, once it is ready for
    /// learners; until then they do not see it and it does not count toward completion. The
    /// lessons of a course not yet published go out with it (CONFLICT here). Publishing a
    /// published lesson again returns it unchanged. Enrollments' figures (`requiredTotal`,
    /// `nextLessonId`) follow in the background, as after any edit to a published course that
    /// changes which lessons count or their order.
    async fn publish_lesson(&self, ctx: &Context<'_>, id: ID) -> async_graphql::Result<Lesson> {
        let actor = actor(ctx)?;
        let id = parse_id("id", &id)?;
        let (course, lesson) = courses(ctx)?.publish_lesson(actor, id).await.gql()?;
        Ok(Lesson::new(course, lesson))
    }

    /// Deletes a lesson; archives it instead once the course has been published.
    async fn delete_lesson(
        &self,
        ctx: &Context<'_>,
        id: ID,
    ) -> async_graphql::Result<RemovalObject> {
        let actor = actor(ctx)?;
        let id = parse_id("id", &id)?;
        let removal = courses(ctx)?.delete_lesson(actor, id).await.gql()?;
        Ok(RemovalObject::new(id, removal))
    }

    /// Orders a module's lessons; the list must be exactly its current (not archived) lessons.
    async fn reorder_lessons(
        &self,
        ctx: &Context<'_>,
        module_id: ID,
        lesson_ids: Vec<ID>,
    ) -> async_graphql::Result<CourseModule> {
        let actor = actor(ctx)?;
        let module_id = parse_id("moduleId", &module_id)?;
        let lesson_ids = ids("lessonIds", &lesson_ids)?;
        let (course, module) = courses(ctx)?
            .reorder_lessons(actor, module_id, &lesson_ids)
            .await
            .gql()?;
        Ok(CourseModule::new(course, module))
    }

    /// Moves a lesson to `position` (from 0) in a module of the same course.
    async fn move_lesson(
        &self,
        ctx: &Context<'_>,
        lesson_id: ID,
        to_module_id: ID,
        position: i32,
    ) -> async_graphql::Result<Lesson> {
        let actor = actor(ctx)?;
        let lesson_id = parse_id("lessonId", &lesson_id)?;
        let to_module_id = parse_id("toModuleId", &to_module_id)?;
        let (course, lesson) = courses(ctx)?
            .move_lesson(actor, lesson_id, to_module_id, position)
            .await
            .gql()?;
        Ok(Lesson::new(course, lesson))
    }
}
