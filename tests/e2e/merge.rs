//! Merging duplicates over HTTP: a lead into a lead and a lead into a client, both records
//! changed in one transaction; the merged lead's work shown under the survivor by reference;
//! the undo as compensating events; who may merge what.

use chrono::{Duration, Utc};
use domain::user::Role;
use serde_json::{json, Value};

use crate::on_both_stores;
use crate::support::{App, Store};

on_both_stores!(
    a_lead_merged_into_a_lead_moves_its_work_and_the_undo_gives_it_back,
    a_lead_merged_into_a_client_shows_its_work_there,
    crossed_merges_at_once_leave_one_survivor,
    a_client_erased_takes_the_leads_merged_into_it,
    erasing_a_surviving_lead_erases_the_leads_merged_into_it,
    a_client_reaches_the_leads_merged_before_its_lead_converted,
);

fn person(name: &str, email: &str, phone: &str) -> Value {
    json!({"name": name, "email": email, "phone": phone, "source": "website"})
}

/// Events of `event_type` in the log.
async fn count(app: &App, event_type: &str) -> i64 {
    store::with_db!(app.db(), pool => {
        sqlx::query_scalar("SELECT COUNT(*) FROM events WHERE event_type = $1")
            .bind(event_type)
            .fetch_one(pool)
            .await
            .unwrap()
    })
}

