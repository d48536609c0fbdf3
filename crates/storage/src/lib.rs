//! Object storage for recorded material: one interface, [`ObjectStore`], over two backends.
//!
//! - [`S3Store`]: any S3 endpoint (AWS, Garage, MinIO) through aws-sdk-s3, path-style addressing.
//!   Phones fetch and upload directly with presigned URLs.
//! - [`LocalStore`]: a folder on the server's disk, the embedded default. Its signed URLs point at
//!   [`local_media_router`], which the gateway nests under `/media`.
//!
//! Both backends behave the same as far as a caller can tell (the conformance suite in
//! `tests/it` runs against both): the same key rules, range semantics, multipart rules (parts of
//! at least 5 MiB but the last, ascending part numbers), ETags (the quoted hex MD5 of the bytes)
//! and presigned-PUT rules (the client must send the `Content-Type` the URL was signed for).
//!
//! Invariants: a key is checked by [`validate_key`] before any backend sees it, so it can never
//! name a file outside the local folder; bodies are streamed, never read whole, except by
//! [`ObjectStore::get_bytes`], which is for small objects.

mod error;
mod key;
mod local;
mod range;
mod s3;

use std::fmt;
use std::ops::Range;
use std::path::Path;
use std::time::Duration;

use bytes::Bytes;
use futures::TryStreamExt;
use futures::stream::BoxStream;

pub use error::StorageError;
pub use key::{MAX_KEY_LEN, validate_key};
pub use local::router::local_media_router;
pub use local::{LocalStore, LocalStoreConfig};
pub use range::ByteRange;
pub use s3::{S3Config, S3Store};

/// The smallest size of every part of a multipart upload but the last (S3's rule, enforced
/// locally too so that a client that works against the local store works against S3).
pub const MIN_PART_SIZE: u64 = 5 * 1024 * 1024;

/// The highest part number of a multipart upload.
pub const MAX_PART_NUMBER: u32 = 10_000;

/// The longest life of a signed URL (S3's limit for SigV4 presigning, enforced locally too).
pub const MAX_PRESIGN_EXPIRY: Duration = Duration::from_secs(7 * 24 * 3600);

/// The content type of an object stored without one.
pub const DEFAULT_CONTENT_TYPE: &str = "application/octet-stream";

/// An object body as a stream of chunks; an `io::Error` so it can feed a
/// `tokio_util::io::StreamReader` or an HTTP body directly.
pub type BodyStream = BoxStream<'static, std::io::Result<Bytes>>;

/// What is known about a stored object without reading it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectMeta {
    /// The size in bytes.
    pub size: u64,
    /// The content type given when it was stored.
    pub content_type: String,
}

/// One part of a multipart upload as the store has it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartInfo {
    /// The part number, 1 to [`MAX_PART_NUMBER`].
    pub part_number: u32,
    /// The part's size in bytes.
    pub size: u64,
    /// The part's ETag: the quoted hex MD5 of its bytes, as the part PUT returned it.
    pub etag: String,
}

/// A part named when completing a multipart upload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CompletedPart {
    /// The part number.
    pub part_number: u32,
    /// The ETag the part PUT returned (quoted or not).
    pub etag: String,
}

/// An object being read: its size, the bytes served and their stream.
pub struct GetObject {
    /// The whole object's size in bytes.
    pub size: u64,
    /// The bytes served, half-open; the whole object unless a range was asked for.
    pub range: Range<u64>,
    /// Whether a range was asked for (HTTP 206 rather than 200).
    pub partial: bool,
    /// The object's content type.
    pub content_type: String,
    /// The served bytes.
    pub body: BodyStream,
}

impl GetObject {
    /// How many bytes the body holds.
    pub fn content_length(&self) -> u64 {
        self.range.end - self.range.start
    }

    /// The `Content-Range` header value for a partial response (`bytes 0-499/1000`).
    pub fn content_range(&self) -> Option<String> {
        (self.partial && self.content_length() > 0).then(|| {
            format!(
                "bytes {}-{}/{}",
                self.range.start,
                self.range.end - 1,
                self.size
            )
        })
    }

    /// Reads the whole body into memory: for small objects only.
    ///
    /// # Errors
    /// [`StorageError::Io`] when the stream breaks off.
    pub async fn bytes(self) -> Result<Bytes, StorageError> {
        let chunks: Vec<Bytes> = self
            .body
            .try_collect()
            .await
            .map_err(StorageError::io("read the object body"))?;
        Ok(chunks.concat().into())
    }
}

impl fmt::Debug for GetObject {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GetObject")
            .field("size", &self.size)
            .field("range", &self.range)
            .field("partial", &self.partial)
            .field("content_type", &self.content_type)
            .finish_non_exhaustive()
    }
}

