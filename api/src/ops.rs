//! Health, readiness and metrics.

use std::sync::atomic::Ordering;

use poem_openapi::payload::{Json, PlainText};
use poem_openapi::{ApiResponse, Object, OpenApi};

use crate::http::State;
use crate::leads::ApiTags;

#[derive(Debug, Clone, Object)]
#[oai(example)]
pub struct Health {
    /// `ok` while the process serves requests.
    pub status: String,
}

#[derive(Debug, Clone, Object)]
pub struct ProjectionState {
    pub name: String,
    /// Log position of the last event the projection applied.
    pub position: i64,
    /// Events in the log it has not applied yet (counted up to the readiness limit + 1).
    pub lag: i64,
    /// Events it could not read and passed over (see `projection_dead_letters`); any makes
    /// the server not ready.
    pub dead_letters: i64,
}

#[derive(Debug, Clone, Object)]
#[oai(example)]
pub struct Readiness {
    /// `ready` or `not_ready`.
    pub status: String,
    /// `sqlite` or `postgres`.
    pub store: String,
    pub store_reachable: bool,
    pub log_head: i64,
    pub projections: Vec<ProjectionState>,
}

#[derive(Debug, ApiResponse)]
pub enum HealthResponse {
    /// The process is up.
    #[oai(status = 200)]
    Ok(Json<Health>),
}

#[derive(Debug, ApiResponse)]
pub enum ReadyResponse {
    /// The store is reachable and every projection is within the allowed lag.
    #[oai(status = 200)]
    Ready(Json<Readiness>),
    /// The store is unreachable or a projection is too far behind.
    #[oai(status = 503)]
    NotReady(Json<Readiness>),
}

#[derive(Debug, ApiResponse)]
pub enum MetricsResponse {
    /// Prometheus text exposition.
    #[oai(status = 200)]
    Ok(PlainText<String>),
}

pub struct OpsApi {
    pub state: State,
}

#[OpenApi]
impl OpsApi {
    /// Liveness
    ///
    /// Answers while the process serves requests; says nothing about the store.
    #[oai(
        path = "/health",
        method = "get",
        tag = "ApiTags::Operations",
        operation_id = "getHealth"
    )]
    async fn health(&self) -> HealthResponse {
        HealthResponse::Ok(Json(Health {
            status: "ok".into(),
        }))
    }

    /// Readiness
    ///
    /// Ready when the store answers, every projection is at most `CRM_READY_MAX_LAG` events
    /// behind the log and none has passed over an event it could not read.
    #[oai(
        path = "/ready",
        method = "get",
        tag = "ApiTags::Operations",
        operation_id = "getReadiness"
    )]
    async fn ready(&self) -> ReadyResponse {
        let s = &self.state;
        let status = projections::runner::status(&s.db, &s.projections, s.ready_max_lag).await;
        let caught_up = status.ready;
        let (reachable, head) = (status.reachable, status.head);
        let projections = status
            .projections
            .into_iter()
            .map(|p| ProjectionState {
                name: p.name.into(),
                position: p.position,
                lag: p.lag,
                dead_letters: p.dead_letters,
            })
            .collect();
        let body = Readiness {
            status: if caught_up { "ready" } else { "not_ready" }.into(),
            store: s.db.kind().into(),
            store_reachable: reachable,
            log_head: head,
            projections,
        };
        if caught_up {
            ReadyResponse::Ready(Json(body))
        } else {
            ReadyResponse::NotReady(Json(body))
        }
    }

    /// Metrics
    ///
    /// Request, command and event counters, the log head and each projection's checkpoint.
    #[oai(
        path = "/metrics",
        method = "get",
        tag = "ApiTags::Operations",
        operation_id = "getMetrics"
    )]
    async fn metrics(&self) -> MetricsResponse {
        let s = &self.state;
        let m = &s.metrics;
        let mut out = String::new();
        let mut counter = |name: &str, help: &str, v: u64| {
            out.push_str(&format!(
                "# HELP {name} {help}\n# TYPE {name} counter\n{name} {v}\n"
            ));
        };
        counter(
            "crm_http_requests_total",
            "HTTP requests served.",
            m.requests.load(Ordering::Relaxed),
        );
        counter(
            "crm_http_client_errors_total",
            "Responses with a 4xx status.",
            m.client_errors.load(Ordering::Relaxed),
        );
        counter(
            "crm_http_server_errors_total",
            "Responses with a 5xx status.",
            m.server_errors.load(Ordering::Relaxed),
        );
        counter(
            "crm_commands_total",
            "Commands accepted.",
            s.write.counters.commands.load(Ordering::Relaxed),
        );
        counter(
            "crm_events_appended_total",
            "Events appended by this process.",
            s.write.counters.events_appended.load(Ordering::Relaxed),
        );
        counter(
            "crm_command_conflicts_total",
            "Commands answered 409 after losing optimistic-lock races.",
            s.write.counters.conflicts.load(Ordering::Relaxed),
        );
        let status = projections::runner::status(&s.db, &s.projections, 0).await;
        let head = status.head;
        out.push_str(&format!("# HELP crm_log_head_position Position of the newest event.\n# TYPE crm_log_head_position gauge\ncrm_log_head_position {head}\n"));
        out.push_str("# HELP crm_projection_position Position of the last event a projection applied.\n# TYPE crm_projection_position gauge\n");
        for p in &status.projections {
            out.push_str(&format!(
                "crm_projection_position{{projection=\"{}\"}} {}\n",
                p.name, p.position
            ));
        }
        out.push_str("# HELP crm_projection_dead_letters Events a projection could not read and passed over.\n# TYPE crm_projection_dead_letters gauge\n");
        for p in &status.projections {
            out.push_str(&format!(
                "crm_projection_dead_letters{{projection=\"{}\"}} {}\n",
                p.name, p.dead_letters
            ));
        }
        if let Ok(b) = projections::notifications::backlog(&s.db).await {
            out.push_str(&format!(
                "# HELP crm_outbox_waiting Notifications queued or being sent.\n# TYPE crm_outbox_waiting gauge\ncrm_outbox_waiting {}\n\
                 # HELP crm_outbox_dead Notifications out of attempts or too old.\n# TYPE crm_outbox_dead gauge\ncrm_outbox_dead {}\n",
                b.waiting, b.dead
            ));
        }
        MetricsResponse::Ok(PlainText(out))
    }
}

impl poem_openapi::types::Example for Health {
    fn example() -> Self {
        Self {
            status: "ok".into(),
        }
    }
}

impl poem_openapi::types::Example for Readiness {
    fn example() -> Self {
        let state = |name: &str| ProjectionState {
            name: name.into(),
            position: 1042,
            lag: 0,
            dead_letters: 0,
        };
        Self {
            status: "ready".into(),
            store: "postgres".into(),
            store_reachable: true,
            log_head: 1042,
            projections: ["leads", "users", "history", "ledger"]
                .into_iter()
                .map(state)
                .collect(),
        }
    }
}
