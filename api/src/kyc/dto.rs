//! The wire types of the KYC endpoints.

use chrono::{DateTime, NaiveDate, Utc};
use poem_openapi::types::multipart::Upload;
use poem_openapi::{Enum, Multipart, Object};
use projections::kyc::{KycDocumentView, KycView, RiskView};
use uuid::Uuid;

use crate::dto::Str;

/// A KYC document and its file, as a web form sends it (`multipart/form-data`).
#[derive(Debug, Multipart)]
pub struct KycUploadForm {
    /// The client's id.
    pub client_id: String,
    /// `pan_card`, `aadhaar`, `passport`, `voter_id`, `driving_licence`, `photograph`,
    /// `signature`, `bank_proof`, `income_proof` or `verification_record`.
    pub document_type: String,
    /// The number on the document: the PAN for a PAN card (the client's), an Aadhaar number
    /// (whole — it is checked and only its masked form kept — or masked `XXXX-XXXX-1234`),
    /// passport (`K1234567`), voter id (`ABC1234567`), driving licence (`MH12 20110012345`),
    /// the IFSC for a bank proof. Absent for the others.
    pub number: Option<String>,
    /// `YYYY-MM-DD`, not in the future.
    pub issue_date: Option<String>,
    /// `YYYY-MM-DD`; required for passports and driving licences; not past.
    pub expiry_date: Option<String>,
    /// Must be `true` for an Aadhaar card: only masked copies are taken.
    pub masked_copy: Option<bool>,
    /// The file: a PDF, JPEG or PNG (photographs and signatures: JPEG or PNG).
    pub file: Upload,
}

/// A reviewer's decision.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
#[oai(rename_all = "snake_case")]
pub enum DecisionIn {
    Approve,
    Reject,
    RequestRevision,
}

/// What the reviewer found of one document.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
#[oai(rename_all = "snake_case")]
pub enum VerdictIn {
    Accepted,
    Rejected,
}

#[derive(Debug, Clone, Object)]
#[oai(deny_unknown_fields)]
pub struct DocumentDecisionIn {
    pub document_id: Uuid,
    pub decision: VerdictIn,
    /// Required when the document is rejected.
    pub reason: Option<Str>,
}

/// A decision on the client's submitted case. The reviewer may not have submitted it or
/// uploaded any of its documents; documents not named are accepted.
#[derive(Debug, Clone, Object)]
#[oai(example, deny_unknown_fields)]
pub struct VerifyRequest {
    pub decision: DecisionIn,
    /// Why (required for a rejection or a revision request unless a document says why).
    #[oai(default)]
    pub reasons: Vec<Str>,
    #[oai(default)]
    pub documents: Vec<DocumentDecisionIn>,
}

impl poem_openapi::types::Example for VerifyRequest {
    fn example() -> Self {
        Self {
            decision: DecisionIn::RequestRevision,
            reasons: vec!["The photograph must show the face clearly".into()],
            documents: vec![DocumentDecisionIn {
                document_id: Uuid::nil(),
                decision: VerdictIn::Rejected,
                reason: Some("blurred".into()),
            }],
        }
    }
}

/// Annual income as KYC forms ask it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
pub enum IncomeRangeIn {
    #[oai(rename = "below_1_lakh")]
    Below1Lakh,
    #[oai(rename = "1_to_5_lakh")]
    From1To5Lakh,
    #[oai(rename = "5_to_10_lakh")]
    From5To10Lakh,
    #[oai(rename = "10_to_25_lakh")]
    From10To25Lakh,
    #[oai(rename = "above_25_lakh")]
    Above25Lakh,
}

impl From<IncomeRangeIn> for domain::kyc::IncomeRange {
    fn from(i: IncomeRangeIn) -> Self {
        use domain::kyc::IncomeRange as I;
        match i {
            IncomeRangeIn::Below1Lakh => I::Below1Lakh,
            IncomeRangeIn::From1To5Lakh => I::From1To5Lakh,
            IncomeRangeIn::From5To10Lakh => I::From5To10Lakh,
            IncomeRangeIn::From10To25Lakh => I::From10To25Lakh,
            IncomeRangeIn::Above25Lakh => I::Above25Lakh,
        }
    }
}

