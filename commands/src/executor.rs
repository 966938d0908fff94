//! Runs commands against aggregates: load from the log, decide, append with metadata (through
//! [`LogStore`], group-committed with concurrent commands, positions returned). No cqrs-es
//! `Query` runs here: read models are fed by the projection runner from the log, in commit
//! order, durably.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Weak};

use cqrs_es::event_sink::EventSink;
use cqrs_es::persist::EventUpcaster;
use cqrs_es::Aggregate;

use store::privacy::Keyring;
use store::EventMetadata;
use store::{Db, LogSignal};

use crate::log_store::{AppendFailure, LogStore};
use store::append::AppendError;

/// How often a command that lost an optimistic-lock race is retried before answering conflict.
const MAX_RETRIES: usize = 4;

#[derive(Debug, thiserror::Error)]
pub enum CommandError<E: std::error::Error> {
    /// The aggregate refused the command.
    #[error(transparent)]
    Rejected(E),
    /// Other writers kept winning the race on this aggregate.
    #[error("the record was changed concurrently; retry")]
    Conflict,
    /// The caller expected another version of the aggregate (HTTP `If-Match`).
    #[error("the record is at version {actual}, not the expected {expected}")]
    VersionMismatch { expected: usize, actual: usize },
    #[error("event store error: {0}")]
    Store(#[source] Box<dyn std::error::Error + Send + Sync>),
}

impl<E: std::error::Error> CommandError<E> {
    pub fn store(e: impl std::error::Error + Send + Sync + 'static) -> Self {
        CommandError::Store(Box::new(e))
    }
}

/// What the executors of one process counted (for `/metrics`): commands by aggregate type and
/// outcome, events appended, and how aggregates were loaded.
#[derive(Debug, Default)]
pub struct CommandCounters {
    /// Per aggregate type, in the order the executors were made.
    by_aggregate: std::sync::Mutex<Vec<(&'static str, Arc<Outcomes>)>>,
    /// Aggregates a command took warm (adding only the events appended since), and those it
    /// folded from all their events.
    pub warm_loads: AtomicU64,
    pub full_loads: AtomicU64,
}

impl CommandCounters {
    /// The counts of aggregate type `aggregate` (shared by its executors).
    fn outcomes(&self, aggregate: &'static str) -> Arc<Outcomes> {
        let mut all = self.by_aggregate.lock().expect("command counters");
        if let Some((_, o)) = all.iter().find(|(a, _)| *a == aggregate) {
            return o.clone();
        }
        let o = Arc::new(Outcomes::default());
        all.push((aggregate, o.clone()));
        o
    }

    /// Every aggregate type's counts.
    pub fn by_aggregate(&self) -> Vec<(&'static str, Arc<Outcomes>)> {
        self.by_aggregate.lock().expect("command counters").clone()
    }
}

/// Commands on one aggregate type by outcome, and the events they appended.
#[derive(Debug, Default)]
pub struct Outcomes {
    pub ok: AtomicU64,
    /// Refused by the record or by an access check on it.
    pub rejected: AtomicU64,
    /// Another version than the caller expected, or every optimistic-lock race lost.
    pub conflict: AtomicU64,
    /// The store failed.
    pub failed: AtomicU64,
    pub events_appended: AtomicU64,
}

impl Outcomes {
    fn count<E: std::error::Error>(&self, result: Result<usize, &CommandError<E>>) {
        let counter = match result {
            Ok(appended) => {
                self.events_appended
                    .fetch_add(appended as u64, Ordering::Relaxed);
                &self.ok
            }
            Err(CommandError::Rejected(_)) => &self.rejected,
            Err(CommandError::Conflict | CommandError::VersionMismatch { .. }) => &self.conflict,
            Err(CommandError::Store(_)) => &self.failed,
        };
        counter.fetch_add(1, Ordering::Relaxed);
    }
}

/// Where a command's events landed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Committed {
    /// Global log position of the last event this command appended (or of the aggregate's
    /// latest event when the command changed nothing).
    pub position: i64,
    /// How many events the command appended.
    pub appended: usize,
    /// The aggregate's sequence after the command.
    pub sequence: usize,
}

/// A check on the loaded aggregate before a command runs.
pub type Guard<A> = dyn Fn(&A) -> Result<(), <A as Aggregate>::Error> + Send + Sync;

/// The command side of one aggregate type.
pub struct Executor<A: Aggregate + Send + Sync> {
    store: LogStore<A>,
    services: A::Services,
    signal: LogSignal,
    counters: Arc<CommandCounters>,
    /// This aggregate type's command counts.
    outcomes: Arc<Outcomes>,
    /// One queue per record: commands on one aggregate inside this process take turns instead
    /// of racing (the optimistic lock still decides between processes).
    queues: std::sync::Mutex<HashMap<String, Weak<tokio::sync::Mutex<()>>>>,
}

/// A record's turn, taken with [`Executor::turn`]; dropping it lets the next command in.
pub struct Turn {
    id: String,
    _held: tokio::sync::OwnedMutexGuard<()>,
}

/// How a command runs: on an expected version, on a new record, behind a guard, in a turn
/// already taken.
struct Run<'g, A: Aggregate> {
    expected: Option<usize>,
    assume_new: bool,
    guard: Option<&'g Guard<A>>,
    in_turn: bool,
}

