//! The one integration-test binary: every module talks to a freshly started app.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod auth;
mod authz;
mod http;
mod jobs;
mod migrations;
mod people;
mod roster;
mod schema;
mod units;
