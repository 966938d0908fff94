//! Reads of the KYC read model: one client's KYC, and the review queue.

use chrono::{DateTime, Duration, Utc};
use serde_json::Value;
use store::privacy::Keyring;
use store::{with_db, Db};
use uuid::Uuid;

use super::KycView;
use crate::clients::query::{push_scope, ClientScope};
use crate::leads::query::{
    bind_all, decode_time_cursor, page, sealed_rows, Bind, Page, QueryError, Sql,
};
use crate::ProjectionError;

pub async fn get(
    db: &Db,
    keyring: &Keyring,
    client_id: Uuid,
) -> Result<Option<KycView>, ProjectionError> {
    let id = client_id.to_string();
    let doc: Option<Value> = with_db!(db, pool => {
        sqlx::query_scalar("SELECT doc FROM kyc_cases WHERE client_id = $1")
            .bind(&id)
            .fetch_optional(pool)
            .await?
    });
    match doc {
        Some(d) => Ok(Some(crate::sealed::open_view(keyring, &id, d).await?)),
        None => Ok(None),
    }
}

/// The clients whose case in hand holds an Aadhaar card with this whole number's blind index.
pub async fn holders_of_aadhaar(db: &Db, index: &str) -> Result<Vec<Uuid>, ProjectionError> {
    let token = format!("% {index} %");
    let ids: Vec<String> = with_db!(db, pool => {
        sqlx::query_scalar("SELECT client_id FROM kyc_cases WHERE aadhaar_tokens LIKE $1")
            .bind(token)
            .fetch_all(pool)
            .await?
    });
    Ok(ids.iter().filter_map(|s| Uuid::parse_str(s).ok()).collect())
}

/// What the review queue is narrowed to.
#[derive(Debug, Clone)]
pub struct QueueFilter {
    /// The clients the caller may see.
    pub scope: ClientScope,
    /// Cases this user made something in are left out (they may not decide them).
    pub reviewer: Uuid,
    pub branch: Option<String>,
    pub client_type: Option<String>,
    /// Only cases waiting at least this many days.
    pub min_age_days: Option<i64>,
    pub limit: i64,
    pub cursor: Option<String>,
}

/// Submitted cases and cases under review, the longest waiting first.
pub async fn queue(
    db: &Db,
    keyring: &Keyring,
    f: &QueueFilter,
    now: DateTime<Utc>,
) -> Result<Page<KycView>, QueryError> {
    let mut sql = Sql::default();
    sql.and("k.status IN ('submitted', 'under_review')".into());
    push_scope(&mut sql, &f.scope);
    let me = sql.bind(Bind::Text(format!("% {} %", f.reviewer)));
    sql.and(format!("k.makers NOT LIKE {me}"));
    if let Some(br) = &f.branch {
        let b = sql.bind(Bind::Text(br.clone()));
        sql.and(format!("c.branch = {b}"));
    }
    if let Some(t) = &f.client_type {
        let b = sql.bind(Bind::Text(t.clone()));
        sql.and(format!("k.client_type = {b}"));
    }
    if let Some(days) = f.min_age_days {
        let b = sql.bind(Bind::Time(now - Duration::days(days)));
        sql.and(format!("k.submitted_at <= {b}"));
    }
    let from = "FROM kyc_cases k JOIN clients c ON c.client_id = k.client_id";
    let count_sql = format!("SELECT COUNT(*) {from}{}", sql.where_clause());
    let count_binds = sql.binds.clone();
    if let Some(c) = &f.cursor {
        let (at, id) = decode_time_cursor(c)?;
        let vb = sql.bind(Bind::Time(at));
        let ib = sql.bind(Bind::Text(id));
        sql.and(format!("(k.submitted_at, k.client_id) > ({vb}, {ib})"));
    }
    let lb = sql.bind(Bind::Int(f.limit + 1));
    let page_sql = format!(
        "SELECT k.client_id, k.doc {from}{} ORDER BY k.submitted_at, k.client_id LIMIT {lb}",
        sql.where_clause()
    );
    let (total, items) = sealed_rows(
        db,
        keyring,
        (&count_sql, &count_binds),
        (&page_sql, &sql.binds),
    )
    .await?;
    Ok(page(items, f.limit, total, |v: &KycView| {
        (
            Value::String(v.submitted_at.unwrap_or(v.opened_at).to_rfc3339()),
            v.client_id.to_string(),
        )
    }))
}

/// Active clients verified once whose re-KYC date, or the expiry of a document of their last
/// verified case, falls on or before `by` (what the alert run looks at).
pub async fn to_check(db: &Db, by: chrono::NaiveDate) -> Result<Vec<Uuid>, ProjectionError> {
    let ids: Vec<String> = with_db!(db, pool => {
        sqlx::query_scalar(
            "SELECT k.client_id FROM kyc_cases k JOIN clients c ON c.client_id = k.client_id
              WHERE c.status = 'active' AND k.next_rekyc_on IS NOT NULL
                AND (k.next_rekyc_on <= $1 OR k.next_expiry <= $1)
              ORDER BY k.client_id",
        )
        .bind(by.to_string())
        .fetch_all(pool)
        .await?
    });
    Ok(ids.iter().filter_map(|s| Uuid::parse_str(s).ok()).collect())
}

/// The KYCs with alerts raised for their case in hand, among the clients the caller may see.
pub async fn with_alerts(
    db: &Db,
    keyring: &Keyring,
    scope: &ClientScope,
    limit: i64,
) -> Result<Vec<KycView>, QueryError> {
    let mut sql = Sql::default();
    sql.and("k.alert_count > 0".into());
    push_scope(&mut sql, scope);
    let lb = sql.bind(Bind::Int(limit));
    let page_sql = format!(
        "SELECT k.client_id, k.doc FROM kyc_cases k JOIN clients c ON c.client_id = k.client_id{}
          ORDER BY k.updated_at DESC LIMIT {lb}",
        sql.where_clause()
    );
    let docs: Vec<(String, Value)> = with_db!(db, pool => {
        bind_all!(sqlx::query_as(&page_sql), &sql.binds).fetch_all(pool).await?
    });
    let mut items = Vec::with_capacity(docs.len());
    for (id, d) in docs {
        items.push(crate::sealed::open_view(keyring, &id, d).await?);
    }
    Ok(items)
}
