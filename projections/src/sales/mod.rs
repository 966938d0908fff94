//! The sales facts read model: per lead the moments a sales report counts (captured, first
//! response, converted, lost), the stages it passed through and its follow-ups, folded from
//! the lead's events by the generic sealed-document projection.

mod facts;
pub mod memory;
pub mod report;

use chrono::{DateTime, Utc};
use cqrs_es::Aggregate;
use domain::lead::{FollowUpState, InteractionKind, Lead, LeadEvent, LeadSource, LeadStatus};
use futures::future::BoxFuture;
use serde::{Deserialize, Serialize};
use store::privacy::Keyring;
use store::EventMetadata;
use uuid::Uuid;

use crate::sealed::{Cell, SealedDocument, SealedProjection};
use crate::{with_tx, ProjectionError, Tx};

pub const NAME: &str = "sales";

/// The sales facts projection.
pub type SalesProjection = SealedProjection<SalesView>;

/// One lead as the sales report sees it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SalesView {
    pub lead_id: Uuid,
    pub source: LeadSource,
    /// The lead's source detail (a campaign, partner or referrer): personal, sealed at rest.
    /// Reports name it only for campaign and partner leads.
    pub source_detail: Option<String>,
    pub assignee: Option<Uuid>,
    pub created_at: DateTime<Utc>,
    pub status: LeadStatus,
    /// The first contact with the person: an interaction (not a note), a move out of `new`,
    /// or a follow-up done.
    pub first_response_at: Option<DateTime<Utc>>,
    pub converted_at: Option<DateTime<Utc>>,
    pub client_id: Option<Uuid>,
    pub lost_at: Option<DateTime<Utc>>,
    /// Why it was lost (personal, sealed): kept while the lead stays lost.
    pub lost_reason: Option<String>,
    pub merged: bool,
    #[serde(default)]
    pub archived: bool,
    pub restricted: bool,
    pub erased: bool,
    pub stages: Vec<Stage>,
    pub follow_ups: Vec<FollowUpFact>,
    pub version: i64,
}

/// A stage of the pipeline a lead was in, from when to when (`None`: still in it).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Stage {
    pub stage: LeadStatus,
    pub entered_at: DateTime<Utc>,
    pub left_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FollowUpFact {
    pub follow_up_id: Uuid,
    pub due_at: DateTime<Utc>,
    pub closed_at: Option<DateTime<Utc>>,
    pub state: FollowUpState,
}

/// Campaign names and reasons compared as people type them: case and spacing aside.
pub fn normalised(text: &str) -> String {
    text.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .to_lowercase()
}

/// Whether a lead of `source` names a campaign (or partner) in its source detail, rather than
/// a person who referred it.
pub fn names_campaign(source: LeadSource) -> bool {
    matches!(source, LeadSource::Campaign | LeadSource::Partner)
}

impl SalesView {
    /// The furthest funnel stage the lead reached (0: new … 3: converted): how many of the
    /// stages after `new` it reached.
    fn furthest(&self) -> i64 {
        self.reached().iter().flatten().count() as i64
    }

    /// When the lead first reached each funnel stage after `new` (contacted, qualified,
    /// converted) or one beyond it: its furthest stage at a moment is the last reached by then.
    fn reached(&self) -> [Option<DateTime<Utc>>; 3] {
        let mut reached = [None; 3];
        for s in &self.stages {
            let rank = facts::rank(s.stage).unwrap_or(0);
            for r in reached.iter_mut().take(rank) {
                if r.is_none_or(|at| s.entered_at < at) {
                    *r = Some(s.entered_at);
                }
            }
        }
        reached
    }

    /// The keyed blind indexes of its campaign and its lost reason (none once shredded).
    fn indexes(&self, keyring: &Keyring, shredded: bool) -> (Option<String>, Option<String>) {
        let index = |kind: &str, text: Option<&String>| {
            text.filter(|_| !shredded)
                .map(|t| keyring.blind_index(kind, &normalised(t)))
        };
        let campaign = self
            .source_detail
            .as_ref()
            .filter(|_| names_campaign(self.source));
        (
            index("campaign", campaign),
            index("lost_reason", self.lost_reason.as_ref()),
        )
    }

