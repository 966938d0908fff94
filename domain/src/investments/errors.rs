//! Why a portfolio command is refused.

use chrono::NaiveDate;
use rust_decimal::Decimal;

use super::risk::RiskProfileLevel;
use super::rules::RiskLevel;
use crate::values::Isin;

/// Why the portfolio refused a command. Each maps to one HTTP status at the edge.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PortfolioError {
    #[error("the client may not trade: {0}")]
    TradingBlocked(&'static str),
    #[error("the reference {0} is already recorded for this client with another trade")]
    ReferenceTaken(String),
    #[error("a sell of {sold} {isin} on {on} is more than the {held} held then")]
    Oversold {
        isin: Isin,
        on: NaiveDate,
        held: Decimal,
        sold: Decimal,
    },
    #[error("the client has no trade {0} in force")]
    UnknownTrade(uuid::Uuid),
    #[error("the product's risk is {product}, above the client's profile ({}): {hint}", profile.map(|p| p.as_str()).unwrap_or("not profiled"))]
    Unsuitable {
        product: RiskLevel,
        profile: Option<RiskProfileLevel>,
        hint: &'static str,
    },
    /// A value the portfolio cannot take (the field, and why).
    #[error("{field}: {message}")]
    Invalid {
        field: &'static str,
        message: &'static str,
    },
}
