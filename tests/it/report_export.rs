//! Report exports from the outside: a link from `reportExportUrl`, downloaded over HTTP without
//! a token, read back as a program would (the `csv` crate, `calamine` for XLSX) and checked
//! against values worked out by hand; the unit admin's scope; refused links; who may not get
//! one; and the per-learner sheet read in pages of 1,000 with a fixed number of statements.

use std::sync::{Arc, Mutex};

use calamine::{Data, Reader, Xlsx};
use chrono::Utc;
use lms_tests::{Options, TestApp, error_code};
use serde_json::{Value, json};
use uuid::Uuid;

const CREATE: &str = "mutation($i: CreateCourseInput!) { createCourse(input: $i) { id } }";
const CREATE_MODULE: &str =
    "mutation($c: ID!, $i: CreateModuleInput!) { createModule(courseId: $c, input: $i) { id } }";
const CREATE_LESSON: &str =
    "mutation($m: ID!, $i: CreateLessonInput!) { createLesson(moduleId: $m, input: $i) { id } }";
const SUBMIT_COURSE: &str = "mutation($id: ID!) { submitCourseForReview(id: $id) { state } }";
const APPROVE: &str = "mutation($id: ID!) { approveCourse(id: $id) { state } }";
const CREATE_COHORT: &str =
    "mutation($c: ID!, $i: CreateCohortInput!) { createCohort(courseId: $c, input: $i) { id } }";
const ENROLL: &str = "mutation($c: ID!) { enroll(cohortId: $c) { id state } }";
const WITHDRAW: &str = "mutation($e: ID!) { withdraw(enrollmentId: $e) { state } }";
const CREATE_BANK: &str =
    "mutation($i: CreateQuestionBankInput!) { createQuestionBank(input: $i) { id } }";
const CREATE_QUESTION: &str =
    "mutation($b: ID!, $i: CreateQuestionInput!) { createQuestion(bankId: $b, input: $i) { id } }";
const CONFIGURE: &str = "mutation($l: ID!, $s: QuizSettingsInput!) { configureQuiz(lessonId: $l, settings: $s) { id } }";
const SET_QUESTIONS: &str =
    "mutation($q: ID!, $ids: [ID!]!) { setQuizQuestions(quizId: $q, questionIds: $ids) { id } }";
const START: &str =
    "mutation($q: ID!) { startQuizAttempt(quizId: $q) { id questions { questionId prompt } } }";
const SAVE: &str = "mutation($a: ID!, $x: [QuizAnswerInput!]!) { saveQuizAnswers(attemptId: $a, answers: $x) { results { status reason } } }";
const SUBMIT: &str = "mutation($a: ID!) { submitQuizAttempt(attemptId: $a) { state percent } }";
const CREATE_PERSON: &str = "mutation($i: CreatePersonInput!) { createPerson(input: $i) { id } }";
const MY_CERTIFICATES: &str = "{ myCertificates { edges { node { code } } } }";

const EXPORT: &str = "mutation($c: ID!, $h: ID, $f: ReportFormat!, $s: ReportSection) { reportExportUrl(courseId: $c, cohortId: $h, format: $f, section: $s) { url expiresAt fileName } }";

/// The course title: a script tag, which the printable page must show as text.
const TITLE: &str = "Manajemen Risiko <script>alert(1)</script>";
const TRUTHS: [bool; 4] = [true, false, true, false];
const BOM: &[u8] = b"\xef\xbb\xbf";

fn s(v: &Value) -> String {
    v.as_str()
        .unwrap_or_else(|| panic!("a string, got {v}"))
        .to_owned()
}

struct World {
    admin: String,
    trainer: String,
    unit_admin: String,
    dinkes: String,
    puskesmas: String,
    disdik: String,
    course: String,
    other_course: String,
    cohort1: String,
    cohort2: String,
    pre: String,
    post: String,
}

