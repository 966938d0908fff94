//! KYC over HTTP: documents filed in a client's case (refusals store nothing), the Aadhaar
//! number kept only masked, submission with what is missing named, the review queue, the
//! maker-checker rule, a revision round, approval with the next re-KYC date, and as-of.

use domain::user::Role;
use serde_json::{json, Value};

use crate::on_both_stores;
use crate::support::{Actor, App, Child, Fresh, Store};

on_both_stores!(
    a_kyc_case_goes_from_documents_to_verified_under_maker_checker,
    kyc_is_in_the_clients_history_and_export_and_goes_with_their_erasure,
    alerts_are_raised_once_across_restarts_and_rebuilds,
    uploads_are_limited_per_user_and_documents_per_client,
    a_whole_aadhaar_number_is_found_on_another_client_and_never_logged,
);

fn pdf(marker: &str) -> Vec<u8> {
    format!(
        "%PDF-1.4\n1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\n2 0 obj << /Type /Pages /Kids [] /Count 0 >> endobj\n% {marker}\ntrailer << /Root 1 0 R >>\n%%EOF\n"
    )
    .into_bytes()
}

/// A real PNG image (files must be whole), told apart by a marker after its end.
fn png(marker: &str) -> Vec<u8> {
    let mut b = include_bytes!("../../fixtures/documents/address-proof.png").to_vec();
    b.extend_from_slice(marker.as_bytes());
    b
}

/// A `multipart/form-data` body: the text fields, then the file.
fn form(fields: &[(&str, &str)], file_name: &str, file: &[u8]) -> (String, Vec<u8>) {
    let boundary = "kyc-test-boundary-4f1c9a";
    let mut body = Vec::new();
    for (name, value) in fields {
        body.extend_from_slice(
            format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n"
            )
            .as_bytes(),
        );
    }
    body.extend_from_slice(
        format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{file_name}\"\r\nContent-Type: application/octet-stream\r\n\r\n"
        )
        .as_bytes(),
    );
    body.extend_from_slice(file);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

async fn upload(
    app: &App,
    who: &Actor,
    client: &str,
    fields: &[(&str, &str)],
    file: &[u8],
) -> (u16, Value) {
    let mut all = vec![("client_id", client)];
    all.extend_from_slice(fields);
    let (content_type, body) = form(&all, "scan.pdf", file);
    app.send(
        who.http
            .post(app.url("/api/kyc/upload"))
            .header("content-type", content_type)
            .body(body),
    )
    .await
}

async fn kyc(app: &App, who: &Actor, client: &str, position: i64) -> Value {
    let (s, v) = app
        .get_as(who, &format!("/api/kyc/{client}?min_position={position}"))
        .await;
    assert_eq!(s, 200, "{v}");
    v
}

/// Rows of the log and of the KYC and client read models holding `needle`.
async fn count_in_store(app: &App, needle: &str) -> i64 {
    let pattern = format!("%{needle}%");
    let sql = match app.db() {
        store::Db::Sqlite(_) => {
            "SELECT (SELECT COUNT(*) FROM events WHERE payload LIKE $1 OR metadata LIKE $1)
                  + (SELECT COUNT(*) FROM kyc_cases WHERE doc LIKE $1)
                  + (SELECT COUNT(*) FROM clients WHERE doc LIKE $1 OR document_tokens LIKE $1)"
        }
        store::Db::Postgres(_) => {
            "SELECT (SELECT COUNT(*) FROM events WHERE payload::text LIKE $1 OR metadata::text LIKE $1)
                  + (SELECT COUNT(*) FROM kyc_cases WHERE doc::text LIKE $1)
                  + (SELECT COUNT(*) FROM clients WHERE doc::text LIKE $1 OR document_tokens LIKE $1)"
        }
    };
    store::with_db!(app.db(), pool => {
        sqlx::query_scalar(sql).bind(&pattern).fetch_one(pool).await.unwrap()
    })
}

/// A form's text fields.
type Fields<'a> = Vec<(&'a str, &'a str)>;

fn field(v: &Value) -> &str {
    v["errors"][0]["field"].as_str().unwrap_or_default()
}

