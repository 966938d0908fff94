//! The User aggregate: a member of staff who signs in, with a role that decides what they may
//! do, their branch and manager, their password hash, failed-login lockout and the refresh
//! token families they hold. Passwords are hashed before they reach a command; only the hash is
//! ever in an event.

mod commands;
mod errors;
mod events;
mod personal;
#[cfg(test)]
mod tests;

pub use commands::UserCommand;
pub use errors::UserError;
pub use events::UserEvent;
pub use personal::EVENT_TABLES;

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, Utc};
use cqrs_es::event_sink::EventSink;
use cqrs_es::{Aggregate, DomainEvent};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::values::{Email, InvalidValue, PersonName};
use crate::Clock;

snake_enum!(
    /// What a member of staff is; the access policy maps roles to what they may do.
    Role {
        Admin => "admin",
        BranchManager => "branch_manager",
        RelationshipManager => "relationship_manager",
        ComplianceOfficer => "compliance_officer",
        Auditor => "auditor"
    }
);

impl Role {
    /// Roles that work leads and clients within a branch need one.
    pub fn needs_branch(self) -> bool {
        matches!(self, Role::BranchManager | Role::RelationshipManager)
    }
}

/// A branch code such as `MUM-ANDHERI`: 1 to 40 letters, digits, `-` or `_`, kept upper-case.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Branch(String);

