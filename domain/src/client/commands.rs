//! What may be asked of a client.

use chrono::NaiveDate;
use uuid::Uuid;

use super::{ClientProfile, ClientProfileChange, Document};
use crate::privacy::PrivacyCommand;
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
    /// The account is suspended (from active or inactive), with why.
    Suspend {
        reason: Text,
    },
    /// A dormant or suspended account is active again; a closed one is reopened (within its
    /// retention period, and a reason is required).
    Reactivate {
        reason: Option<Text>,
    },
    /// The scheduled dormancy step: no interaction or trade since `last_activity_on`. Marks an
    /// active account inactive; any other account is left as it is.
    MarkDormant {
        last_activity_on: NaiveDate,
    },
    AddDocument(Document),
    /// Lets go of the documents whose retention period has ended.
    PurgeExpiredDocuments,
    /// Record that the subject's key is destroyed now; refused while anything blocks it.
    Erase,
    /// Erasure requests, holds, consents and exports: the data-subject component decides.
    Privacy(PrivacyCommand),
}
