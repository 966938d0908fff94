//! Client use cases: onboarding (one client per PAN, from a converted lead or new), any other
//! command on a client the caller may see, and the records kept beside the log (the PAN
//! register, the sealed document files).

pub mod onboarding;
mod records;

pub use onboarding::{onboard, NewClient};
pub use records::*;

use domain::access::ClientScope;
use domain::client::{Client, ClientCommand, ClientError};
use store::{EventMetadata, StoreError};
use uuid::Uuid;

use crate::lookups::LookupError;
use crate::{CommandError, Committed, WriteSide};

#[derive(Debug, thiserror::Error)]
pub enum ClientsError {
    #[error(transparent)]
    Command(#[from] CommandError<ClientError>),
    /// Reading the lead the client comes from failed.
    #[error(transparent)]
    Lead(#[from] CommandError<domain::lead::LeadError>),
    /// A value that is valid on its own does not fit (the field, and why).
    #[error("{field}: {message}")]
    Invalid {
        field: &'static str,
        message: &'static str,
    },
    /// The caller may not put a client there (another branch, another agent's book).
    #[error("{0}")]
    OutsideBook(&'static str),
    /// The person asked for erasure: they are not onboarded.
    #[error("the person asked for erasure: they are not onboarded")]
    Restricted,
    #[error("the client this lead became is already onboarded")]
    AlreadyOnboarded,
    /// Another client has this PAN; `visible` names it if the caller may open it.
    #[error("a client with this PAN is already on file")]
    DuplicatePan { visible: Vec<Uuid> },
    #[error(transparent)]
    Lookup(#[from] LookupError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Runs `command` on the client `client_id` for a caller who sees `scope`: a client outside it
/// answers as if it did not exist. `expected` is the version the caller last saw (If-Match).
pub async fn run(
    write: &WriteSide,
    scope: &ClientScope,
    client_id: Uuid,
    command: ClientCommand,
    meta: &EventMetadata,
    expected: Option<usize>,
) -> Result<Committed, CommandError<ClientError>> {
    let scope = scope.clone();
    let guard = move |c: &Client| {
        if !c.is_onboarded() || scope.covers_client(c) {
            Ok(())
        } else {
            Err(ClientError::NotFound)
        }
    };
    write
        .clients
        .execute_guarded(&client_id.to_string(), command, meta, expected, &guard)
        .await
}

/// Gives the client `manager` to look after them: an active relationship or branch manager of
/// the client's branch.
pub async fn assign_manager(
    write: &WriteSide,
    scope: &ClientScope,
    client_id: Uuid,
    manager: Uuid,
    meta: &EventMetadata,
    expected: Option<usize>,
) -> Result<Committed, ClientsError> {
    let (client, _) = write.clients.load(&client_id.to_string()).await?;
    if !client.is_onboarded() || !scope.covers_client(&client) {
        return Err(CommandError::Rejected(ClientError::NotFound).into());
    }
    let branch = client.branch().map(|b| b.as_str()).unwrap_or_default();
    let serves = write
        .lookups
        .staff_member(manager)
        .await?
        .is_some_and(|m| m.serves(branch));
    if !serves {
        return Err(ClientsError::Invalid {
            field: "relationship_manager",
            message: onboarding::NOT_SERVING,
        });
    }
    let command = ClientCommand::AssignRelationshipManager {
        manager_id: manager,
    };
    Ok(run(write, scope, client_id, command, meta, expected).await?)
}
