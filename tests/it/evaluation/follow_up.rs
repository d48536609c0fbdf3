//! Follow-ups: the sweep job asks the learner and their supervisor 90 days after completion,
//! reminds them weekly until they answer, and closes a request after its last reminder.
//! Time is a manual clock that the test moves; the job worker runs inside the app.

use std::sync::Arc;
use std::time::Duration as StdDuration;

use chrono::Duration;
use kernel::Clock;
use lms_tests::{Options, TestApp, error_code, eventually};
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};
use serde_json::{Value, json};

use super::*;

const REQUESTS: &str = "query($c: ID!) { followUpRequests(courseId: $c) { edges { node { id audience level state personName learnerName reminderCount closeReason } } } }";
const SET_SUPERVISOR: &str = "mutation($p: ID!, $s: ID) { setSupervisor(personId: $p, supervisorId: $s) { personId supervisor { id name } } }";
const PENDING: &str = "{ myPendingSurveys { level enrollmentId learnerName } }";
const CERTIFICATES: &str =
    "query($c: ID!) { certificates(courseId: $c) { edges { node { holderName } } } }";

async fn requests(app: &TestApp, admin: &str, course: &str) -> Vec<Value> {
    app.ok(Some(admin), REQUESTS, json!({"c": course})).await["followUpRequests"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["node"].clone())
        .collect()
}

fn of<'a>(list: &'a [Value], audience: &str) -> &'a Value {
    list.iter()
        .find(|r| r["audience"] == audience)
        .unwrap_or_else(|| panic!("no {audience} request in {list:?}"))
}

/// The app on `clock`, with a job worker running the sweeps.
async fn app_on(clock: &kernel::ManualClock) -> TestApp {
    TestApp::spawn_with(Options {
        workers: 1,
        overrides: gateway::Overrides {
            clock: Some(Arc::new(clock.clone())),
            ..Default::default()
        },
        ..Default::default()
    })
    .await
}

/// Polls until the requests of `course` satisfy `check` (the worker runs the due sweep).
async fn wait_for(
    app: &TestApp,
    admin: &str,
    course: &str,
    what: &str,
    check: impl Fn(&[Value]) -> bool,
) -> Vec<Value> {
    let held = eventually(StdDuration::from_secs(20), || async {
        check(&requests(app, admin, course).await)
    })
    .await;
    let now = requests(app, admin, course).await;
    assert!(held, "{what}: {now:?}");
    now
}

async fn notifications(app: &TestApp, kind: &str) -> u64 {
    use evaluation::entity::notification;
    notification::Entity::find()
        .filter(notification::Column::Kind.eq(kind))
        .count(&app.server.state.db)
        .await
        .unwrap()
}

