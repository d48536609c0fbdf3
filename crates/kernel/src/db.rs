//! Database helpers every crate shares.

use sea_orm::{
    DatabaseConnection, DatabaseTransaction, DbErr, SqliteTransactionMode, TransactionOptions,
    TransactionTrait,
};

/// Begins a transaction that will write. On SQLite it starts as `BEGIN IMMEDIATE`: a deferred
/// transaction that reads first and writes later cannot wait for the write lock (SQLite answers
/// "database is busy" at once, whatever the busy timeout), so under concurrent writers it would
/// fail instead of queueing. PostgreSQL ignores the mode.
///
/// # Errors
/// When the database cannot start the transaction.
pub async fn begin_write(db: &DatabaseConnection) -> Result<DatabaseTransaction, DbErr> {
    db.begin_with_options(TransactionOptions {
        sqlite_transaction_mode: Some(SqliteTransactionMode::Immediate),
        ..TransactionOptions::default()
    })
    .await
}
