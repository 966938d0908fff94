//! Examples of the investment payloads for the OpenAPI document. The answers are made by the
//! same code that makes real ones, from a small sample portfolio (two buys of Reliance and a
//! sell, NIFTYBEES units), so that the examples cannot drift from what the server sends.

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, Utc};
use domain::investments::fifo::Position;
use domain::investments::{AssetClass, Exchange, Fees, HoldingPeriods, Side, Trade};
use domain::values::{Isin, Text};
use poem_openapi::types::Example;
use projections::investments::query::{Held, PlacedHolders, PlacedHolding, TradeRow};
use projections::investments::valuation::{self, Inputs, Price, RealisedFrom};
use projections::investments::{realised_within, Book, ProfileView};
use rust_decimal::Decimal;
use uuid::Uuid;

use super::dto::*;
use crate::dto::Str;
use crate::reports::investments::{build, InvestmentReportOut};

fn day(s: &str) -> NaiveDate {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").expect("an example date")
}

fn at(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s)
        .expect("an example time")
        .to_utc()
}

const CLIENT: Uuid = Uuid::from_u128(0x0193_5a10_7c2e_7d41_9a3b_2c1d_0e4f_5a6b);
const RM: Uuid = Uuid::from_u128(0x0193_5a0f_11aa_7b22_8c33_4d44_5e55_6f66);

fn trade(
    side: Side,
    isin: &str,
    symbol: &str,
    quantity: i64,
    price: &str,
    on: &str,
    reference: &str,
) -> Trade {
    let etf = isin.starts_with("INF");
    Trade {
        side,
        asset_class: if etf {
            AssetClass::Etf
        } else {
            AssetClass::Equity
        },
        fund_category: None,
        isin: Isin::parse(isin).expect("an example ISIN"),
        symbol: Text::parse(symbol, 20).expect("an example symbol"),
        exchange: Some(Exchange::Nse),
        quantity: Decimal::from(quantity),
        price: price.parse().expect("an example price"),
        fees: Fees {
            brokerage: Decimal::from(20),
            ..Fees::default()
        },
        trade_date: day(on),
        settlement_date: domain::investments::next_working_day(day(on)),
        reference: Text::parse(reference, 64).expect("an example reference"),
        bond: None,
    }
}

/// The sample trades, in the order recorded, with their ids.
fn trades() -> Vec<(Uuid, Trade)> {
    vec![
        (
            Uuid::from_u128(0x0192_1a00_0000_7000_8000_0000_0000_0001),
            trade(
                Side::Buy,
                "INE002A01018",
                "RELIANCE",
                10,
                "1240.00",
                "2025-06-12",
                "CN-2025-000311",
            ),
        ),
        (
            Uuid::from_u128(0x0192_1a00_0000_7000_8000_0000_0000_0002),
            trade(
                Side::Buy,
                "INE002A01018",
                "RELIANCE",
                5,
                "1402.50",
                "2026-02-03",
                "CN-2026-000042",
            ),
        ),
        (
            Uuid::from_u128(0x0192_1a00_0000_7000_8000_0000_0000_0003),
            trade(
                Side::Buy,
                "INF204KB14I2",
                "NIFTYBEES",
                100,
                "281.40",
                "2026-03-16",
                "CN-2026-000077",
            ),
        ),
        (
            Uuid::from_u128(0x0192_1a00_0000_7000_8000_0000_0000_0004),
            trade(
                Side::Sell,
                "INE002A01018",
                "RELIANCE",
                12,
                "1385.20",
                "2026-11-20",
                "CN-2026-000515",
            ),
        ),
    ]
}

fn book() -> Book {
    let mut book = Book::new(CLIENT, HoldingPeriods::default());
    for (id, t) in trades() {
        book.add(id, &t);
    }
    book.summary.trades = 4;
    book.summary.profile = Some(ProfileView {
        level: domain::investments::RiskProfileLevel::Aggressive,
        score: 19,
        profiled_at: at("2025-06-10T09:12:00Z"),
    });
    book
}

