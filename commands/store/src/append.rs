//! Appending a command's events: one transaction that stores the data subject's new key (when
//! the command made one), inserts every event in one statement and reads back their positions.
//! The rows are the ones postgres-es and sqlite-es read and write (same table, same columns), so
//! those crates still load aggregates from what is written here.

use cqrs_es::persist::SerializedEvent;

use crate::db::{Db, StoreError};

/// A data subject's key made for this append, wrapped by the master key.
#[derive(Debug, Clone)]
pub struct NewKey {
    /// The data subject (the aggregate id).
    pub subject: String,
    /// The key wrapped by the master key, as `subject_keys` holds it.
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
    /// The group this append was in failed as a whole (the store's error).
    #[error("the append failed: {0}")]
    Failed(String),
    /// The writer of this process stopped (the runtime is shutting down).
    #[error("the event writer stopped")]
    Stopped,
    /// The store answered without a position for an event it was given.
    #[error("an appended event came back without a position")]
    Unpositioned,
    /// The store refused or could not be reached.
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

/// The keys, then the events of every append of a group, in one statement: one round trip and
/// one implicit transaction. When a stored key is not the one an append sealed with (another
/// writer made the subject's key first, or destroyed it), no event is written (the new keys of
/// the group's other appends may stay stored: each is tried again alone and finds its own key).
/// Events are inserted in the order given, so positions follow sequences.
const POSTGRES_APPEND: &str = "
WITH k AS (
    INSERT INTO subject_keys (subject_id, wrapped_key, created_at)
    SELECT s, w, $10 FROM UNNEST($8::text[], $9::text[]) AS u(s, w)
    ON CONFLICT (subject_id) DO UPDATE SET subject_id = excluded.subject_id
    RETURNING subject_id, wrapped_key
), raced AS (
    SELECT 1 FROM k JOIN UNNEST($8::text[], $9::text[]) AS u(s, w) ON k.subject_id = u.s
     WHERE k.wrapped_key IS DISTINCT FROM u.w
)
INSERT INTO events (aggregate_type, aggregate_id, sequence, event_type, event_version, payload, metadata)
SELECT t, i, s, et, ev, p::json, m::json
  FROM UNNEST($1::text[], $2::text[], $3::bigint[], $4::text[], $5::text[], $6::text[], $7::text[])
       WITH ORDINALITY AS u(t, i, s, et, ev, p, m, n)
 WHERE NOT EXISTS (SELECT 1 FROM raced)
 ORDER BY n
RETURNING aggregate_type, aggregate_id, sequence, position";

const SQLITE_KEYS: &str = "
INSERT INTO subject_keys (subject_id, wrapped_key, created_at)
SELECT value ->> '$[0]', value ->> '$[1]', $2 FROM json_each($1) WHERE true
ON CONFLICT (subject_id) DO UPDATE SET subject_id = excluded.subject_id
RETURNING subject_id, wrapped_key";

const SQLITE_EVENTS: &str = "
INSERT INTO events (aggregate_type, aggregate_id, sequence, event_type, event_version, payload, metadata)
SELECT value ->> '$[0]', value ->> '$[1]', value ->> '$[2]', value ->> '$[3]', value ->> '$[4]',
       value ->> '$[5]', value ->> '$[6]'
  FROM json_each($1)
 ORDER BY key";

const SQLITE_POSITIONS: &str = "
SELECT p.aggregate_type, p.aggregate_id, p.sequence, p.position
  FROM json_each($1) AS j
  JOIN event_positions p ON p.aggregate_type = j.value ->> '$[0]'
                        AND p.aggregate_id = j.value ->> '$[1]'
                        AND p.sequence = j.value ->> '$[2]'";

/// One command's append.
#[derive(Debug, Clone, Default)]
pub struct Append {
    /// Sealed and chained, in sequence order.
    pub events: Vec<SerializedEvent>,
    /// The subject's key to store with them, when the append made it.
    pub key: Option<NewKey>,
}

type Key = (String, String, i64);

/// Appends every append of `group` in one transaction: all land or none does. The positions of
/// each append's events. On SQLite the caller holds the store's write gate.
pub async fn append_group(db: &Db, group: &[Append]) -> Result<Vec<Vec<i64>>, AppendError> {
    let events: Vec<&SerializedEvent> = group.iter().flat_map(|a| &a.events).collect();
    if events.is_empty() {
        return Ok(group.iter().map(|_| Vec::new()).collect());
    }
    let keys: Vec<&NewKey> = group.iter().filter_map(|a| a.key.as_ref()).collect();
    let found: Vec<(String, String, i64, i64)> = match db {
        Db::Postgres(pool) => {
            let column =
                |f: fn(&SerializedEvent) -> String| events.iter().map(|e| f(e)).collect::<Vec<_>>();
            let rows: Vec<(String, String, i64, i64)> = sqlx::query_as(POSTGRES_APPEND)
                .bind(column(|e| e.aggregate_type.clone()))
                .bind(column(|e| e.aggregate_id.clone()))
                .bind(events.iter().map(|e| e.sequence as i64).collect::<Vec<_>>())
                .bind(column(|e| e.event_type.clone()))
                .bind(column(|e| e.event_version.clone()))
                .bind(column(|e| e.payload.to_string()))
                .bind(column(|e| e.metadata.to_string()))
                .bind(keys.iter().map(|k| k.subject.clone()).collect::<Vec<_>>())
                .bind(keys.iter().map(|k| k.wrapped.clone()).collect::<Vec<_>>())
                .bind(chrono::Utc::now())
                .fetch_all(pool)
                .await?;
            if rows.is_empty() {
                // No event written: a key was not the one sealed with. Which way?
                for key in &keys {
                    let stored: Option<Option<String>> = sqlx::query_scalar(
                        "SELECT wrapped_key FROM subject_keys WHERE subject_id = $1",
                    )
                    .bind(&key.subject)
                    .fetch_optional(pool)
                    .await?;
                    check_key(key, stored.flatten())?;
                }
            }
            rows
        }
        Db::Sqlite(pool) => {
            let mut tx = pool.begin_with("BEGIN IMMEDIATE").await?;
            if !keys.is_empty() {
                let list: Vec<serde_json::Value> = keys
                    .iter()
                    .map(|k| serde_json::json!([k.subject, k.wrapped]))
                    .collect();
                let stored: Vec<(String, Option<String>)> = sqlx::query_as(SQLITE_KEYS)
                    .bind(serde_json::Value::Array(list).to_string())
                    .bind(chrono::Utc::now())
                    .fetch_all(&mut *tx)
                    .await?;
                for key in &keys {
                    let found = stored.iter().find(|(s, _)| *s == key.subject);
                    check_key(key, found.and_then(|(_, w)| w.clone()))?;
                }
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
            let rows = serde_json::Value::Array(rows).to_string();
            sqlx::query(SQLITE_EVENTS)
                .bind(&rows)
                .execute(&mut *tx)
                .await?;
            let found: Vec<(String, String, i64, i64)> = sqlx::query_as(SQLITE_POSITIONS)
                .bind(&rows)
                .fetch_all(&mut *tx)
                .await?;
            tx.commit().await?;
            found
        }
    };
    let positions: std::collections::HashMap<Key, i64> = found
        .into_iter()
        .map(|(t, i, s, p)| ((t, i, s), p))
        .collect();
    group
        .iter()
        .map(|a| {
            a.events
                .iter()
                .map(|e| {
                    positions
                        .get(&(
                            e.aggregate_type.clone(),
                            e.aggregate_id.clone(),
                            e.sequence as i64,
                        ))
                        .copied()
                        .ok_or(AppendError::Unpositioned)
                })
                .collect()
        })
        .collect()
}

fn check_key(key: &NewKey, stored: Option<String>) -> Result<(), AppendError> {
    match stored {
        Some(w) if w == key.wrapped => Ok(()),
        Some(_) => Err(AppendError::KeyRace),
        None => Err(AppendError::Shredded),
    }
}

/// Appends taken at most in one group.
const GROUP_MAX: usize = 256;

/// Appends that land together or not at all (one command's, or a merge's two records').
struct Request {
    appends: Vec<Append>,
    reply: tokio::sync::oneshot::Sender<Result<Vec<Vec<i64>>, AppendError>>,
}

/// Group commit: the appends of concurrent commands queue here, and one writer puts whatever
/// has queued into one transaction (one flush). Should
/// the group fail as a whole (an append lost the optimistic lock or a key race), each of its
/// appends is tried alone, so that only the loser hears about it. Nothing is answered before
/// its transaction committed.
pub struct Appender {
    db: Db,
    queue: std::sync::OnceLock<tokio::sync::mpsc::UnboundedSender<Request>>,
}

impl Appender {
    /// The writer of `db` for this process (its task starts with the first append).
    pub fn new(db: &Db) -> Self {
        Self {
            db: db.clone(),
            queue: std::sync::OnceLock::new(),
        }
    }

    /// Appends `append` with whatever else is queued; its positions once committed.
    pub async fn append(&self, append: Append) -> Result<Vec<i64>, AppendError> {
        let mut positions = self.append_all(vec![append]).await?;
        Ok(positions.pop().unwrap_or_default())
    }

    /// Appends every one of `appends` in one transaction (with whatever else is queued): all
    /// land or none does. The positions of each, once committed.
    pub async fn append_all(&self, appends: Vec<Append>) -> Result<Vec<Vec<i64>>, AppendError> {
        let queue = self.queue.get_or_init(|| {
            let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
            tokio::spawn(writer(self.db.clone(), rx));
            tx
        });
        let (reply, answer) = tokio::sync::oneshot::channel();
        queue
            .send(Request { appends, reply })
            .map_err(|_| AppendError::Stopped)?;
        answer.await.map_err(|_| AppendError::Stopped)?
    }
}

async fn writer(db: Db, mut queue: tokio::sync::mpsc::UnboundedReceiver<Request>) {
    let gate = db.write_gate();
    let mut group: Vec<Request> = Vec::new();
    while let Some(first) = queue.recv().await {
        // The store's turn first, then whatever queued meanwhile joins the group.
        let _turn = match &gate {
            Some(g) => Some(g.lock().await),
            None => None,
        };
        group.push(first);
        while group.len() < GROUP_MAX {
            match queue.try_recv() {
                Ok(r) => group.push(r),
                Err(_) => break,
            }
        }
        let mut sizes = Vec::with_capacity(group.len());
        let mut replies = Vec::with_capacity(group.len());
        let mut appends: Vec<Append> = Vec::with_capacity(group.len());
        for r in group.drain(..) {
            sizes.push(r.appends.len());
            replies.push(r.reply);
            appends.extend(r.appends);
        }
        match append_group(&db, &appends).await {
            Ok(mut positions) => {
                for (reply, n) in replies.into_iter().zip(sizes) {
                    let rest = positions.split_off(n);
                    let _ = reply.send(Ok(std::mem::replace(&mut positions, rest)));
                }
            }
            Err(e) if replies.len() == 1 => {
                if let Some(reply) = replies.into_iter().next() {
                    let _ = reply.send(Err(e));
                }
            }
            // One append lost a race (or its subject was shredded): the others are not to
            // blame, each request goes again alone.
            Err(AppendError::Conflict | AppendError::KeyRace | AppendError::Shredded) => {
                let mut rest = appends.as_slice();
                for (reply, n) in replies.into_iter().zip(sizes) {
                    let (mine, after) = rest.split_at(n);
                    rest = after;
                    let _ = reply.send(append_group(&db, mine).await);
                }
            }
            // Anything else (the store unreachable, the outcome unknown) is every member's
            // answer: retrying could write a command twice.
            Err(e) => {
                let why = e.to_string();
                for reply in replies {
                    let _ = reply.send(Err(AppendError::Failed(why.clone())));
                }
            }
        }
    }
}
