//! Range-GET throughput: a large object of the local store fetched through the gateway's signed
//! `/media/...` URL in `Range` requests, the way a phone's player or PDF viewer fetches (one
//! chunk per request on keep-alive connections, one connection or a few), against reading the
//! same file from disk in the same chunks with `pread` on blocking threads.
//!
//! Every pattern is measured twice over:
//! - **warm**: the file is in the page cache, so the comparison is serving cached pages over
//!   HTTP against copying the same cached pages out of the kernel; the disk side is a
//!   memory-bandwidth ceiling rather than the speed of the disk itself;
//! - **cold**: before each cold pass the file's pages are dropped from the page cache
//!   (`fdatasync`, then `posix_fadvise(POSIX_FADV_DONTNEED)`, which needs no root, unlike
//!   dropping the whole cache), so both the `pread` side and the gateway (whose local store
//!   opens and reads the file itself) read from the disk. That is the comparison the goal is
//!   about. Whether the pages really left is checked with util-linux's `fincore` (`mincore`)
//!   around each eviction, and by the cold `pread` being slower than the warm one.
//!
//! The disk is also read warm through `tokio::fs` (a seek and a `read_exact` per range), and two
//! more sides say where the time goes: the store's own read stream consumed in-process (the
//! gateway's path without HTTP), and the same ranges served over loopback HTTP from memory (the
//! HTTP path without the file). A third cold side, a plain loopback TCP server that opens,
//! `pread`s and writes each range with no HTTP at all, is the ceiling of any server that reads a
//! range before writing it: how near the gateway can get without zero-copy `sendfile`.
//!
//! The bytes are checked: before the timed passes of each pattern, one warm pass and one cold
//! pass through the gateway keep every byte received, and the SHA-256 of the reassembled file
//! must be the generated file's. Timed passes check status, `Content-Range` and length of every
//! answer but hash nothing, so that no side pays for checking.

use std::io::SeekFrom;
use std::net::SocketAddr;
use std::ops::Range;
use std::os::unix::fs::FileExt as _;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::Context as _;
use axum::Router;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use bytes::Bytes;
use futures::StreamExt as _;
use http_body_util::{BodyExt as _, Full};
use hyper::client::conn::http1::SendRequest;
use hyper::header::{self, HeaderValue};
use hyper::{Request, StatusCode};
use sha2::{Digest as _, Sha256};
use storage::{ByteRange, ObjectStore};
use tokio::io::{AsyncReadExt as _, AsyncSeekExt as _};

use crate::app::App;
use crate::load;

/// The object key of the test file.
pub const KEY: &str = "bench/range-get/recording.bin";
/// Its content type: what a recording's fallback would have.
const CONTENT_TYPE: &str = "video/mp4";
/// Life of the signed URL: longer than any run.
const URL_TTL: Duration = Duration::from_secs(3600);
/// Bytes in a MiB.
pub const MIB: u64 = 1 << 20;
/// The gateway/disk ratio the delivery aims for.
pub const RATIO_GOAL: f64 = 0.7;
/// How much slower than a warm `pread` pass a cold one must be to count as visibly cold.
pub const COLD_SLOWDOWN: f64 = 1.5;
/// The share of the file that may still be in the page cache after an eviction.
const RESIDENT_AFTER_EVICTION: f64 = 0.01;

/// The access patterns measured: a PDF viewer's or player's range size, fetched in order on one
/// connection, and with a few connections prefetching ahead.
pub const PATTERNS: [Pattern; 4] = [
    Pattern {
        chunk: MIB,
        readers: 1,
    },
    Pattern {
        chunk: 4 * MIB,
        readers: 1,
    },
    Pattern {
        chunk: MIB,
        readers: 4,
    },
    Pattern {
        chunk: 4 * MIB,
        readers: 4,
    },
];

/// One way of reading the file: ranges of `chunk` bytes, handed out in order to `readers`
/// concurrent readers (connections, or threads on the disk side), each taking the next range
/// not yet taken as soon as its previous one is in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pattern {
    /// Bytes per range.
    pub chunk: u64,
    /// Concurrent readers.
    pub readers: usize,
}

impl Pattern {
    /// `4 MiB ranges, 1 conn`.
    pub fn label(&self) -> String {
        let s = if self.readers == 1 { "" } else { "s" };
        format!("{} MiB ranges, {} conn{s}", self.chunk / MIB, self.readers)
    }

