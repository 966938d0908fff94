//! The lead as the read side shows it, folded from its events. Pure: the projection loads the
//! stored view, folds new events in, and writes it back.

use chrono::{DateTime, Utc};
use domain::lead::score::{explain, Engagement, ScoreWeights};

static SCORE_WEIGHTS: std::sync::OnceLock<ScoreWeights> = std::sync::OnceLock::new();

/// Sets the score weights of this process (configuration; the first call wins).
pub fn set_score_weights(weights: ScoreWeights) {
    let _ = SCORE_WEIGHTS.set(weights);
}

/// The score weights of this process (the defaults unless configured).
pub fn score_weights() -> &'static ScoreWeights {
    SCORE_WEIGHTS.get_or_init(ScoreWeights::default)
}
use domain::lead::{
    CaptureChannel, ContactMethod, FollowUpChannel, FollowUpState, InteractionDirection,
    InteractionKind, InvestmentCapacity, LeadEvent, LeadSource, LeadStatus, MarketingChannel,
};
use domain::merge::MergeTarget;
use serde::{Deserialize, Serialize};
use store::EventMetadata;
use uuid::Uuid;

/// Where the personal data is in a stored [`LeadView`] (sealed with the lead's key).
pub const PERSONAL: &[&str] = &[
    "/name",
    "/email",
    "/phone",
    "/source_detail",
    "/preferred_contact_time",
    "/notes",
    "/lost_reason",
    "/status_history/*/reason",
    "/assignments/*/reason",
    "/follow_ups/*/note",
    "/follow_ups/*/outcome",
    "/interactions/*/summary",
];

/// Lower-cased words (letters and digits) of a text, as search indexes them.
pub fn words(text: &str) -> Vec<String> {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
        .collect()
}

/// The shortest beginning of a name word search finds a person by, as an agent types.
pub const PREFIX_MIN: usize = 3;

/// The beginnings of the words of a name that search finds it by (`ramanathan`: `ram`, `rama`,
/// … `ramanatha`; the whole word is a word token already), each kept only as a blind index.
pub fn name_prefixes(name: &str) -> Vec<String> {
    let mut out = Vec::new();
    for w in words(name) {
        let chars: Vec<char> = w.chars().collect();
        for n in PREFIX_MIN..chars.len() {
            out.push(chars[..n].iter().collect());
        }
    }
    out.sort();
    out.dedup();
    out
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LeadView {
    pub lead_id: Uuid,
    pub name: String,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub source: LeadSource,
    pub source_detail: Option<String>,
    pub product_interest: Vec<String>,
    pub preferred_contact_method: Option<ContactMethod>,
    pub preferred_contact_time: Option<String>,
    pub notes: Option<String>,
    /// How much the prospect said they mean to invest.
    #[serde(default)]
    pub investment_capacity: Option<InvestmentCapacity>,
    pub channel: CaptureChannel,
    pub status: LeadStatus,
    pub lost_reason: Option<String>,
    pub client_id: Option<Uuid>,
    pub assignee: Option<Uuid>,
    pub score: i64,
    pub archived: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub version: i64,
    pub position: i64,
    pub status_history: Vec<StatusMove>,
    pub assignments: Vec<Assignment>,
    pub follow_ups: Vec<FollowUpView>,
    pub interactions: Vec<InteractionView>,
    #[serde(default)]
    pub privacy: PrivacyView,
    /// The record this lead is merged into, while it is.
    #[serde(default)]
    pub merged_into: Option<MergeTarget>,
    /// The leads merged into this one now (their interactions show here, read from them).
    #[serde(default)]
    pub merged_from: Vec<MergedLead>,
    /// Whether what the lead's search and near-duplicate rows are made of (name, notes,
    /// contacts, status, archiving, erasure) changed in this batch; not stored. A view read
    /// back has it false, a view started has it true.
    #[serde(skip)]
    pub index_dirty: bool,
}

/// Where the lead stands on data protection.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct PrivacyView {
    /// Erasure was asked for: processing is restricted.
    pub erasure_requested_at: Option<DateTime<Utc>>,
    /// A record-keeping duty delays the shred.
    pub retention_required: bool,
    pub legal_hold: bool,
    pub erased_at: Option<DateTime<Utc>>,
    pub marketing_consents: Vec<MarketingChannel>,
    pub exports: Vec<DateTime<Utc>>,
}

