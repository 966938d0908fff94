//! The Lead aggregate: a prospect worked by a sales agent from capture to conversion.

mod commands;
mod details;
mod errors;
mod events;
mod personal;
mod privacy;
pub mod score;
#[cfg(test)]
mod tests;

use std::collections::{BTreeMap, BTreeSet};

use cqrs_es::event_sink::EventSink;
use cqrs_es::Aggregate;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

pub use commands::LeadCommand;
pub use details::{
    limits, parse_product_interest, LeadDetails, LeadDetailsPatch, RawChange, RawDetails,
};
pub use errors::LeadError;
pub use events::{LeadDetailsChange, LeadEvent};
pub use personal::{upcasters, EVENT_TABLES};

use crate::merge::{MergeTarget, MovedFollowUp, Received};
use crate::privacy::DataSubject;
pub use crate::privacy::MarketingChannel;
use crate::values::{Email, PersonName, Phone, Text};
use crate::Clock;

snake_enum!(
    /// Where in the sales pipeline a lead stands.
    LeadStatus { New => "new", Contacted => "contacted", Qualified => "qualified", Converted => "converted", Lost => "lost" }
);
snake_enum!(
    /// How the lead reached the broker.
    LeadSource { Website => "website", Referral => "referral", Campaign => "campaign", WalkIn => "walk_in", Partner => "partner", Import => "import", Other => "other" }
);
snake_enum!(
    @exact
    /// How much the prospect said they mean to invest (INR): what the score's stated capacity
    /// counts. A band, kept readable (as a client's net-worth band is).
    InvestmentCapacity { Below1Lakh => "below_1_lakh", Lakh1To5 => "1_to_5_lakh", Lakh5To25 => "5_to_25_lakh", Lakh25To1Crore => "25_lakh_to_1_crore", Above1Crore => "above_1_crore" }
);

impl InvestmentCapacity {
    /// 0 for the lowest band to 4 for the highest.
    pub fn rank(self) -> i64 {
        match self {
            Self::Below1Lakh => 0,
            Self::Lakh1To5 => 1,
            Self::Lakh5To25 => 2,
            Self::Lakh25To1Crore => 3,
            Self::Above1Crore => 4,
        }
    }
}

snake_enum!(
    /// How the lead prefers to be reached.
    ContactMethod { Phone => "phone", Email => "email", Whatsapp => "whatsapp", Sms => "sms", InPerson => "in_person" }
);
snake_enum!(
    /// How the lead was entered: a public web form, by hand by staff, or a bulk import.
    CaptureChannel { WebForm => "web_form", Manual => "manual", Import => "import" }
);
snake_enum!(
    /// How a follow-up is meant to happen.
    FollowUpChannel { Call => "call", Email => "email", Meeting => "meeting", Whatsapp => "whatsapp", Sms => "sms" }
);
snake_enum!(
    /// What kind of contact was had with the person (`review`: a portfolio or account review).
    InteractionKind { Call => "call", Email => "email", Meeting => "meeting", Note => "note", Review => "review" }
);
snake_enum!(
    /// Who started the contact.
    InteractionDirection { Inbound => "inbound", Outbound => "outbound" }
);