    /// The next range for a reader, or `None` when the file is done.
    fn claim(&self, next: &AtomicU64, size: u64) -> Option<Range<u64>> {
        let first = next
            .fetch_add(1, Ordering::Relaxed)
            .saturating_mul(self.chunk);
        (first < size).then(|| first..(first + self.chunk).min(size))
    }
}

/// Bytes moved and the time it took, summed over passes.
#[derive(Debug, Default, Clone, Copy)]
pub struct Throughput {
    /// Bytes read.
    pub bytes: u64,
    /// Ranges read.
    pub ranges: u64,
    /// Time spent reading.
    pub elapsed: Duration,
}

impl Throughput {
    /// MiB per second.
    pub fn mib_per_sec(&self) -> f64 {
        self.bytes as f64 / MIB as f64 / self.elapsed.as_secs_f64()
    }

    fn add(&mut self, pass: Throughput) {
        self.bytes += pass.bytes;
        self.ranges += pass.ranges;
        self.elapsed += pass.elapsed;
    }
}

/// Every side of one pattern.
#[derive(Debug)]
pub struct PatternFigures {
    /// The pattern.
    pub pattern: Pattern,
    /// `pread` of the store's file on blocking threads.
    pub disk: Throughput,
    /// `tokio::fs` seek and `read_exact` of the store's file.
    pub disk_tokio: Throughput,
    /// `GET /media/...` with `Range`.
    pub gateway: Throughput,
    /// `ObjectStore::get` streams consumed in-process: the gateway's read path without HTTP.
    pub store_stream: Throughput,
    /// The same ranges over loopback HTTP from memory: the HTTP path without the file.
    pub memory_http: Throughput,
    /// `pread` as in `disk`, the file evicted from the page cache before each pass.
    pub cold_disk: Throughput,
    /// `GET /media/...` as in `gateway`, the file evicted from the page cache before each pass.
    pub cold_gateway: Throughput,
    /// The ceiling of any server that reads a range and then writes it: each range opened,
    /// `pread` into a fresh buffer and written to a plain loopback TCP socket, with no HTTP,
    /// signature or async runtime; the file evicted before each pass.
    pub cold_raw_tcp: Throughput,
}

impl PatternFigures {
    fn new(pattern: Pattern) -> Self {
        PatternFigures {
            pattern,
            disk: Throughput::default(),
            disk_tokio: Throughput::default(),
            gateway: Throughput::default(),
            store_stream: Throughput::default(),
            memory_http: Throughput::default(),
            cold_disk: Throughput::default(),
            cold_gateway: Throughput::default(),
            cold_raw_tcp: Throughput::default(),
        }
    }

    /// Gateway MiB/s over `side`'s MiB/s.
    pub fn gateway_over(&self, side: &Throughput) -> f64 {
        self.gateway.mib_per_sec() / side.mib_per_sec()
    }

    /// Gateway MiB/s over disk (`pread`) MiB/s, both warm: context for [`Self::cold_ratio`],
    /// which is the figure the goal is about.
    pub fn ratio(&self) -> f64 {
        self.gateway_over(&self.disk)
    }

    /// Range requests answered per second by the gateway.
    pub fn ranges_per_sec(&self) -> f64 {
        self.gateway.ranges as f64 / self.gateway.elapsed.as_secs_f64()
    }

    /// Cold gateway MiB/s over cold disk (`pread`) MiB/s: the figure the goal is about.
    pub fn cold_ratio(&self) -> f64 {
        self.cold_gateway.mib_per_sec() / self.cold_disk.mib_per_sec()
    }

    /// Cold raw TCP MiB/s over cold disk MiB/s: what the read-then-write model reaches.
    pub fn cold_raw_ratio(&self) -> f64 {
        self.cold_raw_tcp.mib_per_sec() / self.cold_disk.mib_per_sec()
    }

    /// Range requests answered per second by the gateway, cold.
    pub fn cold_ranges_per_sec(&self) -> f64 {
        self.cold_gateway.ranges as f64 / self.cold_gateway.elapsed.as_secs_f64()
    }

    /// How many times slower the cold `pread` passes were than the warm ones.
    pub fn cold_slowdown(&self) -> f64 {
        self.disk.mib_per_sec() / self.cold_disk.mib_per_sec()
    }
}

/// The file's bytes in the page cache around one eviction, as `fincore` counts them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Residency {
    /// Just before the eviction.
    pub before: u64,
    /// Just after it.
    pub after: u64,
}