/// Units DINKES (with PUSKESMAS below it) and DISDIK, a DINKES unit admin, the course's
/// trainer and another, the course (a pre-test and its post-test of four true/false
/// statements, passing at 60) with two cohorts.
async fn world(app: &TestApp) -> World {
    let admin = app.admin().await;
    let dinkes = app.unit(&admin, "DINKES", None).await;
    let puskesmas = app.unit(&admin, "PKM-CIPUTAT", Some(&dinkes)).await;
    let disdik = app.unit(&admin, "DISDIK", None).await;
    let (_, unit_admin) = app
        .signed_in(&admin, "ua@dinkes.go.id", &["UNIT_ADMIN"], Some(&dinkes))
        .await;
    let (_, trainer) = app
        .signed_in(&admin, "pelatih@bkpsdm.go.id", &["TRAINER"], None)
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
            Some(&trainer),
            CREATE,
            json!({"i": {"code": "MR-1", "title": TITLE, "competencyType": "TECHNICAL", "jpCredit": 4}}),
        )
        .await["createCourse"]["id"]);
    let module = s(&app
        .ok(
            Some(&trainer),
            CREATE_MODULE,
            json!({"c": course, "i": {"title": "Modul 1"}}),
        )
        .await["createModule"]["id"]);
    let mut lessons = Vec::new();
    for title in ["Pre-test", "Post-test"] {
        lessons.push(s(&app
            .ok(
                Some(&trainer),
                CREATE_LESSON,
                json!({"m": module, "i": {"title": title, "kind": "QUIZ"}}),
            )
            .await["createLesson"]["id"]));
    }
    let bank = s(&app
        .ok(
            Some(&trainer),
            CREATE_BANK,
            json!({"i": {"courseId": course, "title": "Bank soal"}}),
        )
        .await["createQuestionBank"]["id"]);
    let mut questions = Vec::new();
    for (i, truth) in TRUTHS.iter().enumerate() {
        questions.push(s(&app
            .ok(
                Some(&trainer),
                CREATE_QUESTION,
                json!({"b": bank, "i": {"kind": "TRUE_FALSE", "prompt": format!("Pernyataan {}", i + 1), "truth": truth}}),
            )
            .await["createQuestion"]["id"]));
    }
    app.ok(Some(&trainer), SUBMIT_COURSE, json!({"id": course}))
        .await;
    app.ok(Some(&admin), APPROVE, json!({"id": course})).await;
    let mut cohorts = Vec::new();
    for name in ["Angkatan I", "Angkatan II"] {
        cohorts.push(s(&app
            .ok(
                Some(&admin),
                CREATE_COHORT,
                json!({"c": course, "i": {"name": name}}),
            )
            .await["createCohort"]["id"]));
    }
    let pre = s(&app
        .ok(
            Some(&trainer),
            CONFIGURE,
            json!({"l": lessons[0], "s": {"kind": "PRE_TEST", "passingPercent": 0}}),
        )
        .await["configureQuiz"]["id"]);
    let post = s(&app
        .ok(
            Some(&trainer),
            CONFIGURE,
            json!({"l": lessons[1], "s": {"kind": "POST_TEST", "pairedQuizId": pre, "formPolicy": "SAME", "passingPercent": 60}}),
        )
        .await["configureQuiz"]["id"]);
    for quiz in [&pre, &post] {
        app.ok(
            Some(&trainer),
            SET_QUESTIONS,
            json!({"q": quiz, "ids": questions}),
        )
        .await;
    }
    let cohort2 = cohorts.pop().unwrap();
    let cohort1 = cohorts.pop().unwrap();
    World {
        admin,
        trainer,
        unit_admin,
        dinkes,
        puskesmas,
        disdik,
        course,
        other_course,
        cohort1,
        cohort2,
        pre,
        post,
    }
}

/// A learner called `name` (with a NIP or not) in `unit`, enrolled in `cohort`; returns
/// (token, enrollment id).
async fn learner(
    app: &TestApp,
    w: &World,
    name: &str,
    nip: Option<&str>,
    unit: &str,
    cohort: &str,
) -> (String, String) {
    let email = format!("{}@tangerangselatankota.go.id", Uuid::new_v4().simple());
    app.ok(
        Some(&w.admin),
        CREATE_PERSON,
        json!({"i": {"name": name, "nip": nip, "email": email, "unitId": unit, "password": lms_tests::PASSWORD}}),
    )
    .await;
    let (token, _) = app.sign_in(&email, lms_tests::PASSWORD).await;
    let e = app.ok(Some(&token), ENROLL, json!({"c": cohort})).await;
    assert_eq!(e["enroll"]["state"], "ACTIVE", "{e}");
    (token, s(&e["enroll"]["id"]))
}

/// Takes `quiz` answering the four statements as `pattern` says (`'1'` right, `'0'` wrong).
async fn take(app: &TestApp, token: &str, quiz: &str, pattern: &str, percent: f64) {
    let a = app.ok(Some(token), START, json!({"q": quiz})).await["startQuizAttempt"].clone();
    let now = Utc::now().to_rfc3339();
    let answers: Vec<Value> = a["questions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|q| {
            let i: usize = s(&q["prompt"])
                .split_whitespace()
                .nth(1)
                .unwrap()
                .parse()
                .unwrap();
            let right = pattern.as_bytes()[i - 1] == b'1';
            let truth = if right { TRUTHS[i - 1] } else { !TRUTHS[i - 1] };
            json!({"questionId": q["questionId"], "seq": 1, "answeredAt": now, "truth": truth})
        })
        .collect();
    app.ok(Some(token), SAVE, json!({"a": a["id"], "x": answers}))
        .await;
    let done = app.ok(Some(token), SUBMIT, json!({"a": a["id"]})).await;
    assert_eq!(done["submitQuizAttempt"]["state"], "GRADED", "{done}");
    let got = done["submitQuizAttempt"]["percent"].as_f64().unwrap();
    assert!((got - percent).abs() < 1e-9, "{done}");
}

