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
mod decide;
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
    /// Why the client may not trade on `today`: no verified KYC yet, or re-KYC due (recorded,
    /// or its date passed before the scheduled step recorded it).
    pub fn trading_block(&self, today: NaiveDate) -> Option<crate::investments::TradingBlock> {
        use crate::investments::TradingBlock;
        if self.verified_case.is_none() {
            Some(TradingBlock::KycNotVerified)
        } else if self.rekyc_due || self.next_rekyc_on.is_some_and(|due| due <= today) {
            Some(TradingBlock::RekycDue)
        } else {
            None
        }
    }

    fn not_allowed(status: KycStatus) -> KycError {
        KycError::NotAllowed {
            status,
            allowed: status.allowed(),
        }
    }

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
