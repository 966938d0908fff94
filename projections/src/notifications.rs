//! The notifications projection: which messages the log's events call for, to whom, decided
//! in the transaction that moves the projection's checkpoint and written to the notification
//! outbox (see `migrations/*/0010_notification_outbox.sql`), which a sender then delivers.
//!
//! A decision is made once per event, template and recipient (`dedupe_key`): a rebuild, or a
//! batch applied again after a crash, finds it made. Events older than the maximum age decide
//! nothing, so that a store that had no notifications before does not mail its past.

use chrono::{DateTime, Duration, Utc};
use cqrs_es::Aggregate;
use domain::webhook::{WebhookEvent, WebhookSubscription};
use futures::future::BoxFuture;
use serde_json::{json, Value};
use store::EventMetadata;
use uuid::Uuid;

use crate::{Projection, ProjectionError, StoredEvent, Tx};

pub const NAME: &str = "notifications";

/// Events recorded longer ago than this decide nothing (three days: a KYC decision mailed
/// later than that is news no more).
pub const DECIDE_WITHIN_HOURS: i64 = 72;

/// One message a kind of event calls for: its text for each channel, versioned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Template {
    pub name: &'static str,
    /// Bumped whenever the text changes: each message records the version it was decided with.
    pub version: i64,
    pub channel: &'static str,
    /// The event type (of `aggregate`) it answers.
    pub aggregate: &'static str,
    pub event_type: &'static str,
    /// Transactional messages go whatever the person's marketing consents, and never carry
    /// marketing content.
    pub transactional: bool,
    /// Who it goes to: `client` (the event's aggregate is the client).
    pub recipient: &'static str,
    /// What it says, in the template language: `name` (the recipient's), `broker` and the
    /// event's values listed in `data`. The body goes between the greeting and the sign-off
    /// every message has (see [`LETTER`]).
    pub subject: &'static str,
    pub body: &'static str,
    /// What `data` holds for a message of it, as an example (JSON), for previews.
    pub example: &'static str,
    /// For SMS: the template's id on the DLT platform (TRAI), which gateways pass on.
    pub dlt_template_id: &'static str,
}

/// The `aggregate` of templates written by a scheduled job rather than decided from events.
pub const SCHEDULED: &str = "(scheduled)";

/// The letter every e-mail body is set in: `{body}` is the template's.
pub const LETTER: &str = "Dear {{ name }},\n\n{body}\n\nRegards,\n{{ broker }}\n";

