//! Certificates: issued once on completion (after the reaction survey when the course asks for
//! it), verified by anyone without signing in, downloaded as a PDF by their holder.

use lms_tests::{TestApp, error_code};
use sea_orm::{EntityTrait, PaginatorTrait};
use serde_json::{Value, json};

use super::*;

const MINE: &str = "{ myCertificates { edges { node { id code holderName holderNip courseCode courseTitle jp completedOn completedAt verificationUrl download { url expiresAt } } } } }";
const VERIFY: &str = "query($c: String!) { verifyCertificate(code: $c) { code holderName holderNipMasked courseCode courseTitle jp completedOn } }";
const ONE: &str = "query($id: ID!) { certificate(id: $id) { id download { url } } }";

fn mine(d: &Value) -> Vec<Value> {
    d["myCertificates"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["node"].clone())
        .collect()
}

fn is_code(c: &str) -> bool {
    let alphabet = "23456789ABCDEFGHJKMNPQRSTUVWXYZ";
    let parts: Vec<&str> = c.split('-').collect();
    parts.len() == 3
        && [4, 4, 2] == [parts[0].len(), parts[1].len(), parts[2].len()]
        && parts.concat().chars().all(|ch| alphabet.contains(ch))
}

/// Checks what a PDF reader relies on: header, trailer, xref offsets at `N 0 obj`.
fn check_pdf(pdf: &[u8]) {
    assert!(pdf.starts_with(b"%PDF-"), "starts with %PDF-");
    assert!(pdf.ends_with(b"%%EOF\n"), "ends with %%EOF");
    let text = String::from_utf8_lossy(pdf);
    let startxref: usize = text
        .rsplit("startxref\n")
        .next()
        .and_then(|t| t.lines().next())
        .and_then(|n| n.parse().ok())
        .expect("a startxref offset");
    let table = std::str::from_utf8(&pdf[startxref..]).expect("an ASCII xref table");
    assert!(table.starts_with("xref\n0 "));
    let mut lines = table.lines().skip(1);
    let count: usize = lines.next().unwrap()[2..].trim().parse().unwrap();
    for (n, entry) in lines.take(count).enumerate().skip(1) {
        let offset: usize = entry[..10].parse().unwrap();
        assert!(
            pdf[offset..].starts_with(format!("{n} 0 obj").as_bytes()),
            "xref entry {n} points at {offset}"
        );
    }
}

