//! The media types a material may have, recognised from a file's first bytes (never from its
//! name, nor only from the type a client declares), which lesson takes which, and the small
//! header parsers processing needs: PDF page count and PNG/JPEG dimensions.
//!
//! Allowed: MP4 and WebM video, MP3 and M4A audio (recorded sessions without picture), PDF
//! documents, PNG and JPEG images (course covers). Everything else is refused at upload.

use std::fmt;

/// How many leading bytes [`MediaType::sniff`] looks at.
pub const SNIFF_LEN: usize = 64;

/// A media type a material may have.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MediaType {
    /// MP4 (ISO base media) video.
    Mp4,
    /// WebM video.
    WebM,
    /// MP3 audio.
    Mp3,
    /// M4A audio (AAC in an MP4 container).
    M4a,
    /// A PDF document.
    Pdf,
    /// A PNG image.
    Png,
    /// A JPEG image.
    Jpeg,
}

/// What a material is, as stored in `materials.kind`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, async_graphql::Enum)]
pub enum MaterialKind {
    /// A video recording.
    Video,
    /// An audio-only recording.
    Audio,
    /// A PDF document.
    Document,
    /// An image (a course cover).
    Image,
}

impl MaterialKind {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            MaterialKind::Video => "video",
            MaterialKind::Audio => "audio",
            MaterialKind::Document => "document",
            MaterialKind::Image => "image",
        }
    }

    /// Parses a stored name.
    pub fn from_stored(s: &str) -> Option<Self> {
        [
            MaterialKind::Video,
            MaterialKind::Audio,
            MaterialKind::Document,
            MaterialKind::Image,
        ]
        .into_iter()
        .find(|k| k.as_str() == s)
    }
}

/// What an upload is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UploadTarget<'a> {
    /// The material of a lesson of this kind (`video`, `document`, `text`).
    Lesson(&'a str),
    /// The course's cover image.
    Cover,
}

impl MediaType {
    /// Every allowed type.
    pub const ALL: [MediaType; 7] = [
        MediaType::Mp4,
        MediaType::WebM,
        MediaType::Mp3,
        MediaType::M4a,
        MediaType::Pdf,
        MediaType::Png,
        MediaType::Jpeg,
    ];

