//! Lots, first in first out (the Indian capital-gains rule): each buy opens a lot whose cost
//! includes its fees; each sell consumes the oldest lots first, its fees coming off the
//! proceeds, and its gain is split short-term / long-term by how long each lot was held.
//!
//! Everything here is computed from the active trades, in trade-date order, so that a
//! correction of an old trade recomputes every sell after it.

use std::collections::{BTreeMap, VecDeque};

use chrono::NaiveDate;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::rules::{AssetClass, BondTerms, FundCategory, HoldingPeriods, Side, Trade};
use crate::values::Isin;

/// What is left of one buy.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Lot {
    pub trade_id: Uuid,
    pub bought_on: NaiveDate,
    pub settles_on: NaiveDate,
    #[serde(with = "rust_decimal::serde::str")]
    pub quantity: Decimal,
    /// The cost of what is left (its share of the buy's value and fees).
    #[serde(with = "rust_decimal::serde::str")]
    pub cost: Decimal,
}

/// What one sell took from one lot.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Consumed {
    pub trade_id: Uuid,
    pub bought_on: NaiveDate,
    #[serde(with = "rust_decimal::serde::str")]
    pub quantity: Decimal,
    #[serde(with = "rust_decimal::serde::str")]
    pub cost: Decimal,
    #[serde(with = "rust_decimal::serde::str")]
    pub proceeds: Decimal,
    pub long_term: bool,
}

/// A sell's realised gain, split by holding period, with the lots it consumed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Realisation {
    pub trade_id: Uuid,
    pub isin: Isin,
    pub sold_on: NaiveDate,
    #[serde(with = "rust_decimal::serde::str")]
    pub quantity: Decimal,
    /// Value less the sell's fees.
    #[serde(with = "rust_decimal::serde::str")]
    pub proceeds: Decimal,
    #[serde(with = "rust_decimal::serde::str")]
    pub cost: Decimal,
    #[serde(with = "rust_decimal::serde::str")]
    pub short_term: Decimal,
    #[serde(with = "rust_decimal::serde::str")]
    pub long_term: Decimal,
    pub lots: Vec<Consumed>,
}

/// One instrument held: what it is and its open lots, oldest first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Holding {
    pub isin: Isin,
    pub symbol: String,
    pub asset_class: AssetClass,
    pub fund_category: Option<FundCategory>,
    /// Bonds: their terms (of the first buy).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bond: Option<BondTerms>,
    pub lots: VecDeque<Lot>,
}

impl Holding {
    pub fn quantity(&self) -> Decimal {
        self.lots.iter().map(|l| l.quantity).sum()
    }

    /// The FIFO cost of what is held.
    pub fn cost(&self) -> Decimal {
        self.lots.iter().map(|l| l.cost).sum()
    }
}

/// One instrument held, in totals: what a summary shows without the lots.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Position {
    pub isin: Isin,
    pub symbol: String,
    pub asset_class: AssetClass,
    pub fund_category: Option<FundCategory>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bond: Option<BondTerms>,
    #[serde(with = "rust_decimal::serde::str")]
    pub quantity: Decimal,
    /// The FIFO cost of what is held.
    #[serde(with = "rust_decimal::serde::str")]
    pub cost: Decimal,
    /// The earliest settlement of an open lot (none when nothing is held).
    pub first_settles_on: Option<NaiveDate>,
}

impl Holding {
    /// The holding's totals.
    pub fn position(&self) -> Position {
        Position {
            isin: self.isin.clone(),
            symbol: self.symbol.clone(),
            asset_class: self.asset_class,
            fund_category: self.fund_category,
            bond: self.bond.clone(),
            quantity: self.quantity(),
            cost: self.cost(),
            first_settles_on: self.lots.iter().map(|l| l.settles_on).min(),
        }
    }
}

/// A sell of more than was held on its date.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Oversold {
    pub isin: Isin,
    pub on: NaiveDate,
    pub held: Decimal,
    pub sold: Decimal,
}

