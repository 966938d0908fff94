//! Several processes on one store, and a process killed while writing: group commit and the
//! projection runner keep the log and the read models exact, the hash chains and the ledger
//! verify, and no answered command is lost.

use std::sync::Arc;
use std::time::Duration;

use serde_json::json;

use crate::on_both_stores;
use crate::support::{App, Child, Store};

on_both_stores!(
    two_writing_processes_keep_the_log_and_read_models_exact,
    a_process_killed_while_writing_loses_no_answered_command
);

/// `crm audit verify` on the app's store succeeds.
async fn audit_verifies(app: &App) {
    let mut cmd = tokio::process::Command::new(env!("CARGO_BIN_EXE_crm"));
    cmd.args(["audit", "verify"]);
    app.fresh.env(&mut cmd);
    let out = cmd.output().await.expect("crm audit verify runs");
    assert!(
        out.status.success(),
        "audit verify: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Every lead in the log has its events at sequences 1..n (nothing half written), and the
/// in-process read model has each lead at exactly that version. The events of leads in all.
async fn log_and_read_model_agree(app: &App) -> i64 {
    app.caught_up().await;
    let (leads, events, gaps, off): (i64, i64, i64, i64) = store::with_db!(app.db(), pool => {
        sqlx::query_as(
            "WITH log AS (SELECT aggregate_id, COUNT(*) AS n, MAX(sequence) AS top FROM events
                           WHERE aggregate_type = 'lead' GROUP BY aggregate_id)
             SELECT COUNT(*), CAST(COALESCE(SUM(n), 0) AS bigint),
                    CAST(COALESCE(SUM(CASE WHEN n <> top THEN 1 ELSE 0 END), 0) AS bigint),
                    CAST(COALESCE(SUM(CASE WHEN l.version IS DISTINCT FROM n THEN 1 ELSE 0 END), 0) AS bigint)
               FROM log LEFT JOIN leads l ON l.lead_id = log.aggregate_id",
        )
        .fetch_one(pool)
        .await
        .expect("counts")
    });
    assert!(leads > 0);
    assert_eq!(gaps, 0, "leads with a gap in their sequences");
    assert_eq!(off, 0, "leads whose read model is not at their last event");
    events
}

const TASKS: usize = 8;
const ROUNDS: usize = 20;

async fn two_writing_processes_keep_the_log_and_read_models_exact(store: Store) {
    let app = Arc::new(App::start(store).await);
    let child = Child::start(&app).await;
    let (shared, _) = app
        .capture(json!({"name": "Shared Lead", "email": "shared@example.in", "source": "website"}))
        .await;
    let mut tasks = Vec::new();
    for t in 0..TASKS * 2 {
        // Half the writers go to this process, half to the child.
        let base = if t % 2 == 0 {
            app.base.clone()
        } else {
            child.base.clone()
        };
        let http = app.http.clone();
        let shared = shared.clone();
        tasks.push(tokio::spawn(async move {
            let (mut created, mut logged) = (0i64, 0i64);
            for r in 0..ROUNDS {
                let r1 = http
                    .post(format!("{base}/api/leads"))
                    .json(&json!({"name": format!("Writer {t} Round {r}"), "phone": format!("8{:09}", t * 1000 + r), "source": "import"}))
                    .send()
                    .await
                    .expect("request");
                assert_eq!(r1.status().as_u16(), 201, "{}", r1.text().await.unwrap_or_default());
                created += 1;
                let r2 = http
                    .post(format!("{base}/api/leads/{shared}/interactions"))
                    .json(&json!({"kind": "note", "summary": format!("w{t} r{r}")}))
                    .send()
                    .await
                    .expect("request");
                match r2.status().as_u16() {
                    201 => logged += 1,
                    // Another process won the race every time it retried.
                    409 => {}
                    s => panic!("unexpected {s}: {}", r2.text().await.unwrap_or_default()),
                }
            }
            (created, logged)
        }));
    }
    let (mut created, mut logged) = (1i64, 0i64);
    for t in tasks {
        let (c, l) = t.await.expect("writer");
        created += c;
        logged += l;
    }
    let events = log_and_read_model_agree(&app).await;
    assert_eq!(
        events,
        created + logged,
        "every answered command's event, once"
    );
    let lead = app.lead(&shared, 0).await;
    assert_eq!(
        lead["interactions"].as_array().unwrap().len() as i64,
        logged
    );
    drop(child);
    audit_verifies(&app).await;
    Arc::try_unwrap(app).ok().expect("sole owner").stop().await;
}

async fn a_process_killed_while_writing_loses_no_answered_command(store: Store) {
    let app = Arc::new(App::start(store).await);
    let mut child = Child::start(&app).await;
    let mut tasks = Vec::new();
    for t in 0..16 {
        let base = child.base.clone();
        let http = app.http.clone();
        tasks.push(tokio::spawn(async move {
            let mut answered = Vec::new();
            for r in 0..10_000 {
                let sent = http
                    .post(format!("{base}/api/leads"))
                    .json(&json!({"name": format!("Doomed {t} {r}"), "phone": format!("6{:09}", t * 10_000 + r), "source": "import"}))
                    .send()
                    .await;
                match sent {
                    Ok(r) if r.status().as_u16() == 201 => {
                        let v: serde_json::Value = r.json().await.expect("json");
                        answered.push(v["id"].as_str().expect("id").to_string());
                    }
                    // The process is gone: whatever was not answered may or may not be in.
                    _ => break,
                }
            }
            answered
        }));
    }
    tokio::time::sleep(Duration::from_millis(1500)).await;
    child.process.start_kill().expect("kill -9");
    child.process.wait().await.expect("reaped");
    let mut answered = Vec::new();
    for t in tasks {
        answered.extend(t.await.expect("writer"));
    }
    assert!(
        answered.len() > 20,
        "the child answered commands before it died"
    );
    log_and_read_model_agree(&app).await;
    for id in &answered {
        let (s, v) = app.get(&format!("/api/leads/{id}")).await;
        assert_eq!(s, 200, "answered lead {id} survives the kill: {v}");
    }
    audit_verifies(&app).await;
    Arc::try_unwrap(app).ok().expect("sole owner").stop().await;
}
