//! A trade as a caller sends it, checked field by field into a [`Trade`].

use chrono::{Datelike, Duration, NaiveDate, Weekday};
use rust_decimal::Decimal;

use super::rules::{AssetClass, BondTerms, Exchange, Fees, FundCategory, Side, Trade};
use crate::input::{Checked, Invalid};
use crate::values::{parse_amount, InvalidValue, Isin, Text};

/// The fees as sent (decimal strings; a missing one is zero).
#[derive(Debug, Clone, Default)]
pub struct FeesInput {
    pub brokerage: Option<String>,
    pub stt: Option<String>,
    pub gst: Option<String>,
    pub stamp_duty: Option<String>,
    pub other: Option<String>,
}

/// A trade as sent.
#[derive(Debug, Clone)]
pub struct TradeInput {
    pub side: Side,
    pub asset_class: AssetClass,
    pub fund_category: Option<FundCategory>,
    pub isin: String,
    pub symbol: String,
    pub exchange: Option<Exchange>,
    pub quantity: String,
    pub price: String,
    pub fees: FeesInput,
    pub trade_date: NaiveDate,
    /// Default: the next working day (T+1, weekends skipped).
    pub settlement_date: Option<NaiveDate>,
    pub reference: String,
    /// Bonds: the face value per unit and the coupon (% a year), decimal strings.
    pub face_value: Option<String>,
    pub coupon_rate: Option<String>,
}

/// The next working day after `day` (Saturday and Sunday skipped).
pub fn next_working_day(day: NaiveDate) -> NaiveDate {
    let mut d = day + Duration::days(1);
    while matches!(d.weekday(), Weekday::Sat | Weekday::Sun) {
        d += Duration::days(1);
    }
    d
}

/// A ticker as exchanges print it: 1 to 20 letters, digits and `& - _ .`, upper-cased.
fn symbol(raw: &str) -> Result<Text, InvalidValue> {
    let s = raw.trim().to_ascii_uppercase();
    let ok = !s.is_empty()
        && s.len() <= 20
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "&-_.".contains(c));
    if !ok {
        return Err(InvalidValue::new(
            "1 to 20 letters, digits or & - _ . (e.g. RELIANCE, M&M)",
        ));
    }
    Text::parse(&s, 20)
}

fn fee(c: &mut Checked, field: &'static str, raw: &Option<String>) -> Decimal {
    match raw.as_deref() {
        None => Decimal::ZERO,
        Some(r) => c.take(field, parse_amount(r, 4, true)).unwrap_or_default(),
    }
}

impl TradeInput {
    /// Checks every field (`today`: the day in India, which a trade may not be after).
    pub fn check(self, today: NaiveDate) -> Result<Trade, Vec<Invalid>> {
        self.check_against(today, |_| None)
    }

