//! Resumable uploads of lesson materials and course covers.
//!
//! A trainer opens an upload session ([`Courses::create_lesson_upload`],
//! [`Courses::create_cover_upload`]): a multipart upload in object storage with a signed URL per
//! part. Parts go straight to storage, in any order, again if they broke off;
//! [`Courses::upload_status`] says which parts the store holds and gives fresh URLs for the
//! rest. [`Courses::complete_upload`] joins the parts, then checks the whole object (size,
//! SHA-256, real type from its first bytes) before the material exists; a file that fails a check
//! is deleted and its session rejected. Sessions never completed are aborted by a job when they
//! expire.
//!
//! Invariants: no material row exists for an object that failed a check; a material's id is the
//! id of the session that uploaded it (one session makes at most one material); the material,
//! the lesson's (or course's) pointer to it and its processing job commit together.

use std::time::Duration as StdDuration;

use chrono::{DateTime, Utc};
use futures::StreamExt;
use kernel::Actor;
use sea_orm::sea_query::Expr;
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, Set};
use serde_json::json;
use sha2::{Digest, Sha256};
use storage::{CompletedPart, MAX_PART_NUMBER, MIN_PART_SIZE, PartInfo, StorageError};
use uuid::Uuid;

use crate::Courses;
use crate::access;
use crate::entity::{course, lesson, material, upload};
use crate::error::CourseError;
use crate::lifecycle;
use crate::media_type::{MaterialKind, MediaType, SNIFF_LEN, UploadTarget};
use crate::processing;

/// The job kind that aborts an upload session once it expires.
pub const EXPIRE_UPLOAD_JOB: &str = "course.expire_upload";
/// Attempts of the expiry job (it only talks to storage and the database).
const EXPIRE_ATTEMPTS: u32 = 10;
/// Longest file name kept, in characters (the column holds 255).
pub const MAX_FILE_NAME: usize = 255;
const MIB: u64 = 1 << 20;

/// What a client says about the file it is about to upload.
#[derive(Debug, Clone)]
pub struct NewUpload {
    /// The file's name on the trainer's device (shown back to them; never used as a key).
    pub file_name: String,
    /// The declared MIME type.
    pub content_type: String,
    /// The file's size in bytes.
    pub size: i64,
    /// The file's SHA-256, hex.
    pub sha256: String,
}

/// Where an upload session is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, async_graphql::Enum)]
pub enum UploadState {
    /// Taking parts.
    Open,
    /// Open, but past its expiry: it takes no more parts and will be aborted.
    Expired,
    /// Checked and turned into a material.
    Completed,
    /// The file failed a check (size, SHA-256, type) and was deleted.
    Rejected,
    /// Abandoned by the trainer, or aborted after it expired.
    Aborted,
}

/// A part still to send, with a URL to PUT it to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartTarget {
    /// The part number, from 1.
    pub part_number: u32,
    /// Exactly how many bytes the part must have.
    pub size: u64,
    /// Where to PUT it (presigned S3, or a signed gateway URL for the local store).
    pub url: String,
}

/// An upload session as its trainer sees it.
#[derive(Debug, Clone)]
pub struct UploadView {
    /// The session.
    pub upload: upload::Model,
    /// Its state, with expiry taken into account.
    pub state: UploadState,
    /// The parts the store holds with the right size, by number.
    pub received: Vec<PartInfo>,
    /// The parts still to send (missing, or of the wrong size), with fresh URLs.
    pub missing: Vec<PartTarget>,
    /// When the part URLs stop working.
    pub urls_expire_at: Option<DateTime<Utc>>,
    /// The material made from it, once completed.
    pub material: Option<material::Model>,
}

/// The part size and count for a file of `size` bytes: the configured size raised to S3's
/// 5 MiB minimum, and raised again (to whole MiB) when the file would need more than 10,000
/// parts.
pub fn plan_parts(size: u64, configured: u64) -> (u64, u32) {
    let mut part = configured.max(MIN_PART_SIZE);
    let needed = size.div_ceil(u64::from(MAX_PART_NUMBER));
    if part < needed {
        part = needed.div_ceil(MIB) * MIB;
    }
    let count = size.div_ceil(part).max(1);
    (part, u32::try_from(count).unwrap_or(MAX_PART_NUMBER))
}

