//! Transcoding time against the recording's length: a 60-second 720p clip made with ffmpeg
//! (`testsrc` picture and a 440 Hz `sine`, H.264/AAC in MP4) is uploaded to a video lesson the
//! way a trainer's app uploads (an upload session, its signed part PUTs through the gateway,
//! `complete_upload`), then processed by `Courses::process_material`, the processing job's body:
//! download from the store, ffprobe, one ffmpeg run making the whole HLS ladder and the MP4
//! fallback, the poster, and storing every output.
//!
//! The crate's planning and ffmpeg argument builders are private, so the job's body is the
//! narrowest real path. The time of the ffmpeg ladder run alone comes from the `transcoded`
//! event the crate logs, caught by a subscriber attached to this one call.

use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::Context as _;
use bytes::Bytes;
use course::entity::{lesson, material};
use course::lifecycle::{CompetencyType, NewCourse};
use course::processing::{MaterialState, MediaOutputs, VideoProcessingStatus};
use course::structure::{LessonKind, NewLesson, NewModule};
use course::uploads::NewUpload;
use hyper::{Method, StatusCode};
use kernel::Actor;
use sea_orm::EntityTrait as _;
use sha2::{Digest as _, Sha256};
use tracing::field::{Field, Visit};
use tracing::instrument::WithSubscriber as _;
use tracing_subscriber::Layer;
use tracing_subscriber::filter::Targets;
use tracing_subscriber::layer::{Context, SubscriberExt as _};

use crate::app::App;

/// Length of the generated clip, seconds.
pub const CLIP_SECONDS: u32 = 60;
/// Its picture.
const CLIP_WIDTH: u32 = 1280;
const CLIP_HEIGHT: u32 = 720;
const CLIP_FPS: u32 = 30;
/// The course crate's module that logs `transcoded`.
const PROCESSING_TARGET: &str = "course::processing";

/// The generated clip.
#[derive(Debug, Clone, Copy)]
pub struct Clip {
    /// Its size in bytes.
    pub bytes: u64,
    /// Picture width.
    pub width: u32,
    /// Picture height.
    pub height: u32,
    /// Frames per second.
    pub fps: u32,
    /// How long ffmpeg took to make it.
    pub made_in: Duration,
}

/// What processing the clip took and made.
#[derive(Debug)]
pub struct TranscodeFigures {
    /// The clip.
    pub clip: Clip,
    /// Its length as probed, in milliseconds.
    pub duration_ms: Option<i64>,
    /// Wall time of `process_material`.
    pub wall: Duration,
    /// Wall time of the ffmpeg run making the ladder, when its event was seen.
    pub ladder: Option<Duration>,
    /// The outputs recorded on the material.
    pub outputs: MediaOutputs,
    /// The video lesson, as read after processing (its material is ready).
    pub lesson: lesson::Model,
}

impl TranscodeFigures {
    /// The clip's length in seconds: as probed, else as generated.
    pub fn media_seconds(&self) -> f64 {
        self.duration_ms
            .map_or(f64::from(CLIP_SECONDS), |ms| ms as f64 / 1000.0)
    }

    /// Bytes of every output: renditions (playlists and segments), fallback, poster.
    pub fn outputs_bytes(&self) -> u64 {
        let hls: u64 = self.outputs.hls.iter().map(|r| r.size_bytes()).sum();
        hls + self.outputs.progressive.as_ref().map_or(0, |p| p.size)
            + self.outputs.poster.as_ref().map_or(0, |p| p.size)
    }
}

/// Makes the clip, uploads it to a new video lesson of a new course owned by `actor` (an
/// admin or trainer), and processes it.
///
/// # Errors
/// When ffmpeg is missing or fails, a course step fails, or the material does not end ready.
pub async fn run(app: &App, actor: &Actor) -> anyhow::Result<TranscodeFigures> {
    let courses = &app.state().courses;
    let status = courses.video_processing_status().await;
    anyhow::ensure!(
        status == VideoProcessingStatus::Ok,
        "video processing cannot run: {}",
        status.describe()
    );
    let work = tempfile::tempdir().context("cannot make a folder for the clip")?;
    let (bytes, clip) = make_clip(&courses.settings.ffmpeg, work.path()).await?;
    let lesson = video_lesson(app, actor).await?;
    let material_id = upload(app, actor, lesson.id, bytes).await?;

    let ladder = LadderTime::default();
    let subscriber = tracing_subscriber::registry().with(
        ladder
            .clone()
            .with_filter(Targets::new().with_target(PROCESSING_TARGET, tracing::Level::INFO)),
    );
    let started = Instant::now();
    courses
        .process_material(material_id)
        .with_subscriber(subscriber)
        .await
        .context("process_material failed")?;
    let wall = started.elapsed();

    let db = &app.state().db;
    let material = material::Entity::find_by_id(material_id)
        .one(db)
        .await?
        .context("the material disappeared")?;
    anyhow::ensure!(
        MaterialState::from_stored(&material.state) == MaterialState::Ready,
        "the material ended {}: {}",
        material.state,
        material
            .failure_reason
            .as_deref()
            .unwrap_or("no reason given")
    );
    let outputs = MediaOutputs::of(&material).context("the ready material records no outputs")?;
    let lesson = lesson::Entity::find_by_id(lesson.id)
        .one(db)
        .await?
        .context("the lesson disappeared")?;
    Ok(TranscodeFigures {
        clip,
        duration_ms: material.duration_ms,
        wall,
        ladder: ladder.get(),
        outputs,
        lesson,
    })
}

