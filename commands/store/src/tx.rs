//! A transaction on either store, for writers that touch several tables at once.

use crate::db::{Db, StoreError};

/// Runs the same code inside whichever transaction a [`Tx`] holds (compiled once per store).
#[macro_export]
macro_rules! with_tx {
    ($tx:expr, $t:ident => $body:expr) => {
        match $tx {
            $crate::Tx::Sqlite($t) => $body,
            $crate::Tx::Postgres($t) => $body,
        }
    };
}

/// A transaction on either store.
pub enum Tx {
    Sqlite(sqlx::Transaction<'static, sqlx::Sqlite>),
    Postgres(sqlx::Transaction<'static, sqlx::Postgres>),
}

impl Tx {
    /// Opens a transaction that writes. On SQLite it takes the write lock from the start: a
    /// deferred transaction that reads first and then writes fails with SQLITE_BUSY_SNAPSHOT
    /// when another connection wrote meanwhile, whereas an immediate one waits its turn.
    pub async fn begin(db: &Db) -> Result<Tx, StoreError> {
        Ok(match db {
            Db::Sqlite(pool) => Tx::Sqlite(pool.begin_with("BEGIN IMMEDIATE").await?),
            Db::Postgres(pool) => Tx::Postgres(pool.begin().await?),
        })
    }

    pub async fn commit(self) -> Result<(), StoreError> {
        match self {
            Tx::Sqlite(t) => t.commit().await?,
            Tx::Postgres(t) => t.commit().await?,
        }
        Ok(())
    }
}
