//! The OpenAPI document as served: what the endpoint declarations generate, completed where the
//! generator is silent, so that a client generator's types match what the server sends.
//!
//! - Operations that need no sign-in say so (`security: []`), beside those that take a bearer.
//! - Request bodies take no field they do not declare (every request type refuses unknown
//!   fields): `additionalProperties: false`.
//! - An optional property (one without a default) is sent as `null` when it has no value, and
//!   `null` is accepted for it in a request: every such property is declared `nullable`.
//! - Each operation lists the errors it can answer, from what it takes (see [`errors_of`]),
//!   not one set for all; the server flags any other answer in debug builds and the end-to-end
//!   tests fail on it.

use std::collections::HashSet;

use serde_json::{json, Value};

/// The operations endpoints an operations token guards when one is configured.
pub const OPS: &[&str] = &["/metrics", "/ready"];

/// The completed document, from the generated one.
pub fn document(generated: &str) -> Value {
    let mut doc: Value = serde_json::from_str(generated).expect("the OpenAPI document is JSON");
    // Two endpoint groups declaring one path would each write it, and one would hide the
    // other's operations from the document: a programming error, refused at start-up.
    for path in doc["paths"].as_object().into_iter().flat_map(|p| p.keys()) {
        let declared = generated
            .matches(&format!("{}:", Value::from(path.as_str())))
            .count();
        assert!(
            declared <= 1,
            "the path {path} is declared by two endpoint groups"
        );
    }
    // Every operation refuses a query parameter it does not declare (400), those without an
    // error type of their own (health, readiness, metrics) too.
    let bad_request = doc["paths"]
        .as_object()
        .into_iter()
        .flat_map(|p| p.values())
        .flat_map(|o| o.as_object().into_iter().flat_map(|o| o.values()))
        .find_map(|op| op["responses"].get("400").cloned());
    // Metrics and readiness answer 401 without the operations token when one is configured
    // (`CRM_OPS_TOKEN`).
    let unauthorized = doc["paths"]
        .as_object()
        .into_iter()
        .flat_map(|p| p.values())
        .flat_map(|o| o.as_object().into_iter().flat_map(|o| o.values()))
        .find_map(|op| op["responses"].get("401").cloned());
    if let Some(paths) = doc["paths"].as_object_mut() {
        for (path, operation) in paths.iter_mut() {
            let Some(operation) = operation.as_object_mut() else {
                continue;
            };
            for (method, op) in operation.iter_mut() {
                let Some(op) = op.as_object_mut() else {
                    continue;
                };
                op.entry("security").or_insert_with(|| json!([]));
                let keep = errors_of(path, method, op);
                if let Some(responses) = op.get_mut("responses").and_then(Value::as_object_mut) {
                    responses.retain(|status, response| {
                        let problem = response["content"]
                            .get("application/problem+json")
                            .is_some();
                        status
                            .parse::<u16>()
                            .map_or(true, |s| s < 400 || !problem || keep.contains(&s))
                    });
                    if let Some(r) = &bad_request {
                        responses.entry("400").or_insert_with(|| r.clone());
                    }
                    if let (Some(r), true) = (&unauthorized, OPS.contains(&path.as_str())) {
                        responses.entry("401").or_insert_with(|| r.clone());
                    }
                }
            }
        }
    }
    let mut bodies = Vec::new();
    for operation in doc["paths"]
        .as_object()
        .into_iter()
        .flat_map(|p| p.values())
    {
        for op in operation.as_object().into_iter().flat_map(|o| o.values()) {
            for media in op["requestBody"]["content"]
                .as_object()
                .into_iter()
                .flatten()
            {
                if let Some(r) = media.1["schema"]["$ref"].as_str() {
                    bodies.push(r.trim_start_matches("#/components/schemas/").to_string());
                }
            }
        }
    }
    for name in bodies {
        if let Some(schema) = doc
            .get_mut("components")
            .and_then(|c| c.get_mut("schemas"))
            .and_then(|s| s.get_mut(&name))
            .and_then(Value::as_object_mut)
        {
            schema.insert("additionalProperties".into(), Value::Bool(false));
        }
    }
    // Each schema, for the references unfolded below (`nullable` needs a `type` beside it).
    let schemas: std::collections::HashMap<String, Value> = doc["components"]["schemas"]
        .as_object()
        .into_iter()
        .flatten()
        .map(|(name, s)| (name.clone(), s.clone()))
        .collect();
    if let Some(all) = doc
        .get_mut("components")
        .and_then(|c| c.get_mut("schemas"))
        .and_then(Value::as_object_mut)
    {
        for schema in all.values_mut() {
            nullable_optionals(schema, &schemas);
        }
    }
    // A value type only ever used as a nullable optional is now unfolded everywhere: its
    // component is referenced by nothing and goes.
    let text = doc.to_string();
    let unused: Vec<String> = schemas
        .iter()
        .filter(|(_, s)| s["type"] != "object")
        .map(|(name, _)| name.clone())
        .filter(|name| !text.contains(&format!("\"#/components/schemas/{name}\"")))
        .collect();
    if let Some(all) = doc
        .get_mut("components")
        .and_then(|c| c.get_mut("schemas"))
        .and_then(Value::as_object_mut)
    {
        for name in unused {
            all.remove(&name);
        }
    }
    doc
}

