//! Workers: claim due jobs and run them through the registered [`JobHandler`]s.
//!
//! Each job runs in its own tokio task, watched by a supervisor task that renews the lease,
//! records the outcome and turns a handler's panic into a failed attempt: a handler can neither
//! kill the worker nor leave its job running forever.
//!
//! Shutdown: [`Worker::run`] takes a [`CancellationToken`]. Once it is cancelled the worker claims
//! nothing more and waits for its running jobs to finish and be recorded. Jobs still running
//! after [`WorkerConfig::shutdown_grace`] are stopped and released: queued again, due now, their
//! interrupted attempt not counted. `run` returns when every job is recorded or released.

use std::any::Any;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use tokio::task::{JoinError, JoinHandle, JoinSet};
use tokio::time::MissedTickBehavior;
use tokio_util::sync::CancellationToken;
use tracing::Instrument;

use crate::queue::{ClaimedJob, FailOutcome, JobQueue};

/// What a handler returns when an attempt fails: any error; its text (with its sources) becomes
/// the job's `last_error`.
pub type HandlerError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// Runs the jobs of one kind. Handlers must be idempotent: after a crash or an expired lease the
/// same job runs again.
#[async_trait]
pub trait JobHandler: Send + Sync + 'static {
    /// The job kind this handler runs.
    fn kind(&self) -> &'static str;

    /// Runs one attempt.
    ///
    /// # Errors
    /// Any error fails the attempt; the queue retries it with backoff while attempts remain.
    async fn run(&self, payload: serde_json::Value) -> Result<(), HandlerError>;
}

/// How a [`Worker`] runs.
#[derive(Debug, Clone)]
pub struct WorkerConfig {
    /// The name the worker holds leases under (`jobs.locked_by`); unique per worker.
    pub id: String,
    /// Jobs run at the same time, at least 1.
    pub concurrency: usize,
    /// How long a claim holds a job; renewed every third of it while the job runs.
    pub lease: Duration,
    /// The wait between claims when no job is due.
    pub poll_interval: Duration,
    /// How long a shutdown waits for running jobs before stopping and releasing them.
    pub shutdown_grace: Duration,
}

impl Default for WorkerConfig {
    /// A unique id, 4 jobs at a time, a 60 s lease, polling every 500 ms, 30 s grace.
    fn default() -> Self {
        WorkerConfig {
            id: format!(
                "worker-{}-{}",
                std::process::id(),
                kernel::new_id().simple()
            ),
            concurrency: 4,
            lease: Duration::from_secs(60),
            poll_interval: Duration::from_millis(500),
            shutdown_grace: Duration::from_secs(30),
        }
    }
}

/// Claims due jobs from a [`JobQueue`] and runs them, up to `concurrency` at a time.
pub struct Worker {
    queue: JobQueue,
    handlers: HashMap<&'static str, Arc<dyn JobHandler>>,
    config: WorkerConfig,
}

impl Worker {
    /// A worker without handlers.
    pub fn new(queue: JobQueue, config: WorkerConfig) -> Self {
        Worker {
            queue,
            handlers: HashMap::new(),
            config,
        }
    }

    /// The worker with `handler` registered for its kind.
    pub fn with_handler(mut self, handler: impl JobHandler) -> Self {
        self.register(Arc::new(handler));
        self
    }

    /// Registers `handler` for its kind, replacing any handler of that kind.
    pub fn register(&mut self, handler: Arc<dyn JobHandler>) -> &mut Self {
        self.handlers.insert(handler.kind(), handler);
        self
    }

    /// The id the worker holds leases under.
    pub fn id(&self) -> &str {
        &self.config.id
    }

