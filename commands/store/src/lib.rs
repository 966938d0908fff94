//! The infrastructure the write side and the read side share: the database pools and
//! transactions, the embedded migrations, the log reader and its wake-up signal, event metadata,
//! the keyring that seals personal data per subject, the encrypting event repository and the
//! audit hash chain. It knows no aggregate: what is personal in an event is told to it.

pub mod append;
pub mod audit;
pub mod backup;
pub mod db;
pub mod documents;
pub mod lease;
pub mod log;
pub mod lookups;
pub mod metadata;
pub mod privacy;
pub mod secrets;
pub mod tx;
pub mod vault;

pub use db::{Db, LogSignal, StoreError};
pub use log::{Checkpoint, StoredEvent};
pub use metadata::EventMetadata;
pub use tx::Tx;
