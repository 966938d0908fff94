//! Several processes on one store, and a process killed while writing: group commit and the
//! projection runner keep the log and the read models exact, the hash chains and the ledger
//! verify, and no answered command is lost.

use std::sync::Arc;
use std::time::Duration;

use serde_json::json;

use crate::on_both_stores;
use crate::support::{App, Child, Fresh, Store};

on_both_stores!(
    two_writing_processes_keep_the_log_and_read_models_exact,
    a_process_killed_while_writing_loses_no_answered_command,
    three_processes_share_the_projections_and_hand_over_a_killed_ones_leases
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

/// Who holds which lease (Postgres): the lease's name and the holding process's id.
async fn lease_holders(app: &App, names: &[&'static str]) -> Vec<(&'static str, u32)> {
    let rows: Vec<(i64, i64, String)> = store::with_db!(app.db(), pool => {
        sqlx::query_as(
            "SELECT l.classid::bigint, l.objid::bigint, a.application_name
               FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
              WHERE l.locktype = 'advisory' AND l.granted
                AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())",
        )
        .fetch_all(pool)
        .await
        .unwrap()
    });
    let mut out = Vec::new();
    for name in names {
        let key = store::lease::key(name);
        let holder = rows.iter().find(|(hi, lo, _)| ((*hi << 32) | *lo) == key);
        if let Some((_, _, app_name)) = holder {
            let pid = app_name
                .trim_start_matches("crm/")
                .parse()
                .expect("crm/<pid>");
            out.push((*name, pid));
        }
    }
    out
}

/// Three serving processes on one store (and this one, serving only): each projection runs in
/// one of them under its lease, as does each scheduled job; load goes through all of them and
/// a read on one waits for a write on another; the lease holder killed mid-stream hands its
/// leases over, and every read model then equals a rebuild from zero.
async fn three_processes_share_the_projections_and_hand_over_a_killed_ones_leases(store: Store) {
    let app = Arc::new(
        App::start_with(Fresh::new(store).await, |c| c.serve.run_projections = false).await,
    );
    let mut children = Vec::new();
    for _ in 0..3 {
        children.push(Child::start(&app).await);
    }
    let pids: Vec<u32> = children.iter().map(|c| c.process.id().unwrap()).collect();
    let projections: Vec<&'static str> = app
        .running
        .as_ref()
        .unwrap()
        .state
        .projections
        .iter()
        .map(|p| p.name())
        .collect();
    let jobs = [
        "retention",
        "kyc-alerts",
        "dormancy",
        "segments",
        "reminders",
    ];
    let mut leases = projections.clone();
    leases.extend(jobs);
    let postgres = store == Store::Postgres;
    if postgres {
        let mut held = Vec::new();
        for _ in 0..100 {
            held = lease_holders(&app, &leases).await;
            if held.len() == leases.len() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        assert_eq!(held.len(), leases.len(), "every lease is held: {held:?}");
        assert!(
            held.iter()
                .filter(|(name, _)| projections.contains(name))
                .all(|(_, pid)| pids.contains(pid)),
            "only the running processes hold projection leases (this one runs none): {held:?}"
        );
    }

    // Load through all four, and reads on one process of what another wrote.
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let mut bases: Vec<String> = children.iter().map(|c| c.base.clone()).collect();
    bases.push(app.base.clone());
    let mut tasks = Vec::new();
    for t in 0..12usize {
        let (base, http, stop) = (bases[t % 4].clone(), app.http.clone(), stop.clone());
        let other = bases[(t + 1) % 4].clone();
        tasks.push(tokio::spawn(async move {
            let mut answered = Vec::new();
            let mut r = 0usize;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                r += 1;
                let name = format!("Shared {t} {r}");
                let sent = http
                    .post(format!("{base}/api/leads"))
                    .json(&json!({"name": name, "phone": format!("7{:09}", t * 100_000 + r), "source": "import"}))
                    .send()
                    .await;
                let v: serde_json::Value = match sent {
                    Ok(resp) if resp.status().as_u16() == 201 => resp.json().await.unwrap(),
                    // Its process was killed.
                    _ => break,
                };
                let id = v["id"].as_str().unwrap().to_string();
                if r % 10 == 1 {
                    // Read your write on another process.
                    let position = v["position"].as_i64().unwrap();
                    if let Ok(resp) = http
                        .get(format!("{other}/api/leads/{id}?min_position={position}"))
                        .send()
                        .await
                    {
                        // (A process that was killed answers nothing.)
                        let status = resp.status().as_u16();
                        if let Ok(lead) = resp.json::<serde_json::Value>().await {
                            assert_eq!((status, lead["name"].as_str()), (200, Some(name.as_str())));
                        }
                    }
                }
                answered.push(id);
            }
            answered
        }));
    }
    tokio::time::sleep(Duration::from_millis(1500)).await;
    // The victim: the process holding the most leases.
    let victim = if postgres {
        let held = lease_holders(&app, &leases).await;
        (0..3)
            .max_by_key(|&i| held.iter().filter(|(_, p)| *p == pids[i]).count())
            .unwrap()
    } else {
        0
    };
    let victim_pid = pids[victim];
    children[victim].process.start_kill().expect("kill -9");
    children[victim].process.wait().await.expect("reaped");
    let killed = std::time::Instant::now();
    if postgres {
        let mut held = Vec::new();
        for _ in 0..300 {
            held = lease_holders(&app, &leases).await;
            if held.len() == leases.len() && held.iter().all(|(_, p)| *p != victim_pid) {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        assert!(
            held.len() == leases.len() && held.iter().all(|(_, p)| *p != victim_pid),
            "the killed process's leases are taken over: {held:?}"
        );
        println!(
            "leases taken over {} ms after the kill",
            killed.elapsed().as_millis()
        );
    }
    tokio::time::sleep(Duration::from_millis(1500)).await;
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let mut answered = Vec::new();
    for t in tasks {
        answered.extend(t.await.expect("writer"));
    }
    assert!(answered.len() > 100, "{} answered", answered.len());

    // Caught up (this process follows the others' checkpoints), nothing lost, nothing twice.
    log_and_read_model_agree(&app).await;
    for id in answered.iter().step_by(7) {
        let (s, v) = app.get(&format!("/api/leads/{id}")).await;
        assert_eq!(s, 200, "answered lead {id}: {v}");
    }
    // The sales report, counted by each process from its own copy of the sales facts in
    // memory, is the same on all of them at the same position.
    let head = app.log_head().await;
    let mut reports = Vec::new();
    for (i, base) in bases.iter().enumerate().filter(|(i, _)| *i != victim) {
        let mut r: serde_json::Value = app
            .http
            .get(format!("{base}/api/reports/sales?min_position={head}"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert!(r["position"].as_i64().unwrap() >= head, "process {i}: {r}");
        r.as_object_mut().unwrap().remove("as_of");
        r.as_object_mut().unwrap().remove("position");
        reports.push(r);
    }
    let captured = reports[0]["headline"][0].clone();
    assert_eq!(captured["key"], "leads_captured");
    assert!(
        captured["current"].as_f64().unwrap() >= answered.len() as f64,
        "{captured}"
    );
    assert!(reports.iter().all(|r| *r == reports[0]), "{reports:#?}");

    // Every read model equals a rebuild from zero.
    let state = app.running.as_ref().unwrap().state.clone();
    for p in state.projections.iter().filter(|p| p.rebuildable()) {
        let live = projections::rebuild::dump(app.db(), p.as_ref())
            .await
            .unwrap();
        projections::rebuild::rebuild(app.db(), p.as_ref(), |_| {})
            .await
            .unwrap();
        let rebuilt = projections::rebuild::dump(app.db(), p.as_ref())
            .await
            .unwrap();
        let differs: Vec<_> = live
            .iter()
            .filter(|r| !rebuilt.contains(r))
            .take(3)
            .collect();
        assert!(
            live == rebuilt,
            "{} differs from its rebuild: {differs:?}",
            p.name()
        );
    }
    audit_verifies(&app).await;
    drop(children);
    Arc::try_unwrap(app).ok().expect("sole owner").stop().await;
}
