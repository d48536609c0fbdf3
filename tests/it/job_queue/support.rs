//! Test databases, clocks, actors, handlers and polling.

use std::any::Any;
use std::collections::{HashMap, HashSet};
use std::future::Future;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::{DateTime, TimeZone, Utc};
use jobs::{HandlerError, Job, JobHandler, JobQueue, WorkerConfig};
use kernel::{Actor, ManualClock, Role, Roles, SharedClock};
use lms_tests::{TestDatabase, with_database};
use sea_orm::DatabaseConnection;
use tokio::sync::Semaphore;
use uuid::Uuid;

/// A fresh, migrated database for one test (see [`TestDatabase`]), with the queue on top.
pub struct TestDb(TestDatabase);

impl TestDb {
    /// A new connection pool: SQLite in WAL mode with a busy timeout and foreign keys on.
    pub async fn connect(&self) -> DatabaseConnection {
        self.0.connect().await
    }

    /// A queue on a new connection, reading `clock`.
    pub async fn queue(&self, clock: &ManualClock) -> JobQueue {
        JobQueue::new(self.connect().await, shared(clock))
    }
}

/// Runs `test` on a fresh SQLite database, then on a fresh PostgreSQL database when
/// `LMS_TEST_DATABASE_URL` is set; the PostgreSQL database is dropped even when the test fails.
pub async fn on_each_database<F, Fut>(test: F)
where
    F: Fn(TestDb) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    if let Err(panic) = isolated(test(TestDb(TestDatabase::sqlite().await))).await {
        eprintln!("the test failed on SQLite");
        std::panic::resume_unwind(panic);
    }
    let Some(postgres) = TestDatabase::postgres().await else {
        return;
    };
    if let Err(panic) = isolated(test(TestDb(postgres))).await {
        eprintln!("the test failed on PostgreSQL");
        std::panic::resume_unwind(panic);
    }
}

async fn isolated(
    test: impl Future<Output = ()> + Send + 'static,
) -> Result<(), Box<dyn Any + Send>> {
    tokio::spawn(test)
        .await
        .map_err(|e| match e.try_into_panic() {
            Ok(panic) => panic,
            Err(e) => Box::new(e.to_string()),
        })
}

#[test]
fn the_test_database_replaces_the_servers_database_name() {
    assert_eq!(
        with_database("postgres://postgres@127.0.0.1/postgres", "t1"),
        "postgres://postgres@127.0.0.1/t1"
    );
    assert_eq!(
        with_database("postgres://u:p@h:5432/db?sslmode=disable", "t2"),
        "postgres://u:p@h:5432/t2?sslmode=disable"
    );
    assert_eq!(with_database("postgres://h", "t3"), "postgres://h/t3");
}

/// Monday 5 January 2026, 08:00 WIB.
pub fn start() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 1, 5, 1, 0, 0).unwrap()
}

/// A clock standing at [`start`].
pub fn manual_clock() -> ManualClock {
    ManualClock::new(start())
}

/// `clock` as the queue stores it.
pub fn shared(clock: &ManualClock) -> SharedClock {
    Arc::new(clock.clone())
}

/// A signed-in admin.
pub fn admin() -> Actor {
    person(Role::Admin)
}

/// A signed-in learner.
pub fn learner() -> Actor {
    person(Role::Learner)
}

fn person(role: Role) -> Actor {
    Actor {
        person_id: Some(kernel::new_id()),
        roles: Roles::empty().with(role),
        unit_id: None,
    }
}

/// A worker that polls every 10 ms and holds leases for 30 s of the test clock.
pub fn worker_config(id: &str, concurrency: usize) -> WorkerConfig {
    WorkerConfig {
        id: id.to_owned(),
        concurrency,
        lease: Duration::from_secs(30),
        poll_interval: Duration::from_millis(10),
        shutdown_grace: Duration::from_secs(30),
    }
}

/// The job `id` as an admin sees it.
pub async fn job(queue: &JobQueue, id: Uuid) -> Job {
    queue.get(&Actor::system(), id).await.unwrap()
}

