//! Processing of uploaded materials, as a background job: probe the file (duration, picture
//! size, PDF page count, image size) and, for video, transcode it with ffmpeg into an HLS ladder
//! for poor connections, a poster and a progressive MP4 fallback. Outputs go to object storage;
//! what was made is recorded on the material as JSON ([`MediaOutputs`]).
//!
//! States: `uploaded` → `processing` → `ready`, or `failed` with a reason the trainer sees.
//! Bad media (ffprobe cannot read it, no sound nor picture, ffmpeg refuses it) fails at once;
//! anything else (storage, database, a missing ffmpeg) fails the attempt, so the job retries
//! with backoff, and the last attempt marks the material failed. An admin may queue a failed
//! material again ([`Courses::reprocess_material`]).
//!
//! ffmpeg and ffprobe run with [`tokio::process::Command`], arguments as a list (never through a
//! shell), in a temporary folder removed when the job ends however it ends, and killed when the
//! job is dropped or times out.

use std::ffi::OsString;
use std::path::Path;
use std::process::Output;
use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use futures::StreamExt;
use jobs::{HandlerError, JobHandler, JobQueue};
use kernel::Actor;
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter};
use serde::{Deserialize, Serialize};
use serde_json::json;
use sha2::{Digest, Sha256};
use storage::{ByteRange, StorageError};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use uuid::Uuid;

use crate::entity::{course, lesson, material};
use crate::error::CourseError;
use crate::media_type::{self, MaterialKind, MediaType, PdfPageCounter};
use crate::uploads::EXPIRE_UPLOAD_JOB;
use crate::{CourseSettings, Courses, access, delivery, lifecycle};

/// The job kind that processes a material.
pub const PROCESS_MATERIAL_JOB: &str = "course.process_material";
/// Attempts of a processing job before the material is marked failed.
const PROCESS_ATTEMPTS: u32 = 5;
/// Target length of an HLS segment, in seconds; keyframes are forced at this interval, so
/// every segment but the last has exactly this length.
pub const SEGMENT_SECONDS: u32 = 4;
/// How much of an image is read for its dimensions.
const IMAGE_HEAD: u64 = 1 << 20;
/// Frame rates above this are capped to it: a lecture needs no more, and the low rungs cannot
/// afford it.
const MAX_FPS: f64 = 30.0;

/// Where a material is in its processing, as stored in `materials.state`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, async_graphql::Enum)]
pub enum MaterialState {
    /// Uploaded and checked; waiting for processing.
    Uploaded,
    /// Being probed and transcoded.
    Processing,
    /// Ready for learners.
    Ready,
    /// Processing failed; `failureReason` says why.
    Failed,
}

impl MaterialState {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            MaterialState::Uploaded => "uploaded",
            MaterialState::Processing => "processing",
            MaterialState::Ready => "ready",
            MaterialState::Failed => "failed",
        }
    }

    /// Parses a stored name (the column's check constraint allows only these four).
    pub fn from_stored(s: &str) -> Self {
        match s {
            "processing" => MaterialState::Processing,
            "ready" => MaterialState::Ready,
            "failed" => MaterialState::Failed,
            _ => MaterialState::Uploaded,
        }
    }
}

/// One rung of the video ladder. Bitrates are chosen so that picture plus sound come to the
/// rung's nominal rate (about 200 kb/s, 500 kb/s, 1.5 Mb/s).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rung {
    /// The rendition's name, also a folder name: `240p`, `360p`, `720p`.
    pub name: &'static str,
    /// The shorter side of the picture (the height of a landscape video).
    pub short_side: u32,
    /// Video bitrate, kb/s.
    pub video_kbps: u32,
    /// Audio bitrate, kb/s.
    pub audio_kbps: u32,
    /// Most audio channels (mono saves bits at the lowest rung; lectures are speech).
    pub audio_channels: u32,
    /// The H.264 level given to x264, and its byte in the RFC 6381 codec string.
    pub level: (&'static str, &'static str),
}

/// The video ladder, smallest first.
pub const LADDER: [Rung; 3] = [
    Rung {
        name: "240p",
        short_side: 240,
        video_kbps: 152,
        audio_kbps: 48,
        audio_channels: 1,
        level: ("3.0", "1e"),
    },
    Rung {
        name: "360p",
        short_side: 360,
        video_kbps: 436,
        audio_kbps: 64,
        audio_channels: 2,
        level: ("3.0", "1e"),
    },
    Rung {
        name: "720p",
        short_side: 720,
        video_kbps: 1404,
        audio_kbps: 96,
        audio_channels: 2,
        level: ("3.1", "1f"),
    },
];

/// The audio-only rendition's name.
pub const AUDIO_RENDITION: &str = "audio";
/// Its bitrate, kb/s.
const AUDIO_KBPS: u32 = 64;
/// The shorter side of the progressive MP4 fallback (the highest rung not above it).
const PROGRESSIVE_SHORT_SIDE: u32 = 360;
/// Every rendition name, smallest first: what `offlinePackage` accepts.
pub const RENDITION_NAMES: [&str; 4] = [AUDIO_RENDITION, "240p", "360p", "720p"];
/// The RFC 6381 codec string of AAC-LC.
const AAC_CODEC: &str = "mp4a.40.2";

/// A file processing wrote to storage.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StoredFile {
    /// Its object key.
    pub key: String,
    /// Its size in bytes.
    pub size: u64,
    /// Its SHA-256, hex.
    pub sha256: String,
    /// Its MIME type.
    pub content_type: String,
    /// Picture width, for pictures and videos.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub width: Option<u32>,
    /// Picture height, for pictures and videos.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub height: Option<u32>,
}

/// One segment of an HLS rendition, beside its playlist.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Segment {
    /// Its file name (`seg-00000.ts`).
    pub name: String,
    /// Its length in milliseconds.
    pub duration_ms: u64,
    /// Its size in bytes.
    pub size: u64,
    /// Its SHA-256, hex.
    pub sha256: String,
}

/// One HLS rendition: a rung of the ladder or the audio-only one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HlsRendition {
    /// `240p`, `360p`, `720p` or `audio`.
    pub name: String,
    /// Whether it has sound only.
    pub audio_only: bool,
    /// Picture width.
    pub width: Option<u32>,
    /// Picture height.
    pub height: Option<u32>,
    /// Peak bits per second of any segment (HLS `BANDWIDTH`).
    pub bandwidth: u64,
    /// Mean bits per second over the whole rendition (HLS `AVERAGE-BANDWIDTH`).
    pub average_bandwidth: u64,
    /// RFC 6381 codecs (`avc1.4d401e,mp4a.40.2`).
    pub codecs: String,
    /// The playlist stored beside the segments, naming them relatively (what an offline
    /// package downloads; players get playlists with signed URLs instead).
    pub playlist: StoredFile,
    /// The segments, in order.
    pub segments: Vec<Segment>,
}

impl HlsRendition {
    /// The object key of `segment`, in the playlist's folder.
    pub fn segment_key(&self, segment: &Segment) -> String {
        match self.playlist.key.rsplit_once('/') {
            Some((dir, _)) => format!("{dir}/{}", segment.name),
            None => segment.name.clone(),
        }
    }

