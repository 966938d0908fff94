//! Delivering the notification outbox (decided by `projections::notifications`): a sender
//! claims the messages that are due, opens each recipient's address and name from their sealed
//! record, renders the template and hands the message to its channel, then records what
//! happened. A failed attempt is retried after an exponential back-off with jitter until the
//! attempts or the maximum age run out, and the message becomes a dead letter an admin may
//! send back to the queue.
//!
//! A claim is a lease: a sender that dies after claiming leaves its messages `sending`, and
//! they are claimed again once the lease has run out. Each message keeps one id for every
//! attempt (the e-mail's `Message-ID`), so a sender that dies between sending and recording
//! sends it at most once more, under the same id.

pub mod api;
pub mod sms;
pub mod webhook;

use std::time::Duration;

use chrono::{DateTime, Utc};
use lettre::message::header::ContentType;
use lettre::message::Mailbox;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use projections::notifications::{template, Template};
use serde_json::Value;
use store::privacy::{Keyring, ERASED};
use store::{with_db, Db};
use uuid::Uuid;

/// How the sender works (see `ServeArgs` for the settings that make it).
#[derive(Debug, Clone)]
pub struct Settings {
    /// `smtp://host:port` (plain), `smtp://host:port?tls=required` (STARTTLS) or
    /// `smtps://user:password@host:port` (TLS); `None`: e-mail is not sent (messages wait).
    pub smtp_url: Option<String>,
    /// The SMS gateway's URL template (see `CRM_SMS_URL`); `None`: SMS wait.
    pub sms_url: Option<String>,
    /// `Name: value`, sent to the SMS gateway.
    pub sms_auth_header: Option<String>,
    /// The DLT-registered sender id.
    pub sms_sender: String,
    /// When promotional SMS wait (see `CRM_SMS_QUIET_HOURS`); `None`: they never wait.
    pub sms_quiet_hours: Option<sms::QuietHours>,
    /// Whether webhooks may reach private addresses (see `CRM_WEBHOOK_ALLOW_PRIVATE`).
    pub webhook_allow_private: bool,
    /// The `From` of every e-mail.
    pub from: String,
    /// The broker's name, as messages sign off.
    pub broker: String,
    /// How often the outbox is looked at.
    pub every: Duration,
    /// Attempts before a message is a dead letter.
    pub max_attempts: i64,
    /// Age (from its decision, or an admin's retry) after which a message is not tried again.
    pub max_age: chrono::Duration,
    /// The first retry's delay; each next one doubles it (capped at an hour), plus up to a
    /// quarter more at random.
    pub backoff: chrono::Duration,
    /// How long a claim holds before another sender may take the message over.
    pub lease: chrono::Duration,
    /// How long a message sent, cancelled or dead is kept (from its decision or retry) before
    /// it is purged.
    pub keep: chrono::Duration,
}

/// How often messages done with are purged (see `Settings::keep`).
const PURGE_EVERY: Duration = Duration::from_secs(3600);

/// Messages claimed at a time: tried one after the other within the lease (each channel
/// gives up on a message after `TIMEOUT`).
const BATCH: i64 = 10;
const TIMEOUT: Duration = Duration::from_secs(10);

/// A message claimed for delivery.
#[derive(Debug, sqlx::FromRow)]
struct Claimed {
    id: String,
    claim_token: String,
    channel: String,
    template: String,
    recipient_kind: String,
    recipient_id: String,
    event_position: i64,
    event_type: String,
    transactional: bool,
    attempts: i64,
    created_at: DateTime<Utc>,
    retried_at: Option<DateTime<Utc>>,
    data: Value,
}

/// What became of one attempt.
#[derive(Debug, PartialEq)]
pub enum Outcome {
    Sent,
    /// Tried again later (the reason), unless out of attempts or too old.
    Failed(String),
    /// Never to be sent (the reason): the recipient cannot be reached, or asked for erasure.
    Cancelled(String),
    /// Not now, and not counted as an attempt: due again at that moment (quiet hours).
    Deferred(DateTime<Utc>),
}

