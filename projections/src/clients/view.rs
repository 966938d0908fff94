//! The client as the read side shows it, folded from its events.

use chrono::{DateTime, NaiveDate, Utc};
use domain::client::{
    AccountStatus, ClientDetails, ClientEvent, DocumentKind, ErasureBasis, Segment,
};
use domain::lead::MarketingChannel;
use domain::worklog::WorkEvent;
use serde::{Deserialize, Serialize};
use store::EventMetadata;
use uuid::Uuid;

/// Where the personal data is in a stored [`ClientView`] (sealed with the client's key).
pub const PERSONAL: &[&str] = &[
    "/name",
    "/email",
    "/phone",
    "/pan",
    "/date_of_birth",
    "/address",
    "/close_reason",
    "/status_reason",
    "/documents/*/number",
    "/documents/*/file_name",
    "/privacy/erasure_reason",
    "/details/emails/*/address",
    "/details/phones/*/number",
    "/details/addresses/*/line1",
    "/details/addresses/*/line2",
    "/details/addresses/*/city",
    "/details/addresses/*/pin",
    "/details/nominees/*/name",
    "/details/nominees/*/date_of_birth",
    "/details/nominees/*/guardian_name",
    "/details/bank_accounts/*/ifsc",
    "/details/bank_accounts/*/account_number",
    "/details/demat_accounts/*/client_id",
    "/details/guardian/name",
    "/details/guardian/pan",
    "/follow_ups/*/note",
];

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClientView {
    pub client_id: Uuid,
    pub lead_id: Option<Uuid>,
    pub name: String,
    pub email: String,
    pub phone: String,
    pub pan: String,
    /// `YYYY-MM-DD`, or the erased marker.
    pub date_of_birth: String,
    pub address: String,
    /// Contacts, addresses, finances, nominees, accounts and guardian.
    #[serde(default)]
    pub details: ClientDetails,
    /// By investment capacity (`retail` until a move is recorded).
    #[serde(default = "retail")]
    pub segment: Segment,
    pub branch: String,
    pub relationship_manager: Option<Uuid>,
    pub closed_at: Option<DateTime<Utc>>,
    pub close_reason: Option<String>,
    /// Dormant (`inactive`) or `suspended` while the account is open.
    #[serde(default)]
    pub held: Option<AccountStatus>,
    /// Why the account was last suspended, reactivated or reopened.
    #[serde(default)]
    pub status_reason: Option<String>,
    #[serde(default)]
    pub status_changed_at: Option<DateTime<Utc>>,
    /// When the account last became active (onboarded, reactivated, reopened): with its trades
    /// and interactions, what the dormancy step measures from.
    #[serde(default)]
    pub active_since: Option<DateTime<Utc>>,
    /// The last activity the dormancy step saw when it marked the account inactive.
    #[serde(default)]
    pub last_activity_on: Option<NaiveDate>,
    pub documents: Vec<DocumentView>,
    /// Open follow-ups, soonest first.
    #[serde(default)]
    pub follow_ups: Vec<ClientFollowUpView>,
    /// When the last interaction happened (what the dormancy step counts, with trades).
    #[serde(default)]
    pub last_interaction_at: Option<DateTime<Utc>>,
    /// Interactions logged.
    #[serde(default)]
    pub interactions: u32,
    /// The leads merged into this client now (their interactions show here, read from them).
    #[serde(default)]
    pub merged_leads: Vec<crate::leads::MergedLead>,
    pub privacy: ClientPrivacy,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// The aggregate's sequence (its version for `If-Match`).
    pub version: i64,
    pub position: i64,
}

/// An open follow-up of a client.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClientFollowUpView {
    pub follow_up_id: Uuid,
    pub due_at: DateTime<Utc>,
    pub channel: domain::lead::FollowUpChannel,
    pub note: Option<String>,
    pub scheduled_by: String,
    /// The lead (merged into this client) the follow-up moved from, and its id there (where
    /// its note stays).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub moved_from: Option<(Uuid, Uuid)>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DocumentView {
    pub document_id: Uuid,
    pub kind: DocumentKind,
    pub number: Option<String>,
    pub file_name: String,
    pub content_type: String,
    pub size: u64,
    pub sha256: String,
    pub added_at: DateTime<Utc>,
    pub added_by: String,
    pub purged_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ClientPrivacy {
    pub erasure_requested_at: Option<DateTime<Utc>>,
    pub erasure_reason: Option<String>,
    pub retention_until: Option<DateTime<Utc>>,
    pub legal_hold: bool,
    /// Kept readable after an erasure: it is the firm's compliance record.
    pub legal_hold_reason: Option<String>,
    pub erased_at: Option<DateTime<Utc>>,
    pub erasure_basis: Option<ErasureBasis>,
    /// Named as on a lead's view (stored documents written before read `consents`).
    #[serde(alias = "consents")]
    pub marketing_consents: Vec<MarketingChannel>,
}

fn retail() -> Segment {
    Segment::Retail
}