    /// Like [`TradeInput::check`], and the symbol against the one `known` gives the ISIN
    /// (an instrument list), so that a trade cannot name one instrument and price another.
    pub fn check_against(
        self,
        today: NaiveDate,
        known: impl Fn(&Isin) -> Option<String>,
    ) -> Result<Trade, Vec<Invalid>> {
        let mut c = Checked::default();
        if self.trade_date > today {
            c.fail("trade_date", "a trade cannot be dated in the future");
        }
        let isin = c.take("isin", Isin::parse(&self.isin));
        // The ISIN says what kind of security it is: a trade's class must agree (else a
        // share booked as a bond would pass the suitability check as low risk).
        if let Some(i) = &isin {
            let fund = i.is_indian_fund();
            let wrong = match self.asset_class {
                AssetClass::Etf | AssetClass::MutualFund if !fund => {
                    Some("ETF and mutual fund units have a fund's ISIN (INF…)")
                }
                AssetClass::Equity if fund => {
                    Some("a fund's ISIN (INF…): ETF or mutual fund units, not shares")
                }
                AssetClass::Bond if fund => Some("a fund's ISIN (INF…): not a bond"),
                AssetClass::Bond if i.is_indian_equity_share() => {
                    Some("an equity share's ISIN (security type 01): not a bond")
                }
                _ => None,
            };
            if let Some(why) = wrong {
                c.fail("asset_class", why);
            }
        }
        let symbol = c.take("symbol", symbol(&self.symbol));
        if let (Some(i), Some(s)) = (&isin, &symbol) {
            if let Some(listed) = known(i).filter(|k| !k.eq_ignore_ascii_case(s.as_str())) {
                c.fail("symbol", format!("{} is {listed}", i.as_str()));
            }
        }
        // Shares, ETF units and bonds come whole; fund units to four decimals.
        let quantity_scale = match self.asset_class {
            AssetClass::MutualFund => 4,
            _ => 0,
        };
        let quantity = c.take(
            "quantity",
            parse_amount(&self.quantity, quantity_scale, false).map_err(|e| {
                if quantity_scale == 0 && e.message.contains("decimal places") {
                    InvalidValue::new("whole units only for shares, ETFs and bonds")
                } else {
                    e
                }
            }),
        );
        let price = c.take("price", parse_amount(&self.price, 4, false));
        let fees = Fees {
            brokerage: fee(&mut c, "fees.brokerage", &self.fees.brokerage),
            stt: fee(&mut c, "fees.stt", &self.fees.stt),
            gst: fee(&mut c, "fees.gst", &self.fees.gst),
            stamp_duty: fee(&mut c, "fees.stamp_duty", &self.fees.stamp_duty),
            other: fee(&mut c, "fees.other", &self.fees.other),
        };
        let reference = c.take("reference", Text::parse(&self.reference, 64));
        match (self.asset_class, self.fund_category) {
            (AssetClass::MutualFund, None) => c.fail(
                "fund_category",
                "a mutual fund trade names the fund's category (equity, hybrid or debt)",
            ),
            (AssetClass::MutualFund, Some(_)) => {}
            (_, Some(_)) => c.fail("fund_category", "only mutual fund trades take a category"),
            _ => {}
        }
        let bond = match self.asset_class {
            AssetClass::Bond => {
                let face_value = match &self.face_value {
                    Some(f) => c.take("face_value", parse_amount(f, 4, false)),
                    None => {
                        c.fail("face_value", "a bond names its face value per unit");
                        None
                    }
                };
                let coupon_rate = match &self.coupon_rate {
                    Some(r) => c.take(
                        "coupon_rate",
                        parse_amount(r, 4, true).and_then(|r| match r <= Decimal::from(100) {
                            true => Ok(r),
                            false => Err(InvalidValue::new("a percentage a year, at most 100")),
                        }),
                    ),
                    None => {
                        c.fail(
                            "coupon_rate",
                            "a bond names its coupon, % of face value a year (0 for zero-coupon)",
                        );
                        None
                    }
                };
                face_value
                    .zip(coupon_rate)
                    .map(|(face_value, coupon_rate)| BondTerms {
                        face_value,
                        coupon_rate,
                    })
            }
            _ => {
                for (field, given) in [
                    ("face_value", &self.face_value),
                    ("coupon_rate", &self.coupon_rate),
                ] {
                    if given.is_some() {
                        c.fail(field, "only bonds have a face value and a coupon");
                    }
                }
                None
            }
        };
        let listed = matches!(self.asset_class, AssetClass::Equity | AssetClass::Etf);
        if listed && self.exchange.is_none() {
            c.fail(
                "exchange",
                "shares and ETFs trade on an exchange: nse or bse",
            );
        }
        if self.asset_class == AssetClass::MutualFund && self.exchange.is_some() {
            c.fail(
                "exchange",
                "mutual fund units are bought from the fund, not on an exchange",
            );
        }
        let settlement_date = self
            .settlement_date
            .unwrap_or_else(|| next_working_day(self.trade_date));
        if !c.invalid.is_empty() {
            return Err(c.invalid);
        }
        Ok(Trade {
            side: self.side,
            asset_class: self.asset_class,
            fund_category: self.fund_category,
            isin: isin.expect("checked"),
            symbol: symbol.expect("checked"),
            exchange: self.exchange,
            quantity: quantity.expect("checked"),
            price: price.expect("checked"),
            fees,
            trade_date: self.trade_date,
            settlement_date,
            reference: reference.expect("checked"),
            bond,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn today() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 12, 1).unwrap()
    }

    fn input() -> TradeInput {
        TradeInput {
            side: Side::Buy,
            asset_class: AssetClass::Equity,
            fund_category: None,
            isin: "ine002a01018".into(),
            symbol: "reliance".into(),
            exchange: Some(Exchange::Nse),
            quantity: "10".into(),
            price: "2450.50".into(),
            fees: FeesInput {
                brokerage: Some("20".into()),
                ..FeesInput::default()
            },
            trade_date: NaiveDate::from_ymd_opt(2026, 11, 27).unwrap(),
            settlement_date: None,
            reference: "CN-1".into(),
            face_value: None,
            coupon_rate: None,
        }
    }

    #[test]
    fn a_good_trade_settles_the_next_working_day() {
        let t = input().check(today()).unwrap();
        assert_eq!(t.isin.as_str(), "INE002A01018");
        assert_eq!(t.symbol.as_str(), "RELIANCE");
        // Friday 27 November 2026 settles on Monday 30.
        assert_eq!(
            t.settlement_date,
            NaiveDate::from_ymd_opt(2026, 11, 30).unwrap()
        );
        assert_eq!(t.fees.total(), Decimal::from(20));
    }

    #[test]
    fn every_bad_field_is_named() {
        let bad = TradeInput {
            isin: "INE002A01019".into(),
            quantity: "1.5".into(),
            price: "0".into(),
            exchange: None,
            fund_category: Some(FundCategory::Debt),
            fees: FeesInput {
                gst: Some("-1".into()),
                ..FeesInput::default()
            },
            reference: " ".into(),
            trade_date: NaiveDate::from_ymd_opt(2026, 12, 2).unwrap(),
            ..input()
        };
        let fields: Vec<&str> = bad
            .check(today())
            .unwrap_err()
            .iter()
            .map(|i| i.field)
            .collect();
        assert_eq!(
            fields,
            [
                "trade_date",
                "isin",
                "quantity",
                "price",
                "fees.gst",
                "reference",
                "fund_category",
                "exchange"
            ]
        );
        let fund = TradeInput {
            asset_class: AssetClass::MutualFund,
            fund_category: Some(FundCategory::Equity),
            exchange: None,
            isin: "INF209K01YN0".into(),
            symbol: "ABSLFRONT".into(),
            quantity: "12.3456".into(),
            ..input()
        };
        assert_eq!(fund.check(today()).unwrap().quantity.to_string(), "12.3456");
    }

    #[test]
    fn the_class_and_symbol_agree_with_the_isin() {
        let as_class = |class: AssetClass, isin: &str| TradeInput {
            asset_class: class,
            face_value: (class == AssetClass::Bond).then(|| "1000".into()),
            coupon_rate: (class == AssetClass::Bond).then(|| "7.45".into()),
            fund_category: (class == AssetClass::MutualFund).then_some(FundCategory::Debt),
            exchange: (class != AssetClass::MutualFund).then_some(Exchange::Nse),
            isin: isin.into(),
            ..input()
        };
        let field = |t: TradeInput| -> Vec<&'static str> {
            t.check(today())
                .err()
                .unwrap_or_default()
                .iter()
                .map(|i| i.field)
                .collect()
        };
        // ITC's shares booked as a bond, a share booked as an ETF, a fund's units as shares.
        assert_eq!(
            field(as_class(AssetClass::Bond, "INE154A01025")),
            ["asset_class"]
        );
        assert_eq!(
            field(as_class(AssetClass::Etf, "INE002A01018")),
            ["asset_class"]
        );
        assert_eq!(
            field(as_class(AssetClass::Equity, "INF204KB14I2")),
            ["asset_class"]
        );
        assert_eq!(
            field(as_class(AssetClass::Bond, "INF204KB14I2")),
            ["asset_class"]
        );
        // What agrees: an ETF's and a fund's units, a company's debenture, a share.
        assert!(field(as_class(AssetClass::Etf, "INF204KB14I2")).is_empty());
        assert!(field(as_class(AssetClass::MutualFund, "INF209K01YN0")).is_empty());
        let debenture = format!(
            "INE001A07QV{}",
            crate::values::isin_check_digit("INE001A07QV").unwrap()
        );
        assert!(field(as_class(AssetClass::Bond, &debenture)).is_empty());
        assert!(field(as_class(AssetClass::Equity, "INE002A01018")).is_empty());
        // A known instrument's symbol must be its own.
        let known = |i: &Isin| (i.as_str() == "INE002A01018").then(|| "RELIANCE".to_string());
        let tcs = TradeInput {
            symbol: "TCS".into(),
            ..input()
        };
        let e = tcs.check_against(today(), known).unwrap_err();
        assert_eq!(
            (e[0].field, e[0].message.as_str()),
            ("symbol", "INE002A01018 is RELIANCE")
        );
        assert!(input().check_against(today(), known).is_ok());
    }

