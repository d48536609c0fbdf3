//! The learning report (pre-test vs post-test, Hake's gain) and the item analysis, through
//! GraphQL: a small course whose learners answer exactly as chosen here, every number checked
//! against a value worked out by hand in the comments; who may see which report; bad ids; and
//! the number of SQL statements, which must not grow with the number of learners.

use lms_tests::TestApp;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::fixtures::reports::{
    PrePostWorld, approx, code_of, column, counted_app, enrolled, measured, pre_post_world, report,
    take,
};

const LEARNING: &str = "query($c: ID!, $h: ID) { learningReport(courseId: $c, cohortId: $h) { courseId cohortId unitId tests { preTest { quizId lessonId title } postTest { quizId lessonId title } paired preMean postMean classGain classGainCategory gains { counted high medium low leftOut negative meanGain histogram { from to count } } postTestTaken postTestPassed passRate } } }";
const ITEMS: &str = "query($q: ID!) { itemAnalysis(quizId: $q) { quizId kind attempts itemCount reliabilityMethod reliability meanTotal items { questionId questionVersionId version kind prompt n facility discrimination pointBiserial flags } } }";

/// The scenario: units, trainers, the course, its pre-test and paired post-test.
async fn world(app: &TestApp) -> PrePostWorld {
    pre_post_world(app, "Manajemen Risiko").await
}

/// An enrolled learner's token.
async fn learner(app: &TestApp, w: &PrePostWorld, name: &str, unit: &str, cohort: &str) -> String {
    enrolled(app, &w.admin, name, unit, cohort).await.token
}

/// A post-test's paired learners, their mean pre-test and post-test percents and `<g>`.
#[track_caller]
fn pair(t: &Value, paired: i64, pre_mean: f64, post_mean: f64, class_gain: f64) {
    assert_eq!(t["paired"], paired, "{t}");
    approx(&t["preMean"], pre_mean);
    approx(&t["postMean"], post_mean);
    approx(&t["classGain"], class_gain);
}

/// Individual gains: `[high, medium, low, left out]`.
#[track_caller]
fn gains(t: &Value, want: [i64; 4]) {
    let got = ["high", "medium", "low", "leftOut"].map(|k| {
        t["gains"][k]
            .as_i64()
            .unwrap_or_else(|| panic!("{k} in {t}"))
    });
    assert_eq!(got, want, "{t}");
}

/// Post-test results: taken, passed and the pass rate.
#[track_caller]
fn passes(t: &Value, taken: i64, passed: i64, rate: f64) {
    assert_eq!(t["postTestTaken"], taken, "{t}");
    assert_eq!(t["postTestPassed"], passed, "{t}");
    approx(&t["passRate"], rate);
}

fn item<'a>(analysis: &'a Value, question: &str) -> &'a Value {
    analysis["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["questionId"] == question)
        .unwrap_or_else(|| panic!("no item {question} in {analysis}"))
}

