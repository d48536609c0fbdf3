//! Quizzes from the learner's side: every question type graded right, wrong and partly right;
//! deadlines kept by the server's clock whatever the phone says; the closing job; offline
//! answers judged by when they were given; parallel forms; the answer-leak walk over every
//! learner-visible field; who may see and do what; bad input that loses nothing.

use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use kernel::Clock;
use lms_tests::{Options, TestApp, error_code};
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};
use serde_json::{Value, json};
use uuid::Uuid;

const CREATE: &str = "mutation($i: CreateCourseInput!) { createCourse(input: $i) { id } }";
const CREATE_MODULE: &str =
    "mutation($c: ID!, $i: CreateModuleInput!) { createModule(courseId: $c, input: $i) { id } }";
const PUBLISH_LESSON: &str = "mutation($id: ID!) { publishLesson(id: $id) { id } }";
const CREATE_LESSON: &str =
    "mutation($m: ID!, $i: CreateLessonInput!) { createLesson(moduleId: $m, input: $i) { id } }";
const SUBMIT_COURSE: &str = "mutation($id: ID!) { submitCourseForReview(id: $id) { state } }";
const APPROVE: &str = "mutation($id: ID!) { approveCourse(id: $id) { state } }";
const CREATE_COHORT: &str =
    "mutation($c: ID!, $i: CreateCohortInput!) { createCohort(courseId: $c, input: $i) { id } }";
const ENROLL: &str = "mutation($c: ID!) { enroll(cohortId: $c) { id state } }";
const CREATE_BANK: &str =
    "mutation($i: CreateQuestionBankInput!) { createQuestionBank(input: $i) { id } }";
const CREATE_QUESTION: &str = "mutation($b: ID!, $i: CreateQuestionInput!) { createQuestion(bankId: $b, input: $i) { id prompt options { id text correct } pairs { id left right } } }";
const CONFIGURE: &str = "mutation($l: ID!, $s: QuizSettingsInput!) { configureQuiz(lessonId: $l, settings: $s) { id } }";
const SET_QUESTIONS: &str =
    "mutation($q: ID!, $ids: [ID!]!) { setQuizQuestions(quizId: $q, questionIds: $ids) { id } }";
const ATTEMPT_FIELDS: &str = "id number state deadlineAt secondsLeft closedBy score maxScore percent passed reviewAvailable questions { questionId position kind prompt points choices { id text } items { id text } savedAnswer { seq optionIds truth text number matches { itemId choiceId } } review { score correct key { optionIds truth accepted value tolerance matches { itemId choiceId } } } }";

fn start_q() -> String {
    format!("mutation($q: ID!) {{ startQuizAttempt(quizId: $q) {{ {ATTEMPT_FIELDS} }} }}")
}
fn submit_q() -> String {
    format!("mutation($a: ID!) {{ submitQuizAttempt(attemptId: $a) {{ {ATTEMPT_FIELDS} }} }}")
}
fn attempt_q() -> String {
    format!("query($a: ID!) {{ quizAttempt(id: $a) {{ {ATTEMPT_FIELDS} }} }}")
}
const SAVE: &str = "mutation($a: ID!, $x: [QuizAnswerInput!]!) { saveQuizAnswers(attemptId: $a, answers: $x) { attemptId deadlineAt results { questionId seq status duplicate reason } } }";

fn s(v: &Value) -> String {
    v.as_str()
        .unwrap_or_else(|| panic!("a string, got {v}"))
        .to_owned()
}

/// A published course with one required text lesson and `quizzes` quiz lessons (required),
/// a course question bank and an open cohort.
struct Fixture {
    admin: String,
    trainer: String,
    course: String,
    cohort: String,
    bank: String,
    text_lesson: String,
    quiz_lessons: Vec<String>,
}

/// A trainer (`pelatih-<code>`) and their draft course `code` with one module: (trainer's token,
/// course id, module id).
async fn draft(app: &TestApp, admin: &str, code: &str) -> (String, String, String) {
    let (_, trainer) = app
        .signed_in(
            admin,
            &format!("pelatih-{code}@bkpsdm.go.id"),
            &["TRAINER"],
            None,
        )
        .await;
    let course = s(&app
        .ok(
            Some(&trainer),
            CREATE,
            json!({"i": {"code": code, "title": format!("Pelatihan {code}"), "competencyType": "TECHNICAL", "jpCredit": 4}}),
        )
        .await["createCourse"]["id"]);
    let module = s(&app
        .ok(
            Some(&trainer),
            CREATE_MODULE,
            json!({"c": course, "i": {"title": "Modul 1"}}),
        )
        .await["createModule"]["id"]);
    (trainer, course, module)
}

async fn fixture(app: &TestApp, code: &str, quizzes: usize) -> Fixture {
    let admin = app.admin().await;
    let (trainer, course, module) = draft(app, &admin, code).await;
    let text_lesson = s(&app
        .ok(
            Some(&trainer),
            CREATE_LESSON,
            json!({"m": module, "i": {"title": "Bacaan", "kind": "TEXT", "body": "# Bacaan\n\nIsi."}}),
        )
        .await["createLesson"]["id"]);
    let bank = s(&app
        .ok(
            Some(&trainer),
            CREATE_BANK,
            json!({"i": {"courseId": course, "title": "Bank soal"}}),
        )
        .await["createQuestionBank"]["id"]);
    app.ok(Some(&trainer), SUBMIT_COURSE, json!({"id": course}))
        .await;
    app.ok(Some(&admin), APPROVE, json!({"id": course})).await;
    // Added to the published course, so that each test sets its quizzes up as it needs
    // (publication wants ready quizzes: `publication_waits_for_ready_quizzes`); `configure`
    // publishes each once it is ready.
    let mut quiz_lessons = Vec::new();
    for i in 0..quizzes {
        quiz_lessons.push(s(&app
            .ok(
                Some(&trainer),
                CREATE_LESSON,
                json!({"m": module, "i": {"title": format!("Kuis {i}"), "kind": "QUIZ"}}),
            )
            .await["createLesson"]["id"]));
    }
    let cohort = s(&app
        .ok(
            Some(&admin),
            CREATE_COHORT,
            json!({"c": course, "i": {"name": "Angkatan I"}}),
        )
        .await["createCohort"]["id"]);
    Fixture {
        admin,
        trainer,
        course,
        cohort,
        bank,
        text_lesson,
        quiz_lessons,
    }
}

/// An enrolled learner: (person id, token).
async fn learner(app: &TestApp, f: &Fixture, name: &str) -> (String, String) {
    let (id, token) = app
        .signed_in(
            &f.admin,
            &format!("{name}@tangerangselatankota.go.id"),
            &[],
            None,
        )
        .await;
    let e = app.ok(Some(&token), ENROLL, json!({"c": f.cohort})).await;
    assert_eq!(e["enroll"]["state"], "ACTIVE", "{e}");
    (id, token)
}

async fn question(app: &TestApp, f: &Fixture, input: Value) -> Value {
    app.ok(
        Some(&f.trainer),
        CREATE_QUESTION,
        json!({"b": f.bank, "i": input}),
    )
    .await["createQuestion"]
        .clone()
}

async fn configure(app: &TestApp, f: &Fixture, lesson: &str, settings: Value) -> String {
    s(&app
        .ok(
            Some(&f.trainer),
            CONFIGURE,
            json!({"l": lesson, "s": settings}),
        )
        .await["configureQuiz"]["id"])
}

/// Publishes quiz lessons the fixture added after the course's publication, once their quizzes
/// are set up: learners find them only then.
async fn publish(app: &TestApp, f: &Fixture, lessons: &[&String]) {
    for lesson in lessons {
        app.ok(Some(&f.trainer), PUBLISH_LESSON, json!({"id": lesson}))
            .await;
    }
}