async fn a_kyc_case_goes_from_documents_to_verified_under_maker_checker(store: Store) {
    let app = App::start_with(Fresh::new(store).await, |c| {
        c.serve.max_upload = 64 * 1024;
    })
    .await;
    let rm = app.actor(Role::RelationshipManager, Some("MUM-01")).await;
    let officer = app.actor(Role::ComplianceOfficer, None).await;
    let (s, v) = app
        .post(
            "/api/clients",
            json!({
                "name": "Meera Iyengar",
                "email": "meera.iyengar@example.in",
                "phone": "+91 98200 11223",
                "pan": "AKQPI4821M",
                "date_of_birth": "1984-02-11",
                "address": "9 Palm Grove, Chennai 600018",
                "branch": "MUM-01",
                "relationship_manager": rm.id,
            }),
        )
        .await;
    assert_eq!(s, 201, "{v}");
    let client = v["id"].as_str().unwrap().to_string();
    let onboarded = v["position"].as_i64().unwrap();

    // Refusals name the field (or the file's problem) and store nothing.
    let head = app.log_head().await;
    let base = "23456789012";
    let aadhaar = format!("{base}{}", domain::values::verhoeff_check_digit(base));
    let wrong_check = format!(
        "{base}{}",
        (domain::values::verhoeff_check_digit(base) + 1) % 10
    );
    let refusals: Vec<(Fields, Vec<u8>, u16, &str)> = vec![
        (
            vec![("document_type", "pan_card"), ("number", "ZZZPZ9999Z")],
            pdf("a"),
            422,
            "number",
        ),
        (
            vec![
                ("document_type", "aadhaar"),
                ("number", &wrong_check),
                ("masked_copy", "true"),
            ],
            pdf("b"),
            422,
            "number",
        ),
        (
            vec![("document_type", "aadhaar"), ("number", &aadhaar)],
            pdf("c"),
            422,
            "masked_copy",
        ),
        (
            vec![
                ("document_type", "passport"),
                ("number", "K1234567"),
                ("expiry_date", "2020-01-01"),
            ],
            pdf("d"),
            422,
            "expiry_date",
        ),
        (vec![("document_type", "photograph")], pdf("e"), 415, ""),
        (
            vec![("document_type", "signature")],
            b"<html>not an image</html>".to_vec(),
            415,
            "",
        ),
        // Files must be whole: a right start followed by something else is refused.
        (
            vec![("document_type", "signature")],
            b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR<html><script>alert(1)</script></html>".to_vec(),
            400,
            "file",
        ),
        (
            vec![("document_type", "income_proof")],
            b"%PDF-1.4\n<html><body>not a PDF</body></html>".to_vec(),
            400,
            "file",
        ),
        (
            vec![("document_type", "selfie")],
            pdf("f"),
            422,
            "document_type",
        ),
        (
            vec![("document_type", "income_proof")],
            Vec::new(),
            400,
            "body",
        ),
    ];
    for (fields, file, status, named) in refusals {
        let (s, v) = upload(&app, &rm, &client, &fields, &file).await;
        assert_eq!(s, status, "{fields:?}: {v}");
        if !named.is_empty() {
            assert_eq!(field(&v), named, "{fields:?}: {v}");
        }
    }
    for name in [
        "a%0D%0AX-Injected:%201.pdf",
        "..%2F..%2Fetc%2Fpasswd",
        "photo%E2%80%AEgnp.exe",
    ] {
        let (s, v) = app
            .send(
                rm.http
                    .post(app.url(&format!(
                        "/api/clients/{client}/documents?kind=other&file_name={name}"
                    )))
                    .header("content-type", "application/octet-stream")
                    .body(pdf("named")),
            )
            .await;
        assert_eq!((s, field(&v)), (422, "file_name"), "{name}: {v}");
    }
    let stranger = uuid::Uuid::new_v4().to_string();
    let (s, v) = upload(
        &app,
        &rm,
        &stranger,
        &[("document_type", "income_proof")],
        &pdf("g"),
    )
    .await;
    assert_eq!((s, field(&v)), (422, "client_id"), "{v}");
    assert_eq!(
        app.log_head().await,
        head,
        "a refused upload appends nothing"
    );
    let (_, c) = app
        .get_as(
            &rm,
            &format!("/api/clients/{client}?min_position={onboarded}"),
        )
        .await;
    assert_eq!(c["documents"].as_array().unwrap().len(), 0, "{c}");

    // The documents: the first opens the case.
    let (s, v) = upload(
        &app,
        &rm,
        &client,
        &[("document_type", "pan_card"), ("number", "akqpi4821m")],
        &pdf("pan"),
    )
    .await;
    assert_eq!(s, 201, "{v}");
    let position = v["position"].as_i64().unwrap();
    let k = kyc(&app, &rm, &client, position).await;
    assert_eq!(k["status"], "pending");
    assert_eq!(k["client_type"], "individual");
    assert_eq!(k["trading_blocked"], true);
    assert_eq!(k["trading_block_reason"], "kyc_not_verified");
    assert!(k["items_missing"]
        .as_array()
        .unwrap()
        .contains(&json!("address_proof")));
    let grouped = format!("{} {} {}", &aadhaar[..4], &aadhaar[4..8], &aadhaar[8..]);
    let uploads: Vec<(Fields, Vec<u8>)> = vec![
        (
            vec![
                ("document_type", "aadhaar"),
                ("number", &grouped),
                ("masked_copy", "true"),
            ],
            pdf("aadhaar"),
        ),
        (vec![("document_type", "photograph")], png("photo")),
        (vec![("document_type", "signature")], png("sign")),
        (
            vec![("document_type", "bank_proof"), ("number", "hdfc0001234")],
            pdf("bank"),
        ),
    ];
    for (fields, file) in uploads {
        let (s, v) = upload(&app, &rm, &client, &fields, &file).await;
        assert_eq!(s, 201, "{fields:?}: {v}");
    }
    // The admin files the verification record: they made something in this case.
    let (s, v) = upload(
        &app,
        &app.admin,
        &client,
        &[("document_type", "verification_record")],
        &pdf("ipv"),
    )
    .await;
    assert_eq!(s, 201, "{v}");
    let k = kyc(&app, &rm, &client, v["position"].as_i64().unwrap()).await;
    assert_eq!(
        k["items_missing"],
        json!([]),
        "every document is there: {k}"
    );

    // Submission names what is missing: the income range comes with the risk profile.
    let (s, v) = app
        .post_as(&rm, &format!("/api/kyc/{client}/submit"), json!({}))
        .await;
    assert_eq!(s, 409, "{v}");
    assert!(
        v["detail"].as_str().unwrap().contains("income_range"),
        "{v}"
    );
    let (s, v) = app
        .send(
            rm.http
                .put(app.url(&format!("/api/kyc/{client}/risk")))
                .json(&json!({"pep": false, "income_range": "10_to_25_lakh", "occupation": "astronaut", "country": "IN", "derivatives": false})),
        )
        .await;
    assert_eq!((s, field(&v)), (422, "occupation"), "{v}");
    let (s, v) = app
        .send(
            rm.http
                .put(app.url(&format!("/api/kyc/{client}/risk")))
                .json(&json!({"pep": false, "income_range": "10_to_25_lakh", "occupation": "salaried", "country": "in", "derivatives": false})),
        )
        .await;
    assert_eq!(s, 200, "{v}");
    let (s, v) = app
        .post_as(&rm, &format!("/api/kyc/{client}/submit"), json!({}))
        .await;
    assert_eq!(s, 200, "{v}");
    let submitted = kyc(&app, &rm, &client, v["position"].as_i64().unwrap()).await;
    assert_eq!(submitted["status"], "submitted");
    assert_eq!(submitted["submitted_by"], rm.id.as_str());

    // The queue shows the case to the officer, not to the admin who made part of it.
    let (s, q) = app
        .get_as(&officer, "/api/kyc/pending?min_position=0")
        .await;
    assert_eq!(s, 200, "{q}");
    assert_eq!(q["total"], 1, "{q}");
    assert_eq!(q["items"][0]["client_id"], client.as_str());
    assert_eq!(q["items"][0]["age_days"], 0);
    let (_, q) = app.get("/api/kyc/pending").await;
    assert_eq!(q["total"], 0, "{q}");
    let (s, _) = app.get_as(&rm, "/api/kyc/pending").await;
    assert_eq!(s, 403);

    // Maker-checker: the admin uploaded a document, the RM may not decide at all.
    let verify = |who: &Actor, body: Value| {
        who.http
            .put(app.url(&format!("/api/kyc/{client}/verify")))
            .json(&body)
    };
    let (s, v) = app
        .send(verify(&app.admin, json!({"decision": "approve"})))
        .await;
    assert_eq!(s, 403, "{v}");
    assert!(
        v["detail"].as_str().unwrap().contains("maker-checker"),
        "{v}"
    );
    let (s, _) = app.send(verify(&rm, json!({"decision": "approve"}))).await;
    assert_eq!(s, 403);

    // A revision round: the photograph is rejected, re-uploaded, the case submitted again.
    let k = kyc(&app, &officer, &client, 0).await;
    let photo = k["documents"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["document_type"] == "photograph")
        .unwrap()["document_id"]
        .clone();
    let (s, v) = app
        .send(verify(
            &officer,
            json!({"decision": "request_revision", "documents": [{"document_id": photo, "decision": "rejected"}]}),
        ))
        .await;
    assert_eq!(
        (s, field(&v)),
        (422, "documents"),
        "a rejection needs its reason: {v}"
    );
    let (s, v) = app
        .send(verify(
            &officer,
            json!({"decision": "request_revision", "documents": [{"document_id": photo, "decision": "rejected", "reason": "face not visible"}]}),
        ))
        .await;
    assert_eq!(s, 200, "{v}");
    let k = kyc(&app, &rm, &client, v["position"].as_i64().unwrap()).await;
    assert_eq!(k["status"], "revision_requested");
    assert_eq!(k["items_missing"], json!(["photograph"]));
    let (s, v) = app
        .post_as(&rm, &format!("/api/kyc/{client}/submit"), json!({}))
        .await;
    assert_eq!(s, 409, "{v}");
    let (s, v) = upload(
        &app,
        &rm,
        &client,
        &[("document_type", "photograph")],
        &png("photo2"),
    )
    .await;
    assert_eq!(s, 201, "{v}");
    let (s, v) = app
        .post_as(&rm, &format!("/api/kyc/{client}/submit"), json!({}))
        .await;
    assert_eq!(s, 200, "{v}");
    let before_approval = kyc(&app, &officer, &client, v["position"].as_i64().unwrap()).await;

    // Approval by the officer: hashes of what was seen, the next re-KYC date (low risk: ten
    // years), trading allowed.
    let (s, v) = app
        .send(verify(
            &officer,
            json!({"decision": "approve", "reasons": ["all documents in order"]}),
        ))
        .await;
    assert_eq!(s, 200, "{v}");
    let k = kyc(&app, &officer, &client, v["position"].as_i64().unwrap()).await;
    assert_eq!(k["status"], "verified", "{k}");
    assert_eq!(k["reviewer"], officer.id.as_str());
    assert_eq!(k["trading_blocked"], false);
    let next: chrono::NaiveDate = k["next_rekyc_on"].as_str().unwrap().parse().unwrap();
    let today = domain::kyc::india_today(chrono::Utc::now());
    assert_eq!(
        next,
        today.checked_add_months(chrono::Months::new(120)).unwrap()
    );
    let aadhaar_doc = k["documents"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["document_type"] == "aadhaar")
        .unwrap();
    assert_eq!(
        aadhaar_doc["number"],
        format!("XXXX-XXXX-{}", &aadhaar[8..])
    );
    assert_eq!(aadhaar_doc["state"], "accepted");
    assert_eq!(aadhaar_doc["sha256"].as_str().unwrap().len(), 64);

    // The KYC report counts it, as JSON and as CSV; sales roles may not read it.
    let (s, r) = app.get_as(&officer, "/api/reports/kyc").await;
    assert_eq!(s, 200, "{r}");
    let count = |section: &str, key: &str| {
        r[section]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["key"] == key)
            .map_or(0, |c| c["count"].as_i64().unwrap())
    };
    assert_eq!(count("by_status", "verified"), 1, "{r}");
    assert_eq!(count("rejected_documents", "photograph"), 1, "{r}");
    assert_eq!(count("trading_blocked", "kyc_not_verified"), 0, "{r}");
    assert!(r["approval_hours_median"].is_number(), "{r}");
    let csv = officer
        .http
        .get(app.url("/api/reports/kyc"))
        .header("accept", "text/csv")
        .send()
        .await
        .unwrap();
    assert_eq!(csv.status(), 200);
    assert!(csv.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/csv"));
    let text = csv.text().await.unwrap();
    assert!(text.starts_with("section,key,count\n"), "{text}");
    assert!(text.contains("\nby_status,verified,1\n"), "{text}");
    let (s, _) = app.get_as(&rm, "/api/reports/kyc").await;
    assert_eq!(s, 403);

    // Illegal moves name the allowed ones.
    let (s, v) = app
        .post_as(&rm, &format!("/api/kyc/{client}/submit"), json!({}))
        .await;
    assert_eq!(s, 409, "{v}");
    assert!(v["allowed"].to_string().contains("check_due"), "{v}");

    // As it stood before the approval.
    let (s, then) = app
        .get_as(
            &officer,
            &format!(
                "/api/kyc/{client}?as_of={}",
                before_approval["submitted_at"]
                    .as_str()
                    .unwrap()
                    .replace('+', "%2B")
            ),
        )
        .await;
    assert_eq!(s, 200, "{then}");
    assert_eq!(then["status"], "submitted", "{then}");

    // The whole Aadhaar number is nowhere: not at rest, and not in what the log holds once
    // opened (the client's history with every event's content, the subject export).
    assert_eq!(count_in_store(&app, &aadhaar).await, 0);
    let (_, h) = app
        .get_as(&officer, &format!("/api/clients/{client}/history"))
        .await;
    let (_, x) = app
        .get_as(&officer, &format!("/api/privacy/subjects/{client}/export"))
        .await;
    for opened in [h.to_string(), x.to_string(), k.to_string()] {
        assert!(opened.contains(&aadhaar[8..]), "the masked number is there");
        assert!(!opened.contains(&aadhaar[..8]), "{opened}");
    }

    // KRA and CKYC are compliance's to record.
    let registries = |who: &Actor, body: Value| {
        who.http
            .put(app.url(&format!("/api/kyc/{client}/registries")))
            .json(&body)
    };
    let (s, _) = app
        .send(registries(&rm, json!({"kra_status": "validated"})))
        .await;
    assert_eq!(s, 403);
    let (s, v) = app
        .send(registries(&officer, json!({"ckyc_number": "1234"})))
        .await;
    assert_eq!((s, field(&v)), (422, "ckyc_number"), "{v}");
    let (s, v) = app
        .send(registries(
            &officer,
            json!({"kra_status": "validated", "ckyc_number": "12345678901234"}),
        ))
        .await;
    assert_eq!(s, 200, "{v}");
    let k = kyc(&app, &officer, &client, v["position"].as_i64().unwrap()).await;
    assert_eq!(k["kra_status"], "validated");
    assert_eq!(k["ckyc_number"], "12345678901234");
    app.stop().await;
}

