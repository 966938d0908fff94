//! The client report's numbers from the clients and portfolio read models: who the clients are
//! (age band, state, city, occupation, income, segment), how often they trade, and how long
//! since they were last active.

use std::collections::BTreeMap;

use chrono::{DateTime, Datelike, NaiveDate, Utc};
use store::Db;

use super::query::{push_scope, ClientScope};
use crate::leads::query::{fetch_rows, Bind, Sql};
use crate::ProjectionError;

/// Counts by key, most first (ties by key).
pub type Tally = Vec<(String, i64)>;

#[derive(Debug, Clone, PartialEq, Default)]
pub struct ClientReport {
    /// Clients counted (open accounts: not closed or erased).
    pub clients: i64,
    pub by_age_band: Tally,
    pub by_state: Tally,
    /// The 20 cities with the most clients.
    pub by_city: Tally,
    pub by_occupation: Tally,
    pub by_income: Tally,
    pub by_segment: Tally,
    pub by_status: Tally,
    /// Clients by trades in the period: `0`, `1-2`, `3-10`, `11+`.
    pub trading_frequency: Tally,
    /// Trades in force in the period and in the one before, and clients who traded.
    pub trades: (i64, i64),
    pub traders: (i64, i64),
    /// Clients by days since their last activity (an interaction, a status move, a trade):
    /// `0-30`, `31-90`, `91-180`, `181-365`, `366+`.
    pub days_since_activity: Tally,
    /// Clients onboarded in the period and in the one before (whatever became of them since).
    pub onboarded: (i64, i64),
}

/// A period of the report: its Indian days `[from, to]` and the instants they span.
#[derive(Debug, Clone, Copy)]
pub struct Days {
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
}

/// The dimensions the report counts clients by, and the saved column each is counted from
/// (ages from the birth year).
pub const DIMENSIONS: [(&str, &str); 7] = [
    ("age", "birth_year"),
    ("state", "state"),
    ("city", "city"),
    ("occupation", "occupation"),
    ("income", "income"),
    ("segment", "segment"),
    ("status", "status"),
];

/// The age bands the report counts.
pub const AGE_BANDS: [(&str, u32, u32); 6] = [
    ("below_25", 0, 24),
    ("25-34", 25, 34),
    ("35-44", 35, 44),
    ("45-59", 45, 59),
    ("60+", 60, 200),
    ("unknown", 0, 0),
];

fn age_band(birth_year: Option<&str>, today: NaiveDate) -> &'static str {
    let Some(age) = birth_year
        .and_then(|y| y.parse::<i32>().ok())
        .map(|y| today.year() - y)
        .filter(|a| *a >= 0)
    else {
        return "unknown";
    };
    AGE_BANDS
        .iter()
        .find(|(_, lo, hi)| (*lo as i32..=*hi as i32).contains(&age))
        .map_or("unknown", |b| b.0)
}

fn bucket(n: i64, bounds: &[(i64, &'static str)], last: &'static str) -> &'static str {
    bounds
        .iter()
        .find(|(hi, _)| n <= *hi)
        .map_or(last, |(_, name)| name)
}

/// Counts by key, most first (ties by key), in `order` when given (every key of it listed).
fn tally(mut counts: BTreeMap<String, i64>, order: Option<&[&str]>) -> Tally {
    if let Some(o) = order {
        for k in o {
            counts.entry(k.to_string()).or_default();
        }
    }
    let mut out: Tally = counts.into_iter().collect();
    match order {
        Some(o) => out.sort_by_key(|(k, _)| o.iter().position(|x| x == k)),
        None => out.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0))),
    }
    out
}

