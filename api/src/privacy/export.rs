//! Everything held about a person, gathered for a data-subject access request: the records of
//! both their ids, their documents, every change and who was shown their data.

use projections::export::Records;

use super::*;

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
    /// The client's KYC: the case in hand, its documents and decisions, risk and registries.
    pub kyc: Option<crate::kyc::dto::KycOut>,
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

impl PrivacyApi {
    /// Everything held about the person (recording the export), and the document files still
    /// held when `with_files`.
    pub(super) async fn gather(
        &self,
        principal: &Principal,
        id: Uuid,
        req: &Request,
        with_files: bool,
    ) -> Result<(SubjectExport, Vec<(String, Vec<u8>)>), ApiError> {
        let (done, subject) = self
            .run(principal, Action::SubjectExport, id, Step::Export, req)
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
        let records = match subject {
            Subject::Lead => Records::Lead(id),
            Subject::Client { lead_id } => Records::Client {
                client_id: id,
                lead_id,
            },
        };
        for projection in [
            projections::leads::NAME,
            projections::clients::NAME,
            projections::kyc::NAME,
            projections::history::NAME,
        ] {
            http::wait_for_in(&self.state, projection, Some(position)).await?;
        }
        let person = projections::export::person(&self.state.db, &self.state.keyring, records)
            .await
            .map_err(ApiError::internal)?
            .filter(|p| {
                p.client
                    .as_ref()
                    .is_none_or(|c| c.in_scope(&policy::client_scope(principal)))
            })
            .ok_or_else(|| ApiError::not_found("data subject"))?;
        let mut files = Vec::new();
        let client = person.client.as_ref();
        for d in client
            .iter()
            .flat_map(|c| &c.documents)
            .filter(|_| with_files)
        {
            if d.purged_at.is_some() {
                continue;
            }
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
        let accessed_by = person
            .accessed_by
            .iter()
            .map(|r| AccessRecord {
                at: r.recorded_at,
                actor_id: r.actor_id.clone(),
                actor_role: r.actor_role.clone(),
                event_type: r.event_type.clone(),
                request_id: r.request_id.clone(),
            })
            .collect();
        let profile = person.lead.as_ref().map(LeadOut::from);
        let documents = client
            .map(|c| c.documents.iter().map(DocumentOut::from).collect())
            .unwrap_or_default();
        let client = client.map(|c| ClientOut::shown(c, self.state.write.retention));
        let kyc = person.kyc.as_ref().map(|k| {
            crate::kyc::dto::KycOut::of(
                k,
                &self.state.write.kyc.services().rules.required,
                Utc::now(),
            )
        });
        let history = person.history.into_iter().map(Into::into).collect();
        Ok((
            SubjectExport {
                subject_id: asked,
                exported_at: Utc::now(),
                profile,
                client,
                kyc,
                history,
                documents,
                accessed_by,
            },
            files,
        ))
    }
}

/// A ZIP of the export and the files (stored, not compressed: PDFs and images already are).
pub(super) fn archive(
    json: &[u8],
    files: &[(String, Vec<u8>)],
) -> Result<Vec<u8>, zip::result::ZipError> {
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

impl poem_openapi::types::Example for SubjectExport {
    fn example() -> Self {
        let history = crate::dto::History::example().items;
        Self {
            subject_id: Uuid::from_u128(0x0193_5e2a_41c7_7b3e_9a10_44d2_6f8e_5b21),
            exported_at: history[0].recorded_at,
            profile: Some(LeadOut::example()),
            client: Some(ClientOut::example()),
            kyc: None,
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
