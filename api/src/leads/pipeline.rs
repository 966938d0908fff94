//! One lead (every operation on `/api/leads/{id}` lives here: the document keeps one group per
//! path): reading it, now or as it stood; its details; archiving; the pipeline (status,
//! conversion) and assignment.

// Handlers take one argument per documented parameter.
#![allow(clippy::too_many_arguments)]

use super::*;

pub struct PipelineApi {
    pub leads: LeadsApi,
}

impl PipelineApi {
    /// Changes the lead's details as `patch` asks (only what differs is recorded).
    async fn edit(
        &self,
        p: &Principal,
        id: Uuid,
        patch: DetailsPatch,
        req: &Request,
    ) -> Result<DoneResponse, ApiError> {
        policy::require(p, Action::LeadEdit)?;
        let scope = policy::scope(&self.leads.state, p).await?;
        // A new contact is checked for duplicates: limited like captures for a caller who
        // does not see every lead.
        let new_contact =
            matches!(patch.email, Some(Some(_))) || matches!(patch.phone, Some(Some(_)));
        if scope.is_some() && new_contact {
            http::limit_work(&self.leads.state, p.user_id, "lead captures")?;
        }
        let updated = commands::leads::update_details(
            &self.leads.state.write,
            &scope,
            id,
            patch,
            &http::metadata(req),
            http::if_match(req)?,
        )
        .await;
        let done = match updated {
            Err(commands::leads::LeadsError::Duplicate { visible, hidden })
                if !hidden.is_empty() =>
            {
                return Err(self.leads.disclosed(req, visible, hidden).await);
            }
            other => other?,
        };
        Ok(DoneResponse::Done(accepted(id, &done)))
    }
}

