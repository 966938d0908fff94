//! Client use cases: onboarding (one client per PAN, from a converted lead or new), any other
//! command on a client the caller may see, and the records kept beside the log (the PAN
//! register, the sealed document files).

pub mod dormancy;
pub mod onboarding;
mod records;

pub use onboarding::{onboard, NewClient};
pub use records::*;

use domain::access::ClientScope;
use domain::client::{Client, ClientCommand, ClientError, Document, DocumentKind};
use domain::values::Text;
use sha2::{Digest, Sha256};
use store::privacy::PrivacyError;
use store::{EventMetadata, StoreError};
use uuid::Uuid;

use crate::lookups::LookupError;
use crate::{CommandError, Committed, WriteSide};

#[derive(Debug, thiserror::Error)]
pub enum ClientsError {
    #[error(transparent)]
    Command(#[from] CommandError<ClientError>),
    /// Reading the lead the client comes from failed.
    #[error(transparent)]
    Lead(#[from] CommandError<domain::lead::LeadError>),
    /// A value that is valid on its own does not fit (the field, and why).
    #[error("{field}: {message}")]
    Invalid {
        field: &'static str,
        message: &'static str,
    },
    /// The caller may not put a client there (another branch, another agent's book).
    #[error("{0}")]
    OutsideBook(&'static str),
    /// The person asked for erasure: they are not onboarded.
    #[error("the person asked for erasure: they are not onboarded")]
    Restricted,
    #[error("the client this lead became is already onboarded")]
    AlreadyOnboarded,
    /// Another client has this PAN; `visible` names it if the caller may open it.
    #[error("a client with this PAN is already on file")]
    DuplicatePan { visible: Vec<Uuid> },
    #[error(transparent)]
    Lookup(#[from] LookupError),
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The document store failed (an erased client's key is gone: [`CommandError::Rejected`]
    /// with [`ClientError::Erased`] is answered instead).
    #[error(transparent)]
    Documents(PrivacyError),
    /// The document files' store (the database or a bucket) failed.
    #[error(transparent)]
    Files(store::documents::DocumentError),
}

/// A KYC document file as received, its values already valid.
#[derive(Debug, Clone)]
pub struct Upload {
    pub kind: DocumentKind,
    pub number: Option<Text>,
    pub file_name: Text,
    /// What the bytes are (sniffed from them, not taken from the sender).
    pub content_type: &'static str,
    pub bytes: Vec<u8>,
}

/// What a document file may be, by its content (not by what the sender says it is).
pub const ACCEPTED: &[&str] = &["application/pdf", "image/jpeg", "image/png"];

/// Why an uploaded file is not taken.
#[derive(Debug, thiserror::Error)]
pub enum UploadRefused {
    #[error("{}", .0.iter().map(|i| format!("{}: {}", i.field, i.message)).collect::<Vec<_>>().join("; "))]
    Invalid(Vec<domain::input::Invalid>),
    /// Not a PDF, JPEG or PNG file, by its content.
    #[error("a document is a PDF, JPEG or PNG file")]
    Unsupported,
    /// It starts like one but is not a whole file of that kind.
    #[error(
        "the file starts like a {0} but is not a whole one (damaged, cut short or something else)"
    )]
    NotWhole(&'static str),
}

/// The largest image accepted, in pixels (a small file must not unpack into gigabytes).
const MAX_PIXELS: u64 = 40_000_000;

/// Whether `bytes` are a whole file of `content_type`: parsed through to the end by the
/// format's reference crate.
fn whole(content_type: &str, bytes: &[u8]) -> bool {
    match content_type {
        "application/pdf" => {
            // The parser recovers what it can of a cut file; a whole one ends with its `%%EOF`.
            let tail = &bytes[bytes.len().saturating_sub(1024)..];
            tail.windows(5).any(|w| w == b"%%EOF") && lopdf::Document::load_mem(bytes).is_ok()
        }
        "image/png" => {
            let limits = png::Limits {
                bytes: (MAX_PIXELS * 8) as usize,
            };
            let decoder = png::Decoder::new_with_limits(std::io::Cursor::new(bytes), limits);
            let Ok(mut reader) = decoder.read_info() else {
                return false;
            };
            let Some(size) = reader.output_buffer_size() else {
                return false;
            };
            let mut buffer = vec![0; size];
            reader.next_frame(&mut buffer).is_ok()
        }
        "image/jpeg" => {
            let mut decoder = zune_jpeg::JpegDecoder::new(bytes);
            if decoder.decode_headers().is_err() {
                return false;
            }
            let pixels = decoder
                .dimensions()
                .map_or(u64::MAX, |(w, h)| w as u64 * h as u64);
            pixels <= MAX_PIXELS && decoder.decode().is_ok()
        }
        _ => false,
    }
}

impl Upload {
    /// Checks a file as received: its name and number, that it is not empty, and what it is
    /// (sniffed from its bytes).
    pub fn new(
        kind: DocumentKind,
        file_name: &str,
        number: Option<&str>,
        bytes: Vec<u8>,
    ) -> Result<Self, UploadRefused> {
        let mut c = domain::input::Checked::default();
        let file_name = c.take("file_name", Text::file_name(file_name));
        let number = c.opt("number", number, |n| Text::parse(n, 64));
        if bytes.is_empty() {
            c.fail("body", "the file is empty");
        }
        let file_name = c.finish(file_name).map_err(UploadRefused::Invalid)?;
        let content_type = infer::get(&bytes)
            .map(|t| t.mime_type())
            .filter(|m| ACCEPTED.contains(m))
            .ok_or(UploadRefused::Unsupported)?;
        if !whole(content_type, &bytes) {
            let kind = match content_type {
                "application/pdf" => "PDF",
                "image/png" => "PNG image",
                _ => "JPEG image",
            };
            return Err(UploadRefused::NotWhole(kind));
        }
        Ok(Self {
            kind,
            number,
            file_name,
            content_type,
            bytes,
        })
    }
}

/// Keeps a document for the client: the file sealed with the client's key in the document
/// store, then its record on the client. The aggregate's refusals are asked before anything
/// is stored; a file whose record is then refused is deleted again.
pub async fn upload_document(
    write: &WriteSide,
    scope: &ClientScope,
    client_id: Uuid,
    upload: Upload,
    meta: &EventMetadata,
    expected: Option<usize>,
) -> Result<(Uuid, Committed), ClientsError> {
    let (client, _) = write.clients.load(&client_id.to_string()).await?;
    if !client.is_onboarded() || !scope.covers_client(&client) {
        return Err(CommandError::Rejected(ClientError::NotFound).into());
    }
    client.ensure_changeable().map_err(CommandError::Rejected)?;
    client
        .ensure_room(
            write.clients.services().documents,
            upload.bytes.len() as u64,
        )
        .map_err(CommandError::Rejected)?;
    let document_id = Uuid::now_v7();
    let document = Document {
        document_id,
        kind: upload.kind,
        number: upload.number,
        file_name: upload.file_name,
        content_type: upload.content_type.to_string(),
        size: upload.bytes.len() as u64,
        sha256: hex::encode(Sha256::digest(&upload.bytes)),
    };
    match store_document(
        &*write.documents,
        &write.keyring,
        client_id,
        document_id,
        &upload.bytes,
    )
    .await
    {
        Ok(()) => {}
        Err(ClientsError::Documents(PrivacyError::Shredded)) => {
            return Err(CommandError::Rejected(ClientError::Erased).into())
        }
        Err(e) => return Err(e),
    }
    let command = ClientCommand::AddDocument(document);
    match run(write, scope, client_id, command, meta, expected).await {
        Ok(done) => Ok((document_id, done)),
        Err(e) => {
            // The file without its record is of no use and must not linger.
            delete_documents(&*write.documents, client_id, Some(&[document_id]))
                .await
                .map_err(ClientsError::Files)?;
            Err(e.into())
        }
    }
}

/// Runs `command` on the client `client_id` for a caller who sees `scope`: a client outside it
/// answers as if it did not exist. `expected` is the version the caller last saw (If-Match).
pub async fn run(
    write: &WriteSide,
    scope: &ClientScope,
    client_id: Uuid,
    command: ClientCommand,
    meta: &EventMetadata,
    expected: Option<usize>,
) -> Result<Committed, CommandError<ClientError>> {
    let scope = scope.clone();
    let guard = move |c: &Client| {
        if !c.is_onboarded() || scope.covers_client(c) {
            Ok(())
        } else {
            Err(ClientError::NotFound)
        }
    };
    write
        .clients
        .execute_guarded(&client_id.to_string(), command, meta, expected, &guard)
        .await
}

/// Gives the client `manager` to look after them: an active relationship or branch manager of
/// the client's branch.
pub async fn assign_manager(
    write: &WriteSide,
    scope: &ClientScope,
    client_id: Uuid,
    manager: Uuid,
    meta: &EventMetadata,
    expected: Option<usize>,
) -> Result<Committed, ClientsError> {
    let (client, _) = write.clients.load(&client_id.to_string()).await?;
    if !client.is_onboarded() || !scope.covers_client(&client) {
        return Err(CommandError::Rejected(ClientError::NotFound).into());
    }
    let branch = client.branch().map(|b| b.as_str()).unwrap_or_default();
    let serves = write
        .lookups
        .staff_member(manager)
        .await?
        .is_some_and(|m| m.serves(branch));
    if !serves {
        return Err(ClientsError::Invalid {
            field: "relationship_manager",
            message: onboarding::NOT_SERVING,
        });
    }
    let command = ClientCommand::AssignRelationshipManager {
        manager_id: manager,
    };
    Ok(run(write, scope, client_id, command, meta, expected).await?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_whole_files_are_taken() {
        let pdf = include_bytes!("../../../fixtures/documents/pan-card.pdf");
        let png = include_bytes!("../../../fixtures/documents/address-proof.png");
        let jpg = include_bytes!("../../../fixtures/documents/photograph.jpg");
        for (kind, bytes) in [
            ("application/pdf", &pdf[..]),
            ("image/png", &png[..]),
            ("image/jpeg", &jpg[..]),
        ] {
            assert!(whole(kind, bytes), "{kind}");
            assert!(
                !whole(kind, &bytes[..bytes.len() / 2]),
                "{kind} cut in half"
            );
        }
        assert!(!whole("application/pdf", b"%PDF<html></html>"));
        assert!(!whole("image/png", b"\x89PNG\r\n\x1a\n<html></html>"));
        let refused = Upload::new(
            DocumentKind::Photograph,
            "me.png",
            None,
            b"\x89PNG\r\n\x1a\nHTML".to_vec(),
        );
        assert!(matches!(refused, Err(UploadRefused::NotWhole("PNG image"))));
    }
}
