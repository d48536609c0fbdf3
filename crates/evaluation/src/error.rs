//! The evaluation crate's errors. `Display` is the client-facing message for every variant but
//! the internal ones.
//!
//! Codes chosen for the survey rules: a survey that is not open yet (course not completed, no
//! follow-up asked) and a survey answered before are CONFLICT: the request is well formed, the
//! state of the enrollment does not allow it. Someone else's enrollment is FORBIDDEN. An
//! unknown certificate code is NOT_FOUND, whatever its shape.

use kernel::{Coded, ErrorCode};

/// An error of an evaluation operation.
#[derive(Debug, thiserror::Error)]
pub enum EvaluationError {
    /// UNAUTHENTICATED: the operation needs a signed-in person (not the system).
    #[error("sign in first")]
    Unauthenticated,
    /// FORBIDDEN: the actor may not do this.
    #[error("you are not allowed to do this")]
    Forbidden,
    /// NOT_FOUND: no such thing, or not visible to the actor.
    #[error("{0} not found")]
    NotFound(&'static str),
    /// NOT_FOUND: no certificate has this verification code.
    #[error("no certificate has this verification code")]
    UnknownCertificateCode,
    /// BAD_USER_INPUT: a field is invalid.
    #[error("{message}")]
    Invalid {
        /// The input field at fault (`answers[2].likert`).
        field: String,
        /// What is wrong.
        message: String,
    },
    /// CONFLICT: the state does not allow it (the message says why).
    #[error("{0}")]
    Conflict(String),
    /// Passes an identity error through with its own code.
    #[error(transparent)]
    Identity(#[from] identity::IdentityError),
    /// Passes a course error through with its own code.
    #[error(transparent)]
    Course(#[from] course::CourseError),
    /// Passes an enrollment error through with its own code.
    #[error(transparent)]
    Enrollment(#[from] enrollment::EnrollmentError),
    /// Passes a job queue error through (always internal here).
    #[error("job queue: {0}")]
    Jobs(#[from] jobs::JobError),
    /// INTERNAL_SERVER_ERROR: the database failed.
    #[error("database error: {0}")]
    Database(#[from] sea_orm::DbErr),
    /// INTERNAL_SERVER_ERROR: anything else that is our fault.
    #[error("internal error: {0}")]
    Internal(String),
}

impl EvaluationError {
    /// A BAD_USER_INPUT error for `field`.
    pub fn invalid(field: impl Into<String>, message: impl Into<String>) -> Self {
        EvaluationError::Invalid {
            field: field.into(),
            message: message.into(),
        }
    }

    /// A CONFLICT error.
    pub fn conflict(message: impl Into<String>) -> Self {
        EvaluationError::Conflict(message.into())
    }
}

impl From<kernel::error::CodedError> for EvaluationError {
    fn from(e: kernel::error::CodedError) -> Self {
        match e.code {
            ErrorCode::BadUserInput => EvaluationError::invalid("input", e.message),
            ErrorCode::Forbidden => EvaluationError::Forbidden,
            ErrorCode::Unauthenticated => EvaluationError::Unauthenticated,
            _ => EvaluationError::Internal(e.message),
        }
    }
}

impl Coded for EvaluationError {
    fn code(&self) -> ErrorCode {
        match self {
            EvaluationError::Unauthenticated => ErrorCode::Unauthenticated,
            EvaluationError::Forbidden => ErrorCode::Forbidden,
            EvaluationError::NotFound(_) | EvaluationError::UnknownCertificateCode => {
                ErrorCode::NotFound
            }
            EvaluationError::Invalid { .. } => ErrorCode::BadUserInput,
            EvaluationError::Conflict(_) => ErrorCode::Conflict,
            EvaluationError::Identity(e) => e.code(),
            EvaluationError::Course(e) => e.code(),
            EvaluationError::Enrollment(e) => e.code(),
            EvaluationError::Jobs(_)
            | EvaluationError::Database(_)
            | EvaluationError::Internal(_) => ErrorCode::Internal,
        }
    }

    fn extensions(&self) -> Vec<(&'static str, serde_json::Value)> {
        match self {
            EvaluationError::Invalid { field, .. } => vec![("field", serde_json::json!(field))],
            EvaluationError::Identity(e) => e.extensions(),
            EvaluationError::Course(e) => e.extensions(),
            EvaluationError::Enrollment(e) => e.extensions(),
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
            (EvaluationError::Unauthenticated, ErrorCode::Unauthenticated),
            (EvaluationError::Forbidden, ErrorCode::Forbidden),
            (EvaluationError::NotFound("survey"), ErrorCode::NotFound),
            (EvaluationError::UnknownCertificateCode, ErrorCode::NotFound),
            (
                EvaluationError::invalid("answers[0].likert", "x"),
                ErrorCode::BadUserInput,
            ),
            (EvaluationError::conflict("answered"), ErrorCode::Conflict),
            (
                EvaluationError::Identity(identity::IdentityError::Forbidden),
                ErrorCode::Forbidden,
            ),
            (
                EvaluationError::Database(sea_orm::DbErr::Custom("x".into())),
                ErrorCode::Internal,
            ),
            (EvaluationError::Internal("x".into()), ErrorCode::Internal),
        ];
        for (err, code) in cases {
            assert_eq!(err.code(), code, "{err:?}");
        }
    }

    #[test]
    fn an_invalid_field_is_named_in_the_extensions() {
        let ext = EvaluationError::invalid("answers[1].likert", "1 to 5").extensions();
        assert_eq!(ext, vec![("field", serde_json::json!("answers[1].likert"))]);
    }
}
