//! Near duplicates among open leads: pairs that look like one person (the same mailbox once
//! Gmail's dots and `+tags` are set aside, the same name with the same or a transposed mobile
//! number), found through blind indexes of normalised variants without opening the table.

use poem_openapi::Object;

use super::*;

pub struct DuplicatesApi {
    pub state: State,
}

/// One lead of a pair, as lists show it.
#[derive(Debug, Clone, Object)]
pub struct DuplicateLead {
    pub id: Uuid,
    pub name: String,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub status: LeadStatus,
    pub assignee: Option<Uuid>,
    pub created_at: DateTime<Utc>,
}

impl From<projections::leads::LeadView> for DuplicateLead {
    fn from(v: projections::leads::LeadView) -> Self {
        Self {
            id: v.lead_id,
            name: v.name,
            email: v.email,
            phone: v.phone,
            status: v.status.into(),
            assignee: v.assignee,
            created_at: v.created_at,
        }
    }
}

/// Two open leads that look like one person.
#[derive(Debug, Clone, Object)]
pub struct DuplicatePair {
    /// 0–100: the strongest reason's weight, 5 more for each further reason.
    pub score: i64,
    /// `same_mailbox` (90), `same_name_and_phone` (85), `same_name_transposed_phone` (75:
    /// one or two swaps of neighbouring digits), `same_phone` (50: another name).
    pub reasons: Vec<String>,
    /// The older lead first.
    pub leads: Vec<DuplicateLead>,
}

/// A page of candidate pairs, best first.
#[derive(Debug, Clone, Object)]
#[oai(example)]
pub struct DuplicatePage {
    pub items: Vec<DuplicatePair>,
    pub next_cursor: Option<String>,
    /// Pairs the caller may see.
    pub total: i64,
}

impl poem_openapi::types::Example for DuplicatePage {
    fn example() -> Self {
        let at: DateTime<Utc> = "2026-11-30T10:15:00Z".parse().expect("valid time");
        let lead = |n: u128, email: &str, phone: &str| DuplicateLead {
            id: Uuid::from_u128(0x0193_5e2a_41c7_7b3e_9a10_44d2_6f8e_5b00 + n),
            name: "Asha Rao".into(),
            email: Some(email.into()),
            phone: Some(phone.into()),
            status: LeadStatus::New,
            assignee: None,
            created_at: at,
        };
        Self {
            items: vec![DuplicatePair {
                score: 95,
                reasons: vec!["same_mailbox".into(), "same_name_transposed_phone".into()],
                leads: vec![
                    lead(1, "asha.rao@gmail.com", "+919876543210"),
                    lead(2, "asharao+ipo@gmail.com", "+919867543210"),
                ],
            }],
            next_cursor: None,
            total: 1,
        }
    }
}

#[derive(Debug, ApiResponse)]
pub enum DuplicatesResponse {
    /// Candidate pairs, best first.
    #[oai(status = 200)]
    Ok(Json<DuplicatePage>),
}

