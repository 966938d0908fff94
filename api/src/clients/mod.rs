//! The client endpoints: onboarding, profile, relationship manager, closing the account, and
//! KYC documents. Handlers only translate HTTP to commands and read models.

// Handlers take one argument per documented parameter.
#![allow(clippy::too_many_arguments)]

pub mod details;
mod documents;
pub mod dto;
pub mod segments;
mod work;

pub use work::ClientWorkApi;

use chrono::{DateTime, Utc};
use domain::access::AccessKind;
use domain::client::{
    ClientCommand, ClientProfile, ClientProfileChange, DetailsEdit, RawProfile, RawProfileChange,
    Segment,
};
use domain::kyc::KycStatus;
use domain::user::Branch;
use domain::values::Text;
use poem::Request;
use poem_openapi::param::{Header, Path, Query};
use poem_openapi::payload::Json;
use poem_openapi::{ApiResponse, OpenApi, Tags};
use projections::clients::query::ClientFilter;
use uuid::Uuid;

use crate::auth::{Auth, Principal};
use crate::dto::{Accepted, W};
use crate::http::{self, idempotent, CreatedResponse, DoneResponse, Fields, State};
use crate::policy::{self, Action};
use crate::problem::{ApiError, FieldError, ReadError};
use dto::*;

#[derive(Tags)]
pub enum ClientTags {
    /// Clients: onboarding, profile, relationship manager, account closure, KYC documents.
    Clients,
}

