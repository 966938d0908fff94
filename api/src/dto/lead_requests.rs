//! What lead commands take.

use super::*;

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
    /// How much the prospect means to invest (INR band); counts in the lead's score.
    pub investment_capacity: Option<W<domain::lead::InvestmentCapacity>>,
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
            investment_capacity: Some(W(domain::lead::InvestmentCapacity::Lakh5To25)),
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
    /// How much the prospect means to invest (INR band); counts in the lead's score.
    pub investment_capacity: Option<W<domain::lead::InvestmentCapacity>>,
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
            investment_capacity: Some(W(domain::lead::InvestmentCapacity::Lakh1To5)),
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
    /// How much the prospect means to invest (INR band).
    pub investment_capacity: MaybeUndefined<W<domain::lead::InvestmentCapacity>>,
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
            investment_capacity: MaybeUndefined::Value(W(
                domain::lead::InvestmentCapacity::Lakh25To1Crore,
            )),
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
