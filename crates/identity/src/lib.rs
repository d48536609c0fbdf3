//! Identity: the unit tree (OPD), people and their NIP, roles, passwords, sign-in sessions,
//! roster import and the audit log of administrative changes.
//!
//! Every rule is a method of [`Identity`] that takes the [`kernel::Actor`] asking, so
//! authorization holds whichever door (GraphQL, CLI, a job) the request came through.

pub mod audit;
pub mod entity;
pub mod error;
pub mod graphql;
pub mod password;
pub mod people;
pub mod purge;
pub mod roster;
pub mod scope;
pub mod session;
pub mod token;
pub mod units;
pub mod values;

use chrono::Duration;
use kernel::SharedClock;
use sea_orm::DatabaseConnection;

pub use error::IdentityError;
pub use graphql::{IdentityMutation, IdentityQuery};
pub use password::PasswordCost;
pub use token::{Claims, TokenKey};

/// How sessions and passwords behave.
#[derive(Debug, Clone)]
pub struct IdentitySettings {
    /// Lifetime of an access token.
    pub access_ttl: Duration,
    /// Lifetime of a refresh token (each rotation starts a new one).
    pub refresh_ttl: Duration,
    /// argon2id cost.
    pub password_cost: PasswordCost,
    /// Failed sign-ins per login before it is locked.
    pub max_failures_per_login: i32,
    /// Failed sign-ins per client address before it is locked.
    pub max_failures_per_address: i32,
    /// The window in which failures are counted.
    pub failure_window: Duration,
    /// The first lock; each further failure doubles it, up to `max_lock`.
    pub first_lock: Duration,
    /// The longest lock.
    pub max_lock: Duration,
}

impl Default for IdentitySettings {
    fn default() -> Self {
        IdentitySettings {
            access_ttl: Duration::minutes(15),
            refresh_ttl: Duration::days(30),
            password_cost: PasswordCost::default(),
            max_failures_per_login: 5,
            max_failures_per_address: 50,
            failure_window: Duration::minutes(15),
            first_lock: Duration::seconds(30),
            max_lock: Duration::minutes(15),
        }
    }
}

/// Told after people were created or changed (unit, position, grade, roles, disabled), so
/// crates above identity can react (for example, rule-based course assignment) without
/// identity depending on them. Called after the change committed; errors are the observer's to
/// log, never the caller's.
#[async_trait::async_trait]
pub trait PeopleObserver: Send + Sync + 'static {
    /// `ids` were created or changed.
    async fn people_changed(&self, ids: &[uuid::Uuid]);
}

/// The identity service: cheap to clone, registered once in the GraphQL schema data.
#[derive(Clone)]
pub struct Identity {
    /// The database.
    pub db: DatabaseConnection,
    /// The clock.
    pub clock: SharedClock,
    /// The access-token signing key.
    pub tokens: TokenKey,
    /// Session and password settings.
    pub settings: IdentitySettings,
    observers: std::sync::Arc<std::sync::RwLock<Vec<std::sync::Arc<dyn PeopleObserver>>>>,
}

impl std::fmt::Debug for Identity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Identity")
            .field("settings", &self.settings)
            .finish_non_exhaustive()
    }
}

impl Identity {
    /// A service over `db`.
    pub fn new(
        db: DatabaseConnection,
        clock: SharedClock,
        tokens: TokenKey,
        settings: IdentitySettings,
    ) -> Self {
        Identity {
            db,
            clock,
            tokens,
            settings,
            observers: Default::default(),
        }
    }

    /// Adds an observer of changes to people (shared by every clone of this service).
    pub fn observe_people(&self, observer: std::sync::Arc<dyn PeopleObserver>) {
        self.observers
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .push(observer);
    }

    /// Tells every observer that `ids` changed.
    pub async fn notify_people_changed(&self, ids: &[uuid::Uuid]) {
        if ids.is_empty() {
            return;
        }
        let observers: Vec<_> = self
            .observers
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        for o in observers {
            o.people_changed(ids).await;
        }
    }
}