/// What the evictions before the cold passes did.
#[derive(Debug, Default)]
pub struct Eviction {
    /// Evictions done.
    pub count: usize,
    /// The fewest bytes resident before an eviction and the most left after one, over all of
    /// them; `None` when `fincore` could not tell (see `unmeasured`).
    pub residency: Option<Residency>,
    /// Why the residency is unknown.
    pub unmeasured: Option<String>,
    /// The first error of `fdatasync` or `posix_fadvise`: the pages may not have been dropped.
    pub failed: Option<String>,
}

impl Eviction {
    fn record(&mut self, outcome: EvictOutcome) {
        self.count += 1;
        if let (None, Err(e)) = (&self.failed, outcome.advised) {
            self.failed = Some(e);
        }
        match outcome.residency {
            Ok(r) if self.unmeasured.is_none() => {
                self.residency = Some(match self.residency {
                    Some(seen) => Residency {
                        before: seen.before.min(r.before),
                        after: seen.after.max(r.after),
                    },
                    None => r,
                });
            }
            Ok(_) => {}
            Err(e) => {
                self.residency = None;
                self.unmeasured.get_or_insert(e);
            }
        }
    }

    /// Whether `fincore` saw the pages go: at most 1% of a `size`-byte file left after every
    /// eviction. `None` when it could not tell.
    pub fn pages_dropped(&self, size: u64) -> Option<bool> {
        self.residency
            .map(|r| r.after as f64 <= size as f64 * RESIDENT_AFTER_EVICTION)
    }
}

/// Everything the range-GET comparison found.
#[derive(Debug)]
pub struct RangeFigures {
    /// Size of the test file.
    pub file_bytes: u64,
    /// Its SHA-256, hex: what every verification pass matched.
    pub sha256_hex: String,
    /// Every side, per pattern.
    pub patterns: Vec<PatternFigures>,
    /// What the evictions before the cold passes did.
    pub eviction: Eviction,
}

impl RangeFigures {
    /// Whether the cold passes were visibly cold: every eviction call succeeded, `fincore` (when
    /// it could tell) saw the pages go, and every pattern's cold `pread` was at least
    /// [`COLD_SLOWDOWN`] times slower than its warm one.
    pub fn cold_is_cold(&self) -> bool {
        self.eviction.failed.is_none()
            && self.eviction.pages_dropped(self.file_bytes) != Some(false)
            && self
                .patterns
                .iter()
                .all(|p| p.cold_slowdown() >= COLD_SLOWDOWN)
    }
}

/// Stores a pseudo-random file of `file_bytes` in the app's local store, then measures every
/// pattern: a verification pass, then `passes` rounds of each side in turn. The object is
/// deleted afterwards.
///
/// # Errors
/// When the store is not the local one, storing or reading fails, an answer is wrong, or the
/// bytes received differ from the file's.
pub async fn run(
    app: &App,
    file_bytes: u64,
    passes: usize,
    patterns: &[Pattern],
) -> anyhow::Result<RangeFigures> {
    let store = &app.state().store;
    anyhow::ensure!(
        matches!(store, ObjectStore::Local(_)),
        "the range-GET comparison needs the local store (the gateway serves no S3 bytes)"
    );
    anyhow::ensure!(
        file_bytes > 0 && passes > 0,
        "the file and the passes must not be empty"
    );
    let data = pseudo_random(usize::try_from(file_bytes)?);
    let digest = Sha256::digest(&data);
    store
        .put(KEY, data.clone(), CONTENT_TYPE)
        .await
        .context("cannot store the test file")?;
    let result = measure(app, &data, digest.into(), passes, patterns).await;
    // The transcoding that follows needs the space and the page cache more than this file.
    if let Err(e) = store.delete(KEY).await {
        eprintln!("  could not delete the range-GET test file: {e}");
    }
    result
}

