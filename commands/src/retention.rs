//! The retention run: carries out what the retention policy and erasure requests make due, and
//! finishes any erasure whose key destruction was interrupted. Run by `crm retention run` and
//! daily by the server.
//!
//! - Leads that never became clients and asked for erasure: shredded (no record-keeping duty).
//! - Clients whose relationship ended: KYC documents go when their period ends; the whole
//!   record (and the lead it came from) when the client records' period ends, asked or not,
//!   unless a legal hold stands.

use std::time::Duration;

use store::EventMetadata;

use crate::lookups::LookupError;
use crate::privacy::erasure::{
    erase_client_if_allowed, erase_if_allowed, purge_expired_documents, Erasure,
};
use crate::WriteSide;

/// What one run did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct RetentionReport {
    pub erased: Vec<String>,
    /// Subjects who asked for erasure and still wait, with why.
    pub blocked: Vec<(String, &'static str)>,
    /// Clients whose expired documents were let go, with how many.
    pub documents_purged: Vec<(String, usize)>,
    pub failed: Vec<String>,
}

/// Carries out what is due now. The read models must be current (the lists of what to look
/// at come from them); each subject is decided on its own events.
pub async fn run(write: &WriteSide) -> Result<RetentionReport, LookupError> {
    let (db, leads, clients, keyring) = (&write.db, &write.leads, &write.clients, &*write.keyring);
    let mut report = RetentionReport::default();
    let due = write.lookups.lead_erasures_due().await?;
    for id in due {
        let meta = EventMetadata::system(None);
        match erase_if_allowed(leads, keyring, &id, &meta).await {
            Ok(Erasure::Erased { .. }) => report.erased.push(id),
            Ok(Erasure::Blocked { reason }) => report.blocked.push((id, reason)),
            // One subject that fails must not hold up the others; it is tried again next run.
            Err(e) => {
                tracing::error!(lead = %id, error = %e, "erasure failed");
                report.failed.push(id);
            }
        }
    }
    for watched in write.lookups.clients_to_watch().await? {
        let (client_id, asked) = (watched.client_id, watched.erasure_asked);
        let id = client_id.to_string();
        let meta = EventMetadata::system(None);
        match purge_expired_documents(&*write.documents, clients, client_id, &meta).await {
            Ok(0) => {}
            Ok(n) => report.documents_purged.push((id.clone(), n)),
            Err(e) => {
                tracing::error!(client = %id, error = %e, "document purge failed");
                report.failed.push(id);
                continue;
            }
        }
        let documents = &*write.documents;
        match erase_client_if_allowed(db, documents, clients, leads, keyring, client_id, &meta)
            .await
        {
            Ok(Erasure::Erased { .. }) => report.erased.push(id),
            Ok(Erasure::Blocked { reason }) if asked => report.blocked.push((id, reason)),
            Ok(Erasure::Blocked { .. }) => {}
            Err(e) => {
                tracing::error!(client = %id, error = %e, "erasure failed");
                report.failed.push(id);
            }
        }
    }
    Ok(report)
}

/// Runs [`run`] now and then once a day, logging counts (never ids or data).
pub async fn daily(write: &WriteSide) {
    loop {
        match run(write).await {
            Ok(r)
                if r.erased.is_empty() && r.blocked.is_empty() && r.documents_purged.is_empty() => {
            }
            Ok(r) => tracing::info!(
                erased = r.erased.len(),
                kept = r.blocked.len(),
                documents_purged = r.documents_purged.iter().map(|(_, n)| n).sum::<usize>(),
                "retention run"
            ),
            Err(e) => tracing::error!(error = %e, "retention run failed"),
        }
        tokio::time::sleep(Duration::from_secs(24 * 3600)).await;
    }
}
