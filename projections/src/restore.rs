//! Restoring a store from an audit export (`crm audit export`) and a vault export (`crm vault
//! export`) into an empty database, on either store.
//!
//! Nothing is written before both files were read through: the export is verified as a whole
//! (every event's hash, every record's chain, the ledger, the checkpoint signatures, against
//! this store's signing key) and every subject key of the vault must open with this store's
//! master key. The load then verifies the export again as it goes, keeps every event's position
//! (and the commit order: on Postgres, events whose position is lower than the one before are
//! written in a later transaction), carries the ledger and its signed checkpoints as they
//! were, and the vault's rows. A shredded person has no key in the vault and stays shredded.
//! Last, every read model is rebuilt from the restored log; the notifications projection starts
//! at the head (the outbox came with the vault: nothing is sent twice).

use std::collections::HashSet;
use std::io::BufRead;
use std::path::Path;
use std::sync::Arc;

use sha2::{Digest, Sha256};
use store::vault::{self, Checked, VaultError};
use store::{with_tx, Db, Tx};

use crate::audit::{Break, LedgerEntry, Line, Verifier};
use crate::{Projection, ProjectionError};

/// What a restore is doing, for its progress bar.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    /// Reading the export through and verifying it (counts events).
    Verifying,
    /// Checking the vault (counts rows).
    CheckingVault,
    /// Writing the vault's rows (counts rows).
    LoadingVault,
    /// Writing the events, the ledger and its checkpoints (counts events).
    Loading,
    /// Rebuilding the read models (counts events).
    Rebuilding,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Restored {
    /// Vault rows left out: of records the export does not hold, or messages decided from
    /// events past its end (both made between the two exports).
    pub left_out: u64,
    pub events: u64,
    pub ledgered: u64,
    pub checkpoints: u64,
    pub vault_rows: u64,
    pub subject_keys: u64,
    pub shredded: u64,
    pub head: i64,
}

