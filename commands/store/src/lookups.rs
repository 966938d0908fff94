//! What the write side needs to know from the read models (staff and their branches, leads
//! already on file, what retention should look at): a port the read side implements
//! (`projections::lookups::ReadModels`), so that the use cases never depend on the projections.

use domain::user::Role;
use futures::future::BoxFuture;
use uuid::Uuid;

/// A read-model lookup that failed (the database, or a row that could not be read).
#[derive(Debug, thiserror::Error)]
#[error("read model lookup failed: {0}")]
pub struct LookupError(#[source] pub Box<dyn std::error::Error + Send + Sync>);

impl LookupError {
    pub fn new(e: impl std::error::Error + Send + Sync + 'static) -> Self {
        Self(Box::new(e))
    }
}

pub type Lookup<'a, T> = BoxFuture<'a, Result<T, LookupError>>;

/// A member of staff as the users read model shows them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StaffMember {
    pub user_id: Uuid,
    pub role: Role,
    pub branch: Option<String>,
    pub active: bool,
}

impl StaffMember {
    /// Whether they may look after clients and work leads of `branch`.
    pub fn serves(&self, branch: &str) -> bool {
        self.active
            && self.branch.as_deref() == Some(branch)
            && matches!(self.role, Role::RelationshipManager | Role::BranchManager)
    }
}

/// A lead the read model found by a contact detail: its id and who it is assigned to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LeadOnFile {
    pub lead_id: Uuid,
    pub assignee: Option<Uuid>,
}

/// A client the retention run watches: its id, and whether the person asked for erasure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientWatched {
    pub client_id: Uuid,
    pub erasure_asked: bool,
}

pub trait Lookups: Send + Sync + 'static {
    /// The staff member `user_id`, if there is one.
    fn staff_member(&self, user_id: Uuid) -> Lookup<'_, Option<StaffMember>>;
    /// Active staff, of `branch` only when given.
    fn active_staff<'a>(&'a self, branch: Option<&'a str>) -> Lookup<'a, Vec<StaffMember>>;
    /// The active relationship and branch managers of `branch`.
    fn branch_members<'a>(&'a self, branch: &'a str) -> Lookup<'a, Vec<Uuid>>;
    /// Leads with this e-mail address or phone number.
    fn leads_with_contact<'a>(
        &'a self,
        email: Option<&'a str>,
        phone: Option<&'a str>,
    ) -> Lookup<'a, Vec<LeadOnFile>>;
    /// Prospects (leads that never became clients) who asked for erasure and are not erased.
    fn lead_erasures_due(&self) -> Lookup<'_, Vec<String>>;
    /// Clients whose relationship ended or who asked for erasure, not yet erased.
    fn clients_to_watch(&self) -> Lookup<'_, Vec<ClientWatched>>;
    /// How many events the slowest of `projections` has yet to apply (at most 1,000 counted).
    fn lag_of<'a>(&'a self, projections: &'a [&'a str]) -> Lookup<'a, i64>;
    /// Active clients with no activity (onboarding, reactivation, reopening, a trade) on or
    /// after `cutoff`, each with the day of their last activity.
    fn dormant_clients(
        &self,
        cutoff: chrono::NaiveDate,
    ) -> Lookup<'_, Vec<(Uuid, chrono::NaiveDate)>>;
    /// Clients with a verified KYC whose re-KYC or a document's expiry falls by `by`.
    fn kyc_to_check(&self, by: chrono::NaiveDate) -> Lookup<'_, Vec<Uuid>>;
}
