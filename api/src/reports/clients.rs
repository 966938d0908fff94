//! The client report: who the clients are, how they invest and trade, how long since they were
//! active; over the clients the caller may see.

use chrono::{DateTime, NaiveDate, Utc};
use poem_openapi::Object;

use super::investments::InvestmentReportOut;
use super::sales::HeadlineNumber;
use super::{Count, LongCsv, ReportsApi};
use crate::auth::Principal;
use crate::problem::ApiError;

/// The client report.
#[derive(Debug, Clone, Object)]
#[oai(example)]
pub struct ClientReportOut {
    pub generated_at: DateTime<Utc>,
    /// The log position the clients read model had applied.
    pub position: i64,
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub previous_from: NaiveDate,
    pub previous_to: NaiveDate,
    /// clients_onboarded, trades, traders: this period and the one before.
    pub headline: Vec<HeadlineNumber>,
    /// Open accounts counted (not closed or erased).
    pub clients: i64,
    /// Age bands: below_25, 25-34, 35-44, 45-59, 60+, unknown.
    pub by_age_band: Vec<Count>,
    /// States of the permanent address (else the first).
    pub by_state: Vec<Count>,
    /// The 20 cities with the most clients.
    pub by_city: Vec<Count>,
    pub by_occupation: Vec<Count>,
    /// Declared annual income bands.
    pub by_income: Vec<Count>,
    pub by_segment: Vec<Count>,
    /// active, inactive (dormant), suspended.
    pub by_status: Vec<Count>,
    /// Clients by trades in the period: 0, 1-2, 3-10, 11+.
    pub trading_frequency: Vec<Count>,
    /// Clients by days since their last activity or trade: 0-30, 31-90, 91-180, 181-365, 366+.
    pub days_since_activity: Vec<Count>,
    /// Investment patterns: assets by segment, branch and manager, product mix, top holdings
    /// (trade volumes over the same period).
    pub investments: InvestmentReportOut,
}

impl poem_openapi::types::Example for ClientReportOut {
    fn example() -> Self {
        let c = |k: &str, n| Count {
            key: k.into(),
            count: n,
        };
        let day = |m, d| NaiveDate::from_ymd_opt(2026, m, d).expect("a day");
        Self {
            generated_at: DateTime::parse_from_rfc3339("2026-11-30T18:00:00Z")
                .expect("a time")
                .with_timezone(&Utc),
            position: 48213,
            from: day(11, 1),
            to: day(11, 30),
            previous_from: day(10, 2),
            previous_to: day(10, 31),
            headline: vec![HeadlineNumber {
                key: "clients_onboarded".into(),
                current: Some(41.0),
                previous: Some(36.0),
                change: Some(5.0),
            }],
            clients: 512,
            by_age_band: vec![c("25-34", 140), c("35-44", 181)],
            by_state: vec![c("maharashtra", 230), c("karnataka", 96)],
            by_city: vec![c("Mumbai", 160), c("Pune", 70)],
            by_occupation: vec![c("salaried", 301), c("business", 120)],
            by_income: vec![c("10_to_25_lakh", 190)],
            by_segment: vec![c("retail", 400), c("affluent", 90), c("hni", 20)],
            by_status: vec![c("active", 470), c("inactive", 40), c("suspended", 2)],
            trading_frequency: vec![c("0", 200), c("1-2", 150), c("3-10", 130), c("11+", 32)],
            days_since_activity: vec![c("0-30", 300), c("31-90", 120)],
            investments: <InvestmentReportOut as poem_openapi::types::Example>::example(),
        }
    }
}

fn counts(t: projections::clients::report::Tally) -> Vec<Count> {
    t.into_iter()
        .map(|(key, count)| Count { key, count })
        .collect()
}

