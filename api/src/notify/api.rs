//! `GET /api/notifications` and the retry of a dead letter (admins): what the outbox holds,
//! without anyone's personal data (recipients by id).

use chrono::{DateTime, Utc};
use poem::Request;
use poem_openapi::param::{Path, Query};
use poem_openapi::payload::Json;
use poem_openapi::{ApiResponse, Object, OpenApi, Tags};
use uuid::Uuid;

use crate::auth::Auth;
use crate::http::{self, Fields, State};
use crate::policy::{self, Action};
use crate::problem::{ApiError, FieldError, ReadError};

#[derive(Tags)]
pub enum NotificationTags {
    /// The notification outbox: messages decided from events, their delivery and dead letters.
    Notifications,
}

/// Where a message stands.
pub const STATUSES: [&str; 5] = ["queued", "sending", "sent", "dead", "cancelled"];

#[derive(Debug, Clone, Object)]
#[oai(example)]
pub struct NotificationOut {
    pub id: String,
    /// `email`, `sms` or `webhook`.
    pub channel: String,
    /// The template (`webhook` for a webhook delivery).
    pub template: String,
    pub template_version: i64,
    /// `client`, `client_rm` (the client's relationship manager), `user` (a staff member) or
    /// `subscription` (a webhook).
    pub recipient_kind: String,
    pub recipient_id: String,
    /// The event that called for it: its type and log position.
    pub event_type: String,
    pub event_position: i64,
    /// Sent whatever the person's marketing consents.
    pub transactional: bool,
    /// `queued`, `sending`, `sent`, `dead` (out of attempts or too old: an admin may retry it)
    /// or `cancelled` (never to be sent: the recipient cannot be reached or asked for erasure).
    pub status: String,
    pub attempts: i64,
    pub next_attempt_at: DateTime<Utc>,
    pub created_at: DateTime<Utc>,
    pub sent_at: Option<DateTime<Utc>>,
    pub retried_at: Option<DateTime<Utc>>,
    /// Why the last attempt failed (never the recipient's details).
    pub last_error: Option<String>,
}

impl poem_openapi::types::Example for NotificationOut {
    fn example() -> Self {
        let at = DateTime::parse_from_rfc3339("2026-12-03T10:15:00Z")
            .expect("example time")
            .with_timezone(&Utc);
        Self {
            id: "0193a7b2-4c1e-7d10-9a51-3e7f2b8c9d01".into(),
            channel: "email".into(),
            template: "kyc_verified".into(),
            template_version: 1,
            recipient_kind: "client".into(),
            recipient_id: "0193a7b0-11aa-7c3e-8f00-5d2c4b6a7e90".into(),
            event_type: "KycVerified".into(),
            event_position: 1842,
            transactional: true,
            status: "sent".into(),
            attempts: 1,
            next_attempt_at: at,
            created_at: at,
            sent_at: Some(at),
            retried_at: None,
            last_error: None,
        }
    }
}

#[derive(Debug, Clone, Object)]
#[oai(example)]
pub struct NotificationPage {
    /// Newest first.
    pub items: Vec<NotificationOut>,
    /// Pass as `cursor` for the next page; absent on the last.
    pub next_cursor: Option<String>,
}

impl poem_openapi::types::Example for NotificationPage {
    fn example() -> Self {
        Self {
            items: vec![<NotificationOut as poem_openapi::types::Example>::example()],
            next_cursor: None,
        }
    }
}

#[derive(Debug, ApiResponse)]
pub enum NotificationPageResponse {
    /// A page of the outbox.
    #[oai(status = 200)]
    Ok(Json<NotificationPage>),
}

#[derive(Debug, ApiResponse)]
pub enum NotificationResponse {
    /// The message, queued again.
    #[oai(status = 200)]
    Ok(Json<NotificationOut>),
}

/// A message template, as messages of it are written.
#[derive(Debug, Clone, Object)]
#[oai(example)]
pub struct TemplateOut {
    pub name: String,
    /// Each message records the version it was decided with.
    pub version: i64,
    /// `email` or `sms`.
    pub channel: String,
    /// The event that calls for it (`FollowUpsDue`: the daily reminder, not an event).
    pub event_type: String,
    /// `client`, `client_rm` (the client's relationship manager, about the client) or `user`
    /// (a staff member).
    pub recipient: String,
    /// For SMS: the DLT template id (TRAI) the gateway is given.
    pub dlt_template_id: Option<String>,
    /// Sent whatever the person's marketing consents; never carries marketing content.
    pub transactional: bool,
    /// The subject and the whole body, in the template language (`{{ name }}` is the
    /// recipient's name, `{{ broker }}` the sign-off, the rest the event's values).
    pub subject: String,
    pub body: String,
    /// The event's values, as an example.
    pub example_data: serde_json::Value,
}

