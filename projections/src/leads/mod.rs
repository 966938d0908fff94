//! The lead list read model: one row per lead (with its full view as a document) and one row
//! per follow-up, for the lists agents work from.

pub mod checks;
pub mod query;
mod view;

use std::collections::HashMap;
use std::sync::Arc;

use store::privacy::{Keyring, PrivacyError, ERASED};

use cqrs_es::Aggregate;
use domain::lead::{Lead, LeadEvent};
use futures::future::BoxFuture;
use serde_json::Value;
use store::EventMetadata;

pub use view::{
    words, Assignment, FollowUpView, InteractionView, LeadView, PrivacyView, StatusMove, PERSONAL,
};

use crate::{with_tx, Projection, ProjectionError, StoredEvent, Tx};

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

    fn version(&self) -> i64 {
        // 2: personal data sealed, blind indexes for search. 3: privacy state. 4: restricted.
        // 5: marketing channels.
        5
    }

    fn ddl(&self) -> &'static str {
        include_str!("../../../migrations/read_models/leads.sql")
    }

    fn tables(&self) -> &'static [&'static str] {
        &["leads", "lead_follow_ups"]
    }

    fn prepare<'a>(
        &'a self,
        events: &'a [StoredEvent],
    ) -> BoxFuture<'a, Result<(), ProjectionError>> {
        Box::pin(crate::sealed::prepare_keys(
            &self.keyring,
            events,
            Lead::TYPE,
        ))
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

impl crate::timeline::RecordView for LeadView {
    type Event = LeadEvent;
    const AGGREGATE: &'static str = Lead::TYPE;

    fn personal_fields(event_type: &str) -> &'static [&'static str] {
        domain::lead::personal_fields(event_type)
    }

    fn upcasters() -> Vec<Box<dyn cqrs_es::persist::EventUpcaster>> {
        domain::lead::upcasters()
    }

    fn start(
        event: &LeadEvent,
        meta: &EventMetadata,
        sequence: i64,
        position: i64,
    ) -> Option<Self> {
        LeadView::start(event, meta, sequence, position)
    }

    fn apply(&mut self, event: &LeadEvent, meta: &EventMetadata, sequence: i64, position: i64) {
        LeadView::apply(self, event, meta, sequence, position)
    }

    fn changed_fields(event: &LeadEvent) -> Vec<String> {
        match event {
            LeadEvent::LeadDetailsChanged(c) => c.fields().into_iter().map(String::from).collect(),
            _ => Vec::new(),
        }
    }
}

/// Decodes a stored Lead event (personal fields opened, then upcast) and its metadata.
pub async fn decode(
    keyring: &Keyring,
    e: &StoredEvent,
) -> Result<(LeadEvent, EventMetadata), ProjectionError> {
    crate::timeline::decode::<LeadView>(keyring, e).await
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
    let mut views = load(keyring, tx, suffix, &ids).await?;
    for e in lead_events {
        let (event, meta) = match decode(keyring, e).await {
            Ok(decoded) => decoded,
            // Passed over here (not only by the runner) so that rebuilds get past it too.
            Err(ProjectionError::Event(why)) => {
                crate::runner::record_dead_letter(tx, NAME, e, &why).await?;
                continue;
            }
            Err(other) => return Err(other),
        };
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
    save(keyring, tx, suffix, &ordered).await
}

async fn load(
    keyring: &Keyring,
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
            out.insert(id.clone(), open_view(keyring, &id, doc).await?);
        }
    }
    Ok(out)
}

/// A stored view with its personal fields opened (erased ones read as erased).
pub async fn open_view(
    keyring: &Keyring,
    id: &str,
    mut doc: Value,
) -> Result<LeadView, ProjectionError> {
    keyring.open(id, &mut doc, view::PERSONAL).await?;
    serde_json::from_value(doc)
        .map_err(|e| ProjectionError::Event(format!("stored lead view {id}: {e}")))
}

/// What a view is stored as: its document with the personal fields sealed, and the blind
/// indexes search uses.
struct Sealed {
    doc: Value,
    email_index: Option<String>,
    phone_index: Option<String>,
    search_tokens: String,
    lead_name: String,
    notes: Vec<Option<String>>,
}

async fn seal_view(keyring: &Keyring, v: &LeadView) -> Result<Sealed, ProjectionError> {
    let id = v.lead_id.to_string();
    let mut doc = serde_json::to_value(v).expect("a view serializes");
    // An erased lead's view keeps nothing personal, whether or not its key is destroyed yet
    // (the projection can see `LeadErased` a moment before the key goes).
    let shredded = if v.privacy.erased_at.is_some() {
        Keyring::erase(&mut doc, view::PERSONAL);
        true
    } else {
        match keyring.seal_derived(&id, &mut doc, view::PERSONAL).await {
            Ok(()) => false,
            Err(PrivacyError::Shredded) => {
                Keyring::erase(&mut doc, view::PERSONAL);
                true
            }
            Err(e) => return Err(e.into()),
        }
    };
    if shredded {
        return Ok(Sealed {
            doc,
            email_index: None,
            phone_index: None,
            search_tokens: " ".into(),
            lead_name: ERASED.into(),
            notes: v
                .follow_ups
                .iter()
                .map(|f| f.note.as_ref().map(|_| ERASED.to_string()))
                .collect(),
        });
    }
    let mut tokens = String::from(" ");
    for w in v.search_words() {
        tokens.push_str(&keyring.blind_index("word", &w));
        tokens.push(' ');
    }
    let mut notes = Vec::new();
    for f in &v.follow_ups {
        notes.push(match &f.note {
            Some(n) => Some(keyring.seal_text(&id, n).await?),
            None => None,
        });
    }
    Ok(Sealed {
        doc,
        email_index: v.email.as_deref().map(|e| keyring.blind_index("email", e)),
        phone_index: v.phone.as_deref().map(|p| keyring.blind_index("phone", p)),
        search_tokens: tokens,
        lead_name: keyring.seal_text(&id, &v.name).await?,
        notes,
    })
}