    #[test]
    fn a_bond_names_its_face_value_and_coupon_and_only_a_bond_does() {
        let gsec = format!(
            "IN002023008{}",
            crate::values::isin_check_digit("IN002023008").unwrap()
        );
        let bond = |face: Option<&str>, coupon: Option<&str>| TradeInput {
            asset_class: AssetClass::Bond,
            exchange: None,
            isin: gsec.clone(),
            symbol: "GS2033".into(),
            face_value: face.map(String::from),
            coupon_rate: coupon.map(String::from),
            ..input()
        };
        let t = bond(Some("100"), Some("7.18")).check(today()).unwrap();
        assert_eq!(
            t.bond,
            Some(BondTerms {
                face_value: Decimal::from(100),
                coupon_rate: "7.18".parse().unwrap()
            })
        );
        // Zero-coupon is a coupon.
        assert!(bond(Some("100"), Some("0")).check(today()).is_ok());
        let fields = |t: TradeInput| -> Vec<&'static str> {
            t.check(today())
                .unwrap_err()
                .iter()
                .map(|i| i.field)
                .collect()
        };
        assert_eq!(fields(bond(None, None)), ["face_value", "coupon_rate"]);
        assert_eq!(
            fields(bond(Some("0"), Some("101"))),
            ["face_value", "coupon_rate"]
        );
        let share = TradeInput {
            face_value: Some("10".into()),
            ..input()
        };
        assert_eq!(fields(share), ["face_value"]);
    }
}
