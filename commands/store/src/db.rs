//! Store selection and connection: `postgres://…` selects Postgres, anything else is a SQLite
//! file (by default `crm.db` inside the data directory).

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{PgPool, SqlitePool};
use tokio::sync::watch;

static SQLITE_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("../../migrations/sqlite");
static POSTGRES_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("../../migrations/postgres");

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    #[error("migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("invalid database URL: {0}")]
    Url(String),
    #[error("cannot create the data directory {path}: {source}")]
    DataDir {
        path: String,
        source: std::io::Error,
    },
}

/// A connection pool to the one database that holds the log and the read models.
#[derive(Clone, Debug)]
pub enum Db {
    Sqlite(SqlitePool),
    Postgres(PgPool),
}

/// Runs the same code against whichever pool a [`Db`] holds: the body is compiled once per
/// store, so shared SQL (with `$1` placeholders, which both accept) is written once.
#[macro_export]
macro_rules! with_db {
    ($db:expr, $pool:ident => $body:expr) => {
        match $db {
            $crate::Db::Sqlite($pool) => $body,
            $crate::Db::Postgres($pool) => $body,
        }
    };
}

impl Db {
    /// Connects to `database_url`, or to a SQLite file in `data_dir` when it is `None`,
    /// creating what is missing.
    pub async fn connect(database_url: Option<&str>, data_dir: &Path) -> Result<Self, StoreError> {
        Self::connect_with(database_url, data_dir, None).await
    }

    /// [`Db::connect`] with at most `pool_size` connections (default: 32 on Postgres, 8 on
    /// SQLite). Connections are not pinged when taken from the pool: a broken one fails its
    /// query and is replaced.
    pub async fn connect_with(
        database_url: Option<&str>,
        data_dir: &Path,
        pool_size: Option<u32>,
    ) -> Result<Self, StoreError> {
        match database_url {
            Some(url) if url.starts_with("postgres://") || url.starts_with("postgresql://") => {
                let options = PgConnectOptions::from_str(url)
                    .map_err(|e| StoreError::Url(e.to_string()))?
                    // The process id: which process holds which lease (pg_stat_activity).
                    .application_name(&format!("crm/{}", std::process::id()));
                let pool = PgPoolOptions::new()
                    .max_connections(pool_size.unwrap_or(32))
                    .test_before_acquire(false)
                    .acquire_timeout(Duration::from_secs(10))
                    .connect_with(options)
                    .await?;
                Ok(Db::Postgres(pool))
            }
            Some(url) => {
                let options = SqliteConnectOptions::from_str(url)
                    .map_err(|e| StoreError::Url(e.to_string()))?;
                Self::sqlite(options, pool_size).await
            }
            None => {
                let fresh = !data_dir.exists();
                std::fs::create_dir_all(data_dir).map_err(|source| StoreError::DataDir {
                    path: data_dir.display().to_string(),
                    source,
                })?;
                // The store and the key files are for this user only (the directory guards
                // the database file, its journal and its temporary files alike).
                #[cfg(unix)]
                if fresh {
                    use std::os::unix::fs::PermissionsExt;
                    std::fs::set_permissions(data_dir, std::fs::Permissions::from_mode(0o700))
                        .map_err(|source| StoreError::DataDir {
                            path: data_dir.display().to_string(),
                            source,
                        })?;
                }
                let options = SqliteConnectOptions::new().filename(data_dir.join("crm.db"));
                Self::sqlite(options, pool_size).await
            }
        }
    }

