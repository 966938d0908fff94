//! The lead endpoints: handlers only translate HTTP to commands and read models.

// Handlers take one argument per documented parameter.
#![allow(clippy::too_many_arguments)]

use chrono::{DateTime, Utc};
use domain::access::AccessKind;
use domain::input::Change;
use domain::lead::{
    LeadCommand, LeadDetails, LeadDetailsPatch as DetailsPatch, RawChange, RawDetails,
};
use domain::values::Text;
use poem::Request;
use poem_openapi::param::{Header, Path, Query};
use poem_openapi::payload::Json;
use poem_openapi::types::MaybeUndefined;
use poem_openapi::{ApiResponse, Enum, OpenApi, Tags};
use projections::leads::query::{self, DueWindow, FollowUpFilter, LeadFilter, LeadSort};
use uuid::Uuid;

use crate::auth::{Auth, Principal};
use crate::dto::*;
use crate::http::{self, idempotent, CreatedResponse, DoneResponse, Fields, State};
use crate::policy::{self, Action};
use crate::problem::{ApiError, FieldError, ReadError};

#[derive(Tags)]
pub enum ApiTags {
    /// Leads: capture, pipeline, assignment, follow-ups, interactions.
    Leads,
    /// Agents' work lists.
    FollowUps,
    /// Signing in and out, tokens, passwords.
    Auth,
    /// Staff accounts (admins).
    Users,
    /// Audit trail: who did what, the event log export and its checkpoints.
    Audit,
    /// Health, readiness and metrics.
    Operations,
    /// Web-form intake: the keys web forms and partners capture leads with, and the public
    /// capture endpoint.
    Intake,
}

mod answers;

pub use answers::*;

pub struct LeadsApi {
    pub state: State,
}

type Key = Header<Option<String>>;

fn text(f: &mut Fields, field: &str, raw: Option<&str>, max: usize) -> Option<Text> {
    f.opt(field, raw, |s| Text::parse(s, max))
}

fn reason(f: &mut Fields, raw: Option<&str>) -> Option<Text> {
    text(f, "reason", raw, domain::lead::limits::REASON)
}

fn strings(v: &[Str]) -> Vec<String> {
    v.iter().map(|s| s.0.clone()).collect()
}

fn page_limit(l: Option<i64>) -> Result<i64, ApiError> {
    match l {
        None => Ok(50),
        Some(n) if (1..=200).contains(&n) => Ok(n),
        Some(_) => Err(ApiError::field("limit", "must be 1 to 200")),
    }
}

fn accepted(id: Uuid, done: &commands::Committed) -> Json<Accepted> {
    Json(Accepted::of(id, done))
}

/// The filters of the lead list (and its export), as sent.
struct ListParams {
    status: Option<LeadStatus>,
    assignee: Option<Uuid>,
    unassigned: bool,
    source: Option<LeadSource>,
    created_from: Option<DateTime<Utc>>,
    created_to: Option<DateTime<Utc>>,
    follow_up: Option<Due>,
    q: Option<String>,
    include_archived: bool,
    sort: Option<SortField>,
    order: Option<SortOrder>,
}

impl LeadsApi {
    /// The list filter for `p`'s scope from the parameters as sent (422 naming a bad one).
    async fn filter(
        &self,
        p: &Principal,
        params: ListParams,
        limit: i64,
        cursor: Option<String>,
    ) -> Result<LeadFilter, ApiError> {
        if params.q.as_ref().is_some_and(|t| t.chars().count() > 100) {
            return Err(ApiError::field("q", "at most 100 characters"));
        }
        if let (Some(a), Some(b)) = (params.created_from, params.created_to) {
            if a > b {
                return Err(ApiError::field(
                    "created_to",
                    "must not be before created_from",
                ));
            }
        }
        let sort = match params.sort.unwrap_or(SortField::CreatedAt) {
            SortField::CreatedAt => LeadSort::CreatedAt,
            SortField::UpdatedAt => LeadSort::UpdatedAt,
            SortField::Score => LeadSort::Score,
        };
        Ok(LeadFilter {
            visible: policy::scope(&self.state, p).await?,
            search_skips_restricted: policy::sells(p.role),
            status: params.status.map(Into::into),
            assignee: params.assignee,
            unassigned: params.unassigned,
            source: params.source.map(Into::into),
            created_from: params.created_from,
            created_to: params.created_to,
            follow_up: params.follow_up.map(Into::into),
            text: params.q,
            include_archived: params.include_archived,
            sort,
            descending: params.order.unwrap_or(SortOrder::Desc) == SortOrder::Desc,
            limit,
            cursor,
            now: Utc::now(),
        })
    }