/// The outbox's sender: webhooks, and e-mail and SMS once their server or gateway is
/// configured.
pub struct Sender {
    db: Db,
    keyring: std::sync::Arc<Keyring>,
    settings: Settings,
    mailer: Option<(AsyncSmtpTransport<Tokio1Executor>, Mailbox)>,
    /// Where SMS go (an HTTP gateway configured by the operator, wherever it is).
    sms: Option<Box<dyn sms::Provider>>,
    /// For webhooks (see [`webhook::PublicOnly`]).
    hooks: reqwest::Client,
}

impl Sender {
    /// The sender of `settings`, or why it cannot be made.
    pub fn new(
        db: &Db,
        keyring: std::sync::Arc<Keyring>,
        settings: Settings,
    ) -> Result<Self, String> {
        let mailer = match settings.smtp_url.clone() {
            None => None,
            Some(url) => {
                let transport = AsyncSmtpTransport::<Tokio1Executor>::from_url(&url)
                    .map_err(|e| format!("CRM_SMTP_URL: {e}"))?
                    .timeout(Some(TIMEOUT))
                    .build();
                let from: Mailbox = settings
                    .from
                    .parse()
                    .map_err(|e| format!("CRM_SMTP_FROM: {e}"))?;
                Some((transport, from))
            }
        };
        let client = || {
            reqwest::Client::builder()
                .timeout(TIMEOUT)
                .redirect(reqwest::redirect::Policy::none())
        };
        let http = client()
            .build()
            .map_err(|e| format!("the HTTP client: {e}"))?;
        let sms: Option<Box<dyn sms::Provider>> = match settings.sms_url.clone() {
            None => None,
            Some(url) => Some(Box::new(sms::Gateway::new(
                &url,
                settings.sms_auth_header.as_deref(),
                &settings.sms_sender,
                http.clone(),
            )?)),
        };
        // Webhooks connect only to the public addresses their name resolves to.
        let hooks = if settings.webhook_allow_private {
            http.clone()
        } else {
            client()
                .dns_resolver(std::sync::Arc::new(webhook::PublicOnly))
                .build()
                .map_err(|e| format!("the webhook client: {e}"))?
        };
        Ok(Self {
            db: db.clone(),
            keyring,
            settings,
            mailer,
            sms,
            hooks,
        })
    }

    /// Whether e-mail is sent (an SMTP server is configured).
    pub fn mails(&self) -> bool {
        self.mailer.is_some()
    }

    /// Delivers what is due, every `settings.every`, for as long as the process runs.
    pub async fn every(self) {
        let mut tick = tokio::time::interval(self.settings.every);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut purged_at: Option<std::time::Instant> = None;
        loop {
            tick.tick().await;
            if purged_at.is_none_or(|at| at.elapsed() >= PURGE_EVERY) {
                purged_at = Some(std::time::Instant::now());
                let before = Utc::now() - self.settings.keep;
                match projections::notifications::purge(&self.db, before).await {
                    Ok(0) => {}
                    Ok(n) => tracing::info!(n, "purged notifications done with"),
                    Err(e) => tracing::warn!(error = %e, "the notification outbox was not purged"),
                }
            }
            loop {
                match self.deliver_due().await {
                    // A full batch: more may be due.
                    Ok(n) if n as i64 == BATCH => continue,
                    Ok(_) => break,
                    Err(e) => {
                        tracing::warn!(error = %e, "the notification outbox could not be read");
                        break;
                    }
                }
            }
        }
    }

    /// Claims the messages due now and tries each once; answers how many it claimed.
    pub async fn deliver_due(&self) -> Result<usize, sqlx::Error> {
        let now = Utc::now();
        let mut channels = vec!["webhook"];
        if self.mailer.is_some() {
            channels.push("email");
        }
        if self.sms.is_some() {
            channels.push("sms");
        }
        let claimed = claim(&self.db, now, now - self.settings.lease, &channels).await?;
        for m in &claimed {
            let outcome = self.attempt(m).await;
            self.record(m, outcome).await?;
        }
        Ok(claimed.len())
    }

