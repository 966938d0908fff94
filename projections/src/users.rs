//! The users read model: who may sign in, with which role and branch, and the token version
//! access tokens are checked against.

use chrono::{DateTime, Utc};
use cqrs_es::Aggregate;
use domain::user::{User, UserEvent};
use futures::future::BoxFuture;
use serde::Serialize;
use store::{with_db, Db, EventMetadata};
use uuid::Uuid;

use crate::{log, with_tx, Projection, ProjectionError, StoredEvent, Tx};

pub const NAME: &str = "users";

pub struct UsersProjection;

impl Projection for UsersProjection {
    fn name(&self) -> &'static str {
        NAME
    }

    fn version(&self) -> i64 {
        // 2: a password change ends every session.
        2
    }

    fn ddl(&self) -> &'static str {
        include_str!("../../migrations/read_models/users.sql")
    }

    fn tables(&self) -> &'static [&'static str] {
        &["users", "user_sessions"]
    }

    fn concerns(&self, event: &StoredEvent) -> bool {
        event.aggregate_type == User::TYPE
    }

    fn apply<'a>(
        &'a self,
        tx: &'a mut Tx,
        suffix: &'a str,
        events: &'a [StoredEvent],
    ) -> BoxFuture<'a, Result<(), ProjectionError>> {
        Box::pin(apply(tx, suffix, events))
    }
}

pub fn decode(e: &StoredEvent) -> Result<UserEvent, ProjectionError> {
    let payload = log::upcast(e, &[]);
    serde_json::from_value(payload).map_err(|err| {
        ProjectionError::Event(format!(
            "{} {}/{} #{}: {err}",
            e.event_type, e.aggregate_type, e.aggregate_id, e.sequence
        ))
    })
}

