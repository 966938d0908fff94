//! A portfolio valued on a day: each holding at its price (marked stale when it is not of
//! that day), unrealised and realised gains, allocation, and XIRR since inception.

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, Utc};
use domain::investments::fifo::{Position, Realisation};
use domain::investments::{xirr, AssetClass, FundCategory, HoldingPeriods};
use domain::values::Isin;
use rust_decimal::Decimal;

/// The price a holding is valued at.
#[derive(Debug, Clone, PartialEq)]
pub struct Price {
    pub price: Decimal,
    pub on_date: NaiveDate,
    pub quoted_at: DateTime<Utc>,
    pub source: String,
    pub stale: bool,
    /// The close of the day before (for the day's change).
    pub previous_close: Option<Decimal>,
}

/// Where a holding stands: `active`, `pending` (nothing of it settled yet) or `sold`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PositionStatus {
    Active,
    Pending,
    Sold,
}

impl PositionStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            PositionStatus::Active => "active",
            PositionStatus::Pending => "pending",
            PositionStatus::Sold => "sold",
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct ValuedHolding {
    pub position: Position,
    pub sector: String,
    pub status: PositionStatus,
    pub quantity: Decimal,
    pub cost: Decimal,
    /// The FIFO cost of what is held, per unit.
    pub average_cost: Option<Decimal>,
    pub price: Option<Price>,
    pub market_value: Option<Decimal>,
    pub unrealised_pnl: Option<Decimal>,
    pub unrealised_pnl_pct: Option<Decimal>,
    pub day_change: Option<Decimal>,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct Realised {
    pub from: Option<NaiveDate>,
    pub to: Option<NaiveDate>,
    pub short_term: Decimal,
    pub long_term: Decimal,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Share {
    pub name: String,
    pub value: Decimal,
    pub pct: Decimal,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Valuation {
    pub on: NaiveDate,
    pub holdings: Vec<ValuedHolding>,
    pub invested: Decimal,
    /// Held instruments valued at their price (those without one at cost).
    pub market_value: Decimal,
    pub unrealised_pnl: Decimal,
    pub unrealised_pnl_pct: Option<Decimal>,
    pub day_change: Decimal,
    pub realised: Realised,
    pub by_asset_class: Vec<Share>,
    pub by_sector: Vec<Share>,
    pub xirr: Option<f64>,
    /// Instruments held without any price (valued at cost).
    pub unpriced: Vec<Isin>,
}

/// Whether gains on an instrument are taxed as equity's.
pub fn equity_like(asset_class: AssetClass, fund: Option<FundCategory>) -> bool {
    matches!(asset_class, AssetClass::Equity | AssetClass::Etf)
        || fund == Some(FundCategory::Equity)
}

fn pct(part: Decimal, whole: Decimal) -> Option<Decimal> {
    (!whole.is_zero()).then(|| (part * Decimal::from(100) / whole).round_dp(2))
}

fn shares(values: BTreeMap<String, Decimal>, total: Decimal) -> Vec<Share> {
    let mut out: Vec<Share> = values
        .into_iter()
        .map(|(name, value)| Share {
            pct: pct(value, total).unwrap_or_default(),
            name,
            value: value.round_dp(2),
        })
        .collect();
    out.sort_by(|a, b| b.value.cmp(&a.value).then(a.name.cmp(&b.name)));
    out
}

/// Where the realised gains of the period come from.
pub enum RealisedFrom<'a> {
    /// Sells with the lots they consumed (each equity-like or not), split here by `periods`.
    Sells(Vec<(&'a Realisation, bool)>),
    /// Sums already split by the periods configured.
    Sums {
        short_term: Decimal,
        long_term: Decimal,
    },
}

/// What a portfolio is worth on `on`.
pub struct Inputs<'a> {
    pub on: NaiveDate,
    pub holdings: Vec<Position>,
    pub prices: &'a BTreeMap<Isin, Price>,
    pub sectors: &'a BTreeMap<Isin, String>,
    /// The net cash flow of each trade date up to `on`.
    pub flows: Vec<(NaiveDate, Decimal)>,
    pub realised: RealisedFrom<'a>,
    pub period: (Option<NaiveDate>, Option<NaiveDate>),
    pub periods: HoldingPeriods,
}

pub fn value(i: Inputs<'_>) -> Valuation {
    let mut holdings = Vec::new();
    let (mut invested, mut market, mut day_change) = (Decimal::ZERO, Decimal::ZERO, Decimal::ZERO);
    let mut by_class: BTreeMap<String, Decimal> = BTreeMap::new();
    let mut by_sector: BTreeMap<String, Decimal> = BTreeMap::new();
    let mut unpriced = Vec::new();
    for h in i.holdings {
        let quantity = h.quantity;
        let cost = h.cost;
        let status = if quantity.is_zero() {
            PositionStatus::Sold
        } else if h.first_settles_on.is_some_and(|first| first > i.on) {
            PositionStatus::Pending
        } else {
            PositionStatus::Active
        };
        let sector = i
            .sectors
            .get(&h.isin)
            .cloned()
            .unwrap_or_else(|| "unclassified".into());
        let price = i.prices.get(&h.isin).cloned();
        let market_value = price.as_ref().map(|p| (p.price * quantity).round_dp(2));
        let unrealised = market_value.map(|m| m - cost);
        let change = price.as_ref().and_then(|p| {
            let prev = p.previous_close?;
            (p.on_date == i.on).then(|| ((p.price - prev) * quantity).round_dp(2))
        });
        if !quantity.is_zero() {
            invested += cost;
            let worth = market_value.unwrap_or_else(|| {
                unpriced.push(h.isin.clone());
                cost
            });
            market += worth;
            day_change += change.unwrap_or_default();
            *by_class
                .entry(h.asset_class.as_str().to_string())
                .or_default() += worth;
            *by_sector.entry(sector.clone()).or_default() += worth;
        }
        holdings.push(ValuedHolding {
            sector,
            status,
            quantity,
            cost: cost.round_dp(2),
            average_cost: (!quantity.is_zero()).then(|| (cost / quantity).round_dp(4)),
            market_value,
            unrealised_pnl: unrealised.map(|u| u.round_dp(2)),
            unrealised_pnl_pct: unrealised.and_then(|u| pct(u, cost)),
            day_change: change,
            price,
            position: h,
        });
    }
    let mut realised = Realised {
        from: i.period.0,
        to: i.period.1,
        ..Realised::default()
    };
    match &i.realised {
        RealisedFrom::Sums {
            short_term,
            long_term,
        } => {
            realised.short_term = *short_term;
            realised.long_term = *long_term;
        }
        RealisedFrom::Sells(sells) => {
            for (r, equity) in sells {
                let inside = i.period.0.is_none_or(|f| r.sold_on >= f)
                    && i.period.1.is_none_or(|t| r.sold_on <= t);
                if !inside {
                    continue;
                }
                for lot in &r.lots {
                    let gain = lot.proceeds - lot.cost;
                    if i.periods.long_term(*equity, lot.bought_on, r.sold_on) {
                        realised.long_term += gain;
                    } else {
                        realised.short_term += gain;
                    }
                }
            }
        }
    }
    realised.short_term = realised.short_term.round_dp(2);
    realised.long_term = realised.long_term.round_dp(2);
    let mut flows = i.flows;
    if !market.is_zero() {
        flows.push((i.on, market));
    }
    let unrealised_pnl = market - invested;
    Valuation {
        on: i.on,
        holdings,
        invested: invested.round_dp(2),
        market_value: market.round_dp(2),
        unrealised_pnl: unrealised_pnl.round_dp(2),
        unrealised_pnl_pct: pct(unrealised_pnl, invested),
        day_change: day_change.round_dp(2),
        realised,
        by_asset_class: shares(by_class, market),
        by_sector: shares(by_sector, market),
        // (+ 0.0: a rate that rounds to nothing is 0, not -0.)
        xirr: xirr::xirr(&flows).map(|r| (r * 1e6).round() / 1e6 + 0.0),
        unpriced,
    }
}