    /// The canonical MIME type.
    pub fn mime(self) -> &'static str {
        match self {
            MediaType::Mp4 => "video/mp4",
            MediaType::WebM => "video/webm",
            MediaType::Mp3 => "audio/mpeg",
            MediaType::M4a => "audio/mp4",
            MediaType::Pdf => "application/pdf",
            MediaType::Png => "image/png",
            MediaType::Jpeg => "image/jpeg",
        }
    }

    /// The file extension objects of this type get.
    pub fn extension(self) -> &'static str {
        match self {
            MediaType::Mp4 => "mp4",
            MediaType::WebM => "webm",
            MediaType::Mp3 => "mp3",
            MediaType::M4a => "m4a",
            MediaType::Pdf => "pdf",
            MediaType::Png => "png",
            MediaType::Jpeg => "jpg",
        }
    }

    /// A name for messages ("an MP4 video").
    pub fn describe(self) -> &'static str {
        match self {
            MediaType::Mp4 => "an MP4 video",
            MediaType::WebM => "a WebM video",
            MediaType::Mp3 => "an MP3 recording",
            MediaType::M4a => "an M4A recording",
            MediaType::Pdf => "a PDF document",
            MediaType::Png => "a PNG image",
            MediaType::Jpeg => "a JPEG image",
        }
    }

    /// The material kind a file of this type makes.
    pub fn kind(self) -> MaterialKind {
        match self {
            MediaType::Mp4 | MediaType::WebM => MaterialKind::Video,
            MediaType::Mp3 | MediaType::M4a => MaterialKind::Audio,
            MediaType::Pdf => MaterialKind::Document,
            MediaType::Png | MediaType::Jpeg => MaterialKind::Image,
        }
    }

    /// The type a client declared (`Content-Type`), case-insensitive, parameters ignored, with
    /// the common aliases browsers and phones send.
    pub fn from_declared(declared: &str) -> Option<Self> {
        let essence = declared
            .split(';')
            .next()
            .unwrap_or_default()
            .trim()
            .to_ascii_lowercase();
        Some(match essence.as_str() {
            "video/mp4" => MediaType::Mp4,
            "video/webm" => MediaType::WebM,
            "audio/mpeg" | "audio/mp3" => MediaType::Mp3,
            "audio/mp4" | "audio/m4a" | "audio/x-m4a" => MediaType::M4a,
            "application/pdf" => MediaType::Pdf,
            "image/png" => MediaType::Png,
            "image/jpeg" | "image/jpg" => MediaType::Jpeg,
            _ => return None,
        })
    }

    /// The accepted MIME types, for messages.
    pub fn accepted_list() -> String {
        Self::ALL.map(MediaType::mime).join(", ")
    }

    /// Recognises a file from its first bytes ([`SNIFF_LEN`] are enough); `None` when it is
    /// none of the allowed types.
    pub fn sniff(head: &[u8]) -> Option<Self> {
        if head.starts_with(b"%PDF-") {
            return Some(MediaType::Pdf);
        }
        if head.starts_with(b"\x89PNG\r\n\x1a\n") {
            return Some(MediaType::Png);
        }
        if head.starts_with(&[0xFF, 0xD8, 0xFF]) {
            return Some(MediaType::Jpeg);
        }
        if head.len() >= 12 && &head[4..8] == b"ftyp" {
            return iso_brand(&head[8..12]);
        }
        if head.starts_with(&[0x1A, 0x45, 0xDF, 0xA3]) {
            return (ebml_doc_type(head) == Some(b"webm".as_slice())).then_some(MediaType::WebM);
        }
        if is_id3v2(head) || is_mpeg_audio_frame(head) {
            return Some(MediaType::Mp3);
        }
        None
    }

    /// Whether a file recognised as `detected` may be what the client declared as `self`. MP4
    /// and M4A share a container, and many recorders write audio-only MP4 with a video brand,
    /// so the two stand for each other.
    pub fn matches_detected(self, detected: MediaType) -> bool {
        self == detected
            || matches!(
                (self, detected),
                (MediaType::Mp4, MediaType::M4a) | (MediaType::M4a, MediaType::Mp4)
            )
    }

    /// Checks that this type suits `target`; returns the material kind it makes there.
    ///
    /// # Errors
    /// A client-facing sentence saying what the target takes.
    pub fn check_target(self, target: UploadTarget<'_>) -> Result<MaterialKind, String> {
        match target {
            UploadTarget::Cover => match self {
                MediaType::Png | MediaType::Jpeg => Ok(MaterialKind::Image),
                other => Err(format!(
                    "a course cover must be a PNG or JPEG image, not {}",
                    other.describe()
                )),
            },
            UploadTarget::Lesson("video") => match self {
                MediaType::Mp4 | MediaType::WebM | MediaType::Mp3 | MediaType::M4a => {
                    Ok(self.kind())
                }
                other => Err(format!(
                    "a video lesson takes an MP4 or WebM video (or an MP3 or M4A recording), \
                     not {}",
                    other.describe()
                )),
            },
            UploadTarget::Lesson("document") => match self {
                MediaType::Pdf => Ok(MaterialKind::Document),
                other => Err(format!(
                    "a document lesson takes a PDF, not {}",
                    other.describe()
                )),
            },
            UploadTarget::Lesson(kind) => Err(format!("a {kind} lesson has no material to upload")),
        }
    }
}

impl fmt::Display for MediaType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.mime())
    }
}

/// The major brand of an ISO base media file: audio brands are M4A; QuickTime and still-image
/// brands (HEIF, AVIF) share the container but are not allowed.
fn iso_brand(brand: &[u8]) -> Option<MediaType> {
    match brand {
        b"M4A " | b"M4B " => Some(MediaType::M4a),
        b"qt  " | b"heic" | b"heix" | b"mif1" | b"msf1" | b"avif" | b"crx " => None,
        _ => Some(MediaType::Mp4),
    }
}

/// The `DocType` of an EBML header (`webm` or `matroska`), read from the header's first bytes.
fn ebml_doc_type(head: &[u8]) -> Option<&[u8]> {
    // The DocType element is 0x4282, then a one-byte size (0x80 | len) for short strings.
    let at = head.windows(2).position(|w| w == [0x42, 0x82])?;
    let size = *head.get(at + 2)?;
    if size & 0x80 == 0 {
        return None;
    }
    let len = usize::from(size & 0x7F);
    head.get(at + 3..at + 3 + len)
}

/// An ID3v2 tag header (`ID3`, a known major version, syncsafe size bytes), which MP3 files
/// commonly start with.
fn is_id3v2(head: &[u8]) -> bool {
    head.len() >= 10
        && head.starts_with(b"ID3")
        && (2..=4).contains(&head[3])
        && head[6..10].iter().all(|b| b & 0x80 == 0)
}