    async fn attempt(&self, m: &Claimed) -> Outcome {
        // Marketing goes only to whom consents to its channel now.
        if !m.transactional && m.channel != "webhook" {
            let consents = match Uuid::parse_str(&m.recipient_id) {
                Ok(id) => {
                    projections::notifications::consents(
                        &self.db,
                        &m.recipient_kind,
                        id,
                        &m.channel,
                    )
                    .await
                }
                Err(_) => Ok(false),
            };
            match consents {
                Ok(true) => {}
                Ok(false) => {
                    return Outcome::Cancelled(format!("no consent to marketing by {}", m.channel))
                }
                Err(e) => return Outcome::Failed(format!("consent cannot be read: {e}")),
            }
        }
        match m.channel.as_str() {
            "webhook" => {
                let allow_private = self.settings.webhook_allow_private;
                webhook::deliver(&self.db, &self.keyring, &self.hooks, m, allow_private).await
            }
            "email" => self.mail(m).await,
            "sms" => self.text(m).await,
            other => Outcome::Cancelled(format!("no channel {other}")),
        }
    }

    /// The template of `m`, its recipient opened from their record, and its subject and body.
    async fn compose(
        &self,
        m: &Claimed,
    ) -> Result<(&'static Template, Recipient, String, String), Outcome> {
        let Some(t) = template(&m.template) else {
            return Err(Outcome::Cancelled(format!("no template {}", m.template)));
        };
        let recipient = recipient(&self.db, &self.keyring, m).await?;
        // The client's name, for their manager's message: read now, never kept in the row.
        let mut data = m.data.clone();
        if let (Some(client), Value::Object(values)) = (&recipient.client, &mut data) {
            values.insert("client".into(), Value::String(client.clone()));
        }
        let (subject, body) = render(t, &recipient.name, &self.settings.broker, &data)
            .map_err(|e| Outcome::Cancelled(format!("template {}: {e}", t.name)))?;
        Ok((t, recipient, subject, body))
    }

    async fn text(&self, m: &Claimed) -> Outcome {
        let Some(gateway) = &self.sms else {
            return Outcome::Failed("no SMS gateway is configured".into());
        };
        // Promotional messages wait for the morning (TRAI); transactional ones go now.
        if !m.transactional {
            let quiet = self.settings.sms_quiet_hours;
            if let Some(at) = quiet.and_then(|q| q.until(Utc::now())) {
                return Outcome::Deferred(at);
            }
        }
        let (t, recipient, _, text) = match self.compose(m).await {
            Ok(c) => c,
            Err(outcome) => return outcome,
        };
        let Some(to) = sms::number(&recipient.phone) else {
            return Outcome::Cancelled("the recipient has no mobile number".into());
        };
        // A campaign's text is registered on its own: its DLT id comes with it.
        let template_id = match t.dlt_template_id {
            "" => m.data["dlt_template_id"].as_str().unwrap_or_default(),
            id => id,
        };
        gateway.send(&to, &text, template_id, &m.id).await
    }

    async fn mail(&self, m: &Claimed) -> Outcome {
        let Some((mailer, from)) = &self.mailer else {
            return Outcome::Failed("no SMTP server is configured".into());
        };
        let (_, recipient, subject, body) = match self.compose(m).await {
            Ok(c) => c,
            Err(outcome) => return outcome,
        };
        let to: Mailbox = match recipient.email.parse() {
            Ok(to) => to,
            Err(_) => return Outcome::Cancelled("the recipient's address is not valid".into()),
        };
        let message = Message::builder()
            .from(from.clone())
            .to(to)
            .subject(subject)
            .message_id(Some(format!("<{}@notifications.crm>", m.id)))
            .header(ContentType::TEXT_PLAIN)
            .body(body);
        let message = match message {
            Ok(message) => message,
            Err(e) => return Outcome::Cancelled(format!("the message cannot be built: {e}")),
        };
        // What is kept of a failure is its kind and reply code: a server's text often repeats
        // the address.
        let code = |e: &lettre::transport::smtp::Error| {
            e.status()
                .map_or_else(|| "no reply code".to_string(), |c| format!("reply {c}"))
        };
        match mailer.send(message).await {
            Ok(_) => Outcome::Sent,
            // A permanent refusal (5xx) is not retried.
            Err(e) if e.is_permanent() => {
                Outcome::Cancelled(format!("the SMTP server refused it ({})", code(&e)))
            }
            Err(e) if e.is_transient() => {
                Outcome::Failed(format!("the SMTP server deferred it ({})", code(&e)))
            }
            Err(e) => Outcome::Failed(format!("the SMTP exchange failed ({})", code(&e))),
        }
    }