async fn measure(
    app: &App,
    data: &Bytes,
    digest: [u8; 32],
    passes: usize,
    patterns: &[Pattern],
) -> anyhow::Result<RangeFigures> {
    let size = data.len() as u64;
    let store = app.state().store.clone();
    // The local store's layout: `objects/<key>` under its root, `<data dir>/media`.
    let path = app.data_dir().join("media").join("objects").join(KEY);
    let on_disk = std::fs::metadata(&path)
        .with_context(|| format!("the stored file is not at {}", path.display()))?
        .len();
    anyhow::ensure!(
        on_disk == size,
        "the stored file has {on_disk} bytes, not {size}"
    );
    let url = store.presign_get(KEY, URL_TTL).await?;
    let gateway = Endpoint::new(app.server.addr, super::local_path(&url, app.server.addr)?)?;

    let plain_listener = tokio::net::TcpListener::bind(("127.0.0.1", 0))
        .await
        .context("cannot listen for the in-memory server")?;
    let plain = Endpoint::new(plain_listener.local_addr()?, "/file".into())?;
    let plain_router = Router::new()
        .route("/file", get(serve_from_memory))
        .with_state(data.clone());
    let plain_server = tokio::spawn(async move { axum::serve(plain_listener, plain_router).await });
    let raw = raw_tcp_server(&path)?;

    // Warm the page cache for the warm sides; each cold side evicts the file first.
    disk_pass(&path, size, PATTERNS[1]).await?;
    let mut figures = Vec::with_capacity(patterns.len());
    let mut eviction = Eviction::default();
    let outcome: anyhow::Result<()> = async {
        for &pattern in patterns {
            eprintln!("  {} ...", pattern.label());
            verify(&gateway, size, pattern, &digest).await?;
            eviction.record(evict(&path).await?);
            verify(&gateway, size, pattern, &digest)
                .await
                .context("the cold verification pass failed")?;
            let mut f = PatternFigures::new(pattern);
            // The sides take turns, so whatever else the machine does weighs on all alike. A
            // cold pass reads the whole file, so the warm sides that follow it read warm again.
            for pass in 0..passes {
                f.disk.add(disk_pass(&path, size, pattern).await?);
                f.disk_tokio
                    .add(tokio_disk_pass(&path, size, pattern).await?);
                f.gateway
                    .add(http_pass(&gateway, size, pattern, false).await?.throughput);
                f.store_stream.add(store_pass(&store, size, pattern).await?);
                f.memory_http
                    .add(http_pass(&plain, size, pattern, false).await?.throughput);
                // The cold sides take turns going first, each right after an eviction.
                for turn in 0..3 {
                    eviction.record(evict(&path).await?);
                    match (pass + turn) % 3 {
                        0 => f
                            .cold_gateway
                            .add(http_pass(&gateway, size, pattern, false).await?.throughput),
                        1 => f.cold_disk.add(disk_pass(&path, size, pattern).await?),
                        _ => f.cold_raw_tcp.add(raw_tcp_pass(raw, size, pattern).await?),
                    }
                }
            }
            figures.push(f);
        }
        Ok(())
    }
    .await;
    plain_server.abort();
    outcome?;
    Ok(RangeFigures {
        file_bytes: size,
        sha256_hex: hex::encode(digest),
        patterns: figures,
        eviction,
    })
}

/// Starts the raw TCP server of [`PatternFigures::cold_raw_tcp`] on a loopback port, a thread
/// per connection. A request is 16 bytes: the range's offset and length, little-endian. The
/// threads live until the process ends.
fn raw_tcp_server(path: &Path) -> anyhow::Result<SocketAddr> {
    let listener = std::net::TcpListener::bind(("127.0.0.1", 0))
        .context("cannot listen for the raw TCP server")?;
    let addr = listener.local_addr()?;
    let path = path.to_path_buf();
    std::thread::Builder::new()
        .name("raw-tcp-accept".into())
        .spawn(move || {
            for stream in listener.incoming().flatten() {
                let path = path.clone();
                let _ = std::thread::Builder::new()
                    .name("raw-tcp-conn".into())
                    .spawn(move || {
                        if let Err(e) = serve_raw(stream, &path) {
                            eprintln!("  the raw TCP server failed: {e}");
                        }
                    });
            }
        })?;
    Ok(addr)
}