    /// What downloading the rendition costs: playlist and segments.
    pub fn size_bytes(&self) -> u64 {
        self.playlist.size + self.segments.iter().map(|s| s.size).sum::<u64>()
    }

    /// The longest segment, whole seconds rounded up (HLS `EXT-X-TARGETDURATION`).
    pub fn target_duration(&self) -> u64 {
        self.segments
            .iter()
            .map(|s| s.duration_ms.div_ceil(1000))
            .max()
            .unwrap_or(1)
            .max(1)
    }
}

/// What processing made of a material, stored as JSON in `materials.renditions`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MediaOutputs {
    /// HLS renditions, smallest first.
    pub hls: Vec<HlsRendition>,
    /// The progressive fallback (MP4 video, or M4A for audio-only recordings).
    pub progressive: Option<StoredFile>,
    /// The poster image of a video.
    pub poster: Option<StoredFile>,
}

impl MediaOutputs {
    /// The outputs recorded on `material`, if any.
    pub fn of(material: &material::Model) -> Option<MediaOutputs> {
        let text = material.renditions.as_deref()?;
        match serde_json::from_str(text) {
            Ok(outputs) => Some(outputs),
            Err(e) => {
                tracing::error!(material.id = %material.id, error = %e, "unreadable renditions JSON");
                None
            }
        }
    }

    /// The HLS rendition called `name`.
    pub fn rendition(&self, name: &str) -> Option<&HlsRendition> {
        self.hls.iter().find(|r| r.name == name)
    }
}

/// Whether video processing can run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VideoProcessingStatus {
    /// ffmpeg and ffprobe run.
    Ok,
    /// Turned off in the settings: videos are served as uploaded.
    Disabled,
    /// Turned on, but a tool is missing or broken; the text says which (`ffmpeg not found`).
    Unavailable(String),
}

impl VideoProcessingStatus {
    /// `ok`, `disabled`, or what is wrong: the readiness report's words.
    pub fn describe(&self) -> &str {
        match self {
            VideoProcessingStatus::Ok => "ok",
            VideoProcessingStatus::Disabled => "disabled",
            VideoProcessingStatus::Unavailable(why) => why,
        }
    }

    /// Whether the server is ready as far as video goes (disabled counts as ready).
    pub fn is_ready(&self) -> bool {
        !matches!(self, VideoProcessingStatus::Unavailable(_))
    }
}

/// Checks that ffmpeg and ffprobe run (`-version`), when video processing is on.
pub async fn video_processing_status(settings: &CourseSettings) -> VideoProcessingStatus {
    if !settings.video_processing {
        return VideoProcessingStatus::Disabled;
    }
    for (name, program) in [("ffmpeg", &settings.ffmpeg), ("ffprobe", &settings.ffprobe)] {
        let args = [OsString::from("-version")];
        match run_tool(program, &args, None, Duration::from_secs(10)).await {
            Ok(_) => {}
            Err(ToolError::NotFound) => {
                return VideoProcessingStatus::Unavailable(format!("{name} not found"));
            }
            Err(e) => {
                return VideoProcessingStatus::Unavailable(format!("{name} does not run: {e}"));
            }
        }
    }
    VideoProcessingStatus::Ok
}

/// The job handlers of this crate: processing and upload expiry.
pub fn handlers(courses: &Courses) -> Vec<Arc<dyn JobHandler>> {
    vec![
        Arc::new(ProcessMaterial(courses.clone())),
        Arc::new(ExpireUpload(courses.clone())),
    ]
}

fn process_payload(material_id: Uuid) -> serde_json::Value {
    json!({ "materialId": material_id })
}

/// Queues the processing of a material on `conn` (the caller's transaction).
///
/// # Errors
/// INTERNAL when the insert fails.
pub async fn enqueue_processing(
    jobs: &JobQueue,
    conn: &impl ConnectionTrait,
    material_id: Uuid,
) -> Result<(), CourseError> {
    jobs.enqueue_in(
        conn,
        PROCESS_MATERIAL_JOB,
        process_payload(material_id),
        None,
        PROCESS_ATTEMPTS,
    )
    .await?;
    Ok(())
}

fn id_from(payload: &serde_json::Value, field: &str) -> Result<Uuid, HandlerError> {
    payload
        .get(field)
        .and_then(|v| v.as_str())
        .and_then(|s| Uuid::parse_str(s).ok())
        .ok_or_else(|| format!("the job payload has no valid `{field}`").into())
}

struct ProcessMaterial(Courses);

#[async_trait]
impl JobHandler for ProcessMaterial {
    fn kind(&self) -> &'static str {
        PROCESS_MATERIAL_JOB
    }

    async fn run(&self, payload: serde_json::Value) -> Result<(), HandlerError> {
        let id = id_from(&payload, "materialId")?;
        self.0.process_material(id).await.map_err(Into::into)
    }
}

struct ExpireUpload(Courses);

#[async_trait]
impl JobHandler for ExpireUpload {
    fn kind(&self) -> &'static str {
        EXPIRE_UPLOAD_JOB
    }

    async fn run(&self, payload: serde_json::Value) -> Result<(), HandlerError> {
        let id = id_from(&payload, "uploadId")?;
        self.0.expire_upload(id).await.map_err(Into::into)
    }
}

/// Why processing stopped.
#[derive(Debug)]
enum ProcessError {
    /// The file itself is at fault: the material fails with this reason, no retry.
    BadMedia(String),
    /// Something else failed (storage, database, a missing tool): the attempt fails and the
    /// job retries. The text is for the log and the job's `last_error`.
    Transient(String),
}

impl From<CourseError> for ProcessError {
    fn from(e: CourseError) -> Self {
        ProcessError::Transient(e.to_string())
    }
}

impl From<StorageError> for ProcessError {
    fn from(e: StorageError) -> Self {
        match e {
            StorageError::NotFound { .. } => ProcessError::BadMedia(
                "the uploaded file is no longer in storage; upload it again".into(),
            ),
            other => ProcessError::Transient(other.to_string()),
        }
    }
}

impl From<sea_orm::DbErr> for ProcessError {
    fn from(e: sea_orm::DbErr) -> Self {
        ProcessError::Transient(e.to_string())
    }
}

fn transient_io(what: &'static str) -> impl FnOnce(std::io::Error) -> ProcessError {
    move |e| ProcessError::Transient(format!("{what}: {e}"))
}

/// What probing and transcoding found and made.
#[derive(Debug, Default)]
struct Processed {
    kind: Option<MaterialKind>,
    duration_ms: Option<i64>,
    width: Option<u32>,
    height: Option<u32>,
    page_count: Option<u64>,
    outputs: Option<MediaOutputs>,
}

/// The error a processing attempt returns to the job queue.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct ProcessingFailed(String);

fn to_i32(n: Option<u32>) -> Option<i32> {
    n.and_then(|v| i32::try_from(v).ok())
}

fn elapsed_ms(started: Instant) -> u64 {
    u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX)
}

