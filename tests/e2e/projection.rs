//! Projections: a crash at any instant and a restart give exactly what a rebuild from zero
//! gives; rebuilds swap in fresh tables while reads go on; Postgres readers never skip an event
//! that commits late with a lower position.

use std::process::Stdio;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use projections::checkpoint::Checkpoint;
use projections::leads::LeadsProjection;
use serde_json::json;
use store::Db;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

use crate::on_both_stores;
use crate::support::{App, Fresh, Store};

on_both_stores!(
    killed_projection_restarts_equal_to_rebuild,
    rebuild_swaps_while_reads_go_on,
    an_unreadable_event_is_set_aside_and_reported
);

async fn keyring(fresh: &Fresh, db: &Db) -> std::sync::Arc<store::privacy::Keyring> {
    let k = store::privacy::Keyring::load(db, &fresh.data_dir, None, &[])
        .await
        .expect("keyring");
    std::sync::Arc::new(k)
}

/// Starts the real `crm serve` binary on `fresh`, returning the child and its base URL.
async fn spawn_server(fresh: &Fresh) -> (Child, String) {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_crm"));
    cmd.args(["serve", "--addr", "127.0.0.1:0"])
        .env("CRM_LOG", "info")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    fresh.env(&mut cmd);
    let mut child = cmd.spawn().expect("spawn crm");
    let mut lines = BufReader::new(child.stderr.take().expect("stderr")).lines();
    let mut seen = Vec::new();
    let addr = loop {
        let line = tokio::time::timeout(Duration::from_secs(30), lines.next_line())
            .await
            .expect("server starts in time")
            .expect("read stderr");
        let Some(line) = line else {
            panic!("server exited before listening:\n{}", seen.join("\n"));
        };
        if let Some(rest) = line.split("listening addr=").nth(1) {
            break rest.split_whitespace().next().expect("address").to_string();
        }
        seen.push(line);
    };
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    (child, format!("http://{addr}"))
}