/// Five learners in Angkatan I and one in Angkatan II take the pre-test and the post-test
/// (four true/false statements, 25 points of percent each; the post-test passes at 60):
///
/// ```text
///                       pre-test         post-test
///   learner  unit    cohort  Q1 Q2 Q3 Q4  %     Q1 Q2 Q3 Q4  %     g = (post-pre)/(100-pre)
///   ani      DINKES  I       1  1  1  1  100    1  1  1  1  100    left out (perfect pre-test)
///   budi     DINKES  I       1  1  1  0   75    1  1  1  1  100    25/25 =  1      high
///   citra    DINKES  I       1  1  0  0   50    1  1  1  0   75    25/50 =  0.5    medium
///   dedi     DISDIK  I       1  0  0  1   50    1  0  0  0   25   -25/50 = -0.5    low
///   eka      DISDIK  I       0  0  1  0   25    0  1  0  1   50    25/75 =  1/3    medium
///   fajar    DISDIK  II      0  0  1  0   25    1  1  1  1  100    75/75 =  1      high
/// ```
///
/// Dedi then retakes the pre-test and gets everything right: his baseline stays his first
/// attempt (50), and the item analysis keeps his first attempt too.
#[tokio::test]
async fn learning_report_and_item_analysis_match_hand_computed_values() {
    let (app, seen) = counted_app().await;
    let w = world(&app).await;

    // Before anyone took anything: the pair is listed, with nothing to compute.
    let r = report(&app, &w.trainer, LEARNING, json!({"c": w.course})).await;
    assert_eq!(r["courseId"], w.course.as_str());
    assert_eq!(r["cohortId"], Value::Null);
    assert_eq!(r["unitId"], Value::Null);
    let t = &r["tests"][0];
    assert_eq!(t["preTest"]["quizId"], w.pre.as_str());
    assert_eq!(t["preTest"]["title"], "Pre-test");
    assert_eq!(t["postTest"]["quizId"], w.post.as_str());
    assert_eq!(t["postTest"]["title"], "Post-test");
    assert_eq!(t["paired"], 0);
    assert_eq!(t["preMean"], Value::Null);
    assert_eq!(t["classGain"], Value::Null);
    assert_eq!(t["passRate"], Value::Null);
    assert_eq!(t["gains"]["counted"], 0);
    let a = report(&app, &w.trainer, ITEMS, json!({"q": w.pre})).await;
    assert_eq!(a["attempts"], 0);
    assert_eq!(a["itemCount"], 0);
    assert_eq!(a["reliability"], Value::Null);

    let ani = learner(&app, &w, "ani", &w.dinkes, &w.cohort1).await;
    let budi = learner(&app, &w, "budi", &w.dinkes, &w.cohort1).await;
    let citra = learner(&app, &w, "citra", &w.dinkes, &w.cohort1).await;
    let dedi = learner(&app, &w, "dedi", &w.disdik, &w.cohort1).await;
    let eka = learner(&app, &w, "eka", &w.disdik, &w.cohort1).await;
    for (token, pre, pre_pct, post, post_pct) in [
        (&ani, "1111", 100.0, "1111", 100.0),
        (&budi, "1110", 75.0, "1111", 100.0),
        (&citra, "1100", 50.0, "1110", 75.0),
        (&dedi, "1001", 50.0, "1000", 25.0),
        (&eka, "0010", 25.0, "0101", 50.0),
    ] {
        take(&app, token, &w.pre, pre, pre_pct).await;
        take(&app, token, &w.post, post, post_pct).await;
    }
    // Dedi's retake of the pre-test: all right.
    take(&app, &dedi, &w.pre, "1111", 100.0).await;

    // Angkatan I, as the course's trainer:
    //   pre mean  = (100 + 75 + 50 + 50 + 25) / 5 = 300 / 5 = 60
    //   post mean = (100 + 100 + 75 + 25 + 50) / 5 = 350 / 5 = 70
    //   <g> = (70 - 60) / (100 - 60) = 10 / 40 = 0.25 -> LOW
    //   individual: ani left out; budi 1 (high), citra 0.5 and eka 1/3 (medium), dedi -0.5
    //   (low, negative); bins: 1/3 -> [0.3, 0.4), 0.5 -> [0.5, 0.6), 1 -> [0.9, 1.0]
    //   mean individual gain = (1 + 0.5 - 0.5 + 1/3) / 4 = (4/3) / 4 = 1/3
    //   passed (>= 60): ani 100, budi 100, citra 75 -> 3 of 5 = 0.6
    let (r, statements_5) = measured(
        &app,
        &seen,
        &w.trainer,
        LEARNING,
        json!({"c": w.course, "h": w.cohort1}),
    )
    .await;
    let r = &r["learningReport"];
    assert_eq!(r["cohortId"], w.cohort1.as_str());
    let t = &r["tests"][0];
    pair(t, 5, 60.0, 70.0, 0.25);
    assert_eq!(t["classGainCategory"], "LOW");
    gains(t, [1, 2, 1, 1]);
    let g = &t["gains"];
    assert_eq!(g["counted"], 4);
    assert_eq!(g["negative"], 1);
    approx(&g["meanGain"], 1.0 / 3.0);
    let counts: Vec<i64> = g["histogram"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["count"].as_i64().unwrap())
        .collect();
    assert_eq!(counts, vec![0, 0, 0, 1, 0, 1, 0, 0, 0, 1]);
    approx(&g["histogram"][3]["from"], 0.3);
    approx(&g["histogram"][3]["to"], 0.4);
    passes(t, 5, 3, 0.6);

    // Fajar, in Angkatan II.
    let fajar = learner(&app, &w, "fajar", &w.disdik, &w.cohort2).await;
    take(&app, &fajar, &w.pre, "0010", 25.0).await;
    take(&app, &fajar, &w.post, "1111", 100.0).await;

    // One more learner, the same statements.
    let (_, statements_6) = measured(
        &app,
        &seen,
        &w.trainer,
        LEARNING,
        json!({"c": w.course, "h": w.cohort1}),
    )
    .await;
    assert_eq!(statements_5, statements_6);
    // course, ownership, cohort, pairs, counts and means, score pairs.
    assert_eq!(statements_6, 6, "{:#?}", seen.lock().unwrap());

    // Every cohort, as an admin:
    //   pre mean  = (300 + 25) / 6 = 325 / 6
    //   post mean = (350 + 100) / 6 = 450 / 6 = 75
    //   <g> = (450/6 - 325/6) / (600/6 - 325/6) = 125 / 275 = 5/11 = 0.4545... -> MEDIUM
    //   fajar's g = 1 (high): high 2, medium 2, low 1, left out 1
    //   passed: 4 of 6
    let (r, statements) = measured(&app, &seen, &w.admin, LEARNING, json!({"c": w.course})).await;
    // course, pairs, counts and means, score pairs.
    assert_eq!(statements, 4, "{:#?}", seen.lock().unwrap());
    let t = &r["learningReport"]["tests"][0];
    pair(t, 6, 325.0 / 6.0, 75.0, 5.0 / 11.0);
    assert_eq!(t["classGainCategory"], "MEDIUM");
    gains(t, [2, 2, 1, 1]);
    passes(t, 6, 4, 4.0 / 6.0);
    // Angkatan II alone: fajar, 25 -> 100, g = 1.
    let r = report(
        &app,
        &w.admin,
        LEARNING,
        json!({"c": w.course, "h": w.cohort2}),
    )
    .await;
    let t = &r["tests"][0];
    assert_eq!(t["paired"], 1);
    approx(&t["classGain"], 1.0);
    assert_eq!(t["classGainCategory"], "HIGH");

    // The DINKES unit admin sees ani, budi and citra only:
    //   pre mean  = (100 + 75 + 50) / 3 = 75
    //   post mean = (100 + 100 + 75) / 3 = 275 / 3
    //   <g> = (275/3 - 75) / (100 - 75) = (50/3) / 25 = 2/3 -> MEDIUM
    //   budi high, citra medium, ani left out; all three passed
    let (r, statements) =
        measured(&app, &seen, &w.unit_admin, LEARNING, json!({"c": w.course})).await;
    // course, the unit admin's unit, pairs, counts and means, score pairs.
    assert_eq!(statements, 5, "{:#?}", seen.lock().unwrap());
    let r = &r["learningReport"];
    assert_eq!(r["unitId"], w.dinkes.as_str());
    let t = &r["tests"][0];
    pair(t, 3, 75.0, 275.0 / 3.0, 2.0 / 3.0);
    gains(t, [1, 1, 0, 1]);
    assert_eq!(t["postTestTaken"], 3);
    approx(&t["passRate"], 1.0);

    // Item analysis of the pre-test: each learner's first graded attempt (dedi's 1001, not
    // his retake), in attempt order:
    //
    //            Q1 Q2 Q3 Q4 | total
    //   ani       1  1  1  1 |  4
    //   budi      1  1  1  0 |  3
    //   citra     1  1  0  0 |  2
    //   dedi      1  0  0  1 |  2
    //   eka       0  0  1  0 |  1
    //   fajar     0  0  1  0 |  1
    //
    // n = 6, k = 4. Facility: Q1 4/6, Q2 3/6, Q3 4/6, Q4 2/6.
    // Groups: round(0.27 * 6) = round(1.62) = 2. Upper: ani (4), budi (3); lower: eka and
    // fajar (1). D1 = 2/2 - 0/2 = 1; D2 = 1 - 0 = 1; D3 = 2/2 - 2/2 = 0 (weak);
    // D4 = 1/2 - 0 = 0.5.
    // Point-biserial of Q1 against the rest (total - Q1):
    //   x = [1,1,1,1,0,0] (mean 2/3), rest = [3,2,1,1,1,1] (mean 3/2)
    //   Sxy = sum(x * rest) - n * mx * my = 7 - 6 * 2/3 * 3/2 = 1
    //   Sxx = 4 - 6 * 4/9 = 4/3;  Syy = 17 - 6 * 9/4 = 7/2
    //   r = 1 / sqrt(4/3 * 7/2) = 1 / sqrt(14/3) = sqrt(3/14) = 0.46291...
    // Of Q3: x = [1,1,0,0,1,1] (mean 2/3), rest = [3,2,2,2,0,0] (mean 3/2)
    //   Sxy = 5 - 6 = -1;  Sxx = 4/3;  Syy = 21 - 27/2 = 15/2
    //   r = -1 / sqrt(4/3 * 15/2) = -1 / sqrt(10) = -0.31623...
    // KR-20: totals [4,3,2,2,1,1], mean 13/6, variance 35/6 - 169/36 = 41/36;
    //   sum p q = 2/9 + 1/4 + 2/9 + 2/9 = 11/12
    //   KR-20 = 4/3 * (1 - (11/12) / (41/36)) = 4/3 * (1 - 33/41) = 4/3 * 8/41 = 32/123
    let (a, item_statements) = measured(&app, &seen, &w.trainer, ITEMS, json!({"q": w.pre})).await;
    // quiz, course, ownership, item scores, question versions.
    assert_eq!(item_statements, 5, "{:#?}", seen.lock().unwrap());
    let a = &a["itemAnalysis"];
    assert_eq!(a["quizId"], w.pre.as_str());
    assert_eq!(a["kind"], "PRE_TEST");
    assert_eq!(a["attempts"], 6);
    assert_eq!(a["itemCount"], 4);
    assert_eq!(a["reliabilityMethod"], "KR20");
    approx(&a["reliability"], 32.0 / 123.0);
    approx(&a["meanTotal"], 13.0 / 6.0);
    let q: Vec<&Value> = w.questions.iter().map(|id| item(a, id)).collect();
    // In the quiz's order.
    assert_eq!(column(&a["items"], &["questionId"]), w.questions);
    assert_eq!(q[0]["prompt"], "Pernyataan 1");
    assert_eq!(q[0]["version"], 1);
    assert_eq!(q[0]["kind"], "TRUE_FALSE");
    assert_eq!(q[0]["n"], 6);
    for (i, p) in [4.0 / 6.0, 0.5, 4.0 / 6.0, 2.0 / 6.0]
        .into_iter()
        .enumerate()
    {
        approx(&q[i]["facility"], p);
    }
    for (i, d) in [1.0, 1.0, 0.0, 0.5].into_iter().enumerate() {
        approx(&q[i]["discrimination"], d);
    }
    approx(&q[0]["pointBiserial"], (3.0f64 / 14.0).sqrt());
    approx(&q[2]["pointBiserial"], -1.0 / 10.0f64.sqrt());
    assert_eq!(q[2]["flags"], json!(["WEAK_DISCRIMINATION"]));
    for i in [0, 1, 3] {
        assert_eq!(q[i]["flags"], json!([]), "{}", q[i]);
    }

    // The post-test (everyone's only attempt):
    //
    //            Q1 Q2 Q3 Q4 | total
    //   ani       1  1  1  1 |  4
    //   budi      1  1  1  1 |  4
    //   citra     1  1  1  0 |  3
    //   dedi      1  0  0  0 |  1
    //   eka       0  1  0  1 |  2
    //   fajar     1  1  1  1 |  4
    //
    // Facility: Q1 5/6, Q2 5/6, Q3 4/6, Q4 4/6. Ranked: ani, budi, fajar (4; identical
    // answers, so the tie at the cut does not matter), citra, eka, dedi. Upper: ani, budi;
    // lower: eka, dedi. D1 = 1 - 1/2 = 0.5; D2 = 1 - 1/2 = 0.5; D3 = 1 - 0 = 1; D4 = 1 - 1/2
    // = 0.5.
    // KR-20: totals mean 3, variance (1+1+0+4+1+1)/6 = 4/3; sum p q = 2 * 5/36 + 2 * 2/9 =
    //   13/18; KR-20 = 4/3 * (1 - (13/18) / (4/3)) = 4/3 * 11/24 = 11/18
    let a = report(&app, &w.admin, ITEMS, json!({"q": w.post})).await;
    assert_eq!(a["attempts"], 6);
    approx(&a["reliability"], 11.0 / 18.0);
    for (i, (p, d)) in [
        (5.0 / 6.0, 0.5),
        (5.0 / 6.0, 0.5),
        (4.0 / 6.0, 1.0),
        (4.0 / 6.0, 0.5),
    ]
    .into_iter()
    .enumerate()
    {
        let it = item(&a, &w.questions[i]);
        approx(&it["facility"], p);
        approx(&it["discrimination"], d);
        assert_eq!(it["flags"], json!([]), "{it}");
    }

    // Who may not see them.
    for token in [&ani, &w.other_trainer] {
        let r = app.gql(Some(token), LEARNING, json!({"c": w.course})).await;
        code_of(&r, "FORBIDDEN");
        let r = app.gql(Some(token), ITEMS, json!({"q": w.pre})).await;
        code_of(&r, "FORBIDDEN");
    }
    // A unit admin sees no item analysis (it is about the questions).
    let r = app
        .gql(Some(&w.unit_admin), ITEMS, json!({"q": w.pre}))
        .await;
    code_of(&r, "FORBIDDEN");
    // Signed out.
    let r = app.gql(None, LEARNING, json!({"c": w.course})).await;
    code_of(&r, "UNAUTHENTICATED");
    // The other trainer's own course has no pre/post pair: an empty report.
    let r = report(
        &app,
        &w.other_trainer,
        LEARNING,
        json!({"c": w.other_course}),
    )
    .await;
    assert_eq!(r["tests"], json!([]));
}

