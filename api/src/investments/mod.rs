//! The investment endpoints: recording and correcting trades, a client's trades and portfolio
//! (now from the read model, or as of a past date folded from the log), the risk
//! questionnaire, and prices. Handlers only translate HTTP to use cases and read models.

// Handlers take one argument per documented parameter.
#![allow(clippy::too_many_arguments)]

pub mod dto;
mod examples;
pub mod quotes;

use std::collections::BTreeMap;

use chrono::{DateTime, Datelike, NaiveDate, Utc};
use commands::investments::prices::{PriceBook, PriceOn};
use commands::investments::InvestmentError;
use domain::access::AccessKind;
use domain::client::ClientError;
use domain::investments::fifo::{Holding, Position, Realisation};
use domain::investments::{Exchange, FeesInput, RiskAnswers, Trade, TradeInput};
use domain::values::{Isin, Text};
use poem::Request;
use poem_openapi::param::{Path, Query};
use poem_openapi::payload::Json;
use poem_openapi::{ApiResponse, OpenApi, Tags};
use projections::investments::valuation::{self, Inputs, Price, RealisedFrom};
use projections::investments::PortfolioRecord;
use uuid::Uuid;

use crate::auth::{Auth, Principal};
use crate::dto::{Accepted, Str};
use crate::http::{self, DoneResponse, Fields, State};
use crate::policy::{self, Action};
use crate::problem::{ApiError, FieldError, ReadError};
use dto::*;

#[derive(Tags)]
pub enum InvestmentTags {
    /// Investments: trades, FIFO lots, portfolio valuation, risk profile, prices.
    Investments,
}

#[derive(Debug, ApiResponse)]
pub enum TradeResponse {
    /// Recorded; `Location` names the client's trades.
    #[oai(status = 201)]
    Created(Json<Accepted>, #[oai(header = "Location")] String),
    /// The same trade was recorded before under this reference: nothing changed, its id.
    #[oai(status = 200)]
    Existing(Json<Accepted>),
}

#[derive(Debug, ApiResponse)]
pub enum TradesResponse {
    /// A page of the client's trades.
    #[oai(status = 200)]
    Ok(Json<TradePage>),
}

#[derive(Debug, ApiResponse)]
pub enum PortfolioResponse {
    /// The client's portfolio valued on the day.
    #[oai(status = 200)]
    Ok(Json<PortfolioOut>),
}

#[derive(Debug, ApiResponse)]
pub enum PriceResponse {
    /// The price.
    #[oai(status = 200)]
    Ok(Json<PriceOut>),
}

/// What a portfolio read asks for.
struct PortfolioQuery {
    lots: bool,
    as_of: Option<NaiveDate>,
    known_at: Option<DateTime<Utc>>,
    from: Option<NaiveDate>,
    to: Option<NaiveDate>,
    min_position: Option<i64>,
}

pub struct InvestmentsApi {
    pub state: State,
}

fn text(f: &mut Fields, field: &'static str, raw: Option<&Str>, max: usize) -> Option<Text> {
    raw.and_then(|r| f.take(field, Text::parse(r, max)))
}

/// A trade as sent, checked: every field found wanting is named.
/// The trade's fields checked (the symbol against the instruments `prices` knows).
fn trade_of(f: &mut Fields, t: TradeFieldsIn, prices: &PriceBook) -> Option<Trade> {
    let exchange = match t.exchange.as_deref().map(|e| e.trim().to_ascii_lowercase()) {
        None => None,
        Some(e) => match Exchange::parse(&e) {
            Some(x) => Some(x),
            None => {
                f.errors.push(FieldError::new("exchange", "nse or bse"));
                return None;
            }
        },
    };
    let fees = t.fees.unwrap_or_default();
    let input = TradeInput {
        side: t.side.into(),
        asset_class: t.asset_class.into(),
        fund_category: t.fund_category.map(Into::into),
        isin: t.isin.0,
        symbol: t.symbol.0,
        exchange,
        quantity: t.quantity.0,
        price: t.price.0,
        fees: FeesInput {
            brokerage: fees.brokerage.map(|s| s.0),
            stt: fees.stt.map(|s| s.0),
            gst: fees.gst.map(|s| s.0),
            stamp_duty: fees.stamp_duty.map(|s| s.0),
            other: fees.other.map(|s| s.0),
        },
        trade_date: t.trade_date,
        settlement_date: t.settlement_date,
        reference: t.reference.0,
        face_value: t.face_value.map(|s| s.0),
        coupon_rate: t.coupon_rate.map(|s| s.0),
    };
    let known = |isin: &Isin| prices.instrument(isin).map(|i| i.symbol);
    match input.check_against(domain::kyc::india_today(Utc::now()), known) {
        Ok(trade) => Some(trade),
        Err(invalid) => {
            f.errors.extend(
                invalid
                    .into_iter()
                    .map(|i| FieldError::new(i.field, i.message)),
            );
            None
        }
    }
}

/// The Indian financial year's first day (1 April) of `day`'s year.
fn financial_year_start(day: NaiveDate) -> NaiveDate {
    let year = if day.month() >= 4 {
        day.year()
    } else {
        day.year() - 1
    };
    NaiveDate::from_ymd_opt(year, 4, 1).expect("1 April")
}

impl InvestmentsApi {
    /// Prices for the holdings on `on` (`None`: now), and their sectors. A failure never
    /// fails the read: the holdings are then valued without a price.
    async fn prices(
        &self,
        holdings: &[Position],
        on: Option<NaiveDate>,
    ) -> (BTreeMap<Isin, Price>, BTreeMap<Isin, String>) {
        let mut sectors = BTreeMap::new();
        for h in holdings {
            if let Some(sector) = self.state.prices.instrument(&h.isin).and_then(|i| i.sector) {
                sectors.insert(h.isin.clone(), sector);
            }
        }
        let held: Vec<Isin> = holdings
            .iter()
            .filter(|h| !h.quantity.is_zero())
            .map(|h| h.isin.clone())
            .collect();
        let found = match self.state.prices.prices(&held, on).await {
            Ok(found) => found,
            Err(e) => {
                tracing::warn!(error = %e, "no prices could be read; valued at cost");
                Default::default()
            }
        };
        let prices = found
            .into_iter()
            .map(|(isin, (PriceOn { quote, stale }, previous_close))| {
                let price = Price {
                    price: quote.price,
                    on_date: quote.on_date,
                    quoted_at: quote.quoted_at,
                    source: quote.source,
                    stale,
                    previous_close,
                };
                (isin, price)
            })
            .collect();
        (prices, sectors)
    }

