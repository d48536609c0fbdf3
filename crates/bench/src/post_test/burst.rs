//! The post-test burst over HTTP GraphQL, in three open-loop phases: every learner starts within
//! one window, then saves their answers on a schedule, then everyone submits within another
//! window. A learner sends at its scheduled instant whatever the others are doing, on its own
//! keep-alive connection (a phone), and latency counts from that instant, so a server falling
//! behind shows as latency, not as a politely slower client.
//!
//! The phases are separated: each waits until the previous one has finished, so each measures
//! its own burst (a learner whose start was slow does not make the submit figures worse).
//! [`serial`] runs the same calls one at a time, for the cost of each with nothing else running.

use std::collections::BTreeMap;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use bytes::Bytes;
use chrono::Utc;
use futures::StreamExt as _;
use hyper::StatusCode;
use hyper::header::HeaderValue;
use serde_json::{Value, json};

use crate::post_test::setup::{PostTest, QUESTIONS, verdict};
use crate::progress::http::{self, Conn, Samples};

const START: &str = "mutation($q: ID!) { startQuizAttempt(quizId: $q) { id deadlineAt secondsLeft questions { questionId position kind prompt points choices { id text } items { id text } } } }";
const SAVE: &str = "mutation($a: ID!, $x: [QuizAnswerInput!]!) { saveQuizAnswers(attemptId: $a, answers: $x) { results { questionId status reason } } }";
const SUBMIT: &str =
    "mutation($a: ID!) { submitQuizAttempt(attemptId: $a) { state score percent passed } }";
/// Time between spawning a phase's learners and its first scheduled request.
const LEAD: Duration = Duration::from_millis(500);
/// Connections opened at once before the burst (the listener's backlog is finite).
const CONNECTING: usize = 64;
/// Error texts kept: what went wrong matters more than the count.
const FIRST_ERROR_CHARS: usize = 200;

/// The schedule of the burst.
#[derive(Debug, Clone, Copy)]
pub struct Schedule {
    /// Starts are spread uniformly over this window.
    pub start: Duration,
    /// Calls each learner saves its answers in (1 = all at once; [`QUESTIONS`] = one per
    /// question, as a phone autosaves).
    pub saves: usize,
    /// Saves are spread uniformly over this window.
    pub save: Duration,
    /// Submits are spread uniformly over this window.
    pub submit: Duration,
}

/// What one phase saw.
#[derive(Debug, Default)]
pub struct Phase {
    /// Latencies of good answers (from the scheduled instant) and the error count.
    pub samples: Samples,
    /// The first scheduled instant.
    pub first_due: Option<Instant>,
    /// The first request actually sent.
    pub first_sent: Option<Instant>,
    /// The last answer received.
    pub last_done: Option<Instant>,
}

impl Phase {
    /// From the first scheduled instant to the last answer.
    pub fn span_from_due(&self) -> Duration {
        match (self.first_due, self.last_done) {
            (Some(a), Some(b)) => b.saturating_duration_since(a),
            _ => Duration::ZERO,
        }
    }

    /// From the first request sent to the last answer.
    pub fn span_from_sent(&self) -> Duration {
        match (self.first_sent, self.last_done) {
            (Some(a), Some(b)) => b.saturating_duration_since(a),
            _ => Duration::ZERO,
        }
    }

    fn absorb(&mut self, other: Phase) {
        self.samples.absorb(other.samples);
        self.first_due = min_some(self.first_due, other.first_due);
        self.first_sent = min_some(self.first_sent, other.first_sent);
        self.last_done = self.last_done.max(other.last_done);
    }
}

fn min_some(a: Option<Instant>, b: Option<Instant>) -> Option<Instant> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

/// What the whole burst saw.
#[derive(Debug, Default)]
pub struct Burst {
    /// `startQuizAttempt`.
    pub starts: Phase,
    /// `saveQuizAnswers`.
    pub saves: Phase,
    /// `submitQuizAttempt`.
    pub submits: Phase,
    /// Errors by phase and kind (transport, HTTP status, GraphQL code and reason, refused
    /// answer, unexpected answer).
    pub errors: BTreeMap<String, u64>,
    /// The first error of each kind, shortened.
    pub first_errors: BTreeMap<String, String>,
    /// Answers the server reported saved.
    pub answers_accepted: u64,
    /// Submits whose answer gave the score the bench expected.
    pub scores_right: u64,
}

