//! What the client side keeps beside the log: the PAN register (one client per PAN, by blind
//! index) and the document store (KYC files sealed with the client's key).

use uuid::Uuid;

use store::documents::{DocumentError, DocumentStore};
use store::privacy::Keyring;
use store::with_db;

use super::ClientsError;
use store::{Db, StoreError};

/// What reserving a PAN for a client came to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reservation {
    /// Reserved now, or already reserved for this very client (a retried onboarding).
    Reserved,
    /// Another client holds the PAN.
    TakenBy(Uuid),
    /// This client holds another PAN.
    ClientHasAnother,
}

/// A reservation older than this whose client never got onboarded was left by an onboarding
/// that died half-way; it may be taken over.
const ABANDONED_AFTER: chrono::Duration = chrono::Duration::minutes(5);

/// Reserves the PAN (by its blind index) for `client_id`. `onboarded` says whether a client
/// exists, for taking over a reservation an interrupted onboarding left behind.
pub async fn reserve_pan<F, Fut, E>(
    db: &Db,
    keyring: &Keyring,
    pan: &str,
    client_id: Uuid,
    onboarded: F,
) -> Result<Reservation, E>
where
    F: Fn(Uuid) -> Fut,
    Fut: std::future::Future<Output = Result<bool, E>>,
    E: From<StoreError>,
{
    let index = keyring.blind_index("pan", pan);
    for _ in 0..2 {
        let now = chrono::Utc::now();
        let inserted = with_db!(db, pool => {
            sqlx::query(
                "INSERT INTO client_pans (pan_index, client_id, created_at) VALUES ($1, $2, $3)
                 ON CONFLICT DO NOTHING",
            )
            .bind(&index)
            .bind(client_id.to_string())
            .bind(now.to_rfc3339())
            .execute(pool)
            .await
                .map_err(StoreError::from)?
            .rows_affected()
        });
        if inserted == 1 {
            return Ok(Reservation::Reserved);
        }
        let holder: Option<(String, String)> = with_db!(db, pool => {
            sqlx::query_as("SELECT client_id, created_at FROM client_pans WHERE pan_index = $1")
                .bind(&index)
                .fetch_optional(pool)
                .await
                .map_err(StoreError::from)?
        });
        let Some((holder, created_at)) = holder else {
            // Nobody holds the PAN, so the conflict was this client's own other PAN (or the
            // holder was erased in between: the retry settles it).
            let mine: Option<String> = with_db!(db, pool => {
                sqlx::query_scalar("SELECT pan_index FROM client_pans WHERE client_id = $1")
                    .bind(client_id.to_string())
                    .fetch_optional(pool)
                    .await
                .map_err(StoreError::from)?
            });
            if mine.is_some() {
                return Ok(Reservation::ClientHasAnother);
            }
            continue;
        };
        let holder = Uuid::parse_str(&holder).unwrap_or_default();
        if holder == client_id {
            return Ok(Reservation::Reserved);
        }
        let abandoned = chrono::DateTime::parse_from_rfc3339(&created_at)
            .is_ok_and(|t| now.signed_duration_since(t) > ABANDONED_AFTER);
        if abandoned && !onboarded(holder).await? {
            with_db!(db, pool => {
                sqlx::query("DELETE FROM client_pans WHERE pan_index = $1 AND client_id = $2")
                    .bind(&index)
                    .bind(holder.to_string())
                    .execute(pool)
                    .await
                .map_err(StoreError::from)?;
            });
            continue;
        }
        return Ok(Reservation::TakenBy(holder));
    }
    Ok(Reservation::ClientHasAnother)
}

/// Gives back a reservation [`reserve_pan`] just made (the onboarding it was for failed).
pub async fn release_pan(
    db: &Db,
    keyring: &Keyring,
    pan: &str,
    client_id: Uuid,
) -> Result<(), StoreError> {
    with_db!(db, pool => {
        sqlx::query("DELETE FROM client_pans WHERE pan_index = $1 AND client_id = $2")
            .bind(keyring.blind_index("pan", pan))
            .bind(client_id.to_string())
            .execute(pool)
            .await?;
    });
    Ok(())
}

/// Forgets the client's PAN (their data was erased: the PAN may be onboarded afresh, and no
/// index of an erased person's PAN is kept).
pub async fn forget_pan(db: &Db, client_id: Uuid) -> Result<(), StoreError> {
    with_db!(db, pool => {
        sqlx::query("DELETE FROM client_pans WHERE client_id = $1")
            .bind(client_id.to_string())
            .execute(pool)
            .await?;
    });
    Ok(())
}

/// The client holding this PAN, found by its blind index.
pub async fn client_by_pan(
    db: &Db,
    keyring: &Keyring,
    pan: &str,
) -> Result<Option<Uuid>, StoreError> {
    let index = keyring.blind_index("pan", pan);
    let id: Option<String> = with_db!(db, pool => {
        sqlx::query_scalar("SELECT client_id FROM client_pans WHERE pan_index = $1")
            .bind(index)
            .fetch_optional(pool)
            .await?
    });
    Ok(id.and_then(|s| Uuid::parse_str(&s).ok()))
}

/// Seals and stores a document's file before the event that records it is written.
pub async fn store_document(
    docs: &dyn DocumentStore,
    keyring: &Keyring,
    client_id: Uuid,
    document_id: Uuid,
    file: &[u8],
) -> Result<(), ClientsError> {
    let sealed = keyring
        .seal_file(&client_id.to_string(), &document_id.to_string(), file)
        .await
        .map_err(ClientsError::Documents)?;
    docs.put(&client_id.to_string(), &document_id.to_string(), sealed)
        .await
        .map_err(ClientsError::Files)
}

/// A document's file, opened; `None` when it is not held (purged, erased or never stored).
pub async fn load_document(
    docs: &dyn DocumentStore,
    keyring: &Keyring,
    client_id: Uuid,
    document_id: Uuid,
) -> Result<Option<Vec<u8>>, ClientsError> {
    let (client, document) = (client_id.to_string(), document_id.to_string());
    match docs
        .get(&client, &document)
        .await
        .map_err(ClientsError::Files)?
    {
        Some(s) => keyring
            .open_file(&client, &document, &s)
            .await
            .map_err(ClientsError::Documents),
        None => Ok(None),
    }
}

/// Deletes files: those named, or all of the client's when `only` is `None`.
pub async fn delete_documents(
    docs: &dyn DocumentStore,
    client_id: Uuid,
    only: Option<&[Uuid]>,
) -> Result<u64, DocumentError> {
    let only: Option<Vec<String>> = only.map(|ids| ids.iter().map(Uuid::to_string).collect());
    docs.delete(&client_id.to_string(), only.as_deref()).await
}

/// The ids of the client's stored files.
pub async fn document_ids(
    docs: &dyn DocumentStore,
    client_id: Uuid,
) -> Result<Vec<Uuid>, DocumentError> {
    let ids = docs.ids(&client_id.to_string()).await?;
    Ok(ids.iter().filter_map(|s| Uuid::parse_str(s).ok()).collect())
}
