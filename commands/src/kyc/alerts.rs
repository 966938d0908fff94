//! The KYC alert run: for every client whose verified KYC has a document expiring or re-KYC
//! falling due within the window, one alert per item and window (the aggregate remembers which
//! it raised, so restarts and rebuilds repeat none), and the step to `rekyc_due` for those due
//! already.

use std::time::Duration;

use chrono::NaiveDate;
use domain::kyc::{KycCommand, KycError};
use store::EventMetadata;

use crate::lookups::LookupError;
use crate::{CommandError, WriteSide};

/// What an alert run did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct AlertRun {
    /// Clients looked at.
    pub checked: usize,
    /// Alerts raised.
    pub raised: usize,
    /// Clients whose KYC became due.
    pub due: usize,
    /// Clients a step failed for (logged; tried again next run).
    pub failed: usize,
}

/// Runs the alerts for `today` with a window of `within_days`.
pub async fn run(
    write: &WriteSide,
    today: NaiveDate,
    within_days: u32,
) -> Result<AlertRun, LookupError> {
    let horizon = today + chrono::Duration::days(i64::from(within_days));
    let clients = write.lookups.kyc_to_check(horizon).await?;
    let meta = EventMetadata::system(None);
    let mut report = AlertRun {
        checked: clients.len(),
        ..Default::default()
    };
    for client in clients {
        let id = client.to_string();
        let raise = KycCommand::RaiseAlerts { today, within_days };
        match write.kyc.execute(&id, raise, &meta, None).await {
            Ok(done) => report.raised += done.appended,
            Err(e) => {
                tracing::warn!(error = %e, "KYC alerts failed for a client");
                report.failed += 1;
                continue;
            }
        }
        match write
            .kyc
            .execute(&id, KycCommand::CheckDue { today }, &meta, None)
            .await
        {
            Ok(_) => report.due += 1,
            Err(CommandError::Rejected(KycError::NotDue | KycError::NotAllowed { .. })) => {}
            Err(e) => {
                tracing::warn!(error = %e, "KYC due check failed for a client");
                report.failed += 1;
            }
        }
    }
    Ok(report)
}

/// Runs [`run`] now and then every `every`, logging counts (never ids or data).
pub async fn every(write: &WriteSide, every: Duration, within_days: u32) {
    loop {
        let today = domain::kyc::india_today(write.kyc.services().clock.now());
        match run(write, today, within_days).await {
            Ok(r) if r.raised == 0 && r.due == 0 && r.failed == 0 => {}
            Ok(r) => tracing::info!(
                checked = r.checked,
                raised = r.raised,
                due = r.due,
                failed = r.failed,
                "KYC alert run"
            ),
            Err(e) => tracing::error!(error = %e, "KYC alert run failed"),
        }
        tokio::time::sleep(every).await;
    }
}