impl Courses {
    /// Processes one material (the job's body). Idempotent: a material already ready or
    /// failed is left alone, and outputs go to fixed keys, so a repeated run overwrites them.
    ///
    /// # Errors
    /// [`ProcessingFailed`] for a failure worth retrying.
    pub async fn process_material(&self, id: Uuid) -> Result<(), ProcessingFailed> {
        let started = Instant::now();
        let now = self.clock.now();
        let claimed = material::Entity::update_many()
            .col_expr(material::Column::State, Expr::value("processing"))
            .col_expr(material::Column::UpdatedAt, Expr::value(now))
            .filter(material::Column::Id.eq(id))
            .filter(material::Column::State.is_in(["uploaded", "processing"]))
            .exec(&self.db)
            .await
            .map_err(|e| ProcessingFailed(e.to_string()))?;
        if claimed.rows_affected == 0 {
            tracing::info!(material.id = %id, "nothing to process: the material is gone, ready or failed");
            return Ok(());
        }
        let material = material::Entity::find_by_id(id)
            .one(&self.db)
            .await
            .map_err(|e| ProcessingFailed(e.to_string()))?
            .ok_or_else(|| ProcessingFailed("the material disappeared".into()))?;
        tracing::info!(material.id = %id, material.kind = %material.kind, "processing a material");
        let result = match MaterialKind::from_stored(&material.kind) {
            Some(MaterialKind::Document) => self.process_document(&material).await,
            Some(MaterialKind::Image) => self.process_image(&material).await,
            Some(MaterialKind::Video | MaterialKind::Audio) => self.process_av(&material).await,
            None => Err(ProcessError::BadMedia(format!(
                "unknown material kind `{}`",
                material.kind
            ))),
        };
        let outcome = match result {
            Ok(processed) => self.mark_ready(&material, processed).await.map(|()| {
                tracing::info!(
                    material.id = %id,
                    duration_ms = elapsed_ms(started),
                    "material ready"
                );
            }),
            Err(ProcessError::BadMedia(reason)) => {
                tracing::warn!(
                    material.id = %id,
                    duration_ms = elapsed_ms(started),
                    %reason,
                    "material failed: bad media"
                );
                self.mark_failed(id, &reason).await
            }
            Err(ProcessError::Transient(detail)) => {
                if self.on_last_attempt(id).await {
                    tracing::error!(material.id = %id, error = %detail, "material failed: no attempt left");
                    self.mark_failed(
                        id,
                        "processing failed repeatedly for a reason on our side; an admin can \
                         run it again",
                    )
                    .await
                    .map_err(|e| ProcessingFailed(e.to_string()))?;
                } else {
                    tracing::warn!(
                        material.id = %id,
                        duration_ms = elapsed_ms(started),
                        error = %detail,
                        "processing attempt failed; it will be retried"
                    );
                }
                return Err(ProcessingFailed(detail));
            }
        };
        outcome.map_err(|e| ProcessingFailed(e.to_string()))
    }

    /// Whether the running processing job of `id` is on its last attempt (read from the job
    /// table, since a handler is not told its attempt).
    async fn on_last_attempt(&self, id: Uuid) -> bool {
        let payload = process_payload(id).to_string();
        match jobs::entity::Entity::find()
            .filter(jobs::entity::Column::Kind.eq(PROCESS_MATERIAL_JOB))
            .filter(jobs::entity::Column::Payload.eq(payload))
            .filter(jobs::entity::Column::State.eq(jobs::entity::Status::Running))
            .all(&self.db)
            .await
        {
            Ok(rows) => rows.iter().any(|j| j.attempts >= j.max_attempts),
            Err(e) => {
                tracing::warn!(material.id = %id, error = %e, "could not read the processing job");
                false
            }
        }
    }

    async fn mark_ready(
        &self,
        material: &material::Model,
        p: Processed,
    ) -> Result<(), CourseError> {
        let renditions = p
            .outputs
            .as_ref()
            .map(serde_json::to_string)
            .transpose()
            .map_err(|e| CourseError::Internal(e.to_string()))?;
        let poster = p
            .outputs
            .as_ref()
            .and_then(|o| o.poster.as_ref())
            .map(|f| f.key.clone());
        let kind = p
            .kind
            .map_or_else(|| material.kind.clone(), |k| k.as_str().to_owned());
        let txn = kernel::db::begin_write(&self.db).await?;
        let marked = material::Entity::update_many()
            .col_expr(material::Column::State, Expr::value("ready"))
            .col_expr(
                material::Column::FailureReason,
                Expr::value(Option::<String>::None),
            )
            .col_expr(material::Column::Kind, Expr::value(kind))
            .col_expr(material::Column::DurationMs, Expr::value(p.duration_ms))
            .col_expr(material::Column::Width, Expr::value(to_i32(p.width)))
            .col_expr(material::Column::Height, Expr::value(to_i32(p.height)))
            .col_expr(
                material::Column::PageCount,
                Expr::value(p.page_count.and_then(|n| i32::try_from(n).ok())),
            )
            .col_expr(material::Column::Renditions, Expr::value(renditions))
            .col_expr(material::Column::PosterKey, Expr::value(poster))
            .col_expr(material::Column::UpdatedAt, Expr::value(self.clock.now()))
            .filter(material::Column::Id.eq(material.id))
            .filter(material::Column::State.eq("processing"))
            .exec(&txn)
            .await?;
        if marked.rows_affected == 1 {
            self.queue_plan_change_of_lesson(&txn, material).await?;
        }
        txn.commit().await?;
        Ok(())
    }

    /// A material that becomes ready on a published lesson replaces what the lesson's learners
    /// are measured against (the length of a recording, the pages of a document): the course's
    /// enrollments are brought up to date as after an edit of its plan, in the same transaction.
    async fn queue_plan_change_of_lesson(
        &self,
        txn: &sea_orm::DatabaseTransaction,
        material: &material::Model,
    ) -> Result<(), CourseError> {
        let Some(lesson_id) = material.lesson_id else {
            return Ok(());
        };
        let published = lesson::Entity::find_by_id(lesson_id)
            .one(txn)
            .await?
            .is_some_and(|l| l.published_at.is_some());
        if !published {
            return Ok(());
        }
        match course::Entity::find_by_id(material.course_id)
            .one(txn)
            .await?
        {
            Some(c) => crate::structure::queue_plan_change(&self.jobs, txn, &c).await,
            None => Ok(()),
        }
    }

    async fn mark_failed(&self, id: Uuid, reason: &str) -> Result<(), CourseError> {
        material::Entity::update_many()
            .col_expr(material::Column::State, Expr::value("failed"))
            .col_expr(
                material::Column::FailureReason,
                Expr::value(Some(reason.to_owned())),
            )
            .col_expr(material::Column::UpdatedAt, Expr::value(self.clock.now()))
            .filter(material::Column::Id.eq(id))
            .filter(material::Column::State.eq("processing"))
            .exec(&self.db)
            .await?;
        Ok(())
    }

    /// A PDF: its page count, read as it streams from storage.
    async fn process_document(&self, m: &material::Model) -> Result<Processed, ProcessError> {
        let object = self.store.get(&m.object_key, None).await?;
        let mut counter = PdfPageCounter::new();
        let mut body = object.body;
        while let Some(chunk) = body.next().await {
            counter.feed(&chunk.map_err(transient_io("read the document"))?);
        }
        let page_count = counter.finish();
        if page_count.is_none() {
            tracing::info!(material.id = %m.id, "the PDF's page count could not be read; left unknown");
        }
        Ok(Processed {
            page_count,
            ..Processed::default()
        })
    }

