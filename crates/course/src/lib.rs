//! Courses and recorded materials: trainers author courses (modules, lessons, materials) and
//! upload recordings resumably; jobs probe and transcode them; learners get short-lived signed
//! URLs (HLS for video, byte ranges for documents) and offline download manifests.
//!
//! Every rule is a method of [`Courses`] that takes the [`kernel::Actor`] asking.

pub mod access;
pub mod catalogue;
pub mod delivery;
pub mod entity;
pub mod error;
pub mod graphql;
pub mod lifecycle;
pub mod media_graphql;
pub mod media_type;
pub mod offline;
pub mod processing;
pub mod readiness;
pub mod structure;
pub mod uploads;

use std::sync::Arc;

use chrono::Duration;
use jobs::{JobHandler, JobQueue};
use kernel::{Secret, SharedClock};
use sea_orm::DatabaseConnection;
use storage::ObjectStore;

pub use error::CourseError;
pub use graphql::{CourseMutation, CourseQuery};

/// How uploads, processing and delivery behave.
#[derive(Debug, Clone)]
pub struct CourseSettings {
    /// Largest upload accepted, checked before any byte is sent (default 2 GiB).
    pub max_upload_bytes: u64,
    /// Size of each part of a resumable upload (the last may be smaller); raised to S3's 5 MiB
    /// minimum, and further when a file would need more than 10,000 parts.
    pub part_size: u64,
    /// How long an upload session stays open before a job aborts it.
    pub upload_ttl: Duration,
    /// Lifetime of signed media URLs handed to players (default 15 minutes).
    pub url_ttl: Duration,
    /// Lifetime of the URLs of an offline package (default 4 hours): a phone downloads a whole
    /// course on Wi-Fi, which can take longer than a player's URL lives.
    pub offline_url_ttl: Duration,
    /// Whether videos are transcoded into an HLS ladder (needs ffmpeg and ffprobe).
    pub video_processing: bool,
    /// The ffmpeg binary.
    pub ffmpeg: String,
    /// The ffprobe binary.
    pub ffprobe: String,
    /// Where clients reach the gateway (`https://lms.example.go.id`): signed playlist URLs are
    /// `<public_url>/media/hls/...`.
    pub public_url: String,
    /// The HMAC key of signed playlist URLs. Changing it voids every playlist URL handed out.
    pub playlist_key: Secret,
}

impl Default for CourseSettings {
    fn default() -> Self {
        CourseSettings {
            max_upload_bytes: 2 << 30,
            part_size: 8 << 20,
            upload_ttl: Duration::hours(24),
            url_ttl: Duration::minutes(15),
            offline_url_ttl: Duration::hours(4),
            video_processing: true,
            ffmpeg: "ffmpeg".into(),
            ffprobe: "ffprobe".into(),
            public_url: "http://127.0.0.1:8080".into(),
            // A random key per process: URLs die with a restart, but none can be forged. The
            // gateway passes a key derived from the server's master secret instead.
            playlist_key: Secret::new(format!(
                "{}{}",
                uuid::Uuid::new_v4().simple(),
                uuid::Uuid::new_v4().simple()
            )),
        }
    }
}

/// The course service: cheap to clone, registered once in the GraphQL schema data.
#[derive(Clone, Debug)]
pub struct Courses {
    /// The database.
    pub db: DatabaseConnection,
    /// The clock.
    pub clock: SharedClock,
    /// Where materials live.
    pub store: ObjectStore,
    /// Where processing and clean-up jobs go.
    pub jobs: JobQueue,
    /// Upload, processing and delivery settings.
    pub settings: Arc<CourseSettings>,
    /// Who besides editors may take content: set by the gateway to the enrollment crate.
    learners: Option<Arc<dyn access::LearnerAccess>>,
    /// What other crates say about their lesson kinds before a course reaches learners: set by
    /// the gateway to the quiz crate.
    readiness: Option<Arc<dyn readiness::LessonReadiness>>,
}

impl Courses {
    /// A service over `db` and `store`.
    pub fn new(
        db: DatabaseConnection,
        clock: SharedClock,
        store: ObjectStore,
        jobs: JobQueue,
        settings: CourseSettings,
    ) -> Self {
        Courses {
            db,
            clock,
            store,
            jobs,
            settings: Arc::new(settings),
            learners: None,
            readiness: None,
        }
    }

    /// The service with `learners` deciding which learners may take content. Set it once, before
    /// the service is cloned into the schema and the workers.
    #[must_use]
    pub fn with_learner_access(mut self, learners: Arc<dyn access::LearnerAccess>) -> Self {
        self.learners = Some(learners);
        self
    }

    /// The service with `readiness` judging the lessons of kinds other crates own (quizzes)
    /// before a course reaches learners. Set it once, like [`Courses::with_learner_access`].
    #[must_use]
    pub fn with_lesson_readiness(mut self, readiness: Arc<dyn readiness::LessonReadiness>) -> Self {
        self.readiness = Some(readiness);
        self
    }

    /// Checks that `actor` may take `course`'s content: editors, and enrolled learners.
    ///
    /// # Errors
    /// FORBIDDEN otherwise; INTERNAL on database failure.
    pub async fn require_content_access(
        &self,
        actor: &kernel::Actor,
        course: &entity::course::Model,
    ) -> Result<(), CourseError> {
        access::require_content_access(&self.db, actor, course, self.learners.as_deref()).await
    }

    /// Checks that `actor`, who may take `course`'s content, may open `lesson` now.
    ///
    /// # Errors
    /// NOT_FOUND for a learner and a lesson not published yet; CONFLICT with reason LOCKED
    /// while a pre-test must come first; INTERNAL on database failure.
    pub async fn require_lesson_open(
        &self,
        actor: &kernel::Actor,
        course: &entity::course::Model,
        lesson: &entity::lesson::Model,
    ) -> Result<(), CourseError> {
        access::require_lesson_open(&self.db, actor, course, lesson, self.learners.as_deref()).await
    }

    /// The lessons of `course` locked for `actor` (none for editors and people without a hook).
    ///
    /// # Errors
    /// INTERNAL on database failure.
    pub async fn locked_lessons(
        &self,
        actor: &kernel::Actor,
        course: &entity::course::Model,
    ) -> Result<std::collections::HashSet<uuid::Uuid>, CourseError> {
        let (Some(learners), Some(person)) = (self.learners.as_deref(), actor.person_id) else {
            return Ok(Default::default());
        };
        if access::require_editor(&self.db, actor, course)
            .await
            .is_ok()
        {
            return Ok(Default::default());
        }
        Ok(learners
            .locked_lessons(person, course.id)
            .await?
            .map(|(locked, _)| locked)
            .unwrap_or_default())
    }

    /// The background job handlers of this crate (processing, clean-up), for the worker.
    pub fn job_handlers(&self) -> Vec<Arc<dyn JobHandler>> {
        processing::handlers(self)
    }

    /// HTTP routes this crate serves itself (signed HLS playlists), nested by the gateway under
    /// `/media/hls`.
    pub fn media_router(&self) -> axum::Router {
        delivery::router(self.clone())
    }

    /// Whether video processing can run, for `/readyz` and the start-up log.
    pub async fn video_processing_status(&self) -> processing::VideoProcessingStatus {
        processing::video_processing_status(&self.settings).await
    }
}