async fn a_lead_merged_into_a_lead_moves_its_work_and_the_undo_gives_it_back(store: Store) {
    let app = App::start(store).await;
    let (keep, _) = app
        .capture(person("Asha Rao", "asha.rao@gmail.com", "9876543210"))
        .await;
    let (dup, _) = app
        .capture(person("Asha Rao", "asharao+ipo@gmail.com", "9867543210"))
        .await;
    // The duplicate's work: a call, one follow-up open, one kept.
    let (s, v) = app
        .post(
            &format!("/api/leads/{dup}/interactions"),
            json!({"kind": "call", "direction": "inbound",
                   "summary": "Asked about IPO allotment"}),
        )
        .await;
    assert_eq!(s, 201, "{v}");
    let due = (Utc::now() + Duration::days(3)).to_rfc3339();
    let (s, v) = app
        .post(
            &format!("/api/leads/{dup}/follow-ups"),
            json!({"due_at": due, "channel": "call", "note": "Send the IPO calendar"}),
        )
        .await;
    assert_eq!(s, 201, "{v}");
    let open_fu = v["id"].as_str().unwrap().to_string();
    let (s, v) = app
        .post(
            &format!("/api/leads/{dup}/follow-ups"),
            json!({"due_at": due, "channel": "email"}),
        )
        .await;
    assert_eq!(s, 201, "{v}");
    let kept_fu = v["id"].as_str().unwrap();
    let (s, v) = app
        .post(
            &format!("/api/leads/{dup}/follow-ups/{kept_fu}/complete"),
            json!({"note": "sent"}),
        )
        .await;
    assert_eq!(s, 200, "{v}");
    let at = v["position"].as_i64().unwrap();
    let (_, pairs) = app.get(&format!("/api/duplicates?min_position={at}")).await;
    assert_eq!(pairs["total"], 1, "{pairs}");

    // Bad requests change nothing.
    let rm = app.actor(Role::RelationshipManager, Some("MUM-01")).await;
    let head = app.log_head().await;
    let merge = format!("/api/leads/{dup}/merge");
    for (body, status, field) in [
        (json!({}), 422, "into_lead"),
        (
            json!({"into_lead": keep, "into_client": keep}),
            422,
            "into_client",
        ),
        (json!({"into_lead": dup}), 422, "into_lead"),
        (json!({"into_lead": uuid::Uuid::now_v7()}), 422, "into_lead"),
    ] {
        let (s, v) = app.post(&merge, body.clone()).await;
        assert_eq!(
            (s, v["errors"][0]["field"].as_str()),
            (status, Some(field)),
            "{body}: {v}"
        );
    }
    for body in [
        json!({"into_lead": keep, "foo": 1}),
        json!({"into_lead": keep, "reason": 5}),
    ] {
        let (s, v) = app.post(&merge, body.clone()).await;
        assert_eq!(s, 400, "{body}: {v}");
    }
    let (s, v) = app.post_as(&rm, &merge, json!({"into_lead": keep})).await;
    assert_eq!(s, 403, "agents do not merge: {v}");
    let stale = app
        .http
        .post(app.url(&merge))
        .header("If-Match", "\"1\"")
        .json(&json!({"into_lead": keep}));
    let (s, v) = app.send(stale).await;
    assert_eq!(s, 412, "the lead moved on since version 1: {v}");
    assert_eq!(app.log_head().await, head, "nothing recorded");

    // The merge: both records in one go; a retry with its key gets the same answer.
    let keyed = |body: Value| {
        app.http
            .post(app.url(&merge))
            .header("Idempotency-Key", "merge-asha-1")
            .json(&body)
    };
    let (s, v) = app
        .send(keyed(json!({"into_lead": keep, "reason": "same person"})))
        .await;
    assert_eq!(s, 200, "{v}");
    let (s, again) = app
        .send(keyed(json!({"into_lead": keep, "reason": "same person"})))
        .await;
    assert_eq!((s, &again), (200, &v), "the first answer again");
    let (s, other) = app.send(keyed(json!({"into_lead": keep}))).await;
    assert_eq!(s, 422, "the key with another request: {other}");
    assert_eq!(v["survivor"], json!({"kind": "lead", "id": keep}));
    assert_eq!(
        (v["merged"].as_bool(), v["follow_ups_moved"].as_i64()),
        (Some(true), Some(1))
    );
    let at = v["position"].as_i64().unwrap();
    assert_eq!(count(&app, "LeadMerged").await, 1);
    assert_eq!(count(&app, "MergeReceived").await, 1);

    let merged = app.lead(&dup, at).await;
    assert_eq!(merged["merged_into"], json!({"kind": "lead", "id": keep}));
    assert_eq!(merged["allowed_moves"], json!([]));
    let states: Vec<&str> = merged["follow_ups"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["state"].as_str().unwrap())
        .collect();
    assert_eq!(states, ["moved", "completed"]);
    // Its history stays readable, and it takes no more changes.
    let (s, h) = app.get(&format!("/api/leads/{dup}/history")).await;
    assert_eq!(s, 200, "{h}");
    assert!(h.to_string().contains("LeadMerged"), "{h}");
    let (s, v) = app
        .post(
            &format!("/api/leads/{dup}/interactions"),
            json!({"kind": "note", "summary": "late note"}),
        )
        .await;
    assert_eq!(
        (s, v["type"].as_str()),
        (409, Some("/problems/merged")),
        "{v}"
    );
    let (s, v) = app.post(&merge, json!({"into_lead": keep})).await;
    assert_eq!(
        (s, v["type"].as_str()),
        (409, Some("/problems/merged")),
        "{v}"
    );

    let survivor = app.lead(&keep, at).await;
    assert_eq!(
        survivor["merged_from"][0]["lead_id"],
        json!(dup),
        "{survivor}"
    );
    let talks = survivor["interactions"].as_array().unwrap();
    assert_eq!(talks.len(), 1, "{survivor}");
    assert_eq!(talks[0]["summary"], "Asked about IPO allotment");
    assert_eq!(talks[0]["from_lead"], json!(dup));
    let fus = survivor["follow_ups"].as_array().unwrap();
    assert_eq!(fus.len(), 1, "{survivor}");
    assert_eq!(fus[0]["state"], "open");
    assert_eq!(fus[0]["moved_from_lead"], json!(dup));
    assert_eq!(
        fus[0]["note"], "Send the IPO calendar",
        "the note is read from the merged lead"
    );
    assert_ne!(
        fus[0]["follow_up_id"],
        json!(open_fu),
        "a new id on the survivor"
    );
    let moved_fu = fus[0]["follow_up_id"].as_str().unwrap().to_string();

    // The merged lead leaves the lists and the duplicate candidates.
    let (_, list) = app.get(&format!("/api/leads?min_position={at}")).await;
    let ids: Vec<&str> = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, [keep.as_str()], "{list}");
    let (_, pairs) = app.get(&format!("/api/duplicates?min_position={at}")).await;
    assert_eq!(pairs["total"], 0, "{pairs}");

    // The survivor moves the follow-up, then the merge is undone: the follow-up goes back
    // with its new due time.
    let later = (Utc::now() + Duration::days(5)).to_rfc3339();
    let (s, v) = app
        .post(
            &format!("/api/leads/{keep}/follow-ups/{moved_fu}/reschedule"),
            json!({"due_at": later}),
        )
        .await;
    assert_eq!(s, 200, "{v}");
    let undo = format!("/api/leads/{dup}/merge/undo");
    let (s, v) = app
        .post(&undo, json!({"reason": "two people, one family e-mail"}))
        .await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(
        (v["merged"].as_bool(), v["follow_ups_moved"].as_i64()),
        (Some(false), Some(1))
    );
    let at = v["position"].as_i64().unwrap();
    let back = app.lead(&dup, at).await;
    assert!(back["merged_into"].is_null(), "{back}");
    let open: Vec<&Value> = back["follow_ups"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["state"] == "open")
        .collect();
    assert_eq!(open.len(), 1, "{back}");
    assert_eq!(open[0]["follow_up_id"], json!(open_fu));
    let due_back: chrono::DateTime<Utc> = open[0]["due_at"].as_str().unwrap().parse().unwrap();
    let due_then: chrono::DateTime<Utc> = later.parse().unwrap();
    assert_eq!(due_back, due_then, "due as the survivor had moved it");
    let survivor = app.lead(&keep, at).await;
    assert_eq!(survivor["merged_from"], json!([]));
    assert_eq!(survivor["interactions"], json!([]), "{survivor}");
    assert_eq!(
        survivor["follow_ups"],
        json!([]),
        "what went back left the survivor"
    );
    // History was added to, never edited.
    assert_eq!(count(&app, "LeadMerged").await, 1);
    assert_eq!(count(&app, "LeadUnmerged").await, 1);
    assert_eq!(count(&app, "MergeReverted").await, 1);
    let (s, v) = app.post(&undo, json!({})).await;
    assert_eq!(
        (s, v["type"].as_str()),
        (409, Some("/problems/not-merged")),
        "{v}"
    );
    // The lead works again and is a duplicate candidate again.
    let (s, v) = app
        .post(
            &format!("/api/leads/{dup}/interactions"),
            json!({"kind": "note", "summary": "back on its own"}),
        )
        .await;
    assert_eq!(s, 201, "{v}");
    let (_, pairs) = app
        .get(&format!(
            "/api/duplicates?min_position={}",
            v["position"].as_i64().unwrap()
        ))
        .await;
    assert_eq!(pairs["total"], 1, "{pairs}");
}

