//! The Client aggregate: a person with a trading relationship with the broker, from onboarding
//! (often from a converted lead) to the close of the account, with the documents kept for KYC
//! and the record-keeping duty that outlives the relationship.
//!
//! Retention: the broker keeps a client's records for a period after the relationship ends
//! (SEBI: 8 years; PMLA: 5 years for KYC records). The periods are configuration
//! ([`RetentionPolicy`]); the aggregate decides with them and the clock whether documents may
//! be let go and whether the person's key may be destroyed.

mod commands;
mod details;
mod errors;
mod events;
mod personal;
mod profile;
#[cfg(test)]
mod tests;

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use cqrs_es::event_sink::EventSink;
use cqrs_es::Aggregate;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

pub use commands::{ClientCommand, DetailsEdit};
pub use details::*;
pub use errors::ClientError;
pub use events::ClientEvent;
pub use personal::{upcasters, EVENT_TABLES};
pub use profile::{ClientProfile, ClientProfileChange, RawProfile, RawProfileChange, ADDRESS_MAX};

use crate::privacy::DataSubject;
use crate::user::Branch;
use crate::values::{Pan, RetentionPeriod, Text};
use crate::Clock;

snake_enum!(
    /// What a KYC document is.
    DocumentKind {
        PanCard => "pan_card",
        Passport => "passport",
        VoterId => "voter_id",
        DrivingLicence => "driving_licence",
        AddressProof => "address_proof",
        BankProof => "bank_proof",
        IncomeProof => "income_proof",
        Photograph => "photograph",
        Signature => "signature",
        AadhaarMasked => "aadhaar_masked",
        VerificationRecord => "verification_record",
        Other => "other"
    }
);
snake_enum!(
    /// Where a client's account stands: `active`; `inactive` (dormant: no interaction or trade
    /// for the configured period); `suspended` (with a reason); `closed` (the relationship
    /// ended; it may be reopened within the retention period).
    AccountStatus {
        Active => "active",
        Inactive => "inactive",
        Suspended => "suspended",
        Closed => "closed"
    }
);
snake_enum!(
    /// Why a client's personal data was erased.
    ErasureBasis { Request => "request", RetentionEnded => "retention_ended" }
);

/// A document kept for the client (the file itself is in the document store, sealed with the
/// client's key; the log keeps what it is and its sha256).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Document {
    pub document_id: Uuid,
    pub kind: DocumentKind,
    /// The number on the document (passport number, …), if it has one.
    pub number: Option<Text>,
    pub file_name: Text,
    pub content_type: String,
    pub size: u64,
    pub sha256: String,
}

/// How long records are kept after the relationship ends, per kind of record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetentionPolicy {
    /// The client's records: profile, history, consents (SEBI: 8 years).
    pub client_records: RetentionPeriod,
    /// KYC documents (PMLA: 5 years).
    pub kyc_documents: RetentionPeriod,
}

impl Default for RetentionPolicy {
    fn default() -> Self {
        Self {
            client_records: RetentionPeriod::Years(8),
            kyc_documents: RetentionPeriod::Years(5),
        }
    }
}

impl RetentionPolicy {
    /// When everything kept about a relationship closed at `closed_at` may go.
    pub fn all_records_end(&self, closed_at: DateTime<Utc>) -> DateTime<Utc> {
        self.client_records
            .ends(closed_at)
            .max(self.kyc_documents.ends(closed_at))
    }
}

/// How many document files, and how many bytes of them, one client may hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DocumentLimits {
    pub files: usize,
    pub bytes: u64,
}

impl Default for DocumentLimits {
    fn default() -> Self {
        Self {
            files: 50,
            bytes: 100 * 1024 * 1024,
        }
    }
}

/// What the Client aggregate needs from outside: the clock, the retention policy and the
/// limits on documents.
#[derive(Debug, Clone)]
pub struct ClientServices {
    pub clock: Clock,
    pub retention: RetentionPolicy,
    pub documents: DocumentLimits,
    /// Where the segments start.
    pub segments: SegmentThresholds,
}