/// A link from `reportExportUrl` (which must succeed).
async fn link(
    app: &TestApp,
    token: &str,
    w: &World,
    cohort: Option<&str>,
    format: &str,
    section: Option<&str>,
) -> Value {
    app.ok(
        Some(token),
        EXPORT,
        json!({"c": w.course, "h": cohort, "f": format, "s": section}),
    )
    .await["reportExportUrl"]
        .clone()
}

/// Downloads `url` without a token: (status, headers, body).
async fn get(app: &TestApp, url: &str) -> (u16, reqwest::header::HeaderMap, Vec<u8>) {
    let resp = app.client.get(url).send().await.unwrap();
    let status = resp.status().as_u16();
    let headers = resp.headers().clone();
    (status, headers, resp.bytes().await.unwrap().to_vec())
}

fn header(h: &reqwest::header::HeaderMap, name: &str) -> String {
    h.get(name)
        .unwrap_or_else(|| panic!("no {name} header"))
        .to_str()
        .unwrap()
        .to_owned()
}

/// A CSV file: its header and rows, after checking the byte order mark.
fn parse_csv(bytes: &[u8]) -> (Vec<String>, Vec<Vec<String>>) {
    assert!(bytes.starts_with(BOM), "no byte order mark");
    let mut r = csv::ReaderBuilder::new()
        .has_headers(true)
        .from_reader(&bytes[BOM.len()..]);
    let headers = r.headers().unwrap().iter().map(str::to_owned).collect();
    let rows = r
        .records()
        .map(|rec| rec.unwrap().iter().map(str::to_owned).collect())
        .collect();
    (headers, rows)
}

/// The row whose column `col` is `value`.
fn row_where<'a>(rows: &'a [Vec<String>], col: usize, value: &str) -> &'a Vec<String> {
    rows.iter()
        .find(|r| r[col] == value)
        .unwrap_or_else(|| panic!("no row with {value} in {rows:?}"))
}

fn workbook(bytes: Vec<u8>) -> Xlsx<std::io::Cursor<Vec<u8>>> {
    calamine::open_workbook_from_rs(std::io::Cursor::new(bytes)).unwrap()
}

const BUDI: &str = "Budi \"Ucok\" Santoso, S.Kom";
const FORMULA: &str = "=HYPERLINK(\"http://x\",\"klik\")";

/// Learners (cohort I unless said), answers and what follows, worked by hand:
///
/// ```text
///   learner  unit         pre   %    post  %    g = (post-pre)/(100-pre)  state
///   Ani      DINKES       1111 100   1111 100   left out (pre = 100)     Selesai (cert.)
///   Budi     PKM-CIPUTAT  1110  75   1111 100   25/25 = 1                Selesai
///   =HYP…    DISDIK       1100  50   1000  25   -25/50 = -0.5            Aktif (failed, 60)
///   Dedi     DISDIK (II)  -          -                                   Mengundurkan diri
/// ```
///
/// Budi's name has a comma and quotes; the third learner's name is a formula. Only Ani lists
/// her certificates, so only she has one (no worker runs the sweep).
struct Learners {
    ani_certificate: String,
}

async fn learners(app: &TestApp, w: &World) -> Learners {
    let (ani, _) = learner(
        app,
        w,
        "Ani Lestari",
        Some("198503122010012001"),
        &w.dinkes,
        &w.cohort1,
    )
    .await;
    let (budi, _) = learner(
        app,
        w,
        BUDI,
        Some("199001152015031003"),
        &w.puskesmas,
        &w.cohort1,
    )
    .await;
    let (formula, _) = learner(app, w, FORMULA, None, &w.disdik, &w.cohort1).await;
    let (dedi, dedi_enrollment) = learner(app, w, "Dedi", None, &w.disdik, &w.cohort2).await;
    for (token, pre, pre_pct, post, post_pct) in [
        (&ani, "1111", 100.0, "1111", 100.0),
        (&budi, "1110", 75.0, "1111", 100.0),
        (&formula, "1100", 50.0, "1000", 25.0),
    ] {
        take(app, token, &w.pre, pre, pre_pct).await;
        take(app, token, &w.post, post, post_pct).await;
    }
    app.ok(Some(&dedi), WITHDRAW, json!({"e": dedi_enrollment}))
        .await;
    let certs = app.ok(Some(&ani), MY_CERTIFICATES, json!({})).await;
    Learners {
        ani_certificate: s(&certs["myCertificates"]["edges"][0]["node"]["code"]),
    }
}

