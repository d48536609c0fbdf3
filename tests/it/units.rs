//! The unit tree: create, rename, move, retire.

use lms_tests::{TestApp, error_code};
use serde_json::json;

const MOVE: &str =
    "mutation($id: ID!, $p: ID) { moveUnit(id: $id, parentId: $p) { id parent { code } } }";

#[tokio::test]
async fn an_admin_builds_renames_and_moves_the_unit_tree() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let city = app.unit(&admin, "PEMKOT", None).await;
    let dinkes = app.unit(&admin, "dinkes", Some(&city)).await;
    let pkm = app.unit(&admin, "PKM-PONDOK-AREN", Some(&dinkes)).await;
    let bkpsdm = app.unit(&admin, "BKPSDM", Some(&city)).await;

    let tree = app
        .ok(
            Some(&admin),
            "{ units { code children { code children { code parent { code } } } } }",
            json!({}),
        )
        .await;
    assert_eq!(tree["units"][0]["code"], "PEMKOT");
    assert_eq!(
        tree["units"][0]["children"][1]["code"], "DINKES",
        "codes are upper-cased"
    );
    assert_eq!(
        tree["units"][0]["children"][1]["children"][0]["parent"]["code"],
        "DINKES"
    );

    let renamed = app
        .ok(
            Some(&admin),
            "mutation($id: ID!) { renameUnit(id: $id, name: \"Dinas Kesehatan\") { name } }",
            json!({"id": dinkes}),
        )
        .await;
    assert_eq!(renamed["renameUnit"]["name"], "Dinas Kesehatan");

    // Moving DINKES under BKPSDM carries its puskesmas along.
    app.ok(Some(&admin), MOVE, json!({"id": dinkes, "p": bkpsdm}))
        .await;
    let moved = app
        .ok(
            Some(&admin),
            "query($id: ID!) { unit(id: $id) { parent { code parent { code } } } }",
            json!({"id": pkm}),
        )
        .await;
    assert_eq!(moved["unit"]["parent"]["code"], "DINKES");
    assert_eq!(moved["unit"]["parent"]["parent"]["code"], "BKPSDM");

    // A unit admin of BKPSDM now manages the puskesmas, which moved into their subtree.
    let (_, ua) = app
        .signed_in(&admin, "ua@bkpsdm.go.id", &["UNIT_ADMIN"], Some(&bkpsdm))
        .await;
    app.ok(
        Some(&ua),
        "mutation($i: CreatePersonInput!) { createPerson(input: $i) { id } }",
        json!({"i": {"name": "Perawat", "email": "perawat@pkm.go.id", "unitId": pkm}}),
    )
    .await;
}

#[tokio::test]
async fn a_unit_cannot_move_under_itself_and_codes_are_unique() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let a = app.unit(&admin, "A", None).await;
    let b = app.unit(&admin, "B", Some(&a)).await;
    let r = app.gql(Some(&admin), MOVE, json!({"id": a, "p": b})).await;
    assert_eq!(error_code(&r).as_deref(), Some("BAD_USER_INPUT"));
    let r = app.gql(Some(&admin), MOVE, json!({"id": a, "p": a})).await;
    assert_eq!(error_code(&r).as_deref(), Some("BAD_USER_INPUT"));
    let dup = app
        .gql(
            Some(&admin),
            "mutation { createUnit(input: {code: \"a\", name: \"Again\"}) { id } }",
            json!({}),
        )
        .await;
    assert_eq!(error_code(&dup).as_deref(), Some("CONFLICT"));
    let bad = app
        .gql(
            Some(&admin),
            "mutation { createUnit(input: {code: \"dinas kesehatan\", name: \"x\"}) { id } }",
            json!({}),
        )
        .await;
    assert_eq!(error_code(&bad).as_deref(), Some("BAD_USER_INPUT"));
    let unknown_parent = app
        .gql(Some(&admin), "mutation($p: ID) { createUnit(input: {code: \"C\", name: \"x\", parentId: $p}) { id } }", json!({"p": uuid::Uuid::now_v7().to_string()}))
        .await;
    assert_eq!(error_code(&unknown_parent).as_deref(), Some("NOT_FOUND"));
    let bad_id = app
        .gql(Some(&admin), MOVE, json!({"id": "not-a-uuid", "p": null}))
        .await;
    assert_eq!(error_code(&bad_id).as_deref(), Some("BAD_USER_INPUT"));
}

#[tokio::test]
async fn a_unit_with_active_people_cannot_be_retired_and_a_retired_unit_takes_nobody() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let unit = app.unit(&admin, "DISDIK", None).await;
    let person = app
        .person(&admin, "guru@disdik.go.id", &["LEARNER"], Some(&unit))
        .await;
    let retire = "mutation($id: ID!) { retireUnit(id: $id) { retired } }";
    let r = app.gql(Some(&admin), retire, json!({"id": unit})).await;
    assert_eq!(error_code(&r).as_deref(), Some("CONFLICT"));
    app.ok(
        Some(&admin),
        "mutation($id: ID!) { disablePerson(id: $id) { id } }",
        json!({"id": person}),
    )
    .await;
    let r = app.ok(Some(&admin), retire, json!({"id": unit})).await;
    assert_eq!(r["retireUnit"]["retired"], true);
    let r = app
        .gql(
            Some(&admin),
            "mutation($i: CreatePersonInput!) { createPerson(input: $i) { id } }",
            json!({"i": {"name": "x", "email": "x@disdik.go.id", "unitId": unit}}),
        )
        .await;
    assert_eq!(error_code(&r).as_deref(), Some("CONFLICT"));
    let listed = app.ok(Some(&admin), "{ units { code } }", json!({})).await;
    assert_eq!(listed["units"], json!([]));
    let listed = app
        .ok(
            Some(&admin),
            "{ units(includeRetired: true) { code retired } }",
            json!({}),
        )
        .await;
    assert_eq!(listed["units"][0]["retired"], true);
}
