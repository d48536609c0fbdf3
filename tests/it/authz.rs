//! Authorization from the outside: every mutation of the identity domain tried by an anonymous
//! caller, a learner, a trainer, a unit admin of another unit and an admin.

use lms_tests::{TestApp, error_code};
use serde_json::{Value, json};

struct Case {
    name: &'static str,
    query: &'static str,
    vars: Value,
}

#[tokio::test]
async fn every_identity_mutation_checks_who_is_asking() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let dinkes = app.unit(&admin, "DINKES", None).await;
    let disdik = app.unit(&admin, "DISDIK", None).await;
    let spare = app.unit(&admin, "SPARE", Some(&dinkes)).await;
    let target = app
        .person(&admin, "target@dinkes.go.id", &["LEARNER"], Some(&dinkes))
        .await;
    let (_, learner) = app
        .signed_in(&admin, "learner@dinkes.go.id", &["LEARNER"], Some(&dinkes))
        .await;
    let (_, trainer) = app
        .signed_in(&admin, "trainer@dinkes.go.id", &["TRAINER"], Some(&dinkes))
        .await;
    let (_, other_ua) = app
        .signed_in(&admin, "ua@disdik.go.id", &["UNIT_ADMIN"], Some(&disdik))
        .await;

    let cases = [
        Case {
            name: "createUnit",
            query: "mutation { createUnit(input: {code: \"NEW\", name: \"New\"}) { id } }",
            vars: json!({}),
        },
        Case {
            name: "renameUnit",
            query: "mutation($id: ID!) { renameUnit(id: $id, name: \"Renamed\") { id } }",
            vars: json!({"id": spare}),
        },
        Case {
            name: "moveUnit",
            query: "mutation($id: ID!, $p: ID) { moveUnit(id: $id, parentId: $p) { id } }",
            vars: json!({"id": spare, "p": disdik}),
        },
        Case {
            name: "retireUnit",
            query: "mutation($id: ID!) { retireUnit(id: $id) { id } }",
            vars: json!({"id": spare}),
        },
        Case {
            name: "createPerson",
            query: "mutation($u: ID) { createPerson(input: {name: \"N\", email: \"n@dinkes.go.id\", unitId: $u}) { id } }",
            vars: json!({"u": dinkes}),
        },
        Case {
            name: "updatePerson",
            query: "mutation($id: ID!) { updatePerson(id: $id, input: {position: \"Staf\"}) { id } }",
            vars: json!({"id": target}),
        },
        Case {
            name: "setPersonRoles",
            query: "mutation($id: ID!) { setPersonRoles(id: $id, roles: [LEARNER, TRAINER]) { id } }",
            vars: json!({"id": target}),
        },
        Case {
            name: "resetPassword",
            query: "mutation($id: ID!) { resetPassword(id: $id, newPassword: \"another-pass-1\") }",
            vars: json!({"id": target}),
        },
        Case {
            name: "disablePerson",
            query: "mutation($id: ID!) { disablePerson(id: $id) { id } }",
            vars: json!({"id": target}),
        },
        Case {
            name: "enablePerson",
            query: "mutation($id: ID!) { enablePerson(id: $id) { id } }",
            vars: json!({"id": target}),
        },
    ];
    for case in &cases {
        for (who, token, expected) in [
            ("anonymous", None, "UNAUTHENTICATED"),
            ("learner", Some(learner.as_str()), "FORBIDDEN"),
            ("trainer", Some(trainer.as_str()), "FORBIDDEN"),
            (
                "unit admin of another unit",
                Some(other_ua.as_str()),
                "FORBIDDEN",
            ),
        ] {
            let r = app.gql(token, case.query, case.vars.clone()).await;
            assert_eq!(
                error_code(&r).as_deref(),
                Some(expected),
                "{} as {who}: {r}",
                case.name
            );
        }
        let r = app.gql(Some(&admin), case.query, case.vars.clone()).await;
        assert!(r.get("errors").is_none(), "{} as admin: {r}", case.name);
    }
    // Nothing the refused callers tried left a trace: the spare unit is still named as the
    // admin left it, and only the admin's own changes are in the audit log.
    let audit: Vec<String> = {
        use sea_orm::{EntityTrait, QueryOrder};
        identity::entity::audit_log::Entity::find()
            .order_by_asc(identity::entity::audit_log::Column::At)
            .all(&app.server.state.db)
            .await
            .unwrap()
            .into_iter()
            .map(|a| a.action)
            .collect()
    };
    for action in [
        "unit.rename",
        "unit.move",
        "unit.retire",
        "person.update",
        "person.set_roles",
        "person.reset_password",
        "person.disable",
        "person.enable",
    ] {
        assert_eq!(
            audit.iter().filter(|a| *a == action).count(),
            1,
            "{action} in {audit:?}"
        );
    }
}
