//! A client's portfolio: one aggregate per client (its id is the client's), an event-sourced
//! ledger of trades from which lots (FIFO), realised gains and holdings are computed, and the
//! client's risk profile that buys are checked against.
//!
//! A trade is never rewritten: a correction appends a reversal and a replacement, and the
//! lots are recomputed from the trades in force. A sell of more than is held on its date is
//! refused, as is any trade while the client's KYC is not verified or re-KYC is overdue.

mod commands;
mod errors;
mod events;
pub mod fifo;
mod input;
mod personal;
pub mod risk;
mod rules;
#[cfg(test)]
mod tests;
pub mod xirr;

use std::collections::BTreeMap;

use chrono::NaiveDate;
use cqrs_es::event_sink::EventSink;
use cqrs_es::Aggregate;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

pub use commands::{PortfolioCommand, TradingBlock};
pub use errors::PortfolioError;
pub use events::{PortfolioEvent, StoredAnswers, SuitabilityOverride};
pub use fifo::{Ledger, Oversold};
pub use input::{next_working_day, FeesInput, TradeInput};
pub use personal::{upcasters, EVENT_TABLES};
pub use risk::{Experience, LossTolerance, RiskAnswers, RiskProfileLevel};
pub use rules::{
    AssetClass, BondTerms, Exchange, Fees, FundCategory, HoldingPeriods, InvestmentRules,
    RiskLevel, Side, Suitability, Trade,
};

use crate::values::{Isin, Text};
use crate::Clock;

/// What the portfolio needs from outside.
#[derive(Debug, Clone)]
pub struct PortfolioServices {
    pub clock: Clock,
    pub rules: InvestmentRules,
}

/// A trade in force, with the order it was recorded in.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TradeInForce {
    pub seq: u64,
    pub trade: Trade,
    /// The trade it replaced (a correction's replacement).
    #[serde(default)]
    pub corrects: Option<Uuid>,
}

/// The decision state of a client's portfolio.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Portfolio {
    client_id: Option<Uuid>,
    /// The trades in force (not reversed), by id.
    trades: BTreeMap<Uuid, TradeInForce>,
    /// Each reference's trade in force.
    references: BTreeMap<String, Uuid>,
    recorded: u64,
    profile: Option<RiskProfileLevel>,
    /// Per instrument: the quantity the trades in force leave, and the latest trade date ever
    /// recorded (so that a trade after all others is checked without refolding the lots).
    #[serde(default)]
    net: BTreeMap<Isin, Decimal>,
    #[serde(default)]
    latest: BTreeMap<Isin, NaiveDate>,
}

impl Portfolio {
    /// The trade in force recorded under `reference`.
    pub fn by_reference(&self, reference: &str) -> Option<(Uuid, &Trade)> {
        let id = self.references.get(reference)?;
        Some((*id, &self.trades.get(id)?.trade))
    }

    /// The trades in force, by id.
    pub fn trades(&self) -> impl Iterator<Item = (Uuid, &TradeInForce)> {
        self.trades.iter().map(|(id, t)| (*id, t))
    }

    /// How many trades are in force.
    /// The trade in force that replaced `trade_id` (by a correction).
    pub fn replacement_of(&self, trade_id: Uuid) -> Option<(Uuid, &Trade)> {
        self.trades
            .iter()
            .find(|(_, t)| t.corrects == Some(trade_id))
            .map(|(id, t)| (*id, &t.trade))
    }

    pub fn trades_in_force(&self) -> usize {
        self.trades.len()
    }

    pub fn profile(&self) -> Option<RiskProfileLevel> {
        self.profile
    }

    /// The trades in force in the order they count (trade date, buys first, as recorded).
    pub fn ledger(&self, periods: &HoldingPeriods) -> Result<Ledger, Oversold> {
        Ledger::of(
            fifo::ordered(self.trades.iter().map(|(id, t)| (t.seq, *id, &t.trade))),
            periods,
        )
    }

