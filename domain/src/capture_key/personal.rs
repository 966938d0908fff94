//! A capture key holds no personal data: the form or partner's name, the source and campaign,
//! and the sha256 of its secret.

use crate::personal::EventFields;

pub const EVENTS: &[EventFields] = &[
    EventFields {
        event: "CaptureKeyIssued",
        personal: &[],
        plain: &[
            "/CaptureKeyIssued/key_id",
            "/CaptureKeyIssued/terms/name",
            "/CaptureKeyIssued/terms/source",
            "/CaptureKeyIssued/terms/campaign",
            "/CaptureKeyIssued/secret_sha256",
        ],
    },
    EventFields {
        event: "CaptureKeyRevoked",
        personal: &[],
        plain: &["/CaptureKeyRevoked/reason"],
    },
];

pub const EVENT_TABLES: &[&[EventFields]] = &[EVENTS];
