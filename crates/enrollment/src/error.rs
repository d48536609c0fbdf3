//! The enrollment crate's errors. `Display` is the client-facing message for every variant but
//! the internal ones.

use kernel::{Coded, ErrorCode};

/// An error of an enrollment operation.
#[derive(Debug, thiserror::Error)]
pub enum EnrollmentError {
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
    /// CONFLICT: clashes with the current state (a closed cohort, a finished enrollment).
    #[error("{0}")]
    Conflict(String),
    /// Passes a course error through with its own code.
    #[error(transparent)]
    Course(#[from] course::CourseError),
    /// Passes an identity error through with its own code.
    #[error(transparent)]
    Identity(#[from] identity::IdentityError),
    /// INTERNAL_SERVER_ERROR: the database failed.
    #[error("database error: {0}")]
    Database(#[from] sea_orm::DbErr),
}

impl EnrollmentError {
    /// A BAD_USER_INPUT error for `field`.
    pub fn invalid(field: &'static str, message: impl Into<String>) -> Self {
        EnrollmentError::Invalid {
            field,
            message: message.into(),
        }
    }

    /// A CONFLICT error with `message`.
    pub fn conflict(message: impl Into<String>) -> Self {
        EnrollmentError::Conflict(message.into())
    }
}

impl From<kernel::error::CodedError> for EnrollmentError {
    fn from(e: kernel::error::CodedError) -> Self {
        match e.code {
            ErrorCode::BadUserInput => EnrollmentError::invalid("input", e.message),
            ErrorCode::Forbidden => EnrollmentError::Forbidden,
            ErrorCode::Conflict => EnrollmentError::Conflict(e.message),
            ErrorCode::NotFound => EnrollmentError::NotFound("item"),
            _ => EnrollmentError::Database(sea_orm::DbErr::Custom(e.message)),
        }
    }
}

impl Coded for EnrollmentError {
    fn code(&self) -> ErrorCode {
        match self {
            EnrollmentError::Forbidden => ErrorCode::Forbidden,
            EnrollmentError::NotFound(_) => ErrorCode::NotFound,
            EnrollmentError::Invalid { .. } => ErrorCode::BadUserInput,
            EnrollmentError::Conflict(_) => ErrorCode::Conflict,
            EnrollmentError::Course(e) => e.code(),
            EnrollmentError::Identity(e) => e.code(),
            EnrollmentError::Database(_) => ErrorCode::Internal,
        }
    }

    fn extensions(&self) -> Vec<(&'static str, serde_json::Value)> {
        match self {
            EnrollmentError::Invalid { field, .. } => vec![("field", serde_json::json!(field))],
            EnrollmentError::Course(e) => e.extensions(),
            EnrollmentError::Identity(e) => e.extensions(),
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
            (EnrollmentError::Forbidden, ErrorCode::Forbidden),
            (EnrollmentError::NotFound("cohort"), ErrorCode::NotFound),
            (
                EnrollmentError::invalid("capacity", "x"),
                ErrorCode::BadUserInput,
            ),
            (EnrollmentError::conflict("closed"), ErrorCode::Conflict),
            (
                EnrollmentError::Course(course::CourseError::Forbidden),
                ErrorCode::Forbidden,
            ),
            (
                EnrollmentError::Identity(identity::IdentityError::NotFound("unit")),
                ErrorCode::NotFound,
            ),
            (
                EnrollmentError::Database(sea_orm::DbErr::Custom("x".into())),
                ErrorCode::Internal,
            ),
        ];
        for (err, code) in cases {
            assert_eq!(err.code(), code, "{err:?}");
        }
    }

    #[test]
    fn invalid_input_names_its_field() {
        assert_eq!(
            EnrollmentError::invalid("dueAt", "x").extensions(),
            vec![("field", serde_json::json!("dueAt"))]
        );
    }
}
