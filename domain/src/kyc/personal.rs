//! Where a client's KYC holds personal data, and how older event versions are read.

use crate::personal::EventFields;

/// Upcasters for older versions of KYC events; every KYC event is at its first version.
pub fn upcasters() -> Vec<Box<dyn cqrs_es::persist::EventUpcaster>> {
    Vec::new()
}

/// Every KYC event with its personal fields and its plain string fields. The aggregate's id is
/// the client's, so its personal fields are sealed with the client's key.
pub const EVENTS: &[EventFields] = &[
    EventFields {
        event: "KycCaseOpened",
        personal: &[],
        plain: &[
            "/KycCaseOpened/case_id",
            "/KycCaseOpened/client_id",
            "/KycCaseOpened/client_type",
            "/KycCaseOpened/opened_by",
        ],
    },
    EventFields {
        event: "KycDocumentAttached",
        personal: &[
            "/KycDocumentAttached/document/number",
            "/KycDocumentAttached/document/number_index",
        ],
        plain: &[
            "/KycDocumentAttached/case_id",
            "/KycDocumentAttached/document/document_id",
            "/KycDocumentAttached/document/document_type",
            "/KycDocumentAttached/document/issue_date",
            "/KycDocumentAttached/document/expiry_date",
            "/KycDocumentAttached/document/sha256",
            "/KycDocumentAttached/document/uploaded_by",
        ],
    },
    EventFields {
        event: "KycSubmitted",
        personal: &[],
        plain: &["/KycSubmitted/case_id", "/KycSubmitted/submitted_by"],
    },
    EventFields {
        event: "KycReviewStarted",
        personal: &[],
        plain: &["/KycReviewStarted/case_id", "/KycReviewStarted/reviewer"],
    },
    EventFields {
        event: "KycVerified",
        personal: &[
            "/KycVerified/review/reasons/*",
            "/KycVerified/review/documents/*/reason",
        ],
        plain: &[
            "/KycVerified/review/case_id",
            "/KycVerified/review/reviewer",
            "/KycVerified/review/documents/*/document_id",
            "/KycVerified/review/documents/*/verdict",
            "/KycVerified/review/documents/*/sha256",
            "/KycVerified/next_rekyc_on",
        ],
    },
    EventFields {
        event: "KycRejected",
        personal: &[
            "/KycRejected/review/reasons/*",
            "/KycRejected/review/documents/*/reason",
        ],
        plain: &[
            "/KycRejected/review/case_id",
            "/KycRejected/review/reviewer",
            "/KycRejected/review/documents/*/document_id",
            "/KycRejected/review/documents/*/verdict",
            "/KycRejected/review/documents/*/sha256",
        ],
    },
    EventFields {
        event: "KycRevisionRequested",
        personal: &[
            "/KycRevisionRequested/review/reasons/*",
            "/KycRevisionRequested/review/documents/*/reason",
        ],
        plain: &[
            "/KycRevisionRequested/review/case_id",
            "/KycRevisionRequested/review/reviewer",
            "/KycRevisionRequested/review/documents/*/document_id",
            "/KycRevisionRequested/review/documents/*/verdict",
            "/KycRevisionRequested/review/documents/*/sha256",
        ],
    },
    EventFields {
        event: "KycRiskCategorised",
        personal: &[
            "/KycRiskCategorised/factors/pep",
            "/KycRiskCategorised/factors/income_range",
            "/KycRiskCategorised/factors/occupation",
            "/KycRiskCategorised/factors/country",
            "/KycRiskCategorised/factors/derivatives",
        ],
        plain: &["/KycRiskCategorised/category", "/KycRiskCategorised/by"],
    },
    EventFields {
        event: "KraStatusRecorded",
        personal: &[],
        plain: &["/KraStatusRecorded/status", "/KraStatusRecorded/by"],
    },
    EventFields {
        event: "CkycNumberRecorded",
        personal: &["/CkycNumberRecorded/number"],
        plain: &["/CkycNumberRecorded/by"],
    },
    EventFields {
        event: "KycAlertRaised",
        personal: &[],
        plain: &[
            "/KycAlertRaised/alert/kind",
            "/KycAlertRaised/alert/case_id",
            "/KycAlertRaised/alert/document_id",
            "/KycAlertRaised/alert/due_on",
        ],
    },
    EventFields {
        event: "RekycDue",
        personal: &[],
        plain: &[
            "/RekycDue/case_id",
            "/RekycDue/reason",
            "/RekycDue/document_id",
        ],
    },
];

/// Every table of this aggregate's events, for the registry of kinds ([`crate::kinds`]).
pub const EVENT_TABLES: &[&[EventFields]] = &[EVENTS];