/// The object store: an S3 bucket or a local folder. Cheap to clone.
#[derive(Debug, Clone)]
pub enum ObjectStore {
    /// A folder on the server's disk, served by [`local_media_router`].
    Local(LocalStore),
    /// An S3 bucket.
    S3(S3Store),
}

impl From<LocalStore> for ObjectStore {
    fn from(store: LocalStore) -> Self {
        ObjectStore::Local(store)
    }
}

impl From<S3Store> for ObjectStore {
    fn from(store: S3Store) -> Self {
        ObjectStore::S3(store)
    }
}

/// Calls the same method on whichever backend this is.
macro_rules! dispatch {
    ($self:ident, $store:ident => $call:expr) => {
        match $self {
            ObjectStore::Local($store) => $call,
            ObjectStore::S3($store) => $call,
        }
    };
}

impl ObjectStore {
    /// `"local"` or `"s3"`, for logs and the readiness report.
    pub fn backend_name(&self) -> &'static str {
        match self {
            ObjectStore::Local(_) => "local",
            ObjectStore::S3(_) => "s3",
        }
    }

    /// Stores `bytes` under `key`, replacing any object there.
    ///
    /// # Errors
    /// [`StorageError::InvalidKey`], [`StorageError::InvalidArgument`] for a bad content type,
    /// [`StorageError::KeyConflict`] (local only), or a backend failure.
    pub async fn put(
        &self,
        key: &str,
        bytes: Bytes,
        content_type: &str,
    ) -> Result<(), StorageError> {
        dispatch!(self, s => s.put(key, bytes, content_type).await)
    }

    /// Stores the file at `path` under `key`, streaming it (for large outputs such as transcoded
    /// renditions; S3 takes up to 5 GiB in one PUT).
    ///
    /// # Errors
    /// As [`ObjectStore::put`], plus [`StorageError::Io`] when the file cannot be read.
    pub async fn put_file(
        &self,
        key: &str,
        path: &Path,
        content_type: &str,
    ) -> Result<(), StorageError> {
        dispatch!(self, s => s.put_file(key, path, content_type).await)
    }

    /// Opens the object under `key`, or the part of it that `range` selects, as a stream.
    ///
    /// # Errors
    /// [`StorageError::NotFound`], [`StorageError::RangeNotSatisfiable`] (HTTP 416),
    /// [`StorageError::InvalidKey`], or a backend failure.
    pub async fn get(
        &self,
        key: &str,
        range: Option<ByteRange>,
    ) -> Result<GetObject, StorageError> {
        dispatch!(self, s => s.get(key, range).await)
    }

    /// Reads the whole object into memory: for small objects only.
    ///
    /// # Errors
    /// As [`ObjectStore::get`].
    pub async fn get_bytes(&self, key: &str) -> Result<Bytes, StorageError> {
        self.get(key, None).await?.bytes().await
    }

    /// The object's size and content type, or `None` when there is none.
    ///
    /// # Errors
    /// [`StorageError::InvalidKey`] or a backend failure.
    pub async fn head(&self, key: &str) -> Result<Option<ObjectMeta>, StorageError> {
        dispatch!(self, s => s.head(key).await)
    }

    /// Deletes the object; deleting a missing object succeeds.
    ///
    /// # Errors
    /// [`StorageError::InvalidKey`] or a backend failure.
    pub async fn delete(&self, key: &str) -> Result<(), StorageError> {
        dispatch!(self, s => s.delete(key).await)
    }

    /// A URL that lets its holder GET (and HEAD) the object, with `Range`, until it expires.
    ///
    /// # Errors
    /// [`StorageError::InvalidKey`], or [`StorageError::InvalidArgument`] for an expiry of zero or
    /// over [`MAX_PRESIGN_EXPIRY`].
    pub async fn presign_get(
        &self,
        key: &str,
        expires_in: Duration,
    ) -> Result<String, StorageError> {
        dispatch!(self, s => s.presign_get(key, expires_in).await)
    }

    /// A URL that lets its holder PUT the object once or more until it expires. The PUT must
    /// carry `Content-Type: content_type` exactly, or it is refused with 403.
    ///
    /// # Errors
    /// As [`ObjectStore::presign_get`], plus a bad content type.
    pub async fn presign_put(
        &self,
        key: &str,
        expires_in: Duration,
        content_type: &str,
    ) -> Result<String, StorageError> {
        dispatch!(self, s => s.presign_put(key, expires_in, content_type).await)
    }

    /// Starts a multipart upload of `key` and returns its upload id.
    ///
    /// # Errors
    /// [`StorageError::InvalidKey`], a bad content type, or a backend failure.
    pub async fn create_multipart(
        &self,
        key: &str,
        content_type: &str,
    ) -> Result<String, StorageError> {
        dispatch!(self, s => s.create_multipart(key, content_type).await)
    }

    /// A URL that lets its holder PUT part `part_number` of the upload; the response carries the
    /// part's `ETag`. A part may be sent again: the last one wins.
    ///
    /// # Errors
    /// [`StorageError::InvalidKey`], or [`StorageError::InvalidArgument`] for a part number out of
    /// 1..=10000, a malformed upload id or a bad expiry.
    pub async fn presign_part(
        &self,
        key: &str,
        upload_id: &str,
        part_number: u32,
        expires_in: Duration,
    ) -> Result<String, StorageError> {
        dispatch!(self, s => s.presign_part(key, upload_id, part_number, expires_in).await)
    }

    /// The parts that have arrived, by part number: what a resumed upload still has to send.
    ///
    /// # Errors
    /// [`StorageError::UploadNotFound`], or a backend failure.
    pub async fn list_parts(
        &self,
        key: &str,
        upload_id: &str,
    ) -> Result<Vec<PartInfo>, StorageError> {
        dispatch!(self, s => s.list_parts(key, upload_id).await)
    }

    /// Joins the named parts, in order, into the object; parts not named are dropped.
    ///
    /// # Errors
    /// [`StorageError::UploadNotFound`]; [`StorageError::InvalidParts`] when the list is empty or
    /// not ascending, a part is missing, its ETag differs, or a part but the last is under
    /// [`MIN_PART_SIZE`]; or a backend failure.
    pub async fn complete_multipart(
        &self,
        key: &str,
        upload_id: &str,
        parts: &[CompletedPart],
    ) -> Result<(), StorageError> {
        dispatch!(self, s => s.complete_multipart(key, upload_id, parts).await)
    }

    /// Abandons the upload and frees its parts; aborting an unknown upload succeeds, so cleanup
    /// can be retried.
    ///
    /// # Errors
    /// [`StorageError::InvalidKey`] or a backend failure.
    pub async fn abort_multipart(&self, key: &str, upload_id: &str) -> Result<(), StorageError> {
        dispatch!(self, s => s.abort_multipart(key, upload_id).await)
    }

    /// Readiness: the bucket answers, or the folder takes a write.
    ///
    /// # Errors
    /// A backend failure saying why not.
    pub async fn check(&self) -> Result<(), StorageError> {
        dispatch!(self, s => s.check().await)
    }
}