async fn kyc_is_in_the_clients_history_and_export_and_goes_with_their_erasure(store: Store) {
    // Records kept 0 days after the relationship ends, so that erasure happens at once.
    let app = App::start_with(Fresh::new(store).await, |c| {
        c.store.retention_client_records = domain::values::RetentionPeriod::Days(0);
        c.store.retention_kyc_documents = domain::values::RetentionPeriod::Days(0);
    })
    .await;
    let rm = app.actor(Role::RelationshipManager, Some("MUM-01")).await;
    let officer = app.actor(Role::ComplianceOfficer, None).await;
    let (s, v) = app
        .post(
            "/api/clients",
            json!({
                "name": "Farhan Quereshi",
                "email": "farhan.q@example.in",
                "phone": "+91 98111 22334",
                "pan": "BXRPQ7301K",
                "date_of_birth": "1991-09-03",
                "address": "3 Lake View, Kolkata 700029",
                "branch": "MUM-01",
                "relationship_manager": rm.id,
            }),
        )
        .await;
    assert_eq!(s, 201, "{v}");
    let client = v["id"].as_str().unwrap().to_string();
    let (s, v) = upload(
        &app,
        &rm,
        &client,
        &[
            ("document_type", "passport"),
            ("number", "Z7654321"),
            ("issue_date", "2019-05-01"),
            ("expiry_date", "2029-04-30"),
        ],
        &pdf("passport"),
    )
    .await;
    assert_eq!(s, 201, "{v}");
    let (s, v) = app
        .send(
            officer
                .http
                .put(app.url(&format!("/api/kyc/{client}/registries")))
                .json(&json!({"ckyc_number": "50012345678901"})),
        )
        .await;
    assert_eq!(s, 200, "{v}");
    let k = kyc(&app, &officer, &client, v["position"].as_i64().unwrap()).await;
    assert_eq!(k["documents"][0]["number"], "Z7654321");
    assert_eq!(k["documents"][0]["expiry_date"], "2029-04-30");

    // The client's history tells the KYC too.
    let (s, h) = app
        .get_as(&officer, &format!("/api/clients/{client}/history"))
        .await;
    assert_eq!(s, 200, "{h}");
    let types: Vec<&str> = h["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["event_type"].as_str().unwrap())
        .collect();
    assert_eq!(
        types,
        vec![
            "ClientOnboarded",
            "ClientDocumentAdded",
            "KycCaseOpened",
            "KycDocumentAttached",
            "CkycNumberRecorded"
        ]
    );
    let attached = &h["items"][3];
    assert!(attached["changes"]
        .as_array()
        .unwrap()
        .iter()
        .any(|c| c["field"].as_str().unwrap().starts_with("kyc/documents/0")));

    // The subject export holds the KYC.
    let (s, x) = app
        .get_as(&officer, &format!("/api/privacy/subjects/{client}/export"))
        .await;
    assert_eq!(s, 200, "{x}");
    assert_eq!(x["kyc"]["ckyc_number"], "50012345678901");
    assert!(x["history"]
        .as_array()
        .unwrap()
        .iter()
        .any(|e| e["event_type"] == "KycDocumentAttached"));

    // The registries, asked: the fixtures put this PAN on hold at the KRA, with no CKYC number.
    let (s, v) = app
        .post_as(
            &officer,
            &format!("/api/kyc/{client}/registries/check"),
            json!({}),
        )
        .await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["kra_status"], "on_hold");
    assert_eq!(v["ckyc_number"], Value::Null);
    let k = kyc(&app, &officer, &client, v["position"].as_i64().unwrap()).await;
    assert_eq!(k["kra_status"], "on_hold");
    assert_eq!(
        k["ckyc_number"], "50012345678901",
        "the number recorded stays"
    );
    let (s, _) = app
        .post_as(
            &rm,
            &format!("/api/kyc/{client}/registries/check"),
            json!({}),
        )
        .await;
    assert_eq!(s, 403);

    // A short-lived link to the passport serves its caller only, unaltered, before it expires.
    let passport = k["documents"][0]["document_id"]
        .as_str()
        .unwrap()
        .to_string();
    let (s, l) = app
        .post_as(
            &rm,
            &format!("/api/clients/{client}/documents/{passport}/link"),
            json!({}),
        )
        .await;
    assert_eq!(s, 200, "{l}");
    let url = l["url"].as_str().unwrap().to_string();
    let r = rm.http.get(app.url(&url)).send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["cache-control"], "no-store");
    assert!(r.headers()["content-disposition"]
        .to_str()
        .unwrap()
        .starts_with("attachment"));
    assert_eq!(r.bytes().await.unwrap().to_vec(), pdf("passport"));
    let (s, v) = app.get_as(&officer, &url).await;
    assert_eq!(s, 403, "someone else's link: {v}");
    let tampered = format!("{}x", &url[..url.len() - 1]);
    let (s, _) = app.get_as(&rm, &tampered).await;
    assert_eq!(s, 403, "a tampered link");
    let state = &app.running.as_ref().unwrap().state;
    let (expired, _) = state.links.issue(
        uuid::Uuid::parse_str(&rm.id).unwrap(),
        uuid::Uuid::parse_str(&client).unwrap(),
        uuid::Uuid::parse_str(&passport).unwrap(),
        chrono::Utc::now() - chrono::Duration::minutes(10),
    );
    let (s, v) = app.get_as(&rm, &format!("/api/documents/{expired}")).await;
    assert_eq!(s, 403, "{v}");
    assert!(v["detail"].as_str().unwrap().contains("expired"), "{v}");

    // The client's erasure takes the KYC's personal data with it.
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
    assert_eq!((s, v["state"].as_str()), (200, Some("erased")), "{v}");
    app.caught_up().await;
    let (s, k) = app.get_as(&officer, &format!("/api/kyc/{client}")).await;
    assert_eq!(s, 200, "{k}");
    assert_eq!(k["documents"][0]["number"], "[erased]", "{k}");
    assert_eq!(k["ckyc_number"], "[erased]", "{k}");
    let (s, v) = upload(
        &app,
        &rm,
        &client,
        &[("document_type", "income_proof")],
        &pdf("late"),
    )
    .await;
    assert_eq!(s, 409, "an erased client takes no more documents: {v}");
    app.stop().await;
}

