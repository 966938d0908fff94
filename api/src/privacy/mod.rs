//! Data-protection endpoints: erasure requests, legal holds, marketing consent and the
//! data-subject access export. A data subject is a lead or a client.

use chrono::{DateTime, Utc};
use commands::privacy::subjects::{self, Scopes, Step, Subject};
use domain::values::Text;
use poem::Request;
use poem_openapi::param::{Path, Query};
use poem_openapi::payload::{Attachment, AttachmentType, Json};
use poem_openapi::{ApiResponse, Enum, Object, OpenApi, Tags};
use uuid::Uuid;

use crate::auth::{Auth, Principal};
use crate::clients::dto::{ClientOut, DocumentOut};
use crate::dto::{HistoryEntry, LeadOut, MarketingChannel, Str};
use crate::http::{self, DoneResponse, Fields, State};
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
    /// Nobody asked for erasure: nothing is restricted (the answer to lifting a hold).
    NotRequested,
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

impl ErasureOutcome {
    fn new(id: Uuid, outcome: subjects::ErasureOutcome) -> Self {
        let (state, blocked_by) = match outcome.state {
            subjects::ErasureState::Erased => (ErasureState::Erased, None),
            subjects::ErasureState::Restricted { blocked_by } => {
                (ErasureState::Restricted, Some(blocked_by))
            }
            subjects::ErasureState::NotRequested => (ErasureState::NotRequested, None),
        };
        Self {
            id,
            state,
            blocked_by,
            position: outcome.position,
        }
    }
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

#[derive(Debug, ApiResponse)]
pub enum ArchiveResponse {
    /// A ZIP file: `subject.json` (the export) and `documents/` with every document file still
    /// held; the export itself is recorded.
    #[oai(status = 200)]
    Ok(Attachment<poem::Body>),
}

pub struct PrivacyApi {
    pub state: State,
}

impl PrivacyApi {
    /// What the caller may see, of leads and of clients.
    async fn scopes(&self, p: &Principal) -> Result<Scopes, ApiError> {
        Ok(Scopes {
            leads: policy::scope(&self.state, p).await?,
            clients: policy::client_scope(p),
        })
    }

