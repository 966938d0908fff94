//! KYC documents of a client: upload (sealed with the client's key before it is stored) and
//! download (recorded as an access to the person's data).

use domain::access::AccessKind;
use poem::Request;
use poem_openapi::param::{Header, Path, Query};
use poem_openapi::payload::{Attachment, AttachmentType, Binary};
use poem_openapi::{ApiResponse, OpenApi};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use super::dto::DocumentKind;
use super::ClientTags;
use crate::auth::Auth;
use crate::dto::Accepted;
use crate::http::{self, CreatedResponse, State};
use crate::policy::{self, Action};
use crate::problem::{ApiError, ReadError};

/// What a document file may be, by its content (not by what the client says it is).
use commands::clients::{Upload, ACCEPTED};

#[derive(Debug, ApiResponse)]
pub enum DocumentFile {
    /// The file as uploaded, with its detected type (`application/pdf`, `image/jpeg`,
    /// `image/png`) as `Content-Type`.
    #[oai(status = 200)]
    Ok(Attachment<Vec<u8>>),
}

pub struct DocumentsApi {
    pub state: State,
}

#[OpenApi]
impl DocumentsApi {
    /// Upload a KYC document
    ///
    /// The body is the file itself (`application/octet-stream`): a PDF, JPEG or PNG, detected
    /// from its content (415 otherwise), at most `CRM_MAX_UPLOAD` bytes (413). The file is
    /// sealed with the client's key before it is stored; the log records its kind, name,
    /// size and sha256. The file goes when the KYC retention period ends or the person's data
    /// is erased.
    #[oai(
        path = "/api/clients/:id/documents",
        method = "post",
        tag = "ClientTags::Clients",
        operation_id = "uploadClientDocument"
    )]
    async fn upload(
        &self,
        req: &Request,
        auth: Auth,
        /// The client's id.
        id: Path<Uuid>,
        /// What the document is.
        kind: Query<DocumentKind>,
        /// The file's name as the client knows it.
        file_name: Query<String>,
        /// The number on the document (passport number …), for finding it later.
        number: Query<Option<String>>,
        body: Binary<Vec<u8>>,
        /// Makes the upload safe to retry: a repeat gets the first answer and stores nothing.
        #[oai(name = "Idempotency-Key")]
        key: Header<Option<String>>,
    ) -> Result<CreatedResponse, ApiError> {
        policy::require(&auth.0, Action::DocumentUpload)?;
        http::limit_work(&self.state, auth.0.user_id, "uploads")?;
        let declared = req
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(';').next())
            .map(|v| v.trim().to_ascii_lowercase());
        if !declared
            .as_deref()
            .is_some_and(|d| d == "application/octet-stream" || ACCEPTED.contains(&d))
        {
            return Err(ApiError::unsupported_document(
                "send the file itself as application/octet-stream (or as application/pdf, image/jpeg or image/png)",
            ));
        }
        let fingerprint = serde_json::json!({
            "client": id.0,
            "kind": format!("{:?}", kind.0),
            "file_name": file_name.0,
            "number": number.0,
            "sha256": hex::encode(Sha256::digest(&body.0)),
        });
        http::idempotent(&self.state, key.0, req, fingerprint, || {
            store(
                &self.state,
                req,
                &auth.0,
                id.0,
                kind.0,
                file_name.0,
                number.0,
                body.0,
            )
        })
        .await
    }

    /// Download a KYC document
    ///
    /// The file as uploaded. The download is recorded as an access to the person's data. A
    /// purged or erased document answers 404.
    #[oai(
        path = "/api/clients/:id/documents/:document_id",
        method = "get",
        tag = "ClientTags::Clients",
        operation_id = "downloadClientDocument"
    )]
    async fn download(
        &self,
        req: &Request,
        auth: Auth,
        /// The client's id.
        id: Path<Uuid>,
        /// The document's id.
        document_id: Path<Uuid>,
    ) -> Result<poem_openapi::payload::Response<DocumentFile>, ReadError> {
        policy::require(&auth.0, Action::DocumentRead)?;
        serve(&self.state, req, &auth.0, id.0, document_id.0).await
    }

    /// Make a short-lived link to a document
    ///
    /// A signed link to the document, valid for `CRM_DOCUMENT_LINK_TTL` seconds (5 minutes by
    /// default) for the caller only: the download checks the signature, the expiry and that
    /// the caller may still see the document.
    #[oai(
        path = "/api/clients/:id/documents/:document_id/link",
        method = "post",
        tag = "ClientTags::Clients",
        operation_id = "linkClientDocument"
    )]
    async fn link(
        &self,
        auth: Auth,
        /// The client's id.
        id: Path<Uuid>,
        /// The document's id.
        document_id: Path<Uuid>,
    ) -> Result<LinkResponse, ApiError> {
        policy::require(&auth.0, Action::DocumentRead)?;
        let client = super::visible_client(&self.state, &auth.0, id.0).await?;
        client
            .documents
            .iter()
            .find(|d| d.document_id == document_id.0 && d.purged_at.is_none())
            .ok_or_else(|| ApiError::not_found("document"))?;
        let (token, expires_at) =
            self.state
                .links
                .issue(auth.0.user_id, id.0, document_id.0, chrono::Utc::now());
        Ok(LinkResponse::Ok(poem_openapi::payload::Json(
            DocumentLink {
                url: format!("/api/documents/{token}"),
                expires_at,
            },
        )))
    }

    /// Download a document by its link
    ///
    /// The file a link names, for the caller it was made for, before it expires (403 for a
    /// tampered, expired or someone else's link). Recorded as an access to the person's data;
    /// never cached.
    #[oai(
        path = "/api/documents/:token",
        method = "get",
        tag = "ClientTags::Clients",
        operation_id = "downloadLinkedDocument"
    )]
    async fn download_linked(
        &self,
        req: &Request,
        auth: Auth,
        /// The link's token.
        token: Path<String>,
    ) -> Result<poem_openapi::payload::Response<DocumentFile>, ReadError> {
        policy::require(&auth.0, Action::DocumentRead)?;
        let (client, document) = self
            .state
            .links
            .verify(&token.0, auth.0.user_id)
            .map_err(ApiError::forbidden)?;
        serve(&self.state, req, &auth.0, client, document).await
    }
}

