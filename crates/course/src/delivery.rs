//! Delivery of materials to players: what a lesson's player needs ([`lesson_media`]), the
//! signed HLS playlists the gateway serves under `/media/hls` ([`router`]), and whether a
//! lesson's media is ready for learners (asked by [`crate::readiness`]).
//!
//! URLs:
//! - master playlist `<public_url>/media/hls/<material>/master.m3u8?exp=<unix s>&sig=<hex>`;
//! - variant playlist `<public_url>/media/hls/<material>/<rendition>/index.m3u8?exp=..&sig=..`
//!   (the master names them relatively);
//! - segments, posters, MP4 fallbacks and documents: presigned storage URLs (S3, or the local
//!   store's signed `/media/...` URLs), made when the playlist or the lesson is fetched.
//!
//! A playlist signature is HMAC-SHA256 with the playlist key over
//! `lms-hls-v1\n<material id>\n<master | rendition name>\n<exp>`; a bad or expired one gets
//! 403. Every URL lives `url_ttl` (15 minutes by default). Only people with content access get
//! URLs; the URLs themselves are the capability, since players cannot send a bearer token.

use std::collections::HashMap;

use async_graphql::{ID, SimpleObject};
use axum::Router;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use chrono::{DateTime, Utc};
use hmac::{Hmac, Mac};
use kernel::{Actor, Secret};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder};
use serde::Deserialize;
use sha2::Sha256;
use uuid::Uuid;

use crate::entity::{course, lesson, material};
use crate::error::CourseError;
use crate::media_type::MaterialKind;
use crate::processing::{HlsRendition, MaterialState, MediaOutputs};
use crate::{Courses, access};

/// The MIME type of HLS playlists.
pub const PLAYLIST_CONTENT_TYPE: &str = "application/vnd.apple.mpegurl";

type HmacSha256 = Hmac<Sha256>;

/// One rendition a player (or a learner saving data) can choose.
#[derive(Debug, Clone, SimpleObject)]
pub struct MediaRendition {
    /// `240p`, `360p`, `720p`, or `audio` for sound only.
    pub name: String,
    /// Whether it has sound only.
    pub audio_only: bool,
    /// Peak bits per second.
    pub bandwidth: i64,
    /// Mean bits per second.
    pub average_bandwidth: i64,
    /// Picture width.
    pub width: Option<i32>,
    /// Picture height.
    pub height: Option<i32>,
    /// What watching (or saving) it whole downloads, in bytes.
    pub size_bytes: i64,
    /// Its own playlist: signed, expiring at `urlsExpireAt`.
    pub playlist_url: String,
}

/// What a player needs to play or show a lesson's material. URLs expire at `urlsExpireAt`;
/// ask again for fresh ones.
#[derive(Debug, Clone, SimpleObject)]
pub struct LessonMedia {
    /// The material shown. While a replacement is processed, the previous ready one is shown.
    pub material_id: ID,
    /// Video, audio or document.
    pub kind: MaterialKind,
    /// The shown material's processing state; URLs of a video come once it is `READY`.
    pub state: MaterialState,
    /// The original's MIME type.
    pub content_type: String,
    /// Length of a recording, in milliseconds.
    pub duration_ms: Option<i64>,
    /// Picture width of a video.
    pub width: Option<i32>,
    /// Picture height of a video.
    pub height: Option<i32>,
    /// Pages of a document, when they could be counted.
    pub page_count: Option<i32>,
    /// The HLS master playlist (adaptive: the player picks a rendition by bandwidth).
    pub hls_url: Option<String>,
    /// A progressive MP4 (or M4A for sound only) for players without HLS.
    pub progressive_url: Option<String>,
    /// Size of the progressive file, in bytes.
    pub progressive_size_bytes: Option<i64>,
    /// A still from the video.
    pub poster_url: Option<String>,
    /// The document (PDF); it serves byte ranges, so a viewer can load page by page.
    pub document_url: Option<String>,
    /// Size of the document, in bytes.
    pub document_size_bytes: Option<i64>,
    /// The HLS renditions, smallest first, with their download sizes.
    pub renditions: Vec<MediaRendition>,
    /// When every URL above stops working.
    pub urls_expire_at: DateTime<Utc>,
}

