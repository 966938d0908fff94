use std::sync::Arc;

use cqrs_es::persist::{
    PersistedEventRepository, PersistenceError, ReplayStream, SerializedEvent, SerializedSnapshot,
};
use cqrs_es::Aggregate;
use serde_json::Value;

use super::{Keyring, PrivacyError};

/// Where the personal fields of an event's payload are (JSON pointers), by aggregate type and
/// event type.
pub type PersonalFields = fn(&str, &str) -> &'static [&'static str];

/// Wraps the store's event repository (sqlite-es or postgres-es): personal fields are sealed
/// with the subject's key (the aggregate id) on the way in and opened on the way out, so the
/// store only ever holds ciphertext for them.
pub struct EncryptingRepository<R> {
    inner: R,
    keyring: Arc<Keyring>,
    fields: PersonalFields,
}

impl<R> EncryptingRepository<R> {
    pub fn new(inner: R, keyring: Arc<Keyring>, fields: PersonalFields) -> Self {
        Self {
            inner,
            keyring,
            fields,
        }
    }

    async fn open_all(
        &self,
        mut events: Vec<SerializedEvent>,
    ) -> Result<Vec<SerializedEvent>, PersistenceError> {
        for e in &mut events {
            let pointers = (self.fields)(&e.aggregate_type, &e.event_type);
            self.keyring
                .open(&e.aggregate_id, &mut e.payload, pointers)
                .await
                .map_err(failed)?;
        }
        Ok(events)
    }
}

fn failed(e: PrivacyError) -> PersistenceError {
    PersistenceError::UnknownError(Box::new(e))
}

impl<R: PersistedEventRepository> PersistedEventRepository for EncryptingRepository<R> {
    async fn get_events<A: Aggregate>(
        &self,
        aggregate_id: &str,
    ) -> Result<Vec<SerializedEvent>, PersistenceError> {
        let events = self.inner.get_events::<A>(aggregate_id).await?;
        self.open_all(events).await
    }

    async fn get_last_events<A: Aggregate>(
        &self,
        aggregate_id: &str,
        last_sequence: usize,
    ) -> Result<Vec<SerializedEvent>, PersistenceError> {
        let events = self
            .inner
            .get_last_events::<A>(aggregate_id, last_sequence)
            .await?;
        self.open_all(events).await
    }

    async fn get_snapshot<A: Aggregate>(
        &self,
        _aggregate_id: &str,
    ) -> Result<Option<SerializedSnapshot>, PersistenceError> {
        // Aggregates are folded from events only (snapshots would hold plaintext).
        Ok(None)
    }

    async fn persist<A: Aggregate>(
        &self,
        events: &[SerializedEvent],
        snapshot_update: Option<(String, Value, usize)>,
    ) -> Result<(), PersistenceError> {
        let mut sealed = events.to_vec();
        for e in &mut sealed {
            let pointers = (self.fields)(&e.aggregate_type, &e.event_type);
            self.keyring
                .seal(&e.aggregate_id, &mut e.payload, pointers)
                .await
                .map_err(failed)?;
        }
        self.inner.persist::<A>(&sealed, snapshot_update).await
    }

    async fn stream_events<A: Aggregate>(
        &self,
        _aggregate_id: &str,
    ) -> Result<ReplayStream, PersistenceError> {
        Err(failed(PrivacyError::Unsupported(
            "streaming replays; read models are fed by the projection runner",
        )))
    }

    async fn stream_all_events<A: Aggregate>(&self) -> Result<ReplayStream, PersistenceError> {
        Err(failed(PrivacyError::Unsupported(
            "streaming replays; read models are fed by the projection runner",
        )))
    }
}