    fn check_trade(
        &self,
        trade: &Trade,
        today: NaiveDate,
        by: Uuid,
        override_reason: Option<Text>,
        rules: &InvestmentRules,
    ) -> Result<Option<SuitabilityOverride>, PortfolioError> {
        let invalid = |field, message| PortfolioError::Invalid { field, message };
        if trade.trade_date > today {
            return Err(invalid(
                "trade_date",
                "a trade cannot be dated in the future",
            ));
        }
        if trade.settlement_date < trade.trade_date {
            return Err(invalid(
                "settlement_date",
                "a trade settles on or after its trade date",
            ));
        }
        if trade.side == Side::Sell || trade.risk() <= self.taken_risk() {
            return Ok(None);
        }
        let unsuitable = |hint| PortfolioError::Unsuitable {
            product: trade.risk(),
            profile: self.profile,
            hint,
        };
        match (rules.suitability, override_reason) {
            (Suitability::Refuse, _) => Err(unsuitable("such buys are refused")),
            (Suitability::OverrideAllowed, None) => Err(unsuitable(
                "send an override_reason to take it on an acknowledged override",
            )),
            (Suitability::OverrideAllowed, Some(reason)) => Ok(Some(SuitabilityOverride {
                product_risk: trade.risk(),
                profile: self.profile,
                reason,
                acknowledged_by: by,
            })),
        }
    }

    /// The riskiest product the client's profile takes (low when not profiled).
    fn taken_risk(&self) -> RiskLevel {
        self.profile
            .map(RiskProfileLevel::takes)
            .unwrap_or(RiskLevel::Low)
    }

    /// Whether the trades in force, with `change` made, still never sell more than is held.
    /// Whether `trade` is known to leave nothing oversold without refolding the lots: a buy
    /// only adds to what later sells find, and a sell dated on or after every trade of its
    /// instrument comes last in FIFO order, so it needs only the quantity held. `false`: a
    /// back-dated sell, to be checked against the whole ledger.
    fn held_after_all(&self, trade: &Trade) -> Result<bool, PortfolioError> {
        if trade.side == Side::Buy {
            return Ok(true);
        }
        if self
            .latest
            .get(&trade.isin)
            .is_some_and(|last| trade.trade_date < *last)
        {
            return Ok(false);
        }
        let held = self.net.get(&trade.isin).copied().unwrap_or_default();
        if held < trade.quantity {
            return Err(PortfolioError::Oversold {
                isin: trade.isin.clone(),
                on: trade.trade_date,
                held,
                sold: trade.quantity,
            });
        }
        Ok(true)
    }

    /// Counts a trade coming into (`sign` 1) or going out of force (-1) in the quantities.
    fn count(&mut self, trade: &Trade, sign: Decimal) {
        let signed = match trade.side {
            Side::Buy => trade.quantity,
            Side::Sell => -trade.quantity,
        };
        *self.net.entry(trade.isin.clone()).or_default() += signed * sign;
        let last = self
            .latest
            .entry(trade.isin.clone())
            .or_insert(trade.trade_date);
        *last = (*last).max(trade.trade_date);
    }

    fn still_held(
        &self,
        change: impl FnOnce(&mut BTreeMap<Uuid, TradeInForce>),
        periods: &HoldingPeriods,
    ) -> Result<(), PortfolioError> {
        let mut trades = self.trades.clone();
        change(&mut trades);
        Ledger::of(
            fifo::ordered(trades.iter().map(|(id, t)| (t.seq, *id, &t.trade))),
            periods,
        )
        .map(|_| ())
        .map_err(|o| PortfolioError::Oversold {
            isin: o.isin,
            on: o.on,
            held: o.held,
            sold: o.sold,
        })
    }