impl Burst {
    /// Adds one learner's tally of the phase `pick` chooses.
    fn add(&mut self, tally: Tally, pick: fn(&mut Burst) -> &mut Phase) {
        pick(self).absorb(tally.phase);
        for (kind, n) in tally.errors {
            *self.errors.entry(kind).or_insert(0) += n;
        }
        for (kind, e) in tally.first_errors {
            self.first_errors.entry(kind).or_insert(e);
        }
        self.answers_accepted += tally.accepted;
        self.scores_right += tally.scores_right;
    }

    /// Every error together.
    pub fn error_count(&self) -> u64 {
        self.errors.values().sum()
    }
}

/// One learner between phases.
struct Taker {
    index: usize,
    bearer: HeaderValue,
    conn: Option<Conn>,
    attempt: Option<String>,
}

/// One learner's tally of one phase.
#[derive(Default)]
struct Tally {
    phase: Phase,
    errors: BTreeMap<String, u64>,
    first_errors: BTreeMap<String, String>,
    accepted: u64,
    scores_right: u64,
}

impl Tally {
    fn error(&mut self, kind: String, detail: impl FnOnce() -> String) {
        self.phase.samples.errors += 1;
        self.first_errors.entry(kind.clone()).or_insert_with(|| {
            let d = detail();
            d.chars().take(FIRST_ERROR_CHARS).collect()
        });
        *self.errors.entry(kind).or_insert(0) += 1;
    }
}

/// Why an exchange failed: a kind to count by, and the details.
struct Failure {
    kind: String,
    detail: String,
}

/// Sends `body` at `due` on the taker's connection (opening one if it has none or the server
/// closed it while idle; that is not counted as an error, since nothing was sent). Records the
/// times; gives `data` of a good answer.
async fn exchange(
    t: &mut Taker,
    addr: SocketAddr,
    due: Instant,
    body: Bytes,
    tally: &mut Tally,
) -> Result<(Value, Instant), Failure> {
    tokio::time::sleep_until(due.into()).await;
    tally.phase.first_due = min_some(tally.phase.first_due, Some(due));
    let sent = Instant::now();
    tally.phase.first_sent = min_some(tally.phase.first_sent, Some(sent));
    if t.conn.as_ref().is_none_or(Conn::is_closed) {
        t.conn = None;
    }
    let conn = match t.conn.as_mut() {
        Some(c) => c,
        None => match crate::load::connect(addr).await {
            Ok(c) => t.conn.insert(c),
            Err(e) => {
                return Err(Failure {
                    kind: "transport (connect)".into(),
                    detail: format!("{e:#}"),
                });
            }
        },
    };
    let outcome = http::post(conn, addr, &t.bearer, body).await;
    let done = Instant::now();
    tally.phase.last_done = tally.phase.last_done.max(Some(done));
    let (status, bytes) = match outcome {
        Ok(x) => x,
        Err(e) => {
            t.conn = None;
            return Err(Failure {
                kind: "transport".into(),
                detail: format!("{e:#}"),
            });
        }
    };
    let text = || String::from_utf8_lossy(&bytes).into_owned();
    let Ok(answer) = serde_json::from_slice::<Value>(&bytes) else {
        return Err(Failure {
            kind: format!("HTTP {status}, body not JSON"),
            detail: text(),
        });
    };
    if let Some(e) = answer["errors"].as_array().and_then(|e| e.first()) {
        let code = e["extensions"]["code"].as_str().unwrap_or("no code");
        let kind = match e["extensions"]["reason"].as_str() {
            Some(reason) => format!("{code} ({reason})"),
            None => code.to_owned(),
        };
        return Err(Failure {
            kind,
            detail: format!("{status}: {}", text()),
        });
    }
    if status != StatusCode::OK {
        return Err(Failure {
            kind: format!("HTTP {status}"),
            detail: text(),
        });
    }
    Ok((answer["data"].clone(), done))
}

/// Runs one phase: `step` for every taker at once (each sleeps until its own schedule), then
/// gathers the takers and their tallies.
async fn phase<F, Fut>(
    takers: Vec<Taker>,
    step: F,
    burst: &mut Burst,
    pick: fn(&mut Burst) -> &mut Phase,
) -> anyhow::Result<Vec<Taker>>
where
    F: Fn(Taker) -> Fut,
    Fut: Future<Output = (Taker, Tally)> + Send + 'static,
{
    let tasks: Vec<_> = takers.into_iter().map(|t| tokio::spawn(step(t))).collect();
    let mut out = Vec::with_capacity(tasks.len());
    for task in tasks {
        let (taker, tally) = task.await.context("a learner task panicked")?;
        burst.add(tally, pick);
        out.push(taker);
    }
    pick(burst).samples.finish();
    Ok(out)
}

