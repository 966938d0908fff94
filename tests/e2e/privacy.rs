//! Personal data at rest: the event log holds only ciphertext for personal fields, and
//! destroying a subject's key leaves the events in place but unreadable.

use serde_json::json;

use crate::on_both_stores;
use crate::support::{App, Store};

on_both_stores!(event_log_holds_no_plaintext_and_shredding_erases);

/// Rows of every table holding data of leads (the log and the read models) that contain
/// `needle` anywhere, compared as text.
async fn count_in_store(app: &App, needle: &str) -> i64 {
    let pattern = format!("%{}%", needle.to_lowercase());
    let sql = match app.db() {
        commands::Db::Sqlite(_) => {
            "SELECT (SELECT COUNT(*) FROM events WHERE lower(payload) LIKE $1)
                  + (SELECT COUNT(*) FROM leads WHERE lower(doc || search_tokens || coalesce(email_index, '') || coalesce(phone_index, '')) LIKE $1)
                  + (SELECT COUNT(*) FROM lead_follow_ups WHERE lower(lead_name || coalesce(note, '')) LIKE $1)
                  + (SELECT COUNT(*) FROM subject_keys WHERE lower(coalesce(wrapped_key, '')) LIKE $1)"
        }
        commands::Db::Postgres(_) => {
            "SELECT (SELECT COUNT(*) FROM events WHERE lower(payload::text) LIKE $1)
                  + (SELECT COUNT(*) FROM leads WHERE lower(doc::text || search_tokens || coalesce(email_index, '') || coalesce(phone_index, '')) LIKE $1)
                  + (SELECT COUNT(*) FROM lead_follow_ups WHERE lower(lead_name || coalesce(note, '')) LIKE $1)
                  + (SELECT COUNT(*) FROM subject_keys WHERE lower(coalesce(wrapped_key, '')) LIKE $1)"
        }
    };
    commands::with_db!(app.db(), pool => {
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
