//! Reaction surveys: offered once the course is completed, answered once, refused whole when an
//! answer is bad, and shown to trainers only as aggregates (per trainer from 5 responses).

use lms_tests::{TestApp, error_code};
use serde_json::{Value, json};

use super::*;

const PENDING: &str = "{ myPendingSurveys { level enrollmentId courseTitle learnerName } }";
const RESULTS: &str = "query($c: ID!) { surveyResults(courseId: $c) { responses minimumResponses dimensions { dimension summary { answers mean distribution } } questions { question { position text } summary { answers mean distribution } } comments { question text } trainers { trainer { id name } responses dimensions { dimension summary { answers mean distribution } } comments { question text } } } }";

fn field(body: &Value) -> Option<String> {
    body["errors"][0]["extensions"]["field"]
        .as_str()
        .map(str::to_owned)
}

#[tokio::test]
async fn the_indonesian_reaction_survey_is_offered_after_completion_and_not_before() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let c = course(&app, &admin, "mr-2026", 4, 2).await;
    let (_, token) = learner(&app, &admin, "siti@dinkes.go.id", 1).await;
    let e = enroll(&app, &token, &c).await;

    let before = app
        .gql(Some(&token), FORM, json!({"e": e, "l": "REACTION"}))
        .await;
    assert_eq!(error_code(&before).as_deref(), Some("CONFLICT"), "{before}");
    assert!(
        before["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("once the course is completed")
    );
    let pending = app.ok(Some(&token), PENDING, json!({})).await;
    assert_eq!(pending["myPendingSurveys"], json!([]));

    complete(&app, &token, &c, now() - chrono::Duration::hours(1)).await;
    let pending = app.ok(Some(&token), PENDING, json!({})).await;
    assert_eq!(
        pending["myPendingSurveys"],
        json!([{"level": "REACTION", "enrollmentId": e, "courseTitle": "Pelatihan mr-2026", "learnerName": "Peserta 1"}])
    );
    let f = form(&app, &token, &e, "REACTION").await;
    let template = &f["surveyForm"]["template"];
    assert_eq!(template["name"], "Evaluasi Reaksi Peserta (standar)");
    assert_eq!(template["isDefault"], true);
    assert_eq!(f["surveyForm"]["submitted"], false);
    let items = items(&f);
    assert_eq!(
        items[0]["text"],
        "Materi pelatihan sesuai dengan kebutuhan pekerjaan saya."
    );
    assert_eq!(items[0]["dimension"], "MATERIAL");
    assert_eq!(items[0]["kind"], "LIKERT");
    // The per-trainer block is asked once for each of the two trainers, in owner order.
    let about: Vec<&str> = items
        .iter()
        .filter(|i| i["text"] == "Narasumber menguasai materi yang disampaikan.")
        .map(|i| i["trainer"]["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        about,
        vec![c.trainers[0].2.as_str(), c.trainers[1].2.as_str()]
    );
    // 12 course-wide items and 4 per trainer: 16 questions, 20 items.
    assert_eq!(items.len(), 20);
    for dim in ["MATERIAL", "TRAINER", "ORGANISATION", "USEFULNESS"] {
        assert!(items.iter().any(|i| i["dimension"] == dim), "{dim}");
    }
    assert!(
        items
            .iter()
            .any(|i| i["kind"] == "TEXT" && i["trainer"].is_null())
    );
}

#[tokio::test]
async fn a_response_is_stored_once_and_bad_answers_are_refused_with_their_field() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let c = course(&app, &admin, "sekda-01", 2, 1).await;
    let (_, token) = learner(&app, &admin, "budi@setda.go.id", 2).await;
    let (_, other) = learner(&app, &admin, "ani@setda.go.id", 3).await;
    let e = enroll_and_complete(&app, &token, &c, now()).await;
    let f = form(&app, &token, &e, "REACTION").await;

    for bad in [0, 6] {
        let mut a = answers(&f, |_| 4, |_| None);
        a[1]["likert"] = json!(bad);
        let body = submit(&app, &token, &e, "REACTION", &a).await;
        assert_eq!(
            error_code(&body).as_deref(),
            Some("BAD_USER_INPUT"),
            "{body}"
        );
        assert_eq!(field(&body).as_deref(), Some("answers[1].likert"));
    }
    let mut unknown = answers(&f, |_| 4, |_| None);
    unknown[0]["questionId"] = json!(uuid::Uuid::now_v7().to_string());
    let body = submit(&app, &token, &e, "REACTION", &unknown).await;
    assert_eq!(error_code(&body).as_deref(), Some("BAD_USER_INPUT"));
    assert_eq!(field(&body).as_deref(), Some("answers[0].questionId"));
    let missing = answers(&f, |_| 4, |_| None)[1..].to_vec();
    let body = submit(&app, &token, &e, "REACTION", &missing).await;
    assert_eq!(error_code(&body).as_deref(), Some("BAD_USER_INPUT"));
    assert_eq!(field(&body).as_deref(), Some("answers"));
    // Nothing was stored by the refused submissions.
    assert_eq!(
        form(&app, &token, &e, "REACTION").await["surveyForm"]["submitted"],
        false
    );

    // Someone else cannot answer about this enrollment.
    let good = answers(&f, |_| 5, |_| Some("Sangat bermanfaat".into()));
    let body = submit(&app, &other, &e, "REACTION", &good).await;
    assert_eq!(error_code(&body).as_deref(), Some("FORBIDDEN"));

    let ok = submit(&app, &token, &e, "REACTION", &good).await;
    assert!(ok.get("errors").is_none(), "{ok}");
    assert_eq!(ok["data"]["submitSurvey"]["level"], "REACTION");

    let again = answers(&f, |_| 1, |_| None);
    let body = submit(&app, &token, &e, "REACTION", &again).await;
    assert_eq!(error_code(&body).as_deref(), Some("CONFLICT"), "{body}");
    assert!(
        body["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("already answered")
    );
    // The first answers are what counts.
    let r = app
        .ok(Some(&c.trainers[0].1), RESULTS, json!({"c": c.id}))
        .await;
    assert_eq!(r["surveyResults"]["responses"], 1);
    for d in r["surveyResults"]["dimensions"].as_array().unwrap() {
        assert_eq!(d["summary"]["mean"], 5.0, "{d}");
    }
    let f = form(&app, &token, &e, "REACTION").await;
    assert_eq!(f["surveyForm"]["submitted"], true);
    let pending = app.ok(Some(&token), PENDING, json!({})).await;
    assert_eq!(pending["myPendingSurveys"], json!([]));
}

/// Course-wide answers of learner `k` by dimension, and answers about trainers A and B.
const MATERIAL: [i32; 5] = [5, 4, 4, 3, 2];
const ORGANISATION: [i32; 5] = [4, 4, 4, 4, 5];
const USEFULNESS: [i32; 5] = [5, 5, 4, 4, 3];
const TRAINER_A: [i32; 5] = [5, 5, 4, 4, 4];
const TRAINER_B: [i32; 5] = [3, 2, 3, 4, 3];
const HELPFUL: [&str; 5] = [
    "Studi kasus puskesmas",
    "Contoh formulir risiko",
    "Diskusi kasus banjir",
    "Video singkat",
    "Bahan bacaan",
];

fn dimension<'a>(list: &'a Value, name: &str) -> &'a Value {
    list.as_array()
        .unwrap()
        .iter()
        .find(|d| d["dimension"] == name)
        .unwrap_or_else(|| panic!("no {name} in {list}"))
}

