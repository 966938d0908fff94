//! Staff management by admins: changing a user's name, role, branch or manager, deactivating,
//! and resetting a password, with the rules that keep the directory sound (nobody manages
//! themselves, an admin keeps their own admin role and account).

use domain::user::{check_password, Branch, Role, UserCommand, UserError};
use domain::values::PersonName;
use store::EventMetadata;
use uuid::Uuid;

use super::{take, Invalid};
use crate::lookups::LookupError;
use crate::{CommandError, Committed, WriteSide};

pub use domain::input::Change;

/// The fields an admin changes on a user.
#[derive(Debug, Clone, Default)]
pub struct UserChange<'a> {
    pub name: Change<&'a str>,
    pub role: Change<Role>,
    pub branch: Change<&'a str>,
    pub manager_id: Change<Uuid>,
}

#[derive(Debug, thiserror::Error)]
pub enum StaffError {
    #[error("{}", .0.iter().map(|i| format!("{}: {}", i.field, i.message)).collect::<Vec<_>>().join("; "))]
    Invalid(Vec<Invalid>),
    #[error("an admin cannot take away their own admin role (another admin can)")]
    SelfDemotion,
    #[error("an admin cannot deactivate their own account")]
    SelfDeactivation,
    #[error(
        "one's own password is changed with the current one (POST /api/auth/password), not reset"
    )]
    SelfReset,
    #[error(transparent)]
    Command(#[from] CommandError<UserError>),
    #[error(transparent)]
    Lookup(#[from] LookupError),
    #[error(transparent)]
    Hashing(#[from] crate::passwords::HashError),
}

/// Whether `user_id` is a user of the directory.
pub async fn exists(write: &WriteSide, user_id: Uuid) -> Result<bool, LookupError> {
    Ok(write.lookups.staff_member(user_id).await?.is_some())
}

/// Changes user `user_id` for the admin `actor`.
pub async fn update(
    write: &WriteSide,
    actor: Uuid,
    user_id: Uuid,
    change: UserChange<'_>,
    meta: &EventMetadata,
    expected: Option<usize>,
) -> Result<Committed, StaffError> {
    let mut invalid = Vec::new();
    let mut cannot_clear = |field: &'static str| {
        invalid.push(Invalid {
            field,
            message: "cannot be cleared".into(),
        })
    };
    let name = match change.name {
        Change::Set(n) => Some(PersonName::parse(n)),
        Change::Clear => {
            cannot_clear("name");
            None
        }
        Change::Keep => None,
    };
    let role = match change.role {
        Change::Set(r) => Some(r),
        Change::Clear => {
            cannot_clear("role");
            None
        }
        Change::Keep => None,
    };
    let name = name.and_then(|n| take(&mut invalid, "name", n));
    let branch = match change.branch {
        Change::Set(b) => take(&mut invalid, "branch", Branch::parse(b)).map(Some),
        Change::Clear => Some(None),
        Change::Keep => None,
    };
    if user_id == actor && role.is_some_and(|r| r != Role::Admin) {
        return Err(StaffError::SelfDemotion);
    }
    let manager_id = match change.manager_id {
        Change::Set(m) if m == user_id => {
            invalid.push(Invalid {
                field: "manager_id",
                message: "a user cannot manage themselves".into(),
            });
            None
        }
        Change::Set(m) => {
            if !exists(write, m).await? {
                invalid.push(Invalid {
                    field: "manager_id",
                    message: "no such user".into(),
                });
            }
            Some(Some(m))
        }
        Change::Clear => Some(None),
        Change::Keep => None,
    };
    if !invalid.is_empty() {
        return Err(StaffError::Invalid(invalid));
    }
    let command = UserCommand::Update {
        name,
        role,
        branch,
        manager_id,
    };
    Ok(run(write, user_id, command, meta, expected).await?)
}

/// Deactivates user `user_id` for the admin `actor` (not their own account).
pub async fn deactivate(
    write: &WriteSide,
    actor: Uuid,
    user_id: Uuid,
    meta: &EventMetadata,
    expected: Option<usize>,
) -> Result<Committed, StaffError> {
    if user_id == actor {
        return Err(StaffError::SelfDeactivation);
    }
    Ok(run(write, user_id, UserCommand::Deactivate, meta, expected).await?)
}

/// Sets a temporary password for user `user_id` (to be changed at the next sign-in), for
/// the admin `actor`: never their own (a stolen session must not become the account).
pub async fn reset_password(
    write: &WriteSide,
    actor: Uuid,
    user_id: Uuid,
    password: &str,
    meta: &EventMetadata,
    expected: Option<usize>,
) -> Result<Committed, StaffError> {
    if user_id == actor {
        return Err(StaffError::SelfReset);
    }
    let (user, _) = write.users.load(&user_id.to_string()).await?;
    let profile = user
        .profile
        .as_ref()
        .ok_or(CommandError::Rejected(UserError::NotFound))?;
    check_password(password, &profile.email).map_err(|why| {
        StaffError::Invalid(vec![Invalid {
            field: "password",
            message: why.message,
        }])
    })?;
    let hash = crate::passwords::hash(password.to_string()).await?;
    let command = UserCommand::ResetPassword {
        password_hash: hash,
    };
    Ok(run(write, user_id, command, meta, expected).await?)
}

/// Runs `command` on user `user_id`.
pub async fn run(
    write: &WriteSide,
    user_id: Uuid,
    command: UserCommand,
    meta: &EventMetadata,
    expected: Option<usize>,
) -> Result<Committed, CommandError<UserError>> {
    write
        .users
        .execute(&user_id.to_string(), command, meta, expected)
        .await
}
