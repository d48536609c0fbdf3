//! The media figures: byte-range delivery through the gateway against the disk, signed media
//! URLs issued per second, and the transcoding time of a generated clip against its length.
//!
//! They run on the SQLite app, after the other suites: only `Lesson.media` touches the
//! database, and the rest would measure the same thing twice on PostgreSQL.

pub mod range_get;
pub mod signed_urls;
pub mod transcode;

use std::net::SocketAddr;
use std::time::Duration;

use anyhow::Context as _;
use bytes::Bytes;
use http_body_util::{BodyExt as _, Full};
use hyper::header::{self, HeaderValue};
use hyper::{Request, StatusCode};
use kernel::Actor;

use crate::app::{ADMIN_EMAIL, ADMIN_PASSWORD, App};
use crate::load;
use crate::report::{Table, num};

/// The table's name for these rows.
pub const SECTION: &str = "media";

/// What to measure and how long.
#[derive(Debug, Clone)]
pub struct MediaSettings {
    /// Size of the range-GET test file.
    pub file_bytes: u64,
    /// Passes over the whole file per side and access pattern.
    pub passes: usize,
    /// How long each signed-URL rate is measured.
    pub url_window: Duration,
    /// An S3 endpoint whose presigner is measured too.
    pub s3: Option<signed_urls::S3Target>,
}

/// Measures everything and adds the rows. A failed transcoding does not stop the URL figures
/// that do not need its lesson; its error is returned after them.
///
/// # Errors
/// When a measurement fails.
pub async fn run(app: &App, settings: &MediaSettings, table: &mut Table) -> anyhow::Result<()> {
    let db = app.database.label();

    eprintln!(
        "media: range GET of a {} MiB file, {} passes per side and pattern ...",
        settings.file_bytes / range_get::MIB,
        settings.passes
    );
    let ranges = range_get::run(
        app,
        settings.file_bytes,
        settings.passes,
        &range_get::PATTERNS,
    )
    .await
    .context("the range-GET comparison failed")?;
    range_rows(table, &ranges);

    let token = app.sign_in(ADMIN_EMAIL, ADMIN_PASSWORD).await?;
    let actor = app
        .state()
        .identity
        .authenticate(&token)
        .context("the admin's token does not authenticate")?;

    eprintln!(
        "media: transcoding a {} s 720p clip ...",
        transcode::CLIP_SECONDS
    );
    let transcoded = transcode::run(app, &actor).await;
    match &transcoded {
        Ok(t) => transcode_rows(table, t),
        Err(e) => table.add(SECTION, "-", "transcode", format!("FAILED: {e:#}")),
    }

    eprintln!(
        "media: signed URLs for {} s each ...",
        settings.url_window.as_secs_f64()
    );
    let local = signed_urls::presign_rate(&app.state().store, settings.url_window)
        .await
        .context("the local presign loop failed")?;
    table.add(
        SECTION,
        "-",
        "signed URLs: local store presign_get (1 task)",
        format!("{} URLs/s", num(local.calls_per_sec(), 0)),
    );
    match &transcoded {
        Ok(t) => lesson_media_rows(app, &actor, t, settings.url_window, db, table).await?,
        Err(_) => table.add(
            SECTION,
            db,
            "signed URLs: Lesson.media",
            "not run (no ready video: the transcoding failed)",
        ),
    }
    match &settings.s3 {
        Some(s3) => {
            let rate = signed_urls::s3_presign_rate(s3, settings.url_window)
                .await
                .context("the S3 presign loop failed")?;
            table.add(
                SECTION,
                "-",
                format!("signed URLs: S3 presign_get at {} (1 task)", s3.endpoint),
                format!(
                    "{} URLs/s ({})",
                    num(rate.rate.calls_per_sec(), 0),
                    rate.checked
                ),
            );
        }
        None => table.add(
            SECTION,
            "-",
            "signed URLs: S3 presign_get",
            "not run (no --s3-endpoint / LMS_TEST_S3_*)",
        ),
    }
    transcoded.map(drop)
}

