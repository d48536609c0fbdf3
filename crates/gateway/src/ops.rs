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

/// Readiness: the database and the object store answer.
pub async fn readyz(State(state): State<AppState>) -> Response {
    let db = state.db.ping().await;
    let store = state.store.check().await;
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
    });
    let status = if db.is_ok() && store.is_ok() {
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

/// Prometheus metrics.
pub async fn metrics(State(state): State<AppState>) -> Response {
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        state.metrics.render(),
    )
        .into_response()
}

/// Registers every job handler the platform has. Domain crates add theirs here as they arrive.
pub fn register_handlers(_worker: &mut Worker, _state: &AppState) {}
