//! What the sales report reads from the sales facts read model: the leads captured in the
//! periods, the stage stays and follow-ups that touch them, the open pipeline at a moment,
//! and the readable names of campaigns and reasons.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use domain::lead::{LeadSource, LeadStatus};
use rust_decimal::Decimal;
use serde_json::Value;
use store::privacy::{Keyring, ERASED};
use store::{with_db, Db};
use uuid::Uuid;

use super::report::{SalesFilter, Sections};
use super::{normalised, SalesView};
use crate::leads::query::{bind_all, fetch_rows, push_visible_on, Bind, Row, Sql};
use crate::ProjectionError;

/// Periods longer than this many days are read in the order the report groups by (SQLite).
const LONG_DAYS: i64 = 62;

/// The funnel's order; a lead that reached a stage passed the ones before it.
pub(super) const FUNNEL: [LeadStatus; 4] = [
    LeadStatus::New,
    LeadStatus::Contacted,
    LeadStatus::Qualified,
    LeadStatus::Converted,
];

pub(super) fn rank(s: LeadStatus) -> Option<usize> {
    FUNNEL.iter().position(|f| *f == s)
}

/// The conditions every part of the report shares, on the lead's columns as the row `x` (a
/// lead, or one of its stages or follow-ups, which carry them) has them; `merged` is the
/// column as the statement names it.
fn lead_conditions(f: &SalesFilter, keyring: &Keyring, merged: &str) -> Sql {
    let mut sql = Sql::default();
    let no = sql.bind(Bind::Bool(false));
    sql.and(format!("{merged} = {no}"));
    push_visible_on(&mut sql, &f.visible, "x.assignee");
    if let Some(agents) = &f.agents {
        if agents.is_empty() {
            sql.and("1 = 0".into());
        } else {
            let marks: Vec<String> = agents
                .iter()
                .map(|a| sql.bind(Bind::Text(a.to_string())))
                .collect();
            sql.and(format!("x.assignee IN ({})", marks.join(", ")));
        }
    }
    if let Some(s) = f.source {
        let b = sql.bind(Bind::Text(s.as_str().into()));
        sql.and(format!("x.source = {b}"));
    }
    if let Some(c) = &f.campaign {
        let b = sql.bind(Bind::Text(keyring.blind_index("campaign", &normalised(c))));
        sql.and(format!("x.campaign_index = {b}"));
    }
    sql
}

fn uuid(s: Option<String>) -> Option<Uuid> {
    s.and_then(|s| Uuid::parse_str(&s).ok())
}

/// A period: `[start, end)`, as of `at`.
#[derive(Clone, Copy)]
pub(super) struct Window {
    pub(super) start: DateTime<Utc>,
    pub(super) end: DateTime<Utc>,
}

/// Which of the two periods a row falls in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(super) enum Period {
    Current,
    Previous,
}

/// Leads captured in the current period with the same source, campaign, holder and furthest
/// stage.
pub(super) struct Cohort {
    pub(super) source: LeadSource,
    pub(super) campaign_index: Option<String>,
    pub(super) assignee: Option<Uuid>,
    /// The furthest funnel stage reached by the report's moment.
    pub(super) furthest: usize,
    pub(super) leads: i64,
}

/// The nearest-rank median and 90th percentile of some hours, and how many there were.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub(super) struct Spread {
    pub(super) n: i64,
    pub(super) median: Option<f64>,
    pub(super) p90: Option<f64>,
}

/// One agent's follow-ups (`None`: leads no agent holds).
#[derive(Default)]
pub(super) struct FollowUps {
    /// Completed in the current period, and of those on or before their due time.
    pub(super) completed: i64,
    pub(super) on_time: i64,
    /// Open past their due time at the end of the current and of the previous period.
    pub(super) overdue: i64,
    pub(super) overdue_before: i64,
}

