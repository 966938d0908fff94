//! Notifications over a real SMTP conversation: a local SMTP server in the test receives what
//! the sender delivers, refusing on demand.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use domain::user::Role;
use serde_json::{json, Value};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

use crate::kyc::verified_client;
use crate::on_both_stores;
use crate::support::{App, Child, Fresh, Store};

on_both_stores!(
    a_kyc_decision_is_mailed_once_retried_and_dead_lettered,
    a_queued_message_to_a_person_who_asked_for_erasure_is_cancelled,
    a_sender_killed_mid_batch_sends_each_message_once_more_at_most,
    templates_are_listed_and_previewed_and_account_moves_mailed,
    kyc_alerts_go_to_the_client_and_their_manager_and_agents_hear_of_their_follow_ups,
    webhooks_are_signed_retried_replayed_and_removed,
    webhooks_reach_public_https_addresses_only,
    a_subscription_from_before_subscriptions_were_recorded_is_recorded_and_sealed,
    kyc_decisions_go_by_sms_through_the_gateway_with_their_dlt_template,
    marketing_goes_to_those_who_consent_and_a_withdrawal_cancels_what_waits,
    promotional_sms_wait_out_the_quiet_hours_and_transactional_ones_do_not,
    a_recorded_trade_is_confirmed_to_the_client
);

/// One message as the SMTP server received it.
#[derive(Debug, Clone)]
struct Mail {
    to: Vec<String>,
    data: String,
}

impl Mail {
    /// The body as written: quoted-printable decoded (soft line breaks joined, `=XX` bytes).
    fn text(&self) -> String {
        let body = self.data.split_once("\n\n").map_or("", |(_, b)| b);
        let joined = body.replace("=\n", "");
        let bytes = joined.as_bytes();
        let mut out = Vec::new();
        let mut i = 0;
        while i < bytes.len() {
            if bytes[i] == b'=' && i + 2 < bytes.len() {
                if let Ok(b) = u8::from_str_radix(&joined[i + 1..i + 3], 16) {
                    out.push(b);
                    i += 3;
                    continue;
                }
            }
            out.push(bytes[i]);
            i += 1;
        }
        String::from_utf8_lossy(&out).into_owned()
    }

    fn header(&self, name: &str) -> Option<String> {
        let prefix = format!("{}:", name.to_ascii_lowercase());
        self.data
            .lines()
            .take_while(|l| !l.is_empty())
            .find(|l| l.to_ascii_lowercase().starts_with(&prefix))
            .map(|l| l[prefix.len()..].trim().to_string())
    }
}

/// A local SMTP server: it accepts every message unless told to refuse (451, a temporary
/// failure) the next `refuse_next` or, while `refuse_all`, every one.
#[derive(Clone, Default)]
struct SmtpServer {
    received: Arc<Mutex<Vec<Mail>>>,
    refuse_next: Arc<AtomicUsize>,
    refuse_all: Arc<AtomicBool>,
    refused: Arc<AtomicUsize>,
    /// From the n-th message taken in (0: never), no answer until this is set back to 0.
    hold_from: Arc<AtomicUsize>,
}

impl SmtpServer {
    async fn start() -> (Self, String) {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("smtp://{}", listener.local_addr().unwrap());
        let server = Self::default();
        let s = server.clone();
        tokio::spawn(async move {
            while let Ok((socket, _)) = listener.accept().await {
                tokio::spawn(s.clone().converse(socket));
            }
        });
        (server, url)
    }

    async fn converse(self, socket: tokio::net::TcpStream) {
        let (read, mut write) = socket.into_split();
        let mut lines = BufReader::new(read).lines();
        let _ = write.write_all(b"220 test SMTP ready\r\n").await;
        let mut to = Vec::new();
        while let Ok(Some(line)) = lines.next_line().await {
            let verb = line
                .split_whitespace()
                .next()
                .unwrap_or("")
                .to_ascii_uppercase();
            let reply: &[u8] = match verb.as_str() {
                "EHLO" | "HELO" => b"250-test\r\n250 8BITMIME\r\n",
                "MAIL" => {
                    to.clear();
                    b"250 OK\r\n"
                }
                "RCPT" => {
                    let address = line
                        .split(['<', '>'])
                        .nth(1)
                        .unwrap_or_default()
                        .to_string();
                    to.push(address);
                    b"250 OK\r\n"
                }
                "DATA" => {
                    let _ = write.write_all(b"354 go on\r\n").await;
                    let mut data = String::new();
                    while let Ok(Some(l)) = lines.next_line().await {
                        if l == "." {
                            break;
                        }
                        data.push_str(l.strip_prefix('.').unwrap_or(&l));
                        data.push('\n');
                    }
                    let refuse = self.refuse_all.load(Ordering::SeqCst)
                        || self
                            .refuse_next
                            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
                            .is_ok();
                    if refuse {
                        self.refused.fetch_add(1, Ordering::SeqCst);
                        b"451 try again later\r\n"
                    } else {
                        let n = {
                            let mut received = self.received.lock().unwrap();
                            received.push(Mail {
                                to: std::mem::take(&mut to),
                                data,
                            });
                            received.len()
                        };
                        loop {
                            let from = self.hold_from.load(Ordering::SeqCst);
                            if from == 0 || n < from {
                                break;
                            }
                            tokio::time::sleep(Duration::from_millis(20)).await;
                        }
                        b"250 queued\r\n"
                    }
                }
                "QUIT" => {
                    let _ = write.write_all(b"221 bye\r\n").await;
                    return;
                }
                _ => b"250 OK\r\n",
            };
            if write.write_all(reply).await.is_err() {
                return;
            }
        }
    }

    fn mails(&self) -> Vec<Mail> {
        self.received.lock().unwrap().clone()
    }

