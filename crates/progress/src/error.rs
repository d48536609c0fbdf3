//! The progress crate's errors. `Display` is the client-facing message for every variant but
//! the internal ones. A single bad event in a sync batch is not an error: it gets its own
//! rejection status (see [`crate::sync::RejectReason`]).

use kernel::{Coded, ErrorCode};

/// An error of a progress operation.
#[derive(Debug, thiserror::Error)]
pub enum ProgressError {
    /// UNAUTHENTICATED: the operation needs a signed-in person (not the system).
    #[error("sign in first")]
    Unauthenticated,
    /// FORBIDDEN: the actor may not do this.
    #[error("you are not allowed to do this")]
    Forbidden,
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
    /// Passes an identity error through with its own code.
    #[error(transparent)]
    Identity(#[from] identity::IdentityError),
    /// Passes a course error through with its own code.
    #[error(transparent)]
    Course(#[from] course::CourseError),
    /// Passes an enrollment error through with its own code.
    #[error(transparent)]
    Enrollment(#[from] enrollment::EnrollmentError),
    /// TOO_MANY_REQUESTS: more syncs wait to be written than the server keeps in line; nothing
    /// of this one was stored, and `retryAfter` says when to send it again.
    #[error(
        "the server is busy writing progress; nothing was stored, send these events again in {retry_after_secs} seconds"
    )]
    Busy {
        /// Seconds to wait before sending again.
        retry_after_secs: u64,
    },
    /// INTERNAL_SERVER_ERROR: the database failed.
    #[error("database error: {0}")]
    Database(#[from] sea_orm::DbErr),
    /// INTERNAL_SERVER_ERROR: a stored value this version cannot read.
    #[error("internal error: {0}")]
    Internal(String),
}

impl ProgressError {
    /// A BAD_USER_INPUT error for `field`.
    pub fn invalid(field: &'static str, message: impl Into<String>) -> Self {
        ProgressError::Invalid {
            field,
            message: message.into(),
        }
    }
}

impl From<kernel::error::CodedError> for ProgressError {
    fn from(e: kernel::error::CodedError) -> Self {
        match e.code {
            ErrorCode::BadUserInput => ProgressError::invalid("input", e.message),
            ErrorCode::Forbidden => ProgressError::Forbidden,
            ErrorCode::Unauthenticated => ProgressError::Unauthenticated,
            _ => ProgressError::Internal(e.message),
        }
    }
}

impl Coded for ProgressError {
    fn code(&self) -> ErrorCode {
        match self {
            ProgressError::Unauthenticated => ErrorCode::Unauthenticated,
            ProgressError::Forbidden => ErrorCode::Forbidden,
            ProgressError::NotFound(_) => ErrorCode::NotFound,
            ProgressError::Invalid { .. } => ErrorCode::BadUserInput,
            ProgressError::Busy { .. } => ErrorCode::TooManyRequests,
            ProgressError::Identity(e) => e.code(),
            ProgressError::Course(e) => e.code(),
            ProgressError::Enrollment(e) => e.code(),
            ProgressError::Database(_) | ProgressError::Internal(_) => ErrorCode::Internal,
        }
    }

    fn extensions(&self) -> Vec<(&'static str, serde_json::Value)> {
        match self {
            ProgressError::Invalid { field, .. } => vec![("field", serde_json::json!(field))],
            ProgressError::Busy { retry_after_secs } => {
                vec![("retryAfter", serde_json::json!(retry_after_secs))]
            }
            ProgressError::Identity(e) => e.extensions(),
            ProgressError::Course(e) => e.extensions(),
            ProgressError::Enrollment(e) => e.extensions(),
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
            (ProgressError::Unauthenticated, ErrorCode::Unauthenticated),
            (ProgressError::Forbidden, ErrorCode::Forbidden),
            (ProgressError::NotFound("person"), ErrorCode::NotFound),
            (ProgressError::invalid("jp", "x"), ErrorCode::BadUserInput),
            (
                ProgressError::Busy {
                    retry_after_secs: 3,
                },
                ErrorCode::TooManyRequests,
            ),
            (
                ProgressError::Identity(identity::IdentityError::Forbidden),
                ErrorCode::Forbidden,
            ),
            (
                ProgressError::Database(sea_orm::DbErr::Custom("x".into())),
                ErrorCode::Internal,
            ),
            (ProgressError::Internal("x".into()), ErrorCode::Internal),
        ];
        for (err, code) in cases {
            assert_eq!(err.code(), code, "{err:?}");
        }
    }
}