/// The client's risk profile; the category (low, medium, high) follows from it and sets how
/// often KYC is renewed (2, 8 or 10 years).
#[derive(Debug, Clone, Object)]
#[oai(example, deny_unknown_fields)]
pub struct RiskProfileIn {
    /// A politically exposed person, or a relative or close associate of one.
    pub pep: bool,
    pub income_range: IncomeRangeIn,
    /// `salaried`, `self_employed`, `business`, `professional`, `retired`, `student`,
    /// `homemaker`, `agriculturist`, `precious_metals_dealer`, `money_services`,
    /// `real_estate` or `other`.
    pub occupation: Str,
    /// Country of residence, ISO 3166-1 alpha-2 (`IN`).
    pub country: Str,
    /// Whether the client trades derivatives (an income proof is then required).
    pub derivatives: bool,
}

impl poem_openapi::types::Example for RiskProfileIn {
    fn example() -> Self {
        Self {
            pep: false,
            income_range: IncomeRangeIn::From10To25Lakh,
            occupation: "salaried".into(),
            country: "IN".into(),
            derivatives: true,
        }
    }
}

/// Where the client stands at the KYC Registration Agency.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
#[oai(rename_all = "snake_case")]
pub enum KraStatusIn {
    NotChecked,
    Submitted,
    Registered,
    Validated,
    OnHold,
    Rejected,
}

impl From<KraStatusIn> for domain::kyc::KraStatus {
    fn from(k: KraStatusIn) -> Self {
        use domain::kyc::KraStatus as K;
        match k {
            KraStatusIn::NotChecked => K::NotChecked,
            KraStatusIn::Submitted => K::Submitted,
            KraStatusIn::Registered => K::Registered,
            KraStatusIn::Validated => K::Validated,
            KraStatusIn::OnHold => K::OnHold,
            KraStatusIn::Rejected => K::Rejected,
        }
    }
}

/// The KRA status and the CKYC number, either or both.
#[derive(Debug, Clone, Object)]
#[oai(example, deny_unknown_fields)]
pub struct RegistriesIn {
    pub kra_status: Option<KraStatusIn>,
    /// The Central KYC Registry number: 14 digits.
    pub ckyc_number: Option<Str>,
}

impl poem_openapi::types::Example for RegistriesIn {
    fn example() -> Self {
        Self {
            kra_status: Some(KraStatusIn::Validated),
            ckyc_number: Some("12345678901234".into()),
        }
    }
}

#[derive(Debug, Clone, Object)]
pub struct KycDocumentOut {
    pub document_id: Uuid,
    pub document_type: String,
    /// Masked for Aadhaar.
    pub number: Option<String>,
    pub issue_date: Option<NaiveDate>,
    pub expiry_date: Option<NaiveDate>,
    pub sha256: String,
    pub uploaded_by: Uuid,
    pub uploaded_at: DateTime<Utc>,
    /// `received`, `accepted` or `rejected`.
    pub state: String,
    pub reason: Option<String>,
    /// The same number (PAN card, passport, voter id, driving licence; for an Aadhaar card the
    /// same whole number) is on another client's document: a flag for the reviewer.
    pub number_on_other_clients: bool,
}

impl From<&KycDocumentView> for KycDocumentOut {
    fn from(d: &KycDocumentView) -> Self {
        Self {
            document_id: d.document_id,
            document_type: d.document_type.as_str().into(),
            number: d.number.clone(),
            issue_date: d.issue_date,
            expiry_date: d.expiry_date,
            sha256: d.sha256.clone(),
            uploaded_by: d.uploaded_by,
            uploaded_at: d.uploaded_at,
            state: d.state.clone(),
            reason: d.reason.clone(),
            number_on_other_clients: false,
        }
    }
}

