//! sea-orm entities for the tables this crate owns. Never exposed through GraphQL directly.

pub mod audit_log;
pub mod person;
pub mod refresh_token;
pub mod sign_in_throttle;
pub mod unit;
