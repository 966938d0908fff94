//! `GET /api/dashboard`: one call answering the widgets of the caller's role, each from the read
//! models and each saying the log position it is as of.

use chrono::{DateTime, Datelike, Utc};
use domain::user::Role;
use poem_openapi::payload::Json;
use poem_openapi::{ApiResponse, Object, OpenApi, Tags};

use crate::auth::{Auth, Principal};
use crate::http::State;
use crate::policy;
use crate::problem::{ApiError, ReadError};
use crate::reports::sales::{self, AgentPerformance, FunnelStepOut, SalesAsk};
use crate::reports::Count;

#[derive(Tags)]
pub enum DashboardTags {
    /// The caller's dashboard.
    Dashboard,
}

/// Leads being worked, by status.
#[derive(Debug, Clone, Object)]
pub struct LeadsWidget {
    /// The log position the read model had applied.
    pub position: i64,
    pub by_status: Vec<Count>,
}

/// Open follow-ups on leads and clients.
#[derive(Debug, Clone, Object)]
pub struct FollowUpsWidget {
    pub position: i64,
    /// Due later today (Indian day).
    pub due_today: i64,
    /// Past their due time.
    pub overdue: i64,
}

/// Leads converted this month, and in as many days before it.
#[derive(Debug, Clone, Object)]
pub struct ConversionsWidget {
    pub position: i64,
    pub this_month: i64,
    pub previous_period: i64,
}

/// This month's funnel.
#[derive(Debug, Clone, Object)]
pub struct FunnelWidget {
    pub position: i64,
    pub steps: Vec<FunnelStepOut>,
    /// Captured this month and converted (0 to 1).
    pub conversion_rate: Option<f64>,
}

/// The agents' month.
#[derive(Debug, Clone, Object)]
pub struct AgentsWidget {
    pub position: i64,
    pub agents: Vec<AgentPerformance>,
}

/// What the clients hold, at cost.
#[derive(Debug, Clone, Object)]
pub struct AumWidget {
    pub position: i64,
    /// Clients holding a quantity of anything.
    pub clients_with_holdings: i64,
    /// INR, a decimal string.
    pub invested: String,
}

/// Compliance's KYC queue.
#[derive(Debug, Clone, Object)]
pub struct KycQueueWidget {
    pub position: i64,
    /// `submitted` and `under_review` cases.
    pub waiting: Vec<Count>,
    /// Waiting cases by days since submission (`0-2`, `3-7`, `8-30`, `31+`).
    pub ageing: Vec<Count>,
    pub oldest_submitted_at: Option<DateTime<Utc>>,
}

/// Expiries coming and re-KYC overdue.
#[derive(Debug, Clone, Object)]
pub struct ExpiriesWidget {
    pub position: i64,
    /// Verified cases whose first document expiry falls within 30, 60, 90 days.
    pub expiring: Vec<Count>,
    pub rekyc_overdue: i64,
}

/// KYC alerts raised on the cases in hand.
#[derive(Debug, Clone, Object)]
pub struct AlertsWidget {
    pub position: i64,
    pub cases_with_alerts: i64,
    pub alerts: i64,
}

/// How one read model keeps up with the log.
#[derive(Debug, Clone, Object)]
pub struct ProjectionHealth {
    pub name: String,
    pub position: i64,
    /// Events behind the log head.
    pub lag: i64,
    pub dead_letters: i64,
}

/// The system's health.
#[derive(Debug, Clone, Object)]
pub struct HealthWidget {
    /// The log head.
    pub position: i64,
    pub projections: Vec<ProjectionHealth>,
    pub dead_letters: i64,
    pub outbox: OutboxBacklog,
}

/// The notification outbox: what waits to be sent, and the dead letters.
#[derive(Debug, Clone, Object)]
pub struct OutboxBacklog {
    /// Messages queued or being sent.
    pub waiting: i64,
    /// When the oldest of them was decided.
    pub oldest_waiting_at: Option<chrono::DateTime<chrono::Utc>>,
    /// Messages out of attempts or too old (`GET /api/notifications?status=dead`).
    pub dead: i64,
}

