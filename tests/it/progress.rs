//! Progress from the outside: phone sync (replays, order, devices, bad events), lesson and
//! course completion, JP credited once in the right WIB year, external JP, the recompute after a
//! rule change, and who may see whose JP.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use chrono::{DateTime, Duration, Utc};
use lms_tests::{Options, TestApp, error_code};
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter, Set};
use serde_json::{Value, json};
use uuid::Uuid;

const CREATE: &str = "mutation($i: CreateCourseInput!) { createCourse(input: $i) { id } }";
const CREATE_MODULE: &str =
    "mutation($c: ID!, $i: CreateModuleInput!) { createModule(courseId: $c, input: $i) { id } }";
const CREATE_LESSON: &str =
    "mutation($m: ID!, $i: CreateLessonInput!) { createLesson(moduleId: $m, input: $i) { id } }";
const SUBMIT: &str = "mutation($id: ID!) { submitCourseForReview(id: $id) { state } }";
const APPROVE: &str = "mutation($id: ID!) { approveCourse(id: $id) { state } }";
const CREATE_COHORT: &str =
    "mutation($c: ID!, $i: CreateCohortInput!) { createCohort(courseId: $c, input: $i) { id } }";
const ENROLL: &str = "mutation($c: ID!) { enroll(cohortId: $c) { id state } }";
const SYNC: &str = "mutation($e: [ProgressEventInput!]!) { syncProgress(events: $e) { accepted rejected results { clientEventId status duplicate reason } lessons { lessonId kind watchedSeconds share pagesViewed resumePosition resumeAt completed completedAt } enrollments { enrollmentId percent requiredDone requiredTotal nextLessonId lastActivityAt completed completedAt } } }";
const PERSON_JP: &str = "query($p: ID!, $y: Int) { personJp(personId: $p, year: $y) { year total target remaining entries { jp source year courseTitle description earnedAt } } }";
const BELOW: &str = "query($y: Int, $u: ID, $first: Int, $after: String) { jpBelowTarget(year: $y, unitId: $u, first: $first, after: $after) { edges { cursor node { personId name unitName total missing } } pageInfo { hasNextPage endCursor } } }";
const EXTERNAL: &str = "mutation($i: RecordExternalJpInput!) { recordExternalJp(input: $i) { year total entries { jp source description } } }";
const RECOMPUTE: &str = "mutation($c: ID!) { recomputeCompletions(courseId: $c) { enrollments lessonsCompleted enrollmentsCompleted } }";
const MY_LEARNING: &str = "query { myLearning { items { courseTitle percent nextLessonTitle completed overdue canLearn } jp { year total target remaining entries { jp courseTitle } } } }";
const UNIT_COMPLETION: &str = "query($c: ID!, $u: ID) { unitCompletion(courseId: $c, unitId: $u) { unitName enrolled completed percent } }";

/// A lesson to create: (title, kind, required, threshold, material: (duration_ms, page_count)).
struct Spec {
    title: &'static str,
    kind: &'static str,
    required: bool,
    threshold: Option<f64>,
    duration_ms: Option<i64>,
    pages: Option<i32>,
}

fn text(title: &'static str) -> Spec {
    Spec {
        title,
        kind: "TEXT",
        required: true,
        threshold: None,
        duration_ms: None,
        pages: None,
    }
}

fn video(title: &'static str, seconds: i64, threshold: f64) -> Spec {
    Spec {
        title,
        kind: "VIDEO",
        required: true,
        threshold: Some(threshold),
        duration_ms: Some(seconds * 1000),
        pages: None,
    }
}

fn document(title: &'static str, pages: i32, threshold: f64) -> Spec {
    Spec {
        title,
        kind: "DOCUMENT",
        required: true,
        threshold: Some(threshold),
        duration_ms: None,
        pages: Some(pages),
    }
}

struct Course {
    id: String,
    cohort: String,
    lessons: Vec<String>,
}

fn s(v: &Value) -> String {
    v.as_str()
        .unwrap_or_else(|| panic!("a string, got {v}"))
        .to_owned()
}

/// A material row, as if uploaded and processed, so tests need no media files.
async fn material(app: &TestApp, course: &str, lesson: &str, trainer: &str, spec: &Spec) {
    use course::entity::{lesson as lesson_e, material as material_e};
    let db = &app.server.state.db;
    let now = Utc::now();
    let id = kernel::new_id();
    let course_id = Uuid::parse_str(course).unwrap();
    let lesson_id = Uuid::parse_str(lesson).unwrap();
    let is_video = spec.kind == "VIDEO";
    material_e::ActiveModel {
        id: Set(id),
        course_id: Set(course_id),
        lesson_id: Set(Some(lesson_id)),
        kind: Set(if is_video { "video" } else { "document" }.into()),
        object_key: Set(format!("courses/{course}/materials/{id}/file")),
        file_name: Set(if is_video { "kuliah.mp4" } else { "modul.pdf" }.into()),
        content_type: Set(if is_video {
            "video/mp4"
        } else {
            "application/pdf"
        }
        .into()),
        size_bytes: Set(1024),
        sha256: Set("0".repeat(64)),
        state: Set("ready".into()),
        failure_reason: Set(None),
        duration_ms: Set(spec.duration_ms),
        width: Set(None),
        height: Set(None),
        page_count: Set(spec.pages),
        renditions: Set(None),
        poster_key: Set(None),
        created_by: Set(Uuid::parse_str(trainer).unwrap()),
        created_at: Set(now),
        updated_at: Set(now),
    }
    .insert(db)
    .await
    .unwrap();
    let l = lesson_e::Entity::find_by_id(lesson_id)
        .one(db)
        .await
        .unwrap()
        .unwrap();
    let mut am: lesson_e::ActiveModel = l.into();
    am.material_id = Set(Some(id));
    am.update(db).await.unwrap();
}

/// A published course with `jp` approved JP, the given lessons in one module, and an open
/// cohort.
async fn course(app: &TestApp, admin: &str, code: &str, jp: i32, specs: &[Spec]) -> Course {
    let (trainer_id, trainer) = app
        .signed_in(
            admin,
            &format!("trainer-{code}@bkpsdm.go.id"),
            &["TRAINER"],
            None,
        )
        .await;
    let id = s(&app
        .ok(
            Some(&trainer),
            CREATE,
            json!({"i": {"code": code, "title": format!("Kursus {code}"), "competencyType": "TECHNICAL", "jpCredit": jp}}),
        )
        .await["createCourse"]["id"]);
    let module = s(&app
        .ok(
            Some(&trainer),
            CREATE_MODULE,
            json!({"c": id, "i": {"title": "Modul 1"}}),
        )
        .await["createModule"]["id"]);
    let mut lessons = Vec::new();
    for spec in specs {
        let mut input = json!({"title": spec.title, "kind": spec.kind, "required": spec.required});
        if spec.kind == "TEXT" {
            input["body"] = json!(format!("# {}\n\nIsi.", spec.title));
        }
        if let Some(t) = spec.threshold {
            input["completionThreshold"] = json!(t);
        }
        let l = s(&app
            .ok(
                Some(&trainer),
                CREATE_LESSON,
                json!({"m": module, "i": input}),
            )
            .await["createLesson"]["id"]);
        if spec.kind != "TEXT" {
            material(app, &id, &l, &trainer_id, spec).await;
        }
        lessons.push(l);
    }
    app.ok(Some(&trainer), SUBMIT, json!({"id": id})).await;
    app.ok(Some(admin), APPROVE, json!({"id": id})).await;
    let cohort = s(&app
        .ok(
            Some(admin),
            CREATE_COHORT,
            json!({"c": id, "i": {"name": format!("Angkatan {code}")}}),
        )
        .await["createCohort"]["id"]);
    Course {
        id,
        cohort,
        lessons,
    }
}

