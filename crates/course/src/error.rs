//! The course crate's errors. `Display` is the client-facing message for every variant but
//! the internal ones.

use kernel::{Coded, ErrorCode};

/// An error of a course operation.
#[derive(Debug, thiserror::Error)]
pub enum CourseError {
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
    /// CONFLICT: clashes with the current state.
    #[error("{0}")]
    Conflict(String),
    /// CONFLICT with `reason` LOCKED: the lesson opens later (a pre-test comes first).
    #[error("{0}")]
    Locked(String),
    /// Passes a storage error through with its own code.
    #[error(transparent)]
    Storage(#[from] storage::StorageError),
    /// Passes a job error through with its own code.
    #[error(transparent)]
    Jobs(#[from] jobs::JobError),
    /// INTERNAL_SERVER_ERROR: the database failed.
    #[error("database error: {0}")]
    Database(#[from] sea_orm::DbErr),
    /// INTERNAL_SERVER_ERROR: anything else that is our fault.
    #[error("internal error: {0}")]
    Internal(String),
}

impl CourseError {
    /// A BAD_USER_INPUT error for `field`.
    pub fn invalid(field: &'static str, message: impl Into<String>) -> Self {
        CourseError::Invalid {
            field,
            message: message.into(),
        }
    }

    /// Turns a unique-constraint violation into CONFLICT with `message`; other errors stay.
    pub fn conflict_on_unique(err: sea_orm::DbErr, message: impl Into<String>) -> Self {
        if kernel::db::is_unique_violation(&err) {
            CourseError::Conflict(message.into())
        } else {
            CourseError::Database(err)
        }
    }
}

impl From<kernel::error::CodedError> for CourseError {
    fn from(e: kernel::error::CodedError) -> Self {
        match e.code {
            ErrorCode::BadUserInput => CourseError::invalid("input", e.message),
            ErrorCode::Forbidden => CourseError::Forbidden,
            ErrorCode::Conflict => CourseError::Conflict(e.message),
            _ => CourseError::Internal(e.message),
        }
    }
}

impl Coded for CourseError {
    fn code(&self) -> ErrorCode {
        match self {
            CourseError::Forbidden => ErrorCode::Forbidden,
            CourseError::NotFound(_) => ErrorCode::NotFound,
            CourseError::Invalid { .. } => ErrorCode::BadUserInput,
            CourseError::Conflict(_) | CourseError::Locked(_) => ErrorCode::Conflict,
            CourseError::Storage(e) => e.code(),
            CourseError::Jobs(e) => e.code(),
            CourseError::Database(_) | CourseError::Internal(_) => ErrorCode::Internal,
        }
    }

    fn extensions(&self) -> Vec<(&'static str, serde_json::Value)> {
        match self {
            CourseError::Invalid { field, .. } => vec![("field", serde_json::json!(field))],
            CourseError::Locked(_) => vec![("reason", serde_json::json!("LOCKED"))],
            CourseError::Storage(e) => e.extensions(),
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
            (CourseError::Forbidden, ErrorCode::Forbidden),
            (CourseError::NotFound("course"), ErrorCode::NotFound),
            (CourseError::invalid("title", "x"), ErrorCode::BadUserInput),
            (CourseError::Conflict("x".into()), ErrorCode::Conflict),
            (
                CourseError::Database(sea_orm::DbErr::Custom("x".into())),
                ErrorCode::Internal,
            ),
            (CourseError::Internal("x".into()), ErrorCode::Internal),
        ];
        for (err, code) in cases {
            assert_eq!(err.code(), code, "{err:?}");
        }
    }
}