#[tokio::test]
async fn trainers_see_aggregates_and_per_trainer_results_only_from_five_responses() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let c = course(&app, &admin, "k3-2026", 6, 2).await;
    let (a_id, b_id) = (c.trainers[0].0.clone(), c.trainers[1].0.clone());
    let trainer = c.trainers[1].1.clone();
    let t = now();
    let mut learners = Vec::new();
    for k in 0..5u32 {
        let (_, token) = learner(&app, &admin, &format!("peserta{k}@dinkes.go.id"), 10 + k).await;
        let e = enroll_and_complete(&app, &token, &c, t).await;
        learners.push((token, e));
    }
    let answer = |k: usize, f: &Value| {
        answers(
            f,
            |item| match (item["dimension"].as_str(), item["trainer"]["id"].as_str()) {
                (_, Some(t)) if t == a_id => TRAINER_A[k],
                (_, Some(t)) if t == b_id => TRAINER_B[k],
                (Some("MATERIAL"), _) => MATERIAL[k],
                (Some("ORGANISATION"), _) => ORGANISATION[k],
                (Some("USEFULNESS"), _) => USEFULNESS[k],
                // The course-wide trainer question.
                _ => 4,
            },
            |item| match (item["position"].as_i64(), item["trainer"]["id"].as_str()) {
                (Some(15), None) => Some(HELPFUL[k].to_owned()),
                (Some(8), Some(t)) if t == a_id && k == 0 => Some("Perbanyak contoh".into()),
                _ => None,
            },
        )
    };
    for (k, (token, e)) in learners.iter().enumerate().take(4) {
        let f = form(&app, token, e, "REACTION").await;
        let body = submit(&app, token, e, "REACTION", &answer(k, &f)).await;
        assert!(body.get("errors").is_none(), "{body}");
    }

    let r = app.ok(Some(&trainer), RESULTS, json!({"c": c.id})).await;
    let r = &r["surveyResults"];
    assert_eq!(r["responses"], 4);
    assert_eq!(r["minimumResponses"], 5);
    // Material, 3 questions: 5, 4, 4 and 3, three times each.
    assert_eq!(
        dimension(&r["dimensions"], "MATERIAL")["summary"],
        json!({"answers": 12, "mean": 4.0, "distribution": [0, 0, 3, 6, 3]})
    );
    // Below 5 responses: no per-trainer results and no comments, but their n.
    assert!(r["comments"].is_null());
    for t in r["trainers"].as_array().unwrap() {
        assert_eq!(t["responses"], 4);
        assert!(t["dimensions"].is_null() && t["comments"].is_null(), "{t}");
    }

    let (token, e) = &learners[4];
    let f = form(&app, token, e, "REACTION").await;
    let body = submit(&app, token, e, "REACTION", &answer(4, &f)).await;
    assert!(body.get("errors").is_none(), "{body}");

    let r = app.ok(Some(&trainer), RESULTS, json!({"c": c.id})).await;
    let r = &r["surveyResults"];
    assert_eq!(r["responses"], 5);
    // Material: (3·5 + 6·4 + 3·3 + 3·2) / 15 = 54 / 15 = 3.6.
    assert_eq!(
        dimension(&r["dimensions"], "MATERIAL")["summary"],
        json!({"answers": 15, "mean": 3.6, "distribution": [0, 3, 3, 6, 3]})
    );
    // Organisation: (12·4 + 3·5) / 15 = 63 / 15 = 4.2.
    assert_eq!(
        dimension(&r["dimensions"], "ORGANISATION")["summary"],
        json!({"answers": 15, "mean": 4.2, "distribution": [0, 0, 0, 12, 3]})
    );
    // Usefulness: (6·5 + 6·4 + 3·3) / 15 = 63 / 15 = 4.2.
    assert_eq!(
        dimension(&r["dimensions"], "USEFULNESS")["summary"],
        json!({"answers": 15, "mean": 4.2, "distribution": [0, 0, 3, 6, 6]})
    );
    // The course-wide trainer question only: per-trainer answers stay in `trainers`.
    assert_eq!(
        dimension(&r["dimensions"], "TRAINER")["summary"],
        json!({"answers": 5, "mean": 4.0, "distribution": [0, 0, 0, 5, 0]})
    );
    let trainers = r["trainers"].as_array().unwrap();
    let of = |id: &str| trainers.iter().find(|t| t["trainer"]["id"] == id).unwrap();
    // Trainer A, 3 questions: (6·5 + 9·4) / 15 = 66 / 15 = 4.4.
    assert_eq!(of(&a_id)["responses"], 5);
    assert_eq!(
        dimension(&of(&a_id)["dimensions"], "TRAINER")["summary"],
        json!({"answers": 15, "mean": 4.4, "distribution": [0, 0, 0, 9, 6]})
    );
    assert_eq!(
        of(&a_id)["comments"],
        json!([{"question": "Saran untuk narasumber ini:", "text": "Perbanyak contoh"}])
    );
    // Trainer B: (3·2 + 9·3 + 3·4) / 15 = 45 / 15 = 3.
    assert_eq!(
        dimension(&of(&b_id)["dimensions"], "TRAINER")["summary"],
        json!({"answers": 15, "mean": 3.0, "distribution": [0, 3, 9, 3, 0]})
    );
    assert_eq!(of(&b_id)["comments"], json!([]));
    // Comments, without names, sorted by text.
    let mut sorted = HELPFUL.to_vec();
    sorted.sort_unstable();
    let texts: Vec<&str> = r["comments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["text"].as_str().unwrap())
        .collect();
    assert_eq!(texts, sorted);
    assert!(!r.to_string().contains("Peserta"), "no names in results");

    // Admins see the same; learners and other trainers see nothing.
    let admin_view = app.ok(Some(&admin), RESULTS, json!({"c": c.id})).await;
    assert_eq!(admin_view["surveyResults"]["responses"], 5);
    let body = app
        .gql(Some(&learners[0].0), RESULTS, json!({"c": c.id}))
        .await;
    assert_eq!(error_code(&body).as_deref(), Some("FORBIDDEN"));
    let other = super::course(&app, &admin, "lain-01", 1, 1).await;
    let body = app
        .gql(Some(&other.trainers[0].1), RESULTS, json!({"c": c.id}))
        .await;
    assert_eq!(error_code(&body).as_deref(), Some("FORBIDDEN"));
}

