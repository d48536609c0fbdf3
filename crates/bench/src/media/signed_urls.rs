//! Signed media URLs issued per second, each loop on one task for a fixed time:
//! - `ObjectStore::presign_get` of the local store (an HMAC over the grant, and the URL);
//! - `course::delivery::lesson_media` for a lesson whose video is ready: what the GraphQL
//!   `Lesson.media` resolver does (the course and its access check, the material from the
//!   database, then the master and rendition playlist URLs, the MP4 fallback's and the
//!   poster's);
//! - the S3 presigner (SigV4, computed locally: no request per URL), when an endpoint is given.
//!   One URL it signs is fetched first, so the figure is of URLs that work.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use bytes::Bytes;
use course::Courses;
use course::delivery::{LessonMedia, lesson_media};
use course::entity::lesson;
use course::processing::MaterialState;
use hyper::{Method, StatusCode};
use kernel::{Actor, Secret, SystemClock};
use storage::{ObjectStore, S3Config, S3Store};

/// Life of the URLs signed: the player's default (15 minutes).
const URL_TTL: Duration = Duration::from_secs(15 * 60);
/// A key shaped like a real segment's (its length is part of what is signed).
const SEGMENT_KEY: &str = "courses/0190f5d2-7c1e-7a3b-9f00-3c2b1a0e9d8c/materials/\
                           0190f5d2-8a44-7c11-b2e0-5d6f7a8b9c0d/hls/720p/seg-00007.ts";

/// How many calls a loop made in its window.
#[derive(Debug, Clone, Copy)]
pub struct Rate {
    /// Calls made.
    pub calls: u64,
    /// Signed URLs in each call's answer.
    pub urls_per_call: u64,
    /// The window.
    pub elapsed: Duration,
}

impl Rate {
    /// Calls per second.
    pub fn calls_per_sec(&self) -> f64 {
        self.calls as f64 / self.elapsed.as_secs_f64()
    }

    /// Signed URLs per second.
    pub fn urls_per_sec(&self) -> f64 {
        self.calls_per_sec() * self.urls_per_call as f64
    }
}

/// Calls `call` back to back for `window`; each call returns how many URLs it signed.
async fn measure<F, Fut>(window: Duration, mut call: F) -> anyhow::Result<Rate>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = anyhow::Result<u64>>,
{
    let started = Instant::now();
    let mut calls = 0u64;
    let mut urls = 0u64;
    while started.elapsed() < window {
        urls = call().await?;
        calls += 1;
    }
    Ok(Rate {
        calls,
        urls_per_call: urls,
        elapsed: started.elapsed(),
    })
}

/// `presign_get` of one segment key, back to back for `window`.
///
/// # Errors
/// When signing fails.
pub async fn presign_rate(store: &ObjectStore, window: Duration) -> anyhow::Result<Rate> {
    measure(window, || async {
        let url = store
            .presign_get(SEGMENT_KEY, URL_TTL)
            .await
            .context("presign_get failed")?;
        std::hint::black_box(url);
        Ok(1)
    })
    .await
}

/// `lesson_media` of `lesson` for `actor`, back to back for `window`; the first answer must
/// be a ready video with its HLS URLs.
///
/// # Errors
/// When a call fails or the lesson's video is not ready.
pub async fn lesson_media_rate(
    courses: &Courses,
    actor: &Actor,
    lesson: &lesson::Model,
    window: Duration,
) -> anyhow::Result<Rate> {
    let first = lesson_media(courses, actor, lesson)
        .await
        .context("lesson_media failed")?
        .context("the lesson has no media")?;
    anyhow::ensure!(
        first.state == MaterialState::Ready && first.hls_url.is_some(),
        "the lesson's media is not a ready HLS video: {first:?}"
    );
    measure(window, || async {
        let media = lesson_media(courses, actor, lesson)
            .await
            .context("lesson_media failed")?
            .context("the lesson lost its media")?;
        Ok(signed_urls(&std::hint::black_box(media)))
    })
    .await
}

