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

use crate::evaluation::s;
use crate::fixtures::reports::{
    PrePostWorld, Seen, WITHDRAW, add_owner, answer_survey, counted_app_with, enroll, enrolled,
    pre_post_world, take, trainer,
};

const CREATE_PERSON: &str = "mutation($i: CreatePersonInput!) { createPerson(input: $i) { id } }";
const MY_CERTIFICATES: &str = "{ myCertificates { edges { node { code } } } }";

const EXPORT: &str = "mutation($c: ID!, $h: ID, $f: ReportFormat!, $s: ReportSection) { reportExportUrl(courseId: $c, cohortId: $h, format: $f, section: $s) { url expiresAt fileName } }";

/// The course title: a script tag, which the printable page must show as text.
const TITLE: &str = "Manajemen Risiko <script>alert(1)</script>";
const BOM: &[u8] = b"\xef\xbb\xbf";

type World = PrePostWorld;

/// Units DINKES (with PUSKESMAS below it) and DISDIK, a DINKES unit admin, the course's
/// trainer and another, the course titled [`TITLE`] (a pre-test and its post-test of four
/// true/false statements, passing at 60) with two cohorts.
async fn world(app: &TestApp) -> World {
    pre_post_world(app, TITLE).await
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
    let enrollment = enroll(app, &token, cohort).await;
    (token, enrollment)
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
    assert_eq!(wb.sheet_names(), SHEETS);
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
    let mut sheets = SHEETS.to_vec();
    sheets.retain(|s| *s != "Analisis butir");
    assert_eq!(wb.sheet_names(), sheets);
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

// --- The report sections: completion, reaction, follow-up and the course trend. -------------

/// The sheets of an admin's or trainer's workbook, in order; a unit admin's has no
/// "Analisis butir".
const SHEETS: [&str; 8] = [
    "Info",
    "Penyelesaian",
    "Hasil belajar",
    "Reaksi",
    "Tindak lanjut",
    "Tren angkatan",
    "Analisis butir",
    "Peserta",
];

const SET_SUPERVISOR: &str =
    "mutation($p: ID!, $s: ID) { setSupervisor(personId: $p, supervisorId: $s) { personId } }";
const SWEEP: &str = "mutation { runEvaluationSweep { followUpsRequested } }";
const TRAINER_A: &str = "Person pelatih@bkpsdm.go.id";
const TRAINER_B_EMAIL: &str = "pelatih-b@bkpsdm.go.id";
const TRAINER_B: &str = "Person pelatih-b@bkpsdm.go.id";

/// An app on a manual clock that starts now, T0 (quiz answers are stamped with the real time,
/// so the clock only moves forward from it), its statements recorded; returns the app, what it
/// ran, the clock and T0.
async fn app_on_clock() -> (TestApp, Seen, kernel::ManualClock, chrono::DateTime<Utc>) {
    use chrono::SubsecRound;
    let t0 = Utc::now().trunc_subsecs(0);
    let clock = kernel::ManualClock::new(t0);
    let (app, seen) = counted_app_with(gateway::Overrides {
        clock: Some(Arc::new(clock.clone())),
        ..Default::default()
    })
    .await;
    (app, seen, clock, t0)
}

/// A fresh token of `email` (tokens expire 15 minutes after sign-in, by the app's clock).
async fn fresh(app: &TestApp, email: &str) -> String {
    app.sign_in(email, lms_tests::PASSWORD).await.0
}

/// The export world with a second trainer (B) and this timeline, T0 the start of the clock
/// (learners `<name>@…`, each quiz taken on the day of the completion):
///
/// ```text
///   learner unit          cohort  enrolled  pre  post  completed  days  reaction: all, A, B
///   ani     DINKES        I       T0        75   100   T0+2d      2     5, 5, 4
///   eka     DISDIK        I       T0        75   100   T0+3d      3     4, 4, 2
///   budi    PKM-CIPUTAT   I       T0        50    75   T0+4d      4     4, 4, 4
///   citra   PKM-CIPUTAT   I       T0        25    75   T0+6d      6     4, 5, 3
///   dedi    DISDIK        I       T0        50   100   T0+10d    10     3, 4, 3
///   fajar   DINKES        I       T0        -     -    (active, nothing done)
///   gita    DISDIK        II      T0+20d    50    75   T0+21d     1     2, 3, 2
///   hadi    DINKES        II      T0+20d    (withdrawn at T0+20d)
/// ```
///
/// "reaction: all" is every course-wide Likert answer of the respondent, "A" and "B" every
/// answer about that trainer. Supervisors: kepala (DINKES) of ani, kadis (DISDIK) of dedi. At
/// T0+115d the sweep asks the follow-ups (90 days after each completion, all within the
/// 30-day window): 6 learners and 2 supervisors; ani answers "skill used" 5 and budi 3 (every
/// other Likert item 4, an example each), kepala answers 4 about ani (others 3). The clock
/// stays at T0+115d.
async fn sections_world(
    app: &TestApp,
    clock: &kernel::ManualClock,
    t0: chrono::DateTime<Utc>,
) -> World {
    let day = |n: i64| t0 + chrono::Duration::days(n);
    let w = world(app).await;
    let (b, _) = trainer(app, &w.admin, TRAINER_B_EMAIL).await;
    add_owner(app, &w.trainer, &w.course, &b).await;
    let mut people = std::collections::HashMap::new();
    for (name, unit) in [
        ("ani", &w.dinkes),
        ("eka", &w.disdik),
        ("budi", &w.puskesmas),
        ("citra", &w.puskesmas),
        ("dedi", &w.disdik),
        ("fajar", &w.dinkes),
    ] {
        people.insert(name, enrolled(app, &w.admin, name, unit, &w.cohort1).await);
    }
    let kepala = "kepala@dinkes.go.id";
    let kadis = "kadis@disdik.go.id";
    for (learner, boss, unit) in [("ani", kepala, &w.dinkes), ("dedi", kadis, &w.disdik)] {
        let boss = app.person(&w.admin, boss, &[], Some(unit)).await;
        app.ok(
            Some(&w.admin),
            SET_SUPERVISOR,
            json!({"p": people[learner].id, "s": boss}),
        )
        .await;
    }
    for (name, d, pre, pre_pct, post, post_pct) in [
        ("ani", 2, "1110", 75.0, "1111", 100.0),
        ("eka", 3, "1110", 75.0, "1111", 100.0),
        ("budi", 4, "1100", 50.0, "1110", 75.0),
        ("citra", 6, "1000", 25.0, "1110", 75.0),
        ("dedi", 10, "1100", 50.0, "1111", 100.0),
    ] {
        clock.set(day(d));
        let token = fresh(app, &people[name].email).await;
        take(app, &token, &w.pre, pre, pre_pct).await;
        take(app, &token, &w.post, post, post_pct).await;
    }
    clock.set(day(20));
    let admin = app.admin().await;
    for (name, unit) in [("gita", &w.disdik), ("hadi", &w.dinkes)] {
        people.insert(name, enrolled(app, &admin, name, unit, &w.cohort2).await);
    }
    let hadi = &people["hadi"];
    app.ok(Some(&hadi.token), WITHDRAW, json!({"e": hadi.enrollment}))
        .await;
    clock.set(day(21));
    let gita = fresh(app, &people["gita"].email).await;
    take(app, &gita, &w.pre, "1100", 50.0).await;
    take(app, &gita, &w.post, "1110", 75.0).await;

    clock.set(day(30));
    for (name, all, a, b) in [
        ("ani", 5, 5, 4),
        ("eka", 4, 4, 2),
        ("budi", 4, 4, 4),
        ("citra", 4, 5, 3),
        ("dedi", 3, 4, 3),
        ("gita", 2, 3, 2),
    ] {
        let token = fresh(app, &people[name].email).await;
        let likert = |item: &Value| match item["trainer"]["name"].as_str() {
            Some(TRAINER_A) => a,
            Some(_) => b,
            None => all,
        };
        answer_survey(
            app,
            &token,
            &people[name].enrollment,
            "REACTION",
            likert,
            |_| None,
        )
        .await;
    }

    clock.set(day(115));
    let admin = app.admin().await;
    let d = app.ok(Some(&admin), SWEEP, json!({})).await;
    assert_eq!(d["runEvaluationSweep"]["followUpsRequested"], 8, "{d}");
    for (name, used) in [("ani", 5), ("budi", 3)] {
        let token = fresh(app, &people[name].email).await;
        answer_survey(
            app,
            &token,
            &people[name].enrollment,
            "FOLLOW_UP_LEARNER",
            |item| if item["position"] == 1 { used } else { 4 },
            |item| (item["position"] == 2).then(|| format!("Contoh dari {name}")),
        )
        .await;
    }
    answer_survey(
        app,
        &fresh(app, kepala).await,
        &people["ani"].enrollment,
        "FOLLOW_UP_SUPERVISOR",
        |item| if item["position"] == 1 { 4 } else { 3 },
        |item| (item["position"] == 2).then(|| "Register risiko".to_owned()),
    )
    .await;
    World {
        admin,
        trainer: fresh(app, "pelatih@bkpsdm.go.id").await,
        unit_admin: fresh(app, "ua@dinkes.go.id").await,
        ..w
    }
}

/// A CSV section downloaded by `token`: (headers, rows).
async fn csv_section(
    app: &TestApp,
    token: &str,
    w: &World,
    cohort: Option<&str>,
    section: &str,
) -> (Vec<String>, Vec<Vec<String>>) {
    let l = link(app, token, w, cohort, "CSV", Some(section)).await;
    let (status, _, body) = get(app, &s(&l["url"])).await;
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));
    parse_csv(&body)
}

