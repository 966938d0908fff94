//! The risk questionnaire: answers, a score, and the profile it gives (how much risk the
//! client's products may carry).

use serde::{Deserialize, Serialize};

use super::rules::{AssetClass, RiskLevel};
use crate::kyc::IncomeRange;
use crate::values::Text;

snake_enum!(
    /// How much the client has invested before.
    Experience { None => "none", Some => "some", Extensive => "extensive" }
);

snake_enum!(
    /// What fall in value the client can live with.
    LossTolerance { None => "none", Low => "low", Medium => "medium", High => "high" }
);

snake_enum!(
    /// The profile a score gives.
    RiskProfileLevel { Conservative => "conservative", Moderate => "moderate", Aggressive => "aggressive" }
);

impl RiskProfileLevel {
    /// The riskiest product this profile takes without an override.
    pub fn takes(self) -> RiskLevel {
        match self {
            RiskProfileLevel::Conservative => RiskLevel::Low,
            RiskProfileLevel::Moderate => RiskLevel::Medium,
            RiskProfileLevel::Aggressive => RiskLevel::High,
        }
    }
}

/// The questionnaire's answers and the client's investment profile (goals, preferred
/// products), as the client gave them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RiskAnswers {
    pub age: u8,
    pub income_range: IncomeRange,
    /// How many years the money can stay invested.
    pub horizon_years: u8,
    pub experience: Experience,
    pub loss_tolerance: LossTolerance,
    pub dependants: u8,
    pub goals: Vec<Text>,
    pub preferred_products: Vec<AssetClass>,
}

impl RiskAnswers {
    /// The score: 0 (no risk at all) to 20.
    pub fn score(&self) -> u32 {
        let age = match self.age {
            0..=35 => 4,
            36..=50 => 3,
            51..=60 => 2,
            _ => 0,
        };
        let income = match self.income_range {
            IncomeRange::Below1Lakh => 0,
            IncomeRange::From1To5Lakh => 1,
            IncomeRange::From5To10Lakh => 2,
            IncomeRange::From10To25Lakh => 3,
            IncomeRange::Above25Lakh => 4,
        };
        let horizon = match self.horizon_years {
            0..=1 => 0,
            2..=3 => 1,
            4..=6 => 2,
            7..=9 => 3,
            _ => 4,
        };
        let experience = match self.experience {
            Experience::None => 0,
            Experience::Some => 1,
            Experience::Extensive => 2,
        };
        let loss = match self.loss_tolerance {
            LossTolerance::None => 0,
            LossTolerance::Low => 1,
            LossTolerance::Medium => 3,
            LossTolerance::High => 4,
        };
        let dependants = match self.dependants {
            0 => 2,
            1..=2 => 1,
            _ => 0,
        };
        age + income + horizon + experience + loss + dependants
    }

    /// Up to 8 conservative, up to 14 moderate, above aggressive.
    pub fn profile(&self) -> RiskProfileLevel {
        match self.score() {
            0..=8 => RiskProfileLevel::Conservative,
            9..=14 => RiskProfileLevel::Moderate,
            _ => RiskProfileLevel::Aggressive,
        }
    }
}
