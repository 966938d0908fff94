//! What may be asked of a User.

use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::*;

#[derive(Debug, Clone, PartialEq)]
pub enum UserCommand {
    Register {
        user_id: Uuid,
        profile: UserProfile,
        password_hash: String,
        /// Set when someone else chose the password: the user must change it first.
        must_change_password: bool,
    },
    /// Changes what is given; `Some(None)` clears an optional field.
    Update {
        name: Option<PersonName>,
        role: Option<Role>,
        branch: Option<Option<Branch>>,
        manager_id: Option<Option<Uuid>>,
    },
    Deactivate,
    Reactivate,
    /// An administrator set a new password; the user must change it at the next login.
    ResetPassword {
        password_hash: String,
    },
    /// An admin lifts every lockout of the user.
    LiftLockout,
    /// The user changed their own password (the API checked the current one).
    ChangePassword {
        password_hash: String,
    },
    /// A login attempt whose password the API checked; a success opens a refresh family.
    Login {
        password_ok: bool,
        family_id: Uuid,
        refresh_hash: String,
        refresh_expires_at: DateTime<Utc>,
        /// The client's address (`""`: not known): failures and lockouts count per address.
        address: String,
    },
    /// A refresh token (its family and hash) traded for a new one.
    Refresh {
        family_id: Uuid,
        presented_hash: String,
        new_hash: String,
        expires_at: DateTime<Utc>,
    },
    Logout {
        family_id: Uuid,
    },
}
