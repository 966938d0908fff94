//! The audit ledger: a projection in commit order that chains every event's hash into one global
//! chain and signs a checkpoint every [`CHECKPOINT_EVERY`] entries. The checkpoint's time is
//! the recorded time of its event, so the ledger is the same whenever it is built.

use std::sync::Arc;

use futures::future::BoxFuture;
use serde::Serialize;
use store::audit::{self, AuditSigner, EventContent};
use store::{with_db, Db};

use crate::{with_tx, Projection, ProjectionError, StoredEvent, Tx};

pub const NAME: &str = "ledger";
/// A signed checkpoint every this many ledger entries.
pub const CHECKPOINT_EVERY: i64 = 50;

pub struct LedgerProjection {
    signer: Arc<AuditSigner>,
}

impl LedgerProjection {
    pub fn new(signer: Arc<AuditSigner>) -> Self {
        Self { signer }
    }
}

impl Projection for LedgerProjection {
    fn name(&self) -> &'static str {
        NAME
    }

    fn version(&self) -> i64 {
        1
    }

    fn ddl(&self) -> &'static str {
        include_str!("../../migrations/read_models/ledger.sql")
    }

    fn tables(&self) -> &'static [&'static str] {
        &["audit_ledger", "audit_checkpoints"]
    }

    fn rebuildable(&self) -> bool {
        false
    }

    fn apply<'a>(
        &'a self,
        tx: &'a mut Tx,
        suffix: &'a str,
        events: &'a [StoredEvent],
    ) -> BoxFuture<'a, Result<(), ProjectionError>> {
        Box::pin(apply(&self.signer, tx, suffix, events))
    }
}

/// The hash an event carries, or (for an event written without one) the hash of its content.
pub fn hash_of(e: &StoredEvent) -> String {
    let (_, stored) = audit::stored_hashes(&e.metadata);
    if stored.is_empty() {
        audit::event_hash(&content(e))
    } else {
        stored
    }
}

pub fn content(e: &StoredEvent) -> EventContent<'_> {
    EventContent {
        aggregate_type: &e.aggregate_type,
        aggregate_id: &e.aggregate_id,
        sequence: e.sequence,
        event_type: &e.event_type,
        event_version: &e.event_version,
        payload: &e.payload,
        metadata: &e.metadata,
    }
}

async fn apply(
    signer: &AuditSigner,
    tx: &mut Tx,
    suffix: &str,
    events: &[StoredEvent],
) -> Result<(), ProjectionError> {
    let last: Option<(i64, String)> = with_tx!(tx, t => {
        sqlx::query_as(&format!(
            "SELECT seq, ledger_hash FROM audit_ledger{suffix} ORDER BY seq DESC LIMIT 1"
        ))
        .fetch_optional(&mut **t)
        .await?
    });
    let (mut seq, mut chain) = last.unwrap_or((0, audit::GENESIS.to_string()));
    let mut rows = Vec::with_capacity(events.len());
    let mut checkpoints = Vec::new();
    for e in events {
        seq += 1;
        let event_hash = hash_of(e);
        chain = audit::ledger_hash(&chain, &event_hash);
        if seq % CHECKPOINT_EVERY == 0 {
            let at = store::EventMetadata::from_json(&e.metadata)
                .recorded_at
                .to_rfc3339_opts(chrono::SecondsFormat::Micros, true);
            let signature = signer.sign(&audit::checkpoint_message(seq, &chain, &at));
            checkpoints.push((seq, chain.clone(), at, signature));
        }
        rows.push((seq, e, event_hash, chain.clone()));
    }
    let public_key = signer.public_key_hex();
    for chunk in rows.chunks(500) {
        with_tx!(tx, t => {
            let mut qb = sqlx::QueryBuilder::new(format!(
                "INSERT INTO audit_ledger{suffix} (seq, position, aggregate_type, aggregate_id,
                 sequence, event_hash, ledger_hash) "
            ));
            qb.push_values(chunk, |mut b, (seq, e, h, l)| {
                b.push_bind(*seq)
                    .push_bind(e.position)
                    .push_bind(e.aggregate_type.clone())
                    .push_bind(e.aggregate_id.clone())
                    .push_bind(e.sequence)
                    .push_bind(h.clone())
                    .push_bind(l.clone());
            });
            qb.build().execute(&mut **t).await?;
        });
    }
    for (seq, hash, at, signature) in checkpoints {
        with_tx!(tx, t => {
            sqlx::query(&format!(
                "INSERT INTO audit_checkpoints{suffix} (seq, ledger_hash, at, public_key, signature)
                 VALUES ($1, $2, $3, $4, $5)"
            ))
            .bind(seq)
            .bind(hash)
            .bind(at)
            .bind(&public_key)
            .bind(signature)
            .execute(&mut **t)
            .await?;
        });
    }
    Ok(())
}

