//! Carrying out an erasure: record it on the lead, then destroy the key. The event comes first
//! so that the audit trail never lacks a shred that happened; should the process die between
//! the two, the retention run finds the lead erased with its key still present and finishes.

use domain::client::{Client, ClientCommand, ClientError, ClientEvent};
use domain::lead::{Lead, LeadCommand, LeadError};
use uuid::Uuid;

use crate::{CommandError, Executor};
use store::privacy::Keyring;
use store::EventMetadata;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Erasure {
    /// The key is destroyed; `position` is the log position of `LeadErased`.
    Erased { position: i64 },
    /// Not yet: why.
    Blocked { reason: &'static str },
}

/// Erases the lead's personal data if nothing blocks it, then that of the leads merged into
/// it (the same person: their erasure was asked for with this one's) where nothing blocks it.
pub async fn erase_if_allowed(
    leads: &Executor<Lead>,
    keyring: &Keyring,
    lead_id: &str,
    metadata: &EventMetadata,
) -> Result<Erasure, CommandError<LeadError>> {
    let erased = erase_lead(leads, keyring, lead_id, metadata).await?;
    if let Erasure::Erased { .. } = erased {
        for merged in merged_into(leads, lead_id).await? {
            erase_lead(leads, keyring, &merged, metadata).await?;
        }
    }
    Ok(erased)
}

/// The leads merged into lead `lead_id` (merges do not chain: none holds merges itself).
async fn merged_into(
    leads: &Executor<Lead>,
    lead_id: &str,
) -> Result<Vec<String>, CommandError<LeadError>> {
    let (lead, _) = leads.load(lead_id).await?;
    Ok(lead.merged_here().leads().map(|l| l.to_string()).collect())
}

async fn erase_lead(
    leads: &Executor<Lead>,
    keyring: &Keyring,
    lead_id: &str,
    metadata: &EventMetadata,
) -> Result<Erasure, CommandError<LeadError>> {
    match leads
        .execute(lead_id, LeadCommand::Erase, metadata, None)
        .await
    {
        Ok(done) => {
            crate::leads::contacts::forget(leads.db(), lead_id)
                .await
                .map_err(CommandError::store)?;
            keyring.shred(lead_id).await.map_err(CommandError::store)?;
            Ok(Erasure::Erased {
                position: done.position,
            })
        }
        Err(CommandError::Rejected(LeadError::Privacy(
            domain::privacy::PrivacyError::ErasureBlocked(reason),
        ))) => Ok(Erasure::Blocked { reason }),
        Err(e) => Err(e),
    }
}

/// Erases a client's personal data if nothing blocks it (a legal hold, an open relationship,
/// the retention period): `ClientErased` first, then the key, the document files and the PAN
/// reservation, then the lead the client came from (the same person's data). Repeating it
/// finishes what an interrupted run left.
pub async fn erase_client_if_allowed(
    db: &store::Db,
    documents: &dyn store::documents::DocumentStore,
    clients: &Executor<Client>,
    leads: &Executor<Lead>,
    keyring: &Keyring,
    client_id: Uuid,
    metadata: &EventMetadata,
) -> Result<Erasure, CommandError<ClientError>> {
    let id = client_id.to_string();
    let done = match clients
        .execute(&id, ClientCommand::Erase, metadata, None)
        .await
    {
        Ok(done) => done,
        Err(CommandError::Rejected(ClientError::Privacy(
            domain::privacy::PrivacyError::ErasureBlocked(reason),
        ))) => return Ok(Erasure::Blocked { reason }),
        Err(e) => return Err(e),
    };
    // The key goes last: until it is destroyed the retention run finds the client again and
    // finishes whatever an interruption left (files, PAN reservation, the lead).
    crate::clients::delete_documents(documents, client_id, None)
        .await
        .map_err(CommandError::store)?;
    crate::clients::forget_pan(db, client_id)
        .await
        .map_err(CommandError::store)?;
    let (client, _) = clients.load(&id).await?;
    // The lead the client came from and the leads merged into it are the same person.
    let leads_of: Vec<uuid::Uuid> = client
        .lead_id()
        .into_iter()
        .chain(client.work().merged_here().leads())
        .collect();
    for lead_id in leads_of {
        // A hold on the lead keeps the lead (not the client): it goes when that hold is lifted.
        match erase_with_client(leads, keyring, &lead_id.to_string(), metadata).await {
            Ok(_) | Err(CommandError::Rejected(LeadError::NotFound)) => {}
            Err(e) => return Err(CommandError::store(e)),
        }
    }
    keyring.shred(&id).await.map_err(CommandError::store)?;
    Ok(Erasure::Erased {
        position: done.position,
    })
}

/// Erases a converted lead whose client was erased while a legal hold kept the lead (called
/// when that hold is lifted). Answers whether it did.
pub async fn erase_lead_with_its_client(
    clients: &Executor<Client>,
    leads: &Executor<Lead>,
    keyring: &Keyring,
    lead: &Lead,
    lead_id: &str,
    metadata: &EventMetadata,
) -> Result<Option<i64>, CommandError<LeadError>> {
    let merged_client = lead
        .merged_into()
        .filter(|t| t.kind == domain::merge::MergeKind::Client)
        .map(|t| t.id);
    let Some(client_id) = lead.converted_to().or(merged_client) else {
        return Ok(None);
    };
    let (client, _) = clients
        .load(&client_id.to_string())
        .await
        .map_err(CommandError::store)?;
    if !client.is_erased() {
        return Ok(None);
    }
    erase_with_client(leads, keyring, lead_id, metadata).await
}

/// `LeadErased` for a lead whose client was erased, then its key, and the same for the leads
/// merged into it; `None` while a legal hold on the lead blocks it.
async fn erase_with_client(
    leads: &Executor<Lead>,
    keyring: &Keyring,
    lead_id: &str,
    metadata: &EventMetadata,
) -> Result<Option<i64>, CommandError<LeadError>> {
    let erased = erase_one_with_client(leads, keyring, lead_id, metadata).await?;
    if erased.is_some() {
        for merged in merged_into(leads, lead_id).await? {
            erase_one_with_client(leads, keyring, &merged, metadata).await?;
        }
    }
    Ok(erased)
}

async fn erase_one_with_client(
    leads: &Executor<Lead>,
    keyring: &Keyring,
    lead_id: &str,
    metadata: &EventMetadata,
) -> Result<Option<i64>, CommandError<LeadError>> {
    match leads
        .execute(lead_id, LeadCommand::EraseWithClient, metadata, None)
        .await
    {
        Ok(done) => {
            crate::leads::contacts::forget(leads.db(), lead_id)
                .await
                .map_err(CommandError::store)?;
            keyring.shred(lead_id).await.map_err(CommandError::store)?;
            Ok(Some(done.position))
        }
        Err(CommandError::Rejected(LeadError::Privacy(
            domain::privacy::PrivacyError::ErasureBlocked(_),
        ))) => Ok(None),
        Err(e) => Err(e),
    }
}

/// Lets go of the client's documents whose retention period has ended: the event, then the
/// files. Answers how many were purged.
pub async fn purge_expired_documents(
    documents: &dyn store::documents::DocumentStore,
    clients: &Executor<Client>,
    client_id: Uuid,
    metadata: &EventMetadata,
) -> Result<usize, CommandError<ClientError>> {
    let (_, events) = clients
        .execute_events(
            &client_id.to_string(),
            ClientCommand::PurgeExpiredDocuments,
            metadata,
        )
        .await?;
    let mut purged = 0;
    for e in events {
        if let ClientEvent::ClientDocumentsPurged { document_ids } = e {
            crate::clients::delete_documents(documents, client_id, Some(&document_ids))
                .await
                .map_err(CommandError::store)?;
            purged += document_ids.len();
        }
    }
    // Files of documents purged earlier whose deletion was interrupted go now too.
    let (client, _) = clients.load(&client_id.to_string()).await?;
    if client.is_onboarded() && !client.is_erased() {
        let held = client.held_documents();
        let stale = crate::clients::document_ids(documents, client_id)
            .await
            .map_err(CommandError::store)?
            .into_iter()
            .filter(|d| !held.contains(d))
            .collect::<Vec<_>>();
        if !stale.is_empty() {
            crate::clients::delete_documents(documents, client_id, Some(&stale))
                .await
                .map_err(CommandError::store)?;
        }
    }
    Ok(purged)
}
