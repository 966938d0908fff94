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
    metrics_and_readiness_ask_for_the_operations_token_when_one_is_set
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
