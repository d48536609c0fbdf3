//! The audit log: every administrative change to someone else's record, written in the same
//! transaction as the change itself so neither exists without the other.

use kernel::Actor;
use sea_orm::{ActiveModelTrait, ConnectionTrait, Set};

use crate::entity::audit_log;
use crate::error::IdentityError;

/// Writes one audit entry through `conn` (a transaction, normally).
///
/// # Errors
/// INTERNAL when the insert fails.
pub async fn record(
    conn: &impl ConnectionTrait,
    actor: &Actor,
    at: chrono::DateTime<chrono::Utc>,
    action: &str,
    target_type: &str,
    target_id: impl ToString,
    detail: serde_json::Value,
) -> Result<(), IdentityError> {
    audit_log::ActiveModel {
        id: Set(kernel::new_id()),
        at: Set(at),
        actor_id: Set(actor.person_id),
        action: Set(action.to_owned()),
        target_type: Set(target_type.to_owned()),
        target_id: Set(target_id.to_string()),
        detail: Set(detail.to_string()),
    }
    .insert(conn)
    .await?;
    Ok(())
}
