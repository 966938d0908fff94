//! The portfolio read model: per client what is held (open FIFO lots), the cash flows by day
//! and the risk profile, and one row per trade (a sell in force with the lots it consumed).
//!
//! Trades usually arrive in date order, and then each is added to the lots in place; a trade
//! dated before the latest one, or a reversal, recomputes the client's lots from the trades in
//! force, so that every sell after it is right again.
//!
//! The model also follows where each client sits (from the client events that move them) and
//! keeps the tallies the reports read in place of every holding and trade (the `tally` module).

pub mod query;
mod record;
mod summary;
mod tally;
#[cfg(test)]
mod tests;
pub mod valuation;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;

use chrono::{Datelike, NaiveDate};
use cqrs_es::Aggregate;
use domain::investments::{fifo, HoldingPeriods, Ledger, Portfolio, PortfolioEvent, Trade};
use domain::values::Isin;
use futures::future::BoxFuture;
use serde_json::Value;
use store::privacy::Keyring;
use store::EventMetadata;
use uuid::Uuid;

pub use record::PortfolioRecord;
pub use summary::{realised_within, Book, Day, PortfolioSummary, ProfileView, Realised};

use crate::{with_tx, Projection, ProjectionError, StoredEvent, Tx};

pub const NAME: &str = "portfolios";

/// The portfolio read model's projection.
pub struct PortfolioProjection {
    keyring: Arc<Keyring>,
    /// How realised gains are split (short, long) in the summaries.
    periods: HoldingPeriods,
}

impl PortfolioProjection {
    pub fn new(keyring: Arc<Keyring>, periods: HoldingPeriods) -> Self {
        Self { keyring, periods }
    }
}

impl Projection for PortfolioProjection {
    fn name(&self) -> &'static str {
        NAME
    }

    /// The model's own version (5: the tallies and where clients sit; 6: the last trade
    /// indexed), with the holding periods its realised gains are split by: other periods
    /// configured rebuild it at start-up, for every client at once.
    fn version(&self) -> i64 {
        6_000_000
            + 1000 * i64::from(self.periods.equity_months)
            + i64::from(self.periods.other_months)
    }

    fn ddl(&self) -> &'static str {
        include_str!("../../../migrations/read_models/portfolios.sql")
    }

    fn tables(&self) -> &'static [&'static str] {
        &[
            "portfolios",
            "portfolio_months",
            "portfolio_lots",
            "portfolio_trades",
            "portfolio_places",
            "holding_tally",
            "holder_tally",
            "trade_days",
        ]
    }

    /// Portfolio events, and the client events that move a client (for the tallies).
    fn concerns(&self, event: &StoredEvent) -> bool {
        event.aggregate_type == Portfolio::TYPE
            || (event.aggregate_type == domain::client::Client::TYPE
                && tally::move_of(event).is_some())
    }

    fn prepare<'a>(
        &'a self,
        events: &'a [StoredEvent],
    ) -> BoxFuture<'a, Result<(), ProjectionError>> {
        Box::pin(crate::sealed::prepare_keys(
            &self.keyring,
            events,
            Portfolio::TYPE,
        ))
    }

    fn apply<'a>(
        &'a self,
        tx: &'a mut Tx,
        suffix: &'a str,
        events: &'a [StoredEvent],
    ) -> BoxFuture<'a, Result<(), ProjectionError>> {
        Box::pin(apply(&self.keyring, self.periods, tx, suffix, events))
    }
}