/// Instant `i` of `n` spread uniformly over `window` from `from`.
fn slot(from: Instant, window: Duration, i: usize, n: usize) -> Instant {
    from + window.mul_f64(i as f64 / n as f64)
}

/// Learner `t` starts the quiz at `due`; on success its attempt id is kept.
async fn start(t: &mut Taker, addr: SocketAddr, quiz: &str, due: Instant, tally: &mut Tally) {
    let body = json!({"query": START, "variables": {"q": quiz}});
    let body = Bytes::from(body.to_string());
    match exchange(t, addr, due, body, tally).await {
        Ok((data, done)) => {
            let a = &data["startQuizAttempt"];
            let delivered = a["questions"].as_array().map_or(0, Vec::len);
            match a["id"].as_str() {
                Some(id) if delivered == QUESTIONS => {
                    t.attempt = Some(id.to_owned());
                    tally.phase.samples.record(done - due);
                }
                _ => tally.error("start: unexpected answer".into(), || a.to_string()),
            }
        }
        Err(f) => tally.error(format!("start: {}", f.kind), || f.detail),
    }
}

/// Learner `t` saves its answers to `questions` (the `call`th slice of `per_call` questions)
/// at `due`.
async fn save(
    t: &mut Taker,
    addr: SocketAddr,
    test: &PostTest,
    (call, per_call): (usize, usize),
    due: Instant,
    tally: &mut Tally,
) {
    let Some(attempt) = t.attempt.clone() else {
        return;
    };
    // The phone builds the call when the learner answers, not in advance.
    tokio::time::sleep_until(due.into()).await;
    let answered_at = Utc::now().to_rfc3339();
    let first = call * per_call;
    let questions = test
        .questions
        .get(first..(first + per_call).min(QUESTIONS))
        .unwrap_or_default();
    let answers: Vec<Value> = questions
        .iter()
        .enumerate()
        .map(|(k, q)| {
            let plan = q.plan(verdict(t.index, first + k));
            let mut a = json!({"questionId": q.id, "seq": 1, "answeredAt": answered_at});
            a[plan.field.0] = plan.field.1;
            a
        })
        .collect();
    let body = json!({"query": SAVE, "variables": {"a": attempt, "x": answers}});
    let body = Bytes::from(body.to_string());
    match exchange(t, addr, due, body, tally).await {
        Ok((data, done)) => {
            let results = data["saveQuizAnswers"]["results"]
                .as_array()
                .cloned()
                .unwrap_or_default();
            let refused: Vec<&Value> = results
                .iter()
                .filter(|r| r["status"] != "ACCEPTED")
                .collect();
            if results.len() != questions.len() {
                tally.error("save: unexpected answer".into(), || data.to_string());
            } else if let Some(r) = refused.first() {
                let reason = r["reason"].as_str().unwrap_or("no reason");
                tally.error(format!("save: answer refused ({reason})"), || {
                    data.to_string()
                });
                tally.accepted += (results.len() - refused.len()) as u64;
            } else {
                tally.accepted += results.len() as u64;
                tally.phase.samples.record(done - due);
            }
        }
        Err(f) => tally.error(format!("save: {}", f.kind), || f.detail),
    }
}

/// Learner `t` submits at `due`; the score answered is compared with `expected`.
async fn submit(t: &mut Taker, addr: SocketAddr, expected: f64, due: Instant, tally: &mut Tally) {
    let Some(attempt) = t.attempt.clone() else {
        return;
    };
    let body = json!({"query": SUBMIT, "variables": {"a": attempt}});
    let body = Bytes::from(body.to_string());
    match exchange(t, addr, due, body, tally).await {
        Ok((data, done)) => {
            let r = &data["submitQuizAttempt"];
            if r["state"] != "GRADED" {
                tally.error("submit: not graded".into(), || r.to_string());
            } else {
                tally.phase.samples.record(done - due);
                // A wrong score is not a failed request: the database check counts it.
                if r["score"]
                    .as_f64()
                    .is_some_and(|got| (got - expected).abs() < 1e-6)
                {
                    tally.scores_right += 1;
                }
            }
        }
        Err(f) => tally.error(format!("submit: {}", f.kind), || f.detail),
    }
}

fn taker(test: &PostTest, index: usize) -> anyhow::Result<Taker> {
    let l = test.learners.get(index).context("no such learner")?;
    Ok(Taker {
        index,
        bearer: http::bearer(&l.token)?,
        conn: None,
        attempt: None,
    })
}