fn to_i64(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

fn to_i32(n: Option<u32>) -> Option<i32> {
    n.and_then(|v| i32::try_from(v).ok())
}

/// The current material of each lesson by material id, and the earlier ready material of each
/// lesson whose current one is not ready (what plays while a replacement is processed), by
/// lesson id: everything [`playable`] looks at. One statement, two while a replacement waits.
async fn materials_of(
    conn: &impl ConnectionTrait,
    lessons: &[lesson::Model],
) -> Result<
    (
        HashMap<Uuid, material::Model>,
        HashMap<Uuid, material::Model>,
    ),
    CourseError,
> {
    let current_ids: Vec<Uuid> = lessons.iter().filter_map(|l| l.material_id).collect();
    let mut current: HashMap<Uuid, material::Model> = HashMap::new();
    if !current_ids.is_empty() {
        for m in material::Entity::find()
            .filter(material::Column::Id.is_in(current_ids))
            .all(conn)
            .await?
        {
            current.insert(m.id, m);
        }
    }
    // A lesson's material is set by an upload and never cleared, so a lesson without one never
    // had one; only a lesson whose current material is not ready can fall back.
    let waiting: Vec<Uuid> = lessons
        .iter()
        .filter(|l| {
            l.material_id
                .is_some_and(|id| current.get(&id).is_none_or(|m| m.state != "ready"))
        })
        .map(|l| l.id)
        .collect();
    let mut earlier = HashMap::new();
    if !waiting.is_empty() {
        let ready = material::Entity::find()
            .filter(material::Column::LessonId.is_in(waiting))
            .filter(material::Column::State.eq("ready"))
            .order_by_desc(material::Column::CreatedAt)
            .all(conn)
            .await?;
        for m in ready {
            if let Some(lid) = m.lesson_id {
                earlier.entry(lid).or_insert(m);
            }
        }
    }
    Ok((current, earlier))
}

/// The material each of `lessons` gives learners ([`playable`]), by lesson id; lessons with
/// none are left out. The completion rules measure this one, so that a learner is held to the
/// recording they are shown, not to a replacement still being processed.
///
/// # Errors
/// INTERNAL on database failure.
pub async fn playable_materials(
    conn: &impl ConnectionTrait,
    lessons: &[lesson::Model],
) -> Result<HashMap<Uuid, material::Model>, CourseError> {
    let (current, earlier) = materials_of(conn, lessons).await?;
    Ok(lessons
        .iter()
        .filter_map(|l| Some((l.id, playable(l, &current, &earlier)?.clone())))
        .collect())
}

/// The material learners get for a lesson: its current material when ready, else the newest
/// ready one it had (a replacement being processed does not take the lesson offline).
fn playable<'a>(
    lesson: &lesson::Model,
    current: &'a HashMap<Uuid, material::Model>,
    newest_ready: &'a HashMap<Uuid, material::Model>,
) -> Option<&'a material::Model> {
    let now = lesson.material_id.and_then(|id| current.get(&id));
    match now {
        Some(m) if m.state == "ready" => Some(m),
        _ => newest_ready.get(&lesson.id),
    }
}

/// The active lessons of a course (not archived, in a module not archived), published or not,
/// in course order: by module position, then lesson position.
pub(crate) async fn course_lessons(
    conn: &impl ConnectionTrait,
    course_id: Uuid,
) -> Result<Vec<lesson::Model>, CourseError> {
    use crate::entity::course_module;
    let modules: HashMap<Uuid, i32> = course_module::Entity::find()
        .filter(course_module::Column::CourseId.eq(course_id))
        .filter(course_module::Column::ArchivedAt.is_null())
        .all(conn)
        .await?
        .into_iter()
        .map(|m| (m.id, m.position))
        .collect();
    let mut lessons: Vec<lesson::Model> = lesson::Entity::find()
        .filter(lesson::Column::CourseId.eq(course_id))
        .filter(lesson::Column::ArchivedAt.is_null())
        .all(conn)
        .await?
        .into_iter()
        .filter(|l| modules.contains_key(&l.module_id))
        .collect();
    lessons.sort_by_key(|l| (modules.get(&l.module_id).copied(), l.position, l.id));
    Ok(lessons)
}