/// Generates the clip in `dir` with `ffmpeg`; returns its bytes.
async fn make_clip(ffmpeg: &str, dir: &Path) -> anyhow::Result<(Bytes, Clip)> {
    let video = format!("testsrc=size={CLIP_WIDTH}x{CLIP_HEIGHT}:rate={CLIP_FPS}");
    let seconds = CLIP_SECONDS.to_string();
    let started = Instant::now();
    let output = tokio::process::Command::new(ffmpeg)
        .args(["-hide_banner", "-loglevel", "error", "-nostdin", "-y"])
        .args(["-f", "lavfi", "-i", &video])
        .args(["-f", "lavfi", "-i", "sine=frequency=440"])
        // Both sources are endless: the output option bounds them.
        .args(["-t", &seconds])
        // A phone's recording is H.264 in yuv420p with AAC sound; `veryfast` keeps the setup
        // short without making the file unusually easy to decode.
        .args([
            "-c:v", "libx264", "-preset", "veryfast", "-pix_fmt", "yuv420p",
        ])
        .args(["-c:a", "aac", "-b:a", "128k", "-movflags", "+faststart"])
        .arg("clip.mp4")
        .current_dir(dir)
        .kill_on_drop(true)
        .output()
        .await
        .with_context(|| format!("cannot run {ffmpeg}"))?;
    anyhow::ensure!(
        output.status.success(),
        "ffmpeg could not make the clip ({}): {}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    let made_in = started.elapsed();
    let bytes = tokio::fs::read(dir.join("clip.mp4"))
        .await
        .context("cannot read the clip")?;
    let clip = Clip {
        bytes: bytes.len() as u64,
        width: CLIP_WIDTH,
        height: CLIP_HEIGHT,
        fps: CLIP_FPS,
        made_in,
    };
    Ok((Bytes::from(bytes), clip))
}

/// A draft course owned by `actor` with one module and one video lesson.
async fn video_lesson(app: &App, actor: &Actor) -> anyhow::Result<lesson::Model> {
    let courses = &app.state().courses;
    let course = courses
        .create_course(
            actor,
            NewCourse {
                code: format!(
                    "BENCH-MEDIA-{}",
                    &uuid::Uuid::new_v4().simple().to_string()[..8]
                ),
                title: "Benchmark: media".into(),
                description: String::new(),
                competency_type: CompetencyType::Technical,
                jp_credit: 2,
                tags: Vec::new(),
            },
        )
        .await
        .context("cannot create the course")?;
    let (_, module) = courses
        .create_module(
            actor,
            course.id,
            NewModule {
                title: "Modul 1".into(),
                ..NewModule::default()
            },
        )
        .await
        .context("cannot create the module")?;
    let (_, lesson) = courses
        .create_lesson(
            actor,
            module.id,
            NewLesson {
                title: "Rekaman sesi 1".into(),
                kind: LessonKind::Video,
                required: None,
                completion_threshold: None,
                body: None,
                position: None,
            },
        )
        .await
        .context("cannot create the lesson")?;
    Ok(lesson)
}

/// Uploads `bytes` as the lesson's material (session, part PUTs through the gateway, complete);
/// returns the material's id.
async fn upload(
    app: &App,
    actor: &Actor,
    lesson_id: uuid::Uuid,
    bytes: Bytes,
) -> anyhow::Result<uuid::Uuid> {
    let courses = &app.state().courses;
    let addr = app.server.addr;
    let session = courses
        .create_lesson_upload(
            actor,
            lesson_id,
            NewUpload {
                file_name: "rekaman-sesi-1.mp4".into(),
                content_type: "video/mp4".into(),
                size: i64::try_from(bytes.len())?,
                sha256: hex::encode(Sha256::digest(&bytes)),
            },
        )
        .await
        .context("cannot open the upload session")?;
    let part_size = u64::try_from(session.upload.part_size)?;
    for part in &session.missing {
        let first = u64::from(part.part_number - 1) * part_size;
        let end = first + part.size;
        let body = bytes.slice(usize::try_from(first)?..usize::try_from(end)?);
        let path = super::local_path(&part.url, addr)?;
        let (status, answer) = super::send(
            addr,
            &addr.to_string(),
            super::request(Method::PUT, &path),
            body,
        )
        .await?;
        anyhow::ensure!(
            status == StatusCode::OK,
            "part {} answered {status}: {}",
            part.part_number,
            String::from_utf8_lossy(&answer)
        );
    }
    let done = courses
        .complete_upload(actor, session.upload.id)
        .await
        .context("cannot complete the upload")?;
    Ok(done
        .material
        .context("the completed upload made no material")?
        .id)
}

/// The duration of the `transcoded` event: the ffmpeg run that makes the ladder.
#[derive(Clone, Default)]
struct LadderTime(Arc<Mutex<Option<Duration>>>);

impl LadderTime {
    fn get(&self) -> Option<Duration> {
        self.0.lock().ok().and_then(|t| *t)
    }
}

impl<S: tracing::Subscriber> Layer<S> for LadderTime {
    fn on_event(&self, event: &tracing::Event<'_>, _ctx: Context<'_, S>) {
        let mut fields = EventFields::default();
        event.record(&mut fields);
        if fields.message.as_deref() == Some("transcoded")
            && let (Some(ms), Ok(mut slot)) = (fields.duration_ms, self.0.lock())
        {
            *slot = Some(Duration::from_millis(ms));
        }
    }
}

/// The fields of an event that [`LadderTime`] reads.
#[derive(Default)]
struct EventFields {
    message: Option<String>,
    duration_ms: Option<u64>,
}

impl Visit for EventFields {
    fn record_u64(&mut self, field: &Field, value: u64) {
        if field.name() == "duration_ms" {
            self.duration_ms = Some(value);
        }
    }

    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "message" {
            self.message = Some(value.to_owned());
        }
    }

    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        // A message written as a format string arrives here.
        if field.name() == "message" {
            self.message = Some(format!("{value:?}"));
        }
    }
}
