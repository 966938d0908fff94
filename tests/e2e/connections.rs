//! Connections a client opens and does not use: closed once silent for the idle timeout,
//! and no more held at once than the cap.

use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::on_both_stores;
use crate::support::{asha, App, Child, Fresh, Store};

on_both_stores!(
    silent_and_stalled_connections_are_closed,
    connections_past_the_cap_wait_for_one_to_close,
    logs_come_as_json_lines_with_request_ids_and_no_personal_data,
    metrics_and_readiness_ask_for_the_operations_token_when_one_is_set,
    metrics_count_requests_commands_and_projection_lag
);

/// Reads until the server closes the connection (or 20 s pass): what it sent.
async fn until_closed(mut socket: TcpStream) -> Option<String> {
    let mut got = Vec::new();
    match tokio::time::timeout(Duration::from_secs(20), socket.read_to_end(&mut got)).await {
        Ok(_) => Some(String::from_utf8_lossy(&got).into_owned()),
        Err(_) => None,
    }
}

async fn silent_and_stalled_connections_are_closed(store: Store) {
    let app = App::start_with(Fresh::new(store).await, |c| {
        c.serve.idle_timeout_secs = 1;
        c.serve.request_timeout_secs = 1;
    })
    .await;
    let addr = app.base.trim_start_matches("http://").to_string();
    // One that sends nothing, one that stops mid-headers, one that declares 60,000 bytes of
    // body and sends 8.
    let silent = TcpStream::connect(&addr).await.unwrap();
    let mut partial = TcpStream::connect(&addr).await.unwrap();
    partial
        .write_all(b"GET /health HTTP/1.1\r\nHost: crm\r\n")
        .await
        .unwrap();
    let mut short = TcpStream::connect(&addr).await.unwrap();
    short
        .write_all(
            b"POST /api/auth/login HTTP/1.1\r\nHost: crm\r\ncontent-type: application/json\r\ncontent-length: 60000\r\n\r\n{\"email\"",
        )
        .await
        .unwrap();
    for (what, socket) in [
        ("silent", silent),
        ("mid-headers", partial),
        ("short body", short),
    ] {
        let answer = until_closed(socket).await;
        assert!(answer.is_some(), "the {what} connection is still open");
        // Nothing was answered as if the request had come whole.
        assert!(!answer.unwrap().contains("200 OK"), "{what}");
    }
    // The server goes on answering.
    let (s, _) = app.get("/api/auth/me").await;
    assert_eq!(s, 200);
    app.stop().await;
}

async fn connections_past_the_cap_wait_for_one_to_close(store: Store) {
    let app = App::start_with(Fresh::new(store).await, |c| {
        c.serve.idle_timeout_secs = 2;
        c.serve.request_timeout_secs = 1;
        c.serve.max_connections = 2;
    })
    .await;
    let addr = app.base.trim_start_matches("http://").to_string();
    // Whatever signing in left open closes first.
    tokio::time::sleep(Duration::from_millis(2500)).await;
    let first = TcpStream::connect(&addr).await.unwrap();
    let second = TcpStream::connect(&addr).await.unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;
    let asked = tokio::spawn({
        let addr = addr.clone();
        async move {
            let mut third = TcpStream::connect(&addr).await.unwrap();
            third
                .write_all(b"GET /health HTTP/1.1\r\nHost: crm\r\nConnection: close\r\n\r\n")
                .await
                .unwrap();
            until_closed(third).await
        }
    });
    // Both held: the third is not taken in.
    tokio::time::sleep(Duration::from_millis(700)).await;
    assert!(!asked.is_finished(), "a third connection was served");
    drop(first);
    let answer = asked.await.unwrap().expect("answered once one closed");
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    drop(second);
    app.stop().await;
}

