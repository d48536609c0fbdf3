//! The media part of the course GraphQL API: resumable uploads, materials and their processing
//! state, and offline packages. A lesson's player data is the `media` field of `Lesson` (see
//! [`crate::delivery::LessonMedia`]). Types here are written for clients; none is an entity.

use async_graphql::{Context, ID, Object, SimpleObject};
use chrono::{DateTime, Utc};
use identity::graphql::parse_id;
use kernel::GqlResultExt;
use kernel::context::{actor, service};

use crate::Courses;
use crate::entity::material;
use crate::media_type::MaterialKind;
use crate::offline::{OfflineFileRole, OfflinePackage as Package};
use crate::processing::{MaterialState, MediaOutputs};
use crate::uploads::{NewUpload, UploadState, UploadView};

fn courses<'a>(ctx: &Context<'a>) -> async_graphql::Result<&'a Courses> {
    service::<Courses>(ctx)
}

fn to_i64(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

fn to_i32(n: Option<u32>) -> Option<i32> {
    n.and_then(|v| i32::try_from(v).ok())
}

/// A rendition processing made of a recording.
#[derive(SimpleObject)]
pub struct MaterialRendition {
    /// `240p`, `360p`, `720p`, or `audio`.
    name: String,
    /// Whether it has sound only.
    audio_only: bool,
    /// Peak bits per second.
    bandwidth: i64,
    /// Mean bits per second.
    average_bandwidth: i64,
    /// Picture width.
    width: Option<i32>,
    /// Picture height.
    height: Option<i32>,
    /// Download size: playlist and segments, in bytes.
    size_bytes: i64,
    /// Number of segments.
    segment_count: i32,
}

/// An uploaded material (video, audio, PDF, image) and what processing made of it: what its
/// trainer sees.
pub struct Material(pub material::Model);

#[Object]
impl Material {
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }
    async fn kind(&self) -> MaterialKind {
        MaterialKind::from_stored(&self.0.kind).unwrap_or(MaterialKind::Video)
    }
    /// Uploaded, processing, ready or failed.
    async fn state(&self) -> MaterialState {
        MaterialState::from_stored(&self.0.state)
    }
    /// Why processing failed, when it did.
    async fn failure_reason(&self) -> Option<&str> {
        self.0.failure_reason.as_deref()
    }
    /// The file's name as uploaded.
    async fn file_name(&self) -> &str {
        &self.0.file_name
    }
    /// The type found in the file's content.
    async fn content_type(&self) -> &str {
        &self.0.content_type
    }
    async fn size_bytes(&self) -> i64 {
        self.0.size_bytes
    }
    /// SHA-256 of the original, hex.
    async fn sha256(&self) -> &str {
        &self.0.sha256
    }
    /// Length of a recording, in milliseconds.
    async fn duration_ms(&self) -> Option<i64> {
        self.0.duration_ms
    }
    /// Picture width (video, image).
    async fn width(&self) -> Option<i32> {
        self.0.width
    }
    /// Picture height (video, image).
    async fn height(&self) -> Option<i32> {
        self.0.height
    }
    /// Pages of a PDF, when they could be counted.
    async fn page_count(&self) -> Option<i32> {
        self.0.page_count
    }
    /// HLS renditions, smallest first (empty until ready).
    async fn renditions(&self) -> Vec<MaterialRendition> {
        MediaOutputs::of(&self.0)
            .map(|o| {
                o.hls
                    .iter()
                    .map(|r| MaterialRendition {
                        name: r.name.clone(),
                        audio_only: r.audio_only,
                        bandwidth: to_i64(r.bandwidth),
                        average_bandwidth: to_i64(r.average_bandwidth),
                        width: to_i32(r.width),
                        height: to_i32(r.height),
                        size_bytes: to_i64(r.size_bytes()),
                        segment_count: i32::try_from(r.segments.len()).unwrap_or(i32::MAX),
                    })
                    .collect()
            })
            .unwrap_or_default()
    }
    /// The lesson it was uploaded for; null for a cover.
    async fn lesson_id(&self) -> Option<ID> {
        self.0.lesson_id.map(|id| ID(id.to_string()))
    }
    async fn course_id(&self) -> ID {
        ID(self.0.course_id.to_string())
    }
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
    async fn updated_at(&self) -> DateTime<Utc> {
        self.0.updated_at
    }
}

/// What an upload is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, async_graphql::Enum)]
pub enum UploadPurpose {
    /// A lesson's material.
    Lesson,
    /// The course's cover image.
    Cover,
}

/// A part the store holds.
#[derive(SimpleObject)]
pub struct UploadedPart {
    /// From 1.
    part_number: i32,
    size_bytes: i64,
    /// The part's ETag.
    etag: String,
}

/// A part still to send.
#[derive(SimpleObject)]
pub struct PartUpload {
    /// From 1.
    part_number: i32,
    /// Send exactly bytes `(partNumber - 1) * partSize` up to this many.
    size_bytes: i64,
    /// PUT the part's bytes here; the response's `ETag` header names the part. A part may be
    /// sent again: the last one wins.
    url: String,
}