/// Every template this build has.
pub const TEMPLATES: &[Template] = &[
    Template {
        name: "kyc_verified",
        version: 1,
        channel: "email",
        aggregate: "kyc",
        event_type: "KycVerified",
        transactional: true,
        recipient: "client",
        subject: "Your KYC is verified",
        body: "Your KYC has been verified: your account is ready to trade.\n\
               Your next periodic KYC update is due by {{ next_rekyc_on }}.",
        example: r#"{"next_rekyc_on": "2036-12-03"}"#,
        dlt_template_id: "",
    },
    Template {
        name: "kyc_rejected",
        version: 1,
        channel: "email",
        aggregate: "kyc",
        event_type: "KycRejected",
        transactional: true,
        recipient: "client",
        subject: "Your KYC could not be verified",
        body: "We could not verify your KYC with the documents we hold. \
               Your relationship manager will contact you about what is needed.",
        example: "{}",
        dlt_template_id: "",
    },
    Template {
        name: "kyc_revision_requested",
        version: 1,
        channel: "email",
        aggregate: "kyc",
        event_type: "KycRevisionRequested",
        transactional: true,
        recipient: "client",
        subject: "Your KYC needs {{ documents }} document{{ 's' if documents != 1 }} again",
        body: "To complete your KYC we need {{ documents }} of your documents again. Your \
               relationship manager will tell you which and help you send them.",
        example: r#"{"documents": 2}"#,
        dlt_template_id: "",
    },
    Template {
        name: "kyc_alert",
        version: 1,
        channel: "email",
        aggregate: "kyc",
        event_type: "KycAlertRaised",
        transactional: true,
        recipient: "client",
        subject: "{% if kind == 'document_expiring' %}A KYC document of yours expires on \
                  {{ due_on }}{% else %}Your periodic KYC update is due by {{ due_on }}{% endif %}",
        body: "{% if kind == 'document_expiring' %}A document of your KYC expires on \
               {{ due_on }}. Please send your relationship manager a current one before then, \
               so that your account stays open for trading.{% else %}Your periodic KYC update \
               (re-KYC) is due by {{ due_on }}. Your relationship manager will help you with it, \
               so that your account stays open for trading.{% endif %}",
        example: r#"{"kind": "document_expiring", "due_on": "2026-12-31"}"#,
        dlt_template_id: "",
    },
    Template {
        name: "kyc_alert_rm",
        version: 1,
        channel: "email",
        aggregate: "kyc",
        event_type: "KycAlertRaised",
        transactional: true,
        recipient: "client_rm",
        subject: "KYC of {{ client }}: {% if kind == 'document_expiring' %}a document expires \
                  on {{ due_on }}{% else %}re-KYC due by {{ due_on }}{% endif %}",
        body: "{% if kind == 'document_expiring' %}A KYC document of your client {{ client }} \
               expires on {{ due_on }}.{% else %}The periodic KYC update (re-KYC) of your client \
               {{ client }} is due by {{ due_on }}.{% endif %} The KYC alerts list has the \
               details.",
        example: r#"{"kind": "rekyc_due_soon", "due_on": "2027-01-15", "client": "Neha Kapoor"}"#,
        dlt_template_id: "",
    },
    Template {
        name: "follow_ups_due",
        version: 1,
        channel: "email",
        aggregate: SCHEDULED,
        event_type: "FollowUpsDue",
        transactional: true,
        recipient: "user",
        subject: "Follow-ups for {{ on }}: {{ due_today }} due, {{ overdue }} overdue",
        body: "You have {{ due_today }} follow-up{{ 's' if due_today != 1 }} due today and \
               {{ overdue }} overdue. Your work list has them, soonest first.",
        example: r#"{"on": "2026-12-03", "due_today": 4, "overdue": 1}"#,
        dlt_template_id: "",
    },
    Template {
        name: "kyc_verified_sms",
        version: 1,
        channel: "sms",
        aggregate: "kyc",
        event_type: "KycVerified",
        transactional: true,
        recipient: "client",
        subject: "",
        body: "Dear {{ name }}, your KYC with {{ broker }} is verified and your account is \
               ready to trade. Next KYC update due by {{ next_rekyc_on }}.",
        example: r#"{"next_rekyc_on": "2036-12-03"}"#,
        dlt_template_id: "1107170000000000001",
    },
    Template {
        name: "kyc_alert_sms",
        version: 1,
        channel: "sms",
        aggregate: "kyc",
        event_type: "KycAlertRaised",
        transactional: true,
        recipient: "client",
        subject: "",
        body: "Dear {{ name }}, {% if kind == 'document_expiring' %}a KYC document of yours \
               expires on {{ due_on }}{% else %}your KYC update is due by {{ due_on }}{% endif %}. \
               Please contact your relationship manager. {{ broker }}",
        example: r#"{"kind": "document_expiring", "due_on": "2026-12-31"}"#,
        dlt_template_id: "1107170000000000002",
    },
    Template {
        name: "trade_confirmation",
        version: 1,
        channel: "email",
        aggregate: "portfolio",
        event_type: "TradeRecorded",
        transactional: true,
        recipient: "client",
        subject: "{% if correction %}Corrected trade{% else %}Trade confirmation{% endif %}: \
                  {{ side }} {{ quantity }} {{ symbol }} on {{ trade_date }}",
        body: "We have recorded {% if correction %}this corrected trade{% else %}this trade\
               {% endif %} in your account:\n\n  {{ side | upper }} {{ quantity }} {{ symbol }} \
               ({{ isin }}){% if exchange %} on {{ exchange | upper }}{% endif %} at Rs {{ price }}\n\
               \x20 Charges: brokerage Rs {{ brokerage }}, STT Rs {{ stt }}, GST Rs {{ gst }}, \
               stamp duty Rs {{ stamp_duty }}, other Rs {{ other }}\n\
               \x20 Trade date {{ trade_date }}, settlement {{ settlement_date }}\n\
               \x20 Reference {{ reference }}\n\n\
               This is a summary: the contract note is the legal record. Tell your relationship \
               manager within a day if anything here is wrong.",
        example: r#"{"correction": false, "side": "buy", "quantity": "100", "symbol": "NIFTYBEES", "isin": "INF204KB14I2", "exchange": "nse", "price": "281.40", "brokerage": "20", "stt": "28.14", "gst": "3.60", "stamp_duty": "4.22", "other": "0", "trade_date": "2026-11-02", "settlement_date": "2026-11-03", "reference": "CN-000981"}"#,
        dlt_template_id: "",
    },
    Template {
        name: "campaign_email",
        version: 1,
        channel: "email",
        aggregate: SCHEDULED,
        event_type: "CampaignSent",
        transactional: false,
        recipient: "client",
        subject: "{{ headline }}",
        body: "{{ message }}\n\nYou receive this because you agreed to hear from us by \
               e-mail; tell your relationship manager to stop it at any time.",
        example: r#"{"headline": "New: NIFTY 50 index fund SIPs from Rs 500", "message": "Start a monthly SIP in our NIFTY 50 index fund from Rs 500."}"#,
        dlt_template_id: "",
    },
    Template {
        name: "campaign_sms",
        version: 1,
        channel: "sms",
        aggregate: SCHEDULED,
        event_type: "CampaignSent",
        transactional: false,
        recipient: "client",
        subject: "",
        body: "{{ message }} - {{ broker }}",
        example: r#"{"message": "NIFTY 50 index fund SIPs from Rs 500. Ask your RM.", "dlt_template_id": "1107170000000000100"}"#,
        dlt_template_id: "",
    },
    account_template(
        "account_suspended",
        "AccountSuspended",
        "Your account is suspended",
        "Your trading account with us is suspended: no new trades can be placed for now. \
         Your relationship manager will explain why and what happens next.",
    ),
    account_template(
        "account_dormant",
        "AccountMarkedDormant",
        "Your account is now inactive",
        "Your trading account has had no activity for a long time and is now inactive. \
         Contact your relationship manager to trade again.",
    ),
    account_template(
        "account_reactivated",
        "AccountReactivated",
        "Your account is active again",
        "Your trading account is active again: you can place trades.",
    ),
    account_template(
        "account_closed",
        "RelationshipClosed",
        "Your account is closed",
        "Your trading account with us is closed. We keep your records for the period the \
         regulations require.",
    ),
    account_template(
        "account_reopened",
        "RelationshipReopened",
        "Your account is open again",
        "Your trading account with us is open again.",
    ),
];

