//! The wire types of the API (OpenAPI schemas with examples) and their conversions.

use chrono::{DateTime, Utc};
use std::borrow::Cow;

use poem_openapi::registry::{MetaSchema, MetaSchemaRef};
use poem_openapi::types::{MaybeUndefined, ParseError, ParseFromJSON, ParseResult, ToJSON, Type};
use poem_openapi::{Enum, Object};
use projections::leads::{Assignment, FollowUpView, InteractionView, LeadView, StatusMove};
use uuid::Uuid;

/// A JSON string and nothing else. poem-openapi's `String` also accepts numbers and booleans
/// (turning `"name": true` into "true"); request fields use this type so that a wrong type is
/// refused as malformed input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Str(pub String);

impl std::ops::Deref for Str {
    type Target = str;

    fn deref(&self) -> &str {
        &self.0
    }
}

impl From<&str> for Str {
    fn from(s: &str) -> Self {
        Str(s.to_string())
    }
}

impl From<String> for Str {
    fn from(s: String) -> Self {
        Str(s)
    }
}

impl Type for Str {
    const IS_REQUIRED: bool = true;
    type RawValueType = String;
    type RawElementValueType = String;

    fn name() -> Cow<'static, str> {
        "string".into()
    }

    fn schema_ref() -> MetaSchemaRef {
        MetaSchemaRef::Inline(Box::new(MetaSchema::new("string")))
    }

    fn as_raw_value(&self) -> Option<&String> {
        Some(&self.0)
    }

    fn raw_element_iter<'a>(&'a self) -> Box<dyn Iterator<Item = &'a String> + 'a> {
        Box::new(self.as_raw_value().into_iter())
    }

    fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl ParseFromJSON for Str {
    fn parse_from_json(value: Option<serde_json::Value>) -> ParseResult<Self> {
        match value {
            Some(serde_json::Value::String(s)) => Ok(Str(s)),
            other => Err(ParseError::expected_type(other.unwrap_or_default())),
        }
    }
}

impl ToJSON for Str {
    fn to_json(&self) -> Option<serde_json::Value> {
        Some(serde_json::Value::String(self.0.clone()))
    }
}

