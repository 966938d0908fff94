//! Merging a duplicate lead into another lead or into a client, and undoing it. Both records'
//! events land in one transaction ([`execute_pair`]): the merged lead's `LeadMerged` (or
//! `LeadUnmerged`) with the survivor's `MergeReceived` (or `MergeReverted`). The caller must
//! see both records; a record outside their scope answers as if it did not exist.

use domain::access::{covers_lead, ClientScope, LeadScope};
use domain::client::{Client, ClientCommand, ClientError};
use domain::lead::{Lead, LeadCommand, LeadError};
use domain::merge::{MergeKind, MergeTarget};
use domain::values::Text;
use domain::worklog::WorkCommand;
use std::sync::atomic::{AtomicUsize, Ordering};
use store::EventMetadata;

use uuid::Uuid;

use crate::executor::{execute_pair, PairError, PairPart};
use crate::{CommandError, Committed, WriteSide};

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

fn lead_guard(
    scope: &Option<LeadScope>,
) -> impl Fn(&Lead) -> Result<(), LeadError> + Send + Sync + 'static {
    let scope = scope.clone();
    move |l: &Lead| {
        if l.is_captured() && covers_lead(&scope, l.assignee()) {
            Ok(())
        } else {
            Err(LeadError::NotFound)
        }
    }
}

fn client_guard(
    scope: &ClientScope,
) -> impl Fn(&Client) -> Result<(), ClientError> + Send + Sync + 'static {
    let scope = scope.clone();
    move |c: &Client| {
        if c.is_onboarded() && scope.covers_client(c) {
            Ok(())
        } else {
            Err(ClientError::NotFound)
        }
    }
}

fn lead_pair(e: PairError<LeadError, LeadError>) -> MergeError {
    match e {
        PairError::Second(CommandError::Rejected(LeadError::NotFound)) => {
            MergeError::NoSurvivor(MergeKind::Lead)
        }
        PairError::First(e) => MergeError::Lead(e),
        PairError::Second(e) => MergeError::SurvivorLead(e),
    }
}

fn client_pair(e: PairError<LeadError, ClientError>) -> MergeError {
    match e {
        PairError::First(e) => MergeError::Lead(e),
        PairError::Second(CommandError::Rejected(ClientError::NotFound)) => {
            MergeError::NoSurvivor(MergeKind::Client)
        }
        PairError::Second(e) => MergeError::Client(e),
    }
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
    let source_guard = lead_guard(scopes.leads);
    let source = PairPart {
        executor: &write.leads,
        id: lead_id.to_string(),
        guard: &source_guard,
        expected,
    };
    let merge = LeadCommand::Merge { into, reason };
    let moved = AtomicUsize::new(0);
    let (lead, survivor) = match into.kind {
        MergeKind::Lead => {
            let guard = lead_guard(scopes.leads);
            let survivor = PairPart {
                executor: &write.leads,
                id: into.id.to_string(),
                guard: &guard,
                expected: None,
            };
            execute_pair(
                source,
                survivor,
                |s: &Lead, _: &Lead| {
                    let follow_ups = s.follow_ups_to_move();
                    moved.store(follow_ups.len(), Ordering::Relaxed);
                    let receive = LeadCommand::ReceiveMerge {
                        from_lead: lead_id,
                        follow_ups,
                    };
                    Ok((merge.clone(), receive))
                },
                meta,
            )
            .await
            .map_err(lead_pair)?
        }
        MergeKind::Client => {
            let guard = client_guard(scopes.clients);
            let survivor = PairPart {
                executor: &write.clients,
                id: into.id.to_string(),
                guard: &guard,
                expected: None,
            };
            execute_pair(
                source,
                survivor,
                |s: &Lead, _: &Client| {
                    let follow_ups = s.follow_ups_to_move();
                    moved.store(follow_ups.len(), Ordering::Relaxed);
                    let receive = ClientCommand::Work(WorkCommand::ReceiveMerge {
                        from_lead: lead_id,
                        follow_ups,
                    });
                    Ok((merge.clone(), receive))
                },
                meta,
            )
            .await
            .map_err(client_pair)?
        }
    };
    Ok(Merged {
        into,
        follow_ups: moved.load(Ordering::Relaxed),
        lead,
        survivor,
    })
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
    lead_guard(scopes.leads)(&current).map_err(CommandError::Rejected)?;
    let into = current
        .merged_into()
        .ok_or(CommandError::Rejected(LeadError::NotMerged))?;
    let source_guard = lead_guard(scopes.leads);
    let source = PairPart {
        executor: &write.leads,
        id: lead_id.to_string(),
        guard: &source_guard,
        expected,
    };
    let moved = AtomicUsize::new(0);
    // Should the lead have been merged elsewhere meanwhile, the survivor named here does not
    // hold it and refuses.
    let (lead, survivor) = match into.kind {
        MergeKind::Lead => {
            let guard = lead_guard(scopes.leads);
            let survivor = PairPart {
                executor: &write.leads,
                id: into.id.to_string(),
                guard: &guard,
                expected: None,
            };
            execute_pair(
                source,
                survivor,
                |_: &Lead, s: &Lead| {
                    let (_, follow_ups) = s
                        .merged_here()
                        .give_back(lead_id, |id| s.open_due(id))
                        .ok_or(LeadError::NotMergedHere)?;
                    moved.store(follow_ups.len(), Ordering::Relaxed);
                    Ok((
                        LeadCommand::Unmerge {
                            follow_ups,
                            reason: reason.clone(),
                        },
                        LeadCommand::RevertMerge { from_lead: lead_id },
                    ))
                },
                meta,
            )
            .await
            .map_err(|e| hidden(lead_pair(e)))?
        }
        MergeKind::Client => {
            let guard = client_guard(scopes.clients);
            let survivor = PairPart {
                executor: &write.clients,
                id: into.id.to_string(),
                guard: &guard,
                expected: None,
            };
            execute_pair(
                source,
                survivor,
                |_: &Lead, c: &Client| {
                    let work = c.work();
                    let (_, follow_ups) = work
                        .merged_here()
                        .give_back(lead_id, |id| work.open_due(id))
                        .ok_or(LeadError::NotMergedHere)?;
                    moved.store(follow_ups.len(), Ordering::Relaxed);
                    Ok((
                        LeadCommand::Unmerge {
                            follow_ups,
                            reason: reason.clone(),
                        },
                        ClientCommand::Work(WorkCommand::RevertMerge { from_lead: lead_id }),
                    ))
                },
                meta,
            )
            .await
            .map_err(|e| hidden(client_pair(e)))?
        }
    };
    Ok(Merged {
        into,
        follow_ups: moved.load(Ordering::Relaxed),
        lead,
        survivor,
    })
}

/// On undo, a survivor the caller may not see is not a field of the request.
fn hidden(e: MergeError) -> MergeError {
    match e {
        MergeError::NoSurvivor(_) => MergeError::SurvivorHidden,
        e => e,
    }
}
