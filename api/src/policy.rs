//! Who may do what: the one place where roles meet actions and records. Handlers ask
//! [`require`] before acting and [`scope`] for which leads the caller may see; nothing else
//! decides access.
//!
//! | role | may |
//! |---|---|
//! | admin | everything, users included |
//! | branch manager | leads of their branch's agents and unassigned leads; assign within the branch |
//! | relationship manager | only leads assigned to them; capture leads; log interactions |
//! | compliance officer | read every lead, its history and the audit history; privacy actions; no sales edits |
//! | auditor | read-only: audit export, history |
//!
//! Clients: a relationship manager sees and serves the clients they look after (onboard, edit,
//! upload documents); a branch manager their branch's, and also assigns and closes; compliance
//! reads every client and its documents and closes accounts; auditors see none.

use domain::user::Role;
use projections::clients::query::ClientScope;
use projections::leads::query::Visible;
use uuid::Uuid;

use crate::auth::Principal;
use crate::http::AppState;
use crate::problem::ApiError;

/// Everything an endpoint can ask to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    LeadCapture,
    LeadRead,
    LeadHistory,
    LeadEdit,
    LeadAssign,
    LeadArchive,
    ConsentManage,
    ErasureRequest,
    LegalHold,
    SubjectExport,
    UserRead,
    UserManage,
    AgentList,
    AuditExport,
    HistoryRead,
    ClientOnboard,
    ClientRead,
    ClientEdit,
    ClientAssign,
    ClientClose,
    DocumentUpload,
    DocumentRead,
    MarketingAudience,
}

/// Whether `role` may do `action` at all (record-level checks come after, through [`scope`]).
pub fn allows(role: Role, action: Action) -> bool {
    use Action::*;
    use Role::*;
    match role {
        Admin => true,
        BranchManager => matches!(
            action,
            LeadCapture
                | LeadRead
                | LeadHistory
                | LeadEdit
                | LeadAssign
                | LeadArchive
                | ConsentManage
                | UserRead
                | AgentList
                | ClientOnboard
                | ClientRead
                | ClientEdit
                | ClientAssign
                | ClientClose
                | DocumentUpload
                | DocumentRead
                | MarketingAudience
        ),
        RelationshipManager => matches!(
            action,
            LeadCapture
                | LeadRead
                | LeadHistory
                | LeadEdit
                | ConsentManage
                | AgentList
                | ClientOnboard
                | ClientRead
                | ClientEdit
                | DocumentUpload
                | DocumentRead
        ),
        ComplianceOfficer => matches!(
            action,
            LeadRead
                | LeadHistory
                | ConsentManage
                | ErasureRequest
                | LegalHold
                | SubjectExport
                | HistoryRead
                | UserRead
                | ClientRead
                | ClientClose
                | DocumentRead
        ),
        Auditor => matches!(action, AuditExport | HistoryRead),
    }
}

/// 403 unless the caller's role allows `action`.
pub fn require(principal: &Principal, action: Action) -> Result<(), ApiError> {
    if allows(principal.role, action) {
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
pub async fn scope(state: &AppState, principal: &Principal) -> Result<Option<Visible>, ApiError> {
    Ok(match principal.role {
        Role::Admin | Role::ComplianceOfficer => None,
        Role::RelationshipManager => Some(Visible {
            agents: vec![principal.user_id],
            unassigned: false,
        }),
        Role::BranchManager => {
            let mut agents = match &principal.branch {
                Some(b) => projections::users::branch_members(&state.db, b)
                    .await
                    .map_err(ApiError::internal)?,
                None => Vec::new(),
            };
            if !agents.contains(&principal.user_id) {
                agents.push(principal.user_id);
            }
            Some(Visible {
                agents,
                unassigned: true,
            })
        }
        Role::Auditor => Some(Visible::default()),
    })
}

/// Which clients the caller may see: a relationship manager those they look after, a branch
/// manager their branch's, compliance and admins all, auditors none.
pub fn client_scope(principal: &Principal) -> ClientScope {
    match principal.role {
        Role::Admin | Role::ComplianceOfficer => ClientScope::All,
        Role::RelationshipManager => ClientScope::Manager(principal.user_id),
        Role::BranchManager => match &principal.branch {
            Some(b) => ClientScope::Branch(b.clone()),
            None => ClientScope::Nothing,
        },
        Role::Auditor => ClientScope::Nothing,
    }
}

/// A client as `principal` may see it: sales roles lose sight of the person's data once they
/// asked for erasure.
pub fn shown_client(
    principal: &Principal,
    view: projections::clients::ClientView,
) -> projections::clients::ClientView {
    if sells(principal.role) && view.restricted() {
        let mut doc = serde_json::to_value(&view).expect("a view serializes");
        store::privacy::Keyring::mask(&mut doc, projections::clients::PERSONAL, RESTRICTED);
        serde_json::from_value(doc).unwrap_or(view)
    } else {
        view
    }
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

/// The roles that work leads for sales (and so lose sight of people who asked for erasure).
pub fn sells(role: Role) -> bool {
    matches!(role, Role::BranchManager | Role::RelationshipManager)
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
pub fn covers(visible: &Option<Visible>, assignee: Option<Uuid>) -> bool {
    match (visible, assignee) {
        (None, _) => true,
        (Some(v), Some(a)) => v.agents.contains(&a),
        (Some(v), None) => v.unassigned,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_admins_manage_users_and_auditors_never_edit() {
        for role in Role::ALL {
            assert_eq!(allows(*role, Action::UserManage), *role == Role::Admin);
            if *role == Role::Auditor {
                for a in [
                    Action::LeadCapture,
                    Action::LeadEdit,
                    Action::LeadRead,
                    Action::ConsentManage,
                    Action::LegalHold,
                ] {
                    assert!(!allows(*role, a), "auditor may not {a:?}");
                }
            }
        }
        assert!(!allows(Role::ComplianceOfficer, Action::LeadEdit));
        assert!(!allows(Role::RelationshipManager, Action::LeadAssign));
        assert!(allows(Role::BranchManager, Action::LeadAssign));
    }

    #[test]
    fn a_scope_covers_its_agents_and_unassigned_leads_only_if_it_says_so() {
        let a = Uuid::from_u128(1);
        let b = Uuid::from_u128(2);
        let mine = Some(Visible {
            agents: vec![a],
            unassigned: false,
        });
        assert!(covers(&mine, Some(a)));
        assert!(!covers(&mine, Some(b)));
        assert!(!covers(&mine, None));
        assert!(covers(&None, Some(b)));
        let pool = Some(Visible {
            agents: vec![],
            unassigned: true,
        });
        assert!(covers(&pool, None));
        assert!(!covers(&pool, Some(a)));
    }
}