/// The size part `n` (from 1) must have.
fn part_len(n: u32, size: u64, part_size: u64, count: u32) -> u64 {
    if n < count {
        part_size
    } else {
        size - part_size * u64::from(count - 1)
    }
}

/// A byte count for messages: `2 GiB`, `3.5 MiB`, `120 bytes`.
pub fn human_bytes(n: u64) -> String {
    const UNITS: [(&str, u64); 3] = [("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)];
    for (unit, scale) in UNITS {
        if n >= scale {
            let whole = n / scale;
            let tenths = (n % scale) * 10 / scale;
            return if tenths == 0 {
                format!("{whole} {unit}")
            } else {
                format!("{whole}.{tenths} {unit}")
            };
        }
    }
    format!("{n} bytes")
}

/// A validated [`NewUpload`].
struct CheckedUpload {
    file_name: String,
    media: MediaType,
    size: u64,
    sha256: String,
}

fn check_new_upload(input: &NewUpload, max: u64) -> Result<CheckedUpload, CourseError> {
    let size = u64::try_from(input.size).unwrap_or(0);
    if size == 0 {
        return Err(CourseError::invalid(
            "size",
            "the file is empty; choose a file with content",
        ));
    }
    if size > max {
        return Err(CourseError::invalid(
            "size",
            format!(
                "the file is {} but the largest upload is {}",
                human_bytes(size),
                human_bytes(max)
            ),
        ));
    }
    let media = MediaType::from_declared(&input.content_type).ok_or_else(|| {
        CourseError::invalid(
            "contentType",
            format!(
                "content type `{}` is not accepted; use one of {}",
                input.content_type.chars().take(100).collect::<String>(),
                MediaType::accepted_list()
            ),
        )
    })?;
    let sha256 = input.sha256.trim().to_ascii_lowercase();
    if sha256.len() != 64 || !sha256.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(CourseError::invalid(
            "sha256",
            "sha256 must be the file's SHA-256 as 64 hexadecimal characters",
        ));
    }
    // Browsers may send a path (`C:\fakepath\x.mp4`); only the last segment is the name.
    let file_name = input
        .file_name
        .rsplit(['/', '\\'])
        .next()
        .unwrap_or_default()
        .trim()
        .to_owned();
    if file_name.is_empty() {
        return Err(CourseError::invalid("fileName", "the file name is empty"));
    }
    if file_name.chars().count() > MAX_FILE_NAME {
        return Err(CourseError::invalid(
            "fileName",
            format!("the file name is longer than {MAX_FILE_NAME} characters"),
        ));
    }
    if file_name.chars().any(char::is_control) {
        return Err(CourseError::invalid(
            "fileName",
            "the file name contains control characters",
        ));
    }
    Ok(CheckedUpload {
        file_name,
        media,
        size,
        sha256,
    })
}

fn std_duration(d: chrono::Duration) -> StdDuration {
    d.to_std().unwrap_or(StdDuration::from_secs(1))
}

/// The target an upload row was opened for.
fn target_of<'a>(
    up: &upload::Model,
    lesson: Option<&'a lesson::Model>,
) -> Result<UploadTarget<'a>, CourseError> {
    match (up.purpose.as_str(), lesson) {
        ("cover", _) => Ok(UploadTarget::Cover),
        ("lesson", Some(l)) => Ok(UploadTarget::Lesson(&l.kind)),
        _ => Err(CourseError::Conflict(
            "the lesson of this upload was deleted; abort the upload".into(),
        )),
    }
}

impl Courses {
    /// Opens an upload session for the material of a video or document lesson.
    ///
    /// # Errors
    /// BAD_USER_INPUT (`size` empty or over the limit, `contentType` not accepted or not what
    /// the lesson takes, `sha256`, `fileName`); NOT_FOUND; FORBIDDEN for non-editors; CONFLICT
    /// for an archived lesson or a course closed to the actor; storage failures.
    pub async fn create_lesson_upload(
        &self,
        actor: &Actor,
        lesson_id: Uuid,
        input: NewUpload,
    ) -> Result<UploadView, CourseError> {
        let checked = check_new_upload(&input, self.settings.max_upload_bytes)?;
        let lesson = lesson::Entity::find_by_id(lesson_id)
            .one(&self.db)
            .await?
            .ok_or(CourseError::NotFound("lesson"))?;
        let course = access::find_course(&self.db, lesson.course_id).await?;
        access::require_editor(&self.db, actor, &course).await?;
        lifecycle::require_open(actor, &course)?;
        if lesson.archived_at.is_some() {
            return Err(CourseError::Conflict(
                "the lesson is archived; it takes no new material".into(),
            ));
        }
        checked
            .media
            .check_target(UploadTarget::Lesson(&lesson.kind))
            .map_err(|m| CourseError::invalid("contentType", m))?;
        self.open_upload(actor, &course, Some(lesson.id), checked)
            .await
    }

