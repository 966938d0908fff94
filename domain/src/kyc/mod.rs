//! A client's KYC: one aggregate per client (its id is the client's, so its personal data is
//! sealed with the client's key and shredded with it), holding the open case and what outlives
//! cases: the risk category, the KRA status, the CKYC number and when KYC is due again.
//!
//! A case collects documents (`pending`), is `submitted`, taken `under_review` by a checker who
//! neither submitted it nor uploaded any of its documents, and ends `verified`, `rejected` or in
//! `revision_requested` (the client re-uploads and it is submitted again). A verified case
//! becomes `rekyc_due` when its period runs out or one of its documents expires. A document
//! filed when no case is open opens the next one; closed cases stay in the history.

mod commands;
mod errors;
mod events;
mod personal;
mod rules;
#[cfg(test)]
mod tests;

use std::collections::BTreeSet;

use chrono::{DateTime, Duration, NaiveDate, Utc};
use cqrs_es::event_sink::EventSink;
use cqrs_es::Aggregate;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

pub use commands::{Decision, DocumentFinding, KycCommand, ProfileAttributes};
pub use errors::KycError;
pub use events::{
    AlertKind, DocumentReview, DocumentVerdict, KycAlert, KycDocument, KycEvent, RekycReason,
    Review, RiskFactors,
};
pub use personal::{upcasters, EVENT_TABLES};
pub use rules::{
    ClientType, IncomeRange, KraStatus, KycDocumentType, KycItem, KycRules, Occupation,
    RekycIntervals, RequiredItems, RiskCategory, RiskProfile,
};

use crate::user::Role;
use crate::Clock;

snake_enum!(
    /// Where a KYC case stands.
    KycStatus {
        Pending => "pending",
        Submitted => "submitted",
        UnderReview => "under_review",
        Verified => "verified",
        Rejected => "rejected",
        RevisionRequested => "revision_requested",
        RekycDue => "rekyc_due"
    }
);

impl KycStatus {
    /// Whether the case still takes documents and decisions (a closed case is history).
    pub fn is_open(self) -> bool {
        !matches!(
            self,
            KycStatus::Verified | KycStatus::Rejected | KycStatus::RekycDue
        )
    }

    /// The steps a case in this state can take, by their names.
    pub fn allowed(self) -> Vec<&'static str> {
        use KycStatus::*;
        match self {
            Pending | RevisionRequested => vec!["attach_document", "submit"],
            Submitted => vec!["start_review", "approve", "reject", "request_revision"],
            UnderReview => vec!["approve", "reject", "request_revision"],
            Verified => vec!["attach_document (opens a new case)", "check_due"],
            Rejected | RekycDue => vec!["attach_document (opens a new case)"],
        }
    }
}

/// Today's date in India, where KYC dates fall.
pub fn india_today(now: DateTime<Utc>) -> NaiveDate {
    (now + Duration::minutes(330)).date_naive()
}

/// What the KYC aggregate needs from outside.
#[derive(Debug, Clone)]
pub struct KycServices {
    pub clock: Clock,
    pub rules: KycRules,
}

/// A document as the case keeps it for its rules.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CaseDocument {
    pub document: KycDocument,
    /// Rejected in the last review (it no longer counts towards the required items).
    pub rejected: bool,
}

/// The case in hand.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Case {
    pub case_id: Uuid,
    pub status: KycStatus,
    pub client_type: ClientType,
    pub documents: Vec<CaseDocument>,
    /// Who submitted the case or uploaded one of its documents: none of them may decide it.
    pub makers: BTreeSet<Uuid>,
}

impl Case {
    /// The required items not yet provided by a document that still counts (`derivatives`:
    /// the client trades derivatives, so an income proof is needed).
    pub fn missing(&self, rules: &RequiredItems, derivatives: bool) -> Vec<KycItem> {
        rules
            .for_case(self.client_type, derivatives)
            .into_iter()
            .filter(|item| {
                !self
                    .documents
                    .iter()
                    .any(|d| !d.rejected && d.document.document_type.item() == *item)
            })
            .collect()
    }