#[OpenApi]
impl PipelineApi {
    /// Get a lead
    ///
    /// The lead with its status history, assignments, follow-ups and interactions. Archived
    /// leads are still returned (with `archived: true`).
    #[oai(
        path = "/api/leads/:id",
        method = "get",
        tag = "ApiTags::Leads",
        operation_id = "getLead"
    )]
    async fn get(
        &self,
        req: &Request,
        auth: Auth,
        /// The lead's id.
        id: Path<Uuid>,
        /// Wait until the read model has this log position (read your own writes).
        min_position: Query<Option<i64>>,
        /// The lead as it stood at this time, folded from the event log (compliance replay).
        as_of: Query<Option<DateTime<Utc>>>,
    ) -> Result<LeadResponse, ReadError> {
        policy::require(&auth.0, Action::LeadRead)?;
        if let Some(at) = as_of.0 {
            policy::require(&auth.0, Action::LeadHistory)?;
            let (now, then) =
                http::now_and_at::<projections::leads::LeadView>(&self.leads.state, id.0, at)
                    .await?;
            // Whether the caller may see the lead is decided on its state now.
            self.leads.visible(&auth.0, now.as_ref()).await?;
            let view = then.ok_or_else(|| ApiError::not_found("lead at that time"))?;
            // Restriction is decided on the lead as it is now, not as it was then.
            let view = match &now {
                Some(n) if policy::restricted_for(&auth.0, n) => policy::masked(view),
                _ => view,
            };
            http::record_access(&self.leads.state, req, "lead", id.0, AccessKind::AsOf).await?;
            let etag = format!("\"{}\"", view.version);
            return Ok(LeadResponse::Ok(Json((&view).into()), etag));
        }
        http::wait_for(&self.leads.state, http::min_position(min_position.0, req)?).await?;
        let view = self.leads.lead_view(id.0).await?;
        self.leads.visible(&auth.0, Some(&view)).await?;
        let restricted = policy::restricted_for(&auth.0, &view);
        let view = policy::shown(&auth.0, view);
        http::record_access(&self.leads.state, req, "lead", id.0, AccessKind::Profile).await?;
        let etag = format!("\"{}\"", view.version);
        let mut out = LeadOut::from(&view);
        // The work of leads merged into this one shows here (not to a caller the lead is
        // restricted for: its own is masked too).
        if !view.merged_from.is_empty() && !restricted {
            let merged =
                super::merge::merged_views(&self.leads.state, &auth.0, req, &view.merged_from)
                    .await?;
            out.interactions
                .extend(super::merge::merged_interactions(&merged));
            out.interactions
                .sort_by_key(|i| (i.occurred_at, i.logged_at));
            for (f, v) in out.follow_ups.iter_mut().zip(&view.follow_ups) {
                if f.note.is_none() {
                    f.note = super::merge::moved_note(&merged, v.moved_from);
                }
            }
        }
        Ok(LeadResponse::Ok(Json(out), etag))
    }

    /// A lead's score, explained
    ///
    /// The 0–100 score now and each factor's contribution (source, stage, reach, interest,
    /// interactions, follow-ups kept, recency, stated capacity) with the configured weights
    /// (`CRM_SCORE_WEIGHTS`). Recency halves every `half_life_days` without activity; lists sort
    /// by the score as of the lead's last change (`listed_score`).
    #[oai(
        path = "/api/leads/:id/score",
        method = "get",
        tag = "ApiTags::Leads",
        operation_id = "getLeadScore"
    )]
    async fn score(
        &self,
        req: &Request,
        auth: Auth,
        /// The lead's id.
        id: Path<Uuid>,
        /// Wait until the read model has this log position (read your own writes).
        min_position: Query<Option<i64>>,
    ) -> Result<ScoreResponse, ReadError> {
        policy::require(&auth.0, Action::LeadRead)?;
        http::wait_for(&self.leads.state, http::min_position(min_position.0, req)?).await?;
        let view = self.leads.lead_view(id.0).await?;
        self.leads.visible(&auth.0, Some(&view)).await?;
        let now = Utc::now();
        let explained = view.explain_score(now, projections::leads::score_weights());
        Ok(ScoreResponse::Ok(Json(ScoreOut {
            lead_id: view.lead_id,
            score: explained.score,
            listed_score: view.score,
            as_of: now,
            last_activity_at: view.last_activity(),
            contributions: explained
                .contributions
                .into_iter()
                .map(|c| ScoreContribution {
                    factor: c.factor.into(),
                    points: c.points,
                    max: c.max,
                    detail: c.detail,
                })
                .collect(),
        })))
    }

    /// Replace a lead's contact details
    ///
    /// Sends every field; optional fields left out are cleared. Emits only what changed.
    #[oai(
        path = "/api/leads/:id",
        method = "put",
        tag = "ApiTags::Leads",
        operation_id = "replaceLeadDetails"
    )]
    async fn replace(
        &self,
        req: &Request,
        auth: Auth,
        /// The lead's id.
        id: Path<Uuid>,
        body: Json<LeadDetailsReplace>,
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
            let patch = DetailsPatch::from(LeadsApi::details(&body.0)?);
            self.edit(&auth.0, id.0, patch, req).await
        })
        .await
    }

    /// Update some contact details
    ///
    /// Absent fields stay as they are; `null` clears an optional field. Emits only what changed.
    #[oai(
        path = "/api/leads/:id",
        method = "patch",
        tag = "ApiTags::Leads",
        operation_id = "updateLeadDetails"
    )]
    async fn patch(
        &self,
        req: &Request,
        auth: Auth,
        /// The lead's id.
        id: Path<Uuid>,
        body: Json<LeadDetailsPatch>,
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
            let b = &body.0;
            fn text(v: &MaybeUndefined<Str>) -> Change<&str> {
                http::change(v, |s| s.0.as_str())
            }
            let product_interest = match &b.product_interest {
                MaybeUndefined::Value(v) => Some(strings(v)),
                _ => None,
            };
            let patch = DetailsPatch::parse(RawChange {
                name: text(&b.name),
                email: text(&b.email),
                phone: text(&b.phone),
                source: http::change(&b.source, |s| (*s).into()),
                source_detail: text(&b.source_detail),
                product_interest: match (&b.product_interest, &product_interest) {
                    (MaybeUndefined::Null, _) => Change::Clear,
                    (_, Some(v)) => Change::Set(v.as_slice()),
                    _ => Change::Keep,
                },
                preferred_contact_method: http::change(&b.preferred_contact_method, |m| {
                    (*m).into()
                }),
                preferred_contact_time: text(&b.preferred_contact_time),
                notes: text(&b.notes),
                investment_capacity: http::change(&b.investment_capacity, |c| c.0),
            })?;
            self.edit(&auth.0, id.0, patch, req).await
        })
        .await
    }

    /// Archive a lead
    ///
    /// The lead leaves the default lists and takes no more changes; its history stays and the
    /// event log is never altered.
    #[oai(
        path = "/api/leads/:id",
        method = "delete",
        tag = "ApiTags::Leads",
        operation_id = "archiveLead"
    )]
    async fn archive(
        &self,
        req: &Request,
        auth: Auth,
        /// The lead's id.
        id: Path<Uuid>,
        /// Why the lead is archived.
        reason: Query<Option<String>>,
        /// Makes the command safe to retry: a repeat gets the first answer, changing nothing.
        #[oai(name = "Idempotency-Key")]
        key: Key,
        /// Only act if the lead is still at this version (the `ETag` its GET returned);
        /// otherwise 412 and nothing changes.
        #[oai(name = "If-Match")]
        _if_match: Key,
    ) -> Result<DoneResponse, ApiError> {
        let fingerprint = serde_json::json!({ "reason": reason.0 });
        idempotent(&self.leads.state, key.0, req, fingerprint, || async {
            let mut f = Fields::default();
            let reason = self::reason(&mut f, reason.0.as_deref());
            f.finish()?;
            let done = self
                .leads
                .run(
                    &auth.0,
                    Action::LeadArchive,
                    id.0,
                    LeadCommand::Archive { reason },
                    req,
                )
                .await?;
            Ok(DoneResponse::Done(accepted(id.0, &done)))
        })
        .await
    }

    /// Move a lead in the pipeline
    ///
    /// new → contacted → qualified → converted; `lost` (with a reason) from any open status;
    /// from lost, only back to the status it was lost from (reopen). Illegal moves answer 409
    /// with the allowed moves.
    #[oai(
        path = "/api/leads/:id/status",
        method = "post",
        tag = "ApiTags::Leads",
        operation_id = "changeLeadStatus"
    )]
    async fn status(
        &self,
        req: &Request,
        auth: Auth,
        /// The lead's id.
        id: Path<Uuid>,
        body: Json<StatusChange>,
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
            let client_id = Uuid::now_v7();
            let to: domain::lead::LeadStatus = body.0.status.into();
            let done = self
                .leads
                .run(
                    &auth.0,
                    Action::LeadEdit,
                    id.0,
                    LeadCommand::ChangeStatus {
                        to,
                        reason,
                        client_id,
                    },
                    req,
                )
                .await?;
            Ok(DoneResponse::Done(Json(Accepted {
                client_id: (to == domain::lead::LeadStatus::Converted).then_some(client_id),
                ..Accepted::of(id.0, &done)
            })))
        })
        .await
    }

    /// Convert a lead to a client
    ///
    /// Only a qualified lead converts. The answer carries the id of the client account.
    #[oai(
        path = "/api/leads/:id/convert",
        method = "post",
        tag = "ApiTags::Leads",
        operation_id = "convertLead"
    )]
    async fn convert(
        &self,
        req: &Request,
        auth: Auth,
        /// The lead's id.
        id: Path<Uuid>,
        body: Json<Conversion>,
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
            let client_id = Uuid::now_v7();
            let to = domain::lead::LeadStatus::Converted;
            let done = self
                .leads
                .run(
                    &auth.0,
                    Action::LeadEdit,
                    id.0,
                    LeadCommand::ChangeStatus {
                        to,
                        reason,
                        client_id,
                    },
                    req,
                )
                .await?;
            Ok(DoneResponse::Done(Json(Accepted {
                client_id: Some(client_id),
                ..Accepted::of(id.0, &done)
            })))
        })
        .await
    }

    /// Assign a lead
    ///
    /// To an agent by id, or to the next active agent by round-robin. Reassignment keeps the
    /// previous agent in the lead's history.
    #[oai(
        path = "/api/leads/:id/assignment",
        method = "post",
        tag = "ApiTags::Leads",
        operation_id = "assignLead"
    )]
    async fn assign(
        &self,
        req: &Request,
        auth: Auth,
        /// The lead's id.
        id: Path<Uuid>,
        body: Json<AssignmentRequest>,
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
            if body.0.agent_id.is_none() && !body.0.round_robin {
                f.errors.push(FieldError::new(
                    "agent_id",
                    "give an agent_id or set round_robin",
                ));
            }
            if body.0.agent_id.is_some() && body.0.round_robin {
                f.errors.push(FieldError::new(
                    "round_robin",
                    "give either agent_id or round_robin, not both",
                ));
            }
            f.finish()?;
            policy::require(&auth.0, Action::LeadAssign)?;
            let to = match body.0.agent_id {
                Some(agent) => commands::leads::Assignee::Agent(agent),
                None => commands::leads::Assignee::RoundRobin,
            };
            let scope = policy::scope(&self.leads.state, &auth.0).await?;
            let done = commands::leads::assign(
                &self.leads.state.write,
                &auth.0.actor(),
                &scope,
                id.0,
                to,
                reason,
                &http::metadata(req),
                http::if_match(req)?,
            )
            .await?;
            Ok(DoneResponse::Done(accepted(id.0, &done)))
        })
        .await
    }
}
