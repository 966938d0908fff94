//! Access at the HTTP edge: the role table and the scopes are domain rules
//! ([`domain::access`]); this module asks them for a signed-in [`Principal`], answers 403 when
//! the role may not act, and masks what sales roles may no longer see.

pub use domain::access::{sells, Action};
use domain::access::{ClientScope, LeadScope};
use projections::sealed::SealedDocument;
use uuid::Uuid;

use crate::auth::Principal;
use crate::http::AppState;
use crate::problem::ApiError;

/// 403 unless the caller's role allows `action`.
pub fn require(principal: &Principal, action: Action) -> Result<(), ApiError> {
    if domain::access::allows(principal.role, action) {
        Ok(())
    } else {
        let role = principal.role.as_str().replace('_', " ");
        let article = if role.starts_with(['a', 'e', 'i', 'o', 'u']) {
            "an"
        } else {
            "a"
        };
        Err(ApiError::forbidden(format!(
            "{article} {role} may not do this"
        )))
    }
}

/// Which leads the caller may see: `None` for all of them.
pub async fn scope(state: &AppState, principal: &Principal) -> Result<Option<LeadScope>, ApiError> {
    let members = match (principal.role, &principal.branch) {
        (domain::user::Role::BranchManager, Some(b)) => {
            projections::users::branch_members(&state.db, b)
                .await
                .map_err(ApiError::internal)?
        }
        _ => Vec::new(),
    };
    Ok(principal.actor().lead_scope(&members))
}

/// Which clients the caller may see.
pub fn client_scope(principal: &Principal) -> ClientScope {
    principal.actor().client_scope()
}

/// A lead or client as `principal` may see it (see [`projections::sealed::shown`]).
pub fn shown<V: SealedDocument>(principal: &Principal, view: V) -> V {
    projections::sealed::shown(principal.role, view)
}

/// Whether `principal` may no longer see the personal data of the record whose current state
/// is `now`.
pub fn restricted_for<V: SealedDocument>(principal: &Principal, now: &V) -> bool {
    projections::sealed::restricted_for(principal.role, now)
}

pub use projections::sealed::{masked, RESTRICTED};

/// Whether a lead assigned to `assignee` is inside `visible`.
pub fn covers(visible: &Option<LeadScope>, assignee: Option<Uuid>) -> bool {
    domain::access::covers_lead(visible, assignee)
}