/// The signed URLs in a player's answer.
fn signed_urls(m: &LessonMedia) -> u64 {
    let single = [
        &m.hls_url,
        &m.progressive_url,
        &m.poster_url,
        &m.document_url,
    ]
    .into_iter()
    .filter(|u| u.is_some())
    .count();
    (single + m.renditions.len()) as u64
}

/// An S3 endpoint and the credentials to sign for it.
#[derive(Debug, Clone)]
pub struct S3Target {
    /// `http://127.0.0.1:3900`.
    pub endpoint: String,
    /// The region (`garage` for Garage).
    pub region: String,
    /// The bucket.
    pub bucket: String,
    /// The access key id.
    pub access_key_id: String,
    /// The secret access key.
    pub secret_access_key: Secret,
}

/// The S3 presigner's rate, and whether a URL it signed was fetched.
#[derive(Debug)]
pub struct S3Rate {
    /// URLs signed per second.
    pub rate: Rate,
    /// What the check of one URL found (`a signed URL fetched the object`).
    pub checked: String,
}

/// Stores a small object under a prefix of its own, fetches it with a presigned URL, then
/// presigns back to back for `window`; the object is deleted afterwards.
///
/// # Errors
/// When the store cannot be set up, the object cannot be stored or fetched, or signing fails.
pub async fn s3_presign_rate(target: &S3Target, window: Duration) -> anyhow::Result<S3Rate> {
    let s3 = S3Store::new(S3Config {
        endpoint_url: target.endpoint.clone(),
        public_endpoint_url: None,
        region: target.region.clone(),
        bucket: target.bucket.clone(),
        access_key_id: target.access_key_id.clone(),
        secret_access_key: target.secret_access_key.clone(),
        // A prefix per run: the bucket may be shared with the tests.
        key_prefix: format!("lms-bench-{}", uuid::Uuid::new_v4().simple()),
        clock: Arc::new(SystemClock),
    })
    .context("cannot set up the S3 store")?;
    let store = ObjectStore::from(s3);
    let checked = check_url(&store).await?;
    let rate = presign_rate(&store, window).await?;
    Ok(S3Rate { rate, checked })
}

/// Stores a probe object under the segment key and fetches it with a URL the store signs.
async fn check_url(store: &ObjectStore) -> anyhow::Result<String> {
    let body = Bytes::from_static(b"lms bench: a presigned S3 URL works\n");
    store
        .put(SEGMENT_KEY, body.clone(), "video/mp2t")
        .await
        .context("cannot store a probe object on S3")?;
    let fetched = fetch(store).await;
    if let Err(e) = store.delete(SEGMENT_KEY).await {
        eprintln!("  could not delete the S3 probe object: {e}");
    }
    let (status, got) = match fetched? {
        Some(answer) => answer,
        None => return Ok("URL not fetched: https endpoint".into()),
    };
    anyhow::ensure!(
        status == StatusCode::OK && got == body,
        "a presigned S3 URL answered {status}: {}",
        String::from_utf8_lossy(&got)
    );
    Ok("a signed URL fetched the object".into())
}

/// GETs a presigned URL of the probe object; `None` for an https endpoint (the bench speaks
/// plain HTTP only).
async fn fetch(store: &ObjectStore) -> anyhow::Result<Option<(StatusCode, Bytes)>> {
    let url = store.presign_get(SEGMENT_KEY, URL_TTL).await?;
    let Some(rest) = url.strip_prefix("http://") else {
        return Ok(None);
    };
    let (authority, path) = rest
        .find('/')
        .map(|i| rest.split_at(i))
        .with_context(|| format!("the presigned URL {url} has no path"))?;
    let addr = tokio::net::lookup_host(authority)
        .await
        .with_context(|| format!("cannot resolve {authority}"))?
        .next()
        .with_context(|| format!("{authority} resolves to no address"))?;
    // SigV4 signs the host header: it must be the URL's authority as written.
    let answer = super::send(
        addr,
        authority,
        super::request(Method::GET, path),
        Bytes::new(),
    )
    .await?;
    Ok(Some(answer))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_segment_key_is_a_valid_key() {
        assert!(storage::validate_key(SEGMENT_KEY).is_ok());
    }
}
