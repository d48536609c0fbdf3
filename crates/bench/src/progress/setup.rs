//! A published course of video lessons with an open cohort, made the way a trainer and an
//! admin make it (GraphQL), and its learners inserted directly: thousands of people, their
//! enrollments and signed access tokens in seconds, without thousands of argon2 hashes.

use anyhow::Context as _;
use chrono::{Duration, Utc};
use course::entity::{lesson, material};
use enrollment::entity::enrollment as enrollment_e;
use identity::entity::person;
use identity::token::Claims;
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, Set};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::app::{ADMIN_EMAIL, App};
use crate::progress::http::gql;

pub(crate) const CREATE: &str =
    "mutation($i: CreateCourseInput!) { createCourse(input: $i) { id } }";
pub(crate) const CREATE_MODULE: &str =
    "mutation($c: ID!, $i: CreateModuleInput!) { createModule(courseId: $c, input: $i) { id } }";
pub(crate) const CREATE_LESSON: &str =
    "mutation($m: ID!, $i: CreateLessonInput!) { createLesson(moduleId: $m, input: $i) { id } }";
pub(crate) const SUBMIT: &str = "mutation($id: ID!) { submitCourseForReview(id: $id) { state } }";
pub(crate) const APPROVE: &str = "mutation($id: ID!) { approveCourse(id: $id) { state } }";
pub(crate) const CREATE_COHORT: &str =
    "mutation($c: ID!, $i: CreateCohortInput!) { createCohort(courseId: $c, input: $i) { id } }";

/// Video lessons of the course.
pub const LESSONS: usize = 3;
/// Length of each video, seconds.
pub const VIDEO_SECONDS: f64 = 600.0;
/// Rows per INSERT while setting up (well under both databases' bind-parameter limits).
const CHUNK: usize = 500;

/// The course the learners take.
pub struct Course {
    /// Its id.
    pub id: Uuid,
    /// Its video lessons, in order.
    pub lessons: Vec<Uuid>,
    /// The admin's access token.
    pub admin_token: String,
}

/// A learner: a person with an active enrollment and an access token.
#[derive(Clone)]
pub struct Learner {
    /// The person.
    pub person_id: Uuid,
    /// Their enrollment.
    pub enrollment_id: Uuid,
    /// Their access token.
    pub token: String,
}

/// Signs an access token for `person` with `roles`, as `signIn` would after the password check.
pub(crate) fn token(app: &App, person: Uuid, roles: &str) -> anyhow::Result<String> {
    token_in(app, person, roles, None)
}

/// [`token`] for a person of `unit` (a unit admin's scope comes from the token's unit).
pub(crate) fn token_in(
    app: &App,
    person: Uuid,
    roles: &str,
    unit: Option<Uuid>,
) -> anyhow::Result<String> {
    let now = Utc::now();
    app.state()
        .identity
        .tokens
        .sign(&Claims {
            sub: person,
            roles: roles.to_owned(),
            unit,
            sid: kernel::new_id(),
            iat: now.timestamp(),
            // Long enough for the whole run: the suites take minutes, not the usual 15.
            exp: (now + Duration::hours(3)).timestamp(),
        })
        .map_err(|e| anyhow::anyhow!("cannot sign a token: {e}"))
}

pub(crate) fn id_of(v: &Value) -> anyhow::Result<Uuid> {
    let s = v.as_str().with_context(|| format!("not an id: {v}"))?;
    Uuid::parse_str(s).with_context(|| format!("not a UUID: {s}"))
}

/// A person row with `roles`.
pub(crate) fn person_row(id: Uuid, n: usize, tag: &str, roles: &str) -> person::ActiveModel {
    let now = Utc::now();
    person::ActiveModel {
        id: Set(id),
        nip: Set(None),
        name: Set(format!("Peserta {tag} {n:05}")),
        email: Set(Some(format!("{tag}-{n}@bench.lms"))),
        unit_id: Set(None),
        position: Set(None),
        grade: Set(None),
        employment_type: Set(None),
        roles: Set(roles.to_owned()),
        password_hash: Set(None),
        password_changed_at: Set(None),
        disabled_at: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
    }
}