/// Why a lesson's media keeps it from learners, or `None` when it is ready.
fn blocker(
    lesson: &lesson::Model,
    current: &HashMap<Uuid, material::Model>,
    newest_ready: &HashMap<Uuid, material::Model>,
) -> Option<String> {
    let what = match lesson.kind.as_str() {
        "video" => "recording",
        "document" => "document",
        _ => return None,
    };
    if playable(lesson, current, newest_ready).is_some() {
        return None;
    }
    let title = &lesson.title;
    Some(match lesson.material_id.and_then(|id| current.get(&id)) {
        None => format!("lesson \"{title}\" has no {what} yet"),
        Some(m) if m.state == "failed" => format!(
            "the {what} of lesson \"{title}\" failed processing ({}); upload it again",
            m.failure_reason.as_deref().unwrap_or("no reason recorded")
        ),
        Some(_) => format!("the {what} of lesson \"{title}\" is still being processed"),
    })
}

/// Why the media of `lessons` keep them from learners, one sentence per lesson that is not
/// ready: a video lesson needs a recording that finished processing (`ready`), a document lesson
/// a ready PDF; other kinds are not this module's business. A lesson whose replacement material
/// is still processing passes while its previous one is ready, since learners get that one
/// meanwhile. One statement however many lessons, two while a replacement waits.
///
/// # Errors
/// INTERNAL on database failure.
pub(crate) async fn media_blockers(
    conn: &impl ConnectionTrait,
    lessons: &[lesson::Model],
) -> Result<Vec<(Uuid, String)>, CourseError> {
    let (current, newest_ready) = materials_of(conn, lessons).await?;
    Ok(lessons
        .iter()
        .filter_map(|l| blocker(l, &current, &newest_ready).map(|why| (l.id, why)))
        .collect())
}

/// Which playlist a signed URL opens.
fn playlist_message(material: Uuid, target: &str, exp: i64) -> String {
    format!("lms-hls-v1\n{material}\n{target}\n{exp}")
}

fn playlist_mac(key: &Secret, material: Uuid, target: &str, exp: i64) -> HmacSha256 {
    // HMAC takes keys of any length, so the fallback never runs; it keeps the code panic-free.
    let mut mac = HmacSha256::new_from_slice(key.expose().as_bytes())
        .unwrap_or_else(|_| HmacSha256::new(&Default::default()));
    mac.update(playlist_message(material, target, exp).as_bytes());
    mac
}

/// The query string of a signed playlist URL (`exp=..&sig=..`).
pub(crate) fn playlist_query(key: &Secret, material: Uuid, target: &str, exp: i64) -> String {
    let sig = hex::encode(
        playlist_mac(key, material, target, exp)
            .finalize()
            .into_bytes(),
    );
    format!("exp={exp}&sig={sig}")
}

/// Why a playlist URL is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Denied {
    BadSignature,
    Expired,
}

fn verify_playlist(
    key: &Secret,
    material: Uuid,
    target: &str,
    exp: i64,
    sig: &str,
    now: i64,
) -> Result<(), Denied> {
    let sig = hex::decode(sig).map_err(|_| Denied::BadSignature)?;
    playlist_mac(key, material, target, exp)
        .verify_slice(&sig)
        .map_err(|_| Denied::BadSignature)?;
    if now > exp {
        return Err(Denied::Expired);
    }
    Ok(())
}

/// The master playlist: one variant per rendition, the smallest video first (a player on a
/// poor connection starts there), sound-only last.
pub fn master_playlist(
    outputs: &MediaOutputs,
    variant_uri: impl Fn(&HlsRendition) -> String,
) -> String {
    let mut text = String::from("#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-INDEPENDENT-SEGMENTS\n");
    let video = outputs.hls.iter().filter(|r| !r.audio_only);
    let audio = outputs.hls.iter().filter(|r| r.audio_only);
    for r in video.chain(audio) {
        text.push_str(&format!(
            "#EXT-X-STREAM-INF:BANDWIDTH={},AVERAGE-BANDWIDTH={},CODECS=\"{}\"",
            r.bandwidth.max(1),
            r.average_bandwidth.max(1),
            r.codecs
        ));
        if let (Some(w), Some(h)) = (r.width, r.height) {
            text.push_str(&format!(",RESOLUTION={w}x{h}"));
        }
        text.push('\n');
        text.push_str(&variant_uri(r));
        text.push('\n');
    }
    text
}

