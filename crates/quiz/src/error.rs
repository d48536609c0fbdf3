//! The quiz crate's errors. `Display` is the client-facing message for every variant but the
//! internal ones. Refusals a client acts on carry a stable `reason` in `extensions`.

use kernel::{Coded, ErrorCode};

/// Why an answer or an attempt was refused, as `extensions.reason`: stable, for clients.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, async_graphql::Enum)]
pub enum Refusal {
    /// The question is not part of this attempt.
    QuestionNotInAttempt,
    /// An option (or matching choice) id that the question does not have.
    UnknownOption,
    /// A numeric answer that is not a number.
    NotANumber,
    /// The answer does not fit the question's type (text for a choice question, ...).
    WrongAnswerType,
    /// A sequence number not above the last saved one for that question.
    StaleSequence,
    /// The answer was given after the attempt's deadline.
    AfterDeadline,
    /// The attempt is closed: submitted, or past its deadline and grace period.
    AttemptClosed,
    /// Every allowed attempt has been used.
    NoAttemptsLeft,
    /// The quiz is not open yet, or closed already.
    OutsideWindow,
    /// The pre-test must be taken first, or the required lessons finished first.
    Locked,
    /// The quiz has no questions to give (none configured, or too few to draw).
    NotReady,
}

/// An error of a quiz operation.
#[derive(Debug, thiserror::Error)]
pub enum QuizError {
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
    /// BAD_USER_INPUT (bad answers) or CONFLICT (state): a refusal with a stable reason.
    #[error("{message}")]
    Refused {
        /// The stable reason.
        reason: Refusal,
        /// What happened, for people.
        message: String,
    },
    /// CONFLICT: the request clashes with the current state.
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
    /// Passes a progress error through with its own code.
    #[error(transparent)]
    Progress(#[from] progress::ProgressError),
    /// Passes a job queue error through (internal).
    #[error("job queue: {0}")]
    Jobs(#[from] jobs::JobError),
    /// INTERNAL_SERVER_ERROR: the database failed.
    #[error("database error: {0}")]
    Database(#[from] sea_orm::DbErr),
    /// INTERNAL_SERVER_ERROR: a stored value this version cannot read.
    #[error("internal error: {0}")]
    Internal(String),
}

impl QuizError {
    /// A BAD_USER_INPUT error for `field`.
    pub fn invalid(field: &'static str, message: impl Into<String>) -> Self {
        QuizError::Invalid {
            field,
            message: message.into(),
        }
    }

    /// A refusal with `reason`.
    pub fn refused(reason: Refusal, message: impl Into<String>) -> Self {
        QuizError::Refused {
            reason,
            message: message.into(),
        }
    }
}

impl Refusal {
    /// The code of a refusal: bad answers are the client's input, the rest is state.
    pub fn code(self) -> ErrorCode {
        match self {
            Refusal::QuestionNotInAttempt
            | Refusal::UnknownOption
            | Refusal::NotANumber
            | Refusal::WrongAnswerType
            | Refusal::StaleSequence
            | Refusal::AfterDeadline => ErrorCode::BadUserInput,
            Refusal::AttemptClosed
            | Refusal::NoAttemptsLeft
            | Refusal::OutsideWindow
            | Refusal::Locked
            | Refusal::NotReady => ErrorCode::Conflict,
        }
    }

    /// The text of `extensions.reason` (SCREAMING_SNAKE_CASE, as the GraphQL enum).
    pub fn as_str(self) -> &'static str {
        match self {
            Refusal::QuestionNotInAttempt => "QUESTION_NOT_IN_ATTEMPT",
            Refusal::UnknownOption => "UNKNOWN_OPTION",
            Refusal::NotANumber => "NOT_A_NUMBER",
            Refusal::WrongAnswerType => "WRONG_ANSWER_TYPE",
            Refusal::StaleSequence => "STALE_SEQUENCE",
            Refusal::AfterDeadline => "AFTER_DEADLINE",
            Refusal::AttemptClosed => "ATTEMPT_CLOSED",
            Refusal::NoAttemptsLeft => "NO_ATTEMPTS_LEFT",
            Refusal::OutsideWindow => "OUTSIDE_WINDOW",
            Refusal::Locked => "LOCKED",
            Refusal::NotReady => "NOT_READY",
        }
    }
}

impl From<kernel::error::CodedError> for QuizError {
    fn from(e: kernel::error::CodedError) -> Self {
        match e.code {
            ErrorCode::BadUserInput => QuizError::invalid("input", e.message),
            ErrorCode::Forbidden => QuizError::Forbidden,
            ErrorCode::Unauthenticated => QuizError::Unauthenticated,
            _ => QuizError::Internal(e.message),
        }
    }
}

impl Coded for QuizError {
    fn code(&self) -> ErrorCode {
        match self {
            QuizError::Unauthenticated => ErrorCode::Unauthenticated,
            QuizError::Forbidden => ErrorCode::Forbidden,
            QuizError::NotFound(_) => ErrorCode::NotFound,
            QuizError::Invalid { .. } => ErrorCode::BadUserInput,
            QuizError::Refused { reason, .. } => reason.code(),
            QuizError::Conflict(_) => ErrorCode::Conflict,
            QuizError::Identity(e) => e.code(),
            QuizError::Course(e) => e.code(),
            QuizError::Enrollment(e) => e.code(),
            QuizError::Progress(e) => e.code(),
            QuizError::Jobs(_) | QuizError::Database(_) | QuizError::Internal(_) => {
                ErrorCode::Internal
            }
        }
    }

    fn extensions(&self) -> Vec<(&'static str, serde_json::Value)> {
        match self {
            QuizError::Invalid { field, .. } => vec![("field", serde_json::json!(field))],
            QuizError::Refused { reason, .. } => {
                vec![("reason", serde_json::json!(reason.as_str()))]
            }
            QuizError::Identity(e) => e.extensions(),
            QuizError::Course(e) => e.extensions(),
            QuizError::Enrollment(e) => e.extensions(),
            QuizError::Progress(e) => e.extensions(),
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
            (QuizError::Unauthenticated, ErrorCode::Unauthenticated),
            (QuizError::Forbidden, ErrorCode::Forbidden),
            (QuizError::NotFound("quiz"), ErrorCode::NotFound),
            (QuizError::invalid("points", "x"), ErrorCode::BadUserInput),
            (
                QuizError::refused(Refusal::NotANumber, "x"),
                ErrorCode::BadUserInput,
            ),
            (
                QuizError::refused(Refusal::AttemptClosed, "x"),
                ErrorCode::Conflict,
            ),
            (QuizError::Conflict("x".into()), ErrorCode::Conflict),
            (
                QuizError::Database(sea_orm::DbErr::Custom("x".into())),
                ErrorCode::Internal,
            ),
            (QuizError::Internal("x".into()), ErrorCode::Internal),
        ];
        for (err, code) in cases {
            assert_eq!(err.code(), code, "{err:?}");
        }
    }

    #[test]
    fn a_refusal_names_its_reason() {
        let ext = QuizError::refused(Refusal::StaleSequence, "x").extensions();
        assert_eq!(ext, vec![("reason", serde_json::json!("STALE_SEQUENCE"))]);
    }
}
