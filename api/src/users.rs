//! Signing in (`/api/auth/*`) and managing staff accounts (`/api/users`).

use std::net::IpAddr;
use std::sync::atomic::Ordering;

use chrono::{DateTime, Utc};
use commands::{CommandError, EventMetadata};
use domain::user::{check_password, Branch, Role, UserCommand, UserError, UserEvent, UserProfile};
use domain::values::{Email, PersonName};
use poem::Request;
use poem_openapi::param::Path;
use poem_openapi::payload::Json;
use poem_openapi::types::{Example, MaybeUndefined};
use poem_openapi::{ApiResponse, Enum, Object, OpenApi};
use projections::users::UserRow;
use uuid::Uuid;

use crate::auth::tokens::{self, ACCESS_TTL_SECONDS};
use crate::auth::{Auth, Principal};
use crate::dto::{Accepted, Str};
use crate::http::{self, AppState, CreatedResponse, DoneResponse, Fields, State};
use crate::leads::ApiTags;
use crate::policy::{self, Action};
use crate::problem::{ApiError, FieldError, ReadError};

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
#[oai(example)]
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
#[oai(example)]
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
#[oai(example)]
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
#[oai(example)]
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
#[oai(example)]
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
#[oai(example)]
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

/// Why a registration failed.
#[derive(Debug, thiserror::Error)]
pub enum RegisterError {
    #[error("{0:?}")]
    Invalid(Vec<FieldError>),
    #[error("a user with this e-mail address exists")]
    EmailTaken,
    #[error("{0}")]
    Failed(String),
}

/// Registers a user (for the API, `crm user create` and `crm seed`): checks the fields and the
/// password policy, reserves the e-mail address, hashes the password, appends the event.
#[allow(clippy::too_many_arguments)]
pub async fn register(
    db: &commands::Db,
    users: &commands::Executor<domain::user::User>,
    meta: &EventMetadata,
    email: &str,
    name: &str,
    role: Role,
    branch: Option<&str>,
    manager_id: Option<Uuid>,
    password: &str,
    must_change_password: bool,
) -> Result<(Uuid, i64), RegisterError> {
    let mut f = Fields::default();
    let email = f.take("email", Email::parse(email));
    let name = f.take("name", PersonName::parse(name));
    let branch = branch.and_then(|b| f.take("branch", Branch::parse(b)));
    if role.needs_branch() && branch.is_none() && !f.errors.iter().any(|e| e.field == "branch") {
        f.errors.push(FieldError::new(
            "branch",
            format!("a {} needs a branch", role.as_str().replace('_', " ")),
        ));
    }
    if let Some(e) = &email {
        if let Err(why) = check_password(password, e) {
            f.errors.push(FieldError::new("password", why.message));
        }
    }
    if !f.errors.is_empty() {
        return Err(RegisterError::Invalid(f.errors));
    }
    let (email, name) = (email.expect("checked"), name.expect("checked"));
    let user_id = Uuid::now_v7();
    if !commands::users::reserve_email(db, email.as_str(), user_id)
        .await
        .map_err(|e| RegisterError::Failed(e.to_string()))?
    {
        return Err(RegisterError::EmailTaken);
    }
    let outcome = async {
        let hash = commands::passwords::hash(password.to_string())
            .await
            .map_err(|e| RegisterError::Failed(e.to_string()))?;
        let command = UserCommand::Register {
            user_id,
            profile: UserProfile {
                email: email.clone(),
                name,
                role,
                branch,
                manager_id,
            },
            password_hash: hash,
            must_change_password,
        };
        users
            .create(&user_id.to_string(), command, meta)
            .await
            .map_err(|e| RegisterError::Failed(e.to_string()))
    }
    .await;
    match outcome {
        Ok(done) => Ok((user_id, done.position)),
        Err(e) => {
            let _ = commands::users::release_email(db, email.as_str(), user_id).await;
            Err(e)
        }
    }
}