async fn enroll(app: &TestApp, token: &str, c: &Course) {
    let d = app.ok(Some(token), ENROLL, json!({"c": c.cohort})).await;
    assert_eq!(d["enroll"]["state"], "ACTIVE", "{d}");
}

/// A learner with `email`, signed in and enrolled in `c`; gives their token.
async fn learner_in(app: &TestApp, admin: &str, c: &Course, email: &str) -> String {
    let (_, token) = app.signed_in(admin, email, &["LEARNER"], None).await;
    enroll(app, &token, c).await;
    token
}

/// Learners a@ and b@, both enrolled in `c`.
async fn two_learners(app: &TestApp, admin: &str, c: &Course) -> (String, String) {
    let a = learner_in(app, admin, c, "a@dinkes.go.id").await;
    let b = learner_in(app, admin, c, "b@dinkes.go.id").await;
    (a, b)
}

fn at(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

fn iso(t: DateTime<Utc>) -> String {
    t.to_rfc3339()
}

/// An event: `kind` on `lesson` at `t`, with extra fields.
fn ev(lesson: &str, kind: &str, t: DateTime<Utc>, extra: Value) -> Value {
    let mut e = json!({"clientEventId": Uuid::new_v4().to_string(), "lessonId": lesson, "kind": kind, "occurredAt": iso(t)});
    if let (Some(obj), Some(more)) = (e.as_object_mut(), extra.as_object()) {
        for (k, v) in more {
            obj.insert(k.clone(), v.clone());
        }
    }
    e
}

fn played(lesson: &str, t: DateTime<Utc>, from: f64, to: f64) -> Value {
    ev(
        lesson,
        "PLAYED",
        t,
        json!({"fromSeconds": from, "toSeconds": to}),
    )
}

fn page(lesson: &str, t: DateTime<Utc>, p: i32) -> Value {
    ev(lesson, "PAGE_VIEWED", t, json!({"page": p}))
}

async fn sync(app: &TestApp, token: &str, events: &[Value]) -> Value {
    app.ok(Some(token), SYNC, json!({"e": events})).await["syncProgress"].clone()
}

fn lesson_state<'a>(out: &'a Value, lesson: &str) -> &'a Value {
    out["lessons"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["lessonId"] == lesson)
        .unwrap_or_else(|| panic!("no state for {lesson} in {out}"))
}

async fn ledger_rows(app: &TestApp) -> Vec<progress::entity::jp_ledger::Model> {
    progress::entity::jp_ledger::Entity::find()
        .all(&app.server.state.db)
        .await
        .unwrap()
}

/// Whole seconds: what both databases store exactly.
fn hours_ago(h: i64) -> DateTime<Utc> {
    use chrono::SubsecRound;
    (Utc::now() - Duration::hours(h)).trunc_subsecs(0)
}

#[tokio::test]
async fn a_full_writer_queue_turns_syncs_away_and_their_replay_loses_nothing() {
    const QUEUE: usize = 2;
    const SYNCS: usize = 24;
    let app = TestApp::spawn_with(Options {
        configure: Some(|c| c.sync_queue = QUEUE),
        ..Default::default()
    })
    .await;
    let admin = app.admin().await;
    let c = course(&app, &admin, "antre", 2, &[document("Modul", 40, 0.5)]).await;
    let learner = learner_in(&app, &admin, &c, "asn@dinkes.go.id").await;
    // One person's syncs all go to one writer; each sync views one page.
    let t0 = hours_ago(3);
    let batches: Vec<Vec<Value>> = (0..SYNCS)
        .map(|i| {
            vec![page(
                &c.lessons[0],
                t0 + Duration::seconds(i as i64),
                i as i32 + 1,
            )]
        })
        .collect();

    // The writer blocks on a held write lock, as behind a slow disk.
    let db = &app.server.state.db;
    let lock = lms_tests::hold_progress_writes(&app).await;
    let replies = async {
        futures::future::join_all(
            batches
                .iter()
                .map(|b| app.gql(Some(&learner), SYNC, json!({ "e": b }))),
        )
        .await
    };
    let release = async {
        // Turned-away syncs answer at once, before the lock goes.
        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
        lock.commit().await.unwrap();
    };
    let (replies, ()) = tokio::join!(replies, release);

    let mut turned_away = Vec::new();
    for (i, r) in replies.iter().enumerate() {
        match error_code(r).as_deref() {
            None => assert_eq!(r["data"]["syncProgress"]["accepted"], 1, "{r}"),
            Some("TOO_MANY_REQUESTS") => {
                let e = &r["errors"][0];
                let wait = e["extensions"]["retryAfter"].as_u64().unwrap();
                assert!((2..=6).contains(&wait), "{e}");
                assert!(
                    e["message"]
                        .as_str()
                        .unwrap()
                        .contains("nothing was stored"),
                    "{e}"
                );
                turned_away.push(i);
            }
            Some(other) => panic!("sync {i} failed with {other}: {r}"),
        }
    }
    println!(
        "{} of {SYNCS} syncs turned away with a queue of {QUEUE}",
        turned_away.len()
    );
    // The writer holds what it took before it blocked and QUEUE more; the rest wait nowhere.
    assert!(!turned_away.is_empty(), "no sync was turned away");
    let stored = progress::entity::progress_event::Entity::find()
        .count(db)
        .await
        .unwrap();
    assert_eq!(stored as usize, SYNCS - turned_away.len());

    // The phone sends the turned-away batches again: each is stored once, nothing is lost.
    for i in &turned_away {
        let again = sync(&app, &learner, &batches[*i]).await;
        assert_eq!(again["accepted"], 1, "{again}");
        assert_eq!(again["results"][0]["duplicate"], false, "{again}");
    }
    let stored = progress::entity::progress_event::Entity::find()
        .count(db)
        .await
        .unwrap();
    assert_eq!(stored as usize, SYNCS);
    // Every page counts once in the lesson's state (a replay of the first sync shows it).
    let state = sync(&app, &learner, &batches[0]).await;
    assert_eq!(state["results"][0]["duplicate"], true, "{state}");
    let pages: Vec<i32> = (1..=SYNCS as i32).collect();
    assert_eq!(
        lesson_state(&state, &c.lessons[0])["pagesViewed"],
        json!(pages),
        "{state}"
    );
}