/// A message to the client on a change of their account's status (its text between the
/// greeting and the sign-off).
const fn account_template(
    name: &'static str,
    event_type: &'static str,
    subject: &'static str,
    body: &'static str,
) -> Template {
    Template {
        name,
        version: 1,
        channel: "email",
        aggregate: "client",
        event_type,
        transactional: true,
        recipient: "client",
        subject,
        body,
        example: "{}",
        dlt_template_id: "",
    }
}

/// The template named `name`.
pub fn template(name: &str) -> Option<&'static Template> {
    TEMPLATES.iter().find(|t| t.name == name)
}

/// What the template shows of the event `e` (never personal data).
fn data_of(t: &Template, e: &StoredEvent) -> Value {
    let body = &e.payload[t.event_type];
    match t.event_type {
        "KycVerified" => json!({"next_rekyc_on": body["next_rekyc_on"]}),
        "KycRevisionRequested" => {
            let documents = body["review"]["documents"].as_array().map_or(0, |d| {
                d.iter().filter(|d| d["verdict"] == "rejected").count()
            });
            json!({"documents": documents})
        }
        // The ledger is kept plain (see `domain::investments::personal`): a trade's terms are
        // the firm's books, not the person's data.
        "TradeRecorded" => {
            let trade = &body["trade"];
            let fee = |k: &str| match &trade["fees"][k] {
                Value::String(s) => Value::String(s.clone()),
                _ => Value::String("0".into()),
            };
            json!({
                "correction": !body["corrects"].is_null(),
                "side": trade["side"],
                "quantity": trade["quantity"],
                "symbol": trade["symbol"],
                "isin": trade["isin"],
                "exchange": trade["exchange"],
                "price": trade["price"],
                "brokerage": fee("brokerage"),
                "stt": fee("stt"),
                "gst": fee("gst"),
                "stamp_duty": fee("stamp_duty"),
                "other": fee("other"),
                "trade_date": trade["trade_date"],
                "settlement_date": trade["settlement_date"],
                "reference": trade["reference"],
            })
        }
        "KycAlertRaised" => {
            json!({"kind": body["alert"]["kind"], "due_on": body["alert"]["due_on"]})
        }
        _ => json!({}),
    }
}

pub struct NotificationsProjection {
    /// Events older than this (by when they were recorded) decide nothing.
    pub max_age: Duration,
}

impl Projection for NotificationsProjection {
    fn name(&self) -> &'static str {
        NAME
    }

    fn version(&self) -> i64 {
        1
    }

    /// No tables of its own: the outbox outlives rebuilds (its messages' delivery state is
    /// not in the log), so it is made by the store's migrations.
    fn ddl(&self) -> &'static str {
        ""
    }

    fn tables(&self) -> &'static [&'static str] {
        &[]
    }

    /// Any event may be delivered to a webhook subscription.
    fn concerns(&self, _e: &StoredEvent) -> bool {
        true
    }

    fn apply<'a>(
        &'a self,
        tx: &'a mut Tx,
        suffix: &'a str,
        events: &'a [StoredEvent],
    ) -> BoxFuture<'a, Result<(), ProjectionError>> {
        Box::pin(decide(tx, suffix, events, Utc::now() - self.max_age))
    }
}

