//! The data-protection side of a lead, decided by the data-subject component with the lead's
//! own duty: a lead that never became a client carries no record-keeping duty, so an erasure
//! request shreds at once unless a legal hold stands. A converted lead's records are the
//! client's: they are kept for the retention period (SEBI: 8 years after the relationship
//! ends), so the request restricts processing now and the shred waits.

use super::{Lead, LeadCommand, LeadError, LeadEvent, LeadStatus};

impl Lead {
    pub(super) fn decide_privacy(&self, command: LeadCommand) -> Result<Vec<LeadEvent>, LeadError> {
        if !self.captured {
            return Err(LeadError::NotFound);
        }
        // A lead merged into a client is the client's record too (its work shows there).
        let retention_required = self.status == Some(LeadStatus::Converted)
            || self
                .merged_into
                .is_some_and(|t| t.kind == crate::merge::MergeKind::Client);
        Ok(match command {
            LeadCommand::Privacy(c) => {
                self.subject
                    .decide(c, |reason| LeadEvent::ErasureRequested {
                        reason,
                        retention_required,
                    })?
            }
            LeadCommand::Erase => {
                let blocker = if !self.subject.erasure_requested() {
                    Some("nobody asked for erasure")
                } else if self.retention_required {
                    Some("the records are kept until the retention period ends")
                } else {
                    None
                };
                self.subject.erase(blocker, LeadEvent::LeadErased)?
            }
            // The client this lead became was erased: only a hold on the lead keeps its copy.
            LeadCommand::EraseWithClient => self.subject.erase(None, LeadEvent::LeadErased)?,
            _ => unreachable!("only privacy commands are decided here"),
        })
    }

    /// Whether the person asked for erasure (processing is restricted since).
    pub fn erasure_requested(&self) -> bool {
        self.subject.erasure_requested()
    }

    /// Whether the subject's erasure is asked for, allowed and not yet done.
    pub fn erasure_due(&self) -> bool {
        self.subject.erasure_requested()
            && !self.subject.is_erased()
            && !self.subject.legal_hold()
            && !self.retention_required
    }
}
