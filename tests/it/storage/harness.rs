//! A store to test against: a local store in a fresh folder, served on a loopback port exactly as
//! the gateway mounts it (under `/media`), or an S3 store under a fresh key prefix.

use std::sync::Arc;

use chrono::Utc;
use kernel::{ManualClock, Secret};
use storage::{LocalStore, LocalStoreConfig, ObjectStore, S3Config, S3Store, local_media_router};
use tempfile::TempDir;
use tokio::task::JoinHandle;

/// The local store's body limit in the suite: room for a 5 MiB part and then some.
pub const LOCAL_MAX_BODY: u64 = 16 * 1024 * 1024;

/// One store under test, its clock, and an HTTP client for its URLs.
pub struct Harness {
    pub store: ObjectStore,
    /// The clock the store signs with; tests move it to make URLs that are already expired.
    pub clock: ManualClock,
    pub http: reqwest::Client,
    server: Option<JoinHandle<()>>,
    /// The local store's folder, removed when the test ends.
    pub dir: Option<TempDir>,
}

impl Drop for Harness {
    fn drop(&mut self) {
        if let Some(server) = &self.server {
            server.abort();
        }
    }
}

fn http() -> reqwest::Client {
    // No proxy from the environment may stand between the test and a loopback server.
    reqwest::Client::builder().no_proxy().build().unwrap()
}

impl Harness {
    /// A local store with the suite's body limit.
    pub async fn local() -> Harness {
        Harness::local_with_limit(LOCAL_MAX_BODY).await
    }

    /// A local store accepting bodies up to `max_body_bytes`, served on 127.0.0.1, port 0.
    pub async fn local_with_limit(max_body_bytes: u64) -> Harness {
        let dir = tempfile::Builder::new()
            .prefix("lms-storage-it-")
            .tempdir()
            .unwrap();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let clock = ManualClock::new(Utc::now());
        let store = LocalStore::new(LocalStoreConfig {
            root: dir.path().to_path_buf(),
            public_base_url: format!("http://{addr}"),
            signing_key: Secret::new("conformance-suite signing key"),
            max_body_bytes,
            clock: Arc::new(clock.clone()),
        })
        .unwrap();
        let app = axum::Router::new().nest("/media", local_media_router(store.clone()));
        let server = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Harness {
            store: store.into(),
            clock,
            http: http(),
            server: Some(server),
            dir: Some(dir),
        }
    }

    /// An S3 store under a fresh prefix, or `None` (after saying so) when the variables are unset.
    pub async fn s3(case: &str) -> Option<Harness> {
        let Some((endpoint, region, bucket, key_id, secret)) = lms_tests::s3_from_env() else {
            println!(
                "s3::{case}: not run against S3 (set LMS_TEST_S3_ENDPOINT, _REGION, _BUCKET, \
                 _ACCESS_KEY_ID and _SECRET_ACCESS_KEY to run it)"
            );
            return None;
        };
        let clock = ManualClock::new(Utc::now());
        let store = S3Store::new(S3Config {
            endpoint_url: endpoint,
            public_endpoint_url: None,
            region,
            bucket,
            access_key_id: key_id,
            secret_access_key: Secret::new(secret),
            key_prefix: format!("lms-test/{case}-{}", uuid::Uuid::new_v4().simple()),
            clock: Arc::new(clock.clone()),
        })
        .unwrap();
        Some(Harness {
            store: store.into(),
            clock,
            http: http(),
            server: None,
            dir: None,
        })
    }

    /// Whether this is the local backend (for the few headers only it promises).
    pub fn is_local(&self) -> bool {
        self.store.backend_name() == "local"
    }
}

/// `n` bytes that differ with `seed` and do not repeat with a short period.
pub fn data(n: usize, seed: u8) -> Vec<u8> {
    let mut x = u32::from(seed).wrapping_mul(2_654_435_761).wrapping_add(1);
    (0..n)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            x.to_le_bytes()[0]
        })
        .collect()
}

/// The quoted hex MD5 of `bytes`: the ETag both backends give.
pub fn etag_of(bytes: &[u8]) -> String {
    use md5::Digest;
    format!("\"{}\"", hex::encode(md5::Md5::digest(bytes)))
}
