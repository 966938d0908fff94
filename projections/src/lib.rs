//! The read side: a runner that tails the event log in commit order and feeds projections, each
//! writing its rows and its checkpoint in one transaction; rebuilds into fresh tables that are
//! swapped in; read-your-writes waits; and the queries the API answers from read models.

pub mod audit;
pub mod capture_keys;
pub mod checkpoint;
pub mod client_timeline;
pub mod clients;
pub mod compliance;
pub mod dashboard;
pub mod export;
pub mod history;
pub mod investments;
pub mod kyc;
pub mod leads;
pub mod ledger;
pub mod lookups;
pub mod marketing;
pub mod notifications;
pub mod rebuild;
pub mod restore;
pub mod runner;
pub mod sales;
pub mod schema;
pub mod sealed;
pub mod timeline;
pub mod users;

use futures::future::BoxFuture;

pub use checkpoint::Checkpoint;
pub use runner::{Progress, Runner};
pub use store::{log, with_tx, StoredEvent, Tx};

#[derive(Debug, thiserror::Error)]
pub enum ProjectionError {
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    #[error("an event could not be read: {0}")]
    Event(String),
    #[error("the checkpoint moved under this worker (another worker or a rebuild)")]
    CheckpointMoved,
    #[error("unknown projection {0:?}")]
    Unknown(String),
    #[error(transparent)]
    Store(#[from] store::StoreError),
    #[error(transparent)]
    Privacy(#[from] store::privacy::PrivacyError),
    #[error("{0}")]
    Refused(String),
}

/// A read model fed from the log. `suffix` names the table set to write: `""` for the live
/// tables, `"__rebuild"` while a rebuild fills fresh ones.
pub trait Projection: Send + Sync + 'static {
    fn name(&self) -> &'static str;
    /// Bumped whenever the tables or what is written into them change; a database whose
    /// tables were built by another version rebuilds them at start-up.
    fn version(&self) -> i64;
    /// The DDL template (see `migrations/read_models`).
    fn ddl(&self) -> &'static str;
    /// The tables the DDL creates, without suffix.
    fn tables(&self) -> &'static [&'static str];
    /// Whether `crm rebuild` may rebuild it from zero (the audit ledger may not).
    fn rebuildable(&self) -> bool {
        true
    }
    /// Whether `event` can change this projection's rows (the runner counts the batches that
    /// did, for caches of what the projection answers).
    fn concerns(&self, _event: &StoredEvent) -> bool {
        true
    }
    /// Work before the batch's transaction opens (such as making keys, which writes), so that
    /// `apply` itself only touches the transaction.
    fn prepare<'a>(
        &'a self,
        _events: &'a [StoredEvent],
    ) -> BoxFuture<'a, Result<(), ProjectionError>> {
        Box::pin(async { Ok(()) })
    }
    fn apply<'a>(
        &'a self,
        tx: &'a mut Tx,
        suffix: &'a str,
        events: &'a [StoredEvent],
    ) -> BoxFuture<'a, Result<(), ProjectionError>>;
}

/// Every projection this build has, in the order the runner feeds them. They open sealed
/// personal fields with `keyring`; the ledger signs checkpoints with `signer`; portfolios
/// split realised gains by the holding `periods` configured; lead scores use `weights` (the
/// first set in a process holds for it).
pub fn all(
    keyring: &std::sync::Arc<store::privacy::Keyring>,
    signer: &std::sync::Arc<store::audit::AuditSigner>,
    periods: domain::investments::HoldingPeriods,
    weights: domain::lead::score::ScoreWeights,
) -> Vec<std::sync::Arc<dyn Projection>> {
    leads::set_score_weights(weights);
    vec![
        std::sync::Arc::new(
            // Scores depend on the configured weights.
            leads::LeadsProjection::new(keyring.clone()).with_salt(match leads::score_weights() {
                w if *w == domain::lead::score::ScoreWeights::default() => 0,
                w => w.fingerprint(),
            }),
        ),
        std::sync::Arc::new(clients::ClientsProjection::new(keyring.clone())),
        std::sync::Arc::new(kyc::KycProjection::new(keyring.clone())),
        std::sync::Arc::new(investments::PortfolioProjection::new(
            keyring.clone(),
            periods,
        )),
        std::sync::Arc::new(sales::SalesProjection::new(keyring.clone())),
        std::sync::Arc::new(users::UsersProjection),
        std::sync::Arc::new(history::HistoryProjection),
        std::sync::Arc::new(client_timeline::ClientTimelineProjection),
        std::sync::Arc::new(capture_keys::CaptureKeysProjection),
        std::sync::Arc::new(notifications::NotificationsProjection {
            max_age: chrono::Duration::hours(notifications::DECIDE_WITHIN_HOURS),
        }),
        std::sync::Arc::new(ledger::LedgerProjection::new(signer.clone())),
    ]
}

#[cfg(test)]
mod tests {
    /// A rebuild creates the tables a projection names and swaps them in: every table its
    /// DDL creates must be named (else the rebuild writes to a table it never made).
    #[tokio::test]
    async fn every_table_a_projection_creates_is_named() {
        let dir =
            std::env::temp_dir().join(format!("crm-tables-{}", uuid::Uuid::new_v4().simple()));
        let db = store::Db::connect(None, &dir).await.unwrap();
        db.migrate().await.unwrap();
        let keyring = std::sync::Arc::new(
            store::privacy::Keyring::load(&db, &dir, None, &[])
                .await
                .unwrap(),
        );
        let signer =
            std::sync::Arc::new(store::audit::AuditSigner::load(&dir, None, true).unwrap());
        for p in super::all(&keyring, &signer, Default::default(), Default::default()) {
            let created: Vec<String> = p
                .ddl()
                .split("CREATE TABLE IF NOT EXISTS")
                .skip(1)
                .map(|rest| {
                    rest.trim_start()
                        .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                        .next()
                        .unwrap_or_default()
                        .to_string()
                })
                .collect();
            let mut named: Vec<String> = p.tables().iter().map(|t| t.to_string()).collect();
            let mut created_sorted = created.clone();
            created_sorted.sort();
            named.sort();
            assert_eq!(
                created_sorted,
                named,
                "{}: the tables its DDL creates",
                p.name()
            );
        }
        let _ = std::fs::remove_dir_all(&dir);
    }
}
