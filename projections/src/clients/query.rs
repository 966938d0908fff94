//! Reads of the client list read model.

use serde_json::Value;
use store::privacy::Keyring;
use store::{with_db, Db};
use uuid::Uuid;

use super::{normalise_number, open_view, ClientView};
use crate::leads::query::{
    bind_all, decode_time_cursor, page, sealed_rows, Bind, Page, QueryError, Sql,
};
use crate::leads::words;
use crate::ProjectionError;
pub use domain::access::ClientScope;

/// Narrows a query of the clients table to `scope`.
pub(crate) fn push_scope(sql: &mut Sql, scope: &ClientScope) {
    match scope {
        ClientScope::All => {}
        ClientScope::Manager(m) => {
            let b = sql.bind(Bind::Text(m.to_string()));
            sql.and(format!("relationship_manager = {b}"));
        }
        ClientScope::Branch(br) => {
            let b = sql.bind(Bind::Text(br.clone()));
            sql.and(format!("branch = {b}"));
        }
        ClientScope::Nothing => sql.and("1 = 0".into()),
    }
}

#[derive(Debug, Clone)]
pub struct ClientFilter {
    pub scope: ClientScope,
    /// Leave people whose processing is restricted out of searches (sales roles).
    pub search_skips_restricted: bool,
    /// `active`, `closed` or `erased`.
    pub status: Option<String>,
    pub branch: Option<String>,
    pub relationship_manager: Option<Uuid>,
    /// `retail`, `affluent`, `hni` or `ultra_hni`.
    pub segment: Option<String>,
    /// The status of the client's KYC case (clients without a case never match).
    pub kyc_status: Option<String>,
    /// A PAN, e-mail address or phone number matches exactly; other text matches clients
    /// whose name or address contains every word.
    pub text: Option<String>,
    pub document_number: Option<String>,
    pub limit: i64,
    pub cursor: Option<String>,
}

pub async fn get(
    db: &Db,
    keyring: &Keyring,
    client_id: Uuid,
) -> Result<Option<ClientView>, ProjectionError> {
    let id = client_id.to_string();
    let doc: Option<Value> = with_db!(db, pool => {
        sqlx::query_scalar("SELECT doc FROM clients WHERE client_id = $1")
            .bind(&id)
            .fetch_optional(pool)
            .await?
    });
    match doc {
        Some(d) => Ok(Some(open_view(keyring, &id, d).await?)),
        None => Ok(None),
    }
}

/// The clients holding a document with this number (by its blind index), whoever may see them.
pub async fn holders_of_document_number(
    db: &Db,
    keyring: &Keyring,
    number: &str,
) -> Result<Vec<Uuid>, ProjectionError> {
    let token = format!(
        "% {} %",
        keyring.blind_index("document_number", &normalise_number(number))
    );
    let ids: Vec<String> = with_db!(db, pool => {
        sqlx::query_scalar("SELECT client_id FROM clients WHERE document_tokens LIKE $1")
            .bind(token)
            .fetch_all(pool)
            .await?
    });
    Ok(ids.iter().filter_map(|s| Uuid::parse_str(s).ok()).collect())
}

