//! Concurrent writers: optimistic locking never lets two racing commands both win, and the
//! projection applies every event exactly once, in commit order.

use std::sync::Arc;

use serde_json::json;

use crate::on_both_stores;
use crate::support::{App, Store};

on_both_stores!(
    concurrent_writers_keep_the_read_model_exact,
    commands_on_one_record_take_turns
);

/// Twenty interactions logged on one lead at once: inside one process they queue on the record
/// and all succeed (the optimistic lock is for other processes).
async fn commands_on_one_record_take_turns(store: Store) {
    let app = Arc::new(App::start(store).await);
    let (id, _) = app
        .capture(json!({"name": "Busy Lead", "email": "busy@example.in", "source": "website"}))
        .await;
    let mut tasks = Vec::new();
    for n in 0..20 {
        let app = app.clone();
        let id = id.clone();
        tasks.push(tokio::spawn(async move {
            app.post(
                &format!("/api/leads/{id}/interactions"),
                json!({"kind": "call", "summary": format!("call {n}")}),
            )
            .await
        }));
    }
    let mut last = 0;
    for t in tasks {
        let (s, v) = t.await.expect("task");
        assert_eq!(s, 201, "{v}");
        last = last.max(v["position"].as_i64().unwrap());
    }
    let lead = app.lead(&id, last).await;
    assert_eq!(lead["interactions"].as_array().unwrap().len(), 20);
    Arc::try_unwrap(app).ok().expect("sole owner").stop().await;
}

const TASKS: usize = 8;
const ROUNDS: usize = 150;

async fn concurrent_writers_keep_the_read_model_exact(store: Store) {
    let app = Arc::new(App::start(store).await);
    // A few shared leads that every task writes to at once (optimistic-lock races).
    let mut shared = Vec::new();
    for i in 0..3 {
        let (id, _) = app.capture(json!({"name": format!("Shared {i}"), "email": format!("s{i}@example.in"), "source": "website"})).await;
        shared.push(id);
    }
    let shared = Arc::new(shared);
    let mut tasks = Vec::new();
    for t in 0..TASKS {
        let app = app.clone();
        let shared = shared.clone();
        tasks.push(tokio::spawn(async move {
            let mut logged = vec![0usize; shared.len()];
            let mut created = 0usize;
            let mut conflicts = 0usize;
            for r in 0..ROUNDS {
                let (s, v) = app
                    .post("/api/leads", json!({"name": format!("Task {t} Round {r}"), "phone": format!("7{:09}", t * 1000 + r), "source": "import"}))
                    .await;
                assert_eq!(s, 201, "{v}");
                created += 1;
                let which = (t + r) % shared.len();
                let (s, v) = app
                    .post(&format!("/api/leads/{}/interactions", shared[which]), json!({"kind": "note", "summary": format!("t{t} r{r}")}))
                    .await;
                match s {
                    201 => logged[which] += 1,
                    409 => {
                        assert_eq!(v["type"], "/problems/concurrent-change");
                        conflicts += 1;
                    }
                    _ => panic!("unexpected {s}: {v}"),
                }
            }
            (logged, created, conflicts)
        }));
    }
    let mut logged = vec![0usize; shared.len()];
    let mut created = 3;
    for t in tasks {
        let (l, c, _) = t.await.expect("task");
        for (i, n) in l.into_iter().enumerate() {
            logged[i] += n;
        }
        created += c;
    }
    app.caught_up().await;
    let head = app.log_head().await;
    assert!(head >= 2000, "thousands of events: {head}");

    // Every lead is in the read model once, with exactly the events the log has for it.
    let mut seen = 0;
    let mut versions = 0;
    let mut cursor: Option<String> = None;
    loop {
        let mut path = "/api/leads?limit=200&include_archived=true".to_string();
        if let Some(c) = &cursor {
            path.push_str(&format!("&cursor={c}"));
        }
        let (_, page) = app.get(&path).await;
        assert_eq!(page["total"], created as i64);
        for item in page["items"].as_array().unwrap() {
            seen += 1;
            let id = item["id"].as_str().unwrap();
            let lead = app.lead(id, 0).await;
            let (_, h) = app.get(&format!("/api/leads/{id}/history")).await;
            let events = h["items"].as_array().unwrap().len() as i64;
            assert_eq!(
                lead["version"], events,
                "lead {id}: view version equals its events in the log"
            );
            versions += events;
        }
        match page["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_string()),
            None => break,
        }
    }
    assert_eq!(seen, created);
    let in_log: i64 = store::with_db!(app.db(), pool => {
        sqlx::query_scalar("SELECT COUNT(*) FROM events WHERE aggregate_type = 'lead'").fetch_one(pool).await.expect("count")
    });
    assert_eq!(
        versions, in_log,
        "every event in the log was applied exactly once"
    );
    for (i, id) in shared.iter().enumerate() {
        let lead = app.lead(id, 0).await;
        assert_eq!(
            lead["interactions"].as_array().unwrap().len(),
            logged[i],
            "shared lead {i}"
        );
    }
    Arc::try_unwrap(app).ok().expect("sole owner").stop().await;
}