/// Writes the messages `events` call for, leaving out those recorded before `since`.
async fn decide(
    tx: &mut Tx,
    suffix: &str,
    events: &[StoredEvent],
    since: DateTime<Utc>,
) -> Result<(), ProjectionError> {
    // A rebuild (into tables with a suffix) decides only what the live projection has not:
    // the rest was decided when it happened, by the templates and subscriptions of then.
    let decided: i64 = if suffix.is_empty() {
        0
    } else {
        crate::with_tx!(tx, c => {
            sqlx::query_scalar::<_, i64>(
                "SELECT position FROM projection_checkpoints WHERE name = $1",
            )
            .bind(NAME)
            .fetch_optional(&mut **c)
            .await?
            .unwrap_or(0)
        })
    };
    // The subscriptions as they stand when the batch is applied.
    let mut subscriptions: Vec<(String, String, DateTime<Utc>)> = crate::with_tx!(tx, c => {
        sqlx::query_as(
            "SELECT id, event_types, created_at FROM webhook_subscriptions WHERE active = $1",
        )
        .bind(true)
        .fetch_all(&mut **c)
        .await?
    });
    let now = Utc::now();
    for e in events.iter().filter(|e| e.position > decided) {
        // A withdrawn consent or an erasure request stops what waits for the person at once.
        cancel_for(tx, e).await?;
        let recorded_at = EventMetadata::from_json(&e.metadata).recorded_at;
        // A subscription takes what happened once it was made (a replay, what came before).
        if recorded_at >= since {
            for (id, types, made) in &subscriptions {
                if recorded_at >= *made && subscribed(types, &e.event_type) {
                    queue_delivery(tx, id, e, recorded_at, None).await?;
                }
            }
        }
        if e.aggregate_type == WebhookSubscription::TYPE {
            subscription_changed(tx, e, recorded_at, &mut subscriptions).await?;
        }
        if recorded_at < since {
            continue;
        }
        for t in called_for(e) {
            let recipient = &e.aggregate_id;
            let key = format!("{}:{}:{}:{}", e.position, t.name, t.recipient, recipient);
            insert(
                tx,
                &Outgoing {
                    key,
                    channel: t.channel,
                    template: t.name,
                    template_version: t.version,
                    recipient_kind: t.recipient,
                    recipient_id: recipient.clone(),
                    event_position: e.position,
                    event_type: &e.event_type,
                    transactional: t.transactional,
                    // Its age counts from the decision (the sender's maximum age).
                    due: now,
                    created_at: now,
                    data: data_of(t, e),
                },
            )
            .await?;
        }
    }
    Ok(())
}

/// Keeps the subscription of `e` (a webhook subscription's event) as it says: made active
/// (taking the events after it), or removed (what was still queued for it cancelled). Its row
/// was written, inactive and with its sealed secret, before the event was recorded.
async fn subscription_changed(
    tx: &mut Tx,
    e: &StoredEvent,
    at: DateTime<Utc>,
    subscriptions: &mut Vec<(String, String, DateTime<Utc>)>,
) -> Result<(), ProjectionError> {
    let Ok(event) = serde_json::from_value::<WebhookEvent>(e.payload.clone()) else {
        tracing::warn!(
            position = e.position,
            "a webhook subscription event that does not read"
        );
        return Ok(());
    };
    let id = &e.aggregate_id;
    match event {
        WebhookEvent::WebhookSubscribed { terms, .. } => {
            let types = terms.event_types.join(",");
            crate::with_tx!(tx, c => {
                sqlx::query(
                    // The URL stays the row's (the event's has no query).
                    // A row recorded after the fact (made before subscriptions were
                    // events, already active) keeps its time and description.
                    "UPDATE webhook_subscriptions SET event_types = $2,
                       description = CASE WHEN active THEN description ELSE $3 END,
                       created_at = CASE WHEN active THEN created_at ELSE $5 END,
                       active = $4, personal_data = $6
                     WHERE id = $1",
                )
                .bind(id)
                .bind(&types)
                .bind(terms.description.as_ref().map(|d| d.as_str().to_string()))
                .bind(true)
                .bind(at)
                .bind(terms.personal_data)
                .execute(&mut **c)
                .await?;
            });
            subscriptions.retain(|(s, _, _)| s != id);
            subscriptions.push((id.clone(), types, at));
        }
        WebhookEvent::WebhookRemoved {} => {
            crate::with_tx!(tx, c => {
                sqlx::query(
                    "UPDATE webhook_subscriptions SET active = $2, removed_at = $3 WHERE id = $1",
                )
                .bind(id)
                .bind(false)
                .bind(at)
                .execute(&mut **c)
                .await?;
                sqlx::query(
                    "UPDATE notification_outbox SET status = 'cancelled',
                       last_error = 'the subscription was removed'
                     WHERE recipient_kind = 'subscription' AND recipient_id = $1
                       AND status = 'queued'",
                )
                .bind(id)
                .execute(&mut **c)
                .await?;
            });
            subscriptions.retain(|(s, _, _)| s != id);
        }
        WebhookEvent::WebhookReplayed { .. } => {}
    }
    Ok(())
}

