//! Workers: restarts, concurrency, crashing handlers, leases and shutdown.

use std::time::Duration;

use chrono::Duration as Span;
use jobs::{Backoff, JobState, Worker, WorkerConfig};
use kernel::Clock;
use serde_json::json;
use tokio_util::sync::CancellationToken;

use super::support::{
    Gated, Panics, Recorder, Refused, eventually, job, job_where, manual_clock, on_each_database,
    start, worker_config,
};

/// Stops a worker and waits (at most 30 s) for it to return.
async fn stop(shutdown: &CancellationToken, worker: tokio::task::JoinHandle<()>) {
    shutdown.cancel();
    tokio::time::timeout(Duration::from_secs(30), worker)
        .await
        .expect("the worker stops")
        .expect("the worker does not panic");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_job_enqueued_before_a_restart_runs_after_it() {
    on_each_database(|db| async move {
        let recorder = Recorder::default();
        let clock = manual_clock();
        let queue = db.queue(&clock).await;
        let shutdown = CancellationToken::new();
        let worker = Worker::new(queue.clone(), worker_config("before", 2))
            .with_handler(recorder.clone())
            .spawn(shutdown.clone());
        let now = queue
            .enqueue(Recorder::KIND, json!({"n": 1}), None, 3)
            .await
            .unwrap();
        let tomorrow = queue
            .enqueue(
                Recorder::KIND,
                json!({"n": 2}),
                Some(start() + Span::days(1)),
                3,
            )
            .await
            .unwrap();
        job_where(&queue, now, "the due job to run", |j| {
            j.state == JobState::Succeeded
        })
        .await;
        stop(&shutdown, worker).await;
        drop(queue);
        assert_eq!(recorder.runs_of(2), 0);

        // The process restarts a day later: new connection, new clock, new worker.
        let clock = kernel::ManualClock::new(start() + Span::days(1));
        let queue = db.queue(&clock).await;
        let shutdown = CancellationToken::new();
        let worker = Worker::new(queue.clone(), worker_config("after", 2))
            .with_handler(recorder.clone())
            .spawn(shutdown.clone());
        let done = job_where(&queue, tomorrow, "the job to run after the restart", |j| {
            j.state == JobState::Succeeded
        })
        .await;
        assert_eq!(done.attempts, 1);
        assert_eq!((recorder.runs_of(1), recorder.runs_of(2)), (1, 1));
        stop(&shutdown, worker).await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_workers_run_each_of_200_jobs_exactly_once() {
    on_each_database(|db| async move {
        let recorder = Recorder::default();
        let clock = manual_clock();
        let queue = db.queue(&clock).await;
        for n in 0..200 {
            queue
                .enqueue(Recorder::KIND, json!({"n": n}), None, 3)
                .await
                .unwrap();
        }
        let shutdown = CancellationToken::new();
        let mut workers = Vec::new();
        for name in ["worker-1", "worker-2"] {
            // Each worker has its own connection pool, like a separate process.
            let worker = Worker::new(db.queue(&clock).await, worker_config(name, 4))
                .with_handler(recorder.clone());
            workers.push(worker.spawn(shutdown.clone()));
        }
        eventually("all 200 jobs to run", || async {
            (recorder.runs().len() == 200).then_some(())
        })
        .await;
        for worker in workers {
            stop(&shutdown, worker).await;
        }
        let runs = recorder.runs();
        assert!(runs.values().all(|&r| r == 1), "a job ran twice: {runs:?}");
        assert_eq!(recorder.overlaps(), 0);
        let page = queue
            .list(
                &kernel::Actor::system(),
                Some(JobState::Succeeded),
                Some(100),
                None,
            )
            .await
            .unwrap();
        assert!(page.jobs.iter().all(|j| j.attempts == 1));
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn failing_and_panicking_handlers_back_off_then_fail_while_other_jobs_keep_running() {
    on_each_database(|db| async move {
        let recorder = Recorder::default();
        let clock = manual_clock();
        let queue = db.queue(&clock).await.with_backoff(Backoff {
            base: Duration::from_secs(1),
            max: Duration::from_secs(60),
        });
        let refused = queue
            .enqueue(Refused::KIND, json!({}), None, 3)
            .await
            .unwrap();
        let panics = queue
            .enqueue(Panics::KIND, json!({}), None, 3)
            .await
            .unwrap();
        for n in 0..20 {
            queue
                .enqueue(Recorder::KIND, json!({"n": n}), None, 3)
                .await
                .unwrap();
        }
        let shutdown = CancellationToken::new();
        let worker = Worker::new(queue.clone(), worker_config("w", 2))
            .with_handler(recorder.clone())
            .with_handler(Refused)
            .with_handler(Panics)
            .spawn(shutdown.clone());

        for (attempt, wait) in [(1, 1), (2, 2)] {
            for id in [refused, panics] {
                let queued = job_where(&queue, id, "a retry to be scheduled", |j| {
                    j.attempts == attempt && j.state == JobState::Queued
                })
                .await;
                assert_eq!(queued.run_at, clock.now() + Span::seconds(wait));
            }
            clock.advance(Span::seconds(wait));
        }
        let refused = job_where(&queue, refused, "the refused job to fail", |j| {
            j.state == JobState::Failed
        })
        .await;
        assert_eq!(refused.attempts, 3);
        assert_eq!(
            refused.last_error.as_deref(),
            Some("the mail server refused the message")
        );
        let panicked = job_where(&queue, panics, "the panicking job to fail", |j| {
            j.state == JobState::Failed
        })
        .await;
        assert_eq!(panicked.attempts, 3);
        assert_eq!(
            panicked.last_error.as_deref(),
            Some("the handler panicked: boom")
        );

        // The worker survived three panics and still runs new work.
        let late = queue
            .enqueue(Recorder::KIND, json!({"n": 99}), None, 3)
            .await
            .unwrap();
        job_where(&queue, late, "a job after the panics", |j| {
            j.state == JobState::Succeeded
        })
        .await;
        assert_eq!(recorder.runs().len(), 21);
        stop(&shutdown, worker).await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_job_of_a_kind_without_handler_fails_with_a_clear_error() {
    on_each_database(|db| async move {
        let queue = db.queue(&manual_clock()).await;
        let id = queue
            .enqueue("nobody.handles.this", json!({}), None, 1)
            .await
            .unwrap();
        let shutdown = CancellationToken::new();
        let worker = Worker::new(queue.clone(), worker_config("w", 1))
            .with_handler(Recorder::default())
            .spawn(shutdown.clone());
        let failed = job_where(&queue, id, "the job to fail", |j| {
            j.state == JobState::Failed
        })
        .await;
        assert_eq!(
            failed.last_error.as_deref(),
            Some("no handler is registered for job kind `nobody.handles.this`")
        );
        stop(&shutdown, worker).await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_job_whose_worker_died_is_taken_over_when_its_lease_expires() {
    on_each_database(|db| async move {
        let recorder = Recorder::default();
        let clock = manual_clock();
        let queue = db.queue(&clock).await;
        let id = queue
            .enqueue(Recorder::KIND, json!({"n": 7}), None, 3)
            .await
            .unwrap();
        // A worker claims it and dies without a word.
        queue
            .claim("died", Duration::from_secs(30))
            .await
            .unwrap()
            .unwrap();
        let shutdown = CancellationToken::new();
        let worker = Worker::new(queue.clone(), worker_config("survivor", 1))
            .with_handler(recorder.clone())
            .spawn(shutdown.clone());
        assert_eq!(job(&queue, id).await.locked_by.as_deref(), Some("died"));

        clock.advance(Span::seconds(30));
        let done = job_where(&queue, id, "the survivor to run the job", |j| {
            j.state == JobState::Succeeded
        })
        .await;
        assert_eq!(done.attempts, 2);
        assert_eq!(recorder.runs_of(7), 1);
        stop(&shutdown, worker).await;
    })
    .await;
}

/// A worker whose lease lasts 150 ms of the test clock, so it renews every 50 ms.
fn short_lease(id: &str) -> WorkerConfig {
    WorkerConfig {
        lease: Duration::from_millis(150),
        ..worker_config(id, 1)
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_running_job_renews_its_lease() {
    on_each_database(|db| async move {
        let gated = Gated::default();
        let clock = manual_clock();
        let queue = db.queue(&clock).await;
        let id = queue
            .enqueue(Gated::KIND, json!({}), None, 3)
            .await
            .unwrap();
        let shutdown = CancellationToken::new();
        let worker = Worker::new(queue.clone(), short_lease("slow"))
            .with_handler(gated.clone())
            .spawn(shutdown.clone());
        eventually("the job to start", || async {
            (gated.started() == 1).then_some(())
        })
        .await;

        clock.advance(Span::minutes(10));
        job_where(&queue, id, "the lease to be renewed", |j| {
            j.lease_until.is_some_and(|until| until > clock.now())
        })
        .await;
        assert!(
            queue
                .claim("thief", Duration::from_secs(30))
                .await
                .unwrap()
                .is_none(),
            "a renewed lease holds"
        );
        gated.open();
        let done = job_where(&queue, id, "the job to finish", |j| {
            j.state == JobState::Succeeded
        })
        .await;
        assert_eq!((done.attempts, gated.started(), gated.dropped()), (1, 1, 0));
        stop(&shutdown, worker).await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_worker_that_lost_its_lease_stops_the_job_and_records_nothing() {
    on_each_database(|db| async move {
        let gated = Gated::default();
        let clock = manual_clock();
        let queue = db.queue(&clock).await;
        let id = queue
            .enqueue(Gated::KIND, json!({}), None, 3)
            .await
            .unwrap();
        let shutdown = CancellationToken::new();
        let worker = Worker::new(queue.clone(), short_lease("stalled"))
            .with_handler(gated.clone())
            .spawn(shutdown.clone());
        eventually("the job to start", || async {
            (gated.started() == 1).then_some(())
        })
        .await;

        // Time jumps past the lease (a stalled process) and another worker takes the job.
        let thief = eventually("another worker to take the job", || async {
            clock.advance(Span::seconds(1));
            queue.claim("thief", Duration::from_secs(30)).await.unwrap()
        })
        .await;
        assert_eq!((thief.id, thief.attempt), (id, 2));
        eventually("the stalled worker to stop its run", || async {
            (gated.dropped() == 1).then_some(())
        })
        .await;
        assert_eq!(job(&queue, id).await.locked_by.as_deref(), Some("thief"));
        assert!(queue.complete(&thief, "thief").await.unwrap());
        assert_eq!(gated.finished(), 0);
        stop(&shutdown, worker).await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn shutdown_waits_for_running_jobs_to_finish() {
    on_each_database(|db| async move {
        let gated = Gated::default();
        let queue = db.queue(&manual_clock()).await;
        let id = queue
            .enqueue(Gated::KIND, json!({}), None, 3)
            .await
            .unwrap();
        let shutdown = CancellationToken::new();
        // One job at a time: while the job runs, the worker waits and is not claiming.
        let worker = Worker::new(queue.clone(), worker_config("w", 1))
            .with_handler(gated.clone())
            .spawn(shutdown.clone());
        eventually("the job to start", || async {
            (gated.started() == 1).then_some(())
        })
        .await;

        shutdown.cancel();
        let queued_later = queue
            .enqueue(Gated::KIND, json!({}), None, 3)
            .await
            .unwrap();
        assert!(!worker.is_finished(), "the worker waits for its job");
        gated.open();
        stop(&shutdown, worker).await;
        assert_eq!(job(&queue, id).await.state, JobState::Succeeded);
        assert_eq!(job(&queue, queued_later).await.state, JobState::Queued);
        assert_eq!(gated.started(), 1, "nothing is claimed after the shutdown");
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn shutdown_releases_jobs_still_running_after_the_grace() {
    on_each_database(|db| async move {
        let gated = Gated::default();
        let queue = db.queue(&manual_clock()).await;
        let id = queue
            .enqueue(Gated::KIND, json!({}), None, 3)
            .await
            .unwrap();
        let shutdown = CancellationToken::new();
        let config = WorkerConfig {
            shutdown_grace: Duration::from_millis(50),
            ..worker_config("w", 1)
        };
        let worker = Worker::new(queue.clone(), config)
            .with_handler(gated.clone())
            .spawn(shutdown.clone());
        eventually("the job to start", || async {
            (gated.started() == 1).then_some(())
        })
        .await;

        stop(&shutdown, worker).await;
        let released = job(&queue, id).await;
        assert_eq!((released.state, released.attempts), (JobState::Queued, 0));
        assert_eq!((released.locked_by, released.lease_until), (None, None));
        eventually("the run to be stopped", || async {
            (gated.dropped() == 1).then_some(())
        })
        .await;
    })
    .await;
}
