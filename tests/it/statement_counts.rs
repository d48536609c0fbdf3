//! The learner dashboard, the cohort roster and the course outline run a fixed number of SQL
//! statements whatever their size: each is measured on a small and a larger data set through
//! `Overrides::statement_observer`, and the counts must be equal (no N+1).

use std::sync::{Arc, Mutex};

use chrono::{Duration, Utc};
use lms_tests::{Options, TestApp};
use serde_json::{Value, json};
use uuid::Uuid;

const CREATE_COURSE: &str = "mutation($i: CreateCourseInput!) { createCourse(input: $i) { id } }";
const CREATE_MODULE: &str =
    "mutation($c: ID!, $i: CreateModuleInput!) { createModule(courseId: $c, input: $i) { id } }";
const CREATE_LESSON: &str =
    "mutation($m: ID!, $i: CreateLessonInput!) { createLesson(moduleId: $m, input: $i) { id } }";
const SUBMIT: &str = "mutation($id: ID!) { submitCourseForReview(id: $id) { state } }";
const APPROVE_COURSE: &str = "mutation($id: ID!) { approveCourse(id: $id) { state } }";
const CREATE_COHORT: &str =
    "mutation($c: ID!, $i: CreateCohortInput!) { createCohort(courseId: $c, input: $i) { id } }";
const ENROLL: &str = "mutation($c: ID!) { enroll(cohortId: $c) { id state } }";
const ASSIGN: &str = "mutation($c: ID!, $i: AssignCohortInput!) { assignCohort(cohortId: $c, input: $i) { enrolled } }";
const SYNC: &str =
    "mutation($e: [ProgressEventInput!]!) { syncProgress(events: $e) { accepted rejected } }";
const IMPORT: &str = "mutation($f: Upload!) { importRoster(file: $f) { created applied } }";

/// What a phone's home screen asks for.
const MY_LEARNING: &str = "query { myLearning { items { enrollmentId courseId courseTitle percent nextLessonId nextLessonTitle dueAt overdue completed completedAt canLearn } jp { personId year total target remaining entries { id year jp source description earnedAt courseId courseTitle enrollmentId } } } }";
/// The same learner's enrollments with their cohorts and courses.
const MY_ENROLLMENTS: &str = "query { myEnrollments { id state source dueAt overdue progressPercent requiredDone requiredTotal lastActivityAt cohort { id name dueAt capacity seatsTaken enrollmentOpen course { id title } } } }";
/// A trainer's roster page.
const ROSTER: &str = "query($c: ID!) { cohortRoster(cohortId: $c, first: 20) { edges { cursor node { id state source progressPercent requiredDone requiredTotal dueAt overdue lastActivityAt person { id name email nip unit { id code name } } cohort { id name seatsTaken course { id title } } } } pageInfo { hasNextPage endCursor } } }";
/// A course outline.
const OUTLINE: &str = "query($id: ID!) { course(id: $id) { id title modules { id title position lessons { id title kind required completionThreshold position archived } } } }";

fn s(v: &Value) -> String {
    v.as_str()
        .unwrap_or_else(|| panic!("a string, got {v}"))
        .to_owned()
}

/// The SQL of the statements run since the last [`measured`].
type Seen = Arc<Mutex<Vec<String>>>;

/// An app whose SQL statements are recorded.
async fn counted_app() -> (TestApp, Seen) {
    let count: Seen = Arc::default();
    let seen = count.clone();
    let app = TestApp::spawn_with(Options {
        overrides: gateway::Overrides {
            statement_observer: Some(Arc::new(move |info: &sea_orm::metric::Info<'_>| {
                seen.lock().unwrap().push(info.statement.sql.clone());
            })),
            ..Default::default()
        },
        ..Default::default()
    })
    .await;
    (app, count)
}

