//! `crm bench`: command throughput and latency over HTTP against the configured store, the
//! projection catch-up rate, and a raw single-row INSERT baseline on the same database.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::Args;
use store::{with_db, Db};

use crate::config::{Config, StoreArgs};
use crate::server;

#[derive(Debug, Clone, Args)]
pub struct BenchArgs {
    /// Concurrent HTTP clients.
    #[arg(long, default_value_t = 16)]
    pub clients: usize,
    /// Seconds each phase runs.
    #[arg(long, default_value_t = 10)]
    pub seconds: u64,
    /// Instead: fill the store with about this many events of generated leads, clients and
    /// their histories (through the event store, not HTTP), then measure at that scale:
    /// rebuild, list and history latency, audit verify and export, resident memory.
    #[arg(long, value_name = "EVENTS")]
    pub generate: Option<u64>,
    /// Seed of the generated people and stories.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Instead: one client with this many trades, then the portfolio read model's rebuild
    /// rate and the latency of the portfolio summary (now and as of a past date) and of a page
    /// of trades.
    #[arg(long, value_name = "TRADES")]
    pub portfolio: Option<usize>,
    /// Instruments the `--portfolio` trades are spread across.
    #[arg(long, default_value_t = 50)]
    pub instruments: usize,
}

mod portfolio;
mod scale;

/// An HTTP client that sends `token` as its bearer token, keeping up to `idle` connections.
pub(crate) fn authed_client(token: &str, idle: usize) -> Result<reqwest::Client, String> {
    let mut auth = reqwest::header::HeaderMap::new();
    auth.insert(
        "authorization",
        format!("Bearer {token}").parse().map_err(|_| "bad token")?,
    );
    reqwest::Client::builder()
        .default_headers(auth)
        .pool_max_idle_per_host(idle)
        .build()
        .map_err(|e| e.to_string())
}

/// Registers a throw-away admin in the bench's store and signs in as them.
pub(crate) async fn bench_admin(running: &server::Running, base: &str) -> Result<String, String> {
    let email = format!("bench-{}@bench.example", uuid::Uuid::new_v4().simple());
    // Nobody knows this password: the account only serves this run.
    let password = store::privacy::generate_master_key();
    let password = password.as_str();
    let new = commands::users::NewUser {
        email: &email,
        name: "Bench Admin",
        role: domain::user::Role::Admin,
        branch: None,
        manager_id: None,
        password,
        must_change_password: false,
    };
    commands::users::register(
        &running.state.write,
        &store::EventMetadata::system(None),
        new,
    )
    .await
    .map_err(|e| e.to_string())?;
    let v: serde_json::Value = reqwest::Client::new()
        .post(format!("{base}/api/auth/login"))
        .json(&serde_json::json!({"email": email, "password": password}))
        .send()
        .await
        .map_err(|e| e.to_string())?
        .json()
        .await
        .map_err(|e| e.to_string())?;
    v["access_token"]
        .as_str()
        .map(str::to_string)
        .ok_or_else(|| format!("bench sign-in failed: {v}"))
}

pub(crate) fn percentile(sorted: &[Duration], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i].as_secs_f64() * 1000.0
}