#[tokio::test]
async fn csv_xlsx_and_html_exports_match_the_learners() {
    let app = TestApp::spawn().await;
    let w = world(&app).await;
    let l = learners(&app, &w).await;

    // --- CSV, learners, every cohort, as the course's trainer ---
    let csv_link = link(&app, &w.trainer, &w, None, "CSV", Some("LEARNERS")).await;
    let url = s(&csv_link["url"]);
    assert!(url.contains("/reports/") && url.contains("&sig="), "{url}");
    let expires = chrono::DateTime::parse_from_rfc3339(&s(&csv_link["expiresAt"])).unwrap();
    let ttl = expires.signed_duration_since(Utc::now());
    assert!(
        ttl > chrono::Duration::minutes(14) && ttl <= chrono::Duration::minutes(15),
        "{ttl}"
    );
    let (status, h, body) = get(&app, &url).await;
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));
    assert_eq!(header(&h, "content-type"), "text/csv; charset=utf-8");
    let file = s(&csv_link["fileName"]);
    assert!(
        file.starts_with("laporan-evaluasi-mr-1-peserta-") && file.ends_with(".csv"),
        "{file}"
    );
    assert_eq!(
        header(&h, "content-disposition"),
        format!("attachment; filename=\"{file}\"")
    );
    assert_eq!(header(&h, "cache-control"), "private, no-store");
    // Quoting and the formula guard, as bytes.
    let text = String::from_utf8(body.clone()).unwrap();
    assert!(
        text.contains("\"Budi \"\"Ucok\"\" Santoso, S.Kom\""),
        "{text}"
    );
    assert!(
        text.contains("\"'=HYPERLINK(\"\"http://x\"\",\"\"klik\"\")\""),
        "{text}"
    );
    assert!(text.contains("\r\n"));
    let (headers, rows) = parse_csv(&body);
    assert_eq!(
        headers,
        [
            "NIP",
            "Nama",
            "Unit kerja",
            "Angkatan",
            "Status",
            "Progres (%)",
            "Selesai pada (WIB)",
            "Pre-test (%)",
            "Post-test (%)",
            "Gain individu (g)",
            "Kode sertifikat"
        ]
    );
    // Four learners (Dedi withdrew, and is still one).
    assert_eq!(rows.len(), 4, "{rows:?}");
    let ani = row_where(&rows, 1, "Ani Lestari");
    assert_eq!(ani[0], "198503122010012001");
    assert_eq!(ani[2], "Unit DINKES");
    assert_eq!(ani[3], "Angkatan I");
    assert_eq!(ani[4], "Selesai");
    assert_eq!(ani[5], "100");
    // An instant in WIB, to the second.
    assert_eq!(ani[6].len(), "2026-03-01 12:00:00".len(), "{ani:?}");
    assert_eq!((ani[7].as_str(), ani[8].as_str()), ("100", "100"));
    // Pre-test 100: no gain.
    assert_eq!(ani[9], "");
    assert_eq!(ani[10], l.ani_certificate);
    let budi = row_where(&rows, 1, BUDI);
    assert_eq!(budi[2], "Unit PKM-CIPUTAT");
    assert_eq!(budi[4], "Selesai");
    assert_eq!((budi[7].as_str(), budi[8].as_str()), ("75", "100"));
    assert_eq!(budi[9], "1");
    assert_eq!(budi[10], "", "no certificate listed, none issued");
    let formula = row_where(&rows, 1, &format!("'{FORMULA}"));
    assert_eq!(formula[0], "");
    assert_eq!(formula[4], "Aktif");
    // One of the two lessons done.
    assert_eq!(formula[5], "50");
    assert_eq!(formula[6], "");
    assert_eq!((formula[7].as_str(), formula[8].as_str()), ("50", "25"));
    // A negative gain is a number, not guarded.
    assert_eq!(formula[9], "-0.5");
    let dedi = row_where(&rows, 1, "Dedi");
    assert_eq!(dedi[3], "Angkatan II");
    assert_eq!(dedi[4], "Mengundurkan diri");
    assert_eq!(&dedi[7..10], ["", "", ""]);

    // Angkatan II alone: Dedi.
    let one = link(
        &app,
        &w.admin,
        &w,
        Some(&w.cohort2),
        "CSV",
        Some("LEARNERS"),
    )
    .await;
    assert!(s(&one["fileName"]).starts_with("laporan-evaluasi-mr-1-angkatan-ii-peserta-"));
    let (_, rows) = parse_csv(&get(&app, &s(&one["url"])).await.2);
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0][1], "Dedi");

    // --- CSV, the learning report ---
    // Paired: Ani, Budi, the third. pre mean (100 + 75 + 50) / 3 = 75; post mean
    // (100 + 100 + 25) / 3 = 75; <g> = (75 - 75) / (100 - 75) = 0 -> Rendah. Individual: Ani
    // left out, Budi 1 (high, last bin), the third -0.5 (low, negative). Passed (>= 60): Ani,
    // Budi: 2 of 3.
    let learning = link(&app, &w.admin, &w, None, "CSV", Some("LEARNING")).await;
    let (headers, rows) = parse_csv(&get(&app, &s(&learning["url"])).await.2);
    assert_eq!(rows.len(), 1);
    let col = |name: &str| headers.iter().position(|h| h == name).unwrap();
    let r = &rows[0];
    assert_eq!(r[col("Pre-test")], "Pre-test");
    assert_eq!(r[col("Post-test")], "Post-test");
    assert_eq!(r[col("Peserta berpasangan")], "3");
    assert_eq!(r[col("Rata-rata pre-test (%)")], "75");
    assert_eq!(r[col("Rata-rata post-test (%)")], "75");
    assert_eq!(r[col("Gain kelas <g>")], "0");
    assert_eq!(r[col("Kategori <g>")], "Rendah");
    assert_eq!(r[col("Gain tinggi (g ≥ 0,7)")], "1");
    assert_eq!(r[col("Gain rendah (g < 0,3)")], "1");
    assert_eq!(r[col("Gain negatif")], "1");
    assert_eq!(r[col("Dikecualikan (pre-test 100)")], "1");
    // Mean of the defined gains: (1 - 0.5) / 2 = 0.25.
    assert_eq!(r[col("Rata-rata gain individu")], "0.25");
    assert_eq!(r[col("g [0,9–1,0]")], "1");
    assert_eq!(r[col("Lulus post-test")], "2");
    assert_eq!(r[col("Tingkat kelulusan")], (2.0f64 / 3.0).to_string());

    // --- XLSX, every section, as an admin ---
    let xlsx = link(&app, &w.admin, &w, None, "XLSX", None).await;
    let (status, h, body) = get(&app, &s(&xlsx["url"])).await;
    assert_eq!(status, 200);
    assert_eq!(
        header(&h, "content-type"),
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    );
    assert!(
        header(&h, "content-disposition")
            .starts_with("attachment; filename=\"laporan-evaluasi-mr-1-")
    );
    let mut wb = workbook(body);
    assert_eq!(
        wb.sheet_names(),
        ["Info", "Hasil belajar", "Analisis butir", "Peserta"]
    );
    let info = wb.worksheet_range("Info").unwrap();
    assert_eq!(info.get_value((1, 1)), Some(&Data::String(TITLE.into())));
    let people = wb.worksheet_range("Peserta").unwrap();
    // A header and four learners.
    assert_eq!(people.height(), 5);
    let ani_row = (1..5u32)
        .find(|r| people.get_value((*r, 1)) == Some(&Data::String("Ani Lestari".into())))
        .unwrap();
    // The NIP is text, the scores numbers, the completion a date.
    assert_eq!(
        people.get_value((ani_row, 0)),
        Some(&Data::String("198503122010012001".into()))
    );
    assert_eq!(people.get_value((ani_row, 5)), Some(&Data::Float(100.0)));
    assert!(
        matches!(people.get_value((ani_row, 6)), Some(Data::DateTime(_))),
        "{:?}",
        people.get_value((ani_row, 6))
    );
    assert_eq!(people.get_value((ani_row, 7)), Some(&Data::Float(100.0)));
    assert_eq!(
        people.get_value((ani_row, 10)),
        Some(&Data::String(l.ani_certificate.clone()))
    );
    let formula_row = (1..5u32)
        .find(|r| people.get_value((*r, 1)) == Some(&Data::String(FORMULA.into())))
        .expect("in XLSX the name is kept as it is: an inline string is never a formula");
    assert_eq!(people.get_value((formula_row, 9)), Some(&Data::Float(-0.5)));
    let learning = wb.worksheet_range("Hasil belajar").unwrap();
    assert_eq!(learning.height(), 2);
    assert_eq!(learning.get_value((1, 2)), Some(&Data::Float(3.0)));
    assert_eq!(learning.get_value((1, 5)), Some(&Data::Float(0.0)));
    // Item analysis of the pre-test's first attempts (1111, 1110, 1100): Q1 and Q2 right by
    // all (p = 1 > 0.9: too easy); with 3 attempts the groups are round(0.81) = 1: upper Ani
    // (4), lower the third (2): D1 = 1 - 1 = 0 (weak). Q3: p = 2/3; D3 = 1 - 0 = 1, no flag.
    let items = wb.worksheet_range("Analisis butir").unwrap();
    // A header and 4 items of each of the two quizzes.
    assert_eq!(items.height(), 9);
    assert_eq!(
        items.get_value((1, 0)),
        Some(&Data::String("Pre-test".into()))
    );
    assert_eq!(
        items.get_value((1, 8)),
        Some(&Data::String("Pernyataan 1".into()))
    );
    assert_eq!(items.get_value((1, 12)), Some(&Data::Float(1.0)));
    assert_eq!(
        items.get_value((1, 15)),
        Some(&Data::String("terlalu mudah, daya beda lemah".into()))
    );
    match items.get_value((3, 12)) {
        Some(Data::Float(p)) => assert!((p - 2.0 / 3.0).abs() < 1e-12, "{p}"),
        other => panic!("{other:?}"),
    }
    assert_eq!(items.get_value((3, 13)), Some(&Data::Float(1.0)));
    assert_eq!(items.get_value((3, 15)), Some(&Data::Empty));

    // --- the printable page ---
    let page = link(&app, &w.admin, &w, Some(&w.cohort1), "HTML", None).await;
    let (status, h, body) = get(&app, &s(&page["url"])).await;
    assert_eq!(status, 200);
    assert_eq!(header(&h, "content-type"), "text/html; charset=utf-8");
    assert!(
        header(&h, "content-disposition")
            .starts_with("inline; filename=\"laporan-evaluasi-mr-1-angkatan-i-")
    );
    assert!(header(&h, "content-security-policy").starts_with("default-src 'none'"));
    let html = String::from_utf8(body).unwrap();
    assert!(!html.contains("<script"), "the title must be escaped");
    assert!(html.contains("Manajemen Risiko &lt;script&gt;alert(1)&lt;/script&gt;"));
    assert!(html.contains("Angkatan I"));
    // The paired histogram: pre-test 100, 75, 50 in bins 9, 7 and 5; post-test 100, 100, 25
    // in bins 9 (twice) and 2.
    assert!(html.contains("<svg"));
    assert!(html.contains("Sebaran nilai pre-test dan post-test: Post-test"));
    assert!(html.contains("2 dari 3 (66,7%)"), "pass rate");
    assert!(html.contains("Kualitas soal"));
    assert!(html.contains("@media print"));
}

