//! Durable jobs as an admin and a restarted server see them.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use lms_tests::{Options, TestApp, error_code, eventually};
use serde_json::json;

/// Records the payloads it runs; fails while `failing` is set.
#[derive(Default)]
struct Recorder {
    seen: Mutex<Vec<serde_json::Value>>,
    failing: Mutex<bool>,
}

struct RecorderHandler(Arc<Recorder>);

#[async_trait::async_trait]
impl jobs::JobHandler for RecorderHandler {
    fn kind(&self) -> &'static str {
        "test.record"
    }

    async fn run(&self, payload: serde_json::Value) -> Result<(), jobs::HandlerError> {
        if *self.0.failing.lock().unwrap() {
            return Err("the archive server refused the file".into());
        }
        self.0.seen.lock().unwrap().push(payload);
        Ok(())
    }
}

fn options(recorder: &Arc<Recorder>, workers: usize) -> Options {
    Options {
        workers,
        overrides: gateway::Overrides {
            extra_handlers: vec![Arc::new(RecorderHandler(recorder.clone()))],
            ..Default::default()
        },
        ..Default::default()
    }
}

#[tokio::test]
async fn a_job_enqueued_before_a_restart_runs_after_it() {
    let recorder = Arc::new(Recorder::default());
    let app = TestApp::spawn_with(options(&recorder, 0)).await;
    app.server
        .state
        .jobs
        .enqueue("test.record", json!({"n": 1}), None, 3)
        .await
        .unwrap();
    let backing = app.stop().await;
    assert!(recorder.seen.lock().unwrap().is_empty());

    let mut opts = options(&recorder, 2);
    opts.reuse = Some(backing);
    let _app = TestApp::spawn_with(opts).await;
    let ran = eventually(Duration::from_secs(10), || async {
        recorder.seen.lock().unwrap().len() == 1
    })
    .await;
    assert!(ran, "the job ran after the restart");
    assert_eq!(recorder.seen.lock().unwrap()[0], json!({"n": 1}));
}

#[tokio::test]
async fn a_failed_job_is_visible_to_admins_and_they_can_retry_it() {
    let recorder = Arc::new(Recorder::default());
    *recorder.failing.lock().unwrap() = true;
    let app = TestApp::spawn_with(options(&recorder, 1)).await;
    let admin = app.admin().await;
    let id = app
        .server
        .state
        .jobs
        .enqueue("test.record", json!({"n": 2}), None, 1)
        .await
        .unwrap();
    let failed_q =
        "{ jobs(state: FAILED) { edges { node { id kind state attempts lastError } } } }";
    let failed = eventually(Duration::from_secs(10), || async {
        let d = app.gql(Some(&admin), failed_q, json!({})).await;
        d["data"]["jobs"]["edges"]
            .as_array()
            .is_some_and(|e| !e.is_empty())
    })
    .await;
    assert!(failed, "the job failed after its one attempt");
    let d = app.ok(Some(&admin), failed_q, json!({})).await;
    let node = &d["jobs"]["edges"][0]["node"];
    assert_eq!(node["id"], id.to_string());
    assert_eq!(node["lastError"], "the archive server refused the file");

    let unit = app.unit(&admin, "DINKES", None).await;
    let (_, learner) = app
        .signed_in(&admin, "l@dinkes.go.id", &["LEARNER"], Some(&unit))
        .await;
    let retry = "mutation($id: ID!) { retryJob(id: $id) { state attempts } }";
    assert_eq!(
        error_code(&app.gql(Some(&learner), failed_q, json!({})).await).as_deref(),
        Some("FORBIDDEN")
    );
    assert_eq!(
        error_code(
            &app.gql(Some(&learner), retry, json!({"id": id.to_string()}))
                .await
        )
        .as_deref(),
        Some("FORBIDDEN")
    );
    assert_eq!(
        error_code(&app.gql(None, retry, json!({"id": id.to_string()})).await).as_deref(),
        Some("UNAUTHENTICATED")
    );

    *recorder.failing.lock().unwrap() = false;
    let r = app
        .ok(Some(&admin), retry, json!({"id": id.to_string()}))
        .await;
    assert_eq!(r["retryJob"]["state"], "QUEUED");
    let ran = eventually(Duration::from_secs(10), || async {
        recorder.seen.lock().unwrap().len() == 1
    })
    .await;
    assert!(ran, "the retried job ran");
}
