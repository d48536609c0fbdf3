//! The S3 backend, through aws-sdk-s3 with an explicit configuration (no aws-config: the
//! platform's own config says everything, and nothing is read from the environment behind its
//! back).

use std::fmt;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use aws_sdk_s3::Client;
use aws_sdk_s3::config::{
    BehaviorVersion, Credentials, Region, RequestChecksumCalculation, ResponseChecksumValidation,
};
use aws_sdk_s3::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use aws_sdk_s3::presigning::{PresignedRequest, PresigningConfig};
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{CompletedMultipartUpload, CompletedPart as S3CompletedPart};
use bytes::Bytes;
use futures::StreamExt;
use kernel::{Secret, SharedClock};

use crate::key::validate_content_type;
use crate::range::parse_content_range;
use crate::{
    ByteRange, CompletedPart, DEFAULT_CONTENT_TYPE, GetObject, ObjectMeta, PartInfo, StorageError,
    check_completed_parts, check_expiry, check_part_number, validate_key,
};

/// How the S3 store is set up.
#[derive(Debug, Clone)]
pub struct S3Config {
    /// The endpoint the server talks to (`http://garage:3900`, `https://s3.ap-southeast-3.amazonaws.com`).
    pub endpoint_url: String,
    /// The endpoint presigned URLs name, when clients reach storage by another address than the
    /// server does (a public host in front of an internal service). SigV4 signs the host, so it
    /// has to be right when signing, not rewritten after.
    pub public_endpoint_url: Option<String>,
    /// The region (`garage` for Garage's default).
    pub region: String,
    /// The bucket.
    pub bucket: String,
    /// The access key id.
    pub access_key_id: String,
    /// The secret access key.
    pub secret_access_key: Secret,
    /// Put before every key, joined with `/` (empty for none): lets several deployments or test
    /// runs share one bucket.
    pub key_prefix: String,
    /// The clock that dates presigned URLs.
    pub clock: SharedClock,
}

/// The S3 store. Cheap to clone.
#[derive(Clone)]
pub struct S3Store(Arc<Inner>);

struct Inner {
    client: Client,
    presign_client: Client,
    bucket: String,
    prefix: String,
    endpoint_url: String,
    clock: SharedClock,
}

impl fmt::Debug for S3Store {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("S3Store")
            .field("endpoint_url", &self.0.endpoint_url)
            .field("bucket", &self.0.bucket)
            .field("key_prefix", &self.0.prefix)
            .finish_non_exhaustive()
    }
}

fn client(config: &S3Config, endpoint_url: &str) -> Result<Client, StorageError> {
    if !(endpoint_url.starts_with("http://") || endpoint_url.starts_with("https://")) {
        return Err(StorageError::Config(
            "an S3 endpoint URL must start with http:// or https://".into(),
        ));
    }
    let credentials = Credentials::new(
        config.access_key_id.clone(),
        config.secret_access_key.expose().to_owned(),
        None,
        None,
        "lms-config",
    );
    let conf = aws_sdk_s3::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new(config.region.clone()))
        .endpoint_url(endpoint_url)
        .credentials_provider(credentials)
        .force_path_style(true)
        // The SDK's default since 1.69 adds CRC32 checksums with aws-chunked bodies to every
        // upload, which several S3-compatible servers refuse; ask only where S3 requires it.
        .request_checksum_calculation(RequestChecksumCalculation::WhenRequired)
        .response_checksum_validation(ResponseChecksumValidation::WhenRequired)
        .build();
    Ok(Client::from_conf(conf))
}

/// The HTTP status of a service error, if the service answered.
fn status<E>(err: &SdkError<E>) -> Option<u16> {
    err.raw_response().map(|r| r.status().as_u16())
}

/// Whether the error says the object (or upload) is not there. A missing bucket is a 404 too,
/// but that is a misconfiguration, not a missing object.
fn is_missing<E: ProvideErrorMetadata>(err: &SdkError<E>) -> bool {
    status(err) == Some(404) && err.code() != Some("NoSuchBucket")
}

