//! The overview reports through GraphQL: the course and trainer trends across cohorts, the unit
//! × course completion matrix and JP compliance. Each scenario is built so that every figure
//! can be worked out by hand (in the comments), including the anonymity rule below 5 responses,
//! the subtree aggregation of a three-level unit tree and the WIB year of JP; then who may read
//! what, bad input, and the number of SQL statements, which must not grow with learners or
//! cohorts.

use chrono::Utc;
use lms_tests::TestApp;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::evaluation::{self as ev, s};
use crate::fixtures::reports::{
    TOLERANCE, WITHDRAW, answer_survey, approx, approx_or_null, column, complete, counted_app,
    create_cohort, create_course, create_lesson, create_module, enroll, measured, pre_and_post,
    publish, refused, report, statements, take, trainer, unit_admin,
};

const RECORD_JP: &str =
    "mutation($i: RecordExternalJpInput!) { recordExternalJp(input: $i) { total } }";
const DISABLE: &str = "mutation($id: ID!) { disablePerson(id: $id) { id } }";

const COURSE_TREND: &str = "query($c: ID!) { courseTrend(courseId: $c) { courseId unitId minimumResponses postTest { quizId title } points { cohortId cohortName startsAt reactionResponses reactionMean gain { paired preMean postMean classGain classGainCategory } falling fallingMeasures } } }";
const TRAINER_TREND: &str = "query($p: ID!) { trainerTrend(personId: $p) { personId name minimumResponses points { courseId courseTitle cohortId cohortName startsAt trainerResponses trainerMean gain { paired classGain } falling fallingMeasures } } }";
const MATRIX: &str = "query($u: ID, $c: [ID!]!) { completionMatrix(unitId: $u, courseIds: $c) { unit { unitId code name } courses { courseId code title } rows { unit { unitId code } cells { courseId enrolled completed completionRate } } total { courseId enrolled completed completionRate } } }";
const COMPLIANCE: &str = "query($u: ID, $y: Int, $f: Int, $a: String) { jpCompliance(unitId: $u, year: $y, first: $f, after: $a) { year target unit { unitId code } rows { unit { unitId code } figures { people compliant belowTarget complianceRate meanJp } } total { people compliant belowTarget complianceRate meanJp } peopleBelowTarget { edges { cursor node { personId name unitId total missing } } pageInfo { hasNextPage hasPreviousPage endCursor } } } }";

/// The two-statement tests' statements (the first two of the fixtures' `TRUTHS`).
const STATEMENTS: usize = 2;

/// A cohort of `course` starting at `starts` (`YYYY-MM-DD`).
async fn cohort(app: &TestApp, admin: &str, course: &str, name: &str, starts: &str) -> String {
    let input = json!({"name": name, "startsAt": format!("{starts}T01:00:00Z")});
    create_cohort(app, admin, course, input).await
}

/// A published course of `trainer` with a required text lesson and, with `quizzes`, a pre-test
/// and its paired post-test (not required, passing at 50) over two statements.
struct QuizCourse {
    id: String,
    text: String,
    pre: String,
    post: String,
}

async fn quiz_course(
    app: &TestApp,
    admin: &str,
    trainer: &str,
    code: &str,
    quizzes: bool,
) -> QuizCourse {
    let id = create_course(app, trainer, code, &format!("Pelatihan {code}"), 4).await;
    let module = create_module(app, trainer, &id).await;
    let lesson = |title: &str, kind: &str, required: bool| {
        let mut input = json!({"title": title, "kind": kind, "required": required});
        if kind == "TEXT" {
            input["body"] = json!("# Materi");
        }
        create_lesson(app, trainer, &module, input)
    };
    let quiz_lessons = if quizzes {
        Some((
            lesson("Pre-test", "QUIZ", false).await,
            lesson("Post-test", "QUIZ", false).await,
        ))
    } else {
        None
    };
    let text = lesson("Materi", "TEXT", true).await;
    let (mut pre, mut post) = (String::new(), String::new());
    if let Some((pre_lesson, post_lesson)) = quiz_lessons {
        let questions = statements(app, trainer, &id, STATEMENTS).await;
        (pre, post) = pre_and_post(app, trainer, (&pre_lesson, &post_lesson), &questions, 50).await;
    }
    // Quizzes are set up first: a course reaches learners only with ready quizzes.
    publish(app, trainer, admin, &id).await;
    QuizCourse {
        id,
        text,
        pre,
        post,
    }
}

/// Takes `quiz` answering statement i right when `pattern[i]` is `'1'`; checks the percent
/// (50 points a statement).
async fn take_two(app: &TestApp, token: &str, quiz: &str, pattern: &str) {
    let right = pattern.bytes().filter(|b| *b == b'1').count();
    take(app, token, quiz, pattern, right as f64 * 50.0).await;
}

/// One learner of the trend course: (name, cohort, pre-test pattern, post-test pattern,
/// answer to every course-wide Likert item, answer to every item about the trainer).
type Run<'a> = (&'a str, &'a str, &'a str, &'a str, i32, i32);