async fn logs_come_as_json_lines_with_request_ids_and_no_personal_data(store: Store) {
    let app = App::start(store).await;
    let log = app.fresh.data_dir.join("serve-json.log");
    let mut child =
        Child::start_with_env(&app, "info", Some(&log), &[("CRM_LOG_FORMAT", "json")]).await;
    let r = app
        .http
        .post(format!("{}/api/leads", child.base))
        .header("x-request-id", "req-json-log-1")
        .json(&asha())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 201);
    child.process.start_kill().unwrap();
    child.process.wait().await.unwrap();
    let text = std::fs::read_to_string(&log).unwrap();
    let lines: Vec<serde_json::Value> = text
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect();
    let request = lines
        .iter()
        .find(|l| l["span"]["request_id"] == "req-json-log-1")
        .unwrap_or_else(|| panic!("no line of the request: {text}"));
    assert_eq!(request["level"], "INFO", "{request}");
    for pii in ["Asha", "asha.rao@example.in", "98765"] {
        assert!(!text.contains(pii), "{pii} in the log: {text}");
    }
    app.stop().await;
}

async fn metrics_and_readiness_ask_for_the_operations_token_when_one_is_set(store: Store) {
    let token = "ops-token-for-the-scraper-0123456789";
    let app = App::start_with(Fresh::new(store).await, |c| {
        c.serve.ops_token = Some(token.into());
    })
    .await;
    let plain = reqwest::Client::new();
    for path in ["/metrics", "/ready"] {
        let r = plain.get(app.url(path)).send().await.unwrap();
        assert_eq!(r.status().as_u16(), 401, "{path}");
        assert_eq!(
            r.headers()["content-type"],
            "application/problem+json",
            "{path}"
        );
        assert!(r.headers().get("x-undeclared-status").is_none(), "{path}");
        // Answered like any other: with its request id and headers.
        assert!(r.headers().get("x-request-id").is_some(), "{path}");
        assert_eq!(r.headers()["x-content-type-options"], "nosniff", "{path}");
        let r = plain
            .get(app.url(path))
            .bearer_auth("a wrong token")
            .send()
            .await
            .unwrap();
        assert_eq!(r.status().as_u16(), 401, "{path}");
        // A staff member's access token is not the operations token.
        let r = app.http.get(app.url(path)).send().await.unwrap();
        assert_eq!(r.status().as_u16(), 401, "{path}");
        let r = plain
            .get(app.url(path))
            .bearer_auth(token)
            .send()
            .await
            .unwrap();
        assert!(r.status().is_success(), "{path}: {}", r.status());
    }
    let r = plain.get(app.url("/health")).send().await.unwrap();
    assert_eq!(r.status().as_u16(), 200, "liveness stays open");
    let r = plain.get(app.url("/docs/")).send().await.unwrap();
    assert_eq!(r.headers()["x-frame-options"], "DENY");
    let csp = r.headers()["content-security-policy"].to_str().unwrap();
    assert!(
        csp.contains("frame-ancestors 'none'") && csp.contains("connect-src 'self'"),
        "{csp}"
    );
    app.stop().await;
}

/// The value of the sample of `name` with (at least) `labels`, in a Prometheus text exposition.
fn sample(text: &str, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .find(|l| {
            let (series, _) = l.rsplit_once(' ').unwrap_or((l, ""));
            let (metric, rest) = series.split_once('{').unwrap_or((series, ""));
            metric == name
                && labels
                    .iter()
                    .all(|(k, v)| rest.contains(&format!("{k}=\"{v}\"")))
        })
        .and_then(|l| l.rsplit_once(' '))
        .map(|(_, v)| v.parse().expect("a number"))
}