/// A ledger entry, as export and verification read it.
#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
pub struct LedgerRow {
    pub seq: i64,
    pub position: i64,
    pub aggregate_type: String,
    pub aggregate_id: String,
    pub sequence: i64,
    pub event_hash: String,
    pub ledger_hash: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
pub struct CheckpointRow {
    pub seq: i64,
    pub ledger_hash: String,
    pub at: String,
    pub public_key: String,
    pub signature: String,
}

/// The newest signed checkpoint, if any.
pub async fn last_checkpoint(db: &Db) -> Result<Option<CheckpointRow>, ProjectionError> {
    Ok(with_db!(db, pool => {
        sqlx::query_as::<_, CheckpointRow>(
            "SELECT seq, ledger_hash, at, public_key, signature FROM audit_checkpoints
              ORDER BY seq DESC LIMIT 1",
        )
        .fetch_optional(pool)
        .await?
    }))
}

/// The newest ledger entry's number (0 for an empty ledger).
pub async fn last_seq(db: &Db) -> Result<i64, ProjectionError> {
    Ok(with_db!(db, pool => {
        sqlx::query_scalar("SELECT COALESCE(MAX(seq), 0) FROM audit_ledger")
            .fetch_one(pool)
            .await?
    }))
}

/// Ledger entries after `after_seq` up to `upto_seq`, at most `limit`, in order.
pub async fn entries(
    db: &Db,
    after_seq: i64,
    upto_seq: i64,
    limit: i64,
) -> Result<Vec<LedgerRow>, ProjectionError> {
    match db {
        // One text per batch, as the log's batches (a row at a time costs more than the row).
        Db::Sqlite(pool) => {
            let text: Option<String> = sqlx::query_scalar(
                "SELECT group_concat(record, char(30)) FROM (
                   SELECT seq || char(31) || position || char(31) || aggregate_type || char(31)
                          || aggregate_id || char(31) || sequence || char(31) || event_hash
                          || char(31) || ledger_hash AS record
                     FROM audit_ledger WHERE seq > $1 AND seq <= $2 ORDER BY seq LIMIT $3)",
            )
            .bind(after_seq)
            .bind(upto_seq)
            .bind(limit)
            .fetch_one(pool)
            .await?;
            let mut rows = text.as_deref().map_or(Ok(Vec::new()), |t| {
                t.split('\u{1e}').map(ledger_row).collect()
            })?;
            if !rows.is_sorted_by_key(|r: &LedgerRow| r.seq) {
                rows.sort_by_key(|r| r.seq);
            }
            Ok(rows)
        }
        Db::Postgres(pool) => Ok(sqlx::query_as::<_, LedgerRow>(
            "SELECT seq, position, aggregate_type, aggregate_id, sequence, event_hash, ledger_hash
               FROM audit_ledger WHERE seq > $1 AND seq <= $2 ORDER BY seq LIMIT $3",
        )
        .bind(after_seq)
        .bind(upto_seq)
        .bind(limit)
        .fetch_all(pool)
        .await?),
    }
}

/// One ledger entry from [`entries`]' SQLite text.
fn ledger_row(record: &str) -> Result<LedgerRow, ProjectionError> {
    let broken = || {
        ProjectionError::Database(sqlx::Error::Decode(
            format!("audit ledger batch: malformed entry {record:?}").into(),
        ))
    };
    let f: Vec<&str> = record.split('\u{1f}').collect();
    let [seq, position, aggregate_type, aggregate_id, sequence, event_hash, ledger_hash] =
        f.as_slice()
    else {
        return Err(broken());
    };
    Ok(LedgerRow {
        seq: seq.parse().map_err(|_| broken())?,
        position: position.parse().map_err(|_| broken())?,
        aggregate_type: aggregate_type.to_string(),
        aggregate_id: aggregate_id.to_string(),
        sequence: sequence.parse().map_err(|_| broken())?,
        event_hash: event_hash.to_string(),
        ledger_hash: ledger_hash.to_string(),
    })
}

pub async fn checkpoints(db: &Db) -> Result<Vec<CheckpointRow>, ProjectionError> {
    Ok(with_db!(db, pool => {
        sqlx::query_as::<_, CheckpointRow>(
            "SELECT seq, ledger_hash, at, public_key, signature FROM audit_checkpoints ORDER BY seq",
        )
        .fetch_all(pool)
        .await?
    }))
}
