//! Reading the event log in commit order.
//!
//! SQLite has one writer at a time, so positions are handed out in commit order and a reader
//! takes everything above its checkpoint. On Postgres an identity value is taken before commit,
//! so a row with a lower position can become visible after one with a higher position. A reader
//! therefore only takes rows written by transactions older than every transaction still running
//! (`tx_id < pg_snapshot_xmin(pg_current_snapshot())`) and orders them by `(tx_id, position)`:
//! every row that becomes visible later belongs to a transaction at or above that xmin, so it
//! sorts after the checkpoint and is never skipped.

use crate::db::{Db, StoreError};
use crate::with_db;
use serde_json::Value;
use sqlx::Row;

/// Where a reader stands in the log: the commit-order key `(tx_id, position)` of the last event
/// it took (`tx_id` is always 0 on SQLite).
#[derive(
    Debug,
    Clone,
    Copy,
    Default,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    serde::Serialize,
    serde::Deserialize,
)]
pub struct Checkpoint {
    pub tx_id: i64,
    pub position: i64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct StoredEvent {
    pub position: i64,
    pub tx_id: i64,
    pub aggregate_type: String,
    pub aggregate_id: String,
    pub sequence: i64,
    pub event_type: String,
    pub event_version: String,
    pub payload: Value,
    pub metadata: Value,
}

impl StoredEvent {
    pub fn checkpoint(&self) -> Checkpoint {
        Checkpoint {
            tx_id: self.tx_id,
            position: self.position,
        }
    }
}

const SQLITE_AFTER: &str = "
SELECT group_concat(record, char(30)) FROM (
  SELECT p.position,
         p.position || char(31) || e.aggregate_type || char(31) || e.aggregate_id || char(31)
           || e.sequence || char(31) || e.event_type || char(31) || e.event_version || char(31)
           || e.payload || char(31) || e.metadata AS record
    FROM event_positions p
    JOIN events e ON e.aggregate_type = p.aggregate_type AND e.aggregate_id = p.aggregate_id
                  AND e.sequence = p.sequence
   WHERE p.position > $1
   ORDER BY p.position
   LIMIT $2)";

const POSTGRES_AFTER: &str = "
SELECT position, tx_id::text::bigint AS tx_id, aggregate_type, aggregate_id, sequence,
       event_type, event_version, payload, metadata
  FROM events
 WHERE (tx_id, position) > ($1::text::xid8, $2)
   AND tx_id < pg_snapshot_xmin(pg_current_snapshot())
 ORDER BY tx_id, position
 LIMIT $3";

/// Up to `limit` events after `after`, in commit order.
pub async fn read_after(
    db: &Db,
    after: Checkpoint,
    limit: i64,
) -> Result<Vec<StoredEvent>, StoreError> {
    let pool = match db {
        Db::Sqlite(pool) => return read_after_sqlite(pool, after, limit).await,
        Db::Postgres(pool) => pool,
    };
    // The transaction id is bound as text for Postgres's `::text::xid8`.
    let rows = sqlx::query(POSTGRES_AFTER)
        .bind(after.tx_id.to_string())
        .bind(after.position)
        .bind(limit)
        .fetch_all(pool)
        .await?
        .iter()
        .map(decode)
        .collect::<Result<Vec<_>, _>>()?;
    Ok(rows)
}

/// Separates the fields of one event in [`SQLITE_AFTER`]'s text (a JSON text never holds it raw).
const FIELD: char = '\u{1f}';
/// Separates the events.
const RECORD: char = '\u{1e}';

/// On SQLite a batch comes back as one text (events joined in position order): handing each
/// row from SQLite's thread to ours cost more than reading it.
async fn read_after_sqlite(
    pool: &sqlx::SqlitePool,
    after: Checkpoint,
    limit: i64,
) -> Result<Vec<StoredEvent>, StoreError> {
    let text: Option<String> = sqlx::query_scalar(SQLITE_AFTER)
        .bind(after.position)
        .bind(limit)
        .fetch_one(pool)
        .await?;
    let Some(text) = text else {
        return Ok(Vec::new());
    };
    let broken = |what: &str| {
        StoreError::Database(sqlx::Error::Decode(
            format!("event log batch: {what}").into(),
        ))
    };
    let mut events = Vec::with_capacity(limit.max(0) as usize);
    for record in text.split(RECORD) {
        let mut f = record.splitn(8, FIELD);
        let mut next = |name: &str| f.next().ok_or_else(|| broken(name));
        let position = next("position")?.parse().map_err(|_| broken("position"))?;
        let aggregate_type = next("aggregate type")?.to_string();
        let aggregate_id = next("aggregate id")?.to_string();
        let sequence = next("sequence")?.parse().map_err(|_| broken("sequence"))?;
        let event_type = next("event type")?.to_string();
        let event_version = next("event version")?.to_string();
        let payload = serde_json::from_str(next("payload")?).map_err(|_| broken("payload"))?;
        let metadata = serde_json::from_str(next("metadata")?).map_err(|_| broken("metadata"))?;
        events.push(StoredEvent {
            position,
            tx_id: 0,
            aggregate_type,
            aggregate_id,
            sequence,
            event_type,
            event_version,
            payload,
            metadata,
        });
    }
    // The rows come in the subquery's order; should SQLite ever join them otherwise, sort.
    if !events.is_sorted_by_key(|e| e.position) {
        events.sort_by_key(|e| e.position);
    }
    Ok(events)
}

fn decode<R: Row>(row: &R) -> Result<StoredEvent, sqlx::Error>
where
    for<'a> &'a str: sqlx::ColumnIndex<R>,
    for<'a> i64: sqlx::Decode<'a, R::Database> + sqlx::Type<R::Database>,
    for<'a> String: sqlx::Decode<'a, R::Database> + sqlx::Type<R::Database>,
    for<'a> Value: sqlx::Decode<'a, R::Database> + sqlx::Type<R::Database>,
{
    Ok(StoredEvent {
        position: row.try_get("position")?,
        tx_id: row.try_get("tx_id")?,
        aggregate_type: row.try_get("aggregate_type")?,
        aggregate_id: row.try_get("aggregate_id")?,
        sequence: row.try_get("sequence")?,
        event_type: row.try_get("event_type")?,
        event_version: row.try_get("event_version")?,
        payload: row.try_get("payload")?,
        metadata: row.try_get("metadata")?,
    })
}

/// The events of one aggregate, oldest first (for history views and as-of folds).
pub async fn aggregate_events(
    db: &Db,
    aggregate_type: &str,
    aggregate_id: &str,
) -> Result<Vec<StoredEvent>, StoreError> {
    let sql = match db {
        Db::Sqlite(_) => {
            "SELECT p.position, 0 AS tx_id, e.aggregate_type, e.aggregate_id, e.sequence, e.event_type,
                    e.event_version, e.payload, e.metadata
               FROM events e
               JOIN event_positions p ON e.aggregate_type = p.aggregate_type
                AND e.aggregate_id = p.aggregate_id AND e.sequence = p.sequence
              WHERE e.aggregate_type = $1 AND e.aggregate_id = $2
              ORDER BY e.sequence"
        }
        Db::Postgres(_) => {
            "SELECT position, tx_id::text::bigint AS tx_id, aggregate_type, aggregate_id, sequence,
                    event_type, event_version, payload, metadata
               FROM events WHERE aggregate_type = $1 AND aggregate_id = $2 ORDER BY sequence"
        }
    };
    let events = with_db!(db, pool => {
        sqlx::query(sql)
            .bind(aggregate_type)
            .bind(aggregate_id)
            .fetch_all(pool)
            .await?
            .iter()
            .map(decode)
            .collect::<Result<Vec<_>, _>>()?
    });
    Ok(events)
}

/// Up to `limit` events after the position `after` and up to `through`, in position order
/// (on Postgres, those committed: an event still in a transaction is not seen).
pub async fn read_positions(
    db: &Db,
    after: i64,
    through: i64,
    limit: i64,
) -> Result<Vec<StoredEvent>, StoreError> {
    let pool = match db {
        // On SQLite the commit order is the position order.
        Db::Sqlite(pool) => {
            let after = Checkpoint {
                tx_id: 0,
                position: after,
            };
            let mut events = read_after_sqlite(pool, after, limit).await?;
            events.retain(|e| e.position <= through);
            return Ok(events);
        }
        Db::Postgres(pool) => pool,
    };
    let rows = sqlx::query(
        "SELECT position, tx_id::text::bigint AS tx_id, aggregate_type, aggregate_id, sequence,
                event_type, event_version, payload, metadata
           FROM events WHERE position > $1 AND position <= $2 ORDER BY position LIMIT $3",
    )
    .bind(after)
    .bind(through)
    .bind(limit)
    .fetch_all(pool)
    .await?
    .iter()
    .map(decode)
    .collect::<Result<Vec<_>, _>>()?;
    Ok(rows)
}

/// The position of the newest event in the log (0 when empty).
pub async fn head(db: &Db) -> Result<i64, StoreError> {
    let sql = match db {
        Db::Sqlite(_) => "SELECT COALESCE(MAX(position), 0) FROM event_positions",
        Db::Postgres(_) => "SELECT COALESCE(MAX(position), 0) FROM events",
    };
    let head: i64 = with_db!(db, pool => sqlx::query_scalar(sql).fetch_one(pool).await?);
    Ok(head)
}

/// How many events lie after `cp`, counting at most `cap` of them.
pub async fn lag(db: &Db, cp: Checkpoint, cap: i64) -> Result<i64, StoreError> {
    let n: i64 =
        match db {
            Db::Sqlite(pool) => sqlx::query_scalar(
                "SELECT COUNT(*) FROM (SELECT 1 FROM event_positions WHERE position > $1 LIMIT $2)",
            )
            .bind(cp.position)
            .bind(cap)
            .fetch_one(pool)
            .await?,
            Db::Postgres(pool) => {
                sqlx::query_scalar(
                    "SELECT COUNT(*) FROM (SELECT 1 FROM events
                  WHERE (tx_id, position) > ($1::text::xid8, $2) LIMIT $3) AS pending",
                )
                .bind(cp.tx_id.to_string())
                .bind(cp.position)
                .bind(cap)
                .fetch_one(pool)
                .await?
            }
        };
    Ok(n)
}