    /// Records `outcome` of the attempt on `m`.
    async fn record(&self, m: &Claimed, outcome: Outcome) -> Result<(), sqlx::Error> {
        let now = Utc::now();
        let s = &self.settings;
        let mut attempts = m.attempts;
        let (status, next, error) = match outcome {
            Outcome::Sent => ("sent", now, None),
            Outcome::Deferred(at) => {
                attempts -= 1;
                ("queued", at, None)
            }
            Outcome::Cancelled(why) => ("cancelled", now, Some(why)),
            Outcome::Failed(why) => {
                let since = m.retried_at.unwrap_or(m.created_at);
                let next = now + backoff(s.backoff, m.attempts);
                if m.attempts >= s.max_attempts || next - since > s.max_age {
                    ("dead", now, Some(why))
                } else {
                    ("queued", next, Some(why))
                }
            }
        };
        if status != "sent" {
            // Never the recipient's details: the reason names none.
            tracing::warn!(message = %m.id, template = %m.template, attempts = m.attempts, status, "a notification was not sent");
        }
        let _turn = self.db.write_turn().await;
        with_db!(&self.db, pool => {
            sqlx::query(
                "UPDATE notification_outbox SET status = $2, next_attempt_at = $3,
                   sent_at = CASE WHEN $2 = 'sent' THEN $4 ELSE sent_at END, last_error = $5,
                   claimed_at = NULL, claim_token = NULL, attempts = $6
                 WHERE id = $1 AND status = 'sending' AND claim_token = $7",
            )
            .bind(&m.id)
            .bind(status)
            .bind(next)
            .bind(now)
            .bind(error)
            .bind(attempts)
            .bind(&m.claim_token)
            .execute(pool)
            .await?;
        });
        Ok(())
    }
}

/// Reminds agents of their follow-ups each day at `at` (Indian time): at start once the time
/// has passed, then every day at that time.
pub async fn remind_daily(db: Db, at: chrono::NaiveTime) {
    let ist = chrono::Duration::minutes(330);
    loop {
        let now = Utc::now();
        let india = now + ist;
        let today = india.date_naive();
        let next_day = if india.time() >= at {
            // Counted from the sales model once it has caught up with the log: a count
            // made once per agent and day must not be of a model half filled.
            if !sales_caught_up(&db).await {
                tokio::time::sleep(Duration::from_secs(5)).await;
                continue;
            }
            match projections::notifications::remind_follow_ups(&db, today, now).await {
                Ok(n) => tracing::info!(queued = n, "follow-up reminders"),
                Err(e) => {
                    tracing::warn!(error = %e, "follow-up reminders failed; trying again");
                    tokio::time::sleep(Duration::from_secs(300)).await;
                    continue;
                }
            }
            today + chrono::Duration::days(1)
        } else {
            today
        };
        let next = next_day.and_time(at).and_utc() - ist;
        let wait = (next - Utc::now())
            .to_std()
            .unwrap_or(Duration::from_secs(60));
        tokio::time::sleep(wait.max(Duration::from_secs(1))).await;
    }
}

/// Whether the sales read model has applied every event of the log.
async fn sales_caught_up(db: &Db) -> bool {
    let Ok(cp) = projections::checkpoint::load(db, projections::sales::NAME).await else {
        return false;
    };
    matches!(store::log::lag(db, cp, 1).await, Ok(0))
}

/// The delay before the retry that follows attempt `attempts` (1 for the first).
fn backoff(base: chrono::Duration, attempts: i64) -> chrono::Duration {
    let doubled = base * 2i32.pow(attempts.clamp(1, 16) as u32 - 1);
    let capped = doubled.min(chrono::Duration::hours(1));
    let jitter = capped.num_milliseconds() / 4;
    let extra = if jitter > 0 {
        // Spread from the message's own clock: no two senders wake together.
        (Utc::now().timestamp_subsec_nanos() as i64) % jitter
    } else {
        0
    };
    capped + chrono::Duration::milliseconds(extra)
}