    /// The kinds the worker has handlers for, sorted.
    pub fn kinds(&self) -> Vec<&'static str> {
        let mut kinds: Vec<_> = self.handlers.keys().copied().collect();
        kinds.sort_unstable();
        kinds
    }

    /// Runs the worker on a new task until `shutdown` is cancelled (see [`Worker::run`]).
    pub fn spawn(self, shutdown: CancellationToken) -> JoinHandle<()> {
        tokio::spawn(self.run(shutdown))
    }

    /// Claims and runs jobs until `shutdown` is cancelled, then drains as the module doc says.
    /// Database errors are logged and retried after the poll interval; nothing here panics.
    pub async fn run(self, shutdown: CancellationToken) {
        let Worker {
            queue,
            handlers,
            config,
        } = self;
        let concurrency = config.concurrency.max(1);
        let worker_id: Arc<str> = config.id.as_str().into();
        let stop_jobs = CancellationToken::new();
        let mut running: JoinSet<()> = JoinSet::new();
        tracing::info!(
            worker.id = %worker_id,
            concurrency,
            kinds = ?handlers.keys().collect::<Vec<_>>(),
            "worker started"
        );

        while !shutdown.is_cancelled() {
            while let Some(done) = running.try_join_next() {
                log_supervisor_end(done);
            }
            if running.len() >= concurrency {
                tokio::select! {
                    () = shutdown.cancelled() => {}
                    Some(done) = running.join_next() => log_supervisor_end(done),
                }
                continue;
            }
            match queue.claim(&worker_id, config.lease).await {
                Ok(Some(job)) => {
                    let run = JobRun {
                        queue: queue.clone(),
                        worker_id: Arc::clone(&worker_id),
                        lease: config.lease,
                        handler: handlers.get(job.kind.as_str()).cloned(),
                        job,
                        stop: stop_jobs.clone(),
                    };
                    running.spawn(run.supervise());
                }
                Ok(None) => idle(&shutdown, config.poll_interval).await,
                Err(error) => {
                    tracing::error!(worker.id = %worker_id, %error, "could not claim a job");
                    idle(&shutdown, config.poll_interval).await;
                }
            }
        }

        tracing::info!(
            worker.id = %worker_id,
            jobs = running.len(),
            "worker stopping; waiting for running jobs"
        );
        let grace = tokio::time::sleep(config.shutdown_grace);
        tokio::pin!(grace);
        loop {
            tokio::select! {
                done = running.join_next() => match done {
                    Some(done) => log_supervisor_end(done),
                    None => break,
                },
                () = &mut grace, if !stop_jobs.is_cancelled() => {
                    tracing::warn!(
                        worker.id = %worker_id,
                        jobs = running.len(),
                        "shutdown grace over; stopping and releasing running jobs"
                    );
                    stop_jobs.cancel();
                }
            }
        }
        tracing::info!(worker.id = %worker_id, "worker stopped");
    }
}

async fn idle(shutdown: &CancellationToken, poll_interval: Duration) {
    tokio::select! {
        () = shutdown.cancelled() => {}
        () = tokio::time::sleep(poll_interval) => {}
    }
}

fn log_supervisor_end(done: Result<(), JoinError>) {
    if let Err(error) = done {
        tracing::error!(%error, "a job supervisor ended abnormally");
    }
}

/// One claimed job and what its supervisor needs.
struct JobRun {
    queue: JobQueue,
    worker_id: Arc<str>,
    lease: Duration,
    handler: Option<Arc<dyn JobHandler>>,
    job: ClaimedJob,
    stop: CancellationToken,
}

impl JobRun {
    async fn supervise(self) {
        let span = tracing::info_span!(
            "job",
            job.id = %self.job.id,
            job.kind = %self.job.kind,
            job.attempt = self.job.attempt,
            worker.id = %self.worker_id,
        );
        self.supervise_in_span().instrument(span).await;
    }

