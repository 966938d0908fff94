use std::path::PathBuf;
use std::time::Duration;

use api::config::Config;
use api::server::{self, Running};
use serde_json::{json, Value};
use store::Db;
use uuid::Uuid;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Store {
    Sqlite,
    Postgres,
}

/// Generates one `#[tokio::test]` per store for an `async fn(Store)` scenario.
#[macro_export]
macro_rules! on_both_stores {
    ($($name:ident),+ $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $name() { super::$name($crate::support::Store::Sqlite).await }
            )+
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $name() { super::$name($crate::support::Store::Postgres).await }
            )+
        }
    };
}

/// A fresh place to keep data: a new directory, and for Postgres a new database.
pub struct Fresh {
    pub data_dir: PathBuf,
    pub database_url: Option<String>,
}

impl Fresh {
    pub async fn new(store: Store) -> Self {
        let data_dir = std::env::temp_dir().join(format!("crm-test-{}", Uuid::new_v4().simple()));
        let database_url = match store {
            Store::Sqlite => None,
            Store::Postgres => {
                let admin = std::env::var("CRM_TEST_PG_URL").expect(
                    "CRM_TEST_PG_URL is not set: run the tests with scripts/test, which starts a throwaway Postgres",
                );
                let name = format!("crm_test_{}", Uuid::new_v4().simple());
                let pool = sqlx::PgPool::connect(&admin)
                    .await
                    .expect("connect to the test cluster");
                sqlx::query(&format!("CREATE DATABASE {name}"))
                    .execute(&pool)
                    .await
                    .expect("create test database");
                pool.close().await;
                let base = admin.rsplit_once('/').expect("URL has a database").0;
                Some(format!("{base}/{name}"))
            }
        };
        Self {
            data_dir,
            database_url,
        }
    }

    pub fn config(&self) -> Config {
        let mut c = Config::ephemeral(self.data_dir.clone(), self.database_url.clone());
        c.serve.read_wait_ms = 20_000;
        c.serve.jwt_secret = Some(TEST_JWT_SECRET.into());
        c.store.audit_signing_key = Some(TEST_AUDIT_KEY.into());
        // No pack written behind a test's back (a test turns it on to see the schedule).
        c.serve.compliance_pack_interval = 0;
        c
    }

    /// The same settings for a `crm` child process.
    pub fn env(&self, cmd: &mut tokio::process::Command) {
        cmd.env("CRM_DATA_DIR", &self.data_dir)
            .env("CRM_JWT_SECRET", TEST_JWT_SECRET)
            .env("CRM_AUDIT_SIGNING_KEY", TEST_AUDIT_KEY)
            .env("CRM_COMPLIANCE_PACK_INTERVAL", "0")
            .env_remove("DATABASE_URL");
        if let Some(url) = &self.database_url {
            cmd.env("DATABASE_URL", url);
        }
    }

    pub async fn db(&self) -> Db {
        Db::connect(self.database_url.as_deref(), &self.data_dir)
            .await
            .expect("connect")
    }
}

/// The secret test servers sign access tokens with (tests forge tokens with it).
pub const TEST_JWT_SECRET: &str = "test-only-jwt-secret-0123456789abcdefghij";
/// The key test servers sign ledger checkpoints with.
pub const TEST_AUDIT_KEY: &str = "5eed5eed5eed5eed5eed5eed5eed5eed5eed5eed5eed5eed5eed5eed5eed5eed";
pub const PASSWORD: &str = "a long test password";

/// A signed-in user and an HTTP client that sends their access token.
#[derive(Clone)]
pub struct Actor {
    pub id: String,
    pub email: String,
    pub token: String,
    pub refresh: String,
    pub http: reqwest::Client,
}

pub fn client_with(token: &str) -> reqwest::Client {
    let mut h = reqwest::header::HeaderMap::new();
    h.insert("authorization", format!("Bearer {token}").parse().unwrap());
    reqwest::Client::builder()
        .default_headers(h)
        .build()
        .unwrap()
}

/// Registers a user straight in the store of `running` (unless the e-mail address exists) and
/// signs in over HTTP.
pub async fn sign_in(
    running: &Running,
    base: &str,
    email: &str,
    role: domain::user::Role,
    branch: Option<&str>,
) -> Actor {
    let new = commands::users::NewUser {
        email,
        name: "Test User",
        role,
        branch,
        manager_id: None,
        password: PASSWORD,
        must_change_password: false,
    };
    let registered = commands::users::register(
        &running.state.write,
        &store::EventMetadata::system(None),
        new,
    )
    .await;
    if let Err(e) = registered {
        assert!(
            matches!(e, commands::users::RegisterError::EmailTaken),
            "{e}"
        );
    }
    login(base, email, PASSWORD).await
}

