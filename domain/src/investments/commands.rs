use uuid::Uuid;

use super::risk::RiskAnswers;
use super::rules::Trade;
use crate::values::Text;

/// Why a client may not trade now (from their KYC), as the use case found it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TradingBlock {
    KycNotVerified,
    RekycDue,
}

impl TradingBlock {
    pub fn as_str(self) -> &'static str {
        match self {
            TradingBlock::KycNotVerified => "kyc_not_verified",
            TradingBlock::RekycDue => "rekyc_due",
        }
    }
}

/// Everything a client's portfolio can be asked to do.
#[derive(Debug, Clone, PartialEq)]
pub enum PortfolioCommand {
    /// Records a trade (a repeat of the same reference with the same trade changes nothing).
    RecordTrade {
        trade_id: Uuid,
        client_id: Uuid,
        trade: Trade,
        by: Uuid,
        /// What the client's KYC says now (`None`: they may trade).
        kyc_block: Option<TradingBlock>,
        /// The reason for a buy above the client's risk profile, acknowledged by `by`.
        override_reason: Option<Text>,
    },
    /// Reverses a trade and records its replacement, for `reason`.
    CorrectTrade {
        trade_id: Uuid,
        replacement_id: Uuid,
        replacement: Trade,
        reason: Text,
        by: Uuid,
        /// What the client's KYC says now: a replacement is a trade like any other.
        kyc_block: Option<TradingBlock>,
        override_reason: Option<Text>,
    },
    /// Records the client's answers to the risk questionnaire.
    ProfileRisk {
        client_id: Uuid,
        answers: RiskAnswers,
        by: Uuid,
    },
}