/// The error statuses an operation can answer, from what it takes:
/// - 400 and 500 always (a query parameter it does not declare is refused);
/// - 401 and 403 when it needs a bearer token (sign-in and refresh answer 401 too);
/// - 404 when its path names a record (and for the signed-in user's own account);
/// - 409 when it changes something, or names a record (a record in a state that refuses it);
/// - 412 when it changes a named record (`If-Match`; not a trade's correction or the risk
///   questionnaire); 413 when it takes a body or changes
///   something (the size limit holds for any body sent); 415 when it takes a body;
/// - 422 when it takes a body or query parameters (a value that does not fit);
/// - 429 for the operations behind a limiter (sign-in, uploads, KYC decisions, and capture,
///   whose duplicate answers about people the caller may not open are limited);
/// - 503 when it changes something, reads at a `min_position` or waits for the access it
///   records (the read model may lag).
///
/// Only problem answers are pruned: an answer of the operation's own (readiness's 503) stays.
pub fn errors_of(path: &str, method: &str, op: &serde_json::Map<String, Value>) -> HashSet<u16> {
    let id = op
        .get("operationId")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let secured = op
        .get("security")
        .and_then(Value::as_array)
        .is_some_and(|s| !s.is_empty());
    let params = || {
        op.get("parameters")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
    };
    let names_record = path.contains('{');
    let changes = matches!(method, "post" | "put" | "patch" | "delete");
    let body = op.contains_key("requestBody");
    let query = params().any(|p| p["in"] == "query");
    // Reads that record an access and wait for the read models to hold it.
    let waits = params().any(|p| p["name"] == "min_position")
        || matches!(id, "exportSubjectData" | "exportSubjectArchive");
    let signs_in = matches!(id, "login" | "refreshToken");
    let limited = signs_in
        || matches!(
            id,
            "changePassword"
                | "captureLead"
                | "captureWebFormLead"
                | "uploadClientDocument"
                | "uploadKycDocument"
                | "decideKyc"
                | "startKycReview"
        );
    let own_account = matches!(id, "getCurrentUser" | "changePassword");
    let mut keep = HashSet::from([400, 500]);
    let mut add = |on: bool, statuses: &[u16]| {
        if on {
            keep.extend(statuses);
        }
    };
    add(secured, &[401, 403]);
    add(OPS.contains(&path), &[401]);
    add(signs_in, &[401]);
    add(names_record || own_account, &[404]);
    add(changes || names_record, &[409]);
    // A trade's correction and the risk questionnaire replace what they name whatever its
    // version (no `If-Match`).
    let unversioned = matches!(id, "correctTrade" | "recordRiskQuestionnaire");
    add(changes && names_record && !unversioned, &[412]);
    add(body, &[415, 422]);
    add(body || changes, &[413]);
    add(query, &[422]);
    add(limited, &[429]);
    add(changes || waits, &[503]);
    keep
}

