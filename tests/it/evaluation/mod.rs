//! Evaluation from the outside: reaction surveys and their aggregates, certificates with their
//! public verification and PDF, and follow-ups asked by the sweep job as time passes.

mod certificates;
mod follow_up;
mod surveys;

use chrono::{DateTime, Duration, SubsecRound, Utc};
use lms_tests::TestApp;
use serde_json::{Value, json};
use uuid::Uuid;

pub const CREATE_COURSE: &str =
    "mutation($i: CreateCourseInput!) { createCourse(input: $i) { id } }";
pub const CREATE_MODULE: &str =
    "mutation($c: ID!, $i: CreateModuleInput!) { createModule(courseId: $c, input: $i) { id } }";
pub const CREATE_LESSON: &str =
    "mutation($m: ID!, $i: CreateLessonInput!) { createLesson(moduleId: $m, input: $i) { id } }";
pub const ADD_OWNER: &str =
    "mutation($c: ID!, $p: ID!) { addCourseOwner(courseId: $c, personId: $p) { id } }";
pub const SUBMIT_COURSE: &str = "mutation($id: ID!) { submitCourseForReview(id: $id) { state } }";
pub const APPROVE: &str = "mutation($id: ID!) { approveCourse(id: $id) { state } }";
pub const CREATE_COHORT: &str =
    "mutation($c: ID!, $i: CreateCohortInput!) { createCohort(courseId: $c, input: $i) { id } }";
pub const ENROLL: &str = "mutation($c: ID!) { enroll(cohortId: $c) { id state } }";
pub const SYNC: &str = "mutation($e: [ProgressEventInput!]!) { syncProgress(events: $e) { accepted enrollments { completed } } }";
const CREATE_PERSON: &str = "mutation($i: CreatePersonInput!) { createPerson(input: $i) { id } }";

/// `surveyForm` with everything a client shows.
pub const FORM: &str = "query($e: ID!, $l: SurveyLevel!) { surveyForm(enrollmentId: $e, level: $l) { level courseTitle learnerName submitted submittedAt template { id name level isDefault version } items { questionId position kind dimension required text trainer { id name } } followUpRequest { id state } } }";
/// `submitSurvey`.
pub const SUBMIT: &str = "mutation($i: SubmitSurveyInput!) { submitSurvey(input: $i) { responseId submittedAt level certificate { id code } } }";

/// A published course with one text lesson, its trainers and an open cohort.
pub struct Course {
    pub id: String,
    pub cohort: String,
    pub lesson: String,
    /// (id, token, name) of each trainer (owner), the creator first.
    pub trainers: Vec<(String, String, String)>,
}

pub fn s(v: &Value) -> String {
    v.as_str()
        .unwrap_or_else(|| panic!("a string, got {v}"))
        .to_owned()
}

/// Whole seconds: what both databases keep exactly.
pub fn now() -> DateTime<Utc> {
    Utc::now().trunc_subsecs(0)
}

/// A published course `code` worth `jp` JP, authored by `trainers` trainers.
pub async fn course(app: &TestApp, admin: &str, code: &str, jp: i32, trainers: usize) -> Course {
    let mut people = Vec::new();
    for i in 0..trainers.max(1) {
        let email = format!("narasumber{i}-{code}@bkpsdm.go.id");
        let (id, token) = app.signed_in(admin, &email, &["TRAINER"], None).await;
        people.push((id, token, format!("Person {email}")));
    }
    let owner = &people[0].1;
    let id = s(&app
        .ok(
            Some(owner),
            CREATE_COURSE,
            json!({"i": {"code": code, "title": format!("Pelatihan {code}"), "competencyType": "TECHNICAL", "jpCredit": jp}}),
        )
        .await["createCourse"]["id"]);
    for (p, _, _) in people.iter().skip(1) {
        app.ok(Some(owner), ADD_OWNER, json!({"c": id, "p": p}))
            .await;
    }
    let module = s(&app
        .ok(
            Some(owner),
            CREATE_MODULE,
            json!({"c": id, "i": {"title": "Modul 1"}}),
        )
        .await["createModule"]["id"]);
    let lesson = s(&app
        .ok(
            Some(owner),
            CREATE_LESSON,
            json!({"m": module, "i": {"title": "Pengantar", "kind": "TEXT", "required": true, "body": "# Pengantar\n\nIsi."}}),
        )
        .await["createLesson"]["id"]);
    app.ok(Some(owner), SUBMIT_COURSE, json!({"id": id})).await;
    app.ok(Some(admin), APPROVE, json!({"id": id})).await;
    let cohort = s(&app
        .ok(
            Some(admin),
            CREATE_COHORT,
            json!({"c": id, "i": {"name": format!("Angkatan I {code}")}}),
        )
        .await["createCohort"]["id"]);
    Course {
        id,
        cohort,
        lesson,
        trainers: people,
    }
}

