//! Investments over HTTP: trades gated on KYC and the risk profile, FIFO lots and gains split
//! by holding period, idempotent references, corrections by reversal, prices (recorded,
//! stale), the portfolio now and as of a past date, and XIRR against an independent solver.

use chrono::{Duration, NaiveDate, Utc};
use domain::user::Role;
use serde_json::{json, Value};

use crate::kyc::verified_client;
use crate::on_both_stores;
use crate::support::{Actor, App, Store};

on_both_stores!(
    trades_make_fifo_lots_gains_and_a_valued_portfolio,
    trades_wait_for_kyc_and_follow_the_risk_profile,
    prices_come_from_a_quote_service_over_http,
    other_holding_periods_split_the_gains_again,
);

const RELIANCE: &str = "INE002A01018";

fn today() -> NaiveDate {
    (Utc::now() + Duration::minutes(330)).date_naive()
}

pub(crate) fn trade(
    client: &str,
    side: &str,
    quantity: &str,
    price: &str,
    on: &str,
    reference: &str,
) -> Value {
    json!({
        "client_id": client,
        "side": side,
        "asset_class": "equity",
        "isin": RELIANCE,
        "symbol": "RELIANCE",
        "exchange": "NSE",
        "quantity": quantity,
        "price": price,
        "trade_date": on,
        "reference": reference,
    })
}

fn field(v: &Value) -> &str {
    v["errors"][0]["field"].as_str().unwrap_or_default()
}

fn dec(v: &Value) -> f64 {
    v.as_str()
        .unwrap_or_else(|| panic!("a decimal string: {v}"))
        .parse()
        .unwrap()
}