#[derive(Debug, ApiResponse)]
pub enum ClientResponse {
    /// The client; `ETag` is its version, for `If-Match`.
    #[oai(status = 200)]
    Ok(Json<ClientOut>, #[oai(header = "ETag")] String),
}

#[derive(Debug, ApiResponse)]
pub enum ClientListResponse {
    /// One page of clients.
    #[oai(status = 200)]
    Ok(Json<ClientList>),
}

#[derive(Debug, ApiResponse)]
pub enum ClientHistoryResponse {
    /// The client's events, oldest first.
    #[oai(status = 200)]
    Ok(Json<crate::dto::History>),
}

#[derive(Debug, ApiResponse)]
pub enum TimelineResponse {
    /// A page of the person's timeline, newest first.
    #[oai(status = 200)]
    Ok(Json<TimelinePage>),
}

type Key = Header<Option<String>>;

pub struct ClientsApi {
    pub state: State,
}

fn accepted(id: Uuid, done: &commands::Committed) -> Json<Accepted> {
    Json(Accepted::of(id, done))
}

/// The answer of a command on client `id` that committed as `done`.
fn done(id: Uuid) -> impl FnOnce(&commands::Committed) -> DoneResponse {
    move |done| DoneResponse::Done(accepted(id, done))
}

mod records;

pub use records::run_client_command;
pub(crate) use records::{client_history_entries, edit_client, visible_client};

fn text(f: &mut Fields, field: &str, raw: Option<&str>, max: usize) -> Option<Text> {
    f.opt(field, raw, |s| Text::parse(s, max))
}

/// The filters of the client list (and its export), as sent.
struct ClientListParams {
    q: Option<String>,
    document_number: Option<String>,
    status: Option<ClientStatus>,
    branch: Option<String>,
    relationship_manager: Option<Uuid>,
    segment: Option<W<Segment>>,
    kyc_status: Option<W<KycStatus>>,
}

/// The list filter for `p`'s scope from the parameters as sent (422 naming bad ones).
fn client_filter(
    p: &Principal,
    params: ClientListParams,
    limit: i64,
    cursor: Option<String>,
) -> Result<ClientFilter, ApiError> {
    let mut f = Fields::default();
    let branch = f.opt("branch", params.branch.as_deref(), Branch::parse);
    if params.q.as_ref().is_some_and(|t| t.chars().count() > 200) {
        f.errors
            .push(FieldError::new("q", "at most 200 characters"));
    }
    if let Some(n) = params.document_number.as_deref() {
        if projections::clients::normalise_number(n).is_empty() || n.len() > 64 {
            f.errors.push(FieldError::new(
                "document_number",
                "1 to 64 characters with letters or digits",
            ));
        }
    }
    f.finish()?;
    Ok(ClientFilter {
        scope: policy::client_scope(p),
        search_skips_restricted: policy::sells(p.role),
        status: params.status.map(|s| s.as_str().to_string()),
        branch: branch.map(|b| b.as_str().to_string()),
        relationship_manager: params.relationship_manager,
        segment: params.segment.map(|s| s.0.as_str().to_string()),
        kyc_status: params.kyc_status.map(|s| s.0.as_str().to_string()),
        text: params.q,
        document_number: params.document_number,
        limit,
        cursor,
    })
}

#[OpenApi]
impl ClientsApi {
    /// Onboard a client
    ///
    /// Records a new client (usually from a converted lead, whose conversion named the client's
    /// id). The PAN is checked for uniqueness by its blind index: a second client with the same
    /// PAN is refused with 409 `/problems/duplicate-client`. Personal data is sealed with the
    /// client's own key before it is stored.
    #[oai(
        path = "/api/clients",
        method = "post",
        tag = "ClientTags::Clients",
        operation_id = "onboardClient"
    )]
    async fn onboard(
        &self,
        req: &Request,
        auth: Auth,
        body: Json<NewClient>,
        /// Makes the command safe to retry: a repeat gets the first answer, changing nothing.
        #[oai(name = "Idempotency-Key")]
        key: Key,
    ) -> Result<CreatedResponse, ApiError> {
        policy::require(&auth.0, Action::ClientOnboard)?;
        let p = &auth.0;
        idempotent(
            &self.state,
            key.0,
            req,
            http::fingerprint(&body.0),
            || async {
                let b = &body.0;
                let raw = RawProfile {
                    name: &b.name,
                    email: &b.email,
                    phone: &b.phone,
                    pan: &b.pan,
                    date_of_birth: &b.date_of_birth,
                    address: &b.address,
                };
                let mut f = Fields::default();
                let today = domain::kyc::india_today(chrono::Utc::now());
                let profile = f.checked(ClientProfile::parse(raw, today));
                let branch = f.opt("branch", b.branch.as_deref(), Branch::parse);
                let details = b
                    .details
                    .as_ref()
                    .map(|d| details::parse(&mut f, d, today))
                    .unwrap_or_default();
                f.finish()?;
                let profile = profile.ok_or_else(|| ApiError::bad_request("invalid client"))?;
                let new = commands::clients::NewClient {
                    lead_id: b.lead_id,
                    profile,
                    branch,
                    relationship_manager: b.relationship_manager,
                    details,
                };
                let scope = policy::scope(&self.state, p).await?;
                let meta = http::metadata(req);
                let (client_id, done) =
                    commands::clients::onboard(&self.state.write, &p.actor(), &scope, new, &meta)
                        .await?;
                Ok(CreatedResponse::Created(
                    accepted(client_id, &done),
                    format!("/api/clients/{client_id}"),
                ))
            },
        )
        .await
    }

    /// List clients
    ///
    /// Newest first, within what the caller may see: name, contact, the PAN's last four
    /// characters, branch, manager and status (the full record is `GET /api/clients/{id}`, and
    /// each such read is recorded). `q` finds a client by PAN, e-mail address
    /// or phone number (exact, through blind indexes), or by words of the name or address.
    /// People whose data was erased are left out unless `status=erased`. Keyset pagination:
    /// pass `next_cursor` back as `cursor` with the same filters.
    #[oai(
        path = "/api/clients",
        method = "get",
        tag = "ClientTags::Clients",
        operation_id = "listClients"
    )]
    async fn list(
        &self,
        req: &Request,
        auth: Auth,
        /// PAN, e-mail, phone, or words of the name or address (a whole word, or the beginning
        /// of a name word of three letters or more).
        q: Query<Option<String>>,
        /// A document's number (passport, voter id …), matched exactly.
        document_number: Query<Option<String>>,
        status: Query<Option<ClientStatus>>,
        branch: Query<Option<String>>,
        relationship_manager: Query<Option<Uuid>>,
        segment: Query<Option<W<Segment>>>,
        /// The status of the client's KYC case.
        kyc_status: Query<Option<W<KycStatus>>>,
        /// 1 to 200; default 50.
        limit: Query<Option<i64>>,
        cursor: Query<Option<String>>,
        /// Wait until the read model has this log position (read your own writes).
        min_position: Query<Option<i64>>,
    ) -> Result<ClientListResponse, ReadError> {
        policy::require(&auth.0, Action::ClientRead)?;
        let limit = match limit.0 {
            None => 50,
            Some(n) if (1..=200).contains(&n) => n,
            Some(_) => return Err(ApiError::field("limit", "must be 1 to 200").into()),
        };
        let filter = client_filter(
            &auth.0,
            ClientListParams {
                q: q.0,
                document_number: document_number.0,
                status: status.0,
                branch: branch.0,
                relationship_manager: relationship_manager.0,
                segment: segment.0,
                kyc_status: kyc_status.0,
            },
            limit,
            cursor.0,
        )?;
        http::wait_for_in(
            &self.state,
            projections::clients::NAME,
            http::min_position(min_position.0, req)?,
        )
        .await?;
        let page = projections::clients::query::list(&self.state.db, &self.state.keyring, &filter)
            .await
            .map_err(|e| match e {
                projections::leads::query::QueryError::BadCursor => {
                    ApiError::field("cursor", e.to_string())
                }
                other => ApiError::internal(other),
            })?;
        Ok(ClientListResponse::Ok(Json(ClientList {
            items: page
                .items
                .into_iter()
                .map(|v| ClientSummary::from(&policy::shown(&auth.0, v)))
                .collect(),
            next_cursor: page.next_cursor,
            total: page.total,
        })))
    }

    /// Export clients as CSV
    ///
    /// The clients the list shows with the same filters, within what the caller may see, as a
    /// spreadsheet: at most 10,000 rows (422 beyond: narrow the filters). Name, e-mail and
    /// phone appear as the list shows them (masked for a person whose processing is
    /// restricted, for sales roles), the PAN only by its last four characters; each person
    /// whose data is exported is recorded as an access to it. A cell a spreadsheet would run
    /// as a formula is kept as text. For admins, branch managers and compliance officers.
    #[oai(
        path = "/api/clients/export",
        method = "get",
        tag = "ClientTags::Clients",
        operation_id = "exportClients"
    )]
    async fn export(
        &self,
        req: &Request,
        auth: Auth,
        /// PAN, e-mail, phone, or words of the name or address (a whole word, or the beginning
        /// of a name word of three letters or more).
        q: Query<Option<String>>,
        /// A document's number (passport, voter id …), matched exactly.
        document_number: Query<Option<String>>,
        status: Query<Option<ClientStatus>>,
        branch: Query<Option<String>>,
        relationship_manager: Query<Option<Uuid>>,
        segment: Query<Option<W<Segment>>>,
        /// The status of the client's KYC case.
        kyc_status: Query<Option<W<KycStatus>>>,
    ) -> Result<crate::spreadsheet::CsvResponse, ReadError> {
        use crate::spreadsheet::{Table, EXPORT_MAX};
        policy::require(&auth.0, Action::ClientRead)?;
        policy::require(&auth.0, Action::RecordsExport)?;
        let params = ClientListParams {
            q: q.0,
            document_number: document_number.0,
            status: status.0,
            branch: branch.0,
            relationship_manager: relationship_manager.0,
            segment: segment.0,
            kyc_status: kyc_status.0,
        };
        let filter = client_filter(&auth.0, params, EXPORT_MAX as i64 + 1, None)?;
        let page = projections::clients::query::list(&self.state.db, &self.state.keyring, &filter)
            .await
            .map_err(ApiError::internal)?;
        crate::spreadsheet::within_limit("clients", page.items.len(), page.total)?;
        let mut table = Table::new(&[
            "id",
            "name",
            "email",
            "phone",
            "pan_last4",
            "branch",
            "relationship_manager",
            "status",
            "restricted",
            "created_at",
            "updated_at",
        ])
        .map_err(ApiError::internal)?;
        let mut exported = Vec::with_capacity(page.items.len());
        for v in page.items {
            if !policy::restricted_for(&auth.0, &v) && v.status() != "erased" {
                exported.push(v.client_id);
            }
            let c = ClientSummary::from(&policy::shown(&auth.0, v));
            table
                .row([
                    c.id.to_string(),
                    c.name,
                    c.email,
                    c.phone,
                    c.pan_masked.trim_start_matches('*').to_string(),
                    c.branch,
                    c.relationship_manager
                        .map(|m| m.to_string())
                        .unwrap_or_default(),
                    c.status.as_str().to_string(),
                    c.restricted.to_string(),
                    c.created_at.to_rfc3339(),
                    c.updated_at.to_rfc3339(),
                ])
                .map_err(ApiError::internal)?;
        }
        Ok(
            crate::spreadsheet::exported(&self.state, req, "client", &exported, table, "clients")
                .await?,
        )
    }

    /// Get a client
    ///
    /// The client with documents and privacy state. The read is recorded as an access to the
    /// person's data. With `as_of`, the client as they stood at that time, folded from the event
    /// log (compliance replay); whether the caller may see them is decided on the client now.
    #[oai(
        path = "/api/clients/:id",
        method = "get",
        tag = "ClientTags::Clients",
        operation_id = "getClient"
    )]
    async fn get(
        &self,
        req: &Request,
        auth: Auth,
        /// The client's id.
        id: Path<Uuid>,
        /// Wait until the read model has this log position (read your own writes).
        min_position: Query<Option<i64>>,
        /// The client as they stood at this time, folded from the event log.
        as_of: Query<Option<DateTime<Utc>>>,
    ) -> Result<ClientResponse, ReadError> {
        policy::require(&auth.0, Action::ClientRead)?;
        if let Some(at) = as_of.0 {
            let (now, then) =
                http::now_and_at::<projections::clients::ClientView>(&self.state, id.0, at).await?;
            let scope = policy::client_scope(&auth.0);
            let now = now
                .filter(|v| v.in_scope(&scope))
                .ok_or_else(|| ApiError::not_found("client"))?;
            let view = then.ok_or_else(|| ApiError::not_found("client at that time"))?;
            // Restriction is decided on the client as they are now, not as they were then.
            let view = if policy::restricted_for(&auth.0, &now) {
                policy::masked(view)
            } else {
                view
            };
            http::record_access(&self.state, req, "client", id.0, AccessKind::AsOf).await?;
            let etag = format!("\"{}\"", view.version);
            return Ok(ClientResponse::Ok(
                Json(ClientOut::shown(&view, self.state.write.retention)),
                etag,
            ));
        }
        http::wait_for_in(
            &self.state,
            projections::clients::NAME,
            http::min_position(min_position.0, req)?,
        )
        .await?;
        let view = visible_client(&self.state, &auth.0, id.0).await?;
        let restricted = policy::restricted_for(&auth.0, &view);
        let view = policy::shown(&auth.0, view);
        http::record_access(&self.state, req, "client", id.0, AccessKind::Profile).await?;
        let etag = format!("\"{}\"", view.version);
        let mut out = ClientOut::shown(&view, self.state.write.retention);
        if !view.merged_leads.is_empty() && !restricted {
            // Notes of follow-ups moved from merged leads stay on those leads.
            let merged =
                crate::leads::merged_views(&self.state, &auth.0, req, &view.merged_leads).await?;
            for (f, v) in out.follow_ups.iter_mut().zip(&view.follow_ups) {
                if f.note.is_none() {
                    f.note = crate::leads::moved_note(&merged, v.moved_from);
                }
            }
        }
        Ok(ClientResponse::Ok(Json(out), etag))
    }

    /// A client's history
    ///
    /// Every recorded change, oldest first, with who made it, when and from where, and the
    /// fields it changed. Recorded as an access to the person's data.
    #[oai(
        path = "/api/clients/:id/history",
        method = "get",
        tag = "ClientTags::Clients",
        operation_id = "getClientHistory"
    )]
    async fn history(
        &self,
        req: &Request,
        auth: Auth,
        /// The client's id.
        id: Path<Uuid>,
    ) -> Result<ClientHistoryResponse, ReadError> {
        policy::require(&auth.0, Action::ClientRead)?;
        let view = visible_client(&self.state, &auth.0, id.0).await?;
        if policy::sells(auth.0.role) && view.restricted() {
            return Err(ApiError::conflict(
                "processing-restricted",
                "the person asked for erasure: their history is for compliance only",
            )
            .into());
        }
        let items = client_history_entries(&self.state, id.0).await?;
        http::record_access(&self.state, req, "client", id.0, AccessKind::History).await?;
        Ok(ClientHistoryResponse::Ok(Json(crate::dto::History {
            items,
        })))
    }

    /// A client's timeline
    ///
    /// What happened to the person, newest first: interactions and follow-ups, lead stages and
    /// account status moves, KYC steps, trades, consent and privacy steps, profile changes —
    /// of the client and of the lead they came from. Filter by `kind` (repeat it for several);
    /// keyset pages: pass `next_cursor` back as `cursor`. Personal fields read `[personal]`
    /// (the record shows them to those who may see them). Sales roles may not read the
    /// timeline of a person who asked for erasure (409). Recorded as an access.
    #[oai(
        path = "/api/clients/:id/timeline",
        method = "get",
        tag = "ClientTags::Clients",
        operation_id = "getClientTimeline"
    )]
    async fn timeline(
        &self,
        req: &Request,
        auth: Auth,
        /// The client's id.
        id: Path<Uuid>,
        /// Only entries of these kinds (repeat the parameter for several).
        #[oai(default)]
        kind: Query<Vec<TimelineKind>>,
        /// 1 to 200; default 50.
        limit: Query<Option<i64>>,
        /// The `next_cursor` of the previous page.
        cursor: Query<Option<String>>,
        /// Wait until the read models have this log position (read your own writes).
        min_position: Query<Option<i64>>,
    ) -> Result<TimelineResponse, ReadError> {
        policy::require(&auth.0, Action::ClientRead)?;
        let limit = match limit.0 {
            None => 50,
            Some(n) if (1..=200).contains(&n) => n,
            Some(_) => return Err(ApiError::field("limit", "must be 1 to 200").into()),
        };
        let before = match cursor.0.as_deref() {
            None => None,
            Some(c) => match c.parse::<i64>() {
                Ok(p) if p > 0 => Some(p),
                _ => return Err(ApiError::field("cursor", "not a cursor this list gave").into()),
            },
        };
        let at = http::min_position(min_position.0, req)?;
        http::wait_for_in(&self.state, projections::clients::NAME, at).await?;
        http::wait_for_in(&self.state, projections::client_timeline::NAME, at).await?;
        let view = visible_client(&self.state, &auth.0, id.0).await?;
        if policy::sells(auth.0.role) && view.restricted() {
            return Err(ApiError::conflict(
                "processing-restricted",
                "the person asked for erasure: their timeline is for compliance only",
            )
            .into());
        }
        let mut subjects = vec![id.0.to_string()];
        if let Some(lead) = view.lead_id {
            subjects.push(lead.to_string());
        }
        // Leads merged into the client are the same person's history.
        subjects.extend(view.merged_leads.iter().map(|m| m.lead_id.to_string()));
        let kinds: Vec<_> = kind.0.iter().map(|k| k.read()).collect();
        let rows =
            projections::client_timeline::page(&self.state.db, &subjects, &kinds, before, limit)
                .await
                .map_err(ApiError::internal)?;
        http::record_access(&self.state, req, "client", id.0, AccessKind::History).await?;
        let next_cursor = (rows.len() as i64 == limit)
            .then(|| rows.last().map(|r| r.position.to_string()))
            .flatten();
        let items = rows
            .into_iter()
            .map(|r| TimelineEntry {
                position: r.position,
                kind: r.kind,
                event_type: r.event_type,
                record: r.aggregate_type,
                record_id: Uuid::parse_str(&r.subject_id).unwrap_or_default(),
                at: r.recorded_at,
                actor_id: r.actor_id,
                actor_role: r.actor_role,
                detail: r.detail,
            })
            .collect();
        Ok(TimelineResponse::Ok(Json(TimelinePage {
            items,
            next_cursor,
        })))
    }

    /// Update a client's profile
    ///
    /// Name, e-mail, phone and address; absent fields stay. Emits only what changed. Refused
    /// (409) once the relationship is closed or the person asked for erasure.
    #[oai(
        path = "/api/clients/:id",
        method = "patch",
        tag = "ClientTags::Clients",
        operation_id = "updateClientProfile"
    )]
    async fn patch(
        &self,
        req: &Request,
        auth: Auth,
        /// The client's id.
        id: Path<Uuid>,
        body: Json<ClientPatch>,
        /// Makes the command safe to retry: a repeat gets the first answer, changing nothing.
        #[oai(name = "Idempotency-Key")]
        key: Key,
        /// Only act if the client is still at this version (its `ETag`); otherwise 412.
        #[oai(name = "If-Match")]
        _if_match: Key,
    ) -> Result<DoneResponse, ApiError> {
        policy::require(&auth.0, Action::ClientEdit)?;
        idempotent(
            &self.state,
            key.0,
            req,
            http::fingerprint(&body.0),
            || async {
                let b = &body.0;
                let change = ClientProfileChange::parse(RawProfileChange {
                    name: b.name.as_deref(),
                    email: b.email.as_deref(),
                    phone: b.phone.as_deref(),
                    address: b.address.as_deref(),
                })?;
                let done = run_client_command(
                    &self.state,
                    &auth.0,
                    Action::ClientEdit,
                    id.0,
                    ClientCommand::UpdateProfile(change),
                    req,
                )
                .await?;
                Ok(DoneResponse::Done(accepted(id.0, &done)))
            },
        )
        .await
    }

    /// Replace a client's record
    ///
    /// The whole editable record: name, primary e-mail and phone, address and every part of
    /// `details` (a part left out is cleared). PAN and date of birth are identity and are not
    /// edited. Emits only what changed; a new declared net worth that moves the client's
    /// segment records the move. Refused (409) once the relationship is closed or the person
    /// asked for erasure; 422 names every value or rule not kept (one primary per list, shares
    /// adding up to 100, a PIN code in its state, a guardian for a minor).
    #[oai(
        path = "/api/clients/:id",
        method = "put",
        tag = "ClientTags::Clients",
        operation_id = "replaceClient"
    )]
    async fn replace(
        &self,
        req: &Request,
        auth: Auth,
        /// The client's id.
        id: Path<Uuid>,
        body: Json<ClientReplace>,
        /// Makes the command safe to retry: a repeat gets the first answer, changing nothing.
        #[oai(name = "Idempotency-Key")]
        key: Key,
        /// Only act if the client is still at this version (its `ETag`); otherwise 412.
        #[oai(name = "If-Match")]
        _if_match: Key,
    ) -> Result<DoneResponse, ApiError> {
        policy::require(&auth.0, Action::ClientEdit)?;
        let b = &body.0;
        let mut f = Fields::default();
        let today = domain::kyc::india_today(Utc::now());
        let profile = f.checked(ClientProfileChange::parse(RawProfileChange {
            name: Some(&b.name),
            email: Some(&b.email),
            phone: Some(&b.phone),
            address: Some(&b.address),
        }));
        let whole = details::parse(&mut f, &b.details.clone().unwrap_or_default(), today);
        f.finish()?;
        let mut edit = DetailsEdit::whole(whole);
        // Lists left out leave the client with only their primary e-mail and phone.
        if let Some((emails, phones)) = &mut edit.contacts {
            if b.details.as_ref().is_none_or(|d| d.emails.is_none()) {
                emails.clear();
            }
            if b.details.as_ref().is_none_or(|d| d.phones.is_none()) {
                phones.clear();
            }
        }
        let command = ClientCommand::UpdateDetails {
            profile: profile.unwrap_or_default(),
            details: edit,
        };
        edit_client(
            &self.state,
            req,
            &auth.0,
            id.0,
            key.0,
            http::fingerprint(b),
            command,
            done(id.0),
        )
        .await
    }

    /// Replace a client's contacts
    ///
    /// Every e-mail address and phone of the client, each with a label, one of each primary
    /// (it becomes the client's `email` and `phone`), and the preferred channel and time.
    #[oai(
        path = "/api/clients/:id/contacts",
        method = "put",
        tag = "ClientTags::Clients",
        operation_id = "replaceClientContacts"
    )]
    async fn replace_contacts(
        &self,
        req: &Request,
        auth: Auth,
        /// The client's id.
        id: Path<Uuid>,
        body: Json<ContactsReplace>,
        /// Makes the command safe to retry: a repeat gets the first answer, changing nothing.
        #[oai(name = "Idempotency-Key")]
        key: Key,
        /// Only act if the client is still at this version (its `ETag`); otherwise 412.
        #[oai(name = "If-Match")]
        _if_match: Key,
    ) -> Result<DoneResponse, ApiError> {
        policy::require(&auth.0, Action::ClientEdit)?;
        let b = &body.0;
        let mut f = Fields::default();
        if b.emails.is_empty() {
            f.errors
                .push(FieldError::new("emails", "at least one (the primary)"));
        }
        if b.phones.is_empty() {
            f.errors
                .push(FieldError::new("phones", "at least one (the primary)"));
        }
        let emails = details::emails(&mut f, &b.emails);
        let phones = details::phones(&mut f, &b.phones);
        f.finish()?;
        let command = ClientCommand::UpdateDetails {
            profile: ClientProfileChange::default(),
            details: DetailsEdit {
                contacts: Some((emails, phones)),
                preferences: Some((
                    b.preferred_channel.map(|w| w.0),
                    b.preferred_time.map(|w| w.0),
                )),
                ..Default::default()
            },
        };
        edit_client(
            &self.state,
            req,
            &auth.0,
            id.0,
            key.0,
            http::fingerprint(b),
            command,
            done(id.0),
        )
        .await
    }

    /// Replace a client's addresses
    ///
    /// The client's structured addresses: at most one correspondence and one permanent, each
    /// with a PIN code in its state's postal zone.
    #[oai(
        path = "/api/clients/:id/addresses",
        method = "put",
        tag = "ClientTags::Clients",
        operation_id = "replaceClientAddresses"
    )]
    async fn replace_addresses(
        &self,
        req: &Request,
        auth: Auth,
        /// The client's id.
        id: Path<Uuid>,
        body: Json<AddressesReplace>,
        /// Makes the command safe to retry: a repeat gets the first answer, changing nothing.
        #[oai(name = "Idempotency-Key")]
        key: Key,
        /// Only act if the client is still at this version (its `ETag`); otherwise 412.
        #[oai(name = "If-Match")]
        _if_match: Key,
    ) -> Result<DoneResponse, ApiError> {
        policy::require(&auth.0, Action::ClientEdit)?;
        let mut f = Fields::default();
        let addresses = details::addresses(&mut f, &body.0.addresses);
        f.finish()?;
        let command = ClientCommand::UpdateDetails {
            profile: ClientProfileChange::default(),
            details: DetailsEdit {
                addresses: Some(addresses),
                ..Default::default()
            },
        };
        edit_client(
            &self.state,
            req,
            &auth.0,
            id.0,
            key.0,
            http::fingerprint(&body.0),
            command,
            done(id.0),
        )
        .await
    }

    /// Replace a client's nominees
    ///
    /// Up to ten nominees whose shares add up to 100 (two decimals at most); a nominee under
    /// 18 names a guardian. An empty list removes them all.
    #[oai(
        path = "/api/clients/:id/nominees",
        method = "put",
        tag = "ClientTags::Clients",
        operation_id = "replaceClientNominees"
    )]
    async fn replace_nominees(
        &self,
        req: &Request,
        auth: Auth,
        /// The client's id.
        id: Path<Uuid>,
        body: Json<NomineesReplace>,
        /// Makes the command safe to retry: a repeat gets the first answer, changing nothing.
        #[oai(name = "Idempotency-Key")]
        key: Key,
        /// Only act if the client is still at this version (its `ETag`); otherwise 412.
        #[oai(name = "If-Match")]
        _if_match: Key,
    ) -> Result<DoneResponse, ApiError> {
        policy::require(&auth.0, Action::ClientEdit)?;
        let mut f = Fields::default();
        let today = domain::kyc::india_today(Utc::now());
        let nominees = details::nominees(&mut f, &body.0.nominees, today);
        f.finish()?;
        let command = ClientCommand::UpdateDetails {
            profile: ClientProfileChange::default(),
            details: DetailsEdit {
                nominees: Some(nominees),
                ..Default::default()
            },
        };
        edit_client(
            &self.state,
            req,
            &auth.0,
            id.0,
            key.0,
            http::fingerprint(&body.0),
            command,
            done(id.0),
        )
        .await
    }

    /// Assign a relationship manager
    ///
    /// Branch managers and admins; the manager must be active in the client's branch.
    #[oai(
        path = "/api/clients/:id/relationship-manager",
        method = "put",
        tag = "ClientTags::Clients",
        operation_id = "assignRelationshipManager"
    )]
    async fn assign(
        &self,
        req: &Request,
        auth: Auth,
        /// The client's id.
        id: Path<Uuid>,
        body: Json<AssignManager>,
    ) -> Result<DoneResponse, ApiError> {
        policy::require(&auth.0, Action::ClientAssign)?;
        let done = commands::clients::assign_manager(
            &self.state.write,
            &policy::client_scope(&auth.0),
            id.0,
            body.0.relationship_manager,
            &http::metadata(req),
            http::if_match(req)?,
        )
        .await?;
        Ok(DoneResponse::Done(accepted(id.0, &done)))
    }

    /// Close the relationship
    ///
    /// The account is closed: the client takes no more changes, and the retention periods
    /// (client records, KYC documents) start counting. Also possible while an erasure request
    /// restricts processing.
    #[oai(
        path = "/api/clients/:id/close",
        method = "post",
        tag = "ClientTags::Clients",
        operation_id = "closeClient"
    )]
    async fn close(
        &self,
        req: &Request,
        auth: Auth,
        /// The client's id.
        id: Path<Uuid>,
        body: Json<CloseRequest>,
        /// Makes the command safe to retry: a repeat gets the first answer, changing nothing.
        #[oai(name = "Idempotency-Key")]
        key: Key,
    ) -> Result<DoneResponse, ApiError> {
        policy::require(&auth.0, Action::ClientClose)?;
        idempotent(
            &self.state,
            key.0,
            req,
            http::fingerprint(&body.0),
            || async {
                let mut f = Fields::default();
                let reason = text(&mut f, "reason", Some(&body.0.reason), 1000);
                f.finish()?;
                let reason = reason.ok_or_else(|| ApiError::bad_request("reason"))?;
                let done = run_client_command(
                    &self.state,
                    &auth.0,
                    Action::ClientClose,
                    id.0,
                    ClientCommand::CloseRelationship { reason },
                    req,
                )
                .await?;
                Ok(DoneResponse::Done(accepted(id.0, &done)))
            },
        )
        .await
    }

    /// Move the account's status
    ///
    /// `suspended` (from active or inactive, with a reason), `active` (from inactive or
    /// suspended; from closed it reopens the account within its retention period, with a
    /// reason), `closed` (with a reason; as `POST /api/clients/{id}/close`). Dormancy
    /// (`inactive`) is marked by the scheduled step, not by hand. A move the lifecycle does not
    /// allow is 409 naming the moves allowed.
    #[oai(
        path = "/api/clients/:id/status",
        method = "post",
        tag = "ClientTags::Clients",
        operation_id = "moveClientStatus"
    )]
    async fn move_status(
        &self,
        req: &Request,
        auth: Auth,
        /// The client's id.
        id: Path<Uuid>,
        body: Json<AccountMove>,
        /// Makes the command safe to retry: a repeat gets the first answer, changing nothing.
        #[oai(name = "Idempotency-Key")]
        key: Key,
        /// Only act if the client is still at this version (its `ETag`); otherwise 412.
        #[oai(name = "If-Match")]
        _if_match: Key,
    ) -> Result<DoneResponse, ApiError> {
        policy::require(&auth.0, Action::ClientClose)?;
        idempotent(
            &self.state,
            key.0,
            req,
            http::fingerprint(&body.0),
            || async {
                let b = &body.0;
                let mut f = Fields::default();
                let reason = text(&mut f, "reason", b.reason.as_deref(), 1000);
                if reason.is_none() && b.status != AccountMoveTo::Active {
                    f.errors.push(FieldError::new(
                        "reason",
                        "required to suspend or close an account",
                    ));
                }
                f.finish()?;
                let command = match (b.status, reason) {
                    (AccountMoveTo::Active, reason) => ClientCommand::Reactivate { reason },
                    (AccountMoveTo::Suspended, Some(reason)) => ClientCommand::Suspend { reason },
                    (AccountMoveTo::Closed, Some(reason)) => {
                        ClientCommand::CloseRelationship { reason }
                    }
                    (_, None) => return Err(ApiError::bad_request("reason")),
                };
                let closing = matches!(command, ClientCommand::CloseRelationship { .. });
                let done = commands::clients::run(
                    &self.state.write,
                    &policy::client_scope(&auth.0),
                    id.0,
                    command,
                    &http::metadata(req),
                    http::if_match(req)?,
                )
                .await
                .map_err(|e| match e {
                    // Closing a closed account is a move like any other the lifecycle refuses.
                    commands::CommandError::Rejected(domain::client::ClientError::Closed)
                        if closing =>
                    {
                        use domain::client::{AccountStatus, ClientError};
                        commands::CommandError::Rejected(ClientError::IllegalMove {
                            from: AccountStatus::Closed,
                            to: AccountStatus::Closed,
                        })
                        .into()
                    }
                    other => ApiError::from(other),
                })?;
                Ok(DoneResponse::Done(accepted(id.0, &done)))
            },
        )
        .await
    }
}

pub use documents::{safe_file_name, DocumentsApi};