fn nullable_optionals(schema: &mut Value, schemas: &std::collections::HashMap<String, Value>) {
    let required: HashSet<String> = schema["required"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|v| v.as_str().map(str::to_string))
        .collect();
    let Some(properties) = schema.get_mut("properties").and_then(Value::as_object_mut) else {
        return;
    };
    for (name, property) in properties.iter_mut() {
        if required.contains(name) || property.get("default").is_some() {
            continue;
        }
        let target = property
            .get("$ref")
            .or_else(|| property["allOf"].get(0).and_then(|r| r.get("$ref")))
            .and_then(Value::as_str)
            .map(|r| r.trim_start_matches("#/components/schemas/").to_string());
        match target.and_then(|t| schemas.get(&t).map(|s| (t, s))) {
            // A value type (an enum): unfolded, with `null` among its values.
            Some((_, target)) if target["type"] != "object" => {
                let mut unfolded = target.clone();
                if let Some(values) = unfolded.get_mut("enum").and_then(Value::as_array_mut) {
                    values.push(Value::Null);
                }
                if let Some(d) = property.get("description") {
                    unfolded["description"] = d.clone();
                }
                unfolded["nullable"] = Value::Bool(true);
                *property = unfolded;
            }
            // An object: referred to through `allOf` (a reference takes no siblings).
            Some(_) => {
                let reference = match property.get("$ref") {
                    Some(_) => property.take(),
                    None => property["allOf"][0].clone(),
                };
                let description = property.get("description").cloned();
                let mut wrapped =
                    json!({ "allOf": [reference], "type": "object", "nullable": true });
                if let Some(d) = description {
                    wrapped["description"] = d;
                }
                *property = wrapped;
            }
            None => {
                if let Some(p) = property.as_object_mut() {
                    if p.contains_key("type") {
                        p.insert("nullable".into(), Value::Bool(true));
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_operation_lists_the_errors_it_can_answer() {
        let all: Value = (400..=503)
            .filter(|s| [400, 401, 403, 404, 409, 412, 413, 415, 422, 429, 500, 503].contains(s))
            .map(|s| {
                let content = json!({"application/problem+json": {}});
                (
                    s.to_string(),
                    json!({"description": "problem", "content": content}),
                )
            })
            .collect::<serde_json::Map<_, _>>()
            .into();
        let op = |extra: Value| {
            let mut op = json!({"responses": all.clone(), "security": [{"bearerAuth": []}]});
            op.as_object_mut()
                .unwrap()
                .extend(extra.as_object().unwrap().clone());
            op
        };
        let generated = json!({"paths": {
            "/api/leads": {
                "get": op(json!({"operationId": "listLeads", "parameters": [{"in": "query", "name": "status"}]})),
                "post": op(json!({"operationId": "captureLead", "requestBody": {"content": {}}}))
            },
            "/api/leads/{id}": {"patch": op(json!({"operationId": "updateLead", "requestBody": {"content": {}}}))},
            "/api/auth/login": {"post": op(json!({"operationId": "login", "security": [], "requestBody": {"content": {}}}))},
            "/health": {"get": {"operationId": "getHealth", "responses": {"200": {}}}},
            "/ready": {"get": {"operationId": "getReadiness", "responses": {
                "200": {}, "503": {"content": {"application/json": {}}}}}}
        }, "components": {"schemas": {}}});
        let doc = document(&generated.to_string());
        let codes = |path: &str, method: &str| -> Vec<String> {
            doc["paths"][path][method]["responses"]
                .as_object()
                .unwrap()
                .keys()
                .filter(|k| k.as_str() >= "400")
                .cloned()
                .collect()
        };
        assert_eq!(
            codes("/api/leads", "get"),
            ["400", "401", "403", "422", "500"]
        );
        assert_eq!(
            codes("/api/leads", "post"),
            ["400", "401", "403", "409", "413", "415", "422", "429", "500", "503"]
        );
        assert_eq!(
            codes("/api/leads/{id}", "patch"),
            ["400", "401", "403", "404", "409", "412", "413", "415", "422", "500", "503"]
        );
        assert_eq!(
            codes("/api/auth/login", "post"),
            ["400", "401", "409", "413", "415", "422", "429", "500", "503"]
        );
        assert_eq!(codes("/health", "get"), ["400"]);
        // An answer of the operation's own (not a problem) is never pruned; readiness answers
        // 401 without the operations token when one is configured.
        assert_eq!(codes("/ready", "get"), ["400", "401", "503"]);
    }

    #[test]
    fn public_operations_and_optional_answers_are_declared() {
        let generated = json!({
            "paths": {
                "/health": {"get": {"responses": {"200": {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/Health"}}}}}}},
                "/api/leads": {"post": {"security": [{"bearerAuth": []}],
                    "requestBody": {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/NewLead"}}}},
                    "responses": {"201": {}}}}
            },
            "components": {"schemas": {
                "Health": {"type": "object", "required": ["status"], "properties": {
                    "status": {"type": "string"}, "detail": {"type": "string"},
                    "store": {"$ref": "#/components/schemas/Store"}}},
                "Store": {"type": "object", "properties": {"kind": {"type": "string"}}},
                "Empty": {"type": "object"},
                "NewLead": {"type": "object", "properties": {"notes": {"type": "string"},
                    "urgent": {"type": "boolean", "default": false},
                    "status": {"$ref": "#/components/schemas/Status"}}},
                "Status": {"type": "string", "enum": ["new", "lost"]}
            }}
        });
        let doc = document(&generated.to_string());
        assert_eq!(doc["paths"]["/health"]["get"]["security"], json!([]));
        assert_eq!(
            doc["paths"]["/api/leads"]["post"]["security"],
            json!([{"bearerAuth": []}])
        );
        let health = &doc["components"]["schemas"]["Health"]["properties"];
        assert_eq!(health["detail"]["nullable"], true);
        assert!(health["status"].get("nullable").is_none());
        assert_eq!(health["store"]["nullable"], true);
        assert_eq!(
            health["store"]["allOf"][0]["$ref"],
            "#/components/schemas/Store"
        );
        assert_eq!(health["store"]["type"], "object");
        assert!(doc["components"]["schemas"]["Empty"]
            .get("properties")
            .is_none());
        let store = &doc["components"]["schemas"]["Store"]["properties"];
        assert_eq!(store["kind"]["nullable"], true);
        assert_eq!(
            doc["components"]["schemas"]["NewLead"]["additionalProperties"],
            false
        );
        assert!(doc["components"]["schemas"]["Health"]
            .get("additionalProperties")
            .is_none());
        let request = &doc["components"]["schemas"]["NewLead"]["properties"];
        assert_eq!(request["notes"]["nullable"], true);
        assert!(
            request["urgent"].get("nullable").is_none(),
            "a default is not null"
        );
        assert_eq!(request["status"]["enum"], json!(["new", "lost", null]));
        assert_eq!(request["status"]["nullable"], true);
    }

    #[test]
    #[should_panic(expected = "declared by two endpoint groups")]
    fn a_path_declared_twice_is_refused() {
        document(
            r#"{"paths": {"/a": {"get": {}}, "/a": {"put": {}}}, "components": {"schemas": {}}}"#,
        );
    }
}
