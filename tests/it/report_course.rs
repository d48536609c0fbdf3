//! The course reports through GraphQL: completion, reaction and follow-up. Ten learners in
//! three units and two cohorts go through chosen states at chosen times (a manual clock), then
//! answer the reaction and follow-up surveys as chosen here; every figure is checked against a
//! value worked out by hand in the comments, for the whole course, for each cohort, for unit
//! admins (their subtree only), for trainers (per-trainer figures only from 5 responses), and
//! who may not see them. The number of SQL statements must not grow with the learners.

use std::sync::{Arc, Mutex};

use chrono::{DateTime, Duration, SubsecRound, Utc};
use lms_tests::{Options, PASSWORD, TestApp, error_code};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::evaluation::{answers, form, s, submit};

const CREATE: &str = "mutation($i: CreateCourseInput!) { createCourse(input: $i) { id } }";
const CREATE_MODULE: &str =
    "mutation($c: ID!, $i: CreateModuleInput!) { createModule(courseId: $c, input: $i) { id } }";
const CREATE_LESSON: &str =
    "mutation($m: ID!, $i: CreateLessonInput!) { createLesson(moduleId: $m, input: $i) { id } }";
const ADD_OWNER: &str =
    "mutation($c: ID!, $p: ID!) { addCourseOwner(courseId: $c, personId: $p) { id } }";
const SUBMIT_COURSE: &str = "mutation($id: ID!) { submitCourseForReview(id: $id) { state } }";
const APPROVE: &str = "mutation($id: ID!) { approveCourse(id: $id) { state } }";
const CREATE_COHORT: &str =
    "mutation($c: ID!, $i: CreateCohortInput!) { createCohort(courseId: $c, input: $i) { id } }";
const ENROLL: &str = "mutation($c: ID!) { enroll(cohortId: $c) { id state } }";
const WITHDRAW: &str = "mutation($e: ID!) { withdraw(enrollmentId: $e) { state } }";
const EXPIRE: &str = "mutation($e: ID!) { expireEnrollment(enrollmentId: $e) { state } }";
const SYNC: &str = "mutation($e: [ProgressEventInput!]!) { syncProgress(events: $e) { accepted rejected enrollments { completed } } }";
const SET_SUPERVISOR: &str =
    "mutation($p: ID!, $s: ID) { setSupervisor(personId: $p, supervisorId: $s) { personId } }";
const SWEEP: &str = "mutation { runEvaluationSweep { followUpsRequested } }";
const REQUESTS: &str = "query($c: ID!) { followUpRequests(courseId: $c, first: 100) { edges { node { id audience learnerName } } } }";
const CLOSE: &str = "mutation($id: ID!) { closeFollowUpRequest(id: $id) { state } }";

const COMPLETION: &str = "query($c: ID!, $h: ID) { completionReport(courseId: $c, cohortId: $h) { courseId cohortId unitId measuredAt total { ...F } byUnit { unitId unitName figures { ...F } } } } fragment F on CompletionFigures { enrolled started completed completionRate medianDaysToComplete overdue withdrawn expired }";
const REACTION: &str = "query($c: ID!, $h: ID) { reactionReport(courseId: $c, cohortId: $h) { courseId cohortId unitId completed responses responseRate minimumResponses overall { ...L } dimensions { dimension summary { ...L } } trainers { trainer { id name } responses overall { ...L } dimensions { dimension summary { ...L } } } } } fragment L on LikertSummary { answers mean distribution }";
const FOLLOW_UP: &str = "query($c: ID!, $h: ID) { followUpReport(courseId: $c, cohortId: $h) { courseId cohortId unitId learner { ...S } supervisor { ...S } } } fragment S on FollowUpReportSide { requests { sent answered open closed responseRate } responses minimumResponses questions { question { position text } kind dimension answers likert { answers mean distribution } texts } }";

#[track_caller]
fn approx(v: &Value, want: f64) {
    let got = v
        .as_f64()
        .unwrap_or_else(|| panic!("a number near {want}, got {v}"));
    assert!((got - want).abs() < 1e-6, "expected {want}, got {got}");
}

#[track_caller]
fn approx_or_null(v: &Value, want: Option<f64>) {
    match want {
        Some(w) => approx(v, w),
        None => assert_eq!(v, &Value::Null),
    }
}

/// The SQL statements run since the last clear.
type Seen = Arc<Mutex<Vec<String>>>;

async fn measured(app: &TestApp, seen: &Seen, token: &str, q: &str, vars: Value) -> (Value, usize) {
    seen.lock().unwrap().clear();
    let data = app.ok(Some(token), q, vars).await;
    let n = seen.lock().unwrap().len();
    (data, n)
}

/// A fresh token (tokens expire 15 minutes after sign-in, by the app's clock).
async fn tok(app: &TestApp, email: &str) -> String {
    app.sign_in(email, PASSWORD).await.0
}

fn email(name: &str) -> String {
    format!("{name}@tangerangselatankota.go.id")
}

/// `enrolled started completed overdue withdrawn expired`, the completion rate and the
/// median days.
#[track_caller]
fn figures(v: &Value, counts: [i64; 6], rate: Option<f64>, median: Option<f64>) {
    let got = [
        "enrolled",
        "started",
        "completed",
        "overdue",
        "withdrawn",
        "expired",
    ]
    .map(|k| v[k].as_i64().unwrap_or_else(|| panic!("{k} in {v}")));
    assert_eq!(got, counts, "{v}");
    approx_or_null(&v["completionRate"], rate);
    approx_or_null(&v["medianDaysToComplete"], median);
}

