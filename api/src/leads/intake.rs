//! Web-form intake: the keys the broker's web forms and campaign partners capture leads with
//! (issued, listed and revoked by admins), and the public capture endpoint they call, so that
//! a website never holds a staff token.

use poem_openapi::auth::ApiKey;
use poem_openapi::{Object, SecurityScheme};

use super::*;

/// A capture key (`ck_…`) in the `X-Capture-Key` header: it may only capture leads.
#[derive(SecurityScheme)]
#[oai(
    ty = "api_key",
    key_name = "X-Capture-Key",
    key_in = "header",
    checker = "presented",
    rename = "captureKey"
)]
pub struct CaptureKeyAuth(String);

async fn presented(_req: &Request, key: ApiKey) -> Option<String> {
    Some(key.key)
}

/// A key to issue.
#[derive(Debug, Clone, Object)]
#[oai(example, deny_unknown_fields)]
pub struct NewCaptureKey {
    /// The form or partner it is for.
    pub name: Str,
    /// The source its leads are captured under.
    pub source: LeadSource,
    /// The campaign its leads carry (as their `source_detail`).
    pub campaign: Option<Str>,
}

impl poem_openapi::types::Example for NewCaptureKey {
    fn example() -> Self {
        Self {
            name: "Website: open an account".into(),
            source: LeadSource::Website,
            campaign: Some("diwali-2026".into()),
        }
    }
}

/// A key just issued. `key` is shown this once: only its digest is kept.
#[derive(Debug, Clone, Object)]
#[oai(example)]
pub struct IssuedCaptureKey {
    pub id: Uuid,
    /// Send it as the `X-Capture-Key` header of `POST /api/public/leads`.
    pub key: String,
    pub position: i64,
}

impl poem_openapi::types::Example for IssuedCaptureKey {
    fn example() -> Self {
        Self {
            id: Uuid::from_u128(0x0193_d2f1_0a4b_7c5d_8e6f_7a8b_9c0d_1e2f),
            key: "ck_0193d2f10a4b7c5d8e6f7a8b9c0d1e2f_4f1c9a7be2d84c3f9a6e0b5d7c2f8e1a9b3d6c0e4f7a2b5c8d1e4f7a0b3c6d9e2f".into(),
            position: 5120,
        }
    }
}

/// A capture key as listed (never its secret).
#[derive(Debug, Clone, Object)]
pub struct CaptureKeyOut {
    pub id: Uuid,
    pub name: String,
    pub source: String,
    pub campaign: Option<String>,
    pub issued_at: DateTime<Utc>,
    pub issued_by: String,
    /// Set once revoked: the key captures nothing since.
    pub revoked_at: Option<DateTime<Utc>>,
    pub revoked_by: Option<String>,
    pub revoke_reason: Option<String>,
}

/// Every capture key, newest first.
#[derive(Debug, Clone, Object)]
#[oai(example)]
pub struct CaptureKeyList {
    pub items: Vec<CaptureKeyOut>,
}

impl poem_openapi::types::Example for CaptureKeyList {
    fn example() -> Self {
        let at = DateTime::parse_from_rfc3339("2026-11-30T10:00:00Z")
            .expect("valid")
            .with_timezone(&Utc);
        Self {
            items: vec![CaptureKeyOut {
                id: Uuid::from_u128(0x0193_d2f1_0a4b_7c5d_8e6f_7a8b_9c0d_1e2f),
                name: "Website: open an account".into(),
                source: "website".into(),
                campaign: Some("diwali-2026".into()),
                issued_at: at,
                issued_by: "0193a1b2-7c4d-7e5f-8a90-b1c2d3e4f501".into(),
                revoked_at: None,
                revoked_by: None,
                revoke_reason: None,
            }],
        }
    }
}

/// A prospect as a web form sends them. At least one of `email` or `phone`.
#[derive(Debug, Clone, Object)]
#[oai(example, deny_unknown_fields)]
pub struct WebFormLead {
    pub name: Str,
    pub email: Option<Str>,
    /// An Indian mobile number in any common form.
    pub phone: Option<Str>,
    /// Products asked about (short tags such as `equity`, `mutual_funds`).
    #[oai(default)]
    pub product_interest: Vec<Str>,
    pub preferred_contact_method: Option<ContactMethod>,
    pub preferred_contact_time: Option<Str>,
    /// The message the prospect typed.
    pub notes: Option<Str>,
    /// How much the prospect means to invest (INR band); counts in the lead's score.
    pub investment_capacity: Option<W<domain::lead::InvestmentCapacity>>,
}

