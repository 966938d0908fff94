//! Given events, when a command, then events or an error; and the FIFO ledger by hand.

use std::str::FromStr;

use chrono::{NaiveDate, TimeZone, Utc};
use cqrs_es::test::TestFramework;
use rust_decimal::Decimal;
use uuid::Uuid;

use super::*;
use crate::kyc::IncomeRange;
use crate::values::{Isin, Text};

type Given = TestFramework<Portfolio>;

const CLIENT: Uuid = Uuid::from_u128(1);
const AGENT: Uuid = Uuid::from_u128(10);

fn services_with(rules: InvestmentRules) -> PortfolioServices {
    PortfolioServices {
        clock: Clock::fixed(Utc.with_ymd_and_hms(2026, 12, 1, 6, 0, 0).unwrap()),
        rules,
    }
}

fn services() -> PortfolioServices {
    services_with(InvestmentRules::default())
}

fn d(s: &str) -> NaiveDate {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
}

fn m(s: &str) -> Decimal {
    Decimal::from_str(s).unwrap()
}

fn text(s: &str) -> Text {
    Text::parse(s, 500).unwrap()
}

const RELIANCE: &str = "INE002A01018";
const GILT_FUND: &str = "INF209K01YN0";

/// A trade in Reliance on NSE, without fees.
fn trade(side: Side, quantity: &str, price: &str, on: &str, reference: &str) -> Trade {
    Trade {
        side,
        asset_class: AssetClass::Equity,
        fund_category: None,
        isin: Isin::parse(RELIANCE).unwrap(),
        symbol: text("RELIANCE"),
        exchange: Some(Exchange::Nse),
        quantity: m(quantity),
        price: m(price),
        fees: Fees::default(),
        trade_date: d(on),
        settlement_date: d(on).succ_opt().unwrap(),
        reference: text(reference),
        bond: None,
    }
}

fn buy(q: &str, p: &str, on: &str, r: &str) -> Trade {
    trade(Side::Buy, q, p, on, r)
}

fn sell(q: &str, p: &str, on: &str, r: &str) -> Trade {
    trade(Side::Sell, q, p, on, r)
}

fn id(n: u128) -> Uuid {
    Uuid::from_u128(1000 + n)
}

fn recorded(n: u128, trade: Trade) -> PortfolioEvent {
    PortfolioEvent::TradeRecorded {
        trade_id: id(n),
        client_id: CLIENT,
        trade,
        recorded_by: AGENT,
        corrects: None,
        suitability_override: None,
    }
}

fn record(n: u128, trade: Trade) -> PortfolioCommand {
    PortfolioCommand::RecordTrade {
        trade_id: id(n),
        client_id: CLIENT,
        trade,
        by: AGENT,
        kyc_block: None,
        override_reason: None,
    }
}

fn aggressive() -> PortfolioEvent {
    PortfolioEvent::RiskProfiled {
        client_id: CLIENT,
        answers: (&answers(30, 10, LossTolerance::High)).into(),
        score: 18,
        profile: RiskProfileLevel::Aggressive,
        profiled_by: AGENT,
    }
}

fn answers(age: u8, horizon: u8, loss: LossTolerance) -> RiskAnswers {
    RiskAnswers {
        age,
        income_range: IncomeRange::From10To25Lakh,
        horizon_years: horizon,
        experience: Experience::Some,
        loss_tolerance: loss,
        dependants: 1,
        goals: vec![text("retirement")],
        preferred_products: vec![AssetClass::Equity],
    }
}

fn portfolio(events: Vec<PortfolioEvent>) -> Portfolio {
    let mut p = Portfolio::default();
    for e in events {
        p.apply(e);
    }
    p
}

#[test]
fn a_trade_is_recorded_and_its_repeat_changes_nothing() {
    Given::with(services())
        .given(vec![aggressive()])
        .when(record(1, buy("10", "2450.50", "2026-11-02", "CN-1")))
        .then_expect_events(vec![recorded(
            1,
            buy("10", "2450.50", "2026-11-02", "CN-1"),
        )]);
    Given::with(services())
        .given(vec![
            aggressive(),
            recorded(1, buy("10", "2450.50", "2026-11-02", "CN-1")),
        ])
        .when(record(2, buy("10", "2450.50", "2026-11-02", "CN-1")))
        .then_expect_events(vec![]);
    Given::with(services())
        .given(vec![
            aggressive(),
            recorded(1, buy("10", "2450.50", "2026-11-02", "CN-1")),
        ])
        .when(record(2, buy("11", "2450.50", "2026-11-02", "CN-1")))
        .then_expect_error(PortfolioError::ReferenceTaken("CN-1".into()));
}

