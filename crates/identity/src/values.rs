//! Validated values from outside: NIP/NI, e-mail, unit codes, names, passwords. Each is parsed
//! once at the edge (parse, don't validate); the rest of the crate takes the typed value.

use chrono::{Datelike, NaiveDate};

use crate::error::IdentityError;

/// Employment type of a civil servant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, async_graphql::Enum)]
pub enum EmploymentType {
    /// Permanent civil servant, identified by a NIP.
    Pns,
    /// Contract civil servant, identified by an NI PPPK.
    Pppk,
}

impl EmploymentType {
    /// The stored form: `PNS` or `PPPK`.
    pub fn as_str(self) -> &'static str {
        match self {
            EmploymentType::Pns => "PNS",
            EmploymentType::Pppk => "PPPK",
        }
    }

    /// Parses `PNS` or `PPPK` in any case.
    ///
    /// # Errors
    /// BAD_USER_INPUT for anything else.
    pub fn parse(s: &str) -> Result<Self, IdentityError> {
        match s.trim().to_ascii_uppercase().as_str() {
            "PNS" => Ok(EmploymentType::Pns),
            "PPPK" => Ok(EmploymentType::Pppk),
            other => Err(IdentityError::invalid(
                "employmentType",
                format!("employment type must be PNS or PPPK, not `{other}`"),
            )),
        }
    }
}

/// An 18-digit civil servant number. For PNS it is checked as a NIP per BKN rules
/// (`YYYYMMDD` birth date, `YYYYMM` CPNS appointment, sex digit 1 or 2, 3-digit serial); the
/// PPPK NI has another meaning and is checked for its form only.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Nip(String);

/// The earliest appointment year we accept (nobody appointed before is still in service).
const FIRST_APPOINTMENT_YEAR: i32 = 1960;
/// Civil servants are appointed at 18 at the earliest.
const MIN_AGE_AT_APPOINTMENT: i32 = 18;

impl Nip {
    /// Parses a NIP (for `Pns`, or when the type is unknown) or a PPPK NI; spaces and dots that
    /// people type between the groups are ignored. `this_year` bounds the dates.
    ///
    /// # Errors
    /// BAD_USER_INPUT naming what is wrong.
    pub fn parse(
        raw: &str,
        kind: Option<EmploymentType>,
        this_year: i32,
    ) -> Result<Self, IdentityError> {
        let digits: String = raw.chars().filter(|c| !matches!(c, ' ' | '.')).collect();
        let bad = |msg: &str| IdentityError::invalid("nip", format!("invalid NIP `{raw}`: {msg}"));
        if digits.len() != 18 || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return Err(bad("it must have exactly 18 digits"));
        }
        if kind == Some(EmploymentType::Pppk) {
            return Ok(Nip(digits));
        }
        let num = |a: usize, b: usize| digits[a..b].parse::<u32>().unwrap_or(0);
        let birth = NaiveDate::from_ymd_opt(num(0, 4) as i32, num(4, 6), num(6, 8))
            .ok_or_else(|| bad("the first 8 digits are not a real birth date (YYYYMMDD)"))?;
        let (app_year, app_month) = (num(8, 12) as i32, num(12, 14));
        if !(1..=12).contains(&app_month) {
            return Err(bad("digits 13-14 must be an appointment month 01-12"));
        }
        if app_year < FIRST_APPOINTMENT_YEAR || app_year > this_year {
            return Err(bad("digits 9-12 are not a plausible appointment year"));
        }
        if app_year - birth.year() < MIN_AGE_AT_APPOINTMENT {
            return Err(bad("the appointment is before the person's 18th birthday"));
        }
        if !matches!(&digits[14..15], "1" | "2") {
            return Err(bad("digit 15 (sex) must be 1 or 2"));
        }
        Ok(Nip(digits))
    }

    /// The 18 digits.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether `s` looks like a NIP rather than an e-mail (for sign-in by either).
    pub fn looks_like(s: &str) -> bool {
        let digits: String = s.chars().filter(|c| !matches!(c, ' ' | '.')).collect();
        digits.len() == 18 && digits.bytes().all(|b| b.is_ascii_digit())
    }

    /// The digits of a login that [`Nip::looks_like`].
    pub fn normalise_login(s: &str) -> String {
        s.chars().filter(|c| !matches!(c, ' ' | '.')).collect()
    }
}

/// A lower-cased e-mail address.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Email(String);

impl Email {
    /// Parses an address: one `@`, a dotted domain, no spaces, at most 254 characters.
    ///
    /// # Errors
    /// BAD_USER_INPUT.
    pub fn parse(raw: &str) -> Result<Self, IdentityError> {
        let s = raw.trim().to_lowercase();
        let bad = || IdentityError::invalid("email", format!("invalid e-mail address `{raw}`"));
        let (local, domain) = s.split_once('@').ok_or_else(bad)?;
        let ok = !local.is_empty()
            && local.len() <= 64
            && s.len() <= 254
            && !domain.contains('@')
            && domain.contains('.')
            && !domain.starts_with('.')
            && !domain.ends_with('.')
            && !domain.contains("..")
            && !s.chars().any(|c| c.is_whitespace() || c.is_control());
        if ok { Ok(Email(s)) } else { Err(bad()) }
    }

