//! One fold for every kind of record: its view built straight from its own events, as it is now
//! or as it stood at a moment (compliance replay), and its timeline (each event with who did it
//! and the fields it changed). A record kind joins by implementing [`RecordView`].

use chrono::{DateTime, Utc};
use cqrs_es::persist::EventUpcaster;
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::Value;
use store::privacy::Keyring;
use store::{Db, EventMetadata};
use uuid::Uuid;

use crate::{ProjectionError, StoredEvent};

/// A read model's document for one record, folded from the record's events.
pub trait RecordView: Serialize + Sized {
    type Event: DeserializeOwned + Serialize;
    /// The aggregate type whose events build the view.
    const AGGREGATE: &'static str;
    fn upcasters() -> Vec<Box<dyn EventUpcaster>>;
    /// The view the record's first event starts; `None` for any other event.
    fn start(
        event: &Self::Event,
        meta: &EventMetadata,
        sequence: i64,
        position: i64,
    ) -> Option<Self>;
    fn apply(&mut self, event: &Self::Event, meta: &EventMetadata, sequence: i64, position: i64);
    /// The fields an event says it changed (events that carry a patch).
    fn changed_fields(_event: &Self::Event) -> Vec<String> {
        Vec::new()
    }
}

/// Decodes a stored event of `V`'s record (personal fields opened, then upcast) and its metadata.
pub async fn decode<V: RecordView>(
    keyring: &Keyring,
    e: &StoredEvent,
) -> Result<(V::Event, EventMetadata), ProjectionError> {
    crate::sealed::decode(
        keyring,
        e,
        domain::personal_fields(V::AGGREGATE, &e.event_type).unwrap_or(&[]),
        &V::upcasters(),
    )
    .await
}

/// Folds one decoded event into a view (the first event starts it).
pub fn fold<V: RecordView>(
    view: &mut Option<V>,
    event: &V::Event,
    meta: &EventMetadata,
    e: &StoredEvent,
) {
    match view.as_mut() {
        Some(v) => v.apply(event, meta, e.sequence, e.position),
        None => *view = V::start(event, meta, e.sequence, e.position),
    }
}

/// Folds a record's events, decoding each once, into its view now and as it stood at `at` (the
/// events recorded by then).
pub async fn fold_now_and_at<V: RecordView>(
    keyring: &Keyring,
    events: &[StoredEvent],
    at: DateTime<Utc>,
) -> Result<(Option<V>, Option<V>), ProjectionError> {
    let (mut now, mut then) = (None, None);
    for e in events {
        let (event, meta) = decode::<V>(keyring, e).await?;
        fold(&mut now, &event, &meta, e);
        if meta.recorded_at <= at {
            fold(&mut then, &event, &meta, e);
        }
    }
    Ok((now, then))
}

/// One event of a record's timeline.
#[derive(Debug, Clone, PartialEq)]
pub struct TimelineEntry {
    pub position: i64,
    pub sequence: i64,
    pub event_type: String,
    pub event_version: String,
    pub meta: EventMetadata,
    /// The fields the event says it changed (events that carry a patch).
    pub changed_fields: Vec<String>,
    /// Every field of the view the event changed, old → new.
    pub changes: Vec<FieldChange>,
    /// The event's content, opened.
    pub data: Value,
}

/// One field an event changed.
#[derive(Debug, Clone, PartialEq)]
pub struct FieldChange {
    /// Its path, like `follow_ups/0/state`.
    pub field: String,
    /// `null` when the field did not exist before.
    pub old: Value,
    /// `null` when the event removed it.
    pub new: Value,
}