#[tokio::test]
async fn bad_ids_and_unknown_things_have_clear_codes() {
    let app = TestApp::spawn().await;
    let w = world(&app).await;
    let admin = w.admin.clone();
    let unknown = Uuid::new_v4().to_string();

    let r = app.gql(Some(&admin), LEARNING, json!({"c": "nope"})).await;
    code_of(&r, "BAD_USER_INPUT");
    assert_eq!(r["errors"][0]["extensions"]["field"], "courseId", "{r}");
    let r = app
        .gql(Some(&admin), LEARNING, json!({"c": w.course, "h": "x"}))
        .await;
    code_of(&r, "BAD_USER_INPUT");
    let r = app.gql(Some(&admin), ITEMS, json!({"q": "12"})).await;
    code_of(&r, "BAD_USER_INPUT");

    let r = app.gql(Some(&admin), LEARNING, json!({"c": unknown})).await;
    code_of(&r, "NOT_FOUND");
    let r = app.gql(Some(&admin), ITEMS, json!({"q": unknown})).await;
    code_of(&r, "NOT_FOUND");
    // A cohort that is not the course's.
    let r = app
        .gql(Some(&admin), LEARNING, json!({"c": w.course, "h": unknown}))
        .await;
    code_of(&r, "NOT_FOUND");
    // A course's id is not a quiz's.
    let r = app
        .gql(Some(&w.trainer), ITEMS, json!({"q": w.course}))
        .await;
    code_of(&r, "NOT_FOUND");
    // A unit admin whose subtree has no results yet: the pair, with nothing counted.
    let r = report(&app, &w.unit_admin, LEARNING, json!({"c": w.course})).await;
    assert_eq!(r["unitId"], w.dinkes.as_str());
    assert_eq!(r["tests"][0]["paired"], 0);
}