/// The audit ledger.
#[derive(Debug, Clone, Object)]
pub struct LedgerWidget {
    /// The log position the ledger had folded in.
    pub position: i64,
    /// Events in the ledger.
    pub entries: i64,
    /// Events of the log not yet in the ledger.
    pub behind: i64,
    pub last_checkpoint_seq: Option<i64>,
    pub last_checkpoint_at: Option<String>,
}

/// The widgets of the caller's role; those of other roles are absent.
#[derive(Debug, Clone, Object)]
#[oai(example)]
pub struct DashboardOut {
    pub role: String,
    pub generated_at: DateTime<Utc>,
    pub leads: Option<LeadsWidget>,
    pub follow_ups: Option<FollowUpsWidget>,
    pub conversions: Option<ConversionsWidget>,
    pub funnel: Option<FunnelWidget>,
    pub agents: Option<AgentsWidget>,
    pub aum: Option<AumWidget>,
    pub kyc_queue: Option<KycQueueWidget>,
    pub expiries: Option<ExpiriesWidget>,
    pub alerts: Option<AlertsWidget>,
    pub health: Option<HealthWidget>,
    pub ledger: Option<LedgerWidget>,
}

impl poem_openapi::types::Example for DashboardOut {
    fn example() -> Self {
        let c = |k: &str, n| Count {
            key: k.into(),
            count: n,
        };
        Self {
            role: "relationship_manager".into(),
            generated_at: DateTime::parse_from_rfc3339("2026-12-01T09:30:00Z")
                .expect("a time")
                .with_timezone(&Utc),
            leads: Some(LeadsWidget {
                position: 48213,
                by_status: vec![
                    c("new", 12),
                    c("contacted", 9),
                    c("qualified", 4),
                    c("converted", 7),
                    c("lost", 3),
                ],
            }),
            follow_ups: Some(FollowUpsWidget {
                position: 48213,
                due_today: 5,
                overdue: 1,
            }),
            conversions: Some(ConversionsWidget {
                position: 48213,
                this_month: 2,
                previous_period: 3,
            }),
            funnel: None,
            agents: None,
            aum: None,
            kyc_queue: None,
            expiries: None,
            alerts: None,
            health: None,
            ledger: None,
        }
    }
}

#[derive(ApiResponse)]
pub enum DashboardResponse {
    /// The caller's widgets.
    #[oai(status = 200)]
    Ok(Json<DashboardOut>),
}

pub struct DashboardApi {
    pub state: State,
}

#[OpenApi]
impl DashboardApi {
    /// The caller's dashboard
    ///
    /// One call, the widgets of the caller's role. A relationship manager: their leads by
    /// status, follow-ups due today and overdue, conversions this month. A branch manager:
    /// those over the branch, its funnel, the agents' table and the assets its clients hold.
    /// A compliance officer: the KYC queue and its ageing, expiries, alerts. An auditor: the
    /// audit ledger. An admin: all of it, plus each read model's lag and dead letters. Each
    /// widget says the log position it is as of.
    #[oai(
        path = "/api/dashboard",
        method = "get",
        tag = "DashboardTags::Dashboard",
        operation_id = "getDashboard"
    )]
    async fn dashboard(&self, auth: Auth) -> Result<DashboardResponse, ReadError> {
        Ok(DashboardResponse::Ok(Json(
            dashboard(&self.state, &auth.0).await?,
        )))
    }
}

