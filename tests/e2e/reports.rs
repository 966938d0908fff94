//! The sales report over HTTP: golden numbers of a small pipeline worked by hand, role scoping
//! (an agent never sees another's numbers), filters, the period before, as-of answers, the CSV
//! form and bad parameters.

use chrono::{Datelike, Duration, SecondsFormat, Utc};
use domain::user::Role;
use serde_json::{json, Value};

use crate::on_both_stores;
use crate::support::{App, Store};

on_both_stores!(
    sales_report_counts_what_happened,
    the_sales_report_follows_each_write_and_a_rebuild,
    each_role_gets_its_widgets,
    compliance_report_says_who_read_whom,
    client_report_counts_who_the_clients_are,
    the_demo_year_fills_every_report,
    a_monthly_compliance_pack_is_written_listed_and_recorded,
);

/// A lead captured by the admin for `agent` (none: unassigned).
async fn captured(
    app: &App,
    n: u32,
    source: &str,
    detail: Option<&str>,
    agent: Option<&str>,
) -> String {
    let (id, _) = app
        .capture(json!({
            "name": format!("Prospect {}", ["Arun", "Bela", "Chitra", "Dev", "Esha", "Farhan", "Gita", "Hari"][n as usize]),
            "email": format!("prospect{n}@example.in"),
            "source": source,
            "source_detail": detail,
            "assign_to": agent,
        }))
        .await;
    id
}

async fn moved(app: &App, id: &str, status: &str, reason: Option<&str>) {
    let (s, v) = app
        .post(
            &format!("/api/leads/{id}/status"),
            json!({"status": status, "reason": reason}),
        )
        .await;
    assert_eq!(s, 200, "{v}");
}

/// The headline number `key` of a report: (current, previous).
fn headline(r: &Value, key: &str) -> (Value, Value) {
    let h = r["headline"]
        .as_array()
        .unwrap()
        .iter()
        .find(|h| h["key"] == key)
        .unwrap_or_else(|| panic!("no {key} in {r}"));
    (h["current"].clone(), h["previous"].clone())
}

/// `list`'s items as `key field` → `value field`.
fn by(r: &Value, list: &str, key: &str, value: &str) -> Vec<(String, Value)> {
    r[list]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| (i[key].as_str().unwrap_or("").to_string(), i[value].clone()))
        .collect()
}

fn agent_row<'a>(r: &'a Value, id: &str) -> &'a Value {
    r["agents"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["agent_id"] == id)
        .unwrap_or_else(|| panic!("no agent {id} in {r}"))
}

/// The sales report at the log's head now.
async fn sales_now(app: &App, who: Option<&crate::support::Actor>, query: &str) -> Value {
    let p = app.log_head().await;
    let path = format!("/api/reports/sales?min_position={p}{query}");
    let (s, r) = match who {
        Some(who) => app.get_as(who, &path).await,
        None => app.get(&path).await,
    };
    assert_eq!(s, 200, "{r}");
    r
}

/// Open leads by stage, as the report gives them.
fn pipeline(r: &Value) -> Vec<i64> {
    by(r, "pipeline", "stage", "leads")
        .into_iter()
        .map(|(_, n)| n.as_i64().unwrap())
        .collect()
}

async fn the_sales_report_follows_each_write_and_a_rebuild(store: Store) {
    // The report counts from a copy of the sales facts in memory: it must show every write
    // made after it was first read, and a rebuilt model as rebuilt.
    let app = App::start(store).await;
    let rm = app.actor(Role::RelationshipManager, Some("MUM-01")).await;
    let a = rm.id.to_string();
    let l0 = captured(&app, 0, "website", None, Some(&a)).await;
    let r = sales_now(&app, None, "").await;
    assert_eq!(headline(&r, "leads_captured").0, json!(1.0));
    assert_eq!(pipeline(&r), vec![1, 0, 0]);

    let l1 = captured(&app, 1, "campaign", Some("Diwali SIP"), Some(&a)).await;
    moved(&app, &l0, "contacted", None).await;
    let r = sales_now(&app, None, "").await;
    assert_eq!(headline(&r, "leads_captured").0, json!(2.0));
    assert_eq!(pipeline(&r), vec![1, 1, 0]);
    let r = sales_now(&app, None, "&campaign=diwali%20sip").await;
    assert_eq!(pipeline(&r), vec![1, 0, 0]);

    moved(&app, &l1, "lost", Some("Chose another broker")).await;
    let r = sales_now(&app, Some(&rm), "").await;
    assert_eq!(pipeline(&r), vec![0, 1, 0]);
    assert_eq!(headline(&r, "leads_lost").0, json!(1.0));
    assert_eq!(
        by(&r, "lost_reasons", "reason", "leads"),
        vec![("Chose another broker".into(), json!(1))]
    );
    // Reopened: back where it was lost from.
    moved(&app, &l1, "new", None).await;
    let r = sales_now(&app, None, "&campaign=diwali%20sip").await;
    assert_eq!(pipeline(&r), vec![1, 0, 0]);

    // The campaign lead's key destroyed without an event to it: the live row keeps the blind
    // index it was saved with, a rebuild no longer computes one. The copy in memory is read
    // again whole after the rebuild, and follows.
    let keyring = app.running.as_ref().unwrap().keyring.clone();
    keyring.shred(&l1).await.unwrap();
    let projection = projections::sales::SalesProjection::new(keyring);
    projections::rebuild::rebuild(app.db(), &projection, |_| {})
        .await
        .unwrap();
    let r = sales_now(&app, None, "&campaign=diwali%20sip").await;
    assert_eq!(pipeline(&r), vec![0, 0, 0], "{r}");
    let r = sales_now(&app, None, "").await;
    assert_eq!(pipeline(&r), vec![1, 1, 0]);

    // And what is written after the rebuild shows too.
    moved(&app, &l0, "qualified", None).await;
    let r = sales_now(&app, None, "").await;
    assert_eq!(pipeline(&r), vec![1, 0, 1]);
    assert_eq!(headline(&r, "leads_captured").0, json!(2.0));
}