    /// Opens an upload session for a course's cover image (PNG or JPEG).
    ///
    /// # Errors
    /// As [`Courses::create_lesson_upload`].
    pub async fn create_cover_upload(
        &self,
        actor: &Actor,
        course_id: Uuid,
        input: NewUpload,
    ) -> Result<UploadView, CourseError> {
        let checked = check_new_upload(&input, self.settings.max_upload_bytes)?;
        let course = access::find_course(&self.db, course_id).await?;
        access::require_editor(&self.db, actor, &course).await?;
        lifecycle::require_open(actor, &course)?;
        checked
            .media
            .check_target(UploadTarget::Cover)
            .map_err(|m| CourseError::invalid("contentType", m))?;
        self.open_upload(actor, &course, None, checked).await
    }

    async fn open_upload(
        &self,
        actor: &Actor,
        course: &course::Model,
        lesson_id: Option<Uuid>,
        checked: CheckedUpload,
    ) -> Result<UploadView, CourseError> {
        let created_by = actor.person_id.ok_or(CourseError::Forbidden)?;
        let id = kernel::new_id();
        let key = format!(
            "courses/{}/materials/{}/original.{}",
            course.id,
            id,
            checked.media.extension()
        );
        let (part_size, part_count) = plan_parts(checked.size, self.settings.part_size);
        let storage_upload_id = self
            .store
            .create_multipart(&key, checked.media.mime())
            .await?;
        let now = self.clock.now();
        let expires_at = now + self.settings.upload_ttl;
        let row = upload::ActiveModel {
            id: Set(id),
            course_id: Set(course.id),
            lesson_id: Set(lesson_id),
            purpose: Set(if lesson_id.is_some() {
                "lesson"
            } else {
                "cover"
            }
            .to_owned()),
            object_key: Set(key.clone()),
            storage_upload_id: Set(storage_upload_id.clone()),
            file_name: Set(checked.file_name),
            declared_content_type: Set(checked.media.mime().to_owned()),
            size_bytes: Set(i64::try_from(checked.size).unwrap_or(i64::MAX)),
            sha256: Set(checked.sha256),
            part_size: Set(i64::try_from(part_size).unwrap_or(i64::MAX)),
            part_count: Set(i32::try_from(part_count).unwrap_or(i32::MAX)),
            state: Set("open".into()),
            material_id: Set(None),
            created_by: Set(created_by),
            created_at: Set(now),
            expires_at: Set(expires_at),
            completed_at: Set(None),
        };
        let saved = async {
            let tx = kernel::db::begin_write(&self.db).await?;
            let model = row.insert(&tx).await?;
            // The clean-up is due when the session expires; it does nothing if the session
            // was completed or aborted by then.
            self.jobs
                .enqueue_in(
                    &tx,
                    EXPIRE_UPLOAD_JOB,
                    json!({ "uploadId": id }),
                    Some(expires_at),
                    EXPIRE_ATTEMPTS,
                )
                .await?;
            tx.commit().await?;
            Ok::<_, CourseError>(model)
        }
        .await;
        let model = match saved {
            Ok(model) => model,
            Err(e) => {
                // Nothing refers to the multipart upload: free it now rather than never.
                if let Err(abort) = self.store.abort_multipart(&key, &storage_upload_id).await {
                    tracing::warn!(error = %abort, upload.id = %id, "could not abort an unsaved upload");
                }
                return Err(e);
            }
        };
        tracing::info!(
            upload.id = %id,
            course.id = %course.id,
            lesson.id = ?lesson_id,
            size_bytes = checked.size,
            part_count,
            "upload session opened"
        );
        self.view(model).await
    }

