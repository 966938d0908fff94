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
}
