//! Personal data at rest: the event log holds only ciphertext for personal fields, and
//! destroying a subject's key leaves the events in place but unreadable.

use serde_json::json;

use crate::on_both_stores;
use crate::support::{App, Store};

on_both_stores!(
    event_log_holds_no_plaintext_and_shredding_erases,
    master_key_rotation_rewraps_data_keys,
    master_key_rotation_rolls_through_running_servers,
);

/// Rows of every table holding data of leads (the log and the read models) that contain
/// `needle` anywhere, compared as text.
async fn count_in_store(app: &App, needle: &str) -> i64 {
    let pattern = format!("%{}%", needle.to_lowercase());
    let sql = match app.db() {
        store::Db::Sqlite(_) => {
            "SELECT (SELECT COUNT(*) FROM events WHERE lower(payload) LIKE $1)
                  + (SELECT COUNT(*) FROM leads WHERE lower(doc || search_tokens || coalesce(email_index, '') || coalesce(phone_index, '')) LIKE $1)
                  + (SELECT COUNT(*) FROM lead_follow_ups WHERE lower(lead_name || coalesce(note, '')) LIKE $1)
                  + (SELECT COUNT(*) FROM subject_keys WHERE lower(coalesce(wrapped_key, '')) LIKE $1)"
        }
        store::Db::Postgres(_) => {
            "SELECT (SELECT COUNT(*) FROM events WHERE lower(payload::text) LIKE $1)
                  + (SELECT COUNT(*) FROM leads WHERE lower(doc::text || search_tokens || coalesce(email_index, '') || coalesce(phone_index, '')) LIKE $1)
                  + (SELECT COUNT(*) FROM lead_follow_ups WHERE lower(lead_name || coalesce(note, '')) LIKE $1)
                  + (SELECT COUNT(*) FROM subject_keys WHERE lower(coalesce(wrapped_key, '')) LIKE $1)"
        }
    };
    store::with_db!(app.db(), pool => {
        sqlx::query_scalar(sql).bind(&pattern).fetch_one(pool).await.unwrap()
    })
}

async fn event_log_holds_no_plaintext_and_shredding_erases(store: Store) {
    let app = App::start(store).await;
    let (id, _) = app
        .capture(json!({
            "name": "Zubin Quixotic",
            "email": "zubin.quixotic@example.in",
            "phone": "9812345670",
            "source": "referral",
            "notes": "mentioned xylophone savings",
        }))
        .await;
    let (s, _) = app
        .post(
            &format!("/api/leads/{id}/interactions"),
            json!({"kind": "note", "summary": "quixotic plans for retirement"}),
        )
        .await;
    assert_eq!(s, 201);
    let (s, _) = app
        .send(
            app.http
                .patch(app.url(&format!("/api/leads/{id}")))
                .json(&json!({"email": "zq2@example.in"})),
        )
        .await;
    assert_eq!(s, 200);

    // A follow-up puts the name and a note in the due-list table too.
    let due = chrono::Utc::now() + chrono::Duration::hours(1);
    let (s, v) = app
        .post(
            &format!("/api/leads/{id}/follow-ups"),
            json!({"due_at": due, "channel": "call", "note": "xylophone call"}),
        )
        .await;
    assert_eq!(s, 201);
    let p = v["position"].as_i64().unwrap();
    app.lead(&id, p).await;
    for needle in [
        "Quixotic",
        "zubin",
        "9812345670",
        "xylophone",
        "zq2@",
        "example.in",
    ] {
        assert_eq!(
            count_in_store(&app, needle).await,
            0,
            "{needle:?} is stored in the clear"
        );
    }
    // Authorised reads still see it, and search finds it by e-mail, phone and name words.
    let (_, v) = app.get("/api/leads?q=zq2@example.in").await;
    assert_eq!(v["total"], 1);
    let (_, v) = app.get("/api/leads?q=98123%2045670").await;
    assert_eq!(v["total"], 1);
    let (_, v) = app.get("/api/leads?q=quixotic").await;
    assert_eq!(v["total"], 1);
    assert_eq!(v["items"][0]["name"], "Zubin Quixotic");
    let (_, v) = app.get("/api/follow-ups?due=any").await;
    assert_eq!(v["items"][0]["lead_name"], "Zubin Quixotic");
    assert_eq!(v["items"][0]["note"], "xylophone call");
    let (_, h) = app.get(&format!("/api/leads/{id}/history")).await;
    assert_eq!(
        h["items"][0]["data"]["details"]["name"], "Zubin Quixotic",
        "authorised reads see the data"
    );
    assert_eq!(h["items"][2]["data"]["email"], "zq2@example.in");

    // Text that looks sealed is sealed like any other (and reads back as typed).
    let (odd, p) = app
        .capture(json!({"name": "enc v1 Odd", "email": "odd@example.in", "source": "other", "notes": "enc:v1:zz"}))
        .await;
    let lead = app.lead(&odd, p).await;
    assert_eq!(lead["notes"], "enc:v1:zz");
    assert_eq!(count_in_store(&app, "enc:v1:zz").await, 0);

    // Destroy the subject's key: the events stay (and stay countable), their personal fields
    // read as erased everywhere, including a read model rebuilt from the log.
    let keyring = app.running.as_ref().unwrap().keyring.clone();
    keyring.shred(&id).await.unwrap();
    // The read model shows it erased at once: its personal fields were sealed with that key.
    let lead = app.lead(&id, 0).await;
    assert_eq!(lead["name"], "[erased]");
    assert_eq!(lead["status"], "new", "what is not personal stays readable");
    let (s, h) = app.get(&format!("/api/leads/{id}/history")).await;
    assert_eq!(s, 200);
    let items = h["items"].as_array().unwrap();
    assert_eq!(items.len(), 4);
    assert_eq!(items[0]["data"]["details"]["name"], "[erased]");
    assert_eq!(items[0]["data"]["details"]["notes"], "[erased]");
    assert_eq!(items[1]["data"]["summary"], "[erased]");
    let projection = projections::leads::LeadsProjection::new(keyring.clone());
    projections::rebuild::rebuild(app.db(), &projection, |_| {})
        .await
        .unwrap();
    let lead = app.lead(&id, 0).await;
    assert_eq!(lead["name"], "[erased]");
    assert_eq!(lead["email"], "[erased]");
    assert_eq!(lead["interactions"][0]["summary"], "[erased]");
    assert!(keyring.is_shredded(&id).await.unwrap());
    app.stop().await;
}

