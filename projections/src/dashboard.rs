//! The counts role dashboards show, each one query over a read model's indexed columns (never
//! a document opened): leads by status, follow-ups due, assets at cost, the KYC queue.

use chrono::{DateTime, Duration, NaiveDate, Utc};
use domain::access::{ClientScope, LeadScope};
use rust_decimal::Decimal;
use store::{with_db, Db};

use crate::clients::query::push_scope;
use crate::leads::query::{bind_all, ist_day, push_visible, Bind, Sql};
use crate::ProjectionError;

/// The leads being worked (not archived, merged or erased) by status, from the counts the
/// leads read model keeps.
pub async fn leads_by_status(
    db: &Db,
    visible: &Option<LeadScope>,
) -> Result<Vec<(String, i64)>, ProjectionError> {
    let mut sql = Sql::default();
    let no = sql.bind(Bind::Bool(false));
    sql.and(format!("archived = {no} AND erased = {no}"));
    push_visible(&mut sql, visible);
    let q = format!(
        "SELECT status, CAST(SUM(n) AS bigint) FROM lead_counts{} GROUP BY status",
        sql.where_clause()
    );
    let mut rows: Vec<(String, i64)> = with_db!(db, pool => {
        bind_all!(sqlx::query_as(&q), &sql.binds).fetch_all(pool).await?
    });
    let order = |s: &str| {
        domain::lead::LeadStatus::ALL
            .iter()
            .position(|x| x.as_str() == s)
    };
    rows.sort_by_key(|(s, _)| order(s));
    Ok(domain::lead::LeadStatus::ALL
        .iter()
        .map(|s| {
            let n = rows
                .iter()
                .find(|(k, _)| k == s.as_str())
                .map_or(0, |r| r.1);
            (s.as_str().to_string(), n)
        })
        .collect())
}

/// Open follow-ups on leads and clients: (due later today, overdue), Indian days.
pub async fn follow_ups_due(
    db: &Db,
    visible: &Option<LeadScope>,
    clients: &ClientScope,
    now: DateTime<Utc>,
) -> Result<(i64, i64), ProjectionError> {
    let (_, end) = ist_day(now);
    let mut leads = Sql::default();
    let open = leads.bind(Bind::Text("open".into()));
    let no = leads.bind(Bind::Bool(false));
    let yes = leads.bind(Bind::Bool(true));
    leads.and(format!("state = {open} AND archived = {no}"));
    leads.and(format!(
        "lead_id NOT IN (SELECT lead_id FROM leads WHERE erased = {yes})"
    ));
    push_visible(&mut leads, visible);
    let mut owned = Sql::default();
    push_scope(&mut owned, clients);
    let mut out = (0, 0);
    for (table, mut sql) in [("lead_follow_ups", leads), ("client_follow_ups", owned)] {
        let (n, e) = (sql.bind(Bind::Time(now)), sql.bind(Bind::Time(end)));
        sql.and(format!("due_at < {e}"));
        let q = format!(
            "SELECT CAST(COALESCE(SUM(CASE WHEN due_at >= {n} AND due_at < {e} THEN 1 ELSE 0 END), 0) AS bigint),
                    CAST(COALESCE(SUM(CASE WHEN due_at < {n} THEN 1 ELSE 0 END), 0) AS bigint)
               FROM {table}{}",
            sql.where_clause()
        );
        let (today, overdue): (i64, i64) = with_db!(db, pool => {
            bind_all!(sqlx::query_as(&q), &sql.binds).fetch_one(pool).await?
        });
        out.0 += today;
        out.1 += overdue;
    }
    Ok(out)
}

