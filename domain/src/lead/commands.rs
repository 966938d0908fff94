use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::{
    CaptureChannel, FollowUpChannel, InteractionDirection, InteractionKind, LeadDetails,
    LeadDetailsChange, LeadStatus,
};
use crate::merge::{MergeTarget, MovedFollowUp, ReopenedFollowUp};
use crate::privacy::PrivacyCommand;
use crate::values::Text;

/// What may be asked of a lead. Values are already validated; the aggregate checks the rules
/// that depend on the lead's state.
#[derive(Debug, Clone, PartialEq)]
pub enum LeadCommand {
    Capture {
        lead_id: Uuid,
        details: LeadDetails,
        channel: CaptureChannel,
        assign_to: Option<Uuid>,
        /// Whether `assign_to` was picked by round-robin.
        round_robin: bool,
    },
    UpdateDetails(LeadDetailsChange),
    ChangeStatus {
        to: LeadStatus,
        reason: Option<Text>,
        /// The id the client account will have when `to` is converted.
        client_id: Uuid,
    },
    Assign {
        agent_id: Uuid,
        round_robin: bool,
        reason: Option<Text>,
    },
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
    Archive {
        reason: Option<Text>,
    },
    /// Merge this lead into `into` (the use case makes the survivor's `ReceiveMerge` from it).
    Merge {
        into: MergeTarget,
        reason: Option<Text>,
    },
    /// Take over what a lead merged into this one had open.
    ReceiveMerge {
        from_lead: Uuid,
        follow_ups: Vec<MovedFollowUp>,
    },
    /// Undo this lead's merge, taking back `follow_ups` (those still open on the survivor).
    Unmerge {
        follow_ups: Vec<ReopenedFollowUp>,
        reason: Option<Text>,
    },
    /// Give back what `from_lead`'s merge moved here (its merge is being undone).
    RevertMerge {
        from_lead: Uuid,
    },
    /// Record that the subject's key is destroyed now; refused while anything blocks it.
    Erase,
    /// The client this lead became was erased: the lead's copy of the same person's data goes
    /// too, unless a legal hold stands on the lead.
    EraseWithClient,
    /// Erasure requests, holds, consents and exports: the data-subject component decides.
    Privacy(PrivacyCommand),
}