async fn apply(
    keyring: &Keyring,
    periods: HoldingPeriods,
    tx: &mut Tx,
    suffix: &str,
    events: &[StoredEvent],
) -> Result<(), ProjectionError> {
    let mut by_client: Vec<(String, Vec<&StoredEvent>)> = Vec::new();
    let mut index: HashMap<&str, usize> = HashMap::new();
    for e in events
        .iter()
        .filter(|e| e.aggregate_type == Portfolio::TYPE)
    {
        let i = *index.entry(e.aggregate_id.as_str()).or_insert_with(|| {
            by_client.push((e.aggregate_id.clone(), Vec::new()));
            by_client.len() - 1
        });
        by_client[i].1.push(e);
    }
    // The clients' moves, in log order, and each client's place and share before the batch.
    let moves: Vec<(&str, tally::Move)> = events
        .iter()
        .filter(|e| e.aggregate_type == domain::client::Client::TYPE)
        .filter_map(|e| Some((e.aggregate_id.as_str(), tally::move_of(e)?)))
        .collect();
    let mut touched: Vec<&str> = by_client.iter().map(|(c, _)| c.as_str()).collect();
    touched.extend(moves.iter().map(|(c, _)| *c));
    touched.sort_unstable();
    touched.dedup();
    let mut before = Vec::with_capacity(touched.len());
    for client in &touched {
        before.push(tally::state_of(tx, suffix, client).await?);
    }
    let mut days = tally::TradeDays::new();
    apply_trades(keyring, periods, tx, suffix, &by_client, &mut days).await?;
    tally::add_trades(tx, suffix, days).await?;
    for (client, m) in &moves {
        tally::record_move(tx, suffix, client, m).await?;
    }
    for (client, before) in touched.iter().zip(&before) {
        let after = tally::state_of(tx, suffix, client).await?;
        tally::retally(tx, suffix, before, &after).await?;
    }
    Ok(())
}

/// Applies each client's portfolio events to their book, counting the trades recorded and
/// reversed into `days`.
async fn apply_trades(
    keyring: &Keyring,
    periods: HoldingPeriods,
    tx: &mut Tx,
    suffix: &str,
    by_client: &[(String, Vec<&StoredEvent>)],
    days: &mut tally::TradeDays,
) -> Result<(), ProjectionError> {
    let upcasters = domain::investments::upcasters();
    for (client, events) in by_client {
        let client = client.as_str();
        let Ok(client_id) = Uuid::parse_str(client) else {
            continue;
        };
        let mut book = load(tx, suffix, client)
            .await?
            .unwrap_or_else(|| Book::new(client_id, periods));
        // Gains split by other holding periods than configured now are split again.
        let mut recompute = book.summary.periods != periods;
        let mut applied = false;
        for e in events {
            let fields = domain::personal_fields(Portfolio::TYPE, &e.event_type).unwrap_or(&[]);
            let (event, meta): (PortfolioEvent, EventMetadata) =
                match crate::sealed::decode(keyring, e, fields, &upcasters).await {
                    Ok(decoded) => decoded,
                    Err(ProjectionError::Event(why)) => {
                        crate::runner::record_dead_letter(tx, NAME, e, &why).await?;
                        continue;
                    }
                    Err(other) => return Err(other),
                };
            match &event {
                PortfolioEvent::TradeRecorded {
                    trade_id,
                    trade,
                    recorded_by,
                    corrects,
                    ..
                } => {
                    let value = value_e4(trade)?;
                    let inserted = insert_trade(
                        tx,
                        suffix,
                        client,
                        (*trade_id, trade, value),
                        e,
                        &meta,
                        *recorded_by,
                        *corrects,
                    )
                    .await?;
                    if inserted {
                        let (day, side) = (trade.trade_date.to_string(), trade.side.as_str());
                        let class = trade.asset_class.as_str();
                        tally::count_trade(days, &day, side, class, value, 1);
                    }
                    book.summary.trades += 1;
                    if !recompute && book.in_order(trade) {
                        let realised = book.add(*trade_id, trade);
                        if let Some(r) = realised {
                            set_realisation(tx, suffix, *trade_id, Some(&r)).await?;
                        }
                    } else {
                        recompute = true;
                    }
                }
                PortfolioEvent::TradeReversed { trade_id, .. } => {
                    let reversed: Option<(String, String, String, i64)> = with_tx!(tx, t => {
                        sqlx::query_as(&format!(
                            "UPDATE portfolio_trades{suffix} SET status = 'reversed', realisation = NULL
                              WHERE trade_id = $1 AND status = 'in_force'
                              RETURNING trade_date, side, asset_class, value_e4"
                        ))
                        .bind(trade_id.to_string())
                        .fetch_optional(&mut **t)
                        .await?
                    });
                    if let Some((day, side, class, value)) = reversed {
                        tally::count_trade(days, &day, &side, &class, value, -1);
                    }
                    book.summary.trades = book.summary.trades.saturating_sub(1);
                    recompute = true;
                }
                PortfolioEvent::RiskProfiled { score, profile, .. } => {
                    book.summary.profile = Some(ProfileView {
                        level: *profile,
                        score: *score,
                        profiled_at: meta.recorded_at,
                    });
                }
            }
            book.summary.updated_at = meta.recorded_at;
            book.summary.version = e.sequence;
            book.summary.position = e.position;
            applied = true;
        }
        if !applied {
            // Every event of the client's in this batch went to the dead letters.
            continue;
        }
        if recompute {
            recompute_lots(tx, suffix, client, &mut book, periods).await?;
        }
        save(tx, suffix, &mut book).await?;
    }
    Ok(())
}