    async fn sqlite(
        options: SqliteConnectOptions,
        pool_size: Option<u32>,
    ) -> Result<Self, StoreError> {
        let options = options
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Full)
            .busy_timeout(Duration::from_secs(10))
            .foreign_keys(true)
            // Pages read through a memory map of the file rather than copied in by a system
            // call each (up to 64 GiB: the build's ceiling is set in `.cargo/config.toml`).
            .pragma("mmap_size", "68719476736");
        let pool = SqlitePoolOptions::new()
            .max_connections(pool_size.unwrap_or(8))
            .test_before_acquire(false)
            .acquire_timeout(Duration::from_secs(10))
            .connect_with(options)
            .await?;
        Ok(Db::Sqlite(pool))
    }

    /// Applies the embedded migrations (idempotent).
    pub async fn migrate(&self) -> Result<(), StoreError> {
        match self {
            Db::Sqlite(pool) => SQLITE_MIGRATIONS.run(pool).await?,
            Db::Postgres(pool) => POSTGRES_MIGRATIONS.run(pool).await?,
        }
        Ok(())
    }

    /// SQLite has one writer at a time. Writers of this process queue here instead of in
    /// SQLite's busy handler, whose back-off sleeps make the latency tail long. One gate per
    /// database file, shared by every writer of the process (commands and projections);
    /// `None` on Postgres, which has row-level locking.
    pub fn write_gate(&self) -> Option<Arc<tokio::sync::Mutex<()>>> {
        let Db::Sqlite(pool) = self else { return None };
        static GATES: OnceLock<Mutex<HashMap<PathBuf, Arc<tokio::sync::Mutex<()>>>>> =
            OnceLock::new();
        let file = pool.connect_options().get_filename().to_path_buf();
        let mut gates = GATES
            .get_or_init(Default::default)
            .lock()
            .expect("gate map");
        Some(gates.entry(file).or_default().clone())
    }

    /// A turn at the write gate (see [`Db::write_gate`]), held until dropped; `None` on
    /// Postgres.
    pub async fn write_turn(&self) -> Option<tokio::sync::OwnedMutexGuard<()>> {
        match self.write_gate() {
            Some(g) => Some(g.lock_owned().await),
            None => None,
        }
    }

    /// The pool's connections: (open, idle, the most it opens).
    pub fn pool_use(&self) -> (u32, u32, u32) {
        with_db!(self, pool => (
            pool.size(),
            pool.num_idle() as u32,
            pool.options().get_max_connections(),
        ))
    }

    pub fn kind(&self) -> &'static str {
        match self {
            Db::Sqlite(_) => "sqlite",
            Db::Postgres(_) => "postgres",
        }
    }

    pub async fn ping(&self) -> Result<(), StoreError> {
        with_db!(self, pool => { sqlx::query("SELECT 1").execute(pool).await?; });
        Ok(())
    }

    pub async fn close(&self) {
        with_db!(self, pool => pool.close().await)
    }

    /// The position of an aggregate's event, for answering commands with where they landed.
    pub async fn position_of(
        &self,
        aggregate_type: &str,
        aggregate_id: &str,
        sequence: usize,
    ) -> Result<i64, StoreError> {
        let sql = match self {
            Db::Sqlite(_) => "SELECT position FROM event_positions WHERE aggregate_type = $1 AND aggregate_id = $2 AND sequence = $3",
            Db::Postgres(_) => "SELECT position FROM events WHERE aggregate_type = $1 AND aggregate_id = $2 AND sequence = $3",
        };
        let position: Option<i64> = with_db!(self, pool => {
            sqlx::query_scalar(sql)
                .bind(aggregate_type)
                .bind(aggregate_id)
                .bind(sequence as i64)
                .fetch_optional(pool)
                .await?
        });
        Ok(position.unwrap_or(0))
    }
}

/// Tells the in-process projection runner that the log has grown (what other processes append
/// it finds on its short poll).
#[derive(Clone, Debug)]
pub struct LogSignal(Arc<watch::Sender<i64>>);

impl Default for LogSignal {
    fn default() -> Self {
        Self(Arc::new(watch::channel(0).0))
    }
}

impl LogSignal {
    pub fn appended(&self, position: i64) {
        self.0.send_if_modified(|last| {
            if position > *last {
                *last = position;
                true
            } else {
                false
            }
        });
    }

    pub fn subscribe(&self) -> watch::Receiver<i64> {
        self.0.subscribe()
    }
}