impl LeadStatus {
    pub fn is_open(self) -> bool {
        matches!(self, Self::New | Self::Contacted | Self::Qualified)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FollowUpState {
    Open,
    Completed,
    Cancelled,
    /// Moved to the record this lead was merged into (or back to the lead merged here).
    Moved,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct FollowUp {
    state: FollowUpState,
    due_at: chrono::DateTime<chrono::Utc>,
    channel: FollowUpChannel,
}

/// The decision state of a lead: only what its rules need.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Lead {
    captured: bool,
    details: Option<LeadDetails>,
    status: Option<LeadStatus>,
    lost_from: Option<LeadStatus>,
    assignee: Option<Uuid>,
    archived: bool,
    follow_ups: BTreeMap<Uuid, FollowUp>,
    interactions: BTreeSet<Uuid>,
    /// Whether the lead's records are a client's (converted): an erasure request waits for
    /// the client's retention period.
    retention_required: bool,
    /// The person's privacy state; linked to the client account the lead became.
    subject: DataSubject,
    /// The record this lead is merged into, while it is.
    merged_into: Option<MergeTarget>,
    /// The leads merged into this one.
    received: Received,
}

/// What the Lead aggregate needs from outside: the clock.
#[derive(Debug, Clone)]
pub struct LeadServices {
    pub clock: Clock,
}

impl Lead {
    /// Whether the lead exists (was captured).
    pub fn assignee(&self) -> Option<Uuid> {
        self.assignee
    }

    /// The client account the lead became, once converted.
    pub fn converted_to(&self) -> Option<Uuid> {
        self.subject.linked()
    }

    /// The person's privacy state.
    pub fn subject(&self) -> &DataSubject {
        &self.subject
    }

    /// The record this lead is merged into, while it is.
    pub fn merged_into(&self) -> Option<MergeTarget> {
        self.merged_into
    }

    /// The leads merged into this one.
    pub fn merged_here(&self) -> &Received {
        &self.received
    }

    /// The open follow-ups, as they move to a survivor under new ids.
    pub fn follow_ups_to_move(&self) -> Vec<MovedFollowUp> {
        let mut open: Vec<MovedFollowUp> = self
            .follow_ups
            .iter()
            .filter(|(_, f)| f.state == FollowUpState::Open)
            .map(|(id, f)| MovedFollowUp {
                follow_up_id: Uuid::now_v7(),
                from_follow_up_id: *id,
                due_at: f.due_at,
                channel: f.channel,
            })
            .collect();
        open.sort_by_key(|f| (f.due_at, f.from_follow_up_id));
        open
    }

    /// The due time of the open follow-up `id`.
    pub fn open_due(&self, id: Uuid) -> Option<chrono::DateTime<chrono::Utc>> {
        self.follow_ups
            .get(&id)
            .filter(|f| f.state == FollowUpState::Open)
            .map(|f| f.due_at)
    }

    pub fn is_captured(&self) -> bool {
        self.captured
    }

    /// Whether the lead was archived (it no longer counts as a duplicate).
    pub fn is_archived(&self) -> bool {
        self.archived
    }

    /// The lead's e-mail address and phone number, as they are now.
    pub fn contact(&self) -> (Option<&str>, Option<&str>) {
        match &self.details {
            Some(d) => (
                d.email.as_ref().map(|e| e.as_str()),
                d.phone.as_ref().map(|p| p.as_str()),
            ),
            None => (None, None),
        }
    }

    /// The moves allowed from a status; from `lost`, only back to where the lead was lost from.
    pub fn allowed_moves(status: LeadStatus, lost_from: Option<LeadStatus>) -> Vec<LeadStatus> {
        use LeadStatus::*;
        match status {
            New => vec![Contacted, Lost],
            Contacted => vec![Qualified, Lost],
            Qualified => vec![Converted, Lost],
            Lost => vec![lost_from.unwrap_or(New)],
            Converted => vec![],
        }
    }

    fn ensure_changeable(&self) -> Result<LeadStatus, LeadError> {
        if !self.captured {
            return Err(LeadError::NotFound);
        }
        if self.subject.is_erased() {
            return Err(LeadError::Erased);
        }
        if self.subject.erasure_requested() {
            return Err(LeadError::Restricted);
        }
        if self.merged_into.is_some() {
            return Err(LeadError::Merged);
        }
        if self.archived {
            return Err(LeadError::Archived);
        }
        let status = self.status.unwrap_or(LeadStatus::New);
        if status == LeadStatus::Converted {
            return Err(LeadError::Converted);
        }
        Ok(status)
    }

    fn set_state(&mut self, ids: &[Uuid], state: FollowUpState) {
        for id in ids {
            if let Some(f) = self.follow_ups.get_mut(id) {
                f.state = state;
            }
        }
    }

    fn open_follow_up(&self, id: Uuid) -> Result<&FollowUp, LeadError> {
        let f = self
            .follow_ups
            .get(&id)
            .ok_or(LeadError::FollowUpNotFound)?;
        match f.state {
            FollowUpState::Open => Ok(f),
            FollowUpState::Completed => Err(LeadError::FollowUpClosed("completed")),
            FollowUpState::Cancelled => Err(LeadError::FollowUpClosed("cancelled")),
            FollowUpState::Moved => Err(LeadError::FollowUpClosed("moved by a merge")),
        }
    }

    fn decide(
        &self,
        command: LeadCommand,
        services: &LeadServices,
    ) -> Result<Vec<LeadEvent>, LeadError> {
        let now = services.clock.now();
        match command {
            LeadCommand::Capture {
                lead_id,
                details,
                channel,
                assign_to,
                round_robin,
            } => {
                if self.captured {
                    return Err(LeadError::AlreadyExists);
                }
                if details.email.is_none() && details.phone.is_none() {
                    return Err(LeadError::NoContactChannel);
                }
                let mut events = vec![LeadEvent::LeadCaptured {
                    lead_id,
                    details,
                    channel,
                }];
                if let Some(agent_id) = assign_to {
                    events.push(LeadEvent::LeadAssigned {
                        agent_id,
                        previous_agent_id: None,
                        round_robin,
                        reason: None,
                    });
                }
                Ok(events)
            }
            LeadCommand::UpdateDetails(patch) => {
                self.ensure_changeable()?;
                let current = self.details.as_ref().ok_or(LeadError::NotFound)?;
                let change = current.diff(&patch);
                if change.is_empty() {
                    return Ok(vec![]);
                }
                let mut after = current.clone();
                change.apply_to(&mut after);
                if after.email.is_none() && after.phone.is_none() {
                    return Err(LeadError::NoContactChannel);
                }
                Ok(vec![LeadEvent::LeadDetailsChanged(change)])
            }
            LeadCommand::ChangeStatus {
                to,
                reason,
                client_id,
            } => {
                let from = self.ensure_changeable()?;
                let allowed = Self::allowed_moves(from, self.lost_from);
                if !allowed.contains(&to) {
                    return Err(LeadError::IllegalTransition { from, to, allowed });
                }
                let mut events = vec![match (from, to) {
                    (_, LeadStatus::Lost) => LeadEvent::LeadLost {
                        from,
                        reason: reason.ok_or(LeadError::LostWithoutReason)?,
                    },
                    (LeadStatus::Lost, to) => LeadEvent::LeadReopened { to, reason },
                    (_, LeadStatus::Converted) => LeadEvent::LeadConverted { client_id, reason },
                    (from, to) => LeadEvent::LeadStatusChanged { from, to, reason },
                }];
                // A lead lost or converted needs no more calls: its open follow-ups close
                // with it (and leave the agents' due lists).
                let closing = match to {
                    LeadStatus::Lost => Some("the lead was marked lost"),
                    LeadStatus::Converted => Some("the lead was converted"),
                    _ => None,
                };
                if let Some(why) = closing {
                    for (id, f) in &self.follow_ups {
                        if f.state == FollowUpState::Open {
                            events.push(LeadEvent::FollowUpCancelled {
                                follow_up_id: *id,
                                reason: Some(Text::parse(why, 100).expect("a short text")),
                            });
                        }
                    }
                }
                Ok(events)
            }
            LeadCommand::Assign {
                agent_id,
                round_robin,
                reason,
            } => {
                self.ensure_changeable()?;
                if self.assignee == Some(agent_id) {
                    return Err(LeadError::AlreadyAssigned);
                }
                Ok(vec![LeadEvent::LeadAssigned {
                    agent_id,
                    previous_agent_id: self.assignee,
                    round_robin,
                    reason,
                }])
            }
            LeadCommand::ScheduleFollowUp {
                follow_up_id,
                due_at,
                channel,
                note,
            } => {
                self.ensure_changeable()?;
                if self.follow_ups.contains_key(&follow_up_id) {
                    return Err(LeadError::DuplicateId);
                }
                check_due(due_at, now)?;
                Ok(vec![LeadEvent::FollowUpScheduled {
                    follow_up_id,
                    due_at,
                    channel,
                    note,
                }])
            }
            LeadCommand::RescheduleFollowUp {
                follow_up_id,
                due_at,
                reason,
            } => {
                self.ensure_changeable()?;
                let f = self.open_follow_up(follow_up_id)?;
                check_due(due_at, now)?;
                Ok(vec![LeadEvent::FollowUpRescheduled {
                    follow_up_id,
                    previous_due_at: f.due_at,
                    due_at,
                    reason,
                }])
            }
            LeadCommand::CompleteFollowUp {
                follow_up_id,
                outcome,
            } => {
                self.ensure_changeable()?;
                self.open_follow_up(follow_up_id)?;
                Ok(vec![LeadEvent::FollowUpCompleted {
                    follow_up_id,
                    outcome,
                }])
            }
            LeadCommand::CancelFollowUp {
                follow_up_id,
                reason,
            } => {
                // Closing a follow-up stays possible after conversion or archiving so that
                // agents' due lists can be cleaned up; after erasure only without new text
                // (there is no key left to seal it with).
                if !self.captured {
                    return Err(LeadError::NotFound);
                }
                if self.subject.is_erased() && reason.is_some() {
                    return Err(LeadError::Erased);
                }
                self.open_follow_up(follow_up_id)?;
                Ok(vec![LeadEvent::FollowUpCancelled {
                    follow_up_id,
                    reason,
                }])
            }
            LeadCommand::LogInteraction {
                interaction_id,
                kind,
                direction,
                summary,
                occurred_at,
                duration_minutes,
            } => {
                if !self.captured {
                    return Err(LeadError::NotFound);
                }
                if self.subject.is_erased() {
                    return Err(LeadError::Erased);
                }
                if self.subject.erasure_requested() {
                    return Err(LeadError::Restricted);
                }
                if self.merged_into.is_some() {
                    return Err(LeadError::Merged);
                }
                if self.archived {
                    return Err(LeadError::Archived);
                }
                if self.interactions.contains(&interaction_id) {
                    return Err(LeadError::DuplicateId);
                }
                if occurred_at > now + chrono::Duration::minutes(5) {
                    return Err(LeadError::InteractionInTheFuture);
                }
                if occurred_at < now - chrono::Duration::days(3653) {
                    return Err(LeadError::InteractionTooOld);
                }
                Ok(vec![LeadEvent::InteractionLogged {
                    interaction_id,
                    kind,
                    direction,
                    summary,
                    occurred_at,
                    duration_minutes,
                }])
            }
            LeadCommand::Merge { into, reason } => {
                self.ensure_changeable()?;
                if !self.received.is_empty() {
                    return Err(LeadError::HoldsMerged);
                }
                Ok(vec![LeadEvent::LeadMerged {
                    into,
                    follow_ups: self
                        .follow_ups_to_move()
                        .into_iter()
                        .map(|f| f.from_follow_up_id)
                        .collect(),
                    reason,
                }])
            }
            LeadCommand::ReceiveMerge {
                from_lead,
                follow_ups,
            } => {
                // A lost lead's follow-ups were closed with it: it takes over no open work.
                if self.ensure_changeable()? == LeadStatus::Lost {
                    return Err(LeadError::Lost);
                }
                if self.received.holds(from_lead)
                    || follow_ups
                        .iter()
                        .any(|f| self.follow_ups.contains_key(&f.follow_up_id))
                {
                    return Err(LeadError::DuplicateId);
                }
                Ok(vec![LeadEvent::MergeReceived {
                    from_lead,
                    follow_ups,
                }])
            }
            LeadCommand::Unmerge { follow_ups, reason } => {
                if !self.captured {
                    return Err(LeadError::NotFound);
                }
                if self.subject.is_erased() {
                    return Err(LeadError::Erased);
                }
                // The person asked for erasure while merged: their records stay together
                // (and go with the survivor's).
                if self.subject.erasure_requested() {
                    return Err(LeadError::Restricted);
                }
                let from = self.merged_into.ok_or(LeadError::NotMerged)?;
                Ok(vec![LeadEvent::LeadUnmerged {
                    from,
                    follow_ups,
                    reason,
                }])
            }
            LeadCommand::RevertMerge { from_lead } => {
                if !self.captured {
                    return Err(LeadError::NotFound);
                }
                if self.subject.is_erased() {
                    return Err(LeadError::Erased);
                }
                let (follow_ups, _) = self
                    .received
                    .give_back(from_lead, |id| self.open_due(id))
                    .ok_or(LeadError::NotMergedHere)?;
                Ok(vec![LeadEvent::MergeReverted {
                    from_lead,
                    follow_ups,
                }])
            }
            LeadCommand::Privacy(_) | LeadCommand::Erase | LeadCommand::EraseWithClient => {
                self.decide_privacy(command)
            }
            LeadCommand::Archive { reason } => {
                if !self.captured {
                    return Err(LeadError::NotFound);
                }
                if self.archived {
                    // Archiving is idempotent (HTTP DELETE): nothing more to record.
                    return Ok(vec![]);
                }
                if self.subject.is_erased() && reason.is_some() {
                    return Err(LeadError::Erased);
                }
                Ok(vec![LeadEvent::LeadArchived { reason }])
            }
        }
    }
}

/// A follow-up is due between now and two years ahead.
fn check_due(
    due_at: chrono::DateTime<chrono::Utc>,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<(), LeadError> {
    if due_at < now {
        return Err(LeadError::DueInThePast);
    }
    if due_at > now + chrono::Duration::days(731) {
        return Err(LeadError::DueTooFarAhead);
    }
    Ok(())
}

impl Aggregate for Lead {
    const TYPE: &'static str = "lead";
    type Command = LeadCommand;
    type Event = LeadEvent;
    type Error = LeadError;
    type Services = LeadServices;

    async fn handle(
        &mut self,
        command: Self::Command,
        services: &Self::Services,
        sink: &EventSink<Self>,
    ) -> Result<(), Self::Error> {
        for event in self.decide(command, services)? {
            sink.write(event, self).await;
        }
        Ok(())
    }

    fn apply(&mut self, event: Self::Event) {
        match event {
            LeadEvent::LeadCaptured { details, .. } => {
                self.captured = true;
                self.details = Some(details);
                self.status = Some(LeadStatus::New);
            }
            LeadEvent::LeadDetailsChanged(change) => {
                if let Some(d) = self.details.as_mut() {
                    change.apply_to(d);
                }
            }
            LeadEvent::LeadStatusChanged { to, .. } => self.status = Some(to),
            LeadEvent::LeadLost { from, .. } => {
                self.lost_from = Some(from);
                self.status = Some(LeadStatus::Lost);
            }
            LeadEvent::LeadReopened { to, .. } => {
                self.lost_from = None;
                self.status = Some(to);
            }
            LeadEvent::LeadConverted { client_id, .. } => {
                self.status = Some(LeadStatus::Converted);
                self.subject.link(client_id);
            }
            LeadEvent::LeadAssigned { agent_id, .. } => self.assignee = Some(agent_id),
            LeadEvent::FollowUpScheduled {
                follow_up_id,
                due_at,
                channel,
                ..
            } => {
                self.follow_ups.insert(
                    follow_up_id,
                    FollowUp {
                        state: FollowUpState::Open,
                        due_at,
                        channel,
                    },
                );
            }
            LeadEvent::FollowUpRescheduled {
                follow_up_id,
                due_at,
                ..
            } => {
                if let Some(f) = self.follow_ups.get_mut(&follow_up_id) {
                    f.due_at = due_at;
                }
            }
            LeadEvent::FollowUpCompleted { follow_up_id, .. } => {
                if let Some(f) = self.follow_ups.get_mut(&follow_up_id) {
                    f.state = FollowUpState::Completed;
                }
            }
            LeadEvent::FollowUpCancelled { follow_up_id, .. } => {
                if let Some(f) = self.follow_ups.get_mut(&follow_up_id) {
                    f.state = FollowUpState::Cancelled;
                }
            }
            LeadEvent::InteractionLogged { interaction_id, .. } => {
                self.interactions.insert(interaction_id);
            }
            LeadEvent::LeadArchived { .. } => self.archived = true,
            LeadEvent::LeadMerged {
                into, follow_ups, ..
            } => {
                self.merged_into = Some(into);
                self.set_state(&follow_ups, FollowUpState::Moved);
            }
            LeadEvent::LeadUnmerged { follow_ups, .. } => {
                self.merged_into = None;
                for f in follow_ups {
                    if let Some(mine) = self.follow_ups.get_mut(&f.follow_up_id) {
                        mine.state = FollowUpState::Open;
                        mine.due_at = f.due_at;
                    }
                }
            }
            LeadEvent::MergeReceived {
                from_lead,
                follow_ups,
            } => {
                self.received.received(from_lead, &follow_ups);
                for f in follow_ups {
                    self.follow_ups.insert(
                        f.follow_up_id,
                        FollowUp {
                            state: FollowUpState::Open,
                            due_at: f.due_at,
                            channel: f.channel,
                        },
                    );
                }
            }
            LeadEvent::MergeReverted {
                from_lead,
                follow_ups,
            } => {
                self.received.reverted(from_lead);
                self.set_state(&follow_ups, FollowUpState::Moved);
            }
            LeadEvent::ErasureRequested {
                retention_required, ..
            } => {
                self.subject.restrict();
                self.retention_required = retention_required;
            }
            LeadEvent::LeadErased => self.subject.mark_erased(),
            LeadEvent::Privacy(e) => self.subject.apply(&e),
        }
    }
}
