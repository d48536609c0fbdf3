//! The course reports through GraphQL: completion, reaction and follow-up. Ten learners in
//! three units and two cohorts go through chosen states at chosen times (a manual clock), then
//! answer the reaction and follow-up surveys as chosen here; every figure is checked against a
//! value worked out by hand in the comments, for the whole course, for each cohort, for unit
//! admins (their subtree only), for trainers (per-trainer figures only from 5 responses), and
//! who may not see them. The number of SQL statements must not grow with the learners.

use std::sync::Arc;

use chrono::{DateTime, Duration, SubsecRound, Utc};
use lms_tests::{PASSWORD, TestApp};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::fixtures::reports::{
    Enrolled, WITHDRAW, add_owner, answer_survey, approx_or_null, approx_within, counted_app_with,
    create_cohort, create_course, create_lesson, create_module, enrolled, find, measured,
    open_lessons, publish, refused, report, trainer,
};

const EXPIRE: &str = "mutation($e: ID!) { expireEnrollment(enrollmentId: $e) { state } }";
const SET_SUPERVISOR: &str =
    "mutation($p: ID!, $s: ID) { setSupervisor(personId: $p, supervisorId: $s) { personId } }";
const SWEEP: &str = "mutation { runEvaluationSweep { followUpsRequested } }";
const REQUESTS: &str = "query($c: ID!) { followUpRequests(courseId: $c, first: 100) { edges { node { id audience learnerName } } } }";
const CLOSE: &str = "mutation($id: ID!) { closeFollowUpRequest(id: $id) { state } }";

const COMPLETION: &str = "query($c: ID!, $h: ID) { completionReport(courseId: $c, cohortId: $h) { courseId cohortId unitId measuredAt total { ...F } byUnit { unitId unitName figures { ...F } } } } fragment F on CompletionFigures { enrolled started completed completionRate medianDaysToComplete overdue withdrawn expired }";
const REACTION: &str = "query($c: ID!, $h: ID) { reactionReport(courseId: $c, cohortId: $h) { courseId cohortId unitId completed responses responseRate minimumResponses overall { ...L } dimensions { dimension summary { ...L } } trainers { trainer { id name } responses overall { ...L } dimensions { dimension summary { ...L } } } } } fragment L on LikertSummary { answers mean distribution }";
const FOLLOW_UP: &str = "query($c: ID!, $h: ID) { followUpReport(courseId: $c, cohortId: $h) { courseId cohortId unitId learner { ...S } supervisor { ...S } } } fragment S on FollowUpReportSide { requests { sent answered open closed responseRate } responses minimumResponses questions { question { position text } kind dimension answers likert { answers mean distribution } texts } }";

/// How far a figure may be from the value worked out by hand. Days to complete are fractional
/// days computed by the database (on SQLite a difference of `julianday()`s), not exact to the
/// 1e-9 of the other report tests.
const TOLERANCE: f64 = 1e-6;

#[track_caller]
fn approx(v: &Value, want: f64) {
    approx_within(v, want, TOLERANCE);
}