/// Creates the course through GraphQL (a trainer writes it, the admin approves it and opens a
/// cohort), with each video's material inserted as if uploaded and processed.
///
/// # Errors
/// When any step fails.
pub async fn course(app: &App) -> anyhow::Result<Course> {
    let draft = draft(app, "trainer", "Kursus beban progres", 2).await?;
    publish(app, &draft).await?;
    Ok(Course {
        id: draft.id,
        lessons: draft.lessons,
        admin_token: draft.admin_token,
    })
}

/// A course being written: one module of [`LESSONS`] required video lessons, not yet
/// submitted, so that more lessons can be added before [`publish`].
pub(crate) struct Draft {
    /// The course.
    pub id: Uuid,
    /// Its module.
    pub module: Uuid,
    /// Its video lessons, in order.
    pub lessons: Vec<Uuid>,
    /// The trainer who writes it (its owner).
    pub trainer_id: Uuid,
    /// Their access token.
    pub trainer: String,
    /// The admin's access token.
    pub admin_token: String,
}

/// The first admin's id and an access token for them.
pub(crate) async fn admin(app: &App) -> anyhow::Result<(Uuid, String)> {
    let admin = person::Entity::find()
        .filter(person::Column::Email.eq(ADMIN_EMAIL))
        .one(&app.state().db)
        .await?
        .context("the first admin is missing")?;
    Ok((admin.id, token(app, admin.id, &admin.roles)?))
}

/// Inserts a trainer (`trainer_tag` names them; unique per app) and writes, as them, a course
/// of `jp` JP with its video lessons.
///
/// # Errors
/// When any step fails.
pub(crate) async fn draft(
    app: &App,
    trainer_tag: &str,
    title: &str,
    jp: i32,
) -> anyhow::Result<Draft> {
    let db = &app.state().db;
    let addr = app.server.addr;
    let (_, admin_token) = admin(app).await?;
    let trainer_id = kernel::new_id();
    person::Entity::insert(person_row(trainer_id, 0, trainer_tag, "learner,trainer"))
        .exec_without_returning(db)
        .await
        .context("cannot insert the trainer")?;
    let trainer = token(app, trainer_id, "learner,trainer")?;

    // The random tail of a UUID v7: its head is the time, the same for drafts made together.
    let code = format!("PRG-{}", &kernel::new_id().simple().to_string()[24..]).to_uppercase();
    let course_id = id_of(
        &gql(
            addr,
            &trainer,
            CREATE,
            json!({"i": {"code": code, "title": title, "competencyType": "TECHNICAL", "jpCredit": jp}}),
        )
        .await?["createCourse"]["id"],
    )?;
    let module = id_of(
        &gql(
            addr,
            &trainer,
            CREATE_MODULE,
            json!({"c": course_id, "i": {"title": "Modul 1"}}),
        )
        .await?["createModule"]["id"],
    )?;
    let mut lessons = Vec::with_capacity(LESSONS);
    for n in 1..=LESSONS {
        let lesson_id = id_of(
            &gql(
                addr,
                &trainer,
                CREATE_LESSON,
                json!({"m": module, "i": {"title": format!("Video {n}"), "kind": "VIDEO", "required": true, "completionThreshold": 0.9}}),
            )
            .await?["createLesson"]["id"],
        )?;
        video_material(app, course_id, lesson_id, trainer_id).await?;
        lessons.push(lesson_id);
    }
    Ok(Draft {
        id: course_id,
        module,
        lessons,
        trainer_id,
        trainer,
        admin_token,
    })
}

/// Submits the draft for review (its trainer) and approves it with its JP (the admin).
///
/// # Errors
/// When a mutation fails.
pub(crate) async fn publish(app: &App, draft: &Draft) -> anyhow::Result<()> {
    let addr = app.server.addr;
    gql(addr, &draft.trainer, SUBMIT, json!({"id": draft.id})).await?;
    gql(addr, &draft.admin_token, APPROVE, json!({"id": draft.id})).await?;
    Ok(())
}