    async fn run(
        &self,
        p: &Principal,
        action: Action,
        lead_id: Uuid,
        command: LeadCommand,
        req: &Request,
    ) -> Result<commands::Committed, ApiError> {
        http::run_lead_command(&self.state, p, action, lead_id, command, req).await
    }

    /// The duplicate answer when it discloses people the caller may not open: each is recorded
    /// as an access to that person (the per-user capture limit, checked before any capture by
    /// a caller who does not see every lead, bounds how many such answers one user gets).
    async fn disclosed(&self, req: &Request, visible: Vec<Uuid>, hidden: Vec<Uuid>) -> ApiError {
        for id in hidden {
            if let Err(e) =
                http::record_access(&self.state, req, "lead", id, AccessKind::DuplicateMatch).await
            {
                return e;
            }
        }
        ApiError::duplicate(visible)
    }

    fn details(d: &LeadDetailsReplace) -> Result<LeadDetails, ApiError> {
        let product_interest = strings(&d.product_interest);
        Ok(LeadDetails::parse(RawDetails {
            name: &d.name,
            email: d.email.as_deref(),
            phone: d.phone.as_deref(),
            source: d.source.into(),
            source_detail: d.source_detail.as_deref(),
            product_interest: &product_interest,
            preferred_contact_method: d.preferred_contact_method.map(Into::into),
            preferred_contact_time: d.preferred_contact_time.as_deref(),
            notes: d.notes.as_deref(),
            investment_capacity: d.investment_capacity.map(|c| c.0),
        })?)
    }

    /// 404 unless `p` may see the lead (`None`: it does not exist).
    async fn visible(
        &self,
        p: &Principal,
        view: Option<&projections::leads::LeadView>,
    ) -> Result<(), ApiError> {
        match view {
            Some(v) if self.may_see(p, v.assignee).await? => Ok(()),
            _ => Err(ApiError::not_found("lead")),
        }
    }

    /// Whether `p` may see a lead assigned to `assignee`.
    async fn may_see(&self, p: &Principal, assignee: Option<Uuid>) -> Result<bool, ApiError> {
        Ok(policy::covers(
            &policy::scope(&self.state, p).await?,
            assignee,
        ))
    }

    async fn lead_view(&self, id: Uuid) -> Result<projections::leads::LeadView, ApiError> {
        query::get(&self.state.db, &self.state.keyring, id)
            .await
            .map_err(ApiError::internal)?
            .ok_or_else(|| ApiError::not_found("lead"))
    }
}

/// A lead's events, oldest first, opened and with their metadata (history and export), and
/// the lead as they leave it.
pub(crate) async fn history_entries(
    state: &crate::http::AppState,
    id: Uuid,
) -> Result<(Vec<HistoryEntry>, projections::leads::LeadView), ApiError> {
    http::timeline(state, id, "lead").await
}

mod duplicates;
pub mod import;
mod intake;
mod merge;
mod pipeline;
mod work;

pub use duplicates::{ClientDuplicatesApi, DuplicatesApi};
pub use import::ImportApi;
pub use intake::IntakeApi;
pub use merge::MergeApi;
pub(crate) use merge::{merged_interactions, merged_views, moved_note};
pub use pipeline::PipelineApi;
pub use work::FollowUpsApi;

