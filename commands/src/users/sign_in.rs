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

/// Failed sign-ins to e-mail addresses that are nobody's, per e-mail and client address,
/// counted and locked out by the same rules as an account's (kept in this process only: a
/// restart forgets them), so that a lockout does not tell which addresses exist.
#[derive(Debug, Default)]
pub struct Unknown {
    tried: std::sync::Mutex<std::collections::HashMap<EmailFrom, Tried>>,
}

/// An e-mail address and the client address it was tried from ([`EVERYWHERE`]: any).
type EmailFrom = (String, String);

/// The key of the count over every address.
const EVERYWHERE: &str = "*";

#[derive(Debug, Default)]
struct Tried {
    failures: Vec<DateTime<Utc>>,
    locked_until: Option<DateTime<Utc>>,
}

impl Unknown {
    /// Until when `email` is locked out from `address`, if it is at `now` (from there, or
    /// from everywhere).
    pub fn locked(&self, email: &str, address: &str, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let map = self.tried.lock().expect("unknown sign-ins");
        [address, EVERYWHERE]
            .iter()
            .filter_map(|a| map.get(&(email.to_string(), a.to_string())))
            .filter_map(|t| t.locked_until)
            .filter(|u| *u > now)
            .max()
    }

    /// Counts a failure of `email` from `address` at `now`: towards a lock from there (5)
    /// and towards one from everywhere (20), as for an account.
    pub fn failed(&self, email: &str, address: &str, now: DateTime<Utc>) {
        use domain::user::{
            in_lockout_window, lock_after, ACCOUNT_LOCKOUT_THRESHOLD, LOCKOUT_THRESHOLD,
        };
        let mut map = self.tried.lock().expect("unknown sign-ins");
        if map.len() > 100_000 {
            map.retain(|_, t| t.locked_until.is_some_and(|u| u > now));
        }
        for (key, threshold) in [
            (address, LOCKOUT_THRESHOLD),
            (EVERYWHERE, ACCOUNT_LOCKOUT_THRESHOLD),
        ] {
            let t = map.entry((email.to_string(), key.to_string())).or_default();
            t.failures.retain(|at| in_lockout_window(*at, now));
            t.failures.push(now);
            if let Some(until) = lock_after(t.failures.len(), threshold, now) {
                t.locked_until = Some(until);
            }
        }
    }
}

