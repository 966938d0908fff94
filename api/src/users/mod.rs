//! Signing in (`/api/auth/*`) and managing staff accounts (`/api/users`).

use chrono::{DateTime, Utc};
use domain::user::Role;
use poem_openapi::payload::Json;
use poem_openapi::types::{Example, MaybeUndefined};
use poem_openapi::{ApiResponse, Enum, Object};
use projections::users::UserRow;
use uuid::Uuid;

use crate::auth::tokens::ACCESS_TTL_SECONDS;
use crate::dto::{Accepted, Str};
use crate::http::{self, AppState, DoneResponse};
use crate::problem::{ApiError, FieldError};

/// A staff role.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
#[oai(rename_all = "snake_case")]
pub enum RoleDto {
    Admin,
    BranchManager,
    RelationshipManager,
    ComplianceOfficer,
    Auditor,
}

impl From<Role> for RoleDto {
    fn from(r: Role) -> Self {
        match r {
            Role::Admin => RoleDto::Admin,
            Role::BranchManager => RoleDto::BranchManager,
            Role::RelationshipManager => RoleDto::RelationshipManager,
            Role::ComplianceOfficer => RoleDto::ComplianceOfficer,
            Role::Auditor => RoleDto::Auditor,
        }
    }
}

impl From<RoleDto> for Role {
    fn from(r: RoleDto) -> Self {
        match r {
            RoleDto::Admin => Role::Admin,
            RoleDto::BranchManager => Role::BranchManager,
            RoleDto::RelationshipManager => Role::RelationshipManager,
            RoleDto::ComplianceOfficer => Role::ComplianceOfficer,
            RoleDto::Auditor => Role::Auditor,
        }
    }
}

#[derive(Debug, Clone, Object)]
#[oai(example, deny_unknown_fields)]
pub struct LoginRequest {
    pub email: Str,
    pub password: Str,
}

impl Example for LoginRequest {
    fn example() -> Self {
        Self {
            email: "admin@broker.example".into(),
            password: "correct horse battery staple".into(),
        }
    }
}

#[derive(Debug, Clone, Object)]
#[oai(example, deny_unknown_fields)]
pub struct RefreshRequest {
    /// The refresh token from the last login or refresh (each is good for one use).
    pub refresh_token: Str,
}

impl Example for RefreshRequest {
    fn example() -> Self {
        Self {
            refresh_token: "rt1.0193…".into(),
        }
    }
}

/// Tokens for a signed-in user.
#[derive(Debug, Clone, Object)]
#[oai(example)]
pub struct TokenPair {
    /// Send as `Authorization: Bearer …`; valid for `expires_in` seconds.
    pub access_token: String,
    pub token_type: String,
    pub expires_in: i64,
    /// Trade it for new tokens at `POST /api/auth/refresh` before it ends; one use only.
    pub refresh_token: String,
    pub refresh_expires_at: DateTime<Utc>,
    /// The user must choose a new password (`POST /api/auth/password`) before anything else.
    pub must_change_password: bool,
    pub user_id: Uuid,
    pub role: String,
}

impl Example for TokenPair {
    fn example() -> Self {
        Self {
            access_token: "eyJhbGciOiJIUzI1NiJ9…".into(),
            token_type: "Bearer".into(),
            expires_in: ACCESS_TTL_SECONDS,
            refresh_token: "rt1.0193…".into(),
            refresh_expires_at: DateTime::parse_from_rfc3339("2026-11-30T22:00:00Z")
                .expect("valid")
                .with_timezone(&Utc),
            must_change_password: false,
            user_id: Uuid::from_u128(0x0193_5e2a_41c7_7b3e_9a10_44d2_6f8e_5b21),
            role: "relationship_manager".into(),
        }
    }
}

#[derive(Debug, Clone, Object)]
#[oai(example, deny_unknown_fields)]
pub struct PasswordChange {
    pub current_password: Str,
    /// At least 12 characters, not the e-mail address.
    pub new_password: Str,
}

impl Example for PasswordChange {
    fn example() -> Self {
        Self {
            current_password: "the one the admin gave".into(),
            new_password: "a long phrase only I know".into(),
        }
    }
}

#[derive(Debug, Clone, Object)]
#[oai(example, deny_unknown_fields)]
pub struct NewUser {
    pub email: Str,
    pub name: Str,
    pub role: RoleDto,
    /// Required for branch managers and relationship managers.
    pub branch: Option<Str>,
    pub manager_id: Option<Uuid>,
    /// A first password; the user must change it at first login.
    pub password: Str,
}

impl Example for NewUser {
    fn example() -> Self {
        Self {
            email: "ravi.kumar@broker.example".into(),
            name: "Ravi Kumar".into(),
            role: RoleDto::RelationshipManager,
            branch: Some("MUM-ANDHERI".into()),
            manager_id: None,
            password: "temporary pass 2026".into(),
        }
    }
}