/// A message to write to the outbox.
struct Outgoing<'a> {
    /// What makes it the same message, whatever writes it again.
    key: String,
    channel: &'a str,
    template: &'a str,
    template_version: i64,
    recipient_kind: &'a str,
    recipient_id: String,
    event_position: i64,
    event_type: &'a str,
    transactional: bool,
    due: DateTime<Utc>,
    created_at: DateTime<Utc>,
    data: Value,
}

/// Writes `m` to the outbox, unless a message of the same key is there; answers whether it
/// wrote it.
async fn insert(tx: &mut Tx, m: &Outgoing<'_>) -> Result<bool, ProjectionError> {
    let written = crate::with_tx!(tx, c => {
        sqlx::query(
            "INSERT INTO notification_outbox (id, dedupe_key, channel, template,
               template_version, recipient_kind, recipient_id, event_position, event_type,
               transactional, status, attempts, next_attempt_at, created_at, data)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, 'queued', 0, $11, $12, $13)
             ON CONFLICT DO NOTHING",
        )
        .bind(Uuid::now_v7().to_string())
        .bind(&m.key)
        .bind(m.channel)
        .bind(m.template)
        .bind(m.template_version)
        .bind(m.recipient_kind)
        .bind(&m.recipient_id)
        .bind(m.event_position)
        .bind(m.event_type)
        .bind(m.transactional)
        .bind(m.due)
        .bind(m.created_at)
        .bind(&m.data)
        .execute(&mut **c)
        .await?
        .rows_affected()
    });
    Ok(written > 0)
}

/// Cancels the queued messages `e` stops: on a withdrawn consent, the marketing messages on
/// that channel to the person; on an erasure request, every message to them.
async fn cancel_for(tx: &mut Tx, e: &StoredEvent) -> Result<(), ProjectionError> {
    if !matches!(e.aggregate_type.as_str(), "lead" | "client") {
        return Ok(());
    }
    // (every message or only marketing, on one channel or all, and why)
    let (every, channel, why) = match e.event_type.as_str() {
        "MarketingConsentWithdrawn" => {
            let channel = e
                .payload
                .pointer("/MarketingConsentWithdrawn/channel")
                .or_else(|| {
                    e.payload
                        .pointer("/Privacy/MarketingConsentWithdrawn/channel")
                })
                .and_then(Value::as_str)
                .map(str::to_string);
            (false, channel, "consent withdrawn")
        }
        "ErasureRequested" => (true, None, "the person asked for erasure"),
        _ => return Ok(()),
    };
    crate::with_tx!(tx, c => {
        sqlx::query(
            "UPDATE notification_outbox SET status = 'cancelled', last_error = $2,
               claim_token = NULL
             WHERE recipient_id = $1 AND recipient_kind IN ('client', 'lead')
               AND status = 'queued' AND ($3 OR NOT transactional)
               AND ($4 IS NULL OR channel = $4)",
        )
        .bind(&e.aggregate_id)
        .bind(why)
        .bind(every)
        .bind(channel)
        .execute(&mut **c)
        .await?;
    });
    Ok(())
}

/// Queues one marketing message (`template`, a campaign's) to each of `recipients` (kind,
/// id), due at `due`; once per campaign and person. Answers how many it queued.
pub async fn queue_campaign(
    db: &store::Db,
    template: &Template,
    campaign: Uuid,
    recipients: &[(&str, Uuid)],
    data: &Value,
    due: DateTime<Utc>,
) -> Result<u64, ProjectionError> {
    let head = store::log::head(db).await?;
    let now = Utc::now();
    let _turn = db.write_turn().await;
    let mut tx = store::Tx::begin(db).await?;
    let mut queued = 0;
    for (kind, id) in recipients {
        let key = format!("{}:{campaign}:{kind}:{id}", template.name);
        let m = Outgoing {
            key,
            channel: template.channel,
            template: template.name,
            template_version: template.version,
            recipient_kind: kind,
            recipient_id: id.to_string(),
            event_position: head,
            event_type: template.event_type,
            transactional: template.transactional,
            due,
            created_at: now,
            data: data.clone(),
        };
        queued += u64::from(insert(&mut tx, &m).await?);
    }
    tx.commit().await?;
    Ok(queued)
}

