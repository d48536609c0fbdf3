//! Reports of Kirkpatrick level 2 (learning) and of the quality of a quiz's questions.
//!
//! - [`stats`]: the formulas (Hake's gain, classical test theory), pure and unit-tested against
//!   hand-worked examples.
//! - [`learning`]: a course's pre-test/post-test pairs: means, class gain `<g>`, the
//!   distribution of individual gains, the post-test pass rate. Counted in the database.
//! - [`items`]: item analysis of one quiz per question version, and its reliability.
//! - [`graphql`]: `learningReport` and `itemAnalysis`.
//!
//! Who sees what: admins and the course's trainers (its editors) see everything of the course;
//! a unit admin sees the learning report restricted to people whose unit is in their subtree,
//! and no item analysis (that is about the questions, the trainers' business). Everyone else is
//! FORBIDDEN.

pub mod graphql;
pub mod items;
pub mod learning;
pub mod stats;

use sea_orm::DbBackend;

/// A placeholder for parameter `n` (from 1) in raw SQL on `backend`.
pub(crate) fn ph(backend: DbBackend, n: usize) -> String {
    match backend {
        DbBackend::Postgres => format!("${n}"),
        _ => format!("?{n}"),
    }
}

/// Most ids in one `IN (…)` list.
pub(crate) const IN_CHUNK: usize = 500;
