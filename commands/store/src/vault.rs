//! The vault: what the log refers to but does not hold, exported beside it and restored with it.
//!
//! Subject keys wrapped by the master key (a shredded person's row has no key, and stays so),
//! KYC document files sealed with their person's key, webhook secrets sealed with the master
//! key, and blind indexes (keyed HMACs) of PANs and lead contacts. Besides them, in the clear:
//! staff sign-in e-mail addresses and webhook URLs; recorded prices, the notification outbox
//! (no personal data) and where the notifications stood. One JSON line per row: `{"table": "...", "row": {column: value}}`, bytes in base64,
//! times in RFC 3339; the same on both stores.

use base64::Engine;
use chrono::{DateTime, SecondsFormat, Utc};
use futures::TryStreamExt;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use sqlx::Row;

use crate::db::{Db, StoreError};
use crate::with_db;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Text,
    Int,
    Bool,
    /// `timestamptz` on Postgres, text on SQLite.
    Time,
    Bytes,
    Json,
}

use Kind::*;

struct Table {
    name: &'static str,
    /// Which rows (a SQL condition), `""` for all.
    only: &'static str,
    order: &'static str,
    columns: &'static [(&'static str, Kind)],
}

/// The vault's tables, in the order they are exported and restored.
const TABLES: &[Table] = &[
    Table {
        only: "",
        name: "subject_keys",
        order: "subject_id",
        columns: &[
            ("subject_id", Text),
            ("wrapped_key", Text),
            ("created_at", Time),
            ("shredded_at", Time),
        ],
    },
    Table {
        only: "",
        name: "user_emails",
        order: "email",
        columns: &[("email", Text), ("user_id", Text), ("created_at", Text)],
    },
    Table {
        only: "",
        name: "client_pans",
        order: "pan_index",
        columns: &[
            ("pan_index", Text),
            ("client_id", Text),
            ("created_at", Text),
        ],
    },
    Table {
        only: "",
        name: "lead_contacts",
        order: "contact_index",
        columns: &[
            ("contact_index", Text),
            ("lead_id", Text),
            ("created_at", Text),
        ],
    },
    Table {
        only: "",
        name: "client_documents",
        order: "document_id",
        columns: &[
            ("document_id", Text),
            ("client_id", Text),
            ("content", Bytes),
            ("created_at", Text),
        ],
    },
    Table {
        only: "",
        name: "prices",
        order: "isin, on_date, source",
        columns: &[
            ("isin", Text),
            ("on_date", Text),
            ("source", Text),
            ("price", Text),
            ("quoted_at", Text),
            ("recorded_by", Text),
            ("recorded_at", Text),
        ],
    },
    Table {
        only: "",
        name: "webhook_subscriptions",
        order: "id",
        columns: &[
            ("id", Text),
            ("url", Text),
            ("event_types", Text),
            ("secret", Text),
            ("description", Text),
            ("active", Bool),
            ("created_at", Time),
            ("created_by", Text),
            ("removed_at", Time),
            ("personal_data", Bool),
        ],
    },
    Table {
        only: "",
        name: "notification_outbox",
        order: "id",
        columns: &[
            ("id", Text),
            ("dedupe_key", Text),
            ("channel", Text),
            ("template", Text),
            ("template_version", Int),
            ("recipient_kind", Text),
            ("recipient_id", Text),
            ("event_position", Int),
            ("event_type", Text),
            ("transactional", Bool),
            ("status", Text),
            ("attempts", Int),
            ("next_attempt_at", Time),
            ("claimed_at", Time),
            ("claim_token", Text),
            ("created_at", Time),
            ("sent_at", Time),
            ("retried_at", Time),
            ("last_error", Text),
            ("data", Json),
        ],
    },
    // Where the notifications stood: a restore goes on deciding from there (what was decided
    // is in the outbox above).
    Table {
        only: "WHERE name = 'notifications'",
        name: "projection_checkpoints",
        order: "name",
        columns: &[("name", Text), ("position", Int)],
    },
];

/// One exported row.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VaultRow {
    pub table: String,
    pub row: Map<String, Value>,
}

#[derive(Debug, thiserror::Error)]
pub enum VaultError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("vault line {line}: {problem}")]
    Line { line: u64, problem: String },
    #[error("{0}")]
    Io(String),
}

impl From<sqlx::Error> for VaultError {
    fn from(e: sqlx::Error) -> Self {
        VaultError::Store(StoreError::Database(e))
    }
}

fn time_text(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::AutoSi, true)
}