    fn document(&self, id: Uuid) -> Option<&CaseDocument> {
        self.documents.iter().find(|d| d.document.document_id == id)
    }
}

/// The decision state of a client's KYC: only what its rules need.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Kyc {
    case: Option<Case>,
    risk: Option<RiskCategory>,
    /// Whether the client trades derivatives (from the last risk profile).
    derivatives: bool,
    /// When the last verification is due again (none before the first).
    next_rekyc_on: Option<NaiveDate>,
    /// The last verified case and its documents' expiry dates: what the client's KYC rests on
    /// until re-KYC, whatever case is in hand.
    verified_case: Option<Uuid>,
    verified_expiries: Vec<(Uuid, NaiveDate)>,
    /// The last verification is due again (re-KYC pending).
    rekyc_due: bool,
    /// The alerts raised (their keys), so that none is raised twice.
    alerts: BTreeSet<String>,
}

impl Kyc {
    /// The case in hand (open, or the last one closed).
    pub fn case(&self) -> Option<&Case> {
        self.case.as_ref()
    }

    fn not_allowed(status: KycStatus) -> KycError {
        KycError::NotAllowed {
            status,
            allowed: status.allowed(),
        }
    }

    /// The events `command` would append, or why it is refused (callers that must do work
    /// first, such as storing a file, ask this before).
    pub fn decide(
        &self,
        command: KycCommand,
        services: &KycServices,
    ) -> Result<Vec<KycEvent>, KycError> {
        let today = india_today(services.clock.now());
        match command {
            KycCommand::AttachDocument {
                new_case_id,
                client_id,
                client_type,
                document,
            } => self.attach((new_case_id, client_id), client_type, document, today),
            KycCommand::Submit { by, profile } => {
                let case = self.case.as_ref().ok_or(KycError::NoCase)?;
                if !matches!(
                    case.status,
                    KycStatus::Pending | KycStatus::RevisionRequested
                ) {
                    return Err(Self::not_allowed(case.status));
                }
                let items = case.missing(&services.rules.required, self.derivatives);
                let mut attributes = Vec::new();
                for (present, name) in [
                    (profile.name, "name"),
                    (profile.pan, "pan"),
                    (profile.address, "address"),
                    (profile.mobile, "mobile"),
                    (profile.email, "email"),
                    (self.risk.is_some(), "income_range"),
                ] {
                    if !present {
                        attributes.push(name);
                    }
                }
                if !items.is_empty() || !attributes.is_empty() {
                    return Err(KycError::Incomplete { items, attributes });
                }
                Ok(vec![KycEvent::KycSubmitted {
                    case_id: case.case_id,
                    submitted_by: by,
                }])
            }
            KycCommand::StartReview { by, role } => {
                let case = self.case.as_ref().ok_or(KycError::NoCase)?;
                if case.status != KycStatus::Submitted {
                    return Err(Self::not_allowed(case.status));
                }
                Self::checker(case, by, role)?;
                Ok(vec![KycEvent::KycReviewStarted {
                    case_id: case.case_id,
                    reviewer: by,
                }])
            }
            KycCommand::Decide {
                by,
                role,
                decision,
                reasons,
                documents,
            } => self.review(by, role, decision, reasons, documents, services, today),
            KycCommand::Categorise { profile, by } => {
                let case = self.case.as_ref().ok_or(KycError::NoCase)?;
                // What a checker decides on does not change under them.
                if matches!(case.status, KycStatus::Submitted | KycStatus::UnderReview) {
                    return Err(Self::not_allowed(case.status));
                }
                Ok(vec![KycEvent::KycRiskCategorised {
                    category: profile.category(),
                    factors: RiskFactors::from(&profile),
                    by,
                }])
            }
            KycCommand::RecordKra { status, by } => {
                self.case.as_ref().ok_or(KycError::NoCase)?;
                Ok(vec![KycEvent::KraStatusRecorded { status, by }])
            }
            KycCommand::RecordCkyc { number, by } => {
                self.case.as_ref().ok_or(KycError::NoCase)?;
                Ok(vec![KycEvent::CkycNumberRecorded { number, by }])
            }
            KycCommand::RaiseAlerts { today, within_days } => {
                Ok(self.alerts_due(today, within_days))
            }
            KycCommand::CheckDue { today } => {
                let case = self.case.as_ref().ok_or(KycError::NoCase)?;
                let Some(verified_case) = self.verified_case else {
                    return Err(Self::not_allowed(case.status));
                };
                if self.rekyc_due {
                    return Err(KycError::NotDue);
                }
                if self.next_rekyc_on.is_some_and(|due| due <= today) {
                    return Ok(vec![KycEvent::RekycDue {
                        case_id: verified_case,
                        reason: RekycReason::Periodic,
                        document_id: None,
                    }]);
                }
                match self.verified_expiries.iter().find(|(_, e)| *e < today) {
                    Some((document_id, _)) => Ok(vec![KycEvent::RekycDue {
                        case_id: verified_case,
                        reason: RekycReason::DocumentExpired,
                        document_id: Some(*document_id),
                    }]),
                    None => Err(KycError::NotDue),
                }
            }
        }
    }