pub async fn run(store: StoreArgs, args: BenchArgs) -> Result<(), String> {
    if let Some(events) = args.generate {
        return scale::run(store, events, args.seed).await;
    }
    if let Some(trades) = args.portfolio {
        return portfolio::run(store, trades, args.instruments.max(1), args.seed).await;
    }
    let mut config = Config::ephemeral(store.data_dir, store.database_url);
    config.store.master_key = store.master_key;
    config.store.previous_master_keys = store.previous_master_keys;
    config.store.audit_signing_key = store.audit_signing_key;
    config.serve.jwt_secret = std::env::var("CRM_JWT_SECRET").ok();
    config.serve.read_wait_ms = 60_000;
    let running = server::start(config).await.map_err(|e| e.to_string())?;
    let base = format!("http://{}", running.addr);
    let token = bench_admin(&running, &base).await?;
    let db = running.db.clone();
    println!(
        "store: {}  clients: {}  phase: {} s",
        db.kind(),
        args.clients,
        args.seconds
    );

    // Commands over HTTP: capture a lead, then move it to contacted; repeat.
    let http = authed_client(&token, args.clients)?;
    let stop = Arc::new(AtomicBool::new(false));
    let head_before = store::log::head(&db).await.map_err(|e| e.to_string())?;
    let started = Instant::now();
    let mut tasks = Vec::new();
    // Each run writes other phone numbers, so that a store benched before holds no duplicates
    // of this run's leads (a duplicate capture is refused).
    let run = (uuid::Uuid::new_v4().as_u128() % 1000) as u64;
    for c in 0..args.clients {
        let http = http.clone();
        let base = base.clone();
        let stop = stop.clone();
        tasks.push(tokio::spawn(async move {
            let mut lat = Vec::new();
            let mut errors = 0u64;
            let mut n = 0u64;
            while !stop.load(Ordering::Relaxed) {
                n += 1;
                let t = Instant::now();
                let body = serde_json::json!({
                    "name": format!("Bench Lead {c} {n}"),
                    "phone": format!("9{run:03}{:02}{:04}", c % 100, n % 10_000),
                    "source": "website",
                });
                let r = http
                    .post(format!("{base}/api/leads"))
                    .json(&body)
                    .send()
                    .await;
                let id = match r {
                    Ok(r) if r.status().as_u16() == 201 => {
                        lat.push(t.elapsed());
                        r.json::<serde_json::Value>()
                            .await
                            .ok()
                            .and_then(|v| v["id"].as_str().map(String::from))
                    }
                    _ => {
                        errors += 1;
                        None
                    }
                };
                if let Some(id) = id {
                    let t = Instant::now();
                    let r = http
                        .post(format!("{base}/api/leads/{id}/status"))
                        .json(&serde_json::json!({"status": "contacted"}))
                        .send()
                        .await;
                    match r {
                        Ok(r) if r.status().is_success() => lat.push(t.elapsed()),
                        _ => errors += 1,
                    }
                }
            }
            (lat, errors)
        }));
    }
    tokio::time::sleep(Duration::from_secs(args.seconds)).await;
    stop.store(true, Ordering::Relaxed);
    let mut lat = Vec::new();
    let mut errors = 0;
    for t in tasks {
        let (l, e) = t.await.map_err(|e| e.to_string())?;
        lat.extend(l);
        errors += e;
    }
    let elapsed = started.elapsed().as_secs_f64();
    lat.sort();
    let cps = lat.len() as f64 / elapsed;
    println!(
        "commands: {} in {:.1} s = {:.0} commands/s  p50 {:.2} ms  p95 {:.2} ms  p99 {:.2} ms  errors {}",
        lat.len(),
        elapsed,
        cps,
        percentile(&lat, 0.50),
        percentile(&lat, 0.95),
        percentile(&lat, 0.99),
        errors
    );

    // Live catch-up: how long until the running projection has everything.
    let head = store::log::head(&db).await.map_err(|e| e.to_string())?;
    let t = Instant::now();
    let progress_db = db.clone();
    loop {
        let cp = projections::checkpoint::load(&progress_db, projections::leads::NAME)
            .await
            .map_err(|e| e.to_string())?;
        if store::log::lag(&progress_db, cp, 1)
            .await
            .map_err(|e| e.to_string())?
            == 0
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    println!(
        "live projection caught up {:.2} s after the last command ({} events written)",
        t.elapsed().as_secs_f64(),
        head - head_before
    );

    // Catch-up rate: rebuild the lead projection from the whole log.
    let leads = projections::leads::LeadsProjection::new(running.keyring.clone());
    let t = Instant::now();
    let rebuilt = projections::rebuild::rebuild(&db, &leads, |_| {})
        .await
        .map_err(|e| e.to_string())?;
    let secs = t.elapsed().as_secs_f64();
    println!(
        "catch-up (rebuild from zero): {} events in {:.2} s = {:.0} events/s",
        rebuilt.events,
        secs,
        rebuilt.events as f64 / secs
    );

    // Baseline: single-row INSERTs with the same concurrency on the same database.
    let rows = raw_insert_baseline(&db, args.clients, Duration::from_secs(args.seconds)).await?;
    let rps = rows as f64 / args.seconds as f64;
    println!(
        "raw INSERT baseline: {rows} rows = {rps:.0} rows/s; commands/s ÷ baseline = {:.2}",
        cps / rps
    );
    running.stop().await;
    Ok(())
}

async fn raw_insert_baseline(db: &Db, clients: usize, time: Duration) -> Result<u64, String> {
    with_db!(db, pool => {
        sqlx::query("CREATE TABLE IF NOT EXISTS bench_raw (id text PRIMARY KEY, payload text NOT NULL)")
            .execute(pool)
            .await
            .map_err(|e| e.to_string())?;
    });
    let stop = Arc::new(AtomicBool::new(false));
    let mut tasks = Vec::new();
    for _ in 0..clients {
        let db = db.clone();
        let stop = stop.clone();
        tasks.push(tokio::spawn(async move {
            let mut n = 0u64;
            while !stop.load(Ordering::Relaxed) {
                let id = uuid::Uuid::new_v4().to_string();
                let ok = with_db!(&db, pool => {
                    sqlx::query("INSERT INTO bench_raw (id, payload) VALUES ($1, $2)")
                        .bind(&id)
                        .bind(r#"{"name":"Bench","source":"website"}"#)
                        .execute(pool)
                        .await
                        .is_ok()
                });
                if ok {
                    n += 1;
                }
            }
            n
        }));
    }
    tokio::time::sleep(time).await;
    stop.store(true, Ordering::Relaxed);
    let mut total = 0;
    for t in tasks {
        total += t.await.map_err(|e| e.to_string())?;
    }
    with_db!(db, pool => {
        sqlx::query("DROP TABLE bench_raw").execute(pool).await.map_err(|e| e.to_string())?;
    });
    Ok(total)
}
