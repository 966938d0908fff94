//! Reads of the portfolio read model: a client's summary, their trades (filtered, newest
//! first, by keyset cursor), one trade, and the sells of a period with what they realised.

use chrono::{DateTime, NaiveDate, Utc};
use std::collections::BTreeMap;

use domain::investments::fifo::{Holding, Realisation};
use domain::investments::Trade;
use domain::values::Isin;
use serde_json::Value;
use store::{with_db, Db};
use uuid::Uuid;

use super::PortfolioSummary;
use crate::leads::query::{bind_all, decode_cursor, page, Bind, Page, QueryError, Sql};
use crate::ProjectionError;

/// A client's portfolio as the read model has it: the summary, the trade dates and (when
/// asked) the open lots, all of one version.
#[derive(Debug, Clone)]
pub struct PortfolioRead {
    pub summary: PortfolioSummary,
    pub days: BTreeMap<NaiveDate, super::Day>,
    pub lots: Option<BTreeMap<Isin, Holding>>,
}

/// The client's portfolio (`None`: nothing recorded yet), read in one transaction so that
/// its parts are of the same version; the lots only `with_lots`.
pub async fn portfolio(
    db: &Db,
    client_id: Uuid,
    with_lots: bool,
) -> Result<Option<PortfolioRead>, ProjectionError> {
    let id = client_id.to_string();
    let postgres = db.kind() == "postgres";
    let (doc, months, lots): (Option<String>, Vec<String>, Vec<String>) = with_db!(db, pool => {
        let mut tx = crate::leads::query::begin_snapshot!(pool, postgres);
        let doc = sqlx::query_scalar("SELECT CAST(doc AS TEXT) FROM portfolios WHERE client_id = $1")
            .bind(&id)
            .fetch_optional(&mut *tx)
            .await?;
        let months = sqlx::query_scalar(
            "SELECT CAST(days AS TEXT) FROM portfolio_months WHERE client_id = $1",
        )
        .bind(&id)
        .fetch_all(&mut *tx)
        .await?;
        let lots = match with_lots {
            true => {
                sqlx::query_scalar(
                    "SELECT CAST(holding AS TEXT) FROM portfolio_lots WHERE client_id = $1",
                )
                .bind(&id)
                .fetch_all(&mut *tx)
                .await?
            }
            false => Vec::new(),
        };
        tx.commit().await?;
        (doc, months, lots)
    });
    let Some(doc) = doc else {
        return Ok(None);
    };
    let lots = match with_lots {
        true => Some(
            lots.iter()
                .map(|text| {
                    let h: Holding = super::parse(&id, text)?;
                    Ok((h.isin.clone(), h))
                })
                .collect::<Result<_, ProjectionError>>()?,
        ),
        false => None,
    };
    Ok(Some(PortfolioRead {
        summary: super::parse(&id, &doc)?,
        days: super::days_of(&id, &months)?,
        lots,
    }))
}

/// One trade as the read model keeps it.
#[derive(Debug, Clone)]
pub struct TradeRow {
    pub trade_id: Uuid,
    pub client_id: Uuid,
    pub trade: Trade,
    /// `in_force` or `reversed`.
    pub status: String,
    pub corrects: Option<Uuid>,
    pub corrected_by: Option<Uuid>,
    pub recorded_by: Uuid,
    pub recorded_at: DateTime<Utc>,
    pub realisation: Option<Realisation>,
}

type Row = (
    String,
    String,
    Value,
    String,
    Option<String>,
    Option<String>,
    String,
    DateTime<Utc>,
    Option<Value>,
);

const COLUMNS: &str = "trade_id, client_id, trade, status, corrects, corrected_by, recorded_by, recorded_at, realisation";

