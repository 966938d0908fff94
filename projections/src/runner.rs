//! The projection runner: one task tails the log in commit order for every projection. Each
//! batch is applied in one transaction that first moves the checkpoints (failing if anyone else
//! moved one) and then writes the rows, so a crash at any instant leaves rows and checkpoints in
//! agreement.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::time::Instant;

use store::{Db, LogSignal};
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tracing::Instrument;

use crate::checkpoint::{self, Checkpoint};
use crate::{log, Projection, ProjectionError};

/// Events per batch (and so per read-model transaction).
pub const BATCH: i64 = 2000;
/// How often the runner looks at the log when no wake-up came: commands of this process wake
/// it at once; what another process (the CLI, a second server) appends is found this way.
const POLL: Duration = Duration::from_millis(100);

/// How far each projection has got, for read-your-writes and readiness.
#[derive(Clone)]
pub struct Progress {
    db: Db,
    watches: Arc<HashMap<&'static str, watch::Sender<Checkpoint>>>,
    /// Per projection: how many committed batches changed (or may have changed) its rows.
    changes: Arc<HashMap<&'static str, AtomicU64>>,
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
        let changes = projections
            .iter()
            .map(|p| (p.name(), AtomicU64::new(0)))
            .collect();
        Self {
            db: db.clone(),
            watches: Arc::new(watches),
            changes: Arc::new(changes),
        }
    }

    /// A count that moves whenever projection `name` committed a batch that concerned it (or
    /// its checkpoint was moved from outside): something read from its tables while the count
    /// stayed the same is still what the tables say. Read it before reading the tables.
    pub fn changes(&self, name: &str) -> u64 {
        self.changes
            .get(name)
            .map(|c| c.load(Ordering::SeqCst))
            .unwrap_or(0)
    }

    fn changed(&self, name: &str) {
        if let Some(c) = self.changes.get(name) {
            c.fetch_add(1, Ordering::SeqCst);
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
                    // Another process's runner (or a rebuild) may be the one advancing it:
                    // what was read from the projection's tables before may be stale now.
                    if satisfied(checkpoint::load(&self.db, name).await?) {
                        self.changed(name);
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
    follow_only: bool,
}

impl Runner {
    pub fn new(db: &Db, projections: Vec<Arc<dyn Projection>>, signal: LogSignal) -> Self {
        let progress = Progress::new(db, &projections);
        Self {
            db: db.clone(),
            projections,
            signal,
            progress,
            follow_only: false,
        }
    }

    /// Runs no projection: only follows the checkpoints other processes move (for
    /// read-your-writes, readiness and the caches that depend on them).
    pub fn follow_only(mut self) -> Self {
        self.follow_only = true;
        self
    }

    pub fn progress(&self) -> Progress {
        self.progress.clone()
    }

    /// Starts the runner's task. Aborting it is safe at any point: an unfinished batch rolls
    /// back with its checkpoints.
    pub fn spawn(self) -> Vec<JoinHandle<()>> {
        let lanes = Lanes::new(&self.db, &self.projections, self.progress, self.follow_only);
        let signal = self.signal.subscribe();
        let span = tracing::info_span!("projections");
        vec![tokio::spawn(lanes.run(signal).instrument(span))]
    }
}

/// One projection as the runner sees it.
struct Lane {
    projection: Arc<dyn Projection>,
    /// Its checkpoint (`None` until read).
    cp: Option<Checkpoint>,
    /// After a failed batch: not before then.
    retry_at: Option<Instant>,
    /// This process holds the projection's lease (always, on SQLite).
    held: bool,
}

/// Every projection, fed together: projections standing at the same checkpoint form a group
/// that takes one log read, one transaction and one checkpoint statement per batch. One that is
/// behind (just rebuilt, added, or failing) runs apart, reading only up to the leaders'
/// checkpoint, so that it lands on it and joins their group.
///
/// On Postgres each projection runs in one process at a time, under its lease (see
/// [`store::lease`]); the others follow its checkpoint (for read-your-writes and readiness)
/// and take the lease over when its holder dies.
struct Lanes {
    db: Db,
    lanes: Vec<Lane>,
    leases: Option<store::lease::Leases>,
    /// Takes no lease (runs nothing): follows.
    follow_only: bool,
    next_lease_try: Instant,
    /// When the checkpoints of the projections run elsewhere are read next.
    next_refresh: Instant,
    progress: Progress,
}

/// How long a projection whose batch failed waits before trying again.
const RETRY: Duration = Duration::from_secs(1);

impl Lanes {
    fn new(
        db: &Db,
        projections: &[Arc<dyn Projection>],
        progress: Progress,
        follow_only: bool,
    ) -> Self {
        Self {
            db: db.clone(),
            lanes: projections
                .iter()
                .map(|projection| Lane {
                    projection: projection.clone(),
                    cp: None,
                    retry_at: None,
                    held: false,
                })
                .collect(),
            leases: match db {
                Db::Postgres(pool) => Some(store::lease::Leases::new(pool)),
                Db::Sqlite(_) => None,
            },
            follow_only,
            next_lease_try: Instant::now(),
            next_refresh: Instant::now(),
            progress,
        }
    }

    async fn run(mut self, mut signal: watch::Receiver<i64>) {
        loop {
            let progressed = self.round().await;
            if !progressed {
                let now = Instant::now();
                let retry = self
                    .lanes
                    .iter()
                    .filter_map(|l| l.retry_at)
                    .min()
                    .map(|t| t.saturating_duration_since(now))
                    .unwrap_or(POLL)
                    .min(POLL);
                tokio::select! {
                    _ = signal.changed() => {}
                    _ = tokio::time::sleep(retry) => {}
                }
            }
        }
    }

    /// Takes the leases not held, and checks those held, every [`store::lease::RETRY`].
    async fn take_leases_at(&mut self, now: Instant) {
        let Some(leases) = self.leases.as_mut() else {
            return;
        };
        if now >= self.next_lease_try {
            self.next_lease_try = now + store::lease::RETRY;
            let alive = !self.lanes.iter().any(|l| l.held) || leases.alive().await;
            if !alive {
                tracing::warn!("lost the projection leases with their connection");
                for lane in &mut self.lanes {
                    lane.held = false;
                }
            }
            let wanted: Vec<&'static str> = self
                .lanes
                .iter()
                .filter(|l| !l.held)
                .map(|l| l.projection.name())
                .collect();
            if !wanted.is_empty() {
                match leases.take(&wanted).await {
                    Ok(taken) => {
                        for lane in &mut self.lanes {
                            if taken.contains(&lane.projection.name()) {
                                tracing::info!(
                                    projection = lane.projection.name(),
                                    "took the projection's lease"
                                );
                                lane.held = true;
                                // From where its last holder left it.
                                lane.cp = None;
                                lane.retry_at = None;
                            }
                        }
                    }
                    Err(e) => {
                        tracing::warn!(error = %e, "cannot take projection leases");
                        for lane in &mut self.lanes {
                            lane.held = false;
                        }
                    }
                }
            }
        }
    }

    /// Leases (see [`Lanes::take_leases_at`]); follows the checkpoints of the projections run elsewhere every [`POLL`].
    async fn lease(&mut self) {
        let now = Instant::now();
        match (self.follow_only, self.leases.as_mut()) {
            (true, _) => {}
            (false, None) => {
                for lane in &mut self.lanes {
                    lane.held = true;
                }
                return;
            }
            (false, Some(_)) => self.take_leases_at(now).await,
        }
        if now >= self.next_refresh && self.lanes.iter().any(|l| !l.held) {
            self.next_refresh = now + POLL;
            match checkpoint::load_all(&self.db).await {
                Ok(all) => {
                    for lane in self.lanes.iter_mut().filter(|l| !l.held) {
                        let name = lane.projection.name();
                        let cp = all.get(name).copied().unwrap_or_default();
                        if lane.cp != Some(cp) {
                            self.progress.changed(name);
                            lane.cp = Some(cp);
                            self.progress.publish(name, cp);
                        }
                    }
                }
                Err(e) => tracing::warn!(error = %e, "cannot read the checkpoints"),
            }
        }
    }

    /// One batch for every group that may run now; whether any moved.
    async fn round(&mut self) -> bool {
        self.lease().await;
        let now = Instant::now();
        for i in 0..self.lanes.len() {
            if self.lanes[i].held && self.lanes[i].cp.is_none() {
                self.reload(i).await;
            }
        }
        let ready: Vec<usize> = (0..self.lanes.len())
            .filter(|&i| {
                self.lanes[i].held
                    && self.lanes[i].cp.is_some()
                    && self.lanes[i].retry_at.is_none_or(|t| t <= now)
            })
            .collect();
        let Some(leader) = ready.iter().filter_map(|&i| self.lanes[i].cp).max() else {
            return false;
        };
        let mut groups: Vec<(Checkpoint, Vec<usize>)> = Vec::new();
        for &i in &ready {
            let cp = self.lanes[i].cp.expect("read above");
            match groups.iter_mut().find(|(c, _)| *c == cp) {
                Some((_, members)) => members.push(i),
                None => groups.push((cp, vec![i])),
            }
        }
        let mut progressed = false;
        for (cp, members) in groups {
            let upto = (cp < leader).then_some(leader);
            let outcome = {
                let projections: Vec<&dyn Projection> = members
                    .iter()
                    .map(|&i| self.lanes[i].projection.as_ref())
                    .collect();
                step_group(&self.db, &projections, cp, BATCH, upto).await
            };
            match outcome {
                Ok(Some(applied)) => {
                    tracing::debug!(
                        applied = applied.events,
                        position = applied.next.position,
                        members = members.len(),
                        "batch applied"
                    );
                    for (&i, &concerned) in members.iter().zip(&applied.concerned) {
                        self.moved(i, applied.next, concerned);
                    }
                    progressed = true;
                }
                Ok(None) => {}
                Err(e) if members.len() > 1 && !matches!(e, ProjectionError::CheckpointMoved) => {
                    // One of them failed: each goes alone for this batch, so that the others
                    // are not held back by it.
                    tracing::warn!(error = %e, "a grouped batch failed; applying it per projection");
                    for &i in &members {
                        let outcome = step_group(
                            &self.db,
                            &[self.lanes[i].projection.as_ref()],
                            cp,
                            BATCH,
                            upto,
                        )
                        .await;
                        progressed |= self.settle(i, outcome).await;
                    }
                }
                Err(e) => {
                    for &i in &members {
                        progressed |= self.settle(i, Err(clone_kind(&e))).await;
                    }
                }
            }
        }
        progressed
    }

    /// Takes the outcome of a batch of lane `i` alone; whether it moved.
    async fn settle(
        &mut self,
        i: usize,
        outcome: Result<Option<Applied>, ProjectionError>,
    ) -> bool {
        match outcome {
            Ok(Some(applied)) => {
                self.moved(i, applied.next, applied.concerned[0]);
                true
            }
            Ok(None) => false,
            Err(ProjectionError::CheckpointMoved) => {
                // A rebuild swapped its tables in, or another process applied the batch.
                self.reload(i).await;
                true
            }
            Err(e) => {
                let name = self.lanes[i].projection.name();
                tracing::error!(projection = name, error = %e, "batch failed; retrying");
                self.lanes[i].retry_at = Some(Instant::now() + RETRY);
                self.reload(i).await;
                false
            }
        }
    }

    fn moved(&mut self, i: usize, next: Checkpoint, concerned: bool) {
        let lane = &mut self.lanes[i];
        lane.cp = Some(next);
        lane.retry_at = None;
        if concerned {
            self.progress.changed(lane.projection.name());
        }
        self.progress.publish(lane.projection.name(), next);
    }

    async fn reload(&mut self, i: usize) {
        let name = self.lanes[i].projection.name();
        match checkpoint::load(&self.db, name).await {
            Ok(cp) => {
                if self.lanes[i].cp != Some(cp) {
                    self.progress.changed(name);
                }
                self.lanes[i].cp = Some(cp);
                self.progress.publish(name, cp);
            }
            Err(e) => {
                tracing::error!(projection = name, error = %e, "cannot read checkpoint");
                self.lanes[i].cp = None;
                self.lanes[i].retry_at = Some(Instant::now() + RETRY);
            }
        }
    }
}

/// The same failure again, for each member of a group that failed as a whole.
fn clone_kind(e: &ProjectionError) -> ProjectionError {
    match e {
        ProjectionError::CheckpointMoved => ProjectionError::CheckpointMoved,
        other => ProjectionError::Refused(other.to_string()),
    }
}

/// What a batch applied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Applied {
    /// The checkpoint after it.
    pub next: Checkpoint,
    pub events: usize,
    /// Per member of the group: whether an event of the batch concerned it.
    pub concerned: Vec<bool>,
}

/// Applies the next batch after `cp` (and not past `upto`) to the live tables of every
/// projection in `group`, all standing at `cp`: one log read, one transaction, one checkpoint
/// statement. `None` when there is nothing to apply.
pub async fn step_group(
    db: &Db,
    group: &[&dyn Projection],
    cp: Checkpoint,
    batch: i64,
    upto: Option<Checkpoint>,
) -> Result<Option<Applied>, ProjectionError> {
    let mut events = log::read_after(db, cp, batch).await?;
    if let Some(upto) = upto {
        events.retain(|e| e.checkpoint() <= upto);
    }
    let Some(last) = events.last() else {
        return Ok(None);
    };
    let next = last.checkpoint();
    for p in group {
        p.prepare(&events).await?;
    }
    let names: Vec<&str> = group.iter().map(|p| p.name()).collect();
    let gate = db.write_gate();
    let _turn = match &gate {
        Some(g) => Some(g.lock().await),
        None => None,
    };
    let mut tx = checkpoint::begin(db).await?;
    checkpoint::advance_all(&mut tx, &names, cp, next).await?;
    for p in group {
        p.apply(&mut tx, "", &events).await?;
    }
    checkpoint::commit(tx).await?;
    Ok(Some(Applied {
        next,
        events: events.len(),
        concerned: group
            .iter()
            .map(|p| events.iter().any(|e| p.concerns(e)))
            .collect(),
    }))
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

/// Runs every projection until it has nothing left to apply (for the CLI and tests), grouped
/// the way the runner groups them. Counts one per event per projection.
pub async fn catch_up(
    db: &Db,
    projections: &[Arc<dyn Projection>],
) -> Result<u64, ProjectionError> {
    let mut applied = 0u64;
    loop {
        let mut cps = Vec::new();
        for p in projections {
            cps.push(checkpoint::load(db, p.name()).await?);
        }
        let Some(leader) = cps.iter().copied().max() else {
            return Ok(applied);
        };
        let mut moved = false;
        let mut seen: Vec<Checkpoint> = Vec::new();
        for &cp in &cps {
            if seen.contains(&cp) {
                continue;
            }
            seen.push(cp);
            let group: Vec<&dyn Projection> = projections
                .iter()
                .zip(&cps)
                .filter(|(_, c)| **c == cp)
                .map(|(p, _)| p.as_ref())
                .collect();
            let upto = (cp < leader).then_some(leader);
            match step_group(db, &group, cp, BATCH, upto).await {
                Ok(Some(batch)) => {
                    applied += (batch.events * group.len()) as u64;
                    moved = true;
                }
                Ok(None) => {}
                // A running server's runner applied the batch first: go on from where it is,
                // so that this returns only once every projection has the whole log.
                Err(ProjectionError::CheckpointMoved) => moved = true,
                Err(e) => return Err(e),
            }
        }
        if !moved {
            return Ok(applied);
        }
    }
}

/// How one projection stands against the log.
#[derive(Debug, Clone, PartialEq)]
pub struct ProjectionStatus {
    pub name: &'static str,
    pub position: i64,
    /// Events behind the log head (counted up to `max_lag + 1`).
    pub lag: i64,
    /// How long ago the oldest event it has not applied was written (0 when caught up).
    pub lag_seconds: f64,
    pub dead_letters: i64,
}

/// How the store and every projection stand, for readiness and metrics.
#[derive(Debug, Clone, PartialEq)]
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
        let lag_seconds = match lag {
            0 => 0.0,
            _ => log::age_after(db, cp).await.ok().flatten().unwrap_or(0.0),
        };
        let dead_letters = dead.get(p.name()).copied().unwrap_or(0);
        ready &= lag <= max_lag && dead_letters == 0;
        out.push(ProjectionStatus {
            name: p.name(),
            position: cp.position,
            lag,
            lag_seconds,
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

#[cfg(test)]
mod tests {
    //! The runner on a real SQLite store: projections at one checkpoint share batches, a failing
    //! one is set apart without holding the others back, and joins them again once it caught up.

    use std::sync::atomic::AtomicBool;

    use futures::future::BoxFuture;

    use super::*;
    use crate::{StoredEvent, Tx};

    /// Writes one row per event it is fed; refuses every batch while `failing` is set.
    struct Recorder {
        name: &'static str,
        failing: AtomicBool,
    }

    impl Projection for Recorder {
        fn name(&self) -> &'static str {
            self.name
        }
        fn version(&self) -> i64 {
            1
        }
        fn ddl(&self) -> &'static str {
            ""
        }
        fn tables(&self) -> &'static [&'static str] {
            &[]
        }
        fn apply<'a>(
            &'a self,
            tx: &'a mut Tx,
            _suffix: &'a str,
            events: &'a [StoredEvent],
        ) -> BoxFuture<'a, Result<(), ProjectionError>> {
            Box::pin(async move {
                if self.failing.load(std::sync::atomic::Ordering::SeqCst) {
                    return Err(ProjectionError::Refused("told to fail".into()));
                }
                for e in events {
                    crate::with_tx!(tx, t => {
                        sqlx::query("INSERT INTO recorded (name, position) VALUES ($1, $2)")
                            .bind(self.name)
                            .bind(e.position)
                            .execute(&mut **t)
                            .await?;
                    });
                }
                Ok(())
            })
        }
    }

    async fn append(db: &Db, from: i64, to: i64) {
        store::with_db!(db, pool => {
            for n in from..=to {
                sqlx::query(
                    "INSERT INTO events (aggregate_type, aggregate_id, sequence, event_type,
                     event_version, payload, metadata) VALUES ('test', $1, 1, 'Noted', '1', '{}', '{}')",
                )
                .bind(format!("record-{n}"))
                .execute(pool)
                .await
                .unwrap();
            }
        });
    }

    async fn recorded(db: &Db, name: &str) -> Vec<i64> {
        store::with_db!(db, pool => {
            sqlx::query_scalar("SELECT position FROM recorded WHERE name = $1 ORDER BY position")
                .bind(name)
                .fetch_all(pool)
                .await
                .unwrap()
        })
    }

    #[tokio::test]
    async fn a_failing_projection_runs_apart_and_rejoins_the_group() {
        let dir =
            std::env::temp_dir().join(format!("crm-runner-{}", uuid::Uuid::new_v4().simple()));
        let db = Db::connect(None, &dir).await.unwrap();
        db.migrate().await.unwrap();
        store::with_db!(&db, pool => {
            sqlx::raw_sql(
                "CREATE TABLE recorded (name text NOT NULL, position integer NOT NULL);
                 INSERT INTO projection_checkpoints (name, tx_id, position, version)
                 VALUES ('steady', 0, 0, 1), ('flaky', 0, 0, 1);",
            )
            .execute(pool)
            .await
            .unwrap();
        });
        let steady = Arc::new(Recorder {
            name: "steady",
            failing: AtomicBool::new(false),
        });
        let flaky = Arc::new(Recorder {
            name: "flaky",
            failing: AtomicBool::new(true),
        });
        let projections: Vec<Arc<dyn Projection>> = vec![steady, flaky.clone()];
        let mut lanes = Lanes::new(&db, &projections, Progress::new(&db, &projections), false);
        append(&db, 1, 3).await;

        // The grouped batch fails; the steady one applies it alone, the flaky one waits.
        assert!(lanes.round().await);
        assert_eq!(recorded(&db, "steady").await, vec![1, 2, 3]);
        assert!(recorded(&db, "flaky").await.is_empty());
        assert_eq!(checkpoint::load(&db, "flaky").await.unwrap().position, 0);
        assert!(lanes.lanes[1].retry_at.is_some());

        // Still failing: the steady one goes on without it.
        append(&db, 4, 4).await;
        lanes.lanes[1].retry_at = None;
        assert!(lanes.round().await);
        assert_eq!(recorded(&db, "steady").await, vec![1, 2, 3, 4]);
        assert!(recorded(&db, "flaky").await.is_empty());

        // Mended: it catches up to exactly where the steady one stands, then both share batches.
        flaky
            .failing
            .store(false, std::sync::atomic::Ordering::SeqCst);
        lanes.lanes[1].retry_at = None;
        append(&db, 5, 5).await;
        assert!(lanes.round().await);
        assert_eq!(recorded(&db, "flaky").await, vec![1, 2, 3, 4]);
        assert_eq!(
            lanes.lanes[0].cp,
            Some(Checkpoint {
                tx_id: 0,
                position: 5
            })
        );
        assert_eq!(
            lanes.lanes[1].cp,
            Some(Checkpoint {
                tx_id: 0,
                position: 4
            })
        );
        assert!(lanes.round().await);
        assert_eq!(recorded(&db, "flaky").await, vec![1, 2, 3, 4, 5]);
        assert_eq!(lanes.lanes[1].cp, lanes.lanes[0].cp);
        append(&db, 6, 7).await;
        assert!(lanes.round().await);
        assert_eq!(recorded(&db, "steady").await, vec![1, 2, 3, 4, 5, 6, 7]);
        assert_eq!(recorded(&db, "flaky").await, vec![1, 2, 3, 4, 5, 6, 7]);
        assert!(!lanes.round().await);
        for name in ["steady", "flaky"] {
            assert_eq!(checkpoint::load(&db, name).await.unwrap().position, 7);
        }
        // A checkpoint moved by someone else (a rebuild's swap) is read again, not overwritten.
        store::with_db!(&db, pool => {
            sqlx::query("UPDATE projection_checkpoints SET position = 6 WHERE name = 'flaky'")
                .execute(pool)
                .await
                .unwrap();
        });
        append(&db, 8, 8).await;
        assert!(lanes.round().await);
        assert_eq!(
            lanes.lanes[1].cp,
            Some(Checkpoint {
                tx_id: 0,
                position: 6
            })
        );
        while lanes.round().await {}
        assert_eq!(recorded(&db, "steady").await, vec![1, 2, 3, 4, 5, 6, 7, 8]);
        assert_eq!(
            recorded(&db, "flaky").await,
            vec![1, 2, 3, 4, 5, 6, 7, 7, 8]
        );
    }
}
