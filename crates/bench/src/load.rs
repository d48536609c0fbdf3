//! A closed-loop HTTP load generator: N keep-alive HTTP/1.1 connections, each sending its next
//! request as soon as the previous answer has arrived, for a warm-up and then a measured window.
//! It runs in the same process (and runtime) as the servers it drives.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use bytes::Bytes;
use http_body_util::{BodyExt as _, Full};
use hyper::client::conn::http1::{self, SendRequest};
use hyper::header::{self, HeaderName, HeaderValue};
use hyper::{Request, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;

/// Decides whether the body of a 200 response is the expected one.
pub type Check = Arc<dyn Fn(&[u8]) -> bool + Send + Sync>;

/// An HTTP endpoint and the POST requests sent to it.
pub struct Target {
    addr: SocketAddr,
    path: String,
    headers: Vec<(HeaderName, HeaderValue)>,
    /// Connection `i` sends `bodies[i % bodies.len()]`.
    bodies: Vec<Bytes>,
    check: Check,
}

impl Target {
    /// JSON POSTs to `http://{addr}{path}`, with a bearer token when given.
    ///
    /// # Errors
    /// When `bodies` is empty or the token is not a valid header value.
    pub fn post_json(
        addr: SocketAddr,
        path: &str,
        bearer: Option<&str>,
        bodies: Vec<Bytes>,
        check: Check,
    ) -> anyhow::Result<Self> {
        anyhow::ensure!(
            !bodies.is_empty(),
            "a target needs at least one request body"
        );
        let mut headers = vec![
            (header::HOST, HeaderValue::from_str(&addr.to_string())?),
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            ),
            (
                header::ACCEPT,
                HeaderValue::from_static("application/graphql-response+json"),
            ),
        ];
        if let Some(token) = bearer {
            headers.push((
                header::AUTHORIZATION,
                HeaderValue::from_str(&format!("Bearer {token}"))
                    .context("the token is not a header value")?,
            ));
        }
        Ok(Target {
            addr,
            path: path.to_owned(),
            headers,
            bodies,
            check,
        })
    }

    /// Sends the first body once on a new connection; returns the status and the body.
    ///
    /// # Errors
    /// When the connection or the exchange fails.
    pub async fn send_once(&self) -> anyhow::Result<(StatusCode, Bytes)> {
        let mut sender = connect(self.addr).await?;
        self.exchange(&mut sender, &self.bodies[0]).await
    }

    async fn exchange(
        &self,
        sender: &mut SendRequest<Full<Bytes>>,
        body: &Bytes,
    ) -> anyhow::Result<(StatusCode, Bytes)> {
        let mut builder = Request::post(self.path.as_str());
        for (name, value) in &self.headers {
            builder = builder.header(name, value);
        }
        let request = builder.body(Full::new(body.clone()))?;
        sender.ready().await?;
        let response = sender.send_request(request).await?;
        let status = response.status();
        let bytes = response.into_body().collect().await?.to_bytes();
        Ok((status, bytes))
    }
}

/// Opens a keep-alive HTTP/1.1 connection to `addr` (no Nagle: requests are small and their
/// latency counts).
///
/// # Errors
/// When the connection or the handshake fails.
pub async fn connect(addr: SocketAddr) -> anyhow::Result<SendRequest<Full<Bytes>>> {
    let stream = TcpStream::connect(addr)
        .await
        .with_context(|| format!("cannot connect to {addr}"))?;
    stream.set_nodelay(true)?;
    let (sender, connection) = http1::handshake(TokioIo::new(stream)).await?;
    // The connection task only drives the socket; its failures surface on the next request.
    tokio::spawn(async move {
        let _ = connection.await;
    });
    Ok(sender)
}

/// How long and how hard to drive a target.
#[derive(Debug, Clone, Copy)]
pub struct Settings {
    /// Concurrent keep-alive connections, each with one request in flight.
    pub connections: usize,
    /// Time before measuring starts (connections open, caches and pools fill).
    pub warmup: Duration,
    /// The measured window.
    pub measure: Duration,
}

