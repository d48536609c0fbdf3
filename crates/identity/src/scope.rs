//! Who may manage whom: admins everyone, unit admins the people and units in their own unit's
//! subtree, everyone else only themselves.

use kernel::{Actor, Role};
use sea_orm::{ConnectionTrait, EntityTrait};
use uuid::Uuid;

use crate::entity::unit;
use crate::error::IdentityError;

/// The subtree an actor manages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scope {
    /// Everything (admins and the system).
    All,
    /// Units whose path starts with this path, and the people in them.
    Subtree(String),
    /// Nothing beyond one's own record.
    None,
}

impl Scope {
    /// Whether a unit with `path` is inside the scope.
    pub fn covers_path(&self, path: &str) -> bool {
        match self {
            Scope::All => true,
            Scope::Subtree(root) => path.starts_with(root.as_str()),
            Scope::None => false,
        }
    }
}

/// The management scope of `actor`.
///
/// # Errors
/// INTERNAL on database failure.
pub async fn of(conn: &impl ConnectionTrait, actor: &Actor) -> Result<Scope, IdentityError> {
    if actor.is_admin() {
        return Ok(Scope::All);
    }
    if !actor.has(Role::UnitAdmin) {
        return Ok(Scope::None);
    }
    let Some(unit_id) = actor.unit_id else {
        return Ok(Scope::None);
    };
    Ok(match unit::Entity::find_by_id(unit_id).one(conn).await? {
        Some(u) => Scope::Subtree(u.path),
        None => Scope::None,
    })
}

/// Checks that `actor` manages a person in unit `unit_id` (`None`: a person without a unit,
/// whom only admins manage).
///
/// # Errors
/// FORBIDDEN outside the scope.
pub async fn require_unit(
    conn: &impl ConnectionTrait,
    actor: &Actor,
    unit_id: Option<Uuid>,
) -> Result<(), IdentityError> {
    let scope = of(conn, actor).await?;
    if scope == Scope::All {
        return Ok(());
    }
    let Some(unit_id) = unit_id else {
        return Err(IdentityError::Forbidden);
    };
    let path = unit::Entity::find_by_id(unit_id)
        .one(conn)
        .await?
        .map(|u| u.path)
        .ok_or(IdentityError::Forbidden)?;
    if scope.covers_path(&path) {
        Ok(())
    } else {
        Err(IdentityError::Forbidden)
    }
}

/// Checks that `actor` is an admin.
///
/// # Errors
/// FORBIDDEN otherwise.
pub fn require_admin(actor: &Actor) -> Result<(), IdentityError> {
    if actor.is_admin() {
        Ok(())
    } else {
        Err(IdentityError::Forbidden)
    }
}
