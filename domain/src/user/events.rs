//! What happens to a User: registration, profile and access changes, sign-ins and the
//! refresh-token families.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::*;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum UserEvent {
    UserRegistered {
        user_id: Uuid,
        profile: UserProfile,
        password_hash: String,
        must_change_password: bool,
    },
    UserUpdated {
        name: Option<PersonName>,
        role: Option<Role>,
        branch: Option<Option<Branch>>,
        manager_id: Option<Option<Uuid>>,
    },
    UserDeactivated {},
    UserReactivated {},
    PasswordReset {
        password_hash: String,
    },
    PasswordChanged {
        password_hash: String,
    },
    LoginSucceeded {
        family_id: Uuid,
        refresh_hash: String,
        refresh_expires_at: DateTime<Utc>,
        at: DateTime<Utc>,
    },
    LoginFailed {
        at: DateTime<Utc>,
        /// Set when this failure locked sign-in from its address.
        locked_until: Option<DateTime<Utc>>,
        /// The address the attempt came from (absent in events from before lockouts were
        /// per address).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        address: Option<String>,
        /// The lock holds for every address (too many failures from many).
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        everywhere: bool,
    },
    /// An admin lifted every lockout and forgot the failures.
    LockoutLifted {},
    RefreshTokenRotated {
        family_id: Uuid,
        refresh_hash: String,
        refresh_expires_at: DateTime<Utc>,
    },
    /// A refresh token that had already been traded in was presented again: the whole family
    /// is revoked (someone else may hold a copy).
    RefreshTokenReused {
        family_id: Uuid,
    },
    LoggedOut {
        family_id: Uuid,
    },
}

impl UserEvent {
    pub fn name(&self) -> &'static str {
        match self {
            UserEvent::UserRegistered { .. } => "UserRegistered",
            UserEvent::UserUpdated { .. } => "UserUpdated",
            UserEvent::UserDeactivated {} => "UserDeactivated",
            UserEvent::UserReactivated {} => "UserReactivated",
            UserEvent::PasswordReset { .. } => "PasswordReset",
            UserEvent::PasswordChanged { .. } => "PasswordChanged",
            UserEvent::LoginSucceeded { .. } => "LoginSucceeded",
            UserEvent::LoginFailed { .. } => "LoginFailed",
            UserEvent::LockoutLifted {} => "LockoutLifted",
            UserEvent::RefreshTokenRotated { .. } => "RefreshTokenRotated",
            UserEvent::RefreshTokenReused { .. } => "RefreshTokenReused",
            UserEvent::LoggedOut { .. } => "LoggedOut",
        }
    }

    /// Whether access tokens issued before this event stop working (role, branch, password
    /// or active state changed).
    pub fn revokes_access_tokens(&self) -> bool {
        matches!(
            self,
            UserEvent::UserUpdated { .. }
                | UserEvent::UserDeactivated {}
                | UserEvent::UserReactivated {}
                | UserEvent::PasswordReset { .. }
                | UserEvent::PasswordChanged { .. }
        )
    }
}

impl DomainEvent for UserEvent {
    fn event_type(&self) -> String {
        self.name().to_string()
    }

    fn event_version(&self) -> String {
        "1.0".to_string()
    }
}