async fn sales_report_counts_what_happened(store: Store) {
    let app = App::start(store).await;
    let rm_a = app.actor(Role::RelationshipManager, Some("MUM-01")).await;
    let rm_b = app.actor(Role::RelationshipManager, Some("DEL-01")).await;
    let manager = app.actor(Role::BranchManager, Some("MUM-01")).await;
    let (a, b) = (rm_a.id.to_string(), rm_b.id.to_string());

    // Eight leads, worked as below. Every number asserted further down is counted by hand from
    // this list.
    let l1 = captured(&app, 0, "campaign", Some("Diwali SIP"), Some(&a)).await;
    let l2 = captured(&app, 1, "campaign", Some("diwali   SIP"), Some(&a)).await;
    let l3 = captured(&app, 2, "website", None, Some(&a)).await;
    let l4 = captured(&app, 3, "referral", Some("Ravi Menon"), Some(&b)).await;
    let l5 = captured(&app, 4, "website", None, Some(&b)).await;
    let _l6 = captured(&app, 5, "partner", Some("Axis Partners"), None).await;
    let l7 = captured(&app, 6, "website", None, Some(&b)).await;
    let l8 = captured(&app, 7, "walk_in", None, Some(&a)).await;
    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    let all_captured = Utc::now();
    tokio::time::sleep(std::time::Duration::from_millis(20)).await;

    // L1: contacted, qualified, converted. L2 and L4: contacted, then lost for one reason
    // typed two ways. L5: a call logged (a response, still new). L7: contacted, qualified.
    // L8: contacted, a follow-up done before it was due. L3: a follow-up that falls overdue.
    for id in [&l1, &l2, &l4, &l7, &l8] {
        moved(&app, id, "contacted", None).await;
    }
    for id in [&l1, &l7] {
        moved(&app, id, "qualified", None).await;
    }
    let (s, v) = app
        .post(&format!("/api/leads/{l1}/convert"), json!({}))
        .await;
    assert_eq!(s, 200, "{v}");
    moved(&app, &l2, "lost", Some("Chose another broker")).await;
    moved(&app, &l4, "lost", Some("  chose ANOTHER  broker")).await;
    let (s, v) = app
        .post(
            &format!("/api/leads/{l5}/interactions"),
            json!({"kind": "call", "direction": "outbound", "summary": "introduced the SIP plans"}),
        )
        .await;
    assert_eq!(s, 201, "{v}");
    let (s, v) = app
        .post(
            &format!("/api/leads/{l8}/follow-ups"),
            json!({"due_at": Utc::now() + Duration::hours(1), "channel": "call"}),
        )
        .await;
    assert_eq!(s, 201, "{v}");
    let f8 = v["id"].as_str().unwrap().to_string();
    let (s, v) = app
        .post(
            &format!("/api/leads/{l8}/follow-ups/{f8}/complete"),
            json!({}),
        )
        .await;
    assert_eq!(s, 200, "{v}");
    let (s, v) = app
        .post(
            &format!("/api/leads/{l3}/follow-ups"),
            json!({"due_at": Utc::now() + Duration::seconds(2), "channel": "call"}),
        )
        .await;
    assert_eq!(s, 201, "{v}");
    tokio::time::sleep(std::time::Duration::from_millis(2500)).await;
    let p = app.log_head().await;

    let (s, r) = app
        .get(&format!("/api/reports/sales?min_position={p}"))
        .await;
    assert_eq!(s, 200, "{r}");
    assert!(r["position"].as_i64().unwrap() >= p, "{r}");
    assert_eq!(headline(&r, "leads_captured").0, json!(8.0));
    assert_eq!(headline(&r, "conversions").0, json!(1.0));
    assert_eq!(headline(&r, "conversion_rate").0, json!(0.125));
    assert_eq!(headline(&r, "leads_lost").0, json!(2.0));
    assert_eq!(headline(&r, "follow_ups_overdue").0, json!(1.0));
    assert!(headline(&r, "first_response_hours_median").0.is_f64());
    // Nothing happened in the month before.
    assert_eq!(headline(&r, "leads_captured").1, json!(0.0));
    assert_eq!(
        by(&r, "pipeline", "stage", "leads"),
        vec![
            ("new".into(), json!(3)),
            ("contacted".into(), json!(1)),
            ("qualified".into(), json!(1))
        ]
    );
    assert_eq!(
        by(&r, "funnel", "stage", "reached"),
        vec![
            ("new".into(), json!(8)),
            ("contacted".into(), json!(5)),
            ("qualified".into(), json!(2)),
            ("converted".into(), json!(1))
        ]
    );
    assert_eq!(
        by(&r, "funnel", "stage", "rate"),
        vec![
            ("new".into(), Value::Null),
            ("contacted".into(), json!(0.625)),
            ("qualified".into(), json!(0.4)),
            ("converted".into(), json!(0.5))
        ]
    );
    assert_eq!(
        by(&r, "stage_time", "stage", "stays"),
        vec![
            ("new".into(), json!(5)),
            ("contacted".into(), json!(4)),
            ("qualified".into(), json!(1))
        ]
    );
    // One reason, typed two ways, counted once with both leads.
    let reasons = r["lost_reasons"].as_array().unwrap();
    assert_eq!(reasons.len(), 1, "{r}");
    assert_eq!(reasons[0]["leads"], 2);
    let reason = reasons[0]["reason"].as_str().unwrap();
    assert_eq!(
        reason
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ")
            .to_lowercase(),
        "chose another broker"
    );
    // Sources: the campaign named two ways is one campaign; a referrer is never named.
    let sources = r["sources"].as_array().unwrap();
    let source =
        |name: &str| -> Vec<&Value> { sources.iter().filter(|s| s["source"] == name).collect() };
    assert_eq!(source("campaign").len(), 1, "{r}");
    assert_eq!(source("campaign")[0]["leads"], 2);
    assert_eq!(source("campaign")[0]["conversions"], 1);
    assert_eq!(source("campaign")[0]["conversion_rate"], 0.5);
    assert_eq!(
        source("campaign")[0]["campaign"]
            .as_str()
            .unwrap()
            .to_lowercase()
            .split_whitespace()
            .collect::<Vec<_>>(),
        ["diwali", "sip"]
    );
    assert_eq!(source("partner")[0]["campaign"], "Axis Partners");
    assert_eq!(source("referral")[0]["campaign"], Value::Null);
    assert_eq!(source("website")[0]["leads"], 3);
    assert_eq!(source("walk_in")[0]["leads"], 1);
    assert!(
        !r.to_string().contains("Ravi Menon"),
        "a referrer is a person: {r}"
    );
    // Agents.
    let ra = agent_row(&r, &a);
    assert_eq!(
        (
            &ra["leads"],
            &ra["conversions"],
            &ra["follow_ups_completed"],
            &ra["follow_ups_on_time"],
            &ra["follow_ups_overdue"]
        ),
        (&json!(4), &json!(1), &json!(1), &json!(1), &json!(1)),
        "{ra}"
    );
    assert_eq!(ra["branch"], "MUM-01");
    let rb = agent_row(&r, &b);
    assert_eq!(
        (&rb["leads"], &rb["conversions"], &rb["follow_ups_overdue"]),
        (&json!(3), &json!(0), &json!(0)),
        "{rb}"
    );
    assert!(rb["first_response_hours_median"].is_f64(), "{rb}");
    let unassigned = r["agents"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["agent_id"].is_null())
        .unwrap();
    assert_eq!(unassigned["leads"], 1, "{r}");

    // An agent sees their own numbers only; a branch manager the branch's and the unassigned.
    let (s, mine) = app.get_as(&rm_b, "/api/reports/sales").await;
    assert_eq!(s, 200, "{mine}");
    assert_eq!(headline(&mine, "leads_captured").0, json!(3.0));
    assert_eq!(headline(&mine, "leads_lost").0, json!(1.0));
    let ids: Vec<&Value> = mine["agents"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| &a["agent_id"])
        .collect();
    assert_eq!(ids, vec![&json!(b)], "{mine}");
    let (_, theirs) = app
        .get_as(&rm_b, &format!("/api/reports/sales?agent={a}"))
        .await;
    assert_eq!(
        headline(&theirs, "leads_captured").0,
        json!(0.0),
        "{theirs}"
    );
    let (_, branch) = app.get_as(&manager, "/api/reports/sales").await;
    assert_eq!(
        headline(&branch, "leads_captured").0,
        json!(5.0),
        "{branch}"
    );
    assert!(!branch.to_string().contains(&b), "{branch}");

    // Filters.
    for (query, leads) in [
        ("branch=del-01", 3.0),
        (&format!("agent={a}") as &str, 4.0),
        ("source=campaign", 2.0),
        ("campaign=%20DIWALI%20sip", 2.0),
        ("campaign=Axis%20Partners", 1.0),
    ] {
        let (s, v) = app.get(&format!("/api/reports/sales?{query}")).await;
        assert_eq!(s, 200, "{v}");
        assert_eq!(
            headline(&v, "leads_captured").0,
            json!(leads),
            "{query}: {v}"
        );
    }

    // A long period holding the same leads (read through other indexes, in another order)
    // counts them the same, for everyone and for an agent.
    let long_from = domain::kyc::india_today(Utc::now()) - Duration::days(120);
    let (s, long) = app
        .get(&format!("/api/reports/sales?from={long_from}"))
        .await;
    assert_eq!(s, 200, "{long}");
    for part in [
        "funnel",
        "stage_time",
        "lost_reasons",
        "sources",
        "agents",
        "pipeline",
    ] {
        assert_eq!(long[part], r[part], "{part}: {long}");
    }
    assert_eq!(headline(&long, "conversions").0, json!(1.0));
    assert_eq!(headline(&long, "follow_ups_overdue").0, json!(1.0));
    let (_, long_mine) = app
        .get_as(&rm_b, &format!("/api/reports/sales?from={long_from}"))
        .await;
    assert_eq!(long_mine["agents"], mine["agents"], "{long_mine}");

    // As it stood when all eight were captured and none yet worked.
    let then = all_captured.to_rfc3339_opts(SecondsFormat::Micros, true);
    let (s, v) = app
        .get(&format!(
            "/api/reports/sales?as_of={}",
            then.replace('+', "%2B")
        ))
        .await;
    assert_eq!(s, 200, "{v}");
    let (_, long_then) = app
        .get(&format!(
            "/api/reports/sales?from={long_from}&as_of={}",
            then.replace('+', "%2B")
        ))
        .await;
    assert_eq!(long_then["pipeline"], v["pipeline"], "{long_then}");
    assert_eq!(long_then["funnel"], v["funnel"], "{long_then}");
    assert_eq!(
        by(&v, "pipeline", "stage", "leads"),
        vec![
            ("new".into(), json!(8)),
            ("contacted".into(), json!(0)),
            ("qualified".into(), json!(0))
        ]
    );
    assert_eq!(headline(&v, "conversions").0, json!(0.0));
    assert_eq!(headline(&v, "follow_ups_overdue").0, json!(0.0));
    assert_eq!(v["lost_reasons"], json!([]));

    // Tomorrow's period: today is the period before.
    let tomorrow = domain::kyc::india_today(Utc::now()) + Duration::days(1);
    let (s, v) = app
        .get(&format!("/api/reports/sales?from={tomorrow}&to={tomorrow}"))
        .await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(headline(&v, "leads_captured"), (json!(0.0), json!(8.0)));
    assert_eq!(headline(&v, "conversions"), (json!(0.0), json!(1.0)));

    // The CSV says what the JSON says.
    let (s, text) = app
        .send(
            app.http
                .get(app.url("/api/reports/sales"))
                .header("accept", "text/csv"),
        )
        .await;
    assert_eq!(s, 200);
    let text = text.as_str().unwrap().to_string();
    let mut rows = csv::Reader::from_reader(text.as_bytes());
    let rows: Vec<Vec<String>> = rows
        .records()
        .map(|r| r.unwrap().iter().map(str::to_string).collect())
        .collect();
    let cell = |section: &str, key: &str, measure: &str| {
        rows.iter()
            .find(|r| r[0] == section && r[1] == key && r[2] == measure)
            .map(|r| r[3].clone())
            .unwrap_or_else(|| panic!("no {section},{key},{measure} in {text}"))
    };
    assert_eq!(cell("headline", "leads_captured", "current"), "8");
    assert_eq!(cell("headline", "conversion_rate", "current"), "0.125");
    assert_eq!(cell("funnel", "qualified", "reached"), "2");
    assert_eq!(cell("pipeline", "new", "leads"), "3");
    assert_eq!(cell("agents", &a, "leads"), "4");
    assert_eq!(cell("sources", "partner: Axis Partners", "leads"), "1");

    // Bad parameters change nothing and say what is wrong.
    let future = (Utc::now() + Duration::days(1)).to_rfc3339_opts(SecondsFormat::Secs, true);
    for (query, field) in [
        ("from=2026-11-10&to=2026-11-01", "to"),
        ("from=2020-01-01&to=2026-11-01", "to"),
        ("source=tv", "source"),
        (&format!("as_of={future}") as &str, "as_of"),
        ("as_of=%2B262142-12-31T00:00:00Z", "as_of"),
        ("as_of=1999-12-31T00:00:00Z", "as_of"),
        ("to=%2B262142-12-31", "to"),
    ] {
        let (s, v) = app.get(&format!("/api/reports/sales?{query}")).await;
        assert_eq!(s, 422, "{query}: {v}");
        assert_eq!(v["errors"][0]["field"], field, "{v}");
    }
    let (s, _) = app.get("/api/reports/sales?agent=someone").await;
    assert_eq!(s, 400);
    let (s, _) = app.get("/api/reports/sales?from=yesterday").await;
    assert_eq!(s, 400);
    assert_eq!(app.log_head().await, p, "reading a report writes nothing");
    for role in [Role::Auditor, Role::ComplianceOfficer] {
        let who = app.actor(role, None).await;
        let (s, v) = app.get_as(&who, "/api/reports/sales").await;
        assert_eq!(s, 403, "{v}");
    }
}