    /// An image: its dimensions from its header.
    async fn process_image(&self, m: &material::Model) -> Result<Processed, ProcessError> {
        let range = ByteRange::Bounded {
            first: 0,
            last: IMAGE_HEAD - 1,
        };
        let head = self
            .store
            .get(&m.object_key, Some(range))
            .await?
            .bytes()
            .await?;
        let (width, height) = media_type::image_dimensions(&head).ok_or_else(|| {
            ProcessError::BadMedia(
                "the image's dimensions could not be read; it may be damaged".into(),
            )
        })?;
        Ok(Processed {
            width: Some(width),
            height: Some(height),
            ..Processed::default()
        })
    }

    /// A video or audio recording: probe, transcode, store the outputs.
    async fn process_av(&self, m: &material::Model) -> Result<Processed, ProcessError> {
        if !self.settings.video_processing {
            // Served as uploaded: the original is the progressive fallback.
            return Ok(Processed::default());
        }
        let work = tempfile::Builder::new()
            .prefix("lms-media-")
            .tempdir()
            .map_err(transient_io("create a temporary folder"))?;
        let extension =
            MediaType::from_declared(&m.content_type).map_or("bin", MediaType::extension);
        let input = work.path().join(format!("original.{extension}"));
        self.download(&m.object_key, &input).await?;

        let probe = self.probe(m.id, &input).await?;
        if probe.video.is_none() && probe.audio_channels.is_none() {
            return Err(ProcessError::BadMedia(
                "the file has neither sound nor picture".into(),
            ));
        }
        let plan = plan_outputs(&probe);
        let out = work.path().join("out");
        tokio::fs::create_dir_all(&out)
            .await
            .map_err(transient_io("create the output folder"))?;
        for name in plan.hls_names() {
            tokio::fs::create_dir_all(out.join(name))
                .await
                .map_err(transient_io("create the output folder"))?;
        }
        let timeout = transcode_timeout(probe.duration_ms);
        let started = Instant::now();
        let args = transcode_args(&input, &out, &plan);
        self.ffmpeg(m.id, &args, work.path(), timeout, "transcode")
            .await?;
        tracing::info!(
            material.id = %m.id,
            duration_ms = elapsed_ms(started),
            renditions = plan.hls_names().len(),
            "transcoded"
        );
        let poster = match &plan.poster {
            Some(size) => {
                let at_ms = probe.duration_ms.map_or(0, |d| (d / 3).min(1000));
                let args = poster_args(&input, &out.join("poster.jpg"), *size, at_ms);
                match self
                    .ffmpeg(m.id, &args, work.path(), timeout, "poster")
                    .await
                {
                    Ok(()) => Some(*size),
                    Err(ProcessError::BadMedia(reason)) => {
                        // A video without a poster still plays.
                        tracing::warn!(material.id = %m.id, %reason, "no poster made");
                        None
                    }
                    Err(e) => return Err(e),
                }
            }
            None => None,
        };
        let outputs = self.store_outputs(m, &out, &plan, poster).await?;
        let kind = if probe.video.is_some() {
            MaterialKind::Video
        } else {
            MaterialKind::Audio
        };
        Ok(Processed {
            kind: Some(kind),
            duration_ms: probe.duration_ms,
            width: probe.video.map(|v| v.width),
            height: probe.video.map(|v| v.height),
            page_count: None,
            outputs: Some(outputs),
        })
        // `work` is dropped here, or earlier on any error: the folder goes with it.
    }

    async fn download(&self, key: &str, to: &Path) -> Result<(), ProcessError> {
        let object = self.store.get(key, None).await?;
        let mut file = tokio::fs::File::create(to)
            .await
            .map_err(transient_io("create a temporary file"))?;
        let mut body = object.body;
        while let Some(chunk) = body.next().await {
            let chunk = chunk.map_err(transient_io("download the original"))?;
            file.write_all(&chunk)
                .await
                .map_err(transient_io("write a temporary file"))?;
        }
        file.flush()
            .await
            .map_err(transient_io("write a temporary file"))?;
        Ok(())
    }

    async fn probe(&self, id: Uuid, input: &Path) -> Result<Probe, ProcessError> {
        let args: Vec<OsString> = [
            "-v",
            "error",
            "-print_format",
            "json",
            "-show_format",
            "-show_streams",
        ]
        .into_iter()
        .map(OsString::from)
        .chain([input.as_os_str().to_owned()])
        .collect();
        let output = match run_tool(
            &self.settings.ffprobe,
            &args,
            None,
            Duration::from_secs(120),
        )
        .await
        {
            Ok(output) => output,
            Err(ToolError::Failed { stderr, .. }) => {
                tracing::warn!(material.id = %id, stderr = %stderr, "ffprobe refused the file");
                return Err(ProcessError::BadMedia(
                    "the file could not be read as audio or video; it may be damaged or not a \
                     recording"
                        .into(),
                ));
            }
            Err(e) => return Err(ProcessError::Transient(format!("ffprobe: {e}"))),
        };
        parse_probe(&String::from_utf8_lossy(&output.stdout)).ok_or_else(|| {
            ProcessError::BadMedia("the file could not be read as audio or video".into())
        })
    }

    async fn ffmpeg(
        &self,
        id: Uuid,
        args: &[OsString],
        cwd: &Path,
        timeout: Duration,
        step: &'static str,
    ) -> Result<(), ProcessError> {
        match run_tool(&self.settings.ffmpeg, args, Some(cwd), timeout).await {
            Ok(_) => Ok(()),
            Err(ToolError::Failed { status, stderr }) => {
                tracing::warn!(material.id = %id, step, %status, stderr = %stderr, "ffmpeg failed");
                Err(ProcessError::BadMedia(
                    "the recording could not be converted for playback; it may be damaged".into(),
                ))
            }
            Err(e) => Err(ProcessError::Transient(format!("ffmpeg ({step}): {e}"))),
        }
    }