async fn dashboard(state: &State, principal: &Principal) -> Result<DashboardOut, ApiError> {
    let now = Utc::now();
    let role = principal.role;
    let sells = matches!(
        role,
        Role::Admin | Role::BranchManager | Role::RelationshipManager
    );
    let complies = matches!(role, Role::Admin | Role::ComplianceOfficer);
    let audits = matches!(role, Role::Admin | Role::Auditor);
    // The role's parts side by side, each on its own connection.
    let (sales, kyc, health, ledger) = futures::try_join!(
        when(sells, sales_widgets(state, principal, now)),
        when(complies, kyc_widgets(state, now)),
        when(role == Role::Admin, health_widget(state)),
        when(audits, ledger_status(state)),
    )?;
    let mut out = DashboardOut {
        role: role.as_str().into(),
        generated_at: now,
        leads: None,
        follow_ups: None,
        conversions: None,
        funnel: None,
        agents: None,
        aum: None,
        kyc_queue: None,
        expiries: None,
        alerts: None,
        health,
        ledger,
    };
    if let Some(s) = sales {
        (out.leads, out.follow_ups, out.conversions) =
            (Some(s.leads), Some(s.follow_ups), Some(s.conversions));
        (out.funnel, out.agents, out.aum) = (s.funnel, s.agents, s.aum);
    }
    if let Some((queue, expiries, alerts)) = kyc {
        (out.kyc_queue, out.expiries, out.alerts) = (Some(queue), Some(expiries), Some(alerts));
    }
    Ok(out)
}

/// `part` when `asked`, else nothing (and nothing read).
async fn when<T>(
    asked: bool,
    part: impl std::future::Future<Output = Result<T, ApiError>>,
) -> Result<Option<T>, ApiError> {
    match asked {
        true => part.await.map(Some),
        false => Ok(None),
    }
}

/// The log position a read model has applied.
fn at(state: &State, name: &str) -> i64 {
    state
        .progress
        .current(name)
        .map(|c| c.position)
        .unwrap_or(0)
}

/// The widgets of those who sell: always leads, follow-ups and conversions; the funnel, the
/// agents' table and the assets for those who manage.
struct SalesWidgets {
    leads: LeadsWidget,
    follow_ups: FollowUpsWidget,
    conversions: ConversionsWidget,
    funnel: Option<FunnelWidget>,
    agents: Option<AgentsWidget>,
    aum: Option<AumWidget>,
}

async fn sales_widgets(
    state: &State,
    principal: &Principal,
    now: DateTime<Utc>,
) -> Result<SalesWidgets, ApiError> {
    let db = &state.db;
    // The positions first: each widget is then at least as fresh as it says.
    let (leads_at, clients_at, portfolios_at) = (
        at(state, projections::leads::NAME),
        at(state, projections::clients::NAME),
        at(state, projections::investments::NAME),
    );
    let manages = matches!(principal.role, Role::Admin | Role::BranchManager);
    let visible = policy::scope(state, principal).await?;
    let clients = policy::client_scope(principal);
    let today = domain::kyc::india_today(now);
    let month = sales::report(
        state,
        principal,
        SalesAsk {
            from: today.with_day(1),
            to: Some(today),
            as_of: None,
            branch: None,
            agent: None,
            source: None,
            campaign: None,
            sections: projections::sales::report::Sections::Dashboard,
        },
    );
    let internal = |e: projections::ProjectionError| ApiError::internal(e);
    let (by_status, (due_today, overdue), month, invested) = futures::try_join!(
        async {
            projections::dashboard::leads_by_status(db, &visible)
                .await
                .map_err(internal)
        },
        async {
            projections::dashboard::follow_ups_due(db, &visible, &clients, now)
                .await
                .map_err(internal)
        },
        month,
        when(manages, async {
            projections::dashboard::invested(db, &clients)
                .await
                .map_err(internal)
        }),
    )?;
    let headline = |key: &str| month.headline.iter().find(|h| h.key == key);
    let conversions = headline("conversions");
    Ok(SalesWidgets {
        leads: LeadsWidget {
            position: leads_at,
            by_status: by_status
                .into_iter()
                .map(|(key, count)| Count { key, count })
                .collect(),
        },
        follow_ups: FollowUpsWidget {
            position: leads_at.min(clients_at),
            due_today,
            overdue,
        },
        conversions: ConversionsWidget {
            position: month.position,
            this_month: conversions.and_then(|h| h.current).unwrap_or(0.0) as i64,
            previous_period: conversions.and_then(|h| h.previous).unwrap_or(0.0) as i64,
        },
        funnel: manages.then(|| FunnelWidget {
            position: month.position,
            conversion_rate: headline("conversion_rate").and_then(|h| h.current),
            steps: month.funnel.clone(),
        }),
        agents: manages.then(|| AgentsWidget {
            position: month.position,
            agents: month.agents.clone(),
        }),
        aum: invested.map(|(clients_with_holdings, invested)| AumWidget {
            position: portfolios_at,
            clients_with_holdings,
            invested: invested.round_dp(2).normalize().to_string(),
        }),
    })
}