    /// The session with `id`, for the person who opened it or an admin, who must still edit
    /// its course.
    async fn own_upload(
        &self,
        actor: &Actor,
        id: Uuid,
    ) -> Result<(upload::Model, course::Model), CourseError> {
        let up = upload::Entity::find_by_id(id)
            .one(&self.db)
            .await?
            .ok_or(CourseError::NotFound("upload"))?;
        if !actor.is_admin() && !actor.is_person(up.created_by) {
            return Err(CourseError::Forbidden);
        }
        let course = access::find_course(&self.db, up.course_id).await?;
        access::require_editor(&self.db, actor, &course).await?;
        Ok((up, course))
    }

    /// An upload session: which parts the store has and fresh URLs for the others, so a client
    /// resumes after a dropped connection.
    ///
    /// # Errors
    /// NOT_FOUND; FORBIDDEN for anyone but the person who opened it (or an admin); storage
    /// failures.
    pub async fn upload_status(&self, actor: &Actor, id: Uuid) -> Result<UploadView, CourseError> {
        let (up, _) = self.own_upload(actor, id).await?;
        self.view(up).await
    }

    fn state_of(&self, up: &upload::Model) -> UploadState {
        match up.state.as_str() {
            "open" if self.clock.now() >= up.expires_at => UploadState::Expired,
            "open" => UploadState::Open,
            "completed" => UploadState::Completed,
            "rejected" => UploadState::Rejected,
            _ => UploadState::Aborted,
        }
    }

    async fn view(&self, up: upload::Model) -> Result<UploadView, CourseError> {
        let state = self.state_of(&up);
        let mut view = UploadView {
            state,
            received: Vec::new(),
            missing: Vec::new(),
            urls_expire_at: None,
            material: None,
            upload: up,
        };
        match state {
            UploadState::Open => {
                let parts = match self
                    .store
                    .list_parts(&view.upload.object_key, &view.upload.storage_upload_id)
                    .await
                {
                    Ok(parts) => parts,
                    // Completed by a request that has not recorded it yet: nothing to send.
                    Err(StorageError::UploadNotFound { .. }) => return Ok(view),
                    Err(e) => return Err(e.into()),
                };
                let (received, missing) = self.classify_parts(&view.upload, parts);
                let ttl = (view.upload.expires_at - self.clock.now())
                    .min(chrono::Duration::days(7))
                    .max(chrono::Duration::seconds(1));
                let mut targets = Vec::with_capacity(missing.len());
                for (part_number, size) in missing {
                    let url = self
                        .store
                        .presign_part(
                            &view.upload.object_key,
                            &view.upload.storage_upload_id,
                            part_number,
                            std_duration(ttl),
                        )
                        .await?;
                    targets.push(PartTarget {
                        part_number,
                        size,
                        url,
                    });
                }
                view.received = received;
                view.missing = targets;
                view.urls_expire_at = Some(self.clock.now() + ttl);
            }
            UploadState::Completed => {
                if let Some(mid) = view.upload.material_id {
                    view.material = material::Entity::find_by_id(mid).one(&self.db).await?;
                }
            }
            _ => {}
        }
        Ok(view)
    }

    /// Splits what the store holds into parts in place (right number, right size) and parts
    /// still to send.
    fn classify_parts(
        &self,
        up: &upload::Model,
        parts: Vec<PartInfo>,
    ) -> (Vec<PartInfo>, Vec<(u32, u64)>) {
        let size = u64::try_from(up.size_bytes).unwrap_or(0);
        let part_size = u64::try_from(up.part_size).unwrap_or(MIN_PART_SIZE);
        let count = u32::try_from(up.part_count).unwrap_or(0);
        let mut received = Vec::new();
        let mut missing = Vec::new();
        let mut by_number = parts.into_iter().peekable();
        for n in 1..=count {
            let want = part_len(n, size, part_size, count);
            while by_number.peek().is_some_and(|p| p.part_number < n) {
                by_number.next();
            }
            match by_number.peek() {
                Some(p) if p.part_number == n && p.size == want => {
                    received.extend(by_number.next());
                }
                _ => missing.push((n, want)),
            }
        }
        (received, missing)
    }

