//! The contact register: one open lead per e-mail address and per phone number, keyed by blind
//! index (as the PAN register is for clients). A capture reserves its contact details before
//! its first event is written, so of two captures of one person at the same moment exactly one
//! passes. The register is kept lazily: a reservation whose lead no longer holds that contact
//! (archived, erased, changed it, or never captured) is taken over by the next capture.

use std::future::Future;

use store::privacy::Keyring;
use store::with_db;
use store::{Db, StoreError};
use uuid::Uuid;

/// A reservation older than this whose lead was never captured was left by a capture that
/// died half-way.
const ABANDONED_AFTER: chrono::Duration = chrono::Duration::minutes(5);

/// The register's writer for this process: reservations asked for at the same moment are
/// written in one transaction (on SQLite, one turn of the write gate), so that reserving costs
/// a capture little more than its own commit.
pub struct Register {
    db: Db,
    queue: std::sync::OnceLock<tokio::sync::mpsc::UnboundedSender<Claim>>,
}

struct Claim {
    key: String,
    lead_id: String,
    reply: tokio::sync::oneshot::Sender<Result<bool, String>>,
}

/// Claims written in one transaction at most.
const BATCH_MAX: usize = 256;

impl Register {
    pub fn new(db: &Db) -> Self {
        Self {
            db: db.clone(),
            queue: std::sync::OnceLock::new(),
        }
    }

    /// Inserts the reservation of `key` for `lead_id` unless the key is reserved; answers
    /// whether it inserted it.
    async fn claim(&self, key: &str, lead_id: &str) -> Result<bool, StoreError> {
        let queue = self.queue.get_or_init(|| {
            let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
            tokio::spawn(writer(self.db.clone(), rx));
            tx
        });
        let (reply, answer) = tokio::sync::oneshot::channel();
        let stopped = || StoreError::Database(sqlx::Error::WorkerCrashed);
        queue
            .send(Claim {
                key: key.to_string(),
                lead_id: lead_id.to_string(),
                reply,
            })
            .map_err(|_| stopped())?;
        answer
            .await
            .map_err(|_| stopped())?
            .map_err(|e| StoreError::Database(sqlx::Error::Protocol(e)))
    }
}

async fn writer(db: Db, mut queue: tokio::sync::mpsc::UnboundedReceiver<Claim>) {
    let mut batch = Vec::new();
    while let Some(first) = queue.recv().await {
        let _gate = db.write_turn().await;
        batch.push(first);
        while batch.len() < BATCH_MAX {
            match queue.try_recv() {
                Ok(c) => batch.push(c),
                Err(_) => break,
            }
        }
        let now = chrono::Utc::now().to_rfc3339();
        let written: Result<Vec<bool>, sqlx::Error> = async {
            let mut inserted = Vec::with_capacity(batch.len());
            with_db!(&db, pool => {
                let mut tx = pool.begin().await?;
                for c in &batch {
                    let n = sqlx::query(
                        "INSERT INTO lead_contacts (contact_index, lead_id, created_at)
                         VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
                    )
                    .bind(&c.key)
                    .bind(&c.lead_id)
                    .bind(&now)
                    .execute(&mut *tx)
                    .await?
                    .rows_affected();
                    inserted.push(n == 1);
                }
                tx.commit().await?;
            });
            Ok(inserted)
        }
        .await;
        match written {
            Ok(inserted) => {
                for (c, ok) in batch.drain(..).zip(inserted) {
                    let _ = c.reply.send(Ok(ok));
                }
            }
            Err(e) => {
                for c in batch.drain(..) {
                    let _ = c.reply.send(Err(e.to_string()));
                }
            }
        }
    }
}

/// The register keys of a lead's e-mail address and phone number.
pub fn keys(keyring: &Keyring, email: Option<&str>, phone: Option<&str>) -> Vec<String> {
    let mut keys = Vec::with_capacity(2);
    if let Some(e) = email {
        keys.push(format!("e:{}", keyring.blind_index("email", e)));
    }
    if let Some(p) = phone {
        keys.push(format!("p:{}", keyring.blind_index("phone", p)));
    }
    keys
}

/// What the register knows of a lead holding a reservation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Holder {
    /// Captured, open, and still has the contact with these keys.
    Holds(Vec<String>),
    /// Captured but archived or erased: its contacts are free.
    Gone,
    /// No event yet (a capture under way, or one that died).
    NotCaptured,
}

