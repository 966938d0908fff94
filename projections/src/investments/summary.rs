//! A client's portfolio as the read model keeps it: the open lots of each instrument, the net
//! cash flow of each day, and the risk profile.

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, Utc};
use domain::investments::fifo::{Holding, Realisation};
use domain::investments::{HoldingPeriods, Ledger, RiskProfileLevel, Side, StoredAnswers, Trade};
use domain::values::Isin;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// Where the personal data is in a stored [`PortfolioSummary`] (sealed with the client's key).
pub const PERSONAL: &[&str] = &[
    "/profile/answers/age",
    "/profile/answers/income_range",
    "/profile/answers/horizon_years",
    "/profile/answers/experience",
    "/profile/answers/loss_tolerance",
    "/profile/answers/dependants",
    "/profile/answers/goals/*",
    "/profile/answers/preferred_products/*",
];

/// The risk profile the questionnaire gave.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProfileView {
    pub level: RiskProfileLevel,
    pub score: u32,
    pub answers: StoredAnswers,
    pub profiled_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PortfolioSummary {
    pub client_id: Uuid,
    /// What is held: each instrument's open lots, oldest first.
    pub holdings: BTreeMap<Isin, Holding>,
    /// The net cash flow of each trade date (buys negative, sells positive, fees in).
    pub flows: BTreeMap<NaiveDate, Decimal>,
    /// The latest trade date, and whether a sell was recorded on it (a buy of that day
    /// recorded after it would count before it: the lots are recomputed then).
    pub last_date: Option<NaiveDate>,
    pub sold_on_last_date: bool,
    /// Trades in force.
    pub trades: u64,
    pub profile: Option<ProfileView>,
    pub updated_at: DateTime<Utc>,
    pub version: i64,
    pub position: i64,
}

impl PortfolioSummary {
    pub fn new(client_id: Uuid) -> Self {
        Self {
            client_id,
            holdings: BTreeMap::new(),
            flows: BTreeMap::new(),
            last_date: None,
            sold_on_last_date: false,
            trades: 0,
            profile: None,
            updated_at: DateTime::<Utc>::MIN_UTC,
            version: 0,
            position: 0,
        }
    }

    /// The FIFO cost of everything held.
    pub fn invested(&self) -> Decimal {
        self.holdings.values().map(Holding::cost).sum()
    }

    /// Whether `trade` comes after every trade in (so that it can be added in place).
    pub fn in_order(&self, trade: &Trade) -> bool {
        match self.last_date {
            None => true,
            Some(last) if trade.trade_date > last => true,
            Some(last) if trade.trade_date == last => {
                trade.side == Side::Sell || !self.sold_on_last_date
            }
            Some(_) => false,
        }
    }

    /// Forgets the lots and flows (before they are computed again).
    pub fn reset(&mut self) {
        self.holdings.clear();
        self.flows.clear();
        self.last_date = None;
        self.sold_on_last_date = false;
    }

    /// Adds a trade after those in; a sell answers what it realised. The terms (short, long)
    /// are decided when read, by the holding periods configured then.
    pub fn add(&mut self, id: Uuid, trade: &Trade) -> Option<Realisation> {
        let mut ledger = Ledger {
            holdings: std::mem::take(&mut self.holdings),
            realisations: Vec::new(),
        };
        let added = ledger.add(id, trade, &HoldingPeriods::default());
        self.holdings = ledger.holdings;
        if let Err(oversold) = added {
            // The aggregate refuses oversells; a log written otherwise is passed over here.
            tracing::warn!(isin = %oversold.isin, on = %oversold.on, "a sell of more than was held is passed over");
            return None;
        }
        *self.flows.entry(trade.trade_date).or_default() += trade.cash_flow();
        if self.last_date != Some(trade.trade_date) {
            self.sold_on_last_date = false;
        }
        self.last_date = self.last_date.max(Some(trade.trade_date));
        if trade.side == Side::Sell && self.last_date == Some(trade.trade_date) {
            self.sold_on_last_date = true;
        }
        ledger.realisations.pop()
    }
}
