//! Cursor pagination arguments shared by every list in the API.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use crate::error::{CodedError, ErrorCode};

/// The largest page a client may ask for.
pub const MAX_PAGE_SIZE: u64 = 100;
/// The page size when the client names none.
pub const DEFAULT_PAGE_SIZE: u64 = 20;

/// A validated page request: how many rows, and after which cursor key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page {
    /// Rows to return.
    pub limit: u64,
    /// The key after which the page starts, decoded from the client's cursor.
    pub after: Option<String>,
}

impl Page {
    /// Validates `first` and `after` from a GraphQL field.
    ///
    /// # Errors
    /// BAD_USER_INPUT when `first` is out of 1..=100 or the cursor is not one we issued.
    pub fn new(first: Option<i32>, after: Option<String>) -> Result<Self, CodedError> {
        let limit = match first {
            None => DEFAULT_PAGE_SIZE,
            Some(n) if n >= 1 && (n as u64) <= MAX_PAGE_SIZE => n as u64,
            Some(_) => {
                return Err(CodedError::new(
                    ErrorCode::BadUserInput,
                    format!("`first` must be between 1 and {MAX_PAGE_SIZE}"),
                ));
            }
        };
        let after = after.map(|c| decode_cursor(&c)).transpose()?;
        Ok(Page { limit, after })
    }

    /// How many rows a keyset query fetches: one more than the page, to tell whether more
    /// follow without counting them.
    pub fn fetch(&self) -> u64 {
        self.limit + 1
    }

    /// Cuts `rows`, fetched with [`Page::fetch`], to the page; returns whether more follow.
    pub fn cut<T>(&self, rows: &mut Vec<T>) -> bool {
        let more = rows.len() as u64 > self.limit;
        rows.truncate(usize::try_from(self.limit).unwrap_or(usize::MAX));
        more
    }
}

/// The GraphQL connection of one page: its `edges` as (cursor, node), whether the page came
/// after a cursor, and whether more follow.
pub fn connection<N: async_graphql::OutputType>(
    after_cursor: bool,
    has_next_page: bool,
    edges: impl IntoIterator<Item = (String, N)>,
) -> async_graphql::connection::Connection<String, N> {
    let mut conn = async_graphql::connection::Connection::new(after_cursor, has_next_page);
    conn.edges.extend(
        edges
            .into_iter()
            .map(|(cursor, node)| async_graphql::connection::Edge::new(cursor, node)),
    );
    conn
}

/// Encodes a sort key as an opaque cursor.
pub fn encode_cursor(key: &str) -> String {
    URL_SAFE_NO_PAD.encode(key.as_bytes())
}

/// Decodes a cursor made by [`encode_cursor`].
///
/// # Errors
/// BAD_USER_INPUT for anything else.
pub fn decode_cursor(cursor: &str) -> Result<String, CodedError> {
    URL_SAFE_NO_PAD
        .decode(cursor.as_bytes())
        .ok()
        .and_then(|b| String::from_utf8(b).ok())
        .ok_or_else(|| CodedError::new(ErrorCode::BadUserInput, "invalid cursor"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cursor_round_trips_and_garbage_is_refused() {
        let c = encode_cursor("Dinas Kesehatan|0193");
        assert_eq!(
            decode_cursor(&c).ok().as_deref(),
            Some("Dinas Kesehatan|0193")
        );
        assert!(decode_cursor("%%%").is_err());
    }

    #[test]
    fn a_page_is_cut_to_its_limit_and_says_whether_more_follow() {
        let page = Page::new(Some(2), None).unwrap_or_else(|e| panic!("{e:?}"));
        assert_eq!(page.fetch(), 3);
        let mut full = vec![1, 2, 3];
        assert!(page.cut(&mut full));
        assert_eq!(full, [1, 2]);
        let mut last = vec![1, 2];
        assert!(!page.cut(&mut last));
        assert_eq!(last, [1, 2]);
        let mut empty: Vec<i32> = Vec::new();
        assert!(!page.cut(&mut empty));
    }

    #[test]
    fn page_size_is_bounded() {
        assert!(Page::new(Some(0), None).is_err());
        assert!(Page::new(Some(101), None).is_err());
        assert_eq!(Page::new(None, None).map(|p| p.limit).ok(), Some(20));
    }
}