fn row(r: Row) -> Result<TradeRow, ProjectionError> {
    let uuid = |s: &str| Uuid::parse_str(s).unwrap_or_default();
    let bad = |e: serde_json::Error| ProjectionError::Event(format!("stored trade {}: {e}", r.0));
    Ok(TradeRow {
        trade_id: uuid(&r.0),
        client_id: uuid(&r.1),
        trade: serde_json::from_value(r.2.clone()).map_err(bad)?,
        status: r.3.clone(),
        corrects: r.4.as_deref().map(uuid),
        corrected_by: r.5.as_deref().map(uuid),
        recorded_by: uuid(&r.6),
        recorded_at: r.7,
        realisation: match r.8.clone() {
            Some(v) if !v.is_null() => Some(serde_json::from_value(v).map_err(bad)?),
            _ => None,
        },
    })
}

pub async fn trade(db: &Db, trade_id: Uuid) -> Result<Option<TradeRow>, ProjectionError> {
    let found: Option<Row> = with_db!(db, pool => {
        sqlx::query_as(&format!("SELECT {COLUMNS} FROM portfolio_trades WHERE trade_id = $1"))
            .bind(trade_id.to_string())
            .fetch_optional(pool)
            .await?
    });
    found.map(row).transpose()
}

/// What a client's trade list is narrowed to.
#[derive(Debug, Clone, Default)]
pub struct TradeFilter {
    pub client_id: Uuid,
    pub isin: Option<String>,
    pub side: Option<String>,
    pub asset_class: Option<String>,
    pub status: Option<String>,
    pub from: Option<NaiveDate>,
    pub to: Option<NaiveDate>,
    pub limit: i64,
    pub cursor: Option<String>,
}

/// The client's trades, the latest trade date first.
pub async fn trades(db: &Db, f: &TradeFilter) -> Result<Page<TradeRow>, QueryError> {
    let mut sql = Sql::default();
    let c = sql.bind(Bind::Text(f.client_id.to_string()));
    sql.and(format!("client_id = {c}"));
    for (column, value) in [
        ("isin", &f.isin),
        ("side", &f.side),
        ("asset_class", &f.asset_class),
        ("status", &f.status),
    ] {
        if let Some(v) = value {
            let b = sql.bind(Bind::Text(v.clone()));
            sql.and(format!("{column} = {b}"));
        }
    }
    if let Some(from) = f.from {
        let b = sql.bind(Bind::Text(from.to_string()));
        sql.and(format!("trade_date >= {b}"));
    }
    if let Some(to) = f.to {
        let b = sql.bind(Bind::Text(to.to_string()));
        sql.and(format!("trade_date <= {b}"));
    }
    let count_sql = format!(
        "SELECT COUNT(*) FROM portfolio_trades{}",
        sql.where_clause()
    );
    let count_binds = sql.binds.clone();
    if let Some(cursor) = &f.cursor {
        let (value, id) = decode_cursor(cursor)?;
        let Value::String(date) = value else {
            return Err(QueryError::BadCursor);
        };
        let db_ = sql.bind(Bind::Text(date));
        let ib = sql.bind(Bind::Text(id));
        sql.and(format!("(trade_date, trade_id) < ({db_}, {ib})"));
    }
    let lb = sql.bind(Bind::Int(f.limit + 1));
    let page_sql = format!(
        "SELECT {COLUMNS} FROM portfolio_trades{} ORDER BY trade_date DESC, trade_id DESC LIMIT {lb}",
        sql.where_clause()
    );
    let (total, rows): (i64, Vec<Row>) = with_db!(db, pool => {
        let total: i64 = bind_all!(sqlx::query_scalar(&count_sql), &count_binds).fetch_one(pool).await?;
        let rows: Vec<Row> = bind_all!(sqlx::query_as(&page_sql), &sql.binds).fetch_all(pool).await?;
        (total, rows)
    });
    let items = rows.into_iter().map(row).collect::<Result<Vec<_>, _>>()?;
    Ok(page(items, f.limit, total, |t: &TradeRow| {
        (
            Value::String(t.trade.trade_date.to_string()),
            t.trade_id.to_string(),
        )
    }))
}