fn prices() -> BTreeMap<Isin, Price> {
    [
        ("INE002A01018", "1391.60", "1384.10"),
        ("INF204KB14I2", "287.15", "286.40"),
    ]
    .into_iter()
    .map(|(isin, price, previous)| {
        (
            Isin::parse(isin).expect("an example ISIN"),
            Price {
                price: price.parse().expect("a price"),
                on_date: day("2026-12-01"),
                quoted_at: at("2026-12-01T10:00:00Z"),
                source: "fixture".into(),
                stale: false,
                previous_close: Some(previous.parse().expect("a price")),
            },
        )
    })
    .collect()
}

impl Example for PortfolioOut {
    fn example() -> Self {
        let book = book();
        let on = day("2026-12-01");
        let prices = prices();
        let sectors = [
            (
                Isin::parse("INE002A01018").expect("ISIN"),
                "energy".to_string(),
            ),
            (
                Isin::parse("INF204KB14I2").expect("ISIN"),
                "index".to_string(),
            ),
        ]
        .into_iter()
        .collect();
        let realised = realised_within(&book.days, day("2026-04-01"), on);
        let v = valuation::value(Inputs {
            on,
            holdings: book
                .summary
                .holdings
                .values()
                .cloned()
                .collect::<Vec<Position>>(),
            prices: &prices,
            sectors: &sectors,
            flows: book.days.iter().map(|(d, x)| (*d, x.flow)).collect(),
            realised: RealisedFrom::Sums {
                short_term: realised.short_term,
                long_term: realised.long_term,
            },
            period: (Some(day("2026-04-01")), Some(on)),
            periods: HoldingPeriods::default(),
        });
        let profile = book.summary.profile.as_ref().map(|p| RiskProfileOut {
            profile: p.level.as_str().into(),
            score: p.score,
            profiled_at: p.profiled_at,
        });
        PortfolioOut::of(CLIENT, &v, book.summary.trades, profile, Some(&book.lots))
    }
}

impl Example for HoldingOut {
    fn example() -> Self {
        PortfolioOut::example()
            .holdings
            .into_iter()
            .next()
            .expect("a holding")
    }
}

impl Example for TradeOut {
    fn example() -> Self {
        // The sell, with the lots it consumed.
        let mut book = Book::new(CLIENT, HoldingPeriods::default());
        let mut last = None;
        for (id, t) in trades() {
            let realisation = book.add(id, &t);
            last = Some((id, t, realisation));
        }
        let (id, trade, realisation) = last.expect("a sell");
        TradeOut::of(
            &TradeRow {
                trade_id: id,
                client_id: CLIENT,
                trade,
                status: "in_force".into(),
                corrects: None,
                corrected_by: None,
                recorded_by: RM,
                recorded_at: at("2026-11-20T06:05:41Z"),
                realisation,
            },
            &HoldingPeriods::default(),
        )
    }
}

impl Example for TradePage {
    fn example() -> Self {
        Self {
            items: vec![TradeOut::example()],
            next_cursor: Some("eyJ2IjoiMjAyNi0xMS0yMCIsImlkIjoiMDE5Mi4uLiJ9".into()),
            total: 4,
        }
    }
}

impl Example for CorrectionIn {
    fn example() -> Self {
        Self {
            side: SideIn::Buy,
            asset_class: AssetClassIn::Equity,
            fund_category: None,
            isin: Str("INE002A01018".into()),
            symbol: Str("RELIANCE".into()),
            exchange: Some(Str("nse".into())),
            quantity: Str("5".into()),
            price: Str("1402.50".into()),
            fees: Some(FeesIn {
                brokerage: Some(Str("20".into())),
                stt: Some(Str("7.01".into())),
                gst: None,
                stamp_duty: None,
                other: None,
            }),
            trade_date: day("2026-02-03"),
            settlement_date: None,
            reference: Str("CN-2026-000042".into()),
            face_value: None,
            coupon_rate: None,
            reason: Str("price keyed as 1420.50; the contract note says 1402.50".into()),
            override_reason: None,
        }
    }
}

