//! GraphQL over HTTP: media types, status codes, GET, limits, persisted queries, operations
//! endpoints.

use lms_tests::{TestApp, error_code};
use serde_json::{Value, json};
use sha2::Digest;

async fn post_raw(
    app: &TestApp,
    accept: Option<&str>,
    content_type: &str,
    body: Vec<u8>,
) -> (u16, String, Value) {
    let mut req = app
        .client
        .post(format!("{}/graphql", app.base))
        .header("content-type", content_type)
        .body(body);
    if let Some(a) = accept {
        req = req.header("accept", a);
    }
    let resp = req.send().await.unwrap();
    let status = resp.status().as_u16();
    let ct = resp
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    let body = resp.json().await.unwrap_or(Value::Null);
    (status, ct, body)
}

#[tokio::test]
async fn the_response_media_type_follows_accept_and_decides_status_codes() {
    let app = TestApp::spawn().await;
    let bad = json!({"query": "{ me { nosuchfield } }"})
        .to_string()
        .into_bytes();
    let (status, ct, body) = post_raw(
        &app,
        Some("application/graphql-response+json"),
        "application/json",
        bad.clone(),
    )
    .await;
    assert_eq!(
        (status, ct.as_str()),
        (400, "application/graphql-response+json")
    );
    assert!(
        body.get("data").is_none(),
        "a request error has no data entry: {body}"
    );
    let (status, ct, _) = post_raw(
        &app,
        Some("application/json"),
        "application/json",
        bad.clone(),
    )
    .await;
    assert_eq!((status, ct.as_str()), (200, "application/json"));
    let (status, ct, _) = post_raw(&app, Some("*/*"), "application/json", bad).await;
    assert_eq!(
        (status, ct.as_str()),
        (400, "application/graphql-response+json"),
        "*/* gets the GraphQL media type"
    );
    let (status, _, _) = post_raw(&app, Some("text/csv"), "application/json", b"{}".to_vec()).await;
    assert_eq!(status, 406);
    let (status, _, _) = post_raw(&app, None, "text/plain", b"{ me { id } }".to_vec()).await;
    assert_eq!(status, 415);
    let (status, _, body) = post_raw(
        &app,
        Some("application/graphql-response+json"),
        "application/json",
        b"{not json".to_vec(),
    )
    .await;
    assert_eq!(status, 400, "{body}");
}

#[tokio::test]
async fn queries_work_over_get_but_mutations_do_not() {
    let app = TestApp::spawn().await;
    let resp = app
        .client
        .get(format!("{}/graphql", app.base))
        .query(&[("query", "{ __typename }")])
        .header("accept", "application/graphql-response+json")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["data"]["__typename"], "Query");
    let resp = app
        .client
        .get(format!("{}/graphql", app.base))
        .query(&[("query", "mutation { signOut }")])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 405);
    assert_eq!(
        resp.headers().get("allow").and_then(|v| v.to_str().ok()),
        Some("POST")
    );
    let html = app
        .client
        .get(format!("{}/graphql", app.base))
        .header("accept", "text/html")
        .send()
        .await
        .unwrap();
    assert!(
        html.text().await.unwrap().contains("graphiql"),
        "GraphiQL for browsers"
    );
}

#[tokio::test]
async fn an_oversized_body_gets_413_and_the_server_keeps_serving() {
    let app = TestApp::spawn().await;
    let huge = json!({"query": format!("{{ __typename }} # {}", "x".repeat(2 << 20))})
        .to_string()
        .into_bytes();
    let (status, _, _) = post_raw(&app, None, "application/json", huge).await;
    assert_eq!(status, 413);
    app.ok(None, "{ __typename }", json!({})).await;
}

