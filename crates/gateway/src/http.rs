//! `/graphql` over HTTP, following the GraphQL-over-HTTP specification: POST with JSON (or a
//! multipart upload), GET for queries only, `application/graphql-response+json` with meaningful
//! status codes when the client accepts it and plain `application/json` (always 200) otherwise.
//! This handler authenticates the caller and gives every request its own DataLoaders.

use std::net::SocketAddr;
use std::time::Instant;

use async_graphql::dataloader::DataLoader;
use async_graphql::http::{GraphiQLSource, MultipartOptions};
use async_graphql::{BatchRequest, BatchResponse, Request, Response as GqlResponse, ServerError};
use axum::body::Body;
use axum::extract::{ConnectInfo, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use kernel::{Actor, ClientInfo};

use crate::AppState;
use crate::schema::{HttpGet, MAX_BATCH, METHOD_NOT_ALLOWED_CODE};

/// The GraphQL-over-HTTP media type.
pub const GRAPHQL_RESPONSE_JSON: &str = "application/graphql-response+json";

/// Which response media type the client gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum MediaType {
    /// `application/graphql-response+json`: status codes carry meaning.
    GraphQlResponse,
    /// `application/json`: the legacy form, always 200 for a well-formed request.
    Json,
}

impl MediaType {
    fn header(self) -> HeaderValue {
        match self {
            MediaType::GraphQlResponse => HeaderValue::from_static(GRAPHQL_RESPONSE_JSON),
            MediaType::Json => HeaderValue::from_static("application/json"),
        }
    }
}

/// Picks the response media type from `Accept`, in the client's order of preference.
fn negotiate(headers: &HeaderMap) -> Option<MediaType> {
    let Some(accept) = headers.get(header::ACCEPT).and_then(|v| v.to_str().ok()) else {
        return Some(MediaType::Json);
    };
    let mut best: Option<(f32, MediaType)> = None;
    for part in accept.split(',') {
        let mut it = part.split(';');
        let ty = it.next().unwrap_or("").trim().to_ascii_lowercase();
        let q = it
            .filter_map(|p| p.trim().strip_prefix("q="))
            .find_map(|q| q.parse::<f32>().ok())
            .unwrap_or(1.0);
        let kind = match ty.as_str() {
            GRAPHQL_RESPONSE_JSON => MediaType::GraphQlResponse,
            "application/json" => MediaType::Json,
            "*/*" | "application/*" => MediaType::GraphQlResponse,
            _ => continue,
        };
        if q > 0.0 && best.is_none_or(|(bq, _)| q > bq) {
            best = Some((q, kind));
        }
    }
    best.map(|(_, k)| k)
}

fn error_body(code: &str, message: &str) -> serde_json::Value {
    serde_json::json!({"errors": [{"message": message, "extensions": {"code": code}}]})
}

fn respond(status: StatusCode, media: MediaType, body: &serde_json::Value) -> Response {
    let mut resp = (status, body.to_string()).into_response();
    resp.headers_mut()
        .insert(header::CONTENT_TYPE, media.header());
    resp
}

/// A request-level failure (no execution happened).
fn request_error(media: MediaType, status: StatusCode, code: &str, message: &str) -> Response {
    respond(status, media, &error_body(code, message))
}

/// `GET /graphql`: a query in the URL, or GraphiQL for a browser.
pub async fn graphql_get(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    let wants_html = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|a| a.contains("text/html"));
    let query = query.unwrap_or_default();
    if query.is_empty() && wants_html && state.config.graphiql {
        return Html(GraphiQLSource::build().endpoint("/graphql").finish()).into_response();
    }
    let Some(media) = negotiate(&headers) else {
        return (
            StatusCode::NOT_ACCEPTABLE,
            "accept application/graphql-response+json or application/json",
        )
            .into_response();
    };
    let request = match async_graphql::http::parse_query_string(&query) {
        Ok(r) => r,
        Err(e) => {
            return request_error(
                media,
                StatusCode::BAD_REQUEST,
                "BAD_REQUEST",
                &format!("malformed GraphQL request: {e}"),
            );
        }
    };
    let marker = HttpGet {
        operation_name: request.operation_name.clone(),
    };
    let request = request.data(marker);
    execute(state, BatchRequest::Single(request), &headers, peer, media).await
}

