//! Where a Lead's personal data is, and how older event versions are read.

/// Upcasters for older versions of Lead events, applied when events are loaded by the write
/// side and by the read side. Every Lead event is still at its first version (1.0).
pub fn upcasters() -> Vec<Box<dyn cqrs_es::persist::EventUpcaster>> {
    Vec::new()
}

/// Where the personal data is in each Lead event's stored payload (JSON pointers): names,
/// contact details and every free text, which can carry anything a person said.
pub fn personal_fields(event_type: &str) -> &'static [&'static str] {
    match event_type {
        "LeadCaptured" => &[
            "/LeadCaptured/details/name",
            "/LeadCaptured/details/email",
            "/LeadCaptured/details/phone",
            "/LeadCaptured/details/source_detail",
            "/LeadCaptured/details/preferred_contact_time",
            "/LeadCaptured/details/notes",
        ],
        "LeadDetailsChanged" => &[
            "/LeadDetailsChanged/name",
            "/LeadDetailsChanged/email",
            "/LeadDetailsChanged/phone",
            "/LeadDetailsChanged/source_detail",
            "/LeadDetailsChanged/preferred_contact_time",
            "/LeadDetailsChanged/notes",
        ],
        "LeadStatusChanged" => &["/LeadStatusChanged/reason"],
        "LeadLost" => &["/LeadLost/reason"],
        "LeadReopened" => &["/LeadReopened/reason"],
        "LeadConverted" => &["/LeadConverted/reason"],
        "LeadAssigned" => &["/LeadAssigned/reason"],
        "FollowUpScheduled" => &["/FollowUpScheduled/note"],
        "FollowUpRescheduled" => &["/FollowUpRescheduled/reason"],
        "FollowUpCompleted" => &["/FollowUpCompleted/outcome"],
        "FollowUpCancelled" => &["/FollowUpCancelled/reason"],
        "InteractionLogged" => &["/InteractionLogged/summary"],
        "LeadArchived" => &["/LeadArchived/reason"],
        "ErasureRequested" => &["/ErasureRequested/reason"],
        _ => &[],
    }
}