#[tokio::test]
async fn replaying_the_same_batch_three_times_counts_it_once() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let c = course(
        &app,
        &admin,
        "replay",
        4,
        &[text("Pengantar"), document("Modul", 4, 0.5)],
    )
    .await;
    let learner = learner_in(&app, &admin, &c, "asn@dinkes.go.id").await;
    let t0 = hours_ago(5);
    let batch = vec![
        ev(&c.lessons[0], "OPENED", t0, json!({})),
        page(&c.lessons[1], t0 + Duration::minutes(1), 1),
        page(&c.lessons[1], t0 + Duration::minutes(2), 3),
    ];
    let first = sync(&app, &learner, &batch).await;
    assert_eq!(first["accepted"], 3);
    assert!(
        first["results"]
            .as_array()
            .unwrap()
            .iter()
            .all(|r| r["status"] == "ACCEPTED" && r["duplicate"] == false)
    );
    assert_eq!(first["enrollments"][0]["completed"], true);
    assert_eq!(first["enrollments"][0]["percent"], 100.0);
    for _ in 0..2 {
        let again = sync(&app, &learner, &batch).await;
        assert!(
            again["results"]
                .as_array()
                .unwrap()
                .iter()
                .all(|r| r["status"] == "ACCEPTED" && r["duplicate"] == true),
            "{again}"
        );
        assert_eq!(again["lessons"], first["lessons"]);
        assert_eq!(
            again["enrollments"][0]["completedAt"],
            first["enrollments"][0]["completedAt"]
        );
    }
    let events = progress::entity::progress_event::Entity::find()
        .count(&app.server.state.db)
        .await
        .unwrap();
    assert_eq!(events, 3);
    let rows = ledger_rows(&app).await;
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].jp, 4);
    // The completion time is that of the completing event, not the server's clock.
    assert_eq!(
        at(&s(&first["enrollments"][0]["completedAt"])),
        t0 + Duration::minutes(2)
    );
}

#[tokio::test]
async fn the_same_events_in_reverse_order_give_the_same_state() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let c = course(
        &app,
        &admin,
        "reverse",
        2,
        &[
            video("Kuliah", 300, 0.8),
            document("Modul", 5, 0.6),
            text("Penutup"),
        ],
    )
    .await;
    let (a, b) = two_learners(&app, &admin, &c).await;
    let t0 = hours_ago(30);
    let m = |n| t0 + Duration::minutes(n);
    let (v, d, t) = (&c.lessons[0], &c.lessons[1], &c.lessons[2]);
    let events = vec![
        played(v, m(1), 0.0, 100.0),
        played(v, m(2), 80.0, 180.0),
        ev(v, "POSITION", m(3), json!({"positionSeconds": 180.0})),
        played(v, m(4), 180.0, 250.0),
        page(d, m(5), 1),
        page(d, m(6), 2),
        page(d, m(7), 2),
        page(d, m(8), 4),
        ev(t, "OPENED", m(9), json!({})),
        played(v, m(10), 250.0, 260.0),
    ];
    let forward = sync(&app, &a, &events).await;
    // B sends the same events newest first, one per call, as a phone coming back online might.
    let mut backward = Value::Null;
    for e in events.iter().rev() {
        backward = sync(&app, &b, std::slice::from_ref(e)).await;
    }
    let final_b = sync(&app, &b, &events).await;
    for lesson in [v, d, t] {
        let fa = lesson_state(&forward, lesson);
        let fb = lesson_state(&final_b, lesson);
        for field in [
            "watchedSeconds",
            "pagesViewed",
            "resumePosition",
            "resumeAt",
            "completed",
            "completedAt",
        ] {
            assert_eq!(fa[field], fb[field], "{field} of {lesson}");
        }
    }
    assert_eq!(lesson_state(&forward, v)["watchedSeconds"], 260.0);
    assert_eq!(at(&s(&lesson_state(&forward, v)["completedAt"])), m(4));
    assert_eq!(at(&s(&lesson_state(&forward, d)["completedAt"])), m(8));
    let (ea, eb) = (&forward["enrollments"][0], &backward["enrollments"][0]);
    for field in [
        "percent",
        "requiredDone",
        "completed",
        "completedAt",
        "lastActivityAt",
    ] {
        assert_eq!(ea[field], eb[field], "{field}");
    }
    assert_eq!(at(&s(&ea["completedAt"])), m(9));
}

/// An app that counts the statements reading stored progress events (the completion replay).
async fn app_counting_event_reads() -> (TestApp, Arc<AtomicUsize>) {
    let reads = Arc::new(AtomicUsize::new(0));
    let seen = reads.clone();
    let app = TestApp::spawn_with(Options {
        overrides: gateway::Overrides {
            statement_observer: Some(Arc::new(move |info: &sea_orm::metric::Info<'_>| {
                let sql = &info.statement.sql;
                if sql.starts_with("SELECT") && sql.contains(r#"FROM "progress_events""#) {
                    seen.fetch_add(1, Ordering::SeqCst);
                }
            })),
            ..Default::default()
        },
        ..Default::default()
    })
    .await;
    (app, reads)
}

#[tokio::test]
async fn completion_time_is_exact_from_syncs_in_order_without_a_replay_and_from_late_ones_with_one()
{
    let (app, reads) = app_counting_event_reads().await;
    let admin = app.admin().await;
    let c = course(
        &app,
        &admin,
        "urut",
        2,
        &[video("Kuliah", 300, 0.8), document("Modul", 4, 0.5)],
    )
    .await;
    let (a, b) = two_learners(&app, &admin, &c).await;
    let t0 = hours_ago(6);
    let m = |n| t0 + Duration::minutes(n);
    let (v, d) = (&c.lessons[0], &c.lessons[1]);
    // 240 s of 300 completes the video: reached at m(4), inside the third sync, which goes on.
    let syncs = [
        vec![played(v, m(1), 0.0, 100.0)],
        vec![
            played(v, m(2), 100.0, 200.0),
            ev(v, "POSITION", m(3), json!({"positionSeconds": 200.0})),
        ],
        vec![played(v, m(4), 200.0, 250.0), played(v, m(5), 250.0, 300.0)],
        // Two of the document's 4 pages complete it; the second comes at the same instant as
        // the stored first.
        vec![page(d, m(5), 1)],
        vec![page(d, m(5), 2), page(d, m(6), 3)],
    ];

    // A's phone syncs as it goes: every sync is newer than what is stored.
    reads.store(0, Ordering::SeqCst);
    let mut out = Vec::new();
    for events in &syncs {
        let o = sync(&app, &a, events).await;
        assert_eq!(o["rejected"], 0, "{o}");
        out.push(o);
    }
    assert_eq!(
        reads.load(Ordering::SeqCst),
        0,
        "completions from in-order syncs read no stored event"
    );
    assert_eq!(lesson_state(&out[1], v)["completed"], false);
    assert_eq!(at(&s(&lesson_state(&out[2], v)["completedAt"])), m(4));
    assert_eq!(lesson_state(&out[3], d)["completed"], false);
    assert_eq!(at(&s(&lesson_state(&out[4], d)["completedAt"])), m(5));
    assert_eq!(at(&s(&out[4]["enrollments"][0]["completedAt"])), m(5));

    // B's phone sends the second sync last, after the others: the video's rule first holds
    // with it, at m(4), which only a replay of the stored events can tell.
    for i in [0, 2, 3, 4] {
        sync(&app, &b, &syncs[i]).await;
    }
    reads.store(0, Ordering::SeqCst);
    let late = sync(&app, &b, &syncs[1]).await;
    assert!(
        reads.load(Ordering::SeqCst) >= 1,
        "a late event is replayed"
    );
    assert_eq!(at(&s(&lesson_state(&late, v)["completedAt"])), m(4));
    assert_eq!(at(&s(&late["enrollments"][0]["completedAt"])), m(5));
    assert_eq!(ledger_rows(&app).await.len(), 2, "one credit each");
}

