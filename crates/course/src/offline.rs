//! Offline packages: every file a phone needs to study a course without a connection, for the
//! rendition the learner chose, each with its path in the package, size, SHA-256 and a signed
//! URL, so the phone downloads on Wi-Fi and checks what it got.
//!
//! Layout of a package (paths are relative; a phone keeps them as they are, and the stored
//! playlists name their segments relatively, so they play from the phone's folder):
//! - `cover.<ext>`: the course cover;
//! - `lessons/<lesson id>/document.pdf`: a document lesson;
//! - `lessons/<lesson id>/<rendition>/index.m3u8` and its segments beside it: a recording;
//! - `lessons/<lesson id>/poster.jpg`: a video's poster.
//!
//! The manifest is the same on every request but for its URLs, so a phone whose URLs expired
//! asks again and resumes where it was.

use chrono::{DateTime, Utc};
use kernel::Actor;
use sea_orm::EntityTrait;
use uuid::Uuid;

use crate::delivery::{course_lessons, playable_materials};
use crate::entity::material;
use crate::error::CourseError;
use crate::media_type::MediaType;
use crate::processing::{HlsRendition, MediaOutputs, RENDITION_NAMES};
use crate::{Courses, access};

/// What a file of a package is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, async_graphql::Enum)]
pub enum OfflineFileRole {
    /// The course's cover image.
    Cover,
    /// A document lesson's PDF.
    Document,
    /// An HLS playlist naming the segments beside it.
    Playlist,
    /// An HLS segment.
    Segment,
    /// A video's poster image.
    Poster,
    /// A recording as uploaded (when video processing is turned off).
    Original,
}

/// One file of a package.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OfflineFile {
    /// Where it goes in the package.
    pub path: String,
    /// The lesson it belongs to; `None` for the cover.
    pub lesson_id: Option<Uuid>,
    /// The material it is made from: what the phone names in progress events about it.
    pub material_id: Uuid,
    /// What it is.
    pub role: OfflineFileRole,
    /// Its size in bytes.
    pub size: u64,
    /// Its SHA-256, hex.
    pub sha256: String,
    /// Its MIME type.
    pub content_type: String,
    /// Where to download it until the package's URLs expire.
    pub url: String,
}

/// The files of a course for offline study.
#[derive(Debug, Clone)]
pub struct OfflinePackage {
    /// The course.
    pub course_id: Uuid,
    /// The rendition asked for.
    pub rendition: String,
    /// The files, in course order.
    pub files: Vec<OfflineFile>,
    /// Lessons with media that is not ready yet (or failed): not in the package.
    pub unavailable_lessons: Vec<Uuid>,
    /// When the URLs stop working.
    pub expires_at: DateTime<Utc>,
}

impl OfflinePackage {
    /// The bytes to download.
    pub fn total_bytes(&self) -> u64 {
        self.files.iter().map(|f| f.size).sum()
    }
}

/// The rendition of a recording that goes offline for `wanted`: that one when it exists, else
/// the largest one smaller than it (a small source has no 720p), else the smallest there is (a
/// silent video has no sound-only rendition).
pub fn choose_rendition<'a>(outputs: &'a MediaOutputs, wanted: &str) -> Option<&'a HlsRendition> {
    let rank = |name: &str| RENDITION_NAMES.iter().position(|n| *n == name);
    let wanted_rank = rank(wanted)?;
    let mut ranked: Vec<(usize, &HlsRendition)> = outputs
        .hls
        .iter()
        .filter_map(|r| rank(&r.name).map(|i| (i, r)))
        .collect();
    ranked.sort_by_key(|(i, _)| *i);
    ranked
        .iter()
        .rev()
        .find(|(i, _)| *i <= wanted_rank)
        .or(ranked.first())
        .map(|(_, r)| *r)
}

fn file_size(n: i64) -> u64 {
    u64::try_from(n).unwrap_or(0)
}

