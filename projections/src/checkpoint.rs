//! Where a projection stands in the log: the commit-order key `(tx_id, position)` of the last
//! event it applied (`tx_id` is always 0 on SQLite).

use store::{with_db, Db};

use crate::{with_tx, ProjectionError, Tx};

pub use store::Checkpoint;

pub async fn load(db: &Db, name: &str) -> Result<Checkpoint, ProjectionError> {
    let row: Option<(i64, i64)> = with_db!(db, pool => {
        sqlx::query_as("SELECT tx_id, position FROM projection_checkpoints WHERE name = $1")
            .bind(name)
            .fetch_optional(pool)
            .await?
    });
    Ok(row
        .map(|(tx_id, position)| Checkpoint { tx_id, position })
        .unwrap_or_default())
}

/// Every projection's checkpoint, by name.
pub async fn load_all(
    db: &Db,
) -> Result<std::collections::HashMap<String, Checkpoint>, ProjectionError> {
    let rows: Vec<(String, i64, i64)> = with_db!(db, pool => {
        sqlx::query_as("SELECT name, tx_id, position FROM projection_checkpoints")
            .fetch_all(pool)
            .await?
    });
    Ok(rows
        .into_iter()
        .map(|(name, tx_id, position)| (name, Checkpoint { tx_id, position }))
        .collect())
}

/// Moves the checkpoint from `from` to `to` inside `tx`, first thing in the transaction, so that
/// it also takes the row lock (Postgres) or the write lock (SQLite) before any read-model row is
/// touched. Fails with `CheckpointMoved` when another worker or a rebuild moved it meanwhile.
pub async fn advance(
    tx: &mut Tx,
    name: &str,
    from: Checkpoint,
    to: Checkpoint,
) -> Result<(), ProjectionError> {
    let sql = "UPDATE projection_checkpoints SET tx_id = $1, position = $2
                WHERE name = $3 AND tx_id = $4 AND position = $5";
    let updated = with_tx!(tx, t => {
        sqlx::query(sql)
            .bind(to.tx_id)
            .bind(to.position)
            .bind(name)
            .bind(from.tx_id)
            .bind(from.position)
            .execute(&mut **t)
            .await?
            .rows_affected()
    });
    if updated == 1 {
        Ok(())
    } else {
        Err(ProjectionError::CheckpointMoved)
    }
}

pub async fn begin(db: &Db) -> Result<Tx, ProjectionError> {
    Ok(Tx::begin(db).await?)
}

pub async fn commit(tx: Tx) -> Result<(), ProjectionError> {
    Ok(tx.commit().await?)
}

/// Moves the checkpoints of every projection in `names` from `from` to `to` in one statement
/// (the runner's group shares one checkpoint). Fails with `CheckpointMoved` unless every one of
/// them stood at `from`; the text of the statement does not depend on how many there are.
pub async fn advance_all(
    tx: &mut Tx,
    names: &[&str],
    from: Checkpoint,
    to: Checkpoint,
) -> Result<(), ProjectionError> {
    if let [name] = names {
        return advance(tx, name, from, to).await;
    }
    let list = serde_json::to_string(names).map_err(|e| ProjectionError::Event(e.to_string()))?;
    let sql = format!(
        "UPDATE projection_checkpoints SET tx_id = $1, position = $2
          WHERE {} AND tx_id = $4 AND position = $5",
        crate::schema::member_of(tx, "name", 3)
    );
    let updated = with_tx!(tx, t => {
        sqlx::query(&sql)
            .bind(to.tx_id)
            .bind(to.position)
            .bind(&list)
            .bind(from.tx_id)
            .bind(from.position)
            .execute(&mut **t)
            .await?
            .rows_affected()
    });
    if updated == names.len() as u64 {
        Ok(())
    } else {
        Err(ProjectionError::CheckpointMoved)
    }
}

/// Takes the row locks of the checkpoints of `names` inside `tx`, with the statement shape
/// [`advance_all`] uses (so both take them in the same order and never deadlock).
pub async fn lock_all(tx: &mut Tx, names: &[&str]) -> Result<(), ProjectionError> {
    let list = serde_json::to_string(names).map_err(|e| ProjectionError::Event(e.to_string()))?;
    let sql = format!(
        "UPDATE projection_checkpoints SET position = position WHERE {}",
        crate::schema::member_of(tx, "name", 1)
    );
    with_tx!(tx, t => {
        sqlx::query(&sql).bind(&list).execute(&mut **t).await?;
    });
    Ok(())
}
