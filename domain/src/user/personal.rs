//! Where a User's sealed data is.

use crate::personal::EventFields;

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
        // The address is the staff member's, as every event's metadata records it.
        plain: &[
            "/LoginFailed/at",
            "/LoginFailed/locked_until",
            "/LoginFailed/address",
        ],
    },
    EventFields {
        event: "LockoutLifted",
        personal: &[],
        plain: &[],
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

/// Every table of this aggregate's events (its own and the components' it embeds), for the
/// registry of kinds ([`crate::kinds`]).
pub const EVENT_TABLES: &[&[EventFields]] = &[EVENTS];