fn range_rows(table: &mut Table, r: &range_get::RangeFigures) {
    table.add(
        SECTION,
        "-",
        "range GET: test file",
        format!(
            "{} MiB pseudo-random, local store; warm rows: page cache warm; cold rows: file \
             evicted from the page cache before each pass",
            num(mib(r.file_bytes), 0)
        ),
    );
    table.add(
        SECTION,
        "-",
        "range GET: bytes verified (SHA-256 of the ranges received = the file's)",
        format!(
            "yes, every pattern, warm and cold ({}…)",
            &r.sha256_hex[..16]
        ),
    );
    eviction_rows(table, r);
    let cold = r.cold_is_cold();
    for p in &r.patterns {
        let label = p.pattern.label();
        let mut row = |figure: &str, value: String| {
            table.add(SECTION, "-", format!("range GET {label}: {figure}"), value);
        };
        row("warm disk, pread on blocking threads", mib_per_sec(&p.disk));
        row(
            "warm disk, tokio::fs read_exact",
            mib_per_sec(&p.disk_tokio),
        );
        row(
            "warm gateway /media (signed URL, Range)",
            format!(
                "{} ({} ranges/s)",
                mib_per_sec(&p.gateway),
                num(p.ranges_per_sec(), 0)
            ),
        );
        row(
            "gateway warm / disk warm",
            format!(
                "{} of pread, {} of tokio::fs ({} goal {:.2})",
                num(p.ratio(), 2),
                num(p.gateway_over(&p.disk_tokio), 2),
                meets(p.ratio()),
                range_get::RATIO_GOAL
            ),
        );
        row(
            "where the time goes: store.get streams in-process, no HTTP",
            format!(
                "{} (gateway = {} of it)",
                mib_per_sec(&p.store_stream),
                num(p.gateway_over(&p.store_stream), 2)
            ),
        );
        row(
            "where the time goes: loopback HTTP from memory, no file",
            format!(
                "{} (gateway = {} of it)",
                mib_per_sec(&p.memory_http),
                num(p.gateway_over(&p.memory_http), 2)
            ),
        );
        row(
            "cold disk, pread after eviction",
            format!(
                "{} (warm pread {} x faster)",
                mib_per_sec(&p.cold_disk),
                num(p.cold_slowdown(), 1)
            ),
        );
        row(
            "cold gateway /media after eviction",
            format!(
                "{} ({} ranges/s)",
                mib_per_sec(&p.cold_gateway),
                num(p.cold_ranges_per_sec(), 0)
            ),
        );
        row(
            "cold raw TCP after eviction: open, pread, write per range; no HTTP (the ceiling of read-then-write)",
            format!(
                "{} (= {} of cold pread; gateway = {} of it)",
                mib_per_sec(&p.cold_raw_tcp),
                num(p.cold_raw_ratio(), 2),
                num(
                    p.cold_gateway.mib_per_sec() / p.cold_raw_tcp.mib_per_sec(),
                    2
                )
            ),
        );
        row(
            "gateway cold / disk cold",
            if cold {
                format!(
                    "{} of pread ({} goal {:.2})",
                    num(p.cold_ratio(), 2),
                    meets(p.cold_ratio()),
                    range_get::RATIO_GOAL
                )
            } else {
                format!(
                    "{} of pread (NOT a cold comparison: see the eviction rows)",
                    num(p.cold_ratio(), 2)
                )
            },
        );
    }
}

/// `meets` or `BELOW` the ratio goal.
fn meets(ratio: f64) -> &'static str {
    if ratio >= range_get::RATIO_GOAL {
        "meets"
    } else {
        "BELOW"
    }
}

/// What the evictions did, and whether the cold rows are cold.
fn eviction_rows(table: &mut Table, r: &range_get::RangeFigures) {
    let e = &r.eviction;
    let residency = match (&e.residency, &e.unmeasured) {
        (Some(res), _) => format!(
            "resident before >= {} MiB, after <= {} MiB of {} (fincore)",
            num(mib(res.before), 1),
            num(mib(res.after), 1),
            num(mib(r.file_bytes), 0)
        ),
        (None, Some(why)) => format!("residency not measured ({why})"),
        (None, None) => "residency not measured".into(),
    };
    let calls = match &e.failed {
        Some(why) => format!("; the calls FAILED: {why}"),
        None => String::new(),
    };
    table.add(
        SECTION,
        "-",
        "range GET: eviction (fdatasync + posix_fadvise DONTNEED before each cold pass)",
        format!("{} evictions; {residency}{calls}", e.count),
    );
    let slowdowns = r
        .patterns
        .iter()
        .map(range_get::PatternFigures::cold_slowdown);
    let least = slowdowns.clone().fold(f64::INFINITY, f64::min);
    let most = slowdowns.fold(0.0, f64::max);
    let timing = format!(
        "warm pread {}-{} x faster than cold",
        num(least, 1),
        num(most, 1)
    );
    let verdict = if r.cold_is_cold() {
        let how = match e.pages_dropped(r.file_bytes) {
            Some(_) => "pages dropped (fincore)",
            None => "by timing only",
        };
        format!("yes: {how}, {timing}")
    } else if e.failed.is_some() {
        format!("NO: eviction failed; the cold rows are warm reads ({timing})")
    } else if e.pages_dropped(r.file_bytes) == Some(false) {
        format!("NO: pages stayed in the cache; the cold rows are warm reads ({timing})")
    } else {
        format!(
            "NOT VISIBLY: {timing}, under {} x for some pattern",
            num(range_get::COLD_SLOWDOWN, 1)
        )
    };
    table.add(
        SECTION,
        "-",
        "range GET: cold rows read from disk (eviction worked)?",
        verdict,
    );
}

fn mib_per_sec(t: &range_get::Throughput) -> String {
    format!("{} MiB/s", num(t.mib_per_sec(), 0))
}

