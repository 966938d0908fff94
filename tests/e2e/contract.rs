//! The OpenAPI document as a web team's client generator sees it: every operation named and
//! summarised, public operations marked as such, optional answers nullable, and its examples
//! answered by the real server in that shape. `scripts/test` lints the document it writes and
//! generates typed client code from it.

use serde_json::Value;

use crate::on_both_stores;
use crate::support::{App, Store};

on_both_stores!(the_openapi_document_is_a_contract);

async fn the_openapi_document_is_a_contract(store: Store) {
    let app = App::start(store).await;
    let (s, doc) = app.get("/api/openapi.json").await;
    assert_eq!(s, 200);
    assert_eq!(doc["servers"][0]["url"], "/");
    assert_eq!(doc["info"]["license"]["name"], "Apache-2.0");
    let mut ids = Vec::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            let id = op["operationId"].as_str();
            assert!(id.is_some(), "{method} {path} has no operationId");
            ids.push(id.unwrap().to_string());
            assert!(op["summary"].is_string(), "{method} {path} has no summary");
            let security = op["security"].as_array();
            assert!(security.is_some(), "{method} {path} declares no security");
            let public = security.unwrap().is_empty();
            let expect_public = matches!(
                path.as_str(),
                "/api/auth/login" | "/api/auth/refresh" | "/health" | "/ready" | "/metrics"
            );
            assert_eq!(public, expect_public, "{method} {path}");
        }
    }
    // Every method of a path is in the document (none hidden by another group's entry).
    let lead = doc["paths"]["/api/leads/{id}"].as_object().unwrap();
    let methods: Vec<&str> = lead.keys().map(String::as_str).collect();
    assert_eq!(methods, ["delete", "get", "patch", "put"]);
    let count = ids.len();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), count, "operationIds are unique");

    // What the server sends for an optional field with no value is declared.
    let lead = &doc["components"]["schemas"]["LeadOut"]["properties"];
    assert_eq!(lead["client_id"]["nullable"], true, "{}", lead["client_id"]);
    let (lead_id, _) = app.capture(crate::support::asha()).await;
    let (_, got) = app.get(&format!("/api/leads/{lead_id}")).await;
    assert_eq!(got["client_id"], Value::Null);

    // One copy is enough (both stores serve the same document).
    let out = std::env::var("CRM_OPENAPI_OUT").ok();
    if let (Some(out), Store::Sqlite) = (out, store) {
        std::fs::write(out, serde_json::to_vec_pretty(&doc).unwrap()).unwrap();
    }
    app.stop().await;
}
