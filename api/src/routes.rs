//! The operations the OpenAPI document declares, matched against requests: a query parameter an
//! operation does not declare is refused (400) rather than ignored (a misspelt filter must not
//! quietly return everything), and logs name the route by its pattern (`/api/leads/{id}`), never
//! by the path a client sent.

use std::collections::HashSet;

use poem::http::Method;

/// One operation of the document.
#[derive(Debug, Clone, PartialEq)]
pub struct Route {
    method: Method,
    /// The path pattern, as the document writes it.
    pub pattern: String,
    segments: Vec<Option<String>>,
    query: HashSet<String>,
    /// Its query parameters that take a list (and so may repeat).
    lists: HashSet<String>,
    /// The names of its path parameters, in order.
    pub path_params: Vec<String>,
    /// The schema of its JSON request body, if it takes one.
    pub body: Option<serde_json::Value>,
    /// The statuses it declares it can answer.
    pub statuses: HashSet<u16>,
}

impl Route {
    /// What is wrong with the parameters of `query` (a raw query string): each one this
    /// operation does not declare, and each one given more than once that takes one value.
    pub fn unknown_params(&self, query: &str) -> Vec<(String, &'static str)> {
        let mut seen = HashSet::new();
        let mut wrong: Vec<(String, &'static str)> = Vec::new();
        for pair in query.split('&').filter(|pair| !pair.is_empty()) {
            let name = decode(pair.split('=').next().unwrap_or_default());
            let why = if !self.query.contains(&name) {
                "not a query parameter of this operation"
            } else if !seen.insert(name.clone()) && !self.lists.contains(&name) {
                "given more than once; it takes one value"
            } else {
                continue;
            };
            if !wrong.iter().any(|(n, _)| *n == name) {
                wrong.push((name, why));
            }
        }
        wrong
    }
}

/// Every operation of the served document, and its schemas (for naming what a request got
/// wrong).
#[derive(Debug, Clone, Default)]
pub struct Routes(Vec<Route>, pub serde_json::Value);

impl Routes {
    /// Reads the operations of an OpenAPI 3 document.
    pub fn from_spec(spec: &serde_json::Value) -> Self {
        let mut routes = Vec::new();
        let schemas = spec["components"]["schemas"].clone();
        let Some(paths) = spec["paths"].as_object() else {
            return Self(routes, schemas);
        };
        for (pattern, item) in paths {
            let segments = pattern
                .split('/')
                .map(|s| (!(s.starts_with('{') && s.ends_with('}'))).then(|| s.to_string()))
                .collect::<Vec<_>>();
            let path_params = pattern
                .split('/')
                .filter_map(|s| s.strip_prefix('{')?.strip_suffix('}'))
                .map(str::to_string)
                .collect::<Vec<_>>();
            let Some(operations) = item.as_object() else {
                continue;
            };
            for (method, operation) in operations {
                let Ok(method) = Method::from_bytes(method.to_ascii_uppercase().as_bytes()) else {
                    continue;
                };
                let params = || {
                    operation["parameters"]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .filter(|p| p["in"] == "query")
                };
                let name = |p: &serde_json::Value| p["name"].as_str().map(str::to_string);
                let query = params().filter_map(name).collect();
                let lists = params()
                    .filter(|p| p["schema"]["type"] == "array")
                    .filter_map(name)
                    .collect();
                let body = operation["requestBody"]["content"]
                    .as_object()
                    .and_then(|c| c.iter().find(|(k, _)| k.starts_with("application/json")))
                    .map(|(_, media)| media["schema"].clone());
                let statuses = operation["responses"]
                    .as_object()
                    .into_iter()
                    .flat_map(|r| r.keys())
                    .filter_map(|k| k.parse().ok())
                    .collect();
                routes.push(Route {
                    method,
                    pattern: pattern.clone(),
                    segments: segments.clone(),
                    query,
                    lists,
                    path_params: path_params.clone(),
                    body,
                    statuses,
                });
            }
        }
        // Literal segments before parameters: `/api/follow-ups` wins over `/api/{x}`.
        routes.sort_by_key(|r| r.segments.iter().filter(|s| s.is_none()).count());
        Self(routes, schemas)
    }

