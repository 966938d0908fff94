//! Round-robin assignment among the active agents: a shared counter advanced atomically in the
//! database, so that several API processes share one rotation.

use uuid::Uuid;

use store::with_db;
use store::{Db, StoreError};

/// The next agent in rotation, or `None` when no agent is active.
pub async fn next_agent(
    db: &Db,
    rotation: &str,
    agents: &[Uuid],
) -> Result<Option<Uuid>, StoreError> {
    if agents.is_empty() {
        return Ok(None);
    }
    let turn: i64 = with_db!(db, pool => {
        sqlx::query_scalar(
            "INSERT INTO assignment_cursors (name, next) VALUES ($1, 1)
             ON CONFLICT (name) DO UPDATE SET next = assignment_cursors.next + 1
             RETURNING next",
        )
        .bind(rotation)
        .fetch_one(pool)
        .await?
    });
    let index = (turn - 1).rem_euclid(agents.len() as i64) as usize;
    Ok(Some(agents[index]))
}
