//! The portfolio model's tallies fed events directly, on a real SQLite store: holdings and
//! holders follow their clients through trades, a sale, a reversal, a correction and moves (in
//! batches that mix them), and equal what is counted by hand.

use std::str::FromStr;
use std::sync::Arc;

use chrono::NaiveDate;
use cqrs_es::DomainEvent;
use domain::client::{ClientDetails, ClientEvent, ClientProfile, Segment};
use domain::investments::{
    AssetClass, Exchange, Fees, HoldingPeriods, PortfolioEvent, Side, Trade,
};
use domain::user::Branch;
use domain::values::{BirthDate, Email, Isin, Pan, PersonName, Phone, Text};
use rust_decimal::Decimal;
use store::privacy::Keyring;
use store::{Db, EventMetadata};
use uuid::Uuid;

use super::PortfolioProjection;
use crate::{Projection, StoredEvent, Tx};

/// Events as the log would hand them over, in order.
#[derive(Default)]
struct Log {
    position: i64,
    pending: Vec<StoredEvent>,
}

impl Log {
    fn add<E: DomainEvent>(&mut self, aggregate: &str, id: Uuid, event: &E) {
        self.position += 1;
        self.pending.push(StoredEvent {
            position: self.position,
            tx_id: self.position,
            aggregate_type: aggregate.into(),
            aggregate_id: id.to_string(),
            sequence: self.position,
            event_type: event.event_type(),
            event_version: event.event_version(),
            payload: serde_json::to_value(event).unwrap(),
            metadata: serde_json::to_value(EventMetadata::system(None).to_map()).unwrap(),
        });
    }
}

fn text(s: &str) -> Text {
    Text::parse(s, 200).unwrap()
}

fn onboarded(client: Uuid, branch: &str, manager: Option<Uuid>) -> ClientEvent {
    ClientEvent::ClientOnboarded {
        client_id: client,
        lead_id: None,
        profile: ClientProfile {
            name: PersonName::parse("Asha Rao").unwrap(),
            email: Email::parse("asha@example.in").unwrap(),
            phone: Phone::parse("9876543210").unwrap(),
            pan: Pan::parse("ABCPR1234F").unwrap(),
            date_of_birth: BirthDate::parse(
                "1988-04-12",
                NaiveDate::from_ymd_opt(2026, 11, 30).unwrap(),
            )
            .unwrap(),
            address: text("12 Marine Drive, Mumbai 400002"),
        },
        branch: Branch::parse(branch).unwrap(),
        relationship_manager: manager,
        details: ClientDetails::default(),
    }
}

const RELIANCE: &str = "INE002A01018";
const TCS: &str = "INE467B01029";
const NIFTYBEES: &str = "INF204KB14I2";

fn trade(side: Side, isin: &str, q: &str, p: &str, on: &str) -> Trade {
    let (symbol, class) = match isin {
        RELIANCE => ("RELIANCE", AssetClass::Equity),
        TCS => ("TCS", AssetClass::Equity),
        _ => ("NIFTYBEES", AssetClass::Etf),
    };
    let day = NaiveDate::parse_from_str(on, "%Y-%m-%d").unwrap();
    Trade {
        side,
        asset_class: class,
        fund_category: None,
        isin: Isin::parse(isin).unwrap(),
        symbol: text(symbol),
        exchange: Some(Exchange::Nse),
        quantity: Decimal::from_str(q).unwrap(),
        price: Decimal::from_str(p).unwrap(),
        fees: Fees::default(),
        trade_date: day,
        settlement_date: day.succ_opt().unwrap(),
        reference: text(&format!("CN-{isin}-{on}-{q}-{p}")),
        bond: None,
    }
}

fn recorded(client: Uuid, n: u128, t: Trade) -> PortfolioEvent {
    PortfolioEvent::TradeRecorded {
        trade_id: Uuid::from_u128(n),
        client_id: client,
        trade: t,
        recorded_by: Uuid::from_u128(99),
        corrects: None,
        suitability_override: None,
    }
}

type HoldingRow = (String, String, String, String, i64, String, String);

