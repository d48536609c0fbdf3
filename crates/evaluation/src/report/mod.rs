//! Reports of Kirkpatrick level 2 (learning) and of the quality of a quiz's questions.
//!
//! - [`stats`]: the formulas (Hake's gain, classical test theory), pure and unit-tested against
//!   hand-worked examples.
//! - [`learning`]: a course's pre-test/post-test pairs: means, class gain `<g>`, the
//!   distribution of individual gains, the post-test pass rate. Counted in the database.
//! - [`items`]: item analysis of one quiz per question version, and its reliability.
//! - [`graphql`]: `learningReport` and `itemAnalysis`.
//! - [`completion`]: enrolled, started, completed, median days to complete, overdue, withdrawn
//!   and expired, in total and by the learner's unit (medians by window functions in SQL).
//! - [`reaction`]: the reaction survey per dimension and per trainer (5-response rule), with
//!   the response rate, over the survey results' own aggregation.
//! - [`follow_up`]: follow-up requests and response rates of learners and supervisors, and
//!   their answers per question.
//! - [`course_graphql`]: `completionReport`, `reactionReport`, `followUpReport`.
//! - [`trends`]: per course and per trainer across cohorts over time (reaction mean and `<g>`),
//!   falling points marked.
//! - [`matrix`]: the unit × course completion matrix, rows by unit subtree.
//! - [`compliance`]: JP compliance (20 JP a year) by unit subtree, over the progress ledger.
//! - [`overview_graphql`]: `courseTrend`, `trainerTrend`, `completionMatrix`, `jpCompliance`.
//!
//! Who sees what: admins and the course's trainers (its editors) see everything of the course;
//! a unit admin sees the learning, completion, reaction and follow-up reports restricted to
//! people whose unit is in their subtree, and no item analysis (that is about the questions,
//! the trainers' business). Everyone else is FORBIDDEN.

pub mod completion;
pub mod compliance;
pub mod course_graphql;
pub mod follow_up;
pub mod graphql;
pub mod items;
pub mod learning;
pub mod matrix;
pub mod overview_graphql;
pub mod reaction;
pub mod stats;
pub mod trends;

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