async fn apply(tx: &mut Tx, suffix: &str, events: &[StoredEvent]) -> Result<(), ProjectionError> {
    for e in events.iter().filter(|e| e.aggregate_type == User::TYPE) {
        let event = match decode(e) {
            Ok(event) => event,
            // Passed over here (not only by the runner) so that rebuilds get past it too.
            Err(ProjectionError::Event(why)) => {
                crate::runner::record_dead_letter(tx, NAME, e, &why).await?;
                continue;
            }
            Err(other) => return Err(other),
        };
        let at = EventMetadata::from_json(&e.metadata).recorded_at;
        let id = e.aggregate_id.as_str();
        let bump = i64::from(event.revokes_access_tokens());
        let touch = format!(
            "UPDATE users{suffix} SET updated_at = $2, version = $3, token_version = token_version + $4
              WHERE user_id = $1"
        );
        with_tx!(tx, t => {
            match &event {
                UserEvent::UserRegistered { profile, must_change_password, .. } => {
                    sqlx::query(&format!(
                        "INSERT INTO users{suffix} (user_id, email, name, role, branch, manager_id,
                         active, must_change_password, token_version, last_login_at, created_at,
                         updated_at, version)
                         VALUES ($1, $2, $3, $4, $5, $6, true, $7, 1, NULL, $8, $8, $9)
                         ON CONFLICT (user_id) DO NOTHING"
                    ))
                    .bind(id)
                    .bind(profile.email.as_str())
                    .bind(profile.name.as_str())
                    .bind(profile.role.as_str())
                    .bind(profile.branch.as_ref().map(|b| b.as_str().to_string()))
                    .bind(profile.manager_id.map(|m| m.to_string()))
                    .bind(*must_change_password)
                    .bind(at)
                    .bind(e.sequence)
                    .execute(&mut **t)
                    .await?;
                }
                other => {
                    sqlx::query(&touch)
                        .bind(id)
                        .bind(at)
                        .bind(e.sequence)
                        .bind(bump)
                        .execute(&mut **t)
                        .await?;
                    let set = |column: &str| {
                        format!("UPDATE users{suffix} SET {column} = $2 WHERE user_id = $1")
                    };
                    match other {
                        UserEvent::UserUpdated { name, role, branch, manager_id } => {
                            if let Some(n) = name {
                                sqlx::query(&set("name")).bind(id).bind(n.as_str()).execute(&mut **t).await?;
                            }
                            if let Some(r) = role {
                                sqlx::query(&set("role")).bind(id).bind(r.as_str()).execute(&mut **t).await?;
                            }
                            if let Some(b) = branch {
                                sqlx::query(&set("branch"))
                                    .bind(id)
                                    .bind(b.as_ref().map(|b| b.as_str().to_string()))
                                    .execute(&mut **t)
                                    .await?;
                            }
                            if let Some(m) = manager_id {
                                sqlx::query(&set("manager_id"))
                                    .bind(id)
                                    .bind(m.map(|m| m.to_string()))
                                    .execute(&mut **t)
                                    .await?;
                            }
                        }
                        UserEvent::UserDeactivated {} | UserEvent::UserReactivated {} => {
                            let active = matches!(other, UserEvent::UserReactivated {});
                            if !active {
                                sqlx::query(&format!(
                                    "UPDATE user_sessions{suffix} SET revoked = true WHERE user_id = $1"
                                ))
                                .bind(id)
                                .execute(&mut **t)
                                .await?;
                            }
                            sqlx::query(&set("active")).bind(id).bind(active).execute(&mut **t).await?;
                        }
                        UserEvent::PasswordReset { .. } | UserEvent::PasswordChanged { .. } => {
                            let must = matches!(other, UserEvent::PasswordReset { .. });
                            // Either way every session from before ends.
                            {
                                sqlx::query(&format!(
                                    "UPDATE user_sessions{suffix} SET revoked = true WHERE user_id = $1"
                                ))
                                .bind(id)
                                .execute(&mut **t)
                                .await?;
                            }
                            sqlx::query(&set("must_change_password"))
                                .bind(id)
                                .bind(must)
                                .execute(&mut **t)
                                .await?;
                        }
                        UserEvent::LoginSucceeded { at: login_at, family_id, refresh_expires_at, .. } => {
                            sqlx::query(&set("last_login_at")).bind(id).bind(*login_at).execute(&mut **t).await?;
                            sqlx::query(&format!(
                                "INSERT INTO user_sessions{suffix} (family_id, user_id, opened_at, expires_at, revoked)
                                 VALUES ($1, $2, $3, $4, false) ON CONFLICT (family_id) DO NOTHING"
                            ))
                            .bind(family_id.to_string())
                            .bind(id)
                            .bind(*login_at)
                            .bind(*refresh_expires_at)
                            .execute(&mut **t)
                            .await?;
                        }
                        UserEvent::RefreshTokenRotated { family_id, refresh_expires_at, .. } => {
                            sqlx::query(&format!(
                                "UPDATE user_sessions{suffix} SET expires_at = $2 WHERE family_id = $1"
                            ))
                            .bind(family_id.to_string())
                            .bind(*refresh_expires_at)
                            .execute(&mut **t)
                            .await?;
                        }
                        UserEvent::RefreshTokenReused { family_id } | UserEvent::LoggedOut { family_id } => {
                            sqlx::query(&format!(
                                "UPDATE user_sessions{suffix} SET revoked = true WHERE family_id = $1"
                            ))
                            .bind(family_id.to_string())
                            .execute(&mut **t)
                            .await?;
                        }
                        _ => {}
                    }
                }
            }
        });
    }
    Ok(())
}

/// A user as the read model has them.
#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
pub struct UserRow {
    pub user_id: String,
    pub email: String,
    pub name: String,
    pub role: String,
    pub branch: Option<String>,
    pub manager_id: Option<String>,
    pub active: bool,
    pub must_change_password: bool,
    pub token_version: i64,
    pub last_login_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub version: i64,
}

const COLUMNS: &str = "user_id, email, name, role, branch, manager_id, active,
    must_change_password, token_version, last_login_at, created_at, updated_at, version";

