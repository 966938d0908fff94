//! The marketing audience: who may be contacted on a channel now. Campaign tools read it just
//! before they send, so a withdrawn consent or an erasure request stops marketing at once.

use poem::Request;
use poem_openapi::param::Query;
use poem_openapi::payload::Json;
use poem_openapi::{ApiResponse, Enum, Object, OpenApi, Tags};
use uuid::Uuid;

use crate::auth::Auth;
use crate::dto::MarketingChannel;
use crate::http::{self, State};
use crate::policy::{self, Action};
use crate::problem::{ApiError, ReadError};

#[derive(Tags)]
pub enum MarketingTags {
    /// Marketing: who may be contacted, by consent.
    Marketing,
}

/// What kind of record a recipient is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
#[oai(rename_all = "snake_case")]
pub enum RecipientKind {
    Lead,
    Client,
}

/// A person marketing may contact on the channel asked about.
#[derive(Debug, Clone, Object)]
pub struct Recipient {
    pub kind: RecipientKind,
    pub id: Uuid,
    pub name: String,
    /// The e-mail address for `email`, the mobile number for the other channels.
    pub contact: String,
}

/// A page of the audience.
#[derive(Debug, Clone, Object)]
#[oai(example)]
pub struct Audience {
    pub items: Vec<Recipient>,
    /// Pass back as `cursor` for the next page; absent on the last page.
    pub next_cursor: Option<String>,
    pub total: i64,
}

impl poem_openapi::types::Example for Audience {
    fn example() -> Self {
        Self {
            items: vec![Recipient {
                kind: RecipientKind::Client,
                id: Uuid::from_u128(0x0193_5e2a_41c7_7b3e_9a10_44d2_6f8e_5c01),
                name: "Asha Rao".into(),
                contact: "+919876543210".into(),
            }],
            next_cursor: None,
            total: 1,
        }
    }
}

/// A marketing message to everyone in the audience of its channel.
#[derive(Debug, Clone, Object)]
#[oai(deny_unknown_fields, example)]
pub struct CampaignRequest {
    /// `email` or `sms`.
    pub channel: String,
    /// The e-mail's subject (e-mail only), 1 to 150 characters.
    pub headline: Option<String>,
    /// What it says: up to 2000 characters by e-mail, 300 by SMS. No personal data: it goes
    /// the same to everyone.
    pub message: String,
    /// For SMS: the id the message's text is registered under on the DLT platform (TRAI).
    pub dlt_template_id: Option<String>,
}

impl poem_openapi::types::Example for CampaignRequest {
    fn example() -> Self {
        Self {
            channel: "email".into(),
            headline: Some("New: NIFTY 50 index fund SIPs from Rs 500".into()),
            message: "Start a monthly SIP in our NIFTY 50 index fund from Rs 500.".into(),
            dlt_template_id: None,
        }
    }
}

#[derive(Debug, Clone, Object)]
#[oai(example)]
pub struct CampaignQueued {
    pub campaign_id: Uuid,
    /// Messages queued: one per person who consents to the channel, within what the caller
    /// may see.
    pub queued: i64,
    /// When they go out (SMS: after the quiet hours, `CRM_SMS_QUIET_HOURS`, by default 21:00
    /// to 09:00 Indian time).
    pub not_before: chrono::DateTime<chrono::Utc>,
}

impl poem_openapi::types::Example for CampaignQueued {
    fn example() -> Self {
        Self {
            campaign_id: Uuid::from_u128(0x0193_5e2a_41c7_7b3e_9a10_44d2_6f8e_5c02),
            queued: 312,
            not_before: chrono::DateTime::parse_from_rfc3339("2026-12-03T10:15:00Z")
                .expect("example time")
                .with_timezone(&chrono::Utc),
        }
    }
}

#[derive(Debug, ApiResponse)]
pub enum CampaignResponse {
    /// Queued in the notification outbox (`GET /api/notifications?event=CampaignSent`).
    #[oai(status = 202)]
    Accepted(Json<CampaignQueued>),
}

#[derive(Debug, ApiResponse)]
pub enum AudienceResponse {
    /// One page of people who consented to the channel and may be contacted.
    #[oai(status = 200)]
    Ok(Json<Audience>),
}

pub struct MarketingApi {
    pub state: State,
}

