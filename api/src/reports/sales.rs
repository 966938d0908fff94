//! The sales report as the web client and a spreadsheet read it: parameters checked, the
//! period in Indian days, agents named, and the long CSV form (`section,key,measure,value`).

use chrono::{DateTime, Duration, NaiveDate, Utc};
use domain::lead::LeadSource;
use poem_openapi::Object;
use projections::sales::report::{SalesFilter, SalesReport, Sections};
use uuid::Uuid;

use crate::auth::Principal;
use crate::http::AppState;
use crate::policy;
use crate::problem::{ApiError, FieldError};
use crate::reports::num;

/// A number of this period beside the period before, and the change between them.
#[derive(Debug, Clone, Object)]
pub struct HeadlineNumber {
    /// leads_captured, conversions, conversion_rate (0 to 1), leads_lost,
    /// first_response_hours_median or follow_ups_overdue (at the period's end).
    pub key: String,
    pub current: Option<f64>,
    pub previous: Option<f64>,
    /// `current - previous`.
    pub change: Option<f64>,
}

/// One step of the funnel of the period's leads.
#[derive(Debug, Clone, Object)]
pub struct FunnelStepOut {
    pub stage: String,
    /// Leads captured in the period that reached this stage or a later one.
    pub reached: i64,
    /// Of those that reached the step before, the share that reached this one.
    pub rate: Option<f64>,
}

/// How long leads stayed in a stage, over the stays that ended in the period.
#[derive(Debug, Clone, Object)]
pub struct StageDuration {
    pub stage: String,
    pub stays: i64,
    pub median_hours: Option<f64>,
    pub p90_hours: Option<f64>,
}

/// A reason and how many leads gave it.
#[derive(Debug, Clone, Object)]
pub struct LostReason {
    pub reason: String,
    pub leads: i64,
}

/// The leads of the period from one source (and campaign or partner, where named).
#[derive(Debug, Clone, Object)]
pub struct SourceResults {
    pub source: String,
    pub campaign: Option<String>,
    pub leads: i64,
    pub conversions: i64,
    pub conversion_rate: Option<f64>,
    /// What the clients these leads became hold, at cost (INR, a decimal string).
    pub aum_brought: String,
}

/// One agent's period (`agent_id` empty: leads nobody holds).
#[derive(Debug, Clone, Object)]
pub struct AgentPerformance {
    pub agent_id: Option<Uuid>,
    pub name: Option<String>,
    pub branch: Option<String>,
    /// Leads captured in the period that the agent holds.
    pub leads: i64,
    pub first_response_hours_median: Option<f64>,
    /// Follow-ups completed in the period, and of those, by their due time.
    pub follow_ups_completed: i64,
    pub follow_ups_on_time: i64,
    /// Open follow-ups past due at the period's end.
    pub follow_ups_overdue: i64,
    /// Leads the agent holds that converted in the period.
    pub conversions: i64,
}

/// Stage counts (open leads at the report's moment).
#[derive(Debug, Clone, Object)]
pub struct PipelineStage {
    pub stage: String,
    pub leads: i64,
}

/// The sales report over the leads the caller may see.
#[derive(Debug, Clone, Object)]
#[oai(example)]
pub struct SalesReportOut {
    /// The moment the report is as of: nothing recorded later counts.
    pub as_of: DateTime<Utc>,
    /// The log position the sales read model had applied.
    pub position: i64,
    /// The period (Indian days, both included) and the one before, as long.
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub previous_from: NaiveDate,
    pub previous_to: NaiveDate,
    pub headline: Vec<HeadlineNumber>,
    pub pipeline: Vec<PipelineStage>,
    pub funnel: Vec<FunnelStepOut>,
    pub stage_time: Vec<StageDuration>,
    pub lost_reasons: Vec<LostReason>,
    pub sources: Vec<SourceResults>,
    pub agents: Vec<AgentPerformance>,
}

