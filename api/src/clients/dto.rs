//! The wire types of the client endpoints.

use chrono::{DateTime, Utc};
use poem_openapi::{Enum, Object};
use projections::clients::{ClientView, DocumentView};
use uuid::Uuid;

use crate::dto::{MarketingChannel, Str, W};

/// What a KYC document is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
#[oai(rename_all = "snake_case")]
pub enum DocumentKind {
    PanCard,
    Passport,
    VoterId,
    DrivingLicence,
    AddressProof,
    BankProof,
    IncomeProof,
    Photograph,
    Signature,
    /// An Aadhaar card copy with the first eight digits masked (whole copies are refused).
    AadhaarMasked,
    /// The record of an in-person or video verification.
    VerificationRecord,
    Other,
}

impl From<DocumentKind> for domain::client::DocumentKind {
    fn from(k: DocumentKind) -> Self {
        use domain::client::DocumentKind as D;
        match k {
            DocumentKind::PanCard => D::PanCard,
            DocumentKind::Passport => D::Passport,
            DocumentKind::VoterId => D::VoterId,
            DocumentKind::DrivingLicence => D::DrivingLicence,
            DocumentKind::AddressProof => D::AddressProof,
            DocumentKind::BankProof => D::BankProof,
            DocumentKind::IncomeProof => D::IncomeProof,
            DocumentKind::Photograph => D::Photograph,
            DocumentKind::Signature => D::Signature,
            DocumentKind::AadhaarMasked => D::AadhaarMasked,
            DocumentKind::VerificationRecord => D::VerificationRecord,
            DocumentKind::Other => D::Other,
        }
    }
}

impl From<domain::client::DocumentKind> for DocumentKind {
    fn from(k: domain::client::DocumentKind) -> Self {
        use domain::client::DocumentKind as D;
        match k {
            D::PanCard => DocumentKind::PanCard,
            D::Passport => DocumentKind::Passport,
            D::VoterId => DocumentKind::VoterId,
            D::DrivingLicence => DocumentKind::DrivingLicence,
            D::AddressProof => DocumentKind::AddressProof,
            D::BankProof => DocumentKind::BankProof,
            D::IncomeProof => DocumentKind::IncomeProof,
            D::Photograph => DocumentKind::Photograph,
            D::Signature => DocumentKind::Signature,
            D::AadhaarMasked => DocumentKind::AadhaarMasked,
            D::VerificationRecord => DocumentKind::VerificationRecord,
            D::Other => DocumentKind::Other,
        }
    }
}

/// Where the client's account stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
#[oai(rename_all = "snake_case")]
pub enum ClientStatus {
    Active,
    /// Dormant: no interaction or trade for the configured period (the scheduled step marks it).
    Inactive,
    /// Suspended, with a reason (`status_reason`).
    Suspended,
    /// The account is closed; the records are kept for the retention period.
    Closed,
    /// The personal data was destroyed (retention ended, or an erasure was carried out).
    Erased,
}

impl ClientStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Active => "active",
            Self::Inactive => "inactive",
            Self::Suspended => "suspended",
            Self::Closed => "closed",
            Self::Erased => "erased",
        }
    }

    fn of(v: &ClientView) -> Self {
        match v.status() {
            "erased" => Self::Erased,
            "closed" => Self::Closed,
            "suspended" => Self::Suspended,
            "inactive" => Self::Inactive,
            _ => Self::Active,
        }
    }
}

/// Where a caller may move an account.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
#[oai(rename_all = "snake_case")]
pub enum AccountMoveTo {
    /// From inactive or suspended; from closed it reopens (within the retention period).
    Active,
    /// From active or inactive.
    Suspended,
    /// From any open state; the retention periods start.
    Closed,
}

/// A move of the account's status.
#[derive(Debug, Clone, Object)]
#[oai(example, deny_unknown_fields)]
pub struct AccountMove {
    pub status: AccountMoveTo,
    /// Why (kept sealed with the person's data): required to suspend, close or reopen.
    pub reason: Option<Str>,
}

impl poem_openapi::types::Example for AccountMove {
    fn example() -> Self {
        Self {
            status: AccountMoveTo::Suspended,
            reason: Some("Exchange inquiry into trades of 12 November".into()),
        }
    }
}

