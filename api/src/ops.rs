//! Health, readiness and metrics.
//!
//! Each server keeps its metrics in a Prometheus recorder of its own ([`Metrics`], no global
//! one: servers started side by side in one process count apart): the request middleware
//! records requests and their latency into it; at each scrape, what the executors counted and
//! what is read from the store (the log head, projection lag, dead letters, the outbox, the
//! pool) is set into it before it is rendered.

use std::sync::atomic::Ordering;

use metrics_exporter_prometheus::{
    Matcher, PrometheusBuilder, PrometheusHandle, PrometheusRecorder,
};
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
    /// Seconds since the oldest event it has not applied was written (0 when caught up).
    pub lag_seconds: f64,
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
                lag_seconds: p.lag_seconds,
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
    /// Prometheus text: requests by route and status with latency histograms, commands by
    /// aggregate and outcome, events appended by aggregate, the log head, each projection's
    /// position and lag (in events and seconds) and dead letters, the pool's connections and the
    /// notification outbox. Counters are this process's; what is read from the store is shared.
    #[oai(
        path = "/metrics",
        method = "get",
        tag = "ApiTags::Operations",
        operation_id = "getMetrics"
    )]
    async fn metrics(&self) -> MetricsResponse {
        observe(&self.state).await;
        MetricsResponse::Ok(PlainText(self.state.metrics.render()))
    }
}

/// Upper bounds of the request latency histogram's buckets, in seconds.
const LATENCY_BUCKETS: &[f64] = &[
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0,
];

/// Events counted behind a projection at most, for its lag gauge (counting is a scan).
const LAG_COUNT_CAP: i64 = 10_000;

/// A server's metrics, kept by its own Prometheus recorder.
pub struct Metrics {
    recorder: PrometheusRecorder,
    handle: PrometheusHandle,
}

impl Default for Metrics {
    fn default() -> Self {
        let recorder = PrometheusBuilder::new()
            .set_buckets_for_metric(
                Matcher::Full("crm_http_request_duration_seconds".into()),
                LATENCY_BUCKETS,
            )
            .expect("latency buckets are not empty")
            .build_recorder();
        let handle = recorder.handle();
        metrics::with_local_recorder(&recorder, describe);
        Self { recorder, handle }
    }
}

impl Metrics {
    /// Runs `f` with this server's recorder as the one the `metrics` macros record into.
    pub fn record<T>(&self, f: impl FnOnce() -> T) -> T {
        metrics::with_local_recorder(&self.recorder, f)
    }

    /// Folds the latency samples recorded since into the histograms (every few seconds, so
    /// that samples do not pile up between scrapes).
    pub fn upkeep(&self) {
        self.handle.run_upkeep();
    }

    fn render(&self) -> String {
        self.handle.run_upkeep();
        self.handle.render()
    }
}

fn describe() {
    use metrics::{describe_counter, describe_gauge, describe_histogram, Unit};
    describe_counter!(
        "crm_http_requests_total",
        "HTTP requests answered, by method, route (the operation's path template) and status."
    );
    describe_histogram!(
        "crm_http_request_duration_seconds",
        Unit::Seconds,
        "Time to answer an HTTP request, by method and route."
    );
    describe_counter!(
        "crm_commands_total",
        "Commands by aggregate type and outcome: ok, rejected (refused by the record or an \
         access check), conflict (another version expected, or every optimistic-lock race lost), \
         failed (the store failed)."
    );
    describe_counter!(
        "crm_events_appended_total",
        "Events appended by this process, by aggregate type."
    );
    describe_gauge!(
        "crm_log_head_position",
        "Position of the newest event in the log."
    );
    describe_gauge!(
        "crm_projection_position",
        "Position of the last event a projection applied."
    );
    describe_gauge!(
        "crm_projection_lag_events",
        "Events a projection has not applied yet (counted up to 10,000; the lag in seconds goes on)."
    );
    describe_gauge!(
        "crm_projection_lag_seconds",
        Unit::Seconds,
        "Age of the oldest event a projection has not applied yet (0 when caught up)."
    );
    describe_gauge!(
        "crm_projection_dead_letters",
        "Events a projection could not read and passed over."
    );
    describe_gauge!(
        "crm_store_reachable",
        "1 when the store answered this scrape, 0 when it did not."
    );
    describe_gauge!(
        "crm_db_pool_connections",
        "Connections of this process's pool, by state (in_use, idle)."
    );
    describe_gauge!(
        "crm_db_pool_max_connections",
        "The most connections this process's pool opens."
    );
    describe_gauge!("crm_outbox_waiting", "Notifications queued or being sent.");
    describe_gauge!(
        "crm_outbox_dead",
        "Notifications out of attempts or too old."
    );
}

/// Sets what the executors counted and what is read from the store.
async fn observe(s: &State) {
    let status = projections::runner::status(&s.db, &s.projections, LAG_COUNT_CAP - 1).await;
    let backlog = match status.reachable {
        true => projections::notifications::backlog(&s.db).await.ok(),
        false => None,
    };
    let (open, idle, max) = s.db.pool_use();
    s.metrics.record(|| {
        for (aggregate, counts) in s.write.counters.by_aggregate() {
            for (outcome, n) in [
                ("ok", &counts.ok),
                ("rejected", &counts.rejected),
                ("conflict", &counts.conflict),
                ("failed", &counts.failed),
            ] {
                metrics::counter!("crm_commands_total", "aggregate" => aggregate, "outcome" => outcome)
                    .absolute(n.load(Ordering::Relaxed));
            }
            metrics::counter!("crm_events_appended_total", "aggregate" => aggregate)
                .absolute(counts.events_appended.load(Ordering::Relaxed));
        }
        metrics::gauge!("crm_db_pool_connections", "state" => "in_use")
            .set(open.saturating_sub(idle));
        metrics::gauge!("crm_db_pool_connections", "state" => "idle").set(idle);
        metrics::gauge!("crm_db_pool_max_connections").set(max);
        metrics::gauge!("crm_store_reachable").set(if status.reachable { 1.0 } else { 0.0 });
        if !status.reachable {
            return;
        }
        metrics::gauge!("crm_log_head_position").set(status.head as f64);
        for p in &status.projections {
            let name = p.name;
            metrics::gauge!("crm_projection_position", "projection" => name)
                .set(p.position as f64);
            metrics::gauge!("crm_projection_lag_events", "projection" => name).set(p.lag as f64);
            metrics::gauge!("crm_projection_lag_seconds", "projection" => name)
                .set(p.lag_seconds);
            metrics::gauge!("crm_projection_dead_letters", "projection" => name)
                .set(p.dead_letters as f64);
        }
        if let Some(b) = backlog {
            metrics::gauge!("crm_outbox_waiting").set(b.waiting as f64);
            metrics::gauge!("crm_outbox_dead").set(b.dead as f64);
        }
    });
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
            lag_seconds: 0.0,
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