impl ClientView {
    /// Whether the client, as the read model shows it, is inside `scope`.
    pub fn in_scope(&self, scope: &domain::access::ClientScope) -> bool {
        scope.covers(Some(&self.branch), self.relationship_manager)
    }

    pub fn start(
        event: &ClientEvent,
        meta: &EventMetadata,
        sequence: i64,
        position: i64,
    ) -> Option<Self> {
        let ClientEvent::ClientOnboarded {
            client_id,
            lead_id,
            profile,
            branch,
            relationship_manager,
            details,
        } = event
        else {
            return None;
        };
        Some(Self {
            client_id: *client_id,
            lead_id: *lead_id,
            name: profile.name.as_str().into(),
            email: profile.email.as_str().into(),
            phone: profile.phone.as_str().into(),
            pan: profile.pan.as_str().into(),
            date_of_birth: profile.date_of_birth.as_str().into(),
            address: profile.address.as_str().into(),
            details: details.clone(),
            segment: Segment::Retail,
            branch: branch.as_str().into(),
            relationship_manager: *relationship_manager,
            closed_at: None,
            close_reason: None,
            held: None,
            status_reason: None,
            status_changed_at: None,
            active_since: Some(meta.recorded_at),
            last_activity_on: None,
            documents: Vec::new(),
            follow_ups: Vec::new(),
            last_interaction_at: None,
            interactions: 0,
            merged_leads: Vec::new(),
            privacy: ClientPrivacy::default(),
            created_at: meta.recorded_at,
            updated_at: meta.recorded_at,
            version: sequence,
            position,
        })
    }

    pub fn apply(
        &mut self,
        event: &ClientEvent,
        meta: &EventMetadata,
        sequence: i64,
        position: i64,
    ) {
        let at = meta.recorded_at;
        match event {
            ClientEvent::ClientOnboarded { .. } => {}
            ClientEvent::ClientProfileChanged(c) => {
                if let Some(v) = &c.name {
                    self.name = v.as_str().into();
                }
                if let Some(v) = &c.email {
                    self.email = v.as_str().into();
                }
                if let Some(v) = &c.phone {
                    self.phone = v.as_str().into();
                }
                if let Some(v) = &c.address {
                    self.address = v.as_str().into();
                }
                self.details
                    .follow_profile(c.email.as_ref(), c.phone.as_ref());
            }
            ClientEvent::ClientDetailsChanged { details, .. } => self.details = details.clone(),
            ClientEvent::ClientSegmentChanged { to, .. } => self.segment = *to,
            ClientEvent::RelationshipManagerAssigned { manager_id, .. } => {
                self.relationship_manager = Some(*manager_id);
            }
            ClientEvent::RelationshipClosed { reason, closed_at } => {
                self.closed_at = Some(*closed_at);
                self.close_reason = Some(reason.as_str().into());
                self.status_changed_at = Some(at);
            }
            ClientEvent::AccountSuspended { reason, .. } => {
                self.held = Some(AccountStatus::Suspended);
                self.status_reason = Some(reason.as_str().into());
                self.status_changed_at = Some(at);
            }
            ClientEvent::AccountMarkedDormant { last_activity_on } => {
                self.held = Some(AccountStatus::Inactive);
                self.status_reason = None;
                self.status_changed_at = Some(at);
                self.last_activity_on = Some(*last_activity_on);
            }
            ClientEvent::AccountReactivated { reason, .. } => {
                self.held = None;
                self.status_reason = reason.as_ref().map(|r| r.as_str().into());
                self.status_changed_at = Some(at);
                self.active_since = Some(at);
            }
            ClientEvent::RelationshipReopened { reason, .. } => {
                self.closed_at = None;
                self.close_reason = None;
                self.held = None;
                self.status_reason = Some(reason.as_str().into());
                self.status_changed_at = Some(at);
                self.active_since = Some(at);
            }
            ClientEvent::ClientDocumentAdded(d) => self.documents.push(DocumentView {
                document_id: d.document_id,
                kind: d.kind,
                number: d.number.as_ref().map(|n| n.as_str().into()),
                file_name: d.file_name.as_str().into(),
                content_type: d.content_type.clone(),
                size: d.size,
                sha256: d.sha256.clone(),
                added_at: at,
                added_by: meta.actor_id.clone(),
                purged_at: None,
            }),
            ClientEvent::ClientDocumentsPurged { document_ids } => {
                for d in &mut self.documents {
                    if document_ids.contains(&d.document_id) {
                        d.purged_at = Some(at);
                    }
                }
            }
            ClientEvent::ErasureRequested {
                reason,
                retention_until,
            } => {
                self.privacy.erasure_requested_at = Some(at);
                self.privacy.erasure_reason = reason.as_ref().map(|r| r.as_str().into());
                self.privacy.retention_until = *retention_until;
                self.privacy.marketing_consents.clear();
            }
            ClientEvent::Privacy(domain::privacy::PrivacyEvent::LegalHoldPlaced { reason }) => {
                self.privacy.legal_hold = true;
                self.privacy.legal_hold_reason = Some(reason.as_str().into());
            }
            ClientEvent::Privacy(domain::privacy::PrivacyEvent::LegalHoldLifted { .. }) => {
                self.privacy.legal_hold = false;
                self.privacy.legal_hold_reason = None;
            }
            ClientEvent::ClientErased { basis } => {
                self.privacy.erased_at = Some(at);
                self.privacy.erasure_basis = Some(*basis);
                // What they declared goes with them, the words kept readable included.
                self.details = ClientDetails::default();
                self.follow_ups.clear();
            }
            ClientEvent::Privacy(domain::privacy::PrivacyEvent::MarketingConsentGiven {
                channel,
            }) => {
                if !self.privacy.marketing_consents.contains(channel) {
                    self.privacy.marketing_consents.push(*channel);
                    self.privacy.marketing_consents.sort();
                }
            }
            ClientEvent::Privacy(domain::privacy::PrivacyEvent::MarketingConsentWithdrawn {
                channel,
            }) => {
                self.privacy.marketing_consents.retain(|c| c != channel);
            }
            ClientEvent::Privacy(domain::privacy::PrivacyEvent::SubjectDataExported) => {}
            ClientEvent::Work(w) => self.apply_work(w, meta),
        }
        // Reading or exporting changes nothing a list shows.
        if !matches!(
            event,
            ClientEvent::Privacy(domain::privacy::PrivacyEvent::SubjectDataExported)
        ) {
            self.updated_at = at;
        }
        self.version = sequence;
        self.position = position;
    }

