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

use super::facts::{load, named_by, Facts, Period, Window, FUNNEL};
use super::memory::SalesMemory;
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
    /// lead's status, and the funnel each lead's furthest stage as saved.
    pub present: bool,
    pub sections: Sections,
}

/// What of the report to compute.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sections {
    Whole,
    /// What the dashboards show (headline, funnel, agents): no stage times, lost reasons,
    /// sources or pipeline.
    Dashboard,
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
    /// The log position the sales read model was at for this report.
    pub position: i64,
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

fn ratio(a: i64, b: i64) -> Option<f64> {
    (b > 0).then(|| a as f64 / b as f64)
}

/// The sales report for `f`, counted from `memory`'s copy of the sales facts of `db`.
pub async fn sales_report(
    db: &Db,
    memory: &SalesMemory,
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
    let Facts {
        position,
        cohorts,
        previous_cohort,
        response,
        response_by_agent,
        entered,
        entered_before,
        stage_time,
        lost_reasons: reasons,
        follow_ups,
        invested,
        pipeline,
    } = load(db, memory, keyring, f, (current, previous), at).await?;

    let reached = |stage: usize| -> i64 {
        cohorts
            .iter()
            .filter(|c| c.furthest >= stage)
            .map(|c| c.leads)
            .sum()
    };
    let converted = FUNNEL.len() - 1;
    let captured = |p: Period| match p {
        Period::Current => reached(0),
        Period::Previous => previous_cohort.0,
    };
    let converted_of = |p: Period| match p {
        Period::Current => reached(converted),
        Period::Previous => previous_cohort.1,
    };
    let converted_by = |who: Option<Uuid>| -> i64 {
        entered
            .iter()
            .filter(|e| e.0 == LeadStatus::Converted && e.1 == who)
            .map(|e| e.2)
            .sum()
    };
    let entered_in = |p: Period, stage: LeadStatus| -> i64 {
        match p {
            Period::Current => entered.iter().filter(|e| e.0 == stage).map(|e| e.2).sum(),
            Period::Previous => entered_before.get(&stage).copied().unwrap_or(0),
        }
    };
    let median = |p: Period| response.get(&p).and_then(|s| s.median);
    let overdue = |before: bool| -> i64 {
        follow_ups
            .values()
            .map(|f| if before { f.overdue_before } else { f.overdue })
            .sum()
    };
    let (cur, prev) = (Period::Current, Period::Previous);
    let n = |v: i64| Some(v as f64);
    let both = |key, v: &dyn Fn(Period) -> Option<f64>| Headline {
        key,
        current: v(cur),
        previous: v(prev),
    };
    let headline = vec![
        both("leads_captured", &|p| n(captured(p))),
        both("conversions", &|p| n(entered_in(p, LeadStatus::Converted))),
        both("conversion_rate", &|p| ratio(converted_of(p), captured(p))),
        both("leads_lost", &|p| n(entered_in(p, LeadStatus::Lost))),
        both("first_response_hours_median", &median),
        Headline {
            key: "follow_ups_overdue",
            current: n(overdue(false)),
            previous: n(overdue(true)),
        },
    ];

    let mut funnel: Vec<FunnelStep> = Vec::new();
    for (i, stage) in FUNNEL.iter().enumerate() {
        let reached = reached(i);
        let rate = funnel
            .last()
            .and_then(|before| ratio(reached, before.reached));
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
        let s = stage_time.get(&stage).copied().unwrap_or_default();
        StageTime {
            stage,
            stays: s.n,
            median_hours: s.median,
            p90_hours: s.p90,
        }
    })
    .collect();

    let whole = f.sections == Sections::Whole;
    // Lost reasons: grouped by their blind index, each named by one lead that gave it.
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
    let campaign = |source: LeadSource, index: &Option<String>| {
        index.clone().filter(|_| names_campaign(source))
    };
    let mut groups: BTreeMap<(LeadSource, Option<String>), (i64, i64, Decimal)> = BTreeMap::new();
    for c in cohorts.iter().filter(|_| whole) {
        let g = groups
            .entry((c.source, campaign(c.source, &c.campaign_index)))
            .or_default();
        g.0 += c.leads;
        if c.furthest == converted {
            g.1 += c.leads;
        }
    }
    for (source, index, v) in invested {
        groups
            .entry((source, campaign(source, &index)))
            .or_default()
            .2 += v;
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
    let mut holders: HashSet<Option<Uuid>> = cohorts.iter().map(|c| c.assignee).collect();
    holders.extend(follow_ups.keys().copied());
    holders.extend(
        entered
            .iter()
            .filter(|e| e.0 == LeadStatus::Converted)
            .map(|e| e.1),
    );
    let mut agents: Vec<AgentRow> = holders
        .into_iter()
        .map(|who| {
            let kept = follow_ups.get(&who);
            AgentRow {
                agent_id: who,
                leads: cohorts
                    .iter()
                    .filter(|c| c.assignee == who)
                    .map(|c| c.leads)
                    .sum(),
                first_response_hours_median: response_by_agent.get(&who).and_then(|s| s.median),
                follow_ups_completed: kept.map_or(0, |k| k.completed),
                follow_ups_on_time: kept.map_or(0, |k| k.on_time),
                follow_ups_overdue: kept.map_or(0, |k| k.overdue),
                conversions: converted_by(who),
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
        position,
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
