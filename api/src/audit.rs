//! The audit trail: exporting the event log with its ledger and signed checkpoints as JSON
//! lines, verifying such an export (or the live database), and the history endpoints.
//!
//! An export line is either an event (everything its hash covers, plus its ledger entry) or a
//! checkpoint. Verification recomputes every event's hash, follows every aggregate's chain,
//! recomputes the ledger and checks the checkpoint signatures; the first break is named by
//! position, aggregate and sequence.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use commands::audit::{self, GENESIS};
use commands::{Db, EventMetadata};
use projections::ledger::{self, CheckpointRow, LedgerRow};
use projections::{Checkpoint, StoredEvent};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// One ledger entry as exported (with the previous ledger hash, so that any stretch of the
/// export can be checked on its own).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LedgerEntry {
    pub seq: i64,
    pub aggregate_type: String,
    pub aggregate_id: String,
    pub sequence: i64,
    pub event_hash: String,
    pub ledger_prev: String,
    pub ledger_hash: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Line {
    Event {
        position: i64,
        aggregate_type: String,
        aggregate_id: String,
        sequence: i64,
        event_type: String,
        event_version: String,
        payload: Value,
        metadata: Value,
        /// `None` for events the ledger has not taken in yet.
        ledger: Option<LedgerEntry>,
    },
    /// A ledger entry whose event is not in the log (it was deleted).
    Orphan { ledger: LedgerEntry },
    Checkpoint {
        seq: i64,
        ledger_hash: String,
        at: String,
        public_key: String,
        signature: String,
    },
}

/// What to export.
#[derive(Debug, Clone, Default)]
pub struct ExportFilter {
    pub from: Option<DateTime<Utc>>,
    pub to: Option<DateTime<Utc>>,
    pub aggregate_type: Option<String>,
    pub aggregate_id: Option<String>,
}

impl ExportFilter {
    pub fn is_everything(&self) -> bool {
        self.from.is_none()
            && self.to.is_none()
            && self.aggregate_type.is_none()
            && self.aggregate_id.is_none()
    }

    fn keeps(&self, e: &StoredEvent) -> bool {
        if self
            .aggregate_type
            .as_ref()
            .is_some_and(|t| *t != e.aggregate_type)
            || self
                .aggregate_id
                .as_ref()
                .is_some_and(|i| *i != e.aggregate_id)
        {
            return false;
        }
        if self.from.is_none() && self.to.is_none() {
            return true;
        }
        let at = EventMetadata::from_json(&e.metadata).recorded_at;
        self.from.is_none_or(|f| at >= f) && self.to.is_none_or(|t| at < t)
    }
}

const BATCH: i64 = 2000;

/// Walks the log in commit order beside the ledger in its order, sending each export line to
/// `out` (lines `filter` leaves out are skipped; the walk still covers everything). Answers
/// how many events were walked.
pub async fn export(
    db: &Db,
    filter: &ExportFilter,
    out: tokio::sync::mpsc::Sender<Line>,
) -> Result<u64, String> {
    let emit = |line: Line| {
        let out = out.clone();
        async move {
            out.send(line)
                .await
                .map_err(|_| "the export's reader went away".to_string())
        }
    };
    let checkpoints: HashMap<i64, CheckpointRow> = ledger::checkpoints(db)
        .await
        .map_err(|e| e.to_string())?
        .into_iter()
        .map(|c| (c.seq, c))
        .collect();
    // The ledger as it stands now: entries added while the walk runs belong to events it may
    // not reach, and would look like entries of deleted events.
    let ledger_end = ledger::last_seq(db).await.map_err(|e| e.to_string())?;
    let mut cp = Checkpoint::default();
    let mut ledger_after = 0i64;
    let mut ledger_rows: std::collections::VecDeque<LedgerRow> = Default::default();
    let mut ledger_done = false;
    let mut ledger_prev = GENESIS.to_string();
    let mut walked = 0u64;
    loop {
        let events = projections::log::read_after(db, cp, BATCH)
            .await
            .map_err(|e| e.to_string())?;
        let Some(last) = events.last() else { break };
        cp = last.checkpoint();
        for e in events {
            walked += 1;
            if ledger_rows.is_empty() && !ledger_done {
                let more = ledger::entries(db, ledger_after, ledger_end, BATCH)
                    .await
                    .map_err(|e| e.to_string())?;
                ledger_done = more.is_empty();
                if let Some(l) = more.last() {
                    ledger_after = l.seq;
                }
                ledger_rows.extend(more);
            }
            let entry = ledger_rows.pop_front().map(|l| {
                let entry = to_entry(&l, &ledger_prev);
                ledger_prev = l.ledger_hash.clone();
                entry
            });
            let seq = entry.as_ref().map(|l| l.seq);
            if filter.keeps(&e) {
                emit(Line::Event {
                    position: e.position,
                    aggregate_type: e.aggregate_type,
                    aggregate_id: e.aggregate_id,
                    sequence: e.sequence,
                    event_type: e.event_type,
                    event_version: e.event_version,
                    payload: e.payload,
                    metadata: e.metadata,
                    ledger: entry,
                })
                .await?;
            }
            if let Some(c) = seq.and_then(|s| checkpoints.get(&s)) {
                emit(checkpoint_line(c)).await?;
            }
        }
    }
    // Ledger entries left over name events that are no longer in the log.
    loop {
        if ledger_rows.is_empty() && !ledger_done {
            let more = ledger::entries(db, ledger_after, ledger_end, BATCH)
                .await
                .map_err(|e| e.to_string())?;
            ledger_done = more.is_empty();
            if let Some(l) = more.last() {
                ledger_after = l.seq;
            }
            ledger_rows.extend(more);
        }
        let Some(l) = ledger_rows.pop_front() else {
            break;
        };
        let entry = to_entry(&l, &ledger_prev);
        ledger_prev = l.ledger_hash.clone();
        emit(Line::Orphan { ledger: entry }).await?;
    }
    Ok(walked)
}