/// Editing a question after it was given makes a new version, and each version is its own
/// item: the statistics do not mix answers to two different texts.
#[tokio::test]
async fn each_question_version_is_its_own_item() {
    let app = TestApp::spawn().await;
    let w = world(&app).await;
    let ani = learner(&app, &w, "ani", &w.dinkes, &w.cohort1).await;
    let budi = learner(&app, &w, "budi", &w.dinkes, &w.cohort1).await;
    take(&app, &ani, &w.pre, "1111", 100.0).await;
    take(&app, &budi, &w.pre, "0000", 0.0).await;
    app.ok(
        Some(&w.trainer),
        "mutation($id: ID!, $i: UpdateQuestionInput!) { updateQuestion(id: $id, input: $i) { id } }",
        json!({"id": w.questions[0], "i": {"prompt": "Pernyataan 1 (direvisi)", "points": 2}}),
    )
    .await;
    // Citra gets version 2 of Q1, worth 2 of 5 points: 2 / 5 = 40%.
    let citra = learner(&app, &w, "citra", &w.dinkes, &w.cohort1).await;
    take(&app, &citra, &w.pre, "1000", 40.0).await;

    let a = report(&app, &w.trainer, ITEMS, json!({"q": w.pre})).await;
    assert_eq!(a["attempts"], 3);
    // Q1 v1, Q1 v2, Q2, Q3, Q4.
    assert_eq!(a["itemCount"], 5);
    let items = a["items"].as_array().unwrap();
    assert_eq!(items[0]["questionId"], w.questions[0].as_str());
    assert_eq!(items[1]["questionId"], w.questions[0].as_str());
    assert_ne!(items[0]["questionVersionId"], items[1]["questionVersionId"]);
    assert_eq!(items[0]["version"], 1);
    assert_eq!(items[0]["prompt"], "Pernyataan 1");
    // Version 1: ani right, budi wrong: p = 1/2.
    assert_eq!(items[0]["n"], 2);
    approx(&items[0]["facility"], 0.5);
    // Version 2: citra's 2 of 2 points is an item score of 1: p = 1.
    assert_eq!(items[1]["version"], 2);
    assert_eq!(items[1]["prompt"], "Pernyataan 1 (direvisi)");
    assert_eq!(items[1]["n"], 1);
    approx(&items[1]["facility"], 1.0);
    // Q2 (unchanged): ani only: p = 1/3.
    assert_eq!(items[2]["questionId"], w.questions[1].as_str());
    assert_eq!(items[2]["n"], 3);
    approx(&items[2]["facility"], 1.0 / 3.0);
    // Still 0/1 scores, but the attempts were given different items: no reliability.
    assert_eq!(a["reliabilityMethod"], "KR20");
    assert_eq!(a["reliability"], Value::Null);
}

