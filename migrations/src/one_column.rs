//! A migration that adds one nullable timestamp column, and takes it away again.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::timestamp_with_time_zone_null;

/// Adds `column` to `table`: a `timestamp with time zone` that may be NULL.
pub(crate) async fn add_timestamp<T: IntoIden + 'static>(
    manager: &SchemaManager<'_>,
    table: T,
    column: T,
) -> Result<(), DbErr> {
    manager
        .alter_table(
            Table::alter()
                .table(table)
                .add_column(timestamp_with_time_zone_null(column))
                .to_owned(),
        )
        .await
}

/// Drops `column` of `table`.
pub(crate) async fn drop<T: IntoIden + 'static>(
    manager: &SchemaManager<'_>,
    table: T,
    column: T,
) -> Result<(), DbErr> {
    manager
        .alter_table(Table::alter().table(table).drop_column(column).to_owned())
        .await
}
