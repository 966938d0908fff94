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
    /// Everything held about the person (recording the export), and the names and ids of the
    /// document files still held when `with_files` (the client's id, for reading them).
    pub(super) async fn gather(
        &self,
        principal: &Principal,
        id: Uuid,
        req: &Request,
        with_files: bool,
    ) -> Result<(SubjectExport, ArchiveFiles), ApiError> {
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
        let client = person.client.as_ref();
        // The files are named here and read one at a time while the archive streams.
        let files = client
            .iter()
            .flat_map(|c| &c.documents)
            .filter(|d| with_files && d.purged_at.is_none())
            .map(|d| {
                let name = format!(
                    "documents/{}-{}",
                    d.document_id,
                    crate::clients::safe_file_name(&d.file_name)
                );
                (name, d.document_id)
            })
            .collect();
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
            ArchiveFiles { owner: id, files },
        ))
    }
}

/// The document files an archive holds: whose they are, and each one's name in the archive and
/// id in the document store.
pub(super) struct ArchiveFiles {
    pub owner: Uuid,
    pub files: Vec<(String, Uuid)>,
}

/// Hands what the archive writer writes to the response body, a chunk at a time.
struct ChannelWriter(tokio::sync::mpsc::Sender<std::io::Result<Vec<u8>>>);

impl std::io::Write for ChannelWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0
            .blocking_send(Ok(buf.to_vec()))
            .map_err(|_| std::io::Error::other("the archive's reader went away"))?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// A ZIP of the export and the files (stored, not compressed: PDFs and images already are),
/// streamed: the files are read and sealed open one at a time while the response goes out, so
/// an archive holds at most a file and a few chunks in memory whatever its size.
pub(super) fn stream_archive(
    state: crate::http::State,
    json: Vec<u8>,
    files: ArchiveFiles,
) -> poem::Body {
    use std::io::Write;
    let (tx, rx) = tokio::sync::mpsc::channel::<std::io::Result<Vec<u8>>>(4);
    let runtime = tokio::runtime::Handle::current();
    let failed = tx.clone();
    tokio::task::spawn_blocking(move || {
        let write = || -> Result<(), String> {
            let sink = std::io::BufWriter::with_capacity(64 * 1024, ChannelWriter(tx));
            let mut w = zip::ZipWriter::new_stream(sink);
            let options = zip::write::SimpleFileOptions::default()
                .compression_method(zip::CompressionMethod::Stored);
            w.start_file("subject.json", options)
                .map_err(|e| e.to_string())?;
            w.write_all(&json).map_err(|e| e.to_string())?;
            for (name, id) in files.files {
                let bytes = runtime
                    .block_on(commands::clients::load_document(
                        &*state.write.documents,
                        &state.keyring,
                        files.owner,
                        id,
                    ))
                    .map_err(|e| e.to_string())?;
                if let Some(bytes) = bytes {
                    w.start_file(name.as_str(), options)
                        .map_err(|e| e.to_string())?;
                    w.write_all(&bytes).map_err(|e| e.to_string())?;
                }
            }
            w.finish()
                .map_err(|e| e.to_string())?
                .into_inner()
                .flush()
                .map_err(|e| e.to_string())
        };
        if let Err(e) = write() {
            // The status is sent already: the body ends in an error, so the client sees a
            // broken download rather than a short archive.
            tracing::warn!(error = %e, "subject archive stopped");
            let _ = failed.blocking_send(Err(std::io::Error::other("the archive failed")));
        }
    });
    let chunks = futures::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|chunk| (chunk, rx))
    });
    poem::Body::from_bytes_stream(chunks)
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
