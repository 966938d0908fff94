//! The audit trail: exporting the event log with its ledger and signed checkpoints as JSON
//! lines, and verifying such an export (or the live database).
//!
//! An export line is either an event (everything its hash covers, plus its ledger entry) or a
//! checkpoint. Verification recomputes every event's hash, follows every aggregate's chain,
//! recomputes the ledger and checks the checkpoint signatures; the first break is named by
//! position, aggregate and sequence.

use std::collections::HashMap;

use crate::ledger::{self, CheckpointRow, LedgerRow};
use crate::{Checkpoint, StoredEvent};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use store::audit::GENESIS;
use store::{Db, EventMetadata};

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
    /// What is wrong with the filter, field by field (the same rules as the history's).
    pub fn check(&self) -> Vec<(&'static str, String)> {
        crate::history::HistoryFilter {
            aggregate_type: self.aggregate_type.clone(),
            aggregate_id: self.aggregate_id.clone(),
            from: self.from,
            to: self.to,
            limit: 1,
            ..Default::default()
        }
        .check()
    }

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

/// How many batches of export lines may wait for their reader.
pub const EXPORT_QUEUE: usize = 2;

/// Walks the log in commit order beside the ledger in its order, sending the export lines to
/// `out` a batch at a time (lines `filter` leaves out are skipped; the walk still covers
/// everything). Answers how many events were walked.
pub async fn export(
    db: &Db,
    filter: &ExportFilter,
    out: tokio::sync::mpsc::Sender<Vec<Line>>,
) -> Result<u64, String> {
    let emit = |lines: Vec<Line>| {
        let out = out.clone();
        async move {
            if lines.is_empty() {
                return Ok(());
            }
            out.send(lines)
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
        let events = store::log::read_after(db, cp, BATCH)
            .await
            .map_err(|e| e.to_string())?;
        let Some(last) = events.last() else { break };
        cp = last.checkpoint();
        let mut lines = Vec::with_capacity(events.len());
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
                lines.push(Line::Event {
                    position: e.position,
                    aggregate_type: e.aggregate_type,
                    aggregate_id: e.aggregate_id,
                    sequence: e.sequence,
                    event_type: e.event_type,
                    event_version: e.event_version,
                    payload: e.payload,
                    metadata: e.metadata,
                    ledger: entry,
                });
            }
            if let Some(c) = seq.and_then(|s| checkpoints.get(&s)) {
                lines.push(checkpoint_line(c));
            }
        }
        emit(lines).await?;
    }
    // Ledger entries left over name events that are no longer in the log.
    let mut orphans = Vec::new();
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
        orphans.push(Line::Orphan { ledger: entry });
    }
    emit(orphans).await?;
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

mod verify;

pub use verify::{verify_lines, verify_live, Break, Report, Verifier};
