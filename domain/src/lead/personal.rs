//! Where a Lead's personal data is, and how older event versions are read.

use crate::personal::EventFields;

/// Upcasters for older versions of Lead events, applied when events are loaded by the write
/// side and by the read side. Every Lead event is still at its first version (1.0).
pub fn upcasters() -> Vec<Box<dyn cqrs_es::persist::EventUpcaster>> {
    Vec::new()
}

/// Every Lead event with its personal fields (names, contact details and every free text,
/// which can carry anything a person said) and its plain string fields. The data-subject
/// component's events are listed in [`crate::privacy::EVENTS`].
pub const EVENTS: &[EventFields] = &[
    EventFields {
        event: "LeadCaptured",
        personal: &[
            "/LeadCaptured/details/name",
            "/LeadCaptured/details/email",
            "/LeadCaptured/details/phone",
            "/LeadCaptured/details/source_detail",
            "/LeadCaptured/details/preferred_contact_time",
            "/LeadCaptured/details/notes",
        ],
        plain: &[
            "/LeadCaptured/lead_id",
            "/LeadCaptured/channel",
            "/LeadCaptured/details/source",
            "/LeadCaptured/details/product_interest/*",
            "/LeadCaptured/details/preferred_contact_method",
            "/LeadCaptured/details/investment_capacity",
        ],
    },
    EventFields {
        event: "LeadDetailsChanged",
        personal: &[
            "/LeadDetailsChanged/name",
            "/LeadDetailsChanged/email",
            "/LeadDetailsChanged/phone",
            "/LeadDetailsChanged/source_detail",
            "/LeadDetailsChanged/preferred_contact_time",
            "/LeadDetailsChanged/notes",
        ],
        plain: &[
            "/LeadDetailsChanged/source",
            "/LeadDetailsChanged/product_interest/*",
            "/LeadDetailsChanged/preferred_contact_method",
            "/LeadDetailsChanged/investment_capacity",
        ],
    },
    EventFields {
        event: "LeadStatusChanged",
        personal: &["/LeadStatusChanged/reason"],
        plain: &["/LeadStatusChanged/from", "/LeadStatusChanged/to"],
    },
    EventFields {
        event: "LeadLost",
        personal: &["/LeadLost/reason"],
        plain: &["/LeadLost/from"],
    },
    EventFields {
        event: "LeadReopened",
        personal: &["/LeadReopened/reason"],
        plain: &["/LeadReopened/to"],
    },
    EventFields {
        event: "LeadConverted",
        personal: &["/LeadConverted/reason"],
        plain: &["/LeadConverted/client_id"],
    },
    EventFields {
        event: "LeadAssigned",
        personal: &["/LeadAssigned/reason"],
        plain: &["/LeadAssigned/agent_id", "/LeadAssigned/previous_agent_id"],
    },
    EventFields {
        event: "LeadArchived",
        personal: &["/LeadArchived/reason"],
        plain: &[],
    },
    EventFields {
        event: "ErasureRequested",
        personal: &["/ErasureRequested/reason"],
        plain: &[],
    },
    EventFields {
        event: "LeadMerged",
        personal: &["/LeadMerged/reason"],
        plain: &[
            "/LeadMerged/into/kind",
            "/LeadMerged/into/id",
            "/LeadMerged/follow_ups/*",
        ],
    },
    EventFields {
        event: "LeadUnmerged",
        personal: &["/LeadUnmerged/reason"],
        plain: &[
            "/LeadUnmerged/from/kind",
            "/LeadUnmerged/from/id",
            "/LeadUnmerged/follow_ups/*/follow_up_id",
            "/LeadUnmerged/follow_ups/*/due_at",
        ],
    },
    EventFields {
        event: "LeadErased",
        personal: &[],
        plain: &[],
    },
];

/// Every table of this aggregate's events (its own and the components' it embeds), for the
/// registry of kinds ([`crate::kinds`]).
// Follow-ups and interactions are listed once, in the work log's table (clients share them).
pub const EVENT_TABLES: &[&[EventFields]] = &[
    EVENTS,
    crate::privacy::EVENTS,
    crate::worklog::EVENTS,
    crate::merge::SURVIVOR_EVENTS,
];
