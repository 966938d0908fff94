//! Indian identity and account identifiers as KYC takes them: each parsed once, in the form it
//! is kept.

use serde::{Deserialize, Serialize};
use std::fmt;

use super::InvalidValue;

/// Letters and digits only, upper-cased; spaces, hyphens, dots and slashes people type between
/// groups are dropped.
fn compact(raw: &str) -> String {
    raw.trim()
        .chars()
        .filter(|c| !matches!(c, ' ' | '-' | '.' | '/'))
        .map(|c| c.to_ascii_uppercase())
        .collect()
}

/// The Verhoeff scheme's multiplication table (the dihedral group D5).
const VERHOEFF_D: [[u8; 10]; 10] = [
    [0, 1, 2, 3, 4, 5, 6, 7, 8, 9],
    [1, 2, 3, 4, 0, 6, 7, 8, 9, 5],
    [2, 3, 4, 0, 1, 7, 8, 9, 5, 6],
    [3, 4, 0, 1, 2, 8, 9, 5, 6, 7],
    [4, 0, 1, 2, 3, 9, 5, 6, 7, 8],
    [5, 9, 8, 7, 6, 0, 4, 3, 2, 1],
    [6, 5, 9, 8, 7, 1, 0, 4, 3, 2],
    [7, 6, 5, 9, 8, 2, 1, 0, 4, 3],
    [8, 7, 6, 5, 9, 3, 2, 1, 0, 4],
    [9, 8, 7, 6, 5, 4, 3, 2, 1, 0],
];
/// Its position permutations.
const VERHOEFF_P: [[u8; 10]; 8] = [
    [0, 1, 2, 3, 4, 5, 6, 7, 8, 9],
    [1, 5, 7, 6, 2, 8, 3, 0, 9, 4],
    [5, 8, 0, 3, 7, 9, 6, 1, 4, 2],
    [8, 9, 1, 6, 0, 4, 3, 5, 2, 7],
    [9, 4, 5, 3, 1, 2, 6, 8, 7, 0],
    [4, 2, 8, 6, 5, 7, 3, 9, 0, 1],
    [2, 7, 9, 3, 8, 0, 6, 4, 1, 5],
    [7, 0, 4, 6, 9, 1, 3, 2, 5, 8],
];
const VERHOEFF_INV: [u8; 10] = [0, 4, 3, 2, 1, 5, 6, 7, 8, 9];

/// Whether a string of digits ends in its Verhoeff check digit.
pub fn verhoeff_valid(digits: &str) -> bool {
    let mut c = 0usize;
    for (i, d) in digits.bytes().rev().enumerate() {
        if !d.is_ascii_digit() {
            return false;
        }
        c = VERHOEFF_D[c][VERHOEFF_P[i % 8][(d - b'0') as usize] as usize] as usize;
    }
    !digits.is_empty() && c == 0
}

/// The Verhoeff check digit of a string of digits.
pub fn verhoeff_check_digit(digits: &str) -> u8 {
    let mut c = 0usize;
    for (i, d) in digits.bytes().rev().enumerate() {
        c = VERHOEFF_D[c][VERHOEFF_P[(i + 1) % 8][(d - b'0') as usize] as usize] as usize;
    }
    VERHOEFF_INV[c]
}

/// A whole Aadhaar number as typed in: twelve digits, the first 2–9, the last a Verhoeff check
/// digit. It is never kept: only its [`MaskedAadhaar`] form and a blind index of
/// [`AadhaarNumber::digits`] are. It neither serializes nor prints.
#[derive(Clone, PartialEq, Eq)]
pub struct AadhaarNumber(String);

impl AadhaarNumber {
    pub fn parse(raw: &str) -> Result<Self, InvalidValue> {
        let s = compact(raw);
        if s.len() != 12 || !s.bytes().all(|b| b.is_ascii_digit()) {
            return Err(InvalidValue::new(
                "not an Aadhaar number (expected 12 digits)",
            ));
        }
        if s.starts_with(['0', '1']) {
            return Err(InvalidValue::new(
                "an Aadhaar number does not start with 0 or 1",
            ));
        }
        if !verhoeff_valid(&s) {
            return Err(InvalidValue::new(
                "not an Aadhaar number (its check digit does not match)",
            ));
        }
        Ok(Self(s))
    }

    /// The twelve digits, for a blind index only.
    pub fn digits(&self) -> &str {
        &self.0
    }

    pub fn masked(&self) -> MaskedAadhaar {
        MaskedAadhaar(format!("XXXX-XXXX-{}", &self.0[8..]))
    }
}