/// Answers one connection's range requests until the client hangs up: opens the file for each,
/// as the local store does, and reads the range into a fresh buffer before writing it.
fn serve_raw(mut stream: std::net::TcpStream, path: &Path) -> std::io::Result<()> {
    use std::io::{Read as _, Write as _};
    stream.set_nodelay(true)?;
    let mut request = [0u8; 16];
    while stream.read_exact(&mut request).is_ok() {
        let (at, len) = request.split_at(8);
        let at = u64::from_le_bytes(at.try_into().map_err(std::io::Error::other)?);
        let len = u64::from_le_bytes(len.try_into().map_err(std::io::Error::other)?);
        let file = std::fs::File::open(path)?;
        let _ = rustix::fs::fadvise(&file, 0, None, rustix::fs::Advice::Sequential);
        let mut buf = Vec::with_capacity(usize::try_from(len).map_err(std::io::Error::other)?);
        while buf.len() < buf.capacity() {
            let offset = at + buf.len() as u64;
            if rustix::io::pread(&file, rustix::buffer::spare_capacity(&mut buf), offset)? == 0 {
                return Err(std::io::ErrorKind::UnexpectedEof.into());
            }
        }
        stream.write_all(&buf)?;
    }
    Ok(())
}

/// Reads the file once with `pattern` from the raw TCP server at `addr`, a connection per
/// reader on a blocking thread (connected before the clock starts).
async fn raw_tcp_pass(addr: SocketAddr, size: u64, pattern: Pattern) -> anyhow::Result<Throughput> {
    let mut readers = Vec::with_capacity(pattern.readers);
    for _ in 0..pattern.readers {
        let stream =
            std::net::TcpStream::connect(addr).context("cannot reach the raw TCP server")?;
        stream.set_nodelay(true)?;
        readers.push(stream);
    }
    blocking_pass(readers, size, pattern, "over raw TCP", |stream, buf, at| {
        use std::io::{Read as _, Write as _};
        let mut request = [0u8; 16];
        request[..8].copy_from_slice(&at.to_le_bytes());
        request[8..].copy_from_slice(&(buf.len() as u64).to_le_bytes());
        stream.write_all(&request)?;
        stream.read_exact(buf)
    })
    .await
}

/// What one eviction did: whether the calls succeeded, and the file's resident bytes around it.
struct EvictOutcome {
    advised: Result<(), String>,
    residency: Result<Residency, String>,
}

/// Drops the pages of the file at `path` from the page cache: `fdatasync` first (dirty pages
/// are not dropped), then `posix_fadvise(POSIX_FADV_DONTNEED)` over the whole file. Counts the
/// file's resident bytes with `fincore` before and after. A failed call is reported in the
/// outcome rather than stopping the run, so that the table says the cold passes were not cold.
///
/// # Errors
/// Only when the blocking task cannot run.
async fn evict(path: &Path) -> anyhow::Result<EvictOutcome> {
    let path = path.to_path_buf();
    tokio::task::spawn_blocking(move || {
        let before = resident_bytes(&path);
        let advised = std::fs::File::open(&path)
            .and_then(|file| {
                file.sync_data()?;
                rustix::fs::fadvise(&file, 0, None, rustix::fs::Advice::DontNeed)?;
                Ok(())
            })
            .map_err(|e| format!("{e}"));
        let after = resident_bytes(&path);
        let residency = match (before, after) {
            (Ok(before), Ok(after)) => Ok(Residency { before, after }),
            (Err(e), _) | (_, Err(e)) => Err(format!("{e:#}")),
        };
        EvictOutcome { advised, residency }
    })
    .await
    .context("the eviction task panicked")
}

/// The bytes of the file at `path` in the page cache, by util-linux's `fincore` (`mincore` of a
/// mapping of the file, which reads nothing).
fn resident_bytes(path: &Path) -> anyhow::Result<u64> {
    let out = std::process::Command::new("fincore")
        .args(["--bytes", "--noheadings", "--raw", "--output", "RES"])
        .arg(path)
        .output()
        .context("cannot run fincore (util-linux)")?;
    anyhow::ensure!(
        out.status.success(),
        "fincore failed: {}",
        String::from_utf8_lossy(&out.stderr).trim()
    );
    parse_fincore(&String::from_utf8_lossy(&out.stdout))
}

/// The byte count `fincore --bytes --noheadings --raw --output RES` prints.
fn parse_fincore(out: &str) -> anyhow::Result<u64> {
    out.trim()
        .parse()
        .with_context(|| format!("fincore printed {out:?}, not a byte count"))
}

/// `len` bytes of splitmix64 output: incompressible, and the same on every run.
fn pseudo_random(len: usize) -> Bytes {
    let mut state: u64 = 0x5EED_0FBE;
    let mut out = Vec::with_capacity(len + 8);
    while out.len() < len {
        state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        out.extend_from_slice(&(z ^ (z >> 31)).to_le_bytes());
    }
    out.truncate(len);
    Bytes::from(out)
}