#[OpenApi]
impl MarketingApi {
    /// Who marketing may contact on a channel
    ///
    /// Leads and clients who gave consent for the channel and have an address for it, leaving
    /// out anyone who withdrew it, asked for erasure or was erased, archived and converted leads
    /// (the client record speaks for the person). Within what the caller may see. Read it just
    /// before sending: pass the `position` of a consent change as `min_position` to be sure it
    /// is applied.
    #[oai(
        path = "/api/marketing/audience",
        method = "get",
        tag = "MarketingTags::Marketing",
        operation_id = "listMarketingAudience"
    )]
    async fn audience(
        &self,
        req: &Request,
        auth: Auth,
        channel: Query<MarketingChannel>,
        /// 1 to 1000; default 200.
        limit: Query<Option<i64>>,
        cursor: Query<Option<String>>,
        /// Wait until the read models have this log position.
        min_position: Query<Option<i64>>,
    ) -> Result<AudienceResponse, ReadError> {
        policy::require(&auth.0, Action::MarketingAudience)?;
        let limit = match limit.0 {
            None => 200,
            Some(n) if (1..=1000).contains(&n) => n,
            Some(_) => return Err(ApiError::field("limit", "must be 1 to 1000").into()),
        };
        let wait = http::min_position(min_position.0, req)?;
        http::wait_for_in(&self.state, projections::leads::NAME, wait).await?;
        http::wait_for_in(&self.state, projections::clients::NAME, wait).await?;
        let leads = policy::scope(&self.state, &auth.0).await?;
        let page = projections::marketing::audience(
            &self.state.db,
            &self.state.keyring,
            channel.0.into(),
            &leads,
            &policy::client_scope(&auth.0),
            limit,
            cursor.0.as_deref(),
        )
        .await
        .map_err(|e| match e {
            projections::leads::query::QueryError::BadCursor => {
                ApiError::field("cursor", e.to_string())
            }
            other => ApiError::internal(other),
        })?;
        Ok(AudienceResponse::Ok(Json(Audience {
            items: page
                .items
                .into_iter()
                .map(|r| Recipient {
                    kind: if r.kind == "client" {
                        RecipientKind::Client
                    } else {
                        RecipientKind::Lead
                    },
                    id: r.id,
                    name: r.name,
                    contact: r.contact,
                })
                .collect(),
            next_cursor: page.next_cursor,
            total: page.total,
        })))
    }

    /// Send a marketing message
    ///
    /// Queues the message to everyone in the channel's audience the caller may see (consent
    /// given and not withdrawn, no erasure asked). Consent is checked again when each message
    /// goes: a withdrawal or an erasure request cancels what still waits. SMS wait out the
    /// quiet hours (`CRM_SMS_QUIET_HOURS`, by default 21:00 to 09:00 Indian time). Nothing
    /// personal is in the text: it is the same for everyone.
    #[oai(
        path = "/api/marketing/messages",
        method = "post",
        tag = "MarketingTags::Marketing",
        operation_id = "sendMarketingMessage"
    )]
    async fn send(
        &self,
        auth: Auth,
        body: Json<CampaignRequest>,
    ) -> Result<CampaignResponse, ApiError> {
        policy::require(&auth.0, Action::MarketingAudience)?;
        let r = body.0;
        let mut f = http::Fields::default();
        let (channel, template, max) = match r.channel.as_str() {
            "email" => (
                domain::lead::MarketingChannel::Email,
                "campaign_email",
                2000,
            ),
            "sms" => (domain::lead::MarketingChannel::Sms, "campaign_sms", 300),
            _ => {
                f.errors
                    .push(crate::problem::FieldError::new("channel", "email or sms"));
                (
                    domain::lead::MarketingChannel::Email,
                    "campaign_email",
                    2000,
                )
            }
        };
        let message = r.message.trim().to_string();
        if message.is_empty() || message.chars().count() > max || message.contains(['{', '}']) {
            f.errors.push(crate::problem::FieldError::new(
                "message",
                format!("1 to {max} characters, without braces"),
            ));
        }
        let headline = r.headline.as_deref().map(str::trim).unwrap_or_default();
        let dlt = r
            .dlt_template_id
            .as_deref()
            .map(str::trim)
            .unwrap_or_default();
        if r.channel == "email"
            && (headline.is_empty()
                || headline.chars().count() > 150
                || headline.contains(['{', '}', '\r', '\n']))
        {
            f.errors.push(crate::problem::FieldError::new(
                "headline",
                "the e-mail's subject: 1 to 150 characters on one line",
            ));
        }
        if r.channel == "sms"
            && (!(1..=30).contains(&dlt.len()) || !dlt.chars().all(|c| c.is_ascii_digit()))
        {
            f.errors.push(crate::problem::FieldError::new(
                "dlt_template_id",
                "the DLT template id the text is registered under (digits)",
            ));
        }
        f.finish()?;
        let Some(t) = projections::notifications::template(template) else {
            return Err(ApiError::internal("the campaign template is missing"));
        };
        // Everyone in the audience the caller may see, by id only.
        let leads = policy::scope(&self.state, &auth.0).await?;
        let clients = policy::client_scope(&auth.0);
        let recipients =
            projections::marketing::audience_ids(&self.state.db, channel, &leads, &clients)
                .await
                .map_err(ApiError::internal)?;
        let campaign = Uuid::now_v7();
        let now = chrono::Utc::now();
        let not_before = match channel {
            domain::lead::MarketingChannel::Sms => {
                let quiet = self.state.notify.sms_quiet_hours;
                quiet.and_then(|q| q.until(now)).unwrap_or(now)
            }
            _ => now,
        };
        let data = serde_json::json!({
            "headline": headline,
            "message": message,
            "dlt_template_id": dlt,
        });
        let queued = projections::notifications::queue_campaign(
            &self.state.db,
            t,
            campaign,
            &recipients,
            &data,
            not_before,
        )
        .await
        .map_err(ApiError::internal)?;
        tracing::info!(campaign = %campaign, queued, actor = %auth.0.user_id, "a marketing message was queued");
        Ok(CampaignResponse::Accepted(Json(CampaignQueued {
            campaign_id: campaign,
            queued: queued as i64,
            not_before,
        })))
    }
}