async fn a_lead_merged_into_a_client_shows_its_work_there(store: Store) {
    let app = App::start(store).await;
    let rm = app.actor(Role::RelationshipManager, Some("MUM-01")).await;
    let manager = app.actor(Role::BranchManager, Some("MUM-01")).await;
    let other = app.actor(Role::BranchManager, Some("DEL-01")).await;
    let (s, v) = app
        .post_as(
            &rm,
            "/api/clients",
            crate::clients::new_client(None, "QWKPL1234C", &rm.id),
        )
        .await;
    assert_eq!(s, 201, "{v}");
    let client = v["id"].as_str().unwrap().to_string();
    // The same person comes in again through a web form, as a new lead of the agent.
    let (s, v) = app
        .post_as(
            &rm,
            "/api/leads",
            person("Vikram Quillfeather", "vq@example.in", "99887 76655"),
        )
        .await;
    assert_eq!(s, 201, "{v}");
    let lead = v["id"].as_str().unwrap().to_string();
    // The client's phone: listed as a lead that is already a client, for those who see both.
    let at = v["position"].as_i64().unwrap();
    let (s, m) = app
        .get_as(
            &manager,
            &format!("/api/duplicates/clients?min_position={at}"),
        )
        .await;
    assert_eq!(s, 200, "{m}");
    assert_eq!(m["total"], 1, "{m}");
    assert_eq!(
        (
            m["items"][0]["score"].as_i64(),
            m["items"][0]["reasons"].clone()
        ),
        (Some(80), json!(["same_phone"])),
        "{m}"
    );
    assert_eq!(m["items"][0]["lead"]["id"], json!(lead));
    assert_eq!(m["items"][0]["client"]["id"], json!(client));
    let (_, m) = app.get_as(&other, "/api/duplicates/clients").await;
    assert_eq!(m["total"], 0, "another branch sees neither: {m}");
    let (s, v) = app
        .post_as(
            &rm,
            &format!("/api/leads/{lead}/interactions"),
            json!({"kind": "call", "summary": "Wants a second demat account"}),
        )
        .await;
    assert_eq!(s, 201, "{v}");
    let due = (Utc::now() + Duration::days(2)).to_rfc3339();
    let (s, v) = app
        .post_as(
            &rm,
            &format!("/api/leads/{lead}/follow-ups"),
            json!({"due_at": due, "channel": "meeting", "note": "Bring the DIS booklet"}),
        )
        .await;
    assert_eq!(s, 201, "{v}");

    // A manager of another branch sees neither record.
    let merge = format!("/api/leads/{lead}/merge");
    let (s, v) = app
        .post_as(&other, &merge, json!({"into_client": client}))
        .await;
    assert_eq!(s, 404, "the lead is not theirs to see: {v}");
    let (s, v) = app
        .post_as(&manager, &merge, json!({"into_client": client}))
        .await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["survivor"]["kind"], "client");
    let at = v["position"].as_i64().unwrap();

    let (s, c) = app
        .get_as(&rm, &format!("/api/clients/{client}?min_position={at}"))
        .await;
    assert_eq!(s, 200, "{c}");
    assert_eq!(c["merged_leads"][0]["lead_id"], json!(lead), "{c}");
    let (_, m) = app.get_as(&manager, "/api/duplicates/clients").await;
    assert_eq!(m["total"], 0, "merged: no longer a match: {m}");
    assert_eq!(c["follow_ups"][0]["moved_from_lead"], json!(lead), "{c}");
    assert_eq!(c["follow_ups"][0]["note"], "Bring the DIS booklet");
    let (_, due_list) = app.get_as(&rm, "/api/clients/follow-ups?due=any").await;
    assert_eq!(
        due_list["total"], 1,
        "in the manager's due list: {due_list}"
    );
    let (_, page) = app
        .get_as(&rm, &format!("/api/clients/{client}/interactions"))
        .await;
    assert_eq!(page["total"], 1, "{page}");
    assert_eq!(page["items"][0]["summary"], "Wants a second demat account");
    assert_eq!(page["items"][0]["from_lead"], json!(lead));
    // The client's timeline tells the merged lead's story too.
    let (s, t) = app
        .get_as(
            &rm,
            &format!("/api/clients/{client}/timeline?min_position={at}"),
        )
        .await;
    assert_eq!(s, 200, "{t}");
    let types: Vec<&str> = t["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["event_type"].as_str().unwrap())
        .collect();
    for expected in [
        "MergeReceived",
        "LeadMerged",
        "InteractionLogged",
        "LeadCaptured",
    ] {
        assert!(types.contains(&expected), "{expected} in {types:?}");
    }
    // Nothing personal was copied into the client's log.
    let copied: i64 = store::with_db!(app.db(), pool => {
        sqlx::query_scalar(
            "SELECT COUNT(*) FROM events WHERE aggregate_type = 'client'
               AND CAST(payload AS TEXT) LIKE '%DIS booklet%'",
        )
        .fetch_one(pool)
        .await
        .unwrap()
    });
    assert_eq!(copied, 0);

    // Undone: the client no longer shows the lead's work; the follow-up is the lead's again.
    let (s, v) = app
        .post_as(
            &manager,
            &format!("/api/leads/{lead}/merge/undo"),
            json!({}),
        )
        .await;
    assert_eq!(s, 200, "{v}");
    let at = v["position"].as_i64().unwrap();
    let (_, c) = app
        .get_as(&rm, &format!("/api/clients/{client}?min_position={at}"))
        .await;
    assert_eq!(
        (c["merged_leads"].clone(), c["follow_ups"].clone()),
        (json!([]), json!([]))
    );
    let (_, page) = app
        .get_as(&rm, &format!("/api/clients/{client}/interactions"))
        .await;
    assert_eq!(page["total"], 0, "{page}");
    let l = app.lead(&lead, at).await;
    assert_eq!(l["follow_ups"][0]["state"], "open", "{l}");
}