/// A media playlist of `rendition`, naming its segments by `uris` (file names for the stored
/// offline copy, signed URLs for players), in order.
pub fn media_playlist(rendition: &HlsRendition, uris: impl IntoIterator<Item = String>) -> String {
    let mut text = format!(
        "#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:{}\n#EXT-X-MEDIA-SEQUENCE:0\n\
         #EXT-X-PLAYLIST-TYPE:VOD\n#EXT-X-INDEPENDENT-SEGMENTS\n",
        rendition.target_duration()
    );
    for (segment, uri) in rendition.segments.iter().zip(uris) {
        text.push_str(&format!(
            "#EXTINF:{}.{:03},\n{uri}\n",
            segment.duration_ms / 1000,
            segment.duration_ms % 1000
        ));
    }
    text.push_str("#EXT-X-ENDLIST\n");
    text
}

impl Courses {
    fn url_expiry(&self) -> (DateTime<Utc>, std::time::Duration) {
        let ttl = self.settings.url_ttl.max(chrono::Duration::seconds(1));
        (
            self.clock.now() + ttl,
            ttl.to_std().unwrap_or(std::time::Duration::from_secs(900)),
        )
    }

    fn hls_base(&self, material: Uuid) -> String {
        format!(
            "{}/media/hls/{material}",
            self.settings.public_url.trim_end_matches('/')
        )
    }

    /// The signed URL of the master playlist (`target` = `master`) or of a rendition's playlist.
    pub(crate) fn playlist_url(&self, material: Uuid, target: &str, exp: i64) -> String {
        let path = if target == "master" {
            "master.m3u8".to_owned()
        } else {
            format!("{target}/index.m3u8")
        };
        format!(
            "{}/{path}?{}",
            self.hls_base(material),
            playlist_query(&self.settings.playlist_key, material, target, exp)
        )
    }

    /// The media of `m` for a player.
    async fn media_of(&self, m: &material::Model) -> Result<LessonMedia, CourseError> {
        let (expires_at, ttl) = self.url_expiry();
        let exp = expires_at.timestamp();
        let kind = MaterialKind::from_stored(&m.kind).unwrap_or(MaterialKind::Video);
        let state = MaterialState::from_stored(&m.state);
        let mut media = LessonMedia {
            material_id: ID(m.id.to_string()),
            kind,
            state,
            content_type: m.content_type.clone(),
            duration_ms: m.duration_ms,
            width: m.width,
            height: m.height,
            page_count: m.page_count,
            hls_url: None,
            progressive_url: None,
            progressive_size_bytes: None,
            poster_url: None,
            document_url: None,
            document_size_bytes: None,
            renditions: Vec::new(),
            urls_expire_at: expires_at,
        };
        match kind {
            // The PDF was checked when its upload completed, so a trainer may view it while
            // its page count is being read.
            MaterialKind::Document | MaterialKind::Image => {
                if state != MaterialState::Failed {
                    media.document_url = Some(self.store.presign_get(&m.object_key, ttl).await?);
                    media.document_size_bytes = Some(m.size_bytes);
                }
            }
            MaterialKind::Video | MaterialKind::Audio => {
                if state != MaterialState::Ready {
                    return Ok(media);
                }
                let Some(outputs) = MediaOutputs::of(m) else {
                    // Processing was off: the original is all there is.
                    media.progressive_url = Some(self.store.presign_get(&m.object_key, ttl).await?);
                    media.progressive_size_bytes = Some(m.size_bytes);
                    return Ok(media);
                };
                if !outputs.hls.is_empty() {
                    media.hls_url = Some(self.playlist_url(m.id, "master", exp));
                }
                for r in outputs
                    .hls
                    .iter()
                    .filter(|r| !r.audio_only)
                    .chain(outputs.hls.iter().filter(|r| r.audio_only))
                {
                    media.renditions.push(MediaRendition {
                        name: r.name.clone(),
                        audio_only: r.audio_only,
                        bandwidth: to_i64(r.bandwidth),
                        average_bandwidth: to_i64(r.average_bandwidth),
                        width: to_i32(r.width),
                        height: to_i32(r.height),
                        size_bytes: to_i64(r.size_bytes()),
                        playlist_url: self.playlist_url(m.id, &r.name, exp),
                    });
                }
                if let Some(p) = &outputs.progressive {
                    media.progressive_url = Some(self.store.presign_get(&p.key, ttl).await?);
                    media.progressive_size_bytes = Some(to_i64(p.size));
                }
                if let Some(p) = &outputs.poster {
                    media.poster_url = Some(self.store.presign_get(&p.key, ttl).await?);
                }
            }
        }
        Ok(media)
    }

