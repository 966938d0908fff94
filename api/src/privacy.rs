//! Data-protection endpoints: erasure requests, legal holds, marketing consent and the
//! data-subject access export. A data subject is a lead (clients follow with their issue).

use chrono::{DateTime, Utc};
use commands::privacy::erasure::{self, Erasure};
use domain::lead::LeadCommand;
use domain::values::Text;
use poem::Request;
use poem_openapi::param::{Path, Query};
use poem_openapi::payload::Json;
use poem_openapi::{ApiResponse, Enum, Object, OpenApi, Tags};
use uuid::Uuid;

use crate::auth::{Auth, Principal};
use crate::dto::{HistoryEntry, LeadOut, MarketingChannel, Str};
use crate::http::{self, lead_error, DoneResponse, Fields, State};
use crate::leads::history_entries;
use crate::policy::{self, Action};
use crate::problem::{ApiError, FieldError, ReadError};

#[derive(Tags)]
pub enum PrivacyTags {
    /// Data protection: erasure, legal holds, consent, data-subject access.
    Privacy,
}

#[derive(Debug, Clone, Object)]
#[oai(example, deny_unknown_fields)]
pub struct ErasureRequest {
    /// What the person said, if anything (kept sealed with their data).
    pub reason: Option<Str>,
}

impl poem_openapi::types::Example for ErasureRequest {
    fn example() -> Self {
        Self {
            reason: Some("Asked by e-mail to delete my details".into()),
        }
    }
}

#[derive(Debug, Clone, Object)]
#[oai(example, deny_unknown_fields)]
pub struct LegalHoldRequest {
    /// Why the records must be kept (an inquiry, a dispute); readable after an erasure.
    pub reason: Str,
}

impl poem_openapi::types::Example for LegalHoldRequest {
    fn example() -> Self {
        Self {
            reason: "SEBI inquiry ref. 2026/114".into(),
        }
    }
}

#[derive(Debug, Clone, Object)]
#[oai(example, deny_unknown_fields)]
pub struct ConsentChange {
    pub channel: MarketingChannel,
    /// `true` gives consent, `false` withdraws it (at once).
    pub granted: bool,
}

impl poem_openapi::types::Example for ConsentChange {
    fn example() -> Self {
        Self {
            channel: MarketingChannel::Sms,
            granted: false,
        }
    }
}

/// Where an erasure stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
#[oai(rename_all = "snake_case")]
pub enum ErasureState {
    /// The key is destroyed: the personal data is unreadable everywhere.
    Erased,
    /// Recorded; processing is restricted and the shred waits for `blocked_by`.
    Restricted,
}

#[derive(Debug, Clone, Object)]
#[oai(example)]
pub struct ErasureOutcome {
    pub id: Uuid,
    pub state: ErasureState,
    /// What delays the shred (a legal hold, or the retention period of a client's records).
    pub blocked_by: Option<String>,
    pub position: i64,
}

/// Everything held about a person, for handing over to them.
#[derive(Debug, Clone, Object)]
#[oai(example)]
pub struct SubjectExport {
    pub subject_id: Uuid,
    pub exported_at: DateTime<Utc>,
    /// The profile with its pipeline history, assignments, follow-ups, interactions,
    /// consents and privacy state.
    pub profile: LeadOut,
    /// Every recorded change, with who made it and when.
    pub history: Vec<HistoryEntry>,
    /// Documents held (KYC documents arrive with the KYC case; none for a lead).
    pub documents: Vec<String>,
    /// Who was shown this person's data, and when (profile reads, history, exports).
    pub accessed_by: Vec<AccessRecord>,
}

/// One time someone was shown the person's data.
#[derive(Debug, Clone, Object)]
pub struct AccessRecord {
    pub at: DateTime<Utc>,
    pub actor_id: String,
    pub actor_role: String,
    /// What was read: `PiiViewed` (profile, history, as-of) or `SubjectDataExported`.
    pub event_type: String,
    pub request_id: String,
}

#[derive(Debug, ApiResponse)]
pub enum ErasureResponse {
    /// Erased, or recorded and restricted until what blocks it ends.
    #[oai(status = 200)]
    Ok(Json<ErasureOutcome>),
}

#[derive(Debug, ApiResponse)]
pub enum ExportResponse {
    /// Everything held about the person; the export itself is recorded.
    #[oai(status = 200)]
    Ok(Json<SubjectExport>),
}

pub struct PrivacyApi {
    pub state: State,
}

impl PrivacyApi {
    async fn run(
        &self,
        p: &Principal,
        action: Action,
        id: Uuid,
        command: LeadCommand,
        req: &Request,
    ) -> Result<i64, ApiError> {
        http::run_lead_command(&self.state, p, action, id, command, req).await
    }

