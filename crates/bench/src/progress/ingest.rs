//! Open-loop progress ingestion: every learner sends a `syncProgress` batch on a fixed
//! schedule (learner `i` of `n` first at `i × interval / n`, then every `interval`), on their own
//! keep-alive connection, whether or not the server keeps up. Latency counts from the scheduled
//! send time, so a server falling behind shows as latency instead of as a slower client.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use bytes::Bytes;
use chrono::Utc;
use hyper::StatusCode;
use serde_json::Value;
use uuid::Uuid;

use crate::app::App;
use crate::progress::http::{self, Conn, Samples};
use crate::progress::setup::{LESSONS, Learner, VIDEO_SECONDS};

/// Events in every batch: five played segments of two seconds, each followed by a position.
pub const EVENTS_PER_BATCH: usize = 10;
/// Seconds of video one batch covers.
const SEGMENT_SECONDS: f64 = 2.0;
/// The mutation, asking for what a phone reconciles with.
const SYNC: &str = "mutation($e: [ProgressEventInput!]!) { syncProgress(events: $e) { accepted rejected lessons { lessonId watchedSeconds resumePosition completedAt } enrollments { enrollmentId percent nextLessonId } } }";
/// Time to open every connection before the schedule starts.
const CONNECT_LEAD: Duration = Duration::from_secs(3);

/// Where a learner is in the course: lesson index and second in its video.
#[derive(Debug, Clone, Copy, Default)]
pub struct Cursor {
    lesson: usize,
    at: f64,
}

impl Cursor {
    /// The next batch's body: segments advancing from the cursor, which moves on; past the last
    /// video's end it starts the first again (a rewatch: new events, same seconds).
    fn batch(&mut self, lessons: &[Uuid]) -> anyhow::Result<Bytes> {
        let now = Utc::now();
        let mut events = Vec::with_capacity(EVENTS_PER_BATCH);
        for j in 0..EVENTS_PER_BATCH / 2 {
            if self.at + SEGMENT_SECONDS > VIDEO_SECONDS {
                self.lesson = (self.lesson + 1) % LESSONS;
                self.at = 0.0;
            }
            let lesson = lessons
                .get(self.lesson)
                .context("the course has fewer lessons than expected")?;
            let (from, to) = (self.at, self.at + SEGMENT_SECONDS);
            // The phone queued these over the last interval; the newest happened just now.
            let back = (EVENTS_PER_BATCH / 2 - j) as f64 * SEGMENT_SECONDS;
            let occurred = (now - chrono::Duration::milliseconds((back * 1000.0) as i64))
                .to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
            events.push(serde_json::json!({"clientEventId": Uuid::new_v4(), "lessonId": lesson, "kind": "PLAYED", "occurredAt": occurred, "fromSeconds": from, "toSeconds": to}));
            events.push(serde_json::json!({"clientEventId": Uuid::new_v4(), "lessonId": lesson, "kind": "POSITION", "occurredAt": occurred, "positionSeconds": to}));
            self.at = to;
        }
        let body = serde_json::json!({"query": SYNC, "variables": {"e": events}});
        Ok(Bytes::from(serde_json::to_vec(&body)?))
    }
}

/// The offered load of one run.
#[derive(Debug, Clone, Copy)]
pub struct Offer {
    /// Learners sending (the first this many).
    pub learners: usize,
    /// Time between one learner's batches.
    pub interval: Duration,
    /// How long batches are scheduled.
    pub window: Duration,
}

impl Offer {
    /// Events per second offered.
    pub fn events_per_sec(&self) -> f64 {
        self.learners as f64 * EVENTS_PER_BATCH as f64 / self.interval.as_secs_f64()
    }
}

/// What one run saw.
#[derive(Debug, Default)]
pub struct Ingested {
    /// Request latencies (from the scheduled time) and errors.
    pub requests: Samples,
    /// Events the server reported accepted.
    pub accepted: u64,
    /// Events it reported rejected.
    pub rejected: u64,
    /// From the first scheduled send to the last answer (at least the window).
    pub elapsed: Duration,
    /// The first error seen, shortened: what went wrong matters more than the count.
    pub first_error: Option<String>,
}

impl Ingested {
    /// Accepted events per second over the run.
    pub fn events_per_sec(&self) -> f64 {
        self.accepted as f64 / self.elapsed.as_secs_f64()
    }
}