/// Where range requests go: an address and a path with its query.
struct Endpoint {
    addr: SocketAddr,
    host: HeaderValue,
    path: String,
}

impl Endpoint {
    fn new(addr: SocketAddr, path: String) -> anyhow::Result<Arc<Endpoint>> {
        Ok(Arc::new(Endpoint {
            addr,
            host: HeaderValue::from_str(&addr.to_string())?,
            path,
        }))
    }
}

/// What one HTTP pass received.
#[derive(Default)]
struct HttpPass {
    throughput: Throughput,
    /// The body frames with the offset of their first byte, when asked to keep them.
    kept: Vec<(u64, Bytes)>,
}

/// Reads the whole file through `endpoint` once with `pattern`. Connections are opened before
/// the clock starts, as a player's are by the time it seeks.
async fn http_pass(
    endpoint: &Arc<Endpoint>,
    size: u64,
    pattern: Pattern,
    keep: bool,
) -> anyhow::Result<HttpPass> {
    let mut senders = Vec::with_capacity(pattern.readers);
    for _ in 0..pattern.readers {
        senders.push(load::connect(endpoint.addr).await?);
    }
    let next = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let tasks: Vec<_> = senders
        .into_iter()
        .map(|mut sender| {
            let (endpoint, next) = (endpoint.clone(), next.clone());
            tokio::spawn(async move {
                let mut pass = HttpPass::default();
                while let Some(range) = pattern.claim(&next, size) {
                    let kept = keep.then_some(&mut pass.kept);
                    pass.throughput.bytes +=
                        get_range(&mut sender, &endpoint, range, size, kept).await?;
                    pass.throughput.ranges += 1;
                }
                anyhow::Ok(pass)
            })
        })
        .collect();
    let mut total = HttpPass::default();
    for task in tasks {
        let pass = task.await.context("a range reader panicked")??;
        total.throughput.add(pass.throughput);
        total.kept.extend(pass.kept);
    }
    total.throughput.elapsed = started.elapsed();
    anyhow::ensure!(
        total.throughput.bytes == size,
        "read {} bytes of {size}",
        total.throughput.bytes
    );
    Ok(total)
}

/// One `Range` GET; checks status, `Content-Range` and length; returns the bytes received.
async fn get_range(
    sender: &mut SendRequest<Full<Bytes>>,
    endpoint: &Endpoint,
    range: Range<u64>,
    size: u64,
    mut kept: Option<&mut Vec<(u64, Bytes)>>,
) -> anyhow::Result<u64> {
    let last = range.end - 1;
    let request = Request::get(endpoint.path.as_str())
        .header(header::HOST, endpoint.host.clone())
        .header(header::RANGE, format!("bytes={}-{last}", range.start))
        .body(Full::new(Bytes::new()))?;
    sender.ready().await?;
    let response = sender.send_request(request).await?;
    anyhow::ensure!(
        response.status() == StatusCode::PARTIAL_CONTENT,
        "a range GET answered {}",
        response.status()
    );
    let expected = format!("bytes {}-{last}/{size}", range.start);
    anyhow::ensure!(
        response.headers().get(header::CONTENT_RANGE) == Some(&HeaderValue::from_str(&expected)?),
        "expected Content-Range {expected}, got {:?}",
        response.headers().get(header::CONTENT_RANGE)
    );
    let mut body = response.into_body();
    let mut received = 0u64;
    while let Some(frame) = body.frame().await {
        if let Ok(data) = frame?.into_data() {
            if let Some(kept) = kept.as_deref_mut() {
                kept.push((range.start + received, data.clone()));
            }
            received += data.len() as u64;
        }
    }
    anyhow::ensure!(
        received == range.end - range.start,
        "a range of {} bytes brought {received}",
        range.end - range.start
    );
    Ok(received)
}

/// A pass through the gateway that keeps every byte; the reassembled file's SHA-256 must be
/// `digest`.
async fn verify(
    gateway: &Arc<Endpoint>,
    size: u64,
    pattern: Pattern,
    digest: &[u8; 32],
) -> anyhow::Result<()> {
    let mut kept = http_pass(gateway, size, pattern, true).await?.kept;
    kept.sort_unstable_by_key(|(offset, _)| *offset);
    let mut hasher = Sha256::new();
    let mut at = 0u64;
    for (offset, bytes) in kept {
        anyhow::ensure!(offset == at, "the ranges received leave a gap at byte {at}");
        hasher.update(&bytes);
        at += bytes.len() as u64;
    }
    anyhow::ensure!(at == size, "the ranges received end at byte {at} of {size}");
    anyhow::ensure!(
        hasher.finalize().as_slice() == digest,
        "the bytes received through the gateway ({}) differ from the file's",
        pattern.label()
    );
    Ok(())
}

