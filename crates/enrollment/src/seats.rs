//! Seats and the waitlist. Every decision about a seat happens in a transaction that first
//! locks the cohort row (an UPDATE of its `updated_at`: a row lock on PostgreSQL, the write lock
//! on SQLite), so two requests can never both take the last seat.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect,
};
use uuid::Uuid;

use crate::entity::{cohort, enrollment};
use crate::error::EnrollmentError;
use crate::state;

/// Locks cohort `id` for the rest of the transaction and returns it.
///
/// # Errors
/// NOT_FOUND for an unknown cohort.
pub async fn lock_cohort(
    conn: &impl ConnectionTrait,
    id: Uuid,
    now: DateTime<Utc>,
) -> Result<cohort::Model, EnrollmentError> {
    let res = cohort::Entity::update_many()
        .col_expr(cohort::Column::UpdatedAt, Expr::value(now))
        .filter(cohort::Column::Id.eq(id))
        .exec(conn)
        .await?;
    if res.rows_affected == 0 {
        return Err(EnrollmentError::NotFound("cohort"));
    }
    crate::cohorts::find_cohort(conn, id).await
}

/// Seats taken in a cohort: active and completed enrollments (a completed learner keeps their
/// seat; the cohort's size is how many it trained).
///
/// # Errors
/// INTERNAL on database failure.
pub async fn taken(conn: &impl ConnectionTrait, cohort_id: Uuid) -> Result<u64, EnrollmentError> {
    Ok(enrollment::Entity::find()
        .filter(enrollment::Column::CohortId.eq(cohort_id))
        .filter(enrollment::Column::State.is_in([state::ACTIVE, state::COMPLETED]))
        .count(conn)
        .await?)
}

/// Seats taken in each of `cohort_ids`, in one query; cohorts without any are absent.
///
/// # Errors
/// INTERNAL on database failure.
pub async fn taken_in(
    conn: &impl ConnectionTrait,
    cohort_ids: &[Uuid],
) -> Result<HashMap<Uuid, u64>, EnrollmentError> {
    let rows: Vec<(Uuid, i64)> = enrollment::Entity::find()
        .select_only()
        .column(enrollment::Column::CohortId)
        .column_as(enrollment::Column::Id.count(), "taken")
        .filter(enrollment::Column::CohortId.is_in(cohort_ids.iter().copied()))
        .filter(enrollment::Column::State.is_in([state::ACTIVE, state::COMPLETED]))
        .group_by(enrollment::Column::CohortId)
        .into_tuple()
        .all(conn)
        .await?;
    Ok(rows
        .into_iter()
        .map(|(c, n)| (c, u64::try_from(n).unwrap_or(0)))
        .collect())
}

/// Whether a locked cohort has a free seat.
///
/// # Errors
/// INTERNAL on database failure.
pub async fn has_free_seat(
    conn: &impl ConnectionTrait,
    c: &cohort::Model,
) -> Result<bool, EnrollmentError> {
    Ok(match c.capacity {
        None => true,
        Some(cap) => taken(conn, c.id).await? < u64::try_from(cap).unwrap_or(0),
    })
}

/// Fills the free seats of a locked cohort from its waitlist, first come (requested_at, id)
/// first served. Returns the promoted enrollments' ids.
///
/// # Errors
/// INTERNAL on database failure.
pub async fn promote(
    conn: &impl ConnectionTrait,
    c: &cohort::Model,
    now: DateTime<Utc>,
) -> Result<Vec<Uuid>, EnrollmentError> {
    let mut q = enrollment::Entity::find()
        .select_only()
        .column(enrollment::Column::Id)
        .filter(enrollment::Column::CohortId.eq(c.id))
        .filter(enrollment::Column::State.eq(state::WAITLISTED))
        .order_by_asc(enrollment::Column::RequestedAt)
        .order_by_asc(enrollment::Column::Id);
    if let Some(cap) = c.capacity {
        let free = u64::try_from(cap)
            .unwrap_or(0)
            .saturating_sub(taken(conn, c.id).await?);
        if free == 0 {
            return Ok(Vec::new());
        }
        q = q.limit(free);
    }
    let ids: Vec<Uuid> = q.into_tuple().all(conn).await?;
    if ids.is_empty() {
        return Ok(ids);
    }
    enrollment::Entity::update_many()
        .col_expr(enrollment::Column::State, Expr::value(state::ACTIVE))
        .col_expr(enrollment::Column::ActivatedAt, Expr::value(now))
        .col_expr(enrollment::Column::UpdatedAt, Expr::value(now))
        .filter(enrollment::Column::Id.is_in(ids.clone()))
        .exec(conn)
        .await?;
    Ok(ids)
}
