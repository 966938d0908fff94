//! Carrying out an erasure: record it on the lead, then destroy the key. The event comes first
//! so that the audit trail never lacks a shred that happened; should the process die between
//! the two, the retention run finds the lead erased with its key still present and finishes.

use domain::lead::{Lead, LeadCommand, LeadError};

use super::Keyring;
use crate::{CommandError, EventMetadata, Executor};

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Erasure {
    /// The key is destroyed; `position` is the log position of `LeadErased`.
    Erased { position: i64 },
    /// Not yet: why.
    Blocked { reason: &'static str },
}

/// Erases the lead's personal data if nothing blocks it.
pub async fn erase_if_allowed(
    leads: &Executor<Lead>,
    keyring: &Keyring,
    lead_id: &str,
    metadata: &EventMetadata,
) -> Result<Erasure, CommandError<LeadError>> {
    match leads
        .execute(lead_id, LeadCommand::Erase, metadata, None)
        .await
    {
        Ok(done) => {
            keyring
                .shred(lead_id)
                .await
                .map_err(|e| CommandError::Store(e.to_string()))?;
            Ok(Erasure::Erased {
                position: done.position,
            })
        }
        Err(CommandError::Rejected(LeadError::ErasureBlocked(reason))) => {
            Ok(Erasure::Blocked { reason })
        }
        Err(e) => Err(e),
    }
}