/// Newest first, by keyset cursor.
pub async fn list(
    db: &Db,
    keyring: &Keyring,
    f: &ClientFilter,
) -> Result<Page<ClientView>, QueryError> {
    let mut sql = Sql::default();
    push_scope(&mut sql, &f.scope);
    match &f.status {
        Some(s) => {
            let b = sql.bind(Bind::Text(s.clone()));
            sql.and(format!("status = {b}"));
        }
        // Erased people leave the default list (`status=erased` lists them).
        None => {
            let b = sql.bind(Bind::Text("erased".into()));
            sql.and(format!("status <> {b}"));
        }
    }
    if let Some(br) = &f.branch {
        let b = sql.bind(Bind::Text(br.clone()));
        sql.and(format!("branch = {b}"));
    }
    if let Some(m) = f.relationship_manager {
        let b = sql.bind(Bind::Text(m.to_string()));
        sql.and(format!("relationship_manager = {b}"));
    }
    if let Some(s) = &f.segment {
        let b = sql.bind(Bind::Text(s.clone()));
        sql.and(format!("segment = {b}"));
    }
    if let Some(s) = &f.kyc_status {
        let b = sql.bind(Bind::Text(s.clone()));
        sql.and(format!(
            "client_id IN (SELECT k.client_id FROM kyc_cases k WHERE k.status = {b})"
        ));
    }
    let searching =
        f.text.as_deref().is_some_and(|t| !t.trim().is_empty()) || f.document_number.is_some();
    if searching && f.search_skips_restricted {
        let b = sql.bind(Bind::Bool(false));
        sql.and(format!("restricted = {b}"));
    }
    if let Some(text) = f.text.as_deref().filter(|t| !t.trim().is_empty()) {
        use domain::values::{Email, Pan, Phone};
        if let Ok(pan) = Pan::parse(text) {
            let b = sql.bind(Bind::Text(keyring.blind_index("pan", pan.as_str())));
            sql.and(format!("pan_index = {b}"));
        } else if let Ok(email) = Email::parse(text) {
            let b = sql.bind(Bind::Text(keyring.blind_index("email", email.as_str())));
            sql.and(format!("email_index = {b}"));
        } else if let Ok(phone) = Phone::parse(text) {
            let b = sql.bind(Bind::Text(keyring.blind_index("phone", phone.as_str())));
            sql.and(format!("phone_index = {b}"));
        } else {
            let ws = words(text);
            if ws.is_empty() {
                sql.and("1 = 0".into());
            }
            // A whole word of the name or address, or (three letters or more) the beginning
            // of a word of the name.
            for w in ws {
                let token = format!("% {} %", keyring.blind_index("word", &w));
                let b = sql.bind(Bind::Text(token));
                if w.chars().count() >= crate::leads::PREFIX_MIN {
                    let prefix = format!("% {} %", keyring.blind_index("prefix", &w));
                    let p = sql.bind(Bind::Text(prefix));
                    sql.and(format!(
                        "(search_tokens LIKE {b} OR search_tokens LIKE {p})"
                    ));
                } else {
                    sql.and(format!("search_tokens LIKE {b}"));
                }
            }
        }
    }
    if let Some(n) = &f.document_number {
        let token = format!(
            "% {} %",
            keyring.blind_index("document_number", &normalise_number(n))
        );
        let b = sql.bind(Bind::Text(token));
        sql.and(format!("document_tokens LIKE {b}"));
    }
    let count_sql = format!("SELECT COUNT(*) FROM clients{}", sql.where_clause());
    let count_binds = sql.binds.clone();
    if let Some(c) = &f.cursor {
        let (at, id) = decode_time_cursor(c)?;
        let vb = sql.bind(Bind::Time(at));
        let ib = sql.bind(Bind::Text(id));
        sql.and(format!("(created_at, client_id) < ({vb}, {ib})"));
    }
    let lb = sql.bind(Bind::Int(f.limit + 1));
    let page_sql = format!(
        "SELECT client_id, doc FROM clients{} ORDER BY created_at DESC, client_id DESC LIMIT {lb}",
        sql.where_clause()
    );
    let (total, items) = sealed_rows(
        db,
        keyring,
        (&count_sql, &count_binds),
        (&page_sql, &sql.binds),
    )
    .await?;
    Ok(page(items, f.limit, total, |v| {
        (
            Value::String(v.created_at.to_rfc3339()),
            v.client_id.to_string(),
        )
    }))
}

/// Clients the retention run looks at: closed and not erased (documents or the whole record
/// may be due), or erased with their key perhaps still present (an interrupted shred).
/// Each with whether erasure was asked for.
pub async fn retention_watch(db: &Db) -> Result<Vec<(Uuid, bool)>, ProjectionError> {
    let ids: Vec<(String, bool)> = with_db!(db, pool => {
        sqlx::query_as(
            "SELECT c.client_id, c.restricted FROM clients c
               LEFT JOIN subject_keys k ON k.subject_id = c.client_id
              WHERE c.retention_watch AND (c.status <> 'erased' OR k.wrapped_key IS NOT NULL)
              ORDER BY c.client_id",
        )
        .fetch_all(pool)
        .await?
    });
    Ok(ids
        .iter()
        .filter_map(|(s, r)| Some((Uuid::parse_str(s).ok()?, *r)))
        .collect())
}

