//! The admin API: `jobs` and `retryJob`.

use std::time::Duration;

use async_graphql::{EmptySubscription, Request, Schema, Value};
use jobs::{JobQueue, JobsMutation, JobsQuery};
use kernel::Actor;
use serde_json::{Value as Json, json};

use super::support::{admin, learner, manual_clock, on_each_database, start};

type JobsSchema = Schema<JobsQuery, JobsMutation, EmptySubscription>;

fn schema(queue: JobQueue) -> JobsSchema {
    Schema::build(JobsQuery, JobsMutation, EmptySubscription)
        .data(queue)
        .finish()
}

/// Runs `query` as `actor` (anonymous when `None`): the data, and the error codes in order.
async fn run(schema: &JobsSchema, actor: Option<Actor>, query: &str) -> (Json, Vec<String>) {
    let mut request = Request::new(query);
    if let Some(actor) = actor {
        request = request.data(actor);
    }
    let response = schema.execute(request).await;
    let codes = response
        .errors
        .iter()
        .map(
            |e| match e.extensions.as_ref().and_then(|x| x.get("code")) {
                Some(Value::String(code)) => code.clone(),
                other => format!("{other:?}"),
            },
        )
        .collect();
    (response.data.into_json().unwrap(), codes)
}

const LIST: &str = "{ jobs(state: FAILED, first: 1) { edges { cursor node { id kind state \
    attempts maxAttempts runAt lastError createdAt updatedAt } } pageInfo { hasNextPage } } }";

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn jobs_and_retry_job_need_a_signed_in_admin() {
    on_each_database(|db| async move {
        let schema = schema(db.queue(&manual_clock()).await);
        let retry = format!(
            r#"mutation {{ retryJob(id: "{}") {{ id }} }}"#,
            kernel::new_id()
        );
        for (actor, code) in [(None, "UNAUTHENTICATED"), (Some(learner()), "FORBIDDEN")] {
            let (_, codes) = run(&schema, actor.clone(), LIST).await;
            assert_eq!(codes, [code]);
            let (_, codes) = run(&schema, actor.clone(), &retry).await;
            assert_eq!(codes, [code]);
            let (_, codes) = run(&schema, actor, r#"mutation { retryJob(id: "x") { id } }"#).await;
            assert_eq!(codes, [code]);
        }
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_admin_lists_failed_jobs_and_retries_one() {
    on_each_database(|db| async move {
        let clock = manual_clock();
        let queue = db.queue(&clock).await;
        let mut failed = Vec::new();
        for _ in 0..2 {
            let id = queue
                .enqueue("survey.send", json!({"to": "someone"}), None, 1)
                .await
                .unwrap();
            let claimed = queue
                .claim("w", Duration::from_secs(30))
                .await
                .unwrap()
                .unwrap();
            queue.fail(&claimed, "w", "smtp down").await.unwrap();
            failed.push(id);
        }
        queue.enqueue("survey.send", json!({}), None, 1).await.unwrap();
        let schema = schema(queue);

        let (data, codes) = run(&schema, Some(admin()), LIST).await;
        assert!(codes.is_empty(), "{codes:?}");
        let at = start().to_rfc3339();
        assert_eq!(
            data["jobs"]["edges"][0]["node"],
            json!({
                "id": failed[1].to_string(),
                "kind": "survey.send",
                "state": "FAILED",
                "attempts": 1,
                "maxAttempts": 1,
                "runAt": at,
                "lastError": "smtp down",
                "createdAt": at,
                "updatedAt": at,
            })
        );
        assert_eq!(data["jobs"]["pageInfo"]["hasNextPage"], json!(true));
        let cursor = data["jobs"]["edges"][0]["cursor"].as_str().unwrap();
        let next = format!(
            r#"{{ jobs(state: FAILED, first: 1, after: "{cursor}") {{ edges {{ node {{ id }} }} pageInfo {{ hasNextPage }} }} }}"#
        );
        let (data, _) = run(&schema, Some(admin()), &next).await;
        assert_eq!(
            data["jobs"]["edges"][0]["node"]["id"],
            json!(failed[0].to_string())
        );
        assert_eq!(data["jobs"]["pageInfo"]["hasNextPage"], json!(false));

        let retry = format!(
            r#"mutation {{ retryJob(id: "{}") {{ id state attempts lastError }} }}"#,
            failed[0]
        );
        let (data, codes) = run(&schema, Some(admin()), &retry).await;
        assert!(codes.is_empty(), "{codes:?}");
        assert_eq!(
            data["retryJob"],
            json!({"id": failed[0].to_string(), "state": "QUEUED", "attempts": 0, "lastError": "smtp down"})
        );
        let (_, codes) = run(&schema, Some(admin()), &retry).await;
        assert_eq!(codes, ["CONFLICT"]);

        let unknown = format!(r#"mutation {{ retryJob(id: "{}") {{ id }} }}"#, kernel::new_id());
        for (query, code) in [
            (unknown.as_str(), "NOT_FOUND"),
            (r#"mutation { retryJob(id: "not-a-uuid") { id } }"#, "BAD_USER_INPUT"),
            ("{ jobs(first: 0) { edges { cursor } } }", "BAD_USER_INPUT"),
            (r#"{ jobs(after: "%%%") { edges { cursor } } }"#, "BAD_USER_INPUT"),
        ] {
            let (_, codes) = run(&schema, Some(admin()), query).await;
            assert_eq!(codes, [code], "{query}");
        }
    })
    .await;
}
