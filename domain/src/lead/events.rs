use chrono::{DateTime, Utc};
use cqrs_es::DomainEvent;
use serde::{Deserialize, Deserializer, Serialize};
use uuid::Uuid;

use super::{
    CaptureChannel, ContactMethod, FollowUpChannel, InteractionDirection, InteractionKind,
    InvestmentCapacity, LeadDetails, LeadSource, LeadStatus,
};
use crate::merge::{MergeTarget, MovedFollowUp, ReopenedFollowUp};
use crate::privacy::PrivacyEvent;
use crate::values::{Email, PersonName, Phone, Text};

/// Everything that can happen to a lead. Names are past-tense facts; each has a version in
/// [`LeadEvent::event_version`] and a changed payload gets a new version plus an upcaster.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum LeadEvent {
    LeadCaptured {
        lead_id: Uuid,
        details: LeadDetails,
        channel: CaptureChannel,
    },
    LeadDetailsChanged(LeadDetailsChange),
    LeadStatusChanged {
        from: LeadStatus,
        to: LeadStatus,
        reason: Option<Text>,
    },
    LeadLost {
        from: LeadStatus,
        reason: Text,
    },
    LeadReopened {
        to: LeadStatus,
        reason: Option<Text>,
    },
    LeadConverted {
        client_id: Uuid,
        reason: Option<Text>,
    },
    LeadAssigned {
        agent_id: Uuid,
        previous_agent_id: Option<Uuid>,
        round_robin: bool,
        reason: Option<Text>,
    },
    FollowUpScheduled {
        follow_up_id: Uuid,
        due_at: DateTime<Utc>,
        channel: FollowUpChannel,
        note: Option<Text>,
    },
    FollowUpRescheduled {
        follow_up_id: Uuid,
        previous_due_at: DateTime<Utc>,
        due_at: DateTime<Utc>,
        reason: Option<Text>,
    },
    FollowUpCompleted {
        follow_up_id: Uuid,
        outcome: Option<Text>,
    },
    FollowUpCancelled {
        follow_up_id: Uuid,
        reason: Option<Text>,
    },
    InteractionLogged {
        interaction_id: Uuid,
        kind: InteractionKind,
        direction: Option<InteractionDirection>,
        summary: Text,
        occurred_at: DateTime<Utc>,
        duration_minutes: Option<u32>,
    },
    LeadArchived {
        reason: Option<Text>,
    },
    /// Merged into another lead or a client (a duplicate of the same person): the lead takes no
    /// more changes; its open `follow_ups` moved to the survivor.
    LeadMerged {
        into: MergeTarget,
        follow_ups: Vec<Uuid>,
        reason: Option<Text>,
    },
    /// The merge was undone: the lead is on its own again and takes back the follow-ups that
    /// were still open on the survivor.
    LeadUnmerged {
        from: MergeTarget,
        follow_ups: Vec<ReopenedFollowUp>,
        reason: Option<Text>,
    },
    /// Another lead was merged into this one; its open follow-ups moved here under new ids.
    MergeReceived {
        from_lead: Uuid,
        follow_ups: Vec<MovedFollowUp>,
    },
    /// A merge into this lead was undone: the follow-ups it moved here that were still open
    /// went back.
    MergeReverted {
        from_lead: Uuid,
        follow_ups: Vec<Uuid>,
    },
    /// The person asked for their data to be erased (DPDP / GDPR). Processing is restricted
    /// from now on; `retention_required` says a record-keeping duty delays the shred.
    ErasureRequested {
        reason: Option<Text>,
        retention_required: bool,
    },
    /// The subject's key is being destroyed; from here on their personal data is unreadable.
    LeadErased,
    /// Holds, consents and exports, stored under their own names (`LegalHoldPlaced`, …).
    #[serde(untagged)]
    Privacy(PrivacyEvent),
}

impl From<PrivacyEvent> for LeadEvent {
    fn from(e: PrivacyEvent) -> Self {
        Self::Privacy(e)
    }
}