    /// Completes an upload: joins its parts, checks the size, the SHA-256 and the real type of
    /// the whole file, then creates the material, points the lesson (or the course's cover) at
    /// it and queues its processing, in one transaction. Completing a completed session again
    /// answers the same.
    ///
    /// # Errors
    /// BAD_USER_INPUT naming `parts` when parts are missing (the session stays open), or naming
    /// `size`, `sha256` or `contentType` when the file fails a check (the file is deleted and
    /// the session rejected); NOT_FOUND; FORBIDDEN; CONFLICT for a session expired, aborted or
    /// rejected, a deleted or archived lesson, or a course closed to the actor; storage failures.
    pub async fn complete_upload(
        &self,
        actor: &Actor,
        id: Uuid,
    ) -> Result<UploadView, CourseError> {
        let started = std::time::Instant::now();
        let (up, course) = self.own_upload(actor, id).await?;
        match self.state_of(&up) {
            UploadState::Open => {}
            UploadState::Completed => return self.view(up).await,
            UploadState::Expired => {
                return Err(CourseError::Conflict(
                    "the upload session has expired; start a new upload".into(),
                ));
            }
            UploadState::Rejected => {
                return Err(CourseError::Conflict(
                    "the upload was rejected; start a new upload".into(),
                ));
            }
            UploadState::Aborted => {
                return Err(CourseError::Conflict(
                    "the upload was aborted; start a new upload".into(),
                ));
            }
        }
        lifecycle::require_open(actor, &course)?;
        let lesson = match up.lesson_id {
            Some(lid) => lesson::Entity::find_by_id(lid).one(&self.db).await?,
            None => None,
        };
        let target = target_of(&up, lesson.as_ref())?;
        if lesson.as_ref().is_some_and(|l| l.archived_at.is_some()) {
            return Err(CourseError::Conflict(
                "the lesson is archived; it takes no new material".into(),
            ));
        }

        self.join_parts(&up).await?;
        let declared = MediaType::from_declared(&up.declared_content_type).ok_or_else(|| {
            CourseError::Internal(format!(
                "upload {} has an unknown declared type {}",
                up.id, up.declared_content_type
            ))
        })?;
        let kind = match self.check_object(&up, declared, target).await? {
            Ok(kind) => kind,
            Err((field, message)) => return Err(self.reject(&up, field, message).await),
        };

        let attached = self.attach(actor, &up, kind, declared).await;
        match attached {
            Ok(material) => {
                tracing::info!(
                    upload.id = %up.id,
                    material.id = %material.id,
                    course.id = %up.course_id,
                    size_bytes = up.size_bytes,
                    duration_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
                    "upload completed"
                );
                let fresh = upload::Entity::find_by_id(up.id)
                    .one(&self.db)
                    .await?
                    .ok_or(CourseError::NotFound("upload"))?;
                self.view(fresh).await
            }
            Err(e) => Err(e),
        }
    }

    /// Joins the parts into the object, unless an earlier attempt already did (then the object
    /// is there and the multipart upload gone).
    async fn join_parts(&self, up: &upload::Model) -> Result<(), CourseError> {
        let parts = match self
            .store
            .list_parts(&up.object_key, &up.storage_upload_id)
            .await
        {
            Ok(parts) => parts,
            Err(StorageError::UploadNotFound { .. }) => {
                return match self.store.head(&up.object_key).await? {
                    Some(_) => Ok(()),
                    None => Err(CourseError::Conflict(
                        "the upload's parts are gone; start a new upload".into(),
                    )),
                };
            }
            Err(e) => return Err(e.into()),
        };
        let (received, missing) = self.classify_parts(up, parts);
        if !missing.is_empty() {
            let numbers: Vec<String> = missing
                .iter()
                .take(20)
                .map(|(n, _)| n.to_string())
                .collect();
            let more = if missing.len() > 20 { ", …" } else { "" };
            return Err(CourseError::invalid(
                "parts",
                format!(
                    "{} of {} parts have not arrived (part {}{more}); send them and complete again",
                    missing.len(),
                    up.part_count,
                    numbers.join(", ")
                ),
            ));
        }
        let completed: Vec<CompletedPart> = received
            .into_iter()
            .map(|p| CompletedPart {
                part_number: p.part_number,
                etag: p.etag,
            })
            .collect();
        match self
            .store
            .complete_multipart(&up.object_key, &up.storage_upload_id, &completed)
            .await
        {
            Ok(()) => Ok(()),
            // Another request completed it a moment ago.
            Err(StorageError::UploadNotFound { .. })
                if self.store.head(&up.object_key).await?.is_some() =>
            {
                Ok(())
            }
            Err(StorageError::InvalidParts(m)) => Err(CourseError::invalid("parts", m)),
            Err(e) => Err(e.into()),
        }
    }