/// The widget `name` of a dashboard, which must be there.
fn widget<'a>(d: &'a Value, name: &str) -> &'a Value {
    assert!(d[name].is_object(), "no {name} in {d}");
    &d[name]
}

fn counts(w: &Value, list: &str) -> Vec<(String, i64)> {
    w[list]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["key"].as_str().unwrap().to_string(),
                c["count"].as_i64().unwrap(),
            )
        })
        .collect()
}

async fn each_role_gets_its_widgets(store: Store) {
    let app = App::start(store).await;
    let rm_a = app.actor(Role::RelationshipManager, Some("MUM-01")).await;
    let rm_b = app.actor(Role::RelationshipManager, Some("DEL-01")).await;
    let manager = app.actor(Role::BranchManager, Some("MUM-01")).await;
    let officer = app.actor(Role::ComplianceOfficer, None).await;
    let auditor = app.actor(Role::Auditor, None).await;
    let (a, b) = (rm_a.id.to_string(), rm_b.id.to_string());

    // rm_a: one lead new, one contacted, one converted, and a follow-up that falls overdue;
    // rm_b: one new lead. A client of rm_a's with verified KYC (a passport expiring in 45
    // days) holding 10 shares bought at 2,500.
    let a1 = captured(&app, 0, "website", None, Some(&a)).await;
    let a2 = captured(&app, 1, "website", None, Some(&a)).await;
    let a3 = captured(&app, 2, "website", None, Some(&a)).await;
    let _b1 = captured(&app, 3, "website", None, Some(&b)).await;
    moved(&app, &a2, "contacted", None).await;
    moved(&app, &a3, "contacted", None).await;
    moved(&app, &a3, "qualified", None).await;
    let (s, v) = app
        .post(&format!("/api/leads/{a3}/convert"), json!({}))
        .await;
    assert_eq!(s, 200, "{v}");
    let (s, v) = app
        .post(
            &format!("/api/leads/{a1}/follow-ups"),
            json!({"due_at": Utc::now() + Duration::seconds(2), "channel": "call"}),
        )
        .await;
    assert_eq!(s, 201, "{v}");
    let expiry = (domain::kyc::india_today(Utc::now()) + Duration::days(45)).to_string();
    let client = crate::kyc::verified_client(&app, &rm_a, &officer, "BKDPR4410J", &expiry).await;
    crate::investments::aggressive(&app, &rm_a, &client).await;
    let on = (domain::kyc::india_today(Utc::now()) - Duration::days(1)).to_string();
    let (s, v) = app
        .post_as(
            &rm_a,
            "/api/investments",
            crate::investments::trade(&client, "buy", "10", "2500", &on, "CN-1"),
        )
        .await;
    assert_eq!(s, 201, "{v}");
    tokio::time::sleep(std::time::Duration::from_millis(2500)).await;
    app.caught_up().await;
    let head = app.log_head().await;

    let (s, d) = app.get_as(&rm_a, "/api/dashboard").await;
    assert_eq!(s, 200, "{d}");
    assert_eq!(d["role"], "relationship_manager");
    let leads = widget(&d, "leads");
    assert_eq!(
        counts(leads, "by_status"),
        vec![
            ("new".into(), 1),
            ("contacted".into(), 1),
            ("qualified".into(), 0),
            ("converted".into(), 1),
            ("lost".into(), 0)
        ]
    );
    assert!(leads["position"].as_i64().unwrap() > 0);
    assert!(leads["position"].as_i64().unwrap() <= head);
    assert_eq!(widget(&d, "follow_ups")["overdue"], 1, "{d}");
    assert_eq!(widget(&d, "conversions")["this_month"], 1, "{d}");
    for absent in ["funnel", "agents", "aum", "kyc_queue", "health", "ledger"] {
        assert!(d[absent].is_null(), "an agent has no {absent}: {d}");
    }
    let (_, d) = app.get_as(&rm_b, "/api/dashboard").await;
    assert_eq!(
        counts(widget(&d, "leads"), "by_status")[0],
        ("new".into(), 1),
        "only their own lead: {d}"
    );
    assert_eq!(widget(&d, "conversions")["this_month"], 0);
    assert_eq!(widget(&d, "follow_ups")["overdue"], 0);

    // The branch manager: the branch's leads, funnel, agents and assets.
    let (_, d) = app.get_as(&manager, "/api/dashboard").await;
    let total: i64 = counts(widget(&d, "leads"), "by_status")
        .iter()
        .map(|c| c.1)
        .sum();
    assert_eq!(total, 3, "{d}");
    let steps = widget(&d, "funnel")["steps"].as_array().unwrap();
    assert_eq!(
        steps
            .iter()
            .map(|s| s["reached"].as_i64().unwrap())
            .collect::<Vec<_>>(),
        vec![3, 2, 1, 1],
        "{d}"
    );
    let agents = widget(&d, "agents")["agents"].as_array().unwrap();
    assert_eq!(agents.len(), 1, "{d}");
    assert_eq!(agents[0]["agent_id"], a.as_str());
    let aum = widget(&d, "aum");
    assert_eq!(
        (&aum["clients_with_holdings"], &aum["invested"]),
        (&json!(1), &json!("25000"))
    );
    assert!(d["kyc_queue"].is_null() && d["ledger"].is_null());

    // Compliance: the queue, expiries, alerts; no sales widgets.
    let (_, d) = app.get_as(&officer, "/api/dashboard").await;
    assert_eq!(
        counts(widget(&d, "kyc_queue"), "waiting"),
        vec![("submitted".into(), 0), ("under_review".into(), 0)]
    );
    assert_eq!(
        counts(widget(&d, "expiries"), "expiring"),
        vec![("30".into(), 0), ("60".into(), 1), ("90".into(), 1)],
        "{d}"
    );
    assert!(widget(&d, "alerts")["alerts"].is_i64());
    assert!(d["leads"].is_null() && d["health"].is_null());

    // The auditor: the ledger alone.
    let (_, d) = app.get_as(&auditor, "/api/dashboard").await;
    let ledger = widget(&d, "ledger");
    assert!(ledger["entries"].as_i64().unwrap() > 0, "{d}");
    assert!(ledger["position"].as_i64().unwrap() > 0);
    assert!(d["leads"].is_null() && d["kyc_queue"].is_null());

    // The admin: all of it, with each read model's lag.
    let (_, d) = app.get("/api/dashboard").await;
    for name in [
        "leads",
        "follow_ups",
        "conversions",
        "funnel",
        "agents",
        "aum",
        "kyc_queue",
        "expiries",
        "alerts",
        "health",
        "ledger",
    ] {
        widget(&d, name);
    }
    let health = widget(&d, "health");
    assert!(health["position"].as_i64().unwrap() >= head);
    let sales = health["projections"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "sales")
        .expect("the sales read model is listed");
    assert!(
        sales["lag"].is_i64() && sales["dead_letters"] == 0,
        "{sales}"
    );
}

