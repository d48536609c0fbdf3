//! The jobs crate through its public API, on SQLite and, when `LMS_TEST_DATABASE_URL` names a
//! PostgreSQL server, on PostgreSQL too: every test gets its own fresh database. (The jobs of the
//! running app, as an admin sees them over HTTP, are in `crate::jobs`.)

mod graphql;
mod queue;
mod support;
mod worker;