/// Sends every row of the vault to `out`, table by table, all read in one transaction (one
/// snapshot of the store); answers how many.
pub async fn export(
    db: &Db,
    mut out: impl FnMut(VaultRow) -> Result<(), String>,
) -> Result<u64, VaultError> {
    let mut n = 0u64;
    with_db!(db, pool => {
        let mut tx = pool.begin().await?;
        if matches!(db, Db::Postgres(_)) {
            sqlx::query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
                .execute(&mut *tx)
                .await?;
        }
        for table in TABLES {
            let names: Vec<&str> = table.columns.iter().map(|(c, _)| *c).collect();
            let sql = format!(
                "SELECT {} FROM {} {} ORDER BY {}",
                names.join(", "),
                table.name,
                table.only,
                table.order
            );
            let mut rows = sqlx::query(&sql).fetch(&mut *tx);
            while let Some(row) = rows.try_next().await? {
                let mut cells = Map::new();
                for (i, (column, kind)) in table.columns.iter().enumerate() {
                    let v = match kind {
                        Text => row.try_get::<Option<String>, _>(i)?.map(Value::from),
                        Int => row.try_get::<Option<i64>, _>(i)?.map(Value::from),
                        Bool => row.try_get::<Option<bool>, _>(i)?.map(Value::from),
                        Time => row
                            .try_get::<Option<DateTime<Utc>>, _>(i)?
                            .map(|t| Value::from(time_text(t))),
                        Bytes => row.try_get::<Option<Vec<u8>>, _>(i)?.map(|b| {
                            Value::from(base64::engine::general_purpose::STANDARD.encode(b))
                        }),
                        Json => row.try_get::<Option<Value>, _>(i)?,
                    };
                    cells.insert(column.to_string(), v.unwrap_or(Value::Null));
                }
                out(VaultRow {
                    table: table.name.to_string(),
                    row: cells,
                })
                .map_err(VaultError::Io)?;
                n += 1;
            }
        }
        tx.commit().await?;
    });
    Ok(n)
}

/// A cell of a restored row, typed for binding.
enum Cell {
    Text(Option<String>),
    Int(Option<i64>),
    Bool(Option<bool>),
    Time(Option<DateTime<Utc>>),
    Bytes(Option<Vec<u8>>),
    Json(Option<Value>),
}

fn cell(kind: Kind, v: &Value) -> Result<Cell, String> {
    if v.is_null() {
        return Ok(match kind {
            Text => Cell::Text(None),
            Int => Cell::Int(None),
            Bool => Cell::Bool(None),
            Time => Cell::Time(None),
            Bytes => Cell::Bytes(None),
            Json => Cell::Json(None),
        });
    }
    let text = || v.as_str().ok_or_else(|| format!("{v} is not text"));
    Ok(match kind {
        Text => Cell::Text(Some(text()?.to_string())),
        Int => Cell::Int(Some(
            v.as_i64().ok_or_else(|| format!("{v} is not an integer"))?,
        )),
        Bool => Cell::Bool(Some(
            v.as_bool()
                .ok_or_else(|| format!("{v} is not true or false"))?,
        )),
        Time => Cell::Time(Some(
            DateTime::parse_from_rfc3339(text()?)
                .map_err(|e| format!("{v} is not an RFC 3339 time: {e}"))?
                .with_timezone(&Utc),
        )),
        Bytes => Cell::Bytes(Some(
            base64::engine::general_purpose::STANDARD
                .decode(text()?)
                .map_err(|e| format!("not base64: {e}"))?,
        )),
        Json => Cell::Json(Some(v.clone())),
    })
}

/// A parsed row, checked against its table: the insert statement and its cells.
pub struct Checked {
    table: &'static Table,
    cells: Vec<Cell>,
}

