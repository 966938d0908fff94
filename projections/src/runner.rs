//! The projection runner: one task per projection tails the log in commit order. Each batch is
//! applied in one transaction that first moves the checkpoint (failing if anyone else moved it)
//! and then writes the rows, so a crash at any instant leaves rows and checkpoint in agreement.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use store::{Db, LogSignal};
use tokio::sync::{watch, Notify};
use tokio::task::JoinHandle;
use tracing::Instrument;

use crate::checkpoint::{self, Checkpoint};
use crate::{log, Projection, ProjectionError};

/// Events per batch (and so per read-model transaction).
pub const BATCH: i64 = 2000;
/// How often a runner looks at the log when no wake-up came (a fallback only).
const POLL: Duration = Duration::from_millis(500);

/// How far each projection has got, for read-your-writes and readiness.
#[derive(Clone)]
pub struct Progress {
    db: Db,
    watches: Arc<HashMap<&'static str, watch::Sender<Checkpoint>>>,
}

/// The outcome of waiting for a position.
#[derive(Debug, PartialEq, Eq)]
pub enum Caught {
    Up,
    TimedOut,
    /// No event has that position and it lies beyond the end of the log.
    BeyondHead,
}

impl Progress {
    pub fn new(db: &Db, projections: &[Arc<dyn Projection>]) -> Self {
        let watches = projections
            .iter()
            .map(|p| (p.name(), watch::channel(Checkpoint::default()).0))
            .collect();
        Self {
            db: db.clone(),
            watches: Arc::new(watches),
        }
    }

    pub fn current(&self, name: &str) -> Option<Checkpoint> {
        self.watches.get(name).map(|w| *w.borrow())
    }

    fn publish(&self, name: &str, cp: Checkpoint) {
        if let Some(w) = self.watches.get(name) {
            w.send_replace(cp);
        }
    }

    /// Waits until projection `name` has applied the event at `position`, for at most `timeout`.
    pub async fn wait_for(
        &self,
        name: &str,
        position: i64,
        timeout: Duration,
    ) -> Result<Caught, ProjectionError> {
        if position <= 0 {
            return Ok(Caught::Up);
        }
        let target = match log::key_of(&self.db, position).await? {
            Some(key) => key,
            None if position > log::head(&self.db).await? => return Ok(Caught::BeyondHead),
            // A gap (a position taken by a transaction that rolled back): any key past it will do.
            None => Checkpoint { tx_id: 0, position },
        };
        let satisfied = |cp: Checkpoint| {
            if target.tx_id == 0 {
                cp.position >= target.position
            } else {
                cp >= target
            }
        };
        let mut rx = match self.watches.get(name) {
            Some(w) => w.subscribe(),
            None => return Err(ProjectionError::Unknown(name.to_string())),
        };
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            if satisfied(*rx.borrow_and_update()) {
                return Ok(Caught::Up);
            }
            tokio::select! {
                _ = rx.changed() => {}
                _ = tokio::time::sleep(Duration::from_millis(50)) => {
                    // Another process's worker (or a rebuild) may be the one advancing it.
                    if satisfied(checkpoint::load(&self.db, name).await?) {
                        return Ok(Caught::Up);
                    }
                }
                _ = tokio::time::sleep_until(deadline) => return Ok(Caught::TimedOut),
            }
        }
    }
}

pub struct Runner {
    db: Db,
    projections: Vec<Arc<dyn Projection>>,
    signal: LogSignal,
    progress: Progress,
}

impl Runner {
    pub fn new(db: &Db, projections: Vec<Arc<dyn Projection>>, signal: LogSignal) -> Self {
        let progress = Progress::new(db, &projections);
        Self {
            db: db.clone(),
            projections,
            signal,
            progress,
        }
    }

    pub fn progress(&self) -> Progress {
        self.progress.clone()
    }

