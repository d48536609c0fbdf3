//! The identity crate's errors. Each variant states its client code; `Display` is the message a
//! client sees for every variant but [`IdentityError::Database`] and [`IdentityError::Internal`].

use kernel::{Coded, ErrorCode};

/// An error of an identity operation.
#[derive(Debug, thiserror::Error)]
pub enum IdentityError {
    /// UNAUTHENTICATED: unknown login or wrong password (deliberately the same message).
    #[error("wrong login or password")]
    InvalidCredentials,
    /// UNAUTHENTICATED: an access or refresh token that is malformed, forged, expired or revoked.
    #[error("the token is invalid or expired")]
    InvalidToken,
    /// TOO_MANY_REQUESTS: too many failed sign-ins; `retryAfter` says when to try again.
    #[error("too many failed sign-in attempts; try again in {retry_after_secs} seconds")]
    Throttled {
        /// Seconds until the next attempt is accepted.
        retry_after_secs: u64,
    },
    /// FORBIDDEN: the actor may not do this.
    #[error("you are not allowed to do this")]
    Forbidden,
    /// FORBIDDEN: the account is disabled (only said after a correct password).
    #[error("this account is disabled")]
    Disabled,
    /// NOT_FOUND: no such thing, or not visible to the actor.
    #[error("{0} not found")]
    NotFound(&'static str),
    /// BAD_USER_INPUT: a field is invalid.
    #[error("{message}")]
    Invalid {
        /// The input field at fault.
        field: &'static str,
        /// What is wrong.
        message: String,
    },
    /// CONFLICT: clashes with existing data.
    #[error("{0}")]
    Conflict(String),
    /// INTERNAL_SERVER_ERROR: the database failed.
    #[error("database error: {0}")]
    Database(#[from] sea_orm::DbErr),
    /// INTERNAL_SERVER_ERROR: anything else that is our fault.
    #[error("internal error: {0}")]
    Internal(String),
}

impl IdentityError {
    /// A BAD_USER_INPUT error for `field`.
    pub fn invalid(field: &'static str, message: impl Into<String>) -> Self {
        IdentityError::Invalid {
            field,
            message: message.into(),
        }
    }

    /// Turns a unique-constraint violation into CONFLICT with `message`; other errors stay.
    pub fn conflict_on_unique(err: sea_orm::DbErr, message: impl Into<String>) -> Self {
        if kernel::db::is_unique_violation(&err) {
            IdentityError::Conflict(message.into())
        } else {
            IdentityError::Database(err)
        }
    }
}

impl From<kernel::error::CodedError> for IdentityError {
    fn from(e: kernel::error::CodedError) -> Self {
        match e.code {
            ErrorCode::BadUserInput => IdentityError::invalid("input", e.message),
            ErrorCode::Forbidden => IdentityError::Forbidden,
            ErrorCode::Unauthenticated => IdentityError::InvalidToken,
            ErrorCode::Conflict => IdentityError::Conflict(e.message),
            _ => IdentityError::Internal(e.message),
        }
    }
}

impl Coded for IdentityError {
    fn code(&self) -> ErrorCode {
        match self {
            IdentityError::InvalidCredentials | IdentityError::InvalidToken => {
                ErrorCode::Unauthenticated
            }
            IdentityError::Throttled { .. } => ErrorCode::TooManyRequests,
            IdentityError::Forbidden | IdentityError::Disabled => ErrorCode::Forbidden,
            IdentityError::NotFound(_) => ErrorCode::NotFound,
            IdentityError::Invalid { .. } => ErrorCode::BadUserInput,
            IdentityError::Conflict(_) => ErrorCode::Conflict,
            IdentityError::Database(_) | IdentityError::Internal(_) => ErrorCode::Internal,
        }
    }

    fn extensions(&self) -> Vec<(&'static str, serde_json::Value)> {
        match self {
            IdentityError::Throttled { retry_after_secs } => {
                vec![("retryAfter", serde_json::json!(retry_after_secs))]
            }
            IdentityError::Invalid { field, .. } => vec![("field", serde_json::json!(field))],
            _ => Vec::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_variant_has_its_code() {
        let cases = [
            (
                IdentityError::InvalidCredentials,
                ErrorCode::Unauthenticated,
            ),
            (IdentityError::InvalidToken, ErrorCode::Unauthenticated),
            (
                IdentityError::Throttled {
                    retry_after_secs: 3,
                },
                ErrorCode::TooManyRequests,
            ),
            (IdentityError::Forbidden, ErrorCode::Forbidden),
            (IdentityError::Disabled, ErrorCode::Forbidden),
            (IdentityError::NotFound("unit"), ErrorCode::NotFound),
            (IdentityError::invalid("nip", "x"), ErrorCode::BadUserInput),
            (IdentityError::Conflict("dup".into()), ErrorCode::Conflict),
            (
                IdentityError::Database(sea_orm::DbErr::Custom("boom".into())),
                ErrorCode::Internal,
            ),
            (IdentityError::Internal("boom".into()), ErrorCode::Internal),
        ];
        for (err, code) in cases {
            assert_eq!(err.code(), code, "{err:?}");
        }
    }

    #[test]
    fn throttling_tells_when_to_retry() {
        let ext = IdentityError::Throttled {
            retry_after_secs: 42,
        }
        .extensions();
        assert_eq!(ext, vec![("retryAfter", serde_json::json!(42))]);
    }
}