/// Whether the person (`kind` `client` or `lead`) consents to marketing on `channel` now
/// (and may be contacted at all: no erasure asked).
pub async fn consents(
    db: &store::Db,
    kind: &str,
    id: Uuid,
    channel: &str,
) -> Result<bool, ProjectionError> {
    let sql = match kind {
        "client" => "SELECT marketing FROM clients WHERE client_id = $1",
        "lead" => "SELECT marketing FROM leads WHERE lead_id = $1",
        _ => return Ok(false),
    };
    let marketing: Option<String> = store::with_db!(db, pool => {
        sqlx::query_scalar(sql)
            .bind(id.to_string())
            .fetch_optional(pool)
            .await?
    });
    Ok(marketing.is_some_and(|m| m.contains(&format!(" {channel} "))))
}

/// The templates event `e` calls for.
pub fn called_for(e: &StoredEvent) -> impl Iterator<Item = &'static Template> + '_ {
    TEMPLATES
        .iter()
        .filter(|t| t.aggregate == e.aggregate_type && t.event_type == e.event_type)
}

/// Whether a subscription to `types` (comma-separated, or `*`) takes `event_type`.
pub fn subscribed(types: &str, event_type: &str) -> bool {
    types
        .split(',')
        .map(str::trim)
        .any(|t| t == "*" || t == event_type)
}

/// The delivery of `e` to subscription `id` (`replay`: the replay it belongs to, which
/// delivers again what was delivered before).
async fn queue_delivery(
    tx: &mut Tx,
    id: &str,
    e: &StoredEvent,
    recorded_at: DateTime<Utc>,
    replay: Option<Uuid>,
) -> Result<(), ProjectionError> {
    let key = match replay {
        None => format!("{}:webhook:subscription:{id}", e.position),
        Some(r) => format!("{}:webhook:subscription:{id}:replay:{r}", e.position),
    };
    let data = json!({
        "aggregate_type": e.aggregate_type,
        "aggregate_id": e.aggregate_id,
        "sequence": e.sequence,
        "recorded_at": recorded_at,
    });
    let now = Utc::now();
    let m = Outgoing {
        key,
        channel: "webhook",
        template: "webhook",
        template_version: 1,
        recipient_kind: "subscription",
        recipient_id: id.to_string(),
        event_position: e.position,
        event_type: &e.event_type,
        transactional: true,
        due: now,
        created_at: now,
        data,
    };
    insert(tx, &m).await?;
    Ok(())
}

/// What a replay queued, and where the next one would start if it stopped at its limit.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Replay {
    pub queued: u64,
    /// The position of the last event queued, when the limit was reached before `through`.
    pub next_from: Option<i64>,
}

/// Queues again, for subscription `id`, every event after the position `from` and up to
/// `through` that it takes, at most `limit` of them: a replay, delivered even where delivered
/// before.
pub async fn replay(
    db: &store::Db,
    id: &str,
    types: &str,
    from: i64,
    through: i64,
    limit: u64,
) -> Result<Replay, ProjectionError> {
    let replay = Uuid::now_v7();
    let mut after = from;
    let mut queued = 0;
    let mut last_queued = from;
    loop {
        let events = store::log::read_positions(db, after, through, 1000).await?;
        let Some(last) = events.last() else {
            return Ok(Replay {
                queued,
                next_from: None,
            });
        };
        after = last.position;
        let _turn = db.write_turn().await;
        let mut tx = store::Tx::begin(db).await?;
        for e in events.iter().filter(|e| subscribed(types, &e.event_type)) {
            if queued == limit {
                tx.commit().await?;
                return Ok(Replay {
                    queued,
                    next_from: Some(last_queued),
                });
            }
            let at = EventMetadata::from_json(&e.metadata).recorded_at;
            queue_delivery(&mut tx, id, e, at, Some(replay)).await?;
            queued += 1;
            last_queued = e.position;
        }
        tx.commit().await?;
    }
}

/// A message of the outbox as listed (recipients by id only).
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct Message {
    pub id: String,
    pub channel: String,
    pub template: String,
    pub template_version: i64,
    pub recipient_kind: String,
    pub recipient_id: String,
    pub event_type: String,
    pub event_position: i64,
    pub transactional: bool,
    pub status: String,
    pub attempts: i64,
    pub next_attempt_at: DateTime<Utc>,
    pub created_at: DateTime<Utc>,
    pub sent_at: Option<DateTime<Utc>>,
    pub retried_at: Option<DateTime<Utc>>,
    pub last_error: Option<String>,
}