/// The holdings and realised gains that the trades leave.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Ledger {
    pub holdings: BTreeMap<Isin, Holding>,
    pub realisations: Vec<Realisation>,
}

/// The order trades count in: by trade date, buys before sells on one day, then as recorded.
pub fn ordered<'a>(
    trades: impl IntoIterator<Item = (u64, Uuid, &'a Trade)>,
) -> Vec<(Uuid, &'a Trade)> {
    let mut all: Vec<(u64, Uuid, &Trade)> = trades.into_iter().collect();
    all.sort_by_key(|(seq, _, t)| (t.trade_date, t.side == Side::Sell, *seq));
    all.into_iter().map(|(_, id, t)| (id, t)).collect()
}

impl Ledger {
    /// Folds trades (in [`ordered`] order) into lots and realisations.
    pub fn of<'a>(
        trades: impl IntoIterator<Item = (Uuid, &'a Trade)>,
        periods: &HoldingPeriods,
    ) -> Result<Self, Oversold> {
        let mut ledger = Ledger::default();
        for (id, t) in trades {
            ledger.add(id, t, periods)?;
        }
        Ok(ledger)
    }

    /// Adds one trade after the ones already in.
    pub fn add(&mut self, id: Uuid, t: &Trade, periods: &HoldingPeriods) -> Result<(), Oversold> {
        match t.side {
            Side::Buy => {
                let holding = self
                    .holdings
                    .entry(t.isin.clone())
                    .or_insert_with(|| Holding {
                        isin: t.isin.clone(),
                        symbol: t.symbol.as_str().to_string(),
                        asset_class: t.asset_class,
                        fund_category: t.fund_category,
                        bond: t.bond.clone(),
                        lots: VecDeque::new(),
                    });
                holding.lots.push_back(Lot {
                    trade_id: id,
                    bought_on: t.trade_date,
                    settles_on: t.settlement_date,
                    quantity: t.quantity,
                    cost: t.value() + t.fees.total(),
                });
                Ok(())
            }
            Side::Sell => {
                let held = self
                    .holdings
                    .get(&t.isin)
                    .map(Holding::quantity)
                    .unwrap_or_default();
                if held < t.quantity {
                    return Err(Oversold {
                        isin: t.isin.clone(),
                        on: t.trade_date,
                        held,
                        sold: t.quantity,
                    });
                }
                let holding = self.holdings.get_mut(&t.isin).expect("held above");
                let proceeds = t.value() - t.fees.total();
                let equity_like = t.equity_like();
                let mut left = t.quantity;
                let mut consumed = Vec::new();
                while left > Decimal::ZERO {
                    let lot = holding.lots.front_mut().expect("enough held");
                    let take = left.min(lot.quantity);
                    let cost = if take == lot.quantity {
                        lot.cost
                    } else {
                        lot.cost * take / lot.quantity
                    };
                    consumed.push(Consumed {
                        trade_id: lot.trade_id,
                        bought_on: lot.bought_on,
                        quantity: take,
                        cost,
                        proceeds: proceeds * take / t.quantity,
                        long_term: periods.long_term(equity_like, lot.bought_on, t.trade_date),
                    });
                    lot.quantity -= take;
                    lot.cost -= cost;
                    left -= take;
                    if lot.quantity.is_zero() {
                        holding.lots.pop_front();
                    }
                }
                let gain = |long: bool| -> Decimal {
                    consumed
                        .iter()
                        .filter(|c| c.long_term == long)
                        .map(|c| c.proceeds - c.cost)
                        .sum()
                };
                self.realisations.push(Realisation {
                    trade_id: id,
                    isin: t.isin.clone(),
                    sold_on: t.trade_date,
                    quantity: t.quantity,
                    proceeds,
                    cost: consumed.iter().map(|c| c.cost).sum(),
                    short_term: gain(false),
                    long_term: gain(true),
                    lots: consumed,
                });
                Ok(())
            }
        }
    }
}