fn register_error(e: RegisterError) -> ApiError {
    match e {
        RegisterError::Invalid(errors) => ApiError::validation(errors),
        RegisterError::EmailTaken => ApiError::conflict(
            "email-taken",
            "a user with this e-mail address exists already",
        ),
        RegisterError::Failed(e) => ApiError::internal(e),
    }
}

fn user_error(state: &AppState, e: CommandError<UserError>) -> ApiError {
    match e {
        CommandError::Rejected(e) => match e {
            UserError::NotFound => ApiError::not_found("user"),
            UserError::BranchRequired(_) => {
                ApiError::validation(vec![FieldError::new("branch", e.to_string())])
            }
            UserError::AlreadyInState(_) | UserError::AlreadyExists => {
                ApiError::conflict("user-state", e.to_string())
            }
            UserError::Inactive => ApiError::conflict("user-inactive", e.to_string()),
            UserError::Locked { until } => {
                let secs = (until - Utc::now()).num_seconds().max(1) as u64;
                ApiError::too_many("the account is locked after repeated failed logins", secs)
            }
            UserError::InvalidRefresh => ApiError::unauthorized("the refresh token is not valid"),
        },
        CommandError::Conflict => {
            state.metrics.conflicts.fetch_add(1, Ordering::Relaxed);
            ApiError::conflict(
                "concurrent-change",
                "the user was changed concurrently; retry",
            )
        }
        CommandError::VersionMismatch { .. } => ApiError::precondition_failed(e.to_string()),
        CommandError::Store(e) => ApiError::internal(e),
    }
}

const BAD_LOGIN: &str = "the e-mail address or the password is wrong";

pub struct AuthApi {
    pub state: State,
}

impl AuthApi {
    fn client_ip(req: &Request) -> Option<IpAddr> {
        req.remote_addr().as_socket_addr().map(|a| a.ip())
    }

    /// The per-address limit on login and refresh attempts.
    fn limit(&self, req: &Request) -> Result<(), ApiError> {
        let Some(ip) = Self::client_ip(req) else {
            return Ok(());
        };
        if let Err(not_until) = self.state.auth_limiter.check_key(&ip) {
            use governor::clock::Clock;
            let wait = not_until.wait_time_from(governor::clock::DefaultClock::default().now());
            return Err(ApiError::too_many(
                "too many sign-in attempts from this address",
                wait.as_secs() + 1,
            ));
        }
        Ok(())
    }

    async fn tokens_for(
        &self,
        user_id: Uuid,
        family: Uuid,
        refresh_token: String,
        refresh_expires_at: DateTime<Utc>,
        position: i64,
    ) -> Result<TokenPair, ApiError> {
        let (user, _) = self
            .state
            .users
            .load(&user_id.to_string())
            .await
            .map_err(ApiError::internal)?;
        let profile = user
            .profile
            .as_ref()
            .ok_or_else(|| ApiError::unauthorized(BAD_LOGIN))?;
        let access = self.state.tokens.issue(
            user_id,
            profile.role.as_str(),
            user.token_version,
            family,
            position,
            Utc::now(),
        );
        Ok(TokenPair {
            access_token: access,
            token_type: "Bearer".into(),
            expires_in: ACCESS_TTL_SECONDS,
            refresh_token,
            refresh_expires_at,
            must_change_password: user.must_change_password,
            user_id,
            role: profile.role.as_str().into(),
        })
    }
}

