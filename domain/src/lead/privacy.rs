//! The data-protection side of a lead: erasure requests, legal holds, the erasure itself,
//! marketing consent and data-subject exports.
//!
//! A lead that never became a client carries no record-keeping duty, so an erasure request
//! shreds at once unless a legal hold stands. A converted lead's records are the client's:
//! they are kept for the retention period (SEBI: 8 years after the relationship ends), so the
//! request restricts processing now and the shred waits.

use super::{Lead, LeadCommand, LeadError, LeadEvent, LeadStatus};

impl Lead {
    pub(super) fn decide_privacy(&self, command: LeadCommand) -> Result<Vec<LeadEvent>, LeadError> {
        if !self.captured {
            return Err(LeadError::NotFound);
        }
        match command {
            LeadCommand::RequestErasure { reason } => {
                if self.erased || self.erasure_requested {
                    return Ok(vec![]);
                }
                Ok(vec![LeadEvent::ErasureRequested {
                    reason,
                    retention_required: self.status == Some(LeadStatus::Converted),
                }])
            }
            LeadCommand::PlaceLegalHold { reason } => {
                if self.erased {
                    return Err(LeadError::Erased);
                }
                if self.legal_hold {
                    return Err(LeadError::AlreadyOnHold);
                }
                Ok(vec![LeadEvent::LegalHoldPlaced { reason }])
            }
            LeadCommand::LiftLegalHold { reason } => {
                if !self.legal_hold {
                    return Err(LeadError::NotOnHold);
                }
                Ok(vec![LeadEvent::LegalHoldLifted { reason }])
            }
            LeadCommand::Erase => {
                if self.erased {
                    return Ok(vec![]);
                }
                if !self.erasure_requested {
                    return Err(LeadError::ErasureBlocked("nobody asked for erasure"));
                }
                if self.legal_hold {
                    return Err(LeadError::ErasureBlocked("a legal hold stands"));
                }
                if self.retention_required {
                    return Err(LeadError::ErasureBlocked(
                        "the records are kept until the retention period ends",
                    ));
                }
                Ok(vec![LeadEvent::LeadErased])
            }
            LeadCommand::EraseWithClient => {
                if self.erased {
                    return Ok(vec![]);
                }
                if self.legal_hold {
                    return Err(LeadError::ErasureBlocked("a legal hold stands"));
                }
                Ok(vec![LeadEvent::LeadErased])
            }
            LeadCommand::SetMarketingConsent { channel, granted } => {
                if self.erased {
                    return Err(LeadError::Erased);
                }
                match (granted, self.consents.contains(&channel)) {
                    (true, true) | (false, false) => Ok(vec![]),
                    (true, false) if self.erasure_requested => {
                        Err(LeadError::ConsentWhileRestricted)
                    }
                    (true, false) => Ok(vec![LeadEvent::MarketingConsentGiven { channel }]),
                    (false, true) => Ok(vec![LeadEvent::MarketingConsentWithdrawn { channel }]),
                }
            }
            LeadCommand::RecordExport => Ok(vec![LeadEvent::SubjectDataExported]),
            _ => unreachable!("only privacy commands are decided here"),
        }
    }

    /// Whether the person asked for erasure (processing is restricted since).
    pub fn erasure_requested(&self) -> bool {
        self.erasure_requested
    }

    /// Whether the subject's erasure is asked for, allowed and not yet done.
    pub fn erasure_due(&self) -> bool {
        self.erasure_requested && !self.erased && !self.legal_hold && !self.retention_required
    }
}
