//! Working a lead: follow-ups and interactions, and the agents' due lists.

// Handlers take one argument per documented parameter.
#![allow(clippy::too_many_arguments)]

use super::*;
use domain::lead::limits;

pub struct FollowUpsApi {
    pub leads: LeadsApi,
}

impl FollowUpsApi {
    /// Completing and cancelling a follow-up differ only in the command they send.
    #[allow(clippy::too_many_arguments)]
    async fn close_follow_up(
        &self,
        req: &Request,
        p: &Principal,
        lead_id: Uuid,
        follow_up_id: Uuid,
        body: FollowUpClose,
        key: Option<String>,
        command: impl FnOnce(Uuid, Option<Text>) -> LeadCommand,
    ) -> Result<DoneResponse, ApiError> {
        let fingerprint = http::fingerprint(&body);
        idempotent(&self.leads.state, key, req, fingerprint, || async {
            let mut f = Fields::default();
            let note = text(&mut f, "note", body.note.as_deref(), limits::REASON);
            f.finish()?;
            let done = self
                .leads
                .run(
                    p,
                    Action::LeadEdit,
                    lead_id,
                    command(follow_up_id, note),
                    req,
                )
                .await?;
            Ok(DoneResponse::Done(accepted(follow_up_id, &done)))
        })
        .await
    }
}