/// A resumable upload session. Send every part in `missingParts` (in any order, in parallel if
/// you like), then call `completeUpload`. After a dropped connection, ask for the session
/// again: `missingParts` then lists what is still to send, with fresh URLs.
pub struct UploadSession(pub UploadView);

#[Object]
impl UploadSession {
    async fn id(&self) -> ID {
        ID(self.0.upload.id.to_string())
    }
    async fn state(&self) -> UploadState {
        self.0.state
    }
    async fn purpose(&self) -> UploadPurpose {
        if self.0.upload.purpose == "cover" {
            UploadPurpose::Cover
        } else {
            UploadPurpose::Lesson
        }
    }
    async fn course_id(&self) -> ID {
        ID(self.0.upload.course_id.to_string())
    }
    async fn lesson_id(&self) -> Option<ID> {
        self.0.upload.lesson_id.map(|id| ID(id.to_string()))
    }
    async fn file_name(&self) -> &str {
        &self.0.upload.file_name
    }
    /// The declared type, canonical.
    async fn content_type(&self) -> &str {
        &self.0.upload.declared_content_type
    }
    async fn size_bytes(&self) -> i64 {
        self.0.upload.size_bytes
    }
    /// The declared SHA-256, hex.
    async fn sha256(&self) -> &str {
        &self.0.upload.sha256
    }
    /// Bytes in every part but the last.
    async fn part_size(&self) -> i64 {
        self.0.upload.part_size
    }
    async fn part_count(&self) -> i32 {
        self.0.upload.part_count
    }
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.upload.created_at
    }
    /// After this the session takes no parts and is aborted.
    async fn expires_at(&self) -> DateTime<Utc> {
        self.0.upload.expires_at
    }
    /// Parts the store holds with the right size.
    async fn received_parts(&self) -> Vec<UploadedPart> {
        self.0
            .received
            .iter()
            .map(|p| UploadedPart {
                part_number: i32::try_from(p.part_number).unwrap_or(i32::MAX),
                size_bytes: to_i64(p.size),
                etag: p.etag.clone(),
            })
            .collect()
    }
    /// Parts still to send, with URLs (empty unless the session is open).
    async fn missing_parts(&self) -> Vec<PartUpload> {
        self.0
            .missing
            .iter()
            .map(|p| PartUpload {
                part_number: i32::try_from(p.part_number).unwrap_or(i32::MAX),
                size_bytes: to_i64(p.size),
                url: p.url.clone(),
            })
            .collect()
    }
    /// When the part URLs stop working.
    async fn part_urls_expire_at(&self) -> Option<DateTime<Utc>> {
        self.0.urls_expire_at
    }
    /// The material made from the upload, once completed.
    async fn material(&self) -> Option<Material> {
        self.0.material.clone().map(Material)
    }
}

/// A file of an offline package.
#[derive(SimpleObject)]
pub struct OfflineFile {
    /// Where it goes in the package (relative; keep it as it is: playlists name their
    /// segments relatively).
    path: String,
    /// The lesson it belongs to; null for the cover.
    lesson_id: Option<ID>,
    /// The material it is made from (`LessonMedia.materialId`): name it in progress events
    /// (`ProgressEventInput.materialId`) about what was studied offline.
    material_id: ID,
    role: OfflineFileRole,
    size_bytes: i64,
    /// Check the downloaded bytes against this (hex SHA-256).
    sha256: String,
    content_type: String,
    /// Download it from here until `urlsExpireAt`.
    url: String,
}

/// Every file a phone needs to study a course offline in one rendition.
pub struct OfflinePackage(pub Package);

#[Object]
impl OfflinePackage {
    async fn course_id(&self) -> ID {
        ID(self.0.course_id.to_string())
    }
    /// The rendition asked for. A lesson without it gets the closest smaller one.
    async fn rendition(&self) -> &str {
        &self.0.rendition
    }
    /// When the URLs stop working; ask again for fresh ones (paths and hashes stay the same).
    async fn urls_expire_at(&self) -> DateTime<Utc> {
        self.0.expires_at
    }
    /// The bytes to download.
    async fn total_bytes(&self) -> i64 {
        to_i64(self.0.total_bytes())
    }
    async fn files(&self) -> Vec<OfflineFile> {
        self.0
            .files
            .iter()
            .map(|f| OfflineFile {
                path: f.path.clone(),
                lesson_id: f.lesson_id.map(|id| ID(id.to_string())),
                material_id: ID(f.material_id.to_string()),
                role: f.role,
                size_bytes: to_i64(f.size),
                sha256: f.sha256.clone(),
                content_type: f.content_type.clone(),
                url: f.url.clone(),
            })
            .collect()
    }
    /// Lessons whose media is not ready yet (or failed), left out of the package.
    async fn unavailable_lesson_ids(&self) -> Vec<ID> {
        self.0
            .unavailable_lessons
            .iter()
            .map(|id| ID(id.to_string()))
            .collect()
    }
}

