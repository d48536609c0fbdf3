//! People: validation, uniqueness, scope of unit admins, listing.

use lms_tests::{TestApp, error_code};
use serde_json::json;

const CREATE: &str = "mutation($i: CreatePersonInput!) { createPerson(input: $i) { id nip email employmentType unit { code } } }";
const UPDATE: &str = "mutation($id: ID!, $i: UpdatePersonInput!) { updatePerson(id: $id, input: $i) { id unit { code } position grade } }";

#[tokio::test]
async fn bad_nips_and_emails_are_refused_with_the_field_named() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    for (input, field) in [
        (
            json!({"name": "A", "nip": "19850230201001 1003", "employmentType": "PNS"}),
            "nip",
        ),
        (
            json!({"name": "A", "nip": "198503122010013003", "employmentType": "PNS"}),
            "nip",
        ),
        (json!({"name": "A", "nip": "12345"}), "nip"),
        (json!({"name": "A", "email": "not-an-email"}), "email"),
        (json!({"name": "A"}), "email"),
        (json!({"name": "  ", "email": "a@b.id"}), "name"),
    ] {
        let r = app.gql(Some(&admin), CREATE, json!({"i": input})).await;
        assert_eq!(
            error_code(&r).as_deref(),
            Some("BAD_USER_INPUT"),
            "{input}: {r}"
        );
        assert_eq!(r["errors"][0]["extensions"]["field"], field, "{input}");
    }
    let ok = app
        .ok(Some(&admin), CREATE, json!({"i": {"name": "Kontrak", "nip": "199001012023211001", "employmentType": "PPPK"}}))
        .await;
    assert_eq!(ok["createPerson"]["employmentType"], "PPPK");
}

#[tokio::test]
async fn a_duplicate_nip_or_email_is_a_conflict_and_nothing_is_half_written() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    app.ok(Some(&admin), CREATE, json!({"i": {"name": "Siti", "email": "siti@tangsel.go.id", "nip": "198503122010012003", "employmentType": "PNS"}})).await;
    let dup_nip = app.gql(Some(&admin), CREATE, json!({"i": {"name": "Other", "email": "other@tangsel.go.id", "nip": "198503122010012003", "employmentType": "PNS"}})).await;
    assert_eq!(error_code(&dup_nip).as_deref(), Some("CONFLICT"));
    let dup_email = app
        .gql(
            Some(&admin),
            CREATE,
            json!({"i": {"name": "Other", "email": "SITI@tangsel.go.id"}}),
        )
        .await;
    assert_eq!(error_code(&dup_email).as_deref(), Some("CONFLICT"));
    let list = app
        .ok(
            Some(&admin),
            "{ people(first: 50) { edges { node { email } } } }",
            json!({}),
        )
        .await;
    assert_eq!(
        list["people"]["edges"].as_array().unwrap().len(),
        2,
        "admin and Siti only"
    );
}

