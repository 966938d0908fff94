//! Backups of the embedded store: taken while the server runs, checked, opened with the
//! master key kept apart, verified as a log; scheduled ones kept to their number. On
//! Postgres the command refuses and names the database's own tools.

use std::process::Stdio;
use std::time::Duration;

use tokio::process::Command;

use serde_json::{json, Value};

use crate::on_both_stores;
use crate::support::{asha, crm, App, Fresh, Store};

on_both_stores!(
    a_backup_taken_while_serving_opens_and_verifies,
    the_restore_drill_gives_back_an_equal_store,
    an_export_whose_commit_order_goes_back_in_position_keeps_it_on_postgres_only
);

/// `crm` with `args` on the app's settings, `CRM_DATA_DIR` as given: success and output.
async fn crm_on(app: &App, data_dir: &std::path::Path, args: &[&str]) -> (bool, String) {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_crm"));
    cmd.args(args).stdout(Stdio::piped()).stderr(Stdio::piped());
    app.fresh.env(&mut cmd);
    cmd.env("CRM_DATA_DIR", data_dir);
    let out = cmd.output().await.expect("run crm");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

async fn a_backup_taken_while_serving_opens_and_verifies(store: Store) {
    let app = App::start_with(Fresh::new(store).await, |c| {
        c.serve.backup_interval_secs = 1;
        c.serve.backup_keep = 2;
    })
    .await;
    let (lead, _) = app.capture(asha()).await;
    app.caught_up().await;
    let into = app.fresh.data_dir.with_extension("restored");
    let file = into.join("crm.db");
    let (ok, text) = crm_on(
        &app,
        &app.fresh.data_dir,
        &["backup", "--to", file.to_str().unwrap()],
    )
    .await;
    if store == Store::Postgres {
        assert!(!ok && text.contains("pg_dump"), "{text}");
        assert!(!file.exists());
        app.stop().await;
        return;
    }
    assert!(ok && text.contains("checked"), "{text}");
    // Never over an existing file.
    let (ok, text) = crm_on(
        &app,
        &app.fresh.data_dir,
        &["backup", "--to", file.to_str().unwrap()],
    )
    .await;
    assert!(!ok && text.contains("exists"), "{text}");

    // With the master key (kept apart) beside it, the copy is a store: its log verifies and
    // the lead's history is there, personal data opened.
    std::fs::copy(
        app.fresh.data_dir.join("master.key"),
        into.join("master.key"),
    )
    .unwrap();
    let (ok, text) = crm_on(&app, &into, &["audit", "verify"]).await;
    assert!(ok, "{text}");
    let original = crm(&app, &["audit", "export"], &[]).await;
    let (ok, copied) = crm_on(&app, &into, &["audit", "export"]).await;
    assert!(ok, "{copied}");
    let events = |text: &str| {
        text.lines()
            .filter(|l| l.contains(&lead))
            .map(str::to_string)
            .collect::<Vec<_>>()
    };
    assert!(!events(&original).is_empty(), "{original}");
    assert_eq!(events(&copied), events(&original));

    // Scheduled: one a second, the newest two kept.
    let dir = app.fresh.data_dir.join("backups");
    let count = || {
        std::fs::read_dir(&dir)
            .map(|d| {
                d.filter_map(Result::ok)
                    .filter(|e| e.file_name().to_string_lossy().ends_with(".db"))
                    .count()
            })
            .unwrap_or(0)
    };
    for _ in 0..100 {
        if count() >= 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(count(), 2);
    tokio::time::sleep(Duration::from_millis(2500)).await;
    assert_eq!(count(), 2, "the oldest go");
    app.stop().await;
    let _ = std::fs::remove_dir_all(&into);
}

/// `crm` with `args` on `fresh`'s store: success, standard output and standard error.
async fn crm_in(fresh: &Fresh, args: &[&str]) -> (bool, String, String) {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_crm"));
    cmd.args(args).stdout(Stdio::piped()).stderr(Stdio::piped());
    fresh.env(&mut cmd);
    let out = cmd.output().await.expect("run crm");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// A fresh store with the master key of `like` beside it (kept apart from exports, given to
/// the restore).
async fn fresh_with_key_of(store: Store, like: &Fresh) -> Fresh {
    let fresh = Fresh::new(store).await;
    std::fs::create_dir_all(&fresh.data_dir).unwrap();
    std::fs::copy(
        like.data_dir.join("master.key"),
        fresh.data_dir.join("master.key"),
    )
    .unwrap();
    fresh
}

/// Every record's state as its commands see it (personal data opened), by `type/id`.
async fn aggregates(
    write: &commands::WriteSide,
    keys: &[(String, String)],
) -> Vec<(String, Value)> {
    let mut out = Vec::new();
    for (kind, id) in keys {
        let state = match kind.as_str() {
            "lead" => serde_json::to_value(write.leads.load(id).await.unwrap()),
            "client" => serde_json::to_value(write.clients.load(id).await.unwrap()),
            "kyc" => serde_json::to_value(write.kyc.load(id).await.unwrap()),
            "portfolio" => serde_json::to_value(write.portfolios.load(id).await.unwrap()),
            "user" => serde_json::to_value(write.users.load(id).await.unwrap()),
            "pii_access" => serde_json::to_value(write.access.load(id).await.unwrap()),
            "capture_key" => serde_json::to_value(write.capture_keys.load(id).await.unwrap()),
            "report_pack" => serde_json::to_value(write.report_packs.load(id).await.unwrap()),
            "webhook_subscription" => serde_json::to_value(write.webhooks.load(id).await.unwrap()),
            other => panic!("a record kind the drill does not know: {other}"),
        };
        out.push((format!("{kind}/{id}"), state.unwrap()));
    }
    out
}

async fn ledger_end(db: &store::Db) -> (i64, String, i64) {
    store::with_db!(db, pool => {
        sqlx::query_as(
            "SELECT seq, ledger_hash, (SELECT COUNT(*) FROM audit_checkpoints)
               FROM audit_ledger ORDER BY seq DESC LIMIT 1",
        )
        .fetch_one(pool)
        .await
        .unwrap()
    })
}

/// What the API answers on lists and reports (store-independent), with times of the answer
/// itself left out.
async fn answers(app: &App) -> Vec<Value> {
    let mut out = Vec::new();
    for path in [
        "/api/leads?limit=100&include_archived=true",
        "/api/clients?limit=100",
        "/api/kyc/pending",
        "/api/webhooks",
        "/api/notifications?limit=100",
        "/api/reports/sales",
        "/api/reports/kyc",
        "/api/reports/investments",
    ] {
        let (s, mut v) = app.get(path).await;
        assert_eq!(s, 200, "{path}: {v}");
        strip(&mut v);
        // The log position an answer is as of: the restored server's start signed its admin in.
        if let Some(m) = v.as_object_mut() {
            m.remove("position");
        }
        out.push(json!({ "path": path, "answer": v }));
    }
    out
}

/// Where `a` and `b` first differ (a JSON path and both values), if they do.
fn difference(a: &Value, b: &Value, at: &str) -> Option<String> {
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => x
            .iter()
            .find_map(|(k, v)| {
                difference(v, y.get(k).unwrap_or(&Value::Null), &format!("{at}.{k}"))
            })
            .or_else(|| {
                y.keys()
                    .find(|k| !x.contains_key(*k))
                    .map(|k| format!("{at}.{k} only after"))
            }),
        (Value::Array(x), Value::Array(y)) if x.len() == y.len() => x
            .iter()
            .zip(y)
            .enumerate()
            .find_map(|(i, (v, w))| difference(v, w, &format!("{at}[{i}]"))),
        // Postgres keeps times to the microsecond (SQLite as written, to the nanosecond).
        (Value::String(x), Value::String(y)) if micros(x).is_some() => {
            (micros(x) != micros(y)).then(|| format!("{at}: {a} before, {b} after"))
        }
        _ => (a != b).then(|| format!("{at}: {a} before, {b} after")),
    }
}

fn micros(t: &str) -> Option<i64> {
    chrono::DateTime::parse_from_rfc3339(t)
        .ok()
        .map(|t| t.timestamp_micros())
}

fn strip(v: &mut Value) {
    match v {
        Value::Object(m) => {
            for k in ["generated_at", "as_of"] {
                m.remove(k);
            }
            m.values_mut().for_each(strip);
        }
        Value::Array(a) => a.iter_mut().for_each(strip),
        _ => {}
    }
}

/// Export (log, then vault) → restore into a fresh store of `target` → the ledger, every
/// record's state, every read model and the API's answers equal the original's; a shredded
/// person stays shredded.
async fn drill(source: &App, target: Store, erased: &str) {
    let src = &source.fresh;
    let (ok, log, err) = crm_in(src, &["audit", "export"]).await;
    assert!(ok, "{err}");
    let (ok, vault, err) = crm_in(src, &["vault", "export"]).await;
    assert!(ok, "{err}");
    assert!(vault.contains("\"subject_keys\"") && vault.contains("\"client_documents\""));
    let dir = std::env::temp_dir().join(format!("crm-drill-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    let (log_file, vault_file) = (dir.join("log.jsonl"), dir.join("vault.jsonl"));
    std::fs::write(&log_file, &log).unwrap();
    std::fs::write(&vault_file, &vault).unwrap();
    let restore = |file: &std::path::Path| {
        vec![
            "restore".to_string(),
            "--from".into(),
            file.to_str().unwrap().into(),
            "--vault".into(),
            vault_file.to_str().unwrap().into(),
        ]
    };
    let args = restore(&log_file);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();

    let fresh = fresh_with_key_of(target, src).await;
    let (ok, out, err) = crm_in(&fresh, &args).await;
    assert!(ok, "{out}{err}");
    assert!(
        out.contains("restored") && out.contains("shredded"),
        "{out}"
    );
    // A second restore into the same store is refused.
    let (ok, _, err) = crm_in(&fresh, &args).await;
    assert!(!ok && err.contains("not empty"), "{err}");

    // The store as restored, before a server adds anything (its start signs the test admin in).
    source.caught_up().await;
    let config = fresh.config();
    let (db, keyring, signer) = api::server::open_store(&config).await.unwrap();
    let (ok, out, err) = crm_in(&fresh, &["audit", "verify"]).await;
    assert!(ok, "the restored store verifies: {out}{err}");
    assert_eq!(ledger_end(&db).await, ledger_end(source.db()).await);
    assert_eq!(
        store::log::head(&db).await.unwrap(),
        store::log::head(source.db()).await.unwrap()
    );
    let keys: Vec<(String, String)> = store::with_db!(source.db(), pool => {
        sqlx::query_as("SELECT DISTINCT aggregate_type, aggregate_id FROM events ORDER BY 1, 2")
            .fetch_all(pool)
            .await
            .unwrap()
    });
    assert!(keys.len() > 100, "{}", keys.len());
    let write = api::server::write_side(&config, &db, &keyring, store::LogSignal::default());
    let original = &source.running.as_ref().unwrap().state;
    let (before, after) = (
        aggregates(&original.write, &keys).await,
        aggregates(&write, &keys).await,
    );
    assert_eq!(before.len(), after.len());
    for (b, a) in before.iter().zip(&after) {
        assert_eq!(b, a, "record state");
    }
    let restored_models = projections::all(
        &keyring,
        &signer,
        config.store.holding_periods(),
        config.store.score_weights,
    );
    let mut compared = 0;
    if source.fresh.database_url.is_some() == fresh.database_url.is_some() {
        for (b, a) in original.projections.iter().zip(&restored_models) {
            assert_eq!(b.name(), a.name());
            let before = projections::rebuild::dump(source.db(), b.as_ref())
                .await
                .unwrap();
            let after = projections::rebuild::dump(&db, a.as_ref()).await.unwrap();
            let differs: Vec<_> = before
                .iter()
                .filter(|r| !after.contains(r))
                .take(3)
                .collect();
            assert!(
                before == after,
                "read model {} differs after the restore: {differs:?}",
                b.name()
            );
            compared += before.len();
        }
        assert!(compared > 1000, "{compared} rows compared");
    }
    db.close().await;

    let restored = App::start_with(fresh, |_| {}).await;
    restored.caught_up().await;
    for (b, a) in answers(source).await.iter().zip(answers(&restored).await) {
        if let Some(d) = difference(b, &a, "") {
            panic!("the API answers otherwise after the restore: {d}");
        }
    }
    let lead = restored.lead(erased, 0).await;
    assert_eq!(lead["name"], "[erased]", "a shredded person stays shredded");
    restored.stop().await;

    // A tampered export is refused, naming the event, and nothing is written.
    let mut lines: Vec<Value> = log
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let victim = lines
        .iter_mut()
        .filter(|l| l["kind"] == "event" && l["aggregate_type"] == "lead")
        .nth(3)
        .unwrap();
    victim["payload"] = json!({"LeadCaptured": {"forged": true}});
    let position = victim["position"].as_i64().unwrap();
    let tampered = dir.join("tampered.jsonl");
    let text: Vec<String> = lines.iter().map(Value::to_string).collect();
    std::fs::write(&tampered, text.join("\n")).unwrap();
    let fresh = fresh_with_key_of(target, src).await;
    let args = restore(&tampered);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let (ok, _, err) = crm_in(&fresh, &args).await;
    assert!(!ok, "{err}");
    assert!(
        err.contains(&format!("position {position}")) && err.contains("altered"),
        "{err}"
    );
    let db = fresh.db().await;
    assert_eq!(store::log::head(&db).await.unwrap(), 0, "nothing written");
    assert_eq!(store::vault::rows(&db).await.unwrap(), 0, "nothing written");
    db.close().await;

    // Without the original master key, nothing is written either.
    let other = Fresh::new(target).await;
    let (ok, _, err) = crm_in(
        &other,
        &restore(&log_file)
            .iter()
            .map(String::as_str)
            .collect::<Vec<_>>(),
    )
    .await;
    assert!(!ok && err.contains("master key"), "{err}");
    let db = other.db().await;
    assert_eq!(store::log::head(&db).await.unwrap(), 0, "nothing written");
    db.close().await;

    // Exports taken while the store is written: the vault (taken after the log) holds the
    // contact reservation of a lead the log export does not hold. It is left out, so the
    // restored store takes a lead with that e-mail address.
    let (ok, log, err) = crm_in(src, &["audit", "export"]).await;
    assert!(ok, "{err}");
    let email = format!("between.{}@example.in", uuid::Uuid::new_v4().simple());
    let (between, _) = source
        .capture(json!({"name": "Between Exports", "email": email, "source": "website"}))
        .await;
    let (ok, vault, err) = crm_in(src, &["vault", "export"]).await;
    assert!(ok && vault.contains(&between), "{err}");
    std::fs::write(&log_file, &log).unwrap();
    std::fs::write(&vault_file, &vault).unwrap();
    let fresh = fresh_with_key_of(target, src).await;
    let args = restore(&log_file);
    let (ok, out, err) = crm_in(&fresh, &args.iter().map(String::as_str).collect::<Vec<_>>()).await;
    assert!(ok, "{out}{err}");
    assert!(!out.contains(" 0 left out"), "{out}");
    let restored = App::start_with(fresh, |_| {}).await;
    let (s, v) = restored
        .post(
            "/api/leads",
            json!({"name": "Taken Again", "email": email, "source": "website"}),
        )
        .await;
    assert_eq!(s, 201, "{v}");
    restored.stop().await;
    let _ = std::fs::remove_dir_all(&dir);
}

async fn the_restore_drill_gives_back_an_equal_store(store: Store) {
    let app = App::start_with(Fresh::new(store).await, |c| {
        c.serve.webhook_allow_private = true;
    })
    .await;
    let state = app.running.as_ref().unwrap().state.clone();
    commands::generate::generate(&state.write, 1500, 11, |_| {})
        .await
        .expect("generated records");
    // A person erased (shredded), a webhook subscription (its secret sealed in the vault).
    let (erased, _) = app.capture(asha()).await;
    let (s, v) = app
        .post(
            &format!("/api/privacy/subjects/{erased}/erasure"),
            json!({"reason": "please delete me"}),
        )
        .await;
    assert_eq!(s, 200, "{v}");
    let (s, v) = app
        .post(
            "/api/webhooks",
            json!({"url": "http://127.0.0.1:9/hook", "event_types": ["ClientOnboarded"]}),
        )
        .await;
    assert_eq!(s, 201, "{v}");
    app.caught_up().await;

    drill(&app, store, &erased).await;
    if store == Store::Sqlite {
        // The embedded store moved to Postgres.
        drill(&app, Store::Postgres, &erased).await;
    }
    app.stop().await;
}

/// On Postgres a transaction can take a position before another that commits first: the log's
/// commit order then goes back in position. Written here by hand (two transactions, the one
/// that began first inserting last), exported, and restored: into Postgres in the same commit
/// order, the ledger verifying; into SQLite (where positions are the commit order) refused,
/// nothing written.
async fn an_export_whose_commit_order_goes_back_in_position_keeps_it_on_postgres_only(
    target: Store,
) {
    let source = App::start(Store::Postgres).await;
    source.capture(asha()).await;
    let store::Db::Postgres(pool) = source.db() else {
        unreachable!()
    };
    let insert = "INSERT INTO events (aggregate_type, aggregate_id, sequence, event_type,
                  event_version, payload, metadata) VALUES ('lead', $1, 1, 'LeadCaptured', '1.0', $2, $3)";
    let payload = json!({"LeadCaptured": {"written": "by hand"}});
    // Each the first of its record, chained and hashed as the store writes them.
    let metadata = |id: &str| {
        let mut m = json!({"actor_id": "x", "actor_role": "system", "request_id": "r",
                           "prev_hash": store::audit::GENESIS});
        let hash = store::audit::event_hash(&store::audit::EventContent {
            aggregate_type: "lead",
            aggregate_id: id,
            sequence: 1,
            event_type: "LeadCaptured",
            event_version: "1.0",
            payload: &payload,
            metadata: &m,
        });
        m["hash"] = json!(hash);
        m
    };
    let (first, second) = (
        uuid::Uuid::new_v4().to_string(),
        uuid::Uuid::new_v4().to_string(),
    );
    let mut a = pool.begin().await.unwrap();
    sqlx::query("SELECT pg_current_xact_id()")
        .execute(&mut *a)
        .await
        .unwrap();
    let mut b = pool.begin().await.unwrap();
    sqlx::query("SELECT pg_current_xact_id()")
        .execute(&mut *b)
        .await
        .unwrap();
    for (tx, id) in [(&mut b, &second), (&mut a, &first)] {
        sqlx::query(insert)
            .bind(id)
            .bind(&payload)
            .bind(metadata(id))
            .execute(&mut **tx)
            .await
            .unwrap();
    }
    b.commit().await.unwrap();
    a.commit().await.unwrap();
    let order = |db: &store::Db| {
        let db = db.clone();
        async move {
            let store::Db::Postgres(pool) = db else {
                unreachable!()
            };
            let rows: Vec<i64> =
                sqlx::query_scalar("SELECT position FROM events ORDER BY tx_id, position")
                    .fetch_all(&pool)
                    .await
                    .unwrap();
            rows
        }
    };
    let original = order(source.db()).await;
    assert!(
        original.windows(2).any(|w| w[1] < w[0]),
        "the commit order goes back: {original:?}"
    );
    // The ledger takes them in commit order.
    for _ in 0..200 {
        let ledgered: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM audit_ledger")
            .fetch_one(pool)
            .await
            .unwrap();
        if ledgered == original.len() as i64 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let src = &source.fresh;
    let (ok, log, err) = crm_in(src, &["audit", "export"]).await;
    assert!(ok, "{err}");
    let (ok, vault, err) = crm_in(src, &["vault", "export"]).await;
    assert!(ok, "{err}");
    let dir = std::env::temp_dir().join(format!("crm-order-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    let (log_file, vault_file) = (dir.join("log.jsonl"), dir.join("vault.jsonl"));
    std::fs::write(&log_file, &log).unwrap();
    std::fs::write(&vault_file, &vault).unwrap();
    let fresh = fresh_with_key_of(target, src).await;
    let args = [
        "restore",
        "--from",
        log_file.to_str().unwrap(),
        "--vault",
        vault_file.to_str().unwrap(),
    ];
    let (ok, out, err) = crm_in(&fresh, &args).await;
    match target {
        Store::Postgres => {
            assert!(ok, "{out}{err}");
            let db = fresh.db().await;
            assert_eq!(order(&db).await, original, "the same commit order");
            db.close().await;
            let (ok, out, err) = crm_in(&fresh, &["audit", "verify"]).await;
            assert!(ok, "{out}{err}");
        }
        Store::Sqlite => {
            assert!(
                !ok && err.contains("restore it into Postgres"),
                "{out}{err}"
            );
            let db = fresh.db().await;
            assert_eq!(store::log::head(&db).await.unwrap(), 0, "nothing written");
            db.close().await;
        }
    }
    source.stop().await;
    let _ = std::fs::remove_dir_all(&dir);
}
