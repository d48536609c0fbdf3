//! The test harness: [`TestApp::spawn`] starts the whole `lms` app on port 0 with its own fresh
//! database and object storage, and talks to it over HTTP like a client.
//!
//! - Database: a temporary SQLite file by default; with `LMS_TEST_DATABASE_URL` (a PostgreSQL
//!   server URL) a fresh database per test, dropped afterwards.
//! - Storage: a temporary local folder by default; with `LMS_TEST_S3_ENDPOINT`, `_REGION`,
//!   `_BUCKET`, `_ACCESS_KEY_ID` and `_SECRET_ACCESS_KEY` a fresh key prefix in that bucket.
//!
//! [`TestDatabase`] gives a test that uses a crate without the app its own database the same way.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;

use gateway::{Config, Overrides, RunningServer};
use kernel::Secret;
use sea_orm::ConnectionTrait;
use serde_json::{Value, json};

/// The first admin of every test app.
pub const ADMIN_EMAIL: &str = "admin@test.lms";
/// Their password.
pub const ADMIN_PASSWORD: &str = "admin-password-123";
/// The password tests give to the people they create.
pub const PASSWORD: &str = "rahasia-ASN-2026";

/// A PostgreSQL database made for one test.
struct PgDatabase {
    server_url: String,
    name: String,
}

impl Drop for PgDatabase {
    fn drop(&mut self) {
        let (url, name) = (self.server_url.clone(), self.name.clone());
        // Drop runs outside any runtime we may block on; a thread with its own runtime can.
        let _ = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .ok()?;
            rt.block_on(async {
                let db = sea_orm::Database::connect(&url).await.ok()?;
                db.execute_unprepared(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"))
                    .await
                    .ok()
            })
        })
        .join();
    }
}

/// Replaces the database name in a PostgreSQL URL.
pub fn with_database(server_url: &str, name: &str) -> String {
    let (base, query) = match server_url.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (server_url, None),
    };
    let scheme_end = base.find("://").map_or(0, |i| i + 3);
    let root = match base[scheme_end..].find('/') {
        Some(i) => &base[..scheme_end + i],
        None => base,
    };
    match query {
        Some(q) => format!("{root}/{name}?{q}"),
        None => format!("{root}/{name}"),
    }
}

/// Creates a fresh PostgreSQL database when `LMS_TEST_DATABASE_URL` is set; returns its URL.
async fn fresh_postgres() -> Option<(String, PgDatabase)> {
    let server_url = std::env::var("LMS_TEST_DATABASE_URL")
        .ok()
        .filter(|s| !s.is_empty())?;
    let name = format!("lms_test_{}", uuid::Uuid::new_v4().simple());
    let admin = sea_orm::Database::connect(&server_url)
        .await
        .expect("LMS_TEST_DATABASE_URL is set but the server cannot be reached");
    admin
        .execute_unprepared(&format!("CREATE DATABASE \"{name}\""))
        .await
        .expect("create the test database");
    let _ = admin.close().await;
    let url = with_database(&server_url, &name);
    Some((url, PgDatabase { server_url, name }))
}

/// A fresh, migrated database for one test, for tests that use a crate without the app. Connect
/// to it as often as the test needs (a second connection is a second process, or the same process
/// after a restart); a PostgreSQL database is dropped with it, even when the test fails.
pub struct TestDatabase {
    url: String,
    _dir: Option<tempfile::TempDir>,
    _pg: Option<PgDatabase>,
}

impl TestDatabase {
    /// A migrated SQLite database in a temporary folder.
    pub async fn sqlite() -> TestDatabase {
        let dir = tempfile::tempdir().expect("temp dir");
        let url = format!(
            "sqlite://{}?mode=rwc",
            dir.path().join("lms.sqlite").display()
        );
        TestDatabase {
            url,
            _dir: Some(dir),
            _pg: None,
        }
        .migrated()
        .await
    }

    /// A migrated PostgreSQL database when `LMS_TEST_DATABASE_URL` is set.
    pub async fn postgres() -> Option<TestDatabase> {
        let (url, pg) = fresh_postgres().await?;
        let db = TestDatabase {
            url,
            _dir: None,
            _pg: Some(pg),
        };
        Some(db.migrated().await)
    }

    async fn migrated(self) -> TestDatabase {
        use migration::MigratorTrait;
        let db = self.connect().await;
        migration::Migrator::up(&db, None)
            .await
            .expect("migrate the test database");
        db.close().await.expect("close the migration connection");
        self
    }

    /// Its URL.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// A new connection pool: SQLite in WAL mode with a busy timeout and foreign keys on.
    pub async fn connect(&self) -> sea_orm::DatabaseConnection {
        let mut opts = sea_orm::ConnectOptions::new(self.url.clone());
        opts.max_connections(8)
            .sqlx_logging(false)
            .map_sqlx_sqlite_opts(|o| {
                o.journal_mode(sea_orm::sqlx::sqlite::SqliteJournalMode::Wal)
                    .busy_timeout(std::time::Duration::from_secs(30))
                    .foreign_keys(true)
            });
        sea_orm::Database::connect(opts)
            .await
            .expect("connect to the test database")
    }
}

