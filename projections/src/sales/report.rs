//! The sales report from the sales facts read model: the pipeline at a moment, the funnel of the
//! leads captured in a period, time in each stage, lost reasons, sources and campaigns, and the
//! agents' table — each headline number beside the period before.

use std::collections::{BTreeMap, HashMap, HashSet};

use chrono::{DateTime, Utc};
use domain::access::LeadScope;
use domain::lead::{LeadSource, LeadStatus};
use rust_decimal::Decimal;
use store::privacy::Keyring;
use store::Db;
use uuid::Uuid;

use super::facts::{invested, load, named_by, Facts, FollowUp, Lead, Window, FUNNEL};
use super::names_campaign;
use crate::ProjectionError;

/// Which leads and which time the report is about.
#[derive(Debug, Clone)]
pub struct SalesFilter {
    /// What the caller may see (`None`: every lead).
    pub visible: Option<LeadScope>,
    /// Only leads held by these agents (a branch's staff, or one agent).
    pub agents: Option<Vec<Uuid>>,
    pub source: Option<LeadSource>,
    /// Only leads of this campaign or partner (as typed: case and spacing aside).
    pub campaign: Option<String>,
    /// The period, `[from, to)`; the one before is as long and ends at `from`.
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
    /// The moment the report is as of: nothing recorded later counts.
    pub as_of: DateTime<Utc>,
    /// Whether that moment is now (no past moment asked for): the open pipeline is then each
    /// lead's status, counted from an index.
    pub present: bool,
}