impl Checked {
    pub fn table(&self) -> &'static str {
        self.table.name
    }

    fn text(&self, column: &str) -> Option<&str> {
        let i = self.table.columns.iter().position(|(c, _)| *c == column)?;
        match &self.cells[i] {
            Cell::Text(Some(t)) => Some(t),
            _ => None,
        }
    }

    fn int(&self, column: &str) -> Option<i64> {
        let i = self.table.columns.iter().position(|(c, _)| *c == column)?;
        match &self.cells[i] {
            Cell::Int(v) => *v,
            _ => None,
        }
    }

    /// The record a row belongs to (aggregate type and id), for rows that exist for one: a
    /// reservation, a document file, a subscription's secret.
    pub fn record(&self) -> Option<(&'static str, &str)> {
        match self.table.name {
            "user_emails" => Some(("user", self.text("user_id")?)),
            "client_pans" | "client_documents" => Some(("client", self.text("client_id")?)),
            "lead_contacts" => Some(("lead", self.text("lead_id")?)),
            "webhook_subscriptions" => Some(("webhook_subscription", self.text("id")?)),
            _ => None,
        }
    }

    /// The log position an outbox message was decided from.
    pub fn event_position(&self) -> Option<i64> {
        (self.table.name == "notification_outbox")
            .then(|| self.int("event_position"))
            .flatten()
    }

    /// Where the notifications stood (the vault's `projection_checkpoints` row).
    pub fn notifications_position(&self) -> Option<i64> {
        (self.table.name == "projection_checkpoints")
            .then(|| self.int("position"))
            .flatten()
    }

    /// The subject and wrapped key of a `subject_keys` row.
    pub fn subject_key(&self) -> Option<(&str, Option<&str>)> {
        match (self.table.name, &self.cells[..]) {
            ("subject_keys", [Cell::Text(Some(s)), Cell::Text(k), ..]) => {
                Some((s.as_str(), k.as_deref()))
            }
            _ => None,
        }
    }
}

/// Reads line `line` of a vault file: a known table, exactly its columns, values of their types.
pub fn check(line: u64, text: &str) -> Result<Checked, VaultError> {
    let bad = |problem: String| VaultError::Line { line, problem };
    let row: VaultRow = serde_json::from_str(text).map_err(|e| bad(e.to_string()))?;
    let table = TABLES
        .iter()
        .find(|t| t.name == row.table)
        .ok_or_else(|| bad(format!("{} is not a table of the vault", row.table)))?;
    if let Some(extra) = row
        .row
        .keys()
        .find(|k| !table.columns.iter().any(|(c, _)| c == k))
    {
        return Err(bad(format!("{} has no column {extra}", table.name)));
    }
    let cells = table
        .columns
        .iter()
        .map(|(column, kind)| {
            let v = row.row.get(*column).unwrap_or(&Value::Null);
            cell(*kind, v).map_err(|e| bad(format!("{}.{column}: {e}", table.name)))
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Checked { table, cells })
}

/// Inserts a checked row inside `tx`. The system key replaces the one the store made when
/// first opened (the blind indexes restored with it were made with the original's). The
/// notifications' checkpoint row is not inserted: a restore sets it.
pub async fn insert(tx: &mut crate::Tx, r: &Checked) -> Result<(), VaultError> {
    if r.table.name == "projection_checkpoints" {
        return Ok(());
    }
    if r.subject_key()
        .is_some_and(|(s, _)| s == crate::privacy::SYSTEM_SUBJECT)
    {
        crate::with_tx!(tx, t => {
            sqlx::query("DELETE FROM subject_keys WHERE subject_id = $1")
                .bind(crate::privacy::SYSTEM_SUBJECT)
                .execute(&mut **t)
                .await?;
        });
    }
    let names: Vec<&str> = r.table.columns.iter().map(|(c, _)| *c).collect();
    let marks: Vec<String> = (1..=names.len()).map(|i| format!("${i}")).collect();
    let sql = format!(
        "INSERT INTO {} ({}) VALUES ({})",
        r.table.name,
        names.join(", "),
        marks.join(", ")
    );
    crate::with_tx!(tx, t => {
        let mut q = sqlx::query(&sql);
        for c in &r.cells {
            q = match c {
                Cell::Text(v) => q.bind(v.clone()),
                Cell::Int(v) => q.bind(*v),
                Cell::Bool(v) => q.bind(*v),
                Cell::Time(v) => q.bind(*v),
                Cell::Bytes(v) => q.bind(v.clone()),
                Cell::Json(v) => q.bind(v.clone()),
            };
        }
        q.execute(&mut **t).await?;
    });
    Ok(())
}

/// How many rows the vault's tables hold besides the system key a store makes when first opened
/// (a restore goes into a store where this is 0).
pub async fn rows(db: &Db) -> Result<i64, VaultError> {
    let mut n = 0i64;
    for table in TABLES.iter().filter(|t| t.only.is_empty()) {
        let sql = match table.name {
            "subject_keys" => format!(
                "SELECT COUNT(*) FROM subject_keys WHERE subject_id <> '{}'",
                crate::privacy::SYSTEM_SUBJECT
            ),
            _ => format!("SELECT COUNT(*) FROM {}", table.name),
        };
        let c: i64 = with_db!(db, pool => sqlx::query_scalar(&sql).fetch_one(pool).await?);
        n += c;
    }
    Ok(n)
}