/// A fresh token (tokens expire 15 minutes after sign-in, by the app's clock).
async fn tok(app: &TestApp, email: &str) -> String {
    app.sign_in(email, PASSWORD).await.0
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
    approx_or_null(&v["completionRate"], rate, TOLERANCE);
    approx_or_null(&v["medianDaysToComplete"], median, TOLERANCE);
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

/// The Likert summary of dimension `name` in a list of dimensions.
#[track_caller]
fn dimension_likert(list: &Value, name: &str, answers: i64, mean: f64, distribution: [i64; 5]) {
    let summary = &find(list, &["dimension"], name)["summary"];
    likert(summary, answers, mean, distribution);
}

/// A reaction report's completed enrollments, responses and response rate.
#[track_caller]
fn responded(r: &Value, completed: i64, responses: i64, rate: f64) {
    assert_eq!(r["completed"], completed, "{r}");
    assert_eq!(r["responses"], responses, "{r}");
    approx(&r["responseRate"], rate);
}

/// Below the minimum of responses: each trainer's n, and no figures about them.
#[track_caller]
fn trainers_hidden(r: &Value, responses: i64) {
    for t in r["trainers"].as_array().unwrap() {
        assert_eq!(t["responses"], responses, "{t}");
        assert_eq!(t["overall"], Value::Null, "{t}");
        assert_eq!(t["dimensions"], Value::Null, "{t}");
    }
}

/// The question at `position` of a follow-up side.
#[track_caller]
fn question(side: &Value, position: i64) -> &Value {
    find(&side["questions"], &["question", "position"], position)
}

/// The Likert summary of the question at `position` of a follow-up side.
#[track_caller]
fn question_likert(side: &Value, position: i64, answers: i64, mean: f64, distribution: [i64; 5]) {
    likert(
        &question(side, position)["likert"],
        answers,
        mean,
        distribution,
    );
}

/// A follow-up side's requests: `[sent, answered, open, closed]` and the response rate.
#[track_caller]
fn requests(side: &Value, [sent, answered, open, closed]: [i64; 4], rate: f64) {
    assert_eq!(
        side["requests"],
        json!({"sent": sent, "answered": answered, "open": open, "closed": closed, "responseRate": rate})
    );
}

/// Opens the given lessons at `at` with a fresh token; returns whether the enrollment
/// completed.
async fn opened(app: &TestApp, l: &Enrolled, lessons: &[&str], at: DateTime<Utc>) -> bool {
    open_lessons(app, &tok(app, &l.email).await, lessons, at).await
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
    let (app, seen) = counted_app_with(gateway::Overrides {
        clock: Some(Arc::new(clock.clone())),
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
    let (trainer_a_id, trainer_a) = trainer(&app, &admin, "pelatih-a@bkpsdm.go.id").await;
    let (trainer_b_id, _) = trainer(&app, &admin, "pelatih-b@bkpsdm.go.id").await;
    let (_, other_trainer) = trainer(&app, &admin, "pelatih-lain@bkpsdm.go.id").await;
    let other_course = create_course(&app, &other_trainer, "LAIN-1", "Pelatihan lain", 2).await;
    let course = create_course(&app, &trainer_a, "MR-1", "Manajemen Risiko", 4).await;
    add_owner(&app, &trainer_a, &course, &trainer_b_id).await;
    let module = create_module(&app, &trainer_a, &course).await;
    let mut lessons = Vec::new();
    for title in ["Konsep risiko", "Register risiko"] {
        let input = json!({"title": title, "kind": "TEXT", "required": true, "body": "# Isi"});
        lessons.push(create_lesson(&app, &trainer_a, &module, input).await);
    }
    let both = [lessons[0].as_str(), lessons[1].as_str()];
    publish(&app, &trainer_a, &admin, &course).await;
    let mut cohorts = Vec::new();
    for (name, due) in [("Angkatan I", day(20)), ("Angkatan II", day(60))] {
        let input = json!({"name": name, "dueAt": due.to_rfc3339()});
        cohorts.push(create_cohort(&app, &admin, &course, input).await);
    }
    let (cohort1, cohort2) = (cohorts[0].clone(), cohorts[1].clone());
    let of_cohort = |h: &str| json!({"c": course, "h": h});

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
        assert!(opened(&app, p(name), &both, day(done)).await, "{name}");
    }
    assert!(!opened(&app, p("gita"), &both[..1], day(3)).await);

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
    let r = report(&app, &trainer_a, COMPLETION, of_cohort(&cohort1)).await;
    assert_eq!(r["cohortId"], cohort1.as_str());
    figures(&r["total"], [5, 5, 4, 1, 1, 0], Some(0.8), Some(4.5));
    // Angkatan II: eka 12, fajar 7 (C), hadi (A, not started, not yet due), joko (E)
    //   enrolled 3, started 2, completed 2, expired 1; rate 2/3; median (7 + 12) / 2 = 9.5
    let r = report(&app, &trainer_a, COMPLETION, of_cohort(&cohort2)).await;
    figures(&r["total"], [3, 2, 2, 0, 0, 1], Some(2.0 / 3.0), Some(9.5));

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
    let r = report(&app, &ua, COMPLETION, of_cohort(&cohort1)).await;
    figures(&r["total"], [4, 4, 3, 1, 1, 0], Some(0.75), Some(4.0));
    // The puskesmas's own unit admin: budi 4, citra 9, indah (W) -> median 6.5.
    let ua = tok(&app, ua_pkm).await;
    let r = report(&app, &ua, COMPLETION, json!({"c": course})).await;
    assert_eq!(r["unitId"], pkm.as_str());
    figures(&r["total"], [2, 2, 2, 0, 1, 0], Some(1.0), Some(6.5));
    assert_eq!(units(&r).len(), 1);
    // The other course: nothing enrolled, nothing to take a median of.
    let other = tok(&app, "pelatih-lain@bkpsdm.go.id").await;
    let r = report(&app, &other, COMPLETION, json!({"c": other_course})).await;
    figures(&r["total"], [0; 6], None, None);
    assert_eq!(r["byUnit"], json!([]));

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
        let likert =
            |item: &Value| match (item["dimension"].as_str(), item["trainer"]["id"].as_str()) {
                (_, Some(t)) if t == trainer_a_id => a.about_a,
                (_, Some(_)) => a.about_b,
                (Some("MATERIAL"), None) => a.material,
                (Some("TRAINER"), None) => a.trainer,
                (Some("ORGANISATION"), None) => a.organisation,
                _ => a.usefulness,
            };
        answer_survey(
            &app,
            &token,
            &p(name).enrollment,
            "REACTION",
            likert,
            |_| None,
        )
        .await;
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
    responded(r, 6, 5, 5.0 / 6.0);
    assert_eq!(r["minimumResponses"], 5);
    let dims = &r["dimensions"];
    dimension_likert(dims, "MATERIAL", 15, 3.6, [0, 3, 3, 6, 3]);
    dimension_likert(dims, "TRAINER", 5, 4.2, [0, 0, 1, 2, 2]);
    dimension_likert(dims, "ORGANISATION", 15, 4.0, [0, 0, 3, 9, 3]);
    dimension_likert(dims, "USEFULNESS", 15, 4.2, [0, 3, 0, 3, 9]);
    likert(&r["overall"], 50, 3.96, [0, 6, 7, 20, 17]);
    let trainers = r["trainers"].as_array().unwrap();
    assert_eq!(trainers.len(), 2);
    assert_eq!(trainers[0]["trainer"]["id"], trainer_a_id.as_str());
    assert_eq!(trainers[0]["responses"], 5);
    likert(&trainers[0]["overall"], 15, 4.2, [0, 0, 3, 6, 6]);
    dimension_likert(
        &trainers[0]["dimensions"],
        "TRAINER",
        15,
        4.2,
        [0, 0, 3, 6, 6],
    );
    assert_eq!(trainers[1]["trainer"]["id"], trainer_b_id.as_str());
    likert(&trainers[1]["overall"], 15, 3.0, [0, 3, 9, 3, 0]);

    // Angkatan I: ani, budi, citra, dedi: 4 responses of 4 completed, rate 1.
    //   MATERIAL 5,4,4,3 -> [0,0,3,6,3], mean 16/4 = 4.0
    //   n = 4 < 5: nothing per trainer, only their n.
    let r = report(&app, &trainer_a, REACTION, of_cohort(&cohort1)).await;
    assert_eq!(r["cohortId"], cohort1.as_str());
    responded(&r, 4, 4, 1.0);
    dimension_likert(&r["dimensions"], "MATERIAL", 12, 4.0, [0, 0, 3, 6, 3]);
    trainers_hidden(&r, 4);
    // Angkatan II: eka and fajar completed, fajar answered: rate 1/2; MATERIAL fajar's 2.
    let r = report(&app, &app.admin().await, REACTION, of_cohort(&cohort2)).await;
    responded(&r, 2, 1, 0.5);
    dimension_likert(&r["dimensions"], "MATERIAL", 3, 2.0, [0, 3, 0, 0, 0]);
    assert_eq!(r["trainers"][0]["overall"], Value::Null);

    // The DINKES unit admin: answers about ani, budi, citra and fajar (4 of their 4
    // completed); MATERIAL 5,4,4,2 -> [0,3,0,6,3], mean 15/4 = 3.75; n = 4: no trainer figures,
    // although the course has 5 responses.
    let ua = tok(&app, ua_dinkes).await;
    let r = report(&app, &ua, REACTION, json!({"c": course})).await;
    assert_eq!(r["unitId"], dinkes.as_str());
    responded(&r, 4, 4, 1.0);
    dimension_likert(&r["dimensions"], "MATERIAL", 12, 3.75, [0, 3, 0, 6, 3]);
    trainers_hidden(&r, 4);

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
            n["audience"] == "LEARNER" && n["learnerName"] == format!("Person {}", p("fajar").email)
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
        let likert = |item: &Value| if item["position"] == 1 { used } else { 4 };
        let text = |item: &Value| match item["position"].as_i64() {
            Some(2) => Some(example.to_owned()),
            Some(6) => obstacle.map(str::to_owned),
            _ => None,
        };
        answer_survey(
            &app,
            &token,
            &p(name).enrollment,
            "FOLLOW_UP_LEARNER",
            likert,
            text,
        )
        .await;
    }
    // Supervisors: kepala about ani (5) and budi (4), kadis about dedi (2) only; every other
    // Likert item 3.
    for (boss, name, used) in [
        ("kepala@dinkes.go.id", "ani", 5),
        ("kepala@dinkes.go.id", "budi", 4),
        ("kadis@disdik.go.id", "dedi", 2),
    ] {
        let token = tok(&app, boss).await;
        let likert = |item: &Value| if item["position"] == 1 { used } else { 3 };
        let text = |item: &Value| (item["position"] == 2).then(|| format!("Contoh dari {name}"));
        let enrollment = &p(name).enrollment;
        answer_survey(
            &app,
            &token,
            enrollment,
            "FOLLOW_UP_SUPERVISOR",
            likert,
            text,
        )
        .await;
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
    requests(l, [6, 5, 0, 1], 5.0 / 6.0);
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
        question_likert(l, pos, 5, 4.0, [0, 0, 0, 5, 0]);
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
    requests(sv, [4, 3, 1, 0], 0.75);
    assert_eq!(sv["responses"], 3);
    question_likert(sv, 1, 3, 11.0 / 3.0, [0, 1, 0, 1, 1]);
    question_likert(sv, 3, 3, 3.0, [0, 0, 3, 0, 0]);
    assert_eq!(question(sv, 2)["answers"], 3);
    assert_eq!(question(sv, 2)["texts"], Value::Null);
    assert_eq!(question(sv, 5)["answers"], 0);
    assert_eq!(question(sv, 5)["texts"], Value::Null);

    // Angkatan I (ani, budi, citra, dedi): learners 4 sent, 4 answered, rate 1;
    //   q1 5,4,4,3 -> [0,0,1,2,1], mean 16/4 = 4; 4 responses: no texts.
    //   supervisors of ani, budi, dedi: 3 sent, 3 answered.
    let r = report(&app, &trainer_a, FOLLOW_UP, of_cohort(&cohort1)).await;
    assert_eq!(r["cohortId"], cohort1.as_str());
    requests(&r["learner"], [4, 4, 0, 0], 1.0);
    question_likert(&r["learner"], 1, 4, 4.0, [0, 0, 1, 2, 1]);
    assert_eq!(question(&r["learner"], 2)["answers"], 4);
    assert_eq!(question(&r["learner"], 2)["texts"], Value::Null);
    requests(&r["supervisor"], [3, 3, 0, 0], 1.0);
    // Angkatan II (eka, fajar): learners 2 sent, 1 answered, 1 closed: rate 1/2; eka's
    // supervisor asked, not answered: rate 0, and no answers to summarise.
    let r = report(&app, &trainer_a, FOLLOW_UP, of_cohort(&cohort2)).await;
    requests(&r["learner"], [2, 1, 0, 1], 0.5);
    requests(&r["supervisor"], [1, 0, 1, 0], 0.0);
    assert_eq!(r["supervisor"]["responses"], 0);
    assert_eq!(r["supervisor"]["questions"], json!([]));

    // The DINKES unit admin: ani, budi, citra, fajar.
    //   learners: 4 sent, 3 answered, fajar's closed: rate 3/4; q1 5,4,4 -> [0,0,0,2,1],
    //   mean 13/3; 3 responses: no texts. Supervisors of ani and budi: 2 sent, 2 answered;
    //   q1 5,4 -> [0,0,0,1,1], mean 4.5.
    let ua = tok(&app, ua_dinkes).await;
    let r = report(&app, &ua, FOLLOW_UP, json!({"c": course})).await;
    assert_eq!(r["unitId"], dinkes.as_str());
    requests(&r["learner"], [4, 3, 0, 1], 0.75);
    assert_eq!(r["learner"]["responses"], 3);
    question_likert(&r["learner"], 1, 3, 13.0 / 3.0, [0, 0, 0, 2, 1]);
    assert_eq!(question(&r["learner"], 2)["texts"], Value::Null);
    requests(&r["supervisor"], [2, 2, 0, 0], 1.0);
    question_likert(&r["supervisor"], 1, 2, 4.5, [0, 0, 0, 1, 1]);

    // Overdue is measured when asked: at T0+115d hadi's Angkatan II (due T0+60d) is overdue
    // too: 2.
    let r = report(&app, &trainer_a, COMPLETION, json!({"c": course})).await;
    figures(&r["total"], [8, 7, 6, 2, 1, 1], Some(0.75), Some(6.0));

    // --- Who may not see them. -----------------------------------------------------------
    let ani = tok(&app, &p("ani").email).await;
    let kepala = tok(&app, "kepala@dinkes.go.id").await;
    let other = tok(&app, "pelatih-lain@bkpsdm.go.id").await;
    for q in [COMPLETION, REACTION, FOLLOW_UP] {
        for token in [&ani, &kepala, &other] {
            refused(&app, Some(token), q, json!({"c": course}), "FORBIDDEN").await;
        }
        refused(&app, None, q, json!({"c": course}), "UNAUTHENTICATED").await;
        // Unknown cohort, another course's cohort, unknown course, a bad id.
        let unknown = Uuid::now_v7().to_string();
        for vars in [
            json!({"c": course, "h": unknown}),
            json!({"c": other_course, "h": cohort1}),
            json!({"c": unknown}),
        ] {
            refused(&app, Some(&app.admin().await), q, vars, "NOT_FOUND").await;
        }
        let bad = json!({"c": course, "h": "angkatan-1"});
        let r = refused(&app, Some(&trainer_a), q, bad, "BAD_USER_INPUT").await;
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
        assert!(opened(&app, p(name), &both, day(116)).await);
        let token = tok(&app, &p(name).email).await;
        answer_survey(
            &app,
            &token,
            &p(name).enrollment,
            "REACTION",
            |_| 4,
            |_| None,
        )
        .await;
    }
    clock.set(day(207));
    let admin = app.admin().await;
    let d = app.ok(Some(&admin), SWEEP, json!({})).await;
    assert_eq!(d["runEvaluationSweep"]["followUpsRequested"], 3, "{d}");
    for name in &extra {
        let token = tok(&app, &p(name).email).await;
        let text = |item: &Value| (item["position"] == 2).then(|| "Contoh".to_owned());
        answer_survey(
            &app,
            &token,
            &p(name).enrollment,
            "FOLLOW_UP_LEARNER",
            |_| 3,
            text,
        )
        .await;
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
async fn enroll(app: &TestApp, name: &str, unit: &str, cohort: &str) -> Enrolled {
    enrolled(app, &app.admin().await, name, unit, cohort).await
}
