//! KYC use cases: filing a document in the client's case (the file kept like any client
//! document), submitting, reviewing and deciding (maker-checker), the risk profile, the KRA
//! status and the CKYC number, and the scheduler's alert and re-KYC run ([`alerts`]).

pub mod alerts;
pub mod registry;

use chrono::NaiveDate;
use domain::access::{Actor, ClientScope};
use domain::client::ClientError;
use domain::kyc::{
    ClientType, Decision, DocumentFinding, KraStatus, KycCommand, KycDocument, KycDocumentType,
    KycError, ProfileAttributes, RiskProfile,
};
use domain::values::{
    AadhaarNumber, CkycNumber, DrivingLicence, Ifsc, MaskedAadhaar, Pan, PassportNumber, Text,
    VoterId,
};
use sha2::{Digest, Sha256};
use store::EventMetadata;
use uuid::Uuid;

use crate::clients::{self, ClientsError, Upload, UploadRefused};
use crate::{CommandError, Committed, WriteSide};

#[derive(Debug, thiserror::Error)]
pub enum KycUseError {
    #[error(transparent)]
    Command(#[from] CommandError<KycError>),
    /// The client (missing, out of scope, erased, closed) or its document store.
    #[error(transparent)]
    Client(#[from] ClientsError),
    /// The file itself (name, emptiness, what it is).
    #[error(transparent)]
    Upload(#[from] UploadRefused),
    /// A value valid on its own does not fit (the field, and why).
    #[error("{field}: {message}")]
    Invalid {
        field: &'static str,
        message: String,
    },
    /// The file is of a kind this document cannot be (a photograph as a PDF).
    #[error("{0}")]
    WrongFileType(&'static str),
    /// The KRA/CKYC registry could not be asked.
    #[error("{0}")]
    Registry(String),
}

impl From<CommandError<ClientError>> for KycUseError {
    fn from(e: CommandError<ClientError>) -> Self {
        KycUseError::Client(e.into())
    }
}

/// A KYC document as received; its values are checked here against the client.
#[derive(Debug, Clone)]
pub struct KycUpload {
    pub document_type: KycDocumentType,
    pub number: Option<String>,
    pub issue_date: Option<NaiveDate>,
    pub expiry_date: Option<NaiveDate>,
    /// The sender declares an Aadhaar file a masked copy (whole copies are not taken).
    pub masked_copy: bool,
    pub file_name: String,
    pub bytes: Vec<u8>,
}

/// The client's PAN and kind, for a caller who may see the client (else not found).
async fn client_of(
    write: &WriteSide,
    scope: &ClientScope,
    client_id: Uuid,
) -> Result<(Pan, ClientType), KycUseError> {
    let (client, _) = write.clients.load(&client_id.to_string()).await?;
    if !client.is_onboarded() || !scope.covers_client(&client) {
        return Err(CommandError::Rejected(ClientError::NotFound).into());
    }
    client.ensure_changeable().map_err(CommandError::Rejected)?;
    let pan = client
        .pan()
        .cloned()
        .ok_or(CommandError::Rejected(ClientError::Erased))?;
    let kind = ClientType::of_pan(&pan).ok_or_else(|| KycUseError::Invalid {
        field: "client_id",
        message: format!(
            "the client's PAN names a holder of kind '{}': KYC takes individuals, HUFs, companies, partnerships and trusts",
            pan.holder()
        ),
    })?;
    Ok((pan, kind))
}

/// The number a document of this type is filed with: parsed by its own rules, an Aadhaar
/// number only masked (with the blind index of the whole number when it was typed in whole),
/// a PAN card's number the client's PAN.
fn document_number(
    keyring: &store::privacy::Keyring,
    document_type: KycDocumentType,
    raw: Option<&str>,
    pan: &Pan,
    this_year: i32,
) -> Result<(Option<Text>, Option<String>), KycUseError> {
    let invalid = |message: String| KycUseError::Invalid {
        field: "number",
        message,
    };
    let raw = raw.map(str::trim).filter(|r| !r.is_empty());
    if !document_type.has_number() {
        return match raw {
            None => Ok((None, None)),
            Some(_) => Err(invalid(format!(
                "a {} is filed without a number",
                document_type.as_str()
            ))),
        };
    }
    let raw = raw.ok_or_else(|| {
        invalid(format!(
            "a {} is filed with its number",
            document_type.as_str()
        ))
    })?;
    let mut index = None;
    let kept = match document_type {
        KycDocumentType::PanCard => {
            let card = Pan::parse(raw).map_err(|e| invalid(e.message))?;
            if card != *pan {
                return Err(invalid(
                    "the PAN card's number is not the client's PAN".into(),
                ));
            }
            card.as_str().to_string()
        }
        KycDocumentType::Aadhaar => match AadhaarNumber::parse(raw) {
            Ok(whole) => {
                index = Some(keyring.blind_index("aadhaar", whole.digits()));
                whole.masked().as_str().to_string()
            }
            Err(whole_error) => MaskedAadhaar::parse(raw)
                .map_err(|_| invalid(whole_error.message))?
                .as_str()
                .to_string(),
        },
        KycDocumentType::Passport => PassportNumber::parse(raw)
            .map_err(|e| invalid(e.message))?
            .as_str()
            .to_string(),
        KycDocumentType::VoterId => VoterId::parse(raw)
            .map_err(|e| invalid(e.message))?
            .as_str()
            .to_string(),
        KycDocumentType::DrivingLicence => DrivingLicence::parse(raw, this_year)
            .map_err(|e| invalid(e.message))?
            .as_str()
            .to_string(),
        KycDocumentType::BankProof => Ifsc::parse(raw)
            .map_err(|e| invalid(e.message))?
            .as_str()
            .to_string(),
        _ => unreachable!("has_number covers the rest"),
    };
    let kept = Text::parse(&kept, 64).map_err(|e| invalid(e.message))?;
    Ok((Some(kept), index))
}

/// Files a document in the client's open case (opening one if none is open): checked against
/// the client and the case first, then the file is kept as a client document (sealed with the
/// client's key), then the case records it. Answers the document's id.
pub async fn upload(
    write: &WriteSide,
    actor: &Actor,
    scope: &ClientScope,
    client_id: Uuid,
    upload: KycUpload,
    meta: &EventMetadata,
) -> Result<(Uuid, Committed), KycUseError> {
    let (pan, client_type) = client_of(write, scope, client_id).await?;
    let services = write.kyc.services();
    let today = domain::kyc::india_today(services.clock.now());
    let this_year = chrono::Datelike::year(&today);
    let (number, number_index) = document_number(
        &write.keyring,
        upload.document_type,
        upload.number.as_deref(),
        &pan,
        this_year,
    )?;
    if upload.document_type == KycDocumentType::Aadhaar && !upload.masked_copy {
        return Err(KycUseError::Invalid {
            field: "masked_copy",
            message: "an Aadhaar card is taken only as a masked copy (the first eight digits hidden): declare masked_copy=true".into(),
        });
    }
    // People name Aadhaar scans after the number: the name is not kept.
    let file_name = match upload.document_type {
        KycDocumentType::Aadhaar => "aadhaar-masked-copy",
        _ => upload.file_name.as_str(),
    };
    let checked = Upload::new(
        upload.document_type.document_kind(),
        file_name,
        number.as_ref().map(Text::as_str),
        upload.bytes,
    )?;
    let image_only = matches!(
        upload.document_type,
        KycDocumentType::Photograph | KycDocumentType::Signature
    );
    if image_only && checked.content_type == "application/pdf" {
        return Err(KycUseError::WrongFileType(
            "a photograph or a signature is a JPEG or PNG image",
        ));
    }
    let mut document = KycDocument {
        document_id: Uuid::nil(),
        document_type: upload.document_type,
        number: number.clone(),
        number_index,
        issue_date: upload.issue_date,
        expiry_date: upload.expiry_date,
        sha256: hex::encode(Sha256::digest(&checked.bytes)),
        uploaded_by: actor.user_id,
    };
    let new_case_id = Uuid::now_v7();
    let command = |document: KycDocument| KycCommand::AttachDocument {
        new_case_id,
        client_id,
        client_type,
        document,
    };
    // The case's refusals come before anything is stored, and the case waits (in this
    // process) until the document is in it: nothing between the check and the attach can
    // leave a stored file outside the case.
    let turn = write.kyc.turn(&client_id.to_string()).await;
    let (kyc, _) = write.kyc.load(&client_id.to_string()).await?;
    kyc.decide(command(document.clone()), services)
        .map_err(CommandError::Rejected)?;
    let (document_id, _) =
        clients::upload_document(write, scope, client_id, checked, meta, None).await?;
    document.document_id = document_id;
    let done = write
        .kyc
        .execute_in_turn(&turn, command(document), meta)
        .await?;
    Ok((document_id, done))
}

/// Runs a case step on the KYC of a client the caller may see.
async fn step(
    write: &WriteSide,
    scope: &ClientScope,
    client_id: Uuid,
    command: KycCommand,
    meta: &EventMetadata,
) -> Result<Committed, KycUseError> {
    client_of(write, scope, client_id).await?;
    Ok(write
        .kyc
        .execute(&client_id.to_string(), command, meta, None)
        .await?)
}

/// Submits the case for review; the client's profile holds the mandatory attributes (an
/// onboarded client's always does), the case's risk profile the income range.
pub async fn submit(
    write: &WriteSide,
    actor: &Actor,
    scope: &ClientScope,
    client_id: Uuid,
    meta: &EventMetadata,
) -> Result<Committed, KycUseError> {
    let command = KycCommand::Submit {
        by: actor.user_id,
        profile: ProfileAttributes {
            name: true,
            pan: true,
            address: true,
            mobile: true,
            email: true,
        },
    };
    step(write, scope, client_id, command, meta).await
}

/// Takes a submitted case under review.
pub async fn start_review(
    write: &WriteSide,
    actor: &Actor,
    scope: &ClientScope,
    client_id: Uuid,
    meta: &EventMetadata,
) -> Result<Committed, KycUseError> {
    let command = KycCommand::StartReview {
        by: actor.user_id,
        role: actor.role,
    };
    step(write, scope, client_id, command, meta).await
}

/// What a reviewer decided, with their reasons and their findings per document.
#[derive(Debug, Clone)]
pub struct Verdict {
    pub decision: Decision,
    pub reasons: Vec<Text>,
    pub documents: Vec<DocumentFinding>,
}

/// A reviewer's decision on the case.
pub async fn decide(
    write: &WriteSide,
    actor: &Actor,
    scope: &ClientScope,
    client_id: Uuid,
    verdict: Verdict,
    meta: &EventMetadata,
) -> Result<Committed, KycUseError> {
    let command = KycCommand::Decide {
        by: actor.user_id,
        role: actor.role,
        decision: verdict.decision,
        reasons: verdict.reasons,
        documents: verdict.documents,
    };
    step(write, scope, client_id, command, meta).await
}

/// Records the client's risk profile (the category follows from it).
pub async fn categorise(
    write: &WriteSide,
    actor: &Actor,
    scope: &ClientScope,
    client_id: Uuid,
    profile: RiskProfile,
    meta: &EventMetadata,
) -> Result<Committed, KycUseError> {
    let command = KycCommand::Categorise {
        profile,
        by: actor.user_id,
    };
    step(write, scope, client_id, command, meta).await
}

/// Records the KRA status and, when given, the CKYC number.
pub async fn record_registries(
    write: &WriteSide,
    actor: &Actor,
    scope: &ClientScope,
    client_id: Uuid,
    kra: Option<KraStatus>,
    ckyc: Option<CkycNumber>,
    meta: &EventMetadata,
) -> Result<Committed, KycUseError> {
    client_of(write, scope, client_id).await?;
    if kra.is_none() && ckyc.is_none() {
        return Err(KycUseError::Invalid {
            field: "body",
            message: "give a kra_status, a ckyc_number or both".into(),
        });
    }
    let command = KycCommand::RecordRegistries {
        kra_status: kra,
        ckyc_number: ckyc,
        by: actor.user_id,
    };
    Ok(write
        .kyc
        .execute(&client_id.to_string(), command, meta, None)
        .await?)
}

/// Asks the registries about the client's PAN and records what they say (the KRA status, and
/// the CKYC number when there is one). Answers what was found.
pub async fn check_registries(
    write: &WriteSide,
    registry: &dyn registry::RegistryProvider,
    actor: &Actor,
    scope: &ClientScope,
    client_id: Uuid,
    meta: &EventMetadata,
) -> Result<(registry::RegistryAnswer, Committed), KycUseError> {
    let (pan, _) = client_of(write, scope, client_id).await?;
    let answer = registry
        .lookup(&pan)
        .await
        .map_err(|e| KycUseError::Registry(e.to_string()))?;
    let done = record_registries(
        write,
        actor,
        scope,
        client_id,
        Some(answer.kra_status),
        answer.ckyc_number.clone(),
        meta,
    )
    .await?;
    Ok((answer, done))
}
