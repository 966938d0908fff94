use chrono::{DateTime, NaiveDate, Utc};
use cqrs_es::DomainEvent;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::{
    AccountStatus, ClientDetails, ClientProfile, ClientProfileChange, DetailsPart, Document,
    ErasureBasis, Segment,
};
use crate::privacy::PrivacyEvent;
use crate::user::Branch;
use crate::values::Text;

/// Everything that can happen to a client. Every event is at version 1.0.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum ClientEvent {
    ClientOnboarded {
        client_id: Uuid,
        lead_id: Option<Uuid>,
        profile: ClientProfile,
        branch: Branch,
        relationship_manager: Option<Uuid>,
        /// Absent from clients onboarded before details were kept.
        #[serde(default)]
        details: ClientDetails,
    },
    ClientProfileChanged(ClientProfileChange),
    /// The client's details as they are now, and which parts changed.
    ClientDetailsChanged {
        details: ClientDetails,
        changed: Vec<DetailsPart>,
    },
    /// The client moved segment (a new declared net worth, a segment review of their assets
    /// under management, or new thresholds); `aum` is what the review saw.
    ClientSegmentChanged {
        from: Segment,
        to: Segment,
        aum: Option<rust_decimal::Decimal>,
    },
    RelationshipManagerAssigned {
        manager_id: Uuid,
        previous_manager_id: Option<Uuid>,
    },
    RelationshipClosed {
        reason: Text,
        closed_at: DateTime<Utc>,
    },
    /// The account is suspended; `from` is where it stood.
    AccountSuspended {
        from: AccountStatus,
        reason: Text,
    },
    /// No interaction or trade since `last_activity_on`: the account is inactive (dormant).
    AccountMarkedDormant {
        last_activity_on: NaiveDate,
    },
    /// A dormant or suspended account is active again.
    AccountReactivated {
        from: AccountStatus,
        reason: Option<Text>,
    },
    /// A closed account is open again (within its retention period); `closed_at` is when it
    /// had closed.
    RelationshipReopened {
        reason: Text,
        closed_at: DateTime<Utc>,
    },
    ClientDocumentAdded(Document),
    /// The documents' retention period ended; their files are deleted.
    ClientDocumentsPurged {
        document_ids: Vec<Uuid>,
    },
    /// The person asked for erasure; processing is restricted from now on and the shred waits
    /// until `retention_until` (unknown while the relationship lasts).
    ErasureRequested {
        reason: Option<Text>,
        retention_until: Option<DateTime<Utc>>,
    },
    /// The subject's key is being destroyed; from here on their personal data is unreadable.
    ClientErased {
        basis: ErasureBasis,
    },
    /// Holds, consents and exports, stored under their own names (`LegalHoldPlaced`, …).
    #[serde(untagged)]
    Privacy(PrivacyEvent),
    /// Interactions and follow-ups, stored under their own names (`InteractionLogged`, …).
    #[serde(untagged)]
    Work(crate::worklog::WorkEvent),
}

impl From<crate::worklog::WorkEvent> for ClientEvent {
    fn from(e: crate::worklog::WorkEvent) -> Self {
        Self::Work(e)
    }
}

impl From<PrivacyEvent> for ClientEvent {
    fn from(e: PrivacyEvent) -> Self {
        Self::Privacy(e)
    }
}

impl ClientEvent {
    pub fn name(&self) -> &'static str {
        match self {
            Self::ClientOnboarded { .. } => "ClientOnboarded",
            Self::ClientProfileChanged(_) => "ClientProfileChanged",
            Self::ClientDetailsChanged { .. } => "ClientDetailsChanged",
            Self::ClientSegmentChanged { .. } => "ClientSegmentChanged",
            Self::RelationshipManagerAssigned { .. } => "RelationshipManagerAssigned",
            Self::RelationshipClosed { .. } => "RelationshipClosed",
            Self::AccountSuspended { .. } => "AccountSuspended",
            Self::AccountMarkedDormant { .. } => "AccountMarkedDormant",
            Self::AccountReactivated { .. } => "AccountReactivated",
            Self::RelationshipReopened { .. } => "RelationshipReopened",
            Self::ClientDocumentAdded(_) => "ClientDocumentAdded",
            Self::ClientDocumentsPurged { .. } => "ClientDocumentsPurged",
            Self::ErasureRequested { .. } => "ErasureRequested",
            Self::ClientErased { .. } => "ClientErased",
            Self::Privacy(e) => e.name(),
            Self::Work(e) => e.name(),
        }
    }
}

impl DomainEvent for ClientEvent {
    fn event_type(&self) -> String {
        self.name().to_string()
    }

    fn event_version(&self) -> String {
        "1.0".to_string()
    }
}
