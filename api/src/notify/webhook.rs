//! Webhooks: subscriptions kept by admins, and the delivery of an event to one, signed.
//!
//! A delivery is a `POST` of JSON naming the event (its log position as `id`, its type, its
//! record and when it was recorded) and its payload as `data`: personal fields read
//! `[withheld]` unless the subscription is allowed personal data, and a staff account's
//! events carry none (`null`); with
//! `X-Crm-Event-Id` (the position), `X-Crm-Delivery` (the message's id, the same at every
//! attempt), `X-Crm-Timestamp` (Unix seconds) and `X-Crm-Signature: sha256=<hex>`, the
//! HMAC-SHA256 with the subscription's secret of `<timestamp>.<body>`. A receiver recomputes
//! it, and refuses a timestamp too far from its clock (a replayed request).

use chrono::{DateTime, Utc};
use commands::CommandError;
use domain::values::Text;
use domain::webhook::{WebhookError, WebhookTerms};
use hmac::{Hmac, Mac};
use poem::Request;
use poem_openapi::param::Path;
use poem_openapi::payload::Json;
use poem_openapi::{ApiResponse, Object, OpenApi};
use serde_json::{json, Value};
use sha2::Sha256;
use store::privacy::Keyring;
use store::{with_db, Db};
use uuid::Uuid;

use super::api::NotificationTags;
use super::{Claimed, Outcome};
use crate::auth::Auth;
use crate::http::{self, Fields, State};
use crate::policy::{self, Action};
use crate::problem::{ApiError, FieldError, ReadError};

/// The signature of `body` sent at `timestamp` with `secret`: `sha256=<hex>`.
pub fn signature(secret: &str, timestamp: i64, body: &str) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("any key length");
    mac.update(format!("{timestamp}.{body}").as_bytes());
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

/// Whether `ip` is an address a webhook may not reach unless private ones are allowed:
/// loopback, private, link-local, unique-local, unspecified, broadcast or documentation.
pub fn private(ip: std::net::IpAddr) -> bool {
    use std::net::IpAddr;
    match ip {
        IpAddr::V4(v4) => {
            v4.is_loopback()
                || v4.is_private()
                || v4.is_link_local()
                || v4.is_unspecified()
                || v4.is_broadcast()
                || v4.is_documentation()
                // 100.64.0.0/10, shared address space
                || (v4.octets()[0] == 100 && (v4.octets()[1] & 0xc0) == 64)
        }
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return private(IpAddr::V4(v4));
            }
            let first = v6.segments()[0];
            v6.is_loopback()
                || v6.is_unspecified()
                || (first & 0xfe00) == 0xfc00
                || (first & 0xffc0) == 0xfe80
        }
    }
}

/// A resolver that answers only public addresses: the client delivering webhooks connects
/// to what it answers, so a name that resolved to a public address when checked cannot be
/// turned to a private one for the connection (DNS rebinding).
pub struct PublicOnly;

impl reqwest::dns::Resolve for PublicOnly {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        Box::pin(async move {
            let found = tokio::net::lookup_host((name.as_str(), 0)).await?;
            let public: Vec<std::net::SocketAddr> = found.filter(|a| !private(a.ip())).collect();
            if public.is_empty() {
                return Err("the host has no public address".into());
            }
            Ok(Box::new(public.into_iter()) as reqwest::dns::Addrs)
        })
    }
}

/// Why a webhook may not be delivered to `url` (`None`: it may): a scheme other than
/// `https` or an address that is not public, unless private ones are allowed.
pub async fn refused(url: &str, allow_private: bool) -> Option<String> {
    let Ok(u) = reqwest::Url::parse(url) else {
        return Some("not a URL".into());
    };
    if allow_private {
        return None;
    }
    if u.scheme() != "https" {
        return Some("only https:// URLs are delivered to".into());
    }
    let Some(host) = u.host_str() else {
        return Some("the URL names no host".into());
    };
    let port = u.port_or_known_default().unwrap_or(443);
    let found = tokio::net::lookup_host(format!("{host}:{port}")).await;
    match found {
        Ok(addrs) => {
            let addrs: Vec<_> = addrs.collect();
            if addrs.is_empty() {
                Some("the host does not resolve".into())
            } else if addrs.iter().any(|a| private(a.ip())) {
                Some("the host is not a public address".into())
            } else {
                None
            }
        }
        Err(_) => Some("the host does not resolve".into()),
    }
}