/// The index of the column `name`.
#[track_caller]
fn column(headers: &[String], name: &str) -> usize {
    headers
        .iter()
        .position(|h| h == name)
        .unwrap_or_else(|| panic!("no column {name} in {headers:?}"))
}

/// A CSV cell that holds a number within 1e-9 of `want` (days computed by the database may
/// carry a rounding error).
#[track_caller]
fn near(cell: &str, want: f64) {
    let got: f64 = cell
        .parse()
        .unwrap_or_else(|_| panic!("a number near {want}, got {cell:?}"));
    assert!((got - want).abs() < 1e-9, "expected {want}, got {got}");
}

/// The rows whose first cells are `key` (e.g. `["Narasumber", TRAINER_A]`).
fn rows_of<'a>(rows: &'a [Vec<String>], key: &[&str]) -> Vec<&'a Vec<String>> {
    rows.iter()
        .filter(|r| r.iter().zip(key).all(|(a, b)| a == b))
        .collect()
}

/// The `<svg>` element titled `title` in `html`.
#[track_caller]
fn svg_titled<'a>(html: &'a str, title: &str) -> &'a str {
    let start = html
        .find(&format!("aria-label=\"{title}\""))
        .unwrap_or_else(|| panic!("no chart {title}"));
    let start = html[..start].rfind("<svg").unwrap();
    let end = start + html[start..].find("</svg>").unwrap();
    &html[start..end]
}

