//! Units (the OPD tree), people, refresh tokens, sign-in throttling and the audit log.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Units {
    Table,
    Id,
    Code,
    Name,
    ParentId,
    Path,
    RetiredAt,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum People {
    Table,
    Id,
    Nip,
    Name,
    Email,
    UnitId,
    Position,
    Grade,
    EmploymentType,
    Roles,
    PasswordHash,
    PasswordChangedAt,
    DisabledAt,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum RefreshTokens {
    Table,
    Id,
    PersonId,
    FamilyId,
    TokenHash,
    CreatedAt,
    ExpiresAt,
    RevokedAt,
}

#[derive(DeriveIden)]
enum SignInThrottle {
    Table,
    Key,
    Failures,
    WindowStartMs,
    LockedUntilMs,
}

#[derive(DeriveIden)]
enum AuditLog {
    Table,
    Id,
    At,
    ActorId,
    Action,
    TargetType,
    TargetId,
    Detail,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Units::Table)
                    .col(pk_uuid(Units::Id))
                    .col(string_len_uniq(Units::Code, 64))
                    .col(string_len(Units::Name, 200))
                    .col(uuid_null(Units::ParentId))
                    // "/root-id/child-id/": a subtree is every path with this prefix.
                    .col(string_len(Units::Path, 2000))
                    .col(timestamp_with_time_zone_null(Units::RetiredAt))
                    .col(timestamp_with_time_zone(Units::CreatedAt))
                    .col(timestamp_with_time_zone(Units::UpdatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_units_parent")
                            .from(Units::Table, Units::ParentId)
                            .to(Units::Table, Units::Id),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_units_path")
                    .table(Units::Table)
                    .col(Units::Path)
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(People::Table)
                    .col(pk_uuid(People::Id))
                    .col(string_len_null(People::Nip, 18).unique_key())
                    .col(string_len(People::Name, 200))
                    .col(string_len_null(People::Email, 254).unique_key())
                    .col(uuid_null(People::UnitId))
                    .col(string_len_null(People::Position, 200))
                    .col(string_len_null(People::Grade, 16))
                    .col(string_len_null(People::EmploymentType, 8))
                    .col(string_len(People::Roles, 64))
                    .col(string_len_null(People::PasswordHash, 200))
                    .col(timestamp_with_time_zone_null(People::PasswordChangedAt))
                    .col(timestamp_with_time_zone_null(People::DisabledAt))
                    .col(timestamp_with_time_zone(People::CreatedAt))
                    .col(timestamp_with_time_zone(People::UpdatedAt))
                    .check(Expr::cust("nip IS NOT NULL OR email IS NOT NULL"))
                    .check(Expr::cust(
                        "employment_type IS NULL OR employment_type IN ('PNS', 'PPPK')",
                    ))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_people_unit")
                            .from(People::Table, People::UnitId)
                            .to(Units::Table, Units::Id),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_people_unit")
                    .table(People::Table)
                    .col(People::UnitId)
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(RefreshTokens::Table)
                    .col(pk_uuid(RefreshTokens::Id))
                    .col(uuid(RefreshTokens::PersonId))
                    // Every token rotated from one sign-in shares a family; reuse of a rotated
                    // token revokes the whole family.
                    .col(uuid(RefreshTokens::FamilyId))
                    .col(string_len_uniq(RefreshTokens::TokenHash, 64))
                    .col(timestamp_with_time_zone(RefreshTokens::CreatedAt))
                    .col(timestamp_with_time_zone(RefreshTokens::ExpiresAt))
                    .col(timestamp_with_time_zone_null(RefreshTokens::RevokedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_refresh_tokens_person")
                            .from(RefreshTokens::Table, RefreshTokens::PersonId)
                            .to(People::Table, People::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_refresh_tokens_person")
                    .table(RefreshTokens::Table)
                    .col(RefreshTokens::PersonId)
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(SignInThrottle::Table)
                    .col(string_len(SignInThrottle::Key, 300).primary_key())
                    .col(integer(SignInThrottle::Failures))
                    .col(big_integer(SignInThrottle::WindowStartMs))
                    .col(big_integer(SignInThrottle::LockedUntilMs))
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(AuditLog::Table)
                    .col(pk_uuid(AuditLog::Id))
                    .col(timestamp_with_time_zone(AuditLog::At))
                    .col(uuid_null(AuditLog::ActorId))
                    .col(string_len(AuditLog::Action, 64))
                    .col(string_len(AuditLog::TargetType, 64))
                    .col(string_len(AuditLog::TargetId, 64))
                    .col(text(AuditLog::Detail))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_audit_log_target")
                    .table(AuditLog::Table)
                    .col(AuditLog::TargetType)
                    .col(AuditLog::TargetId)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            AuditLog::Table.into_iden(),
            SignInThrottle::Table.into_iden(),
            RefreshTokens::Table.into_iden(),
            People::Table.into_iden(),
            Units::Table.into_iden(),
        ] {
            manager
                .drop_table(Table::drop().table(table).to_owned())
                .await?;
        }
        Ok(())
    }
}
