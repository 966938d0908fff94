//! Checking an export (or the live log) line by line: every event's hash, every record's
//! chain, the ledger's chain and contiguity, and the checkpoint signatures.

use std::collections::HashMap;

use store::audit::{self, GENESIS};
use store::Db;

use super::{export, ExportFilter, LedgerEntry, Line};

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
    /// The last ledger entry seen.
    pub last_ledger_seq: i64,
    /// The last checkpoint's sequence and ledger hash (for an auditor to pin).
    pub last_checkpoint: Option<(i64, String)>,
    pub breaks: Vec<Break>,
}

/// How many of the newest ledger entries' hashes are kept besides the checkpointed ones.
const RECENT: usize = 64;

/// Checks export lines one by one. `complete` says the lines are a whole export (every
/// aggregate must then start at sequence 1); `pinned_key` is the checkpoint key an auditor
/// trusts (else each checkpoint's own key is used).
pub struct Verifier {
    complete: bool,
    pinned_key: Option<String>,
    /// Each aggregate's last sequence and hash, by `type\0id`.
    chains: HashMap<String, (i64, String)>,
    ledger: Option<(i64, String)>,
    /// The hashes of the ledger entries a checkpoint may be signed for.
    ledger_hashes: HashMap<i64, String>,
    /// The hashes of the newest ledger entries.
    recent_hashes: std::collections::VecDeque<(i64, String)>,
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
            recent_hashes: Default::default(),
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
                // Names are only spelled out when something is wrong.
                let name = || format!("{aggregate_type}/{aggregate_id}");
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
                        name(),
                        *sequence,
                        "the event's content does not match its hash (it was altered)".into(),
                    );
                }
                let mut key = String::with_capacity(aggregate_type.len() + aggregate_id.len() + 1);
                key.push_str(aggregate_type);
                key.push('\0');
                key.push_str(aggregate_id);
                let chained = match self.chains.get_mut(&key) {
                    Some((last_seq, last_hash)) => {
                        let problem = if *sequence != *last_seq + 1 {
                            Some(format!("follows #{last_seq} of its aggregate: events are missing or out of order"))
                        } else if prev != *last_hash {
                            Some(
                                "its previous-event hash does not match the event before it".into(),
                            )
                        } else {
                            None
                        };
                        *last_seq = *sequence;
                        *last_hash = stored;
                        problem
                    }
                    None => {
                        self.report.aggregates += 1;
                        let first = !self.complete || (*sequence == 1 && prev == GENESIS);
                        self.chains.insert(key, (*sequence, stored));
                        (!first).then(|| "the aggregate's first event in the log is not its first event (earlier events are missing)".to_string())
                    }
                };
                if let Some(problem) = chained {
                    self.fail(at, name(), *sequence, problem);
                }
                // Events past the ledger's end are checked by their own chains only; they can
                // only be the newest.
                if ledger.is_none() {
                    self.unledgered_seen = true;
                } else if self.unledgered_seen && self.complete {
                    self.fail(
                        at,
                        name(),
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
                        self.fail(at, name(), *sequence, format!("the ledger's entry {} at this place is {expected}: an event was deleted, inserted or moved", l.seq));
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
                } else if self.complete && self.ledger_hash_of(*seq).is_none() {
                    self.fail(
                        None,
                        "checkpoint".into(),
                        *seq,
                        "a checkpoint for a ledger entry the export does not hold".into(),
                    );
                } else if self.ledger_hash_of(*seq).is_some_and(|h| h != ledger_hash) {
                    self.fail(None, "checkpoint".into(), *seq, "the ledger no longer matches this signed checkpoint (history before it was rewritten)".into());
                } else {
                    self.report.last_checkpoint = Some((*seq, ledger_hash.clone()));
                }
            }
        }
    }

    /// The hash of ledger entry `seq`, if it was seen and kept.
    fn ledger_hash_of(&self, seq: i64) -> Option<&String> {
        self.ledger_hashes.get(&seq).or_else(|| {
            self.recent_hashes
                .iter()
                .find(|(s, _)| *s == seq)
                .map(|(_, h)| h)
        })
    }

    fn ledger_entry(&mut self, l: &LedgerEntry, computed: &str, at: Option<i64>) {
        let name = || format!("{}/{}", l.aggregate_type, l.aggregate_id);
        if l.event_hash != computed {
            self.fail(at, name(), l.sequence, format!("the ledger's entry {} holds another hash for this event (it was altered after the ledger took it in)", l.seq));
        }
        let problem = match &self.ledger {
            Some((last_seq, last_hash)) => {
                if l.seq == last_seq + 1 && l.ledger_prev != *last_hash {
                    Some(format!(
                        "the ledger's entry {} does not follow entry {last_seq}",
                        l.seq
                    ))
                } else if self.complete && l.seq != last_seq + 1 {
                    Some(format!(
                        "the ledger's entries {} to {} are missing (events were removed)",
                        last_seq + 1,
                        l.seq - 1
                    ))
                } else {
                    None
                }
            }
            None => (self.complete && (l.seq != 1 || l.ledger_prev != GENESIS))
                .then(|| "the ledger does not start at its beginning".to_string()),
        };
        if let Some(problem) = problem {
            self.fail(at, name(), l.sequence, problem);
        }
        if audit::ledger_hash(&l.ledger_prev, &l.event_hash) != l.ledger_hash {
            self.fail(
                at,
                name(),
                l.sequence,
                format!(
                    "the ledger's entry {} is not the hash of its predecessor and its event",
                    l.seq
                ),
            );
        }
        self.ledger = Some((l.seq, l.ledger_hash.clone()));
        self.report.last_ledger_seq = l.seq;
        if self.complete && l.seq % crate::ledger::CHECKPOINT_EVERY == 0 {
            self.awaiting_checkpoint = Some(l.seq);
        }
        // Checkpoints are signed at every CHECKPOINT_EVERY-th entry only: the hashes of the
        // others need not be kept (a million of them held 150 MB), bar the newest few.
        if l.seq % crate::ledger::CHECKPOINT_EVERY == 0 {
            self.ledger_hashes.insert(l.seq, l.ledger_hash.clone());
        } else {
            self.recent_hashes.push_back((l.seq, l.ledger_hash.clone()));
            if self.recent_hashes.len() > RECENT {
                self.recent_hashes.pop_front();
            }
        }
    }
}