/// The decision state of a client: only what its rules need.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Client {
    onboarded: bool,
    profile: Option<ClientProfile>,
    branch: Option<Branch>,
    relationship_manager: Option<Uuid>,
    closed_at: Option<DateTime<Utc>>,
    /// Dormant (inactive) or suspended while open; `None` is active.
    #[serde(default)]
    held: Option<AccountStatus>,
    /// Document id → whether it was purged.
    documents: BTreeMap<Uuid, bool>,
    /// Document id → its size in bytes.
    #[serde(default)]
    document_sizes: BTreeMap<Uuid, u64>,
    /// The person's privacy state; linked to the lead the client came from.
    subject: DataSubject,
    /// What the client declared beyond their identity.
    #[serde(default)]
    details: ClientDetails,
    /// The segment last recorded (`None`: never recorded, which is `retail`).
    #[serde(default)]
    segment: Option<Segment>,
    /// Assets under management as the last segment review saw them (INR).
    #[serde(default)]
    aum: Option<rust_decimal::Decimal>,
    /// Interactions and follow-ups.
    #[serde(default)]
    work: crate::worklog::WorkLog,
}

impl Client {
    pub fn is_onboarded(&self) -> bool {
        self.onboarded
    }

    pub fn relationship_manager(&self) -> Option<Uuid> {
        self.relationship_manager
    }

    pub fn branch(&self) -> Option<&Branch> {
        self.branch.as_ref()
    }

    pub fn lead_id(&self) -> Option<Uuid> {
        self.subject.linked()
    }

    /// The person's privacy state.
    pub fn subject(&self) -> &DataSubject {
        &self.subject
    }

    /// Whether the person asked for erasure (processing is restricted since).
    pub fn erasure_requested(&self) -> bool {
        self.subject.erasure_requested()
    }

    /// Open follow-ups, soonest first.
    pub fn open_follow_ups(&self) -> Vec<Uuid> {
        self.work.open_follow_ups()
    }

    /// The work done with the client (and what merged leads brought).
    pub fn work(&self) -> &crate::worklog::WorkLog {
        &self.work
    }

    /// What the client declared beyond their identity.
    pub fn details(&self) -> &ClientDetails {
        &self.details
    }

    /// The client's segment by investment capacity.
    pub fn segment(&self) -> Segment {
        self.segment.unwrap_or(Segment::Retail)
    }

    /// Where the account stands.
    pub fn status(&self) -> AccountStatus {
        match (self.closed_at, self.held) {
            (Some(_), _) => AccountStatus::Closed,
            (None, Some(held)) => held,
            (None, None) => AccountStatus::Active,
        }
    }

    /// Whether the relationship ended.
    pub fn is_closed(&self) -> bool {
        self.closed_at.is_some()
    }

    pub fn is_erased(&self) -> bool {
        self.subject.is_erased()
    }

    pub fn pan(&self) -> Option<&Pan> {
        self.profile.as_ref().map(|p| &p.pan)
    }

    /// Documents still held (not purged).
    pub fn held_documents(&self) -> Vec<Uuid> {
        self.documents
            .iter()
            .filter(|(_, purged)| !**purged)
            .map(|(id, _)| *id)
            .collect()
    }

    /// Whether one more file of `size` bytes fits within `limits` (purged files do not count).
    pub fn ensure_room(&self, limits: DocumentLimits, size: u64) -> Result<(), ClientError> {
        let held = self.held_documents();
        let bytes: u64 = held
            .iter()
            .filter_map(|id| self.document_sizes.get(id))
            .sum();
        if held.len() >= limits.files || bytes + size > limits.bytes {
            return Err(ClientError::DocumentLimit {
                files: limits.files,
                bytes: limits.bytes,
            });
        }
        Ok(())
    }

    fn ensure_exists(&self) -> Result<(), ClientError> {
        if !self.onboarded {
            return Err(ClientError::NotFound);
        }
        if self.subject.is_erased() {
            return Err(ClientError::Erased);
        }
        Ok(())
    }

    /// Sales and service changes (a new document among them): only on an open relationship
    /// with processing allowed. Callers that must do work before the command (store a file)
    /// ask this first.
    pub fn ensure_changeable(&self) -> Result<(), ClientError> {
        self.ensure_exists()?;
        if self.subject.erasure_requested() {
            return Err(ClientError::Restricted);
        }
        if self.closed_at.is_some() {
            return Err(ClientError::Closed);
        }
        Ok(())
    }

