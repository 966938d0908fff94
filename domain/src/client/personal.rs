//! Where a Client's personal data is, and how older event versions are read.

use crate::personal::EventFields;

/// Upcasters for older versions of Client events; every Client event is at its first version.
pub fn upcasters() -> Vec<Box<dyn cqrs_es::persist::EventUpcaster>> {
    Vec::new()
}

/// Every Client event with its personal fields and its plain string fields. The data-subject
/// component's events are listed in [`crate::privacy::EVENTS`].
pub const EVENTS: &[EventFields] = &[
    EventFields {
        event: "ClientOnboarded",
        personal: &[
            "/ClientOnboarded/profile/name",
            "/ClientOnboarded/profile/email",
            "/ClientOnboarded/profile/phone",
            "/ClientOnboarded/profile/pan",
            "/ClientOnboarded/profile/date_of_birth",
            "/ClientOnboarded/profile/address",
        ],
        plain: &[
            "/ClientOnboarded/client_id",
            "/ClientOnboarded/lead_id",
            "/ClientOnboarded/branch",
            "/ClientOnboarded/relationship_manager",
        ],
    },
    EventFields {
        event: "ClientProfileChanged",
        personal: &[
            "/ClientProfileChanged/name",
            "/ClientProfileChanged/email",
            "/ClientProfileChanged/phone",
            "/ClientProfileChanged/address",
        ],
        plain: &[],
    },
    EventFields {
        event: "RelationshipManagerAssigned",
        personal: &[],
        plain: &[
            "/RelationshipManagerAssigned/manager_id",
            "/RelationshipManagerAssigned/previous_manager_id",
        ],
    },
    EventFields {
        event: "RelationshipClosed",
        personal: &["/RelationshipClosed/reason"],
        plain: &["/RelationshipClosed/closed_at"],
    },
    EventFields {
        event: "AccountSuspended",
        personal: &["/AccountSuspended/reason"],
        plain: &["/AccountSuspended/from"],
    },
    EventFields {
        event: "AccountMarkedDormant",
        personal: &[],
        plain: &["/AccountMarkedDormant/last_activity_on"],
    },
    EventFields {
        event: "AccountReactivated",
        personal: &["/AccountReactivated/reason"],
        plain: &["/AccountReactivated/from"],
    },
    EventFields {
        event: "RelationshipReopened",
        personal: &["/RelationshipReopened/reason"],
        plain: &["/RelationshipReopened/closed_at"],
    },
    EventFields {
        event: "ClientDocumentAdded",
        personal: &[
            "/ClientDocumentAdded/number",
            "/ClientDocumentAdded/file_name",
        ],
        plain: &[
            "/ClientDocumentAdded/document_id",
            "/ClientDocumentAdded/kind",
            "/ClientDocumentAdded/content_type",
            "/ClientDocumentAdded/sha256",
        ],
    },
    EventFields {
        event: "ClientDocumentsPurged",
        personal: &[],
        plain: &["/ClientDocumentsPurged/document_ids/*"],
    },
    EventFields {
        event: "ErasureRequested",
        personal: &["/ErasureRequested/reason"],
        plain: &["/ErasureRequested/retention_until"],
    },
    EventFields {
        event: "ClientErased",
        personal: &[],
        plain: &["/ClientErased/basis"],
    },
];

/// Every table of this aggregate's events (its own and the components' it embeds), for the
/// registry of kinds ([`crate::kinds`]).
pub const EVENT_TABLES: &[&[EventFields]] = &[EVENTS, crate::privacy::EVENTS];