/// Two leads merged into each other at the same moment, many times over: each time exactly
/// one merge lands (both of its records, or neither), and nothing waits for ever.
async fn crossed_merges_at_once_leave_one_survivor(store: Store) {
    let app = App::start(store).await;
    for n in 0..6 {
        let (a, _) = app
            .capture(person(
                "Kiran Shah",
                &format!("kiran{n}@example.in"),
                &format!("912345678{n}"),
            ))
            .await;
        let (b, _) = app
            .capture(person(
                "Kiran Shah",
                &format!("k.shah{n}@example.in"),
                &format!("922345678{n}"),
            ))
            .await;
        let (pa, pb) = (
            format!("/api/leads/{a}/merge"),
            format!("/api/leads/{b}/merge"),
        );
        let ab = app.post(&pa, json!({"into_lead": b}));
        let ba = app.post(&pb, json!({"into_lead": a}));
        let ((s1, v1), (s2, v2)) = tokio::time::timeout(
            std::time::Duration::from_secs(20),
            futures::future::join(ab, ba),
        )
        .await
        .expect("no deadlock");
        let mut statuses = [s1, s2];
        statuses.sort();
        assert_eq!(statuses, [200, 409], "{v1} {v2}");
    }
    assert_eq!(count(&app, "LeadMerged").await, 6);
    assert_eq!(count(&app, "MergeReceived").await, 6);
}