/// Onboards a client of the RM's and takes their KYC to verified, with a passport that expires
/// on `passport_expiry`; answers the client's id.
pub(crate) async fn verified_client(
    app: &App,
    rm: &Actor,
    officer: &Actor,
    pan: &str,
    passport_expiry: &str,
) -> String {
    let (s, v) = app
        .post(
            "/api/clients",
            json!({
                "name": "Ishaan Varadarajan",
                "email": format!("{}@example.in", pan.to_lowercase()),
                "phone": "+91 98450 66778",
                "pan": pan,
                "date_of_birth": "1975-12-24",
                "address": "21 Brigade Road, Bengaluru 560001",
                "branch": "MUM-01",
                "relationship_manager": rm.id,
            }),
        )
        .await;
    assert_eq!(s, 201, "{v}");
    let client = v["id"].as_str().unwrap().to_string();
    let uploads: Vec<(Fields, Vec<u8>)> = vec![
        (
            vec![("document_type", "pan_card"), ("number", pan)],
            pdf("pan"),
        ),
        (
            vec![
                ("document_type", "passport"),
                ("number", "M1029384"),
                ("expiry_date", passport_expiry),
            ],
            pdf("passport"),
        ),
        (vec![("document_type", "photograph")], png("photo")),
        (vec![("document_type", "signature")], png("sign")),
        (
            vec![("document_type", "bank_proof"), ("number", "ICIC0004321")],
            pdf("bank"),
        ),
        (vec![("document_type", "verification_record")], pdf("ipv")),
    ];
    for (fields, file) in uploads {
        let (s, v) = upload(app, rm, &client, &fields, &file).await;
        assert_eq!(s, 201, "{fields:?}: {v}");
    }
    let (s, v) = app
        .send(
            rm.http
                .put(app.url(&format!("/api/kyc/{client}/risk")))
                .json(&json!({"pep": false, "income_range": "above_25_lakh", "occupation": "professional", "country": "IN", "derivatives": false})),
        )
        .await;
    assert_eq!(s, 200, "{v}");
    let (s, v) = app
        .post_as(rm, &format!("/api/kyc/{client}/submit"), json!({}))
        .await;
    assert_eq!(s, 200, "{v}");
    let (s, v) = app
        .send(
            officer
                .http
                .put(app.url(&format!("/api/kyc/{client}/verify")))
                .json(&json!({"decision": "approve"})),
        )
        .await;
    assert_eq!(s, 200, "{v}");
    client
}

