//! `GET /api/audit/export`, `GET /api/audit/checkpoints` and `GET /api/history`.

use chrono::{DateTime, Utc};
use futures::StreamExt;
use poem::Request;
use poem_openapi::param::Query;
use poem_openapi::payload::{Binary, Json};
use poem_openapi::{ApiResponse, Object, OpenApi};

use crate::auth::Auth;
use crate::http::{self as shared, State};
use crate::leads::ApiTags;
use crate::policy::{self, Action};
use crate::problem::{ApiError, FieldError, ReadError};
use projections::audit::{ExportFilter, Line};

#[derive(ApiResponse)]
pub enum ExportResponse {
    /// JSON lines, oldest first: `{"kind":"event",…}` with the event exactly as stored
    /// (personal fields are ciphertext), its hashes and its ledger entry; and
    /// `{"kind":"checkpoint",…}` after every signed checkpoint. `crm audit verify --file`
    /// checks it.
    #[oai(status = 200, content_type = "application/x-ndjson")]
    Ok(Binary<poem::Body>),
}

/// A signed ledger checkpoint.
#[derive(Debug, Clone, Object)]
#[oai(example)]
pub struct CheckpointOut {
    /// The ledger entry it covers (the n-th event in commit order).
    pub seq: i64,
    pub ledger_hash: String,
    pub at: String,
    /// The ed25519 key that signed it (hex).
    pub public_key: String,
    pub signature: String,
}

impl poem_openapi::types::Example for CheckpointOut {
    fn example() -> Self {
        Self {
            seq: 50,
            ledger_hash: "9f2c…".into(),
            at: "2026-11-30T10:00:00.000000Z".into(),
            public_key: "3b6a…".into(),
            signature: "a1d0…".into(),
        }
    }
}

#[derive(Debug, Clone, Object)]
#[oai(example)]
pub struct Checkpoints {
    /// The key this server signs with now.
    pub public_key: String,
    pub items: Vec<CheckpointOut>,
}

#[derive(Debug, ApiResponse)]
pub enum CheckpointsResponse {
    /// Every checkpoint, oldest first.
    #[oai(status = 200)]
    Ok(Json<Checkpoints>),
}

/// One event in the who-did-what history (metadata only: no content).
#[derive(Debug, Clone, Object)]
#[oai(example)]
pub struct HistoryItem {
    pub position: i64,
    pub aggregate_type: String,
    pub aggregate_id: String,
    pub sequence: i64,
    pub event_type: String,
    /// The person the event is about (for reads of personal data, whose data was shown).
    pub subject_id: Option<String>,
    pub actor_id: String,
    pub actor_role: String,
    pub request_id: String,
    pub recorded_at: DateTime<Utc>,
}

impl poem_openapi::types::Example for HistoryItem {
    fn example() -> Self {
        Self {
            position: 1042,
            aggregate_type: "lead".into(),
            aggregate_id: "0193…".into(),
            sequence: 4,
            event_type: "LeadAssigned".into(),
            subject_id: Some("0193…".into()),
            actor_id: "0193…".into(),
            actor_role: "branch_manager".into(),
            request_id: "6c1f…".into(),
            recorded_at: DateTime::parse_from_rfc3339("2026-11-30T10:00:00Z")
                .expect("valid")
                .with_timezone(&Utc),
        }
    }
}

#[derive(Debug, Clone, Object)]
#[oai(example)]
pub struct HistoryPage {
    pub items: Vec<HistoryItem>,
    /// Pass as `cursor` for the next page; absent on the last page.
    pub next_cursor: Option<String>,
    /// How many events match the filters.
    pub total: i64,
}

#[derive(Debug, ApiResponse)]
pub enum HistoryPageResponse {
    /// Events oldest first.
    #[oai(status = 200)]
    Ok(Json<HistoryPage>),
}

pub struct AuditApi {
    pub state: State,
}

