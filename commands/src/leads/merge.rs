//! Merging a duplicate lead into another lead or into a client, and undoing it. Both records'
//! events land in one transaction ([`execute_pair`]): the merged lead's `LeadMerged` (or
//! `LeadUnmerged`) with the survivor's `MergeReceived` (or `MergeReverted`). The caller must
//! see both records; a record outside their scope answers as if it did not exist.

use domain::access::{covers_lead, ClientScope, LeadScope};
use domain::client::{Client, ClientCommand, ClientError};
use domain::lead::{Lead, LeadCommand, LeadError};
use domain::merge::{MergeKind, MergeTarget, MovedFollowUp, ReopenedFollowUp};
use domain::values::Text;
use domain::worklog::WorkCommand;
use std::sync::atomic::{AtomicUsize, Ordering};
use store::EventMetadata;

use uuid::Uuid;

use crate::executor::{execute_pair, Guard, PairError, PairPart};
use crate::{CommandError, Committed, Executor, WriteSide};

#[derive(Debug, thiserror::Error)]
pub enum MergeError {
    /// The merged lead (or a survivor lead) refused.
    #[error(transparent)]
    Lead(#[from] CommandError<LeadError>),
    /// The survivor client refused.
    #[error(transparent)]
    Client(#[from] CommandError<ClientError>),
    /// The survivor lead refused.
    #[error("the lead to merge into: {0}")]
    SurvivorLead(CommandError<LeadError>),
    #[error("a lead cannot be merged into itself")]
    IntoItself,
    /// The survivor does not exist or the caller may not see it.
    #[error("no such {0} you may see")]
    NoSurvivor(MergeKind),
    /// Undoing: the caller may not see the record the lead is merged into.
    #[error("the record the lead is merged into is not one you may see")]
    SurvivorHidden,
}

/// Who may be merged where: the caller's scopes.
pub struct Scopes<'a> {
    pub leads: &'a Option<LeadScope>,
    pub clients: &'a ClientScope,
}

/// Where the merge (or its undo) landed: the merged lead's and the survivor's commits.
#[derive(Debug, Clone, Copy)]
pub struct Merged {
    pub into: MergeTarget,
    /// Open follow-ups moved to the survivor (merge) or back to the lead (undo).
    pub follow_ups: usize,
    pub lead: Committed,
    pub survivor: Committed,
}

/// What a lead can be merged into: how to reach it, who may see it, what it is told.
trait Survivor: cqrs_es::Aggregate<Command: Clone + Send> + Send + Sync + Sized {
    fn executor(write: &WriteSide) -> &Executor<Self>;
    /// The record-level check (the caller's scope), as a guard.
    fn guard(scopes: &Scopes<'_>) -> Box<Guard<Self>>;
    fn receive(from_lead: Uuid, follow_ups: Vec<MovedFollowUp>) -> Self::Command;
    fn revert(from_lead: Uuid) -> Self::Command;
    /// On undo: the follow-ups `lead` moved here that are still open, as it takes them back.
    fn give_back(&self, lead: Uuid) -> Option<Vec<ReopenedFollowUp>>;
    /// The survivor's refusal as the merge's.
    fn refused(e: CommandError<Self::Error>) -> MergeError;
}

impl Survivor for Lead {
    fn executor(write: &WriteSide) -> &Executor<Self> {
        &write.leads
    }

    fn guard(scopes: &Scopes<'_>) -> Box<Guard<Self>> {
        let scope = scopes.leads.clone();
        Box::new(move |l: &Lead| {
            if l.is_captured() && covers_lead(&scope, l.assignee()) {
                Ok(())
            } else {
                Err(LeadError::NotFound)
            }
        })
    }

    fn receive(from_lead: Uuid, follow_ups: Vec<MovedFollowUp>) -> LeadCommand {
        LeadCommand::ReceiveMerge {
            from_lead,
            follow_ups,
        }
    }

    fn revert(from_lead: Uuid) -> LeadCommand {
        LeadCommand::RevertMerge { from_lead }
    }

    fn give_back(&self, lead: Uuid) -> Option<Vec<ReopenedFollowUp>> {
        let (_, back) = self.merged_here().give_back(lead, |id| self.open_due(id))?;
        Some(back)
    }

    fn refused(e: CommandError<LeadError>) -> MergeError {
        match e {
            CommandError::Rejected(LeadError::NotFound) => MergeError::NoSurvivor(MergeKind::Lead),
            e => MergeError::SurvivorLead(e),
        }
    }
}

impl Survivor for Client {
    fn executor(write: &WriteSide) -> &Executor<Self> {
        &write.clients
    }

    fn guard(scopes: &Scopes<'_>) -> Box<Guard<Self>> {
        let scope = scopes.clients.clone();
        Box::new(move |c: &Client| {
            if c.is_onboarded() && scope.covers_client(c) {
                Ok(())
            } else {
                Err(ClientError::NotFound)
            }
        })
    }

    fn receive(from_lead: Uuid, follow_ups: Vec<MovedFollowUp>) -> ClientCommand {
        ClientCommand::Work(WorkCommand::ReceiveMerge {
            from_lead,
            follow_ups,
        })
    }

    fn revert(from_lead: Uuid) -> ClientCommand {
        ClientCommand::Work(WorkCommand::RevertMerge { from_lead })
    }

    fn give_back(&self, lead: Uuid) -> Option<Vec<ReopenedFollowUp>> {
        let work = self.work();
        let (_, back) = work.merged_here().give_back(lead, |id| work.open_due(id))?;
        Some(back)
    }

