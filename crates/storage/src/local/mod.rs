//! The local-folder backend.
//!
//! Layout under the root:
//! - `objects/<key>`: object bytes; `meta/<key>`: `{"content_type": ...}` beside it (same tree
//!   shape, so a key that fits one tree fits the other);
//! - `uploads/<upload_id>/upload.json` (`{"key", "content_type"}`), `uploads/<id>/<n>` the bytes
//!   of part `n` and `uploads/<id>/<n>.etag` its ETag;
//! - `tmp/`: files being written, renamed into place when whole, so a reader never sees half an
//!   object. Everything is on one file system, so the rename is atomic.
//!
//! ETags are the quoted hex MD5 of the bytes, as S3 gives for unencrypted objects and parts, so a
//! client may check them the same way against both backends. Completing an upload hashes the
//! parts again while joining them, so a part changed on disk is caught.
//!
//! A key cannot be both an object and a folder here (`a` and `a/b`): S3 allows it, this store
//! answers [`StorageError::KeyConflict`]. Uploads never completed nor aborted stay on disk until
//! someone aborts them (S3 leaves that to a bucket lifecycle rule).

pub(crate) mod router;
pub(crate) mod signing;

use std::fmt;
use std::io::ErrorKind;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use futures::{Stream, StreamExt};
use kernel::{Secret, SharedClock};
use md5::{Digest, Md5};
use serde::{Deserialize, Serialize};
use tokio::fs::{self, File};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_util::io::ReaderStream;

use crate::key::{encode_path, validate_content_type};
use crate::{
    ByteRange, CompletedPart, DEFAULT_CONTENT_TYPE, GetObject, MIN_PART_SIZE, ObjectMeta, PartInfo,
    StorageError, bare_etag, check_completed_parts, check_expiry, check_part_number, validate_key,
};
use signing::{Grant, Op};

/// How much is read from disk at a time when writing an object.
const CHUNK: usize = 256 * 1024;
/// How much of a served range is read at a time: each read is a trip to the blocking pool.
const READ_CHUNK: usize = 1024 * 1024;
/// Reads ahead of the chunk being sent (see [`read_chunks`]).
const READ_AHEAD: usize = 2;
/// Bytes read together with the open (see [`open_range`]): a 1 MiB range, what PDF viewers and
/// players commonly ask for, is then served in one trip to the blocking pool.
const FIRST_READ: u64 = READ_CHUNK as u64;

/// How the local store is set up.
#[derive(Debug, Clone)]
pub struct LocalStoreConfig {
    /// The folder that holds everything; created if missing.
    pub root: PathBuf,
    /// Where clients reach the gateway (`https://lms.example.go.id`); signed URLs are
    /// `<public_base_url>/media/<key>?...`.
    pub public_base_url: String,
    /// The HMAC key of signed URLs. Changing it voids every URL handed out.
    pub signing_key: Secret,
    /// The largest body one PUT may send (an object or a part); bigger gets 413.
    pub max_body_bytes: u64,
    /// The clock that dates and checks signed URLs.
    pub clock: SharedClock,
}

/// The local-folder store. Cheap to clone.
#[derive(Clone)]
pub struct LocalStore(Arc<Inner>);

struct Inner {
    root: PathBuf,
    base_url: String,
    signing_key: Secret,
    max_body_bytes: u64,
    clock: SharedClock,
}

impl fmt::Debug for LocalStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LocalStore")
            .field("root", &self.0.root)
            .field("public_base_url", &self.0.base_url)
            .field("max_body_bytes", &self.0.max_body_bytes)
            .finish_non_exhaustive()
    }
}

#[derive(Serialize, Deserialize)]
struct ObjectRecord {
    content_type: String,
}

#[derive(Serialize, Deserialize)]
struct UploadRecord {
    key: String,
    content_type: String,
}

/// A file in `tmp/` that is removed when dropped unless it was moved into place.
struct TempFile {
    path: PathBuf,
    moved: bool,
}