#[OpenApi]
impl AuthApi {
    /// Sign in
    ///
    /// Answers a 15-minute access token and a 12-hour refresh token. Five wrong passwords for
    /// one account within 15 minutes lock it for 15 minutes (429 with `Retry-After`); each
    /// address is also limited in how many attempts it makes per minute. Every attempt on an
    /// account is recorded as an event.
    #[oai(path = "/api/auth/login", method = "post", tag = "ApiTags::Auth")]
    async fn login(
        &self,
        req: &Request,
        body: Json<LoginRequest>,
    ) -> Result<TokenResponse, ApiError> {
        self.limit(req)?;
        let email = body.email.trim().to_lowercase();
        if email.is_empty() || body.password.is_empty() || body.password.len() > 1024 {
            return Err(ApiError::unauthorized(BAD_LOGIN));
        }
        let user_id = commands::users::user_by_email(&self.state.db, &email)
            .await
            .map_err(ApiError::internal)?;
        let Some(user_id) = user_id else {
            // The same work as for a real account, so timing does not tell which exist.
            commands::passwords::verify(body.password.0.clone(), None).await;
            return Err(ApiError::unauthorized(BAD_LOGIN));
        };
        let id = user_id.to_string();
        let (user, _) = self
            .state
            .users
            .load(&id)
            .await
            .map_err(ApiError::internal)?;
        if let Some(until) = user.locked_until.filter(|u| *u > Utc::now()) {
            let secs = (until - Utc::now()).num_seconds().max(1) as u64;
            return Err(ApiError::too_many(
                "the account is locked after repeated failed logins",
                secs,
            ));
        }
        let ok =
            commands::passwords::verify(body.password.0.clone(), Some(user.password_hash.clone()))
                .await;
        let family = Uuid::now_v7();
        let (refresh, refresh_hash) = tokens::new_refresh(user_id, family);
        let expires = tokens::refresh_expiry(Utc::now());
        let mut meta = http::metadata(req);
        meta.actor_id = id.clone();
        meta.actor_role = user
            .profile
            .as_ref()
            .map(|p| p.role.as_str().to_string())
            .unwrap_or_default();
        let (done, events) = self
            .state
            .users
            .execute_events(
                &id,
                UserCommand::Login {
                    password_ok: ok,
                    family_id: family,
                    refresh_hash,
                    refresh_expires_at: expires,
                },
                &meta,
            )
            .await
            .map_err(|e| match e {
                CommandError::Rejected(UserError::Inactive) => ApiError::unauthorized(BAD_LOGIN),
                other => user_error(&self.state, other),
            })?;
        match events.first() {
            Some(UserEvent::LoginSucceeded { .. }) => {
                let pair = self
                    .tokens_for(user_id, family, refresh, expires, done.position)
                    .await?;
                Ok(TokenResponse::Ok(Json(pair)))
            }
            _ => Err(ApiError::unauthorized(BAD_LOGIN)),
        }
    }

    /// Refresh the tokens
    ///
    /// Trades a refresh token for a new access token and a new refresh token. Each refresh
    /// token works once: presenting one that was already traded revokes its whole session
    /// (someone may have copied it), and both holders must sign in again.
    #[oai(path = "/api/auth/refresh", method = "post", tag = "ApiTags::Auth")]
    async fn refresh(
        &self,
        req: &Request,
        body: Json<RefreshRequest>,
    ) -> Result<TokenResponse, ApiError> {
        self.limit(req)?;
        let Some((user_id, family, presented)) = tokens::parse_refresh(&body.refresh_token) else {
            return Err(ApiError::unauthorized("the refresh token is not valid"));
        };
        let (new_token, new_hash) = tokens::new_refresh(user_id, family);
        let expires = tokens::refresh_expiry(Utc::now());
        let mut meta = http::metadata(req);
        meta.actor_id = user_id.to_string();
        let (done, events) = self
            .state
            .users
            .execute_events(
                &user_id.to_string(),
                UserCommand::Refresh {
                    family_id: family,
                    presented_hash: presented,
                    new_hash,
                    expires_at: expires,
                },
                &meta,
            )
            .await
            .map_err(|e| match e {
                CommandError::Rejected(UserError::NotFound | UserError::Inactive) => {
                    ApiError::unauthorized("the refresh token is not valid")
                }
                other => user_error(&self.state, other),
            })?;
        match events.first() {
            Some(UserEvent::RefreshTokenRotated { .. }) => {
                let pair = self
                    .tokens_for(user_id, family, new_token, expires, done.position)
                    .await?;
                Ok(TokenResponse::Ok(Json(pair)))
            }
            _ => {
                // The session ends before the answer: its access tokens stop working too.
                http::wait_for_in(&self.state, projections::users::NAME, Some(done.position))
                    .await?;
                Err(ApiError::unauthorized(
                    "this refresh token was used before; the session is revoked, sign in again",
                ))
            }
        }
    }