const COLUMNS: &str = "id, channel, template, template_version, recipient_kind, recipient_id,
    event_type, event_position, transactional, status, attempts, next_attempt_at, created_at,
    sent_at, retried_at, last_error";

/// Which messages to list: each filter given narrows; newest first, `limit` after the
/// message `before` (a page's last id).
#[derive(Debug, Clone, Default)]
pub struct Filter {
    pub status: Option<String>,
    pub channel: Option<String>,
    pub recipient: Option<Uuid>,
    pub event_type: Option<String>,
    pub before: Option<Uuid>,
    pub limit: i64,
}

/// The messages of `f`, newest first (ids are time-ordered).
pub async fn list(db: &store::Db, f: &Filter) -> Result<Vec<Message>, sqlx::Error> {
    use crate::leads::query::{fetch_rows, Bind, Sql};
    let mut sql = Sql::default();
    let mut eq = |column: &str, value: Option<String>| {
        if let Some(v) = value {
            let b = sql.bind(Bind::Text(v));
            sql.and(format!("{column} = {b}"));
        }
    };
    eq("status", f.status.clone());
    eq("channel", f.channel.clone());
    eq("recipient_id", f.recipient.map(|r| r.to_string()));
    eq("event_type", f.event_type.clone());
    if let Some(before) = f.before {
        let b = sql.bind(Bind::Text(before.to_string()));
        sql.and(format!("id < {b}"));
    }
    let l = sql.bind(Bind::Int(f.limit));
    let q = format!(
        "SELECT {COLUMNS} FROM notification_outbox{} ORDER BY id DESC LIMIT {l}",
        sql.where_clause()
    );
    fetch_rows(db, &q, &sql.binds).await
}

/// Sends the dead message `id` back to the queue at `now` (attempts from zero, its maximum
/// age from now): the message, or, when it is not dead, its status (`None`: no such message).
pub async fn retry(
    db: &store::Db,
    id: Uuid,
    now: DateTime<Utc>,
) -> Result<Result<Message, Option<String>>, sqlx::Error> {
    let id = id.to_string();
    let turn = db.write_turn().await;
    let moved: Option<Message> = store::with_db!(db, pool => {
        sqlx::query_as(&format!(
            "UPDATE notification_outbox SET status = 'queued', attempts = 0,
               next_attempt_at = $2, retried_at = $2, claimed_at = NULL, last_error = NULL
             WHERE id = $1 AND status = 'dead' RETURNING {COLUMNS}"
        ))
        .bind(&id)
        .bind(now)
        .fetch_optional(pool)
        .await?
    });
    drop(turn);
    if let Some(m) = moved {
        return Ok(Ok(m));
    }
    let status: Option<String> = store::with_db!(db, pool => {
        sqlx::query_scalar("SELECT status FROM notification_outbox WHERE id = $1")
            .bind(&id)
            .fetch_optional(pool)
            .await?
    });
    Ok(Err(status))
}

/// Deletes the messages that were done with (sent, cancelled or dead) before `before`:
/// counted from their decision or, for one an admin sent back, from that retry. A decision is
/// never made again for them: events are decided within `DECIDE_WITHIN_HOURS` of their
/// recording, far less than any `before` the sender passes. Returns how many went.
pub async fn purge(db: &store::Db, before: DateTime<Utc>) -> Result<u64, sqlx::Error> {
    let _turn = db.write_turn().await;
    Ok(store::with_db!(db, pool => {
        sqlx::query(
            "DELETE FROM notification_outbox WHERE status IN ('sent', 'cancelled', 'dead')
               AND COALESCE(retried_at, created_at) < $1",
        )
        .bind(before)
        .execute(pool)
        .await?
        .rows_affected()
    }))
}

/// What waits in the outbox: messages queued or being sent, the oldest of them, and dead
/// letters.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Backlog {
    pub waiting: i64,
    pub oldest_waiting_at: Option<DateTime<Utc>>,
    pub dead: i64,
}