impl poem_openapi::types::Example for SalesReportOut {
    fn example() -> Self {
        let day = |d| NaiveDate::from_ymd_opt(2026, 11, d).expect("a day");
        let h = |k: &str, c: f64, p: f64| HeadlineNumber {
            key: k.into(),
            current: Some(c),
            previous: Some(p),
            change: Some(c - p),
        };
        Self {
            as_of: DateTime::parse_from_rfc3339("2026-11-30T18:29:59Z")
                .expect("a time")
                .with_timezone(&Utc),
            position: 48213,
            from: day(1),
            to: day(30),
            previous_from: NaiveDate::from_ymd_opt(2026, 10, 2).expect("a day"),
            previous_to: NaiveDate::from_ymd_opt(2026, 10, 31).expect("a day"),
            headline: vec![
                h("leads_captured", 182.0, 160.0),
                h("conversions", 21.0, 17.0),
                h("conversion_rate", 0.093, 0.081),
                h("leads_lost", 40.0, 35.0),
                h("first_response_hours_median", 3.5, 5.0),
                h("follow_ups_overdue", 6.0, 9.0),
            ],
            pipeline: vec![
                PipelineStage {
                    stage: "new".into(),
                    leads: 58,
                },
                PipelineStage {
                    stage: "contacted".into(),
                    leads: 61,
                },
                PipelineStage {
                    stage: "qualified".into(),
                    leads: 25,
                },
            ],
            funnel: vec![
                FunnelStepOut {
                    stage: "new".into(),
                    reached: 182,
                    rate: None,
                },
                FunnelStepOut {
                    stage: "contacted".into(),
                    reached: 120,
                    rate: Some(0.659),
                },
                FunnelStepOut {
                    stage: "qualified".into(),
                    reached: 44,
                    rate: Some(0.367),
                },
                FunnelStepOut {
                    stage: "converted".into(),
                    reached: 17,
                    rate: Some(0.386),
                },
            ],
            stage_time: vec![StageDuration {
                stage: "new".into(),
                stays: 131,
                median_hours: Some(3.5),
                p90_hours: Some(30.0),
            }],
            lost_reasons: vec![LostReason {
                reason: "Chose another broker".into(),
                leads: 12,
            }],
            sources: vec![SourceResults {
                source: "campaign".into(),
                campaign: Some("Diwali SIP 2026".into()),
                leads: 64,
                conversions: 8,
                conversion_rate: Some(0.125),
                aum_brought: "1250000".into(),
            }],
            agents: vec![AgentPerformance {
                agent_id: Some(Uuid::nil()),
                name: Some("Priya Nair".into()),
                branch: Some("MUM01".into()),
                leads: 31,
                first_response_hours_median: Some(2.0),
                follow_ups_completed: 40,
                follow_ups_on_time: 33,
                follow_ups_overdue: 2,
                conversions: 5,
            }],
        }
    }
}

/// Midnight in India at the start of `day`, in UTC.
pub fn india_midnight(day: NaiveDate) -> DateTime<Utc> {
    day.and_hms_opt(0, 0, 0).expect("midnight").and_utc() - Duration::minutes(330)
}

/// What the caller asked for, before it is checked.
pub struct SalesAsk {
    pub from: Option<NaiveDate>,
    pub to: Option<NaiveDate>,
    pub as_of: Option<DateTime<Utc>>,
    pub branch: Option<String>,
    pub agent: Option<Uuid>,
    pub source: Option<String>,
    pub campaign: Option<String>,
    pub sections: Sections,
}

