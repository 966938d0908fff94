//! What the projections that open personal data share: making the subjects' keys before a
//! batch's transaction, and decoding a stored event with its sealed fields opened.

use cqrs_es::persist::EventUpcaster;
use serde::de::DeserializeOwned;
use store::privacy::{Keyring, PrivacyError};
use store::EventMetadata;

use crate::{log, ProjectionError, StoredEvent};

/// Makes (or finds) the key of every subject of `aggregate_type` in the batch, outside the
/// batch's transaction (making a key writes). Subjects already shredded are passed over.
pub async fn prepare_keys(
    keyring: &Keyring,
    events: &[StoredEvent],
    aggregate_type: &str,
) -> Result<(), ProjectionError> {
    let mut seen = std::collections::HashSet::new();
    for e in events.iter().filter(|e| e.aggregate_type == aggregate_type) {
        if seen.insert(e.aggregate_id.as_str()) {
            match keyring.writer_key(&e.aggregate_id).await {
                Ok(_) | Err(PrivacyError::Shredded) => {}
                Err(err) => return Err(err.into()),
            }
        }
    }
    Ok(())
}

/// Decodes a stored event: its personal fields (at `fields`) opened, then upcast with
/// `upcasters`; an undecodable payload is a [`ProjectionError::Event`] naming the event.
pub async fn decode<E: DeserializeOwned>(
    keyring: &Keyring,
    e: &StoredEvent,
    fields: &[&str],
    upcasters: &[Box<dyn EventUpcaster>],
) -> Result<(E, EventMetadata), ProjectionError> {
    let mut opened = e.clone();
    keyring
        .open(&e.aggregate_id, &mut opened.payload, fields)
        .await?;
    let payload = log::upcast(&opened, upcasters);
    let event: E = serde_json::from_value(payload).map_err(|err| {
        ProjectionError::Event(format!(
            "{} {}/{} #{}: {err}",
            e.event_type, e.aggregate_type, e.aggregate_id, e.sequence
        ))
    })?;
    Ok((event, EventMetadata::from_json(&e.metadata)))
}