impl TemplateOut {
    fn of(t: &projections::notifications::Template) -> Self {
        Self {
            name: t.name.into(),
            version: t.version,
            channel: t.channel.into(),
            event_type: t.event_type.into(),
            recipient: t.recipient.into(),
            transactional: t.transactional,
            dlt_template_id: Some(t.dlt_template_id.to_string()).filter(|d| !d.is_empty()),
            subject: t.subject.into(),
            body: match t.channel {
                "email" => projections::notifications::LETTER.replace("{body}", t.body),
                _ => t.body.into(),
            },
            example_data: serde_json::from_str(t.example).unwrap_or_default(),
        }
    }
}

impl poem_openapi::types::Example for TemplateOut {
    fn example() -> Self {
        Self::of(&projections::notifications::TEMPLATES[0])
    }
}

#[derive(Debug, Clone, Object)]
#[oai(example)]
pub struct TemplateList {
    pub items: Vec<TemplateOut>,
}

impl poem_openapi::types::Example for TemplateList {
    fn example() -> Self {
        Self {
            items: vec![<TemplateOut as poem_openapi::types::Example>::example()],
        }
    }
}

#[derive(Debug, ApiResponse)]
pub enum TemplateListResponse {
    /// Every template, with its text.
    #[oai(status = 200)]
    Ok(Json<TemplateList>),
}

/// What to render a template with.
#[derive(Debug, Clone, Object)]
#[oai(deny_unknown_fields, example)]
pub struct PreviewRequest {
    /// The recipient's name (default: an example name).
    pub name: Option<String>,
    /// The event's values (default: the template's example).
    pub data: Option<serde_json::Value>,
}

impl poem_openapi::types::Example for PreviewRequest {
    fn example() -> Self {
        Self {
            name: Some("Asha Rao".into()),
            data: Some(serde_json::json!({"next_rekyc_on": "2036-12-03"})),
        }
    }
}

/// A template rendered.
#[derive(Debug, Clone, Object)]
#[oai(example)]
pub struct Preview {
    pub template: String,
    pub version: i64,
    pub subject: String,
    pub body: String,
}

impl poem_openapi::types::Example for Preview {
    fn example() -> Self {
        Self {
            template: "kyc_verified".into(),
            version: 1,
            subject: "Your KYC is verified".into(),
            body: "Dear Asha Rao,\n\nYour KYC has been verified: your account is ready to trade.\n\
                   Your next periodic KYC update is due by 2036-12-03.\n\nRegards,\nClient Services\n"
                .into(),
        }
    }
}

#[derive(Debug, ApiResponse)]
pub enum PreviewResponse {
    /// The subject and body a message of the template would have.
    #[oai(status = 200)]
    Ok(Json<Preview>),
}

pub struct NotificationsApi {
    pub state: State,
}