/// The compliance officer's widgets: the KYC queue, expiries and alerts.
async fn kyc_widgets(
    state: &State,
    now: DateTime<Utc>,
) -> Result<(KycQueueWidget, ExpiriesWidget, AlertsWidget), ApiError> {
    let position = at(state, projections::kyc::NAME);
    let q = projections::dashboard::kyc_queue(&state.db, now)
        .await
        .map_err(ApiError::internal)?;
    let counts = |v: Vec<(&str, i64)>| {
        v.into_iter()
            .map(|(k, n)| Count {
                key: k.into(),
                count: n,
            })
            .collect()
    };
    Ok((
        KycQueueWidget {
            position,
            waiting: counts(q.waiting),
            ageing: counts(q.ageing),
            oldest_submitted_at: q.oldest_submitted_at,
        },
        ExpiriesWidget {
            position,
            expiring: q
                .expiring
                .into_iter()
                .map(|(d, n)| Count {
                    key: d.to_string(),
                    count: n,
                })
                .collect(),
            rekyc_overdue: q.rekyc_overdue,
        },
        AlertsWidget {
            position,
            cases_with_alerts: q.cases_with_alerts,
            alerts: q.alerts,
        },
    ))
}

/// Each read model's lag and dead letters (the admin's).
async fn health_widget(state: &State) -> Result<HealthWidget, ApiError> {
    let status = projections::runner::status(&state.db, &state.projections, 100_000).await;
    let outbox = projections::notifications::backlog(&state.db)
        .await
        .map_err(ApiError::internal)?;
    Ok(HealthWidget {
        position: status.head,
        outbox: OutboxBacklog {
            waiting: outbox.waiting,
            oldest_waiting_at: outbox.oldest_waiting_at,
            dead: outbox.dead,
        },
        dead_letters: status.projections.iter().map(|p| p.dead_letters).sum(),
        projections: status
            .projections
            .into_iter()
            .map(|p| ProjectionHealth {
                name: p.name.into(),
                position: p.position,
                lag: p.lag,
                dead_letters: p.dead_letters,
            })
            .collect(),
    })
}

/// Where the audit ledger stands: what it has folded in, what it has not yet, its newest
/// signed checkpoint.
pub async fn ledger_status(state: &State) -> Result<LedgerWidget, ApiError> {
    let db = &state.db;
    let checkpoint = projections::checkpoint::load(db, projections::ledger::NAME)
        .await
        .map_err(ApiError::internal)?;
    let behind = store::log::lag(db, checkpoint, 100_000)
        .await
        .map_err(ApiError::internal)?;
    let entries = projections::ledger::last_seq(db)
        .await
        .map_err(ApiError::internal)?;
    let last = projections::ledger::last_checkpoint(db)
        .await
        .map_err(ApiError::internal)?;
    Ok(LedgerWidget {
        position: checkpoint.position,
        entries,
        behind,
        last_checkpoint_seq: last.as_ref().map(|c| c.seq),
        last_checkpoint_at: last.map(|c| c.at),
    })
}