#[tokio::test]
async fn migration_9_gives_stored_lessons_the_time_of_their_latest_event() {
    use migration::MigratorTrait;
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let c = course(&app, &admin, "isi", 2, &[video("Kuliah", 300, 0.8)]).await;
    let learner = learner_in(&app, &admin, &c, "asn@dinkes.go.id").await;
    let t0 = hours_ago(2);
    let l = &c.lessons[0];
    let events = [
        played(l, t0 + Duration::minutes(1), 0.0, 10.0),
        played(l, t0 + Duration::minutes(3), 20.0, 30.0),
        played(l, t0 + Duration::minutes(2), 10.0, 20.0),
    ];
    sync(&app, &learner, &events).await;
    let db = &app.server.state.db;
    // Without the column (every migration from 9 on rolled back), then with it again: its
    // value can only come from the stored events.
    let from_9 = u32::try_from(migration::Migrator::migrations().len() - 8).unwrap();
    migration::Migrator::down(db, Some(from_9)).await.unwrap();
    migration::Migrator::up(db, None).await.unwrap();
    let rows = progress::entity::lesson_progress::Entity::find()
        .all(db)
        .await
        .unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].last_event_at, Some(t0 + Duration::minutes(3)));
}

#[tokio::test]
async fn events_after_completion_keep_the_completion_and_the_single_credit() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let c = course(&app, &admin, "after", 3, &[video("Kuliah", 100, 0.9)]).await;
    let learner = learner_in(&app, &admin, &c, "asn@dinkes.go.id").await;
    let l = &c.lessons[0];
    let t0 = hours_ago(10);
    let done = sync(&app, &learner, &[played(l, t0, 0.0, 100.0)]).await;
    assert_eq!(done["enrollments"][0]["completed"], true);
    let completed_at = done["enrollments"][0]["completedAt"].clone();
    // Later viewing, a rewind and an older position from a slow phone.
    let later = sync(
        &app,
        &learner,
        &[
            played(l, t0 + Duration::hours(2), 10.0, 20.0),
            ev(
                l,
                "POSITION",
                t0 + Duration::hours(3),
                json!({"positionSeconds": 5.0}),
            ),
            ev(
                l,
                "POSITION",
                t0 - Duration::hours(1),
                json!({"positionSeconds": 90.0}),
            ),
        ],
    )
    .await;
    assert_eq!(later["accepted"], 3);
    let state = lesson_state(&later, l);
    assert_eq!(state["completed"], true);
    assert_eq!(state["resumePosition"], 5.0);
    assert_eq!(later["enrollments"][0]["completed"], true);
    assert_eq!(later["enrollments"][0]["completedAt"], completed_at);
    assert_eq!(ledger_rows(&app).await.len(), 1);
}

#[tokio::test]
async fn two_devices_interleaving_merge_what_was_played_and_resume_at_the_latest() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let c = course(&app, &admin, "devices", 2, &[video("Kuliah", 600, 0.9)]).await;
    let learner = learner_in(&app, &admin, &c, "asn@dinkes.go.id").await;
    let l = &c.lessons[0];
    let t0 = hours_ago(3);
    let m = |n| t0 + Duration::minutes(n);
    // The phone plays 0-200 and 400-500; the laptop 150-300; each syncs what it has, late.
    let laptop = [
        played(l, m(10), 150.0, 300.0),
        ev(l, "POSITION", m(11), json!({"positionSeconds": 300.0})),
    ];
    let phone = [
        played(l, m(1), 0.0, 200.0),
        played(l, m(20), 400.0, 500.0),
        ev(l, "POSITION", m(5), json!({"positionSeconds": 200.0})),
    ];
    sync(&app, &learner, &laptop[..1]).await;
    sync(&app, &learner, &phone[..2]).await;
    sync(&app, &learner, &laptop[1..]).await;
    let out = sync(&app, &learner, &phone[2..]).await;
    let state = lesson_state(&out, l);
    assert_eq!(state["watchedSeconds"], 400.0);
    assert_eq!(
        state["resumePosition"], 500.0,
        "the latest report wins: {state}"
    );
    assert_eq!(at(&s(&state["resumeAt"])), m(20));
    assert_eq!(state["completed"], false);
}

#[tokio::test]
async fn skipping_to_the_end_of_a_video_does_not_complete_it() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let c = course(&app, &admin, "skip", 2, &[video("Kuliah", 600, 0.9)]).await;
    let learner = learner_in(&app, &admin, &c, "asn@dinkes.go.id").await;
    let l = &c.lessons[0];
    let t0 = hours_ago(2);
    let out = sync(
        &app,
        &learner,
        &[
            played(l, t0, 0.0, 10.0),
            ev(
                l,
                "POSITION",
                t0 + Duration::seconds(20),
                json!({"positionSeconds": 590.0}),
            ),
            played(l, t0 + Duration::seconds(30), 590.0, 600.0),
            ev(l, "MARKED_DONE", t0 + Duration::seconds(40), json!({})),
        ],
    )
    .await;
    let state = lesson_state(&out, l);
    assert_eq!(state["watchedSeconds"], 20.0);
    assert_eq!(state["completed"], false);
    assert_eq!(out["results"][3]["reason"], "MANUAL_COMPLETION_NOT_ALLOWED");
    assert_eq!(out["enrollments"][0]["percent"], 0.0);
    assert_eq!(out["enrollments"][0]["nextLessonId"], l.as_str());
    let out = sync(
        &app,
        &learner,
        &[played(l, t0 + Duration::minutes(5), 10.0, 540.0)],
    )
    .await;
    assert_eq!(lesson_state(&out, l)["completed"], true);
    assert_eq!(out["enrollments"][0]["completed"], true);
    assert_eq!(out["enrollments"][0]["nextLessonId"], Value::Null);
}

#[tokio::test]
async fn jp_is_credited_once_in_the_wib_year_of_the_completing_event() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let c = course(&app, &admin, "tahun", 6, &[text("Materi")]).await;
    let (a_id, a) = app
        .signed_in(&admin, "a@dinkes.go.id", &["LEARNER"], None)
        .await;
    let (b_id, b) = app
        .signed_in(&admin, "b@dinkes.go.id", &["LEARNER"], None)
        .await;
    enroll(&app, &a, &c).await;
    enroll(&app, &b, &c).await;
    // 23:30 on 31 December WIB, and 00:30 on 1 January WIB (still 31 December in UTC).
    let before = at("2025-12-31T16:30:00Z");
    let after = at("2025-12-31T17:30:00Z");
    sync(&app, &a, &[ev(&c.lessons[0], "OPENED", before, json!({}))]).await;
    sync(
        &app,
        &b,
        &[ev(&c.lessons[0], "MARKED_DONE", after, json!({}))],
    )
    .await;
    // More events and a replay do not credit again.
    sync(
        &app,
        &a,
        &[ev(
            &c.lessons[0],
            "OPENED",
            before + Duration::days(3),
            json!({}),
        )],
    )
    .await;
    let rows = ledger_rows(&app).await;
    assert_eq!(rows.len(), 2);
    let jp_a = app
        .ok(Some(&a), PERSON_JP, json!({"p": a_id, "y": 2025}))
        .await["personJp"]
        .clone();
    assert_eq!(jp_a["total"], 6);
    assert_eq!(jp_a["entries"][0]["source"], "COURSE");
    assert_eq!(jp_a["entries"][0]["courseTitle"], "Kursus tahun");
    let a_2026 = app
        .ok(Some(&a), PERSON_JP, json!({"p": a_id, "y": 2026}))
        .await;
    assert_eq!(a_2026["personJp"]["total"], 0);
    let jp_b = app
        .ok(Some(&admin), PERSON_JP, json!({"p": b_id, "y": 2026}))
        .await;
    assert_eq!(jp_b["personJp"]["total"], 6);
    assert_eq!(jp_b["personJp"]["entries"][0]["year"], 2026);
    let b_2025 = app
        .ok(Some(&admin), PERSON_JP, json!({"p": b_id, "y": 2025}))
        .await;
    assert_eq!(b_2025["personJp"]["total"], 0);
    // Learners see only their own JP.
    let r = app.gql(Some(&a), PERSON_JP, json!({"p": b_id})).await;
    assert_eq!(error_code(&r).as_deref(), Some("FORBIDDEN"));
}

