//! The OpenAPI document as served: what the endpoint declarations generate, completed where the
//! generator is silent, so that a client generator's types match what the server sends.
//!
//! - Operations that need no sign-in say so (`security: []`), beside those that take a bearer.
//! - Request bodies take no field they do not declare (every request type refuses unknown
//!   fields): `additionalProperties: false`.
//! - An optional property (one without a default) is sent as `null` when it has no value, and
//!   `null` is accepted for it in a request: every such property is declared `nullable`.

use std::collections::HashSet;

use serde_json::{json, Value};

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
    if let Some(paths) = doc["paths"].as_object_mut() {
        for operation in paths.values_mut().filter_map(Value::as_object_mut) {
            for op in operation.values_mut().filter_map(Value::as_object_mut) {
                op.entry("security").or_insert_with(|| json!([]));
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
    doc
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