/// The `byUnit` rows as (unit id, figures).
fn units(report: &Value) -> Vec<(Value, Value)> {
    report["byUnit"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| (u["unitId"].clone(), u["figures"].clone()))
        .collect()
}

/// A Likert summary: answers, mean, distribution of 1..5.
#[track_caller]
fn likert(v: &Value, answers: i64, mean: f64, distribution: [i64; 5]) {
    assert_eq!(v["answers"], answers, "{v}");
    approx(&v["mean"], mean);
    assert_eq!(v["distribution"], json!(distribution), "{v}");
}

fn dimension<'a>(list: &'a Value, name: &str) -> &'a Value {
    list.as_array()
        .unwrap()
        .iter()
        .find(|d| d["dimension"] == name)
        .unwrap_or_else(|| panic!("no {name} in {list}"))
}

fn question(side: &Value, position: i64) -> &Value {
    side["questions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|q| q["question"]["position"] == position)
        .unwrap_or_else(|| panic!("no question {position} in {side}"))
}

/// A learner of the scenario.
struct Learner {
    email: String,
    id: String,
    enrollment: String,
}

/// Opens the given lessons at `at`; returns whether the enrollment completed.
async fn open_lessons(app: &TestApp, l: &Learner, lessons: &[&str], at: DateTime<Utc>) -> bool {
    let events: Vec<Value> = lessons
        .iter()
        .map(|lesson| json!({"clientEventId": Uuid::new_v4().to_string(), "lessonId": lesson, "kind": "OPENED", "occurredAt": at.to_rfc3339()}))
        .collect();
    let d = app
        .ok(Some(&tok(app, &l.email).await), SYNC, json!({"e": events}))
        .await;
    assert_eq!(d["syncProgress"]["accepted"], lessons.len(), "{d}");
    d["syncProgress"]["enrollments"][0]["completed"] == true
}

/// The course-wide reaction answers of the respondents, by dimension, and about trainers A
/// and B (every Likert item of a dimension, or of a trainer, gets the same value).
struct Reaction {
    material: i32,
    trainer: i32,
    organisation: i32,
    usefulness: i32,
    about_a: i32,
    about_b: i32,
}

/// Sets up a fresh app on a manual clock, and runs the whole scenario.
///
/// ```text
///   learner unit    cohort  enrolled  state at T0+30d           completed  days
///   ani     DINKES  I       T0        completed                 T0+2d       2
///   budi    PKM     I       T0        completed                 T0+4d       4
///   citra   PKM     I       T0        completed                 T0+9d       9
///   dedi    DISDIK  I       T0        completed                 T0+5d       5
///   gita    DINKES  I       T0        active, lesson 1 opened   -
///   indah   PKM     I       T0        withdrawn (T0+10d)        -
///   eka     DISDIK  II      T0+10d    completed                 T0+22d     12
///   fajar   DINKES  II      T0+10d    completed                 T0+17d      7
///   hadi    DISDIK  II      T0+10d    active, nothing opened    -
///   joko    DISDIK  II      T0+10d    expired (T0+10d)          -
/// ```
///
/// PKM (a puskesmas) is a child unit of DINKES. Angkatan I is due at T0+20d, Angkatan II at
/// T0+60d. Days to complete run from the enrollment's activation: eka's are 22 - 10 = 12, not
/// 22.
#[tokio::test]
async fn course_reports_match_hand_computed_values() {
    let t0 = Utc::now().trunc_subsecs(0) - Duration::days(400);
    let clock = kernel::ManualClock::new(t0);
    let seen: Seen = Arc::default();
    let observer = seen.clone();
    let app = TestApp::spawn_with(Options {
        overrides: gateway::Overrides {
            clock: Some(Arc::new(clock.clone())),
            statement_observer: Some(Arc::new(move |info: &sea_orm::metric::Info<'_>| {
                observer.lock().unwrap().push(info.statement.sql.clone());
            })),
            ..Default::default()
        },
        ..Default::default()
    })
    .await;
    let day = |n: i64| t0 + Duration::days(n);

    // --- T0: units, people, the course and its two cohorts. -------------------------------
    let admin = app.admin().await;
    let dinkes = app.unit(&admin, "DINKES", None).await;
    let pkm = app.unit(&admin, "PKM", Some(&dinkes)).await;
    let disdik = app.unit(&admin, "DISDIK", None).await;
    let ua_dinkes = "ua-dinkes@bkpsdm.go.id";
    let ua_pkm = "ua-pkm@bkpsdm.go.id";
    app.person(&admin, ua_dinkes, &["UNIT_ADMIN"], Some(&dinkes))
        .await;
    app.person(&admin, ua_pkm, &["UNIT_ADMIN"], Some(&pkm))
        .await;
    let (trainer_a_id, trainer_a) = app
        .signed_in(&admin, "pelatih-a@bkpsdm.go.id", &["TRAINER"], None)
        .await;
    let (trainer_b_id, _) = app
        .signed_in(&admin, "pelatih-b@bkpsdm.go.id", &["TRAINER"], None)
        .await;
    let (_, other_trainer) = app
        .signed_in(&admin, "pelatih-lain@bkpsdm.go.id", &["TRAINER"], None)
        .await;
    let other_course = s(&app
        .ok(
            Some(&other_trainer),
            CREATE,
            json!({"i": {"code": "LAIN-1", "title": "Pelatihan lain", "competencyType": "TECHNICAL", "jpCredit": 2}}),
        )
        .await["createCourse"]["id"]);
    let course = s(&app
        .ok(
            Some(&trainer_a),
            CREATE,
            json!({"i": {"code": "MR-1", "title": "Manajemen Risiko", "competencyType": "TECHNICAL", "jpCredit": 4}}),
        )
        .await["createCourse"]["id"]);
    app.ok(
        Some(&trainer_a),
        ADD_OWNER,
        json!({"c": course, "p": trainer_b_id}),
    )
    .await;
    let module = s(&app
        .ok(
            Some(&trainer_a),
            CREATE_MODULE,
            json!({"c": course, "i": {"title": "Modul 1"}}),
        )
        .await["createModule"]["id"]);
    let mut lessons = Vec::new();
    for title in ["Konsep risiko", "Register risiko"] {
        lessons.push(s(&app
            .ok(
                Some(&trainer_a),
                CREATE_LESSON,
                json!({"m": module, "i": {"title": title, "kind": "TEXT", "required": true, "body": "# Isi"}}),
            )
            .await["createLesson"]["id"]));
    }
    let both = [lessons[0].as_str(), lessons[1].as_str()];
    app.ok(Some(&trainer_a), SUBMIT_COURSE, json!({"id": course}))
        .await;
    app.ok(Some(&admin), APPROVE, json!({"id": course})).await;
    let mut cohorts = Vec::new();
    for (name, due) in [("Angkatan I", day(20)), ("Angkatan II", day(60))] {
        cohorts.push(s(&app
            .ok(
                Some(&admin),
                CREATE_COHORT,
                json!({"c": course, "i": {"name": name, "dueAt": due.to_rfc3339()}}),
            )
            .await["createCohort"]["id"]));
    }
    let (cohort1, cohort2) = (cohorts[0].clone(), cohorts[1].clone());

    let mut people = std::collections::HashMap::new();
    for (name, unit) in [
        ("ani", &dinkes),
        ("budi", &pkm),
        ("citra", &pkm),
        ("dedi", &disdik),
        ("gita", &dinkes),
        ("indah", &pkm),
    ] {
        people.insert(name.to_owned(), enroll(&app, name, unit, &cohort1).await);
    }
    // --- T0+10d: Angkatan II enrolls; indah withdraws, joko is expired. -------------------
    clock.set(day(10));
    for (name, unit) in [
        ("eka", &disdik),
        ("fajar", &dinkes),
        ("hadi", &disdik),
        ("joko", &disdik),
    ] {
        people.insert(name.to_owned(), enroll(&app, name, unit, &cohort2).await);
    }
    let p = |name: &str| &people[name];
    let d = app
        .ok(
            Some(&tok(&app, &p("indah").email).await),
            WITHDRAW,
            json!({"e": p("indah").enrollment}),
        )
        .await;
    assert_eq!(d["withdraw"]["state"], "WITHDRAWN");
    let admin = app.admin().await;
    let d = app
        .ok(Some(&admin), EXPIRE, json!({"e": p("joko").enrollment}))
        .await;
    assert_eq!(d["expireEnrollment"]["state"], "EXPIRED");
    // Supervisors: kepala (DINKES) of ani and budi, kadis (DISDIK) of dedi and eka.
    let kepala = app
        .person(&admin, "kepala@dinkes.go.id", &[], Some(&dinkes))
        .await;
    let kadis = app
        .person(&admin, "kadis@disdik.go.id", &[], Some(&disdik))
        .await;
    for (learner, boss) in [
        ("ani", &kepala),
        ("budi", &kepala),
        ("dedi", &kadis),
        ("eka", &kadis),
    ] {
        app.ok(
            Some(&admin),
            SET_SUPERVISOR,
            json!({"p": p(learner).id, "s": boss}),
        )
        .await;
    }

    // --- T0+30d: progress arrives (events may arrive long after they happened). -----------
    clock.set(day(30));
    for (name, done) in [
        ("ani", 2),
        ("budi", 4),
        ("citra", 9),
        ("dedi", 5),
        ("eka", 22),
        ("fajar", 17),
    ] {
        assert!(
            open_lessons(&app, p(name), &both, day(done)).await,
            "{name}"
        );
    }
    assert!(!open_lessons(&app, p("gita"), &both[..1], day(3)).await);

    // Completion, every cohort, as the course's trainer (at T0+30d):
    //   enrolled (active + completed) = 6 completed + gita + hadi = 8
    //   started = 6 + gita = 7;  completed = 6;  rate = 6/8 = 0.75
    //   overdue: gita (Angkatan I due T0+20d); hadi's Angkatan II is due T0+60d -> 1
    //   withdrawn: indah 1;  expired: joko 1
    //   days [2, 4, 5, 7, 9, 12] -> median (5 + 7) / 2 = 6
    // By unit (the learner's own unit; sorted by name: Unit DINKES, Unit DISDIK, Unit PKM):
    //   DINKES: ani 2 (C), fajar 7 (C), gita (A, started, overdue)
    //           -> enrolled 3, started 3, completed 2, overdue 1, rate 2/3, median 4.5
    //   DISDIK: dedi 5, eka 12 (C), hadi (A), joko (E)
    //           -> enrolled 3, started 2, completed 2, expired 1, rate 2/3, median 8.5
    //   PKM:    budi 4, citra 9 (C), indah (W)
    //           -> enrolled 2, started 2, completed 2, withdrawn 1, rate 1, median 6.5
    let trainer_a = tok(&app, "pelatih-a@bkpsdm.go.id").await;
    let (r, statements) = measured(&app, &seen, &trainer_a, COMPLETION, json!({"c": course})).await;
    // course, ownership, counts per unit, medians.
    assert_eq!(statements, 4, "{:#?}", seen.lock().unwrap());
    let r = &r["completionReport"];
    assert_eq!(r["courseId"], course.as_str());
    assert_eq!(r["cohortId"], Value::Null);
    assert_eq!(r["unitId"], Value::Null);
    assert_eq!(
        r["measuredAt"]
            .as_str()
            .map(|t| t.parse::<DateTime<Utc>>().unwrap()),
        Some(day(30))
    );
    figures(&r["total"], [8, 7, 6, 1, 1, 1], Some(0.75), Some(6.0));
    let rows = units(r);
    assert_eq!(
        rows.iter().map(|(u, _)| u.clone()).collect::<Vec<_>>(),
        vec![json!(dinkes), json!(disdik), json!(pkm)]
    );
    assert_eq!(r["byUnit"][0]["unitName"], "Unit DINKES");
    figures(&rows[0].1, [3, 3, 2, 1, 0, 0], Some(2.0 / 3.0), Some(4.5));
    figures(&rows[1].1, [3, 2, 2, 0, 0, 1], Some(2.0 / 3.0), Some(8.5));
    figures(&rows[2].1, [2, 2, 2, 0, 1, 0], Some(1.0), Some(6.5));

    // Angkatan I: ani 2, budi 4, citra 9, dedi 5 (C), gita (A, overdue), indah (W)
    //   enrolled 5, started 5, completed 4, overdue 1, withdrawn 1; rate 0.8;
    //   days [2, 4, 5, 9] -> median (4 + 5) / 2 = 4.5
    let r = app
        .ok(
            Some(&trainer_a),
            COMPLETION,
            json!({"c": course, "h": cohort1}),
        )
        .await;
    let r = &r["completionReport"];
    assert_eq!(r["cohortId"], cohort1.as_str());
    figures(&r["total"], [5, 5, 4, 1, 1, 0], Some(0.8), Some(4.5));
    // Angkatan II: eka 12, fajar 7 (C), hadi (A, not started, not yet due), joko (E)
    //   enrolled 3, started 2, completed 2, expired 1; rate 2/3; median (7 + 12) / 2 = 9.5
    let r = app
        .ok(
            Some(&trainer_a),
            COMPLETION,
            json!({"c": course, "h": cohort2}),
        )
        .await;
    figures(
        &r["completionReport"]["total"],
        [3, 2, 2, 0, 0, 1],
        Some(2.0 / 3.0),
        Some(9.5),
    );

    // The DINKES unit admin, asking for the whole course, gets DINKES and its puskesmas only:
    //   ani 2, fajar 7, gita (A, overdue), budi 4, citra 9, indah (W)
    //   enrolled 5, started 5, completed 4, overdue 1, withdrawn 1; rate 0.8;
    //   days [2, 4, 7, 9] -> median (4 + 7) / 2 = 5.5; rows DINKES and PKM, no DISDIK
    let ua = tok(&app, ua_dinkes).await;
    let (r, statements) = measured(&app, &seen, &ua, COMPLETION, json!({"c": course})).await;
    // course, the unit admin's unit, counts per unit, medians.
    assert_eq!(statements, 4, "{:#?}", seen.lock().unwrap());
    let r = &r["completionReport"];
    assert_eq!(r["unitId"], dinkes.as_str());
    figures(&r["total"], [5, 5, 4, 1, 1, 0], Some(0.8), Some(5.5));
    let rows = units(r);
    assert_eq!(rows.len(), 2, "{r}");
    assert_eq!(rows[0].0, json!(dinkes));
    figures(&rows[0].1, [3, 3, 2, 1, 0, 0], Some(2.0 / 3.0), Some(4.5));
    assert_eq!(rows[1].0, json!(pkm));
    figures(&rows[1].1, [2, 2, 2, 0, 1, 0], Some(1.0), Some(6.5));
    // ... and of Angkatan I: ani 2, budi 4, citra 9 (an odd count: median 4), gita, indah.
    let r = app
        .ok(Some(&ua), COMPLETION, json!({"c": course, "h": cohort1}))
        .await;
    figures(
        &r["completionReport"]["total"],
        [4, 4, 3, 1, 1, 0],
        Some(0.75),
        Some(4.0),
    );
    // The puskesmas's own unit admin: budi 4, citra 9, indah (W) -> median 6.5.
    let r = app
        .ok(
            Some(&tok(&app, ua_pkm).await),
            COMPLETION,
            json!({"c": course}),
        )
        .await;
    let r = &r["completionReport"];
    assert_eq!(r["unitId"], pkm.as_str());
    figures(&r["total"], [2, 2, 2, 0, 1, 0], Some(1.0), Some(6.5));
    assert_eq!(units(r).len(), 1);
    // The other course: nothing enrolled, nothing to take a median of.
    let r = app
        .ok(
            Some(&other_trainer_now(&app).await),
            COMPLETION,
            json!({"c": other_course}),
        )
        .await;
    figures(&r["completionReport"]["total"], [0; 6], None, None);
    assert_eq!(r["completionReport"]["byUnit"], json!([]));

    // --- The reaction survey, answered by ani, budi, citra, dedi and fajar (not eka). -----
    let reactions = [
        (
            "ani",
            Reaction {
                material: 5,
                trainer: 5,
                organisation: 4,
                usefulness: 5,
                about_a: 5,
                about_b: 3,
            },
        ),
        (
            "budi",
            Reaction {
                material: 4,
                trainer: 5,
                organisation: 4,
                usefulness: 5,
                about_a: 4,
                about_b: 2,
            },
        ),
        (
            "citra",
            Reaction {
                material: 4,
                trainer: 4,
                organisation: 3,
                usefulness: 5,
                about_a: 4,
                about_b: 3,
            },
        ),
        (
            "dedi",
            Reaction {
                material: 3,
                trainer: 4,
                organisation: 5,
                usefulness: 4,
                about_a: 5,
                about_b: 4,
            },
        ),
        (
            "fajar",
            Reaction {
                material: 2,
                trainer: 3,
                organisation: 4,
                usefulness: 2,
                about_a: 3,
                about_b: 3,
            },
        ),
    ];
    for (name, a) in &reactions {
        let token = tok(&app, &p(name).email).await;
        let f = form(&app, &token, &p(name).enrollment, "REACTION").await;
        let all = answers(
            &f,
            |item| match (item["dimension"].as_str(), item["trainer"]["id"].as_str()) {
                (_, Some(t)) if t == trainer_a_id => a.about_a,
                (_, Some(_)) => a.about_b,
                (Some("MATERIAL"), None) => a.material,
                (Some("TRAINER"), None) => a.trainer,
                (Some("ORGANISATION"), None) => a.organisation,
                _ => a.usefulness,
            },
            |_| None,
        );
        let body = submit(&app, &token, &p(name).enrollment, "REACTION", &all).await;
        assert!(body.get("errors").is_none(), "{body}");
    }

    // Reaction, every cohort, as a trainer. n = 5 of 6 completed: rate 5/6.
    //   MATERIAL (3 questions each): 5,4,4,3,2 -> counts of 2..5: 3,3,6,3 (15 answers);
    //     mean (5+4+4+3+2)/5 = 18/5 = 3.6
    //   TRAINER (the one course-wide question): 5,5,4,4,3 -> [0,0,1,2,2]; mean 21/5 = 4.2
    //   ORGANISATION: 4,4,3,5,4 -> [0,0,3,9,3]; mean 20/5 = 4.0
    //   USEFULNESS: 5,5,5,4,2 -> [0,3,0,3,9]; mean 21/5 = 4.2
    //   overall: [0,6,7,20,17], 50 answers, (12+21+80+85)/50 = 198/50 = 3.96
    //   trainer A (3 questions each, n = 5): 5,4,4,5,3 -> [0,0,3,6,6]; mean 21/5 = 4.2
    //   trainer B: 3,2,3,4,3 -> [0,3,9,3,0]; mean 15/5 = 3.0
    let (r, statements) = measured(&app, &seen, &trainer_a, REACTION, json!({"c": course})).await;
    // course, ownership, completed, responses, questions, answer counts, answers per
    // trainer, owners, their people, comments (5 responses: visible).
    assert_eq!(statements, 10, "{:#?}", seen.lock().unwrap());
    let r = &r["reactionReport"];
    assert_eq!(r["completed"], 6);
    assert_eq!(r["responses"], 5);
    approx(&r["responseRate"], 5.0 / 6.0);
    assert_eq!(r["minimumResponses"], 5);
    let dims = &r["dimensions"];
    likert(
        &dimension(dims, "MATERIAL")["summary"],
        15,
        3.6,
        [0, 3, 3, 6, 3],
    );
    likert(
        &dimension(dims, "TRAINER")["summary"],
        5,
        4.2,
        [0, 0, 1, 2, 2],
    );
    likert(
        &dimension(dims, "ORGANISATION")["summary"],
        15,
        4.0,
        [0, 0, 3, 9, 3],
    );
    likert(
        &dimension(dims, "USEFULNESS")["summary"],
        15,
        4.2,
        [0, 3, 0, 3, 9],
    );
    likert(&r["overall"], 50, 3.96, [0, 6, 7, 20, 17]);
    let trainers = r["trainers"].as_array().unwrap();
    assert_eq!(trainers.len(), 2);
    assert_eq!(trainers[0]["trainer"]["id"], trainer_a_id.as_str());
    assert_eq!(trainers[0]["responses"], 5);
    likert(&trainers[0]["overall"], 15, 4.2, [0, 0, 3, 6, 6]);
    likert(
        &dimension(&trainers[0]["dimensions"], "TRAINER")["summary"],
        15,
        4.2,
        [0, 0, 3, 6, 6],
    );
    assert_eq!(trainers[1]["trainer"]["id"], trainer_b_id.as_str());
    likert(&trainers[1]["overall"], 15, 3.0, [0, 3, 9, 3, 0]);

    // Angkatan I: ani, budi, citra, dedi: 4 responses of 4 completed, rate 1.
    //   MATERIAL 5,4,4,3 -> [0,0,3,6,3], mean 16/4 = 4.0
    //   n = 4 < 5: nothing per trainer, only their n.
    let r = app
        .ok(
            Some(&trainer_a),
            REACTION,
            json!({"c": course, "h": cohort1}),
        )
        .await;
    let r = &r["reactionReport"];
    assert_eq!(r["cohortId"], cohort1.as_str());
    assert_eq!(r["completed"], 4);
    assert_eq!(r["responses"], 4);
    approx(&r["responseRate"], 1.0);
    likert(
        &dimension(&r["dimensions"], "MATERIAL")["summary"],
        12,
        4.0,
        [0, 0, 3, 6, 3],
    );
    for t in r["trainers"].as_array().unwrap() {
        assert_eq!(t["responses"], 4, "{t}");
        assert_eq!(t["overall"], Value::Null, "{t}");
        assert_eq!(t["dimensions"], Value::Null, "{t}");
    }
    // Angkatan II: eka and fajar completed, fajar answered: rate 1/2; MATERIAL fajar's 2.
    let r = app
        .ok(
            Some(&admin_now(&app).await),
            REACTION,
            json!({"c": course, "h": cohort2}),
        )
        .await;
    let r = &r["reactionReport"];
    assert_eq!(r["completed"], 2);
    assert_eq!(r["responses"], 1);
    approx(&r["responseRate"], 0.5);
    likert(
        &dimension(&r["dimensions"], "MATERIAL")["summary"],
        3,
        2.0,
        [0, 3, 0, 0, 0],
    );
    assert_eq!(r["trainers"][0]["overall"], Value::Null);

    // The DINKES unit admin: answers about ani, budi, citra and fajar (4 of their 4
    // completed); MATERIAL 5,4,4,2 -> [0,3,0,6,3], mean 15/4 = 3.75; n = 4: no trainer figures,
    // although the course has 5 responses.
    let ua = tok(&app, ua_dinkes).await;
    let r = app.ok(Some(&ua), REACTION, json!({"c": course})).await;
    let r = &r["reactionReport"];
    assert_eq!(r["unitId"], dinkes.as_str());
    assert_eq!(r["completed"], 4);
    assert_eq!(r["responses"], 4);
    approx(&r["responseRate"], 1.0);
    likert(
        &dimension(&r["dimensions"], "MATERIAL")["summary"],
        12,
        3.75,
        [0, 3, 0, 6, 3],
    );
    for t in r["trainers"].as_array().unwrap() {
        assert_eq!(t["responses"], 4, "{t}");
        assert_eq!(t["dimensions"], Value::Null, "{t}");
    }

    // --- T0+115d: the follow-ups are due (90 days after each completion) and asked. -------
    clock.set(day(115));
    let admin = app.admin().await;
    let d = app.ok(Some(&admin), SWEEP, json!({})).await;
    // 6 learners, and the supervisors of ani, budi, dedi and eka.
    assert_eq!(d["runEvaluationSweep"]["followUpsRequested"], 10, "{d}");
    // Fajar's request is closed by an admin; he never answers.
    let list = app.ok(Some(&admin), REQUESTS, json!({"c": course})).await;
    let fajar_request = list["followUpRequests"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| &e["node"])
        .find(|n| {
            n["audience"] == "LEARNER" && n["learnerName"] == format!("Person {}", email("fajar"))
        })
        .unwrap()["id"]
        .clone();
    app.ok(Some(&admin), CLOSE, json!({"id": fajar_request}))
        .await;

    // Learners: the use of the skill (question 1) 5,4,4,3,2; every other Likert item 4; the
    // example (question 2, required) and obstacles (question 6) for two of them.
    for (name, used, example, obstacle) in [
        (
            "ani",
            5,
            "Register risiko puskesmas",
            Some("Waktu terbatas"),
        ),
        ("budi", 4, "Triase pasien gawat darurat", None),
        ("citra", 4, "Daftar periksa ambulans", None),
        ("dedi", 3, "Rencana evakuasi sekolah", Some("Anggaran")),
        ("eka", 2, "Simulasi kebakaran sekolah", None),
    ] {
        let token = tok(&app, &p(name).email).await;
        let f = form(&app, &token, &p(name).enrollment, "FOLLOW_UP_LEARNER").await;
        let all = answers(
            &f,
            |item| if item["position"] == 1 { used } else { 4 },
            |item| match item["position"].as_i64() {
                Some(2) => Some(example.to_owned()),
                Some(6) => obstacle.map(str::to_owned),
                _ => None,
            },
        );
        let body = submit(&app, &token, &p(name).enrollment, "FOLLOW_UP_LEARNER", &all).await;
        assert!(body.get("errors").is_none(), "{name}: {body}");
    }
    // Supervisors: kepala about ani (5) and budi (4), kadis about dedi (2) only; every other
    // Likert item 3.
    for (boss, name, used) in [
        ("kepala@dinkes.go.id", "ani", 5),
        ("kepala@dinkes.go.id", "budi", 4),
        ("kadis@disdik.go.id", "dedi", 2),
    ] {
        let token = tok(&app, boss).await;
        let f = form(&app, &token, &p(name).enrollment, "FOLLOW_UP_SUPERVISOR").await;
        let all = answers(
            &f,
            |item| if item["position"] == 1 { used } else { 3 },
            |item| (item["position"] == 2).then(|| format!("Contoh dari {name}")),
        );
        let body = submit(
            &app,
            &token,
            &p(name).enrollment,
            "FOLLOW_UP_SUPERVISOR",
            &all,
        )
        .await;
        assert!(body.get("errors").is_none(), "{name}: {body}");
    }

    // Follow-up, every cohort, as a trainer.
    //   learners: 6 sent, 5 answered, 1 closed (fajar), 0 open; rate 5/6
    //     q1 5,4,4,3,2 -> [0,1,1,2,1], mean 18/5 = 3.6; q3..q5 all 4 -> [0,0,0,5,0]
    //     q2 (text): 5 answers; 5 responses, so the texts show, sorted
    //     q6 (text): 2 answers (ani, dedi); q7: none
    //   supervisors: 4 sent, 3 answered, 1 open (eka's); rate 3/4
    //     q1 5,4,2 -> [0,1,0,1,1], mean 11/3; q3, q4 all 3
    //     q2: 3 answers; 3 responses < 5: no texts
    let trainer_a = tok(&app, "pelatih-a@bkpsdm.go.id").await;
    let (r, statements) = measured(&app, &seen, &trainer_a, FOLLOW_UP, json!({"c": course})).await;
    // course, ownership, requests; learners: responses, questions, answer counts, texts;
    // supervisors: responses, questions, answer counts.
    assert_eq!(statements, 10, "{:#?}", seen.lock().unwrap());
    let r = &r["followUpReport"];
    assert_eq!(r["courseId"], course.as_str());
    let l = &r["learner"];
    assert_eq!(
        l["requests"],
        json!({"sent": 6, "answered": 5, "open": 0, "closed": 1, "responseRate": 5.0 / 6.0})
    );
    assert_eq!(l["responses"], 5);
    let positions: Vec<i64> = l["questions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|q| q["question"]["position"].as_i64().unwrap())
        .collect();
    assert_eq!(positions, vec![1, 2, 3, 4, 5, 6, 7]);
    let q1 = question(l, 1);
    assert_eq!(
        q1["question"]["text"],
        "Apakah keterampilan dari pelatihan ini sudah Anda gunakan dalam pekerjaan? (1 = belum pernah, 5 = rutin digunakan)"
    );
    assert_eq!(q1["kind"], "LIKERT");
    assert_eq!(q1["dimension"], "USEFULNESS");
    assert_eq!(q1["answers"], 5);
    assert_eq!(q1["texts"], Value::Null);
    likert(&q1["likert"], 5, 3.6, [0, 1, 1, 2, 1]);
    for pos in [3, 4, 5] {
        likert(&question(l, pos)["likert"], 5, 4.0, [0, 0, 0, 5, 0]);
    }
    let q2 = question(l, 2);
    assert_eq!(q2["kind"], "TEXT");
    assert_eq!(q2["answers"], 5);
    assert_eq!(q2["likert"], Value::Null);
    assert_eq!(
        q2["texts"],
        json!([
            "Daftar periksa ambulans",
            "Register risiko puskesmas",
            "Rencana evakuasi sekolah",
            "Simulasi kebakaran sekolah",
            "Triase pasien gawat darurat"
        ])
    );
    assert_eq!(question(l, 6)["answers"], 2);
    assert_eq!(
        question(l, 6)["texts"],
        json!(["Anggaran", "Waktu terbatas"])
    );
    assert_eq!(question(l, 7)["answers"], 0);
    assert_eq!(question(l, 7)["texts"], json!([]));
    let sv = &r["supervisor"];
    assert_eq!(
        sv["requests"],
        json!({"sent": 4, "answered": 3, "open": 1, "closed": 0, "responseRate": 0.75})
    );
    assert_eq!(sv["responses"], 3);
    likert(&question(sv, 1)["likert"], 3, 11.0 / 3.0, [0, 1, 0, 1, 1]);
    likert(&question(sv, 3)["likert"], 3, 3.0, [0, 0, 3, 0, 0]);
    assert_eq!(question(sv, 2)["answers"], 3);
    assert_eq!(question(sv, 2)["texts"], Value::Null);
    assert_eq!(question(sv, 5)["answers"], 0);
    assert_eq!(question(sv, 5)["texts"], Value::Null);

    // Angkatan I (ani, budi, citra, dedi): learners 4 sent, 4 answered, rate 1;
    //   q1 5,4,4,3 -> [0,0,1,2,1], mean 16/4 = 4; 4 responses: no texts.
    //   supervisors of ani, budi, dedi: 3 sent, 3 answered.
    let r = app
        .ok(
            Some(&trainer_a),
            FOLLOW_UP,
            json!({"c": course, "h": cohort1}),
        )
        .await;
    let r = &r["followUpReport"];
    assert_eq!(r["cohortId"], cohort1.as_str());
    assert_eq!(
        r["learner"]["requests"],
        json!({"sent": 4, "answered": 4, "open": 0, "closed": 0, "responseRate": 1.0})
    );
    likert(
        &question(&r["learner"], 1)["likert"],
        4,
        4.0,
        [0, 0, 1, 2, 1],
    );
    assert_eq!(question(&r["learner"], 2)["answers"], 4);
    assert_eq!(question(&r["learner"], 2)["texts"], Value::Null);
    assert_eq!(
        r["supervisor"]["requests"],
        json!({"sent": 3, "answered": 3, "open": 0, "closed": 0, "responseRate": 1.0})
    );
    // Angkatan II (eka, fajar): learners 2 sent, 1 answered, 1 closed: rate 1/2; eka's
    // supervisor asked, not answered: rate 0, and no answers to summarise.
    let r = app
        .ok(
            Some(&trainer_a),
            FOLLOW_UP,
            json!({"c": course, "h": cohort2}),
        )
        .await;
    let r = &r["followUpReport"];
    assert_eq!(
        r["learner"]["requests"],
        json!({"sent": 2, "answered": 1, "open": 0, "closed": 1, "responseRate": 0.5})
    );
    assert_eq!(
        r["supervisor"]["requests"],
        json!({"sent": 1, "answered": 0, "open": 1, "closed": 0, "responseRate": 0.0})
    );
    assert_eq!(r["supervisor"]["responses"], 0);
    assert_eq!(r["supervisor"]["questions"], json!([]));

    // The DINKES unit admin: ani, budi, citra, fajar.
    //   learners: 4 sent, 3 answered, fajar's closed: rate 3/4; q1 5,4,4 -> [0,0,0,2,1],
    //   mean 13/3; 3 responses: no texts. Supervisors of ani and budi: 2 sent, 2 answered;
    //   q1 5,4 -> [0,0,0,1,1], mean 4.5.
    let ua = tok(&app, ua_dinkes).await;
    let r = app.ok(Some(&ua), FOLLOW_UP, json!({"c": course})).await;
    let r = &r["followUpReport"];
    assert_eq!(r["unitId"], dinkes.as_str());
    assert_eq!(
        r["learner"]["requests"],
        json!({"sent": 4, "answered": 3, "open": 0, "closed": 1, "responseRate": 0.75})
    );
    assert_eq!(r["learner"]["responses"], 3);
    likert(
        &question(&r["learner"], 1)["likert"],
        3,
        13.0 / 3.0,
        [0, 0, 0, 2, 1],
    );
    assert_eq!(question(&r["learner"], 2)["texts"], Value::Null);
    assert_eq!(
        r["supervisor"]["requests"],
        json!({"sent": 2, "answered": 2, "open": 0, "closed": 0, "responseRate": 1.0})
    );
    likert(
        &question(&r["supervisor"], 1)["likert"],
        2,
        4.5,
        [0, 0, 0, 1, 1],
    );

    // Overdue is measured when asked: at T0+115d hadi's Angkatan II (due T0+60d) is overdue
    // too: 2.
    let r = app
        .ok(Some(&trainer_a), COMPLETION, json!({"c": course}))
        .await;
    figures(
        &r["completionReport"]["total"],
        [8, 7, 6, 2, 1, 1],
        Some(0.75),
        Some(6.0),
    );

    // --- Who may not see them. -----------------------------------------------------------
    let ani = tok(&app, &p("ani").email).await;
    let kepala = tok(&app, "kepala@dinkes.go.id").await;
    let other = tok(&app, "pelatih-lain@bkpsdm.go.id").await;
    for q in [COMPLETION, REACTION, FOLLOW_UP] {
        for token in [&ani, &kepala, &other] {
            let r = app.gql(Some(token), q, json!({"c": course})).await;
            assert_eq!(error_code(&r).as_deref(), Some("FORBIDDEN"), "{r}");
        }
        let r = app.gql(None, q, json!({"c": course})).await;
        assert_eq!(error_code(&r).as_deref(), Some("UNAUTHENTICATED"), "{r}");
        // Unknown cohort, another course's cohort, unknown course, a bad id.
        let unknown = Uuid::now_v7().to_string();
        for vars in [
            json!({"c": course, "h": unknown}),
            json!({"c": other_course, "h": cohort1}),
            json!({"c": unknown}),
        ] {
            let r = app.gql(Some(&admin_now(&app).await), q, vars).await;
            assert_eq!(error_code(&r).as_deref(), Some("NOT_FOUND"), "{r}");
        }
        let r = app
            .gql(Some(&trainer_a), q, json!({"c": course, "h": "angkatan-1"}))
            .await;
        assert_eq!(error_code(&r).as_deref(), Some("BAD_USER_INPUT"), "{r}");
        assert_eq!(r["errors"][0]["extensions"]["field"], "cohortId", "{r}");
    }

    // --- The statement counts do not grow with the learners. ------------------------------
    let admin = app.admin().await;
    let mut before = Vec::new();
    for q in [COMPLETION, REACTION, FOLLOW_UP] {
        before.push(
            measured(&app, &seen, &admin, q, json!({"c": course}))
                .await
                .1,
        );
    }
    // Three more learners of DISDIK in Angkatan II (no supervisor): enrolled at T0+115d,
    // completed at T0+116d, reaction answered; their follow-ups asked at T0+207d and answered.
    let mut extra = Vec::new();
    for k in 0..3 {
        let name = format!("baru{k}");
        people.insert(name.clone(), enroll(&app, &name, &disdik, &cohort2).await);
        extra.push(name);
    }
    let p = |name: &str| &people[name];
    clock.set(day(117));
    for name in &extra {
        assert!(open_lessons(&app, p(name), &both, day(116)).await);
        let token = tok(&app, &p(name).email).await;
        let f = form(&app, &token, &p(name).enrollment, "REACTION").await;
        let body = submit(
            &app,
            &token,
            &p(name).enrollment,
            "REACTION",
            &answers(&f, |_| 4, |_| None),
        )
        .await;
        assert!(body.get("errors").is_none(), "{body}");
    }
    clock.set(day(207));
    let admin = app.admin().await;
    let d = app.ok(Some(&admin), SWEEP, json!({})).await;
    assert_eq!(d["runEvaluationSweep"]["followUpsRequested"], 3, "{d}");
    for name in &extra {
        let token = tok(&app, &p(name).email).await;
        let f = form(&app, &token, &p(name).enrollment, "FOLLOW_UP_LEARNER").await;
        let all = answers(
            &f,
            |_| 3,
            |item| (item["position"] == 2).then(|| "Contoh".to_owned()),
        );
        let body = submit(&app, &token, &p(name).enrollment, "FOLLOW_UP_LEARNER", &all).await;
        assert!(body.get("errors").is_none(), "{body}");
    }
    let admin = app.admin().await;
    let mut after = Vec::new();
    for q in [COMPLETION, REACTION, FOLLOW_UP] {
        let (data, n) = measured(&app, &seen, &admin, q, json!({"c": course})).await;
        after.push(n);
        if q == COMPLETION {
            // 8 + 3 enrolled, 6 + 3 completed.
            assert_eq!(data["completionReport"]["total"]["enrolled"], 11);
            assert_eq!(data["completionReport"]["total"]["completed"], 9);
        }
    }
    assert_eq!(before, after);
    // completion: course, counts, medians; reaction: course, completed, responses, questions,
    // answer counts, answers per trainer, owners, their people, comments; follow-up: course,
    // requests, 4 for the learners' (texts visible), 3 for the supervisors'.
    assert_eq!(after, vec![3, 9, 9], "{:#?}", seen.lock().unwrap());
}

/// A new learner of `unit`, enrolled in `cohort` now.
async fn enroll(app: &TestApp, name: &str, unit: &str, cohort: &str) -> Learner {
    let admin = app.admin().await;
    let (id, token) = app.signed_in(&admin, &email(name), &[], Some(unit)).await;
    let e = app.ok(Some(&token), ENROLL, json!({"c": cohort})).await;
    assert_eq!(e["enroll"]["state"], "ACTIVE", "{e}");
    Learner {
        email: email(name),
        id,
        enrollment: s(&e["enroll"]["id"]),
    }
}

async fn admin_now(app: &TestApp) -> String {
    app.admin().await
}

async fn other_trainer_now(app: &TestApp) -> String {
    tok(app, "pelatih-lain@bkpsdm.go.id").await
}
