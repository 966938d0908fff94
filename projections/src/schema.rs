//! Creating read-model tables from their DDL templates, for the live set and for rebuilds.

use store::{with_db, Db};

use crate::{Projection, ProjectionError};

/// The DDL of `projection` for `db`, with tables suffixed by `suffix` and indexes tagged `gen`.
pub fn render(db: &Db, projection: &dyn Projection, suffix: &str, gen: &str) -> String {
    let (ts, json) = match db {
        Db::Sqlite(_) => ("text", "text"),
        Db::Postgres(_) => ("timestamptz", "jsonb"),
    };
    projection
        .ddl()
        .replace("{s}", suffix)
        .replace("{g}", gen)
        .replace("{ts}", ts)
        .replace("{json}", json)
}

pub async fn table_exists(db: &Db, table: &str) -> Result<bool, ProjectionError> {
    let found: Option<String> = match db {
        Db::Sqlite(pool) => {
            sqlx::query_scalar("SELECT name FROM sqlite_master WHERE type = 'table' AND name = $1")
                .bind(table)
                .fetch_optional(pool)
                .await?
        }
        Db::Postgres(pool) => {
            sqlx::query_scalar("SELECT to_regclass($1)::text")
                .bind(table)
                .fetch_one(pool)
                .await?
        }
    };
    Ok(found.is_some())
}

/// Creates the live tables of every projection that lacks them (a fresh database, or a
/// projection added by a newer version), with a checkpoint at the start of the log.
pub async fn ensure_live(
    db: &Db,
    projections: &[std::sync::Arc<dyn Projection>],
) -> Result<(), ProjectionError> {
    for p in projections {
        let mut missing = false;
        for t in p.tables() {
            missing |= !table_exists(db, t).await?;
        }
        let built_by: Option<i64> = with_db!(db, pool => {
            sqlx::query_scalar("SELECT version FROM projection_checkpoints WHERE name = $1")
                .bind(p.name())
                .fetch_optional(pool)
                .await?
        });
        let outdated = built_by != Some(p.version());
        if (missing || outdated) && !p.rebuildable() && crate::log::head(db).await? > 0 {
            // The audit ledger is only ever started on an empty log: rebuilding it over an
            // existing log would sign whatever the log holds now, edits included.
            return Err(ProjectionError::Refused(format!(
                "the {} projection is missing or was built by another version while the log \
                 holds events; it is never rebuilt: restore its tables ({}) and its \
                 projection_checkpoints row from a backup",
                p.name(),
                p.tables().join(", ")
            )));
        }
        if missing || outdated {
            // New tables from zero; the runner fills them from the start of the log.
            let mut script = String::new();
            for t in p.tables() {
                script.push_str(&format!("DROP TABLE IF EXISTS {t};\n"));
            }
            script.push_str(&render(db, p.as_ref(), "", &p.version().to_string()));
            execute_script(db, &script).await?;
            with_db!(db, pool => {
                sqlx::query(
                    "INSERT INTO projection_checkpoints (name, tx_id, position, version, generation)
                     VALUES ($1, 0, 0, $2, $3)
                     ON CONFLICT (name) DO UPDATE SET tx_id = 0, position = 0,
                         version = excluded.version, generation = excluded.generation",
                )
                .bind(p.name())
                .bind(p.version())
                .bind(format!("{}-{}", p.version(), chrono::Utc::now().timestamp_micros()))
                .execute(pool)
                .await?;
            });
            if built_by.is_some() {
                tracing::info!(
                    projection = p.name(),
                    version = p.version(),
                    "read model is outdated; rebuilding from the log"
                );
            }
        }
    }
    Ok(())
}

/// Runs `script` in one transaction that takes the write lock from the start (on SQLite, a
/// deferred one could not upgrade its read of the schema once another connection wrote).
pub async fn execute_script(db: &Db, script: &str) -> Result<(), ProjectionError> {
    let mut tx = crate::Tx::begin(db).await?;
    for stmt in split_statements(script) {
        crate::with_tx!(&mut tx, t => {
            sqlx::query(&stmt).execute(&mut **t).await?;
        });
    }
    tx.commit().await?;
    Ok(())
}

/// Splits a script on `;` at line ends, dropping `--` comment lines.
pub fn split_statements(script: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut current = String::new();
    for line in script.lines() {
        if line.trim_start().starts_with("--") {
            continue;
        }
        current.push_str(line);
        current.push('\n');
        if line.trim_end().ends_with(';') {
            out.push(std::mem::take(&mut current));
        }
    }
    if !current.trim().is_empty() {
        out.push(current);
    }
    out
}

/// [`member_of`] for a query outside a transaction.
pub fn member_of_db(db: &store::Db, column: &str, n: usize) -> String {
    match db {
        store::Db::Sqlite(_) => format!("{column} IN (SELECT value FROM json_each(${n}))"),
        store::Db::Postgres(_) => {
            format!("{column} IN (SELECT json_array_elements_text(${n}::json))")
        }
    }
}

/// `column IN (the JSON array of text bound at ${n})` in the store's SQL: the statement's text
/// is the same whatever the number of values (one cached statement, not one per length).
pub fn member_of(tx: &crate::Tx, column: &str, n: usize) -> String {
    match tx {
        crate::Tx::Sqlite(_) => format!("{column} IN (SELECT value FROM json_each(${n}))"),
        crate::Tx::Postgres(_) => {
            format!("{column} IN (SELECT json_array_elements_text(${n}::json))")
        }
    }
}