/// An MPEG audio Layer III frame header: sync bits, a valid version, bitrate and sample rate.
fn is_mpeg_audio_frame(head: &[u8]) -> bool {
    let [a, b, c, ..] = head else { return false };
    let sync = *a == 0xFF && b & 0xE0 == 0xE0;
    let version_ok = (b >> 3) & 0b11 != 0b01;
    let layer_3 = (b >> 1) & 0b11 == 0b01;
    let bitrate = c >> 4;
    let rate_ok = (c >> 2) & 0b11 != 0b11;
    sync && version_ok && layer_3 && bitrate != 0 && bitrate != 0xF && rate_ok
}

/// Counts the pages of a PDF as it streams past, without holding it in memory.
///
/// It counts page objects (`/Type /Page`, not `/Pages`) in the file's uncompressed objects:
/// exact for the PDFs office suites and most scanners write. Files that keep their objects in
/// compressed object streams (PDF 1.5+) hide them; then it falls back to the `/N` page count
/// of a linearized file's first object, and otherwise says it does not know (`None`) rather
/// than guess.
#[derive(Debug, Default)]
pub struct PdfPageCounter {
    /// The end of the previous chunk, so a token split between chunks is still seen.
    tail: Vec<u8>,
    pages: u64,
    /// The first bytes of the file, for the linearization dictionary.
    start: Vec<u8>,
}

/// How many bytes of the previous chunk are kept; longer than any token matched.
const PDF_OVERLAP: usize = 64;
/// How many leading bytes are searched for the linearization dictionary.
const PDF_START: usize = 2048;

impl PdfPageCounter {
    /// A counter at the start of a file.
    pub fn new() -> Self {
        Self::default()
    }

    /// Feeds the next bytes of the file.
    pub fn feed(&mut self, chunk: &[u8]) {
        if self.start.len() < PDF_START {
            let take = (PDF_START - self.start.len()).min(chunk.len());
            self.start.extend_from_slice(&chunk[..take]);
        }
        let mut buf = std::mem::take(&mut self.tail);
        buf.extend_from_slice(chunk);
        // Matches starting in the last PDF_OVERLAP bytes may be cut off: they are counted with
        // the next chunk, which sees these bytes again.
        let limit = buf.len().saturating_sub(PDF_OVERLAP);
        self.pages += count_page_objects(&buf, limit);
        self.tail = buf[limit..].to_vec();
    }

    /// The page count, once the whole file was fed.
    pub fn finish(mut self) -> Option<u64> {
        let tail = std::mem::take(&mut self.tail);
        self.pages += count_page_objects(&tail, tail.len());
        if self.pages > 0 {
            return Some(self.pages);
        }
        linearized_page_count(&self.start)
    }

    /// Counts a whole PDF held in memory.
    pub fn count(bytes: &[u8]) -> Option<u64> {
        let mut counter = Self::new();
        counter.feed(bytes);
        counter.finish()
    }
}

fn is_pdf_whitespace(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\r' | b'\n' | b'\x0c' | b'\0')
}

/// Counts `/Type /Page` tokens (followed by a delimiter, so `/Pages` is not one) that start
/// before `limit`.
fn count_page_objects(buf: &[u8], limit: usize) -> u64 {
    let mut count = 0;
    let mut i = 0;
    while let Some(found) = find(&buf[i..], b"/Type") {
        let at = i + found;
        if at >= limit {
            break;
        }
        let mut j = at + 5;
        while j < buf.len() && is_pdf_whitespace(buf[j]) {
            j += 1;
        }
        if buf[j..].starts_with(b"/Page") {
            let after = buf.get(j + 5).copied();
            // A delimiter or the end: `/Page`, not `/Pages` or `/PageLabel`.
            if after.is_none_or(|b| !b.is_ascii_alphanumeric()) {
                count += 1;
            }
        }
        i = at + 5;
    }
    count
}