#[tokio::test]
async fn a_post_test_added_after_publication_is_reported_once_published() {
    use crate::fixtures::reports::{create_lesson, pre_and_post};
    let app = TestApp::spawn().await;
    let w = world(&app).await;
    let module = app
        .ok(
            Some(&w.trainer),
            "query($id: ID!) { course(id: $id) { modules { id } } }",
            json!({"id": w.course}),
        )
        .await["course"]["modules"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let mut lessons = Vec::new();
    for title in ["Pre-test ulang", "Post-test ulang"] {
        let input = json!({"title": title, "kind": "QUIZ"});
        lessons.push(create_lesson(&app, &w.trainer, &module, input).await);
    }
    let (_, post) = pre_and_post(
        &app,
        &w.trainer,
        (&lessons[0], &lessons[1]),
        &w.questions,
        60,
    )
    .await;
    let posts = |r: &Value| column(&r["tests"], &["postTest", "quizId"]);
    // Learners do not have it yet: it is not a test of the course's report.
    let r = report(&app, &w.trainer, LEARNING, json!({"c": w.course})).await;
    assert_eq!(posts(&r), vec![w.post.clone()], "{r}");
    for lesson in &lessons {
        app.ok(
            Some(&w.trainer),
            "mutation($id: ID!) { publishLesson(id: $id) { id } }",
            json!({"id": lesson}),
        )
        .await;
    }
    let r = report(&app, &w.trainer, LEARNING, json!({"c": w.course})).await;
    assert_eq!(posts(&r), vec![w.post.clone(), post], "{r}");
}
