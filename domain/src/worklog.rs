//! The work done with a client: interactions (calls, e-mails, meetings, notes, reviews) and
//! follow-ups (scheduled, moved, completed, cancelled). A component the Client aggregate
//! embeds, as it embeds the data subject; its events are stored under the same names as a
//! lead's, so that timelines and histories read them alike.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::lead::{FollowUpChannel, InteractionDirection, InteractionKind};
use crate::merge::{MovedFollowUp, Received};
use crate::personal::EventFields;
use crate::values::Text;

/// What may be asked of the work log.
#[derive(Debug, Clone, PartialEq)]
pub enum WorkCommand {
    ScheduleFollowUp {
        follow_up_id: Uuid,
        due_at: DateTime<Utc>,
        channel: FollowUpChannel,
        note: Option<Text>,
    },
    RescheduleFollowUp {
        follow_up_id: Uuid,
        due_at: DateTime<Utc>,
        reason: Option<Text>,
    },
    CompleteFollowUp {
        follow_up_id: Uuid,
        outcome: Option<Text>,
    },
    CancelFollowUp {
        follow_up_id: Uuid,
        reason: Option<Text>,
    },
    LogInteraction {
        interaction_id: Uuid,
        kind: InteractionKind,
        direction: Option<InteractionDirection>,
        summary: Text,
        occurred_at: DateTime<Utc>,
        duration_minutes: Option<u32>,
    },
    /// Take over what a lead merged into this record had open.
    ReceiveMerge {
        from_lead: Uuid,
        follow_ups: Vec<MovedFollowUp>,
    },
    /// Give back what `from_lead`'s merge moved here (its merge is being undone).
    RevertMerge { from_lead: Uuid },
}

/// What happened in the work log.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum WorkEvent {
    FollowUpScheduled {
        follow_up_id: Uuid,
        due_at: DateTime<Utc>,
        channel: FollowUpChannel,
        note: Option<Text>,
    },
    FollowUpRescheduled {
        follow_up_id: Uuid,
        previous_due_at: DateTime<Utc>,
        due_at: DateTime<Utc>,
        reason: Option<Text>,
    },
    FollowUpCompleted {
        follow_up_id: Uuid,
        outcome: Option<Text>,
    },
    FollowUpCancelled {
        follow_up_id: Uuid,
        reason: Option<Text>,
    },
    InteractionLogged {
        interaction_id: Uuid,
        kind: InteractionKind,
        direction: Option<InteractionDirection>,
        summary: Text,
        occurred_at: DateTime<Utc>,
        duration_minutes: Option<u32>,
    },
    /// A lead was merged into this record; its open follow-ups moved here under new ids.
    MergeReceived {
        from_lead: Uuid,
        follow_ups: Vec<MovedFollowUp>,
    },
    /// A merge into this record was undone: the follow-ups it moved here that were still
    /// open went back.
    MergeReverted {
        from_lead: Uuid,
        follow_ups: Vec<Uuid>,
    },
}

impl WorkEvent {
    pub fn name(&self) -> &'static str {
        match self {
            Self::FollowUpScheduled { .. } => "FollowUpScheduled",
            Self::FollowUpRescheduled { .. } => "FollowUpRescheduled",
            Self::FollowUpCompleted { .. } => "FollowUpCompleted",
            Self::FollowUpCancelled { .. } => "FollowUpCancelled",
            Self::InteractionLogged { .. } => "InteractionLogged",
            Self::MergeReceived { .. } => "MergeReceived",
            Self::MergeReverted { .. } => "MergeReverted",
        }
    }
}

/// Why the work log refused a command.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WorkError {
    #[error("an item with this id already exists")]
    DuplicateId,
    #[error("no follow-up with this id")]
    UnknownFollowUp,
    #[error("the follow-up is already completed or cancelled")]
    FollowUpClosed,
    #[error("a follow-up cannot be due in the past")]
    DueInThePast,
    #[error("a follow-up is due within two years")]
    DueTooFarAhead,
    #[error("an interaction cannot have happened in the future")]
    InteractionInTheFuture,
    #[error("an interaction is recorded within ten years of when it happened")]
    InteractionTooOld,
    #[error("that lead is not merged into this record")]
    NotMergedHere,
}

