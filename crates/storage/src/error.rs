//! The one error type of the crate. Each variant says which [`ErrorCode`] it is and, for the
//! local media router, which HTTP status it becomes.

use kernel::{Coded, ErrorCode};

/// Why a storage operation failed.
#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    /// No object under this key. NOT_FOUND, HTTP 404.
    #[error("no object with key `{key}`")]
    NotFound {
        /// The key asked for.
        key: String,
    },
    /// No multipart upload with this id for this key: never created, completed or aborted.
    /// NOT_FOUND, HTTP 404.
    #[error("no upload `{upload_id}` for this object")]
    UploadNotFound {
        /// The upload id asked for.
        upload_id: String,
    },
    /// The key breaks a rule that keeps it inside its folder. BAD_USER_INPUT, HTTP 400.
    #[error("invalid object key: {reason}")]
    InvalidKey {
        /// The rule broken.
        reason: &'static str,
    },
    /// The key clashes with another object in the local folder (`a` and `a/b` cannot both be
    /// files). CONFLICT, HTTP 409.
    #[error("the key clashes with an existing object: a key cannot be both an object and a folder")]
    KeyConflict,
    /// A `Range` header value that is not one `bytes=` range. BAD_USER_INPUT; the HTTP router
    /// ignores such a header and serves the whole object, as RFC 9110 allows.
    #[error("malformed range: {0}")]
    InvalidRange(String),
    /// A well-formed range that does not overlap the object. BAD_USER_INPUT, HTTP 416.
    #[error("range not satisfiable for an object of {size} bytes")]
    RangeNotSatisfiable {
        /// The object's size, for `Content-Range: bytes */size`.
        size: u64,
    },
    /// An argument out of bounds: content type, part number, upload id, expiry. BAD_USER_INPUT.
    #[error("invalid argument: {0}")]
    InvalidArgument(String),
    /// The parts named to complete an upload do not match what arrived. BAD_USER_INPUT.
    #[error("invalid parts: {0}")]
    InvalidParts(String),
    /// A request body larger than the configured limit. BAD_USER_INPUT, HTTP 413.
    #[error("the body is larger than the limit of {limit} bytes")]
    TooLarge {
        /// The limit in bytes.
        limit: u64,
    },
    /// The request body broke off before its end (the client went away). BAD_USER_INPUT, HTTP 400.
    #[error("the request body could not be read: {0}")]
    Body(String),
    /// A signed URL past its expiry. FORBIDDEN, HTTP 403.
    #[error("the signed URL has expired")]
    Expired,
    /// A signed URL whose signature does not match its parameters. FORBIDDEN, HTTP 403.
    #[error("the signed URL is not valid")]
    BadSignature,
    /// The store's configuration is unusable. INTERNAL, HTTP 500.
    #[error("storage is misconfigured: {0}")]
    Config(String),
    /// The local folder failed. INTERNAL, HTTP 500.
    #[error("local storage could not {op}")]
    Io {
        /// What was being done, as a verb phrase.
        op: &'static str,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// The S3 service failed or could not be reached. INTERNAL, HTTP 500.
    #[error("S3 {op} failed: {detail}")]
    S3 {
        /// The S3 operation.
        op: &'static str,
        /// The SDK's error with its whole chain of causes.
        detail: String,
    },
}

impl StorageError {
    /// An [`StorageError::Io`] maker for `map_err`.
    pub(crate) fn io(op: &'static str) -> impl FnOnce(std::io::Error) -> StorageError {
        move |source| StorageError::Io { op, source }
    }
}

impl Coded for StorageError {
    fn code(&self) -> ErrorCode {
        match self {
            StorageError::NotFound { .. } | StorageError::UploadNotFound { .. } => {
                ErrorCode::NotFound
            }
            StorageError::InvalidKey { .. }
            | StorageError::InvalidRange(_)
            | StorageError::RangeNotSatisfiable { .. }
            | StorageError::InvalidArgument(_)
            | StorageError::InvalidParts(_)
            | StorageError::TooLarge { .. }
            | StorageError::Body(_) => ErrorCode::BadUserInput,
            StorageError::KeyConflict => ErrorCode::Conflict,
            StorageError::Expired | StorageError::BadSignature => ErrorCode::Forbidden,
            StorageError::Config(_) | StorageError::Io { .. } | StorageError::S3 { .. } => {
                ErrorCode::Internal
            }
        }
    }

    fn extensions(&self) -> Vec<(&'static str, serde_json::Value)> {
        match self {
            StorageError::RangeNotSatisfiable { size } => vec![("objectSize", (*size).into())],
            StorageError::TooLarge { limit } => vec![("limitBytes", (*limit).into())],
            _ => Vec::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_variant_maps_to_its_code() {
        let cases = [
            (
                StorageError::NotFound { key: "a".into() },
                ErrorCode::NotFound,
            ),
            (
                StorageError::UploadNotFound {
                    upload_id: "u".into(),
                },
                ErrorCode::NotFound,
            ),
            (
                StorageError::InvalidKey { reason: "r" },
                ErrorCode::BadUserInput,
            ),
            (StorageError::KeyConflict, ErrorCode::Conflict),
            (
                StorageError::InvalidRange("x".into()),
                ErrorCode::BadUserInput,
            ),
            (
                StorageError::RangeNotSatisfiable { size: 3 },
                ErrorCode::BadUserInput,
            ),
            (
                StorageError::InvalidArgument("x".into()),
                ErrorCode::BadUserInput,
            ),
            (
                StorageError::InvalidParts("x".into()),
                ErrorCode::BadUserInput,
            ),
            (StorageError::TooLarge { limit: 1 }, ErrorCode::BadUserInput),
            (StorageError::Body("x".into()), ErrorCode::BadUserInput),
            (StorageError::Expired, ErrorCode::Forbidden),
            (StorageError::BadSignature, ErrorCode::Forbidden),
            (StorageError::Config("x".into()), ErrorCode::Internal),
            (
                StorageError::Io {
                    op: "write",
                    source: std::io::Error::other("disk full"),
                },
                ErrorCode::Internal,
            ),
            (
                StorageError::S3 {
                    op: "PutObject",
                    detail: "timeout".into(),
                },
                ErrorCode::Internal,
            ),
        ];
        for (err, code) in cases {
            assert_eq!(err.code(), code, "{err:?}");
        }
    }

    #[test]
    fn an_unsatisfiable_range_tells_the_object_size() {
        let ext = StorageError::RangeNotSatisfiable { size: 42 }.extensions();
        assert_eq!(ext, vec![("objectSize", serde_json::Value::from(42u64))]);
    }
}