impl PrivacyView {
    /// Asked for, allowed and not yet done.
    pub fn erasure_due(&self) -> bool {
        self.erasure_requested_at.is_some()
            && self.erased_at.is_none()
            && !self.legal_hold
            && !self.retention_required
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StatusMove {
    pub from: Option<LeadStatus>,
    pub to: LeadStatus,
    pub reason: Option<String>,
    pub actor_id: String,
    pub at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Assignment {
    pub agent_id: Uuid,
    pub previous_agent_id: Option<Uuid>,
    pub round_robin: bool,
    pub reason: Option<String>,
    pub actor_id: String,
    pub at: DateTime<Utc>,
}

/// A lead merged into a record, with who merged it when.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MergedLead {
    pub lead_id: Uuid,
    pub actor_id: String,
    pub at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FollowUpView {
    pub follow_up_id: Uuid,
    pub due_at: DateTime<Utc>,
    pub channel: FollowUpChannel,
    pub note: Option<String>,
    pub state: FollowUpState,
    pub outcome: Option<String>,
    pub scheduled_at: DateTime<Utc>,
    pub closed_at: Option<DateTime<Utc>>,
    /// The lead (merged into this one) the follow-up moved from, and its id there (where its
    /// note stays).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub moved_from: Option<(Uuid, Uuid)>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InteractionView {
    pub interaction_id: Uuid,
    pub kind: InteractionKind,
    pub direction: Option<InteractionDirection>,
    pub summary: String,
    pub occurred_at: DateTime<Utc>,
    pub duration_minutes: Option<u32>,
    pub logged_by: String,
    pub logged_at: DateTime<Utc>,
}

fn s<T: ToString>(v: &Option<T>) -> Option<String> {
    v.as_ref().map(ToString::to_string)
}

impl LeadView {
    /// The view a `LeadCaptured` event starts; `None` for any other event.
    pub fn start(
        event: &LeadEvent,
        meta: &EventMetadata,
        sequence: i64,
        position: i64,
    ) -> Option<Self> {
        let LeadEvent::LeadCaptured {
            lead_id,
            details,
            channel,
        } = event
        else {
            return None;
        };
        let mut v = LeadView {
            lead_id: *lead_id,
            name: details.name.as_str().to_string(),
            email: s(&details.email),
            phone: s(&details.phone),
            source: details.source,
            source_detail: s(&details.source_detail),
            product_interest: details.product_interest.clone(),
            preferred_contact_method: details.preferred_contact_method,
            preferred_contact_time: s(&details.preferred_contact_time),
            notes: s(&details.notes),
            investment_capacity: details.investment_capacity,
            channel: *channel,
            status: LeadStatus::New,
            lost_reason: None,
            client_id: None,
            assignee: None,
            score: 0,
            archived: false,
            created_at: meta.recorded_at,
            updated_at: meta.recorded_at,
            version: sequence,
            position,
            status_history: vec![StatusMove {
                from: None,
                to: LeadStatus::New,
                reason: None,
                actor_id: meta.actor_id.clone(),
                at: meta.recorded_at,
            }],
            assignments: vec![],
            follow_ups: vec![],
            interactions: vec![],
            privacy: PrivacyView::default(),
            merged_into: None,
            merged_from: vec![],
            index_dirty: true,
        };
        v.score = v.compute_score();
        Some(v)
    }

    pub fn apply(&mut self, event: &LeadEvent, meta: &EventMetadata, sequence: i64, position: i64) {
        // Moves between open statuses (and lost) change neither the words nor the contacts.
        if matches!(
            event,
            LeadEvent::LeadDetailsChanged(_)
                | LeadEvent::LeadReopened { .. }
                | LeadEvent::LeadConverted { .. }
                | LeadEvent::LeadArchived { .. }
                | LeadEvent::LeadMerged { .. }
                | LeadEvent::LeadUnmerged { .. }
                | LeadEvent::ErasureRequested { .. }
                | LeadEvent::LeadErased
        ) {
            self.index_dirty = true;
        }
        let at = meta.recorded_at;
        let actor = meta.actor_id.clone();
        let moved = |v: &mut LeadView, to: LeadStatus, reason: Option<String>| {
            v.status_history.push(StatusMove {
                from: Some(v.status),
                to,
                reason,
                actor_id: actor.clone(),
                at,
            });
            v.status = to;
        };
        match event {
            LeadEvent::LeadCaptured { .. } => {}
            LeadEvent::LeadDetailsChanged(c) => {
                if let Some(v) = &c.name {
                    self.name = v.as_str().to_string();
                }
                if let Some(v) = &c.email {
                    self.email = s(v);
                }
                if let Some(v) = &c.phone {
                    self.phone = s(v);
                }
                if let Some(v) = c.source {
                    self.source = v;
                }
                if let Some(v) = &c.source_detail {
                    self.source_detail = s(v);
                }
                if let Some(v) = &c.product_interest {
                    self.product_interest = v.clone();
                }
                if let Some(v) = c.preferred_contact_method {
                    self.preferred_contact_method = v;
                }
                if let Some(v) = &c.preferred_contact_time {
                    self.preferred_contact_time = s(v);
                }
                if let Some(v) = &c.notes {
                    self.notes = s(v);
                }
                if let Some(v) = c.investment_capacity {
                    self.investment_capacity = v;
                }
            }
            LeadEvent::LeadStatusChanged { to, reason, .. } => moved(self, *to, s(reason)),
            LeadEvent::LeadLost { reason, .. } => {
                self.lost_reason = Some(reason.to_string());
                moved(self, LeadStatus::Lost, Some(reason.to_string()));
            }
            LeadEvent::LeadReopened { to, reason } => {
                self.lost_reason = None;
                moved(self, *to, s(reason));
            }
            LeadEvent::LeadConverted { client_id, reason } => {
                self.client_id = Some(*client_id);
                moved(self, LeadStatus::Converted, s(reason));
            }
            LeadEvent::LeadAssigned {
                agent_id,
                previous_agent_id,
                round_robin,
                reason,
            } => {
                self.assignee = Some(*agent_id);
                self.assignments.push(Assignment {
                    agent_id: *agent_id,
                    previous_agent_id: *previous_agent_id,
                    round_robin: *round_robin,
                    reason: s(reason),
                    actor_id: actor.clone(),
                    at,
                });
            }
            LeadEvent::FollowUpScheduled {
                follow_up_id,
                due_at,
                channel,
                note,
            } => self.follow_ups.push(FollowUpView {
                follow_up_id: *follow_up_id,
                due_at: *due_at,
                channel: *channel,
                note: s(note),
                state: FollowUpState::Open,
                outcome: None,
                scheduled_at: at,
                closed_at: None,
                moved_from: None,
            }),
            LeadEvent::FollowUpRescheduled {
                follow_up_id,
                due_at,
                ..
            } => {
                if let Some(f) = self.follow_up_mut(*follow_up_id) {
                    f.due_at = *due_at;
                }
            }
            LeadEvent::FollowUpCompleted {
                follow_up_id,
                outcome,
            } => {
                if let Some(f) = self.follow_up_mut(*follow_up_id) {
                    f.state = FollowUpState::Completed;
                    f.outcome = s(outcome);
                    f.closed_at = Some(at);
                }
            }
            LeadEvent::FollowUpCancelled {
                follow_up_id,
                reason,
            } => {
                if let Some(f) = self.follow_up_mut(*follow_up_id) {
                    f.state = FollowUpState::Cancelled;
                    f.outcome = s(reason);
                    f.closed_at = Some(at);
                }
            }
            LeadEvent::InteractionLogged {
                interaction_id,
                kind,
                direction,
                summary,
                occurred_at,
                duration_minutes,
            } => self.interactions.push(InteractionView {
                interaction_id: *interaction_id,
                kind: *kind,
                direction: *direction,
                summary: summary.to_string(),
                occurred_at: *occurred_at,
                duration_minutes: *duration_minutes,
                logged_by: actor.clone(),
                logged_at: at,
            }),
            LeadEvent::LeadArchived { .. } => self.archived = true,
            LeadEvent::LeadMerged {
                into, follow_ups, ..
            } => {
                self.merged_into = Some(*into);
                for id in follow_ups {
                    if let Some(f) = self.follow_up_mut(*id) {
                        f.state = FollowUpState::Moved;
                        f.closed_at = Some(at);
                    }
                }
            }
            LeadEvent::LeadUnmerged { follow_ups, .. } => {
                self.merged_into = None;
                for back in follow_ups {
                    if let Some(f) = self.follow_up_mut(back.follow_up_id) {
                        f.state = FollowUpState::Open;
                        f.due_at = back.due_at;
                        f.closed_at = None;
                    }
                }
            }
            LeadEvent::MergeReceived {
                from_lead,
                follow_ups,
            } => {
                self.merged_from.push(MergedLead {
                    lead_id: *from_lead,
                    actor_id: actor.clone(),
                    at,
                });
                for f in follow_ups {
                    self.follow_ups.push(FollowUpView {
                        follow_up_id: f.follow_up_id,
                        due_at: f.due_at,
                        channel: f.channel,
                        note: None,
                        state: FollowUpState::Open,
                        outcome: None,
                        scheduled_at: at,
                        closed_at: None,
                        moved_from: Some((*from_lead, f.from_follow_up_id)),
                    });
                }
            }
            LeadEvent::MergeReverted {
                from_lead,
                follow_ups,
            } => {
                // What went back is the merged lead's again (work done here stays).
                self.merged_from.retain(|m| m.lead_id != *from_lead);
                self.follow_ups
                    .retain(|f| !follow_ups.contains(&f.follow_up_id));
            }
            LeadEvent::ErasureRequested {
                retention_required, ..
            } => {
                self.privacy.erasure_requested_at = Some(at);
                self.privacy.retention_required = *retention_required;
                self.privacy.marketing_consents.clear();
            }
            LeadEvent::Privacy(domain::privacy::PrivacyEvent::LegalHoldPlaced { .. }) => {
                self.privacy.legal_hold = true
            }
            LeadEvent::Privacy(domain::privacy::PrivacyEvent::LegalHoldLifted { .. }) => {
                self.privacy.legal_hold = false
            }
            LeadEvent::LeadErased => self.privacy.erased_at = Some(at),
            LeadEvent::Privacy(domain::privacy::PrivacyEvent::MarketingConsentGiven {
                channel,
            }) => {
                if !self.privacy.marketing_consents.contains(channel) {
                    self.privacy.marketing_consents.push(*channel);
                }
            }
            LeadEvent::Privacy(domain::privacy::PrivacyEvent::MarketingConsentWithdrawn {
                channel,
            }) => {
                self.privacy.marketing_consents.retain(|c| c != channel);
            }
            LeadEvent::Privacy(domain::privacy::PrivacyEvent::SubjectDataExported) => {
                self.privacy.exports.push(at)
            }
        }
        self.updated_at = at;
        self.version = sequence;
        self.position = position;
        self.score = self.compute_score();
    }

    fn follow_up_mut(&mut self, id: Uuid) -> Option<&mut FollowUpView> {
        self.follow_ups.iter_mut().find(|f| f.follow_up_id == id)
    }

    fn compute_score(&self) -> i64 {
        // As of the lead's last change: recency decays from there (see `explain_score`).
        let at = self.updated_at;
        self.explain_score(at, score_weights()).score
    }

    /// When the lead last moved: captured, a status move, an interaction, a follow-up kept.
    pub fn last_activity(&self) -> DateTime<Utc> {
        let moves = self.status_history.iter().map(|m| m.at);
        let talks = self
            .interactions
            .iter()
            .map(|i| i.occurred_at.max(i.logged_at));
        let kept = self
            .follow_ups
            .iter()
            .filter(|f| f.state == FollowUpState::Completed)
            .filter_map(|f| f.closed_at);
        moves
            .chain(talks)
            .chain(kept)
            .max()
            .unwrap_or(self.created_at)
            .max(self.created_at)
    }

    /// The lead's score as of `now` with `weights`, and each contribution.
    pub fn explain_score(
        &self,
        now: DateTime<Utc>,
        weights: &ScoreWeights,
    ) -> domain::lead::score::Explained {
        let idle = (now - self.last_activity()).num_seconds().max(0) as f64 / 86_400.0;
        // What anyone with a web form's key sends is no engagement an agent earned.
        let talks: Vec<&InteractionView> = self
            .interactions
            .iter()
            .filter(|i| !i.logged_by.starts_with("capture_key:"))
            .collect();
        explain(
            self.source,
            self.status,
            Engagement {
                has_email: self.email.is_some(),
                has_phone: self.phone.is_some(),
                product_interests: self.product_interest.len(),
                interactions: talks.len(),
                inbound_interactions: talks
                    .iter()
                    .filter(|i| i.direction == Some(InteractionDirection::Inbound))
                    .count(),
                completed_follow_ups: self
                    .follow_ups
                    .iter()
                    .filter(|f| f.state == FollowUpState::Completed)
                    .count(),
                stated_capacity: self.investment_capacity,
            },
            idle,
            weights,
        )
    }

    /// Whether the lead is in the pipeline's lists: not archived and not merged away.
    pub fn listed(&self) -> bool {
        !self.archived && self.merged_into.is_none()
    }

    /// The earliest open follow-up's due time.
    pub fn next_follow_up(&self) -> Option<DateTime<Utc>> {
        self.follow_ups
            .iter()
            .filter(|f| f.state == FollowUpState::Open)
            .map(|f| f.due_at)
            .min()
    }

    /// The words search can find this lead by: those of its name and notes.
    pub fn search_words(&self) -> Vec<String> {
        let mut out = words(&self.name);
        if let Some(n) = &self.notes {
            out.extend(words(n));
        }
        out.sort();
        out.dedup();
        out
    }
}

#[cfg(test)]
mod prefix_tests {
    use super::*;

    #[test]
    fn a_name_is_found_by_the_beginnings_of_its_words() {
        assert_eq!(
            name_prefixes("Asha Rāmanathan"),
            vec![
                "ash",
                "ram",
                "rama",
                "raman",
                "ramana",
                "ramanat",
                "ramanath",
                "ramanatha"
            ]
            .into_iter()
            .map(|s| s.replace("ram", "rām"))
            .collect::<Vec<_>>()
        );
        assert!(
            name_prefixes("Li Wu").is_empty(),
            "short words are whole words"
        );
    }
}