#[test]
fn trades_wait_for_kyc_and_never_come_from_the_future() {
    Given::with(services())
        .given(vec![aggressive()])
        .when(PortfolioCommand::RecordTrade {
            trade_id: id(1),
            client_id: CLIENT,
            trade: buy("1", "100", "2026-11-02", "CN-1"),
            by: AGENT,
            kyc_block: Some(TradingBlock::RekycDue),
            override_reason: None,
        })
        .then_expect_error(PortfolioError::TradingBlocked("rekyc_due"));
    Given::with(services())
        .given(vec![aggressive()])
        .when(record(1, buy("1", "100", "2026-12-02", "CN-1")))
        .then_expect_error(PortfolioError::Invalid {
            field: "trade_date",
            message: "a trade cannot be dated in the future",
        });
    let mut backwards = buy("1", "100", "2026-11-02", "CN-1");
    backwards.settlement_date = d("2026-11-01");
    Given::with(services())
        .given(vec![aggressive()])
        .when(record(1, backwards))
        .then_expect_error(PortfolioError::Invalid {
            field: "settlement_date",
            message: "a trade settles on or after its trade date",
        });
}

#[test]
fn a_sell_larger_than_the_holding_is_refused() {
    Given::with(services())
        .given(vec![
            aggressive(),
            recorded(1, buy("10", "100", "2026-01-05", "CN-1")),
        ])
        .when(record(2, sell("11", "120", "2026-02-05", "CN-2")))
        .then_expect_error(PortfolioError::Oversold {
            isin: Isin::parse(RELIANCE).unwrap(),
            on: d("2026-02-05"),
            held: m("10"),
            sold: m("11"),
        });
    // A sell dated before the buy that would cover it is an oversell on its own date.
    Given::with(services())
        .given(vec![
            aggressive(),
            recorded(1, buy("10", "100", "2026-03-05", "CN-1")),
        ])
        .when(record(2, sell("5", "120", "2026-02-05", "CN-2")))
        .then_expect_error(PortfolioError::Oversold {
            isin: Isin::parse(RELIANCE).unwrap(),
            on: d("2026-02-05"),
            held: m("0"),
            sold: m("5"),
        });
}

/// A sell dated after every trade of its instrument is checked against the quantity held
/// (without refolding the lots); one dated earlier against the whole ledger.
#[test]
fn a_sell_is_checked_where_it_falls_in_fifo_order() {
    let given = vec![
        aggressive(),
        recorded(1, buy("10", "100", "2026-01-05", "CN-1")),
        recorded(2, sell("6", "110", "2026-03-05", "CN-2")),
    ];
    // On the latest date, after a sell of that date: 4 are left.
    Given::with(services())
        .given(given.clone())
        .when(record(3, sell("4", "120", "2026-03-05", "CN-3")))
        .then_expect_events(vec![recorded(3, sell("4", "120", "2026-03-05", "CN-3"))]);
    Given::with(services())
        .given(given.clone())
        .when(record(3, sell("5", "120", "2026-03-06", "CN-3")))
        .then_expect_error(PortfolioError::Oversold {
            isin: Isin::parse(RELIANCE).unwrap(),
            on: d("2026-03-06"),
            held: m("4"),
            sold: m("5"),
        });
    // Back-dated: 10 were held on 2026-02-01 but the later sell of 6 would then find 1.
    Given::with(services())
        .given(given.clone())
        .when(record(3, sell("9", "120", "2026-02-01", "CN-3")))
        .then_expect_error(PortfolioError::Oversold {
            isin: Isin::parse(RELIANCE).unwrap(),
            on: d("2026-03-05"),
            held: m("1"),
            sold: m("6"),
        });
    // A reversed buy no longer counts, even for a sell after everything.
    let mut reversed = given;
    reversed.push(PortfolioEvent::TradeReversed {
        trade_id: id(2),
        reason: text("duplicate"),
        reversed_by: AGENT,
    });
    reversed.push(PortfolioEvent::TradeReversed {
        trade_id: id(1),
        reason: text("duplicate"),
        reversed_by: AGENT,
    });
    Given::with(services())
        .given(reversed)
        .when(record(3, sell("1", "120", "2026-04-01", "CN-3")))
        .then_expect_error(PortfolioError::Oversold {
            isin: Isin::parse(RELIANCE).unwrap(),
            on: d("2026-04-01"),
            held: m("0"),
            sold: m("1"),
        });
}

