//! The portfolio model's tallies, what the investment report and the dashboard read instead of
//! every holding and trade: holdings summed by where their clients sit (branch, segment,
//! relationship manager) and instrument, the clients holding anything (or an asset class) by
//! where they sit, and trades in force by day, side and asset class.
//!
//! The holdings tallies are the sum over clients of what each holds, at the client's place
//! now. When anything of a client changes (a trade, a reversal, a move to another segment or
//! manager), what they held where they sat before is taken out and what they hold where they
//! sit after is put in. Costs are counted to a millionth of a rupee, so that what is taken out
//! is exactly what was put in and the tallies never drift from the rows they sum. The trade
//! tally moves by each trade recorded or reversed (wherever the client sits).

use std::collections::{BTreeMap, HashMap};

use rust_decimal::Decimal;

use crate::{with_tx, ProjectionError, StoredEvent, Tx};

/// Where a client sits. `relationship_manager` is empty when none is assigned.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(super) struct Place {
    pub branch: String,
    pub segment: String,
    pub relationship_manager: String,
}

/// How a client event moves a client's place.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Move {
    /// Onboarded at a branch, with a manager or not (in the `retail` segment).
    Onboarded {
        branch: String,
        manager: Option<String>,
    },
    Manager(String),
    Segment(String),
}

/// The move a client event makes, read from the fields of the event that are never sealed;
/// `None` for the events that move nothing.
pub(super) fn move_of(e: &StoredEvent) -> Option<Move> {
    let body = e.payload.get(&e.event_type)?;
    let text = |k: &str| body.get(k).and_then(|v| v.as_str()).map(str::to_string);
    match e.event_type.as_str() {
        "ClientOnboarded" => Some(Move::Onboarded {
            branch: text("branch")?,
            manager: text("relationship_manager"),
        }),
        "RelationshipManagerAssigned" => text("manager_id").map(Move::Manager),
        "ClientSegmentChanged" => text("to").map(Move::Segment),
        _ => None,
    }
}

/// What a client adds to the holdings tallies: per instrument (isin) its symbol, asset class,
/// quantity and cost (to a millionth of a rupee).
#[derive(Debug, Clone, Default, PartialEq)]
pub(super) struct Share {
    holdings: BTreeMap<String, (String, String, Decimal, Decimal)>,
}

/// Trades in force by (trade date, side, asset class): how many, and their value in
/// ten-thousandths of a rupee; what a batch adds to or takes from the trade tally.
pub(super) type TradeDays = BTreeMap<(String, String, String), (i64, i64)>;

/// Counts a trade recorded (`sign` 1) or reversed (-1) into `days`.
pub(super) fn count_trade(
    days: &mut TradeDays,
    day: &str,
    side: &str,
    class: &str,
    value_e4: i64,
    sign: i64,
) {
    let d = days
        .entry((day.to_string(), side.to_string(), class.to_string()))
        .or_default();
    d.0 += sign;
    d.1 += sign * value_e4;
}

/// A client's place and share as the model has them now.
pub(super) async fn state_of(
    tx: &mut Tx,
    suffix: &str,
    client: &str,
) -> Result<(Option<Place>, Share), ProjectionError> {
    type Lot = (String, String, String, String, String);
    type Found = (Option<(String, String, String)>, Vec<Lot>);
    let (place, lots): Found = with_tx!(tx, t => {
        let place = sqlx::query_as(&format!(
            "SELECT branch, segment, relationship_manager FROM portfolio_places{suffix}
              WHERE client_id = $1"
        ))
        .bind(client)
        .fetch_optional(&mut **t)
        .await?;
        let lots = sqlx::query_as(&format!(
            "SELECT isin, symbol, asset_class, quantity, cost FROM portfolio_lots{suffix}
              WHERE client_id = $1 AND quantity <> '0'"
        ))
        .bind(client)
        .fetch_all(&mut **t)
        .await?;
        (place, lots)
    });
    let bad = |what: &str| ProjectionError::Event(format!("stored holding of {client}: {what}"));
    let mut share = Share::default();
    for (isin, symbol, class, quantity, cost) in lots {
        let q: Decimal = quantity.parse().map_err(|_| bad("quantity"))?;
        let c: Decimal = cost.parse().map_err(|_| bad("cost"))?;
        share
            .holdings
            .insert(isin, (symbol, class, q, c.round_dp(6)));
    }
    let place = place.map(|(branch, segment, relationship_manager)| Place {
        branch,
        segment,
        relationship_manager,
    });
    Ok((place, share))
}