    /// A short-lived URL of a course's cover image, for anyone who may see the course (the
    /// caller checks that); `None` without a cover.
    ///
    /// # Errors
    /// INTERNAL on database or storage failure.
    pub async fn cover_url(&self, course: &course::Model) -> Result<Option<String>, CourseError> {
        let Some(id) = course.cover_material_id else {
            return Ok(None);
        };
        let Some(m) = material::Entity::find_by_id(id).one(&self.db).await? else {
            return Ok(None);
        };
        if m.state == "failed" {
            return Ok(None);
        }
        let (_, ttl) = self.url_expiry();
        Ok(Some(self.store.presign_get(&m.object_key, ttl).await?))
    }
}

/// The media of `lesson` for `actor`, or `None` when it has no material. While a new material
/// is processed, the previous ready one is given.
///
/// # Errors
/// FORBIDDEN when the actor may not take the course; INTERNAL on database or storage failure.
pub async fn lesson_media(
    courses: &Courses,
    actor: &Actor,
    lesson: &lesson::Model,
) -> Result<Option<LessonMedia>, CourseError> {
    let course = access::find_course(&courses.db, lesson.course_id).await?;
    courses.require_content_access(actor, &course).await?;
    courses.require_lesson_open(actor, &course, lesson).await?;
    if lesson.material_id.is_none() {
        return Ok(None);
    }
    let (current, newest_ready) = materials_of(&courses.db, std::slice::from_ref(lesson)).await?;
    let shown = playable(lesson, &current, &newest_ready)
        .or_else(|| lesson.material_id.and_then(|id| current.get(&id)));
    match shown {
        Some(m) => Ok(Some(courses.media_of(m).await?)),
        None => Ok(None),
    }
}

/// The query of a signed playlist URL.
#[derive(Debug, Deserialize)]
struct Signed {
    exp: i64,
    sig: String,
}

/// Routes for signed HLS playlists; the gateway nests them at `/media/hls`.
pub fn router(courses: Courses) -> Router {
    Router::new()
        .route("/{material}/master.m3u8", get(master))
        .route("/{material}/{rendition}/index.m3u8", get(variant))
        .with_state(courses)
}

fn refused(denied: Denied) -> Response {
    let message = match denied {
        Denied::BadSignature => "the playlist URL is not valid",
        Denied::Expired => "the playlist URL has expired; ask for the lesson's media again",
    };
    (StatusCode::FORBIDDEN, message).into_response()
}

fn not_found() -> Response {
    (StatusCode::NOT_FOUND, "no such playlist").into_response()
}

fn internal(err: &CourseError, material: Uuid) -> Response {
    tracing::error!(error = %err, material.id = %material, "serving a playlist failed");
    (
        StatusCode::INTERNAL_SERVER_ERROR,
        kernel::error::INTERNAL_MESSAGE,
    )
        .into_response()
}

fn playlist_response(text: String) -> Response {
    (
        [
            (header::CONTENT_TYPE, PLAYLIST_CONTENT_TYPE),
            // It holds URLs that expire: no shared cache may keep it.
            (header::CACHE_CONTROL, "private, no-store"),
        ],
        text,
    )
        .into_response()
}

