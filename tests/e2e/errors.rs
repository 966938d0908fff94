//! Bad input gets a clear problem+json answer and changes nothing.

use serde_json::json;
use uuid::Uuid;

use crate::on_both_stores;
use crate::support::{asha, App, Store};

on_both_stores!(bad_requests_change_nothing);

async fn bad_requests_change_nothing(store: Store) {
    let app = App::start(store).await;
    let (id, _) = app.capture(asha()).await;
    let head = app.log_head().await;
    let post_raw = |path: &str, body: &'static str, ct: &'static str| {
        app.http
            .post(app.url(path))
            .header("content-type", ct)
            .body(body)
    };

    // A query parameter the operation does not know is refused, not ignored (a misspelt
    // filter would otherwise answer every lead).
    let (s, v) = app.get("/api/leads?statuz=new&limit=5").await;
    assert_eq!(s, 400, "{v}");
    assert_eq!(v["errors"][0]["field"], "statuz", "{v}");
    assert_eq!(v["errors"].as_array().unwrap().len(), 1, "{v}");
    let (s, v) = app
        .get(&format!(
            "/api/leads/{id}?as_of=2001-01-01T00:00:00Z&verbose=1"
        ))
        .await;
    assert_eq!(s, 400, "{v}");
    let (s, v) = app.get("/api/leads?status=new&limit=5").await;
    assert_eq!(s, 200, "{v}");
    // Parse errors name the field: a path parameter by its name, body fields by their JSON names.
    let (s, v) = app.get("/api/leads/not-a-uuid").await;
    assert_eq!((s, &v["errors"][0]["field"]), (400, &json!("id")), "{v}");
    let (s, v) = app.get("/api/leads?limit=many").await;
    assert_eq!((s, &v["errors"][0]["field"]), (400, &json!("limit")), "{v}");
    let (s, v) = app
        .post(
            "/api/leads",
            json!({"name": 5, "source": "tv", "phone": "9876543210", "colour": "red"}),
        )
        .await;
    assert_eq!(s, 400, "{v}");
    let fields: Vec<&str> = v["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    assert_eq!(fields, ["colour", "name", "source"], "{v}");
    // A command whose every field is optional takes an empty body (here: refused on the
    // pipeline's rules, not for want of a body).
    let (s, v) = app
        .send(app.http.post(app.url(&format!("/api/leads/{id}/convert"))))
        .await;
    assert_eq!(s, 409, "{v}");

    // A command that changes nothing says so.
    let patch = |name: &'static str| {
        app.http
            .patch(app.url(&format!("/api/leads/{id}")))
            .json(&json!({ "name": name }))
    };
    let (s, v) = app.send(patch("Asha Rao")).await;
    assert_eq!((s, &v["changed"]), (200, &json!(false)), "{v}");

    let (s, v) = app
        .send(post_raw("/api/leads", "{\"name\": ", "application/json"))
        .await;
    assert_eq!(
        (s, v["type"].as_str()),
        (400, Some("/problems/bad-request")),
        "malformed JSON: {v}"
    );
    let (s, _) = app
        .send(post_raw(
            "/api/leads",
            "{\"name\": 5, \"source\": \"website\", \"phone\": \"9876543210\"}",
            "application/json",
        ))
        .await;
    assert_eq!(s, 400, "wrong type");
    let (s, _) = app
        .post(
            "/api/leads",
            json!({"name": "A B", "phone": "9876543210", "source": "website", "colour": "red"}),
        )
        .await;
    assert_eq!(s, 400, "unknown field");
    let (s, _) = app
        .post(
            "/api/leads",
            json!({"name": "A B", "phone": "9876543210", "source": "tv"}),
        )
        .await;
    assert_eq!(s, 400, "unknown enum value");
    let (s, v) = app
        .post("/api/leads", json!({"name": "A B", "source": "website"}))
        .await;
    assert_eq!(s, 422, "no contact channel");
    let fields: Vec<&str> = v["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    assert_eq!(fields, vec!["email", "phone"]);
    let (s, v) = app
        .post("/api/leads", json!({"name": "A B", "email": "not-mail", "phone": "+1 415 555 0100", "source": "website", "product_interest": ["equity", ""]}))
        .await;
    assert_eq!(s, 422);
    assert_eq!(
        v["errors"].as_array().unwrap().len(),
        3,
        "every invalid field is named: {v}"
    );
    let (s, _) = app
        .send(post_raw("/api/leads", "name=x", "text/plain"))
        .await;
    assert!(s == 400 || s == 415, "non-JSON body: {s}");
    let big = "x".repeat(70 * 1024);
    let (s, v) = app
        .post(
            "/api/leads",
            json!({"name": "A B", "phone": "9876543210", "source": "website", "notes": big}),
        )
        .await;
    assert_eq!(s, 413, "{v}");
    let (s, v) = app.post("/api/leads", json!({"name": "A B", "phone": "9876543210", "source": "website", "notes": "y".repeat(6000)})).await;
    assert_eq!(s, 422);
    assert_eq!(v["errors"][0]["field"], "notes");

    for wrong in [json!(true), json!(42), json!(["A"])] {
        let (s, v) = app
            .post(
                "/api/leads",
                json!({"name": wrong, "phone": "9876543210", "source": "website"}),
            )
            .await;
        assert_eq!(
            s, 400,
            "a non-string name is refused, not turned into text: {v}"
        );
    }
    let (s, _) = app
        .post(
            "/api/leads",
            json!({"name": "A B", "phone": 9876543210u64, "source": "website"}),
        )
        .await;
    assert_eq!(s, 400, "a phone number sent as a JSON number");

    let missing = Uuid::new_v4();
    let (s, v) = app.get(&format!("/api/leads/{missing}")).await;
    assert_eq!((s, v["type"].as_str()), (404, Some("/problems/not-found")));
    let (s, _) = app
        .post(
            &format!("/api/leads/{missing}/status"),
            json!({"status": "contacted"}),
        )
        .await;
    assert_eq!(s, 404);
    let (s, _) = app.get(&format!("/api/leads/{missing}/history")).await;
    assert_eq!(s, 404);
    let (s, _) = app
        .send(app.http.delete(app.url(&format!("/api/leads/{missing}"))))
        .await;
    assert_eq!(s, 404);
    let (s, _) = app.get("/api/leads/not-a-uuid").await;
    assert_eq!(s, 400);
    let (s, _) = app
        .post(
            &format!("/api/leads/{id}/status"),
            json!({"status": "sideways"}),
        )
        .await;
    assert_eq!(s, 400);
    let (s, _) = app.get("/api/leads?limit=0").await;
    assert_eq!(s, 422);
    let (s, _) = app.get("/api/leads?limit=abc").await;
    assert_eq!(s, 400);
    let (s, v) = app.get("/api/leads?cursor=zzzz").await;
    assert_eq!(s, 422);
    assert_eq!(v["errors"][0]["field"], "cursor");
    let (s, _) = app.get("/api/leads?created_from=yesterday").await;
    assert_eq!(s, 400);
    let (s, v) = app
        .get(&format!("/api/leads?min_position={}", head + 1000))
        .await;
    assert_eq!(s, 422, "{v}");
    let (s, _) = app
        .send(
            app.http
                .get(app.url("/api/leads"))
                .header("X-Min-Position", "soon"),
        )
        .await;
    assert_eq!(s, 400);
    let (s, v) = app.get("/api/nothing-here").await;
    assert_eq!((s, v["type"].as_str()), (404, Some("/problems/not-found")));
    let (s, _) = app.send(app.http.put(app.url("/api/leads"))).await;
    assert_eq!(s, 405);
    let (s, _) = app
        .send(
            app.http
                .post(app.url("/api/leads"))
                .header("Idempotency-Key", "")
                .json(&asha()),
        )
        .await;
    assert_eq!(s, 400, "empty idempotency key");

    let (s, v) = app
        .post(
            &format!("/api/leads/{id}/assignment"),
            json!({"agent_id": Uuid::nil()}),
        )
        .await;
    assert_eq!(s, 422, "the nil id is no agent: {v}");
    let (s, v) = app
        .post(
            &format!("/api/leads/{id}/follow-ups"),
            json!({"due_at": "2100-01-01T00:00:00Z", "channel": "call"}),
        )
        .await;
    assert_eq!((s, v["errors"][0]["field"].as_str()), (422, Some("due_at")));
    let (s, v) = app
        .post(
            &format!("/api/leads/{id}/interactions"),
            json!({"kind": "call", "summary": "old", "occurred_at": "0001-01-01T00:00:00Z"}),
        )
        .await;
    assert_eq!(
        (s, v["errors"][0]["field"].as_str()),
        (422, Some("occurred_at"))
    );
    let non_ascii = reqwest::header::HeaderValue::from_bytes(b"caf\xc3\xa9").unwrap();
    let (s, _) = app
        .send(
            app.http
                .post(app.url("/api/leads"))
                .header("Idempotency-Key", non_ascii)
                .json(&asha()),
        )
        .await;
    assert_eq!(
        s, 400,
        "an unreadable Idempotency-Key is refused, not ignored"
    );

    assert_eq!(
        app.log_head().await,
        head,
        "no bad request appended anything"
    );
    let (_, m) = app.get("/metrics").await;
    let text = m.as_str().unwrap();
    assert!(
        text.contains("crm_http_requests_total{") && text.contains("status=\"400\""),
        "the bad requests are counted:\n{text}"
    );
    assert!(
        !text.contains("status=\"5"),
        "no request produced a 5xx:\n{text}"
    );
    app.stop().await;
}
