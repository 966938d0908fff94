//! What every endpoint shares: the application state, event metadata from the request,
//! Idempotency-Key handling, read-your-writes waits and field validation.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use commands::idempotency::{self, Claim};
use domain::values::InvalidValue;
use poem::Request;
use poem_openapi::payload::Json;
use poem_openapi::ApiResponse;
use projections::runner::{Caught, Progress};
use store::{Db, EventMetadata};
use uuid::Uuid;

use crate::auth::Principal;
use crate::dto::Accepted;
use crate::policy::{self, Action};
use crate::problem::{ApiError, FieldError};

/// The request id, taken from `X-Request-Id` or made up, set by the request middleware.
#[derive(Debug, Clone)]
pub struct RequestId(pub String);

/// Login and refresh attempts per client address.
pub type AuthLimiter = governor::DefaultKeyedRateLimiter<std::net::IpAddr>;
/// Limits uploads and KYC decisions per user and kind of work.
pub type WorkLimiter = governor::DefaultKeyedRateLimiter<(Uuid, &'static str)>;

/// The per-user limit on `what` (uploads, KYC decisions): 429 with `Retry-After` past it.
pub fn limit_work(state: &AppState, who: Uuid, what: &'static str) -> Result<(), ApiError> {
    if let Err(not_until) = state.work_limiter.check_key(&(who, what)) {
        use governor::clock::Clock;
        let wait = not_until.wait_time_from(governor::clock::DefaultClock::default().now());
        return Err(ApiError::too_many(
            format!("too many {what} by this user; try again shortly"),
            wait.as_secs() + 1,
        ));
    }
    Ok(())
}

pub struct AppState {
    pub db: Db,
    pub write: commands::WriteSide,
    pub keyring: Arc<store::privacy::Keyring>,
    pub signer: Arc<store::audit::AuditSigner>,
    pub tokens: crate::auth::tokens::TokenKeys,
    /// Signs and checks short-lived document links.
    pub links: crate::auth::links::LinkKeys,
    pub auth_limiter: AuthLimiter,
    pub work_limiter: WorkLimiter,
    /// Public captures per capture key.
    pub intake_key_limiter: governor::DefaultKeyedRateLimiter<Uuid>,
    /// Public captures per client address.
    pub intake_address_limiter: governor::DefaultKeyedRateLimiter<std::net::IpAddr>,
    /// Where KRA status and CKYC numbers are looked up.
    pub registry: Arc<dyn commands::kyc::registry::RegistryProvider>,
    /// Quotes and recorded prices.
    pub prices: Arc<commands::investments::prices::PriceBook>,
    /// Holding periods (short / long term) and suitability, as configured.
    pub investment_rules: domain::investments::InvestmentRules,
    pub projections: Vec<Arc<dyn projections::Projection>>,
    /// The sales facts read model held in memory, which the sales report counts from.
    pub sales: Arc<projections::sales::memory::SalesMemory>,
    pub progress: Progress,
    /// Sign-in sessions checked recently (see [`crate::auth::SessionCache`]).
    pub sessions: crate::auth::SessionCache,
    pub read_wait: Duration,
    pub ready_max_lag: i64,
    /// The sha256 of the token `/metrics` and `/ready` ask for (`CRM_OPS_TOKEN`), if any.
    pub ops_token: Option<[u8; 32]>,
    /// Request counters and latency histograms, rendered on `/metrics`.
    pub metrics: crate::ops::Metrics,
    /// Where the monthly compliance packs are kept (`<data dir>/reports`).
    pub packs_dir: std::path::PathBuf,
    /// How notifications are made and sent (the broker's name, quiet hours, which webhook
    /// addresses are allowed).
    pub notify: crate::notify::Settings,
}

pub type State = Arc<AppState>;

/// Who is acting, in which request, from where: recorded on every event.
pub fn metadata(req: &Request) -> EventMetadata {
    let request_id = req.extensions().get::<RequestId>().map(|r| r.0.clone());
    let mut m = EventMetadata::system(request_id);
    if let Some(p) = req.extensions().get::<crate::auth::Principal>() {
        m.actor_id = p.user_id.to_string();
        m.actor_role = p.role.as_str().to_string();
    }
    m.client_ip = req
        .remote_addr()
        .as_socket_addr()
        .map(|a| a.ip().to_string());
    m.user_agent = req
        .headers()
        .get("user-agent")
        .and_then(|v| v.to_str().ok())
        .map(|s| s.chars().take(256).collect());
    m
}

/// The answer to a command that created a record.
#[derive(Debug, ApiResponse)]
pub enum CreatedResponse {
    /// Created; `Location` names where to read it.
    #[oai(status = 201)]
    Created(Json<Accepted>, #[oai(header = "Location")] String),
}

/// The answer to a command on an existing record.
#[derive(Debug, ApiResponse)]
pub enum DoneResponse {
    /// Done (also when the command changed nothing).
    #[oai(status = 200)]
    Done(Json<Accepted>),
}

#[derive(serde::Serialize, serde::Deserialize)]
pub struct Stored {
    pub(crate) accepted: Accepted,
    pub(crate) location: Option<String>,
    /// The rest of an answer richer than [`Accepted`] (a merge's), as the endpoint keeps it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) body: Option<serde_json::Value>,
}

/// A command answer that can be kept for an Idempotency-Key and given again.
pub trait Replayable: Sized {
    const STATUS: u16;
    fn to_stored(&self) -> Stored;
    fn from_stored(stored: Stored) -> Self;
}

impl Replayable for CreatedResponse {
    const STATUS: u16 = 201;

    fn to_stored(&self) -> Stored {
        let CreatedResponse::Created(Json(accepted), location) = self;
        Stored {
            accepted: accepted.clone(),
            location: Some(location.clone()),
            body: None,
        }
    }

    fn from_stored(stored: Stored) -> Self {
        CreatedResponse::Created(Json(stored.accepted), stored.location.unwrap_or_default())
    }
}

impl Replayable for DoneResponse {
    const STATUS: u16 = 200;

    fn to_stored(&self) -> Stored {
        let DoneResponse::Done(Json(accepted)) = self;
        Stored {
            accepted: accepted.clone(),
            location: None,
            body: None,
        }
    }

    fn from_stored(stored: Stored) -> Self {
        DoneResponse::Done(Json(stored.accepted))
    }
}

/// The parsed request as the Idempotency-Key fingerprint: its JSON as the schema reads it
/// (hashed in canonical form before it is kept, so a password in it is never stored).
pub fn fingerprint<T: poem_openapi::types::ToJSON>(body: &T) -> serde_json::Value {
    body.to_json().unwrap_or_default()
}

fn valid_key(key: &str) -> bool {
    !key.is_empty() && key.len() <= 255 && key.bytes().all(|b| (0x21..0x7f).contains(&b))
}

/// Runs `run` at most once per Idempotency-Key: a repeat with the same request gets the first
/// answer and appends nothing; the same key with another request is refused (422).
pub async fn idempotent<R, F, Fut>(
    state: &AppState,
    key: Option<String>,
    req: &Request,
    body: serde_json::Value,
    run: F,
) -> Result<R, ApiError>
where
    R: Replayable,
    F: FnOnce() -> Fut,
    Fut: Future<Output = Result<R, ApiError>>,
{
    let Some(key) = key else {
        if req.headers().contains_key("idempotency-key") {
            // Present but not readable as text (non-ASCII bytes).
            return Err(ApiError::header(
                "Idempotency-Key",
                "1 to 255 visible ASCII characters",
            ));
        }
        return run().await;
    };
    if !valid_key(&key) {
        return Err(ApiError::header(
            "Idempotency-Key",
            "1 to 255 visible ASCII characters",
        ));
    }
    // Keys are per user: one user's key never replays another user's answer.
    let key = match req.extensions().get::<crate::auth::Principal>() {
        Some(p) => format!("{}:{key}", p.user_id),
        None => key,
    };
    // Equal requests parse to equal values, whatever their key order or spacing.
    let body = store::audit::canonical(&body);
    let hash = idempotency::request_hash(req.method().as_str(), req.uri().path(), body.as_bytes());
    match idempotency::claim(&state.db, &key, &hash)
        .await
        .map_err(ApiError::internal)?
    {
        Claim::Replay { body, .. } => {
            let stored: Stored = serde_json::from_str(&body).map_err(ApiError::internal)?;
            return Ok(R::from_stored(stored));
        }
        Claim::Mismatch => return Err(ApiError::idempotency_mismatch()),
        Claim::InProgress => return Err(ApiError::idempotency_in_progress()),
        Claim::Fresh => {}
    }
    let result = run().await;
    match &result {
        Ok(resp) => {
            let stored = resp.to_stored();
            let text = serde_json::to_string(&stored).map_err(ApiError::internal)?;
            idempotency::complete(&state.db, &key, R::STATUS, &text)
                .await
                .map_err(ApiError::internal)?;
        }
        Err(_) => {
            idempotency::release(&state.db, &key)
                .await
                .map_err(ApiError::internal)?;
        }
    }
    result
}

/// Waits until the lead projection has `min_position` (read-your-writes).
pub async fn wait_for(state: &AppState, min_position: Option<i64>) -> Result<(), ApiError> {
    wait_for_in(state, projections::leads::NAME, min_position).await
}

/// Waits until projection `name` has `min_position` (read-your-writes).
pub async fn wait_for_in(
    state: &AppState,
    name: &str,
    min_position: Option<i64>,
) -> Result<(), ApiError> {
    let Some(p) = min_position else { return Ok(()) };
    if p < 0 {
        return Err(ApiError::field("min_position", "must not be negative"));
    }
    match state
        .progress
        .wait_for(name, p, state.read_wait)
        .await
        .map_err(ApiError::internal)?
    {
        Caught::Up => Ok(()),
        Caught::TimedOut => Err(ApiError::not_caught_up(p)),
        Caught::BeyondHead => Err(ApiError::field(
            "min_position",
            "lies beyond the end of the event log",
        )),
    }
}

/// The min position from `X-Min-Position` or `?min_position=` (the query wins).
pub fn min_position(query: Option<i64>, req: &Request) -> Result<Option<i64>, ApiError> {
    if query.is_some() {
        return Ok(query);
    }
    match req.headers().get("x-min-position") {
        None => Ok(None),
        Some(v) => v
            .to_str()
            .ok()
            .and_then(|s| s.trim().parse::<i64>().ok())
            .map(Some)
            .ok_or_else(|| ApiError::header("X-Min-Position", "must be an integer")),
    }
}

/// The version a command expects from `If-Match: "N"` (as `ETag` gave it); `*` or no header
/// means any version.
pub fn if_match(req: &Request) -> Result<Option<usize>, ApiError> {
    let Some(v) = req.headers().get("if-match") else {
        return Ok(None);
    };
    let text = v.to_str().unwrap_or("").trim();
    if text == "*" {
        return Ok(None);
    }
    text.trim_start_matches("W/")
        .trim_matches('"')
        .parse::<usize>()
        .map(Some)
        .map_err(|_| ApiError::header("If-Match", "an ETag of this record, e.g. \"3\""))
}

/// Collects field errors while parsing a request into domain values.
#[derive(Default)]
pub struct Fields {
    pub errors: Vec<FieldError>,
}

impl Fields {
    pub fn take<T>(&mut self, field: &str, r: Result<T, InvalidValue>) -> Option<T> {
        match r {
            Ok(v) => Some(v),
            Err(e) => {
                self.errors.push(FieldError::new(field, e.message));
                None
            }
        }
    }

    pub fn opt<T>(
        &mut self,
        field: &str,
        raw: Option<&str>,
        parse: impl Fn(&str) -> Result<T, InvalidValue>,
    ) -> Option<T> {
        raw.and_then(|s| self.take(field, parse(s)))
    }

    /// The value a domain check accepted, or `None` with each field it found wanting noted.
    pub fn checked<T>(&mut self, r: Result<T, Vec<domain::input::Invalid>>) -> Option<T> {
        r.map_err(|invalid| {
            let named = invalid
                .into_iter()
                .map(|i| FieldError::new(i.field, i.message));
            self.errors.extend(named)
        })
        .ok()
    }

    pub fn finish(self) -> Result<(), ApiError> {
        if self.errors.is_empty() {
            Ok(())
        } else {
            Err(ApiError::validation(self.errors))
        }
    }
}

/// Runs a command on a lead for a request: the role check, the record-level check on the
/// loaded lead, its metadata and `If-Match`. Answers the position of the command's last event.
pub async fn run_lead_command(
    state: &AppState,
    principal: &Principal,
    action: Action,
    lead_id: Uuid,
    command: domain::lead::LeadCommand,
    req: &Request,
) -> Result<commands::Committed, ApiError> {
    policy::require(principal, action)?;
    let meta = metadata(req);
    let expected = if_match(req)?;
    let scope = policy::scope(state, principal).await?;
    let done =
        commands::leads::run(&state.write, &scope, lead_id, command, &meta, expected).await?;
    Ok(done)
}

/// Records that the caller was shown a person's data (see [`commands::access::record`]).
pub async fn record_access(
    state: &AppState,
    req: &Request,
    subject_type: &str,
    subject_id: Uuid,
    kind: domain::access::AccessKind,
) -> Result<(), ApiError> {
    commands::access::record(&state.write, subject_type, subject_id, kind, &metadata(req))
        .await
        .map_err(ApiError::internal)
}

/// A record's timeline straight from the log, and the view its events leave now (404, naming
/// `what`, when it has none).
pub async fn timeline<V: projections::timeline::RecordView>(
    state: &AppState,
    id: Uuid,
    what: &'static str,
) -> Result<(Vec<crate::dto::HistoryEntry>, V), ApiError> {
    let (items, view) = projections::timeline::history::<V>(&state.db, &state.keyring, id)
        .await
        .map_err(ApiError::internal)?;
    let view = view.ok_or_else(|| ApiError::not_found(what))?;
    Ok((items.into_iter().map(Into::into).collect(), view))
}

/// A record as it is now and as it stood at `at`, folded from the log (compliance replay).
pub async fn now_and_at<V: projections::timeline::RecordView>(
    state: &AppState,
    id: Uuid,
    at: chrono::DateTime<chrono::Utc>,
) -> Result<(Option<V>, Option<V>), ApiError> {
    projections::timeline::now_and_at::<V>(&state.db, &state.keyring, id, at)
        .await
        .map_err(ApiError::internal)
}

/// What a request's optional field asks of the record's field: absent keeps it, `null` clears
/// it, a value sets it.
pub fn change<'a, T, U>(
    v: &'a poem_openapi::types::MaybeUndefined<T>,
    f: impl Fn(&'a T) -> U,
) -> domain::input::Change<U> {
    use poem_openapi::types::MaybeUndefined;
    match v {
        MaybeUndefined::Value(v) => domain::input::Change::Set(f(v)),
        MaybeUndefined::Null => domain::input::Change::Clear,
        MaybeUndefined::Undefined => domain::input::Change::Keep,
    }
}

/// Where a page of an offset-paged list starts: the `cursor` a previous page handed out (0
/// without one), which names at most the list's `total`.
pub fn offset(cursor: Option<&str>, total: usize) -> Result<usize, ApiError> {
    match cursor {
        None => Ok(0),
        Some(c) => c
            .parse::<usize>()
            .ok()
            .filter(|n| *n <= total)
            .ok_or_else(|| ApiError::field("cursor", "the cursor is not one this list handed out")),
    }
}

/// The cursor of the page after one that starts at `start` and shows `shown` of `total`.
pub fn next_offset(start: usize, shown: usize, total: usize) -> Option<String> {
    let next = start + shown;
    (next < total).then(|| next.to_string())
}
