//! Market identifiers and amounts as trades take them: an ISIN with its check digit, and
//! decimal quantities and prices (never floats) with the scale they may carry.

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

use super::InvalidValue;

/// An International Securities Identification Number: two letters (the country), nine letters
/// or digits, and a check digit (Luhn over the letters read as numbers, A = 10 … Z = 35).
/// Upper-cased, e.g. `INE002A01018`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Isin(String);

/// The check digit of the first eleven characters of an ISIN.
pub fn isin_check_digit(body: &str) -> Option<u32> {
    let mut digits = Vec::with_capacity(22);
    for c in body.chars() {
        let v = c.to_digit(36)?;
        if v >= 10 {
            digits.push(v / 10);
            digits.push(v % 10);
        } else {
            digits.push(v);
        }
    }
    // Luhn with the check digit still to come: the rightmost digit here is doubled.
    let sum: u32 = digits
        .iter()
        .rev()
        .enumerate()
        .map(|(i, d)| {
            if i % 2 == 0 {
                let twice = d * 2;
                twice / 10 + twice % 10
            } else {
                *d
            }
        })
        .sum();
    Some((10 - sum % 10) % 10)
}

impl Isin {
    pub fn parse(raw: &str) -> Result<Self, InvalidValue> {
        let s = raw.trim().to_ascii_uppercase();
        let b = s.as_bytes();
        let shape = b.len() == 12
            && b[..2].iter().all(u8::is_ascii_uppercase)
            && b[2..11].iter().all(u8::is_ascii_alphanumeric)
            && b[11].is_ascii_digit();
        if !shape {
            return Err(InvalidValue::new(
                "not an ISIN (expected two letters, nine letters or digits and a check digit, e.g. INE002A01018)",
            ));
        }
        let check = isin_check_digit(&s[..11]);
        if check != Some(u32::from(b[11] - b'0')) {
            return Err(InvalidValue::new("not an ISIN: its check digit is wrong"));
        }
        Ok(Self(s))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Issued in India for a mutual fund's units (ETFs included): `INF…`.
    pub fn is_indian_fund(&self) -> bool {
        self.0.starts_with("INF")
    }

    /// Issued in India for a company's equity shares: `INE` with security type `01`
    /// (`INE002A01018`), or `IN9` (partly paid and DVR shares).
    pub fn is_indian_equity_share(&self) -> bool {
        (self.0.starts_with("INE") && &self.0[7..9] == "01") || self.0.starts_with("IN9")
    }
}

impl fmt::Display for Isin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A decimal amount as sent (a JSON string such as `"1520.50"`): at most `scale` decimal
/// places, and positive (or, with `zero_ok`, zero).
pub fn parse_amount(raw: &str, scale: u32, zero_ok: bool) -> Result<Decimal, InvalidValue> {
    let t = raw.trim();
    let plain = !t.is_empty()
        && t.chars()
            .all(|c| c.is_ascii_digit() || c == '.' || c == '-')
        && !t.starts_with('.')
        && !t.ends_with('.');
    let value = match plain.then(|| Decimal::from_str(t)) {
        Some(Ok(v)) => v,
        _ => {
            return Err(InvalidValue::new(
                "not a decimal number (send it as a string, e.g. \"1520.50\")",
            ))
        }
    };
    if value.scale() > scale && value.normalize().scale() > scale {
        return Err(InvalidValue::new(format!("at most {scale} decimal places")));
    }
    if value.is_sign_negative() || (!zero_ok && value.is_zero()) {
        return Err(InvalidValue::new(if zero_ok {
            "must not be negative"
        } else {
            "must be more than zero"
        }));
    }
    if value > Decimal::from(1_000_000_000_000i64) {
        return Err(InvalidValue::new("must be below 10^12"));
    }
    Ok(value.normalize())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn isins_of_the_indian_market_and_abroad_check() {
        for good in [
            "INE002A01018", // Reliance Industries
            "INE009A01021", // Infosys
            "INE467B01029", // TCS
            "INE040A01034", // HDFC Bank
            "US0378331005", // Apple
            "ine002a01018",
        ] {
            assert!(Isin::parse(good).is_ok(), "{good}");
        }
        assert_eq!(
            Isin::parse(" ine002a01018 ").unwrap().as_str(),
            "INE002A01018"
        );
        for bad in [
            "INE002A01019",
            "INE002A0101",
            "IN0002A01018X",
            "1NE002A01018",
            "INE002A0101A",
            "",
        ] {
            assert!(Isin::parse(bad).is_err(), "{bad}");
        }
        assert_eq!(isin_check_digit("INE002A0101"), Some(8));
        assert_eq!(isin_check_digit("US037833100"), Some(5));
    }

    #[test]
    fn amounts_keep_their_scale_and_refuse_floats_in_disguise() {
        assert_eq!(
            parse_amount("1520.50", 4, false).unwrap().to_string(),
            "1520.5"
        );
        assert_eq!(
            parse_amount("12.3456", 4, false).unwrap().to_string(),
            "12.3456"
        );
        assert_eq!(parse_amount("0", 2, true).unwrap(), Decimal::ZERO);
        assert!(parse_amount("0", 2, false).is_err());
        assert!(parse_amount("-1", 2, true).is_err());
        assert!(parse_amount("1.23456", 4, false).is_err());
        assert_eq!(
            parse_amount("1.2300", 2, false).unwrap().to_string(),
            "1.23"
        );
        for bad in ["1e3", "NaN", "", ".5", "5.", "1,000", "inf"] {
            assert!(parse_amount(bad, 4, false).is_err(), "{bad}");
        }
    }
}
