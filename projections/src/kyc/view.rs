//! A client's KYC as the read side shows it, folded from its events.

use chrono::{DateTime, NaiveDate, Utc};
use domain::kyc::{
    AlertKind, ClientType, DocumentVerdict, KraStatus, KycDocumentType, KycEvent, KycItem,
    KycStatus, RekycReason, RequiredItems, Review, RiskCategory,
};
use serde::{Deserialize, Serialize};
use store::EventMetadata;
use uuid::Uuid;

/// Where the personal data is in a stored [`KycView`] (sealed with the client's key).
pub const PERSONAL: &[&str] = &[
    "/documents/*/number",
    "/documents/*/number_index",
    "/documents/*/reason",
    "/reasons/*",
    "/ckyc_number",
    "/risk/pep",
    "/risk/income_range",
    "/risk/occupation",
    "/risk/country",
    "/risk/derivatives",
];

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct KycView {
    pub client_id: Uuid,
    /// The case in hand (open, or the last one closed).
    pub case_id: Uuid,
    pub status: KycStatus,
    pub client_type: ClientType,
    /// How many cases the client has had.
    pub cases: u32,
    pub documents: Vec<KycDocumentView>,
    pub opened_at: DateTime<Utc>,
    pub submitted_at: Option<DateTime<Utc>>,
    pub submitted_by: Option<Uuid>,
    /// Who made something in the case (submitted it, uploaded to it): they may not decide it.
    pub makers: Vec<Uuid>,
    pub reviewer: Option<Uuid>,
    pub review_started_at: Option<DateTime<Utc>>,
    pub decided_at: Option<DateTime<Utc>>,
    pub reasons: Vec<String>,
    pub risk: Option<RiskView>,
    pub kra_status: KraStatus,
    pub ckyc_number: Option<String>,
    /// When the client's KYC was last verified, and when it is due again.
    pub verified_at: Option<DateTime<Utc>>,
    pub next_rekyc_on: Option<NaiveDate>,
    pub rekyc_reason: Option<RekycReason>,
    /// The last verification is due again (re-KYC pending), whatever case is in hand.
    #[serde(default)]
    pub rekyc_due: bool,
    /// The first expiry among the documents of the last verified case.
    #[serde(default)]
    pub verified_next_expiry: Option<NaiveDate>,
    /// The alerts raised for the case in hand.
    #[serde(default)]
    pub alerts: Vec<AlertView>,
    pub updated_at: DateTime<Utc>,
    pub version: i64,
    pub position: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct KycDocumentView {
    pub document_id: Uuid,
    pub document_type: KycDocumentType,
    pub number: Option<String>,
    /// The blind index of a whole Aadhaar number typed in (never shown).
    #[serde(default)]
    pub number_index: Option<String>,
    pub issue_date: Option<NaiveDate>,
    pub expiry_date: Option<NaiveDate>,
    pub sha256: String,
    pub uploaded_by: Uuid,
    pub uploaded_at: DateTime<Utc>,
    /// `received`, `accepted` or `rejected`.
    pub state: String,
    pub reason: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AlertView {
    pub kind: AlertKind,
    pub document_id: Option<Uuid>,
    pub due_on: NaiveDate,
    pub within_days: u32,
    pub raised_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RiskView {
    pub category: RiskCategory,
    /// `yes` or `no` (sealed like the other answers).
    pub pep: String,
    pub income_range: String,
    pub occupation: String,
    pub country: String,
    /// `yes` or `no`.
    pub derivatives: String,
    pub categorised_at: DateTime<Utc>,
}

impl KycView {
    pub fn start(
        event: &KycEvent,
        meta: &EventMetadata,
        sequence: i64,
        position: i64,
    ) -> Option<Self> {
        let KycEvent::KycCaseOpened {
            case_id,
            client_id,
            client_type,
            ..
        } = event
        else {
            return None;
        };
        Some(Self {
            client_id: *client_id,
            case_id: *case_id,
            status: KycStatus::Pending,
            client_type: *client_type,
            cases: 1,
            documents: Vec::new(),
            opened_at: meta.recorded_at,
            submitted_at: None,
            submitted_by: None,
            makers: Vec::new(),
            reviewer: None,
            review_started_at: None,
            decided_at: None,
            reasons: Vec::new(),
            risk: None,
            kra_status: KraStatus::NotChecked,
            ckyc_number: None,
            verified_at: None,
            next_rekyc_on: None,
            rekyc_reason: None,
            rekyc_due: false,
            verified_next_expiry: None,
            alerts: Vec::new(),
            updated_at: meta.recorded_at,
            version: sequence,
            position,
        })
    }

    pub fn apply(&mut self, event: &KycEvent, meta: &EventMetadata, sequence: i64, position: i64) {
        let at = meta.recorded_at;
        match event {
            KycEvent::KycCaseOpened {
                case_id,
                client_type,
                ..
            } => {
                // The next case: what belonged to the last one goes; what outlives cases stays.
                self.case_id = *case_id;
                self.status = KycStatus::Pending;
                self.client_type = *client_type;
                self.cases += 1;
                self.documents.clear();
                self.opened_at = at;
                self.submitted_at = None;
                self.submitted_by = None;
                self.makers.clear();
                self.reviewer = None;
                self.review_started_at = None;
                self.decided_at = None;
                self.reasons.clear();
                self.alerts.clear();
            }
            KycEvent::KycDocumentAttached { document: d, .. } => {
                self.maker(d.uploaded_by);
                self.documents.push(KycDocumentView {
                    document_id: d.document_id,
                    document_type: d.document_type,
                    number: d.number.as_ref().map(|n| n.as_str().into()),
                    number_index: d.number_index.clone(),
                    issue_date: d.issue_date,
                    expiry_date: d.expiry_date,
                    sha256: d.sha256.clone(),
                    uploaded_by: d.uploaded_by,
                    uploaded_at: at,
                    state: "received".into(),
                    reason: None,
                });
            }
            KycEvent::KycSubmitted { submitted_by, .. } => {
                self.maker(*submitted_by);
                self.status = KycStatus::Submitted;
                self.submitted_at = Some(at);
                self.submitted_by = Some(*submitted_by);
            }
            KycEvent::KycReviewStarted { reviewer, .. } => {
                self.status = KycStatus::UnderReview;
                self.reviewer = Some(*reviewer);
                self.review_started_at = Some(at);
            }
            KycEvent::KycVerified {
                review,
                next_rekyc_on,
            } => {
                self.decided(review, at, KycStatus::Verified);
                self.verified_at = Some(at);
                self.next_rekyc_on = Some(*next_rekyc_on);
                self.rekyc_reason = None;
                self.rekyc_due = false;
                self.verified_next_expiry = self.next_expiry();
            }
            KycEvent::KycRejected { review } => self.decided(review, at, KycStatus::Rejected),
            KycEvent::KycRevisionRequested { review } => {
                self.decided(review, at, KycStatus::RevisionRequested)
            }
            KycEvent::KycRiskCategorised {
                category, factors, ..
            } => {
                self.risk = Some(RiskView {
                    category: *category,
                    pep: factors.pep.clone(),
                    income_range: factors.income_range.clone(),
                    occupation: factors.occupation.clone(),
                    country: factors.country.clone(),
                    derivatives: factors.derivatives.clone(),
                    categorised_at: at,
                });
            }
            KycEvent::KraStatusRecorded { status, .. } => self.kra_status = *status,
            KycEvent::CkycNumberRecorded { number, .. } => {
                self.ckyc_number = Some(number.as_str().into())
            }
            KycEvent::KycAlertRaised { alert } => self.alerts.push(AlertView {
                kind: alert.kind,
                document_id: alert.document_id,
                due_on: alert.due_on,
                within_days: alert.within_days,
                raised_at: at,
            }),
            KycEvent::RekycDue { reason, .. } => {
                if self.status == KycStatus::Verified {
                    self.status = KycStatus::RekycDue;
                }
                self.rekyc_due = true;
                self.rekyc_reason = Some(*reason);
            }
        }
        self.updated_at = at;
        self.version = sequence;
        self.position = position;
    }

    fn maker(&mut self, who: Uuid) {
        if !self.makers.contains(&who) {
            self.makers.push(who);
        }
    }

    fn decided(&mut self, review: &Review, at: DateTime<Utc>, status: KycStatus) {
        self.status = status;
        self.reviewer = Some(review.reviewer);
        self.decided_at = Some(at);
        self.reasons = review.reasons.iter().map(|r| r.as_str().into()).collect();
        for r in &review.documents {
            if let Some(d) = self
                .documents
                .iter_mut()
                .find(|d| d.document_id == r.document_id)
            {
                d.state = match r.verdict {
                    DocumentVerdict::Accepted => "accepted",
                    DocumentVerdict::Rejected => "rejected",
                }
                .into();
                d.reason = r.reason.as_ref().map(|t| t.as_str().into());
            }
        }
    }

    /// The items the case holds (by a document not rejected) and those it still needs.
    pub fn items(&self, rules: &RequiredItems) -> (Vec<KycItem>, Vec<KycItem>) {
        let derivatives = self.risk.as_ref().is_some_and(|r| r.derivatives == "yes");
        let mut present: Vec<KycItem> = self
            .documents
            .iter()
            .filter(|d| d.state != "rejected")
            .map(|d| d.document_type.item())
            .collect();
        present.sort();
        present.dedup();
        let missing = rules
            .for_case(self.client_type, derivatives)
            .into_iter()
            .filter(|i| !present.contains(i))
            .collect();
        (present, missing)
    }

    /// The expiry dates of the documents that still count (not rejected).
    pub fn expiries(&self) -> impl Iterator<Item = NaiveDate> + '_ {
        self.documents
            .iter()
            .filter(|d| d.state != "rejected")
            .filter_map(|d| d.expiry_date)
    }

    /// The first expiry date among the documents that still count.
    pub fn next_expiry(&self) -> Option<NaiveDate> {
        self.expiries().min()
    }

    /// Why the client may not trade, if they may not: KYC never verified, or the last
    /// verification due again (whatever case is in hand).
    pub fn trading_block(&self) -> Option<&'static str> {
        if self.verified_at.is_none() {
            Some("kyc_not_verified")
        } else if self.rekyc_due {
            Some("rekyc_due")
        } else {
            None
        }
    }
}