    /// Uploads the transcoded files and describes them.
    async fn store_outputs(
        &self,
        m: &material::Model,
        out: &Path,
        plan: &Plan,
        poster: Option<(u32, u32)>,
    ) -> Result<MediaOutputs, ProcessError> {
        let base = format!("courses/{}/materials/{}", m.course_id, m.id);
        let mut outputs = MediaOutputs::default();
        for planned in &plan.hls {
            let dir = out.join(&planned.name);
            let listed = tokio::fs::read_to_string(dir.join("index.m3u8"))
                .await
                .map_err(transient_io("read a playlist ffmpeg wrote"))?;
            let entries = parse_media_playlist(&listed);
            if entries.is_empty() {
                return Err(ProcessError::BadMedia(
                    "the recording produced no playable segments".into(),
                ));
            }
            let mut segments = Vec::with_capacity(entries.len());
            for (name, duration_ms) in entries {
                let key = format!("{base}/hls/{}/{name}", planned.name);
                let (size, sha256) = self
                    .put_output(&key, &dir.join(&name), "video/mp2t")
                    .await?;
                segments.push(Segment {
                    name,
                    duration_ms,
                    size,
                    sha256,
                });
            }
            let mut rendition = HlsRendition {
                name: planned.name.clone(),
                audio_only: planned.size.is_none(),
                width: planned.size.map(|s| s.0),
                height: planned.size.map(|s| s.1),
                bandwidth: 0,
                average_bandwidth: 0,
                codecs: planned.codecs.clone(),
                playlist: StoredFile {
                    key: format!("{base}/hls/{}/index.m3u8", planned.name),
                    size: 0,
                    sha256: String::new(),
                    content_type: delivery::PLAYLIST_CONTENT_TYPE.into(),
                    width: None,
                    height: None,
                },
                segments,
            };
            (rendition.bandwidth, rendition.average_bandwidth) = bandwidths(&rendition.segments);
            let names: Vec<String> = rendition.segments.iter().map(|s| s.name.clone()).collect();
            let text = delivery::media_playlist(&rendition, names);
            rendition.playlist.size = text.len() as u64;
            rendition.playlist.sha256 = hex::encode(Sha256::digest(text.as_bytes()));
            self.store
                .put(
                    &rendition.playlist.key,
                    bytes::Bytes::from(text),
                    delivery::PLAYLIST_CONTENT_TYPE,
                )
                .await?;
            outputs.hls.push(rendition);
        }
        if let Some(progressive) = &plan.progressive {
            let key = format!("{base}/{}", progressive.file_name);
            let (size, sha256) = self
                .put_output(
                    &key,
                    &out.join(progressive.file_name),
                    progressive.content_type,
                )
                .await?;
            outputs.progressive = Some(StoredFile {
                key,
                size,
                sha256,
                content_type: progressive.content_type.into(),
                width: progressive.size.map(|s| s.0),
                height: progressive.size.map(|s| s.1),
            });
        }
        if let Some((width, height)) = poster {
            let key = format!("{base}/poster.jpg");
            let (size, sha256) = self
                .put_output(&key, &out.join("poster.jpg"), "image/jpeg")
                .await?;
            outputs.poster = Some(StoredFile {
                key,
                size,
                sha256,
                content_type: "image/jpeg".into(),
                width: Some(width),
                height: Some(height),
            });
        }
        Ok(outputs)
    }

    /// Hashes a file and stores it; returns its size and SHA-256.
    async fn put_output(
        &self,
        key: &str,
        path: &Path,
        content_type: &str,
    ) -> Result<(u64, String), ProcessError> {
        let (size, sha256) = hash_file(path).await?;
        self.store.put_file(key, path, content_type).await?;
        Ok((size, sha256))
    }

    /// A material, for an editor of its course (state, failure reason, what processing found).
    ///
    /// # Errors
    /// NOT_FOUND; FORBIDDEN for non-editors.
    pub async fn material(&self, actor: &Actor, id: Uuid) -> Result<material::Model, CourseError> {
        let m = material::Entity::find_by_id(id)
            .one(&self.db)
            .await?
            .ok_or(CourseError::NotFound("material"))?;
        let course = access::find_course(&self.db, m.course_id).await?;
        access::require_editor(&self.db, actor, &course).await?;
        Ok(m)
    }

    /// The current material of a lesson, for an editor of its course; `None` without one.
    ///
    /// # Errors
    /// NOT_FOUND; FORBIDDEN for non-editors.
    pub async fn lesson_material(
        &self,
        actor: &Actor,
        lesson_id: Uuid,
    ) -> Result<Option<material::Model>, CourseError> {
        let lesson = lesson::Entity::find_by_id(lesson_id)
            .one(&self.db)
            .await?
            .ok_or(CourseError::NotFound("lesson"))?;
        let course = access::find_course(&self.db, lesson.course_id).await?;
        access::require_editor(&self.db, actor, &course).await?;
        match lesson.material_id {
            Some(id) => Ok(material::Entity::find_by_id(id).one(&self.db).await?),
            None => Ok(None),
        }
    }

    /// Queues a failed material for processing again (an admin's action, once the cause is
    /// fixed), and audits it.
    ///
    /// # Errors
    /// FORBIDDEN for non-admins; NOT_FOUND; CONFLICT unless the material failed.
    pub async fn reprocess_material(
        &self,
        actor: &Actor,
        id: Uuid,
    ) -> Result<material::Model, CourseError> {
        if !actor.is_admin() {
            return Err(CourseError::Forbidden);
        }
        let now = self.clock.now();
        let tx = kernel::db::begin_write(&self.db).await?;
        let queued = material::Entity::update_many()
            .col_expr(material::Column::State, Expr::value("uploaded"))
            .col_expr(
                material::Column::FailureReason,
                Expr::value(Option::<String>::None),
            )
            .col_expr(material::Column::UpdatedAt, Expr::value(now))
            .filter(material::Column::Id.eq(id))
            .filter(material::Column::State.eq("failed"))
            .exec(&tx)
            .await?;
        let current = material::Entity::find_by_id(id)
            .one(&tx)
            .await?
            .ok_or(CourseError::NotFound("material"))?;
        if queued.rows_affected != 1 {
            return Err(CourseError::Conflict(format!(
                "the material is {}; only a failed material can be processed again",
                current.state
            )));
        }
        enqueue_processing(&self.jobs, &tx, id).await?;
        lifecycle::audit(
            &tx,
            actor,
            now,
            "material.reprocess",
            "material",
            id,
            json!({}),
        )
        .await?;
        tx.commit().await?;
        tracing::info!(material.id = %id, actor.person_id = ?actor.person_id, "material queued for processing again");
        Ok(current)
    }
}

/// Reads a file once: its size and SHA-256.
async fn hash_file(path: &Path) -> Result<(u64, String), ProcessError> {
    let mut file = tokio::fs::File::open(path)
        .await
        .map_err(transient_io("open an output file"))?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 256 * 1024];
    let mut size = 0u64;
    loop {
        let n = file
            .read(&mut buf)
            .await
            .map_err(transient_io("read an output file"))?;
        if n == 0 {
            break;
        }
        size += n as u64;
        hasher.update(&buf[..n]);
    }
    Ok((size, hex::encode(hasher.finalize())))
}

/// Peak and mean bits per second over the segments.
fn bandwidths(segments: &[Segment]) -> (u64, u64) {
    let rate = |bytes: u64, ms: u64| (bytes * 8 * 1000).div_ceil(ms.max(1));
    let peak = segments
        .iter()
        .filter(|s| s.duration_ms > 0)
        .map(|s| rate(s.size, s.duration_ms))
        .max()
        .unwrap_or(0);
    let total: u64 = segments.iter().map(|s| s.size).sum();
    let total_ms: u64 = segments.iter().map(|s| s.duration_ms).sum();
    (peak, rate(total, total_ms))
}

/// What ffprobe found.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Probe {
    duration_ms: Option<i64>,
    video: Option<VideoInfo>,
    /// Channels of the first audio stream; `None` without sound.
    audio_channels: Option<u32>,
}