pub async fn login(base: &str, email: &str, password: &str) -> Actor {
    let r = reqwest::Client::new()
        .post(format!("{base}/api/auth/login"))
        .json(&json!({"email": email, "password": password}))
        .send()
        .await
        .expect("login");
    assert_eq!(r.status(), 200, "login {email}");
    let v: Value = r.json().await.expect("json");
    let token = v["access_token"].as_str().unwrap().to_string();
    Actor {
        id: v["user_id"].as_str().unwrap().to_string(),
        email: email.to_string(),
        http: client_with(&token),
        token,
        refresh: v["refresh_token"].as_str().unwrap().to_string(),
    }
}

pub struct App {
    pub base: String,
    /// Sends the admin's access token.
    pub http: reqwest::Client,
    pub admin: Actor,
    pub running: Option<Running>,
    pub fresh: Fresh,
}

impl App {
    pub async fn start(store: Store) -> Self {
        Self::start_with(Fresh::new(store).await, |_| {}).await
    }

    pub async fn start_with(fresh: Fresh, adjust: impl FnOnce(&mut Config)) -> Self {
        let mut config = fresh.config();
        adjust(&mut config);
        let running = server::start(config).await.expect("server starts");
        let base = format!("http://{}", running.addr);
        let admin = sign_in(
            &running,
            &base,
            "admin@test.broker",
            domain::user::Role::Admin,
            None,
        )
        .await;
        Self {
            base,
            http: admin.http.clone(),
            admin,
            running: Some(running),
            fresh,
        }
    }

    /// A new user with `role` (and `branch`), signed in.
    pub async fn actor(&self, role: domain::user::Role, branch: Option<&str>) -> Actor {
        let email = format!("{}-{}@test.broker", role.as_str(), Uuid::new_v4().simple());
        let actor = sign_in(
            self.running.as_ref().unwrap(),
            &self.base,
            &email,
            role,
            branch,
        )
        .await;
        // Their first request waits for the users read model to know them (so that others
        // can assign to them at once).
        let (s, v) = self.get_as(&actor, "/api/auth/me").await;
        assert_eq!(s, 200, "{v}");
        actor
    }

    pub async fn get_as(&self, who: &Actor, path: &str) -> (u16, Value) {
        self.send(who.http.get(self.url(path))).await
    }

    pub async fn post_as(&self, who: &Actor, path: &str, body: Value) -> (u16, Value) {
        self.send(who.http.post(self.url(path)).json(&body)).await
    }

    pub fn db(&self) -> &Db {
        &self.running.as_ref().expect("running").db
    }

    /// Stops the server and starts another on the same store, its settings adjusted.
    pub async fn restart_with(mut self, adjust: impl FnOnce(&mut Config)) -> Self {
        if let Some(r) = self.running.take() {
            r.stop().await;
        }
        let fresh = Fresh {
            data_dir: self.fresh.data_dir.clone(),
            database_url: self.fresh.database_url.clone(),
        };
        Self::start_with(fresh, adjust).await
    }

