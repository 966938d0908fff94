//! Rebuilding a projection from zero into fresh tables, then swapping them in. Reads keep using
//! the live tables until the swap, which is one short transaction.

use store::{with_db, Db};

use crate::checkpoint::{self, Checkpoint};
use crate::runner::BATCH;
use crate::schema::{execute_script, render};
use crate::{log, with_tx, Projection, ProjectionError};

pub const SHADOW: &str = "__rebuild";

#[derive(Debug, Clone, Copy)]
pub struct Rebuilt {
    pub events: u64,
    pub checkpoint: Checkpoint,
}

/// Rebuilds `projection` from the start of the log. `progress` is told the number of events
/// applied so far after every batch.
pub async fn rebuild(
    db: &Db,
    projection: &dyn Projection,
    progress: impl FnMut(u64),
) -> Result<Rebuilt, ProjectionError> {
    rebuild_all(db, &[projection], progress).await
}

/// Rebuilds every projection of `group` from the start of the log in one pass: each batch is
/// read once and applied to all of them in one transaction. (Their indexes come with the
/// tables: the fill itself looks rows up by them.) `progress` is told the number of log events
/// passed so far after every batch.
pub async fn rebuild_all(
    db: &Db,
    group: &[&dyn Projection],
    mut progress: impl FnMut(u64),
) -> Result<Rebuilt, ProjectionError> {
    let gen = chrono::Utc::now().timestamp_millis().to_string();
    let mut tables = String::new();
    for projection in group {
        for t in projection.tables() {
            tables.push_str(&format!("DROP TABLE IF EXISTS {t}{SHADOW};\n"));
        }
        tables.push_str(&render(db, *projection, SHADOW, &gen));
    }
    execute_script(db, &tables).await?;

    let mut applied = 0u64;
    let mut cp = fill_shadow(
        db,
        group,
        Checkpoint::default(),
        &mut applied,
        &mut progress,
    )
    .await?;
    // What arrived meanwhile, outside the swap's lock.
    cp = fill_shadow(db, group, cp, &mut applied, &mut progress).await?;

    // The swap: take the live checkpoints' locks first (the way live runners take them),
    // apply whatever arrived since, then replace the tables and move the checkpoints.
    let mut tx = checkpoint::begin(db).await?;
    let names: Vec<&str> = group.iter().map(|p| p.name()).collect();
    checkpoint::lock_all(&mut tx, &names).await?;
    loop {
        let events = log::read_after(db, cp, BATCH).await?;
        let Some(last) = events.last() else { break };
        cp = last.checkpoint();
        for projection in group {
            projection.prepare(&events).await?;
            projection.apply(&mut tx, SHADOW, &events).await?;
        }
        applied += events.len() as u64;
        progress(applied);
    }
    let set = "INSERT INTO projection_checkpoints (name, tx_id, position, version, generation)
               VALUES ($1, $2, $3, $4, $5)
               ON CONFLICT (name) DO UPDATE SET tx_id = excluded.tx_id, position = excluded.position,
                   version = excluded.version, generation = excluded.generation";
    for projection in group {
        let mut swap = Vec::new();
        for t in projection.tables() {
            swap.push(format!("DROP TABLE IF EXISTS {t}"));
            swap.push(format!("ALTER TABLE {t}{SHADOW} RENAME TO {t}"));
        }
        with_tx!(&mut tx, t => {
            for s in &swap {
                sqlx::query(s).execute(&mut **t).await?;
            }
            sqlx::query(set)
                .bind(projection.name())
                .bind(cp.tx_id)
                .bind(cp.position)
                .bind(projection.version())
                .bind(&gen)
                .execute(&mut **t)
                .await?;
        });
    }
    checkpoint::commit(tx).await?;
    Ok(Rebuilt {
        events: applied,
        checkpoint: cp,
    })
}