/// A learner with NIP `19850101201001100n`-style number `n`; returns (id, token).
pub async fn learner(app: &TestApp, admin: &str, email: &str, n: u32) -> (String, String) {
    let nip = format!("198501012010011{n:03}");
    let id = s(&app
        .ok(
            Some(admin),
            CREATE_PERSON,
            json!({"i": {"name": format!("Peserta {n}"), "email": email, "nip": nip, "employmentType": "PNS", "roles": ["LEARNER"], "password": lms_tests::PASSWORD}}),
        )
        .await["createPerson"]["id"]);
    let (token, _) = app.sign_in(email, lms_tests::PASSWORD).await;
    (id, token)
}

/// Enrolls the learner; returns the enrollment id.
pub async fn enroll(app: &TestApp, token: &str, c: &Course) -> String {
    let d = app.ok(Some(token), ENROLL, json!({"c": c.cohort})).await;
    assert_eq!(d["enroll"]["state"], "ACTIVE", "{d}");
    s(&d["enroll"]["id"])
}

/// Completes the course by opening its text lesson at `at`.
pub async fn complete(app: &TestApp, token: &str, c: &Course, at: DateTime<Utc>) {
    let event = json!({"clientEventId": Uuid::new_v4().to_string(), "lessonId": c.lesson, "kind": "OPENED", "occurredAt": at.to_rfc3339()});
    let d = app.ok(Some(token), SYNC, json!({"e": [event]})).await;
    assert_eq!(
        d["syncProgress"]["enrollments"][0]["completed"], true,
        "{d}"
    );
}

/// Enrolls and completes an hour ago (by `now`); returns the enrollment id.
pub async fn enroll_and_complete(
    app: &TestApp,
    token: &str,
    c: &Course,
    now: DateTime<Utc>,
) -> String {
    let e = enroll(app, token, c).await;
    complete(app, token, c, now - Duration::hours(1)).await;
    e
}

/// The items of a form.
pub fn items(form: &Value) -> Vec<Value> {
    form["surveyForm"]["items"]
        .as_array()
        .unwrap_or_else(|| panic!("no items in {form}"))
        .clone()
}

/// Answers every item: Likert items with `likert(item)`, text items with `text(item)` (None
/// leaves it out).
pub fn answers(
    form: &Value,
    likert: impl Fn(&Value) -> i32,
    text: impl Fn(&Value) -> Option<String>,
) -> Vec<Value> {
    items(form)
        .iter()
        .filter_map(|item| {
            let mut a = json!({"questionId": item["questionId"]});
            if let Some(t) = item["trainer"]["id"].as_str() {
                a["trainerId"] = json!(t);
            }
            if item["kind"] == "LIKERT" {
                a["likert"] = json!(likert(item));
            } else {
                a["text"] = json!(text(item)?);
            }
            Some(a)
        })
        .collect()
}

/// Submits a survey; returns the whole body (errors included).
pub async fn submit(
    app: &TestApp,
    token: &str,
    enrollment: &str,
    level: &str,
    answers: &[Value],
) -> Value {
    app.gql(
        Some(token),
        SUBMIT,
        json!({"i": {"enrollmentId": enrollment, "level": level, "answers": answers}}),
    )
    .await
}

/// The form of a survey (must succeed).
pub async fn form(app: &TestApp, token: &str, enrollment: &str, level: &str) -> Value {
    app.ok(Some(token), FORM, json!({"e": enrollment, "l": level}))
        .await
}