/// A lead merged into a client is the client's record: an erasure request on it waits for the
/// client's retention, and the client's erasure takes it too.
async fn a_client_erased_takes_the_leads_merged_into_it(store: Store) {
    let app = App::start(store).await;
    let rm = app.actor(Role::RelationshipManager, Some("MUM-01")).await;
    let (s, v) = app
        .post(
            "/api/clients",
            crate::clients::new_client(None, "QWKPL1234C", &rm.id),
        )
        .await;
    assert_eq!(s, 201, "{v}");
    let client = v["id"].as_str().unwrap().to_string();
    let mut body = person("Vikram Q", "vq@example.in", "9988776600");
    body["assign_to"] = json!(rm.id);
    body["investment_capacity"] = json!("above_1_crore");
    let (lead, _) = app.capture(body).await;
    let (s, v) = app
        .post_as(
            &rm,
            &format!("/api/leads/{lead}/interactions"),
            json!({"kind": "call", "summary": "Wants to move his demat here"}),
        )
        .await;
    assert_eq!(s, 201, "{v}");
    let (s, v) = app
        .post(
            &format!("/api/leads/{lead}/merge"),
            json!({"into_client": client}),
        )
        .await;
    assert_eq!(s, 200, "{v}");
    let (_, page) = app
        .get_as(
            &rm,
            &format!(
                "/api/clients/{client}/interactions?min_position={}",
                v["position"]
            ),
        )
        .await;
    assert_eq!(page["total"], 1, "{page}");
    let (s, v) = app
        .post(
            &format!("/api/privacy/subjects/{lead}/erasure"),
            json!({"reason": "asked by phone"}),
        )
        .await;
    assert!(s < 300, "{s} {v}");
    let l = app.lead(&lead, app.log_head().await).await;
    assert_eq!(l["privacy"]["retention_required"], true, "{l}");
    assert!(l["privacy"]["erased_at"].is_null(), "{l}");
    // The same person: the client is restricted with the lead, and shows the agent nothing
    // of either.
    let (_, c) = app.get(&format!("/api/clients/{client}")).await;
    assert!(c["privacy"]["erasure_requested_at"].is_string(), "{c}");
    let (s, v) = app
        .get_as(&rm, &format!("/api/clients/{client}/interactions"))
        .await;
    assert_eq!(
        (s, v["type"].as_str()),
        (409, Some("/problems/processing-restricted")),
        "{v}"
    );
    let (s, l) = app.get_as(&rm, &format!("/api/leads/{lead}")).await;
    assert_eq!(s, 200, "{l}");
    assert_ne!(l["name"], "Vikram Q", "masked for sales: {l}");
    // Merged and restricted, the lead stays with the client.
    let (s, v) = app
        .post(&format!("/api/leads/{lead}/merge/undo"), json!({}))
        .await;
    assert_eq!(
        (s, v["type"].as_str()),
        (409, Some("/problems/processing-restricted")),
        "{v}"
    );

    let (s, v) = app
        .post(
            &format!("/api/clients/{client}/close"),
            json!({"reason": "moved abroad"}),
        )
        .await;
    assert_eq!(s, 200, "{v}");
    app.caught_up().await;
    let out = crate::support::crm(
        &app,
        &["retention", "run"],
        &[
            ("CRM_RETENTION_CLIENT_RECORDS", "0d"),
            ("CRM_RETENTION_KYC_DOCUMENTS", "0d"),
        ],
    )
    .await;
    assert!(out.contains(&format!("erased {client}")), "{out}");
    app.caught_up().await;
    let (_, l) = app.get(&format!("/api/leads/{lead}")).await;
    assert!(l["privacy"]["erased_at"].is_string(), "{l}");
    assert_eq!(l["name"], "[erased]", "{l}");
    assert_eq!(
        l["investment_capacity"], "above_1_crore",
        "a band, kept readable"
    );
}