    async fn supervise_in_span(self) {
        let started = Instant::now();
        let outcome = match (self.handler.clone(), self.job.payload()) {
            (None, _) => Err(format!(
                "no handler is registered for job kind `{}`",
                self.job.kind
            )),
            (Some(_), Err(e)) => Err(format!("the stored payload is not valid JSON: {e}")),
            (Some(handler), Ok(payload)) => match self.run_handler(handler, payload).await {
                Some(outcome) => outcome,
                None => return,
            },
        };
        let duration_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
        let (queue, job, worker) = (&self.queue, &self.job, &*self.worker_id);
        match outcome {
            Ok(()) => match queue.complete(job, worker).await {
                Ok(true) => tracing::info!(duration_ms, "job succeeded"),
                Ok(false) => tracing::warn!(
                    duration_ms,
                    "job finished after its lease was lost; outcome not recorded"
                ),
                Err(error) => tracing::error!(
                    duration_ms,
                    %error,
                    "could not record the job's success; it runs again when the lease expires"
                ),
            },
            Err(message) => match queue.fail(job, worker, &message).await {
                Ok(FailOutcome::Retrying { run_at }) => tracing::warn!(
                    duration_ms,
                    error = %message,
                    retry_at = %run_at,
                    "job failed; it will be retried"
                ),
                Ok(FailOutcome::GaveUp) => tracing::error!(
                    duration_ms,
                    error = %message,
                    "job failed on its last attempt; giving up"
                ),
                Ok(FailOutcome::LeaseLost) => tracing::warn!(
                    duration_ms,
                    error = %message,
                    "job failed after its lease was lost; outcome not recorded"
                ),
                Err(error) => tracing::error!(
                    duration_ms,
                    %error,
                    "could not record the job's failure; it runs again when the lease expires"
                ),
            },
        }
    }

    /// Runs the handler on its own task while renewing the lease. `None` when the job was
    /// stopped (lease lost, or the shutdown grace is over) and there is no outcome to record.
    async fn run_handler(
        &self,
        handler: Arc<dyn JobHandler>,
        payload: serde_json::Value,
    ) -> Option<Result<(), String>> {
        let mut task = tokio::spawn(async move { handler.run(payload).await }.in_current_span());
        let period = (self.lease / 3).max(Duration::from_millis(50));
        let mut renew = tokio::time::interval_at(tokio::time::Instant::now() + period, period);
        renew.set_missed_tick_behavior(MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                done = &mut task => return Some(match done {
                    Ok(Ok(())) => Ok(()),
                    Ok(Err(error)) => Err(error_chain(&*error)),
                    Err(e) if e.is_panic() => {
                        Err(format!("the handler panicked: {}", panic_message(e.into_panic())))
                    }
                    Err(_) => Err("the handler task was cancelled".to_owned()),
                }),
                _ = renew.tick() => {
                    match self.queue.renew(&self.job, &self.worker_id, self.lease).await {
                        Ok(true) => {}
                        Ok(false) => {
                            task.abort();
                            tracing::warn!("lease lost to another worker; job stopped");
                            return None;
                        }
                        Err(error) => {
                            tracing::warn!(%error, "could not renew the lease; trying again");
                        }
                    }
                }
                () = self.stop.cancelled() => {
                    task.abort();
                    match self.queue.release(&self.job, &self.worker_id).await {
                        Ok(true) => tracing::warn!("job stopped by shutdown and queued again"),
                        Ok(false) => tracing::warn!("job stopped by shutdown; lease already lost"),
                        Err(error) => tracing::error!(
                            %error,
                            "job stopped by shutdown; could not release it, it runs again when \
                             the lease expires"
                        ),
                    }
                    return None;
                }
            }
        }
    }
}

/// The error's text followed by its sources', `outer: inner: root`.
fn error_chain(error: &(dyn std::error::Error + 'static)) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

fn panic_message(payload: Box<dyn Any + Send>) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_owned()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "(a panic without a message)".to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, thiserror::Error)]
    #[error("could not send the survey")]
    struct Outer(#[source] std::io::Error);

    #[test]
    fn an_error_is_recorded_with_its_sources() {
        let err = Outer(std::io::Error::other("connection reset"));
        assert_eq!(
            error_chain(&err),
            "could not send the survey: connection reset"
        );
    }

    #[test]
    fn panic_payloads_become_text() {
        assert_eq!(panic_message(Box::new("boom")), "boom");
        assert_eq!(panic_message(Box::new(String::from("bang"))), "bang");
        assert_eq!(panic_message(Box::new(42)), "(a panic without a message)");
    }

    #[test]
    fn default_worker_ids_are_unique_and_fit_the_column() {
        let (a, b) = (WorkerConfig::default(), WorkerConfig::default());
        assert_ne!(a.id, b.id);
        assert!(a.id.len() <= crate::queue::MAX_WORKER_ID_LEN);
    }
}
