//! Error codes. Each domain crate has its own `thiserror` error type and says, per variant, which
//! [`ErrorCode`] it is (the [`Coded`] trait). This module is the one place where a code becomes
//! the `extensions.code` a client sees, and where internal detail is cut off from the response
//! and logged instead.

use std::fmt;

use async_graphql::ErrorExtensions;

/// The stable error codes a client can rely on (the Apollo vocabulary).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorCode {
    /// No valid access token, or a failed sign-in.
    Unauthenticated,
    /// Signed in, but not allowed to do this.
    Forbidden,
    /// The thing does not exist, or the caller may not know it exists.
    NotFound,
    /// The input is invalid; the message says what to fix.
    BadUserInput,
    /// The request clashes with the current state (a duplicate, a retired unit).
    Conflict,
    /// Too many attempts; `extensions.retryAfter` says how many seconds to wait.
    TooManyRequests,
    /// Our fault; the detail is in the server log, never in the response.
    Internal,
}

impl ErrorCode {
    /// The text of `extensions.code`.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::Unauthenticated => "UNAUTHENTICATED",
            ErrorCode::Forbidden => "FORBIDDEN",
            ErrorCode::NotFound => "NOT_FOUND",
            ErrorCode::BadUserInput => "BAD_USER_INPUT",
            ErrorCode::Conflict => "CONFLICT",
            ErrorCode::TooManyRequests => "TOO_MANY_REQUESTS",
            ErrorCode::Internal => "INTERNAL_SERVER_ERROR",
        }
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The message every internal error shows to a client.
pub const INTERNAL_MESSAGE: &str = "internal server error";

/// An error that knows its code. `Display` is the client-facing message for every code but
/// [`ErrorCode::Internal`], whose text is only logged.
pub trait Coded: std::error::Error + Send + Sync + 'static {
    /// The code of this error.
    fn code(&self) -> ErrorCode;

    /// Extra machine-readable fields for `extensions` (for example `retryAfter`, `field`).
    fn extensions(&self) -> Vec<(&'static str, serde_json::Value)> {
        Vec::new()
    }
}

/// Turns a domain error into the GraphQL error a client sees: `extensions.code`, a safe message,
/// and for internal errors a log line with the real cause (logged here, once, where it is handled).
pub fn to_graphql<E: Coded>(err: E) -> async_graphql::Error {
    let code = err.code();
    let message = if code == ErrorCode::Internal {
        tracing::error!(error = %err, source = ?std::error::Error::source(&err), "internal error");
        INTERNAL_MESSAGE.to_owned()
    } else {
        err.to_string()
    };
    let extra = err.extensions();
    async_graphql::Error::new(message).extend_with(|_, ext| {
        ext.set("code", code.as_str());
        for (key, value) in extra {
            if let Ok(v) = async_graphql::Value::from_json(value) {
                ext.set(key, v);
            }
        }
    })
}

/// `.gql()` on a domain `Result` gives the resolver's `async_graphql::Result`.
pub trait GqlResultExt<T> {
    /// Maps the error through [`to_graphql`].
    fn gql(self) -> async_graphql::Result<T>;
}

impl<T, E: Coded> GqlResultExt<T> for Result<T, E> {
    fn gql(self) -> async_graphql::Result<T> {
        self.map_err(to_graphql)
    }
}

/// A plain coded error for places that have no richer type (the gateway's own checks).
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct CodedError {
    /// The code.
    pub code: ErrorCode,
    /// The client-facing message.
    pub message: String,
}

impl CodedError {
    /// An error with `code` and `message`.
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        CodedError {
            code,
            message: message.into(),
        }
    }

    /// UNAUTHENTICATED: the request needs a signed-in person.
    pub fn unauthenticated() -> Self {
        Self::new(ErrorCode::Unauthenticated, "sign in first")
    }

    /// FORBIDDEN: the actor may not do this.
    pub fn forbidden() -> Self {
        Self::new(ErrorCode::Forbidden, "you are not allowed to do this")
    }
}

impl Coded for CodedError {
    fn code(&self) -> ErrorCode {
        self.code
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn code_of(err: async_graphql::Error) -> Option<String> {
        let ext = err.extensions?;
        match ext.get("code") {
            Some(async_graphql::Value::String(s)) => Some(s.clone()),
            _ => None,
        }
    }

    #[test]
    fn every_code_maps_to_its_apollo_name() {
        let expected = [
            (ErrorCode::Unauthenticated, "UNAUTHENTICATED"),
            (ErrorCode::Forbidden, "FORBIDDEN"),
            (ErrorCode::NotFound, "NOT_FOUND"),
            (ErrorCode::BadUserInput, "BAD_USER_INPUT"),
            (ErrorCode::Conflict, "CONFLICT"),
            (ErrorCode::TooManyRequests, "TOO_MANY_REQUESTS"),
            (ErrorCode::Internal, "INTERNAL_SERVER_ERROR"),
        ];
        for (code, name) in expected {
            let err = to_graphql(CodedError::new(code, "m"));
            assert_eq!(code_of(err).as_deref(), Some(name), "{code:?}");
        }
    }

    #[test]
    fn internal_detail_never_reaches_the_client() {
        let err = to_graphql(CodedError::new(
            ErrorCode::Internal,
            "connection refused at 10.0.0.5:5432",
        ));
        assert_eq!(err.message, INTERNAL_MESSAGE);
    }

    #[test]
    fn user_errors_keep_their_message() {
        let err = to_graphql(CodedError::new(
            ErrorCode::BadUserInput,
            "NIP must have 18 digits",
        ));
        assert_eq!(err.message, "NIP must have 18 digits");
    }
}