#[tokio::test]
async fn bad_events_are_rejected_one_by_one_and_nothing_is_lost() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let c = course(
        &app,
        &admin,
        "valid",
        2,
        &[video("Kuliah", 100, 0.9), document("Modul", 3, 1.0)],
    )
    .await;
    let other = course(&app, &admin, "lain", 2, &[text("Lain")]).await;
    let learner = learner_in(&app, &admin, &c, "asn@dinkes.go.id").await;
    let (v, d) = (&c.lessons[0], &c.lessons[1]);
    let t0 = hours_ago(1);
    let good = played(v, t0, 0.0, 30.0);
    let mut dup = played(v, t0, 30.0, 40.0);
    dup["clientEventId"] = good["clientEventId"].clone();
    let batch = vec![
        good,
        ev(&other.lessons[0], "OPENED", t0, json!({})),
        ev(&Uuid::new_v4().to_string(), "OPENED", t0, json!({})),
        played(v, t0, -5.0, 10.0),
        played(v, t0, 50.0, 40.0),
        played(v, t0, 50.0, 150.0),
        page(d, t0, 4),
        page(d, t0, 0),
        ev(d, "OPENED", Utc::now() + Duration::minutes(30), json!({})),
        dup,
        page(v, t0, 1),
        ev(v, "PLAYED", t0, json!({"fromSeconds": 1.0})),
        ev(d, "OPENED", t0, json!({"clientEventId": "not-a-uuid"})),
        page(d, t0, 2),
    ];
    let out = sync(&app, &learner, &batch).await;
    let reasons: Vec<Value> = out["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["reason"].clone())
        .collect();
    assert_eq!(
        reasons,
        vec![
            Value::Null,
            json!("NOT_ENROLLED"),
            json!("UNKNOWN_LESSON"),
            json!("SEGMENT_OUT_OF_RANGE"),
            json!("SEGMENT_OUT_OF_RANGE"),
            json!("SEGMENT_OUT_OF_RANGE"),
            json!("BAD_PAGE"),
            json!("BAD_PAGE"),
            json!("FUTURE_TIME"),
            json!("DUPLICATE_IN_BATCH"),
            json!("WRONG_LESSON_KIND"),
            json!("MISSING_FIELD"),
            json!("INVALID_ID"),
            Value::Null,
        ]
    );
    assert_eq!(out["accepted"], 2);
    assert_eq!(out["rejected"], 12);
    assert_eq!(lesson_state(&out, v)["watchedSeconds"], 30.0);
    assert_eq!(lesson_state(&out, d)["pagesViewed"], json!([2]));
    // Nothing was counted for the rejected events.
    let stored = progress::entity::progress_event::Entity::find()
        .count(&app.server.state.db)
        .await
        .unwrap();
    assert_eq!(stored, 2);
    // A batch over the limit is refused whole.
    let big: Vec<Value> = (0..501).map(|i| page(d, t0, 1 + i % 3)).collect();
    let r = app.gql(Some(&learner), SYNC, json!({"e": big})).await;
    assert_eq!(error_code(&r).as_deref(), Some("BAD_USER_INPUT"));
    // 500 is fine.
    let most: Vec<Value> = (0..500).map(|i| page(d, t0, 1 + i % 3)).collect();
    let out = sync(&app, &learner, &most).await;
    assert_eq!(out["accepted"], 500);
    assert_eq!(lesson_state(&out, d)["completed"], true);
    let r = app.gql(None, SYNC, json!({"e": []})).await;
    assert_eq!(error_code(&r).as_deref(), Some("UNAUTHENTICATED"));
}

#[tokio::test]
async fn recompute_completes_enrollments_under_changed_rules_and_is_audited() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let c = course(&app, &admin, "ulang", 5, &[document("Modul", 4, 1.0)]).await;
    let learner = learner_in(&app, &admin, &c, "asn@dinkes.go.id").await;
    let d = &c.lessons[0];
    let t0 = hours_ago(48);
    let out = sync(
        &app,
        &learner,
        &[page(d, t0, 1), page(d, t0 + Duration::minutes(1), 2)],
    )
    .await;
    assert_eq!(lesson_state(&out, d)["completed"], false);
    // The owner lowers the threshold to half the pages.
    {
        use course::entity::lesson as lesson_e;
        let db = &app.server.state.db;
        let l = lesson_e::Entity::find_by_id(Uuid::parse_str(d).unwrap())
            .one(db)
            .await
            .unwrap()
            .unwrap();
        let mut am: lesson_e::ActiveModel = l.into();
        am.completion_threshold = Set(0.5);
        am.update(db).await.unwrap();
    }
    let r = app.gql(Some(&learner), RECOMPUTE, json!({"c": c.id})).await;
    assert_eq!(error_code(&r).as_deref(), Some("FORBIDDEN"));
    let done =
        app.ok(Some(&admin), RECOMPUTE, json!({"c": c.id})).await["recomputeCompletions"].clone();
    assert_eq!(
        done,
        json!({"enrollments": 1, "lessonsCompleted": 1, "enrollmentsCompleted": 1})
    );
    let again =
        app.ok(Some(&admin), RECOMPUTE, json!({"c": c.id})).await["recomputeCompletions"].clone();
    assert_eq!(again["enrollmentsCompleted"], 0);
    let rows = ledger_rows(&app).await;
    assert_eq!(rows.len(), 1);
    // Completed when the second page was seen, not when the admin recomputed.
    assert_eq!(rows[0].earned_at, t0 + Duration::minutes(1));
    let audits = identity::entity::audit_log::Entity::find()
        .filter(identity::entity::audit_log::Column::Action.eq("progress.recompute_completions"))
        .count(&app.server.state.db)
        .await
        .unwrap();
    assert_eq!(audits, 2);
}

