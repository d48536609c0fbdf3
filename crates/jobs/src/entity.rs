//! The `jobs` table (created by the `m20261129_000002_jobs` migration). Scheduling columns are
//! integer milliseconds since the epoch, so lease and due-time arithmetic is the same SQL on
//! SQLite and PostgreSQL.

use sea_orm::entity::prelude::*;

/// Where a job is in its life. The database's check constraint allows exactly these values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(16))")]
pub enum Status {
    /// Waiting for its `run_at_ms` to come.
    #[sea_orm(string_value = "queued")]
    Queued,
    /// Held by the worker in `locked_by` until `lease_until_ms`.
    #[sea_orm(string_value = "running")]
    Running,
    /// Done.
    #[sea_orm(string_value = "succeeded")]
    Succeeded,
    /// Gave up after `max_attempts`; `last_error` says why.
    #[sea_orm(string_value = "failed")]
    Failed,
}

/// One row of `jobs`.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "jobs")]
pub struct Model {
    /// UUID v7.
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// Which handler runs it.
    pub kind: String,
    /// The handler's input, as JSON text.
    #[sea_orm(column_type = "Text")]
    pub payload: String,
    /// The life-cycle state.
    pub state: Status,
    /// Claims so far (the running attempt included).
    pub attempts: i32,
    /// Claims allowed before the job is given up.
    pub max_attempts: i32,
    /// When the job is due, ms since the epoch.
    pub run_at_ms: i64,
    /// When the current lease ends, ms since the epoch; set while running.
    pub lease_until_ms: Option<i64>,
    /// The worker holding the lease; set while running.
    pub locked_by: Option<String>,
    /// The error of the latest failed attempt.
    #[sea_orm(column_type = "Text", nullable)]
    pub last_error: Option<String>,
    /// Creation time, ms since the epoch.
    pub created_at_ms: i64,
    /// Last change, ms since the epoch.
    pub updated_at_ms: i64,
}

/// The table has no relations.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