#[tokio::test]
async fn a_template_with_responses_gets_a_new_version_that_courses_follow() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let c = course(&app, &admin, "tpl-01", 2, 1).await;
    let owner = c.trainers[0].1.clone();
    let create = "mutation($i: CreateSurveyTemplateInput!) { createSurveyTemplate(input: $i) { id version familyId isDefault questions { text } } }";
    let q = |text: &str| json!({"kind": "LIKERT", "dimension": "MATERIAL", "text": text});
    let t = app
        .ok(
            Some(&admin),
            create,
            json!({"i": {"level": "REACTION", "name": "Reaksi singkat", "questions": [q("Materi jelas.")]}}),
        )
        .await["createSurveyTemplate"]
        .clone();
    assert_eq!(t["version"], 1);
    let body = app
        .gql(
            Some(&owner),
            create,
            json!({"i": {"level": "REACTION", "name": "x", "questions": [q("x")]}}),
        )
        .await;
    assert_eq!(error_code(&body).as_deref(), Some("FORBIDDEN"));
    let body = app
        .gql(
            Some(&admin),
            create,
            json!({"i": {"level": "REACTION", "name": "x", "questions": [{"kind": "LIKERT", "text": "tanpa dimensi"}]}}),
        )
        .await;
    assert_eq!(
        body["errors"][0]["extensions"]["field"],
        "questions[0].dimension"
    );

    let settings = "mutation($c: ID!, $i: UpdateCourseSurveySettingsInput!) { updateCourseSurveySettings(courseId: $c, input: $i) { reactionTemplate { id name } reactionUsesDefault followUpDays } }";
    let s1 = app
        .ok(
            Some(&owner),
            settings,
            json!({"c": c.id, "i": {"reactionTemplateId": t["id"], "followUpDays": 60}}),
        )
        .await;
    assert_eq!(
        s1["updateCourseSurveySettings"]["reactionTemplate"]["id"],
        t["id"]
    );
    assert_eq!(s1["updateCourseSurveySettings"]["followUpDays"], 60);

    let (_, token) = learner(&app, &admin, "tpl@dinkes.go.id", 40).await;
    let e = enroll_and_complete(&app, &token, &c, now()).await;
    let f = form(&app, &token, &e, "REACTION").await;
    assert_eq!(items(&f).len(), 1);
    let body = submit(&app, &token, &e, "REACTION", &answers(&f, |_| 3, |_| None)).await;
    assert!(body.get("errors").is_none(), "{body}");

    let update = "mutation($id: ID!, $i: UpdateSurveyTemplateInput!) { updateSurveyTemplate(id: $id, input: $i) { id version familyId questions { text } } }";
    let v2 = app
        .ok(
            Some(&admin),
            update,
            json!({"id": t["id"], "i": {"name": "Reaksi singkat", "questions": [q("Materi jelas dan runtut.")]}}),
        )
        .await["updateSurveyTemplate"]
        .clone();
    assert_eq!(v2["version"], 2);
    assert_eq!(v2["familyId"], t["familyId"]);
    assert_ne!(v2["id"], t["id"]);
    // The course follows the new version; the old one is frozen with its response.
    let read =
        "query($c: ID!) { courseSurveySettings(courseId: $c) { reactionTemplate { id version } } }";
    let now_in_force = app.ok(Some(&owner), read, json!({"c": c.id})).await;
    assert_eq!(
        now_in_force["courseSurveySettings"]["reactionTemplate"]["id"],
        v2["id"]
    );
    let body = app
        .gql(
            Some(&admin),
            update,
            json!({"id": t["id"], "i": {"name": "lagi", "questions": [q("lagi")]}}),
        )
        .await;
    assert_eq!(error_code(&body).as_deref(), Some("CONFLICT"));
    // The answered form still shows the wording that was answered.
    let f = form(&app, &token, &e, "REACTION").await;
    assert_eq!(items(&f)[0]["text"], "Materi jelas.");
}