#[OpenApi]
impl DuplicatesApi {
    /// Near duplicates among open leads
    ///
    /// Pairs of open leads (not converted, archived, restricted or erased) that look like one
    /// person, best first, with a score and the reasons: the same mailbox once Gmail's dots and
    /// `+tags` are set aside; the same name with the same mobile number (another e-mail
    /// address) or one a swap or two of neighbouring digits away; the same mobile number under
    /// another name. Found through blind indexes of normalised variants, never by opening every
    /// lead. Only pairs whose two leads the caller may see.
    #[oai(
        path = "/api/duplicates",
        method = "get",
        tag = "ApiTags::Leads",
        operation_id = "listDuplicates"
    )]
    async fn list(
        &self,
        req: &Request,
        auth: Auth,
        /// Only pairs scoring at least this (0–100, default 0).
        #[oai(validator(minimum(value = "0"), maximum(value = "100")))]
        min_score: Query<Option<i64>>,
        /// Page size, 1 to 200 (default 50).
        #[oai(validator(minimum(value = "1"), maximum(value = "200")))]
        limit: Query<Option<i64>>,
        /// The `next_cursor` of the previous page.
        cursor: Query<Option<String>>,
        /// Wait until the read model has this log position (read your own writes).
        min_position: Query<Option<i64>>,
    ) -> Result<DuplicatesResponse, ReadError> {
        policy::require(&auth.0, Action::LeadRead)?;
        http::wait_for(&self.state, http::min_position(min_position.0, req)?).await?;
        let visible = policy::scope(&self.state, &auth.0).await?;
        let limit = limit.0.unwrap_or(50) as usize;
        let pairs = projections::leads::near::pairs(&self.state.db)
            .await
            .map_err(ApiError::internal)?;
        let min = min_score.0.unwrap_or(0);
        let pairs: Vec<_> = pairs.into_iter().filter(|p| p.score >= min).collect();
        // Scope from the plain assignee column; only the page's leads are opened.
        let ids: Vec<Uuid> = pairs.iter().flat_map(|p| [p.first, p.second]).collect();
        let assignees = query::assignees(&self.state.db, &ids)
            .await
            .map_err(ApiError::internal)?;
        let sees = |id: &Uuid| {
            assignees
                .get(id)
                .is_some_and(|a| policy::covers(&visible, *a))
        };
        let visible_pairs: Vec<_> = pairs
            .into_iter()
            .filter(|p| sees(&p.first) && sees(&p.second))
            .collect();
        let total = visible_pairs.len();
        let start = http::offset(cursor.0.as_deref(), total)?;
        let mut shown = Vec::new();
        for p in visible_pairs.into_iter().skip(start).take(limit) {
            let mut leads = Vec::with_capacity(2);
            for id in [p.first, p.second] {
                if let Some(v) = query::get(&self.state.db, &self.state.keyring, id)
                    .await
                    .map_err(ApiError::internal)?
                {
                    leads.push(policy::shown(&auth.0, v));
                }
            }
            if leads.len() == 2 {
                leads.sort_by_key(|v| (v.created_at, v.lead_id));
                shown.push((p, leads));
            }
        }
        let items: Vec<DuplicatePair> = shown
            .into_iter()
            .map(|(p, leads)| DuplicatePair {
                score: p.score,
                reasons: p.reasons.iter().map(|r| r.as_str().to_string()).collect(),
                leads: leads.into_iter().map(DuplicateLead::from).collect(),
            })
            .collect();
        Ok(DuplicatesResponse::Ok(Json(DuplicatePage {
            next_cursor: http::next_offset(start, items.len(), total),
            items,
            total: total as i64,
        })))
    }
}

/// An open lead that shares an e-mail address or phone with a client.
#[derive(Debug, Clone, Object)]
pub struct LeadClientMatch {
    /// 95 for both, 90 for the same e-mail address, 80 for the same phone.
    pub score: i64,
    /// `same_email`, `same_phone`.
    pub reasons: Vec<String>,
    pub lead: DuplicateLead,
    pub client: crate::clients::dto::ClientSummary,
}

/// A page of leads that look like clients, best first.
#[derive(Debug, Clone, Object)]
#[oai(example)]
pub struct LeadClientMatchPage {
    pub items: Vec<LeadClientMatch>,
    pub next_cursor: Option<String>,
    /// Matches the caller may see.
    pub total: i64,
}

impl poem_openapi::types::Example for LeadClientMatchPage {
    fn example() -> Self {
        let at: DateTime<Utc> = "2026-11-30T10:15:00Z".parse().expect("valid time");
        Self {
            items: vec![LeadClientMatch {
                score: 90,
                reasons: vec!["same_email".into()],
                lead: DuplicateLead {
                    id: Uuid::from_u128(0x0193_5e2a_41c7_7b3e_9a10_44d2_6f8e_5b09),
                    name: "Vikram Q".into(),
                    email: Some("vikram.quill@example.in".into()),
                    phone: None,
                    status: LeadStatus::New,
                    assignee: None,
                    created_at: at,
                },
                client: crate::clients::dto::ClientSummary {
                    id: Uuid::from_u128(0x0193_5e2a_41c7_7b3e_9a10_44d2_6f8e_5c01),
                    name: "Vikram Quillfeather".into(),
                    email: "vikram.quill@example.in".into(),
                    phone: "+919988776655".into(),
                    pan_masked: "******234C".into(),
                    branch: "MUM-01".into(),
                    relationship_manager: None,
                    status: crate::clients::dto::ClientStatus::Active,
                    segment: W(domain::client::Segment::Retail),
                    restricted: false,
                    documents: 0,
                    created_at: at,
                    updated_at: at,
                    position: 120,
                },
            }],
            next_cursor: None,
            total: 1,
        }
    }
}