/// Each learner of `runs`, in `unit`: the pre-test, completion, the post-test, then the
/// reaction survey.
async fn run(app: &TestApp, admin: &str, unit: &str, c: &QuizCourse, runs: &[Run<'_>]) {
    for &(name, cohort, pre, post, course_wide, about_trainer) in runs {
        let (_, token) = app
            .signed_in(admin, &format!("{name}@dinkes.go.id"), &[], Some(unit))
            .await;
        let e = enroll(app, &token, cohort).await;
        take_two(app, &token, &c.pre, pre).await;
        // The post-test opens once the required lessons are complete.
        complete(
            app,
            &token,
            &c.text,
            Utc::now() - chrono::Duration::hours(1),
        )
        .await;
        take_two(app, &token, &c.post, post).await;
        let likert = |item: &Value| {
            if item["trainer"].is_null() {
                course_wide
            } else {
                about_trainer
            }
        };
        let text = |_: &Value| Some("Cukup baik".into());
        answer_survey(app, &token, &e, "REACTION", likert, text).await;
    }
}

/// A course-trend point's reaction `(n, mean)` and gain `(paired, pre mean, post mean, <g>)`.
#[track_caller]
fn reaction_and_gain(point: &Value, (n, mean): (i64, f64), gain: (i64, f64, f64, f64)) {
    assert_eq!(point["reactionResponses"], n, "{point}");
    approx(&point["reactionMean"], mean);
    let g = &point["gain"];
    assert_eq!(g["paired"], gain.0, "{point}");
    approx(&g["preMean"], gain.1);
    approx(&g["postMean"], gain.2);
    approx(&g["classGain"], gain.3);
}

fn points(trend: &Value) -> Vec<Value> {
    trend["points"].as_array().unwrap().clone()
}

fn measures(point: &Value) -> Vec<String> {
    point["fallingMeasures"]
        .as_array()
        .unwrap()
        .iter()
        .map(s)
        .collect()
}

/// Course MR (trainer T, one trainer) runs four cohorts; T also owns course B with one empty
/// cohort. Two statements, 50 points each; every learner is in DINKES and answers every
/// course-wide item with `cw` and every item about T with `tr`:
///
/// ```text
///   cohort (start)          learner  pre  post  cw  tr
///   I      (2025-01-06)     a1        0   100    5   5
///                           a2       50   100    4   5
///   B-I    (2025-02-03)     course B, nobody
///   Khusus (2025-03-03)     nobody
///   II     (2025-04-07)     b1        0   100    5   5
///                           b2        0   100    4   4
///                           b3       50   100    4   4
///                           b4       50   100    4   4
///                           b5       50    50    4   4
///   III    (2025-07-07)     c1       50    50    4   3
///                           c2        0   100    3   3
/// ```
///
/// Course trend (reaction = mean of the course-wide answers, each response has the same number
/// of them, so the mean of the responses' values; `<g> = (post - pre) / (100 - pre)` on means):
///   I:      reaction (5 + 4) / 2 = 4.5, n 2; pre 25, post 100, <g> = 75 / 75 = 1
///   Khusus: nothing
///   II:     reaction (5 + 4 * 4) / 5 = 4.2, n 5 (down 0.3 < 0.5: no);
///           pre (0 + 0 + 50 * 3) / 5 = 30, post (100 * 4 + 50) / 5 = 90,
///           <g> = 60 / 70 = 6/7 = 0.857 (down 1/7 = 0.143 >= 0.1 from I: CLASS_GAIN)
///   III:    reaction (4 + 3) / 2 = 3.5, n 2 (down 0.7 from II: REACTION);
///           pre 25, post 75, <g> = 50 / 75 = 2/3 (down 6/7 - 2/3 = 0.190: CLASS_GAIN)
///
/// Trainer trend of T, in time order I, B-I, Khusus, II, III (about T: I (5+5)/2 = 5, n 2;
/// II (5 + 4 * 4) / 5 = 4.2, n 5; III 3, n 2):
///   as an admin:  II down 0.8 from I and III down 1.2 from II: REACTION at both; `<g>` falls
///                 at II and III (compared within course MR only).
///   as T:         I and III hidden (n 2 < 5), II shown: nothing to compare it with, so no
///                 REACTION anywhere (the hidden 5.0 must not make II fall); CLASS_GAIN stays.
#[tokio::test]
async fn trends_mark_falling_cohorts_and_hide_trainer_means_below_five() {
    let (app, seen) = counted_app().await;
    let admin = app.admin().await;
    let dinkes = app.unit(&admin, "DINKES", None).await;
    let disdik = app.unit(&admin, "DISDIK", None).await;
    let (_, ua_dinkes) = unit_admin(&app, &admin, "ua@dinkes.go.id", &dinkes).await;
    let (_, ua_disdik) = unit_admin(&app, &admin, "ua@disdik.go.id", &disdik).await;
    let (t_id, t) = trainer(&app, &admin, "pelatih@bkpsdm.go.id").await;
    let (other_id, other_trainer) = trainer(&app, &admin, "pelatih-lain@bkpsdm.go.id").await;
    let mr = quiz_course(&app, &admin, &t, "MR", true).await;
    let course_b = quiz_course(&app, &admin, &t, "B", false).await;

    // Angkatan I first, measured alone; the others come later (created out of time order).
    let c1 = cohort(&app, &admin, &mr.id, "Angkatan I", "2025-01-06").await;
    let first = [
        ("a1", c1.as_str(), "00", "11", 5, 5),
        ("a2", &c1, "10", "11", 4, 5),
    ];
    run(&app, &admin, &dinkes, &mr, &first).await;
    let (_, course_small) = measured(&app, &seen, &admin, COURSE_TREND, json!({"c": mr.id})).await;
    let (_, course_small_t) = measured(&app, &seen, &t, COURSE_TREND, json!({"c": mr.id})).await;
    let (_, trainer_small) = measured(&app, &seen, &admin, TRAINER_TREND, json!({"p": t_id})).await;
    let (_, trainer_small_t) = measured(&app, &seen, &t, TRAINER_TREND, json!({"p": t_id})).await;

    let c3 = cohort(&app, &admin, &mr.id, "Angkatan III", "2025-07-07").await;
    let c2 = cohort(&app, &admin, &mr.id, "Angkatan II", "2025-04-07").await;
    let khusus = cohort(&app, &admin, &mr.id, "Angkatan Khusus", "2025-03-03").await;
    let b1 = cohort(&app, &admin, &course_b.id, "Angkatan B-I", "2025-02-03").await;
    let later = [
        ("b1", c2.as_str(), "00", "11", 5, 5),
        ("b2", &c2, "00", "11", 4, 4),
        ("b3", &c2, "10", "11", 4, 4),
        ("b4", &c2, "10", "11", 4, 4),
        ("b5", &c2, "10", "10", 4, 4),
        ("c1", &c3, "10", "10", 4, 3),
        ("c2", &c3, "00", "11", 3, 3),
    ];
    run(&app, &admin, &dinkes, &mr, &later).await;

    // The course trend, as an admin.
    let (d, course_large) = measured(&app, &seen, &admin, COURSE_TREND, json!({"c": mr.id})).await;
    let trend = &d["courseTrend"];
    assert_eq!(trend["courseId"], mr.id.as_str());
    assert_eq!(trend["unitId"], Value::Null);
    assert_eq!(trend["minimumResponses"], 0);
    assert_eq!(trend["postTest"]["quizId"], mr.post.as_str());
    assert_eq!(trend["postTest"]["title"], "Post-test");
    let p = points(trend);
    let order = column(&trend["points"], &["cohortId"]);
    assert_eq!(
        order,
        vec![c1.clone(), khusus.clone(), c2.clone(), c3.clone()]
    );
    assert_eq!(p[0]["cohortName"], "Angkatan I");
    assert_eq!(
        chrono::DateTime::parse_from_rfc3339(p[0]["startsAt"].as_str().unwrap()).unwrap(),
        chrono::DateTime::parse_from_rfc3339("2025-01-06T01:00:00Z").unwrap()
    );
    // I
    reaction_and_gain(&p[0], (2, 4.5), (2, 25.0, 100.0, 1.0));
    assert_eq!(p[0]["gain"]["classGainCategory"], "HIGH");
    assert_eq!(p[0]["falling"], false);
    // Khusus: an empty cohort is a point with nothing in it.
    assert_eq!(p[1]["reactionResponses"], 0);
    assert_eq!(p[1]["reactionMean"], Value::Null);
    assert_eq!(p[1]["gain"]["paired"], 0);
    assert_eq!(p[1]["gain"]["classGain"], Value::Null);
    assert_eq!(p[1]["falling"], false);
    // II: reaction down 0.3 only; <g> down 1/7.
    reaction_and_gain(&p[2], (5, 4.2), (5, 30.0, 90.0, 6.0 / 7.0));
    assert_eq!(p[2]["falling"], true);
    assert_eq!(measures(&p[2]), vec!["CLASS_GAIN"]);
    // III: the reaction falls here, and <g> again.
    assert_eq!(p[3]["reactionResponses"], 2);
    approx(&p[3]["reactionMean"], 3.5);
    approx(&p[3]["gain"]["classGain"], 2.0 / 3.0);
    assert_eq!(p[3]["gain"]["classGainCategory"], "MEDIUM");
    assert_eq!(p[3]["falling"], true);
    assert_eq!(measures(&p[3]), vec!["REACTION", "CLASS_GAIN"]);

    // The course's trainer sees the same.
    let (d, course_large_t) = measured(&app, &seen, &t, COURSE_TREND, json!({"c": mr.id})).await;
    assert_eq!(d["courseTrend"]["points"], trend["points"]);

    // The DINKES unit admin: everyone is in DINKES, so the same gains; reaction means only from
    // 5 responses (II), I and III hidden with their n.
    let ut = &report(&app, &ua_dinkes, COURSE_TREND, json!({"c": mr.id})).await;
    assert_eq!(ut["unitId"], dinkes.as_str());
    assert_eq!(ut["minimumResponses"], 5);
    let up = points(ut);
    assert_eq!(up[0]["reactionResponses"], 2);
    assert_eq!(up[0]["reactionMean"], Value::Null);
    approx(&up[2]["reactionMean"], 4.2);
    assert_eq!(up[3]["reactionMean"], Value::Null);
    approx(&up[3]["gain"]["classGain"], 2.0 / 3.0);
    // Without the hidden means nothing falls by reaction.
    assert_eq!(measures(&up[2]), vec!["CLASS_GAIN"]);
    assert_eq!(measures(&up[3]), vec!["CLASS_GAIN"]);
    // The DISDIK unit admin: nobody of theirs took it.
    let d = report(&app, &ua_disdik, COURSE_TREND, json!({"c": mr.id})).await;
    for x in points(&d) {
        assert_eq!(x["reactionResponses"], 0, "{x}");
        assert_eq!(x["gain"]["paired"], 0, "{x}");
        assert_eq!(x["falling"], false, "{x}");
    }

    // The trainer trend, as an admin: every mean.
    let (d, trainer_large) = measured(&app, &seen, &admin, TRAINER_TREND, json!({"p": t_id})).await;
    let tt = &d["trainerTrend"];
    assert_eq!(tt["personId"], t_id.as_str());
    assert_eq!(tt["name"], "Person pelatih@bkpsdm.go.id");
    assert_eq!(tt["minimumResponses"], 0);
    let tp = points(tt);
    let order = column(&tt["points"], &["cohortId"]);
    assert_eq!(
        order,
        vec![
            c1.clone(),
            b1.clone(),
            khusus.clone(),
            c2.clone(),
            c3.clone()
        ]
    );
    assert_eq!(tp[1]["courseId"], course_b.id.as_str());
    assert_eq!(tp[1]["courseTitle"], "Pelatihan B");
    assert_eq!(tp[0]["courseTitle"], "Pelatihan MR");
    let responses: Vec<i64> = tp
        .iter()
        .map(|x| x["trainerResponses"].as_i64().unwrap())
        .collect();
    assert_eq!(responses, vec![2, 0, 0, 5, 2]);
    approx(&tp[0]["trainerMean"], 5.0);
    assert_eq!(tp[1]["trainerMean"], Value::Null);
    approx(&tp[3]["trainerMean"], 4.2);
    approx(&tp[4]["trainerMean"], 3.0);
    approx(&tp[0]["gain"]["classGain"], 1.0);
    assert_eq!(tp[1]["gain"]["classGain"], Value::Null);
    approx(&tp[3]["gain"]["classGain"], 6.0 / 7.0);
    approx(&tp[4]["gain"]["classGain"], 2.0 / 3.0);
    let both = vec!["REACTION", "CLASS_GAIN"];
    let flags: Vec<Vec<String>> = tp.iter().map(measures).collect();
    assert_eq!(flags, [vec![], vec![], vec![], both.clone(), both]);

    // As T themself: means below 5 responses are hidden, their n shown.
    let (d, trainer_large_t) = measured(&app, &seen, &t, TRAINER_TREND, json!({"p": t_id})).await;
    let own = &d["trainerTrend"];
    assert_eq!(own["minimumResponses"], 5);
    let op = points(own);
    assert_eq!(op[0]["trainerResponses"], 2);
    assert_eq!(op[0]["trainerMean"], Value::Null);
    assert_eq!(op[3]["trainerResponses"], 5);
    approx(&op[3]["trainerMean"], 4.2);
    assert_eq!(op[4]["trainerResponses"], 2);
    assert_eq!(op[4]["trainerMean"], Value::Null);
    let gain = vec!["CLASS_GAIN"];
    let flags: Vec<Vec<String>> = op.iter().map(measures).collect();
    assert_eq!(flags, [vec![], vec![], vec![], gain.clone(), gain]);

    // The statements do not grow from 2 learners in 1 cohort to 9 learners in 5 cohorts.
    // Course trend, admin: course, cohorts, reaction, post-test, gains; the trainer adds the
    // ownership check.
    assert_eq!(course_small, course_large);
    assert_eq!(course_large, 5, "{:#?}", seen.lock().unwrap());
    assert_eq!((course_small_t, course_large_t), (6, 6));
    // Trainer trend: person, cohorts, answers about them, post-tests, gains.
    assert_eq!((trainer_small, trainer_large), (5, 5));
    assert_eq!((trainer_small_t, trainer_large_t), (5, 5));

    // Who may not read them.
    let (_, learner) = app
        .signed_in(&admin, "peserta@dinkes.go.id", &["LEARNER"], Some(&dinkes))
        .await;
    let course = json!({"c": mr.id});
    let person = json!({"p": t_id});
    let unknown = Uuid::new_v4().to_string();
    let (unknown_course, unknown_person) = (json!({"c": unknown}), json!({"p": unknown}));
    let bad = json!({"p": "x"});
    for (token, q, vars, code) in [
        (Some(&learner), COURSE_TREND, &course, "FORBIDDEN"),
        (Some(&other_trainer), COURSE_TREND, &course, "FORBIDDEN"),
        (Some(&learner), TRAINER_TREND, &person, "FORBIDDEN"),
        (Some(&other_trainer), TRAINER_TREND, &person, "FORBIDDEN"),
        (Some(&ua_dinkes), TRAINER_TREND, &person, "FORBIDDEN"),
        // Unknown things: NOT_FOUND for an admin; someone else's question stays FORBIDDEN.
        (Some(&admin), COURSE_TREND, &unknown_course, "NOT_FOUND"),
        (Some(&admin), TRAINER_TREND, &unknown_person, "NOT_FOUND"),
        (Some(&t), TRAINER_TREND, &unknown_person, "FORBIDDEN"),
        (Some(&admin), TRAINER_TREND, &bad, "BAD_USER_INPUT"),
        (None, COURSE_TREND, &course, "UNAUTHENTICATED"),
    ] {
        refused(&app, token.map(String::as_str), q, vars.clone(), code).await;
    }
    // A trainer of nothing reading their own trend: no points.
    let d = report(&app, &other_trainer, TRAINER_TREND, json!({"p": other_id})).await;
    assert_eq!(d["points"], json!([]));
}

/// The unit tree of the matrix and the compliance test: KOTA with DINKES and DISDIK below it,
/// and `below_dinkes` below DINKES. Returns the admin's token, then the units KOTA, DINKES and
/// DISDIK, then those below DINKES in order.
async fn kota_tree<const N: usize>(
    app: &TestApp,
    below_dinkes: [&str; N],
) -> (String, [String; 3], [String; N]) {
    let admin = app.admin().await;
    let kota = app.unit(&admin, "KOTA", None).await;
    let dinkes = app.unit(&admin, "DINKES", Some(&kota)).await;
    let disdik = app.unit(&admin, "DISDIK", Some(&kota)).await;
    let mut leaves = Vec::new();
    for code in below_dinkes {
        leaves.push(app.unit(&admin, code, Some(&dinkes)).await);
    }
    let leaves = leaves.try_into().expect("one unit per code");
    (admin, [kota, dinkes, disdik], leaves)
}

/// A new person `<name>@kota.go.id` of `unit`, signed in; returns (id, token).
async fn person(app: &TestApp, admin: &str, name: &str, unit: &str) -> (String, String) {
    app.signed_in(admin, &format!("{name}@kota.go.id"), &[], Some(unit))
        .await
}

/// The unit tree (three levels below the city):
///
/// ```text
///   KOTA ── DINKES ── PKM-A
///        │         └─ PKM-B
///        └─ DISDIK
/// ```
///
/// Courses X and Y; enrollments (active or completed; p8 withdrew):
///
/// ```text
///   person  unit     X                         Y
///   p1      PKM-A    completed                 active
///   p2      PKM-A    active                    -
///   p3      PKM-B    completed                 -
///   p4      DINKES   completed                 -
///   p5      DISDIK   active                    completed
///   p6      KOTA     active                    -
///   p7      PKM-B    completed (I), active (II) -
///   p8      PKM-A    withdrawn                 -
/// ```
///
/// Rows of KOTA (by name: DINKES, DISDIK), cells counting people of the whole subtree:
///   DINKES X: p1 p2 p3 p4 p7 enrolled = 5, completed p1 p3 p4 p7 = 4, rate 0.8
///          Y: p1 enrolled 1, completed 0, rate 0
///   DISDIK X: 1, 0, rate 0;  Y: 1, 1, rate 1
///   total (KOTA) X: + p6 = 7 enrolled, 4 completed, rate 4/7; Y: 2, 1, rate 0.5
/// Rows of DINKES (PKM-A, PKM-B):
///   PKM-A X: p1 p2 = 2, 1, rate 0.5;  Y: 1, 0, rate 0
///   PKM-B X: p3 p7 = 2, 2, rate 1 (p7 once, though in two cohorts);  Y: 0, 0, rate null
///   total (DINKES): X 5, 4;  Y 1, 0
#[tokio::test]
async fn the_completion_matrix_aggregates_each_subtree() {
    let (app, seen) = counted_app().await;
    let (admin, [kota, dinkes, disdik], [pkm_a, pkm_b]) = kota_tree(&app, ["PKM-A", "PKM-B"]).await;
    let (_, ua) = unit_admin(&app, &admin, "ua@dinkes.go.id", &dinkes).await;
    let x = ev::course(&app, &admin, "X", 2, 1).await;
    let y = ev::course(&app, &admin, "Y", 2, 1).await;
    let x2 = create_cohort(&app, &admin, &x.id, json!({"name": "Angkatan II X"})).await;
    let at = Utc::now() - chrono::Duration::hours(2);
    let person = async |name: &str, unit: &str| person(&app, &admin, name, unit).await.1;
    let vars = |u: Option<&str>| json!({"u": u, "c": [x.id, y.id]});

    // p1 and p2 first, for the statement count.
    let p1 = person("p1", &pkm_a).await;
    enroll(&app, &p1, &x.cohort).await;
    complete(&app, &p1, &x.lesson, at).await;
    enroll(&app, &p1, &y.cohort).await;
    let p2 = person("p2", &pkm_a).await;
    enroll(&app, &p2, &x.cohort).await;
    let (_, admin_small) = measured(&app, &seen, &admin, MATRIX, vars(Some(kota.as_str()))).await;
    let (_, ua_small) = measured(&app, &seen, &ua, MATRIX, vars(None)).await;

    let p3 = person("p3", &pkm_b).await;
    enroll(&app, &p3, &x.cohort).await;
    complete(&app, &p3, &x.lesson, at).await;
    let p4 = person("p4", &dinkes).await;
    enroll(&app, &p4, &x.cohort).await;
    complete(&app, &p4, &x.lesson, at).await;
    let p5 = person("p5", &disdik).await;
    enroll(&app, &p5, &x.cohort).await;
    enroll(&app, &p5, &y.cohort).await;
    complete(&app, &p5, &y.lesson, at).await;
    let p6 = person("p6", &kota).await;
    enroll(&app, &p6, &x.cohort).await;
    let p7 = person("p7", &pkm_b).await;
    enroll(&app, &p7, &x.cohort).await;
    complete(&app, &p7, &x.lesson, at).await;
    enroll(&app, &p7, &x2).await;
    let p8 = person("p8", &pkm_a).await;
    let e8 = enroll(&app, &p8, &x.cohort).await;
    let w = app.ok(Some(&p8), WITHDRAW, json!({"e": e8})).await;
    assert_eq!(w["withdraw"]["state"], "WITHDRAWN");

    // KOTA, as an admin.
    let (d, admin_large) = measured(&app, &seen, &admin, MATRIX, vars(Some(kota.as_str()))).await;
    let m = &d["completionMatrix"];
    assert_eq!(m["unit"]["unitId"], kota.as_str());
    assert_eq!(m["unit"]["code"], "KOTA");
    assert_eq!(m["courses"][0]["courseId"], x.id.as_str());
    assert_eq!(m["courses"][0]["code"], "X");
    assert_eq!(m["courses"][1]["title"], "Pelatihan Y");
    let rows = m["rows"].as_array().unwrap();
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[0]["unit"]["unitId"], dinkes.as_str());
    assert_eq!(rows[1]["unit"]["unitId"], disdik.as_str());
    let cell = |row: &Value, i: usize| row["cells"][i].clone();
    let check = |c: Value, course: &str, enrolled: i64, completed: i64, rate: Option<f64>| {
        assert_eq!(c["courseId"], course, "{c}");
        assert_eq!(c["enrolled"], enrolled, "{c}");
        assert_eq!(c["completed"], completed, "{c}");
        approx_or_null(&c["completionRate"], rate, TOLERANCE);
    };
    check(cell(&rows[0], 0), &x.id, 5, 4, Some(0.8));
    check(cell(&rows[0], 1), &y.id, 1, 0, Some(0.0));
    check(cell(&rows[1], 0), &x.id, 1, 0, Some(0.0));
    check(cell(&rows[1], 1), &y.id, 1, 1, Some(1.0));
    check(m["total"][0].clone(), &x.id, 7, 4, Some(4.0 / 7.0));
    check(m["total"][1].clone(), &y.id, 2, 1, Some(0.5));

    // An admin without a unit: the top-level units (KOTA), the total their sum.
    let (d, admin_top) = measured(&app, &seen, &admin, MATRIX, vars(None)).await;
    let m = &d["completionMatrix"];
    assert_eq!(m["unit"], Value::Null);
    assert_eq!(m["rows"].as_array().unwrap().len(), 1);
    assert_eq!(m["rows"][0]["unit"]["unitId"], kota.as_str());
    check(cell(&m["rows"][0], 0), &x.id, 7, 4, Some(4.0 / 7.0));
    check(m["total"][0].clone(), &x.id, 7, 4, Some(4.0 / 7.0));
    check(m["total"][1].clone(), &y.id, 2, 1, Some(0.5));

    // The DINKES unit admin, by default their own unit: PKM-A and PKM-B.
    let (d, ua_large) = measured(&app, &seen, &ua, MATRIX, vars(None)).await;
    let m = &d["completionMatrix"];
    assert_eq!(m["unit"]["unitId"], dinkes.as_str());
    let rows = m["rows"].as_array().unwrap();
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[0]["unit"]["unitId"], pkm_a.as_str());
    assert_eq!(rows[1]["unit"]["unitId"], pkm_b.as_str());
    check(cell(&rows[0], 0), &x.id, 2, 1, Some(0.5));
    check(cell(&rows[0], 1), &y.id, 1, 0, Some(0.0));
    check(cell(&rows[1], 0), &x.id, 2, 2, Some(1.0));
    check(cell(&rows[1], 1), &y.id, 0, 0, None);
    check(m["total"][0].clone(), &x.id, 5, 4, Some(0.8));
    check(m["total"][1].clone(), &y.id, 1, 0, Some(0.0));
    // A leaf inside their subtree: no rows, its own total (p3 and p7).
    let d = report(&app, &ua, MATRIX, vars(Some(pkm_b.as_str()))).await;
    assert_eq!(d["rows"], json!([]));
    check(d["total"][0].clone(), &x.id, 2, 2, Some(1.0));
    // The same course twice is one column.
    let d = report(
        &app,
        &ua,
        MATRIX,
        json!({"u": pkm_b, "c": [y.id, x.id, y.id]}),
    )
    .await;
    assert_eq!(
        column(&d["courses"], &["courseId"]),
        vec![y.id.clone(), x.id.clone()]
    );

    // Statements: the same with 2 or 8 people. Admin with a unit: root unit, courses, row
    // units, counts; without one, no root unit; a unit admin: their scope, their unit, then
    // the same.
    assert_eq!(admin_small, admin_large);
    assert_eq!(admin_large, 4, "{:#?}", seen.lock().unwrap());
    assert_eq!(admin_top, 3);
    assert_eq!((ua_small, ua_large), (5, 5));

    // 51 courses are too many.
    let many: Vec<String> = (0..51).map(|_| Uuid::new_v4().to_string()).collect();
    let too_many = json!({"u": kota, "c": many});
    let r = refused(&app, Some(&admin), MATRIX, too_many, "BAD_USER_INPUT").await;
    assert_eq!(r["errors"][0]["extensions"]["field"], "courseIds", "{r}");
    let unknown_unit = Uuid::new_v4().to_string();
    for (token, input, code) in [
        // Outside the unit admin's subtree, and people who manage no unit.
        (&ua, vars(Some(kota.as_str())), "FORBIDDEN"),
        (&ua, vars(Some(disdik.as_str())), "FORBIDDEN"),
        (&p1, vars(None), "FORBIDDEN"),
        (&x.trainers[0].1, vars(None), "FORBIDDEN"),
        // Bad input.
        (&admin, json!({"u": kota, "c": []}), "BAD_USER_INPUT"),
        (&admin, json!({"u": kota, "c": ["nope"]}), "BAD_USER_INPUT"),
        // 50 is fine as to the count, but unknown courses are not.
        (&admin, json!({"u": kota, "c": many[..50]}), "NOT_FOUND"),
        (&admin, json!({"u": unknown_unit, "c": [x.id]}), "NOT_FOUND"),
    ] {
        refused(&app, Some(token), MATRIX, input, code).await;
    }
}