/// What a personal field reads as in a delivery to a subscription without personal data.
pub const WITHHELD: &str = "[withheld]";

/// The payload of the event at `position` as a delivery carries it: its personal fields
/// opened where the subscription is allowed them (an erased person's read as erased), else
/// withheld; `null` for the system's own records (staff accounts, capture keys, webhook
/// subscriptions, reads of personal data: credentials and who looked at whom stay inside) and
/// for an event no longer in the log.
async fn payload(
    db: &Db,
    keyring: &Keyring,
    position: i64,
    personal: bool,
) -> Result<Value, String> {
    let events = store::log::read_positions(db, position - 1, position, 1)
        .await
        .map_err(|e| format!("the event cannot be read: {e}"))?;
    let Some(e) = events.into_iter().next() else {
        return Ok(Value::Null);
    };
    let Some(kind) = domain::kinds::kind(&e.aggregate_type) else {
        return Ok(Value::Null);
    };
    if !domain::kinds::is_deliverable(kind.name) {
        return Ok(Value::Null);
    }
    let fields = kind.personal_fields(&e.event_type).unwrap_or_default();
    let mut payload = e.payload;
    if personal {
        keyring
            .open(&e.aggregate_id, &mut payload, fields)
            .await
            .map_err(|e| format!("the event's personal data cannot be opened: {e}"))?;
    } else {
        Keyring::mask(&mut payload, fields, WITHHELD);
    }
    Ok(payload)
}

/// Delivers the message `m` to its subscription.
pub(super) async fn deliver(
    db: &Db,
    keyring: &Keyring,
    http: &reqwest::Client,
    m: &Claimed,
    allow_private: bool,
) -> Outcome {
    type Found = Option<(String, String, bool, bool)>;
    let found: Result<Found, sqlx::Error> = with_db!(db, pool => {
        sqlx::query_as(
            "SELECT url, secret, active, personal_data FROM webhook_subscriptions WHERE id = $1",
        )
        .bind(&m.recipient_id)
        .fetch_optional(pool)
        .await
    });
    let (url, secret, personal) = match found {
        Err(e) => return Outcome::Failed(format!("the subscription cannot be read: {e}")),
        Ok(None) => return Outcome::Cancelled("no such subscription".into()),
        Ok(Some((_, _, false, _))) => {
            return Outcome::Cancelled("the subscription was removed".into())
        }
        Ok(Some((url, sealed, true, personal))) => {
            match keyring.open_secret(
                &store::privacy::webhook_secret_label(&m.recipient_id),
                &sealed,
            ) {
                Ok(secret) => (url, secret, personal),
                Err(e) => {
                    return Outcome::Failed(format!(
                        "the subscription's secret cannot be opened: {e}"
                    ))
                }
            }
        }
    };
    let data = match payload(db, keyring, m.event_position, personal).await {
        Ok(data) => data,
        Err(why) => return Outcome::Failed(why),
    };
    // Checked again at each delivery: what the name resolves to may have changed.
    if let Some(why) = refused(&url, allow_private).await {
        return Outcome::Failed(format!("not delivered: {why}"));
    }
    let body = json!({
        "id": m.event_position,
        "delivery": m.id,
        "type": m.event_type,
        "aggregate_type": m.data["aggregate_type"],
        "aggregate_id": m.data["aggregate_id"],
        "sequence": m.data["sequence"],
        "recorded_at": m.data["recorded_at"],
        "data": data,
    })
    .to_string();
    let timestamp = Utc::now().timestamp();
    let sent = http
        .post(&url)
        .header("content-type", "application/json")
        .header("x-crm-event-id", m.event_position.to_string())
        .header("x-crm-delivery", &m.id)
        .header("x-crm-timestamp", timestamp.to_string())
        .header("x-crm-signature", signature(&secret, timestamp, &body))
        .body(body)
        .send()
        .await;
    match sent {
        Ok(r) if r.status().is_success() => Outcome::Sent,
        // Gone: the receiver says never to send again.
        Ok(r) if r.status().as_u16() == 410 => {
            Outcome::Cancelled("the receiver answered 410 Gone".into())
        }
        Ok(r) => Outcome::Failed(format!("the receiver answered {}", r.status().as_u16())),
        // Without the URL: it may carry a token.
        Err(e) if e.is_timeout() => Outcome::Failed("the receiver did not answer in time".into()),
        Err(_) => Outcome::Failed("the receiver could not be reached".into()),
    }
}

