//! The lead list read model: one row per lead (with its full view as a document) and one row
//! per follow-up, for the lists agents work from.

pub mod query;
mod view;

use std::collections::HashMap;
use std::sync::Arc;

use commands::privacy::Keyring;

use commands::EventMetadata;
use cqrs_es::Aggregate;
use domain::lead::{Lead, LeadEvent};
use futures::future::BoxFuture;
use serde_json::Value;

pub use view::{Assignment, FollowUpView, InteractionView, LeadView, StatusMove};

use crate::{log, with_tx, Projection, ProjectionError, StoredEvent, Tx};

pub struct LeadsProjection {
    keyring: Arc<Keyring>,
}

impl LeadsProjection {
    pub fn new(keyring: Arc<Keyring>) -> Self {
        Self { keyring }
    }
}

pub const NAME: &str = "leads";

impl Projection for LeadsProjection {
    fn name(&self) -> &'static str {
        NAME
    }

    fn ddl(&self) -> &'static str {
        include_str!("../../../migrations/read_models/leads.sql")
    }

    fn tables(&self) -> &'static [&'static str] {
        &["leads", "lead_follow_ups"]
    }

    fn apply<'a>(
        &'a self,
        tx: &'a mut Tx,
        suffix: &'a str,
        events: &'a [StoredEvent],
    ) -> BoxFuture<'a, Result<(), ProjectionError>> {
        Box::pin(apply(&self.keyring, tx, suffix, events))
    }
}

/// Decodes a stored Lead event (personal fields opened, then upcast) and its metadata.
pub async fn decode(
    keyring: &Keyring,
    e: &StoredEvent,
) -> Result<(LeadEvent, EventMetadata), ProjectionError> {
    let mut opened = e.clone();
    let pointers = domain::lead::personal_fields(&e.event_type);
    keyring
        .open(&e.aggregate_id, &mut opened.payload, pointers)
        .await?;
    let payload = log::upcast(&opened, &domain::lead::upcasters());
    let event: LeadEvent = serde_json::from_value(payload).map_err(|err| {
        ProjectionError::Event(format!(
            "{} {}/{} #{}: {err}",
            e.event_type, e.aggregate_type, e.aggregate_id, e.sequence
        ))
    })?;
    Ok((event, EventMetadata::from_json(&e.metadata)))
}

/// Folds a lead's events into its view (for as-of reads straight from the log).
pub async fn fold(
    keyring: &Keyring,
    events: &[StoredEvent],
) -> Result<Option<LeadView>, ProjectionError> {
    let mut view: Option<LeadView> = None;
    for e in events {
        let (event, meta) = decode(keyring, e).await?;
        match view.as_mut() {
            Some(v) => v.apply(&event, &meta, e.sequence, e.position),
            None => view = LeadView::start(&event, &meta, e.sequence, e.position),
        }
    }
    Ok(view)
}

const CHUNK: usize = 200;

async fn apply(
    keyring: &Keyring,
    tx: &mut Tx,
    suffix: &str,
    events: &[StoredEvent],
) -> Result<(), ProjectionError> {
    let lead_events: Vec<&StoredEvent> = events
        .iter()
        .filter(|e| e.aggregate_type == Lead::TYPE)
        .collect();
    if lead_events.is_empty() {
        return Ok(());
    }
    let mut ids: Vec<String> = Vec::new();
    for e in &lead_events {
        if !ids.contains(&e.aggregate_id) {
            ids.push(e.aggregate_id.clone());
        }
    }
    let mut views = load(tx, suffix, &ids).await?;
    for e in lead_events {
        let (event, meta) = decode(keyring, e).await?;
        match views.get_mut(&e.aggregate_id) {
            Some(v) => v.apply(&event, &meta, e.sequence, e.position),
            None => match LeadView::start(&event, &meta, e.sequence, e.position) {
                Some(v) => {
                    views.insert(e.aggregate_id.clone(), v);
                }
                None => tracing::warn!(
                    event = e.event_type,
                    position = e.position,
                    "lead event before its capture; skipped"
                ),
            },
        }
    }
    let ordered: Vec<&LeadView> = ids.iter().filter_map(|id| views.get(id)).collect();
    save(tx, suffix, &ordered).await
}