#[test]
fn buys_above_the_profile_need_an_acknowledged_override() {
    let cautious = PortfolioEvent::RiskProfiled {
        client_id: CLIENT,
        answers: (&answers(64, 1, LossTolerance::None)).into(),
        score: 5,
        profile: RiskProfileLevel::Conservative,
        profiled_by: AGENT,
    };
    Given::with(services())
        .given(vec![cautious.clone()])
        .when(record(1, buy("1", "100", "2026-11-02", "CN-1")))
        .then_expect_error(PortfolioError::Unsuitable {
            product: RiskLevel::High,
            profile: Some(RiskProfileLevel::Conservative),
            hint: "send an override_reason to take it on an acknowledged override",
        });
    Given::with(services())
        .given(vec![cautious.clone()])
        .when(PortfolioCommand::RecordTrade {
            trade_id: id(1),
            client_id: CLIENT,
            trade: buy("1", "100", "2026-11-02", "CN-1"),
            by: AGENT,
            kyc_block: None,
            override_reason: Some(text("client insists, risks explained")),
        })
        .then_expect_events(vec![PortfolioEvent::TradeRecorded {
            trade_id: id(1),
            client_id: CLIENT,
            trade: buy("1", "100", "2026-11-02", "CN-1"),
            recorded_by: AGENT,
            corrects: None,
            suitability_override: Some(SuitabilityOverride {
                product_risk: RiskLevel::High,
                profile: Some(RiskProfileLevel::Conservative),
                reason: text("client insists, risks explained"),
                acknowledged_by: AGENT,
            }),
        }]);
    // Configured to refuse: no override takes it.
    let strict = services_with(InvestmentRules {
        suitability: Suitability::Refuse,
        ..InvestmentRules::default()
    });
    Given::with(strict)
        .given(vec![cautious.clone()])
        .when(PortfolioCommand::RecordTrade {
            trade_id: id(1),
            client_id: CLIENT,
            trade: buy("1", "100", "2026-11-02", "CN-1"),
            by: AGENT,
            kyc_block: None,
            override_reason: Some(text("client insists")),
        })
        .then_expect_error(PortfolioError::Unsuitable {
            product: RiskLevel::High,
            profile: Some(RiskProfileLevel::Conservative),
            hint: "such buys are refused",
        });
    // Selling is never held back by the profile; a gilt fund (low risk) fits any profile.
    let mut gilt = buy("100.125", "31.4567", "2026-11-02", "MF-1");
    gilt.asset_class = AssetClass::MutualFund;
    gilt.fund_category = Some(FundCategory::Debt);
    gilt.isin = Isin::parse(GILT_FUND).unwrap();
    gilt.exchange = None;
    Given::with(services())
        .given(vec![cautious])
        .when(record(1, gilt.clone()))
        .then_expect_events(vec![recorded(1, gilt)]);
}