/// A trade's value in ten-thousandths of a rupee, rounded half to even (what the reports sum:
/// a total of many fund trades may differ from the exact sum by a hundredth of a paisa per
/// trade). A value too large to hold is an error, never a wrong number.
fn value_e4(trade: &Trade) -> Result<i64, ProjectionError> {
    use rust_decimal::prelude::ToPrimitive;
    (trade.value() * rust_decimal::Decimal::from(10_000))
        .round()
        .to_i64()
        .ok_or_else(|| {
            ProjectionError::Event(format!("trade value out of range: {}", trade.value()))
        })
}

#[allow(clippy::too_many_arguments)]
async fn insert_trade(
    tx: &mut Tx,
    suffix: &str,
    client: &str,
    (trade_id, trade, value): (Uuid, &Trade, i64),
    e: &StoredEvent,
    meta: &EventMetadata,
    recorded_by: Uuid,
    corrects: Option<Uuid>,
) -> Result<bool, ProjectionError> {
    let doc = serde_json::to_value(trade).expect("a trade serializes");
    let inserted = with_tx!(tx, t => {
        let inserted = sqlx::query(&format!(
            "INSERT INTO portfolio_trades{suffix} (trade_id, client_id, seq, trade_date, side,
             asset_class, isin, reference, status, corrects, corrected_by, recorded_by,
             recorded_at, value_e4, trade, realisation)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'in_force', $9, NULL, $10, $11, $12, $13, NULL)
             ON CONFLICT (trade_id) DO NOTHING"
        ))
        .bind(trade_id.to_string())
        .bind(client)
        .bind(e.sequence)
        .bind(trade.trade_date.to_string())
        .bind(trade.side.as_str())
        .bind(trade.asset_class.as_str())
        .bind(trade.isin.as_str())
        .bind(trade.reference.as_str())
        .bind(corrects.map(|c| c.to_string()))
        .bind(recorded_by.to_string())
        .bind(meta.recorded_at)
        .bind(value)
        .bind(doc)
        .execute(&mut **t)
        .await?
        .rows_affected()
            == 1;
        if let Some(old) = corrects {
            sqlx::query(&format!(
                "UPDATE portfolio_trades{suffix} SET corrected_by = $2 WHERE trade_id = $1"
            ))
            .bind(old.to_string())
            .bind(trade_id.to_string())
            .execute(&mut **t)
            .await?;
        }
        inserted
    });
    Ok(inserted)
}

async fn set_realisation(
    tx: &mut Tx,
    suffix: &str,
    trade_id: Uuid,
    r: Option<&fifo::Realisation>,
) -> Result<(), ProjectionError> {
    let doc: Option<Value> = r.map(|r| serde_json::to_value(r).expect("a realisation serializes"));
    with_tx!(tx, t => {
        sqlx::query(&format!(
            "UPDATE portfolio_trades{suffix} SET realisation = $2 WHERE trade_id = $1"
        ))
        .bind(trade_id.to_string())
        .bind(doc)
        .execute(&mut **t)
        .await?;
    });
    Ok(())
}

/// Rebuilds the client's lots, flows and realisations from the trades in force.
async fn recompute_lots(
    tx: &mut Tx,
    suffix: &str,
    client: &str,
    book: &mut Book,
    periods: HoldingPeriods,
) -> Result<(), ProjectionError> {
    let rows: Vec<(String, i64, String)> = with_tx!(tx, t => {
        sqlx::query_as(&format!(
            "SELECT trade_id, seq, CAST(trade AS TEXT) FROM portfolio_trades{suffix}
              WHERE client_id = $1 AND status = 'in_force'"
        ))
        .bind(client)
        .fetch_all(&mut **t)
        .await?
    });
    let mut trades: Vec<(u64, Uuid, Trade)> = Vec::with_capacity(rows.len());
    for (id, seq, doc) in rows {
        let trade: Trade = serde_json::from_str(&doc)
            .map_err(|e| ProjectionError::Event(format!("stored trade {id}: {e}")))?;
        trades.push((seq as u64, Uuid::parse_str(&id).unwrap_or_default(), trade));
    }
    book.reset(periods);
    with_tx!(tx, t => {
        sqlx::query(&format!(
            "UPDATE portfolio_trades{suffix} SET realisation = NULL WHERE client_id = $1"
        ))
        .bind(client)
        .execute(&mut **t)
        .await?;
    });
    for (id, t) in fifo::ordered(trades.iter().map(|(s, id, t)| (*s, *id, t))) {
        if let Some(r) = book.add(id, t) {
            set_realisation(tx, suffix, id, Some(&r)).await?;
        }
    }
    Ok(())
}

