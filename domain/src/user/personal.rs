//! Where a User's sealed data is.

use crate::personal::{lookup, EventFields};

/// Every User event with what is sealed (with the user's own key): the password hashes, so
/// that an exported log gives nobody anything to crack. Staff names and e-mail addresses are
/// business contact data kept with the firm's records and stay readable; refresh tokens are
/// stored only as hashes.
pub const EVENTS: &[EventFields] = &[
    EventFields {
        event: "UserRegistered",
        personal: &["/UserRegistered/password_hash"],
        plain: &[
            "/UserRegistered/user_id",
            "/UserRegistered/profile/email",
            "/UserRegistered/profile/name",
            "/UserRegistered/profile/role",
            "/UserRegistered/profile/branch",
            "/UserRegistered/profile/manager_id",
        ],
    },
    EventFields {
        event: "UserUpdated",
        personal: &[],
        plain: &[
            "/UserUpdated/name",
            "/UserUpdated/role",
            "/UserUpdated/branch",
            "/UserUpdated/manager_id",
        ],
    },
    EventFields {
        event: "UserDeactivated",
        personal: &[],
        plain: &[],
    },
    EventFields {
        event: "UserReactivated",
        personal: &[],
        plain: &[],
    },
    EventFields {
        event: "PasswordReset",
        personal: &["/PasswordReset/password_hash"],
        plain: &[],
    },
    EventFields {
        event: "PasswordChanged",
        personal: &["/PasswordChanged/password_hash"],
        plain: &[],
    },
    EventFields {
        event: "LoginSucceeded",
        personal: &[],
        plain: &[
            "/LoginSucceeded/family_id",
            "/LoginSucceeded/refresh_hash",
            "/LoginSucceeded/refresh_expires_at",
            "/LoginSucceeded/at",
        ],
    },
    EventFields {
        event: "LoginFailed",
        personal: &[],
        plain: &["/LoginFailed/at", "/LoginFailed/locked_until"],
    },
    EventFields {
        event: "RefreshTokenRotated",
        personal: &[],
        plain: &[
            "/RefreshTokenRotated/family_id",
            "/RefreshTokenRotated/refresh_hash",
            "/RefreshTokenRotated/refresh_expires_at",
        ],
    },
    EventFields {
        event: "RefreshTokenReused",
        personal: &[],
        plain: &["/RefreshTokenReused/family_id"],
    },
    EventFields {
        event: "LoggedOut",
        personal: &[],
        plain: &["/LoggedOut/family_id"],
    },
];

/// Where the sealed data is in a User event's stored payload; `None` for an unlisted type.
pub fn personal_fields(event_type: &str) -> Option<&'static [&'static str]> {
    lookup(EVENTS, event_type)
}