    /// The moves a caller may ask for from `from` (dormancy is the scheduled step's).
    pub fn allowed_moves(from: AccountStatus) -> &'static [AccountStatus] {
        use AccountStatus::*;
        match from {
            Active => &[Suspended, Closed],
            Inactive => &[Active, Suspended, Closed],
            Suspended => &[Active, Closed],
            Closed => &[Active],
        }
    }

    /// Refuses a status move the lifecycle does not allow: `active` ↔ `inactive` / `suspended`,
    /// `inactive` → `suspended`; a closed account only reopens.
    fn ensure_move(&self, to: AccountStatus) -> Result<(), ClientError> {
        use AccountStatus::*;
        let from = self.status();
        let allowed = matches!(
            (from, to),
            (Active | Inactive, Suspended) | (Inactive | Suspended, Active)
        );
        if allowed {
            Ok(())
        } else {
            Err(ClientError::IllegalMove { from, to })
        }
    }

    /// New trades only on an active account: a dormant one is reactivated first (as the
    /// exchanges require), a suspended or closed one takes none.
    pub fn ensure_tradable(&self) -> Result<(), ClientError> {
        self.ensure_changeable()?;
        match self.status() {
            AccountStatus::Active => Ok(()),
            other => Err(ClientError::NotActive(other)),
        }
    }

    fn decide(
        &self,
        command: ClientCommand,
        services: &ClientServices,
    ) -> Result<Vec<ClientEvent>, ClientError> {
        let now = services.clock.now();
        let policy = services.retention;
        match command {
            ClientCommand::Onboard {
                client_id,
                lead_id,
                profile,
                branch,
                relationship_manager,
                details,
            } => {
                if self.onboarded {
                    return Err(ClientError::AlreadyExists);
                }
                let today = crate::kyc::india_today(now);
                let details = details.normalised();
                let mut invalid = details.check(today);
                invalid.extend(details.mismatches(&profile));
                invalid.extend(guardian_rule(&profile, &details, today));
                if !invalid.is_empty() {
                    return Err(ClientError::Invalid(invalid));
                }
                let segment = services.segments.of(details.net_worth, None);
                let mut events = vec![ClientEvent::ClientOnboarded {
                    client_id,
                    lead_id,
                    profile,
                    branch,
                    relationship_manager,
                    details,
                }];
                if segment != Segment::Retail {
                    events.push(ClientEvent::ClientSegmentChanged {
                        from: Segment::Retail,
                        to: segment,
                        aum: None,
                    });
                }
                Ok(events)
            }
            ClientCommand::UpdateProfile(patch) => {
                self.update(patch, DetailsEdit::default(), services)
            }
            ClientCommand::UpdateDetails { profile, details } => {
                self.update(profile, details, services)
            }
            ClientCommand::ReviewSegment { aum } => {
                // Nobody is profiled once closed or once they asked for erasure.
                if !self.onboarded || self.closed_at.is_some() || self.subject.erasure_requested() {
                    return Ok(vec![]);
                }
                let to =
                    services
                        .segments
                        .review(self.segment(), self.details.net_worth, Some(aum));
                Ok(if to == self.segment() {
                    vec![]
                } else {
                    vec![ClientEvent::ClientSegmentChanged {
                        from: self.segment(),
                        to,
                        aum: Some(aum),
                    }]
                })
            }
            ClientCommand::AssignRelationshipManager { manager_id } => {
                self.ensure_changeable()?;
                if self.relationship_manager == Some(manager_id) {
                    return Err(ClientError::AlreadyAssigned);
                }
                Ok(vec![ClientEvent::RelationshipManagerAssigned {
                    manager_id,
                    previous_manager_id: self.relationship_manager,
                }])
            }
            ClientCommand::CloseRelationship { reason } => {
                // Closing stays possible while processing is restricted: it is what a person
                // who asked for erasure usually wants, and it starts the retention clock.
                self.ensure_exists()?;
                if self.closed_at.is_some() {
                    return Err(ClientError::Closed);
                }
                // Nobody follows up a closed account: its open follow-ups leave the lists.
                let mut events = vec![ClientEvent::RelationshipClosed {
                    reason,
                    closed_at: now,
                }];
                events.extend(self.work.cancel_all().into_iter().map(ClientEvent::Work));
                Ok(events)
            }
            ClientCommand::Suspend { reason } => {
                self.ensure_exists()?;
                self.ensure_move(AccountStatus::Suspended)?;
                Ok(vec![ClientEvent::AccountSuspended {
                    from: self.status(),
                    reason,
                }])
            }
            ClientCommand::Reactivate { reason } => {
                self.ensure_exists()?;
                if self.subject.erasure_requested() {
                    return Err(ClientError::Restricted);
                }
                // A closed account is reopened: within its retention period, and with why.
                if let Some(closed_at) = self.closed_at {
                    let reason = reason.ok_or(ClientError::ReasonRequired)?;
                    if now >= policy.client_records.ends(closed_at) {
                        return Err(ClientError::RetentionEnded);
                    }
                    return Ok(vec![ClientEvent::RelationshipReopened {
                        reason,
                        closed_at,
                    }]);
                }
                self.ensure_move(AccountStatus::Active)?;
                Ok(vec![ClientEvent::AccountReactivated {
                    from: self.status(),
                    reason,
                }])
            }
            ClientCommand::MarkDormant { last_activity_on } => {
                self.ensure_exists()?;
                // Once per dormant spell: an account that is not active stays as it is.
                if self.status() != AccountStatus::Active {
                    return Ok(vec![]);
                }
                Ok(vec![ClientEvent::AccountMarkedDormant { last_activity_on }])
            }
            ClientCommand::AddDocument(document) => {
                self.ensure_changeable()?;
                if self.documents.contains_key(&document.document_id) {
                    return Err(ClientError::DuplicateDocument);
                }
                self.ensure_room(services.documents, document.size)?;
                Ok(vec![ClientEvent::ClientDocumentAdded(document)])
            }
            ClientCommand::PurgeExpiredDocuments => {
                if !self.onboarded {
                    return Err(ClientError::NotFound);
                }
                let held = self.held_documents();
                let due = match self.closed_at {
                    Some(closed) => now >= policy.kyc_documents.ends(closed),
                    None => false,
                };
                if self.subject.is_erased() || self.subject.legal_hold() || !due || held.is_empty()
                {
                    return Ok(vec![]);
                }
                Ok(vec![ClientEvent::ClientDocumentsPurged {
                    document_ids: held,
                }])
            }
            ClientCommand::Work(command) => {
                match &command {
                    // Closing a follow-up stays possible on a closed or restricted account so
                    // that due lists can be cleaned up (without new text once erased).
                    // Giving back a merged lead's work too (a merge undone).
                    crate::worklog::WorkCommand::RevertMerge { .. } => {
                        if !self.onboarded {
                            return Err(ClientError::NotFound);
                        }
                        if self.subject.is_erased() {
                            return Err(ClientError::Erased);
                        }
                    }
                    crate::worklog::WorkCommand::CancelFollowUp { reason, .. } => {
                        if !self.onboarded {
                            return Err(ClientError::NotFound);
                        }
                        if self.subject.is_erased() && reason.is_some() {
                            return Err(ClientError::Erased);
                        }
                    }
                    _ => self.ensure_changeable()?,
                }
                Ok(self
                    .work
                    .decide(command, now)?
                    .into_iter()
                    .map(ClientEvent::Work)
                    .collect())
            }
            ClientCommand::Privacy(command) => {
                if !self.onboarded {
                    return Err(ClientError::NotFound);
                }
                Ok(self
                    .subject
                    .decide(command, |reason| ClientEvent::ErasureRequested {
                        reason,
                        retention_until: self.closed_at.map(|c| policy.all_records_end(c)),
                    })?)
            }
            ClientCommand::Erase => {
                if !self.onboarded {
                    return Err(ClientError::NotFound);
                }
                let basis = if self.subject.erasure_requested() {
                    ErasureBasis::Request
                } else {
                    ErasureBasis::RetentionEnded
                };
                Ok(self.subject.erase(
                    self.retention_blocker(now, policy),
                    ClientEvent::ClientErased { basis },
                )?)
            }
        }
    }

    /// A change of the profile and of the details: the whole result is checked, the lists'
    /// primary entries follow the profile (and a new primary becomes the profile's e-mail or
    /// phone), and a new declared net worth that moves the segment records the move.
    fn update(
        &self,
        patch: ClientProfileChange,
        edit: DetailsEdit,
        services: &ClientServices,
    ) -> Result<Vec<ClientEvent>, ClientError> {
        self.ensure_changeable()?;
        let current = self.profile.as_ref().ok_or(ClientError::NotFound)?;
        let mut invalid = Vec::new();
        let mut patch = patch;
        // A new list's primary is the profile's e-mail and phone; a profile value sent beside
        // the list must be that primary.
        if let Some((emails, phones)) = &edit.contacts {
            let primary_email = emails.iter().find(|e| e.primary).map(|e| e.address.clone());
            let primary_phone = phones.iter().find(|p| p.primary).map(|p| p.number.clone());
            if patch.email.is_some() && primary_email.is_some() && patch.email != primary_email {
                invalid.push(crate::input::Invalid {
                    field: "email",
                    message: "differs from the primary of `emails`".into(),
                });
            }
            if patch.phone.is_some() && primary_phone.is_some() && patch.phone != primary_phone {
                invalid.push(crate::input::Invalid {
                    field: "phone",
                    message: "differs from the primary of `phones`".into(),
                });
            }
            patch.email = primary_email.or(patch.email);
            patch.phone = primary_phone.or(patch.phone);
        }
        let change = patch.against(current);
        // What the details are once the profile change alone is applied (its e-mail or phone
        // followed into the lists): only a difference from that is a change of the details.
        let mut base = self.details.clone();
        base.follow_profile(change.email.as_ref(), change.phone.as_ref());
        let mut profile = current.clone();
        change.apply_to(&mut profile);
        let mut details = edit.applied_to(&self.details);
        if edit.contacts.is_none() {
            details.follow_profile(change.email.as_ref(), change.phone.as_ref());
        }
        let details = details.normalised();
        let today = crate::kyc::india_today(services.clock.now());
        invalid.extend(details.check(today));
        if edit.guardian.is_some() {
            invalid.extend(guardian_rule(&profile, &details, today));
        }
        if !invalid.is_empty() {
            return Err(ClientError::Invalid(invalid));
        }
        let mut events = Vec::new();
        if !change.is_empty() {
            events.push(ClientEvent::ClientProfileChanged(change));
        }
        let parts = details.changed_parts(&base);
        if !parts.is_empty() {
            // A new declared net worth moves the client up at once; down only through the
            // review (with its margin), which also knows the assets held now.
            let to = services.segments.of(details.net_worth, self.aum);
            let moves_up = details.net_worth != base.net_worth && to > self.segment();
            events.push(ClientEvent::ClientDetailsChanged {
                details,
                changed: parts,
            });
            if moves_up {
                events.push(ClientEvent::ClientSegmentChanged {
                    from: self.segment(),
                    to,
                    aum: self.aum,
                });
            }
        }
        Ok(events)
    }

    /// What keeps the person's data from being destroyed now, if anything. Once the records'
    /// retention has ended the data goes whether or not anyone asked (the purpose is served).
    pub fn erasure_blocker(
        &self,
        now: DateTime<Utc>,
        policy: RetentionPolicy,
    ) -> Option<&'static str> {
        if self.subject.legal_hold() {
            return Some("a legal hold stands");
        }
        self.retention_blocker(now, policy)
    }

    /// The record-keeping duty that keeps the person's data now, if any.
    fn retention_blocker(
        &self,
        now: DateTime<Utc>,
        policy: RetentionPolicy,
    ) -> Option<&'static str> {
        match self.closed_at {
            None => Some("the client relationship is open; its records are kept while it lasts and for the retention period after it ends"),
            Some(closed) if now < policy.all_records_end(closed) => {
                Some("the records are kept until the retention period ends")
            }
            Some(_) => None,
        }
    }
}

