//! Opening the database: SQLite tuned for a server (WAL, a busy timeout, foreign keys on), or
//! PostgreSQL, from one URL.

use std::time::Duration;

use anyhow::Context as _;
use kernel::Secret;
use sea_orm::sqlx::sqlite::{SqliteJournalMode, SqliteSynchronous};
use sea_orm::{ConnectOptions, Database, DatabaseConnection};

/// Connects to `url` (`sqlite://…` or `postgres://…`).
///
/// # Errors
/// When the URL is malformed or the database cannot be reached.
pub async fn connect(url: &Secret, max_connections: u32) -> anyhow::Result<DatabaseConnection> {
    let mut opts = ConnectOptions::new(url.expose().to_owned());
    opts.max_connections(max_connections)
        .min_connections(1)
        .acquire_timeout(Duration::from_secs(10))
        .sqlx_logging(false)
        .map_sqlx_sqlite_opts(|o| {
            // WAL lets readers run beside the single writer; NORMAL sync is safe with WAL;
            // the busy timeout makes writers queue instead of failing with SQLITE_BUSY.
            o.journal_mode(SqliteJournalMode::Wal)
                .synchronous(SqliteSynchronous::Normal)
                .busy_timeout(Duration::from_secs(10))
                .foreign_keys(true)
                .create_if_missing(true)
        });
    let db = Database::connect(opts)
        .await
        .context("cannot open the database (check DATABASE_URL)")?;
    Ok(db)
}
