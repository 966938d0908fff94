//! The one registry of record kinds: what the layers above need to know about each aggregate
//! (its stored name, where its personal data is, whether its records are people, and which
//! event says a person's data was erased). History, audit filters, exports and the encrypting
//! event store all read it; a new aggregate adds one line here.

use cqrs_es::Aggregate;

/// What the rest of the system knows about one kind of record.
#[derive(Debug, Clone, Copy)]
pub struct Kind {
    /// The aggregate type its events are stored under.
    pub name: &'static str,
    /// Where the personal data is in each of its events' payloads (JSON pointers, by event
    /// type); `None` for an event type its table does not list.
    pub personal_fields: fn(&str) -> Option<&'static [&'static str]>,
    /// Whether its records are people (data subjects) whom privacy requests can name.
    pub data_subject: bool,
    /// The event that records a person's data erased (their key destroyed).
    pub erased_event: Option<&'static str>,
}

/// Access records hold no personal data: the subject's id, its kind and what was shown.
fn access_fields(event_type: &str) -> Option<&'static [&'static str]> {
    (event_type == "PiiViewed").then_some(&[])
}

/// Every kind of record this build stores.
pub const KINDS: &[Kind] = &[
    Kind {
        name: crate::lead::Lead::TYPE,
        personal_fields: crate::lead::personal_fields,
        data_subject: true,
        erased_event: Some("LeadErased"),
    },
    Kind {
        name: crate::client::Client::TYPE,
        personal_fields: crate::client::personal_fields,
        data_subject: true,
        erased_event: Some("ClientErased"),
    },
    Kind {
        name: crate::user::User::TYPE,
        personal_fields: crate::user::personal_fields,
        data_subject: false,
        erased_event: None,
    },
    Kind {
        name: crate::access::PiiAccess::TYPE,
        personal_fields: access_fields,
        data_subject: false,
        erased_event: None,
    },
];

/// The kind stored as `name`.
pub fn kind(name: &str) -> Option<&'static Kind> {
    KINDS.iter().find(|k| k.name == name)
}

/// The stored names of every kind, for filters and help texts.
pub fn names() -> impl Iterator<Item = &'static str> {
    KINDS.iter().map(|k| k.name)
}

/// Whether `event_type` records that a person's data was erased.
pub fn is_erasure(event_type: &str) -> bool {
    KINDS.iter().any(|k| k.erased_event == Some(event_type))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_is_listed_once_and_erasures_are_known() {
        let mut names: Vec<_> = names().collect();
        names.sort();
        names.dedup();
        assert_eq!(names.len(), KINDS.len());
        assert!(is_erasure("LeadErased") && is_erasure("ClientErased"));
        assert!(!is_erasure("LeadCaptured"));
        assert!(kind("client").is_some_and(|k| k.data_subject));
        assert!(kind("user").is_some_and(|k| !k.data_subject));
        let lead = kind("lead").unwrap();
        assert!(!(lead.personal_fields)("LeadCaptured").unwrap().is_empty());
        assert!((lead.personal_fields)("NoSuchEvent").is_none());
    }
}
