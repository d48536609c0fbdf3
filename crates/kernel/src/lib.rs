//! What every crate of the platform shares and nothing domain-specific: ids, the clock, the
//! [`Actor`] asking, error codes, pagination, secrets and the WIB calendar.

pub mod actor;
pub mod clock;
pub mod context;
pub mod db;
pub mod error;
pub mod pagination;
pub mod secret;
pub mod time;

pub use actor::{Actor, Role, Roles};
pub use clock::{Clock, ManualClock, SystemClock};
pub use context::{ClientInfo, SharedClock};
pub use error::{Coded, ErrorCode, GqlResultExt};
pub use secret::Secret;

/// A new primary key: UUID v7, so keys sort by creation time and index pages stay warm.
pub fn new_id() -> uuid::Uuid {
    uuid::Uuid::now_v7()
}
