//! HTTP byte ranges (RFC 9110 §14): parsing a `Range` header value and resolving it against an
//! object's size. Phones seek in video and PDF with these.

use std::fmt;
use std::ops::Range;
use std::str::FromStr;

use crate::StorageError;

/// One range of a `Range: bytes=...` header, not yet resolved against a size.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ByteRange {
    /// `bytes=first-last`: both offsets inclusive; `last` may lie past the end.
    Bounded {
        /// The first byte.
        first: u64,
        /// The last byte, inclusive.
        last: u64,
    },
    /// `bytes=first-`: from `first` to the end.
    From {
        /// The first byte.
        first: u64,
    },
    /// `bytes=-len`: the last `len` bytes.
    Suffix {
        /// How many bytes from the end.
        len: u64,
    },
}

impl ByteRange {
    /// Parses a `Range` header value such as `bytes=0-499`, `bytes=500-` or `bytes=-500`.
    ///
    /// # Errors
    /// [`StorageError::InvalidRange`] for anything but a single `bytes` range with `first <= last`
    /// (several ranges in one header are refused too: nothing here serves multipart bodies).
    pub fn parse(value: &str) -> Result<Self, StorageError> {
        let malformed = |why: &str| StorageError::InvalidRange(why.to_owned());
        let value = value.trim();
        let (unit, spec) = value
            .split_once('=')
            .ok_or_else(|| malformed("expected `bytes=`"))?;
        if !unit.trim().eq_ignore_ascii_case("bytes") {
            return Err(malformed("the unit must be `bytes`"));
        }
        if spec.contains(',') {
            return Err(malformed("only one range is supported"));
        }
        let (first, last) = spec
            .trim()
            .split_once('-')
            .ok_or_else(|| malformed("expected `first-last`"))?;
        let number = |s: &str| -> Result<Option<u64>, StorageError> {
            if s.is_empty() {
                return Ok(None);
            }
            // `u64::from_str` takes a leading `+`, which the grammar does not.
            if !s.bytes().all(|b| b.is_ascii_digit()) {
                return Err(malformed("offsets must be decimal digits"));
            }
            s.parse()
                .map(Some)
                .map_err(|_| malformed("offset out of range"))
        };
        match (number(first)?, number(last)?) {
            (Some(first), Some(last)) if first <= last => Ok(ByteRange::Bounded { first, last }),
            (Some(_), Some(_)) => Err(malformed("the last byte comes before the first")),
            (Some(first), None) => Ok(ByteRange::From { first }),
            (None, Some(len)) => Ok(ByteRange::Suffix { len }),
            (None, None) => Err(malformed("expected `first-last`")),
        }
    }

    /// The half-open byte range this selects in an object of `size` bytes, clamped to the end.
    ///
    /// # Errors
    /// [`StorageError::RangeNotSatisfiable`] when it selects nothing: a start at or past the
    /// end, a zero-length suffix, or any range of an empty object.
    pub fn resolve(&self, size: u64) -> Result<Range<u64>, StorageError> {
        let unsatisfiable = Err(StorageError::RangeNotSatisfiable { size });
        match *self {
            ByteRange::Bounded { first, .. } | ByteRange::From { first } if first >= size => {
                unsatisfiable
            }
            ByteRange::Bounded { first, last } => Ok(first..last.saturating_add(1).min(size)),
            ByteRange::From { first } => Ok(first..size),
            ByteRange::Suffix { len } if len == 0 || size == 0 => unsatisfiable,
            ByteRange::Suffix { len } => Ok(size - len.min(size)..size),
        }
    }
}

impl FromStr for ByteRange {
    type Err = StorageError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        ByteRange::parse(s)
    }
}

/// The header value form, `bytes=...`, as sent to S3.
impl fmt::Display for ByteRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ByteRange::Bounded { first, last } => write!(f, "bytes={first}-{last}"),
            ByteRange::From { first } => write!(f, "bytes={first}-"),
            ByteRange::Suffix { len } => write!(f, "bytes=-{len}"),
        }
    }
}

/// Parses a `Content-Range: bytes first-last/size` response value into the served range and the
/// total size (S3 tells both this way).
pub(crate) fn parse_content_range(value: &str) -> Option<(Range<u64>, u64)> {
    let rest = value.trim().strip_prefix("bytes ")?;
    let (span, size) = rest.split_once('/')?;
    let (first, last) = span.split_once('-')?;
    let first: u64 = first.parse().ok()?;
    let last: u64 = last.parse().ok()?;
    let size: u64 = size.parse().ok()?;
    (first <= last && last < size).then_some((first..last + 1, size))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(s: &str) -> Option<ByteRange> {
        ByteRange::parse(s).ok()
    }

    #[test]
    fn the_three_forms_parse() {
        assert_eq!(
            parse("bytes=0-499"),
            Some(ByteRange::Bounded {
                first: 0,
                last: 499
            })
        );
        assert_eq!(parse("bytes=500-"), Some(ByteRange::From { first: 500 }));
        assert_eq!(parse("bytes=-500"), Some(ByteRange::Suffix { len: 500 }));
        assert_eq!(
            parse(" Bytes=7-7 "),
            Some(ByteRange::Bounded { first: 7, last: 7 })
        );
    }

    #[test]
    fn malformed_values_are_refused_as_malformed() {
        for v in [
            "",
            "bytes",
            "bytes=",
            "bytes=-",
            "bytes=5-4",
            "bytes=a-b",
            "bytes=+1-2",
            "bytes=0-1,4-5",
            "items=0-1",
            "bytes=99999999999999999999-",
            "0-1",
        ] {
            assert!(
                matches!(ByteRange::parse(v), Err(StorageError::InvalidRange(_))),
                "{v:?}"
            );
        }
    }

    #[test]
    fn ranges_resolve_against_the_size_and_clamp_at_the_end() {
        let r = |s: &str, size| parse(s).map(|r| r.resolve(size).ok());
        assert_eq!(r("bytes=0-499", 1000), Some(Some(0..500)));
        assert_eq!(r("bytes=900-2000", 1000), Some(Some(900..1000)));
        assert_eq!(r("bytes=0-18446744073709551615", 10), Some(Some(0..10)));
        assert_eq!(r("bytes=999-", 1000), Some(Some(999..1000)));
        assert_eq!(r("bytes=-100", 1000), Some(Some(900..1000)));
        assert_eq!(r("bytes=-5000", 1000), Some(Some(0..1000)));
    }

    #[test]
    fn ranges_past_the_end_are_unsatisfiable_not_malformed() {
        for (v, size) in [
            ("bytes=1000-", 1000),
            ("bytes=1000-1200", 1000),
            ("bytes=-0", 1000),
            ("bytes=0-", 0),
            ("bytes=-1", 0),
        ] {
            let resolved = parse(v).map(|r| r.resolve(size));
            assert!(
                matches!(
                    resolved,
                    Some(Err(StorageError::RangeNotSatisfiable { size: s })) if s == size
                ),
                "{v} of {size}"
            );
        }
    }

    #[test]
    fn a_range_prints_as_its_header_value() {
        for v in ["bytes=0-499", "bytes=500-", "bytes=-500"] {
            assert_eq!(parse(v).map(|r| r.to_string()).as_deref(), Some(v));
        }
    }

    #[test]
    fn content_range_values_parse() {
        assert_eq!(parse_content_range("bytes 0-9/100"), Some((0..10, 100)));
        assert_eq!(parse_content_range("bytes */100"), None);
        assert_eq!(parse_content_range("bytes 5-200/100"), None);
    }
}
