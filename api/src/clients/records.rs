//! One client for a request: reading it within the caller's scope, running a command on it,
//! and its history from the log.

use super::*;

/// The client's view, if the caller may see it (404 otherwise).
pub(crate) async fn visible_client(
    state: &crate::http::AppState,
    p: &Principal,
    id: Uuid,
) -> Result<projections::clients::ClientView, ApiError> {
    projections::clients::query::get(&state.db, &state.keyring, id)
        .await
        .map_err(ApiError::internal)?
        .filter(|v| v.in_scope(&policy::client_scope(p)))
        .ok_or_else(|| ApiError::not_found("client"))
}

/// Runs a command on a client for a request: role check, the record-level check on the loaded
/// client, `If-Match`, counters, and the problem its failure maps to.
pub async fn run_client_command(
    state: &crate::http::AppState,
    principal: &Principal,
    action: Action,
    client_id: Uuid,
    command: ClientCommand,
    req: &Request,
) -> Result<commands::Committed, ApiError> {
    policy::require(principal, action)?;
    let meta = http::metadata(req);
    let expected = http::if_match(req)?;
    let scope = policy::client_scope(principal);
    let done = commands::clients::run(&state.write, &scope, client_id, command, &meta, expected)
        .await
        .map_err(ApiError::from)?;
    Ok(done)
}

/// Runs an edit of a client's record (`ClientEdit`) as an idempotent command, answering with
/// what `answer` makes of where its events landed.
pub(crate) async fn edit_client<R: crate::http::Replayable>(
    state: &crate::http::AppState,
    req: &Request,
    principal: &Principal,
    client_id: Uuid,
    key: Option<String>,
    fingerprint: serde_json::Value,
    command: ClientCommand,
    answer: impl FnOnce(&commands::Committed) -> R,
) -> Result<R, ApiError> {
    policy::require(principal, Action::ClientEdit)?;
    idempotent(state, key, req, fingerprint, || async {
        let done = run_client_command(
            state,
            principal,
            Action::ClientEdit,
            client_id,
            command,
            req,
        )
        .await?;
        Ok(answer(&done))
    })
    .await
}

/// A client's events and their KYC's and portfolio's, oldest first, opened and with their metadata (history
/// and export).
pub(crate) async fn client_history_entries(
    state: &crate::http::AppState,
    id: Uuid,
) -> Result<Vec<crate::dto::HistoryEntry>, ApiError> {
    let (mut items, _) =
        http::timeline::<projections::clients::ClientView>(state, id, "client").await?;
    // The client's KYC is part of the client's story.
    let (kyc, _) = projections::kyc::client_timeline(&state.db, &state.keyring, id)
        .await
        .map_err(ApiError::internal)?;
    items.extend(kyc.into_iter().map(crate::dto::HistoryEntry::from));
    // So are their trades and risk questionnaire.
    let trades = projections::investments::client_timeline(&state.db, &state.keyring, id)
        .await
        .map_err(ApiError::internal)?;
    items.extend(trades.into_iter().map(crate::dto::HistoryEntry::from));
    items.sort_by_key(|e| e.position);
    Ok(items)
}