impl Aggregate for Client {
    const TYPE: &'static str = "client";
    type Command = ClientCommand;
    type Event = ClientEvent;
    type Error = ClientError;
    type Services = ClientServices;

    async fn handle(
        &mut self,
        command: Self::Command,
        services: &Self::Services,
        sink: &EventSink<Self>,
    ) -> Result<(), Self::Error> {
        for event in self.decide(command, services)? {
            sink.write(event, self).await;
        }
        Ok(())
    }

    fn apply(&mut self, event: Self::Event) {
        match event {
            ClientEvent::ClientOnboarded {
                lead_id,
                profile,
                branch,
                relationship_manager,
                details,
                ..
            } => {
                self.onboarded = true;
                if let Some(lead_id) = lead_id {
                    self.subject.link(lead_id);
                }
                self.profile = Some(profile);
                self.branch = Some(branch);
                self.relationship_manager = relationship_manager;
                self.details = details;
            }
            ClientEvent::ClientProfileChanged(change) => {
                if let Some(p) = self.profile.as_mut() {
                    change.apply_to(p);
                }
                self.details
                    .follow_profile(change.email.as_ref(), change.phone.as_ref());
            }
            ClientEvent::ClientDetailsChanged { details, .. } => self.details = details,
            ClientEvent::ClientSegmentChanged { to, aum, .. } => {
                self.segment = Some(to);
                if aum.is_some() {
                    self.aum = aum;
                }
            }
            ClientEvent::RelationshipManagerAssigned { manager_id, .. } => {
                self.relationship_manager = Some(manager_id);
            }
            ClientEvent::RelationshipClosed { closed_at, .. } => self.closed_at = Some(closed_at),
            ClientEvent::AccountSuspended { .. } => self.held = Some(AccountStatus::Suspended),
            ClientEvent::AccountMarkedDormant { .. } => self.held = Some(AccountStatus::Inactive),
            ClientEvent::AccountReactivated { .. } => self.held = None,
            ClientEvent::RelationshipReopened { .. } => {
                self.closed_at = None;
                self.held = None;
            }
            ClientEvent::ClientDocumentAdded(d) => {
                self.documents.insert(d.document_id, false);
                self.document_sizes.insert(d.document_id, d.size);
            }
            ClientEvent::ClientDocumentsPurged { document_ids } => {
                for id in document_ids {
                    self.documents.insert(id, true);
                }
            }
            ClientEvent::ErasureRequested { .. } => self.subject.restrict(),
            ClientEvent::ClientErased { .. } => self.subject.mark_erased(),
            ClientEvent::Privacy(e) => self.subject.apply(&e),
            ClientEvent::Work(e) => self.work.apply(&e),
        }
    }
}

