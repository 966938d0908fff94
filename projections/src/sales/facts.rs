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

use super::report::SalesFilter;
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

/// The conditions on the lead row `l` every part of the report shares.
fn lead_conditions(f: &SalesFilter, keyring: &Keyring) -> Sql {
    let mut sql = Sql::default();
    let no = sql.bind(Bind::Bool(false));
    sql.and(format!("l.merged = {no}"));
    push_visible_on(&mut sql, &f.visible, "l.assignee");
    if let Some(agents) = &f.agents {
        if agents.is_empty() {
            sql.and("1 = 0".into());
        } else {
            let marks: Vec<String> = agents
                .iter()
                .map(|a| sql.bind(Bind::Text(a.to_string())))
                .collect();
            sql.and(format!("l.assignee IN ({})", marks.join(", ")));
        }
    }
    if let Some(s) = f.source {
        let b = sql.bind(Bind::Text(s.as_str().into()));
        sql.and(format!("l.source = {b}"));
    }
    if let Some(c) = &f.campaign {
        let b = sql.bind(Bind::Text(keyring.blind_index("campaign", &normalised(c))));
        sql.and(format!("l.campaign_index = {b}"));
    }
    sql
}

type CohortRow = (
    String,
    String,
    Option<String>,
    Option<String>,
    DateTime<Utc>,
    Option<DateTime<Utc>>,
    Option<String>,
);
type StageRow = (
    String,
    String,
    DateTime<Utc>,
    Option<DateTime<Utc>>,
    Option<String>,
    Option<String>,
    String,
);
type FollowUpRow = (DateTime<Utc>, Option<DateTime<Utc>>, String, Option<String>);

/// A lead captured in the report's periods.
pub(super) struct Lead {
    pub(super) source: LeadSource,
    pub(super) campaign_index: Option<String>,
    pub(super) assignee: Option<Uuid>,
    pub(super) created_at: DateTime<Utc>,
    pub(super) first_response_at: Option<DateTime<Utc>>,
    pub(super) client_id: Option<String>,
    /// The furthest funnel stage reached by the report's moment.
    pub(super) furthest: usize,
}

/// A stage stay that began or ended in the report's periods.
pub(super) struct Stay {
    pub(super) stage: LeadStatus,
    pub(super) entered_at: DateTime<Utc>,
    pub(super) left_at: Option<DateTime<Utc>>,
    pub(super) assignee: Option<Uuid>,
    pub(super) lost_reason_index: Option<String>,
    pub(super) status: String,
}

pub(super) struct FollowUp {
    pub(super) due_at: DateTime<Utc>,
    pub(super) closed_at: Option<DateTime<Utc>>,
    pub(super) completed: bool,
    pub(super) assignee: Option<Uuid>,
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

impl Window {
    pub(super) fn holds(&self, t: DateTime<Utc>) -> bool {
        self.start <= t && t < self.end
    }
}

/// What one report reads.
pub(super) struct Facts {
    pub(super) leads: Vec<Lead>,
    pub(super) stays: Vec<Stay>,
    pub(super) follow_ups: Vec<FollowUp>,
    /// Open leads by stage at the report's moment.
    pub(super) pipeline: Vec<(String, i64)>,
}

/// The facts of `f` over `span`, nothing recorded after `at` counted.
pub(super) async fn load(
    db: &Db,
    keyring: &Keyring,
    f: &SalesFilter,
    span: Window,
    at: DateTime<Utc>,
) -> Result<Facts, ProjectionError> {
    let base = lead_conditions(f, keyring);

    // The leads captured in either period, with the furthest stage each reached by `at`.
    let mut sql = Sql {
        conditions: base.conditions.clone(),
        binds: base.binds.clone(),
    };
    let (s, e) = (
        sql.bind(Bind::Time(span.start)),
        sql.bind(Bind::Time(span.end)),
    );
    sql.and(format!("l.created_at >= {s} AND l.created_at < {e}"));
    let cohort_sql = format!(
        "SELECT l.lead_id, l.source, l.campaign_index, l.assignee, l.created_at,
                l.first_response_at, l.client_id
           FROM sales_leads l{}",
        sql.where_clause()
    );
    let t = sql.bind(Bind::Time(at));
    let reached_sql = format!(
        "SELECT st.lead_id, st.stage FROM sales_stages st JOIN sales_leads l ON l.lead_id = st.lead_id{}
            AND st.entered_at <= {t}",
        sql.where_clause()
    );
    let cohort_binds = sql.binds[..sql.binds.len() - 1].to_vec();
    let reached_binds = sql.binds.clone();

    // Stays that began or ended in either period.
    let mut sql = Sql {
        conditions: base.conditions.clone(),
        binds: base.binds.clone(),
    };
    let (s, e) = (
        sql.bind(Bind::Time(span.start)),
        sql.bind(Bind::Time(span.end)),
    );
    sql.and(format!(
        "((st.entered_at >= {s} AND st.entered_at < {e}) OR (st.left_at >= {s} AND st.left_at < {e}))"
    ));
    let stays_sql = format!(
        "SELECT st.lead_id, st.stage, st.entered_at, st.left_at, l.assignee, l.lost_reason_index, l.status
           FROM sales_stages st JOIN sales_leads l ON l.lead_id = st.lead_id{}",
        sql.where_clause()
    );
    let stays_binds = sql.binds;

    // Follow-ups closed in either period, or open at one of their ends.
    let mut sql = Sql {
        conditions: base.conditions.clone(),
        binds: base.binds.clone(),
    };
    let (s, e) = (
        sql.bind(Bind::Time(span.start)),
        sql.bind(Bind::Time(span.end)),
    );
    sql.and(format!(
        "((f.closed_at >= {s} AND f.closed_at < {e})
          OR (f.due_at < {e} AND (f.closed_at IS NULL OR f.closed_at >= {s})))"
    ));
    let follow_ups_sql = format!(
        "SELECT f.due_at, f.closed_at, f.state, l.assignee
           FROM sales_follow_ups f JOIN sales_leads l ON l.lead_id = f.lead_id{}",
        sql.where_clause()
    );
    let follow_ups_binds = sql.binds;

