//! A migration that adds one index, and takes it away again.

use sea_orm_migration::prelude::*;

/// Creates index `name` on `table` over `columns`, in that order.
pub(crate) async fn create<T: IntoIden>(
    manager: &SchemaManager<'_>,
    name: &str,
    table: T,
    columns: Vec<T>,
) -> Result<(), DbErr> {
    let mut index = Index::create();
    index.name(name).table(table);
    for column in columns {
        index.col(column);
    }
    manager.create_index(index).await
}

/// Drops index `name` of `table`.
pub(crate) async fn drop<T: IntoIden>(
    manager: &SchemaManager<'_>,
    name: &str,
    table: T,
) -> Result<(), DbErr> {
    manager
        .drop_index(Index::drop().name(name).table(table).to_owned())
        .await
}
