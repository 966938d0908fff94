//! Lead use cases: capture (with the duplicate check and the default assignee), assignment (to
//! an agent or by round-robin), and any other command on a lead the caller may see.

pub mod assignment;
pub mod contacts;
pub mod import;
pub mod merge;

use domain::access::{covers_lead, Actor, LeadScope};
use domain::lead::{Lead, LeadCommand, LeadDetails, LeadError};
use domain::user::Role;
use store::{EventMetadata, StoreError};
use uuid::Uuid;

use crate::lookups::LookupError;
use crate::{CommandError, Committed, WriteSide};

#[derive(Debug, thiserror::Error)]
pub enum LeadsError {
    #[error(transparent)]
    Command(#[from] CommandError<LeadError>),
    /// Leads with the same e-mail address or phone number exist; `visible` names those the
    /// caller may open (that one exists is said either way: capturing it twice would split
    /// the person's history); `hidden` are the others, whose existence the answer discloses
    /// (the caller records that as an access to them).
    #[error("a lead with this e-mail address or phone number is already on file")]
    Duplicate {
        visible: Vec<Uuid>,
        hidden: Vec<Uuid>,
    },
    #[error("not an active agent you may assign leads to")]
    NotAssignable,
    #[error("round-robin assignment needs active relationship managers; there are none")]
    NoActiveAgents,
    #[error(transparent)]
    Lookup(#[from] LookupError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// A lead to capture, its values validated.
#[derive(Debug, Clone)]
pub struct NewLead {
    pub details: LeadDetails,
    pub channel: domain::lead::CaptureChannel,
    /// Assign to this agent at once.
    pub assign_to: Option<Uuid>,
    /// Assign to the next agent in rotation at once.
    pub round_robin: bool,
    /// Capture even when a lead with the same contact details exists.
    pub allow_duplicate: bool,
}

/// Who gets a lead: an agent named, or the next in rotation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Assignee {
    Agent(Uuid),
    RoundRobin,
}

/// Runs `command` on the lead `lead_id` for an actor who sees `scope`: a lead outside it
/// answers as if it did not exist. `expected` is the version the caller last saw (If-Match).
pub async fn run(
    write: &WriteSide,
    scope: &Option<LeadScope>,
    lead_id: Uuid,
    command: LeadCommand,
    meta: &EventMetadata,
    expected: Option<usize>,
) -> Result<Committed, CommandError<LeadError>> {
    let scope = scope.clone();
    let guard = move |lead: &Lead| {
        if !lead.is_captured() || covers_lead(&scope, lead.assignee()) {
            Ok(())
        } else {
            Err(LeadError::NotFound)
        }
    };
    write
        .leads
        .execute_guarded(&lead_id.to_string(), command, meta, expected, &guard)
        .await
}

/// Captures a lead; answers its new id and where it landed. The whole command is checked
/// (the assignee among them) before the duplicate check, so a refusal never tells whether a
/// person is on file unless the capture would otherwise have passed.
pub async fn capture(
    write: &WriteSide,
    actor: &Actor,
    scope: &Option<LeadScope>,
    lead: NewLead,
    meta: &EventMetadata,
) -> Result<(Uuid, Committed), LeadsError> {
    let wanted = match (lead.assign_to, lead.round_robin) {
        (Some(agent), _) => Some(Assignee::Agent(agent)),
        (None, true) => Some(Assignee::RoundRobin),
        (None, false) => None,
    };
    let agents = match wanted {
        Some(w) => Some(check_assignee(write, actor, w).await?),
        None => None,
    };
    let lead_id = Uuid::now_v7();
    let keys = if lead.allow_duplicate {
        Vec::new()
    } else {
        reserve_contact(write, scope, &lead.details, lead_id).await?
    };
    let captured = async {
        let assignee = match (wanted, agents) {
            (Some(w), Some(agents)) => Some(pick_agent(write, actor, w, None, agents).await?),
            // An agent's own capture is theirs unless they say otherwise.
            _ if actor.role == Role::RelationshipManager => Some((actor.user_id, false)),
            _ => None,
        };
        let command = LeadCommand::Capture {
            lead_id,
            details: lead.details,
            channel: lead.channel,
            assign_to: assignee.map(|a| a.0),
            round_robin: assignee.is_some_and(|a| a.1),
        };
        Ok::<_, LeadsError>(
            write
                .leads
                .create(&lead_id.to_string(), command, meta)
                .await?,
        )
    }
    .await;
    match captured {
        Ok(done) => Ok((lead_id, done)),
        Err(e) => {
            contacts::release(&write.db, &keys, lead_id).await?;
            Err(e)
        }
    }
}

/// Checks that no open lead has the new lead's e-mail address or phone number (the read model
/// for leads on file, then the contact register for captures under way) and reserves them for
/// `lead_id`; answers the register keys to release should the capture fail.
pub async fn reserve_contact(
    write: &WriteSide,
    scope: &Option<LeadScope>,
    details: &LeadDetails,
    lead_id: Uuid,
) -> Result<Vec<String>, LeadsError> {
    let email = details.email.as_ref().map(|e| e.as_str());
    let phone = details.phone.as_ref().map(|p| p.as_str());
    claim_contact(write, scope, email, phone, lead_id).await
}

/// Checks that no open lead but `lead_id` has this e-mail address or phone number, and
/// reserves them for `lead_id`; answers the register keys taken.
async fn claim_contact(
    write: &WriteSide,
    scope: &Option<LeadScope>,
    email: Option<&str>,
    phone: Option<&str>,
    lead_id: Uuid,
) -> Result<Vec<String>, LeadsError> {
    let on_file: Vec<_> = write
        .lookups
        .leads_with_contact(email, phone)
        .await?
        .into_iter()
        .filter(|l| l.lead_id != lead_id)
        .collect();
    if !on_file.is_empty() {
        return Err(duplicate(
            scope,
            on_file.iter().map(|l| (l.lead_id, l.assignee)),
        ));
    }
    let keys = contacts::keys(&write.keyring, email, phone);
    reserve_keys(write, scope, &keys, lead_id).await?;
    Ok(keys)
}

/// Reserves register `keys` for `lead_id`, taking over reservations their leads no longer
/// hold; the duplicate answer when another open lead holds one.
async fn reserve_keys(
    write: &WriteSide,
    scope: &Option<LeadScope>,
    keys: &[String],
    lead_id: Uuid,
) -> Result<(), LeadsError> {
    let leads = &write.leads;
    let keyring = &write.keyring;
    let reserved = contacts::reserve(&write.register, keys, lead_id, |holder| async move {
        let (l, _) = leads.load(&holder.to_string()).await?;
        Ok::<_, LeadsError>(if !l.is_captured() {
            contacts::Holder::NotCaptured
        } else if l.is_archived() || l.subject().is_erased() {
            contacts::Holder::Gone
        } else {
            let (e, p) = l.contact();
            contacts::Holder::Holds(contacts::keys(keyring, e, p))
        })
    })
    .await?;
    if let Err(holders) = reserved {
        let mut found = Vec::with_capacity(holders.len());
        for id in holders {
            let (l, _) = write.leads.load(&id.to_string()).await?;
            found.push((id, l.assignee()));
        }
        return Err(duplicate(scope, found.into_iter()));
    }
    Ok(())
}

/// Changes a lead's details. A new e-mail address or phone number must be no other open
/// lead's: checked and reserved as at capture (409 otherwise, nothing changed).
pub async fn update_details(
    write: &WriteSide,
    scope: &Option<LeadScope>,
    lead_id: Uuid,
    patch: domain::lead::LeadDetailsPatch,
    meta: &EventMetadata,
    expected: Option<usize>,
) -> Result<Committed, LeadsError> {
    let new_email = patch.email.clone().flatten();
    let new_phone = patch.phone.clone().flatten();
    let mut keys = Vec::new();
    if new_email.is_some() || new_phone.is_some() {
        let (lead, _) = write.leads.load(&lead_id.to_string()).await?;
        if !lead.is_captured() || !covers_lead(scope, lead.assignee()) {
            return Err(CommandError::Rejected(LeadError::NotFound).into());
        }
        let (email_now, phone_now) = lead.contact();
        let email = new_email
            .as_ref()
            .map(|e| e.as_str())
            .filter(|e| Some(*e) != email_now);
        let phone = new_phone
            .as_ref()
            .map(|p| p.as_str())
            .filter(|p| Some(*p) != phone_now);
        if email.is_some() || phone.is_some() {
            keys = claim_contact(write, scope, email, phone, lead_id).await?;
        }
    }
    match run(
        write,
        scope,
        lead_id,
        LeadCommand::UpdateDetails(patch),
        meta,
        expected,
    )
    .await
    {
        Ok(done) => Ok(done),
        Err(e) => {
            contacts::release(&write.db, &keys, lead_id).await?;
            Err(e.into())
        }
    }
}

/// The duplicate answer for leads on file with the same contact: those the caller may open
/// are named, the others only counted as disclosed.
fn duplicate(
    scope: &Option<LeadScope>,
    found: impl Iterator<Item = (Uuid, Option<Uuid>)>,
) -> LeadsError {
    let (mut visible, mut hidden) = (Vec::new(), Vec::new());
    for (id, assignee) in found {
        if covers_lead(scope, assignee) {
            visible.push(id);
        } else {
            hidden.push(id);
        }
    }
    LeadsError::Duplicate { visible, hidden }
}

/// Assigns the lead to an agent, or to the next in rotation (passing over who has it now).
#[allow(clippy::too_many_arguments)]
pub async fn assign(
    write: &WriteSide,
    actor: &Actor,
    scope: &Option<LeadScope>,
    lead_id: Uuid,
    to: Assignee,
    reason: Option<domain::values::Text>,
    meta: &EventMetadata,
    expected: Option<usize>,
) -> Result<Committed, LeadsError> {
    // The lead must exist and be visible before a round-robin pick takes a turn of the rotation.
    let (lead, _) = write.leads.load(&lead_id.to_string()).await?;
    if !lead.is_captured() || !covers_lead(scope, lead.assignee()) {
        return Err(CommandError::Rejected(LeadError::NotFound).into());
    }
    let agents = check_assignee(write, actor, to).await?;
    let (agent_id, round_robin) = pick_agent(write, actor, to, lead.assignee(), agents).await?;
    let command = LeadCommand::Assign {
        agent_id,
        round_robin,
        reason,
    };
    Ok(run(write, scope, lead_id, command, meta, expected).await?)
}

/// The active agents (relationship and branch managers) `actor` may assign leads to.
pub async fn assignable(
    write: &WriteSide,
    actor: &Actor,
) -> Result<Vec<(Uuid, Role)>, LookupError> {
    if actor.role == Role::RelationshipManager {
        return Ok(vec![(actor.user_id, actor.role)]);
    }
    let branch = match actor.role {
        Role::Admin => None,
        Role::BranchManager => match &actor.branch {
            Some(b) => Some(b.as_str()),
            None => return Ok(Vec::new()),
        },
        _ => return Ok(Vec::new()),
    };
    let staff = write.lookups.active_staff(branch).await?;
    Ok(staff
        .into_iter()
        .filter(|s| matches!(s.role, Role::RelationshipManager | Role::BranchManager))
        .map(|s| (s.user_id, s.role))
        .collect())
}

/// The agents `actor` may assign to, once the one wanted is known to be among them (or, for
/// the rotation, that there is one).
async fn check_assignee(
    write: &WriteSide,
    actor: &Actor,
    wanted: Assignee,
) -> Result<Vec<(Uuid, Role)>, LeadsError> {
    let agents = assignable(write, actor).await?;
    match wanted {
        Assignee::Agent(a) if !agents.iter().any(|(id, _)| *id == a) => {
            Err(LeadsError::NotAssignable)
        }
        Assignee::RoundRobin if !agents.iter().any(|(_, r)| *r == Role::RelationshipManager) => {
            Err(LeadsError::NoActiveAgents)
        }
        _ => Ok(agents),
    }
}

/// The agent who gets a lead, and whether the rotation chose them, from the agents the actor
/// may assign to ([`check_assignee`]).
async fn pick_agent(
    write: &WriteSide,
    actor: &Actor,
    wanted: Assignee,
    current: Option<Uuid>,
    agents: Vec<(Uuid, Role)>,
) -> Result<(Uuid, bool), LeadsError> {
    if let Assignee::Agent(a) = wanted {
        return Ok((a, false));
    }
    // The rotation goes round the relationship managers (of the branch, for a manager).
    // A reassignment by round-robin passes over the agent who has the lead now, and stays in
    // the lead's branch (its agent's).
    let mut rotation: Vec<Uuid> = agents
        .iter()
        .filter(|(id, r)| *r == Role::RelationshipManager && Some(*id) != current)
        .map(|(id, _)| *id)
        .collect();
    let lead_branch = match current {
        Some(agent) => write
            .lookups
            .staff_member(agent)
            .await?
            .and_then(|m| m.branch),
        None => None,
    };
    let branch = lead_branch.or_else(|| match actor.role {
        Role::BranchManager => actor.branch.clone(),
        _ => None,
    });
    let name = match &branch {
        Some(b) => {
            let members = write.lookups.branch_members(b).await?;
            rotation.retain(|id| members.contains(id));
            format!("leads:{b}")
        }
        None => "leads".to_string(),
    };
    match assignment::next_agent(&write.db, &name, &rotation).await? {
        Some(a) => Ok((a, true)),
        None => Err(LeadsError::NoActiveAgents),
    }
}
