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
use crate::clients::client_history_entries;
use crate::clients::dto::{ClientOut, DocumentOut};
use crate::dto::{HistoryEntry, LeadOut, MarketingChannel, Str};
use crate::http::{self, DoneResponse, Fields, State};
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

/// Everything held about a person, for handing over to them.
#[derive(Debug, Clone, Object)]
#[oai(example)]
pub struct SubjectExport {
    pub subject_id: Uuid,
    pub exported_at: DateTime<Utc>,
    /// The lead: pipeline history, assignments, follow-ups, interactions, consents and privacy
    /// state (for a client, the lead they came from, if any).
    pub profile: Option<LeadOut>,
    /// The client: profile, relationship, documents and privacy state (for a client).
    pub client: Option<ClientOut>,
    /// Every recorded change, with who made it and when.
    pub history: Vec<HistoryEntry>,
    /// The documents kept (files: the ZIP archive).
    pub documents: Vec<DocumentOut>,
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

#[derive(Debug, ApiResponse)]
pub enum ArchiveResponse {
    /// A ZIP file: `subject.json` (the export) and `documents/` with every document file still
    /// held; the export itself is recorded.
    #[oai(status = 200)]
    Ok(Attachment<Vec<u8>>),
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

    /// Everything held about the person (recording the export), and the document files still
    /// held when `with_files`.
    async fn gather(
        &self,
        p: &Principal,
        id: Uuid,
        req: &Request,
        with_files: bool,
    ) -> Result<(SubjectExport, Vec<(String, Vec<u8>)>), ApiError> {
        let (done, subject) = self
            .run(p, Action::SubjectExport, id, Step::Export, req)
            .await?;
        let position = done.position;
        // A lead that became a client is that client: the export is the whole person's.
        let asked = id;
        let (id, subject) = match subject {
            Subject::Lead => match subjects::other_record(&self.state.write, id, subject).await? {
                Some(client) => (client, Subject::Client { lead_id: Some(id) }),
                None => (id, subject),
            },
            client => (id, client),
        };
        let mut files = Vec::new();
        let (profile, client, history, documents, subjects) = match subject {
            Subject::Lead => {
                http::wait_for(&self.state, Some(position)).await?;
                let view = projections::leads::query::get(&self.state.db, &self.state.keyring, id)
                    .await
                    .map_err(ApiError::internal)?
                    .ok_or_else(|| ApiError::not_found("lead"))?;
                let (history, _) = history_entries(&self.state, id).await?;
                (
                    Some(LeadOut::from(&view)),
                    None,
                    history,
                    Vec::new(),
                    vec![id],
                )
            }
            Subject::Client { lead_id } => {
                http::wait_for_in(&self.state, projections::clients::NAME, Some(position)).await?;
                let view =
                    projections::clients::query::get(&self.state.db, &self.state.keyring, id)
                        .await
                        .map_err(ApiError::internal)?
                        .filter(|v| v.in_scope(&policy::client_scope(p)))
                        .ok_or_else(|| ApiError::not_found("client"))?;
                let mut history = client_history_entries(&self.state, id).await?;
                let mut subjects = vec![id];
                let lead = match lead_id {
                    Some(l) => {
                        let lead =
                            projections::leads::query::get(&self.state.db, &self.state.keyring, l)
                                .await
                                .map_err(ApiError::internal)?;
                        if lead.is_some() {
                            history.extend(history_entries(&self.state, l).await?.0);
                            history.sort_by_key(|h| h.position);
                            subjects.push(l);
                        }
                        lead.as_ref().map(LeadOut::from)
                    }
                    None => None,
                };
                if with_files {
                    for d in view.documents.iter().filter(|d| d.purged_at.is_none()) {
                        let file = commands::clients::load_document(
                            &self.state.db,
                            &self.state.keyring,
                            id,
                            d.document_id,
                        )
                        .await
                        .map_err(ApiError::internal)?;
                        if let Some(bytes) = file {
                            let name = format!(
                                "documents/{}-{}",
                                d.document_id,
                                crate::clients::safe_file_name(&d.file_name)
                            );
                            files.push((name, bytes));
                        }
                    }
                }
                let documents = view.documents.iter().map(DocumentOut::from).collect();
                (
                    lead,
                    Some(ClientOut::shown(&view, self.state.write.retention)),
                    history,
                    documents,
                    subjects,
                )
            }
        };
        // Who was shown the person's data: every access record up to this export.
        http::wait_for_in(&self.state, projections::history::NAME, Some(position)).await?;
        let mut accessed_by = Vec::new();
        for s in subjects {
            let rows = projections::history::query(
                &self.state.db,
                &projections::history::HistoryFilter {
                    subject_id: Some(s.to_string()),
                    limit: 10_000,
                    ..Default::default()
                },
            )
            .await
            .map_err(ApiError::internal)?;
            accessed_by.extend(
                rows.into_iter()
                    .filter(|r| {
                        r.event_type == "PiiViewed" || r.event_type == "SubjectDataExported"
                    })
                    .map(|r| AccessRecord {
                        at: r.recorded_at,
                        actor_id: r.actor_id,
                        actor_role: r.actor_role,
                        event_type: r.event_type,
                        request_id: r.request_id,
                    }),
            );
        }
        accessed_by.sort_by_key(|a| a.at);
        Ok((
            SubjectExport {
                subject_id: asked,
                exported_at: Utc::now(),
                profile,
                client,
                history,
                documents,
                accessed_by,
            },
            files,
        ))
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
        let zip = archive(&json, &files).map_err(ApiError::internal)?;
        Ok(poem_openapi::payload::Response::new(ArchiveResponse::Ok(
            Attachment::new(zip)
                .attachment_type(AttachmentType::Attachment)
                .filename(format!("subject-{}.zip", id.0)),
        ))
        .header("content-type", "application/zip"))
    }
}

/// A ZIP of the export and the files (stored, not compressed: PDFs and images already are).
fn archive(json: &[u8], files: &[(String, Vec<u8>)]) -> Result<Vec<u8>, zip::result::ZipError> {
    use std::io::Write;
    let mut w = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let options =
        zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored);
    w.start_file("subject.json", options)?;
    w.write_all(json)?;
    for (name, bytes) in files {
        w.start_file(name.as_str(), options)?;
        w.write_all(bytes)?;
    }
    Ok(w.finish()?.into_inner())
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
            profile: Some(LeadOut::example()),
            client: Some(ClientOut::example()),
            history,
            documents: ClientOut::example().documents,
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