#[tokio::test]
async fn a_unit_admin_manages_only_their_subtree() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let dinkes = app.unit(&admin, "DINKES", None).await;
    let pkm = app.unit(&admin, "PKM-1", Some(&dinkes)).await;
    let disdik = app.unit(&admin, "DISDIK", None).await;
    let (_, ua) = app
        .signed_in(&admin, "ua@dinkes.go.id", &["UNIT_ADMIN"], Some(&dinkes))
        .await;
    let nurse = app
        .person(&admin, "nurse@pkm.go.id", &["LEARNER"], Some(&pkm))
        .await;
    let teacher = app
        .person(&admin, "teacher@disdik.go.id", &["LEARNER"], Some(&disdik))
        .await;

    // Inside: update, move within the subtree, list.
    let r = app.ok(Some(&ua), UPDATE, json!({"id": nurse, "i": {"position": "Perawat Ahli", "grade": "III/a", "unitId": dinkes}})).await;
    assert_eq!(r["updatePerson"]["unit"]["code"], "DINKES");
    let listed = app
        .ok(
            Some(&ua),
            "{ people { edges { node { email } } } }",
            json!({}),
        )
        .await;
    let emails: Vec<&str> = listed["people"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["node"]["email"].as_str().unwrap())
        .collect();
    assert_eq!(emails.len(), 2, "{emails:?}");
    assert!(!emails.contains(&"teacher@disdik.go.id"));

    // Outside: invisible, and every change refused.
    let r = app
        .gql(
            Some(&ua),
            "query($id: ID!) { person(id: $id) { id } }",
            json!({"id": teacher}),
        )
        .await;
    assert_eq!(error_code(&r).as_deref(), Some("NOT_FOUND"));
    let r = app
        .gql(
            Some(&ua),
            UPDATE,
            json!({"id": nurse, "i": {"unitId": disdik}}),
        )
        .await;
    assert_eq!(error_code(&r).as_deref(), Some("FORBIDDEN"));
    let r = app
        .gql(
            Some(&ua),
            CREATE,
            json!({"i": {"name": "x", "email": "x@disdik.go.id", "unitId": disdik}}),
        )
        .await;
    assert_eq!(error_code(&r).as_deref(), Some("FORBIDDEN"));
    let r = app
        .gql(
            Some(&ua),
            "query($u: ID) { people(unitId: $u) { edges { cursor } } }",
            json!({"u": disdik}),
        )
        .await;
    assert_eq!(error_code(&r).as_deref(), Some("FORBIDDEN"));
    // A unit admin cannot make admins.
    let r = app.gql(Some(&ua), CREATE, json!({"i": {"name": "x", "email": "boss@dinkes.go.id", "unitId": dinkes, "roles": ["ADMIN"]}})).await;
    assert_eq!(error_code(&r).as_deref(), Some("FORBIDDEN"));
    let r = app
        .gql(
            Some(&ua),
            "mutation($id: ID!) { setPersonRoles(id: $id, roles: [UNIT_ADMIN]) { id } }",
            json!({"id": nurse}),
        )
        .await;
    assert_eq!(error_code(&r).as_deref(), Some("FORBIDDEN"));
    let r = app
        .ok(
            Some(&ua),
            "mutation($id: ID!) { setPersonRoles(id: $id, roles: [LEARNER, TRAINER]) { roles } }",
            json!({"id": nurse}),
        )
        .await;
    assert_eq!(r["setPersonRoles"]["roles"], json!(["LEARNER", "TRAINER"]));
}

#[tokio::test]
async fn people_are_listed_a_page_at_a_time_and_searchable() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    for i in 0..5 {
        app.ok(
            Some(&admin),
            CREATE,
            json!({"i": {"name": format!("Pegawai {i}"), "email": format!("p{i}@tangsel.go.id")}}),
        )
        .await;
    }
    let q = "query($a: String) { people(first: 2, after: $a) { pageInfo { hasNextPage endCursor } edges { node { name } } } }";
    let mut names = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let page = app.ok(Some(&admin), q, json!({"a": after})).await;
        for e in page["people"]["edges"].as_array().unwrap() {
            names.push(e["node"]["name"].as_str().unwrap().to_owned());
        }
        if !page["people"]["pageInfo"]["hasNextPage"].as_bool().unwrap() {
            break;
        }
        after = page["people"]["pageInfo"]["endCursor"]
            .as_str()
            .map(str::to_owned);
    }
    assert_eq!(
        names,
        [
            "Administrator",
            "Pegawai 0",
            "Pegawai 1",
            "Pegawai 2",
            "Pegawai 3",
            "Pegawai 4"
        ]
    );
    let found = app
        .ok(
            Some(&admin),
            "{ people(search: \"pegawai 3\") { edges { node { email } } } }",
            json!({}),
        )
        .await;
    assert_eq!(
        found["people"]["edges"][0]["node"]["email"],
        "p3@tangsel.go.id"
    );
    let r = app
        .gql(
            Some(&admin),
            "{ people(first: 1000) { edges { cursor } } }",
            json!({}),
        )
        .await;
    assert_eq!(error_code(&r).as_deref(), Some("BAD_USER_INPUT"));
    let r = app
        .gql(
            Some(&admin),
            "{ people(after: \"%%%\") { edges { cursor } } }",
            json!({}),
        )
        .await;
    assert_eq!(error_code(&r).as_deref(), Some("BAD_USER_INPUT"));
}
