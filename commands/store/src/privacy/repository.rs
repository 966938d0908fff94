use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use cqrs_es::persist::{
    PersistedEventRepository, PersistenceError, ReplayStream, SerializedEvent, SerializedSnapshot,
};
use cqrs_es::Aggregate;
use serde_json::Value;

use super::{Keyring, PrivacyError};

/// Where the personal fields of an event's payload are (JSON pointers), by aggregate type and
/// event type.
/// `None` for an event type nobody classified: such an event is refused on write.
pub type PersonalFields = fn(&str, &str) -> Option<&'static [&'static str]>;

/// Wraps the store's event repository (sqlite-es or postgres-es): personal fields are sealed
/// with the subject's key (the aggregate id) on the way in and opened on the way out, so the
/// store only ever holds ciphertext for them; then each event is chained to its aggregate's
/// previous one by hash (see [`crate::audit`]).
pub struct EncryptingRepository<R> {
    inner: R,
    keyring: Arc<Keyring>,
    fields: PersonalFields,
    /// The hash of the last event seen per (aggregate type, id, sequence), from loads, so that
    /// a command's first new event finds its predecessor's hash without another query.
    last_hashes: Mutex<HashMap<(String, String, usize), String>>,
}

/// Bounds the memory of `last_hashes`.
const LAST_HASHES_MAX: usize = 10_000;

impl<R> EncryptingRepository<R> {
    pub fn new(inner: R, keyring: Arc<Keyring>, fields: PersonalFields) -> Self {
        Self {
            inner,
            keyring,
            fields,
            last_hashes: Mutex::new(HashMap::new()),
        }
    }

    fn remember_last(&self, events: &[SerializedEvent]) {
        if let Some((place, hash)) = last_hash(events) {
            self.remember(place, hash);
        }
    }

    fn remember(&self, place: (String, String, usize), hash: String) {
        let mut map = self.last_hashes.lock().expect("hash cache");
        if map.len() >= LAST_HASHES_MAX {
            map.clear();
        }
        map.insert(place, hash);
    }

    fn take_remembered(&self, aggregate_type: &str, id: &str, sequence: usize) -> Option<String> {
        self.last_hashes.lock().expect("hash cache").remove(&(
            aggregate_type.to_string(),
            id.to_string(),
            sequence,
        ))
    }

    async fn open_all(
        &self,
        mut events: Vec<SerializedEvent>,
    ) -> Result<Vec<SerializedEvent>, PersistenceError> {
        for e in &mut events {
            let pointers = (self.fields)(&e.aggregate_type, &e.event_type).unwrap_or(&[]);
            self.keyring
                .open(&e.aggregate_id, &mut e.payload, pointers)
                .await
                .map_err(failed)?;
        }
        Ok(events)
    }
}

impl<R: PersistedEventRepository> EncryptingRepository<R> {
    /// Puts `prev_hash` and `hash` into each event's metadata.
    async fn chain<A: Aggregate>(
        &self,
        events: &mut [SerializedEvent],
    ) -> Result<(), PersistenceError> {
        let Some(first) = events.first() else {
            return Ok(());
        };
        let mut prev = if first.sequence <= 1 {
            crate::audit::GENESIS.to_string()
        } else {
            let before = first.sequence - 1;
            match self.take_remembered(&first.aggregate_type, &first.aggregate_id, before) {
                Some(h) => h,
                None => {
                    let earlier = self
                        .inner
                        .get_last_events::<A>(&first.aggregate_id, before - 1)
                        .await?;
                    let Some(e) = earlier.iter().find(|e| e.sequence == before) else {
                        return Err(failed(PrivacyError::Unsupported(
                            "appending after an event that is not in the log",
                        )));
                    };
                    let (_, stored) = crate::audit::stored_hashes(&e.metadata);
                    if stored.is_empty() {
                        // Written before events carried hashes: chain to its content hash.
                        crate::audit::event_hash(&crate::audit::EventContent {
                            aggregate_type: &e.aggregate_type,
                            aggregate_id: &e.aggregate_id,
                            sequence: e.sequence as i64,
                            event_type: &e.event_type,
                            event_version: &e.event_version,
                            payload: &e.payload,
                            metadata: &e.metadata,
                        })
                    } else {
                        stored
                    }
                }
            }
        };
        for e in events.iter_mut() {
            if let Value::Object(m) = &mut e.metadata {
                m.insert("prev_hash".into(), Value::String(prev.clone()));
                m.remove("hash");
            }
            let hash = crate::audit::event_hash(&crate::audit::EventContent {
                aggregate_type: &e.aggregate_type,
                aggregate_id: &e.aggregate_id,
                sequence: e.sequence as i64,
                event_type: &e.event_type,
                event_version: &e.event_version,
                payload: &e.payload,
                metadata: &e.metadata,
            });
            if let Value::Object(m) = &mut e.metadata {
                m.insert("hash".into(), Value::String(hash.clone()));
            }
            prev = hash;
        }
        Ok(())
    }
}