/// Rotating the master key re-wraps the data keys; events and read models stay as they are
/// and read the same afterwards.
async fn master_key_rotation_rewraps_data_keys(store: Store) {
    let fresh = crate::support::Fresh::new(store).await;
    let running = api::server::start(fresh.config()).await.unwrap();
    let base = format!("http://{}", running.addr);
    let admin = "rotate@test.broker";
    let http = crate::support::sign_in(&running, &base, admin, domain::user::Role::Admin, None)
        .await
        .http;
    let r: serde_json::Value = http
        .post(format!("{base}/api/leads"))
        .json(&json!({"name": "Farah Rotate", "email": "farah@example.in", "source": "website"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let id = r["id"].as_str().unwrap().to_string();
    let p = r["position"].as_i64().unwrap();
    http.get(format!("{base}/api/leads/{id}?min_position={p}"))
        .send()
        .await
        .unwrap();
    let db = running.db.clone();
    let wrapped_before = wrapped_keys(&db).await;
    running.stop().await;
    let old_key = std::fs::read_to_string(fresh.data_dir.join("master.key")).unwrap();

    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_crm"));
    cmd.args(["keys", "rotate"])
        .env("CRM_DATA_DIR", &fresh.data_dir)
        .env_remove("DATABASE_URL")
        .env_remove("CRM_MASTER_KEY");
    if let Some(url) = &fresh.database_url {
        cmd.env("DATABASE_URL", url);
    }
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        String::from_utf8_lossy(&out.stdout)
            .contains(&format!("re-wrapped {} data keys", wrapped_before.len())),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );

    let new_key = std::fs::read_to_string(fresh.data_dir.join("master.key")).unwrap();
    assert_ne!(new_key.trim(), old_key.trim());
    let previous = std::fs::read_to_string(fresh.data_dir.join("master.key.previous")).unwrap();
    assert_eq!(previous.trim(), old_key.trim());

    let running = api::server::start(fresh.config()).await.unwrap();
    let wrapped_after = wrapped_keys(&running.db).await;
    assert_eq!(wrapped_after.len(), wrapped_before.len());
    for ((s1, w1), (s2, w2)) in wrapped_before.iter().zip(&wrapped_after) {
        assert_eq!(s1, s2);
        assert_ne!(w1, w2, "re-wrapped");
    }
    let base = format!("http://{}", running.addr);
    let http = crate::support::login(&base, admin, crate::support::PASSWORD)
        .await
        .http;
    let lead: serde_json::Value = http
        .get(format!("{base}/api/leads/{id}"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(lead["name"], "Farah Rotate");
    let found: serde_json::Value = http
        .get(format!("{base}/api/leads?q=farah@example.in"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(found["total"], 1, "blind indexes survive the rotation");
    running.stop().await;
    let _ = std::fs::remove_dir_all(&fresh.data_dir);
}

async fn wrapped_keys(db: &store::Db) -> Vec<(String, String)> {
    store::with_db!(db, pool => {
        sqlx::query_as("SELECT subject_id, wrapped_key FROM subject_keys ORDER BY subject_id")
            .fetch_all(pool)
            .await
            .unwrap()
    })
}

const OLD_KEY: &str = "1111111111111111111111111111111111111111111111111111111111111111";
const NEW_KEY: &str = "2222222222222222222222222222222222222222222222222222222222222222";

/// The rolling rotation the README describes: servers learn the new key as a former one, the
/// data keys are re-wrapped while they run, then servers restart with the new key current.
async fn master_key_rotation_rolls_through_running_servers(store: Store) {
    let fresh = crate::support::Fresh::new(store).await;
    // Step 1: the running server already accepts the new key (as a "previous" one).
    let app = App::start_with(fresh, |c| {
        c.store.master_key = Some(OLD_KEY.into());
        c.store.previous_master_keys = vec![NEW_KEY.into()];
    })
    .await;
    let (before, _) = app
        .capture(json!({"name": "Gita Before", "email": "gita@example.in", "source": "website"}))
        .await;

    // Step 2: every data key is re-wrapped with the new key while the server runs.
    let mut cmd = tokio::process::Command::new(env!("CARGO_BIN_EXE_crm"));
    cmd.args(["keys", "rotate"]);
    app.fresh.env(&mut cmd);
    cmd.env("CRM_MASTER_KEY", OLD_KEY)
        .env("CRM_NEW_MASTER_KEY", NEW_KEY);
    let out = cmd.output().await.unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("re-wrapped"));

    // The old server goes on working: it writes new keys with the old one, reads the re-wrapped.
    let (during, p) = app
        .capture(json!({"name": "Hari During", "email": "hari@example.in", "source": "website"}))
        .await;
    assert_eq!(app.lead(&during, p).await["name"], "Hari During");
    let (_, v) = app.get("/api/leads?q=gita").await;
    assert_eq!(v["items"][0]["name"], "Gita Before");

    // Step 3: a server with the new key current (the old one as former) reads everything.
    let mut config = app.fresh.config();
    config.store.master_key = Some(NEW_KEY.into());
    config.store.previous_master_keys = vec![OLD_KEY.into()];
    let second = api::server::start(config).await.unwrap();
    let base = format!("http://{}", second.addr);
    let http = crate::support::login(&base, &app.admin.email, crate::support::PASSWORD)
        .await
        .http;
    for (id, name) in [(&before, "Gita Before"), (&during, "Hari During")] {
        let lead: serde_json::Value = http
            .get(format!("{base}/api/leads/{id}"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(lead["name"], name);
    }
    second.stop().await;
    let admin = app.admin.email.clone();
    let fresh = crate::support::Fresh {
        data_dir: app.fresh.data_dir.clone(),
        database_url: app.fresh.database_url.clone(),
    };
    if let Some(r) = app.running {
        r.stop().await;
    }

    // Step 4: what the old server wrapped in between is re-wrapped too; then the old key can go.
    let mut cmd = tokio::process::Command::new(env!("CARGO_BIN_EXE_crm"));
    cmd.args(["keys", "rotate"]);
    fresh.env(&mut cmd);
    cmd.env("CRM_MASTER_KEY", NEW_KEY)
        .env("CRM_NEW_MASTER_KEY", NEW_KEY)
        .env("CRM_PREVIOUS_MASTER_KEYS", OLD_KEY);
    let out = cmd.output().await.unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut config = fresh.config();
    config.store.master_key = Some(NEW_KEY.into());
    let last = api::server::start(config).await.unwrap();
    let base = format!("http://{}", last.addr);
    let http = crate::support::login(&base, &admin, crate::support::PASSWORD)
        .await
        .http;
    for (id, name) in [(&before, "Gita Before"), (&during, "Hari During")] {
        let lead: serde_json::Value = http
            .get(format!("{base}/api/leads/{id}"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(lead["name"], name, "readable with the new key alone");
    }
    last.stop().await;
    let _ = std::fs::remove_dir_all(&fresh.data_dir);
}