/// A new client. E-mail, mobile and address are required (SEBI requires both contact channels
/// for a trading account); one client per PAN.
#[derive(Debug, Clone, Object)]
#[oai(example, deny_unknown_fields)]
pub struct NewClient {
    /// The converted lead this client comes from: the client gets the id the conversion named.
    pub lead_id: Option<Uuid>,
    pub name: Str,
    pub email: Str,
    /// An Indian mobile number in any common form.
    pub phone: Str,
    /// Permanent Account Number, e.g. `ABCPE1234F`.
    pub pan: Str,
    /// `YYYY-MM-DD`.
    pub date_of_birth: Str,
    pub address: Str,
    /// Branch code; default: the caller's branch (required for callers without one).
    pub branch: Option<Str>,
    /// Default: the caller, when a relationship manager onboards.
    pub relationship_manager: Option<Uuid>,
    /// Contacts, addresses, finances, nominees, accounts; a client under 18 needs a guardian.
    pub details: Option<super::details::DetailsDoc>,
}

impl poem_openapi::types::Example for NewClient {
    fn example() -> Self {
        Self {
            lead_id: None,
            name: "Asha Rao".into(),
            email: "asha.rao@example.in".into(),
            phone: "+91 98765 43210".into(),
            pan: "ABCPR1234F".into(),
            date_of_birth: "1988-04-12".into(),
            address: "12 Marine Drive, Mumbai 400002".into(),
            branch: Some("MUM-01".into()),
            relationship_manager: None,
            details: Some(super::details::example()),
        }
    }
}

/// The client's editable record as a whole (`PUT`): what is left out of `details` is cleared.
/// PAN and date of birth are identity and not edited.
#[derive(Debug, Clone, Object)]
#[oai(example, deny_unknown_fields)]
pub struct ClientReplace {
    pub name: Str,
    /// The primary e-mail address (the primary of `details.emails` when that is sent).
    pub email: Str,
    /// The primary phone (the primary of `details.phones` when that is sent).
    pub phone: Str,
    pub address: Str,
    pub details: Option<super::details::DetailsDoc>,
}

impl poem_openapi::types::Example for ClientReplace {
    fn example() -> Self {
        Self {
            name: "Asha Rao".into(),
            email: "asha.rao@example.in".into(),
            phone: "+91 98765 43210".into(),
            address: "12 Marine Drive, Mumbai 400002".into(),
            details: Some(super::details::example()),
        }
    }
}

/// All of a client's e-mail addresses and phones (one of each primary: it becomes the
/// client's `email` and `phone`) and how to reach them.
#[derive(Debug, Clone, Object)]
#[oai(example, deny_unknown_fields)]
pub struct ContactsReplace {
    /// One to five.
    pub emails: Vec<super::details::EmailEntry>,
    /// One to five.
    pub phones: Vec<super::details::PhoneEntry>,
    pub preferred_channel: Option<W<domain::client::ContactChannel>>,
    pub preferred_time: Option<W<domain::client::ContactTime>>,
}

impl poem_openapi::types::Example for ContactsReplace {
    fn example() -> Self {
        let d = super::details::example();
        Self {
            emails: d.emails.unwrap_or_default(),
            phones: d.phones.unwrap_or_default(),
            preferred_channel: d.preferred_channel,
            preferred_time: d.preferred_time,
        }
    }
}

/// All of a client's addresses (none, one, or a correspondence and a permanent one).
#[derive(Debug, Clone, Object)]
#[oai(example, deny_unknown_fields)]
pub struct AddressesReplace {
    pub addresses: Vec<super::details::AddressEntry>,
}

impl poem_openapi::types::Example for AddressesReplace {
    fn example() -> Self {
        Self {
            addresses: super::details::example().addresses.unwrap_or_default(),
        }
    }
}

/// All of a client's nominees (none, or up to ten whose shares add up to 100).
#[derive(Debug, Clone, Object)]
#[oai(example, deny_unknown_fields)]
pub struct NomineesReplace {
    pub nominees: Vec<super::details::NomineeEntry>,
}

impl poem_openapi::types::Example for NomineesReplace {
    fn example() -> Self {
        Self {
            nominees: super::details::example().nominees.unwrap_or_default(),
        }
    }
}

/// Fields to change; absent fields stay. PAN and date of birth are not edited here.
#[derive(Debug, Clone, Object)]
#[oai(example, deny_unknown_fields)]
pub struct ClientPatch {
    pub name: Option<Str>,
    pub email: Option<Str>,
    pub phone: Option<Str>,
    pub address: Option<Str>,
}