/// Units KOTA ── DINKES ── PKM-A, and KOTA ── DISDIK. JP in 2025 (the JP year is the calendar
/// year in WIB, UTC+7); classroom training is recorded by the admin as external JP, course
/// credits come from completing course C (8 JP) in 2025:
///
/// ```text
///   person  unit     2025 ledger                                          total  >= 20
///   ua      DINKES   (the unit admin) nothing                                 0   no
///   q1      PKM-A    classroom 12 + course 8                                 20   yes (exactly)
///   q2      PKM-A    classroom 19                                            19   no
///   q3      DINKES   classroom 30 at 2024-12-31 17:30 UTC (2025-01-01 WIB)  30   yes
///                    (10 more at 2025-12-31 17:30 UTC are 2026 in WIB: not counted)
///   q4      DISDIK   course 8                                                 8   no
///   q5      DISDIK   classroom 25                                            25   yes
///   q6      KOTA     nothing                                                  0   no
///   q7      PKM-A    classroom 40, but disabled: not counted
/// ```
///
/// Rows of KOTA:
///   DINKES: ua q1 q2 q3 = 4 people, 2 compliant, 2 below, rate 0.5, JP 69, mean 69/4 = 17.25
///   DISDIK: q4 q5 = 2 people, 1 compliant, rate 0.5, JP 33, mean 16.5
///   total:  + q6 = 7 people, 3 compliant, 4 below, rate 3/7, JP 102, mean 102/7
/// Rows of DINKES (the unit admin's default): PKM-A: q1 q2 = 2, 1, rate 0.5, JP 39, mean 19.5.
/// Below 20 in KOTA: ua (0), q2 (19, missing 1), q4 (8), q6 (0).
#[tokio::test]
async fn jp_compliance_counts_classroom_jp_by_wib_year_per_subtree() {
    let (app, seen) = counted_app().await;
    let (admin, [kota, dinkes, disdik], [pkm_a]) = kota_tree(&app, ["PKM-A"]).await;
    let (ua_id, ua) = unit_admin(&app, &admin, "ua@dinkes.go.id", &dinkes).await;
    let c = ev::course(&app, &admin, "C", 8, 1).await;
    let in_2025 = chrono::DateTime::parse_from_rfc3339("2025-06-02T03:00:00Z")
        .unwrap()
        .with_timezone(&Utc);
    let person = async |name: &str, unit: &str| person(&app, &admin, name, unit).await;
    let classroom = async |who: &str, jp: i32, at: &str| {
        let input =
            json!({"personId": who, "jp": jp, "earnedAt": at, "description": "Pelatihan klasikal"});
        app.ok(Some(&admin), RECORD_JP, json!({"i": input})).await;
    };
    let vars = |u: Option<&str>, y: i32| json!({"u": u, "y": y, "f": 10});
    let of_kota = |y: i32| vars(Some(kota.as_str()), y);

    let (q1_id, q1) = person("q1", &pkm_a).await;
    classroom(&q1_id, 12, "2025-03-10T02:00:00Z").await;
    enroll(&app, &q1, &c.cohort).await;
    complete(&app, &q1, &c.lesson, in_2025).await;
    let (_, small) = measured(&app, &seen, &admin, COMPLIANCE, of_kota(2025)).await;

    let (q2_id, _) = person("q2", &pkm_a).await;
    classroom(&q2_id, 19, "2025-05-05T02:00:00Z").await;
    let (q3_id, _) = person("q3", &dinkes).await;
    classroom(&q3_id, 30, "2024-12-31T17:30:00Z").await;
    classroom(&q3_id, 10, "2025-12-31T17:30:00Z").await;
    let (q4_id, q4) = person("q4", &disdik).await;
    enroll(&app, &q4, &c.cohort).await;
    complete(&app, &q4, &c.lesson, in_2025).await;
    let (q5_id, _) = person("q5", &disdik).await;
    classroom(&q5_id, 25, "2025-09-01T02:00:00Z").await;
    let (q6_id, _) = person("q6", &kota).await;
    let (q7_id, _) = person("q7", &pkm_a).await;
    classroom(&q7_id, 40, "2025-09-01T02:00:00Z").await;
    app.ok(Some(&admin), DISABLE, json!({"id": q7_id})).await;

    let (d, large) = measured(&app, &seen, &admin, COMPLIANCE, of_kota(2025)).await;
    let r = &d["jpCompliance"];
    assert_eq!(r["year"], 2025);
    assert_eq!(r["target"], 20);
    assert_eq!(r["unit"]["unitId"], kota.as_str());
    let rows = r["rows"].as_array().unwrap();
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[0]["unit"]["unitId"], dinkes.as_str());
    assert_eq!(rows[1]["unit"]["unitId"], disdik.as_str());
    let check = |f: &Value, people: i64, compliant: i64, rate: f64, mean: f64| {
        assert_eq!(f["people"], people, "{f}");
        assert_eq!(f["compliant"], compliant, "{f}");
        assert_eq!(f["belowTarget"], people - compliant, "{f}");
        approx(&f["complianceRate"], rate);
        approx(&f["meanJp"], mean);
    };
    check(&rows[0]["figures"], 4, 2, 0.5, 17.25);
    check(&rows[1]["figures"], 2, 1, 0.5, 16.5);
    check(&r["total"], 7, 3, 3.0 / 7.0, 102.0 / 7.0);
    let below: Vec<(String, i64, i64)> = r["peopleBelowTarget"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                s(&e["node"]["personId"]),
                e["node"]["total"].as_i64().unwrap(),
                e["node"]["missing"].as_i64().unwrap(),
            )
        })
        .collect();
    let mut want = vec![
        (ua_id.clone(), 0, 20),
        (q2_id.clone(), 19, 1),
        (q4_id.clone(), 8, 12),
        (q6_id.clone(), 0, 20),
    ];
    let mut got = below.clone();
    got.sort();
    want.sort();
    assert_eq!(got, want);
    assert_eq!(r["peopleBelowTarget"]["pageInfo"]["hasNextPage"], false);

    // Pages of 3: the fourth on the next page.
    let d = report(
        &app,
        &admin,
        COMPLIANCE,
        json!({"u": kota, "y": 2025, "f": 3}),
    )
    .await;
    let page = &d["peopleBelowTarget"];
    assert_eq!(page["edges"].as_array().unwrap().len(), 3);
    assert_eq!(page["pageInfo"]["hasNextPage"], true);
    let after = json!({"u": kota, "y": 2025, "f": 3, "a": page["pageInfo"]["endCursor"]});
    let d = report(&app, &admin, COMPLIANCE, after).await;
    let next = &d["peopleBelowTarget"];
    assert_eq!(next["edges"].as_array().unwrap().len(), 1);
    assert_eq!(next["edges"][0]["node"]["personId"], below[3].0.as_str());
    assert_eq!(next["pageInfo"]["hasPreviousPage"], true);
    assert_eq!(next["pageInfo"]["hasNextPage"], false);

    // 2026: only q3's 10 JP (earned 2026-01-01 00:30 WIB); 7 people, nobody compliant.
    let d = report(&app, &admin, COMPLIANCE, of_kota(2026)).await;
    check(&d["total"], 7, 0, 0.0, 10.0 / 7.0);

    // The unit admin, by default their unit: PKM-A with q1 and q2; q7 is disabled.
    let r = &report(&app, &ua, COMPLIANCE, vars(None, 2025)).await;
    assert_eq!(r["unit"]["unitId"], dinkes.as_str());
    assert_eq!(r["rows"].as_array().unwrap().len(), 1);
    assert_eq!(r["rows"][0]["unit"]["unitId"], pkm_a.as_str());
    check(&r["rows"][0]["figures"], 2, 1, 0.5, 19.5);
    check(&r["total"], 4, 2, 0.5, 17.25);
    let mut ids = column(&r["peopleBelowTarget"]["edges"], &["node", "personId"]);
    ids.sort();
    let mut want = vec![ua_id.clone(), q2_id.clone()];
    want.sort();
    assert_eq!(ids, want);

    // Statements: the same with 2 people or 8. Root unit, row units, counts, then
    // jpBelowTarget's unit check and page.
    assert_eq!(small, large);
    assert_eq!(large, 5, "{:#?}", seen.lock().unwrap());

    // Years out of range (2000 is in range: nobody compliant); then outside the subtree, people
    // who manage no unit, an unknown unit, a bad cursor.
    for year in [1999, 2101] {
        let input = of_kota(year);
        let r = refused(&app, Some(&admin), COMPLIANCE, input, "BAD_USER_INPUT").await;
        assert_eq!(r["errors"][0]["extensions"]["field"], "year", "{r}");
    }
    let d = report(&app, &admin, COMPLIANCE, of_kota(2000)).await;
    assert_eq!(d["total"]["compliant"], 0);
    let unknown_unit = Uuid::new_v4().to_string();
    let bad_cursor = json!({"u": kota, "y": 2025, "a": "not-a-cursor"});
    for (token, input, code) in [
        (&ua, of_kota(2025), "FORBIDDEN"),
        (&ua, vars(Some(disdik.as_str()), 2025), "FORBIDDEN"),
        (&q4, vars(None, 2025), "FORBIDDEN"),
        (&admin, vars(Some(unknown_unit.as_str()), 2025), "NOT_FOUND"),
        (&admin, bad_cursor, "BAD_USER_INPUT"),
    ] {
        refused(&app, Some(token), COMPLIANCE, input, code).await;
    }
}