    /// Sign out
    ///
    /// Ends the session of the access token: its refresh token stops working at once, and so
    /// does the access token once the answer is given.
    #[oai(path = "/api/auth/logout", method = "post", tag = "ApiTags::Auth")]
    async fn logout(&self, req: &Request, auth: Auth) -> Result<DoneResponse, ApiError> {
        let p = auth.0;
        let meta = http::metadata(req);
        let done = self
            .state
            .users
            .execute(
                &p.user_id.to_string(),
                UserCommand::Logout {
                    family_id: p.family,
                },
                &meta,
                None,
            )
            .await
            .map_err(|e| user_error(&self.state, e))?;
        http::wait_for_in(&self.state, projections::users::NAME, Some(done.position)).await?;
        Ok(DoneResponse::Done(Json(Accepted {
            id: p.user_id,
            position: done.position,
            client_id: None,
        })))
    }

    /// Who am I
    ///
    /// The signed-in user's account.
    #[oai(path = "/api/auth/me", method = "get", tag = "ApiTags::Auth")]
    async fn me(&self, auth: Auth) -> Result<UserResponse, ReadError> {
        let row = projections::users::get(&self.state.db, auth.0.user_id)
            .await
            .map_err(ApiError::internal)?
            .ok_or_else(|| ApiError::not_found("user"))?;
        Ok(UserResponse::Ok(Json((&row).into())))
    }

    /// Change my password
    ///
    /// Needs the current password. Other sessions' access tokens stop working; sign in again
    /// with the new password.
    #[oai(path = "/api/auth/password", method = "post", tag = "ApiTags::Auth")]
    async fn change_password(
        &self,
        req: &Request,
        auth: Auth,
        body: Json<PasswordChange>,
    ) -> Result<DoneResponse, ApiError> {
        let p = auth.0;
        self.limit(req)?;
        let id = p.user_id.to_string();
        let (user, _) = self
            .state
            .users
            .load(&id)
            .await
            .map_err(ApiError::internal)?;
        let profile = user
            .profile
            .as_ref()
            .ok_or_else(|| ApiError::not_found("user"))?;
        if let Some(until) = user.locked_until.filter(|u| *u > Utc::now()) {
            let secs = (until - Utc::now()).num_seconds().max(1) as u64;
            return Err(ApiError::too_many(
                "the account is locked after repeated failed attempts",
                secs,
            ));
        }
        if !commands::passwords::verify(
            body.current_password.0.clone(),
            Some(user.password_hash.clone()),
        )
        .await
        {
            // A wrong current password counts like a failed login (and can lock the account).
            self.state
                .users
                .execute_events(
                    &id,
                    UserCommand::Login {
                        password_ok: false,
                        family_id: Uuid::now_v7(),
                        refresh_hash: String::new(),
                        refresh_expires_at: Utc::now(),
                    },
                    &http::metadata(req),
                )
                .await
                .map_err(|e| user_error(&self.state, e))?;
            return Err(ApiError::validation(vec![FieldError::new(
                "current_password",
                "is wrong",
            )]));
        }
        if let Err(why) = check_password(&body.new_password, &profile.email) {
            return Err(ApiError::validation(vec![FieldError::new(
                "new_password",
                why.message,
            )]));
        }
        if body.new_password.0 == body.current_password.0 {
            return Err(ApiError::validation(vec![FieldError::new(
                "new_password",
                "must differ from the current password",
            )]));
        }
        let hash = commands::passwords::hash(body.new_password.0.clone())
            .await
            .map_err(ApiError::internal)?;
        let done = self
            .state
            .users
            .execute(
                &id,
                UserCommand::ChangePassword {
                    password_hash: hash,
                },
                &http::metadata(req),
                None,
            )
            .await
            .map_err(|e| user_error(&self.state, e))?;
        // Every session of the user ends before the answer.
        http::wait_for_in(&self.state, projections::users::NAME, Some(done.position)).await?;
        Ok(DoneResponse::Done(Json(Accepted {
            id: p.user_id,
            position: done.position,
            client_id: None,
        })))
    }
}

