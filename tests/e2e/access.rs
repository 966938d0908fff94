//! Access: every role against every endpoint, for a lead they own, one their branch owns and
//! one they have nothing to do with; tokens (expiry, forgery, alg none, wrong audience),
//! lockout, refresh rotation and reuse, logout, deactivation, forced password change.

use domain::user::Role;
use jsonwebtoken::{encode, EncodingKey, Header};
use serde_json::{json, Value};

use crate::on_both_stores;
use crate::support::{self, Actor, App, Store, PASSWORD, TEST_JWT_SECRET};

on_both_stores!(
    role_endpoint_owner_matrix,
    lists_hold_only_what_the_caller_may_see,
    tokens_are_checked_strictly,
    five_failures_lock_the_account,
    refresh_tokens_rotate_and_reuse_revokes_the_family,
    logout_deactivation_and_role_changes_end_access,
    users_made_by_an_admin_change_their_password_first,
    logins_per_address_are_limited,
    a_user_created_on_the_command_line_signs_in_to_a_running_server
);

struct Cast {
    admin: Actor,
    bm: Actor,
    bm_elsewhere: Actor,
    owner: Actor,
    colleague: Actor,
    compliance: Actor,
    auditor: Actor,
}

async fn cast(app: &App) -> Cast {
    Cast {
        admin: app.admin.clone(),
        bm: app.actor(Role::BranchManager, Some("MUM-01")).await,
        bm_elsewhere: app.actor(Role::BranchManager, Some("DEL-01")).await,
        owner: app.actor(Role::RelationshipManager, Some("MUM-01")).await,
        colleague: app.actor(Role::RelationshipManager, Some("MUM-01")).await,
        compliance: app.actor(Role::ComplianceOfficer, None).await,
        auditor: app.actor(Role::Auditor, None).await,
    }
}