fn to_entry(l: &LedgerRow, prev: &str) -> LedgerEntry {
    LedgerEntry {
        seq: l.seq,
        aggregate_type: l.aggregate_type.clone(),
        aggregate_id: l.aggregate_id.clone(),
        sequence: l.sequence,
        event_hash: l.event_hash.clone(),
        ledger_prev: prev.to_string(),
        ledger_hash: l.ledger_hash.clone(),
    }
}

fn checkpoint_line(c: &CheckpointRow) -> Line {
    Line::Checkpoint {
        seq: c.seq,
        ledger_hash: c.ledger_hash.clone(),
        at: c.at.clone(),
        public_key: c.public_key.clone(),
        signature: c.signature.clone(),
    }
}

/// The first break found, naming the event.
#[derive(Debug, Clone, PartialEq)]
pub struct Break {
    pub position: Option<i64>,
    pub aggregate: String,
    pub sequence: i64,
    pub problem: String,
}

impl std::fmt::Display for Break {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.position {
            Some(p) => write!(
                f,
                "position {p}, {} #{}: {}",
                self.aggregate, self.sequence, self.problem
            ),
            None => write!(f, "{} #{}: {}", self.aggregate, self.sequence, self.problem),
        }
    }
}

/// What a verification saw.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Report {
    pub events: u64,
    pub aggregates: u64,
    pub ledgered: u64,
    pub checkpoints: u64,
    /// Events written before events carried hashes.
    pub legacy: u64,
    /// The last checkpoint's sequence and ledger hash (for an auditor to pin).
    pub last_checkpoint: Option<(i64, String)>,
    pub breaks: Vec<Break>,
}

/// Checks export lines one by one. `complete` says the lines are a whole export (every
/// aggregate must then start at sequence 1); `pinned_key` is the checkpoint key an auditor
/// trusts (else each checkpoint's own key is used).
pub struct Verifier {
    complete: bool,
    pinned_key: Option<String>,
    chains: HashMap<(String, String), (i64, String)>,
    ledger: Option<(i64, String)>,
    ledger_hashes: HashMap<i64, String>,
    /// The ledger entry whose signed checkpoint must come next (complete exports).
    awaiting_checkpoint: Option<i64>,
    /// An event the ledger does not hold was seen (only the newest events may be such).
    unledgered_seen: bool,
    pub report: Report,
}

impl Verifier {
    pub fn new(complete: bool, pinned_key: Option<String>) -> Self {
        Self {
            complete,
            pinned_key,
            chains: HashMap::new(),
            ledger: None,
            ledger_hashes: HashMap::new(),
            awaiting_checkpoint: None,
            unledgered_seen: false,
            report: Report::default(),
        }
    }