#[tokio::test]
async fn deep_complex_and_batched_queries_are_limited() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let deep = format!(
        "{{ units {} }}",
        "{ children ".repeat(14) + "{ id }" + &" }".repeat(14)
    );
    let (status, body) = app.gql_raw(Some(&admin), &deep, json!({})).await;
    assert_eq!(status, 400, "{body}");
    assert!(
        body["errors"][0]["message"]
            .as_str()
            .unwrap()
            .to_lowercase()
            .contains("deep"),
        "{body}"
    );
    let wide: String = (0..600).map(|i| format!("a{i}: me {{ id }} ")).collect();
    let (status, body) = app
        .gql_raw(Some(&admin), &format!("{{ {wide} }}"), json!({}))
        .await;
    assert_eq!(status, 400);
    assert!(
        body["errors"][0]["message"]
            .as_str()
            .unwrap()
            .to_lowercase()
            .contains("complex"),
        "{body}"
    );
    let batch: Vec<Value> = (0..11)
        .map(|_| json!({"query": "{ __typename }"}))
        .collect();
    let (status, _, body) = post_raw(
        &app,
        Some("application/graphql-response+json"),
        "application/json",
        serde_json::to_vec(&batch).unwrap(),
    )
    .await;
    assert_eq!(status, 400);
    assert_eq!(error_code(&body).as_deref(), Some("BAD_USER_INPUT"));
    let batch: Vec<Value> = (0..3).map(|_| json!({"query": "{ __typename }"})).collect();
    let (status, _, body) = post_raw(
        &app,
        None,
        "application/json",
        serde_json::to_vec(&batch).unwrap(),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(body.as_array().unwrap().len(), 3);
}

#[tokio::test]
async fn persisted_queries_save_sending_the_query_text() {
    let app = TestApp::spawn().await;
    let query = "{ __typename }";
    let hash = format!("{:x}", sha2::Sha256::digest(query.as_bytes()));
    let ext = json!({"persistedQuery": {"version": 1, "sha256Hash": hash}});
    let (_, _, miss) = post_raw(
        &app,
        None,
        "application/json",
        json!({"extensions": ext}).to_string().into_bytes(),
    )
    .await;
    assert_eq!(
        miss["errors"][0]["message"], "PersistedQueryNotFound",
        "{miss}"
    );
    let (_, _, first) = post_raw(
        &app,
        None,
        "application/json",
        json!({"query": query, "extensions": ext})
            .to_string()
            .into_bytes(),
    )
    .await;
    assert_eq!(first["data"]["__typename"], "Query");
    let (_, _, hit) = post_raw(
        &app,
        None,
        "application/json",
        json!({"extensions": ext}).to_string().into_bytes(),
    )
    .await;
    assert_eq!(hit["data"]["__typename"], "Query", "{hit}");
}

#[tokio::test]
async fn health_readiness_metrics_and_request_ids() {
    let app = TestApp::spawn().await;
    let health = app
        .client
        .get(format!("{}/healthz", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(health.status().as_u16(), 200);
    assert!(
        health.headers().contains_key("x-request-id"),
        "every response carries its request id"
    );
    let ready = app
        .client
        .get(format!("{}/readyz", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(ready.status().as_u16(), 200);
    let ready: Value = ready.json().await.unwrap();
    assert_eq!(ready["database"], "ok");
    assert_eq!(ready["objectStore"], "ok");
    let token = app.admin().await;
    let _ = app
        .client
        .post(format!("{}/graphql", app.base))
        .bearer_auth(&token)
        .json(&json!({"query": "query Me { me { id } }", "operationName": "Me"}))
        .send()
        .await
        .unwrap();
    let metrics = app
        .client
        .get(format!("{}/metrics", app.base))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains("lms_graphql_requests_total{operation=\"Me\",outcome=\"ok\"} 1"),
        "{metrics}"
    );
    assert!(metrics.contains("lms_graphql_request_duration_seconds_bucket{operation=\"Me\""));
}

#[tokio::test]
async fn internal_errors_do_not_leak_their_text() {
    let app = TestApp::spawn().await;
    let token = app.admin().await;
    // Break the database under the running app: every query now fails inside sea-orm.
    use sea_orm::ConnectionTrait;
    app.server
        .state
        .db
        .execute_unprepared("DROP TABLE audit_log")
        .await
        .unwrap();
    let r = app
        .gql(
            Some(&token),
            "mutation { createUnit(input: {code: \"X\", name: \"X\"}) { id } }",
            json!({}),
        )
        .await;
    assert_eq!(
        error_code(&r).as_deref(),
        Some("INTERNAL_SERVER_ERROR"),
        "{r}"
    );
    assert_eq!(r["errors"][0]["message"], "internal server error");
    assert!(!r.to_string().contains("audit_log"), "{r}");
    // And the transaction rolled back: the unit was not created without its audit entry.
    let units = app.ok(Some(&token), "{ units { code } }", json!({})).await;
    assert_eq!(units["units"], json!([]));
}
