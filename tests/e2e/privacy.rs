//! Personal data at rest: the event log holds only ciphertext for personal fields, and
//! destroying a subject's key leaves the events in place but unreadable.

use serde_json::json;

use crate::on_both_stores;
use crate::support::{App, Store};

on_both_stores!(event_log_holds_no_plaintext_and_shredding_erases);

async fn count_in_events(app: &App, needle: &str) -> i64 {
    let pattern = format!("%{needle}%");
    match app.db() {
        commands::Db::Sqlite(pool) => {
            sqlx::query_scalar("SELECT COUNT(*) FROM events WHERE payload LIKE $1")
                .bind(&pattern)
                .fetch_one(pool)
                .await
                .unwrap()
        }
        commands::Db::Postgres(pool) => {
            sqlx::query_scalar("SELECT COUNT(*) FROM events WHERE payload::text LIKE $1")
                .bind(&pattern)
                .fetch_one(pool)
                .await
                .unwrap()
        }
    }
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

    for needle in [
        "Quixotic",
        "quixotic",
        "zubin",
        "9812345670",
        "xylophone",
        "zq2@",
    ] {
        assert_eq!(
            count_in_events(&app, needle).await,
            0,
            "{needle:?} is stored in the clear"
        );
    }
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
    let (s, h) = app.get(&format!("/api/leads/{id}/history")).await;
    assert_eq!(s, 200);
    let items = h["items"].as_array().unwrap();
    assert_eq!(items.len(), 3);
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