/// Reserves `keys` for `lead_id`; `Err` names the other leads that hold any of them (empty when
/// captures of the same person keep taking it over at this moment), and nothing stays
/// reserved then. `holder` tells what became of a lead holding a key.
pub async fn reserve<F, Fut, E>(
    register: &Register,
    keys: &[String],
    lead_id: Uuid,
    holder: F,
) -> Result<Result<(), Vec<Uuid>>, E>
where
    F: Fn(Uuid) -> Fut,
    Fut: Future<Output = Result<Holder, E>>,
    E: From<StoreError>,
{
    let db = &register.db;
    let me = lead_id.to_string();
    let mut taken = Vec::new();
    let mut refused = false;
    let mut mine = Vec::new();
    'keys: for key in keys {
        for _ in 0..3 {
            let now = chrono::Utc::now();
            // Once refused, the other keys are only looked up (to name who holds them), never
            // claimed: two captures of one person each holding one of its contacts would
            // otherwise refuse each other, and nobody would capture the person.
            if !refused && register.claim(key, &me).await? {
                mine.push(key.clone());
                continue 'keys;
            }
            let row: Option<(String, String)> = with_db!(db, pool => {
                sqlx::query_as(
                    "SELECT lead_id, created_at FROM lead_contacts WHERE contact_index = $1",
                )
                .bind(key)
                .fetch_optional(pool)
                .await
                .map_err(StoreError::from)?
            });
            // Released in between: try again.
            let Some((other, created_at)) = row else {
                continue;
            };
            if other == me {
                continue 'keys;
            }
            let other_id = Uuid::parse_str(&other).unwrap_or_default();
            let stale = match holder(other_id).await? {
                Holder::Holds(held) => !held.contains(key),
                Holder::Gone => true,
                Holder::NotCaptured => chrono::DateTime::parse_from_rfc3339(&created_at)
                    .is_ok_and(|t| now.signed_duration_since(t) > ABANDONED_AFTER),
            };
            if !stale {
                refused = true;
                taken.push(other_id);
                continue 'keys;
            }
            let _gate = db.write_turn().await;
            with_db!(db, pool => {
                sqlx::query("DELETE FROM lead_contacts WHERE contact_index = $1 AND lead_id = $2")
                    .bind(key)
                    .bind(&other)
                    .execute(pool)
                    .await
                    .map_err(StoreError::from)?;
            });
        }
        // Three rounds of take-over lost to others: someone is capturing this person now.
        refused = true;
    }
    if !refused {
        return Ok(Ok(()));
    }
    release(db, &mine, lead_id).await?;
    taken.sort();
    taken.dedup();
    Ok(Err(taken))
}

/// Gives back reservations [`reserve`] made (the capture they were for failed).
pub async fn release(db: &Db, keys: &[String], lead_id: Uuid) -> Result<(), StoreError> {
    let _gate = db.write_turn().await;
    for key in keys {
        with_db!(db, pool => {
            sqlx::query("DELETE FROM lead_contacts WHERE contact_index = $1 AND lead_id = $2")
                .bind(key)
                .bind(lead_id.to_string())
                .execute(pool)
                .await?;
        });
    }
    Ok(())
}

/// Forgets every reservation of the lead (its data was erased: no index of an erased person's
/// contact details is kept).
pub async fn forget(db: &Db, lead_id: &str) -> Result<(), StoreError> {
    let _gate = db.write_turn().await;
    with_db!(db, pool => {
        sqlx::query("DELETE FROM lead_contacts WHERE lead_id = $1")
            .bind(lead_id)
            .execute(pool)
            .await?;
    });
    Ok(())
}

/// Reserves the contacts of the open leads the leads read model shows (those captured before
/// the register existed, or while it was rebuilt); what is reserved already stays. Answers how
/// many were added.
pub async fn backfill(db: &Db) -> Result<u64, StoreError> {
    let now = chrono::Utc::now().to_rfc3339();
    let mut added = 0;
    for (prefix, column) in [("e:", "email_index"), ("p:", "phone_index")] {
        let sql = format!(
            "INSERT INTO lead_contacts (contact_index, lead_id, created_at)
             SELECT '{prefix}' || {column}, lead_id, $1 FROM leads
              WHERE {column} IS NOT NULL AND NOT archived AND NOT erased
             ON CONFLICT DO NOTHING"
        );
        let _gate = db.write_turn().await;
        added += with_db!(db, pool => {
            sqlx::query(&sql).bind(&now).execute(pool).await?.rows_affected()
        });
    }
    Ok(added)
}

/// Once the leads read model has applied the whole log, [`backfill`]s the register (at start).
pub async fn backfill_when_current(write: &crate::WriteSide) {
    loop {
        match write.lookups.lag_of(&["leads"]).await {
            Ok(0) => break,
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "contact register: lag unknown"),
        }
        tokio::time::sleep(std::time::Duration::from_secs(1)).await;
    }
    match backfill(&write.db).await {
        Ok(0) => {}
        Ok(n) => tracing::info!(
            reserved = n,
            "contact register filled from the leads read model"
        ),
        Err(e) => tracing::error!(error = %e, "contact register backfill failed"),
    }
}
