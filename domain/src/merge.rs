//! Merging duplicates: a lead merged into another lead or into a client. The merged lead (the
//! source) records where it went and stops taking changes; the survivor records what it took
//! over: the source's open follow-ups, moved under new ids. Nothing personal is copied: the
//! source's interactions and follow-up notes stay in its own log, sealed with its own key, and
//! readers show them under the survivor by reference, so erasing the source still shreds them.
//! A merge is undone by a compensating pair of events (never by editing history): the source
//! takes back the follow-ups still open on the survivor, with their due times as they are now.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::lead::FollowUpChannel;
use crate::personal::EventFields;

snake_enum!(
    /// What a lead was merged into.
    MergeKind { Lead => "lead", Client => "client" }
);

/// The record a lead was merged into.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct MergeTarget {
    pub kind: MergeKind,
    pub id: Uuid,
}

/// A follow-up moved to the survivor: its id there, its id on the merged lead (where its note
/// stays), when it is due and how.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct MovedFollowUp {
    pub follow_up_id: Uuid,
    pub from_follow_up_id: Uuid,
    pub due_at: DateTime<Utc>,
    pub channel: FollowUpChannel,
}

/// A follow-up the merged lead takes back on undo, due when it was due on the survivor.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReopenedFollowUp {
    pub follow_up_id: Uuid,
    pub due_at: DateTime<Utc>,
}

/// The survivor's side of merges: what it took over from each lead merged into it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Received {
    /// By merged lead: the moved follow-ups (id here, id on the merged lead).
    from: BTreeMap<Uuid, Vec<(Uuid, Uuid)>>,
}

impl Received {
    /// Whether any lead is merged into this record now.
    pub fn is_empty(&self) -> bool {
        self.from.is_empty()
    }

    /// Whether `lead` is merged into this record now.
    pub fn holds(&self, lead: Uuid) -> bool {
        self.from.contains_key(&lead)
    }

    /// The leads merged into this record now.
    pub fn leads(&self) -> impl Iterator<Item = Uuid> + '_ {
        self.from.keys().copied()
    }

    /// On undo of `lead`'s merge: the moved follow-ups still open here (`open` answers their
    /// due time), by their id here and as the merged lead takes them back. `None` when `lead`
    /// is not merged into this record.
    pub fn give_back(
        &self,
        lead: Uuid,
        open: impl Fn(Uuid) -> Option<DateTime<Utc>>,
    ) -> Option<(Vec<Uuid>, Vec<ReopenedFollowUp>)> {
        let moved = self.from.get(&lead)?;
        Some(
            moved
                .iter()
                .filter_map(|(here, there)| {
                    open(*here).map(|due_at| {
                        (
                            *here,
                            ReopenedFollowUp {
                                follow_up_id: *there,
                                due_at,
                            },
                        )
                    })
                })
                .unzip(),
        )
    }

    pub fn received(&mut self, lead: Uuid, follow_ups: &[MovedFollowUp]) {
        self.from.insert(
            lead,
            follow_ups
                .iter()
                .map(|f| (f.follow_up_id, f.from_follow_up_id))
                .collect(),
        );
    }

    pub fn reverted(&mut self, lead: Uuid) {
        self.from.remove(&lead);
    }
}

/// The survivor's merge events, stored under these names by leads and clients alike; they hold
/// nothing personal.
pub const SURVIVOR_EVENTS: &[EventFields] = &[
    EventFields {
        event: "MergeReceived",
        personal: &[],
        plain: &[
            "/MergeReceived/from_lead",
            "/MergeReceived/follow_ups/*/follow_up_id",
            "/MergeReceived/follow_ups/*/from_follow_up_id",
            "/MergeReceived/follow_ups/*/due_at",
            "/MergeReceived/follow_ups/*/channel",
        ],
    },
    EventFields {
        event: "MergeReverted",
        personal: &[],
        plain: &["/MergeReverted/from_lead", "/MergeReverted/follow_ups/*"],
    },
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gives_back_only_what_is_still_open_here_with_its_due_time_now() {
        let (a, b, a0, b0) = (
            Uuid::now_v7(),
            Uuid::now_v7(),
            Uuid::now_v7(),
            Uuid::now_v7(),
        );
        let lead = Uuid::now_v7();
        let due = Utc::now();
        let moved = |id, from| MovedFollowUp {
            follow_up_id: id,
            from_follow_up_id: from,
            due_at: due,
            channel: FollowUpChannel::Call,
        };
        let mut r = Received::default();
        r.received(lead, &[moved(a, a0), moved(b, b0)]);
        assert!(r.holds(lead));
        let later = due + chrono::Duration::days(2);
        let (here, back) = r
            .give_back(lead, |id| (id == b).then_some(later))
            .expect("merged");
        assert_eq!(here, vec![b]);
        assert_eq!(
            back,
            vec![ReopenedFollowUp {
                follow_up_id: b0,
                due_at: later
            }]
        );
        assert!(r.give_back(Uuid::now_v7(), |_| None).is_none());
        r.reverted(lead);
        assert!(r.is_empty());
    }
}
