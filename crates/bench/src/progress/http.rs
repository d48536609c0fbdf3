//! One GraphQL exchange on a keep-alive connection, and latency samples: the progress suites
//! give every simulated person their own token, which [`crate::load::Target`] (one bearer per
//! target) cannot express.

use std::net::SocketAddr;
use std::time::Duration;

use anyhow::Context as _;
use bytes::Bytes;
use http_body_util::{BodyExt as _, Full};
use hyper::client::conn::http1::SendRequest;
use hyper::header::{self, HeaderValue};
use hyper::{Request, StatusCode};
use serde_json::Value;

/// A keep-alive connection to the app.
pub type Conn = SendRequest<Full<Bytes>>;

/// Posts `body` to `/graphql` as the holder of `bearer` (a full `Bearer …` header value).
///
/// # Errors
/// When the exchange fails.
pub async fn post(
    conn: &mut Conn,
    addr: SocketAddr,
    bearer: &HeaderValue,
    body: Bytes,
) -> anyhow::Result<(StatusCode, Bytes)> {
    let request = Request::post("/graphql")
        .header(header::HOST, addr.to_string())
        .header(header::CONTENT_TYPE, "application/json")
        .header(header::ACCEPT, "application/graphql-response+json")
        .header(header::AUTHORIZATION, bearer)
        .body(Full::new(body))?;
    conn.ready().await?;
    let response = conn.send_request(request).await?;
    let status = response.status();
    let bytes = response.into_body().collect().await?.to_bytes();
    Ok((status, bytes))
}

/// The `Bearer` header value of `token`.
///
/// # Errors
/// When the token is not a valid header value.
pub fn bearer(token: &str) -> anyhow::Result<HeaderValue> {
    HeaderValue::from_str(&format!("Bearer {token}")).context("the token is not a header value")
}

/// Runs one GraphQL operation on a new connection; returns `data`, failing on any error.
///
/// # Errors
/// When the exchange fails or the answer carries errors.
pub async fn gql(
    addr: SocketAddr,
    token: &str,
    query: &str,
    variables: Value,
) -> anyhow::Result<Value> {
    let mut conn = crate::load::connect(addr).await?;
    let body = serde_json::to_vec(&serde_json::json!({"query": query, "variables": variables}))?;
    let (status, bytes) = post(&mut conn, addr, &bearer(token)?, Bytes::from(body)).await?;
    let answer: Value = serde_json::from_slice(&bytes)
        .with_context(|| format!("the answer ({status}) is not JSON"))?;
    anyhow::ensure!(
        status == StatusCode::OK && answer.get("errors").is_none(),
        "{query} failed ({status}): {answer}"
    );
    Ok(answer["data"].clone())
}

/// Latencies and counts of one measured run.
#[derive(Debug, Default)]
pub struct Samples {
    /// Good answers.
    pub ok: u64,
    /// Bad status, GraphQL errors, unexpected bodies or failed exchanges.
    pub errors: u64,
    /// Latency of every good answer, microseconds (sorted by [`Samples::finish`]).
    latencies_us: Vec<u32>,
}

impl Samples {
    /// Records a good answer that took `latency`.
    pub fn record(&mut self, latency: Duration) {
        self.ok += 1;
        self.latencies_us
            .push(u32::try_from(latency.as_micros()).unwrap_or(u32::MAX));
    }

    /// Adds another run's samples.
    pub fn absorb(&mut self, other: Samples) {
        self.ok += other.ok;
        self.errors += other.errors;
        self.latencies_us.extend(other.latencies_us);
    }

    /// Sorts the latencies; call once all samples are in.
    pub fn finish(&mut self) {
        self.latencies_us.sort_unstable();
    }

    /// The `p`th percentile (nearest rank) in milliseconds; 0 without samples.
    pub fn percentile_ms(&self, p: f64) -> f64 {
        if self.latencies_us.is_empty() {
            return 0.0;
        }
        let n = self.latencies_us.len();
        let rank = ((p / 100.0) * n as f64).ceil() as usize;
        f64::from(self.latencies_us[rank.clamp(1, n) - 1]) / 1000.0
    }
}
