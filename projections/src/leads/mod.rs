//! The lead list read model: one row per lead (with its full view as a document) and one row
//! per follow-up, for the lists agents work from.

pub mod checks;
pub mod near;
pub mod query;
mod view;

use cqrs_es::Aggregate;
use domain::lead::{Lead, LeadEvent};
use futures::future::BoxFuture;
use serde_json::Value;
use store::privacy::{Keyring, ERASED};
use store::EventMetadata;

pub use view::{
    name_prefixes, score_weights, set_score_weights, words, Assignment, FollowUpView,
    InteractionView, LeadView, MergedLead, PrivacyView, StatusMove, PERSONAL, PREFIX_MIN,
};

use crate::sealed::{Cell, SealedDocument, SealedProjection};
use crate::{with_tx, ProjectionError, StoredEvent, Tx};

/// The lead list read model's projection.
pub type LeadsProjection = SealedProjection<LeadView>;

pub const NAME: &str = "leads";

impl SealedDocument for LeadView {
    const PROJECTION: &'static str = NAME;
    const TABLE: &'static str = "leads";
    const KEY: &'static str = "lead_id";
    const PERSONAL: &'static [&'static str] = view::PERSONAL;
    // 2: personal data sealed, blind indexes for search. 3: privacy state. 4: restricted.
    // 5: marketing channels. 6: list indexes led by `archived` (counts from the index), and
    // search words in their own table.
    // 9: covering indexes for the dashboards' counts. 10: leads counted by status and holder
    // as they are saved; open follow-ups by due time. 11: the groups each lead was counted in.
    // 12: group keys as JSON.
    const VERSION: i64 = 12;
    const DDL: &'static str = include_str!("../../../migrations/read_models/leads.sql");
    const TABLES: &'static [&'static str] = &[
        "leads",
        "lead_follow_ups",
        "lead_search",
        "lead_near",
        "lead_counts",
    ];
    const TALLY: Option<(&'static str, &'static [&'static str])> =
        Some(("lead_counts", &["status", "archived", "erased", "assignee"]));

    fn tallies(&self, _columns: &[(&'static str, Cell)]) -> Vec<Vec<Cell>> {
        vec![vec![
            self.status.as_str().into(),
            (!self.listed()).into(),
            self.erased().into(),
            self.assignee.map(|a| a.to_string()).into(),
        ]]
    }

    fn key(&self) -> String {
        self.lead_id.to_string()
    }

    fn erased(&self) -> bool {
        self.privacy.erased_at.is_some()
    }

    fn restricted(&self) -> bool {
        self.privacy.erasure_requested_at.is_some() && !self.erased()
    }

    fn columns(&self, keyring: &Keyring, shredded: bool) -> Vec<(&'static str, Cell)> {
        let index = |kind: &str, value: Option<&str>| {
            value
                .filter(|_| !shredded)
                .map(|v| keyring.blind_index(kind, v))
        };
        let mut tokens = String::from(" ");
        if !shredded {
            for w in self.search_words() {
                tokens.push_str(&keyring.blind_index("word", &w));
                tokens.push(' ');
            }
        }
        vec![
            ("source", self.source.as_str().into()),
            ("status", self.status.as_str().into()),
            ("assignee", self.assignee.map(|a| a.to_string()).into()),
            ("score", self.score.into()),
            // Merged leads leave the lists as archived ones do.
            ("archived", (!self.listed()).into()),
            ("created_at", self.created_at.into()),
            ("updated_at", self.updated_at.into()),
            ("next_follow_up", self.next_follow_up().into()),
            ("email_index", index("email", self.email.as_deref()).into()),
            ("phone_index", index("phone", self.phone.as_deref()).into()),
            ("search_tokens", tokens.into()),
            ("version", self.version.into()),
            ("erasure_due", self.privacy.erasure_due().into()),
            ("erased", self.erased().into()),
            ("restricted", self.restricted().into()),
            ("marketing", marketing(self).into()),
        ]
    }

    fn save_children<'a>(
        keyring: &'a Keyring,
        tx: &'a mut Tx,
        suffix: &'a str,
        saved: &'a [(&'a Self, bool)],
    ) -> BoxFuture<'a, Result<(), ProjectionError>> {
        Box::pin(async move {
            save_follow_ups(keyring, tx, suffix, saved).await?;
            save_search_words(keyring, tx, suffix, saved).await?;
            near::save(keyring, tx, suffix, saved).await
        })
    }
}

