//! The leads read model's answers to the checks the write side makes: leads on file with a
//! contact detail (duplicate capture), and erasures that are due (the retention run).

use store::privacy::Keyring;
use store::{with_db, Db};
use uuid::Uuid;

use crate::ProjectionError;

/// Leads whose erasure is due (asked for, no legal hold, no retention duty) or was recorded
/// without the key being destroyed yet (the process died in between).
pub async fn erasures_due(db: &Db) -> Result<Vec<String>, ProjectionError> {
    Ok(with_db!(db, pool => {
        sqlx::query_scalar(
            "SELECT l.lead_id FROM leads l
               LEFT JOIN subject_keys k ON k.subject_id = l.lead_id
              WHERE l.erasure_due OR (l.erased AND k.wrapped_key IS NOT NULL)
              ORDER BY l.lead_id",
        )
        .fetch_all(pool)
        .await?
    }))
}

/// Open leads (not archived, not erased) with this e-mail address or phone number, found by
/// their blind indexes: duplicate detection without storing either in the clear.
pub async fn duplicates(
    db: &Db,
    keyring: &Keyring,
    email: Option<&str>,
    phone: Option<&str>,
) -> Result<Vec<Uuid>, ProjectionError> {
    let email = email.map(|e| keyring.blind_index("email", e));
    let phone = phone.map(|p| keyring.blind_index("phone", p));
    if email.is_none() && phone.is_none() {
        return Ok(Vec::new());
    }
    let ids: Vec<String> = with_db!(db, pool => {
        sqlx::query_scalar(
            "SELECT lead_id FROM leads
              WHERE NOT archived AND NOT erased
                AND (email_index = $1 OR phone_index = $2)
              ORDER BY created_at LIMIT 5",
        )
        .bind(&email)
        .bind(&phone)
        .fetch_all(pool)
        .await?
    });
    ids.iter()
        .map(|s| Uuid::parse_str(s).map_err(|e| ProjectionError::Event(e.to_string())))
        .collect()
}