    /// The operation `method path` reaches, if the document declares one.
    pub fn find(&self, method: &Method, path: &str) -> Option<&Route> {
        let parts: Vec<&str> = path.split('/').collect();
        self.0.iter().find(|r| {
            r.method == method
                && r.segments.len() == parts.len()
                && r.segments
                    .iter()
                    .zip(&parts)
                    .all(|(s, p)| s.as_deref().is_none_or(|s| s == *p))
        })
    }

    /// What a log line calls the route of `method path`: its pattern, or a word for what the
    /// document does not declare (nothing a client typed reaches the log).
    pub fn name(&self, method: &Method, path: &str) -> String {
        if let Some(route) = self.find(method, path) {
            return route.pattern.clone();
        }
        let any_method = self.0.iter().any(|r| {
            r.segments.len() == path.split('/').count()
                && r.segments
                    .iter()
                    .zip(path.split('/'))
                    .all(|(s, p)| s.as_deref().is_none_or(|s| s == p))
        });
        match path {
            _ if any_method => "(method not allowed)".into(),
            "/api/openapi.json" => path.into(),
            _ if path == "/docs" || path.starts_with("/docs/") => "/docs".into(),
            _ => "(no route)".into(),
        }
    }
}

/// A query parameter's name as sent, decoded (`%XX` and `+`).
fn decode(raw: &str) -> String {
    let hex = |b: u8| (b as char).to_digit(16).map(|d| d as u8);
    let bytes = raw.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let escaped = (bytes[i] == b'%' && i + 2 < bytes.len())
            .then(|| Some(hex(bytes[i + 1])? * 16 + hex(bytes[i + 2])?))
            .flatten();
        match (bytes[i], escaped) {
            (_, Some(b)) => {
                out.push(b);
                i += 2;
            }
            (b'+', None) => out.push(b' '),
            (b, None) => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn routes() -> Routes {
        Routes::from_spec(&json!({"paths": {
            "/api/leads": {
                "get": {"parameters": [{"name": "status", "in": "query"}, {"name": "tag", "in": "query", "schema": {"type": "array"}}, {"name": "Idempotency-Key", "in": "header"}]},
                "post": {}
            },
            "/api/leads/{id}": {"get": {"parameters": [{"name": "id", "in": "path"}, {"name": "as_of", "in": "query"}]}},
            "/api/leads/{id}/history": {"get": {}},
            "/api/follow-ups": {"get": {"parameters": [{"name": "due", "in": "query"}]}}
        }}))
    }

    #[test]
    fn requests_find_their_operation_and_its_query_parameters() {
        let r = routes();
        let list = r.find(&Method::GET, "/api/leads").unwrap();
        let names = |q: &str| -> Vec<String> {
            list.unknown_params(q).into_iter().map(|(n, _)| n).collect()
        };
        assert_eq!(names("status=new&limit=5&statuz=x"), ["limit", "statuz"]);
        assert_eq!(names("st%61tus=new"), Vec::<String>::new());
        assert_eq!(names(""), Vec::<String>::new());
        assert_eq!(
            names("status=new&status=lost"),
            ["status"],
            "one value only"
        );
        assert_eq!(names("tag=a&tag=b"), Vec::<String>::new(), "a list repeats");
        assert_eq!(
            names("Idempotency-Key=x"),
            ["Idempotency-Key"],
            "a header is not a query parameter"
        );
        let one = r.find(
            &Method::GET,
            "/api/leads/0193e2a4-41c7-7b3e-9a10-44d26f8e5b21",
        );
        assert_eq!(one.unwrap().pattern, "/api/leads/{id}");
        assert!(r.find(&Method::DELETE, "/api/leads").is_none());
        assert!(r.find(&Method::GET, "/api/leads/x/history/y").is_none());
    }

    #[test]
    fn logged_routes_carry_no_ids_and_nothing_typed_by_clients() {
        let r = routes();
        assert_eq!(
            r.name(&Method::GET, "/api/leads/asha.rao@example.in/history"),
            "/api/leads/{id}/history"
        );
        assert_eq!(r.name(&Method::GET, "/api/+919876543210"), "(no route)");
        assert_eq!(r.name(&Method::PUT, "/api/leads"), "(method not allowed)");
        assert_eq!(r.name(&Method::GET, "/docs/index.html"), "/docs");
        assert_eq!(r.name(&Method::GET, "/api/follow-ups"), "/api/follow-ups");
    }
}