    /// Starts one task per projection (plus a LISTEN task on Postgres). Aborting the tasks is
    /// safe at any point: an unfinished batch rolls back with its checkpoint.
    pub fn spawn(self) -> Vec<JoinHandle<()>> {
        let wakes: Vec<Arc<Notify>> = self
            .projections
            .iter()
            .map(|_| Arc::new(Notify::new()))
            .collect();
        let mut handles = Vec::new();
        if let Db::Postgres(pool) = &self.db {
            let pool = pool.clone();
            let wakes = wakes.clone();
            handles.push(tokio::spawn(async move { listen(pool, wakes).await }));
        }
        for (p, wake) in self.projections.iter().zip(wakes) {
            let worker = Worker {
                db: self.db.clone(),
                projection: p.clone(),
                progress: self.progress.clone(),
                signal: self.signal.subscribe(),
                wake,
            };
            let span = tracing::info_span!("projection", name = p.name());
            handles.push(tokio::spawn(worker.run().instrument(span)));
        }
        handles
    }
}

async fn listen(pool: sqlx::PgPool, wakes: Vec<Arc<Notify>>) {
    loop {
        match sqlx::postgres::PgListener::connect_with(&pool).await {
            Ok(mut listener) => {
                if let Err(e) = listener.listen("crm_events").await {
                    tracing::warn!(error = %e, "LISTEN failed; polling only");
                } else {
                    loop {
                        match listener.recv().await {
                            Ok(_) => wakes.iter().for_each(|w| w.notify_one()),
                            Err(e) => {
                                tracing::warn!(error = %e, "notification channel lost; reconnecting");
                                break;
                            }
                        }
                    }
                }
            }
            Err(e) => tracing::warn!(error = %e, "cannot open a LISTEN connection"),
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}

struct Worker {
    db: Db,
    projection: Arc<dyn Projection>,
    progress: Progress,
    signal: watch::Receiver<i64>,
    wake: Arc<Notify>,
}

impl Worker {
    async fn run(mut self) {
        let name = self.projection.name();
        let mut cp = loop {
            match checkpoint::load(&self.db, name).await {
                Ok(cp) => break cp,
                Err(e) => {
                    tracing::error!(error = %e, "cannot read checkpoint");
                    tokio::time::sleep(Duration::from_secs(1)).await;
                }
            }
        };
        self.progress.publish(name, cp);
        loop {
            match step(&self.db, self.projection.as_ref(), cp, BATCH).await {
                Ok(Some((next, applied))) => {
                    tracing::debug!(applied, position = next.position, "batch applied");
                    cp = next;
                    self.progress.publish(name, cp);
                }
                Ok(None) => {
                    tokio::select! {
                        _ = self.signal.changed() => {}
                        _ = self.wake.notified() => {}
                        _ = tokio::time::sleep(POLL) => {}
                    }
                }
                Err(e) => {
                    if !matches!(e, ProjectionError::CheckpointMoved) {
                        tracing::error!(error = %e, "batch failed; retrying");
                        tokio::time::sleep(Duration::from_secs(1)).await;
                    }
                    if let Ok(reloaded) = checkpoint::load(&self.db, name).await {
                        cp = reloaded;
                        self.progress.publish(name, cp);
                    }
                }
            }
        }
    }
}

/// Applies the next batch after `cp` to the live tables; `None` when the log has nothing new.
pub async fn step(
    db: &Db,
    projection: &dyn Projection,
    cp: Checkpoint,
    batch: i64,
) -> Result<Option<(Checkpoint, usize)>, ProjectionError> {
    let events = log::read_after(db, cp, batch).await?;
    let Some(last) = events.last() else {
        return Ok(None);
    };
    let next = last.checkpoint();
    projection.prepare(&events).await?;
    let gate = db.write_gate();
    let _turn = match &gate {
        Some(g) => Some(g.lock().await),
        None => None,
    };
    let mut tx = checkpoint::begin(db).await?;
    checkpoint::advance(&mut tx, projection.name(), cp, next).await?;
    projection.apply(&mut tx, "", &events).await?;
    checkpoint::commit(tx).await?;
    Ok(Some((next, events.len())))
}

/// Records, inside the projection's transaction, that `e` could not be read and was passed
/// over (used by projections that skip such an event themselves, live and in rebuilds).
pub async fn record_dead_letter(
    tx: &mut crate::Tx,
    projection: &str,
    e: &crate::StoredEvent,
    why: &str,
) -> Result<(), ProjectionError> {
    tracing::error!(
        projection,
        position = e.position,
        aggregate = e.aggregate_type,
        sequence = e.sequence,
        "an event could not be read; recorded as a dead letter and passed over"
    );
    crate::with_tx!(tx, t => {
        sqlx::query(
            "INSERT INTO projection_dead_letters (projection, position, aggregate_type,
             aggregate_id, sequence, error, recorded_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT DO NOTHING",
        )
        .bind(projection)
        .bind(e.position)
        .bind(&e.aggregate_type)
        .bind(&e.aggregate_id)
        .bind(e.sequence)
        .bind(why)
        .bind(chrono::Utc::now().to_rfc3339())
        .execute(&mut **t)
        .await?;
    });
    Ok(())
}

/// How many events each projection has set aside as dead letters.
pub async fn dead_letters(db: &Db) -> Result<Vec<(String, i64)>, ProjectionError> {
    Ok(store::with_db!(db, pool => {
        sqlx::query_as(
            "SELECT projection, COUNT(*) FROM projection_dead_letters GROUP BY projection",
        )
        .fetch_all(pool)
        .await?
    }))
}

/// Runs every projection until it has nothing left to apply (for the CLI and tests).
pub async fn catch_up(
    db: &Db,
    projections: &[Arc<dyn Projection>],
) -> Result<u64, ProjectionError> {
    let mut applied = 0u64;
    for p in projections {
        let mut cp = checkpoint::load(db, p.name()).await?;
        loop {
            match step(db, p.as_ref(), cp, BATCH).await {
                Ok(Some((next, n))) => {
                    cp = next;
                    applied += n as u64;
                }
                Ok(None) => break,
                // A running server's worker applied the batch first: go on from where it is,
                // so that this returns only once the projection has the whole log.
                Err(ProjectionError::CheckpointMoved) => {
                    cp = checkpoint::load(db, p.name()).await?;
                }
                Err(e) => return Err(e),
            }
        }
    }
    Ok(applied)
}

/// How one projection stands against the log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProjectionStatus {
    pub name: &'static str,
    pub position: i64,
    /// Events behind the log head (counted up to `max_lag + 1`).
    pub lag: i64,
    pub dead_letters: i64,
}

/// How the store and every projection stand, for readiness and metrics.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Status {
    pub reachable: bool,
    pub head: i64,
    pub projections: Vec<ProjectionStatus>,
    /// Every projection at most `max_lag` behind, none with dead letters, the store reachable.
    pub ready: bool,
}

/// The store's and the projections' state: a projection whose checkpoint cannot be read is
/// left out and makes the whole not ready.
pub async fn status(db: &Db, projections: &[Arc<dyn Projection>], max_lag: i64) -> Status {
    let reachable = db.ping().await.is_ok();
    if !reachable {
        return Status {
            reachable,
            head: 0,
            projections: Vec::new(),
            ready: false,
        };
    }
    let head = log::head(db).await.unwrap_or(0);
    let dead: HashMap<String, i64> = dead_letters(db)
        .await
        .unwrap_or_default()
        .into_iter()
        .collect();
    let mut ready = true;
    let mut out = Vec::new();
    for p in projections {
        let Ok(cp) = checkpoint::load(db, p.name()).await else {
            ready = false;
            continue;
        };
        let lag = log::lag(db, cp, max_lag + 1).await.unwrap_or(i64::MAX);
        let dead_letters = dead.get(p.name()).copied().unwrap_or(0);
        ready &= lag <= max_lag && dead_letters == 0;
        out.push(ProjectionStatus {
            name: p.name(),
            position: cp.position,
            lag,
            dead_letters,
        });
    }
    Status {
        reachable,
        head,
        projections: out,
        ready,
    }
}