/// Records a client's move.
pub(super) async fn record_move(
    tx: &mut Tx,
    suffix: &str,
    client: &str,
    m: &Move,
) -> Result<(), ProjectionError> {
    let (sql, value, manager) = match m {
        Move::Onboarded { branch, manager } => (
            "INSERT INTO portfolio_places{s} (client_id, branch, segment, relationship_manager)
             VALUES ($1, $2, 'retail', $3)
             ON CONFLICT (client_id) DO UPDATE SET branch = excluded.branch,
               relationship_manager = excluded.relationship_manager",
            branch,
            Some(manager.clone().unwrap_or_default()),
        ),
        Move::Manager(m) => (
            "UPDATE portfolio_places{s} SET relationship_manager = $2 WHERE client_id = $1",
            m,
            None,
        ),
        Move::Segment(seg) => (
            "UPDATE portfolio_places{s} SET segment = $2 WHERE client_id = $1",
            seg,
            None,
        ),
    };
    let sql = sql.replace("{s}", suffix);
    with_tx!(tx, t => {
        let q = sqlx::query(&sql).bind(client).bind(value);
        match &manager {
            Some(m) => q.bind(m).execute(&mut **t).await?,
            None => q.execute(&mut **t).await?,
        };
    });
    Ok(())
}

/// Holders, quantity, cost, symbol and asset class.
type HoldingDelta = (i64, Decimal, Decimal, String, String);

/// Changes to the holdings tallies, netted: per (place, isin) holders, quantity and cost (and
/// the instrument's symbol and class); per (place, asset class or `""` for anything) holders.
#[derive(Debug, Default)]
struct Delta {
    holdings: HashMap<(Place, String), HoldingDelta>,
    holders: HashMap<(Place, String), i64>,
}

impl Delta {
    /// Adds (`sign` 1) or takes out (`sign` -1) a client's share at its place (none: the
    /// client is not placed yet, and counts nowhere).
    fn add(&mut self, place: Option<&Place>, share: &Share, sign: i64) {
        let Some(place) = place else {
            return;
        };
        let s = Decimal::from(sign);
        for (isin, (symbol, class, q, c)) in &share.holdings {
            let d = self
                .holdings
                .entry((place.clone(), isin.clone()))
                .or_default();
            d.0 += sign;
            d.1 += s * q;
            d.2 += s * c;
            (d.3, d.4) = (symbol.clone(), class.clone());
        }
        let classes: std::collections::BTreeSet<&String> =
            share.holdings.values().map(|h| &h.1).collect();
        for class in classes {
            *self
                .holders
                .entry((place.clone(), class.clone()))
                .or_default() += sign;
        }
        if !share.holdings.is_empty() {
            *self
                .holders
                .entry((place.clone(), String::new()))
                .or_default() += sign;
        }
    }
}