/// Reads the file at `path` once with `pattern`: `pread` of each range into a buffer, on a
/// blocking thread per reader (files opened before the clock starts).
async fn disk_pass(path: &Path, size: u64, pattern: Pattern) -> anyhow::Result<Throughput> {
    let mut readers = Vec::with_capacity(pattern.readers);
    for _ in 0..pattern.readers {
        readers.push(
            std::fs::File::open(path).with_context(|| format!("cannot open {}", path.display()))?,
        );
    }
    blocking_pass(readers, size, pattern, "from disk", |file, buf, at| {
        file.read_exact_at(buf, at)
    })
    .await
}

/// Reads the file once with `pattern`, a blocking thread per reader: `read` fills the buffer with
/// the range starting at the offset given (buffers allocated before the clock starts). `from`
/// says where, for errors.
async fn blocking_pass<R: Send + 'static>(
    readers: Vec<R>,
    size: u64,
    pattern: Pattern,
    from: &'static str,
    read: fn(&mut R, &mut [u8], u64) -> std::io::Result<()>,
) -> anyhow::Result<Throughput> {
    let chunk = usize::try_from(pattern.chunk)?;
    let readers: Vec<_> = readers.into_iter().map(|r| (r, vec![0u8; chunk])).collect();
    let next = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let tasks: Vec<_> = readers
        .into_iter()
        .map(|(mut reader, mut buf)| {
            let next = next.clone();
            tokio::task::spawn_blocking(move || -> std::io::Result<Throughput> {
                let mut done = Throughput::default();
                while let Some(range) = pattern.claim(&next, size) {
                    // At most `chunk`, a usize.
                    let len = (range.end - range.start) as usize;
                    read(&mut reader, &mut buf[..len], range.start)?;
                    std::hint::black_box(&buf);
                    done.bytes += len as u64;
                    done.ranges += 1;
                }
                Ok(done)
            })
        })
        .collect();
    let mut total = Throughput::default();
    for task in tasks {
        total.add(
            task.await
                .with_context(|| format!("a reader {from} panicked"))?
                .with_context(|| format!("cannot read the test file {from}"))?,
        );
    }
    total.elapsed = started.elapsed();
    anyhow::ensure!(
        total.bytes == size,
        "read {} bytes of {size} {from}",
        total.bytes
    );
    Ok(total)
}

/// Reads the file at `path` once with `pattern` through `tokio::fs`: a seek and a `read_exact`
/// of each range into a buffer (files opened and buffers allocated before the clock starts).
async fn tokio_disk_pass(path: &Path, size: u64, pattern: Pattern) -> anyhow::Result<Throughput> {
    let chunk = usize::try_from(pattern.chunk)?;
    let mut readers = Vec::with_capacity(pattern.readers);
    for _ in 0..pattern.readers {
        let file = tokio::fs::File::open(path)
            .await
            .with_context(|| format!("cannot open {}", path.display()))?;
        readers.push((file, vec![0u8; chunk]));
    }
    let next = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let tasks: Vec<_> = readers
        .into_iter()
        .map(|(mut file, mut buf)| {
            let next = next.clone();
            tokio::spawn(async move {
                let mut read = Throughput::default();
                while let Some(range) = pattern.claim(&next, size) {
                    let len = (range.end - range.start) as usize;
                    file.seek(SeekFrom::Start(range.start)).await?;
                    file.read_exact(&mut buf[..len]).await?;
                    std::hint::black_box(&buf);
                    read.bytes += len as u64;
                    read.ranges += 1;
                }
                std::io::Result::Ok(read)
            })
        })
        .collect();
    let mut total = Throughput::default();
    for task in tasks {
        total.add(
            task.await
                .context("a disk reader panicked")?
                .context("cannot read the test file")?,
        );
    }
    total.elapsed = started.elapsed();
    anyhow::ensure!(
        total.bytes == size,
        "read {} bytes of {size} from disk",
        total.bytes
    );
    Ok(total)
}