#[OpenApi]
impl NotificationsApi {
    /// List the notification outbox
    ///
    /// Messages decided from events, newest first, with where each stands. Recipients are
    /// named by id only. Admins.
    #[oai(
        path = "/api/notifications",
        method = "get",
        tag = "NotificationTags::Notifications",
        operation_id = "listNotifications"
    )]
    #[allow(clippy::too_many_arguments)]
    async fn list(
        &self,
        req: &Request,
        auth: Auth,
        /// `queued`, `sending`, `sent`, `dead` or `cancelled`.
        status: Query<Option<String>>,
        /// `email`, `sms` or `webhook`.
        channel: Query<Option<String>>,
        /// Only messages to this recipient (a client, a staff member, a webhook subscription).
        recipient: Query<Option<Uuid>>,
        /// Only messages called for by this event type (`KycVerified`, …).
        event: Query<Option<String>>,
        /// Page size, 1 to 100 (default 50).
        limit: Query<Option<i64>>,
        /// The `next_cursor` of the previous page.
        cursor: Query<Option<String>>,
        /// Wait until the notifications projection has this log position (the messages the
        /// events up to it called for are then listed).
        min_position: Query<Option<i64>>,
    ) -> Result<NotificationPageResponse, ReadError> {
        policy::require(&auth.0, Action::NotificationsManage)?;
        let mut f = Fields::default();
        if status.0.as_deref().is_some_and(|s| !STATUSES.contains(&s)) {
            f.errors.push(FieldError::new(
                "status",
                "one of queued, sending, sent, dead, cancelled",
            ));
        }
        if channel
            .0
            .as_deref()
            .is_some_and(|c| !matches!(c, "email" | "sms" | "webhook"))
        {
            f.errors
                .push(FieldError::new("channel", "email, sms or webhook"));
        }
        if event.0.as_deref().is_some_and(|e| {
            e.is_empty() || e.len() > 64 || !e.chars().all(|c| c.is_ascii_alphanumeric())
        }) {
            f.errors.push(FieldError::new(
                "event",
                "an event type such as KycVerified",
            ));
        }
        let limit = limit.0.unwrap_or(50);
        if !(1..=100).contains(&limit) {
            f.errors.push(FieldError::new("limit", "1 to 100"));
        }
        let after = match cursor.0.as_deref().map(Uuid::parse_str) {
            Some(Err(_)) => {
                f.errors
                    .push(FieldError::new("cursor", "the next_cursor of a page"));
                None
            }
            Some(Ok(id)) => Some(id),
            None => None,
        };
        f.finish()?;
        http::wait_for_in(
            &self.state,
            projections::notifications::NAME,
            http::min_position(min_position.0, req)?,
        )
        .await?;
        let filter = projections::notifications::Filter {
            status: status.0,
            channel: channel.0,
            recipient: recipient.0,
            event_type: event.0,
            before: after,
            limit: limit + 1,
        };
        let mut items: Vec<NotificationOut> =
            projections::notifications::list(&self.state.db, &filter)
                .await
                .map_err(ApiError::internal)?
                .into_iter()
                .map(NotificationOut::from)
                .collect();
        let next_cursor = if items.len() as i64 > limit {
            items.truncate(limit as usize);
            items.last().map(|m| m.id.clone())
        } else {
            None
        };
        Ok(NotificationPageResponse::Ok(Json(NotificationPage {
            items,
            next_cursor,
        })))
    }

    /// Retry a dead notification
    ///
    /// Sends a dead letter back to the queue: it is tried again at once, with its attempts
    /// counted from zero and its maximum age from now. Only dead letters: a cancelled message
    /// (its recipient cannot be reached, or asked for erasure) is never sent. Admins.
    #[oai(
        path = "/api/notifications/:id/retry",
        method = "post",
        tag = "NotificationTags::Notifications",
        operation_id = "retryNotification"
    )]
    async fn retry(
        &self,
        auth: Auth,
        /// The message's id.
        id: Path<Uuid>,
    ) -> Result<NotificationResponse, ApiError> {
        policy::require(&auth.0, Action::NotificationsManage)?;
        match projections::notifications::retry(&self.state.db, id.0, Utc::now())
            .await
            .map_err(ApiError::internal)?
        {
            Ok(m) => {
                tracing::info!(message = %m.id, actor = %auth.0.user_id, "a dead notification was queued again");
                Ok(NotificationResponse::Ok(Json(m.into())))
            }
            Err(None) => Err(ApiError::not_found("notification")),
            Err(Some(status)) => Err(ApiError::conflict(
                "not-dead",
                format!("the notification is {status}: only a dead one is retried"),
            )),
        }
    }

    /// List the notification templates
    ///
    /// Every message template with its version, the event it answers, who it goes to and its
    /// text. Admins.
    #[oai(
        path = "/api/notifications/templates",
        method = "get",
        tag = "NotificationTags::Notifications",
        operation_id = "listNotificationTemplates"
    )]
    async fn templates(&self, auth: Auth) -> Result<TemplateListResponse, ReadError> {
        policy::require(&auth.0, Action::NotificationsManage)?;
        Ok(TemplateListResponse::Ok(Json(TemplateList {
            items: projections::notifications::TEMPLATES
                .iter()
                .map(TemplateOut::of)
                .collect(),
        })))
    }

    /// Preview a notification template
    ///
    /// The subject and body a message of the template would have, for a name and the event's
    /// values (each defaults to the template's example). Nothing is sent or recorded. A value
    /// the template shows that `data` lacks is refused (422). Admins.
    #[oai(
        path = "/api/notifications/templates/:name/preview",
        method = "post",
        tag = "NotificationTags::Notifications",
        operation_id = "previewNotificationTemplate"
    )]
    async fn preview(
        &self,
        auth: Auth,
        /// The template's name.
        name: Path<String>,
        body: Json<PreviewRequest>,
    ) -> Result<PreviewResponse, ApiError> {
        policy::require(&auth.0, Action::NotificationsManage)?;
        let Some(t) = projections::notifications::template(&name.0) else {
            return Err(ApiError::not_found("notification template"));
        };
        let mut f = Fields::default();
        let recipient = body.0.name.unwrap_or_else(|| "Asha Rao".into());
        if recipient.trim().is_empty() || recipient.chars().count() > 200 {
            f.errors
                .push(FieldError::new("name", "1 to 200 characters"));
        }
        let data = match body.0.data {
            None => serde_json::from_str(t.example).unwrap_or_default(),
            Some(d) if d.is_object() => d,
            Some(_) => {
                f.errors
                    .push(FieldError::new("data", "an object of the event's values"));
                serde_json::Value::Null
            }
        };
        f.finish()?;
        let broker = self.state.notify.broker.clone();
        let (subject, text) = super::render(t, recipient.trim(), &broker, &data)
            .map_err(|e| ApiError::field("data", format!("the template cannot be filled: {e}")))?;
        Ok(PreviewResponse::Ok(Json(Preview {
            template: t.name.into(),
            version: t.version,
            subject,
            body: text,
        })))
    }
}

impl From<projections::notifications::Message> for NotificationOut {
    fn from(m: projections::notifications::Message) -> Self {
        Self {
            id: m.id,
            channel: m.channel,
            template: m.template,
            template_version: m.template_version,
            recipient_kind: m.recipient_kind,
            recipient_id: m.recipient_id,
            event_type: m.event_type,
            event_position: m.event_position,
            transactional: m.transactional,
            status: m.status,
            attempts: m.attempts,
            next_attempt_at: m.next_attempt_at,
            created_at: m.created_at,
            sent_at: m.sent_at,
            retried_at: m.retried_at,
            last_error: m.last_error,
        }
    }
}
