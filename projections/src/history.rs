//! Who did what, when: one row per event with its metadata, for `GET /api/history` and for the
//! "who looked at this person" part of a data-subject export.

use chrono::{DateTime, Utc};
use futures::future::BoxFuture;
use serde::Serialize;
use store::{with_db, Db, EventMetadata};

use crate::{Projection, ProjectionError, StoredEvent, Tx};

pub const NAME: &str = "history";

pub struct HistoryProjection;

impl Projection for HistoryProjection {
    fn name(&self) -> &'static str {
        NAME
    }

    // 2: what each read of personal data showed (`detail`).
    fn version(&self) -> i64 {
        2
    }

    fn ddl(&self) -> &'static str {
        include_str!("../../migrations/read_models/history.sql")
    }

    fn tables(&self) -> &'static [&'static str] {
        &["event_history"]
    }

    fn apply<'a>(
        &'a self,
        tx: &'a mut Tx,
        suffix: &'a str,
        events: &'a [StoredEvent],
    ) -> BoxFuture<'a, Result<(), ProjectionError>> {
        Box::pin(apply(tx, suffix, events))
    }
}

/// What a read of personal data showed (`profile`, `document`, `export`, ...).
fn detail_of(e: &StoredEvent) -> Option<String> {
    e.payload
        .get("PiiViewed")
        .and_then(|p| p.get("kind"))
        .and_then(|k| k.as_str())
        .map(str::to_string)
}

/// The person an event is about, if any.
fn subject_of(e: &StoredEvent) -> Option<String> {
    match e.aggregate_type.as_str() {
        t if domain::kinds::kind(t).is_some_and(|k| k.data_subject) => Some(e.aggregate_id.clone()),
        "pii_access" => e
            .payload
            .get("PiiViewed")
            .and_then(|p| p.get("subject_id"))
            .and_then(|s| s.as_str())
            .map(str::to_string),
        _ => None,
    }
}

async fn apply(tx: &mut Tx, suffix: &str, events: &[StoredEvent]) -> Result<(), ProjectionError> {
    for chunk in events.chunks(500) {
        let rows: Vec<(&StoredEvent, EventMetadata)> = chunk
            .iter()
            .map(|e| (e, EventMetadata::from_json(&e.metadata)))
            .collect();
        crate::with_tx!(tx, t => {
            let mut qb = sqlx::QueryBuilder::new(format!(
                "INSERT INTO event_history{suffix} (position, aggregate_type, aggregate_id,
                 sequence, event_type, subject_id, actor_id, actor_role, request_id, recorded_at, detail) "
            ));
            qb.push_values(&rows, |mut b, (e, m)| {
                b.push_bind(e.position)
                    .push_bind(e.aggregate_type.clone())
                    .push_bind(e.aggregate_id.clone())
                    .push_bind(e.sequence)
                    .push_bind(e.event_type.clone())
                    .push_bind(subject_of(e))
                    .push_bind(m.actor_id.clone())
                    .push_bind(m.actor_role.clone())
                    .push_bind(m.request_id.clone())
                    .push_bind(m.recorded_at)
                    .push_bind(detail_of(e));
            });
            qb.push(" ON CONFLICT (position) DO NOTHING");
            qb.build().execute(&mut **t).await?;
        });
    }
    Ok(())
}

#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
pub struct HistoryRow {
    pub position: i64,
    pub aggregate_type: String,
    pub aggregate_id: String,
    pub sequence: i64,
    pub event_type: String,
    pub subject_id: Option<String>,
    pub actor_id: String,
    pub actor_role: String,
    pub request_id: String,
    pub recorded_at: DateTime<Utc>,
}

#[derive(Debug, Default, Clone)]
pub struct HistoryFilter {
    pub actor_id: Option<String>,
    pub aggregate_type: Option<String>,
    pub aggregate_id: Option<String>,
    pub subject_id: Option<String>,
    pub event_type: Option<String>,
    pub from: Option<DateTime<Utc>>,
    pub to: Option<DateTime<Utc>>,
    /// Only rows with a position above this (the previous page's last).
    pub after: Option<i64>,
    pub limit: i64,
}

