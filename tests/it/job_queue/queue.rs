//! The queue on its own: claims, leases, outcomes, and the admin's list and retry.

use std::collections::HashSet;
use std::time::Duration;

use chrono::Duration as Span;
use jobs::{FailOutcome, JobError, JobState};
use kernel::Actor;
use sea_orm::TransactionTrait;
use serde_json::json;

use super::support::{admin, job, learner, manual_clock, on_each_database, start};

const LEASE: Duration = Duration::from_secs(30);

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_job_is_claimed_only_once_it_is_due_and_oldest_first() {
    on_each_database(|db| async move {
        let clock = manual_clock();
        let queue = db.queue(&clock).await;
        let later = queue
            .enqueue(
                "report.export",
                json!({"n": 1}),
                Some(start() + Span::minutes(10)),
                3,
            )
            .await
            .unwrap();
        let older = queue
            .enqueue(
                "report.export",
                json!({"n": 2}),
                Some(start() - Span::minutes(5)),
                3,
            )
            .await
            .unwrap();
        let newer = queue
            .enqueue("report.export", json!({"n": 3}), None, 3)
            .await
            .unwrap();

        let first = queue.claim("w", LEASE).await.unwrap().unwrap();
        let second = queue.claim("w", LEASE).await.unwrap().unwrap();
        assert_eq!((first.id, second.id), (older, newer));
        assert_eq!(first.payload().unwrap(), json!({"n": 2}));
        assert_eq!((first.attempt, first.max_attempts), (1, 3));
        assert_eq!(first.lease_until, start() + Span::seconds(30));
        assert!(
            queue.claim("w", LEASE).await.unwrap().is_none(),
            "not due yet"
        );
        assert!(queue.complete(&first, "w").await.unwrap());
        assert!(queue.complete(&second, "w").await.unwrap());

        clock.advance(Span::minutes(10));
        let third = queue.claim("w", LEASE).await.unwrap().unwrap();
        assert_eq!(third.id, later);
        let running = job(&queue, later).await;
        assert_eq!(running.state, JobState::Running);
        assert_eq!(running.locked_by.as_deref(), Some("w"));
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_expired_lease_lets_another_worker_take_the_job_and_the_first_cannot_overwrite() {
    on_each_database(|db| async move {
        let clock = manual_clock();
        let queue = db.queue(&clock).await;
        let id = queue
            .enqueue("survey.send", json!({}), None, 5)
            .await
            .unwrap();
        let by_a = queue.claim("worker-a", LEASE).await.unwrap().unwrap();

        clock.advance(Span::seconds(29));
        assert!(
            queue.claim("worker-b", LEASE).await.unwrap().is_none(),
            "the lease still holds"
        );
        clock.advance(Span::seconds(1));
        let by_b = queue.claim("worker-b", LEASE).await.unwrap().unwrap();
        assert_eq!((by_b.id, by_b.attempt), (id, 2));

        assert!(!queue.complete(&by_a, "worker-a").await.unwrap());
        assert_eq!(
            queue.fail(&by_a, "worker-a", "late").await.unwrap(),
            FailOutcome::LeaseLost
        );
        assert!(!queue.renew(&by_a, "worker-a", LEASE).await.unwrap());
        assert!(!queue.release(&by_a, "worker-a").await.unwrap());
        // Holding the same worker name is not enough: the lease belongs to the attempt.
        assert!(!queue.complete(&by_a, "worker-b").await.unwrap());

        assert!(queue.complete(&by_b, "worker-b").await.unwrap());
        let done = job(&queue, id).await;
        assert_eq!((done.state, done.attempts), (JobState::Succeeded, 2));
        assert_eq!(
            (done.locked_by, done.lease_until, done.last_error),
            (None, None, None)
        );
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_lease_that_expires_on_the_last_attempt_fails_the_job() {
    on_each_database(|db| async move {
        let clock = manual_clock();
        let queue = db.queue(&clock).await;
        let id = queue
            .enqueue("video.transcode", json!({}), None, 1)
            .await
            .unwrap();
        queue.claim("crashed", LEASE).await.unwrap().unwrap();

        clock.advance(Span::seconds(31));
        assert!(queue.claim("survivor", LEASE).await.unwrap().is_none());
        let failed = job(&queue, id).await;
        assert_eq!((failed.state, failed.attempts), (JobState::Failed, 1));
        assert!(
            failed
                .last_error
                .unwrap_or_default()
                .contains("lease expired"),
            "the error says what happened"
        );
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_failure_is_retried_with_exponential_backoff_then_kept() {
    on_each_database(|db| async move {
        let clock = manual_clock();
        let queue = db.queue(&clock).await.with_backoff(jobs::Backoff {
            base: Duration::from_secs(1),
            max: Duration::from_secs(3),
        });
        let id = queue
            .enqueue("survey.send", json!({}), None, 4)
            .await
            .unwrap();
        for (attempt, wait) in [(1, 1), (2, 2), (3, 3)] {
            let claimed = queue.claim("w", LEASE).await.unwrap().unwrap();
            assert_eq!(claimed.attempt, attempt);
            let outcome = queue
                .fail(&claimed, "w", &format!("failure {attempt}"))
                .await
                .unwrap();
            let due = clock.now_plus(wait);
            assert_eq!(outcome, FailOutcome::Retrying { run_at: due });
            let queued = job(&queue, id).await;
            assert_eq!((queued.state, queued.run_at), (JobState::Queued, due));
            clock.advance(Span::milliseconds(wait * 1000 - 1));
            assert!(
                queue.claim("w", LEASE).await.unwrap().is_none(),
                "backing off"
            );
            clock.advance(Span::milliseconds(1));
        }
        let last = queue.claim("w", LEASE).await.unwrap().unwrap();
        assert!(last.is_last_attempt());
        assert_eq!(
            queue.fail(&last, "w", "failure 4").await.unwrap(),
            FailOutcome::GaveUp
        );
        let failed = job(&queue, id).await;
        assert_eq!((failed.state, failed.attempts), (JobState::Failed, 4));
        assert_eq!(failed.last_error.as_deref(), Some("failure 4"));
        clock.advance(Span::days(1));
        assert!(
            queue.claim("w", LEASE).await.unwrap().is_none(),
            "failed for good"
        );
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn many_concurrent_claimers_never_take_the_same_job() {
    on_each_database(|db| async move {
        let clock = manual_clock();
        let queue = db.queue(&clock).await;
        let mut enqueued = HashSet::new();
        for n in 0..200 {
            enqueued.insert(
                queue
                    .enqueue("bulk", json!({"n": n}), None, 3)
                    .await
                    .unwrap(),
            );
        }
        let claimers: Vec<_> = (0..16)
            .map(|i| {
                let queue = queue.clone();
                tokio::spawn(async move {
                    let me = format!("claimer-{i}");
                    let mut mine = Vec::new();
                    while let Some(job) = queue.claim(&me, LEASE).await.unwrap() {
                        assert!(queue.complete(&job, &me).await.unwrap());
                        mine.push(job.id);
                    }
                    mine
                })
            })
            .collect();
        let mut claimed = Vec::new();
        for claimer in claimers {
            claimed.extend(claimer.await.unwrap());
        }
        let unique: HashSet<_> = claimed.iter().copied().collect();
        assert_eq!(claimed.len(), 200, "every job claimed exactly once");
        assert_eq!(unique, enqueued);
        let done = queue
            .list(&Actor::system(), Some(JobState::Succeeded), Some(100), None)
            .await
            .unwrap();
        assert_eq!(done.jobs.len(), 100);
        assert!(done.has_next_page);
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_job_enqueued_in_a_transaction_exists_only_if_it_commits() {
    on_each_database(|db| async move {
        let clock = manual_clock();
        let queue = db.queue(&clock).await;
        let conn = db.connect().await;

        let txn = conn.begin().await.unwrap();
        let dropped = queue
            .enqueue_in(&txn, "course.publish", json!({}), None, 3)
            .await
            .unwrap();
        txn.rollback().await.unwrap();
        let txn = conn.begin().await.unwrap();
        let kept = queue
            .enqueue_in(&txn, "course.publish", json!({}), None, 3)
            .await
            .unwrap();
        txn.commit().await.unwrap();

        assert!(matches!(
            queue.get(&Actor::system(), dropped).await,
            Err(JobError::NotFound(id)) if id == dropped
        ));
        assert_eq!(
            queue.claim("w", LEASE).await.unwrap().map(|j| j.id),
            Some(kept)
        );
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn enqueue_once_adds_no_second_queued_job_with_the_same_payload() {
    on_each_database(|db| async move {
        let clock = manual_clock();
        let queue = db.queue(&clock).await;
        let conn = db.connect().await;
        let once = |payload: serde_json::Value| {
            let (queue, conn) = (queue.clone(), conn.clone());
            async move {
                queue
                    .enqueue_once_in(&conn, "course.plan_changed", payload, None, 3)
                    .await
                    .unwrap()
            }
        };
        let a = json!({"courseId": "a"});
        assert!(once(a.clone()).await);
        assert!(!once(a.clone()).await, "one is still queued");
        assert!(once(json!({"courseId": "b"})).await, "another payload");
        // Once it runs, a change after it needs a job of its own.
        let first = queue.claim("w", LEASE).await.unwrap().unwrap();
        assert_eq!(first.payload().unwrap(), a);
        assert!(once(a.clone()).await);
        assert!(!once(a.clone()).await);
        assert!(queue.complete(&first, "w").await.unwrap());
        let mut payloads = Vec::new();
        while let Some(j) = queue.claim("w", LEASE).await.unwrap() {
            payloads.push(j.payload().unwrap().to_string());
        }
        payloads.sort();
        assert_eq!(
            payloads,
            [a.to_string(), json!({"courseId": "b"}).to_string()]
        );
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn enqueue_refuses_a_blank_or_long_kind_and_zero_attempts() {
    on_each_database(|db| async move {
        let queue = db.queue(&manual_clock()).await;
        for (kind, attempts) in [(" ", 3), (&*"k".repeat(101), 3), ("ok", 0)] {
            let refused = queue.enqueue(kind, json!({}), None, attempts).await;
            assert!(
                matches!(refused, Err(JobError::InvalidInput(_))),
                "{kind:?}"
            );
        }
        assert!(matches!(
            queue.claim("", LEASE).await,
            Err(JobError::InvalidInput(_))
        ));
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_admin_retries_a_failed_job_with_its_attempts_reset() {
    on_each_database(|db| async move {
        let clock = manual_clock();
        let queue = db.queue(&clock).await;
        let id = queue
            .enqueue("survey.send", json!({}), None, 1)
            .await
            .unwrap();
        let claimed = queue.claim("w", LEASE).await.unwrap().unwrap();
        queue.fail(&claimed, "w", "smtp down").await.unwrap();
        clock.advance(Span::hours(1));

        assert!(matches!(
            queue.retry(&learner(), id).await,
            Err(JobError::Forbidden)
        ));
        let retried = queue.retry(&admin(), id).await.unwrap();
        assert_eq!((retried.state, retried.attempts), (JobState::Queued, 0));
        assert_eq!(retried.run_at, clock.now_plus(0));
        assert_eq!(retried.last_error.as_deref(), Some("smtp down"));
        assert!(matches!(
            queue.retry(&admin(), id).await,
            Err(JobError::NotRetryable {
                state: JobState::Queued
            })
        ));
        let missing = kernel::new_id();
        assert!(matches!(
            queue.retry(&admin(), missing).await,
            Err(JobError::NotFound(m)) if m == missing
        ));

        let again = queue.claim("w", LEASE).await.unwrap().unwrap();
        assert_eq!((again.id, again.attempt), (id, 1));
        assert!(queue.complete(&again, "w").await.unwrap());
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn admins_list_jobs_newest_first_by_state_and_page_by_page() {
    on_each_database(|db| async move {
        let clock = manual_clock();
        let queue = db.queue(&clock).await;
        let mut ids = Vec::new();
        for n in 0..5 {
            ids.push(queue.enqueue("k", json!({"n": n}), None, 1).await.unwrap());
            clock.advance(Span::milliseconds(1));
        }
        for _ in 0..2 {
            let claimed = queue.claim("w", LEASE).await.unwrap().unwrap();
            queue.fail(&claimed, "w", "broken").await.unwrap();
        }

        let failed = queue
            .list(&admin(), Some(JobState::Failed), None, None)
            .await
            .unwrap();
        let failed_ids: Vec<_> = failed.jobs.iter().map(|j| j.id).collect();
        assert_eq!(failed_ids, [ids[1], ids[0]]);
        assert!(!failed.has_next_page);

        let page1 = queue.list(&admin(), None, Some(2), None).await.unwrap();
        assert!(page1.has_next_page);
        let after = page1.jobs.last().map(|j| j.cursor());
        let page2 = queue.list(&admin(), None, Some(3), after).await.unwrap();
        assert!(!page2.has_next_page);
        let all: Vec<_> = page1.jobs.iter().chain(&page2.jobs).map(|j| j.id).collect();
        assert_eq!(all, ids.iter().rev().copied().collect::<Vec<_>>());

        assert!(matches!(
            queue.list(&learner(), None, None, None).await,
            Err(JobError::Forbidden)
        ));
        assert!(matches!(
            queue.list(&admin(), None, Some(0), None).await,
            Err(JobError::InvalidInput(_))
        ));
        assert!(matches!(
            queue
                .list(&admin(), None, None, Some("bm90LWEtdXVpZA".into()))
                .await,
            Err(JobError::InvalidInput(_))
        ));
    })
    .await;
}

/// `now + seconds` on a manual clock, for readable expectations.
trait NowPlus {
    fn now_plus(&self, seconds: i64) -> chrono::DateTime<chrono::Utc>;
}

impl NowPlus for kernel::ManualClock {
    fn now_plus(&self, seconds: i64) -> chrono::DateTime<chrono::Utc> {
        use kernel::Clock;
        self.now() + Span::seconds(seconds)
    }
}