#[tokio::test]
async fn a_unit_admin_exports_only_their_subtree() {
    let app = TestApp::spawn().await;
    let w = world(&app).await;
    learners(&app, &w).await;

    // DINKES and the puskesmas below it: Ani and Budi.
    let l = link(&app, &w.unit_admin, &w, None, "CSV", Some("LEARNERS")).await;
    assert!(s(&l["url"]).contains("&unit="));
    assert!(s(&l["fileName"]).contains("-unit-dinkes-"), "{l}");
    let (_, rows) = parse_csv(&get(&app, &s(&l["url"])).await.2);
    let mut names: Vec<&str> = rows.iter().map(|r| r[1].as_str()).collect();
    names.sort_unstable();
    assert_eq!(names, ["Ani Lestari", BUDI]);

    // Their learning report: Ani (100 -> 100) and Budi (75 -> 100): pre mean 87.5, post 100,
    // <g> = 12.5 / 12.5 = 1.
    let l = link(&app, &w.unit_admin, &w, None, "CSV", Some("LEARNING")).await;
    let (headers, rows) = parse_csv(&get(&app, &s(&l["url"])).await.2);
    let col = |name: &str| headers.iter().position(|h| h == name).unwrap();
    assert_eq!(rows[0][col("Peserta berpasangan")], "2");
    assert_eq!(rows[0][col("Rata-rata pre-test (%)")], "87.5");
    assert_eq!(rows[0][col("Gain kelas <g>")], "1");

    // No item analysis, in the workbook or alone.
    let x = link(&app, &w.unit_admin, &w, None, "XLSX", None).await;
    let (status, _, body) = get(&app, &s(&x["url"])).await;
    assert_eq!(status, 200);
    let mut wb = workbook(body);
    assert_eq!(wb.sheet_names(), ["Info", "Hasil belajar", "Peserta"]);
    assert_eq!(wb.worksheet_range("Peserta").unwrap().height(), 3);
    let r = app
        .gql(
            Some(&w.unit_admin),
            EXPORT,
            json!({"c": w.course, "f": "CSV", "s": "ITEMS"}),
        )
        .await;
    assert_eq!(error_code(&r).as_deref(), Some("FORBIDDEN"), "{r}");
    let page = link(&app, &w.unit_admin, &w, None, "HTML", None).await;
    let html = String::from_utf8(get(&app, &s(&page["url"])).await.2).unwrap();
    assert!(html.contains("Peserta unit kerja Unit DINKES beserta sub-unitnya"));
    assert!(!html.contains("Kualitas soal"));
}

