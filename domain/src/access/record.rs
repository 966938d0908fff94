//! Reads of personal data, recorded as events so that "who looked at this person" can be
//! answered from the log. Each read is its own tiny stream (a fresh id), so recording one never
//! waits on another: one insert, no load.

use cqrs_es::event_sink::EventSink;
use cqrs_es::{Aggregate, DomainEvent};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

snake_enum!(
    /// What was read.
    AccessKind { Profile => "profile", History => "history", AsOf => "as_of", Export => "export", Document => "document", DuplicateMatch => "duplicate_match" }
);

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum AccessCommand {
    Record {
        subject_type: String,
        subject_id: Uuid,
        kind: AccessKind,
    },
}

/// Access records hold no personal data: the subject's id, its kind and what was shown.
pub const EVENT_TABLES: &[&[crate::personal::EventFields]] = &[&[crate::personal::EventFields {
    event: "PiiViewed",
    personal: &[],
    plain: &[
        "/PiiViewed/subject_type",
        "/PiiViewed/subject_id",
        "/PiiViewed/kind",
    ],
}]];

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum AccessEvent {
    /// Someone was shown a person's data (the actor is in the event's metadata).
    PiiViewed {
        subject_type: String,
        subject_id: Uuid,
        kind: AccessKind,
    },
}

impl DomainEvent for AccessEvent {
    fn event_type(&self) -> String {
        "PiiViewed".to_string()
    }

    fn event_version(&self) -> String {
        "1.0".to_string()
    }
}

#[derive(Debug, thiserror::Error)]
#[error("an access record is written once")]
pub struct AccessError;

#[derive(Debug, Default, Serialize, Deserialize)]
pub struct PiiAccess {
    recorded: bool,
}

impl Aggregate for PiiAccess {
    const TYPE: &'static str = "pii_access";
    type Command = AccessCommand;
    type Event = AccessEvent;
    type Error = AccessError;
    type Services = ();

    async fn handle(
        &mut self,
        command: Self::Command,
        _services: &Self::Services,
        sink: &EventSink<Self>,
    ) -> Result<(), Self::Error> {
        if self.recorded {
            return Err(AccessError);
        }
        let AccessCommand::Record {
            subject_type,
            subject_id,
            kind,
        } = command;
        sink.write(
            AccessEvent::PiiViewed {
                subject_type,
                subject_id,
                kind,
            },
            self,
        )
        .await;
        Ok(())
    }

    fn apply(&mut self, _event: Self::Event) {
        self.recorded = true;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use cqrs_es::test::TestFramework;

    #[test]
    fn a_read_is_recorded_once() {
        let subject_id = Uuid::from_u128(7);
        let record = AccessCommand::Record {
            subject_type: "lead".into(),
            subject_id,
            kind: AccessKind::Profile,
        };
        let viewed = AccessEvent::PiiViewed {
            subject_type: "lead".into(),
            subject_id,
            kind: AccessKind::Profile,
        };
        TestFramework::<PiiAccess>::with(())
            .given_no_previous_events()
            .when(record.clone())
            .then_expect_events(vec![viewed.clone()]);
        TestFramework::<PiiAccess>::with(())
            .given(vec![viewed])
            .when(record)
            .then_expect_error_message("an access record is written once");
    }
}