impl poem_openapi::types::Example for ClientPatch {
    fn example() -> Self {
        Self {
            name: None,
            email: None,
            phone: Some("9123456780".into()),
            address: Some("4 Nariman Point, Mumbai 400021".into()),
        }
    }
}

#[derive(Debug, Clone, Object)]
#[oai(example, deny_unknown_fields)]
pub struct CloseRequest {
    /// Why the relationship ends (kept sealed with the person's data).
    pub reason: Str,
}

impl poem_openapi::types::Example for CloseRequest {
    fn example() -> Self {
        Self {
            reason: "Account closure requested by the client in writing".into(),
        }
    }
}

#[derive(Debug, Clone, Object)]
#[oai(example, deny_unknown_fields)]
pub struct AssignManager {
    /// An active relationship manager (or branch manager) of the client's branch.
    pub relationship_manager: Uuid,
}

impl poem_openapi::types::Example for AssignManager {
    fn example() -> Self {
        Self {
            relationship_manager: Uuid::from_u128(0x0193_a1b2_7c4d_7e5f_8a90_b1c2_d3e4_f502),
        }
    }
}

/// A document kept for the client. Its file is sealed with the client's key.
#[derive(Debug, Clone, Object)]
pub struct DocumentOut {
    pub id: Uuid,
    pub kind: DocumentKind,
    pub number: Option<String>,
    pub file_name: String,
    /// As detected from the file's content.
    pub content_type: String,
    pub size: u64,
    /// sha256 of the file, hex.
    pub sha256: String,
    pub added_at: DateTime<Utc>,
    pub added_by: String,
    /// When the file was deleted because its retention period ended.
    pub purged_at: Option<DateTime<Utc>>,
}

impl From<&DocumentView> for DocumentOut {
    fn from(d: &DocumentView) -> Self {
        Self {
            id: d.document_id,
            kind: d.kind.into(),
            number: d.number.clone(),
            file_name: d.file_name.clone(),
            content_type: d.content_type.clone(),
            size: d.size,
            sha256: d.sha256.clone(),
            added_at: d.added_at,
            added_by: d.added_by.clone(),
            purged_at: d.purged_at,
        }
    }
}

/// An open follow-up of the client.
#[derive(Debug, Clone, Object)]
pub struct ClientFollowUpOut {
    pub id: Uuid,
    pub due_at: DateTime<Utc>,
    pub channel: crate::dto::FollowUpChannel,
    pub note: Option<String>,
    /// Who scheduled it.
    pub scheduled_by: String,
    /// The lead merged into this client that the follow-up moved from.
    #[oai(skip_serializing_if_is_none)]
    pub moved_from_lead: Option<Uuid>,
}

/// Where the person stands on data protection.
#[derive(Debug, Clone, Object)]
pub struct ClientPrivacyOut {
    /// When erasure was asked for; processing is restricted from then on.
    pub erasure_requested_at: Option<DateTime<Utc>>,
    /// When the records' retention ends and the data goes, unless a legal hold stands (known
    /// once the relationship ended).
    pub retention_until: Option<DateTime<Utc>>,
    pub legal_hold: bool,
    pub erased_at: Option<DateTime<Utc>>,
    /// `request` or `retention_ended`.
    pub erasure_basis: Option<String>,
    /// Channels marketing may use; empty means none.
    pub marketing_consents: Vec<MarketingChannel>,
}

/// A client with its documents and privacy state.
#[derive(Debug, Clone, Object)]
#[oai(example)]
pub struct ClientOut {
    pub id: Uuid,
    pub lead_id: Option<Uuid>,
    pub name: String,
    pub email: String,
    pub phone: String,
    pub pan: String,
    pub date_of_birth: String,
    pub address: String,
    /// Under 18 (India time, today): a guardian acts for them.
    pub minor: bool,
    /// Contacts, addresses, finances, nominees, accounts, guardian.
    pub details: super::details::DetailsDoc,
    /// By investment capacity: the larger of declared net worth and assets under management.
    pub segment: W<domain::client::Segment>,
    pub branch: String,
    pub relationship_manager: Option<Uuid>,
    pub status: ClientStatus,
    /// Why the account was last suspended, reactivated or reopened.
    pub status_reason: Option<String>,
    /// When the status last changed.
    pub status_changed_at: Option<DateTime<Utc>>,
    /// For an inactive account: the day of the last activity the dormancy step saw.
    pub last_activity_on: Option<chrono::NaiveDate>,
    pub closed_at: Option<DateTime<Utc>>,
    pub close_reason: Option<String>,
    pub documents: Vec<DocumentOut>,
    /// Open follow-ups, soonest first.
    pub follow_ups: Vec<ClientFollowUpOut>,
    /// The leads merged into this client (their interactions show in the client's list).
    pub merged_leads: Vec<crate::dto::MergedLeadOut>,
    pub privacy: ClientPrivacyOut,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// The client's sequence number (events applied); its `ETag`.
    pub version: i64,
    /// The log position of the client's last event.
    pub position: i64,
}

