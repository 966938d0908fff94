//! The investments report: assets under management by segment, branch and relationship
//! manager, the product mix, the top holdings and trade volumes, over the clients the caller
//! may see, each instrument priced once.

use std::collections::BTreeMap;

use chrono::{Datelike, NaiveDate, Utc};

use crate::policy;
use crate::problem::ApiError;
use domain::values::Isin;
use poem_openapi::Object;
use projections::investments::query::{PlacedHolders, PlacedHolding};
use rust_decimal::Decimal;

fn money(d: Decimal) -> String {
    d.round_dp(2).normalize().to_string()
}

/// An amount under a name, with its share of the whole and how many clients it counts (those
/// holding a quantity of anything there, whatever its price).
#[derive(Debug, Clone, Object)]
pub struct Amount {
    pub key: String,
    pub clients: i64,
    /// INR, a decimal string.
    pub value: String,
    pub pct: String,
}

/// One instrument across the clients.
#[derive(Debug, Clone, Object)]
pub struct TopHolding {
    pub isin: String,
    pub symbol: String,
    pub asset_class: String,
    pub clients: i64,
    pub quantity: String,
    pub market_value: String,
}

/// Trades of the period by side and asset class.
#[derive(Debug, Clone, Object)]
pub struct Volume {
    pub side: String,
    pub asset_class: String,
    pub trades: i64,
    pub value: String,
}

/// Investments across the clients the caller may see.
#[derive(Debug, Clone, Object)]
#[oai(example)]
pub struct InvestmentReportOut {
    pub as_of: NaiveDate,
    /// Clients holding a quantity of anything (whatever its price).
    pub clients_with_holdings: i64,
    /// What is held at current prices (without a price: at cost).
    pub aum: String,
    pub invested: String,
    /// By the client's segment (as the client report counts clients).
    pub by_segment: Vec<Amount>,
    pub by_branch: Vec<Amount>,
    pub by_relationship_manager: Vec<Amount>,
    pub product_mix: Vec<Amount>,
    pub top_holdings: Vec<TopHolding>,
    pub volumes_from: NaiveDate,
    pub volumes_to: NaiveDate,
    pub trade_volumes: Vec<Volume>,
    /// Instruments without any price, valued at cost.
    pub unpriced: Vec<String>,
}

#[derive(Default)]
struct Tally {
    clients: i64,
    value: Decimal,
}

fn amounts(map: BTreeMap<String, Tally>, total: Decimal) -> Vec<Amount> {
    let mut out: Vec<Amount> = map
        .into_iter()
        .map(|(key, t)| Amount {
            key,
            clients: t.clients,
            value: money(t.value),
            pct: if total.is_zero() {
                "0".into()
            } else {
                (t.value * Decimal::from(100) / total)
                    .round_dp(2)
                    .to_string()
            },
        })
        .collect();
    out.sort_by(|a, b| {
        let (x, y): (Decimal, Decimal) = (
            a.value.parse().unwrap_or_default(),
            b.value.parse().unwrap_or_default(),
        );
        y.cmp(&x).then(a.key.cmp(&b.key))
    });
    out
}

/// The period of the trade volumes, and the volumes by side and asset class (count, value).
pub type Volumes = (NaiveDate, NaiveDate, Vec<(String, String, i64, Decimal)>);

/// Builds the report from the tallies of what the clients hold and the prices of it.
pub fn build(
    on: NaiveDate,
    (held, holders): (&[PlacedHolding], &[PlacedHolders]),
    prices: &BTreeMap<Isin, Decimal>,
    volumes: Volumes,
) -> InvestmentReportOut {
    let mut by_segment: BTreeMap<String, Tally> = BTreeMap::new();
    let mut by_branch: BTreeMap<String, Tally> = BTreeMap::new();
    let mut by_rm: BTreeMap<String, Tally> = BTreeMap::new();
    let mut mix: BTreeMap<String, Tally> = BTreeMap::new();
    let mut top: BTreeMap<Isin, (String, String, i64, Decimal, Decimal)> = BTreeMap::new();
    let (mut aum, mut invested, mut clients) = (Decimal::ZERO, Decimal::ZERO, 0);
    let mut unpriced = std::collections::BTreeSet::new();
    let rm = |r: &Option<uuid::Uuid>| r.map_or_else(|| "unassigned".into(), |r| r.to_string());
    for p in holders {
        match p.asset_class {
            Some(class) => mix.entry(class.as_str().into()).or_default().clients += p.holders,
            None => {
                clients += p.holders;
                for (map, key) in [
                    (&mut by_segment, p.segment.clone()),
                    (&mut by_branch, p.branch.clone()),
                    (&mut by_rm, rm(&p.relationship_manager)),
                ] {
                    map.entry(key).or_default().clients += p.holders;
                }
            }
        }
    }
    for p in held {
        let h = &p.held;
        let value = match prices.get(&h.isin) {
            Some(price) => price * h.quantity,
            None => {
                unpriced.insert(h.isin.as_str().to_string());
                h.cost
            }
        };
        aum += value;
        invested += h.cost;
        for (map, key) in [
            (&mut by_segment, p.segment.clone()),
            (&mut by_branch, p.branch.clone()),
            (&mut by_rm, rm(&p.relationship_manager)),
            (&mut mix, h.asset_class.as_str().to_string()),
        ] {
            map.entry(key).or_default().value += value;
        }
        let t = top.entry(h.isin.clone()).or_insert_with(|| {
            (
                h.symbol.clone(),
                h.asset_class.as_str().to_string(),
                0,
                Decimal::ZERO,
                Decimal::ZERO,
            )
        });
        t.2 += p.holders;
        t.3 += h.quantity;
        t.4 += value;
    }
    let mut top: Vec<TopHolding> = top
        .into_iter()
        .map(|(isin, (symbol, class, clients, q, v))| TopHolding {
            isin: isin.as_str().into(),
            symbol,
            asset_class: class,
            clients,
            quantity: q.normalize().to_string(),
            market_value: money(v),
        })
        .collect();
    top.sort_by(|a, b| {
        let (x, y): (Decimal, Decimal) = (
            a.market_value.parse().unwrap_or_default(),
            b.market_value.parse().unwrap_or_default(),
        );
        y.cmp(&x).then(a.isin.cmp(&b.isin))
    });
    top.truncate(10);
    let (from, to, volumes) = volumes;
    InvestmentReportOut {
        as_of: on,
        clients_with_holdings: clients,
        aum: money(aum),
        invested: money(invested),
        by_segment: amounts(by_segment, aum),
        by_branch: amounts(by_branch, aum),
        by_relationship_manager: amounts(by_rm, aum),
        product_mix: amounts(mix, aum),
        top_holdings: top,
        volumes_from: from,
        volumes_to: to,
        trade_volumes: volumes
            .into_iter()
            .map(|(side, asset_class, trades, value)| Volume {
                side,
                asset_class,
                trades,
                value: money(value),
            })
            .collect(),
        unpriced: unpriced.into_iter().collect(),
    }
}