/// Runs an operation that must succeed; returns its data and the statements it ran.
async fn measured(
    app: &TestApp,
    count: &Seen,
    token: &str,
    query: &str,
    vars: Value,
) -> (Value, usize) {
    count.lock().unwrap().clear();
    let data = app.ok(Some(token), query, vars).await;
    let n = count.lock().unwrap().len();
    (data, n)
}

struct Course {
    id: String,
    cohort: String,
    lessons: Vec<String>,
}

/// A published course of `trainer` with `modules` modules of two text lessons each, and one
/// cohort due at `due`.
async fn course(
    app: &TestApp,
    admin: &str,
    trainer: &str,
    code: &str,
    modules: usize,
    due: chrono::DateTime<Utc>,
) -> Course {
    let id = s(&app
        .ok(
            Some(trainer),
            CREATE_COURSE,
            json!({"i": {"code": code, "title": format!("Kursus {code}"), "competencyType": "TECHNICAL", "jpCredit": 2}}),
        )
        .await["createCourse"]["id"]);
    let mut lessons = Vec::new();
    for m in 0..modules {
        let module = s(&app
            .ok(
                Some(trainer),
                CREATE_MODULE,
                json!({"c": id, "i": {"title": format!("Modul {m}")}}),
            )
            .await["createModule"]["id"]);
        for l in 0..2 {
            lessons.push(s(&app
                .ok(
                    Some(trainer),
                    CREATE_LESSON,
                    json!({"m": module, "i": {"title": format!("Pelajaran {m}.{l}"), "kind": "TEXT", "required": true, "body": "# Isi"}}),
                )
                .await["createLesson"]["id"]));
        }
    }
    app.ok(Some(trainer), SUBMIT, json!({"id": id})).await;
    app.ok(Some(admin), APPROVE_COURSE, json!({"id": id})).await;
    let cohort = s(&app
        .ok(
            Some(trainer),
            CREATE_COHORT,
            json!({"c": id, "i": {"name": format!("Angkatan {code}"), "dueAt": due.to_rfc3339()}}),
        )
        .await["createCohort"]["id"]);
    Course {
        id,
        cohort,
        lessons,
    }
}

fn opened(lesson: &str) -> Value {
    json!({"clientEventId": Uuid::new_v4().to_string(), "lessonId": lesson, "kind": "OPENED", "occurredAt": (Utc::now() - Duration::minutes(5)).to_rfc3339()})
}

/// A learner enrolled in `n` courses: every third complete (a JP ledger row), the others half
/// done, a third of them past due.
async fn learner_with(app: &TestApp, admin: &str, trainer: &str, email: &str, n: usize) -> String {
    let (_, token) = app.signed_in(admin, email, &["LEARNER"], None).await;
    let prefix = email.split('@').next().unwrap();
    let mut events = Vec::new();
    for i in 0..n {
        let due = if i % 3 == 1 {
            Utc::now() - Duration::days(2)
        } else {
            Utc::now() + Duration::days(30 + i as i64)
        };
        let c = course(app, admin, trainer, &format!("{prefix}-{i}"), 1, due).await;
        let d = app.ok(Some(&token), ENROLL, json!({"c": c.cohort})).await;
        assert_eq!(d["enroll"]["state"], "ACTIVE", "{d}");
        if i % 3 == 0 {
            events.extend(c.lessons.iter().map(|l| opened(l)));
        } else {
            events.push(opened(&c.lessons[0]));
        }
    }
    let out = app.ok(Some(&token), SYNC, json!({"e": events})).await;
    assert_eq!(out["syncProgress"]["rejected"], 0, "{out}");
    token
}