impl<A: Aggregate> Default for Run<'_, A> {
    fn default() -> Self {
        Self {
            expected: None,
            assume_new: false,
            guard: None,
            in_turn: false,
        }
    }
}

/// Records with a queue remembered before the forgotten ones are swept.
const QUEUES_SWEEP: usize = 4096;

impl<A> Executor<A>
where
    A: Aggregate + Send + Sync,
    A::Command: Clone + Send,
{
    /// The database the record's log is in.
    pub fn db(&self) -> &Db {
        self.store.db()
    }

    pub fn new(
        db: &Db,
        services: A::Services,
        signal: LogSignal,
        keyring: Arc<Keyring>,
        upcasters: Vec<Box<dyn EventUpcaster>>,
        counters: Arc<CommandCounters>,
        appender: Arc<store::append::Appender>,
    ) -> Self {
        Self {
            store: LogStore::new(db, keyring, upcasters, appender),
            services,
            signal,
            outcomes: counters.outcomes(A::TYPE),
            counters,
            queues: Default::default(),
        }
    }

    /// Keeps aggregates folded between commands, up to `budget` events in all: for types
    /// whose logs grow long, so that a command folds only what was appended since the last.
    pub fn keep_warm(mut self, budget: usize) -> Self {
        self.store = self.store.keep_warm(budget);
        self
    }

    /// What the aggregate decides with (clock, rules), for callers that ask it before acting.
    pub fn services(&self) -> &A::Services {
        &self.services
    }

    /// Executes `command` on the aggregate `id`. A lost optimistic-lock race is retried on a
    /// freshly loaded aggregate a bounded number of times, then answered with `Conflict`.
    /// With `expected`, the command only runs on that version of the aggregate.
    pub async fn execute(
        &self,
        id: &str,
        command: A::Command,
        metadata: &EventMetadata,
        expected: Option<usize>,
    ) -> Result<Committed, CommandError<A::Error>> {
        Ok(self
            .run(
                id,
                command,
                metadata,
                Run {
                    expected,
                    ..Run::default()
                },
            )
            .await?
            .0)
    }

    /// Like [`Executor::execute`], but `guard` sees the loaded aggregate first and can refuse
    /// (record-level access checks that depend on the aggregate's state).
    pub async fn execute_guarded(
        &self,
        id: &str,
        command: A::Command,
        metadata: &EventMetadata,
        expected: Option<usize>,
        guard: &Guard<A>,
    ) -> Result<Committed, CommandError<A::Error>> {
        Ok(self
            .run(
                id,
                command,
                metadata,
                Run {
                    expected,
                    guard: Some(guard),
                    ..Run::default()
                },
            )
            .await?
            .0)
    }

    /// Like [`Executor::execute`], also giving the events the command appended.
    pub async fn execute_events(
        &self,
        id: &str,
        command: A::Command,
        metadata: &EventMetadata,
    ) -> Result<(Committed, Vec<A::Event>), CommandError<A::Error>> {
        self.run(id, command, metadata, Run::default()).await
    }

    /// Executes a command that starts a new aggregate under an id the server just made up:
    /// the first attempt skips loading (there is nothing to load). Should the id exist after
    /// all, the append fails on the store's key and the retry loads and decides as usual.
    pub async fn create(
        &self,
        id: &str,
        command: A::Command,
        metadata: &EventMetadata,
    ) -> Result<Committed, CommandError<A::Error>> {
        let run = Run {
            assume_new: true,
            ..Run::default()
        };
        Ok(self.run(id, command, metadata, run).await?.0)
    }

    /// Takes record `id`'s turn: the other commands on it in this process wait until the turn
    /// is dropped. For a use case that checks the record, acts outside the log (stores a file)
    /// and then commands, with [`Executor::execute_in_turn`], so that nothing in between changes
    /// what it checked.
    pub async fn turn(&self, id: &str) -> Turn {
        Turn {
            id: id.to_string(),
            _held: self.queue(id).lock_owned().await,
        }
    }

    /// Like [`Executor::execute`], in a turn already taken on the record.
    pub async fn execute_in_turn(
        &self,
        turn: &Turn,
        command: A::Command,
        metadata: &EventMetadata,
    ) -> Result<Committed, CommandError<A::Error>> {
        let run = Run {
            in_turn: true,
            ..Run::default()
        };
        Ok(self.run(&turn.id, command, metadata, run).await?.0)
    }

    async fn run(
        &self,
        id: &str,
        command: A::Command,
        metadata: &EventMetadata,
        run: Run<'_, A>,
    ) -> Result<(Committed, Vec<A::Event>), CommandError<A::Error>> {
        let result = self.decide(id, command, metadata, run).await;
        self.outcomes
            .count(result.as_ref().map(|(c, _)| c.appended));
        result
    }

    async fn decide(
        &self,
        id: &str,
        command: A::Command,
        metadata: &EventMetadata,
        run: Run<'_, A>,
    ) -> Result<(Committed, Vec<A::Event>), CommandError<A::Error>> {
        let Run {
            expected,
            assume_new,
            guard,
            in_turn,
        } = run;
        let meta = metadata.to_map();
        let _turn_on_record = match in_turn {
            true => None,
            false => Some(self.queue(id).lock_owned().await),
        };
        for attempt in 0..=MAX_RETRIES {
            let (mut aggregate, loaded) = if assume_new && attempt == 0 {
                (A::default(), 0)
            } else {
                let (aggregate, loaded, warm) = self
                    .store
                    .load_for_command(id)
                    .await
                    .map_err(CommandError::store)?;
                match warm {
                    true => &self.counters.warm_loads,
                    false => &self.counters.full_loads,
                }
                .fetch_add(1, Ordering::Relaxed);
                (aggregate, loaded)
            };
            // Access first: a version answer would tell a caller who may not see the record
            // that it exists.
            // A refusal before anything was applied leaves the aggregate as the log ends: it
            // is kept for the next command.
            if let Some(guard) = guard {
                if let Err(e) = guard(&aggregate) {
                    self.store.keep(id, aggregate, loaded);
                    return Err(CommandError::Rejected(e));
                }
            }
            if let Some(expected) = expected.filter(|e| *e != loaded) {
                self.store.keep(id, aggregate, loaded);
                return Err(CommandError::VersionMismatch {
                    expected,
                    actual: loaded,
                });
            }
            let sink = EventSink::default();
            let handled = aggregate
                .handle(command.clone(), &self.services, &sink)
                .await;
            let events = sink.collect().await;
            if let Err(e) = handled {
                if events.is_empty() {
                    self.store.keep(id, aggregate, loaded);
                }
                return Err(CommandError::Rejected(e));
            }
            if events.is_empty() {
                let position = if loaded == 0 {
                    0
                } else {
                    self.store
                        .position_of(id, loaded)
                        .await
                        .map_err(CommandError::store)?
                };
                self.store.keep(id, aggregate, loaded);
                return Ok((
                    Committed {
                        position,
                        appended: 0,
                        sequence: loaded,
                    },
                    events,
                ));
            }
            match self
                .store
                .append(id, loaded, &events, &meta, assume_new && attempt == 0)
                .await
            {
                Ok(positions) => {
                    let position = positions.iter().copied().max().unwrap_or(0);
                    // The sink applied the events: the aggregate is as the log now ends.
                    self.store.keep(id, aggregate, loaded + events.len());
                    self.signal.appended(position);
                    return Ok((
                        Committed {
                            position,
                            appended: events.len(),
                            sequence: loaded + events.len(),
                        },
                        events,
                    ));
                }
                Err(AppendFailure::Raced) => {
                    tracing::debug!(aggregate = A::TYPE, "optimistic lock lost, retrying");
                    tokio::task::yield_now().await;
                }
                Err(AppendFailure::Failed(e)) => return Err(CommandError::Store(e)),
            }
        }
        Err(CommandError::Conflict)
    }

    /// The queue of record `id` (made when nobody holds one).
    fn queue(&self, id: &str) -> Arc<tokio::sync::Mutex<()>> {
        let mut queues = self.queues.lock().expect("record queues");
        if let Some(q) = queues.get(id).and_then(Weak::upgrade) {
            return q;
        }
        if queues.len() >= QUEUES_SWEEP {
            queues.retain(|_, q| q.strong_count() > 0);
        }
        let q = Arc::new(tokio::sync::Mutex::new(()));
        queues.insert(id.to_string(), Arc::downgrade(&q));
        q
    }

    /// Folds the aggregate from its events (for decisions made outside a command, such as
    /// checking existence before a round-robin pick).
    pub async fn load(&self, id: &str) -> Result<(A, usize), CommandError<A::Error>> {
        self.store.load(id).await.map_err(CommandError::store)
    }
}

