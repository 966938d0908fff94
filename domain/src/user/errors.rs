//! Why a User command is refused.

use chrono::{DateTime, Utc};

use super::Role;

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum UserError {
    #[error("the user exists already")]
    AlreadyExists,
    #[error("no such user")]
    NotFound,
    #[error("the account is deactivated")]
    Inactive,
    #[error("the account is locked until {until}")]
    Locked { until: DateTime<Utc> },
    #[error("the refresh token is not valid")]
    InvalidRefresh,
    #[error("a {0} needs a branch")]
    BranchRequired(Role),
    #[error("the account is already {0}")]
    AlreadyInState(&'static str),
}
