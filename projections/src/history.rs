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

    fn version(&self) -> i64 {
        1
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
                 sequence, event_type, subject_id, actor_id, actor_role, request_id, recorded_at) "
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
                    .push_bind(m.recorded_at);
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