/// Which of the two records of [`execute_pair`] refused or failed.
#[derive(Debug, thiserror::Error)]
pub enum PairError<E1: std::error::Error, E2: std::error::Error> {
    #[error(transparent)]
    First(CommandError<E1>),
    #[error(transparent)]
    Second(CommandError<E2>),
}

/// One record of a pair: its executor, id, the access check on it as loaded.
pub struct PairPart<'a, A: Aggregate + Send + Sync> {
    pub executor: &'a Executor<A>,
    pub id: String,
    pub guard: &'a Guard<A>,
    /// The version the caller last saw (If-Match), if any.
    pub expected: Option<usize>,
}

/// Decides a command on each of two records and appends both commands' events in one
/// transaction: both land or neither does (a merge moves work from one record to another).
/// The commands are made from both records as loaded (`commands`), again on every retry
/// after a lost race. Both records' turns are taken, in one order for every caller.
pub async fn execute_pair<A, B, F>(
    first: PairPart<'_, A>,
    second: PairPart<'_, B>,
    commands: F,
    metadata: &EventMetadata,
) -> Result<(Committed, Committed), PairError<A::Error, B::Error>>
where
    A: Aggregate + Send + Sync,
    A::Command: Clone + Send,
    B: Aggregate + Send + Sync,
    B::Command: Clone + Send,
    F: Fn(&A, &B) -> Result<(A::Command, B::Command), A::Error>,
{
    let (first_counts, second_counts) = (
        first.executor.outcomes.clone(),
        second.executor.outcomes.clone(),
    );
    let result = decide_pair(first, second, commands, metadata).await;
    // The record that refused or failed is counted with its outcome (the other one's command
    // did not land either, but was not the cause).
    let (a, b) = (&first_counts, &second_counts);
    match &result {
        Ok((ca, cb)) => {
            a.count::<A::Error>(Ok(ca.appended));
            b.count::<B::Error>(Ok(cb.appended));
        }
        Err(PairError::First(e)) => a.count(Err(e)),
        Err(PairError::Second(e)) => b.count(Err(e)),
    }
    result
}

