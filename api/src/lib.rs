//! The `crm` binary's library: configuration, the HTTP API (poem-openapi), problem+json errors,
//! and the CLI subcommands.

pub mod bench;
pub mod cli;
pub mod config;
pub mod dto;
pub mod http;
pub mod leads;
pub mod ops;
pub mod problem;
pub mod server;
