//! `me` over GraphQL against a plain axum handler doing the same work on the same state: the
//! price of the GraphQL layer for the cheapest authenticated query.

use std::sync::Arc;

use anyhow::Context as _;
use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use gateway::AppState;
use kernel::Roles;
use serde::Serialize;
use serde_json::{Value, json};

use crate::app::{ADMIN_EMAIL, ADMIN_PASSWORD, App};
use crate::load::{self, LoadResult, Settings, Target};

/// The query both sides answer.
pub const ME_QUERY: &str = "{ me { id name email roles } }";
/// Turns each side takes; each turn gets this share of the warm-up and the measured time.
pub const ROUNDS: u32 = 2;

/// Both runs and the ratio of their rates.
pub struct MeFigures {
    /// `POST /graphql`.
    pub graphql: LoadResult,
    /// The plain handler.
    pub plain: LoadResult,
}

impl MeFigures {
    /// GraphQL requests/s over plain requests/s.
    pub fn ratio(&self) -> f64 {
        self.graphql.per_sec() / self.plain.per_sec()
    }
}

/// Signs the admin in, serves the plain handler beside the app, checks that both answer the
/// same JSON, then drives each in turn with the same load.
///
/// # Errors
/// When setting up fails or the two answers differ.
pub async fn run(app: &App, settings: Settings) -> anyhow::Result<MeFigures> {
    let token = app.sign_in(ADMIN_EMAIL, ADMIN_PASSWORD).await?;
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0))
        .await
        .context("cannot listen for the plain handler")?;
    let plain_addr = listener.local_addr()?;
    let router = plain_router(app.state().clone());
    let plain_server = tokio::spawn(async move { axum::serve(listener, router).await });
    let result = compare(app, plain_addr, &token, settings).await;
    plain_server.abort();
    result
}

async fn compare(
    app: &App,
    plain_addr: std::net::SocketAddr,
    token: &str,
    settings: Settings,
) -> anyhow::Result<MeFigures> {
    let request = Bytes::from(serde_json::to_vec(&json!({ "query": ME_QUERY }))?);
    let graphql_expected = probe(app.server.addr, "/graphql", token, &request).await?;
    let plain_expected = probe(plain_addr, "/me", token, &request).await?;
    let (g, p): (Value, Value) = (
        serde_json::from_slice(&graphql_expected)?,
        serde_json::from_slice(&plain_expected)?,
    );
    anyhow::ensure!(
        g["data"]["me"]["email"] == ADMIN_EMAIL && g.get("errors").is_none(),
        "GraphQL `me` did not answer the admin: {g}"
    );
    anyhow::ensure!(g == p, "the answers differ:\n  GraphQL {g}\n  plain   {p}");

    // Each side is checked against its own first answer byte for byte: cheap enough that the
    // client, which shares the CPU with the server, does not distort the comparison.
    let target = |addr, path: &str, expected: Bytes| {
        Target::post_json(
            addr,
            path,
            Some(token),
            vec![request.clone()],
            Arc::new(move |body: &[u8]| body == expected.as_ref()),
        )
        .map(Arc::new)
    };
    let graphql_target = target(app.server.addr, "/graphql", graphql_expected)?;
    let plain_target = target(plain_addr, "/me", plain_expected)?;
    // The sides take turns, so whatever else the machine runs meanwhile weighs on both alike.
    let round = Settings {
        warmup: settings.warmup / ROUNDS,
        measure: settings.measure / ROUNDS,
        ..settings
    };
    let (mut graphql, mut plain) = (LoadResult::default(), LoadResult::default());
    for n in 1..=ROUNDS {
        eprintln!("  round {n}/{ROUNDS}: GraphQL, then plain ...");
        graphql.absorb(load::run(graphql_target.clone(), round).await?);
        plain.absorb(load::run(plain_target.clone(), round).await?);
    }
    Ok(MeFigures { graphql, plain })
}

/// One request, which must succeed; returns the body.
async fn probe(
    addr: std::net::SocketAddr,
    path: &str,
    token: &str,
    request: &Bytes,
) -> anyhow::Result<Bytes> {
    let target = Target::post_json(
        addr,
        path,
        Some(token),
        vec![request.clone()],
        Arc::new(|_: &[u8]| true),
    )?;
    let (status, body) = target.send_once().await?;
    anyhow::ensure!(
        status == StatusCode::OK,
        "{path} answered {status}: {}",
        String::from_utf8_lossy(&body)
    );
    Ok(body)
}

/// The plain side: `POST /me` on the app's state.
fn plain_router(state: AppState) -> Router {
    Router::new().route("/me", post(plain_me)).with_state(state)
}

#[derive(Serialize)]
struct Envelope<'a> {
    data: Data<'a>,
}

#[derive(Serialize)]
struct Data<'a> {
    me: Me<'a>,
}

/// The fields of `{ me { id name email roles } }`, in the query's order.
#[derive(Serialize)]
struct Me<'a> {
    id: String,
    name: &'a str,
    email: Option<&'a str>,
    roles: Vec<String>,
}

/// What the GraphQL `me` does, without GraphQL: verify the bearer token, load the person the
/// same way, serialise the same fields. The body is read like the GraphQL handler reads it.
async fn plain_me(State(state): State<AppState>, headers: HeaderMap, _body: Bytes) -> Response {
    let token = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    let Some(actor) = token.and_then(|t| state.identity.authenticate(t).ok()) else {
        return StatusCode::UNAUTHORIZED.into_response();
    };
    let Some(id) = actor.person_id else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let person = match state.identity.person(&actor, id).await {
        Ok(p) => p,
        Err(_) => return StatusCode::INTERNAL_SERVER_ERROR.into_response(),
    };
    let body = Envelope {
        data: Data {
            me: Me {
                id: person.id.to_string(),
                name: &person.name,
                email: person.email.as_deref(),
                // GraphQL enum values: the stored names upper-cased (`UNIT_ADMIN`).
                roles: Roles::parse_list(&person.roles)
                    .unwrap_or_default()
                    .iter()
                    .map(|r| r.as_str().to_ascii_uppercase())
                    .collect(),
            },
        },
    };
    match serde_json::to_vec(&body) {
        Ok(json) => ([(header::CONTENT_TYPE, "application/json")], json).into_response(),
        Err(_) => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
    }
}
