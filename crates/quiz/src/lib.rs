//! Quizzes: question banks (per course, or shared and lent to courses) with versioned questions,
//! quizzes as lessons of a course (pre-test, post-test, practice, graded), attempts with
//! server-side deadlines, autosave and grading, and the results evaluation reads.
//!
//! Every rule is a method of [`Quizzes`] that takes the [`kernel::Actor`] asking. Correct
//! answers live only in question versions' bodies and leave the server only through a review
//! the quiz's policy allows.

pub mod attempt;
pub mod attempt_graphql;
pub mod authoring_graphql;
pub mod bank;
pub mod entity;
pub mod error;
pub mod gate;
pub mod grading;
pub mod question;
pub mod quiz;
pub mod readiness;

use std::sync::Arc;

use chrono::Duration;
use jobs::JobQueue;
use kernel::SharedClock;
use sea_orm::DatabaseConnection;

pub use attempt_graphql::{QuizMutation, QuizQuery};
pub use authoring_graphql::{QuizAuthoringMutation, QuizAuthoringQuery};
pub use error::{QuizError, Refusal};

/// How attempts behave.
#[derive(Debug, Clone)]
pub struct QuizSettings {
    /// How long after the deadline answers are still taken (a phone's last autosave in flight)
    /// and before the closing job grades what was saved (default 30 seconds).
    pub grace: Duration,
}

impl Default for QuizSettings {
    fn default() -> Self {
        QuizSettings {
            grace: Duration::seconds(30),
        }
    }
}

/// The quiz service: cheap to clone, registered once in the GraphQL schema data.
#[derive(Clone, Debug)]
pub struct Quizzes {
    /// The database.
    pub db: DatabaseConnection,
    /// The clock.
    pub clock: SharedClock,
    /// Where attempt-closing jobs go.
    pub jobs: JobQueue,
    /// Attempt settings.
    pub settings: Arc<QuizSettings>,
}

impl Quizzes {
    /// A service over `db`.
    pub fn new(
        db: DatabaseConnection,
        clock: SharedClock,
        jobs: JobQueue,
        settings: QuizSettings,
    ) -> Self {
        Quizzes {
            db,
            clock,
            jobs,
            settings: Arc::new(settings),
        }
    }
}
