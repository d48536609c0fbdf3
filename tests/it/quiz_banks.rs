//! Question banks and question authoring from the outside: the six kinds written and read back,
//! bad input with its code and field, editing in place before any attempt, who may touch a
//! course bank, shared banks lent to courses (audited), and statement counts of a page.
//!
//! Editing a question that has been given in an attempt writes a new version; the attempt keeps
//! the old one (its prompt and its key), and `quiz::bank` tests the same decision directly.

use std::sync::{Arc, Mutex};

use crate::fixtures::reports::{CONFIGURE, SAVE, SET_QUESTIONS, START};
use lms_tests::{Options, TestApp, error_code};
use serde_json::{Value, json};

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

const BANK_FIELDS: &str =
    "id title shared canEdit archived questionCount course { id } lentTo { course { id } lentAt }";
const QUESTION_FIELDS: &str = "id kind prompt points version tags archived options { id text correct } scoring truth accepted caseSensitive value tolerance pairs { id left rightId right } versions { id number current kind prompt points createdAt } bank { id canEdit }";

fn create_bank_q() -> String {
    format!(
        "mutation($i: CreateQuestionBankInput!) {{ createQuestionBank(input: $i) {{ {BANK_FIELDS} }} }}"
    )
}
fn bank_q() -> String {
    format!("query($id: ID!) {{ questionBank(id: $id) {{ {BANK_FIELDS} }} }}")
}
fn banks_q() -> String {
    format!(
        "query($c: ID!, $a: Boolean) {{ questionBanks(courseId: $c, includeArchived: $a) {{ {BANK_FIELDS} }} }}"
    )
}
fn shared_q() -> String {
    format!("query {{ sharedQuestionBanks {{ {BANK_FIELDS} }} }}")
}
fn create_question_q() -> String {
    format!(
        "mutation($b: ID!, $i: CreateQuestionInput!) {{ createQuestion(bankId: $b, input: $i) {{ {QUESTION_FIELDS} }} }}"
    )
}
fn update_question_q() -> String {
    format!(
        "mutation($id: ID!, $i: UpdateQuestionInput!) {{ updateQuestion(id: $id, input: $i) {{ {QUESTION_FIELDS} }} }}"
    )
}
fn question_q() -> String {
    format!("query($id: ID!) {{ question(id: $id) {{ {QUESTION_FIELDS} }} }}")
}
fn page_q() -> String {
    format!(
        "query($id: ID!, $tag: String, $a: Boolean, $first: Int, $after: String) {{ questionBank(id: $id) {{ questions(tag: $tag, includeArchived: $a, first: $first, after: $after) {{ edges {{ cursor node {{ {QUESTION_FIELDS} }} }} pageInfo {{ hasNextPage endCursor }} }} }} }}"
    )
}
const RENAME: &str =
    "mutation($id: ID!, $t: String!) { renameQuestionBank(id: $id, title: $t) { id title } }";
const ARCHIVE_BANK: &str = "mutation($id: ID!) { archiveQuestionBank(id: $id) { id archived } }";
const RESTORE_BANK: &str = "mutation($id: ID!) { restoreQuestionBank(id: $id) { id archived } }";
const ARCHIVE_Q: &str = "mutation($id: ID!) { archiveQuestion(id: $id) { id archived } }";
const RESTORE_Q: &str = "mutation($id: ID!) { restoreQuestion(id: $id) { id archived } }";
const LEND: &str = "mutation($b: ID!, $c: ID!) { lendQuestionBank(bankId: $b, courseId: $c) { id lentTo { course { id } } } }";
const RETURN: &str = "mutation($b: ID!, $c: ID!) { returnQuestionBank(bankId: $b, courseId: $c) { id lentTo { course { id } } } }";

fn id(v: &Value) -> String {
    v.as_str()
        .unwrap_or_else(|| panic!("an id, got {v}"))
        .to_owned()
}

fn field(body: &Value) -> Option<&str> {
    body["errors"][0]["extensions"]["field"].as_str()
}

fn code(body: &Value) -> String {
    error_code(body).unwrap_or_else(|| format!("no error in {body}"))
}

fn is_uuid(v: &Value) -> bool {
    v.as_str().is_some_and(|s| uuid::Uuid::parse_str(s).is_ok())
}

async fn audit_actions(app: &TestApp) -> Vec<String> {
    use sea_orm::{EntityTrait, QueryOrder};
    identity::entity::audit_log::Entity::find()
        .order_by_asc(identity::entity::audit_log::Column::At)
        .all(&app.server.state.db)
        .await
        .unwrap()
        .into_iter()
        .map(|a| a.action)
        .collect()
}

/// The people of these tests and one draft course owned by `trainer`.
struct Cast {
    admin: String,
    trainer: String,
    other: String,
    learner: String,
    course: String,
}

async fn cast(app: &TestApp) -> Cast {
    let admin = app.admin().await;
    let (_, trainer) = app
        .signed_in(&admin, "widyaiswara@bkpsdm.go.id", &["TRAINER"], None)
        .await;
    let (_, other) = app
        .signed_in(&admin, "narasumber@dinkes.go.id", &["TRAINER"], None)
        .await;
    let (_, learner) = app
        .signed_in(&admin, "asn@dinkes.go.id", &["LEARNER"], None)
        .await;
    let course = course(app, &trainer, "ETIKA-2026").await;
    Cast {
        admin,
        trainer,
        other,
        learner,
        course,
    }
}