async fn save(
    keyring: &Keyring,
    tx: &mut Tx,
    suffix: &str,
    views: &[&LeadView],
) -> Result<(), ProjectionError> {
    for chunk in views.chunks(CHUNK) {
        let mut sealed = Vec::with_capacity(chunk.len());
        for v in chunk {
            sealed.push(seal_view(keyring, v).await?);
        }
        let head = format!(
            "INSERT INTO leads{suffix} (lead_id, source, status, assignee, score, archived,
             created_at, updated_at, next_follow_up, email_index, phone_index, search_tokens,
             version, erasure_due, erased, restricted, marketing, doc) "
        );
        let tail = " ON CONFLICT (lead_id) DO UPDATE SET source = excluded.source,
             status = excluded.status, assignee = excluded.assignee, score = excluded.score,
             archived = excluded.archived, created_at = excluded.created_at,
             updated_at = excluded.updated_at, next_follow_up = excluded.next_follow_up,
             email_index = excluded.email_index, phone_index = excluded.phone_index,
             search_tokens = excluded.search_tokens, version = excluded.version,
             erasure_due = excluded.erasure_due, erased = excluded.erased,
             restricted = excluded.restricted, marketing = excluded.marketing,
             doc = excluded.doc";
        with_tx!(tx, t => {
            let mut qb = sqlx::QueryBuilder::new(head);
            qb.push_values(chunk.iter().zip(&sealed), |mut b, (v, s)| {
                b.push_bind(v.lead_id.to_string())
                    .push_bind(v.source.as_str())
                    .push_bind(v.status.as_str())
                    .push_bind(v.assignee.map(|a| a.to_string()))
                    .push_bind(v.score)
                    .push_bind(v.archived)
                    .push_bind(v.created_at)
                    .push_bind(v.updated_at)
                    .push_bind(v.next_follow_up())
                    .push_bind(s.email_index.clone())
                    .push_bind(s.phone_index.clone())
                    .push_bind(s.search_tokens.clone())
                    .push_bind(v.version)
                    .push_bind(v.privacy.erasure_due())
                    .push_bind(v.privacy.erased_at.is_some())
                    .push_bind(
                        v.privacy.erasure_requested_at.is_some() && v.privacy.erased_at.is_none(),
                    )
                    .push_bind(marketing(v))
                    .push_bind(s.doc.clone());
            });
            qb.push(tail);
            qb.build().execute(&mut **t).await?;
        });

        let marks: Vec<String> = (1..=chunk.len()).map(|i| format!("${i}")).collect();
        let delete = format!(
            "DELETE FROM lead_follow_ups{suffix} WHERE lead_id IN ({})",
            marks.join(", ")
        );
        let follow_ups: Vec<(&LeadView, &Sealed, usize)> = chunk
            .iter()
            .zip(&sealed)
            .flat_map(|(v, s)| (0..v.follow_ups.len()).map(move |i| (*v, s, i)))
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
                qb.push_values(rows, |mut b, (v, s, i)| {
                    let f = &v.follow_ups[*i];
                    b.push_bind(f.follow_up_id.to_string())
                        .push_bind(v.lead_id.to_string())
                        .push_bind(s.lead_name.clone())
                        .push_bind(v.assignee.map(|a| a.to_string()))
                        .push_bind(f.due_at)
                        .push_bind(f.channel.as_str())
                        .push_bind(s.notes[*i].clone())
                        .push_bind(follow_up_state(f))
                        .push_bind(v.archived);
                });
                qb.build().execute(&mut **t).await?;
            }
        });
    }
    Ok(())
}

/// The channels marketing may use for this lead now, as ` email sms `.
fn marketing(v: &LeadView) -> String {
    let open = !v.archived
        && v.status != domain::lead::LeadStatus::Converted
        && v.privacy.erasure_requested_at.is_none()
        && v.privacy.erased_at.is_none();
    crate::marketing::channels(open, &v.privacy.marketing_consents)
}

fn follow_up_state(f: &FollowUpView) -> &'static str {
    match f.state {
        domain::lead::FollowUpState::Open => "open",
        domain::lead::FollowUpState::Completed => "completed",
        domain::lead::FollowUpState::Cancelled => "cancelled",
    }
}