    /// Shreds now if nothing blocks it; otherwise says what does.
    async fn settle(
        &self,
        id: Uuid,
        position: i64,
        req: &Request,
    ) -> Result<ErasureOutcome, ApiError> {
        let meta = http::metadata(req);
        let outcome = erasure::erase_if_allowed(
            &self.state.leads,
            &self.state.keyring,
            &id.to_string(),
            &meta,
        )
        .await
        .map_err(|e| lead_error(&self.state, e))?;
        Ok(match outcome {
            Erasure::Erased { position } => ErasureOutcome {
                id,
                state: ErasureState::Erased,
                blocked_by: None,
                position,
            },
            Erasure::Blocked { reason } => ErasureOutcome {
                id,
                state: ErasureState::Restricted,
                blocked_by: Some(reason.to_string()),
                position,
            },
        })
    }
}

fn reason(f: &mut Fields, field: &str, raw: Option<&str>) -> Option<Text> {
    f.opt(field, raw, |s| Text::parse(s, 1000))
}

#[OpenApi]
impl PrivacyApi {
    /// Request erasure of a person's data
    ///
    /// Records the request and restricts processing at once (no more sales changes, consents
    /// withdrawn). A lead that never became a client has no record-keeping duty: unless a legal
    /// hold stands, its key is destroyed now and its personal data reads as erased everywhere,
    /// while the event log and its hashes stay intact. A client's records are kept until the
    /// retention period ends. Repeating the request changes nothing more.
    #[oai(
        path = "/api/privacy/subjects/:id/erasure",
        method = "post",
        tag = "PrivacyTags::Privacy"
    )]
    async fn request_erasure(
        &self,
        req: &Request,
        auth: Auth,
        /// The data subject (a lead's id).
        id: Path<Uuid>,
        body: Json<ErasureRequest>,
    ) -> Result<ErasureResponse, ApiError> {
        let mut f = Fields::default();
        let reason = reason(&mut f, "reason", body.0.reason.as_deref());
        f.finish()?;
        let position = self
            .run(
                &auth.0,
                Action::ErasureRequest,
                id.0,
                LeadCommand::RequestErasure { reason },
                req,
            )
            .await?;
        Ok(ErasureResponse::Ok(Json(
            self.settle(id.0, position, req).await?,
        )))
    }

    /// Place a legal hold
    ///
    /// Nothing about the person is shredded while the hold stands (compliance officers).
    #[oai(
        path = "/api/privacy/subjects/:id/legal-hold",
        method = "post",
        tag = "PrivacyTags::Privacy"
    )]
    async fn place_hold(
        &self,
        req: &Request,
        auth: Auth,
        /// The data subject (a lead's id).
        id: Path<Uuid>,
        body: Json<LegalHoldRequest>,
        /// Makes the command safe to retry: a repeat gets the first answer, changing nothing.
        #[oai(name = "Idempotency-Key")]
        key: poem_openapi::param::Header<Option<String>>,
    ) -> Result<DoneResponse, ApiError> {
        let fingerprint = serde_json::Value::String(format!("{:?}", body.0));
        http::idempotent(&self.state, key.0, req, fingerprint, || async {
            let mut f = Fields::default();
            let reason = reason(&mut f, "reason", Some(&body.0.reason));
            f.finish()?;
            let reason = reason.ok_or_else(|| ApiError::bad_request("reason"))?;
            let position = self
                .run(
                    &auth.0,
                    Action::LegalHold,
                    id.0,
                    LeadCommand::PlaceLegalHold { reason },
                    req,
                )
                .await?;
            Ok(DoneResponse::Done(Json(crate::dto::Accepted {
                id: id.0,
                position,
                client_id: None,
            })))
        })
        .await
    }

    /// Lift a legal hold
    ///
    /// When erasure was asked for and nothing else blocks it, the shred happens now.
    #[oai(
        path = "/api/privacy/subjects/:id/legal-hold",
        method = "delete",
        tag = "PrivacyTags::Privacy"
    )]
    async fn lift_hold(
        &self,
        req: &Request,
        auth: Auth,
        /// The data subject (a lead's id).
        id: Path<Uuid>,
        /// Why the hold ends.
        reason: Query<Option<String>>,
    ) -> Result<ErasureResponse, ApiError> {
        let mut f = Fields::default();
        let reason = self::reason(&mut f, "reason", reason.0.as_deref());
        if reason.is_none() && !f.errors.iter().any(|e| e.field == "reason") {
            // Ending a hold (which can let a pending shred go ahead) is explained, as placing
            // one is.
            f.errors.push(FieldError::new(
                "reason",
                "say why the hold ends (?reason=…)",
            ));
        }
        f.finish()?;
        let position = self
            .run(
                &auth.0,
                Action::LegalHold,
                id.0,
                LeadCommand::LiftLegalHold { reason },
                req,
            )
            .await?;
        let (lead, _) = self
            .state
            .leads
            .load(&id.0.to_string())
            .await
            .map_err(|e| lead_error(&self.state, e))?;
        if !lead.erasure_due() {
            return Ok(ErasureResponse::Ok(Json(ErasureOutcome {
                id: id.0,
                state: ErasureState::Restricted,
                blocked_by: Some("no erasure is due".into()),
                position,
            })));
        }
        Ok(ErasureResponse::Ok(Json(
            self.settle(id.0, position, req).await?,
        )))
    }

    /// Give or withdraw marketing consent
    ///
    /// Per channel; a withdrawal takes effect at once.
    #[oai(
        path = "/api/privacy/subjects/:id/consent",
        method = "post",
        tag = "PrivacyTags::Privacy"
    )]
    async fn consent(
        &self,
        req: &Request,
        auth: Auth,
        /// The data subject (a lead's id).
        id: Path<Uuid>,
        body: Json<ConsentChange>,
        /// Makes the command safe to retry: a repeat gets the first answer, changing nothing.
        #[oai(name = "Idempotency-Key")]
        key: poem_openapi::param::Header<Option<String>>,
    ) -> Result<DoneResponse, ApiError> {
        let fingerprint = serde_json::Value::String(format!("{:?}", body.0));
        http::idempotent(&self.state, key.0, req, fingerprint, || async {
            let command = LeadCommand::SetMarketingConsent {
                channel: body.0.channel.into(),
                granted: body.0.granted,
            };
            let position = self
                .run(&auth.0, Action::ConsentManage, id.0, command, req)
                .await?;
            Ok(DoneResponse::Done(Json(crate::dto::Accepted {
                id: id.0,
                position,
                client_id: None,
            })))
        })
        .await
    }

    /// Export everything held about a person
    ///
    /// For compliance officers to hand over on a data-subject access request: the profile,
    /// every recorded change with who made it, consents and privacy state. The export itself is
    /// recorded on the person's history.
    #[oai(
        path = "/api/privacy/subjects/:id/export",
        method = "get",
        tag = "PrivacyTags::Privacy"
    )]
    async fn export(
        &self,
        req: &Request,
        auth: Auth,
        /// The data subject (a lead's id).
        id: Path<Uuid>,
    ) -> Result<ExportResponse, ReadError> {
        policy::require(&auth.0, Action::SubjectExport)?;
        let meta = http::metadata(req);
        let done = self
            .state
            .leads
            .execute(&id.0.to_string(), LeadCommand::RecordExport, &meta, None)
            .await
            .map_err(|e| lead_error(&self.state, e))?;
        http::wait_for(&self.state, Some(done.position)).await?;
        let view = projections::leads::query::get(&self.state.db, &self.state.keyring, id.0)
            .await
            .map_err(ApiError::internal)?
            .ok_or_else(|| ApiError::not_found("lead"))?;
        let (history, _) = history_entries(&self.state, id.0).await?;
        // Who was shown the person's data: every access record up to this export.
        http::wait_for_in(&self.state, projections::history::NAME, Some(done.position)).await?;
        let rows = projections::history::query(
            &self.state.db,
            &projections::history::HistoryFilter {
                subject_id: Some(id.0.to_string()),
                limit: 10_000,
                ..Default::default()
            },
        )
        .await
        .map_err(ApiError::internal)?;
        let accessed_by = rows
            .into_iter()
            .filter(|r| r.event_type == "PiiViewed" || r.event_type == "SubjectDataExported")
            .map(|r| AccessRecord {
                at: r.recorded_at,
                actor_id: r.actor_id,
                actor_role: r.actor_role,
                event_type: r.event_type,
                request_id: r.request_id,
            })
            .collect();
        if history.is_empty() {
            return Err(ApiError::validation(vec![FieldError::new("id", "no history")]).into());
        }
        Ok(ExportResponse::Ok(Json(SubjectExport {
            subject_id: id.0,
            exported_at: Utc::now(),
            profile: (&view).into(),
            history,
            documents: Vec::new(),
            accessed_by,
        })))
    }
}