    pub fn decide(
        &self,
        command: PortfolioCommand,
        services: &PortfolioServices,
    ) -> Result<Vec<PortfolioEvent>, PortfolioError> {
        let today = crate::kyc::india_today(services.clock.now());
        let rules = &services.rules;
        match command {
            PortfolioCommand::RecordTrade {
                trade_id,
                client_id,
                trade,
                by,
                kyc_block,
                override_reason,
            } => {
                if let Some((_, recorded)) = self.by_reference(trade.reference.as_str()) {
                    return if *recorded == trade {
                        Ok(Vec::new())
                    } else {
                        Err(PortfolioError::ReferenceTaken(
                            trade.reference.as_str().into(),
                        ))
                    };
                }
                if let Some(block) = kyc_block {
                    return Err(PortfolioError::TradingBlocked(block.as_str()));
                }
                let suitability = self.check_trade(&trade, today, by, override_reason, rules)?;
                if !self.held_after_all(&trade)? {
                    let seq = self.recorded;
                    self.still_held(
                        |t| {
                            t.insert(
                                trade_id,
                                TradeInForce {
                                    seq,
                                    trade: trade.clone(),
                                    corrects: None,
                                },
                            );
                        },
                        &rules.holding,
                    )?;
                }
                Ok(vec![PortfolioEvent::TradeRecorded {
                    trade_id,
                    client_id,
                    trade,
                    recorded_by: by,
                    corrects: None,
                    suitability_override: suitability,
                }])
            }
            PortfolioCommand::CorrectTrade {
                trade_id,
                replacement_id,
                replacement,
                reason,
                by,
                kyc_block,
                override_reason,
            } => {
                if !self.trades.contains_key(&trade_id) {
                    // The same correction sent again (a retry): nothing more to do.
                    return match self.replacement_of(trade_id) {
                        Some((_, done)) if *done == replacement => Ok(Vec::new()),
                        _ => Err(PortfolioError::UnknownTrade(trade_id)),
                    };
                }
                if let Some(block) = kyc_block {
                    return Err(PortfolioError::TradingBlocked(block.as_str()));
                }
                if self
                    .by_reference(replacement.reference.as_str())
                    .is_some_and(|(id, _)| id != trade_id)
                {
                    return Err(PortfolioError::ReferenceTaken(
                        replacement.reference.as_str().into(),
                    ));
                }
                let suitability =
                    self.check_trade(&replacement, today, by, override_reason, rules)?;
                let seq = self.recorded;
                self.still_held(
                    |t| {
                        t.remove(&trade_id);
                        t.insert(
                            replacement_id,
                            TradeInForce {
                                seq,
                                trade: replacement.clone(),
                                corrects: Some(trade_id),
                            },
                        );
                    },
                    &rules.holding,
                )?;
                let client_id = self.client_id.unwrap_or_default();
                Ok(vec![
                    PortfolioEvent::TradeReversed {
                        trade_id,
                        reason,
                        reversed_by: by,
                    },
                    PortfolioEvent::TradeRecorded {
                        trade_id: replacement_id,
                        client_id,
                        trade: replacement,
                        recorded_by: by,
                        corrects: Some(trade_id),
                        suitability_override: suitability,
                    },
                ])
            }
            PortfolioCommand::ProfileRisk {
                client_id,
                answers,
                by,
            } => Ok(vec![PortfolioEvent::RiskProfiled {
                client_id,
                score: answers.score(),
                profile: answers.profile(),
                answers: (&answers).into(),
                profiled_by: by,
            }]),
        }
    }
}

impl Aggregate for Portfolio {
    const TYPE: &'static str = "portfolio";
    type Command = PortfolioCommand;
    type Event = PortfolioEvent;
    type Error = PortfolioError;
    type Services = PortfolioServices;

    async fn handle(
        &mut self,
        command: Self::Command,
        services: &Self::Services,
        sink: &EventSink<Self>,
    ) -> Result<(), Self::Error> {
        for event in self.decide(command, services)? {
            sink.write(event, self).await;
        }
        Ok(())
    }

    fn apply(&mut self, event: Self::Event) {
        match event {
            PortfolioEvent::TradeRecorded {
                trade_id,
                client_id,
                trade,
                corrects,
                ..
            } => {
                self.client_id = Some(client_id);
                self.count(&trade, Decimal::ONE);
                self.references
                    .insert(trade.reference.as_str().to_string(), trade_id);
                self.trades.insert(
                    trade_id,
                    TradeInForce {
                        seq: self.recorded,
                        trade,
                        corrects,
                    },
                );
                self.recorded += 1;
            }
            PortfolioEvent::TradeReversed { trade_id, .. } => {
                if let Some(t) = self.trades.remove(&trade_id) {
                    self.count(&t.trade, Decimal::NEGATIVE_ONE);
                    if self.references.get(t.trade.reference.as_str()) == Some(&trade_id) {
                        self.references.remove(t.trade.reference.as_str());
                    }
                }
            }
            PortfolioEvent::RiskProfiled {
                client_id, profile, ..
            } => {
                self.client_id = Some(client_id);
                self.profile = Some(profile);
            }
        }
    }
}