impl super::CsvReport for InvestmentReportOut {
    /// The report as CSV: one `section,key,clients,value` row per number.
    fn csv(&self) -> Result<String, csv::Error> {
        let mut w = csv::Writer::from_writer(Vec::new());
        w.write_record(["section", "key", "clients", "value"])?;
        w.write_record([
            "total",
            "aum",
            &self.clients_with_holdings.to_string(),
            &self.aum,
        ])?;
        w.write_record(["total", "invested", "", &self.invested])?;
        for (section, list) in [
            ("by_segment", &self.by_segment),
            ("by_branch", &self.by_branch),
            ("by_relationship_manager", &self.by_relationship_manager),
            ("product_mix", &self.product_mix),
        ] {
            for a in list {
                w.write_record([section, &a.key, &a.clients.to_string(), &a.value])?;
            }
        }
        for t in &self.top_holdings {
            w.write_record([
                "top_holdings",
                &format!("{} {}", t.isin, t.symbol),
                &t.clients.to_string(),
                &t.market_value,
            ])?;
        }
        for v in &self.trade_volumes {
            w.write_record([
                "trade_volumes",
                &format!("{} {}", v.side, v.asset_class),
                &v.trades.to_string(),
                &v.value,
            ])?;
        }
        let bytes = w.into_inner().map_err(|e| e.into_error())?;
        Ok(String::from_utf8(bytes).expect("CSV of UTF-8 text"))
    }
}

impl super::ReportsApi {
    pub(super) async fn investments_report(
        &self,
        principal: &crate::auth::Principal,
        branch: Option<String>,
        from: Option<NaiveDate>,
        to: Option<NaiveDate>,
    ) -> Result<InvestmentReportOut, ApiError> {
        let today = domain::kyc::india_today(Utc::now());
        let fy = NaiveDate::from_ymd_opt(
            if today.month() >= 4 {
                today.year()
            } else {
                today.year() - 1
            },
            4,
            1,
        )
        .expect("1 April");
        let (from, to) = (from.unwrap_or(fy), to.unwrap_or(today));
        if to < from {
            return Err(ApiError::field("to", "must not be before from"));
        }
        let scope = policy::client_scope(principal);
        let branch = branch.map(|b| b.trim().to_ascii_uppercase());
        let (holdings, holders) =
            projections::investments::query::holdings_in(&self.state.db, &scope, branch.as_deref())
                .await
                .map_err(ApiError::internal)?;
        let held: std::collections::BTreeSet<domain::values::Isin> =
            holdings.iter().map(|h| h.held.isin.clone()).collect();
        let held: Vec<_> = held.into_iter().collect();
        let prices = match self.state.prices.prices(&held, None).await {
            Ok(found) => found
                .into_iter()
                .map(|(i, (p, _))| (i, p.quote.price))
                .collect(),
            Err(e) => {
                tracing::warn!(error = %e, "no prices could be read; valued at cost");
                Default::default()
            }
        };
        let volumes = projections::investments::query::trade_volumes(
            &self.state.db,
            &scope,
            branch.as_deref(),
            from,
            to,
        )
        .await
        .map_err(ApiError::internal)?;
        Ok(build(
            today,
            (&holdings, &holders),
            &prices,
            (from, to, volumes),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn segments_follow_assets_under_management() {
        let t = domain::client::SegmentThresholds::default();
        let segment = |n: i64| t.segment(Decimal::from(n)).as_str();
        assert_eq!(segment(999_999), "retail");
        assert_eq!(segment(1_000_000), "affluent");
        assert_eq!(segment(10_000_000), "hni");
        assert_eq!(segment(50_000_000), "ultra_hni");
    }
}
