//! The retention run: carries out erasures that are due (asked for, no legal hold, no
//! record-keeping duty left) and finishes any whose key destruction was interrupted. Run by
//! `crm retention run` and daily by the server.

use std::sync::Arc;
use std::time::Duration;

use commands::privacy::erasure::{erase_if_allowed, Erasure};
use commands::privacy::Keyring;
use commands::{Db, EventMetadata, Executor};
use domain::lead::Lead;

/// What one run did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct RetentionReport {
    pub erased: Vec<String>,
    pub blocked: Vec<(String, &'static str)>,
    pub failed: Vec<String>,
}

pub async fn run(
    db: &Db,
    leads: &Executor<Lead>,
    keyring: &Keyring,
) -> Result<RetentionReport, String> {
    let due = projections::leads::query::erasures_due(db)
        .await
        .map_err(|e| e.to_string())?;
    let mut report = RetentionReport::default();
    for id in due {
        let meta = EventMetadata::system(None);
        match erase_if_allowed(leads, keyring, &id, &meta).await {
            Ok(Erasure::Erased { .. }) => report.erased.push(id),
            Ok(Erasure::Blocked { reason }) => report.blocked.push((id, reason)),
            // One lead that fails must not hold up the others; it is tried again next run.
            Err(e) => {
                tracing::error!(lead = %id, error = %e, "erasure failed");
                report.failed.push(id);
            }
        }
    }
    Ok(report)
}

/// Runs [`run`] now and then once a day, logging counts (never ids or data).
pub async fn daily(state: Arc<crate::http::AppState>) {
    loop {
        match run(&state.db, &state.leads, &state.keyring).await {
            Ok(r) if r.erased.is_empty() && r.blocked.is_empty() => {}
            Ok(r) => tracing::info!(
                erased = r.erased.len(),
                kept = r.blocked.len(),
                "retention run"
            ),
            Err(e) => tracing::error!(error = %e, "retention run failed"),
        }
        tokio::time::sleep(Duration::from_secs(24 * 3600)).await;
    }
}