#[test]
fn a_correction_reverses_and_replaces_and_is_checked_like_a_trade() {
    let given = vec![
        aggressive(),
        recorded(1, buy("10", "100", "2026-01-05", "CN-1")),
        recorded(2, sell("10", "120", "2026-02-05", "CN-2")),
    ];
    let correct = |quantity: &str| PortfolioCommand::CorrectTrade {
        trade_id: id(1),
        replacement_id: id(3),
        replacement: buy(quantity, "100", "2026-01-05", "CN-1"),
        reason: text("quantity keyed wrong"),
        by: AGENT,
        kyc_block: None,
        override_reason: None,
    };
    Given::with(services())
        .given(given.clone())
        .when(correct("12"))
        .then_expect_events(vec![
            PortfolioEvent::TradeReversed {
                trade_id: id(1),
                reason: text("quantity keyed wrong"),
                reversed_by: AGENT,
            },
            PortfolioEvent::TradeRecorded {
                trade_id: id(3),
                client_id: CLIENT,
                trade: buy("12", "100", "2026-01-05", "CN-1"),
                recorded_by: AGENT,
                corrects: Some(id(1)),
                suitability_override: None,
            },
        ]);
    // The same correction sent again (a retry) changes nothing; another of the trade
    // already replaced names it unknown.
    let mut corrected = given.clone();
    corrected.extend([
        PortfolioEvent::TradeReversed {
            trade_id: id(1),
            reason: text("quantity keyed wrong"),
            reversed_by: AGENT,
        },
        PortfolioEvent::TradeRecorded {
            trade_id: id(3),
            client_id: CLIENT,
            trade: buy("12", "100", "2026-01-05", "CN-1"),
            recorded_by: AGENT,
            corrects: Some(id(1)),
            suitability_override: None,
        },
    ]);
    Given::with(services())
        .given(corrected.clone())
        .when(correct("12"))
        .then_expect_events(vec![]);
    Given::with(services())
        .given(corrected)
        .when(correct("13"))
        .then_expect_error(PortfolioError::UnknownTrade(id(1)));
    // Down to 8 bought, the later sell of 10 would be an oversell.
    Given::with(services())
        .given(given.clone())
        .when(correct("8"))
        .then_expect_error(PortfolioError::Oversold {
            isin: Isin::parse(RELIANCE).unwrap(),
            on: d("2026-02-05"),
            held: m("8"),
            sold: m("10"),
        });
    let mut reversed = given;
    reversed.push(PortfolioEvent::TradeReversed {
        trade_id: id(2),
        reason: text("duplicate"),
        reversed_by: AGENT,
    });
    Given::with(services())
        .given(reversed)
        .when(PortfolioCommand::CorrectTrade {
            trade_id: id(2),
            replacement_id: id(3),
            replacement: sell("1", "1", "2026-02-05", "CN-2"),
            reason: text("again"),
            by: AGENT,
            kyc_block: None,
            override_reason: None,
        })
        .then_expect_error(PortfolioError::UnknownTrade(id(2)));
    // A replacement is a trade: not while KYC blocks trading.
    Given::with(services())
        .given(vec![
            aggressive(),
            recorded(1, buy("10", "100", "2026-01-05", "CN-1")),
        ])
        .when(PortfolioCommand::CorrectTrade {
            trade_id: id(1),
            replacement_id: id(3),
            replacement: buy("11", "100", "2026-01-05", "CN-1"),
            reason: text("quantity"),
            by: AGENT,
            kyc_block: Some(TradingBlock::KycNotVerified),
            override_reason: None,
        })
        .then_expect_error(PortfolioError::TradingBlocked("kyc_not_verified"));
}

#[test]
fn fifo_consumes_the_oldest_lots_first_across_partial_sells() {
    let mut first = buy("10", "100", "2025-01-10", "CN-1");
    first.fees.brokerage = m("20");
    first.fees.stamp_duty = m("1.50");
    let p = portfolio(vec![
        aggressive(),
        recorded(1, first),
        recorded(2, buy("5", "110", "2025-06-01", "CN-2")),
        recorded(3, buy("5", "130", "2025-09-01", "CN-3")),
        recorded(4, sell("12", "150", "2026-01-10", "CN-4")),
        recorded(5, sell("4", "160", "2026-03-01", "CN-5")),
    ]);
    let ledger = p.ledger(&HoldingPeriods::default()).unwrap();
    // Fees are in the cost: the first lot cost 10 × 100 + 21.50.
    let r = &ledger.realisations[0];
    assert_eq!(r.lots.len(), 2);
    assert_eq!((r.lots[0].trade_id, r.lots[0].quantity), (id(1), m("10")));
    assert_eq!(r.lots[0].cost, m("1021.50"));
    assert_eq!((r.lots[1].trade_id, r.lots[1].quantity), (id(2), m("2")));
    assert_eq!(r.lots[1].cost, m("220"));
    // 12 × 150 = 1800 proceeds, 1241.50 cost, all short-term (bought 2025-01-10, sold
    // 2026-01-10: exactly twelve months is not more than twelve).
    assert_eq!((r.proceeds, r.cost), (m("1800"), m("1241.50")));
    assert_eq!((r.short_term, r.long_term), (m("558.50"), m("0")));
    let r = &ledger.realisations[1];
    assert_eq!(
        r.lots
            .iter()
            .map(|l| (l.trade_id, l.quantity))
            .collect::<Vec<_>>(),
        vec![(id(2), m("3")), (id(3), m("1"))]
    );
    assert_eq!(r.cost, m("460"));
    let holding = &ledger.holdings[&Isin::parse(RELIANCE).unwrap()];
    assert_eq!(holding.quantity(), m("4"));
    assert_eq!(holding.cost(), m("520"));
}

