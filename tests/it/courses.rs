//! Courses from the outside: the lifecycle with review and JP approval, who may touch and see
//! what, the catalogue, the module and lesson structure, and input errors.

use lms_tests::{TestApp, error_code};
use serde_json::{Value, json};

const CREATE: &str = "mutation($i: CreateCourseInput!) { createCourse(input: $i) { id code state tags jpApproved owners { id } } }";
const COURSE: &str = "query($id: ID!) { course(id: $id) { id code title state jpCredit jpApproved jpApprovedAt publishedAt reviewNote tags owners { id } modules { id title position archived lessons { id title kind position archived required completionThreshold } } } }";
const BY_CODE: &str = "query($c: String!) { courseByCode(code: $c) { id } }";
const UPDATE: &str = "mutation($id: ID!, $i: UpdateCourseInput!) { updateCourse(id: $id, input: $i) { id title jpCredit jpApproved jpApprovedAt state } }";
const SUBMIT: &str = "mutation($id: ID!) { submitCourseForReview(id: $id) { state } }";
const APPROVE: &str =
    "mutation($id: ID!) { approveCourse(id: $id) { state jpApproved publishedAt } }";
const REJECT: &str =
    "mutation($id: ID!, $r: String!) { rejectCourse(id: $id, reason: $r) { state reviewNote } }";
const ARCHIVE: &str = "mutation($id: ID!) { archiveCourse(id: $id) { state } }";
const REPUBLISH: &str = "mutation($id: ID!) { republishCourse(id: $id) { state } }";
const CREATE_MODULE: &str = "mutation($c: ID!, $i: CreateModuleInput!) { createModule(courseId: $c, input: $i) { id position } }";
const CREATE_LESSON: &str = "mutation($m: ID!, $i: CreateLessonInput!) { createLesson(moduleId: $m, input: $i) { id position kind required completionThreshold } }";
const REORDER_MODULES: &str = "mutation($c: ID!, $ids: [ID!]!) { reorderModules(courseId: $c, moduleIds: $ids) { modules { id position } } }";
const REORDER_LESSONS: &str = "mutation($m: ID!, $ids: [ID!]!) { reorderLessons(moduleId: $m, lessonIds: $ids) { lessons { id position } } }";
const MOVE_LESSON: &str = "mutation($l: ID!, $m: ID!, $p: Int!) { moveLesson(lessonId: $l, toModuleId: $m, position: $p) { id position module { id } } }";
const DELETE_LESSON: &str = "mutation($id: ID!) { deleteLesson(id: $id) { id archived } }";
const DELETE_MODULE: &str = "mutation($id: ID!) { deleteModule(id: $id) { id archived } }";
const PUBLISH_LESSON: &str = "mutation($id: ID!) { publishLesson(id: $id) { id publishedAt } }";
const OUTLINE: &str = "query($id: ID!) { course(id: $id) { readinessProblems modules { id lessons { id publishedAt readinessProblems } } } }";
const CATALOGUE: &str = "query($s: String, $t: CompetencyType, $tag: String, $min: Int, $max: Int, $mine: Boolean, $st: CourseState, $first: Int, $after: String) { catalogue(search: $s, competencyType: $t, tag: $tag, minJp: $min, maxJp: $max, mine: $mine, state: $st, first: $first, after: $after) { edges { cursor node { code } } pageInfo { hasNextPage endCursor } } }";

/// The people of most tests.
struct Cast {
    admin: String,
    trainer_id: String,
    trainer: String,
    other_id: String,
    other: String,
    learner_id: String,
    learner: String,
}

async fn cast(app: &TestApp) -> Cast {
    let admin = app.admin().await;
    let (trainer_id, trainer) = app
        .signed_in(&admin, "widyaiswara@bkpsdm.go.id", &["TRAINER"], None)
        .await;
    let (other_id, other) = app
        .signed_in(&admin, "narasumber@dinkes.go.id", &["TRAINER"], None)
        .await;
    let (learner_id, learner) = app
        .signed_in(&admin, "asn@dinkes.go.id", &["LEARNER"], None)
        .await;
    Cast {
        admin,
        trainer_id,
        trainer,
        other_id,
        other,
        learner_id,
        learner,
    }
}

fn id(v: &Value) -> String {
    v.as_str().expect("an id").to_owned()
}

async fn create_course(app: &TestApp, token: &str, input: Value) -> String {
    id(&app.ok(Some(token), CREATE, json!({ "i": input })).await["createCourse"]["id"])
}

/// A technical draft course with `code`, `title` and `jp`.
async fn draft(app: &TestApp, token: &str, code: &str, title: &str, jp: i32) -> String {
    create_course(
        app,
        token,
        json!({"code": code, "title": title, "competencyType": "TECHNICAL", "jpCredit": jp}),
    )
    .await
}

async fn module(app: &TestApp, token: &str, course: &str, title: &str) -> String {
    id(&app
        .ok(
            Some(token),
            CREATE_MODULE,
            json!({"c": course, "i": {"title": title}}),
        )
        .await["createModule"]["id"])
}

async fn lesson(app: &TestApp, token: &str, module: &str, title: &str, kind: &str) -> String {
    id(&app
        .ok(
            Some(token),
            CREATE_LESSON,
            json!({"m": module, "i": {"title": title, "kind": kind, "body": format!("# {title}\n\nIsi.")}}),
        )
        .await["createLesson"]["id"])
}

/// Gives a draft a module with one lesson, submits it and has the admin approve it.
async fn publish(app: &TestApp, c: &Cast, token: &str, course: &str) -> (String, String) {
    let m = module(app, token, course, "Modul 1").await;
    let l = lesson(app, token, &m, "Pengantar", "TEXT").await;
    app.ok(Some(token), SUBMIT, json!({ "id": course })).await;
    app.ok(Some(&c.admin), APPROVE, json!({ "id": course }))
        .await;
    (m, l)
}

