//! Who may do what: the one table where roles meet actions, and the scopes that say which
//! records a caller may see. Pure rules; the layers above ask them before acting.
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
//!
//! KYC: those who serve a client file its documents, its risk profile and submit its case;
//! compliance officers (and admins) review and decide cases, which the maker-checker rule in
//! the KYC aggregate keeps from whoever made something in the case.

mod record;

pub use record::{AccessCommand, AccessError, AccessEvent, AccessKind, PiiAccess, EVENT_TABLES};

use uuid::Uuid;

use crate::user::Role;

/// Everything a caller can ask to do.
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
    /// File KYC documents, record the risk profile, submit a case.
    KycPrepare,
    KycRead,
    /// Review and decide cases, see the review queue, record KRA status and CKYC number.
    KycDecide,
    /// Record and correct trades, record the risk questionnaire.
    TradeRecord,
    /// See trades, portfolios and prices.
    PortfolioRead,
    /// Record a price by hand.
    PriceRecord,
    /// Issue, list and revoke the keys web forms and partners capture leads with.
    CaptureKeyManage,
    /// Export lead and client lists as CSV (each person exported is recorded as an access).
    RecordsExport,
    /// Import leads from a file (admins: duplicates are checked against every lead).
    LeadImport,
    /// Merge a duplicate lead into another lead or a client, and undo a merge (a data-quality
    /// step for managers: it changes two records at once).
    RecordMerge,
    /// The sales report: the pipeline, conversions, sources and the agents' table, over the
    /// leads the caller may see.
    SalesReport,
    /// The compliance report: KYC, reads of personal data by staff member and by person,
    /// erasure requests, legal holds and the audit ledger.
    ComplianceReport,
    /// Generate a month's compliance pack, list the packs and read their files.
    CompliancePack,
    /// See the notification outbox and send dead letters back to the queue (admins).
    NotificationsManage,
}

/// Whether `role` may do `action` at all (record-level checks come after, through the scopes).
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
                | KycPrepare
                | KycRead
                | TradeRecord
                | PortfolioRead
                | RecordsExport
                | RecordMerge
                | SalesReport
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
                | KycPrepare
                | KycRead
                | TradeRecord
                | PortfolioRead
                | SalesReport
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
                | KycRead
                | KycDecide
                | PortfolioRead
                | RecordsExport
                | ComplianceReport
                | CompliancePack
        ),
        Auditor => matches!(action, AuditExport | HistoryRead | CompliancePack),
    }
}

/// The roles that work leads and clients for sales (and so lose sight of people who asked for
/// erasure).
pub fn sells(role: Role) -> bool {
    matches!(role, Role::BranchManager | Role::RelationshipManager)
}

/// The staff member a command or query acts for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actor {
    pub user_id: Uuid,
    pub role: Role,
    pub branch: Option<String>,
}

impl Actor {
    pub fn may(&self, action: Action) -> bool {
        allows(self.role, action)
    }

    pub fn sells(&self) -> bool {
        sells(self.role)
    }

    /// Which clients this actor may see: a relationship manager those they look after, a
    /// branch manager their branch's, compliance and admins all, auditors none.
    pub fn client_scope(&self) -> ClientScope {
        match self.role {
            Role::Admin | Role::ComplianceOfficer => ClientScope::All,
            Role::RelationshipManager => ClientScope::Manager(self.user_id),
            Role::BranchManager => match &self.branch {
                Some(b) => ClientScope::Branch(b.clone()),
                None => ClientScope::Nothing,
            },
            Role::Auditor => ClientScope::Nothing,
        }
    }

    /// Which leads this actor may see, given the members of their branch (asked only of a
    /// branch manager): `None` for every lead.
    pub fn lead_scope(&self, branch_members: &[Uuid]) -> Option<LeadScope> {
        match self.role {
            Role::Admin | Role::ComplianceOfficer => None,
            Role::RelationshipManager => Some(LeadScope {
                agents: vec![self.user_id],
                unassigned: false,
            }),
            Role::BranchManager => {
                let mut agents = branch_members.to_vec();
                if !agents.contains(&self.user_id) {
                    agents.push(self.user_id);
                }
                Some(LeadScope {
                    agents,
                    unassigned: true,
                })
            }
            Role::Auditor => Some(LeadScope::default()),
        }
    }
}

/// Which leads a caller may see: those assigned to `agents`, and unassigned ones if
/// `unassigned`. `None` where one is expected means every lead.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LeadScope {
    pub agents: Vec<Uuid>,
    pub unassigned: bool,
}

/// Whether a lead assigned to `assignee` is inside `scope` (`None`: every lead).
pub fn covers_lead(scope: &Option<LeadScope>, assignee: Option<Uuid>) -> bool {
    match (scope, assignee) {
        (None, _) => true,
        (Some(v), Some(a)) => v.agents.contains(&a),
        (Some(v), None) => v.unassigned,
    }
}

/// Which clients a caller may see.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClientScope {
    All,
    /// Those this relationship manager looks after.
    Manager(Uuid),
    /// Those of a branch (its manager).
    Branch(String),
    Nothing,
}

impl ClientScope {
    /// Whether a client with this branch and relationship manager is in scope.
    pub fn covers(&self, branch: Option<&str>, manager: Option<Uuid>) -> bool {
        match self {
            Self::All => true,
            Self::Manager(m) => manager == Some(*m),
            Self::Branch(b) => branch == Some(b.as_str()),
            Self::Nothing => false,
        }
    }

    /// Whether the client (as its aggregate folds it) is in scope.
    pub fn covers_client(&self, c: &crate::client::Client) -> bool {
        self.covers(c.branch().map(|b| b.as_str()), c.relationship_manager())
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
        let mine = Some(LeadScope {
            agents: vec![a],
            unassigned: false,
        });
        assert!(covers_lead(&mine, Some(a)));
        assert!(!covers_lead(&mine, Some(b)));
        assert!(!covers_lead(&mine, None));
        assert!(covers_lead(&None, Some(b)));
        let pool = Some(LeadScope {
            agents: vec![],
            unassigned: true,
        });
        assert!(covers_lead(&pool, None));
        assert!(!covers_lead(&pool, Some(a)));
    }

    #[test]
    fn scopes_follow_the_role() {
        let me = Uuid::from_u128(7);
        let other = Uuid::from_u128(8);
        let actor = |role, branch: Option<&str>| Actor {
            user_id: me,
            role,
            branch: branch.map(str::to_string),
        };
        let manager = actor(Role::BranchManager, Some("MUM-01"));
        let scope = manager.lead_scope(&[other]);
        assert!(covers_lead(&scope, Some(me)) && covers_lead(&scope, Some(other)));
        assert!(covers_lead(&scope, None));
        assert_eq!(manager.client_scope(), ClientScope::Branch("MUM-01".into()));
        assert_eq!(
            actor(Role::BranchManager, None).client_scope(),
            ClientScope::Nothing
        );
        let agent = actor(Role::RelationshipManager, Some("MUM-01"));
        assert!(!covers_lead(&agent.lead_scope(&[]), None));
        assert!(agent.client_scope().covers(Some("DEL-01"), Some(me)));
        assert!(!agent.client_scope().covers(Some("MUM-01"), Some(other)));
        assert_eq!(actor(Role::ComplianceOfficer, None).lead_scope(&[]), None);
        assert!(!covers_lead(
            &actor(Role::Auditor, None).lead_scope(&[]),
            None
        ));
        assert!(sells(Role::BranchManager) && !sells(Role::ComplianceOfficer));
    }
}