    fn moved(&mut self, to: LeadStatus, at: DateTime<Utc>) {
        if let Some(open) = self.stages.last_mut().filter(|s| s.left_at.is_none()) {
            if open.stage == to {
                return;
            }
            open.left_at = Some(at);
        }
        self.stages.push(Stage {
            stage: to,
            entered_at: at,
            left_at: None,
        });
        self.status = to;
    }

    fn responded(&mut self, at: DateTime<Utc>) {
        self.first_response_at.get_or_insert(at);
    }

    fn follow_up(&mut self, id: Uuid) -> Option<&mut FollowUpFact> {
        self.follow_ups.iter_mut().find(|f| f.follow_up_id == id)
    }

    fn closed(&mut self, id: Uuid, state: FollowUpState, at: DateTime<Utc>) {
        if let Some(f) = self.follow_up(id) {
            f.state = state;
            f.closed_at = Some(at);
        }
    }

    fn opened(&mut self, id: Uuid, due_at: DateTime<Utc>) {
        match self.follow_up(id) {
            Some(f) => {
                f.state = FollowUpState::Open;
                f.due_at = due_at;
                f.closed_at = None;
            }
            None => self.follow_ups.push(FollowUpFact {
                follow_up_id: id,
                due_at,
                closed_at: None,
                state: FollowUpState::Open,
            }),
        }
    }
}

impl crate::timeline::RecordView for SalesView {
    type Event = LeadEvent;
    const AGGREGATE: &'static str = Lead::TYPE;

    fn upcasters() -> Vec<Box<dyn cqrs_es::persist::EventUpcaster>> {
        domain::lead::upcasters()
    }

    fn start(event: &LeadEvent, meta: &EventMetadata, sequence: i64, _: i64) -> Option<Self> {
        let LeadEvent::LeadCaptured {
            lead_id, details, ..
        } = event
        else {
            return None;
        };
        Some(SalesView {
            lead_id: *lead_id,
            source: details.source,
            source_detail: details.source_detail.as_ref().map(ToString::to_string),
            assignee: None,
            created_at: meta.recorded_at,
            status: LeadStatus::New,
            first_response_at: None,
            converted_at: None,
            client_id: None,
            lost_at: None,
            lost_reason: None,
            merged: false,
            archived: false,
            restricted: false,
            erased: false,
            stages: vec![Stage {
                stage: LeadStatus::New,
                entered_at: meta.recorded_at,
                left_at: None,
            }],
            follow_ups: Vec::new(),
            version: sequence,
        })
    }

