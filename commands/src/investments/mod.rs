//! Investment use cases: recording and correcting trades in a client's portfolio (gated on
//! the client's KYC and risk profile), and the risk questionnaire.

pub mod prices;

use domain::access::{Actor, ClientScope};
use domain::client::ClientError;
use domain::investments::{PortfolioCommand, PortfolioError, RiskAnswers, Trade, TradingBlock};
use domain::values::Text;
use store::EventMetadata;
use uuid::Uuid;

use crate::clients::ClientsError;
use crate::{CommandError, Committed, WriteSide};

#[derive(Debug, thiserror::Error)]
pub enum InvestmentError {
    #[error(transparent)]
    Command(#[from] CommandError<PortfolioError>),
    /// The client (missing, out of scope, erased, closed).
    #[error(transparent)]
    Client(#[from] ClientsError),
}

impl From<CommandError<ClientError>> for InvestmentError {
    fn from(e: CommandError<ClientError>) -> Self {
        InvestmentError::Client(e.into())
    }
}

/// Checks that the caller may see the client and that the client can change.
async fn client_in_scope(
    write: &WriteSide,
    scope: &ClientScope,
    client_id: Uuid,
) -> Result<domain::client::Client, InvestmentError> {
    let (client, _) = write.clients.load(&client_id.to_string()).await?;
    if !client.is_onboarded() || !scope.covers_client(&client) {
        return Err(CommandError::Rejected(ClientError::NotFound).into());
    }
    client.ensure_changeable().map_err(CommandError::Rejected)?;
    Ok(client)
}

/// Why the client may not trade today, from their KYC.
async fn kyc_block(
    write: &WriteSide,
    client_id: Uuid,
) -> Result<Option<TradingBlock>, InvestmentError> {
    let (kyc, _) =
        write.kyc.load(&client_id.to_string()).await.map_err(|e| {
            CommandError::<PortfolioError>::store(std::io::Error::other(e.to_string()))
        })?;
    let today = domain::kyc::india_today(write.portfolios.services().clock.now());
    Ok(kyc.trading_block(today))
}

/// What recording a trade did: its id, and whether it was new (a repeat of the same
/// reference with the same trade records nothing and answers the first one's id).
#[derive(Debug, Clone, Copy)]
pub struct Recorded {
    pub trade_id: Uuid,
    pub created: bool,
    pub committed: Committed,
}

/// Records a trade for a client the caller may see.
pub async fn record_trade(
    write: &WriteSide,
    actor: &Actor,
    scope: &ClientScope,
    client_id: Uuid,
    trade: Trade,
    override_reason: Option<Text>,
    meta: &EventMetadata,
) -> Result<Recorded, InvestmentError> {
    let client = client_in_scope(write, scope, client_id).await?;
    client.ensure_tradable().map_err(CommandError::Rejected)?;
    let id = client_id.to_string();
    let kyc_block = kyc_block(write, client_id).await?;
    let trade_id = Uuid::now_v7();
    let reference = trade.reference.as_str().to_string();
    let committed = write
        .portfolios
        .execute(
            &id,
            PortfolioCommand::RecordTrade {
                trade_id,
                client_id,
                trade,
                by: actor.user_id,
                kyc_block,
                override_reason,
            },
            meta,
            None,
        )
        .await?;
    if committed.appended == 0 {
        // The same trade was recorded before under this reference: answer that one.
        let (portfolio, _) = write.portfolios.load(&id).await?;
        let existing = portfolio
            .by_reference(&reference)
            .map(|(t, _)| t)
            .unwrap_or(trade_id);
        return Ok(Recorded {
            trade_id: existing,
            created: false,
            committed,
        });
    }
    Ok(Recorded {
        trade_id,
        created: true,
        committed,
    })
}

/// Corrects a trade of a client the caller may see: a reversal and a replacement, for
/// `reason`. Answers the replacement's id.
#[allow(clippy::too_many_arguments)]
pub async fn correct_trade(
    write: &WriteSide,
    actor: &Actor,
    scope: &ClientScope,
    client_id: Uuid,
    trade_id: Uuid,
    replacement: Trade,
    reason: Text,
    override_reason: Option<Text>,
    meta: &EventMetadata,
) -> Result<(Uuid, Committed), InvestmentError> {
    client_in_scope(write, scope, client_id).await?;
    let kyc_block = kyc_block(write, client_id).await?;
    let replacement_id = Uuid::now_v7();
    let committed = write
        .portfolios
        .execute(
            &client_id.to_string(),
            PortfolioCommand::CorrectTrade {
                trade_id,
                replacement_id,
                replacement,
                reason,
                by: actor.user_id,
                kyc_block,
                override_reason,
            },
            meta,
            None,
        )
        .await?;
    if committed.appended == 0 {
        // The same correction was made before: answer its replacement.
        let (portfolio, _) = write.portfolios.load(&client_id.to_string()).await?;
        let done = portfolio
            .replacement_of(trade_id)
            .map(|(id, _)| id)
            .unwrap_or(replacement_id);
        return Ok((done, committed));
    }
    Ok((replacement_id, committed))
}

/// Records the client's answers to the risk questionnaire.
pub async fn profile_risk(
    write: &WriteSide,
    actor: &Actor,
    scope: &ClientScope,
    client_id: Uuid,
    answers: RiskAnswers,
    meta: &EventMetadata,
) -> Result<Committed, InvestmentError> {
    client_in_scope(write, scope, client_id).await?;
    Ok(write
        .portfolios
        .execute(
            &client_id.to_string(),
            PortfolioCommand::ProfileRisk {
                client_id,
                answers,
                by: actor.user_id,
            },
            meta,
            None,
        )
        .await?)
}
