use uuid::Uuid;

use super::WebhookTerms;

/// What may be asked of a webhook subscription.
#[derive(Debug, Clone, PartialEq)]
pub enum WebhookCommand {
    /// Make the subscription (its secret is kept apart, sealed).
    Subscribe {
        subscription_id: Uuid,
        terms: WebhookTerms,
    },
    /// Record that events from `from_position` (excluded) to `to_position` were queued again
    /// for it: `queued` deliveries.
    RecordReplay {
        from_position: i64,
        to_position: i64,
        queued: u64,
    },
    /// Nothing more is delivered to it.
    Remove,
}