/// A webhook subscription (never its secret, shown once when made).
#[derive(Debug, Clone, Object, sqlx::FromRow)]
#[oai(example)]
pub struct SubscriptionOut {
    pub id: String,
    pub url: String,
    /// Event types (`KycVerified`, …), or `*` for every event.
    pub event_types: Vec<String>,
    pub description: Option<String>,
    pub active: bool,
    /// Whether deliveries carry the events' personal data.
    pub personal_data: bool,
    pub created_at: DateTime<Utc>,
    pub removed_at: Option<DateTime<Utc>>,
    /// The secret deliveries are signed with: in the answer that makes the subscription only.
    pub secret: Option<String>,
}

impl poem_openapi::types::Example for SubscriptionOut {
    fn example() -> Self {
        Self {
            id: "0193a7b2-4c1e-7d10-9a51-3e7f2b8c9d02".into(),
            url: "https://hooks.broker.example/crm".into(),
            event_types: vec!["KycVerified".into(), "ClientOnboarded".into()],
            description: Some("Back office: new accounts".into()),
            active: true,
            personal_data: false,
            created_at: DateTime::parse_from_rfc3339("2026-12-03T10:15:00Z")
                .expect("example time")
                .with_timezone(&Utc),
            removed_at: None,
            secret: Some("whsec_4f1c…".into()),
        }
    }
}

#[derive(Debug, Clone, Object)]
#[oai(deny_unknown_fields, example)]
pub struct SubscriptionRequest {
    /// Where deliveries are posted: `https://` to a public address (private addresses and
    /// `http://` only where the server allows them, for development).
    pub url: String,
    /// Event types to deliver (`KycVerified`, …), or `["*"]` for every event.
    pub event_types: Vec<String>,
    pub description: Option<String>,
    /// Whether deliveries carry the events' personal data (names, PAN, contact details,
    /// opened from the sealed log at each attempt); `false` (the default): those fields read
    /// `[withheld]`. For the broker's own systems that keep the client record.
    pub personal_data: Option<bool>,
}

impl poem_openapi::types::Example for SubscriptionRequest {
    fn example() -> Self {
        Self {
            url: "https://hooks.broker.example/crm".into(),
            event_types: vec!["KycVerified".into(), "ClientOnboarded".into()],
            description: Some("Back office: new accounts".into()),
            personal_data: Some(false),
        }
    }
}

#[derive(Debug, Clone, Object)]
#[oai(deny_unknown_fields, example)]
pub struct ReplayRequest {
    /// Deliver again every event after this log position that the subscription takes.
    pub from_position: i64,
    /// Up to this position (included); absent: the log's head when asked.
    pub to_position: Option<i64>,
    /// At most this many deliveries (1 to 10,000, the default); past it, the answer's
    /// `next_from_position` is where to go on from.
    pub limit: Option<i64>,
}

impl poem_openapi::types::Example for ReplayRequest {
    fn example() -> Self {
        Self {
            from_position: 1200,
            to_position: Some(1500),
            limit: None,
        }
    }
}

/// Most deliveries one replay queues.
const REPLAY_LIMIT: i64 = 10_000;

#[derive(Debug, Clone, Object)]
#[oai(example)]
pub struct Replayed {
    /// Deliveries queued.
    pub queued: i64,
    /// The last position the replay covers (`to_position`, or the log's head when asked).
    pub to_position: i64,
    /// Present when the limit was reached first: the position of the last event queued, to
    /// replay again from for the rest.
    pub next_from_position: Option<i64>,
}

impl poem_openapi::types::Example for Replayed {
    fn example() -> Self {
        Self {
            queued: 42,
            to_position: 1500,
            next_from_position: None,
        }
    }
}

#[derive(Debug, Clone, Object)]
#[oai(example)]
pub struct SubscriptionList {
    pub items: Vec<SubscriptionOut>,
}

impl poem_openapi::types::Example for SubscriptionList {
    fn example() -> Self {
        let mut s = <SubscriptionOut as poem_openapi::types::Example>::example();
        s.secret = None;
        Self { items: vec![s] }
    }
}

#[derive(Debug, ApiResponse)]
pub enum SubscriptionCreated {
    /// Made; its secret is in this answer only.
    #[oai(status = 201)]
    Created(Json<SubscriptionOut>),
}