    /// Ends the check: a checkpoint still owed is a break.
    pub fn finish(mut self) -> Report {
        if let Some(seq) = self.awaiting_checkpoint.take() {
            self.fail(
                None,
                "checkpoint".into(),
                seq,
                "the signed checkpoint of this ledger entry is missing".into(),
            );
        }
        self.report
    }

    fn fail(&mut self, position: Option<i64>, aggregate: String, sequence: i64, problem: String) {
        self.report.breaks.push(Break {
            position,
            aggregate,
            sequence,
            problem,
        });
    }

    pub fn line(&mut self, line: &Line) {
        if let Some(seq) = self.awaiting_checkpoint {
            if !matches!(line, Line::Checkpoint { seq: s, .. } if *s == seq) {
                self.awaiting_checkpoint = None;
                self.fail(
                    None,
                    "checkpoint".into(),
                    seq,
                    "the signed checkpoint of this ledger entry is missing (removed)".into(),
                );
            }
        }
        match line {
            Line::Event {
                position,
                aggregate_type,
                aggregate_id,
                sequence,
                event_type,
                event_version,
                payload,
                metadata,
                ledger,
            } => {
                self.report.events += 1;
                let name = format!("{aggregate_type}/{aggregate_id}");
                let at = Some(*position);
                let computed = audit::event_hash(&audit::EventContent {
                    aggregate_type,
                    aggregate_id,
                    sequence: *sequence,
                    event_type,
                    event_version,
                    payload,
                    metadata,
                });
                let (prev, mut stored) = audit::stored_hashes(metadata);
                if stored.is_empty() && prev.is_empty() {
                    // Written before events carried hashes: its content hash stands in (the
                    // ledger, if it holds the event, still vouches for it).
                    self.report.legacy += 1;
                    stored = computed.clone();
                }
                if stored != computed {
                    self.fail(
                        at,
                        name.clone(),
                        *sequence,
                        "the event's content does not match its hash (it was altered)".into(),
                    );
                }
                let key = (aggregate_type.clone(), aggregate_id.clone());
                match self.chains.get(&key).cloned() {
                    Some((last_seq, last_hash)) => {
                        if *sequence != last_seq + 1 {
                            self.fail(at, name.clone(), *sequence, format!("follows #{last_seq} of its aggregate: events are missing or out of order"));
                        } else if prev != last_hash {
                            self.fail(
                                at,
                                name.clone(),
                                *sequence,
                                "its previous-event hash does not match the event before it".into(),
                            );
                        }
                    }
                    None => {
                        self.report.aggregates += 1;
                        if self.complete && (*sequence != 1 || prev != GENESIS) {
                            self.fail(at, name.clone(), *sequence, "the aggregate's first event in the log is not its first event (earlier events are missing)".into());
                        }
                    }
                }
                self.chains.insert(key, (*sequence, stored.clone()));
                // Events past the ledger's end are checked by their own chains only; they can
                // only be the newest.
                if ledger.is_none() {
                    self.unledgered_seen = true;
                } else if self.unledgered_seen && self.complete {
                    self.fail(
                        at,
                        name.clone(),
                        *sequence,
                        "events the ledger does not hold come before this one (inserted?)".into(),
                    );
                }
                if let Some(l) = ledger {
                    self.report.ledgered += 1;
                    if l.aggregate_type != *aggregate_type
                        || l.aggregate_id != *aggregate_id
                        || l.sequence != *sequence
                    {
                        let expected =
                            format!("{}/{} #{}", l.aggregate_type, l.aggregate_id, l.sequence);
                        self.fail(at, name.clone(), *sequence, format!("the ledger's entry {} at this place is {expected}: an event was deleted, inserted or moved", l.seq));
                    } else {
                        self.ledger_entry(l, &computed, at);
                    }
                }
            }
            Line::Orphan { ledger } => {
                let name = format!("{}/{}", ledger.aggregate_type, ledger.aggregate_id);
                self.fail(None, name, ledger.sequence, format!("the ledger's entry {} names an event that is not in the log (it was deleted)", ledger.seq));
            }
            Line::Checkpoint {
                seq,
                ledger_hash,
                at,
                public_key,
                signature,
            } => {
                self.report.checkpoints += 1;
                if self.awaiting_checkpoint == Some(*seq) {
                    self.awaiting_checkpoint = None;
                }
                let key = self
                    .pinned_key
                    .clone()
                    .unwrap_or_else(|| public_key.clone());
                let message = audit::checkpoint_message(*seq, ledger_hash, at);
                if !audit::verify_signature(&key, &message, signature) {
                    self.fail(None, "checkpoint".into(), *seq, "the signature does not verify (checkpoint altered, or signed by another key)".into());
                } else if self.complete && !self.ledger_hashes.contains_key(seq) {
                    self.fail(
                        None,
                        "checkpoint".into(),
                        *seq,
                        "a checkpoint for a ledger entry the export does not hold".into(),
                    );
                } else if self
                    .ledger_hashes
                    .get(seq)
                    .is_some_and(|h| h != ledger_hash)
                {
                    self.fail(None, "checkpoint".into(), *seq, "the ledger no longer matches this signed checkpoint (history before it was rewritten)".into());
                } else {
                    self.report.last_checkpoint = Some((*seq, ledger_hash.clone()));
                }
            }
        }
    }

