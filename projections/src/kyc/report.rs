//! The KYC report: where cases stand, how long reviews take, what is rejected, what expires,
//! and who may not trade — computed from the KYC read model (never from the log).

use chrono::{DateTime, NaiveDate, Utc};
use domain::kyc::KycStatus;
use serde::Deserialize;
use serde_json::Value;
use store::privacy::Keyring;
use store::{with_db, Db};

use super::KycView;
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

fn percentile(sorted: &[f64], p: f64) -> Option<f64> {
    if sorted.is_empty() {
        return None;
    }
    let rank = ((p * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    Some(sorted[rank - 1])
}

/// Counts `items` by key, most frequent first (ties by key).
fn tally<K: Ord + Clone>(items: impl IntoIterator<Item = K>) -> Vec<(K, i64)> {
    let mut counts = std::collections::BTreeMap::<K, i64>::new();
    for k in items {
        *counts.entry(k).or_default() += 1;
    }
    let mut out: Vec<(K, i64)> = counts.into_iter().collect();
    out.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    out
}

/// The report over the clients of `branch` (all when `None`), at `now`.
pub async fn kyc_report(
    db: &Db,
    keyring: &Keyring,
    branch: Option<&str>,
    now: DateTime<Utc>,
) -> Result<KycReport, ProjectionError> {
    let rows: Vec<(String, Value)> = with_db!(db, pool => {
        sqlx::query_as(
            "SELECT k.client_id, k.doc FROM kyc_cases k JOIN clients c ON c.client_id = k.client_id
              WHERE ($1 IS NULL OR c.branch = $1) ORDER BY k.client_id",
        )
        .bind(branch)
        .fetch_all(pool)
        .await?
    });
    let without_case: i64 = with_db!(db, pool => {
        sqlx::query_scalar(
            "SELECT COUNT(*) FROM clients c LEFT JOIN kyc_cases k ON k.client_id = c.client_id
              WHERE k.client_id IS NULL AND c.status = 'active' AND ($1 IS NULL OR c.branch = $1)",
        )
        .bind(branch)
        .fetch_one(pool)
        .await?
    });
    let today: NaiveDate = domain::kyc::india_today(now);
    // Counting needs no personal data: the documents are read sealed, as stored.
    let mut views = Vec::with_capacity(rows.len());
    let mut decided = Vec::new();
    for (id, doc) in &rows {
        let view = KycView::deserialize(doc)
            .map_err(|e| ProjectionError::Event(format!("stored kyc view {id}: {e}")))?;
        if matches!(
            view.status,
            KycStatus::Rejected | KycStatus::RevisionRequested
        ) {
            decided.push((id.clone(), doc.clone()));
        }
        views.push(view);
    }
    let by_status = KycStatus::ALL
        .iter()
        .map(|s| {
            let n = views.iter().filter(|v| v.status == *s).count() as i64;
            (s.as_str(), n)
        })
        .collect();
    let mut ageing = [("0-2", 0i64), ("3-7", 0), ("8-30", 0), ("31+", 0)];
    for v in views
        .iter()
        .filter(|v| matches!(v.status, KycStatus::Submitted | KycStatus::UnderReview))
    {
        let days = v.submitted_at.map_or(0, |s| (now - s).num_days());
        let bucket = match days {
            ..=2 => 0,
            3..=7 => 1,
            8..=30 => 2,
            _ => 3,
        };
        ageing[bucket].1 += 1;
    }
    let mut hours: Vec<f64> = views
        .iter()
        .filter(|v| v.status == KycStatus::Verified)
        .filter_map(|v| Some((v.decided_at? - v.submitted_at?).num_seconds() as f64 / 3600.0))
        .collect();
    hours.sort_by(|a, b| a.total_cmp(b));
    let rejected_documents = tally(views.iter().flat_map(|v| {
        v.documents
            .iter()
            .filter(|d| d.state == "rejected")
            .map(|d| d.document_type.as_str().to_string())
    }));
    // Reasons are the person's data: opened only for the cases that have them.
    let mut reasons = Vec::new();
    for (id, doc) in decided {
        let view: KycView = crate::sealed::open_view(keyring, &id, doc).await?;
        reasons.extend(view.reasons.iter().cloned());
        reasons.extend(view.documents.iter().filter_map(|d| d.reason.clone()));
    }
    let expiring = [30u32, 60, 90]
        .iter()
        .map(|days| {
            let horizon = today + chrono::Duration::days(i64::from(*days));
            let n = views
                .iter()
                .filter(|v| v.status == KycStatus::Verified)
                .flat_map(|v| &v.documents)
                .filter(|d| d.state != "rejected")
                .filter(|d| d.expiry_date.is_some_and(|e| e >= today && e <= horizon))
                .count() as i64;
            (*days, n)
        })
        .collect();
    let rekyc_overdue = views
        .iter()
        .filter(|v| {
            v.status == KycStatus::RekycDue
                || (v.status == KycStatus::Verified && v.next_rekyc_on.is_some_and(|d| d < today))
        })
        .count() as i64;
    let blocked = |why: &str| {
        views
            .iter()
            .filter(|v| v.trading_block() == Some(why))
            .count() as i64
    };
    Ok(KycReport {
        as_of: now,
        by_status,
        without_case,
        review_ageing: ageing.to_vec(),
        approval_hours_median: percentile(&hours, 0.5),
        approval_hours_p90: percentile(&hours, 0.9),
        rejected_documents,
        rejection_reasons: tally(reasons),
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
    fn percentiles_take_the_nearest_rank() {
        let v = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0, 10.0];
        assert_eq!(percentile(&v, 0.5), Some(5.0));
        assert_eq!(percentile(&v, 0.9), Some(9.0));
        assert_eq!(percentile(&[7.5], 0.9), Some(7.5));
        assert_eq!(percentile(&[], 0.5), None);
    }

    #[test]
    fn tallies_put_the_most_frequent_first() {
        let t = tally(["b", "a", "b", "c", "a", "b"]);
        assert_eq!(t, vec![("b", 3), ("a", 2), ("c", 1)]);
    }
}