/// Media queries.
#[derive(Default)]
pub struct MediaQuery;

#[Object]
impl MediaQuery {
    /// An upload session, for the person who opened it (or an admin): which parts arrived and
    /// fresh URLs for the rest.
    async fn upload(&self, ctx: &Context<'_>, id: ID) -> async_graphql::Result<UploadSession> {
        let actor = actor(ctx)?;
        let id = parse_id("id", &id)?;
        courses(ctx)?
            .upload_status(actor, id)
            .await
            .map(UploadSession)
            .gql()
    }

    /// A material, for editors of its course: its processing state and what processing found.
    async fn material(&self, ctx: &Context<'_>, id: ID) -> async_graphql::Result<Material> {
        let actor = actor(ctx)?;
        let id = parse_id("id", &id)?;
        courses(ctx)?.material(actor, id).await.map(Material).gql()
    }

    /// The current material of a lesson, for editors of its course; null without one.
    async fn lesson_material(
        &self,
        ctx: &Context<'_>,
        lesson_id: ID,
    ) -> async_graphql::Result<Option<Material>> {
        let actor = actor(ctx)?;
        let lesson_id = parse_id("lessonId", &lesson_id)?;
        courses(ctx)?
            .lesson_material(actor, lesson_id)
            .await
            .map(|m| m.map(Material))
            .gql()
    }

    /// Every file needed to study a course offline in `rendition` (`240p`, `360p`, `720p` or
    /// `audio`), for those who may take the course.
    async fn offline_package(
        &self,
        ctx: &Context<'_>,
        course_id: ID,
        rendition: String,
    ) -> async_graphql::Result<OfflinePackage> {
        let actor = actor(ctx)?;
        let course_id = parse_id("courseId", &course_id)?;
        courses(ctx)?
            .offline_package(actor, course_id, &rendition)
            .await
            .map(OfflinePackage)
            .gql()
    }
}

/// Media mutations.
#[derive(Default)]
pub struct MediaMutation;

#[Object]
impl MediaMutation {
    /// Opens a resumable upload of a lesson's material (editors of its course): MP4 or WebM
    /// video (or MP3/M4A recordings) for a video lesson, PDF for a document lesson. `size` is
    /// checked against the limit (2 GiB by default) before any byte is sent.
    async fn create_upload(
        &self,
        ctx: &Context<'_>,
        lesson_id: ID,
        file_name: String,
        content_type: String,
        size: i64,
        sha256: String,
    ) -> async_graphql::Result<UploadSession> {
        let actor = actor(ctx)?;
        let lesson_id = parse_id("lessonId", &lesson_id)?;
        courses(ctx)?
            .create_lesson_upload(
                actor,
                lesson_id,
                NewUpload {
                    file_name,
                    content_type,
                    size,
                    sha256,
                },
            )
            .await
            .map(UploadSession)
            .gql()
    }

    /// Opens a resumable upload of a course's cover image (PNG or JPEG).
    async fn create_cover_upload(
        &self,
        ctx: &Context<'_>,
        course_id: ID,
        file_name: String,
        content_type: String,
        size: i64,
        sha256: String,
    ) -> async_graphql::Result<UploadSession> {
        let actor = actor(ctx)?;
        let course_id = parse_id("courseId", &course_id)?;
        courses(ctx)?
            .create_cover_upload(
                actor,
                course_id,
                NewUpload {
                    file_name,
                    content_type,
                    size,
                    sha256,
                },
            )
            .await
            .map(UploadSession)
            .gql()
    }

    /// Completes an upload once every part is in: checks size, SHA-256 and the file's real
    /// type, then attaches the material and queues its processing. A file failing a check is
    /// deleted (BAD_USER_INPUT naming `size`, `sha256` or `contentType`). Safe to repeat.
    async fn complete_upload(
        &self,
        ctx: &Context<'_>,
        id: ID,
    ) -> async_graphql::Result<UploadSession> {
        let actor = actor(ctx)?;
        let id = parse_id("id", &id)?;
        courses(ctx)?
            .complete_upload(actor, id)
            .await
            .map(UploadSession)
            .gql()
    }

    /// Abandons an upload and frees its parts.
    async fn abort_upload(
        &self,
        ctx: &Context<'_>,
        id: ID,
    ) -> async_graphql::Result<UploadSession> {
        let actor = actor(ctx)?;
        let id = parse_id("id", &id)?;
        courses(ctx)?
            .abort_upload(actor, id)
            .await
            .map(UploadSession)
            .gql()
    }

    /// Queues a failed material for processing again (admins).
    async fn reprocess_material(
        &self,
        ctx: &Context<'_>,
        id: ID,
    ) -> async_graphql::Result<Material> {
        let actor = actor(ctx)?;
        let id = parse_id("id", &id)?;
        courses(ctx)?
            .reprocess_material(actor, id)
            .await
            .map(Material)
            .gql()
    }
}
