//! Roster import through the GraphQL multipart upload.

use lms_tests::{TestApp, error_code};
use serde_json::{Value, json};

const IMPORT: &str = "mutation($f: Upload!, $p: Boolean) { importRoster(file: $f, allowPartial: $p) { totalRows created updated unchanged applied rejected { line nip reason } } }";

async fn upload(app: &TestApp, token: Option<&str>, csv: &[u8], allow_partial: bool) -> Value {
    let operations = json!({"query": IMPORT, "variables": {"f": null, "p": allow_partial}});
    let form = reqwest::multipart::Form::new()
        .text("operations", operations.to_string())
        .text("map", json!({"0": ["variables.f"]}).to_string())
        .part(
            "0",
            reqwest::multipart::Part::bytes(csv.to_vec())
                .file_name("roster.csv")
                .mime_str("text/csv")
                .unwrap(),
        );
    let mut req = app
        .client
        .post(format!("{}/graphql", app.base))
        .multipart(form);
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    req.send().await.unwrap().json().await.unwrap()
}

const HEADER: &str = "nip,name,email,unit_code,position,grade,employment_type,roles\n";

fn roster(rows: &[&str]) -> Vec<u8> {
    let mut s = HEADER.to_owned();
    for r in rows {
        s.push_str(r);
        s.push('\n');
    }
    s.into_bytes()
}

async fn count_people(app: &TestApp, admin: &str) -> usize {
    let d = app
        .ok(
            Some(admin),
            "{ people(first: 100) { edges { cursor } } }",
            json!({}),
        )
        .await;
    d["people"]["edges"].as_array().unwrap().len()
}

#[tokio::test]
async fn importing_the_same_roster_twice_changes_nothing() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    app.unit(&admin, "DINKES", None).await;
    app.unit(&admin, "DISDIK", None).await;
    let file = roster(&[
        "198503122010012003,Siti Aminah,siti@tangsel.go.id,DINKES,Perawat Ahli,III/a,PNS,learner",
        "197901012005011002,Budi Santoso,budi@tangsel.go.id,DISDIK,Guru,III/b,PNS,\"learner,trainer\"",
        "199001012023211001,Rina Kontrak,,dinkes,Bidan,,PPPK,",
    ]);
    let first = upload(&app, Some(&admin), &file, false).await;
    assert_eq!(
        first["data"]["importRoster"],
        json!({"totalRows": 3, "created": 3, "updated": 0, "unchanged": 0, "applied": true, "rejected": []}),
        "{first}"
    );
    let second = upload(&app, Some(&admin), &file, false).await;
    assert_eq!(second["data"]["importRoster"]["unchanged"], 3);
    assert_eq!(second["data"]["importRoster"]["created"], 0);
    assert_eq!(second["data"]["importRoster"]["updated"], 0);
    assert_eq!(count_people(&app, &admin).await, 4);

    // Budi moves to DINKES: one update, keyed by NIP.
    let moved = roster(&[
        "197901012005011002,Budi Santoso,budi@tangsel.go.id,DINKES,Guru,III/b,PNS,\"learner,trainer\"",
    ]);
    let third = upload(&app, Some(&admin), &moved, false).await;
    assert_eq!(third["data"]["importRoster"]["updated"], 1);
    let budi = app
        .ok(
            Some(&admin),
            "{ people(search: \"budi\") { edges { node { unit { code } roles } } } }",
            json!({}),
        )
        .await;
    assert_eq!(budi["people"]["edges"][0]["node"]["unit"]["code"], "DINKES");
    assert_eq!(
        budi["people"]["edges"][0]["node"]["roles"],
        json!(["LEARNER", "TRAINER"])
    );
}