    /// Reads the whole object once, streaming: its size, SHA-256 and first bytes. Returns the
    /// material kind, or the field and reason of a rejection.
    async fn check_object(
        &self,
        up: &upload::Model,
        declared: MediaType,
        target: UploadTarget<'_>,
    ) -> Result<Result<MaterialKind, (&'static str, String)>, CourseError> {
        let declared_size = u64::try_from(up.size_bytes).unwrap_or(0);
        let object = self.store.get(&up.object_key, None).await?;
        if object.size != declared_size {
            return Ok(Err((
                "size",
                format!(
                    "the file has {} bytes but {} were declared",
                    object.size, declared_size
                ),
            )));
        }
        let mut hasher = Sha256::new();
        let mut head = Vec::with_capacity(SNIFF_LEN);
        let mut body = object.body;
        while let Some(chunk) = body.next().await {
            let chunk = chunk.map_err(|source| StorageError::Io {
                op: "read an uploaded file",
                source,
            })?;
            if head.len() < SNIFF_LEN {
                let take = (SNIFF_LEN - head.len()).min(chunk.len());
                head.extend_from_slice(&chunk[..take]);
            }
            hasher.update(&chunk);
        }
        if hex::encode(hasher.finalize()) != up.sha256 {
            return Ok(Err((
                "sha256",
                "the file's SHA-256 differs from the declared sha256: it changed or broke in \
                 transit; upload it again"
                    .into(),
            )));
        }
        let Some(detected) = MediaType::sniff(&head) else {
            return Ok(Err((
                "contentType",
                format!(
                    "the file is not {}: its content matches none of the accepted types ({})",
                    declared.describe(),
                    MediaType::accepted_list()
                ),
            )));
        };
        if !declared.matches_detected(detected) {
            return Ok(Err((
                "contentType",
                format!(
                    "the file is {}, not {} as declared",
                    detected.describe(),
                    declared.describe()
                ),
            )));
        }
        match declared.check_target(target) {
            Ok(kind) => Ok(Ok(kind)),
            Err(message) => Ok(Err(("contentType", message))),
        }
    }

    /// Deletes the object of a file that failed a check and marks its session rejected;
    /// returns the error for the client.
    async fn reject(
        &self,
        up: &upload::Model,
        field: &'static str,
        message: String,
    ) -> CourseError {
        tracing::warn!(upload.id = %up.id, field, reason = %message, "upload rejected");
        if let Err(e) = self.store.delete(&up.object_key).await {
            // The expiry job deletes a rejected session's object again.
            tracing::warn!(error = %e, upload.id = %up.id, "could not delete a rejected upload");
        }
        let marked = upload::Entity::update_many()
            .col_expr(upload::Column::State, Expr::value("rejected"))
            .filter(upload::Column::Id.eq(up.id))
            .filter(upload::Column::State.eq("open"))
            .exec(&self.db)
            .await;
        if let Err(e) = marked {
            return e.into();
        }
        CourseError::invalid(field, format!("{message}. The upload was rejected."))
    }