    /// Runs `step` on the person for a caller allowed `action`.
    async fn run(
        &self,
        p: &Principal,
        action: Action,
        id: Uuid,
        step: Step,
        req: &Request,
    ) -> Result<(commands::Committed, Subject), ApiError> {
        policy::require(p, action)?;
        let scopes = self.scopes(p).await?;
        let meta = http::metadata(req);
        let expected = http::if_match(req)?;
        let (done, subject) =
            subjects::run(&self.state.write, &scopes, id, step, &meta, expected).await?;
        Ok((done, subject))
    }
}

fn reason(f: &mut Fields, field: &str, raw: Option<&str>) -> Option<Text> {
    f.opt(field, raw, |s| Text::parse(s, 1000))
}

mod export;

pub use export::{AccessRecord, SubjectExport};

#[OpenApi]
impl PrivacyApi {
    /// Request erasure of a person's data
    ///
    /// Records the request and restricts processing at once (no more sales changes, consents
    /// withdrawn). A lead that never became a client has no record-keeping duty: unless a legal
    /// hold stands, its key is destroyed now and its personal data reads as erased everywhere,
    /// while the event log and its hashes stay intact. A client's records (and the lead they
    /// came from) are kept while the relationship lasts and for the retention period after it
    /// ends; the shred then happens by itself. Repeating the request changes nothing more.
    #[oai(
        path = "/api/privacy/subjects/:id/erasure",
        method = "post",
        tag = "PrivacyTags::Privacy",
        operation_id = "requestErasure"
    )]
    async fn request_erasure(
        &self,
        req: &Request,
        auth: Auth,
        /// The data subject: a lead's or a client's id.
        id: Path<Uuid>,
        body: Json<ErasureRequest>,
    ) -> Result<ErasureResponse, ApiError> {
        let mut f = Fields::default();
        let reason = reason(&mut f, "reason", body.0.reason.as_deref());
        f.finish()?;
        policy::require(&auth.0, Action::ErasureRequest)?;
        let outcome = subjects::request_erasure(
            &self.state.write,
            &self.scopes(&auth.0).await?,
            id.0,
            reason,
            &http::metadata(req),
            http::if_match(req)?,
        )
        .await?;
        Ok(ErasureResponse::Ok(Json(ErasureOutcome::new(
            id.0, outcome,
        ))))
    }

    /// Place a legal hold
    ///
    /// Nothing about the person is shredded while the hold stands (compliance officers).
    #[oai(
        path = "/api/privacy/subjects/:id/legal-hold",
        method = "post",
        tag = "PrivacyTags::Privacy",
        operation_id = "placeLegalHold"
    )]
    async fn place_hold(
        &self,
        req: &Request,
        auth: Auth,
        /// The data subject: a lead's or a client's id.
        id: Path<Uuid>,
        body: Json<LegalHoldRequest>,
        /// Makes the command safe to retry: a repeat gets the first answer, changing nothing.
        #[oai(name = "Idempotency-Key")]
        key: poem_openapi::param::Header<Option<String>>,
    ) -> Result<DoneResponse, ApiError> {
        let fingerprint = http::fingerprint(&body.0);
        http::idempotent(&self.state, key.0, req, fingerprint, || async {
            let mut f = Fields::default();
            let reason = reason(&mut f, "reason", Some(&body.0.reason));
            f.finish()?;
            let reason = reason.ok_or_else(|| ApiError::bad_request("reason"))?;
            let (done, _) = self
                .run(
                    &auth.0,
                    Action::LegalHold,
                    id.0,
                    Step::PlaceHold(reason),
                    req,
                )
                .await?;
            Ok(DoneResponse::Done(Json(crate::dto::Accepted::of(
                id.0, &done,
            ))))
        })
        .await
    }

    /// Lift a legal hold
    ///
    /// When an erasure is due and nothing else blocks it, the shred happens now.
    #[oai(
        path = "/api/privacy/subjects/:id/legal-hold",
        method = "delete",
        tag = "PrivacyTags::Privacy",
        operation_id = "liftLegalHold"
    )]
    async fn lift_hold(
        &self,
        req: &Request,
        auth: Auth,
        /// The data subject: a lead's or a client's id.
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
        policy::require(&auth.0, Action::LegalHold)?;
        let outcome = subjects::lift_hold(
            &self.state.write,
            &self.scopes(&auth.0).await?,
            id.0,
            reason,
            &http::metadata(req),
            http::if_match(req)?,
        )
        .await?;
        Ok(ErasureResponse::Ok(Json(ErasureOutcome::new(
            id.0, outcome,
        ))))
    }

    /// Give or withdraw marketing consent
    ///
    /// Per channel; a withdrawal takes effect at once.
    #[oai(
        path = "/api/privacy/subjects/:id/consent",
        method = "post",
        tag = "PrivacyTags::Privacy",
        operation_id = "setMarketingConsent"
    )]
    async fn consent(
        &self,
        req: &Request,
        auth: Auth,
        /// The data subject: a lead's or a client's id.
        id: Path<Uuid>,
        body: Json<ConsentChange>,
        /// Makes the command safe to retry: a repeat gets the first answer, changing nothing.
        #[oai(name = "Idempotency-Key")]
        key: poem_openapi::param::Header<Option<String>>,
    ) -> Result<DoneResponse, ApiError> {
        let fingerprint = http::fingerprint(&body.0);
        http::idempotent(&self.state, key.0, req, fingerprint, || async {
            policy::require(&auth.0, Action::ConsentManage)?;
            let (done, _) = subjects::consent(
                &self.state.write,
                &self.scopes(&auth.0).await?,
                id.0,
                body.0.channel.into(),
                body.0.granted,
                &http::metadata(req),
                http::if_match(req)?,
            )
            .await?;
            Ok(DoneResponse::Done(Json(crate::dto::Accepted::of(
                id.0, &done,
            ))))
        })
        .await
    }

    /// Export everything held about a person
    ///
    /// For compliance officers to hand over on a data-subject access request: the profile
    /// (for a client also the lead they came from), every recorded change with who made it,
    /// documents, consents, privacy state and who was shown their data. The export itself is
    /// recorded on the person's history.
    #[oai(
        path = "/api/privacy/subjects/:id/export",
        method = "get",
        tag = "PrivacyTags::Privacy",
        operation_id = "exportSubjectData"
    )]
    async fn export(
        &self,
        req: &Request,
        auth: Auth,
        /// The data subject: a lead's or a client's id.
        id: Path<Uuid>,
    ) -> Result<ExportResponse, ReadError> {
        policy::require(&auth.0, Action::SubjectExport)?;
        let (export, _) = self.gather(&auth.0, id.0, req, false).await?;
        Ok(ExportResponse::Ok(Json(export)))
    }

    /// Export everything held about a person, with the documents, as a ZIP
    ///
    /// The same export as `GET …/export` as `subject.json`, and every document file still held
    /// under `documents/`. The export itself is recorded.
    #[oai(
        path = "/api/privacy/subjects/:id/export/archive",
        method = "get",
        tag = "PrivacyTags::Privacy",
        operation_id = "exportSubjectArchive"
    )]
    async fn export_archive(
        &self,
        req: &Request,
        auth: Auth,
        /// The data subject: a lead's or a client's id.
        id: Path<Uuid>,
    ) -> Result<poem_openapi::payload::Response<ArchiveResponse>, ReadError> {
        policy::require(&auth.0, Action::SubjectExport)?;
        let (export, files) = self.gather(&auth.0, id.0, req, true).await?;
        let json = serde_json::to_vec_pretty(
            &poem_openapi::types::ToJSON::to_json(&export).unwrap_or_default(),
        )
        .map_err(ApiError::internal)?;
        let zip = export::stream_archive(self.state.clone(), json, files);
        Ok(poem_openapi::payload::Response::new(ArchiveResponse::Ok(
            Attachment::new(zip)
                .attachment_type(AttachmentType::Attachment)
                .filename(format!("subject-{}.zip", id.0)),
        ))
        .header("content-type", "application/zip"))
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
