//! `crm bench --portfolio N`: one client with N trades across many instruments, recorded one
//! after another through the portfolio's executor (the KYC gate is the use case's, left out
//! here; the read models follow as they would while serving), then: the
//! portfolio read model rebuilt from zero (events/s), the portfolio summary from the read
//! model, the summary as of a past date (folded from the log) and a page of trades, each over
//! HTTP with its p50 and p99.

use std::time::Instant;

use chrono::Utc;
use domain::investments::{AssetClass, Exchange, Fees, PortfolioCommand, Side, Trade};
use domain::values::{isin_check_digit, Isin, Text};
use rust_decimal::Decimal;
use serde_json::json;

use super::{bench_admin, percentile};
use crate::config::{Config, StoreArgs};
use crate::server;

/// A small deterministic generator (the same trades for the same seed).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}

fn isin(k: usize) -> Isin {
    let body = format!("INEB{k:04}A01");
    let check = isin_check_digit(&body).expect("letters and digits");
    Isin::parse(&format!("{body}{check}")).expect("a valid ISIN")
}

async fn timed(http: &reqwest::Client, url: &str, n: usize) -> Result<(f64, f64), String> {
    let mut times = Vec::with_capacity(n);
    for _ in 0..n {
        let t = Instant::now();
        let r = http.get(url).send().await.map_err(|e| e.to_string())?;
        let status = r.status();
        let body = r.bytes().await.map_err(|e| e.to_string())?;
        if !status.is_success() {
            return Err(format!(
                "{url}: {status} {}",
                String::from_utf8_lossy(&body)
            ));
        }
        times.push(t.elapsed());
    }
    times.sort();
    Ok((percentile(&times, 0.5), percentile(&times, 0.99)))
}