/// Marks the messages due at `now` (queued and due, or claimed before `lapsed` by a sender
/// that did not finish) as claimed, and answers them.
async fn claim(
    db: &Db,
    now: DateTime<Utc>,
    lapsed: DateTime<Utc>,
    channels: &[&str],
) -> Result<Vec<Claimed>, sqlx::Error> {
    let list = channels
        .iter()
        .map(|c| format!("'{c}'"))
        .collect::<Vec<_>>()
        .join(", ");
    let lock = match db {
        Db::Sqlite(_) => "",
        // Two senders never claim the same message.
        Db::Postgres(_) => " FOR UPDATE SKIP LOCKED",
    };
    let sql = format!(
        "UPDATE notification_outbox SET status = 'sending', claimed_at = $1,
           attempts = attempts + 1, claim_token = $4
         WHERE id IN (SELECT id FROM notification_outbox
                       WHERE channel IN ({channels})
                         AND ((status = 'queued' AND next_attempt_at <= $1)
                              OR (status = 'sending' AND claimed_at <= $2))
                       ORDER BY next_attempt_at, id LIMIT $3{lock})
         RETURNING id, claim_token, channel, template, recipient_kind, recipient_id, event_position,
                   event_type, transactional, attempts, created_at, retried_at, data",
        channels = list
    );
    // Nothing due: no need to queue for the write gate.
    let due: Option<String> = with_db!(db, pool => {
        sqlx::query_scalar(&format!(
            "SELECT id FROM notification_outbox
              WHERE channel IN ({list})
                AND ((status = 'queued' AND next_attempt_at <= $1)
                     OR (status = 'sending' AND claimed_at <= $2))
              LIMIT 1"
        ))
        .bind(now)
        .bind(lapsed)
        .fetch_optional(pool)
        .await?
    });
    if due.is_none() {
        return Ok(Vec::new());
    }
    let _turn = db.write_turn().await;
    let rows: Vec<Claimed> = with_db!(db, pool => {
        sqlx::query_as(&sql)
            .bind(now)
            .bind(lapsed)
            .bind(BATCH)
            .bind(Uuid::new_v4().to_string())
            .fetch_all(pool)
            .await?
    });
    Ok(rows)
}

/// Who a message goes to, opened from their sealed record (or a staff member's account),
/// and for a message to a client's manager, the client's name.
struct Recipient {
    name: String,
    email: String,
    /// A client's mobile number (staff have none here).
    phone: String,
    client: Option<String>,
}

async fn recipient(db: &Db, keyring: &Keyring, m: &Claimed) -> Result<Recipient, Outcome> {
    let Ok(id) = Uuid::parse_str(&m.recipient_id) else {
        return Err(Outcome::Cancelled("the recipient's id is not valid".into()));
    };
    match m.recipient_kind.as_str() {
        "client" => {
            let c = client(db, keyring, id).await?;
            Ok(Recipient {
                name: c.name,
                email: c.email,
                phone: c.phone,
                client: None,
            })
        }
        // The relationship manager of the client, about the client.
        "client_rm" => {
            let c = client(db, keyring, id).await?;
            let Some(rm) = c.relationship_manager else {
                return Err(Outcome::Cancelled(
                    "the client has no relationship manager".into(),
                ));
            };
            let user = staff(db, rm).await?;
            Ok(Recipient {
                name: user.name,
                email: user.email,
                phone: String::new(),
                client: Some(c.name),
            })
        }
        "lead" => match projections::leads::query::get(db, keyring, id).await {
            Ok(None) => Err(Outcome::Failed("the lead is not known yet".into())),
            Err(e) => Err(Outcome::Failed(format!("the lead cannot be read: {e}"))),
            Ok(Some(l)) if l.name == ERASED || l.privacy.erasure_requested_at.is_some() => {
                Err(Outcome::Cancelled("the lead asked for erasure".into()))
            }
            Ok(Some(l)) => Ok(Recipient {
                name: l.name,
                email: l.email.unwrap_or_default(),
                phone: l.phone.unwrap_or_default(),
                client: None,
            }),
        },
        "user" => {
            let user = staff(db, id).await?;
            Ok(Recipient {
                name: user.name,
                email: user.email,
                phone: String::new(),
                client: None,
            })
        }
        other => Err(Outcome::Cancelled(format!("no recipients of kind {other}"))),
    }
}

