//! What the sales report counts, from the copy of the sales facts read model held in memory
//! (see [`super::memory`]): the leads captured in the periods, the stage stays and follow-ups
//! that touch them, the open pipeline at a moment; and from the store, what converted leads'
//! clients hold and the readable names of campaigns and reasons.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use chrono::{DateTime, Utc};
use domain::lead::{FollowUpState, LeadSource, LeadStatus};
use rust_decimal::Decimal;
use serde_json::Value;
use store::privacy::{Keyring, ERASED};
use store::{with_db, Db};
use uuid::Uuid;

use super::memory::{micros, Group, Known, LeadFacts, SalesMemory, GONE};
use super::report::{SalesFilter, Sections};
use super::{normalised, SalesView};
use crate::leads::query::{bind_all, push_visible_on, Bind, Sql};
use crate::ProjectionError;

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

/// What one report counts, grouped as the report shows it.
pub(super) struct Facts {
    /// The log position the sales facts counted were at.
    pub(super) position: i64,
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

impl Spread {
    /// The spread of whole seconds, in hours: the median and the 90th percentile by nearest
    /// rank (the `ceil(p·n)`-th smallest).
    fn of(mut secs: Vec<i64>) -> Self {
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

/// A window in [`micros`].
#[derive(Clone, Copy)]
struct Span {
    start: i64,
    end: i64,
}

impl Span {
    fn of(w: Window) -> Self {
        Span {
            start: micros(w.start),
            end: micros(w.end),
        }
    }

    fn has(self, t: i64) -> bool {
        t >= self.start && t < self.end
    }
}

/// The open stages of the pipeline.
fn open(s: LeadStatus) -> bool {
    matches!(
        s,
        LeadStatus::New | LeadStatus::Contacted | LeadStatus::Qualified
    )
}

/// Most clients whose holdings are asked for by name; more are read with every other's.
const CLIENTS_BY_NAME: usize = 500;

/// What the leads of one group counted in the report's periods.
#[derive(Default)]
struct Tally {
    /// Captured in the current period, by the furthest funnel stage reached.
    furthest: [i64; 4],
    /// Seconds to the first response of those captured in the current period.
    responded: Vec<i64>,
    /// Conversions entered in the current period.
    converted: i64,
    lost: i64,
    /// Follow-ups closed in either period or open at one of their ends (`None`: none).
    follow_ups: Option<FollowUps>,
}

/// The facts of `f` over the periods `current` and `previous` (which ends where `current`
/// starts, or at `at` when that comes first), nothing recorded after `at` counted.
pub(super) async fn load(
    db: &Db,
    memory: &SalesMemory,
    keyring: &Keyring,
    f: &SalesFilter,
    periods: (Window, Window),
    at: DateTime<Utc>,
) -> Result<Facts, ProjectionError> {
    let campaign = f
        .campaign
        .as_ref()
        .map(|c| keyring.blind_index("campaign", &normalised(c)));
    let known = memory.current(db).await?;
    let f = f.clone();
    // A pass over every lead: on a thread of its own, not on one that serves requests.
    let (mut facts, converts) =
        tokio::task::spawn_blocking(move || count(&known, &f, campaign, periods, at))
            .await
            .map_err(|e| ProjectionError::Refused(format!("the sales report's count: {e}")))?;
    facts.invested = holdings(db, converts, CLIENTS_BY_NAME).await?;
    Ok(facts)
}

/// The facts of `f` counted from the copy `known` (`campaign`: the blind index of the campaign
/// asked for), and the clients the current period's converted leads became, by group. No I/O.
fn count(
    known: &Known,
    f: &SalesFilter,
    campaign: Option<String>,
    (current, previous): (Window, Window),
    at: DateTime<Utc>,
) -> (Facts, Vec<(Group, Uuid)>) {
    let whole = f.sections == Sections::Whole;
    let (current, previous) = (Span::of(current), Span::of(previous));
    let at = micros(at);
    let span_end = current.end.max(previous.end);
    let agents: Option<HashSet<Uuid>> = f.agents.as_ref().map(|a| a.iter().copied().collect());
    // The groups the report is about: visible to the caller, held by the agents asked for, of
    // the source and campaign asked for.
    let asked = |g: &Group| {
        domain::access::covers_lead(&f.visible, g.assignee)
            && agents
                .as_ref()
                .is_none_or(|a| g.assignee.is_some_and(|x| a.contains(&x)))
            && f.source.is_none_or(|s| g.source == s)
            && campaign
                .as_deref()
                .is_none_or(|c| g.campaign_index.as_deref() == Some(c))
    };
    // The furthest funnel stage a lead reached by `at` (now: as saved).
    let furthest = |l: &LeadFacts| -> usize {
        if f.present {
            l.furthest.clamp(0, 3) as usize
        } else {
            (0..3)
                .rev()
                .find(|&k| l.reached[k].is_some_and(|r| r <= at))
                .map_or(0, |k| k + 1)
        }
    };
    // Seconds to the first response, of a lead answered by `at`.
    let response = |l: &LeadFacts| {
        l.first_response_at
            .filter(|r| *r <= at)
            .and(l.response_secs)
    };

    let (mut captured_before, mut converted_before) = (0i64, 0i64);
    let mut responded_before = Vec::new();
    let mut converts: Vec<(u32, Uuid)> = Vec::new();
    let mut entered_before: HashMap<LeadStatus, i64> = HashMap::new();
    let mut lost_reasons: HashMap<Option<Arc<str>>, i64> = HashMap::new();
    let mut stage_secs: HashMap<LeadStatus, Vec<i64>> = HashMap::new();
    let mut pipeline: HashMap<LeadStatus, i64> = HashMap::new();
    let groups: Vec<bool> = known.groups.iter().map(asked).collect();
    let mut tally: Vec<Tally> = known.groups.iter().map(|_| Tally::default()).collect();
    // Leads merged into another record are counted there.
    let counted: Vec<bool> = known
        .leads
        .iter()
        .map(|l| !l.merged && !l.unread && groups[l.group as usize])
        .collect();
    for (l, _) in known.leads.iter().zip(&counted).filter(|(_, c)| **c) {
        let t = &mut tally[l.group as usize];
        // Captured in a period: the funnel (how far by `at`) and the first response.
        if current.has(l.created_at) {
            let reached = furthest(l);
            t.furthest[reached] += 1;
            t.responded.extend(response(l));
            if let (true, 3, Some(client)) = (whole, reached, l.client_id) {
                converts.push((l.group, client));
            }
        }
        if previous.has(l.created_at) {
            captured_before += 1;
            converted_before += i64::from(furthest(l) == 3);
            responded_before.extend(response(l));
        }
        if whole && !l.archived && open(l.status) {
            *pipeline.entry(l.status).or_default() += 1;
        }
    }
    let lead = |i: u32| (i != GONE && counted[i as usize]).then(|| &known.leads[i as usize]);
    for s in &known.stays {
        let Some(l) = lead(s.lead) else { continue };
        // Conversions and losses entered in a period; the reasons of those still lost.
        if matches!(s.stage, LeadStatus::Converted | LeadStatus::Lost) {
            if current.has(s.entered_at) {
                let t = &mut tally[l.group as usize];
                if s.stage == LeadStatus::Converted {
                    t.converted += 1;
                } else {
                    t.lost += 1;
                    if whole && l.status == LeadStatus::Lost {
                        *lost_reasons.entry(l.lost_reason_index.clone()).or_default() += 1;
                    }
                }
            }
            if previous.has(s.entered_at) {
                *entered_before.entry(s.stage).or_default() += 1;
            }
        }
        if !whole || !open(s.stage) {
            continue;
        }
        // Time in stage: the stays that ended in the current period.
        if let (Some(left), Some(secs)) = (s.left_at, s.secs) {
            if current.has(left) {
                stage_secs.entry(s.stage).or_default().push(secs);
            }
        }
        // The pipeline at a past moment: the pipeline now, less the stays entered since and
        // still open, plus those that spanned the moment and ended since.
        if !f.present && !l.archived {
            if s.entered_at > at && s.left_at.is_none() {
                *pipeline.entry(s.stage).or_default() -= 1;
            }
            if s.left_at.is_some_and(|left| left > at) && s.entered_at <= at {
                *pipeline.entry(s.stage).or_default() += 1;
            }
        }
    }
    // Follow-ups closed in either period or open at one of their ends: completed (and on time)
    // in the current period, by `at`; overdue at each period's end.
    for fu in &known.follow_ups {
        let Some(l) = lead(fu.lead) else { continue };
        let touches = match fu.closed_at {
            Some(c) => c >= previous.start && (c < span_end || fu.due_at < span_end),
            None => fu.due_at < span_end,
        };
        if !touches {
            continue;
        }
        let kept = tally[l.group as usize]
            .follow_ups
            .get_or_insert_with(FollowUps::default);
        let completed = fu.state == FollowUpState::Completed
            && fu.closed_at.is_some_and(|c| current.has(c) && c <= at);
        kept.completed += i64::from(completed);
        kept.on_time += i64::from(completed && fu.closed_at <= Some(fu.due_at));
        let overdue_at = |end: i64| fu.due_at < end && fu.closed_at.is_none_or(|c| c > end);
        kept.overdue += i64::from(overdue_at(current.end));
        kept.overdue_before += i64::from(overdue_at(previous.end));
    }

    // By group, then by holder.
    let mut cohorts = Vec::new();
    let mut responded = Vec::new();
    let mut response_by_agent: HashMap<Option<Uuid>, Vec<i64>> = HashMap::new();
    let mut entered = Vec::new();
    let mut follow_ups: HashMap<Option<Uuid>, FollowUps> = HashMap::new();
    let converts: Vec<(Group, Uuid)> = converts
        .into_iter()
        .map(|(g, client)| (known.groups[g as usize].clone(), client))
        .collect();
    for (g, t) in known.groups.iter().zip(tally) {
        for (reached, leads) in t.furthest.into_iter().enumerate() {
            if leads > 0 {
                cohorts.push(Cohort {
                    source: g.source,
                    campaign_index: g.campaign_index.as_ref().map(|c| c.to_string()),
                    assignee: g.assignee,
                    furthest: reached,
                    leads,
                });
            }
        }
        if t.furthest.iter().sum::<i64>() > 0 {
            responded.extend_from_slice(&t.responded);
            response_by_agent
                .entry(g.assignee)
                .or_default()
                .extend(t.responded);
        }
        for (stage, n) in [
            (LeadStatus::Converted, t.converted),
            (LeadStatus::Lost, t.lost),
        ] {
            if n > 0 {
                entered.push((stage, g.assignee, n));
            }
        }
        if let Some(k) = t.follow_ups {
            let kept = follow_ups.entry(g.assignee).or_default();
            kept.completed += k.completed;
            kept.on_time += k.on_time;
            kept.overdue += k.overdue;
            kept.overdue_before += k.overdue_before;
        }
    }

    let facts = Facts {
        position: known.position(),
        cohorts,
        previous_cohort: (captured_before, converted_before),
        response: HashMap::from([
            (Period::Current, Spread::of(responded)),
            (Period::Previous, Spread::of(responded_before)),
        ]),
        response_by_agent: response_by_agent
            .into_iter()
            .map(|(who, secs)| (who, Spread::of(secs)))
            .collect(),
        entered,
        entered_before,
        stage_time: stage_secs
            .into_iter()
            .map(|(stage, secs)| (stage, Spread::of(secs)))
            .collect(),
        lost_reasons: lost_reasons
            .into_iter()
            .map(|(reason, n)| (reason.map(|r| r.to_string()), n))
            .collect(),
        follow_ups,
        invested: Vec::new(),
        pipeline: pipeline
            .into_iter()
            .map(|(stage, n)| (stage.as_str().to_string(), n))
            .collect(),
    };
    (facts, converts)
}

/// What the clients `converts` became hold, at cost, by their leads' source and campaign: by
/// name for at most `by_name` clients, else read with every other client's (from the index
/// alone). A client with no holdings gives nothing.
async fn holdings(
    db: &Db,
    converts: Vec<(Group, Uuid)>,
    by_name: usize,
) -> Result<Vec<(LeadSource, Option<String>, Decimal)>, ProjectionError> {
    if converts.is_empty() {
        return Ok(Vec::new());
    }
    // One row, however many clients: a row each would cost the store's reader more than
    // reading them does.
    let listed = match db {
        Db::Sqlite(_) => "group_concat(client_id || ':' || invested, ',')",
        Db::Postgres(_) => "string_agg(client_id || ':' || invested, ',')",
    };
    // By name (a JSON array of ids), or every client's.
    let (sql, named) = if converts.len() <= by_name {
        let ids: Vec<String> = converts.iter().map(|c| c.1.to_string()).collect();
        (
            format!(
                "SELECT {listed} FROM portfolios WHERE {}",
                crate::schema::member_of_db(db, "client_id", 1)
            ),
            Some(serde_json::to_string(&ids).expect("ids serialize")),
        )
    } else {
        (format!("SELECT {listed} FROM portfolios"), None)
    };
    let held: Option<String> = with_db!(db, pool => {
        let q = sqlx::query_scalar(&sql);
        let q = match &named {
            Some(ids) => q.bind(ids),
            None => q,
        };
        q.fetch_one(pool).await?
    });
    let held: HashMap<Uuid, Decimal> = held
        .as_deref()
        .unwrap_or_default()
        .split(',')
        .filter_map(|pair| {
            let (id, v) = pair.split_once(':')?;
            Some((Uuid::parse_str(id).ok()?, v.parse().ok()?))
        })
        .collect();
    Ok(converts
        .into_iter()
        .filter_map(|(g, client)| {
            Some((
                g.source,
                g.campaign_index.map(|c| c.to_string()),
                *held.get(&client)?,
            ))
        })
        .collect())
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
        let s = Spread::of((1..=10).rev().map(|h| h * 3600).collect());
        assert_eq!((s.n, s.median, s.p90), (10, Some(5.0), Some(9.0)));
        // 70 values: ceil(0.9 × 70) = 63 exactly (no rounding up to the 64th).
        let s = Spread::of((1..=70).map(|h| h * 3600).collect());
        assert_eq!((s.median, s.p90), (Some(35.0), Some(63.0)));
        let one = Spread::of(vec![5400]);
        assert_eq!((one.n, one.median, one.p90), (1, Some(1.5), Some(1.5)));
        assert_eq!(Spread::of(Vec::new()), Spread::default());
    }

    #[tokio::test]
    async fn holdings_read_by_name_or_with_everyone_s_are_the_same() {
        let dir = std::env::temp_dir().join(format!("crm-holdings-{}", Uuid::new_v4().simple()));
        let db = Db::connect(None, &dir).await.unwrap();
        let clients: Vec<Uuid> = (0..4).map(|_| Uuid::new_v4()).collect();
        with_db!(&db, pool => {
            sqlx::raw_sql("CREATE TABLE portfolios (client_id text, invested text)")
                .execute(pool)
                .await
                .unwrap();
            // Three hold something, one nothing; another client not converted in the period.
            for (client, invested) in [
                (clients[0].to_string(), "1250000"),
                (clients[1].to_string(), "50000.50"),
                (clients[2].to_string(), "0"),
                (Uuid::new_v4().to_string(), "999"),
            ] {
                sqlx::query("INSERT INTO portfolios VALUES ($1, $2)")
                    .bind(client)
                    .bind(invested)
                    .execute(pool)
                    .await
                    .unwrap();
            }
        });
        let group = |source, campaign: Option<&str>| Group {
            source,
            campaign_index: campaign.map(Arc::from),
            assignee: None,
        };
        let converts = vec![
            (group(LeadSource::Campaign, Some("c1")), clients[0]),
            (group(LeadSource::Website, None), clients[1]),
            (group(LeadSource::Website, None), clients[2]),
            (group(LeadSource::Referral, None), clients[3]),
        ];
        let expected = vec![
            (
                LeadSource::Campaign,
                Some("c1".to_string()),
                Decimal::new(1250000, 0),
            ),
            (LeadSource::Website, None, Decimal::new(5000050, 2)),
            (LeadSource::Website, None, Decimal::ZERO),
        ];
        for by_name in [0, 10] {
            assert_eq!(
                holdings(&db, converts.clone(), by_name).await.unwrap(),
                expected,
                "by name up to {by_name}"
            );
        }
    }
}