impl crate::timeline::RecordView for LeadView {
    type Event = LeadEvent;
    const AGGREGATE: &'static str = Lead::TYPE;

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

/// A stored view with its personal fields opened (erased ones read as erased).
pub async fn open_view(
    keyring: &Keyring,
    id: &str,
    doc: Value,
) -> Result<LeadView, ProjectionError> {
    crate::sealed::open_view(keyring, id, doc).await
}

/// The search words of the saved leads (blind indexes), replacing what they had.
async fn save_search_words(
    keyring: &Keyring,
    tx: &mut Tx,
    suffix: &str,
    saved: &[(&LeadView, bool)],
) -> Result<(), ProjectionError> {
    // Only leads whose words may have changed (or whose key is gone) are rewritten.
    let saved: Vec<&(&LeadView, bool)> = saved
        .iter()
        .filter(|(v, shredded)| v.index_dirty || *shredded)
        .collect();
    if saved.is_empty() {
        return Ok(());
    }
    let ids: Vec<String> = saved.iter().map(|(v, _)| v.lead_id.to_string()).collect();
    let ids = serde_json::to_string(&ids).expect("ids serialize");
    let mut rows: Vec<(String, String)> = Vec::new();
    for (v, shredded) in saved.iter().copied() {
        if *shredded {
            continue;
        }
        let id = v.lead_id.to_string();
        for w in v.search_words() {
            rows.push((keyring.blind_index("word", &w), id.clone()));
        }
        for p in view::name_prefixes(&v.name) {
            rows.push((keyring.blind_index("prefix", &p), id.clone()));
        }
    }
    let rows = serde_json::to_string(&rows).expect("rows serialize");
    let delete = format!(
        "DELETE FROM lead_search{suffix} WHERE {}",
        crate::schema::member_of(tx, "lead_id", 1)
    );
    let insert = match tx {
        Tx::Sqlite(_) => format!(
            "INSERT INTO lead_search{suffix} (token, lead_id)
             SELECT value ->> '$[0]', value ->> '$[1]' FROM json_each($1) WHERE true
             ON CONFLICT DO NOTHING"
        ),
        Tx::Postgres(_) => format!(
            "INSERT INTO lead_search{suffix} (token, lead_id)
             SELECT r ->> 0, r ->> 1 FROM json_array_elements($1::json) AS r
             ON CONFLICT DO NOTHING"
        ),
    };
    with_tx!(tx, t => {
        sqlx::query(&delete).bind(&ids).execute(&mut **t).await?;
        sqlx::query(&insert).bind(&rows).execute(&mut **t).await?;
    });
    Ok(())
}

/// The follow-ups of the saved leads, for agents' due lists (the lead's name and the notes
/// sealed with the person's key).
async fn save_follow_ups(
    keyring: &Keyring,
    tx: &mut Tx,
    suffix: &str,
    saved: &[(&LeadView, bool)],
) -> Result<(), ProjectionError> {
    let mut rows = Vec::new();
    for (v, shredded) in saved {
        let id = v.key();
        let name = if *shredded {
            ERASED.to_string()
        } else {
            keyring.seal_text(&id, &v.name).await?
        };
        for f in &v.follow_ups {
            let note = match (&f.note, shredded) {
                (None, _) => None,
                (Some(_), true) => Some(ERASED.to_string()),
                (Some(n), false) => Some(keyring.seal_text(&id, n).await?),
            };
            rows.push((*v, name.clone(), f, note));
        }
    }
    let delete = format!(
        "DELETE FROM lead_follow_ups{suffix} WHERE {}",
        crate::schema::member_of(tx, "lead_id", 1)
    );
    let ids: Vec<String> = saved.iter().map(|(v, _)| v.lead_id.to_string()).collect();
    let ids = serde_json::to_string(&ids).expect("ids serialize");
    with_tx!(tx, t => {
        sqlx::query(&delete).bind(&ids).execute(&mut **t).await?;
        for chunk in rows.chunks(200) {
            let mut qb = sqlx::QueryBuilder::new(format!(
                "INSERT INTO lead_follow_ups{suffix} (follow_up_id, lead_id, lead_name, assignee,
                 due_at, channel, note, state, archived) "
            ));
            qb.push_values(chunk, |mut b, (v, name, f, note)| {
                b.push_bind(f.follow_up_id.to_string())
                    .push_bind(v.lead_id.to_string())
                    .push_bind(name.clone())
                    .push_bind(v.assignee.map(|a| a.to_string()))
                    .push_bind(f.due_at)
                    .push_bind(f.channel.as_str())
                    .push_bind(note.clone())
                    .push_bind(follow_up_state(f))
                    .push_bind(!v.listed());
            });
            qb.build().execute(&mut **t).await?;
        }
    });
    Ok(())
}

/// The channels marketing may use for this lead now, as ` email sms `.
fn marketing(v: &LeadView) -> String {
    let open = v.listed()
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
        domain::lead::FollowUpState::Moved => "moved",
    }
}
