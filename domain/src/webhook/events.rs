use cqrs_es::DomainEvent;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::WebhookTerms;

/// Everything that can happen to a webhook subscription. Every event is at version 1.0.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum WebhookEvent {
    /// Made: it takes the events recorded from now on.
    WebhookSubscribed {
        subscription_id: Uuid,
        terms: WebhookTerms,
    },
    /// Events after `from_position` and up to `to_position` were queued to it again.
    WebhookReplayed {
        from_position: i64,
        to_position: i64,
        queued: u64,
    },
    /// Removed: what was still queued for it is not delivered.
    WebhookRemoved {},
}

impl WebhookEvent {
    pub fn name(&self) -> &'static str {
        match self {
            Self::WebhookSubscribed { .. } => "WebhookSubscribed",
            Self::WebhookReplayed { .. } => "WebhookReplayed",
            Self::WebhookRemoved {} => "WebhookRemoved",
        }
    }
}

impl DomainEvent for WebhookEvent {
    fn event_type(&self) -> String {
        self.name().to_string()
    }

    fn event_version(&self) -> String {
        "1.0".to_string()
    }
}
