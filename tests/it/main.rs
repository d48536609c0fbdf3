//! The one integration-test binary. Most modules talk to a freshly started app; `job_queue` and
//! `storage` test those crates through their public API (each test with its own database or
//! folder), on every backend the environment provides.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod auth;
mod authz;
mod cli;
mod course_media;
mod courses;
mod enrollment;
mod evaluation;
mod evaluation_reports;
mod fixtures;
mod http;
mod job_queue;
mod jobs;
mod media;
mod migrations;
mod people;
mod progress;
mod quiz_attempts;
mod quiz_banks;
mod report_course;
mod report_export;
mod report_overview;
mod roster;
mod schema;
mod statement_counts;
mod storage;
mod units;