#[tokio::test]
async fn follow_ups_are_asked_after_ninety_days_reminded_and_closed() {
    let clock = kernel::ManualClock::new(now());
    let app = app_on(&clock).await;
    let mut admin = app.admin().await;
    let c = course(&app, &admin, "fu-2026", 4, 1).await;
    let (learner_id, learner_token) = learner(&app, &admin, "gita@dinkes.go.id", 1).await;
    let (supervisor_id, _) = learner(&app, &admin, "kepala@dinkes.go.id", 2).await;
    let (quiet_id, quiet_token) = learner(&app, &admin, "hadi@dinkes.go.id", 3).await;
    let d = app
        .ok(
            Some(&admin),
            SET_SUPERVISOR,
            json!({"p": learner_id, "s": supervisor_id}),
        )
        .await;
    assert_eq!(d["setSupervisor"]["supervisor"]["name"], "Peserta 2");
    // A learner cannot name their own supervisor; nobody supervises themselves.
    let body = app
        .gql(
            Some(&learner_token),
            SET_SUPERVISOR,
            json!({"p": learner_id, "s": quiet_id}),
        )
        .await;
    assert_eq!(error_code(&body).as_deref(), Some("FORBIDDEN"));
    let body = app
        .gql(
            Some(&admin),
            SET_SUPERVISOR,
            json!({"p": quiet_id, "s": quiet_id}),
        )
        .await;
    assert_eq!(error_code(&body).as_deref(), Some("BAD_USER_INPUT"));

    let t0 = clock.now();
    let e = enroll_and_complete(&app, &learner_token, &c, t0).await;
    let quiet = enroll_and_complete(&app, &quiet_token, &c, t0).await;
    let body = app
        .gql(
            Some(&learner_token),
            FORM,
            json!({"e": e, "l": "FOLLOW_UP_LEARNER"}),
        )
        .await;
    assert_eq!(
        error_code(&body).as_deref(),
        Some("CONFLICT"),
        "not asked yet"
    );
    assert!(requests(&app, &admin, &c.id).await.is_empty());

    // 89 days later nothing is due yet; at 90 days the sweep asks.
    clock.advance(Duration::days(89));
    admin = app.admin().await;
    let issued = eventually(StdDuration::from_secs(20), || async {
        app.ok(Some(&admin), CERTIFICATES, json!({"c": c.id})).await["certificates"]["edges"]
            .as_array()
            .is_some_and(|e| e.len() == 2)
    })
    .await;
    assert!(issued, "the sweep issued both certificates");
    assert!(requests(&app, &admin, &c.id).await.is_empty());
    clock.advance(Duration::days(1));
    admin = app.admin().await;
    let list = wait_for(&app, &admin, &c.id, "three requests asked", |l| {
        l.len() == 3
    })
    .await;
    let learner_request = list
        .iter()
        .find(|r| r["audience"] == "LEARNER" && r["learnerName"] == "Peserta 1")
        .unwrap();
    assert_eq!(learner_request["state"], "OPEN");
    assert_eq!(learner_request["reminderCount"], 0);
    let supervisor_request = of(&list, "SUPERVISOR");
    assert_eq!(supervisor_request["personName"], "Peserta 2");
    assert_eq!(supervisor_request["learnerName"], "Peserta 1");
    assert_eq!(supervisor_request["level"], "FOLLOW_UP_SUPERVISOR");
    assert_eq!(notifications(&app, "follow_up_requested").await, 3);

    // The supervisor sees what to answer, about whom.
    let (supervisor_token, _) = app
        .sign_in("kepala@dinkes.go.id", lms_tests::PASSWORD)
        .await;
    let pending = app.ok(Some(&supervisor_token), PENDING, json!({})).await;
    assert_eq!(
        pending["myPendingSurveys"],
        json!([{"level": "FOLLOW_UP_SUPERVISOR", "enrollmentId": e, "learnerName": "Peserta 1"}])
    );

    // A week later everyone open is reminded.
    clock.advance(Duration::days(7) + Duration::minutes(1));
    admin = app.admin().await;
    wait_for(&app, &admin, &c.id, "first reminders", |l| {
        l.iter().all(|r| r["reminderCount"] == 1)
    })
    .await;
    assert_eq!(notifications(&app, "follow_up_reminder").await, 3);

    // The learner answers: the request is answered and no longer reminded.
    let (learner_token, _) = app.sign_in("gita@dinkes.go.id", lms_tests::PASSWORD).await;
    let f = form(&app, &learner_token, &e, "FOLLOW_UP_LEARNER").await;
    assert_eq!(
        items(&f)[0]["text"],
        "Apakah keterampilan dari pelatihan ini sudah Anda gunakan dalam pekerjaan? (1 = belum pernah, 5 = rutin digunakan)"
    );
    let example = |item: &Value| {
        (item["required"] == true)
            .then(|| "Menyusun register risiko untuk layanan gawat darurat.".to_owned())
    };
    let no_text = answers(&f, |_| 4, |_| None);
    let body = submit(&app, &learner_token, &e, "FOLLOW_UP_LEARNER", &no_text).await;
    assert_eq!(
        error_code(&body).as_deref(),
        Some("BAD_USER_INPUT"),
        "the example is required"
    );
    let body = submit(
        &app,
        &learner_token,
        &e,
        "FOLLOW_UP_LEARNER",
        &answers(&f, |_| 4, example),
    )
    .await;
    assert!(body.get("errors").is_none(), "{body}");
    // The learner cannot answer in the supervisor's place.
    let (supervisor_token, _) = app
        .sign_in("kepala@dinkes.go.id", lms_tests::PASSWORD)
        .await;
    let sf = form(&app, &supervisor_token, &e, "FOLLOW_UP_SUPERVISOR").await;
    let body = submit(
        &app,
        &learner_token,
        &e,
        "FOLLOW_UP_SUPERVISOR",
        &answers(&sf, |_| 5, example),
    )
    .await;
    assert_eq!(error_code(&body).as_deref(), Some("FORBIDDEN"));

    clock.advance(Duration::days(7) + Duration::minutes(1));
    admin = app.admin().await;
    let list = wait_for(&app, &admin, &c.id, "second reminders", |l| {
        l.iter()
            .filter(|r| r["state"] == "OPEN")
            .all(|r| r["reminderCount"] == 2)
    })
    .await;
    let answered: Vec<&Value> = list.iter().filter(|r| r["state"] == "ANSWERED").collect();
    assert_eq!(answered.len(), 1);
    assert_eq!(
        answered[0]["reminderCount"], 1,
        "no reminder after the answer"
    );

    // The supervisor answers too.
    let (supervisor_token, _) = app
        .sign_in("kepala@dinkes.go.id", lms_tests::PASSWORD)
        .await;
    let body = submit(
        &app,
        &supervisor_token,
        &e,
        "FOLLOW_UP_SUPERVISOR",
        &answers(&sf, |_| 5, example),
    )
    .await;
    assert!(body.get("errors").is_none(), "{body}");
    let body = submit(
        &app,
        &supervisor_token,
        &e,
        "FOLLOW_UP_SUPERVISOR",
        &answers(&sf, |_| 5, example),
    )
    .await;
    assert_eq!(error_code(&body).as_deref(), Some("CONFLICT"));

    // The quiet learner gets a third reminder, then the request closes unanswered.
    clock.advance(Duration::days(7) + Duration::minutes(1));
    admin = app.admin().await;
    wait_for(&app, &admin, &c.id, "third reminder", |l| {
        l.iter()
            .any(|r| r["state"] == "OPEN" && r["reminderCount"] == 3)
    })
    .await;
    clock.advance(Duration::days(7) + Duration::minutes(1));
    admin = app.admin().await;
    let list = wait_for(&app, &admin, &c.id, "closed after the last reminder", |l| {
        l.iter().all(|r| r["state"] != "OPEN")
    })
    .await;
    let closed: Vec<&Value> = list.iter().filter(|r| r["state"] == "CLOSED").collect();
    assert_eq!(closed.len(), 1);
    assert_eq!(closed[0]["closeReason"], "no_response");
    assert_eq!(closed[0]["learnerName"], "Peserta 3");
    let (quiet_token, _) = app.sign_in("hadi@dinkes.go.id", lms_tests::PASSWORD).await;
    let f = form(&app, &quiet_token, &quiet, "FOLLOW_UP_LEARNER").await;
    let body = submit(
        &app,
        &quiet_token,
        &quiet,
        "FOLLOW_UP_LEARNER",
        &answers(&f, |_| 3, example),
    )
    .await;
    assert_eq!(error_code(&body).as_deref(), Some("CONFLICT"), "closed");
    assert_eq!(notifications(&app, "follow_up_reminder").await, 3 + 2 + 1);
}

