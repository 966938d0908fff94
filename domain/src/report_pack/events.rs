use cqrs_es::DomainEvent;
use serde::{Deserialize, Serialize};

use super::{PackFile, PackMonth};

/// Everything that can happen to a month's packs. Every event is at version 1.0.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum ReportPackEvent {
    /// A pack was generated: its files (name, size, sha256) and the log position its numbers
    /// are as of.
    CompliancePackGenerated {
        month: PackMonth,
        files: Vec<PackFile>,
        position: i64,
    },
}

impl DomainEvent for ReportPackEvent {
    fn event_type(&self) -> String {
        match self {
            Self::CompliancePackGenerated { .. } => "CompliancePackGenerated".to_string(),
        }
    }

    fn event_version(&self) -> String {
        "1.0".to_string()
    }
}