async fn load(tx: &mut Tx, suffix: &str, client: &str) -> Result<Option<Book>, ProjectionError> {
    // As text, parsed straight into the types (no JSON value tree in between).
    let (doc, months, lots): (Option<String>, Vec<String>, Vec<String>) = with_tx!(tx, t => {
        let doc = sqlx::query_scalar(&format!(
            "SELECT CAST(doc AS TEXT) FROM portfolios{suffix} WHERE client_id = $1"
        ))
        .bind(client)
        .fetch_optional(&mut **t)
        .await?;
        let months = sqlx::query_scalar(&format!(
            "SELECT CAST(days AS TEXT) FROM portfolio_months{suffix} WHERE client_id = $1"
        ))
        .bind(client)
        .fetch_all(&mut **t)
        .await?;
        let lots = sqlx::query_scalar(&format!(
            "SELECT CAST(holding AS TEXT) FROM portfolio_lots{suffix} WHERE client_id = $1"
        ))
        .bind(client)
        .fetch_all(&mut **t)
        .await?;
        (doc, months, lots)
    });
    let Some(doc) = doc else {
        return Ok(None);
    };
    let summary: PortfolioSummary = parse(client, &doc)?;
    let mut book = Book::new(summary.client_id, summary.periods);
    book.summary = summary;
    book.days = days_of(client, &months)?;
    for text in lots {
        let h: fifo::Holding = parse(client, &text)?;
        book.lots.insert(h.isin.clone(), h);
    }
    Ok(Some(book))
}

/// The days of stored months.
pub(crate) fn days_of(
    client: &str,
    months: &[String],
) -> Result<BTreeMap<NaiveDate, Day>, ProjectionError> {
    let mut days = BTreeMap::new();
    for m in months {
        let month: BTreeMap<NaiveDate, Day> = parse(client, m)?;
        days.extend(month);
    }
    Ok(days)
}

/// The first day of `day`'s month, and of the next.
fn month_of(day: NaiveDate) -> (NaiveDate, NaiveDate) {
    let first = day.with_day(1).expect("day 1");
    (first, first + chrono::Months::new(1))
}

/// A stored part of a client's portfolio.
pub(crate) fn parse<T: serde::de::DeserializeOwned>(
    client: &str,
    text: &str,
) -> Result<T, ProjectionError> {
    serde_json::from_str(text)
        .map_err(|e| ProjectionError::Event(format!("stored portfolio {client}: {e}")))
}