    /// The alerts the last verification owes for `within_days` ahead and has not raised yet
    /// (whatever case is in hand; none once re-KYC is due).
    fn alerts_due(&self, today: NaiveDate, within_days: u32) -> Vec<KycEvent> {
        let Some(case_id) = self.verified_case.filter(|_| !self.rekyc_due) else {
            return Vec::new();
        };
        let horizon = today + Duration::days(i64::from(within_days));
        let soon = |d: NaiveDate| d >= today && d <= horizon;
        let mut alerts: Vec<KycAlert> = self
            .verified_expiries
            .iter()
            .filter(|(_, e)| soon(*e))
            .map(|(document_id, due_on)| KycAlert {
                kind: AlertKind::DocumentExpiring,
                case_id,
                document_id: Some(*document_id),
                due_on: *due_on,
                within_days,
            })
            .collect();
        if let Some(due_on) = self.next_rekyc_on.filter(|d| soon(*d)) {
            alerts.push(KycAlert {
                kind: AlertKind::RekycDueSoon,
                case_id,
                document_id: None,
                due_on,
                within_days,
            });
        }
        alerts
            .into_iter()
            .filter(|a| !self.alerts.contains(&a.key()))
            .map(|alert| KycEvent::KycAlertRaised { alert })
            .collect()
    }

    fn attach(
        &self,
        (new_case_id, client_id): (Uuid, Uuid),
        client_type: ClientType,
        document: KycDocument,
        today: NaiveDate,
    ) -> Result<Vec<KycEvent>, KycError> {
        if let (Some(issued), Some(expires)) = (document.issue_date, document.expiry_date) {
            if expires <= issued {
                return Err(KycError::Invalid {
                    field: "expiry_date",
                    message: "a document expires after it was issued",
                });
            }
        }
        if document.issue_date.is_some_and(|d| d > today) {
            return Err(KycError::Invalid {
                field: "issue_date",
                message: "a document's issue date cannot be in the future",
            });
        }
        if document.expiry_date.is_some_and(|d| d < today) {
            return Err(KycError::Invalid {
                field: "expiry_date",
                message: "the document has expired; an expired document cannot be filed",
            });
        }
        if document.document_type.expires() && document.expiry_date.is_none() {
            return Err(KycError::Invalid {
                field: "expiry_date",
                message: "passports and driving licences are filed with their expiry date",
            });
        }
        let mut events = Vec::new();
        let case_id = match self.case.as_ref() {
            Some(case) if case.status.is_open() => {
                if !matches!(
                    case.status,
                    KycStatus::Pending | KycStatus::RevisionRequested
                ) {
                    return Err(Self::not_allowed(case.status));
                }
                if case.client_type != client_type {
                    return Err(KycError::ClientTypeChanged(case.client_type));
                }
                if case.document(document.document_id).is_some() {
                    return Err(KycError::DuplicateDocument);
                }
                case.case_id
            }
            _ => {
                let case_id = new_case_id;
                events.push(KycEvent::KycCaseOpened {
                    case_id,
                    client_id,
                    client_type,
                    derivatives: self.derivatives,
                    opened_by: document.uploaded_by,
                });
                case_id
            }
        };
        events.push(KycEvent::KycDocumentAttached { case_id, document });
        Ok(events)
    }

