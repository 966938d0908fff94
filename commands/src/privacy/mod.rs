//! Privacy use cases on a data subject (a lead or a client): erasure requests, legal holds,
//! consent and exports, and the erasure itself once nothing keeps a person's data any more.

pub mod erasure;
pub mod subjects;