/// The client's sells in force dated within the period, with what each realised.
pub async fn realisations(
    db: &Db,
    client_id: Uuid,
    from: Option<NaiveDate>,
    to: Option<NaiveDate>,
) -> Result<Vec<(Realisation, Trade)>, ProjectionError> {
    // As text, parsed straight into the types (no JSON value tree in between).
    let rows: Vec<(String, String)> = with_db!(db, pool => {
        sqlx::query_as(
            "SELECT CAST(realisation AS TEXT), CAST(trade AS TEXT) FROM portfolio_trades
              WHERE client_id = $1 AND side = 'sell' AND status = 'in_force'
                AND realisation IS NOT NULL AND trade_date >= $2 AND trade_date <= $3",
        )
        .bind(client_id.to_string())
        .bind(from.map(|d| d.to_string()).unwrap_or_else(|| "0000-01-01".into()))
        .bind(to.map(|d| d.to_string()).unwrap_or_else(|| "9999-12-31".into()))
        .fetch_all(pool)
        .await?
    });
    rows.into_iter()
        .map(|(r, t)| {
            let bad = |e: serde_json::Error| ProjectionError::Event(format!("stored sell: {e}"));
            Ok((
                serde_json::from_str(&r).map_err(bad)?,
                serde_json::from_str(&t).map_err(bad)?,
            ))
        })
        .collect()
}

/// One instrument a client holds, in totals (for reports).
#[derive(Debug, Clone, PartialEq)]
pub struct Held {
    pub isin: Isin,
    pub symbol: String,
    pub asset_class: domain::investments::AssetClass,
    pub quantity: rust_decimal::Decimal,
    /// The FIFO cost of what is held.
    pub cost: rust_decimal::Decimal,
}

impl From<&domain::investments::fifo::Position> for Held {
    fn from(p: &domain::investments::fifo::Position) -> Self {
        Held {
            isin: p.isin.clone(),
            symbol: p.symbol.clone(),
            asset_class: p.asset_class,
            quantity: p.quantity,
            cost: p.cost,
        }
    }
}

impl Held {
    /// An instrument's totals as stored (decimal numbers as text); `whose` names the row in
    /// an error.
    fn parse(
        (isin, symbol, class, quantity, cost): (&str, String, &str, &str, &str),
        whose: &str,
    ) -> Result<Held, QueryError> {
        let bad =
            |what: &str| QueryError::Store(ProjectionError::Event(format!("{whose}: {what}")));
        Ok(Held {
            isin: Isin::parse(isin).map_err(|_| bad("isin"))?,
            symbol,
            asset_class: domain::investments::AssetClass::parse(class)
                .ok_or_else(|| bad("asset class"))?,
            quantity: quantity.parse().map_err(|_| bad("quantity"))?,
            cost: cost.parse().map_err(|_| bad("cost"))?,
        })
    }
}

/// What a client holds with where the client sits (for reports).
#[derive(Debug, Clone)]
pub struct PlacedPortfolio {
    pub client_id: Uuid,
    pub branch: String,
    /// The client's segment, as the client report counts it.
    pub segment: String,
    pub relationship_manager: Option<Uuid>,
    /// The instruments held (none sold out).
    pub holdings: Vec<Held>,
}

/// A row of [`portfolios_in`]: a client's place and one instrument they hold.
type HeldRow = (
    String,
    String,
    String,
    Option<String>,
    String,
    String,
    String,
    String,
    String,
);