macro_rules! mirror_enum {
    ($(#[$m:meta])* $name:ident = $dom:ident { $($v:ident),+ $(,)? }) => {
        $(#[$m])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
        #[oai(rename_all = "snake_case")]
        pub enum $name { $($v),+ }

        impl From<$name> for domain::lead::$dom {
            fn from(v: $name) -> Self {
                match v { $($name::$v => domain::lead::$dom::$v),+ }
            }
        }

        impl From<domain::lead::$dom> for $name {
            fn from(v: domain::lead::$dom) -> Self {
                match v { $(domain::lead::$dom::$v => $name::$v),+ }
            }
        }
    };
}

mirror_enum!(
    /// Pipeline status: new → contacted → qualified → converted; lost from any open status.
    LeadStatus = LeadStatus { New, Contacted, Qualified, Converted, Lost }
);
mirror_enum!(
    /// How the lead reached the broker.
    LeadSource = LeadSource { Website, Referral, Campaign, WalkIn, Partner, Import, Other }
);
mirror_enum!(
    /// How the lead prefers to be contacted.
    ContactMethod = ContactMethod { Phone, Email, Whatsapp, Sms, InPerson }
);
mirror_enum!(
    /// How the lead was entered.
    CaptureChannel = CaptureChannel { WebForm, Manual, Import }
);
mirror_enum!(
    /// How a follow-up is to happen.
    FollowUpChannel = FollowUpChannel { Call, Email, Meeting, Whatsapp, Sms }
);
mirror_enum!(
    /// The kind of contact logged.
    InteractionKind = InteractionKind { Call, Email, Meeting, Note }
);
mirror_enum!(
    /// A marketing channel, each with its own consent.
    MarketingChannel = MarketingChannel { Email, Sms, Whatsapp, Phone }
);
mirror_enum!(
    /// Who started the contact.
    InteractionDirection = InteractionDirection { Inbound, Outbound }
);

/// The state of a follow-up.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
#[oai(rename_all = "snake_case")]
pub enum FollowUpState {
    Open,
    Completed,
    Cancelled,
}

impl From<domain::lead::FollowUpState> for FollowUpState {
    fn from(s: domain::lead::FollowUpState) -> Self {
        match s {
            domain::lead::FollowUpState::Open => Self::Open,
            domain::lead::FollowUpState::Completed => Self::Completed,
            domain::lead::FollowUpState::Cancelled => Self::Cancelled,
        }
    }
}

/// A lead captured from a web form or entered by hand. At least one of `email` or `phone`.
#[derive(Debug, Clone, Object)]
#[oai(example, deny_unknown_fields)]
pub struct NewLead {
    /// The prospect's name.
    pub name: Str,
    pub email: Option<Str>,
    /// An Indian mobile number in any common form; stored as E.164 (`+91…`).
    pub phone: Option<Str>,
    pub source: LeadSource,
    /// Campaign name, referrer or partner, depending on the source.
    pub source_detail: Option<Str>,
    /// Products the lead asked about (short tags such as `equity`, `mutual_funds`).
    #[oai(default)]
    pub product_interest: Vec<Str>,
    pub preferred_contact_method: Option<ContactMethod>,
    /// Free text, e.g. "weekday evenings".
    pub preferred_contact_time: Option<Str>,
    pub notes: Option<Str>,
    /// Defaults to `manual`.
    pub channel: Option<CaptureChannel>,
    /// Assign to this agent at once.
    pub assign_to: Option<Uuid>,
    /// Assign to the next active agent in rotation (ignored when `assign_to` is given).
    #[oai(default)]
    pub round_robin: bool,
    /// Capture even when an open lead has the same e-mail address or phone number.
    #[oai(default)]
    pub allow_duplicate: bool,
}

impl poem_openapi::types::Example for NewLead {
    fn example() -> Self {
        Self {
            name: "Asha Rao".into(),
            email: Some("asha.rao@example.in".into()),
            phone: Some("98765 43210".into()),
            source: LeadSource::Campaign,
            source_detail: Some("Diwali SIP campaign".into()),
            product_interest: vec!["mutual_funds".into(), "equity".into()],
            preferred_contact_method: Some(ContactMethod::Phone),
            preferred_contact_time: Some("weekday evenings".into()),
            notes: Some("Asked about ELSS tax saving".into()),
            channel: Some(CaptureChannel::WebForm),
            assign_to: None,
            round_robin: true,
            allow_duplicate: false,
        }
    }
}

/// The full set of contact details (PUT): omitted optional fields are cleared.
#[derive(Debug, Clone, Object)]
#[oai(example, deny_unknown_fields)]
pub struct LeadDetailsReplace {
    pub name: Str,
    pub email: Option<Str>,
    pub phone: Option<Str>,
    pub source: LeadSource,
    pub source_detail: Option<Str>,
    #[oai(default)]
    pub product_interest: Vec<Str>,
    pub preferred_contact_method: Option<ContactMethod>,
    pub preferred_contact_time: Option<Str>,
    pub notes: Option<Str>,
}

impl poem_openapi::types::Example for LeadDetailsReplace {
    fn example() -> Self {
        Self {
            name: "Asha Rao".into(),
            email: Some("asha.rao@example.in".into()),
            phone: Some("+91 98765 43210".into()),
            source: LeadSource::Campaign,
            source_detail: Some("Diwali SIP campaign".into()),
            product_interest: vec!["mutual_funds".into()],
            preferred_contact_method: Some(ContactMethod::Whatsapp),
            preferred_contact_time: None,
            notes: Some("Prefers WhatsApp".into()),
        }
    }
}

/// Some contact details (PATCH): absent fields stay, `null` clears an optional field.
#[derive(Debug, Clone, Object)]
#[oai(example, deny_unknown_fields)]
pub struct LeadDetailsPatch {
    pub name: MaybeUndefined<Str>,
    pub email: MaybeUndefined<Str>,
    pub phone: MaybeUndefined<Str>,
    pub source: MaybeUndefined<LeadSource>,
    pub source_detail: MaybeUndefined<Str>,
    pub product_interest: MaybeUndefined<Vec<Str>>,
    pub preferred_contact_method: MaybeUndefined<ContactMethod>,
    pub preferred_contact_time: MaybeUndefined<Str>,
    pub notes: MaybeUndefined<Str>,
}

impl poem_openapi::types::Example for LeadDetailsPatch {
    fn example() -> Self {
        Self {
            name: MaybeUndefined::Undefined,
            email: MaybeUndefined::Null,
            phone: MaybeUndefined::Value("9123456780".into()),
            source: MaybeUndefined::Undefined,
            source_detail: MaybeUndefined::Undefined,
            product_interest: MaybeUndefined::Undefined,
            preferred_contact_method: MaybeUndefined::Undefined,
            preferred_contact_time: MaybeUndefined::Undefined,
            notes: MaybeUndefined::Value("Call after 6 pm".into()),
        }
    }
}

/// A status move. `reason` is required for `lost`. Moving a lost lead back to the status it was
/// lost from reopens it.
#[derive(Debug, Clone, Object)]
#[oai(example, deny_unknown_fields)]
pub struct StatusChange {
    pub status: LeadStatus,
    pub reason: Option<Str>,
}

impl poem_openapi::types::Example for StatusChange {
    fn example() -> Self {
        Self {
            status: LeadStatus::Contacted,
            reason: Some("Called; interested in SIP".into()),
        }
    }
}

/// Conversion of a qualified lead into a client account.
#[derive(Debug, Clone, Object)]
#[oai(example, deny_unknown_fields)]
pub struct Conversion {
    pub reason: Option<Str>,
}

impl poem_openapi::types::Example for Conversion {
    fn example() -> Self {
        Self {
            reason: Some("Account opening form signed".into()),
        }
    }
}

/// Assignment to an agent by id, or to the next active agent in rotation.
#[derive(Debug, Clone, Object)]
#[oai(example, deny_unknown_fields)]
pub struct AssignmentRequest {
    pub agent_id: Option<Uuid>,
    #[oai(default)]
    pub round_robin: bool,
    pub reason: Option<Str>,
}

impl poem_openapi::types::Example for AssignmentRequest {
    fn example() -> Self {
        Self {
            agent_id: Some(Uuid::from_u128(0x7d1f_3c2a_8b4e_4f0a_9c6d_2e5b_1a3f_0c11)),
            round_robin: false,
            reason: Some("Hindi speaker".into()),
        }
    }
}

#[derive(Debug, Clone, Object)]
#[oai(example, deny_unknown_fields)]
pub struct NewFollowUp {
    /// When the follow-up is due (RFC 3339, not in the past).
    pub due_at: DateTime<Utc>,
    pub channel: FollowUpChannel,
    pub note: Option<Str>,
}

impl poem_openapi::types::Example for NewFollowUp {
    fn example() -> Self {
        Self {
            due_at: "2027-09-01T05:30:00Z".parse().expect("valid time"),
            channel: FollowUpChannel::Call,
            note: Some("Send SIP illustration first".into()),
        }
    }
}

#[derive(Debug, Clone, Object)]
#[oai(example, deny_unknown_fields)]
pub struct Reschedule {
    pub due_at: DateTime<Utc>,
    pub reason: Option<Str>,
}

impl poem_openapi::types::Example for Reschedule {
    fn example() -> Self {
        Self {
            due_at: "2027-09-02T09:00:00Z".parse().expect("valid time"),
            reason: Some("Lead travelling".into()),
        }
    }
}

/// Why a follow-up was completed or cancelled.
#[derive(Debug, Clone, Object)]
#[oai(example, deny_unknown_fields)]
pub struct FollowUpClose {
    pub note: Option<Str>,
}

impl poem_openapi::types::Example for FollowUpClose {
    fn example() -> Self {
        Self {
            note: Some("Spoke for 10 minutes; sending forms".into()),
        }
    }
}

#[derive(Debug, Clone, Object)]
#[oai(example, deny_unknown_fields)]
pub struct NewInteraction {
    pub kind: InteractionKind,
    pub direction: Option<InteractionDirection>,
    pub summary: Str,
    /// When it happened; defaults to now.
    pub occurred_at: Option<DateTime<Utc>>,
    #[oai(validator(maximum(value = "1440")))]
    pub duration_minutes: Option<u32>,
}

impl poem_openapi::types::Example for NewInteraction {
    fn example() -> Self {
        Self {
            kind: InteractionKind::Call,
            direction: Some(InteractionDirection::Outbound),
            summary: "Explained demat account charges".into(),
            occurred_at: Some("2026-11-25T06:15:00Z".parse().expect("valid time")),
            duration_minutes: Some(12),
        }
    }
}

/// A command's answer: the record's id and the log position of the command's last event (pass
/// it as `min_position` to read your own write).
#[derive(Debug, Clone, Object, serde::Serialize, serde::Deserialize)]
#[oai(example)]
pub struct Accepted {
    pub id: Uuid,
    pub position: i64,
    /// Whether the command changed anything: `false` when the record already was as asked
    /// (nothing was appended; `position` is then the record's latest event).
    #[serde(default = "changed_by_default")]
    pub changed: bool,
    /// For conversions: the id of the client account the lead became.
    #[oai(skip_serializing_if_is_none)]
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub client_id: Option<Uuid>,
}

fn changed_by_default() -> bool {
    true
}

impl Accepted {
    /// The answer to a command on the record `id` that committed as `done`.
    pub fn of(id: Uuid, done: &commands::Committed) -> Self {
        Self {
            id,
            position: done.position,
            changed: done.appended > 0,
            client_id: None,
        }
    }
}

impl poem_openapi::types::Example for Accepted {
    fn example() -> Self {
        Self {
            id: Uuid::from_u128(0x0193_5e2a_41c7_7b3e_9a10_44d2_6f8e_5b21),
            position: 42,
            changed: true,
            client_id: None,
        }
    }
}

#[derive(Debug, Clone, Object)]
pub struct StatusMoveOut {
    pub from: Option<LeadStatus>,
    pub to: LeadStatus,
    pub reason: Option<String>,
    pub actor_id: String,
    pub at: DateTime<Utc>,
}

#[derive(Debug, Clone, Object)]
pub struct AssignmentOut {
    pub agent_id: Uuid,
    pub previous_agent_id: Option<Uuid>,
    pub round_robin: bool,
    pub reason: Option<String>,
    pub actor_id: String,
    pub at: DateTime<Utc>,
}

#[derive(Debug, Clone, Object)]
pub struct FollowUpOut {
    pub follow_up_id: Uuid,
    pub due_at: DateTime<Utc>,
    pub channel: FollowUpChannel,
    pub note: Option<String>,
    pub state: FollowUpState,
    /// The outcome (completed) or reason (cancelled).
    pub outcome: Option<String>,
    pub scheduled_at: DateTime<Utc>,
    pub closed_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, Object)]
pub struct InteractionOut {
    pub interaction_id: Uuid,
    pub kind: InteractionKind,
    pub direction: Option<InteractionDirection>,
    pub summary: String,
    pub occurred_at: DateTime<Utc>,
    pub duration_minutes: Option<u32>,
    pub logged_by: String,
    pub logged_at: DateTime<Utc>,
}

/// A lead with its pipeline history, assignments, follow-ups and interactions.
#[derive(Debug, Clone, Object)]
#[oai(example)]
pub struct LeadOut {
    pub id: Uuid,
    pub name: String,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub source: LeadSource,
    pub source_detail: Option<String>,
    pub product_interest: Vec<String>,
    pub preferred_contact_method: Option<ContactMethod>,
    pub preferred_contact_time: Option<String>,
    pub notes: Option<String>,
    pub channel: CaptureChannel,
    pub status: LeadStatus,
    /// The moves allowed from the current status.
    pub allowed_moves: Vec<LeadStatus>,
    pub lost_reason: Option<String>,
    pub client_id: Option<Uuid>,
    pub assignee: Option<Uuid>,
    /// Engagement score, 0–100.
    pub score: i64,
    pub archived: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub next_follow_up: Option<DateTime<Utc>>,
    /// The lead's sequence number (events applied).
    pub version: i64,
    /// The log position of the lead's last event.
    pub position: i64,
    pub status_history: Vec<StatusMoveOut>,
    pub assignments: Vec<AssignmentOut>,
    pub follow_ups: Vec<FollowUpOut>,
    pub interactions: Vec<InteractionOut>,
    pub privacy: PrivacyOut,
}

/// Where the person stands on data protection.
#[derive(Debug, Clone, Object)]
pub struct PrivacyOut {
    /// When erasure was asked for; processing is restricted from then on.
    pub erasure_requested_at: Option<DateTime<Utc>>,
    /// A record-keeping duty (a client's records) delays the shred to the end of retention.
    pub retention_required: bool,
    pub legal_hold: bool,
    /// When the personal data was erased (the key destroyed).
    pub erased_at: Option<DateTime<Utc>>,
    /// Channels marketing may use; empty means none.
    pub marketing_consents: Vec<MarketingChannel>,
    /// When the person's data was exported for them.
    pub exports: Vec<DateTime<Utc>>,
}

/// A lead as lists show it.
#[derive(Debug, Clone, Object)]
#[oai(example)]
pub struct LeadSummary {
    pub id: Uuid,
    pub name: String,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub source: LeadSource,
    pub status: LeadStatus,
    pub assignee: Option<Uuid>,
    pub score: i64,
    pub archived: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub next_follow_up: Option<DateTime<Utc>>,
    pub position: i64,
}

#[derive(Debug, Clone, Object)]
#[oai(example)]
pub struct LeadPage {
    pub items: Vec<LeadSummary>,
    /// Pass as `cursor` for the next page; absent on the last page.
    pub next_cursor: Option<String>,
    /// How many leads match the filters (all pages).
    pub total: i64,
}

#[derive(Debug, Clone, Object)]
#[oai(example)]
pub struct InteractionPage {
    pub items: Vec<InteractionOut>,
    pub next_cursor: Option<String>,
    pub total: i64,
}

#[derive(Debug, Clone, Object)]
pub struct DueFollowUp {
    pub follow_up_id: Uuid,
    pub lead_id: Uuid,
    pub lead_name: String,
    pub assignee: Option<Uuid>,
    pub due_at: DateTime<Utc>,
    pub channel: String,
    pub note: Option<String>,
}

#[derive(Debug, Clone, Object)]
#[oai(example)]
pub struct FollowUpPage {
    pub items: Vec<DueFollowUp>,
    pub next_cursor: Option<String>,
    pub total: i64,
}

/// One event of a record's history, with who did it and when.
#[derive(Debug, Clone, Object)]
pub struct HistoryEntry {
    pub position: i64,
    pub sequence: i64,
    pub event_type: String,
    pub event_version: String,
    pub recorded_at: DateTime<Utc>,
    pub actor_id: String,
    pub actor_role: String,
    pub request_id: String,
    pub client_ip: Option<String>,
    /// For detail changes: the fields the event changed.
    pub changed_fields: Vec<String>,
    /// Every field of the record this event changed, old → new (paths like
    /// `follow_ups/0/state`).
    pub changes: Vec<FieldChange>,
    /// The event's content.
    pub data: serde_json::Value,
}

/// One field an event changed.
#[derive(Debug, Clone, PartialEq, Object)]
pub struct FieldChange {
    pub field: String,
    /// `null` when the field did not exist before.
    pub old: serde_json::Value,
    /// `null` when the event removed it.
    pub new: serde_json::Value,
}

impl From<projections::timeline::TimelineEntry> for HistoryEntry {
    fn from(e: projections::timeline::TimelineEntry) -> Self {
        Self {
            position: e.position,
            sequence: e.sequence,
            event_type: e.event_type,
            event_version: e.event_version,
            recorded_at: e.meta.recorded_at,
            actor_id: e.meta.actor_id,
            actor_role: e.meta.actor_role,
            request_id: e.meta.request_id,
            client_ip: e.meta.client_ip,
            changed_fields: e.changed_fields,
            changes: e
                .changes
                .into_iter()
                .map(|c| FieldChange {
                    field: c.field,
                    old: c.old,
                    new: c.new,
                })
                .collect(),
            data: e.data,
        }
    }
}

#[derive(Debug, Clone, Object)]
#[oai(example)]
pub struct History {
    pub items: Vec<HistoryEntry>,
}

/// The agents that round-robin assignment rotates through.
#[derive(Debug, Clone, Object)]
#[oai(example)]
pub struct Agents {
    pub items: Vec<Uuid>,
}

impl From<&StatusMove> for StatusMoveOut {
    fn from(m: &StatusMove) -> Self {
        Self {
            from: m.from.map(Into::into),
            to: m.to.into(),
            reason: m.reason.clone(),
            actor_id: m.actor_id.clone(),
            at: m.at,
        }
    }
}

impl From<&Assignment> for AssignmentOut {
    fn from(a: &Assignment) -> Self {
        Self {
            agent_id: a.agent_id,
            previous_agent_id: a.previous_agent_id,
            round_robin: a.round_robin,
            reason: a.reason.clone(),
            actor_id: a.actor_id.clone(),
            at: a.at,
        }
    }
}

impl From<&FollowUpView> for FollowUpOut {
    fn from(f: &FollowUpView) -> Self {
        Self {
            follow_up_id: f.follow_up_id,
            due_at: f.due_at,
            channel: f.channel.into(),
            note: f.note.clone(),
            state: f.state.into(),
            outcome: f.outcome.clone(),
            scheduled_at: f.scheduled_at,
            closed_at: f.closed_at,
        }
    }
}

impl From<&InteractionView> for InteractionOut {
    fn from(i: &InteractionView) -> Self {
        Self {
            interaction_id: i.interaction_id,
            kind: i.kind.into(),
            direction: i.direction.map(Into::into),
            summary: i.summary.clone(),
            occurred_at: i.occurred_at,
            duration_minutes: i.duration_minutes,
            logged_by: i.logged_by.clone(),
            logged_at: i.logged_at,
        }
    }
}

impl From<&LeadView> for LeadOut {
    fn from(v: &LeadView) -> Self {
        let lost_from = v
            .status_history
            .iter()
            .rev()
            .find(|m| m.to == domain::lead::LeadStatus::Lost)
            .and_then(|m| m.from);
        Self {
            id: v.lead_id,
            name: v.name.clone(),
            email: v.email.clone(),
            phone: v.phone.clone(),
            source: v.source.into(),
            source_detail: v.source_detail.clone(),
            product_interest: v.product_interest.clone(),
            preferred_contact_method: v.preferred_contact_method.map(Into::into),
            preferred_contact_time: v.preferred_contact_time.clone(),
            notes: v.notes.clone(),
            channel: v.channel.into(),
            status: v.status.into(),
            // A restricted or erased person's lead takes no more sales moves.
            allowed_moves: if v.archived || v.privacy.erasure_requested_at.is_some() {
                vec![]
            } else {
                domain::lead::Lead::allowed_moves(v.status, lost_from)
                    .into_iter()
                    .map(Into::into)
                    .collect()
            },
            lost_reason: v.lost_reason.clone(),
            client_id: v.client_id,
            assignee: v.assignee,
            score: v.score,
            archived: v.archived,
            created_at: v.created_at,
            updated_at: v.updated_at,
            next_follow_up: v.next_follow_up(),
            version: v.version,
            position: v.position,
            status_history: v.status_history.iter().map(Into::into).collect(),
            assignments: v.assignments.iter().map(Into::into).collect(),
            follow_ups: v.follow_ups.iter().map(Into::into).collect(),
            interactions: v.interactions.iter().map(Into::into).collect(),
            privacy: PrivacyOut {
                erasure_requested_at: v.privacy.erasure_requested_at,
                retention_required: v.privacy.retention_required,
                legal_hold: v.privacy.legal_hold,
                erased_at: v.privacy.erased_at,
                marketing_consents: v
                    .privacy
                    .marketing_consents
                    .iter()
                    .map(|c| (*c).into())
                    .collect(),
                exports: v.privacy.exports.clone(),
            },
        }
    }
}

impl From<&LeadView> for LeadSummary {
    fn from(v: &LeadView) -> Self {
        Self {
            id: v.lead_id,
            name: v.name.clone(),
            email: v.email.clone(),
            phone: v.phone.clone(),
            source: v.source.into(),
            status: v.status.into(),
            assignee: v.assignee,
            score: v.score,
            archived: v.archived,
            created_at: v.created_at,
            updated_at: v.updated_at,
            next_follow_up: v.next_follow_up(),
            position: v.position,
        }
    }
}

/// The time examples use.
fn example_time() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-11-30T10:00:00Z")
        .expect("valid")
        .with_timezone(&Utc)
}

