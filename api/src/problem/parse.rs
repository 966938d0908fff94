//! What a request that could not be parsed got wrong, field by field: path parameters by their
//! names, query parameters, and the JSON body checked against the operation's schema (a missing
//! field, a wrong type, a value outside an enum, a field the operation does not take).

use serde_json::Value;

use super::FieldError;
use crate::routes::Route;

/// The field errors behind a parse failure of `route`, when they can be named.
pub fn field_errors(
    err: &poem::Error,
    route: &Route,
    schemas: &Value,
    body: Option<&[u8]>,
) -> Option<Vec<FieldError>> {
    if let Some(e) = err.downcast_ref::<poem_openapi::error::ParsePathError>() {
        let index = e
            .name
            .strip_prefix("param")
            .and_then(|i| i.parse::<usize>().ok());
        let name = index
            .and_then(|i| route.path_params.get(i))
            .map(String::as_str)
            .unwrap_or(e.name);
        return Some(vec![FieldError::new(name, reason(&e.reason))]);
    }
    if let Some(e) = err.downcast_ref::<poem_openapi::error::ParseParamError>() {
        return Some(vec![FieldError::new(e.name, reason(&e.reason))]);
    }
    if err.is::<poem_openapi::error::ParseRequestPayloadError>() {
        let value: Value = serde_json::from_slice(body?).ok()?;
        let mut out = Vec::new();
        check(schemas, route.body.as_ref()?, &value, "", &mut out);
        return (!out.is_empty()).then_some(out);
    }
    None
}

/// Whether a parse failure is a value outside the bounds the contract sets (`limit=0`): the
/// request follows the contract's shape, a value does not fit (422, not 400).
pub fn out_of_bounds(err: &poem::Error) -> bool {
    err.downcast_ref::<poem_openapi::error::ParseParamError>()
        .is_some_and(|e| e.reason.contains("verification failed"))
}

/// A bound a validator holds, in words: `minimum(1, exclusive: false)` is "must be at least 1".
fn bound(raw: &str) -> Option<String> {
    let (_, check) = raw.split_once("verification failed. ")?;
    let (name, args) = check.trim_end_matches(')').split_once('(')?;
    let n = args.split(',').next()?.trim();
    let exclusive = args.contains("exclusive: true");
    Some(match (name, exclusive) {
        ("minimum", false) => format!("must be at least {n}"),
        ("minimum", true) => format!("must be more than {n}"),
        ("maximum", false) => format!("must be at most {n}"),
        ("maximum", true) => format!("must be less than {n}"),
        ("maxLength", _) => format!("must be at most {n} characters"),
        ("minLength", _) => format!("must be at least {n} characters"),
        ("maxItems", _) => format!("must have at most {n} items"),
        ("minItems", _) => format!("must have at least {n} items"),
        _ => return None,
    })
}

/// A parser's reason in the words of the request: "not a UUID", "not a whole number".
fn reason(raw: &str) -> String {
    if let Some(b) = bound(raw) {
        return b;
    }
    let expected = [
        ("uuid", "must be a UUID"),
        (
            "date-time",
            "must be a time in RFC 3339, e.g. 2026-12-01T09:30:00Z",
        ),
        (
            "date_time",
            "must be a time in RFC 3339, e.g. 2026-12-01T09:30:00Z",
        ),
        // After the times: a date alone (`YYYY-MM-DD`).
        ("date", "must be a date, YYYY-MM-DD, e.g. 2026-12-01"),
        ("int", "must be a whole number"),
        ("bool", "must be true or false"),
    ];
    expected
        .iter()
        .find(|(k, _)| raw.contains(k))
        .map(|(_, m)| m.to_string())
        .unwrap_or_else(|| "has an unexpected value".to_string())
}

fn join(path: &str, field: &str) -> String {
    if path.is_empty() {
        field.to_string()
    } else {
        format!("{path}.{field}")
    }
}

fn resolve<'a>(schemas: &'a Value, schema: &'a Value) -> &'a Value {
    match schema["$ref"].as_str() {
        Some(r) => &schemas[r.trim_start_matches("#/components/schemas/")],
        None => schema,
    }
}