pub struct UsersApi {
    pub state: State,
}

impl UsersApi {
    async fn run(
        &self,
        req: &Request,
        p: &Principal,
        id: Uuid,
        command: UserCommand,
    ) -> Result<DoneResponse, ApiError> {
        policy::require(p, Action::UserManage)?;
        let done = self
            .state
            .users
            .execute(
                &id.to_string(),
                command,
                &http::metadata(req),
                http::if_match(req)?,
            )
            .await
            .map_err(|e| user_error(&self.state, e))?;
        // Role, branch, password and active state decide access: the change holds before the
        // answer is given.
        http::wait_for_in(&self.state, projections::users::NAME, Some(done.position)).await?;
        Ok(DoneResponse::Done(Json(Accepted {
            id,
            position: done.position,
            client_id: None,
        })))
    }

    fn visible(p: &Principal, row: &UserRow) -> bool {
        p.role == Role::Admin
            || p.role == Role::ComplianceOfficer
            || (p.role == Role::BranchManager && p.branch.is_some() && row.branch == p.branch)
    }
}

#[OpenApi]
impl UsersApi {
    /// Create a user
    ///
    /// Admins only. The password given is temporary: the user must change it at first login.
    #[oai(path = "/api/users", method = "post", tag = "ApiTags::Users")]
    async fn create(
        &self,
        req: &Request,
        auth: Auth,
        body: Json<NewUser>,
    ) -> Result<CreatedResponse, ApiError> {
        policy::require(&auth.0, Action::UserManage)?;
        let (id, position) = register(
            &self.state.db,
            &self.state.users,
            &http::metadata(req),
            &body.email,
            &body.name,
            body.role.into(),
            body.branch.as_deref(),
            body.manager_id,
            &body.password,
            true,
        )
        .await
        .map_err(register_error)?;
        Ok(CreatedResponse::Created(
            Json(Accepted {
                id,
                position,
                client_id: None,
            }),
            format!("/api/users/{id}"),
        ))
    }

    /// List users
    ///
    /// Admins and compliance officers see everyone; branch managers see their branch.
    #[oai(path = "/api/users", method = "get", tag = "ApiTags::Users")]
    async fn list(
        &self,
        req: &Request,
        auth: Auth,
        /// Wait until the read model has this log position (read your own writes).
        min_position: poem_openapi::param::Query<Option<i64>>,
    ) -> Result<UserListResponse, ReadError> {
        policy::require(&auth.0, Action::UserRead)?;
        http::wait_for_in(
            &self.state,
            projections::users::NAME,
            http::min_position(min_position.0, req)?,
        )
        .await?;
        let rows = projections::users::list(&self.state.db, None, None, false)
            .await
            .map_err(ApiError::internal)?;
        let items: Vec<UserOut> = rows
            .iter()
            .filter(|r| Self::visible(&auth.0, r))
            .map(Into::into)
            .collect();
        Ok(UserListResponse::Ok(Json(UserList {
            total: items.len() as i64,
            items,
            next_cursor: None,
        })))
    }

    /// Get a user
    #[oai(path = "/api/users/:id", method = "get", tag = "ApiTags::Users")]
    async fn get(
        &self,
        req: &Request,
        auth: Auth,
        /// The user's id.
        id: Path<Uuid>,
        /// Wait until the read model has this log position (read your own writes).
        min_position: poem_openapi::param::Query<Option<i64>>,
    ) -> Result<UserResponse, ReadError> {
        policy::require(&auth.0, Action::UserRead)?;
        http::wait_for_in(
            &self.state,
            projections::users::NAME,
            http::min_position(min_position.0, req)?,
        )
        .await?;
        let row = projections::users::get(&self.state.db, id.0)
            .await
            .map_err(ApiError::internal)?
            .filter(|r| Self::visible(&auth.0, r))
            .ok_or_else(|| ApiError::not_found("user"))?;
        Ok(UserResponse::Ok(Json((&row).into())))
    }