#[derive(Debug, ApiResponse)]
pub enum LeadClientMatchResponse {
    /// Leads that look like clients, best first.
    #[oai(status = 200)]
    Ok(Json<LeadClientMatchPage>),
}

pub struct ClientDuplicatesApi {
    pub state: State,
}

#[OpenApi]
impl ClientDuplicatesApi {
    /// Leads that are already clients
    ///
    /// Open leads (not converted, archived, merged, restricted or erased) with the e-mail
    /// address or phone number of a client, best first: most often a client who came in again
    /// through a form or a campaign. Merge the lead into the client
    /// (`POST /api/leads/{id}/merge` with `into_client`). Compared by blind index, never by
    /// opening the tables. Only matches whose lead and client the caller may both see.
    #[oai(
        path = "/api/duplicates/clients",
        method = "get",
        tag = "ApiTags::Leads",
        operation_id = "listLeadsMatchingClients"
    )]
    async fn list(
        &self,
        req: &Request,
        auth: Auth,
        /// Page size, 1 to 200 (default 50).
        #[oai(validator(minimum(value = "1"), maximum(value = "200")))]
        limit: Query<Option<i64>>,
        /// The `next_cursor` of the previous page.
        cursor: Query<Option<String>>,
        /// Wait until the read models have this log position (read your own writes).
        min_position: Query<Option<i64>>,
    ) -> Result<LeadClientMatchResponse, ReadError> {
        policy::require(&auth.0, Action::LeadRead)?;
        policy::require(&auth.0, Action::ClientRead)?;
        let at = http::min_position(min_position.0, req)?;
        http::wait_for(&self.state, at).await?;
        http::wait_for_in(&self.state, projections::clients::NAME, at).await?;
        let visible = policy::scope(&self.state, &auth.0).await?;
        let clients = policy::client_scope(&auth.0);
        let limit = limit.0.unwrap_or(50) as usize;
        let matches = projections::leads::near::client_matches(&self.state.db)
            .await
            .map_err(ApiError::internal)?;
        let ids: Vec<Uuid> = matches.iter().map(|m| m.lead_id).collect();
        let assignees = query::assignees(&self.state.db, &ids)
            .await
            .map_err(ApiError::internal)?;
        let mut seen = Vec::new();
        for m in matches {
            let lead_visible = assignees
                .get(&m.lead_id)
                .is_some_and(|a| policy::covers(&visible, *a));
            if !lead_visible {
                continue;
            }
            // The client's scope (branch, manager) is in its document: opened per match.
            let Some(c) =
                projections::clients::query::get(&self.state.db, &self.state.keyring, m.client_id)
                    .await
                    .map_err(ApiError::internal)?
                    .filter(|c| c.in_scope(&clients))
            else {
                continue;
            };
            seen.push((m, c));
        }
        let total = seen.len();
        let start = http::offset(cursor.0.as_deref(), total)?;
        let mut items = Vec::new();
        for (m, c) in seen.into_iter().skip(start).take(limit) {
            let Some(v) = query::get(&self.state.db, &self.state.keyring, m.lead_id)
                .await
                .map_err(ApiError::internal)?
            else {
                continue;
            };
            let v = policy::shown(&auth.0, v);
            let c = policy::shown(&auth.0, c);
            let mut reasons = Vec::new();
            if m.same_email {
                reasons.push("same_email".to_string());
            }
            if m.same_phone {
                reasons.push("same_phone".to_string());
            }
            items.push(LeadClientMatch {
                score: m.score(),
                reasons,
                lead: DuplicateLead::from(v),
                client: crate::clients::dto::ClientSummary::from(&c),
            });
        }
        Ok(LeadClientMatchResponse::Ok(Json(LeadClientMatchPage {
            next_cursor: http::next_offset(start, items.len(), total),
            items,
            total: total as i64,
        })))
    }
}