    /// Waits until `n` messages were received (or fails after 20 s).
    async fn wait_for(&self, n: usize) -> Vec<Mail> {
        for _ in 0..200 {
            let mails = self.mails();
            if mails.len() >= n {
                return mails;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("expected {n} messages, got {:?}", self.mails());
    }
}

/// Waits until the outbox lists a message matching `query` whose status is `status`.
async fn outbox_until(app: &App, query: &str, status: &str) -> Value {
    for _ in 0..200 {
        let (s, v) = app.get(&format!("/api/notifications?{query}")).await;
        assert_eq!(s, 200, "{v}");
        if let Some(m) = v["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|m| m["status"] == status)
        {
            return m.clone();
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let (_, v) = app.get(&format!("/api/notifications?{query}")).await;
    panic!("no {status} message for {query}: {v}");
}

async fn a_kyc_decision_is_mailed_once_retried_and_dead_lettered(store: Store) {
    let (smtp, url) = SmtpServer::start().await;
    // The first message is refused once: it goes at the second attempt.
    smtp.refuse_next.store(1, Ordering::SeqCst);
    let app = App::start_with(Fresh::new(store).await, |c| {
        c.serve.smtp_url = Some(url);
        c.serve.broker_name = "Acme Broking".into();
        c.serve.notify_interval_ms = 100;
        c.serve.notify_backoff_ms = 200;
        c.serve.notify_max_attempts = 3;
    })
    .await;
    let rm = app.actor(Role::RelationshipManager, Some("MUM-01")).await;
    let officer = app.actor(Role::ComplianceOfficer, None).await;
    let client = verified_client(&app, &rm, &officer, "BQRPV2345K", "2031-01-01").await;

    let mails = smtp.wait_for(1).await;
    assert_eq!(smtp.refused.load(Ordering::SeqCst), 1);
    let mail = &mails[0];
    assert_eq!(
        mail.to,
        vec!["bqrpv2345k@example.in".to_string()],
        "{mail:?}"
    );
    assert_eq!(
        mail.header("Subject").as_deref(),
        Some("Your KYC is verified")
    );
    assert!(
        mail.data.contains("Dear Ishaan Varadarajan,"),
        "{}",
        mail.data
    );
    assert!(mail.data.contains("Acme Broking"), "{}", mail.data);
    let sent = outbox_until(&app, &format!("recipient={client}"), "sent").await;
    assert_eq!(
        (
            &sent["template"],
            &sent["event_type"],
            &sent["attempts"],
            &sent["channel"]
        ),
        (
            &json!("kyc_verified"),
            &json!("KycVerified"),
            &json!(2),
            &json!("email")
        ),
        "{sent}"
    );
    // The message's id is its Message-ID, the same at every attempt.
    let id = sent["id"].as_str().unwrap().to_string();
    assert_eq!(
        mail.header("Message-ID").as_deref(),
        Some(format!("<{id}@notifications.crm>").as_str())
    );
    // What the outbox shows names the recipient by id only.
    let (_, listed) = app.get("/api/notifications").await;
    let text = listed.to_string();
    assert!(
        !text.contains("example.in") && !text.contains("Ishaan"),
        "{text}"
    );
    // Once: nothing more arrives.
    tokio::time::sleep(Duration::from_millis(800)).await;
    assert_eq!(smtp.mails().len(), 1);

    // A server that refuses every attempt: after the last one, a dead letter.
    smtp.refuse_all.store(true, Ordering::SeqCst);
    let second = verified_client(&app, &rm, &officer, "BQRPW3456L", "2031-01-01").await;
    let dead = outbox_until(&app, &format!("recipient={second}&status=dead"), "dead").await;
    assert_eq!(dead["attempts"], 3, "{dead}");
    assert!(
        dead["last_error"].as_str().unwrap().contains("451"),
        "{dead}"
    );
    assert_eq!(smtp.mails().len(), 1);
    // The admin's dashboard and the metrics show it.
    let (_, d) = app.get("/api/dashboard").await;
    let outbox = &d["health"]["outbox"];
    assert_eq!(
        (&outbox["dead"], &outbox["waiting"]),
        // The two clients' SMS wait: no gateway is configured here.
        (&json!(1), &json!(2)),
        "{d}"
    );
    let metrics = app
        .http
        .get(app.url("/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(metrics.contains("crm_outbox_dead 1\n"), "{metrics}");

    // Retrying: admins only, dead letters only.
    let dead_id = dead["id"].as_str().unwrap().to_string();
    let (s, v) = app
        .post_as(
            &rm,
            &format!("/api/notifications/{dead_id}/retry"),
            json!({}),
        )
        .await;
    assert_eq!(s, 403, "{v}");
    let (s, v) = app.get_as(&officer, "/api/notifications").await;
    assert_eq!(s, 403, "{v}");
    let (s, v) = app
        .post(&format!("/api/notifications/{id}/retry"), json!({}))
        .await;
    assert_eq!(s, 409, "a sent message is not sent again: {v}");
    let (s, v) = app
        .post(
            &format!("/api/notifications/{}/retry", uuid::Uuid::now_v7()),
            json!({}),
        )
        .await;
    assert_eq!(s, 404, "{v}");
    smtp.refuse_all.store(false, Ordering::SeqCst);
    let (s, v) = app
        .post(&format!("/api/notifications/{dead_id}/retry"), json!({}))
        .await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(
        (&v["status"], &v["attempts"]),
        (&json!("queued"), &json!(0))
    );
    assert!(v["retried_at"].is_string(), "{v}");
    let mails = smtp.wait_for(2).await;
    assert_eq!(mails[1].to, vec!["bqrpw3456l@example.in".to_string()]);
    outbox_until(&app, &format!("recipient={second}"), "sent").await;

    // Filters, pages and bad parameters.
    let (_, page) = app.get("/api/notifications?channel=email&limit=1").await;
    assert_eq!(page["items"].as_array().unwrap().len(), 1, "{page}");
    let cursor = page["next_cursor"].as_str().unwrap();
    let (_, next) = app
        .get(&format!(
            "/api/notifications?channel=email&limit=1&cursor={cursor}"
        ))
        .await;
    assert_eq!(next["items"].as_array().unwrap().len(), 1, "{next}");
    assert_ne!(next["items"][0]["id"], page["items"][0]["id"]);
    assert!(next["next_cursor"].is_null(), "{next}");
    let (_, none) = app.get("/api/notifications?event=KycRejected").await;
    assert_eq!(none["items"], json!([]), "{none}");
    for (query, field) in [
        ("status=lost", "status"),
        ("channel=pigeon", "channel"),
        ("limit=0", "limit"),
        ("cursor=not-a-cursor", "cursor"),
        ("event=Kyc%20Verified", "event"),
    ] {
        let (s, v) = app.get(&format!("/api/notifications?{query}")).await;
        assert_eq!(s, 422, "{query}: {v}");
        assert_eq!(v["errors"][0]["field"], field, "{query}: {v}");
    }
    let (s, _) = app.get("/api/notifications?recipient=someone").await;
    assert_eq!(s, 400);
    app.stop().await;
}

async fn a_queued_message_to_a_person_who_asked_for_erasure_is_cancelled(store: Store) {
    // No SMTP server at first: the message is decided and waits.
    let fresh = Fresh::new(store).await;
    let app = App::start_with(fresh, |c| {
        c.store.retention_client_records = domain::values::RetentionPeriod::Days(0);
    })
    .await;
    let rm = app.actor(Role::RelationshipManager, Some("MUM-01")).await;
    let officer = app.actor(Role::ComplianceOfficer, None).await;
    let client = verified_client(&app, &rm, &officer, "CQRPX4567M", "2031-01-01").await;
    let head = app.log_head().await;
    let (s, v) = app
        .get(&format!(
            "/api/notifications?recipient={client}&min_position={head}"
        ))
        .await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["items"][0]["status"], "queued", "{v}");

    let (s, v) = app
        .post_as(
            &officer,
            &format!("/api/clients/{client}/close"),
            json!({"reason": "closed on request"}),
        )
        .await;
    assert_eq!(s, 200, "{v}");
    let (s, v) = app
        .post_as(
            &officer,
            &format!("/api/privacy/subjects/{client}/erasure"),
            json!({"reason": "forget me"}),
        )
        .await;
    assert_eq!(s, 200, "{v}");
    app.caught_up().await;

    // With a server to send through, the message is cancelled, never sent.
    let (smtp, url) = SmtpServer::start().await;
    let app = app
        .restart_with(|c| {
            c.store.retention_client_records = domain::values::RetentionPeriod::Days(0);
            c.serve.smtp_url = Some(url);
            c.serve.notify_interval_ms = 100;
        })
        .await;
    let cancelled = outbox_until(&app, &format!("recipient={client}"), "cancelled").await;
    assert!(
        cancelled["last_error"]
            .as_str()
            .unwrap()
            .contains("erasure"),
        "{cancelled}"
    );
    let (s, v) = app
        .post(
            &format!(
                "/api/notifications/{}/retry",
                cancelled["id"].as_str().unwrap()
            ),
            json!({}),
        )
        .await;
    assert_eq!(s, 409, "a cancelled message is never sent: {v}");
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(smtp.mails().is_empty(), "{:?}", smtp.mails());

    // Messages done with are purged once older than the days kept (90): one decided 100
    // days ago goes at the next start, one of 10 days stays.
    let (_, v) = app
        .get(&format!("/api/notifications?recipient={client}"))
        .await;
    let ids: Vec<String> = v["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["id"].as_str().unwrap().to_string())
        .collect();
    assert!(ids.len() >= 2, "{v}");
    for (id, days) in [(&ids[0], 100), (&ids[1], 10)] {
        store::with_db!(app.db(), pool => {
            sqlx::query("UPDATE notification_outbox SET created_at = $1 WHERE id = $2")
                .bind(chrono::Utc::now() - chrono::Duration::days(days))
                .bind(id)
                .execute(pool)
                .await
                .unwrap();
        });
    }
    let app = app.restart_with(|_| {}).await;
    let mut left = Vec::new();
    for _ in 0..50 {
        let (_, v) = app
            .get(&format!("/api/notifications?recipient={client}"))
            .await;
        left = v["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["id"].as_str().unwrap().to_string())
            .collect();
        if left.len() < ids.len() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(left, ids[1..].to_vec());
    app.stop().await;
}

async fn a_sender_killed_mid_batch_sends_each_message_once_more_at_most(store: Store) {
    // Six messages decided while no server is configured here (their 42 uploads by one RM
    // within the minute allowed).
    let app = App::start_with(Fresh::new(store).await, |c| {
        c.serve.work_rate_per_minute = 1000;
    })
    .await;
    let rm = app.actor(Role::RelationshipManager, Some("MUM-01")).await;
    let officer = app.actor(Role::ComplianceOfficer, None).await;
    let mut clients = Vec::new();
    for pan in [
        "DQRPA1111A",
        "DQRPB2222B",
        "DQRPC3333C",
        "DQRPD4444D",
        "DQRPE5555E",
        "DQRPF6666F",
    ] {
        clients.push(verified_client(&app, &rm, &officer, pan, "2031-01-01").await);
    }
    let head = app.log_head().await;
    let (_, v) = app
        .get(&format!(
            "/api/notifications?status=queued&channel=email&min_position={head}"
        ))
        .await;
    assert_eq!(v["items"].as_array().unwrap().len(), 6, "{v}");

    // Another process sends them, and is killed mid-batch: the server has taken the fourth
    // message in and not yet said so.
    let (smtp, url) = SmtpServer::start().await;
    smtp.hold_from.store(4, Ordering::SeqCst);
    let mut child = Child::start_with_env(
        &app,
        "warn",
        None,
        &[
            ("CRM_SMTP_URL", url.as_str()),
            ("CRM_NOTIFY_INTERVAL_MS", "100"),
            ("CRM_NOTIFY_LEASE_SECS", "1"),
        ],
    )
    .await;
    smtp.wait_for(4).await;
    child.process.start_kill().expect("kill -9");
    child.process.wait().await.expect("reaped");
    let before = smtp.mails();
    assert_eq!(before.len(), 4, "killed mid-batch: {before:?}");
    let in_flight = before[3].header("Message-ID").expect("a Message-ID");

    // This process takes over once the dead sender's claim has run out.
    smtp.hold_from.store(0, Ordering::SeqCst);
    let app = app
        .restart_with(|c| {
            c.serve.smtp_url = Some(url);
            c.serve.notify_interval_ms = 100;
            c.serve.notify_lease_secs = 1;
        })
        .await;
    for client in &clients {
        outbox_until(&app, &format!("recipient={client}"), "sent").await;
    }
    let mails = smtp.mails();
    let mut ids: Vec<String> = mails
        .iter()
        .map(|m| m.header("Message-ID").expect("a Message-ID"))
        .collect();
    ids.sort();
    let total = ids.len();
    ids.dedup();
    // One message per event; the one in flight at the kill once more, under the same
    // Message-ID (so that the receiving side can tell it is the same message).
    assert_eq!(ids.len(), 6, "{mails:?}");
    assert_eq!(total, 7, "{mails:?}");
    let again: Vec<&Mail> = mails[4..]
        .iter()
        .filter(|m| m.header("Message-ID").as_deref() == Some(in_flight.as_str()))
        .collect();
    assert_eq!(again.len(), 1, "{mails:?}");
    let (_, v) = app
        .get("/api/notifications?status=sent&channel=email")
        .await;
    assert_eq!(v["items"].as_array().unwrap().len(), 6, "{v}");
    app.stop().await;
}

async fn templates_are_listed_and_previewed_and_account_moves_mailed(store: Store) {
    let (smtp, url) = SmtpServer::start().await;
    let app = App::start_with(Fresh::new(store).await, |c| {
        c.serve.smtp_url = Some(url);
        c.serve.notify_interval_ms = 100;
    })
    .await;
    let rm = app.actor(Role::RelationshipManager, Some("MUM-01")).await;

    let (s, v) = app.get("/api/notifications/templates").await;
    assert_eq!(s, 200, "{v}");
    let names: Vec<&str> = v["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    for name in [
        "kyc_verified",
        "kyc_rejected",
        "account_suspended",
        "account_closed",
    ] {
        assert!(names.contains(&name), "{name}: {v}");
    }
    assert!(v["items"][0]["body"]
        .as_str()
        .unwrap()
        .starts_with("Dear {{ name }},"));
    let (s, _) = app.get_as(&rm, "/api/notifications/templates").await;
    assert_eq!(s, 403);

    let preview = "/api/notifications/templates/kyc_revision_requested/preview";
    let (s, v) = app
        .post(
            preview,
            json!({"name": "Ravi Menon", "data": {"documents": 1}}),
        )
        .await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["subject"], "Your KYC needs 1 document again", "{v}");
    assert!(
        v["body"]
            .as_str()
            .unwrap()
            .starts_with("Dear Ravi Menon,\n"),
        "{v}"
    );
    let (s, v) = app.post(preview, json!({})).await;
    assert_eq!(s, 200, "the example's values: {v}");
    assert_eq!(v["subject"], "Your KYC needs 2 documents again", "{v}");
    for (body, status, field) in [
        (json!({"data": {"pages": 3}}), 422, "data"),
        (json!({"data": "three"}), 422, "data"),
        (json!({"name": " "}), 422, "name"),
    ] {
        let (s, v) = app.post(preview, body.clone()).await;
        assert_eq!(
            (s, v["errors"][0]["field"].as_str()),
            (status, Some(field)),
            "{body}: {v}"
        );
    }
    let (s, _) = app.post(preview, json!({"colour": "red"})).await;
    assert_eq!(s, 400);
    let (s, v) = app
        .post("/api/notifications/templates/birthday/preview", json!({}))
        .await;
    assert_eq!(s, 404, "{v}");
    let (s, _) = app.post_as(&rm, preview, json!({})).await;
    assert_eq!(s, 403);

    // A suspension is mailed to the client, without its reason.
    let (s, v) = app
        .post(
            "/api/clients",
            json!({
                "name": "Farah Siddiqui",
                "email": "farah.siddiqui@example.in",
                "phone": "+91 98200 44556",
                "pan": "EQRPS7788N",
                "date_of_birth": "1988-06-02",
                "address": "4 Marine Lines, Mumbai 400020",
                "branch": "MUM-01",
                "relationship_manager": rm.id,
            }),
        )
        .await;
    assert_eq!(s, 201, "{v}");
    let client = v["id"].as_str().unwrap().to_string();
    let (s, v) = app
        .post(
            &format!("/api/clients/{client}/status"),
            json!({"status": "suspended", "reason": "exchange inquiry 2026/77"}),
        )
        .await;
    assert_eq!(s, 200, "{v}");
    let mails = smtp.wait_for(1).await;
    assert_eq!(mails[0].to, vec!["farah.siddiqui@example.in".to_string()]);
    assert_eq!(
        mails[0].header("Subject").as_deref(),
        Some("Your account is suspended")
    );
    assert!(
        mails[0].data.contains("Dear Farah Siddiqui,"),
        "{}",
        mails[0].data
    );
    assert!(!mails[0].data.contains("inquiry"), "{}", mails[0].data);
    let sent = outbox_until(&app, &format!("recipient={client}"), "sent").await;
    assert_eq!(sent["template"], "account_suspended", "{sent}");
    app.stop().await;
}

async fn kyc_alerts_go_to_the_client_and_their_manager_and_agents_hear_of_their_follow_ups(
    store: Store,
) {
    let (smtp, url) = SmtpServer::start().await;
    let with_smtp = |c: &mut api::config::Config, url: &str| {
        c.serve.smtp_url = Some(url.to_string());
        c.serve.notify_interval_ms = 100;
    };
    let app = App::start_with(Fresh::new(store).await, |c| with_smtp(c, &url)).await;
    let rm = app.actor(Role::RelationshipManager, Some("MUM-01")).await;
    let officer = app.actor(Role::ComplianceOfficer, None).await;
    let today = domain::kyc::india_today(chrono::Utc::now());
    let expires = today + chrono::Duration::days(20);
    verified_client(&app, &rm, &officer, "FQRPK5566P", &expires.to_string()).await;
    // The verification's own message first.
    smtp.wait_for(1).await;

    // The alert run raises the expiring passport: the client and their manager hear of it.
    crate::support::crm(&app, &["kyc", "alerts"], &[]).await;
    let mails = smtp.wait_for(3).await;
    let to_client = mails
        .iter()
        .find(|m| m.to == vec!["fqrpk5566p@example.in".to_string()] && m.data.contains("expires"))
        .expect("the client's alert");
    assert_eq!(
        to_client.header("Subject"),
        Some(format!("A KYC document of yours expires on {expires}"))
    );
    let to_rm = mails
        .iter()
        .find(|m| m.to == vec![rm.email.clone()])
        .expect("the manager's alert");
    assert_eq!(
        to_rm.header("Subject"),
        Some(format!(
            "KYC of Ishaan Varadarajan: a document expires on {expires}"
        ))
    );
    // Once per alert: the run again raises nothing new, sends nothing new.
    crate::support::crm(&app, &["kyc", "alerts"], &[]).await;
    tokio::time::sleep(Duration::from_millis(800)).await;
    assert_eq!(smtp.mails().len(), 3, "{:?}", smtp.mails());

    // A follow-up due shortly: the agent's reminder at the configured time of day.
    let (s, v) = app
        .post_as(
            &rm,
            "/api/leads",
            json!({"name": "Gopal Krishnan", "phone": "+91 98450 12121", "source": "referral"}),
        )
        .await;
    assert_eq!(s, 201, "{v}");
    let lead = v["id"].as_str().unwrap().to_string();
    let due = chrono::Utc::now() + chrono::Duration::minutes(2);
    let (s, v) = app
        .post_as(
            &rm,
            &format!("/api/leads/{lead}/follow-ups"),
            json!({"due_at": due.to_rfc3339(), "channel": "call", "note": "portfolio review"}),
        )
        .await;
    assert_eq!(s, 201, "{v}");
    app.caught_up().await;
    let remind = |c: &mut api::config::Config| {
        with_smtp(c, &url);
        c.serve.reminder_time = "00:00".into();
    };
    let app = app.restart_with(remind).await;
    let reminders = |mails: &[Mail]| {
        mails
            .iter()
            .filter(|m| m.to == vec![rm.email.clone()])
            .filter(|m| {
                m.header("Subject")
                    .unwrap_or_default()
                    .starts_with("Follow-ups")
            })
            .count()
    };
    if domain::kyc::india_today(due) == today {
        let mails = smtp.wait_for(4).await;
        let reminder = mails
            .iter()
            .find(|m| m.to == vec![rm.email.clone()] && m.data.contains("follow-up"))
            .expect("the agent's reminder");
        assert_eq!(
            reminder.header("Subject"),
            Some(format!("Follow-ups for {today}: 1 due, 0 overdue"))
        );
        assert!(
            !reminder.data.contains("Gopal"),
            "no lead's name: {}",
            reminder.data
        );
    }
    // Once per agent and day, whatever starts the run again.
    let app = app.restart_with(remind).await;
    tokio::time::sleep(Duration::from_millis(800)).await;
    let expected = usize::from(domain::kyc::india_today(due) == today);
    assert_eq!(reminders(&smtp.mails()), expected, "{:?}", smtp.mails());
    app.stop().await;
}

/// One request as the webhook receiver got it.
#[derive(Debug, Clone)]
struct Delivery {
    uri: String,
    headers: Vec<(String, String)>,
    body: String,
}

impl Delivery {
    fn header(&self, name: &str) -> &str {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
            .unwrap_or_default()
    }

    fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap()
    }
}

/// A local HTTP receiver: 200 to each delivery, unless told to fail (500) the next few.
#[derive(Clone, Default)]
struct Receiver {
    got: Arc<Mutex<Vec<Delivery>>>,
    fail_next: Arc<AtomicUsize>,
}

impl Receiver {
    async fn start() -> (Self, String) {
        use poem::listener::{Acceptor, Listener};
        let acceptor = poem::listener::TcpListener::bind("127.0.0.1:0")
            .into_acceptor()
            .await
            .unwrap();
        let addr = acceptor.local_addr()[0].as_socket_addr().cloned().unwrap();
        let receiver = Self::default();
        let r = receiver.clone();
        let endpoint = poem::endpoint::make(move |req: poem::Request| {
            let r = r.clone();
            async move {
                let uri = req.uri().to_string();
                let headers = req
                    .headers()
                    .iter()
                    .map(|(n, v)| (n.as_str().to_string(), v.to_str().unwrap_or("").to_string()))
                    .collect();
                let body = req.into_body().into_string().await.unwrap_or_default();
                r.got.lock().unwrap().push(Delivery { uri, headers, body });
                let fail = r
                    .fail_next
                    .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
                    .is_ok();
                if fail {
                    poem::http::StatusCode::INTERNAL_SERVER_ERROR
                } else {
                    poem::http::StatusCode::OK
                }
            }
        });
        tokio::spawn(poem::Server::new_with_acceptor(acceptor).run(endpoint));
        (receiver, format!("http://{addr}/hook"))
    }

    fn got(&self) -> Vec<Delivery> {
        self.got.lock().unwrap().clone()
    }

    /// Waits until `n` requests came (or fails after 20 s).
    async fn wait_for(&self, n: usize) -> Vec<Delivery> {
        for _ in 0..200 {
            if self.got().len() >= n {
                return self.got();
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("expected {n} deliveries, got {:?}", self.got());
    }
}

fn onboarding(name: &str, pan: &str, rm: &str) -> Value {
    json!({
        "name": name,
        "email": format!("{}@example.in", pan.to_lowercase()),
        "phone": "+91 98200 77889",
        "pan": pan,
        "date_of_birth": "1979-03-14",
        "address": "12 Residency Road, Bengaluru 560025",
        "branch": "MUM-01",
        "relationship_manager": rm,
    })
}

async fn webhooks_are_signed_retried_replayed_and_removed(store: Store) {
    let (receiver, url) = Receiver::start().await;
    // The receiver is on this machine: private addresses allowed here.
    let app = App::start_with(Fresh::new(store).await, |c| {
        c.serve.notify_interval_ms = 100;
        c.serve.notify_backoff_ms = 200;
        c.serve.webhook_allow_private = true;
    })
    .await;
    let rm = app.actor(Role::RelationshipManager, Some("MUM-01")).await;

    // Refusals, and nothing made by them.
    for (body, field) in [
        (
            json!({"url": "ftp://hooks.example/x", "event_types": ["ClientOnboarded"]}),
            "url",
        ),
        (
            json!({"url": "hooks.example/x", "event_types": ["ClientOnboarded"]}),
            "url",
        ),
        (
            json!({"url": "https://user:pw@hooks.example/x", "event_types": ["ClientOnboarded"]}),
            "url",
        ),
        (
            json!({"url": "https://hooks.example/x", "event_types": []}),
            "event_types",
        ),
        (
            json!({"url": "https://hooks.example/x", "event_types": ["Client Onboarded"]}),
            "event_types",
        ),
    ] {
        let (s, v) = app.post("/api/webhooks", body.clone()).await;
        assert_eq!(
            (s, v["errors"][0]["field"].as_str()),
            (422, Some(field)),
            "{body}: {v}"
        );
    }
    let (s, _) = app
        .post(
            "/api/webhooks",
            json!({"url": "https://hooks.example/x", "event_types": ["*"], "colour": 1}),
        )
        .await;
    assert_eq!(s, 400);
    let (s, _) = app
        .post_as(
            &rm,
            "/api/webhooks",
            json!({"url": url, "event_types": ["*"]}),
        )
        .await;
    assert_eq!(s, 403);
    let (_, v) = app.get("/api/webhooks").await;
    assert_eq!(v["items"], json!([]), "{v}");

    let (s, made) = app
        .post(
            "/api/webhooks",
            json!({"url": url, "event_types": ["ClientOnboarded"], "description": "back office"}),
        )
        .await;
    assert_eq!(s, 201, "{made}");
    let id = made["id"].as_str().unwrap().to_string();
    let secret = made["secret"].as_str().unwrap().to_string();
    assert!(secret.len() > 40, "{made}");
    let (_, v) = app.get("/api/webhooks").await;
    assert!(v["items"][0]["secret"].is_null(), "shown once: {v}");
    // Kept sealed with the master key: the table never holds the secret itself.
    let kept: String = store::with_db!(app.db(), pool => {
        sqlx::query_scalar("SELECT secret FROM webhook_subscriptions WHERE id = $1")
            .bind(&id)
            .fetch_one(pool)
            .await
            .unwrap()
    });
    assert!(
        !kept.contains(&secret) && !kept.contains(&secret["whsec_".len()..]),
        "{kept}"
    );

    // An onboarding, refused once by the receiver, then delivered signed.
    receiver.fail_next.store(1, Ordering::SeqCst);
    let (s, v) = app
        .post(
            "/api/clients",
            onboarding("Kavya Hegde", "GQRPH6677Q", &rm.id),
        )
        .await;
    assert_eq!(s, 201, "{v}");
    let client = v["id"].as_str().unwrap().to_string();
    let position = v["position"].as_i64().unwrap();
    let got = receiver.wait_for(2).await;
    let d = &got[1];
    let body = d.json();
    assert_eq!(
        (
            &body["id"],
            &body["type"],
            &body["aggregate_type"],
            &body["aggregate_id"]
        ),
        (
            &json!(position),
            &json!("ClientOnboarded"),
            &json!("client"),
            &json!(client)
        ),
        "{body}"
    );
    assert_eq!(d.header("x-crm-event-id"), position.to_string());
    assert_eq!(d.header("x-crm-delivery"), got[0].header("x-crm-delivery"));
    // The receiver's check: the HMAC-SHA256 of "<timestamp>.<body>" with the secret.
    use hmac::Mac;
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(format!("{}.{}", d.header("x-crm-timestamp"), d.body).as_bytes());
    let expected = format!("sha256={}", hex::encode(mac.finalize().into_bytes()));
    assert_eq!(d.header("x-crm-signature"), expected);
    let mut forged = hmac::Hmac::<sha2::Sha256>::new_from_slice(b"another secret").unwrap();
    forged.update(format!("{}.{}", d.header("x-crm-timestamp"), d.body).as_bytes());
    assert_ne!(
        d.header("x-crm-signature"),
        format!("sha256={}", hex::encode(forged.finalize().into_bytes()))
    );
    // It names the event; its personal fields are withheld.
    assert!(
        !d.body.contains("Kavya") && !d.body.contains("example.in"),
        "{}",
        d.body
    );
    let sent = outbox_until(&app, &format!("recipient={id}&channel=webhook"), "sent").await;
    assert_eq!(sent["attempts"], 2, "{sent}");
    // Events it does not take are not delivered (the count of deliveries below has none).
    let (s, _) = app
        .post(
            &format!("/api/clients/{client}/status"),
            json!({"status": "suspended", "reason": "exchange inquiry"}),
        )
        .await;
    assert_eq!(s, 200);

    // A replay from a position delivers again, under a new delivery id.
    let (s, v) = app
        .post(
            &format!("/api/webhooks/{id}/replay"),
            json!({"from_position": position - 1}),
        )
        .await;
    assert_eq!((s, &v["queued"]), (202, &json!(1)), "{v}");
    let got = receiver.wait_for(3).await;
    assert_eq!(got[2].json()["id"], json!(position));
    assert_ne!(
        got[2].header("x-crm-delivery"),
        got[1].header("x-crm-delivery")
    );
    let (s, v) = app
        .post(
            &format!("/api/webhooks/{id}/replay"),
            json!({"from_position": position}),
        )
        .await;
    assert_eq!((s, &v["queued"]), (202, &json!(0)), "nothing after it: {v}");
    // Up to a position, and a limit: where to go on from comes back.
    let (s, v) = app
        .post(
            &format!("/api/webhooks/{id}/replay"),
            json!({"from_position": 0, "to_position": position - 1}),
        )
        .await;
    assert_eq!(
        (s, &v["queued"], &v["to_position"]),
        (202, &json!(0), &json!(position - 1)),
        "{v}"
    );
    // A subscription allowed personal data gets the event's fields opened; the other one
    // gets them withheld.
    let (s, personal) = app
        .post(
            "/api/webhooks",
            json!({"url": format!("{url}/back-office"), "event_types": ["ClientOnboarded"],
                   "personal_data": true}),
        )
        .await;
    assert_eq!(
        (s, &personal["personal_data"]),
        (201, &json!(true)),
        "{personal}"
    );
    let (s, v) = app
        .post(
            "/api/clients",
            onboarding("Aditi Kamath", "GQRPK2233K", &rm.id),
        )
        .await;
    assert_eq!(s, 201, "{v}");
    let second = v["position"].as_i64().unwrap();
    let got = receiver.wait_for(5).await;
    let (opened, withheld): (Vec<&Delivery>, Vec<&Delivery>) = got[3..]
        .iter()
        .partition(|d| d.uri.ends_with("/back-office"));
    assert_eq!((opened.len(), withheld.len()), (1, 1), "{got:?}");
    for d in [opened[0], withheld[0]] {
        assert_eq!(d.json()["id"], json!(second));
    }
    assert!(
        opened[0].body.contains("Aditi Kamath") && opened[0].body.contains("GQRPK2233K"),
        "{}",
        opened[0].body
    );
    assert!(
        !withheld[0].body.contains("Aditi") && withheld[0].body.contains("[withheld]"),
        "{}",
        withheld[0].body
    );
    let (s, _) = app
        .send(app.http.delete(app.url(&format!(
            "/api/webhooks/{}",
            personal["id"].as_str().unwrap()
        ))))
        .await;
    assert_eq!(s, 200);
    let (s, v) = app
        .post(
            &format!("/api/webhooks/{id}/replay"),
            json!({"from_position": 0, "limit": 1}),
        )
        .await;
    assert_eq!(
        (s, &v["queued"], &v["next_from_position"]),
        (202, &json!(1), &json!(position)),
        "{v}"
    );
    let got = receiver.wait_for(6).await;
    assert_eq!(got[5].json()["id"], json!(position));
    for (body, field) in [
        (json!({"from_position": -1}), "from_position"),
        (json!({"from_position": 5, "to_position": 4}), "to_position"),
        (json!({"from_position": 0, "limit": 0}), "limit"),
        (json!({"from_position": 0, "limit": 10001}), "limit"),
    ] {
        let (s, v) = app
            .post(&format!("/api/webhooks/{id}/replay"), body.clone())
            .await;
        assert_eq!(
            (s, v["errors"][0]["field"].as_str()),
            (422, Some(field)),
            "{body}: {v}"
        );
    }

    // Removed: nothing more is delivered, and it cannot be replayed.
    let (s, v) = app
        .send(app.http.delete(app.url(&format!("/api/webhooks/{id}"))))
        .await;
    assert_eq!((s, &v["active"]), (200, &json!(false)), "{v}");
    let (s, _) = app
        .post(
            "/api/clients",
            onboarding("Rohan Shetty", "GQRPJ8899R", &rm.id),
        )
        .await;
    assert_eq!(s, 201);
    app.caught_up().await;
    tokio::time::sleep(Duration::from_millis(800)).await;
    assert_eq!(receiver.got().len(), 6, "{:?}", receiver.got());
    // Each change is a recorded event: who made it, replayed what and removed it; the
    // secret is nowhere in the log.
    let (s, h) = app
        .get(&format!(
            "/api/history?aggregate_id={id}&min_position={}",
            app.log_head().await
        ))
        .await;
    assert_eq!(s, 200, "{h}");
    let admin = json!(app.admin.id);
    let done: Vec<(&Value, &Value)> = h["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (&e["event_type"], &e["actor_id"]))
        .collect();
    let by_admin = |t: &str| (json!(t), admin.clone());
    let expected = [
        by_admin("WebhookSubscribed"),
        by_admin("WebhookReplayed"),
        by_admin("WebhookReplayed"),
        by_admin("WebhookReplayed"),
        by_admin("WebhookReplayed"),
        by_admin("WebhookRemoved"),
    ];
    assert_eq!(
        done,
        expected.iter().map(|(t, a)| (t, a)).collect::<Vec<_>>(),
        "{h}"
    );
    let (s, export) = app
        .send(app.http.get(app.url(&format!(
            "/api/audit/export?aggregate_type=webhook_subscription&aggregate_id={id}"
        ))))
        .await;
    assert_eq!(s, 200);
    let text = export.to_string();
    assert!(
        text.contains("WebhookReplayed") && text.contains(&url),
        "{text}"
    );
    assert!(!text.contains(&secret["whsec_".len()..]), "{text}");
    let (s, _) = app
        .post(
            &format!("/api/webhooks/{id}/replay"),
            json!({"from_position": 0}),
        )
        .await;
    assert_eq!(s, 409);
    let (s, _) = app
        .post(
            &format!("/api/webhooks/{}/replay", uuid::Uuid::now_v7()),
            json!({"from_position": 0}),
        )
        .await;
    assert_eq!(s, 404);
    app.stop().await;
}

async fn kyc_decisions_go_by_sms_through_the_gateway_with_their_dlt_template(store: Store) {
    // A fake gateway: the test's HTTP receiver, refusing the first message once.
    let (gateway, url) = Receiver::start().await;
    gateway.fail_next.store(1, Ordering::SeqCst);
    let template =
        format!("{url}?to={{to}}&sender={{sender}}&dlt={{template_id}}&ref={{id}}&text={{text}}");
    let app = App::start_with(Fresh::new(store).await, |c| {
        c.serve.sms_url = Some(template);
        c.serve.sms_auth_header = Some("Authorization: Bearer gateway-token".into());
        c.serve.sms_sender = "ACMEBR".into();
        c.serve.broker_name = "Acme Broking".into();
        c.serve.notify_interval_ms = 100;
        c.serve.notify_backoff_ms = 200;
    })
    .await;
    let rm = app.actor(Role::RelationshipManager, Some("MUM-01")).await;
    let officer = app.actor(Role::ComplianceOfficer, None).await;
    let client = verified_client(&app, &rm, &officer, "HQRPM1212S", "2031-01-01").await;
    let got = gateway.wait_for(2).await;
    let sms = &got[1];
    let query: std::collections::HashMap<String, String> =
        reqwest::Url::parse(&format!("http://gateway{}", sms.uri))
            .unwrap()
            .query_pairs()
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect();
    assert_eq!(query["to"], "919845066778", "{query:?}");
    assert_eq!(query["sender"], "ACMEBR");
    assert_eq!(query["dlt"], "1107170000000000001");
    assert!(
        query["text"]
            .starts_with("Dear Ishaan Varadarajan, your KYC with Acme Broking is verified"),
        "{query:?}"
    );
    assert_eq!(sms.header("authorization"), "Bearer gateway-token");
    // The same reference at both attempts: the message's id.
    assert_eq!(query["ref"], sms.header("x-crm-message-id"));
    assert_eq!(
        got[0].header("x-crm-message-id"),
        sms.header("x-crm-message-id")
    );
    let sent = outbox_until(&app, &format!("recipient={client}&channel=sms"), "sent").await;
    assert_eq!(
        (&sent["template"], &sent["attempts"], &sent["id"]),
        (&json!("kyc_verified_sms"), &json!(2), &json!(query["ref"])),
        "{sent}"
    );
    // No SMTP server here: the e-mail of the same decision waits.
    let (_, v) = app
        .get(&format!(
            "/api/notifications?recipient={client}&channel=email"
        ))
        .await;
    assert_eq!(v["items"][0]["status"], "queued", "{v}");
    app.stop().await;
}

async fn a_subscription_from_before_subscriptions_were_recorded_is_recorded_and_sealed(
    store: Store,
) {
    let app = App::start(store).await;
    // A row as an older version wrote it: active, its secret plain, no event.
    let id = uuid::Uuid::now_v7().to_string();
    store::with_db!(app.db(), pool => {
        sqlx::query(
            "INSERT INTO webhook_subscriptions (id, url, event_types, secret, description,
               active, created_at, created_by) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(&id)
        .bind("https://hooks.broker.example/crm?token=abc")
        .bind("ClientOnboarded")
        .bind("whsec_plain_from_before")
        .bind("back office")
        .bind(true)
        .bind(chrono::Utc::now())
        .bind(app.admin.id.clone())
        .execute(pool)
        .await
        .unwrap();
    });
    // At the next start it is recorded (by the system) and its secret sealed; then it is
    // removed like any other.
    let app = app.restart_with(|_| {}).await;
    let kept: String = store::with_db!(app.db(), pool => {
        sqlx::query_scalar("SELECT secret FROM webhook_subscriptions WHERE id = $1")
            .bind(&id)
            .fetch_one(pool)
            .await
            .unwrap()
    });
    assert!(!kept.contains("plain_from_before"), "{kept}");
    let (s, v) = app
        .send(app.http.delete(app.url(&format!("/api/webhooks/{id}"))))
        .await;
    assert_eq!((s, &v["active"]), (200, &json!(false)), "{v}");
    let (_, h) = app
        .get(&format!(
            "/api/history?aggregate_id={id}&min_position={}",
            app.log_head().await
        ))
        .await;
    let types: Vec<&Value> = h["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| &e["event_type"])
        .collect();
    assert_eq!(
        types,
        [&json!("WebhookSubscribed"), &json!("WebhookRemoved")],
        "{h}"
    );
    // The log holds the URL without its query (a token there stays in the row).
    let (_, export) = app
        .send(app.http.get(app.url(&format!(
            "/api/audit/export?aggregate_type=webhook_subscription&aggregate_id={id}"
        ))))
        .await;
    let text = export.to_string();
    assert!(
        text.contains("hooks.broker.example/crm") && !text.contains("token=abc"),
        "{text}"
    );
    app.stop().await;
}

async fn webhooks_reach_public_https_addresses_only(store: Store) {
    let app = App::start(store).await;
    for url in [
        "https://127.0.0.1/hook",
        "https://10.0.0.5/hook",
        "https://169.254.169.254/latest/meta-data",
        "https://[::1]/hook",
        "https://[fd00::5]/hook",
        "http://203.0.114.10/hook",
    ] {
        let (s, v) = app
            .post("/api/webhooks", json!({"url": url, "event_types": ["*"]}))
            .await;
        assert_eq!(
            (s, v["errors"][0]["field"].as_str()),
            (422, Some("url")),
            "{url}: {v}"
        );
    }
    let (_, v) = app.get("/api/webhooks").await;
    assert_eq!(v["items"], json!([]), "{v}");
    app.stop().await;
}

async fn marketing_goes_to_those_who_consent_and_a_withdrawal_cancels_what_waits(store: Store) {
    // No SMTP server at first: the campaign waits in the outbox.
    let app = App::start(store).await;
    let rm = app.actor(Role::RelationshipManager, Some("MUM-01")).await;
    let mut clients = Vec::new();
    for (name, pan) in [("Meher Bhatt", "JQRPB3434T"), ("Tarun Gill", "JQRPG5656U")] {
        let (s, v) = app
            .post("/api/clients", onboarding(name, pan, &rm.id))
            .await;
        assert_eq!(s, 201, "{v}");
        let id = v["id"].as_str().unwrap().to_string();
        let (s, v) = app
            .post(
                &format!("/api/privacy/subjects/{id}/consent"),
                json!({"channel": "email", "granted": true}),
            )
            .await;
        assert_eq!(s, 200, "{v}");
        clients.push(id);
    }
    app.caught_up().await;

    // Refusals: nothing queued by them.
    let send = "/api/marketing/messages";
    for (body, field) in [
        (json!({"channel": "fax", "message": "Hello"}), "channel"),
        (json!({"channel": "email", "message": "Hello"}), "headline"),
        (
            json!({"channel": "email", "headline": "Hi", "message": " "}),
            "message",
        ),
        (
            json!({"channel": "email", "headline": "Hi", "message": "Hi {{ name }}"}),
            "message",
        ),
        (
            json!({"channel": "sms", "message": "Hello"}),
            "dlt_template_id",
        ),
    ] {
        let (s, v) = app.post(send, body.clone()).await;
        assert_eq!(
            (s, v["errors"][0]["field"].as_str()),
            (422, Some(field)),
            "{body}: {v}"
        );
    }
    let (s, _) = app
        .post_as(
            &rm,
            send,
            json!({"channel": "email", "headline": "Hi", "message": "Hi"}),
        )
        .await;
    assert_eq!(s, 403);
    let (_, v) = app.get("/api/notifications?event=CampaignSent").await;
    assert_eq!(v["items"], json!([]), "{v}");

    let (s, v) = app
        .post(
            send,
            json!({"channel": "email", "headline": "Index fund SIPs from Rs 500",
                   "message": "Start a monthly SIP in our NIFTY 50 index fund from Rs 500."}),
        )
        .await;
    assert_eq!((s, &v["queued"]), (202, &json!(2)), "{v}");
    // A withdrawal cancels what waits for that person at once.
    let (s, v) = app
        .post(
            &format!("/api/privacy/subjects/{}/consent", clients[1]),
            json!({"channel": "email", "granted": false}),
        )
        .await;
    assert_eq!(s, 200, "{v}");
    let withdrawn = v["position"].as_i64().unwrap();
    let (_, v) = app
        .get(&format!(
            "/api/notifications?recipient={}&event=CampaignSent&min_position={withdrawn}",
            clients[1]
        ))
        .await;
    assert_eq!(
        (&v["items"][0]["status"], &v["items"][0]["last_error"]),
        (&json!("cancelled"), &json!("consent withdrawn")),
        "{v}"
    );
    assert_eq!(v["items"][0]["transactional"], false, "{v}");
    // A withdrawal on another channel leaves the e-mail waiting.
    for granted in [true, false] {
        let (s, v) = app
            .post(
                &format!("/api/privacy/subjects/{}/consent", clients[0]),
                json!({"channel": "sms", "granted": granted}),
            )
            .await;
        assert_eq!(s, 200, "{v}");
    }
    let head = app.log_head().await;
    let (_, v) = app
        .get(&format!(
            "/api/notifications?recipient={}&event=CampaignSent&min_position={head}",
            clients[0]
        ))
        .await;
    assert_eq!(v["items"][0]["status"], "queued", "{v}");

    // With a server to send through: the one who still consents gets it.
    let (smtp, url) = SmtpServer::start().await;
    let app = app
        .restart_with(|c| {
            c.serve.smtp_url = Some(url);
            c.serve.notify_interval_ms = 100;
        })
        .await;
    let mails = smtp.wait_for(1).await;
    assert_eq!(mails[0].to, vec!["jqrpb3434t@example.in".to_string()]);
    assert_eq!(
        mails[0].header("Subject").as_deref(),
        Some("Index fund SIPs from Rs 500")
    );
    assert!(
        mails[0].data.contains("Dear Meher Bhatt,"),
        "{}",
        mails[0].data
    );
    assert!(
        mails[0].data.contains("agreed to hear from us"),
        "{}",
        mails[0].data
    );
    tokio::time::sleep(Duration::from_millis(800)).await;
    assert_eq!(smtp.mails().len(), 1, "{:?}", smtp.mails());

    // An SMS campaign goes out in the day only (Indian time).
    let (s, v) = app
        .post(
            &format!("/api/privacy/subjects/{}/consent", clients[0]),
            json!({"channel": "sms", "granted": true}),
        )
        .await;
    assert_eq!(s, 200, "{v}");
    let (_, _) = app
        .get(&format!(
            "/api/marketing/audience?channel=sms&min_position={}",
            v["position"]
        ))
        .await;
    let (s, v) = app
        .post(
            send,
            json!({"channel": "sms", "message": "SIPs from Rs 500. Ask your RM.",
                   "dlt_template_id": "1107170000000000100"}),
        )
        .await;
    assert_eq!((s, &v["queued"]), (202, &json!(1)), "{v}");
    let not_before = chrono::DateTime::parse_from_rfc3339(v["not_before"].as_str().unwrap())
        .unwrap()
        .with_timezone(&chrono::Utc);
    let hour = (not_before + chrono::Duration::minutes(330))
        .format("%H")
        .to_string();
    assert!(("09".."21").contains(&hour.as_str()), "{v}");
    app.stop().await;
}

async fn promotional_sms_wait_out_the_quiet_hours_and_transactional_ones_do_not(store: Store) {
    use chrono::{DateTime, Duration as Span, DurationRound, Utc};
    // No gateway and no quiet hours at first: a verified client (whose KYC SMS waits) agrees
    // to marketing by SMS, and a campaign is queued for now.
    let app = App::start_with(Fresh::new(store).await, |c| {
        c.serve.sms_quiet_hours = "off".into();
    })
    .await;
    let rm = app.actor(Role::RelationshipManager, Some("MUM-01")).await;
    let officer = app.actor(Role::ComplianceOfficer, None).await;
    let client = verified_client(&app, &rm, &officer, "HQRPQ4545Q", "2031-01-01").await;
    let (s, v) = app
        .post(
            &format!("/api/privacy/subjects/{client}/consent"),
            json!({"channel": "sms", "granted": true}),
        )
        .await;
    assert_eq!(s, 200, "{v}");
    app.caught_up().await;
    let campaign = json!({"channel": "sms", "message": "SIPs from Rs 500. Ask your RM.",
                          "dlt_template_id": "1107170000000000100"});
    let asked = Utc::now();
    let (s, v) = app.post("/api/marketing/messages", campaign.clone()).await;
    assert_eq!((s, &v["queued"]), (202, &json!(1)), "{v}");
    let not_before: DateTime<Utc> = v["not_before"].as_str().unwrap().parse().unwrap();
    assert!(
        not_before >= asked - Span::seconds(1) && not_before <= Utc::now(),
        "{v}"
    );

    // Quiet hours from an hour ago to an hour from now (Indian time), and a gateway.
    let now = Utc::now();
    let ist = |t: DateTime<Utc>| (t + Span::minutes(330)).format("%H:%M").to_string();
    let end = (now + Span::hours(1))
        .duration_trunc(Span::minutes(1))
        .unwrap();
    let window = format!("{}-{}", ist(now - Span::hours(1)), ist(end));
    let (gateway, url) = Receiver::start().await;
    let app = app
        .restart_with(|c| {
            c.serve.sms_url = Some(format!("{url}?to={{to}}&dlt={{template_id}}&text={{text}}"));
            c.serve.sms_quiet_hours = window.clone();
            c.serve.notify_interval_ms = 100;
        })
        .await;
    // The transactional SMS goes at once; the campaign's waits for the end of the quiet
    // hours, its attempts untouched.
    let got = gateway.wait_for(1).await;
    assert!(
        got[0].uri.contains("dlt=1107170000000000001"),
        "{}",
        got[0].uri
    );
    let sent = outbox_until(&app, &format!("recipient={client}&channel=sms"), "sent").await;
    assert_eq!(sent["template"], "kyc_verified_sms", "{sent}");
    let query = format!("/api/notifications?recipient={client}&event=CampaignSent");
    let mut held = Value::Null;
    for _ in 0..100 {
        let (_, v) = app.get(&query).await;
        held = v["items"][0].clone();
        if held["next_attempt_at"]
            .as_str()
            .and_then(|t| t.parse().ok())
            == Some(end)
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(
        (&held["status"], &held["attempts"], &held["last_error"]),
        (&json!("queued"), &json!(0), &Value::Null),
        "{held} ({window})"
    );
    assert_eq!(
        held["next_attempt_at"]
            .as_str()
            .and_then(|t| t.parse().ok()),
        Some(end),
        "{held} ({window})"
    );
    // A campaign queued in the quiet hours is held to their end from the start.
    let (s, v) = app.post("/api/marketing/messages", campaign).await;
    assert_eq!((s, &v["queued"]), (202, &json!(1)), "{v}");
    assert_eq!(
        v["not_before"].as_str().and_then(|t| t.parse().ok()),
        Some(end),
        "{v} ({window})"
    );
    tokio::time::sleep(Duration::from_millis(600)).await;
    assert_eq!(gateway.got().len(), 1, "{:?}", gateway.got());
    app.stop().await;
}

async fn a_recorded_trade_is_confirmed_to_the_client(store: Store) {
    let (smtp, url) = SmtpServer::start().await;
    let app = App::start_with(Fresh::new(store).await, |c| {
        c.serve.smtp_url = Some(url);
        c.serve.notify_interval_ms = 100;
    })
    .await;
    let rm = app.actor(Role::RelationshipManager, Some("MUM-01")).await;
    let officer = app.actor(Role::ComplianceOfficer, None).await;
    let client = verified_client(&app, &rm, &officer, "KQRPT7878V", "2031-01-01").await;
    crate::investments::aggressive(&app, &rm, &client).await;
    let mut body =
        crate::investments::trade(&client, "buy", "10", "2450.50", "2026-11-02", "CN-7781");
    body["fees"] = json!({"brokerage": "20", "stt": "24.51"});
    let (s, v) = app.post_as(&rm, "/api/investments", body).await;
    assert_eq!(s, 201, "{v}");
    let mails = smtp.wait_for(2).await;
    let note = mails
        .iter()
        .find(|m| {
            m.header("Subject")
                .unwrap_or_default()
                .starts_with("Trade confirmation")
        })
        .expect("the trade's confirmation");
    assert_eq!(note.to, vec!["kqrpt7878v@example.in".to_string()]);
    assert_eq!(
        note.header("Subject").as_deref(),
        Some("Trade confirmation: buy 10 RELIANCE on 2026-11-02")
    );
    let text = note.text();
    for line in [
        // (The ledger keeps amounts normalised: 2450.50 is 2450.5.)
        "  BUY 10 RELIANCE (INE002A01018) on NSE at Rs 2450.5\n",
        "  Charges: brokerage Rs 20, STT Rs 24.51, GST Rs 0, stamp duty Rs 0, other Rs 0",
        "  Reference CN-7781",
    ] {
        assert!(text.contains(line), "{line}: {text}");
    }
    app.stop().await;
}