#[tokio::test]
async fn a_certificate_is_issued_on_completion_and_verified_without_signing_in() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let c = course(&app, &admin, "pbj-2026", 12, 1).await;
    let (_, token) = learner(&app, &admin, "rina@bappeda.go.id", 1).await;
    enroll(&app, &token, &c).await;
    assert!(mine(&app.ok(Some(&token), MINE, json!({})).await).is_empty());

    // 20:00 UTC is already the next day in WIB.
    let completed = DateTime::parse_from_rfc3339("2026-03-09T20:00:00Z")
        .unwrap()
        .with_timezone(&Utc);
    complete(&app, &token, &c, completed).await;
    let list = mine(&app.ok(Some(&token), MINE, json!({})).await);
    assert_eq!(list.len(), 1);
    let cert = &list[0];
    let code = s(&cert["code"]);
    assert!(is_code(&code), "{code}");
    assert_eq!(cert["holderName"], "Peserta 1");
    assert_eq!(cert["holderNip"], "198501012010011001");
    assert_eq!(cert["courseCode"], "PBJ-2026");
    assert_eq!(cert["courseTitle"], "Pelatihan pbj-2026");
    assert_eq!(cert["jp"], 12);
    assert_eq!(cert["completedOn"], "2026-03-10");
    assert_eq!(
        cert["verificationUrl"],
        format!("{}/verify/{code}", app.base)
    );
    // Asking again issues nothing new.
    assert_eq!(mine(&app.ok(Some(&token), MINE, json!({})).await).len(), 1);
    let rows = evaluation::entity::certificate::Entity::find()
        .count(&app.server.state.db)
        .await
        .unwrap();
    assert_eq!(rows, 1);

    // Anyone may verify, without a token, however the code is typed.
    for typed in [code.clone(), code.to_lowercase().replace('-', " ")] {
        let v = app.ok(None, VERIFY, json!({"c": typed})).await;
        assert_eq!(
            v["verifyCertificate"],
            json!({"code": code, "holderName": "Peserta 1", "holderNipMasked": "1985**********1001", "courseCode": "PBJ-2026", "courseTitle": "Pelatihan pbj-2026", "jp": 12, "completedOn": "2026-03-10"})
        );
    }
    for unknown in ["2222-3333-44", "not a code", ""] {
        let body = app.gql(None, VERIFY, json!({"c": unknown})).await;
        assert_eq!(error_code(&body).as_deref(), Some("NOT_FOUND"), "{unknown}");
        assert_eq!(
            body["errors"][0]["message"],
            "no certificate has this verification code"
        );
    }
    // The public page behind the QR code.
    let page = app
        .client
        .get(format!("{}/verify/{code}", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap();
    assert!(html.contains("Peserta 1") && html.contains("1985**********1001"));
    assert!(
        !html.contains("198501012010011001"),
        "the full NIP stays private"
    );
    let missing = app
        .client
        .get(format!("{}/verify/2222-3333-44", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), 404);
}

#[tokio::test]
async fn the_pdf_downloads_for_its_holder_and_not_for_another_learner() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let c = course(&app, &admin, "ppk-01", 3, 1).await;
    let (_, token) = learner(&app, &admin, "dewi@dishub.go.id", 5).await;
    let (_, other) = learner(&app, &admin, "eko@dishub.go.id", 6).await;
    enroll_and_complete(&app, &token, &c, now()).await;
    let cert = mine(&app.ok(Some(&token), MINE, json!({})).await)
        .pop()
        .unwrap();
    let code = s(&cert["code"]);
    let url = s(&cert["download"]["url"]);
    assert!(
        url.starts_with(&format!("{}/certificates/", app.base)),
        "{url}"
    );

    let resp = app.client.get(&url).send().await.unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["content-type"], "application/pdf");
    let pdf = resp.bytes().await.unwrap();
    check_pdf(&pdf);
    let text = String::from_utf8_lossy(&pdf);
    assert!(text.contains(&code), "the PDF carries its code");
    assert!(text.contains("198501012010011005"));

    // Another learner cannot get a link; a link changed or without its signature is refused.
    let body = app.gql(Some(&other), ONE, json!({"id": cert["id"]})).await;
    assert_eq!(error_code(&body).as_deref(), Some("FORBIDDEN"));
    let mine_other = app.ok(Some(&other), MINE, json!({})).await;
    assert!(mine(&mine_other).is_empty());
    let tampered = format!("{}0", url.trim_end_matches(char::is_alphanumeric));
    for bad in [
        tampered,
        url.split('?').next().unwrap().to_owned(),
        url.replace("exp=", "exp=9"),
    ] {
        let resp = app.client.get(&bad).send().await.unwrap();
        assert_eq!(resp.status(), 403, "{bad}");
    }
    // Admins may download it too.
    let d = app.ok(Some(&admin), ONE, json!({"id": cert["id"]})).await;
    let resp = app
        .client
        .get(s(&d["certificate"]["download"]["url"]))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
}

#[tokio::test]
async fn when_the_course_requires_it_the_certificate_waits_for_the_reaction_survey() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let c = course(&app, &admin, "wajib-01", 2, 1).await;
    let settings = "mutation($c: ID!, $i: UpdateCourseSurveySettingsInput!) { updateCourseSurveySettings(courseId: $c, input: $i) { reactionRequiredForCertificate } }";
    let d = app
        .ok(
            Some(&c.trainers[0].1),
            settings,
            json!({"c": c.id, "i": {"reactionRequiredForCertificate": true}}),
        )
        .await;
    assert_eq!(
        d["updateCourseSurveySettings"]["reactionRequiredForCertificate"],
        true
    );
    let (_, token) = learner(&app, &admin, "fajar@dpmptsp.go.id", 7).await;
    let e = enroll_and_complete(&app, &token, &c, now()).await;
    assert!(mine(&app.ok(Some(&token), MINE, json!({})).await).is_empty());
    let issued = app
        .ok(Some(&admin), "mutation { issueDueCertificates }", json!({}))
        .await;
    assert_eq!(issued["issueDueCertificates"], 0);

    let f = form(&app, &token, &e, "REACTION").await;
    let body = submit(&app, &token, &e, "REACTION", &answers(&f, |_| 4, |_| None)).await;
    assert!(body.get("errors").is_none(), "{body}");
    let from_submit = s(&body["data"]["submitSurvey"]["certificate"]["code"]);
    let list = mine(&app.ok(Some(&token), MINE, json!({})).await);
    assert_eq!(list.len(), 1);
    assert_eq!(s(&list[0]["code"]), from_submit);
}