async fn course(app: &TestApp, trainer: &str, code: &str) -> String {
    id(&app
        .ok(
            Some(trainer),
            CREATE_COURSE,
            json!({"i": {"code": code, "title": "Etika Publik", "competencyType": "MANAGERIAL", "jpCredit": 10}}),
        )
        .await["createCourse"]["id"])
}

/// Publishes `course` (one text lesson) and enrolls `learner` in a new cohort of it.
async fn enrolled(app: &TestApp, c: &Cast, course: &str, learner: &str) {
    let m = id(&app
        .ok(
            Some(&c.trainer),
            CREATE_MODULE,
            json!({"c": course, "i": {"title": "Modul 1"}}),
        )
        .await["createModule"]["id"]);
    app.ok(
        Some(&c.trainer),
        CREATE_LESSON,
        json!({"m": m, "i": {"title": "Pengantar", "kind": "TEXT", "body": "# Pengantar\n\nIsi."}}),
    )
    .await;
    app.ok(Some(&c.trainer), SUBMIT, json!({ "id": course }))
        .await;
    app.ok(Some(&c.admin), APPROVE_COURSE, json!({ "id": course }))
        .await;
    let cohort = id(&app
        .ok(
            Some(&c.trainer),
            CREATE_COHORT,
            json!({"c": course, "i": {"name": "Angkatan I"}}),
        )
        .await["createCohort"]["id"]);
    let e = app.ok(Some(learner), ENROLL, json!({ "c": cohort })).await;
    assert_eq!(e["enroll"]["state"], "ACTIVE");
}

async fn bank(app: &TestApp, token: &str, course: Option<&str>, title: &str) -> String {
    id(&app
        .ok(
            Some(token),
            &create_bank_q(),
            json!({"i": {"courseId": course, "title": title}}),
        )
        .await["createQuestionBank"]["id"])
}

async fn question(app: &TestApp, token: &str, bank: &str, input: Value) -> Value {
    app.ok(
        Some(token),
        &create_question_q(),
        json!({"b": bank, "i": input}),
    )
    .await["createQuestion"]
        .clone()
}

fn single_choice() -> Value {
    json!({
        "kind": "SINGLE_CHOICE",
        "prompt": "Nilai dasar ASN yang berarti berorientasi pelayanan adalah…",
        "tags": [" BerAKHLAK ", "Nilai Dasar", "berakhlak"],
        "options": [
            {"text": "Berorientasi Pelayanan", "correct": true},
            {"text": "Akuntabel"},
            {"text": "Kompeten"}
        ]
    })
}