    fn apply_work(&mut self, event: &WorkEvent, meta: &EventMetadata) {
        match event {
            WorkEvent::FollowUpScheduled {
                follow_up_id,
                due_at,
                channel,
                note,
            } => {
                self.follow_ups.push(ClientFollowUpView {
                    follow_up_id: *follow_up_id,
                    due_at: *due_at,
                    channel: *channel,
                    note: note.as_ref().map(|n| n.as_str().into()),
                    scheduled_by: meta.actor_id.clone(),
                    moved_from: None,
                });
            }
            WorkEvent::FollowUpRescheduled {
                follow_up_id,
                due_at,
                ..
            } => {
                if let Some(f) = self
                    .follow_ups
                    .iter_mut()
                    .find(|f| f.follow_up_id == *follow_up_id)
                {
                    f.due_at = *due_at;
                }
            }
            WorkEvent::FollowUpCompleted { follow_up_id, .. }
            | WorkEvent::FollowUpCancelled { follow_up_id, .. } => {
                self.follow_ups.retain(|f| f.follow_up_id != *follow_up_id);
            }
            WorkEvent::InteractionLogged { occurred_at, .. } => {
                self.interactions += 1;
                self.last_interaction_at = self.last_interaction_at.max(Some(*occurred_at));
            }
            WorkEvent::MergeReceived {
                from_lead,
                follow_ups,
            } => {
                self.merged_leads.push(crate::leads::MergedLead {
                    lead_id: *from_lead,
                    actor_id: meta.actor_id.clone(),
                    at: meta.recorded_at,
                });
                self.follow_ups
                    .extend(follow_ups.iter().map(|f| ClientFollowUpView {
                        follow_up_id: f.follow_up_id,
                        due_at: f.due_at,
                        channel: f.channel,
                        note: None,
                        scheduled_by: meta.actor_id.clone(),
                        moved_from: Some((*from_lead, f.from_follow_up_id)),
                    }));
            }
            WorkEvent::MergeReverted {
                from_lead,
                follow_ups,
            } => {
                self.merged_leads.retain(|m| m.lead_id != *from_lead);
                self.follow_ups
                    .retain(|f| !follow_ups.contains(&f.follow_up_id));
            }
        }
        self.follow_ups.sort_by_key(|f| (f.due_at, f.follow_up_id));
    }

    /// The last activity the dormancy step counts (besides trades): becoming active, or an
    /// interaction.
    pub fn active_at(&self) -> DateTime<Utc> {
        self.active_since
            .unwrap_or(self.created_at)
            .max(self.last_interaction_at.unwrap_or(self.created_at))
    }

    pub fn status(&self) -> &'static str {
        if self.privacy.erased_at.is_some() {
            "erased"
        } else if self.closed_at.is_some() {
            "closed"
        } else {
            self.held.unwrap_or(AccountStatus::Active).as_str()
        }
    }

    /// Erasure asked for and waiting (retention, legal hold).
    pub fn restricted(&self) -> bool {
        self.privacy.erasure_requested_at.is_some() && self.privacy.erased_at.is_none()
    }

    /// The date of birth as a date (not once erased).
    pub fn birth_date(&self) -> Option<NaiveDate> {
        NaiveDate::parse_from_str(&self.date_of_birth, "%Y-%m-%d").ok()
    }

    /// Words of the name and address, for search by blind index.
    pub fn search_words(&self) -> Vec<String> {
        let mut w = crate::leads::words(&self.name);
        w.extend(crate::leads::words(&self.address));
        w.sort();
        w.dedup();
        w
    }
}
