//! The write side: the command executor over the event store with event metadata,
//! optimistic-lock retries and idempotency, and the services that aggregates and handlers call.

pub mod assignment;
pub mod clients;
pub mod executor;
pub mod idempotency;
pub mod passwords;
pub mod privacy;
pub mod users;

pub use executor::{CommandError, Committed, Executor};