impl Courses {
    /// Every file a phone needs to study the course offline in `rendition` (`240p`, `360p`,
    /// `720p` or `audio`), with sizes, SHA-256 and signed URLs.
    ///
    /// # Errors
    /// BAD_USER_INPUT for an unknown rendition; NOT_FOUND; FORBIDDEN without content access;
    /// INTERNAL on database or storage failure.
    pub async fn offline_package(
        &self,
        actor: &Actor,
        course_id: Uuid,
        rendition: &str,
    ) -> Result<OfflinePackage, CourseError> {
        if !RENDITION_NAMES.contains(&rendition) {
            return Err(CourseError::invalid(
                "rendition",
                format!(
                    "unknown rendition `{}`; choose one of {}",
                    rendition.chars().take(20).collect::<String>(),
                    RENDITION_NAMES.join(", ")
                ),
            ));
        }
        let course = access::find_course(&self.db, course_id).await?;
        self.require_content_access(actor, &course).await?;
        // Lessons behind a pre-test are listed as unavailable until it is taken.
        let locked = self.locked_lessons(actor, &course).await?;
        let ttl = self
            .settings
            .offline_url_ttl
            .clamp(chrono::Duration::seconds(1), chrono::Duration::days(7));
        let expires_at = self.clock.now() + ttl;
        let ttl = ttl.to_std().unwrap_or(std::time::Duration::from_secs(3600));
        let mut package = OfflinePackage {
            course_id,
            rendition: rendition.to_owned(),
            files: Vec::new(),
            unavailable_lessons: Vec::new(),
            expires_at,
        };

        if let Some(cover_id) = course.cover_material_id
            && let Some(cover) = material::Entity::find_by_id(cover_id).one(&self.db).await?
            && cover.state == "ready"
        {
            let ext =
                MediaType::from_declared(&cover.content_type).map_or("img", MediaType::extension);
            package.files.push(OfflineFile {
                path: format!("cover.{ext}"),
                lesson_id: None,
                material_id: cover.id,
                role: OfflineFileRole::Cover,
                size: file_size(cover.size_bytes),
                sha256: cover.sha256.clone(),
                content_type: cover.content_type.clone(),
                url: self.store.presign_get(&cover.object_key, ttl).await?,
            });
        }

        let mut lessons = course_lessons(&self.db, course_id).await?;
        if access::require_editor(&self.db, actor, &course)
            .await
            .is_err()
        {
            lessons.retain(|l| l.published_at.is_some());
        }
        let shown = playable_materials(&self.db, &lessons).await?;
        for lesson in &lessons {
            // Text travels in the outline; quizzes and surveys are answered online.
            if !matches!(lesson.kind.as_str(), "video" | "document") {
                continue;
            }
            if locked.contains(&lesson.id) {
                package.unavailable_lessons.push(lesson.id);
                continue;
            }
            let Some(m) = shown.get(&lesson.id) else {
                package.unavailable_lessons.push(lesson.id);
                continue;
            };
            let dir = format!("lessons/{}", lesson.id);
            let Some(outputs) = MediaOutputs::of(m) else {
                let (path, role) = if m.kind == "document" {
                    (format!("{dir}/document.pdf"), OfflineFileRole::Document)
                } else {
                    let ext = MediaType::from_declared(&m.content_type)
                        .map_or("bin", MediaType::extension);
                    (format!("{dir}/original.{ext}"), OfflineFileRole::Original)
                };
                package.files.push(OfflineFile {
                    path,
                    lesson_id: Some(lesson.id),
                    material_id: m.id,
                    role,
                    size: file_size(m.size_bytes),
                    sha256: m.sha256.clone(),
                    content_type: m.content_type.clone(),
                    url: self.store.presign_get(&m.object_key, ttl).await?,
                });
                continue;
            };
            let Some(chosen) = choose_rendition(&outputs, rendition) else {
                package.unavailable_lessons.push(lesson.id);
                continue;
            };
            let rdir = format!("{dir}/{}", chosen.name);
            package.files.push(OfflineFile {
                path: format!("{rdir}/index.m3u8"),
                lesson_id: Some(lesson.id),
                material_id: m.id,
                role: OfflineFileRole::Playlist,
                size: chosen.playlist.size,
                sha256: chosen.playlist.sha256.clone(),
                content_type: chosen.playlist.content_type.clone(),
                url: self.store.presign_get(&chosen.playlist.key, ttl).await?,
            });
            for segment in &chosen.segments {
                package.files.push(OfflineFile {
                    path: format!("{rdir}/{}", segment.name),
                    lesson_id: Some(lesson.id),
                    material_id: m.id,
                    role: OfflineFileRole::Segment,
                    size: segment.size,
                    sha256: segment.sha256.clone(),
                    content_type: "video/mp2t".into(),
                    url: self
                        .store
                        .presign_get(&chosen.segment_key(segment), ttl)
                        .await?,
                });
            }
            if let Some(poster) = &outputs.poster {
                package.files.push(OfflineFile {
                    path: format!("{dir}/poster.jpg"),
                    lesson_id: Some(lesson.id),
                    material_id: m.id,
                    role: OfflineFileRole::Poster,
                    size: poster.size,
                    sha256: poster.sha256.clone(),
                    content_type: poster.content_type.clone(),
                    url: self.store.presign_get(&poster.key, ttl).await?,
                });
            }
        }
        tracing::info!(
            course.id = %course_id,
            rendition,
            files = package.files.len(),
            total_bytes = package.total_bytes(),
            "offline package listed"
        );
        Ok(package)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::processing::StoredFile;

    fn rendition(name: &str) -> HlsRendition {
        HlsRendition {
            name: name.into(),
            audio_only: name == "audio",
            width: None,
            height: None,
            bandwidth: 1,
            average_bandwidth: 1,
            codecs: String::new(),
            playlist: StoredFile {
                key: format!("x/{name}/index.m3u8"),
                size: 1,
                sha256: String::new(),
                content_type: String::new(),
                width: None,
                height: None,
            },
            segments: Vec::new(),
        }
    }

    fn outputs(names: &[&str]) -> MediaOutputs {
        MediaOutputs {
            hls: names.iter().map(|n| rendition(n)).collect(),
            progressive: None,
            poster: None,
        }
    }

    fn chosen(names: &[&str], wanted: &str) -> Option<String> {
        choose_rendition(&outputs(names), wanted).map(|r| r.name.clone())
    }

    #[test]
    fn the_wanted_rendition_or_the_closest_smaller_one_goes_offline() {
        let all = ["audio", "240p", "360p", "720p"];
        assert_eq!(chosen(&all, "360p").as_deref(), Some("360p"));
        assert_eq!(
            chosen(&["audio", "240p", "360p"], "720p").as_deref(),
            Some("360p")
        );
        assert_eq!(chosen(&["240p"], "audio").as_deref(), Some("240p"));
        assert_eq!(chosen(&["audio"], "720p").as_deref(), Some("audio"));
        assert_eq!(chosen(&all, "1080p"), None);
        assert_eq!(chosen(&[], "240p"), None);
    }
}
