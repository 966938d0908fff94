//! The checker's side of KYC: the review queue, taking a case under review, deciding it, and
//! the KRA/CKYC registries.

// Handlers take one argument per documented parameter.
#![allow(clippy::too_many_arguments)]

use super::*;

#[derive(Debug, ApiResponse)]
pub enum KycQueueResponse {
    /// One page of cases waiting for a decision.
    #[oai(status = 200)]
    Ok(Json<KycQueue>),
}

#[derive(Debug, ApiResponse)]
pub enum RegistryCheckResponse {
    /// What the registries said, as now recorded.
    #[oai(status = 200)]
    Ok(Json<RegistryCheckOut>),
}

pub struct KycReviewApi {
    pub state: State,
}

#[OpenApi]
impl KycReviewApi {
    /// The KYC review queue
    ///
    /// Cases submitted or under review, the longest waiting first, with each case's age.
    /// Cases the caller submitted or uploaded to are left out (they may not decide them).
    #[oai(
        path = "/api/kyc/pending",
        method = "get",
        tag = "KycTags::Kyc",
        operation_id = "listPendingKyc"
    )]
    async fn pending(
        &self,
        req: &Request,
        auth: Auth,
        /// Only clients of this branch.
        branch: Query<Option<String>>,
        /// `individual`, `huf`, `company`, `partnership` or `trust`.
        client_type: Query<Option<String>>,
        /// Only cases waiting at least this many days.
        min_age_days: Query<Option<i64>>,
        /// Page size, 1 to 100 (default 50).
        limit: Query<Option<i64>>,
        /// The `next_cursor` of the previous page.
        cursor: Query<Option<String>>,
        /// Wait until the read model has this log position (read your own writes).
        min_position: Query<Option<i64>>,
    ) -> Result<KycQueueResponse, ReadError> {
        policy::require(&auth.0, Action::KycDecide)?;
        let mut f = Fields::default();
        if client_type
            .0
            .as_deref()
            .is_some_and(|t| domain::kyc::ClientType::parse(t).is_none())
        {
            f.errors.push(FieldError::new(
                "client_type",
                "one of individual, huf, company, partnership, trust",
            ));
        }
        if min_age_days.0.is_some_and(|d| !(0..=3650).contains(&d)) {
            f.errors
                .push(FieldError::new("min_age_days", "0 to 3650 days"));
        }
        let limit = limit.0.unwrap_or(50);
        if !(1..=100).contains(&limit) {
            f.errors.push(FieldError::new("limit", "1 to 100"));
        }
        f.finish()?;
        http::wait_for_in(
            &self.state,
            projections::kyc::NAME,
            http::min_position(min_position.0, req)?,
        )
        .await?;
        let filter = projections::kyc::query::QueueFilter {
            scope: policy::client_scope(&auth.0),
            reviewer: auth.0.user_id,
            branch: branch.0.map(|b| b.trim().to_ascii_uppercase()),
            client_type: client_type.0,
            min_age_days: min_age_days.0,
            limit,
            cursor: cursor.0,
        };
        let now = Utc::now();
        let page =
            projections::kyc::query::queue(&self.state.db, &self.state.keyring, &filter, now)
                .await
                .map_err(|e| match e {
                    projections::leads::query::QueryError::BadCursor => {
                        ApiError::field("cursor", e.to_string())
                    }
                    projections::leads::query::QueryError::Store(e) => ApiError::internal(e),
                })?;
        let rules = &self.state.write.kyc.services().rules.required;
        Ok(KycQueueResponse::Ok(Json(KycQueue {
            items: page
                .items
                .iter()
                .map(|v| KycOut::of(v, rules, now))
                .collect(),
            next_cursor: page.next_cursor,
            total: page.total,
        })))
    }

    /// Take a KYC case under review
    ///
    /// A compliance officer (or admin) who neither submitted the case nor uploaded any of its
    /// documents takes it (maker-checker: 403 otherwise).
    #[oai(
        path = "/api/kyc/:client_id/review",
        method = "post",
        tag = "KycTags::Kyc",
        operation_id = "startKycReview"
    )]
    async fn review(
        &self,
        req: &Request,
        auth: Auth,
        /// The client's id.
        client_id: Path<Uuid>,
    ) -> Result<DoneResponse, ApiError> {
        policy::require(&auth.0, Action::KycDecide)?;
        http::limit_work(&self.state, auth.0.user_id, "KYC decisions")?;
        let scope = policy::client_scope(&auth.0);
        let committed = commands::kyc::start_review(
            &self.state.write,
            &auth.0.actor(),
            &scope,
            client_id.0,
            &http::metadata(req),
        )
        .await?;
        Ok(done(client_id.0, &committed))
    }

    /// Decide a KYC case
    ///
    /// Approve, reject or request a revision of a submitted case (taking it under review if
    /// nobody has). Records the reviewer, the reasons and, for each document, the verdict and
    /// the sha256 of the file the reviewer saw. Approval needs the risk category; it sets the
    /// next re-KYC date. Maker-checker: whoever submitted the case or uploaded one of its
    /// documents cannot decide it (403).
    #[oai(
        path = "/api/kyc/:client_id/verify",
        method = "put",
        tag = "KycTags::Kyc",
        operation_id = "decideKyc"
    )]
    async fn verify(
        &self,
        req: &Request,
        auth: Auth,
        /// The client's id.
        client_id: Path<Uuid>,
        body: Json<VerifyRequest>,
    ) -> Result<DoneResponse, ApiError> {
        policy::require(&auth.0, Action::KycDecide)?;
        http::limit_work(&self.state, auth.0.user_id, "KYC decisions")?;
        let body = body.0;
        let mut f = Fields::default();
        let reasons = text_list(&mut f, "reasons", &body.reasons);
        let documents: Vec<DocumentFinding> = body
            .documents
            .iter()
            .map(|d| DocumentFinding {
                document_id: d.document_id,
                verdict: match d.decision {
                    VerdictIn::Accepted => DocumentVerdict::Accepted,
                    VerdictIn::Rejected => DocumentVerdict::Rejected,
                },
                reason: d
                    .reason
                    .as_deref()
                    .and_then(|r| f.take("documents", Text::parse(r, 500))),
            })
            .collect();
        f.finish()?;
        let verdict = Verdict {
            decision: match body.decision {
                DecisionIn::Approve => Decision::Approve,
                DecisionIn::Reject => Decision::Reject,
                DecisionIn::RequestRevision => Decision::RequestRevision,
            },
            reasons,
            documents,
        };
        let scope = policy::client_scope(&auth.0);
        let committed = commands::kyc::decide(
            &self.state.write,
            &auth.0.actor(),
            &scope,
            client_id.0,
            verdict,
            &http::metadata(req),
        )
        .await?;
        Ok(done(client_id.0, &committed))
    }

    /// Record the KRA status and CKYC number
    ///
    /// What the KYC Registration Agency says of the client (`not_checked`, `submitted`,
    /// `registered`, `validated`, `on_hold`, `rejected`) and the Central KYC Registry number
    /// (14 digits), either or both.
    #[oai(
        path = "/api/kyc/:client_id/registries",
        method = "put",
        tag = "KycTags::Kyc",
        operation_id = "recordKycRegistries"
    )]
    async fn registries(
        &self,
        req: &Request,
        auth: Auth,
        /// The client's id.
        client_id: Path<Uuid>,
        body: Json<RegistriesIn>,
    ) -> Result<DoneResponse, ApiError> {
        policy::require(&auth.0, Action::KycDecide)?;
        let body = body.0;
        let mut f = Fields::default();
        let ckyc = f.opt(
            "ckyc_number",
            body.ckyc_number.as_deref(),
            CkycNumber::parse,
        );
        if body.kra_status.is_none() && body.ckyc_number.is_none() {
            f.errors.push(FieldError::new(
                "kra_status",
                "give a kra_status, a ckyc_number or both",
            ));
        }
        f.finish()?;
        let scope = policy::client_scope(&auth.0);
        let committed = commands::kyc::record_registries(
            &self.state.write,
            &auth.0.actor(),
            &scope,
            client_id.0,
            body.kra_status.map(Into::into),
            ckyc,
            &http::metadata(req),
        )
        .await?;
        Ok(done(client_id.0, &committed))
    }

    /// Check the KRA and CKYC registries
    ///
    /// Asks the KYC Registration Agency and the Central KYC Registry about the client's PAN
    /// and records the KRA status and the CKYC number they answer. (The registries are not
    /// reachable from this deployment: the answers come from `CRM_KYC_REGISTRY_FIXTURES`.)
    #[oai(
        path = "/api/kyc/:client_id/registries/check",
        method = "post",
        tag = "KycTags::Kyc",
        operation_id = "checkKycRegistries"
    )]
    async fn check_registries(
        &self,
        req: &Request,
        auth: Auth,
        /// The client's id.
        client_id: Path<Uuid>,
    ) -> Result<RegistryCheckResponse, ApiError> {
        policy::require(&auth.0, Action::KycDecide)?;
        let scope = policy::client_scope(&auth.0);
        let (answer, committed) = commands::kyc::check_registries(
            &self.state.write,
            self.state.registry.as_ref(),
            &auth.0.actor(),
            &scope,
            client_id.0,
            &http::metadata(req),
        )
        .await?;
        Ok(RegistryCheckResponse::Ok(Json(RegistryCheckOut {
            client_id: client_id.0,
            kra_status: answer.kra_status.as_str().into(),
            ckyc_number: answer.ckyc_number.map(|n| n.as_str().into()),
            position: committed.position,
        })))
    }
}