/// Checks the signature, then loads the ready material and its outputs.
async fn signed_outputs(
    courses: &Courses,
    material: &str,
    target: &str,
    query: Result<Query<Signed>, QueryRejection>,
) -> Result<(Uuid, MediaOutputs), Response> {
    let Ok(Query(signed)) = query else {
        return Err(refused(Denied::BadSignature));
    };
    let Ok(id) = Uuid::parse_str(material) else {
        return Err(refused(Denied::BadSignature));
    };
    verify_playlist(
        &courses.settings.playlist_key,
        id,
        target,
        signed.exp,
        &signed.sig,
        courses.clock.now().timestamp(),
    )
    .map_err(refused)?;
    let found = material::Entity::find_by_id(id)
        .one(&courses.db)
        .await
        .map_err(|e| internal(&e.into(), id))?;
    match found {
        Some(m) if m.state == "ready" => {
            MediaOutputs::of(&m).map(|o| (id, o)).ok_or_else(not_found)
        }
        _ => Err(not_found()),
    }
}

async fn master(
    State(courses): State<Courses>,
    Path(material): Path<String>,
    query: Result<Query<Signed>, QueryRejection>,
) -> Response {
    let (id, outputs) = match signed_outputs(&courses, &material, "master", query).await {
        Ok(found) => found,
        Err(response) => return response,
    };
    if outputs.hls.is_empty() {
        return not_found();
    }
    let exp = courses.url_expiry().0.timestamp();
    let key = &courses.settings.playlist_key;
    // Relative to the master's own URL, so they work behind any proxy or CDN.
    playlist_response(master_playlist(&outputs, |r| {
        format!(
            "{}/index.m3u8?{}",
            r.name,
            playlist_query(key, id, &r.name, exp)
        )
    }))
}

async fn variant(
    State(courses): State<Courses>,
    Path((material, rendition)): Path<(String, String)>,
    query: Result<Query<Signed>, QueryRejection>,
) -> Response {
    let (id, outputs) = match signed_outputs(&courses, &material, &rendition, query).await {
        Ok(found) => found,
        Err(response) => return response,
    };
    let Some(r) = outputs.rendition(&rendition) else {
        return not_found();
    };
    let (_, ttl) = courses.url_expiry();
    let mut uris = Vec::with_capacity(r.segments.len());
    for segment in &r.segments {
        match courses
            .store
            .presign_get(&r.segment_key(segment), ttl)
            .await
        {
            Ok(url) => uris.push(url),
            Err(e) => return internal(&e.into(), id),
        }
    }
    playlist_response(media_playlist(r, uris))
}