impl Cast {
    fn all(&self) -> [(&'static str, &Actor); 7] {
        [
            ("admin", &self.admin),
            ("branch manager", &self.bm),
            ("other branch's manager", &self.bm_elsewhere),
            ("owning agent", &self.owner),
            ("another agent", &self.colleague),
            ("compliance officer", &self.compliance),
            ("auditor", &self.auditor),
        ]
    }
}

/// A fresh lead assigned to `owner`, visible in the read model.
async fn lead_of(app: &App, owner: &Actor, n: usize) -> String {
    let (s, v) = app
        .post(
            "/api/leads",
            json!({"name": format!("Matrix Lead {n}"), "email": format!("m{n}-{}@example.in", uuid::Uuid::new_v4().simple()), "source": "website", "assign_to": owner.id}),
        )
        .await;
    assert_eq!(s, 201, "{v}");
    let id = v["id"].as_str().unwrap().to_string();
    app.lead(&id, v["position"].as_i64().unwrap()).await;
    id
}

enum Call {
    Get(String),
    Post(String, Value),
    Patch(String, Value),
    Delete(String),
}

async fn call(app: &App, who: &Actor, c: &Call) -> (u16, Value) {
    let r = match c {
        Call::Get(p) => who.http.get(app.url(p)),
        Call::Post(p, b) => who.http.post(app.url(p)).json(b),
        Call::Patch(p, b) => who.http.patch(app.url(p)).json(b),
        Call::Delete(p) => who.http.delete(app.url(p)),
    };
    app.send(r).await
}

async fn role_endpoint_owner_matrix(store: Store) {
    let app = App::start(store).await;
    let c = cast(&app).await;
    // Expected status per role, in the order of `Cast::all`.
    type Row = (&'static str, fn(&str, &Actor) -> Call, [u16; 7]);
    let rows: Vec<Row> = vec![
        (
            "read lead",
            |l, _| Call::Get(format!("/api/leads/{l}")),
            [200, 200, 404, 200, 404, 200, 403],
        ),
        (
            "lead history",
            |l, _| Call::Get(format!("/api/leads/{l}/history")),
            [200, 200, 404, 200, 404, 200, 403],
        ),
        (
            "lead as of now",
            |l, _| Call::Get(format!("/api/leads/{l}?as_of=2999-01-01T00:00:00Z")),
            [200, 200, 404, 200, 404, 200, 403],
        ),
        (
            "interactions",
            |l, _| Call::Get(format!("/api/leads/{l}/interactions")),
            [200, 200, 404, 200, 404, 200, 403],
        ),
        (
            "edit lead",
            |l, _| Call::Patch(format!("/api/leads/{l}"), json!({"notes": "called back"})),
            [200, 200, 404, 200, 404, 403, 403],
        ),
        (
            "log interaction",
            |l, _| {
                Call::Post(
                    format!("/api/leads/{l}/interactions"),
                    json!({"kind": "call", "summary": "intro call"}),
                )
            },
            [201, 201, 404, 201, 404, 403, 403],
        ),
        (
            "move status",
            |l, _| {
                Call::Post(
                    format!("/api/leads/{l}/status"),
                    json!({"status": "contacted"}),
                )
            },
            [200, 200, 404, 200, 404, 403, 403],
        ),
        (
            "archive",
            |l, _| Call::Delete(format!("/api/leads/{l}")),
            [200, 200, 404, 403, 403, 403, 403],
        ),
        (
            "consent",
            |l, _| {
                Call::Post(
                    format!("/api/privacy/subjects/{l}/consent"),
                    json!({"channel": "email", "granted": true}),
                )
            },
            [200, 200, 404, 200, 404, 200, 403],
        ),
        (
            "legal hold",
            |l, _| {
                Call::Post(
                    format!("/api/privacy/subjects/{l}/legal-hold"),
                    json!({"reason": "SEBI inquiry"}),
                )
            },
            [200, 403, 403, 403, 403, 200, 403],
        ),
        (
            "subject export",
            |l, _| Call::Get(format!("/api/privacy/subjects/{l}/export")),
            [200, 403, 403, 403, 403, 200, 403],
        ),
        (
            "capture",
            |_, _| {
                Call::Post(
                    "/api/leads".into(),
                    json!({"name": "New Person", "phone": format!("9{:09}", rand_digits()), "source": "walk_in"}),
                )
            },
            [201, 201, 201, 201, 201, 403, 403],
        ),
        (
            "list users",
            |_, _| Call::Get("/api/users".into()),
            [200, 200, 200, 403, 403, 200, 403],
        ),
        (
            "create user",
            |_, _| {
                Call::Post(
                    "/api/users".into(),
                    json!({"email": format!("u{}@test.broker", rand_digits()), "name": "New Staff", "role": "auditor", "password": "a fine long password"}),
                )
            },
            [201, 403, 403, 403, 403, 403, 403],
        ),
        (
            "agents",
            |_, _| Call::Get("/api/agents".into()),
            [200, 200, 200, 200, 200, 403, 403],
        ),
        (
            "who did what",
            |_, _| Call::Get("/api/history".into()),
            [200, 403, 403, 403, 403, 200, 200],
        ),
        (
            "audit export",
            |_, _| Call::Get("/api/audit/export?aggregate_type=user".into()),
            [200, 403, 403, 403, 403, 403, 200],
        ),
        (
            "checkpoints",
            |_, _| Call::Get("/api/audit/checkpoints".into()),
            [200, 403, 403, 403, 403, 403, 200],
        ),
    ];
    let mut n = 0;
    let mut failures = Vec::new();
    for (what, make, expected) in &rows {
        for (i, (role, who)) in c.all().iter().enumerate() {
            n += 1;
            let lead = lead_of(&app, &c.owner, n).await;
            let head = app.log_head().await;
            let (status, body) = call(&app, who, &make(&lead, who)).await;
            if status != expected[i] {
                failures.push(format!(
                    "{what} as {role}: {status} (expected {}) {body}",
                    expected[i]
                ));
            }
            if status == 403 || status == 404 {
                // Refused: nothing was written but, at most, nothing (no event for a refusal).
                assert_eq!(app.log_head().await, head, "{what} as {role} wrote events");
            }
        }
    }
    // Without a token everything but signing in is refused.
    let anonymous = reqwest::Client::new();
    for path in [
        "/api/leads",
        "/api/users",
        "/api/history",
        "/api/audit/export",
        "/api/auth/me",
    ] {
        let r = anonymous.get(app.url(path)).send().await.unwrap();
        assert_eq!(r.status(), 401, "{path}");
        assert!(r.headers().get("www-authenticate").is_some());
        assert_eq!(
            r.headers().get("content-type").unwrap(),
            "application/problem+json"
        );
    }
    assert!(
        failures.is_empty(),
        "{} cells wrong:\n{}",
        failures.len(),
        failures.join("\n")
    );
    app.stop().await;
}

fn rand_digits() -> u64 {
    (uuid::Uuid::new_v4().as_u128() % 1_000_000_000) as u64
}

async fn lists_hold_only_what_the_caller_may_see(store: Store) {
    let app = App::start(store).await;
    let c = cast(&app).await;
    let elsewhere = app.actor(Role::RelationshipManager, Some("DEL-01")).await;
    lead_of(&app, &c.owner, 1).await;
    lead_of(&app, &c.owner, 2).await;
    lead_of(&app, &c.colleague, 3).await;
    let last = lead_of(&app, &elsewhere, 4).await;
    let _ = last;
    // An unassigned lead: the branch managers' pool.
    let (s, v) = app
        .post(
            "/api/leads",
            json!({"name": "Pool Lead", "email": "pool@example.in", "source": "website"}),
        )
        .await;
    assert_eq!(s, 201);
    app.lead(v["id"].as_str().unwrap(), v["position"].as_i64().unwrap())
        .await;
    let total = |who: &Actor| {
        let app = &app;
        let who = who.clone();
        async move {
            let (s, v) = app.get_as(&who, "/api/leads?limit=200").await;
            assert_eq!(s, 200, "{v}");
            v["items"]
                .as_array()
                .unwrap()
                .iter()
                .map(|l| l["assignee"].as_str().unwrap_or("none").to_string())
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(total(&c.admin).await.len(), 5);
    assert_eq!(total(&c.compliance).await.len(), 5);
    let own = total(&c.owner).await;
    assert_eq!(own, vec![c.owner.id.clone(), c.owner.id.clone()]);
    let mut branch = total(&c.bm).await;
    branch.sort();
    let mut expected = vec![
        c.owner.id.clone(),
        c.owner.id.clone(),
        c.colleague.id.clone(),
        "none".into(),
    ];
    expected.sort();
    assert_eq!(
        branch, expected,
        "the branch's leads and the unassigned pool"
    );
    assert_eq!(
        total(&c.bm_elsewhere).await.len(),
        2,
        "DEL's agent's lead and the pool"
    );
    // Follow-up lists too: a follow-up on the colleague's lead is not the owner's business.
    let colleague_lead = lead_of(&app, &c.colleague, 5).await;
    let due = (chrono::Utc::now() + chrono::Duration::hours(2)).to_rfc3339();
    let (s, v) = app
        .post_as(
            &c.colleague,
            &format!("/api/leads/{colleague_lead}/follow-ups"),
            json!({"due_at": due, "channel": "call"}),
        )
        .await;
    assert_eq!(s, 201, "{v}");
    let p = v["position"].as_i64().unwrap();
    let (_, mine) = app
        .get_as(
            &c.owner,
            &format!("/api/follow-ups?due=any&min_position={p}"),
        )
        .await;
    assert_eq!(mine["total"], 0);
    let (_, theirs) = app
        .get_as(
            &c.colleague,
            &format!("/api/follow-ups?due=any&min_position={p}"),
        )
        .await;
    assert_eq!(theirs["total"], 1);
    // Assigning outside one's branch is refused; an agent cannot reassign at all.
    let (s, v) = app
        .post_as(
            &c.bm,
            &format!("/api/leads/{colleague_lead}/assignment"),
            json!({"agent_id": elsewhere.id}),
        )
        .await;
    assert_eq!(s, 422, "{v}");
    assert_eq!(v["errors"][0]["field"], "agent_id");
    let (s, _) = app
        .post_as(
            &c.bm,
            &format!("/api/leads/{colleague_lead}/assignment"),
            json!({"agent_id": c.owner.id}),
        )
        .await;
    assert_eq!(s, 200);
    // An agent's own capture is assigned to them.
    let (s, v) = app
        .post_as(
            &c.colleague,
            "/api/leads",
            json!({"name": "Walk In", "phone": "9000000001", "source": "walk_in"}),
        )
        .await;
    assert_eq!(s, 201);
    let (s, lead) = app
        .get_as(
            &c.colleague,
            &format!(
                "/api/leads/{}?min_position={}",
                v["id"].as_str().unwrap(),
                v["position"]
            ),
        )
        .await;
    assert_eq!(s, 200);
    assert_eq!(lead["assignee"], c.colleague.id.as_str());
    // Every event says who did it.
    let (_, h) = app
        .get_as(
            &c.compliance,
            &format!(
                "/api/history?actor={}&min_position={}",
                c.colleague.id, v["position"]
            ),
        )
        .await;
    let types: Vec<&str> = h["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["event_type"].as_str().unwrap())
        .collect();
    assert!(types.contains(&"LeadCaptured"), "{types:?}");
    assert!(h["items"]
        .as_array()
        .unwrap()
        .iter()
        .all(|i| i["actor_role"] == "relationship_manager"));
    app.stop().await;
}

#[derive(serde::Serialize)]
struct Claims {
    iss: String,
    aud: String,
    sub: String,
    role: String,
    ver: i64,
    fam: String,
    pos: i64,
    iat: i64,
    exp: i64,
    jti: String,
}

async fn tokens_are_checked_strictly(store: Store) {
    let app = App::start(store).await;
    let me = &app.admin;
    let (s, v) = app.get_as(me, "/api/auth/me").await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["role"], "admin");
    let parts: Vec<&str> = me.token.split('.').collect();
    let real: Value = serde_json::from_slice(&base64_url(parts[1])).unwrap();
    let now = chrono::Utc::now().timestamp();
    let claims = |iss: &str, aud: &str, exp: i64| Claims {
        iss: iss.into(),
        aud: aud.into(),
        sub: real["sub"].as_str().unwrap().into(),
        role: "admin".into(),
        ver: real["ver"].as_i64().unwrap(),
        fam: real["fam"].as_str().unwrap().into(),
        pos: 0,
        iat: now - 10,
        exp,
        jti: "t".into(),
    };
    let sign = |c: &Claims, secret: &str| {
        encode(
            &Header::default(),
            c,
            &EncodingKey::from_secret(secret.as_bytes()),
        )
        .unwrap()
    };
    // A token made with the real secret and the right claims works (the check is not "any
    // token fails").
    let good = sign(&claims("crm", "crm-api", now + 60), TEST_JWT_SECRET);
    let try_token = |t: String| {
        let app = &app;
        async move {
            let r = support::client_with(&t)
                .get(app.url("/api/auth/me"))
                .send()
                .await
                .unwrap();
            let status = r.status().as_u16();
            let body: Value = r.json().await.unwrap();
            (status, body)
        }
    };
    assert_eq!(try_token(good).await.0, 200);
    let (s, v) = try_token(sign(&claims("crm", "crm-api", now - 60), TEST_JWT_SECRET)).await;
    assert_eq!(s, 401);
    assert!(v["detail"].as_str().unwrap().contains("expired"), "{v}");
    let (s, _) = try_token(sign(
        &claims("crm", "crm-api", now + 60),
        "another-secret-another-secret-123",
    ))
    .await;
    assert_eq!(s, 401, "forged signature");
    let (s, v) = try_token(sign(
        &claims("crm", "someone-else", now + 60),
        TEST_JWT_SECRET,
    ))
    .await;
    assert_eq!(s, 401, "wrong audience");
    assert!(v["detail"].as_str().unwrap().contains("audience"), "{v}");
    let (s, _) = try_token(sign(&claims("evil", "crm-api", now + 60), TEST_JWT_SECRET)).await;
    assert_eq!(s, 401, "wrong issuer");
    // alg none: the same claims, unsigned.
    let header = base64_url_encode(br#"{"alg":"none","typ":"JWT"}"#);
    let body = base64_url_encode(&serde_json::to_vec(&claims("crm", "crm-api", now + 60)).unwrap());
    let (s, _) = try_token(format!("{header}.{body}.")).await;
    assert_eq!(s, 401, "alg none");
    // HS512 with the right secret: the algorithm is pinned.
    let hs512 = encode(
        &Header::new(jsonwebtoken::Algorithm::HS512),
        &claims("crm", "crm-api", now + 60),
        &EncodingKey::from_secret(TEST_JWT_SECRET.as_bytes()),
    )
    .unwrap();
    assert_eq!(try_token(hs512).await.0, 401, "another algorithm");
    assert_eq!(try_token("not-a-jwt".into()).await.0, 401);
    app.stop().await;
}

fn base64_url(s: &str) -> Vec<u8> {
    let mut out = Vec::new();
    let mut buf = 0u32;
    let mut bits = 0;
    for c in s.bytes() {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'-' => 62,
            b'_' => 63,
            _ => continue,
        } as u32;
        buf = (buf << 6) | v;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((buf >> bits) as u8);
            buf &= (1 << bits) - 1;
        }
    }
    out
}

fn base64_url_encode(data: &[u8]) -> String {
    const A: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut out = String::new();
    for chunk in data.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = ((b[0] as u32) << 16) | ((b[1] as u32) << 8) | b[2] as u32;
        for i in 0..=chunk.len() {
            out.push(A[((n >> (18 - 6 * i)) & 63) as usize] as char);
        }
    }
    out
}

async fn login_status(app: &App, email: &str, password: &str) -> (u16, Option<String>, Value) {
    login_from(app, "127.0.0.1", email, password).await
}

/// A sign-in from the local address `from` (any of 127.0.0.0/8 reaches the server).
async fn login_from(
    app: &App,
    from: &str,
    email: &str,
    password: &str,
) -> (u16, Option<String>, Value) {
    let r = reqwest::Client::builder()
        .local_address(from.parse::<std::net::IpAddr>().unwrap())
        .build()
        .unwrap()
        .post(app.url("/api/auth/login"))
        .json(&json!({"email": email, "password": password}))
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    let retry = r
        .headers()
        .get("retry-after")
        .map(|v| v.to_str().unwrap().to_string());
    (status, retry, r.json().await.unwrap())
}

async fn five_failures_lock_the_account(store: Store) {
    let app = App::start(store).await;
    let agent = app.actor(Role::RelationshipManager, Some("MUM-01")).await;
    for i in 0..5 {
        let (s, _, v) = login_status(&app, &agent.email, "wrong password here").await;
        assert_eq!(s, 401, "attempt {i}: {v}");
        assert_eq!(v["detail"], "the e-mail address or the password is wrong");
    }
    let (s, retry, locked) = login_status(&app, &agent.email, PASSWORD).await;
    assert_eq!(s, 429, "locked even with the right password: {locked}");
    let secs: u64 = retry.expect("Retry-After").parse().unwrap();
    assert!(secs > 800 && secs <= 900, "about 15 minutes: {secs}");
    // Another account is not affected.
    assert_eq!(login_status(&app, &app.admin.email, PASSWORD).await.0, 200);
    // An address that is nobody's is answered the same way: failures, then the same lockout.
    for i in 0..5 {
        let (s, _, v) = login_status(&app, "nobody@test.broker", "wrong password here").await;
        assert_eq!(s, 401, "attempt {i}: {v}");
    }
    let (s, retry, nobody) = login_status(&app, "nobody@test.broker", PASSWORD).await;
    assert_eq!(s, 429, "{nobody}");
    let nobody_secs: u64 = retry.expect("Retry-After").parse().unwrap();
    assert!(nobody_secs > 800 && nobody_secs <= 900, "{nobody_secs}");
    assert_eq!(nobody["detail"], locked["detail"]);
    // The lockout holds for the address the failures came from: from another, the right
    // password signs in (someone guessing cannot lock the user out everywhere).
    let (s, _, v) = login_from(&app, "127.0.0.2", &agent.email, PASSWORD).await;
    assert_eq!(s, 200, "{v}");
    // An admin lifts it.
    let (s, _, _) = login_status(&app, &agent.email, PASSWORD).await;
    assert_eq!(s, 429);
    let (s, v) = app
        .post(&format!("/api/users/{}/unlock", agent.id), json!({}))
        .await;
    assert_eq!(s, 200, "{v}");
    let (s, _, v) = login_status(&app, &agent.email, PASSWORD).await;
    assert_eq!(s, 200, "{v}");
    let (s, _) = app
        .post_as(
            &agent,
            &format!("/api/users/{}/unlock", agent.id),
            json!({}),
        )
        .await;
    assert_eq!(s, 403, "admins only");
    // The attempts are events, with no password in them.
    let (_, h) = app
        .get(&format!(
            "/api/history?aggregate_id={}&event_type=LoginFailed&min_position={}",
            agent.id,
            app.log_head().await
        ))
        .await;
    assert_eq!(h["items"].as_array().unwrap().len(), 5, "{h}");
    let (s, export) = app
        .send(app.http.get(app.url(&format!(
            "/api/audit/export?aggregate_type=user&aggregate_id={}",
            agent.id
        ))))
        .await;
    assert_eq!(s, 200);
    let text = export.to_string();
    assert!(!text.contains("wrong password here") && !text.contains(PASSWORD));
    assert!(
        text.contains("UserRegistered"),
        "the export holds the user's events"
    );
    assert!(
        !text.contains("argon2"),
        "password hashes are sealed in the log"
    );
    // An admin's password reset lifts a lock too (and forces a change).
    for _ in 0..5 {
        login_status(&app, &agent.email, "wrong password here").await;
    }
    assert_eq!(login_status(&app, &agent.email, PASSWORD).await.0, 429);
    let (s, v) = app
        .post(
            &format!("/api/users/{}/reset-password", agent.id),
            json!({"password": "temporary password 1"}),
        )
        .await;
    assert_eq!(s, 200, "{v}");
    let (s, _, v) = login_status(&app, &agent.email, "temporary password 1").await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["must_change_password"], true);
    app.stop().await;
}

async fn refresh(app: &App, token: &str) -> (u16, Value) {
    app.send(
        reqwest::Client::new()
            .post(app.url("/api/auth/refresh"))
            .json(&json!({"refresh_token": token})),
    )
    .await
}

async fn refresh_tokens_rotate_and_reuse_revokes_the_family(store: Store) {
    let app = App::start(store).await;
    let me = app.actor(Role::ComplianceOfficer, None).await;
    let (s, second) = refresh(&app, &me.refresh).await;
    assert_eq!(s, 200, "{second}");
    let second_refresh = second["refresh_token"].as_str().unwrap().to_string();
    assert_ne!(second_refresh, me.refresh);
    let second_access = support::client_with(second["access_token"].as_str().unwrap());
    assert_eq!(
        app.send(second_access.get(app.url("/api/auth/me"))).await.0,
        200
    );
    // The first refresh token again: reuse. The family is revoked, the newest token too.
    let (s, v) = refresh(&app, &me.refresh).await;
    assert_eq!(s, 401, "{v}");
    assert_eq!(
        refresh(&app, &second_refresh).await.0,
        401,
        "the whole family is revoked"
    );
    assert_eq!(
        app.send(second_access.get(app.url("/api/auth/me"))).await.0,
        401
    );
    assert_eq!(app.send(me.http.get(app.url("/api/auth/me"))).await.0, 401);
    // A made-up token is refused without events.
    let head = app.log_head().await;
    assert_eq!(refresh(&app, "rt1.nonsense").await.0, 401);
    assert_eq!(app.log_head().await, head);
    // Signing in again works.
    let again = support::login(&app.base, &me.email, PASSWORD).await;
    assert_eq!(
        app.send(again.http.get(app.url("/api/auth/me"))).await.0,
        200
    );
    app.stop().await;
}

async fn logout_deactivation_and_role_changes_end_access(store: Store) {
    let app = App::start(store).await;
    let me = app.actor(Role::RelationshipManager, Some("MUM-01")).await;
    let other_session = support::login(&app.base, &me.email, PASSWORD).await;
    let (s, v) = app.send(me.http.post(app.url("/api/auth/logout"))).await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(
        app.send(me.http.get(app.url("/api/leads"))).await.0,
        401,
        "logged out at once"
    );
    assert_eq!(refresh(&app, &me.refresh).await.0, 401);
    assert_eq!(
        app.send(other_session.http.get(app.url("/api/leads")))
            .await
            .0,
        200,
        "other sessions stay"
    );
    // A role change ends the old tokens.
    let (s, v) = app
        .send(
            app.http
                .patch(app.url(&format!("/api/users/{}", me.id)))
                .json(&json!({"role": "auditor"})),
        )
        .await;
    assert_eq!(s, 200, "{v}");
    let p = v["position"].as_i64().unwrap();
    app.get(&format!("/api/users/{}?min_position={p}", me.id))
        .await;
    assert_eq!(
        app.send(other_session.http.get(app.url("/api/leads")))
            .await
            .0,
        401
    );
    let as_auditor = support::login(&app.base, &me.email, PASSWORD).await;
    assert_eq!(
        app.send(as_auditor.http.get(app.url("/api/leads"))).await.0,
        403
    );
    // Deactivation: no login, no token.
    let (s, v) = app
        .post(&format!("/api/users/{}/deactivate", me.id), json!({}))
        .await;
    assert_eq!(s, 200, "{v}");
    let p = v["position"].as_i64().unwrap();
    app.get(&format!("/api/users/{}?min_position={p}", me.id))
        .await;
    assert_eq!(
        app.send(as_auditor.http.get(app.url("/api/history")))
            .await
            .0,
        401
    );
    assert_eq!(login_status(&app, &me.email, PASSWORD).await.0, 401);
    let (s, v) = app
        .post(&format!("/api/users/{}/deactivate", me.id), json!({}))
        .await;
    assert_eq!(s, 409, "{v}");
    let (s, _) = app
        .post(
            &format!("/api/users/{}/deactivate", app.admin.id),
            json!({}),
        )
        .await;
    assert_eq!(s, 409, "an admin cannot lock themselves out");
    app.stop().await;
}

async fn users_made_by_an_admin_change_their_password_first(store: Store) {
    let app = App::start(store).await;
    // The password policy, and one user per e-mail address.
    let (s, v) = app
        .post("/api/users", json!({"email": "ravi@test.broker", "name": "Ravi", "role": "relationship_manager", "branch": "MUM-01", "password": "short"}))
        .await;
    assert_eq!(s, 422);
    assert_eq!(v["errors"][0]["field"], "password");
    let (s, v) = app
        .post("/api/users", json!({"email": "ravi@test.broker", "name": "Ravi", "role": "relationship_manager", "branch": "MUM-01", "password": "ravi@test.broker"}))
        .await;
    assert_eq!(s, 422, "{v}");
    let (s, v) = app
        .post("/api/users", json!({"email": "ravi@test.broker", "name": "Ravi", "role": "relationship_manager", "password": "temporary password 9"}))
        .await;
    assert_eq!(s, 422, "an agent needs a branch: {v}");
    assert_eq!(v["errors"][0]["field"], "branch");
    let (s, v) = app
        .post("/api/users", json!({"email": "Ravi@Test.Broker", "name": "Ravi", "role": "relationship_manager", "branch": "mum-01", "password": "temporary password 9"}))
        .await;
    assert_eq!(s, 201, "{v}");
    let (s, v) = app
        .post("/api/users", json!({"email": "ravi@test.broker", "name": "Ravi Again", "role": "auditor", "password": "temporary password 9"}))
        .await;
    assert_eq!(s, 409, "{v}");
    let (s, _, v) = login_status(&app, "ravi@test.broker", "temporary password 9").await;
    assert_eq!(s, 200);
    assert_eq!(v["must_change_password"], true);
    let ravi = support::client_with(v["access_token"].as_str().unwrap());
    let (s, v) = app.send(ravi.get(app.url("/api/leads"))).await;
    assert_eq!(s, 403);
    assert_eq!(v["type"], "/problems/password-change-required");
    assert_eq!(app.send(ravi.get(app.url("/api/auth/me"))).await.0, 200);
    let (s, v) = app
        .send(ravi.post(app.url("/api/auth/password")).json(
            &json!({"current_password": "wrong one", "new_password": "my own long password"}),
        ))
        .await;
    assert_eq!(s, 422, "{v}");
    let (s, v) = app
        .send(ravi.post(app.url("/api/auth/password")).json(&json!({"current_password": "temporary password 9", "new_password": "my own long password"})))
        .await;
    assert_eq!(s, 200, "{v}");
    let ravi = support::login(&app.base, "ravi@test.broker", "my own long password").await;
    // Recent passwords come back neither as they were nor by a second change.
    let change = |who: &Actor, from: &str, to: &str| {
        let body = json!({"current_password": from, "new_password": to});
        app.send(who.http.post(app.url("/api/auth/password")).json(&body))
    };
    let (s, v) = change(&ravi, "my own long password", "temporary password 9").await;
    assert_eq!(
        (s, v["errors"][0]["field"].as_str()),
        (422, Some("new_password")),
        "{v}"
    );
    let (s, v) = change(&ravi, "my own long password", "a second long password").await;
    assert_eq!(s, 200, "{v}");
    let ravi = support::login(&app.base, "ravi@test.broker", "a second long password").await;
    let (s, v) = change(&ravi, "a second long password", "my own long password").await;
    assert_eq!(
        (s, v["errors"][0]["field"].as_str()),
        (422, Some("new_password")),
        "{v}"
    );
    // An admin's own password is never reset (a stolen session must not become the
    // account): it is changed with the current one.
    let (s, v) = app
        .post(
            &format!("/api/users/{}/reset-password", app.admin.id),
            json!({"password": "temporary password 1"}),
        )
        .await;
    assert_eq!(
        (s, v["type"].as_str()),
        (409, Some("/problems/self-reset")),
        "{v}"
    );
    let (s, me) = app.get_as(&ravi, "/api/auth/me").await;
    assert_eq!(s, 200);
    assert_eq!(me["must_change_password"], false);
    assert_eq!(me["branch"], "MUM-01");
    assert_eq!(app.get_as(&ravi, "/api/leads").await.0, 200);
    // Edits that would leave the firm without its admin, or point at nobody, are refused.
    let id = me["id"].as_str().unwrap();
    let patch = |path: String, body: Value| app.send(app.http.patch(app.url(&path)).json(&body));
    let (s, v) = patch(
        format!("/api/users/{}", app.admin.id),
        json!({"role": "auditor"}),
    )
    .await;
    assert_eq!(s, 409, "{v}");
    let (s, v) = patch(
        format!("/api/users/{id}"),
        json!({"manager_id": uuid::Uuid::new_v4()}),
    )
    .await;
    assert_eq!(s, 422, "{v}");
    assert_eq!(v["errors"][0]["field"], "manager_id");
    let (s, _) = patch(
        format!("/api/users/{id}"),
        json!({"email": "other@test.broker"}),
    )
    .await;
    assert_eq!(s, 400, "unknown fields are refused");
    let (s, v) = patch(
        format!("/api/users/{id}"),
        json!({"manager_id": app.admin.id}),
    )
    .await;
    assert_eq!(s, 200, "{v}");
    // Creating a user is safe to retry with an Idempotency-Key.
    let create = |body: Value| {
        app.send(
            app.http
                .post(app.url("/api/users"))
                .header("Idempotency-Key", "new-auditor-1")
                .json(&body),
        )
    };
    let body = json!({"email": "aud@test.broker", "name": "Aud Itor", "role": "auditor", "password": "temporary password 7"});
    let (s1, first) = create(body.clone()).await;
    let (s2, again) = create(body).await;
    assert_eq!((s1, s2), (201, 201), "{first} {again}");
    assert_eq!(first["id"], again["id"], "the repeat gets the first answer");
    let (s, _) = create(json!({"email": "aud2@test.broker", "name": "Aud Two", "role": "auditor", "password": "temporary password 7"})).await;
    assert_eq!(s, 422, "the same key for another request");
    for bad in [
        "actor=not-a-uuid",
        "aggregate_type=spaceship",
        "subject_id=xyz",
        "limit=0",
        "event_type=LeadCapturd",
        "from=2026-02-01T00:00:00Z&to=2026-01-01T00:00:00Z",
    ] {
        let (s, v) = app.get(&format!("/api/history?{bad}")).await;
        assert_eq!(s, 422, "{bad}: {v}");
    }
    app.stop().await;
}

async fn logins_per_address_are_limited(store: Store) {
    let fresh = crate::support::Fresh::new(store).await;
    let app = App::start_with(fresh, |c| c.serve.auth_rate_per_minute = 4).await;
    // The harness's own sign-in took one attempt.
    let mut statuses = Vec::new();
    for _ in 0..4 {
        statuses.push(
            login_status(&app, "nobody@test.broker", "whatever password")
                .await
                .0,
        );
    }
    assert_eq!(statuses, vec![401, 401, 401, 429]);
    let (s, retry, _) = login_status(&app, &app.admin.email, PASSWORD).await;
    assert_eq!(s, 429, "the address is limited whatever the account");
    assert!(retry.is_some());
    app.stop().await;
}

/// Postgres never runs with a made-up secret; SQLite keeps a generated one in its data dir.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_needs_a_jwt_secret_and_sqlite_generates_one() {
    let fresh = crate::support::Fresh::new(Store::Postgres).await;
    let mut config = fresh.config();
    config.serve.jwt_secret = None;
    let err = api::server::start(config).await.err().expect("refused");
    assert!(err.to_string().contains("CRM_JWT_SECRET"), "{err}");
    let mut config = fresh.config();
    config.store.audit_signing_key = None;
    let err = api::server::start(config).await.err().expect("refused");
    assert!(err.to_string().contains("CRM_AUDIT_SIGNING_KEY"), "{err}");

