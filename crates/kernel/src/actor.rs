//! Who is asking: the person behind a request (or the system, for the CLI and jobs), their roles
//! and their unit. Authorization happens in domain functions from this value.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// A role a person holds. Roles add up: an admin is usually also a learner.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, async_graphql::Enum)]
#[serde(rename_all = "snake_case")]
#[graphql(rename_items = "SCREAMING_SNAKE_CASE")]
pub enum Role {
    /// Takes courses.
    Learner,
    /// Authors courses and sees their results.
    Trainer,
    /// Training coordinator of one unit: manages people and training in that unit's subtree.
    UnitAdmin,
    /// The personnel development agency (BKPSDM): everything.
    Admin,
}

impl Role {
    /// Every role, in a stable order.
    pub const ALL: [Role; 4] = [Role::Learner, Role::Trainer, Role::UnitAdmin, Role::Admin];

    /// The stable name used in storage, CSV files and tokens.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Learner => "learner",
            Role::Trainer => "trainer",
            Role::UnitAdmin => "unit_admin",
            Role::Admin => "admin",
        }
    }

    fn bit(self) -> u8 {
        match self {
            Role::Learner => 1,
            Role::Trainer => 2,
            Role::UnitAdmin => 4,
            Role::Admin => 8,
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The error for a role name that is not one of [`Role::ALL`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown role `{0}` (expected learner, trainer, unit_admin or admin)")]
pub struct UnknownRole(pub String);

impl FromStr for Role {
    type Err = UnknownRole;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim().to_ascii_lowercase().replace(['-', ' '], "_");
        Role::ALL
            .into_iter()
            .find(|r| r.as_str() == s)
            .ok_or(UnknownRole(s))
    }
}

/// A set of roles, stored as a comma-separated list of names (`learner,trainer`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Roles(u8);

impl Roles {
    /// No role at all.
    pub const fn empty() -> Self {
        Roles(0)
    }

    /// Whether the set holds `role`.
    pub fn contains(self, role: Role) -> bool {
        self.0 & role.bit() != 0
    }

    /// The set with `role` added.
    pub fn with(self, role: Role) -> Self {
        Roles(self.0 | role.bit())
    }

    /// Whether the set is empty.
    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// The roles in the set, in [`Role::ALL`] order.
    pub fn iter(self) -> impl Iterator<Item = Role> {
        Role::ALL.into_iter().filter(move |r| self.contains(*r))
    }

    /// Parses a list separated by commas, semicolons or `|`; blanks are skipped.
    ///
    /// # Errors
    /// [`UnknownRole`] for any name that is not a role.
    pub fn parse_list(s: &str) -> Result<Self, UnknownRole> {
        s.split([',', ';', '|'])
            .map(str::trim)
            .filter(|p| !p.is_empty())
            .try_fold(Roles::empty(), |acc, p| Ok(acc.with(p.parse()?)))
    }
}

impl FromIterator<Role> for Roles {
    fn from_iter<I: IntoIterator<Item = Role>>(iter: I) -> Self {
        iter.into_iter().fold(Roles::empty(), Roles::with)
    }
}

impl fmt::Display for Roles {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names: Vec<&str> = self.iter().map(Role::as_str).collect();
        f.write_str(&names.join(","))
    }
}

/// Who is asking. Built by the gateway from a verified access token, or [`Actor::system`] for
/// the command line and background jobs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actor {
    /// The person; `None` for the system itself.
    pub person_id: Option<Uuid>,
    /// The roles the person held when their token was issued.
    pub roles: Roles,
    /// The person's unit: the root of a unit admin's scope.
    pub unit_id: Option<Uuid>,
}

impl Actor {
    /// The platform itself (CLI commands, jobs): acts with admin rights.
    pub fn system() -> Self {
        Actor {
            person_id: None,
            roles: Roles::empty().with(Role::Admin),
            unit_id: None,
        }
    }

    /// Whether the actor holds `role`.
    pub fn has(&self, role: Role) -> bool {
        self.roles.contains(role)
    }

    /// Whether the actor is an admin (or the system).
    pub fn is_admin(&self) -> bool {
        self.has(Role::Admin)
    }

    /// Whether this actor is the person `id`.
    pub fn is_person(&self, id: Uuid) -> bool {
        self.person_id == Some(id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_round_trip_through_their_text_form() {
        let roles = Roles::parse_list(" Trainer, learner;UNIT-ADMIN ").unwrap_or_default();
        assert_eq!(roles.to_string(), "learner,trainer,unit_admin");
        assert_eq!(Roles::parse_list(&roles.to_string()), Ok(roles));
        assert!(!roles.contains(Role::Admin));
    }

    #[test]
    fn an_unknown_role_is_refused() {
        assert_eq!(
            Roles::parse_list("learner,boss"),
            Err(UnknownRole("boss".into()))
        );
    }

    #[test]
    fn the_system_actor_is_an_admin_without_a_person() {
        let a = Actor::system();
        assert!(a.is_admin());
        assert_eq!(a.person_id, None);
    }
}