impl fmt::Debug for AadhaarNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "AadhaarNumber({})", self.masked().as_str())
    }
}

/// An Aadhaar number as it may be kept: `XXXX-XXXX-1234`, its last four digits only.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct MaskedAadhaar(String);

impl MaskedAadhaar {
    /// Takes a masked number (`XXXX-XXXX-1234`, `xxxx xxxx 1234`).
    pub fn parse(raw: &str) -> Result<Self, InvalidValue> {
        let s = compact(raw);
        let b = s.as_bytes();
        if b.len() != 12
            || !b[..8].iter().all(|c| *c == b'X')
            || !b[8..].iter().all(u8::is_ascii_digit)
        {
            return Err(InvalidValue::new(
                "not a masked Aadhaar number (expected XXXX-XXXX and the last four digits)",
            ));
        }
        Ok(Self(format!("XXXX-XXXX-{}", &s[8..])))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// An Indian passport number: a letter and seven digits (`K1234567`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct PassportNumber(String);

impl PassportNumber {
    pub fn parse(raw: &str) -> Result<Self, InvalidValue> {
        let s = compact(raw);
        let b = s.as_bytes();
        if b.len() == 8 && b[0].is_ascii_uppercase() && b[1..].iter().all(u8::is_ascii_digit) {
            Ok(Self(s))
        } else {
            Err(InvalidValue::new(
                "not a passport number (expected a letter and seven digits, e.g. K1234567)",
            ))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A voter id (EPIC): three letters and seven digits (`ABC1234567`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct VoterId(String);

impl VoterId {
    pub fn parse(raw: &str) -> Result<Self, InvalidValue> {
        let s = compact(raw);
        let b = s.as_bytes();
        if b.len() == 10
            && b[..3].iter().all(u8::is_ascii_uppercase)
            && b[3..].iter().all(u8::is_ascii_digit)
        {
            Ok(Self(s))
        } else {
            Err(InvalidValue::new(
                "not a voter id (expected three letters and seven digits, e.g. ABC1234567)",
            ))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The codes of India's states and union territories as vehicle registrations and driving
/// licences use them.
const STATE_CODES: &[&str] = &[
    "AN", "AP", "AR", "AS", "BR", "CG", "CH", "DD", "DL", "DN", "GA", "GJ", "HP", "HR", "JH", "JK",
    "KA", "KL", "LA", "LD", "MH", "ML", "MN", "MP", "MZ", "NL", "OD", "OR", "PB", "PY", "RJ", "SK",
    "TN", "TR", "TS", "UK", "UP", "WB",
];

/// A driving licence number: state code, two-digit RTO code, year of issue and a seven-digit
/// number (`MH12 20110012345`), kept as its fifteen characters.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct DrivingLicence(String);

impl DrivingLicence {
    pub fn parse(raw: &str, this_year: i32) -> Result<Self, InvalidValue> {
        let s = compact(raw);
        let b = s.as_bytes();
        let shape = b.len() == 15
            && b[..2].iter().all(u8::is_ascii_uppercase)
            && b[2..].iter().all(u8::is_ascii_digit);
        if !shape {
            return Err(InvalidValue::new(
                "not a driving licence number (expected state code, RTO code, year and number, e.g. MH12 20110012345)",
            ));
        }
        if !STATE_CODES.contains(&&s[..2]) {
            return Err(InvalidValue::new(
                "a driving licence number starts with an Indian state's code (MH, DL, KA, …)",
            ));
        }
        let year: i32 = s[4..8].parse().expect("four digits");
        if !(1950..=this_year).contains(&year) {
            return Err(InvalidValue::new(
                "the year in a driving licence number is its year of issue (1950 to this year)",
            ));
        }
        Ok(Self(s))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A bank branch's IFSC: four letters (the bank), a zero, six letters or digits (the branch).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Ifsc(String);

impl Ifsc {
    pub fn parse(raw: &str) -> Result<Self, InvalidValue> {
        let s = compact(raw);
        let b = s.as_bytes();
        if b.len() == 11
            && b[..4].iter().all(u8::is_ascii_uppercase)
            && b[4] == b'0'
            && b[5..].iter().all(u8::is_ascii_alphanumeric)
        {
            Ok(Self(s))
        } else {
            Err(InvalidValue::new(
                "not an IFSC (expected four letters, a zero and six letters or digits, e.g. HDFC0001234)",
            ))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A Central KYC Registry number (KIN): fourteen digits.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct CkycNumber(String);

impl CkycNumber {
    pub fn parse(raw: &str) -> Result<Self, InvalidValue> {
        let s = compact(raw);
        if s.len() == 14 && s.bytes().all(|b| b.is_ascii_digit()) {
            Ok(Self(s))
        } else {
            Err(InvalidValue::new("not a CKYC number (expected 14 digits)"))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verhoeff_matches_published_vectors() {
        // The scheme's worked examples: 236 → 3, 12345 → 1, 142857 → 0.
        assert_eq!(verhoeff_check_digit("236"), 3);
        assert_eq!(verhoeff_check_digit("12345"), 1);
        assert_eq!(verhoeff_check_digit("142857"), 0);
        assert!(verhoeff_valid("2363") && verhoeff_valid("123451") && verhoeff_valid("1428570"));
        assert!(!verhoeff_valid("2364") && !verhoeff_valid("123415") && !verhoeff_valid(""));
        // Every single-digit error and every adjacent transposition is caught.
        let base = "23456789012";
        let good = format!("{base}{}", verhoeff_check_digit(base));
        assert!(verhoeff_valid(&good));
        for i in 0..good.len() {
            for d in b'0'..=b'9' {
                let mut b = good.clone().into_bytes();
                if b[i] == d {
                    continue;
                }
                b[i] = d;
                assert!(!verhoeff_valid(std::str::from_utf8(&b).unwrap()));
            }
            if i + 1 < good.len() && good.as_bytes()[i] != good.as_bytes()[i + 1] {
                let mut b = good.clone().into_bytes();
                b.swap(i, i + 1);
                assert!(!verhoeff_valid(std::str::from_utf8(&b).unwrap()));
            }
        }
    }

    #[test]
    fn aadhaar_is_checked_then_only_masked() {
        let base = "49901234567";
        let whole = format!("{base}{}", verhoeff_check_digit(base));
        let a = AadhaarNumber::parse(&format!("{} {} {}", &whole[..4], &whole[4..8], &whole[8..]))
            .unwrap();
        assert_eq!(a.digits(), whole);
        assert_eq!(a.masked().as_str(), format!("XXXX-XXXX-{}", &whole[8..]));
        assert!(!format!("{a:?}").contains(&whole[..8]));
        let wrong_check = format!("{base}{}", (verhoeff_check_digit(base) + 1) % 10);
        assert!(AadhaarNumber::parse(&wrong_check).is_err());
        let zero = "09901234567";
        let zero = format!("{zero}{}", verhoeff_check_digit(zero));
        assert!(AadhaarNumber::parse(&zero).is_err());
        assert!(AadhaarNumber::parse("12345").is_err());
        assert!(AadhaarNumber::parse("2345678901ab").is_err());
        assert_eq!(
            MaskedAadhaar::parse("xxxx xxxx 1234").unwrap().as_str(),
            "XXXX-XXXX-1234"
        );
        assert!(MaskedAadhaar::parse(&whole).is_err());
        assert!(MaskedAadhaar::parse("XXXX-XXXX-12").is_err());
    }

    #[test]
    fn passports_voter_ids_licences_ifsc_and_ckyc_numbers() {
        assert_eq!(
            PassportNumber::parse(" k1234567 ").unwrap().as_str(),
            "K1234567"
        );
        assert!(PassportNumber::parse("K123456").is_err());
        assert!(PassportNumber::parse("12345678").is_err());
        assert_eq!(VoterId::parse("abc1234567").unwrap().as_str(), "ABC1234567");
        assert!(VoterId::parse("AB12345678").is_err());
        assert_eq!(
            DrivingLicence::parse("MH12 20110012345", 2026)
                .unwrap()
                .as_str(),
            "MH1220110012345"
        );
        assert!(DrivingLicence::parse("MH-12-2011-0012345", 2026).is_ok());
        assert!(DrivingLicence::parse("XX1220110012345", 2026).is_err());
        assert!(DrivingLicence::parse("MH1220310012345", 2026).is_err());
        assert!(DrivingLicence::parse("MH12201100123", 2026).is_err());
        assert_eq!(Ifsc::parse("hdfc0001234").unwrap().as_str(), "HDFC0001234");
        assert!(Ifsc::parse("HDFC1001234").is_err());
        assert!(Ifsc::parse("HDF00001234").is_err());
        assert_eq!(
            CkycNumber::parse("1234 5678 9012 34").unwrap().as_str(),
            "12345678901234"
        );
        assert!(CkycNumber::parse("1234567890123").is_err());
    }
}