#[OpenApi]
impl FollowUpsApi {
    /// Schedule a follow-up
    ///
    /// Due between now and two years ahead. It shows in the due lists of the lead's agent.
    #[oai(
        path = "/api/leads/:id/follow-ups",
        method = "post",
        tag = "ApiTags::Leads",
        operation_id = "scheduleFollowUp"
    )]
    async fn schedule(
        &self,
        req: &Request,
        auth: Auth,
        /// The lead's id.
        id: Path<Uuid>,
        body: Json<NewFollowUp>,
        /// Makes the command safe to retry: a repeat gets the first answer, changing nothing.
        #[oai(name = "Idempotency-Key")]
        key: Key,
        /// Only act if the lead is still at this version (the `ETag` its GET returned);
        /// otherwise 412 and nothing changes.
        #[oai(name = "If-Match")]
        _if_match: Key,
    ) -> Result<CreatedResponse, ApiError> {
        let fingerprint = http::fingerprint(&body.0);
        idempotent(&self.leads.state, key.0, req, fingerprint, || async {
            let mut f = Fields::default();
            let note = text(&mut f, "note", body.0.note.as_deref(), limits::REASON);
            f.finish()?;
            let follow_up_id = Uuid::now_v7();
            let done = self
                .leads
                .run(
                    &auth.0,
                    Action::LeadEdit,
                    id.0,
                    LeadCommand::ScheduleFollowUp {
                        follow_up_id,
                        due_at: body.0.due_at,
                        channel: body.0.channel.into(),
                        note,
                    },
                    req,
                )
                .await?;
            Ok(CreatedResponse::Created(
                accepted(follow_up_id, &done),
                format!("/api/leads/{}", id.0),
            ))
        })
        .await
    }

    /// Reschedule a follow-up
    ///
    /// Moves an open follow-up to a new due time; the previous time stays in the history.
    #[oai(
        path = "/api/leads/:id/follow-ups/:follow_up_id/reschedule",
        method = "post",
        tag = "ApiTags::Leads",
        operation_id = "rescheduleFollowUp"
    )]
    async fn reschedule(
        &self,
        req: &Request,
        auth: Auth,
        /// The lead's id.
        id: Path<Uuid>,
        /// The follow-up's id.
        follow_up_id: Path<Uuid>,
        body: Json<Reschedule>,
        /// Makes the command safe to retry: a repeat gets the first answer, changing nothing.
        #[oai(name = "Idempotency-Key")]
        key: Key,
        /// Only act if the lead is still at this version (the `ETag` its GET returned);
        /// otherwise 412 and nothing changes.
        #[oai(name = "If-Match")]
        _if_match: Key,
    ) -> Result<DoneResponse, ApiError> {
        let fingerprint = http::fingerprint(&body.0);
        idempotent(&self.leads.state, key.0, req, fingerprint, || async {
            let mut f = Fields::default();
            let reason = self::reason(&mut f, body.0.reason.as_deref());
            f.finish()?;
            let command = LeadCommand::RescheduleFollowUp {
                follow_up_id: follow_up_id.0,
                due_at: body.0.due_at,
                reason,
            };
            let done = self
                .leads
                .run(&auth.0, Action::LeadEdit, id.0, command, req)
                .await?;
            Ok(DoneResponse::Done(accepted(follow_up_id.0, &done)))
        })
        .await
    }

    /// Complete a follow-up
    ///
    /// Closes an open follow-up with an optional outcome note; it leaves the due lists.
    #[oai(
        path = "/api/leads/:id/follow-ups/:follow_up_id/complete",
        method = "post",
        tag = "ApiTags::Leads",
        operation_id = "completeFollowUp"
    )]
    async fn complete(
        &self,
        req: &Request,
        auth: Auth,
        /// The lead's id.
        id: Path<Uuid>,
        /// The follow-up's id.
        follow_up_id: Path<Uuid>,
        body: Json<FollowUpClose>,
        /// Makes the command safe to retry: a repeat gets the first answer, changing nothing.
        #[oai(name = "Idempotency-Key")]
        key: Key,
        /// Only act if the lead is still at this version (the `ETag` its GET returned);
        /// otherwise 412 and nothing changes.
        #[oai(name = "If-Match")]
        _if_match: Key,
    ) -> Result<DoneResponse, ApiError> {
        self.close_follow_up(
            req,
            &auth.0,
            id.0,
            follow_up_id.0,
            body.0,
            key.0,
            |follow_up_id, outcome| LeadCommand::CompleteFollowUp {
                follow_up_id,
                outcome,
            },
        )
        .await
    }

    /// Cancel a follow-up
    ///
    /// Closes an open follow-up without doing it (possible also after conversion or archiving).
    #[oai(
        path = "/api/leads/:id/follow-ups/:follow_up_id/cancel",
        method = "post",
        tag = "ApiTags::Leads",
        operation_id = "cancelFollowUp"
    )]
    async fn cancel(
        &self,
        req: &Request,
        auth: Auth,
        /// The lead's id.
        id: Path<Uuid>,
        /// The follow-up's id.
        follow_up_id: Path<Uuid>,
        body: Json<FollowUpClose>,
        /// Makes the command safe to retry: a repeat gets the first answer, changing nothing.
        #[oai(name = "Idempotency-Key")]
        key: Key,
        /// Only act if the lead is still at this version (the `ETag` its GET returned);
        /// otherwise 412 and nothing changes.
        #[oai(name = "If-Match")]
        _if_match: Key,
    ) -> Result<DoneResponse, ApiError> {
        self.close_follow_up(
            req,
            &auth.0,
            id.0,
            follow_up_id.0,
            body.0,
            key.0,
            |follow_up_id, reason| LeadCommand::CancelFollowUp {
                follow_up_id,
                reason,
            },
        )
        .await
    }

    /// Log an interaction
    ///
    /// A call, e-mail, meeting or note against the lead.
    #[oai(
        path = "/api/leads/:id/interactions",
        method = "post",
        tag = "ApiTags::Leads",
        operation_id = "logInteraction"
    )]
    async fn log_interaction(
        &self,
        req: &Request,
        auth: Auth,
        /// The lead's id.
        id: Path<Uuid>,
        body: Json<NewInteraction>,
        /// Makes the command safe to retry: a repeat gets the first answer, changing nothing.
        #[oai(name = "Idempotency-Key")]
        key: Key,
        /// Only act if the lead is still at this version (the `ETag` its GET returned);
        /// otherwise 412 and nothing changes.
        #[oai(name = "If-Match")]
        _if_match: Key,
    ) -> Result<CreatedResponse, ApiError> {
        let fingerprint = http::fingerprint(&body.0);
        idempotent(&self.leads.state, key.0, req, fingerprint, || async {
            let mut f = Fields::default();
            let summary = f.take("summary", Text::parse(&body.0.summary, limits::SUMMARY));
            f.finish()?;
            let summary = summary.ok_or_else(|| ApiError::bad_request("summary"))?;
            let interaction_id = Uuid::now_v7();
            let command = LeadCommand::LogInteraction {
                interaction_id,
                kind: body.0.kind.into(),
                direction: body.0.direction.map(Into::into),
                summary,
                occurred_at: body.0.occurred_at.unwrap_or_else(Utc::now),
                duration_minutes: body.0.duration_minutes,
            };
            let done = self
                .leads
                .run(&auth.0, Action::LeadEdit, id.0, command, req)
                .await?;
            Ok(CreatedResponse::Created(
                accepted(interaction_id, &done),
                format!("/api/leads/{}/interactions", id.0),
            ))
        })
        .await
    }

    /// List a lead's interactions
    ///
    /// Newest first, paginated.
    #[oai(
        path = "/api/leads/:id/interactions",
        method = "get",
        tag = "ApiTags::Leads",
        operation_id = "listInteractions"
    )]
    async fn interactions(
        &self,
        req: &Request,
        auth: Auth,
        /// The lead's id.
        id: Path<Uuid>,
        /// Page size, 1 to 200 (default 50).
        #[oai(validator(minimum(value = "1"), maximum(value = "200")))]
        limit: Query<Option<i64>>,
        /// The `next_cursor` of the previous page.
        cursor: Query<Option<String>>,
        /// Wait until the read model has this log position (read your own writes); also `X-Min-Position`.
        min_position: Query<Option<i64>>,
    ) -> Result<InteractionsResponse, ReadError> {
        policy::require(&auth.0, Action::LeadRead)?;
        http::wait_for(&self.leads.state, http::min_position(min_position.0, req)?).await?;
        let limit = page_limit(limit.0)? as usize;
        let view = self.leads.lead_view(id.0).await?;
        self.leads.visible(&auth.0, Some(&view)).await?;
        let restricted = policy::restricted_for(&auth.0, &view);
        let view = policy::shown(&auth.0, view);
        http::record_access(&self.leads.state, req, "lead", id.0, AccessKind::Profile).await?;
        let mut newest_first: Vec<InteractionOut> =
            view.interactions.iter().map(Into::into).collect();
        // What the leads merged into this one logged shows here too (not to a caller the
        // lead is restricted for).
        if !view.merged_from.is_empty() && !restricted {
            let merged =
                super::merge::merged_views(&self.leads.state, &auth.0, req, &view.merged_from)
                    .await?;
            newest_first.extend(super::merge::merged_interactions(&merged));
            newest_first.sort_by_key(|i| (i.occurred_at, i.logged_at));
        }
        newest_first.reverse();
        let total = newest_first.len();
        let start = http::offset(cursor.0.as_deref(), total)?;
        let items: Vec<InteractionOut> = newest_first.into_iter().skip(start).take(limit).collect();
        Ok(InteractionsResponse::Ok(Json(InteractionPage {
            next_cursor: http::next_offset(start, items.len(), total),
            items,
            total: total as i64,
        })))
    }

    /// Follow-ups due
    ///
    /// Open follow-ups of non-archived leads, soonest first: due today (the IST day), overdue,
    /// upcoming or any; for one agent (the lead's current assignee) or everyone.
    #[oai(
        path = "/api/follow-ups",
        method = "get",
        tag = "ApiTags::FollowUps",
        operation_id = "listFollowUps"
    )]
    #[allow(clippy::too_many_arguments)]
    async fn follow_ups(
        &self,
        req: &Request,
        auth: Auth,
        /// Only follow-ups of leads assigned to this agent.
        agent_id: Query<Option<Uuid>>,
        /// Default `today`.
        due: Query<Option<Due>>,
        /// Page size, 1 to 200 (default 50).
        #[oai(validator(minimum(value = "1"), maximum(value = "200")))]
        limit: Query<Option<i64>>,
        /// The `next_cursor` of the previous page.
        cursor: Query<Option<String>>,
        /// Wait until the read model has this log position (read your own writes); also `X-Min-Position`.
        min_position: Query<Option<i64>>,
    ) -> Result<FollowUpsResponse, ReadError> {
        policy::require(&auth.0, Action::LeadRead)?;
        http::wait_for(&self.leads.state, http::min_position(min_position.0, req)?).await?;
        let filter = FollowUpFilter {
            visible: policy::scope(&self.leads.state, &auth.0).await?,
            assignee: agent_id.0,
            window: due.0.unwrap_or(Due::Today).into(),
            limit: page_limit(limit.0)?,
            cursor: cursor.0,
            now: Utc::now(),
        };
        let page = query::follow_ups(&self.leads.state.db, &self.leads.state.keyring, &filter)
            .await
            .map_err(|e| match e {
                query::QueryError::BadCursor => ApiError::field("cursor", e.to_string()),
                query::QueryError::Store(e) => ApiError::internal(e),
            })?;
        // With what the agent needs to act; sales roles see no personal data of people who
        // asked for erasure.
        let mut items = Vec::with_capacity(page.items.len());
        for r in page.items {
            let lead = query::get(&self.leads.state.db, &self.leads.state.keyring, r.lead_id)
                .await
                .map_err(ApiError::internal)?;
            let restricted = lead
                .as_ref()
                .is_some_and(|v| policy::restricted_for(&auth.0, v));
            let mut item = DueFollowUp {
                follow_up_id: r.follow_up_id,
                lead_id: r.lead_id,
                lead_name: r.lead_name,
                lead_email: lead.as_ref().and_then(|v| v.email.clone()),
                lead_phone: lead.as_ref().and_then(|v| v.phone.clone()),
                assignee: r.assignee,
                due_at: r.due_at,
                channel: r.channel,
                note: r.note,
            };
            if restricted {
                item.lead_name = policy::RESTRICTED.into();
                item.lead_email = item.lead_email.map(|_| policy::RESTRICTED.into());
                item.lead_phone = item.lead_phone.map(|_| policy::RESTRICTED.into());
                item.note = item.note.map(|_| policy::RESTRICTED.into());
            }
            items.push(item);
        }
        Ok(FollowUpsResponse::Ok(Json(FollowUpPage {
            items,
            next_cursor: page.next_cursor,
            total: page.total,
        })))
    }
}