#[OpenApi]
impl LeadsApi {
    /// Capture a lead
    ///
    /// From a web form (`channel: web_form`) or entered by hand. Needs an e-mail address or an
    /// Indian mobile number; optionally assigns it at once, to an agent or by round-robin.
    #[oai(
        path = "/api/leads",
        method = "post",
        tag = "ApiTags::Leads",
        operation_id = "captureLead"
    )]
    async fn capture(
        &self,
        req: &Request,
        auth: Auth,
        body: Json<NewLead>,
        /// Makes the command safe to retry: a repeat gets the first answer, changing nothing.
        #[oai(name = "Idempotency-Key")]
        key: Key,
    ) -> Result<CreatedResponse, ApiError> {
        // Before anything else (the duplicate check would otherwise tell a role that may
        // not capture whether a person is on file).
        policy::require(&auth.0, Action::LeadCapture)?;
        let fingerprint = http::fingerprint(&body.0);
        idempotent(&self.state, key.0, req, fingerprint, || async {
            let b = body.0;
            let details = Self::details(&LeadDetailsReplace {
                name: b.name,
                email: b.email,
                phone: b.phone,
                source: b.source,
                source_detail: b.source_detail,
                product_interest: b.product_interest,
                preferred_contact_method: b.preferred_contact_method,
                preferred_contact_time: b.preferred_contact_time,
                notes: b.notes,
                investment_capacity: b.investment_capacity,
            })?;
            let scope = policy::scope(&self.state, &auth.0).await?;
            // A caller who does not see every lead could test contacts against the prospect
            // base through duplicate answers: their captures are limited per minute, whether or
            // not the person is on file (so the limit itself tells nothing).
            if scope.is_some() && !b.allow_duplicate {
                http::limit_work(&self.state, auth.0.user_id, "lead captures")?;
            }
            let lead = commands::leads::NewLead {
                details,
                channel: b.channel.unwrap_or(CaptureChannel::Manual).into(),
                assign_to: b.assign_to,
                round_robin: b.round_robin,
                allow_duplicate: b.allow_duplicate,
            };
            let meta = http::metadata(req);
            let captured =
                commands::leads::capture(&self.state.write, &auth.0.actor(), &scope, lead, &meta)
                    .await;
            let (lead_id, done) = match captured {
                Err(commands::leads::LeadsError::Duplicate { visible, hidden })
                    if !hidden.is_empty() =>
                {
                    return Err(self.disclosed(req, visible, hidden).await);
                }
                other => other?,
            };
            Ok(CreatedResponse::Created(
                accepted(lead_id, &done),
                format!("/api/leads/{lead_id}"),
            ))
        })
        .await
    }

    /// List leads
    ///
    /// Filters combine with AND. Archived leads are left out unless `include_archived`. Keyset
    /// pagination: pass `next_cursor` back as `cursor` with the same filters and sort.
    #[oai(
        path = "/api/leads",
        method = "get",
        tag = "ApiTags::Leads",
        operation_id = "listLeads"
    )]
    #[allow(clippy::too_many_arguments)]
    async fn list(
        &self,
        req: &Request,
        auth: Auth,
        /// Only leads in this status.
        status: Query<Option<LeadStatus>>,
        /// Only leads assigned to this agent.
        assignee: Query<Option<Uuid>>,
        /// Only leads nobody is assigned to.
        #[oai(default)]
        unassigned: Query<bool>,
        /// Only leads from this source.
        source: Query<Option<LeadSource>>,
        /// Created at or after this time.
        created_from: Query<Option<DateTime<Utc>>>,
        /// Created before this time.
        created_to: Query<Option<DateTime<Utc>>>,
        /// Only leads whose next open follow-up is in this window.
        follow_up: Query<Option<Due>>,
        /// Search: an e-mail address or a phone number matches exactly; other text matches
        /// leads whose name or notes contain every word (a whole word, or the beginning of a
        /// name word of three letters or more, as an agent types; data is encrypted).
        q: Query<Option<String>>,
        /// Include archived leads, and those whose data was erased (left out by default).
        #[oai(default)]
        include_archived: Query<bool>,
        /// Sort field (default `created_at`).
        sort: Query<Option<SortField>>,
        /// Sort order (default `desc`).
        order: Query<Option<SortOrder>>,
        /// Page size, 1 to 200 (default 50).
        #[oai(validator(minimum(value = "1"), maximum(value = "200")))]
        limit: Query<Option<i64>>,
        /// The `next_cursor` of the previous page.
        cursor: Query<Option<String>>,
        /// Wait until the read model has this log position (read your own writes).
        min_position: Query<Option<i64>>,
    ) -> Result<LeadListResponse, ReadError> {
        policy::require(&auth.0, Action::LeadRead)?;
        http::wait_for(&self.state, http::min_position(min_position.0, req)?).await?;
        let filter = self
            .filter(
                &auth.0,
                ListParams {
                    status: status.0,
                    assignee: assignee.0,
                    unassigned: unassigned.0,
                    source: source.0,
                    created_from: created_from.0,
                    created_to: created_to.0,
                    follow_up: follow_up.0,
                    q: q.0,
                    include_archived: include_archived.0,
                    sort: sort.0,
                    order: order.0,
                },
                page_limit(limit.0)?,
                cursor.0,
            )
            .await?;
        let page = query::list(&self.state.db, &self.state.keyring, &filter)
            .await
            .map_err(|e| match e {
                query::QueryError::BadCursor => ApiError::field("cursor", e.to_string()),
                query::QueryError::Store(e) => ApiError::internal(e),
            })?;
        Ok(LeadListResponse::Ok(Json(LeadPage {
            items: page
                .items
                .into_iter()
                .map(|v| (&policy::shown(&auth.0, v)).into())
                .collect(),
            next_cursor: page.next_cursor,
            total: page.total,
        })))
    }

    /// Export leads as CSV
    ///
    /// The leads the list shows with the same filters and sort, within what the caller may
    /// see, as a spreadsheet: at most 10,000 rows (422 beyond: narrow the filters). Name,
    /// e-mail and phone appear as the list shows them (masked for a person whose processing is
    /// restricted, for sales roles); each person whose data is exported is recorded as an
    /// access to it. A cell a spreadsheet would run as a formula is kept as text. For admins,
    /// branch managers and compliance officers.
    #[oai(
        path = "/api/leads/export",
        method = "get",
        tag = "ApiTags::Leads",
        operation_id = "exportLeads"
    )]
    async fn export(
        &self,
        req: &Request,
        auth: Auth,
        /// Only leads in this status.
        status: Query<Option<LeadStatus>>,
        /// Only leads assigned to this agent.
        assignee: Query<Option<Uuid>>,
        /// Only leads nobody is assigned to.
        #[oai(default)]
        unassigned: Query<bool>,
        /// Only leads from this source.
        source: Query<Option<LeadSource>>,
        /// Created at or after this time.
        created_from: Query<Option<DateTime<Utc>>>,
        /// Created before this time.
        created_to: Query<Option<DateTime<Utc>>>,
        /// Only leads whose next open follow-up is in this window.
        follow_up: Query<Option<Due>>,
        /// Search, as for the list.
        q: Query<Option<String>>,
        /// Include archived leads, and those whose data was erased (left out by default).
        #[oai(default)]
        include_archived: Query<bool>,
        /// Sort field (default `created_at`).
        sort: Query<Option<SortField>>,
        /// Sort order (default `desc`).
        order: Query<Option<SortOrder>>,
    ) -> Result<crate::spreadsheet::CsvResponse, ReadError> {
        use crate::spreadsheet::{Table, EXPORT_MAX};
        policy::require(&auth.0, Action::LeadRead)?;
        policy::require(&auth.0, Action::RecordsExport)?;
        let params = ListParams {
            status: status.0,
            assignee: assignee.0,
            unassigned: unassigned.0,
            source: source.0,
            created_from: created_from.0,
            created_to: created_to.0,
            follow_up: follow_up.0,
            q: q.0,
            include_archived: include_archived.0,
            sort: sort.0,
            order: order.0,
        };
        let filter = self
            .filter(&auth.0, params, EXPORT_MAX as i64 + 1, None)
            .await?;
        let page = query::list(&self.state.db, &self.state.keyring, &filter)
            .await
            .map_err(ApiError::internal)?;
        crate::spreadsheet::within_limit("leads", page.items.len(), page.total)?;
        let mut table = Table::new(&[
            "id",
            "name",
            "email",
            "phone",
            "source",
            "source_detail",
            "product_interest",
            "status",
            "lost_reason",
            "assignee",
            "score",
            "next_follow_up",
            "archived",
            "created_at",
            "updated_at",
        ])
        .map_err(ApiError::internal)?;
        let mut exported = Vec::with_capacity(page.items.len());
        for v in page.items {
            if !policy::restricted_for(&auth.0, &v) {
                exported.push(v.lead_id);
            }
            let v = policy::shown(&auth.0, v);
            let time = |t: Option<DateTime<Utc>>| t.map(|t| t.to_rfc3339()).unwrap_or_default();
            table
                .row([
                    v.lead_id.to_string(),
                    v.name.clone(),
                    v.email.clone().unwrap_or_default(),
                    v.phone.clone().unwrap_or_default(),
                    v.source.as_str().to_string(),
                    v.source_detail.clone().unwrap_or_default(),
                    v.product_interest.join(";"),
                    v.status.as_str().to_string(),
                    v.lost_reason.clone().unwrap_or_default(),
                    v.assignee.map(|a| a.to_string()).unwrap_or_default(),
                    v.score.to_string(),
                    time(v.next_follow_up()),
                    v.archived.to_string(),
                    v.created_at.to_rfc3339(),
                    v.updated_at.to_rfc3339(),
                ])
                .map_err(ApiError::internal)?;
        }
        Ok(
            crate::spreadsheet::exported(&self.state, req, "lead", &exported, table, "leads")
                .await?,
        )
    }

    /// A lead's history
    ///
    /// Every event of the lead with who did it, when, from where and in which request, oldest
    /// first. Read from the event log itself.
    #[oai(
        path = "/api/leads/:id/history",
        method = "get",
        tag = "ApiTags::Leads",
        operation_id = "getLeadHistory"
    )]
    async fn history(
        &self,
        req: &Request,
        auth: Auth,
        /// The lead's id.
        id: Path<Uuid>,
    ) -> Result<HistoryResponse, ReadError> {
        policy::require(&auth.0, Action::LeadHistory)?;
        // Access is decided on the lead as its own events leave it (no read-model lag).
        let (items, now) = history_entries(&self.state, id.0).await?;
        self.visible(&auth.0, Some(&now)).await?;
        http::record_access(&self.state, req, "lead", id.0, AccessKind::History).await?;
        // Processing restricted (erasure asked for): sales roles see what happened, not what
        // was said.
        let items = if policy::restricted_for(&auth.0, &now) {
            items
                .into_iter()
                .map(|mut e| {
                    e.data = serde_json::Value::Null;
                    e.changes.clear();
                    e
                })
                .collect()
        } else {
            items
        };
        Ok(HistoryResponse::Ok(Json(History { items })))
    }

    /// Active agents
    ///
    /// The staff the caller may assign leads to, with their names, roles and branches (by
    /// branch, then name): everyone for admins, the branch for managers, oneself for agents.
    /// Round-robin rotates through those `in_rotation` (the relationship managers); a branch
    /// manager takes a lead only when named.
    #[oai(
        path = "/api/agents",
        method = "get",
        tag = "ApiTags::Leads",
        operation_id = "listAgents"
    )]
    async fn agents(&self, auth: Auth) -> Result<AgentsResponse, ReadError> {
        policy::require(&auth.0, Action::AgentList)?;
        let staff = commands::leads::assignable(&self.state.write, &auth.0.actor())
            .await
            .map_err(ApiError::from)?;
        let ids: Vec<Uuid> = staff.iter().map(|(id, _)| *id).collect();
        let mut names = projections::users::names(&self.state.db, &ids)
            .await
            .map_err(ApiError::internal)?;
        let mut items: Vec<AgentOut> = staff
            .into_iter()
            .map(|(id, role)| {
                let (name, branch) = names.remove(&id).unwrap_or_default();
                AgentOut {
                    id,
                    name,
                    role: role.into(),
                    branch,
                    in_rotation: role == domain::user::Role::RelationshipManager,
                }
            })
            .collect();
        items.sort_by(|a, b| a.branch.cmp(&b.branch).then(a.name.cmp(&b.name)));
        Ok(AgentsResponse::Ok(Json(Agents { items })))
    }
}