/// The decision state of the work log.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct WorkLog {
    /// Open follow-ups by id, with when they are due.
    open: BTreeMap<Uuid, DateTime<Utc>>,
    /// Every follow-up and interaction id ever used.
    ids: BTreeSet<Uuid>,
    /// The leads merged into this record.
    #[serde(default)]
    received: Received,
}

impl WorkLog {
    /// The open follow-ups, soonest first.
    pub fn open_follow_ups(&self) -> Vec<Uuid> {
        let mut open: Vec<_> = self.open.iter().map(|(id, due)| (*due, *id)).collect();
        open.sort();
        open.into_iter().map(|(_, id)| id).collect()
    }

    /// The leads merged into this record.
    pub fn merged_here(&self) -> &Received {
        &self.received
    }

    /// The due time of the open follow-up `id`.
    pub fn open_due(&self, id: Uuid) -> Option<DateTime<Utc>> {
        self.open.get(&id).copied()
    }

    /// Cancels every open follow-up (the account closed), with no text.
    pub fn cancel_all(&self) -> Vec<WorkEvent> {
        self.open_follow_ups()
            .into_iter()
            .map(|follow_up_id| WorkEvent::FollowUpCancelled {
                follow_up_id,
                reason: None,
            })
            .collect()
    }

    fn check_due(due_at: DateTime<Utc>, now: DateTime<Utc>) -> Result<(), WorkError> {
        if due_at < now {
            return Err(WorkError::DueInThePast);
        }
        if due_at > now + Duration::days(731) {
            return Err(WorkError::DueTooFarAhead);
        }
        Ok(())
    }

    fn open_one(&self, id: Uuid) -> Result<DateTime<Utc>, WorkError> {
        match self.open.get(&id) {
            Some(due) => Ok(*due),
            None if self.ids.contains(&id) => Err(WorkError::FollowUpClosed),
            None => Err(WorkError::UnknownFollowUp),
        }
    }

    /// Decides a command at `now`; the owner has checked that the record takes changes.
    pub fn decide(
        &self,
        command: WorkCommand,
        now: DateTime<Utc>,
    ) -> Result<Vec<WorkEvent>, WorkError> {
        Ok(vec![match command {
            WorkCommand::ReceiveMerge {
                from_lead,
                follow_ups,
            } => {
                if self.received.holds(from_lead)
                    || follow_ups
                        .iter()
                        .any(|f| self.ids.contains(&f.follow_up_id))
                {
                    return Err(WorkError::DuplicateId);
                }
                WorkEvent::MergeReceived {
                    from_lead,
                    follow_ups,
                }
            }
            WorkCommand::RevertMerge { from_lead } => {
                let (follow_ups, _) = self
                    .received
                    .give_back(from_lead, |id| self.open_due(id))
                    .ok_or(WorkError::NotMergedHere)?;
                WorkEvent::MergeReverted {
                    from_lead,
                    follow_ups,
                }
            }
            WorkCommand::ScheduleFollowUp {
                follow_up_id,
                due_at,
                channel,
                note,
            } => {
                if self.ids.contains(&follow_up_id) {
                    return Err(WorkError::DuplicateId);
                }
                Self::check_due(due_at, now)?;
                WorkEvent::FollowUpScheduled {
                    follow_up_id,
                    due_at,
                    channel,
                    note,
                }
            }
            WorkCommand::RescheduleFollowUp {
                follow_up_id,
                due_at,
                reason,
            } => {
                let previous_due_at = self.open_one(follow_up_id)?;
                if due_at == previous_due_at {
                    return Ok(vec![]);
                }
                Self::check_due(due_at, now)?;
                WorkEvent::FollowUpRescheduled {
                    follow_up_id,
                    previous_due_at,
                    due_at,
                    reason,
                }
            }
            WorkCommand::CompleteFollowUp {
                follow_up_id,
                outcome,
            } => {
                self.open_one(follow_up_id)?;
                WorkEvent::FollowUpCompleted {
                    follow_up_id,
                    outcome,
                }
            }
            WorkCommand::CancelFollowUp {
                follow_up_id,
                reason,
            } => {
                self.open_one(follow_up_id)?;
                WorkEvent::FollowUpCancelled {
                    follow_up_id,
                    reason,
                }
            }
            WorkCommand::LogInteraction {
                interaction_id,
                kind,
                direction,
                summary,
                occurred_at,
                duration_minutes,
            } => {
                if self.ids.contains(&interaction_id) {
                    return Err(WorkError::DuplicateId);
                }
                if occurred_at > now + Duration::minutes(5) {
                    return Err(WorkError::InteractionInTheFuture);
                }
                if occurred_at < now - Duration::days(3653) {
                    return Err(WorkError::InteractionTooOld);
                }
                WorkEvent::InteractionLogged {
                    interaction_id,
                    kind,
                    direction,
                    summary,
                    occurred_at,
                    duration_minutes,
                }
            }
        }])
    }