/// Polls `check` every 10 ms until it gives a value; fails the test after 30 s.
pub async fn eventually<T, F, Fut>(what: &str, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Some(value) = check().await {
            return value;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// Polls until job `id` satisfies `done`, and returns it.
pub async fn job_where(queue: &JobQueue, id: Uuid, what: &str, done: impl Fn(&Job) -> bool) -> Job {
    eventually(what, || async {
        let job = job(queue, id).await;
        done(&job).then_some(job)
    })
    .await
}

/// Counts its runs per payload `n`, and how often two runs of one `n` overlapped.
#[derive(Clone, Default)]
pub struct Recorder {
    runs: Arc<Mutex<HashMap<u64, u32>>>,
    active: Arc<Mutex<HashSet<u64>>>,
    overlaps: Arc<AtomicUsize>,
}

impl Recorder {
    /// The kind it handles.
    pub const KIND: &'static str = "test.record";

    /// Runs per payload `n`.
    pub fn runs(&self) -> HashMap<u64, u32> {
        self.runs.lock().unwrap().clone()
    }

    /// Runs of payload `n`.
    pub fn runs_of(&self, n: u64) -> u32 {
        self.runs().get(&n).copied().unwrap_or(0)
    }

    /// How often a run started while another run of the same `n` was going on.
    pub fn overlaps(&self) -> usize {
        self.overlaps.load(Ordering::SeqCst)
    }
}

#[async_trait::async_trait]
impl JobHandler for Recorder {
    fn kind(&self) -> &'static str {
        Self::KIND
    }

    async fn run(&self, payload: serde_json::Value) -> Result<(), HandlerError> {
        let n = payload["n"].as_u64().ok_or("payload without `n`")?;
        if !self.active.lock().unwrap().insert(n) {
            self.overlaps.fetch_add(1, Ordering::SeqCst);
        }
        *self.runs.lock().unwrap().entry(n).or_default() += 1;
        tokio::time::sleep(Duration::from_millis(1)).await;
        self.active.lock().unwrap().remove(&n);
        Ok(())
    }
}

/// Always fails, like a mail server that refuses every message.
pub struct Refused;

impl Refused {
    /// The kind it handles.
    pub const KIND: &'static str = "test.refused";
}

#[async_trait::async_trait]
impl JobHandler for Refused {
    fn kind(&self) -> &'static str {
        Self::KIND
    }

    async fn run(&self, _payload: serde_json::Value) -> Result<(), HandlerError> {
        Err("the mail server refused the message".into())
    }
}

/// Always panics.
pub struct Panics;

impl Panics {
    /// The kind it handles.
    pub const KIND: &'static str = "test.panics";
}

#[async_trait::async_trait]
impl JobHandler for Panics {
    fn kind(&self) -> &'static str {
        Self::KIND
    }

    async fn run(&self, _payload: serde_json::Value) -> Result<(), HandlerError> {
        panic!("boom");
    }
}

/// Waits at a gate the test opens: counts starts, finishes, and runs stopped midway (their
/// future dropped before it finished).
#[derive(Clone)]
pub struct Gated {
    gate: Arc<Semaphore>,
    started: Arc<AtomicUsize>,
    finished: Arc<AtomicUsize>,
    dropped: Arc<AtomicUsize>,
}

impl Default for Gated {
    fn default() -> Self {
        Gated {
            gate: Arc::new(Semaphore::new(0)),
            started: Arc::default(),
            finished: Arc::default(),
            dropped: Arc::default(),
        }
    }
}

impl Gated {
    /// The kind it handles.
    pub const KIND: &'static str = "test.gated";

    /// Lets every waiting and future run finish.
    pub fn open(&self) {
        self.gate.add_permits(Semaphore::MAX_PERMITS / 2);
    }

    /// Runs started.
    pub fn started(&self) -> usize {
        self.started.load(Ordering::SeqCst)
    }

    /// Runs finished.
    pub fn finished(&self) -> usize {
        self.finished.load(Ordering::SeqCst)
    }

    /// Runs stopped before they finished.
    pub fn dropped(&self) -> usize {
        self.dropped.load(Ordering::SeqCst)
    }
}

struct StopGuard {
    done: bool,
    dropped: Arc<AtomicUsize>,
}

impl Drop for StopGuard {
    fn drop(&mut self) {
        if !self.done {
            self.dropped.fetch_add(1, Ordering::SeqCst);
        }
    }
}

#[async_trait::async_trait]
impl JobHandler for Gated {
    fn kind(&self) -> &'static str {
        Self::KIND
    }

    async fn run(&self, _payload: serde_json::Value) -> Result<(), HandlerError> {
        let mut guard = StopGuard {
            done: false,
            dropped: Arc::clone(&self.dropped),
        };
        self.started.fetch_add(1, Ordering::SeqCst);
        let _permit = self.gate.acquire().await?;
        self.finished.fetch_add(1, Ordering::SeqCst);
        guard.done = true;
        Ok(())
    }
}