/// `POST /graphql`: JSON, or a multipart request carrying files.
pub async fn graphql_post(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let Some(media) = negotiate(&headers) else {
        return (
            StatusCode::NOT_ACCEPTABLE,
            "accept application/graphql-response+json or application/json",
        )
            .into_response();
    };
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_ascii_lowercase();
    let multipart = content_type.starts_with("multipart/form-data");
    if !(multipart || content_type.starts_with("application/json")) {
        return request_error(
            media,
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "BAD_REQUEST",
            "send the request as application/json (or multipart/form-data with files)",
        );
    }
    let limit = if multipart {
        state.config.max_upload_bytes
    } else {
        state.config.max_body_bytes
    };
    let bytes = match axum::body::to_bytes(body, limit).await {
        Ok(b) => b,
        Err(_) => {
            return request_error(
                media,
                StatusCode::PAYLOAD_TOO_LARGE,
                "PAYLOAD_TOO_LARGE",
                &format!("the request body is larger than {limit} bytes"),
            );
        }
    };
    let opts = MultipartOptions::default()
        .max_file_size(limit)
        .max_num_files(4);
    let batch = match async_graphql::http::receive_batch_body(
        Some(content_type.as_str()),
        futures::io::Cursor::new(bytes),
        opts,
    )
    .await
    {
        Ok(b) => b,
        Err(e) => {
            let status = if matches!(e, async_graphql::ParseRequestError::PayloadTooLarge) {
                StatusCode::PAYLOAD_TOO_LARGE
            } else {
                StatusCode::BAD_REQUEST
            };
            return request_error(
                media,
                status,
                "BAD_REQUEST",
                &format!("malformed GraphQL request: {e}"),
            );
        }
    };
    execute(state, batch, &headers, peer, media).await
}

fn bearer(headers: &HeaderMap) -> Option<&str> {
    headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            v.strip_prefix("Bearer ")
                .or_else(|| v.strip_prefix("bearer "))
        })
        .map(str::trim)
}

/// A response with errors from before execution (parse, validation, limits): no `data`.
fn is_request_error(r: &GqlResponse) -> bool {
    r.data == async_graphql::Value::Null
        && !r.errors.is_empty()
        && r.errors.iter().all(|e| e.path.is_empty())
}

fn has_code(errors: &[ServerError], code: &str) -> bool {
    errors.iter().any(|e| {
        e.extensions
            .as_ref()
            .and_then(|x| x.get("code"))
            .is_some_and(|v| matches!(v, async_graphql::Value::String(s) if s == code))
    })
}