/// What one report reads: each part counted by the database, grouped as the report shows it.
pub(super) struct Facts {
    pub(super) cohorts: Vec<Cohort>,
    /// The leads captured in the previous period, and how many of them converted by `at`.
    pub(super) previous_cohort: (i64, i64),
    /// Median hours to the first response of the leads captured in each period …
    pub(super) response: HashMap<Period, Spread>,
    /// … and of each holder's leads captured in the current period.
    pub(super) response_by_agent: HashMap<Option<Uuid>, Spread>,
    /// Stages entered in the current period (converted and lost), by the lead's holder …
    pub(super) entered: Vec<(LeadStatus, Option<Uuid>, i64)>,
    /// … and in the previous one.
    pub(super) entered_before: HashMap<LeadStatus, i64>,
    /// Stays in new, contacted and qualified that ended in the current period.
    pub(super) stage_time: HashMap<LeadStatus, Spread>,
    /// Leads lost in the current period and still lost, by their reason's blind index.
    pub(super) lost_reasons: Vec<(Option<String>, i64)>,
    /// Follow-ups closed in either period or open at one of their ends, by holder.
    pub(super) follow_ups: HashMap<Option<Uuid>, FollowUps>,
    /// What the clients the current period's converted leads became hold, at cost, by source
    /// and campaign.
    pub(super) invested: Vec<(LeadSource, Option<String>, Decimal)>,
    /// Open leads by stage at the report's moment.
    pub(super) pipeline: Vec<(String, i64)>,
}

/// The values of `v` in a group as one comma-separated text, in the store's SQL: a group's
/// values come back as one row however many there are.
fn listed(db: &Db, v: &str) -> String {
    match db {
        Db::Sqlite(_) => format!("group_concat({v}, ',')"),
        Db::Postgres(_) => format!("string_agg(CAST({v} AS text), ',')"),
    }
}

impl Spread {
    /// The spread of whole seconds listed as `1,5,3`, in hours: the median and the 90th
    /// percentile by nearest rank (the `ceil(p·n)`-th smallest).
    fn of(listed: Option<&str>) -> Self {
        let mut secs: Vec<i64> = listed
            .unwrap_or_default()
            .split(',')
            .filter_map(|v| v.trim().parse().ok())
            .collect();
        secs.sort_unstable();
        let n = secs.len();
        let hours = |rank: usize| secs.get(rank.max(1) - 1).map(|s| *s as f64 / 3600.0);
        Spread {
            n: n as i64,
            median: hours(n.div_ceil(2)),
            p90: hours((9 * n).div_ceil(10)),
        }
    }
}

/// A statement over the shared conditions plus its own.
struct Part {
    sql: Sql,
}

impl Part {
    fn new(base: &Sql) -> Self {
        Part {
            sql: Sql {
                conditions: base.conditions.clone(),
                binds: base.binds.clone(),
            },
        }
    }

    fn time(&mut self, t: DateTime<Utc>) -> String {
        self.sql.bind(Bind::Time(t))
    }
}

