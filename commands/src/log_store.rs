//! The event store commands run on: aggregates are folded from their events (opened through
//! the encrypting repository, over the sqlite-es or postgres-es reader of the same tables), and
//! a command's events are appended by [`store::append`] in one transaction that also stores a
//! new subject key and hands back the events' positions. It is a cqrs-es [`EventStore`], so a
//! `CqrsFramework` could run on it as well.

use std::collections::HashMap;
use std::marker::PhantomData;
use std::sync::Arc;

use cqrs_es::persist::{
    EventStoreAggregateContext, EventUpcaster, PersistedEventRepository, PersistenceError,
    SerializedEvent,
};
use cqrs_es::{Aggregate, AggregateError, DomainEvent, EventEnvelope, EventStore};
use postgres_es::PostgresEventRepository;
use sqlite_es::SqliteEventRepository;

use store::append::{AppendError, Appender};
use store::privacy::{EncryptingRepository, Keyring, SealedAppend};
use store::Db;

use crate::warm::Warm;

enum Repository {
    Sqlite(EncryptingRepository<SqliteEventRepository>),
    Postgres(EncryptingRepository<PostgresEventRepository>),
}

macro_rules! with_repo {
    ($repo:expr, $r:ident => $body:expr) => {
        match $repo {
            Repository::Sqlite($r) => $body,
            Repository::Postgres($r) => $body,
        }
    };
}

/// Why an append did not land.
#[derive(Debug, thiserror::Error)]
pub enum AppendFailure {
    /// Another writer appended to the aggregate (or stored the subject's key) first: load
    /// again and decide again.
    #[error("lost the race to append")]
    Raced,
    /// The append failed otherwise (the store's error).
    #[error(transparent)]
    Failed(Box<dyn std::error::Error + Send + Sync>),
}

/// The event store of one aggregate type.
pub struct LogStore<A> {
    repo: Repository,
    db: Db,
    upcasters: Vec<Box<dyn EventUpcaster>>,
    appender: Arc<Appender>,
    keyring: Arc<Keyring>,
    warm: Option<Warm<A>>,
    _aggregate: PhantomData<fn() -> A>,
}

impl<A: Aggregate> LogStore<A> {
    /// The database the log is in.
    pub fn db(&self) -> &Db {
        &self.db
    }

    /// `appender` is the process's one writer of the store (shared by every aggregate type).
    pub fn new(
        db: &Db,
        keyring: Arc<Keyring>,
        upcasters: Vec<Box<dyn EventUpcaster>>,
        appender: Arc<Appender>,
    ) -> Self {
        let fields = domain::personal_fields;
        let repo = match db {
            Db::Sqlite(pool) => Repository::Sqlite(EncryptingRepository::new(
                SqliteEventRepository::new(pool.clone()),
                keyring.clone(),
                fields,
            )),
            Db::Postgres(pool) => Repository::Postgres(EncryptingRepository::new(
                PostgresEventRepository::new(pool.clone()),
                keyring.clone(),
                fields,
            )),
        };
        Self {
            repo,
            db: db.clone(),
            upcasters,
            appender,
            keyring,
            warm: None,
            _aggregate: PhantomData,
        }
    }

    /// Keeps aggregates folded between commands, up to `budget` events in all (see
    /// [`Warm`]).
    pub fn keep_warm(mut self, budget: usize) -> Self {
        self.warm = Some(Warm::new(budget));
        self
    }

    /// For a command: the aggregate kept warm (brought up to date with the events appended
    /// since), else folded from all its events. Give it back with [`LogStore::keep`] once
    /// the command committed.
    /// `true` with it: it was kept warm.
    pub async fn load_for_command(&self, id: &str) -> Result<(A, usize, bool), PersistenceError> {
        let kept = self.warm.as_ref().and_then(|w| w.take(id));
        // A subject shredded here is folded afresh (its personal data then opens as erased).
        let Some((mut aggregate, mut sequence)) = kept.filter(|_| !self.keyring.shredded_here(id))
        else {
            let (aggregate, sequence) = self.load(id).await?;
            return Ok((aggregate, sequence, false));
        };
        let later = with_repo!(&self.repo, r => r.get_last_events::<A>(id, sequence).await?);
        for e in later {
            sequence = e.sequence;
            aggregate.apply(self.decode(e)?);
        }
        Ok((aggregate, sequence, true))
    }

    /// Keeps the aggregate a command left at `sequence` (when this store keeps any).
    pub fn keep(&self, id: &str, aggregate: A, sequence: usize) {
        if let Some(w) = &self.warm {
            if self.keyring.shredded_here(id) {
                w.forget(id);
            } else {
                w.put(id, aggregate, sequence);
            }
        }
    }

    /// The aggregate folded from its events (opened and upcast), with its sequence.
    pub async fn load(&self, id: &str) -> Result<(A, usize), PersistenceError> {
        let events = with_repo!(&self.repo, r => r.get_events::<A>(id).await?);
        let mut aggregate = A::default();
        let mut sequence = 0;
        for e in events {
            sequence = e.sequence;
            aggregate.apply(self.decode(e)?);
        }
        Ok((aggregate, sequence))
    }

    /// The log position of the aggregate's event at `sequence`.
    pub async fn position_of(&self, id: &str, sequence: usize) -> Result<i64, store::StoreError> {
        self.db.position_of(A::TYPE, id, sequence).await
    }

    fn decode(&self, mut e: SerializedEvent) -> Result<A::Event, PersistenceError> {
        for u in &self.upcasters {
            if u.can_upcast(&e.event_type, &e.event_version) {
                e = u.upcast(e);
            }
        }
        Ok(serde_json::from_value(e.payload)?)
    }