#[tokio::test]
async fn completion_reaction_follow_up_and_trends_are_exported() {
    let (app, seen, clock, t0) = app_on_clock().await;
    let w = sections_world(&app, &clock, t0).await;

    // --- Completion, every cohort, as the admin (T0+115d, no due dates: nothing overdue) ---
    //   enrolled (active + completed): ani, eka, budi, citra, dedi, gita (C), fajar (A) = 7
    //   started = 6 (fajar did nothing); completed 6; rate 6/7; withdrawn: hadi 1
    //   days [2, 3, 4, 6, 10, 1] -> sorted [1, 2, 3, 4, 6, 10]: median (3 + 4) / 2 = 3.5
    //   Unit DINKES: ani 2 (C), fajar (A), hadi (W): enrolled 2, completed 1, rate 0.5, median 2
    //   Unit DISDIK: eka 3, dedi 10, gita 1: enrolled 3, rate 1, median 3
    //   Unit PKM-CIPUTAT: budi 4, citra 6: enrolled 2, rate 1, median 5
    let (h, rows) = csv_section(&app, &w.admin, &w, None, "COMPLETION").await;
    assert_eq!(
        h,
        [
            "Baris",
            "Unit kerja",
            "Terdaftar (aktif + selesai)",
            "Mulai belajar",
            "Selesai",
            "Tingkat penyelesaian",
            "Median hari sampai selesai",
            "Lewat tenggat",
            "Mengundurkan diri",
            "Kedaluwarsa"
        ]
    );
    let units: Vec<&str> = rows.iter().map(|r| r[1].as_str()).collect();
    assert_eq!(
        units,
        ["", "Unit DINKES", "Unit DISDIK", "Unit PKM-CIPUTAT"]
    );
    assert_eq!(rows[0][..5], ["Total", "", "7", "6", "6"]);
    near(&rows[0][5], 6.0 / 7.0);
    near(&rows[0][6], 3.5);
    assert_eq!(rows[0][7..], ["0", "1", "0"]);
    assert_eq!(rows[1][2..5], ["2", "1", "1"]);
    near(&rows[1][5], 0.5);
    near(&rows[1][6], 2.0);
    assert_eq!(rows[1][8], "1");
    near(&rows[2][5], 1.0);
    near(&rows[2][6], 3.0);
    near(&rows[3][6], 5.0);
    // Angkatan II: gita (1 day), hadi withdrawn.
    let (_, rows) = csv_section(&app, &w.admin, &w, Some(&w.cohort2), "COMPLETION").await;
    assert_eq!(rows[0][..5], ["Total", "", "1", "1", "1"]);
    near(&rows[0][6], 1.0);
    assert_eq!(rows[0][8], "1");

    // --- Reaction, every cohort: 6 responses of 6 completed ---
    //   every course-wide answer of a respondent is the same: mean (5+4+4+4+3+2) / 6 = 22/6,
    //   MATERIAL (3 questions) 2:3, 3:3, 4:9, 5:3 of 18 answers
    //   A (n = 6): (5+4+4+5+4+3) / 6 = 25/6; B: (4+2+4+3+3+2) / 6 = 18/6 = 3
    let (h, rows) = csv_section(&app, &w.trainer, &w, None, "REACTION").await;
    let mut want: Vec<String> = [
        "Bagian",
        "Narasumber",
        "Dimensi",
        "Respons (n)",
        "Jawaban",
        "Rata-rata (1–5)",
    ]
    .map(str::to_owned)
    .to_vec();
    want.extend((1..=5).map(|v| format!("Jawaban {v}")));
    want.extend(["Peserta selesai", "Tingkat respons", "Keterangan"].map(str::to_owned));
    assert_eq!(h, want);
    let course_wide = rows_of(&rows, &["Seluruh pelatihan"]);
    let dims: Vec<&str> = course_wide.iter().map(|r| r[2].as_str()).collect();
    assert_eq!(
        dims,
        [
            "Semua dimensi",
            "Materi",
            "Narasumber",
            "Penyelenggaraan dan platform",
            "Manfaat"
        ]
    );
    // 10 course-wide Likert questions (3 + 1 + 3 + 3) answered 6 times.
    assert_eq!(course_wide[0][3..5], ["6", "60"]);
    near(&course_wide[0][5], 22.0 / 6.0);
    assert_eq!(course_wide[0][11], "6");
    near(&course_wide[0][12], 1.0);
    assert_eq!(course_wide[1][4], "18");
    near(&course_wide[1][5], 22.0 / 6.0);
    assert_eq!(course_wide[1][6..11], ["0", "3", "3", "9", "3"]);
    let a = rows_of(&rows, &["Narasumber", TRAINER_A]);
    assert_eq!(a[0][2..4], ["Semua dimensi", "6"]);
    near(&a[0][5], 25.0 / 6.0);
    let b = rows_of(&rows, &["Narasumber", TRAINER_B]);
    near(&b[0][5], 3.0);
    assert_eq!(b[0][13], "");

    // --- Follow-up, every cohort ---
    //   learners: 6 sent, 2 answered (ani, budi), 4 open: rate 1/3;
    //     q1 5 and 3 -> [0,0,1,0,1], mean 4; q2 (text) 2 answers, 2 < 5 responses: no texts
    //   supervisors: 2 sent (ani's, dedi's), 1 answered: rate 0.5; q1 4 -> mean 4
    let (h, rows) = csv_section(&app, &w.admin, &w, None, "FOLLOW_UP").await;
    let c = |name: &str| column(&h, name);
    let learner = rows_of(&rows, &["Peserta"]);
    // Seven questions of the learner's template.
    assert_eq!(learner.len(), 7);
    let q1 = learner[0];
    assert_eq!(q1[c("No.")], "1");
    assert_eq!(q1[..c("Tingkat respons")], ["Peserta", "6", "2", "4", "0"]);
    near(&q1[c("Tingkat respons")], 1.0 / 3.0);
    assert_eq!(q1[c("Respons (n)")], "2");
    assert_eq!(q1[c("Dimensi")], "Manfaat");
    near(&q1[c("Rata-rata (1–5)")], 4.0);
    assert_eq!(
        q1[c("Jawaban 1")..=c("Jawaban 5")],
        ["0", "0", "1", "0", "1"]
    );
    let q2 = learner[1];
    assert_eq!(q2[c("Jenis")], "Teks");
    assert_eq!(q2[c("Jawaban")], "2");
    assert_eq!(q2[c("Jawaban teks")], "");
    assert_eq!(q2[c("Keterangan")], "Teks ditampilkan mulai 5 respons");
    let sv = rows_of(&rows, &["Atasan"]);
    assert_eq!(sv[0][1..5], ["2", "1", "1", "0"]);
    near(&sv[0][c("Tingkat respons")], 0.5);
    near(&sv[0][c("Rata-rata (1–5)")], 4.0);

    // --- The course trend (admin: every mean shown) ---
    //   I: reaction n 5, mean (5+4+4+4+3)/5 = 4; paired 5, pre (75+75+50+25+50)/5 = 55,
    //      post (100+100+75+75+100)/5 = 90, <g> = 35/45 = 7/9 (high)
    //   II: reaction n 1, mean 2: down 2 >= 0.5, falling; pre 50, post 75, <g> = 25/50 = 0.5
    //       (medium): down 0.28 >= 0.1, falling
    let (h, rows) = csv_section(&app, &w.admin, &w, None, "TRENDS").await;
    assert_eq!(
        h,
        [
            "Angkatan",
            "Mulai (WIB)",
            "Respons reaksi (n)",
            "Rata-rata reaksi (1–5)",
            "Post-test",
            "Peserta berpasangan",
            "Rata-rata pre-test (%)",
            "Rata-rata post-test (%)",
            "Gain kelas <g>",
            "Kategori <g>",
            "Reaksi turun",
            "<g> turun",
            "Keterangan"
        ]
    );
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[0][..3], ["Angkatan I", "", "5"]);
    near(&rows[0][3], 4.0);
    assert_eq!(rows[0][4..6], ["Post-test", "5"]);
    near(&rows[0][6], 55.0);
    near(&rows[0][7], 90.0);
    near(&rows[0][8], 7.0 / 9.0);
    assert_eq!(rows[0][9..], ["Tinggi", "Tidak", "Tidak", ""]);
    assert_eq!(rows[1][..3], ["Angkatan II", "", "1"]);
    near(&rows[1][3], 2.0);
    near(&rows[1][8], 0.5);
    assert_eq!(rows[1][9..], ["Sedang", "Ya", "Ya", ""]);

    // --- The workbook: a sheet per section, in the page's order ---
    let x = link(&app, &w.admin, &w, None, "XLSX", None).await;
    seen.lock().unwrap().clear();
    let (status, _, body) = get(&app, &s(&x["url"])).await;
    assert_eq!(status, 200);
    // The course (1); completion: counts, medians (2); learning: pairs, means, score pairs
    // (3); reaction: completed, responses, questions, answer counts, answers per trainer,
    // owners, their people, comments (8); follow-up: requests, then per side responses,
    // questions, answer counts, no texts below 5 (7); trend: cohorts, reaction, post-tests,
    // gains (4); item analysis: quizzes, their settings, 2 per quiz (6); learners: one page (1).
    assert_eq!(
        seen.lock().unwrap().len(),
        1 + 2 + 3 + 8 + 7 + 4 + 6 + 1,
        "{:#?}",
        seen.lock().unwrap()
    );
    let mut wb = workbook(body);
    assert_eq!(wb.sheet_names(), SHEETS);
    let completion = wb.worksheet_range("Penyelesaian").unwrap();
    assert_eq!(completion.height(), 5);
    assert_eq!(completion.get_value((1, 2)), Some(&Data::Float(7.0)));
    match completion.get_value((2, 5)) {
        Some(Data::Float(rate)) => assert!((rate - 0.5).abs() < 1e-12, "{rate}"),
        other => panic!("{other:?}"),
    }
    // 1 course-wide block of 5 rows, 2 trainers of 2 rows (all, Narasumber).
    assert_eq!(
        wb.worksheet_range("Reaksi").unwrap().height(),
        1 + 5 + 2 * 2
    );

    // --- The printable page: every chart drawn ---
    let page = link(&app, &w.admin, &w, None, "HTML", None).await;
    let html = String::from_utf8(get(&app, &s(&page["url"])).await.2).unwrap();
    assert_eq!(html.matches("Data belum tersedia.").count(), 0);
    let chart = svg_titled(&html, "Tingkat penyelesaian per unit kerja");
    for text in [
        ">Unit DINKES<",
        ">50% (n = 2)<",
        ">Unit DISDIK<",
        ">100% (n = 3)<",
        ">Unit PKM-CIPUTAT<",
        ">100% (n = 2)<",
    ] {
        assert!(chart.contains(text), "{text} in {chart}");
    }
    let chart = svg_titled(&html, "Rata-rata reaksi peserta per dimensi");
    // 22/6 = 3.67 in every dimension; the course-wide trainer question is one of ten.
    for text in [
        ">Materi<",
        ">3,67 (n = 18 jawaban)<",
        ">Narasumber<",
        ">3,67 (n = 6 jawaban)<",
        ">Penyelenggaraan dan platform<",
        ">Manfaat<",
    ] {
        assert!(chart.contains(text), "{text} in {chart}");
    }
    assert_eq!(chart.matches("class=\"bar\"").count(), 4);
    // Trainers per cohort, from 5 responses about them for every reader: in Angkatan I A
    // (5+4+4+5+4)/5 = 4.4 and B (4+2+4+3+3)/5 = 3.2; Angkatan II (1 response) hidden for both.
    let chart = svg_titled(&html, "Tren reaksi terhadap narasumber antar angkatan");
    for text in [
        ">Angkatan I<",
        ">Angkatan II<",
        &format!(">{TRAINER_A}<"),
        &format!(">{TRAINER_B}<"),
    ] {
        assert!(chart.contains(text), "{text} in {chart}");
    }
    assert!(html.contains("2 titik disembunyikan."), "{html}");
}

