//! Sign-in, sessions and passwords, through GraphQL.

use lms_tests::{ADMIN_EMAIL, ADMIN_PASSWORD, Options, PASSWORD, TestApp, error_code};
use serde_json::json;

const SIGN_IN: &str = "mutation($l: String!, $p: String!) { signIn(login: $l, password: $p) { accessToken refreshToken person { email } } }";
const REFRESH: &str =
    "mutation($t: String!) { refreshSession(refreshToken: $t) { accessToken refreshToken } }";
const ME: &str = "{ me { id name email roles } }";

#[tokio::test]
async fn the_first_admin_signs_in_and_sees_themselves() {
    let app = TestApp::spawn().await;
    let token = app.admin().await;
    let me = app.ok(Some(&token), ME, json!({})).await;
    assert_eq!(me["me"]["email"], ADMIN_EMAIL);
    assert_eq!(me["me"]["roles"], json!(["LEARNER", "ADMIN"]));
}

#[tokio::test]
async fn a_person_signs_in_with_email_or_nip() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    app.ok(
        Some(&admin),
        "mutation($i: CreatePersonInput!) { createPerson(input: $i) { id } }",
        json!({"i": {"name": "Siti Aminah", "email": "siti@tangsel.go.id", "nip": "198503122010012003", "employmentType": "PNS", "password": PASSWORD}}),
    )
    .await;
    let by_email = app
        .gql(
            None,
            SIGN_IN,
            json!({"l": "Siti@Tangsel.go.id", "p": PASSWORD}),
        )
        .await;
    assert_eq!(
        by_email["data"]["signIn"]["person"]["email"],
        "siti@tangsel.go.id"
    );
    let by_nip = app
        .gql(
            None,
            SIGN_IN,
            json!({"l": "19850312 201001 2 003", "p": PASSWORD}),
        )
        .await;
    assert_eq!(
        by_nip["data"]["signIn"]["person"]["email"],
        "siti@tangsel.go.id"
    );
}

#[tokio::test]
async fn unknown_login_and_wrong_password_look_the_same() {
    let app = TestApp::spawn().await;
    let wrong = app
        .gql(
            None,
            SIGN_IN,
            json!({"l": ADMIN_EMAIL, "p": "not-the-password"}),
        )
        .await;
    let unknown = app
        .gql(
            None,
            SIGN_IN,
            json!({"l": "nobody@tangsel.go.id", "p": "not-the-password"}),
        )
        .await;
    assert_eq!(error_code(&wrong).as_deref(), Some("UNAUTHENTICATED"));
    assert_eq!(
        wrong["errors"][0]["message"],
        unknown["errors"][0]["message"]
    );
    assert_eq!(error_code(&unknown), error_code(&wrong));
}

#[tokio::test]
async fn repeated_failures_are_throttled_with_a_retry_after() {
    let app = TestApp::spawn().await;
    for _ in 0..5 {
        let r = app
            .gql(
                None,
                SIGN_IN,
                json!({"l": ADMIN_EMAIL, "p": "wrong-password"}),
            )
            .await;
        assert_eq!(error_code(&r).as_deref(), Some("UNAUTHENTICATED"));
    }
    // Locked now: even the right password is refused until the lock ends.
    let r = app
        .gql(
            None,
            SIGN_IN,
            json!({"l": ADMIN_EMAIL, "p": ADMIN_PASSWORD}),
        )
        .await;
    assert_eq!(error_code(&r).as_deref(), Some("TOO_MANY_REQUESTS"), "{r}");
    let retry = r["errors"][0]["extensions"]["retryAfter"].as_u64().unwrap();
    assert!((1..=30).contains(&retry), "{retry}");
    // Another account from the same address is not locked by this one's failures.
    let admin2 = app
        .gql(
            None,
            SIGN_IN,
            json!({"l": "other@tangsel.go.id", "p": "x-wrong-pass"}),
        )
        .await;
    assert_eq!(error_code(&admin2).as_deref(), Some("UNAUTHENTICATED"));
}

