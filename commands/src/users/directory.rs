//! The sign-in directory: e-mail address → user id, reserved before a user is registered so that
//! two registrations of one address cannot both succeed.

use uuid::Uuid;

use store::with_db;
use store::{Db, StoreError};

/// Reserves `email` for `user_id`; false when another user has it.
pub async fn reserve_email(db: &Db, email: &str, user_id: Uuid) -> Result<bool, StoreError> {
    let now = chrono::Utc::now().to_rfc3339();
    let inserted = with_db!(db, pool => {
        sqlx::query(
            "INSERT INTO user_emails (email, user_id, created_at) VALUES ($1, $2, $3)
             ON CONFLICT (email) DO NOTHING",
        )
        .bind(email)
        .bind(user_id.to_string())
        .bind(now)
        .execute(pool)
        .await?
        .rows_affected()
    });
    Ok(inserted == 1)
}

/// Gives a reservation back (the registration it was for failed).
pub async fn release_email(db: &Db, email: &str, user_id: Uuid) -> Result<(), StoreError> {
    with_db!(db, pool => {
        sqlx::query("DELETE FROM user_emails WHERE email = $1 AND user_id = $2")
            .bind(email)
            .bind(user_id.to_string())
            .execute(pool)
            .await?;
    });
    Ok(())
}

/// The user who signs in with `email`.
pub async fn user_by_email(db: &Db, email: &str) -> Result<Option<Uuid>, StoreError> {
    let id: Option<String> = with_db!(db, pool => {
        sqlx::query_scalar("SELECT user_id FROM user_emails WHERE email = $1")
            .bind(email)
            .fetch_optional(pool)
            .await?
    });
    Ok(id.and_then(|s| Uuid::parse_str(&s).ok()))
}

/// How many users exist (a fresh installation has none).
pub async fn count(db: &Db) -> Result<i64, StoreError> {
    Ok(with_db!(db, pool => {
        sqlx::query_scalar("SELECT COUNT(*) FROM user_emails")
            .fetch_one(pool)
            .await?
    }))
}
