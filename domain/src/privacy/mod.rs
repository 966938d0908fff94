//! The data-subject component: what every record that is a person (a lead, a client, and any
//! later subject) decides and remembers about their privacy. Erasure requests restrict
//! processing, legal holds keep everything, consent is per marketing channel, exports are
//! recorded, and the erasure itself waits for whatever the embedding record's duties say.
//!
//! The embedding aggregate keeps its own stored event names for the facts that carry its own
//! duties (the erasure request and the erasure); the shared facts are [`PrivacyEvent`]s, stored
//! under the same names and payloads as before the component existed.

#[cfg(test)]
mod tests;

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::personal::EventFields;
use crate::values::Text;

snake_enum!(
    /// A channel marketing may use, each with its own consent.
    MarketingChannel { Email => "email", Sms => "sms", Whatsapp => "whatsapp", Phone => "phone" }
);

/// A privacy step any data subject takes.
#[derive(Debug, Clone, PartialEq)]
pub enum PrivacyCommand {
    /// The person asks for erasure: processing is restricted from now on.
    RequestErasure {
        reason: Option<Text>,
    },
    /// A compliance officer places a legal hold: nothing is shredded while it stands.
    PlaceLegalHold {
        reason: Text,
    },
    LiftLegalHold {
        reason: Option<Text>,
    },
    SetMarketingConsent {
        channel: MarketingChannel,
        granted: bool,
    },
    /// Everything held about the person is exported for them (data-subject access).
    RecordExport,
}

/// The privacy facts every data subject records.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum PrivacyEvent {
    LegalHoldPlaced { reason: Text },
    LegalHoldLifted { reason: Option<Text> },
    MarketingConsentGiven { channel: MarketingChannel },
    MarketingConsentWithdrawn { channel: MarketingChannel },
    SubjectDataExported,
}

impl PrivacyEvent {
    pub fn name(&self) -> &'static str {
        match self {
            Self::LegalHoldPlaced { .. } => "LegalHoldPlaced",
            Self::LegalHoldLifted { .. } => "LegalHoldLifted",
            Self::MarketingConsentGiven { .. } => "MarketingConsentGiven",
            Self::MarketingConsentWithdrawn { .. } => "MarketingConsentWithdrawn",
            Self::SubjectDataExported => "SubjectDataExported",
        }
    }
}

/// The shared facts' fields, listed with every data subject's own (see [`crate::personal`]).
/// A hold's reason and its lifting are the firm's compliance record about the case, kept
/// readable through an erasure; consent channels are words.
pub const EVENTS: &[EventFields] = &[
    EventFields {
        event: "LegalHoldPlaced",
        personal: &[],
        plain: &["/LegalHoldPlaced/reason"],
    },
    EventFields {
        event: "LegalHoldLifted",
        personal: &[],
        plain: &["/LegalHoldLifted/reason"],
    },
    EventFields {
        event: "MarketingConsentGiven",
        personal: &[],
        plain: &["/MarketingConsentGiven/channel"],
    },
    EventFields {
        event: "MarketingConsentWithdrawn",
        personal: &[],
        plain: &["/MarketingConsentWithdrawn/channel"],
    },
    EventFields {
        event: "SubjectDataExported",
        personal: &[],
        plain: &[],
    },
];

/// Why a privacy step is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PrivacyError {
    #[error("the person's data was erased; the record takes no more changes")]
    Erased,
    #[error("a legal hold already stands")]
    AlreadyOnHold,
    #[error("no legal hold stands")]
    NotOnHold,
    #[error("erasure is blocked: {0}")]
    ErasureBlocked(&'static str),
    #[error("marketing consent cannot be given while processing is restricted")]
    ConsentWhileRestricted,
}

/// What a data subject's privacy state is.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct DataSubject {
    erasure_requested: bool,
    legal_hold: bool,
    erased: bool,
    consents: BTreeSet<MarketingChannel>,
    /// The same person's other record (the client a lead became, the lead a client came
    /// from): privacy requests through either answer for the whole person.
    linked: Option<Uuid>,
}