#[tokio::test]
async fn changed_or_expired_links_are_refused_and_only_readers_get_one() {
    let clock = kernel::ManualClock::new(Utc::now());
    let app = TestApp::spawn_with(Options {
        overrides: gateway::Overrides {
            clock: Some(Arc::new(clock.clone())),
            ..Default::default()
        },
        ..Default::default()
    })
    .await;
    let w = world(&app).await;

    let admin = w.admin.clone();
    let trainer = w.trainer.clone();
    let other = app
        .sign_in("pelatih-lain@bkpsdm.go.id", lms_tests::PASSWORD)
        .await
        .0;
    let (learner_token, _) = learner(&app, &w, "Budi", None, &w.dinkes, &w.cohort1).await;
    let ask = |token: Option<String>, vars: Value| {
        let app = &app;
        async move { app.gql(token.as_deref(), EXPORT, vars).await }
    };
    let csv = json!({"c": w.course, "f": "CSV", "s": "LEARNERS"});
    // A learner, a trainer of another course: FORBIDDEN; signed out: UNAUTHENTICATED.
    for token in [&learner_token, &other] {
        let r = ask(Some(token.clone()), csv.clone()).await;
        assert_eq!(error_code(&r).as_deref(), Some("FORBIDDEN"), "{r}");
    }
    let r = ask(None, csv.clone()).await;
    assert_eq!(error_code(&r).as_deref(), Some("UNAUTHENTICATED"), "{r}");
    // A CSV without its section, a section with XLSX: BAD_USER_INPUT on `section`.
    for vars in [
        json!({"c": w.course, "f": "CSV"}),
        json!({"c": w.course, "f": "XLSX", "s": "LEARNERS"}),
    ] {
        let r = ask(Some(trainer.clone()), vars).await;
        assert_eq!(error_code(&r).as_deref(), Some("BAD_USER_INPUT"), "{r}");
        assert_eq!(r["errors"][0]["extensions"]["field"], "section", "{r}");
    }
    // Bad and unknown ids.
    let r = ask(Some(admin.clone()), json!({"c": "x", "f": "XLSX"})).await;
    assert_eq!(error_code(&r).as_deref(), Some("BAD_USER_INPUT"), "{r}");
    let r = ask(
        Some(admin.clone()),
        json!({"c": Uuid::new_v4().to_string(), "f": "XLSX"}),
    )
    .await;
    assert_eq!(error_code(&r).as_deref(), Some("NOT_FOUND"), "{r}");
    // A cohort of another course.
    let r = ask(
        Some(admin.clone()),
        json!({"c": w.other_course, "h": w.cohort1, "f": "XLSX"}),
    )
    .await;
    assert_eq!(error_code(&r).as_deref(), Some("NOT_FOUND"), "{r}");
    // The trainer of the course may; the other trainer may for their own course.
    let r = ask(Some(trainer.clone()), json!({"c": w.course, "f": "HTML"})).await;
    assert!(r.get("errors").is_none(), "{r}");
    let r = ask(
        Some(other.clone()),
        json!({"c": w.other_course, "f": "XLSX"}),
    )
    .await;
    assert!(r.get("errors").is_none(), "{r}");
    // An export of a course with no pair and no learner is still a valid workbook.
    let url = s(&r["data"]["reportExportUrl"]["url"]);
    let (status, _, body) = get(&app, &url).await;
    assert_eq!(status, 200);
    let mut wb = workbook(body);
    let people = wb.worksheet_range("Peserta").unwrap();
    assert_eq!(people.height(), 1);
    assert_eq!(
        people.get_value((0, 7)),
        Some(&Data::String("Pre-test (%)".into()))
    );

    let good = s(&link(&app, &w.unit_admin, &w, None, "CSV", Some("LEARNERS")).await["url"]);
    assert_eq!(get(&app, &good).await.0, 200);
    let sig = good.rsplit("sig=").next().unwrap().to_owned();
    let flipped = format!(
        "{}{}",
        &sig[..sig.len() - 1],
        if sig.ends_with('0') { "1" } else { "0" }
    );
    let unit_param = good
        .split(['?', '&'])
        .find(|p| p.starts_with("unit="))
        .unwrap()
        .to_owned();
    let tampered = [
        good.replace(&sig, &flipped),
        // Without the unit restriction: every learner.
        good.replace(&format!("&{unit_param}"), ""),
        good.replace("section=peserta", "section=hasil-belajar"),
        good.replace("export.csv", "export.xlsx"),
        good.replace(&w.course, &w.other_course),
        good.replace("&sig=", "&nosig="),
        good.replace("unit=", "unit=x"),
        good.replace("export.csv", "export.pdf"),
    ];
    for bad in &tampered {
        let (status, _, body) = get(&app, bad).await;
        assert_eq!(status, 403, "{bad}");
        assert_eq!(
            String::from_utf8(body).unwrap(),
            "this link is invalid or has expired; ask for a new one"
        );
    }

    // Fifteen minutes later it still works; a second after, it does not.
    clock.advance(chrono::Duration::minutes(15));
    assert_eq!(get(&app, &good).await.0, 200);
    clock.advance(chrono::Duration::seconds(1));
    let (status, _, body) = get(&app, &good).await;
    assert_eq!(status, 403);
    assert!(!String::from_utf8_lossy(&body).contains("sig"));
}