    /// Only a compliance officer or an admin who made nothing in the case may check it.
    fn checker(case: &Case, by: Uuid, role: Role) -> Result<(), KycError> {
        if !matches!(role, Role::ComplianceOfficer | Role::Admin) {
            return Err(KycError::NotAChecker);
        }
        if case.makers.contains(&by) {
            return Err(KycError::MakerChecker);
        }
        Ok(())
    }

    #[allow(clippy::too_many_arguments)]
    fn review(
        &self,
        by: Uuid,
        role: Role,
        decision: Decision,
        reasons: Vec<crate::values::Text>,
        findings: Vec<DocumentFinding>,
        services: &KycServices,
        today: NaiveDate,
    ) -> Result<Vec<KycEvent>, KycError> {
        let case = self.case.as_ref().ok_or(KycError::NoCase)?;
        if !matches!(case.status, KycStatus::Submitted | KycStatus::UnderReview) {
            return Err(Self::not_allowed(case.status));
        }
        Self::checker(case, by, role)?;
        for f in &findings {
            if case.document(f.document_id).is_none() {
                return Err(KycError::UnknownDocument(f.document_id));
            }
            if f.verdict == DocumentVerdict::Rejected && f.reason.is_none() {
                return Err(KycError::Invalid {
                    field: "documents",
                    message: "a rejected document needs its reason",
                });
            }
        }
        let any_rejected = findings
            .iter()
            .any(|f| f.verdict == DocumentVerdict::Rejected);
        match decision {
            Decision::Approve if any_rejected => {
                return Err(KycError::Invalid {
                    field: "documents",
                    message: "an approval cannot reject a document: request a revision instead",
                })
            }
            Decision::Approve if self.risk.is_none() => return Err(KycError::RiskNotSet),
            Decision::Approve
                if !case
                    .missing(&services.rules.required, self.derivatives)
                    .is_empty() =>
            {
                return Err(KycError::Incomplete {
                    items: case.missing(&services.rules.required, self.derivatives),
                    attributes: Vec::new(),
                })
            }
            Decision::Reject | Decision::RequestRevision if reasons.is_empty() && !any_rejected => {
                return Err(KycError::Invalid {
                    field: "reasons",
                    message: "a rejection or a revision request gives its reasons",
                })
            }
            _ => {}
        }
        // Every document of the case that still counts (one rejected in an earlier round stays
        // rejected), with the hash of the file the reviewer saw.
        let documents = case
            .documents
            .iter()
            .filter(|d| !d.rejected)
            .map(|d| {
                let finding = findings
                    .iter()
                    .find(|f| f.document_id == d.document.document_id);
                DocumentReview {
                    document_id: d.document.document_id,
                    verdict: finding.map_or(DocumentVerdict::Accepted, |f| f.verdict),
                    reason: finding.and_then(|f| f.reason.clone()),
                    sha256: d.document.sha256.clone(),
                }
            })
            .collect();
        let review = Review {
            case_id: case.case_id,
            reviewer: by,
            reasons,
            documents,
        };
        let mut events = Vec::new();
        if case.status == KycStatus::Submitted {
            events.push(KycEvent::KycReviewStarted {
                case_id: case.case_id,
                reviewer: by,
            });
        }
        events.push(match decision {
            Decision::Approve => {
                let category = self.risk.expect("checked above");
                KycEvent::KycVerified {
                    review,
                    next_rekyc_on: services.rules.intervals.next(category, today),
                }
            }
            Decision::Reject => KycEvent::KycRejected { review },
            Decision::RequestRevision => KycEvent::KycRevisionRequested { review },
        });
        Ok(events)
    }
}