/// The facts of `f` over the periods `current` and `previous` (which ends where `current`
/// starts, or at `at` when that comes first), nothing recorded after `at` counted.
pub(super) async fn load(
    db: &Db,
    keyring: &Keyring,
    f: &SalesFilter,
    (current, previous): (Window, Window),
    at: DateTime<Utc>,
) -> Result<Facts, ProjectionError> {
    // A long period holds most of the model: SQLite reads it whole through the indexes in the
    // order the report groups by (those lead with `merged`) rather than a period's range it
    // would then sort row by row; a short one by its range. `+` keeps its planner off the
    // index it is not to use: the one by time, or those by `merged`. Postgres groups by
    // hashing either way.
    let long = f.to - f.from > chrono::Duration::days(LONG_DAYS);
    let sqlite = matches!(db, Db::Sqlite(_));
    let off = |column: &str, off: bool| match sqlite && off {
        true => format!("+{column}"),
        false => column.to_string(),
    };
    let in_order = |column: &str| off(column, long);
    let base = lead_conditions(f, keyring, &off("x.merged", !long));
    let whole = f.sections == Sections::Whole;
    // Each period is counted by its own statements: grouped by an expression naming the
    // period, SQLite sorts every row of both.
    let within = |column: &str, w: Window| {
        let mut p = Part::new(&base);
        let (s, e) = (p.time(w.start), p.time(w.end));
        p.sql.and(format!("{column} >= {s} AND {column} < {e}"));
        p
    };

    // The leads captured in a period: `select` over the furthest stage reached by `at` and the
    // seconds to the first response of those answered by `at`.
    let furthest = if f.present {
        "x.furthest"
    } else {
        "CASE WHEN x.reached_converted_at <= {at} THEN 3 WHEN x.reached_qualified_at <= {at} THEN 2
              WHEN x.reached_contacted_at <= {at} THEN 1 ELSE 0 END"
    };
    let secs = listed(
        db,
        "CASE WHEN x.first_response_at <= {at} THEN x.response_secs END",
    );
    let captured = |w: Window, select: &str, rest: &str| {
        let mut p = within(&in_order("x.created_at"), w);
        let sql = format!(
            "SELECT {select} FROM sales_leads x{}{rest}",
            p.sql.where_clause()
        )
        .replace("{furthest}", furthest)
        .replace("{secs}", &secs);
        // `at` bound only where named: Postgres refuses a parameter a statement does not use.
        let sql = match sql.contains("{at}") {
            true => sql.replace("{at}", &p.time(at)),
            false => sql,
        };
        (sql, p.sql.binds)
    };
    // In the current period by source, campaign, holder and furthest stage; in the previous
    // one, how many and how many of them converted.
    let (cohort_sql, cohort_binds) = captured(
        current,
        "x.source, x.campaign_index, x.assignee, CAST({furthest} AS bigint), COUNT(*), {secs}",
        " GROUP BY x.source, x.campaign_index, x.assignee, {furthest}",
    );
    let (previous_sql, previous_binds) = captured(
        previous,
        "COUNT(*), CAST(COALESCE(SUM(CASE WHEN {furthest} = 3 THEN 1 ELSE 0 END), 0) AS bigint),
         {secs}",
        "",
    );
    // What the current period's converted leads brought: their clients' holdings at cost.
    let (invested_sql, invested_binds) = captured(
        current,
        "x.source, x.campaign_index,
         (SELECT pf.invested FROM portfolios pf WHERE pf.client_id = x.client_id)",
        " AND {furthest} = 3",
    );

    // Conversions and losses: in the current period by holder, the lead's status now and its
    // reason's blind index (of a loss still lost: the reason); in the previous one, how many.
    let entered = |w: Window, select: &str, group: &str| {
        let mut p = within(&in_order("x.entered_at"), w);
        p.sql.and("x.stage IN ('converted', 'lost')".into());
        (
            format!(
                "SELECT {select} FROM sales_stages x{} GROUP BY {group}",
                p.sql.where_clause()
            ),
            p.sql.binds,
        )
    };
    let grouped = "x.stage, x.assignee, x.lead_status, x.lost_reason_index";
    let (entered_sql, entered_binds) = entered(current, &format!("{grouped}, COUNT(*)"), grouped);
    let (entered_before_sql, entered_before_binds) =
        entered(previous, "x.stage, COUNT(*)", "x.stage");

    // Time in each stage: the stays that ended in the current period.
    let mut p = within("x.left_at", current);
    p.sql
        .and("x.stage IN ('new', 'contacted', 'qualified')".into());
    let stage_time_sql = format!(
        "SELECT x.stage, {} FROM sales_stages x{} GROUP BY x.stage",
        listed(db, "x.secs"),
        p.sql.where_clause()
    );
    let stage_time_binds = p.sql.binds;

    // Follow-ups closed in either period or open at one of their ends, by holder: completed
    // (and on time) in the current period, overdue at each period's end. Nothing closed
    // after `at` counts as closed.
    let span_end = current.end.max(previous.end);
    let mut p = Part::new(&base);
    let (s, e, c, c2, pe, t) = (
        p.time(previous.start),
        p.time(span_end),
        p.time(current.start),
        p.time(current.end),
        p.time(previous.end),
        p.time(at),
    );
    let (closed, due) = (in_order("x.closed_at"), in_order("x.due_at"));
    p.sql.and(format!(
        "(({closed} >= {s} AND ({closed} < {e} OR {due} < {e}))
          OR ({closed} IS NULL AND {due} < {e}))"
    ));
    let overdue = |end: &str| {
        format!(
            "CAST(COALESCE(SUM(CASE WHEN x.due_at < {end}
                AND (x.closed_at IS NULL OR x.closed_at > {end}) THEN 1 ELSE 0 END), 0) AS bigint)"
        )
    };
    let follow_ups_sql = format!(
        "SELECT x.assignee,
                CAST(COALESCE(SUM(CASE WHEN x.state = 'completed' AND x.closed_at >= {c}
                    AND x.closed_at < {c2} AND x.closed_at <= {t} THEN 1 ELSE 0 END), 0) AS bigint),
                CAST(COALESCE(SUM(CASE WHEN x.state = 'completed' AND x.closed_at >= {c}
                    AND x.closed_at < {c2} AND x.closed_at <= {t} AND x.closed_at <= x.due_at
                    THEN 1 ELSE 0 END), 0) AS bigint),
                {}, {}
           FROM sales_follow_ups x{}
          GROUP BY x.assignee",
        overdue(&c2),
        overdue(&pe),
        p.sql.where_clause()
    );
    let follow_ups_binds = p.sql.binds;

    // Open leads by stage at `at`: now, each lead's status as counted when saved; at a moment
    // past, those less the stays entered since and still open, plus the stays that spanned
    // the moment and have ended since (as cheap as what happened since, not as all before).
    let mut p = Part::new(&base);
    let no = p.sql.bind(Bind::Bool(false));
    p.sql.and(format!("x.archived = {no}"));
    let open = "('new', 'contacted', 'qualified')";
    let w = p.sql.where_clause();
    let now = format!(
        "SELECT x.status AS stage, CAST(SUM(x.n) AS bigint) AS n
           FROM sales_counts x{w} AND x.status IN {open}
          GROUP BY x.status"
    );
    // SQLite's planner is kept off the index by when stays were left for the stays entered
    // since (every open stay has `left_at` null there), and off the index by entry time for
    // the stays left since (it would read every stay entered before the moment).
    let (still_open, entered) = match db {
        Db::Sqlite(_) => ("+x.left_at IS NULL", "+x.entered_at"),
        Db::Postgres(_) => ("x.left_at IS NULL", "x.entered_at"),
    };
    let pipeline_sql = if f.present {
        now
    } else {
        let t = p.time(at);
        format!(
            "SELECT stage, CAST(SUM(n) AS bigint) FROM (
                 {now}
                 UNION ALL
                 SELECT x.stage, -COUNT(*) FROM sales_stages x{w} AND x.stage IN {open}
                    AND x.entered_at > {t} AND {still_open} GROUP BY x.stage
                 UNION ALL
                 SELECT x.stage, COUNT(*) FROM sales_stages x{w} AND x.stage IN {open}
                    AND x.left_at > {t} AND {entered} <= {t} GROUP BY x.stage
             ) moved GROUP BY stage"
        )
    };
    let pipeline_binds = p.sql.binds;

    // Every part at once, each on its own connection; what the dashboards do not show is not
    // asked for.
    type CohortRow = (
        String,
        Option<String>,
        Option<String>,
        i64,
        i64,
        Option<String>,
    );
    type EnteredRow = (String, Option<String>, String, Option<String>, i64);
    type SpreadRow = (String, Option<String>);
    type FollowUpRow = (Option<String>, i64, i64, i64, i64);
    // The longest first: at most four run at once (see `fetch_rows`).
    let (
        follow_ups,
        stage_time,
        cohort,
        entered,
        previous_cohort,
        entered_before,
        invested,
        pipeline,
    ) = futures::try_join!(
        fetch_rows::<FollowUpRow>(db, &follow_ups_sql, &follow_ups_binds),
        part::<SpreadRow>(db, whole, &stage_time_sql, &stage_time_binds),
        fetch_rows::<CohortRow>(db, &cohort_sql, &cohort_binds),
        fetch_rows::<EnteredRow>(db, &entered_sql, &entered_binds),
        fetch_rows::<(i64, i64, Option<String>)>(db, &previous_sql, &previous_binds),
        fetch_rows::<(String, i64)>(db, &entered_before_sql, &entered_before_binds),
        part::<(String, Option<String>, Option<String>)>(db, whole, &invested_sql, &invested_binds),
        part::<(String, i64)>(db, whole, &pipeline_sql, &pipeline_binds),
    )?;

    let mut cohorts = Vec::new();
    let mut responded = String::new();
    let mut response_by_agent: HashMap<Option<Uuid>, String> = HashMap::new();
    for (source, campaign_index, assignee, furthest, leads, listed) in cohort {
        let assignee = uuid(assignee);
        append(&mut responded, listed.as_deref());
        append(
            response_by_agent.entry(assignee).or_default(),
            listed.as_deref(),
        );
        if let Some(source) = LeadSource::parse(&source) {
            cohorts.push(Cohort {
                source,
                campaign_index,
                assignee,
                furthest: furthest.clamp(0, 3) as usize,
                leads,
            });
        }
    }
    let (captured_before, converted_before, responded_before) =
        previous_cohort.into_iter().next().unwrap_or_default();
    let response = HashMap::from([
        (Period::Current, Spread::of(Some(&responded))),
        (Period::Previous, Spread::of(responded_before.as_deref())),
    ]);
    let mut lost_reasons: HashMap<Option<String>, i64> = HashMap::new();
    let entered = entered
        .into_iter()
        .filter_map(|(stage, assignee, status_now, reason, n)| {
            if whole && stage == "lost" && status_now == "lost" {
                *lost_reasons.entry(reason).or_default() += n;
            }
            Some((LeadStatus::parse(&stage)?, uuid(assignee), n))
        })
        .collect();
    let entered_before = entered_before
        .into_iter()
        .filter_map(|(stage, n)| Some((LeadStatus::parse(&stage)?, n)))
        .collect();
    let stage_time = stage_time
        .into_iter()
        .filter_map(|(k, listed)| Some((LeadStatus::parse(&k)?, Spread::of(listed.as_deref()))))
        .collect();
    let follow_ups = follow_ups
        .into_iter()
        .map(|(who, completed, on_time, overdue, overdue_before)| {
            (
                uuid(who),
                FollowUps {
                    completed,
                    on_time,
                    overdue,
                    overdue_before,
                },
            )
        })
        .collect();
    let invested = invested
        .into_iter()
        .filter_map(|(source, campaign, v)| {
            Some((
                LeadSource::parse(&source)?,
                campaign,
                v?.parse::<Decimal>().ok()?,
            ))
        })
        .collect();

    Ok(Facts {
        cohorts,
        previous_cohort: (captured_before, converted_before),
        response,
        response_by_agent: response_by_agent
            .into_iter()
            .map(|(k, l)| (k, Spread::of(Some(&l))))
            .collect(),
        entered,
        entered_before,
        stage_time,
        lost_reasons: lost_reasons.into_iter().collect(),
        follow_ups,
        invested,
        pipeline,
    })
}