impl Example for RiskQuestionnaireIn {
    fn example() -> Self {
        Self {
            age: 38,
            income_range: crate::kyc::dto::IncomeRangeIn::From10To25Lakh,
            horizon_years: 10,
            experience: ExperienceIn::Some,
            loss_tolerance: LossToleranceIn::Medium,
            dependants: 2,
            goals: vec![Str("children's education".into()), Str("retirement".into())],
            preferred_products: vec![AssetClassIn::MutualFund, AssetClassIn::Equity],
        }
    }
}

impl Example for PriceIn {
    fn example() -> Self {
        Self {
            isin: Str("INF204KB14I2".into()),
            price: Str("283.10".into()),
            as_of: day("2026-11-30"),
        }
    }
}

impl Example for PriceOut {
    fn example() -> Self {
        Self {
            isin: "INE002A01018".into(),
            price: "1391.6".into(),
            on_date: day("2026-12-01"),
            quoted_at: at("2026-12-01T10:00:00Z"),
            source: "fixture".into(),
            stale: false,
        }
    }
}

impl Example for InvestmentReportOut {
    fn example() -> Self {
        let summary = book().summary;
        let held: Vec<PlacedHolding> = summary
            .holdings
            .values()
            .filter(|h| !h.quantity.is_zero())
            .map(|h| PlacedHolding {
                branch: "MUM-01".into(),
                segment: "affluent".into(),
                relationship_manager: Some(RM),
                holders: 1,
                held: Held::from(h),
            })
            .collect();
        let mut classes: Vec<_> = held.iter().map(|h| Some(h.held.asset_class)).collect();
        classes.dedup();
        let holders: Vec<PlacedHolders> = std::iter::once(None)
            .chain(classes)
            .map(|asset_class| PlacedHolders {
                branch: "MUM-01".into(),
                segment: "affluent".into(),
                relationship_manager: Some(RM),
                asset_class,
                holders: 1,
            })
            .collect();
        let prices = prices().into_iter().map(|(i, p)| (i, p.price)).collect();
        let volumes = vec![
            (
                "buy".to_string(),
                "equity".to_string(),
                2,
                Decimal::from(19412),
            ),
            (
                "buy".to_string(),
                "etf".to_string(),
                1,
                Decimal::from(28140),
            ),
            (
                "sell".to_string(),
                "equity".to_string(),
                1,
                "16622.40".parse().expect("an amount"),
            ),
        ];
        build(
            day("2026-12-01"),
            (&held, &holders),
            &prices,
            (day("2026-04-01"), day("2026-12-01"), volumes),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The examples are what the server computes for the sample: FIFO sold the 10 of June
    /// 2025 (long-term, held over 12 months) and 2 of February 2026 (short-term).
    #[test]
    fn the_portfolio_example_is_the_sample_valued() {
        let p = PortfolioOut::example();
        let held: Vec<(&str, &str)> = p
            .holdings
            .iter()
            .map(|h| (h.symbol.as_str(), h.quantity.as_str()))
            .collect();
        assert_eq!(held, [("RELIANCE", "3"), ("NIFTYBEES", "100")]);
        // Sell 12 × 1385.20 − 20 = 16602.40; 10/12 of it less 12420 (10 × 1240 + 20).
        assert_eq!(p.realised.long_term, "1415.33");
        // 2/12 of it (2767.07) less 2/5 of 7032.50 (5 × 1402.50 + 20): 2813.
        assert_eq!(p.realised.short_term, "-45.93");
        assert!(p.xirr.is_some());
        let t = TradeOut::example();
        let r = t.realised.expect("the sell's realisation");
        assert_eq!(
            (r.long_term.as_str(), r.short_term.as_str()),
            ("1415.33", "-45.93")
        );
        let report = InvestmentReportOut::example();
        assert_eq!(report.clients_with_holdings, 1);
    }
}