#[tokio::test]
async fn unit_admins_see_and_record_jp_only_in_their_subtree() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let city = app.unit(&admin, "PEMKOT", None).await;
    let dinkes = app.unit(&admin, "DINKES", Some(&city)).await;
    let pkm = app.unit(&admin, "PKM-CIPUTAT", Some(&dinkes)).await;
    let disdik = app.unit(&admin, "DISDIK", Some(&city)).await;
    let (_, coordinator) = app
        .signed_in(
            &admin,
            "koordinator@dinkes.go.id",
            &["UNIT_ADMIN"],
            Some(&dinkes),
        )
        .await;
    let (nurse_id, nurse) = app
        .signed_in(&admin, "perawat@pkm.go.id", &["LEARNER"], Some(&pkm))
        .await;
    let (doctor_id, _) = app
        .signed_in(&admin, "dokter@dinkes.go.id", &["LEARNER"], Some(&dinkes))
        .await;
    let (teacher_id, _) = app
        .signed_in(&admin, "guru@disdik.go.id", &["LEARNER"], Some(&disdik))
        .await;
    let year = kernel::time::wib_year(Utc::now());
    let earned = iso(Utc::now() - Duration::minutes(10));
    let record = |p: &str, jp: i32| json!({"i": {"personId": p, "jp": jp, "earnedAt": earned, "description": "Diklat PIM IV (luar platform)"}});
    // The doctor reaches the target with external JP, the nurse gets part of it.
    let d = app
        .ok(Some(&coordinator), EXTERNAL, record(&doctor_id, 20))
        .await;
    assert_eq!(d["recordExternalJp"]["total"], 20);
    assert_eq!(d["recordExternalJp"]["entries"][0]["source"], "EXTERNAL");
    app.ok(Some(&admin), EXTERNAL, record(&nurse_id, 8)).await;
    let r = app
        .gql(Some(&coordinator), EXTERNAL, record(&teacher_id, 5))
        .await;
    assert_eq!(error_code(&r).as_deref(), Some("FORBIDDEN"));
    let r = app.gql(Some(&nurse), EXTERNAL, record(&nurse_id, 5)).await;
    assert_eq!(error_code(&r).as_deref(), Some("FORBIDDEN"));
    let r = app.gql(Some(&admin), EXTERNAL, record(&nurse_id, 0)).await;
    assert_eq!(error_code(&r).as_deref(), Some("BAD_USER_INPUT"));
    let audits = identity::entity::audit_log::Entity::find()
        .filter(identity::entity::audit_log::Column::Action.eq("jp.record_external"))
        .count(&app.server.state.db)
        .await
        .unwrap();
    assert_eq!(audits, 2);

    // personJp: in the subtree yes, outside no; the nurse sees her own.
    let n = app
        .ok(Some(&coordinator), PERSON_JP, json!({"p": nurse_id}))
        .await;
    assert_eq!(n["personJp"]["total"], 8);
    assert_eq!(n["personJp"]["remaining"], 12);
    assert_eq!(n["personJp"]["year"], year);
    let r = app
        .gql(Some(&coordinator), PERSON_JP, json!({"p": teacher_id}))
        .await;
    assert_eq!(error_code(&r).as_deref(), Some("FORBIDDEN"));
    app.ok(Some(&nurse), PERSON_JP, json!({"p": nurse_id}))
        .await;

    // jpBelowTarget: the coordinator sees the nurse (and themself), not the doctor at 20 JP,
    // nor the teacher of another office.
    let below = app.ok(Some(&coordinator), BELOW, json!({})).await["jpBelowTarget"].clone();
    let names: Vec<String> = below["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| s(&e["node"]["name"]))
        .collect();
    assert!(
        names.contains(&"Person perawat@pkm.go.id".to_owned()),
        "{names:?}"
    );
    assert!(
        !names
            .iter()
            .any(|n| n.contains("dokter") || n.contains("guru")),
        "{names:?}"
    );
    let nurse_row = below["edges"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["node"]["personId"] == nurse_id.as_str())
        .unwrap();
    assert_eq!(nurse_row["node"]["total"], 8);
    assert_eq!(nurse_row["node"]["missing"], 12);
    let r = app
        .gql(Some(&coordinator), BELOW, json!({"u": disdik}))
        .await;
    assert_eq!(error_code(&r).as_deref(), Some("FORBIDDEN"));
    let r = app.gql(Some(&nurse), BELOW, json!({})).await;
    assert_eq!(error_code(&r).as_deref(), Some("FORBIDDEN"));
    // The admin sees everyone below the target, page by page.
    let mut seen = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let page = app
            .ok(
                Some(&admin),
                BELOW,
                json!({"first": 1, "after": after, "y": year}),
            )
            .await["jpBelowTarget"]
            .clone();
        for e in page["edges"].as_array().unwrap() {
            seen.push(s(&e["node"]["personId"]));
        }
        if page["pageInfo"]["hasNextPage"] != true {
            break;
        }
        after = Some(s(&page["pageInfo"]["endCursor"]));
    }
    assert!(seen.contains(&nurse_id) && seen.contains(&teacher_id));
    assert!(!seen.contains(&doctor_id));
    let unique: std::collections::HashSet<_> = seen.iter().collect();
    assert_eq!(unique.len(), seen.len());
    // Last year the doctor was below the target too.
    let last = app
        .ok(Some(&admin), BELOW, json!({"y": year - 1, "u": dinkes}))
        .await;
    assert!(
        last["jpBelowTarget"]["edges"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["node"]["personId"] == doctor_id.as_str())
    );
}

#[tokio::test]
async fn the_dashboard_and_unit_completion_follow_progress() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let city = app.unit(&admin, "PEMKOT", None).await;
    let dinkes = app.unit(&admin, "DINKES", Some(&city)).await;
    let pkm = app.unit(&admin, "PKM", Some(&dinkes)).await;
    let c = course(&app, &admin, "dasbor", 4, &[text("Satu"), text("Dua")]).await;
    let (_, nurse) = app
        .signed_in(&admin, "perawat@pkm.go.id", &["LEARNER"], Some(&pkm))
        .await;
    let (_, doctor) = app
        .signed_in(&admin, "dokter@dinkes.go.id", &["LEARNER"], Some(&dinkes))
        .await;
    let (_, coordinator) = app
        .signed_in(
            &admin,
            "koordinator@dinkes.go.id",
            &["UNIT_ADMIN"],
            Some(&dinkes),
        )
        .await;
    enroll(&app, &nurse, &c).await;
    enroll(&app, &doctor, &c).await;
    let t0 = Utc::now() - Duration::minutes(30);
    sync(&app, &doctor, &[ev(&c.lessons[0], "OPENED", t0, json!({}))]).await;
    let my = app.ok(Some(&doctor), MY_LEARNING, json!({})).await["myLearning"].clone();
    assert_eq!(my["items"][0]["courseTitle"], "Kursus dasbor");
    assert_eq!(my["items"][0]["percent"], 50.0);
    assert_eq!(my["items"][0]["nextLessonTitle"], "Dua");
    assert_eq!(my["items"][0]["completed"], false);
    assert_eq!(my["jp"]["total"], 0);
    assert_eq!(my["jp"]["target"], 20);
    sync(
        &app,
        &nurse,
        &[
            ev(&c.lessons[0], "OPENED", t0, json!({})),
            ev(&c.lessons[1], "OPENED", t0, json!({})),
        ],
    )
    .await;
    let my = app.ok(Some(&nurse), MY_LEARNING, json!({})).await["myLearning"].clone();
    assert_eq!(my["items"][0]["completed"], true);
    assert_eq!(my["jp"]["total"], 4);
    assert_eq!(my["jp"]["remaining"], 16);
    assert_eq!(my["jp"]["entries"][0]["courseTitle"], "Kursus dasbor");

    let rows = app
        .ok(Some(&coordinator), UNIT_COMPLETION, json!({"c": c.id}))
        .await["unitCompletion"]
        .clone();
    assert_eq!(
        rows,
        json!([
            {"unitName": "Unit DINKES", "enrolled": 2, "completed": 1, "percent": 50.0},
            {"unitName": "Unit PKM", "enrolled": 1, "completed": 1, "percent": 100.0},
        ])
    );
    let top = app
        .ok(Some(&admin), UNIT_COMPLETION, json!({"c": c.id}))
        .await["unitCompletion"]
        .clone();
    assert_eq!(top[0]["unitName"], "Unit PEMKOT");
    assert_eq!(top[0]["enrolled"], 2);
    let r = app
        .gql(
            Some(&coordinator),
            UNIT_COMPLETION,
            json!({"c": c.id, "u": city}),
        )
        .await;
    assert_eq!(error_code(&r).as_deref(), Some("FORBIDDEN"));
}

