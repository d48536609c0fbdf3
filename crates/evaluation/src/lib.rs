//! Evaluation: reaction and follow-up surveys (Kirkpatrick levels 1, 3 and 4), their aggregates
//! for trainers and admins, supervisors (atasan), and certificates with a public verification
//! code and a PDF.
//!
//! Every rule is a method of [`Evaluation`] that takes the [`kernel::Actor`] asking.
//! - [`survey`]: templates (versioned, Indonesian defaults), a course's choice of surveys,
//!   forms and responses, aggregates, follow-up requests and reminders.
//! - [`certificate`]: issuing (idempotent, one per enrollment), verification codes, the PDF and
//!   its signed download route.
//! - [`sweep`]: the periodic job that issues certificates, asks follow-ups and sends reminders.
//! - [`report`]: a course's completion, reaction, learning (Hake's gain), follow-up and item
//!   analysis reports; trends across cohorts and trainers; the unit × course completion matrix
//!   and JP compliance. Each is aggregated in the database in a fixed number of statements.
//! - [`export`]: CSV, XLSX and a printable HTML page of a course's reports, streamed behind a
//!   signed link (`reportExportUrl`).

pub mod certificate;
pub mod entity;
pub mod error;
pub mod export;
pub mod report;
pub mod survey;
pub mod sweep;

use std::sync::Arc;

use chrono::Duration;
use jobs::{JobHandler, JobQueue};
use kernel::{Secret, SharedClock};
use sea_orm::DatabaseConnection;

pub use certificate::graphql::{CertificateMutation, CertificateQuery};
pub use error::EvaluationError;
pub use export::graphql::ExportMutation;
pub use report::course_graphql::CourseReportQuery;
pub use report::graphql::ReportQuery;
pub use report::overview_graphql::OverviewReportQuery;
pub use survey::graphql::{SurveyMutation, SurveyQuery};

/// How surveys, follow-ups and certificates behave.
#[derive(Debug, Clone)]
pub struct EvaluationSettings {
    /// Where clients reach the gateway: certificate URLs are `<public_url>/certificates/...` and
    /// the verification link is `<public_url>/verify/<code>`.
    pub public_url: String,
    /// The HMAC key of signed certificate download URLs.
    pub url_key: Secret,
    /// Lifetime of a signed certificate download URL (default 15 minutes).
    pub url_ttl: Duration,
    /// Responses needed before per-trainer results and free comments are shown (default 5).
    pub min_responses: i64,
    /// Time between two runs of the sweep job (default 1 hour).
    pub sweep_interval: Duration,
    /// Time between a follow-up request (or a reminder) and the next reminder (default 7 days).
    pub reminder_interval: Duration,
    /// Reminders sent before an unanswered follow-up request is closed (default 3).
    pub max_reminders: i32,
    /// How late after its due date a follow-up is still asked (default 30 days), so turning
    /// follow-ups on does not ask about trainings finished years ago.
    pub follow_up_window: Duration,
    /// The issuer printed on certificates.
    pub issuer: String,
}

impl Default for EvaluationSettings {
    fn default() -> Self {
        EvaluationSettings {
            public_url: "http://127.0.0.1:8080".into(),
            // A random key per process: URLs die with a restart, but none can be forged. The
            // gateway passes a key derived from the server's master secret instead.
            url_key: Secret::new(format!(
                "{}{}",
                uuid::Uuid::new_v4().simple(),
                uuid::Uuid::new_v4().simple()
            )),
            url_ttl: Duration::minutes(15),
            min_responses: 5,
            sweep_interval: Duration::hours(1),
            reminder_interval: Duration::days(7),
            max_reminders: 3,
            follow_up_window: Duration::days(30),
            issuer: "BKPSDM Kota Tangerang Selatan".into(),
        }
    }
}

/// The evaluation service: cheap to clone, registered once in the GraphQL schema data.
#[derive(Clone, Debug)]
pub struct Evaluation {
    /// The database.
    pub db: DatabaseConnection,
    /// The clock.
    pub clock: SharedClock,
    /// Where the sweep job goes.
    pub jobs: JobQueue,
    /// Settings.
    pub settings: Arc<EvaluationSettings>,
}

impl Evaluation {
    /// A service over `db`.
    pub fn new(
        db: DatabaseConnection,
        clock: SharedClock,
        jobs: JobQueue,
        settings: EvaluationSettings,
    ) -> Self {
        Evaluation {
            db,
            clock,
            jobs,
            settings: Arc::new(settings),
        }
    }

    /// The background job handlers of this crate (the sweep), for the worker.
    pub fn job_handlers(&self) -> Vec<Arc<dyn JobHandler>> {
        vec![Arc::new(sweep::SweepHandler(self.clone()))]
    }

    /// HTTP routes this crate serves itself: `/certificates/<code>.pdf` (signed), the public
    /// `/verify/<code>` page and `/reports/<course>/export.<ext>` (signed report exports). The
    /// gateway merges them into its router.
    pub fn router(&self) -> axum::Router {
        certificate::http::router(self.clone()).merge(export::http::router(self.clone()))
    }

    fn base_url(&self) -> &str {
        self.settings.public_url.trim_end_matches('/')
    }
}