impl ReportsApi {
    pub(super) async fn clients_report(
        &self,
        principal: &Principal,
        branch: Option<String>,
        from: Option<NaiveDate>,
        to: Option<NaiveDate>,
    ) -> Result<ClientReportOut, ApiError> {
        let now = Utc::now();
        let today = domain::kyc::india_today(now);
        let period = super::Period::of(from, to, today).map_err(ApiError::validation)?;
        let previous = period.previous();
        let scope = crate::policy::client_scope(principal);
        let branch = branch.map(|b| b.trim().to_ascii_uppercase());
        let db = &self.state.db;
        let position = self
            .state
            .progress
            .current(projections::clients::NAME)
            .map(|c| c.position)
            .unwrap_or(0);
        let days = |p: super::Period| {
            let (start, end) = p.window(now);
            projections::clients::report::Days {
                from: p.from,
                to: p.to,
                start,
                end,
            }
        };
        // The distributions and the investments at once.
        let (now_r, investments) = futures::try_join!(
            async {
                projections::clients::report::client_report(
                    db,
                    &scope,
                    branch.as_deref(),
                    (days(period), days(previous)),
                    today,
                )
                .await
                .map_err(ApiError::internal)
            },
            self.investments_report(
                principal,
                branch.clone(),
                Some(period.from),
                Some(period.to),
            ),
        )?;
        let h = super::headline;
        let headline = vec![
            h("clients_onboarded", now_r.onboarded.0, now_r.onboarded.1),
            h("trades", now_r.trades.0, now_r.trades.1),
            h("traders", now_r.traders.0, now_r.traders.1),
        ];
        Ok(ClientReportOut {
            generated_at: now,
            position,
            from: period.from,
            to: period.to,
            previous_from: previous.from,
            previous_to: previous.to,
            headline,
            clients: now_r.clients,
            by_age_band: counts(now_r.by_age_band),
            by_state: counts(now_r.by_state),
            by_city: counts(now_r.by_city),
            by_occupation: counts(now_r.by_occupation),
            by_income: counts(now_r.by_income),
            by_segment: counts(now_r.by_segment),
            by_status: counts(now_r.by_status),
            trading_frequency: counts(now_r.trading_frequency),
            days_since_activity: counts(now_r.days_since_activity),
            investments,
        })
    }
}

impl super::CsvReport for ClientReportOut {
    /// The report as CSV (`section,key,measure,value`); investments under `investments.*`.
    fn csv(&self) -> Result<String, csv::Error> {
        let mut out = LongCsv::default();
        out.row("report", "period", "from", self.from.to_string());
        out.row("report", "period", "to", self.to.to_string());
        out.row("report", "clients", "count", self.clients.to_string());
        for h in &self.headline {
            out.row("headline", &h.key, "current", super::num(h.current));
            out.row("headline", &h.key, "previous", super::num(h.previous));
        }
        for (section, list) in [
            ("by_age_band", &self.by_age_band),
            ("by_state", &self.by_state),
            ("by_city", &self.by_city),
            ("by_occupation", &self.by_occupation),
            ("by_income", &self.by_income),
            ("by_segment", &self.by_segment),
            ("by_status", &self.by_status),
            ("trading_frequency", &self.trading_frequency),
            ("days_since_activity", &self.days_since_activity),
        ] {
            for Count { key, count } in list {
                out.row(section, key, "clients", count.to_string());
            }
        }
        let i = &self.investments;
        out.row("investments", "aum", "inr", i.aum.clone());
        out.row("investments", "invested", "inr", i.invested.clone());
        for (section, list) in [
            ("investments.by_segment", &i.by_segment),
            ("investments.by_branch", &i.by_branch),
            (
                "investments.by_relationship_manager",
                &i.by_relationship_manager,
            ),
            ("investments.product_mix", &i.product_mix),
        ] {
            for a in list {
                out.row(section, &a.key, "value", a.value.clone());
                out.row(section, &a.key, "clients", a.clients.to_string());
            }
        }
        for t in &i.top_holdings {
            out.row(
                "investments.top_holdings",
                &t.symbol,
                "market_value",
                t.market_value.clone(),
            );
        }
        out.finish()
    }
}
