//! A capture key: a credential the broker's web forms and campaign partners send with the
//! leads they capture, so that a website never holds a staff token. It names the form or
//! partner, the lead source and campaign its captures carry, and may only capture leads. The
//! secret is shown once when issued; only its sha256 is kept. A revoked key captures nothing.

mod commands;
mod errors;
mod events;
mod personal;
#[cfg(test)]
mod tests;

use cqrs_es::event_sink::EventSink;
use cqrs_es::Aggregate;
use serde::{Deserialize, Serialize};

pub use commands::CaptureKeyCommand;
pub use errors::CaptureKeyError;
pub use events::CaptureKeyEvent;
pub use personal::EVENT_TABLES;

use crate::lead::LeadSource;
use crate::values::Text;

/// Longest name of a key (the form or partner).
pub const NAME_MAX: usize = 100;
/// Longest campaign name.
pub const CAMPAIGN_MAX: usize = 100;

/// What a capture key stands for.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct KeyTerms {
    /// The form or partner, e.g. `Website: open an account`.
    pub name: Text,
    /// The source its leads are captured under.
    pub source: LeadSource,
    /// The campaign its leads carry (as the lead's source detail).
    pub campaign: Option<Text>,
}

/// The decision state of a capture key.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct CaptureKey {
    terms: Option<KeyTerms>,
    secret_sha256: String,
    revoked: bool,
}

impl CaptureKey {
    /// What the key stands for, while it may capture: issued and not revoked.
    pub fn active_terms(&self) -> Option<&KeyTerms> {
        self.terms.as_ref().filter(|_| !self.revoked)
    }

    /// Whether `secret_sha256` (hex) is the digest of the key's secret. Digests are compared,
    /// never secrets: timing tells a caller nothing they could steer.
    pub fn accepts(&self, secret_sha256: &str) -> bool {
        self.active_terms().is_some() && self.secret_sha256 == secret_sha256
    }

    fn decide(&self, command: CaptureKeyCommand) -> Result<Vec<CaptureKeyEvent>, CaptureKeyError> {
        match command {
            CaptureKeyCommand::Issue {
                key_id,
                terms,
                secret_sha256,
            } => {
                if self.terms.is_some() {
                    return Err(CaptureKeyError::AlreadyExists);
                }
                Ok(vec![CaptureKeyEvent::CaptureKeyIssued {
                    key_id,
                    terms,
                    secret_sha256,
                }])
            }
            CaptureKeyCommand::Revoke { reason } => {
                if self.terms.is_none() {
                    return Err(CaptureKeyError::NotFound);
                }
                // Revoking a revoked key changes nothing (DELETE may be repeated).
                if self.revoked {
                    return Ok(vec![]);
                }
                Ok(vec![CaptureKeyEvent::CaptureKeyRevoked { reason }])
            }
        }
    }
}

impl Aggregate for CaptureKey {
    const TYPE: &'static str = "capture_key";
    type Command = CaptureKeyCommand;
    type Event = CaptureKeyEvent;
    type Error = CaptureKeyError;
    type Services = ();

    async fn handle(
        &mut self,
        command: Self::Command,
        _services: &Self::Services,
        sink: &EventSink<Self>,
    ) -> Result<(), Self::Error> {
        for event in self.decide(command)? {
            sink.write(event, self).await;
        }
        Ok(())
    }

    fn apply(&mut self, event: Self::Event) {
        match event {
            CaptureKeyEvent::CaptureKeyIssued {
                terms,
                secret_sha256,
                ..
            } => {
                self.terms = Some(terms);
                self.secret_sha256 = secret_sha256;
            }
            CaptureKeyEvent::CaptureKeyRevoked { .. } => self.revoked = true,
        }
    }
}