impl poem_openapi::types::Example for ErasureOutcome {
    fn example() -> Self {
        Self {
            id: Uuid::from_u128(0x0193_5e2a_41c7_7b3e_9a10_44d2_6f8e_5b21),
            state: ErasureState::Restricted,
            blocked_by: Some("the records of a client are kept for the retention period".into()),
            position: 57,
        }
    }
}

impl poem_openapi::types::Example for SubjectExport {
    fn example() -> Self {
        let history = crate::dto::History::example().items;
        Self {
            subject_id: Uuid::from_u128(0x0193_5e2a_41c7_7b3e_9a10_44d2_6f8e_5b21),
            exported_at: history[0].recorded_at,
            profile: LeadOut::example(),
            history,
            documents: Vec::new(),
            accessed_by: vec![AccessRecord {
                at: chrono::DateTime::parse_from_rfc3339("2026-11-30T11:00:00Z")
                    .expect("valid")
                    .with_timezone(&Utc),
                actor_id: "0193a1b2-7c4d-7e5f-8a90-b1c2d3e4f507".into(),
                actor_role: "compliance_officer".into(),
                event_type: "PiiViewed".into(),
                request_id: "9d2e7f10-1a2b-4c3d-8e9f-a0b1c2d3e4f5".into(),
            }],
        }
    }
}