#[derive(Debug, ApiResponse)]
pub enum SubscriptionResponse {
    /// The subscription.
    #[oai(status = 200)]
    Ok(Json<SubscriptionOut>),
}

#[derive(Debug, ApiResponse)]
pub enum SubscriptionListResponse {
    /// Every subscription, removed ones included.
    #[oai(status = 200)]
    Ok(Json<SubscriptionList>),
}

#[derive(Debug, ApiResponse)]
pub enum ReplayResponse {
    /// The deliveries queued.
    #[oai(status = 202)]
    Accepted(Json<Replayed>),
}

type Row = (
    String,
    String,
    String,
    Option<String>,
    bool,
    bool,
    DateTime<Utc>,
    Option<DateTime<Utc>>,
);

fn out(r: Row) -> SubscriptionOut {
    SubscriptionOut {
        id: r.0,
        url: r.1,
        event_types: r.2.split(',').map(str::to_string).collect(),
        description: r.3,
        active: r.4,
        personal_data: r.5,
        created_at: r.6,
        removed_at: r.7,
        secret: None,
    }
}

const COLUMNS: &str =
    "id, url, event_types, description, active, personal_data, created_at, removed_at";

async fn find(db: &Db, id: Uuid) -> Result<Option<SubscriptionOut>, ApiError> {
    let row: Option<Row> = with_db!(db, pool => {
        sqlx::query_as(&format!("SELECT {COLUMNS} FROM webhook_subscriptions WHERE id = $1"))
            .bind(id.to_string())
            .fetch_optional(pool)
            .await
            .map_err(ApiError::internal)?
    });
    Ok(row.map(out))
}

/// The checks of a subscription request: the URL and the event types as kept.
fn checked(r: &SubscriptionRequest) -> Result<WebhookTerms, ApiError> {
    let mut f = Fields::default();
    let url = r.url.trim();
    match reqwest::Url::parse(url) {
        Ok(u) if u.username().is_empty() && u.password().is_none() && u.host_str().is_some() => {
            if !matches!(u.scheme(), "https" | "http") || url.len() > 2000 {
                f.errors.push(FieldError::new(
                    "url",
                    "an https:// URL, up to 2000 characters",
                ));
            }
        }
        _ => f.errors.push(FieldError::new(
            "url",
            "an absolute URL without credentials in it",
        )),
    }
    let types: Vec<String> = r.event_types.iter().map(|t| t.trim().to_string()).collect();
    let valid = |t: &str| {
        t == "*" || (!t.is_empty() && t.len() <= 64 && t.chars().all(|c| c.is_ascii_alphanumeric()))
    };
    if types.is_empty() || types.len() > 50 || !types.iter().all(|t| valid(t)) {
        f.errors.push(FieldError::new(
            "event_types",
            "1 to 50 event types such as KycVerified, or \"*\"",
        ));
    }
    let description = f.opt("description", r.description.as_deref(), |d| {
        Text::parse(d, 200)
    });
    f.finish()?;
    Ok(WebhookTerms {
        url: url.to_string(),
        event_types: types,
        description,
        personal_data: r.personal_data.unwrap_or(false),
    })
}

pub struct WebhooksApi {
    pub state: State,
}

