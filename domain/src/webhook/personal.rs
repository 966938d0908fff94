//! A webhook subscription holds no personal data: a URL of the broker's own systems, the
//! event types it takes and what it is for.

use crate::personal::EventFields;

pub const EVENTS: &[EventFields] = &[
    EventFields {
        event: "WebhookSubscribed",
        personal: &[],
        plain: &[
            "/WebhookSubscribed/subscription_id",
            "/WebhookSubscribed/terms/url",
            "/WebhookSubscribed/terms/event_types/*",
            "/WebhookSubscribed/terms/description",
        ],
    },
    EventFields {
        event: "WebhookReplayed",
        personal: &[],
        plain: &[],
    },
    EventFields {
        event: "WebhookRemoved",
        personal: &[],
        plain: &[],
    },
];

pub const EVENT_TABLES: &[&[EventFields]] = &[EVENTS];