#[tokio::test]
async fn a_lesson_added_after_publication_counts_only_once_published() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let c = course(
        &app,
        &admin,
        "tambah",
        2,
        &[text("Pengantar"), text("Inti")],
    )
    .await;
    let (a, b) = two_learners(&app, &admin, &c).await;
    let admin_id = s(&app.ok(Some(&admin), "query { me { id } }", json!({})).await["me"]["id"]);
    let (_, extra) = add_lesson(
        &app,
        &admin,
        &c,
        json!({"title": "Tambahan", "kind": "VIDEO", "completionThreshold": 0.5}),
    )
    .await;
    let t0 = hours_ago(5);
    // Both lessons published with the course, opened a minute apart.
    let published = [
        ev(&c.lessons[0], "OPENED", t0, json!({})),
        ev(
            &c.lessons[1],
            "OPENED",
            t0 + Duration::minutes(1),
            json!({}),
        ),
    ];

    // Unpublished, the new required lesson does not hold learners back...
    let out = sync(&app, &a, &published).await;
    let e = &out["enrollments"][0];
    assert_eq!(
        (&e["requiredTotal"], &e["completed"]),
        (&json!(2), &json!(true)),
        "{out}"
    );
    // ...and records nothing: learners do not have it yet.
    let out = sync(&app, &b, &[played(&extra, t0, 0.0, 10.0)]).await;
    assert_eq!(out["results"][0]["reason"], "UNKNOWN_LESSON", "{out}");

    // It is published once its recording is ready.
    const PUBLISH: &str = "mutation($id: ID!) { publishLesson(id: $id) { publishedAt } }";
    let r = app.gql(Some(&admin), PUBLISH, json!({"id": extra})).await;
    assert_eq!(error_code(&r).as_deref(), Some("CONFLICT"), "{r}");
    material(&app, &c.id, &extra, &admin_id, &video("Tambahan", 60, 0.5)).await;
    app.ok(Some(&admin), PUBLISH, json!({"id": extra})).await;

    // From then on it counts for those still learning, and comes next for them.
    let out = sync(&app, &b, &published).await;
    let e = &out["enrollments"][0];
    assert_eq!(
        (&e["requiredDone"], &e["requiredTotal"], &e["completed"]),
        (&json!(2), &json!(3), &json!(false)),
        "{out}"
    );
    assert_eq!(e["nextLessonId"], extra.as_str());
    let out = sync(
        &app,
        &b,
        &[played(&extra, t0 + Duration::minutes(2), 0.0, 30.0)],
    )
    .await;
    assert_eq!(out["enrollments"][0]["completed"], true, "{out}");
    // A completion from before stays: the course is not taken away from who finished it.
    let mine = app.ok(Some(&a), MY_LEARNING, json!({})).await;
    assert_eq!(mine["myLearning"]["items"][0]["completed"], true, "{mine}");
    assert_eq!(ledger_rows(&app).await.len(), 2);
}

/// Adds a lesson (`input`) to the first module of `c`, which is published: gives (module, lesson).
async fn add_lesson(app: &TestApp, admin: &str, c: &Course, input: Value) -> (String, String) {
    let module = s(&app
        .ok(
            Some(admin),
            "query($id: ID!) { course(id: $id) { modules { id } } }",
            json!({"id": c.id}),
        )
        .await["course"]["modules"][0]["id"]);
    let lesson = s(&app
        .ok(Some(admin), CREATE_LESSON, json!({"m": module, "i": input}))
        .await["createLesson"]["id"]);
    (module, lesson)
}

/// The course-plan jobs: (queued or running, succeeded, failed).
async fn plan_jobs(app: &TestApp) -> (u64, u64, u64) {
    use jobs::entity::{Column, Entity, Status};
    let db = &app.server.state.db;
    let count = |states: Vec<Status>| async move {
        Entity::find()
            .filter(Column::Kind.eq(course::structure::PLAN_CHANGED_JOB))
            .filter(Column::State.is_in(states))
            .count(db)
            .await
            .unwrap()
    };
    (
        count(vec![Status::Queued, Status::Running]).await,
        count(vec![Status::Succeeded]).await,
        count(vec![Status::Failed]).await,
    )
}

/// Waits until no course-plan job is queued or running; gives how many succeeded (none failed).
async fn plan_jobs_done(app: &TestApp) -> u64 {
    assert!(
        lms_tests::eventually(std::time::Duration::from_secs(20), || async {
            plan_jobs(app).await.0 == 0
        })
        .await,
        "the plan jobs did not finish: {:?}",
        plan_jobs(app).await
    );
    let (_, succeeded, failed) = plan_jobs(app).await;
    assert_eq!(failed, 0, "a plan job failed");
    succeeded
}