#[tokio::test]
async fn many_failures_from_one_address_are_throttled_across_accounts() {
    let app = TestApp::spawn().await;
    let mut last = serde_json::Value::Null;
    for i in 0..51 {
        last = app
            .gql(
                None,
                SIGN_IN,
                json!({"l": format!("guess{i}@tangsel.go.id"), "p": "wrong-password"}),
            )
            .await;
    }
    assert_eq!(
        error_code(&last).as_deref(),
        Some("TOO_MANY_REQUESTS"),
        "{last}"
    );
}

/// Fails to sign in `times` times with `X-Forwarded-For: forwarded`; gives the last answer.
async fn failures_forwarded_for(app: &TestApp, forwarded: &str, times: usize) -> serde_json::Value {
    let mut last = serde_json::Value::Null;
    for i in 0..times {
        let login = format!("guess{i}-{forwarded}@tangsel.go.id");
        last = app
            .gql_with_headers(
                &[("x-forwarded-for", forwarded)],
                None,
                SIGN_IN,
                json!({"l": login, "p": "wrong-password"}),
            )
            .await
            .1;
    }
    last
}

#[tokio::test]
async fn behind_a_trusted_proxy_failures_count_per_forwarded_client() {
    // The test client connects from 127.0.0.1, here the trusted proxy.
    let app = TestApp::spawn_with(Options {
        configure: Some(|c| {
            c.trusted_proxies = vec![gateway::forwarded::parse_proxy("127.0.0.1").unwrap()]
        }),
        ..Default::default()
    })
    .await;
    let last = failures_forwarded_for(&app, "203.0.113.7", 51).await;
    assert_eq!(
        error_code(&last).as_deref(),
        Some("TOO_MANY_REQUESTS"),
        "{last}"
    );
    // Another client behind the same proxy is not locked out by the first one's guesses.
    let other = failures_forwarded_for(&app, "198.51.100.20", 1).await;
    assert_eq!(
        error_code(&other).as_deref(),
        Some("UNAUTHENTICATED"),
        "{other}"
    );
    let (access, _) = app.sign_in(ADMIN_EMAIL, ADMIN_PASSWORD).await;
    assert!(!access.is_empty());
}

#[tokio::test]
async fn a_forged_forwarded_header_does_not_escape_the_throttle() {
    // No trusted proxy: the header is the client's own words, and the address it connects
    // from is what counts, whatever it writes.
    let app = TestApp::spawn().await;
    for i in 0..51 {
        let last = failures_forwarded_for(&app, &format!("203.0.113.{i}"), 1).await;
        if i == 50 {
            assert_eq!(
                error_code(&last).as_deref(),
                Some("TOO_MANY_REQUESTS"),
                "{last}"
            );
        }
    }
}