/// The client `id` as their record stands, unless they asked for erasure.
async fn client(
    db: &Db,
    keyring: &Keyring,
    id: Uuid,
) -> Result<projections::clients::ClientView, Outcome> {
    match projections::clients::query::get(db, keyring, id).await {
        // Not in the clients model yet: it catches up before the next attempt.
        Ok(None) => Err(Outcome::Failed("the client is not known yet".into())),
        Err(e) => Err(Outcome::Failed(format!("the client cannot be read: {e}"))),
        Ok(Some(c)) => {
            let erased = c.privacy.erasure_requested_at.is_some()
                || c.privacy.erased_at.is_some()
                || c.email == ERASED
                || c.name == ERASED;
            if erased {
                Err(Outcome::Cancelled("the client asked for erasure".into()))
            } else {
                Ok(c)
            }
        }
    }
}

/// The staff member `id`, while their account is active.
async fn staff(db: &Db, id: Uuid) -> Result<projections::users::UserRow, Outcome> {
    match projections::users::get(db, id).await {
        Ok(None) => Err(Outcome::Failed("the staff member is not known yet".into())),
        Err(e) => Err(Outcome::Failed(format!(
            "the staff member cannot be read: {e}"
        ))),
        Ok(Some(u)) if !u.active => Err(Outcome::Cancelled(
            "the staff member's account is deactivated".into(),
        )),
        Ok(Some(u)) => Ok(u),
    }
}

/// The subject and body of `t` for `name`, from `data`.
pub fn render(
    t: &Template,
    name: &str,
    broker: &str,
    data: &Value,
) -> Result<(String, String), minijinja::Error> {
    let mut env = minijinja::Environment::new();
    // Plain text: nothing escaped, and a value the template names must be there.
    env.set_undefined_behavior(minijinja::UndefinedBehavior::Strict);
    env.set_keep_trailing_newline(true);
    let mut context = match data {
        Value::Object(m) => m.clone(),
        _ => serde_json::Map::new(),
    };
    context.insert("name".into(), Value::String(name.into()));
    context.insert("broker".into(), Value::String(broker.into()));
    let context = minijinja::Value::from_serialize(&context);
    let subject = env.render_str(t.subject, context.clone())?;
    // An e-mail is a letter; an SMS is its text alone.
    let body = match t.channel {
        "email" => env.render_str(
            &projections::notifications::LETTER.replace("{body}", t.body),
            context,
        )?,
        _ => env.render_str(t.body, context)?,
    };
    // One line: a subject never carries a header of its own.
    let subject = subject.replace(['\r', '\n'], " ");
    Ok((subject, body))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn templates_render_with_their_values_and_refuse_a_missing_one() {
        let t = template("kyc_revision_requested").unwrap();
        let (subject, body) = render(t, "Meera", "Acme Broking", &json!({"documents": 2})).unwrap();
        assert_eq!(subject, "Your KYC needs 2 documents again");
        assert!(body.starts_with("Dear Meera,"), "{body}");
        assert!(body.contains("we need 2 of your documents"), "{body}");
        assert!(body.ends_with("Acme Broking\n"), "{body}");
        let (subject, _) = render(t, "Meera", "Acme", &json!({"documents": 1})).unwrap();
        assert_eq!(subject, "Your KYC needs 1 document again");
        let verified = template("kyc_verified").unwrap();
        let (_, body) = render(
            verified,
            "Meera",
            "Acme",
            &json!({"next_rekyc_on": "2036-12-03"}),
        )
        .unwrap();
        assert!(body.contains("due by 2036-12-03"), "{body}");
        assert!(render(verified, "Meera", "Acme", &json!({})).is_err());
        // A name cannot add a line to a subject that shows it.
        let named = Template {
            subject: "For {{ name }}",
            ..*template("kyc_rejected").unwrap()
        };
        let (subject, _) = render(&named, "x\r\nBcc: a@b.c", "Acme", &json!({})).unwrap();
        assert_eq!(subject, "For x  Bcc: a@b.c");
    }

    #[test]
    fn retries_back_off_exponentially_with_a_ceiling() {
        let base = chrono::Duration::seconds(10);
        for (attempts, least) in [(1, 10), (2, 20), (3, 40), (4, 80)] {
            let d = backoff(base, attempts).num_milliseconds();
            assert!(
                (least * 1000..=least * 1250).contains(&d),
                "{attempts}: {d}"
            );
        }
        let d = backoff(base, 30).num_milliseconds();
        assert!((3_600_000..=4_500_000).contains(&d), "{d}");
    }
}
