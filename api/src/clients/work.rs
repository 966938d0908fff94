//! Working with a client: interactions (calls, e-mails, meetings, notes, reviews), follow-ups,
//! and the relationship managers' due list of client follow-ups.

// Handlers take one argument per documented parameter.
#![allow(clippy::too_many_arguments)]

use domain::lead::limits;
use domain::worklog::WorkCommand;
use poem_openapi::Object;

use super::*;
use crate::dto::{
    FollowUpChannel, FollowUpClose, InteractionOut, InteractionPage, NewFollowUp, NewInteraction,
    Reschedule,
};
use crate::leads::Due;

pub struct ClientWorkApi {
    pub state: State,
}

#[derive(Debug, ApiResponse)]
pub enum ClientInteractionsResponse {
    /// The client's interactions, newest first.
    #[oai(status = 200)]
    Ok(Json<InteractionPage>),
}

#[derive(Debug, ApiResponse)]
pub enum ClientFollowUpsResponse {
    /// A page of client follow-ups, soonest first.
    #[oai(status = 200)]
    Ok(Json<ClientFollowUpPage>),
}

/// An open follow-up of a client, with what the manager needs to act.
#[derive(Debug, Clone, Object)]
pub struct ClientDueFollowUp {
    pub follow_up_id: Uuid,
    pub client_id: Uuid,
    pub client_name: String,
    pub client_email: String,
    pub client_phone: String,
    pub relationship_manager: Option<Uuid>,
    pub due_at: DateTime<Utc>,
    pub channel: FollowUpChannel,
    pub note: Option<String>,
    /// Who scheduled it.
    pub scheduled_by: String,
}

/// A page of client follow-ups.
#[derive(Debug, Clone, Object)]
#[oai(example)]
pub struct ClientFollowUpPage {
    pub items: Vec<ClientDueFollowUp>,
    pub next_cursor: Option<String>,
    pub total: i64,
}

impl poem_openapi::types::Example for ClientFollowUpPage {
    fn example() -> Self {
        Self {
            items: vec![ClientDueFollowUp {
                follow_up_id: Uuid::from_u128(0x0193_5e2a_41c7_7b3e_9a10_44d2_6f8e_5e01),
                client_id: Uuid::from_u128(0x0193_5e2a_41c7_7b3e_9a10_44d2_6f8e_5c01),
                client_name: "Asha Rao".into(),
                client_email: "asha.rao@example.in".into(),
                client_phone: "+919876543210".into(),
                relationship_manager: Some(Uuid::from_u128(
                    0x0193_a1b2_7c4d_7e5f_8a90_b1c2_d3e4_f502,
                )),
                due_at: "2026-12-02T05:30:00Z".parse().expect("valid time"),
                channel: FollowUpChannel::Meeting,
                note: Some("Half-yearly portfolio review".into()),
                scheduled_by: "0193a1b2-7c4d-7e5f-8a90-b1c2d3e4f502".into(),
            }],
            next_cursor: None,
            total: 1,
        }
    }
}

impl ClientWorkApi {
    /// Completing and cancelling a follow-up differ only in the command they send.
    async fn close(
        &self,
        req: &Request,
        p: &Principal,
        client_id: Uuid,
        key: Option<String>,
        body: FollowUpClose,
        command: impl FnOnce(Option<domain::values::Text>) -> WorkCommand,
    ) -> Result<DoneResponse, ApiError> {
        policy::require(p, Action::ClientEdit)?;
        let mut f = Fields::default();
        let note = f.opt("note", body.note.as_deref(), |s| {
            Text::parse(s, limits::REASON)
        });
        f.finish()?;
        let command = ClientCommand::Work(command(note));
        edit_client(
            &self.state,
            req,
            p,
            client_id,
            key,
            http::fingerprint(&body),
            command,
            done(client_id),
        )
        .await
    }
}