/// Opens a cohort of the course (as the admin); returns its id.
///
/// # Errors
/// When the mutation fails.
pub async fn cohort(app: &App, course: &Course, name: &str) -> anyhow::Result<Uuid> {
    id_of(
        &gql(
            app.server.addr,
            &course.admin_token,
            CREATE_COHORT,
            json!({"c": course.id, "i": {"name": name}}),
        )
        .await?["createCohort"]["id"],
    )
}

/// A ready video material of [`VIDEO_SECONDS`] attached to the lesson, as the media pipeline
/// would leave it.
async fn video_material(
    app: &App,
    course_id: Uuid,
    lesson_id: Uuid,
    trainer: Uuid,
) -> anyhow::Result<()> {
    let db = &app.state().db;
    let now = Utc::now();
    let id = kernel::new_id();
    material::ActiveModel {
        id: Set(id),
        course_id: Set(course_id),
        lesson_id: Set(Some(lesson_id)),
        kind: Set("video".into()),
        object_key: Set(format!("courses/{course_id}/materials/{id}/file")),
        file_name: Set("kuliah.mp4".into()),
        content_type: Set("video/mp4".into()),
        size_bytes: Set(1024),
        sha256: Set("0".repeat(64)),
        state: Set("ready".into()),
        failure_reason: Set(None),
        duration_ms: Set(Some((VIDEO_SECONDS * 1000.0) as i64)),
        width: Set(None),
        height: Set(None),
        page_count: Set(None),
        renditions: Set(None),
        poster_key: Set(None),
        created_by: Set(trainer),
        created_at: Set(now),
        updated_at: Set(now),
    }
    .insert(db)
    .await
    .context("cannot insert a material")?;
    let row = lesson::Entity::find_by_id(lesson_id)
        .one(db)
        .await?
        .context("the lesson is missing")?;
    let mut am: lesson::ActiveModel = row.into();
    am.material_id = Set(Some(id));
    am.update(db).await.context("cannot attach the material")?;
    Ok(())
}

/// Inserts `count` learners enrolled (active) in `cohort`, with progress percents spread over
/// 0–100 when `spread` (a roster to sort), and signs a token for each.
///
/// # Errors
/// When an insert or a signature fails.
pub async fn learners(
    app: &App,
    course: &Course,
    cohort: Uuid,
    tag: &str,
    count: usize,
    spread: bool,
) -> anyhow::Result<Vec<Learner>> {
    let db = &app.state().db;
    let now = Utc::now();
    let mut out = Vec::with_capacity(count);
    let ids: Vec<(Uuid, Uuid)> = (0..count)
        .map(|_| (kernel::new_id(), kernel::new_id()))
        .collect();
    for (c, chunk) in ids.chunks(CHUNK).enumerate() {
        let people = chunk
            .iter()
            .enumerate()
            .map(|(i, (p, _))| person_row(*p, c * CHUNK + i, tag, "learner"));
        person::Entity::insert_many(people)
            .exec_without_returning(db)
            .await
            .context("cannot insert learners")?;
        let enrollments = chunk.iter().enumerate().map(|(i, (p, e))| {
            let n = c * CHUNK + i;
            // A deterministic spread with ties, so the keyset cursor must break them.
            let percent = if spread { (n * 37 % 101) as f64 } else { 0.0 };
            enrollment_e::ActiveModel {
                id: Set(*e),
                cohort_id: Set(cohort),
                course_id: Set(course.id),
                person_id: Set(*p),
                state: Set("active".into()),
                source: Set("assigned".into()),
                rule_id: Set(None),
                requested_at: Set(now),
                activated_at: Set(Some(now)),
                completed_at: Set(None),
                ended_at: Set(None),
                due_at: Set(None),
                progress_percent: Set(percent),
                required_done: Set(0),
                required_total: Set(LESSONS as i32),
                next_lesson_id: Set(course.lessons.first().copied()),
                last_activity_at: Set(None),
                created_at: Set(now),
                updated_at: Set(now),
            }
        });
        enrollment_e::Entity::insert_many(enrollments)
            .exec_without_returning(db)
            .await
            .context("cannot insert enrollments")?;
    }
    for (p, e) in ids {
        out.push(Learner {
            person_id: p,
            enrollment_id: e,
            token: token(app, p, "learner")?,
        });
    }
    Ok(out)
}