async fn metrics_count_requests_commands_and_projection_lag(store: Store) {
    let app = App::start(store).await;
    let scrape = || async {
        let r = app.http.get(app.url("/metrics")).send().await.unwrap();
        assert_eq!(r.status(), 200);
        r.text().await.unwrap()
    };
    let before = scrape().await;
    let lead_commands = |text: &str, outcome: &str| {
        sample(
            text,
            "crm_commands_total",
            &[("aggregate", "lead"), ("outcome", outcome)],
        )
        .unwrap_or_else(|| panic!("lead {outcome} commands: {text}"))
    };
    let ok_before = lead_commands(&before, "ok");
    let events_before = sample(
        &before,
        "crm_events_appended_total",
        &[("aggregate", "lead")],
    )
    .unwrap_or_else(|| panic!("{before}"));

    // One lead captured, one move the record refuses, one change on a stale version.
    let (id, p) = app.capture(asha()).await;
    app.lead(&id, p).await;
    let (s, _) = app
        .post(
            &format!("/api/leads/{id}/status"),
            serde_json::json!({"status": "converted"}),
        )
        .await;
    assert_eq!(s, 409);
    let (s, _) = app
        .send(
            app.http
                .patch(app.url(&format!("/api/leads/{id}")))
                .header("If-Match", "\"7\"")
                .json(&serde_json::json!({"notes": "stale"})),
        )
        .await;
    assert_eq!(s, 412);
    app.caught_up().await;

    let text = scrape().await;
    assert_eq!(lead_commands(&text, "ok"), ok_before + 1.0, "{text}");
    assert_eq!(lead_commands(&text, "rejected"), 1.0, "{text}");
    assert_eq!(lead_commands(&text, "conflict"), 1.0, "{text}");
    assert_eq!(lead_commands(&text, "failed"), 0.0, "{text}");
    assert_eq!(
        sample(&text, "crm_events_appended_total", &[("aggregate", "lead")]),
        Some(events_before + 1.0),
        "{text}"
    );
    // Requests by route (the path template, not the id) and status, with latency buckets.
    let route = [("method", "POST"), ("route", "/api/leads/{id}/status")];
    assert_eq!(
        sample(
            &text,
            "crm_http_requests_total",
            &[route[0], route[1], ("status", "409")]
        ),
        Some(1.0),
        "{text}"
    );
    assert!(!text.contains(&id), "no record id in a label: {text}");
    assert_eq!(
        sample(
            &text,
            "crm_http_request_duration_seconds_bucket",
            &[route[0], route[1], ("le", "+Inf")]
        ),
        Some(1.0),
        "{text}"
    );
    assert_eq!(
        sample(
            &text,
            "crm_http_request_duration_seconds_count",
            &[route[0], route[1]]
        ),
        Some(1.0),
        "{text}"
    );
    // Read from the store at the scrape: head, projections caught up, the pool.
    let head = app.log_head().await as f64;
    assert_eq!(sample(&text, "crm_log_head_position", &[]), Some(head));
    for name in ["leads", "history", "ledger"] {
        let p = [("projection", name)];
        assert_eq!(
            sample(&text, "crm_projection_position", &p),
            Some(head),
            "{name}: {text}"
        );
        assert_eq!(sample(&text, "crm_projection_lag_events", &p), Some(0.0));
        assert_eq!(sample(&text, "crm_projection_lag_seconds", &p), Some(0.0));
        assert_eq!(sample(&text, "crm_projection_dead_letters", &p), Some(0.0));
    }
    assert_eq!(sample(&text, "crm_store_reachable", &[]), Some(1.0));
    let max = sample(&text, "crm_db_pool_max_connections", &[]).expect("pool size");
    let in_use = sample(&text, "crm_db_pool_connections", &[("state", "in_use")]).unwrap();
    let idle = sample(&text, "crm_db_pool_connections", &[("state", "idle")]).unwrap();
    assert!(max >= 1.0 && in_use + idle <= max, "{text}");
    assert!(text.contains("# TYPE crm_http_request_duration_seconds histogram"));
    assert!(text.contains("# HELP crm_commands_total "));

    // Every metric the documentation, the alert rules and the dashboard name is exposed.
    let docs = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs");
    let mut named = std::collections::BTreeSet::new();
    for file in [
        "metrics.md",
        "prometheus-alerts.yml",
        "grafana-dashboard.json",
    ] {
        let doc = std::fs::read_to_string(docs.join(file)).unwrap();
        for (at, _) in doc.match_indices("crm_") {
            let name: String = doc[at..]
                .chars()
                .take_while(|c| c.is_ascii_lowercase() || *c == '_')
                .collect();
            named.insert(name);
        }
    }
    assert!(named.len() >= 14, "{named:?}");
    for name in &named {
        assert!(
            ["{", " ", "_bucket{"]
                .iter()
                .any(|after| text.contains(&format!("\n{name}{after}"))),
            "{name} is named in docs/ but not exposed:\n{text}"
        );
    }

    // The age behind a checkpoint: that of the first event after it; none at the head.
    let start = store::log::Checkpoint::default();
    let age = store::log::age_after(app.db(), start).await.unwrap();
    assert!(age.is_some_and(|a| (0.0..600.0).contains(&a)), "{age:?}");
    let last = store::log::key_of(app.db(), head as i64)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(store::log::age_after(app.db(), last).await.unwrap(), None);
    app.stop().await;
}