/// Applies the log after `cp` to the shadow tables of `group`, batch by batch, each batch in
/// its own transaction; where it stopped.
async fn fill_shadow(
    db: &Db,
    group: &[&dyn Projection],
    mut cp: Checkpoint,
    applied: &mut u64,
    progress: &mut impl FnMut(u64),
) -> Result<Checkpoint, ProjectionError> {
    loop {
        let events = log::read_after(db, cp, BATCH).await?;
        let Some(last) = events.last() else {
            return Ok(cp);
        };
        cp = last.checkpoint();
        for projection in group {
            projection.prepare(&events).await?;
        }
        let mut tx = checkpoint::begin(db).await?;
        for projection in group {
            projection.apply(&mut tx, SHADOW, &events).await?;
        }
        checkpoint::commit(tx).await?;
        *applied += events.len() as u64;
        progress(*applied);
    }
}

/// A canonical dump of a projection's live tables (every row, sorted), for comparing a
/// projection kept up by workers with one rebuilt from zero, or a restored store with its
/// original (without the columns saying in which batch a row was saved).
pub async fn dump(db: &Db, projection: &dyn Projection) -> Result<Vec<String>, ProjectionError> {
    let mut out = Vec::new();
    for t in projection.tables() {
        let sql = format!("SELECT * FROM {t}");
        let mut rows = Vec::new();
        with_db!(db, pool => {
            for row in sqlx::query(&sql).fetch_all(pool).await? {
                rows.push(format!("{t}: {}", row_text(&row)));
            }
        });
        rows.sort();
        out.extend(rows);
    }
    Ok(out)
}

/// Columns a dump leaves out (see [`crate::sealed::SealedDocument::SAVED_AT`]).
const BOOKKEEPING: &[&str] = &["saved_tx", "saved_position"];

fn row_text<R: sqlx::Row>(row: &R) -> String
where
    usize: sqlx::ColumnIndex<R>,
    for<'a> Option<String>: sqlx::Decode<'a, R::Database> + sqlx::Type<R::Database>,
    for<'a> Option<i64>: sqlx::Decode<'a, R::Database> + sqlx::Type<R::Database>,
    for<'a> Option<bool>: sqlx::Decode<'a, R::Database> + sqlx::Type<R::Database>,
    for<'a> Option<chrono::DateTime<chrono::Utc>>:
        sqlx::Decode<'a, R::Database> + sqlx::Type<R::Database>,
    for<'a> Option<serde_json::Value>: sqlx::Decode<'a, R::Database> + sqlx::Type<R::Database>,
{
    use sqlx::Column;
    let mut cells = Vec::new();
    for (i, col) in row.columns().iter().enumerate() {
        // When a row was saved, not what it says: a rebuild saves in other batches.
        if BOOKKEEPING.contains(&col.name()) {
            continue;
        }
        let v = if let Ok(v) = row.try_get::<Option<i64>, _>(i) {
            format!("{v:?}")
        } else if let Ok(v) = row.try_get::<Option<bool>, _>(i) {
            format!("{v:?}")
        } else if let Ok(v) = row.try_get::<Option<chrono::DateTime<chrono::Utc>>, _>(i) {
            format!("{v:?}")
        } else if let Ok(v) = row.try_get::<Option<serde_json::Value>, _>(i) {
            format!("{v:?}")
        } else if let Ok(v) = row.try_get::<Option<String>, _>(i) {
            format!("{v:?}")
        } else {
            "<?>".to_string()
        };
        cells.push(format!("{}={v}", col.name()));
    }
    cells.join(" ")
}

/// The projections a rebuild covers: every rebuildable one, or the one named. The audit ledger
/// is the record auditors verify; it is never rebuilt.
pub fn select(
    all: Vec<std::sync::Arc<dyn crate::Projection>>,
    name: Option<&str>,
) -> Result<Vec<std::sync::Arc<dyn crate::Projection>>, String> {
    let known: Vec<&str> = all
        .iter()
        .filter(|p| p.rebuildable())
        .map(|p| p.name())
        .collect();
    let known = known.join(", ");
    let chosen: Vec<_> = all
        .into_iter()
        .filter(|p| p.rebuildable() && name.is_none_or(|n| p.name() == n))
        .collect();
    match name {
        Some(name) if chosen.is_empty() => Err(format!(
            "unknown projection {name:?} (known: {known}; the audit ledger is never rebuilt)"
        )),
        _ => Ok(chosen),
    }
}
