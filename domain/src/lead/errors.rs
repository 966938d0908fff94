use super::LeadStatus;
use crate::privacy::PrivacyError;

/// Why the Lead aggregate refused a command. Each maps to one HTTP status at the edge.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LeadError {
    #[error("a lead with this id already exists")]
    AlreadyExists,
    #[error("no lead with this id")]
    NotFound,
    #[error("the lead is archived; its history can be read but it takes no more changes")]
    Archived,
    #[error("the lead is converted; it takes no more sales changes")]
    Converted,
    #[error("a lead cannot move from {from} to {to}; allowed: {}", allowed_list(.allowed))]
    IllegalTransition {
        from: LeadStatus,
        to: LeadStatus,
        allowed: Vec<LeadStatus>,
    },
    #[error("a reason is required when a lead is lost")]
    LostWithoutReason,
    #[error("a lead needs at least one of e-mail or phone")]
    NoContactChannel,
    #[error("no follow-up with this id on this lead")]
    FollowUpNotFound,
    #[error("the follow-up is already {0}")]
    FollowUpClosed(&'static str),
    #[error("a follow-up cannot be due in the past")]
    DueInThePast,
    #[error("a follow-up can be due at most two years ahead")]
    DueTooFarAhead,
    #[error("an interaction cannot have happened in the future")]
    InteractionInTheFuture,
    #[error("an interaction cannot be logged more than ten years back")]
    InteractionTooOld,
    #[error("the lead is already assigned to this agent")]
    AlreadyAssigned,
    #[error("an id that is already used on this lead was given again")]
    DuplicateId,
    #[error("the lead's personal data was erased; the record takes no more changes")]
    Erased,
    #[error(
        "the person asked for erasure: processing is restricted to privacy and compliance steps"
    )]
    Restricted,
    #[error("the lead is merged into another record; undo the merge to change it")]
    Merged,
    #[error("the lead is not merged into another record")]
    NotMerged,
    #[error("other leads are merged into this lead; undo those merges first")]
    HoldsMerged,
    #[error("that lead is not merged into this record")]
    NotMergedHere,
    #[error("the lead is lost; reopen it before it takes over another lead's work")]
    Lost,
    #[error(transparent)]
    Privacy(#[from] PrivacyError),
}

fn allowed_list(allowed: &[LeadStatus]) -> String {
    if allowed.is_empty() {
        return "none (terminal state)".into();
    }
    allowed
        .iter()
        .map(|s| s.to_string())
        .collect::<Vec<_>>()
        .join(", ")
}
