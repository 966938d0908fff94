//! A pack's record holds no personal data: the month, file names, sizes and digests.

use crate::personal::EventFields;

pub const EVENTS: &[EventFields] = &[EventFields {
    event: "CompliancePackGenerated",
    personal: &[],
    plain: &[
        "/CompliancePackGenerated/files/*/name",
        "/CompliancePackGenerated/files/*/sha256",
    ],
}];

pub const EVENT_TABLES: &[&[EventFields]] = &[EVENTS];
