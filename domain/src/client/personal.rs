//! Where a Client's personal data is, and how older event versions are read.

use crate::personal::EventFields;

/// Upcasters for older versions of Client events; every Client event is at its first version (a `ClientOnboarded` without `details` reads as one with none).
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
            "/ClientOnboarded/details/emails/*/address",
            "/ClientOnboarded/details/phones/*/number",
            "/ClientOnboarded/details/addresses/*/line1",
            "/ClientOnboarded/details/addresses/*/line2",
            "/ClientOnboarded/details/addresses/*/city",
            "/ClientOnboarded/details/addresses/*/pin",
            "/ClientOnboarded/details/nominees/*/name",
            "/ClientOnboarded/details/nominees/*/date_of_birth",
            "/ClientOnboarded/details/nominees/*/guardian_name",
            "/ClientOnboarded/details/bank_accounts/*/ifsc",
            "/ClientOnboarded/details/bank_accounts/*/account_number",
            "/ClientOnboarded/details/demat_accounts/*/client_id",
            "/ClientOnboarded/details/guardian/name",
            "/ClientOnboarded/details/guardian/pan",
        ],
        plain: &[
            "/ClientOnboarded/client_id",
            "/ClientOnboarded/lead_id",
            "/ClientOnboarded/branch",
            "/ClientOnboarded/relationship_manager",
            "/ClientOnboarded/details/emails/*/label",
            "/ClientOnboarded/details/phones/*/label",
            "/ClientOnboarded/details/preferred_channel",
            "/ClientOnboarded/details/preferred_time",
            "/ClientOnboarded/details/addresses/*/kind",
            "/ClientOnboarded/details/addresses/*/state",
            "/ClientOnboarded/details/occupation",
            "/ClientOnboarded/details/annual_income",
            "/ClientOnboarded/details/net_worth",
            "/ClientOnboarded/details/nominees/*/relationship",
            "/ClientOnboarded/details/nominees/*/share",
            "/ClientOnboarded/details/bank_accounts/*/account_type",
            "/ClientOnboarded/details/demat_accounts/*/depository",
            "/ClientOnboarded/details/demat_accounts/*/dp_id",
            "/ClientOnboarded/details/guardian/relationship",
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
        event: "ClientDetailsChanged",
        personal: &[
            "/ClientDetailsChanged/details/emails/*/address",
            "/ClientDetailsChanged/details/phones/*/number",
            "/ClientDetailsChanged/details/addresses/*/line1",
            "/ClientDetailsChanged/details/addresses/*/line2",
            "/ClientDetailsChanged/details/addresses/*/city",
            "/ClientDetailsChanged/details/addresses/*/pin",
            "/ClientDetailsChanged/details/nominees/*/name",
            "/ClientDetailsChanged/details/nominees/*/date_of_birth",
            "/ClientDetailsChanged/details/nominees/*/guardian_name",
            "/ClientDetailsChanged/details/bank_accounts/*/ifsc",
            "/ClientDetailsChanged/details/bank_accounts/*/account_number",
            "/ClientDetailsChanged/details/demat_accounts/*/client_id",
            "/ClientDetailsChanged/details/guardian/name",
            "/ClientDetailsChanged/details/guardian/pan",
        ],
        plain: &[
            "/ClientDetailsChanged/details/emails/*/label",
            "/ClientDetailsChanged/details/phones/*/label",
            "/ClientDetailsChanged/details/preferred_channel",
            "/ClientDetailsChanged/details/preferred_time",
            "/ClientDetailsChanged/details/addresses/*/kind",
            "/ClientDetailsChanged/details/addresses/*/state",
            "/ClientDetailsChanged/details/occupation",
            "/ClientDetailsChanged/details/annual_income",
            "/ClientDetailsChanged/details/net_worth",
            "/ClientDetailsChanged/details/nominees/*/relationship",
            "/ClientDetailsChanged/details/nominees/*/share",
            "/ClientDetailsChanged/details/bank_accounts/*/account_type",
            "/ClientDetailsChanged/details/demat_accounts/*/depository",
            "/ClientDetailsChanged/details/demat_accounts/*/dp_id",
            "/ClientDetailsChanged/details/guardian/relationship",
            "/ClientDetailsChanged/changed/*",
        ],
    },
    EventFields {
        event: "ClientSegmentChanged",
        personal: &[],
        plain: &[
            "/ClientSegmentChanged/from",
            "/ClientSegmentChanged/to",
            "/ClientSegmentChanged/aum",
        ],
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
pub const EVENT_TABLES: &[&[EventFields]] = &[
    EVENTS,
    crate::privacy::EVENTS,
    crate::worklog::EVENTS,
    crate::merge::SURVIVOR_EVENTS,
];