pub async fn backlog(db: &store::Db) -> Result<Backlog, sqlx::Error> {
    let rows: Vec<(String, i64, Option<DateTime<Utc>>)> = store::with_db!(db, pool => {
        sqlx::query_as(
            "SELECT status, COUNT(*), MIN(created_at) FROM notification_outbox
              WHERE status IN ('queued', 'sending', 'dead') GROUP BY status",
        )
        .fetch_all(pool)
        .await?
    });
    let mut b = Backlog::default();
    for (status, n, oldest) in rows {
        if status == "dead" {
            b.dead += n;
        } else {
            b.waiting += n;
            b.oldest_waiting_at = match (b.oldest_waiting_at, oldest) {
                (Some(a), Some(o)) => Some(a.min(o)),
                (a, o) => a.or(o),
            };
        }
    }
    Ok(b)
}

/// Queues, for the Indian day `on`, one reminder to each agent holding open lead follow-ups
/// due that day or overdue, once per agent and day whatever runs it again; answers how many
/// it queued now.
pub async fn remind_follow_ups(
    db: &store::Db,
    on: chrono::NaiveDate,
    now: DateTime<Utc>,
) -> Result<u64, ProjectionError> {
    let Some(t) = template("follow_ups_due") else {
        return Ok(0);
    };
    // The day's bounds in UTC: India is 5 h 30 ahead.
    let start = on.and_hms_opt(0, 0, 0).expect("midnight").and_utc() - Duration::minutes(330);
    let end = start + Duration::days(1);
    let due: Vec<(String, i64, i64)> = store::with_db!(db, pool => {
        sqlx::query_as(
            "SELECT assignee,
                    CAST(SUM(CASE WHEN due_at >= $1 THEN 1 ELSE 0 END) AS bigint),
                    CAST(SUM(CASE WHEN due_at < $1 THEN 1 ELSE 0 END) AS bigint)
               FROM sales_follow_ups
              WHERE state = 'open' AND merged = $3 AND assignee IS NOT NULL AND due_at < $2
              GROUP BY assignee",
        )
        .bind(start)
        .bind(end)
        .bind(false)
        .fetch_all(pool)
        .await?
    });
    let head = store::log::head(db).await?;
    let _turn = db.write_turn().await;
    let mut tx = store::Tx::begin(db).await?;
    let mut queued = 0;
    for (agent, due_today, overdue) in due {
        let key = format!("{}:{on}:{}:{agent}", t.name, t.recipient);
        let data = json!({"on": on.to_string(), "due_today": due_today, "overdue": overdue});
        let m = Outgoing {
            key,
            channel: t.channel,
            template: t.name,
            template_version: t.version,
            recipient_kind: t.recipient,
            recipient_id: agent,
            event_position: head,
            event_type: t.event_type,
            transactional: t.transactional,
            due: now,
            created_at: now,
            data,
        };
        queued += u64::from(insert(&mut tx, &m).await?);
    }
    tx.commit().await?;
    Ok(queued)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(aggregate: &str, event_type: &str, payload: Value) -> StoredEvent {
        StoredEvent {
            position: 7,
            tx_id: 1,
            aggregate_type: aggregate.into(),
            aggregate_id: "0193a7b0-11aa-7c3e-8f00-5d2c4b6a7e90".into(),
            sequence: 3,
            event_type: event_type.into(),
            event_version: "1".into(),
            payload,
            metadata: json!({}),
        }
    }

    #[test]
    fn kyc_decisions_call_for_a_message_with_what_it_shows() {
        let p = NotificationsProjection {
            max_age: Duration::hours(DECIDE_WITHIN_HOURS),
        };
        let sent_back = event(
            "kyc",
            "KycRevisionRequested",
            json!({"KycRevisionRequested": {"review": {"documents": [
                {"verdict": "rejected"}, {"verdict": "accepted"}, {"verdict": "rejected"}
            ]}}}),
        );
        // Any event may go to a webhook.
        assert!(p.concerns(&sent_back));
        let t = template("kyc_revision_requested").unwrap();
        assert_eq!(data_of(t, &sent_back), json!({"documents": 2}));
        let verified = event(
            "kyc",
            "KycVerified",
            json!({"KycVerified": {"review": {}, "next_rekyc_on": "2036-12-03"}}),
        );
        let t = template("kyc_verified").unwrap();
        assert_eq!(
            data_of(t, &verified),
            json!({"next_rekyc_on": "2036-12-03"})
        );
        let names = |e: &StoredEvent| called_for(e).map(|t| t.name).collect::<Vec<_>>();
        assert_eq!(names(&verified), vec!["kyc_verified", "kyc_verified_sms"]);
        // Other events, and the same name on another kind of record, call for nothing.
        assert!(names(&event("kyc", "KycSubmitted", json!({}))).is_empty());
        assert!(names(&event("lead", "KycVerified", json!({}))).is_empty());
        // Names are unique: a message records its template by name.
        let mut names: Vec<&str> = TEMPLATES.iter().map(|t| t.name).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), TEMPLATES.len());
    }
}
