//! What the compliance report counts beyond KYC, from the history read model (one row per
//! event, no content) and the record read models: reads of personal data by staff member and
//! by person, erasure requests and legal holds.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use store::{with_db, Db};

use crate::ProjectionError;

/// One staff member's reads of personal data in a period.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct Reader {
    pub actor_id: String,
    pub actor_role: String,
    pub reads: i64,
    /// Different people (records) read.
    pub people: i64,
}

/// Reads in `[from, to)` by staff member (of `branch`, when given), who read the most people
/// first (at most `limit`).
pub async fn readers(
    db: &Db,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    branch: Option<&str>,
    limit: i64,
) -> Result<Vec<Reader>, ProjectionError> {
    Ok(with_db!(db, pool => {
        sqlx::query_as::<_, Reader>(
            "SELECT actor_id, MIN(actor_role) AS actor_role, COUNT(*) AS reads,
                    COUNT(DISTINCT subject_id) AS people
               FROM event_history
              WHERE event_type = 'PiiViewed' AND recorded_at >= $1 AND recorded_at < $2
                AND ($4 IS NULL OR actor_id IN (SELECT user_id FROM users WHERE branch = $4))
              GROUP BY actor_id
              ORDER BY people DESC, reads DESC, actor_id
              LIMIT $3",
        )
        .bind(from)
        .bind(to)
        .bind(limit)
        .bind(branch)
        .fetch_all(pool)
        .await?
    }))
}

/// All reads in `[from, to)`: (reads, staff members who read, people read).
pub async fn reads_in(
    db: &Db,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<(i64, i64, i64), ProjectionError> {
    Ok(with_db!(db, pool => {
        sqlx::query_as(
            "SELECT COUNT(*), COUNT(DISTINCT actor_id), COUNT(DISTINCT subject_id)
               FROM event_history
              WHERE event_type = 'PiiViewed' AND recorded_at >= $1 AND recorded_at < $2",
        )
        .bind(from)
        .bind(to)
        .fetch_one(pool)
        .await?
    }))
}

/// One read of a person's data.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct Read {
    pub recorded_at: DateTime<Utc>,
    pub actor_id: String,
    pub actor_role: String,
    /// The record read (the person's lead or client).
    pub subject_id: String,
    /// What was shown: profile, history, as_of, export, document, duplicate_match.
    pub detail: Option<String>,
}

/// The reads of `records` (one person's lead and client records), newest first, at most
/// `limit`, and how many there are in all.
pub async fn reads_of(
    db: &Db,
    records: &[String],
    limit: i64,
) -> Result<(Vec<Read>, i64), ProjectionError> {
    let list = serde_json::to_string(records).expect("ids serialize");
    let member = crate::schema::member_of_db(db, "subject_id", 1);
    let rows = format!(
        "SELECT recorded_at, actor_id, actor_role, subject_id, detail FROM event_history
          WHERE event_type = 'PiiViewed' AND {member}
          ORDER BY position DESC LIMIT $2"
    );
    let count =
        format!("SELECT COUNT(*) FROM event_history WHERE event_type = 'PiiViewed' AND {member}");
    Ok(with_db!(db, pool => {
        let reads = sqlx::query_as::<_, Read>(&rows)
            .bind(&list)
            .bind(limit)
            .fetch_all(pool)
            .await?;
        let total: i64 = sqlx::query_scalar(&count).bind(&list).fetch_one(pool).await?;
        (reads, total)
    }))
}

/// How many events of each of `types` were recorded in `[from, to)`.
pub async fn events_in(
    db: &Db,
    types: &[&str],
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<BTreeMap<String, i64>, ProjectionError> {
    let list = serde_json::to_string(types).expect("types serialize");
    let sql = format!(
        "SELECT event_type, COUNT(*) FROM event_history
          WHERE {} AND recorded_at >= $2 AND recorded_at < $3
          GROUP BY event_type",
        crate::schema::member_of_db(db, "event_type", 1)
    );
    let rows: Vec<(String, i64)> = with_db!(db, pool => {
        sqlx::query_as(&sql).bind(&list).bind(from).bind(to).fetch_all(pool).await?
    });
    let mut out: BTreeMap<String, i64> = types.iter().map(|t| (t.to_string(), 0)).collect();
    out.extend(rows);
    Ok(out)
}

/// A legal hold in force: the record it is on and since when.
#[derive(Debug, Clone, PartialEq)]
pub struct Hold {
    pub aggregate_type: String,
    pub aggregate_id: String,
    pub since: DateTime<Utc>,
}

/// The legal holds in force at `at`: records whose last hold event by then placed one.
pub async fn holds_at(db: &Db, at: DateTime<Utc>) -> Result<Vec<Hold>, ProjectionError> {
    let rows: Vec<(String, String, String, DateTime<Utc>)> = with_db!(db, pool => {
        sqlx::query_as(
            "SELECT aggregate_type, aggregate_id, event_type, recorded_at FROM event_history
              WHERE event_type IN ('LegalHoldPlaced', 'LegalHoldLifted') AND recorded_at <= $1
              ORDER BY position",
        )
        .bind(at)
        .fetch_all(pool)
        .await?
    });
    let mut last: BTreeMap<(String, String), Option<DateTime<Utc>>> = BTreeMap::new();
    for (t, id, event, when) in rows {
        let placed = event == "LegalHoldPlaced";
        last.insert((t, id), placed.then_some(when));
    }
    Ok(last
        .into_iter()
        .filter_map(|((aggregate_type, aggregate_id), since)| {
            since.map(|since| Hold {
                aggregate_type,
                aggregate_id,
                since,
            })
        })
        .collect())
}

/// People whose erasure was asked for and waits (restricted, not yet erased): (leads, clients).
pub async fn erasures_waiting(db: &Db) -> Result<(i64, i64), ProjectionError> {
    Ok(with_db!(db, pool => {
        let leads: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM leads WHERE restricted")
            .fetch_one(pool)
            .await?;
        let clients: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM clients WHERE restricted")
            .fetch_one(pool)
            .await?;
        (leads, clients)
    }))
}