/// Only the fields that changed. `None` means untouched; `Some(None)` means cleared.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct LeadDetailsChange {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<PersonName>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "double_option"
    )]
    pub email: Option<Option<Email>>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "double_option"
    )]
    pub phone: Option<Option<Phone>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<LeadSource>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "double_option"
    )]
    pub source_detail: Option<Option<Text>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub product_interest: Option<Vec<String>>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "double_option"
    )]
    pub preferred_contact_method: Option<Option<ContactMethod>>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "double_option"
    )]
    pub preferred_contact_time: Option<Option<Text>>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "double_option"
    )]
    pub notes: Option<Option<Text>>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "double_option"
    )]
    pub investment_capacity: Option<Option<InvestmentCapacity>>,
}

impl LeadDetailsChange {
    pub fn is_empty(&self) -> bool {
        *self == Self::default()
    }

    /// The names of the fields this change touches, for history views.
    pub fn fields(&self) -> Vec<&'static str> {
        let mut f = Vec::new();
        if self.name.is_some() {
            f.push("name");
        }
        if self.email.is_some() {
            f.push("email");
        }
        if self.phone.is_some() {
            f.push("phone");
        }
        if self.source.is_some() {
            f.push("source");
        }
        if self.source_detail.is_some() {
            f.push("source_detail");
        }
        if self.product_interest.is_some() {
            f.push("product_interest");
        }
        if self.preferred_contact_method.is_some() {
            f.push("preferred_contact_method");
        }
        if self.preferred_contact_time.is_some() {
            f.push("preferred_contact_time");
        }
        if self.notes.is_some() {
            f.push("notes");
        }
        if self.investment_capacity.is_some() {
            f.push("investment_capacity");
        }
        f
    }

    pub fn apply_to(&self, d: &mut LeadDetails) {
        if let Some(v) = &self.name {
            d.name = v.clone();
        }
        if let Some(v) = &self.email {
            d.email = v.clone();
        }
        if let Some(v) = &self.phone {
            d.phone = v.clone();
        }
        if let Some(v) = &self.source {
            d.source = *v;
        }
        if let Some(v) = &self.source_detail {
            d.source_detail = v.clone();
        }
        if let Some(v) = &self.product_interest {
            d.product_interest = v.clone();
        }
        if let Some(v) = &self.preferred_contact_method {
            d.preferred_contact_method = *v;
        }
        if let Some(v) = &self.preferred_contact_time {
            d.preferred_contact_time = v.clone();
        }
        if let Some(v) = &self.notes {
            d.notes = v.clone();
        }
        if let Some(v) = self.investment_capacity {
            d.investment_capacity = v;
        }
    }
}

/// A present `null` is `Some(None)` (cleared), an absent field is `None` (untouched).
fn double_option<'de, T, D>(de: D) -> Result<Option<Option<T>>, D::Error>
where
    T: Deserialize<'de>,
    D: Deserializer<'de>,
{
    Option::<T>::deserialize(de).map(Some)
}

impl LeadEvent {
    pub fn name(&self) -> &'static str {
        match self {
            Self::LeadCaptured { .. } => "LeadCaptured",
            Self::LeadDetailsChanged(_) => "LeadDetailsChanged",
            Self::LeadStatusChanged { .. } => "LeadStatusChanged",
            Self::LeadLost { .. } => "LeadLost",
            Self::LeadReopened { .. } => "LeadReopened",
            Self::LeadConverted { .. } => "LeadConverted",
            Self::LeadAssigned { .. } => "LeadAssigned",
            Self::FollowUpScheduled { .. } => "FollowUpScheduled",
            Self::FollowUpRescheduled { .. } => "FollowUpRescheduled",
            Self::FollowUpCompleted { .. } => "FollowUpCompleted",
            Self::FollowUpCancelled { .. } => "FollowUpCancelled",
            Self::InteractionLogged { .. } => "InteractionLogged",
            Self::LeadArchived { .. } => "LeadArchived",
            Self::LeadMerged { .. } => "LeadMerged",
            Self::LeadUnmerged { .. } => "LeadUnmerged",
            Self::MergeReceived { .. } => "MergeReceived",
            Self::MergeReverted { .. } => "MergeReverted",
            Self::ErasureRequested { .. } => "ErasureRequested",
            Self::LeadErased => "LeadErased",
            Self::Privacy(e) => e.name(),
        }
    }
}

impl DomainEvent for LeadEvent {
    fn event_type(&self) -> String {
        self.name().to_string()
    }

    fn event_version(&self) -> String {
        "1.0".to_string()
    }
}