impl DataSubject {
    /// Decides a privacy step. `erasure_requested` builds the embedding record's own event for
    /// an erasure request (it knows which record-keeping duty delays the shred).
    pub fn decide<E: From<PrivacyEvent>>(
        &self,
        command: PrivacyCommand,
        erasure_requested: impl FnOnce(Option<Text>) -> E,
    ) -> Result<Vec<E>, PrivacyError> {
        let event = match command {
            PrivacyCommand::RequestErasure { reason } => {
                if self.erased || self.erasure_requested {
                    return Ok(vec![]);
                }
                return Ok(vec![erasure_requested(reason)]);
            }
            PrivacyCommand::PlaceLegalHold { reason } => {
                if self.erased {
                    return Err(PrivacyError::Erased);
                }
                if self.legal_hold {
                    return Err(PrivacyError::AlreadyOnHold);
                }
                PrivacyEvent::LegalHoldPlaced { reason }
            }
            PrivacyCommand::LiftLegalHold { reason } => {
                if !self.legal_hold {
                    return Err(PrivacyError::NotOnHold);
                }
                PrivacyEvent::LegalHoldLifted { reason }
            }
            PrivacyCommand::SetMarketingConsent { channel, granted } => {
                if self.erased {
                    return Err(PrivacyError::Erased);
                }
                match (granted, self.consents.contains(&channel)) {
                    (true, true) | (false, false) => return Ok(vec![]),
                    (true, false) if self.erasure_requested => {
                        return Err(PrivacyError::ConsentWhileRestricted)
                    }
                    (true, false) => PrivacyEvent::MarketingConsentGiven { channel },
                    (false, true) => PrivacyEvent::MarketingConsentWithdrawn { channel },
                }
            }
            PrivacyCommand::RecordExport => PrivacyEvent::SubjectDataExported,
        };
        Ok(vec![event.into()])
    }

    /// Decides the erasure itself: nothing when already done, refused while a legal hold
    /// stands or while the embedding record's own `blocker` (a record-keeping duty) holds.
    pub fn erase<E>(
        &self,
        blocker: Option<&'static str>,
        erased: E,
    ) -> Result<Vec<E>, PrivacyError> {
        if self.erased {
            return Ok(vec![]);
        }
        if self.legal_hold {
            return Err(PrivacyError::ErasureBlocked("a legal hold stands"));
        }
        match blocker {
            Some(why) => Err(PrivacyError::ErasureBlocked(why)),
            None => Ok(vec![erased]),
        }
    }

    /// Folds a shared privacy fact.
    pub fn apply(&mut self, event: &PrivacyEvent) {
        match event {
            PrivacyEvent::LegalHoldPlaced { .. } => self.legal_hold = true,
            PrivacyEvent::LegalHoldLifted { .. } => self.legal_hold = false,
            PrivacyEvent::MarketingConsentGiven { channel } => {
                self.consents.insert(*channel);
            }
            PrivacyEvent::MarketingConsentWithdrawn { channel } => {
                self.consents.remove(channel);
            }
            PrivacyEvent::SubjectDataExported => {}
        }
    }

    /// Folds the embedding record's erasure request: processing is restricted and every
    /// marketing consent ends with it.
    pub fn restrict(&mut self) {
        self.erasure_requested = true;
        self.consents.clear();
    }

    /// Folds the embedding record's erasure.
    pub fn mark_erased(&mut self) {
        self.erased = true;
    }

    /// Records the same person's other record.
    pub fn link(&mut self, other: Uuid) {
        self.linked = Some(other);
    }

    /// The same person's other record, if any.
    pub fn linked(&self) -> Option<Uuid> {
        self.linked
    }

    /// Whether the person asked for erasure (processing is restricted since).
    pub fn erasure_requested(&self) -> bool {
        self.erasure_requested
    }

    pub fn legal_hold(&self) -> bool {
        self.legal_hold
    }

    pub fn is_erased(&self) -> bool {
        self.erased
    }

    /// Whether processing other than privacy and compliance steps may go on.
    pub fn processing_allowed(&self) -> bool {
        !self.erased && !self.erasure_requested
    }

    pub fn consents(&self) -> &BTreeSet<MarketingChannel> {
        &self.consents
    }
}
