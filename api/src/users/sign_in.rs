//! `/api/auth/*`: signing in and out, refreshing tokens, changing one's password.

use std::net::IpAddr;

use chrono::{DateTime, Utc};
use commands::users::sign_in::{
    self, Attempt, PasswordChangeError, RefreshError, Refreshed, SignInError,
};
use domain::user::User;
use poem::Request;
use poem_openapi::payload::Json;

use poem_openapi::OpenApi;
use uuid::Uuid;

use crate::auth::tokens::{self, ACCESS_TTL_SECONDS};
use crate::auth::Auth;
use crate::http::{self, DoneResponse, State};
use crate::leads::ApiTags;
use crate::problem::{ApiError, ReadError};

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
        let exchange = sign_in::Exchange {
            user_id,
            family,
            presented_hash: presented,
            new_hash,
            expires_at: expires,
        };
        match sign_in::refresh(&self.state.write, exchange, http::metadata(req)).await {
            Ok(Refreshed::Rotated { user, done }) => {
                let pair =
                    self.tokens_for(&user, user_id, family, new_token, expires, done.position)?;
                Ok(TokenResponse::Ok(Json(pair)))
            }
            Ok(Refreshed::Revoked { done }) => {
                // The session ends before the answer: its access tokens stop working too.
                http::wait_for_in(&self.state, projections::users::NAME, Some(done.position))
                    .await?;
                Err(ApiError::unauthorized(
                    "this refresh token was used before; the session is revoked, sign in again",
                ))
            }
            Err(RefreshError::Invalid) => {
                Err(ApiError::unauthorized("the refresh token is not valid"))
            }
            Err(RefreshError::Command(e)) => Err(e.into()),
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
        let done =
            sign_in::logout(&self.state.write, p.user_id, p.family, &http::metadata(req)).await?;
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
        let meta = http::metadata(req);
        let (current, new) = (&body.current_password.0, &body.new_password.0);
        let field = |name: &str, why: String| ApiError::field(name, why);
        let done = match sign_in::change_password(&self.state.write, p.user_id, current, new, &meta)
            .await
        {
            Ok(done) => done,
            Err(PasswordChangeError::NotFound) => return Err(ApiError::not_found("user")),
            Err(PasswordChangeError::Locked(until)) => return Err(locked(until)),
            Err(PasswordChangeError::WrongCurrent) => {
                return Err(field("current_password", "is wrong".into()))
            }
            Err(PasswordChangeError::Weak(why)) => return Err(field("new_password", why)),
            Err(e @ PasswordChangeError::Unchanged) => {
                return Err(field("new_password", e.to_string()))
            }
            Err(PasswordChangeError::Command(e)) => return Err(e.into()),
            Err(e @ PasswordChangeError::Hashing(_)) => return Err(ApiError::internal(e)),
        };
        // Every session of the user ends before the answer.
        settled(&self.state, p.user_id, done).await
    }
}