/// The report `ask` names, over the leads `principal` may see.
pub async fn report(
    state: &AppState,
    principal: &Principal,
    ask: SalesAsk,
) -> Result<SalesReportOut, ApiError> {
    let now = Utc::now();
    let mut as_of = ask.as_of.unwrap_or(now);
    let mut wrong = Vec::new();
    let earliest = india_midnight(NaiveDate::from_ymd_opt(2000, 1, 1).expect("a day"));
    if as_of > now || as_of < earliest {
        wrong.push(FieldError::new(
            "as_of",
            "a moment from 2000-01-01 up to now (not in the future)",
        ));
        // The rest is checked against today, with no arithmetic on a far-off moment.
        as_of = now;
    }
    let today = domain::kyc::india_today(as_of);
    let period = match super::Period::of(ask.from, ask.to, today) {
        Ok(p) => Some(p),
        Err(errors) => {
            wrong.extend(errors);
            None
        }
    };
    let source = match ask.source.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(s) => match LeadSource::parse(s) {
            Some(s) => Some(s),
            None => {
                let all: Vec<&str> = LeadSource::ALL.iter().map(|s| s.as_str()).collect();
                wrong.push(FieldError::new(
                    "source",
                    format!("one of {}", all.join(", ")),
                ));
                None
            }
        },
    };
    let campaign = ask.campaign.filter(|c| !c.trim().is_empty());
    if campaign.as_ref().is_some_and(|c| c.chars().count() > 200) {
        wrong.push(FieldError::new("campaign", "at most 200 characters"));
    }
    let Some(period) = period.filter(|_| wrong.is_empty()) else {
        return Err(ApiError::validation(wrong));
    };
    let branch = ask.branch.map(|b| b.trim().to_ascii_uppercase());
    let agents = match (&branch, ask.agent) {
        (None, None) => None,
        (None, Some(a)) => Some(vec![a]),
        (Some(b), agent) => {
            let members = projections::users::branch_members(&state.db, b)
                .await
                .map_err(ApiError::internal)?;
            Some(
                members
                    .into_iter()
                    .filter(|m| agent.is_none_or(|a| a == *m))
                    .collect(),
            )
        }
    };
    let filter = SalesFilter {
        visible: policy::scope(state, principal).await?,
        agents,
        source,
        campaign,
        from: india_midnight(period.from),
        to: india_midnight(period.to + Duration::days(1)),
        as_of,
        present: ask.as_of.is_none(),
        sections: ask.sections,
    };
    let r =
        projections::sales::report::sales_report(&state.db, &state.sales, &state.keyring, &filter)
            .await
            .map_err(ApiError::internal)?;
    // Where the copy it was counted from stood.
    let position = r.position;
    let ids: Vec<Uuid> = r.agents.iter().filter_map(|a| a.agent_id).collect();
    let names = projections::users::names(&state.db, &ids)
        .await
        .map_err(ApiError::internal)?;
    Ok(shape(r, position, period, &names))
}

/// A ratio as the report shows it: four decimals.
fn rate(v: Option<f64>) -> Option<f64> {
    v.map(|v| (v * 10_000.0).round() / 10_000.0)
}

/// Hours as the report shows them: two decimals.
fn hours(v: Option<f64>) -> Option<f64> {
    v.map(|v| (v * 100.0).round() / 100.0)
}