    // Open leads by stage at `at`: for the present, each lead's status (counted from an index
    // alone); for a moment past, the stays that spanned it.
    let mut sql = Sql {
        conditions: base.conditions.clone(),
        binds: base.binds.clone(),
    };
    let no = sql.bind(Bind::Bool(false));
    sql.and(format!("l.archived = {no}"));
    let pipeline_sql = if f.present {
        sql.and("l.status IN ('new', 'contacted', 'qualified')".into());
        format!(
            "SELECT l.status, COUNT(*) FROM sales_leads l{} GROUP BY l.status",
            sql.where_clause()
        )
    } else {
        let t = sql.bind(Bind::Time(at));
        sql.and(format!(
            "st.stage IN ('new', 'contacted', 'qualified') AND st.entered_at <= {t}
             AND (st.left_at IS NULL OR st.left_at > {t})"
        ));
        format!(
            "SELECT st.stage, COUNT(*) FROM sales_stages st JOIN sales_leads l ON l.lead_id = st.lead_id{}
              GROUP BY st.stage",
            sql.where_clause()
        )
    };
    let pipeline_binds = sql.binds;

    let (cohort, reached, stays, follow_ups, pipeline) = with_db!(db, pool => {
        let cohort: Vec<CohortRow> =
            bind_all!(sqlx::query_as(&cohort_sql), &cohort_binds).fetch_all(pool).await?;
        let reached: Vec<(String, String)> =
            bind_all!(sqlx::query_as(&reached_sql), &reached_binds).fetch_all(pool).await?;
        let stays: Vec<StageRow> =
            bind_all!(sqlx::query_as(&stays_sql), &stays_binds).fetch_all(pool).await?;
        let follow_ups: Vec<FollowUpRow> =
            bind_all!(sqlx::query_as(&follow_ups_sql), &follow_ups_binds).fetch_all(pool).await?;
        let pipeline: Vec<(String, i64)> =
            bind_all!(sqlx::query_as(&pipeline_sql), &pipeline_binds).fetch_all(pool).await?;
        (cohort, reached, stays, follow_ups, pipeline)
    });

    let mut furthest: HashMap<String, usize> = HashMap::new();
    for (id, stage) in reached {
        if let Some(r) = LeadStatus::parse(&stage).and_then(rank) {
            let e = furthest.entry(id).or_default();
            *e = (*e).max(r);
        }
    }
    let leads: Vec<Lead> = cohort
        .into_iter()
        .filter_map(
            |(id, source, campaign_index, assignee, created_at, first, client)| {
                Some(Lead {
                    furthest: furthest.get(&id).copied().unwrap_or(0),
                    source: LeadSource::parse(&source)?,
                    campaign_index,
                    assignee: uuid(assignee),
                    created_at,
                    first_response_at: first.filter(|t| *t <= at),
                    client_id: client,
                })
            },
        )
        .collect();
    let stays: Vec<Stay> = stays
        .into_iter()
        .filter_map(
            |(_, stage, entered_at, left_at, assignee, reason, status)| {
                Some(Stay {
                    stage: LeadStatus::parse(&stage)?,
                    entered_at,
                    left_at: left_at.filter(|t| *t <= at),
                    assignee: uuid(assignee),
                    lost_reason_index: reason,
                    status,
                })
            },
        )
        .filter(|s| s.entered_at <= at)
        .collect();
    let follow_ups: Vec<FollowUp> = follow_ups
        .into_iter()
        .map(|(due_at, closed_at, state, assignee)| {
            let closed_at = closed_at.filter(|t| *t <= at);
            FollowUp {
                due_at,
                completed: state == "completed" && closed_at.is_some(),
                closed_at,
                assignee: uuid(assignee),
            }
        })
        .collect();

    Ok(Facts {
        leads,
        stays,
        follow_ups,
        pipeline,
    })
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

/// What the clients `ids` hold, at cost.
pub(super) async fn invested(
    db: &Db,
    ids: &[String],
) -> Result<HashMap<String, Decimal>, ProjectionError> {
    let mut out = HashMap::new();
    for chunk in ids.chunks(200) {
        let list = serde_json::to_string(chunk).expect("ids serialize");
        let sql = format!(
            "SELECT client_id, invested FROM portfolios WHERE {}",
            crate::schema::member_of_db(db, "client_id", 1)
        );
        let rows: Vec<(String, String)> = with_db!(db, pool => {
            sqlx::query_as(&sql).bind(&list).fetch_all(pool).await?
        });
        for (id, v) in rows {
            if let Ok(v) = v.parse::<Decimal>() {
                out.insert(id, v);
            }
        }
    }
    Ok(out)
}
