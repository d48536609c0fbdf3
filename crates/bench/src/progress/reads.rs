//! Closed-loop reads where every connection is a different user: learners' dashboards
//! (`myLearning`) and the admin paging a large cohort's roster by progress.

use std::time::{Duration, Instant};

use anyhow::Context as _;
use bytes::Bytes;
use hyper::StatusCode;
use hyper::header::HeaderValue;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::app::App;
use crate::progress::http::{self, Conn, Samples};

/// A learner's dashboard.
const MY_LEARNING: &str = "query { myLearning { items { courseTitle percent nextLessonTitle completed overdue canLearn } jp { year total target remaining } } }";
/// One roster page, furthest along first.
const ROSTER: &str = "query($c: ID!, $first: Int, $after: String) { cohortRoster(cohortId: $c, sort: PROGRESS_DESC, first: $first, after: $after) { edges { cursor node { id state progressPercent overdue person { name } } } pageInfo { hasNextPage endCursor } } }";
/// Rows per roster page.
pub const PAGE: usize = 20;
/// Pages each roster client walks before starting over at the first.
pub const PAGES_DEEP: usize = 5;

/// What a client asks for.
#[derive(Clone)]
pub enum Read {
    /// The dashboard of the token's learner.
    MyLearning,
    /// Roster pages of the cohort, following the cursors.
    Roster(Uuid),
}

/// Runs `tokens.len()` closed-loop connections (connection `i` as `tokens[i]`) for a warm-up and
/// then `window`; returns the requests answered well inside the window.
///
/// # Errors
/// When a client task panics or a token is not a header value.
pub async fn run(
    app: &App,
    tokens: &[String],
    read: Read,
    warmup: Duration,
    window: Duration,
) -> anyhow::Result<Samples> {
    let addr = app.server.addr;
    let measure_start = Instant::now() + warmup;
    let end = measure_start + window;
    let mut tasks = Vec::with_capacity(tokens.len());
    for token in tokens {
        let bearer = http::bearer(token)?;
        let read = read.clone();
        tasks.push(tokio::spawn(async move {
            client(addr, bearer, read, measure_start, end).await
        }));
    }
    let mut total = Samples::default();
    for t in tasks {
        total.absorb(t.await.context("a read client panicked")??);
    }
    total.finish();
    Ok(total)
}

async fn client(
    addr: std::net::SocketAddr,
    bearer: HeaderValue,
    read: Read,
    measure_start: Instant,
    end: Instant,
) -> anyhow::Result<Samples> {
    let mut tally = Samples::default();
    let mut conn: Option<Conn> = None;
    let mut after: Option<String> = None;
    let mut depth = 0;
    while Instant::now() < end {
        let c = match conn.as_mut() {
            Some(c) => c,
            None => match crate::load::connect(addr).await {
                Ok(c) => conn.insert(c),
                Err(_) => {
                    if Instant::now() >= measure_start {
                        tally.errors += 1;
                    }
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
        };
        let body = match &read {
            Read::MyLearning => json!({"query": MY_LEARNING}),
            Read::Roster(cohort) => {
                json!({"query": ROSTER, "variables": {"c": cohort, "first": PAGE, "after": after}})
            }
        };
        let body = Bytes::from(serde_json::to_vec(&body)?);
        let sent = Instant::now();
        let outcome = http::post(c, addr, &bearer, body).await;
        let done = Instant::now();
        let measured = sent >= measure_start && done <= end;
        let good = match &outcome {
            Ok((StatusCode::OK, bytes)) => match &read {
                Read::MyLearning => my_learning_ok(bytes),
                Read::Roster(_) => match roster_next(bytes) {
                    Some(next) => {
                        depth += 1;
                        after = next.filter(|_| depth < PAGES_DEEP);
                        if after.is_none() {
                            depth = 0;
                        }
                        true
                    }
                    None => false,
                },
            },
            _ => false,
        };
        if outcome.is_err() {
            conn = None;
        }
        if measured {
            if good {
                tally.record(done - sent);
            } else {
                tally.errors += 1;
            }
        }
    }
    Ok(tally)
}

/// A dashboard with at least one course and no errors.
fn my_learning_ok(body: &[u8]) -> bool {
    serde_json::from_slice::<Value>(body).is_ok_and(|v| {
        v.get("errors").is_none()
            && v["data"]["myLearning"]["items"]
                .as_array()
                .is_some_and(|a| !a.is_empty())
    })
}

/// For a full roster page without errors: the next page's cursor (`None` at the end).
fn roster_next(body: &[u8]) -> Option<Option<String>> {
    let v: Value = serde_json::from_slice(body).ok()?;
    if v.get("errors").is_some() {
        return None;
    }
    let r = &v["data"]["cohortRoster"];
    let edges = r["edges"].as_array()?;
    if edges.len() != PAGE && r["pageInfo"]["hasNextPage"] == true {
        return None;
    }
    Some(
        r["pageInfo"]["endCursor"]
            .as_str()
            .filter(|_| r["pageInfo"]["hasNextPage"] == true)
            .map(str::to_owned),
    )
}