fn shape(
    r: SalesReport,
    position: i64,
    period: super::Period,
    names: &std::collections::HashMap<Uuid, (String, Option<String>)>,
) -> SalesReportOut {
    SalesReportOut {
        as_of: r.as_of,
        position,
        from: period.from,
        to: period.to,
        previous_from: period.previous().from,
        previous_to: period.previous().to,
        headline: r
            .headline
            .into_iter()
            .map(|h| {
                let (current, previous) = (rate(h.current), rate(h.previous));
                HeadlineNumber {
                    key: h.key.into(),
                    current,
                    previous,
                    change: rate(current.zip(previous).map(|(c, p)| c - p)),
                }
            })
            .collect(),
        pipeline: r
            .pipeline
            .into_iter()
            .map(|(s, n)| PipelineStage {
                stage: s.as_str().into(),
                leads: n,
            })
            .collect(),
        funnel: r
            .funnel
            .into_iter()
            .map(|f| FunnelStepOut {
                stage: f.stage.as_str().into(),
                reached: f.reached,
                rate: rate(f.rate),
            })
            .collect(),
        stage_time: r
            .stage_time
            .into_iter()
            .map(|s| StageDuration {
                stage: s.stage.as_str().into(),
                stays: s.stays,
                median_hours: hours(s.median_hours),
                p90_hours: hours(s.p90_hours),
            })
            .collect(),
        lost_reasons: r
            .lost_reasons
            .into_iter()
            .map(|(reason, leads)| LostReason { reason, leads })
            .collect(),
        sources: r
            .sources
            .into_iter()
            .map(|s| SourceResults {
                source: s.source.as_str().into(),
                campaign: s.campaign,
                leads: s.leads,
                conversions: s.conversions,
                conversion_rate: rate(s.conversion_rate),
                aum_brought: s.aum_brought.round_dp(2).normalize().to_string(),
            })
            .collect(),
        agents: r
            .agents
            .into_iter()
            .map(|a| {
                let who = a.agent_id.and_then(|id| names.get(&id));
                AgentPerformance {
                    agent_id: a.agent_id,
                    name: who.map(|w| w.0.clone()),
                    branch: who.and_then(|w| w.1.clone()),
                    leads: a.leads,
                    first_response_hours_median: hours(a.first_response_hours_median),
                    follow_ups_completed: a.follow_ups_completed,
                    follow_ups_on_time: a.follow_ups_on_time,
                    follow_ups_overdue: a.follow_ups_overdue,
                    conversions: a.conversions,
                }
            })
            .collect(),
    }
}

impl super::CsvReport for SalesReportOut {
    /// The report as CSV, one number per row: `section,key,measure,value`.
    fn csv(&self) -> Result<String, csv::Error> {
        let mut out = super::LongCsv::default();
        let mut row = |s: &str, k: &str, m: &str, v: String| out.row(s, k, m, v);
        row("report", "as_of", "time", self.as_of.to_rfc3339());
        row("report", "period", "from", self.from.to_string());
        row("report", "period", "to", self.to.to_string());
        row("report", "position", "position", self.position.to_string());
        for h in &self.headline {
            row("headline", &h.key, "current", num(h.current));
            row("headline", &h.key, "previous", num(h.previous));
        }
        for p in &self.pipeline {
            row("pipeline", &p.stage, "leads", p.leads.to_string());
        }
        for f in &self.funnel {
            row("funnel", &f.stage, "reached", f.reached.to_string());
            row("funnel", &f.stage, "rate", num(f.rate));
        }
        for s in &self.stage_time {
            row("stage_time", &s.stage, "stays", s.stays.to_string());
            row("stage_time", &s.stage, "median_hours", num(s.median_hours));
            row("stage_time", &s.stage, "p90_hours", num(s.p90_hours));
        }
        for r in &self.lost_reasons {
            row("lost_reasons", &r.reason, "leads", r.leads.to_string());
        }
        for s in &self.sources {
            let key = match &s.campaign {
                Some(c) => format!("{}: {c}", s.source),
                None => s.source.clone(),
            };
            row("sources", &key, "leads", s.leads.to_string());
            row("sources", &key, "conversions", s.conversions.to_string());
            row("sources", &key, "aum_brought", s.aum_brought.clone());
        }
        for a in &self.agents {
            let key = a
                .agent_id
                .map(|i| i.to_string())
                .unwrap_or_else(|| "unassigned".into());
            for (m, v) in [
                ("leads", a.leads),
                ("follow_ups_completed", a.follow_ups_completed),
                ("follow_ups_on_time", a.follow_ups_on_time),
                ("follow_ups_overdue", a.follow_ups_overdue),
                ("conversions", a.conversions),
            ] {
                row("agents", &key, m, v.to_string());
            }
            row(
                "agents",
                &key,
                "first_response_hours_median",
                num(a.first_response_hours_median),
            );
        }
        out.finish()
    }
}