/// The inbox tells the people asked: a supervisor's phone shows the follow-up asked of them and
/// then its reminder, newest first in cursor pages, with the unread count as a badge; marking
/// read lowers it, marking again or marking someone else's changes nothing, and a learner never
/// sees another person's notifications.
#[tokio::test]
async fn the_inbox_shows_follow_ups_and_reminders_until_read() {
    const INBOX: &str = "query($u: Boolean, $n: Int, $a: String) { myUnreadNotificationCount myNotifications(unreadOnly: $u, first: $n, after: $a) { nodes { id kind readAt followUpRequest { level enrollmentId state } } pageInfo { hasNextPage endCursor } } }";
    const MARK: &str =
        "mutation($ids: [ID!]!) { markNotificationsRead(ids: $ids) { marked unread } }";
    let clock = kernel::ManualClock::new(now());
    let app = app_on(&clock).await;
    let mut admin = app.admin().await;
    let c = course(&app, &admin, "inbox-2026", 4, 1).await;
    let (learner_id, learner_token) = learner(&app, &admin, "gita@dinkes.go.id", 1).await;
    let (supervisor_id, _) = learner(&app, &admin, "kepala@dinkes.go.id", 2).await;
    app.ok(
        Some(&admin),
        SET_SUPERVISOR,
        json!({"p": learner_id, "s": supervisor_id}),
    )
    .await;
    let e = enroll_and_complete(&app, &learner_token, &c, clock.now()).await;
    clock.advance(Duration::days(90) + Duration::minutes(1));
    admin = app.admin().await;
    wait_for(&app, &admin, &c.id, "both asked", |l| l.len() == 2).await;
    let (boss, _) = app
        .sign_in("kepala@dinkes.go.id", lms_tests::PASSWORD)
        .await;
    let inbox = app.ok(Some(&boss), INBOX, json!({})).await;
    assert_eq!(inbox["myUnreadNotificationCount"], 1, "{inbox}");
    let asked = &inbox["myNotifications"]["nodes"][0];
    assert_eq!(asked["kind"], "FOLLOW_UP_REQUESTED");
    assert_eq!(asked["readAt"], Value::Null);
    assert_eq!(
        asked["followUpRequest"],
        json!({"level": "FOLLOW_UP_SUPERVISOR", "enrollmentId": e, "state": "OPEN"})
    );

    clock.advance(Duration::days(7) + Duration::minutes(1));
    admin = app.admin().await;
    wait_for(&app, &admin, &c.id, "reminded", |l| {
        l.iter().all(|r| r["reminderCount"] == 1)
    })
    .await;
    let (boss, _) = app
        .sign_in("kepala@dinkes.go.id", lms_tests::PASSWORD)
        .await;
    let first = app.ok(Some(&boss), INBOX, json!({"n": 1})).await;
    assert_eq!(first["myUnreadNotificationCount"], 2, "{first}");
    let reminder = first["myNotifications"]["nodes"][0].clone();
    assert_eq!(reminder["kind"], "FOLLOW_UP_REMINDER", "newest first");
    assert_eq!(first["myNotifications"]["pageInfo"]["hasNextPage"], true);
    let second = app
        .ok(
            Some(&boss),
            INBOX,
            json!({"n": 1, "a": first["myNotifications"]["pageInfo"]["endCursor"]}),
        )
        .await;
    assert_eq!(second["myNotifications"]["nodes"][0]["id"], asked["id"]);
    assert_eq!(second["myNotifications"]["pageInfo"]["hasNextPage"], false);

    // The learner's own notifications are theirs: marking the supervisor's changes nothing.
    let (gita, _) = app.sign_in("gita@dinkes.go.id", lms_tests::PASSWORD).await;
    let theirs = app
        .ok(Some(&gita), MARK, json!({"ids": [reminder["id"]]}))
        .await;
    assert_eq!(theirs["markNotificationsRead"]["marked"], 0, "{theirs}");
    let gita_inbox = app.ok(Some(&gita), INBOX, json!({})).await;
    assert!(
        gita_inbox["myNotifications"]["nodes"]
            .as_array()
            .unwrap()
            .iter()
            .all(|n| n["id"] != reminder["id"] && n["id"] != asked["id"]),
        "{gita_inbox}"
    );

    let marked = app
        .ok(Some(&boss), MARK, json!({"ids": [reminder["id"]]}))
        .await;
    assert_eq!(
        marked["markNotificationsRead"],
        json!({"marked": 1, "unread": 1})
    );
    let again = app
        .ok(Some(&boss), MARK, json!({"ids": [reminder["id"]]}))
        .await;
    assert_eq!(
        again["markNotificationsRead"],
        json!({"marked": 0, "unread": 1})
    );
    let unread = app.ok(Some(&boss), INBOX, json!({"u": true})).await;
    let nodes = unread["myNotifications"]["nodes"].as_array().unwrap();
    assert_eq!(nodes.len(), 1, "{unread}");
    assert_eq!(nodes[0]["id"], asked["id"]);
    let all = app.ok(Some(&boss), INBOX, json!({})).await;
    assert!(
        all["myNotifications"]["nodes"][0]["readAt"].is_string(),
        "{all}"
    );

    let too_many: Vec<String> = (0..101).map(|_| uuid::Uuid::now_v7().to_string()).collect();
    for (vars, code) in [
        (json!({"ids": too_many}), "BAD_USER_INPUT"),
        (json!({"ids": ["not-an-id"]}), "BAD_USER_INPUT"),
    ] {
        let r = app.gql(Some(&boss), MARK, vars).await;
        assert_eq!(error_code(&r).as_deref(), Some(code), "{r}");
    }
    let r = app.gql(Some(&boss), INBOX, json!({"a": "%%%"})).await;
    assert_eq!(error_code(&r).as_deref(), Some("BAD_USER_INPUT"), "{r}");
    let r = app.gql(None, INBOX, json!({})).await;
    assert_eq!(error_code(&r).as_deref(), Some("UNAUTHENTICATED"), "{r}");
}