    pub async fn stop(mut self) {
        if let Some(r) = self.running.take() {
            r.stop().await;
        }
        let _ = std::fs::remove_dir_all(&self.fresh.data_dir);
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    pub async fn post(&self, path: &str, body: Value) -> (u16, Value) {
        let r = self
            .http
            .post(self.url(path))
            .json(&body)
            .send()
            .await
            .expect("request");
        Self::answer(r).await
    }

    pub async fn patch(&self, path: &str, body: Value) -> (u16, Value) {
        self.send(self.http.patch(self.url(path)).json(&body)).await
    }

    pub async fn send(&self, req: reqwest::RequestBuilder) -> (u16, Value) {
        Self::answer(req.send().await.expect("request")).await
    }

    pub async fn get(&self, path: &str) -> (u16, Value) {
        let r = self.http.get(self.url(path)).send().await.expect("request");
        Self::answer(r).await
    }

    async fn answer(r: reqwest::Response) -> (u16, Value) {
        let status = r.status().as_u16();
        let ct = r
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_string();
        let undeclared = r.headers().get("x-undeclared-status").is_some();
        let url = r.url().path().to_string();
        let text = r.text().await.expect("body");
        assert!(
            !undeclared,
            "{url} answered {status}, which its operation does not declare: {text}"
        );
        if status >= 400 {
            assert_eq!(
                ct, "application/problem+json",
                "error {status} must be problem+json: {text}"
            );
        }
        let body = serde_json::from_str(&text).unwrap_or(Value::String(text));
        (status, body)
    }

    /// Captures a lead and returns (id, position).
    pub async fn capture(&self, body: Value) -> (String, i64) {
        let (status, v) = self.post("/api/leads", body).await;
        assert_eq!(status, 201, "{v}");
        (
            v["id"].as_str().unwrap().to_string(),
            v["position"].as_i64().unwrap(),
        )
    }

    pub async fn lead(&self, id: &str, min_position: i64) -> Value {
        let (status, v) = self
            .get(&format!("/api/leads/{id}?min_position={min_position}"))
            .await;
        assert_eq!(status, 200, "{v}");
        v
    }

    pub async fn log_head(&self) -> i64 {
        store::log::head(self.db()).await.expect("head")
    }

    /// Waits until every projection has applied the whole log.
    pub async fn caught_up(&self) {
        for _ in 0..600 {
            let (status, v) = self.get("/ready").await;
            if status == 200
                && v["projections"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .all(|p| p["lag"] == 0)
            {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("projections did not catch up");
    }
}

pub fn asha() -> Value {
    json!({
        "name": "Asha Rao",
        "email": "asha.rao@example.in",
        "phone": "98765 43210",
        "source": "campaign",
        "source_detail": "Diwali SIP campaign",
        "product_interest": ["mutual_funds", "equity"],
        "preferred_contact_method": "phone",
        "notes": "Asked about ELSS",
        "channel": "web_form"
    })
}

/// Runs the `crm` binary with `args` on the test's store (and `envs`); answers its output,
/// failing the test when it fails.
pub async fn crm(app: &App, args: &[&str], envs: &[(&str, &str)]) -> String {
    let mut cmd = tokio::process::Command::new(env!("CARGO_BIN_EXE_crm"));
    cmd.args(args)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    app.fresh.env(&mut cmd);
    for (k, v) in envs {
        cmd.env(k, v);
    }
    let out = cmd.output().await.expect("run crm");
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(
        out.status.success(),
        "crm {args:?}: {text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    text
}

/// A `crm serve` child process on the app's store.
pub struct Child {
    pub process: tokio::process::Child,
    pub base: String,
}

impl Child {
    pub async fn start(app: &App) -> Self {
        Self::start_logging(app, "warn", None).await
    }

    /// With its log at `level`, written to `log` when given.
    pub async fn start_logging(app: &App, level: &str, log: Option<&std::path::Path>) -> Self {
        Self::start_with_env(app, level, log, &[]).await
    }

    /// With these settings of its environment besides the store's.
    pub async fn start_with_env(
        app: &App,
        level: &str,
        log: Option<&std::path::Path>,
        env: &[(&str, &str)],
    ) -> Self {
        use std::process::Stdio;
        let port = {
            let l = std::net::TcpListener::bind("127.0.0.1:0").expect("free port");
            l.local_addr().expect("addr").port()
        };
        let mut cmd = tokio::process::Command::new(env!("CARGO_BIN_EXE_crm"));
        cmd.args(["serve", "--addr", &format!("127.0.0.1:{port}")]);
        app.fresh.env(&mut cmd);
        let (out, err) = match log {
            Some(path) => {
                let file = std::fs::File::create(path).expect("log file");
                let copy = file.try_clone().expect("log file");
                (Stdio::from(file), Stdio::from(copy))
            }
            None => (Stdio::null(), Stdio::null()),
        };
        cmd.envs(env.iter().copied());
        cmd.env("CRM_LOG", level)
            .stdout(out)
            .stderr(err)
            .kill_on_drop(true);
        let process = cmd.spawn().expect("crm serve starts");
        let base = format!("http://127.0.0.1:{port}");
        for _ in 0..200 {
            if let Ok(r) = reqwest::get(format!("{base}/health")).await {
                if r.status().is_success() {
                    return Self { process, base };
                }
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("the child server did not come up");
    }
}
