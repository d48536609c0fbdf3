//! sea-orm entities for the tables this crate owns. Never exposed through GraphQL directly.

pub mod jp_ledger;
pub mod lesson_progress;
pub mod progress_event;
