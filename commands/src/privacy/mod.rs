//! Privacy use cases that span aggregates: erasure once nothing keeps a person's data any more.

pub mod erasure;