/// Checks the life of a signed URL against what both backends allow.
pub(crate) fn check_expiry(expires_in: Duration) -> Result<(), StorageError> {
    if expires_in.is_zero() || expires_in > MAX_PRESIGN_EXPIRY {
        return Err(StorageError::InvalidArgument(
            "a signed URL lives from 1 second to 7 days".into(),
        ));
    }
    Ok(())
}

/// Checks a part number against S3's bounds.
pub(crate) fn check_part_number(part_number: u32) -> Result<(), StorageError> {
    if !(1..=MAX_PART_NUMBER).contains(&part_number) {
        return Err(StorageError::InvalidArgument(format!(
            "part numbers run from 1 to {MAX_PART_NUMBER}"
        )));
    }
    Ok(())
}

/// Checks the list of parts to complete: not empty, each number valid, strictly ascending (S3
/// refuses anything else, so the local store does too).
pub(crate) fn check_completed_parts(parts: &[CompletedPart]) -> Result<(), StorageError> {
    if parts.is_empty() {
        return Err(StorageError::InvalidParts("no parts named".into()));
    }
    for part in parts {
        check_part_number(part.part_number)?;
    }
    if parts
        .windows(2)
        .any(|w| w[0].part_number >= w[1].part_number)
    {
        return Err(StorageError::InvalidParts(
            "part numbers must be strictly ascending".into(),
        ));
    }
    Ok(())
}

/// An ETag without its quotes, lower case, for comparing.
pub(crate) fn bare_etag(etag: &str) -> String {
    etag.trim().trim_matches('"').to_ascii_lowercase()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn part(n: u32) -> CompletedPart {
        CompletedPart {
            part_number: n,
            etag: "\"x\"".into(),
        }
    }

    #[test]
    fn completed_parts_must_ascend() {
        assert!(check_completed_parts(&[part(1), part(2), part(5)]).is_ok());
        for bad in [
            vec![],
            vec![part(2), part(1)],
            vec![part(1), part(1)],
            vec![part(0)],
        ] {
            assert!(check_completed_parts(&bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn signed_urls_live_between_a_second_and_a_week() {
        assert!(check_expiry(Duration::from_secs(1)).is_ok());
        assert!(check_expiry(MAX_PRESIGN_EXPIRY).is_ok());
        assert!(check_expiry(Duration::ZERO).is_err());
        assert!(check_expiry(MAX_PRESIGN_EXPIRY + Duration::from_secs(1)).is_err());
    }

    #[test]
    fn etags_compare_without_quotes_or_case() {
        assert_eq!(bare_etag("\"ABC\""), bare_etag("abc"));
    }
}