/// A segment list for tests of the playlist text.
#[cfg(test)]
fn rendition_for_tests(name: &str, audio_only: bool, segments: &[(u64, u64)]) -> HlsRendition {
    use crate::processing::StoredFile;
    HlsRendition {
        name: name.into(),
        audio_only,
        width: (!audio_only).then_some(426),
        height: (!audio_only).then_some(240),
        bandwidth: 210_000,
        average_bandwidth: 200_000,
        codecs: if audio_only {
            "mp4a.40.2".into()
        } else {
            "avc1.4d401e,mp4a.40.2".into()
        },
        playlist: StoredFile {
            key: format!("courses/c/materials/m/hls/{name}/index.m3u8"),
            size: 0,
            sha256: String::new(),
            content_type: PLAYLIST_CONTENT_TYPE.into(),
            width: None,
            height: None,
        },
        segments: segments
            .iter()
            .enumerate()
            .map(|(i, (ms, size))| crate::processing::Segment {
                name: format!("seg-{i:05}.ts"),
                duration_ms: *ms,
                size: *size,
                sha256: String::new(),
            })
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_playlist_signature_holds_until_it_expires_and_binds_every_field() {
        let key = Secret::new("k");
        let m = Uuid::now_v7();
        let query = playlist_query(&key, m, "master", 1000);
        let sig = query.split("sig=").nth(1).unwrap_or_default();
        assert_eq!(verify_playlist(&key, m, "master", 1000, sig, 1000), Ok(()));
        assert_eq!(
            verify_playlist(&key, m, "master", 1000, sig, 1001),
            Err(Denied::Expired)
        );
        for (key, m2, target, exp) in [
            (Secret::new("other"), m, "master", 1000),
            (key.clone(), Uuid::now_v7(), "master", 1000),
            (key.clone(), m, "240p", 1000),
            (key.clone(), m, "master", 2000),
        ] {
            assert_eq!(
                verify_playlist(&key, m2, target, exp, sig, 0),
                Err(Denied::BadSignature)
            );
        }
        assert_eq!(
            verify_playlist(&key, m, "master", 1000, "zz", 0),
            Err(Denied::BadSignature)
        );
    }

    #[test]
    fn the_master_lists_video_renditions_then_sound_only() {
        let outputs = MediaOutputs {
            hls: vec![
                rendition_for_tests("audio", true, &[(4000, 32_000)]),
                rendition_for_tests("240p", false, &[(4000, 100_000)]),
            ],
            progressive: None,
            poster: None,
        };
        let text = master_playlist(&outputs, |r| format!("{}/index.m3u8", r.name));
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], "#EXTM3U");
        assert_eq!(
            lines[3],
            "#EXT-X-STREAM-INF:BANDWIDTH=210000,AVERAGE-BANDWIDTH=200000,\
             CODECS=\"avc1.4d401e,mp4a.40.2\",RESOLUTION=426x240"
        );
        assert_eq!(lines[4], "240p/index.m3u8");
        assert!(lines[5].contains("CODECS=\"mp4a.40.2\"") && !lines[5].contains("RESOLUTION"));
        assert_eq!(lines[6], "audio/index.m3u8");
    }

    #[test]
    fn a_media_playlist_lists_each_segment_with_its_length() {
        let r = rendition_for_tests("240p", false, &[(4000, 1), (4000, 1), (1500, 1)]);
        let text = media_playlist(&r, r.segments.iter().map(|s| s.name.clone()));
        assert!(text.contains("#EXT-X-TARGETDURATION:4\n"));
        assert!(text.contains("#EXTINF:4.000,\nseg-00000.ts\n"));
        assert!(text.contains("#EXTINF:1.500,\nseg-00002.ts\n#EXT-X-ENDLIST\n"));
    }

    fn lesson(kind: &str, material: Option<Uuid>) -> lesson::Model {
        let now = Utc::now();
        lesson::Model {
            id: Uuid::now_v7(),
            course_id: Uuid::now_v7(),
            module_id: Uuid::now_v7(),
            position: 0,
            title: "Manajemen risiko".into(),
            kind: kind.into(),
            required: true,
            completion_threshold: 0.9,
            body: None,
            material_id: material,
            archived_at: None,
            published_at: None,
            created_at: now,
            updated_at: now,
        }
    }

    fn material(lesson: Uuid, state: &str) -> material::Model {
        let now = Utc::now();
        material::Model {
            id: Uuid::now_v7(),
            course_id: Uuid::now_v7(),
            lesson_id: Some(lesson),
            kind: "video".into(),
            object_key: "k".into(),
            file_name: "a.mp4".into(),
            content_type: "video/mp4".into(),
            size_bytes: 1,
            sha256: String::new(),
            state: state.into(),
            failure_reason: (state == "failed").then(|| "bad file".into()),
            duration_ms: None,
            width: None,
            height: None,
            page_count: None,
            renditions: None,
            poster_key: None,
            created_by: Uuid::now_v7(),
            created_at: now,
            updated_at: now,
        }
    }

    #[test]
    fn a_lesson_is_ready_when_learners_can_play_something() {
        let none = HashMap::new();
        assert!(blocker(&lesson("text", None), &none, &none).is_none());
        let empty = lesson("video", None);
        assert!(blocker(&empty, &none, &none).is_some_and(|m| m.contains("has no recording yet")));

        let mut l = lesson("video", None);
        let processing = material(l.id, "processing");
        l.material_id = Some(processing.id);
        let current = HashMap::from([(processing.id, processing.clone())]);
        assert!(blocker(&l, &current, &none).is_some_and(|m| m.contains("still being processed")));
        // A previous ready recording plays while the replacement is processed.
        let previous = material(l.id, "ready");
        let newest = HashMap::from([(l.id, previous)]);
        assert!(blocker(&l, &current, &newest).is_none());

        let failed = material(l.id, "failed");
        l.material_id = Some(failed.id);
        let current = HashMap::from([(failed.id, failed)]);
        assert!(blocker(&l, &current, &none).is_some_and(|m| m.contains("bad file")));
    }
}
