//! What the write side needs to know from the read models: the port is defined beside the
//! store ([`store::lookups`]) so that the read side can answer it without depending on this
//! crate; it is re-exported here for the use cases.

pub use store::lookups::*;