/// A prospect asks for erasure through the lead that stayed: the lead merged into it is the
/// same person and goes too; a consent withdrawn on either reaches both.
async fn erasing_a_surviving_lead_erases_the_leads_merged_into_it(store: Store) {
    let app = App::start(store).await;
    let (keep, _) = app
        .capture(person("Ila Bose", "ila.bose@example.in", "9830011122"))
        .await;
    let (dup, _) = app
        .capture(person("Ila Bose", "ila.b@example.in", "9830011123"))
        .await;
    let (s, v) = app
        .post(
            &format!("/api/privacy/subjects/{keep}/consent"),
            json!({"channel": "email", "granted": true}),
        )
        .await;
    assert_eq!(s, 200, "{v}");
    let (s, v) = app
        .post(
            &format!("/api/leads/{dup}/merge"),
            json!({"into_lead": keep}),
        )
        .await;
    assert_eq!(s, 200, "{v}");
    let (s, v) = app
        .post(
            &format!("/api/privacy/subjects/{dup}/consent"),
            json!({"channel": "sms", "granted": true}),
        )
        .await;
    assert_eq!(s, 200, "{v}");
    let survivor = app.lead(&keep, v["position"].as_i64().unwrap()).await;
    assert_eq!(
        survivor["privacy"]["marketing_consents"],
        json!(["email", "sms"]),
        "{survivor}"
    );
    let (s, v) = app
        .post(
            &format!("/api/privacy/subjects/{keep}/erasure"),
            json!({"reason": "asked by e-mail"}),
        )
        .await;
    assert_eq!(s, 200, "{v}");
    app.caught_up().await;
    for id in [&keep, &dup] {
        let (_, l) = app.get(&format!("/api/leads/{id}")).await;
        assert!(l["privacy"]["erased_at"].is_string(), "{l}");
        assert_eq!(l["name"], "[erased]", "{l}");
    }
}

/// Duplicates merged while still prospects, then the survivor converts: a consent withdrawn on
/// the client reaches the merged lead too.
async fn a_client_reaches_the_leads_merged_before_its_lead_converted(store: Store) {
    let app = App::start(store).await;
    let rm = app.actor(Role::RelationshipManager, Some("MUM-01")).await;
    let (keep, _) = app
        .capture(person(
            "Vikram Quillfeather",
            "vikram.quill@example.in",
            "9811100001",
        ))
        .await;
    let (dup, _) = app
        .capture(person("Vikram Quillfeather", "vq@example.in", "9811100002"))
        .await;
    let (s, v) = app
        .post(
            &format!("/api/leads/{dup}/merge"),
            json!({"into_lead": keep}),
        )
        .await;
    assert_eq!(s, 200, "{v}");
    let (s, v) = app
        .post(
            &format!("/api/privacy/subjects/{dup}/consent"),
            json!({"channel": "email", "granted": true}),
        )
        .await;
    assert_eq!(s, 200, "{v}");
    for status in ["contacted", "qualified"] {
        let (s, v) = app
            .post(
                &format!("/api/leads/{keep}/status"),
                json!({"status": status}),
            )
            .await;
        assert_eq!(s, 200, "{v}");
    }
    let (s, v) = app
        .post(&format!("/api/leads/{keep}/convert"), json!({}))
        .await;
    assert_eq!(s, 200, "{v}");
    app.lead(&keep, v["position"].as_i64().unwrap()).await;
    let (s, v) = app
        .post(
            "/api/clients",
            crate::clients::new_client(Some(&keep), "QWKPL1234C", &rm.id),
        )
        .await;
    assert_eq!(s, 201, "{v}");
    let client = v["id"].as_str().unwrap().to_string();
    let (s, v) = app
        .post(
            &format!("/api/privacy/subjects/{client}/consent"),
            json!({"channel": "email", "granted": false}),
        )
        .await;
    assert_eq!(s, 200, "{v}");
    let merged = app.lead(&dup, v["position"].as_i64().unwrap()).await;
    assert_eq!(
        merged["privacy"]["marketing_consents"],
        json!([]),
        "{merged}"
    );
}
