//! Starting the `lms` app for a benchmark: the production configuration on port 0 with a fresh
//! database (a temporary SQLite file, or a PostgreSQL database made for the run and dropped
//! after it), as the test harness does. The app's database connection counts the SQL statements
//! it runs (one relaxed atomic add each, through the gateway's statement observer, the hook the
//! integration tests count with), so a suite can say how many statements a request ran.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use anyhow::Context as _;
use bytes::Bytes;
use gateway::{AppState, Config, Overrides, RunningServer};
use kernel::Secret;
use sea_orm::{ConnectionTrait, DbBackend, Statement};
use serde_json::{Value, json};

use crate::load::Target;

/// The first admin of every benchmark app.
pub const ADMIN_EMAIL: &str = "admin@bench.lms";
/// Their password.
pub const ADMIN_PASSWORD: &str = "bench-admin-password-1";

/// The signIn mutation, asking for the access token only.
pub const SIGN_IN: &str =
    "mutation($l: String!, $p: String!) { signIn(login: $l, password: $p) { accessToken } }";

/// Which database a suite runs on.
#[derive(Debug, Clone)]
pub enum Database {
    /// A SQLite file in the app's temporary data folder (the default configuration).
    Sqlite,
    /// A PostgreSQL database at this URL.
    Postgres(String),
}

impl Database {
    /// The name printed in the table.
    pub fn label(&self) -> &'static str {
        match self {
            Database::Sqlite => "SQLite",
            Database::Postgres(_) => "PostgreSQL",
        }
    }
}

/// A running app and the temporary folder it keeps its files in.
pub struct App {
    /// The server.
    pub server: RunningServer,
    /// What it runs on.
    pub database: Database,
    statements: Arc<AtomicU64>,
    dir: tempfile::TempDir,
}

impl App {
    /// Starts the app with production settings (argon2 cost, pool size, throttle), except that
    /// no job workers run: they poll the database and would only add noise.
    ///
    /// # Errors
    /// When the folder, the database or the server cannot be set up.
    pub async fn start(database: Database) -> anyhow::Result<App> {
        let dir = tempfile::tempdir().context("cannot make a temporary data folder")?;
        let mut config = Config::with_data_dir(dir.path().to_path_buf());
        if let Database::Postgres(url) = &database {
            config.database_url = Some(Secret::new(url.as_str()));
        }
        config.admin_email = ADMIN_EMAIL.into();
        config.admin_password = Some(Secret::new(ADMIN_PASSWORD));
        config.workers = 0;
        let statements = Arc::new(AtomicU64::new(0));
        let counter = statements.clone();
        let overrides = Overrides {
            statement_observer: Some(Arc::new(move |_: &sea_orm::metric::Info<'_>| {
                counter.fetch_add(1, Ordering::Relaxed);
            })),
            ..Overrides::default()
        };
        let server = gateway::start(config, overrides)
            .await
            .context("cannot start the app")?;
        Ok(App {
            server,
            database,
            statements,
            dir,
        })
    }

    /// SQL statements the app's connection has run so far (setup inserts included): the
    /// difference around a request is what it ran, when nothing else runs meanwhile.
    pub fn statements(&self) -> u64 {
        self.statements.load(Ordering::Relaxed)
    }

    /// The app's shared state.
    pub fn state(&self) -> &AppState {
        &self.server.state
    }

    /// The folder the app keeps its files in (database, secret key, `media/` of the local
    /// store).
    pub fn data_dir(&self) -> &std::path::Path {
        self.dir.path()
    }

    /// Signs in over HTTP (`signIn`); returns the access token.
    ///
    /// # Errors
    /// When the request fails or the answer holds no token.
    pub async fn sign_in(&self, login: &str, password: &str) -> anyhow::Result<String> {
        let body = json!({"query": SIGN_IN, "variables": {"l": login, "p": password}});
        let target = Target::post_json(
            self.server.addr,
            "/graphql",
            None,
            vec![Bytes::from(serde_json::to_vec(&body)?)],
            Arc::new(|_: &[u8]| true),
        )?;
        let (status, bytes) = target.send_once().await?;
        let answer: Value = serde_json::from_slice(&bytes)
            .with_context(|| format!("signIn answered {status} with a body that is not JSON"))?;
        answer["data"]["signIn"]["accessToken"]
            .as_str()
            .map(str::to_owned)
            .with_context(|| format!("signIn as {login} failed ({status}): {answer}"))
    }

    /// The database server's version.
    ///
    /// # Errors
    /// When the query fails.
    pub async fn database_version(&self) -> anyhow::Result<String> {
        let (backend, sql, column) = match self.database {
            Database::Sqlite => (DbBackend::Sqlite, "SELECT sqlite_version() AS v", "v"),
            Database::Postgres(_) => (DbBackend::Postgres, "SHOW server_version", "server_version"),
        };
        let row = self
            .state()
            .db
            .query_one_raw(Statement::from_string(backend, sql))
            .await?
            .context("the version query returned no row")?;
        Ok(row.try_get::<String>("", column)?)
    }

    /// Stops the server and waits (briefly) until it has stopped.
    pub async fn stop(self) {
        self.server.shutdown.cancel();
        let _ = tokio::time::timeout(Duration::from_secs(10), self.server.handle).await;
        let _ = self.server.state.db.close_by_ref().await;
    }
}

/// A PostgreSQL database made for one run.
pub struct PgDatabase {
    server_url: String,
    name: String,
    /// Its URL.
    pub url: String,
}

impl PgDatabase {
    /// Creates a database with a fresh name on the server at `server_url`.
    ///
    /// # Errors
    /// When the server cannot be reached or refuses.
    pub async fn create(server_url: &str) -> anyhow::Result<PgDatabase> {
        let name = format!("lms_bench_{}", uuid::Uuid::new_v4().simple());
        let admin = sea_orm::Database::connect(server_url)
            .await
            .context("cannot reach the PostgreSQL server of --database-url")?;
        admin
            .execute_unprepared(&format!("CREATE DATABASE \"{name}\""))
            .await
            .with_context(|| format!("cannot create the database {name}"))?;
        let _ = admin.close().await;
        Ok(PgDatabase {
            url: with_database(server_url, &name),
            server_url: server_url.to_owned(),
            name,
        })
    }

    /// Drops the database, closing whatever connections remain.
    ///
    /// # Errors
    /// When the server cannot be reached or refuses.
    pub async fn drop_database(self) -> anyhow::Result<()> {
        let admin = sea_orm::Database::connect(&self.server_url).await?;
        admin
            .execute_unprepared(&format!(
                "DROP DATABASE IF EXISTS \"{}\" WITH (FORCE)",
                self.name
            ))
            .await
            .with_context(|| format!("cannot drop the database {}", self.name))?;
        let _ = admin.close().await;
        Ok(())
    }
}

/// Replaces the database name in a PostgreSQL URL, keeping any query string.
fn with_database(server_url: &str, name: &str) -> String {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_database_name_is_replaced_and_the_query_kept() {
        assert_eq!(
            with_database("postgres://postgres@127.0.0.1:5432/postgres", "x"),
            "postgres://postgres@127.0.0.1:5432/x"
        );
        assert_eq!(
            with_database("postgres://u@h/db?sslmode=disable", "x"),
            "postgres://u@h/x?sslmode=disable"
        );
        assert_eq!(with_database("postgres://u@h", "x"), "postgres://u@h/x");
    }
}
