//! What a trade is, and the rules trades follow: instruments, fees, the holding periods that
//! make a gain long-term, and the risk levels of products.

use chrono::{Months, NaiveDate};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::values::{Isin, Text};

snake_enum!(
    /// Which way a trade goes.
    Side { Buy => "buy", Sell => "sell" }
);

snake_enum!(
    /// What kind of instrument a trade is in.
    AssetClass { Equity => "equity", Etf => "etf", MutualFund => "mutual_fund", Bond => "bond" }
);

snake_enum!(
    /// Where a listed instrument trades.
    Exchange { Nse => "nse", Bse => "bse" }
);

snake_enum!(
    /// What a mutual fund holds, for its holding period and its risk.
    FundCategory { Equity => "equity", Hybrid => "hybrid", Debt => "debt" }
);

snake_enum!(
    /// How risky a product is, and how much risk a client's profile takes.
    RiskLevel { Low => "low", Medium => "medium", High => "high" }
);

/// The charges of a trade (INR): a buy's are part of its cost, a sell's come off its proceeds.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Fees {
    #[serde(with = "rust_decimal::serde::str")]
    pub brokerage: Decimal,
    #[serde(with = "rust_decimal::serde::str")]
    pub stt: Decimal,
    #[serde(with = "rust_decimal::serde::str")]
    pub gst: Decimal,
    #[serde(with = "rust_decimal::serde::str")]
    pub stamp_duty: Decimal,
    #[serde(with = "rust_decimal::serde::str")]
    pub other: Decimal,
}

impl Fees {
    pub fn total(&self) -> Decimal {
        self.brokerage + self.stt + self.gst + self.stamp_duty + self.other
    }
}

/// What a bond pays: its face value per unit (INR) and its coupon, a percentage of the face
/// value a year (0 for a zero-coupon bond).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BondTerms {
    #[serde(with = "rust_decimal::serde::str")]
    pub face_value: Decimal,
    #[serde(with = "rust_decimal::serde::str")]
    pub coupon_rate: Decimal,
}

/// One trade as recorded (in INR).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Trade {
    pub side: Side,
    pub asset_class: AssetClass,
    /// For mutual funds: what the fund holds.
    pub fund_category: Option<FundCategory>,
    pub isin: Isin,
    pub symbol: Text,
    /// For listed instruments (equity, ETF, bonds traded on an exchange).
    pub exchange: Option<Exchange>,
    #[serde(with = "rust_decimal::serde::str")]
    pub quantity: Decimal,
    #[serde(with = "rust_decimal::serde::str")]
    pub price: Decimal,
    pub fees: Fees,
    pub trade_date: NaiveDate,
    pub settlement_date: NaiveDate,
    /// The broker's reference (contract note number): one trade per reference per client.
    pub reference: Text,
    /// Bonds only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bond: Option<BondTerms>,
}

impl Trade {
    /// Quantity × price.
    pub fn value(&self) -> Decimal {
        self.quantity * self.price
    }

    /// What the trade moves in cash for the client: a buy pays value and fees (negative), a
    /// sell receives value less fees.
    pub fn cash_flow(&self) -> Decimal {
        match self.side {
            Side::Buy => -(self.value() + self.fees.total()),
            Side::Sell => self.value() - self.fees.total(),
        }
    }

    /// The product's risk level: equity and equity funds high, ETFs, hybrid funds medium,
    /// bonds and debt funds low.
    pub fn risk(&self) -> RiskLevel {
        match (self.asset_class, self.fund_category) {
            (AssetClass::Equity, _) => RiskLevel::High,
            (AssetClass::MutualFund, Some(FundCategory::Equity)) => RiskLevel::High,
            (AssetClass::Etf, _) | (AssetClass::MutualFund, Some(FundCategory::Hybrid)) => {
                RiskLevel::Medium
            }
            _ => RiskLevel::Low,
        }
    }

    /// Whether gains on it are taxed as equity's (listed shares, ETFs, equity funds).
    pub fn equity_like(&self) -> bool {
        matches!(self.asset_class, AssetClass::Equity | AssetClass::Etf)
            || self.fund_category == Some(FundCategory::Equity)
    }
}

/// How long a holding is kept before its gain is long-term, in months: held **more than**
/// this many months (bought 2025-01-10: sold 2026-01-10 is short-term, 2026-01-11 long-term).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct HoldingPeriods {
    /// Listed equity, ETFs and equity funds.
    pub equity_months: u32,
    /// Debt and hybrid funds, bonds.
    pub other_months: u32,
}

impl Default for HoldingPeriods {
    fn default() -> Self {
        Self {
            equity_months: 12,
            other_months: 24,
        }
    }
}

impl HoldingPeriods {
    /// Whether a lot of `trade`'s kind bought on `bought` and sold on `sold` was held long-term.
    pub fn long_term(&self, equity_like: bool, bought: NaiveDate, sold: NaiveDate) -> bool {
        let months = if equity_like {
            self.equity_months
        } else {
            self.other_months
        };
        match bought.checked_add_months(Months::new(months)) {
            Some(anniversary) => sold > anniversary,
            None => false,
        }
    }
}

/// What happens to a buy above the client's risk profile.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Suitability {
    /// Taken with an acknowledged override (who, why); refused without one.
    #[default]
    OverrideAllowed,
    /// Refused, override or not.
    Refuse,
}

/// The rules of the investments side (configurable).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct InvestmentRules {
    pub holding: HoldingPeriods,
    pub suitability: Suitability,
}