/// Opens a connection for the taker, retrying while the listener's backlog is full.
async fn connected(mut t: Taker, addr: SocketAddr) -> Taker {
    for _ in 0..20 {
        match crate::load::connect(addr).await {
            Ok(c) => {
                t.conn = Some(c);
                break;
            }
            Err(_) => tokio::time::sleep(Duration::from_millis(50)).await,
        }
    }
    t
}

/// Runs the burst for learners `0..n` of `test`.
///
/// # Errors
/// When a learner task panics or a token is not a header value.
pub async fn run(
    addr: SocketAddr,
    test: &Arc<PostTest>,
    n: usize,
    s: Schedule,
) -> anyhow::Result<Burst> {
    anyhow::ensure!(n > 0 && n <= test.learners.len(), "no learners");
    anyhow::ensure!(
        (1..=QUESTIONS).contains(&s.saves),
        "saves per learner must be 1 to {QUESTIONS}"
    );
    let takers = (0..n)
        .map(|i| taker(test, i))
        .collect::<anyhow::Result<Vec<_>>>()?;
    // Every phone is connected before the burst: the burst measures the API, not TCP setup.
    let takers: Vec<Taker> = futures::stream::iter(takers)
        .map(|t| connected(t, addr))
        .buffer_unordered(CONNECTING)
        .collect()
        .await;
    let mut burst = Burst::default();

    // 1. Everyone starts within the start window.
    let quiz = Arc::new(test.quiz_id.to_string());
    let from = Instant::now() + LEAD;
    let takers = phase(
        takers,
        |mut t| {
            let quiz = quiz.clone();
            async move {
                let mut tally = Tally::default();
                let due = slot(from, s.start, t.index, n);
                start(&mut t, addr, &quiz, due, &mut tally).await;
                (t, tally)
            }
        },
        &mut burst,
        |b| &mut b.starts,
    )
    .await?;

    // 2. Everyone saves their answers: `saves` calls each, spread over the save window.
    let from = Instant::now() + LEAD;
    let per_call = QUESTIONS.div_ceil(s.saves);
    let takers = phase(
        takers,
        |mut t| {
            let test = test.clone();
            async move {
                let mut tally = Tally::default();
                for call in 0..QUESTIONS.div_ceil(per_call) {
                    // Learner i's calls are at (call + i/n) / saves of the window: each learner
                    // evenly paced, the learners evenly interleaved.
                    let at = (call as f64 + t.index as f64 / n as f64) / s.saves as f64;
                    let due = from + s.save.mul_f64(at);
                    save(&mut t, addr, &test, (call, per_call), due, &mut tally).await;
                }
                (t, tally)
            }
        },
        &mut burst,
        |b| &mut b.saves,
    )
    .await?;

    // 3. Everyone submits within the submit window.
    let from = Instant::now() + LEAD;
    phase(
        takers,
        |mut t| {
            let expected = test.expected_score(t.index);
            async move {
                let mut tally = Tally::default();
                let due = slot(from, s.submit, t.index, n);
                submit(&mut t, addr, expected, due, &mut tally).await;
                (t, tally)
            }
        },
        &mut burst,
        |b| &mut b.submits,
    )
    .await?;
    Ok(burst)
}

/// Learners `learners` take the post-test one after the other, each request sent when the
/// previous one has been answered: the time of each call with nothing else running, whose
/// inverse is the ceiling where writes serialize (SQLite). It also warms the app up for the
/// burst.
///
/// # Errors
/// When a token is not a header value.
pub async fn serial(
    addr: SocketAddr,
    test: &PostTest,
    learners: std::ops::Range<usize>,
    saves: usize,
) -> anyhow::Result<Burst> {
    let mut burst = Burst::default();
    let quiz = test.quiz_id.to_string();
    let per_call = QUESTIONS.div_ceil(saves.clamp(1, QUESTIONS));
    for i in learners {
        let mut t = connected(taker(test, i)?, addr).await;
        let mut tally = Tally::default();
        start(&mut t, addr, &quiz, Instant::now(), &mut tally).await;
        burst.add(tally, |b| &mut b.starts);
        let mut tally = Tally::default();
        for call in 0..QUESTIONS.div_ceil(per_call) {
            save(
                &mut t,
                addr,
                test,
                (call, per_call),
                Instant::now(),
                &mut tally,
            )
            .await;
        }
        burst.add(tally, |b| &mut b.saves);
        let mut tally = Tally::default();
        submit(
            &mut t,
            addr,
            test.expected_score(i),
            Instant::now(),
            &mut tally,
        )
        .await;
        burst.add(tally, |b| &mut b.submits);
    }
    burst.starts.samples.finish();
    burst.saves.samples.finish();
    burst.submits.samples.finish();
    Ok(burst)
}