#[tokio::test]
async fn each_question_kind_is_written_and_read_back_with_its_key() {
    let app = TestApp::spawn().await;
    let c = cast(&app).await;
    let b = bank(&app, &c.trainer, Some(&c.course), "  Bank Etika  ").await;
    let created_bank = app
        .ok(Some(&c.trainer), &bank_q(), json!({ "id": b }))
        .await;
    let created_bank = &created_bank["questionBank"];
    assert_eq!(created_bank["title"], "Bank Etika");
    assert_eq!(created_bank["shared"], false);
    assert_eq!(created_bank["canEdit"], true);
    assert_eq!(created_bank["course"]["id"], json!(c.course));
    assert_eq!(created_bank["lentTo"], Value::Null, "loans are for admins");

    // Single choice: ids made by the server, tags normalised, points default 1.
    let single = question(&app, &c.trainer, &b, single_choice()).await;
    assert_eq!(single["kind"], "SINGLE_CHOICE");
    assert_eq!(single["points"], 1.0);
    assert_eq!(single["version"], 1);
    assert_eq!(single["tags"], json!(["berakhlak", "nilai dasar"]));
    let options = single["options"].as_array().unwrap();
    assert_eq!(options.len(), 3);
    assert!(options.iter().all(|o| is_uuid(&o["id"])), "{options:?}");
    assert_eq!(
        options
            .iter()
            .map(|o| o["correct"].as_bool().unwrap())
            .collect::<Vec<_>>(),
        vec![true, false, false]
    );
    assert_eq!(single["truth"], Value::Null);
    assert_eq!(single["pairs"], Value::Null);

    let multiple = question(
        &app,
        &c.trainer,
        &b,
        json!({
            "kind": "MULTIPLE_CHOICE", "prompt": "Mana yang termasuk nilai BerAKHLAK?", "points": 2.5,
            "scoring": "PARTIAL",
            "options": [
                {"text": "Harmonis", "correct": true},
                {"text": "Loyal", "correct": true},
                {"text": "Birokratis", "correct": false}
            ]
        }),
    )
    .await;
    assert_eq!(multiple["kind"], "MULTIPLE_CHOICE");
    assert_eq!(multiple["scoring"], "PARTIAL");
    assert_eq!(multiple["points"], 2.5);

    let truth = question(
        &app,
        &c.trainer,
        &b,
        json!({"kind": "TRUE_FALSE", "prompt": "ASN wajib netral dalam pemilu.", "truth": true}),
    )
    .await;
    assert_eq!(truth["truth"], true);
    assert_eq!(truth["options"], Value::Null);

    let text = question(
        &app,
        &c.trainer,
        &b,
        json!({"kind": "SHORT_TEXT", "prompt": "Singkatan lembaga pengelola kepegawaian daerah?", "accepted": ["  BKPSDM ", "bkpsdm", "Badan Kepegawaian"]}),
    )
    .await;
    assert_eq!(text["accepted"], json!(["bkpsdm", "badan kepegawaian"]));
    assert_eq!(text["caseSensitive"], false);

    let numeric = question(
        &app,
        &c.trainer,
        &b,
        json!({"kind": "NUMERIC", "prompt": "JP minimal pengembangan kompetensi per tahun?", "value": 20, "tolerance": 0.5, "tags": ["JP"]}),
    )
    .await;
    assert_eq!(
        (numeric["value"].as_f64(), numeric["tolerance"].as_f64()),
        (Some(20.0), Some(0.5))
    );

    let matching = question(
        &app,
        &c.trainer,
        &b,
        json!({"kind": "MATCHING", "prompt": "Pasangkan perangkat daerah dengan urusannya.", "pairs": [
            {"left": "Dinkes", "right": "Kesehatan"},
            {"left": "Disdik", "right": "Pendidikan"},
            {"left": "Bapenda", "right": "Pajak daerah"}
        ]}),
    )
    .await;
    let pairs = matching["pairs"].as_array().unwrap();
    assert_eq!(pairs.len(), 3);
    assert!(
        pairs
            .iter()
            .all(|p| is_uuid(&p["id"]) && is_uuid(&p["rightId"]) && p["id"] != p["rightId"])
    );
    assert_eq!(pairs[0]["left"], "Dinkes");
    assert_eq!(pairs[0]["right"], "Kesehatan");

    // Read back one by one, and as a page in the order written.
    for q in [&single, &multiple, &truth, &text, &numeric, &matching] {
        let read = app
            .ok(Some(&c.trainer), &question_q(), json!({ "id": q["id"] }))
            .await;
        assert_eq!(&read["question"], q);
    }
    let page = app
        .ok(Some(&c.trainer), &page_q(), json!({ "id": b, "first": 4 }))
        .await;
    let conn = &page["questionBank"]["questions"];
    let ids: Vec<&Value> = conn["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| &e["node"]["id"])
        .collect();
    assert_eq!(
        ids,
        vec![&single["id"], &multiple["id"], &truth["id"], &text["id"]]
    );
    assert_eq!(conn["pageInfo"]["hasNextPage"], true);
    let rest = app
        .ok(
            Some(&c.trainer),
            &page_q(),
            json!({ "id": b, "first": 4, "after": conn["pageInfo"]["endCursor"] }),
        )
        .await;
    let rest = &rest["questionBank"]["questions"];
    assert_eq!(rest["edges"].as_array().unwrap().len(), 2);
    assert_eq!(rest["pageInfo"]["hasNextPage"], false);

    // The tag filter is normalised like tags.
    let tagged = app
        .ok(
            Some(&c.trainer),
            &page_q(),
            json!({ "id": b, "tag": "  BERAKHLAK" }),
        )
        .await;
    let tagged = tagged["questionBank"]["questions"]["edges"]
        .as_array()
        .unwrap();
    assert_eq!(tagged.len(), 1);
    assert_eq!(tagged[0]["node"]["id"], single["id"]);

    // The course lists its bank with the number of questions.
    let banks = app
        .ok(Some(&c.trainer), &banks_q(), json!({ "c": c.course }))
        .await;
    assert_eq!(banks["questionBanks"][0]["id"], json!(b));
    assert_eq!(banks["questionBanks"][0]["questionCount"], 6);
}

#[tokio::test]
async fn bad_question_input_is_refused_with_its_code_and_field() {
    let app = TestApp::spawn().await;
    let c = cast(&app).await;
    let b = bank(&app, &c.trainer, Some(&c.course), "Bank Etika").await;
    let create = |input: Value| {
        let app = &app;
        let token = c.trainer.clone();
        let b = b.clone();
        async move {
            app.gql(
                Some(&token),
                &create_question_q(),
                json!({"b": b, "i": input}),
            )
            .await
        }
    };

    let cases = [
        (
            json!({"kind": "SINGLE_CHOICE", "prompt": "Dua benar?", "options": [{"text": "a", "correct": true}, {"text": "b", "correct": true}]}),
            "options",
        ),
        (
            json!({"kind": "NUMERIC", "prompt": "Berapa?", "value": 3, "tolerance": -0.5}),
            "tolerance",
        ),
        (
            json!({"kind": "TRUE_FALSE", "prompt": "   ", "truth": true}),
            "prompt",
        ),
        (
            json!({"kind": "SINGLE_CHOICE", "prompt": "Salah jenis", "truth": true, "options": [{"text": "a", "correct": true}, {"text": "b"}]}),
            "truth",
        ),
        (
            json!({"kind": "NUMERIC", "prompt": "Tanpa nilai", "tolerance": 1}),
            "value",
        ),
        (
            json!({"kind": "TRUE_FALSE", "prompt": "Poin nol", "truth": false, "points": 0}),
            "points",
        ),
        (
            json!({"kind": "TRUE_FALSE", "prompt": "Tag panjang", "truth": false, "tags": ["x".repeat(51)]}),
            "tags",
        ),
        (
            json!({"kind": "SINGLE_CHOICE", "prompt": "Id dari klien", "options": [{"id": uuid::Uuid::new_v4().to_string(), "text": "a", "correct": true}, {"text": "b"}]}),
            "options",
        ),
        (
            json!({"kind": "SINGLE_CHOICE", "prompt": "Id rusak", "options": [{"id": "bukan-id", "text": "a", "correct": true}, {"text": "b"}]}),
            "options",
        ),
    ];
    for (input, expected) in cases {
        let r = create(input.clone()).await;
        assert_eq!(code(&r), "BAD_USER_INPUT", "{input} -> {r}");
        assert_eq!(field(&r), Some(expected), "{input} -> {r}");
    }
    // Nothing was written.
    let banks = app
        .ok(Some(&c.trainer), &banks_q(), json!({ "c": c.course }))
        .await;
    assert_eq!(banks["questionBanks"][0]["questionCount"], 0);

    // On edit: an option id that is not one of the current version's, and a misfitting field.
    let q = question(&app, &c.trainer, &b, single_choice()).await;
    let kept = q["options"][0]["id"].clone();
    let r = app
        .gql(
            Some(&c.trainer),
            &update_question_q(),
            json!({"id": q["id"], "i": {"options": [
                {"id": kept, "text": "Berorientasi Pelayanan", "correct": true},
                {"id": uuid::Uuid::new_v4().to_string(), "text": "Akuntabel"}
            ]}}),
        )
        .await;
    assert_eq!(code(&r), "BAD_USER_INPUT", "{r}");
    assert_eq!(field(&r), Some("options"), "{r}");
    let r = app
        .gql(
            Some(&c.trainer),
            &update_question_q(),
            json!({"id": q["id"], "i": {"tolerance": 1}}),
        )
        .await;
    assert_eq!(field(&r), Some("tolerance"), "{r}");
    // A new kind needs its key.
    let r = app
        .gql(
            Some(&c.trainer),
            &update_question_q(),
            json!({"id": q["id"], "i": {"kind": "TRUE_FALSE"}}),
        )
        .await;
    assert_eq!(field(&r), Some("truth"), "{r}");
    // The question is as it was.
    let read = app
        .ok(Some(&c.trainer), &question_q(), json!({ "id": q["id"] }))
        .await;
    assert_eq!(read["question"], q);

    // Unknown ids and malformed ids.
    let r = app
        .gql(
            Some(&c.trainer),
            &question_q(),
            json!({ "id": uuid::Uuid::new_v4().to_string() }),
        )
        .await;
    assert_eq!(code(&r), "NOT_FOUND", "{r}");
    let r = create(json!({"kind": "TRUE_FALSE", "prompt": "x", "truth": true})).await;
    assert!(r.get("errors").is_none(), "{r}");
    let r = app
        .gql(
            Some(&c.trainer),
            &create_question_q(),
            json!({"b": "nope", "i": {"kind": "TRUE_FALSE", "prompt": "x", "truth": true}}),
        )
        .await;
    assert_eq!(field(&r), Some("bankId"), "{r}");
    let r = app
        .gql(
            Some(&c.trainer),
            &create_bank_q(),
            json!({"i": {"courseId": c.course, "title": " "}}),
        )
        .await;
    assert_eq!(field(&r), Some("title"), "{r}");
}

#[tokio::test]
async fn editing_an_unanswered_question_changes_version_one_in_place() {
    let app = TestApp::spawn().await;
    let c = cast(&app).await;
    let b = bank(&app, &c.trainer, Some(&c.course), "Bank Etika").await;
    let q = question(&app, &c.trainer, &b, single_choice()).await;
    let kept = q["options"][0]["id"].clone();
    let dropped = q["options"][2]["id"].clone();

    let edited = app
        .ok(
            Some(&c.trainer),
            &update_question_q(),
            json!({"id": q["id"], "i": {
                "prompt": "Nilai BerAKHLAK yang berarti melayani masyarakat adalah…",
                "points": 2,
                "tags": ["pelayanan"],
                "options": [
                    {"id": kept, "text": "Berorientasi Pelayanan", "correct": true},
                    {"text": "Adaptif"},
                    {"id": q["options"][1]["id"], "text": "Akuntabel"}
                ]
            }}),
        )
        .await["updateQuestion"]
        .clone();
    assert_eq!(edited["version"], 1, "never given: still version 1");
    assert_eq!(edited["points"], 2.0);
    assert_eq!(edited["tags"], json!(["pelayanan"]));
    let options = edited["options"].as_array().unwrap();
    assert_eq!(options[0]["id"], kept);
    assert_eq!(options[2]["id"], q["options"][1]["id"]);
    assert!(is_uuid(&options[1]["id"]));
    assert!(options.iter().all(|o| o["id"] != dropped));
    let versions = edited["versions"].as_array().unwrap();
    assert_eq!(versions.len(), 1);
    assert_eq!(versions[0]["number"], 1);
    assert_eq!(versions[0]["current"], true);
    assert_eq!(versions[0]["id"], q["versions"][0]["id"]);
    assert_eq!(versions[0]["prompt"], edited["prompt"]);

    // Changing the kind with its key, also in place.
    let tf = app
        .ok(
            Some(&c.trainer),
            &update_question_q(),
            json!({"id": q["id"], "i": {"kind": "TRUE_FALSE", "truth": false}}),
        )
        .await["updateQuestion"]
        .clone();
    assert_eq!(tf["kind"], "TRUE_FALSE");
    assert_eq!(tf["truth"], false);
    assert_eq!(tf["options"], Value::Null);
    assert_eq!(tf["version"], 1);

    // Archived: out of the default list and the count, still readable, back when restored.
    app.ok(Some(&c.trainer), ARCHIVE_Q, json!({ "id": q["id"] }))
        .await;
    let page = app
        .ok(Some(&c.trainer), &page_q(), json!({ "id": b }))
        .await;
    assert_eq!(
        page["questionBank"]["questions"]["edges"],
        json!([]),
        "archived questions are listed only on request"
    );
    let page = app
        .ok(Some(&c.trainer), &page_q(), json!({ "id": b, "a": true }))
        .await;
    assert_eq!(
        page["questionBank"]["questions"]["edges"][0]["node"]["archived"],
        true
    );
    let r = app
        .gql(
            Some(&c.trainer),
            &update_question_q(),
            json!({"id": q["id"], "i": {"points": 3}}),
        )
        .await;
    assert_eq!(code(&r), "CONFLICT", "{r}");
    let restored = app
        .ok(Some(&c.trainer), RESTORE_Q, json!({ "id": q["id"] }))
        .await;
    assert_eq!(restored["restoreQuestion"]["archived"], false);

    // A renamed, then archived bank takes no new question until restored.
    let r = app
        .ok(
            Some(&c.trainer),
            RENAME,
            json!({"id": b, "t": "Bank Etika Publik"}),
        )
        .await;
    assert_eq!(r["renameQuestionBank"]["title"], "Bank Etika Publik");
    app.ok(Some(&c.trainer), ARCHIVE_BANK, json!({ "id": b }))
        .await;
    let banks = app
        .ok(Some(&c.trainer), &banks_q(), json!({ "c": c.course }))
        .await;
    assert_eq!(banks["questionBanks"], json!([]));
    let banks = app
        .ok(
            Some(&c.trainer),
            &banks_q(),
            json!({ "c": c.course, "a": true }),
        )
        .await;
    assert_eq!(banks["questionBanks"][0]["archived"], true);
    let r = app
        .gql(
            Some(&c.trainer),
            &create_question_q(),
            json!({"b": b, "i": {"kind": "TRUE_FALSE", "prompt": "x", "truth": true}}),
        )
        .await;
    assert_eq!(code(&r), "CONFLICT", "{r}");
    app.ok(Some(&c.trainer), RESTORE_BANK, json!({ "id": b }))
        .await;
    question(
        &app,
        &c.trainer,
        &b,
        json!({"kind": "TRUE_FALSE", "prompt": "x", "truth": true}),
    )
    .await;
}

#[tokio::test]
async fn a_trainer_cannot_touch_another_trainers_course_bank() {
    let app = TestApp::spawn().await;
    let c = cast(&app).await;
    let b = bank(&app, &c.trainer, Some(&c.course), "Bank Etika").await;
    let q = question(&app, &c.trainer, &b, single_choice()).await;

    let attempts: Vec<(String, Value)> = vec![
        (
            create_bank_q(),
            json!({"i": {"courseId": c.course, "title": "Punya saya"}}),
        ),
        (bank_q(), json!({ "id": b })),
        (banks_q(), json!({ "c": c.course })),
        (page_q(), json!({ "id": b })),
        (question_q(), json!({ "id": q["id"] })),
        (
            create_question_q(),
            json!({"b": b, "i": {"kind": "TRUE_FALSE", "prompt": "x", "truth": true}}),
        ),
        (
            update_question_q(),
            json!({"id": q["id"], "i": {"prompt": "diubah"}}),
        ),
        (ARCHIVE_Q.into(), json!({ "id": q["id"] })),
        (RENAME.into(), json!({"id": b, "t": "diubah"})),
        (ARCHIVE_BANK.into(), json!({ "id": b })),
    ];
    for (query, vars) in &attempts {
        let r = app.gql(Some(&c.other), query, vars.clone()).await;
        assert_eq!(code(&r), "FORBIDDEN", "{query} -> {r}");
    }
    // Nothing changed, and only the owner's own work is there (not audited).
    let read = app
        .ok(Some(&c.trainer), &question_q(), json!({ "id": q["id"] }))
        .await;
    assert_eq!(read["question"], q);
    assert!(
        !audit_actions(&app)
            .await
            .iter()
            .any(|a| a.starts_with("question")),
        "a trainer's own banks are their business"
    );

    // An admin may edit it; a change to someone else's course bank is audited.
    let edited = app
        .ok(
            Some(&c.admin),
            &update_question_q(),
            json!({"id": q["id"], "i": {"points": 2}}),
        )
        .await;
    assert_eq!(edited["updateQuestion"]["points"], 2.0);
    assert_eq!(edited["updateQuestion"]["bank"]["canEdit"], true);
    let audit = audit_actions(&app).await;
    assert!(audit.iter().any(|a| a == "question.update"), "{audit:?}");
}

#[tokio::test]
async fn a_learner_sees_no_bank_and_no_question() {
    let app = TestApp::spawn().await;
    let c = cast(&app).await;
    let b = bank(&app, &c.trainer, Some(&c.course), "Bank Etika").await;
    let q = question(&app, &c.trainer, &b, single_choice()).await;
    let shared = bank(&app, &c.admin, None, "Bank bersama").await;
    app.ok(Some(&c.admin), LEND, json!({"b": shared, "c": c.course}))
        .await;
    // Enrolled in the very course: still nothing.
    enrolled(&app, &c, &c.course, &c.learner).await;

    let attempts: Vec<(String, Value)> = vec![
        (banks_q(), json!({ "c": c.course })),
        (shared_q(), json!({})),
        (bank_q(), json!({ "id": b })),
        (bank_q(), json!({ "id": shared })),
        (page_q(), json!({ "id": b })),
        (question_q(), json!({ "id": q["id"] })),
        (
            create_bank_q(),
            json!({"i": {"courseId": c.course, "title": "x"}}),
        ),
        (create_bank_q(), json!({"i": {"title": "x"}})),
        (
            create_question_q(),
            json!({"b": b, "i": {"kind": "TRUE_FALSE", "prompt": "x", "truth": true}}),
        ),
        (
            update_question_q(),
            json!({"id": q["id"], "i": {"prompt": "x"}}),
        ),
        (LEND.into(), json!({"b": shared, "c": c.course})),
    ];
    for (query, vars) in &attempts {
        let r = app.gql(Some(&c.learner), query, vars.clone()).await;
        assert!(
            matches!(code(&r).as_str(), "FORBIDDEN" | "NOT_FOUND"),
            "{query} -> {r}"
        );
        assert!(
            r["data"].is_null() || !r.to_string().contains("correct"),
            "{r}"
        );
    }
    // Anonymous callers are told to sign in.
    let r = app.gql(None, &question_q(), json!({ "id": q["id"] })).await;
    assert_eq!(code(&r), "UNAUTHENTICATED", "{r}");
}

#[tokio::test]
async fn a_shared_bank_is_edited_by_admins_and_read_by_the_trainers_of_courses_it_is_lent_to() {
    let app = TestApp::spawn().await;
    let c = cast(&app).await;
    let other_course = course(&app, &c.other, "K3-2026").await;

    // Only admins make shared banks.
    let r = app
        .gql(
            Some(&c.trainer),
            &create_bank_q(),
            json!({"i": {"title": "Bank bersama"}}),
        )
        .await;
    assert_eq!(code(&r), "FORBIDDEN", "{r}");
    let shared = bank(&app, &c.admin, None, "Bank BerAKHLAK").await;
    let q = question(&app, &c.admin, &shared, single_choice()).await;
    let listed = app.ok(Some(&c.admin), &shared_q(), json!({})).await;
    assert_eq!(listed["sharedQuestionBanks"][0]["id"], json!(shared));
    assert_eq!(listed["sharedQuestionBanks"][0]["shared"], true);
    assert_eq!(listed["sharedQuestionBanks"][0]["lentTo"], json!([]));
    let r = app.gql(Some(&c.trainer), &shared_q(), json!({})).await;
    assert_eq!(code(&r), "FORBIDDEN", "{r}");

    // Before the loan the trainer sees nothing of it.
    let r = app
        .gql(Some(&c.trainer), &bank_q(), json!({ "id": shared }))
        .await;
    assert_eq!(code(&r), "FORBIDDEN", "{r}");
    let r = app
        .gql(Some(&c.trainer), &question_q(), json!({ "id": q["id"] }))
        .await;
    assert_eq!(code(&r), "FORBIDDEN", "{r}");
    let banks = app
        .ok(Some(&c.trainer), &banks_q(), json!({ "c": c.course }))
        .await;
    assert_eq!(banks["questionBanks"], json!([]));

    // Only admins lend; a course bank cannot be lent.
    let r = app
        .gql(Some(&c.trainer), LEND, json!({"b": shared, "c": c.course}))
        .await;
    assert_eq!(code(&r), "FORBIDDEN", "{r}");
    let own = bank(&app, &c.trainer, Some(&c.course), "Bank kursus").await;
    let r = app
        .gql(Some(&c.admin), LEND, json!({"b": own, "c": other_course}))
        .await;
    assert_eq!(code(&r), "BAD_USER_INPUT", "{r}");
    assert_eq!(field(&r), Some("bankId"));
    let r = app
        .gql(
            Some(&c.admin),
            LEND,
            json!({"b": shared, "c": uuid::Uuid::new_v4().to_string()}),
        )
        .await;
    assert_eq!(code(&r), "NOT_FOUND", "{r}");

    // Lent (twice: the second changes nothing), audited once.
    let lent = app
        .ok(Some(&c.admin), LEND, json!({"b": shared, "c": c.course}))
        .await;
    assert_eq!(
        lent["lendQuestionBank"]["lentTo"],
        json!([{ "course": { "id": c.course } }])
    );
    app.ok(Some(&c.admin), LEND, json!({"b": shared, "c": c.course}))
        .await;
    let audit = audit_actions(&app).await;
    assert_eq!(
        audit.iter().filter(|a| *a == "question_bank.lend").count(),
        1,
        "{audit:?}"
    );

    // The borrowing course's trainer reads it, keys included, but does not edit it.
    let banks = app
        .ok(Some(&c.trainer), &banks_q(), json!({ "c": c.course }))
        .await;
    let listed: Vec<(Value, Value)> = banks["questionBanks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| (b["id"].clone(), b["canEdit"].clone()))
        .collect();
    assert_eq!(
        listed,
        vec![(json!(shared), json!(false)), (json!(own), json!(true))]
    );
    let read = app
        .ok(Some(&c.trainer), &question_q(), json!({ "id": q["id"] }))
        .await;
    assert_eq!(read["question"]["options"], q["options"]);
    assert_eq!(read["question"]["bank"]["canEdit"], false);
    let page = app
        .ok(Some(&c.trainer), &page_q(), json!({ "id": shared }))
        .await;
    assert_eq!(
        page["questionBank"]["questions"]["edges"][0]["node"]["options"][0]["correct"],
        true
    );
    for (query, vars) in [
        (
            update_question_q(),
            json!({"id": q["id"], "i": {"prompt": "diubah"}}),
        ),
        (
            create_question_q(),
            json!({"b": shared, "i": {"kind": "TRUE_FALSE", "prompt": "x", "truth": true}}),
        ),
        (RENAME.into(), json!({"id": shared, "t": "diubah"})),
        (ARCHIVE_Q.into(), json!({ "id": q["id"] })),
    ] {
        let r = app.gql(Some(&c.trainer), &query, vars).await;
        assert_eq!(code(&r), "FORBIDDEN", "{query} -> {r}");
    }
    // A trainer of another course still sees nothing.
    let r = app
        .gql(Some(&c.other), &question_q(), json!({ "id": q["id"] }))
        .await;
    assert_eq!(code(&r), "FORBIDDEN", "{r}");

    // Returned: audited, and the trainer loses access.
    let returned = app
        .ok(Some(&c.admin), RETURN, json!({"b": shared, "c": c.course}))
        .await;
    assert_eq!(returned["returnQuestionBank"]["lentTo"], json!([]));
    let r = app
        .gql(Some(&c.admin), RETURN, json!({"b": shared, "c": c.course}))
        .await;
    assert_eq!(code(&r), "NOT_FOUND", "{r}");
    let r = app
        .gql(Some(&c.trainer), &question_q(), json!({ "id": q["id"] }))
        .await;
    assert_eq!(code(&r), "FORBIDDEN", "{r}");
    let audit = audit_actions(&app).await;
    assert!(
        audit.iter().any(|a| a == "question_bank.return"),
        "{audit:?}"
    );
}

/// The SQL of the statements run by the app.
type Seen = Arc<Mutex<Vec<String>>>;

#[tokio::test]
async fn a_page_of_questions_costs_the_same_statements_whatever_its_size() {
    let seen: Seen = Arc::default();
    let observer = seen.clone();
    let app = TestApp::spawn_with(Options {
        overrides: gateway::Overrides {
            statement_observer: Some(Arc::new(move |info: &sea_orm::metric::Info<'_>| {
                observer.lock().unwrap().push(info.statement.sql.clone());
            })),
            ..Default::default()
        },
        ..Default::default()
    })
    .await;
    let c = cast(&app).await;
    let small = bank(&app, &c.trainer, Some(&c.course), "Kecil").await;
    let large = bank(&app, &c.trainer, Some(&c.course), "Besar").await;
    for _ in 0..2 {
        question(&app, &c.trainer, &small, single_choice()).await;
    }
    for i in 0..12 {
        let mut input = single_choice();
        input["tags"] = json!([format!("t{i}"), "umum"]);
        let q = question(&app, &c.trainer, &large, input).await;
        if i % 3 == 0 {
            app.ok(
                Some(&c.trainer),
                &update_question_q(),
                json!({"id": q["id"], "i": {"points": 2}}),
            )
            .await;
        }
    }
    let banks_with_pages =
        format!("query($c: ID!) {{ questionBanks(courseId: $c) {{ {BANK_FIELDS} }} }}");
    let mut counts = Vec::new();
    for b in [&small, &large] {
        seen.lock().unwrap().clear();
        let page = app
            .ok(Some(&c.trainer), &page_q(), json!({ "id": b }))
            .await;
        let n = seen.lock().unwrap().len();
        let edges = page["questionBank"]["questions"]["edges"]
            .as_array()
            .unwrap()
            .len();
        counts.push((edges, n));
    }
    assert_eq!(counts[0].0, 2);
    assert_eq!(counts[1].0, 12);
    assert_eq!(
        counts[0].1, counts[1].1,
        "statements for 2 and 12 questions: {counts:?}"
    );
    seen.lock().unwrap().clear();
    app.ok(
        Some(&c.trainer),
        &banks_with_pages,
        json!({ "c": c.course }),
    )
    .await;
    let for_two_banks = seen.lock().unwrap().len();
    assert!(
        for_two_banks <= 6,
        "two banks with counts and courses: {for_two_banks} statements"
    );
}

const ATTEMPT: &str =
    "query($a: ID!) { quizAttempt(id: $a) { id questions { questionId prompt } } }";
const SUBMIT_ATTEMPT: &str =
    "mutation($a: ID!) { submitQuizAttempt(attemptId: $a) { state score maxScore } }";

#[tokio::test]
async fn editing_a_question_given_in_an_attempt_writes_version_two_and_the_attempt_keeps_version_one()
 {
    let app = TestApp::spawn().await;
    let c = cast(&app).await;
    let m = id(&app
        .ok(
            Some(&c.trainer),
            CREATE_MODULE,
            json!({"c": c.course, "i": {"title": "Modul 1"}}),
        )
        .await["createModule"]["id"]);
    app.ok(
        Some(&c.trainer),
        CREATE_LESSON,
        json!({"m": m, "i": {"title": "Bacaan", "kind": "TEXT", "body": "# Bacaan\n\nIsi."}}),
    )
    .await;
    let lesson = id(&app
        .ok(
            Some(&c.trainer),
            CREATE_LESSON,
            json!({"m": m, "i": {"title": "Latihan", "kind": "QUIZ"}}),
        )
        .await["createLesson"]["id"]);
    let b = bank(&app, &c.trainer, Some(&c.course), "Bank Etika").await;
    let first_prompt = "JP minimal pengembangan kompetensi per tahun?";
    let q = question(
        &app,
        &c.trainer,
        &b,
        json!({"kind": "NUMERIC", "prompt": first_prompt, "value": 20}),
    )
    .await;
    let quiz = id(&app
        .ok(
            Some(&c.trainer),
            CONFIGURE,
            json!({"l": lesson, "s": {"kind": "PRACTICE"}}),
        )
        .await["configureQuiz"]["id"]);
    app.ok(
        Some(&c.trainer),
        SET_QUESTIONS,
        json!({"q": quiz, "ids": [q["id"]]}),
    )
    .await;
    app.ok(Some(&c.trainer), SUBMIT, json!({ "id": c.course }))
        .await;
    app.ok(Some(&c.admin), APPROVE_COURSE, json!({ "id": c.course }))
        .await;
    let cohort = id(&app
        .ok(
            Some(&c.trainer),
            CREATE_COHORT,
            json!({"c": c.course, "i": {"name": "Angkatan I"}}),
        )
        .await["createCohort"]["id"]);
    app.ok(Some(&c.learner), ENROLL, json!({ "c": cohort }))
        .await;

    // The learner is given version 1.
    let attempt =
        app.ok(Some(&c.learner), START, json!({ "q": quiz })).await["startQuizAttempt"].clone();
    assert_eq!(attempt["questions"][0]["prompt"], first_prompt);

    // The edit now writes version 2; version 1 stays as it was.
    let second_prompt = "JP minimal per tahun menurut PP 17/2020?";
    let edited = app
        .ok(
            Some(&c.trainer),
            &update_question_q(),
            json!({"id": q["id"], "i": {"prompt": second_prompt, "value": 25}}),
        )
        .await["updateQuestion"]
        .clone();
    assert_eq!(edited["version"], 2);
    assert_eq!(edited["value"], 25.0);
    let versions: Vec<(Value, Value, Value)> = edited["versions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| {
            (
                v["number"].clone(),
                v["current"].clone(),
                v["prompt"].clone(),
            )
        })
        .collect();
    assert_eq!(
        versions,
        vec![
            (json!(2), json!(true), json!(second_prompt)),
            (json!(1), json!(false), json!(first_prompt)),
        ]
    );
    assert_eq!(edited["versions"][1]["id"], q["versions"][0]["id"]);

    // The attempt keeps version 1: its prompt, and its key when graded.
    let read = app
        .ok(Some(&c.learner), ATTEMPT, json!({ "a": attempt["id"] }))
        .await;
    assert_eq!(read["quizAttempt"]["questions"][0]["prompt"], first_prompt);
    let saved = app
        .ok(
            Some(&c.learner),
            SAVE,
            json!({"a": attempt["id"], "x": [{"questionId": q["id"], "seq": 1, "answeredAt": chrono::Utc::now().to_rfc3339(), "number": "20"}]}),
        )
        .await;
    assert_eq!(
        saved["saveQuizAnswers"]["results"][0]["reason"],
        Value::Null,
        "{saved}"
    );
    let done = app
        .ok(
            Some(&c.learner),
            SUBMIT_ATTEMPT,
            json!({ "a": attempt["id"] }),
        )
        .await;
    assert_eq!(done["submitQuizAttempt"]["score"], 1.0, "{done}");

    // A new attempt gets version 2.
    let next =
        app.ok(Some(&c.learner), START, json!({ "q": quiz })).await["startQuizAttempt"].clone();
    assert_eq!(next["questions"][0]["prompt"], second_prompt);
}