#[OpenApi]
impl AuditApi {
    /// Export the event log
    ///
    /// Auditors and admins. Streams the log in commit order as JSON lines, each event
    /// with its hash chain and ledger entry, and the signed checkpoints, for
    /// `crm audit verify --file`. Filters narrow what is written; the chain is checked
    /// across what the export holds.
    #[oai(
        path = "/api/audit/export",
        method = "get",
        tag = "ApiTags::Audit",
        operation_id = "exportAuditLog"
    )]
    async fn export(
        &self,
        auth: Auth,
        /// Only events recorded at or after this time.
        from: Query<Option<DateTime<Utc>>>,
        /// Only events recorded before this time.
        to: Query<Option<DateTime<Utc>>>,
        /// Only events of this aggregate type (`lead`, `user`, `pii_access`).
        aggregate_type: Query<Option<String>>,
        /// Only events of this aggregate id.
        aggregate_id: Query<Option<String>>,
    ) -> Result<ExportResponse, ReadError> {
        policy::require(&auth.0, Action::AuditExport)?;
        let filter = ExportFilter {
            from: from.0,
            to: to.0,
            aggregate_type: aggregate_type.0,
            aggregate_id: aggregate_id.0,
        };
        let errors: Vec<FieldError> = filter
            .check()
            .into_iter()
            .map(|(f, why)| FieldError::new(f, why))
            .collect();
        if !errors.is_empty() {
            return Err(ApiError::validation(errors).into());
        }
        let (tx, rx) = tokio::sync::mpsc::channel::<Vec<Line>>(projections::audit::EXPORT_QUEUE);
        let db = self.state.db.clone();
        tokio::spawn(async move {
            if let Err(e) = projections::audit::export(&db, &filter, tx).await {
                tracing::warn!(error = %e, "audit export stopped");
            }
        });
        let stream = futures::stream::unfold(rx, |mut rx| async move {
            rx.recv().await.map(|lines| {
                let mut text = Vec::new();
                for line in &lines {
                    // A line is plain data: writing it into memory cannot fail.
                    let _ = serde_json::to_writer(&mut text, line);
                    text.push(b'\n');
                }
                (Ok::<_, std::io::Error>(text), rx)
            })
        })
        .boxed();
        Ok(ExportResponse::Ok(Binary(poem::Body::from_bytes_stream(
            stream,
        ))))
    }

    /// Signed ledger checkpoints
    ///
    /// Auditors and admins pin these: a later export whose ledger disagrees with a
    /// pinned checkpoint has had its history rewritten.
    #[oai(
        path = "/api/audit/checkpoints",
        method = "get",
        tag = "ApiTags::Audit",
        operation_id = "listAuditCheckpoints"
    )]
    async fn checkpoints(&self, auth: Auth) -> Result<CheckpointsResponse, ReadError> {
        policy::require(&auth.0, Action::AuditExport)?;
        let rows = projections::ledger::checkpoints(&self.state.db)
            .await
            .map_err(ApiError::internal)?;
        Ok(CheckpointsResponse::Ok(Json(Checkpoints {
            public_key: self.state.signer.public_key_hex(),
            items: rows
                .into_iter()
                .map(|c| CheckpointOut {
                    seq: c.seq,
                    ledger_hash: c.ledger_hash,
                    at: c.at,
                    public_key: c.public_key,
                    signature: c.signature,
                })
                .collect(),
        })))
    }

    /// Who did what, when
    ///
    /// Compliance officers, auditors and admins. Every event's metadata (no content),
    /// oldest first, filtered by actor, time, aggregate and event type; reads of personal
    /// data appear as `PiiViewed`. Keyset pages: pass `next_cursor` back as `cursor`.
    #[oai(
        path = "/api/history",
        method = "get",
        tag = "ApiTags::Audit",
        operation_id = "listChangeHistory"
    )]
    #[allow(clippy::too_many_arguments)]
    async fn history(
        &self,
        req: &Request,
        auth: Auth,
        /// Only what this user did.
        actor: Query<Option<String>>,
        /// At or after this time.
        from: Query<Option<DateTime<Utc>>>,
        /// Before this time.
        to: Query<Option<DateTime<Utc>>>,
        /// Only events of this aggregate type (`lead`, `user`, `pii_access`).
        aggregate_type: Query<Option<String>>,
        /// Only events of this record.
        aggregate_id: Query<Option<String>>,
        /// Only events about this person (including reads of their data).
        subject_id: Query<Option<String>>,
        /// Only events of this type, e.g. `LeadAssigned`, `PiiViewed`, `LoginFailed`.
        event_type: Query<Option<String>>,
        /// The `next_cursor` of the previous page.
        cursor: Query<Option<String>>,
        /// Page size, 1 to 500 (default 100).
        #[oai(validator(minimum(value = "1"), maximum(value = "500")))]
        limit: Query<Option<i64>>,
        /// Wait until the history has this log position (read your own writes).
        min_position: Query<Option<i64>>,
    ) -> Result<HistoryPageResponse, ReadError> {
        policy::require(&auth.0, Action::HistoryRead)?;
        let after = match &cursor.0 {
            None => Ok(None),
            Some(c) => projections::history::parse_cursor(c)
                .map(Some)
                .ok_or(FieldError::new(
                    "cursor",
                    "the cursor is not one this list handed out",
                )),
        };
        let filter = projections::history::HistoryFilter {
            actor_id: actor.0,
            aggregate_type: aggregate_type.0,
            aggregate_id: aggregate_id.0,
            subject_id: subject_id.0,
            event_type: event_type.0,
            from: from.0,
            to: to.0,
            after: after.clone().unwrap_or_default(),
            limit: limit.0.unwrap_or(100),
        };
        let errors: Vec<FieldError> = after
            .err()
            .into_iter()
            .chain(
                filter
                    .check()
                    .into_iter()
                    .map(|(f, why)| FieldError::new(f, why)),
            )
            .collect();
        if !errors.is_empty() {
            return Err(ApiError::validation(errors).into());
        }
        let wait = shared::min_position(min_position.0, req)?;
        shared::wait_for_in(&self.state, projections::history::NAME, wait).await?;
        let page = projections::history::page(&self.state.db, &filter)
            .await
            .map_err(ApiError::internal)?;
        let items = page
            .rows
            .into_iter()
            .map(|r| HistoryItem {
                position: r.position,
                aggregate_type: r.aggregate_type,
                aggregate_id: r.aggregate_id,
                sequence: r.sequence,
                event_type: r.event_type,
                subject_id: r.subject_id,
                actor_id: r.actor_id,
                actor_role: r.actor_role,
                request_id: r.request_id,
                recorded_at: r.recorded_at,
            })
            .collect();
        let (next_cursor, total) = (page.next_cursor, page.total);
        Ok(HistoryPageResponse::Ok(Json(HistoryPage {
            items,
            next_cursor,
            total,
        })))
    }
}

impl poem_openapi::types::Example for Checkpoints {
    fn example() -> Self {
        let c = CheckpointOut::example();
        Self {
            public_key: c.public_key.clone(),
            items: vec![c],
        }
    }
}

impl poem_openapi::types::Example for HistoryPage {
    fn example() -> Self {
        Self {
            items: vec![HistoryItem::example()],
            next_cursor: Some("1042".into()),
            total: 230,
        }
    }
}
