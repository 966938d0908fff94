//! Data protection over HTTP: erasure of a prospect, legal holds, retention of a client's
//! records, marketing consent, the retention run and the data-subject export.

use serde_json::json;

use crate::on_both_stores;
use crate::support::{App, Store};

on_both_stores!(erasure_holds_retention_consent_and_export);

async fn lead(app: &App, name: &str) -> String {
    let (id, _) = app
        .capture(json!({"name": name, "email": format!("{}@example.in", name.to_lowercase().replace(' ', ".")), "source": "website"}))
        .await;
    id
}

async fn erasure_holds_retention_consent_and_export(store: Store) {
    let app = App::start(store).await;

    // A prospect asks for erasure: shredded at once; the record stays, its data does not.
    let a = lead(&app, "Amrita Sehgal").await;
    let (s, _) = app
        .post(
            &format!("/api/privacy/subjects/{a}/consent"),
            json!({"channel": "sms", "granted": true}),
        )
        .await;
    assert_eq!(s, 200);
    let (s, v) = app
        .post(
            &format!("/api/privacy/subjects/{a}/erasure"),
            json!({"reason": "please delete me"}),
        )
        .await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["state"], "erased");
    let lead_a = app.lead(&a, v["position"].as_i64().unwrap()).await;
    assert_eq!(lead_a["name"], "[erased]");
    assert_eq!(lead_a["email"], "[erased]");
    assert_eq!(lead_a["privacy"]["marketing_consents"], json!([]));
    assert!(lead_a["privacy"]["erased_at"].is_string());
    // Erased people leave the default list; asked for, they are listed (as erased).
    let ids = |v: &serde_json::Value| -> Vec<String> {
        v["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i["id"].as_str().unwrap().to_string())
            .collect()
    };
    let (_, v) = app.get("/api/leads?limit=200").await;
    assert!(!ids(&v).contains(&a), "{v}");
    let (_, v) = app.get("/api/leads?limit=200&include_archived=true").await;
    assert!(ids(&v).contains(&a), "{v}");
    let (s, v) = app
        .post(
            &format!("/api/leads/{a}/status"),
            json!({"status": "contacted"}),
        )
        .await;
    assert_eq!((s, v["type"].as_str()), (409, Some("/problems/erased")));
    let (_, v) = app.get("/api/leads?q=amrita").await;
    assert_eq!(
        v["total"], 0,
        "no blind index is left to find the person by"
    );
    let (s, v) = app
        .post(&format!("/api/privacy/subjects/{a}/erasure"), json!({}))
        .await;
    assert_eq!(
        (s, v["state"].as_str()),
        (200, Some("erased")),
        "repeating changes nothing"
    );
    // Nothing new can be written about an erased person (there is no key to seal it with).
    let (s, v) = app
        .send(
            app.http
                .delete(app.url(&format!("/api/leads/{a}?reason=gone"))),
        )
        .await;
    assert_eq!((s, v["type"].as_str()), (409, Some("/problems/erased")));
    let (_, h) = app.get(&format!("/api/leads/{a}/history")).await;
    let types: Vec<&str> = h["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["event_type"].as_str().unwrap())
        .collect();
    assert_eq!(
        types,
        vec![
            "LeadCaptured",
            "MarketingConsentGiven",
            "ErasureRequested",
            "LeadErased"
        ]
    );

    // A legal hold blocks the shred until it is lifted; processing is restricted meanwhile.
    let b = lead(&app, "Bhavesh Kulkarni").await;
    let (s, _) = app
        .post(
            &format!("/api/privacy/subjects/{b}/legal-hold"),
            json!({"reason": "SEBI inquiry"}),
        )
        .await;
    assert_eq!(s, 200);
    let (s, v) = app
        .post(&format!("/api/privacy/subjects/{b}/erasure"), json!({}))
        .await;
    assert_eq!(s, 200);
    assert_eq!(v["state"], "restricted");
    assert_eq!(v["blocked_by"], "a legal hold stands");
    let lead_b = app.lead(&b, v["position"].as_i64().unwrap()).await;
    assert_eq!(
        lead_b["name"], "Bhavesh Kulkarni",
        "kept while the hold stands"
    );
    let (s, v) = app
        .post(
            &format!("/api/leads/{b}/status"),
            json!({"status": "contacted"}),
        )
        .await;
    assert_eq!(
        (s, v["type"].as_str()),
        (409, Some("/problems/processing-restricted"))
    );
    let (s, v) = app
        .post(
            &format!("/api/privacy/subjects/{b}/consent"),
            json!({"channel": "email", "granted": true}),
        )
        .await;
    assert_eq!(s, 409, "{v}");
    let (s, v) = app
        .send(app.http.delete(app.url(&format!(
            "/api/privacy/subjects/{b}/legal-hold?reason=closed"
        ))))
        .await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["state"], "erased");
    assert_eq!(
        app.lead(&b, v["position"].as_i64().unwrap()).await["name"],
        "[erased]"
    );

    // A client's records are kept for the retention period.
    let c = lead(&app, "Chitra Menon").await;
    for status in ["contacted", "qualified"] {
        let (s, _) = app
            .post(&format!("/api/leads/{c}/status"), json!({"status": status}))
            .await;
        assert_eq!(s, 200);
    }
    let (s, _) = app
        .post(&format!("/api/leads/{c}/convert"), json!({}))
        .await;
    assert_eq!(s, 200);
    let (_, v) = app
        .post(&format!("/api/privacy/subjects/{c}/erasure"), json!({}))
        .await;
    assert_eq!(v["state"], "restricted");
    assert_eq!(
        v["blocked_by"],
        "the records are kept until the retention period ends"
    );
    let lead_c = app.lead(&c, v["position"].as_i64().unwrap()).await;
    assert_eq!(lead_c["name"], "Chitra Menon");
    assert_eq!(lead_c["privacy"]["retention_required"], true);

    // The retention run carries out what became due outside a request.
    let d = lead(&app, "Dev Anand").await;
    let (s, _) = app
        .post(
            &format!("/api/privacy/subjects/{d}/legal-hold"),
            json!({"reason": "dispute"}),
        )
        .await;
    assert_eq!(s, 200);
    let (_, v) = app
        .post(&format!("/api/privacy/subjects/{d}/erasure"), json!({}))
        .await;
    assert_eq!(v["state"], "restricted");
    let state = app.running.as_ref().unwrap().state.clone();
    let meta = store::EventMetadata::system(None);
    let lifted = state
        .write
        .leads
        .execute(
            &d,
            domain::lead::LeadCommand::Privacy(domain::privacy::PrivacyCommand::LiftLegalHold {
                reason: None,
            }),
            &meta,
            None,
        )
        .await
        .unwrap();
    app.lead(&d, lifted.position).await;
    let report = commands::retention::run(&state.write).await.unwrap();
    assert_eq!(report.erased, vec![d.clone()]);
    assert!(report.blocked.is_empty(), "{report:?}");
    assert!(state.keyring.is_shredded(&d).await.unwrap());
    assert!(
        !state.keyring.is_shredded(&c).await.unwrap(),
        "the client's records are kept"
    );

    // Data-subject export: everything held, and the export is itself recorded.
    let e = lead(&app, "Esha Gupta").await;
    let (s, _) = app
        .post(
            &format!("/api/privacy/subjects/{e}/consent"),
            json!({"channel": "whatsapp", "granted": true}),
        )
        .await;
    assert_eq!(s, 200);
    let (s, x) = app.get(&format!("/api/privacy/subjects/{e}/export")).await;
    assert_eq!(s, 200, "{x}");
    assert_eq!(x["profile"]["name"], "Esha Gupta");
    assert_eq!(
        x["profile"]["privacy"]["marketing_consents"],
        json!(["whatsapp"])
    );
    assert_eq!(
        x["profile"]["privacy"]["exports"].as_array().unwrap().len(),
        1
    );
    let types: Vec<&str> = x["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["event_type"].as_str().unwrap())
        .collect();
    assert_eq!(
        types,
        vec![
            "LeadCaptured",
            "MarketingConsentGiven",
            "SubjectDataExported"
        ]
    );
    let (s, _) = app
        .get(&format!(
            "/api/privacy/subjects/{}/export",
            uuid::Uuid::new_v4()
        ))
        .await;
    assert_eq!(s, 404);
    app.stop().await;
}
