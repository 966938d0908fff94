use chrono::NaiveDate;
use uuid::Uuid;

use super::events::{DocumentVerdict, KycDocument};
use super::rules::{ClientType, KraStatus, RiskProfile};
use crate::user::Role;
use crate::values::{CkycNumber, Text};

snake_enum!(
    /// What a reviewer decides of a case.
    Decision { Approve => "approve", Reject => "reject", RequestRevision => "request_revision" }
);

/// Which of the mandatory attributes the client's profile holds (the income range comes from
/// the case's risk profile).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProfileAttributes {
    pub name: bool,
    pub pan: bool,
    pub address: bool,
    pub mobile: bool,
    pub email: bool,
}

/// A reviewer's finding on one document, as asked.
#[derive(Debug, Clone, PartialEq)]
pub struct DocumentFinding {
    pub document_id: Uuid,
    pub verdict: DocumentVerdict,
    pub reason: Option<Text>,
}

/// What can be asked of a client's KYC.
#[derive(Debug, Clone, PartialEq)]
pub enum KycCommand {
    /// Files a document in the open case, opening one if none is open.
    AttachDocument {
        /// The id the case gets if this document opens one.
        new_case_id: Uuid,
        client_id: Uuid,
        client_type: ClientType,
        document: KycDocument,
    },
    Submit {
        by: Uuid,
        profile: ProfileAttributes,
    },
    StartReview {
        by: Uuid,
        role: Role,
    },
    /// A decision; on a submitted case it starts the review first.
    Decide {
        by: Uuid,
        role: Role,
        decision: Decision,
        reasons: Vec<Text>,
        documents: Vec<DocumentFinding>,
    },
    Categorise {
        profile: RiskProfile,
        by: Uuid,
    },
    /// What the KRA and the CKYC registry say, either or both, recorded together.
    RecordRegistries {
        kra_status: Option<KraStatus>,
        ckyc_number: Option<CkycNumber>,
        by: Uuid,
    },
    /// The scheduler's warning: alerts for what of a verified case falls due within
    /// `within_days` (none raised twice).
    RaiseAlerts {
        today: NaiveDate,
        within_days: u32,
    },
    /// The scheduler's check: a verified case whose period ran out, or with an expired
    /// document, becomes due.
    CheckDue {
        today: NaiveDate,
    },
}
