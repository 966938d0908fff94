//! `/api/auth/*`: signing in and out, refreshing tokens, changing one's password.

use std::net::IpAddr;

use chrono::{DateTime, Utc};
use commands::users::sign_in::{self, Attempt, SignInError};
use commands::CommandError;
use domain::user::{check_password, User, UserCommand, UserError, UserEvent};
use poem::Request;
use poem_openapi::payload::Json;

use poem_openapi::OpenApi;
use uuid::Uuid;

use crate::auth::tokens::{self, ACCESS_TTL_SECONDS};
use crate::auth::Auth;
use crate::http::{self, DoneResponse, State};
use crate::leads::ApiTags;
use crate::problem::{ApiError, FieldError, ReadError};

use super::{
    locked, settled, LoginRequest, PasswordChange, RefreshRequest, TokenPair, TokenResponse,
    UserResponse, BAD_LOGIN,
};

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

    /// Tokens for `user` (as folded before or after the sign-in: role, token version and the
    /// password-change flag are what count, and signing in changes none of them).
    #[allow(clippy::too_many_arguments)]
    fn tokens_for(
        &self,
        user: &User,
        user_id: Uuid,
        family: Uuid,
        refresh_token: String,
        refresh_expires_at: DateTime<Utc>,
        position: i64,
    ) -> Result<TokenPair, ApiError> {
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
    #[oai(
        path = "/api/auth/login",
        method = "post",
        tag = "ApiTags::Auth",
        operation_id = "login"
    )]
    async fn login(
        &self,
        req: &Request,
        body: Json<LoginRequest>,
    ) -> Result<TokenResponse, ApiError> {
        self.limit(req)?;
        let family = Uuid::now_v7();
        let (secret, refresh_hash) = tokens::new_refresh_secret();
        let expires = tokens::refresh_expiry(Utc::now());
        let attempt = Attempt {
            email: &body.email,
            password: &body.password,
            family,
            refresh_hash,
            refresh_expires_at: expires,
        };
        match sign_in::login(&self.state.write, attempt, http::metadata(req)).await {
            Ok(signed_in) => {
                let refresh = tokens::refresh_token(signed_in.user_id, family, &secret);
                let pair = self.tokens_for(
                    &signed_in.user,
                    signed_in.user_id,
                    family,
                    refresh,
                    expires,
                    signed_in.done.position,
                )?;
                Ok(TokenResponse::Ok(Json(pair)))
            }
            Err(SignInError::Refused) => Err(ApiError::unauthorized(BAD_LOGIN)),
            Err(SignInError::Locked(until)) => Err(locked(until)),
            Err(SignInError::Command(e)) => Err(e.into()),
            Err(SignInError::Store(e)) => Err(ApiError::internal(e)),
        }
    }

    /// Refresh the tokens
    ///
    /// Trades a refresh token for a new access token and a new refresh token. Each refresh
    /// token works once: presenting one that was already traded revokes its whole session
    /// (someone may have copied it), and both holders must sign in again.
    #[oai(
        path = "/api/auth/refresh",
        method = "post",
        tag = "ApiTags::Auth",
        operation_id = "refreshToken"
    )]
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
            .write
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
                other => ApiError::from(other),
            })?;
        match events.first() {
            Some(UserEvent::RefreshTokenRotated { .. }) => {
                let (user, _) = self
                    .state
                    .write
                    .users
                    .load(&user_id.to_string())
                    .await
                    .map_err(ApiError::internal)?;
                let pair =
                    self.tokens_for(&user, user_id, family, new_token, expires, done.position)?;
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
    #[oai(
        path = "/api/auth/logout",
        method = "post",
        tag = "ApiTags::Auth",
        operation_id = "logout"
    )]
    async fn logout(&self, req: &Request, auth: Auth) -> Result<DoneResponse, ApiError> {
        let p = auth.0;
        let meta = http::metadata(req);
        let done = self
            .state
            .write
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
            .map_err(ApiError::from)?;
        settled(&self.state, p.user_id, done).await
    }

    /// Who am I
    ///
    /// The signed-in user's account.
    #[oai(
        path = "/api/auth/me",
        method = "get",
        tag = "ApiTags::Auth",
        operation_id = "getCurrentUser"
    )]
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
    #[oai(
        path = "/api/auth/password",
        method = "post",
        tag = "ApiTags::Auth",
        operation_id = "changePassword"
    )]
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
            .write
            .users
            .load(&id)
            .await
            .map_err(ApiError::internal)?;
        let profile = user
            .profile
            .as_ref()
            .ok_or_else(|| ApiError::not_found("user"))?;
        if let Some(until) = user.locked_until.filter(|u| *u > Utc::now()) {
            return Err(locked(until));
        }
        if !commands::passwords::verify(
            body.current_password.0.clone(),
            Some(user.password_hash.clone()),
        )
        .await
        {
            // A wrong current password counts like a failed login (and can lock the account).
            self.state
                .write
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
                .map_err(ApiError::from)?;
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
            .write
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
            .map_err(ApiError::from)?;
        // Every session of the user ends before the answer.
        settled(&self.state, p.user_id, done).await
    }
}