    let fresh = crate::support::Fresh::new(Store::Sqlite).await;
    let mut config = fresh.config();
    config.serve.jwt_secret = None;
    config.store.audit_signing_key = None;
    let running = api::server::start(config).await.expect("starts");
    assert!(fresh.data_dir.join("jwt.key").exists());
    assert!(fresh.data_dir.join("audit-signing.key").exists());
    running.stop().await;
    let _ = std::fs::remove_dir_all(&fresh.data_dir);
}

async fn a_user_created_on_the_command_line_signs_in_to_a_running_server(store: Store) {
    let app = App::start(store).await;
    crate::projection::create_admin_with_cli(&app.fresh, "cli-admin@test.broker").await;
    let admin = support::login(&app.base, "cli-admin@test.broker", PASSWORD).await;
    let (s, me) = app.get_as(&admin, "/api/auth/me").await;
    assert_eq!(s, 200, "{me}");
    assert_eq!(me["role"], "admin");
    assert_eq!(me["must_change_password"], false);
    // The same address twice is refused.
    let mut cmd = tokio::process::Command::new(env!("CARGO_BIN_EXE_crm"));
    cmd.args([
        "user",
        "create",
        "--email",
        "cli-admin@test.broker",
        "--name",
        "Again",
        "--role",
        "auditor",
        "--password-stdin",
    ])
    .stdin(std::process::Stdio::piped())
    .stdout(std::process::Stdio::piped())
    .stderr(std::process::Stdio::piped());
    app.fresh.env(&mut cmd);
    let mut child = cmd.spawn().unwrap();
    {
        use tokio::io::AsyncWriteExt;
        let mut stdin = child.stdin.take().unwrap();
        stdin.write_all(b"another long password\n").await.unwrap();
    }
    let out = child.wait_with_output().await.unwrap();
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("exists"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    app.stop().await;
}