/// A command's events made ready for [`crate::append::Appender::append`]: sealed, chained, and the
/// subject's key when the append has to store it.
pub struct SealedAppend {
    /// What the store's writer appends (taken by [`SealedAppend::take`]).
    append: crate::append::Append,
    /// The subject whose key this append stores, and that key.
    new_key: Option<(String, Arc<aes_gcm::Aes256Gcm>)>,
    /// The last event's place and hash, remembered once the append is in.
    last: Option<((String, String, usize), String)>,
}

impl SealedAppend {
    /// The events and the key to store, for the writer.
    pub fn take(&mut self) -> crate::append::Append {
        std::mem::take(&mut self.append)
    }
}

impl<R: PersistedEventRepository> EncryptingRepository<R> {
    /// Seals the personal fields of `events` (one aggregate's, in sequence order) and chains
    /// them by hash, ready to append. With `assume_new` a subject without a cached key is taken
    /// to have none stored (the append stores the new one or reports the race).
    pub async fn seal_for_append<A: Aggregate>(
        &self,
        mut events: Vec<SerializedEvent>,
        assume_new: bool,
    ) -> Result<SealedAppend, PersistenceError> {
        let mut key: Option<Arc<aes_gcm::Aes256Gcm>> = None;
        let mut new_key = None;
        for e in &mut events {
            let pointers = (self.fields)(&e.aggregate_type, &e.event_type).ok_or_else(|| {
                failed(PrivacyError::Unclassified(format!(
                    "{} {}",
                    e.aggregate_type, e.event_type
                )))
            })?;
            if !Keyring::has_personal(&e.payload, pointers) {
                continue;
            }
            let k = match &key {
                Some(k) => k.clone(),
                None => {
                    let (k, fresh) = self
                        .keyring
                        .append_key(&e.aggregate_id, assume_new)
                        .await
                        .map_err(failed)?;
                    new_key = fresh;
                    key = Some(k.clone());
                    k
                }
            };
            self.keyring
                .seal_with_key(&k, &e.aggregate_id, &mut e.payload, pointers)
                .map_err(failed)?;
        }
        self.chain::<A>(&mut events).await?;
        let stored = match (&new_key, key) {
            (Some(new), Some(key)) => Some((new.subject.clone(), key)),
            _ => None,
        };
        Ok(SealedAppend {
            last: last_hash(&events),
            append: crate::append::Append {
                events,
                key: new_key,
            },
            new_key: stored,
        })
    }

    /// After the append committed: the new key and the last hash are known from now on.
    pub fn appended(&self, sealed: SealedAppend) {
        if let Some((subject, key)) = sealed.new_key {
            self.keyring.key_stored(&subject, key);
        }
        if let Some((place, hash)) = sealed.last {
            self.remember(place, hash);
        }
    }

    /// After the append lost the race to store the subject's key: read it again next time.
    pub fn key_lost(&self, sealed: &SealedAppend) {
        if let Some((subject, _)) = &sealed.new_key {
            self.keyring.forget(subject);
        }
    }
}

/// The place (aggregate type, id, sequence) and stored hash of the last of `events`.
fn last_hash(events: &[SerializedEvent]) -> Option<((String, String, usize), String)> {
    let last = events.last()?;
    let (_, hash) = crate::audit::stored_hashes(&last.metadata);
    (!hash.is_empty()).then(|| {
        (
            (
                last.aggregate_type.clone(),
                last.aggregate_id.clone(),
                last.sequence,
            ),
            hash,
        )
    })
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
        self.remember_last(&events);
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
        self.remember_last(&events);
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
            let pointers = (self.fields)(&e.aggregate_type, &e.event_type).ok_or_else(|| {
                failed(PrivacyError::Unclassified(format!(
                    "{} {}",
                    e.aggregate_type, e.event_type
                )))
            })?;
            self.keyring
                .seal(&e.aggregate_id, &mut e.payload, pointers)
                .await
                .map_err(failed)?;
        }
        self.chain::<A>(&mut sealed).await?;
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
