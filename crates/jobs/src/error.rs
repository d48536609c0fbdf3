//! The errors of the job queue, each with the [`ErrorCode`] a client sees.

use kernel::{Coded, ErrorCode};
use uuid::Uuid;

use crate::JobState;

/// What can go wrong when enqueuing, claiming, listing or retrying jobs.
#[derive(Debug, thiserror::Error)]
pub enum JobError {
    /// FORBIDDEN: only an admin (or the system) may see or retry jobs.
    #[error("only an admin may manage background jobs")]
    Forbidden,
    /// NOT_FOUND: no job has this id.
    #[error("no job with id {0}")]
    NotFound(Uuid),
    /// CONFLICT: only a failed job can be retried.
    #[error("the job is {state}; only a failed job can be retried")]
    NotRetryable {
        /// The state the job is in.
        state: JobState,
    },
    /// BAD_USER_INPUT: an argument is invalid; the message says which and why.
    #[error("{0}")]
    InvalidInput(String),
    /// INTERNAL_SERVER_ERROR: the database failed.
    #[error("database error: {0}")]
    Database(#[from] sea_orm::DbErr),
    /// INTERNAL_SERVER_ERROR: a stored row holds a value the code cannot read.
    #[error("corrupt job row: {0}")]
    CorruptRow(String),
}

impl Coded for JobError {
    fn code(&self) -> ErrorCode {
        match self {
            JobError::Forbidden => ErrorCode::Forbidden,
            JobError::NotFound(_) => ErrorCode::NotFound,
            JobError::NotRetryable { .. } => ErrorCode::Conflict,
            JobError::InvalidInput(_) => ErrorCode::BadUserInput,
            JobError::Database(_) | JobError::CorruptRow(_) => ErrorCode::Internal,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn code(err: JobError) -> ErrorCode {
        err.code()
    }

    #[test]
    fn forbidden_is_forbidden() {
        assert_eq!(code(JobError::Forbidden), ErrorCode::Forbidden);
    }

    #[test]
    fn an_unknown_job_is_not_found() {
        assert_eq!(code(JobError::NotFound(Uuid::nil())), ErrorCode::NotFound);
    }

    #[test]
    fn retrying_a_job_that_has_not_failed_is_a_conflict() {
        let err = JobError::NotRetryable {
            state: JobState::Running,
        };
        assert_eq!(
            err.to_string(),
            "the job is running; only a failed job can be retried"
        );
        assert_eq!(code(err), ErrorCode::Conflict);
    }

    #[test]
    fn invalid_input_is_bad_user_input_with_its_message() {
        let err = JobError::InvalidInput("`first` must be between 1 and 100".into());
        assert_eq!(err.to_string(), "`first` must be between 1 and 100");
        assert_eq!(code(err), ErrorCode::BadUserInput);
    }

    #[test]
    fn database_and_corrupt_rows_are_internal_and_hidden_from_clients() {
        let db = JobError::Database(sea_orm::DbErr::Custom("connection refused".into()));
        assert_eq!(code(db), ErrorCode::Internal);
        assert_eq!(
            code(JobError::CorruptRow("payload".into())),
            ErrorCode::Internal
        );
        let gql = kernel::error::to_graphql(JobError::CorruptRow("attempts = -1".into()));
        assert_eq!(gql.message, kernel::error::INTERNAL_MESSAGE);
    }
}