async fn wait_ready(http: &reqwest::Client, base: &str) {
    for _ in 0..600 {
        if let Ok(r) = http.get(format!("{base}/ready")).send().await {
            if let Ok(v) = r.json::<serde_json::Value>().await {
                if v["status"] == "ready"
                    && v["projections"]
                        .as_array()
                        .is_some_and(|p| p.iter().all(|p| p["lag"] == 0))
                {
                    return;
                }
            }
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("server did not become ready");
}

/// `crm user create` for an admin (the first-admin path a new installation takes).
pub async fn create_admin_with_cli(fresh: &Fresh, email: &str) {
    use tokio::io::AsyncWriteExt;
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_crm"));
    cmd.args([
        "user",
        "create",
        "--email",
        email,
        "--name",
        "First Admin",
        "--role",
        "admin",
        "--password-stdin",
    ])
    .stdin(Stdio::piped())
    .stdout(Stdio::piped())
    .stderr(Stdio::piped());
    fresh.env(&mut cmd);
    let mut child = cmd.spawn().expect("spawn crm user create");
    let mut stdin = child.stdin.take().unwrap();
    stdin
        .write_all(format!("{}\n", crate::support::PASSWORD).as_bytes())
        .await
        .unwrap();
    drop(stdin);
    let out = child.wait_with_output().await.unwrap();
    assert!(
        out.status.success(),
        "crm user create: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("created user"));
}

async fn killed_projection_restarts_equal_to_rebuild(store: Store) {
    let fresh = Fresh::new(store).await;
    create_admin_with_cli(&fresh, "first@test.broker").await;
    let (mut child, base) = spawn_server(&fresh).await;
    let http = crate::support::login(&base, "first@test.broker", crate::support::PASSWORD)
        .await
        .http;

    // Writers keep the projection busy; the process is killed (SIGKILL) in the middle.
    let stop = Arc::new(AtomicBool::new(false));
    let mut writers = Vec::new();
    for w in 0..6 {
        let http = http.clone();
        let base = base.clone();
        let stop = stop.clone();
        writers.push(tokio::spawn(async move {
            let mut ok = 0;
            for i in 0..10_000 {
                if stop.load(Ordering::Relaxed) {
                    break;
                }
                let body = json!({"name": format!("Kill {w} {i}"), "email": format!("k{w}x{i}@example.in"), "source": "website"});
                let Ok(r) = http.post(format!("{base}/api/leads")).json(&body).send().await else { break };
                if r.status() != 201 {
                    break;
                }
                let v: serde_json::Value = r.json().await.expect("json");
                let id = v["id"].as_str().unwrap().to_string();
                let _ = http
                    .post(format!("{base}/api/leads/{id}/status"))
                    .json(&json!({"status": "contacted"}))
                    .send()
                    .await;
                ok += 1;
            }
            ok
        }));
    }
    let db = fresh.db().await;
    // Kill once a good part of the log is written and while the runner is working on it.
    for _ in 0..600 {
        if store::log::head(&db).await.unwrap() >= 1500 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    child.start_kill().expect("kill");
    child.wait().await.expect("killed");
    stop.store(true, Ordering::Relaxed);
    let mut written = 0;
    for w in writers {
        written += w.await.expect("writer");
    }
    assert!(written > 100, "writers got going: {written}");

    // Restart: the runner resumes from its checkpoint.
    let (mut child, base) = spawn_server(&fresh).await;
    wait_ready(&http, &base).await;
    child.start_kill().expect("kill");
    child.wait().await.expect("stopped");

    let projection = LeadsProjection::new(keyring(&fresh, &db).await);
    let resumed = projections::rebuild::dump(&db, &projection)
        .await
        .expect("dump");
    let rebuilt = projections::rebuild::rebuild(&db, &projection, |_| {})
        .await
        .expect("rebuild");
    let from_zero = projections::rebuild::dump(&db, &projection)
        .await
        .expect("dump");
    assert_eq!(resumed.len(), from_zero.len());
    assert_eq!(
        resumed, from_zero,
        "resumed after a kill == rebuilt from zero"
    );
    let leads = from_zero.iter().filter(|r| r.starts_with("leads:")).count() as i64;
    let captured: i64 = store::with_db!(&db, pool => {
        sqlx::query_scalar("SELECT COUNT(*) FROM events WHERE event_type = 'LeadCaptured'").fetch_one(pool).await.unwrap()
    });
    assert_eq!(leads, captured);
    let in_log: i64 = store::with_db!(&db, pool => {
        sqlx::query_scalar("SELECT COUNT(*) FROM events").fetch_one(pool).await.unwrap()
    });
    assert_eq!(
        rebuilt.events as i64, in_log,
        "the rebuild read every event"
    );
    assert!(in_log > 1000, "a real stream was cut: {in_log}");
    db.close().await;
}

async fn rebuild_swaps_while_reads_go_on(store: Store) {
    let app = Arc::new(App::start(store).await);
    let mut last = 0;
    for i in 0..300 {
        let (_, p) = app.capture(json!({"name": format!("Rebuild {i}"), "phone": format!("91{:08}", i), "source": "partner"})).await;
        last = p;
    }
    let (_, before) = app
        .get(&format!("/api/leads?limit=200&min_position={last}"))
        .await;
    assert_eq!(before["total"], 300);

    let reading = Arc::new(AtomicBool::new(true));
    let reader = {
        let app = app.clone();
        let reading = reading.clone();
        tokio::spawn(async move {
            let mut reads = 0;
            while reading.load(Ordering::Relaxed) {
                let (s, v) = app.get("/api/leads?limit=5").await;
                assert_eq!(s, 200, "reads work during the rebuild: {v}");
                assert_eq!(v["total"], 300);
                reads += 1;
            }
            reads
        })
    };
    let db = app.db().clone();
    let in_log: i64 = store::with_db!(&db, pool => {
        sqlx::query_scalar("SELECT COUNT(*) FROM events").fetch_one(pool).await.unwrap()
    });
    let rebuilt = projections::rebuild::rebuild(
        &db,
        &LeadsProjection::new(app.running.as_ref().unwrap().keyring.clone()),
        |_| {},
    )
    .await
    .expect("rebuild");
    reading.store(false, Ordering::Relaxed);
    assert!(reader.await.expect("reader") > 0);
    assert_eq!(
        rebuilt.events as i64, in_log,
        "the rebuild read the whole log"
    );

    // The live worker carries on against the swapped-in tables.
    let (_, p) = app
        .capture(json!({"name": "After Rebuild", "phone": "9000000001", "source": "partner"}))
        .await;
    let (_, after) = app
        .get(&format!("/api/leads?limit=200&min_position={p}"))
        .await;
    assert_eq!(after["total"], 301);
    assert_eq!(after["items"][0]["name"], "After Rebuild");
    assert_eq!(
        after["items"].as_array().unwrap()[1..],
        before["items"].as_array().unwrap()[..199]
    );
    Arc::try_unwrap(app).ok().expect("sole owner").stop().await;
}

/// On Postgres a reader must not take an event that committed while an older transaction,
/// holding a lower position, is still open; once that one commits, both come in order.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_reader_never_skips_a_late_commit() {
    let fresh = Fresh::new(Store::Postgres).await;
    let db = fresh.db().await;
    db.migrate().await.expect("migrate");
    let Db::Postgres(pool) = &db else {
        unreachable!()
    };
    let insert = "INSERT INTO events (aggregate_type, aggregate_id, sequence, event_type, event_version, payload, metadata)
                  VALUES ('probe', $1, 1, 'Probed', '1.0', '{}', '{}')";
    let mut slow = pool.begin().await.unwrap();
    sqlx::query(insert)
        .bind("slow")
        .execute(&mut *slow)
        .await
        .unwrap();
    sqlx::query(insert)
        .bind("fast")
        .execute(pool)
        .await
        .unwrap();

    let visible: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM events")
        .fetch_one(pool)
        .await
        .unwrap();
    assert_eq!(visible, 1, "the fast event is committed and visible");
    let read = store::log::read_after(&db, Checkpoint::default(), 100)
        .await
        .unwrap();
    assert!(
        read.is_empty(),
        "but a reader must wait for the slow transaction: {read:?}"
    );

    slow.commit().await.unwrap();
    // The horizon is cluster-wide: a transaction of a test running beside this one, in another
    // database of the same cluster, holds it back too, so wait for it to move (it must).
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    let read = loop {
        let read = store::log::read_after(&db, Checkpoint::default(), 100)
            .await
            .unwrap();
        if read.len() >= 2 || std::time::Instant::now() > deadline {
            break read;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    };
    let ids: Vec<&str> = read.iter().map(|e| e.aggregate_id.as_str()).collect();
    assert_eq!(ids, vec!["slow", "fast"]);
    assert!(read[0].position < read[1].position);
    let after_first = store::log::read_after(&db, read[0].checkpoint(), 100)
        .await
        .unwrap();
    assert_eq!(after_first.len(), 1);
    assert_eq!(after_first[0].aggregate_id, "fast");
    db.close().await;
}

/// An event a projection cannot read (here written straight into the log) is recorded as a
/// dead letter and passed over: later events still reach the read model, and /ready and
/// /metrics say so.
async fn an_unreadable_event_is_set_aside_and_reported(store: Store) {
    let app = App::start(store).await;
    let bad = uuid::Uuid::new_v4().to_string();
    let insert = "INSERT INTO events (aggregate_type, aggregate_id, sequence, event_type,
                  event_version, payload, metadata) VALUES ('lead', $1, 1, 'LeadCaptured', '1.0', $2, $3)";
    let payload = json!({"LeadCaptured": {"nonsense": true}});
    let metadata = json!({"actor_id": "x", "actor_role": "system", "request_id": "r"});
    store::with_db!(app.db(), pool => {
        sqlx::query(insert)
            .bind(&bad)
            .bind(payload.clone())
            .bind(metadata.clone())
            .execute(pool)
            .await
            .unwrap();
    });
    // A good lead after it is still projected.
    let (id, p) = app
        .capture(
            json!({"name": "After The Bad One", "email": "after@example.in", "source": "website"}),
        )
        .await;
    let lead = app.lead(&id, p).await;
    assert_eq!(lead["name"], "After The Bad One");
    let r = app.http.get(app.url("/ready")).send().await.unwrap();
    assert_eq!(r.status(), 503);
    let ready: serde_json::Value = r.json().await.unwrap();
    let leads = ready["projections"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "leads")
        .unwrap()
        .clone();
    assert_eq!(leads["dead_letters"], 1, "{ready}");
    let metrics = app
        .http
        .get(app.url("/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains("crm_projection_dead_letters{projection=\"leads\"} 1"),
        "{metrics}"
    );
    // A rebuild from zero gets past it too, and keeps the good lead.
    let projection = LeadsProjection::new(app.running.as_ref().unwrap().keyring.clone());
    projections::rebuild::rebuild(app.db(), &projection, |_| {})
        .await
        .expect("the rebuild passes over the unreadable event");
    let lead = app.lead(&id, 0).await;
    assert_eq!(lead["name"], "After The Bad One");
    app.stop().await;
}