#[tokio::test]
async fn a_refresh_token_rotates_and_its_reuse_ends_the_session() {
    let app = TestApp::spawn().await;
    let (_, r1) = app.sign_in(ADMIN_EMAIL, ADMIN_PASSWORD).await;
    let first = app.ok(None, REFRESH, json!({"t": r1})).await;
    let r2 = first["refreshSession"]["refreshToken"]
        .as_str()
        .unwrap()
        .to_owned();
    let access2 = first["refreshSession"]["accessToken"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_ne!(r1, r2);
    app.ok(Some(&access2), ME, json!({})).await;
    // Reusing r1 (as a thief would) fails and revokes the whole family, r2 included.
    let reused = app.gql(None, REFRESH, json!({"t": r1})).await;
    assert_eq!(error_code(&reused).as_deref(), Some("UNAUTHENTICATED"));
    let after = app.gql(None, REFRESH, json!({"t": r2})).await;
    assert_eq!(error_code(&after).as_deref(), Some("UNAUTHENTICATED"));
}

#[tokio::test]
async fn signing_out_ends_the_refresh_token() {
    let app = TestApp::spawn().await;
    let (access, refresh) = app.sign_in(ADMIN_EMAIL, ADMIN_PASSWORD).await;
    app.ok(
        Some(&access),
        "mutation($t: String) { signOut(refreshToken: $t) }",
        json!({"t": refresh}),
    )
    .await;
    let r = app.gql(None, REFRESH, json!({"t": refresh})).await;
    assert_eq!(error_code(&r).as_deref(), Some("UNAUTHENTICATED"));
}

#[tokio::test]
async fn changing_a_password_revokes_refresh_tokens_and_needs_the_old_one() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let (_, token) = app
        .signed_in(&admin, "budi@tangsel.go.id", &["LEARNER"], None)
        .await;
    let (_, refresh) = app.sign_in("budi@tangsel.go.id", PASSWORD).await;
    let change = "mutation($c: String!, $n: String!) { changePassword(currentPassword: $c, newPassword: $n) }";
    let wrong = app
        .gql(
            Some(&token),
            change,
            json!({"c": "not-my-password", "n": "a-new-password-1"}),
        )
        .await;
    assert_eq!(error_code(&wrong).as_deref(), Some("UNAUTHENTICATED"));
    let weak = app
        .gql(Some(&token), change, json!({"c": PASSWORD, "n": "short"}))
        .await;
    assert_eq!(error_code(&weak).as_deref(), Some("BAD_USER_INPUT"));
    app.ok(
        Some(&token),
        change,
        json!({"c": PASSWORD, "n": "a-new-password-1"}),
    )
    .await;
    let r = app.gql(None, REFRESH, json!({"t": refresh})).await;
    assert_eq!(error_code(&r).as_deref(), Some("UNAUTHENTICATED"));
    let old = app
        .gql(
            None,
            SIGN_IN,
            json!({"l": "budi@tangsel.go.id", "p": PASSWORD}),
        )
        .await;
    assert_eq!(error_code(&old).as_deref(), Some("UNAUTHENTICATED"));
    app.sign_in("budi@tangsel.go.id", "a-new-password-1").await;
}

#[tokio::test]
async fn a_reset_password_revokes_sessions_and_a_disabled_person_cannot_sign_in() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let id = app
        .person(&admin, "rina@tangsel.go.id", &["LEARNER"], None)
        .await;
    let (_, refresh) = app.sign_in("rina@tangsel.go.id", PASSWORD).await;
    app.ok(
        Some(&admin),
        "mutation($id: ID!, $p: String!) { resetPassword(id: $id, newPassword: $p) }",
        json!({"id": id, "p": "reset-by-admin-1"}),
    )
    .await;
    assert_eq!(
        error_code(&app.gql(None, REFRESH, json!({"t": refresh})).await).as_deref(),
        Some("UNAUTHENTICATED")
    );
    app.sign_in("rina@tangsel.go.id", "reset-by-admin-1").await;

    app.ok(
        Some(&admin),
        "mutation($id: ID!) { disablePerson(id: $id) { disabled } }",
        json!({"id": id}),
    )
    .await;
    let r = app
        .gql(
            None,
            SIGN_IN,
            json!({"l": "rina@tangsel.go.id", "p": "reset-by-admin-1"}),
        )
        .await;
    assert_eq!(error_code(&r).as_deref(), Some("FORBIDDEN"));
    let r = app
        .gql(
            None,
            SIGN_IN,
            json!({"l": "rina@tangsel.go.id", "p": "a-wrong-password"}),
        )
        .await;
    assert_eq!(
        error_code(&r).as_deref(),
        Some("UNAUTHENTICATED"),
        "a wrong password says nothing about the account"
    );
    app.ok(
        Some(&admin),
        "mutation($id: ID!) { enablePerson(id: $id) { disabled } }",
        json!({"id": id}),
    )
    .await;
    app.sign_in("rina@tangsel.go.id", "reset-by-admin-1").await;
}

#[tokio::test]
async fn a_forged_or_garbage_token_is_refused_with_401() {
    let app = TestApp::spawn().await;
    let token = app.admin().await;
    let mut forged = token.clone();
    forged.pop();
    forged.push(if token.ends_with('A') { 'B' } else { 'A' });
    for bad in [forged.as_str(), "garbage", "v1.e30.AAAA"] {
        let (status, body) = app.gql_raw(Some(bad), ME, json!({})).await;
        assert_eq!(status, 401, "{bad}");
        assert_eq!(error_code(&body).as_deref(), Some("UNAUTHENTICATED"));
    }
    let (status, body) = app.gql_raw(None, ME, json!({})).await;
    assert_eq!(
        status, 200,
        "anonymous `me` is a field error, not a request error"
    );
    assert_eq!(error_code(&body).as_deref(), Some("UNAUTHENTICATED"));
}