#[tokio::test]
async fn a_unit_admin_exports_completion_and_reaction_of_their_subtree_only() {
    let (app, _, clock, t0) = app_on_clock().await;
    let w = sections_world(&app, &clock, t0).await;

    // DINKES and the puskesmas below it: ani 2 (C), fajar (A), hadi (W); budi 4, citra 6.
    //   enrolled 4, completed 3, rate 0.75, withdrawn 1, median of [2, 4, 6] = 4; no DISDIK.
    let (_, rows) = csv_section(&app, &w.unit_admin, &w, None, "COMPLETION").await;
    let units: Vec<&str> = rows.iter().map(|r| r[1].as_str()).collect();
    assert_eq!(units, ["", "Unit DINKES", "Unit PKM-CIPUTAT"]);
    assert_eq!(rows[0][..5], ["Total", "", "4", "3", "3"]);
    near(&rows[0][5], 0.75);
    near(&rows[0][6], 4.0);
    assert_eq!(rows[0][8], "1");
    let page = link(&app, &w.unit_admin, &w, None, "HTML", None).await;
    let html = String::from_utf8(get(&app, &s(&page["url"])).await.2).unwrap();
    let chart = svg_titled(&html, "Tingkat penyelesaian per unit kerja");
    assert!(chart.contains(">Unit PKM-CIPUTAT<"), "{chart}");
    assert!(!chart.contains("DISDIK"), "{chart}");

    // Reaction about their people: ani, budi, citra, 3 responses. Course-wide figures shown
    // ((5+4+4)/3 = 13/3); each trainer only their n (3 < 5), as `reactionReport` says.
    let (h, rows) = csv_section(&app, &w.unit_admin, &w, None, "REACTION").await;
    let all = &rows_of(&rows, &["Seluruh pelatihan", "", "Semua dimensi"])[0];
    assert_eq!(all[3], "3");
    near(&all[column(&h, "Rata-rata (1–5)")], 13.0 / 3.0);
    for name in [TRAINER_A, TRAINER_B] {
        let t = rows_of(&rows, &["Narasumber", name]);
        assert_eq!(t.len(), 1, "{t:?}");
        assert_eq!(t[0][3], "3");
        assert_eq!(t[0][column(&h, "Rata-rata (1–5)")], "");
        assert_eq!(
            t[0][column(&h, "Keterangan")],
            "Disembunyikan: kurang dari 5 respons"
        );
    }

    // Their trend: Angkatan I has 3 responses of their people, below 5: hidden, and said so.
    let (_, rows) = csv_section(&app, &w.unit_admin, &w, None, "TRENDS").await;
    assert_eq!(rows[0][2..4], ["3", ""]);
    assert_eq!(
        rows[0][12],
        "Rata-rata reaksi disembunyikan: kurang dari 5 respons"
    );
}