/// Active clients with no activity on or after `cutoff`: neither onboarded, reactivated or
/// reopened since, nor a trade dated since. Each with the day of their last activity.
pub async fn dormant(
    db: &Db,
    cutoff: chrono::NaiveDate,
) -> Result<Vec<(Uuid, chrono::NaiveDate)>, ProjectionError> {
    let cutoff = cutoff.to_string();
    let rows: Vec<(String, String, Option<String>)> = with_db!(db, pool => {
        sqlx::query_as(
            "SELECT c.client_id, c.activity_on,
                    (SELECT MAX(t.trade_date) FROM portfolio_trades t
                      WHERE t.client_id = c.client_id) AS last_trade
               FROM clients c
              WHERE c.status = 'active' AND c.activity_on < $1
              ORDER BY c.client_id",
        )
        .bind(&cutoff)
        .fetch_all(pool)
        .await?
    });
    Ok(rows
        .into_iter()
        .filter_map(|(id, since, trade)| {
            let last = trade.map_or(since.clone(), |t| t.max(since));
            (last < cutoff).then_some(())?;
            Some((
                Uuid::parse_str(&id).ok()?,
                chrono::NaiveDate::parse_from_str(&last, "%Y-%m-%d").ok()?,
            ))
        })
        .collect())
}

/// Every open client's segment and declared net-worth band, for the segment review (not of
/// people who asked for erasure: they are not profiled).
pub async fn segments(db: &Db) -> Result<Vec<(Uuid, String, Option<String>)>, ProjectionError> {
    let rows: Vec<(String, String, Option<String>)> = with_db!(db, pool => {
        sqlx::query_as(
            "SELECT client_id, segment, net_worth FROM clients
              WHERE status NOT IN ('closed', 'erased') AND NOT restricted ORDER BY client_id",
        )
        .fetch_all(pool)
        .await?
    });
    Ok(rows
        .into_iter()
        .filter_map(|(id, s, n)| Some((Uuid::parse_str(&id).ok()?, s, n)))
        .collect())
}

/// An open follow-up of a client, as the due list finds it.
#[derive(Debug, Clone, PartialEq)]
pub struct ClientFollowUpRow {
    pub follow_up_id: Uuid,
    pub client_id: Uuid,
    pub due_at: chrono::DateTime<chrono::Utc>,
}

/// Open follow-ups of clients within `scope` (of one manager when asked) in `window`, soonest
/// first, by keyset cursor.
pub async fn due_follow_ups(
    db: &Db,
    scope: &ClientScope,
    manager: Option<Uuid>,
    window: crate::leads::query::DueWindow,
    now: chrono::DateTime<chrono::Utc>,
    limit: i64,
    cursor: Option<&str>,
) -> Result<Page<ClientFollowUpRow>, QueryError> {
    let mut sql = Sql::default();
    push_scope(&mut sql, scope);
    if let Some(m) = manager {
        let b = sql.bind(Bind::Text(m.to_string()));
        sql.and(format!("relationship_manager = {b}"));
    }
    crate::leads::query::push_due(&mut sql, "due_at", window, now);
    let count_sql = format!(
        "SELECT COUNT(*) FROM client_follow_ups{}",
        sql.where_clause()
    );
    let count_binds = sql.binds.clone();
    if let Some(c) = cursor {
        let (at, id) = decode_time_cursor(c)?;
        let a = sql.bind(Bind::Time(at));
        let b = sql.bind(Bind::Text(id));
        sql.and(format!("(due_at, follow_up_id) > ({a}, {b})"));
    }
    let lb = sql.bind(Bind::Int(limit + 1));
    let page_sql = format!(
        "SELECT follow_up_id, client_id, due_at FROM client_follow_ups{}
          ORDER BY due_at, follow_up_id LIMIT {lb}",
        sql.where_clause()
    );
    type Row = (String, String, chrono::DateTime<chrono::Utc>);
    let (total, rows): (i64, Vec<Row>) = with_db!(db, pool => {
        let total: i64 = bind_all!(sqlx::query_scalar(&count_sql), &count_binds)
            .fetch_one(pool)
            .await?;
        let rows: Vec<Row> = bind_all!(sqlx::query_as(&page_sql), &sql.binds)
            .fetch_all(pool)
            .await?;
        (total, rows)
    });
    let items = rows
        .into_iter()
        .filter_map(|(f, c, due_at)| {
            Some(ClientFollowUpRow {
                follow_up_id: Uuid::parse_str(&f).ok()?,
                client_id: Uuid::parse_str(&c).ok()?,
                due_at,
            })
        })
        .collect();
    Ok(page(items, limit, total, |r| {
        (
            Value::String(r.due_at.to_rfc3339()),
            r.follow_up_id.to_string(),
        )
    }))
}
