//! Data-protection endpoints: erasure requests, legal holds, marketing consent and the
//! data-subject access export. A data subject is a lead or a client.

use chrono::{DateTime, Utc};
use commands::privacy::erasure::{self, Erasure};
use domain::lead::LeadCommand;
use domain::values::Text;
use poem::Request;
use poem_openapi::param::{Path, Query};
use poem_openapi::payload::{Attachment, AttachmentType, Json};
use poem_openapi::{ApiResponse, Enum, Object, OpenApi, Tags};
use uuid::Uuid;

use crate::auth::{Auth, Principal};
use crate::clients::dto::{ClientOut, DocumentOut};
use crate::clients::{client_history_entries, run_client_command};
use crate::dto::{HistoryEntry, LeadOut, MarketingChannel, Str};
use crate::http::{self, DoneResponse, Fields, State};
use crate::leads::history_entries;
use crate::policy::{self, Action};
use crate::problem::{ApiError, FieldError, ReadError};
use domain::client::ClientCommand;

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

/// Who a data subject is: a lead, or a client (with the lead it came from).
enum Subject {
    Lead,
    Client { lead_id: Option<Uuid> },
}

/// A privacy step, as either aggregate takes it.
#[derive(Clone)]
enum Step {
    RequestErasure(Option<Text>),
    PlaceHold(Text),
    LiftHold(Option<Text>),
    Consent(domain::lead::MarketingChannel, bool),
    Export,
}

impl Step {
    fn for_lead(self) -> LeadCommand {
        match self {
            Step::RequestErasure(reason) => LeadCommand::RequestErasure { reason },
            Step::PlaceHold(reason) => LeadCommand::PlaceLegalHold { reason },
            Step::LiftHold(reason) => LeadCommand::LiftLegalHold { reason },
            Step::Consent(channel, granted) => {
                LeadCommand::SetMarketingConsent { channel, granted }
            }
            Step::Export => LeadCommand::RecordExport,
        }
    }

    fn for_client(self) -> ClientCommand {
        match self {
            Step::RequestErasure(reason) => ClientCommand::RequestErasure { reason },
            Step::PlaceHold(reason) => ClientCommand::PlaceLegalHold { reason },
            Step::LiftHold(reason) => ClientCommand::LiftLegalHold { reason },
            Step::Consent(channel, granted) => {
                ClientCommand::SetMarketingConsent { channel, granted }
            }
            Step::Export => ClientCommand::RecordExport,
        }
    }
}

impl PrivacyApi {
    async fn subject(&self, id: Uuid) -> Result<Subject, ApiError> {
        let (client, _) = self
            .state
            .write
            .clients
            .load(&id.to_string())
            .await
            .map_err(ApiError::from)?;
        Ok(if client.is_onboarded() {
            Subject::Client {
                lead_id: client.lead_id(),
            }
        } else {
            Subject::Lead
        })
    }

    async fn run(
        &self,
        p: &Principal,
        action: Action,
        id: Uuid,
        step: Step,
        req: &Request,
    ) -> Result<(i64, Subject), ApiError> {
        let subject = self.subject(id).await?;
        let position = match &subject {
            Subject::Lead => {
                http::run_lead_command(&self.state, p, action, id, step.for_lead(), req).await
            }
            Subject::Client { .. } => {
                run_client_command(&self.state, p, action, id, step.for_client(), req).await
            }
        }
        // One answer for "no such person" and "not one you may see", whichever kind it is.
        .map_err(|e| match e {
            ApiError::NotFound(_) => ApiError::not_found("data subject (lead or client)"),
            other => other,
        })?;
        Ok((position, subject))
    }