/// The report over the open accounts in `scope` (and `branch`), trades and onboarding counted
/// in the period and the one before, at `today`. The distributions are read from their counts;
/// the rest is counted by the database, and only the groups come back.
pub async fn client_report(
    db: &Db,
    scope: &ClientScope,
    branch: Option<&str>,
    (period, before): (Days, Days),
    today: NaiveDate,
) -> Result<ClientReport, ProjectionError> {
    let mut sql = Sql::default();
    push_scope(&mut sql, scope);
    if let Some(b) = branch {
        let bb = sql.bind(Bind::Text(b.to_string()));
        sql.and(format!("branch = {bb}"));
    }
    // Onboarding and trades are past events: counted whatever became of the account since.
    let in_scope: String = sql.conditions.iter().map(|c| format!("{c} AND ")).collect();
    sql.and("status NOT IN ('closed', 'erased')".into());
    let open = sql.where_clause();
    // The distributions, from their counts.
    let counts_sql = format!(
        "SELECT dimension, COALESCE(value, 'unknown'), CAST(SUM(n) AS bigint)
           FROM clients_counts{open} GROUP BY 1, 2"
    );
    let counts_binds = sql.binds.clone();
    // The day of each open client's last activity (a trade or else), counted by day. Only a
    // later trade is joined: the condition on the day keeps the lookup in the index of last
    // trades, never in the portfolios' documents.
    let active_sql = format!(
        "SELECT 'active', COALESCE(p.last_trade_on, c.activity_on), COUNT(*)
           FROM clients c LEFT JOIN portfolios p
             ON p.client_id = c.client_id AND p.last_trade_on > c.activity_on{open}
          GROUP BY 2"
    );
    // The clients in scope who traded in a period by how often, closed and erased accounts
    // apart (`n`): (frequency, open, clients, trades). The period's trades are grouped by
    // client first; only then are the clients looked up, as lists made once (a trade whose
    // client the clients model has not caught up with yet is left out).
    let traded = |days: &Days| {
        let mut q = Sql {
            conditions: Vec::new(),
            binds: counts_binds.clone(),
        };
        let (f, t) = (
            q.bind(Bind::Text(days.from.to_string())),
            q.bind(Bind::Text(days.to.to_string())),
        );
        let sql = format!(
            "SELECT CASE WHEN n <= 2 THEN '1-2' WHEN n <= 10 THEN '3-10' ELSE '11+' END,
                    CASE WHEN g.c IN (SELECT client_id FROM clients
                                       WHERE {in_scope}status IN ('closed', 'erased'))
                         THEN 'n' ELSE 'y' END,
                    COUNT(*), CAST(SUM(n) AS bigint)
               FROM (SELECT t.client_id AS c, COUNT(*) AS n FROM portfolio_trades t
                      WHERE t.status = 'in_force' AND t.trade_date >= {f} AND t.trade_date <= {t}
                      GROUP BY t.client_id) g
              WHERE g.c IN (SELECT client_id FROM clients WHERE {in_scope}1 = 1)
              GROUP BY 1, 2"
        );
        (sql, q.binds)
    };
    let (traded_now, traded_before) = (traded(&period), traded(&before));
    // Clients onboarded in each period (whatever became of them since).
    let mut o = Sql {
        conditions: Vec::new(),
        binds: counts_binds.clone(),
    };
    let (s0, e0, s1, e1) = (
        o.bind(Bind::Time(period.start)),
        o.bind(Bind::Time(period.end)),
        o.bind(Bind::Time(before.start)),
        o.bind(Bind::Time(before.end)),
    );
    let onboarded = |s: &str, e: &str| {
        format!(
            "(SELECT COUNT(*) FROM clients WHERE {in_scope}created_at >= {s} AND created_at < {e})"
        )
    };
    let onboarded_sql = format!("SELECT {}, {}", onboarded(&s0, &e0), onboarded(&s1, &e1));
    // Side by side, each on its own connection.
    type Group = (String, Option<String>, i64);
    type Traded = (String, String, i64, i64);
    let (mut groups, active, now, earlier, onboarded) = futures::try_join!(
        fetch_rows::<Group>(db, &counts_sql, &counts_binds),
        fetch_rows::<Group>(db, &active_sql, &counts_binds),
        fetch_rows::<Traded>(db, &traded_now.0, &traded_now.1),
        fetch_rows::<Traded>(db, &traded_before.0, &traded_before.1),
        fetch_rows::<(i64, i64)>(db, &onboarded_sql, &o.binds),
    )?;
    groups.extend(active);
    let onboarded = onboarded.first().copied().unwrap_or_default();
    // Trades and traders of a period, and the open accounts' frequencies.
    let sums = |rows: &[Traded]| -> (i64, i64) {
        (
            rows.iter().map(|r| r.3).sum(),
            rows.iter().map(|r| r.2).sum(),
        )
    };
    let ((trades_now, traders_now), (trades_before, traders_before)) = (sums(&now), sums(&earlier));
    let of = |name: &str| -> Vec<(String, i64)> {
        groups
            .iter()
            .filter(|g| g.0 == name)
            .map(|g| (g.1.clone().unwrap_or_else(|| "unknown".into()), g.2))
            .collect()
    };
    let counted = |name: &str, key: &dyn Fn(&str) -> String, order: Option<&[&str]>| {
        let mut counts: BTreeMap<String, i64> = BTreeMap::new();
        for (k, n) in of(name) {
            *counts.entry(key(&k)).or_default() += n;
        }
        tally(counts, order)
    };
    let same = |k: &str| k.to_string();
    let band_names: Vec<&str> = AGE_BANDS.iter().map(|b| b.0).collect();
    let age = |y: &str| age_band(Some(y).filter(|y| *y != "unknown"), today).to_string();
    let idle = |d: &str| {
        let last = NaiveDate::parse_from_str(d, "%Y-%m-%d").unwrap_or(today);
        bucket(
            (today - last).num_days(),
            &[
                (30, "0-30"),
                (90, "31-90"),
                (180, "91-180"),
                (365, "181-365"),
            ],
            "366+",
        )
        .to_string()
    };
    let mut by_city = counted("city", &same, None);
    // Open accounts by trades in the period: those who did not trade are the rest.
    let clients: i64 = of("status").iter().map(|g| g.1).sum();
    let mut frequency: BTreeMap<String, i64> = BTreeMap::new();
    for (bucket, _, n, _) in now.iter().filter(|r| r.1 == "y") {
        *frequency.entry(bucket.clone()).or_default() += n;
    }
    let traded: i64 = frequency.values().sum();
    // Never below zero, should the two counts be of different moments.
    frequency.insert("0".into(), (clients - traded).max(0));
    let trading_frequency = tally(frequency, Some(&["0", "1-2", "3-10", "11+"]));
    by_city.truncate(20);
    Ok(ClientReport {
        clients,
        by_age_band: counted("age", &age, Some(&band_names)),
        by_state: counted("state", &same, None),
        by_city,
        by_occupation: counted("occupation", &same, None),
        by_income: counted("income", &same, None),
        by_segment: counted(
            "segment",
            &same,
            Some(&["retail", "affluent", "hni", "ultra_hni"]),
        ),
        by_status: counted("status", &same, Some(&["active", "inactive", "suspended"])),
        trading_frequency,
        days_since_activity: counted(
            "active",
            &|k| idle(k),
            Some(&["0-30", "31-90", "91-180", "181-365", "366+"]),
        ),
        trades: (trades_now, trades_before),
        traders: (traders_now, traders_before),
        onboarded,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ages_fall_in_their_bands() {
        let today = NaiveDate::from_ymd_opt(2026, 12, 1).unwrap();
        assert_eq!(age_band(Some("2002"), today), "below_25");
        assert_eq!(age_band(Some("2001"), today), "25-34");
        assert_eq!(age_band(Some("1979"), today), "45-59");
        assert_eq!(age_band(Some("1966"), today), "60+");
        assert_eq!(age_band(None, today), "unknown");
        assert_eq!(age_band(Some("x"), today), "unknown");
    }

    #[test]
    fn a_tally_in_an_order_lists_every_key() {
        let counts = || BTreeMap::from([("b".to_string(), 2), ("a".to_string(), 1)]);
        assert_eq!(
            tally(counts(), Some(&["a", "b", "c"])),
            vec![("a".into(), 1), ("b".into(), 2), ("c".into(), 0)]
        );
        assert_eq!(
            tally(counts(), None),
            vec![("b".into(), 2), ("a".into(), 1)]
        );
    }
}
