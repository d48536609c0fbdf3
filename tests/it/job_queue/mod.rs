//! The jobs crate through its public API, on SQLite and, when `LMS_TEST_DATABASE_URL` names a
//! PostgreSQL server, on PostgreSQL too: every test gets its own fresh database.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a test fails loudly at the first thing that goes wrong"
)]

mod graphql;
mod queue;
mod support;
mod worker;