/// What the clients in `scope` (of one branch when asked) hold, read from the holdings'
/// totals (never the lots or the summaries).
pub async fn portfolios_in(
    db: &Db,
    scope: &crate::clients::query::ClientScope,
    branch: Option<&str>,
) -> Result<Vec<PlacedPortfolio>, QueryError> {
    let mut sql = Sql::default();
    crate::clients::query::push_scope(&mut sql, scope);
    if let Some(b) = branch {
        let bb = sql.bind(Bind::Text(b.to_string()));
        sql.and(format!("c.branch = {bb}"));
    }
    sql.and("l.quantity <> '0'".into());
    let q = format!(
        "SELECT l.client_id, c.branch, c.segment, c.relationship_manager, l.isin, l.symbol,
                l.asset_class, l.quantity, l.cost
           FROM portfolio_lots l JOIN clients c ON c.client_id = l.client_id{}
          ORDER BY l.client_id",
        sql.where_clause()
    );
    let rows: Vec<HeldRow> = with_db!(db, pool => {
        bind_all!(sqlx::query_as(&q), &sql.binds).fetch_all(pool).await?
    });
    let mut out: Vec<PlacedPortfolio> = Vec::new();
    for (id, branch, segment, rm, isin, symbol, class, quantity, cost) in rows {
        let whose = format!("stored holding of {id}");
        let held = Held::parse((&isin, symbol, &class, &quantity, &cost), &whose)?;
        let client_id = Uuid::parse_str(&id).map_err(|_| {
            QueryError::Store(ProjectionError::Event(format!("{whose}: client id")))
        })?;
        match out.last_mut() {
            Some(p) if p.client_id == client_id => p.holdings.push(held),
            _ => out.push(PlacedPortfolio {
                client_id,
                branch,
                segment,
                relationship_manager: rm.as_deref().and_then(|r| Uuid::parse_str(r).ok()),
                holdings: vec![held],
            }),
        }
    }
    Ok(out)
}

/// Holdings summed by where their clients sit and instrument (a row of the holding tally).
#[derive(Debug, Clone, PartialEq)]
pub struct PlacedHolding {
    pub branch: String,
    pub segment: String,
    pub relationship_manager: Option<Uuid>,
    /// The clients holding the instrument there.
    pub holders: i64,
    pub held: Held,
}

/// Clients holding anything (`asset_class` `None`) or an asset class, by where they sit.
#[derive(Debug, Clone, PartialEq)]
pub struct PlacedHolders {
    pub branch: String,
    pub segment: String,
    pub relationship_manager: Option<Uuid>,
    pub asset_class: Option<domain::investments::AssetClass>,
    pub holders: i64,
}

/// What the clients in `scope` (of one branch when asked) hold, from the tallies: holdings by
/// place and instrument, and holders by place and asset class.
pub async fn holdings_in(
    db: &Db,
    scope: &crate::clients::query::ClientScope,
    branch: Option<&str>,
) -> Result<(Vec<PlacedHolding>, Vec<PlacedHolders>), QueryError> {
    let mut sql = Sql::default();
    crate::clients::query::push_scope(&mut sql, scope);
    if let Some(b) = branch {
        let bb = sql.bind(Bind::Text(b.to_string()));
        sql.and(format!("branch = {bb}"));
    }
    sql.and("holders > 0".into());
    let held_sql = format!(
        "SELECT branch, segment, relationship_manager, holders, isin, symbol, asset_class,
                quantity, cost
           FROM holding_tally{}",
        sql.where_clause()
    );
    let holders_sql = format!(
        "SELECT branch, segment, relationship_manager, asset_class, holders FROM holder_tally{}",
        sql.where_clause()
    );
    type HeldRow = (
        String,
        String,
        String,
        i64,
        String,
        String,
        String,
        String,
        String,
    );
    type HoldersRow = (String, String, String, String, i64);
    // Both in one transaction: the holders and what they hold as of the same batch.
    let postgres = db.kind() == "postgres";
    let (held, holders): (Vec<HeldRow>, Vec<HoldersRow>) = with_db!(db, pool => {
        let mut tx = crate::leads::query::begin_snapshot!(pool, postgres);
        let held = bind_all!(sqlx::query_as(&held_sql), &sql.binds).fetch_all(&mut *tx).await?;
        let holders = bind_all!(sqlx::query_as(&holders_sql), &sql.binds).fetch_all(&mut *tx).await?;
        tx.commit().await?;
        (held, holders)
    });
    let manager = |rm: &str| Uuid::parse_str(rm).ok();
    let held = held
        .into_iter()
        .map(
            |(branch, segment, rm, holders, isin, symbol, class, quantity, cost)| {
                let whose = format!("holding tally of {isin}");
                Ok(PlacedHolding {
                    relationship_manager: manager(&rm),
                    held: Held::parse((&isin, symbol, &class, &quantity, &cost), &whose)?,
                    branch,
                    segment,
                    holders,
                })
            },
        )
        .collect::<Result<Vec<_>, QueryError>>()?;
    let holders = holders
        .into_iter()
        .map(|(branch, segment, rm, c, holders)| {
            Ok(PlacedHolders {
                relationship_manager: manager(&rm),
                asset_class: match c.as_str() {
                    "" => None,
                    c => Some(domain::investments::AssetClass::parse(c).ok_or_else(|| {
                        QueryError::Store(ProjectionError::Event(format!(
                            "holder tally: asset class {c}"
                        )))
                    })?),
                },
                branch,
                segment,
                holders,
            })
        })
        .collect::<Result<Vec<_>, QueryError>>()?;
    Ok((held, holders))
}

