//! Merging a duplicate lead into another lead or into a client, and undoing the merge. Both
//! records change in one transaction; the merged lead's history stays readable, and the undo
//! is a compensating pair of events.

// Handlers take one argument per documented parameter.
#![allow(clippy::too_many_arguments)]

use commands::leads::merge::{MergeError, Merged, Scopes};
use domain::merge::{MergeKind, MergeTarget};
use poem_openapi::Object;

use super::*;

pub struct MergeApi {
    pub state: State,
}

/// Where to merge a duplicate lead: into another lead, or into a client (exactly one).
#[derive(Debug, Clone, Object)]
#[oai(example, deny_unknown_fields)]
pub struct MergeRequest {
    /// The lead that stays (the survivor).
    pub into_lead: Option<Uuid>,
    /// The client the lead is the same person as.
    pub into_client: Option<Uuid>,
    /// Why (kept in the merged lead's history; up to 1,000 characters).
    pub reason: Option<Str>,
}

impl poem_openapi::types::Example for MergeRequest {
    fn example() -> Self {
        Self {
            into_lead: Some(Uuid::from_u128(0x0193_5e2a_41c7_7b3e_9a10_44d2_6f8e_5b01)),
            into_client: None,
            reason: Some("same person: web form and walk-in".into()),
        }
    }
}

/// Why a merge is undone.
#[derive(Debug, Clone, Object)]
#[oai(example, deny_unknown_fields)]
pub struct UnmergeRequest {
    /// Why (kept in the lead's history; up to 1,000 characters).
    pub reason: Option<Str>,
}

impl poem_openapi::types::Example for UnmergeRequest {
    fn example() -> Self {
        Self {
            reason: Some("different people with one family e-mail".into()),
        }
    }
}

/// A merge or its undo, done: both records' log positions.
#[derive(Debug, Clone, Object)]
#[oai(example)]
pub struct MergeAnswer {
    /// The merged lead.
    pub lead_id: Uuid,
    /// The survivor.
    pub survivor: MergeTargetOut,
    /// Whether the lead is merged now (false after an undo).
    pub merged: bool,
    /// Open follow-ups moved to the survivor (on merge) or back to the lead (on undo).
    pub follow_ups_moved: usize,
    /// The log position of the last event of both (pass it as `min_position`).
    pub position: i64,
}

impl poem_openapi::types::Example for MergeAnswer {
    fn example() -> Self {
        Self {
            lead_id: Uuid::from_u128(0x0193_5e2a_41c7_7b3e_9a10_44d2_6f8e_5b02),
            survivor: MergeTargetOut {
                kind: W(MergeKind::Lead),
                id: Uuid::from_u128(0x0193_5e2a_41c7_7b3e_9a10_44d2_6f8e_5b01),
            },
            merged: true,
            follow_ups_moved: 1,
            position: 1042,
        }
    }
}

#[derive(Debug, ApiResponse)]
pub enum MergeResponse {
    /// Done: both records changed together.
    #[oai(status = 200)]
    Done(Json<MergeAnswer>),
}

impl From<MergeError> for ApiError {
    fn from(e: MergeError) -> Self {
        match e {
            MergeError::Lead(e) => e.into(),
            MergeError::Client(e) => ApiError::from(e).about("the client"),
            MergeError::SurvivorLead(e) => ApiError::from(e).about("the lead to merge into"),
            MergeError::IntoItself => ApiError::field("into_lead", e.to_string()),
            MergeError::NoSurvivor(MergeKind::Lead) => ApiError::field("into_lead", e.to_string()),
            MergeError::NoSurvivor(MergeKind::Client) => {
                ApiError::field("into_client", e.to_string())
            }
            MergeError::SurvivorHidden => {
                ApiError::not_found("record the lead is merged into (one you may see)")
            }
        }
    }
}

fn answer(lead_id: Uuid, m: &Merged, merged: bool) -> MergeResponse {
    MergeResponse::Done(Json(MergeAnswer {
        lead_id,
        survivor: m.into.into(),
        merged,
        follow_ups_moved: m.follow_ups,
        position: m.lead.position.max(m.survivor.position),
    }))
}