fn s3_error<E>(op: &'static str, err: &SdkError<E>) -> StorageError
where
    E: std::error::Error + 'static,
{
    StorageError::S3 {
        op,
        detail: DisplayErrorContext(err).to_string(),
    }
}

/// NoSuchUpload (404) becomes [`StorageError::UploadNotFound`]; anything else is internal.
fn upload_error<E>(op: &'static str, upload_id: &str, err: &SdkError<E>) -> StorageError
where
    E: std::error::Error + ProvideErrorMetadata + 'static,
{
    if is_missing(err) || err.code() == Some("NoSuchUpload") {
        StorageError::UploadNotFound {
            upload_id: upload_id.to_owned(),
        }
    } else {
        s3_error(op, err)
    }
}

fn size_of(len: Option<i64>) -> u64 {
    len.and_then(|n| u64::try_from(n).ok()).unwrap_or(0)
}

impl S3Store {
    /// Builds the clients; makes no request (see [`S3Store::check`]).
    ///
    /// # Errors
    /// [`StorageError::Config`] for an endpoint that is not http(s), an empty bucket or a prefix
    /// that is not a valid key.
    pub fn new(config: S3Config) -> Result<Self, StorageError> {
        if config.bucket.is_empty() {
            return Err(StorageError::Config("the S3 bucket is not set".into()));
        }
        let prefix = config.key_prefix.trim_matches('/').to_owned();
        if !prefix.is_empty() && validate_key(&prefix).is_err() {
            return Err(StorageError::Config(
                "the S3 key prefix must be a valid key".into(),
            ));
        }
        let client = client(&config, &config.endpoint_url)?;
        let presign_client = match &config.public_endpoint_url {
            Some(url) => client_for_presigning(&config, url)?,
            None => client.clone(),
        };
        Ok(S3Store(Arc::new(Inner {
            client,
            presign_client,
            bucket: config.bucket,
            prefix,
            endpoint_url: config.endpoint_url,
            clock: config.clock,
        })))
    }

    /// The full S3 key of `key`, after checking it.
    fn full_key(&self, key: &str) -> Result<String, StorageError> {
        validate_key(key)?;
        Ok(if self.0.prefix.is_empty() {
            key.to_owned()
        } else {
            format!("{}/{key}", self.0.prefix)
        })
    }

    fn presigning(&self, expires_in: Duration) -> Result<PresigningConfig, StorageError> {
        check_expiry(expires_in)?;
        PresigningConfig::builder()
            .start_time(SystemTime::from(self.0.clock.now()))
            .expires_in(expires_in)
            .build()
            .map_err(|e| StorageError::InvalidArgument(e.to_string()))
    }

    /// Stores `bytes` under `key`.
    ///
    /// # Errors
    /// [`StorageError::InvalidKey`], a bad content type, [`StorageError::S3`].
    pub async fn put(
        &self,
        key: &str,
        bytes: Bytes,
        content_type: &str,
    ) -> Result<(), StorageError> {
        self.put_body(key, ByteStream::from(bytes), content_type)
            .await
    }

    /// Streams the file at `path` into `key` (one PUT: up to 5 GiB).
    ///
    /// # Errors
    /// As [`S3Store::put`], plus [`StorageError::Io`] when the file cannot be read.
    pub async fn put_file(
        &self,
        key: &str,
        path: &Path,
        content_type: &str,
    ) -> Result<(), StorageError> {
        let body = ByteStream::from_path(path)
            .await
            .map_err(|e| StorageError::Io {
                op: "open the file to store",
                source: std::io::Error::other(e),
            })?;
        self.put_body(key, body, content_type).await
    }

    async fn put_body(
        &self,
        key: &str,
        body: ByteStream,
        content_type: &str,
    ) -> Result<(), StorageError> {
        let full = self.full_key(key)?;
        validate_content_type(content_type)?;
        self.0
            .client
            .put_object()
            .bucket(&self.0.bucket)
            .key(full)
            .content_type(content_type)
            .body(body)
            .send()
            .await
            .map_err(|e| s3_error("PutObject", &e))?;
        Ok(())
    }

    /// Opens the object, or the part `range` selects, as a stream.
    ///
    /// # Errors
    /// [`StorageError::NotFound`], [`StorageError::RangeNotSatisfiable`],
    /// [`StorageError::InvalidKey`], [`StorageError::S3`].
    pub async fn get(
        &self,
        key: &str,
        range: Option<ByteRange>,
    ) -> Result<GetObject, StorageError> {
        let full = self.full_key(key)?;
        let result = self
            .0
            .client
            .get_object()
            .bucket(&self.0.bucket)
            .key(full)
            .set_range(range.map(|r| r.to_string()))
            .send()
            .await;
        let output = match result {
            Ok(output) => output,
            Err(e) if is_missing(&e) => {
                return Err(StorageError::NotFound {
                    key: key.to_owned(),
                });
            }
            // S3's 416 does not say the size, which a 416 response must; ask for it.
            Err(e) if status(&e) == Some(416) => {
                return Err(match self.head(key).await? {
                    Some(meta) => StorageError::RangeNotSatisfiable { size: meta.size },
                    None => StorageError::NotFound {
                        key: key.to_owned(),
                    },
                });
            }
            Err(e) => return Err(s3_error("GetObject", &e)),
        };
        let length = size_of(output.content_length());
        // A server may answer a range with the whole object (200, no Content-Range); then the
        // response is the whole object, not partial.
        let (served, size, partial) = match output.content_range().and_then(parse_content_range) {
            Some((served, size)) if range.is_some() => (served, size, true),
            _ => (0..length, length, false),
        };
        let content_type = output
            .content_type()
            .unwrap_or(DEFAULT_CONTENT_TYPE)
            .to_owned();
        let body = futures::stream::unfold(output.body, |mut body| async move {
            body.next()
                .await
                .map(|chunk| (chunk.map_err(std::io::Error::other), body))
        });
        Ok(GetObject {
            size,
            range: served,
            partial,
            content_type,
            body: body.boxed(),
        })
    }

    /// The object's size and content type, or `None`.
    ///
    /// # Errors
    /// [`StorageError::InvalidKey`], [`StorageError::S3`].
    pub async fn head(&self, key: &str) -> Result<Option<ObjectMeta>, StorageError> {
        let full = self.full_key(key)?;
        match self
            .0
            .client
            .head_object()
            .bucket(&self.0.bucket)
            .key(full)
            .send()
            .await
        {
            Ok(output) => Ok(Some(ObjectMeta {
                size: size_of(output.content_length()),
                content_type: output
                    .content_type()
                    .unwrap_or(DEFAULT_CONTENT_TYPE)
                    .to_owned(),
            })),
            Err(e) if is_missing(&e) => Ok(None),
            Err(e) => Err(s3_error("HeadObject", &e)),
        }
    }

    /// Deletes the object; S3 itself answers success for a missing one.
    ///
    /// # Errors
    /// [`StorageError::InvalidKey`], [`StorageError::S3`].
    pub async fn delete(&self, key: &str) -> Result<(), StorageError> {
        let full = self.full_key(key)?;
        self.0
            .client
            .delete_object()
            .bucket(&self.0.bucket)
            .key(full)
            .send()
            .await
            .map_err(|e| s3_error("DeleteObject", &e))?;
        Ok(())
    }

    /// A presigned GET URL.
    ///
    /// # Errors
    /// [`StorageError::InvalidKey`], [`StorageError::InvalidArgument`] for a bad expiry,
    /// [`StorageError::S3`].
    pub async fn presign_get(
        &self,
        key: &str,
        expires_in: Duration,
    ) -> Result<String, StorageError> {
        let full = self.full_key(key)?;
        let presigned = self
            .0
            .presign_client
            .get_object()
            .bucket(&self.0.bucket)
            .key(full)
            .presigned(self.presigning(expires_in)?)
            .await
            .map_err(|e| s3_error("presign GetObject", &e))?;
        Ok(url_of(&presigned))
    }

    /// A presigned PUT URL; the PUT must send `Content-Type: content_type` (it is signed).
    ///
    /// # Errors
    /// As [`S3Store::presign_get`], plus a bad content type.
    pub async fn presign_put(
        &self,
        key: &str,
        expires_in: Duration,
        content_type: &str,
    ) -> Result<String, StorageError> {
        let full = self.full_key(key)?;
        validate_content_type(content_type)?;
        let presigned = self
            .0
            .presign_client
            .put_object()
            .bucket(&self.0.bucket)
            .key(full)
            .content_type(content_type)
            .presigned(self.presigning(expires_in)?)
            .await
            .map_err(|e| s3_error("presign PutObject", &e))?;
        Ok(url_of(&presigned))
    }

    /// Starts a multipart upload.
    ///
    /// # Errors
    /// [`StorageError::InvalidKey`], a bad content type, [`StorageError::S3`].
    pub async fn create_multipart(
        &self,
        key: &str,
        content_type: &str,
    ) -> Result<String, StorageError> {
        let full = self.full_key(key)?;
        validate_content_type(content_type)?;
        let output = self
            .0
            .client
            .create_multipart_upload()
            .bucket(&self.0.bucket)
            .key(full)
            .content_type(content_type)
            .send()
            .await
            .map_err(|e| s3_error("CreateMultipartUpload", &e))?;
        output
            .upload_id()
            .map(str::to_owned)
            .ok_or_else(|| StorageError::S3 {
                op: "CreateMultipartUpload",
                detail: "the response has no upload id".into(),
            })
    }

    /// A presigned UploadPart URL.
    ///
    /// # Errors
    /// [`StorageError::InvalidKey`], [`StorageError::InvalidArgument`] for a bad part number,
    /// upload id or expiry, [`StorageError::S3`].
    pub async fn presign_part(
        &self,
        key: &str,
        upload_id: &str,
        part_number: u32,
        expires_in: Duration,
    ) -> Result<String, StorageError> {
        let full = self.full_key(key)?;
        check_part_number(part_number)?;
        if upload_id.is_empty() || upload_id.chars().any(char::is_control) {
            return Err(StorageError::InvalidArgument("malformed upload id".into()));
        }
        let presigned = self
            .0
            .presign_client
            .upload_part()
            .bucket(&self.0.bucket)
            .key(full)
            .upload_id(upload_id)
            .part_number(part_number_i32(part_number))
            .presigned(self.presigning(expires_in)?)
            .await
            .map_err(|e| s3_error("presign UploadPart", &e))?;
        Ok(url_of(&presigned))
    }

    /// The parts that have arrived, following S3's pages of 1000.
    ///
    /// # Errors
    /// [`StorageError::UploadNotFound`], [`StorageError::S3`].
    pub async fn list_parts(
        &self,
        key: &str,
        upload_id: &str,
    ) -> Result<Vec<PartInfo>, StorageError> {
        let full = self.full_key(key)?;
        let mut parts = Vec::new();
        let mut marker: Option<String> = None;
        loop {
            let page = self
                .0
                .client
                .list_parts()
                .bucket(&self.0.bucket)
                .key(&full)
                .upload_id(upload_id)
                .set_part_number_marker(marker.take())
                .send()
                .await
                .map_err(|e| upload_error("ListParts", upload_id, &e))?;
            parts.extend(page.parts().iter().filter_map(|p| {
                Some(PartInfo {
                    part_number: u32::try_from(p.part_number()?).ok()?,
                    size: size_of(p.size()),
                    etag: p.e_tag()?.to_owned(),
                })
            }));
            match page.next_part_number_marker() {
                Some(next) if page.is_truncated() == Some(true) => marker = Some(next.to_owned()),
                _ => break,
            }
        }
        parts.sort_by_key(|p| p.part_number);
        Ok(parts)
    }

    /// Joins the named parts into the object.
    ///
    /// # Errors
    /// [`StorageError::UploadNotFound`], [`StorageError::InvalidParts`] (also for S3's
    /// InvalidPart, InvalidPartOrder and EntityTooSmall), [`StorageError::S3`].
    pub async fn complete_multipart(
        &self,
        key: &str,
        upload_id: &str,
        parts: &[CompletedPart],
    ) -> Result<(), StorageError> {
        let full = self.full_key(key)?;
        check_completed_parts(parts)?;
        let completed = CompletedMultipartUpload::builder()
            .set_parts(Some(
                parts
                    .iter()
                    .map(|p| {
                        S3CompletedPart::builder()
                            .part_number(part_number_i32(p.part_number))
                            .e_tag(&p.etag)
                            .build()
                    })
                    .collect(),
            ))
            .build();
        let result = self
            .0
            .client
            .complete_multipart_upload()
            .bucket(&self.0.bucket)
            .key(full)
            .upload_id(upload_id)
            .multipart_upload(completed)
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            Err(e)
                if matches!(
                    e.code(),
                    Some("InvalidPart" | "InvalidPartOrder" | "EntityTooSmall")
                ) =>
            {
                Err(StorageError::InvalidParts(
                    e.message().unwrap_or("S3 refused the parts").to_owned(),
                ))
            }
            Err(e) => Err(upload_error("CompleteMultipartUpload", upload_id, &e)),
        }
    }

    /// Abandons the upload; an unknown upload is fine.
    ///
    /// # Errors
    /// [`StorageError::InvalidKey`], [`StorageError::S3`].
    pub async fn abort_multipart(&self, key: &str, upload_id: &str) -> Result<(), StorageError> {
        let full = self.full_key(key)?;
        match self
            .0
            .client
            .abort_multipart_upload()
            .bucket(&self.0.bucket)
            .key(full)
            .upload_id(upload_id)
            .send()
            .await
        {
            Ok(_) => Ok(()),
            Err(e) => match upload_error("AbortMultipartUpload", upload_id, &e) {
                StorageError::UploadNotFound { .. } => Ok(()),
                other => Err(other),
            },
        }
    }

    /// Readiness: the bucket answers HeadBucket with these credentials.
    ///
    /// # Errors
    /// [`StorageError::S3`] saying why not.
    pub async fn check(&self) -> Result<(), StorageError> {
        self.0
            .client
            .head_bucket()
            .bucket(&self.0.bucket)
            .send()
            .await
            .map_err(|e| s3_error("HeadBucket", &e))?;
        Ok(())
    }
}

fn client_for_presigning(config: &S3Config, url: &str) -> Result<Client, StorageError> {
    client(config, url)
}

fn url_of(presigned: &PresignedRequest) -> String {
    presigned.uri().to_owned()
}

/// A checked part number (1..=10000) always fits.
fn part_number_i32(n: u32) -> i32 {
    i32::try_from(n).unwrap_or(i32::MAX)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn config() -> S3Config {
        S3Config {
            endpoint_url: "http://127.0.0.1:3900".into(),
            public_endpoint_url: Some("https://media.example.go.id".into()),
            region: "garage".into(),
            bucket: "lms".into(),
            access_key_id: "GK0123456789abcdef01234567".into(),
            secret_access_key: Secret::new("hunter2-the-secret-access-key"),
            key_prefix: "/tests/run-1/".into(),
            clock: Arc::new(kernel::SystemClock),
        }
    }

    #[test]
    fn debug_never_prints_the_secret() {
        let store = S3Store::new(config()).unwrap();
        let printed = format!("{store:?} {:?}", config());
        assert!(!printed.contains("hunter2"), "{printed}");
    }

    #[tokio::test]
    async fn presigned_urls_use_the_public_endpoint_path_style_and_the_prefix() {
        let store = S3Store::new(config()).unwrap();
        let url = store
            .presign_get("a/b.mp4", Duration::from_secs(60))
            .await
            .unwrap();
        assert!(
            url.starts_with("https://media.example.go.id/lms/tests/run-1/a/b.mp4?"),
            "{url}"
        );
        assert!(url.contains("X-Amz-Signature="), "{url}");
        assert!(!url.contains("hunter2"), "{url}");
    }

    #[test]
    fn a_bad_endpoint_is_a_config_error() {
        let bad = S3Config {
            endpoint_url: "garage:3900".into(),
            ..config()
        };
        assert!(matches!(S3Store::new(bad), Err(StorageError::Config(_))));
    }
}