async fn decide_pair<A, B, F>(
    first: PairPart<'_, A>,
    second: PairPart<'_, B>,
    commands: F,
    metadata: &EventMetadata,
) -> Result<(Committed, Committed), PairError<A::Error, B::Error>>
where
    A: Aggregate + Send + Sync,
    A::Command: Clone + Send,
    B: Aggregate + Send + Sync,
    B::Command: Clone + Send,
    F: Fn(&A, &B) -> Result<(A::Command, B::Command), A::Error>,
{
    let meta = metadata.to_map();
    let (ka, kb) = ((A::TYPE, first.id.as_str()), (B::TYPE, second.id.as_str()));
    let (_t1, _t2) = if ka <= kb {
        let t1 = first.executor.queue(&first.id).lock_owned().await;
        let t2 = second.executor.queue(&second.id).lock_owned().await;
        (t1, t2)
    } else {
        let t2 = second.executor.queue(&second.id).lock_owned().await;
        let t1 = first.executor.queue(&first.id).lock_owned().await;
        (t1, t2)
    };
    for _ in 0..=MAX_RETRIES {
        let (mut a, a_loaded) = first
            .executor
            .store
            .load(&first.id)
            .await
            .map_err(|e| PairError::First(CommandError::store(e)))?;
        let (mut b, b_loaded) = second
            .executor
            .store
            .load(&second.id)
            .await
            .map_err(|e| PairError::Second(CommandError::store(e)))?;
        (first.guard)(&a).map_err(|e| PairError::First(CommandError::Rejected(e)))?;
        (second.guard)(&b).map_err(|e| PairError::Second(CommandError::Rejected(e)))?;
        if let Some(expected) = first.expected.filter(|e| *e != a_loaded) {
            return Err(PairError::First(CommandError::VersionMismatch {
                expected,
                actual: a_loaded,
            }));
        }
        if let Some(expected) = second.expected.filter(|e| *e != b_loaded) {
            return Err(PairError::Second(CommandError::VersionMismatch {
                expected,
                actual: b_loaded,
            }));
        }
        let (ca, cb) = commands(&a, &b).map_err(|e| PairError::First(CommandError::Rejected(e)))?;
        let sink = EventSink::default();
        let handled = a.handle(ca, &first.executor.services, &sink).await;
        let a_events = sink.collect().await;
        handled.map_err(|e| PairError::First(CommandError::Rejected(e)))?;
        let sink = EventSink::default();
        let handled = b.handle(cb, &second.executor.services, &sink).await;
        let b_events = sink.collect().await;
        handled.map_err(|e| PairError::Second(CommandError::Rejected(e)))?;
        let fail1 = |e: AppendFailure| PairError::First(CommandError::Store(Box::new(e)));
        let mut sa = first
            .executor
            .store
            .seal(&first.id, a_loaded, &a_events, &meta, false)
            .await
            .map_err(fail1)?;
        let mut sb = second
            .executor
            .store
            .seal(&second.id, b_loaded, &b_events, &meta, false)
            .await
            .map_err(|e| PairError::Second(CommandError::Store(Box::new(e))))?;
        let appended = first
            .executor
            .store
            .appender()
            .append_all(vec![sa.take(), sb.take()])
            .await;
        match appended {
            Ok(positions) => {
                first.executor.store.landed(sa);
                second.executor.store.landed(sb);
                // The sinks applied the events: both records are as their logs now end.
                let (na, nb) = (a_events.len(), b_events.len());
                first.executor.store.keep(&first.id, a, a_loaded + na);
                second.executor.store.keep(&second.id, b, b_loaded + nb);
                let top = |p: &Vec<i64>| p.iter().copied().max().unwrap_or(0);
                let position = positions.iter().map(top).max().unwrap_or(0);
                first.executor.signal.appended(position);
                return Ok((
                    Committed {
                        position: positions.first().map(top).unwrap_or(0),
                        appended: na,
                        sequence: a_loaded + na,
                    },
                    Committed {
                        position: positions.get(1).map(top).unwrap_or(0),
                        appended: nb,
                        sequence: b_loaded + nb,
                    },
                ));
            }
            Err(e @ (AppendError::Conflict | AppendError::KeyRace)) => {
                // Either record may have lost: both forget a key they made.
                let again = || match e {
                    AppendError::KeyRace => AppendError::KeyRace,
                    _ => AppendError::Conflict,
                };
                first.executor.store.lost(&sa, again());
                second.executor.store.lost(&sb, again());
                tokio::task::yield_now().await;
            }
            Err(e) => return Err(PairError::First(CommandError::store(e))),
        }
    }
    Err(PairError::First(CommandError::Conflict))
}
