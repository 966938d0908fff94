//! The KYC endpoints: filing documents in a client's case, the case and its review queue,
//! submission, maker-checker review and decision, the risk profile and the KRA/CKYC
//! registries. Handlers only translate HTTP to use cases and read models.

// Handlers take one argument per documented parameter.
#![allow(clippy::too_many_arguments)]

pub mod dto;
mod review;

pub use review::KycReviewApi;

use chrono::{DateTime, NaiveDate, Utc};
use commands::kyc::{KycUpload, KycUseError, Verdict};
use domain::access::AccessKind;
use domain::client::ClientError;
use domain::kyc::{Decision, DocumentFinding, DocumentVerdict, KycDocumentType, RiskProfile};
use domain::values::{CkycNumber, Text};
use poem::Request;
use poem_openapi::param::{Path, Query};
use poem_openapi::payload::Json;
use poem_openapi::{ApiResponse, OpenApi, Tags};
use uuid::Uuid;

use crate::auth::Auth;
use crate::dto::Accepted;
use crate::http::{self, CreatedResponse, DoneResponse, Fields, State};
use crate::policy::{self, Action};
use crate::problem::{ApiError, FieldError, ReadError};
use dto::*;

#[derive(Tags)]
pub enum KycTags {
    /// KYC: documents, cases, maker-checker review, risk category, KRA and CKYC.
    Kyc,
}

