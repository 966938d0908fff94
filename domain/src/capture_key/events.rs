use cqrs_es::DomainEvent;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::KeyTerms;
use crate::values::Text;

/// Everything that can happen to a capture key. Every event is at version 1.0.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum CaptureKeyEvent {
    /// Issued; only the sha256 of its secret is kept.
    CaptureKeyIssued {
        key_id: Uuid,
        terms: KeyTerms,
        secret_sha256: String,
    },
    CaptureKeyRevoked {
        reason: Option<Text>,
    },
}

impl CaptureKeyEvent {
    pub fn name(&self) -> &'static str {
        match self {
            Self::CaptureKeyIssued { .. } => "CaptureKeyIssued",
            Self::CaptureKeyRevoked { .. } => "CaptureKeyRevoked",
        }
    }
}

impl DomainEvent for CaptureKeyEvent {
    fn event_type(&self) -> String {
        self.name().to_string()
    }

    fn event_version(&self) -> String {
        "1.0".to_string()
    }
}