async fn execute(
    state: AppState,
    batch: BatchRequest,
    headers: &HeaderMap,
    peer: SocketAddr,
    media: MediaType,
) -> Response {
    let actor: Option<Actor> = match bearer(headers) {
        None => None,
        Some(token) => match state.identity.authenticate(token) {
            Ok(a) => Some(a),
            Err(_) => {
                let status = match media {
                    MediaType::GraphQlResponse => StatusCode::UNAUTHORIZED,
                    MediaType::Json => StatusCode::OK,
                };
                return request_error(
                    media,
                    status,
                    "UNAUTHENTICATED",
                    "the access token is invalid or expired; refresh the session or sign in again",
                );
            }
        },
    };
    if let BatchRequest::Batch(list) = &batch
        && (list.is_empty() || list.len() > MAX_BATCH)
    {
        return request_error(
            media,
            StatusCode::BAD_REQUEST,
            "BAD_USER_INPUT",
            &format!("a batch holds 1 to {MAX_BATCH} operations"),
        );
    }
    let client = ClientInfo {
        ip: Some(crate::forwarded::client_ip(
            peer.ip(),
            headers,
            &state.config.trusted_proxies,
        )),
    };
    let prepare = |mut req: Request| -> Request {
        if let Some(a) = &actor {
            req = req.data(a.clone());
        }
        req.data(client.clone())
            .data(DataLoader::new(
                identity::graphql::UnitLoader::new(state.db.clone()),
                tokio::spawn,
            ))
            .data(DataLoader::new(
                course::graphql::CourseLoader::new(state.db.clone()),
                tokio::spawn,
            ))
            .data(DataLoader::new(
                enrollment::graphql::EnrollmentLoader::new(state.db.clone()),
                tokio::spawn,
            ))
    };
    let names: Vec<Option<String>>;
    let batch = match batch {
        BatchRequest::Single(r) => {
            names = vec![r.operation_name.clone()];
            BatchRequest::Single(prepare(r))
        }
        BatchRequest::Batch(list) => {
            names = list.iter().map(|r| r.operation_name.clone()).collect();
            BatchRequest::Batch(list.into_iter().map(prepare).collect())
        }
    };
    let started = Instant::now();
    let result = state.schema.execute_batch(batch).await;
    let took = started.elapsed();
    match result {
        BatchResponse::Single(resp) => {
            let outcome = if resp.errors.is_empty() {
                "ok"
            } else {
                "error"
            };
            state
                .metrics
                .observe(names.first().and_then(|n| n.as_deref()), outcome, took);
            tracing::debug!(graphql.operation = ?names.first(), duration_ms = took.as_millis() as u64, outcome, "graphql");
            if has_code(&resp.errors, METHOD_NOT_ALLOWED_CODE) {
                let mut r = respond(
                    StatusCode::METHOD_NOT_ALLOWED,
                    media,
                    &serde_json::json!({"errors": resp.errors}),
                );
                r.headers_mut()
                    .insert(header::ALLOW, HeaderValue::from_static("POST"));
                return r;
            }
            if is_request_error(&resp) {
                let status = match media {
                    MediaType::GraphQlResponse => StatusCode::BAD_REQUEST,
                    MediaType::Json => StatusCode::OK,
                };
                return respond(status, media, &serde_json::json!({"errors": resp.errors}));
            }
            let body = serde_json::to_value(&resp).unwrap_or_else(|_| {
                error_body("INTERNAL_SERVER_ERROR", kernel::error::INTERNAL_MESSAGE)
            });
            respond(StatusCode::OK, media, &body)
        }
        BatchResponse::Batch(list) => {
            for (resp, name) in list.iter().zip(&names) {
                let outcome = if resp.errors.is_empty() {
                    "ok"
                } else {
                    "error"
                };
                state.metrics.observe(name.as_deref(), outcome, took);
            }
            let body = serde_json::to_value(&list).unwrap_or_else(|_| {
                error_body("INTERNAL_SERVER_ERROR", kernel::error::INTERNAL_MESSAGE)
            });
            respond(StatusCode::OK, media, &body)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn accept(v: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(
            header::ACCEPT,
            HeaderValue::from_str(v).unwrap_or(HeaderValue::from_static("")),
        );
        h
    }

    #[test]
    fn the_client_gets_the_media_type_it_prefers() {
        assert_eq!(negotiate(&HeaderMap::new()), Some(MediaType::Json));
        assert_eq!(
            negotiate(&accept(
                "application/graphql-response+json, application/json;q=0.9"
            )),
            Some(MediaType::GraphQlResponse)
        );
        assert_eq!(
            negotiate(&accept("application/json")),
            Some(MediaType::Json)
        );
        assert_eq!(
            negotiate(&accept(
                "application/graphql-response+json;q=0.5, application/json"
            )),
            Some(MediaType::Json)
        );
        assert_eq!(negotiate(&accept("text/csv")), None);
    }
}