    fn apply(&mut self, event: &LeadEvent, meta: &EventMetadata, sequence: i64, _: i64) {
        let at = meta.recorded_at;
        self.version = sequence;
        match event {
            LeadEvent::LeadDetailsChanged(c) => {
                if let Some(s) = c.source {
                    self.source = s;
                }
                if let Some(d) = &c.source_detail {
                    self.source_detail = d.as_ref().map(ToString::to_string);
                }
            }
            LeadEvent::LeadStatusChanged { from, to, .. } => {
                if *from == LeadStatus::New {
                    self.responded(at);
                }
                self.moved(*to, at);
            }
            LeadEvent::LeadLost { reason, .. } => {
                self.moved(LeadStatus::Lost, at);
                self.lost_at = Some(at);
                self.lost_reason = Some(reason.to_string());
            }
            LeadEvent::LeadReopened { to, .. } => {
                self.moved(*to, at);
                self.lost_at = None;
                self.lost_reason = None;
            }
            LeadEvent::LeadConverted { client_id, .. } => {
                self.moved(LeadStatus::Converted, at);
                self.converted_at = Some(at);
                self.client_id = Some(*client_id);
            }
            LeadEvent::LeadAssigned { agent_id, .. } => self.assignee = Some(*agent_id),
            LeadEvent::FollowUpScheduled {
                follow_up_id,
                due_at,
                ..
            } => self.opened(*follow_up_id, *due_at),
            LeadEvent::FollowUpRescheduled {
                follow_up_id,
                due_at,
                ..
            } => {
                if let Some(f) = self.follow_up(*follow_up_id) {
                    f.due_at = *due_at;
                }
            }
            LeadEvent::FollowUpCompleted { follow_up_id, .. } => {
                self.responded(at);
                self.closed(*follow_up_id, FollowUpState::Completed, at);
            }
            LeadEvent::FollowUpCancelled { follow_up_id, .. } => {
                self.closed(*follow_up_id, FollowUpState::Cancelled, at)
            }
            LeadEvent::InteractionLogged { kind, .. } => {
                if *kind != InteractionKind::Note {
                    self.responded(at);
                }
            }
            LeadEvent::LeadMerged { follow_ups, .. } => {
                self.merged = true;
                for id in follow_ups {
                    self.closed(*id, FollowUpState::Moved, at);
                }
            }
            LeadEvent::LeadUnmerged { follow_ups, .. } => {
                self.merged = false;
                for f in follow_ups {
                    self.opened(f.follow_up_id, f.due_at);
                }
            }
            LeadEvent::MergeReceived { follow_ups, .. } => {
                for f in follow_ups {
                    self.opened(f.follow_up_id, f.due_at);
                }
            }
            LeadEvent::MergeReverted { follow_ups, .. } => {
                for id in follow_ups {
                    self.closed(*id, FollowUpState::Moved, at);
                }
            }
            LeadEvent::ErasureRequested { .. } => self.restricted = true,
            LeadEvent::LeadErased => {
                self.erased = true;
                self.source_detail = None;
                self.lost_reason = None;
            }
            LeadEvent::LeadArchived { .. } => self.archived = true,
            LeadEvent::LeadCaptured { .. } | LeadEvent::Privacy(_) => {}
        }
    }
}

impl SealedDocument for SalesView {
    const PROJECTION: &'static str = NAME;
    const TABLE: &'static str = "sales_leads";
    const KEY: &'static str = "lead_id";
    const PERSONAL: &'static [&'static str] = &["/source_detail", "/lost_reason"];
    // 2: the pipeline's covering index; archived and restricted leads.
    // 3: the furthest stage; stages and follow-ups carry what the report filters and groups
    // by, so that each part of the report is counted from one covering index.
    // 4: when each funnel stage was first reached (the furthest stage at a past moment); the
    // groups each lead was counted in. 5: group keys as JSON. 6: indexes in the order the
    // report groups by, for long periods. 7: when each lead was saved last, by which a copy in
    // memory follows the model; the report counts from that copy, so the indexes it read by
    // and the pipeline's counts are gone.
    const VERSION: i64 = 7;
    const SAVED_AT: bool = true;
    const DDL: &'static str = include_str!("../../../migrations/read_models/sales.sql");
    const TABLES: &'static [&'static str] = &["sales_leads", "sales_stages", "sales_follow_ups"];

    fn key(&self) -> String {
        self.lead_id.to_string()
    }

    fn erased(&self) -> bool {
        self.erased
    }

    fn restricted(&self) -> bool {
        self.restricted && !self.erased
    }

    fn columns(&self, keyring: &Keyring, shredded: bool) -> Vec<(&'static str, Cell)> {
        let (campaign, reason) = self.indexes(keyring, shredded);
        let [contacted, qualified, converted] = self.reached();
        vec![
            ("source", self.source.as_str().into()),
            ("campaign_index", campaign.into()),
            ("assignee", self.assignee.map(|a| a.to_string()).into()),
            ("created_at", self.created_at.into()),
            ("status", self.status.as_str().into()),
            ("furthest", self.furthest().into()),
            ("reached_contacted_at", contacted.into()),
            ("reached_qualified_at", qualified.into()),
            ("reached_converted_at", converted.into()),
            ("first_response_at", self.first_response_at.into()),
            (
                "response_secs",
                self.first_response_at
                    .map(|r| (r - self.created_at).num_seconds())
                    .into(),
            ),
            ("converted_at", self.converted_at.into()),
            ("client_id", self.client_id.map(|c| c.to_string()).into()),
            ("lost_at", self.lost_at.into()),
            ("lost_reason_index", reason.into()),
            ("merged", self.merged.into()),
            ("archived", self.archived.into()),
            ("restricted", SealedDocument::restricted(self).into()),
            ("erased", (self.erased || shredded).into()),
            ("version", self.version.into()),
        ]
    }

    fn save_children<'a>(
        _keyring: &'a Keyring,
        tx: &'a mut Tx,
        suffix: &'a str,
        saved: &'a [(&'a Self, bool)],
    ) -> BoxFuture<'a, Result<(), ProjectionError>> {
        Box::pin(save_children(tx, suffix, saved))
    }
}