#[tokio::test]
async fn an_expired_access_token_is_refused() {
    let clock = kernel::ManualClock::new(chrono::Utc::now());
    let app = TestApp::spawn_with(lms_tests::Options {
        overrides: gateway::Overrides {
            clock: Some(std::sync::Arc::new(clock.clone())),
            ..Default::default()
        },
        ..Default::default()
    })
    .await;
    let token = app.admin().await;
    app.ok(Some(&token), ME, json!({})).await;
    clock.advance(chrono::Duration::minutes(16));
    let (status, body) = app.gql_raw(Some(&token), ME, json!({})).await;
    assert_eq!(status, 401);
    assert_eq!(error_code(&body).as_deref(), Some("UNAUTHENTICATED"));
}

#[tokio::test]
async fn the_daily_purge_deletes_expired_refresh_tokens_and_spent_sign_in_counters() {
    use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};
    let clock = kernel::ManualClock::new(chrono::Utc::now());
    let app = TestApp::spawn_with(Options {
        workers: 1,
        overrides: gateway::Overrides {
            clock: Some(std::sync::Arc::new(clock.clone())),
            ..Default::default()
        },
        ..Default::default()
    })
    .await;
    let db = &app.server.state.db;
    let tokens = || async {
        identity::entity::refresh_token::Entity::find()
            .count(db)
            .await
            .unwrap()
    };
    let counters = || async {
        identity::entity::sign_in_throttle::Entity::find()
            .count(db)
            .await
            .unwrap()
    };
    // A session rotated once (the revoked token is kept: its reuse must still be caught) and a
    // failed sign-in (one counter for the login, one for the address).
    let (_, r1) = app.sign_in(ADMIN_EMAIL, ADMIN_PASSWORD).await;
    app.ok(None, REFRESH, json!({"t": r1})).await;
    let failed = app
        .gql(
            None,
            SIGN_IN,
            json!({"l": "budi@tangsel.go.id", "p": "wrong-password"}),
        )
        .await;
    assert_eq!(error_code(&failed).as_deref(), Some("UNAUTHENTICATED"));
    assert_eq!(tokens().await, 2);
    assert_eq!(counters().await, 2);
    // The purge that ran when the worker started found nothing old; the rotated token is
    // still caught on reuse a day later.
    clock.advance(chrono::Duration::days(1));
    let reused = app.gql(None, REFRESH, json!({"t": r1})).await;
    assert_eq!(error_code(&reused).as_deref(), Some("UNAUTHENTICATED"));
    assert_eq!(
        tokens().await,
        2,
        "a revoked token is kept until it expires"
    );

    // 31 days on, both tokens and both counters are spent; a session started now is not.
    clock.advance(chrono::Duration::days(30));
    let (_, fresh) = app.sign_in(ADMIN_EMAIL, ADMIN_PASSWORD).await;
    let purged = lms_tests::eventually(std::time::Duration::from_secs(20), || async {
        tokens().await == 1 && counters().await == 0
    })
    .await;
    assert!(
        purged,
        "after the purge: {} tokens, {} counters",
        tokens().await,
        counters().await
    );
    app.ok(None, REFRESH, json!({"t": fresh})).await;
    // The next purge waits a day.
    let next = jobs::entity::Entity::find()
        .filter(jobs::entity::Column::Kind.eq(identity::purge::PURGE_KIND))
        .filter(jobs::entity::Column::State.eq(jobs::entity::Status::Queued))
        .one(db)
        .await
        .unwrap()
        .expect("the next purge is queued");
    let due_in = next.run_at_ms - kernel::Clock::now(&clock).timestamp_millis();
    assert!(
        (23 * 3_600_000..=24 * 3_600_000).contains(&due_in),
        "due in {due_in} ms"
    );
}