    /// Appends `events` after sequence `loaded` of aggregate `id`; the position of each.
    /// `assume_new`: the aggregate was not loaded because its id was just made up.
    pub async fn append(
        &self,
        id: &str,
        loaded: usize,
        events: &[A::Event],
        metadata: &HashMap<String, String>,
        assume_new: bool,
    ) -> Result<Vec<i64>, AppendFailure> {
        let mut sealed = self.seal(id, loaded, events, metadata, assume_new).await?;
        match self.appender.append(sealed.take()).await {
            Ok(positions) => {
                self.landed(sealed);
                Ok(positions)
            }
            Err(e) => Err(self.lost(&sealed, e)),
        }
    }

    /// `events` after sequence `loaded` of aggregate `id`, sealed and chained, for an append
    /// that lands together with another record's ([`Appender::append_all`]); tell the store
    /// how it went with [`LogStore::landed`] or [`LogStore::lost`].
    pub async fn seal(
        &self,
        id: &str,
        loaded: usize,
        events: &[A::Event],
        metadata: &HashMap<String, String>,
        assume_new: bool,
    ) -> Result<SealedAppend, AppendFailure> {
        let metadata = serde_json::to_value(metadata).map_err(failed)?;
        let serialized = events
            .iter()
            .zip(loaded + 1..)
            .map(|(e, sequence)| {
                Ok(SerializedEvent {
                    aggregate_id: id.to_string(),
                    sequence,
                    aggregate_type: A::TYPE.to_string(),
                    event_type: e.event_type(),
                    event_version: e.event_version(),
                    payload: serde_json::to_value(e)?,
                    metadata: metadata.clone(),
                })
            })
            .collect::<Result<Vec<_>, serde_json::Error>>()
            .map_err(failed)?;
        with_repo!(&self.repo, r => r
            .seal_for_append::<A>(serialized, assume_new)
            .await
            .map_err(failed))
    }

    /// The sealed append is in: its key and last hash are known from now on.
    pub fn landed(&self, sealed: SealedAppend) {
        with_repo!(&self.repo, r => r.appended(sealed))
    }

    /// The sealed append did not land because of `e`: what to answer.
    pub fn lost(&self, sealed: &SealedAppend, e: AppendError) -> AppendFailure {
        match e {
            AppendError::Conflict => AppendFailure::Raced,
            AppendError::KeyRace => {
                with_repo!(&self.repo, r => r.key_lost(sealed));
                AppendFailure::Raced
            }
            e => failed(e),
        }
    }

    /// The process's writer of the store.
    pub fn appender(&self) -> &Appender {
        &self.appender
    }
}

fn failed(e: impl std::error::Error + Send + Sync + 'static) -> AppendFailure {
    AppendFailure::Failed(Box::new(e))
}

fn aggregate_error<E: std::error::Error>(e: PersistenceError) -> AggregateError<E> {
    match e {
        PersistenceError::OptimisticLockError => AggregateError::AggregateConflict,
        PersistenceError::DeserializationError(e) => AggregateError::DeserializationError(e),
        PersistenceError::ConnectionError(e) => AggregateError::DatabaseConnectionError(e),
        PersistenceError::UnknownError(e) => AggregateError::UnexpectedError(e),
    }
}

impl<A: Aggregate> EventStore<A> for LogStore<A>
where
    A::Event: Sync,
{
    type AC = EventStoreAggregateContext<A>;

    async fn load_events(
        &self,
        aggregate_id: &str,
    ) -> Result<Vec<EventEnvelope<A>>, AggregateError<A::Error>> {
        let events = with_repo!(&self.repo, r => r.get_events::<A>(aggregate_id).await)
            .map_err(aggregate_error)?;
        events
            .into_iter()
            .map(|e| {
                let (aggregate_id, sequence) = (e.aggregate_id.clone(), e.sequence);
                let metadata = serde_json::from_value(e.metadata.clone()).unwrap_or_default();
                Ok(EventEnvelope {
                    aggregate_id,
                    sequence,
                    payload: self.decode(e).map_err(aggregate_error)?,
                    metadata,
                })
            })
            .collect()
    }

    async fn load_aggregate(
        &self,
        aggregate_id: &str,
    ) -> Result<Self::AC, AggregateError<A::Error>> {
        let (aggregate, current_sequence) =
            self.load(aggregate_id).await.map_err(aggregate_error)?;
        Ok(EventStoreAggregateContext {
            aggregate_id: aggregate_id.to_string(),
            aggregate,
            current_sequence,
            current_snapshot: None,
        })
    }

    async fn commit(
        &self,
        events: Vec<A::Event>,
        context: Self::AC,
        metadata: HashMap<String, String>,
    ) -> Result<Vec<EventEnvelope<A>>, AggregateError<A::Error>> {
        let loaded = context.current_sequence;
        let id = context.aggregate_id;
        match self.append(&id, loaded, &events, &metadata, false).await {
            Ok(_) => Ok(events
                .into_iter()
                .zip(loaded + 1..)
                .map(|(payload, sequence)| EventEnvelope {
                    aggregate_id: id.clone(),
                    sequence,
                    payload,
                    metadata: metadata.clone(),
                })
                .collect()),
            Err(AppendFailure::Raced) => Err(AggregateError::AggregateConflict),
            Err(AppendFailure::Failed(e)) => Err(AggregateError::UnexpectedError(e)),
        }
    }
}