/// The first real video stream (not cover art), as displayed (rotation applied).
#[derive(Debug, Clone, Copy, PartialEq)]
struct VideoInfo {
    width: u32,
    height: u32,
    fps: Option<f64>,
}

fn parse_probe(json_text: &str) -> Option<Probe> {
    let v: serde_json::Value = serde_json::from_str(json_text).ok()?;
    let streams = v.get("streams")?.as_array()?;
    let number = |x: Option<&serde_json::Value>| -> Option<f64> {
        match x? {
            serde_json::Value::String(s) => s.parse().ok(),
            serde_json::Value::Number(n) => n.as_f64(),
            _ => None,
        }
    };
    let video = streams
        .iter()
        .filter(|s| s.get("codec_type").and_then(|t| t.as_str()) == Some("video"))
        // MP3 and M4A carry album art as a one-picture "video" stream.
        .find(|s| {
            s.get("disposition")
                .and_then(|d| d.get("attached_pic"))
                .and_then(serde_json::Value::as_i64)
                != Some(1)
        })
        .and_then(|s| {
            let w = u32::try_from(s.get("width")?.as_u64()?).ok()?;
            let h = u32::try_from(s.get("height")?.as_u64()?).ok()?;
            if w == 0 || h == 0 {
                return None;
            }
            let rotation = number(s.get("tags").and_then(|t| t.get("rotate"))).or_else(|| {
                s.get("side_data_list")?
                    .as_array()?
                    .iter()
                    .find_map(|d| number(d.get("rotation")))
            });
            let quarter_turn = rotation.is_some_and(|r| (r.abs() % 180.0 - 90.0).abs() < 1.0);
            let (width, height) = if quarter_turn { (h, w) } else { (w, h) };
            let fps = s
                .get("avg_frame_rate")
                .and_then(|r| r.as_str())
                .and_then(parse_rate)
                .or_else(|| {
                    s.get("r_frame_rate")
                        .and_then(|r| r.as_str())
                        .and_then(parse_rate)
                });
            Some(VideoInfo { width, height, fps })
        });
    let audio_channels = streams
        .iter()
        .find(|s| s.get("codec_type").and_then(|t| t.as_str()) == Some("audio"))
        .map(|s| {
            s.get("channels")
                .and_then(serde_json::Value::as_u64)
                .and_then(|c| u32::try_from(c).ok())
                .unwrap_or(2)
        });
    let duration = number(v.get("format").and_then(|f| f.get("duration"))).or_else(|| {
        streams
            .iter()
            .filter_map(|s| number(s.get("duration")))
            .reduce(f64::max)
    });
    Some(Probe {
        duration_ms: duration
            .filter(|d| d.is_finite() && *d >= 0.0)
            .map(|d| (d * 1000.0).round() as i64),
        video,
        audio_channels,
    })
}

/// `30000/1001` → 29.97.
fn parse_rate(s: &str) -> Option<f64> {
    let (n, d) = s.split_once('/')?;
    let (n, d): (f64, f64) = (n.parse().ok()?, d.parse().ok()?);
    (d > 0.0 && n > 0.0).then(|| n / d)
}

/// A planned HLS rendition.
#[derive(Debug, Clone, PartialEq)]
struct PlannedHls {
    name: String,
    /// Picture size; `None` for audio-only.
    size: Option<(u32, u32)>,
    rung: Option<Rung>,
    codecs: String,
}

/// The planned progressive fallback.
#[derive(Debug, Clone, PartialEq)]
struct PlannedProgressive {
    file_name: &'static str,
    content_type: &'static str,
    size: Option<(u32, u32)>,
    rung: Option<Rung>,
}

/// What one ffmpeg run makes of a recording.
#[derive(Debug, Clone, PartialEq)]
struct Plan {
    hls: Vec<PlannedHls>,
    progressive: Option<PlannedProgressive>,
    poster: Option<(u32, u32)>,
    audio_channels: Option<u32>,
    cap_fps: bool,
}

impl Plan {
    fn hls_names(&self) -> Vec<&str> {
        self.hls.iter().map(|h| h.name.as_str()).collect()
    }
}

/// The even number nearest to `n` (x264 needs even sides), at least 2.
fn even(n: f64) -> u32 {
    ((n / 2.0).round().max(1.0) as u32) * 2
}

/// The picture size of a rung for a source of `width`×`height`: the shorter side becomes the
/// rung's (never larger than the source's), the longer keeps the aspect ratio; both even, as
/// x264 needs.
fn rung_size(rung: &Rung, width: u32, height: u32) -> (u32, u32) {
    let short_src = width.min(height);
    let short = even(f64::from(rung.short_side.min(short_src)));
    let long = even(f64::from(width.max(height)) * f64::from(short) / f64::from(short_src));
    if width >= height {
        (long, short)
    } else {
        (short, long)
    }
}

/// The renditions for a probed recording: every rung whose short side is within the source's
/// (the lowest always, without upscaling), audio-only when there is sound, a progressive
/// fallback at 360p (or the highest rung below), and a poster the size of the top rung.
fn plan_outputs(probe: &Probe) -> Plan {
    let audio = probe.audio_channels.is_some();
    let mut hls = Vec::new();
    let mut progressive = None;
    let mut poster = None;
    if let Some(v) = probe.video {
        let short_src = v.width.min(v.height);
        let rungs: Vec<Rung> = LADDER
            .iter()
            .enumerate()
            .filter(|(i, r)| *i == 0 || r.short_side <= short_src)
            .map(|(_, r)| *r)
            .collect();
        for rung in &rungs {
            let size = rung_size(rung, v.width, v.height);
            let video_codec = format!("avc1.4d40{}", rung.level.1);
            hls.push(PlannedHls {
                name: rung.name.into(),
                size: Some(size),
                rung: Some(*rung),
                codecs: if audio {
                    format!("{video_codec},{AAC_CODEC}")
                } else {
                    video_codec
                },
            });
        }
        let fallback = rungs
            .iter()
            .rev()
            .find(|r| r.short_side <= PROGRESSIVE_SHORT_SIDE)
            .or(rungs.first())
            .copied();
        progressive = fallback.map(|rung| PlannedProgressive {
            file_name: "progressive.mp4",
            content_type: "video/mp4",
            size: Some(rung_size(&rung, v.width, v.height)),
            rung: Some(rung),
        });
        poster = hls.last().and_then(|h| h.size);
    }
    if audio {
        hls.insert(
            0,
            PlannedHls {
                name: AUDIO_RENDITION.into(),
                size: None,
                rung: None,
                codecs: AAC_CODEC.into(),
            },
        );
        if progressive.is_none() {
            progressive = Some(PlannedProgressive {
                file_name: "progressive.m4a",
                content_type: "audio/mp4",
                size: None,
                rung: None,
            });
        }
    }
    Plan {
        hls,
        progressive,
        poster,
        audio_channels: probe.audio_channels,
        cap_fps: probe
            .video
            .and_then(|v| v.fps)
            .is_some_and(|f| f > MAX_FPS + 0.5),
    }
}

/// How long ffmpeg may take: generous (slow machines, long lectures), but finite, so a stuck
/// run ends and is retried.
fn transcode_timeout(duration_ms: Option<i64>) -> Duration {
    let media = Duration::from_millis(u64::try_from(duration_ms.unwrap_or(0)).unwrap_or(0));
    Duration::from_secs(30 * 60) + media * 4
}

