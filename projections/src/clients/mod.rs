//! The client list read model: one row per client with its full view as a sealed document.

pub mod query;
pub mod report;
mod view;

use chrono::Datelike;
use cqrs_es::Aggregate;
use domain::client::{Client, ClientEvent};
use serde_json::Value;
use store::privacy::Keyring;
use store::EventMetadata;

pub use view::{ClientFollowUpView, ClientPrivacy, ClientView, DocumentView, PERSONAL};

use crate::sealed::{cell, Cell, SealedDocument, SealedProjection};
use crate::{with_tx, ProjectionError, StoredEvent, Tx};
use futures::future::BoxFuture;

pub const NAME: &str = "clients";

/// The client list read model's projection.
pub type ClientsProjection = SealedProjection<ClientView>;

/// A city as typed, in one spelling for counting: words capitalised, spacing single.
pub fn city_name(raw: &str) -> String {
    raw.split_whitespace()
        .map(|w| {
            let mut c = w.chars();
            match c.next() {
                Some(f) => f
                    .to_uppercase()
                    .chain(c.flat_map(char::to_lowercase))
                    .collect(),
                None => String::new(),
            }
        })
        .collect::<Vec<String>>()
        .join(" ")
}

impl SealedDocument for ClientView {
    const PROJECTION: &'static str = NAME;
    const TABLE: &'static str = "clients";
    const KEY: &'static str = "client_id";
    const PERSONAL: &'static [&'static str] = PERSONAL;
    // 6: the report's distribution columns (birth year, state, city, occupation, income).
    // 7: the report's covering index. 8: the distributions counted as clients are saved.
    // 9: group keys as JSON; open accounts only; a narrower report index.
    // 10: the index of where each client sits (branch, segment, RM) for the holdings' join.
    const VERSION: i64 = 10;
    const DDL: &'static str = include_str!("../../../migrations/read_models/clients.sql");
    const TABLES: &'static [&'static str] = &["clients", "client_follow_ups", "clients_counts"];
    const TALLY: Option<(&'static str, &'static [&'static str])> = Some((
        "clients_counts",
        &[
            "dimension",
            "value",
            "status",
            "branch",
            "relationship_manager",
        ],
    ));

    /// A group per dimension of the client report, from the saved columns; none for a closed
    /// or erased account (the report counts open accounts).
    fn tallies(&self, columns: &[(&'static str, Cell)]) -> Vec<Vec<Cell>> {
        if matches!(self.status(), "closed" | "erased") {
            return Vec::new();
        }
        report::DIMENSIONS
            .iter()
            .map(|(dimension, column)| {
                vec![
                    (*dimension).into(),
                    cell(columns, column),
                    cell(columns, "status"),
                    cell(columns, "branch"),
                    cell(columns, "relationship_manager"),
                ]
            })
            .collect()
    }

    fn key(&self) -> String {
        self.client_id.to_string()
    }

    fn erased(&self) -> bool {
        self.privacy.erased_at.is_some()
    }

    fn restricted(&self) -> bool {
        ClientView::restricted(self)
    }

    fn columns(&self, keyring: &Keyring, shredded: bool) -> Vec<(&'static str, Cell)> {
        let index = |kind: &str, value: &str| (!shredded).then(|| keyring.blind_index(kind, value));
        let mut tokens = String::from(" ");
        let mut doc_tokens = String::from(" ");
        if !shredded {
            for w in self.search_words() {
                tokens.push_str(&keyring.blind_index("word", &w));
                tokens.push(' ');
            }
            for p in crate::leads::name_prefixes(&self.name) {
                tokens.push_str(&keyring.blind_index("prefix", &p));
                tokens.push(' ');
            }
            for n in self.documents.iter().filter_map(|d| d.number.as_deref()) {
                doc_tokens.push_str(&keyring.blind_index("document_number", &normalise_number(n)));
                doc_tokens.push(' ');
            }
        }
        let watch = (self.closed_at.is_some() && !self.erased()) || shredded;
        let marketing = crate::marketing::channels(
            !shredded && self.privacy.erasure_requested_at.is_none(),
            &self.privacy.marketing_consents,
        );
        // Nothing about an erased person is kept for the distributions.
        let gone = shredded || self.erased();
        let known = |v: Option<String>| v.filter(|_| !gone);
        let place = self
            .details
            .addresses
            .iter()
            .find(|a| a.kind == domain::client::AddressKind::Permanent)
            .or(self.details.addresses.first());
        vec![
            ("branch", self.branch.clone().into()),
            (
                "relationship_manager",
                self.relationship_manager.map(|m| m.to_string()).into(),
            ),
            ("status", self.status().into()),
            ("segment", self.segment.as_str().into()),
            (
                "net_worth",
                self.details
                    .net_worth
                    .map(|n| n.as_str().to_string())
                    .into(),
            ),
            (
                "activity_on",
                // The India day, as the dormancy step counts days.
                domain::kyc::india_today(self.active_at())
                    .to_string()
                    .into(),
            ),
            ("created_at", self.created_at.into()),
            ("updated_at", self.updated_at.into()),
            ("pan_index", index("pan", &self.pan).into()),
            (
                "birth_year",
                self.birth_date()
                    .filter(|_| !gone)
                    .map(|d| d.year().to_string())
                    .into(),
            ),
            (
                "state",
                known(place.map(|a| a.state.as_str().to_string())).into(),
            ),
            (
                "city",
                known(place.map(|a| city_name(a.city.as_str()))).into(),
            ),
            (
                "occupation",
                known(self.details.occupation.map(|o| o.as_str().to_string())).into(),
            ),
            (
                "income",
                known(self.details.annual_income.map(|i| i.as_str().to_string())).into(),
            ),
            ("email_index", index("email", &self.email).into()),
            ("phone_index", index("phone", &self.phone).into()),
            ("search_tokens", tokens.into()),
            ("document_tokens", doc_tokens.into()),
            ("restricted", ClientView::restricted(self).into()),
            ("marketing", marketing.into()),
            ("retention_watch", watch.into()),
            ("version", self.version.into()),
        ]
    }

    fn save_children<'a>(
        _keyring: &'a Keyring,
        tx: &'a mut Tx,
        suffix: &'a str,
        saved: &'a [(&'a Self, bool)],
    ) -> BoxFuture<'a, Result<(), ProjectionError>> {
        Box::pin(ClientView::save_follow_ups(tx, suffix, saved))
    }
}