#[OpenApi]
impl MergeApi {
    /// Merge a duplicate lead
    ///
    /// Into another lead or into a client (the same person). The merged lead records where it
    /// went and takes no more changes; its open follow-ups move to the survivor under new
    /// ids, and its interactions show under the survivor (they stay in the merged lead's own
    /// history, sealed with its own key). It leaves the lists and the duplicate candidates.
    /// Both records change in one transaction. Managers and admins, on records they may see.
    #[oai(
        path = "/api/leads/:id/merge",
        method = "post",
        tag = "ApiTags::Leads",
        operation_id = "mergeLead"
    )]
    async fn merge(
        &self,
        req: &Request,
        auth: Auth,
        /// The duplicate lead to merge away.
        id: Path<Uuid>,
        body: Json<MergeRequest>,
        /// Makes the command safe to retry: a repeat gets the first answer, changing nothing.
        #[oai(name = "Idempotency-Key")]
        key: Key,
        /// Only act if the lead is still at this version (the `ETag` its GET returned);
        /// otherwise 412 and nothing changes.
        #[oai(name = "If-Match")]
        _if_match: Key,
    ) -> Result<MergeResponse, ApiError> {
        policy::require(&auth.0, Action::RecordMerge)?;
        let fingerprint = http::fingerprint(&body.0);
        idempotent(&self.state, key.0, req, fingerprint, || {
            self.merge_once(req, &auth.0, id.0, &body.0)
        })
        .await
    }

    /// Undo a lead's merge
    ///
    /// The merged lead is on its own again, as a compensating step recorded on both records
    /// (history is never edited): it takes back the follow-ups still open on the survivor,
    /// with their due times as they are now, and the survivor no longer shows its
    /// interactions. Work done on the survivor since stays there.
    #[oai(
        path = "/api/leads/:id/merge/undo",
        method = "post",
        tag = "ApiTags::Leads",
        operation_id = "unmergeLead"
    )]
    async fn unmerge(
        &self,
        req: &Request,
        auth: Auth,
        /// The merged lead.
        id: Path<Uuid>,
        body: Json<UnmergeRequest>,
        /// Makes the command safe to retry: a repeat gets the first answer, changing nothing.
        #[oai(name = "Idempotency-Key")]
        key: Key,
        /// Only act if the lead is still at this version (the `ETag` its GET returned);
        /// otherwise 412 and nothing changes.
        #[oai(name = "If-Match")]
        _if_match: Key,
    ) -> Result<MergeResponse, ApiError> {
        policy::require(&auth.0, Action::RecordMerge)?;
        let fingerprint = http::fingerprint(&body.0);
        idempotent(&self.state, key.0, req, fingerprint, || {
            self.unmerge_once(req, &auth.0, id.0, &body.0)
        })
        .await
    }
}

impl MergeApi {
    /// What the caller may see: leads, clients.
    async fn scopes(
        &self,
        principal: &Principal,
    ) -> Result<
        (
            Option<domain::access::LeadScope>,
            domain::access::ClientScope,
        ),
        ApiError,
    > {
        Ok((
            policy::scope(&self.state, principal).await?,
            policy::client_scope(principal),
        ))
    }

    async fn merge_once(
        &self,
        req: &Request,
        principal: &Principal,
        id: Uuid,
        body: &MergeRequest,
    ) -> Result<MergeResponse, ApiError> {
        let mut f = Fields::default();
        let reason = self::reason(&mut f, body.reason.as_deref());
        let into = match (body.into_lead, body.into_client) {
            (Some(id), None) => Some(MergeTarget {
                kind: MergeKind::Lead,
                id,
            }),
            (None, Some(id)) => Some(MergeTarget {
                kind: MergeKind::Client,
                id,
            }),
            (Some(_), Some(_)) => {
                f.errors.push(FieldError::new(
                    "into_client",
                    "give either into_lead or into_client, not both",
                ));
                None
            }
            (None, None) => {
                f.errors.push(FieldError::new(
                    "into_lead",
                    "give into_lead or into_client",
                ));
                None
            }
        };
        f.finish()?;
        let Some(into) = into else {
            return Err(ApiError::field(
                "into_lead",
                "give into_lead or into_client",
            ));
        };
        let (leads, clients) = self.scopes(principal).await?;
        let scopes = Scopes {
            leads: &leads,
            clients: &clients,
        };
        let done = commands::leads::merge::merge(
            &self.state.write,
            scopes,
            id,
            into,
            reason,
            &http::metadata(req),
            http::if_match(req)?,
        )
        .await?;
        Ok(answer(id, &done, true))
    }