#[tokio::test]
async fn enrollments_follow_a_changed_plan_without_waiting_for_a_sync() {
    const MY_ENROLLMENT: &str = "query { myEnrollments { state requiredDone requiredTotal progressPercent completedAt } myLearning { items { nextLessonId } } }";
    const ARCHIVE: &str = "mutation($id: ID!) { deleteLesson(id: $id) { archived } }";
    const REORDER: &str =
        "mutation($m: ID!, $l: [ID!]!) { reorderLessons(moduleId: $m, lessonIds: $l) { id } }";
    const UPDATE: &str =
        "mutation($id: ID!, $i: UpdateLessonInput!) { updateLesson(id: $id, input: $i) { id } }";
    const PUBLISH: &str = "mutation($id: ID!) { publishLesson(id: $id) { publishedAt } }";
    let app = TestApp::spawn_with(Options {
        workers: 1,
        ..Default::default()
    })
    .await;
    let admin = app.admin().await;
    let c = course(
        &app,
        &admin,
        "ubah",
        3,
        &[text("Satu"), text("Dua"), text("Tiga")],
    )
    .await;
    let (l1, l2, l3) = (&c.lessons[0], &c.lessons[1], &c.lessons[2]);
    let (a, b) = two_learners(&app, &admin, &c).await;
    let t0 = hours_ago(5);
    sync(
        &app,
        &a,
        &[
            ev(l1, "OPENED", t0, json!({})),
            ev(l2, "OPENED", t0 + Duration::minutes(1), json!({})),
        ],
    )
    .await;
    sync(&app, &b, &[ev(l1, "OPENED", t0, json!({}))]).await;
    assert_eq!(
        plan_jobs_done(&app).await,
        0,
        "publication is not a plan change"
    );
    // What each learner's own screens say; neither syncs again in this test.
    let seen = |token: String| {
        let app = &app;
        async move {
            let r = app.ok(Some(&token), MY_ENROLLMENT, json!({})).await;
            let e = r["myEnrollments"][0].clone();
            (
                e["state"].as_str().unwrap().to_owned(),
                e["requiredDone"].as_i64().unwrap(),
                e["requiredTotal"].as_i64().unwrap(),
                e["progressPercent"].as_f64().unwrap(),
                r["myLearning"]["items"][0]["nextLessonId"].clone(),
            )
        }
    };
    assert_eq!(
        seen(a.clone()).await,
        ("ACTIVE".into(), 2, 3, 66.7, json!(l3))
    );

    // The required lesson that `a` had left is archived: `a` completes, at the time of the
    // last lesson they did, with the course's JP; `b` has one lesson of two done.
    let r = app.ok(Some(&admin), ARCHIVE, json!({"id": l3})).await;
    assert_eq!(r["deleteLesson"]["archived"], true);
    assert_eq!(plan_jobs_done(&app).await, 1);
    assert_eq!(
        seen(a.clone()).await,
        ("COMPLETED".into(), 2, 2, 100.0, Value::Null)
    );
    let ledger = ledger_rows(&app).await;
    assert_eq!(ledger.len(), 1);
    assert_eq!(ledger[0].earned_at, t0 + Duration::minutes(1));
    assert_eq!(
        seen(b.clone()).await,
        ("ACTIVE".into(), 1, 2, 50.0, json!(l2))
    );

    // A lesson published later counts, and comes next once it is put first.
    let (module, l4) = add_lesson(
        &app,
        &admin,
        &c,
        json!({"title": "Empat", "kind": "TEXT", "body": "Isi."}),
    )
    .await;
    assert_eq!(
        plan_jobs_done(&app).await,
        1,
        "an unpublished lesson changes no plan"
    );
    app.ok(Some(&admin), PUBLISH, json!({"id": l4})).await;
    assert_eq!(plan_jobs_done(&app).await, 2);
    assert_eq!(
        seen(b.clone()).await,
        ("ACTIVE".into(), 1, 3, 33.3, json!(l2))
    );
    app.ok(
        Some(&admin),
        REORDER,
        json!({"m": module, "l": [l4, l1, l2]}),
    )
    .await;
    assert_eq!(plan_jobs_done(&app).await, 3);
    assert_eq!(seen(b.clone()).await.4, json!(l4));

    // Required no more, a lesson leaves the count; a new title changes nothing.
    app.ok(
        Some(&admin),
        UPDATE,
        json!({"id": l4, "i": {"required": false}}),
    )
    .await;
    assert_eq!(plan_jobs_done(&app).await, 4);
    assert_eq!(
        seen(b.clone()).await,
        ("ACTIVE".into(), 1, 2, 50.0, json!(l4))
    );
    app.ok(
        Some(&admin),
        UPDATE,
        json!({"id": l2, "i": {"title": "Dua (baru)"}}),
    )
    .await;
    assert_eq!(plan_jobs_done(&app).await, 4);

    // `a` stays completed with one credit through all of it.
    assert_eq!(seen(a.clone()).await.0, "COMPLETED");
    assert_eq!(ledger_rows(&app).await.len(), 1);
}

/// A document replaced after publication: while the new file waits to be processed, learners
/// are held to the pages of the one they are shown; once it is ready, to the new one, and
/// their enrollments follow without another sync.
#[tokio::test]
async fn a_replaced_material_counts_by_what_learners_are_shown() {
    const MY_ENROLLMENT: &str =
        "query { myEnrollments { state requiredDone requiredTotal progressPercent } }";
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let c = course(&app, &admin, "ganti", 2, &[document("Modul", 4, 1.0)]).await;
    let doc = &c.lessons[0];
    let (a, b) = two_learners(&app, &admin, &c).await;
    let t0 = hours_ago(3);
    let minutes = |m| t0 + Duration::minutes(m);
    let out = sync(
        &app,
        &a,
        &[
            page(doc, t0, 1),
            page(doc, minutes(1), 2),
            page(doc, minutes(2), 3),
        ],
    )
    .await;
    assert_eq!(lesson_state(&out, doc)["share"], 0.75, "{out}");
    let first = {
        use course::entity::lesson as lesson_e;
        lesson_e::Entity::find_by_id(Uuid::parse_str(doc).unwrap())
            .one(&app.server.state.db)
            .await
            .unwrap()
            .unwrap()
            .material_id
            .unwrap()
            .to_string()
    };
    // A page of a named material; the verdicts of a sync, in order.
    let page_of = |t, p, m: &str| ev(doc, "PAGE_VIEWED", t, json!({"page": p, "materialId": m}));
    let reasons = |out: &Value| -> Vec<Value> {
        out["results"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["reason"].clone())
            .collect()
    };

    // The trainer's revised module has 2 pages; it is uploaded, not yet processed.
    let done = crate::course_media::upload(
        &app,
        &admin,
        doc,
        "modul-revisi.pdf",
        "application/pdf",
        &crate::course_media::pdf(2, 64),
    )
    .await;
    assert_eq!(done["material"]["state"], "UPLOADED", "{done}");
    let revised = s(&done["material"]["id"]);
    assert_eq!(
        plan_jobs(&app).await,
        (0, 0, 0),
        "a file not yet processed changes no plan"
    );

    // Meanwhile learners still read the 4 pages, and are measured by them. A phone that names
    // the file it read names the first one; the revised file is not shown yet.
    let out = sync(
        &app,
        &a,
        &[
            page_of(minutes(3), 4, &first),
            page_of(minutes(3), 1, &revised),
        ],
    )
    .await;
    assert_eq!(reasons(&out), [json!(null), json!("MATERIAL_CHANGED")]);
    assert_eq!(lesson_state(&out, doc)["completed"], true, "{out}");
    assert_eq!(out["enrollments"][0]["completed"], true, "{out}");
    let out = sync(&app, &b, &[page(doc, t0, 1), page(doc, minutes(1), 2)]).await;
    assert_eq!(lesson_state(&out, doc)["share"], 0.5, "{out}");
    assert_eq!(out["enrollments"][0]["completed"], false, "{out}");

    // Once processed, the 2 pages `b` saw are the whole module: `b` completes at the time of
    // the second page, without syncing again.
    let worker = crate::course_media::start_worker(&app);
    let m = crate::course_media::settled(&app, &admin, &revised).await;
    assert_eq!(
        (m["state"].clone(), m["pageCount"].clone()),
        (json!("READY"), json!(2)),
        "{m}"
    );
    assert_eq!(plan_jobs_done(&app).await, 1);
    worker.cancel();
    let seen = app.ok(Some(&b), MY_ENROLLMENT, json!({})).await;
    assert_eq!(
        seen["myEnrollments"][0],
        json!({"state": "COMPLETED", "requiredDone": 1, "requiredTotal": 1, "progressPercent": 100.0}),
    );
    let mut earned: Vec<_> = ledger_rows(&app)
        .await
        .iter()
        .map(|r| r.earned_at)
        .collect();
    earned.sort();
    assert_eq!(earned, vec![minutes(1), minutes(3)], "one credit each");

    // A phone that read the first file offline is told that the file changed, even for a page
    // the revised file also has; one that names the revised file is measured by it; one that
    // names nothing is checked against the revised file's 2 pages, as before.
    let out = sync(
        &app,
        &a,
        &[
            page_of(minutes(5), 1, &first),
            page_of(minutes(5), 2, &revised),
            page_of(minutes(5), 1, "not-a-uuid"),
            page(doc, minutes(5), 4),
        ],
    )
    .await;
    assert_eq!(
        reasons(&out),
        [
            json!("MATERIAL_CHANGED"),
            json!(null),
            json!("INVALID_ID"),
            json!("BAD_PAGE")
        ],
        "{out}"
    );
    assert_eq!(lesson_state(&out, doc)["pagesViewed"], json!([1, 2, 3, 4]));
}
