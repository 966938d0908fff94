//! Backups of the embedded SQLite store: a consistent copy of the whole database (the log,
//! the sealed subject keys, the documents and the read models) taken while the server goes on
//! writing (`VACUUM INTO` reads one snapshot), then checked. The master key is not in it: a
//! backup opens only with the key kept apart, and the other files of the data directory are
//! not in it either (`audit-signing.key` and `jwt.key` when generated there, former master
//! keys, the compliance packs under `reports/`). On Postgres the database's own tools back up
//! (`pg_dump`, `pg_basebackup`) and `crm audit export` is the verifiable logical copy.

use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};

use crate::{Db, StoreError};

/// Why a backup was not made.
#[derive(Debug, thiserror::Error)]
pub enum BackupError {
    #[error("on Postgres, back up with pg_dump or pg_basebackup, and keep `crm audit export` as the verifiable copy of the log")]
    Postgres,
    #[error("{0} exists: a backup never overwrites a file")]
    Exists(String),
    #[error("the backup {0} failed its check: {1}")]
    Damaged(String, String),
    #[error("cannot write the backup: {0}")]
    Io(#[from] std::io::Error),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<sqlx::Error> for BackupError {
    fn from(e: sqlx::Error) -> Self {
        BackupError::Store(e.into())
    }
}

/// Copies the store to `to` (a new file), checks the copy and answers its size in bytes.
pub async fn backup(db: &Db, to: &Path) -> Result<u64, BackupError> {
    let Db::Sqlite(pool) = db else {
        return Err(BackupError::Postgres);
    };
    if to.exists() {
        return Err(BackupError::Exists(to.display().to_string()));
    }
    if let Some(dir) = to.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)?;
    }
    // Written beside the target under a name of its own, then linked to its name (which
    // fails if a file took that name meanwhile): no half backup, nothing overwritten.
    let partial = to.with_extension(format!("{}.partial", uuid::Uuid::new_v4().simple()));
    let made = write(pool, &partial, to).await;
    let _ = std::fs::remove_file(&partial);
    made?;
    Ok(std::fs::metadata(to)?.len())
}

async fn write(pool: &sqlx::SqlitePool, partial: &Path, to: &Path) -> Result<(), BackupError> {
    sqlx::query("VACUUM INTO $1")
        .bind(partial.to_string_lossy().as_ref())
        .execute(pool)
        .await?;
    check(partial)
        .await
        .map_err(|why| BackupError::Damaged(to.display().to_string(), why))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(partial, std::fs::Permissions::from_mode(0o600))?;
    }
    match std::fs::hard_link(partial, to) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            Err(BackupError::Exists(to.display().to_string()))
        }
        // A file system without hard links (FAT, some network mounts): renamed, after
        // looking (a file that appears in between is the only one overwritten).
        Err(_) if to.exists() => Err(BackupError::Exists(to.display().to_string())),
        Err(_) => Ok(std::fs::rename(partial, to)?),
    }
}

/// SQLite's integrity check of the database file at `path`, and the log in it readable.
async fn check(path: &Path) -> Result<(), String> {
    use sqlx::sqlite::SqliteConnectOptions;
    use sqlx::{ConnectOptions, Connection};
    let mut conn = SqliteConnectOptions::new()
        .filename(path)
        .read_only(true)
        .connect()
        .await
        .map_err(|e| e.to_string())?;
    let verdict: String = sqlx::query_scalar("PRAGMA integrity_check")
        .fetch_one(&mut conn)
        .await
        .map_err(|e| e.to_string())?;
    let events: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM events")
        .fetch_one(&mut conn)
        .await
        .map_err(|e| e.to_string())?;
    conn.close().await.map_err(|e| e.to_string())?;
    if verdict != "ok" {
        return Err(verdict);
    }
    tracing::debug!(events, "backup checked");
    Ok(())
}

/// The name of a scheduled backup taken at `at`.
pub fn scheduled_name(dir: &Path, at: DateTime<Utc>) -> PathBuf {
    dir.join(format!("crm-{}.db", at.format("%Y%m%dT%H%M%SZ")))
}

/// Whether `path` is named as a scheduled backup.
pub fn is_scheduled(path: &Path) -> bool {
    path.file_name()
        .and_then(|n| n.to_str())
        .is_some_and(|n| n.starts_with("crm-") && n.ends_with(".db"))
}

/// Deletes the oldest scheduled backups in `dir` past the newest `keep`, and what a backup
/// that died half-way left there; answers how many backups went.
pub fn prune(dir: &Path, keep: usize) -> std::io::Result<usize> {
    let mut found: Vec<PathBuf> = std::fs::read_dir(dir)?
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| is_scheduled(p))
        .collect();
    for p in std::fs::read_dir(dir)?
        .filter_map(Result::ok)
        .map(|e| e.path())
    {
        if p.extension().is_some_and(|x| x == "partial") {
            let _ = std::fs::remove_file(&p);
        }
    }
    // The names sort by time.
    found.sort();
    let over = found.len().saturating_sub(keep.max(1));
    for old in &found[..over] {
        std::fs::remove_file(old)?;
    }
    Ok(over)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_newest_scheduled_backups_are_kept() {
        let dir = std::env::temp_dir().join(format!("crm-prune-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).unwrap();
        let at = |h: u32| {
            chrono::NaiveDate::from_ymd_opt(2026, 12, 3)
                .unwrap()
                .and_hms_opt(h, 0, 0)
                .unwrap()
                .and_utc()
        };
        for h in [9, 1, 5, 3] {
            std::fs::write(scheduled_name(&dir, at(h)), b"x").unwrap();
        }
        std::fs::write(dir.join("notes.txt"), b"kept").unwrap();
        assert_eq!(prune(&dir, 2).unwrap(), 2);
        let mut left: Vec<String> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        left.sort();
        assert_eq!(
            left,
            [
                "crm-20261203T050000Z.db",
                "crm-20261203T090000Z.db",
                "notes.txt"
            ]
        );
        let _ = std::fs::remove_dir_all(&dir);
    }
}
