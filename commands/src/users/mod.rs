//! Staff use cases: registering a user (the API, `crm user create`, `crm seed`, `crm bench`),
//! and the sign-in directory (e-mail address → user).

mod directory;
pub mod sign_in;
pub mod staff;

pub use directory::*;

use domain::user::{check_password, Branch, Role, UserCommand, UserProfile};
use domain::values::{Email, PersonName};
use store::EventMetadata;
use uuid::Uuid;

use crate::{CommandError, Committed, WriteSide};

/// A user to register, as given.
#[derive(Debug, Clone)]
pub struct NewUser<'a> {
    pub email: &'a str,
    pub name: &'a str,
    pub role: Role,
    pub branch: Option<&'a str>,
    pub manager_id: Option<Uuid>,
    pub password: &'a str,
    /// The password was chosen for them: they must choose their own at the first sign-in.
    pub must_change_password: bool,
}

pub use domain::input::Invalid;

/// Why a registration failed.
#[derive(Debug, thiserror::Error)]
pub enum RegisterError {
    #[error("{}", .0.iter().map(|i| format!("{}: {}", i.field, i.message)).collect::<Vec<_>>().join("; "))]
    Invalid(Vec<Invalid>),
    #[error("a user with this e-mail address exists")]
    EmailTaken,
    #[error(transparent)]
    Lookup(#[from] crate::lookups::LookupError),
    #[error(transparent)]
    Store(#[from] store::StoreError),
    #[error(transparent)]
    Hashing(#[from] crate::passwords::HashError),
    #[error(transparent)]
    Command(#[from] CommandError<domain::user::UserError>),
}

/// The value, or `None` with why `field` is not acceptable noted in `invalid`.
fn take<T>(
    invalid: &mut Vec<Invalid>,
    field: &'static str,
    parsed: Result<T, domain::values::InvalidValue>,
) -> Option<T> {
    parsed
        .map_err(|e| {
            invalid.push(Invalid {
                field,
                message: e.message,
            })
        })
        .ok()
}

/// Registers a user: checks the fields and the password policy, reserves the e-mail address
/// (so that two registrations of one address cannot both pass), hashes the password and appends
/// the event; a failure gives the address back.
pub async fn register(
    write: &WriteSide,
    meta: &EventMetadata,
    new: NewUser<'_>,
) -> Result<(Uuid, Committed), RegisterError> {
    let mut invalid = Vec::new();
    let email: Option<Email> = take(&mut invalid, "email", Email::parse(new.email));
    let name: Option<PersonName> = take(&mut invalid, "name", PersonName::parse(new.name));
    let branch: Option<Branch> = new
        .branch
        .and_then(|b| take(&mut invalid, "branch", Branch::parse(b)));
    if new.role.needs_branch() && branch.is_none() && !invalid.iter().any(|i| i.field == "branch") {
        invalid.push(Invalid {
            field: "branch",
            message: format!("a {} needs a branch", new.role.as_str().replace('_', " ")),
        });
    }
    if let Some(m) = new.manager_id {
        if !staff::exists(write, m).await? {
            invalid.push(Invalid {
                field: "manager_id",
                message: "no such user".into(),
            });
        }
    }
    if let Some(e) = &email {
        if let Err(why) = check_password(new.password, e) {
            invalid.push(Invalid {
                field: "password",
                message: why.message,
            });
        }
    }
    let (Some(email), Some(name), true) = (email, name, invalid.is_empty()) else {
        return Err(RegisterError::Invalid(invalid));
    };
    let user_id = Uuid::now_v7();
    if !reserve_email(&write.db, email.as_str(), user_id).await? {
        return Err(RegisterError::EmailTaken);
    }
    let outcome = async {
        let hash = crate::passwords::hash(new.password.to_string()).await?;
        let command = UserCommand::Register {
            user_id,
            profile: UserProfile {
                email: email.clone(),
                name,
                role: new.role,
                branch,
                manager_id: new.manager_id,
            },
            password_hash: hash,
            must_change_password: new.must_change_password,
        };
        write
            .users
            .create(&user_id.to_string(), command, meta)
            .await
            .map_err(RegisterError::from)
    }
    .await;
    match outcome {
        Ok(done) => Ok((user_id, done)),
        Err(e) => {
            let _ = release_email(&write.db, email.as_str(), user_id).await;
            Err(e)
        }
    }
}

/// Registers a user from the command line, with the password the operator chose (no change
/// forced); answers the user's id and the log position, or why not in words.
pub async fn register_operator(
    write: &WriteSide,
    email: &str,
    name: &str,
    role: Role,
    branch: Option<&str>,
    password: &str,
) -> Result<(Uuid, i64), String> {
    let mut meta = EventMetadata::system(None);
    meta.user_agent = Some("crm command line".into());
    let new = NewUser {
        email,
        name,
        role,
        branch,
        manager_id: None,
        password,
        must_change_password: false,
    };
    register(write, &meta, new)
        .await
        .map(|(id, done)| (id, done.position))
        .map_err(|e| e.to_string())
}
