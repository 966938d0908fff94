//! The `crm` binary's library: configuration, the HTTP API (poem-openapi), problem+json errors,
//! and the CLI subcommands.

// Handlers return `Result<_, ApiError>`; the error is a whole problem document answered once per
// request, so its size is not worth boxing for.
#![allow(clippy::result_large_err)]

pub mod audit;
pub mod auth;
pub mod bench;
pub mod cli;
pub mod clients;
pub mod config;
pub mod contract;
pub mod dto;
pub mod http;
pub mod leads;
pub mod lookups;
pub mod marketing;
pub mod ops;
pub mod policy;
pub mod privacy;
pub mod problem;
pub mod routes;
pub mod seed;
pub mod server;
pub mod tools;
pub mod users;
