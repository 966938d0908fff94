//! How leads, their follow-ups and interactions are shown, and the examples the document gives.

use projections::leads::{Assignment, FollowUpView, InteractionView, LeadView, StatusMove};

use super::*;

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
    /// The lead merged into this record that the follow-up moved from.
    #[oai(skip_serializing_if_is_none)]
    pub moved_from_lead: Option<Uuid>,
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
    /// The lead merged into this record that the interaction was logged on.
    #[oai(skip_serializing_if_is_none)]
    pub from_lead: Option<Uuid>,
}

/// The record a lead is merged into.
#[derive(Debug, Clone, Object)]
pub struct MergeTargetOut {
    pub kind: W<domain::merge::MergeKind>,
    pub id: Uuid,
}

impl From<domain::merge::MergeTarget> for MergeTargetOut {
    fn from(t: domain::merge::MergeTarget) -> Self {
        Self {
            kind: W(t.kind),
            id: t.id,
        }
    }
}

/// A lead merged into this record: its work shows here.
#[derive(Debug, Clone, Object)]
pub struct MergedLeadOut {
    pub lead_id: Uuid,
    /// Who merged it.
    pub actor_id: String,
    pub at: DateTime<Utc>,
}

impl From<&projections::leads::MergedLead> for MergedLeadOut {
    fn from(m: &projections::leads::MergedLead) -> Self {
        Self {
            lead_id: m.lead_id,
            actor_id: m.actor_id.clone(),
            at: m.at,
        }
    }
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
    /// How much the prospect means to invest (INR band).
    pub investment_capacity: Option<W<domain::lead::InvestmentCapacity>>,
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
    /// The lead's interactions, and those of the leads merged into it (with `from_lead`).
    pub interactions: Vec<InteractionOut>,
    pub privacy: PrivacyOut,
    /// The record this lead is merged into: it takes no more changes until the merge is undone.
    #[oai(skip_serializing_if_is_none)]
    pub merged_into: Option<MergeTargetOut>,
    /// The leads merged into this one.
    pub merged_from: Vec<MergedLeadOut>,
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
    /// The lead's e-mail address and phone, to act on it (hidden from sales roles once the
    /// person asked for erasure).
    pub lead_email: Option<String>,
    pub lead_phone: Option<String>,
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

/// The staff the caller may give leads to.
#[derive(Debug, Clone, Object)]
#[oai(example)]
pub struct Agents {
    pub items: Vec<AgentOut>,
}

/// One member of staff who may be given leads.
#[derive(Debug, Clone, Object)]
pub struct AgentOut {
    pub id: Uuid,
    /// As the staff member is registered.
    pub name: String,
    pub role: crate::users::RoleDto,
    /// Their branch (none for staff of every branch).
    pub branch: Option<String>,
    /// Whether round-robin assignment gives them leads (relationship managers); a branch
    /// manager takes a lead only when named.
    pub in_rotation: bool,
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
            moved_from_lead: f.moved_from.map(|(lead, _)| lead),
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
            from_lead: None,
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
            investment_capacity: v.investment_capacity.map(W),
            channel: v.channel.into(),
            status: v.status.into(),
            // A restricted or erased person's lead takes no more sales moves.
            allowed_moves: if !v.listed() || v.privacy.erasure_requested_at.is_some() {
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
            merged_into: v.merged_into.map(Into::into),
            merged_from: v.merged_from.iter().map(Into::into).collect(),
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
            investment_capacity: Some(domain::lead::InvestmentCapacity::Lakh5To25),
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
                from_lead: None,
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
                lead_email: Some("asha.rao@example.in".into()),
                lead_phone: Some("+919876543210".into()),
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
            items: vec![AgentOut {
                id: Uuid::from_u128(0x0193_a1b2_7c4d_7e5f_8a90_b1c2_d3e4_f506),
                name: "Priya Menon".into(),
                role: crate::users::RoleDto::RelationshipManager,
                branch: Some("MUM-01".into()),
                in_rotation: true,
            }],
        }
    }
}

/// One factor's part of a lead's score.
#[derive(Debug, Clone, Object)]
pub struct ScoreContribution {
    /// `source`, `stage`, `reach`, `interest`, `interactions`, `follow_ups_kept`, `recency`,
    /// `stated_capacity`.
    pub factor: String,
    pub points: i64,
    /// The most this factor can give with the configured weights.
    pub max: i64,
    /// What the points are for.
    pub detail: String,
}

/// A lead's score and why.
#[derive(Debug, Clone, Object)]
#[oai(example)]
pub struct ScoreOut {
    pub lead_id: Uuid,
    /// The score now, 0–100: the sum of the contributions (at most 100; 0 once lost).
    pub score: i64,
    /// The score lists sort by: the same rule as of the lead's last change (recency decays
    /// from there).
    pub listed_score: i64,
    pub as_of: DateTime<Utc>,
    /// The lead's last activity: captured, a status move, an interaction, a follow-up kept.
    pub last_activity_at: DateTime<Utc>,
    pub contributions: Vec<ScoreContribution>,
}

impl poem_openapi::types::Example for ScoreOut {
    fn example() -> Self {
        let part = |factor: &str, points: i64, max: i64, detail: &str| ScoreContribution {
            factor: factor.into(),
            points,
            max,
            detail: detail.into(),
        };
        Self {
            lead_id: Uuid::from_u128(0x0193_5e2a_41c7_7b3e_9a10_44d2_6f8e_5b21),
            score: 70,
            listed_score: 75,
            as_of: example_time(),
            last_activity_at: example_time() - chrono::Duration::days(14),
            contributions: vec![
                part("source", 20, 20, "came through referral"),
                part("stage", 10, 40, "status contacted"),
                part("reach", 10, 10, "e-mail and phone"),
                part("interest", 6, 9, "2 product(s) asked about"),
                part(
                    "interactions",
                    11,
                    33,
                    "2 interaction(s), 1 of them inbound",
                ),
                part("follow_ups_kept", 3, 9, "1 follow-up(s) completed"),
                part(
                    "recency",
                    5,
                    10,
                    "14 day(s) since the last activity (halves every 14 days)",
                ),
                part("stated_capacity", 6, 12, "means to invest 5_to_25_lakh"),
            ],
        }
    }
}
