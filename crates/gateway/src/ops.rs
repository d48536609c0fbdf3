//! Operations endpoints (`/healthz`, `/readyz`, `/metrics`) and the registry of job handlers.

use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use jobs::Worker;

use crate::AppState;

/// Liveness: the process answers.
pub async fn healthz() -> &'static str {
    "ok"
}

/// Readiness: the database and the object store answer, and, when video processing is on,
/// ffmpeg and ffprobe run.
pub async fn readyz(State(state): State<AppState>) -> Response {
    let db = state.db.ping().await;
    let store = state.store.check().await;
    let video = state.courses.video_processing_status().await;
    if !video.is_ready() {
        tracing::warn!(
            video_processing = video.describe(),
            "readiness: video processing unavailable"
        );
    }
    if let Err(e) = &db {
        tracing::warn!(error = %e, "readiness: database unreachable");
    }
    if let Err(e) = &store {
        tracing::warn!(error = %e, "readiness: object store unreachable");
    }
    let word = |ok: bool| if ok { "ok" } else { "unavailable" };
    let body = serde_json::json!({
        "database": word(db.is_ok()),
        "objectStore": word(store.is_ok()),
        "objectStoreBackend": state.store.backend_name(),
        "videoProcessing": video.describe(),
    });
    let status = if db.is_ok() && store.is_ok() && video.is_ready() {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (
        status,
        [(header::CONTENT_TYPE, "application/json")],
        body.to_string(),
    )
        .into_response()
}

/// Says at start-up, in plain words, whether uploaded videos can be processed.
pub async fn log_video_processing(state: &AppState) {
    match state.courses.video_processing_status().await {
        course::processing::VideoProcessingStatus::Ok => {
            tracing::info!("video processing: ffmpeg and ffprobe found");
        }
        course::processing::VideoProcessingStatus::Disabled => {
            tracing::warn!("video processing is disabled: videos are served as uploaded");
        }
        course::processing::VideoProcessingStatus::Unavailable(why) => {
            tracing::error!(
                video_processing = %why,
                "video processing is enabled but {why}: uploaded videos stay unprocessed and \
                 /readyz answers 503 until ffmpeg and ffprobe are installed"
            );
        }
    }
}

/// Prometheus metrics.
pub async fn metrics(State(state): State<AppState>) -> Response {
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        state.metrics.render(),
    )
        .into_response()
}

/// Registers every job handler the platform has. Domain crates add theirs here as they arrive.
pub fn register_handlers(worker: &mut Worker, state: &AppState) {
    for handler in state
        .courses
        .job_handlers()
        .into_iter()
        .chain(state.quizzes.job_handlers())
        .chain(state.progress.job_handlers())
        .chain(state.evaluation.job_handlers())
    {
        worker.register(handler);
    }
    worker.register(std::sync::Arc::new(identity::purge::PurgeHandler {
        identity: state.identity.clone(),
        jobs: state.jobs.clone(),
    }));
}
