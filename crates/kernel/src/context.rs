//! What a resolver reads from the GraphQL context. The gateway puts shared services into the
//! schema data once (the database connection, the [`SharedClock`], each crate's services) and
//! per request the signed-in [`Actor`] (absent when anonymous) and the [`ClientInfo`].

use std::net::IpAddr;
use std::sync::Arc;

use async_graphql::Context;

use crate::actor::Actor;
use crate::clock::Clock;
use crate::error::{CodedError, to_graphql};

/// The clock as stored in the schema data.
pub type SharedClock = Arc<dyn Clock>;

/// Facts about the HTTP client of this request.
#[derive(Debug, Clone)]
pub struct ClientInfo {
    /// The client's address (the peer, or the first `X-Forwarded-For` hop when trusted).
    pub ip: Option<IpAddr>,
}

/// The signed-in actor, or UNAUTHENTICATED.
///
/// # Errors
/// UNAUTHENTICATED when the request carries no valid access token.
pub fn actor<'a>(ctx: &Context<'a>) -> async_graphql::Result<&'a Actor> {
    ctx.data_opt::<Actor>()
        .ok_or_else(|| to_graphql(CodedError::unauthenticated()))
}

/// The shared clock.
///
/// # Errors
/// INTERNAL_SERVER_ERROR when the gateway did not register a clock (a wiring bug).
pub fn clock<'a>(ctx: &Context<'a>) -> async_graphql::Result<&'a SharedClock> {
    service::<SharedClock>(ctx)
}

/// A service the gateway registered in the schema data.
///
/// # Errors
/// INTERNAL_SERVER_ERROR when it is missing (a wiring bug, logged).
pub fn service<'a, T: std::any::Any + Send + Sync>(
    ctx: &Context<'a>,
) -> async_graphql::Result<&'a T> {
    ctx.data_opt::<T>().ok_or_else(|| {
        to_graphql(CodedError::new(
            crate::ErrorCode::Internal,
            format!("service {} is not registered", std::any::type_name::<T>()),
        ))
    })
}
