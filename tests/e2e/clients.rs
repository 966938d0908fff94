//! Clients over HTTP: onboarding from a converted lead, one client per PAN, sealed personal
//! data and documents, search by blind index, record-level access, and the retention policy
//! (documents purged, data erased when the records' period ends, legal holds, exports).

use std::process::Stdio;

use domain::user::Role;
use serde_json::{json, Value};

use crate::on_both_stores;
use crate::support::{App, Fresh, Store};

on_both_stores!(
    clients_are_sealed_unique_by_pan_and_scoped,
    client_retention_erasure_holds_and_export_archive,
    marketing_audience_follows_consent_at_once,
    seed_gives_demo_users_leads_and_a_client_with_documents,
    client_as_of_replays_the_client_as_they_stood,
    a_person_is_one_data_subject_through_either_id,
    account_lifecycle_moves_and_dormancy,
    the_timeline_tells_the_persons_story_newest_first,
    a_client_profile_holds_contacts_addresses_nominees_accounts_and_a_segment,
    a_client_is_worked_with_interactions_and_follow_ups,
    document_files_in_a_bucket_are_sealed_served_exported_and_deleted,
);

/// A small real PDF (with a marker that must never be stored in the clear).
fn pdf(marker: &str) -> Vec<u8> {
    format!(
        "%PDF-1.4\n1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\n2 0 obj << /Type /Pages /Kids [] /Count 0 >> endobj\n% {marker}\ntrailer << /Root 1 0 R >>\n%%EOF\n"
    )
    .into_bytes()
}

/// Captures a lead and takes it to converted; answers (lead id, client id).
async fn converted_lead(app: &App, name: &str, email: &str) -> (String, String) {
    let (lead, _) = app
        .capture(json!({"name": name, "email": email, "source": "referral"}))
        .await;
    for status in ["contacted", "qualified"] {
        let (s, v) = app
            .post(
                &format!("/api/leads/{lead}/status"),
                json!({"status": status}),
            )
            .await;
        assert_eq!(s, 200, "{v}");
    }
    let (s, v) = app
        .post(&format!("/api/leads/{lead}/convert"), json!({}))
        .await;
    assert_eq!(s, 200, "{v}");
    let client = v["client_id"].as_str().unwrap().to_string();
    app.lead(&lead, v["position"].as_i64().unwrap()).await;
    (lead, client)
}

pub(crate) fn new_client(lead: Option<&str>, pan: &str, rm: &str) -> Value {
    json!({
        "lead_id": lead,
        "name": "Vikram Quillfeather",
        "email": "vikram.quill@example.in",
        "phone": "+91 99887 76655",
        "pan": pan,
        "date_of_birth": "1979-06-30",
        "address": "77 Zephyr Lane, Pune 411001",
        "branch": "MUM-01",
        "relationship_manager": rm,
    })
}

/// Rows of the log, the clients read model, the PAN register and the document store that
/// contain `needle` (compared without case).
async fn count_in_store(app: &App, needle: &str) -> i64 {
    let pattern = format!("%{}%", needle.to_lowercase());
    let sql = match app.db() {
        store::Db::Sqlite(_) => {
            "SELECT (SELECT COUNT(*) FROM events WHERE lower(payload) LIKE $1)
                  + (SELECT COUNT(*) FROM clients WHERE lower(doc || search_tokens || document_tokens || coalesce(pan_index, '')) LIKE $1)
                  + (SELECT COUNT(*) FROM client_pans WHERE lower(pan_index) LIKE $1)
                  + (SELECT COUNT(*) FROM client_documents WHERE lower(CAST(content AS text)) LIKE $1)"
        }
        store::Db::Postgres(_) => {
            "SELECT (SELECT COUNT(*) FROM events WHERE lower(payload::text) LIKE $1)
                  + (SELECT COUNT(*) FROM clients WHERE lower(doc::text || search_tokens || document_tokens || coalesce(pan_index, '')) LIKE $1)
                  + (SELECT COUNT(*) FROM client_pans WHERE lower(pan_index) LIKE $1)
                  + (SELECT COUNT(*) FROM client_documents WHERE lower(encode(content, 'escape')) LIKE $1)"
        }
    };
    store::with_db!(app.db(), pool => {
        sqlx::query_scalar(sql).bind(&pattern).fetch_one(pool).await.unwrap()
    })
}

async fn upload(
    app: &App,
    who: &reqwest::Client,
    client: &str,
    query: &str,
    body: Vec<u8>,
) -> (u16, Value) {
    app.send(
        who.post(app.url(&format!("/api/clients/{client}/documents?{query}")))
            .header("content-type", "application/octet-stream")
            .body(body),
    )
    .await
}