async fn tallies(
    db: &Db,
) -> (
    Vec<HoldingRow>,
    Vec<(String, String, String, String, i64)>,
    Vec<(String, String, i64, i64)>,
) {
    store::with_db!(db, pool => {
        let held = sqlx::query_as(
            "SELECT branch, segment, relationship_manager, isin, holders, quantity, cost
               FROM holding_tally ORDER BY 1, 2, 3, 4",
        )
        .fetch_all(pool)
        .await
        .unwrap();
        let holders = sqlx::query_as(
            "SELECT branch, segment, relationship_manager, asset_class, holders
               FROM holder_tally WHERE holders <> 0 ORDER BY 1, 2, 3, 4",
        )
        .fetch_all(pool)
        .await
        .unwrap();
        let days = sqlx::query_as(
            "SELECT trade_date, side, trades, value_e4 FROM trade_days
              WHERE trades <> 0 ORDER BY 1, 2",
        )
        .fetch_all(pool)
        .await
        .unwrap();
        (held, holders, days)
    })
}

#[tokio::test]
async fn the_tallies_follow_trades_and_moves_as_counted_by_hand() {
    let dir = std::env::temp_dir().join(format!("crm-tally-{}", Uuid::new_v4().simple()));
    let db = Db::connect(None, &dir).await.unwrap();
    db.migrate().await.unwrap();
    let keyring = Arc::new(Keyring::load(&db, &dir, None, &[]).await.unwrap());
    let projection = PortfolioProjection::new(keyring, HoldingPeriods::default());
    let ddl = crate::schema::render(&db, &projection, "", "t");
    store::with_db!(&db, pool => {
        sqlx::raw_sql(&ddl).execute(pool).await.unwrap();
    });
    let (a, b) = (Uuid::from_u128(1), Uuid::from_u128(2));
    let (r1, r2) = (Uuid::from_u128(11), Uuid::from_u128(12));
    let (client, portfolio) = ("client", "portfolio");
    let mut log = Log::default();
    // A in Mumbai with manager 1 buys Reliance and TCS; B in Delhi, unmanaged, buys Reliance
    // and an ETF; A sells 4 Reliance.
    log.add(client, a, &onboarded(a, "MUM-01", Some(r1)));
    let buy = |isin, q, p, on| trade(Side::Buy, isin, q, p, on);
    log.add(
        portfolio,
        a,
        &recorded(a, 101, buy(RELIANCE, "10", "100", "2026-11-02")),
    );
    log.add(client, b, &onboarded(b, "DEL-01", None));
    log.add(
        portfolio,
        a,
        &recorded(a, 102, buy(TCS, "5", "200", "2026-11-03")),
    );
    log.add(
        portfolio,
        b,
        &recorded(b, 103, buy(RELIANCE, "4", "150", "2026-11-03")),
    );
    log.add(
        portfolio,
        b,
        &recorded(b, 104, buy(NIFTYBEES, "100", "2.5", "2026-11-04")),
    );
    let sell = trade(Side::Sell, RELIANCE, "4", "120", "2026-11-05");
    log.add(portfolio, a, &recorded(a, 105, sell));
    let events = std::mem::take(&mut log.pending);
    let run = |events: Vec<StoredEvent>| {
        let (db, projection) = (&db, &projection);
        async move {
            let mut tx = Tx::begin(db).await.unwrap();
            projection.apply(&mut tx, "", &events).await.unwrap();
            tx.commit().await.unwrap();
        }
    };
    // A's onboarding and first trade as one batch, the rest as a second.
    run(events[..2].to_vec()).await;
    run(events[2..].to_vec()).await;
    let (held, holders, days) = tallies(&db).await;
    let (m1, none) = (r1.to_string(), String::new());
    let row = |br: &str, seg: &str, rm: &str, isin: &str, h: i64, q: &str, c: &str| {
        (
            br.into(),
            seg.into(),
            rm.to_string(),
            isin.into(),
            h,
            q.into(),
            c.into(),
        )
    };
    assert_eq!(
        held,
        vec![
            row("DEL-01", "retail", &none, RELIANCE, 1, "4", "600"),
            row("DEL-01", "retail", &none, NIFTYBEES, 1, "100", "250"),
            // 10 at 100 less the 4 sold first in, first out.
            row("MUM-01", "retail", &m1, RELIANCE, 1, "6", "600"),
            row("MUM-01", "retail", &m1, TCS, 1, "5", "1000"),
        ]
    );
    let h = |br: &str, rm: &str, class: &str, n: i64| {
        (br.into(), "retail".into(), rm.to_string(), class.into(), n)
    };
    assert_eq!(
        holders,
        vec![
            h("DEL-01", &none, "", 1),
            h("DEL-01", &none, "equity", 1),
            h("DEL-01", &none, "etf", 1),
            h("MUM-01", &m1, "", 1),
            // Two equities, one client.
            h("MUM-01", &m1, "equity", 1),
        ]
    );
    let day =
        |d: &str, side: &str, n: i64, rupees: i64| (d.into(), side.into(), n, rupees * 10_000);
    assert_eq!(
        days,
        vec![
            day("2026-11-02", "buy", 1, 1000),
            day("2026-11-03", "buy", 2, 1600),
            day("2026-11-04", "buy", 1, 250),
            day("2026-11-05", "sell", 1, 480),
        ]
    );
    // A moves to manager 2; B becomes affluent, and its Reliance buy is reversed.
    let assigned = ClientEvent::RelationshipManagerAssigned {
        manager_id: r2,
        previous_manager_id: Some(r1),
    };
    log.add(client, a, &assigned);
    let moved = ClientEvent::ClientSegmentChanged {
        from: Segment::Retail,
        to: Segment::Affluent,
        aum: None,
    };
    log.add(client, b, &moved);
    let reversed = PortfolioEvent::TradeReversed {
        trade_id: Uuid::from_u128(103),
        reason: text("booked twice"),
        reversed_by: Uuid::from_u128(99),
    };
    log.add(portfolio, b, &reversed);
    // A's TCS buy corrected to 210 (a reversal and the new trade), and a buy of 1 more at
    // 220 in the batch of A's move.
    let corrected = PortfolioEvent::TradeReversed {
        trade_id: Uuid::from_u128(102),
        reason: text("wrong price"),
        reversed_by: Uuid::from_u128(99),
    };
    log.add(portfolio, a, &corrected);
    let mut replacement = recorded(a, 106, buy(TCS, "5", "210", "2026-11-03"));
    if let PortfolioEvent::TradeRecorded { corrects, .. } = &mut replacement {
        *corrects = Some(Uuid::from_u128(102));
    }
    log.add(portfolio, a, &replacement);
    log.add(
        portfolio,
        a,
        &recorded(a, 107, buy(TCS, "1", "220", "2026-11-06")),
    );
    run(std::mem::take(&mut log.pending)).await;
    let (held, holders, days) = tallies(&db).await;
    let m2 = r2.to_string();
    assert_eq!(
        held,
        vec![
            row("DEL-01", "affluent", &none, NIFTYBEES, 1, "100", "250"),
            row("MUM-01", "retail", &m2, RELIANCE, 1, "6", "600"),
            // 5 at 210 and 1 at 220.
            row("MUM-01", "retail", &m2, TCS, 1, "6", "1270"),
        ]
    );
    let h2 = |br: &str, seg: &str, rm: &str, class: &str, n: i64| {
        (br.into(), seg.into(), rm.to_string(), class.into(), n)
    };
    assert_eq!(
        holders,
        vec![
            h2("DEL-01", "affluent", &none, "", 1),
            h2("DEL-01", "affluent", &none, "etf", 1),
            h2("MUM-01", "retail", &m2, "", 1),
            h2("MUM-01", "retail", &m2, "equity", 1),
        ]
    );
    assert_eq!(
        days,
        vec![
            day("2026-11-02", "buy", 1, 1000),
            // B's Reliance reversed, A's TCS corrected.
            day("2026-11-03", "buy", 1, 1050),
            day("2026-11-04", "buy", 1, 250),
            day("2026-11-05", "sell", 1, 480),
            day("2026-11-06", "buy", 1, 220),
        ]
    );
    // The last trade in force is each client's last activity in trading.
    let last: Vec<(String, Option<String>)> = store::with_db!(&db, pool => {
        sqlx::query_as("SELECT client_id, last_trade_on FROM portfolios ORDER BY 1")
            .fetch_all(pool)
            .await
            .unwrap()
    });
    assert_eq!(
        last,
        vec![
            (a.to_string(), Some("2026-11-06".into())),
            (b.to_string(), Some("2026-11-04".into())),
        ]
    );
}