pub(crate) fn state_name(s: FollowUpState) -> &'static str {
    match s {
        FollowUpState::Open => "open",
        FollowUpState::Completed => "completed",
        FollowUpState::Cancelled => "cancelled",
        FollowUpState::Moved => "moved",
    }
}

/// The stage and follow-up rows of the saved leads, replacing what they had.
async fn save_children(
    tx: &mut Tx,
    suffix: &str,
    saved: &[(&SalesView, bool)],
) -> Result<(), ProjectionError> {
    let ids: Vec<String> = saved.iter().map(|(v, _)| v.key()).collect();
    let ids = serde_json::to_string(&ids).expect("ids serialize");
    let stages: Vec<(&SalesView, i64, &Stage)> = saved
        .iter()
        .flat_map(|(v, _)| {
            v.stages
                .iter()
                .enumerate()
                .map(move |(i, s)| (*v, i as i64, s))
        })
        .collect();
    let follow_ups: Vec<(&SalesView, &FollowUpFact)> = saved
        .iter()
        .flat_map(|(v, _)| v.follow_ups.iter().map(move |f| (*v, f)))
        .collect();
    for table in ["sales_stages", "sales_follow_ups"] {
        let delete = format!(
            "DELETE FROM {table}{suffix} WHERE {}",
            crate::schema::member_of(tx, "lead_id", 1)
        );
        with_tx!(tx, t => {
            sqlx::query(&delete).bind(&ids).execute(&mut **t).await?;
        });
    }
    with_tx!(tx, t => {
        for chunk in stages.chunks(100) {
            let mut qb = sqlx::QueryBuilder::new(format!(
                "INSERT INTO sales_stages{suffix} (lead_id, seq, stage, entered_at, left_at, secs) "
            ));
            qb.push_values(chunk, |mut b, (v, seq, s)| {
                b.push_bind(v.key())
                    .push_bind(*seq)
                    .push_bind(s.stage.as_str())
                    .push_bind(s.entered_at)
                    .push_bind(s.left_at)
                    .push_bind(s.left_at.map(|l| (l - s.entered_at).num_seconds()));
            });
            qb.build().execute(&mut **t).await?;
        }
        for chunk in follow_ups.chunks(100) {
            let mut qb = sqlx::QueryBuilder::new(format!(
                "INSERT INTO sales_follow_ups{suffix} (follow_up_id, lead_id, due_at, closed_at,
                    state, assignee, merged) "
            ));
            qb.push_values(chunk, |mut b, (v, f)| {
                b.push_bind(f.follow_up_id.to_string())
                    .push_bind(v.key())
                    .push_bind(f.due_at)
                    .push_bind(f.closed_at)
                    .push_bind(state_name(f.state))
                    .push_bind(v.assignee.map(|a| a.to_string()))
                    .push_bind(v.merged);
            });
            qb.build().execute(&mut **t).await?;
        }
    });
    Ok(())
}

#[cfg(test)]
mod tests;
