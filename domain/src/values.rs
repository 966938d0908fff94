//! Validated value types: a value that exists is valid ("parse, don't validate").

use serde::{Deserialize, Serialize};
use std::fmt;

mod identity;
mod market;

pub use identity::{
    verhoeff_check_digit, verhoeff_valid, AadhaarNumber, CkycNumber, DrivingLicence, Ifsc,
    MaskedAadhaar, PassportNumber, VoterId,
};
pub use market::{isin_check_digit, parse_amount, Isin};

/// Why a value was refused; `field` is filled in by the caller that knows the field's name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct InvalidValue {
    pub message: String,
}

impl InvalidValue {
    pub fn new(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
        }
    }
}

/// Characters that reorder how text displays (bidirectional overrides, embeddings, isolates
/// and marks): in a name they can make `gpj.exe` show as `exe.jpg`.
fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{200E}' | '\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

fn has_control_chars(s: &str) -> bool {
    s.chars()
        .any(|c| (c.is_control() && c != '\n' && c != '\t' && c != '\r') || is_bidi_control(c))
}

/// An e-mail address, trimmed and lower-cased.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Email(String);

impl Email {
    pub fn parse(raw: &str) -> Result<Self, InvalidValue> {
        let s = raw.trim().to_lowercase();
        if s.len() > 254 {
            return Err(InvalidValue::new(
                "an e-mail address has at most 254 characters",
            ));
        }
        let invalid = || InvalidValue::new("not an e-mail address (expected name@domain.tld)");
        let (local, domain) = s.split_once('@').ok_or_else(invalid)?;
        let local_ok = !local.is_empty()
            && local.len() <= 64
            && !local.starts_with('.')
            && !local.ends_with('.')
            && !local.contains("..")
            && local
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "!#$%&'*+/=?^_`{|}~.-".contains(c));
        let labels: Vec<&str> = domain.split('.').collect();
        let domain_ok = labels.len() >= 2
            && labels.iter().all(|l| {
                !l.is_empty()
                    && l.len() <= 63
                    && !l.starts_with('-')
                    && !l.ends_with('-')
                    && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
            })
            && labels
                .last()
                .is_some_and(|tld| tld.len() >= 2 && tld.chars().all(|c| c.is_ascii_alphabetic()));
        if local_ok && domain_ok {
            Ok(Self(s))
        } else {
            Err(invalid())
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// An Indian mobile number in E.164 form (`+91` and ten digits starting 6–9).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Phone(String);

impl Phone {
    /// Accepts the ways people write Indian mobiles: `98765 43210`, `098765-43210`,
    /// `+91 98765 43210`, `91-9876543210`, `(+91) 9876543210`.
    pub fn parse(raw: &str) -> Result<Self, InvalidValue> {
        let trimmed = raw.trim();
        if trimmed
            .chars()
            .any(|c| !(c.is_ascii_digit() || " -+().".contains(c)))
        {
            return Err(InvalidValue::new(
                "a phone number has only digits, spaces, '+', '-', '.' and parentheses",
            ));
        }
        let plus = trimmed.starts_with('+') || trimmed.starts_with("(+");
        let digits: String = trimmed.chars().filter(char::is_ascii_digit).collect();
        let national =
            match digits.len() {
                10 if !plus => digits.as_str(),
                11 if !plus && digits.starts_with('0') => &digits[1..],
                12 if digits.starts_with("91") => &digits[2..],
                13 if !plus && digits.starts_with("091") => &digits[3..],
                _ => return Err(InvalidValue::new(
                    "not an Indian mobile number (expected ten digits, optionally after +91 or 0)",
                )),
            };
        if !national.starts_with(['6', '7', '8', '9']) {
            return Err(InvalidValue::new(
                "an Indian mobile number starts with 6, 7, 8 or 9",
            ));
        }
        Ok(Self(format!("+91{national}")))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Phone {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A person's name: trimmed, inner white space folded, 1 to 120 characters, no control characters.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct PersonName(String);

impl PersonName {
    pub fn parse(raw: &str) -> Result<Self, InvalidValue> {
        let folded = raw.split_whitespace().collect::<Vec<_>>().join(" ");
        if folded.is_empty() {
            return Err(InvalidValue::new("a name must not be empty"));
        }
        if folded.chars().count() > 120 {
            return Err(InvalidValue::new("a name has at most 120 characters"));
        }
        if has_control_chars(&folded) || !folded.chars().any(char::is_alphabetic) {
            return Err(InvalidValue::new(
                "a name must contain letters and no control characters",
            ));
        }
        Ok(Self(folded))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Free text with an upper bound on its length (notes, reasons, summaries); trimmed, never empty.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Text(String);

impl Text {
    pub fn parse(raw: &str, max_chars: usize) -> Result<Self, InvalidValue> {
        let s = raw.trim();
        if s.is_empty() {
            return Err(InvalidValue::new("must not be empty"));
        }
        if s.chars().count() > max_chars {
            return Err(InvalidValue::new(format!(
                "has at most {max_chars} characters"
            )));
        }
        if has_control_chars(s) {
            return Err(InvalidValue::new("must not contain control characters"));
        }
        Ok(Self(s.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// A file's name: at most 200 characters, one line, no path (no `/` or `\\`, not `.` or
    /// `..`), no control or bidirectional characters.
    pub fn file_name(raw: &str) -> Result<Self, InvalidValue> {
        let name = Self::parse(raw, 200)?;
        if name.0.chars().any(char::is_control) {
            return Err(InvalidValue::new(
                "a file name is one line without control characters",
            ));
        }
        if name.0.contains(['/', '\\']) || name.0 == "." || name.0 == ".." {
            return Err(InvalidValue::new("a file name has no path (no / or \\)"));
        }
        Ok(name)
    }
}

impl fmt::Display for Text {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A Permanent Account Number as the Income Tax Department issues it: five letters, four
/// digits, a letter (`ABCPE1234F`), upper-cased. The fourth letter says who holds it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Pan(String);

impl Pan {
    pub fn parse(raw: &str) -> Result<Self, InvalidValue> {
        let s: String = raw.trim().to_ascii_uppercase();
        let b = s.as_bytes();
        let shape = b.len() == 10
            && b[..5].iter().all(u8::is_ascii_uppercase)
            && b[5..9].iter().all(u8::is_ascii_digit)
            && b[9].is_ascii_uppercase();
        if !shape {
            return Err(InvalidValue::new(
                "not a PAN (expected five letters, four digits and a letter, e.g. ABCPE1234F)",
            ));
        }
        // P person, C company, H HUF, F firm, A association, T trust, B body of individuals,
        // L local authority, J artificial juridical person, G government.
        if !b"PCHFATBLJG".contains(&b[3]) {
            return Err(InvalidValue::new(
                "the fourth letter of a PAN names the holder's kind (P, C, H, F, A, T, B, L, J or G)",
            ));
        }
        Ok(Self(s))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Who holds it: the fourth letter (`P` a person, `C` a company, `H` a HUF, `F` a firm,
    /// `T` a trust, …).
    pub fn holder(&self) -> char {
        self.0.as_bytes()[3] as char
    }
}

/// A date of birth: a real calendar date, not in the future, not before 1900. Kept as its
/// `YYYY-MM-DD` text, which is what is sealed in the log (and what reads as erased after a
/// shred, so stored events must not need it to be a date).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct BirthDate(String);

impl BirthDate {
    pub fn parse(raw: &str, today: chrono::NaiveDate) -> Result<Self, InvalidValue> {
        let d = chrono::NaiveDate::parse_from_str(raw.trim(), "%Y-%m-%d")
            .map_err(|_| InvalidValue::new("not a date (expected YYYY-MM-DD)"))?;
        if d > today {
            return Err(InvalidValue::new("a date of birth cannot be in the future"));
        }
        if d < chrono::NaiveDate::from_ymd_opt(1900, 1, 1).expect("valid date") {
            return Err(InvalidValue::new(
                "a date of birth before 1900 is not plausible",
            ));
        }
        Ok(Self(d.format("%Y-%m-%d").to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// How long records are kept once the relationship they belong to ends: whole years (`8y`,
/// counted on the calendar) or days (`90d`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum RetentionPeriod {
    Years(u32),
    Days(u32),
}

impl RetentionPeriod {
    pub fn parse(raw: &str) -> Result<Self, InvalidValue> {
        let s = raw.trim();
        let bad = || InvalidValue::new("a retention period is a number of years or days: 8y, 90d");
        let number = |n: &str| {
            if !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()) {
                n.parse::<u32>().ok()
            } else {
                None
            }
        };
        if let Some(n) = s.strip_suffix('y') {
            match number(n) {
                Some(n) if n <= 100 => Ok(Self::Years(n)),
                _ => Err(bad()),
            }
        } else if let Some(n) = s.strip_suffix('d') {
            match number(n) {
                Some(n) if n <= 36_500 => Ok(Self::Days(n)),
                _ => Err(bad()),
            }
        } else {
            Err(bad())
        }
    }

    /// When records kept from `from` may go.
    pub fn ends(self, from: chrono::DateTime<chrono::Utc>) -> chrono::DateTime<chrono::Utc> {
        match self {
            Self::Years(y) => from
                .checked_add_months(chrono::Months::new(12 * y))
                .unwrap_or(chrono::DateTime::<chrono::Utc>::MAX_UTC),
            Self::Days(d) => from + chrono::Duration::days(i64::from(d)),
        }
    }
}

impl fmt::Display for RetentionPeriod {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Years(y) => write!(f, "{y}y"),
            Self::Days(d) => write!(f, "{d}d"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pan_has_its_shape_and_holder_kind() {
        assert_eq!(Pan::parse(" abcpe1234f ").unwrap().as_str(), "ABCPE1234F");
        for bad in [
            "",
            "ABCPE1234",
            "ABCPE12345",
            "1BCPE1234F",
            "ABCXE1234F",
            "ABCPE12G4F",
        ] {
            assert!(Pan::parse(bad).is_err(), "{bad:?} should be refused");
        }
    }

    #[test]
    fn birth_dates_are_past_and_plausible() {
        let today = chrono::NaiveDate::from_ymd_opt(2026, 11, 30).unwrap();
        assert!(BirthDate::parse("1990-02-28", today).is_ok());
        for bad in ["1990-02-30", "30-11-1990", "2027-01-01", "1899-12-31", ""] {
            assert!(
                BirthDate::parse(bad, today).is_err(),
                "{bad:?} should be refused"
            );
        }
    }

    #[test]
    fn retention_periods_count_calendar_years_or_days() {
        use chrono::TimeZone;
        let from = chrono::Utc.with_ymd_and_hms(2024, 2, 29, 12, 0, 0).unwrap();
        let eight = RetentionPeriod::parse("8y").unwrap();
        assert_eq!(
            eight.ends(from),
            chrono::Utc.with_ymd_and_hms(2032, 2, 29, 12, 0, 0).unwrap()
        );
        assert_eq!(
            RetentionPeriod::parse("90d").unwrap().ends(from),
            from + chrono::Duration::days(90)
        );
        assert_eq!(RetentionPeriod::parse("0d").unwrap().ends(from), from);
        assert_eq!(eight.to_string(), "8y");
        for bad in ["", "8", "y", "8w", "-1d", "101y", "1.5y", "8年", "+8y"] {
            assert!(
                RetentionPeriod::parse(bad).is_err(),
                "{bad:?} should be refused"
            );
        }
    }

    #[test]
    fn email_is_normalised_and_checked() {
        assert_eq!(
            Email::parse("  Asha.Rao@Example.IN ").unwrap().as_str(),
            "asha.rao@example.in"
        );
        for bad in [
            "",
            "asha",
            "asha@",
            "@example.in",
            "asha@example",
            "a..b@example.in",
            "asha@exa mple.in",
            "asha@example.i1",
        ] {
            assert!(Email::parse(bad).is_err(), "{bad:?} should be refused");
        }
    }

    #[test]
    fn indian_mobiles_normalise_to_e164() {
        for ok in [
            "9876543210",
            "98765 43210",
            "098765-43210",
            "+91 98765 43210",
            "91-9876543210",
            "(+91) 98765.43210",
            "0919876543210",
        ] {
            assert_eq!(
                Phone::parse(ok).unwrap().as_str(),
                "+919876543210",
                "{ok:?}"
            );
        }
        for bad in [
            "",
            "12345",
            "5876543210",
            "+1 415 555 0100",
            "+9876543210",
            "98765x43210",
            "919876543210123",
        ] {
            assert!(Phone::parse(bad).is_err(), "{bad:?} should be refused");
        }
    }

    #[test]
    fn names_fold_white_space_and_need_letters() {
        assert_eq!(
            PersonName::parse("  Asha   Rao ").unwrap().as_str(),
            "Asha Rao"
        );
        assert!(PersonName::parse("   ").is_err());
        assert!(PersonName::parse("12345").is_err());
        assert!(PersonName::parse(&"a".repeat(121)).is_err());
        assert!(PersonName::parse("Asha\u{0007}").is_err());
    }

    #[test]
    fn text_is_bounded() {
        assert_eq!(
            Text::parse(" call back ", 20).unwrap().as_str(),
            "call back"
        );
        assert!(Text::parse("", 20).is_err());
        assert!(Text::parse(&"x".repeat(21), 20).is_err());
        assert!(Text::parse("line\nbreak", 20).is_ok());
        assert!(Text::parse("right\u{202E}gpj.exe", 40).is_err());
    }

    #[test]
    fn file_names_are_one_line_without_paths_or_reordering() {
        assert_eq!(
            Text::file_name(" scan 1.pdf ").unwrap().as_str(),
            "scan 1.pdf"
        );
        for bad in [
            "a\r\nContent-Type: text/html",
            "tab\tname.pdf",
            "../../etc/passwd",
            "dir\\x.pdf",
            "..",
            "photo\u{202E}gnp.exe",
            "iso\u{2067}late.pdf",
            "",
        ] {
            assert!(Text::file_name(bad).is_err(), "{bad:?}");
        }
    }
}