    /// The address.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A unit code such as `DINKES` or `PKM-PONDOK-AREN`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct UnitCode(String);

impl UnitCode {
    /// Upper-cases and checks: 1-64 of `A-Z 0-9 - _ .`.
    ///
    /// # Errors
    /// BAD_USER_INPUT.
    pub fn parse(raw: &str) -> Result<Self, IdentityError> {
        let s = raw.trim().to_ascii_uppercase();
        let ok = !s.is_empty()
            && s.len() <= 64
            && s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b));
        if ok {
            Ok(UnitCode(s))
        } else {
            Err(IdentityError::invalid(
                "code",
                format!("invalid unit code `{raw}`: use 1-64 letters, digits, `-`, `_` or `.`"),
            ))
        }
    }

    /// The code.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Trims a required free-text field and bounds its length.
///
/// # Errors
/// BAD_USER_INPUT when empty or longer than `max` characters.
pub fn required_text(field: &'static str, raw: &str, max: usize) -> Result<String, IdentityError> {
    let s = raw.trim();
    if s.is_empty() {
        return Err(IdentityError::invalid(
            field,
            format!("{field} must not be empty"),
        ));
    }
    optional_text(field, s, max).map(|o| o.unwrap_or_default())
}

/// Trims an optional free-text field; blank becomes `None`.
///
/// # Errors
/// BAD_USER_INPUT when longer than `max` characters or containing control characters.
pub fn optional_text(
    field: &'static str,
    raw: &str,
    max: usize,
) -> Result<Option<String>, IdentityError> {
    let s = raw.trim();
    if s.chars().count() > max {
        return Err(IdentityError::invalid(
            field,
            format!("{field} must be at most {max} characters"),
        ));
    }
    if s.chars().any(char::is_control) {
        return Err(IdentityError::invalid(
            field,
            format!("{field} must not contain control characters"),
        ));
    }
    Ok((!s.is_empty()).then(|| s.to_owned()))
}

/// Minimum length of a password.
pub const MIN_PASSWORD_CHARS: usize = 10;
/// Maximum length of a password (argon2 would take more, but nobody types more).
pub const MAX_PASSWORD_CHARS: usize = 128;

/// Checks a new password's length.
///
/// # Errors
/// BAD_USER_INPUT.
pub fn check_new_password(p: &str) -> Result<(), IdentityError> {
    let n = p.chars().count();
    if !(MIN_PASSWORD_CHARS..=MAX_PASSWORD_CHARS).contains(&n) {
        return Err(IdentityError::invalid(
            "password",
            format!("a password needs {MIN_PASSWORD_CHARS} to {MAX_PASSWORD_CHARS} characters"),
        ));
    }
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn a_real_nip_parses_with_or_without_separators() {
        let n = Nip::parse("19850312 201001 1 003", Some(EmploymentType::Pns), 2026).unwrap();
        assert_eq!(n.as_str(), "198503122010011003");
        assert!(Nip::parse("198503122010012003", None, 2026).is_ok());
    }

    #[test]
    fn impossible_nips_are_refused() {
        for bad in [
            "19850312201001100",   // 17 digits
            "1985031220100110034", // 19 digits
            "19850230201001 1003", // 30 February
            "198503122010131003",  // month 13 of appointment
            "198503122010013003",  // sex digit 3
            "198503122030011003",  // appointed in the future
            "198503121995011003",  // appointed at 9
            "19850312201001100a",
        ] {
            assert!(
                Nip::parse(bad, Some(EmploymentType::Pns), 2026).is_err(),
                "{bad}"
            );
        }
    }

    #[test]
    fn a_pppk_ni_is_checked_for_its_form_only() {
        assert!(Nip::parse("199001012023211001", Some(EmploymentType::Pppk), 2026).is_ok());
        assert!(Nip::parse("19900101202321100", Some(EmploymentType::Pppk), 2026).is_err());
    }

    #[test]
    fn emails_are_lowercased_and_checked() {
        assert_eq!(
            Email::parse(" Siti@TangerangSelatanKota.go.id ")
                .unwrap()
                .as_str(),
            "siti@tangerangselatankota.go.id"
        );
        for bad in [
            "", "a", "a@b", "a@@b.id", "a b@c.id", "@c.id", "a@.id", "a@c..id",
        ] {
            assert!(Email::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn unit_codes_are_upper_cased_and_bounded() {
        assert_eq!(
            UnitCode::parse("pkm-pondok.aren").unwrap().as_str(),
            "PKM-PONDOK.AREN"
        );
        assert!(UnitCode::parse("dinas kesehatan").is_err());
        assert!(UnitCode::parse("").is_err());
    }
}