#[derive(Debug, Clone, Object)]
pub struct RiskOut {
    /// `low`, `medium` or `high`.
    pub category: String,
    pub pep: bool,
    pub income_range: String,
    pub occupation: String,
    pub country: String,
    pub derivatives: bool,
    pub categorised_at: DateTime<Utc>,
}

impl From<&RiskView> for RiskOut {
    fn from(r: &RiskView) -> Self {
        Self {
            category: r.category.as_str().into(),
            pep: r.pep == "yes",
            income_range: r.income_range.clone(),
            occupation: r.occupation.clone(),
            country: r.country.clone(),
            derivatives: r.derivatives == "yes",
            categorised_at: r.categorised_at,
        }
    }
}

/// A client's KYC: the case in hand, what it holds and lacks, risk, registries, and whether
/// the client may trade.
#[derive(Debug, Clone, Object)]
#[oai(example)]
pub struct KycOut {
    pub client_id: Uuid,
    pub case_id: Uuid,
    /// `pending`, `submitted`, `under_review`, `verified`, `rejected`, `revision_requested`
    /// or `rekyc_due`.
    pub status: String,
    /// `individual`, `huf`, `company`, `partnership` or `trust`.
    pub client_type: String,
    /// How many cases the client has had.
    pub cases: u32,
    pub items_present: Vec<String>,
    pub items_missing: Vec<String>,
    pub documents: Vec<KycDocumentOut>,
    pub risk: Option<RiskOut>,
    pub kra_status: String,
    pub ckyc_number: Option<String>,
    pub submitted_at: Option<DateTime<Utc>>,
    pub submitted_by: Option<Uuid>,
    pub reviewer: Option<Uuid>,
    pub decided_at: Option<DateTime<Utc>>,
    pub reasons: Vec<String>,
    pub verified_at: Option<DateTime<Utc>>,
    pub next_rekyc_on: Option<NaiveDate>,
    /// `periodic` or `document_expired`, once re-KYC is due.
    pub rekyc_reason: Option<String>,
    pub trading_blocked: bool,
    /// `kyc_not_verified` or `rekyc_due`.
    pub trading_block_reason: Option<String>,
    /// How long the case has waited for a decision, in days (submitted, under review).
    pub age_days: Option<i64>,
    pub version: i64,
    pub position: i64,
}

impl KycOut {
    pub fn of(v: &KycView, rules: &domain::kyc::RequiredItems, now: DateTime<Utc>) -> Self {
        let (present, missing) = v.items(rules);
        let waiting = matches!(
            v.status,
            domain::kyc::KycStatus::Submitted | domain::kyc::KycStatus::UnderReview
        );
        Self {
            client_id: v.client_id,
            case_id: v.case_id,
            status: v.status.as_str().into(),
            client_type: v.client_type.as_str().into(),
            cases: v.cases,
            items_present: present.iter().map(|i| i.as_str().into()).collect(),
            items_missing: missing.iter().map(|i| i.as_str().into()).collect(),
            documents: v.documents.iter().map(KycDocumentOut::from).collect(),
            risk: v.risk.as_ref().map(RiskOut::from),
            kra_status: v.kra_status.as_str().into(),
            ckyc_number: v.ckyc_number.clone(),
            submitted_at: v.submitted_at,
            submitted_by: v.submitted_by,
            reviewer: v.reviewer,
            decided_at: v.decided_at,
            reasons: v.reasons.clone(),
            verified_at: v.verified_at,
            next_rekyc_on: v.next_rekyc_on,
            rekyc_reason: v.rekyc_reason.map(|r| r.as_str().into()),
            trading_blocked: v.trading_block().is_some(),
            trading_block_reason: v.trading_block().map(String::from),
            age_days: waiting
                .then_some(v.submitted_at)
                .flatten()
                .map(|s| (now - s).num_days()),
            version: v.version,
            position: v.position,
        }
    }
}