impl poem_openapi::types::Example for WebFormLead {
    fn example() -> Self {
        Self {
            name: "Asha Rao".into(),
            email: Some("asha.rao@example.in".into()),
            phone: Some("98765 43210".into()),
            product_interest: vec!["mutual_funds".into()],
            preferred_contact_method: Some(ContactMethod::Phone),
            preferred_contact_time: Some("weekday evenings".into()),
            notes: Some("Please call about SIPs".into()),
            investment_capacity: Some(W(domain::lead::InvestmentCapacity::Lakh1To5)),
        }
    }
}

/// What a web form hears back: the same whether or not the person was on file already.
#[derive(Debug, Clone, Object)]
#[oai(example)]
pub struct Received {
    pub received: bool,
}

impl poem_openapi::types::Example for Received {
    fn example() -> Self {
        Self { received: true }
    }
}

#[derive(Debug, ApiResponse)]
pub enum IssuedResponse {
    /// Issued; the key is in the answer this once.
    #[oai(status = 201)]
    Created(Json<IssuedCaptureKey>),
}

#[derive(Debug, ApiResponse)]
pub enum KeyListResponse {
    /// Every key.
    #[oai(status = 200)]
    Ok(Json<CaptureKeyList>),
}

#[derive(Debug, ApiResponse)]
pub enum ReceivedResponse {
    /// Received.
    #[oai(status = 202)]
    Accepted(Json<Received>),
}

pub struct IntakeApi {
    pub state: State,
}

impl IntakeApi {
    /// The per-address limit of public capture (checked before the key is looked at, so that
    /// guessing keys is limited too): 429 with `Retry-After` past it.
    fn limit_address(&self, req: &Request) -> Result<(), ApiError> {
        use governor::clock::Clock;
        let now = governor::clock::DefaultClock::default().now();
        if let Some(ip) = req.remote_addr().as_socket_addr().map(|a| a.ip()) {
            if let Err(not_until) = self.state.intake_address_limiter.check_key(&ip) {
                return Err(ApiError::too_many(
                    "too many captures from this address; try again shortly",
                    not_until.wait_time_from(now).as_secs() + 1,
                ));
            }
        }
        Ok(())
    }

    /// The per-key limit of public capture.
    fn limit_key(&self, key_id: Uuid) -> Result<(), ApiError> {
        use governor::clock::Clock;
        let now = governor::clock::DefaultClock::default().now();
        if let Err(not_until) = self.state.intake_key_limiter.check_key(&key_id) {
            return Err(ApiError::too_many(
                "too many captures with this key; try again shortly",
                not_until.wait_time_from(now).as_secs() + 1,
            ));
        }
        Ok(())
    }
}