/// 2,345 learners written straight into the database (names shared by two, so that equal
/// names straddle the page boundary at row 1,000): the CSV has every one of them, in name
/// order, read in three statements of at most 1,000 rows (1,000 + 1,000 + 345).
#[tokio::test]
async fn learners_are_read_in_pages_of_a_thousand() {
    let seen: Arc<Mutex<Vec<String>>> = Arc::default();
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
    let w = world(&app).await;
    let db = &app.server.state.db;
    let course = Uuid::parse_str(&w.course).unwrap();
    let cohort = Uuid::parse_str(&w.cohort1).unwrap();
    let unit = Uuid::parse_str(&w.disdik).unwrap();
    let now = Utc::now();
    const N: usize = 2345;
    let names: Vec<String> = (0..N)
        .map(|i: usize| format!("Peserta {:04}", i.div_ceil(2)))
        .collect();
    {
        use sea_orm::{EntityTrait, IntoActiveModel};
        let mut people = Vec::new();
        let mut enrollments = Vec::new();
        for name in &names {
            let person = kernel::new_id();
            people.push(
                identity::entity::person::Model {
                    id: person,
                    nip: None,
                    name: name.clone(),
                    email: Some(format!("{}@test.go.id", person.simple())),
                    unit_id: Some(unit),
                    position: None,
                    grade: None,
                    employment_type: None,
                    roles: "learner".into(),
                    password_hash: None,
                    password_changed_at: None,
                    disabled_at: None,
                    created_at: now,
                    updated_at: now,
                }
                .into_active_model(),
            );
            enrollments.push(
                enrollment::entity::enrollment::Model {
                    id: kernel::new_id(),
                    cohort_id: cohort,
                    course_id: course,
                    person_id: person,
                    state: "active".into(),
                    source: "assigned".into(),
                    rule_id: None,
                    requested_at: now,
                    activated_at: Some(now),
                    completed_at: None,
                    ended_at: None,
                    due_at: None,
                    progress_percent: 0.0,
                    required_done: 0,
                    required_total: 2,
                    next_lesson_id: None,
                    last_activity_at: None,
                    created_at: now,
                    updated_at: now,
                }
                .into_active_model(),
            );
        }
        for chunk in people.chunks(500) {
            identity::entity::person::Entity::insert_many(chunk.to_vec())
                .exec(db)
                .await
                .unwrap();
        }
        for chunk in enrollments.chunks(500) {
            enrollment::entity::enrollment::Entity::insert_many(chunk.to_vec())
                .exec(db)
                .await
                .unwrap();
        }
    }

    let l = link(&app, &w.admin, &w, None, "CSV", Some("LEARNERS")).await;
    seen.lock().unwrap().clear();
    let (status, _, body) = get(&app, &s(&l["url"])).await;
    assert_eq!(status, 200);
    let (_, rows) = parse_csv(&body);
    assert_eq!(rows.len(), N);
    let got: Vec<&str> = rows.iter().map(|r| r[1].as_str()).collect();
    let mut want: Vec<&str> = names.iter().map(String::as_str).collect();
    want.sort_unstable();
    assert_eq!(got, want);
    let pages = seen
        .lock()
        .unwrap()
        .iter()
        .filter(|sql| sql.contains("FROM enrollments e JOIN people p"))
        .count();
    assert_eq!(pages, 3, "{:#?}", seen.lock().unwrap());

    // The workbook too: a header and 2,345 rows.
    let x = link(&app, &w.admin, &w, None, "XLSX", None).await;
    let (_, _, body) = get(&app, &s(&x["url"])).await;
    let mut wb = workbook(body);
    assert_eq!(wb.worksheet_range("Peserta").unwrap().height(), N + 1);
}