/// A number of this period beside the same number of the period before.
#[derive(Debug, Clone, PartialEq)]
pub struct Headline {
    pub key: &'static str,
    pub current: Option<f64>,
    pub previous: Option<f64>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct FunnelStep {
    pub stage: LeadStatus,
    /// Leads of the period that reached this stage (or a later one) by the report's moment.
    pub reached: i64,
    /// `reached` over the step before's (`None` for the first step, or when it had none).
    pub rate: Option<f64>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct StageTime {
    pub stage: LeadStatus,
    /// Stays in the stage that ended in the period.
    pub stays: i64,
    pub median_hours: Option<f64>,
    pub p90_hours: Option<f64>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct SourceRow {
    pub source: LeadSource,
    /// The campaign or partner named by campaign and partner leads (`None`: not named, or
    /// another source).
    pub campaign: Option<String>,
    pub leads: i64,
    pub conversions: i64,
    pub conversion_rate: Option<f64>,
    /// What the clients these leads became hold, at cost.
    pub aum_brought: Decimal,
}

#[derive(Debug, Clone, PartialEq)]
pub struct AgentRow {
    /// `None`: leads no agent holds.
    pub agent_id: Option<Uuid>,
    pub leads: i64,
    pub first_response_hours_median: Option<f64>,
    pub follow_ups_completed: i64,
    pub follow_ups_on_time: i64,
    pub follow_ups_overdue: i64,
    pub conversions: i64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct SalesReport {
    pub as_of: DateTime<Utc>,
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
    pub previous_from: DateTime<Utc>,
    pub headline: Vec<Headline>,
    /// Open leads by stage at the report's moment.
    pub pipeline: Vec<(LeadStatus, i64)>,
    pub funnel: Vec<FunnelStep>,
    pub stage_time: Vec<StageTime>,
    /// Reasons of the leads lost in the period (and still lost), most frequent first.
    pub lost_reasons: Vec<(String, i64)>,
    pub sources: Vec<SourceRow>,
    pub agents: Vec<AgentRow>,
}

/// The `p` quantile (nearest rank) of `values`.
pub fn percentile(values: &mut [f64], p: f64) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    values.sort_by(f64::total_cmp);
    let rank = ((p * values.len() as f64).ceil() as usize).clamp(1, values.len());
    Some(values[rank - 1])
}

fn hours(from: DateTime<Utc>, to: DateTime<Utc>) -> f64 {
    (to - from).num_seconds() as f64 / 3600.0
}

fn ratio(a: i64, b: i64) -> Option<f64> {
    (b > 0).then(|| a as f64 / b as f64)
}

/// The sales report for `f`.
pub async fn sales_report(
    db: &Db,
    keyring: &Keyring,
    f: &SalesFilter,
) -> Result<SalesReport, ProjectionError> {
    let at = f.as_of;
    let previous_from = f.from - (f.to - f.from);
    let current = Window {
        start: f.from,
        end: f.to.min(at),
    };
    let previous = Window {
        start: previous_from,
        end: f.from.min(at),
    };
    let span = Window {
        start: previous_from,
        end: current.end.max(previous.end),
    };
    let Facts {
        leads,
        stays,
        follow_ups,
        pipeline,
    } = load(db, keyring, f, span, at).await?;

    let in_period =
        |w: Window| -> Vec<&Lead> { leads.iter().filter(|l| w.holds(l.created_at)).collect() };
    let (now_leads, then_leads) = (in_period(current), in_period(previous));
    let converted = |ls: &[&Lead]| ls.iter().filter(|l| l.furthest == 3).count() as i64;
    let entered = |w: Window, stage: LeadStatus| {
        stays
            .iter()
            .filter(|s| s.stage == stage && w.holds(s.entered_at))
            .count() as i64
    };
    let response = |ls: &[&Lead]| {
        let mut h: Vec<f64> = ls
            .iter()
            .filter_map(|l| l.first_response_at.map(|r| hours(l.created_at, r)))
            .collect();
        percentile(&mut h, 0.5)
    };
    let overdue_at = |t: DateTime<Utc>, who: Option<Option<Uuid>>| {
        follow_ups
            .iter()
            .filter(|f| who.is_none_or(|w| f.assignee == w))
            .filter(|f| f.due_at < t && f.closed_at.is_none_or(|c| c > t))
            .count() as i64
    };
    let n = |v: i64| Some(v as f64);
    let headline = vec![
        Headline {
            key: "leads_captured",
            current: n(now_leads.len() as i64),
            previous: n(then_leads.len() as i64),
        },
        Headline {
            key: "conversions",
            current: n(entered(current, LeadStatus::Converted)),
            previous: n(entered(previous, LeadStatus::Converted)),
        },
        Headline {
            key: "conversion_rate",
            current: ratio(converted(&now_leads), now_leads.len() as i64),
            previous: ratio(converted(&then_leads), then_leads.len() as i64),
        },
        Headline {
            key: "leads_lost",
            current: n(entered(current, LeadStatus::Lost)),
            previous: n(entered(previous, LeadStatus::Lost)),
        },
        Headline {
            key: "first_response_hours_median",
            current: response(&now_leads),
            previous: response(&then_leads),
        },
        Headline {
            key: "follow_ups_overdue",
            current: n(overdue_at(current.end, None)),
            previous: n(overdue_at(previous.end, None)),
        },
    ];

    let mut funnel = Vec::new();
    for (i, stage) in FUNNEL.iter().enumerate() {
        let reached = now_leads.iter().filter(|l| l.furthest >= i).count() as i64;
        let rate = match funnel.last() {
            Some(FunnelStep {
                reached: before, ..
            }) => ratio(reached, *before),
            None => None,
        };
        funnel.push(FunnelStep {
            stage: *stage,
            reached,
            rate,
        });
    }

    let stage_time = [
        LeadStatus::New,
        LeadStatus::Contacted,
        LeadStatus::Qualified,
    ]
    .into_iter()
    .map(|stage| {
        let mut h: Vec<f64> = stays
            .iter()
            .filter(|s| s.stage == stage)
            .filter_map(|s| {
                s.left_at
                    .filter(|l| current.holds(*l))
                    .map(|l| hours(s.entered_at, l))
            })
            .collect();
        StageTime {
            stage,
            stays: h.len() as i64,
            median_hours: percentile(&mut h, 0.5),
            p90_hours: percentile(&mut h, 0.9),
        }
    })
    .collect();

    // Lost reasons: grouped by their blind index, each named by one lead that gave it.
    let mut reasons: BTreeMap<Option<String>, i64> = BTreeMap::new();
    for s in stays
        .iter()
        .filter(|s| s.stage == LeadStatus::Lost && current.holds(s.entered_at))
        .filter(|s| s.status == "lost")
    {
        *reasons.entry(s.lost_reason_index.clone()).or_default() += 1;
    }
    let mut lost_reasons = Vec::new();
    for (index, count) in reasons {
        let label = match &index {
            Some(i) => {
                named_by(db, keyring, &f.visible, "lost_reason_index", i, |v| {
                    v.lost_reason
                })
                .await?
            }
            None => None,
        };
        lost_reasons.push((label.unwrap_or_else(|| "(not readable)".into()), count));
    }
    lost_reasons.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));

    // Sources and campaigns of the period's leads, with what the clients they became hold.
    let clients: Vec<String> = now_leads
        .iter()
        .filter(|l| l.furthest == 3)
        .filter_map(|l| l.client_id.clone())
        .collect();
    let invested = invested(db, &clients).await?;
    let mut groups: BTreeMap<(LeadSource, Option<String>), (i64, i64, Decimal)> = BTreeMap::new();
    for l in &now_leads {
        let campaign = l
            .campaign_index
            .clone()
            .filter(|_| names_campaign(l.source));
        let g = groups.entry((l.source, campaign)).or_default();
        g.0 += 1;
        if l.furthest == 3 {
            g.1 += 1;
            if let Some(v) = l.client_id.as_ref().and_then(|c| invested.get(c)) {
                g.2 += *v;
            }
        }
    }
    let mut sources = Vec::new();
    for ((source, index), (leads, conversions, aum)) in groups {
        let campaign = match &index {
            Some(i) => {
                named_by(db, keyring, &f.visible, "campaign_index", i, |v| {
                    v.source_detail
                })
                .await?
            }
            None => None,
        };
        sources.push(SourceRow {
            source,
            campaign,
            leads,
            conversions,
            conversion_rate: ratio(conversions, leads),
            aum_brought: aum,
        });
    }
    sources.sort_by(|a, b| b.leads.cmp(&a.leads).then(a.source.cmp(&b.source)));

    // Agents: the leads they hold now, by who holds them.
    let mut holders: Vec<Option<Uuid>> = now_leads.iter().map(|l| l.assignee).collect();
    holders.extend(follow_ups.iter().map(|f| f.assignee));
    holders.extend(
        stays
            .iter()
            .filter(|s| s.stage == LeadStatus::Converted && current.holds(s.entered_at))
            .map(|s| s.assignee),
    );
    let holders: Vec<Option<Uuid>> = holders
        .into_iter()
        .collect::<HashSet<_>>()
        .into_iter()
        .collect();
    let mut agents: Vec<AgentRow> = holders
        .into_iter()
        .map(|who| {
            let mine: Vec<&Lead> = now_leads
                .iter()
                .copied()
                .filter(|l| l.assignee == who)
                .collect();
            let closed: Vec<&FollowUp> = follow_ups
                .iter()
                .filter(|f| f.assignee == who && f.completed)
                .filter(|f| f.closed_at.is_some_and(|c| current.holds(c)))
                .collect();
            AgentRow {
                agent_id: who,
                leads: mine.len() as i64,
                first_response_hours_median: response(&mine),
                follow_ups_completed: closed.len() as i64,
                follow_ups_on_time: closed
                    .iter()
                    .filter(|f| f.closed_at.is_some_and(|c| c <= f.due_at))
                    .count() as i64,
                follow_ups_overdue: overdue_at(current.end, Some(who)),
                conversions: stays
                    .iter()
                    .filter(|s| s.assignee == who && s.stage == LeadStatus::Converted)
                    .filter(|s| current.holds(s.entered_at))
                    .count() as i64,
            }
        })
        .collect();
    agents.sort_by(|a, b| {
        b.conversions
            .cmp(&a.conversions)
            .then(b.leads.cmp(&a.leads))
            .then(a.agent_id.cmp(&b.agent_id))
    });

    let mut open: HashMap<String, i64> = pipeline.into_iter().collect();
    let pipeline = [
        LeadStatus::New,
        LeadStatus::Contacted,
        LeadStatus::Qualified,
    ]
    .into_iter()
    .map(|s| (s, open.remove(s.as_str()).unwrap_or(0)))
    .collect();

    Ok(SalesReport {
        as_of: at,
        from: f.from,
        to: f.to,
        previous_from,
        headline,
        pipeline,
        funnel,
        stage_time,
        lost_reasons,
        sources,
        agents,
    })
}