    /// Creates the material, completes the session, points the lesson or course at the
    /// material and queues its processing, in one transaction under the course's lock.
    async fn attach(
        &self,
        actor: &Actor,
        up: &upload::Model,
        kind: MaterialKind,
        declared: MediaType,
    ) -> Result<material::Model, CourseError> {
        let edit = self.begin_edit(actor, up.course_id).await?;
        let now = edit.now;
        let material = material::ActiveModel {
            id: Set(up.id),
            course_id: Set(up.course_id),
            lesson_id: Set(up.lesson_id),
            kind: Set(kind.as_str().to_owned()),
            object_key: Set(up.object_key.clone()),
            file_name: Set(up.file_name.clone()),
            content_type: Set(declared.mime().to_owned()),
            size_bytes: Set(up.size_bytes),
            sha256: Set(up.sha256.clone()),
            state: Set("uploaded".into()),
            failure_reason: Set(None),
            duration_ms: Set(None),
            width: Set(None),
            height: Set(None),
            page_count: Set(None),
            renditions: Set(None),
            poster_key: Set(None),
            created_by: Set(up.created_by),
            created_at: Set(now),
            updated_at: Set(now),
        }
        .insert(&edit.tx)
        .await?;
        let completed = upload::Entity::update_many()
            .col_expr(upload::Column::State, Expr::value("completed"))
            .col_expr(upload::Column::MaterialId, Expr::value(Some(up.id)))
            .col_expr(upload::Column::CompletedAt, Expr::value(Some(now)))
            .filter(upload::Column::Id.eq(up.id))
            .filter(upload::Column::State.eq("open"))
            .exec(&edit.tx)
            .await?;
        if completed.rows_affected != 1 {
            drop(edit);
            return Err(self.lost_race(up).await);
        }
        let (target_type, target_id) = match up.lesson_id {
            Some(lesson_id) => {
                let pointed = lesson::Entity::update_many()
                    .col_expr(lesson::Column::MaterialId, Expr::value(Some(up.id)))
                    .col_expr(lesson::Column::UpdatedAt, Expr::value(now))
                    .filter(lesson::Column::Id.eq(lesson_id))
                    .filter(lesson::Column::ArchivedAt.is_null())
                    .exec(&edit.tx)
                    .await?;
                if pointed.rows_affected != 1 {
                    return Err(CourseError::Conflict(
                        "the lesson was deleted or archived meanwhile; abort the upload".into(),
                    ));
                }
                ("lesson", lesson_id)
            }
            None => {
                course::Entity::update_many()
                    .col_expr(course::Column::CoverMaterialId, Expr::value(Some(up.id)))
                    .filter(course::Column::Id.eq(up.course_id))
                    .exec(&edit.tx)
                    .await?;
                ("course", up.course_id)
            }
        };
        processing::enqueue_processing(&self.jobs, &edit.tx, up.id).await?;
        edit.finish(
            actor,
            if target_type == "lesson" {
                "lesson.material.attach"
            } else {
                "course.cover.attach"
            },
            target_type,
            target_id,
            json!({ "materialId": up.id, "fileName": up.file_name, "sizeBytes": up.size_bytes }),
        )
        .await?;
        Ok(material)
    }

    /// The error when a session changed under a completion: aborted or expired meanwhile (its
    /// object is cleaned up by the expiry job), or completed by another request.
    async fn lost_race(&self, up: &upload::Model) -> CourseError {
        match upload::Entity::find_by_id(up.id).one(&self.db).await {
            Ok(Some(now)) if now.state == "completed" => CourseError::Conflict(
                "the upload was completed by another request; ask for it again".into(),
            ),
            Ok(_) => CourseError::Conflict(
                "the upload was aborted while it was being completed; start a new upload".into(),
            ),
            Err(e) => e.into(),
        }
    }

    /// Abandons an open upload session and frees its parts. Aborting an aborted or rejected
    /// session again changes nothing.
    ///
    /// # Errors
    /// NOT_FOUND; FORBIDDEN; CONFLICT for a completed session; storage failures.
    pub async fn abort_upload(&self, actor: &Actor, id: Uuid) -> Result<UploadView, CourseError> {
        let (up, _) = self.own_upload(actor, id).await?;
        match up.state.as_str() {
            "completed" => {
                return Err(CourseError::Conflict(
                    "the upload is completed; its material stays until it is replaced".into(),
                ));
            }
            "aborted" | "rejected" => return self.view(up).await,
            _ => {}
        }
        // The state changes first: a completion racing this one then fails its guarded update
        // instead of attaching a file that is being deleted.
        upload::Entity::update_many()
            .col_expr(upload::Column::State, Expr::value("aborted"))
            .filter(upload::Column::Id.eq(up.id))
            .filter(upload::Column::State.eq("open"))
            .exec(&self.db)
            .await?;
        self.free_storage(&up).await?;
        tracing::info!(upload.id = %up.id, "upload aborted");
        let fresh = upload::Entity::find_by_id(id)
            .one(&self.db)
            .await?
            .ok_or(CourseError::NotFound("upload"))?;
        self.view(fresh).await
    }

    /// Frees what an aborted or rejected session may hold: its multipart upload and any
    /// object a half-done completion left. Both steps may be repeated.
    async fn free_storage(&self, up: &upload::Model) -> Result<(), CourseError> {
        self.store
            .abort_multipart(&up.object_key, &up.storage_upload_id)
            .await?;
        self.store.delete(&up.object_key).await?;
        Ok(())
    }

