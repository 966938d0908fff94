//! The client report's numbers from the clients and portfolio read models: who the clients are
//! (age band, state, city, occupation, income, segment), how often they trade, and how long
//! since they were last active.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Datelike, NaiveDate, Utc};
use store::{with_db, Db};

use super::query::{push_scope, ClientScope};
use crate::leads::query::{bind_all, Bind, Sql};
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
    /// Trades in force in the period, and clients who traded.
    pub trades: i64,
    pub traders: i64,
    /// Clients by days since their last activity (an interaction, a status move, a trade):
    /// `0-30`, `31-90`, `91-180`, `181-365`, `366+`.
    pub days_since_activity: Tally,
    /// Clients onboarded in the period (of those still open).
    pub onboarded: i64,
}

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

/// Counts `keys`, most first (ties by key), in `order` when given (every key of it listed).
fn tally<'a>(keys: impl IntoIterator<Item = &'a str>, order: Option<&[&str]>) -> Tally {
    let mut counts: BTreeMap<String, i64> = BTreeMap::new();
    if let Some(o) = order {
        for k in o {
            counts.insert(k.to_string(), 0);
        }
    }
    for k in keys {
        *counts.entry(k.to_string()).or_default() += 1;
    }
    let mut out: Tally = counts.into_iter().collect();
    match order {
        Some(o) => out.sort_by_key(|(k, _)| o.iter().position(|x| x == k)),
        None => out.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0))),
    }
    out
}

type Row = (
    String,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<String>,
    String,
    String,
    String,
    DateTime<Utc>,
);

/// The report over the open accounts in `scope` (and `branch`), trades and onboarding counted
/// in `[from, to]` (Indian days), at `today`.
pub async fn client_report(
    db: &Db,
    scope: &ClientScope,
    branch: Option<&str>,
    (from, to): (NaiveDate, NaiveDate),
    (start, end): (DateTime<Utc>, DateTime<Utc>),
    today: NaiveDate,
) -> Result<ClientReport, ProjectionError> {
    let mut sql = Sql::default();
    push_scope(&mut sql, scope);
    if let Some(b) = branch {
        let bb = sql.bind(Bind::Text(b.to_string()));
        sql.and(format!("branch = {bb}"));
    }
    sql.and("status NOT IN ('closed', 'erased')".into());
    let open = sql.where_clause();
    let clients_sql = format!(
        "SELECT client_id, birth_year, state, city, occupation, income, segment, status,
                activity_on, created_at
           FROM clients{open}"
    );
    let (f, t) = (
        sql.bind(Bind::Text(from.to_string())),
        sql.bind(Bind::Text(to.to_string())),
    );
    let trades_sql = format!(
        "SELECT client_id, COUNT(*) FROM portfolio_trades
          WHERE status = 'in_force' AND trade_date >= {f} AND trade_date <= {t}
            AND client_id IN (SELECT client_id FROM clients{open})
          GROUP BY client_id"
    );
    let trades_binds = sql.binds.clone();
    let clients_binds = &sql.binds[..sql.binds.len() - 2];
    let last_sql = format!(
        "SELECT client_id, MAX(trade_date) FROM portfolio_trades
          WHERE status = 'in_force' AND client_id IN (SELECT client_id FROM clients{open})
          GROUP BY client_id"
    );
    let (rows, traded, last_trades) = with_db!(db, pool => {
        let rows: Vec<Row> =
            bind_all!(sqlx::query_as(&clients_sql), clients_binds).fetch_all(pool).await?;
        let traded: Vec<(String, i64)> =
            bind_all!(sqlx::query_as(&trades_sql), &trades_binds).fetch_all(pool).await?;
        let last: Vec<(String, String)> =
            bind_all!(sqlx::query_as(&last_sql), clients_binds).fetch_all(pool).await?;
        (rows, traded, last)
    });
    let traded: HashMap<String, i64> = traded.into_iter().collect();
    let last_trades: HashMap<String, String> = last_trades.into_iter().collect();
    let unknown = |v: &Option<String>| v.clone().unwrap_or_else(|| "unknown".into());
    let ages: Vec<&str> = rows
        .iter()
        .map(|r| age_band(r.1.as_deref(), today))
        .collect();
    let idle: Vec<&str> = rows
        .iter()
        .map(|r| {
            let mut last = NaiveDate::parse_from_str(&r.8, "%Y-%m-%d").unwrap_or(today);
            if let Some(d) = last_trades
                .get(&r.0)
                .and_then(|d| NaiveDate::parse_from_str(d, "%Y-%m-%d").ok())
            {
                last = last.max(d);
            }
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
        })
        .collect();
    let frequency: Vec<&str> = rows
        .iter()
        .map(|r| {
            bucket(
                traded.get(&r.0).copied().unwrap_or(0),
                &[(0, "0"), (2, "1-2"), (10, "3-10")],
                "11+",
            )
        })
        .collect();
    let text = |i: usize| -> Vec<String> {
        rows.iter()
            .map(|r| match i {
                2 => unknown(&r.2),
                3 => unknown(&r.3),
                4 => unknown(&r.4),
                5 => unknown(&r.5),
                6 => r.6.clone(),
                _ => r.7.clone(),
            })
            .collect()
    };
    let (states, cities, jobs, incomes, segments, statuses) =
        (text(2), text(3), text(4), text(5), text(6), text(7));
    let mut by_city = tally(cities.iter().map(String::as_str), None);
    by_city.truncate(20);
    let band_names: Vec<&str> = AGE_BANDS.iter().map(|b| b.0).collect();
    Ok(ClientReport {
        clients: rows.len() as i64,
        by_age_band: tally(ages, Some(&band_names)),
        by_state: tally(states.iter().map(String::as_str), None),
        by_city,
        by_occupation: tally(jobs.iter().map(String::as_str), None),
        by_income: tally(incomes.iter().map(String::as_str), None),
        by_segment: tally(
            segments.iter().map(String::as_str),
            Some(&["retail", "affluent", "hni", "ultra_hni"]),
        ),
        by_status: tally(
            statuses.iter().map(String::as_str),
            Some(&["active", "inactive", "suspended"]),
        ),
        trading_frequency: tally(frequency, Some(&["0", "1-2", "3-10", "11+"])),
        trades: traded.values().sum(),
        traders: traded.len() as i64,
        days_since_activity: tally(idle, Some(&["0-30", "31-90", "91-180", "181-365", "366+"])),
        onboarded: rows.iter().filter(|r| r.9 >= start && r.9 < end).count() as i64,
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
        assert_eq!(
            tally(["b", "a", "b"], Some(&["a", "b", "c"])),
            vec![("a".into(), 1), ("b".into(), 2), ("c".into(), 0)]
        );
        assert_eq!(
            tally(["b", "a", "b"], None),
            vec![("b".into(), 2), ("a".into(), 1)]
        );
    }
}