/// The `/N` of a linearization dictionary (`<< /Linearized 1 ... /N 12 ... >>`).
fn linearized_page_count(start: &[u8]) -> Option<u64> {
    let at = find(start, b"/Linearized")?;
    let dict_end = find(&start[at..], b">>").map_or(start.len(), |e| at + e);
    let dict = &start[at..dict_end];
    let n = find(dict, b"/N")?;
    let rest = &dict[n + 2..];
    if rest.first().is_some_and(u8::is_ascii_alphanumeric) {
        return None;
    }
    let digits: Vec<u8> = rest
        .iter()
        .copied()
        .skip_while(|b| is_pdf_whitespace(*b))
        .take_while(u8::is_ascii_digit)
        .collect();
    std::str::from_utf8(&digits).ok()?.parse().ok()
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// Width and height of a PNG or JPEG from its first bytes (a JPEG's size comes after its
/// metadata segments, so give it up to about 1 MiB).
pub fn image_dimensions(head: &[u8]) -> Option<(u32, u32)> {
    match MediaType::sniff(head)? {
        MediaType::Png => png_dimensions(head),
        MediaType::Jpeg => jpeg_dimensions(head),
        _ => None,
    }
}

/// The IHDR chunk, which the PNG format puts first.
fn png_dimensions(head: &[u8]) -> Option<(u32, u32)> {
    if head.get(12..16)? != b"IHDR" {
        return None;
    }
    let width = u32::from_be_bytes(head.get(16..20)?.try_into().ok()?);
    let height = u32::from_be_bytes(head.get(20..24)?.try_into().ok()?);
    (width > 0 && height > 0).then_some((width, height))
}

/// Walks the JPEG's marker segments to the first start-of-frame (SOFn) and reads its size.
fn jpeg_dimensions(head: &[u8]) -> Option<(u32, u32)> {
    let mut i = 2;
    loop {
        // Markers may be padded with any number of 0xFF bytes.
        while head.get(i) == Some(&0xFF) && head.get(i + 1) == Some(&0xFF) {
            i += 1;
        }
        if *head.get(i)? != 0xFF {
            return None;
        }
        let marker = *head.get(i + 1)?;
        i += 2;
        match marker {
            // Markers without a length.
            0x01 | 0xD0..=0xD8 => continue,
            // End of image or start of scan before any frame header: no size to read.
            0xD9 | 0xDA => return None,
            _ => {}
        }
        let len = usize::from(u16::from_be_bytes(head.get(i..i + 2)?.try_into().ok()?));
        let is_sof = matches!(marker, 0xC0..=0xCF) && !matches!(marker, 0xC4 | 0xC8 | 0xCC);
        if is_sof {
            let height = u16::from_be_bytes(head.get(i + 3..i + 5)?.try_into().ok()?);
            let width = u16::from_be_bytes(head.get(i + 5..i + 7)?.try_into().ok()?);
            return (width > 0 && height > 0).then_some((u32::from(width), u32::from(height)));
        }
        if len < 2 {
            return None;
        }
        i += len;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mp4_head(brand: &[u8; 4]) -> Vec<u8> {
        let mut v = vec![0, 0, 0, 0x20];
        v.extend_from_slice(b"ftyp");
        v.extend_from_slice(brand);
        v.extend_from_slice(&[0; 20]);
        v
    }

    #[test]
    fn each_allowed_type_is_recognised_by_its_first_bytes() {
        let webm = [
            0x1A, 0x45, 0xDF, 0xA3, 0x9F, 0x42, 0x86, 0x81, 0x01, 0x42, 0x82, 0x84, b'w', b'e',
            b'b', b'm',
        ];
        let cases: Vec<(Vec<u8>, MediaType)> = vec![
            (b"%PDF-1.7\n".to_vec(), MediaType::Pdf),
            (b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR".to_vec(), MediaType::Png),
            (vec![0xFF, 0xD8, 0xFF, 0xE0, 0, 0x10], MediaType::Jpeg),
            (mp4_head(b"isom"), MediaType::Mp4),
            (mp4_head(b"mp42"), MediaType::Mp4),
            (mp4_head(b"M4A "), MediaType::M4a),
            (webm.to_vec(), MediaType::WebM),
            (b"ID3\x04\0\0\0\0\x01\x00rest".to_vec(), MediaType::Mp3),
            (vec![0xFF, 0xFB, 0x90, 0x64, 0, 0], MediaType::Mp3),
        ];
        for (head, want) in cases {
            assert_eq!(MediaType::sniff(&head), Some(want), "{head:?}");
        }
    }

    #[test]
    fn disguised_and_unsupported_files_are_not_recognised() {
        let mut matroska = vec![0x1A, 0x45, 0xDF, 0xA3, 0x9F, 0x42, 0x82, 0x88];
        matroska.extend_from_slice(b"matroska");
        for head in [
            b"#!/bin/sh\nrm -rf /\n".to_vec(),
            b"MZ\x90\0".to_vec(),
            b"PK\x03\x04".to_vec(),
            b"<html>".to_vec(),
            mp4_head(b"qt  "),
            mp4_head(b"heic"),
            matroska,
            vec![0xFF, 0xF1, 0x50, 0x80],
            Vec::new(),
        ] {
            assert_eq!(MediaType::sniff(&head), None, "{head:?}");
        }
    }

    #[test]
    fn declared_types_accept_common_aliases_only() {
        assert_eq!(
            MediaType::from_declared("Video/MP4; codecs=avc1"),
            Some(MediaType::Mp4)
        );
        assert_eq!(
            MediaType::from_declared("audio/x-m4a"),
            Some(MediaType::M4a)
        );
        assert_eq!(MediaType::from_declared("image/jpg"), Some(MediaType::Jpeg));
        assert_eq!(MediaType::from_declared("video/quicktime"), None);
        assert_eq!(MediaType::from_declared("text/x-shellscript"), None);
    }

    #[test]
    fn each_target_takes_its_types() {
        use MediaType::*;
        let video = UploadTarget::Lesson("video");
        assert_eq!(Mp4.check_target(video), Ok(MaterialKind::Video));
        assert_eq!(WebM.check_target(video), Ok(MaterialKind::Video));
        assert_eq!(Mp3.check_target(video), Ok(MaterialKind::Audio));
        assert_eq!(M4a.check_target(video), Ok(MaterialKind::Audio));
        assert!(Pdf.check_target(video).is_err());
        let doc = UploadTarget::Lesson("document");
        assert_eq!(Pdf.check_target(doc), Ok(MaterialKind::Document));
        assert!(Mp4.check_target(doc).is_err());
        assert!(Png.check_target(doc).is_err());
        assert_eq!(
            Png.check_target(UploadTarget::Cover),
            Ok(MaterialKind::Image)
        );
        assert_eq!(
            Jpeg.check_target(UploadTarget::Cover),
            Ok(MaterialKind::Image)
        );
        assert!(Mp4.check_target(UploadTarget::Cover).is_err());
        assert!(Pdf.check_target(UploadTarget::Lesson("text")).is_err());
    }

    #[test]
    fn mp4_and_m4a_stand_for_each_other_but_nothing_else_does() {
        assert!(MediaType::Mp4.matches_detected(MediaType::M4a));
        assert!(MediaType::M4a.matches_detected(MediaType::Mp4));
        assert!(!MediaType::Mp4.matches_detected(MediaType::WebM));
        assert!(!MediaType::Pdf.matches_detected(MediaType::Png));
    }

    const TWO_PAGES: &[u8] = b"%PDF-1.4\n1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\n\
        2 0 obj << /Type /Pages /Kids [3 0 R 4 0 R] /Count 2 >> endobj\n\
        3 0 obj << /Type /Page /Parent 2 0 R >> endobj\n\
        4 0 obj <</Type/Page/Parent 2 0 R>> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n";

    #[test]
    fn pdf_pages_are_counted_whole_or_in_any_chunking() {
        assert_eq!(PdfPageCounter::count(TWO_PAGES), Some(2));
        for chunk in [1, 2, 3, 7, 64, 65] {
            let mut counter = PdfPageCounter::new();
            for c in TWO_PAGES.chunks(chunk) {
                counter.feed(c);
            }
            assert_eq!(counter.finish(), Some(2), "chunks of {chunk}");
        }
    }

    #[test]
    fn a_compressed_pdf_falls_back_to_its_linearization_or_says_unknown() {
        let linearized = b"%PDF-1.5\n1 0 obj <</Linearized 1/L 5000/N 12/T 400>> endobj\n";
        assert_eq!(PdfPageCounter::count(linearized), Some(12));
        assert_eq!(PdfPageCounter::count(b"%PDF-1.5\n%%EOF\n"), None);
    }

    #[test]
    fn png_and_jpeg_dimensions_come_from_their_headers() {
        let mut png = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR".to_vec();
        png.extend_from_slice(&640u32.to_be_bytes());
        png.extend_from_slice(&360u32.to_be_bytes());
        assert_eq!(image_dimensions(&png), Some((640, 360)));

        let mut jpeg = vec![0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x04, 0x00, 0x00];
        // SOF0: length 17, precision 8, height 480, width 854.
        jpeg.extend_from_slice(&[0xFF, 0xC0, 0x00, 0x11, 0x08, 0x01, 0xE0, 0x03, 0x56]);
        jpeg.extend_from_slice(&[0; 12]);
        assert_eq!(image_dimensions(&jpeg), Some((854, 480)));

        assert_eq!(image_dimensions(b"\xFF\xD8\xFF\xD9"), None);
        assert_eq!(image_dimensions(b"%PDF-1.4"), None);
    }
}