/// S3 settings from `LMS_TEST_S3_*`, when all are set.
pub fn s3_from_env() -> Option<(String, String, String, String, String)> {
    let get = |k: &str| std::env::var(k).ok().filter(|s| !s.is_empty());
    Some((
        get("LMS_TEST_S3_ENDPOINT")?,
        get("LMS_TEST_S3_REGION")?,
        get("LMS_TEST_S3_BUCKET")?,
        get("LMS_TEST_S3_ACCESS_KEY_ID")?,
        get("LMS_TEST_S3_SECRET_ACCESS_KEY")?,
    ))
}

/// Holds the write lock that progress writers need, until the returned transaction ends: syncs
/// then wait behind it, as behind a slow disk under load.
pub async fn hold_progress_writes(app: &TestApp) -> sea_orm::DatabaseTransaction {
    use sea_orm::ConnectionTrait;
    let lock = kernel::db::begin_write(&app.server.state.db)
        .await
        .expect("begin a write");
    if on_postgres() {
        lock.execute_unprepared("LOCK TABLE progress_events IN SHARE ROW EXCLUSIVE MODE")
            .await
            .expect("lock progress_events");
    }
    lock
}

/// Whether this run uses PostgreSQL.
pub fn on_postgres() -> bool {
    std::env::var("LMS_TEST_DATABASE_URL").is_ok_and(|s| !s.is_empty())
}

/// How to start a test app.
#[derive(Clone, Default)]
pub struct Options {
    /// Job workers inside the app (default 0: tests that need them ask).
    pub workers: usize,
    /// Changes to the app's configuration, made last.
    pub configure: Option<fn(&mut Config)>,
    /// Services to replace.
    pub overrides: Overrides,
    /// Reuse this data folder and database (to test a restart).
    pub reuse: Option<Arc<Backing>>,
}

/// The database and folder behind an app, kept alive across restarts.
pub struct Backing {
    dir: tempfile::TempDir,
    database_url: Option<String>,
    s3_prefix: String,
    _pg: Option<PgDatabase>,
}

impl Backing {
    /// The app's data folder (SQLite file, local media, secret key).
    pub fn data_dir(&self) -> &std::path::Path {
        self.dir.path()
    }

    /// The PostgreSQL URL of the app's database, when the run uses PostgreSQL.
    pub fn database_url(&self) -> Option<&str> {
        self.database_url.as_deref()
    }
}

/// A running app and a client for it.
pub struct TestApp {
    /// `http://127.0.0.1:PORT`.
    pub base: String,
    /// The HTTP client.
    pub client: reqwest::Client,
    /// The server (its state gives direct access to services).
    pub server: RunningServer,
    /// What it runs on.
    pub backing: Arc<Backing>,
}

impl TestApp {
    /// Starts a fresh app with default options.
    pub async fn spawn() -> TestApp {
        Self::spawn_with(Options::default()).await
    }

    /// Starts an app.
    pub async fn spawn_with(opts: Options) -> TestApp {
        init_logging();
        let backing = match opts.reuse {
            Some(b) => b,
            None => {
                let dir = tempfile::tempdir().expect("temp dir");
                let pg = fresh_postgres().await;
                let (database_url, pg) = match pg {
                    Some((url, db)) => (Some(url), Some(db)),
                    None => (None, None),
                };
                Arc::new(Backing {
                    dir,
                    database_url,
                    s3_prefix: format!("test-{}", uuid::Uuid::new_v4().simple()),
                    _pg: pg,
                })
            }
        };
        let mut config = Config::with_data_dir(backing.dir.path().to_path_buf());
        config.database_url = backing.database_url.clone().map(Secret::new);
        config.db_max_connections = 5;
        config.admin_email = ADMIN_EMAIL.into();
        config.admin_password = Some(Secret::new(ADMIN_PASSWORD));
        config.workers = opts.workers;
        if let Some((endpoint, region, bucket, key, secret)) = s3_from_env() {
            config.s3_endpoint = Some(endpoint);
            config.s3_region = region;
            config.s3_bucket = bucket;
            config.s3_access_key_id = Some(key);
            config.s3_secret_access_key = Some(Secret::new(secret));
            config.s3_prefix = backing.s3_prefix.clone();
        }
        if let Some(configure) = opts.configure {
            configure(&mut config);
        }
        let server = gateway::start(config, opts.overrides)
            .await
            .expect("start the app");
        TestApp {
            base: format!("http://{}", server.addr),
            client: reqwest::Client::new(),
            server,
            backing,
        }
    }