/// Takes a client's share `before` out of the tallies and puts the share `after` in.
pub(super) async fn retally(
    tx: &mut Tx,
    suffix: &str,
    before: &(Option<Place>, Share),
    after: &(Option<Place>, Share),
) -> Result<(), ProjectionError> {
    if before == after {
        return Ok(());
    }
    let mut delta = Delta::default();
    delta.add(before.0.as_ref(), &before.1, -1);
    delta.add(after.0.as_ref(), &after.1, 1);
    for ((place, isin), (holders, q, c, symbol, class)) in delta.holdings {
        if holders == 0 && q.is_zero() && c.is_zero() {
            continue;
        }
        let key = "branch = $1 AND segment = $2 AND relationship_manager = $3 AND isin = $4";
        let now: Option<(i64, String, String)> = with_tx!(tx, t => {
            sqlx::query_as(&format!(
                "SELECT holders, quantity, cost FROM holding_tally{suffix} WHERE {key}"
            ))
            .bind(&place.branch)
            .bind(&place.segment)
            .bind(&place.relationship_manager)
            .bind(&isin)
            .fetch_optional(&mut **t)
            .await?
        });
        let (h0, q0, c0) = match now {
            Some((h, q, c)) => {
                let bad =
                    |_| ProjectionError::Event(format!("holding tally of {isin}: not a number"));
                (
                    h,
                    q.parse::<Decimal>().map_err(bad)?,
                    c.parse::<Decimal>().map_err(bad)?,
                )
            }
            None => (0, Decimal::ZERO, Decimal::ZERO),
        };
        let (h1, q1, c1) = (h0 + holders, q0 + q, c0 + c);
        with_tx!(tx, t => {
            if h1 == 0 {
                sqlx::query(&format!("DELETE FROM holding_tally{suffix} WHERE {key}"))
                    .bind(&place.branch)
                    .bind(&place.segment)
                    .bind(&place.relationship_manager)
                    .bind(&isin)
                    .execute(&mut **t)
                    .await?;
            } else {
                sqlx::query(&format!(
                    "INSERT INTO holding_tally{suffix} (branch, segment, relationship_manager, isin,
                       symbol, asset_class, holders, quantity, cost)
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
                     ON CONFLICT (branch, segment, relationship_manager, isin) DO UPDATE SET
                       symbol = excluded.symbol, asset_class = excluded.asset_class,
                       holders = excluded.holders, quantity = excluded.quantity, cost = excluded.cost"
                ))
                .bind(&place.branch)
                .bind(&place.segment)
                .bind(&place.relationship_manager)
                .bind(&isin)
                .bind(&symbol)
                .bind(&class)
                .bind(h1)
                .bind(q1.normalize().to_string())
                .bind(c1.normalize().to_string())
                .execute(&mut **t)
                .await?;
            }
        });
    }
    let holders: Vec<_> = delta.holders.into_iter().filter(|(_, n)| *n != 0).collect();
    with_tx!(tx, t => {
        for ((place, class), n) in holders {
            sqlx::query(&format!(
                "INSERT INTO holder_tally{suffix} (branch, segment, relationship_manager, asset_class, holders)
                 VALUES ($1, $2, $3, $4, $5)
                 ON CONFLICT (branch, segment, relationship_manager, asset_class) DO UPDATE SET
                   holders = holder_tally{suffix}.holders + excluded.holders"
            ))
            .bind(&place.branch)
            .bind(&place.segment)
            .bind(&place.relationship_manager)
            .bind(&class)
            .bind(n)
            .execute(&mut **t)
            .await?;
        }
    });
    Ok(())
}

/// Adds a batch's trades recorded and reversed to the trade tally.
pub(super) async fn add_trades(
    tx: &mut Tx,
    suffix: &str,
    days: TradeDays,
) -> Result<(), ProjectionError> {
    with_tx!(tx, t => {
        for ((day, side, class), (n, v)) in days.into_iter().filter(|(_, d)| *d != (0, 0)) {
            sqlx::query(&format!(
                "INSERT INTO trade_days{suffix} (trade_date, side, asset_class, trades, value_e4)
                 VALUES ($1, $2, $3, $4, $5)
                 ON CONFLICT (trade_date, side, asset_class) DO UPDATE SET
                   trades = trade_days{suffix}.trades + excluded.trades,
                   value_e4 = trade_days{suffix}.value_e4 + excluded.value_e4"
            ))
            .bind(&day)
            .bind(&side)
            .bind(&class)
            .bind(n)
            .bind(v)
            .execute(&mut **t)
            .await?;
        }
    });
    Ok(())
}