/// The seven questions of the grading test (one per type, two multiple-choice scorings).
async fn grading_questions(app: &TestApp, f: &Fixture) -> Vec<String> {
    let opts = |v: &[(&str, bool)]| -> Value {
        v.iter()
            .map(|(t, c)| json!({"text": t, "correct": c}))
            .collect::<Vec<_>>()
            .into()
    };
    let inputs = vec![
        json!({"kind": "SINGLE_CHOICE", "prompt": "Ibu kota Banten?", "options": opts(&[("Serang", true), ("Tangerang", false), ("Cilegon", false)])}),
        json!({"kind": "MULTIPLE_CHOICE", "prompt": "Mana yang ASN?", "scoring": "PARTIAL", "options": opts(&[("PNS", true), ("PPPK", true), ("Honorer", false), ("Swasta", false)])}),
        json!({"kind": "TRUE_FALSE", "prompt": "JP tahunan minimal 10.", "truth": false}),
        json!({"kind": "SHORT_TEXT", "prompt": "Kota kita?", "accepted": ["Tangerang Selatan", "Tangsel"]}),
        json!({"kind": "NUMERIC", "prompt": "JP minimal setahun?", "value": 20, "tolerance": 0.5}),
        json!({"kind": "MATCHING", "prompt": "Pasangkan.", "pairs": [{"left": "Serpong", "right": "Tangsel"}, {"left": "Bandung", "right": "Jabar"}, {"left": "Semarang", "right": "Jateng"}]}),
        json!({"kind": "MULTIPLE_CHOICE", "prompt": "Nilai dasar ASN?", "scoring": "ALL_OR_NOTHING", "options": opts(&[("Berorientasi pelayanan", true), ("Akuntabel", true), ("Nepotisme", false)])}),
    ];
    let mut ids = Vec::new();
    for i in inputs {
        ids.push(s(&question(app, f, i).await["id"]));
    }
    ids
}

fn by_prompt<'a>(attempt: &'a Value, prompt: &str) -> &'a Value {
    attempt["questions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|q| q["prompt"] == prompt)
        .unwrap_or_else(|| panic!("no question {prompt} in {attempt}"))
}

fn choice_ids(q: &Value, texts: &[&str]) -> Vec<String> {
    texts
        .iter()
        .map(|t| {
            s(&q["choices"]
                .as_array()
                .unwrap()
                .iter()
                .find(|c| c["text"] == *t)
                .unwrap_or_else(|| panic!("no choice {t} in {q}"))["id"])
        })
        .collect()
}

fn matches(q: &Value, pairs: &[(&str, &str)]) -> Value {
    pairs
        .iter()
        .map(|(l, r)| {
            let item = q["items"]
                .as_array()
                .unwrap()
                .iter()
                .find(|i| i["text"] == *l)
                .unwrap();
            json!({"itemId": item["id"], "choiceId": choice_ids(q, &[r])[0]})
        })
        .collect::<Vec<_>>()
        .into()
}

fn answer(q: &Value, seq: i64, at: DateTime<Utc>, field: &str, value: Value) -> Value {
    json!({"questionId": q["questionId"], "seq": seq, "answeredAt": at.to_rfc3339(), field: value})
}

async fn start(app: &TestApp, token: &str, quiz: &str) -> Value {
    app.ok(Some(token), &start_q(), json!({"q": quiz})).await["startQuizAttempt"].clone()
}

async fn save(app: &TestApp, token: &str, attempt: &Value, answers: Vec<Value>) -> Value {
    app.ok(Some(token), SAVE, json!({"a": attempt["id"], "x": answers}))
        .await["saveQuizAnswers"]
        .clone()
}

