//! Importing leads in bulk (a CSV file from a campaign or a partner): every row already
//! checked, repeats within the file set aside, the rest captured like any lead (the contact
//! register decides duplicates against what is on file, so running the same file again
//! imports nothing twice), several at once.

use std::collections::HashMap;

use domain::access::{Actor, LeadScope};
use domain::lead::{CaptureChannel, LeadDetails};
use futures::stream::{self, StreamExt};
use store::EventMetadata;
use uuid::Uuid;

use super::{capture, LeadsError, NewLead};
use crate::WriteSide;

/// A row of the file, its values valid.
#[derive(Debug, Clone)]
pub struct Row {
    /// The line of the file the row starts on (the header is line 1).
    pub row: usize,
    pub details: LeadDetails,
}

/// What became of a row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Imported(Uuid),
    /// A lead with this e-mail address or phone is on file (ids the caller may open).
    OnFile(Vec<Uuid>),
    /// The same e-mail address or phone as an earlier row of the file.
    Repeat {
        of_row: usize,
    },
    /// The capture failed for another reason.
    Failed(String),
}

/// Captures at once (the write gate and group commits turn them into few transactions).
const AT_ONCE: usize = 256;

/// Imports the rows in file order of outcome; `done` is told of each row as it finishes.
pub async fn import(
    write: &WriteSide,
    actor: &Actor,
    scope: &Option<LeadScope>,
    rows: Vec<Row>,
    meta: &EventMetadata,
    done: &(dyn Fn() + Sync),
) -> Vec<(usize, Outcome)> {
    let mut outcomes: Vec<(usize, Outcome)> = Vec::with_capacity(rows.len());
    let mut seen: HashMap<String, usize> = HashMap::new();
    let mut fresh = Vec::with_capacity(rows.len());
    for r in rows {
        let keys: Vec<String> = [
            r.details
                .email
                .as_ref()
                .map(|e| format!("e:{}", e.as_str())),
            r.details
                .phone
                .as_ref()
                .map(|p| format!("p:{}", p.as_str())),
        ]
        .into_iter()
        .flatten()
        .collect();
        match keys.iter().find_map(|k| seen.get(k)) {
            Some(first) => {
                outcomes.push((r.row, Outcome::Repeat { of_row: *first }));
                done();
            }
            None => {
                for k in keys {
                    seen.insert(k, r.row);
                }
                fresh.push(r);
            }
        }
    }
    let captured: Vec<(usize, Outcome)> = stream::iter(fresh)
        .map(|r| async move {
            let lead = NewLead {
                details: r.details,
                channel: CaptureChannel::Import,
                assign_to: None,
                round_robin: false,
                allow_duplicate: false,
            };
            let outcome = match capture(write, actor, scope, lead, meta).await {
                Ok((id, _)) => Outcome::Imported(id),
                Err(LeadsError::Duplicate { visible, .. }) => Outcome::OnFile(visible),
                Err(e) => {
                    tracing::warn!(error = %e, "an import row failed");
                    Outcome::Failed(e.to_string())
                }
            };
            done();
            (r.row, outcome)
        })
        .buffer_unordered(AT_ONCE)
        .collect()
        .await;
    outcomes.extend(captured);
    outcomes.sort_by_key(|(row, _)| *row);
    outcomes
}