/// What one load run saw in its measured window.
#[derive(Debug, Default)]
pub struct LoadResult {
    /// 200 responses with the expected body.
    pub ok: u64,
    /// Responses with another status.
    pub bad_status: u64,
    /// 200 responses with an unexpected body.
    pub bad_body: u64,
    /// Failed connections or exchanges.
    pub transport: u64,
    /// Length of the measured window.
    pub window: Duration,
    /// Latency of every good response, in microseconds, sorted.
    latencies_us: Vec<u32>,
}

impl LoadResult {
    /// Good responses per second.
    pub fn per_sec(&self) -> f64 {
        self.ok as f64 / self.window.as_secs_f64()
    }

    /// Every kind of error together.
    pub fn errors(&self) -> u64 {
        self.bad_status + self.bad_body + self.transport
    }

    /// The `p`th percentile latency (nearest rank) in milliseconds; 0 without samples.
    pub fn percentile_ms(&self, p: f64) -> f64 {
        if self.latencies_us.is_empty() {
            return 0.0;
        }
        let n = self.latencies_us.len();
        let rank = ((p / 100.0) * n as f64).ceil() as usize;
        let i = rank.clamp(1, n) - 1;
        f64::from(self.latencies_us[i]) / 1000.0
    }

    /// Adds the counts, windows and latencies of another run (or of one connection).
    pub fn absorb(&mut self, other: LoadResult) {
        self.ok += other.ok;
        self.bad_status += other.bad_status;
        self.bad_body += other.bad_body;
        self.transport += other.transport;
        self.window += other.window;
        self.latencies_us.extend(other.latencies_us);
        self.latencies_us.sort_unstable();
    }
}

/// Drives `target` with `settings.connections` closed-loop connections.
///
/// # Errors
/// When a connection task panics.
pub async fn run(target: Arc<Target>, settings: Settings) -> anyhow::Result<LoadResult> {
    let measure_start = Instant::now() + settings.warmup;
    let end = measure_start + settings.measure;
    let tasks: Vec<_> = (0..settings.connections)
        .map(|i| {
            let target = target.clone();
            let body = target.bodies[i % target.bodies.len()].clone();
            tokio::spawn(async move { drive(&target, &body, measure_start, end).await })
        })
        .collect();
    let mut total = LoadResult {
        window: settings.measure,
        ..LoadResult::default()
    };
    for task in tasks {
        total.absorb(task.await.context("a load connection panicked")?);
    }
    Ok(total)
}

/// One connection's loop. Only exchanges that start and finish inside the window count.
async fn drive(target: &Target, body: &Bytes, measure_start: Instant, end: Instant) -> LoadResult {
    let mut tally = LoadResult::default();
    let mut sender: Option<SendRequest<Full<Bytes>>> = None;
    while Instant::now() < end {
        let conn = match sender.as_mut() {
            Some(s) => s,
            None => match connect(target.addr).await {
                Ok(s) => sender.insert(s),
                Err(_) => {
                    if Instant::now() >= measure_start {
                        tally.transport += 1;
                    }
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
        };
        let sent = Instant::now();
        let outcome = target.exchange(conn, body).await;
        let done = Instant::now();
        let measured = sent >= measure_start && done <= end;
        match outcome {
            Err(_) => {
                // The connection is unusable after a failed exchange: open a new one.
                sender = None;
                if measured {
                    tally.transport += 1;
                }
            }
            Ok(_) if !measured => {}
            Ok((status, _)) if status != StatusCode::OK => tally.bad_status += 1,
            Ok((_, bytes)) if !(target.check)(&bytes) => tally.bad_body += 1,
            Ok(_) => {
                tally.ok += 1;
                let micros = (done - sent).as_micros();
                tally
                    .latencies_us
                    .push(u32::try_from(micros).unwrap_or(u32::MAX));
            }
        }
    }
    tally
}
