//! Signing in: the password checked against the user's own events, the failed-attempt window
//! and lockout decided by the aggregate, and a new session (refresh-token family) recorded.

use chrono::{DateTime, Utc};
use domain::user::{User, UserCommand, UserError, UserEvent};
use store::EventMetadata;
use uuid::Uuid;

use crate::{CommandError, Committed, WriteSide};

/// A sign-in attempt, with the session it opens if it succeeds (the refresh token itself stays
/// with the caller; only its hash is recorded).
#[derive(Debug, Clone)]
pub struct Attempt<'a> {
    pub email: &'a str,
    pub password: &'a str,
    pub family: Uuid,
    pub refresh_hash: String,
    pub refresh_expires_at: DateTime<Utc>,
}

/// A sign-in that succeeded: the user as they were before it, and where it was recorded.
#[derive(Debug)]
pub struct SignedIn {
    pub user_id: Uuid,
    pub user: User,
    pub done: Committed,
}

#[derive(Debug, thiserror::Error)]
pub enum SignInError {
    /// Wrong e-mail address or password, or a deactivated account: one answer for all.
    #[error("the e-mail address or the password is wrong")]
    Refused,
    /// Too many failures: locked until then, even with the right password.
    #[error("the account is locked until {0}")]
    Locked(DateTime<Utc>),
    #[error(transparent)]
    Command(#[from] CommandError<UserError>),
    #[error("the sign-in directory could not be read: {0}")]
    Store(#[from] store::StoreError),
}

/// Signs in: the same work for an unknown address as for a real one (timing tells nothing),
/// a failure counted, a lockout honoured.
pub async fn login(
    write: &WriteSide,
    attempt: Attempt<'_>,
    mut meta: EventMetadata,
) -> Result<SignedIn, SignInError> {
    let email = attempt.email.trim().to_lowercase();
    let password = attempt.password;
    if email.is_empty() || password.is_empty() || password.len() > 1024 {
        return Err(SignInError::Refused);
    }
    let Some(user_id) = super::user_by_email(&write.db, &email).await? else {
        crate::passwords::verify(password.to_string(), None).await;
        return Err(SignInError::Refused);
    };
    let id = user_id.to_string();
    let (user, _) = write.users.load(&id).await?;
    if let Some(until) = user.locked_until.filter(|u| *u > Utc::now()) {
        return Err(SignInError::Locked(until));
    }
    let password_ok =
        crate::passwords::verify(password.to_string(), Some(user.password_hash.clone())).await;
    meta.actor_id = id.clone();
    meta.actor_role = user
        .profile
        .as_ref()
        .map(|p| p.role.as_str().to_string())
        .unwrap_or_default();
    let command = UserCommand::Login {
        password_ok,
        family_id: attempt.family,
        refresh_hash: attempt.refresh_hash,
        refresh_expires_at: attempt.refresh_expires_at,
    };
    let (done, events) = match write.users.execute_events(&id, command, &meta).await {
        Ok(outcome) => outcome,
        Err(CommandError::Rejected(UserError::Inactive)) => return Err(SignInError::Refused),
        Err(e) => return Err(e.into()),
    };
    match events.first() {
        Some(UserEvent::LoginSucceeded { .. }) => Ok(SignedIn {
            user_id,
            user,
            done,
        }),
        _ => Err(SignInError::Refused),
    }
}