async fn load(
    tx: &mut Tx,
    suffix: &str,
    ids: &[String],
) -> Result<HashMap<String, LeadView>, ProjectionError> {
    let mut out = HashMap::new();
    for chunk in ids.chunks(CHUNK) {
        let marks: Vec<String> = (1..=chunk.len()).map(|i| format!("${i}")).collect();
        let sql = format!(
            "SELECT lead_id, doc FROM leads{suffix} WHERE lead_id IN ({})",
            marks.join(", ")
        );
        let rows: Vec<(String, Value)> = with_tx!(tx, t => {
            let mut q = sqlx::query_as(&sql);
            for id in chunk {
                q = q.bind(id);
            }
            q.fetch_all(&mut **t).await?
        });
        for (id, doc) in rows {
            let view: LeadView = serde_json::from_value(doc)
                .map_err(|e| ProjectionError::Event(format!("stored lead view {id}: {e}")))?;
            out.insert(id, view);
        }
    }
    Ok(out)
}

async fn save(tx: &mut Tx, suffix: &str, views: &[&LeadView]) -> Result<(), ProjectionError> {
    for chunk in views.chunks(CHUNK) {
        let head = format!(
            "INSERT INTO leads{suffix} (lead_id, name, email, phone, source, status, assignee, score,
             archived, created_at, updated_at, next_follow_up, search, version, doc) "
        );
        let tail =
            " ON CONFLICT (lead_id) DO UPDATE SET name = excluded.name, email = excluded.email,
             phone = excluded.phone, source = excluded.source, status = excluded.status,
             assignee = excluded.assignee, score = excluded.score, archived = excluded.archived,
             created_at = excluded.created_at, updated_at = excluded.updated_at,
             next_follow_up = excluded.next_follow_up, search = excluded.search,
             version = excluded.version, doc = excluded.doc";
        let docs: Vec<Value> = chunk
            .iter()
            .map(|v| serde_json::to_value(v).expect("a view serializes"))
            .collect();
        with_tx!(tx, t => {
            let mut qb = sqlx::QueryBuilder::new(head);
            qb.push_values(chunk.iter().zip(docs), |mut b, (v, doc)| {
                b.push_bind(v.lead_id.to_string())
                    .push_bind(v.name.clone())
                    .push_bind(v.email.clone())
                    .push_bind(v.phone.clone())
                    .push_bind(v.source.as_str())
                    .push_bind(v.status.as_str())
                    .push_bind(v.assignee.map(|a| a.to_string()))
                    .push_bind(v.score)
                    .push_bind(v.archived)
                    .push_bind(v.created_at)
                    .push_bind(v.updated_at)
                    .push_bind(v.next_follow_up())
                    .push_bind(v.search_text())
                    .push_bind(v.version)
                    .push_bind(doc);
            });
            qb.push(tail);
            qb.build().execute(&mut **t).await?;
        });

        let marks: Vec<String> = (1..=chunk.len()).map(|i| format!("${i}")).collect();
        let delete = format!(
            "DELETE FROM lead_follow_ups{suffix} WHERE lead_id IN ({})",
            marks.join(", ")
        );
        let follow_ups: Vec<(&LeadView, &FollowUpView)> = chunk
            .iter()
            .flat_map(|v| v.follow_ups.iter().map(move |f| (*v, f)))
            .collect();
        with_tx!(tx, t => {
            let mut q = sqlx::query(&delete);
            for v in chunk {
                q = q.bind(v.lead_id.to_string());
            }
            q.execute(&mut **t).await?;
            for rows in follow_ups.chunks(CHUNK) {
                let mut qb = sqlx::QueryBuilder::new(format!(
                    "INSERT INTO lead_follow_ups{suffix} (follow_up_id, lead_id, lead_name, assignee,
                     due_at, channel, note, state, archived) "
                ));
                qb.push_values(rows, |mut b, (v, f)| {
                    b.push_bind(f.follow_up_id.to_string())
                        .push_bind(v.lead_id.to_string())
                        .push_bind(v.name.clone())
                        .push_bind(v.assignee.map(|a| a.to_string()))
                        .push_bind(f.due_at)
                        .push_bind(f.channel.as_str())
                        .push_bind(f.note.clone())
                        .push_bind(follow_up_state(f))
                        .push_bind(v.archived);
                });
                qb.build().execute(&mut **t).await?;
            }
        });
    }
    Ok(())
}

fn follow_up_state(f: &FollowUpView) -> &'static str {
    match f.state {
        domain::lead::FollowUpState::Open => "open",
        domain::lead::FollowUpState::Completed => "completed",
        domain::lead::FollowUpState::Cancelled => "cancelled",
    }
}