/// Reads the object once with `pattern` through `ObjectStore::get`, consuming the stream the
/// gateway's handler would send: the gateway's read path without HTTP.
async fn store_pass(
    store: &ObjectStore,
    size: u64,
    pattern: Pattern,
) -> anyhow::Result<Throughput> {
    let next = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let tasks: Vec<_> = (0..pattern.readers)
        .map(|_| {
            let (store, next) = (store.clone(), next.clone());
            tokio::spawn(async move {
                let mut read = Throughput::default();
                while let Some(range) = pattern.claim(&next, size) {
                    let wanted = ByteRange::Bounded {
                        first: range.start,
                        last: range.end - 1,
                    };
                    let mut body = store.get(KEY, Some(wanted)).await?.body;
                    let mut received = 0u64;
                    while let Some(chunk) = body.next().await {
                        received += chunk?.len() as u64;
                    }
                    anyhow::ensure!(
                        received == range.end - range.start,
                        "the store streamed {received} bytes of a {}-byte range",
                        range.end - range.start
                    );
                    read.bytes += received;
                    read.ranges += 1;
                }
                anyhow::Ok(read)
            })
        })
        .collect();
    let mut total = Throughput::default();
    for task in tasks {
        total.add(task.await.context("a store reader panicked")??);
    }
    total.elapsed = started.elapsed();
    Ok(total)
}

/// `GET /file` with `Range` from the file held in memory: one body of the whole range, so the
/// figure is loopback HTTP alone.
async fn serve_from_memory(State(data): State<Bytes>, headers: HeaderMap) -> Response {
    let size = data.len() as u64;
    let range = headers
        .get(header::RANGE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| ByteRange::parse(v).ok())
        .and_then(|r| r.resolve(size).ok());
    let Some(range) = range else {
        return StatusCode::RANGE_NOT_SATISFIABLE.into_response();
    };
    let content_range = format!("bytes {}-{}/{size}", range.start, range.end - 1);
    // Offsets within a file held in memory, hence within usize.
    let body = data.slice(range.start as usize..range.end as usize);
    (
        StatusCode::PARTIAL_CONTENT,
        [(header::CONTENT_RANGE, content_range)],
        body,
    )
        .into_response()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn a_pattern_hands_out_every_range_once_and_stops() {
        let pattern = Pattern {
            chunk: 4,
            readers: 2,
        };
        let next = AtomicU64::new(0);
        let ranges: Vec<_> = std::iter::from_fn(|| pattern.claim(&next, 10)).collect();
        assert_eq!(ranges, vec![0..4, 4..8, 8..10]);
        assert_eq!(pattern.claim(&next, 10), None);
    }

    #[test]
    fn fincore_output_is_a_byte_count() {
        assert_eq!(parse_fincore("209715200\n").unwrap(), 209_715_200);
        assert_eq!(parse_fincore("0").unwrap(), 0);
        assert!(parse_fincore("200M\n").is_err());
    }

    fn residency(before: u64, after: u64) -> EvictOutcome {
        EvictOutcome {
            advised: Ok(()),
            residency: Ok(Residency { before, after }),
        }
    }

    #[test]
    fn evictions_keep_the_worst_residency_and_the_first_error() {
        let mut e = Eviction::default();
        e.record(residency(100, 0));
        e.record(residency(80, 1));
        assert_eq!(
            e.residency,
            Some(Residency {
                before: 80,
                after: 1
            })
        );
        assert_eq!(e.pages_dropped(100), Some(true));
        e.record(residency(100, 50));
        assert_eq!(e.pages_dropped(100), Some(false));
        e.record(EvictOutcome {
            advised: Err("EINVAL".into()),
            residency: Err("no fincore".into()),
        });
        e.record(EvictOutcome {
            advised: Err("later".into()),
            residency: Ok(Residency {
                before: 1,
                after: 0,
            }),
        });
        assert_eq!(e.count, 5);
        assert_eq!(e.failed.as_deref(), Some("EINVAL"));
        assert_eq!(e.residency, None);
        assert_eq!(e.unmeasured.as_deref(), Some("no fincore"));
        assert_eq!(e.pages_dropped(100), None);
    }

    #[test]
    fn the_pseudo_random_file_has_the_asked_length_and_is_stable() {
        let a = pseudo_random(1001);
        assert_eq!(a.len(), 1001);
        assert_eq!(a, pseudo_random(1001));
        assert_ne!(a[..8], a[8..16]);
    }
}
