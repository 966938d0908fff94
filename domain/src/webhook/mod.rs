//! A webhook subscription: where the broker's other systems are told of events (a URL, the
//! event types it takes, what it is for). Making one, replaying history to it and removing it
//! are recorded events, so the log shows who sent what out of the system, and when. The
//! secret its deliveries are signed with is never in the log: it is kept sealed with the
//! master key beside the subscription's row.

mod commands;
mod errors;
mod events;
mod personal;
#[cfg(test)]
mod tests;

use cqrs_es::event_sink::EventSink;
use cqrs_es::Aggregate;
use serde::{Deserialize, Serialize};

pub use commands::WebhookCommand;
pub use errors::WebhookError;
pub use events::WebhookEvent;
pub use personal::EVENT_TABLES;

use crate::values::Text;

/// Where and what a subscription delivers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WebhookTerms {
    /// An absolute `https://` URL (or `http://` where private addresses are allowed).
    pub url: String,
    /// Event types (`KycVerified`, …), or `*` for every event.
    pub event_types: Vec<String>,
    pub description: Option<Text>,
    /// Whether deliveries carry the event's personal data (opened); otherwise it is withheld.
    #[serde(default)]
    pub personal_data: bool,
}

/// The decision state of a subscription.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct WebhookSubscription {
    made: bool,
    removed: bool,
}

impl WebhookSubscription {
    fn decide(&self, command: WebhookCommand) -> Result<Vec<WebhookEvent>, WebhookError> {
        match command {
            WebhookCommand::Subscribe {
                subscription_id,
                terms,
            } => {
                if self.made {
                    return Err(WebhookError::AlreadyExists);
                }
                Ok(vec![WebhookEvent::WebhookSubscribed {
                    subscription_id,
                    terms,
                }])
            }
            WebhookCommand::RecordReplay {
                from_position,
                to_position,
                queued,
            } => {
                self.active()?;
                Ok(vec![WebhookEvent::WebhookReplayed {
                    from_position,
                    to_position,
                    queued,
                }])
            }
            WebhookCommand::Remove => {
                if !self.made {
                    return Err(WebhookError::NotFound);
                }
                // Removing a removed subscription changes nothing (DELETE may be repeated).
                if self.removed {
                    return Ok(vec![]);
                }
                Ok(vec![WebhookEvent::WebhookRemoved {}])
            }
        }
    }

    /// Made and not removed; or why not.
    pub fn active(&self) -> Result<(), WebhookError> {
        match (self.made, self.removed) {
            (false, _) => Err(WebhookError::NotFound),
            (true, true) => Err(WebhookError::Removed),
            (true, false) => Ok(()),
        }
    }
}

impl Aggregate for WebhookSubscription {
    const TYPE: &'static str = "webhook_subscription";
    type Command = WebhookCommand;
    type Event = WebhookEvent;
    type Error = WebhookError;
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
            WebhookEvent::WebhookSubscribed { .. } => self.made = true,
            WebhookEvent::WebhookReplayed { .. } => {}
            WebhookEvent::WebhookRemoved {} => self.removed = true,
        }
    }
}