    fn ledger_entry(&mut self, l: &LedgerEntry, computed: &str, at: Option<i64>) {
        let name = format!("{}/{}", l.aggregate_type, l.aggregate_id);
        if l.event_hash != computed {
            self.fail(at, name.clone(), l.sequence, format!("the ledger's entry {} holds another hash for this event (it was altered after the ledger took it in)", l.seq));
        }
        if let Some((last_seq, last_hash)) = self.ledger.clone() {
            if l.seq == last_seq + 1 && l.ledger_prev != last_hash {
                self.fail(
                    at,
                    name.clone(),
                    l.sequence,
                    format!(
                        "the ledger's entry {} does not follow entry {last_seq}",
                        l.seq
                    ),
                );
            } else if self.complete && l.seq != last_seq + 1 {
                self.fail(
                    at,
                    name.clone(),
                    l.sequence,
                    format!(
                        "the ledger's entries {} to {} are missing (events were removed)",
                        last_seq + 1,
                        l.seq - 1
                    ),
                );
            }
        } else if self.complete && (l.seq != 1 || l.ledger_prev != GENESIS) {
            self.fail(
                at,
                name.clone(),
                l.sequence,
                "the ledger does not start at its beginning".into(),
            );
        }
        if audit::ledger_hash(&l.ledger_prev, &l.event_hash) != l.ledger_hash {
            self.fail(
                at,
                name,
                l.sequence,
                format!(
                    "the ledger's entry {} is not the hash of its predecessor and its event",
                    l.seq
                ),
            );
        }
        self.ledger = Some((l.seq, l.ledger_hash.clone()));
        if self.complete && l.seq % projections::ledger::CHECKPOINT_EVERY == 0 {
            self.awaiting_checkpoint = Some(l.seq);
        }
        if self.ledger_hashes.len() > 1_000_000 {
            self.ledger_hashes.clear();
        }
        self.ledger_hashes.insert(l.seq, l.ledger_hash.clone());
    }
}

/// Verifies the live database: the whole log beside the whole ledger.
pub async fn verify_live(db: &Db, pinned_key: Option<String>) -> Result<Report, String> {
    let mut v = Verifier::new(true, pinned_key);
    let (tx, mut rx) = tokio::sync::mpsc::channel(256);
    let db = db.clone();
    let walk = tokio::spawn(async move { export(&db, &ExportFilter::default(), tx).await });
    while let Some(line) = rx.recv().await {
        v.line(&line);
    }
    walk.await.map_err(|e| e.to_string())??;
    Ok(v.finish())
}

/// Verifies export lines read from `input`. A whole export (the default) must start at the
/// log's beginning and hold every ledger entry and checkpoint; a `partial` one (written with
/// filters) is checked for what it holds.
pub fn verify_lines(
    input: impl std::io::BufRead,
    pinned_key: Option<String>,
    partial: bool,
) -> Result<Report, String> {
    let mut lines = Vec::new();
    for (i, raw) in input.lines().enumerate() {
        let raw = raw.map_err(|e| e.to_string())?;
        if raw.trim().is_empty() {
            continue;
        }
        let line: Line = serde_json::from_str(&raw)
            .map_err(|e| format!("line {}: not an export line: {e}", i + 1))?;
        lines.push(line);
    }
    let mut v = Verifier::new(!partial, pinned_key);
    for line in &lines {
        v.line(line);
    }
    Ok(v.finish())
}

pub mod http {
    //! `GET /api/audit/export`, `GET /api/audit/checkpoints` and `GET /api/history`.