/// XIRR by bisection on exact day counts (independent of the server's Newton solver).
fn xirr_by_bisection(flows: &[(NaiveDate, f64)]) -> f64 {
    let first = flows[0].0;
    let npv = |r: f64| -> f64 {
        flows
            .iter()
            .map(|(d, a)| a / (1.0 + r).powf((*d - first).num_days() as f64 / 365.0))
            .sum()
    };
    let (mut lo, mut hi) = (-0.99f64, 100.0f64);
    for _ in 0..400 {
        let mid = (lo + hi) / 2.0;
        if npv(mid).signum() == npv(lo).signum() {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    lo
}

pub(crate) async fn aggressive(app: &App, who: &Actor, client: &str) {
    let (s, v) = app
        .send(
            who.http
                .put(app.url(&format!("/api/investments/risk-profile/{client}")))
                .json(&json!({"age": 32, "income_range": "above_25_lakh", "horizon_years": 12, "experience": "extensive", "loss_tolerance": "high", "dependants": 0, "goals": ["retirement"], "preferred_products": ["equity"]})),
        )
        .await;
    assert_eq!(s, 200, "{v}");
}

async fn trades_make_fifo_lots_gains_and_a_valued_portfolio(store: Store) {
    let app = App::start(store).await;
    let rm = app.actor(Role::RelationshipManager, Some("MUM-01")).await;
    let officer = app.actor(Role::ComplianceOfficer, None).await;
    let client = verified_client(&app, &rm, &officer, "BKDPR4410J", "2034-01-01").await;
    aggressive(&app, &rm, &client).await;

    // Bad input names the field and records nothing.
    let head = app.log_head().await;
    let tomorrow = (today() + Duration::days(1)).to_string();
    let mut bad_isin = trade(&client, "buy", "1", "100", "2025-01-10", "X-1");
    bad_isin["isin"] = json!("INE002A01019");
    let mut future_and_bad = trade(&client, "buy", "1", "0", &tomorrow, "X-8");
    future_and_bad["isin"] = json!("INE002A0101");
    let (s, v) = app.post_as(&rm, "/api/investments", future_and_bad).await;
    let named: Vec<&str> = v["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    assert_eq!(
        (s, named),
        (422, vec!["trade_date", "isin", "price"]),
        "{v}"
    );
    let mut fractional = trade(&client, "buy", "1.5", "100", "2025-01-10", "X-2");
    fractional["fees"] = json!({"brokerage": "-1"});
    // Reliance's shares booked as a bond (which would pass as low risk); TCS's ISIN under
    // Reliance's symbol.
    let mut as_bond = trade(&client, "buy", "1", "100", "2025-01-10", "X-9");
    as_bond["asset_class"] = json!("bond");
    let mut other_symbol = trade(&client, "buy", "1", "100", "2025-01-10", "X-10");
    other_symbol["isin"] = json!("INE467B01029");
    for (body, status, named) in [
        (as_bond, 422, "asset_class"),
        (other_symbol, 422, "symbol"),
        (bad_isin, 422, "isin"),
        (
            trade(&client, "buy", "0", "100", "2025-01-10", "X-3"),
            422,
            "quantity",
        ),
        (
            trade(&client, "buy", "1", "-5", "2025-01-10", "X-4"),
            422,
            "price",
        ),
        (
            trade(&client, "buy", "1", "100", &tomorrow, "X-5"),
            422,
            "trade_date",
        ),
        (fractional, 422, "quantity"),
        (
            trade(&client, "sell", "1", "100", "2025-01-10", "X-6"),
            409,
            "",
        ),
    ] {
        let (s, v) = app.post_as(&rm, "/api/investments", body.clone()).await;
        assert_eq!(s, status, "{body}: {v}");
        if !named.is_empty() {
            assert_eq!(field(&v), named, "{v}");
        } else {
            assert_eq!(v["type"], "/problems/oversold", "{v}");
        }
    }
    let mut number = trade(&client, "buy", "1", "100", "2025-01-10", "X-7");
    number["quantity"] = json!(1);
    let (s, v) = app.post_as(&rm, "/api/investments", number).await;
    assert_eq!(s, 400, "amounts are strings: {v}");
    assert_eq!(app.log_head().await, head, "nothing recorded");

    // Two buys (fees in the first's cost), three sells across them.
    let mut first = trade(&client, "buy", "10", "100", "2025-01-10", "CN-1");
    first["fees"] = json!({"brokerage": "20", "stamp_duty": "1.50"});
    let mut ids = Vec::new();
    let mut last = 0;
    for body in [
        first.clone(),
        trade(&client, "buy", "5", "110", "2025-06-02", "CN-2"),
        trade(&client, "sell", "12", "150", "2026-01-10", "CN-3"),
        trade(&client, "sell", "1", "160", "2026-01-12", "CN-4"),
        trade(&client, "sell", "1", "200", "2026-06-05", "CN-5"),
    ] {
        let (s, v) = app.post_as(&rm, "/api/investments", body.clone()).await;
        assert_eq!(s, 201, "{body}: {v}");
        ids.push(v["id"].as_str().unwrap().to_string());
        last = v["position"].as_i64().unwrap();
    }
    // The same trade again changes nothing; another under its reference is refused.
    let (s, v) = app.post_as(&rm, "/api/investments", first.clone()).await;
    assert_eq!((s, &v["changed"]), (200, &json!(false)), "{v}");
    assert_eq!(v["id"], ids[0].as_str());
    let (s, v) = app
        .post_as(
            &rm,
            "/api/investments",
            trade(&client, "buy", "11", "100", "2025-01-10", "CN-1"),
        )
        .await;
    assert_eq!(
        (s, v["type"].as_str()),
        (409, Some("/problems/reference-taken")),
        "{v}"
    );

    // The first sell took all of the first lot and 2 of the second: short-term, as twelve
    // months to the day is not more than twelve months.
    let (s, page) = app
        .get_as(
            &rm,
            &format!("/api/investments/{client}?side=sell&min_position={last}"),
        )
        .await;
    assert_eq!(s, 200, "{page}");
    assert_eq!(page["total"], 3);
    let sells = page["items"].as_array().unwrap();
    let first_sell = sells.iter().find(|t| t["reference"] == "CN-3").unwrap();
    let r = &first_sell["realised"];
    assert_eq!(r["proceeds"], "1800");
    assert_eq!(r["cost"], "1241.5");
    assert_eq!(
        (r["short_term"].as_str(), r["long_term"].as_str()),
        (Some("558.5"), Some("0"))
    );
    let lots: Vec<(&str, &str, &str)> = r["lots"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| {
            (
                l["trade_id"].as_str().unwrap(),
                l["quantity"].as_str().unwrap(),
                l["term"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        lots,
        vec![
            (ids[0].as_str(), "10", "short_term"),
            (ids[1].as_str(), "2", "short_term")
        ]
    );
    let june = sells.iter().find(|t| t["reference"] == "CN-5").unwrap();
    assert_eq!(
        june["realised"]["long_term"], "90",
        "held past twelve months: {june}"
    );

    // Prices: one recorded by hand for today, one for a past day; the demo provider's are
    // not current.
    let (s, v) = app
        .post_as(
            &rm,
            "/api/prices",
            json!({"isin": RELIANCE, "price": "250", "as_of": today()}),
        )
        .await;
    assert_eq!(s, 403, "only admins record prices: {v}");
    let (s, v) = app
        .post(
            "/api/prices",
            json!({"isin": RELIANCE, "price": "250", "as_of": today()}),
        )
        .await;
    assert_eq!(s, 200, "{v}");
    let (s, v) = app
        .post(
            "/api/prices",
            json!({"isin": RELIANCE, "price": "145", "as_of": "2026-01-11"}),
        )
        .await;
    assert_eq!(s, 200, "{v}");
    let (s, v) = app
        .post(
            "/api/prices",
            json!({"isin": RELIANCE, "price": "1", "as_of": tomorrow}),
        )
        .await;
    assert_eq!((s, field(&v)), (422, "as_of"), "{v}");
    let (s, v) = app.get_as(&rm, "/api/prices/INE009A01021").await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(
        (v["source"].as_str(), v["stale"].as_bool()),
        (Some("fixture"), Some(true)),
        "{v}"
    );

    // The portfolio now: one unit left of the second lot (cost 110), at 250.
    let (s, p) = app
        .get_as(
            &rm,
            &format!(
                "/api/clients/{client}/portfolio?from=2025-01-01&to={}",
                today()
            ),
        )
        .await;
    assert_eq!(s, 200, "{p}");
    let h = &p["holdings"][0];
    assert_eq!(
        (h["isin"].as_str(), h["quantity"].as_str()),
        (Some(RELIANCE), Some("1")),
        "{p}"
    );
    assert_eq!(
        (h["cost"].as_str(), h["average_cost"].as_str()),
        (Some("110"), Some("110"))
    );
    assert_eq!(
        (h["price"].as_str(), h["price_source"].as_str()),
        (Some("250"), Some("manual"))
    );
    assert_eq!(h["market_value"], "250");
    assert_eq!(h["unrealised_pnl"], "140");
    assert_eq!(h["unrealised_pnl_pct"], "127.27");
    assert_eq!(h["status"], "active");
    assert_eq!(h["sector"], "energy");
    assert_eq!(p["realised"]["short_term"], "608.5", "{p}");
    assert_eq!(p["realised"]["long_term"], "90");
    assert_eq!(p["allocation"]["by_asset_class"][0]["name"], "equity");
    assert_eq!(p["allocation"]["by_asset_class"][0]["pct"], "100");
    let d = |s: &str| NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap();
    let flows = vec![
        (d("2025-01-10"), -1021.5),
        (d("2025-06-02"), -550.0),
        (d("2026-01-10"), 1800.0),
        (d("2026-01-12"), 160.0),
        (d("2026-06-05"), 200.0),
        (today(), 250.0),
    ];
    let expected = xirr_by_bisection(&flows);
    let got = p["xirr"].as_f64().unwrap();
    assert!((got - expected).abs() < 1e-5, "xirr {got} vs {expected}");

    // As of 2026-01-11: three units (after the first sell), at that day's price.
    let (s, then) = app
        .get_as(
            &rm,
            &format!("/api/investments/portfolio/{client}?as_of=2026-01-11"),
        )
        .await;
    assert_eq!(s, 200, "{then}");
    let h = &then["holdings"][0];
    assert_eq!(h["quantity"], "3", "{then}");
    assert_eq!(
        (h["price"].as_str(), h["stale"].as_bool()),
        (Some("145"), Some(false))
    );
    assert_eq!(h["market_value"], "435");
    assert_eq!(then["trades_in_force"], 3);
    let (s, v) = app
        .get_as(
            &rm,
            &format!("/api/investments/portfolio/{client}?as_of={tomorrow}"),
        )
        .await;
    assert_eq!((s, field(&v)), (422, "as_of"), "{v}");
    // Not a date at all: the contract is broken (400), and the message says what a date is.
    let (s, v) = app
        .get_as(
            &rm,
            &format!("/api/investments/portfolio/{client}?as_of=yesterday"),
        )
        .await;
    assert_eq!(
        (s, field(&v), v["errors"][0]["message"].as_str()),
        (
            400,
            "as_of",
            Some("must be a date, YYYY-MM-DD, e.g. 2026-12-01")
        ),
        "{v}"
    );

    // A correction reverses and replaces: the second buy was 6, not 5.
    let before = Utc::now();
    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    let mut six = trade(&client, "buy", "6", "110", "2025-06-02", "CN-2");
    six.as_object_mut().unwrap().remove("client_id");
    six["reason"] = json!("quantity keyed wrong");
    let (s, v) = app
        .send(
            rm.http
                .put(app.url(&format!("/api/investments/{}", ids[1])))
                .json(&six),
        )
        .await;
    assert_eq!(s, 200, "{v}");
    let replacement = v["id"].as_str().unwrap().to_string();
    let position = v["position"].as_i64().unwrap();
    // Sent again (a retry after a lost answer): the same replacement, nothing appended.
    let (s, again) = app
        .send(
            rm.http
                .put(app.url(&format!("/api/investments/{}", ids[1])))
                .json(&six),
        )
        .await;
    assert_eq!(
        (s, again["id"].as_str(), again["changed"].as_bool()),
        (200, Some(replacement.as_str()), Some(false)),
        "{again}"
    );
    let (_, p) = app
        .get_as(
            &rm,
            &format!("/api/investments/portfolio/{client}?min_position={position}"),
        )
        .await;
    assert_eq!(p["holdings"][0]["quantity"], "2", "{p}");
    assert_eq!(p["holdings"][0]["cost"], "220");
    // As it was known before the correction (folded from the log).
    let known = before.to_rfc3339_opts(chrono::SecondsFormat::Micros, true);
    let (s, then) = app
        .get_as(
            &rm,
            &format!(
                "/api/investments/portfolio/{client}?known_at={}",
                known.replace('+', "%2B")
            ),
        )
        .await;
    assert_eq!(s, 200, "{then}");
    assert_eq!(then["holdings"][0]["quantity"], "1", "{then}");
    let (_, all) = app
        .get_as(&rm, &format!("/api/investments/{client}?status=reversed"))
        .await;
    assert_eq!(all["items"][0]["id"], ids[1].as_str(), "{all}");
    assert_eq!(all["items"][0]["corrected_by"], replacement.as_str());
    // A correction that would leave a later sell short is refused.
    let mut five = trade(&client, "buy", "5", "100", "2025-01-10", "CN-1");
    five.as_object_mut().unwrap().remove("client_id");
    five["reason"] = json!("wrong");
    let (s, v) = app
        .send(
            rm.http
                .put(app.url(&format!("/api/investments/{}", ids[0])))
                .json(&five),
        )
        .await;
    assert_eq!(
        (s, v["type"].as_str()),
        (409, Some("/problems/oversold")),
        "{v}"
    );
    // The reversal and its reason are in the client's history.
    let (_, h) = app
        .get_as(&officer, &format!("/api/clients/{client}/history"))
        .await;
    let reversal = h["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["event_type"] == "TradeReversed")
        .unwrap_or_else(|| panic!("{h}"));
    assert_eq!(reversal["data"]["reason"], "quantity keyed wrong");
    app.stop().await;
}

async fn trades_wait_for_kyc_and_follow_the_risk_profile(store: Store) {
    let app = App::start(store).await;
    let rm = app.actor(Role::RelationshipManager, Some("MUM-01")).await;
    let officer = app.actor(Role::ComplianceOfficer, None).await;
    let other_rm = app.actor(Role::RelationshipManager, Some("DEL-01")).await;
    // A client without verified KYC may not trade.
    let (s, v) = app
        .post(
            "/api/clients",
            json!({
                "name": "Farah Qureshi",
                "email": "farah.q@example.in",
                "phone": "+91 98111 22334",
                "pan": "CFQPQ7781L",
                "date_of_birth": "1990-03-14",
                "address": "8 Lodhi Road, New Delhi 110003",
                "branch": "MUM-01",
                "relationship_manager": rm.id,
            }),
        )
        .await;
    assert_eq!(s, 201, "{v}");
    let unverified = v["id"].as_str().unwrap().to_string();
    let (s, v) = app
        .post_as(
            &rm,
            "/api/investments",
            trade(&unverified, "buy", "1", "100", "2026-11-02", "B-1"),
        )
        .await;
    assert_eq!(
        (s, v["type"].as_str()),
        (409, Some("/problems/trading-blocked")),
        "{v}"
    );
    assert!(
        v["detail"].as_str().unwrap().contains("kyc_not_verified"),
        "{v}"
    );

    // A cautious client: equity needs an acknowledged override, a debt fund does not.
    let client = verified_client(&app, &rm, &officer, "DKRPS2201M", "2034-01-01").await;
    let (s, v) = app
        .send(
            rm.http
                .put(app.url(&format!("/api/investments/risk-profile/{client}")))
                .json(&json!({"age": 66, "income_range": "1_to_5_lakh", "horizon_years": 1, "experience": "none", "loss_tolerance": "none", "dependants": 3})),
        )
        .await;
    assert_eq!(s, 200, "{v}");
    let (s, v) = app
        .post_as(
            &rm,
            "/api/investments",
            trade(&client, "buy", "1", "100", "2026-11-02", "C-1"),
        )
        .await;
    assert_eq!(
        (s, v["type"].as_str()),
        (409, Some("/problems/unsuitable")),
        "{v}"
    );
    let mut overridden = trade(&client, "buy", "1", "100", "2026-11-02", "C-1");
    overridden["override_reason"] = json!("client insists; risks explained in writing");
    let (s, v) = app.post_as(&rm, "/api/investments", overridden).await;
    assert_eq!(s, 201, "{v}");
    let fund = json!({
        "client_id": client, "side": "buy", "asset_class": "mutual_fund", "fund_category": "debt",
        "isin": "INF179K01079", "symbol": "HDFC-CORP-BOND", "quantity": "100.125",
        "price": "31.8123", "trade_date": "2026-11-02", "reference": "C-2",
    });
    let (s, v) = app.post_as(&rm, "/api/investments", fund).await;
    assert_eq!(s, 201, "{v}");
    // A government bond (low risk): with its face value and coupon, which it must name.
    let gsec = format!(
        "IN002023008{}",
        domain::values::isin_check_digit("IN002023008").unwrap()
    );
    let mut bond = json!({
        "client_id": client, "side": "buy", "asset_class": "bond", "isin": gsec,
        "symbol": "GS2033", "quantity": "10", "price": "101.25", "trade_date": "2026-11-03",
        "reference": "C-3",
    });
    let (s, v) = app.post_as(&rm, "/api/investments", bond.clone()).await;
    assert_eq!((s, field(&v)), (422, "face_value"), "{v}");
    bond["face_value"] = json!("100");
    bond["coupon_rate"] = json!("7.18");
    let (s, v) = app.post_as(&rm, "/api/investments", bond).await;
    assert_eq!(s, 201, "{v}");
    let position = v["position"].as_i64().unwrap();
    let (s, p) = app
        .get_as(
            &rm,
            &format!("/api/investments/portfolio/{client}?min_position={position}"),
        )
        .await;
    assert_eq!(s, 200, "{p}");
    assert_eq!(p["risk_profile"]["profile"], "conservative", "{p}");
    assert_eq!(p["trades_in_force"], 3);
    let held = p["holdings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|h| h["asset_class"] == "bond")
        .unwrap()
        .clone();
    assert_eq!(
        (held["face_value"].as_str(), held["coupon_rate"].as_str()),
        (Some("100"), Some("7.18")),
        "{held}"
    );
    let (_, list) = app
        .get_as(&rm, &format!("/api/investments/{client}?asset_class=bond"))
        .await;
    assert_eq!(list["items"][0]["coupon_rate"], "7.18", "{list}");
    let units = p["holdings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|h| h["asset_class"] == "mutual_fund")
        .unwrap()["quantity"]
        .clone();
    assert_eq!(units, "100.125");
    assert!(dec(&p["totals"]["invested"]) > 3000.0, "{p}");
    // Another branch's RM sees neither the portfolio nor the trades.
    let (s, _) = app
        .get_as(&other_rm, &format!("/api/investments/portfolio/{client}"))
        .await;
    assert_eq!(s, 404);
    let (s, _) = app
        .get_as(&other_rm, &format!("/api/investments/{client}"))
        .await;
    assert_eq!(s, 404);
    // The investments report counts what the caller may see.
    let (s, r) = app.get_as(&officer, "/api/reports/investments").await;
    assert_eq!(s, 200, "{r}");
    assert_eq!(r["clients_with_holdings"], 1, "{r}");
    let mix: Vec<&str> = r["product_mix"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["key"].as_str().unwrap())
        .collect();
    assert_eq!(mix.len(), 3, "{r}");
    assert!(
        mix.contains(&"equity") && mix.contains(&"mutual_fund") && mix.contains(&"bond"),
        "{r}"
    );
    assert_eq!(r["by_segment"][0]["key"], "retail");
    let buys = r["trade_volumes"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|v| v["side"] == "buy")
        .map(|v| v["trades"].as_i64().unwrap())
        .sum::<i64>();
    assert_eq!(buys, 3, "{r}");
    let csv = rm
        .http
        .get(app.url("/api/reports/investments"))
        .header("accept", "text/csv")
        .send()
        .await
        .unwrap();
    assert_eq!(csv.status(), 200);
    let text = csv.text().await.unwrap();
    assert!(text.starts_with("section,key,clients,value"), "{text}");
    assert!(text.contains("product_mix,mutual_fund,1,"), "{text}");
    let (_, none) = app.get_as(&other_rm, "/api/reports/investments").await;
    assert_eq!(none["clients_with_holdings"], 0, "{none}");
    // Auditors see no portfolios; compliance does.
    let auditor = app.actor(Role::Auditor, None).await;
    assert_eq!(
        app.get_as(&auditor, &format!("/api/investments/{client}"))
            .await
            .0,
        403
    );
    assert_eq!(
        app.get_as(&officer, &format!("/api/investments/{client}"))
            .await
            .0,
        200
    );
    app.stop().await;
}

/// What the test's quote service answers and saw.
#[derive(Default)]
struct QuoteService {
    down: std::sync::atomic::AtomicBool,
    asked: std::sync::atomic::AtomicUsize,
    keys: std::sync::Mutex<Vec<String>>,
}

/// A quote service on a local port: `GET /v1/{isin}` answers `{"data": {"ltp": "…", "ts": "…"}}`
/// for Reliance, 404 for anything else, 503 while down.
async fn quote_service() -> (String, std::sync::Arc<QuoteService>) {
    use poem::listener::{Acceptor, Listener};
    use poem::{handler, web, EndpointExt};

    #[handler]
    fn quote(
        web::Path(isin): web::Path<String>,
        req: &poem::Request,
        state: web::Data<&std::sync::Arc<QuoteService>>,
    ) -> poem::Response {
        use std::sync::atomic::Ordering;
        state.asked.fetch_add(1, Ordering::SeqCst);
        if let Some(k) = req.headers().get("x-api-key").and_then(|v| v.to_str().ok()) {
            state.keys.lock().unwrap().push(k.to_string());
        }
        if state.down.load(Ordering::SeqCst) {
            return poem::Response::builder()
                .status(poem::http::StatusCode::SERVICE_UNAVAILABLE)
                .finish();
        }
        if isin != RELIANCE {
            return poem::Response::builder()
                .status(poem::http::StatusCode::NOT_FOUND)
                .finish();
        }
        let body = json!({"data": {"ltp": "2999.95", "ts": (Utc::now() - Duration::seconds(30)).to_rfc3339()}});
        poem::Response::builder()
            .content_type("application/json")
            .body(body.to_string())
    }

    let state = std::sync::Arc::new(QuoteService::default());
    let acceptor = poem::listener::TcpListener::bind("127.0.0.1:0")
        .into_acceptor()
        .await
        .unwrap();
    let addr = acceptor.local_addr()[0].as_socket_addr().cloned().unwrap();
    let app = poem::Route::new()
        .at("/v1/:isin", poem::get(quote))
        .data(state.clone());
    tokio::spawn(poem::Server::new_with_acceptor(acceptor).run(app));
    (format!("http://{addr}/v1/{{isin}}"), state)
}

/// The HTTP JSON provider: the price and its time read by pointer, the key sent, the quote
/// kept in the price table; while the service is down a read still answers (with the
/// last price kept) and the service is not asked again at once.
async fn prices_come_from_a_quote_service_over_http(store: Store) {
    use std::sync::atomic::Ordering;

    let (url, service) = quote_service().await;
    let fresh = crate::support::Fresh::new(store).await;
    let app = App::start_with(fresh, |c| {
        c.serve.price_url = Some(url);
        c.serve.price_auth_header = Some("X-Api-Key: key-for-quotes".into());
        c.serve.price_field = "/data/ltp".into();
        c.serve.price_time_field = "/data/ts".into();
        c.serve.price_ttl = 0;
    })
    .await;
    let rm = app.actor(Role::RelationshipManager, Some("MUM-01")).await;
    let officer = app.actor(Role::ComplianceOfficer, None).await;
    let client = verified_client(&app, &rm, &officer, "BKDPR4411K", "2034-01-01").await;
    aggressive(&app, &rm, &client).await;
    let (s, v) = app
        .post_as(
            &rm,
            "/api/investments",
            trade(&client, "buy", "10", "2500", "2025-01-10", "Q-1"),
        )
        .await;
    assert_eq!(s, 201, "{v}");
    // A fund the service does not know (404): valued at cost, listed as unpriced.
    let mut fund = trade(&client, "buy", "100", "50", "2025-01-10", "Q-2");
    fund["isin"] = json!("INF209K01YN0");
    fund["asset_class"] = json!("mutual_fund");
    fund["fund_category"] = json!("debt");
    fund["exchange"] = Value::Null;
    fund["symbol"] = json!("ABSLGILT");
    let (s, v) = app.post_as(&rm, "/api/investments", fund).await;
    assert_eq!(s, 201, "{v}");
    let position = v["position"].as_i64().unwrap();

    let path = format!("/api/investments/portfolio/{client}?min_position={position}");
    let (s, p) = app.get_as(&rm, &path).await;
    assert_eq!(s, 200, "{p}");
    let h = p["holdings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|h| h["isin"] == RELIANCE)
        .unwrap()
        .clone();
    assert_eq!(
        (
            h["price"].as_str(),
            h["price_source"].as_str(),
            h["stale"].as_bool()
        ),
        (Some("2999.95"), Some("http"), Some(false)),
        "{p}"
    );
    assert_eq!(h["market_value"], "29999.5", "{p}");
    assert_eq!(p["unpriced"], json!(["INF209K01YN0"]), "{p}");
    assert!(
        service
            .keys
            .lock()
            .unwrap()
            .iter()
            .all(|k| k == "key-for-quotes")
            && !service.keys.lock().unwrap().is_empty(),
        "the key is sent with every request"
    );
    // The quote was kept: the price endpoint names it.
    let (s, q) = app.get_as(&rm, &format!("/api/prices/{RELIANCE}")).await;
    assert_eq!(
        (s, q["price"].as_str(), q["source"].as_str()),
        (200, Some("2999.95"), Some("http")),
        "{q}"
    );

    // Down: the read answers with the price kept; the service is left alone for a while.
    service.down.store(true, Ordering::SeqCst);
    let before = service.asked.load(Ordering::SeqCst);
    for _ in 0..3 {
        let (s, p) = app.get_as(&rm, &path).await;
        assert_eq!(s, 200, "{p}");
        let h = p["holdings"]
            .as_array()
            .unwrap()
            .iter()
            .find(|h| h["isin"] == RELIANCE)
            .unwrap()
            .clone();
        assert_eq!(h["price"], "2999.95", "{p}");
    }
    // The first read after it went down asked (and failed) for each instrument; the next
    // two were within the back-off.
    let asked = service.asked.load(Ordering::SeqCst) - before;
    assert_eq!(asked, 2, "one failed request per instrument, then back-off");
    app.stop().await;
}

/// The portfolio read model splits realised gains by the holding periods configured: a
/// server started with other periods rebuilds it, and the same sell is long-term then.
async fn other_holding_periods_split_the_gains_again(store: Store) {
    let app = App::start(store).await;
    let rm = app.actor(Role::RelationshipManager, Some("MUM-01")).await;
    let officer = app.actor(Role::ComplianceOfficer, None).await;
    let client = verified_client(&app, &rm, &officer, "BKDPR4412L", "2034-01-01").await;
    aggressive(&app, &rm, &client).await;
    let bought = (today() - Duration::days(300)).to_string();
    let sold = (today() - Duration::days(10)).to_string();
    let (s, v) = app
        .post_as(
            &rm,
            "/api/investments",
            trade(&client, "buy", "10", "100", &bought, "P-1"),
        )
        .await;
    assert_eq!(s, 201, "{v}");
    let (s, v) = app
        .post_as(
            &rm,
            "/api/investments",
            trade(&client, "sell", "10", "150", &sold, "P-2"),
        )
        .await;
    assert_eq!(s, 201, "{v}");
    let position = v["position"].as_i64().unwrap();
    let path = format!("/api/investments/portfolio/{client}?from={bought}");
    let (s, p) = app
        .get_as(&rm, &format!("{path}&min_position={position}"))
        .await;
    assert_eq!(s, 200, "{p}");
    // Held about 9.5 months: short-term under the 12 months of the law.
    assert_eq!(
        (
            p["realised"]["short_term"].as_str(),
            p["realised"]["long_term"].as_str()
        ),
        (Some("500"), Some("0")),
        "{p}"
    );

    let app = app
        .restart_with(|c| c.store.long_term_months_equity = 6)
        .await;
    let rm = crate::support::login(&app.base, &rm.email, crate::support::PASSWORD).await;
    let (s, p) = app
        .get_as(&rm, &format!("{path}&min_position={position}"))
        .await;
    assert_eq!(s, 200, "{p}");
    assert_eq!(
        (
            p["realised"]["short_term"].as_str(),
            p["realised"]["long_term"].as_str()
        ),
        (Some("0"), Some("500")),
        "{p}"
    );
    app.stop().await;
}
