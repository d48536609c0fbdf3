//! Database helpers every crate shares.

use sea_orm::{
    DatabaseConnection, DatabaseTransaction, DbErr, SqlErr, SqliteTransactionMode,
    TransactionOptions, TransactionTrait,
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

/// Whether `err` is a unique-constraint violation (a duplicate that the database refused), on
/// either database.
pub fn is_unique_violation(err: &DbErr) -> bool {
    matches!(err.sql_err(), Some(SqlErr::UniqueConstraintViolation(_)))
}

/// Rows one UPDATE may give their own values with [`value_by_id`]: each row's value is found by
/// walking the CASE, so a long list would cost rows × list comparisons.
pub const ROWS_PER_CASE_UPDATE: usize = 32;

/// `CASE WHEN id = a THEN x WHEN id = b THEN y … ELSE column END`: lets one UPDATE (over
/// `id IN (a, b, …)`) write a different value into `column` of each row, in place of one UPDATE
/// per row. Keep the list to [`ROWS_PER_CASE_UPDATE`].
pub fn value_by_id<C: sea_orm::ColumnTrait>(
    id: C,
    column: C,
    values: impl IntoIterator<Item = (uuid::Uuid, sea_orm::Value)>,
) -> sea_orm::sea_query::Expr {
    use sea_orm::sea_query::{CaseStatement, Expr};
    values
        .into_iter()
        .fold(CaseStatement::new(), |case, (key, value)| {
            case.case(id.eq(key), Expr::val(value))
        })
        .finally(Expr::col(column))
        .into()
}
