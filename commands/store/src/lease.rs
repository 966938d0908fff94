//! Leases across processes on one Postgres: session advisory locks held on a connection of
//! their own. A process that dies (or loses its connection) lets its leases go at once; the
//! others try every [`RETRY`] and take them over. Each projection runs under its lease, and so
//! does each scheduled job. On SQLite there is nothing to lease: every process runs everything
//! (the checkpoints' optimistic moves keep read models exact; jobs are idempotent).

use std::future::Future;
use std::time::Duration;

use sha2::{Digest, Sha256};
use sqlx::{Connection, PgConnection, PgPool};

use crate::db::Db;

/// How often a process tries to take the leases it does not hold, and checks those it holds.
pub const RETRY: Duration = Duration::from_secs(1);

/// The advisory lock key of lease `name` (the first 8 bytes of its SHA-256, so that keys of
/// other applications on the same database are unlikely to meet ours).
pub fn key(name: &str) -> i64 {
    let digest = Sha256::digest(format!("crm lease {name}").as_bytes());
    i64::from_be_bytes(digest[..8].try_into().expect("8 bytes"))
}

/// Leases held on one connection of their own.
pub struct Leases {
    pool: PgPool,
    conn: Option<PgConnection>,
}

impl Leases {
    pub fn new(pool: &PgPool) -> Self {
        Self {
            pool: pool.clone(),
            conn: None,
        }
    }

    /// Tries to take each of `names` (none of which this holds): those taken. An error means
    /// the connection is gone, and with it every lease this held.
    pub async fn take(&mut self, names: &[&'static str]) -> Result<Vec<&'static str>, sqlx::Error> {
        if self.conn.is_none() {
            // Out of the pool: the locks live and die with this connection alone.
            self.conn = Some(self.pool.acquire().await?.detach());
        }
        let conn = self.conn.as_mut().expect("connected above");
        let keys: Vec<i64> = names.iter().map(|n| key(n)).collect();
        let taken: Result<Vec<(i64, bool)>, _> =
            sqlx::query_as("SELECT k, pg_try_advisory_lock(k) FROM unnest($1::bigint[]) AS k")
                .bind(&keys)
                .fetch_all(&mut *conn)
                .await;
        match taken {
            Ok(rows) => Ok(names
                .iter()
                .zip(&keys)
                .filter(|(_, k)| rows.iter().any(|(r, t)| r == *k && *t))
                .map(|(n, _)| *n)
                .collect()),
            Err(e) => {
                self.conn = None;
                Err(e)
            }
        }
    }

    /// Whether the connection holding the leases still answers (if not, they are lost).
    pub async fn alive(&mut self) -> bool {
        let Some(conn) = self.conn.as_mut() else {
            return false;
        };
        if conn.ping().await.is_ok() {
            return true;
        }
        self.conn = None;
        false
    }
}

/// Runs `job` (a loop that runs for ever) in one process at a time: on Postgres under the lease
/// `name`, tried every [`RETRY`] by the processes that do not hold it, and given up (the job
/// stopped) when the lease's connection is lost; on SQLite at once.
pub async fn exclusively<F, Fut>(db: &Db, name: &'static str, job: F)
where
    F: Fn() -> Fut,
    Fut: Future<Output = ()>,
{
    let Db::Postgres(pool) = db else {
        return job().await;
    };
    let mut leases = Leases::new(pool);
    loop {
        match leases.take(&[name]).await {
            Ok(taken) if !taken.is_empty() => {
                tracing::info!(job = name, "took the lease of a scheduled job");
                let run = job();
                tokio::pin!(run);
                loop {
                    tokio::select! {
                        _ = &mut run => return,
                        _ = tokio::time::sleep(RETRY) => {
                            if !leases.alive().await {
                                tracing::warn!(job = name, "lost the lease of a scheduled job; stopped it");
                                break;
                            }
                        }
                    }
                }
            }
            Ok(_) => {}
            Err(e) => {
                tracing::warn!(job = name, error = %e, "cannot take the lease of a scheduled job")
            }
        }
        tokio::time::sleep(RETRY).await;
    }
}