impl ClientOut {
    /// The view as shown, with when its records may go under `policy` (once the relationship
    /// ended; the same rule the retention run applies).
    pub fn shown(v: &ClientView, policy: domain::client::RetentionPolicy) -> Self {
        let mut out = Self::from(v);
        if out.privacy.erased_at.is_none() {
            if let Some(closed) = v.closed_at {
                out.privacy.retention_until = Some(policy.all_records_end(closed));
            }
        }
        out
    }
}

impl From<&ClientView> for ClientOut {
    fn from(v: &ClientView) -> Self {
        Self {
            id: v.client_id,
            lead_id: v.lead_id,
            name: v.name.clone(),
            email: v.email.clone(),
            phone: v.phone.clone(),
            pan: v.pan.clone(),
            date_of_birth: v.date_of_birth.clone(),
            address: v.address.clone(),
            minor: v.birth_date().is_some_and(|born| {
                domain::client::age_on(born, domain::kyc::india_today(Utc::now())) < 18
            }),
            details: super::details::shown(v),
            segment: W(v.segment),
            branch: v.branch.clone(),
            relationship_manager: v.relationship_manager,
            status: ClientStatus::of(v),
            status_reason: v.status_reason.clone(),
            status_changed_at: v.status_changed_at,
            last_activity_on: v.last_activity_on,
            closed_at: v.closed_at,
            close_reason: v.close_reason.clone(),
            documents: v.documents.iter().map(DocumentOut::from).collect(),
            follow_ups: v
                .follow_ups
                .iter()
                .map(|f| ClientFollowUpOut {
                    id: f.follow_up_id,
                    due_at: f.due_at,
                    channel: f.channel.into(),
                    note: f.note.clone(),
                    scheduled_by: f.scheduled_by.clone(),
                    moved_from_lead: f.moved_from.map(|(lead, _)| lead),
                })
                .collect(),
            merged_leads: v.merged_leads.iter().map(Into::into).collect(),
            privacy: ClientPrivacyOut {
                erasure_requested_at: v.privacy.erasure_requested_at,
                retention_until: v.privacy.retention_until,
                legal_hold: v.privacy.legal_hold,
                erased_at: v.privacy.erased_at,
                erasure_basis: v.privacy.erasure_basis.map(|b| b.as_str().to_string()),
                marketing_consents: v
                    .privacy
                    .marketing_consents
                    .iter()
                    .map(|c| (*c).into())
                    .collect(),
            },
            created_at: v.created_at,
            updated_at: v.updated_at,
            version: v.version,
            position: v.position,
        }
    }
}