#[OpenApi]
impl ClientWorkApi {
    /// Log an interaction with a client
    ///
    /// A call, e-mail, meeting, note or review (of the portfolio or the account) with the
    /// client; it counts as activity for dormancy. The summary is sealed with the client's data.
    #[oai(
        path = "/api/clients/:id/interactions",
        method = "post",
        tag = "ClientTags::Clients",
        operation_id = "logClientInteraction"
    )]
    async fn log_interaction(
        &self,
        req: &Request,
        auth: Auth,
        /// The client's id.
        id: Path<Uuid>,
        body: Json<NewInteraction>,
        /// Makes the command safe to retry: a repeat gets the first answer, changing nothing.
        #[oai(name = "Idempotency-Key")]
        key: Key,
        /// Only act if the client is still at this version (its `ETag`); otherwise 412.
        #[oai(name = "If-Match")]
        _if_match: Key,
    ) -> Result<CreatedResponse, ApiError> {
        policy::require(&auth.0, Action::ClientEdit)?;
        let b = body.0;
        let mut f = Fields::default();
        let summary = f.take("summary", Text::parse(&b.summary, limits::SUMMARY));
        f.finish()?;
        let summary = summary.ok_or_else(|| ApiError::bad_request("summary"))?;
        let interaction_id = Uuid::now_v7();
        let command = ClientCommand::Work(WorkCommand::LogInteraction {
            interaction_id,
            kind: b.kind.into(),
            direction: b.direction.map(Into::into),
            summary,
            occurred_at: b.occurred_at.unwrap_or_else(Utc::now),
            duration_minutes: b.duration_minutes,
        });
        let location = format!("/api/clients/{}/interactions", id.0);
        let answer = |done: &commands::Committed| {
            CreatedResponse::Created(accepted(interaction_id, done), location)
        };
        edit_client(
            &self.state,
            req,
            &auth.0,
            id.0,
            key.0,
            http::fingerprint(&b),
            command,
            answer,
        )
        .await
    }

    /// List a client's interactions
    ///
    /// Newest first, paginated, read from the client's record. Recorded as an access to the
    /// person's data; for sales roles not once the person asked for erasure.
    #[oai(
        path = "/api/clients/:id/interactions",
        method = "get",
        tag = "ClientTags::Clients",
        operation_id = "listClientInteractions"
    )]
    async fn interactions(
        &self,
        req: &Request,
        auth: Auth,
        /// The client's id.
        id: Path<Uuid>,
        /// Page size, 1 to 200 (default 50).
        #[oai(validator(minimum(value = "1"), maximum(value = "200")))]
        limit: Query<Option<i64>>,
        /// The `next_cursor` of the previous page.
        cursor: Query<Option<String>>,
        /// Wait until the read model has this log position (read your own writes).
        min_position: Query<Option<i64>>,
    ) -> Result<ClientInteractionsResponse, ReadError> {
        policy::require(&auth.0, Action::ClientRead)?;
        http::wait_for_in(
            &self.state,
            projections::clients::NAME,
            http::min_position(min_position.0, req)?,
        )
        .await?;
        let limit = limit.0.unwrap_or(50) as usize;
        let view = visible_client(&self.state, &auth.0, id.0).await?;
        if policy::sells(auth.0.role) && view.restricted() {
            return Err(ApiError::conflict(
                "processing-restricted",
                "the person asked for erasure: their interactions are for compliance only",
            )
            .into());
        }
        let (events, _) =
            http::timeline::<projections::clients::ClientView>(&self.state, id.0, "client").await?;
        let mut all: Vec<InteractionOut> = events
            .iter()
            .filter(|e| e.event_type == "InteractionLogged")
            .filter_map(|e| {
                let d = &e.data;
                Some(InteractionOut {
                    interaction_id: d["interaction_id"].as_str()?.parse().ok()?,
                    kind: domain::lead::InteractionKind::parse(d["kind"].as_str()?)?.into(),
                    direction: d["direction"]
                        .as_str()
                        .and_then(domain::lead::InteractionDirection::parse)
                        .map(Into::into),
                    summary: d["summary"].as_str()?.to_string(),
                    occurred_at: d["occurred_at"].as_str()?.parse().ok()?,
                    duration_minutes: d["duration_minutes"].as_u64().map(|n| n as u32),
                    logged_by: e.actor_id.clone(),
                    logged_at: e.recorded_at,
                    from_lead: None,
                })
            })
            .collect();
        // What the leads merged into the client logged shows here too.
        let merged =
            crate::leads::merged_views(&self.state, &auth.0, req, &view.merged_leads).await?;
        all.extend(crate::leads::merged_interactions(&merged));
        // Newest first by when they happened (a call logged late sorts where it belongs).
        all.sort_by(|a, b| {
            b.occurred_at
                .cmp(&a.occurred_at)
                .then(b.logged_at.cmp(&a.logged_at))
        });
        let total = all.len();
        let start = http::offset(cursor.0.as_deref(), total)?;
        http::record_access(&self.state, req, "client", id.0, AccessKind::Profile).await?;
        let items: Vec<InteractionOut> = all.into_iter().skip(start).take(limit).collect();
        Ok(ClientInteractionsResponse::Ok(Json(InteractionPage {
            next_cursor: http::next_offset(start, items.len(), total),
            items,
            total: total as i64,
        })))
    }

    /// Schedule a follow-up with a client
    ///
    /// Due between now and two years ahead; it shows in the due list of client follow-ups.
    #[oai(
        path = "/api/clients/:id/follow-ups",
        method = "post",
        tag = "ClientTags::Clients",
        operation_id = "scheduleClientFollowUp"
    )]
    async fn schedule(
        &self,
        req: &Request,
        auth: Auth,
        /// The client's id.
        id: Path<Uuid>,
        body: Json<NewFollowUp>,
        /// Makes the command safe to retry: a repeat gets the first answer, changing nothing.
        #[oai(name = "Idempotency-Key")]
        key: Key,
        /// Only act if the client is still at this version (its `ETag`); otherwise 412.
        #[oai(name = "If-Match")]
        _if_match: Key,
    ) -> Result<CreatedResponse, ApiError> {
        policy::require(&auth.0, Action::ClientEdit)?;
        let b = body.0;
        let mut f = Fields::default();
        let note = f.opt("note", b.note.as_deref(), |s| {
            Text::parse(s, limits::REASON)
        });
        f.finish()?;
        let follow_up_id = Uuid::now_v7();
        let command = ClientCommand::Work(WorkCommand::ScheduleFollowUp {
            follow_up_id,
            due_at: b.due_at,
            channel: b.channel.into(),
            note,
        });
        let location = format!("/api/clients/{}", id.0);
        let answer = |done: &commands::Committed| {
            CreatedResponse::Created(accepted(follow_up_id, done), location)
        };
        edit_client(
            &self.state,
            req,
            &auth.0,
            id.0,
            key.0,
            http::fingerprint(&b),
            command,
            answer,
        )
        .await
    }

    /// Reschedule a client follow-up
    ///
    /// Moves an open follow-up to a new due time; the previous time stays in the history.
    #[oai(
        path = "/api/clients/:id/follow-ups/:follow_up_id/reschedule",
        method = "post",
        tag = "ClientTags::Clients",
        operation_id = "rescheduleClientFollowUp"
    )]
    async fn reschedule(
        &self,
        req: &Request,
        auth: Auth,
        /// The client's id.
        id: Path<Uuid>,
        /// The follow-up's id.
        follow_up_id: Path<Uuid>,
        body: Json<Reschedule>,
        /// Makes the command safe to retry: a repeat gets the first answer, changing nothing.
        #[oai(name = "Idempotency-Key")]
        key: Key,
        /// Only act if the client is still at this version (its `ETag`); otherwise 412.
        #[oai(name = "If-Match")]
        _if_match: Key,
    ) -> Result<DoneResponse, ApiError> {
        policy::require(&auth.0, Action::ClientEdit)?;
        let b = body.0;
        let mut f = Fields::default();
        let reason = f.opt("reason", b.reason.as_deref(), |s| {
            Text::parse(s, limits::REASON)
        });
        f.finish()?;
        let command = ClientCommand::Work(WorkCommand::RescheduleFollowUp {
            follow_up_id: follow_up_id.0,
            due_at: b.due_at,
            reason,
        });
        edit_client(
            &self.state,
            req,
            &auth.0,
            id.0,
            key.0,
            http::fingerprint(&b),
            command,
            done(id.0),
        )
        .await
    }

    /// Complete a client follow-up
    ///
    /// Closes an open follow-up with an optional outcome note; it leaves the due list.
    #[oai(
        path = "/api/clients/:id/follow-ups/:follow_up_id/complete",
        method = "post",
        tag = "ClientTags::Clients",
        operation_id = "completeClientFollowUp"
    )]
    async fn complete(
        &self,
        req: &Request,
        auth: Auth,
        /// The client's id.
        id: Path<Uuid>,
        /// The follow-up's id.
        follow_up_id: Path<Uuid>,
        body: Json<FollowUpClose>,
        /// Makes the command safe to retry: a repeat gets the first answer, changing nothing.
        #[oai(name = "Idempotency-Key")]
        key: Key,
        /// Only act if the client is still at this version (its `ETag`); otherwise 412.
        #[oai(name = "If-Match")]
        _if_match: Key,
    ) -> Result<DoneResponse, ApiError> {
        let fid = follow_up_id.0;
        self.close(req, &auth.0, id.0, key.0, body.0, |outcome| {
            WorkCommand::CompleteFollowUp {
                follow_up_id: fid,
                outcome,
            }
        })
        .await
    }

    /// Cancel a client follow-up
    ///
    /// Closes an open follow-up without doing it (possible also once the account is closed).
    #[oai(
        path = "/api/clients/:id/follow-ups/:follow_up_id/cancel",
        method = "post",
        tag = "ClientTags::Clients",
        operation_id = "cancelClientFollowUp"
    )]
    async fn cancel(
        &self,
        req: &Request,
        auth: Auth,
        /// The client's id.
        id: Path<Uuid>,
        /// The follow-up's id.
        follow_up_id: Path<Uuid>,
        body: Json<FollowUpClose>,
        /// Makes the command safe to retry: a repeat gets the first answer, changing nothing.
        #[oai(name = "Idempotency-Key")]
        key: Key,
        /// Only act if the client is still at this version (its `ETag`); otherwise 412.
        #[oai(name = "If-Match")]
        _if_match: Key,
    ) -> Result<DoneResponse, ApiError> {
        let fid = follow_up_id.0;
        self.close(req, &auth.0, id.0, key.0, body.0, |reason| {
            WorkCommand::CancelFollowUp {
                follow_up_id: fid,
                reason,
            }
        })
        .await
    }

    /// Client follow-ups due
    ///
    /// Open follow-ups of clients the caller may see, soonest first: due today (the IST day),
    /// overdue, upcoming or any; for one relationship manager or everyone. Closed accounts,
    /// erased people and people who asked for erasure (nobody follows them up while their
    /// processing is restricted; the follow-up stays on the client's record) leave the list.
    #[oai(
        path = "/api/clients/follow-ups",
        method = "get",
        tag = "ClientTags::Clients",
        operation_id = "listClientFollowUps"
    )]
    async fn due(
        &self,
        req: &Request,
        auth: Auth,
        /// Only follow-ups of this relationship manager's clients.
        relationship_manager: Query<Option<Uuid>>,
        /// Default `today`.
        due: Query<Option<Due>>,
        /// Page size, 1 to 200 (default 50).
        #[oai(validator(minimum(value = "1"), maximum(value = "200")))]
        limit: Query<Option<i64>>,
        /// The `next_cursor` of the previous page.
        cursor: Query<Option<String>>,
        /// Wait until the read model has this log position (read your own writes).
        min_position: Query<Option<i64>>,
    ) -> Result<ClientFollowUpsResponse, ReadError> {
        policy::require(&auth.0, Action::ClientRead)?;
        http::wait_for_in(
            &self.state,
            projections::clients::NAME,
            http::min_position(min_position.0, req)?,
        )
        .await?;
        let page = projections::clients::query::due_follow_ups(
            &self.state.db,
            &policy::client_scope(&auth.0),
            relationship_manager.0,
            due.0.unwrap_or(Due::Today).into(),
            Utc::now(),
            limit.0.unwrap_or(50),
            cursor.0.as_deref(),
        )
        .await
        .map_err(|e| match e {
            projections::leads::query::QueryError::BadCursor => {
                ApiError::field("cursor", e.to_string())
            }
            other => ApiError::internal(other),
        })?;
        let mut items = Vec::with_capacity(page.items.len());
        for r in page.items {
            let Some(view) =
                projections::clients::query::get(&self.state.db, &self.state.keyring, r.client_id)
                    .await
                    .map_err(ApiError::internal)?
            else {
                continue;
            };
            let view = policy::shown(&auth.0, view);
            let Some(f) = view
                .follow_ups
                .iter()
                .find(|f| f.follow_up_id == r.follow_up_id)
            else {
                continue;
            };
            items.push(ClientDueFollowUp {
                follow_up_id: f.follow_up_id,
                client_id: view.client_id,
                client_name: view.name.clone(),
                client_email: view.email.clone(),
                client_phone: view.phone.clone(),
                relationship_manager: view.relationship_manager,
                due_at: f.due_at,
                channel: f.channel.into(),
                note: f.note.clone(),
                scheduled_by: f.scheduled_by.clone(),
            });
        }
        Ok(ClientFollowUpsResponse::Ok(Json(ClientFollowUpPage {
            items,
            next_cursor: page.next_cursor,
            total: page.total,
        })))
    }
}