fn transcode_rows(table: &mut Table, t: &transcode::TranscodeFigures) {
    let seconds = t.media_seconds();
    table.add(
        SECTION,
        "-",
        "transcode: source clip",
        format!(
            "{} s {}x{} {} fps H.264/AAC MP4, {} MiB (made in {} s)",
            num(seconds, 1),
            t.clip.width,
            t.clip.height,
            t.clip.fps,
            num(mib(t.clip.bytes), 1),
            num(t.clip.made_in.as_secs_f64(), 1)
        ),
    );
    let wall = t.wall.as_secs_f64();
    table.add(
        SECTION,
        "-",
        "transcode: process_material wall time (download, probe, ladder, poster, store)",
        format!("{} s", num(wall, 1)),
    );
    table.add(
        SECTION,
        "-",
        "transcode: realtime factor (wall time / clip duration)",
        format!("{} x", num(wall / seconds, 2)),
    );
    table.add(
        SECTION,
        "-",
        "transcode: of which the one ffmpeg run making the ladder",
        match t.ladder {
            Some(ladder) => format!(
                "{} s = {} x realtime",
                num(ladder.as_secs_f64(), 1),
                num(ladder.as_secs_f64() / seconds, 2)
            ),
            None => "not seen (the `transcoded` event did not arrive)".into(),
        },
    );
    for r in &t.outputs.hls {
        let picture = match (r.width, r.height) {
            (Some(w), Some(h)) => format!("{w}x{h}"),
            _ => "sound only".into(),
        };
        table.add(
            SECTION,
            "-",
            format!("transcode: HLS rendition {}", r.name),
            format!(
                "{picture}, {} segments, {} MiB, avg {} kb/s",
                r.segments.len(),
                num(mib(r.size_bytes()), 2),
                num(r.average_bandwidth as f64 / 1000.0, 0)
            ),
        );
    }
    if let Some(p) = &t.outputs.progressive {
        table.add(
            SECTION,
            "-",
            format!("transcode: progressive fallback ({})", p.content_type),
            format!(
                "{}x{}, {} MiB",
                p.width.unwrap_or(0),
                p.height.unwrap_or(0),
                num(mib(p.size), 2)
            ),
        );
    }
    if let Some(p) = &t.outputs.poster {
        table.add(
            SECTION,
            "-",
            "transcode: poster (image/jpeg)",
            format!(
                "{}x{}, {} KiB",
                p.width.unwrap_or(0),
                p.height.unwrap_or(0),
                num(p.size as f64 / 1024.0, 0)
            ),
        );
    }
    table.add(
        SECTION,
        "-",
        "transcode: all outputs",
        format!("{} MiB", num(mib(t.outputs_bytes()), 2)),
    );
}

async fn lesson_media_rows(
    app: &App,
    actor: &Actor,
    t: &transcode::TranscodeFigures,
    window: Duration,
    db: &str,
    table: &mut Table,
) -> anyhow::Result<()> {
    let rate = signed_urls::lesson_media_rate(&app.state().courses, actor, &t.lesson, window)
        .await
        .context("the Lesson.media loop failed")?;
    table.add(
        SECTION,
        db,
        "signed URLs: Lesson.media (delivery::lesson_media, ready video, its owner; 1 task)",
        format!(
            "{} calls/s = {} URLs/s ({} signed URLs a call)",
            num(rate.calls_per_sec(), 0),
            num(rate.urls_per_sec(), 0),
            rate.urls_per_call
        ),
    );
    Ok(())
}

fn mib(bytes: u64) -> f64 {
    bytes as f64 / range_get::MIB as f64
}

/// The path and query of a URL the app signed for itself (`http://{addr}/media/...`).
///
/// # Errors
/// When the URL points elsewhere.
pub fn local_path(url: &str, addr: SocketAddr) -> anyhow::Result<String> {
    url.strip_prefix(&format!("http://{addr}"))
        .filter(|rest| rest.starts_with('/'))
        .map(str::to_owned)
        .with_context(|| format!("the signed URL {url} does not point at the app ({addr})"))
}

/// Sends one request with `body` and `Host: host` to `addr` on a new connection; returns the
/// status and the body.
///
/// # Errors
/// When the connection or the exchange fails.
pub async fn send(
    addr: SocketAddr,
    host: &str,
    builder: hyper::http::request::Builder,
    body: Bytes,
) -> anyhow::Result<(StatusCode, Bytes)> {
    let mut sender = load::connect(addr).await?;
    let request = builder
        .header(header::HOST, HeaderValue::from_str(host)?)
        .body(Full::new(body))?;
    sender.ready().await?;
    let response = sender.send_request(request).await?;
    let status = response.status();
    let bytes = response.into_body().collect().await?.to_bytes();
    Ok((status, bytes))
}

/// A request builder for `method` on `path`.
pub fn request(method: hyper::Method, path: &str) -> hyper::http::request::Builder {
    Request::builder().method(method).uri(path)
}
