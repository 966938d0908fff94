//! Building and running the HTTP server.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use poem::http::{HeaderValue, StatusCode};
use poem::listener::{Acceptor, Listener, TcpListener};
use poem::{Endpoint, EndpointExt, IntoResponse, Response, Route};
use projections::Runner;
use sha2::Digest;
use store::audit::AuditSigner;
use store::privacy::Keyring;
use store::{Db, LogSignal};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use uuid::Uuid;

use commands::investments::prices::{FixturePrices, PriceBook};

use crate::auth::tokens::TokenKeys;
use crate::config::Config;
use crate::http::{AppState, RequestId, State};
use crate::problem::ApiError;

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error(transparent)]
    Store(#[from] store::StoreError),
    #[error(transparent)]
    Projection(#[from] projections::ProjectionError),
    #[error(transparent)]
    Privacy(#[from] store::privacy::PrivacyError),
    #[error(transparent)]
    AuditKey(#[from] store::audit::KeyError),
    #[error(transparent)]
    Secret(#[from] store::secrets::SecretError),
    #[error("{0}")]
    Registry(String),
    #[error("{0}")]
    Prices(String),
    #[error("{0}")]
    Config(String),
    #[error("cannot listen on {addr}: {source}")]
    Listen {
        addr: SocketAddr,
        source: std::io::Error,
    },
}

/// A running server: its address, and a way to stop it.
pub struct Running {
    pub addr: SocketAddr,
    pub db: Db,
    pub keyring: Arc<Keyring>,
    pub signer: Arc<AuditSigner>,
    /// The application state (for in-process tools and tests).
    pub state: State,
    shutdown: Option<oneshot::Sender<()>>,
    server: JoinHandle<std::io::Result<()>>,
    workers: Vec<JoinHandle<()>>,
}

impl Running {
    /// Stops accepting requests, finishes those under way, stops the projection workers.
    pub async fn stop(mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        let _ = (&mut self.server).await;
        for w in &self.workers {
            w.abort();
        }
        self.db.close().await;
    }

    /// Waits until the server ends (Ctrl-C / SIGTERM).
    pub async fn wait(mut self) -> std::io::Result<()> {
        let result = (&mut self.server).await.unwrap_or(Ok(()));
        for w in &self.workers {
            w.abort();
        }
        self.db.close().await;
        result
    }
}

/// Runs scheduled job `name` in one process at a time (see [`store::lease::exclusively`]), or
/// not at all in a process that runs no projections (`CRM_RUN_PROJECTIONS=false`): the jobs
/// read the read models, and such a process leaves the work to others.
async fn scheduled<F, Fut>(db: Db, runs: bool, name: &'static str, job: F)
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    if runs {
        store::lease::exclusively(&db, name, job).await
    }
}

/// Connects to the store, applies migrations, opens the keyring and the audit signing key, and
/// prepares read-model tables.
pub async fn open_store(
    config: &Config,
) -> Result<(Db, Arc<Keyring>, Arc<AuditSigner>), StartError> {
    let store = &config.store;
    let db = Db::connect_with(
        store.database_url.as_deref(),
        &store.data_dir,
        store.db_pool_size,
    )
    .await?;
    db.migrate().await?;
    store::documents::open(&db, store.document_store.as_deref())
        .map_err(|e| StartError::Config(e.to_string()))?;
    store::documents::check_location(&db, store.document_store.as_deref())
        .await
        .map_err(|e| StartError::Config(e.to_string()))?;
    let keyring = Keyring::load(
        &db,
        &config.store.data_dir,
        config.store.master_key.as_deref(),
        &config.store.previous_master_keys,
    )
    .await?;
    let keyring = Arc::new(keyring);
    let signer = Arc::new(AuditSigner::load(
        &config.store.data_dir,
        config.store.audit_signing_key.as_deref(),
        matches!(db, Db::Sqlite(_)),
    )?);
    projections::schema::ensure_live(
        &db,
        &projections::all(
            &keyring,
            &signer,
            config.store.holding_periods(),
            config.store.score_weights,
        ),
    )
    .await?;
    Ok((db, keyring, signer))
}

/// The write side over `db`, with the read models answering its lookups; `signal` wakes this
/// process's projection runner.
pub fn write_side(
    config: &Config,
    db: &Db,
    keyring: &Arc<Keyring>,
    signal: LogSignal,
) -> commands::WriteSide {
    write_side_with_clock(config, db, keyring, signal, domain::Clock::system())
}

/// [`write_side`] with the aggregates reading `clock`.
pub fn write_side_with_clock(
    config: &Config,
    db: &Db,
    keyring: &Arc<Keyring>,
    signal: LogSignal,
    clock: domain::Clock,
) -> commands::WriteSide {
    let lookups = Arc::new(projections::lookups::ReadModels {
        db: db.clone(),
        keyring: keyring.clone(),
    });
    let write = commands::WriteSide::open_with_clock(
        db,
        keyring.clone(),
        signal,
        config.store.retention(),
        config.store.rules(),
        lookups,
        clock,
    );
    // Checked at start (`open_store`): a bad setting never gets this far.
    let documents = store::documents::open(db, config.store.document_store.as_deref())
        .expect("the document store was checked when the store was opened");
    write.with_documents(documents)
}

/// The store with a write side on it, for the command-line tools (no projection runner).
pub async fn open_write_side(
    config: &Config,
) -> Result<(commands::WriteSide, Arc<AuditSigner>), StartError> {
    let (db, keyring, signer) = open_store(config).await?;
    let write = write_side(config, &db, &keyring, LogSignal::default());
    Ok((write, signer))
}

/// The prices in use: the fixture provider (the configured file or the built-in demo prices),
/// its daily closes loaded into the price table.
pub(crate) async fn price_book(config: &Config, db: &Db) -> Result<PriceBook, StartError> {
    let text = match &config.serve.price_fixtures {
        Some(path) => Some(
            std::fs::read_to_string(path)
                .map_err(|e| StartError::Prices(format!("cannot read {}: {e}", path.display())))?,
        ),
        None => None,
    };
    let fixtures = FixturePrices::parse(text.as_deref()).map_err(StartError::Prices)?;
    let provider: Box<dyn commands::investments::prices::PriceProvider> =
        match &config.serve.price_url {
            // The instruments (symbol, sector) still come from the fixture file.
            Some(url) => Box::new(
                crate::investments::quotes::HttpPrices::new(
                    crate::investments::quotes::HttpQuotes {
                        url_template: url.clone(),
                        auth_header: config.serve.price_auth_header.clone(),
                        price_pointer: config.serve.price_field.clone(),
                        time_pointer: config.serve.price_time_field.clone(),
                        timeout: Duration::from_millis(config.serve.price_timeout_ms.max(1)),
                    },
                    fixtures,
                )
                .map_err(StartError::Prices)?,
            ),
            None => Box::new(fixtures),
        };
    let book = PriceBook::new(
        db,
        provider,
        Duration::from_secs(config.serve.price_ttl),
        chrono::Duration::seconds(config.serve.price_stale_after.max(1)),
    );
    book.load_closes()
        .await
        .map_err(|e| StartError::Prices(e.to_string()))?;
    Ok(book)
}

/// Backs the embedded store up into `dir` every `every`, keeping the newest `keep`; the first
/// once `every` has passed since the newest backup there (at once when there is none).
async fn backups(db: Db, dir: std::path::PathBuf, every: Duration, keep: usize) {
    let since_last = std::fs::read_dir(&dir)
        .into_iter()
        .flatten()
        .filter_map(Result::ok)
        .filter(|e| store::backup::is_scheduled(&e.path()))
        .filter_map(|e| e.metadata().ok()?.modified().ok())
        .max()
        .and_then(|t| t.elapsed().ok());
    if let Some(age) = since_last {
        tokio::time::sleep(every.saturating_sub(age)).await;
    }
    let mut tick = tokio::time::interval(every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        let to = store::backup::scheduled_name(&dir, chrono::Utc::now());
        match store::backup::backup(&db, &to).await {
            Ok(bytes) => {
                tracing::info!(bytes, "backed up the store");
                if let Err(e) = store::backup::prune(&dir, keep) {
                    tracing::warn!(error = %e, "old backups could not be deleted");
                }
            }
            Err(e) => tracing::error!(error = %e, "the scheduled backup failed"),
        }
    }
}

/// Starts the server (and the projection runner) with `config`; `--addr` port 0 picks a port.
pub async fn start(config: Config) -> Result<Running, StartError> {
    let (db, keyring, signer) = open_store(&config).await?;
    let jwt_secret = store::secrets::load(
        "CRM_JWT_SECRET",
        config.serve.jwt_secret.as_deref(),
        &config.store.data_dir.join("jwt.key"),
        matches!(db, Db::Sqlite(_)),
    )?;
    if commands::users::count(&db).await? == 0 {
        tracing::warn!(
            "no users yet: create the first admin with `crm user create --role admin --email … --name …`, or the demo users with `crm seed`"
        );
    }
    let fixtures =
        match &config.serve.kyc_registry_fixtures {
            Some(path) => Some(std::fs::read_to_string(path).map_err(|e| {
                StartError::Registry(format!("cannot read {}: {e}", path.display()))
            })?),
            None => None,
        };
    let registry = commands::kyc::registry::FixtureRegistry::parse(fixtures.as_deref())
        .map_err(StartError::Registry)?;
    let prices = price_book(&config, &db).await?;
    let signal = LogSignal::default();
    let all = projections::all(
        &keyring,
        &signer,
        config.store.holding_periods(),
        config.store.score_weights,
    );
    let runner = Runner::new(&db, all.clone(), signal.clone());
    let runner = match config.serve.run_projections {
        true => runner,
        false => {
            tracing::info!("CRM_RUN_PROJECTIONS=false: other processes keep the read models");
            runner.follow_only()
        }
    };
    let progress = runner.progress();
    let workers = runner.spawn();
    let notify = config.serve.notify().map_err(StartError::Config)?;
    if !notify.sms_quiet_hours.is_some_and(|q| q.covers_trai()) {
        tracing::warn!("CRM_SMS_QUIET_HOURS does not cover 21:00-09:00 Indian time: promotional SMS may go when TRAI forbids them");
    }
    let state: State = Arc::new(AppState {
        db: db.clone(),
        write: write_side(&config, &db, &keyring, signal.clone()),
        keyring: keyring.clone(),
        signer: signer.clone(),
        tokens: TokenKeys::new(&jwt_secret),
        links: crate::auth::links::LinkKeys::new(
            &jwt_secret,
            chrono::Duration::seconds(config.serve.document_link_ttl.clamp(10, 3600) as i64),
        ),
        auth_limiter: governor::RateLimiter::keyed(governor::Quota::per_minute(
            std::num::NonZeroU32::new(config.serve.auth_rate_per_minute.max(1)).expect("non-zero"),
        )),
        registry: Arc::new(registry),
        prices: Arc::new(prices),
        investment_rules: config.store.rules().investments,
        work_limiter: governor::RateLimiter::keyed(governor::Quota::per_minute(
            std::num::NonZeroU32::new(config.serve.work_rate_per_minute.max(1)).expect("non-zero"),
        )),
        intake_key_limiter: governor::RateLimiter::keyed(governor::Quota::per_minute(
            std::num::NonZeroU32::new(config.serve.capture_rate_per_key.max(1)).expect("non-zero"),
        )),
        intake_address_limiter: governor::RateLimiter::keyed(governor::Quota::per_minute(
            std::num::NonZeroU32::new(config.serve.capture_rate_per_address.max(1))
                .expect("non-zero"),
        )),
        projections: all,
        progress,
        sessions: Default::default(),
        sales: Default::default(),
        read_wait: Duration::from_millis(config.serve.read_wait_ms),
        ready_max_lag: config.serve.ready_max_lag,
        ops_token: config
            .serve
            .ops_token
            .as_deref()
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .map(|t| sha2::Sha256::digest(t.as_bytes()).into()),
        metrics: Default::default(),
        packs_dir: config.store.data_dir.join("reports"),
        notify: notify.clone(),
    });

    let mut workers = workers;
    workers.push(tokio::spawn({
        // The sales facts read into memory now, rather than by the first report.
        let state = state.clone();
        async move {
            let started = std::time::Instant::now();
            match state.sales.warm(&state.db).await {
                Ok((leads, bytes)) => tracing::info!(
                    leads,
                    mb = bytes / (1 << 20),
                    ms = started.elapsed().as_millis() as u64,
                    "sales facts read into memory"
                ),
                Err(e) => tracing::warn!(error = %e, "sales facts not read into memory"),
            }
        }
    }));
    let runs_jobs = config.serve.run_projections;
    if !runs_jobs && matches!(db, Db::Sqlite(_)) {
        tracing::warn!("CRM_RUN_PROJECTIONS=false on SQLite: read models move only while another process on this data directory runs them");
    }
    workers.push(tokio::spawn({
        let state = state.clone();
        async move {
            let mut tick = tokio::time::interval(Duration::from_secs(5));
            loop {
                tick.tick().await;
                state.metrics.upkeep();
            }
        }
    }));
    workers.push(tokio::spawn({
        let state = state.clone();
        let db = db.clone();
        async move {
            scheduled(db.clone(), runs_jobs, "retention", || {
                commands::retention::daily(&state.write)
            })
            .await
        }
    }));
    workers.push(tokio::spawn({
        let state = state.clone();
        let every = Duration::from_secs(config.serve.kyc_alert_interval.max(60));
        let window = config.serve.kyc_alert_window_days;
        let db = db.clone();
        async move {
            scheduled(db.clone(), runs_jobs, "kyc-alerts", || {
                commands::kyc::alerts::every(&state.write, every, window)
            })
            .await
        }
    }));
    workers.push(tokio::spawn({
        let state = state.clone();
        let every = Duration::from_secs(config.serve.dormancy_interval.max(60));
        let after = config.store.dormant_after;
        let db = db.clone();
        async move {
            scheduled(db.clone(), runs_jobs, "dormancy", || {
                commands::clients::dormancy::every(&state.write, every, after)
            })
            .await
        }
    }));
    workers.push(tokio::spawn({
        let state = state.clone();
        async move { commands::leads::contacts::backfill_when_current(&state.write).await }
    }));
    workers.push(tokio::spawn({
        let state = state.clone();
        let every = Duration::from_secs(config.serve.segment_interval.max(60));
        let thresholds = config.store.segment_thresholds;
        let db = db.clone();
        async move {
            scheduled(db.clone(), runs_jobs, "segments", || {
                crate::clients::segments::every(&state.write, &state.prices, thresholds, every)
            })
            .await
        }
    }));
    if config.serve.compliance_pack_interval > 0 {
        workers.push(tokio::spawn({
            let state = state.clone();
            let every = Duration::from_secs(config.serve.compliance_pack_interval.max(60));
            let db = db.clone();
            async move {
                tokio::time::sleep(Duration::from_secs(120)).await;
                scheduled(db.clone(), runs_jobs, "compliance-pack", || {
                    crate::reports::pack::monthly(state.clone(), state.packs_dir.clone(), every)
                })
                .await
            }
        }));
    }
    if config.serve.backup_interval_secs > 0 && db.kind() == "sqlite" {
        let dir = config
            .serve
            .backup_dir
            .clone()
            .unwrap_or_else(|| config.store.data_dir.join("backups"));
        workers.push(tokio::spawn(backups(
            db.clone(),
            dir,
            Duration::from_secs(config.serve.backup_interval_secs),
            config.serve.backup_keep,
        )));
    }
    let reminder_time =
        chrono::NaiveTime::parse_from_str(config.serve.reminder_time.trim(), "%H:%M").map_err(
            |_| {
                StartError::Config(format!(
                    "CRM_REMINDER_TIME must be HH:MM (Indian time), not {:?}",
                    config.serve.reminder_time
                ))
            },
        )?;
    workers.push(tokio::spawn({
        let db = db.clone();
        async move {
            scheduled(db.clone(), runs_jobs, "reminders", || {
                crate::notify::remind_daily(db.clone(), reminder_time)
            })
            .await
        }
    }));
    // Webhook secrets kept plain by an older version, or sealed by a former master key.
    match keyring.seal_webhook_secrets().await {
        Ok(0) => {}
        Ok(n) => tracing::info!(n, "sealed webhook secrets with the current master key"),
        Err(e) => tracing::warn!(error = %e, "webhook secrets could not be sealed again"),
    }
    // Subscriptions made before they were recorded events.
    match commands::webhooks::record_unrecorded(&state.write).await {
        Ok(0) => {}
        Ok(n) => tracing::info!(n, "recorded webhook subscriptions made before their events"),
        Err(e) => tracing::warn!(error = %e, "webhook subscriptions could not be recorded"),
    }
    // The notification sender: webhooks, and e-mail once an SMTP server is configured.
    let sender =
        crate::notify::Sender::new(&db, keyring.clone(), notify).map_err(StartError::Config)?;
    if !sender.mails() {
        tracing::info!("no CRM_SMTP_URL: e-mail notifications wait in the outbox");
    }
    workers.push(tokio::spawn(sender.every()));
    let service = crate::openapi(state.clone());
    let spec = crate::contract::document(&service.spec());
    let routes = Arc::new(crate::routes::Routes::from_spec(&spec));
    let spec_json = Arc::new(spec.to_string());
    let app = Route::new()
        .at(
            "/api/openapi.json",
            poem::endpoint::make_sync(move |_| {
                Response::builder()
                    .content_type("application/json")
                    .body(spec_json.as_str().to_string())
            }),
        )
        .nest("/docs", service.swagger_ui())
        .nest("/", service);
    let cors = {
        poem::middleware::Cors::new()
            .allow_origins(config.serve.cors_origins.clone())
            .allow_methods(["GET", "POST", "PUT", "PATCH", "DELETE"])
            .allow_headers([
                "authorization",
                "content-type",
                "idempotency-key",
                "if-match",
                "x-min-position",
                "x-request-id",
            ])
            .expose_headers(["etag", "location", "retry-after", "x-request-id"])
            .max_age(600)
    };
    let limit = Duration::from_secs(config.serve.request_timeout_secs.clamp(1, 3599));
    let app = with_request_context(
        app.with(crate::connections::RequestTimeout(limit))
            .with_if(!config.serve.cors_origins.is_empty(), cors),
        state.clone(),
        routes,
        BodyLimits {
            json: config.serve.max_body,
            upload: config.serve.max_upload,
            import: config.serve.max_import,
        },
    );

    let addr = config.serve.addr;
    let acceptor = TcpListener::bind(addr)
        .into_acceptor()
        .await
        .map_err(|source| StartError::Listen { addr, source })?;
    let bound = acceptor
        .local_addr()
        .first()
        .and_then(|a| a.as_socket_addr().copied())
        .unwrap_or(addr);
    tracing::info!(addr = %bound, store = db.kind(), "listening");

    // Longer than a request may take: the server reads while a handler works.
    let request_limit = config.serve.request_timeout_secs.clamp(1, 3599);
    let idle = Duration::from_secs(
        config
            .serve
            .idle_timeout_secs
            .clamp(request_limit + 1, 3600),
    );
    let max = config.serve.max_connections.clamp(1, 100_000);
    let acceptor = crate::connections::Capped::new(acceptor, max, idle);
    let (tx, rx) = oneshot::channel::<()>();
    let server = tokio::spawn(async move {
        poem::Server::new_with_acceptor(acceptor)
            .run_with_graceful_shutdown(
                app,
                async move {
                    tokio::select! {
                        _ = rx => {}
                        _ = shutdown_signal() => {}
                    }
                },
                Some(Duration::from_secs(10)),
            )
            .await
    });
    Ok(Running {
        addr: bound,
        db,
        keyring,
        signer,
        state,
        shutdown: Some(tx),
        server,
        workers,
    })
}

async fn shutdown_signal() {
    #[cfg(unix)]
    {
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
            .expect("SIGTERM handler");
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    let _ = tokio::signal::ctrl_c().await;
}

/// Errors raised outside the OpenAPI endpoints (unknown route, wrong method, body limits) as
/// problem+json too.
fn problem_response(err: poem::Error) -> Response {
    if err.is::<poem_openapi::error::AuthorizationError>() {
        return ApiError::unauthorized("sign in first: send Authorization: Bearer <access token> (a web form sends its capture key as X-Capture-Key)")
            .into_response();
    }
    let status = err.status();
    let message = err.to_string();
    // Endpoint errors already carry their problem+json response.
    let resp = err.into_response();
    if resp.content_type() == Some("application/problem+json") {
        return resp;
    }
    let detail = if status.is_server_error() {
        tracing::error!(error = %message, "unhandled error");
        "the server failed; the request may be retried".to_string()
    } else {
        message
    };
    let (code, problem) = ApiError::from_status(status.as_u16(), detail);
    let body = serde_json::json!({
        "type": problem.kind,
        "title": problem.title,
        "status": code,
        "detail": problem.detail,
    });
    Response::builder()
        .status(status)
        .content_type("application/problem+json")
        .body(body.to_string())
}

/// Whether a request body of `schema` may be empty (no field is required).
fn takes_empty(schemas: &serde_json::Value, schema: &serde_json::Value) -> bool {
    let schema = match schema["$ref"].as_str() {
        Some(r) => &schemas[r.trim_start_matches("#/components/schemas/")],
        None => schema,
    };
    schema["type"] == "object"
        && schema["required"]
            .as_array()
            .is_none_or(|required| required.is_empty())
}

/// Request id, security headers, a span and a log line per request (method, route and status:
/// never the query string or body, which can carry personal data), and request counters.
/// The largest bodies accepted: JSON requests, and document files.
#[derive(Debug, Clone, Copy)]
struct BodyLimits {
    json: usize,
    upload: usize,
    import: usize,
}

/// The method as a metric label (methods the API does not serve count as `other`).
fn method_label(method: &poem::http::Method) -> &'static str {
    use poem::http::Method;
    match *method {
        Method::GET => "GET",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::PATCH => "PATCH",
        Method::DELETE => "DELETE",
        Method::HEAD => "HEAD",
        Method::OPTIONS => "OPTIONS",
        _ => "other",
    }
}

fn with_request_context(
    app: impl Endpoint + 'static,
    state: State,
    routes: Arc<crate::routes::Routes>,
    limits: BodyLimits,
) -> impl Endpoint {
    app.around(move |ep, mut req| {
        let state = state.clone();
        let routes = routes.clone();
        async move {
            let post = req.method() == poem::http::Method::POST;
            let uploading = post && req.uri().path().ends_with("/documents");
            let importing = post && req.uri().path() == "/api/leads/import";
            let max_body = if importing {
                limits.import
            } else if uploading {
                limits.upload
            } else {
                limits.json
            };
            // Body limit: a declared length over the limit is refused (a moderately large body
            // is read and dropped first, so that the client sees the answer rather than a reset
            // connection); a body without a declared length (chunked HTTP/1.1, HTTP/2) is read
            // up to the limit and refused past it.
            let length = req
                .headers()
                .get("content-length")
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.parse::<usize>().ok());
            if length.is_some_and(|n| n > max_body) {
                if length.is_some_and(|n| n <= 16 * max_body) {
                    let _ = req.take_body().into_bytes_limit(16 * max_body).await;
                }
                return Ok(problem_response(poem::Error::from_string(
                    format!("the body is larger than {max_body} bytes"),
                    StatusCode::PAYLOAD_TOO_LARGE,
                )));
            }
            // Metrics and readiness tell about the system: with an operations token
            // configured, only to whom sends it (digests compared, not the tokens). Refused
            // below, as any answer: with its request id, headers and log line.
            let ops_refused = state.ops_token.as_ref().is_some_and(|expected| {
                if !crate::contract::OPS.contains(&req.uri().path()) {
                    return false;
                }
                let sent = req
                    .headers()
                    .get("authorization")
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| v.split_once(' '))
                    .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
                    .map(|(_, token)| token)
                    .unwrap_or_default();
                let sent: [u8; 32] = sha2::Sha256::digest(sent.trim().as_bytes()).into();
                &sent != expected
            });
            // The operation is found once per request: body handling, query checks, parse errors and
            // the log line all use it.
            let operation = routes.find(req.method(), req.uri().path());
            let json_body = operation.is_some_and(|r| r.body.is_some());
            let mut body_copy = None;
            if length.is_none() || json_body {
                // Read at most the limit: a body without a declared length (chunked HTTP/1.1,
                // HTTP/2) is refused past it; a JSON body is kept to name what it got wrong.
                match req.take_body().into_bytes_limit(max_body).await {
                    Ok(bytes) => {
                        if json_body {
                            body_copy = Some(bytes.clone());
                        }
                        req.set_body(bytes)
                    }
                    Err(_) => {
                        return Ok(problem_response(poem::Error::from_string(
                            format!("the body is larger than {max_body} bytes"),
                            StatusCode::PAYLOAD_TOO_LARGE,
                        )))
                    }
                }
            }
            // A command whose every field is optional takes an empty body as `{}`.
            let all_optional = operation
                .and_then(|r| r.body.as_ref())
                .is_some_and(|schema| takes_empty(&routes.1, schema));
            if all_optional
                && body_copy.as_ref().is_some_and(|b| b.is_empty())
                && !req.headers().contains_key("content-type")
            {
                req.headers_mut().insert(
                    "content-type",
                    HeaderValue::from_static("application/json"),
                );
                req.set_body("{}");
            }
            let request_id = req
                .headers()
                .get("x-request-id")
                .and_then(|v| v.to_str().ok())
                .filter(|v| {
                    // Correlation ids only: letters, digits, '-' and '_' (nothing that can
                    // carry an e-mail address or a phone number into logs and metadata).
                    !v.is_empty()
                        && v.len() <= 64
                        && v.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
                        && !v.bytes().all(|b| b.is_ascii_digit())
                })
                .map(str::to_string)
                .unwrap_or_else(|| Uuid::new_v4().to_string());
            req.extensions_mut().insert(RequestId(request_id.clone()));
            crate::auth::authenticate(&state, &mut req).await;
            let method = req.method().clone();
            let path = req.uri().path().to_string();
            let route = match operation {
                Some(r) => r.pattern.clone(),
                None => routes.name(&method, &path),
            };
            let started = Instant::now();
            let span = tracing::info_span!("request", %method, request_id = %request_id);
            let _guard = span.enter();
            drop(_guard);
            // A query parameter the operation does not declare is an error, not ignored.
            let unknown = match (operation, req.uri().query()) {
                (Some(r), Some(q)) => r.unknown_params(q),
                _ => Vec::new(),
            };
            let mut resp = if ops_refused {
                ApiError::unauthorized(
                    "send the operations token: Authorization: Bearer <CRM_OPS_TOKEN>",
                )
                .into_response()
            } else if unknown.is_empty() {
                match ep.call(req).await {
                    Ok(r) => r.into_response(),
                    Err(e) => {
                        // A request that could not be parsed is answered field by field.
                        let named = operation.and_then(|r| {
                            crate::problem::parse::field_errors(
                                &e,
                                r,
                                &routes.1,
                                body_copy.as_deref(),
                            )
                        });
                        match named {
                            Some(errors) if crate::problem::parse::out_of_bounds(&e) => {
                                ApiError::validation(errors).into_response()
                            }
                            Some(errors) => ApiError::malformed(errors).into_response(),
                            None => problem_response(e),
                        }
                    }
                }
            } else {
                let errors = unknown
                    .into_iter()
                    .map(|(name, why)| crate::problem::FieldError::new(&name, why))
                    .collect();
                ApiError::malformed(errors).into_response()
            };
            let status = resp.status();
            let method_label = method_label(&method);
            state.metrics.record(|| {
                metrics::counter!(
                    "crm_http_requests_total",
                    "method" => method_label,
                    "route" => route.clone(),
                    "status" => status.as_u16().to_string()
                )
                .increment(1);
                metrics::histogram!(
                    "crm_http_request_duration_seconds",
                    "method" => method_label,
                    "route" => route.clone()
                )
                .record(started.elapsed().as_secs_f64());
            });
            let headers = resp.headers_mut();
            // An answer the document does not declare for the operation breaks the contract
            // client code is generated from: logged, and flagged to the tests in debug builds.
            if operation.is_some_and(|r| !r.statuses.contains(&status.as_u16())) {
                tracing::warn!(parent: &span, %status, %route, "status not declared for this operation");
                if cfg!(debug_assertions) {
                    headers.insert("x-undeclared-status", HeaderValue::from(status.as_u16()));
                }
            }
            if let Ok(v) = HeaderValue::from_str(&request_id) {
                headers.insert("x-request-id", v);
            }
            headers.insert("x-content-type-options", HeaderValue::from_static("nosniff"));
            headers.insert(
                "strict-transport-security",
                HeaderValue::from_static("max-age=31536000; includeSubDomains"),
            );
            headers.insert("referrer-policy", HeaderValue::from_static("no-referrer"));
            if status == StatusCode::UNAUTHORIZED && !headers.contains_key("www-authenticate") {
                headers.insert(
                    "www-authenticate",
                    HeaderValue::from_static("Bearer realm=\"crm\""),
                );
            }
            headers.insert("x-frame-options", HeaderValue::from_static("DENY"));
            if path.starts_with("/docs") {
                // Swagger UI: its script, styles and the document are inline in the page, its
                // icons data: URIs, and "try it out" calls this origin; nothing else.
                headers.insert(
                    "content-security-policy",
                    HeaderValue::from_static(
                        "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; \
                         img-src 'self' data:; connect-src 'self'; base-uri 'none'; \
                         form-action 'none'; frame-ancestors 'none'",
                    ),
                );
            } else {
                headers.insert(
                    "content-security-policy",
                    HeaderValue::from_static("default-src 'none'; frame-ancestors 'none'"),
                );
                headers.insert("cache-control", HeaderValue::from_static("no-store"));
            }
            if status == StatusCode::INTERNAL_SERVER_ERROR {
                tracing::error!(parent: &span, %status, %route, ms = started.elapsed().as_millis() as u64, "request failed");
            } else {
                tracing::info!(parent: &span, %status, %route, ms = started.elapsed().as_millis() as u64, "request");
            }
            Ok(resp)
        }
    })
}
