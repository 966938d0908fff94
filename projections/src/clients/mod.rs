//! The client list read model: one row per client with its full view as a sealed document.

pub mod query;
mod view;

use std::collections::HashMap;
use std::sync::Arc;

use cqrs_es::Aggregate;
use domain::client::{Client, ClientEvent};
use futures::future::BoxFuture;
use serde_json::Value;
use store::privacy::{Keyring, PrivacyError};
use store::EventMetadata;

pub use view::{ClientPrivacy, ClientView, DocumentView, PERSONAL};

use crate::{with_tx, Projection, ProjectionError, StoredEvent, Tx};

pub const NAME: &str = "clients";

pub struct ClientsProjection {
    keyring: Arc<Keyring>,
}

impl ClientsProjection {
    pub fn new(keyring: Arc<Keyring>) -> Self {
        Self { keyring }
    }
}

impl Projection for ClientsProjection {
    fn name(&self) -> &'static str {
        NAME
    }

    fn version(&self) -> i64 {
        1
    }

    fn ddl(&self) -> &'static str {
        include_str!("../../../migrations/read_models/clients.sql")
    }

    fn tables(&self) -> &'static [&'static str] {
        &["clients"]
    }

    fn prepare<'a>(
        &'a self,
        events: &'a [StoredEvent],
    ) -> BoxFuture<'a, Result<(), ProjectionError>> {
        Box::pin(crate::sealed::prepare_keys(
            &self.keyring,
            events,
            Client::TYPE,
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

impl crate::timeline::RecordView for ClientView {
    type Event = ClientEvent;
    const AGGREGATE: &'static str = Client::TYPE;

    fn personal_fields(event_type: &str) -> &'static [&'static str] {
        domain::client::personal_fields(event_type)
    }

    fn upcasters() -> Vec<Box<dyn cqrs_es::persist::EventUpcaster>> {
        domain::client::upcasters()
    }

    fn start(
        event: &ClientEvent,
        meta: &EventMetadata,
        sequence: i64,
        position: i64,
    ) -> Option<Self> {
        ClientView::start(event, meta, sequence, position)
    }

    fn apply(&mut self, event: &ClientEvent, meta: &EventMetadata, sequence: i64, position: i64) {
        ClientView::apply(self, event, meta, sequence, position)
    }

    fn changed_fields(event: &ClientEvent) -> Vec<String> {
        match event {
            ClientEvent::ClientProfileChanged(c) => {
                c.fields().into_iter().map(String::from).collect()
            }
            _ => Vec::new(),
        }
    }
}

/// Decodes a stored Client event (personal fields opened, then upcast) and its metadata.
pub async fn decode(
    keyring: &Keyring,
    e: &StoredEvent,
) -> Result<(ClientEvent, EventMetadata), ProjectionError> {
    crate::timeline::decode::<ClientView>(keyring, e).await
}

async fn apply(
    keyring: &Keyring,
    tx: &mut Tx,
    suffix: &str,
    events: &[StoredEvent],
) -> Result<(), ProjectionError> {
    let mine: Vec<&StoredEvent> = events
        .iter()
        .filter(|e| e.aggregate_type == Client::TYPE)
        .collect();
    if mine.is_empty() {
        return Ok(());
    }
    let mut ids: Vec<String> = Vec::new();
    for e in &mine {
        if !ids.contains(&e.aggregate_id) {
            ids.push(e.aggregate_id.clone());
        }
    }
    let mut views = load(keyring, tx, suffix, &ids).await?;
    for e in mine {
        let (event, meta) = match decode(keyring, e).await {
            Ok(decoded) => decoded,
            Err(ProjectionError::Event(why)) => {
                crate::runner::record_dead_letter(tx, NAME, e, &why).await?;
                continue;
            }
            Err(other) => return Err(other),
        };
        match views.get_mut(&e.aggregate_id) {
            Some(v) => v.apply(&event, &meta, e.sequence, e.position),
            None => {
                if let Some(v) = ClientView::start(&event, &meta, e.sequence, e.position) {
                    views.insert(e.aggregate_id.clone(), v);
                }
            }
        }
    }
    for id in &ids {
        if let Some(v) = views.get(id) {
            save(keyring, tx, suffix, v).await?;
        }
    }
    Ok(())
}

async fn load(
    keyring: &Keyring,
    tx: &mut Tx,
    suffix: &str,
    ids: &[String],
) -> Result<HashMap<String, ClientView>, ProjectionError> {
    let mut out = HashMap::new();
    for chunk in ids.chunks(200) {
        let marks: Vec<String> = (1..=chunk.len()).map(|i| format!("${i}")).collect();
        let sql = format!(
            "SELECT client_id, doc FROM clients{suffix} WHERE client_id IN ({})",
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
) -> Result<ClientView, ProjectionError> {
    keyring.open(id, &mut doc, PERSONAL).await?;
    serde_json::from_value(doc)
        .map_err(|e| ProjectionError::Event(format!("stored client view {id}: {e}")))
}

async fn save(
    keyring: &Keyring,
    tx: &mut Tx,
    suffix: &str,
    v: &ClientView,
) -> Result<(), ProjectionError> {
    let id = v.client_id.to_string();
    let mut doc = serde_json::to_value(v).expect("a view serializes");
    let shredded = if v.privacy.erased_at.is_some() {
        Keyring::erase(&mut doc, PERSONAL);
        true
    } else {
        match keyring.seal_derived(&id, &mut doc, PERSONAL).await {
            Ok(()) => false,
            Err(PrivacyError::Shredded) => {
                Keyring::erase(&mut doc, PERSONAL);
                true
            }
            Err(e) => return Err(e.into()),
        }
    };
    let index = |kind: &str, value: &str| (!shredded).then(|| keyring.blind_index(kind, value));
    let mut tokens = String::from(" ");
    let mut doc_tokens = String::from(" ");
    if !shredded {
        for w in v.search_words() {
            tokens.push_str(&keyring.blind_index("word", &w));
            tokens.push(' ');
        }
        for n in v.documents.iter().filter_map(|d| d.number.as_deref()) {
            doc_tokens.push_str(&keyring.blind_index("document_number", &normalise_number(n)));
            doc_tokens.push(' ');
        }
    }
    let watch = (v.closed_at.is_some() && v.privacy.erased_at.is_none()) || shredded;
    let sql = format!(
        "INSERT INTO clients{suffix} (client_id, branch, relationship_manager, status, created_at,
         updated_at, pan_index, email_index, phone_index, search_tokens, document_tokens,
         restricted, marketing, retention_watch, version, doc)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)
         ON CONFLICT (client_id) DO UPDATE SET branch = excluded.branch,
         relationship_manager = excluded.relationship_manager, status = excluded.status,
         created_at = excluded.created_at, updated_at = excluded.updated_at,
         pan_index = excluded.pan_index, email_index = excluded.email_index,
         phone_index = excluded.phone_index, search_tokens = excluded.search_tokens,
         document_tokens = excluded.document_tokens, restricted = excluded.restricted,
         marketing = excluded.marketing,
         retention_watch = excluded.retention_watch, version = excluded.version, doc = excluded.doc"
    );
    with_tx!(tx, t => {
        sqlx::query(&sql)
            .bind(&id)
            .bind(&v.branch)
            .bind(v.relationship_manager.map(|m| m.to_string()))
            .bind(v.status())
            .bind(v.created_at)
            .bind(v.updated_at)
            .bind(index("pan", &v.pan))
            .bind(index("email", &v.email))
            .bind(index("phone", &v.phone))
            .bind(&tokens)
            .bind(&doc_tokens)
            .bind(v.restricted())
            .bind(crate::marketing::channels(
                !shredded && v.privacy.erasure_requested_at.is_none(),
                &v.privacy.consents,
            ))
            .bind(watch)
            .bind(v.version)
            .bind(&doc)
            .execute(&mut **t)
            .await?;
    });
    Ok(())
}

/// Document numbers compare without case, spaces or dashes (`K 123-4567` is `K1234567`).
pub fn normalise_number(n: &str) -> String {
    n.chars()
        .filter(char::is_ascii_alphanumeric)
        .map(|c| c.to_ascii_uppercase())
        .collect()
}