/// A lead as examples show it: captured from a web form, then contacted.
fn example_view() -> LeadView {
    use domain::lead::{
        CaptureChannel, ContactMethod, LeadDetails, LeadEvent, LeadSource, LeadStatus,
    };
    use domain::values::{Email, PersonName, Phone, Text};
    let meta = store::EventMetadata {
        request_id: "6c1f2a9e-3b7d-4e21-9a55-0f3c8d2b7e10".into(),
        actor_id: "0193a1b2-7c4d-7e5f-8a90-b1c2d3e4f506".into(),
        actor_role: "relationship_manager".into(),
        client_ip: None,
        user_agent: None,
        recorded_at: example_time(),
    };
    let captured = LeadEvent::LeadCaptured {
        lead_id: Uuid::from_u128(0x0193_5e2a_41c7_7b3e_9a10_44d2_6f8e_5b21),
        details: LeadDetails {
            name: PersonName::parse("Asha Rao").expect("valid"),
            email: Email::parse("asha.rao@example.in").ok(),
            phone: Phone::parse("9876543210").ok(),
            source: LeadSource::Campaign,
            source_detail: Text::parse("Diwali SIP campaign", 200).ok(),
            product_interest: vec!["mutual_funds".into()],
            preferred_contact_method: Some(ContactMethod::Phone),
            preferred_contact_time: None,
            notes: None,
        },
        channel: CaptureChannel::WebForm,
    };
    let mut view = LeadView::start(&captured, &meta, 1, 41).expect("a capture starts a view");
    view.apply(
        &LeadEvent::LeadStatusChanged {
            from: LeadStatus::New,
            to: LeadStatus::Contacted,
            reason: Text::parse("called back, interested in SIP", 1000).ok(),
        },
        &meta,
        2,
        42,
    );
    view
}