    async fn unmerge_once(
        &self,
        req: &Request,
        principal: &Principal,
        id: Uuid,
        body: &UnmergeRequest,
    ) -> Result<MergeResponse, ApiError> {
        let mut f = Fields::default();
        let reason = self::reason(&mut f, body.reason.as_deref());
        f.finish()?;
        let (leads, clients) = self.scopes(principal).await?;
        let scopes = Scopes {
            leads: &leads,
            clients: &clients,
        };
        let done = commands::leads::merge::unmerge(
            &self.state.write,
            scopes,
            id,
            reason,
            &http::metadata(req),
            http::if_match(req)?,
        )
        .await?;
        Ok(answer(id, &done, false))
    }
}

/// A merge's answer kept for its Idempotency-Key: the lead's id and the position as any
/// answer, the rest beside them.
impl http::Replayable for MergeResponse {
    const STATUS: u16 = 200;

    fn to_stored(&self) -> http::Stored {
        let MergeResponse::Done(Json(a)) = self;
        http::Stored {
            accepted: Accepted {
                id: a.lead_id,
                position: a.position,
                changed: true,
                client_id: None,
            },
            location: None,
            body: Some(serde_json::json!({
                "kind": a.survivor.kind.0.as_str(),
                "id": a.survivor.id,
                "merged": a.merged,
                "follow_ups_moved": a.follow_ups_moved,
            })),
        }
    }

    fn from_stored(stored: http::Stored) -> Self {
        let body = stored.body.unwrap_or_default();
        MergeResponse::Done(Json(MergeAnswer {
            lead_id: stored.accepted.id,
            survivor: MergeTargetOut {
                kind: W(body["kind"]
                    .as_str()
                    .and_then(MergeKind::parse)
                    .unwrap_or(MergeKind::Lead)),
                id: body["id"]
                    .as_str()
                    .and_then(|s| s.parse().ok())
                    .unwrap_or_default(),
            },
            merged: body["merged"].as_bool().unwrap_or(true),
            follow_ups_moved: body["follow_ups_moved"].as_u64().unwrap_or(0) as usize,
            position: stored.accepted.position,
        }))
    }
}

/// The leads merged into a record, as `principal` may see them; showing their work under the
/// survivor is reading them, recorded as an access to each.
pub(crate) async fn merged_views(
    state: &http::AppState,
    principal: &Principal,
    req: &Request,
    merged: &[projections::leads::MergedLead],
) -> Result<Vec<projections::leads::LeadView>, ApiError> {
    let mut out = Vec::with_capacity(merged.len());
    for m in merged {
        let Some(v) = query::get(&state.db, &state.keyring, m.lead_id)
            .await
            .map_err(ApiError::internal)?
        else {
            continue;
        };
        http::record_access(state, req, "lead", m.lead_id, AccessKind::Profile).await?;
        out.push(policy::shown(principal, v));
    }
    Ok(out)
}

/// The interactions of merged leads, each naming the lead it was logged on.
pub(crate) fn merged_interactions(views: &[projections::leads::LeadView]) -> Vec<InteractionOut> {
    views
        .iter()
        .flat_map(|v| {
            v.interactions.iter().map(|i| InteractionOut {
                from_lead: Some(v.lead_id),
                ..i.into()
            })
        })
        .collect()
}

/// The note of a follow-up moved from a merged lead (it stays on that lead).
pub(crate) fn moved_note(
    views: &[projections::leads::LeadView],
    moved_from: Option<(Uuid, Uuid)>,
) -> Option<String> {
    let (lead, follow_up) = moved_from?;
    views
        .iter()
        .find(|v| v.lead_id == lead)?
        .follow_ups
        .iter()
        .find(|f| f.follow_up_id == follow_up)?
        .note
        .clone()
}