impl Aggregate for Kyc {
    const TYPE: &'static str = "kyc";
    type Command = KycCommand;
    type Event = KycEvent;
    type Error = KycError;
    type Services = KycServices;

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
            KycEvent::KycCaseOpened {
                case_id,
                client_type,
                ..
            } => {
                self.case = Some(Case {
                    case_id,
                    status: KycStatus::Pending,
                    client_type,
                    documents: Vec::new(),
                    makers: BTreeSet::new(),
                });
            }
            KycEvent::KycDocumentAttached { document, .. } => {
                if let Some(case) = self.case.as_mut() {
                    case.makers.insert(document.uploaded_by);
                    case.documents.push(CaseDocument {
                        document,
                        rejected: false,
                    });
                }
            }
            KycEvent::KycSubmitted { submitted_by, .. } => {
                if let Some(case) = self.case.as_mut() {
                    case.makers.insert(submitted_by);
                    case.status = KycStatus::Submitted;
                }
            }
            KycEvent::KycReviewStarted { .. } => self.set_status(KycStatus::UnderReview),
            KycEvent::KycVerified {
                next_rekyc_on,
                review,
            } => {
                self.mark(&review);
                self.set_status(KycStatus::Verified);
                self.next_rekyc_on = Some(next_rekyc_on);
                self.verified_case = Some(review.case_id);
                self.rekyc_due = false;
                self.verified_expiries = self
                    .case
                    .iter()
                    .flat_map(|c| &c.documents)
                    .filter(|d| !d.rejected)
                    .filter_map(|d| Some((d.document.document_id, d.document.expiry_date?)))
                    .collect();
            }
            KycEvent::KycRejected { review } => {
                self.mark(&review);
                self.set_status(KycStatus::Rejected);
            }
            KycEvent::KycRevisionRequested { review } => {
                self.mark(&review);
                self.set_status(KycStatus::RevisionRequested);
            }
            KycEvent::KycRiskCategorised {
                category,
                factors,
                by,
            } => {
                self.risk = Some(category);
                self.derivatives = factors.trades_derivatives();
                // Who set the profile of an open case made part of it.
                if let Some(case) = self.case.as_mut().filter(|c| c.status.is_open()) {
                    case.makers.insert(by);
                }
            }
            KycEvent::KraStatusRecorded { .. } | KycEvent::CkycNumberRecorded { .. } => {}
            KycEvent::KycAlertRaised { alert } => {
                self.alerts.insert(alert.key());
            }
            KycEvent::RekycDue { .. } => {
                self.rekyc_due = true;
                if self
                    .case
                    .as_ref()
                    .is_some_and(|c| c.status == KycStatus::Verified)
                {
                    self.set_status(KycStatus::RekycDue);
                }
            }
        }
    }
}

impl Kyc {
    fn set_status(&mut self, status: KycStatus) {
        if let Some(case) = self.case.as_mut() {
            case.status = status;
        }
    }

    fn mark(&mut self, review: &Review) {
        if let Some(case) = self.case.as_mut() {
            for r in &review.documents {
                if let Some(d) = case
                    .documents
                    .iter_mut()
                    .find(|d| d.document.document_id == r.document_id)
                {
                    d.rejected = r.verdict == DocumentVerdict::Rejected;
                }
            }
        }
    }
}