#[tokio::test]
async fn the_learner_dashboard_costs_the_same_for_2_or_12_enrollments() {
    let (app, count) = counted_app().await;
    let admin = app.admin().await;
    let (_, trainer) = app
        .signed_in(&admin, "pelatih@bkpsdm.go.id", &["TRAINER"], None)
        .await;
    let small = learner_with(&app, &admin, &trainer, "sedikit@dinkes.go.id", 2).await;
    let large = learner_with(&app, &admin, &trainer, "banyak@dinkes.go.id", 12).await;

    let (s_data, s_count) = measured(&app, &count, &small, MY_LEARNING, json!({})).await;
    let (l_data, l_count) = measured(&app, &count, &large, MY_LEARNING, json!({})).await;
    println!("myLearning: {s_count} statements for 2 enrollments, {l_count} for 12");
    assert_eq!(s_data["myLearning"]["items"].as_array().unwrap().len(), 2);
    assert_eq!(l_data["myLearning"]["items"].as_array().unwrap().len(), 12);
    assert_eq!(
        s_data["myLearning"]["jp"]["entries"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    assert_eq!(
        l_data["myLearning"]["jp"]["entries"]
            .as_array()
            .unwrap()
            .len(),
        4
    );
    assert_eq!(l_data["myLearning"]["items"][0]["overdue"], true);
    assert!(
        l_data["myLearning"]["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|i| i["nextLessonTitle"] == "Pelajaran 0.1")
    );
    assert!(s_count > 0, "the observer sees the statements");
    assert_eq!(s_count, l_count, "myLearning makes a query per enrollment");

    let (s_data, s_count) = measured(&app, &count, &small, MY_ENROLLMENTS, json!({})).await;
    let (l_data, l_count) = measured(&app, &count, &large, MY_ENROLLMENTS, json!({})).await;
    println!("myEnrollments: {s_count} statements for 2 enrollments, {l_count} for 12");
    assert_eq!(s_data["myEnrollments"].as_array().unwrap().len(), 2);
    assert_eq!(l_data["myEnrollments"].as_array().unwrap().len(), 12);
    assert!(l_data["myEnrollments"].as_array().unwrap().iter().all(|e| {
        e["cohort"]["seatsTaken"] == 1
            && e["cohort"]["course"]["title"]
                .as_str()
                .unwrap()
                .starts_with("Kursus banyak-")
    }));
    assert_eq!(
        s_count, l_count,
        "myEnrollments makes a query per enrollment"
    );
}

/// Imports `n` people into a new unit `code`; returns the unit's id.
async fn unit_of(app: &TestApp, admin: &str, code: &str, n: usize, first_seq: usize) -> String {
    let unit = app.unit(admin, code, None).await;
    let mut csv = "nip,name,email,unit_code,position,grade,employment_type,roles\n".to_owned();
    for i in 0..n {
        let seq = first_seq + i;
        csv.push_str(&format!(
            "1985031220100110{seq:02},ASN {code} {i:02},asn{seq}@{code}.go.id,{code},Perawat,III/a,PNS,learner\n"
        ));
    }
    let operations = json!({"query": IMPORT, "variables": {"f": null}});
    let form = reqwest::multipart::Form::new()
        .text("operations", operations.to_string())
        .text("map", json!({"0": ["variables.f"]}).to_string())
        .part(
            "0",
            reqwest::multipart::Part::bytes(csv.into_bytes())
                .file_name("roster.csv")
                .mime_str("text/csv")
                .unwrap(),
        );
    let r: Value = app
        .client
        .post(format!("{}/graphql", app.base))
        .bearer_auth(admin)
        .multipart(form)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(r["data"]["importRoster"]["created"], n, "{r}");
    unit
}

#[tokio::test]
async fn a_roster_page_costs_the_same_for_5_or_40_learners() {
    let (app, count) = counted_app().await;
    let admin = app.admin().await;
    let (_, trainer) = app
        .signed_in(&admin, "pelatih@bkpsdm.go.id", &["TRAINER"], None)
        .await;
    let due = Utc::now() - Duration::days(1);
    let small = course(&app, &admin, &trainer, "kecil", 1, due).await;
    let large = course(&app, &admin, &trainer, "besar", 1, due).await;
    let few = unit_of(&app, &admin, "PKM", 5, 0).await;
    let many = unit_of(&app, &admin, "RSUD", 40, 10).await;
    for (c, unit, n) in [(&small, &few, 5), (&large, &many, 40)] {
        let r = app
            .ok(
                Some(&admin),
                ASSIGN,
                json!({"c": c.cohort, "i": {"unitId": unit}}),
            )
            .await;
        assert_eq!(r["assignCohort"]["enrolled"], n);
    }

    let (s_data, s_count) =
        measured(&app, &count, &trainer, ROSTER, json!({"c": small.cohort})).await;
    let (l_data, l_count) =
        measured(&app, &count, &trainer, ROSTER, json!({"c": large.cohort})).await;
    println!(
        "cohortRoster: {s_count} statements for a page of 5, {l_count} for a page of 20 of 40"
    );
    let edges = |d: &Value| d["cohortRoster"]["edges"].as_array().unwrap().clone();
    assert_eq!(edges(&s_data).len(), 5);
    assert_eq!(edges(&l_data).len(), 20);
    assert_eq!(l_data["cohortRoster"]["pageInfo"]["hasNextPage"], true);
    let node = &edges(&l_data)[0]["node"];
    assert_eq!(node["person"]["unit"]["code"], "RSUD", "{node}");
    assert_eq!(node["cohort"]["seatsTaken"], 40, "{node}");
    assert_eq!(node["cohort"]["course"]["title"], "Kursus besar", "{node}");
    assert_eq!(node["overdue"], true, "{node}");
    assert!(s_count > 0, "the observer sees the statements");
    assert_eq!(s_count, l_count, "cohortRoster makes a query per row");
}

#[tokio::test]
async fn a_course_outline_costs_the_same_for_2_or_8_modules() {
    let (app, count) = counted_app().await;
    let admin = app.admin().await;
    let (_, trainer) = app
        .signed_in(&admin, "pelatih@bkpsdm.go.id", &["TRAINER"], None)
        .await;
    let due = Utc::now() + Duration::days(30);
    let small = course(&app, &admin, &trainer, "dua", 2, due).await;
    let large = course(&app, &admin, &trainer, "delapan", 8, due).await;
    let (_, learner) = app
        .signed_in(&admin, "asn@dinkes.go.id", &["LEARNER"], None)
        .await;
    for c in [&small, &large] {
        measured(&app, &count, &learner, ENROLL, json!({"c": c.cohort})).await;
        // Statements inside the enrollment's transaction are seen too.
        let sql = count.lock().unwrap().clone();
        assert!(
            sql.iter().any(|q| q.starts_with(r#"UPDATE "cohorts""#))
                && sql
                    .iter()
                    .any(|q| q.starts_with(r#"INSERT INTO "enrollments""#)),
            "{sql:#?}"
        );
    }
    for (who, token) in [("trainer", &trainer), ("learner", &learner)] {
        let (s_data, s_count) =
            measured(&app, &count, token, OUTLINE, json!({"id": small.id})).await;
        let (l_data, l_count) =
            measured(&app, &count, token, OUTLINE, json!({"id": large.id})).await;
        println!("course outline ({who}): {s_count} statements for 2 modules, {l_count} for 8");
        assert_eq!(s_data["course"]["modules"].as_array().unwrap().len(), 2);
        assert_eq!(l_data["course"]["modules"].as_array().unwrap().len(), 8);
        assert_eq!(
            l_data["course"]["modules"][7]["lessons"]
                .as_array()
                .unwrap()
                .len(),
            2
        );
        assert!(s_count > 0, "the observer sees the statements");
        assert_eq!(s_count, l_count, "the outline makes a query per module");
    }
}

/// What a phone reconciles with, and each event's verdict.
const SYNC_RESULTS: &str = "mutation($e: [ProgressEventInput!]!) { syncProgress(events: $e) { accepted rejected results { clientEventId duplicate } } }";

#[tokio::test]
async fn syncs_that_wait_together_are_written_in_one_transaction() {
    use sea_orm::{EntityTrait, PaginatorTrait};
    let (app, count) = counted_app().await;
    let admin = app.admin().await;
    let (_, trainer) = app
        .signed_in(&admin, "pelatih@bkpsdm.go.id", &["TRAINER"], None)
        .await;
    let c = course(
        &app,
        &admin,
        &trainer,
        "kelompok",
        1,
        Utc::now() + Duration::days(30),
    )
    .await;
    let mut learners = Vec::new();
    for i in 0..8 {
        let (_, token) = app
            .signed_in(&admin, &format!("asn{i}@dinkes.go.id"), &["LEARNER"], None)
            .await;
        let d = app.ok(Some(&token), ENROLL, json!({"c": c.cohort})).await;
        assert_eq!(d["enroll"]["state"], "ACTIVE", "{d}");
        learners.push(token);
    }
    // Each learner's phone sends three syncs: lesson 1 opened, lesson 2 opened, lesson 1 marked
    // done. The first learner's first sync is also sent twice (a retry after a timeout), so two
    // syncs of one group carry the same event.
    let mut sends: Vec<(String, Vec<Value>)> = Vec::new();
    for token in &learners {
        sends.push((token.clone(), vec![opened(&c.lessons[0])]));
        sends.push((token.clone(), vec![opened(&c.lessons[1])]));
        let mut done = opened(&c.lessons[0]);
        done["kind"] = json!("MARKED_DONE");
        sends.push((token.clone(), vec![done]));
    }
    sends.push(sends[0].clone());

    // Hold the write lock so the syncs queue behind the first one, as under load.
    let db = &app.server.state.db;
    let lock = lms_tests::hold_progress_writes(&app).await;
    count.lock().unwrap().clear();
    let replies = async {
        futures::future::join_all(
            sends
                .iter()
                .map(|(token, events)| app.ok(Some(token), SYNC_RESULTS, json!({"e": events}))),
        )
        .await
    };
    let release = async {
        tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
        lock.commit().await.unwrap();
    };
    let (replies, ()) = tokio::join!(replies, release);

    let inserts = count
        .lock()
        .unwrap()
        .iter()
        .filter(|sql| sql.starts_with(r#"INSERT INTO "progress_events""#))
        .count();
    let writers = if lms_tests::on_postgres() {
        progress::POSTGRES_WRITERS
    } else {
        1
    };
    println!("{} syncs written with {inserts} event INSERTs", sends.len());
    // A person's syncs always go to the same writer, which writes the sync it took first, then
    // everything that queued behind it.
    let bound = 2 * writers.min(learners.len());
    assert!(bound < sends.len());
    assert!(
        inserts <= bound,
        "{inserts} INSERTs for {} syncs",
        sends.len()
    );
    for r in &replies {
        let r = &r["syncProgress"];
        assert_eq!(r["accepted"], 1, "{r}");
        assert_eq!(r["rejected"], 0, "{r}");
    }
    // Whichever order the syncs were applied in, every learner ends complete.
    for token in &learners {
        let d = app
            .ok(
                Some(token),
                "query { myLearning { items { percent completed } } }",
                json!({}),
            )
            .await;
        assert_eq!(d["myLearning"]["items"][0]["percent"], 100.0, "{d}");
        assert_eq!(d["myLearning"]["items"][0]["completed"], true, "{d}");
    }
    // The sync sent twice is stored once: one of its two replies says duplicate.
    let flags: Vec<&Value> = [&replies[0], &replies[replies.len() - 1]]
        .iter()
        .map(|r| &r["syncProgress"]["results"][0]["duplicate"])
        .collect();
    assert_eq!(
        flags.iter().filter(|d| **d == &json!(true)).count(),
        1,
        "{flags:?}"
    );
    let stored: i64 = progress::entity::progress_event::Entity::find()
        .count(db)
        .await
        .unwrap()
        .try_into()
        .unwrap();
    assert_eq!(stored, 3 * 8, "8 learners' three events, each once");
}