/// Verifies the live database: the whole log beside the whole ledger.
pub async fn verify_live(db: &Db, pinned_key: Option<String>) -> Result<Report, String> {
    let mut v = Verifier::new(true, pinned_key);
    let (tx, mut rx) = tokio::sync::mpsc::channel(super::EXPORT_QUEUE);
    let db = db.clone();
    let walk = tokio::spawn(async move { export(&db, &ExportFilter::default(), tx).await });
    while let Some(lines) = rx.recv().await {
        for line in &lines {
            v.line(line);
        }
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
    let mut v = Verifier::new(!partial, pinned_key);
    for (i, raw) in input.lines().enumerate() {
        let raw = raw.map_err(|e| e.to_string())?;
        if raw.trim().is_empty() {
            continue;
        }
        let line: Line = serde_json::from_str(&raw)
            .map_err(|e| format!("line {}: not an export line: {e}", i + 1))?;
        v.line(&line);
    }
    Ok(v.finish())
}

impl Report {
    /// What the verification found, in words, one line each (at most 20 breaks named).
    pub fn lines(&self) -> Vec<String> {
        let mut out = vec![format!(
            "{} events in {} aggregates; {} in the ledger; {} signed checkpoints",
            self.events, self.aggregates, self.ledgered, self.checkpoints
        )];
        let pending = self.events.saturating_sub(self.ledgered);
        if pending > 0 {
            out.push(format!(
                "{pending} newest events are not in the ledger yet (checked by their chains)"
            ));
        }
        let signed = self.last_checkpoint.as_ref().map_or(0, |(seq, _)| *seq);
        if let Some((seq, hash)) = &self.last_checkpoint {
            out.push(format!("last checkpoint: entry {seq}, ledger hash {hash}"));
        }
        if self.last_ledger_seq > signed {
            out.push(format!(
                "entries {} to {} come after the last signed checkpoint: their chain is intact, \
                 but nothing signed says the log did not end later (compare with a pinned later \
                 checkpoint)",
                signed + 1,
                self.last_ledger_seq
            ));
        }
        match self.breaks.is_empty() {
            true => out.push("verified: no event was altered, removed or reordered".into()),
            false => out.extend(self.breaks.iter().take(20).map(|b| format!("BROKEN {b}"))),
        }
        out
    }

    /// Whether the log verified; if not, how many problems and the first.
    pub fn verdict(&self) -> Result<(), String> {
        match self.breaks.first() {
            None => Ok(()),
            Some(first) => Err(format!(
                "{} problem(s); the first: {first}",
                self.breaks.len()
            )),
        }
    }
}
