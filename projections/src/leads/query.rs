//! Queries over the lead read model: one lead, the filtered and sorted list with keyset
//! pagination, and agents' follow-up lists.

use chrono::{DateTime, Days, FixedOffset, NaiveTime, TimeZone, Utc};
use domain::lead::{LeadSource, LeadStatus};
use serde_json::Value;
use store::{with_db, Db};
use uuid::Uuid;

use store::privacy::Keyring;

use super::{open_view, words, LeadView};
use crate::ProjectionError;

/// India has one time zone and no daylight saving: "today" for an agent is the IST day.
pub fn ist() -> FixedOffset {
    FixedOffset::east_opt(5 * 3600 + 1800).expect("valid offset")
}

/// The UTC bounds of the IST day that contains `now`.
pub fn ist_day(now: DateTime<Utc>) -> (DateTime<Utc>, DateTime<Utc>) {
    let date = now.with_timezone(&ist()).date_naive();
    let start = ist()
        .from_local_datetime(&date.and_time(NaiveTime::MIN))
        .single()
        .expect("IST has no gaps")
        .with_timezone(&Utc);
    (start, start + Days::new(1))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DueWindow {
    /// Due during today's IST day (earlier today included, even if past).
    Today,
    /// Due before now.
    Overdue,
    /// Due after now.
    Upcoming,
    /// Any open follow-up.
    Any,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LeadSort {
    CreatedAt,
    UpdatedAt,
    Score,
}

impl LeadSort {
    fn column(self) -> &'static str {
        match self {
            LeadSort::CreatedAt => "created_at",
            LeadSort::UpdatedAt => "updated_at",
            LeadSort::Score => "score",
        }
    }
}

pub use domain::access::LeadScope;

pub(crate) fn push_visible(sql: &mut Sql, visible: &Option<LeadScope>) {
    push_visible_on(sql, visible, "assignee")
}

/// [`push_visible`] on the assignee `column` (of a joined table).
pub(crate) fn push_visible_on(sql: &mut Sql, visible: &Option<LeadScope>, column: &str) {
    let Some(v) = visible else { return };
    let mut parts = Vec::new();
    if !v.agents.is_empty() {
        let marks: Vec<String> = v
            .agents
            .iter()
            .map(|a| sql.bind(Bind::Text(a.to_string())))
            .collect();
        parts.push(format!("{column} IN ({})", marks.join(", ")));
    }
    if v.unassigned {
        parts.push(format!("{column} IS NULL"));
    }
    if parts.is_empty() {
        sql.and("1 = 0".into());
    } else {
        sql.and(format!("({})", parts.join(" OR ")));
    }
}

#[derive(Debug, Clone)]
pub struct LeadFilter {
    /// What the caller may see (`None`: everything).
    pub visible: Option<LeadScope>,
    /// Leave people whose processing is restricted out of text and contact searches (for
    /// sales roles: a match would confirm their e-mail address or phone number).
    pub search_skips_restricted: bool,
    pub status: Option<LeadStatus>,
    pub assignee: Option<Uuid>,
    pub unassigned: bool,
    pub source: Option<LeadSource>,
    pub created_from: Option<DateTime<Utc>>,
    pub created_to: Option<DateTime<Utc>>,
    pub follow_up: Option<DueWindow>,
    pub text: Option<String>,
    pub include_archived: bool,
    pub sort: LeadSort,
    pub descending: bool,
    pub limit: i64,
    pub cursor: Option<String>,
    pub now: DateTime<Utc>,
}

#[derive(Debug, Clone)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub next_cursor: Option<String>,
    pub total: i64,
}

#[derive(Debug, thiserror::Error)]
pub enum QueryError {
    #[error("the cursor is not one this list handed out")]
    BadCursor,
    #[error(transparent)]
    Store(#[from] ProjectionError),
}

impl From<sqlx::Error> for QueryError {
    fn from(e: sqlx::Error) -> Self {
        QueryError::Store(ProjectionError::Database(e))
    }
}

/// A value bound to a `$n` placeholder; both stores take the same SQL text.
#[derive(Debug, Clone)]
pub(crate) enum Bind {
    Text(String),
    Int(i64),
    Time(DateTime<Utc>),
    Bool(bool),
}

#[derive(Default)]
pub(crate) struct Sql {
    pub(crate) conditions: Vec<String>,
    pub(crate) binds: Vec<Bind>,
}

impl Sql {
    pub(crate) fn bind(&mut self, b: Bind) -> String {
        self.binds.push(b);
        format!("${}", self.binds.len())
    }