    async fn portfolio(
        &self,
        req: &Request,
        principal: &Principal,
        client_id: Uuid,
        q: PortfolioQuery,
    ) -> Result<PortfolioResponse, ReadError> {
        let PortfolioQuery {
            lots,
            as_of,
            known_at,
            from,
            to,
            min_position,
        } = q;
        policy::require(principal, Action::PortfolioRead)?;
        let wanted = http::min_position(min_position, req)?;
        http::wait_for_in(&self.state, projections::clients::NAME, wanted).await?;
        http::wait_for_in(&self.state, projections::investments::NAME, wanted).await?;
        crate::clients::visible_client(&self.state, principal, client_id).await?;
        let today = domain::kyc::india_today(Utc::now());
        let mut f = Fields::default();
        if as_of.is_some_and(|d| d > today) {
            f.errors.push(FieldError::new(
                "as_of",
                "a portfolio cannot be valued in the future",
            ));
        }
        if let (Some(a), Some(b)) = (from, to) {
            if b < a {
                f.errors
                    .push(FieldError::new("to", "must not be before from"));
            }
        }
        f.finish()?;
        let on = as_of.unwrap_or(today);
        let period = (
            Some(from.unwrap_or_else(|| financial_year_start(on))),
            Some(to.unwrap_or(on)),
        );
        let periods = self.state.investment_rules.holding;
        let replay = match (as_of, known_at) {
            (None, None) => None,
            (day, at) => Some((day.unwrap_or(today), at)),
        };
        let out = match replay {
            Some((day, known_at)) => {
                // Without `known_at` only the record now is wanted: a moment before every
                // event leaves the second fold empty, so the log is folded once.
                let (now, then) = http::now_and_at::<PortfolioRecord>(
                    &self.state,
                    client_id,
                    known_at.unwrap_or(DateTime::<Utc>::MIN_UTC),
                )
                .await?;
                let record = match known_at {
                    Some(_) => then,
                    None => now,
                }
                .unwrap_or_default();
                let (ledger, flows) = projections::investments::ledger_on(&record.portfolio, day);
                let holdings: Vec<Position> =
                    ledger.holdings.values().map(Holding::position).collect();
                let (prices, sectors) = self.prices(&holdings, Some(day)).await;
                let equity: BTreeMap<&Isin, bool> = ledger
                    .holdings
                    .values()
                    .map(|h| {
                        (
                            &h.isin,
                            valuation::equity_like(h.asset_class, h.fund_category),
                        )
                    })
                    .collect();
                let sells: Vec<(&Realisation, bool)> = ledger
                    .realisations
                    .iter()
                    .map(|r| (r, equity.get(&r.isin).copied().unwrap_or(true)))
                    .collect();
                let v = valuation::value(Inputs {
                    on: day,
                    holdings,
                    prices: &prices,
                    sectors: &sectors,
                    flows,
                    realised: RealisedFrom::Sells(sells),
                    period,
                    periods,
                });
                let in_force = record
                    .portfolio
                    .trades()
                    .filter(|(_, t)| t.trade.trade_date <= day)
                    .count() as u64;
                let lots = lots.then_some(&ledger.holdings);
                PortfolioOut::of(client_id, &v, in_force, None, lots)
            }
            None => {
                let db = &self.state.db;
                let read = projections::investments::query::portfolio(db, client_id, lots)
                    .await
                    .map_err(ApiError::internal)?;
                let (summary, days, lots) = match read {
                    Some(r) => (r.summary, r.days, r.lots),
                    None => (
                        projections::investments::PortfolioSummary::new(client_id, periods),
                        BTreeMap::new(),
                        lots.then(BTreeMap::new),
                    ),
                };
                // The sums the read model split are used when split by the periods
                // configured now (else, until the read model is rebuilt with them, the
                // sells are read and split here).
                let (from, to) = (period.0.unwrap_or(on), period.1.unwrap_or(on));
                let split = summary.periods == periods;
                let sells = match split {
                    true => Vec::new(),
                    false => projections::investments::query::realisations(
                        db, client_id, period.0, period.1,
                    )
                    .await
                    .map_err(ApiError::internal)?,
                };
                let realised = match split {
                    true => {
                        let sum = projections::investments::realised_within(&days, from, to);
                        RealisedFrom::Sums {
                            short_term: sum.short_term,
                            long_term: sum.long_term,
                        }
                    }
                    false => RealisedFrom::Sells(
                        sells.iter().map(|(r, t)| (r, t.equity_like())).collect(),
                    ),
                };
                let holdings: Vec<Position> = summary.holdings.values().cloned().collect();
                let (prices, sectors) = self.prices(&holdings, None).await;
                let v = valuation::value(Inputs {
                    on,
                    holdings,
                    prices: &prices,
                    sectors: &sectors,
                    flows: days.iter().map(|(d, day)| (*d, day.flow)).collect(),
                    realised,
                    period,
                    periods,
                });
                let profile = summary.profile.as_ref().map(|p| RiskProfileOut {
                    profile: p.level.as_str().into(),
                    score: p.score,
                    profiled_at: p.profiled_at,
                });
                PortfolioOut::of(client_id, &v, summary.trades, profile, lots.as_ref())
            }
        };
        let kind = if replay.is_some() {
            AccessKind::AsOf
        } else {
            AccessKind::Profile
        };
        http::record_access(&self.state, req, "client", client_id, kind).await?;
        Ok(PortfolioResponse::Ok(Json(out)))
    }
}

fn client_field(e: InvestmentError) -> ApiError {
    match e {
        // The client is named in the body: an unknown one is a field error.
        InvestmentError::Client(commands::clients::ClientsError::Command(
            commands::CommandError::Rejected(ClientError::NotFound),
        )) => ApiError::field("client_id", "no client with this id"),
        other => other.into(),
    }
}

#[OpenApi]
impl InvestmentsApi {
    /// Record a trade
    ///
    /// A buy or sell of shares, ETFs, mutual fund units or bonds for a client, amounts as
    /// decimal strings. Refused: a client whose KYC is not verified or whose re-KYC is due
    /// (409 `trading-blocked`), a sell of more than is held on its date (409 `oversold`), a
    /// buy above the client's risk profile without an acknowledged `override_reason` (409
    /// `unsuitable`), another trade under a reference already used (409); a future date, a
    /// non-positive quantity or price or a wrong ISIN is 422 naming the field. The same trade
    /// sent again under its reference changes nothing and answers 200 with its id.
    #[oai(
        path = "/api/investments",
        method = "post",
        tag = "InvestmentTags::Investments",
        operation_id = "recordTrade"
    )]
    async fn record(
        &self,
        req: &Request,
        auth: Auth,
        body: Json<TradeIn>,
    ) -> Result<TradeResponse, ApiError> {
        policy::require(&auth.0, Action::TradeRecord)?;
        let (client_id, fields, override_reason) = body.0.fields();
        let mut f = Fields::default();
        let override_reason = text(&mut f, "override_reason", override_reason.as_ref(), 500);
        let trade = trade_of(&mut f, fields, &self.state.prices);
        f.finish()?;
        let trade = trade.expect("checked above");
        let scope = policy::client_scope(&auth.0);
        let recorded = commands::investments::record_trade(
            &self.state.write,
            &auth.0.actor(),
            &scope,
            client_id,
            trade,
            override_reason,
            &http::metadata(req),
        )
        .await
        .map_err(client_field)?;
        let accepted = Accepted {
            client_id: Some(client_id),
            ..Accepted::of(recorded.trade_id, &recorded.committed)
        };
        Ok(if recorded.created {
            TradeResponse::Created(Json(accepted), format!("/api/investments/{client_id}"))
        } else {
            TradeResponse::Existing(Json(accepted))
        })
    }

    /// Correct a trade
    ///
    /// Never rewrites history: the trade is reversed and the replacement recorded, with the
    /// reason, both in the client's history; lots and gains are recomputed from the trades in
    /// force. The replacement is checked like a new trade (an oversell anywhere after it is
    /// 409). Answers the replacement's id; the same correction sent again answers it too
    /// (`changed: false`), another correction of a trade already replaced is 409.
    #[oai(
        path = "/api/investments/:id",
        method = "put",
        tag = "InvestmentTags::Investments",
        operation_id = "correctTrade"
    )]
    async fn correct(
        &self,
        req: &Request,
        auth: Auth,
        /// The trade's id.
        id: Path<Uuid>,
        body: Json<CorrectionIn>,
    ) -> Result<DoneResponse, ApiError> {
        policy::require(&auth.0, Action::TradeRecord)?;
        let (fields, reason, override_reason) = body.0.fields();
        let mut f = Fields::default();
        let reason = text(&mut f, "reason", Some(&reason), 500);
        let override_reason = text(&mut f, "override_reason", override_reason.as_ref(), 500);
        let trade = trade_of(&mut f, fields, &self.state.prices);
        f.finish()?;
        let find = || projections::investments::query::trade(&self.state.db, id.0);
        let row = match find().await.map_err(ApiError::internal)? {
            Some(row) => row,
            None => {
                // Recorded a moment ago, perhaps: once the read model has the whole log.
                let head = store::log::head(&self.state.db)
                    .await
                    .map_err(ApiError::internal)?;
                http::wait_for_in(&self.state, projections::investments::NAME, Some(head)).await?;
                find()
                    .await
                    .map_err(ApiError::internal)?
                    .ok_or_else(|| ApiError::not_found("trade"))?
            }
        };
        let scope = policy::client_scope(&auth.0);
        let (replacement, committed) = commands::investments::correct_trade(
            &self.state.write,
            &auth.0.actor(),
            &scope,
            row.client_id,
            id.0,
            trade.expect("checked above"),
            reason.expect("checked above"),
            override_reason,
            &http::metadata(req),
        )
        .await
        .map_err(|e| match e {
            InvestmentError::Client(commands::clients::ClientsError::Command(
                commands::CommandError::Rejected(ClientError::NotFound),
            )) => ApiError::not_found("trade"),
            other => other.into(),
        })?;
        Ok(DoneResponse::Done(Json(Accepted {
            client_id: Some(row.client_id),
            ..Accepted::of(replacement, &committed)
        })))
    }

    /// A client's trades
    ///
    /// The latest trade date first, by keyset cursor; a sell in force shows what it realised
    /// and the lots (FIFO) it consumed, each short- or long-term. Recorded as an access to the
    /// person's data.
    #[oai(
        path = "/api/investments/:id",
        method = "get",
        tag = "InvestmentTags::Investments",
        operation_id = "listTrades"
    )]
    async fn trades(
        &self,
        req: &Request,
        auth: Auth,
        /// The client's id.
        id: Path<Uuid>,
        /// Only this instrument.
        isin: Query<Option<String>>,
        /// `buy` or `sell`.
        side: Query<Option<String>>,
        /// `equity`, `etf`, `mutual_fund` or `bond`.
        asset_class: Query<Option<String>>,
        /// `in_force` or `reversed`.
        status: Query<Option<String>>,
        /// Trade dates from this day.
        from: Query<Option<NaiveDate>>,
        /// Trade dates up to this day.
        to: Query<Option<NaiveDate>>,
        /// 1 to 200 (default 50).
        #[oai(validator(minimum(value = "1"), maximum(value = "200")))]
        limit: Query<Option<i64>>,
        cursor: Query<Option<String>>,
        /// Wait until the read model has this log position (read your own writes).
        min_position: Query<Option<i64>>,
    ) -> Result<TradesResponse, ReadError> {
        policy::require(&auth.0, Action::PortfolioRead)?;
        let wanted = http::min_position(min_position.0, req)?;
        http::wait_for_in(&self.state, projections::clients::NAME, wanted).await?;
        http::wait_for_in(&self.state, projections::investments::NAME, wanted).await?;
        crate::clients::visible_client(&self.state, &auth.0, id.0).await?;
        let mut f = Fields::default();
        let isin = isin.0.and_then(|i| f.take("isin", Isin::parse(&i)));
        let one_of = |f: &mut Fields, field: &'static str, v: Option<String>, allowed: &[&str]| {
            let v = v.map(|s| s.trim().to_string());
            if v.as_deref().is_some_and(|s| !allowed.contains(&s)) {
                f.errors.push(FieldError::new(
                    field,
                    format!("one of {}", allowed.join(", ")),
                ));
            }
            v
        };
        let side = one_of(&mut f, "side", side.0, &["buy", "sell"]);
        let asset_class = one_of(
            &mut f,
            "asset_class",
            asset_class.0,
            &["equity", "etf", "mutual_fund", "bond"],
        );
        let status = one_of(&mut f, "status", status.0, &["in_force", "reversed"]);
        if let (Some(a), Some(b)) = (from.0, to.0) {
            if b < a {
                f.errors
                    .push(FieldError::new("to", "must not be before from"));
            }
        }
        f.finish()?;
        let filter = projections::investments::query::TradeFilter {
            client_id: id.0,
            isin: isin.map(|i| i.as_str().to_string()),
            side,
            asset_class,
            status,
            from: from.0,
            to: to.0,
            limit: limit.0.unwrap_or(50),
            cursor: cursor.0,
        };
        let page = projections::investments::query::trades(&self.state.db, &filter)
            .await
            .map_err(|e| match e {
                projections::leads::query::QueryError::BadCursor => {
                    ApiError::field("cursor", e.to_string())
                }
                other => ApiError::internal(other),
            })?;
        http::record_access(&self.state, req, "client", id.0, AccessKind::Profile).await?;
        let periods = self.state.investment_rules.holding;
        Ok(TradesResponse::Ok(Json(TradePage {
            items: page
                .items
                .iter()
                .map(|t| TradeOut::of(t, &periods))
                .collect(),
            next_cursor: page.next_cursor,
            total: page.total,
        })))
    }

    /// A client's portfolio
    ///
    /// Each holding with its quantity, FIFO average cost, price (its source and time, marked
    /// `stale` when not current), market value, unrealised gain and the day's change; totals;
    /// gains realised in the period (`from`, `to`; default: this financial year) split short-
    /// and long-term; allocation by asset class and sector; XIRR since inception. With
    /// `as_of`, the holdings of that day at its prices; with `known_at`, only what had been
    /// recorded by then (both folded from the event log). Recorded as an access.
    #[oai(
        path = "/api/investments/portfolio/:id",
        method = "get",
        tag = "InvestmentTags::Investments",
        operation_id = "getPortfolio"
    )]
    async fn get_portfolio(
        &self,
        req: &Request,
        auth: Auth,
        /// The client's id.
        id: Path<Uuid>,
        /// Value the portfolio as of this day (`YYYY-MM-DD`, not in the future): the trades
        /// dated on or before it, at that day's prices.
        as_of: Query<Option<NaiveDate>>,
        /// Only what had been recorded by this time (corrections made later left out): the
        /// portfolio as it was known then, folded from the event log.
        known_at: Query<Option<DateTime<Utc>>>,
        /// Realised gains from this day.
        from: Query<Option<NaiveDate>>,
        /// Realised gains up to this day.
        to: Query<Option<NaiveDate>>,
        /// Wait until the read model has this log position (read your own writes).
        min_position: Query<Option<i64>>,
        /// Each holding with its open lots (FIFO, oldest first).
        lots: Query<Option<bool>>,
    ) -> Result<PortfolioResponse, ReadError> {
        let q = PortfolioQuery {
            lots: lots.0.unwrap_or(false),
            as_of: as_of.0,
            known_at: known_at.0,
            from: from.0,
            to: to.0,
            min_position: min_position.0,
        };
        self.portfolio(req, &auth.0, id.0, q).await
    }

    /// A client's portfolio (by client)
    ///
    /// The same as `GET /api/investments/portfolio/{id}`.
    #[oai(
        path = "/api/clients/:id/portfolio",
        method = "get",
        tag = "InvestmentTags::Investments",
        operation_id = "getClientPortfolio"
    )]
    async fn client_portfolio(
        &self,
        req: &Request,
        auth: Auth,
        /// The client's id.
        id: Path<Uuid>,
        /// Value the portfolio as of this day (`YYYY-MM-DD`, not in the future): the trades
        /// dated on or before it, at that day's prices.
        as_of: Query<Option<NaiveDate>>,
        /// Only what had been recorded by this time (corrections made later left out): the
        /// portfolio as it was known then, folded from the event log.
        known_at: Query<Option<DateTime<Utc>>>,
        /// Realised gains from this day.
        from: Query<Option<NaiveDate>>,
        /// Realised gains up to this day.
        to: Query<Option<NaiveDate>>,
        /// Wait until the read model has this log position (read your own writes).
        min_position: Query<Option<i64>>,
        /// Each holding with its open lots (FIFO, oldest first).
        lots: Query<Option<bool>>,
    ) -> Result<PortfolioResponse, ReadError> {
        let q = PortfolioQuery {
            lots: lots.0.unwrap_or(false),
            as_of: as_of.0,
            known_at: known_at.0,
            from: from.0,
            to: to.0,
            min_position: min_position.0,
        };
        self.portfolio(req, &auth.0, id.0, q).await
    }

    /// Record the client's risk questionnaire
    ///
    /// Age, income, horizon, experience, loss tolerance and dependants give a score (0–20)
    /// and a profile: `conservative` (up to 8), `moderate` (up to 14) or `aggressive`. Buys
    /// of products riskier than the profile takes (equity and equity funds high; ETFs and
    /// hybrid funds medium; bonds and debt funds low) then need an acknowledged override.
    /// The answers are sealed with the client's key.
    #[oai(
        path = "/api/investments/risk-profile/:id",
        method = "put",
        tag = "InvestmentTags::Investments",
        operation_id = "recordRiskQuestionnaire"
    )]
    async fn risk_profile(
        &self,
        req: &Request,
        auth: Auth,
        /// The client's id.
        id: Path<Uuid>,
        body: Json<RiskQuestionnaireIn>,
    ) -> Result<DoneResponse, ApiError> {
        policy::require(&auth.0, Action::TradeRecord)?;
        let b = body.0;
        let mut f = Fields::default();
        let goals: Vec<Text> = b
            .goals
            .iter()
            .filter_map(|g| f.take("goals", Text::parse(g, 200)))
            .collect();
        f.finish()?;
        let answers = RiskAnswers {
            age: b.age,
            income_range: b.income_range.into(),
            horizon_years: b.horizon_years,
            experience: match b.experience {
                ExperienceIn::None => domain::investments::Experience::None,
                ExperienceIn::Some => domain::investments::Experience::Some,
                ExperienceIn::Extensive => domain::investments::Experience::Extensive,
            },
            loss_tolerance: match b.loss_tolerance {
                LossToleranceIn::None => domain::investments::LossTolerance::None,
                LossToleranceIn::Low => domain::investments::LossTolerance::Low,
                LossToleranceIn::Medium => domain::investments::LossTolerance::Medium,
                LossToleranceIn::High => domain::investments::LossTolerance::High,
            },
            dependants: b.dependants,
            goals,
            preferred_products: b.preferred_products.into_iter().map(Into::into).collect(),
        };
        let scope = policy::client_scope(&auth.0);
        let committed = commands::investments::profile_risk(
            &self.state.write,
            &auth.0.actor(),
            &scope,
            id.0,
            answers,
            &http::metadata(req),
        )
        .await?;
        Ok(DoneResponse::Done(Json(Accepted::of(id.0, &committed))))
    }

    /// Record a price
    ///
    /// An admin's price of an instrument for a day (not in the future): from then on it is
    /// that day's price (over a provider's of the same day), for current valuations and as-of
    /// ones. Kept with who recorded it.
    #[oai(
        path = "/api/prices",
        method = "post",
        tag = "InvestmentTags::Investments",
        operation_id = "recordPrice"
    )]
    async fn record_price(
        &self,
        auth: Auth,
        body: Json<PriceIn>,
    ) -> Result<PriceResponse, ApiError> {
        policy::require(&auth.0, Action::PriceRecord)?;
        let b = body.0;
        let mut f = Fields::default();
        let isin = f.take("isin", Isin::parse(&b.isin));
        let price = f.take("price", domain::values::parse_amount(&b.price, 4, false));
        if b.as_of > domain::kyc::india_today(Utc::now()) {
            f.errors.push(FieldError::new(
                "as_of",
                "a price cannot be of a future day",
            ));
        }
        f.finish()?;
        let isin = isin.expect("checked above");
        let quote = self
            .state
            .prices
            .record(
                &isin,
                price.expect("checked above"),
                b.as_of,
                auth.0.user_id,
            )
            .await
            .map_err(ApiError::internal)?;
        tracing::info!(isin = %isin, on = %b.as_of, "price recorded by hand");
        Ok(PriceResponse::Ok(Json(PriceOut {
            isin: isin.as_str().into(),
            price: quote.price.normalize().to_string(),
            on_date: quote.on_date,
            quoted_at: quote.quoted_at,
            source: quote.source,
            stale: false,
        })))
    }

    /// An instrument's price
    ///
    /// Now (the provider's latest quote, cached, or the last price recorded) or as of a day
    /// (the last price recorded on or before it); `stale` when it is not current.
    #[oai(
        path = "/api/prices/:isin",
        method = "get",
        tag = "InvestmentTags::Investments",
        operation_id = "getPrice"
    )]
    async fn price(
        &self,
        auth: Auth,
        /// The instrument's ISIN.
        isin: Path<String>,
        /// The price of this day (`YYYY-MM-DD`).
        as_of: Query<Option<NaiveDate>>,
    ) -> Result<PriceResponse, ReadError> {
        policy::require(&auth.0, Action::PortfolioRead)?;
        let mut f = Fields::default();
        let isin = f.take("isin", Isin::parse(&isin.0));
        f.finish()?;
        let isin = isin.expect("checked above");
        let found = self
            .state
            .prices
            .price(&isin, as_of.0)
            .await
            .map_err(ApiError::internal)?
            .ok_or_else(|| ApiError::not_found("price"))?;
        Ok(PriceResponse::Ok(Json(PriceOut {
            isin: isin.as_str().into(),
            price: found.quote.price.normalize().to_string(),
            on_date: found.quote.on_date,
            quoted_at: found.quote.quoted_at,
            source: found.quote.source,
            stale: found.stale,
        })))
    }
}