fn reasons(saved: &Value) -> Vec<Value> {
    saved["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["reason"].clone())
        .collect()
}

/// Every answer right, of the seven grading questions.
fn all_right(a: &Value, now: DateTime<Utc>) -> Vec<Value> {
    vec![
        answer(
            by_prompt(a, "Ibu kota Banten?"),
            1,
            now,
            "optionIds",
            json!(choice_ids(by_prompt(a, "Ibu kota Banten?"), &["Serang"])),
        ),
        answer(
            by_prompt(a, "Mana yang ASN?"),
            1,
            now,
            "optionIds",
            json!(choice_ids(by_prompt(a, "Mana yang ASN?"), &["PNS", "PPPK"])),
        ),
        answer(
            by_prompt(a, "JP tahunan minimal 10."),
            1,
            now,
            "truth",
            json!(false),
        ),
        answer(
            by_prompt(a, "Kota kita?"),
            1,
            now,
            "text",
            json!("  tangerang   SELATAN "),
        ),
        answer(
            by_prompt(a, "JP minimal setahun?"),
            1,
            now,
            "number",
            json!("20,4"),
        ),
        answer(
            by_prompt(a, "Pasangkan."),
            1,
            now,
            "matches",
            matches(
                by_prompt(a, "Pasangkan."),
                &[
                    ("Serpong", "Tangsel"),
                    ("Bandung", "Jabar"),
                    ("Semarang", "Jateng"),
                ],
            ),
        ),
        answer(
            by_prompt(a, "Nilai dasar ASN?"),
            1,
            now,
            "optionIds",
            json!(choice_ids(
                by_prompt(a, "Nilai dasar ASN?"),
                &["Berorientasi pelayanan", "Akuntabel"]
            )),
        ),
    ]
}

fn all_wrong(a: &Value, now: DateTime<Utc>) -> Vec<Value> {
    vec![
        answer(
            by_prompt(a, "Ibu kota Banten?"),
            1,
            now,
            "optionIds",
            json!(choice_ids(by_prompt(a, "Ibu kota Banten?"), &["Cilegon"])),
        ),
        answer(
            by_prompt(a, "Mana yang ASN?"),
            1,
            now,
            "optionIds",
            json!(choice_ids(by_prompt(a, "Mana yang ASN?"), &["Honorer"])),
        ),
        answer(
            by_prompt(a, "JP tahunan minimal 10."),
            1,
            now,
            "truth",
            json!(true),
        ),
        answer(by_prompt(a, "Kota kita?"), 1, now, "text", json!("Jakarta")),
        answer(
            by_prompt(a, "JP minimal setahun?"),
            1,
            now,
            "number",
            json!("21"),
        ),
        answer(
            by_prompt(a, "Pasangkan."),
            1,
            now,
            "matches",
            matches(
                by_prompt(a, "Pasangkan."),
                &[
                    ("Serpong", "Jabar"),
                    ("Bandung", "Jateng"),
                    ("Semarang", "Tangsel"),
                ],
            ),
        ),
        answer(
            by_prompt(a, "Nilai dasar ASN?"),
            1,
            now,
            "optionIds",
            json!(choice_ids(
                by_prompt(a, "Nilai dasar ASN?"),
                &["Akuntabel", "Nepotisme"]
            )),
        ),
    ]
}

fn review_score(a: &Value, prompt: &str) -> f64 {
    by_prompt(a, prompt)["review"]["score"].as_f64().unwrap()
}

#[tokio::test]
async fn every_question_type_is_graded_right_wrong_and_in_part() {
    let app = TestApp::spawn().await;
    let f = fixture(&app, "KUIS-GRADE", 1).await;
    let qs = grading_questions(&app, &f).await;
    let quiz = configure(
        &app,
        &f,
        &f.quiz_lessons[0],
        json!({"kind": "GRADED", "passingPercent": 60, "reviewPolicy": "AFTER_SUBMIT", "shuffleQuestions": true, "shuffleOptions": true}),
    )
    .await;
    app.ok(
        Some(&f.trainer),
        SET_QUESTIONS,
        json!({"q": quiz, "ids": qs}),
    )
    .await;
    let now = Utc::now();

    // All right: 7 of 7.
    publish(&app, &f, &[&f.quiz_lessons[0]]).await;
    let (_, ana) = learner(&app, &f, "ana").await;
    let a = start(&app, &ana, &quiz).await;
    assert_eq!(a["questions"].as_array().unwrap().len(), 7);
    assert_eq!(a["maxScore"], 7.0);
    let saved = save(&app, &ana, &a, all_right(&a, now)).await;
    assert!(reasons(&saved).iter().all(Value::is_null), "{saved}");
    let done =
        app.ok(Some(&ana), &submit_q(), json!({"a": a["id"]})).await["submitQuizAttempt"].clone();
    assert_eq!(done["state"], "GRADED");
    assert_eq!(done["closedBy"], "LEARNER");
    assert_eq!(done["score"], 7.0, "{done}");
    assert_eq!(done["percent"], 100.0);
    assert_eq!(done["passed"], true);
    for q in done["questions"].as_array().unwrap() {
        assert_eq!(q["review"]["correct"], true, "{q}");
    }

    // All wrong: 0 of 7.
    let (_, budi) = learner(&app, &f, "budi").await;
    let b = start(&app, &budi, &quiz).await;
    save(&app, &budi, &b, all_wrong(&b, now)).await;
    let done = app
        .ok(Some(&budi), &submit_q(), json!({"a": b["id"]}))
        .await["submitQuizAttempt"]
        .clone();
    assert_eq!(done["score"], 0.0, "{done}");
    assert_eq!(done["passed"], false);

    // Partly right: partial credit where the question allows it.
    let (_, citra) = learner(&app, &f, "citra").await;
    let c = start(&app, &citra, &quiz).await;
    let mc = by_prompt(&c, "Mana yang ASN?");
    let m = by_prompt(&c, "Pasangkan.");
    let strict = by_prompt(&c, "Nilai dasar ASN?");
    save(
        &app,
        &citra,
        &c,
        vec![
            // One of two right options, nothing wrong: 1/2.
            answer(mc, 1, now, "optionIds", json!(choice_ids(mc, &["PNS"]))),
            // One pair of three right: 1/3.
            answer(
                m,
                1,
                now,
                "matches",
                matches(
                    m,
                    &[
                        ("Serpong", "Tangsel"),
                        ("Bandung", "Jateng"),
                        ("Semarang", "Jabar"),
                    ],
                ),
            ),
            // All-or-nothing: one of two right options earns nothing.
            answer(
                strict,
                1,
                now,
                "optionIds",
                json!(choice_ids(strict, &["Akuntabel"])),
            ),
        ],
    )
    .await;
    let done = app
        .ok(Some(&citra), &submit_q(), json!({"a": c["id"]}))
        .await["submitQuizAttempt"]
        .clone();
    assert_eq!(review_score(&done, "Mana yang ASN?"), 0.5);
    assert_eq!(review_score(&done, "Pasangkan."), 0.3333);
    assert_eq!(review_score(&done, "Nilai dasar ASN?"), 0.0);
    assert_eq!(
        review_score(&done, "Ibu kota Banten?"),
        0.0,
        "unanswered earns nothing"
    );
    assert_eq!(done["score"], 0.8333);
    // 100 × 0.8333 / 7, to four decimals.
    assert_eq!(done["percent"], 11.9043);

    // A passed graded quiz completes its lesson.
    let rows = progress::entity::lesson_progress::Entity::find()
        .filter(
            progress::entity::lesson_progress::Column::LessonId
                .eq(Uuid::parse_str(&f.quiz_lessons[0]).unwrap()),
        )
        .filter(progress::entity::lesson_progress::Column::CompletedAt.is_not_null())
        .count(&app.server.state.db)
        .await
        .unwrap();
    assert_eq!(rows, 1, "only ana passed");
}

#[tokio::test]
async fn the_server_keeps_the_time_limit_whatever_the_phone_says() {
    let clock = kernel::ManualClock::new(Utc::now());
    let app = TestApp::spawn_with(Options {
        overrides: gateway::Overrides {
            clock: Some(Arc::new(clock.clone())),
            ..Default::default()
        },
        ..Default::default()
    })
    .await;
    let f = fixture(&app, "KUIS-WAKTU", 1).await;
    let qs = grading_questions(&app, &f).await;
    let quiz = configure(
        &app,
        &f,
        &f.quiz_lessons[0],
        json!({"kind": "GRADED", "timeLimitMinutes": 10, "reviewPolicy": "AFTER_SUBMIT"}),
    )
    .await;
    app.ok(
        Some(&f.trainer),
        SET_QUESTIONS,
        json!({"q": quiz, "ids": qs}),
    )
    .await;
    publish(&app, &f, &[&f.quiz_lessons[0]]).await;
    let (_, ana) = learner(&app, &f, "ana").await;
    let started = clock.now();
    let a = start(&app, &ana, &quiz).await;
    let deadline: DateTime<Utc> = s(&a["deadlineAt"]).parse().unwrap();
    assert_eq!(deadline, started + Duration::minutes(10));
    assert_eq!(a["secondsLeft"], 600);
    let tf = by_prompt(&a, "JP tahunan minimal 10.");
    let num = by_prompt(&a, "JP minimal setahun?");
    let text = by_prompt(&a, "Kota kita?");
    save(
        &app,
        &ana,
        &a,
        vec![answer(tf, 1, started, "truth", json!(false))],
    )
    .await;

    // Within the grace period: answers given before the deadline (an offline phone catching
    // up) are taken; one given after it is refused, and the earlier answer stays.
    clock.advance(Duration::minutes(10) + Duration::seconds(10));
    let saved = save(
        &app,
        &ana,
        &a,
        vec![
            answer(
                num,
                1,
                deadline - Duration::seconds(5),
                "number",
                json!("20"),
            ),
            answer(tf, 2, deadline + Duration::seconds(5), "truth", json!(true)),
        ],
    )
    .await;
    assert_eq!(reasons(&saved), vec![Value::Null, json!("AFTER_DEADLINE")]);

    // Past deadline + grace: refused whatever time the phone claims.
    clock.advance(Duration::seconds(25));
    let late = app
        .gql(
            Some(&ana),
            SAVE,
            json!({"a": a["id"], "x": [answer(text, 1, deadline - Duration::minutes(1), "text", json!("Tangsel"))]}),
        )
        .await;
    assert_eq!(error_code(&late).as_deref(), Some("CONFLICT"), "{late}");
    assert_eq!(late["errors"][0]["extensions"]["reason"], "ATTEMPT_CLOSED");
    let submit = app
        .gql(Some(&ana), &submit_q(), json!({"a": a["id"]}))
        .await;
    assert_eq!(
        submit["errors"][0]["extensions"]["reason"], "ATTEMPT_CLOSED",
        "{submit}"
    );

    // It was closed by the deadline and graded with what was saved in time: true/false (false,
    // right) and the number, not the refused answers.
    let got = app
        .ok(Some(&ana), &attempt_q(), json!({"a": a["id"]}))
        .await["quizAttempt"]
        .clone();
    assert_eq!(got["state"], "GRADED");
    assert_eq!(got["closedBy"], "DEADLINE");
    assert_eq!(got["score"], 2.0, "{got}");
    assert_eq!(
        by_prompt(&got, "JP tahunan minimal 10.")["savedAnswer"]["truth"],
        false
    );
    assert!(by_prompt(&got, "Kota kita?")["savedAnswer"].is_null());
}

#[tokio::test]
async fn the_deadline_job_closes_an_abandoned_attempt() {
    let clock = kernel::ManualClock::new(Utc::now());
    let app = TestApp::spawn_with(Options {
        workers: 1,
        overrides: gateway::Overrides {
            clock: Some(Arc::new(clock.clone())),
            ..Default::default()
        },
        ..Default::default()
    })
    .await;
    let f = fixture(&app, "KUIS-TUTUP", 1).await;
    let qs = grading_questions(&app, &f).await;
    let quiz = configure(
        &app,
        &f,
        &f.quiz_lessons[0],
        json!({"kind": "PRE_TEST", "timeLimitMinutes": 5, "passingPercent": 0}),
    )
    .await;
    app.ok(
        Some(&f.trainer),
        SET_QUESTIONS,
        json!({"q": quiz, "ids": qs}),
    )
    .await;
    publish(&app, &f, &[&f.quiz_lessons[0]]).await;
    let (_, ana) = learner(&app, &f, "ana").await;
    let a = start(&app, &ana, &quiz).await;
    let tf = by_prompt(&a, "JP tahunan minimal 10.");
    save(
        &app,
        &ana,
        &a,
        vec![answer(tf, 1, clock.now(), "truth", json!(false))],
    )
    .await;
    let id = Uuid::parse_str(&s(&a["id"])).unwrap();
    let db = app.server.state.db.clone();
    let read = || async {
        quiz::entity::quiz_attempt::Entity::find_by_id(id)
            .one(&db)
            .await
            .unwrap()
            .unwrap()
    };
    // Not before deadline + grace.
    clock.advance(Duration::minutes(5) + Duration::seconds(20));
    tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
    assert_eq!(read().await.state, "open");
    clock.advance(Duration::seconds(15));
    let closed = lms_tests::eventually(std::time::Duration::from_secs(20), || async {
        read().await.state == "graded"
    })
    .await;
    assert!(closed, "the job closes the attempt");
    let row = read().await;
    assert_eq!(row.closed_by.as_deref(), Some("deadline"));
    assert_eq!(row.score, Some(1.0));
    // It ended at its deadline, not when the job ran.
    assert_eq!(row.submitted_at, row.deadline_at);
    // A pre-test completes its lesson when taken, whatever the score.
    let done = progress::entity::lesson_progress::Entity::find()
        .filter(
            progress::entity::lesson_progress::Column::LessonId
                .eq(Uuid::parse_str(&f.quiz_lessons[0]).unwrap()),
        )
        .filter(progress::entity::lesson_progress::Column::CompletedAt.is_not_null())
        .count(&db)
        .await
        .unwrap();
    assert_eq!(done, 1);
}

#[tokio::test]
async fn bad_answers_are_refused_one_by_one_and_lose_nothing() {
    let app = TestApp::spawn().await;
    let f = fixture(&app, "KUIS-SALAH", 2).await;
    let qs = grading_questions(&app, &f).await;
    let quiz = configure(
        &app,
        &f,
        &f.quiz_lessons[0],
        json!({"kind": "PRACTICE", "maxAttempts": 1}),
    )
    .await;
    app.ok(
        Some(&f.trainer),
        SET_QUESTIONS,
        json!({"q": quiz, "ids": qs[..5]}),
    )
    .await;
    // Another quiz's question, not in this attempt.
    let other = configure(&app, &f, &f.quiz_lessons[1], json!({"kind": "PRACTICE"})).await;
    app.ok(
        Some(&f.trainer),
        SET_QUESTIONS,
        json!({"q": other, "ids": qs[5..]}),
    )
    .await;
    publish(&app, &f, &[&f.quiz_lessons[0], &f.quiz_lessons[1]]).await;
    let (_, ana) = learner(&app, &f, "ana").await;
    let a = start(&app, &ana, &quiz).await;
    // Starting again while open gives the same attempt back.
    let again = start(&app, &ana, &quiz).await;
    assert_eq!(again["id"], a["id"]);
    let now = Utc::now();
    let sc = by_prompt(&a, "Ibu kota Banten?");
    let num = by_prompt(&a, "JP minimal setahun?");
    let tf = by_prompt(&a, "JP tahunan minimal 10.");
    save(
        &app,
        &ana,
        &a,
        vec![
            answer(sc, 5, now, "optionIds", json!(choice_ids(sc, &["Serang"]))),
            answer(num, 1, now, "number", json!("20")),
        ],
    )
    .await;
    let saved = save(
        &app,
        &ana,
        &a,
        vec![
            json!({"questionId": qs[5], "seq": 1, "answeredAt": now.to_rfc3339(), "optionIds": []}),
            answer(sc, 6, now, "optionIds", json!([Uuid::new_v4().to_string()])),
            answer(sc, 7, now, "optionIds", json!(["not-an-id"])),
            answer(num, 2, now, "number", json!("dua puluh")),
            answer(sc, 4, now, "optionIds", json!(choice_ids(sc, &["Cilegon"]))),
            answer(tf, 1, now, "text", json!("benar")),
            // A replay of what is saved is accepted as a duplicate.
            answer(num, 1, now, "number", json!("20")),
        ],
    )
    .await;
    assert_eq!(
        reasons(&saved),
        vec![
            json!("QUESTION_NOT_IN_ATTEMPT"),
            json!("UNKNOWN_OPTION"),
            json!("UNKNOWN_OPTION"),
            json!("NOT_A_NUMBER"),
            json!("STALE_SEQUENCE"),
            json!("WRONG_ANSWER_TYPE"),
            Value::Null,
        ],
        "{saved}"
    );
    assert_eq!(saved["results"][6]["duplicate"], true);
    // Nothing saved before was lost.
    let got = app
        .ok(Some(&ana), &attempt_q(), json!({"a": a["id"]}))
        .await["quizAttempt"]
        .clone();
    assert_eq!(
        by_prompt(&got, "Ibu kota Banten?")["savedAnswer"]["optionIds"],
        json!(choice_ids(sc, &["Serang"]))
    );
    assert_eq!(by_prompt(&got, "Ibu kota Banten?")["savedAnswer"]["seq"], 5);
    assert_eq!(
        by_prompt(&got, "JP minimal setahun?")["savedAnswer"]["number"],
        20.0
    );

    // Submitting twice gives the same result; the one allowed attempt is then used.
    let first =
        app.ok(Some(&ana), &submit_q(), json!({"a": a["id"]})).await["submitQuizAttempt"].clone();
    let second =
        app.ok(Some(&ana), &submit_q(), json!({"a": a["id"]})).await["submitQuizAttempt"].clone();
    assert_eq!(first["score"], 2.0);
    assert_eq!(first, second);
    let more = app.gql(Some(&ana), &start_q(), json!({"q": quiz})).await;
    assert_eq!(
        more["errors"][0]["extensions"]["reason"], "NO_ATTEMPTS_LEFT",
        "{more}"
    );
    assert_eq!(error_code(&more).as_deref(), Some("CONFLICT"));
    // Answers to a graded attempt are refused.
    let closed = app
        .gql(
            Some(&ana),
            SAVE,
            json!({"a": a["id"], "x": [answer(sc, 9, now, "optionIds", json!([]))]}),
        )
        .await;
    assert_eq!(
        closed["errors"][0]["extensions"]["reason"],
        "ATTEMPT_CLOSED"
    );

    // An admin grants one more attempt (audited); the learner can start again.
    let ana_id = s(&app.ok(Some(&ana), "{ me { id } }", json!({})).await["me"]["id"]);
    let grant = "mutation($q: ID!, $p: ID!) { grantQuizExtra(quizId: $q, personId: $p, extraAttempts: 1, reason: \"sakit saat ujian\") { extraAttempts } }";
    let denied = app
        .gql(Some(&f.trainer), grant, json!({"q": quiz, "p": ana_id}))
        .await;
    assert_eq!(error_code(&denied).as_deref(), Some("FORBIDDEN"));
    app.ok(Some(&f.admin), grant, json!({"q": quiz, "p": ana_id}))
        .await;
    let audited = identity::entity::audit_log::Entity::find()
        .filter(identity::entity::audit_log::Column::Action.eq("quiz.grant"))
        .filter(identity::entity::audit_log::Column::TargetId.eq(ana_id.clone()))
        .count(&app.server.state.db)
        .await
        .unwrap();
    assert_eq!(audited, 1);
    let b = start(&app, &ana, &quiz).await;
    assert_eq!(b["number"], 2);
}

#[tokio::test]
async fn the_window_and_the_required_lessons_gate_the_post_test() {
    let app = TestApp::spawn().await;
    let f = fixture(&app, "KUIS-GERBANG", 3).await;
    let qs = grading_questions(&app, &f).await;
    let (_, ana) = learner(&app, &f, "ana").await;
    // A quiz that opens tomorrow.
    let later = configure(
        &app,
        &f,
        &f.quiz_lessons[2],
        json!({"kind": "PRACTICE", "opensAt": (Utc::now() + Duration::days(1)).to_rfc3339()}),
    )
    .await;
    app.ok(
        Some(&f.trainer),
        SET_QUESTIONS,
        json!({"q": later, "ids": qs[..2]}),
    )
    .await;
    publish(&app, &f, &[&f.quiz_lessons[2]]).await;
    let r = app.gql(Some(&ana), &start_q(), json!({"q": later})).await;
    assert_eq!(
        r["errors"][0]["extensions"]["reason"], "OUTSIDE_WINDOW",
        "{r}"
    );

    // A gating pre-test and a post-test.
    let pre = configure(
        &app,
        &f,
        &f.quiz_lessons[0],
        json!({"kind": "PRE_TEST", "gatesMaterial": true, "passingPercent": 0}),
    )
    .await;
    app.ok(
        Some(&f.trainer),
        SET_QUESTIONS,
        json!({"q": pre, "ids": qs[..3]}),
    )
    .await;
    let post = configure(
        &app,
        &f,
        &f.quiz_lessons[1],
        json!({"kind": "POST_TEST", "pairedQuizId": pre, "formPolicy": "SAME"}),
    )
    .await;
    app.ok(
        Some(&f.trainer),
        SET_QUESTIONS,
        json!({"q": post, "ids": qs[3..]}),
    )
    .await;
    publish(&app, &f, &[&f.quiz_lessons[0], &f.quiz_lessons[1]]).await;
    // The post-test is locked: the pre-test first. So is the material.
    let r = app.gql(Some(&ana), &start_q(), json!({"q": post})).await;
    assert_eq!(r["errors"][0]["extensions"]["reason"], "LOCKED", "{r}");
    let content = "query($id: ID!) { course(id: $id) { modules { lessons { title body } } } }";
    let r = app.gql(Some(&ana), content, json!({"id": f.course})).await;
    assert_eq!(r["errors"][0]["extensions"]["reason"], "LOCKED", "{r}");
    assert_eq!(error_code(&r).as_deref(), Some("CONFLICT"));
    // Nor does progress count there: a phone's event in a locked lesson is refused on its own,
    // and is not stored, so the same event sent again once the lesson opens counts.
    let sync_results = "mutation($e: [ProgressEventInput!]!) { syncProgress(events: $e) { accepted rejected results { status reason } } }";
    let opened = json!({"e": [{"clientEventId": Uuid::new_v4().to_string(), "lessonId": f.text_lesson, "kind": "OPENED", "occurredAt": Utc::now().to_rfc3339()}]});
    let r = app.ok(Some(&ana), sync_results, opened.clone()).await;
    assert_eq!(r["syncProgress"]["accepted"], 0, "{r}");
    assert_eq!(r["syncProgress"]["results"][0]["status"], "REJECTED", "{r}");
    assert_eq!(
        r["syncProgress"]["results"][0]["reason"], "LESSON_LOCKED",
        "{r}"
    );
    // Not for the course's trainer.
    app.ok(Some(&f.trainer), content, json!({"id": f.course}))
        .await;
    let a = start(&app, &ana, &pre).await;
    app.ok(Some(&ana), &submit_q(), json!({"a": a["id"]})).await;
    // Taken (whatever the score): the material opens.
    let r = app.ok(Some(&ana), content, json!({"id": f.course})).await;
    assert_eq!(
        r["course"]["modules"][0]["lessons"][0]["body"],
        "# Bacaan\n\nIsi."
    );
    // Still locked: the text lesson is required and not read yet.
    let r = app.gql(Some(&ana), &start_q(), json!({"q": post})).await;
    assert_eq!(r["errors"][0]["extensions"]["reason"], "LOCKED", "{r}");
    let r = app.ok(Some(&ana), sync_results, opened).await;
    assert_eq!(r["syncProgress"]["accepted"], 1, "{r}");
    // The practice quiz (required, not passed) still holds it: the post-test waits for every
    // other required lesson. Once it is optional, the post-test opens.
    let r = app.gql(Some(&ana), &start_q(), json!({"q": post})).await;
    assert_eq!(r["errors"][0]["extensions"]["reason"], "LOCKED", "{r}");
    let lessons = "mutation($l: ID!) { updateLesson(id: $l, input: {required: false}) { id } }";
    app.ok(Some(&f.trainer), lessons, json!({"l": f.quiz_lessons[2]}))
        .await;
    let b = start(&app, &ana, &post).await;
    // SAME form: the questions she had in the pre-test.
    let got: HashSet<String> = b["questions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|q| s(&q["questionId"]))
        .collect();
    let had: HashSet<String> = qs[..3].iter().cloned().collect();
    assert_eq!(got, had);
}

#[tokio::test]
async fn parallel_forms_give_questions_not_seen_in_the_pre_test() {
    let app = TestApp::spawn().await;
    let f = fixture(&app, "KUIS-PARALEL", 3).await;
    let mut tagged = Vec::new();
    for i in 0..10 {
        let q = question(
            &app,
            &f,
            json!({"kind": "TRUE_FALSE", "prompt": format!("Pernyataan {i}"), "truth": i % 2 == 0, "tags": ["etika"]}),
        )
        .await;
        tagged.push(s(&q["id"]));
    }
    // Untagged questions are never drawn.
    for i in 0..3 {
        question(
            &app,
            &f,
            json!({"kind": "TRUE_FALSE", "prompt": format!("Lain {i}"), "truth": true}),
        )
        .await;
    }
    let draw = |kind: &str| json!({"kind": kind, "drawBankId": f.bank, "drawTag": "etika", "drawCount": 4, "passingPercent": 0});
    let pre = configure(&app, &f, &f.quiz_lessons[0], draw("PRE_TEST")).await;
    let mut parallel = draw("POST_TEST");
    parallel["pairedQuizId"] = json!(pre);
    parallel["formPolicy"] = json!("PARALLEL");
    let post = configure(&app, &f, &f.quiz_lessons[1], parallel).await;
    publish(&app, &f, &[&f.quiz_lessons[0], &f.quiz_lessons[1]]).await;
    // Other required lessons done: only the quizzes remain.
    let optional = "mutation($l: ID!) { updateLesson(id: $l, input: {required: false}) { id } }";
    for l in [&f.text_lesson, &f.quiz_lessons[2]] {
        app.ok(Some(&f.trainer), optional, json!({"l": l})).await;
    }
    let ids = |a: &Value| -> HashSet<String> {
        a["questions"]
            .as_array()
            .unwrap()
            .iter()
            .map(|q| s(&q["questionId"]))
            .collect()
    };
    for name in ["ana", "budi", "citra"] {
        let (_, t) = learner(&app, &f, name).await;
        let a = start(&app, &t, &pre).await;
        let seen = ids(&a);
        assert_eq!(seen.len(), 4);
        assert!(seen.iter().all(|q| tagged.contains(q)), "drawn by tag");
        app.ok(Some(&t), &submit_q(), json!({"a": a["id"]})).await;
        let b = start(&app, &t, &post).await;
        let fresh = ids(&b);
        assert_eq!(fresh.len(), 4);
        assert!(fresh.iter().all(|q| tagged.contains(q)));
        assert!(
            fresh.is_disjoint(&seen),
            "a parallel form repeats nothing: {seen:?} {fresh:?}"
        );
    }
    // A draw larger than what is left is refused with NOT_READY, not a short quiz.
    let mut big = draw("POST_TEST");
    big["drawCount"] = json!(7);
    big["pairedQuizId"] = json!(pre);
    big["formPolicy"] = json!("PARALLEL");
    configure(&app, &f, &f.quiz_lessons[1], big).await;
    let (_, t) = learner(&app, &f, "dodi").await;
    let a = start(&app, &t, &pre).await;
    app.ok(Some(&t), &submit_q(), json!({"a": a["id"]})).await;
    let r = app.gql(Some(&t), &start_q(), json!({"q": post})).await;
    assert_eq!(r["errors"][0]["extensions"]["reason"], "NOT_READY", "{r}");
}

/// A query selecting every field of `type_name` reachable without arguments, from the schema's
/// own introspection, so a field added later is walked too.
async fn every_field(app: &TestApp, token: &str, type_name: &str) -> String {
    let q = "{ __schema { types { name kind fields { name args { name } type { kind name ofType { kind name ofType { kind name ofType { kind name } } } } } } } }";
    let d = app.ok(Some(token), q, json!({})).await;
    let mut types: BTreeMap<String, Vec<(String, String, bool)>> = BTreeMap::new();
    for t in d["__schema"]["types"].as_array().unwrap() {
        let Some(fields) = t["fields"].as_array() else {
            continue;
        };
        let mut out = Vec::new();
        for fld in fields {
            if !fld["args"].as_array().unwrap().is_empty() {
                continue;
            }
            let mut ty = &fld["type"];
            while ty["name"].is_null() {
                ty = &ty["ofType"];
            }
            out.push((s(&fld["name"]), s(&ty["name"]), ty["kind"] == "OBJECT"));
        }
        types.insert(s(&t["name"]), out);
    }
    fn select(
        types: &BTreeMap<String, Vec<(String, String, bool)>>,
        name: &str,
        depth: usize,
    ) -> String {
        let mut parts = Vec::new();
        for (field, ty, object) in &types[name] {
            if *object {
                if depth < 6 {
                    parts.push(format!("{field} {{ {} }}", select(types, ty, depth + 1)));
                }
            } else {
                parts.push(field.clone());
            }
        }
        parts.join(" ")
    }
    select(&types, type_name, 1)
}

/// Names of fields that would carry the key, non-null anywhere in `v`; and secrets as text.
fn leaks(v: &Value, secrets: &[&str]) -> Vec<String> {
    fn walk(v: &Value, path: &str, out: &mut Vec<String>) {
        match v {
            Value::Object(m) => {
                for (k, x) in m {
                    let p = format!("{path}.{k}");
                    if [
                        "review",
                        "key",
                        "correct",
                        "accepted",
                        "tolerance",
                        "options",
                        "pairs",
                    ]
                    .contains(&k.as_str())
                        && !x.is_null()
                    {
                        out.push(p.clone());
                    }
                    if k == "score" && m.contains_key("questionId") && !x.is_null() {
                        out.push(p.clone());
                    }
                    walk(x, &p, out);
                }
            }
            Value::Array(a) => {
                for (i, x) in a.iter().enumerate() {
                    walk(x, &format!("{path}[{i}]"), out);
                }
            }
            _ => {}
        }
    }
    let mut out = Vec::new();
    walk(v, "", &mut out);
    let text = v.to_string();
    for s in secrets {
        if text.contains(s) {
            out.push(format!("secret `{s}`"));
        }
    }
    out
}

#[tokio::test]
async fn no_learner_visible_field_reveals_an_answer_before_the_review_policy_allows() {
    let app = TestApp::spawn().await;
    let f = fixture(&app, "KUIS-BOCOR", 2).await;
    // Secrets that appear nowhere but in answer keys.
    let accepted = format!("kunci-{}", Uuid::new_v4().simple());
    let value = "7321.25";
    let mut qs = grading_questions(&app, &f).await;
    qs.push(s(&question(
        &app,
        &f,
        json!({"kind": "SHORT_TEXT", "prompt": "Rahasia?", "accepted": [accepted]}),
    )
    .await["id"]));
    qs.push(s(&question(
        &app,
        &f,
        json!({"kind": "NUMERIC", "prompt": "Angka?", "value": 7321.25, "tolerance": 0.125}),
    )
    .await["id"]));
    let secrets = [accepted.as_str(), value, "0.125"];
    let score_only = configure(
        &app,
        &f,
        &f.quiz_lessons[0],
        json!({"kind": "GRADED", "reviewPolicy": "SCORE_ONLY", "shuffleOptions": true}),
    )
    .await;
    let after_submit = configure(
        &app,
        &f,
        &f.quiz_lessons[1],
        json!({"kind": "GRADED", "reviewPolicy": "AFTER_SUBMIT"}),
    )
    .await;
    for q in [&score_only, &after_submit] {
        app.ok(Some(&f.trainer), SET_QUESTIONS, json!({"q": q, "ids": qs}))
            .await;
    }
    publish(&app, &f, &[&f.quiz_lessons[0], &f.quiz_lessons[1]]).await;
    let (_, ana) = learner(&app, &f, "ana").await;
    let attempt_fields = every_field(&app, &ana, "QuizAttempt").await;
    let quiz_fields = every_field(&app, &ana, "Quiz").await;
    assert!(
        attempt_fields.contains("review") && attempt_fields.contains("key {"),
        "{attempt_fields}"
    );

    let mut responses = Vec::new();
    for quiz in [&score_only, &after_submit] {
        let start = app
            .gql(
                Some(&ana),
                &format!(
                    "mutation($q: ID!) {{ startQuizAttempt(quizId: $q) {{ {attempt_fields} }} }}"
                ),
                json!({"q": quiz}),
            )
            .await;
        let a = start["data"]["startQuizAttempt"].clone();
        let now = Utc::now();
        let saved = app
            .gql(
                Some(&ana),
                SAVE,
                json!({"a": a["id"], "x": all_right(&a, now)}),
            )
            .await;
        let read = app
            .gql(
                Some(&ana),
                &format!("query($a: ID!) {{ quizAttempt(id: $a) {{ {attempt_fields} }} }}"),
                json!({"a": a["id"]}),
            )
            .await;
        let quiz_view = app
            .gql(
                Some(&ana),
                &format!("query($q: ID!) {{ quiz(id: $q) {{ {quiz_fields} }} }}"),
                json!({"q": quiz}),
            )
            .await;
        let of_lesson = app
            .gql(
                Some(&ana),
                &format!("query($l: ID!) {{ quizOfLesson(lessonId: $l) {{ {quiz_fields} }} }}"),
                json!({"l": f.quiz_lessons[0]}),
            )
            .await;
        // Banks and questions are not the learner's.
        let bank = app
            .gql(
                Some(&ana),
                "query($b: ID!) { questionBank(id: $b) { id } }",
                json!({"b": f.bank}),
            )
            .await;
        assert!(
            matches!(
                error_code(&bank).as_deref(),
                Some("FORBIDDEN" | "NOT_FOUND")
            ),
            "{bank}"
        );
        let question = app
            .gql(
                Some(&ana),
                "query($q: ID!) { question(id: $q) { id options { correct } } }",
                json!({"q": qs[0]}),
            )
            .await;
        assert!(
            matches!(
                error_code(&question).as_deref(),
                Some("FORBIDDEN" | "NOT_FOUND")
            ),
            "{question}"
        );
        responses.extend([start, saved, read, quiz_view, of_lesson]);
        let submitted = app
            .gql(Some(&ana), &format!("mutation($a: ID!) {{ submitQuizAttempt(attemptId: $a) {{ {attempt_fields} }} }}"), json!({"a": a["id"]}))
            .await;
        if quiz == &score_only {
            // Score only: the total (7 of the 9 points answered right), never the answers, even
            // after submitting.
            assert_eq!(submitted["data"]["submitQuizAttempt"]["percent"], 77.7778);
            responses.push(submitted);
        } else {
            // The walk can fail: after submit under AFTER_SUBMIT, the key is there and found.
            let found = leaks(&submitted, &secrets);
            assert!(found.iter().any(|l| l.contains("review")), "{found:?}");
            assert!(found.iter().any(|l| l.contains(&accepted)), "{found:?}");
        }
    }
    for r in &responses {
        assert!(r["data"].is_object(), "{r}");
        let found = leaks(r, &secrets);
        assert!(found.is_empty(), "leaked {found:?} in {r}");
    }
}

#[tokio::test]
async fn attempts_are_seen_only_by_their_learner_their_course_and_admins() {
    let app = TestApp::spawn().await;
    let f = fixture(&app, "KUIS-AKSES", 1).await;
    let other = fixture(&app, "KUIS-LAIN", 1).await;
    let qs = grading_questions(&app, &f).await;
    let quiz = configure(&app, &f, &f.quiz_lessons[0], json!({"kind": "GRADED"})).await;
    app.ok(
        Some(&f.trainer),
        SET_QUESTIONS,
        json!({"q": quiz, "ids": qs}),
    )
    .await;
    publish(&app, &f, &[&f.quiz_lessons[0]]).await;
    let (_, ana) = learner(&app, &f, "ana").await;
    let (_, budi) = learner(&app, &f, "budi").await;
    let a = start(&app, &ana, &quiz).await;
    let now = Utc::now();
    let sc = by_prompt(&a, "Ibu kota Banten?");
    let mine = vec![answer(
        sc,
        1,
        now,
        "optionIds",
        json!(choice_ids(sc, &["Serang"])),
    )];

    // Another learner: cannot read, answer or submit it.
    for (q, vars) in [
        (attempt_q(), json!({"a": a["id"]})),
        (SAVE.to_owned(), json!({"a": a["id"], "x": mine.clone()})),
        (submit_q(), json!({"a": a["id"]})),
    ] {
        let r = app.gql(Some(&budi), &q, vars).await;
        assert_eq!(error_code(&r).as_deref(), Some("FORBIDDEN"), "{r}");
    }
    // Not signed in.
    let r = app.gql(None, &attempt_q(), json!({"a": a["id"]})).await;
    assert_eq!(error_code(&r).as_deref(), Some("UNAUTHENTICATED"));
    // A learner not enrolled cannot start.
    let (_, outsider) = app
        .signed_in(&f.admin, "luar@tangerangselatankota.go.id", &[], None)
        .await;
    let r = app
        .gql(Some(&outsider), &start_q(), json!({"q": quiz}))
        .await;
    assert_eq!(error_code(&r).as_deref(), Some("FORBIDDEN"), "{r}");
    let r = app
        .gql(
            Some(&outsider),
            "query($q: ID!) { quiz(id: $q) { id } }",
            json!({"q": quiz}),
        )
        .await;
    assert_eq!(error_code(&r).as_deref(), Some("FORBIDDEN"), "{r}");
    // Another course's trainer: no attempts, no settings.
    let list = "query($q: ID!) { quizAttempts(quizId: $q) { nodes { id personId percent } } }";
    let r = app
        .gql(Some(&other.trainer), list, json!({"q": quiz}))
        .await;
    assert_eq!(error_code(&r).as_deref(), Some("FORBIDDEN"), "{r}");
    let r = app
        .gql(Some(&other.trainer), &attempt_q(), json!({"a": a["id"]}))
        .await;
    assert_eq!(error_code(&r).as_deref(), Some("FORBIDDEN"), "{r}");
    let r = app
        .gql(
            Some(&other.trainer),
            CONFIGURE,
            json!({"l": f.quiz_lessons[0], "s": {"kind": "PRACTICE"}}),
        )
        .await;
    assert_eq!(error_code(&r).as_deref(), Some("FORBIDDEN"), "{r}");
    let r = app
        .gql(
            Some(&ana),
            CONFIGURE,
            json!({"l": f.quiz_lessons[0], "s": {"kind": "PRACTICE"}}),
        )
        .await;
    assert_eq!(error_code(&r).as_deref(), Some("FORBIDDEN"), "{r}");
    // The learner answers and submits; the course's trainer and an admin see the attempt with
    // its review, which the learner also sees under AFTER_SUBMIT (the default).
    save(&app, &ana, &a, mine).await;
    app.ok(Some(&ana), &submit_q(), json!({"a": a["id"]})).await;
    for token in [&f.trainer, &f.admin] {
        let l = app.ok(Some(token), list, json!({"q": quiz})).await;
        assert_eq!(l["quizAttempts"]["nodes"].as_array().unwrap().len(), 1);
        let got = app
            .ok(Some(token), &attempt_q(), json!({"a": a["id"]}))
            .await;
        assert_eq!(got["quizAttempt"]["reviewAvailable"], true);
    }
    // Settings checks.
    let r = app
        .gql(
            Some(&f.trainer),
            CONFIGURE,
            json!({"l": f.quiz_lessons[0], "s": {"kind": "GRADED", "passingPercent": 120}}),
        )
        .await;
    assert_eq!(error_code(&r).as_deref(), Some("BAD_USER_INPUT"));
    assert_eq!(r["errors"][0]["extensions"]["field"], "passingPercent");
    let r = app
        .gql(
            Some(&f.trainer),
            CONFIGURE,
            json!({"l": f.text_lesson, "s": {"kind": "GRADED"}}),
        )
        .await;
    assert_eq!(r["errors"][0]["extensions"]["field"], "lessonId", "{r}");
    let r = app
        .gql(
            Some(&f.trainer),
            SET_QUESTIONS,
            json!({"q": quiz, "ids": [qs[0], qs[0]]}),
        )
        .await;
    assert_eq!(r["errors"][0]["extensions"]["field"], "questionIds");
    // A question of another course's bank cannot be used.
    let foreign = app
        .ok(
            Some(&other.trainer),
            CREATE_QUESTION,
            json!({"b": other.bank, "i": {"kind": "TRUE_FALSE", "prompt": "x", "truth": true}}),
        )
        .await;
    let r = app
        .gql(
            Some(&f.trainer),
            SET_QUESTIONS,
            json!({"q": quiz, "ids": [foreign["createQuestion"]["id"]]}),
        )
        .await;
    assert_eq!(r["errors"][0]["extensions"]["field"], "questionIds", "{r}");
    let _ = f.course;
}

/// A course reaches learners only with quizzes that can be taken. Submission names, in course
/// order, a quiz lesson without settings, one without questions and one that draws more than
/// its bank holds under the tag; the editors see the same list on the course (others see
/// `null`); once each is fixed the course goes to review. A quiz emptied while the course is in
/// review stops the approval until it has questions again.
#[tokio::test]
async fn publication_waits_for_ready_quizzes() {
    const READINESS: &str = "query($id: ID!) { course(id: $id) { readinessProblems } }";
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let (trainer, course, module) = draft(&app, &admin, "KUIS-SIAP").await;
    let (_, learner) = app
        .signed_in(&admin, "peserta-siap@bkpsdm.go.id", &[], None)
        .await;
    let lesson = |title: &'static str, kind: &'static str| {
        let (app, trainer, module) = (&app, trainer.clone(), module.clone());
        async move {
            let mut input = json!({"title": title, "kind": kind});
            if kind == "TEXT" {
                input["body"] = json!("# Kode etik");
            }
            s(&app
                .ok(
                    Some(&trainer),
                    CREATE_LESSON,
                    json!({"m": module, "i": input}),
                )
                .await["createLesson"]["id"])
        }
    };
    let pre = lesson("Pre-test", "QUIZ").await;
    lesson("Kode etik", "TEXT").await;
    let practice = lesson("Latihan", "QUIZ").await;
    let post = lesson("Post-test", "QUIZ").await;
    let bank = s(&app
        .ok(
            Some(&trainer),
            CREATE_BANK,
            json!({"i": {"courseId": course, "title": "Bank etika"}}),
        )
        .await["createQuestionBank"]["id"]);
    let question = |prompt: &'static str, tags: &'static [&'static str]| {
        let (app, trainer, bank) = (&app, trainer.clone(), bank.clone());
        async move {
            s(&app
                .ok(
                    Some(&trainer),
                    CREATE_QUESTION,
                    json!({"b": bank, "i": {"kind": "TRUE_FALSE", "prompt": prompt, "truth": true, "tags": tags}}),
                )
                .await["createQuestion"]["id"])
        }
    };
    let tagged = question("ASN menjunjung kode etik.", &["etika"]).await;
    let plain = question("JP dicatat per tahun.", &[]).await;
    let configure = |lesson: String, settings: Value| {
        let (app, trainer) = (&app, trainer.clone());
        async move {
            s(&app
                .ok(
                    Some(&trainer),
                    CONFIGURE,
                    json!({"l": lesson, "s": settings}),
                )
                .await["configureQuiz"]["id"])
        }
    };
    let practice_quiz = configure(practice.clone(), json!({"kind": "PRACTICE"})).await;
    configure(
        post.clone(),
        json!({"kind": "POST_TEST", "drawBankId": bank, "drawCount": 2, "drawTag": "Etika"}),
    )
    .await;

    let expected = [
        "quiz \"Pre-test\" has no settings yet",
        "quiz \"Latihan\" has no questions yet",
        "quiz \"Post-test\" draws 2 questions but its bank has 1 active tagged \"etika\"",
    ];
    let seen = app
        .ok(Some(&trainer), READINESS, json!({"id": course}))
        .await;
    assert_eq!(
        seen["course"]["readinessProblems"],
        json!(expected),
        "{seen}"
    );
    let by_admin = app.ok(Some(&admin), READINESS, json!({"id": course})).await;
    assert_eq!(by_admin["course"]["readinessProblems"], json!(expected));
    let submitted = app
        .gql(Some(&trainer), SUBMIT_COURSE, json!({"id": course}))
        .await;
    assert_eq!(
        error_code(&submitted).as_deref(),
        Some("CONFLICT"),
        "{submitted}"
    );
    let message = submitted["errors"][0]["message"]
        .as_str()
        .unwrap_or_default();
    assert_eq!(
        message,
        format!("not ready for learners: {}", expected.join("; ")),
        "{submitted}"
    );

    // Each fixed in turn; the list shrinks as it goes.
    let pre_quiz = configure(pre.clone(), json!({"kind": "PRE_TEST"})).await;
    app.ok(
        Some(&trainer),
        SET_QUESTIONS,
        json!({"q": pre_quiz, "ids": [tagged, plain]}),
    )
    .await;
    app.ok(
        Some(&trainer),
        SET_QUESTIONS,
        json!({"q": practice_quiz, "ids": [plain]}),
    )
    .await;
    let seen = app
        .ok(Some(&trainer), READINESS, json!({"id": course}))
        .await;
    assert_eq!(
        seen["course"]["readinessProblems"],
        json!(&expected[2..]),
        "{seen}"
    );
    configure(
        post.clone(),
        json!({"kind": "POST_TEST", "drawBankId": bank, "drawCount": 1, "drawTag": "etika"}),
    )
    .await;
    let seen = app
        .ok(Some(&trainer), READINESS, json!({"id": course}))
        .await;
    assert_eq!(seen["course"]["readinessProblems"], json!([]), "{seen}");
    let submitted = app
        .ok(Some(&trainer), SUBMIT_COURSE, json!({"id": course}))
        .await;
    assert_eq!(submitted["submitCourseForReview"]["state"], "IN_REVIEW");

    // Emptied during review: the approval names it, and goes through once it is filled again.
    app.ok(
        Some(&trainer),
        SET_QUESTIONS,
        json!({"q": practice_quiz, "ids": []}),
    )
    .await;
    let approved = app.gql(Some(&admin), APPROVE, json!({"id": course})).await;
    assert_eq!(
        error_code(&approved).as_deref(),
        Some("CONFLICT"),
        "{approved}"
    );
    assert_eq!(
        approved["errors"][0]["message"],
        "not ready for learners: quiz \"Latihan\" has no questions yet"
    );
    app.ok(
        Some(&trainer),
        SET_QUESTIONS,
        json!({"q": practice_quiz, "ids": [tagged]}),
    )
    .await;
    let approved = app.ok(Some(&admin), APPROVE, json!({"id": course})).await;
    assert_eq!(approved["approveCourse"]["state"], "PUBLISHED");
    let seen = app
        .ok(Some(&learner), READINESS, json!({"id": course}))
        .await;
    assert_eq!(seen["course"]["readinessProblems"], Value::Null, "{seen}");
}

/// A quiz's attempts come newest first in cursor pages, for its editors: pages follow each
/// other without a gap or a repeat, one learner's or one state's attempts can be asked for, and
/// a bad page request or a learner's request is refused.
#[tokio::test]
async fn a_quiz_s_attempts_come_in_cursor_pages() {
    const LIST: &str = "query($q: ID!, $p: ID, $s: AttemptState, $n: Int, $a: String) { quizAttempts(quizId: $q, personId: $p, state: $s, first: $n, after: $a) { nodes { id personId state } pageInfo { hasNextPage endCursor } } }";
    let app = TestApp::spawn().await;
    let f = fixture(&app, "KUIS-HAL", 1).await;
    let q = question(
        &app,
        &f,
        json!({"kind": "TRUE_FALSE", "prompt": "ASN wajib 20 JP setahun.", "truth": true}),
    )
    .await;
    let quiz = configure(&app, &f, &f.quiz_lessons[0], json!({"kind": "PRACTICE"})).await;
    app.ok(
        Some(&f.trainer),
        SET_QUESTIONS,
        json!({"q": quiz, "ids": [q["id"]]}),
    )
    .await;
    publish(&app, &f, &[&f.quiz_lessons[0]]).await;
    let (ana_id, ana) = learner(&app, &f, "ana").await;
    let (budi_id, budi) = learner(&app, &f, "budi").await;
    let (_, citra) = learner(&app, &f, "citra").await;
    // Started in this order: Ana's first (submitted), Budi's (submitted), Ana's second and
    // Citra's (both open).
    let mut started = Vec::new();
    for (token, submit) in [(&ana, true), (&budi, true), (&ana, false), (&citra, false)] {
        let a =
            app.ok(Some(token), &start_q(), json!({"q": quiz})).await["startQuizAttempt"].clone();
        if submit {
            app.ok(Some(token), &submit_q(), json!({"a": a["id"]}))
                .await;
        }
        started.push(s(&a["id"]));
    }
    let newest_first: Vec<String> = started.iter().rev().cloned().collect();
    let list = |vars: Value| {
        let (app, trainer) = (&app, f.trainer.clone());
        async move { app.ok(Some(&trainer), LIST, vars).await["quizAttempts"].clone() }
    };
    let ids = |page: &Value| -> Vec<String> {
        page["nodes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|n| s(&n["id"]))
            .collect()
    };

    let first = list(json!({"q": quiz, "n": 3})).await;
    assert_eq!(ids(&first), newest_first[..3], "{first}");
    assert_eq!(first["pageInfo"]["hasNextPage"], true);
    let rest = list(json!({"q": quiz, "n": 3, "a": first["pageInfo"]["endCursor"]})).await;
    assert_eq!(ids(&rest), newest_first[3..], "{rest}");
    assert_eq!(rest["pageInfo"]["hasNextPage"], false);

    let anas = list(json!({"q": quiz, "p": ana_id})).await;
    assert_eq!(
        ids(&anas),
        [started[2].clone(), started[0].clone()],
        "{anas}"
    );
    let open = list(json!({"q": quiz, "s": "OPEN"})).await;
    assert_eq!(
        ids(&open),
        [started[3].clone(), started[2].clone()],
        "{open}"
    );
    let budis_graded = list(json!({"q": quiz, "p": budi_id, "s": "GRADED"})).await;
    assert_eq!(ids(&budis_graded), [started[1].clone()], "{budis_graded}");
    assert!(
        budis_graded["nodes"]
            .as_array()
            .unwrap()
            .iter()
            .all(|n| n["personId"] == budi_id.as_str() && n["state"] == "GRADED")
    );

    for (vars, code) in [
        (json!({"q": quiz, "n": 0}), "BAD_USER_INPUT"),
        (json!({"q": quiz, "n": 101}), "BAD_USER_INPUT"),
        (
            json!({"q": quiz, "a": "bm90LWEtY3Vyc29y"}),
            "BAD_USER_INPUT",
        ),
        (json!({"q": quiz, "a": "%%%"}), "BAD_USER_INPUT"),
        (json!({"q": quiz, "p": "someone"}), "BAD_USER_INPUT"),
    ] {
        let r = app.gql(Some(&f.trainer), LIST, vars.clone()).await;
        assert_eq!(error_code(&r).as_deref(), Some(code), "{vars}: {r}");
    }
    let r = app.gql(Some(&ana), LIST, json!({"q": quiz})).await;
    assert_eq!(error_code(&r).as_deref(), Some("FORBIDDEN"), "{r}");
}