#[tokio::test]
async fn results_and_pending_surveys_cost_a_fixed_number_of_statements() {
    use std::sync::{Arc, Mutex};
    let seen: Arc<Mutex<usize>> = Arc::default();
    let counter = seen.clone();
    let app = TestApp::spawn_with(lms_tests::Options {
        overrides: gateway::Overrides {
            statement_observer: Some(Arc::new(move |_: &sea_orm::metric::Info<'_>| {
                *counter.lock().unwrap() += 1;
            })),
            ..Default::default()
        },
        ..Default::default()
    })
    .await;
    let admin = app.admin().await;
    let measured = |token: String, query: &'static str, vars: Value| {
        let (app, seen) = (&app, seen.clone());
        async move {
            *seen.lock().unwrap() = 0;
            app.ok(Some(&token), query, vars).await;
            *seen.lock().unwrap()
        }
    };
    let c = course(&app, &admin, "hitung-01", 2, 2).await;
    let others = [
        super::course(&app, &admin, "hitung-02", 2, 1).await,
        super::course(&app, &admin, "hitung-03", 2, 1).await,
    ];
    let mut results_cost = Vec::new();
    for k in 0..3u32 {
        let (_, token) = learner(&app, &admin, &format!("hitung{k}@dinkes.go.id"), 60 + k).await;
        let e = enroll_and_complete(&app, &token, &c, now()).await;
        let f = form(&app, &token, &e, "REACTION").await;
        let answered = answers(&f, |_| 4, |_| Some("Baik".into()));
        let body = submit(&app, &token, &e, "REACTION", &answered).await;
        assert!(body.get("errors").is_none(), "{body}");
        results_cost.push(measured(c.trainers[0].1.clone(), RESULTS, json!({"c": c.id})).await);
    }
    // One learner with 1, 2 and 3 reaction surveys waiting.
    let (_, token) = learner(&app, &admin, "menunggu@dinkes.go.id", 70).await;
    let mut pending_cost = Vec::new();
    for course in [&c, &others[0], &others[1]] {
        enroll_and_complete(&app, &token, course, now()).await;
        pending_cost.push(measured(token.clone(), PENDING, json!({})).await);
    }
    assert!(
        results_cost.windows(2).all(|w| w[0] == w[1]),
        "surveyResults: {results_cost:?}"
    );
    assert!(
        pending_cost.windows(2).all(|w| w[0] == w[1]),
        "myPendingSurveys: {pending_cost:?}"
    );
}