impl Branch {
    pub fn parse(raw: &str) -> Result<Self, InvalidValue> {
        let s = raw.trim().to_uppercase();
        if s.is_empty()
            || s.len() > 40
            || !s
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        {
            return Err(InvalidValue::new(
                "a branch code has 1 to 40 letters, digits, '-' or '_'",
            ));
        }
        Ok(Self(s))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Failed logins within this window count towards a lockout.
pub const LOCKOUT_WINDOW_MINUTES: i64 = 15;
/// This many failures within the window lock the account.
pub const LOCKOUT_THRESHOLD: usize = 5;
/// How long a lockout lasts.
pub const LOCKOUT_MINUTES: i64 = 15;
/// This many failures within the window, from whatever addresses, lock the account from
/// every address (someone trying from many addresses).
pub const ACCOUNT_LOCKOUT_THRESHOLD: usize = 20;
/// The key of a lock that holds for every address.
const EVERYWHERE: &str = "*";

/// Whether a failure at `at` still counts towards a lockout at `now`.
pub fn in_lockout_window(at: DateTime<Utc>, now: DateTime<Utc>) -> bool {
    at > now - Duration::minutes(LOCKOUT_WINDOW_MINUTES)
}

/// Until when a failure at `now` locks, given how many failures within the window (this one
/// included) count towards the lockout and the threshold they must reach.
pub fn lock_after(failures: usize, threshold: usize, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
    (failures >= threshold).then(|| now + Duration::minutes(LOCKOUT_MINUTES))
}

/// The checks a new password must pass (its hash is made only after them).
pub fn check_password(password: &str, email: &Email) -> Result<(), InvalidValue> {
    let chars = password.chars().count();
    if chars < 12 {
        return Err(InvalidValue::new("a password has at least 12 characters"));
    }
    if chars > 256 {
        return Err(InvalidValue::new("a password has at most 256 characters"));
    }
    if password.trim().to_lowercase() == email.as_str() {
        return Err(InvalidValue::new(
            "the password must not be the e-mail address",
        ));
    }
    Ok(())
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UserProfile {
    pub email: Email,
    pub name: PersonName,
    pub role: Role,
    pub branch: Option<Branch>,
    pub manager_id: Option<Uuid>,
}

#[derive(Debug, Clone)]
pub struct UserServices {
    pub clock: Clock,
}

/// One login's chain of refresh tokens: only the newest hash is valid; the older ones are kept
/// to recognise reuse.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Family {
    pub current: String,
    pub used: Vec<String>,
    pub expires_at: Option<DateTime<Utc>>,
    pub revoked: bool,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct User {
    pub id: Option<Uuid>,
    pub profile: Option<UserProfile>,
    pub password_hash: String,
    pub must_change_password: bool,
    pub active: bool,
    /// Bumped by every change that invalidates access tokens issued before it.
    pub token_version: i64,
    /// Recent failed sign-ins: when, and from which address (`""`: not known).
    pub failures: Vec<(DateTime<Utc>, String)>,
    /// Addresses sign-in is locked from, until when: a lockout holds for the address the
    /// failures came from, so that someone guessing cannot lock the user out everywhere.
    pub locks: BTreeMap<String, DateTime<Utc>>,
    pub families: BTreeMap<Uuid, Family>,
    /// The hashes of the passwords set before the current one, newest last (at most
    /// [`PASSWORD_HISTORY`]): a change may not go back to one of them.
    #[serde(default)]
    pub previous_hashes: Vec<String>,
}

/// How many earlier passwords a change may not reuse (besides the current one).
pub const PASSWORD_HISTORY: usize = 4;

impl User {
    /// Until when sign-in is locked from `address`, if it is at `now`.
    pub fn locked_until(&self, address: &str, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
        [address, EVERYWHERE]
            .iter()
            .filter_map(|a| self.locks.get(*a).copied())
            .filter(|u| *u > now)
            .max()
    }

    /// The current and the earlier password hashes a new password may not match.
    pub fn recent_hashes(&self) -> impl Iterator<Item = &String> {
        std::iter::once(&self.password_hash).chain(self.previous_hashes.iter().rev())
    }

    /// Keeps the current hash among the earlier ones before `new` replaces it.
    fn replace_hash(&mut self, new: String) {
        let old = std::mem::replace(&mut self.password_hash, new);
        if !old.is_empty() {
            self.previous_hashes.push(old);
            let over = self.previous_hashes.len().saturating_sub(PASSWORD_HISTORY);
            self.previous_hashes.drain(..over);
        }
    }

    fn profile(&self) -> Result<&UserProfile, UserError> {
        self.profile.as_ref().ok_or(UserError::NotFound)
    }

    fn decide(
        &self,
        command: UserCommand,
        services: &UserServices,
    ) -> Result<Vec<UserEvent>, UserError> {
        let now = services.clock.now();
        if let UserCommand::Register {
            user_id,
            profile,
            password_hash,
            must_change_password,
        } = command
        {
            if self.profile.is_some() {
                return Err(UserError::AlreadyExists);
            }
            if profile.role.needs_branch() && profile.branch.is_none() {
                return Err(UserError::BranchRequired(profile.role));
            }
            return Ok(vec![UserEvent::UserRegistered {
                user_id,
                profile,
                password_hash,
                must_change_password,
            }]);
        }
        let profile = self.profile()?;
        match command {
            UserCommand::Register { .. } => unreachable!("handled above"),
            UserCommand::Update {
                name,
                role,
                branch,
                manager_id,
            } => {
                let name = name.filter(|n| *n != profile.name);
                let role = role.filter(|r| *r != profile.role);
                let branch = branch.filter(|b| *b != profile.branch);
                let manager_id = manager_id.filter(|m| *m != profile.manager_id);
                let new_role = role.unwrap_or(profile.role);
                let new_branch = branch.clone().unwrap_or_else(|| profile.branch.clone());
                if new_role.needs_branch() && new_branch.is_none() {
                    return Err(UserError::BranchRequired(new_role));
                }
                if name.is_none() && role.is_none() && branch.is_none() && manager_id.is_none() {
                    return Ok(vec![]);
                }
                Ok(vec![UserEvent::UserUpdated {
                    name,
                    role,
                    branch,
                    manager_id,
                }])
            }
            UserCommand::Deactivate => {
                if !self.active {
                    return Err(UserError::AlreadyInState("deactivated"));
                }
                Ok(vec![UserEvent::UserDeactivated {}])
            }
            UserCommand::Reactivate => {
                if self.active {
                    return Err(UserError::AlreadyInState("active"));
                }
                Ok(vec![UserEvent::UserReactivated {}])
            }
            UserCommand::ResetPassword { password_hash } => {
                Ok(vec![UserEvent::PasswordReset { password_hash }])
            }
            UserCommand::LiftLockout => {
                self.profile()?;
                if self.locks.values().all(|u| *u <= now) && self.failures.is_empty() {
                    return Ok(vec![]);
                }
                Ok(vec![UserEvent::LockoutLifted {}])
            }
            UserCommand::ChangePassword { password_hash } => {
                if !self.active {
                    return Err(UserError::Inactive);
                }
                Ok(vec![UserEvent::PasswordChanged { password_hash }])
            }
            UserCommand::Login {
                password_ok,
                family_id,
                refresh_hash,
                refresh_expires_at,
                address,
            } => {
                if let Some(until) = self.locked_until(&address, now) {
                    return Err(UserError::Locked { until });
                }
                if !password_ok {
                    let recent = self
                        .failures
                        .iter()
                        .filter(|(t, _)| in_lockout_window(*t, now));
                    let from_here = recent.clone().filter(|(_, a)| *a == address).count() + 1;
                    let everywhere = lock_after(recent.count() + 1, ACCOUNT_LOCKOUT_THRESHOLD, now);
                    let locked_until = everywhere.or(lock_after(from_here, LOCKOUT_THRESHOLD, now));
                    return Ok(vec![UserEvent::LoginFailed {
                        at: now,
                        locked_until,
                        address: Some(address),
                        everywhere: everywhere.is_some(),
                    }]);
                }
                if !self.active {
                    return Err(UserError::Inactive);
                }
                Ok(vec![UserEvent::LoginSucceeded {
                    family_id,
                    refresh_hash,
                    refresh_expires_at,
                    at: now,
                }])
            }
            UserCommand::Refresh {
                family_id,
                presented_hash,
                new_hash,
                expires_at,
            } => {
                let family = self
                    .families
                    .get(&family_id)
                    .ok_or(UserError::InvalidRefresh)?;
                if family.revoked || family.expires_at.is_some_and(|e| e <= now) {
                    return Err(UserError::InvalidRefresh);
                }
                if family.used.contains(&presented_hash) {
                    return Ok(vec![UserEvent::RefreshTokenReused { family_id }]);
                }
                if family.current != presented_hash {
                    return Err(UserError::InvalidRefresh);
                }
                if !self.active {
                    return Err(UserError::Inactive);
                }
                // A session ends 12 hours after its login however often it is refreshed.
                let ends = family.expires_at.map_or(expires_at, |e| e.min(expires_at));
                Ok(vec![UserEvent::RefreshTokenRotated {
                    family_id,
                    refresh_hash: new_hash,
                    refresh_expires_at: ends,
                }])
            }
            UserCommand::Logout { family_id } => {
                let open = self.families.get(&family_id).is_some_and(|f| !f.revoked);
                Ok(if open {
                    vec![UserEvent::LoggedOut { family_id }]
                } else {
                    vec![]
                })
            }
        }
    }
}

impl Aggregate for User {
    const TYPE: &'static str = "user";
    type Command = UserCommand;
    type Event = UserEvent;
    type Error = UserError;
    type Services = UserServices;

    async fn handle(
        &mut self,
        command: Self::Command,
        services: &Self::Services,
        sink: &EventSink<Self>,
    ) -> Result<(), Self::Error> {
        for event in self.decide(command, services)? {
            sink.write(event, self).await;
        }
        Ok(())
    }

    fn apply(&mut self, event: Self::Event) {
        if event.revokes_access_tokens() {
            self.token_version += 1;
        }
        match event {
            UserEvent::UserRegistered {
                user_id,
                profile,
                password_hash,
                must_change_password,
            } => {
                self.id = Some(user_id);
                self.profile = Some(profile);
                self.password_hash = password_hash;
                self.must_change_password = must_change_password;
                self.active = true;
                self.token_version = 1;
            }
            UserEvent::UserUpdated {
                name,
                role,
                branch,
                manager_id,
            } => {
                if let Some(p) = self.profile.as_mut() {
                    if let Some(n) = name {
                        p.name = n;
                    }
                    if let Some(r) = role {
                        p.role = r;
                    }
                    if let Some(b) = branch {
                        p.branch = b;
                    }
                    if let Some(m) = manager_id {
                        p.manager_id = m;
                    }
                }
            }
            UserEvent::UserDeactivated {} => {
                self.active = false;
                for f in self.families.values_mut() {
                    f.revoked = true;
                }
            }
            UserEvent::UserReactivated {} => self.active = true,
            UserEvent::PasswordReset { password_hash } => {
                self.replace_hash(password_hash);
                self.must_change_password = true;
                self.failures.clear();
                self.locks.clear();
                for f in self.families.values_mut() {
                    f.revoked = true;
                }
            }
            UserEvent::PasswordChanged { password_hash } => {
                self.replace_hash(password_hash);
                self.must_change_password = false;
                // Whoever held a session from before the change is out.
                for f in self.families.values_mut() {
                    f.revoked = true;
                }
            }
            UserEvent::LoginSucceeded {
                family_id,
                refresh_hash,
                refresh_expires_at,
                at,
            } => {
                // Failures count again from here; a lock on another address holds.
                self.failures.clear();
                // Families past their end are forgotten (their tokens fail as unknown).
                self.families
                    .retain(|_, f| f.expires_at.is_none_or(|e| e > at));
                self.families.insert(
                    family_id,
                    Family {
                        current: refresh_hash,
                        used: Vec::new(),
                        expires_at: Some(refresh_expires_at),
                        revoked: false,
                    },
                );
            }
            UserEvent::LoginFailed {
                at,
                locked_until,
                address,
                everywhere,
            } => {
                let address = address.unwrap_or_default();
                self.failures.retain(|(t, _)| in_lockout_window(*t, at));
                self.locks.retain(|_, u| *u > at);
                match locked_until {
                    Some(until) if everywhere => {
                        self.failures.clear();
                        self.locks.insert(EVERYWHERE.into(), until);
                    }
                    // The failures stay: they count towards the lock of every address
                    // until the window passes them (as the lock ends).
                    Some(until) => {
                        self.failures.push((at, address.clone()));
                        self.locks.insert(address, until);
                    }
                    None => self.failures.push((at, address)),
                }
            }
            UserEvent::LockoutLifted {} => {
                self.failures.clear();
                self.locks.clear();
            }
            UserEvent::RefreshTokenRotated {
                family_id,
                refresh_hash,
                refresh_expires_at,
            } => {
                if let Some(f) = self.families.get_mut(&family_id) {
                    let old = std::mem::replace(&mut f.current, refresh_hash);
                    f.used.push(old);
                    f.expires_at = Some(refresh_expires_at);
                }
            }
            UserEvent::RefreshTokenReused { family_id } | UserEvent::LoggedOut { family_id } => {
                if let Some(f) = self.families.get_mut(&family_id) {
                    f.revoked = true;
                }
            }
        }
    }
}