#[derive(Debug, ApiResponse)]
pub enum KycResponse {
    /// The client's KYC; `ETag` is its version.
    #[oai(status = 200)]
    Ok(Json<KycOut>, #[oai(header = "ETag")] String),
}

#[derive(Debug, ApiResponse)]
pub enum KycAlertsResponse {
    /// The alerts raised for the clients the caller may see.
    #[oai(status = 200)]
    Ok(Json<KycAlerts>),
}

pub struct KycApi {
    pub state: State,
}

fn done(client_id: Uuid, committed: &commands::Committed) -> DoneResponse {
    DoneResponse::Done(Json(Accepted::of(client_id, committed)))
}

fn date(f: &mut Fields, field: &str, raw: Option<&str>) -> Option<NaiveDate> {
    let raw = raw.map(str::trim).filter(|r| !r.is_empty())?;
    match NaiveDate::parse_from_str(raw, "%Y-%m-%d") {
        Ok(d) => Some(d),
        Err(_) => {
            f.errors
                .push(FieldError::new(field, "not a date (expected YYYY-MM-DD)"));
            None
        }
    }
}

fn text_list(f: &mut Fields, field: &str, raw: &[crate::dto::Str]) -> Vec<Text> {
    raw.iter()
        .filter_map(|r| f.take(field, Text::parse(r, 500)))
        .collect()
}

/// Flags documents whose number is also on another client's document: identity documents by
/// their number, an Aadhaar card by the blind index of its whole number (its masked form, like
/// a branch's IFSC, is shared by many).
async fn flag_reused_numbers(
    state: &crate::http::AppState,
    view: &projections::kyc::KycView,
    out: &mut KycOut,
) -> Result<(), ApiError> {
    for (d, seen) in out.documents.iter_mut().zip(&view.documents) {
        let holders = if let Some(index) = seen.number_index.as_deref() {
            projections::kyc::query::holders_of_aadhaar(&state.db, index).await
        } else {
            let identity = matches!(
                d.document_type.as_str(),
                "passport" | "voter_id" | "driving_licence" | "pan_card"
            );
            let Some(number) = d.number.as_deref().filter(|_| identity) else {
                continue;
            };
            projections::clients::query::holders_of_document_number(
                &state.db,
                &state.keyring,
                number,
            )
            .await
        }
        .map_err(ApiError::internal)?;
        d.number_on_other_clients = holders.iter().any(|h| *h != out.client_id);
    }
    Ok(())
}

#[OpenApi]
impl KycApi {
    /// Upload a KYC document
    ///
    /// A `multipart/form-data` form: the client, the document's type, number and dates, and
    /// the file (PDF, JPEG or PNG detected from its content — 415 otherwise —, at most
    /// `CRM_MAX_UPLOAD` bytes — 413). The file is sealed with the client's key and kept as a
    /// client document; the client's open KYC case records it (a case is opened if none is).
    /// An Aadhaar number is checked (Verhoeff) and only its masked form is kept. Nothing is
    /// stored when anything is refused.
    #[oai(
        path = "/api/kyc/upload",
        method = "post",
        tag = "KycTags::Kyc",
        operation_id = "uploadKycDocument"
    )]
    async fn upload(
        &self,
        req: &Request,
        auth: Auth,
        form: KycUploadForm,
    ) -> Result<CreatedResponse, ApiError> {
        policy::require(&auth.0, Action::KycPrepare)?;
        http::limit_work(&self.state, auth.0.user_id, "uploads")?;
        let mut f = Fields::default();
        let client_id = match Uuid::parse_str(form.client_id.trim()) {
            Ok(id) => Some(id),
            Err(_) => {
                f.errors
                    .push(FieldError::new("client_id", "not a client id"));
                None
            }
        };
        let document_type = KycDocumentType::parse(form.document_type.trim());
        if document_type.is_none() {
            let names: Vec<&str> = KycDocumentType::ALL.iter().map(|t| t.as_str()).collect();
            f.errors.push(FieldError::new(
                "document_type",
                format!("one of {}", names.join(", ")),
            ));
        }
        let issue_date = date(&mut f, "issue_date", form.issue_date.as_deref());
        let expiry_date = date(&mut f, "expiry_date", form.expiry_date.as_deref());
        f.finish()?;
        let (Some(client_id), Some(document_type)) = (client_id, document_type) else {
            unreachable!("refused above");
        };
        let file_name = form.file.file_name().unwrap_or_default().to_string();
        let bytes = form
            .file
            .into_vec()
            .await
            .map_err(|e| ApiError::bad_request(format!("the file could not be read: {e}")))?;
        let upload = KycUpload {
            document_type,
            number: form.number,
            issue_date,
            expiry_date,
            masked_copy: form.masked_copy.unwrap_or(false),
            file_name,
            bytes,
        };
        let scope = policy::client_scope(&auth.0);
        let (document_id, committed) = commands::kyc::upload(
            &self.state.write,
            &auth.0.actor(),
            &scope,
            client_id,
            upload,
            &http::metadata(req),
        )
        .await
        .map_err(|e| match e {
            // The client is named in the body: an unknown one is a field error.
            KycUseError::Client(commands::clients::ClientsError::Command(
                commands::CommandError::Rejected(ClientError::NotFound),
            )) => ApiError::field("client_id", "no client with this id"),
            other => other.into(),
        })?;
        Ok(CreatedResponse::Created(
            Json(Accepted {
                client_id: Some(client_id),
                ..Accepted::of(document_id, &committed)
            }),
            format!("/api/kyc/{client_id}"),
        ))
    }

    /// A client's KYC
    ///
    /// The case in hand: its state, the items present and missing, each document's state and
    /// expiry, the risk category, the KRA status, the next re-KYC date and whether the client
    /// may trade. Recorded as an access to the person's data. With `as_of`, the KYC as it
    /// stood at that time, folded from the event log.
    #[oai(
        path = "/api/kyc/:client_id",
        method = "get",
        tag = "KycTags::Kyc",
        operation_id = "getKyc"
    )]
    async fn get(
        &self,
        req: &Request,
        auth: Auth,
        /// The client's id.
        client_id: Path<Uuid>,
        /// Wait until the read model has this log position (read your own writes).
        min_position: Query<Option<i64>>,
        /// The KYC as it stood at this time, folded from the event log.
        as_of: Query<Option<DateTime<Utc>>>,
    ) -> Result<KycResponse, ReadError> {
        policy::require(&auth.0, Action::KycRead)?;
        // Whoever may not see the client may not see their KYC (the client read model is
        // asked, so it must have caught up too).
        let wanted = http::min_position(min_position.0, req)?;
        http::wait_for_in(&self.state, projections::clients::NAME, wanted).await?;
        let client = crate::clients::visible_client(&self.state, &auth.0, client_id.0).await?;
        // A person who asked for erasure is for compliance only: sales roles see the KYC
        // without its personal data.
        let restricted = policy::restricted_for(&auth.0, &client);
        let rules = &self.state.write.kyc.services().rules.required;
        let view = if let Some(at) = as_of.0 {
            let (_, then) =
                http::now_and_at::<projections::kyc::KycView>(&self.state, client_id.0, at).await?;
            let view = then.ok_or_else(|| ApiError::not_found("KYC case at that time"))?;
            http::record_access(&self.state, req, "client", client_id.0, AccessKind::AsOf).await?;
            view
        } else {
            let wanted = http::min_position(min_position.0, req)?;
            http::wait_for_in(&self.state, projections::kyc::NAME, wanted).await?;
            let view =
                projections::kyc::query::get(&self.state.db, &self.state.keyring, client_id.0)
                    .await
                    .map_err(ApiError::internal)?
                    .ok_or_else(|| ApiError::not_found("KYC case"))?;
            http::record_access(&self.state, req, "client", client_id.0, AccessKind::Profile)
                .await?;
            view
        };
        let view = if restricted {
            policy::masked(view)
        } else {
            view
        };
        let etag = format!("\"{}\"", view.version);
        let mut out = KycOut::of(&view, rules, Utc::now());
        flag_reused_numbers(&self.state, &view, &mut out).await?;
        Ok(KycResponse::Ok(Json(out), etag))
    }

    /// KYC alerts
    ///
    /// Documents of verified cases expiring and re-KYC falling due within the alert window
    /// (`CRM_KYC_ALERT_WINDOW_DAYS`, 30 by default), as the alert run raised them (once per
    /// item and window), the soonest due first, for the clients the caller may see.
    #[oai(
        path = "/api/kyc/alerts",
        method = "get",
        tag = "KycTags::Kyc",
        operation_id = "listKycAlerts"
    )]
    async fn alerts(
        &self,
        auth: Auth,
        /// `document_expiring` or `rekyc_due_soon`.
        kind: Query<Option<String>>,
        /// Only alerts due on or before this date (`YYYY-MM-DD`).
        due_by: Query<Option<String>>,
        /// How many clients' alerts at most, 1 to 500 (default 200).
        limit: Query<Option<i64>>,
    ) -> Result<KycAlertsResponse, ReadError> {
        policy::require(&auth.0, Action::KycRead)?;
        let mut f = Fields::default();
        let kind = kind.0.map(|k| k.trim().to_string());
        if kind
            .as_deref()
            .is_some_and(|k| domain::kyc::AlertKind::parse(k).is_none())
        {
            f.errors.push(FieldError::new(
                "kind",
                "one of document_expiring, rekyc_due_soon",
            ));
        }
        let due_by = date(&mut f, "due_by", due_by.0.as_deref());
        let limit = limit.0.unwrap_or(200);
        if !(1..=500).contains(&limit) {
            f.errors.push(FieldError::new("limit", "1 to 500"));
        }
        f.finish()?;
        let scope = policy::client_scope(&auth.0);
        let views = projections::kyc::query::with_alerts(
            &self.state.db,
            &self.state.keyring,
            &scope,
            limit,
        )
        .await
        .map_err(|e| ApiError::internal(e.to_string()))?;
        let mut items: Vec<KycAlertOut> = views
            .iter()
            .flat_map(KycAlertOut::all_of)
            .filter(|a| kind.as_deref().is_none_or(|k| a.kind == k))
            .filter(|a| due_by.is_none_or(|d| a.due_on <= d))
            .collect();
        items.sort_by_key(|a| (a.due_on, a.client_id));
        Ok(KycAlertsResponse::Ok(Json(KycAlerts { items })))
    }

    /// Submit a KYC case
    ///
    /// Sends the case for review once it holds every required item (by client type; an
    /// income proof for derivatives) and the six mandatory attributes (name, PAN, address,
    /// mobile, e-mail, income range — the last from the risk profile). 409 names what is
    /// missing.
    #[oai(
        path = "/api/kyc/:client_id/submit",
        method = "post",
        tag = "KycTags::Kyc",
        operation_id = "submitKyc"
    )]
    async fn submit(
        &self,
        req: &Request,
        auth: Auth,
        /// The client's id.
        client_id: Path<Uuid>,
    ) -> Result<DoneResponse, ApiError> {
        policy::require(&auth.0, Action::KycPrepare)?;
        let scope = policy::client_scope(&auth.0);
        let committed = commands::kyc::submit(
            &self.state.write,
            &auth.0.actor(),
            &scope,
            client_id.0,
            &http::metadata(req),
        )
        .await?;
        Ok(done(client_id.0, &committed))
    }

    /// Record the client's risk profile
    ///
    /// PEP status, income range, occupation, country of residence and derivatives trading;
    /// the risk category follows (high: PEP or a FATF call-for-action country; medium:
    /// resident abroad, a cash-intensive occupation, or derivatives on an income under 5
    /// lakh; low otherwise) and sets the re-KYC interval.
    #[oai(
        path = "/api/kyc/:client_id/risk",
        method = "put",
        tag = "KycTags::Kyc",
        operation_id = "setKycRiskProfile"
    )]
    async fn risk(
        &self,
        req: &Request,
        auth: Auth,
        /// The client's id.
        client_id: Path<Uuid>,
        body: Json<RiskProfileIn>,
    ) -> Result<DoneResponse, ApiError> {
        policy::require(&auth.0, Action::KycPrepare)?;
        let body = body.0;
        let mut f = Fields::default();
        let occupation = domain::kyc::Occupation::parse(body.occupation.trim());
        if occupation.is_none() {
            let names: Vec<&str> = domain::kyc::Occupation::ALL
                .iter()
                .map(|o| o.as_str())
                .collect();
            f.errors.push(FieldError::new(
                "occupation",
                format!("one of {}", names.join(", ")),
            ));
        }
        let country = body.country.trim().to_ascii_uppercase();
        if country.len() != 2 || !country.bytes().all(|b| b.is_ascii_uppercase()) {
            f.errors.push(FieldError::new(
                "country",
                "an ISO 3166-1 alpha-2 country code (IN, AE, …)",
            ));
        }
        f.finish()?;
        let profile = RiskProfile {
            pep: body.pep,
            income_range: body.income_range.into(),
            occupation: occupation.expect("checked above"),
            country,
            derivatives: body.derivatives,
        };
        let scope = policy::client_scope(&auth.0);
        let committed = commands::kyc::categorise(
            &self.state.write,
            &auth.0.actor(),
            &scope,
            client_id.0,
            profile,
            &http::metadata(req),
        )
        .await?;
        Ok(done(client_id.0, &committed))
    }
}