#[OpenApi]
impl IntakeApi {
    /// Issue a capture key
    ///
    /// A key for one web form or campaign partner: its captures get the key's source and
    /// campaign. The key is in the answer this once (only its sha256 is kept); it may only
    /// capture leads (`POST /api/public/leads`). Admins.
    #[oai(
        path = "/api/capture-keys",
        method = "post",
        tag = "ApiTags::Intake",
        operation_id = "issueCaptureKey"
    )]
    async fn issue(
        &self,
        req: &Request,
        auth: Auth,
        body: Json<NewCaptureKey>,
    ) -> Result<IssuedResponse, ApiError> {
        use domain::capture_key::{KeyTerms, CAMPAIGN_MAX, NAME_MAX};
        policy::require(&auth.0, Action::CaptureKeyManage)?;
        let mut f = Fields::default();
        let name = f.opt("name", Some(&body.0.name.0), |s| Text::parse(s, NAME_MAX));
        let campaign = f.opt("campaign", body.0.campaign.as_deref(), |s| {
            Text::parse(s, CAMPAIGN_MAX)
        });
        f.finish()?;
        let name = name.ok_or_else(|| ApiError::bad_request("name"))?;
        let terms = KeyTerms {
            name,
            source: body.0.source.into(),
            campaign,
        };
        let issued = commands::capture_keys::issue(&self.state.write, terms, &http::metadata(req))
            .await
            .map_err(ApiError::internal)?;
        Ok(IssuedResponse::Created(Json(IssuedCaptureKey {
            id: issued.key_id,
            key: issued.key,
            position: issued.committed.position,
        })))
    }

    /// List capture keys
    ///
    /// Every key with what it stands for, who issued it and whether it was revoked (never its
    /// secret). Admins.
    #[oai(
        path = "/api/capture-keys",
        method = "get",
        tag = "ApiTags::Intake",
        operation_id = "listCaptureKeys"
    )]
    async fn list(
        &self,
        req: &Request,
        auth: Auth,
        /// Wait until the read model has this log position (read your own writes).
        min_position: Query<Option<i64>>,
    ) -> Result<KeyListResponse, ReadError> {
        policy::require(&auth.0, Action::CaptureKeyManage)?;
        http::wait_for_in(
            &self.state,
            projections::capture_keys::NAME,
            http::min_position(min_position.0, req)?,
        )
        .await?;
        let rows = projections::capture_keys::list(&self.state.db)
            .await
            .map_err(ApiError::internal)?;
        Ok(KeyListResponse::Ok(Json(CaptureKeyList {
            items: rows
                .into_iter()
                .map(|r| CaptureKeyOut {
                    id: Uuid::parse_str(&r.key_id).unwrap_or_default(),
                    name: r.name,
                    source: r.source,
                    campaign: r.campaign,
                    issued_at: r.issued_at,
                    issued_by: r.issued_by,
                    revoked_at: r.revoked_at,
                    revoked_by: r.revoked_by,
                    revoke_reason: r.revoke_reason,
                })
                .collect(),
        })))
    }

    /// Revoke a capture key
    ///
    /// The key captures nothing from now on, in every server at once. Admins.
    #[oai(
        path = "/api/capture-keys/:id",
        method = "delete",
        tag = "ApiTags::Intake",
        operation_id = "revokeCaptureKey"
    )]
    async fn revoke(
        &self,
        req: &Request,
        auth: Auth,
        /// The key's id.
        id: Path<Uuid>,
        /// Why it is revoked.
        reason: Query<Option<String>>,
    ) -> Result<DoneResponse, ApiError> {
        policy::require(&auth.0, Action::CaptureKeyManage)?;
        let mut f = Fields::default();
        let reason = f.opt("reason", reason.0.as_deref(), |s| Text::parse(s, 500));
        f.finish()?;
        let done =
            commands::capture_keys::revoke(&self.state.write, id.0, reason, &http::metadata(req))
                .await
                .map_err(|e| match e {
                    commands::CommandError::Rejected(
                        domain::capture_key::CaptureKeyError::NotFound,
                    ) => ApiError::not_found("capture key"),
                    commands::CommandError::Rejected(e) => {
                        ApiError::conflict("capture-key-revoked", e.to_string())
                    }
                    other => ApiError::internal(other),
                })?;
        Ok(DoneResponse::Done(accepted(id.0, &done)))
    }

    /// Capture a lead from a web form
    ///
    /// For the broker's web forms and campaign partners, with a capture key in `X-Capture-Key`
    /// (no staff token). The lead gets the key's source and campaign, channel `web_form`, and
    /// waits unassigned for a manager. The answer is the same whether or not the person was on
    /// file already (a known person is not captured twice, and a public form must not tell who
    /// is a prospect). Limited per key and per address (429).
    #[oai(
        path = "/api/public/leads",
        method = "post",
        tag = "ApiTags::Intake",
        operation_id = "captureWebFormLead"
    )]
    async fn capture(
        &self,
        req: &Request,
        key: CaptureKeyAuth,
        body: Json<WebFormLead>,
    ) -> Result<ReceivedResponse, ApiError> {
        self.limit_address(req)?;
        let Some((key_id, terms)) = commands::capture_keys::recognise(&self.state.write, &key.0)
            .await
            .map_err(ApiError::internal)?
        else {
            return Err(ApiError::unauthorized(
                "not a capture key, or a revoked one",
            ));
        };
        self.limit_key(key_id)?;
        let b = body.0;
        let details = LeadsApi::details(&LeadDetailsReplace {
            name: b.name,
            email: b.email,
            phone: b.phone,
            source: terms.source.into(),
            source_detail: None,
            product_interest: b.product_interest,
            preferred_contact_method: b.preferred_contact_method,
            preferred_contact_time: b.preferred_contact_time,
            notes: b.notes,
            investment_capacity: b.investment_capacity,
        })?;
        let mut meta = http::metadata(req);
        meta.actor_id = format!("capture_key:{key_id}");
        meta.actor_role = "capture_key".into();
        commands::capture_keys::capture(&self.state.write, &terms, details, &meta).await?;
        Ok(ReceivedResponse::Accepted(Json(Received {
            received: true,
        })))
    }
}
