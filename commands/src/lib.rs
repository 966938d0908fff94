//! The write side: the event store (SQLite or Postgres, chosen by the database URL), the command
//! executor with event metadata, optimistic-lock retries and idempotency, and the services that
//! aggregates and handlers call.

pub mod assignment;
pub mod audit;
pub mod clients;
pub mod executor;
pub mod idempotency;
pub mod metadata;
pub mod passwords;
pub mod privacy;
pub mod secrets;
pub mod store;
pub mod users;

pub use executor::{CommandError, Committed, Executor};
pub use metadata::EventMetadata;
pub use store::{Db, LogSignal, StoreError};
