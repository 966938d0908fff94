//! `Idempotency-Key` for commands: the first successful answer is kept and replayed for a repeat
//! with the same key and the same request; the same key with a different request is refused.
//! A failed command releases its key, so a corrected retry can use it again.

use chrono::Utc;
use sha2::{Digest, Sha256};

use store::with_db;
use store::{Db, StoreError};

#[derive(Debug, PartialEq, Eq)]
pub enum Claim {
    /// The key is new and now reserved for this request.
    Fresh,
    /// The same request was answered before: here is its answer.
    Replay { status: u16, body: String },
    /// The key was used for a different request.
    Mismatch,
    /// The first request with this key is still running.
    InProgress,
}

/// A fingerprint of the request the key was first used for (method, path and body).
pub fn request_hash(method: &str, path: &str, body: &[u8]) -> String {
    let mut h = Sha256::new();
    h.update(method.as_bytes());
    h.update([0]);
    h.update(path.as_bytes());
    h.update([0]);
    h.update(body);
    hex::encode(h.finalize())
}

pub async fn claim(db: &Db, key: &str, hash: &str) -> Result<Claim, StoreError> {
    let now = Utc::now();
    let inserted = with_db!(db, pool => {
        sqlx::query(
            "INSERT INTO idempotency_keys (idempotency_key, request_hash, state, created_at)
             VALUES ($1, $2, 'pending', $3) ON CONFLICT (idempotency_key) DO NOTHING",
        )
        .bind(key)
        .bind(hash)
        .bind(now)
        .execute(pool)
        .await?
        .rows_affected()
    });
    if inserted == 1 {
        return Ok(Claim::Fresh);
    }
    let row: Option<(String, String, Option<i32>, Option<String>)> = with_db!(db, pool => {
        sqlx::query_as(
            "SELECT request_hash, state, status, response FROM idempotency_keys WHERE idempotency_key = $1",
        )
        .bind(key)
        .fetch_optional(pool)
        .await?
    });
    Ok(match row {
        // Released between our insert and our read: treat as in progress, the client retries.
        None => Claim::InProgress,
        Some((stored, _, _, _)) if stored != hash => Claim::Mismatch,
        Some((_, state, Some(status), Some(body))) if state == "done" => Claim::Replay {
            status: status as u16,
            body,
        },
        Some(_) => Claim::InProgress,
    })
}

pub async fn complete(db: &Db, key: &str, status: u16, body: &str) -> Result<(), StoreError> {
    with_db!(db, pool => {
        sqlx::query(
            "UPDATE idempotency_keys SET state = 'done', status = $2, response = $3 WHERE idempotency_key = $1",
        )
        .bind(key)
        .bind(status as i32)
        .bind(body)
        .execute(pool)
        .await?;
    });
    Ok(())
}

pub async fn release(db: &Db, key: &str) -> Result<(), StoreError> {
    with_db!(db, pool => {
        sqlx::query("DELETE FROM idempotency_keys WHERE idempotency_key = $1 AND state = 'pending'")
            .bind(key)
            .execute(pool)
            .await?;
    });
    Ok(())
}