impl poem_openapi::types::Example for KycOut {
    fn example() -> Self {
        let at = DateTime::parse_from_rfc3339("2026-11-28T10:15:00Z")
            .expect("a valid time")
            .with_timezone(&Utc);
        Self {
            client_id: Uuid::nil(),
            case_id: Uuid::nil(),
            status: "submitted".into(),
            client_type: "individual".into(),
            cases: 1,
            items_present: vec!["pan_card".into(), "address_proof".into()],
            items_missing: vec![],
            documents: vec![KycDocumentOut {
                document_id: Uuid::nil(),
                document_type: "aadhaar".into(),
                number: Some("XXXX-XXXX-1234".into()),
                issue_date: None,
                expiry_date: None,
                sha256: "9f2c…".into(),
                uploaded_by: Uuid::nil(),
                uploaded_at: at,
                state: "received".into(),
                reason: None,
                number_on_other_clients: false,
            }],
            risk: None,
            kra_status: "not_checked".into(),
            ckyc_number: None,
            submitted_at: Some(at),
            submitted_by: Some(Uuid::nil()),
            reviewer: None,
            decided_at: None,
            reasons: vec![],
            verified_at: None,
            next_rekyc_on: None,
            rekyc_reason: None,
            trading_blocked: true,
            trading_block_reason: Some("kyc_not_verified".into()),
            age_days: Some(3),
            version: 9,
            position: 1042,
        }
    }
}

/// One page of the review queue, the longest waiting first.
#[derive(Debug, Clone, Object)]
pub struct KycQueue {
    pub items: Vec<KycOut>,
    pub next_cursor: Option<String>,
    pub total: i64,
}

/// An alert: a document of a verified case expiring, or re-KYC falling due, within the window.
#[derive(Debug, Clone, Object)]
#[oai(example)]
pub struct KycAlertOut {
    pub client_id: Uuid,
    pub case_id: Uuid,
    /// `document_expiring` or `rekyc_due_soon`.
    pub kind: String,
    pub document_id: Option<Uuid>,
    pub document_type: Option<String>,
    pub due_on: NaiveDate,
    /// The window it was raised for (days ahead).
    pub within_days: u32,
    pub raised_at: DateTime<Utc>,
}

impl poem_openapi::types::Example for KycAlertOut {
    fn example() -> Self {
        Self {
            client_id: Uuid::nil(),
            case_id: Uuid::nil(),
            kind: "document_expiring".into(),
            document_id: Some(Uuid::nil()),
            document_type: Some("passport".into()),
            due_on: NaiveDate::from_ymd_opt(2026, 12, 20).expect("a valid date"),
            within_days: 30,
            raised_at: DateTime::parse_from_rfc3339("2026-11-20T03:30:00Z")
                .expect("a valid time")
                .with_timezone(&Utc),
        }
    }
}

impl KycAlertOut {
    /// The alerts of one client's KYC.
    pub fn all_of(v: &KycView) -> Vec<Self> {
        v.alerts
            .iter()
            .map(|a| Self {
                client_id: v.client_id,
                case_id: v.case_id,
                kind: a.kind.as_str().into(),
                document_id: a.document_id,
                document_type: a.document_id.and_then(|id| {
                    v.documents
                        .iter()
                        .find(|d| d.document_id == id)
                        .map(|d| d.document_type.as_str().into())
                }),
                due_on: a.due_on,
                within_days: a.within_days,
                raised_at: a.raised_at,
            })
            .collect()
    }
}

/// Alerts raised, the soonest due first.
#[derive(Debug, Clone, Object)]
pub struct KycAlerts {
    pub items: Vec<KycAlertOut>,
}

/// What the KRA and CKYC registries said of the client's PAN (now recorded).
#[derive(Debug, Clone, Object)]
#[oai(example)]
pub struct RegistryCheckOut {
    pub client_id: Uuid,
    /// `not_checked`, `submitted`, `registered`, `validated`, `on_hold` or `rejected`.
    pub kra_status: String,
    pub ckyc_number: Option<String>,
    /// The log position of the recording.
    pub position: i64,
}

impl poem_openapi::types::Example for RegistryCheckOut {
    fn example() -> Self {
        Self {
            client_id: Uuid::nil(),
            kra_status: "validated".into(),
            ckyc_number: Some("30012345678901".into()),
            position: 1077,
        }
    }
}