/// How long ago the first event after `cp` was written, in seconds (`None` when there is none):
/// how far behind in time a reader at `cp` is.
pub async fn age_after(db: &Db, cp: Checkpoint) -> Result<Option<f64>, StoreError> {
    Ok(match db {
        Db::Sqlite(pool) => {
            sqlx::query_scalar(
                "SELECT (julianday('now') - julianday(recorded_at)) * 86400.0
                   FROM event_positions WHERE position > $1 ORDER BY position LIMIT 1",
            )
            .bind(cp.position)
            .fetch_optional(pool)
            .await?
        }
        Db::Postgres(pool) => {
            sqlx::query_scalar(
                "SELECT EXTRACT(EPOCH FROM clock_timestamp() - recorded_at)::float8 FROM events
                  WHERE (tx_id, position) > ($1::text::xid8, $2)
                  ORDER BY tx_id, position LIMIT 1",
            )
            .bind(cp.tx_id.to_string())
            .bind(cp.position)
            .fetch_optional(pool)
            .await?
        }
    }
    .map(|age: f64| age.max(0.0)))
}

/// The commit-order key of the event at `position`, if there is one.
pub async fn key_of(db: &Db, position: i64) -> Result<Option<Checkpoint>, StoreError> {
    Ok(match db {
        Db::Sqlite(pool) => {
            let found: Option<i64> =
                sqlx::query_scalar("SELECT position FROM event_positions WHERE position = $1")
                    .bind(position)
                    .fetch_optional(pool)
                    .await?;
            found.map(|position| Checkpoint { tx_id: 0, position })
        }
        Db::Postgres(pool) => {
            let found: Option<i64> =
                sqlx::query_scalar("SELECT tx_id::text::bigint FROM events WHERE position = $1")
                    .bind(position)
                    .fetch_optional(pool)
                    .await?;
            found.map(|tx_id| Checkpoint { tx_id, position })
        }
    })
}

/// The payload of `event` brought to its current version by `upcasters`.
pub fn upcast(
    event: &StoredEvent,
    upcasters: &[Box<dyn cqrs_es::persist::EventUpcaster>],
) -> Value {
    upcast_payload(event, event.payload.clone(), upcasters)
}

/// [`upcast`] of `payload`, the (possibly opened) payload of `event`: no copy is made when no
/// upcaster applies, which is nearly always.
pub fn upcast_payload(
    event: &StoredEvent,
    payload: Value,
    upcasters: &[Box<dyn cqrs_es::persist::EventUpcaster>],
) -> Value {
    if !upcasters
        .iter()
        .any(|u| u.can_upcast(&event.event_type, &event.event_version))
    {
        return payload;
    }
    let mut serialized = cqrs_es::persist::SerializedEvent::new(
        event.aggregate_id.clone(),
        event.sequence as usize,
        event.aggregate_type.clone(),
        event.event_type.clone(),
        event.event_version.clone(),
        payload,
        event.metadata.clone(),
    );
    for u in upcasters {
        if u.can_upcast(&serialized.event_type, &serialized.event_version) {
            serialized = u.upcast(serialized);
        }
    }
    serialized.payload
}