impl Drop for TempFile {
    fn drop(&mut self) {
        if !self.moved {
            // Best effort: a leftover temporary file wastes space but harms nothing.
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

/// A body written to a temporary file.
struct Written {
    temp: TempFile,
    etag: String,
}

fn quoted_md5(hasher: Md5) -> String {
    format!("\"{}\"", hex::encode(hasher.finalize()))
}

/// Whether an I/O error means "there is nothing there" (including a path through a file).
fn is_absent(err: &std::io::Error) -> bool {
    matches!(err.kind(), ErrorKind::NotFound | ErrorKind::NotADirectory)
}

impl LocalStore {
    /// Opens the store, creating its folders.
    ///
    /// # Errors
    /// [`StorageError::Config`] for an empty signing key or a base URL that is not http(s), and
    /// [`StorageError::Io`] when the folders cannot be created.
    pub fn new(config: LocalStoreConfig) -> Result<Self, StorageError> {
        if config.signing_key.is_empty() {
            return Err(StorageError::Config(
                "the local store needs a signing key".into(),
            ));
        }
        let base_url = config.public_base_url.trim_end_matches('/').to_owned();
        if !(base_url.starts_with("http://") || base_url.starts_with("https://")) {
            return Err(StorageError::Config(
                "the public base URL must start with http:// or https://".into(),
            ));
        }
        for dir in ["objects", "meta", "uploads", "tmp"] {
            std::fs::create_dir_all(config.root.join(dir))
                .map_err(StorageError::io("create the storage folders"))?;
        }
        Ok(LocalStore(Arc::new(Inner {
            root: config.root,
            base_url,
            signing_key: config.signing_key,
            max_body_bytes: config.max_body_bytes,
            clock: config.clock,
        })))
    }

    /// The largest body one PUT through the router may send.
    pub fn max_body_bytes(&self) -> u64 {
        self.0.max_body_bytes
    }

    fn object_path(&self, key: &str) -> PathBuf {
        self.0.root.join("objects").join(key)
    }

    fn meta_path(&self, key: &str) -> PathBuf {
        self.0.root.join("meta").join(key)
    }

    fn upload_dir(&self, upload_id: &str) -> PathBuf {
        self.0.root.join("uploads").join(upload_id)
    }

    fn temp_file(&self) -> TempFile {
        TempFile {
            path: self
                .0
                .root
                .join("tmp")
                .join(uuid::Uuid::new_v4().simple().to_string()),
            moved: false,
        }
    }

    fn now_unix(&self) -> u64 {
        u64::try_from(self.0.clock.now().timestamp()).unwrap_or(0)
    }

    /// Stores `bytes` under `key`, replacing any object there.
    ///
    /// # Errors
    /// [`StorageError::InvalidKey`], [`StorageError::InvalidArgument`] for a bad content type,
    /// [`StorageError::KeyConflict`], [`StorageError::Io`].
    pub async fn put(
        &self,
        key: &str,
        bytes: Bytes,
        content_type: &str,
    ) -> Result<(), StorageError> {
        self.put_stream(
            key,
            content_type,
            futures::stream::iter([Ok::<_, std::io::Error>(bytes)]),
            None,
        )
        .await
        .map(drop)
    }

    /// Stores the file at `path` under `key`.
    ///
    /// # Errors
    /// As [`LocalStore::put`].
    pub async fn put_file(
        &self,
        key: &str,
        path: &Path,
        content_type: &str,
    ) -> Result<(), StorageError> {
        let file = File::open(path)
            .await
            .map_err(StorageError::io("open the file to store"))?;
        self.put_stream(
            key,
            content_type,
            ReaderStream::with_capacity(file, CHUNK),
            None,
        )
        .await
        .map(drop)
    }

    /// Streams `body` into the object `key`, refusing more than `limit` bytes; returns the ETag.
    pub(crate) async fn put_stream<S, E>(
        &self,
        key: &str,
        content_type: &str,
        body: S,
        limit: Option<u64>,
    ) -> Result<String, StorageError>
    where
        S: Stream<Item = Result<Bytes, E>>,
        E: fmt::Display,
    {
        validate_key(key)?;
        validate_content_type(content_type)?;
        let written = self.write_temp(body, limit).await?;
        self.publish(written.temp, key, content_type).await?;
        Ok(written.etag)
    }

    /// Writes `body` to a fresh temporary file, hashing as it goes.
    async fn write_temp<S, E>(&self, body: S, limit: Option<u64>) -> Result<Written, StorageError>
    where
        S: Stream<Item = Result<Bytes, E>>,
        E: fmt::Display,
    {
        let temp = self.temp_file();
        let mut file = File::create(&temp.path)
            .await
            .map_err(StorageError::io("create a temporary file"))?;
        let mut hasher = Md5::new();
        let mut size = 0u64;
        let mut body = std::pin::pin!(body);
        while let Some(chunk) = body.next().await {
            let chunk = chunk.map_err(|e| StorageError::Body(e.to_string()))?;
            size += chunk.len() as u64;
            if let Some(limit) = limit
                && size > limit
            {
                return Err(StorageError::TooLarge { limit });
            }
            hasher.update(&chunk);
            file.write_all(&chunk)
                .await
                .map_err(StorageError::io("write a temporary file"))?;
        }
        file.flush()
            .await
            .map_err(StorageError::io("write a temporary file"))?;
        // The rename that follows publishes the file; syncing first means a crash cannot
        // publish a file whose bytes never reached the disk.
        file.sync_all()
            .await
            .map_err(StorageError::io("sync a temporary file"))?;
        Ok(Written {
            temp,
            etag: quoted_md5(hasher),
        })
    }

    /// Writes small `bytes` to `dest` atomically.
    async fn write_small(&self, dest: &Path, bytes: &[u8]) -> Result<(), StorageError> {
        let temp = self.temp_file();
        fs::write(&temp.path, bytes)
            .await
            .map_err(StorageError::io("write a temporary file"))?;
        rename_into(temp, dest).await
    }

    /// Moves a finished temporary file into place as the object `key`, then records its type.
    async fn publish(
        &self,
        temp: TempFile,
        key: &str,
        content_type: &str,
    ) -> Result<(), StorageError> {
        rename_into(temp, &self.object_path(key)).await?;
        let record = serde_json::to_vec(&ObjectRecord {
            content_type: content_type.to_owned(),
        })
        .map_err(|e| StorageError::Io {
            op: "encode object metadata",
            source: e.into(),
        })?;
        self.write_small(&self.meta_path(key), &record).await
    }

    async fn content_type_of(&self, key: &str) -> String {
        // A missing record (a crash between the two renames of `publish`) is not worth failing a
        // read over: the bytes are there.
        match fs::read(self.meta_path(key)).await {
            Ok(bytes) => serde_json::from_slice::<ObjectRecord>(&bytes)
                .map(|r| r.content_type)
                .unwrap_or_else(|_| DEFAULT_CONTENT_TYPE.to_owned()),
            Err(_) => DEFAULT_CONTENT_TYPE.to_owned(),
        }
    }

    /// Opens the object under `key`, or the part of it that `range` selects, as a stream.
    ///
    /// # Errors
    /// [`StorageError::NotFound`], [`StorageError::RangeNotSatisfiable`],
    /// [`StorageError::InvalidKey`], [`StorageError::Io`].
    pub async fn get(
        &self,
        key: &str,
        range: Option<ByteRange>,
    ) -> Result<GetObject, StorageError> {
        validate_key(key)?;
        let (object, meta) = (self.object_path(key), self.meta_path(key));
        // One trip to the blocking pool for open, size, range and type, instead of one each.
        let opened = tokio::task::spawn_blocking(move || open_range(&object, &meta, range))
            .await
            .map_err(|e| StorageError::io("open an object")(std::io::Error::other(e)))?;
        let Some(Opened {
            file,
            size,
            served,
            content_type,
            first,
        }) = opened?
        else {
            return Err(StorageError::NotFound {
                key: key.to_owned(),
            });
        };
        let rest = served.start + first.len() as u64..served.end;
        let body = futures::stream::once(async move { Ok(first) })
            .chain(read_chunks(file, rest))
            .boxed();
        Ok(GetObject {
            size,
            range: served,
            partial: range.is_some(),
            content_type,
            body,
        })
    }

    /// The object's size and content type, or `None`.
    ///
    /// # Errors
    /// [`StorageError::InvalidKey`], [`StorageError::Io`].
    pub async fn head(&self, key: &str) -> Result<Option<ObjectMeta>, StorageError> {
        validate_key(key)?;
        match fs::metadata(self.object_path(key)).await {
            Ok(m) if m.is_file() => Ok(Some(ObjectMeta {
                size: m.len(),
                content_type: self.content_type_of(key).await,
            })),
            Ok(_) => Ok(None),
            Err(e) if is_absent(&e) => Ok(None),
            Err(e) => Err(StorageError::io("read object metadata")(e)),
        }
    }

    /// Deletes the object; a missing one is fine.
    ///
    /// # Errors
    /// [`StorageError::InvalidKey`], [`StorageError::Io`].
    pub async fn delete(&self, key: &str) -> Result<(), StorageError> {
        validate_key(key)?;
        for (tree, path) in [
            ("objects", self.object_path(key)),
            ("meta", self.meta_path(key)),
        ] {
            match fs::remove_file(&path).await {
                Ok(()) => {}
                // A directory here is another key's prefix, not this object.
                Err(e) if is_absent(&e) || e.kind() == ErrorKind::IsADirectory => {}
                Err(e) => return Err(StorageError::io("delete an object")(e)),
            }
            prune_empty_parents(&path, &self.0.root.join(tree)).await;
        }
        Ok(())
    }

    fn signed_url(&self, grant: &Grant<'_>) -> String {
        let mut url = format!(
            "{}/media/{}?op={}&exp={}",
            self.0.base_url,
            encode_path(grant.key),
            grant.op.as_str(),
            grant.exp
        );
        if let Some(upload_id) = grant.upload_id {
            url.push_str(&format!("&upload={upload_id}"));
        }
        if let Some(part) = grant.part_number {
            url.push_str(&format!("&part={part}"));
        }
        url.push_str("&sig=");
        url.push_str(&grant.sign(&self.0.signing_key));
        url
    }

    fn expiry(&self, expires_in: Duration) -> Result<u64, StorageError> {
        check_expiry(expires_in)?;
        // Round up so a URL never lives shorter than asked.
        let secs = expires_in.as_secs() + u64::from(expires_in.subsec_nanos() > 0);
        Ok(self.now_unix() + secs)
    }

    /// A signed URL to GET or HEAD the object through [`crate::local_media_router`].
    ///
    /// # Errors
    /// [`StorageError::InvalidKey`], [`StorageError::InvalidArgument`] for a bad expiry.
    pub async fn presign_get(
        &self,
        key: &str,
        expires_in: Duration,
    ) -> Result<String, StorageError> {
        validate_key(key)?;
        let exp = self.expiry(expires_in)?;
        Ok(self.signed_url(&Grant {
            op: Op::Get,
            key,
            exp,
            upload_id: None,
            part_number: None,
            content_type: None,
        }))
    }

    /// A signed URL to PUT the object with `Content-Type: content_type`.
    ///
    /// # Errors
    /// As [`LocalStore::presign_get`], plus a bad content type.
    pub async fn presign_put(
        &self,
        key: &str,
        expires_in: Duration,
        content_type: &str,
    ) -> Result<String, StorageError> {
        validate_key(key)?;
        validate_content_type(content_type)?;
        let exp = self.expiry(expires_in)?;
        Ok(self.signed_url(&Grant {
            op: Op::Put,
            key,
            exp,
            upload_id: None,
            part_number: None,
            content_type: Some(content_type),
        }))
    }

    /// Checks a signed URL's parameters; the router's gate.
    pub(crate) fn verify(&self, grant: &Grant<'_>, sig: &str) -> Result<(), StorageError> {
        grant.verify(&self.0.signing_key, sig, self.now_unix())
    }

    /// Starts a multipart upload; the id is a random UUID in hex.
    ///
    /// # Errors
    /// [`StorageError::InvalidKey`], a bad content type, [`StorageError::Io`].
    pub async fn create_multipart(
        &self,
        key: &str,
        content_type: &str,
    ) -> Result<String, StorageError> {
        validate_key(key)?;
        validate_content_type(content_type)?;
        let upload_id = uuid::Uuid::new_v4().simple().to_string();
        let dir = self.upload_dir(&upload_id);
        fs::create_dir_all(&dir)
            .await
            .map_err(StorageError::io("create an upload folder"))?;
        let record = serde_json::to_vec(&UploadRecord {
            key: key.to_owned(),
            content_type: content_type.to_owned(),
        })
        .map_err(|e| StorageError::Io {
            op: "encode upload metadata",
            source: e.into(),
        })?;
        self.write_small(&dir.join("upload.json"), &record).await?;
        Ok(upload_id)
    }

    /// A signed URL to PUT part `part_number`; the response's `ETag` names the part.
    ///
    /// # Errors
    /// [`StorageError::InvalidKey`], [`StorageError::InvalidArgument`] for a bad part number,
    /// upload id or expiry.
    pub async fn presign_part(
        &self,
        key: &str,
        upload_id: &str,
        part_number: u32,
        expires_in: Duration,
    ) -> Result<String, StorageError> {
        validate_key(key)?;
        check_part_number(part_number)?;
        if !is_upload_id(upload_id) {
            return Err(StorageError::InvalidArgument("malformed upload id".into()));
        }
        let exp = self.expiry(expires_in)?;
        Ok(self.signed_url(&Grant {
            op: Op::Part,
            key,
            exp,
            upload_id: Some(upload_id),
            part_number: Some(part_number),
            content_type: None,
        }))
    }

    /// The upload's record, if it exists and belongs to `key`.
    async fn upload(&self, key: &str, upload_id: &str) -> Result<UploadRecord, StorageError> {
        validate_key(key)?;
        let not_found = || StorageError::UploadNotFound {
            upload_id: upload_id.to_owned(),
        };
        // Checked before it becomes a path: an upload id comes from the client.
        if !is_upload_id(upload_id) {
            return Err(not_found());
        }
        let bytes = match fs::read(self.upload_dir(upload_id).join("upload.json")).await {
            Ok(bytes) => bytes,
            Err(e) if is_absent(&e) => return Err(not_found()),
            Err(e) => return Err(StorageError::io("read upload metadata")(e)),
        };
        let record: UploadRecord =
            serde_json::from_slice(&bytes).map_err(|e| StorageError::Io {
                op: "decode upload metadata",
                source: e.into(),
            })?;
        if record.key != key {
            return Err(not_found());
        }
        Ok(record)
    }

    /// Streams `body` into part `part_number` of the upload, replacing an earlier copy of the
    /// part; returns its ETag.
    pub(crate) async fn put_part_stream<S, E>(
        &self,
        key: &str,
        upload_id: &str,
        part_number: u32,
        body: S,
        limit: Option<u64>,
    ) -> Result<String, StorageError>
    where
        S: Stream<Item = Result<Bytes, E>>,
        E: fmt::Display,
    {
        check_part_number(part_number)?;
        self.upload(key, upload_id).await?;
        let written = self.write_temp(body, limit).await?;
        let dir = self.upload_dir(upload_id);
        let renamed = fs::rename(&written.temp.path, dir.join(part_number.to_string())).await;
        let mut temp = written.temp;
        match renamed {
            Ok(()) => temp.moved = true,
            // Aborted while the part was on its way.
            Err(e) if is_absent(&e) => {
                return Err(StorageError::UploadNotFound {
                    upload_id: upload_id.to_owned(),
                });
            }
            Err(e) => return Err(StorageError::io("store a part")(e)),
        }
        self.write_small(
            &dir.join(format!("{part_number}.etag")),
            written.etag.as_bytes(),
        )
        .await?;
        Ok(written.etag)
    }

    /// The parts that have arrived, by part number.
    ///
    /// # Errors
    /// [`StorageError::UploadNotFound`], [`StorageError::Io`].
    pub async fn list_parts(
        &self,
        key: &str,
        upload_id: &str,
    ) -> Result<Vec<PartInfo>, StorageError> {
        self.upload(key, upload_id).await?;
        let dir = self.upload_dir(upload_id);
        let mut entries = fs::read_dir(&dir)
            .await
            .map_err(StorageError::io("list the parts of an upload"))?;
        let mut parts = Vec::new();
        while let Some(entry) = entries
            .next_entry()
            .await
            .map_err(StorageError::io("list the parts of an upload"))?
        {
            let Some(part_number) = entry
                .file_name()
                .to_str()
                .and_then(|n| n.parse::<u32>().ok())
            else {
                continue;
            };
            // A part without its ETag record is still being stored: not there yet.
            let Ok(etag) = fs::read_to_string(dir.join(format!("{part_number}.etag"))).await else {
                continue;
            };
            let size = entry
                .metadata()
                .await
                .map_err(StorageError::io("read part metadata"))?
                .len();
            parts.push(PartInfo {
                part_number,
                size,
                etag,
            });
        }
        parts.sort_by_key(|p| p.part_number);
        Ok(parts)
    }

    /// Joins the named parts, in order, into the object and removes the upload.
    ///
    /// # Errors
    /// [`StorageError::UploadNotFound`], [`StorageError::InvalidParts`],
    /// [`StorageError::KeyConflict`], [`StorageError::Io`].
    pub async fn complete_multipart(
        &self,
        key: &str,
        upload_id: &str,
        parts: &[CompletedPart],
    ) -> Result<(), StorageError> {
        check_completed_parts(parts)?;
        let record = self.upload(key, upload_id).await?;
        let dir = self.upload_dir(upload_id);
        let temp = self.temp_file();
        let mut out = File::create(&temp.path)
            .await
            .map_err(StorageError::io("create a temporary file"))?;
        let mut buf = vec![0u8; CHUNK * 4];
        for (i, part) in parts.iter().enumerate() {
            let n = part.part_number;
            let mut file = match File::open(dir.join(n.to_string())).await {
                Ok(file) => file,
                Err(e) if is_absent(&e) => {
                    return Err(StorageError::InvalidParts(format!(
                        "part {n} has not been uploaded"
                    )));
                }
                Err(e) => return Err(StorageError::io("open a part")(e)),
            };
            let mut hasher = Md5::new();
            let mut size = 0u64;
            loop {
                let read = file
                    .read(&mut buf)
                    .await
                    .map_err(StorageError::io("read a part"))?;
                if read == 0 {
                    break;
                }
                size += read as u64;
                hasher.update(&buf[..read]);
                out.write_all(&buf[..read])
                    .await
                    .map_err(StorageError::io("write a temporary file"))?;
            }
            if i + 1 < parts.len() && size < MIN_PART_SIZE {
                return Err(StorageError::InvalidParts(format!(
                    "part {n} is smaller than 5 MiB and is not the last"
                )));
            }
            if bare_etag(&quoted_md5(hasher)) != bare_etag(&part.etag) {
                return Err(StorageError::InvalidParts(format!(
                    "the ETag of part {n} does not match the part uploaded"
                )));
            }
        }
        out.flush()
            .await
            .map_err(StorageError::io("write a temporary file"))?;
        out.sync_all()
            .await
            .map_err(StorageError::io("sync a temporary file"))?;
        drop(out);
        self.publish(temp, key, &record.content_type).await?;
        remove_upload_dir(&dir).await
    }

    /// Abandons the upload and removes its parts; an unknown upload is fine.
    ///
    /// # Errors
    /// [`StorageError::InvalidKey`], [`StorageError::Io`].
    pub async fn abort_multipart(&self, key: &str, upload_id: &str) -> Result<(), StorageError> {
        match self.upload(key, upload_id).await {
            Ok(_) => remove_upload_dir(&self.upload_dir(upload_id)).await,
            Err(StorageError::UploadNotFound { .. }) => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// Readiness: a file can be written and removed in the folder.
    ///
    /// # Errors
    /// [`StorageError::Io`] saying what failed.
    pub async fn check(&self) -> Result<(), StorageError> {
        let temp = self.temp_file();
        fs::write(&temp.path, b"ready")
            .await
            .map_err(StorageError::io("write to the storage folder"))?;
        fs::remove_file(&temp.path)
            .await
            .map_err(StorageError::io("remove a file from the storage folder"))
    }
}

/// An upload id this store could have made: 32 lower-case hex digits. Nothing else may become a
/// path.
fn is_upload_id(s: &str) -> bool {
    s.len() == 32 && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

async fn remove_upload_dir(dir: &Path) -> Result<(), StorageError> {
    match fs::remove_dir_all(dir).await {
        Ok(()) => Ok(()),
        Err(e) if is_absent(&e) => Ok(()),
        Err(e) => Err(StorageError::io("remove an upload folder")(e)),
    }
}

/// Renames `temp` to `dest`, creating the parent folders. A concurrent delete may prune a parent
/// folder between the two steps, so a vanished parent is retried a few times.
async fn rename_into(mut temp: TempFile, dest: &Path) -> Result<(), StorageError> {
    let conflict = |e: &std::io::Error| {
        matches!(
            e.kind(),
            ErrorKind::NotADirectory
                | ErrorKind::AlreadyExists
                | ErrorKind::IsADirectory
                | ErrorKind::DirectoryNotEmpty
        )
    };
    let mut attempts = 0;
    loop {
        attempts += 1;
        if let Some(parent) = dest.parent() {
            match fs::create_dir_all(parent).await {
                Ok(()) => {}
                Err(e) if conflict(&e) => return Err(StorageError::KeyConflict),
                Err(e) => return Err(StorageError::io("create an object folder")(e)),
            }
        }
        match fs::rename(&temp.path, dest).await {
            Ok(()) => {
                temp.moved = true;
                return Ok(());
            }
            Err(e) if e.kind() == ErrorKind::NotFound && attempts < 5 => {}
            Err(e) if conflict(&e) => return Err(StorageError::KeyConflict),
            Err(e) => return Err(StorageError::io("move an object into place")(e)),
        }
    }
}

/// Removes the empty folders left above a deleted file, up to `stop`. Best effort: a folder that
/// is not empty (or just got a new file) stays.
async fn prune_empty_parents(path: &Path, stop: &Path) {
    let mut dir = path.parent();
    while let Some(d) = dir {
        if d == stop || !d.starts_with(stop) || fs::remove_dir(d).await.is_err() {
            break;
        }
        dir = d.parent();
    }
}

/// An object opened for reading, with the bytes to serve.
struct Opened {
    file: Arc<std::fs::File>,
    size: u64,
    served: std::ops::Range<u64>,
    content_type: String,
    /// The first bytes of the range, read in the same trip to the blocking pool as the open: a
    /// player's or viewer's range is often no longer than this, and then needs no other trip.
    first: Bytes,
}

/// Opens `object` and resolves `range` against its size; `None` when there is no such object.
/// The size comes from the open handle: a concurrent replace renames a new file over the path,
/// and this handle keeps reading the old one, so size and bytes agree.
fn open_range(
    object: &Path,
    meta: &Path,
    range: Option<ByteRange>,
) -> Result<Option<Opened>, StorageError> {
    let file = match std::fs::File::open(object) {
        Ok(file) => file,
        Err(e) if is_absent(&e) => return Ok(None),
        Err(e) => return Err(StorageError::io("open an object")(e)),
    };
    let metadata = file
        .metadata()
        .map_err(StorageError::io("read object metadata"))?;
    if !metadata.is_file() {
        return Ok(None);
    }
    let size = metadata.len();
    let served = match range {
        Some(r) => r.resolve(size)?,
        None => 0..size,
    };
    // Tell the kernel the range is read front to back: it reads ahead in larger steps from the
    // first read of this fresh handle. Only advice: a failure changes nothing.
    let _ = rustix::fs::fadvise(&file, 0, None, rustix::fs::Advice::Sequential);
    // A missing record (a crash between the two renames of `publish`) is not worth failing a
    // read over: the bytes are there.
    let content_type = std::fs::read(meta)
        .ok()
        .and_then(|bytes| serde_json::from_slice::<ObjectRecord>(&bytes).ok())
        .map_or_else(|| DEFAULT_CONTENT_TYPE.to_owned(), |r| r.content_type);
    let len = usize::try_from((served.end - served.start).min(FIRST_READ)).unwrap_or(READ_CHUNK);
    let first = read_at(&file, len, served.start).map_err(StorageError::io("read an object"))?;
    Ok(Some(Opened {
        file: Arc::new(file),
        size,
        served,
        content_type,
        first,
    }))
}

/// The bytes `served` of `file` as a stream of [`READ_CHUNK`]-sized reads at explicit offsets
/// (`pread`: no shared cursor, one copy from the page cache into the chunk), each on the
/// blocking pool, with [`READ_AHEAD`] chunks in flight so the next read overlaps the sending of
/// the one before.
fn read_chunks(
    file: Arc<std::fs::File>,
    served: std::ops::Range<u64>,
) -> impl Stream<Item = std::io::Result<Bytes>> + Send + 'static {
    let end = served.end;
    futures::stream::iter((served.start..end).step_by(READ_CHUNK))
        .map(move |at| {
            let file = Arc::clone(&file);
            // At most READ_CHUNK: fits a usize.
            let len = usize::try_from((end - at).min(READ_CHUNK as u64)).unwrap_or(READ_CHUNK);
            async move {
                tokio::task::spawn_blocking(move || read_at(&file, len, at))
                    .await
                    .map_err(std::io::Error::other)?
            }
        })
        .buffered(READ_AHEAD)
}

/// `len` bytes of `file` from offset `at`, read (`pread`) straight into a fresh buffer's spare
/// capacity: a zeroed buffer would cost one more pass over every byte served.
///
/// # Errors
/// [`ErrorKind::UnexpectedEof`] when the file ends first, or the read's own error.
fn read_at(file: &std::fs::File, len: usize, at: u64) -> std::io::Result<Bytes> {
    let mut buf = Vec::with_capacity(len);
    while buf.len() < len {
        let offset = at + buf.len() as u64;
        match rustix::io::pread(file, rustix::buffer::spare_capacity(&mut buf), offset) {
            Ok(0) => return Err(ErrorKind::UnexpectedEof.into()),
            Ok(_) | Err(rustix::io::Errno::INTR) => {}
            Err(e) => return Err(e.into()),
        }
    }
    Ok(Bytes::from(buf))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn store(root: &Path) -> LocalStore {
        LocalStore::new(LocalStoreConfig {
            root: root.to_owned(),
            public_base_url: "http://127.0.0.1:1/".into(),
            signing_key: Secret::new("very secret signing key"),
            max_body_bytes: 1024,
            clock: std::sync::Arc::new(kernel::SystemClock),
        })
        .unwrap()
    }

    fn temp_root() -> PathBuf {
        std::env::temp_dir().join(format!(
            "lms-storage-unit-{}",
            uuid::Uuid::new_v4().simple()
        ))
    }

    #[test]
    fn debug_never_prints_the_signing_key() {
        let root = temp_root();
        let s = store(&root);
        let printed = format!("{s:?}");
        assert!(!printed.contains("very secret"), "{printed}");
        let _ = std::fs::remove_dir_all(root);
    }

    #[test]
    fn signed_urls_have_the_documented_shape() {
        let root = temp_root();
        let s = store(&root);
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let url = rt
            .block_on(s.presign_part(
                "a b/c.mp4",
                "0123456789abcdef0123456789abcdef",
                3,
                Duration::from_secs(60),
            ))
            .unwrap();
        assert!(
            url.starts_with("http://127.0.0.1:1/media/a%20b/c.mp4?op=part&exp="),
            "{url}"
        );
        assert!(
            url.contains("&upload=0123456789abcdef0123456789abcdef&part=3&sig="),
            "{url}"
        );
        let _ = std::fs::remove_dir_all(root);
    }

    #[test]
    fn read_at_gives_the_bytes_asked_for_and_refuses_to_read_past_the_end() {
        let root = temp_root();
        std::fs::create_dir_all(&root).unwrap();
        let path = root.join("object");
        let bytes: Vec<u8> = (0..=255u8).cycle().take(3 * CHUNK + 7).collect();
        std::fs::write(&path, &bytes).unwrap();
        let file = std::fs::File::open(&path).unwrap();
        let read = read_at(&file, CHUNK + 3, 5).unwrap();
        assert_eq!(read.as_ref(), &bytes[5..CHUNK + 8]);
        assert_eq!(
            read_at(&file, 2, bytes.len() as u64 - 2).unwrap().as_ref(),
            &bytes[bytes.len() - 2..]
        );
        let past = read_at(&file, 8, bytes.len() as u64 - 7).unwrap_err();
        assert_eq!(past.kind(), ErrorKind::UnexpectedEof);
        let _ = std::fs::remove_dir_all(root);
    }

    #[test]
    fn upload_ids_that_could_be_paths_are_refused() {
        assert!(is_upload_id("0123456789abcdef0123456789abcdef"));
        for bad in [
            "",
            "..",
            "../../../etc/passwd",
            "0123456789ABCDEF0123456789ABCDEF",
        ] {
            assert!(!is_upload_id(bad), "{bad}");
        }
    }
}