    /// Stops the app and waits until it has stopped; returns what it ran on.
    pub async fn stop(self) -> Arc<Backing> {
        self.server.shutdown.cancel();
        let _ = self.server.handle.await;
        self.backing
    }

    /// POSTs a GraphQL operation and returns the JSON body (any status).
    pub async fn gql(&self, token: Option<&str>, query: &str, variables: Value) -> Value {
        self.gql_raw(token, query, variables).await.1
    }

    /// POSTs a GraphQL operation; returns the status and the JSON body.
    pub async fn gql_raw(
        &self,
        token: Option<&str>,
        query: &str,
        variables: Value,
    ) -> (u16, Value) {
        self.gql_with_headers(&[], token, query, variables).await
    }

    /// [`TestApp::gql_raw`] with extra request headers (a proxy's `X-Forwarded-For`, say).
    pub async fn gql_with_headers(
        &self,
        headers: &[(&str, &str)],
        token: Option<&str>,
        query: &str,
        variables: Value,
    ) -> (u16, Value) {
        let mut req = self
            .client
            .post(format!("{}/graphql", self.base))
            .header("accept", "application/graphql-response+json")
            .json(&json!({"query": query, "variables": variables}));
        for (name, value) in headers {
            req = req.header(*name, *value);
        }
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        let resp = req.send().await.expect("request");
        let status = resp.status().as_u16();
        let body = resp.json::<Value>().await.unwrap_or(Value::Null);
        (status, body)
    }

    /// Runs an operation that must succeed; returns `data`.
    pub async fn ok(&self, token: Option<&str>, query: &str, variables: Value) -> Value {
        let body = self.gql(token, query, variables).await;
        assert!(body.get("errors").is_none(), "unexpected errors: {body}");
        body["data"].clone()
    }

    /// Signs in; returns (access token, refresh token).
    pub async fn sign_in(&self, login: &str, password: &str) -> (String, String) {
        let d = self
            .ok(
                None,
                "mutation($l: String!, $p: String!) { signIn(login: $l, password: $p) { accessToken refreshToken } }",
                json!({"l": login, "p": password}),
            )
            .await;
        (
            d["signIn"]["accessToken"].as_str().unwrap().to_owned(),
            d["signIn"]["refreshToken"].as_str().unwrap().to_owned(),
        )
    }

    /// The admin's access token.
    pub async fn admin(&self) -> String {
        self.sign_in(ADMIN_EMAIL, ADMIN_PASSWORD).await.0
    }

    /// Creates a unit as `token`; returns its id.
    pub async fn unit(&self, token: &str, code: &str, parent: Option<&str>) -> String {
        let d = self
            .ok(
                Some(token),
                "mutation($i: CreateUnitInput!) { createUnit(input: $i) { id } }",
                json!({"i": {"code": code, "name": format!("Unit {code}"), "parentId": parent}}),
            )
            .await;
        d["createUnit"]["id"].as_str().unwrap().to_owned()
    }

    /// Creates a person with [`PASSWORD`] as `token`; returns their id.
    pub async fn person(
        &self,
        token: &str,
        email: &str,
        roles: &[&str],
        unit: Option<&str>,
    ) -> String {
        let d = self
            .ok(
                Some(token),
                "mutation($i: CreatePersonInput!) { createPerson(input: $i) { id } }",
                json!({"i": {"name": format!("Person {email}"), "email": email, "roles": roles, "unitId": unit, "password": PASSWORD}}),
            )
            .await;
        d["createPerson"]["id"].as_str().unwrap().to_owned()
    }

    /// Creates a person and signs them in; returns (id, access token).
    pub async fn signed_in(
        &self,
        admin: &str,
        email: &str,
        roles: &[&str],
        unit: Option<&str>,
    ) -> (String, String) {
        let id = self.person(admin, email, roles, unit).await;
        let (token, _) = self.sign_in(email, PASSWORD).await;
        (id, token)
    }
}

/// The `extensions.code` of the first error, if any.
pub fn error_code(body: &Value) -> Option<String> {
    body["errors"][0]["extensions"]["code"]
        .as_str()
        .map(str::to_owned)
}

/// Polls `check` every 20 ms until it holds or `timeout` passes; returns whether it held.
pub async fn eventually<F, Fut>(timeout: std::time::Duration, mut check: F) -> bool
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        if check().await {
            return true;
        }
        if tokio::time::Instant::now() >= deadline {
            return false;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}

/// Logs of the app under test go to the test's captured output (shown when it fails); the
/// level comes from `LMS_LOG`, default `warn`.
fn init_logging() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let filter = tracing_subscriber::EnvFilter::try_from_env("LMS_LOG")
            .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
        let _ = tracing_subscriber::fmt()
            .with_env_filter(filter)
            .with_test_writer()
            .try_init();
    });
}
