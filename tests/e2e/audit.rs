//! The audit trail: export and verification (CLI and HTTP), tamper cases made by editing the
//! database directly, signed checkpoints, time travel, field-level diffs and the access log.

use std::process::Stdio;

use domain::user::Role;
use serde_json::{json, Value};
use tokio::process::Command;

use crate::on_both_stores;
use crate::support::{App, Store};

on_both_stores!(
    tampering_is_found_and_named,
    exports_verify_and_checkpoints_are_signed,
    as_of_reads_and_field_changes_replay_history,
    reads_of_personal_data_are_recorded,
    restricted_people_are_hidden_from_sales_and_shredding_keeps_the_log_verifiable
);

/// Runs `crm audit verify` (optionally on a file) against the app's store.
async fn verify(app: &App, file: Option<&std::path::Path>) -> (bool, String) {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_crm"));
    cmd.args(["audit", "verify"]);
    if let Some(f) = file {
        cmd.arg("--file").arg(f);
    }
    cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
    app.fresh.env(&mut cmd);
    let out = cmd.output().await.expect("run crm audit verify");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

/// Some history: leads captured, moved and assigned.
async fn some_history(app: &App, n: usize) -> Vec<String> {
    let mut ids = Vec::new();
    for i in 0..n {
        let (id, _) = app
            .capture(json!({"name": format!("Audit Lead {i}"), "email": format!("audit{i}@example.in"), "source": "referral"}))
            .await;
        let (s, _) = app
            .post(
                &format!("/api/leads/{id}/status"),
                json!({"status": "contacted"}),
            )
            .await;
        assert_eq!(s, 200);
        ids.push(id);
    }
    ids
}

/// Runs SQL on the store with the append-only guards lifted, as someone with database access
/// could.
async fn tamper(app: &App, script: &str) {
    let db = app.db();
    match db {
        store::Db::Sqlite(pool) => {
            let mut tx = pool.begin().await.unwrap();
            for t in ["events_no_update", "events_no_delete"] {
                sqlx::query(&format!("DROP TRIGGER IF EXISTS {t}"))
                    .execute(&mut *tx)
                    .await
                    .unwrap();
            }
            for sql in script.split(";\n") {
                sqlx::query(sql).execute(&mut *tx).await.unwrap();
            }
            tx.commit().await.unwrap();
        }
        store::Db::Postgres(pool) => {
            let mut tx = pool.begin().await.unwrap();
            sqlx::query("ALTER TABLE events DISABLE TRIGGER events_no_update_or_delete")
                .execute(&mut *tx)
                .await
                .unwrap();
            for sql in script.split(";\n") {
                sqlx::query(sql).execute(&mut *tx).await.unwrap();
            }
            sqlx::query("ALTER TABLE events ENABLE TRIGGER events_no_update_or_delete")
                .execute(&mut *tx)
                .await
                .unwrap();
            tx.commit().await.unwrap();
        }
    }
}

async fn position_of(app: &App, id: &str, sequence: usize) -> i64 {
    app.db()
        .position_of("lead", id, sequence)
        .await
        .expect("position")
}

async fn tampering_is_found_and_named(store: Store) {
    let app = App::start(store).await;
    let ids = some_history(&app, 4).await;
    app.caught_up().await;
    let (ok, text) = verify(&app, None).await;
    assert!(ok, "an untouched log verifies: {text}");
    assert!(text.contains("verified"), "{text}");

    let payload_text = match app.db() {
        store::Db::Sqlite(_) => "payload",
        store::Db::Postgres(_) => "payload::text",
    };
    let cast = match app.db() {
        store::Db::Sqlite(_) => "",
        store::Db::Postgres(_) => "::json",
    };
    let where_ = |id: &str, seq: i64| {
        format!("aggregate_type = 'lead' AND aggregate_id = '{id}' AND sequence = {seq}")
    };

    // One byte of one event: "contacted" becomes "contacteD".
    let target = &ids[1];
    let p = position_of(&app, target, 2).await;
    tamper(&app, &format!("UPDATE events SET payload = replace({payload_text}, 'contacted', 'contacteD'){cast} WHERE {}", where_(target, 2))).await;
    let (ok, text) = verify(&app, None).await;
    assert!(!ok, "a changed byte is found: {text}");
    assert!(
        text.contains(&format!("position {p}, lead/{target} #2")),
        "names the event: {text}"
    );
    assert!(text.contains("altered"), "{text}");
    tamper(&app, &format!("UPDATE events SET payload = replace({payload_text}, 'contacteD', 'contacted'){cast} WHERE {}", where_(target, 2))).await;
    let (ok, text) = verify(&app, None).await;
    assert!(ok, "restored, it verifies again: {text}");

    // Two events swapped: the payloads of a lead's capture and its status change trade places.
    let target = &ids[2];
    let p1 = position_of(&app, target, 1).await;
    let swap = match app.db() {
        store::Db::Sqlite(_) => format!(
            "CREATE TEMP TABLE swap AS SELECT sequence, payload, event_type FROM events WHERE aggregate_type = 'lead' AND aggregate_id = '{target}';\nUPDATE events SET payload = (SELECT s.payload FROM swap s WHERE s.sequence = 3 - events.sequence), event_type = (SELECT s.event_type FROM swap s WHERE s.sequence = 3 - events.sequence) WHERE aggregate_type = 'lead' AND aggregate_id = '{target}' AND sequence IN (1, 2);\nDROP TABLE swap"
        ),
        store::Db::Postgres(_) => format!(
            "UPDATE events e SET payload = o.payload, event_type = o.event_type FROM events o WHERE e.aggregate_type = 'lead' AND e.aggregate_id = '{target}' AND o.aggregate_type = 'lead' AND o.aggregate_id = '{target}' AND o.sequence = 3 - e.sequence"
        ),
    };
    tamper(&app, &swap).await;
    let (ok, text) = verify(&app, None).await;
    assert!(!ok, "a swap is found: {text}");
    assert!(
        text.contains(&format!("position {p1}, lead/{target} #1")),
        "names the first swapped event: {text}"
    );
    tamper(&app, &swap).await;
    let (ok, text) = verify(&app, None).await;
    assert!(ok, "swapped back, it verifies again: {text}");

    // One event deleted: the status change of another lead.
    let target = &ids[3];
    let p = position_of(&app, target, 2).await;
    tamper(
        &app,
        &format!("DELETE FROM events WHERE {}", where_(target, 2)),
    )
    .await;
    let (ok, text) = verify(&app, None).await;
    assert!(!ok, "a deletion is found: {text}");
    assert!(
        text.contains(&format!("lead/{target} #2")),
        "names the deleted event: {text}"
    );
    assert!(
        text.contains("deleted") || text.contains(&format!("position {p}")),
        "{text}"
    );

    // The ledger itself is never rebuilt over an existing log (that would sign the edits):
    // with its checkpoint row gone, the tools refuse rather than start a new ledger.
    store::with_db!(app.db(), pool => {
        sqlx::query("DELETE FROM projection_checkpoints WHERE name = 'ledger'")
            .execute(pool)
            .await
            .unwrap();
    });
    let (ok, text) = verify(&app, None).await;
    assert!(!ok, "{text}");
    assert!(text.contains("never rebuilt"), "{text}");
    app.stop().await;
}

async fn exports_verify_and_checkpoints_are_signed(store: Store) {
    let app = App::start(store).await;
    some_history(&app, 30).await;
    app.caught_up().await;
    let auditor = app.actor(Role::Auditor, None).await;
    // The CLI export.
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_crm"));
    cmd.args(["audit", "export"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    app.fresh.env(&mut cmd);
    let out = cmd.output().await.unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let file = app.fresh.data_dir.join("export.jsonl");
    std::fs::write(&file, &out.stdout).unwrap();
    let lines: Vec<Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let events = lines.iter().filter(|l| l["kind"] == "event").count();
    let checkpoints = lines.iter().filter(|l| l["kind"] == "checkpoint").count();
    assert!(events >= 60, "{events}");
    assert!(
        checkpoints >= 1,
        "a checkpoint every 50 entries: {checkpoints}"
    );
    // Personal data is ciphertext in the export too.
    assert!(!String::from_utf8_lossy(&out.stdout).contains("audit3@example.in"));
    let (ok, text) = verify(&app, Some(&file)).await;
    assert!(ok, "{text}");
    assert!(text.contains("signed checkpoints"), "{text}");

    // The HTTP export is the same stream.
    let r = auditor
        .http
        .get(app.url("/api/audit/export"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(
        r.headers().get("content-type").unwrap(),
        "application/x-ndjson"
    );
    let body = r.text().await.unwrap();
    let http_events = body
        .lines()
        .filter(|l| l.contains(r#""kind":"event""#))
        .count();
    assert!(http_events >= events, "{http_events} vs {events}");
    let report =
        projections::audit::verify_lines(std::io::Cursor::new(body.clone()), None, false).unwrap();
    assert!(report.breaks.is_empty(), "{:?}", report.breaks);
    assert!(report.checkpoints >= 1);

    // A checkpoint edited in the file fails its signature; a pinned wrong key fails too.
    let forged = body.replacen(
        r#""kind":"checkpoint","seq":50,"ledger_hash":""#,
        r#""kind":"checkpoint","seq":50,"ledger_hash":"0"#,
        1,
    );
    assert_ne!(forged, body);
    let report =
        projections::audit::verify_lines(std::io::Cursor::new(forged), None, false).unwrap();
    assert!(!report.breaks.is_empty(), "an edited checkpoint is found");
    let report = projections::audit::verify_lines(
        std::io::Cursor::new(body.clone()),
        Some("ab".repeat(32)),
        false,
    )
    .unwrap();
    assert!(
        !report.breaks.is_empty(),
        "a checkpoint signed by another key is refused"
    );
    // A line removed from the middle of the file breaks its aggregate's chain and the ledger.
    let kept: Vec<&str> = body.lines().collect();
    let cut = kept
        .iter()
        .position(|l| l.contains(r#""event_type":"LeadStatusChanged""#))
        .unwrap();
    let mut without = kept.clone();
    without.remove(cut);
    let report =
        projections::audit::verify_lines(std::io::Cursor::new(without.join("\n")), None, false)
            .unwrap();
    assert!(!report.breaks.is_empty(), "a removed line is found");
    // Edits that leave every hash consistent but drop what the signatures vouch for: a
    // checkpoint line removed, or the ledger entries of later events blanked out.
    let lines: Vec<Value> = body
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let join = |ls: &[Value]| {
        ls.iter()
            .map(|l| l.to_string())
            .collect::<Vec<_>>()
            .join("\n")
    };
    let no_checkpoint: Vec<Value> = lines
        .iter()
        .filter(|l| l["kind"] != "checkpoint")
        .cloned()
        .collect();
    let report =
        projections::audit::verify_lines(std::io::Cursor::new(join(&no_checkpoint)), None, false)
            .unwrap();
    assert!(!report.breaks.is_empty(), "a removed checkpoint is found");
    let mut blanked = lines.clone();
    let middle = blanked
        .iter()
        .position(|l| l["kind"] == "event" && l["ledger"]["seq"] == 10)
        .unwrap();
    blanked[middle]["ledger"] = Value::Null;
    let report =
        projections::audit::verify_lines(std::io::Cursor::new(join(&blanked)), None, false)
            .unwrap();
    assert!(
        !report.breaks.is_empty(),
        "an event taken out of the ledger is found"
    );
    // A filtered export checks as partial.
    let (s, one) = app
        .send(
            auditor
                .http
                .get(app.url("/api/audit/export?aggregate_type=lead")),
        )
        .await;
    assert_eq!(s, 200);
    let one = one.as_str().unwrap().to_string();
    let report =
        projections::audit::verify_lines(std::io::Cursor::new(one.clone()), None, true).unwrap();
    assert!(report.breaks.is_empty(), "{:?}", report.breaks);
    let report = projections::audit::verify_lines(std::io::Cursor::new(one), None, false).unwrap();
    assert!(
        !report.breaks.is_empty(),
        "a filtered export is not the whole log"
    );
    // Checkpoints are listed for pinning.
    let (s, v) = app.get_as(&auditor, "/api/audit/checkpoints").await;
    assert_eq!(s, 200, "{v}");
    assert!(!v["items"].as_array().unwrap().is_empty());
    assert_eq!(v["items"][0]["public_key"], v["public_key"]);
    app.stop().await;
}

async fn as_of_reads_and_field_changes_replay_history(store: Store) {
    let app = App::start(store).await;
    let (id, _) = app
        .capture(json!({"name": "Meena Old", "email": "meena@example.in", "source": "website"}))
        .await;
    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    let between = chrono::Utc::now();
    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    let (s, v) = app
        .send(
            app.http
                .patch(app.url(&format!("/api/leads/{id}")))
                .json(&json!({"name": "Meena New"})),
        )
        .await;
    assert_eq!(s, 200, "{v}");
    let now = app.lead(&id, v["position"].as_i64().unwrap()).await;
    assert_eq!(now["name"], "Meena New");
    let at = between.to_rfc3339_opts(chrono::SecondsFormat::Micros, true);
    let (s, then) = app.get(&format!("/api/leads/{id}?as_of={at}")).await;
    assert_eq!(s, 200, "{then}");
    assert_eq!(then["name"], "Meena Old", "as it stood then");
    assert_eq!(then["version"], 1);
    let (s, _) = app
        .get(&format!("/api/leads/{id}?as_of=2001-01-01T00:00:00Z"))
        .await;
    assert_eq!(s, 404, "it did not exist yet");
    let (s, _) = app.get(&format!("/api/leads/{id}?as_of=yesterday")).await;
    assert_eq!(s, 400);
    // The history shows each event's field changes, old -> new.
    let (s, h) = app.get(&format!("/api/leads/{id}/history")).await;
    assert_eq!(s, 200);
    let change = &h["items"][1]["changes"];
    let name = change
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["field"] == "name")
        .expect("the name change");
    assert_eq!(name["old"], "Meena Old");
    assert_eq!(name["new"], "Meena New");
    app.stop().await;
}

async fn reads_of_personal_data_are_recorded(store: Store) {
    let app = App::start(store).await;
    let compliance = app.actor(Role::ComplianceOfficer, None).await;
    let (id, p) = app
        .capture(
            json!({"name": "Watched Person", "email": "watched@example.in", "source": "website"}),
        )
        .await;
    let (s, _) = app
        .get_as(&compliance, &format!("/api/leads/{id}?min_position={p}"))
        .await;
    assert_eq!(s, 200);
    let (s, _) = app
        .get_as(&compliance, &format!("/api/leads/{id}/history"))
        .await;
    assert_eq!(s, 200);
    let (s, export) = app
        .get_as(&compliance, &format!("/api/privacy/subjects/{id}/export"))
        .await;
    assert_eq!(s, 200, "{export}");
    let who: Vec<(String, String)> = export["accessed_by"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| {
            (
                a["actor_id"].as_str().unwrap().to_string(),
                a["event_type"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(
        who,
        vec![
            (compliance.id.clone(), "PiiViewed".to_string()),
            (compliance.id.clone(), "PiiViewed".to_string()),
            (compliance.id.clone(), "SubjectDataExported".to_string()),
        ]
    );
    // And in the who-did-what history, by subject.
    let (_, h) = app
        .get(&format!(
            "/api/history?subject_id={id}&event_type=PiiViewed&min_position={}",
            app.log_head().await
        ))
        .await;
    assert_eq!(h["items"].as_array().unwrap().len(), 2, "{h}");
    assert_eq!(h["total"], 2);
    assert_eq!(h["items"][0]["actor_role"], "compliance_officer");
    // Keyset pages.
    let (_, first) = app
        .get(&format!(
            "/api/history?subject_id={id}&event_type=PiiViewed&limit=1"
        ))
        .await;
    assert_eq!(first["items"].as_array().unwrap().len(), 1);
    let cursor = first["next_cursor"]
        .as_str()
        .expect("a next page")
        .to_string();
    let (_, second) = app
        .get(&format!(
            "/api/history?subject_id={id}&event_type=PiiViewed&limit=1&cursor={cursor}"
        ))
        .await;
    assert_eq!(second["items"][0], h["items"][1]);
    assert!(second["next_cursor"].is_null());
    let (s, _) = app.get("/api/history?cursor=abc").await;
    assert_eq!(s, 422);
    app.stop().await;
}

async fn restricted_people_are_hidden_from_sales_and_shredding_keeps_the_log_verifiable(
    store: Store,
) {
    let app = App::start(store).await;
    let agent = app.actor(Role::RelationshipManager, Some("MUM-01")).await;
    let compliance = app.actor(Role::ComplianceOfficer, None).await;
    // A client (converted lead): erasure restricts processing until the retention period ends.
    let (s, v) = app
        .post_as(
            &agent,
            "/api/leads",
            json!({"name": "Kept Client", "email": "kept@example.in", "source": "referral"}),
        )
        .await;
    assert_eq!(s, 201, "{v}");
    let client = v["id"].as_str().unwrap().to_string();
    for status in ["contacted", "qualified", "converted"] {
        let (s, v) = app
            .post_as(
                &agent,
                &format!("/api/leads/{client}/status"),
                json!({"status": status}),
            )
            .await;
        assert_eq!(s, 200, "{status}: {v}");
    }
    let (s, v) = app
        .post_as(
            &compliance,
            &format!("/api/privacy/subjects/{client}/erasure"),
            json!({}),
        )
        .await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["state"], "restricted");
    let p = v["position"].as_i64().unwrap();
    let (s, seen) = app
        .get_as(&agent, &format!("/api/leads/{client}?min_position={p}"))
        .await;
    assert_eq!(s, 200);
    assert_eq!(seen["name"], "[restricted]");
    assert_eq!(seen["email"], "[restricted]");
    assert_eq!(
        seen["status"], "converted",
        "what is not personal stays visible"
    );
    let (_, listed) = app.get_as(&agent, "/api/leads?include_archived=true").await;
    assert!(listed["items"]
        .as_array()
        .unwrap()
        .iter()
        .all(|l| l["name"] != "Kept Client"));
    let (_, history) = app
        .get_as(&agent, &format!("/api/leads/{client}/history"))
        .await;
    assert!(!history.to_string().contains("kept@example.in"));
    let (_, full) = app
        .get_as(&compliance, &format!("/api/leads/{client}"))
        .await;
    assert_eq!(
        full["name"], "Kept Client",
        "compliance still sees the record it must keep"
    );
    // A search by their contact details does not confirm them to sales; compliance finds them.
    let (_, found) = app.get_as(&agent, "/api/leads?q=kept@example.in").await;
    assert_eq!(found["total"], 0, "{found}");
    let (_, found) = app
        .get_as(&compliance, "/api/leads?q=kept@example.in")
        .await;
    assert_eq!(found["total"], 1, "{found}");

    // A prospect: shredded at once; the log, with its hashes over ciphertext, still verifies.
    let (s, v) = app
        .post_as(
            &agent,
            "/api/leads",
            json!({"name": "Gone Prospect", "email": "gone@example.in", "source": "website"}),
        )
        .await;
    assert_eq!(s, 201);
    let prospect = v["id"].as_str().unwrap().to_string();
    let due = (chrono::Utc::now() + chrono::Duration::days(1)).to_rfc3339();
    let (s, v) = app
        .post_as(
            &agent,
            &format!("/api/leads/{prospect}/follow-ups"),
            json!({"due_at": due, "channel": "call"}),
        )
        .await;
    assert_eq!(s, 201, "{v}");
    let (s, v) = app
        .post_as(
            &compliance,
            &format!("/api/privacy/subjects/{prospect}/erasure"),
            json!({}),
        )
        .await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["state"], "erased");
    let (_, due) = app
        .get(&format!(
            "/api/follow-ups?due=any&min_position={}",
            v["position"]
        ))
        .await;
    assert!(
        due["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|f| f["lead_id"] != prospect.as_str()),
        "an erased person is not to be called: {due}"
    );
    app.caught_up().await;
    let (ok, text) = verify(&app, None).await;
    assert!(ok, "a shredded person's events still verify: {text}");
    app.stop().await;
}