/// Trades in force dated within the period among the clients in `scope`: count and value by
/// side and asset class.
pub async fn trade_volumes(
    db: &Db,
    scope: &crate::clients::query::ClientScope,
    branch: Option<&str>,
    from: NaiveDate,
    to: NaiveDate,
) -> Result<Vec<(String, String, i64, rust_decimal::Decimal)>, QueryError> {
    // Every client's trades are summed by day already.
    if matches!(scope, crate::clients::query::ClientScope::All) && branch.is_none() {
        let rows: Vec<(String, String, i64, i64)> = with_db!(db, pool => {
            sqlx::query_as(
                "SELECT side, asset_class, CAST(SUM(trades) AS bigint), CAST(SUM(value_e4) AS bigint)
                   FROM trade_days WHERE trade_date >= $1 AND trade_date <= $2
                  GROUP BY side, asset_class HAVING SUM(trades) <> 0
                  ORDER BY side, asset_class",
            )
            .bind(from.to_string())
            .bind(to.to_string())
            .fetch_all(pool)
            .await?
        });
        return Ok(volumes(rows));
    }
    let mut sql = Sql::default();
    crate::clients::query::push_scope(&mut sql, scope);
    if let Some(b) = branch {
        let bb = sql.bind(Bind::Text(b.to_string()));
        sql.and(format!("c.branch = {bb}"));
    }
    let f = sql.bind(Bind::Text(from.to_string()));
    let t = sql.bind(Bind::Text(to.to_string()));
    sql.and(format!(
        "t.status = 'in_force' AND t.trade_date >= {f} AND t.trade_date <= {t}"
    ));
    let join = " JOIN clients c ON c.client_id = t.client_id";
    let q = format!(
        "SELECT t.side, t.asset_class, CAST(COUNT(*) AS bigint), CAST(SUM(t.value_e4) AS bigint)
           FROM portfolio_trades t{join}{} GROUP BY t.side, t.asset_class
          ORDER BY t.side, t.asset_class",
        sql.where_clause()
    );
    let rows: Vec<(String, String, i64, i64)> = with_db!(db, pool => {
        bind_all!(sqlx::query_as(&q), &sql.binds).fetch_all(pool).await?
    });
    Ok(volumes(rows))
}

/// Counts and values in ten-thousandths of a rupee, as rupees.
fn volumes(
    rows: Vec<(String, String, i64, i64)>,
) -> Vec<(String, String, i64, rust_decimal::Decimal)> {
    rows.into_iter()
        .map(|(s, c, n, v)| (s, c, n, rust_decimal::Decimal::new(v, 4)))
        .collect()
}
