//! What the lead endpoints take in their queries and give back.

use super::*;

/// Sort order of the lead list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
#[oai(rename_all = "snake_case")]
pub enum SortField {
    CreatedAt,
    UpdatedAt,
    Score,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
#[oai(rename_all = "snake_case")]
pub enum SortOrder {
    Asc,
    Desc,
}

/// Which follow-ups: due today (IST), overdue, upcoming, or any open one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
#[oai(rename_all = "snake_case")]
pub enum Due {
    Today,
    Overdue,
    Upcoming,
    Any,
}

impl From<Due> for DueWindow {
    fn from(d: Due) -> Self {
        match d {
            Due::Today => DueWindow::Today,
            Due::Overdue => DueWindow::Overdue,
            Due::Upcoming => DueWindow::Upcoming,
            Due::Any => DueWindow::Any,
        }
    }
}

#[derive(Debug, ApiResponse)]
pub enum LeadResponse {
    /// The lead. `ETag` is its version: send it back as `If-Match` to change it only if
    /// nobody else has changed it since.
    #[oai(status = 200)]
    Ok(Json<LeadOut>, #[oai(header = "ETag")] String),
}

#[derive(Debug, ApiResponse)]
pub enum LeadListResponse {
    /// A page of leads.
    #[oai(status = 200)]
    Ok(Json<LeadPage>),
}

#[derive(Debug, ApiResponse)]
pub enum HistoryResponse {
    /// The lead's events, oldest first.
    #[oai(status = 200)]
    Ok(Json<History>),
}

#[derive(Debug, ApiResponse)]
pub enum InteractionsResponse {
    /// The lead's interactions, newest first.
    #[oai(status = 200)]
    Ok(Json<InteractionPage>),
}

#[derive(Debug, ApiResponse)]
pub enum FollowUpsResponse {
    /// Open follow-ups, soonest first.
    #[oai(status = 200)]
    Ok(Json<FollowUpPage>),
}

#[derive(Debug, ApiResponse)]
pub enum AgentsResponse {
    /// The active agents.
    #[oai(status = 200)]
    Ok(Json<Agents>),
}

#[derive(Debug, ApiResponse)]
pub enum ScoreResponse {
    /// The score and its contributions.
    #[oai(status = 200)]
    Ok(Json<ScoreOut>),
}
