//! The wire types of the API (OpenAPI schemas with examples) and their conversions.

use chrono::{DateTime, Utc};
use std::borrow::Cow;

use poem_openapi::registry::{MetaSchema, MetaSchemaRef};
use poem_openapi::types::{MaybeUndefined, ParseError, ParseFromJSON, ParseResult, ToJSON, Type};
use poem_openapi::{Enum, Object};
use uuid::Uuid;

mod lead_requests;
mod lead_views;

pub use lead_requests::*;
pub use lead_views::*;

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

/// One word of a closed set ([`domain::Word`]): an OpenAPI string enum of its words, and
/// nothing else is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct W<T>(pub T);

impl<T: domain::Word> Type for W<T> {
    const IS_REQUIRED: bool = true;
    type RawValueType = Self;
    type RawElementValueType = Self;

    fn name() -> Cow<'static, str> {
        T::NAME.into()
    }

    fn schema_ref() -> MetaSchemaRef {
        MetaSchemaRef::Reference(T::NAME.into())
    }

    fn register(registry: &mut poem_openapi::registry::Registry) {
        registry.create_schema::<Self, _>(T::NAME.into(), |_| MetaSchema {
            enum_items: T::all()
                .iter()
                .map(|v| serde_json::Value::String(v.word().into()))
                .collect(),
            ..MetaSchema::new("string")
        });
    }

    fn as_raw_value(&self) -> Option<&Self> {
        Some(self)
    }

    fn raw_element_iter<'a>(&'a self) -> Box<dyn Iterator<Item = &'a Self> + 'a> {
        Box::new(self.as_raw_value().into_iter())
    }
}

impl<T: domain::Word> ParseFromJSON for W<T> {
    fn parse_from_json(value: Option<serde_json::Value>) -> ParseResult<Self> {
        match &value {
            Some(serde_json::Value::String(s)) => match T::from_word(s) {
                Some(v) => Ok(W(v)),
                None => Err(ParseError::custom(format!(
                    "`{s}` is not one of: {}",
                    T::all()
                        .iter()
                        .map(|v| v.word())
                        .collect::<Vec<_>>()
                        .join(", ")
                ))),
            },
            other => Err(ParseError::expected_type(other.clone().unwrap_or_default())),
        }
    }
}

impl<T: domain::Word> poem_openapi::types::ParseFromParameter for W<T> {
    fn parse_from_parameter(value: &str) -> ParseResult<Self> {
        Self::parse_from_json(Some(serde_json::Value::String(value.to_string())))
    }
}

impl<T: domain::Word> ToJSON for W<T> {
    fn to_json(&self) -> Option<serde_json::Value> {
        Some(serde_json::Value::String(self.0.word().into()))
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
    /// The kind of contact logged (`review`: a portfolio or account review).
    InteractionKind = InteractionKind { Call, Email, Meeting, Note, Review }
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
    /// Moved by a merge to the record the lead was merged into (or back on undo).
    Moved,
}

impl From<domain::lead::FollowUpState> for FollowUpState {
    fn from(s: domain::lead::FollowUpState) -> Self {
        match s {
            domain::lead::FollowUpState::Open => Self::Open,
            domain::lead::FollowUpState::Completed => Self::Completed,
            domain::lead::FollowUpState::Cancelled => Self::Cancelled,
            domain::lead::FollowUpState::Moved => Self::Moved,
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
