//! A person's timeline: the events of their lead, client, KYC and portfolio records as one list
//! of what happened, by kind (interactions, follow-ups, status moves, KYC steps, trades,
//! consent and privacy, profile changes), newest first, for `GET /api/clients/{id}/timeline`.
//! Rows carry the event's content with its personal fields replaced by a marker, so the read
//! model holds no personal data and an erasure leaves nothing readable behind.

use chrono::{DateTime, Utc};
use futures::future::BoxFuture;
use serde_json::Value;
use store::privacy::Keyring;
use store::{with_db, Db, EventMetadata};

use crate::{Projection, ProjectionError, StoredEvent, Tx};

pub const NAME: &str = "client_timeline";

/// What a personal field of an event reads as in the timeline.
pub const PERSONAL: &str = "[personal]";

/// The kinds of timeline entries, for filtering.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimelineKind {
    Interaction,
    FollowUp,
    Status,
    Kyc,
    Trade,
    Consent,
    Profile,
}

impl TimelineKind {
    pub const ALL: &'static [TimelineKind] = &[
        Self::Interaction,
        Self::FollowUp,
        Self::Status,
        Self::Kyc,
        Self::Trade,
        Self::Consent,
        Self::Profile,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Interaction => "interaction",
            Self::FollowUp => "follow_up",
            Self::Status => "status",
            Self::Kyc => "kyc",
            Self::Trade => "trade",
            Self::Consent => "consent",
            Self::Profile => "profile",
        }
    }
}

/// The record kinds a timeline is made of.
const AGGREGATES: &[&str] = &["lead", "client", "kyc", "portfolio"];

/// The timeline kind of an event type (`None`: not part of a timeline).
pub fn kind_of(event_type: &str) -> Option<TimelineKind> {
    use TimelineKind::*;
    Some(match event_type {
        "InteractionLogged" => Interaction,
        "FollowUpScheduled" | "FollowUpRescheduled" | "FollowUpCompleted" | "FollowUpCancelled" => {
            FollowUp
        }
        "LeadCaptured"
        | "LeadStatusChanged"
        | "LeadLost"
        | "LeadReopened"
        | "LeadConverted"
        | "LeadArchived"
        | "ClientOnboarded"
        | "AccountSuspended"
        | "AccountMarkedDormant"
        | "AccountReactivated"
        | "RelationshipClosed"
        | "RelationshipReopened"
        | "LeadMerged"
        | "LeadUnmerged"
        | "MergeReceived"
        | "MergeReverted" => Status,
        "TradeRecorded" | "TradeReversed" | "RiskProfiled" => Trade,
        "MarketingConsentGiven"
        | "MarketingConsentWithdrawn"
        | "ErasureRequested"
        | "LeadErased"
        | "ClientErased"
        | "LegalHoldPlaced"
        | "LegalHoldLifted"
        | "SubjectDataExported" => Consent,
        "LeadDetailsChanged"
        | "ClientProfileChanged"
        | "ClientDetailsChanged"
        | "ClientSegmentChanged"
        | "LeadAssigned"
        | "RelationshipManagerAssigned"
        | "ClientDocumentAdded"
        | "ClientDocumentsPurged" => Profile,
        t if t.starts_with("Kyc") || t.starts_with("Kra") || t.starts_with("Ckyc") => Kyc,
        "RekycDue" => Kyc,
        _ => return None,
    })
}

/// The event's content as the timeline keeps it: the payload's inner object with every
/// personal field (as its kind's table lists them) replaced by [`PERSONAL`].
fn detail(e: &StoredEvent) -> Value {
    let mut payload = e.payload.clone();
    if let Some(kind) = domain::kinds::kind(&e.aggregate_type) {
        for table in kind.events {
            if let Some(paths) = domain::personal::lookup(table, &e.event_type) {
                Keyring::mask(&mut payload, paths, PERSONAL);
            }
        }
    }
    match payload {
        Value::Object(mut map) if map.len() == 1 => {
            let (_, inner) = map.iter_mut().next().expect("one entry");
            inner.take()
        }
        other => other,
    }
}