impl HistoryFilter {
    /// What is wrong with the filter, field by field: ids that are not UUIDs, a record kind
    /// or an event type no kind stores, a time range that ends before it starts, a page size
    /// out of 1 to 500.
    pub fn check(&self) -> Vec<(&'static str, String)> {
        let mut wrong = Vec::new();
        for (field, value) in [
            ("actor", &self.actor_id),
            ("aggregate_id", &self.aggregate_id),
            ("subject_id", &self.subject_id),
        ] {
            if value
                .as_ref()
                .is_some_and(|s| uuid::Uuid::parse_str(s).is_err())
            {
                wrong.push((field, "a user or record id (UUID)".into()));
            }
        }
        if self
            .aggregate_type
            .as_ref()
            .is_some_and(|t| domain::kinds::kind(t).is_none())
        {
            let kinds: Vec<&str> = domain::kinds::names().collect();
            wrong.push(("aggregate_type", format!("one of {}", kinds.join(", "))));
        }
        if self
            .event_type
            .as_ref()
            .is_some_and(|t| !domain::kinds::is_event_type(t))
        {
            wrong.push((
                "event_type",
                "not an event type (such as LeadAssigned, PiiViewed or LoginFailed)".into(),
            ));
        }
        if let (Some(a), Some(b)) = (self.from, self.to) {
            if a > b {
                wrong.push(("to", "must not be before from".into()));
            }
        }
        if !(1..=500).contains(&self.limit) {
            wrong.push(("limit", "must be 1 to 500".into()));
        }
        wrong
    }
}

/// The `after` of a page cursor, if it is one this history handed out.
pub fn parse_cursor(cursor: &str) -> Option<i64> {
    cursor.parse::<i64>().ok().filter(|p| *p >= 0)
}

/// One page of history rows, the cursor of the next (if any) and how many match in all.
#[derive(Debug, Clone)]
pub struct HistoryPage {
    pub rows: Vec<HistoryRow>,
    pub next_cursor: Option<String>,
    pub total: i64,
}

/// The page of rows matching `f` (at most `f.limit`, after `f.after`).
pub async fn page(db: &Db, f: &HistoryFilter) -> Result<HistoryPage, ProjectionError> {
    let probe = HistoryFilter {
        limit: f.limit + 1,
        ..f.clone()
    };
    let mut rows = query(db, &probe).await?;
    let total = count(db, f).await?;
    let more = rows.len() as i64 > f.limit;
    rows.truncate(f.limit as usize);
    let next_cursor = more
        .then(|| rows.last().map(|r| r.position.to_string()))
        .flatten();
    Ok(HistoryPage {
        rows,
        next_cursor,
        total,
    })
}

const MATCHES: &str = "($1 IS NULL OR actor_id = $1)
                  AND ($2 IS NULL OR aggregate_type = $2)
                  AND ($3 IS NULL OR aggregate_id = $3)
                  AND ($4 IS NULL OR subject_id = $4)
                  AND ($5 IS NULL OR event_type = $5)
                  AND ($6 IS NULL OR recorded_at >= $6)
                  AND ($7 IS NULL OR recorded_at < $7)";

/// How many history rows match `f` (its page bounds aside).
pub async fn count(db: &Db, f: &HistoryFilter) -> Result<i64, ProjectionError> {
    let sql = format!("SELECT COUNT(*) FROM event_history WHERE {MATCHES}");
    Ok(with_db!(db, pool => {
        sqlx::query_scalar(&sql)
            .bind(f.actor_id.as_deref())
            .bind(f.aggregate_type.as_deref())
            .bind(f.aggregate_id.as_deref())
            .bind(f.subject_id.as_deref())
            .bind(f.event_type.as_deref())
            .bind(f.from)
            .bind(f.to)
            .fetch_one(pool)
            .await?
    }))
}

/// History rows matching `f`, oldest first, at most `f.limit`.
pub async fn query(db: &Db, f: &HistoryFilter) -> Result<Vec<HistoryRow>, ProjectionError> {
    let sql = format!(
        "SELECT position, aggregate_type, aggregate_id, sequence, event_type, subject_id,
                actor_id, actor_role, request_id, recorded_at
           FROM event_history
          WHERE {MATCHES} AND position > $8
          ORDER BY position
          LIMIT $9"
    );
    Ok(with_db!(db, pool => {
        sqlx::query_as::<_, HistoryRow>(&sql)
            .bind(f.actor_id.as_deref())
            .bind(f.aggregate_type.as_deref())
            .bind(f.aggregate_id.as_deref())
            .bind(f.subject_id.as_deref())
            .bind(f.event_type.as_deref())
            .bind(f.from)
            .bind(f.to)
            .bind(f.after.unwrap_or(0))
            .bind(f.limit)
            .fetch_all(pool)
            .await?
    }))
}