    /// Shreds now if nothing blocks it; otherwise says what does.
    async fn settle(
        &self,
        id: Uuid,
        subject: &Subject,
        position: i64,
        req: &Request,
    ) -> Result<ErasureOutcome, ApiError> {
        let meta = http::metadata(req);
        let outcome = match subject {
            Subject::Lead => erasure::erase_if_allowed(
                &self.state.write.leads,
                &self.state.keyring,
                &id.to_string(),
                &meta,
            )
            .await
            .map_err(ApiError::from)?,
            Subject::Client { .. } => erasure::erase_client_if_allowed(
                &self.state.db,
                &self.state.write.clients,
                &self.state.write.leads,
                &self.state.keyring,
                id,
                &meta,
            )
            .await
            .map_err(ApiError::from)?,
        };
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

    /// Everything held about the person (recording the export), and the document files still
    /// held when `with_files`.
    async fn gather(
        &self,
        p: &Principal,
        id: Uuid,
        req: &Request,
        with_files: bool,
    ) -> Result<(SubjectExport, Vec<(String, Vec<u8>)>), ApiError> {
        let (position, subject) = self
            .run(p, Action::SubjectExport, id, Step::Export, req)
            .await?;
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
                subject_id: id,
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
        let (position, subject) = self
            .run(
                &auth.0,
                Action::ErasureRequest,
                id.0,
                Step::RequestErasure(reason),
                req,
            )
            .await?;
        if let Subject::Lead = &subject {
            // A converted lead's person is a client now: their client record is restricted too.
            let (lead, _) = self
                .state
                .write
                .leads
                .load(&id.0.to_string())
                .await
                .map_err(ApiError::from)?;
            if let Some(client) = lead.converted_to() {
                match self
                    .state
                    .write
                    .clients
                    .execute(
                        &client.to_string(),
                        ClientCommand::RequestErasure { reason: None },
                        &http::metadata(req),
                        None,
                    )
                    .await
                {
                    // Not onboarded (yet): onboarding refuses a restricted lead.
                    Ok(_) | Err(commands::CommandError::Rejected(_)) => {}
                    Err(e) => return Err(ApiError::from(e)),
                }
            }
        }
        if let Subject::Client {
            lead_id: Some(lead),
        } = &subject
        {
            // The lead the client came from is the same person: restricted as well.
            match self
                .state
                .write
                .leads
                .execute(
                    &lead.to_string(),
                    LeadCommand::RequestErasure { reason: None },
                    &http::metadata(req),
                    None,
                )
                .await
            {
                Ok(_) | Err(commands::CommandError::Rejected(_)) => {}
                Err(e) => return Err(ApiError::from(e)),
            }
        }
        Ok(ErasureResponse::Ok(Json(
            self.settle(id.0, &subject, position, req).await?,
        )))
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
        let fingerprint = serde_json::Value::String(format!("{:?}", body.0));
        http::idempotent(&self.state, key.0, req, fingerprint, || async {
            let mut f = Fields::default();
            let reason = reason(&mut f, "reason", Some(&body.0.reason));
            f.finish()?;
            let reason = reason.ok_or_else(|| ApiError::bad_request("reason"))?;
            let (position, _) = self
                .run(
                    &auth.0,
                    Action::LegalHold,
                    id.0,
                    Step::PlaceHold(reason),
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
        let (position, subject) = self
            .run(
                &auth.0,
                Action::LegalHold,
                id.0,
                Step::LiftHold(reason),
                req,
            )
            .await?;
        let (due, requested) = match subject {
            Subject::Lead => {
                let (lead, _) = self
                    .state
                    .write
                    .leads
                    .load(&id.0.to_string())
                    .await
                    .map_err(ApiError::from)?;
                // Its client was erased while this hold kept the lead: it goes now.
                if let Some(position) = erasure::erase_lead_with_its_client(
                    &self.state.write.clients,
                    &self.state.write.leads,
                    &self.state.keyring,
                    &lead,
                    &id.0.to_string(),
                    &http::metadata(req),
                )
                .await
                .map_err(ApiError::from)?
                {
                    return Ok(ErasureResponse::Ok(Json(ErasureOutcome {
                        id: id.0,
                        state: ErasureState::Erased,
                        blocked_by: None,
                        position,
                    })));
                }
                (lead.erasure_due(), lead.erasure_requested())
            }
            Subject::Client { .. } => {
                let (client, _) = self
                    .state
                    .write
                    .clients
                    .load(&id.0.to_string())
                    .await
                    .map_err(ApiError::from)?;
                let due = client
                    .erasure_blocker(Utc::now(), self.state.write.retention)
                    .is_none();
                (due, client.erasure_requested())
            }
        };
        if !due && !requested {
            return Ok(ErasureResponse::Ok(Json(ErasureOutcome {
                id: id.0,
                state: ErasureState::NotRequested,
                blocked_by: None,
                position,
            })));
        }
        if !due {
            return Ok(ErasureResponse::Ok(Json(ErasureOutcome {
                id: id.0,
                state: ErasureState::Restricted,
                blocked_by: Some("no erasure is due".into()),
                position,
            })));
        }
        Ok(ErasureResponse::Ok(Json(
            self.settle(id.0, &subject, position, req).await?,
        )))
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
        let fingerprint = serde_json::Value::String(format!("{:?}", body.0));
        http::idempotent(&self.state, key.0, req, fingerprint, || async {
            let step = Step::Consent(body.0.channel.into(), body.0.granted);
            let (position, _) = self
                .run(&auth.0, Action::ConsentManage, id.0, step, req)
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