/// Writes the summary, and the days and instruments that changed (all of them after a
/// recompute, the ones no longer there deleted).
async fn save(tx: &mut Tx, suffix: &str, book: &mut Book) -> Result<(), ProjectionError> {
    let summary = &book.summary;
    let client = summary.client_id.to_string();
    let doc = serde_json::to_value(summary).expect("a summary serializes");
    let invested = summary.invested().to_string();
    let profile = summary.profile.as_ref().map(|p| p.level.as_str());
    // The months to write, each with all its days.
    let changed: BTreeSet<NaiveDate> = match book.rewritten {
        true => book.days.keys().map(|d| month_of(*d).0).collect(),
        false => book.changed_days.iter().map(|d| month_of(*d).0).collect(),
    };
    let months: Vec<(String, sqlx::types::Json<BTreeMap<&NaiveDate, &Day>>)> = changed
        .into_iter()
        .map(|first| {
            let (from, until) = month_of(first);
            let days = book.days.range(from..until).collect();
            (first.format("%Y-%m").to_string(), sqlx::types::Json(days))
        })
        .collect();
    let lots: Vec<(&Isin, &fifo::Holding)> = match book.rewritten {
        true => book.lots.iter().collect(),
        false => book
            .changed_lots
            .iter()
            .filter_map(|i| book.lots.get_key_value(i))
            .collect(),
    };
    with_tx!(tx, t => {
        sqlx::query(&format!(
            "INSERT INTO portfolios{suffix} (client_id, profile, trades, invested, last_trade_on,
               updated_at, version, doc)
             VALUES ($1, $2, $3, $4,
                     (SELECT MAX(trade_date) FROM portfolio_trades{suffix}
                       WHERE client_id = $1 AND status = 'in_force'), $5, $6, $7)
             ON CONFLICT (client_id) DO UPDATE SET profile = excluded.profile,
               trades = excluded.trades, invested = excluded.invested,
               last_trade_on = excluded.last_trade_on, updated_at = excluded.updated_at,
               version = excluded.version, doc = excluded.doc"
        ))
        .bind(&client)
        .bind(profile)
        .bind(summary.trades as i64)
        .bind(invested)
        .bind(summary.updated_at)
        .bind(summary.version)
        .bind(doc)
        .execute(&mut **t)
        .await?;
        if book.rewritten {
            for table in ["portfolio_months", "portfolio_lots"] {
                sqlx::query(&format!("DELETE FROM {table}{suffix} WHERE client_id = $1"))
                    .bind(&client)
                    .execute(&mut **t)
                    .await?;
            }
        }
        for chunk in months.chunks(100) {
            let mut qb = sqlx::QueryBuilder::new(format!(
                "INSERT INTO portfolio_months{suffix} (client_id, month, days) "
            ));
            qb.push_values(chunk, |mut b, (month, days)| {
                b.push_bind(&client).push_bind(month).push_bind(days);
            });
            qb.push(" ON CONFLICT (client_id, month) DO UPDATE SET days = excluded.days");
            qb.build().execute(&mut **t).await?;
        }
        for chunk in lots.chunks(100) {
            let mut qb = sqlx::QueryBuilder::new(format!(
                "INSERT INTO portfolio_lots{suffix} \
                 (client_id, isin, symbol, asset_class, quantity, cost, holding) "
            ));
            qb.push_values(chunk, |mut b, (isin, h)| {
                let totals = query::Held::from(&h.position());
                b.push_bind(&client)
                    .push_bind(isin.as_str())
                    .push_bind(totals.symbol)
                    .push_bind(totals.asset_class.as_str())
                    .push_bind(totals.quantity.normalize().to_string())
                    .push_bind(totals.cost.normalize().to_string())
                    .push_bind(sqlx::types::Json(*h));
            });
            qb.push(
                " ON CONFLICT (client_id, isin) DO UPDATE SET symbol = excluded.symbol, \
                 asset_class = excluded.asset_class, quantity = excluded.quantity, \
                 cost = excluded.cost, holding = excluded.holding",
            );
            qb.build().execute(&mut **t).await?;
        }
    });
    book.changed_days.clear();
    book.changed_lots.clear();
    book.rewritten = false;
    Ok(())
}

/// The trades a [`Ledger`] over `trades` leaves (for the as-of valuation, folded from the log):
/// only those dated on or before `on`.
pub fn ledger_on(
    portfolio: &Portfolio,
    on: NaiveDate,
) -> (Ledger, Vec<(NaiveDate, rust_decimal::Decimal)>) {
    let mut book = Book::new(Uuid::nil(), HoldingPeriods::default());
    let trades: Vec<(u64, Uuid, &Trade)> = portfolio
        .trades()
        .filter(|(_, t)| t.trade.trade_date <= on)
        .map(|(id, t)| (t.seq, id, &t.trade))
        .collect();
    let mut realisations = Vec::new();
    for (id, t) in fifo::ordered(trades) {
        if let Some(r) = book.add(id, t) {
            realisations.push(r);
        }
    }
    let flows = book.days.iter().map(|(d, day)| (*d, day.flow)).collect();
    (
        Ledger {
            holdings: book.lots,
            realisations,
        },
        flows,
    )
}

/// The client's portfolio events as entries of the client's timeline (oldest first), the
/// fields they changed named under `portfolio/`.
pub async fn client_timeline(
    db: &store::Db,
    keyring: &Keyring,
    client_id: Uuid,
) -> Result<Vec<crate::timeline::TimelineEntry>, ProjectionError> {
    let (mut entries, _) =
        crate::timeline::history::<PortfolioRecord>(db, keyring, client_id).await?;
    for e in &mut entries {
        for c in &mut e.changes {
            c.field = format!("portfolio/{}", c.field);
        }
    }
    Ok(entries)
}