    /// Change a user's name, role, branch or manager
    ///
    /// Admins only. A change of role or branch ends the user's current access tokens.
    #[oai(path = "/api/users/:id", method = "patch", tag = "ApiTags::Users")]
    async fn update(
        &self,
        req: &Request,
        auth: Auth,
        /// The user's id.
        id: Path<Uuid>,
        body: Json<UserPatch>,
    ) -> Result<DoneResponse, ApiError> {
        policy::require(&auth.0, Action::UserManage)?;
        let mut f = Fields::default();
        let name = match &body.name {
            MaybeUndefined::Value(n) => f.take("name", PersonName::parse(n)),
            MaybeUndefined::Null => {
                f.errors.push(FieldError::new("name", "cannot be cleared"));
                None
            }
            MaybeUndefined::Undefined => None,
        };
        let role = match &body.role {
            MaybeUndefined::Value(r) => Some(Role::from(*r)),
            MaybeUndefined::Null => {
                f.errors.push(FieldError::new("role", "cannot be cleared"));
                None
            }
            MaybeUndefined::Undefined => None,
        };
        let branch = match &body.branch {
            MaybeUndefined::Value(b) => f.take("branch", Branch::parse(b)).map(Some),
            MaybeUndefined::Null => Some(None),
            MaybeUndefined::Undefined => None,
        };
        let manager_id = match &body.manager_id {
            MaybeUndefined::Value(m) => Some(Some(*m)),
            MaybeUndefined::Null => Some(None),
            MaybeUndefined::Undefined => None,
        };
        f.finish()?;
        self.run(
            req,
            &auth.0,
            id.0,
            UserCommand::Update {
                name,
                role,
                branch,
                manager_id,
            },
        )
        .await
    }

    /// Deactivate a user
    ///
    /// Admins only. The user can no longer sign in; their sessions end at once.
    #[oai(
        path = "/api/users/:id/deactivate",
        method = "post",
        tag = "ApiTags::Users"
    )]
    async fn deactivate(
        &self,
        req: &Request,
        auth: Auth,
        /// The user's id.
        id: Path<Uuid>,
    ) -> Result<DoneResponse, ApiError> {
        if id.0 == auth.0.user_id {
            return Err(ApiError::conflict(
                "self-deactivation",
                "an admin cannot deactivate their own account",
            ));
        }
        self.run(req, &auth.0, id.0, UserCommand::Deactivate).await
    }

    /// Reactivate a user
    #[oai(
        path = "/api/users/:id/reactivate",
        method = "post",
        tag = "ApiTags::Users"
    )]
    async fn reactivate(
        &self,
        req: &Request,
        auth: Auth,
        /// The user's id.
        id: Path<Uuid>,
    ) -> Result<DoneResponse, ApiError> {
        self.run(req, &auth.0, id.0, UserCommand::Reactivate).await
    }

    /// Reset a user's password
    ///
    /// Admins only. Sets a temporary password the user must change at the next login; their
    /// sessions end and a lockout is lifted.
    #[oai(
        path = "/api/users/:id/reset-password",
        method = "post",
        tag = "ApiTags::Users"
    )]
    async fn reset_password(
        &self,
        req: &Request,
        auth: Auth,
        /// The user's id.
        id: Path<Uuid>,
        body: Json<PasswordReset>,
    ) -> Result<DoneResponse, ApiError> {
        policy::require(&auth.0, Action::UserManage)?;
        let (user, _) = self
            .state
            .users
            .load(&id.0.to_string())
            .await
            .map_err(ApiError::internal)?;
        let profile = user
            .profile
            .as_ref()
            .ok_or_else(|| ApiError::not_found("user"))?;
        if let Err(why) = check_password(&body.password, &profile.email) {
            return Err(ApiError::validation(vec![FieldError::new(
                "password",
                why.message,
            )]));
        }
        let hash = commands::passwords::hash(body.password.0.clone())
            .await
            .map_err(ApiError::internal)?;
        self.run(
            req,
            &auth.0,
            id.0,
            UserCommand::ResetPassword {
                password_hash: hash,
            },
        )
        .await
    }
}