    use chrono::{DateTime, Utc};
    use futures::StreamExt;
    use poem::Request;
    use poem_openapi::param::Query;
    use poem_openapi::payload::{Binary, Json};
    use poem_openapi::{ApiResponse, Object, OpenApi};

    use super::{ExportFilter, Line};
    use crate::auth::Auth;
    use crate::http::{self as shared, State};
    use crate::leads::ApiTags;
    use crate::policy::{self, Action};
    use crate::problem::{ApiError, FieldError, ReadError};

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
        #[oai(path = "/api/audit/export", method = "get", tag = "ApiTags::Audit")]
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
            if let (Some(a), Some(b)) = (from.0, to.0) {
                if a > b {
                    return Err(ApiError::validation(vec![FieldError::new(
                        "to",
                        "must not be before from",
                    )])
                    .into());
                }
            }
            let filter = ExportFilter {
                from: from.0,
                to: to.0,
                aggregate_type: aggregate_type.0,
                aggregate_id: aggregate_id.0,
            };
            let (tx, rx) = tokio::sync::mpsc::channel::<Line>(256);
            let db = self.state.db.clone();
            tokio::spawn(async move {
                if let Err(e) = super::export(&db, &filter, tx).await {
                    tracing::warn!(error = %e, "audit export stopped");
                }
            });
            let stream = futures::stream::unfold(rx, |mut rx| async move {
                rx.recv().await.map(|line| {
                    let mut text = serde_json::to_string(&line).unwrap_or_default();
                    text.push('\n');
                    (Ok::<_, std::io::Error>(text.into_bytes()), rx)
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
            tag = "ApiTags::Audit"
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
        #[oai(path = "/api/history", method = "get", tag = "ApiTags::Audit")]
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
            limit: Query<Option<i64>>,
            /// Wait until the history has this log position (read your own writes).
            min_position: Query<Option<i64>>,
        ) -> Result<HistoryPageResponse, ReadError> {
            policy::require(&auth.0, Action::HistoryRead)?;
            let after = match &cursor.0 {
                None => None,
                Some(c) => Some(c.parse::<i64>().ok().filter(|p| *p >= 0).ok_or_else(|| {
                    ApiError::validation(vec![FieldError::new(
                        "cursor",
                        "the cursor is not one this list handed out",
                    )])
                })?),
            };
            let limit = limit.0.unwrap_or(100);
            if !(1..=500).contains(&limit) {
                return Err(ApiError::validation(vec![FieldError::new(
                    "limit",
                    "must be 1 to 500",
                )])
                .into());
            }
            if let (Some(a), Some(b)) = (from.0, to.0) {
                if a > b {
                    return Err(ApiError::validation(vec![FieldError::new(
                        "to",
                        "must not be before from",
                    )])
                    .into());
                }
            }
            for (name, v) in [
                ("actor", &actor.0),
                ("aggregate_type", &aggregate_type.0),
                ("aggregate_id", &aggregate_id.0),
                ("subject_id", &subject_id.0),
                ("event_type", &event_type.0),
            ] {
                if v.as_ref().is_some_and(|s| s.is_empty() || s.len() > 100) {
                    return Err(ApiError::validation(vec![FieldError::new(
                        name,
                        "1 to 100 characters",
                    )])
                    .into());
                }
            }
            shared::wait_for_in(
                &self.state,
                projections::history::NAME,
                shared::min_position(min_position.0, req)?,
            )
            .await?;
            let filter = projections::history::HistoryFilter {
                actor_id: actor.0,
                aggregate_type: aggregate_type.0,
                aggregate_id: aggregate_id.0,
                subject_id: subject_id.0,
                event_type: event_type.0,
                from: from.0,
                to: to.0,
                after,
                limit: limit + 1,
            };
            let rows = projections::history::query(&self.state.db, &filter)
                .await
                .map_err(ApiError::internal)?;
            let total = projections::history::count(&self.state.db, &filter)
                .await
                .map_err(ApiError::internal)?;
            let more = rows.len() as i64 > limit;
            let items: Vec<HistoryItem> = rows
                .into_iter()
                .take(limit as usize)
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
            let next_cursor = more
                .then(|| items.last().map(|i| i.position.to_string()))
                .flatten();
            Ok(HistoryPageResponse::Ok(Json(HistoryPage {
                items,
                next_cursor,
                total,
            })))
        }
    }
}