#[derive(Debug, thiserror::Error)]
pub enum RestoreError {
    #[error("the store is not empty ({0}): restore into a new database or data directory")]
    NotEmpty(String),
    #[error("the export is not intact, nothing was restored: {0}")]
    Tampered(Break),
    #[error("{file} line {line}: {problem}")]
    Unreadable {
        file: String,
        line: u64,
        problem: String,
    },
    #[error(
        "the export's checkpoints are signed with key {export}, this store's audit signing key \
         is {local}: restore with the original key (CRM_AUDIT_SIGNING_KEY, or audit-signing.key \
         in the data directory)"
    )]
    OtherSigningKey { export: String, local: String },
    #[error(
        "the subject key of {0} does not open with this store's master key: restore with the \
         original master key (CRM_MASTER_KEY, or master.key in the data directory)"
    )]
    OtherMasterKey(String),
    #[error(
        "position {position} comes after {previous}: this export's commit order is not the \
         order of its positions (it was written on Postgres under concurrency), which SQLite \
         cannot keep; restore it into Postgres"
    )]
    OutOfOrder { position: i64, previous: i64 },
    #[error("the export holds no events")]
    Empty,
    #[error(
        "{cause}; {committed} transaction(s) of this restore were committed before it failed: \
         the store is partly written, drop it and restore into a new database"
    )]
    Partial {
        committed: u64,
        cause: Box<RestoreError>,
    },
    #[error(transparent)]
    Vault(#[from] VaultError),
    #[error(transparent)]
    Projection(#[from] ProjectionError),
    #[error("{0}")]
    Io(String),
}

impl From<sqlx::Error> for RestoreError {
    fn from(e: sqlx::Error) -> Self {
        RestoreError::Projection(ProjectionError::Database(e))
    }
}

impl From<store::StoreError> for RestoreError {
    fn from(e: store::StoreError) -> Self {
        RestoreError::Projection(ProjectionError::Store(e))
    }
}

/// The lines of `path`, numbered from 1 (empty lines skipped).
fn lines(
    path: &Path,
) -> Result<impl Iterator<Item = (u64, std::io::Result<String>)>, RestoreError> {
    let file = std::fs::File::open(path)
        .map_err(|e| RestoreError::Io(format!("cannot open {}: {e}", path.display())))?;
    Ok(std::io::BufReader::with_capacity(1 << 20, file)
        .lines()
        .enumerate()
        .map(|(i, l)| (i as u64 + 1, l))
        .filter(|(_, l)| l.as_ref().map_or(true, |l| !l.trim().is_empty())))
}

/// Export line `n` of `file`: parsed, its checkpoint signed with `local_key`, taken in by
/// `verifier` (the first break an error).
fn export_line(
    file: &str,
    n: u64,
    text: std::io::Result<String>,
    verifier: &mut Verifier,
    local_key: &str,
) -> Result<Line, RestoreError> {
    let text = text.map_err(|e| RestoreError::Io(format!("{file}: {e}")))?;
    let line: Line = serde_json::from_str(&text).map_err(|e| RestoreError::Unreadable {
        file: file.to_string(),
        line: n,
        problem: format!("not an export line: {e}"),
    })?;
    if let Line::Checkpoint { public_key, .. } = &line {
        if public_key != local_key {
            return Err(RestoreError::OtherSigningKey {
                export: public_key.clone(),
                local: local_key.to_string(),
            });
        }
    }
    verifier.line(&line);
    if let Some(b) = verifier.report.breaks.first() {
        return Err(RestoreError::Tampered(b.clone()));
    }
    Ok(line)
}

/// Vault line `n` of `file`, checked.
fn vault_line(file: &str, n: u64, text: std::io::Result<String>) -> Result<Checked, RestoreError> {
    let text = text.map_err(|e| RestoreError::Io(format!("{file}: {e}")))?;
    vault::check(n, &text).map_err(|e| match e {
        VaultError::Line { line, problem } => RestoreError::Unreadable {
            file: file.to_string(),
            line,
            problem,
        },
        e => RestoreError::Vault(e),
    })
}

/// Loads `export` and `vault` into the empty store `db` (see the module's description):
/// everything but the read models, which [`rebuild`] makes next, with a keyring opened anew
/// (the vault brought the original's blind-index secret). `keyring` and `local_key` are this
/// store's master keys and audit signing key.
pub async fn load(
    db: &Db,
    keyring: &store::privacy::Keyring,
    local_key: &str,
    export: &Path,
    vault_file: &Path,
    mut progress: impl FnMut(Stage, u64),
) -> Result<Restored, RestoreError> {
    let head = store::log::head(db).await?;
    let rows = vault::rows(db).await?;
    if head != 0 || rows != 0 {
        return Err(RestoreError::NotEmpty(format!(
            "{head} events, {rows} rows of keys, documents and reservations"
        )));
    }
    let sqlite = matches!(db, Db::Sqlite(_));

    // 1. The export, verified whole before anything is written: the records it holds, its
    //    last position, and its digest (the second reading must be the same file).
    let file = export.display().to_string();
    let mut verifier = Verifier::new(true, Some(local_key.to_string()));
    let mut events = 0u64;
    let mut previous = 0i64;
    let mut top = 0i64;
    let mut records: HashSet<(String, String)> = HashSet::new();
    let mut digest = Sha256::new();
    for (n, text) in lines(export)? {
        let text = text.map_err(|e| RestoreError::Io(format!("{file}: {e}")))?;
        digest.update(text.as_bytes());
        if let Line::Event {
            position,
            aggregate_type,
            aggregate_id,
            ..
        } = export_line(&file, n, Ok(text), &mut verifier, local_key)?
        {
            if sqlite && position <= previous {
                return Err(RestoreError::OutOfOrder { position, previous });
            }
            previous = position;
            top = top.max(position);
            records.insert((aggregate_type, aggregate_id));
            events += 1;
            if events.is_multiple_of(1000) {
                progress(Stage::Verifying, events);
            }
        }
    }
    if let Some(b) = verifier.finish().breaks.first() {
        return Err(RestoreError::Tampered(b.clone()));
    }
    if events == 0 {
        return Err(RestoreError::Empty);
    }
    let digest: [u8; 32] = digest.finalize().into();
    progress(Stage::Verifying, events);

    // 2. The vault, checked whole: every row readable, every key opening with this master key.
    //    It was taken after the export: rows of records the export does not hold (made in
    //    between) are left out, as are messages decided from events past its end.
    let mut out = Restored::default();
    let vault_name = vault_file.display().to_string();
    let mut system_key = false;
    let mut notifications_at = None;
    let belongs = |row: &Checked| {
        row.record()
            .is_none_or(|(kind, id)| records.contains(&(kind.to_string(), id.to_string())))
            && row.event_position().is_none_or(|p| p <= top)
    };
    for (n, text) in lines(vault_file)? {
        let row = vault_line(&vault_name, n, text)?;
        if let Some(p) = row.notifications_position() {
            notifications_at = Some(p);
            continue;
        }
        if !belongs(&row) {
            out.left_out += 1;
            continue;
        }
        out.vault_rows += 1;
        if let Some((subject, wrapped)) = row.subject_key() {
            system_key |= subject == store::privacy::SYSTEM_SUBJECT && wrapped.is_some();
            match wrapped {
                Some(w) if !keyring.opens(subject, w) => {
                    return Err(RestoreError::OtherMasterKey(subject.to_string()))
                }
                Some(_) => out.subject_keys += 1,
                None => out.shredded += 1,
            }
        }
        if out.vault_rows.is_multiple_of(1000) {
            progress(Stage::CheckingVault, out.vault_rows);
        }
    }
    if !system_key {
        return Err(RestoreError::Unreadable {
            file: vault_name,
            line: 0,
            problem: "the vault holds no system key (the blind-index secret): it is not a whole \
                      vault export"
                .into(),
        });
    }
    progress(Stage::CheckingVault, out.vault_rows);

    // 3. One transaction for everything (on Postgres, one more for each place where the
    //    export's commit order goes back in position: rare, and said if it fails after one).
    let mut loader = Loader::new(db, sqlite).await?;
    let loaded = async {
        let mut written = 0u64;
        for (n, text) in lines(vault_file)? {
            let row = vault_line(&vault_name, n, text)?;
            if row.notifications_position().is_some() || !belongs(&row) {
                continue;
            }
            vault::insert(loader.tx(), &row).await?;
            written += 1;
            if written.is_multiple_of(200) {
                progress(Stage::LoadingVault, written);
            }
        }
        progress(Stage::LoadingVault, written);

        // 4. The log, the ledger and its checkpoints, verified again as they are written.
        let mut verifier = Verifier::new(true, Some(local_key.to_string()));
        let mut again = Sha256::new();
        let mut batch = Vec::with_capacity(LOAD_BATCH);
        for (n, text) in lines(export)? {
            let text = text.map_err(|e| RestoreError::Io(format!("{file}: {e}")))?;
            again.update(text.as_bytes());
            batch.push(export_line(&file, n, Ok(text), &mut verifier, local_key)?);
            if batch.len() == LOAD_BATCH {
                loader.load(&batch).await?;
                batch.clear();
                progress(Stage::Loading, loader.events);
            }
        }
        loader.load(&batch).await?;
        if let Some(b) = verifier.finish().breaks.first() {
            return Err(RestoreError::Tampered(b.clone()));
        }
        let again: [u8; 32] = again.finalize().into();
        if again != digest {
            return Err(RestoreError::Io(format!(
                "{file} changed while it was being restored"
            )));
        }
        progress(Stage::Loading, loader.events);

        // 5. Where the ledger and the notifications stand.
        if loader.last_ledgered > 0 {
            loader
                .set_checkpoint(crate::ledger::NAME, loader.last_ledgered)
                .await?;
        }
        let notified = notifications_at.map_or(top, |p| p.min(top));
        loader
            .set_checkpoint(crate::notifications::NAME, notified)
            .await?;
        Ok::<_, RestoreError>(())
    }
    .await;
    let committed = loader.committed;
    match loaded {
        Ok(()) => loader.commit().await?,
        // Rolled back with the open transaction; what earlier ones committed stays.
        Err(e) if committed > 0 => {
            return Err(RestoreError::Partial {
                committed,
                cause: Box::new(e),
            })
        }
        Err(e) => return Err(e),
    }
    out.events = loader.events;
    out.ledgered = loader.ledgered;
    out.checkpoints = loader.checkpoints;
    out.head = store::log::head(db).await?;
    Ok(out)
}

/// Rebuilds every read model of a restored store but the ledger and the notifications (which
/// [`load`] set where they stand); `progress` counts events.
pub async fn rebuild(
    db: &Db,
    projections: &[Arc<dyn Projection>],
    progress: impl FnMut(u64),
) -> Result<(), RestoreError> {
    let group: Vec<&dyn Projection> = projections
        .iter()
        .map(|p| p.as_ref())
        .filter(|p| p.rebuildable() && p.name() != crate::notifications::NAME)
        .collect();
    crate::rebuild::rebuild_all(db, &group, progress).await?;
    Ok(())
}

/// Export lines written per transaction (at most).
const LOAD_BATCH: usize = 1000;

/// Writes events keeping their positions, with their ledger entries and checkpoints.
struct Loader<'a> {
    db: &'a Db,
    sqlite: bool,
    /// The open transaction.
    tx: Option<Tx>,
    /// Transactions committed before the open one (Postgres, where the commit order goes back).
    committed: u64,
    /// The position the next event would get without help (SQLite).
    next: i64,
    /// The position of the last event written.
    previous: i64,
    events: u64,
    ledgered: u64,
    checkpoints: u64,
    last_ledgered: i64,
}