async fn clients_are_sealed_unique_by_pan_and_scoped(store: Store) {
    let app = App::start_with(Fresh::new(store).await, |c| {
        c.serve.max_upload = 32 * 1024;
    })
    .await;
    let rm = app.actor(Role::RelationshipManager, Some("MUM-01")).await;
    let other_rm = app.actor(Role::RelationshipManager, Some("MUM-01")).await;
    let delhi = app.actor(Role::BranchManager, Some("DEL-01")).await;
    let (lead, client_id) =
        converted_lead(&app, "Vikram Quillfeather", "vikram.quill@example.in").await;

    // Bad input is answered field by field and changes nothing.
    let head = app.log_head().await;
    let mut bad = new_client(Some(&lead), "QWXZZ9876K", &rm.id);
    bad["date_of_birth"] = json!("2090-01-01");
    bad["phone"] = json!("12345");
    let (s, v) = app.post("/api/clients", bad).await;
    assert_eq!(s, 422, "{v}");
    let fields: Vec<&str> = v["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    assert_eq!(fields, vec!["phone", "pan", "date_of_birth"]);
    let (s, v) = app
        .post(
            "/api/clients",
            new_client(Some(&lead), "QWXPZ9876K", &uuid::Uuid::new_v4().to_string()),
        )
        .await;
    assert_eq!(s, 422, "{v}");
    let (s, v) = app
        .post(
            "/api/clients",
            new_client(Some(&lead), "QWXPZ9876K", &delhi.id),
        )
        .await;
    assert_eq!(
        (s, v["errors"][0]["field"].as_str()),
        (422, Some("relationship_manager")),
        "{v}"
    );
    assert_eq!(
        app.log_head().await,
        head,
        "refused requests append nothing"
    );

    // Onboarded from the converted lead: the client gets the id the conversion named.
    let (s, v) = app
        .post(
            "/api/clients",
            new_client(Some(&lead), "qwxpz9876k", &rm.id),
        )
        .await;
    assert_eq!(s, 201, "{v}");
    assert_eq!(v["id"], client_id.as_str());

    // One client per PAN, however it is written.
    let (s, v) = app
        .post("/api/clients", new_client(None, " QWXPZ9876K ", &rm.id))
        .await;
    assert_eq!(
        (s, v["type"].as_str()),
        (409, Some("/problems/duplicate-client")),
        "{v}"
    );
    assert_eq!(v["duplicate_of"], json!([client_id]));
    // The lead's client exists: onboarding it again is a conflict, whatever the PAN.
    let (s, v) = app
        .post(
            "/api/clients",
            new_client(Some(&lead), "QWXPZ1111K", &rm.id),
        )
        .await;
    assert_eq!(
        (s, v["type"].as_str()),
        (409, Some("/problems/already-exists")),
        "{v}"
    );

    // Documents: content-sniffed, size-limited, sealed.
    let (s, v) = upload(
        &app,
        &rm.http,
        &client_id,
        "kind=passport&file_name=passport.pdf&number=K%20123-4567",
        pdf("kestrel-marker"),
    )
    .await;
    assert_eq!(s, 201, "{v}");
    let document = v["id"].as_str().unwrap().to_string();
    // The file is sent as itself; a retried upload with its key stores nothing new.
    let (s, v) = app
        .send(
            rm.http
                .post(app.url(&format!(
                    "/api/clients/{client_id}/documents?kind=photograph&file_name=a.pdf"
                )))
                .header("content-type", "text/plain")
                .body(pdf("x")),
        )
        .await;
    assert_eq!(s, 415, "{v}");
    let keyed = |body: Vec<u8>| {
        rm.http
            .post(app.url(&format!(
                "/api/clients/{client_id}/documents?kind=bank_proof&file_name=bank.pdf"
            )))
            .header("content-type", "application/octet-stream")
            .header("idempotency-key", "bank-proof-1")
            .body(body)
    };
    let (s1, first) = app.send(keyed(pdf("bank"))).await;
    let (s2, again) = app.send(keyed(pdf("bank"))).await;
    assert_eq!((s1, s2), (201, 201));
    assert_eq!(first["id"], again["id"]);
    let (s, _) = app.send(keyed(pdf("another file"))).await;
    assert_eq!(s, 422, "the same key for another file is refused");
    let (s, v) = upload(
        &app,
        &rm.http,
        &client_id,
        "kind=passport&file_name=x.txt",
        b"just text".to_vec(),
    )
    .await;
    assert_eq!(
        (s, v["type"].as_str()),
        (415, Some("/problems/unsupported-media-type")),
        "{v}"
    );
    let mut big = b"\x89PNG\r\n\x1a\n".to_vec();
    big.resize(40 * 1024, 0);
    let (s, _) = upload(
        &app,
        &rm.http,
        &client_id,
        "kind=photograph&file_name=me.png",
        big,
    )
    .await;
    assert_eq!(s, 413);
    let (s, v) = upload(
        &app,
        &rm.http,
        &client_id,
        "kind=visa&file_name=x.pdf",
        pdf("x"),
    )
    .await;
    assert_eq!(s, 400, "{v}");

    let (s, c) = app
        .get_as(
            &rm,
            // The last document's own position: the read model has both documents then.
            &format!(
                "/api/clients/{client_id}?min_position={}",
                first["position"]
            ),
        )
        .await;
    assert_eq!(s, 200, "{c}");
    assert_eq!(c["name"], "Vikram Quillfeather");
    assert_eq!(c["pan"], "QWXPZ9876K");
    assert_eq!(c["phone"], "+919988776655");
    assert_eq!(c["lead_id"], lead.as_str());
    assert_eq!(c["documents"][0]["number"], "K 123-4567");
    assert_eq!(c["documents"].as_array().unwrap().len(), 2);
    assert_eq!(c["documents"][0]["content_type"], "application/pdf");
    let r = rm
        .http
        .get(app.url(&format!("/api/clients/{client_id}/documents/{document}")))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["content-type"], "application/pdf");
    assert_eq!(r.bytes().await.unwrap().to_vec(), pdf("kestrel-marker"));

    // Nothing personal is stored in the clear: not in the log, the read model, the PAN
    // register or the document store.
    for needle in [
        "Quillfeather",
        "QWXPZ9876K",
        "9988776655",
        "Zephyr",
        "1979-06-30",
        "K 123-4567",
        "kestrel-marker",
        "passport.pdf",
    ] {
        assert_eq!(
            count_in_store(&app, needle).await,
            0,
            "{needle:?} is stored in the clear"
        );
    }

    // The same holds for the raw bytes of the SQLite files (database and write-ahead log).
    if matches!(app.db(), store::Db::Sqlite(_)) {
        let mut raw = Vec::new();
        for f in ["crm.db", "crm.db-wal"] {
            raw.extend(std::fs::read(app.fresh.data_dir.join(f)).unwrap_or_default());
        }
        assert!(raw.len() > 10_000, "the files hold the store");
        for needle in [
            "Quillfeather",
            "QWXPZ9876K",
            "qwxpz9876k",
            "kestrel-marker",
            "vikram.quill",
        ] {
            assert!(
                !raw.windows(needle.len()).any(|w| w == needle.as_bytes()),
                "{needle:?} is in the SQLite files in the clear"
            );
        }
    }

    // Found by PAN, e-mail, phone, name words and document number, through blind indexes.
    for q in [
        "q=qwxpz9876k",
        "q=vikram.quill%40example.in",
        "q=9988776655",
        "q=quillfeather%20vikram",
        "document_number=k1234567",
    ] {
        let (s, v) = app.get_as(&rm, &format!("/api/clients?{q}")).await;
        assert_eq!((s, v["total"].as_i64()), (200, Some(1)), "{q}: {v}");
    }

    // Record-level access: another agent's client does not exist for them; another branch's
    // manager sees none; an auditor may not read clients at all.
    let (s, _) = app
        .get_as(&other_rm, &format!("/api/clients/{client_id}"))
        .await;
    assert_eq!(s, 404);
    let (_, v) = app.get_as(&other_rm, "/api/clients").await;
    assert_eq!(v["total"], 0);
    let (s, _) = app
        .get_as(
            &delhi,
            &format!("/api/clients/{client_id}/documents/{document}"),
        )
        .await;
    assert_eq!(s, 404);
    let auditor = app.actor(Role::Auditor, None).await;
    let (s, _) = app.get_as(&auditor, "/api/clients").await;
    assert_eq!(s, 403);
    let (s, _) = app
        .send(
            other_rm
                .http
                .patch(app.url(&format!("/api/clients/{client_id}")))
                .json(&json!({"address": "elsewhere"})),
        )
        .await;
    assert_eq!(s, 404);

    // The owner edits; only what changed is recorded.
    let (s, v) = app
        .send(rm.http.patch(app.url(&format!("/api/clients/{client_id}"))).json(&json!({"email": "VIKRAM.QUILL@example.in", "address": "9 Koregaon Park, Pune 411001"})))
        .await;
    assert_eq!(s, 200, "{v}");
    let (_, h) = app
        .get_as(&rm, &format!("/api/clients/{client_id}/history"))
        .await;
    let last = h["items"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(last["event_type"], "ClientProfileChanged");
    assert_eq!(last["changed_fields"], json!(["address"]));

    // Out of scope stays out of sight, whatever If-Match says.
    let (s, _) = app
        .send(
            other_rm
                .http
                .patch(app.url(&format!("/api/clients/{client_id}")))
                .header("if-match", "\"99\"")
                .json(&json!({"address": "elsewhere"})),
        )
        .await;
    assert_eq!(s, 404);
    // Erasure asked through the converted lead restricts the client record too.
    let (s, v) = app
        .post(&format!("/api/privacy/subjects/{lead}/erasure"), json!({}))
        .await;
    assert_eq!((s, v["state"].as_str()), (200, Some("restricted")), "{v}");
    app.caught_up().await;
    let (_, c) = app.get(&format!("/api/clients/{client_id}")).await;
    assert!(c["privacy"]["erasure_requested_at"].is_string(), "{c}");
    app.stop().await;
}

/// `crm retention run` with the test's store and `envs`; answers its output.
async fn retention_run(app: &App, envs: &[(&str, &str)]) -> String {
    crate::support::crm(app, &["retention", "run"], envs).await
}

async fn client_retention_erasure_holds_and_export_archive(store: Store) {
    // Records kept 0 days after the relationship ends, so that the test sees the end.
    let app = App::start_with(Fresh::new(store).await, |c| {
        c.store.retention_client_records = domain::values::RetentionPeriod::Days(0);
        c.store.retention_kyc_documents = domain::values::RetentionPeriod::Days(0);
    })
    .await;
    let zero = [
        ("CRM_RETENTION_CLIENT_RECORDS", "0d"),
        ("CRM_RETENTION_KYC_DOCUMENTS", "0d"),
    ];
    let rm = app.actor(Role::RelationshipManager, Some("MUM-01")).await;
    let compliance = app.actor(Role::ComplianceOfficer, None).await;
    let (lead, id) = converted_lead(&app, "Vikram Quillfeather", "vikram.quill@example.in").await;
    let (s, v) = app
        .post(
            "/api/clients",
            new_client(Some(&lead), "QWXPZ9876K", &rm.id),
        )
        .await;
    assert_eq!(s, 201, "{v}");
    let (s, _) = upload(
        &app,
        &rm.http,
        &id,
        "kind=pan_card&file_name=pan.pdf",
        pdf("osprey-marker"),
    )
    .await;
    assert_eq!(s, 201);

    // The export archive: the export as JSON and the document file.
    let r = compliance
        .http
        .get(app.url(&format!("/api/privacy/subjects/{id}/export/archive")))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["content-type"], "application/zip");
    let bytes = r.bytes().await.unwrap().to_vec();
    let mut zip = zip::ZipArchive::new(std::io::Cursor::new(bytes)).expect("a ZIP file");
    let names: Vec<String> = zip
        .file_names()
        .map(|n| n.expect("a readable name").to_string())
        .collect();
    assert_eq!(names.len(), 2, "{names:?}");
    let mut json_text = String::new();
    std::io::Read::read_to_string(&mut zip.by_name("subject.json").unwrap(), &mut json_text)
        .unwrap();
    let export: Value = serde_json::from_str(&json_text).unwrap();
    assert_eq!(export["client"]["pan"], "QWXPZ9876K");
    assert_eq!(
        export["profile"]["name"], "Vikram Quillfeather",
        "the lead they came from"
    );
    assert!(export["history"]
        .as_array()
        .unwrap()
        .iter()
        .any(|h| h["event_type"] == "LeadCaptured"));
    assert!(export["history"]
        .as_array()
        .unwrap()
        .iter()
        .any(|h| h["event_type"] == "ClientOnboarded"));
    let doc_name = names
        .iter()
        .find(|n| n.starts_with("documents/"))
        .unwrap()
        .clone();
    let mut file = Vec::new();
    std::io::Read::read_to_end(&mut zip.by_name(&doc_name).unwrap(), &mut file).unwrap();
    assert_eq!(file, pdf("osprey-marker"));

    // Erasure asked while the relationship is open: restricted, not shredded.
    let (s, v) = app
        .post_as(
            &compliance,
            &format!("/api/privacy/subjects/{id}/erasure"),
            json!({"reason": "close and forget me"}),
        )
        .await;
    assert_eq!((s, v["state"].as_str()), (200, Some("restricted")), "{v}");
    assert!(
        v["blocked_by"]
            .as_str()
            .unwrap()
            .contains("relationship is open"),
        "{v}"
    );
    let (_, c) = app
        .get_as(
            &rm,
            &format!("/api/clients/{id}?min_position={}", v["position"]),
        )
        .await;
    assert_eq!(c["name"], "[restricted]", "sales no longer sees the person");
    let (s, v) = app
        .send(
            rm.http
                .patch(app.url(&format!("/api/clients/{id}")))
                .json(&json!({"address": "x road"})),
        )
        .await;
    assert_eq!(
        (s, v["type"].as_str()),
        (409, Some("/problems/processing-restricted"))
    );
    // The lead's restriction was written after the client's: wait for the read model.
    app.caught_up().await;
    let (_, l) = app.get(&format!("/api/leads/{lead}")).await;
    assert!(
        l["privacy"]["erasure_requested_at"].is_string(),
        "the source lead is restricted too"
    );

    // A legal hold on the lead keeps the lead, even when its client goes.
    let (s, _) = app
        .post_as(
            &compliance,
            &format!("/api/privacy/subjects/{lead}/legal-hold"),
            json!({"reason": "complaint about the sales call"}),
        )
        .await;
    assert_eq!(s, 200);

    // A legal hold keeps everything past the retention end.
    let (s, _) = app
        .post_as(
            &compliance,
            &format!("/api/privacy/subjects/{id}/legal-hold"),
            json!({"reason": "SEBI inquiry 2026/77"}),
        )
        .await;
    assert_eq!(s, 200);
    let (s, v) = app
        .post_as(
            &compliance,
            &format!("/api/clients/{id}/close"),
            json!({"reason": "closed on request"}),
        )
        .await;
    assert_eq!(s, 200, "{v}");
    // The run reads the read models: the closure must be in them first.
    app.caught_up().await;
    let out = retention_run(&app, &zero).await;
    assert!(
        out.contains(&format!("kept {id}: a legal hold stands")),
        "{out}"
    );
    assert!(
        out.contains("0 document(s) purged"),
        "a hold keeps the documents too: {out}"
    );

    // Lifting the hold lets the due shred happen at once: the client, its documents, its PAN
    // reservation and the lead it came from.
    let (s, v) = app
        .send(compliance.http.delete(app.url(&format!(
            "/api/privacy/subjects/{id}/legal-hold?reason=inquiry%20closed"
        ))))
        .await;
    assert_eq!((s, v["state"].as_str()), (200, Some("erased")), "{v}");
    let (_, c) = app
        .get_as(
            &compliance,
            &format!("/api/clients/{id}?min_position={}", v["position"]),
        )
        .await;
    assert_eq!(c["name"], "[erased]");
    assert_eq!(c["pan"], "[erased]");
    assert_eq!(c["status"], "erased");
    assert_eq!(c["privacy"]["erasure_basis"], "request");
    assert_eq!(c["privacy"]["legal_hold"], false);
    // Erased people leave the default list; `status=erased` lists them.
    let listed = |v: &Value| {
        v["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|i| i["id"] == id.as_str())
    };
    let (_, all) = app.get_as(&compliance, "/api/clients?limit=200").await;
    assert!(!listed(&all), "{all}");
    let (_, erased) = app.get_as(&compliance, "/api/clients?status=erased").await;
    assert!(listed(&erased), "{erased}");
    let doc = c["documents"][0]["id"].as_str().unwrap();
    let (s, _) = app
        .get_as(&compliance, &format!("/api/clients/{id}/documents/{doc}"))
        .await;
    assert_eq!(s, 404);
    let (_, l) = app.get(&format!("/api/leads/{lead}")).await;
    assert_eq!(
        l["name"], "Vikram Quillfeather",
        "its own hold keeps the lead"
    );
    let (s, v) = app
        .send(compliance.http.delete(app.url(&format!(
            "/api/privacy/subjects/{lead}/legal-hold?reason=complaint%20settled"
        ))))
        .await;
    assert_eq!((s, v["state"].as_str()), (200, Some("erased")), "{v}");
    let l = app.lead(&lead, v["position"].as_i64().unwrap()).await;
    assert_eq!(l["name"], "[erased]");
    // The files and the PAN reservation are gone, not only unreadable.
    let (files, pans): (i64, i64) = store::with_db!(app.db(), pool => {
        let f: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM client_documents WHERE client_id = $1")
            .bind(&id).fetch_one(pool).await.unwrap();
        let p: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM client_pans WHERE client_id = $1")
            .bind(&id).fetch_one(pool).await.unwrap();
        (f, p)
    });
    assert_eq!((files, pans), (0, 0));
    // A read model rebuilt from the log shows the same: the events are there, the data is not.
    let keyring = app.running.as_ref().unwrap().keyring.clone();
    let projection = projections::clients::ClientsProjection::new(keyring);
    projections::rebuild::rebuild(app.db(), &projection, |_| {})
        .await
        .unwrap();
    let (_, c) = app.get_as(&compliance, &format!("/api/clients/{id}")).await;
    assert_eq!(
        (c["name"].as_str(), c["email"].as_str()),
        (Some("[erased]"), Some("[erased]"))
    );
    assert_eq!(
        c["documents"].as_array().unwrap().len(),
        1,
        "what was held is still listed"
    );
    let (_, x) = app
        .get_as(&compliance, &format!("/api/privacy/subjects/{id}/export"))
        .await;
    assert_eq!(x["client"]["name"], "[erased]");
    // The PAN is free again (the reservation went with the data).
    let (s, v) = app
        .post("/api/clients", new_client(None, "QWXPZ9876K", &rm.id))
        .await;
    assert_eq!(s, 201, "{v}");
    let second = v["id"].as_str().unwrap().to_string();

    // Unasked: once the relationship ended and the periods ran out, the run purges the
    // documents and erases the record by itself.
    let (s, _) = upload(
        &app,
        &rm.http,
        &second,
        "kind=pan_card&file_name=pan.png",
        include_bytes!("../../fixtures/documents/address-proof.png").to_vec(),
    )
    .await;
    assert_eq!(s, 201);
    let (s, v) = app
        .post_as(
            &compliance,
            &format!("/api/clients/{second}/close"),
            json!({"reason": "dormant account closed"}),
        )
        .await;
    assert_eq!(s, 200);
    app.get_as(
        &compliance,
        &format!("/api/clients/{second}?min_position={}", v["position"]),
    )
    .await;
    let (_, c) = app
        .get_as(&compliance, &format!("/api/clients/{second}"))
        .await;
    assert!(c["privacy"]["retention_until"].is_string(), "{c}");
    let out = retention_run(&app, &[]).await;
    assert!(
        !out.contains(&second),
        "the default periods (8y, 5y) keep it: {out}"
    );
    let out = retention_run(&app, &zero).await;
    assert!(
        out.contains(&format!("purged 1 document(s) of {second}")),
        "{out}"
    );
    assert!(out.contains(&format!("erased {second}")), "{out}");
    app.caught_up().await;
    let (_, c) = app
        .get_as(&compliance, &format!("/api/clients/{second}"))
        .await;
    assert_eq!(c["privacy"]["erasure_basis"], "retention_ended");
    // The server had the key cached; the log's ClientErased still closes history and export.
    let (_, h) = app
        .get_as(&compliance, &format!("/api/clients/{second}/history"))
        .await;
    assert_eq!(h["items"][0]["data"]["profile"]["name"], "[erased]", "{h}");
    let (_, x) = app
        .get_as(
            &compliance,
            &format!("/api/privacy/subjects/{second}/export"),
        )
        .await;
    assert_eq!(x["client"]["pan"], "[erased]");
    assert!(!x.to_string().contains("QWXPZ9876K"), "{x}");
    assert!(c["documents"][0]["purged_at"].is_string());
    let out = retention_run(&app, &zero).await;
    assert!(
        out.contains("0 erased"),
        "a second run finds nothing: {out}"
    );

    // The audit chain still verifies: shredding destroyed keys, not events.
    let mut cmd = tokio::process::Command::new(env!("CARGO_BIN_EXE_crm"));
    cmd.args(["audit", "verify"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    app.fresh.env(&mut cmd);
    let out = cmd.output().await.unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    app.stop().await;
}

async fn audience(app: &App, who: &reqwest::Client, query: &str) -> (u16, Value) {
    app.send(who.get(app.url(&format!("/api/marketing/audience?{query}"))))
        .await
}

fn ids(v: &Value) -> Vec<String> {
    let mut ids: Vec<String> = v["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["id"].as_str().unwrap().to_string())
        .collect();
    ids.sort();
    ids
}

async fn consent(app: &App, id: &str, channel: &str, granted: bool) -> i64 {
    let (s, v) = app
        .post(
            &format!("/api/privacy/subjects/{id}/consent"),
            json!({"channel": channel, "granted": granted}),
        )
        .await;
    assert_eq!(s, 200, "{v}");
    v["position"].as_i64().unwrap()
}

async fn marketing_audience_follows_consent_at_once(store: Store) {
    let app = App::start(store).await;
    let rm = app.actor(Role::RelationshipManager, Some("MUM-01")).await;
    let delhi = app.actor(Role::BranchManager, Some("DEL-01")).await;
    let (a, _) = app
        .capture(json!({"name": "Anil Mail", "email": "anil@example.in", "source": "website"}))
        .await;
    let (b, _) = app
        .capture(json!({"name": "Bela Sms", "phone": "9811122233", "source": "website"}))
        .await;
    consent(&app, &a, "email", true).await;
    consent(&app, &a, "sms", true).await; // no phone: reaches nobody by SMS
    consent(&app, &b, "sms", true).await;
    let (s, v) = app
        .post("/api/clients", new_client(None, "QWXPZ9876K", &rm.id))
        .await;
    assert_eq!(s, 201, "{v}");
    let c = v["id"].as_str().unwrap().to_string();
    consent(&app, &c, "sms", true).await;
    let p = consent(&app, &c, "email", true).await;

    let (s, v) = audience(&app, &app.http, &format!("channel=sms&min_position={p}")).await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["total"], 2);
    let mut want = vec![b.clone(), c.clone()];
    want.sort();
    assert_eq!(ids(&v), want);
    let client = v["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["kind"] == "client")
        .unwrap();
    assert_eq!(client["contact"], "+919988776655");
    let (_, v) = audience(&app, &app.http, "channel=email").await;
    let mut want = vec![a.clone(), c.clone()];
    want.sort();
    assert_eq!(ids(&v), want);

    // Pages by cursor give everyone once.
    let (_, first) = audience(&app, &app.http, "channel=email&limit=1").await;
    let cursor = first["next_cursor"].as_str().unwrap().to_string();
    let (_, second) = audience(
        &app,
        &app.http,
        &format!("channel=email&limit=1&cursor={cursor}"),
    )
    .await;
    assert!(second["next_cursor"].is_null(), "{second}");
    let mut seen = [ids(&first), ids(&second)].concat();
    seen.sort();
    assert_eq!(seen, want);

    // A withdrawal or an erasure request takes the person off at once.
    let p = consent(&app, &c, "sms", false).await;
    let (_, v) = audience(&app, &app.http, &format!("channel=sms&min_position={p}")).await;
    assert_eq!(ids(&v), vec![b.clone()]);
    let (s, v) = app
        .post(&format!("/api/privacy/subjects/{b}/erasure"), json!({}))
        .await;
    assert_eq!(s, 200, "{v}");
    let (_, v) = audience(
        &app,
        &app.http,
        &format!("channel=sms&min_position={}", v["position"]),
    )
    .await;
    assert_eq!(v["total"], 0, "{v}");

    // Within what the caller may see; sales agents do not pull marketing lists.
    let (_, v) = audience(&app, &delhi.http, "channel=email").await;
    assert_eq!(
        v["total"], 1,
        "the unassigned lead only, not MUM-01's client: {v}"
    );
    let (s, _) = audience(&app, &rm.http, "channel=email").await;
    assert_eq!(s, 403);
    let (s, v) = audience(&app, &app.http, "channel=fax").await;
    assert_eq!(s, 400, "{v}");
    let (s, v) = audience(&app, &app.http, "channel=email&cursor=nonsense").await;
    assert_eq!((s, v["errors"][0]["field"].as_str()), (422, Some("cursor")));
    app.stop().await;
}

async fn seed(fresh: &Fresh) -> (bool, String) {
    let mut cmd = tokio::process::Command::new(env!("CARGO_BIN_EXE_crm"));
    cmd.arg("seed")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    fresh.env(&mut cmd);
    let out = cmd.output().await.expect("run crm seed");
    (
        out.status.success(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

async fn seed_gives_demo_users_leads_and_a_client_with_documents(store: Store) {
    let fresh = Fresh::new(store).await;
    let (ok, out) = seed(&fresh).await;
    if store == Store::Postgres {
        assert!(!ok && out.contains("only runs on the embedded"), "{out}");
        let _ = std::fs::remove_dir_all(&fresh.data_dir);
        return;
    }
    assert!(ok, "{out}");
    assert!(out.contains("created client Neha Kapoor"), "{out}");
    let (ok, again) = seed(&fresh).await;
    assert!(
        ok && again.contains("kept    demo leads and client"),
        "{again}"
    );
    let app = App::start_with(fresh, |_| {}).await;
    app.caught_up().await;
    let agent = crate::support::login(&app.base, "agent1@demo.broker", "demo-agent-pass-1").await;
    let (_, v) = app.get_as(&agent, "/api/clients?q=ABHPK4821M").await;
    assert_eq!(v["total"], 1, "{v}");
    assert_eq!(
        v["items"][0]["pan_masked"], "******821M",
        "lists show no full PAN"
    );
    let (_, client) = app
        .get_as(
            &agent,
            &format!("/api/clients/{}", v["items"][0]["id"].as_str().unwrap()),
        )
        .await;
    assert_eq!(client["name"], "Neha Kapoor");
    let docs = client["documents"].as_array().unwrap();
    let types: Vec<&str> = docs
        .iter()
        .map(|d| d["content_type"].as_str().unwrap())
        .collect();
    assert_eq!(types, vec!["application/pdf", "image/png", "image/jpeg"]);
    let r = agent
        .http
        .get(app.url(&format!(
            "/api/clients/{}/documents/{}",
            client["id"].as_str().unwrap(),
            docs[0]["id"].as_str().unwrap()
        )))
        .send()
        .await
        .unwrap();
    assert_eq!(
        r.bytes().await.unwrap().to_vec(),
        include_bytes!("../../fixtures/documents/pan-card.pdf").to_vec()
    );
    let (_, v) = app.get_as(&agent, "/api/leads").await;
    assert_eq!(v["total"], 2, "the agent's two demo leads: {v}");
    app.stop().await;
}

/// `GET /api/clients/{id}?as_of=` folds the client from the log up to that time: a later
/// address and a later document are not in it; before onboarding there is nothing; access is
/// decided on the client now; the read is recorded.
async fn client_as_of_replays_the_client_as_they_stood(store: Store) {
    let app = App::start(store).await;
    let rm = app.actor(Role::RelationshipManager, Some("MUM-01")).await;
    let delhi = app.actor(Role::RelationshipManager, Some("DEL-01")).await;
    let before_onboarding = chrono::Utc::now();
    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    let (s, v) = app
        .post("/api/clients", new_client(None, "QWXPZ9876K", &rm.id))
        .await;
    assert_eq!(s, 201, "{v}");
    let id = v["id"].as_str().unwrap().to_string();
    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    let onboarded = chrono::Utc::now();
    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    let (s, v) = app
        .send(
            app.http
                .patch(app.url(&format!("/api/clients/{id}")))
                .json(&json!({"address": "9 Koregaon Park, Pune 411001"})),
        )
        .await;
    assert_eq!(s, 200, "{v}");
    let (s, v) = upload(
        &app,
        &app.http,
        &id,
        "kind=pan_card&file_name=pan.pdf",
        pdf("as-of"),
    )
    .await;
    assert_eq!(s, 201, "{v}");
    let at =
        |t: chrono::DateTime<chrono::Utc>| t.to_rfc3339_opts(chrono::SecondsFormat::Micros, true);

    let (s, now) = app
        .get(&format!("/api/clients/{id}?min_position={}", v["position"]))
        .await;
    assert_eq!(s, 200, "{now}");
    assert_eq!(now["address"], "9 Koregaon Park, Pune 411001");
    assert_eq!(now["documents"].as_array().unwrap().len(), 1);

    let (s, then) = app
        .get(&format!("/api/clients/{id}?as_of={}", at(onboarded)))
        .await;
    assert_eq!(s, 200, "{then}");
    assert_eq!(then["address"], "77 Zephyr Lane, Pune 411001");
    assert_eq!(then["documents"].as_array().unwrap().len(), 0, "{then}");
    assert_eq!(then["name"], "Vikram Quillfeather");

    let (s, v) = app
        .get(&format!(
            "/api/clients/{id}?as_of={}",
            at(before_onboarding)
        ))
        .await;
    assert_eq!(s, 404, "{v}");
    let (s, _) = app
        .get_as(
            &delhi,
            &format!("/api/clients/{id}?as_of={}", at(onboarded)),
        )
        .await;
    assert_eq!(
        s, 404,
        "an agent of another branch does not see the client, then or now"
    );
    let (s, _) = app
        .get_as(&rm, &format!("/api/clients/{id}?as_of={}", at(onboarded)))
        .await;
    assert_eq!(s, 200);
    let (s, v) = app.get(&format!("/api/clients/{id}?as_of=yesterday")).await;
    assert_eq!(s, 400, "{v}");

    app.caught_up().await;
    let (s, v) = app
        .get(&format!(
            "/api/history?subject_id={id}&event_type=PiiViewed"
        ))
        .await;
    assert_eq!(s, 200, "{v}");
    // The full read, and the two replays that answered (refusals record nothing).
    let readers: Vec<&str> = v["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["actor_id"].as_str().unwrap())
        .collect();
    assert_eq!(readers.len(), 3, "{v}");
    assert_eq!(readers.iter().filter(|a| **a == rm.id).count(), 1, "{v}");
    app.stop().await;
}

/// A lead and the client it became are one person: the export through the lead's id holds the
/// client and their documents, a consent withdrawn through the lead's id stops marketing to the
/// client, and a command that changes nothing says so.
async fn a_person_is_one_data_subject_through_either_id(store: Store) {
    let app = App::start(store).await;
    let rm = app.actor(Role::RelationshipManager, Some("MUM-01")).await;
    let (lead, client) =
        converted_lead(&app, "Vikram Quillfeather", "vikram.quill@example.in").await;
    let (s, v) = app
        .post(
            "/api/clients",
            new_client(Some(&lead), "QWXPZ9876K", &rm.id),
        )
        .await;
    assert_eq!(s, 201, "{v}");
    assert_eq!(v["id"], client.as_str());
    let (s, v) = upload(
        &app,
        &app.http,
        &client,
        "kind=pan_card&file_name=pan.pdf",
        pdf("one-person"),
    )
    .await;
    assert_eq!(s, 201, "{v}");
    let document = v["id"].as_str().unwrap().to_string();

    // Consent given through the client, withdrawn through the lead: the client leaves the
    // audience at once.
    let p = consent(&app, &client, "email", true).await;
    let (_, v) = audience(&app, &app.http, &format!("channel=email&min_position={p}")).await;
    assert_eq!(ids(&v), vec![client.clone()]);
    let p = consent(&app, &lead, "email", false).await;
    let (_, v) = audience(&app, &app.http, &format!("channel=email&min_position={p}")).await;
    assert_eq!(ids(&v), Vec::<String>::new(), "{v}");
    let (s, v) = app
        .post(
            &format!("/api/privacy/subjects/{client}/consent"),
            json!({"channel": "email", "granted": false}),
        )
        .await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["changed"], false, "already withdrawn: {v}");

    // The export through the lead's id is the whole person's.
    let (s, v) = app
        .get(&format!("/api/privacy/subjects/{lead}/export"))
        .await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["subject_id"], lead.as_str());
    assert_eq!(v["client"]["id"], client.as_str(), "{v}");
    assert_eq!(v["profile"]["id"], lead.as_str(), "{v}");
    assert_eq!(v["documents"][0]["id"], document.as_str(), "{v}");
    let types: Vec<&str> = v["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["event_type"].as_str().unwrap())
        .collect();
    assert!(
        types.contains(&"LeadCaptured") && types.contains(&"ClientOnboarded"),
        "{types:?}"
    );
    app.stop().await;
}

/// The account lifecycle: suspended with a reason and reactivated, closed and reopened within
/// the retention period; illegal moves refused naming the allowed ones; only an active account
/// takes new trades; dormancy marked by the scheduled step, once, and not for an account that
/// traded within the period.
async fn account_lifecycle_moves_and_dormancy(store: Store) {
    let app = App::start(store).await;
    let rm = app.actor(Role::RelationshipManager, Some("MUM-01")).await;
    let officer = app.actor(Role::ComplianceOfficer, None).await;
    let (s, v) = app
        .post("/api/clients", new_client(None, "QWXPL1234C", &rm.id))
        .await;
    assert_eq!(s, 201, "{v}");
    let a = v["id"].as_str().unwrap().to_string();
    let path = format!("/api/clients/{a}/status");
    let get = |p: i64| {
        let a = a.clone();
        let app = &app;
        async move {
            let (s, v) = app.get(&format!("/api/clients/{a}?min_position={p}")).await;
            assert_eq!(s, 200, "{v}");
            v
        }
    };

    // Who may, and what must be said.
    let (s, _) = app
        .post_as(&rm, &path, json!({"status": "suspended", "reason": "x"}))
        .await;
    assert_eq!(s, 403);
    let head = app.log_head().await;
    let (s, v) = app.post(&path, json!({"status": "suspended"})).await;
    assert_eq!(
        (s, v["errors"][0]["field"].as_str()),
        (422, Some("reason")),
        "{v}"
    );
    let (s, _) = app
        .post(&path, json!({"status": "inactive", "reason": "x"}))
        .await;
    assert_eq!(s, 400, "dormancy is the scheduled step's");
    assert_eq!(
        app.log_head().await,
        head,
        "refused requests append nothing"
    );

    // Suspended, with why; not twice; listed by status.
    let (s, v) = app
        .send(
            officer
                .http
                .post(app.url(&path))
                .json(&json!({"status": "suspended", "reason": "Exchange inquiry"})),
        )
        .await;
    assert_eq!(s, 200, "{v}");
    let c = get(v["position"].as_i64().unwrap()).await;
    assert_eq!(c["status"], "suspended");
    assert_eq!(c["status_reason"], "Exchange inquiry");
    let (s, v) = app
        .post(&path, json!({"status": "suspended", "reason": "again"}))
        .await;
    assert_eq!(s, 409, "{v}");
    assert_eq!(v["type"], "/problems/illegal-transition");
    assert_eq!(v["allowed"], json!(["active", "closed"]));
    let (_, list) = app.get("/api/clients?status=suspended").await;
    let ids: Vec<&str> = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, vec![a.as_str()]);

    // Active again; closed; a closed account takes no changes until reopened, with a reason.
    let (s, v) = app.post(&path, json!({"status": "active"})).await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(
        get(v["position"].as_i64().unwrap()).await["status"],
        "active"
    );
    let (s, v) = app
        .post(
            &path,
            json!({"status": "closed", "reason": "Client moved abroad"}),
        )
        .await;
    assert_eq!(s, 200, "{v}");
    let c = get(v["position"].as_i64().unwrap()).await;
    assert_eq!(c["status"], "closed");
    assert!(c["privacy"]["retention_until"].is_string(), "{c}");
    let (s, v) = app
        .post(&path, json!({"status": "closed", "reason": "again"}))
        .await;
    assert_eq!(
        (s, v["type"].as_str()),
        (409, Some("/problems/illegal-transition")),
        "{v}"
    );
    assert_eq!(v["allowed"], json!(["active"]));
    let edit = json!({"address": "4 Carter Road, Mumbai 400050"});
    let patch = |body: Value| {
        app.send(
            app.http
                .patch(app.url(&format!("/api/clients/{a}")))
                .json(&body),
        )
    };
    assert_eq!(patch(edit.clone()).await.0, 409);
    let (s, v) = app.post(&path, json!({"status": "active"})).await;
    assert_eq!(
        (s, v["errors"][0]["field"].as_str()),
        (422, Some("reason")),
        "{v}"
    );
    let (s, v) = app
        .post(
            &path,
            json!({"status": "active", "reason": "Returned to India"}),
        )
        .await;
    assert_eq!(s, 200, "{v}");
    let c = get(v["position"].as_i64().unwrap()).await;
    assert_eq!(c["status"], "active");
    assert_eq!(c["closed_at"], Value::Null);
    assert_eq!(c["status_reason"], "Returned to India");
    let (s, v) = patch(edit).await;
    assert_eq!(s, 200, "{v}");

    // Dormancy. Client b traded three days ago; a never did. Both accounts are made to look
    // opened long ago (the read model's activity day; no clock is turned back).
    let b = crate::kyc::verified_client(&app, &rm, &officer, "BKDPL4410J", "2034-01-01").await;
    let on = (chrono::Utc::now() + chrono::Duration::minutes(330)).date_naive()
        - chrono::Duration::days(3);
    let (s, v) = app
        .post_as(
            &rm,
            "/api/investments",
            json!({"client_id": b, "side": "buy", "asset_class": "etf", "isin": "INF204KB14I2",
                   "symbol": "NIFTYBEES", "exchange": "NSE", "quantity": "10", "price": "250.5",
                   "trade_date": on.to_string(), "reference": "CN-1",
                   "override_reason": "Client insisted after the risk talk"}),
        )
        .await;
    assert_eq!(s, 201, "{v}");
    app.caught_up().await;
    store::with_db!(app.db(), pool => {
        sqlx::query("UPDATE clients SET activity_on = '2020-01-01'")
            .execute(pool)
            .await
            .unwrap();
    });
    let envs = [("CRM_DORMANT_AFTER", "30d")];
    let out = crate::support::crm(&app, &["clients", "dormancy"], &envs).await;
    assert!(out.contains("1 marked inactive"), "{out}");
    let out = crate::support::crm(&app, &["clients", "dormancy"], &envs).await;
    assert!(out.contains("0 marked inactive"), "once: {out}");
    let c = get(app.log_head().await).await;
    assert_eq!(c["status"], "inactive");
    assert_eq!(c["last_activity_on"], "2020-01-01");
    let (_, bv) = app.get(&format!("/api/clients/{b}")).await;
    assert_eq!(bv["status"], "active", "traded within the period");

    // A dormant account takes no new trade until reactivated; nor does a suspended one.
    let (s, v) = app
        .post_as(
            &rm,
            "/api/investments",
            json!({"client_id": a, "side": "buy", "asset_class": "etf", "isin": "INF204KB14I2",
                   "symbol": "NIFTYBEES", "exchange": "NSE", "quantity": "1", "price": "250",
                   "trade_date": on.to_string(), "reference": "CN-3",
                   "override_reason": "Client insisted after the risk talk"}),
        )
        .await;
    assert_eq!(
        (s, v["type"].as_str()),
        (409, Some("/problems/account-not-active")),
        "{v}"
    );
    assert!(v["detail"].as_str().unwrap().contains("inactive"), "{v}");
    let (s, v) = app
        .post(
            &path,
            json!({"status": "suspended", "reason": "Dormant and unreachable"}),
        )
        .await;
    assert_eq!(s, 200, "{v}");
    let (s, v) = app
        .post_as(
            &rm,
            "/api/investments",
            json!({"client_id": a, "side": "buy", "asset_class": "etf", "isin": "INF204KB14I2",
                   "symbol": "NIFTYBEES", "exchange": "NSE", "quantity": "1", "price": "250",
                   "trade_date": on.to_string(), "reference": "CN-2",
                   "override_reason": "Client insisted after the risk talk"}),
        )
        .await;
    assert_eq!(s, 409, "{v}");
    assert_eq!(v["type"], "/problems/account-not-active");
    let (_, h) = app.get(&format!("/api/clients/{a}/history")).await;
    let kinds: Vec<&str> = h["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["event_type"].as_str().unwrap_or_default())
        .collect();
    assert_eq!(
        kinds
            .iter()
            .filter(|k| **k == "AccountMarkedDormant")
            .count(),
        1,
        "{kinds:?}"
    );
    app.stop().await;
}

/// A client's timeline: the lead's and the client's events as one story, newest first, by
/// kind, keyset-paged, with personal fields kept out.
async fn the_timeline_tells_the_persons_story_newest_first(store: Store) {
    let app = App::start(store).await;
    let rm = app.actor(Role::RelationshipManager, Some("MUM-01")).await;
    let delhi = app.actor(Role::RelationshipManager, Some("DEL-01")).await;
    let (lead, _) = app
        .capture(
            json!({"name": "Vikram Quillfeather", "email": "vikram.quill@example.in",
                        "source": "referral"}),
        )
        .await;
    let (s, v) = app
        .post(
            &format!("/api/leads/{lead}/interactions"),
            json!({"kind": "call", "summary": "Discussed the zebrawood fund"}),
        )
        .await;
    assert_eq!(s, 201, "{v}");
    for status in ["contacted", "qualified"] {
        let (s, v) = app
            .post(
                &format!("/api/leads/{lead}/status"),
                json!({"status": status}),
            )
            .await;
        assert_eq!(s, 200, "{v}");
    }
    let (s, v) = app
        .post(&format!("/api/leads/{lead}/convert"), json!({}))
        .await;
    assert_eq!(s, 200, "{v}");
    app.lead(&lead, v["position"].as_i64().unwrap()).await;
    let (s, v) = app
        .post(
            "/api/clients",
            new_client(Some(&lead), "QWXPT1234C", &rm.id),
        )
        .await;
    assert_eq!(s, 201, "{v}");
    let client = v["id"].as_str().unwrap().to_string();
    let (s, v) = app
        .post(
            &format!("/api/clients/{client}/status"),
            json!({"status": "suspended", "reason": "Exchange inquiry"}),
        )
        .await;
    assert_eq!(s, 200, "{v}");
    let head = v["position"].as_i64().unwrap();

    let timeline = |query: String| {
        let app = &app;
        let client = client.clone();
        async move {
            let (s, v) = app
                .get(&format!(
                    "/api/clients/{client}/timeline?min_position={head}{query}"
                ))
                .await;
            assert_eq!(s, 200, "{v}");
            v
        }
    };
    let all = timeline(String::new()).await;
    let items = all["items"].as_array().unwrap();
    let types: Vec<&str> = items
        .iter()
        .map(|i| i["event_type"].as_str().unwrap())
        .collect();
    assert_eq!(
        types,
        vec![
            "AccountSuspended",
            "ClientOnboarded",
            "LeadConverted",
            "LeadStatusChanged",
            "LeadStatusChanged",
            "InteractionLogged",
            "LeadCaptured"
        ]
    );
    let positions: Vec<i64> = items
        .iter()
        .map(|i| i["position"].as_i64().unwrap())
        .collect();
    assert!(
        positions.windows(2).all(|w| w[0] > w[1]),
        "newest first: {positions:?}"
    );
    assert_eq!(items[0]["record"], "client");
    assert_eq!(items[5]["record"], "lead");
    assert_eq!(items[5]["record_id"], lead);
    assert_eq!(items[5]["kind"], "interaction");
    let text = all.to_string();
    for secret in [
        "zebrawood",
        "Quillfeather",
        "vikram.quill",
        "QWXPT1234C",
        "Exchange inquiry",
    ] {
        assert!(!text.contains(secret), "{secret} in the timeline: {text}");
    }
    assert_eq!(all["next_cursor"], Value::Null);

    // By kind.
    let only = timeline("&kind=interaction&kind=status".into()).await;
    let kinds: Vec<&str> = only["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["kind"].as_str().unwrap())
        .collect();
    assert_eq!(
        kinds,
        vec![
            "status",
            "status",
            "status",
            "status",
            "status",
            "interaction",
            "status"
        ]
    );
    let only = timeline("&kind=interaction".into()).await;
    assert_eq!(only["items"].as_array().unwrap().len(), 1, "{only}");

    // Keyset pages of 3 make up the whole.
    let mut paged = Vec::new();
    let mut cursor = String::new();
    loop {
        let page = timeline(format!("&limit=3{cursor}")).await;
        paged.extend(
            page["items"]
                .as_array()
                .unwrap()
                .iter()
                .map(|i| i["position"].as_i64().unwrap()),
        );
        match page["next_cursor"].as_str() {
            Some(c) => cursor = format!("&cursor={c}"),
            None => break,
        }
    }
    assert_eq!(paged, positions);

    // Out of scope: as if it did not exist; bad paging answered by field.
    let (s, _) = app
        .get_as(&delhi, &format!("/api/clients/{client}/timeline"))
        .await;
    assert_eq!(s, 404);
    let (s, v) = app
        .get(&format!("/api/clients/{client}/timeline?cursor=abc"))
        .await;
    assert_eq!(
        (s, v["errors"][0]["field"].as_str()),
        (422, Some("cursor")),
        "{v}"
    );
    let (s, _) = app
        .get(&format!("/api/clients/{client}/timeline?kind=gossip"))
        .await;
    assert!(s == 400 || s == 422, "{s}");
    app.stop().await;
}

/// Details a client declares, as a test sends them.
fn details() -> Value {
    json!({
        "emails": [
            {"label": "personal", "address": "vikram.quill@example.in", "primary": true},
            {"label": "work", "address": "v.quill@zephyr-works.example"}
        ],
        "phones": [{"number": "+91 99887 76655", "primary": true}],
        "preferred_channel": "whatsapp",
        "preferred_time": "evening",
        "addresses": [{"kind": "permanent", "line1": "77 Zephyr Lane", "city": "Pune",
                       "state": "maharashtra", "pin": "411001"}],
        "occupation": "business",
        "annual_income": "above_25_lakh",
        "net_worth": "10_lakh_to_1_crore",
        "nominees": [
            {"name": "Ira Quillfeather", "relationship": "spouse", "share": "70",
             "date_of_birth": "1982-07-14"},
            {"name": "Kabir Quillfeather", "relationship": "son", "share": "30",
             "date_of_birth": "2016-02-29", "guardian_name": "Ira Quillfeather"}
        ],
        "bank_accounts": [{"ifsc": "HDFC0000060", "account_number": "50100987654321",
                           "account_type": "savings", "primary": true}],
        "demat_accounts": [{"dp_id": "IN300476", "client_id": "40001234", "primary": true}]
    })
}

/// The profile with contacts, addresses, finances, nominees, bank and demat accounts: every
/// value and rule checked (nothing appended when refused), sealed, replaced whole or by part;
/// a minor only with a guardian; the segment from declared net worth and, through the review
/// step, assets under management; lists filtered by segment.
async fn a_client_profile_holds_contacts_addresses_nominees_accounts_and_a_segment(store: Store) {
    let app = App::start(store).await;
    let rm = app.actor(Role::RelationshipManager, Some("MUM-01")).await;
    let officer = app.actor(Role::ComplianceOfficer, None).await;
    let head = app.log_head().await;

    // Every value and every rule is checked, all named at once; nothing is appended.
    let mut wrong = new_client(None, "QDTPL4321K", &rm.id);
    let mut d = details();
    d["nominees"][1]["share"] = json!("20");
    d["addresses"][0]["pin"] = json!("560001");
    d["bank_accounts"][0]["ifsc"] = json!("HDFC1000060");
    d["emails"][1]["primary"] = json!(true);
    d["demat_accounts"][0]["dp_id"] = json!("IN30047");
    wrong["details"] = d;
    let (s, v) = app.post("/api/clients", wrong).await;
    assert_eq!(s, 422, "{v}");
    let fields: Vec<&str> = v["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    assert_eq!(
        fields,
        [
            "details.addresses[0]",
            "details.bank_accounts[0].ifsc",
            "details.demat_accounts[0]"
        ],
        "values first: {v}"
    );
    let mut rules = new_client(None, "QDTPL4321K", &rm.id);
    let mut d = details();
    d["nominees"][1]["share"] = json!("20");
    d["emails"][1]["primary"] = json!(true);
    rules["details"] = d;
    let (s, v) = app.post("/api/clients", rules).await;
    assert_eq!(s, 422, "{v}");
    let fields: Vec<&str> = v["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    assert_eq!(fields, ["emails", "nominees"], "{v}");
    assert!(
        v.to_string().contains("90 %"),
        "the shares' sum is named: {v}"
    );
    // Adults only, unless a minor with a guardian.
    let mut minor = new_client(None, "QDTPM4321K", &rm.id);
    minor["date_of_birth"] = json!("2012-05-01");
    let (s, v) = app.post("/api/clients", minor.clone()).await;
    assert_eq!(
        (s, v["errors"][0]["field"].as_str()),
        (422, Some("guardian")),
        "{v}"
    );
    let mut adult = new_client(None, "QDTPA4321K", &rm.id);
    adult["details"] = json!({"guardian": {"name": "Someone Else", "relationship": "father", "pan": "QDTPS1111B"}});
    let (s, v) = app.post("/api/clients", adult).await;
    assert_eq!(
        (s, v["errors"][0]["field"].as_str()),
        (422, Some("guardian")),
        "{v}"
    );
    assert_eq!(
        app.log_head().await,
        head,
        "refused requests append nothing"
    );
    minor["details"] = json!({"guardian": {"name": "Ravi Quillfeather", "relationship": "father",
                                           "pan": "QDTPM4321K"}});
    let (s, v) = app.post("/api/clients", minor.clone()).await;
    assert_eq!(
        (s, v["errors"][0]["field"].as_str()),
        (422, Some("guardian")),
        "not the minor's own PAN: {v}"
    );
    minor["details"] = json!({"guardian": {"name": "Ravi Quillfeather", "relationship": "father", "pan": "QDTPR1111A"}});
    minor["email"] = json!("young.quill@example.in");
    minor["phone"] = json!("9000000001");
    let (s, v) = app.post("/api/clients", minor).await;
    assert_eq!(s, 201, "{v}");
    let (_, m) = app
        .get(&format!(
            "/api/clients/{}?min_position={}",
            v["id"].as_str().unwrap(),
            v["position"]
        ))
        .await;
    assert_eq!(m["minor"], true);
    assert_eq!(m["details"]["guardian"]["name"], "Ravi Quillfeather");

    // Onboarded with details: shown as sent, sealed in the store, affluent by declared worth.
    let mut body = new_client(None, "QDTPL4321K", &rm.id);
    body["details"] = details();
    let (s, v) = app.post("/api/clients", body).await;
    assert_eq!(s, 201, "{v}");
    let id = v["id"].as_str().unwrap().to_string();
    let get = |p: i64| {
        let path = format!("/api/clients/{id}?min_position={p}");
        let app = &app;
        async move {
            let (s, v) = app.get(&path).await;
            assert_eq!(s, 200, "{v}");
            v
        }
    };
    let c = get(v["position"].as_i64().unwrap()).await;
    assert_eq!(c["segment"], "affluent", "{c}");
    assert_eq!(c["minor"], false);
    let d = &c["details"];
    assert_eq!(d["emails"][1]["address"], "v.quill@zephyr-works.example");
    assert_eq!(d["emails"][1]["label"], "work");
    assert_eq!(d["emails"][1]["primary"], false);
    assert_eq!(d["phones"][0]["label"], "personal", "the default label");
    assert_eq!(d["nominees"][1]["share"], "30");
    assert_eq!(d["demat_accounts"][0]["depository"], "nsdl");
    assert_eq!(d["addresses"][0]["state"], "maharashtra");
    for secret in ["50100987654321", "zephyr-works", "Kabir", "40001234"] {
        assert_eq!(count_in_store(&app, secret).await, 0, "{secret} is sealed");
    }

    // A new primary e-mail becomes the client's e-mail (and finds them); a PATCH of the
    // e-mail changes the primary entry.
    let put = |path: String, body: Value| app.send(app.http.put(app.url(&path)).json(&body));
    let (s, v) = put(
        format!("/api/clients/{id}/contacts"),
        json!({"emails": [
                  {"label": "personal", "address": "vikram.quill@example.in"},
                  {"label": "work", "address": "v.quill@zephyr-works.example", "primary": true}],
               "phones": [{"number": "9988776655", "primary": true},
                          {"label": "home", "number": "+91 70 2553 0000"}],
               "preferred_channel": "phone"}),
    )
    .await;
    assert_eq!(s, 200, "{v}");
    let c = get(v["position"].as_i64().unwrap()).await;
    assert_eq!(c["email"], "v.quill@zephyr-works.example");
    assert_eq!(c["details"]["preferred_channel"], "phone");
    assert_eq!(
        c["details"]["preferred_time"],
        Value::Null,
        "the whole part is replaced"
    );
    let (_, found) = app.get("/api/clients?q=v.quill@zephyr-works.example").await;
    assert_eq!(found["items"][0]["id"], id.as_str());
    let (s, v) = app
        .send(
            app.http
                .patch(app.url(&format!("/api/clients/{id}")))
                .json(&json!({"email": "vq@zephyr-works.example"})),
        )
        .await;
    assert_eq!(s, 200, "{v}");
    let c = get(v["position"].as_i64().unwrap()).await;
    assert_eq!(
        c["details"]["emails"][1]["address"],
        "vq@zephyr-works.example"
    );
    assert_eq!(c["details"]["emails"][1]["primary"], true);
    let (s, v) = put(
        format!("/api/clients/{id}/contacts"),
        json!({"emails": [], "phones": [{"number": "9988776655", "primary": true}]}),
    )
    .await;
    assert_eq!(
        (s, v["errors"][0]["field"].as_str()),
        (422, Some("emails")),
        "{v}"
    );

    // Nominees and addresses by part; shares add up to exactly 100.
    let third = |share: &str| {
        json!({"name": "Heir", "relationship": "other", "share": share,
               "date_of_birth": "1990-01-01"})
    };
    let (s, v) = put(
        format!("/api/clients/{id}/nominees"),
        json!({"nominees": [third("33.33"), third("33.33"), third("33.33")]}),
    )
    .await;
    assert_eq!(s, 422, "{v}");
    let (s, v) = put(
        format!("/api/clients/{id}/nominees"),
        json!({"nominees": [third("1e2")]}),
    )
    .await;
    assert_eq!(
        (s, v["errors"][0]["field"].as_str()),
        (422, Some("nominees[0].share")),
        "{v}"
    );
    let (s, v) = put(
        format!("/api/clients/{id}/nominees"),
        json!({"nominees": [third("33.33"), third("33.33"), third("33.34")]}),
    )
    .await;
    assert_eq!(s, 200, "{v}");
    let (s, v) = put(
        format!("/api/clients/{id}/addresses"),
        json!({"addresses": [
            {"kind": "permanent", "line1": "77 Zephyr Lane", "city": "Pune", "state": "maharashtra", "pin": "411001"},
            {"kind": "correspondence", "line1": "4 MG Road", "city": "Bengaluru", "state": "karnataka", "pin": "560001"}]}),
    )
    .await;
    assert_eq!(s, 200, "{v}");
    let c = get(v["position"].as_i64().unwrap()).await;
    assert_eq!(c["details"]["addresses"][1]["city"], "Bengaluru");
    assert_eq!(c["details"]["nominees"][2]["share"], "33.34");
    assert_eq!(c["details"]["occupation"], "business", "other parts stay");
    let (_, h) = app.get(&format!("/api/clients/{id}/history")).await;
    let changed: Vec<Value> = h["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["event_type"] == "ClientDetailsChanged")
        .map(|e| e["changed_fields"].clone())
        .collect();
    assert_eq!(
        changed,
        [
            json!(["contacts", "preferences"]),
            json!(["nominees"]),
            json!(["addresses"])
        ],
        "{h}"
    );

    // A whole replacement: a larger declared worth moves the segment (recorded), and what is
    // left out is cleared.
    let mut whole = json!({"name": "Vikram Quillfeather", "email": "vq@zephyr-works.example",
                           "phone": "9988776655", "address": "77 Zephyr Lane, Pune 411001"});
    whole["details"] = json!({"net_worth": "5_to_25_crore", "occupation": "business"});
    let (s, v) = put(format!("/api/clients/{id}"), whole.clone()).await;
    assert_eq!(s, 200, "{v}");
    let c = get(v["position"].as_i64().unwrap()).await;
    assert_eq!(c["segment"], "ultra_hni");
    assert_eq!(c["details"]["nominees"], json!([]));
    assert_eq!(
        c["details"]["emails"].as_array().unwrap().len(),
        1,
        "only the primary"
    );
    let (_, list) = app.get("/api/clients?segment=ultra_hni").await;
    assert_eq!(ids(&list), vec![id.clone()]);
    let (_, list) = app.get("/api/clients?segment=retail").await;
    assert!(!ids(&list).contains(&id), "{list}");
    let (s, v) = app.get("/api/clients?segment=vip").await;
    assert_eq!(s, 400, "{v}");
    let before = app.log_head().await;
    let same = put(format!("/api/clients/{id}"), whole.clone()).await;
    assert_eq!(same.0, 200);
    assert_eq!(
        app.log_head().await,
        before,
        "the same record again changes nothing"
    );
    whole["details"] = json!({});
    let (s, v) = put(format!("/api/clients/{id}"), whole).await;
    assert_eq!(s, 200, "{v}");
    let c = get(v["position"].as_i64().unwrap()).await;
    assert_eq!(
        c["segment"], "ultra_hni",
        "a lower declared worth moves the client down only through the review"
    );
    let out = crate::support::crm(&app, &["clients", "segments"], &[]).await;
    assert!(out.contains("1 moved"), "{out}");
    let c = get(app.log_head().await).await;
    assert_eq!(c["segment"], "retail");
    let (_, h) = app.get(&format!("/api/clients/{id}/history")).await;
    let moves = h["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["event_type"] == "ClientSegmentChanged")
        .count();
    assert_eq!(moves, 3, "affluent, ultra_hni, retail: {h}");

    // The review step: holdings worth more than 10 lakh make a retail client affluent, once.
    let b = crate::kyc::verified_client(&app, &rm, &officer, "BKDPQ4410J", "2034-01-01").await;
    let on = (chrono::Utc::now() + chrono::Duration::minutes(330)).date_naive()
        - chrono::Duration::days(3);
    let (s, v) = app
        .post_as(
            &rm,
            "/api/investments",
            json!({"client_id": b, "side": "buy", "asset_class": "etf", "isin": "INF204KB14I2",
                   "symbol": "NIFTYBEES", "exchange": "NSE", "quantity": "5000", "price": "250.5",
                   "trade_date": on.to_string(), "reference": "CN-SEG-1",
                   "override_reason": "Client insisted after the risk talk"}),
        )
        .await;
    assert_eq!(s, 201, "{v}");
    app.caught_up().await;
    let out = crate::support::crm(&app, &["clients", "segments"], &[]).await;
    assert!(out.contains("1 moved"), "{out}");
    let out = crate::support::crm(&app, &["clients", "segments"], &[]).await;
    assert!(out.contains("0 moved"), "once: {out}");
    let (_, bv) = app
        .get(&format!(
            "/api/clients/{b}?min_position={}",
            app.log_head().await
        ))
        .await;
    assert_eq!(bv["segment"], "affluent", "{bv}");
    let out = crate::support::crm(
        &app,
        &["clients", "segments"],
        &[(
            "CRM_SEGMENT_THRESHOLDS",
            "affluent=2000000,hni=30000000,ultra_hni=90000000",
        )],
    )
    .await;
    assert!(
        out.contains("1 moved"),
        "new thresholds move the client back: {out}"
    );
}

/// Interactions and follow-ups on a client: logged and listed (sealed), follow-ups in the
/// managers' due list within their scope, completed once, cancelled when the account closes.
async fn a_client_is_worked_with_interactions_and_follow_ups(store: Store) {
    let app = App::start(store).await;
    let rm = app.actor(Role::RelationshipManager, Some("MUM-01")).await;
    let other = app.actor(Role::RelationshipManager, Some("DEL-01")).await;
    let (s, v) = app
        .post_as(&rm, "/api/clients", new_client(None, "QWKPL1234C", &rm.id))
        .await;
    assert_eq!(s, 201, "{v}");
    let id = v["id"].as_str().unwrap().to_string();

    let (s, v) = app
        .post_as(
            &rm,
            &format!("/api/clients/{id}/interactions"),
            json!({"kind": "review", "direction": "outbound", "duration_minutes": 40,
                   "summary": "Half-yearly review: rebalancing towards debt funds"}),
        )
        .await;
    assert_eq!(s, 201, "{v}");
    let logged = v["position"].as_i64().unwrap();
    let (s, v) = app
        .post_as(
            &rm,
            &format!("/api/clients/{id}/interactions"),
            json!({"kind": "call", "summary": "x",
                   "occurred_at": (chrono::Utc::now() + chrono::Duration::hours(2)).to_rfc3339()}),
        )
        .await;
    assert_eq!(
        (s, v["errors"][0]["field"].as_str()),
        (422, Some("occurred_at")),
        "{v}"
    );
    let (s, page) = app
        .get_as(
            &rm,
            &format!("/api/clients/{id}/interactions?min_position={logged}"),
        )
        .await;
    assert_eq!(s, 200, "{page}");
    assert_eq!(page["total"], 1);
    assert_eq!(page["items"][0]["kind"], "review");
    assert_eq!(
        page["items"][0]["summary"],
        "Half-yearly review: rebalancing towards debt funds"
    );
    assert_eq!(
        count_in_store(&app, "rebalancing towards debt").await,
        0,
        "sealed"
    );
    let (s, _) = app
        .get_as(&other, &format!("/api/clients/{id}/interactions"))
        .await;
    assert_eq!(s, 404, "another branch's manager does not see the client");

    // Follow-ups: in the past refused; listed for the manager, not for another branch's.
    let follow_ups = format!("/api/clients/{id}/follow-ups");
    let schedule = |due: chrono::DateTime<chrono::Utc>, note: &str| {
        app.post_as(
            &rm,
            &follow_ups,
            json!({"due_at": due.to_rfc3339(), "channel": "meeting", "note": note}),
        )
    };
    let (s, v) = schedule(chrono::Utc::now() - chrono::Duration::hours(1), "late").await;
    assert_eq!(
        (s, v["errors"][0]["field"].as_str()),
        (422, Some("due_at")),
        "{v}"
    );
    let (s, v) = schedule(
        chrono::Utc::now() + chrono::Duration::hours(3),
        "Bring the SIP form",
    )
    .await;
    assert_eq!(s, 201, "{v}");
    let fid = v["id"].as_str().unwrap().to_string();
    let at = v["position"].as_i64().unwrap();
    let (s, list) = app
        .get_as(
            &rm,
            &format!("/api/clients/follow-ups?due=upcoming&min_position={at}"),
        )
        .await;
    assert_eq!(s, 200, "{list}");
    assert_eq!(list["total"], 1, "{list}");
    let item = &list["items"][0];
    assert_eq!(item["follow_up_id"], fid.as_str());
    assert_eq!(item["client_name"], "Vikram Quillfeather");
    assert_eq!(item["client_phone"], "+919988776655");
    assert_eq!(item["note"], "Bring the SIP form");
    let (_, c) = app
        .get_as(&rm, &format!("/api/clients/{id}?min_position={at}"))
        .await;
    assert_eq!(c["follow_ups"][0]["id"], fid.as_str(), "{c}");
    assert_eq!(c["follow_ups"][0]["channel"], "meeting");
    let (_, overdue) = app.get_as(&rm, "/api/clients/follow-ups?due=overdue").await;
    assert_eq!(overdue["total"], 0);
    let (_, theirs) = app.get_as(&other, "/api/clients/follow-ups?due=any").await;
    assert_eq!(theirs["total"], 0, "scoped: {theirs}");

    // Completed once; an unknown one is 404.
    let done = format!("/api/clients/{id}/follow-ups/{fid}/complete");
    let (s, v) = app
        .post_as(&rm, &done, json!({"note": "Form signed"}))
        .await;
    assert_eq!(s, 200, "{v}");
    let (s, v) = app
        .post_as(&rm, &done, json!({"note": "Form signed"}))
        .await;
    assert_eq!(
        (s, v["type"].as_str()),
        (409, Some("/problems/follow-up-closed")),
        "{v}"
    );
    let unknown = format!(
        "/api/clients/{id}/follow-ups/{}/complete",
        uuid::Uuid::new_v4()
    );
    let (s, _) = app.post_as(&rm, &unknown, json!({})).await;
    assert_eq!(s, 404);
    let (_, list) = app
        .get_as(
            &rm,
            &format!(
                "/api/clients/follow-ups?due=any&min_position={}",
                app.log_head().await
            ),
        )
        .await;
    assert_eq!(list["total"], 0, "{list}");

    // Closing the account cancels what is still open.
    let (s, v) = schedule(
        chrono::Utc::now() + chrono::Duration::days(3),
        "Tax-loss harvesting",
    )
    .await;
    assert_eq!(s, 201, "{v}");
    let (s, v) = app
        .post(
            &format!("/api/clients/{id}/close"),
            json!({"reason": "Client moved abroad"}),
        )
        .await;
    assert_eq!(s, 200, "{v}");
    let (_, list) = app
        .get_as(
            &rm,
            &format!(
                "/api/clients/follow-ups?due=any&min_position={}",
                v["position"]
            ),
        )
        .await;
    assert_eq!(list["total"], 0, "{list}");
    let (_, h) = app.get(&format!("/api/clients/{id}/history")).await;
    let kinds: Vec<&str> = h["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["event_type"].as_str().unwrap())
        .collect();
    assert!(
        kinds.ends_with(&["RelationshipClosed", "FollowUpCancelled"]),
        "{kinds:?}"
    );
    let (_, t) = app
        .get(&format!("/api/clients/{id}/timeline?kind=interaction"))
        .await;
    assert_eq!(t["items"].as_array().unwrap().len(), 1, "{t}");
}

/// The object names under `prefix` in `bucket` of the test's S3-compatible server, and the
/// server's address.
async fn bucket_objects(bucket: &str, prefix: &str) -> Vec<String> {
    let endpoint = std::env::var("CRM_TEST_S3_ENDPOINT").unwrap();
    let listing = reqwest::get(format!("{endpoint}/{bucket}?list-type=2&prefix={prefix}"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    listing
        .split("<Key>")
        .skip(1)
        .filter_map(|k| k.split_once("</Key>").map(|(k, _)| k.to_string()))
        .collect()
}

/// With `CRM_DOCUMENT_STORE=s3://…`, KYC files go to the bucket sealed (never the database, never
/// plaintext), are served and exported opened, and go from the bucket with a purge and an
/// erasure.
async fn document_files_in_a_bucket_are_sealed_served_exported_and_deleted(store: Store) {
    let endpoint = std::env::var("CRM_TEST_S3_ENDPOINT").expect(
        "CRM_TEST_S3_ENDPOINT is not set: run the tests with scripts/test, which starts a local S3 server",
    );
    let bucket = format!("crm-test-{}", uuid::Uuid::new_v4().simple());
    let made = reqwest::Client::new()
        .put(format!("{endpoint}/{bucket}"))
        .send()
        .await
        .unwrap();
    assert!(made.status().is_success(), "bucket: {}", made.status());
    let url = format!("s3://{bucket}/kyc");
    let app = App::start_with(Fresh::new(store).await, |c| {
        c.store.document_store = Some(url.clone());
        c.store.retention_client_records = domain::values::RetentionPeriod::Days(0);
        c.store.retention_kyc_documents = domain::values::RetentionPeriod::Days(0);
    })
    .await;
    let rm = app.actor(Role::RelationshipManager, Some("MUM-01")).await;
    let compliance = app.actor(Role::ComplianceOfficer, None).await;
    let (lead, id) = converted_lead(&app, "Vikram Quillfeather", "vikram.quill@example.in").await;
    let (s, v) = app
        .post(
            "/api/clients",
            new_client(Some(&lead), "QWXPZ9876K", &rm.id),
        )
        .await;
    assert_eq!(s, 201, "{v}");
    let file = pdf("heron-marker");
    let (s, v) = upload(
        &app,
        &rm.http,
        &id,
        "kind=pan_card&file_name=pan.pdf",
        file.clone(),
    )
    .await;
    assert_eq!(s, 201, "{v}");
    let document = v["id"].as_str().expect("document id").to_string();

    // In the bucket, sealed; not in the database.
    let objects = bucket_objects(&bucket, &format!("kyc/{id}/")).await;
    assert_eq!(objects, vec![format!("kyc/{id}/{document}")]);
    // The object as the bucket holds it (read with the credentials: objects are private).
    let objects_store = store::documents::open(app.db(), Some(&url)).unwrap();
    let stored = objects_store
        .get(&id, &document)
        .await
        .unwrap()
        .expect("the object");
    assert!(stored.len() >= file.len(), "{} bytes", stored.len());
    let text = String::from_utf8_lossy(&stored);
    assert!(
        !text.contains("heron-marker") && !text.contains("%PDF"),
        "sealed"
    );
    let in_db: i64 = store::with_db!(app.db(), pool => {
        sqlx::query_scalar("SELECT COUNT(*) FROM client_documents").fetch_one(pool).await.unwrap()
    });
    assert_eq!(in_db, 0);

    // Served and exported opened, once the client's read model lists the file.
    app.caught_up().await;
    let r = rm
        .http
        .get(app.url(&format!("/api/clients/{id}/documents/{document}")))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.bytes().await.unwrap().to_vec(), file);
    let r = compliance
        .http
        .get(app.url(&format!("/api/privacy/subjects/{id}/export/archive")))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let bytes = r.bytes().await.unwrap().to_vec();
    let mut zip = zip::ZipArchive::new(std::io::Cursor::new(bytes)).expect("a ZIP file");
    let name = zip
        .file_names()
        .map(|n| n.expect("a readable name").to_string())
        .find(|n| n != "subject.json")
        .expect("the file");
    let mut got = Vec::new();
    std::io::Read::read_to_end(&mut zip.by_name(&name).unwrap(), &mut got).unwrap();
    assert_eq!(got, file);

    // A second file; the relationship ends; the run purges both documents (the event, then
    // the objects) and erases the client (every object left under the client goes).
    let (s, _) = upload(
        &app,
        &rm.http,
        &id,
        "kind=address_proof&file_name=address.png",
        include_bytes!("../../fixtures/documents/address-proof.png").to_vec(),
    )
    .await;
    assert_eq!(s, 201);
    assert_eq!(
        bucket_objects(&bucket, &format!("kyc/{id}/")).await.len(),
        2
    );
    let (s, v) = app
        .post_as(
            &compliance,
            &format!("/api/clients/{id}/close"),
            json!({"reason": "account closed"}),
        )
        .await;
    assert_eq!(s, 200, "{v}");
    app.get_as(
        &compliance,
        &format!("/api/clients/{id}?min_position={}", v["position"]),
    )
    .await;
    // The documents' period ended, the record's has not: the purge deletes both objects.
    let out = retention_run(
        &app,
        &[
            ("CRM_RETENTION_KYC_DOCUMENTS", "0d"),
            ("CRM_DOCUMENT_STORE", &url),
        ],
    )
    .await;
    assert!(
        out.contains(&format!("purged 2 document(s) of {id}")),
        "{out}"
    );
    assert!(!out.contains(&format!("erased {id}")), "{out}");
    assert_eq!(
        bucket_objects(&bucket, &format!("kyc/{id}/")).await,
        Vec::<String>::new()
    );
    // A file left under the client (an upload whose record was never written) goes with the
    // erasure, which deletes whatever the bucket holds of the client.
    objects_store
        .put(&id, "left-behind", b"sealed bytes".to_vec())
        .await
        .unwrap();
    assert_eq!(
        bucket_objects(&bucket, &format!("kyc/{id}/")).await.len(),
        1
    );
    let out = retention_run(
        &app,
        &[
            ("CRM_RETENTION_CLIENT_RECORDS", "0d"),
            ("CRM_RETENTION_KYC_DOCUMENTS", "0d"),
            ("CRM_DOCUMENT_STORE", &url),
        ],
    )
    .await;
    assert!(out.contains(&format!("erased {id}")), "{out}");
    assert_eq!(
        bucket_objects(&bucket, &format!("kyc/{id}/")).await,
        Vec::<String>::new()
    );
    // Started with another document store, the store refuses.
    let mut cmd = tokio::process::Command::new(env!("CARGO_BIN_EXE_crm"));
    cmd.args(["retention", "run"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    app.fresh.env(&mut cmd);
    let done = cmd.output().await.unwrap();
    let err = String::from_utf8_lossy(&done.stderr);
    assert!(
        !done.status.success() && err.contains(&format!("CRM_DOCUMENT_STORE={url}")),
        "{err}"
    );
    let r = rm
        .http
        .get(app.url(&format!("/api/clients/{id}/documents/{document}")))
        .send()
        .await
        .unwrap();
    assert_ne!(r.status(), 200);
    app.stop().await;
}