pub async fn get(db: &Db, id: Uuid) -> Result<Option<UserRow>, ProjectionError> {
    let sql = format!("SELECT {COLUMNS} FROM users WHERE user_id = $1");
    Ok(with_db!(db, pool => {
        sqlx::query_as::<_, UserRow>(&sql)
            .bind(id.to_string())
            .fetch_optional(pool)
            .await?
    }))
}

/// A sign-in session with its user, as the users read model has it.
#[derive(Debug, Clone)]
pub struct Session {
    pub user: UserRow,
    /// Ended by a logout, a password change or a reused refresh token.
    pub revoked: bool,
    pub expires_at: DateTime<Utc>,
}

impl Session {
    /// Logged out, ended by a password change or a reused refresh token, or expired.
    pub fn ended(&self, now: DateTime<Utc>) -> bool {
        self.revoked || self.expires_at <= now
    }
}

pub async fn session(
    db: &Db,
    user: Uuid,
    family: Uuid,
) -> Result<Option<Session>, ProjectionError> {
    // One query per request: the user with the session's state.
    let sql = "SELECT u.user_id, u.email, u.name, u.role, u.branch, u.manager_id, u.active,
                      u.must_change_password, u.token_version, u.last_login_at, u.created_at,
                      u.updated_at, u.version, s.revoked, s.expires_at
                 FROM users u JOIN user_sessions s ON s.user_id = u.user_id
                WHERE u.user_id = $1 AND s.family_id = $2";
    let row = with_db!(db, pool => {
        sqlx::query_as::<_, SessionRow>(sql)
            .bind(user.to_string())
            .bind(family.to_string())
            .fetch_optional(pool)
            .await?
    });
    Ok(row.map(|r| Session {
        user: r.user,
        revoked: r.revoked,
        expires_at: r.expires_at,
    }))
}

#[derive(sqlx::FromRow)]
struct SessionRow {
    #[sqlx(flatten)]
    user: UserRow,
    revoked: bool,
    expires_at: DateTime<Utc>,
}

/// Users, optionally of one branch and/or role, by name.
pub async fn list(
    db: &Db,
    branch: Option<&str>,
    role: Option<&str>,
    active_only: bool,
) -> Result<Vec<UserRow>, ProjectionError> {
    let sql = format!(
        "SELECT {COLUMNS} FROM users
          WHERE ($1 IS NULL OR branch = $1) AND ($2 IS NULL OR role = $2)
            AND (active OR NOT $3)
          ORDER BY name, user_id"
    );
    Ok(with_db!(db, pool => {
        sqlx::query_as::<_, UserRow>(&sql)
            .bind(branch)
            .bind(role)
            .bind(active_only)
            .fetch_all(pool)
            .await?
    }))
}

/// The ids of the active users of `branch` who work leads (managers and relationship managers).
pub async fn branch_members(db: &Db, branch: &str) -> Result<Vec<Uuid>, ProjectionError> {
    let ids: Vec<String> = with_db!(db, pool => {
        sqlx::query_scalar(
            "SELECT user_id FROM users WHERE branch = $1
               AND role IN ('branch_manager', 'relationship_manager')",
        )
        .bind(branch)
        .fetch_all(pool)
        .await?
    });
    Ok(ids.iter().filter_map(|s| Uuid::parse_str(s).ok()).collect())
}

/// The names and branches of the users `ids` (those the read model has).
pub async fn names(
    db: &Db,
    ids: &[Uuid],
) -> Result<std::collections::HashMap<Uuid, (String, Option<String>)>, ProjectionError> {
    let mut out = std::collections::HashMap::new();
    for chunk in ids.chunks(200) {
        let rows: Vec<(String, String, Option<String>)> = with_db!(db, pool => {
            let mut qb = sqlx::QueryBuilder::new("SELECT user_id, name, branch FROM users WHERE user_id IN (");
            let mut list = qb.separated(", ");
            for id in chunk {
                list.push_bind(id.to_string());
            }
            qb.push(")");
            qb.build_query_as().fetch_all(pool).await?
        });
        for (id, name, branch) in rows {
            if let Ok(id) = Uuid::parse_str(&id) {
                out.insert(id, (name, branch));
            }
        }
    }
    Ok(out)
}
