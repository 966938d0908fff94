//! Who is calling: bearer access tokens checked once per request by the request middleware
//! ([`authenticate`]), and the `Auth` security scheme every protected endpoint takes, which
//! hands the endpoint its [`Principal`] or answers 401/403.

pub mod links;
pub mod tokens;

use std::collections::HashMap;
use std::time::Duration;

use domain::user::Role;
use poem::Request;
use poem_openapi::auth::Bearer;
use poem_openapi::SecurityScheme;
use projections::users::Session;
use uuid::Uuid;

use crate::http::AppState;
use crate::problem::ApiError;

/// The signed-in user a request acts for.
#[derive(Debug, Clone, PartialEq)]
pub struct Principal {
    pub user_id: Uuid,
    pub role: Role,
    pub branch: Option<String>,
    pub must_change_password: bool,
    /// The login session (refresh family) the access token belongs to.
    pub family: Uuid,
}

impl Principal {
    /// The staff member as the domain's access rules know them.
    pub fn actor(&self) -> domain::access::Actor {
        domain::access::Actor {
            user_id: self.user_id,
            role: self.role,
            branch: self.branch.clone(),
        }
    }
}

/// Why a bearer token was not accepted (kept for the 401's detail).
#[derive(Debug, Clone)]
pub struct AuthFailure(pub &'static str);

/// A bearer access token from `POST /api/auth/login`.
#[derive(SecurityScheme)]
#[oai(
    ty = "bearer",
    bearer_format = "JWT",
    checker = "signed_in",
    rename = "bearerAuth"
)]
pub struct Auth(pub Principal);

/// Paths a user who must change their password may still use.
const PASSWORD_CHANGE_PATHS: &[&str] = &["/api/auth/me", "/api/auth/password", "/api/auth/logout"];

async fn signed_in(req: &Request, _bearer: Bearer) -> poem::Result<Principal> {
    use poem::IntoResponse;
    match req.extensions().get::<Principal>() {
        Some(p) => {
            if p.must_change_password && !PASSWORD_CHANGE_PATHS.contains(&req.uri().path()) {
                return Err(poem::Error::from_response(
                    ApiError::password_change_required().into_response(),
                ));
            }
            Ok(p.clone())
        }
        None => {
            let why = req
                .extensions()
                .get::<AuthFailure>()
                .map(|f| f.0)
                .unwrap_or("sign in first: send Authorization: Bearer <access token> (a web form sends its capture key as X-Capture-Key)");
            Err(poem::Error::from_response(
                ApiError::unauthorized(why).into_response(),
            ))
        }
    }
}

/// Checks the request's bearer token, if any, and records the result in its extensions: the
/// [`Principal`] when the token is valid, its user active, the token not superseded (role,
/// branch or password changed since) and its session not logged out; else an [`AuthFailure`].
pub async fn authenticate(state: &AppState, req: &mut Request) {
    let Some(header) = req.headers().get("authorization") else {
        return;
    };
    let token = header
        .to_str()
        .ok()
        .and_then(|h| {
            h.strip_prefix("Bearer ")
                .or_else(|| h.strip_prefix("bearer "))
        })
        .map(str::trim)
        .unwrap_or("");
    match check_token(state, token).await {
        Ok(p) => {
            req.extensions_mut().insert(p);
        }
        Err(why) => {
            req.extensions_mut().insert(AuthFailure(why));
        }
    }
}

async fn check_token(state: &AppState, token: &str) -> Result<Principal, &'static str> {
    if token.is_empty() {
        return Err("send Authorization: Bearer <access token>");
    }
    let claims = state.tokens.verify(token)?;
    let user_id = Uuid::parse_str(&claims.sub).map_err(|_| "the access token is not valid")?;
    let family = Uuid::parse_str(&claims.fam).map_err(|_| "the access token is not valid")?;
    let mut session = load_session(state, user_id, family).await?;
    if session.is_none() {
        // The token was issued a moment ago and the read model has not seen its login yet.
        let _ = state
            .progress
            .wait_for(
                projections::users::NAME,
                claims.pos,
                Duration::from_secs(5).min(state.read_wait),
            )
            .await;
        session = load_session(state, user_id, family).await?;
    }
    let Some(session) = session else {
        return Err("the access token is not valid");
    };
    let user = &session.user;
    if !user.active {
        return Err("the account is deactivated");
    }
    if session.ended(chrono::Utc::now()) {
        return Err("the session has ended (logout, password change or a reused refresh token); sign in again");
    }
    if user.token_version != claims.ver {
        return Err("the account changed since the token was issued; sign in again");
    }
    let role = Role::parse(&user.role).ok_or("the access token is not valid")?;
    Ok(Principal {
        user_id,
        role,
        branch: user.branch.clone(),
        must_change_password: user.must_change_password,
        family,
    })
}

/// The session and its user, from the cache while the users read model has committed nothing
/// since they were read (a logout, deactivation or role change is applied, and so seen here,
/// before its command is answered), else from the read model.
async fn load_session(
    state: &AppState,
    user_id: Uuid,
    family: Uuid,
) -> Result<Option<Session>, &'static str> {
    let changes = state.progress.changes(projections::users::NAME);
    if let Some(s) = state.sessions.get(user_id, family, changes) {
        return Ok(Some(s));
    }
    let session = projections::users::session(&state.db, user_id, family)
        .await
        .map_err(|e| {
            tracing::error!(error = %e, "cannot read the users read model");
            "the access token could not be checked; retry"
        })?;
    if let Some(s) = &session {
        state.sessions.put(user_id, family, changes, s.clone());
    }
    Ok(session)
}

/// Sessions read from the users read model, each with the count of its changes it was read at
/// and when: an entry serves while the count stands still (this process's runner or a wait
/// for another process's write moves it) and for at most [`SESSION_FRESH`], so that a logout
/// applied by another process's runner is seen within that time even when nothing else moves.
#[derive(Default)]
pub struct SessionCache {
    entries: std::sync::Mutex<HashMap<(Uuid, Uuid), Cached>>,
}

/// A session with the change count it was read at and when.
type Cached = (u64, std::time::Instant, Session);

/// Sessions remembered at most (the cache starts over past it).
const SESSIONS_MAX: usize = 10_000;
/// How long a cached session serves at most.
const SESSION_FRESH: Duration = Duration::from_secs(1);

impl SessionCache {
    fn get(&self, user: Uuid, family: Uuid, changes: u64) -> Option<Session> {
        let entries = self.entries.lock().expect("session cache");
        match entries.get(&(user, family)) {
            Some((at, read, s)) if *at == changes && read.elapsed() < SESSION_FRESH => {
                Some(s.clone())
            }
            _ => None,
        }
    }

    fn put(&self, user: Uuid, family: Uuid, changes: u64, session: Session) {
        let mut entries = self.entries.lock().expect("session cache");
        if entries.len() >= SESSIONS_MAX {
            entries.clear();
        }
        entries.insert(
            (user, family),
            (changes, std::time::Instant::now(), session),
        );
    }
}
