//! The reporting calendar: JP years and reporting periods are in WIB (Asia/Jakarta, UTC+7, no
//! daylight saving), whatever the server's time zone.

use chrono::{DateTime, Datelike, FixedOffset, Utc};

/// WIB, UTC+7, checked when the crate compiles.
pub const WIB: FixedOffset = match FixedOffset::east_opt(7 * 3600) {
    Some(offset) => offset,
    None => panic!("UTC+7 is a valid offset"),
};

/// WIB as a value, for `with_timezone`.
pub fn wib() -> FixedOffset {
    WIB
}

/// The calendar year in WIB of an instant: the JP year it counts toward.
pub fn wib_year(at: DateTime<Utc>) -> i32 {
    at.with_timezone(&wib()).year()
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn late_evening_of_new_years_eve_in_wib_is_already_the_next_year() {
        // 31 Dec 2025 17:30 UTC is 1 Jan 2026 00:30 WIB.
        let at = Utc.with_ymd_and_hms(2025, 12, 31, 17, 30, 0).single();
        assert_eq!(at.map(wib_year), Some(2026));
        let before = Utc.with_ymd_and_hms(2025, 12, 31, 16, 30, 0).single();
        assert_eq!(before.map(wib_year), Some(2025));
    }
}