/// Adults only, unless a minor with a guardian: a client under 18 (India time, on `today`)
/// needs one (a parent or a court-appointed guardian, with their PAN); an adult has none.
/// Checked when the client is onboarded and when the guardian is set.
fn guardian_rule(
    profile: &ClientProfile,
    details: &ClientDetails,
    today: chrono::NaiveDate,
) -> Vec<crate::input::Invalid> {
    let Ok(born) = chrono::NaiveDate::parse_from_str(profile.date_of_birth.as_str(), "%Y-%m-%d")
    else {
        return vec![];
    };
    let minor = age_on(born, today) < 18;
    let message = match (minor, &details.guardian) {
        (true, None) => "the client is a minor (under 18): name their guardian",
        (false, Some(_)) => "a guardian is named only for a client under 18",
        (true, Some(g))
            if !matches!(
                g.relationship,
                Relation::Father | Relation::Mother | Relation::CourtAppointed
            ) =>
        {
            "a minor's guardian is their father, mother or a court-appointed guardian"
        }
        (true, Some(g)) if g.pan.is_none() => "a minor's guardian gives their PAN",
        (true, Some(g)) if g.pan.as_ref() == Some(&profile.pan) => {
            "the guardian's PAN is not the minor's own"
        }
        _ => return vec![],
    };
    vec![crate::input::Invalid {
        field: "guardian",
        message: message.into(),
    }]
}