#[derive(Debug, Clone, Object)]
#[oai(example, deny_unknown_fields)]
pub struct UserPatch {
    pub name: MaybeUndefined<Str>,
    pub role: MaybeUndefined<RoleDto>,
    /// `null` clears it (not allowed for branch and relationship managers).
    pub branch: MaybeUndefined<Str>,
    pub manager_id: MaybeUndefined<Uuid>,
}

impl Example for UserPatch {
    fn example() -> Self {
        Self {
            name: MaybeUndefined::Undefined,
            role: MaybeUndefined::Value(RoleDto::BranchManager),
            branch: MaybeUndefined::Value("MUM-ANDHERI".into()),
            manager_id: MaybeUndefined::Undefined,
        }
    }
}

#[derive(Debug, Clone, Object)]
#[oai(example, deny_unknown_fields)]
pub struct PasswordReset {
    /// The new password; the user must change it at the next login.
    pub password: Str,
}

impl Example for PasswordReset {
    fn example() -> Self {
        Self {
            password: "temporary pass 2027".into(),
        }
    }
}

#[derive(Debug, Clone, Object)]
#[oai(example)]
pub struct UserOut {
    pub id: Uuid,
    pub email: String,
    pub name: String,
    pub role: String,
    pub branch: Option<String>,
    pub manager_id: Option<String>,
    pub active: bool,
    pub must_change_password: bool,
    pub last_login_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub version: i64,
}

impl Example for UserOut {
    fn example() -> Self {
        let at = DateTime::parse_from_rfc3339("2026-11-30T10:00:00Z")
            .expect("valid")
            .with_timezone(&Utc);
        Self {
            id: Uuid::from_u128(0x0193_5e2a_41c7_7b3e_9a10_44d2_6f8e_5b21),
            email: "ravi.kumar@broker.example".into(),
            name: "Ravi Kumar".into(),
            role: "relationship_manager".into(),
            branch: Some("MUM-ANDHERI".into()),
            manager_id: None,
            active: true,
            must_change_password: false,
            last_login_at: Some(at),
            created_at: at,
            updated_at: at,
            version: 3,
        }
    }
}

impl From<&UserRow> for UserOut {
    fn from(r: &UserRow) -> Self {
        Self {
            id: Uuid::parse_str(&r.user_id).unwrap_or_default(),
            email: r.email.clone(),
            name: r.name.clone(),
            role: r.role.clone(),
            branch: r.branch.clone(),
            manager_id: r.manager_id.clone(),
            active: r.active,
            must_change_password: r.must_change_password,
            last_login_at: r.last_login_at,
            created_at: r.created_at,
            updated_at: r.updated_at,
            version: r.version,
        }
    }
}

#[derive(Debug, Clone, Object)]
#[oai(example)]
pub struct UserList {
    pub items: Vec<UserOut>,
    /// Always absent: staff lists come in one page.
    pub next_cursor: Option<String>,
    pub total: i64,
}

#[derive(Debug, ApiResponse)]
pub enum TokenResponse {
    /// Signed in.
    #[oai(status = 200)]
    Ok(Json<TokenPair>),
}

#[derive(Debug, ApiResponse)]
pub enum UserResponse {
    /// The user.
    #[oai(status = 200)]
    Ok(Json<UserOut>),
}

#[derive(Debug, ApiResponse)]
pub enum UserListResponse {
    /// The users, by name.
    #[oai(status = 200)]
    Ok(Json<UserList>),
}

pub(super) use commands::users::RegisterError;

pub(super) fn register_error(e: RegisterError) -> ApiError {
    match e {
        RegisterError::Invalid(errors) => ApiError::validation(
            errors
                .into_iter()
                .map(|i| FieldError::new(i.field, i.message))
                .collect(),
        ),
        RegisterError::EmailTaken => ApiError::conflict(
            "email-taken",
            "a user with this e-mail address exists already",
        ),
        RegisterError::Lookup(e) => ApiError::internal(e),
        RegisterError::Store(e) => ApiError::internal(e),
        RegisterError::Hashing(e) => ApiError::internal(e),
        RegisterError::Command(e) => e.into(),
    }
}

/// 429 for an account locked until `until`.
pub(super) fn locked(until: DateTime<Utc>) -> ApiError {
    let secs = (until - Utc::now()).num_seconds().max(1) as u64;
    // The same words whether or not the e-mail address is anyone's.
    ApiError::too_many(
        "too many failed sign-ins for this e-mail address from this address; try again later",
        secs,
    )
}

/// The answer to a command on user `id` that changes access: it holds (the users read model
/// has it) before the answer is given.
pub(super) async fn settled(
    state: &AppState,
    id: Uuid,
    done: commands::Committed,
) -> Result<DoneResponse, ApiError> {
    http::wait_for_in(state, projections::users::NAME, Some(done.position)).await?;
    Ok(DoneResponse::Done(Json(Accepted::of(id, &done))))
}

pub(super) const BAD_LOGIN: &str = "the e-mail address or the password is wrong";

mod sign_in;
mod staff;

pub use sign_in::AuthApi;
pub use staff::UsersApi;

impl Example for UserList {
    fn example() -> Self {
        Self {
            items: vec![UserOut::example()],
            next_cursor: None,
            total: 1,
        }
    }
}