/// One learner's tally.
struct Tally {
    samples: Samples,
    accepted: u64,
    rejected: u64,
    last: Instant,
    cursor: Cursor,
    first_error: Option<String>,
}

/// Runs `offer` with `learners` (and their cursors, which advance).
///
/// # Errors
/// When a learner task panics or a batch cannot be built.
pub async fn run(
    app: &App,
    learners: &[Learner],
    lessons: &[Uuid],
    cursors: &mut [Cursor],
    offer: Offer,
) -> anyhow::Result<Ingested> {
    let n = offer.learners.min(learners.len()).min(cursors.len());
    anyhow::ensure!(n > 0, "no learners to send");
    let addr = app.server.addr;
    let lessons: Arc<Vec<Uuid>> = Arc::new(lessons.to_vec());
    let start = Instant::now() + CONNECT_LEAD;
    let end = start + offer.window;
    let mut tasks = Vec::with_capacity(n);
    for (i, (learner, cursor)) in learners.iter().zip(cursors.iter()).take(n).enumerate() {
        let bearer = http::bearer(&learner.token)?;
        let lessons = lessons.clone();
        let mut cursor = *cursor;
        let first = start + offer.interval.mul_f64(i as f64 / n as f64);
        tasks.push(tokio::spawn(async move {
            let mut tally = Tally {
                samples: Samples::default(),
                accepted: 0,
                rejected: 0,
                last: start,
                cursor,
                first_error: None,
            };
            let mut conn: Option<Conn> = connect_retrying(addr, start).await;
            let mut due = first;
            while due < end {
                tokio::time::sleep_until(due.into()).await;
                let body = cursor.batch(&lessons)?;
                let c = match conn.as_mut() {
                    Some(c) => c,
                    None => match crate::load::connect(addr).await {
                        Ok(c) => conn.insert(c),
                        Err(_) => {
                            tally.samples.errors += 1;
                            due += offer.interval;
                            continue;
                        }
                    },
                };
                let outcome = http::post(c, addr, &bearer, body).await;
                let done = Instant::now();
                tally.last = tally.last.max(done);
                match outcome.map(|(s, b)| (s, judge(&b), b)) {
                    Ok((StatusCode::OK, Some((accepted, rejected)), _)) => {
                        tally.samples.record(done - due);
                        tally.accepted += accepted;
                        tally.rejected += rejected;
                    }
                    Ok((status, _, body)) => {
                        tally.samples.errors += 1;
                        tally.first_error.get_or_insert_with(|| {
                            let text = String::from_utf8_lossy(&body);
                            format!("{status}: {}", text.chars().take(160).collect::<String>())
                        });
                    }
                    Err(e) => {
                        conn = None;
                        tally.samples.errors += 1;
                        tally
                            .first_error
                            .get_or_insert_with(|| format!("transport: {e}"));
                    }
                }
                due += offer.interval;
            }
            tally.cursor = cursor;
            anyhow::Ok(tally)
        }));
    }
    let mut total = Ingested::default();
    let mut last = start;
    for (task, slot) in tasks.into_iter().zip(cursors.iter_mut()) {
        let tally = task.await.context("a learner task panicked")??;
        total.requests.absorb(tally.samples);
        total.accepted += tally.accepted;
        total.rejected += tally.rejected;
        last = last.max(tally.last);
        *slot = tally.cursor;
        if total.first_error.is_none() {
            total.first_error = tally.first_error;
        }
    }
    total.requests.finish();
    total.elapsed = (last - start).max(offer.window);
    Ok(total)
}

/// Opens a connection before `start`, retrying while the listener's backlog is full.
async fn connect_retrying(addr: std::net::SocketAddr, start: Instant) -> Option<Conn> {
    loop {
        match crate::load::connect(addr).await {
            Ok(c) => return Some(c),
            Err(_) if Instant::now() + Duration::from_millis(100) < start => {
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            Err(_) => return None,
        }
    }
}

/// `(accepted, rejected)` of a good answer; `None` for errors or an unexpected body.
fn judge(body: &[u8]) -> Option<(u64, u64)> {
    let v: Value = serde_json::from_slice(body).ok()?;
    if v.get("errors").is_some() {
        return None;
    }
    let s = &v["data"]["syncProgress"];
    Some((s["accepted"].as_u64()?, s["rejected"].as_u64()?))
}