fn os(args: &[&str]) -> Vec<OsString> {
    args.iter().map(OsString::from).collect()
}

fn x264_args(rung: &Rung) -> Vec<OsString> {
    let gop = format!("expr:gte(t,n_forced*{SEGMENT_SECONDS})");
    let mut v = os(&[
        "-c:v",
        "libx264",
        "-preset",
        "veryfast",
        "-profile:v",
        "main",
        "-level:v",
        rung.level.0,
        "-pix_fmt",
        "yuv420p",
        "-sc_threshold",
        "0",
        "-force_key_frames",
        &gop,
    ]);
    v.extend(os(&[
        "-b:v",
        &format!("{}k", rung.video_kbps),
        "-maxrate",
        &format!("{}k", rung.video_kbps * 11 / 10),
        "-bufsize",
        &format!("{}k", rung.video_kbps * 2),
    ]));
    v
}

fn aac_args(kbps: u32, max_channels: u32, source_channels: u32) -> Vec<OsString> {
    os(&[
        "-c:a",
        "aac",
        "-b:a",
        &format!("{kbps}k"),
        "-ac",
        &source_channels.clamp(1, max_channels).to_string(),
    ])
}

fn hls_args(dir: &Path) -> Vec<OsString> {
    let mut v = os(&[
        "-f",
        "hls",
        "-hls_time",
        &SEGMENT_SECONDS.to_string(),
        "-hls_playlist_type",
        "vod",
        "-hls_list_size",
        "0",
        "-hls_segment_type",
        "mpegts",
        "-hls_flags",
        "independent_segments",
        "-hls_segment_filename",
    ]);
    v.push(dir.join("seg-%05d.ts").into_os_string());
    v.push(dir.join("index.m3u8").into_os_string());
    v
}

/// One ffmpeg run that decodes the source once and writes every rendition: a `split` filter
/// feeds one scaler per rung, each output has its own encoder.
fn transcode_args(input: &Path, out: &Path, plan: &Plan) -> Vec<OsString> {
    let mut args = os(&["-hide_banner", "-nostdin", "-y", "-loglevel", "error", "-i"]);
    args.push(input.as_os_str().to_owned());
    let video_outputs: Vec<(u32, u32)> = plan
        .hls
        .iter()
        .filter_map(|h| h.size)
        .chain(plan.progressive.iter().filter_map(|p| p.size))
        .collect();
    if !video_outputs.is_empty() {
        let fps = if plan.cap_fps { "fps=30," } else { "" };
        let labels: String = (0..video_outputs.len())
            .map(|i| format!("[s{i}]"))
            .collect();
        let mut graph = format!("[0:v:0]{fps}split={}{labels}", video_outputs.len());
        for (i, (w, h)) in video_outputs.iter().enumerate() {
            graph.push_str(&format!(";[s{i}]scale={w}:{h},setsar=1[v{i}]"));
        }
        args.extend(os(&["-filter_complex", &graph]));
    }
    let channels = plan.audio_channels.unwrap_or(0);
    let mut video_index = 0;
    for h in &plan.hls {
        match h.rung {
            Some(rung) => {
                args.extend(os(&["-map", &format!("[v{video_index}]")]));
                video_index += 1;
                args.extend(x264_args(&rung));
                if plan.audio_channels.is_some() {
                    args.extend(os(&["-map", "0:a:0"]));
                    args.extend(aac_args(rung.audio_kbps, rung.audio_channels, channels));
                }
            }
            None => {
                args.extend(os(&["-map", "0:a:0", "-vn"]));
                args.extend(aac_args(AUDIO_KBPS, 2, channels));
            }
        }
        args.extend(hls_args(&out.join(&h.name)));
    }
    if let Some(p) = &plan.progressive {
        match p.rung {
            Some(rung) => {
                args.extend(os(&["-map", &format!("[v{video_index}]")]));
                args.extend(x264_args(&rung));
                if plan.audio_channels.is_some() {
                    args.extend(os(&["-map", "0:a:0"]));
                    args.extend(aac_args(rung.audio_kbps, rung.audio_channels, channels));
                }
            }
            None => {
                args.extend(os(&["-map", "0:a:0", "-vn"]));
                args.extend(aac_args(AUDIO_KBPS, 2, channels));
            }
        }
        // The index goes to the front, so a phone starts playing before the whole file is in.
        args.extend(os(&["-movflags", "+faststart"]));
        args.push(out.join(p.file_name).into_os_string());
    }
    args
}

fn poster_args(input: &Path, to: &Path, size: (u32, u32), at_ms: i64) -> Vec<OsString> {
    let at = format!("{}.{:03}", at_ms / 1000, at_ms % 1000);
    let mut args = os(&[
        "-hide_banner",
        "-nostdin",
        "-y",
        "-loglevel",
        "error",
        "-ss",
        &at,
        "-i",
    ]);
    args.push(input.as_os_str().to_owned());
    args.extend(os(&[
        "-frames:v",
        "1",
        "-vf",
        &format!("scale={}:{},setsar=1", size.0, size.1),
        "-q:v",
        "3",
    ]));
    args.push(to.as_os_str().to_owned());
    args
}

/// The segments of a media playlist ffmpeg wrote: file name and length in milliseconds. Only
/// plain file names are taken, so nothing outside the output folder can be named.
fn parse_media_playlist(text: &str) -> Vec<(String, u64)> {
    let mut out = Vec::new();
    let mut pending: Option<u64> = None;
    for line in text.lines().map(str::trim) {
        if let Some(rest) = line.strip_prefix("#EXTINF:") {
            let secs: f64 = rest
                .split(',')
                .next()
                .and_then(|s| s.trim().parse().ok())
                .unwrap_or(0.0);
            pending = Some((secs * 1000.0).round().max(0.0) as u64);
        } else if !line.is_empty() && !line.starts_with('#') {
            let plain = line
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
                && !line.starts_with('.');
            if let (Some(ms), true) = (pending.take(), plain) {
                out.push((line.to_owned(), ms));
            }
        }
    }
    out
}

/// Why a tool run failed.
#[derive(Debug, thiserror::Error)]
enum ToolError {
    /// The program is not installed (or not on the path given).
    #[error("not found")]
    NotFound,
    /// It could not be started for another reason.
    #[error("could not start: {0}")]
    Spawn(std::io::Error),
    /// It ran longer than allowed and was killed.
    #[error("timed out after {0:?}")]
    TimedOut(Duration),
    /// It ended with a failure status.
    #[error("exited with {status}: {stderr}")]
    Failed {
        /// The exit status.
        status: std::process::ExitStatus,
        /// The end of its error output.
        stderr: String,
    },
}

