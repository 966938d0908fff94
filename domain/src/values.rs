//! Validated value types: a value that exists is valid ("parse, don't validate").

use serde::{Deserialize, Serialize};
use std::fmt;

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

fn has_control_chars(s: &str) -> bool {
    s.chars()
        .any(|c| c.is_control() && c != '\n' && c != '\t' && c != '\r')
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
}

impl fmt::Display for Text {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
    }
}
