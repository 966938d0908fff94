//! `/api/users`: staff accounts, managed by admins.

use domain::user::{Role, UserCommand};
use poem::Request;
use poem_openapi::param::Path;
use poem_openapi::payload::Json;
use poem_openapi::OpenApi;
use projections::users::UserRow;
use uuid::Uuid;

use crate::auth::{Auth, Principal};
use crate::dto::Accepted;
use crate::http::{self, CreatedResponse, DoneResponse, State};
use crate::leads::ApiTags;
use crate::policy::{self, Action};
use crate::problem::{ApiError, ReadError};
use commands::users::staff::{self, UserChange};

use super::{
    register_error, settled, NewUser, PasswordReset, UserList, UserListResponse, UserOut,
    UserPatch, UserResponse,
};

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
            .write
            .users
            .execute(
                &id.to_string(),
                command,
                &http::metadata(req),
                http::if_match(req)?,
            )
            .await
            .map_err(ApiError::from)?;
        // Role, branch, password and active state decide access.
        settled(&self.state, id, done).await
    }

    async fn create_user(&self, req: &Request, body: NewUser) -> Result<CreatedResponse, ApiError> {
        let new = commands::users::NewUser {
            email: &body.email,
            name: &body.name,
            role: body.role.into(),
            branch: body.branch.as_deref(),
            manager_id: body.manager_id,
            password: &body.password,
            must_change_password: true,
        };
        let (id, done) = commands::users::register(&self.state.write, &http::metadata(req), new)
            .await
            .map_err(register_error)?;
        Ok(CreatedResponse::Created(
            Json(Accepted::of(id, &done)),
            format!("/api/users/{id}"),
        ))
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
    #[oai(
        path = "/api/users",
        method = "post",
        tag = "ApiTags::Users",
        operation_id = "createUser"
    )]
    async fn create(
        &self,
        req: &Request,
        auth: Auth,
        body: Json<NewUser>,
        /// Makes the command safe to retry: a repeat gets the first answer, changing nothing.
        #[oai(name = "Idempotency-Key")]
        key: poem_openapi::param::Header<Option<String>>,
    ) -> Result<CreatedResponse, ApiError> {
        policy::require(&auth.0, Action::UserManage)?;
        // The fingerprint is hashed before it is kept; the password never is.
        let fingerprint = http::fingerprint(&body.0);
        http::idempotent(&self.state, key.0, req, fingerprint, || {
            self.create_user(req, body.0)
        })
        .await
    }

    /// List users
    ///
    /// Admins and compliance officers see everyone; branch managers see their branch.
    #[oai(
        path = "/api/users",
        method = "get",
        tag = "ApiTags::Users",
        operation_id = "listUsers"
    )]
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
    #[oai(
        path = "/api/users/:id",
        method = "get",
        tag = "ApiTags::Users",
        operation_id = "getUser"
    )]
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
    #[oai(
        path = "/api/users/:id",
        method = "patch",
        tag = "ApiTags::Users",
        operation_id = "updateUser"
    )]
    async fn update(
        &self,
        req: &Request,
        auth: Auth,
        /// The user's id.
        id: Path<Uuid>,
        body: Json<UserPatch>,
    ) -> Result<DoneResponse, ApiError> {
        policy::require(&auth.0, Action::UserManage)?;
        let change = UserChange {
            name: http::change(&body.name, |n| n.0.as_str()),
            role: http::change(&body.role, |r| Role::from(*r)),
            branch: http::change(&body.branch, |b| b.0.as_str()),
            manager_id: http::change(&body.manager_id, |m| *m),
        };
        let (meta, expected) = (http::metadata(req), http::if_match(req)?);
        let write = &self.state.write;
        let done = staff::update(write, auth.0.user_id, id.0, change, &meta, expected).await?;
        settled(&self.state, id.0, done).await
    }

    /// Deactivate a user
    ///
    /// Admins only. The user can no longer sign in; their sessions end at once.
    #[oai(
        path = "/api/users/:id/deactivate",
        method = "post",
        tag = "ApiTags::Users",
        operation_id = "deactivateUser"
    )]
    async fn deactivate(
        &self,
        req: &Request,
        auth: Auth,
        /// The user's id.
        id: Path<Uuid>,
    ) -> Result<DoneResponse, ApiError> {
        policy::require(&auth.0, Action::UserManage)?;
        let (meta, expected) = (http::metadata(req), http::if_match(req)?);
        let write = &self.state.write;
        let done = staff::deactivate(write, auth.0.user_id, id.0, &meta, expected).await?;
        settled(&self.state, id.0, done).await
    }

    /// Lift a user's lockouts
    ///
    /// Admins only. Failed sign-ins lock the account out from the address they came from for
    /// 15 minutes; this lifts every such lockout at once and forgets the failures. A recorded
    /// event; lifting when nothing is locked changes nothing.
    #[oai(
        path = "/api/users/:id/unlock",
        method = "post",
        tag = "ApiTags::Users",
        operation_id = "unlockUser"
    )]
    async fn unlock(
        &self,
        req: &Request,
        auth: Auth,
        /// The user's id.
        id: Path<Uuid>,
    ) -> Result<DoneResponse, ApiError> {
        self.run(req, &auth.0, id.0, UserCommand::LiftLockout).await
    }

    /// Reactivate a user
    #[oai(
        path = "/api/users/:id/reactivate",
        method = "post",
        tag = "ApiTags::Users",
        operation_id = "reactivateUser"
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
    /// Admins only, for another user (one's own password is changed with the current one,
    /// `POST /api/auth/password`). Sets a temporary password the user must change at the next
    /// login; their sessions end and a lockout is lifted.
    #[oai(
        path = "/api/users/:id/reset-password",
        method = "post",
        tag = "ApiTags::Users",
        operation_id = "resetUserPassword"
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
        let (meta, expected) = (http::metadata(req), http::if_match(req)?);
        let write = &self.state.write;
        let done =
            staff::reset_password(write, auth.0.user_id, id.0, &body.password, &meta, expected)
                .await?;
        settled(&self.state, id.0, done).await
    }
}