pub struct ClientTimelineProjection;

impl Projection for ClientTimelineProjection {
    fn name(&self) -> &'static str {
        NAME
    }

    fn version(&self) -> i64 {
        2
    }

    fn ddl(&self) -> &'static str {
        include_str!("../../migrations/read_models/client_timeline.sql")
    }

    fn tables(&self) -> &'static [&'static str] {
        &["client_timeline"]
    }

    fn apply<'a>(
        &'a self,
        tx: &'a mut Tx,
        suffix: &'a str,
        events: &'a [StoredEvent],
    ) -> BoxFuture<'a, Result<(), ProjectionError>> {
        Box::pin(apply(tx, suffix, events))
    }
}

async fn apply(tx: &mut Tx, suffix: &str, events: &[StoredEvent]) -> Result<(), ProjectionError> {
    let rows: Vec<(&StoredEvent, TimelineKind, EventMetadata, Value)> = events
        .iter()
        .filter(|e| AGGREGATES.contains(&e.aggregate_type.as_str()))
        .filter_map(|e| {
            let kind = kind_of(&e.event_type)?;
            Some((e, kind, EventMetadata::from_json(&e.metadata), detail(e)))
        })
        .collect();
    for chunk in rows.chunks(300) {
        crate::with_tx!(tx, t => {
            let mut qb = sqlx::QueryBuilder::new(format!(
                "INSERT INTO client_timeline{suffix} (subject_id, position, kind, aggregate_type,
                 event_type, actor_id, actor_role, recorded_at, detail) "
            ));
            qb.push_values(chunk, |mut b, (e, kind, m, detail)| {
                b.push_bind(e.aggregate_id.clone())
                    .push_bind(e.position)
                    .push_bind(kind.as_str())
                    .push_bind(e.aggregate_type.clone())
                    .push_bind(e.event_type.clone())
                    .push_bind(m.actor_id.clone())
                    .push_bind(m.actor_role.clone())
                    .push_bind(m.recorded_at)
                    .push_bind(detail.clone());
            });
            qb.push(" ON CONFLICT (subject_id, position) DO NOTHING");
            qb.build().execute(&mut **t).await?;
        });
    }
    Ok(())
}

/// One entry of a timeline.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct TimelineRow {
    pub subject_id: String,
    pub position: i64,
    pub kind: String,
    pub aggregate_type: String,
    pub event_type: String,
    pub actor_id: String,
    pub actor_role: String,
    pub recorded_at: DateTime<Utc>,
    pub detail: Value,
}

/// The entries of `subjects` (a client's id and the lead it came from), newest first, below
/// position `before` when given, of the `kinds` given (all when empty), at most `limit`.
pub async fn page(
    db: &Db,
    subjects: &[String],
    kinds: &[TimelineKind],
    before: Option<i64>,
    limit: i64,
) -> Result<Vec<TimelineRow>, ProjectionError> {
    let head = "SELECT subject_id, position, kind, aggregate_type, event_type, actor_id,
                       actor_role, recorded_at, detail
                  FROM client_timeline WHERE subject_id IN (";
    Ok(with_db!(db, pool => {
        let mut qb = sqlx::QueryBuilder::new(head);
        let mut ids = qb.separated(", ");
        for id in subjects {
            ids.push_bind(id.clone());
        }
        qb.push(")");
        if !kinds.is_empty() {
            qb.push(" AND kind IN (");
            let mut ks = qb.separated(", ");
            for k in kinds {
                ks.push_bind(k.as_str());
            }
            qb.push(")");
        }
        if let Some(b) = before {
            qb.push(" AND position < ").push_bind(b);
        }
        qb.push(" ORDER BY position DESC LIMIT ").push_bind(limit);
        qb.build_query_as::<TimelineRow>().fetch_all(pool).await?
    }))
}