/// A record's events, oldest first, opened and with their metadata, and the view they leave
/// (`None` when the record was never started).
pub async fn timeline<V: RecordView>(
    keyring: &Keyring,
    events: &[StoredEvent],
) -> Result<(Vec<TimelineEntry>, Option<V>), ProjectionError> {
    let mut items = Vec::with_capacity(events.len());
    let mut view: Option<V> = None;
    let mut before = Value::Object(Default::default());
    for e in events {
        let (event, meta) = decode::<V>(keyring, e).await?;
        fold(&mut view, &event, &meta, e);
        let after = serde_json::to_value(&view).unwrap_or_default();
        let changes = field_changes(&before, &after);
        before = after;
        // The event's own fields, without the variant's name around them.
        let data = serde_json::to_value(&event)
            .ok()
            .and_then(|v| v.as_object().and_then(|o| o.values().next().cloned()))
            .unwrap_or(Value::Null);
        items.push(TimelineEntry {
            position: e.position,
            sequence: e.sequence,
            event_type: e.event_type.clone(),
            event_version: e.event_version.clone(),
            changed_fields: V::changed_fields(&event),
            meta,
            changes,
            data,
        });
    }
    Ok((items, view))
}

/// The fields that differ between two states of a record (bookkeeping fields left out).
pub fn field_changes(old: &Value, new: &Value) -> Vec<FieldChange> {
    let mut out = Vec::new();
    diff_into("", old, new, &mut out);
    out
}

fn diff_into(path: &str, old: &Value, new: &Value, out: &mut Vec<FieldChange>) {
    const SKIP: &[&str] = &["version", "position", "updated_at"];
    let join = |k: &str| {
        if path.is_empty() {
            k.to_string()
        } else {
            format!("{path}/{k}")
        }
    };
    let null = Value::Null;
    match (old, new) {
        (Value::Object(a), Value::Object(b)) => {
            let mut keys: Vec<&String> = a.keys().chain(b.keys()).collect();
            keys.sort();
            keys.dedup();
            for k in keys {
                if path.is_empty() && SKIP.contains(&k.as_str()) {
                    continue;
                }
                diff_into(
                    &join(k),
                    a.get(k).unwrap_or(&null),
                    b.get(k).unwrap_or(&null),
                    out,
                );
            }
        }
        (Value::Array(a), Value::Array(b)) => {
            for i in 0..a.len().max(b.len()) {
                let (x, y) = (a.get(i).unwrap_or(&null), b.get(i).unwrap_or(&null));
                diff_into(&join(&i.to_string()), x, y, out);
            }
        }
        (a, b) if a != b => out.push(FieldChange {
            field: path.to_string(),
            old: a.clone(),
            new: b.clone(),
        }),
        _ => {}
    }
}

/// A record's events from the log, for history, as-of and export. When they say the person's
/// data was erased, their key is treated as gone in this process too (it may have been
/// destroyed by another one, such as `crm retention run`, while a copy sits in the cache).
pub async fn record_events(
    db: &Db,
    keyring: &Keyring,
    aggregate_type: &str,
    id: &str,
) -> Result<Vec<StoredEvent>, ProjectionError> {
    let events = store::log::aggregate_events(db, aggregate_type, id).await?;
    if events
        .iter()
        .any(|e| domain::kinds::is_erasure(&e.event_type))
    {
        keyring.note_erased(id);
    }
    Ok(events)
}

/// The record `id`'s timeline straight from the log, and the view its events leave now.
pub async fn history<V: RecordView>(
    db: &Db,
    keyring: &Keyring,
    id: Uuid,
) -> Result<(Vec<TimelineEntry>, Option<V>), ProjectionError> {
    let events = record_events(db, keyring, V::AGGREGATE, &id.to_string()).await?;
    timeline::<V>(keyring, &events).await
}

/// The record `id` as it is now and as it stood at `at`, folded from the log (compliance
/// replay).
pub async fn now_and_at<V: RecordView>(
    db: &Db,
    keyring: &Keyring,
    id: Uuid,
    at: DateTime<Utc>,
) -> Result<(Option<V>, Option<V>), ProjectionError> {
    let events = record_events(db, keyring, V::AGGREGATE, &id.to_string()).await?;
    fold_now_and_at::<V>(keyring, &events, at).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn changes_name_each_changed_leaf_with_its_path() {
        let old = json!({"status": "new", "version": 1, "follow_ups": [{"state": "open"}], "email": null});
        let new = json!({"status": "contacted", "version": 2, "follow_ups": [{"state": "completed"}, {"state": "open"}], "email": "a@b.in"});
        let c = field_changes(&old, &new);
        let fields: Vec<&str> = c.iter().map(|c| c.field.as_str()).collect();
        assert_eq!(
            fields,
            ["email", "follow_ups/0/state", "follow_ups/1", "status"]
        );
        assert_eq!(c[3].old, json!("new"));
        assert_eq!(c[3].new, json!("contacted"));
        assert_eq!(c[2].old, Value::Null);
    }
}