/// Where an attempt comes from, as lockouts count it: the client's IP address, an IPv6 one
/// by its /64 (what one subscriber is given); `""` when not known.
fn client_address(meta: &EventMetadata) -> String {
    use std::net::IpAddr;
    match meta.client_ip.as_deref().map(str::parse::<IpAddr>) {
        Some(Ok(IpAddr::V6(v6))) => match v6.to_ipv4_mapped() {
            Some(v4) => v4.to_string(),
            None => {
                let s = v6.segments();
                format!("{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
            }
        },
        Some(Ok(ip)) => ip.to_string(),
        _ => String::new(),
    }
}

/// Signs in: the same work for an unknown address as for a real one (timing tells nothing),
/// a failure counted, a lockout honoured, for the client address the attempt comes from.
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
    let address = client_address(&meta);
    let Some(user_id) = super::user_by_email(&write.db, &email).await? else {
        // Locked out, failed and timed the same way as an account: a lockout tells nobody
        // who has one.
        let unknown = &write.unknown_sign_ins;
        if let Some(until) = unknown.locked(&email, &address, Utc::now()) {
            return Err(SignInError::Locked(until));
        }
        crate::passwords::verify(password.to_string(), None).await;
        unknown.failed(&email, &address, Utc::now());
        return Err(SignInError::Refused);
    };
    let id = user_id.to_string();
    let (user, _) = write.users.load(&id).await?;
    if let Some(until) = user.locked_until(&address, Utc::now()) {
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
        address,
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

/// What trading in a refresh token did.
#[derive(Debug)]
pub enum Refreshed {
    /// A new refresh token replaces the presented one; the user as they are now.
    Rotated { user: Box<User>, done: Committed },
    /// The presented token was traded in before: the whole session is revoked (recorded at
    /// `done`), and the caller must sign in again.
    Revoked { done: Committed },
}

/// Why a refresh token was refused outright.
#[derive(Debug, thiserror::Error)]
pub enum RefreshError {
    /// No such user, or a deactivated one: the token is worth nothing.
    #[error("the refresh token is not valid")]
    Invalid,
    #[error(transparent)]
    Command(#[from] CommandError<UserError>),
}

/// A presented refresh token of `family`, with the hash of the one that replaces it.
#[derive(Debug, Clone)]
pub struct Exchange {
    pub user_id: Uuid,
    pub family: Uuid,
    pub presented_hash: String,
    pub new_hash: String,
    pub expires_at: DateTime<Utc>,
}

/// Trades a refresh token in: rotated once, and a second use of the same token revokes the
/// session (someone else may hold a copy).
pub async fn refresh(
    write: &WriteSide,
    exchange: Exchange,
    mut meta: EventMetadata,
) -> Result<Refreshed, RefreshError> {
    let id = exchange.user_id.to_string();
    meta.actor_id = id.clone();
    let command = UserCommand::Refresh {
        family_id: exchange.family,
        presented_hash: exchange.presented_hash,
        new_hash: exchange.new_hash,
        expires_at: exchange.expires_at,
    };
    let (done, events) = match write.users.execute_events(&id, command, &meta).await {
        Ok(outcome) => outcome,
        Err(CommandError::Rejected(UserError::NotFound | UserError::Inactive)) => {
            return Err(RefreshError::Invalid)
        }
        Err(e) => return Err(e.into()),
    };
    match events.first() {
        Some(UserEvent::RefreshTokenRotated { .. }) => {
            let (user, _) = write.users.load(&id).await?;
            Ok(Refreshed::Rotated {
                user: Box::new(user),
                done,
            })
        }
        _ => Ok(Refreshed::Revoked { done }),
    }
}

/// Ends the session `family` of the user.
pub async fn logout(
    write: &WriteSide,
    user_id: Uuid,
    family: Uuid,
    meta: &EventMetadata,
) -> Result<Committed, CommandError<UserError>> {
    let command = UserCommand::Logout { family_id: family };
    write
        .users
        .execute(&user_id.to_string(), command, meta, None)
        .await
}

#[derive(Debug, thiserror::Error)]
pub enum PasswordChangeError {
    #[error("no such user")]
    NotFound,
    /// Too many failures: locked until then.
    #[error("the account is locked until {0}")]
    Locked(DateTime<Utc>),
    /// The current password is wrong (counted like a failed sign-in).
    #[error("the current password is wrong")]
    WrongCurrent,
    /// The new password does not meet the rules (why).
    #[error("{0}")]
    Weak(String),
    #[error("the new password must differ from the current one and the four before it")]
    Unchanged,
    #[error(transparent)]
    Command(#[from] CommandError<UserError>),
    #[error(transparent)]
    Hashing(#[from] crate::passwords::HashError),
}

/// Changes the user's own password: the current one checked (a wrong one counts as a failed
/// sign-in and can lock the account), the new one against the rules. Every session ends.
pub async fn change_password(
    write: &WriteSide,
    user_id: Uuid,
    current: &str,
    new: &str,
    meta: &EventMetadata,
) -> Result<Committed, PasswordChangeError> {
    let id = user_id.to_string();
    let (user, _) = write.users.load(&id).await?;
    let profile = user.profile.as_ref().ok_or(PasswordChangeError::NotFound)?;
    let address = client_address(meta);
    if let Some(until) = user.locked_until(&address, Utc::now()) {
        return Err(PasswordChangeError::Locked(until));
    }
    if !crate::passwords::verify(current.to_string(), Some(user.password_hash.clone())).await {
        let failed = UserCommand::Login {
            password_ok: false,
            family_id: Uuid::now_v7(),
            refresh_hash: String::new(),
            refresh_expires_at: Utc::now(),
            address,
        };
        write.users.execute_events(&id, failed, meta).await?;
        return Err(PasswordChangeError::WrongCurrent);
    }
    domain::user::check_password(new, &profile.email)
        .map_err(|why| PasswordChangeError::Weak(why.message.to_string()))?;
    // Not the current one (checked above), nor any of the four before it.
    if new == current {
        return Err(PasswordChangeError::Unchanged);
    }
    for earlier in user.recent_hashes().skip(1) {
        if crate::passwords::verify(new.to_string(), Some(earlier.clone())).await {
            return Err(PasswordChangeError::Unchanged);
        }
    }
    let hash = crate::passwords::hash(new.to_string()).await?;
    let command = UserCommand::ChangePassword {
        password_hash: hash,
    };
    Ok(write.users.execute(&id, command, meta, None).await?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attempts_count_by_ip_address_and_by_ipv6_subnet() {
        let from = |ip: Option<&str>| {
            let mut m = EventMetadata::system(None);
            m.client_ip = ip.map(str::to_string);
            client_address(&m)
        };
        assert_eq!(from(Some("203.0.113.7")), "203.0.113.7");
        assert_eq!(from(Some("2001:db8:1:2:3:4:5:6")), "2001:db8:1:2::/64");
        assert_eq!(from(Some("2001:db8:1:2:ffff::1")), "2001:db8:1:2::/64");
        assert_eq!(from(Some("::ffff:10.0.0.1")), "10.0.0.1");
        assert_eq!(from(None), "");
    }

    #[test]
    fn an_unknown_address_is_locked_out_after_five_failures_like_an_account() {
        let unknown = Unknown::default();
        let now = Utc::now();
        for n in 0..5 {
            assert_eq!(unknown.locked("x@y.in", "203.0.113.7", now), None, "{n}");
            unknown.failed("x@y.in", "203.0.113.7", now);
        }
        let until = now + chrono::Duration::minutes(domain::user::LOCKOUT_MINUTES);
        assert_eq!(unknown.locked("x@y.in", "203.0.113.7", now), Some(until));
        assert_eq!(unknown.locked("x@y.in", "203.0.113.8", now), None);
        assert_eq!(unknown.locked("x@y.in", "203.0.113.7", until), None);
        // Twenty from many addresses lock every address.
        for n in 0..15 {
            unknown.failed("x@y.in", &format!("198.51.100.{n}"), now);
        }
        assert_eq!(unknown.locked("x@y.in", "192.0.2.1", now), Some(until));
        assert_eq!(unknown.locked("z@y.in", "192.0.2.1", now), None);
    }
}