    pub fn apply(&mut self, event: &WorkEvent) {
        match event {
            WorkEvent::FollowUpScheduled {
                follow_up_id,
                due_at,
                ..
            } => {
                self.ids.insert(*follow_up_id);
                self.open.insert(*follow_up_id, *due_at);
            }
            WorkEvent::FollowUpRescheduled {
                follow_up_id,
                due_at,
                ..
            } => {
                self.open.insert(*follow_up_id, *due_at);
            }
            WorkEvent::FollowUpCompleted { follow_up_id, .. }
            | WorkEvent::FollowUpCancelled { follow_up_id, .. } => {
                self.open.remove(follow_up_id);
            }
            WorkEvent::InteractionLogged { interaction_id, .. } => {
                self.ids.insert(*interaction_id);
            }
            WorkEvent::MergeReceived {
                from_lead,
                follow_ups,
            } => {
                self.received.received(*from_lead, follow_ups);
                for f in follow_ups {
                    self.ids.insert(f.follow_up_id);
                    self.open.insert(f.follow_up_id, f.due_at);
                }
            }
            WorkEvent::MergeReverted {
                from_lead,
                follow_ups,
            } => {
                self.received.reverted(*from_lead);
                for id in follow_ups {
                    self.open.remove(id);
                }
            }
        }
    }
}

/// The work log's events with their personal and plain fields.
pub const EVENTS: &[EventFields] = &[
    EventFields {
        event: "FollowUpScheduled",
        personal: &["/FollowUpScheduled/note"],
        plain: &[
            "/FollowUpScheduled/follow_up_id",
            "/FollowUpScheduled/due_at",
            "/FollowUpScheduled/channel",
        ],
    },
    EventFields {
        event: "FollowUpRescheduled",
        personal: &["/FollowUpRescheduled/reason"],
        plain: &[
            "/FollowUpRescheduled/follow_up_id",
            "/FollowUpRescheduled/previous_due_at",
            "/FollowUpRescheduled/due_at",
        ],
    },
    EventFields {
        event: "FollowUpCompleted",
        personal: &["/FollowUpCompleted/outcome"],
        plain: &["/FollowUpCompleted/follow_up_id"],
    },
    EventFields {
        event: "FollowUpCancelled",
        personal: &["/FollowUpCancelled/reason"],
        plain: &["/FollowUpCancelled/follow_up_id"],
    },
    EventFields {
        event: "InteractionLogged",
        personal: &["/InteractionLogged/summary"],
        plain: &[
            "/InteractionLogged/interaction_id",
            "/InteractionLogged/kind",
            "/InteractionLogged/direction",
            "/InteractionLogged/occurred_at",
        ],
    },
];
