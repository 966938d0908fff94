//! Where a Client's personal data is, and how older event versions are read.

/// Upcasters for older versions of Client events; every Client event is at its first version.
pub fn upcasters() -> Vec<Box<dyn cqrs_es::persist::EventUpcaster>> {
    Vec::new()
}

/// Where the personal data is in each Client event's stored payload (JSON pointers).
pub fn personal_fields(event_type: &str) -> &'static [&'static str] {
    match event_type {
        "ClientOnboarded" => &[
            "/ClientOnboarded/profile/name",
            "/ClientOnboarded/profile/email",
            "/ClientOnboarded/profile/phone",
            "/ClientOnboarded/profile/pan",
            "/ClientOnboarded/profile/date_of_birth",
            "/ClientOnboarded/profile/address",
        ],
        "ClientProfileChanged" => &[
            "/ClientProfileChanged/name",
            "/ClientProfileChanged/email",
            "/ClientProfileChanged/phone",
            "/ClientProfileChanged/address",
        ],
        "RelationshipClosed" => &["/RelationshipClosed/reason"],
        "ClientDocumentAdded" => &[
            "/ClientDocumentAdded/number",
            "/ClientDocumentAdded/file_name",
        ],
        "ErasureRequested" => &["/ErasureRequested/reason"],
        _ => &[],
    }
}
