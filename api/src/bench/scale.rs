//! `crm bench --generate N`: fills the store with about N events of generated stories through
//! the event store, then measures what an operator meets at that size: rebuilding every read
//! model, a lead list page with a filter and a search, a lead's history, `audit verify` and
//! `audit export`, each report and the dashboard, and the process's resident memory after each
//! phase.

use std::time::{Duration, Instant};

use super::{bench_admin, percentile};
use crate::cli::events_bar;
use crate::config::{Config, StoreArgs};
use crate::server;

/// Requests per latency measurement.
const SAMPLES: usize = 300;
/// Requests per report latency measurement (reports are heavier than a list page).
const REPORT_SAMPLES: usize = 100;

/// Resident memory now and at its peak (MB), from `/proc/self/status`.
fn memory() -> String {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
            .map(|kb| format!("{:.0} MB", kb as f64 / 1024.0))
            .unwrap_or_else(|| "?".into())
    };
    format!("RSS {} (peak {})", field("VmRSS:"), field("VmHWM:"))
}

fn config_of(store: &StoreArgs) -> Config {
    let mut config = Config::ephemeral(store.data_dir.clone(), store.database_url.clone());
    config.store = store.clone();
    config
}

pub async fn run(store: StoreArgs, events: u64, seed: u64) -> Result<(), String> {
    let config = config_of(&store);

    // 1. Generate.
    let (write, signer) = server::open_write_side(&config)
        .await
        .map_err(|e| e.to_string())?;
    let db = write.db.clone();
    println!("store: {}  generating about {events} events", db.kind());
    let progress = events_bar(events, "generate");
    let t = Instant::now();
    let generated = commands::generate::generate(&write, events, seed, |n| {
        if let Some(b) = &progress {
            b.set_position(n.min(events));
        }
    })
    .await?;
    if let Some(b) = progress {
        b.finish_and_clear();
    }
    let secs = t.elapsed().as_secs_f64();
    let head = store::log::head(&db).await.map_err(|e| e.to_string())?;
    println!(
        "generated: {} events ({} leads, {} clients) in {secs:.1} s = {:.0} events/s; log head {head}; {}",
        generated.events,
        generated.leads,
        generated.clients,
        generated.events as f64 / secs,
        memory()
    );

    // 2. Every read model from zero (the ledger, never rebuilt, catches up).
    let all = projections::all(
        &write.keyring,
        &signer,
        config.store.holding_periods(),
        config.store.score_weights,
    );
    let t = Instant::now();
    let progress = events_bar(head.max(0) as u64, "rebuild");
    let group: Vec<&dyn projections::Projection> = all
        .iter()
        .filter(|p| p.rebuildable())
        .map(|p| p.as_ref())
        .collect();
    let names: Vec<&str> = group.iter().map(|p| p.name()).collect();
    projections::rebuild::rebuild_all(&db, &group, |n| {
        if let Some(b) = &progress {
            b.set_position(n);
        }
    })
    .await
    .map_err(|e| e.to_string())?;
    if let Some(b) = progress {
        b.finish_and_clear();
    }
    let rebuilt = t.elapsed().as_secs_f64();
    println!(
        "  {} in one pass: {head} events in {rebuilt:.1} s = {:.0} events/s",
        names.join(", "),
        head as f64 / rebuilt
    );
    let started = Instant::now();
    let ledger: Vec<_> = all.iter().filter(|p| !p.rebuildable()).cloned().collect();
    let applied = projections::runner::catch_up(&db, &ledger)
        .await
        .map_err(|e| e.to_string())?;
    let secs = started.elapsed().as_secs_f64();
    println!(
        "  ledger (caught up, never rebuilt): {applied} events in {secs:.1} s = {:.0} events/s",
        applied as f64 / secs
    );
    let secs = t.elapsed().as_secs_f64();
    println!(
        "rebuild (every read model from zero): {head} events in {secs:.1} s = {:.0} log events/s; {}",
        head as f64 / secs,
        memory()
    );

    // 3. Audit verify and export.
    let t = Instant::now();
    let report = projections::audit::verify_live(&db, Some(signer.public_key_hex())).await?;
    let secs = t.elapsed().as_secs_f64();
    println!(
        "audit verify: {} events in {secs:.1} s = {:.0} events/s, {}; {}",
        report.events,
        report.events as f64 / secs,
        if report.verdict().is_ok() {
            "intact"
        } else {
            "BROKEN"
        },
        memory()
    );
    let t = Instant::now();
    let (tx, mut rx) = tokio::sync::mpsc::channel(projections::audit::EXPORT_QUEUE);
    let walk = tokio::spawn({
        let db = db.clone();
        async move { projections::audit::export(&db, &Default::default(), tx).await }
    });
    let mut exported = 0u64;
    let mut out = std::io::sink();
    while let Some(lines) = rx.recv().await {
        for line in &lines {
            serde_json::to_writer(&mut out, line).map_err(|e| e.to_string())?;
            if matches!(line, projections::audit::Line::Event { .. }) {
                exported += 1;
            }
        }
    }
    walk.await.map_err(|e| e.to_string())??;
    let secs = t.elapsed().as_secs_f64();
    println!(
        "audit export: {exported} events in {secs:.1} s = {:.0} events/s; {}",
        exported as f64 / secs,
        memory()
    );
    db.close().await;

    // 4. Reads over HTTP at this size.
    let mut config = config_of(&store);
    config.serve.jwt_secret = std::env::var("CRM_JWT_SECRET").ok();
    let running = server::start(config).await.map_err(|e| e.to_string())?;
    let base = format!("http://{}", running.addr);
    let token = bench_admin(&running, &base).await?;
    let http = reqwest::Client::new();
    let get = |path: String| {
        let http = http.clone();
        let url = format!("{base}{path}");
        let token = token.clone();
        async move {
            let t = Instant::now();
            let r = http
                .get(url)
                .bearer_auth(token)
                .send()
                .await
                .map_err(|e| e.to_string())?;
            let status = r.status();
            let body: serde_json::Value = r.json().await.map_err(|e| e.to_string())?;
            if !status.is_success() {
                return Err(format!("{status}: {body}"));
            }
            Ok::<_, String>((t.elapsed(), body))
        }
    };
    let mut ids: Vec<String> = Vec::new();
    let queries: [(&str, &dyn Fn(usize) -> String); 4] = [
        ("no filter", &|_| "/api/leads?limit=50".to_string()),
        ("filter", &|_| {
            "/api/leads?status=contacted&limit=50".to_string()
        }),
        ("search", &|i| {
            format!("/api/leads?q={}&limit=50", SEARCH[i % SEARCH.len()])
        }),
        ("filter+search", &|i| {
            format!(
                "/api/leads?status=qualified&q={}&limit=50",
                SEARCH[i % SEARCH.len()]
            )
        }),
    ];
    for (what, path) in queries {
        let mut lat = Vec::new();
        for i in 0..SAMPLES {
            let (took, body) = get(path(i)).await?;
            lat.push(took);
            if ids.len() < SAMPLES {
                ids.extend(
                    body["items"]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .filter_map(|l| l["id"].as_str().map(String::from))
                        .take(5),
                );
            }
        }
        report_latency(&format!("lead list page of 50 ({what})"), lat);
    }
    let mut lat = Vec::new();
    for i in 0..SAMPLES {
        let id = ids.get(i % ids.len().max(1)).ok_or("no lead to read")?;
        lat.push(get(format!("/api/leads/{id}/history")).await?.0);
    }
    report_latency("lead history", lat);
    // Reports and the dashboard, from the read models.
    let today = domain::kyc::india_today(chrono::Utc::now());
    let year_ago = today - chrono::Duration::days(364);
    // A month five months back, as it stood ten days after its end.
    let month = chrono::Datelike::with_day(&(today - chrono::Duration::days(150)), 1)
        .ok_or("a first of the month")?;
    let past = format!(
        "/api/reports/sales?from={month}&to={}&as_of={}T00:00:00Z",
        month + chrono::Duration::days(29),
        month + chrono::Duration::days(40)
    );
    for (what, path) in [
        (
            "sales report (this month)",
            "/api/reports/sales".to_string(),
        ),
        (
            "sales report (12 months)",
            format!("/api/reports/sales?from={year_ago}"),
        ),
        ("sales report (a month 5 months back, as it stood)", past),
        ("client report", "/api/reports/clients".to_string()),
        ("compliance report", "/api/reports/compliance".to_string()),
        ("KYC report", "/api/reports/kyc".to_string()),
        (
            "dashboard (admin: every widget)",
            "/api/dashboard".to_string(),
        ),
    ] {
        let mut lat = Vec::new();
        for _ in 0..REPORT_SAMPLES {
            lat.push(get(path.clone()).await?.0);
        }
        report_latency(what, lat);
    }
    println!("{}", memory());
    running.stop().await;
    Ok(())
}

/// Words the list searches for (names the generator gives).
const SEARCH: &[&str] = &["Sharma", "Priya", "Iyer", "Rohan", "Mehta", "Kavya"];

fn report_latency(what: &str, mut lat: Vec<Duration>) {
    lat.sort();
    println!(
        "{what}: {} requests  p50 {:.2} ms  p99 {:.2} ms",
        lat.len(),
        percentile(&lat, 0.50),
        percentile(&lat, 0.99)
    );
}