/// Runs `program` with `args` (no shell), in `cwd`, and waits at most `timeout`; the child is
/// killed if the wait ends early (timeout, or the job's future dropped).
async fn run_tool(
    program: &str,
    args: &[OsString],
    cwd: Option<&Path>,
    timeout: Duration,
) -> Result<Output, ToolError> {
    let mut command = tokio::process::Command::new(program);
    command
        .args(args)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true);
    if let Some(dir) = cwd {
        command.current_dir(dir);
    }
    let child = command.spawn().map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => ToolError::NotFound,
        _ => ToolError::Spawn(e),
    })?;
    let output = tokio::time::timeout(timeout, child.wait_with_output())
        .await
        .map_err(|_| ToolError::TimedOut(timeout))?
        .map_err(ToolError::Spawn)?;
    if output.status.success() {
        Ok(output)
    } else {
        let stderr = String::from_utf8_lossy(&output.stderr);
        let tail: String = stderr
            .lines()
            .rev()
            .take(5)
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .collect::<Vec<_>>()
            .join(" | ");
        Err(ToolError::Failed {
            status: output.status,
            stderr: tail,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn probe(width: u32, height: u32, audio: bool) -> Probe {
        Probe {
            duration_ms: Some(3000),
            video: Some(VideoInfo {
                width,
                height,
                fps: Some(25.0),
            }),
            audio_channels: audio.then_some(2),
        }
    }

    fn names(plan: &Plan) -> Vec<&str> {
        plan.hls_names()
    }

    #[test]
    fn the_ladder_skips_rungs_above_the_source() {
        assert_eq!(
            names(&plan_outputs(&probe(1280, 720, true))),
            ["audio", "240p", "360p", "720p"]
        );
        assert_eq!(
            names(&plan_outputs(&probe(640, 480, true))),
            ["audio", "240p", "360p"]
        );
        assert_eq!(names(&plan_outputs(&probe(320, 240, false))), ["240p"]);
        // Smaller than the lowest rung: that rung anyway, at the source's size.
        let tiny = plan_outputs(&probe(160, 120, true));
        assert_eq!(names(&tiny), ["audio", "240p"]);
        assert_eq!(tiny.hls[1].size, Some((160, 120)));
    }

    #[test]
    fn rung_sizes_keep_the_aspect_and_are_even_for_portrait_videos_too() {
        assert_eq!(rung_size(&LADDER[0], 1920, 1080), (426, 240));
        assert_eq!(rung_size(&LADDER[1], 1280, 720), (640, 360));
        assert_eq!(rung_size(&LADDER[2], 1280, 720), (1280, 720));
        assert_eq!(rung_size(&LADDER[0], 1080, 1920), (240, 426));
        assert_eq!(rung_size(&LADDER[0], 320, 240), (320, 240));
    }

    #[test]
    fn fallbacks_and_posters_follow_the_source() {
        let hd = plan_outputs(&probe(1280, 720, true));
        let p = hd
            .progressive
            .clone()
            .unwrap_or_else(|| panic!("no fallback"));
        assert_eq!((p.file_name, p.size), ("progressive.mp4", Some((640, 360))));
        assert_eq!(hd.poster, Some((1280, 720)));
        let small = plan_outputs(&probe(320, 240, true));
        assert_eq!(small.progressive.and_then(|p| p.size), Some((320, 240)));
        let audio = plan_outputs(&Probe {
            duration_ms: Some(1000),
            video: None,
            audio_channels: Some(1),
        });
        assert_eq!(names(&audio), ["audio"]);
        assert_eq!(audio.poster, None);
        assert_eq!(
            audio.progressive.map(|p| p.file_name),
            Some("progressive.m4a")
        );
    }

    #[test]
    fn transcode_arguments_map_every_output_and_never_name_a_shell() {
        let plan = plan_outputs(&probe(1280, 720, true));
        let out = Path::new("/tmp/out");
        let args: Vec<String> = transcode_args(Path::new("/tmp/in.mp4"), out, &plan)
            .into_iter()
            .map(|a| a.to_string_lossy().into_owned())
            .collect();
        let joined = args.join(" ");
        assert!(joined.contains("split=4[s0][s1][s2][s3]"), "{joined}");
        assert!(
            joined.contains("[s0]scale=426:240,setsar=1[v0]"),
            "{joined}"
        );
        for name in ["240p", "360p", "720p", "audio"] {
            let playlist = out.join(name).join("index.m3u8");
            assert!(
                args.contains(&playlist.to_string_lossy().into_owned()),
                "{name}"
            );
        }
        assert!(joined.contains("-movflags +faststart /tmp/out/progressive.mp4"));
        assert!(joined.contains("-b:v 152k"));
        assert!(!joined.contains("sh -c"));
        assert_eq!(args.iter().filter(|a| *a == "-hls_time").count(), 4);
    }

    #[test]
    fn ffprobe_output_is_read_with_rotation_and_cover_art() {
        let json = r#"{"streams":[
            {"codec_type":"video","width":1920,"height":1080,"avg_frame_rate":"60/1",
             "side_data_list":[{"rotation":-90}]},
            {"codec_type":"audio","channels":1}],
            "format":{"duration":"12.345000"}}"#;
        let p = parse_probe(json).unwrap_or_else(|| panic!("unparsed"));
        assert_eq!(p.duration_ms, Some(12_345));
        assert_eq!(p.video.map(|v| (v.width, v.height)), Some((1080, 1920)));
        assert_eq!(p.audio_channels, Some(1));
        assert!(plan_outputs(&p).cap_fps);

        let mp3 = r#"{"streams":[
            {"codec_type":"audio","channels":2},
            {"codec_type":"video","width":500,"height":500,"disposition":{"attached_pic":1}}],
            "format":{"duration":"3.0"}}"#;
        let p = parse_probe(mp3).unwrap_or_else(|| panic!("unparsed"));
        assert_eq!(p.video, None);
        assert_eq!(p.audio_channels, Some(2));
    }

    #[test]
    fn playlists_from_ffmpeg_yield_plain_segment_names_only() {
        let text = "#EXTM3U\n#EXT-X-TARGETDURATION:4\n#EXTINF:4.000000,\nseg-00000.ts\n\
                    #EXTINF:2.5,\nseg-00001.ts\n#EXTINF:1,\n../../etc/passwd\n#EXT-X-ENDLIST\n";
        assert_eq!(
            parse_media_playlist(text),
            vec![
                ("seg-00000.ts".to_owned(), 4000),
                ("seg-00001.ts".to_owned(), 2500)
            ]
        );
    }

    #[test]
    fn bandwidth_is_the_peak_segment_and_the_mean() {
        let seg = |ms, size| Segment {
            name: "s".into(),
            duration_ms: ms,
            size,
            sha256: String::new(),
        };
        let (peak, avg) = bandwidths(&[seg(4000, 100_000), seg(1000, 50_000)]);
        assert_eq!(peak, 400_000);
        assert_eq!(avg, 240_000);
    }

    #[tokio::test]
    async fn a_missing_tool_is_reported_plainly() {
        let settings = CourseSettings {
            ffmpeg: "/nonexistent/ffmpeg".into(),
            ..CourseSettings::default()
        };
        let status = video_processing_status(&settings).await;
        assert_eq!(status.describe(), "ffmpeg not found");
        assert!(!status.is_ready());
        let off = CourseSettings {
            video_processing: false,
            ..settings
        };
        assert_eq!(
            video_processing_status(&off).await,
            VideoProcessingStatus::Disabled
        );
    }
}
