//! End-to-end tests: the real server on port 0 with its own fresh SQLite file or its own fresh
//! Postgres database, driven over HTTP. Every scenario runs on both stores.

mod support;

mod access;
mod audit;
mod backup;
mod clients;
mod concurrency;
mod connections;
mod contract;
mod erasure;
mod errors;
mod investments;
mod kyc;
mod leads;
mod merge;
mod notifications;
mod privacy;
mod processes;
mod projection;
mod reports;