    pub(crate) fn and(&mut self, condition: String) {
        self.conditions.push(condition);
    }

    pub(crate) fn where_clause(&self) -> String {
        if self.conditions.is_empty() {
            String::new()
        } else {
            format!(" WHERE {}", self.conditions.join(" AND "))
        }
    }
}

macro_rules! bind_all {
    ($q:expr, $binds:expr) => {{
        let mut q = $q;
        for b in $binds {
            q = match b {
                Bind::Text(v) => q.bind(v.clone()),
                Bind::Int(v) => q.bind(*v),
                Bind::Time(v) => q.bind(*v),
                Bind::Bool(v) => q.bind(*v),
            };
        }
        q
    }};
}
pub(crate) use bind_all;

/// Opens a read transaction on `pool` that sees one moment throughout (on Postgres, repeatable
/// read; a SQLite read transaction always does), for reads whose parts must agree.
macro_rules! begin_snapshot {
    ($pool:expr, $postgres:expr) => {{
        let mut tx = $pool.begin().await?;
        if $postgres {
            sqlx::query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
                .execute(&mut *tx)
                .await?;
        }
        tx
    }};
}
pub(crate) use begin_snapshot;

/// A row a statement answers on either store.
pub(crate) trait Row:
    Send
    + Unpin
    + for<'r> sqlx::FromRow<'r, sqlx::sqlite::SqliteRow>
    + for<'r> sqlx::FromRow<'r, sqlx::postgres::PgRow>
{
}

impl<T> Row for T where
    T: Send
        + Unpin
        + for<'r> sqlx::FromRow<'r, sqlx::sqlite::SqliteRow>
        + for<'r> sqlx::FromRow<'r, sqlx::postgres::PgRow>
{
}

/// Report statements running at once, across all requests: the rest of the pool stays free
/// for commands and projections.
static REPORT_STATEMENTS: tokio::sync::Semaphore = tokio::sync::Semaphore::const_new(4);

/// The rows `sql` answers with `binds`, on either store: statements of one answer awaited
/// together run side by side, each on its own connection (at most four at once in all).
pub(crate) async fn fetch_rows<T: Row>(
    db: &Db,
    sql: &str,
    binds: &[Bind],
) -> Result<Vec<T>, sqlx::Error> {
    let _turn = REPORT_STATEMENTS
        .acquire()
        .await
        .expect("the semaphore is never closed");
    with_db!(db, pool => bind_all!(sqlx::query_as::<_, T>(sql), binds).fetch_all(pool).await)
}

fn encode_cursor(value: Value, id: &str) -> String {
    hex::encode(serde_json::to_vec(&(value, id)).expect("cursor serializes"))
}

pub(crate) fn decode_cursor(cursor: &str) -> Result<(Value, String), QueryError> {
    let bytes = hex::decode(cursor).map_err(|_| QueryError::BadCursor)?;
    serde_json::from_slice(&bytes).map_err(|_| QueryError::BadCursor)
}

/// A cursor whose sort value is a time: the time and the row's id.
pub(crate) fn decode_time_cursor(cursor: &str) -> Result<(DateTime<Utc>, String), QueryError> {
    let (value, id) = decode_cursor(cursor)?;
    let Value::String(s) = value else {
        return Err(QueryError::BadCursor);
    };
    let at = DateTime::parse_from_rfc3339(&s)
        .map_err(|_| QueryError::BadCursor)?
        .with_timezone(&Utc);
    Ok((at, id))
}

pub async fn get(
    db: &Db,
    keyring: &Keyring,
    lead_id: Uuid,
) -> Result<Option<LeadView>, ProjectionError> {
    let id = lead_id.to_string();
    let doc: Option<Value> = with_db!(db, pool => {
        sqlx::query_scalar("SELECT doc FROM leads WHERE lead_id = $1")
            .bind(&id)
            .fetch_optional(pool)
            .await?
    });
    match doc {
        Some(d) => Ok(Some(open_view(keyring, &id, d).await?)),
        None => Ok(None),
    }
}

/// Search works on keyed blind indexes: an e-mail address or a phone number (in any common
/// form) matches exactly; other text matches leads whose name or notes contain every word.
pub async fn list(
    db: &Db,
    keyring: &Keyring,
    f: &LeadFilter,
) -> Result<Page<LeadView>, QueryError> {
    let mut sql = Sql::default();
    push_visible(&mut sql, &f.visible);
    if !f.include_archived {
        // The default list is of people to work: neither archived nor erased.
        let b = sql.bind(Bind::Bool(false));
        sql.and(format!("archived = {b}"));
        let e = sql.bind(Bind::Bool(false));
        sql.and(format!("erased = {e}"));
    }
    if let Some(s) = f.status {
        let b = sql.bind(Bind::Text(s.as_str().into()));
        sql.and(format!("status = {b}"));
    }
    if let Some(a) = f.assignee {
        let b = sql.bind(Bind::Text(a.to_string()));
        sql.and(format!("assignee = {b}"));
    }
    if f.unassigned {
        sql.and("assignee IS NULL".into());
    }
    if let Some(s) = f.source {
        let b = sql.bind(Bind::Text(s.as_str().into()));
        sql.and(format!("source = {b}"));
    }
    if let Some(t) = f.created_from {
        let b = sql.bind(Bind::Time(t));
        sql.and(format!("created_at >= {b}"));
    }
    if let Some(t) = f.created_to {
        let b = sql.bind(Bind::Time(t));
        sql.and(format!("created_at < {b}"));
    }
    if let Some(w) = f.follow_up {
        push_due(&mut sql, "next_follow_up", w, f.now);
    }
    if let Some(text) = f.text.as_deref().filter(|t| !t.trim().is_empty()) {
        if f.search_skips_restricted {
            let b = sql.bind(Bind::Bool(false));
            sql.and(format!("restricted = {b}"));
        }
        if let Ok(email) = domain::values::Email::parse(text) {
            let b = sql.bind(Bind::Text(keyring.blind_index("email", email.as_str())));
            sql.and(format!("email_index = {b}"));
        } else if let Ok(phone) = domain::values::Phone::parse(text) {
            let b = sql.bind(Bind::Text(keyring.blind_index("phone", phone.as_str())));
            sql.and(format!("phone_index = {b}"));
        } else {
            let ws = words(text);
            if ws.is_empty() {
                sql.and("1 = 0".into());
            }
            // A word matches a whole word of the name or notes, or (three letters or more)
            // the beginning of a word of the name.
            for w in ws {
                let b = sql.bind(Bind::Text(keyring.blind_index("word", &w)));
                if w.chars().count() >= super::view::PREFIX_MIN {
                    let p = sql.bind(Bind::Text(keyring.blind_index("prefix", &w)));
                    sql.and(format!(
                        "lead_id IN (SELECT lead_id FROM lead_search WHERE token IN ({b}, {p}))"
                    ));
                } else {
                    sql.and(format!(
                        "lead_id IN (SELECT lead_id FROM lead_search WHERE token = {b})"
                    ));
                }
            }
        }
    }
    let count_sql = format!("SELECT COUNT(*) FROM leads{}", sql.where_clause());
    let count_binds = sql.binds.clone();

    let col = f.sort.column();
    if let Some(c) = &f.cursor {
        let (value, id) = decode_cursor(c)?;
        let v = match (f.sort, value) {
            (LeadSort::Score, Value::Number(n)) => {
                Bind::Int(n.as_i64().ok_or(QueryError::BadCursor)?)
            }
            (LeadSort::CreatedAt | LeadSort::UpdatedAt, Value::String(s)) => Bind::Time(
                DateTime::parse_from_rfc3339(&s)
                    .map_err(|_| QueryError::BadCursor)?
                    .with_timezone(&Utc),
            ),
            _ => return Err(QueryError::BadCursor),
        };
        let vb = sql.bind(v);
        let ib = sql.bind(Bind::Text(id));
        let op = if f.descending { "<" } else { ">" };
        sql.and(format!("({col}, lead_id) {op} ({vb}, {ib})"));
    }
    let dir = if f.descending { "DESC" } else { "ASC" };
    let lb = sql.bind(Bind::Int(f.limit + 1));
    let page_sql = format!(
        "SELECT lead_id, doc FROM leads{} ORDER BY {col} {dir}, lead_id {dir} LIMIT {lb}",
        sql.where_clause()
    );

    let (total, items): (i64, Vec<LeadView>) = sealed_rows(
        db,
        keyring,
        (&count_sql, &count_binds),
        (&page_sql, &sql.binds),
    )
    .await?;
    Ok(page(items, f.limit, total, |v| {
        let value = match f.sort {
            LeadSort::CreatedAt => Value::String(v.created_at.to_rfc3339()),
            LeadSort::UpdatedAt => Value::String(v.updated_at.to_rfc3339()),
            LeadSort::Score => Value::from(v.score),
        };
        (value, v.lead_id.to_string())
    }))
}

pub(crate) fn push_due(sql: &mut Sql, col: &str, w: DueWindow, now: DateTime<Utc>) {
    match w {
        DueWindow::Today => {
            let (start, end) = ist_day(now);
            let a = sql.bind(Bind::Time(start));
            let b = sql.bind(Bind::Time(end));
            sql.and(format!("{col} >= {a} AND {col} < {b}"));
        }
        DueWindow::Overdue => {
            let a = sql.bind(Bind::Time(now));
            sql.and(format!("{col} < {a}"));
        }
        DueWindow::Upcoming => {
            let a = sql.bind(Bind::Time(now));
            sql.and(format!("{col} >= {a}"));
        }
        DueWindow::Any => sql.and(format!("{col} IS NOT NULL")),
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct FollowUpRow {
    pub follow_up_id: Uuid,
    pub lead_id: Uuid,
    pub lead_name: String,
    pub assignee: Option<Uuid>,
    pub due_at: DateTime<Utc>,
    pub channel: String,
    pub note: Option<String>,
}

#[derive(Debug, Clone)]
pub struct FollowUpFilter {
    /// What the caller may see (`None`: everything).
    pub visible: Option<LeadScope>,
    pub assignee: Option<Uuid>,
    pub window: DueWindow,
    pub limit: i64,
    pub cursor: Option<String>,
    pub now: DateTime<Utc>,
}

type FollowUpTuple = (
    String,
    String,
    String,
    Option<String>,
    DateTime<Utc>,
    String,
    Option<String>,
);

/// Open follow-ups of non-archived leads, soonest first.
pub async fn follow_ups(
    db: &Db,
    keyring: &Keyring,
    f: &FollowUpFilter,
) -> Result<Page<FollowUpRow>, QueryError> {
    let mut sql = Sql::default();
    let open = sql.bind(Bind::Text("open".into()));
    sql.and(format!("state = {open}"));
    let not_archived = sql.bind(Bind::Bool(false));
    sql.and(format!("archived = {not_archived}"));
    // Nobody is to be contacted once their data is erased.
    sql.and("lead_id NOT IN (SELECT lead_id FROM leads WHERE erased)".into());
    push_visible(&mut sql, &f.visible);
    if let Some(a) = f.assignee {
        let b = sql.bind(Bind::Text(a.to_string()));
        sql.and(format!("assignee = {b}"));
    }
    push_due(&mut sql, "due_at", f.window, f.now);
    let count_sql = format!("SELECT COUNT(*) FROM lead_follow_ups{}", sql.where_clause());
    let count_binds = sql.binds.clone();
    if let Some(c) = &f.cursor {
        let (value, id) = decode_cursor(c)?;
        let due = value
            .as_str()
            .and_then(|s| DateTime::parse_from_rfc3339(s).ok())
            .ok_or(QueryError::BadCursor)?
            .with_timezone(&Utc);
        let a = sql.bind(Bind::Time(due));
        let b = sql.bind(Bind::Text(id));
        sql.and(format!("(due_at, follow_up_id) > ({a}, {b})"));
    }
    let lb = sql.bind(Bind::Int(f.limit + 1));
    let page_sql = format!(
        "SELECT follow_up_id, lead_id, lead_name, assignee, due_at, channel, note
           FROM lead_follow_ups{} ORDER BY due_at, follow_up_id LIMIT {lb}",
        sql.where_clause()
    );
    let (total, rows): (i64, Vec<FollowUpTuple>) = with_db!(db, pool => {
        let total: i64 = bind_all!(sqlx::query_scalar(&count_sql), &count_binds).fetch_one(pool).await?;
        let rows: Vec<FollowUpTuple> = bind_all!(sqlx::query_as(&page_sql), &sql.binds).fetch_all(pool).await?;
        (total, rows)
    });
    let parse = |s: &str| Uuid::parse_str(s).map_err(|e| ProjectionError::Event(e.to_string()));
    let mut items = Vec::new();
    for (fid, lid, name, assignee, due_at, channel, note) in rows {
        let note = match note {
            Some(n) => Some(
                keyring
                    .open_text(&lid, &n)
                    .await
                    .map_err(ProjectionError::from)?,
            ),
            None => None,
        };
        items.push(FollowUpRow {
            follow_up_id: parse(&fid)?,
            lead_id: parse(&lid)?,
            lead_name: keyring
                .open_text(&lid, &name)
                .await
                .map_err(ProjectionError::from)?,
            assignee: assignee.as_deref().map(parse).transpose()?,
            due_at,
            channel,
            note,
        });
    }
    Ok(page(items, f.limit, total, |r| {
        (
            Value::String(r.due_at.to_rfc3339()),
            r.follow_up_id.to_string(),
        )
    }))
}

/// A page from rows fetched with `limit + 1`: the extra row only tells that another page
/// follows, and the cursor is the sort key of the last row kept.
/// Runs a list's count and its page query (each with its binds) and opens the page's sealed
/// documents (rows of `(key, doc)`).
pub(crate) async fn sealed_rows<V: crate::sealed::SealedDocument>(
    db: &Db,
    keyring: &Keyring,
    (count_sql, count_binds): (&str, &[Bind]),
    (page_sql, page_binds): (&str, &[Bind]),
) -> Result<(i64, Vec<V>), QueryError> {
    let (total, docs): (i64, Vec<(String, Value)>) = with_db!(db, pool => {
        let total: i64 = bind_all!(sqlx::query_scalar(count_sql), count_binds).fetch_one(pool).await?;
        let docs: Vec<(String, Value)> = bind_all!(sqlx::query_as(page_sql), page_binds).fetch_all(pool).await?;
        (total, docs)
    });
    let mut items = Vec::with_capacity(docs.len());
    for (id, d) in docs {
        items.push(crate::sealed::open_view(keyring, &id, d).await?);
    }
    Ok((total, items))
}

pub(crate) fn page<T>(
    mut items: Vec<T>,
    limit: i64,
    total: i64,
    key: impl Fn(&T) -> (Value, String),
) -> Page<T> {
    let next_cursor = if items.len() as i64 > limit {
        items.truncate(limit as usize);
        items.last().map(|last| {
            let (value, id) = key(last);
            encode_cursor(value, &id)
        })
    } else {
        None
    };
    Page {
        items,
        next_cursor,
        total,
    }
}

/// The assignee of each of `ids` that exists (plain columns: nothing is opened).
pub async fn assignees(
    db: &Db,
    ids: &[Uuid],
) -> Result<std::collections::HashMap<Uuid, Option<Uuid>>, ProjectionError> {
    let mut out = std::collections::HashMap::new();
    for chunk in ids.chunks(500) {
        let list: Vec<String> = chunk.iter().map(Uuid::to_string).collect();
        let list = serde_json::to_string(&list).expect("ids serialize");
        let sql = format!(
            "SELECT lead_id, assignee FROM leads WHERE {}",
            crate::schema::member_of_db(db, "lead_id", 1)
        );
        let rows: Vec<(String, Option<String>)> = with_db!(db, pool => {
            sqlx::query_as(&sql).bind(&list).fetch_all(pool).await?
        });
        for (id, a) in rows {
            if let Ok(id) = Uuid::parse_str(&id) {
                out.insert(id, a.as_deref().and_then(|a| Uuid::parse_str(a).ok()));
            }
        }
    }
    Ok(out)
}
