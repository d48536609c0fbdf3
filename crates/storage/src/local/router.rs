//! The HTTP side of the local store: serves its signed URLs. The gateway mounts it with
//! `Router::nest("/media", local_media_router(store))`, so the routes here are relative: the key
//! is the whole path after `/media/`, as the store signed it.

use axum::Router;
use axum::body::Body;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use http::{HeaderMap, HeaderValue, StatusCode, header};
use serde::Deserialize;

use super::LocalStore;
use super::signing::{Grant, Op};
use crate::{ByteRange, StorageError};

/// The router that serves the local store's signed URLs: GET/HEAD (with `Range`) for
/// `op=get`, PUT for `op=put` and `op=part`. Nest it under `/media`.
pub fn local_media_router(store: LocalStore) -> Router {
    Router::new()
        .route("/{*key}", get(get_object).put(put_object))
        .with_state(store)
}

/// The query of a signed URL.
#[derive(Debug, Deserialize)]
struct Signed {
    op: String,
    exp: u64,
    sig: String,
    upload: Option<String>,
    part: Option<u32>,
}

impl Signed {
    fn grant<'a>(&'a self, op: Op, key: &'a str, content_type: Option<&'a str>) -> Grant<'a> {
        Grant {
            op,
            key,
            exp: self.exp,
            upload_id: self.upload.as_deref(),
            part_number: self.part,
            content_type,
        }
    }
}

/// A response for a failed request; internal detail goes to the log, not the client.
fn error_response(err: StorageError, key: &str) -> Response {
    let status = match &err {
        StorageError::NotFound { .. } | StorageError::UploadNotFound { .. } => {
            StatusCode::NOT_FOUND
        }
        StorageError::RangeNotSatisfiable { size } => {
            return (
                StatusCode::RANGE_NOT_SATISFIABLE,
                [(header::CONTENT_RANGE, format!("bytes */{size}"))],
                err.to_string(),
            )
                .into_response();
        }
        StorageError::TooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
        StorageError::Expired | StorageError::BadSignature => StatusCode::FORBIDDEN,
        StorageError::KeyConflict => StatusCode::CONFLICT,
        StorageError::InvalidKey { .. }
        | StorageError::InvalidRange(_)
        | StorageError::InvalidArgument(_)
        | StorageError::InvalidParts(_)
        | StorageError::Body(_) => StatusCode::BAD_REQUEST,
        StorageError::Config(_) | StorageError::Io { .. } | StorageError::S3 { .. } => {
            tracing::error!(error = %err, source = ?std::error::Error::source(&err), object.key = %key, "local media request failed");
            return (
                StatusCode::INTERNAL_SERVER_ERROR,
                kernel::error::INTERNAL_MESSAGE,
            )
                .into_response();
        }
    };
    (status, err.to_string()).into_response()
}

fn forbidden() -> Response {
    error_response(StorageError::BadSignature, "")
}

async fn get_object(
    State(store): State<LocalStore>,
    Path(key): Path<String>,
    query: Result<Query<Signed>, QueryRejection>,
    headers: HeaderMap,
) -> Response {
    let Ok(Query(signed)) = query else {
        return forbidden();
    };
    if Op::parse(&signed.op) != Some(Op::Get) {
        return forbidden();
    }
    if let Err(e) = store.verify(&signed.grant(Op::Get, &key, None), &signed.sig) {
        return error_response(e, &key);
    }
    // A malformed Range is ignored and the whole object served, as RFC 9110 §14.2 allows; only
    // a well-formed range past the end earns a 416.
    let range = headers
        .get(header::RANGE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| ByteRange::parse(v).ok());
    let object = match store.get(&key, range).await {
        Ok(object) => object,
        Err(e) => return error_response(e, &key),
    };
    let status = if object.partial {
        StatusCode::PARTIAL_CONTENT
    } else {
        StatusCode::OK
    };
    let mut response = Response::builder()
        .status(status)
        .header(header::CONTENT_LENGTH, object.content_length())
        .header(header::ACCEPT_RANGES, "bytes");
    if let Ok(value) = HeaderValue::from_str(&object.content_type) {
        response = response.header(header::CONTENT_TYPE, value);
    }
    if let Some(content_range) = object.content_range() {
        response = response.header(header::CONTENT_RANGE, content_range);
    }
    response
        .body(Body::from_stream(object.body))
        .unwrap_or_else(|e| {
            tracing::error!(error = %e, object.key = %key, "building a media response failed");
            StatusCode::INTERNAL_SERVER_ERROR.into_response()
        })
}

async fn put_object(
    State(store): State<LocalStore>,
    Path(key): Path<String>,
    query: Result<Query<Signed>, QueryRejection>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let Ok(Query(signed)) = query else {
        return forbidden();
    };
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok());
    let op = Op::parse(&signed.op);
    let grant = match op {
        Some(Op::Put) => signed.grant(Op::Put, &key, Some(content_type.unwrap_or(""))),
        Some(Op::Part) => signed.grant(Op::Part, &key, None),
        _ => return forbidden(),
    };
    if let Err(e) = store.verify(&grant, &signed.sig) {
        return error_response(e, &key);
    }
    let limit = store.max_body_bytes();
    // Refuse early when the client says up front that the body is too big.
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|len| len > limit) {
        return error_response(StorageError::TooLarge { limit }, &key);
    }
    let stream = body.into_data_stream();
    let stored = match (op, signed.upload.as_deref(), signed.part) {
        (Some(Op::Part), Some(upload_id), Some(part)) => {
            store
                .put_part_stream(&key, upload_id, part, stream, Some(limit))
                .await
        }
        (Some(Op::Part), _, _) => return forbidden(),
        _ => {
            store
                .put_stream(&key, content_type.unwrap_or(""), stream, Some(limit))
                .await
        }
    };
    match stored {
        Ok(etag) => (StatusCode::OK, [(header::ETAG, etag)]).into_response(),
        Err(e) => error_response(e, &key),
    }
}