#[OpenApi]
impl WebhooksApi {
    /// Subscribe a webhook
    ///
    /// Deliveries of the given event types (or every event) to a URL, each signed with the
    /// secret in this answer (shown only here): `X-Crm-Signature: sha256=<hex>`, the
    /// HMAC-SHA256 of `<X-Crm-Timestamp>.<body>`. A delivery names the event and carries its
    /// payload with personal fields `[withheld]`, unless `personal_data` is asked for (opened
    /// from the sealed log at each attempt; an erased person reads as erased). A recorded
    /// event. Admins.
    #[oai(
        path = "/api/webhooks",
        method = "post",
        tag = "NotificationTags::Notifications",
        operation_id = "createWebhook"
    )]
    async fn create(
        &self,
        req: &Request,
        auth: Auth,
        body: Json<SubscriptionRequest>,
    ) -> Result<SubscriptionCreated, ApiError> {
        policy::require(&auth.0, Action::NotificationsManage)?;
        let terms = checked(&body.0)?;
        let allow_private = self.state.notify.webhook_allow_private;
        if let Some(why) = refused(&terms.url, allow_private).await {
            return Err(ApiError::field("url", why));
        }
        let made = commands::webhooks::subscribe(
            &self.state.write,
            terms,
            auth.0.user_id,
            &http::metadata(req),
        )
        .await?;
        tracing::info!(subscription = %made.id, actor = %auth.0.user_id, "a webhook subscription was made");
        // Answered at once from what was recorded: the secret must reach the caller whatever
        // the read side is doing (deliveries start right after the event either way).
        Ok(SubscriptionCreated::Created(Json(SubscriptionOut {
            id: made.id.to_string(),
            url: made.terms.url,
            event_types: made.terms.event_types,
            description: made.terms.description.map(|d| d.as_str().to_string()),
            active: true,
            personal_data: made.terms.personal_data,
            created_at: Utc::now(),
            removed_at: None,
            secret: Some(made.secret),
        })))
    }

    /// List webhook subscriptions
    ///
    /// Every subscription, removed ones included, newest first; never their secrets. Admins.
    #[oai(
        path = "/api/webhooks",
        method = "get",
        tag = "NotificationTags::Notifications",
        operation_id = "listWebhooks"
    )]
    async fn list(&self, auth: Auth) -> Result<SubscriptionListResponse, ReadError> {
        policy::require(&auth.0, Action::NotificationsManage)?;
        let rows: Vec<Row> = with_db!(&self.state.db, pool => {
            sqlx::query_as(&format!(
                "SELECT {COLUMNS} FROM webhook_subscriptions
                  WHERE active OR removed_at IS NOT NULL ORDER BY id DESC LIMIT 500"
            ))
            .fetch_all(pool)
            .await
            .map_err(ApiError::internal)?
        });
        Ok(SubscriptionListResponse::Ok(Json(SubscriptionList {
            items: rows.into_iter().map(out).collect(),
        })))
    }

    /// Remove a webhook subscription
    ///
    /// No more deliveries: those still queued are cancelled. A recorded event; the
    /// subscription stays listed, removed. Removing it again changes nothing. Admins.
    #[oai(
        path = "/api/webhooks/:id",
        method = "delete",
        tag = "NotificationTags::Notifications",
        operation_id = "removeWebhook"
    )]
    async fn remove(
        &self,
        req: &Request,
        auth: Auth,
        /// The subscription's id.
        id: Path<Uuid>,
    ) -> Result<SubscriptionResponse, ApiError> {
        policy::require(&auth.0, Action::NotificationsManage)?;
        let done =
            commands::webhooks::remove(&self.state.write, id.0, &http::metadata(req)).await?;
        let found = self.settled(id.0, done.position).await?;
        tracing::info!(subscription = %id.0, actor = %auth.0.user_id, "a webhook subscription was removed");
        Ok(SubscriptionResponse::Ok(Json(found)))
    }

    /// Replay events to a webhook
    ///
    /// Queues again every event after `from_position` (and up to `to_position`) that the
    /// subscription takes, in log order, at most `limit` of them; delivered even where it was
    /// delivered before (each with a new delivery id, the event's position as its
    /// `X-Crm-Event-Id`). Admins.
    #[oai(
        path = "/api/webhooks/:id/replay",
        method = "post",
        tag = "NotificationTags::Notifications",
        operation_id = "replayWebhook"
    )]
    async fn replay(
        &self,
        req: &Request,
        auth: Auth,
        /// The subscription's id.
        id: Path<Uuid>,
        body: Json<ReplayRequest>,
    ) -> Result<ReplayResponse, ApiError> {
        policy::require(&auth.0, Action::NotificationsManage)?;
        let r = &body.0;
        let mut f = Fields::default();
        if r.from_position < 0 {
            f.errors.push(FieldError::new(
                "from_position",
                "a log position, 0 or more",
            ));
        }
        if r.to_position.is_some_and(|to| to < r.from_position) {
            f.errors.push(FieldError::new(
                "to_position",
                "a log position at or after from_position",
            ));
        }
        if r.limit.is_some_and(|l| !(1..=REPLAY_LIMIT).contains(&l)) {
            f.errors
                .push(FieldError::new("limit", "1 to 10000 deliveries"));
        }
        f.finish()?;
        let db = &self.state.db;
        commands::webhooks::standing(&self.state.write, id.0).await?;
        let Some(s) = find(db, id.0).await? else {
            return Err(ApiError::not_found("webhook subscription"));
        };
        let to = match r.to_position {
            Some(to) => to,
            None => store::log::head(db).await.map_err(ApiError::internal)?,
        };
        // Queued and recorded in a task of its own: a request cut short (its timeout, the
        // client gone) does not leave deliveries queued without the event that says so.
        let (state, meta, from) = (self.state.clone(), http::metadata(req), r.from_position);
        let (types, limit) = (
            s.event_types.join(","),
            r.limit.unwrap_or(REPLAY_LIMIT) as u64,
        );
        let subscription = id.0;
        let done = tokio::spawn(async move {
            let done = projections::notifications::replay(
                &state.db,
                &subscription.to_string(),
                &types,
                from,
                to,
                limit,
            )
            .await
            .map_err(ApiError::internal)?;
            // The range queued: up to where the limit stopped it.
            let through = done.next_from.unwrap_or(to);
            commands::webhooks::record_replay(
                &state.write,
                subscription,
                (from, through),
                done.queued,
                &meta,
            )
            .await?;
            Ok::<_, ApiError>(done)
        })
        .await
        .map_err(ApiError::internal)??;
        tracing::info!(subscription = %s.id, queued = done.queued, actor = %auth.0.user_id, "webhook deliveries replayed");
        Ok(ReplayResponse::Accepted(Json(Replayed {
            queued: done.queued as i64,
            to_position: to,
            next_from_position: done.next_from,
        })))
    }
}