async fn course(app: &TestApp, token: &str, course: &str) -> Value {
    app.ok(Some(token), COURSE, json!({ "id": course })).await["course"].clone()
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

fn code_of(r: &Value) -> String {
    error_code(r).unwrap_or_else(|| format!("no error in {r}"))
}

#[tokio::test]
async fn a_course_goes_through_review_to_publication_with_its_jp_approved() {
    let app = TestApp::spawn().await;
    let c = cast(&app).await;
    let created = app
        .ok(
            Some(&c.trainer),
            CREATE,
            json!({"i": {"code": "mr-dinkes-2026", "title": "Manajemen Risiko", "description": "Untuk puskesmas.", "competencyType": "MANAGERIAL", "jpCredit": 12, "tags": [" Manajemen  Risiko", "K3", "k3"]}}),
        )
        .await["createCourse"]
        .clone();
    let id = id(&created["id"]);
    assert_eq!(created["code"], "MR-DINKES-2026");
    assert_eq!(created["state"], "DRAFT");
    assert_eq!(created["tags"], json!(["k3", "manajemen risiko"]));
    assert_eq!(created["jpApproved"], false);
    assert_eq!(created["owners"], json!([{ "id": c.trainer_id }]));

    // A course without lessons cannot go to review.
    let r = app.gql(Some(&c.trainer), SUBMIT, json!({ "id": id })).await;
    assert_eq!(code_of(&r), "CONFLICT", "{r}");
    let m = module(&app, &c.trainer, &id, "Identifikasi risiko").await;
    // Nor one whose video has no playable recording yet (the media tests cover a ready one).
    let video = lesson(&app, &c.trainer, &m, "Video pengantar", "VIDEO").await;
    let r = app.gql(Some(&c.trainer), SUBMIT, json!({ "id": id })).await;
    assert_eq!(code_of(&r), "CONFLICT", "{r}");
    assert!(r.to_string().contains("Video pengantar"), "{r}");
    app.ok(
        Some(&c.trainer),
        "mutation($id: ID!) { deleteLesson(id: $id) { archived } }",
        json!({ "id": video }),
    )
    .await;
    lesson(&app, &c.trainer, &m, "Bacaan pengantar", "TEXT").await;
    let r = app.ok(Some(&c.trainer), SUBMIT, json!({ "id": id })).await;
    assert_eq!(r["submitCourseForReview"]["state"], "IN_REVIEW");

    // In review the course is frozen for its trainer, and still hidden from learners.
    let r = app
        .gql(
            Some(&c.trainer),
            UPDATE,
            json!({"id": id, "i": {"title": "Baru"}}),
        )
        .await;
    assert_eq!(code_of(&r), "CONFLICT", "{r}");
    let r = app.gql(Some(&c.learner), COURSE, json!({ "id": id })).await;
    assert_eq!(code_of(&r), "NOT_FOUND", "{r}");

    // Rejected with a reason the trainer sees; then fixed, resubmitted and approved.
    let r = app
        .ok(
            Some(&c.admin),
            REJECT,
            json!({"id": id, "r": "Tambahkan studi kasus puskesmas."}),
        )
        .await;
    assert_eq!(r["rejectCourse"]["state"], "DRAFT");
    assert_eq!(
        course(&app, &c.trainer, &id).await["reviewNote"],
        "Tambahkan studi kasus puskesmas."
    );
    let r = app
        .gql(Some(&c.admin), REJECT, json!({"id": id, "r": "again"}))
        .await;
    assert_eq!(
        code_of(&r),
        "CONFLICT",
        "only a course in review is rejected"
    );
    app.ok(
        Some(&c.trainer),
        UPDATE,
        json!({"id": id, "i": {"jpCredit": 16}}),
    )
    .await;
    app.ok(Some(&c.trainer), SUBMIT, json!({ "id": id })).await;
    let r = app.ok(Some(&c.admin), APPROVE, json!({ "id": id })).await;
    assert_eq!(r["approveCourse"]["state"], "PUBLISHED");
    assert_eq!(r["approveCourse"]["jpApproved"], true);
    assert!(r["approveCourse"]["publishedAt"].is_string());
    let r = app.gql(Some(&c.admin), APPROVE, json!({ "id": id })).await;
    assert_eq!(code_of(&r), "CONFLICT", "{r}");

    // Every signed-in person sees it now, without the review note.
    let seen = course(&app, &c.learner, &id).await;
    assert_eq!(seen["jpCredit"], 16);
    assert_eq!(seen["reviewNote"], Value::Null);
    let r = app
        .ok(Some(&c.learner), BY_CODE, json!({"c": "mr-dinkes-2026"}))
        .await;
    assert_eq!(r["courseByCode"]["id"], id.as_str());

    // Its text still changes; its approved JP only through an admin, whose change re-approves.
    let r = app
        .ok(
            Some(&c.trainer),
            UPDATE,
            json!({"id": id, "i": {"title": "Manajemen Risiko Klinis"}}),
        )
        .await;
    assert_eq!(r["updateCourse"]["title"], "Manajemen Risiko Klinis");
    let r = app
        .gql(
            Some(&c.trainer),
            UPDATE,
            json!({"id": id, "i": {"jpCredit": 20}}),
        )
        .await;
    assert_eq!(code_of(&r), "CONFLICT", "{r}");
    let before = seen["jpApprovedAt"].clone();
    let r = app
        .ok(
            Some(&c.admin),
            UPDATE,
            json!({"id": id, "i": {"jpCredit": 20}}),
        )
        .await;
    assert_eq!(r["updateCourse"]["jpCredit"], 20);
    assert_eq!(r["updateCourse"]["jpApproved"], true);
    assert_ne!(r["updateCourse"]["jpApprovedAt"], before);
    let r = app
        .gql(
            Some(&c.admin),
            UPDATE,
            json!({"id": id, "i": {"code": "MR-2"}}),
        )
        .await;
    assert_eq!(
        code_of(&r),
        "CONFLICT",
        "the code of a published course stays: {r}"
    );

    // Archived: gone for learners, back when republished.
    let r = app.ok(Some(&c.admin), ARCHIVE, json!({ "id": id })).await;
    assert_eq!(r["archiveCourse"]["state"], "ARCHIVED");
    let r = app.gql(Some(&c.learner), COURSE, json!({ "id": id })).await;
    assert_eq!(code_of(&r), "NOT_FOUND", "{r}");
    let r = app
        .gql(
            Some(&c.trainer),
            UPDATE,
            json!({"id": id, "i": {"title": "X"}}),
        )
        .await;
    assert_eq!(code_of(&r), "CONFLICT", "archived is frozen for trainers");
    app.ok(Some(&c.admin), REPUBLISH, json!({ "id": id })).await;
    assert_eq!(course(&app, &c.learner, &id).await["state"], "PUBLISHED");

    // The admin's decisions and change are on record.
    let audit = audit_actions(&app).await;
    for action in [
        "course.reject",
        "course.approve",
        "course.update",
        "course.archive",
        "course.republish",
    ] {
        assert!(audit.iter().any(|a| a == action), "{action} in {audit:?}");
    }
    assert_eq!(
        audit.iter().filter(|a| *a == "course.update").count(),
        1,
        "the trainer's own edits are not audited: {audit:?}"
    );
}

#[tokio::test]
async fn a_trainer_cannot_touch_another_trainers_course() {
    let app = TestApp::spawn().await;
    let c = cast(&app).await;
    let course_id = draft(&app, &c.trainer, "K3-DASAR", "K3 Dasar", 8).await;
    let m1 = module(&app, &c.trainer, &course_id, "Modul A").await;
    let m2 = module(&app, &c.trainer, &course_id, "Modul B").await;
    let l1 = lesson(&app, &c.trainer, &m1, "Satu", "TEXT").await;
    let l2 = lesson(&app, &c.trainer, &m1, "Dua", "DOCUMENT").await;
    // An in-review course for the admin-only decisions.
    let review = draft(&app, &c.trainer, "K3-LANJUT", "K3 Lanjut", 8).await;
    let rm = module(&app, &c.trainer, &review, "Modul").await;
    lesson(&app, &c.trainer, &rm, "Isi", "TEXT").await;
    app.ok(Some(&c.trainer), SUBMIT, json!({ "id": review }))
        .await;

    let owner_cases: Vec<(&str, &str, Value)> = vec![
        (
            "updateCourse",
            UPDATE,
            json!({"id": course_id, "i": {"title": "Diambil alih"}}),
        ),
        (
            "setCourseTags",
            "mutation($id: ID!) { setCourseTags(id: $id, tags: [\"x\"]) { id } }",
            json!({"id": course_id}),
        ),
        (
            "addCourseOwner",
            "mutation($c: ID!, $p: ID!) { addCourseOwner(courseId: $c, personId: $p) { id } }",
            json!({"c": course_id, "p": c.other_id}),
        ),
        (
            "removeCourseOwner",
            "mutation($c: ID!, $p: ID!) { removeCourseOwner(courseId: $c, personId: $p) { id } }",
            json!({"c": course_id, "p": c.trainer_id}),
        ),
        ("submitCourseForReview", SUBMIT, json!({"id": course_id})),
        (
            "createModule",
            CREATE_MODULE,
            json!({"c": course_id, "i": {"title": "Baru"}}),
        ),
        (
            "updateModule",
            "mutation($id: ID!) { updateModule(id: $id, input: {title: \"Baru\"}) { id } }",
            json!({"id": m1}),
        ),
        ("deleteModule", DELETE_MODULE, json!({"id": m2})),
        (
            "reorderModules",
            REORDER_MODULES,
            json!({"c": course_id, "ids": [m2, m1]}),
        ),
        (
            "createLesson",
            CREATE_LESSON,
            json!({"m": m1, "i": {"title": "Baru", "kind": "TEXT"}}),
        ),
        (
            "updateLesson",
            "mutation($id: ID!) { updateLesson(id: $id, input: {title: \"Baru\"}) { id } }",
            json!({"id": l1}),
        ),
        ("deleteLesson", DELETE_LESSON, json!({"id": l2})),
        (
            "reorderLessons",
            REORDER_LESSONS,
            json!({"m": m1, "ids": [l2, l1]}),
        ),
        ("moveLesson", MOVE_LESSON, json!({"l": l1, "m": m2, "p": 0})),
    ];
    let admin_cases: Vec<(&str, &str, Value)> = vec![
        ("approveCourse", APPROVE, json!({"id": review})),
        ("rejectCourse", REJECT, json!({"id": review, "r": "no"})),
        ("archiveCourse", ARCHIVE, json!({"id": course_id})),
        ("republishCourse", REPUBLISH, json!({"id": course_id})),
    ];
    for (name, query, vars) in owner_cases.iter().chain(&admin_cases) {
        for (who, token, expected) in [
            ("anonymous", None, "UNAUTHENTICATED"),
            ("another trainer", Some(c.other.as_str()), "FORBIDDEN"),
            ("a learner", Some(c.learner.as_str()), "FORBIDDEN"),
        ] {
            let r = app.gql(token, query, vars.clone()).await;
            assert_eq!(code_of(&r), expected, "{name} as {who}: {r}");
        }
    }
    for (name, query, vars) in &admin_cases {
        let r = app.gql(Some(&c.trainer), query, vars.clone()).await;
        assert_eq!(code_of(&r), "FORBIDDEN", "{name} as the owner: {r}");
    }
    // Nothing changed: same title, same structure in the same order, nothing in the audit log.
    let seen = course(&app, &c.trainer, &course_id).await;
    assert_eq!(seen["title"], "K3 Dasar");
    assert_eq!(seen["state"], "DRAFT");
    assert_eq!(seen["owners"], json!([{ "id": c.trainer_id }]));
    let modules: Vec<&str> = seen["modules"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["id"].as_str().unwrap())
        .collect();
    assert_eq!(modules, vec![m1.as_str(), m2.as_str()]);
    assert_eq!(seen["modules"][0]["lessons"][0]["id"], l1.as_str());
    assert_eq!(seen["modules"][0]["lessons"][1]["id"], l2.as_str());
    let audit = audit_actions(&app).await;
    assert!(!audit.iter().any(|a| a.starts_with("course")), "{audit:?}");

    // An admin may change it, and that change to someone else's course is audited.
    app.ok(
        Some(&c.admin),
        UPDATE,
        json!({"id": course_id, "i": {"title": "K3 Dasar (revisi)"}}),
    )
    .await;
    app.ok(
        Some(&c.admin),
        REORDER_MODULES,
        json!({"c": course_id, "ids": [m2, m1]}),
    )
    .await;
    let audit = audit_actions(&app).await;
    assert!(audit.iter().any(|a| a == "course.update"), "{audit:?}");
    assert!(
        audit.iter().any(|a| a == "course.modules.reorder"),
        "{audit:?}"
    );
}

#[tokio::test]
async fn co_owners_share_a_course_and_it_keeps_at_least_one() {
    let app = TestApp::spawn().await;
    let c = cast(&app).await;
    let id = draft(&app, &c.trainer, "PELAYANAN-PRIMA", "Pelayanan Prima", 4).await;
    let add = "mutation($c: ID!, $p: ID!) { addCourseOwner(courseId: $c, personId: $p) { owners { id } } }";
    let remove = "mutation($c: ID!, $p: ID!) { removeCourseOwner(courseId: $c, personId: $p) { owners { id } } }";

    let r = app
        .gql(Some(&c.trainer), add, json!({"c": id, "p": c.learner_id}))
        .await;
    assert_eq!(
        code_of(&r),
        "BAD_USER_INPUT",
        "a learner cannot own a course: {r}"
    );
    assert_eq!(r["errors"][0]["extensions"]["field"], "personId");
    let r = app
        .gql(
            Some(&c.trainer),
            add,
            json!({"c": id, "p": uuid::Uuid::now_v7().to_string()}),
        )
        .await;
    assert_eq!(code_of(&r), "NOT_FOUND", "{r}");

    let r = app
        .ok(Some(&c.trainer), add, json!({"c": id, "p": c.other_id}))
        .await;
    assert_eq!(
        r["addCourseOwner"]["owners"],
        json!([{ "id": c.trainer_id }, { "id": c.other_id }])
    );
    // Adding again changes nothing.
    app.ok(Some(&c.trainer), add, json!({"c": id, "p": c.other_id}))
        .await;
    // The co-owner edits and may take the original owner off.
    app.ok(
        Some(&c.other),
        UPDATE,
        json!({"id": id, "i": {"title": "Pelayanan Prima ASN"}}),
    )
    .await;
    let r = app
        .ok(Some(&c.other), remove, json!({"c": id, "p": c.trainer_id}))
        .await;
    assert_eq!(
        r["removeCourseOwner"]["owners"],
        json!([{ "id": c.other_id }])
    );
    let r = app
        .gql(
            Some(&c.trainer),
            UPDATE,
            json!({"id": id, "i": {"title": "X"}}),
        )
        .await;
    assert_eq!(code_of(&r), "FORBIDDEN", "no longer an owner: {r}");
    let r = app
        .gql(Some(&c.other), remove, json!({"c": id, "p": c.other_id}))
        .await;
    assert_eq!(code_of(&r), "CONFLICT", "the last owner stays: {r}");
    let r = app
        .gql(Some(&c.other), remove, json!({"c": id, "p": c.trainer_id}))
        .await;
    assert_eq!(code_of(&r), "NOT_FOUND", "not an owner any more: {r}");
}

#[tokio::test]
async fn a_learner_cannot_see_an_unpublished_course() {
    let app = TestApp::spawn().await;
    let c = cast(&app).await;
    let hidden = draft(&app, &c.trainer, "RAHASIA", "Kursus Rahasia", 2).await;
    let public = draft(&app, &c.trainer, "TERBUKA", "Kursus Terbuka", 2).await;
    let (_, lesson_id) = publish(&app, &c, &c.trainer, &public).await;

    for (who, token) in [("learner", &c.learner), ("other trainer", &c.other)] {
        let r = app.gql(Some(token), COURSE, json!({ "id": hidden })).await;
        assert_eq!(code_of(&r), "NOT_FOUND", "course as {who}: {r}");
        let r = app.gql(Some(token), BY_CODE, json!({"c": "rahasia"})).await;
        assert_eq!(code_of(&r), "NOT_FOUND", "courseByCode as {who}: {r}");
        for vars in [
            json!({}),
            json!({"s": "rahasia"}),
            json!({"st": "DRAFT"}),
            json!({"mine": true}),
        ] {
            let r = app.ok(Some(token), CATALOGUE, vars.clone()).await;
            let codes: Vec<&str> = r["catalogue"]["edges"]
                .as_array()
                .unwrap()
                .iter()
                .map(|e| e["node"]["code"].as_str().unwrap())
                .collect();
            assert!(!codes.contains(&"RAHASIA"), "{who} {vars}: {codes:?}");
        }
    }
    // The owner sees their draft; everyone else sees the published course's outline...
    assert_eq!(course(&app, &c.trainer, &hidden).await["state"], "DRAFT");
    let outline = course(&app, &c.learner, &public).await;
    assert_eq!(
        outline["modules"][0]["lessons"][0]["id"],
        lesson_id.as_str()
    );
    assert_eq!(outline["modules"][0]["lessons"][0]["kind"], "TEXT");
    // ...but not its content.
    let content = "query($id: ID!) { course(id: $id) { modules { lessons { title body } } } }";
    let r = app
        .gql(Some(&c.learner), content, json!({ "id": public }))
        .await;
    assert_eq!(code_of(&r), "FORBIDDEN", "{r}");
    assert_eq!(
        r["data"]["course"]["modules"][0]["lessons"][0]["title"],
        "Pengantar"
    );
    let r = app
        .ok(Some(&c.trainer), content, json!({ "id": public }))
        .await;
    assert_eq!(
        r["course"]["modules"][0]["lessons"][0]["body"],
        "# Pengantar\n\nIsi."
    );
    let media = "query($id: ID!) { course(id: $id) { modules { lessons { media { state } } } } }";
    let r = app
        .gql(Some(&c.learner), media, json!({ "id": public }))
        .await;
    assert_eq!(code_of(&r), "FORBIDDEN", "{r}");

    // Anonymous callers learn nothing at all.
    for (query, vars) in [
        (COURSE, json!({ "id": public })),
        (BY_CODE, json!({"c": "TERBUKA"})),
        (CATALOGUE, json!({})),
    ] {
        let r = app.gql(None, query, vars).await;
        assert_eq!(code_of(&r), "UNAUTHENTICATED", "{r}");
    }
    let r = app
        .gql(
            None,
            CREATE,
            json!({"i": {"code": "ANON", "title": "A", "competencyType": "TECHNICAL", "jpCredit": 1}}),
        )
        .await;
    assert_eq!(code_of(&r), "UNAUTHENTICATED", "{r}");
}

fn codes(r: &Value) -> Vec<String> {
    r["catalogue"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["node"]["code"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn the_catalogue_searches_filters_and_pages() {
    let app = TestApp::spawn().await;
    let c = cast(&app).await;
    let t = &c.trainer;
    let specs = [
        (
            "ANJAB",
            "Analisis Jabatan",
            "Menyusun peta jabatan.",
            "MANAGERIAL",
            10,
            vec!["kepegawaian"],
        ),
        (
            "DISKON",
            "Hemat 50% Anggaran",
            "Pengadaan cerdas.",
            "MANAGERIAL",
            4,
            vec![],
        ),
        (
            "K3",
            "Keselamatan Kerja",
            "Di puskesmas_pondok.",
            "TECHNICAL",
            20,
            vec!["kesehatan", "k3"],
        ),
        (
            "MR",
            "Manajemen Risiko",
            "Untuk PUSKESMAS dan rumah sakit.",
            "TECHNICAL",
            12,
            vec!["kesehatan"],
        ),
        (
            "WAWASAN",
            "Wawasan Kebangsaan",
            "Nilai dasar ASN.",
            "SOCIO_CULTURAL",
            6,
            vec!["bela negara"],
        ),
    ];
    for (code, title, description, kind, jp, tags) in &specs {
        let id = create_course(
            &app,
            t,
            json!({"code": code, "title": title, "description": description, "competencyType": kind, "jpCredit": jp, "tags": tags}),
        )
        .await;
        publish(&app, &c, t, &id).await;
    }
    draft(&app, t, "DRAFT-SAYA", "Draf Saya", 1).await;
    let l = Some(c.learner.as_str());

    let all = app.ok(l, CATALOGUE, json!({})).await;
    assert_eq!(
        codes(&all),
        vec!["ANJAB", "DISKON", "K3", "MR", "WAWASAN"],
        "published only, by title"
    );
    // Search ignores case and looks in title, description and tags.
    let r = app.ok(l, CATALOGUE, json!({"s": "PuskesMas"})).await;
    assert_eq!(codes(&r), vec!["K3", "MR"]);
    let r = app.ok(l, CATALOGUE, json!({"s": "bela"})).await;
    assert_eq!(codes(&r), vec!["WAWASAN"], "found by tag");
    let r = app.ok(l, CATALOGUE, json!({"s": "jabatan"})).await;
    assert_eq!(codes(&r), vec!["ANJAB"]);
    // `%` and `_` are plain characters, not wildcards.
    let r = app.ok(l, CATALOGUE, json!({"s": "50%"})).await;
    assert_eq!(codes(&r), vec!["DISKON"]);
    let r = app.ok(l, CATALOGUE, json!({"s": "%"})).await;
    assert_eq!(codes(&r), vec!["DISKON"]);
    let r = app.ok(l, CATALOGUE, json!({"s": "puskesmas_"})).await;
    assert_eq!(codes(&r), vec!["K3"]);
    let r = app.ok(l, CATALOGUE, json!({"s": "s_j"})).await;
    assert_eq!(codes(&r), Vec::<String>::new());

    // Filters.
    let r = app.ok(l, CATALOGUE, json!({"t": "TECHNICAL"})).await;
    assert_eq!(codes(&r), vec!["K3", "MR"]);
    let r = app.ok(l, CATALOGUE, json!({"tag": " Kesehatan "})).await;
    assert_eq!(codes(&r), vec!["K3", "MR"]);
    let r = app.ok(l, CATALOGUE, json!({"min": 6, "max": 12})).await;
    assert_eq!(codes(&r), vec!["ANJAB", "MR", "WAWASAN"]);
    let r = app
        .ok(
            l,
            CATALOGUE,
            json!({"t": "TECHNICAL", "s": "risiko", "min": 12}),
        )
        .await;
    assert_eq!(codes(&r), vec!["MR"]);

    // Pages of two, in a stable order, with nothing lost or repeated.
    let mut seen = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let r = app
            .ok(l, CATALOGUE, json!({"first": 2, "after": after}))
            .await;
        seen.extend(codes(&r));
        let info = &r["catalogue"]["pageInfo"];
        if !info["hasNextPage"].as_bool().unwrap() {
            break;
        }
        after = info["endCursor"].as_str().map(str::to_owned);
    }
    assert_eq!(seen, codes(&all));

    // Trainers see their own drafts with `mine`; admins filter by state.
    let r = app.ok(Some(t), CATALOGUE, json!({"mine": true})).await;
    assert_eq!(codes(&r).len(), 6);
    assert!(codes(&r).contains(&"DRAFT-SAYA".to_owned()));
    let r = app
        .ok(Some(t), CATALOGUE, json!({"mine": true, "st": "DRAFT"}))
        .await;
    assert_eq!(codes(&r), vec!["DRAFT-SAYA"]);
    let r = app
        .ok(Some(&c.other), CATALOGUE, json!({"mine": true}))
        .await;
    assert!(codes(&r).is_empty());
    let r = app
        .ok(Some(&c.admin), CATALOGUE, json!({"st": "DRAFT"}))
        .await;
    assert_eq!(codes(&r), vec!["DRAFT-SAYA"]);
    let r = app.ok(l, CATALOGUE, json!({"st": "DRAFT"})).await;
    assert!(codes(&r).is_empty());

    // Bad arguments.
    for (vars, field) in [
        (json!({"min": 10, "max": 5}), "minJp"),
        (json!({"min": -1}), "minJp"),
        (json!({"max": 1001}), "maxJp"),
        (json!({"s": "x".repeat(101)}), "search"),
        (json!({"tag": "   "}), "tag"),
    ] {
        let r = app.gql(l, CATALOGUE, vars.clone()).await;
        assert_eq!(code_of(&r), "BAD_USER_INPUT", "{vars}: {r}");
        assert_eq!(r["errors"][0]["extensions"]["field"], field, "{vars}");
    }
    for vars in [json!({"after": "%%%"}), json!({"first": 0})] {
        let r = app.gql(l, CATALOGUE, vars.clone()).await;
        assert_eq!(code_of(&r), "BAD_USER_INPUT", "{vars}: {r}");
    }
}

fn ids_of(list: &Value) -> Vec<String> {
    list.as_array()
        .unwrap()
        .iter()
        .map(|x| x["id"].as_str().unwrap().to_owned())
        .collect()
}

fn positions(list: &Value) -> Vec<i64> {
    list.as_array()
        .unwrap()
        .iter()
        .map(|x| x["position"].as_i64().unwrap())
        .collect()
}

#[tokio::test]
async fn modules_and_lessons_are_ordered_reordered_and_moved() {
    let app = TestApp::spawn().await;
    let c = cast(&app).await;
    let t = &c.trainer;
    let id = draft(&app, t, "SAKIP", "SAKIP", 6).await;
    let a = module(&app, t, &id, "A").await;
    let b = module(&app, t, &id, "B").await;
    // Inserted at the front: the others shift.
    let first = app
        .ok(
            Some(t),
            CREATE_MODULE,
            json!({"c": id, "i": {"title": "Pembuka", "position": 0}}),
        )
        .await;
    assert_eq!(first["createModule"]["position"], 0);
    let z = id_str(&first["createModule"]["id"]);
    let seen = course(&app, t, &id).await;
    assert_eq!(
        ids_of(&seen["modules"]),
        vec![z.clone(), a.clone(), b.clone()]
    );
    assert_eq!(positions(&seen["modules"]), vec![0, 1, 2]);

    let r = app
        .ok(Some(t), REORDER_MODULES, json!({"c": id, "ids": [b, z, a]}))
        .await;
    assert_eq!(
        ids_of(&r["reorderModules"]["modules"]),
        vec![b.clone(), z.clone(), a.clone()]
    );
    assert_eq!(positions(&r["reorderModules"]["modules"]), vec![0, 1, 2]);

    // A list that is not exactly the current set is refused, and nothing moves.
    for (ids, code) in [
        (json!([b, z]), "CONFLICT"),
        (
            json!([b, z, a, uuid::Uuid::now_v7().to_string()]),
            "CONFLICT",
        ),
        (json!([b, z, z]), "BAD_USER_INPUT"),
        (json!([b, z, "not-a-uuid"]), "BAD_USER_INPUT"),
    ] {
        let r = app
            .gql(Some(t), REORDER_MODULES, json!({"c": id, "ids": ids}))
            .await;
        assert_eq!(code_of(&r), code, "{ids}: {r}");
    }
    assert_eq!(
        ids_of(&course(&app, t, &id).await["modules"]),
        vec![b.clone(), z.clone(), a.clone()]
    );

    // Lessons: created in order, with kind defaults; reordered; moved between modules.
    let l1 = lesson(&app, t, &a, "L1", "VIDEO").await;
    let l2 = lesson(&app, t, &a, "L2", "DOCUMENT").await;
    let l3 = lesson(&app, t, &a, "L3", "TEXT").await;
    let seen = course(&app, t, &id).await;
    let lessons = &seen["modules"][2]["lessons"];
    assert_eq!(ids_of(lessons), vec![l1.clone(), l2.clone(), l3.clone()]);
    assert_eq!(lessons[0]["completionThreshold"], 0.9);
    assert_eq!(lessons[1]["completionThreshold"], 0.9);
    assert_eq!(lessons[2]["completionThreshold"], 1.0);
    assert_eq!(lessons[0]["required"], true);
    let r = app
        .ok(
            Some(t),
            REORDER_LESSONS,
            json!({"m": a, "ids": [l3, l1, l2]}),
        )
        .await;
    assert_eq!(
        ids_of(&r["reorderLessons"]["lessons"]),
        vec![l3.clone(), l1.clone(), l2.clone()]
    );
    let r = app
        .gql(Some(t), REORDER_LESSONS, json!({"m": a, "ids": [l3, l1]}))
        .await;
    assert_eq!(code_of(&r), "CONFLICT", "{r}");

    let r = app
        .ok(Some(t), MOVE_LESSON, json!({"l": l1, "m": b, "p": 0}))
        .await;
    assert_eq!(r["moveLesson"]["module"]["id"], b.as_str());
    assert_eq!(r["moveLesson"]["position"], 0);
    let l4 = lesson(&app, t, &b, "L4", "TEXT").await;
    // Within one module, to the end.
    app.ok(Some(t), MOVE_LESSON, json!({"l": l1, "m": b, "p": 1}))
        .await;
    let seen = course(&app, t, &id).await;
    assert_eq!(
        ids_of(&seen["modules"][0]["lessons"]),
        vec![l4.clone(), l1.clone()]
    );
    assert_eq!(positions(&seen["modules"][0]["lessons"]), vec![0, 1]);
    assert_eq!(
        ids_of(&seen["modules"][2]["lessons"]),
        vec![l3.clone(), l2.clone()]
    );
    assert_eq!(positions(&seen["modules"][2]["lessons"]), vec![0, 1]);

    // A position past the end, or a module of another course, is refused.
    let r = app
        .gql(Some(t), MOVE_LESSON, json!({"l": l1, "m": a, "p": 3}))
        .await;
    assert_eq!(code_of(&r), "BAD_USER_INPUT", "{r}");
    let elsewhere = draft(&app, t, "LAIN", "Lain", 1).await;
    let em = module(&app, t, &elsewhere, "M").await;
    let r = app
        .gql(Some(t), MOVE_LESSON, json!({"l": l1, "m": em, "p": 0}))
        .await;
    assert_eq!(code_of(&r), "BAD_USER_INPUT", "{r}");
    assert_eq!(r["errors"][0]["extensions"]["field"], "toModuleId");
}

fn id_str(v: &Value) -> String {
    id(v)
}

#[tokio::test]
async fn deleting_in_a_published_course_archives_and_keeps_the_id() {
    let app = TestApp::spawn().await;
    let c = cast(&app).await;
    let t = &c.trainer;

    // In a draft that was never published, a delete really deletes.
    let scratch = draft(&app, t, "CORET", "Coretan", 1).await;
    let sm = module(&app, t, &scratch, "M").await;
    let sl = lesson(&app, t, &sm, "L", "TEXT").await;
    let r = app.ok(Some(t), DELETE_LESSON, json!({ "id": sl })).await;
    assert_eq!(r["deleteLesson"], json!({"id": sl, "archived": false}));
    let r = app.gql(Some(t), DELETE_LESSON, json!({ "id": sl })).await;
    assert_eq!(code_of(&r), "NOT_FOUND", "{r}");
    lesson(&app, t, &sm, "L2", "TEXT").await;
    let r = app.ok(Some(t), DELETE_MODULE, json!({ "id": sm })).await;
    assert_eq!(r["deleteModule"]["archived"], false);
    assert_eq!(course(&app, t, &scratch).await["modules"], json!([]));

    // In a published course it archives: the id stays, editors see it flagged, learners not.
    let id = draft(&app, t, "ARSIP", "Arsip", 2).await;
    let (m, first) = publish(&app, &c, t, &id).await;
    let second = lesson(&app, t, &m, "Kedua", "VIDEO").await;
    let third = lesson(&app, t, &m, "Ketiga", "TEXT").await;
    app.ok(Some(t), PUBLISH_LESSON, json!({ "id": third }))
        .await;
    let r = app
        .ok(Some(t), DELETE_LESSON, json!({ "id": second }))
        .await;
    assert_eq!(r["deleteLesson"], json!({"id": second, "archived": true}));
    let seen = course(&app, t, &id).await;
    let lessons = &seen["modules"][0]["lessons"];
    assert_eq!(
        ids_of(lessons),
        vec![first.clone(), third.clone(), second.clone()]
    );
    assert_eq!(lessons[2]["archived"], true);
    assert_eq!(
        positions(lessons)[..2],
        [0, 1],
        "the active ones close the gap"
    );
    let seen = course(&app, &c.learner, &id).await;
    assert_eq!(
        ids_of(&seen["modules"][0]["lessons"]),
        vec![first.clone(), third.clone()]
    );
    // An archived lesson no longer changes, and is not part of a reorder.
    let r = app
        .gql(
            Some(t),
            "mutation($id: ID!) { updateLesson(id: $id, input: {title: \"X\"}) { id } }",
            json!({ "id": second }),
        )
        .await;
    assert_eq!(code_of(&r), "CONFLICT", "{r}");
    app.ok(
        Some(t),
        REORDER_LESSONS,
        json!({"m": m, "ids": [third, first]}),
    )
    .await;
    // Deleting again is harmless.
    let r = app
        .ok(Some(t), DELETE_LESSON, json!({ "id": second }))
        .await;
    assert_eq!(r["deleteLesson"]["archived"], true);

    // A module goes the same way, with its lessons.
    let r = app.ok(Some(t), DELETE_MODULE, json!({ "id": m })).await;
    assert_eq!(r["deleteModule"], json!({"id": m, "archived": true}));
    let seen = course(&app, t, &id).await;
    assert_eq!(seen["modules"][0]["id"], m.as_str());
    assert_eq!(seen["modules"][0]["archived"], true);
    assert!(
        seen["modules"][0]["lessons"]
            .as_array()
            .unwrap()
            .iter()
            .all(|l| l["archived"] == true)
    );
    assert_eq!(course(&app, &c.learner, &id).await["modules"], json!([]));
    let r = app
        .gql(
            Some(t),
            CREATE_LESSON,
            json!({"m": m, "i": {"title": "X", "kind": "TEXT"}}),
        )
        .await;
    assert_eq!(code_of(&r), "CONFLICT", "{r}");
}

#[tokio::test]
async fn bad_input_is_refused_with_its_code_and_field() {
    let app = TestApp::spawn().await;
    let c = cast(&app).await;
    let t = Some(c.trainer.as_str());
    let base =
        json!({"code": "BASE", "title": "Dasar", "competencyType": "TECHNICAL", "jpCredit": 2});
    let id = create_course(&app, &c.trainer, base.clone()).await;
    let m = module(&app, &c.trainer, &id, "M").await;
    let l = lesson(&app, &c.trainer, &m, "L", "VIDEO").await;

    let with = |patch: Value| {
        let mut v = base.clone();
        for (k, x) in patch.as_object().unwrap() {
            v[k] = x.clone();
        }
        json!({ "i": v })
    };
    for (vars, code, field) in [
        (
            with(json!({"code": "bad code"})),
            "BAD_USER_INPUT",
            Some("code"),
        ),
        (
            with(json!({"code": "X".repeat(33)})),
            "BAD_USER_INPUT",
            Some("code"),
        ),
        (with(json!({"code": "base"})), "CONFLICT", None),
        (
            with(json!({"code": "J1", "jpCredit": 1001})),
            "BAD_USER_INPUT",
            Some("jpCredit"),
        ),
        (
            with(json!({"code": "J2", "jpCredit": -1})),
            "BAD_USER_INPUT",
            Some("jpCredit"),
        ),
        (
            with(json!({"code": "T1", "title": "  "})),
            "BAD_USER_INPUT",
            Some("title"),
        ),
        (
            with(json!({"code": "T2", "tags": ["x".repeat(51)]})),
            "BAD_USER_INPUT",
            Some("tags"),
        ),
        (
            with(
                json!({"code": "T3", "tags": (0..21).map(|i| format!("t{i}")).collect::<Vec<_>>()}),
            ),
            "BAD_USER_INPUT",
            Some("tags"),
        ),
    ] {
        let r = app.gql(t, CREATE, vars.clone()).await;
        assert_eq!(code_of(&r), code, "{vars}: {r}");
        if let Some(field) = field {
            assert_eq!(r["errors"][0]["extensions"]["field"], field, "{vars}");
        }
    }
    // A learner creates no course.
    let r = app
        .gql(Some(&c.learner), CREATE, with(json!({"code": "LRN"})))
        .await;
    assert_eq!(code_of(&r), "FORBIDDEN", "{r}");

    let unknown = uuid::Uuid::now_v7().to_string();
    let update_lesson =
        "mutation($id: ID!, $i: UpdateLessonInput!) { updateLesson(id: $id, input: $i) { id } }";
    let big = "a".repeat(200 * 1024 + 1);
    for (query, vars, code, field) in [
        (COURSE, json!({"id": unknown}), "NOT_FOUND", None),
        (
            COURSE,
            json!({"id": "garbage"}),
            "BAD_USER_INPUT",
            Some("id"),
        ),
        (
            BY_CODE,
            json!({"c": "no such code"}),
            "BAD_USER_INPUT",
            Some("code"),
        ),
        (BY_CODE, json!({"c": "NOPE"}), "NOT_FOUND", None),
        (
            UPDATE,
            json!({"id": unknown, "i": {"title": "x"}}),
            "NOT_FOUND",
            None,
        ),
        (SUBMIT, json!({"id": "12"}), "BAD_USER_INPUT", Some("id")),
        (
            CREATE_MODULE,
            json!({"c": unknown, "i": {"title": "x"}}),
            "NOT_FOUND",
            None,
        ),
        (
            CREATE_MODULE,
            json!({"c": id, "i": {"title": "x", "position": 5}}),
            "BAD_USER_INPUT",
            Some("position"),
        ),
        (
            CREATE_LESSON,
            json!({"m": unknown, "i": {"title": "x", "kind": "TEXT"}}),
            "NOT_FOUND",
            None,
        ),
        (
            CREATE_LESSON,
            json!({"m": m, "i": {"title": "x", "kind": "TEXT", "completionThreshold": 0.5}}),
            "BAD_USER_INPUT",
            Some("completionThreshold"),
        ),
        (
            CREATE_LESSON,
            json!({"m": m, "i": {"title": "x", "kind": "VIDEO", "completionThreshold": 0}}),
            "BAD_USER_INPUT",
            Some("completionThreshold"),
        ),
        (
            CREATE_LESSON,
            json!({"m": m, "i": {"title": "x", "kind": "TEXT", "body": big}}),
            "BAD_USER_INPUT",
            Some("body"),
        ),
        (
            update_lesson,
            json!({"id": l, "i": {"completionThreshold": 1.5}}),
            "BAD_USER_INPUT",
            Some("completionThreshold"),
        ),
        (
            update_lesson,
            json!({"id": unknown, "i": {"title": "x"}}),
            "NOT_FOUND",
            None,
        ),
        (DELETE_MODULE, json!({"id": unknown}), "NOT_FOUND", None),
        (
            MOVE_LESSON,
            json!({"l": l, "m": unknown, "p": 0}),
            "NOT_FOUND",
            None,
        ),
        (
            MOVE_LESSON,
            json!({"l": l, "m": m, "p": -1}),
            "BAD_USER_INPUT",
            Some("position"),
        ),
        (
            REORDER_MODULES,
            json!({"c": unknown, "ids": []}),
            "NOT_FOUND",
            None,
        ),
        (
            REORDER_LESSONS,
            json!({"m": m, "ids": []}),
            "CONFLICT",
            None,
        ),
        (REJECT, json!({"id": id, "r": "  "}), "FORBIDDEN", None),
    ] {
        let r = app.gql(t, query, vars.clone()).await;
        assert_eq!(code_of(&r), code, "{query} {vars}: {r}");
        if let Some(field) = field {
            assert_eq!(r["errors"][0]["extensions"]["field"], field, "{vars}");
        }
    }
    let r = app
        .gql(Some(&c.admin), REJECT, json!({"id": id, "r": "  "}))
        .await;
    assert_eq!(code_of(&r), "BAD_USER_INPUT", "{r}");
    assert_eq!(r["errors"][0]["extensions"]["field"], "reason");
    let r = app.gql(Some(&c.admin), APPROVE, json!({ "id": id })).await;
    assert_eq!(code_of(&r), "CONFLICT", "a draft is not approved: {r}");
}

/// The module ids of an outline, and per module its lessons' (id, published).
fn outline_of(course: &Value) -> Vec<(String, Vec<(String, bool)>)> {
    course["modules"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            let lessons = m["lessons"]
                .as_array()
                .unwrap()
                .iter()
                .map(|l| (id_str(&l["id"]), l["publishedAt"].is_string()))
                .collect();
            (id_str(&m["id"]), lessons)
        })
        .collect()
}

async fn outline(app: &TestApp, token: &str, course: &str) -> Value {
    app.ok(Some(token), OUTLINE, json!({ "id": course })).await["course"].clone()
}

/// Each lesson of an outline with its `readinessProblems`, in course order.
fn lesson_problems(course: &Value) -> Vec<(String, Value)> {
    course["modules"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|m| m["lessons"].as_array().unwrap())
        .map(|l| (id_str(&l["id"]), l["readinessProblems"].clone()))
        .collect()
}

fn message_of(r: &Value) -> String {
    r["errors"][0]["message"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

#[tokio::test]
async fn a_lesson_added_after_publication_reaches_learners_once_published() {
    let app = TestApp::spawn().await;
    let c = cast(&app).await;
    let t = &c.trainer;

    // The lessons of a draft go out with the course; one is not published on its own.
    let id = draft(&app, t, "TERBIT", "Terbit bertahap", 2).await;
    let m = module(&app, t, &id, "Modul 1").await;
    let first = lesson(&app, t, &m, "Pengantar", "TEXT").await;
    let r = app
        .gql(Some(t), PUBLISH_LESSON, json!({ "id": first }))
        .await;
    assert_eq!(code_of(&r), "CONFLICT", "{r}");
    assert!(message_of(&r).contains("not been published yet"), "{r}");
    assert_eq!(
        outline_of(&outline(&app, t, &id).await),
        vec![(m.clone(), vec![(first.clone(), false)])]
    );
    app.ok(Some(t), SUBMIT, json!({ "id": id })).await;
    app.ok(Some(&c.admin), APPROVE, json!({ "id": id })).await;
    assert_eq!(
        outline_of(&outline(&app, t, &id).await),
        vec![(m.clone(), vec![(first.clone(), true)])],
        "approval publishes the course's lessons"
    );

    // Added later, they wait: editors see them unpublished, learners do not see them, nor a
    // module with nothing published in it.
    let video = lesson(&app, t, &m, "Rekaman", "VIDEO").await;
    let summary = lesson(&app, t, &m, "Ringkasan", "TEXT").await;
    let m2 = module(&app, t, &id, "Modul 2").await;
    let closing = lesson(&app, t, &m2, "Penutup", "TEXT").await;
    let seen = outline(&app, t, &id).await;
    assert_eq!(
        outline_of(&seen),
        vec![
            (
                m.clone(),
                vec![
                    (first.clone(), true),
                    (video.clone(), false),
                    (summary.clone(), false)
                ]
            ),
            (m2.clone(), vec![(closing.clone(), false)]),
        ]
    );
    assert_eq!(
        seen["readinessProblems"],
        json!(["lesson \"Rekaman\" has no recording yet"])
    );
    // Each lesson tells its editors what keeps it back; anyone else is told nothing.
    let recording_missing = json!(["lesson \"Rekaman\" has no recording yet"]);
    assert_eq!(
        lesson_problems(&seen),
        vec![
            (first.clone(), json!([])),
            (video.clone(), recording_missing.clone()),
            (summary.clone(), json!([])),
            (closing.clone(), json!([])),
        ]
    );
    assert_eq!(
        lesson_problems(&outline(&app, &c.admin, &id).await)[1],
        (video.clone(), recording_missing.clone())
    );
    for token in [&c.other, &c.learner] {
        let seen = outline(&app, token, &id).await;
        assert_eq!(seen["readinessProblems"], Value::Null);
        assert_eq!(
            lesson_problems(&seen),
            vec![(first.clone(), Value::Null)],
            "only the published lesson, with nothing about readiness"
        );
    }
    let learner_view = || async { outline_of(&outline(&app, &c.learner, &id).await) };
    assert_eq!(
        learner_view().await,
        vec![(m.clone(), vec![(first.clone(), true)])]
    );

    // A lesson that is not ready is refused, saying why.
    let r = app
        .gql(Some(t), PUBLISH_LESSON, json!({ "id": video }))
        .await;
    assert_eq!(code_of(&r), "CONFLICT", "{r}");
    assert!(
        message_of(&r).contains("lesson \"Rekaman\" has no recording yet"),
        "{r}"
    );
    // Only the course's editors publish.
    for token in [&c.other, &c.learner] {
        let r = app
            .gql(Some(token), PUBLISH_LESSON, json!({ "id": summary }))
            .await;
        assert_eq!(code_of(&r), "FORBIDDEN", "{r}");
    }
    let r = app.gql(Some(t), PUBLISH_LESSON, json!({ "id": "x" })).await;
    assert_eq!(code_of(&r), "BAD_USER_INPUT", "{r}");
    let r = app
        .gql(
            Some(t),
            PUBLISH_LESSON,
            json!({ "id": uuid::Uuid::now_v7().to_string() }),
        )
        .await;
    assert_eq!(code_of(&r), "NOT_FOUND", "{r}");
    let r = app
        .gql(None, PUBLISH_LESSON, json!({ "id": summary }))
        .await;
    assert_eq!(code_of(&r), "UNAUTHENTICATED", "{r}");
    assert_eq!(
        learner_view().await,
        vec![(m.clone(), vec![(first.clone(), true)])],
        "refusals publish nothing"
    );

    // Published, it takes its place for learners; publishing again changes nothing.
    let r = app
        .ok(Some(t), PUBLISH_LESSON, json!({ "id": summary }))
        .await;
    let at = r["publishLesson"]["publishedAt"].clone();
    assert!(at.is_string(), "{r}");
    let r = app
        .ok(Some(t), PUBLISH_LESSON, json!({ "id": summary }))
        .await;
    assert_eq!(r["publishLesson"]["publishedAt"], at);
    assert_eq!(
        learner_view().await,
        vec![(
            m.clone(),
            vec![(first.clone(), true), (summary.clone(), true)]
        )]
    );

    // An admin who does not own the course publishes too, audited; the module then shows.
    app.ok(Some(&c.admin), PUBLISH_LESSON, json!({ "id": closing }))
        .await;
    assert!(
        audit_actions(&app)
            .await
            .contains(&"course.lesson.publish".to_owned())
    );
    assert_eq!(
        learner_view().await,
        vec![
            (
                m.clone(),
                vec![(first.clone(), true), (summary.clone(), true)]
            ),
            (m2.clone(), vec![(closing.clone(), true)]),
        ]
    );

    // Republishing an archived course checks the published lessons only: the waiting video
    // does not hold it back, and stays unpublished.
    app.ok(Some(&c.admin), ARCHIVE, json!({ "id": id })).await;
    let r = app.ok(Some(&c.admin), REPUBLISH, json!({ "id": id })).await;
    assert_eq!(r["republishCourse"]["state"], "PUBLISHED");
    let seen = outline_of(&outline(&app, t, &id).await);
    assert_eq!(seen[0].1[1], (video.clone(), false));

    // An archived lesson is not published, and nothing is said to be missing from it.
    app.ok(Some(t), DELETE_LESSON, json!({ "id": video })).await;
    let r = app
        .gql(Some(t), PUBLISH_LESSON, json!({ "id": video }))
        .await;
    assert_eq!(code_of(&r), "CONFLICT", "{r}");
    let seen = outline(&app, t, &id).await;
    assert_eq!(seen["readinessProblems"], json!([]));
    assert!(
        lesson_problems(&seen).contains(&(video.clone(), json!([]))),
        "{seen}"
    );
}

#[tokio::test]
async fn migration_12_keeps_the_lessons_learners_already_had() {
    use migration::MigratorTrait;
    use sea_orm::EntityTrait;
    let app = TestApp::spawn().await;
    let c = cast(&app).await;
    let t = &c.trainer;
    let out = draft(&app, t, "SUDAH", "Sudah terbit", 2).await;
    let (m, first) = publish(&app, &c, t, &out).await;
    let later = lesson(&app, t, &m, "Ditambah kemudian", "TEXT").await;
    let waiting = draft(&app, t, "BELUM", "Belum terbit", 2).await;
    let wm = module(&app, t, &waiting, "Modul").await;
    let unpublished = lesson(&app, t, &wm, "Konsep", "TEXT").await;

    // Without the column, then with it again: what learners saw before it existed, they keep.
    let db = &app.server.state.db;
    migration::Migrator::down(db, Some(1)).await.unwrap();
    migration::Migrator::up(db, None).await.unwrap();
    let row = |id: &str| {
        let id = uuid::Uuid::parse_str(id).unwrap();
        async move {
            course::entity::lesson::Entity::find_by_id(id)
                .one(db)
                .await
                .unwrap()
                .unwrap()
        }
    };
    let course_published =
        course::entity::course::Entity::find_by_id(uuid::Uuid::parse_str(&out).unwrap())
            .one(db)
            .await
            .unwrap()
            .unwrap()
            .published_at;
    assert!(course_published.is_some());
    assert_eq!(row(&first).await.published_at, course_published);
    let later = row(&later).await;
    assert_eq!(later.published_at, Some(later.created_at));
    assert_eq!(row(&unpublished).await.published_at, None);
}