/// `fetch_rows`, or nothing when the part is not `asked` for.
async fn part<T: Row>(
    db: &Db,
    asked: bool,
    sql: &str,
    binds: &[Bind],
) -> Result<Vec<T>, sqlx::Error> {
    if asked {
        fetch_rows(db, sql, binds).await
    } else {
        Ok(Vec::new())
    }
}

/// Adds the comma-separated values `more` to `list`.
fn append(list: &mut String, more: Option<&str>) {
    if let Some(more) = more.filter(|m| !m.is_empty()) {
        if !list.is_empty() {
            list.push(',');
        }
        list.push_str(more);
    }
}

/// The text one readable lead gives for the blind index `index` in `column` (a campaign or a
/// lost reason), as `pick` takes it from the lead's opened document.
pub(super) async fn named_by(
    db: &Db,
    keyring: &Keyring,
    visible: &Option<domain::access::LeadScope>,
    column: &str,
    index: &str,
    pick: impl Fn(SalesView) -> Option<String>,
) -> Result<Option<String>, ProjectionError> {
    // Only a lead the caller may see, whose person has not asked for erasure, names it; the
    // same one each time.
    let mut sql = Sql::default();
    let i = sql.bind(Bind::Text(index.to_string()));
    sql.and(format!("l.{column} = {i}"));
    let no = sql.bind(Bind::Bool(false));
    sql.and(format!("l.erased = {no} AND l.restricted = {no}"));
    push_visible_on(&mut sql, visible, "l.assignee");
    let q = format!(
        "SELECT l.lead_id, l.doc FROM sales_leads l{} ORDER BY l.lead_id LIMIT 1",
        sql.where_clause()
    );
    let row: Option<(String, Value)> = with_db!(db, pool => {
        bind_all!(sqlx::query_as(&q), &sql.binds).fetch_optional(pool).await?
    });
    let Some((id, doc)) = row else {
        return Ok(None);
    };
    let view: SalesView = crate::sealed::open_view(keyring, &id, doc).await?;
    Ok(pick(view).filter(|t| t != ERASED))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_spread_is_by_nearest_rank() {
        // 1..=10 hours: the median is the 5th, the 90th percentile the 9th.
        let listed: Vec<String> = (1..=10).rev().map(|h| (h * 3600).to_string()).collect();
        let s = Spread::of(Some(&listed.join(",")));
        assert_eq!((s.n, s.median, s.p90), (10, Some(5.0), Some(9.0)));
        // 70 values: ceil(0.9 × 70) = 63 exactly (no rounding up to the 64th).
        let listed: Vec<String> = (1..=70).map(|h| (h * 3600).to_string()).collect();
        let s = Spread::of(Some(&listed.join(",")));
        assert_eq!((s.median, s.p90), (Some(35.0), Some(63.0)));
        let one = Spread::of(Some("5400"));
        assert_eq!((one.n, one.median, one.p90), (1, Some(1.5), Some(1.5)));
        assert_eq!(Spread::of(None), Spread::default());
    }
}
