//! An index on `refresh_tokens.expires_at` for the daily purge of expired refresh tokens
//! (`identity.purge`). Every rotation adds a row that is kept, revoked, until it expires (so a
//! stolen token's reuse is still caught), so the table holds about one row per rotation in the
//! last 30 days; without the index each purge would read all of them.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum RefreshTokens {
    Table,
    ExpiresAt,
}

const NAME: &str = "idx_refresh_tokens_expires_at";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let columns = vec![RefreshTokens::ExpiresAt];
        crate::one_index::create(manager, NAME, RefreshTokens::Table, columns).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        crate::one_index::drop(manager, NAME, RefreshTokens::Table).await
    }
}