/// What the clients in `scope` hold, at cost: (clients holding any quantity of anything, the
/// sum), from the portfolio model's tallies.
pub async fn invested(db: &Db, scope: &ClientScope) -> Result<(i64, Decimal), ProjectionError> {
    let mut sql = Sql::default();
    push_scope(&mut sql, scope);
    sql.and("holders > 0".into());
    let costs = format!("SELECT cost FROM holding_tally{}", sql.where_clause());
    let holders = format!(
        "SELECT CAST(COALESCE(SUM(holders), 0) AS bigint) FROM holder_tally{} AND asset_class = ''",
        sql.where_clause()
    );
    // Both in one transaction: the holders and what they hold as of the same batch.
    let postgres = db.kind() == "postgres";
    let (costs, holders): (Vec<String>, i64) = with_db!(db, pool => {
        let mut tx = crate::leads::query::begin_snapshot!(pool, postgres);
        let costs = bind_all!(sqlx::query_scalar(&costs), &sql.binds).fetch_all(&mut *tx).await?;
        let holders = bind_all!(sqlx::query_scalar(&holders), &sql.binds).fetch_one(&mut *tx).await?;
        tx.commit().await?;
        (costs, holders)
    });
    let mut sum = Decimal::ZERO;
    for c in costs {
        sum += c
            .parse::<Decimal>()
            .map_err(|_| ProjectionError::Event(format!("holding tally: cost {c}")))?;
    }
    Ok((holders, sum))
}

/// The KYC work of compliance: cases waiting for a decision and for how long, expiries coming,
/// re-KYC overdue and alerts.
#[derive(Debug, Clone, PartialEq)]
pub struct KycQueue {
    /// `submitted` and `under_review` cases.
    pub waiting: Vec<(&'static str, i64)>,
    /// Waiting cases by days since submission: `0-2`, `3-7`, `8-30`, `31+`.
    pub ageing: Vec<(&'static str, i64)>,
    pub oldest_submitted_at: Option<DateTime<Utc>>,
    /// Verified cases whose first document expiry falls within 30, 60 and 90 days.
    pub expiring: Vec<(u32, i64)>,
    pub rekyc_overdue: i64,
    /// Cases in hand with alerts raised, and the alerts.
    pub cases_with_alerts: i64,
    pub alerts: i64,
}

/// Waiting cases: their status and when they were submitted.
type Waiting = Vec<(String, Option<DateTime<Utc>>)>;

/// The KYC queue over every client (compliance sees them all).
pub async fn kyc_queue(db: &Db, now: DateTime<Utc>) -> Result<KycQueue, ProjectionError> {
    let today = domain::kyc::india_today(now);
    let day = |d: i64| (today + Duration::days(d)).format("%Y-%m-%d").to_string();
    let (waiting, expiring, overdue, alerts): (Waiting, Vec<String>, i64, (i64, i64)) = with_db!(db, pool => {
        let waiting = sqlx::query_as(
            "SELECT status, submitted_at FROM kyc_cases WHERE status IN ('submitted', 'under_review')",
        )
        .fetch_all(pool)
        .await?;
        let expiring = sqlx::query_scalar(
            "SELECT next_expiry FROM kyc_cases
              WHERE status = 'verified' AND next_expiry >= $1 AND next_expiry <= $2",
        )
        .bind(day(0))
        .bind(day(90))
        .fetch_all(pool)
        .await?;
        let overdue = sqlx::query_scalar(
            "SELECT COUNT(*) FROM kyc_cases
              WHERE status = 'rekyc_due' OR (status = 'verified' AND next_rekyc_on < $1)",
        )
        .bind(day(0))
        .fetch_one(pool)
        .await?;
        let alerts = sqlx::query_as(
            "SELECT CAST(COALESCE(SUM(CASE WHEN alert_count > 0 THEN 1 ELSE 0 END), 0) AS bigint),
                    CAST(COALESCE(SUM(alert_count), 0) AS bigint)
               FROM kyc_cases",
        )
        .fetch_one(pool)
        .await?;
        (waiting, expiring, overdue, alerts)
    });
    let count = |s: &str| waiting.iter().filter(|(w, _)| w == s).count() as i64;
    let within = |d: i64| {
        expiring
            .iter()
            .filter_map(|e| NaiveDate::parse_from_str(e, "%Y-%m-%d").ok())
            .filter(|e| (*e - today).num_days() <= d)
            .count() as i64
    };
    Ok(KycQueue {
        waiting: vec![
            ("submitted", count("submitted")),
            ("under_review", count("under_review")),
        ],
        ageing: crate::kyc::report::review_ageing(waiting.iter().map(|w| w.1), now),
        oldest_submitted_at: waiting.iter().filter_map(|w| w.1).min(),
        expiring: vec![(30, within(30)), (60, within(60)), (90, within(90))],
        rekyc_overdue: overdue,
        cases_with_alerts: alerts.0,
        alerts: alerts.1,
    })
}
