//! Appending a command's events: one transaction that stores the data subject's new key (when
//! the command made one), inserts every event in one statement and reads back their positions.
//! The rows are the ones postgres-es and sqlite-es read and write (same table, same columns), so
//! those crates still load aggregates from what is written here.

use cqrs_es::persist::SerializedEvent;

use crate::db::{Db, StoreError};

/// A data subject's key made for this append, wrapped by the master key.
#[derive(Debug, Clone)]
pub struct NewKey {
    pub subject: String,
    pub wrapped: String,
}

#[derive(Debug, thiserror::Error)]
pub enum AppendError {
    /// Another writer appended to the aggregate first (the optimistic lock).
    #[error("the aggregate was appended to concurrently")]
    Conflict,
    /// Another writer stored a key for the subject first: seal again with theirs.
    #[error("the data subject's key was made concurrently")]
    KeyRace,
    /// The subject's key was destroyed meanwhile.
    #[error("the data subject's key was destroyed")]
    Shredded,
    /// The store answered without a position for an event it was given.
    #[error("an appended event came back without a position")]
    Unpositioned,
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<sqlx::Error> for AppendError {
    fn from(e: sqlx::Error) -> Self {
        match &e {
            sqlx::Error::Database(d) if d.is_unique_violation() => AppendError::Conflict,
            _ => AppendError::Store(StoreError::from(e)),
        }
    }
}

const SQLITE_KEY: &str = "
INSERT INTO subject_keys (subject_id, wrapped_key, created_at) VALUES ($1, $2, $3)
ON CONFLICT (subject_id) DO UPDATE SET subject_id = excluded.subject_id
RETURNING wrapped_key";

/// One statement, so one round trip and one implicit transaction.
const POSTGRES_EVENTS: &str = "
INSERT INTO events (aggregate_type, aggregate_id, sequence, event_type, event_version, payload, metadata)
SELECT t, i, s, et, ev, p::json, m::json
  FROM UNNEST($1::text[], $2::text[], $3::bigint[], $4::text[], $5::text[], $6::text[], $7::text[])
       AS u(t, i, s, et, ev, p, m)
RETURNING sequence, position";

/// The same with the subject's new key stored first; no event is written unless the stored key
/// is the one the events were sealed with.
const POSTGRES_KEY_AND_EVENTS: &str = "
WITH k AS (
    INSERT INTO subject_keys (subject_id, wrapped_key, created_at) VALUES ($8, $9, $10)
    ON CONFLICT (subject_id) DO UPDATE SET subject_id = excluded.subject_id
    RETURNING wrapped_key
)
INSERT INTO events (aggregate_type, aggregate_id, sequence, event_type, event_version, payload, metadata)
SELECT t, i, s, et, ev, p::json, m::json
  FROM UNNEST($1::text[], $2::text[], $3::bigint[], $4::text[], $5::text[], $6::text[], $7::text[])
       AS u(t, i, s, et, ev, p, m)
 WHERE (SELECT wrapped_key FROM k) = $9
RETURNING sequence, position";

const SQLITE_EVENTS: &str = "
INSERT INTO events (aggregate_type, aggregate_id, sequence, event_type, event_version, payload, metadata)
SELECT value ->> '$[0]', value ->> '$[1]', value ->> '$[2]', value ->> '$[3]', value ->> '$[4]',
       value ->> '$[5]', value ->> '$[6]'
  FROM json_each($1)
 ORDER BY key";

const SQLITE_POSITIONS: &str = "
SELECT sequence, position FROM event_positions
 WHERE aggregate_type = $1 AND aggregate_id = $2 AND sequence >= $3 AND sequence <= $4";

/// Appends `events` (already sealed and chained) and, first, `key`. Returns each event's
/// position, in the order of `events`. On SQLite the caller holds the store's write gate.
pub async fn append(
    db: &Db,
    events: &[SerializedEvent],
    key: Option<&NewKey>,
) -> Result<Vec<i64>, AppendError> {
    let (Some(first), Some(last)) = (events.first(), events.last()) else {
        return Ok(Vec::new());
    };
    let mut found: Vec<(i64, i64)> = match db {
        Db::Postgres(pool) => {
            let column =
                |f: fn(&SerializedEvent) -> String| events.iter().map(f).collect::<Vec<_>>();
            let query = sqlx::query_as(match key {
                Some(_) => POSTGRES_KEY_AND_EVENTS,
                None => POSTGRES_EVENTS,
            })
            .bind(column(|e| e.aggregate_type.clone()))
            .bind(column(|e| e.aggregate_id.clone()))
            .bind(events.iter().map(|e| e.sequence as i64).collect::<Vec<_>>())
            .bind(column(|e| e.event_type.clone()))
            .bind(column(|e| e.event_version.clone()))
            .bind(column(|e| e.payload.to_string()))
            .bind(column(|e| e.metadata.to_string()));
            let query = match key {
                Some(key) => query
                    .bind(&key.subject)
                    .bind(&key.wrapped)
                    .bind(chrono::Utc::now()),
                None => query,
            };
            let rows: Vec<(i64, i64)> = query.fetch_all(pool).await?;
            if let (Some(key), true) = (key, rows.is_empty()) {
                let stored: Option<Option<String>> = sqlx::query_scalar(
                    "SELECT wrapped_key FROM subject_keys WHERE subject_id = $1",
                )
                .bind(&key.subject)
                .fetch_optional(pool)
                .await?;
                check_key(key, stored.flatten())?;
            }
            rows
        }
        Db::Sqlite(pool) => {
            let mut tx = pool.begin_with("BEGIN IMMEDIATE").await?;
            if let Some(key) = key {
                let stored: Option<String> = sqlx::query_scalar(SQLITE_KEY)
                    .bind(&key.subject)
                    .bind(&key.wrapped)
                    .bind(chrono::Utc::now())
                    .fetch_one(&mut *tx)
                    .await?;
                check_key(key, stored)?;
            }
            let rows: Vec<serde_json::Value> = events
                .iter()
                .map(|e| {
                    serde_json::json!([
                        e.aggregate_type,
                        e.aggregate_id,
                        e.sequence,
                        e.event_type,
                        e.event_version,
                        e.payload.to_string(),
                        e.metadata.to_string(),
                    ])
                })
                .collect();
            sqlx::query(SQLITE_EVENTS)
                .bind(serde_json::Value::Array(rows).to_string())
                .execute(&mut *tx)
                .await?;
            let rows: Vec<(i64, i64)> = sqlx::query_as(SQLITE_POSITIONS)
                .bind(&first.aggregate_type)
                .bind(&first.aggregate_id)
                .bind(first.sequence as i64)
                .bind(last.sequence as i64)
                .fetch_all(&mut *tx)
                .await?;
            tx.commit().await?;
            rows
        }
    };
    found.sort_unstable();
    let positions: Vec<i64> = events
        .iter()
        .map(|e| {
            found
                .binary_search_by_key(&(e.sequence as i64), |(s, _)| *s)
                .map(|i| found[i].1)
                .unwrap_or(0)
        })
        .collect();
    if positions.contains(&0) {
        return Err(AppendError::Unpositioned);
    }
    Ok(positions)
}

fn check_key(key: &NewKey, stored: Option<String>) -> Result<(), AppendError> {
    match stored {
        Some(w) if w == key.wrapped => Ok(()),
        Some(_) => Err(AppendError::KeyRace),
        None => Err(AppendError::Shredded),
    }
}