pub async fn run(
    store: StoreArgs,
    trades: usize,
    instruments: usize,
    seed: u64,
) -> Result<(), String> {
    let mut config = Config::ephemeral(store.data_dir.clone(), store.database_url.clone());
    config.store = store;
    config.serve.jwt_secret = std::env::var("CRM_JWT_SECRET").ok();
    config.serve.read_wait_ms = 120_000;
    let running = server::start(config).await.map_err(|e| e.to_string())?;
    let base = format!("http://{}", running.addr);
    let token = bench_admin(&running, &base).await?;
    let write = &running.state.write;
    let db = running.db.clone();
    let http = super::authed_client(&token, 4)?;

    // The client, onboarded over HTTP by the admin for a relationship manager.
    let mut rng = Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1);
    let (rm, _) = commands::users::register(
        write,
        &store::EventMetadata::system(None),
        commands::users::NewUser {
            email: &format!("rm-{}@bench.example", uuid::Uuid::new_v4().simple()),
            name: "Bench RM",
            role: domain::user::Role::RelationshipManager,
            branch: Some("MUM-01"),
            manager_id: None,
            password: store::privacy::generate_master_key().as_str(),
            must_change_password: false,
        },
    )
    .await
    .map_err(|e| e.to_string())?;
    let letters: String = (0..3)
        .map(|_| (b'A' + rng.below(26) as u8) as char)
        .collect();
    let pan = format!(
        "{letters}P{}{:04}K",
        (b'A' + rng.below(26) as u8) as char,
        rng.below(10_000)
    );
    let onboard = json!({
        "name": "Bench Investor",
        "email": format!("{}@bench.example", pan.to_lowercase()),
        "phone": format!("+91 98{:08}", rng.below(100_000_000)),
        "pan": pan,
        "date_of_birth": "1980-01-01",
        "address": "1 Dalal Street, Mumbai 400001",
        "branch": "MUM-01",
        "relationship_manager": rm,
    });
    // The new relationship manager reaches the read models in a moment.
    let mut v = serde_json::Value::Null;
    for _ in 0..100 {
        v = http
            .post(format!("{base}/api/clients"))
            .json(&onboard)
            .send()
            .await
            .map_err(|e| e.to_string())?
            .json()
            .await
            .map_err(|e| e.to_string())?;
        if v["id"].is_string() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let client_id: uuid::Uuid = v["id"]
        .as_str()
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| format!("the bench client was not created: {v}"))?;
    println!(
        "store: {}  one client, {trades} trades across {instruments} instruments",
        db.kind()
    );

    // An aggressive profile, so that every buy suits it.
    write
        .portfolios
        .execute(
            &client_id.to_string(),
            PortfolioCommand::ProfileRisk {
                client_id,
                answers: domain::investments::RiskAnswers {
                    age: 35,
                    income_range: domain::kyc::IncomeRange::Above25Lakh,
                    horizon_years: 15,
                    experience: domain::investments::Experience::Extensive,
                    loss_tolerance: domain::investments::LossTolerance::High,
                    dependants: 0,
                    goals: Vec::new(),
                    preferred_products: vec![AssetClass::Equity],
                },
                by: rm,
            },
            &store::EventMetadata::system(None),
            None,
        )
        .await
        .map_err(|e| e.to_string())?;

    // Trades over three years, in date order; sells never more than held.
    let today = domain::kyc::india_today(Utc::now());
    let start = today - chrono::Duration::days(3 * 365);
    let mut held = vec![0u64; instruments];
    let id = client_id.to_string();
    let meta = store::EventMetadata::system(None);
    let t = Instant::now();
    // The rate of each tenth of the trades (flat when a trade costs the same however many
    // came before it).
    let mut tenths = Vec::new();
    let mut tenth = Instant::now();
    for i in 0..trades {
        if i > 0 && i % (trades / 10).max(1) == 0 {
            tenths.push((trades / 10).max(1) as f64 / tenth.elapsed().as_secs_f64());
            tenth = Instant::now();
        }
        let k = rng.below(instruments as u64) as usize;
        let sell = held[k] > 0 && rng.below(10) < 3;
        let quantity = if sell {
            1 + rng.below(held[k])
        } else {
            1 + rng.below(50)
        };
        if sell {
            held[k] -= quantity;
        } else {
            held[k] += quantity;
        }
        let day = start + chrono::Duration::days((i * 3 * 365 / trades.max(1)) as i64);
        let trade = Trade {
            side: if sell { Side::Sell } else { Side::Buy },
            asset_class: AssetClass::Equity,
            fund_category: None,
            isin: isin(k),
            symbol: Text::parse(&format!("SYM{k}"), 20).expect("a symbol"),
            exchange: Some(Exchange::Nse),
            quantity: Decimal::from(quantity),
            price: Decimal::new(10_000 + rng.below(400_000) as i64, 2),
            fees: Fees {
                brokerage: Decimal::new(2000, 2),
                ..Fees::default()
            },
            trade_date: day,
            settlement_date: domain::investments::next_working_day(day),
            reference: Text::parse(&format!("B-{i}"), 64).expect("a reference"),
            bond: None,
        };
        write
            .portfolios
            .execute(
                &id,
                PortfolioCommand::RecordTrade {
                    trade_id: uuid::Uuid::now_v7(),
                    client_id,
                    trade,
                    by: rm,
                    kyc_block: None,
                    override_reason: None,
                },
                &meta,
                None,
            )
            .await
            .map_err(|e| e.to_string())?;
    }
    let last = trades - (trades / 10).max(1) * tenths.len();
    if last > 0 {
        tenths.push(last as f64 / tenth.elapsed().as_secs_f64());
    }
    let secs = t.elapsed().as_secs_f64();
    println!(
        "recorded: {trades} trades in {secs:.1} s = {:.0} trades/s; by tenth: {}",
        trades as f64 / secs,
        tenths
            .iter()
            .map(|r| format!("{r:.0}"))
            .collect::<Vec<_>>()
            .join(" ")
    );
    // Prices of today and yesterday for every instrument, and one a year ago.
    let year_ago = today - chrono::Duration::days(365);
    for k in 0..instruments {
        for (day, cents) in [
            (today, 20_000),
            (today.pred_opt().unwrap_or(today), 19_500),
            (year_ago, 15_000),
        ] {
            running
                .state
                .prices
                .record(&isin(k), Decimal::new(cents + k as i64, 2), day, rm)
                .await
                .map_err(|e| e.to_string())?;
        }
    }
    let head = store::log::head(&db).await.map_err(|e| e.to_string())?;
    let url = format!("{base}/api/investments/portfolio/{client_id}");
    let t = Instant::now();
    timed(&http, &format!("{url}?min_position={head}"), 1).await?;
    println!(
        "caught up with the log {:.1} s after the last trade",
        t.elapsed().as_secs_f64()
    );

    // The read model from zero.
    let projection = projections::investments::PortfolioProjection::new(
        running.keyring.clone(),
        running.state.investment_rules.holding,
    );
    let t = Instant::now();
    projections::rebuild::rebuild(&db, &projection, |_| {})
        .await
        .map_err(|e| e.to_string())?;
    let secs = t.elapsed().as_secs_f64();
    println!(
        "rebuild of the portfolio read model: {trades} trade events in {secs:.2} s = {:.0} events/s",
        trades as f64 / secs
    );

    let (p50, p99) = timed(&http, &url, 300).await?;
    println!("portfolio summary (read model, {instruments} holdings priced): p50 {p50:.1} ms  p99 {p99:.1} ms");
    let (p50, p99) = timed(&http, &format!("{url}?as_of={year_ago}"), 20).await?;
    println!("portfolio as of {year_ago} (folded from the log): p50 {p50:.0} ms  p99 {p99:.0} ms");
    let (p50, p99) = timed(
        &http,
        &format!("{base}/api/investments/{client_id}?side=sell&limit=50"),
        100,
    )
    .await?;
    println!("a page of 50 sells with their lots: p50 {p50:.1} ms  p99 {p99:.1} ms");
    running.stop().await;
    Ok(())
}