#[tokio::test]
async fn rejected_rows_are_reported_by_line_and_block_the_import_unless_partial() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    app.unit(&admin, "DINKES", None).await;
    let file = roster(&[
        "198503122010012003,Siti Aminah,siti@tangsel.go.id,DINKES,,,PNS,",
        "19850312201001200,Short Nip,short@tangsel.go.id,DINKES,,,PNS,",
        "197901012005011002,Budi,budi@tangsel.go.id,NOWHERE,,,PNS,",
        "198503122010012003,Siti Again,siti2@tangsel.go.id,DINKES,,,PNS,",
        "197901012005011003,Rudi,rudi@tangsel,DINKES,,,PNS,",
        "197901012005011004,Dewi,dewi@tangsel.go.id,DINKES,,,CONTRACT,",
        "197901012005011005,Agus,agus@tangsel.go.id,DINKES,,,PNS,boss",
    ]);
    let r = upload(&app, Some(&admin), &file, false).await;
    let report = &r["data"]["importRoster"];
    assert_eq!(report["applied"], false, "{r}");
    let lines: Vec<u64> = report["rejected"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["line"].as_u64().unwrap())
        .collect();
    assert_eq!(lines, [3, 4, 5, 6, 7, 8]);
    assert!(
        report["rejected"][1]["reason"]
            .as_str()
            .unwrap()
            .contains("unknown unit code NOWHERE")
    );
    assert!(
        report["rejected"][2]["reason"]
            .as_str()
            .unwrap()
            .contains("earlier row")
    );
    assert_eq!(count_people(&app, &admin).await, 1, "nothing written");

    let r = upload(&app, Some(&admin), &file, true).await;
    assert_eq!(r["data"]["importRoster"]["applied"], true);
    assert_eq!(r["data"]["importRoster"]["created"], 1);
    assert_eq!(count_people(&app, &admin).await, 2);
}

#[tokio::test]
async fn a_broken_file_is_refused_whole_and_the_server_keeps_serving() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    app.unit(&admin, "DINKES", None).await;
    let mut latin1 = HEADER.as_bytes().to_vec();
    latin1
        .extend_from_slice(b"198503122010012003,Sit\xED Aminah,siti@tangsel.go.id,DINKES,,,PNS,\n");
    for (file, needle) in [
        (b"".to_vec(), "empty"),
        (
            b"nip,nama\n198503122010012003,Siti\n".to_vec(),
            "missing column",
        ),
        (
            b"nip,name,unit_code,employment_type,salary\n".to_vec(),
            "unknown column `salary`",
        ),
        (HEADER.as_bytes().to_vec(), "no rows"),
        (latin1, "not UTF-8 text (line 2)"),
    ] {
        let r = upload(&app, Some(&admin), &file, true).await;
        assert_eq!(error_code(&r).as_deref(), Some("BAD_USER_INPUT"), "{r}");
        assert!(
            r["errors"][0]["message"].as_str().unwrap().contains(needle),
            "{needle}: {r}"
        );
    }
    assert_eq!(count_people(&app, &admin).await, 1);
    // Semicolon-separated files (Excel in Indonesian locale) and a BOM are fine.
    let mut semi =
        b"\xEF\xBB\xBFnip;name;email;unit_code;position;grade;employment_type;roles\n".to_vec();
    semi.extend_from_slice(
        b"198503122010012003;Siti Aminah;siti@tangsel.go.id;DINKES;;;PNS;learner\n",
    );
    let r = upload(&app, Some(&admin), &semi, false).await;
    assert_eq!(r["data"]["importRoster"]["created"], 1, "{r}");
}

#[tokio::test]
async fn only_admins_import_rosters() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let unit = app.unit(&admin, "DINKES", None).await;
    let (_, ua) = app
        .signed_in(&admin, "ua@dinkes.go.id", &["UNIT_ADMIN"], Some(&unit))
        .await;
    let (_, learner) = app
        .signed_in(&admin, "l@dinkes.go.id", &["LEARNER"], Some(&unit))
        .await;
    let file = roster(&["198503122010012003,Siti Aminah,siti@tangsel.go.id,DINKES,,,PNS,"]);
    assert_eq!(
        error_code(&upload(&app, None, &file, false).await).as_deref(),
        Some("UNAUTHENTICATED")
    );
    assert_eq!(
        error_code(&upload(&app, Some(&learner), &file, false).await).as_deref(),
        Some("FORBIDDEN")
    );
    assert_eq!(
        error_code(&upload(&app, Some(&ua), &file, false).await).as_deref(),
        Some("FORBIDDEN")
    );
}