/// `crm kyc alerts` on the test's store; answers its output.
async fn alert_run(app: &App) -> String {
    crate::support::crm(app, &["kyc", "alerts"], &[]).await
}

async fn alerts_are_raised_once_across_restarts_and_rebuilds(store: Store) {
    let fresh = Fresh::new(store).await;
    let data_dir = fresh.data_dir.clone();
    let database_url = fresh.database_url.clone();
    // Low-risk clients renew every 3 years here (the default is 10).
    let mut app = App::start_with(fresh, |c| {
        c.store.rekyc_years = domain::kyc::RekycIntervals::parse("2,8,3").unwrap();
    })
    .await;
    let rm = app.actor(Role::RelationshipManager, Some("MUM-01")).await;
    let officer = app.actor(Role::ComplianceOfficer, None).await;
    let today = domain::kyc::india_today(chrono::Utc::now());
    let soon = (today + chrono::Duration::days(20)).to_string();
    let later = (today + chrono::Duration::days(400)).to_string();
    let expiring = verified_client(&app, &rm, &officer, "CKWPV1357H", &soon).await;
    let lasting = verified_client(&app, &rm, &officer, "DLXPV2468J", &later).await;
    // Another relationship manager's client, also with a passport expiring soon.
    let other_rm = app.actor(Role::RelationshipManager, Some("MUM-01")).await;
    let theirs = (today + chrono::Duration::days(25)).to_string();
    let other = verified_client(&app, &other_rm, &officer, "FMZPV3579K", &theirs).await;
    app.caught_up().await;

    let out = alert_run(&app).await;
    assert!(out.contains("2 alert(s) raised"), "{out}");
    let out = alert_run(&app).await;
    assert!(
        out.contains("0 alert(s) raised"),
        "a second run repeats nothing: {out}"
    );
    app.caught_up().await;
    let (s, a) = app.get_as(&officer, "/api/kyc/alerts").await;
    assert_eq!(s, 200, "{a}");
    let items = a["items"].as_array().unwrap();
    assert_eq!(items.len(), 2, "{a}");
    assert_eq!(
        items[0]["client_id"],
        expiring.as_str(),
        "the soonest first"
    );
    assert_eq!(items[0]["kind"], "document_expiring");
    assert_eq!(items[0]["document_type"], "passport");
    assert_eq!(items[0]["due_on"], soon.as_str());
    assert_eq!(items[1]["client_id"], other.as_str());
    // Each relationship manager sees the alerts of their own clients only.
    let (_, mine) = app.get_as(&rm, "/api/kyc/alerts").await;
    let mine: Vec<&str> = mine["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["client_id"].as_str().unwrap())
        .collect();
    assert_eq!(mine, vec![expiring.as_str()]);
    let (_, none) = app
        .get_as(&other_rm, "/api/kyc/alerts?kind=rekyc_due_soon")
        .await;
    assert_eq!(none["items"], json!([]), "{none}");
    let (s, v) = app.get_as(&officer, "/api/kyc/alerts?kind=soon").await;
    assert_eq!((s, field(&v)), (422, "kind"), "{v}");

    // A restart runs the alerts again at start: nothing new.
    let running = app.running.take().unwrap();
    running.stop().await;
    app = App::start_with(
        Fresh {
            data_dir: data_dir.clone(),
            database_url: database_url.clone(),
        },
        |_| {},
    )
    .await;
    app.caught_up().await;
    // A rebuild of the KYC read model shows the same alerts.
    let keyring = app.running.as_ref().unwrap().keyring.clone();
    let projection = projections::kyc::KycProjection::new(keyring);
    projections::rebuild::rebuild(app.db(), &projection, |_| {})
        .await
        .unwrap();
    let out = alert_run(&app).await;
    assert!(out.contains("0 alert(s) raised"), "{out}");
    app.caught_up().await;
    let (_, a) = app.get_as(&officer, "/api/kyc/alerts").await;
    assert_eq!(a["items"].as_array().unwrap().len(), 2, "{a}");
    let (_, h) = app
        .get_as(&officer, &format!("/api/clients/{expiring}/history"))
        .await;
    let raised = h["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["event_type"] == "KycAlertRaised")
        .count();
    assert_eq!(raised, 1, "one alert event in the log");
    let (_, k) = app.get_as(&officer, &format!("/api/kyc/{lasting}")).await;
    assert_eq!(k["status"], "verified");
    let renewal = today.checked_add_months(chrono::Months::new(36)).unwrap();
    assert_eq!(
        k["next_rekyc_on"],
        renewal.to_string(),
        "the configured interval"
    );
    // Both clients filed the same passport number: the reviewer sees it flagged.
    let flagged = |t: &str| {
        k["documents"]
            .as_array()
            .unwrap()
            .iter()
            .find(|d| d["document_type"] == t)
            .unwrap()["number_on_other_clients"]
            .clone()
    };
    assert_eq!(flagged("passport"), true, "{k}");
    assert_eq!(flagged("pan_card"), false, "{k}");
    app.stop().await;
}

async fn uploads_are_limited_per_user_and_documents_per_client(store: Store) {
    let app = App::start_with(Fresh::new(store).await, |c| {
        c.serve.work_rate_per_minute = 4;
        c.store.max_client_documents = 3;
    })
    .await;
    let rm = app.actor(Role::RelationshipManager, Some("MUM-01")).await;
    let (s, v) = app
        .post(
            "/api/clients",
            json!({
                "name": "Kavya Nambiar",
                "email": "kavya.n@example.in",
                "phone": "+91 98470 11223",
                "pan": "EKNPN5511Q",
                "date_of_birth": "1993-07-19",
                "address": "5 Marine Lines, Kochi 682031",
                "branch": "MUM-01",
                "relationship_manager": rm.id,
            }),
        )
        .await;
    assert_eq!(s, 201, "{v}");
    let client = v["id"].as_str().unwrap().to_string();
    for kind in ["photograph", "signature"] {
        let (s, v) = upload(&app, &rm, &client, &[("document_type", kind)], &png(kind)).await;
        assert_eq!(s, 201, "{v}");
    }
    let (s, v) = upload(
        &app,
        &rm,
        &client,
        &[("document_type", "income_proof")],
        &pdf("itr"),
    )
    .await;
    assert_eq!(s, 201, "{v}");
    // A fourth file is over the client's limit: refused, nothing stored.
    let head = app.log_head().await;
    let (s, v) = upload(
        &app,
        &rm,
        &client,
        &[("document_type", "verification_record")],
        &pdf("ipv"),
    )
    .await;
    assert_eq!(s, 409, "{v}");
    assert_eq!(v["type"], "/problems/document-limit", "{v}");
    assert_eq!(app.log_head().await, head);
    let stored: i64 = store::with_db!(app.db(), pool => {
        sqlx::query_scalar("SELECT COUNT(*) FROM client_documents WHERE client_id = $1")
            .bind(&client)
            .fetch_one(pool)
            .await
            .unwrap()
    });
    assert_eq!(stored, 3);
    // A fifth attempt within the minute is over the user's rate.
    let all = [
        ("client_id", client.as_str()),
        ("document_type", "income_proof"),
    ];
    let (content_type, body) = form(&all, "itr.pdf", &pdf("again"));
    let r = rm
        .http
        .post(app.url("/api/kyc/upload"))
        .header("content-type", content_type)
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 429);
    assert!(r.headers().get("retry-after").is_some());
    // Another user is not held back by it.
    let (s, v) = upload(
        &app,
        &app.admin,
        &client,
        &[("document_type", "verification_record")],
        &pdf("ipv"),
    )
    .await;
    assert_eq!(s, 409, "the client's limit still holds: {v}");
    app.stop().await;
}

async fn a_whole_aadhaar_number_is_found_on_another_client_and_never_logged(store: Store) {
    let app = App::start(store).await;
    let rm = app.actor(Role::RelationshipManager, Some("MUM-01")).await;
    let officer = app.actor(Role::ComplianceOfficer, None).await;
    let mut clients = Vec::new();
    for (name, pan) in [("Arjun Menon", "BQMPM7310K"), ("Arun Menon", "CQMPM7311L")] {
        let (s, v) = app
            .post(
                "/api/clients",
                json!({
                    "name": name,
                    "email": format!("{}@example.in", pan.to_lowercase()),
                    "phone": "+91 98450 22334",
                    "pan": pan,
                    "date_of_birth": "1988-05-02",
                    "address": "14 Residency Road, Bengaluru 560025",
                    "branch": "MUM-01",
                    "relationship_manager": rm.id,
                }),
            )
            .await;
        assert_eq!(s, 201, "{v}");
        clients.push(v["id"].as_str().unwrap().to_string());
    }
    let base = "34567890123";
    let aadhaar = format!("{base}{}", domain::values::verhoeff_check_digit(base));
    let other = "45678901234";
    let other = format!("{other}{}", domain::values::verhoeff_check_digit(other));
    // The uploads go through a `crm serve` process logging everything it logs (debug).
    let log = app.fresh.data_dir.join("serve-debug.log");
    let mut child = Child::start_logging(&app, "debug", Some(&log)).await;
    let mut positions = Vec::new();
    for (client, number) in [
        (&clients[0], &aadhaar),
        (&clients[1], &aadhaar),
        (&clients[1], &other),
    ] {
        let fields = [
            ("client_id", client.as_str()),
            ("document_type", "aadhaar"),
            ("number", number.as_str()),
            ("masked_copy", "true"),
        ];
        let (content_type, body) = form(&fields, &format!("{number}.pdf"), &pdf(number));
        let r = rm
            .http
            .post(format!("{}/api/kyc/upload", child.base))
            .header("content-type", content_type)
            .body(body)
            .send()
            .await
            .unwrap();
        let status = r.status().as_u16();
        let v: Value = r.json().await.unwrap();
        assert_eq!(status, 201, "{v}");
        positions.push(v["position"].as_i64().unwrap());
    }
    child.process.start_kill().unwrap();
    child.process.wait().await.unwrap();

    let last = *positions.iter().max().unwrap();
    let aadhaar_docs = |k: &Value| -> Vec<(String, bool)> {
        k["documents"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|d| d["document_type"] == "aadhaar")
            .map(|d| {
                (
                    d["number"].as_str().unwrap().to_string(),
                    d["number_on_other_clients"].as_bool().unwrap(),
                )
            })
            .collect()
    };
    let first = kyc(&app, &officer, &clients[0], last).await;
    assert_eq!(
        aadhaar_docs(&first),
        vec![(format!("XXXX-XXXX-{}", &aadhaar[8..]), true)],
        "{first}"
    );
    let second = kyc(&app, &officer, &clients[1], last).await;
    assert_eq!(
        aadhaar_docs(&second),
        vec![
            (format!("XXXX-XXXX-{}", &aadhaar[8..]), true),
            (format!("XXXX-XXXX-{}", &other[8..]), false),
        ],
        "{second}"
    );
    // Only the masked form and a keyed blind index are kept; the process's log, at debug,
    // shows the requests but never the number (nor the file named after it).
    assert_eq!(count_in_store(&app, &aadhaar).await, 0);
    assert_eq!(count_in_store(&app, &aadhaar[..8]).await, 0);
    let logged = std::fs::read_to_string(&log).unwrap();
    assert!(logged.contains("/api/kyc/upload"), "{logged}");
    for number in [&aadhaar, &other] {
        assert!(!logged.contains(number.as_str()), "{logged}");
        assert!(!logged.contains(&number[..8]), "{logged}");
    }
    app.stop().await;
}
