use chrono::NaiveDate;
use cqrs_es::DomainEvent;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::rules::{ClientType, KraStatus, KycDocumentType, RiskCategory, RiskProfile};
use crate::values::{CkycNumber, Text};

/// A document a case holds: the file is the client's (uploaded and sealed like any client
/// document); the case records what it is for KYC.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct KycDocument {
    pub document_id: Uuid,
    pub document_type: KycDocumentType,
    /// The number on it: masked (`XXXX-XXXX-1234`) for Aadhaar, the IFSC for a bank proof.
    pub number: Option<Text>,
    /// For an Aadhaar card whose whole number was typed in: its blind index (a keyed hash,
    /// sealed like the number), by which the same number on another client is found. The
    /// whole number itself is never kept.
    #[serde(default)]
    pub number_index: Option<String>,
    pub issue_date: Option<NaiveDate>,
    pub expiry_date: Option<NaiveDate>,
    pub sha256: String,
    pub uploaded_by: Uuid,
}

snake_enum!(
    /// What the reviewer found of one document.
    DocumentVerdict { Accepted => "accepted", Rejected => "rejected" }
);

/// A reviewer's finding on one document, with the hash of the file they saw.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DocumentReview {
    pub document_id: Uuid,
    pub verdict: DocumentVerdict,
    pub reason: Option<Text>,
    pub sha256: String,
}

/// A decision on a case: who, why, and what they saw.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Review {
    pub case_id: Uuid,
    pub reviewer: Uuid,
    pub reasons: Vec<Text>,
    pub documents: Vec<DocumentReview>,
}

/// What a risk category was decided from, as stored: every answer is sealed text (`yes` /
/// `no` for the flags), so that all of it reads as erased once the client's key is destroyed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RiskFactors {
    pub pep: String,
    pub income_range: String,
    pub occupation: String,
    pub country: String,
    pub derivatives: String,
}

fn yes_no(b: bool) -> String {
    if b { "yes" } else { "no" }.to_string()
}

impl RiskFactors {
    /// Whether the client trades derivatives (`false` once erased).
    pub fn trades_derivatives(&self) -> bool {
        self.derivatives == "yes"
    }
}

impl From<&RiskProfile> for RiskFactors {
    fn from(p: &RiskProfile) -> Self {
        Self {
            pep: yes_no(p.pep),
            income_range: p.income_range.as_str().to_string(),
            occupation: p.occupation.as_str().to_string(),
            country: p.country.clone(),
            derivatives: yes_no(p.derivatives),
        }
    }
}

snake_enum!(
    /// Why KYC must be done again.
    RekycReason { Periodic => "periodic", DocumentExpired => "document_expired" }
);

snake_enum!(
    /// What an alert warns of.
    AlertKind { DocumentExpiring => "document_expiring", RekycDueSoon => "rekyc_due_soon" }
);

/// A warning that something of a verified case falls due within the alert window.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct KycAlert {
    pub kind: AlertKind,
    pub case_id: Uuid,
    /// The expiring document (for `document_expiring`).
    pub document_id: Option<Uuid>,
    /// When it expires or falls due.
    pub due_on: NaiveDate,
    /// The window it was raised for (days ahead).
    pub within_days: u32,
}

impl KycAlert {
    /// What makes an alert the same alert: raised once per item, due date and window.
    pub fn key(&self) -> String {
        let doc = self.document_id.map(|d| d.to_string()).unwrap_or_default();
        format!(
            "{}:{}:{doc}:{}:{}",
            self.kind, self.case_id, self.due_on, self.within_days
        )
    }
}

/// Everything that can happen to a client's KYC. Every event is at version 1.0.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum KycEvent {
    /// A case opened for the client (the first, or after the last one closed).
    KycCaseOpened {
        case_id: Uuid,
        client_id: Uuid,
        client_type: ClientType,
        derivatives: bool,
        opened_by: Uuid,
    },
    KycDocumentAttached {
        case_id: Uuid,
        document: KycDocument,
    },
    KycSubmitted {
        case_id: Uuid,
        submitted_by: Uuid,
    },
    KycReviewStarted {
        case_id: Uuid,
        reviewer: Uuid,
    },
    KycVerified {
        review: Review,
        next_rekyc_on: NaiveDate,
    },
    KycRejected {
        review: Review,
    },
    KycRevisionRequested {
        review: Review,
    },
    KycRiskCategorised {
        category: RiskCategory,
        factors: RiskFactors,
        by: Uuid,
    },
    KraStatusRecorded {
        status: KraStatus,
        by: Uuid,
    },
    CkycNumberRecorded {
        number: CkycNumber,
        by: Uuid,
    },
    /// Something of a verified case falls due soon (once per item and window).
    KycAlertRaised {
        alert: KycAlert,
    },
    /// A verified case is due again (its period ran out, or one of its documents expired).
    RekycDue {
        case_id: Uuid,
        reason: RekycReason,
        document_id: Option<Uuid>,
    },
}

impl KycEvent {
    pub fn name(&self) -> &'static str {
        match self {
            Self::KycCaseOpened { .. } => "KycCaseOpened",
            Self::KycDocumentAttached { .. } => "KycDocumentAttached",
            Self::KycSubmitted { .. } => "KycSubmitted",
            Self::KycReviewStarted { .. } => "KycReviewStarted",
            Self::KycVerified { .. } => "KycVerified",
            Self::KycRejected { .. } => "KycRejected",
            Self::KycRevisionRequested { .. } => "KycRevisionRequested",
            Self::KycRiskCategorised { .. } => "KycRiskCategorised",
            Self::KraStatusRecorded { .. } => "KraStatusRecorded",
            Self::CkycNumberRecorded { .. } => "CkycNumberRecorded",
            Self::KycAlertRaised { .. } => "KycAlertRaised",
            Self::RekycDue { .. } => "RekycDue",
        }
    }
}

impl DomainEvent for KycEvent {
    fn event_type(&self) -> String {
        self.name().to_string()
    }

    fn event_version(&self) -> String {
        "1.0".to_string()
    }
}