impl poem_openapi::types::Example for LeadOut {
    fn example() -> Self {
        (&example_view()).into()
    }
}

impl poem_openapi::types::Example for LeadSummary {
    fn example() -> Self {
        (&example_view()).into()
    }
}

impl poem_openapi::types::Example for LeadPage {
    fn example() -> Self {
        Self {
            items: vec![LeadSummary::example()],
            next_cursor: None,
            total: 1,
        }
    }
}

impl poem_openapi::types::Example for InteractionPage {
    fn example() -> Self {
        Self {
            items: vec![InteractionOut {
                interaction_id: Uuid::from_u128(0x0193_5e2a_4200_7000_8000_0000_0000_0001),
                kind: InteractionKind::Call,
                direction: Some(InteractionDirection::Outbound),
                summary: "explained demat charges".into(),
                occurred_at: example_time(),
                duration_minutes: Some(12),
                logged_by: "0193a1b2-7c4d-7e5f-8a90-b1c2d3e4f506".into(),
                logged_at: example_time(),
            }],
            next_cursor: None,
            total: 1,
        }
    }
}

impl poem_openapi::types::Example for FollowUpPage {
    fn example() -> Self {
        Self {
            items: vec![DueFollowUp {
                follow_up_id: Uuid::from_u128(0x0193_5e2a_4300_7000_8000_0000_0000_0002),
                lead_id: Uuid::from_u128(0x0193_5e2a_41c7_7b3e_9a10_44d2_6f8e_5b21),
                lead_name: "Asha Rao".into(),
                assignee: Uuid::parse_str("0193a1b2-7c4d-7e5f-8a90-b1c2d3e4f506").ok(),
                due_at: example_time(),
                channel: "call".into(),
                note: Some("send SIP illustration".into()),
            }],
            next_cursor: None,
            total: 1,
        }
    }
}

impl poem_openapi::types::Example for History {
    fn example() -> Self {
        Self {
            items: vec![HistoryEntry {
                position: 42,
                sequence: 2,
                event_type: "LeadStatusChanged".into(),
                event_version: "1.0".into(),
                recorded_at: example_time(),
                actor_id: "0193a1b2-7c4d-7e5f-8a90-b1c2d3e4f506".into(),
                actor_role: "relationship_manager".into(),
                request_id: "6c1f2a9e-3b7d-4e21-9a55-0f3c8d2b7e10".into(),
                client_ip: Some("10.0.4.17".into()),
                changed_fields: Vec::new(),
                changes: vec![FieldChange {
                    field: "status".into(),
                    old: "new".into(),
                    new: "contacted".into(),
                }],
                data: serde_json::json!({"from": "new", "to": "contacted", "reason": "called back"}),
            }],
        }
    }
}

impl poem_openapi::types::Example for Agents {
    fn example() -> Self {
        Self {
            items: vec![Uuid::from_u128(0x0193_a1b2_7c4d_7e5f_8a90_b1c2_d3e4_f506)],
        }
    }
}