    /// The expiry job: aborts a session still open at its expiry and frees its storage; for
    /// sessions aborted or rejected before, frees their storage again (an earlier clean-up may
    /// have failed half-way). Idempotent.
    ///
    /// # Errors
    /// Database or storage failures (the job retries).
    pub async fn expire_upload(&self, id: Uuid) -> Result<(), CourseError> {
        let Some(up) = upload::Entity::find_by_id(id).one(&self.db).await? else {
            return Ok(());
        };
        let now = self.clock.now();
        match up.state.as_str() {
            "open" if now < up.expires_at => {
                // Not due yet (the clock of the enqueuing server ran ahead): come back then.
                self.jobs
                    .enqueue(
                        EXPIRE_UPLOAD_JOB,
                        json!({ "uploadId": id }),
                        Some(up.expires_at),
                        EXPIRE_ATTEMPTS,
                    )
                    .await?;
                Ok(())
            }
            "open" => {
                upload::Entity::update_many()
                    .col_expr(upload::Column::State, Expr::value("aborted"))
                    .filter(upload::Column::Id.eq(up.id))
                    .filter(upload::Column::State.eq("open"))
                    .filter(upload::Column::ExpiresAt.lte(now))
                    .exec(&self.db)
                    .await?;
                let fresh = upload::Entity::find_by_id(id).one(&self.db).await?;
                if fresh.as_ref().is_some_and(|u| u.state == "aborted") {
                    self.free_storage(&up).await?;
                    tracing::info!(upload.id = %id, "expired upload session aborted");
                }
                Ok(())
            }
            "aborted" | "rejected" => self.free_storage(&up).await,
            _ => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parts_are_at_least_5_mib_and_at_most_10000() {
        assert_eq!(plan_parts(1, 8 * MIB), (8 * MIB, 1));
        assert_eq!(plan_parts(8 * MIB + 1, 8 * MIB), (8 * MIB, 2));
        assert_eq!(plan_parts(12 * MIB, MIB), (5 * MIB, 3));
        assert_eq!(plan_parts(2 << 30, 8 * MIB), (8 * MIB, 256));
        let huge = 100_000 * MIB;
        let (part, count) = plan_parts(huge, 8 * MIB);
        assert_eq!(part, 10 * MIB);
        assert!(count <= MAX_PART_NUMBER);
        assert_eq!(part % MIB, 0);
    }

    #[test]
    fn the_last_part_takes_the_remainder() {
        assert_eq!(part_len(1, 12, 5, 3), 5);
        assert_eq!(part_len(3, 12, 5, 3), 2);
        assert_eq!(part_len(1, 5, 5, 1), 5);
    }

    fn input(size: i64, content_type: &str, sha: &str, name: &str) -> NewUpload {
        NewUpload {
            file_name: name.into(),
            content_type: content_type.into(),
            size,
            sha256: sha.into(),
        }
    }

    fn field_of(err: CourseError) -> &'static str {
        match err {
            CourseError::Invalid { field, .. } => field,
            other => panic!("not a user error: {other:?}"),
        }
    }

    #[test]
    fn upload_input_is_checked_field_by_field() {
        let sha = "A".repeat(64);
        let ok = check_new_upload(
            &input(10, "video/mp4", &sha, "C:\\fakepath\\kelas.mp4"),
            100,
        )
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(ok.file_name, "kelas.mp4");
        assert_eq!(ok.sha256, "a".repeat(64));
        let cases = [
            (input(0, "video/mp4", &sha, "a.mp4"), "size"),
            (input(-5, "video/mp4", &sha, "a.mp4"), "size"),
            (input(101, "video/mp4", &sha, "a.mp4"), "size"),
            (input(10, "text/x-sh", &sha, "a.mp4"), "contentType"),
            (input(10, "video/mp4", "abc", "a.mp4"), "sha256"),
            (input(10, "video/mp4", &"g".repeat(64), "a.mp4"), "sha256"),
            (input(10, "video/mp4", &sha, "  "), "fileName"),
            (input(10, "video/mp4", &sha, "a\nb.mp4"), "fileName"),
            (input(10, "video/mp4", &sha, &"x".repeat(256)), "fileName"),
        ];
        for (i, want) in cases {
            let err = check_new_upload(&i, 100)
                .err()
                .unwrap_or_else(|| panic!("{i:?} passed"));
            assert_eq!(field_of(err), want, "{i:?}");
        }
    }

    #[test]
    fn byte_counts_read_well() {
        assert_eq!(human_bytes(2 << 30), "2 GiB");
        assert_eq!(human_bytes(3 * (1 << 29)), "1.5 GiB");
        assert_eq!(human_bytes(512), "512 bytes");
    }
}