#[cfg(test)]
mod fold_tests {
    use std::sync::Arc;

    use cqrs_es::DomainEvent;
    use domain::lead::{CaptureChannel, LeadDetails, LeadEvent, LeadSource, LeadStatus};
    use domain::values::{Email, PersonName};
    use store::privacy::Keyring;
    use store::{Db, EventMetadata};

    use super::*;
    use crate::leads::LeadView;

    fn stored(sequence: i64, event: &LeadEvent, at: &str, lead: &str) -> StoredEvent {
        let mut meta = EventMetadata::system(Some(format!("req-{sequence}")));
        meta.recorded_at = at.parse().unwrap();
        StoredEvent {
            position: 10 + sequence,
            tx_id: 0,
            aggregate_type: "lead".into(),
            aggregate_id: lead.into(),
            sequence,
            event_type: event.event_type(),
            event_version: event.event_version(),
            payload: serde_json::to_value(event).unwrap(),
            metadata: serde_json::to_value(meta.to_map()).unwrap(),
        }
    }

    /// Events fed straight to the fold (unsealed, as events written before encryption read):
    /// the view now and at a moment, and each event's field changes.
    #[tokio::test]
    async fn a_record_folds_now_at_a_moment_and_as_a_timeline() {
        let dir = std::env::temp_dir().join(format!("crm-fold-{}", uuid::Uuid::new_v4().simple()));
        let db = Db::connect(None, &dir).await.unwrap();
        db.migrate().await.unwrap();
        let keyring = Arc::new(Keyring::load(&db, &dir, None, &[]).await.unwrap());
        let id = uuid::Uuid::now_v7();
        let captured = LeadEvent::LeadCaptured {
            lead_id: id,
            details: LeadDetails {
                name: PersonName::parse("Asha Rao").unwrap(),
                email: Some(Email::parse("asha.rao@example.in").unwrap()),
                phone: None,
                source: LeadSource::Website,
                source_detail: None,
                product_interest: Vec::new(),
                preferred_contact_method: None,
                preferred_contact_time: None,
                notes: None,
                investment_capacity: None,
            },
            channel: CaptureChannel::WebForm,
        };
        let contacted = LeadEvent::LeadStatusChanged {
            from: LeadStatus::New,
            to: LeadStatus::Contacted,
            reason: None,
        };
        let lead = id.to_string();
        let events = vec![
            stored(1, &captured, "2026-11-30T10:00:00Z", &lead),
            stored(2, &contacted, "2026-11-30T11:00:00Z", &lead),
        ];
        let at = "2026-11-30T10:30:00Z".parse().unwrap();
        let (now, then) = fold_now_and_at::<LeadView>(&keyring, &events, at)
            .await
            .unwrap();
        assert_eq!(now.unwrap().status, LeadStatus::Contacted);
        let then = then.unwrap();
        assert_eq!(
            (then.status, then.name.as_str()),
            (LeadStatus::New, "Asha Rao")
        );
        let before = "2026-11-29T00:00:00Z".parse().unwrap();
        let (_, none) = fold_now_and_at::<LeadView>(&keyring, &events, before)
            .await
            .unwrap();
        assert!(none.is_none(), "nothing before the capture");

        let (items, view) = timeline::<LeadView>(&keyring, &events).await.unwrap();
        assert_eq!(view.unwrap().version, 2);
        assert_eq!(items.len(), 2);
        assert_eq!(items[1].meta.request_id, "req-2");
        let status = items[1]
            .changes
            .iter()
            .find(|c| c.field == "status")
            .unwrap();
        assert_eq!(
            (&status.old, &status.new),
            (&serde_json::json!("new"), &serde_json::json!("contacted"))
        );
        assert_eq!(items[1].data["to"], "contacted");
    }
}
