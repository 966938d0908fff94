//! The segment review: each open client's assets under management (held quantities at today's
//! prices, at cost where none is known) against the configured thresholds, with their declared
//! net worth. Only clients whose segment would move get a command, and the aggregate records
//! the move once (a repeated run, or another process, moves nobody twice).

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use commands::investments::prices::PriceBook;
use commands::WriteSide;
use domain::client::{ClientCommand, NetWorthBand, Segment, SegmentThresholds};
use domain::values::Isin;
use rust_decimal::Decimal;
use store::EventMetadata;
use uuid::Uuid;

/// What a review did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct SegmentRun {
    /// Open clients looked at.
    pub checked: usize,
    /// Moved to another segment now.
    pub moved: usize,
    /// Clients the step failed for (logged; tried again next run).
    pub failed: usize,
}

/// Each client's assets under management (INR).
async fn assets(write: &WriteSide, prices: &PriceBook) -> Result<BTreeMap<Uuid, Decimal>, String> {
    let all = domain::access::ClientScope::All;
    let portfolios = projections::investments::query::portfolios_in(&write.db, &all, None)
        .await
        .map_err(|e| e.to_string())?;
    let held: BTreeSet<Isin> = portfolios
        .iter()
        .flat_map(|p| &p.holdings)
        .map(|h| h.isin.clone())
        .collect();
    let held: Vec<Isin> = held.into_iter().collect();
    // Without prices every holding would be valued at cost and clients would move and move
    // back: the run waits for the next turn instead.
    let quotes = prices
        .prices(&held, None)
        .await
        .map_err(|e| format!("no prices could be read: {e}"))?;
    if let Some(missing) = held.iter().find(|i| !quotes.contains_key(*i)) {
        return Err(format!(
            "no price for {} (and maybe others): the review waits for prices",
            missing.as_str()
        ));
    }
    Ok(portfolios
        .iter()
        .map(|p| {
            let aum = p
                .holdings
                .iter()
                .map(|h| match quotes.get(&h.isin) {
                    Some((on, _)) => on.quote.price * h.quantity,
                    None => h.cost,
                })
                .sum();
            (p.client_id, aum)
        })
        .collect())
}

/// Reviews every open client's segment (not of people who asked for erasure). The read models
/// must be current.
pub async fn run(
    write: &WriteSide,
    prices: &PriceBook,
    thresholds: SegmentThresholds,
) -> Result<SegmentRun, String> {
    let aums = assets(write, prices).await?;
    let clients = projections::clients::query::segments(&write.db)
        .await
        .map_err(|e| e.to_string())?;
    let meta = EventMetadata::system(None);
    let mut report = SegmentRun {
        checked: clients.len(),
        ..Default::default()
    };
    for (client, now, net_worth) in clients {
        let aum = aums.get(&client).copied().unwrap_or_default();
        let declared = net_worth.as_deref().and_then(NetWorthBand::parse);
        let current = Segment::parse(&now).unwrap_or(Segment::Retail);
        if thresholds.review(current, declared, Some(aum)) == current {
            continue;
        }
        let command = ClientCommand::ReviewSegment { aum };
        match write
            .clients
            .execute(&client.to_string(), command, &meta, None)
            .await
        {
            Ok(done) => report.moved += done.appended,
            Err(e) => {
                tracing::warn!(error = %e, "segment review failed for a client");
                report.failed += 1;
            }
        }
    }
    Ok(report)
}

/// Runs [`run`] two minutes after start and then every `every`, each time once the clients and
/// portfolios read models are current, logging counts (never ids or data).
pub async fn every(
    write: &WriteSide,
    prices: &PriceBook,
    thresholds: SegmentThresholds,
    every: Duration,
) {
    tokio::time::sleep(Duration::from_secs(120)).await;
    loop {
        match write.lookups.lag_of(&["clients", "portfolios"]).await {
            Ok(0) => match run(write, prices, thresholds).await {
                Ok(r) if r.moved == 0 && r.failed == 0 => {}
                Ok(r) => tracing::info!(
                    checked = r.checked,
                    moved = r.moved,
                    failed = r.failed,
                    "segment review"
                ),
                Err(e) => tracing::error!(error = %e, "segment review failed"),
            },
            Ok(_) => tracing::warn!("segment review deferred: the read models are behind the log"),
            Err(e) => tracing::error!(error = %e, "segment review failed"),
        }
        tokio::time::sleep(every).await;
    }
}