async fn compliance_report_says_who_read_whom(store: Store) {
    let app = App::start(store).await;
    let rm = app.actor(Role::RelationshipManager, Some("MUM-01")).await;
    let officer = app.actor(Role::ComplianceOfficer, None).await;
    let id = rm.id.to_string();

    // A person: a lead of the RM's that became a client.
    let lead = captured(&app, 0, "website", None, Some(&id)).await;
    for status in ["contacted", "qualified"] {
        moved(&app, &lead, status, None).await;
    }
    let (s, v) = app
        .post(&format!("/api/leads/{lead}/convert"), json!({}))
        .await;
    assert_eq!(s, 200, "{v}");
    let client = v["client_id"].as_str().unwrap().to_string();
    let (s, v) = app
        .post(
            "/api/clients",
            crate::clients::new_client(Some(&lead), "QWXPZ9876K", &id),
        )
        .await;
    assert_eq!(s, 201, "{v}");
    // Another prospect asks to be erased (shredded at once), and the client is put on hold.
    let gone = captured(&app, 1, "website", None, None).await;
    let (s, v) = app
        .post(&format!("/api/privacy/subjects/{gone}/erasure"), json!({}))
        .await;
    assert_eq!(s, 200, "{v}");
    let (s, v) = app
        .post(
            &format!("/api/privacy/subjects/{client}/legal-hold"),
            json!({"reason": "exchange inquiry"}),
        )
        .await;
    assert_eq!(s, 200, "{v}");
    app.caught_up().await;
    let before = app.log_head().await;

    // Reads: the RM opens the lead twice, the officer opens the client once.
    for _ in 0..2 {
        let (s, v) = app.get_as(&rm, &format!("/api/leads/{lead}")).await;
        assert_eq!(s, 200, "{v}");
    }
    let (s, v) = app
        .get_as(&officer, &format!("/api/clients/{client}"))
        .await;
    assert_eq!(s, 200, "{v}");
    let p = app.log_head().await;
    assert_eq!(p - before, 3, "each read is recorded once");

    let (s, r) = app
        .get_as(
            &officer,
            &format!("/api/reports/compliance?subject={lead}&min_position={p}"),
        )
        .await;
    assert_eq!(s, 200, "{r}");
    let person = &r["person"];
    assert_eq!(person["total"], 3, "{person}");
    let mut records: Vec<&str> = person["records"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_str().unwrap())
        .collect();
    records.sort();
    let mut expected = vec![format!("client:{client}"), format!("lead:{lead}")];
    expected.sort();
    assert_eq!(records, expected, "the lead and the client are one person");
    let reads: Vec<(String, String, String)> = person["reads"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| {
            (
                x["role"].as_str().unwrap().to_string(),
                x["what"].as_str().unwrap().to_string(),
                x["record_kind"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(
        reads,
        vec![
            (
                "compliance_officer".into(),
                "profile".into(),
                "client".into()
            ),
            (
                "relationship_manager".into(),
                "profile".into(),
                "lead".into()
            ),
            (
                "relationship_manager".into(),
                "profile".into(),
                "lead".into()
            ),
        ],
        "newest first"
    );
    assert_eq!(person["reads"][1]["name"], "Test User");
    // The same person asked by the client's id.
    let (_, by_client) = app
        .get_as(
            &officer,
            &format!("/api/reports/compliance?subject={client}"),
        )
        .await;
    assert_eq!(by_client["person"]["total"], 3);

    assert_eq!(headline(&r, "pii_reads").0, json!(3.0));
    assert_eq!(headline(&r, "pii_readers").0, json!(2.0));
    assert_eq!(
        headline(&r, "people_read").0,
        json!(2.0),
        "two records read"
    );
    assert_eq!(headline(&r, "erasure_requests").0, json!(1.0));
    assert_eq!(headline(&r, "erasures_done").0, json!(1.0));
    assert_eq!(headline(&r, "legal_holds_placed").0, json!(1.0));
    let readers = r["readers"].as_array().unwrap();
    assert_eq!(readers[0]["actor_id"], id.as_str(), "{r}");
    assert_eq!(
        (&readers[0]["reads"], &readers[0]["people"]),
        (&json!(2), &json!(1))
    );
    assert_eq!(readers[0]["branch"], "MUM-01");
    let holds = r["legal_holds"].as_array().unwrap();
    assert_eq!(holds.len(), 1, "{r}");
    assert_eq!(
        (&holds[0]["record_kind"], &holds[0]["record_id"]),
        (&json!("client"), &json!(client))
    );
    assert!(r["ledger"]["entries"].as_i64().unwrap() > 0);
    assert_eq!(
        r["kyc"]["without_case"], 1,
        "the new client has no KYC case: {r}"
    );

    // Tomorrow's period: today is the period before.
    let tomorrow = domain::kyc::india_today(Utc::now()) + Duration::days(1);
    let (_, next) = app
        .get_as(
            &officer,
            &format!("/api/reports/compliance?from={tomorrow}&to={tomorrow}"),
        )
        .await;
    assert_eq!(headline(&next, "pii_reads"), (json!(0.0), json!(3.0)));

    // CSV.
    let (s, text) = app
        .send(
            officer
                .http
                .get(app.url(&format!("/api/reports/compliance?subject={lead}")))
                .header("accept", "text/csv"),
        )
        .await;
    assert_eq!(s, 200);
    let text = text.as_str().unwrap().to_string();
    assert!(text.starts_with("section,key,measure,value"), "{text}");
    assert!(text.contains("headline,pii_reads,current,3"), "{text}");
    assert!(
        text.contains(&format!("legal_holds,{client},client,")),
        "{text}"
    );

    // Who may ask, and bad parameters.
    let (s, _) = app.get_as(&rm, "/api/reports/compliance").await;
    assert_eq!(s, 403);
    let (s, v) = app
        .get_as(
            &officer,
            &format!("/api/reports/compliance?subject={}", uuid::Uuid::new_v4()),
        )
        .await;
    assert_eq!(
        (s, &v["errors"][0]["field"]),
        (422, &json!("subject")),
        "{v}"
    );
    let (s, _) = app
        .get_as(
            &officer,
            "/api/reports/compliance?from=2026-11-10&to=2026-11-01",
        )
        .await;
    assert_eq!(s, 422);
}

/// A client of `rm`'s in `branch`, born in `born`, with what they declared (if anything).
async fn onboarded(
    app: &App,
    n: u32,
    rm: &str,
    branch: &str,
    born: i32,
    declared: Option<(&str, &str, &str, &str)>,
) -> String {
    let mut body = json!({
        "name": format!("Client {}", ["Asha", "Bhanu", "Chetan"][n as usize]),
        "email": format!("client{n}@example.in"),
        "phone": format!("+91 98450 1000{n}"),
        "pan": format!("ABCPK100{n}Q"),
        "date_of_birth": format!("{born}-03-10"),
        "address": "somewhere",
        "branch": branch,
        "relationship_manager": rm,
    });
    if let Some((city, state, occupation, income)) = declared {
        body["details"] = json!({
            "addresses": [{"kind": "permanent", "line1": "1 Main Road", "city": city,
                           "state": state, "pin": if state == "karnataka" { "560001" } else { "411001" }}],
            "occupation": occupation,
            "annual_income": income,
        });
    }
    let (s, v) = app.post("/api/clients", body).await;
    assert_eq!(s, 201, "{v}");
    v["id"].as_str().unwrap().to_string()
}

async fn client_report_counts_who_the_clients_are(store: Store) {
    let app = App::start(store).await;
    let rm_a = app.actor(Role::RelationshipManager, Some("MUM-01")).await;
    let rm_b = app.actor(Role::RelationshipManager, Some("DEL-01")).await;
    let manager = app.actor(Role::BranchManager, Some("DEL-01")).await;
    let officer = app.actor(Role::ComplianceOfficer, None).await;
    let (a, b) = (rm_a.id.to_string(), rm_b.id.to_string());
    let year = domain::kyc::india_today(Utc::now()).year();

    // Four clients: aged about 47 (Pune, business), 31 (Mumbai typed "  mumbai ", salaried),
    // 66 (Bengaluru, nothing more declared, in Delhi's branch) and a verified one born in
    // 1975 who bought three times today.
    let asha = onboarded(
        &app,
        0,
        &a,
        "MUM-01",
        year - 47,
        Some(("Pune", "maharashtra", "business", "above_25_lakh")),
    )
    .await;
    onboarded(
        &app,
        1,
        &a,
        "MUM-01",
        year - 31,
        Some(("  mumbai ", "maharashtra", "salaried", "10_to_25_lakh")),
    )
    .await;
    onboarded(
        &app,
        2,
        &b,
        "DEL-01",
        year - 66,
        Some(("Bengaluru", "karnataka", "retired", "1_to_5_lakh")),
    )
    .await;
    let trader =
        crate::kyc::verified_client(&app, &rm_a, &officer, "BKDPR4410J", "2034-01-01").await;
    crate::investments::aggressive(&app, &rm_a, &trader).await;
    let today = domain::kyc::india_today(Utc::now()).to_string();
    for n in 0..3 {
        let (s, v) = app
            .post_as(
                &rm_a,
                "/api/investments",
                crate::investments::trade(&trader, "buy", "10", "2500", &today, &format!("CN-{n}")),
            )
            .await;
        assert_eq!(s, 201, "{v}");
    }
    app.caught_up().await;

    let (s, r) = app.get("/api/reports/clients").await;
    assert_eq!(s, 200, "{r}");
    let list = |name: &str| -> Vec<(String, i64)> {
        r[name]
            .as_array()
            .unwrap_or_else(|| panic!("no {name} in {r}"))
            .iter()
            .map(|c| {
                (
                    c["key"].as_str().unwrap().to_string(),
                    c["count"].as_i64().unwrap(),
                )
            })
            .collect()
    };
    let pairs = |v: &[(&str, i64)]| -> Vec<(String, i64)> {
        v.iter().map(|(k, n)| (k.to_string(), *n)).collect()
    };
    assert_eq!(r["clients"], 4);
    assert_eq!(
        list("by_age_band"),
        pairs(&[
            ("below_25", 0),
            ("25-34", 1),
            ("35-44", 0),
            ("45-59", 2),
            ("60+", 1),
            ("unknown", 0)
        ])
    );
    assert_eq!(
        list("by_state"),
        pairs(&[("maharashtra", 2), ("karnataka", 1), ("unknown", 1)])
    );
    assert_eq!(
        list("by_city"),
        pairs(&[("Bengaluru", 1), ("Mumbai", 1), ("Pune", 1), ("unknown", 1)])
    );
    assert_eq!(
        list("by_occupation"),
        pairs(&[
            ("business", 1),
            ("retired", 1),
            ("salaried", 1),
            ("unknown", 1)
        ])
    );
    assert_eq!(
        list("by_status"),
        pairs(&[("active", 4), ("inactive", 0), ("suspended", 0)])
    );
    assert_eq!(
        list("trading_frequency"),
        pairs(&[("0", 3), ("1-2", 0), ("3-10", 1), ("11+", 0)])
    );
    assert_eq!(list("days_since_activity")[0], ("0-30".to_string(), 4));
    assert_eq!(headline(&r, "clients_onboarded"), (json!(4.0), json!(0.0)));
    assert_eq!(headline(&r, "trades").0, json!(3.0));
    assert_eq!(headline(&r, "traders").0, json!(1.0));
    assert_eq!(r["investments"]["invested"], "75000", "{r}");

    // Scoped: an RM's own clients; a branch manager's branch; the branch filter.
    let frequency = |r: &Value| -> Vec<i64> {
        r["trading_frequency"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["count"].as_i64().unwrap())
            .collect()
    };
    let (_, mine) = app.get_as(&rm_a, "/api/reports/clients").await;
    assert_eq!(mine["clients"], 3, "{mine}");
    assert_eq!(frequency(&mine), [2, 0, 1, 0], "{mine}");
    assert_eq!(headline(&mine, "traders").0, json!(1.0));
    let (_, theirs) = app.get_as(&manager, "/api/reports/clients").await;
    assert_eq!(theirs["clients"], 1, "{theirs}");
    assert_eq!(frequency(&theirs), [1, 0, 0, 0], "{theirs}");
    assert_eq!(headline(&theirs, "trades").0, json!(0.0));
    assert_eq!(theirs["by_city"][0]["key"], "Bengaluru");
    assert_eq!(theirs["investments"]["invested"], "0");
    let (_, del) = app.get("/api/reports/clients?branch=del-01").await;
    assert_eq!(del["clients"], 1);

    // CSV.
    let (s, text) = app
        .send(
            app.http
                .get(app.url("/api/reports/clients"))
                .header("accept", "text/csv"),
        )
        .await;
    assert_eq!(s, 200);
    let text = text.as_str().unwrap();
    assert!(text.contains("by_age_band,45-59,clients,2"), "{text}");
    assert!(text.contains("investments,invested,inr,75000"), "{text}");

    // Closed: out of every distribution at once, still onboarded this period.
    let (s, v) = app
        .post(
            &format!("/api/clients/{asha}/status"),
            json!({"status": "closed", "reason": "moved abroad"}),
        )
        .await;
    assert_eq!(s, 200, "{v}");
    app.caught_up().await;
    let (_, r) = app.get("/api/reports/clients").await;
    assert_eq!(r["clients"], 3, "{r}");
    let cities: Vec<&str> = r["by_city"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["key"].as_str().unwrap())
        .collect();
    assert!(!cities.contains(&"Pune"), "{r}");
    assert_eq!(r["by_status"][0], json!({"key": "active", "count": 3}));
    assert_eq!(headline(&r, "clients_onboarded"), (json!(4.0), json!(0.0)));
    // The trader closed too: no longer among the open accounts' frequencies, but their
    // trades were made and still count.
    let (s, v) = app
        .post(
            &format!("/api/clients/{trader}/status"),
            json!({"status": "closed", "reason": "moved abroad"}),
        )
        .await;
    assert_eq!(s, 200, "{v}");
    app.caught_up().await;
    let (_, r) = app.get("/api/reports/clients").await;
    assert_eq!(r["clients"], 2, "{r}");
    assert_eq!(frequency(&r), [2, 0, 0, 0], "{r}");
    assert_eq!(headline(&r, "trades").0, json!(3.0));
    assert_eq!(headline(&r, "traders").0, json!(1.0));

    let (s, _) = app
        .get("/api/reports/clients?from=2026-11-10&to=2026-11-01")
        .await;
    assert_eq!(s, 422);
    let auditor = app.actor(Role::Auditor, None).await;
    let (s, _) = app.get_as(&auditor, "/api/reports/clients").await;
    assert_eq!(s, 403);
}

/// `crm seed --demo` on a fresh store: a year of leads, clients, KYC and trades that every
/// report and dashboard shows.
async fn the_demo_year_fills_every_report(store: Store) {
    let fresh = crate::support::Fresh::new(store).await;
    let mut cmd = tokio::process::Command::new(env!("CARGO_BIN_EXE_crm"));
    cmd.args(["seed", "--demo", "--demo-leads", "150"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    fresh.env(&mut cmd);
    let out = cmd.output().await.expect("run crm seed --demo");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    if store == Store::Postgres {
        assert!(
            !out.status.success() && text.contains("only runs on the embedded"),
            "{text}"
        );
        let _ = std::fs::remove_dir_all(&fresh.data_dir);
        return;
    }
    assert!(out.status.success(), "{text}");
    assert!(
        text.contains("created 150 leads over the last 12 months"),
        "{text}"
    );
    let app = App::start_with(fresh, |_| {}).await;
    app.caught_up().await;
    let admin = crate::support::login(&app.base, "admin@demo.broker", "demo-admin-pass-1").await;
    let year_ago = domain::kyc::india_today(Utc::now()) - Duration::days(364);
    // Some of the demo's people agreed to marketing: a campaign has an audience.
    for channel in ["email", "sms"] {
        let (s, a) = app
            .get_as(
                &admin,
                &format!("/api/marketing/audience?channel={channel}"),
            )
            .await;
        assert_eq!(s, 200, "{a}");
        assert!(a["items"].as_array().unwrap().len() >= 10, "{channel}: {a}");
    }

    let (s, r) = app
        .get_as(&admin, &format!("/api/reports/sales?from={year_ago}"))
        .await;
    assert_eq!(s, 200, "{r}");
    let captured = headline(&r, "leads_captured").0.as_f64().unwrap();
    assert!(captured >= 150.0, "{r}");
    assert!(
        headline(&r, "conversions").0.as_f64().unwrap() > 10.0,
        "{r}"
    );
    assert!(headline(&r, "leads_lost").0.as_f64().unwrap() > 10.0, "{r}");
    assert!(!r["lost_reasons"].as_array().unwrap().is_empty());
    let campaigns = r["sources"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["campaign"].is_string())
        .count();
    assert!(campaigns >= 3, "named campaigns and partners: {r}");
    let agents = r["agents"].as_array().unwrap();
    assert!(agents.len() >= 10, "{r}");
    // Captures spread over the months, not all today.
    let (_, month) = app.get_as(&admin, "/api/reports/sales").await;
    assert!(headline(&month, "leads_captured").0.as_f64().unwrap() < captured / 2.0);

    let (_, k) = app.get_as(&admin, "/api/reports/kyc").await;
    let states: Vec<&str> = k["by_status"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["count"].as_i64().unwrap() > 0)
        .map(|c| c["key"].as_str().unwrap())
        .collect();
    for state in ["pending", "verified"] {
        assert!(states.contains(&state), "{state}: {k}");
    }
    assert!(states.len() >= 4, "KYC in many states: {k}");
    let (_, c) = app.get_as(&admin, "/api/reports/clients").await;
    assert!(c["clients"].as_i64().unwrap() > 20, "{c}");
    assert!(c["by_city"].as_array().unwrap().len() >= 5, "{c}");
    assert_ne!(
        c["investments"]["aum"], "0",
        "portfolios of NSE symbols: {c}"
    );
    let (_, d) = app.get_as(&admin, "/api/dashboard").await;
    for w in ["leads", "funnel", "agents", "aum", "kyc_queue", "ledger"] {
        widget(&d, w);
    }
}

async fn a_monthly_compliance_pack_is_written_listed_and_recorded(store: Store) {
    let app = App::start(store).await;
    let officer = app.actor(Role::ComplianceOfficer, None).await;
    let auditor = app.actor(Role::Auditor, None).await;
    let rm = app.actor(Role::RelationshipManager, Some("MUM-01")).await;
    let id = rm.id.to_string();
    let lead = captured(&app, 0, "campaign", Some("Diwali SIP"), Some(&id)).await;
    moved(&app, &lead, "contacted", None).await;
    let p = app.log_head().await;
    let (s, _) = app
        .get_as(&rm, &format!("/api/leads/{lead}?min_position={p}"))
        .await;
    assert_eq!(s, 200);
    app.caught_up().await;
    let month = domain::kyc::india_today(Utc::now())
        .format("%Y-%m")
        .to_string();

    let (s, pack) = app
        .post_as(&officer, "/api/reports/packs", json!({"month": month}))
        .await;
    assert_eq!(s, 201, "{pack}");
    let names: Vec<&str> = pack["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["name"].as_str().unwrap())
        .collect();
    let pdf_name = format!("compliance-{month}.pdf");
    assert_eq!(
        names,
        vec![
            "clients.csv",
            pdf_name.as_str(),
            "compliance.csv",
            "sales.csv"
        ]
    );

    // Listed; each file downloads as listed (size and digest).
    let (s, list) = app.get_as(&auditor, "/api/reports/packs").await;
    assert_eq!(s, 200, "{list}");
    assert_eq!(list["items"][0]["month"], month.as_str());
    assert_eq!(
        list["items"][0]["files"].as_array().unwrap().len(),
        2,
        "an auditor is shown the PDF and the compliance CSV: {list}"
    );
    let (_, list) = app.get_as(&officer, "/api/reports/packs").await;
    for f in list["items"][0]["files"].as_array().unwrap() {
        // The sales and client tables are for compliance; auditors read the rest.
        let tables = f["name"] == "sales.csv" || f["name"] == "clients.csv";
        if tables {
            let (s, _) = app.get_as(&auditor, f["href"].as_str().unwrap()).await;
            assert_eq!(s, 403, "{f}");
        }
        let who = if tables { &officer } else { &auditor };
        let r = who
            .http
            .get(app.url(f["href"].as_str().unwrap()))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        let bytes = r.bytes().await.unwrap();
        assert_eq!(bytes.len() as u64, f["bytes"].as_u64().unwrap());
        use sha2::Digest;
        assert_eq!(
            hex::encode(sha2::Sha256::digest(&bytes)),
            f["sha256"].as_str().unwrap()
        );
        if f["name"] == pdf_name.as_str() {
            // The PDF opens, with its four pages and what they show.
            let doc = lopdf::Document::load_mem(&bytes).expect("a PDF");
            assert_eq!(doc.get_pages().len(), 4);
            let text = doc.extract_text(&[1, 2, 3, 4]).unwrap();
            for words in [
                format!("Compliance pack {month}"),
                "Audit ledger".into(),
                "KYC".into(),
                "Sales funnel".into(),
                "Reads of personal data".into(),
                "Test User".into(),
                "page 4 of 4".into(),
            ] {
                assert!(text.contains(&words), "{words} in {text}");
            }
        }
        if f["name"] == "sales.csv" {
            let text = String::from_utf8(bytes.to_vec()).unwrap();
            assert!(text.contains("headline,leads_captured,current,1"), "{text}");
            // Counts only: no campaign or partner name typed about people leaves the store.
            assert!(text.contains("sources,campaign,leads,1"), "{text}");
            assert!(!text.contains("Diwali"), "{text}");
        }
    }

    // Each generation is an event in the audit trail, by whoever asked.
    app.caught_up().await;
    let (_, h) = app
        .get_as(&auditor, "/api/history?event_type=CompliancePackGenerated")
        .await;
    assert_eq!(h["total"], 1, "{h}");
    assert_eq!(h["items"][0]["actor_id"], officer.id.as_str());
    // On demand from the command line too: the same month again, recorded again.
    let out = crate::support::crm(&app, &["report", "compliance", "--month", &month], &[]).await;
    assert!(out.contains("compliance pack"), "{out}");
    app.caught_up().await;
    let (_, h) = app
        .get_as(&auditor, "/api/history?event_type=CompliancePackGenerated")
        .await;
    assert_eq!(h["total"], 2, "{h}");

    // Who may, and bad input.
    let (s, _) = app
        .post_as(&auditor, "/api/reports/packs", json!({"month": month}))
        .await;
    assert_eq!(s, 403);
    let (s, _) = app.get_as(&rm, "/api/reports/packs").await;
    assert_eq!(s, 403);
    let next_year = (domain::kyc::india_today(Utc::now()).year() + 1).to_string() + "-01";
    for bad in ["2026-13", "november", next_year.as_str()] {
        let (s, v) = app
            .post_as(&officer, "/api/reports/packs", json!({"month": bad}))
            .await;
        assert_eq!(
            (s, &v["errors"][0]["field"]),
            (422, &json!("month")),
            "{bad}: {v}"
        );
    }
    let (s, _) = app
        .post_as(
            &officer,
            "/api/reports/packs",
            json!({"month": month, "pages": 9}),
        )
        .await;
    assert_eq!(s, 400);
    for path in [
        format!("/api/reports/packs/{month}/secret.txt"),
        format!("/api/reports/packs/{month}/nothing.pdf"),
        "/api/reports/packs/1999-01/sales.csv".to_string(),
        format!("/api/reports/packs/{month}/..%2Fcrm.db"),
    ] {
        let (s, _) = app.get_as(&auditor, &path).await;
        assert_eq!(s, 404, "{path}");
    }
}
