//! Object keys and the other names a caller hands in. Every backend checks a key before use, so a
//! key can never name a file outside the local folder, and keys behave the same on S3.

use crate::StorageError;

/// The longest key, in bytes (S3's own limit).
pub const MAX_KEY_LEN: usize = 1024;

/// The longest content type, in bytes.
const MAX_CONTENT_TYPE_LEN: usize = 255;

/// Checks that `key` is a relative, normalised, slash-separated path.
///
/// Rules: 1 to [`MAX_KEY_LEN`] bytes; no leading or trailing `/`; no empty, `.` or `..` segment;
/// no backslash (a separator on Windows); no control character (NUL ends a C path, a newline would
/// break the signed-URL message).
///
/// # Errors
/// [`StorageError::InvalidKey`] naming the rule broken.
pub fn validate_key(key: &str) -> Result<(), StorageError> {
    let fail = |reason| Err(StorageError::InvalidKey { reason });
    if key.is_empty() {
        return fail("the key is empty");
    }
    if key.len() > MAX_KEY_LEN {
        return fail("the key is longer than 1024 bytes");
    }
    if key.starts_with('/') {
        return fail("the key starts with `/`");
    }
    if key.contains('\\') {
        return fail("the key contains a backslash");
    }
    if key.chars().any(char::is_control) {
        return fail("the key contains a control character");
    }
    for segment in key.split('/') {
        match segment {
            "" => return fail("the key has an empty segment (`//` or a trailing `/`)"),
            "." | ".." => return fail("the key has a `.` or `..` segment"),
            _ => {}
        }
    }
    Ok(())
}

/// Checks a content type: printable ASCII, since it travels as an HTTP header value.
pub(crate) fn validate_content_type(content_type: &str) -> Result<(), StorageError> {
    if content_type.is_empty()
        || content_type.len() > MAX_CONTENT_TYPE_LEN
        || !content_type.bytes().all(|b| (0x20..0x7f).contains(&b))
    {
        return Err(StorageError::InvalidArgument(
            "the content type must be 1 to 255 printable ASCII characters".into(),
        ));
    }
    Ok(())
}

/// Percent-encodes a key for a URL path: every byte but unreserved characters and `/`.
pub(crate) fn encode_path(key: &str) -> String {
    let mut out = String::with_capacity(key.len());
    for b in key.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~' | b'/') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ordinary_keys_are_accepted() {
        for key in [
            "a",
            "courses/0193/lessons/intro.mp4",
            "hls/360p/segment-0001.ts",
            "nama berkas (1).pdf",
            "..hidden/x..y",
        ] {
            assert!(validate_key(key).is_ok(), "{key}");
        }
    }

    #[test]
    fn keys_that_could_escape_the_folder_are_refused() {
        let long = "a".repeat(MAX_KEY_LEN + 1);
        for key in [
            "",
            "/etc/passwd",
            "../secret",
            "a/../../b",
            "a/./b",
            "a//b",
            "a/",
            "..",
            "a\\..\\b",
            "a\0b",
            "a\nb",
            long.as_str(),
        ] {
            assert!(
                matches!(validate_key(key), Err(StorageError::InvalidKey { .. })),
                "{key:?}"
            );
        }
        assert!(validate_key(&"a".repeat(MAX_KEY_LEN)).is_ok());
    }

    #[test]
    fn content_types_are_header_safe() {
        assert!(validate_content_type("video/mp4").is_ok());
        assert!(validate_content_type("text/plain; charset=utf-8").is_ok());
        assert!(validate_content_type("").is_err());
        assert!(validate_content_type("text/plain\r\nX-Evil: 1").is_err());
        assert!(validate_content_type("tèxt/plain").is_err());
    }

    #[test]
    fn paths_are_percent_encoded_but_keep_their_slashes() {
        assert_eq!(encode_path("a b/c?d#e%f.mp4"), "a%20b/c%3Fd%23e%25f.mp4");
        assert_eq!(encode_path("é"), "%C3%A9");
    }
}