impl ClientView {
    /// Replaces the saved clients' rows of open follow-ups (none for an erased person).
    async fn save_follow_ups(
        tx: &mut Tx,
        suffix: &str,
        saved: &[(&ClientView, bool)],
    ) -> Result<(), ProjectionError> {
        let delete = format!(
            "DELETE FROM client_follow_ups{suffix} WHERE {}",
            crate::schema::member_of(tx, "client_id", 1)
        );
        let ids: Vec<String> = saved.iter().map(|(v, _)| v.key()).collect();
        let ids = serde_json::to_string(&ids).expect("ids serialize");
        let rows: Vec<(&ClientView, &ClientFollowUpView)> = saved
            .iter()
            // Nobody is followed up once erased, or while their processing is restricted.
            .filter(|(v, shredded)| !shredded && !v.erased() && !ClientView::restricted(v))
            .flat_map(|(v, _)| v.follow_ups.iter().map(move |f| (*v, f)))
            .collect();
        with_tx!(tx, t => {
            sqlx::query(&delete).bind(&ids).execute(&mut **t).await?;
            for chunk in rows.chunks(200) {
                let mut qb = sqlx::QueryBuilder::new(format!(
                    "INSERT INTO client_follow_ups{suffix} (follow_up_id, client_id, branch,
                     relationship_manager, due_at) "
                ));
                qb.push_values(chunk, |mut b, (v, f)| {
                    b.push_bind(f.follow_up_id.to_string())
                        .push_bind(v.client_id.to_string())
                        .push_bind(v.branch.clone())
                        .push_bind(v.relationship_manager.map(|m| m.to_string()))
                        .push_bind(f.due_at);
                });
                qb.build().execute(&mut **t).await?;
            }
        });
        Ok(())
    }
}

impl crate::timeline::RecordView for ClientView {
    type Event = ClientEvent;
    const AGGREGATE: &'static str = Client::TYPE;

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
            ClientEvent::ClientDetailsChanged { changed, .. } => {
                changed.iter().map(|p| p.as_str().to_string()).collect()
            }
            ClientEvent::ClientSegmentChanged { .. } => vec!["segment".into()],
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

/// A stored view with its personal fields opened (erased ones read as erased).
pub async fn open_view(
    keyring: &Keyring,
    id: &str,
    doc: Value,
) -> Result<ClientView, ProjectionError> {
    crate::sealed::open_view(keyring, id, doc).await
}

/// Document numbers compare without case, spaces or dashes (`K 123-4567` is `K1234567`).
pub fn normalise_number(n: &str) -> String {
    n.chars()
        .filter(char::is_ascii_alphanumeric)
        .map(|c| c.to_ascii_uppercase())
        .collect()
}
