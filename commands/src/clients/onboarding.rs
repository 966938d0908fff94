//! Onboarding a client: into a staffed branch the caller works in, with a relationship manager
//! who serves it, one client per PAN (reserved in the PAN register before the event), and from
//! a converted lead the caller may see, whose conversion named the client's id.

use domain::access::{covers_lead, Actor, LeadScope};
use domain::client::{ClientCommand, ClientDetails, ClientProfile};
use domain::user::{Branch, Role};
use store::EventMetadata;
use uuid::Uuid;

use super::{records, ClientsError};
use crate::{Committed, WriteSide};

/// A client to onboard, its values validated.
#[derive(Debug, Clone)]
pub struct NewClient {
    /// The converted lead the client comes from.
    pub lead_id: Option<Uuid>,
    pub profile: ClientProfile,
    /// The branch; by default the caller's own.
    pub branch: Option<Branch>,
    /// Who looks after the client; by default the agent onboarding them, else the agent who
    /// worked the lead if they serve the branch.
    pub relationship_manager: Option<Uuid>,
    /// What else the client declared.
    pub details: ClientDetails,
}

pub(crate) const NOT_SERVING: &str =
    "must be an active relationship or branch manager of the client's branch";

/// Onboards the client; answers their id and where the event landed.
pub async fn onboard(
    write: &WriteSide,
    actor: &Actor,
    lead_scope: &Option<LeadScope>,
    new: NewClient,
    meta: &EventMetadata,
) -> Result<(Uuid, Committed), ClientsError> {
    let branch = match new
        .branch
        .or_else(|| actor.branch.as_deref().and_then(|b| Branch::parse(b).ok()))
    {
        Some(b) => b,
        None => {
            return Err(ClientsError::Invalid {
                field: "branch",
                message: "required (you belong to no branch)",
            })
        }
    };
    // Sales roles onboard into what they may see: their branch, their own book.
    if actor.role == Role::RelationshipManager && actor.branch.as_deref() != Some(branch.as_str()) {
        return Err(ClientsError::OutsideBook(
            "you may onboard clients only into your own branch",
        ));
    }
    if write
        .lookups
        .branch_members(branch.as_str())
        .await?
        .is_empty()
    {
        return Err(ClientsError::Invalid {
            field: "branch",
            message: "no relationship or branch manager works in this branch",
        });
    }
    let (client_id, lead_assignee) = match new.lead_id {
        Some(lead_id) => from_lead(write, lead_scope, lead_id).await?,
        None => (Uuid::now_v7(), None),
    };
    let manager = match (new.relationship_manager, actor.role) {
        (Some(m), _) => {
            if !serves(write, m, &branch).await? {
                return Err(ClientsError::Invalid {
                    field: "relationship_manager",
                    message: NOT_SERVING,
                });
            }
            Some(m)
        }
        (None, Role::RelationshipManager) => Some(actor.user_id),
        (None, _) => match lead_assignee {
            Some(a) if serves(write, a, &branch).await? => Some(a),
            _ => None,
        },
    };
    let scope = actor.client_scope();
    if !scope.covers(Some(branch.as_str()), manager) {
        return Err(ClientsError::OutsideBook(
            "you may onboard clients only into your own branch and book",
        ));
    }
    let pan = new.profile.pan.as_str().to_string();
    reserve(write, &scope, &pan, client_id).await?;
    let command = ClientCommand::Onboard {
        client_id,
        lead_id: new.lead_id,
        profile: new.profile,
        branch,
        relationship_manager: manager,
        details: new.details,
    };
    match write
        .clients
        .create(&client_id.to_string(), command, meta)
        .await
    {
        Ok(done) => Ok((client_id, done)),
        Err(e) => {
            records::release_pan(&write.db, &write.keyring, &pan, client_id).await?;
            Err(e.into())
        }
    }
}

/// Whether `user` is an active relationship or branch manager of `branch`.
async fn serves(write: &WriteSide, user: Uuid, branch: &Branch) -> Result<bool, ClientsError> {
    let member = write.lookups.staff_member(user).await?;
    Ok(member.is_some_and(|m| m.serves(branch.as_str())))
}

/// The client id a converted lead named, and who worked the lead. The lead is folded from its
/// events, so a conversion a moment ago counts.
async fn from_lead(
    write: &WriteSide,
    scope: &Option<LeadScope>,
    lead_id: Uuid,
) -> Result<(Uuid, Option<Uuid>), ClientsError> {
    let (lead, _) = write.leads.load(&lead_id.to_string()).await?;
    if !lead.is_captured() || !covers_lead(scope, lead.assignee()) {
        return Err(ClientsError::Invalid {
            field: "lead_id",
            message: "no such lead",
        });
    }
    if lead.erasure_requested() {
        return Err(ClientsError::Restricted);
    }
    let client_id = lead.converted_to().ok_or(ClientsError::Invalid {
        field: "lead_id",
        message: "the lead is not converted; convert it first",
    })?;
    let (existing, _) = write.clients.load(&client_id.to_string()).await?;
    if existing.is_onboarded() {
        return Err(ClientsError::AlreadyOnboarded);
    }
    Ok((client_id, lead.assignee()))
}

/// Reserves the PAN for the client, or says who has it.
async fn reserve(
    write: &WriteSide,
    scope: &domain::access::ClientScope,
    pan: &str,
    client_id: Uuid,
) -> Result<(), ClientsError> {
    let clients = &write.clients;
    let reservation = records::reserve_pan(
        &write.db,
        &write.keyring,
        pan,
        client_id,
        |holder| async move {
            clients
                .load(&holder.to_string())
                .await
                .map(|(c, _)| c.is_onboarded())
                .map_err(ClientsError::from)
        },
    )
    .await?;
    match reservation {
        records::Reservation::Reserved => Ok(()),
        records::Reservation::ClientHasAnother => Err(ClientsError::AlreadyOnboarded),
        records::Reservation::TakenBy(holder) => {
            // Only a client the caller may open is named; that one exists is said either way
            // (onboarding them twice would split their records).
            let (existing, _) = write.clients.load(&holder.to_string()).await?;
            let visible = if existing.is_onboarded() && scope.covers_client(&existing) {
                vec![holder]
            } else {
                Vec::new()
            };
            Err(ClientsError::DuplicatePan { visible })
        }
    }
}
