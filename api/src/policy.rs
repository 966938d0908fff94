//! Access at the HTTP edge: the role table and the scopes are domain rules
//! ([`domain::access`]); this module asks them for a signed-in [`Principal`], answers 403 when
//! the role may not act, and masks what sales roles may no longer see.

pub use domain::access::{sells, Action};
use domain::access::{ClientScope, LeadScope};
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

/// A client as `principal` may see it: sales roles lose sight of the person's data once they
/// asked for erasure.
pub fn shown_client(
    principal: &Principal,
    view: projections::clients::ClientView,
) -> projections::clients::ClientView {
    if client_restricted_for(principal, &view) {
        masked_client(view)
    } else {
        view
    }
}

/// Whether `principal` may no longer see the personal data of the client whose current state
/// is `now` (the person asked for erasure and they work in sales).
pub fn client_restricted_for(
    principal: &Principal,
    now: &projections::clients::ClientView,
) -> bool {
    sells(principal.role) && now.restricted()
}

/// The client's view with its personal data replaced by [`RESTRICTED`].
pub fn masked_client(view: projections::clients::ClientView) -> projections::clients::ClientView {
    let mut doc = serde_json::to_value(&view).expect("a view serializes");
    store::privacy::Keyring::mask(&mut doc, projections::clients::PERSONAL, RESTRICTED);
    serde_json::from_value(doc).unwrap_or(view)
}

/// What personal data reads as for a sales role once its subject asked for erasure.
pub const RESTRICTED: &str = "[restricted]";

/// A lead as `principal` may see it: once erasure was asked for (processing restricted until
/// the shred), sales roles no longer see the person's data; compliance and admins still do.
pub fn shown(
    principal: &Principal,
    view: projections::leads::LeadView,
) -> projections::leads::LeadView {
    if restricted_for(principal, &view) {
        masked(view)
    } else {
        view
    }
}

/// Whether `principal` may no longer see the personal data of the lead whose current state
/// is `now` (its processing is restricted and they work in sales).
pub fn restricted_for(principal: &Principal, now: &projections::leads::LeadView) -> bool {
    sells(principal.role)
        && now.privacy.erasure_requested_at.is_some()
        && now.privacy.erased_at.is_none()
}

/// The view with its personal data replaced by [`RESTRICTED`].
pub fn masked(view: projections::leads::LeadView) -> projections::leads::LeadView {
    let mut doc = serde_json::to_value(&view).expect("a view serializes");
    store::privacy::Keyring::mask(&mut doc, projections::leads::PERSONAL, RESTRICTED);
    serde_json::from_value(doc).unwrap_or(view)
}

/// Whether a lead assigned to `assignee` is inside `visible`.
pub fn covers(visible: &Option<LeadScope>, assignee: Option<Uuid>) -> bool {
    domain::access::covers_lead(visible, assignee)
}