impl WebhooksApi {
    /// The subscription `id` once the notifications projection has applied `position` (its
    /// row is kept by it).
    async fn settled(&self, id: Uuid, position: i64) -> Result<SubscriptionOut, ApiError> {
        http::wait_for_in(
            &self.state,
            projections::notifications::NAME,
            Some(position),
        )
        .await?;
        find(&self.state.db, id)
            .await?
            .ok_or_else(|| ApiError::not_found("webhook subscription"))
    }
}

impl From<CommandError<WebhookError>> for ApiError {
    fn from(e: CommandError<WebhookError>) -> Self {
        match e {
            CommandError::Rejected(WebhookError::NotFound) => {
                ApiError::not_found("webhook subscription")
            }
            CommandError::Rejected(e @ WebhookError::Removed) => {
                ApiError::conflict("webhook-removed", e.to_string())
            }
            CommandError::Rejected(e @ WebhookError::AlreadyExists) => {
                ApiError::conflict("webhook-exists", e.to_string())
            }
            other => ApiError::internal(other),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_webhook_resolver_answers_no_private_address() {
        use reqwest::dns::Resolve;
        use std::str::FromStr;
        // `localhost` resolves (from /etc/hosts) to loopback only: refused, whereas the
        // system's resolver answers it.
        let name = || reqwest::dns::Name::from_str("localhost").unwrap();
        assert!(PublicOnly.resolve(name()).await.is_err());
        assert!(tokio::net::lookup_host(("localhost", 0)).await.is_ok());
    }

    #[test]
    fn a_signature_is_the_hmac_of_the_timestamp_and_the_body() {
        // Computed apart (Python's hmac module) for key "Jefe", "0.what do ya want for nothing?".
        assert_eq!(
            signature("Jefe", 0, "what do ya want for nothing?"),
            "sha256=37f471929915ccd2cbbe79feb84ffcff4f2bb25e15fc41c2506687331ae179cc"
        );
        assert_ne!(
            signature("Jefe", 1, "what do ya want for nothing?"),
            signature("Jefe", 0, "what do ya want for nothing?")
        );
    }

    #[test]
    fn private_addresses_are_told_apart() {
        for ip in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.9",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "::1",
            "fd00::1",
            "fe80::1",
            "::ffff:10.0.0.1",
        ] {
            assert!(private(ip.parse().unwrap()), "{ip}");
        }
        for ip in ["8.8.8.8", "203.0.114.1", "2606:4700::1111"] {
            assert!(!private(ip.parse().unwrap()), "{ip}");
        }
    }

    #[test]
    fn a_subscription_takes_its_types_or_every_one() {
        use projections::notifications::subscribed;
        assert!(subscribed("*", "KycVerified"));
        assert!(subscribed("ClientOnboarded,KycVerified", "KycVerified"));
        assert!(!subscribed("ClientOnboarded", "KycVerified"));
        assert!(!subscribed("KycVerifiedX", "KycVerified"));
    }
}