#[test]
fn the_long_term_boundary_is_the_day_after_twelve_months() {
    let gain_on = |sold: &str| {
        let p = portfolio(vec![
            aggressive(),
            recorded(1, buy("1", "100", "2025-01-10", "CN-1")),
            recorded(2, sell("1", "150", sold, "CN-2")),
        ]);
        let l = p.ledger(&HoldingPeriods::default()).unwrap();
        (l.realisations[0].short_term, l.realisations[0].long_term)
    };
    assert_eq!(gain_on("2026-01-10"), (m("50"), m("0")));
    assert_eq!(gain_on("2026-01-11"), (m("0"), m("50")));
    // A debt fund waits 24 months (configurable).
    let periods = HoldingPeriods::default();
    assert!(!periods.long_term(false, d("2024-03-01"), d("2026-03-01")));
    assert!(periods.long_term(false, d("2024-03-01"), d("2026-03-02")));
    assert!(periods.long_term(true, d("2024-03-01"), d("2025-03-02")));
}

#[test]
fn a_sells_fees_come_off_its_proceeds_and_split_across_terms() {
    let mut s = sell("2", "200", "2026-02-01", "CN-3");
    s.fees.brokerage = m("10");
    s.fees.stt = m("0.40");
    let p = portfolio(vec![
        aggressive(),
        recorded(1, buy("1", "100", "2024-12-01", "CN-1")),
        recorded(2, buy("1", "120", "2025-06-01", "CN-2")),
        recorded(3, s),
    ]);
    let r = &p.ledger(&HoldingPeriods::default()).unwrap().realisations[0];
    assert_eq!(r.proceeds, m("389.60"));
    // Half the proceeds per lot: 194.80 - 100 long, 194.80 - 120 short.
    assert_eq!((r.long_term, r.short_term), (m("94.80"), m("74.80")));
}

#[test]
fn the_questionnaire_scores_into_a_profile() {
    assert_eq!(
        answers(64, 1, LossTolerance::None).profile(),
        RiskProfileLevel::Conservative
    );
    assert_eq!(
        answers(45, 5, LossTolerance::Medium).profile(),
        RiskProfileLevel::Moderate
    );
    assert_eq!(
        answers(30, 10, LossTolerance::High).profile(),
        RiskProfileLevel::Aggressive
    );
    let a = answers(45, 5, LossTolerance::Medium);
    Given::with(services())
        .given_no_previous_events()
        .when(PortfolioCommand::ProfileRisk {
            client_id: CLIENT,
            answers: a.clone(),
            by: AGENT,
        })
        .then_expect_events(vec![PortfolioEvent::RiskProfiled {
            client_id: CLIENT,
            answers: (&a).into(),
            score: a.score(),
            profile: RiskProfileLevel::Moderate,
            profiled_by: AGENT,
        }]);
}

#[test]
fn every_string_field_of_every_event_is_classified() {
    let mut with_override = recorded(2, buy("1", "100", "2026-11-02", "CN-2"));
    if let PortfolioEvent::TradeRecorded {
        suitability_override,
        corrects,
        trade,
        ..
    } = &mut with_override
    {
        *corrects = Some(id(1));
        trade.fund_category = Some(FundCategory::Equity);
        *suitability_override = Some(SuitabilityOverride {
            product_risk: RiskLevel::High,
            profile: Some(RiskProfileLevel::Moderate),
            reason: text("asked for it"),
            acknowledged_by: AGENT,
        });
    }
    // One event of every type, every optional field filled.
    let events = vec![
        aggressive(),
        with_override,
        PortfolioEvent::TradeReversed {
            trade_id: id(1),
            reason: text("wrong"),
            reversed_by: AGENT,
        },
    ];
    for e in &events {
        let back: PortfolioEvent =
            serde_json::from_value(serde_json::to_value(e).unwrap()).unwrap();
        assert_eq!(&back, e);
    }
    let samples: Vec<(String, PortfolioEvent)> = events
        .into_iter()
        .map(|e| (cqrs_es::DomainEvent::event_type(&e), e))
        .collect();
    let samples: Vec<(&str, PortfolioEvent)> = samples
        .iter()
        .map(|(n, e)| (n.as_str(), e.clone()))
        .collect();
    assert_eq!(
        crate::personal::unclassified(personal::EVENTS, &samples),
        Vec::<String>::new()
    );
}