/// Checks `value` at `path` against `schema`, naming each field it gets wrong.
fn check(schemas: &Value, schema: &Value, value: &Value, path: &str, out: &mut Vec<FieldError>) {
    let schema = resolve(schemas, schema);
    if let Some(parts) = schema["allOf"].as_array() {
        if !(value.is_null() && schema["nullable"] == true) {
            parts
                .iter()
                .for_each(|s| check(schemas, s, value, path, out));
        }
        return;
    }
    if value.is_null() {
        if schema["nullable"] != true {
            out.push(FieldError::new(path, "must not be null"));
        }
        return;
    }
    let field = if path.is_empty() { "body" } else { path };
    match schema["type"].as_str() {
        Some("object") => {
            let Some(object) = value.as_object() else {
                out.push(FieldError::new(field, "must be an object"));
                return;
            };
            for name in schema["required"].as_array().into_iter().flatten() {
                let name = name.as_str().unwrap_or_default();
                if !object.contains_key(name) {
                    out.push(FieldError::new(&join(path, name), "is required"));
                }
            }
            for (name, v) in object {
                match schema["properties"].get(name) {
                    Some(p) => check(schemas, p, v, &join(path, name), out),
                    None if schema["additionalProperties"] == false => out.push(FieldError::new(
                        &join(path, name),
                        "is not a field of this request",
                    )),
                    None => {}
                }
            }
        }
        Some("array") => match value.as_array() {
            Some(items) => {
                for (i, v) in items.iter().enumerate() {
                    check(
                        schemas,
                        &schema["items"],
                        v,
                        &join(path, &i.to_string()),
                        out,
                    );
                }
            }
            None => out.push(FieldError::new(field, "must be a list")),
        },
        Some("string") => match value.as_str() {
            None => out.push(FieldError::new(field, "must be text")),
            Some(s) => {
                if let Some(allowed) = schema["enum"].as_array() {
                    if !allowed.iter().any(|a| a == value) {
                        let names: Vec<&str> = allowed.iter().filter_map(Value::as_str).collect();
                        out.push(FieldError::new(
                            field,
                            format!("one of {}", names.join(", ")),
                        ));
                    }
                }
                let bad_format = match schema["format"].as_str() {
                    Some("uuid") => uuid::Uuid::parse_str(s).is_err(),
                    Some("date-time") => chrono::DateTime::parse_from_rfc3339(s).is_err(),
                    _ => false,
                };
                if bad_format {
                    out.push(FieldError::new(
                        field,
                        reason(&schema["format"].to_string()),
                    ));
                }
            }
        },
        Some("integer") if !(value.is_i64() || value.is_u64()) => {
            out.push(FieldError::new(field, "must be a whole number"))
        }
        Some("number") if !value.is_number() => {
            out.push(FieldError::new(field, "must be a number"))
        }
        Some("boolean") if !value.is_boolean() => {
            out.push(FieldError::new(field, "must be true or false"))
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn names(errors: &[FieldError]) -> Vec<(&str, &str)> {
        errors
            .iter()
            .map(|e| (e.field.as_str(), e.message.as_str()))
            .collect()
    }

    #[test]
    fn bounds_read_as_words() {
        let min = "failed to parse \"limit\": verification failed. minimum(1, exclusive: false)";
        assert_eq!(reason(min), "must be at least 1");
        let max = "verification failed. maximum(500, exclusive: false)";
        assert_eq!(reason(max), "must be at most 500");
        assert_eq!(
            reason("verification failed. maxLength(64)"),
            "must be at most 64 characters"
        );
        assert_eq!(
            reason("verification failed. pattern(\"x\")"),
            "has an unexpected value"
        );
    }

    #[test]
    fn body_errors_name_the_field() {
        let schemas = json!({
            "NewLead": {"type": "object", "required": ["name", "source"], "additionalProperties": false,
                "properties": {
                    "name": {"type": "string"},
                    "source": {"$ref": "#/components/schemas/Source"},
                    "assign_to": {"type": "string", "format": "uuid", "nullable": true},
                    "tags": {"type": "array", "items": {"type": "string"}}}},
            "Source": {"type": "string", "enum": ["website", "referral"]}
        });
        let schema = json!({"$ref": "#/components/schemas/NewLead"});
        let mut out = Vec::new();
        let body =
            json!({"name": 5, "source": "tv", "colour": "red", "assign_to": "x", "tags": [1]});
        check(&schemas, &schema, &body, "", &mut out);
        assert_eq!(
            names(&out),
            vec![
                ("assign_to", "must be a UUID"),
                ("colour", "is not a field of this request"),
                ("name", "must be text"),
                ("source", "one of website, referral"),
                ("tags.0", "must be text"),
            ]
        );
        let mut out = Vec::new();
        check(
            &schemas,
            &schema,
            &json!({"name": "A", "assign_to": null}),
            "",
            &mut out,
        );
        assert_eq!(names(&out), vec![("source", "is required")]);
        let mut out = Vec::new();
        check(&schemas, &schema, &json!([1]), "", &mut out);
        assert_eq!(names(&out), vec![("body", "must be an object")]);
    }
}
