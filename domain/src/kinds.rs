//! The one registry of record kinds: what the layers above need to know about each aggregate
//! (its stored name, where its personal data is, whether its records are people, and which
//! event says a person's data was erased). History, audit filters, exports and the encrypting
//! event store all read it; a new aggregate adds one line here.

use cqrs_es::Aggregate;

use crate::personal::{lookup, EventFields};

/// What the rest of the system knows about one kind of record.
#[derive(Debug, Clone, Copy)]
pub struct Kind {
    /// The aggregate type its events are stored under.
    pub name: &'static str,
    /// Every event type it stores, with where its personal data is (see [`crate::personal`]).
    pub events: &'static [&'static [EventFields]],
    /// Whether its records are people (data subjects) whom privacy requests can name.
    pub data_subject: bool,
    /// The event that records a person's data erased (their key destroyed).
    pub erased_event: Option<&'static str>,
}

/// Every kind of record this build stores.
pub const KINDS: &[Kind] = &[
    Kind {
        name: crate::lead::Lead::TYPE,
        events: crate::lead::EVENT_TABLES,
        data_subject: true,
        erased_event: Some("LeadErased"),
    },
    Kind {
        name: crate::client::Client::TYPE,
        events: crate::client::EVENT_TABLES,
        data_subject: true,
        erased_event: Some("ClientErased"),
    },
    Kind {
        // Its id is the client's: its personal fields are sealed with the client's key and go
        // when the client is erased; privacy requests name the client.
        name: crate::kyc::Kyc::TYPE,
        events: crate::kyc::EVENT_TABLES,
        data_subject: false,
        erased_event: None,
    },
    Kind {
        // Like the KYC: the client's id, personal fields sealed with the client's key.
        name: crate::investments::Portfolio::TYPE,
        events: crate::investments::EVENT_TABLES,
        data_subject: false,
        erased_event: None,
    },
    Kind {
        name: crate::user::User::TYPE,
        events: crate::user::EVENT_TABLES,
        data_subject: false,
        erased_event: None,
    },
    Kind {
        name: crate::capture_key::CaptureKey::TYPE,
        events: crate::capture_key::EVENT_TABLES,
        data_subject: false,
        erased_event: None,
    },
    Kind {
        name: crate::report_pack::ReportPack::TYPE,
        events: crate::report_pack::EVENT_TABLES,
        data_subject: false,
        erased_event: None,
    },
    Kind {
        name: crate::webhook::WebhookSubscription::TYPE,
        events: crate::webhook::EVENT_TABLES,
        data_subject: false,
        erased_event: None,
    },
    Kind {
        name: crate::access::PiiAccess::TYPE,
        events: crate::access::EVENT_TABLES,
        data_subject: false,
        erased_event: None,
    },
];

impl Kind {
    /// Where the personal data is in an event of this kind (JSON pointers); `None` for an event
    /// type its tables do not list.
    pub fn personal_fields(&self, event_type: &str) -> Option<&'static [&'static str]> {
        self.events.iter().find_map(|t| lookup(t, event_type))
    }

    /// The names of the event types it stores.
    pub fn event_types(&self) -> impl Iterator<Item = &'static str> {
        self.events.iter().flat_map(|t| t.iter().map(|f| f.event))
    }
}

/// Whether any kind stores events named `event_type`.
pub fn is_event_type(event_type: &str) -> bool {
    KINDS
        .iter()
        .any(|k| k.event_types().any(|e| e == event_type))
}

/// The kind stored as `name`.
pub fn kind(name: &str) -> Option<&'static Kind> {
    KINDS.iter().find(|k| k.name == name)
}

/// The stored names of every kind, for filters and help texts.
pub fn names() -> impl Iterator<Item = &'static str> {
    KINDS.iter().map(|k| k.name)
}

/// Whether the payloads of kind `name`'s events may be sent out of the system (webhooks):
/// not the system's own records, whose events hold credentials (staff accounts, capture keys,
/// webhook subscriptions) or who looked at whose personal data.
pub fn is_deliverable(name: &str) -> bool {
    use cqrs_es::Aggregate;
    ![
        crate::user::User::TYPE,
        crate::capture_key::CaptureKey::TYPE,
        crate::webhook::WebhookSubscription::TYPE,
        crate::access::PiiAccess::TYPE,
    ]
    .contains(&name)
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
        assert!(!lead.personal_fields("LeadCaptured").unwrap().is_empty());
        assert!(lead.personal_fields("NoSuchEvent").is_none());
        assert!(is_event_type("PiiViewed") && is_event_type("LegalHoldPlaced"));
        assert!(!is_event_type("LeadCapturd"));
        let viewed = crate::access::AccessEvent::PiiViewed {
            subject_type: "client".into(),
            subject_id: uuid::Uuid::nil(),
            kind: crate::access::AccessKind::Profile,
        };
        let table = crate::access::EVENT_TABLES[0];
        assert!(crate::personal::unclassified(table, &[("PiiViewed", viewed)]).is_empty());
    }
}