impl<'a> Loader<'a> {
    async fn new(db: &'a Db, sqlite: bool) -> Result<Self, RestoreError> {
        Ok(Self {
            db,
            sqlite,
            tx: Some(Tx::begin(db).await?),
            committed: 0,
            next: 1,
            previous: 0,
            events: 0,
            ledgered: 0,
            checkpoints: 0,
            last_ledgered: 0,
        })
    }

    fn tx(&mut self) -> &mut Tx {
        self.tx.as_mut().expect("a transaction is open")
    }

    /// Commits the open transaction and opens the next.
    async fn next_transaction(&mut self) -> Result<(), RestoreError> {
        if let Some(tx) = self.tx.take() {
            tx.commit().await?;
        }
        self.committed += 1;
        self.tx = Some(Tx::begin(self.db).await?);
        Ok(())
    }

    /// Commits the open transaction: the end of a restore that went through.
    async fn commit(&mut self) -> Result<(), RestoreError> {
        if let Db::Postgres(_) = self.db {
            // Positions handed out next come after the restored ones.
            with_tx!(self.tx(), t => {
                sqlx::query(
                    "SELECT setval(pg_get_serial_sequence('events', 'position'),
                                   (SELECT MAX(position) FROM events))",
                )
                .execute(&mut **t)
                .await?;
            });
        }
        if let Some(tx) = self.tx.take() {
            tx.commit().await?;
        }
        Ok(())
    }

    /// Sets projection `name`'s checkpoint at the event at `position` (inside the open
    /// transaction, which holds the events).
    async fn set_checkpoint(&mut self, name: &str, position: i64) -> Result<(), RestoreError> {
        let tx_id: i64 = match self.db {
            Db::Sqlite(_) => 0,
            Db::Postgres(_) => with_tx!(self.tx(), t => {
                sqlx::query_scalar("SELECT tx_id::text::bigint FROM events WHERE position = $1")
                    .bind(position)
                    .fetch_optional(&mut **t)
                    .await?
                    .ok_or_else(|| RestoreError::Io(format!("no event at position {position}")))?
            }),
        };
        with_tx!(self.tx(), t => {
            sqlx::query(
                "INSERT INTO projection_checkpoints (name, tx_id, position) VALUES ($1, $2, $3)
                 ON CONFLICT (name) DO UPDATE SET tx_id = excluded.tx_id, position = excluded.position",
            )
            .bind(name)
            .bind(tx_id)
            .bind(position)
            .execute(&mut **t)
            .await?;
        });
        Ok(())
    }

    /// Writes `lines` in the open transaction; on Postgres, a position lower than the one
    /// before starts the next transaction, so that the commit order `(tx_id, position)` is the
    /// export's order.
    async fn load(&mut self, lines: &[Line]) -> Result<(), RestoreError> {
        let mut start = 0;
        let mut last = self.previous;
        for (i, line) in lines.iter().enumerate() {
            if let Line::Event { position, .. } = line {
                if !self.sqlite && *position < last {
                    if i > start {
                        self.load_run(&lines[start..i]).await?;
                    }
                    self.next_transaction().await?;
                    start = i;
                }
                last = *position;
            }
        }
        self.load_run(&lines[start..]).await
    }

    async fn load_run(&mut self, lines: &[Line]) -> Result<(), RestoreError> {
        let mut tx = self.tx.take().expect("a transaction is open");
        let result = self.write_run(&mut tx, lines).await;
        self.tx = Some(tx);
        result
    }

    async fn write_run(&mut self, tx: &mut Tx, lines: &[Line]) -> Result<(), RestoreError> {
        // The export's lines themselves, written a chunk at a time (nothing copied).
        let mut run: Vec<&Line> = Vec::new();
        let mut ledger: Vec<(i64, &LedgerEntry)> = Vec::new();
        for line in lines {
            match line {
                Line::Event {
                    position,
                    ledger: entry,
                    ..
                } => {
                    if self.sqlite && *position != self.next {
                        // Positions the original never used (none on SQLite; rolled-back
                        // transactions on Postgres): the next one is set by hand.
                        self.write_events(tx, &mut run).await?;
                        let raised = with_tx!(tx, t => {
                            sqlx::query("UPDATE sqlite_sequence SET seq = $1 WHERE name = 'event_positions'")
                                .bind(position - 1)
                                .execute(&mut **t)
                                .await?
                                .rows_affected()
                        });
                        if raised == 0 {
                            with_tx!(tx, t => {
                                sqlx::query("INSERT INTO sqlite_sequence (name, seq) VALUES ('event_positions', $1)")
                                    .bind(position - 1)
                                    .execute(&mut **t)
                                    .await?;
                            });
                        }
                    }
                    self.next = position + 1;
                    self.previous = *position;
                    run.push(line);
                    if let Some(l) = entry {
                        ledger.push((*position, l));
                        self.last_ledgered = *position;
                    }
                }
                Line::Checkpoint {
                    seq,
                    ledger_hash,
                    at,
                    public_key,
                    signature,
                } => {
                    self.write_events(tx, &mut run).await?;
                    self.write_ledger(tx, &mut ledger).await?;
                    with_tx!(tx, t => {
                        sqlx::query(
                            "INSERT INTO audit_checkpoints (seq, ledger_hash, at, public_key, signature)
                             VALUES ($1, $2, $3, $4, $5)",
                        )
                        .bind(seq)
                        .bind(ledger_hash)
                        .bind(at)
                        .bind(public_key)
                        .bind(signature)
                        .execute(&mut **t)
                        .await?;
                    });
                    self.checkpoints += 1;
                }
                // Verification refuses them before this point.
                Line::Orphan { .. } => {}
            }
        }
        self.write_events(tx, &mut run).await?;
        self.write_ledger(tx, &mut ledger).await?;
        Ok(())
    }

    async fn write_events(
        &mut self,
        tx: &mut Tx,
        run: &mut Vec<&Line>,
    ) -> Result<(), RestoreError> {
        if run.is_empty() {
            return Ok(());
        }
        for chunk in run.chunks(200) {
            with_tx!(tx, t => {
                let mut qb = sqlx::QueryBuilder::new(
                    "INSERT INTO events (aggregate_type, aggregate_id, sequence, event_type,
                     event_version, payload, metadata",
                );
                qb.push(if self.sqlite { ") " } else { ", position) OVERRIDING SYSTEM VALUE " });
                let sqlite = self.sqlite;
                qb.push_values(chunk, |mut b, line| {
                    let Line::Event {
                        position,
                        aggregate_type,
                        aggregate_id,
                        sequence,
                        event_type,
                        event_version,
                        payload,
                        metadata,
                        ..
                    } = line
                    else {
                        unreachable!("a run gathers events only")
                    };
                    b.push_bind(aggregate_type)
                        .push_bind(aggregate_id)
                        .push_bind(sequence)
                        .push_bind(event_type)
                        .push_bind(event_version);
                    if sqlite {
                        // Text columns on SQLite: the JSON as text.
                        b.push_bind(payload.to_string()).push_bind(metadata.to_string());
                    } else {
                        b.push_bind(payload).push_bind(metadata).push_bind(position);
                    }
                });
                qb.build().execute(&mut **t).await?;
            });
        }
        self.events += run.len() as u64;
        run.clear();
        Ok(())
    }

    async fn write_ledger(
        &mut self,
        tx: &mut Tx,
        entries: &mut Vec<(i64, &LedgerEntry)>,
    ) -> Result<(), RestoreError> {
        for chunk in entries.chunks(500) {
            with_tx!(tx, t => {
                let mut qb = sqlx::QueryBuilder::new(
                    "INSERT INTO audit_ledger (seq, position, aggregate_type, aggregate_id,
                     sequence, event_hash, ledger_hash) ",
                );
                qb.push_values(chunk, |mut b, (position, l)| {
                    b.push_bind(l.seq)
                        .push_bind(*position)
                        .push_bind(&l.aggregate_type)
                        .push_bind(&l.aggregate_id)
                        .push_bind(l.sequence)
                        .push_bind(&l.event_hash)
                        .push_bind(&l.ledger_hash);
                });
                qb.build().execute(&mut **t).await?;
            });
        }
        self.ledgered += entries.len() as u64;
        entries.clear();
        Ok(())
    }
}
