//! The wire types of the investment endpoints. Amounts and quantities travel as decimal
//! strings (`"2450.50"`), never as JSON numbers.

use chrono::{DateTime, NaiveDate, Utc};
use std::collections::BTreeMap;

use domain::investments::fifo::{Holding, Position, Realisation};
use domain::investments::{AssetClass, FundCategory, HoldingPeriods, Side, Trade};
use domain::values::Isin;
use poem_openapi::{Enum, Object};
use projections::investments::query::TradeRow;
use projections::investments::valuation::{Share, Valuation, ValuedHolding};
use rust_decimal::Decimal;
use uuid::Uuid;

use crate::dto::Str;

fn money(d: Decimal) -> String {
    d.round_dp(2).normalize().to_string()
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
#[oai(rename_all = "snake_case")]
pub enum SideIn {
    Buy,
    Sell,
}

impl From<SideIn> for Side {
    fn from(s: SideIn) -> Self {
        match s {
            SideIn::Buy => Side::Buy,
            SideIn::Sell => Side::Sell,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
#[oai(rename_all = "snake_case")]
pub enum AssetClassIn {
    Equity,
    Etf,
    MutualFund,
    Bond,
}

impl From<AssetClassIn> for AssetClass {
    fn from(a: AssetClassIn) -> Self {
        match a {
            AssetClassIn::Equity => AssetClass::Equity,
            AssetClassIn::Etf => AssetClass::Etf,
            AssetClassIn::MutualFund => AssetClass::MutualFund,
            AssetClassIn::Bond => AssetClass::Bond,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
#[oai(rename_all = "snake_case")]
pub enum FundCategoryIn {
    Equity,
    Hybrid,
    Debt,
}

impl From<FundCategoryIn> for FundCategory {
    fn from(f: FundCategoryIn) -> Self {
        match f {
            FundCategoryIn::Equity => FundCategory::Equity,
            FundCategoryIn::Hybrid => FundCategory::Hybrid,
            FundCategoryIn::Debt => FundCategory::Debt,
        }
    }
}

/// The charges of a trade in INR, each a decimal string (missing ones are zero).
#[derive(Debug, Clone, Default, Object)]
#[oai(deny_unknown_fields)]
pub struct FeesIn {
    pub brokerage: Option<Str>,
    pub stt: Option<Str>,
    pub gst: Option<Str>,
    pub stamp_duty: Option<Str>,
    pub other: Option<Str>,
}

/// A trade's fields, as either body sends them.
#[derive(Debug, Clone)]
pub struct TradeFieldsIn {
    pub side: SideIn,
    pub asset_class: AssetClassIn,
    /// Mutual funds only: `equity`, `hybrid` or `debt` (sets the holding period and the risk).
    pub fund_category: Option<FundCategoryIn>,
    /// With its check digit, e.g. `INE002A01018`.
    pub isin: Str,
    /// The exchange's symbol, e.g. `RELIANCE`.
    pub symbol: Str,
    /// `nse` or `bse`; required for shares and ETFs, absent for mutual funds.
    pub exchange: Option<Str>,
    /// Units, a decimal string: whole for shares, ETFs and bonds; up to 4 decimals for funds.
    pub quantity: Str,
    /// Per unit in INR, a decimal string (up to 4 decimals).
    pub price: Str,
    pub fees: Option<FeesIn>,
    /// Not in the future.
    pub trade_date: NaiveDate,
    /// Default: the next working day (T+1).
    pub settlement_date: Option<NaiveDate>,
    /// The contract note number: unique per client (a repeat of the same trade is
    /// idempotent, another trade under it is 409).
    pub reference: Str,
    pub face_value: Option<Str>,
    pub coupon_rate: Option<Str>,
}

macro_rules! trade_fields {
    ($from:expr) => {{
        let t = $from;
        TradeFieldsIn {
            side: t.side,
            asset_class: t.asset_class,
            fund_category: t.fund_category,
            isin: t.isin,
            symbol: t.symbol,
            exchange: t.exchange,
            quantity: t.quantity,
            price: t.price,
            fees: t.fees,
            trade_date: t.trade_date,
            settlement_date: t.settlement_date,
            reference: t.reference,
            face_value: t.face_value,
            coupon_rate: t.coupon_rate,
        }
    }};
}

/// A trade to record for a client.
#[derive(Debug, Clone, Object)]
#[oai(deny_unknown_fields, example)]
pub struct TradeIn {
    pub client_id: Uuid,
    pub side: SideIn,
    pub asset_class: AssetClassIn,
    /// Mutual funds only: `equity`, `hybrid` or `debt` (sets the holding period and the risk).
    pub fund_category: Option<FundCategoryIn>,
    /// With its check digit, e.g. `INE002A01018`.
    pub isin: Str,
    /// The exchange's symbol, e.g. `RELIANCE`.
    pub symbol: Str,
    /// `nse` or `bse`; required for shares and ETFs, absent for mutual funds.
    pub exchange: Option<Str>,
    /// Units, a decimal string: whole for shares, ETFs and bonds; up to 4 decimals for funds.
    pub quantity: Str,
    /// Per unit in INR, a decimal string (up to 4 decimals).
    pub price: Str,
    pub fees: Option<FeesIn>,
    /// Not in the future.
    pub trade_date: NaiveDate,
    /// Default: the next working day (T+1).
    pub settlement_date: Option<NaiveDate>,
    /// The contract note number: unique per client (a repeat of the same trade is
    /// idempotent, another trade under it is 409).
    pub reference: Str,
    /// Bonds only (and required for them): the face value per unit in INR, a decimal string.
    pub face_value: Option<Str>,
    /// Bonds only (and required for them): the coupon, % of the face value a year, a decimal
    /// string (`0` for a zero-coupon bond).
    pub coupon_rate: Option<Str>,
    /// For a buy above the client's risk profile: why it is taken anyway (the caller
    /// acknowledges the override). Refused when configured so.
    pub override_reason: Option<Str>,
}

impl TradeIn {
    pub fn fields(self) -> (Uuid, TradeFieldsIn, Option<Str>) {
        let (client, reason) = (self.client_id, self.override_reason.clone());
        (client, trade_fields!(self), reason)
    }
}

impl poem_openapi::types::Example for TradeIn {
    fn example() -> Self {
        Self {
            client_id: Uuid::nil(),
            side: SideIn::Buy,
            asset_class: AssetClassIn::Equity,
            fund_category: None,
            isin: Str("INE002A01018".into()),
            symbol: Str("RELIANCE".into()),
            exchange: Some(Str("nse".into())),
            quantity: Str("10".into()),
            price: Str("1380.50".into()),
            fees: Some(FeesIn {
                brokerage: Some(Str("20".into())),
                stt: Some(Str("13.81".into())),
                gst: Some(Str("3.60".into())),
                stamp_duty: Some(Str("2.07".into())),
                other: None,
            }),
            trade_date: NaiveDate::from_ymd_opt(2026, 11, 27).expect("a date"),
            settlement_date: None,
            reference: Str("CN-2026-000123".into()),
            face_value: None,
            coupon_rate: None,
            override_reason: None,
        }
    }
}

/// A correction: the replacement trade (every field, as when recording) and why; the trade
/// corrected is reversed.
#[derive(Debug, Clone, Object)]
#[oai(deny_unknown_fields, example)]
pub struct CorrectionIn {
    pub side: SideIn,
    pub asset_class: AssetClassIn,
    /// Mutual funds only: `equity`, `hybrid` or `debt` (sets the holding period and the risk).
    pub fund_category: Option<FundCategoryIn>,
    /// With its check digit, e.g. `INE002A01018`.
    pub isin: Str,
    /// The exchange's symbol, e.g. `RELIANCE`.
    pub symbol: Str,
    /// `nse` or `bse`; required for shares and ETFs, absent for mutual funds.
    pub exchange: Option<Str>,
    /// Units, a decimal string: whole for shares, ETFs and bonds; up to 4 decimals for funds.
    pub quantity: Str,
    /// Per unit in INR, a decimal string (up to 4 decimals).
    pub price: Str,
    pub fees: Option<FeesIn>,
    /// Not in the future.
    pub trade_date: NaiveDate,
    /// Default: the next working day (T+1).
    pub settlement_date: Option<NaiveDate>,
    /// The contract note number: unique per client (a repeat of the same trade is
    /// idempotent, another trade under it is 409).
    pub reference: Str,
    /// Bonds only (and required for them): the face value per unit in INR, a decimal string.
    pub face_value: Option<Str>,
    /// Bonds only (and required for them): the coupon, % of the face value a year, a decimal
    /// string (`0` for a zero-coupon bond).
    pub coupon_rate: Option<Str>,
    /// Why the trade is corrected (kept in the history).
    pub reason: Str,
    pub override_reason: Option<Str>,
}

impl CorrectionIn {
    pub fn fields(self) -> (TradeFieldsIn, Str, Option<Str>) {
        let (reason, over) = (self.reason.clone(), self.override_reason.clone());
        (trade_fields!(self), reason, over)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
#[oai(rename_all = "snake_case")]
pub enum ExperienceIn {
    None,
    Some,
    Extensive,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
#[oai(rename_all = "snake_case")]
pub enum LossToleranceIn {
    None,
    Low,
    Medium,
    High,
}

/// The client's answers to the risk questionnaire, and their investment profile.
#[derive(Debug, Clone, Object)]
#[oai(deny_unknown_fields, example)]
pub struct RiskQuestionnaireIn {
    /// 18 to 100.
    #[oai(validator(minimum(value = "18"), maximum(value = "100")))]
    pub age: u8,
    pub income_range: crate::kyc::dto::IncomeRangeIn,
    /// How many years the money can stay invested (0 to 50).
    #[oai(validator(maximum(value = "50")))]
    pub horizon_years: u8,
    pub experience: ExperienceIn,
    pub loss_tolerance: LossToleranceIn,
    #[oai(validator(maximum(value = "20")))]
    pub dependants: u8,
    /// The client's goals in their words (at most 10).
    #[oai(default, validator(max_items = 10))]
    pub goals: Vec<Str>,
    #[oai(default, validator(max_items = 4))]
    pub preferred_products: Vec<AssetClassIn>,
}

/// A price recorded by hand.
#[derive(Debug, Clone, Object)]
#[oai(deny_unknown_fields, example)]
pub struct PriceIn {
    pub isin: Str,
    /// Per unit in INR, a decimal string.
    pub price: Str,
    /// The day it is the price of (not in the future).
    pub as_of: NaiveDate,
}

/// A price and where it came from.
#[derive(Debug, Clone, Object)]
#[oai(example)]
pub struct PriceOut {
    pub isin: String,
    pub price: String,
    /// The day it is the price of.
    pub on_date: NaiveDate,
    /// When it was current.
    pub quoted_at: DateTime<Utc>,
    /// `fixture`, `manual`, …
    pub source: String,
    /// Not of the day asked, or (today) older than `CRM_PRICE_STALE_AFTER`.
    pub stale: bool,
}

#[derive(Debug, Clone, Object)]
pub struct FeesOut {
    pub brokerage: String,
    pub stt: String,
    pub gst: String,
    pub stamp_duty: String,
    pub other: String,
    pub total: String,
}

/// What a sell took from one lot.
#[derive(Debug, Clone, Object)]
pub struct ConsumedLotOut {
    /// The buy the lot came from.
    pub trade_id: Uuid,
    pub bought_on: NaiveDate,
    pub quantity: String,
    pub cost: String,
    pub proceeds: String,
    /// `short_term` or `long_term`.
    pub term: String,
}

/// What a sell realised (FIFO).
#[derive(Debug, Clone, Object)]
pub struct RealisationOut {
    /// Value less the sell's fees.
    pub proceeds: String,
    pub cost: String,
    pub short_term: String,
    pub long_term: String,
    pub lots: Vec<ConsumedLotOut>,
}

impl RealisationOut {
    pub fn of(r: &Realisation, equity_like: bool, periods: &HoldingPeriods) -> Self {
        let mut short = Decimal::ZERO;
        let mut long = Decimal::ZERO;
        let lots = r
            .lots
            .iter()
            .map(|l| {
                let is_long = periods.long_term(equity_like, l.bought_on, r.sold_on);
                let gain = l.proceeds - l.cost;
                if is_long {
                    long += gain;
                } else {
                    short += gain;
                }
                ConsumedLotOut {
                    trade_id: l.trade_id,
                    bought_on: l.bought_on,
                    quantity: l.quantity.normalize().to_string(),
                    cost: money(l.cost),
                    proceeds: money(l.proceeds),
                    term: if is_long { "long_term" } else { "short_term" }.into(),
                }
            })
            .collect();
        Self {
            proceeds: money(r.proceeds),
            cost: money(r.cost),
            short_term: money(short),
            long_term: money(long),
            lots,
        }
    }
}

/// A trade as recorded.
#[derive(Debug, Clone, Object)]
#[oai(example)]
pub struct TradeOut {
    pub id: Uuid,
    pub client_id: Uuid,
    pub side: String,
    pub asset_class: String,
    pub fund_category: Option<String>,
    pub isin: String,
    pub symbol: String,
    pub exchange: Option<String>,
    pub quantity: String,
    pub price: String,
    /// Quantity × price.
    pub value: String,
    pub fees: FeesOut,
    pub trade_date: NaiveDate,
    pub settlement_date: NaiveDate,
    pub reference: String,
    /// Bonds: the face value per unit (INR) and the coupon (% of face value a year).
    pub face_value: Option<String>,
    pub coupon_rate: Option<String>,
    /// `in_force` or `reversed` (by a correction).
    pub status: String,
    /// The trade this one replaced.
    pub corrects: Option<Uuid>,
    /// The trade that replaced this one.
    pub corrected_by: Option<Uuid>,
    pub recorded_by: Uuid,
    pub recorded_at: DateTime<Utc>,
    /// For a sell in force: what it realised and the lots it consumed.
    pub realised: Option<RealisationOut>,
}

impl TradeOut {
    pub fn of(r: &TradeRow, periods: &HoldingPeriods) -> Self {
        let t: &Trade = &r.trade;
        Self {
            id: r.trade_id,
            client_id: r.client_id,
            side: t.side.as_str().into(),
            asset_class: t.asset_class.as_str().into(),
            fund_category: t.fund_category.map(|f| f.as_str().into()),
            isin: t.isin.as_str().into(),
            symbol: t.symbol.as_str().into(),
            exchange: t.exchange.map(|e| e.as_str().into()),
            quantity: t.quantity.normalize().to_string(),
            price: t.price.normalize().to_string(),
            value: money(t.value()),
            fees: FeesOut {
                brokerage: money(t.fees.brokerage),
                stt: money(t.fees.stt),
                gst: money(t.fees.gst),
                stamp_duty: money(t.fees.stamp_duty),
                other: money(t.fees.other),
                total: money(t.fees.total()),
            },
            trade_date: t.trade_date,
            settlement_date: t.settlement_date,
            reference: t.reference.as_str().into(),
            face_value: t
                .bond
                .as_ref()
                .map(|b| b.face_value.normalize().to_string()),
            coupon_rate: t
                .bond
                .as_ref()
                .map(|b| b.coupon_rate.normalize().to_string()),
            status: r.status.clone(),
            corrects: r.corrects,
            corrected_by: r.corrected_by,
            recorded_by: r.recorded_by,
            recorded_at: r.recorded_at,
            realised: r
                .realisation
                .as_ref()
                .map(|x| RealisationOut::of(x, t.equity_like(), periods)),
        }
    }
}

/// A page of a client's trades, the latest trade date first.
#[derive(Debug, Clone, Object)]
#[oai(example)]
pub struct TradePage {
    pub items: Vec<TradeOut>,
    /// Pass as `cursor` for the next page; absent on the last one.
    pub next_cursor: Option<String>,
    pub total: i64,
}

/// An open lot (what is left of one buy).
#[derive(Debug, Clone, Object)]
pub struct OpenLotOut {
    pub trade_id: Uuid,
    pub bought_on: NaiveDate,
    pub settles_on: NaiveDate,
    pub quantity: String,
    pub cost: String,
}

/// One instrument of the portfolio.
#[derive(Debug, Clone, Object)]
#[oai(example)]
pub struct HoldingOut {
    pub isin: String,
    pub symbol: String,
    pub asset_class: String,
    pub sector: String,
    /// `active`, `pending` (nothing of it settled yet) or `sold`.
    pub status: String,
    pub quantity: String,
    /// The FIFO cost of what is held (fees included), and per unit.
    pub cost: String,
    pub average_cost: Option<String>,
    pub price: Option<String>,
    pub price_as_of: Option<DateTime<Utc>>,
    pub price_source: Option<String>,
    /// The price is not of the day valued (or, today, older than the staleness limit).
    pub stale: bool,
    pub market_value: Option<String>,
    pub unrealised_pnl: Option<String>,
    pub unrealised_pnl_pct: Option<String>,
    /// Against the previous close, when the price is of the day valued.
    pub day_change: Option<String>,
    /// Bonds: the face value per unit (INR) and the coupon (% of face value a year).
    pub face_value: Option<String>,
    pub coupon_rate: Option<String>,
    /// The open lots, oldest first (with `lots=true`).
    #[oai(skip_serializing_if_is_none)]
    pub lots: Option<Vec<OpenLotOut>>,
}

impl HoldingOut {
    fn of(v: &ValuedHolding, lots: Option<&BTreeMap<Isin, Holding>>) -> Self {
        let h: &Position = &v.position;
        Self {
            isin: h.isin.as_str().into(),
            symbol: h.symbol.clone(),
            asset_class: h.asset_class.as_str().into(),
            sector: v.sector.clone(),
            status: v.status.as_str().into(),
            quantity: v.quantity.normalize().to_string(),
            cost: money(v.cost),
            average_cost: v.average_cost.map(|a| a.normalize().to_string()),
            price: v.price.as_ref().map(|p| p.price.normalize().to_string()),
            price_as_of: v.price.as_ref().map(|p| p.quoted_at),
            price_source: v.price.as_ref().map(|p| p.source.clone()),
            stale: v.price.as_ref().is_none_or(|p| p.stale),
            market_value: v.market_value.map(money),
            unrealised_pnl: v.unrealised_pnl.map(money),
            unrealised_pnl_pct: v.unrealised_pnl_pct.map(|p| p.to_string()),
            day_change: v.day_change.map(money),
            face_value: h
                .bond
                .as_ref()
                .map(|b| b.face_value.normalize().to_string()),
            coupon_rate: h
                .bond
                .as_ref()
                .map(|b| b.coupon_rate.normalize().to_string()),
            lots: lots.map(|all| {
                all.get(&h.isin)
                    .into_iter()
                    .flat_map(|held| held.lots.iter())
                    .map(|l| OpenLotOut {
                        trade_id: l.trade_id,
                        bought_on: l.bought_on,
                        settles_on: l.settles_on,
                        quantity: l.quantity.normalize().to_string(),
                        cost: money(l.cost),
                    })
                    .collect()
            }),
        }
    }
}

#[derive(Debug, Clone, Object)]
pub struct ShareOut {
    pub name: String,
    pub value: String,
    pub pct: String,
}

fn shares(s: &[Share]) -> Vec<ShareOut> {
    s.iter()
        .map(|s| ShareOut {
            name: s.name.clone(),
            value: money(s.value),
            pct: s.pct.to_string(),
        })
        .collect()
}

#[derive(Debug, Clone, Object)]
pub struct AllocationOut {
    pub by_asset_class: Vec<ShareOut>,
    pub by_sector: Vec<ShareOut>,
}

#[derive(Debug, Clone, Object)]
pub struct TotalsOut {
    /// The FIFO cost of what is held.
    pub invested: String,
    /// What is held at its prices (instruments without a price at cost: see `unpriced`).
    pub market_value: String,
    pub unrealised_pnl: String,
    pub unrealised_pnl_pct: Option<String>,
    pub day_change: String,
}

/// Gains realised by sells dated within the period, by holding period.
#[derive(Debug, Clone, Object)]
pub struct RealisedOut {
    pub from: Option<NaiveDate>,
    pub to: Option<NaiveDate>,
    pub short_term: String,
    pub long_term: String,
    pub total: String,
}

/// The client's risk profile (the questionnaire's score and what it gives).
#[derive(Debug, Clone, Object)]
pub struct RiskProfileOut {
    /// `conservative`, `moderate` or `aggressive`.
    pub profile: String,
    pub score: u32,
    pub profiled_at: DateTime<Utc>,
}

/// A client's portfolio valued on a day.
#[derive(Debug, Clone, Object)]
#[oai(example)]
pub struct PortfolioOut {
    pub client_id: Uuid,
    /// The day valued.
    pub as_of: NaiveDate,
    pub holdings: Vec<HoldingOut>,
    pub totals: TotalsOut,
    pub realised: RealisedOut,
    pub allocation: AllocationOut,
    /// Annualised return since inception over the client's cash flows and what is held now
    /// (spreadsheet XIRR, actual/365); `null` when it has no solution.
    pub xirr: Option<f64>,
    /// Instruments held without any price (valued at cost).
    pub unpriced: Vec<String>,
    pub trades_in_force: u64,
    pub risk_profile: Option<RiskProfileOut>,
}

impl PortfolioOut {
    pub fn of(
        client_id: Uuid,
        v: &Valuation,
        trades_in_force: u64,
        risk_profile: Option<RiskProfileOut>,
        lots: Option<&BTreeMap<Isin, Holding>>,
    ) -> Self {
        Self {
            client_id,
            as_of: v.on,
            holdings: v.holdings.iter().map(|h| HoldingOut::of(h, lots)).collect(),
            totals: TotalsOut {
                invested: money(v.invested),
                market_value: money(v.market_value),
                unrealised_pnl: money(v.unrealised_pnl),
                unrealised_pnl_pct: v.unrealised_pnl_pct.map(|p| p.to_string()),
                day_change: money(v.day_change),
            },
            realised: RealisedOut {
                from: v.realised.from,
                to: v.realised.to,
                short_term: money(v.realised.short_term),
                long_term: money(v.realised.long_term),
                total: money(v.realised.short_term + v.realised.long_term),
            },
            allocation: AllocationOut {
                by_asset_class: shares(&v.by_asset_class),
                by_sector: shares(&v.by_sector),
            },
            xirr: v.xirr,
            unpriced: v.unpriced.iter().map(|i| i.as_str().to_string()).collect(),
            trades_in_force,
            risk_profile,
        }
    }
}
