use chrono::{DateTime, Utc};
use cqrs_es::DomainEvent;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::{ClientProfile, ClientProfileChange, Document, ErasureBasis};
use crate::lead::MarketingChannel;
use crate::user::Branch;
use crate::values::Text;

/// What may be asked of a client. Values are already validated; the aggregate checks the rules
/// that depend on the client's state, the clock and the retention policy.
#[derive(Debug, Clone, PartialEq)]
pub enum ClientCommand {
    Onboard {
        client_id: Uuid,
        /// The converted lead this client came from, if any.
        lead_id: Option<Uuid>,
        profile: ClientProfile,
        branch: Branch,
        relationship_manager: Option<Uuid>,
    },
    UpdateProfile(ClientProfileChange),
    AssignRelationshipManager {
        manager_id: Uuid,
    },
    /// The relationship ends (account closed): the retention periods start counting.
    CloseRelationship {
        reason: Text,
    },
    AddDocument(Document),
    /// Lets go of the documents whose retention period has ended.
    PurgeExpiredDocuments,
    RequestErasure {
        reason: Option<Text>,
    },
    PlaceLegalHold {
        reason: Text,
    },
    LiftLegalHold {
        reason: Option<Text>,
    },
    /// Record that the subject's key is destroyed now; refused while anything blocks it.
    Erase,
    SetMarketingConsent {
        channel: MarketingChannel,
        granted: bool,
    },
    RecordExport,
}

/// Everything that can happen to a client. Every event is at version 1.0.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum ClientEvent {
    ClientOnboarded {
        client_id: Uuid,
        lead_id: Option<Uuid>,
        profile: ClientProfile,
        branch: Branch,
        relationship_manager: Option<Uuid>,
    },
    ClientProfileChanged(ClientProfileChange),
    RelationshipManagerAssigned {
        manager_id: Uuid,
        previous_manager_id: Option<Uuid>,
    },
    RelationshipClosed {
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
    LegalHoldPlaced {
        reason: Text,
    },
    LegalHoldLifted {
        reason: Option<Text>,
    },
    /// The subject's key is being destroyed; from here on their personal data is unreadable.
    ClientErased {
        basis: ErasureBasis,
    },
    MarketingConsentGiven {
        channel: MarketingChannel,
    },
    MarketingConsentWithdrawn {
        channel: MarketingChannel,
    },
    SubjectDataExported,
}

impl ClientEvent {
    pub fn name(&self) -> &'static str {
        match self {
            Self::ClientOnboarded { .. } => "ClientOnboarded",
            Self::ClientProfileChanged(_) => "ClientProfileChanged",
            Self::RelationshipManagerAssigned { .. } => "RelationshipManagerAssigned",
            Self::RelationshipClosed { .. } => "RelationshipClosed",
            Self::ClientDocumentAdded(_) => "ClientDocumentAdded",
            Self::ClientDocumentsPurged { .. } => "ClientDocumentsPurged",
            Self::ErasureRequested { .. } => "ErasureRequested",
            Self::LegalHoldPlaced { .. } => "LegalHoldPlaced",
            Self::LegalHoldLifted { .. } => "LegalHoldLifted",
            Self::ClientErased { .. } => "ClientErased",
            Self::MarketingConsentGiven { .. } => "MarketingConsentGiven",
            Self::MarketingConsentWithdrawn { .. } => "MarketingConsentWithdrawn",
            Self::SubjectDataExported => "SubjectDataExported",
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

/// Why the Client aggregate refused a command. Each maps to one HTTP status at the edge.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ClientError {
    #[error("a client with this id already exists")]
    AlreadyExists,
    #[error("no client with this id")]
    NotFound,
    #[error("the relationship is closed; the record is kept but takes no more changes")]
    Closed,
    #[error("the client's personal data was erased; the record takes no more changes")]
    Erased,
    #[error(
        "the person asked for erasure: processing is restricted to privacy and compliance steps"
    )]
    Restricted,
    #[error("this relationship manager already looks after the client")]
    AlreadyAssigned,
    #[error("a document with this id is already on the client")]
    DuplicateDocument,
    #[error("a legal hold already stands")]
    AlreadyOnHold,
    #[error("no legal hold stands")]
    NotOnHold,
    #[error("erasure is blocked: {0}")]
    ErasureBlocked(&'static str),
    #[error("marketing consent cannot be given while processing is restricted")]
    ConsentWhileRestricted,
}
