//! The capture keys read model: what each key stands for, who issued it, whether it was
//! revoked, for `GET /api/capture-keys`. Keys hold no personal data; the secret's digest is
//! not copied here.

use chrono::{DateTime, Utc};
use futures::future::BoxFuture;
use store::{with_db, Db, EventMetadata};

use crate::{Projection, ProjectionError, StoredEvent, Tx};

pub const NAME: &str = "capture_keys";

pub struct CaptureKeysProjection;

impl Projection for CaptureKeysProjection {
    fn name(&self) -> &'static str {
        NAME
    }

    fn version(&self) -> i64 {
        1
    }

    fn ddl(&self) -> &'static str {
        include_str!("../../migrations/read_models/capture_keys.sql")
    }

    fn tables(&self) -> &'static [&'static str] {
        &["capture_keys"]
    }

    fn apply<'a>(
        &'a self,
        tx: &'a mut Tx,
        suffix: &'a str,
        events: &'a [StoredEvent],
    ) -> BoxFuture<'a, Result<(), ProjectionError>> {
        Box::pin(apply(tx, suffix, events))
    }
}

fn text(v: &serde_json::Value, pointer: &str) -> Option<String> {
    v.pointer(pointer)
        .and_then(|s| s.as_str())
        .map(str::to_string)
}

async fn apply(tx: &mut Tx, suffix: &str, events: &[StoredEvent]) -> Result<(), ProjectionError> {
    for e in events.iter().filter(|e| e.aggregate_type == "capture_key") {
        let m = EventMetadata::from_json(&e.metadata);
        match e.event_type.as_str() {
            "CaptureKeyIssued" => {
                let p = &e.payload;
                let name = text(p, "/CaptureKeyIssued/terms/name").unwrap_or_default();
                let source = text(p, "/CaptureKeyIssued/terms/source").unwrap_or_default();
                let campaign = text(p, "/CaptureKeyIssued/terms/campaign");
                crate::with_tx!(tx, t => {
                    sqlx::query(&format!(
                        "INSERT INTO capture_keys{suffix} (key_id, name, source, campaign,
                         issued_at, issued_by) VALUES ($1, $2, $3, $4, $5, $6)
                         ON CONFLICT (key_id) DO NOTHING"
                    ))
                    .bind(&e.aggregate_id)
                    .bind(name)
                    .bind(source)
                    .bind(campaign)
                    .bind(m.recorded_at)
                    .bind(&m.actor_id)
                    .execute(&mut **t)
                    .await?;
                });
            }
            "CaptureKeyRevoked" => {
                let reason = text(&e.payload, "/CaptureKeyRevoked/reason");
                crate::with_tx!(tx, t => {
                    sqlx::query(&format!(
                        "UPDATE capture_keys{suffix} SET revoked_at = $2, revoked_by = $3,
                         revoke_reason = $4 WHERE key_id = $1"
                    ))
                    .bind(&e.aggregate_id)
                    .bind(m.recorded_at)
                    .bind(&m.actor_id)
                    .bind(reason)
                    .execute(&mut **t)
                    .await?;
                });
            }
            _ => {}
        }
    }
    Ok(())
}

/// A capture key as the list shows it.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct CaptureKeyRow {
    pub key_id: String,
    pub name: String,
    pub source: String,
    pub campaign: Option<String>,
    pub issued_at: DateTime<Utc>,
    pub issued_by: String,
    pub revoked_at: Option<DateTime<Utc>>,
    pub revoked_by: Option<String>,
    pub revoke_reason: Option<String>,
}

/// Every key, newest first.
pub async fn list(db: &Db) -> Result<Vec<CaptureKeyRow>, ProjectionError> {
    Ok(with_db!(db, pool => {
        sqlx::query_as::<_, CaptureKeyRow>(
            "SELECT key_id, name, source, campaign, issued_at, issued_by, revoked_at,
                    revoked_by, revoke_reason
               FROM capture_keys ORDER BY issued_at DESC, key_id DESC",
        )
        .fetch_all(pool)
        .await?
    }))
}
