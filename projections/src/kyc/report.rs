//! The KYC report: where cases stand, how long reviews take, what is rejected, what expires,
//! and who may not trade — computed from the KYC read model (never from the log).

use chrono::{DateTime, NaiveDate, Utc};
use domain::kyc::KycStatus;
use serde_json::Value;
use store::privacy::Keyring;
use store::Db;

use crate::leads::query::{fetch_rows, Bind, Row};
use crate::ProjectionError;

/// What the report counts.
#[derive(Debug, Clone, PartialEq)]
pub struct KycReport {
    pub as_of: DateTime<Utc>,
    /// Clients by the state of their case in hand (every state, zeros included).
    pub by_status: Vec<(&'static str, i64)>,
    /// Active clients with no KYC case at all.
    pub without_case: i64,
    /// Cases waiting for a decision by days waited: `0-2`, `3-7`, `8-30`, `31+`.
    pub review_ageing: Vec<(&'static str, i64)>,
    /// Hours from submission to approval of the verified cases.
    pub approval_hours_median: Option<f64>,
    pub approval_hours_p90: Option<f64>,
    /// Documents rejected in the cases in hand, by document type.
    pub rejected_documents: Vec<(String, i64)>,
    /// The reasons given for rejections and revision requests, most frequent first.
    pub rejection_reasons: Vec<(String, i64)>,
    /// Documents of verified cases expiring within 30, 60 and 90 days.
    pub expiring: Vec<(u32, i64)>,
    /// Verified KYC whose re-KYC date has passed, and KYC already moved to `rekyc_due`.
    pub rekyc_overdue: i64,
    /// Clients who may not trade, by why: `no_kyc_case`, `kyc_not_verified`, `rekyc_due`.
    pub trading_blocked: Vec<(&'static str, i64)>,
}

/// Sums the counts of `items` by key, most first (ties by key).
fn tally<K: Ord + Clone>(items: impl IntoIterator<Item = (K, i64)>) -> Vec<(K, i64)> {
    let mut counts = std::collections::BTreeMap::<K, i64>::new();
    for (k, n) in items {
        *counts.entry(k).or_default() += n;
    }
    let mut out: Vec<(K, i64)> = counts.into_iter().collect();
    out.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    out
}

/// Cases waiting for a decision by days waited since submission: `0-2`, `3-7`, `8-30`, `31+`
/// (the KYC report's and the compliance dashboard's).
pub fn review_ageing(
    submitted: impl IntoIterator<Item = Option<DateTime<Utc>>>,
    now: DateTime<Utc>,
) -> Vec<(&'static str, i64)> {
    let mut ageing = [("0-2", 0i64), ("3-7", 0), ("8-30", 0), ("31+", 0)];
    for at in submitted {
        let bucket = match at.map_or(0, |s| (now - s).num_days()) {
            ..=2 => 0,
            3..=7 => 1,
            8..=30 => 2,
            _ => 3,
        };
        ageing[bucket].1 += 1;
    }
    ageing.to_vec()
}

/// [`fetch_rows`], failing as a projection read does.
async fn rows<T: Row>(db: &Db, sql: String, binds: &[Bind]) -> Result<Vec<T>, ProjectionError> {
    Ok(fetch_rows(db, &sql, binds).await?)
}

/// The reasons of the cases rejected or sent back, opened with each client's key (a shredded
/// client's read as erased): only the column that holds them sealed is read, never the
/// documents.
async fn reasons(
    db: &Db,
    keyring: &Keyring,
    scope: &str,
    binds: &[Bind],
) -> Result<Vec<String>, ProjectionError> {
    let rows: Vec<(String, String)> = rows(
        db,
        format!(
            "SELECT k.client_id, k.sealed_reasons FROM kyc_cases k
              WHERE k.status IN ('rejected', 'revision_requested')
                AND k.sealed_reasons IS NOT NULL{scope}"
        ),
        binds,
    )
    .await?;
    let mut out = Vec::new();
    for (client_id, sealed) in rows {
        let mut doc: Value = serde_json::from_str(&sealed)
            .map_err(|e| ProjectionError::Event(format!("stored kyc reasons {client_id}: {e}")))?;
        keyring
            .open(&client_id, &mut doc, &["/reasons/*", "/documents/*/reason"])
            .await?;
        let texts = doc["reasons"].as_array().into_iter().flatten().chain(
            doc["documents"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|d| &d["reason"]),
        );
        out.extend(texts.filter_map(|t| t.as_str().map(str::to_string)));
    }
    Ok(out)
}

/// The report over the clients of `branch` (all when `None`), at `now`: counted from the
/// KYC read model's columns; only the reasons of rejected and sent-back cases are opened.
pub async fn kyc_report(
    db: &Db,
    keyring: &Keyring,
    branch: Option<&str>,
    now: DateTime<Utc>,
) -> Result<KycReport, ProjectionError> {
    let today: NaiveDate = domain::kyc::india_today(now);
    let day = |d: i64| (today + chrono::Duration::days(d)).to_string();
    // Every statement binds the branch first (when there is one), then its own day if any.
    let (scope, client_scope, scope_binds) = match branch {
        Some(b) => (
            " AND k.client_id IN (SELECT client_id FROM clients WHERE branch = $1)",
            " AND c.branch = $1",
            vec![Bind::Text(b.to_string())],
        ),
        None => ("", "", Vec::new()),
    };
    // The branch's binds and a day after them, at placeholder `$d`.
    let with_day = |days: i64| {
        let mut b = scope_binds.clone();
        b.push(Bind::Text(day(days)));
        b
    };
    let d = scope_binds.len() + 1;
    let (today_binds, horizon_binds) = (with_day(0), with_day(90));
    type Counts = (String, Option<String>, i64, i64);
    let (counts, waiting, approvals, rejected, expiries, without_case, reasons) = futures::try_join!(
        rows::<Counts>(
            db,
            format!(
                "SELECT k.status, k.trading_block, CAST(COUNT(*) AS bigint),
                        CAST(SUM(CASE WHEN k.next_rekyc_on < ${d} THEN 1 ELSE 0 END) AS bigint)
                   FROM kyc_cases k WHERE 1 = 1{scope} GROUP BY k.status, k.trading_block"
            ),
            &today_binds,
        ),
        rows::<(Option<DateTime<Utc>>,)>(
            db,
            format!(
                "SELECT k.submitted_at FROM kyc_cases k
                  WHERE k.status IN ('submitted', 'under_review'){scope}"
            ),
            &scope_binds,
        ),
        // The approval times at the median's and the 90th percentile's nearest ranks,
        // ⌈n/2⌉ and ⌈9n/10⌉: (seconds, rank, n).
        rows::<(i64, i64, i64)>(
            db,
            format!(
                "SELECT s, r, n FROM (
                   SELECT k.approval_seconds AS s,
                          ROW_NUMBER() OVER (ORDER BY k.approval_seconds) AS r,
                          COUNT(*) OVER () AS n
                     FROM kyc_cases k
                    WHERE k.status = 'verified' AND k.approval_seconds IS NOT NULL{scope}) a
                  WHERE r = (n + 1) / 2 OR r = (9 * n + 9) / 10"
            ),
            &scope_binds,
        ),
        rows::<(String, i64)>(
            db,
            format!(
                "SELECT k.rejected_types, CAST(COUNT(*) AS bigint) FROM kyc_cases k
                  WHERE k.rejected_types <> ' '{scope} GROUP BY k.rejected_types"
            ),
            &scope_binds,
        ),
        rows::<(String,)>(
            db,
            format!(
                // No lower bound: a case's first expiry may have passed while another of
                // its documents still expires in the window.
                "SELECT k.expiries FROM kyc_cases k
                  WHERE k.next_expiry <= ${d} AND k.status = 'verified'{scope}"
            ),
            &horizon_binds,
        ),
        // Active clients, and the clients not active who have a case: the active clients
        // without one are then the first less the cases not of the second, without looking
        // up a case for every active client.
        rows::<(i64, i64)>(
            db,
            format!(
                "SELECT (SELECT CAST(COUNT(*) AS bigint) FROM clients c
                          WHERE c.status = 'active'{client_scope}),
                        (SELECT CAST(COUNT(*) AS bigint) FROM clients c
                          WHERE c.status <> 'active'{client_scope}
                            AND EXISTS (SELECT 1 FROM kyc_cases k WHERE k.client_id = c.client_id))"
            ),
            &scope_binds,
        ),
        reasons(db, keyring, scope, &scope_binds),
    )?;
    let cases: i64 = counts.iter().map(|c| c.2).sum();
    // A case whose client the clients model has not caught up with yet counts as a case of an
    // active client for that moment (never below zero).
    let without_case = without_case
        .first()
        .map_or(0, |(active, inactive_with_case)| {
            (active - (cases - inactive_with_case)).max(0)
        });
    let count = |status: KycStatus| -> i64 {
        counts
            .iter()
            .filter(|c| c.0 == status.as_str())
            .map(|c| c.2)
            .sum()
    };
    let by_status = KycStatus::ALL
        .iter()
        .map(|s| (s.as_str(), count(*s)))
        .collect();
    let at_rank = |rank: fn(i64) -> i64| {
        approvals
            .iter()
            .find(|(_, r, n)| *r == rank(*n))
            .map(|(s, _, _)| *s as f64 / 3600.0)
    };
    let rejected_documents = tally(
        rejected
            .iter()
            .flat_map(|(types, n)| types.split_whitespace().map(|t| (t.to_string(), *n))),
    );
    let expiring = [30u32, 60, 90]
        .iter()
        .map(|days| {
            let horizon = day(i64::from(*days));
            let n = expiries
                .iter()
                .flat_map(|(dates,)| dates.split_whitespace())
                .filter(|e| *e >= day(0).as_str() && *e <= horizon.as_str())
                .count() as i64;
            (*days, n)
        })
        .collect();
    let rekyc_overdue = count(KycStatus::RekycDue)
        + counts
            .iter()
            .filter(|c| c.0 == KycStatus::Verified.as_str())
            .map(|c| c.3)
            .sum::<i64>();
    let blocked = |why: &str| -> i64 {
        counts
            .iter()
            .filter(|c| c.1.as_deref() == Some(why))
            .map(|c| c.2)
            .sum()
    };
    Ok(KycReport {
        as_of: now,
        by_status,
        without_case,
        review_ageing: review_ageing(waiting.iter().map(|(at,)| *at), now),
        approval_hours_median: at_rank(|n| (n + 1) / 2),
        approval_hours_p90: at_rank(|n| (9 * n + 9) / 10),
        rejected_documents,
        rejection_reasons: tally(reasons.into_iter().map(|r| (r, 1))),
        expiring,
        rekyc_overdue,
        trading_blocked: vec![
            ("no_kyc_case", without_case),
            ("kyc_not_verified", blocked("kyc_not_verified")),
            ("rekyc_due", blocked("rekyc_due")),
        ],
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tallies_put_the_most_frequent_first() {
        let t = tally([("b", 1), ("a", 2), ("b", 2), ("c", 1)]);
        assert_eq!(t, vec![("b", 3), ("a", 2), ("c", 1)]);
    }
}
