use cqrs_es::DomainEvent;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::risk::{RiskAnswers, RiskProfileLevel};
use super::rules::{RiskLevel, Trade};
use crate::values::Text;

/// A buy above the client's risk profile, taken on an acknowledged override.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SuitabilityOverride {
    pub product_risk: RiskLevel,
    /// The client's profile then (`None`: not profiled).
    pub profile: Option<RiskProfileLevel>,
    pub reason: Text,
    pub acknowledged_by: Uuid,
}

/// The questionnaire's answers as stored: every answer is sealed text, so that all of it
/// reads as erased once the client's key is destroyed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StoredAnswers {
    pub age: String,
    pub income_range: String,
    pub horizon_years: String,
    pub experience: String,
    pub loss_tolerance: String,
    pub dependants: String,
    pub goals: Vec<String>,
    pub preferred_products: Vec<String>,
}

impl From<&RiskAnswers> for StoredAnswers {
    fn from(a: &RiskAnswers) -> Self {
        Self {
            age: a.age.to_string(),
            income_range: a.income_range.as_str().into(),
            horizon_years: a.horizon_years.to_string(),
            experience: a.experience.as_str().into(),
            loss_tolerance: a.loss_tolerance.as_str().into(),
            dependants: a.dependants.to_string(),
            goals: a.goals.iter().map(|g| g.as_str().to_string()).collect(),
            preferred_products: a
                .preferred_products
                .iter()
                .map(|p| p.as_str().to_string())
                .collect(),
        }
    }
}

/// Everything that can happen to a client's portfolio. Every event is at version 1.0.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum PortfolioEvent {
    /// A trade entered the ledger (`corrects`: the trade it replaces).
    TradeRecorded {
        trade_id: Uuid,
        client_id: Uuid,
        trade: Trade,
        recorded_by: Uuid,
        corrects: Option<Uuid>,
        suitability_override: Option<SuitabilityOverride>,
    },
    /// A trade was reversed (it no longer counts); its replacement, if any, follows.
    TradeReversed {
        trade_id: Uuid,
        reason: Text,
        reversed_by: Uuid,
    },
    /// The client answered the risk questionnaire.
    RiskProfiled {
        client_id: Uuid,
        answers: StoredAnswers,
        score: u32,
        profile: RiskProfileLevel,
        profiled_by: Uuid,
    },
}

impl DomainEvent for PortfolioEvent {
    fn event_type(&self) -> String {
        match self {
            Self::TradeRecorded { .. } => "TradeRecorded",
            Self::TradeReversed { .. } => "TradeReversed",
            Self::RiskProfiled { .. } => "RiskProfiled",
        }
        .to_string()
    }

    fn event_version(&self) -> String {
        "1.0".to_string()
    }
}