#[derive(Debug, ApiResponse)]
pub enum LinkResponse {
    /// The link and when it expires.
    #[oai(status = 200)]
    Ok(poem_openapi::payload::Json<DocumentLink>),
}

/// A short-lived link to one document, for the caller who asked for it.
#[derive(Debug, Clone, poem_openapi::Object)]
#[oai(example)]
pub struct DocumentLink {
    /// Send it with the caller's bearer token.
    pub url: String,
    pub expires_at: chrono::DateTime<chrono::Utc>,
}

impl poem_openapi::types::Example for DocumentLink {
    fn example() -> Self {
        Self {
            url: "/api/documents/eyJhbGciOiJIUzI1NiJ9.…".into(),
            expires_at: chrono::DateTime::parse_from_rfc3339("2026-12-01T09:35:00Z")
                .expect("a valid time")
                .with_timezone(&chrono::Utc),
        }
    }
}

/// A client's document file for a caller who may see it, recorded as an access.
async fn serve(
    state: &crate::http::AppState,
    req: &Request,
    principal: &crate::auth::Principal,
    id: Uuid,
    document_id: Uuid,
) -> Result<poem_openapi::payload::Response<DocumentFile>, ReadError> {
    let client = super::visible_client(state, principal, id).await?;
    if client.privacy.erased_at.is_some() {
        // The log says so even if this process still holds the key in its cache.
        state.keyring.note_erased(&id.to_string());
        return Err(ApiError::not_found("document file (the person's data was erased)").into());
    }
    if policy::sells(principal.role) && client.restricted() {
        return Err(ApiError::conflict(
            "processing-restricted",
            "the person asked for erasure: their documents are for compliance only",
        )
        .into());
    }
    let meta = client
        .documents
        .iter()
        .find(|d| d.document_id == document_id)
        .ok_or_else(|| ApiError::not_found("document"))?;
    let file =
        commands::clients::load_document(&*state.write.documents, &state.keyring, id, document_id)
            .await
            .map_err(ApiError::from)?
            .ok_or_else(|| ApiError::not_found("document file (purged or erased)"))?;
    http::record_access(state, req, "client", id, AccessKind::Document).await?;
    // Served as what it is (the type detected at upload), as an attachment, never cached.
    Ok(poem_openapi::payload::Response::new(DocumentFile::Ok(
        Attachment::new(file)
            .attachment_type(AttachmentType::Attachment)
            .filename(safe_file_name(&meta.file_name)),
    ))
    .header("content-type", meta.content_type.as_str())
    .header("x-content-type-options", "nosniff")
    .header("cache-control", "no-store"))
}

/// Stores a document's file and records it on the client.
#[allow(clippy::too_many_arguments)]
async fn store(
    state: &crate::http::AppState,
    req: &Request,
    principal: &crate::auth::Principal,
    id: Uuid,
    kind: DocumentKind,
    file_name: String,
    number: Option<String>,
    body: Vec<u8>,
) -> Result<CreatedResponse, ApiError> {
    let upload =
        Upload::new(kind.into(), &file_name, number.as_deref(), body).map_err(ApiError::from)?;
    let scope = policy::client_scope(principal);
    let (document_id, done) = commands::clients::upload_document(
        &state.write,
        &scope,
        id,
        upload,
        &crate::http::metadata(req),
        crate::http::if_match(req)?,
    )
    .await?;
    Ok(CreatedResponse::Created(
        poem_openapi::payload::Json(Accepted {
            client_id: Some(id),
            ..Accepted::of(document_id, &done)
        }),
        format!("/api/clients/{}/documents/{document_id}", id),
    ))
}

/// A file name safe for a `Content-Disposition` header.
pub fn safe_file_name(name: &str) -> String {
    let cleaned: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "._- ".contains(c) {
                c
            } else {
                '_'
            }
        })
        .take(100)
        .collect();
    if cleaned.trim().is_empty() {
        "document".into()
    } else {
        cleaned
    }
}