impl poem_openapi::types::Example for ClientOut {
    fn example() -> Self {
        let at = DateTime::parse_from_rfc3339("2026-11-30T10:15:00Z")
            .expect("valid")
            .with_timezone(&Utc);
        Self {
            id: Uuid::from_u128(0x0193_5e2a_41c7_7b3e_9a10_44d2_6f8e_5c01),
            lead_id: Some(Uuid::from_u128(0x0193_5e2a_41c7_7b3e_9a10_44d2_6f8e_5b21)),
            name: "Asha Rao".into(),
            email: "asha.rao@example.in".into(),
            phone: "+919876543210".into(),
            pan: "ABCPR1234F".into(),
            date_of_birth: "1988-04-12".into(),
            address: "12 Marine Drive, Mumbai 400002".into(),
            minor: false,
            details: super::details::DetailsDoc {
                demat_accounts: super::details::example().demat_accounts.map(|mut d| {
                    d[0].depository = Some(W(domain::client::Depository::Nsdl));
                    d
                }),
                ..super::details::example()
            },
            segment: W(domain::client::Segment::Affluent),
            branch: "MUM-01".into(),
            relationship_manager: Some(Uuid::from_u128(0x0193_a1b2_7c4d_7e5f_8a90_b1c2_d3e4_f502)),
            status: ClientStatus::Active,
            status_reason: None,
            status_changed_at: None,
            last_activity_on: None,
            closed_at: None,
            close_reason: None,
            documents: vec![DocumentOut {
                id: Uuid::from_u128(0x0193_5e2a_41c7_7b3e_9a10_44d2_6f8e_5d01),
                kind: DocumentKind::PanCard,
                number: None,
                file_name: "pan-card.pdf".into(),
                content_type: "application/pdf".into(),
                size: 48_213,
                sha256: "9f2c5e1d0b7a4c3e8f6a2d1b0c9e8f7a6b5c4d3e2f1a0b9c8d7e6f5a4b3c2d1e".into(),
                added_at: at,
                added_by: "0193a1b2-7c4d-7e5f-8a90-b1c2d3e4f502".into(),
                purged_at: None,
            }],
            follow_ups: vec![ClientFollowUpOut {
                id: Uuid::from_u128(0x0193_5e2a_41c7_7b3e_9a10_44d2_6f8e_5e01),
                due_at: "2026-12-15T05:30:00Z".parse().expect("valid time"),
                channel: crate::dto::FollowUpChannel::Meeting,
                note: Some("Half-yearly portfolio review".into()),
                scheduled_by: "0193a1b2-7c4d-7e5f-8a90-b1c2d3e4f502".into(),
                moved_from_lead: None,
            }],
            merged_leads: vec![],
            privacy: ClientPrivacyOut {
                erasure_requested_at: None,
                retention_until: None,
                legal_hold: false,
                erased_at: None,
                erasure_basis: None,
                marketing_consents: vec![MarketingChannel::Email],
            },
            created_at: at,
            updated_at: at,
            version: 3,
            position: 812,
        }
    }
}

/// A client as lists show it: enough to find and contact them. The full record (PAN, date of
/// birth, address, documents) is read one client at a time, and each read is recorded.
#[derive(Debug, Clone, Object)]
pub struct ClientSummary {
    pub id: Uuid,
    pub name: String,
    pub email: String,
    pub phone: String,
    /// The PAN masked but for its last four characters (`******234F`).
    pub pan_masked: String,
    pub branch: String,
    pub relationship_manager: Option<Uuid>,
    pub status: ClientStatus,
    pub segment: W<domain::client::Segment>,
    /// Erasure was asked for: processing is restricted.
    pub restricted: bool,
    pub documents: usize,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub position: i64,
}

impl From<&ClientView> for ClientSummary {
    fn from(v: &ClientView) -> Self {
        let pan_masked = if v.pan.starts_with('[') {
            v.pan.clone()
        } else {
            let tail: String = v
                .pan
                .chars()
                .skip(v.pan.chars().count().saturating_sub(4))
                .collect();
            format!("******{tail}")
        };
        Self {
            id: v.client_id,
            name: v.name.clone(),
            email: v.email.clone(),
            phone: v.phone.clone(),
            pan_masked,
            branch: v.branch.clone(),
            relationship_manager: v.relationship_manager,
            status: ClientStatus::of(v),
            segment: W(v.segment),
            restricted: v.restricted(),
            documents: v.documents.iter().filter(|d| d.purged_at.is_none()).count(),
            created_at: v.created_at,
            updated_at: v.updated_at,
            position: v.position,
        }
    }
}

/// A page of clients, newest first.
#[derive(Debug, Clone, Object)]
#[oai(example)]
pub struct ClientList {
    pub items: Vec<ClientSummary>,
    /// Pass back as `cursor` for the next page; absent on the last page.
    pub next_cursor: Option<String>,
    /// How many clients match the filters.
    pub total: i64,
}

impl poem_openapi::types::Example for ClientList {
    fn example() -> Self {
        Self {
            items: vec![ClientSummary {
                id: Uuid::from_u128(0x0193_5e2a_41c7_7b3e_9a10_44d2_6f8e_5c01),
                name: "Asha Rao".into(),
                email: "asha.rao@example.in".into(),
                phone: "+919876543210".into(),
                pan_masked: "******234F".into(),
                branch: "MUM-01".into(),
                relationship_manager: None,
                status: ClientStatus::Active,
                segment: W(domain::client::Segment::Affluent),
                restricted: false,
                documents: 1,
                created_at: ClientOut::example().created_at,
                updated_at: ClientOut::example().updated_at,
                position: 812,
            }],
            next_cursor: None,
            total: 1,
        }
    }
}