    fn refused(e: CommandError<ClientError>) -> MergeError {
        match e {
            CommandError::Rejected(ClientError::NotFound) => {
                MergeError::NoSurvivor(MergeKind::Client)
            }
            e => MergeError::Client(e),
        }
    }
}

/// Runs the merged lead's command and the survivor's, made by `commands` from both records,
/// in one transaction; how many follow-ups `commands` said move.
async fn pair<S, F>(
    write: &WriteSide,
    scopes: &Scopes<'_>,
    lead_id: Uuid,
    expected: Option<usize>,
    survivor: Uuid,
    commands: F,
    meta: &EventMetadata,
) -> Result<(Committed, Committed, usize), MergeError>
where
    S: Survivor,
    F: Fn(&Lead, &S) -> Result<(LeadCommand, S::Command, usize), LeadError>,
{
    let source_guard = <Lead as Survivor>::guard(scopes);
    let survivor_guard = S::guard(scopes);
    let moved = AtomicUsize::new(0);
    let (lead, kept) = execute_pair(
        PairPart {
            executor: &write.leads,
            id: lead_id.to_string(),
            guard: &*source_guard,
            expected,
        },
        PairPart {
            executor: S::executor(write),
            id: survivor.to_string(),
            guard: &*survivor_guard,
            expected: None,
        },
        |l: &Lead, s: &S| {
            let (a, b, n) = commands(l, s)?;
            moved.store(n, Ordering::Relaxed);
            Ok((a, b))
        },
        meta,
    )
    .await
    .map_err(|e| match e {
        PairError::First(e) => MergeError::Lead(e),
        PairError::Second(e) => S::refused(e),
    })?;
    Ok((lead, kept, moved.load(Ordering::Relaxed)))
}

async fn merge_into<S: Survivor>(
    write: &WriteSide,
    scopes: &Scopes<'_>,
    lead_id: Uuid,
    into: MergeTarget,
    reason: Option<Text>,
    meta: &EventMetadata,
    expected: Option<usize>,
) -> Result<Merged, MergeError> {
    let merge = LeadCommand::Merge { into, reason };
    let commands = |l: &Lead, _: &S| {
        let follow_ups = l.follow_ups_to_move();
        let n = follow_ups.len();
        Ok((merge.clone(), S::receive(lead_id, follow_ups), n))
    };
    let (lead, survivor, follow_ups) =
        pair(write, scopes, lead_id, expected, into.id, commands, meta).await?;
    Ok(Merged {
        into,
        follow_ups,
        lead,
        survivor,
    })
}

async fn unmerge_from<S: Survivor>(
    write: &WriteSide,
    scopes: &Scopes<'_>,
    lead_id: Uuid,
    from: MergeTarget,
    reason: Option<Text>,
    meta: &EventMetadata,
    expected: Option<usize>,
) -> Result<Merged, MergeError> {
    // Should the lead have been merged elsewhere meanwhile, the survivor named here does not
    // hold it and refuses.
    let commands = |_: &Lead, s: &S| {
        let follow_ups = s.give_back(lead_id).ok_or(LeadError::NotMergedHere)?;
        let n = follow_ups.len();
        let unmerge = LeadCommand::Unmerge {
            follow_ups,
            reason: reason.clone(),
        };
        Ok((unmerge, S::revert(lead_id), n))
    };
    let (lead, survivor, follow_ups) =
        pair(write, scopes, lead_id, expected, from.id, commands, meta)
            .await
            .map_err(|e| match e {
                // A survivor the caller may not see is not a field of this request.
                MergeError::NoSurvivor(_) => MergeError::SurvivorHidden,
                e => e,
            })?;
    Ok(Merged {
        into: from,
        follow_ups,
        lead,
        survivor,
    })
}

/// Merges lead `lead_id` into `into`: its open follow-ups move there under new ids. With
/// `expected`, only while the lead is at that version.
pub async fn merge(
    write: &WriteSide,
    scopes: Scopes<'_>,
    lead_id: Uuid,
    into: MergeTarget,
    reason: Option<Text>,
    meta: &EventMetadata,
    expected: Option<usize>,
) -> Result<Merged, MergeError> {
    if into.kind == MergeKind::Lead && into.id == lead_id {
        return Err(MergeError::IntoItself);
    }
    match into.kind {
        MergeKind::Lead => {
            merge_into::<Lead>(write, &scopes, lead_id, into, reason, meta, expected).await
        }
        MergeKind::Client => {
            merge_into::<Client>(write, &scopes, lead_id, into, reason, meta, expected).await
        }
    }
}

/// Undoes lead `lead_id`'s merge: it takes back the follow-ups still open on the survivor,
/// and the survivor no longer shows its work.
pub async fn unmerge(
    write: &WriteSide,
    scopes: Scopes<'_>,
    lead_id: Uuid,
    reason: Option<Text>,
    meta: &EventMetadata,
    expected: Option<usize>,
) -> Result<Merged, MergeError> {
    let (current, _) = write.leads.load(&lead_id.to_string()).await?;
    <Lead as Survivor>::guard(&scopes)(&current).map_err(CommandError::Rejected)?;
    let from = current
        .merged_into()
        .ok_or(CommandError::Rejected(LeadError::NotMerged))?;
    match from.kind {
        MergeKind::Lead => {
            unmerge_from::<Lead>(write, &scopes, lead_id, from, reason, meta, expected).await
        }
        MergeKind::Client => {
            unmerge_from::<Client>(write, &scopes, lead_id, from, reason, meta, expected).await
        }
    }
}
