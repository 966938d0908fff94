//! The dormancy step: an active account with no interaction or trade for the configured period
//! becomes `inactive`, once (the aggregate leaves any account that is not active as it is, so a
//! repeated run or another process marks nobody twice).

use std::time::Duration;

use chrono::NaiveDate;
use domain::client::ClientCommand;
use domain::values::RetentionPeriod;
use store::EventMetadata;

use crate::lookups::LookupError;
use crate::WriteSide;

/// What a dormancy run did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct DormancyRun {
    /// Active accounts found without activity since the cut-off.
    pub checked: usize,
    /// Marked inactive now.
    pub marked: usize,
    /// Accounts the step failed for (logged; tried again next run).
    pub failed: usize,
}

/// The first day that still counts as recent activity on `today` for a period of `after`.
pub fn cutoff(today: NaiveDate, after: RetentionPeriod) -> NaiveDate {
    match after {
        RetentionPeriod::Years(y) => today
            .checked_sub_months(chrono::Months::new(12 * y))
            .unwrap_or(NaiveDate::MIN),
        RetentionPeriod::Days(d) => today - chrono::Duration::days(i64::from(d)),
    }
}

/// Marks inactive every active account without activity on or after the cut-off for `today`.
/// The read models must be current.
pub async fn run(
    write: &WriteSide,
    today: NaiveDate,
    after: RetentionPeriod,
) -> Result<DormancyRun, LookupError> {
    let found = write.lookups.dormant_clients(cutoff(today, after)).await?;
    let meta = EventMetadata::system(None);
    let mut report = DormancyRun {
        checked: found.len(),
        ..Default::default()
    };
    for (client, last_activity_on) in found {
        let command = ClientCommand::MarkDormant { last_activity_on };
        match write
            .clients
            .execute(&client.to_string(), command, &meta, None)
            .await
        {
            Ok(done) => report.marked += done.appended,
            Err(e) => {
                tracing::warn!(error = %e, "dormancy step failed for a client");
                report.failed += 1;
            }
        }
    }
    Ok(report)
}

/// The read models the step decides from.
const READ_MODELS: &[&str] = &["clients", "portfolios"];

/// Whether the read models the step decides from have applied the whole log, waiting up to
/// half a minute for them (a lagging or rebuilding read model would show a recent activation or
/// trade missing, and mark an active account dormant).
async fn current(write: &WriteSide) -> Result<bool, LookupError> {
    for _ in 0..30 {
        if write.lookups.lag_of(READ_MODELS).await? == 0 {
            return Ok(true);
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    Ok(false)
}

/// Runs [`run`] a minute after start and then every `every`, each time once the read models it
/// decides from are current (else the run waits for the next turn), logging counts (never ids
/// or data).
pub async fn every(write: &WriteSide, every: Duration, after: RetentionPeriod) {
    tokio::time::sleep(Duration::from_secs(60)).await;
    loop {
        match current(write).await {
            Ok(true) => {}
            Ok(false) => {
                tracing::warn!("dormancy run deferred: the read models are behind the log");
                tokio::time::sleep(every).await;
                continue;
            }
            Err(e) => {
                tracing::error!(error = %e, "dormancy run failed");
                tokio::time::sleep(every).await;
                continue;
            }
        }
        let today = domain::kyc::india_today(write.clients.services().clock.now());
        match run(write, today, after).await {
            Ok(r) if r.marked == 0 && r.failed == 0 => {}
            Ok(r) => tracing::info!(
                checked = r.checked,
                marked = r.marked,
                failed = r.failed,
                "dormancy run"
            ),
            Err(e) => tracing::error!(error = %e, "dormancy run failed"),
        }
        tokio::time::sleep(every).await;
    }
}