/// A kind of timeline entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
#[oai(rename_all = "snake_case")]
pub enum TimelineKind {
    /// Calls, meetings, e-mails, notes.
    Interaction,
    /// Follow-ups scheduled, moved, kept or cancelled.
    FollowUp,
    /// Lead stages, onboarding and account status moves.
    Status,
    /// KYC steps.
    Kyc,
    /// Trades, their corrections, the risk profile.
    Trade,
    /// Marketing consent, erasure requests, legal holds, exports.
    Consent,
    /// Profile changes, assignments, documents.
    Profile,
}

impl TimelineKind {
    pub fn read(self) -> projections::client_timeline::TimelineKind {
        use projections::client_timeline::TimelineKind as K;
        match self {
            Self::Interaction => K::Interaction,
            Self::FollowUp => K::FollowUp,
            Self::Status => K::Status,
            Self::Kyc => K::Kyc,
            Self::Trade => K::Trade,
            Self::Consent => K::Consent,
            Self::Profile => K::Profile,
        }
    }
}

/// One thing that happened to the person.
#[derive(Debug, Clone, Object)]
pub struct TimelineEntry {
    /// The event's log position (entries come newest first).
    pub position: i64,
    /// `interaction`, `follow_up`, `status`, `kyc`, `trade`, `consent` or `profile`.
    pub kind: String,
    /// The event, e.g. `InteractionLogged`, `AccountSuspended`, `KycVerified`, `TradeRecorded`.
    pub event_type: String,
    /// The record it happened to: `lead` (before the person became a client), `client`,
    /// `kyc` or `portfolio`.
    pub record: String,
    pub record_id: Uuid,
    pub at: DateTime<Utc>,
    /// Who did it (a user id, or `system`) and in which role.
    pub actor_id: String,
    pub actor_role: String,
    /// What the event says, its personal fields shown as `[personal]` (they stay sealed in the
    /// log; the record itself shows them to those who may see them).
    pub detail: serde_json::Value,
}

/// A page of a person's timeline, newest first.
#[derive(Debug, Clone, Object)]
#[oai(example)]
pub struct TimelinePage {
    pub items: Vec<TimelineEntry>,
    /// Pass back as `cursor` for the next (older) page; absent on the last page.
    pub next_cursor: Option<String>,
}

impl poem_openapi::types::Example for TimelinePage {
    fn example() -> Self {
        let at = |s: &str| {
            DateTime::parse_from_rfc3339(s)
                .expect("valid")
                .with_timezone(&Utc)
        };
        let client = Uuid::from_u128(0x0193_5e2a_41c7_7b3e_9a10_44d2_6f8e_5c01);
        let rm = "0193a1b2-7c4d-7e5f-8a90-b1c2d3e4f502".to_string();
        Self {
            items: vec![
                TimelineEntry {
                    position: 1877,
                    kind: "trade".into(),
                    event_type: "TradeRecorded".into(),
                    record: "portfolio".into(),
                    record_id: client,
                    at: at("2026-11-28T09:41:00Z"),
                    actor_id: rm.clone(),
                    actor_role: "relationship_manager".into(),
                    detail: serde_json::json!({
                        "trade_id": "0193d0a1-2b3c-7d4e-8f50-617283940a1b",
                        "trade": {"side": "buy", "isin": "INF204KB14I2", "symbol": "NIFTYBEES",
                                  "quantity": "100", "price": "281.40", "trade_date": "2026-11-28"}
                    }),
                },
                TimelineEntry {
                    position: 1502,
                    kind: "kyc".into(),
                    event_type: "KycVerified".into(),
                    record: "kyc".into(),
                    record_id: client,
                    at: at("2026-11-20T12:05:00Z"),
                    actor_id: "0193a1b2-7c4d-7e5f-8a90-b1c2d3e4f777".into(),
                    actor_role: "compliance_officer".into(),
                    detail: serde_json::json!({"risk": "medium"}),
                },
                TimelineEntry {
                    position: 1204,
                    kind: "interaction".into(),
                    event_type: "InteractionLogged".into(),
                    record: "lead".into(),
                    record_id: Uuid::from_u128(0x0193_5e2a_41c7_7b3e_9a10_44d2_6f8e_5b21),
                    at: at("2026-11-12T06:30:00Z"),
                    actor_id: rm,
                    actor_role: "relationship_manager".into(),
                    detail: serde_json::json!({"kind": "call", "direction": "outbound",
                                               "summary": "[personal]"}),
                },
            ],
            next_cursor: Some("1204".into()),
        }
    }
}
