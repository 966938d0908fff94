//! Reports for compliance and management, from the read models, as JSON for the web client or
//! as CSV (`Accept: text/csv`) for a spreadsheet.

pub mod clients;
pub mod compliance;
pub mod investments;
pub mod sales;

use chrono::{DateTime, Datelike, NaiveDate, Utc};
use poem::Request;
use poem_openapi::param::Query;
use poem_openapi::payload::{Json, PlainText};
use poem_openapi::{ApiResponse, Object, OpenApi, ResponseContent, Tags};

use crate::auth::Auth;
use crate::http::State;
use crate::policy::{self, Action};
use crate::problem::{ApiError, ReadError};

#[derive(Tags)]
pub enum ReportTags {
    /// Reports: sales, clients, compliance, KYC, investments.
    Reports,
}

/// One count of a report.
#[derive(Debug, Clone, Object)]
pub struct Count {
    pub key: String,
    pub count: i64,
}

fn counts<K: ToString>(items: &[(K, i64)]) -> Vec<Count> {
    items
        .iter()
        .map(|(k, n)| Count {
            key: k.to_string(),
            count: *n,
        })
        .collect()
}

/// Where KYC stands across the clients (of one branch, when asked).
#[derive(Debug, Clone, Object)]
#[oai(example)]
pub struct KycReportOut {
    pub as_of: DateTime<Utc>,
    /// Clients by the state of their case in hand.
    pub by_status: Vec<Count>,
    /// Active clients without any KYC case.
    pub without_case: i64,
    /// Cases waiting for a decision, by days waited (`0-2`, `3-7`, `8-30`, `31+`).
    pub review_ageing: Vec<Count>,
    /// Hours from submission to approval (median and 90th percentile) of verified cases.
    pub approval_hours_median: Option<f64>,
    pub approval_hours_p90: Option<f64>,
    /// Documents rejected in the cases in hand, by document type.
    pub rejected_documents: Vec<Count>,
    /// Reasons given for rejections and revision requests, most frequent first.
    pub rejection_reasons: Vec<Count>,
    /// Documents of verified cases expiring within 30, 60 and 90 days (keys `30`, `60`, `90`).
    pub expiring_documents: Vec<Count>,
    /// KYC past its re-KYC date.
    pub rekyc_overdue: i64,
    /// Clients who may not trade, by why: `no_kyc_case`, `kyc_not_verified`, `rekyc_due`.
    pub trading_blocked: Vec<Count>,
}

impl From<projections::kyc::report::KycReport> for KycReportOut {
    fn from(r: projections::kyc::report::KycReport) -> Self {
        Self {
            as_of: r.as_of,
            by_status: counts(&r.by_status),
            without_case: r.without_case,
            review_ageing: counts(&r.review_ageing),
            approval_hours_median: r.approval_hours_median,
            approval_hours_p90: r.approval_hours_p90,
            rejected_documents: counts(&r.rejected_documents),
            rejection_reasons: counts(&r.rejection_reasons),
            expiring_documents: counts(&r.expiring),
            rekyc_overdue: r.rekyc_overdue,
            trading_blocked: counts(&r.trading_blocked),
        }
    }
}

impl poem_openapi::types::Example for KycReportOut {
    fn example() -> Self {
        let c = |k: &str, n| Count {
            key: k.into(),
            count: n,
        };
        Self {
            as_of: DateTime::parse_from_rfc3339("2026-12-01T09:30:00Z")
                .expect("a valid time")
                .with_timezone(&Utc),
            by_status: vec![c("pending", 4), c("submitted", 2), c("verified", 31)],
            without_case: 3,
            review_ageing: vec![c("0-2", 1), c("3-7", 1), c("8-30", 0), c("31+", 0)],
            approval_hours_median: Some(26.5),
            approval_hours_p90: Some(70.0),
            rejected_documents: vec![c("photograph", 2)],
            rejection_reasons: vec![c("face not visible", 2)],
            expiring_documents: vec![c("30", 1), c("60", 2), c("90", 4)],
            rekyc_overdue: 0,
            trading_blocked: vec![
                c("no_kyc_case", 3),
                c("kyc_not_verified", 6),
                c("rekyc_due", 0),
            ],
        }
    }
}

impl KycReportOut {
    /// The report as CSV: one `section,key,count` row per number.
    fn csv(&self) -> Result<String, csv::Error> {
        let mut w = csv::Writer::from_writer(Vec::new());
        w.write_record(["section", "key", "count"])?;
        let one = |w: &mut csv::Writer<Vec<u8>>, section: &str, key: &str, n: String| {
            w.write_record([section, key, n.as_str()])
        };
        for (section, list) in [
            ("by_status", &self.by_status),
            ("review_ageing", &self.review_ageing),
            ("rejected_documents", &self.rejected_documents),
            ("rejection_reasons", &self.rejection_reasons),
            ("expiring_documents", &self.expiring_documents),
            ("trading_blocked", &self.trading_blocked),
        ] {
            for c in list {
                one(
                    &mut w,
                    section,
                    &crate::spreadsheet::safe(&c.key),
                    c.count.to_string(),
                )?;
            }
        }
        one(&mut w, "without_case", "", self.without_case.to_string())?;
        one(&mut w, "rekyc_overdue", "", self.rekyc_overdue.to_string())?;
        let hours = |h: Option<f64>| h.map(|h| format!("{h:.1}")).unwrap_or_default();
        one(
            &mut w,
            "approval_hours",
            "median",
            hours(self.approval_hours_median),
        )?;
        one(
            &mut w,
            "approval_hours",
            "p90",
            hours(self.approval_hours_p90),
        )?;
        let bytes = w.into_inner().map_err(|e| e.into_error())?;
        Ok(String::from_utf8(bytes).expect("CSV of UTF-8 text"))
    }
}

#[derive(ResponseContent)]
pub enum KycReportBody {
    Json(Json<KycReportOut>),
    #[oai(content_type = "text/csv; charset=utf-8")]
    Csv(PlainText<String>),
}

#[derive(ApiResponse)]
pub enum KycReportResponse {
    /// The report: JSON, or CSV when the request accepts `text/csv`.
    #[oai(status = 200)]
    Ok(KycReportBody),
}

/// A report as CSV, one number per row: `section,key,measure,value` (keys made safe for a
/// spreadsheet).
#[derive(Default)]
pub(crate) struct LongCsv {
    rows: Vec<[String; 4]>,
}

impl LongCsv {
    pub(crate) fn row(&mut self, section: &str, key: &str, measure: &str, value: String) {
        self.rows.push([
            section.into(),
            crate::spreadsheet::safe(key).into_owned(),
            measure.into(),
            value,
        ]);
    }

    pub(crate) fn finish(self) -> Result<String, csv::Error> {
        let mut w = csv::Writer::from_writer(Vec::new());
        w.write_record(["section", "key", "measure", "value"])?;
        for r in self.rows {
            w.write_record(&r)?;
        }
        let bytes = w.into_inner().map_err(|e| e.into_error())?;
        Ok(String::from_utf8(bytes).expect("CSV of UTF-8 text"))
    }
}

/// A ratio or an amount of hours for a CSV cell: at most four decimals; empty when there is none.
pub(crate) fn num(v: Option<f64>) -> String {
    v.map(|v| format!("{}", (v * 10_000.0).round() / 10_000.0))
        .unwrap_or_default()
}

/// Whether the caller asked for CSV.
fn wants_csv(req: &Request) -> bool {
    req.headers()
        .get("accept")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|a| a.contains("text/csv"))
}

// Answered once per request: not worth boxing.
#[allow(clippy::large_enum_variant)]
#[derive(ResponseContent)]
pub enum InvestmentReportBody {
    Json(Json<investments::InvestmentReportOut>),
    #[oai(content_type = "text/csv; charset=utf-8")]
    Csv(PlainText<String>),
}

#[derive(ApiResponse)]
pub enum InvestmentReportResponse {
    /// The report: JSON, or CSV when the request accepts `text/csv`.
    #[oai(status = 200)]
    Ok(InvestmentReportBody),
}

// Answered once per request: not worth boxing.
#[allow(clippy::large_enum_variant)]
#[derive(ResponseContent)]
pub enum SalesReportBody {
    Json(Json<sales::SalesReportOut>),
    #[oai(content_type = "text/csv; charset=utf-8")]
    Csv(PlainText<String>),
}

#[derive(ApiResponse)]
pub enum SalesReportResponse {
    /// The report: JSON, or CSV when the request accepts `text/csv`.
    #[oai(status = 200)]
    Ok(SalesReportBody),
}

// Answered once per request: not worth boxing.
#[allow(clippy::large_enum_variant)]
#[derive(ResponseContent)]
pub enum ComplianceReportBody {
    Json(Json<compliance::ComplianceReportOut>),
    #[oai(content_type = "text/csv; charset=utf-8")]
    Csv(PlainText<String>),
}

#[derive(ApiResponse)]
pub enum ComplianceReportResponse {
    /// The report: JSON, or CSV when the request accepts `text/csv`.
    #[oai(status = 200)]
    Ok(ComplianceReportBody),
}

// Answered once per request: not worth boxing.
#[allow(clippy::large_enum_variant)]
#[derive(ResponseContent)]
pub enum ClientReportBody {
    Json(Json<clients::ClientReportOut>),
    #[oai(content_type = "text/csv; charset=utf-8")]
    Csv(PlainText<String>),
}

#[derive(ApiResponse)]
pub enum ClientReportResponse {
    /// The report: JSON, or CSV when the request accepts `text/csv`.
    #[oai(status = 200)]
    Ok(ClientReportBody),
}

pub struct ReportsApi {
    pub state: State,
}

#[OpenApi]
impl ReportsApi {
    /// Sales report
    ///
    /// Over the leads the caller may see (an agent: their own; a branch manager: the
    /// branch's): open leads by stage at the report's moment; the funnel of the leads captured
    /// in the period (reached each stage, and the rate from the step before); how long stays
    /// in each stage lasted (median, p90, hours); lost reasons; sources and campaigns with
    /// their conversions and the assets their clients hold (at cost); and the agents' table
    /// (leads, first-response time, follow-ups completed, on time and overdue, conversions).
    /// Headline numbers come beside the period before, as long. The period is in Indian days
    /// (`from`, `to`, both included; default this month); `as_of` answers as the report stood
    /// then. JSON, or CSV (`section,key,measure,value`) with `Accept: text/csv`.
    #[oai(
        path = "/api/reports/sales",
        method = "get",
        tag = "ReportTags::Reports",
        operation_id = "getSalesReport"
    )]
    #[allow(clippy::too_many_arguments)]
    async fn sales(
        &self,
        req: &Request,
        auth: Auth,
        /// The period's first day (default: the first of `to`'s month).
        from: Query<Option<NaiveDate>>,
        /// The period's last day (default: today, or the day of `as_of`).
        to: Query<Option<NaiveDate>>,
        /// Answer as the report stood at this moment (RFC 3339).
        as_of: Query<Option<DateTime<Utc>>>,
        /// Only the leads held by the staff of this branch.
        branch: Query<Option<String>>,
        /// Only the leads this agent holds.
        agent: Query<Option<uuid::Uuid>>,
        /// Only leads from this source (website, referral, campaign, walk_in, partner, import,
        /// other).
        source: Query<Option<String>>,
        /// Only the leads of this campaign or partner (case and spacing aside).
        campaign: Query<Option<String>>,
        /// Wait until the sales read model has applied this log position.
        min_position: Query<Option<i64>>,
    ) -> Result<SalesReportResponse, ReadError> {
        policy::require(&auth.0, Action::SalesReport)?;
        crate::http::wait_for_in(
            &self.state,
            projections::sales::NAME,
            crate::http::min_position(min_position.0, req)?,
        )
        .await?;
        let out = sales::report(
            &self.state,
            &auth.0,
            sales::SalesAsk {
                from: from.0,
                to: to.0,
                as_of: as_of.0,
                branch: branch.0,
                agent: agent.0,
                source: source.0,
                campaign: campaign.0,
            },
        )
        .await?;
        Ok(SalesReportResponse::Ok(if wants_csv(req) {
            SalesReportBody::Csv(PlainText(out.csv().map_err(ApiError::internal)?))
        } else {
            SalesReportBody::Json(Json(out))
        }))
    }

    /// Client report
    ///
    /// Over the clients the caller may see (a relationship manager: their own; a branch
    /// manager: the branch's): open accounts by age band, state, city (top 20), occupation,
    /// income band, segment and status; trading frequency in the period; days since the last
    /// activity or trade (dormancy); and the investment patterns (assets by segment, branch and
    /// manager, product mix, top holdings, trade volumes). Onboarding and trades come beside
    /// the period before, as long. The period is in Indian days (`from`, `to`, both included;
    /// default this month). JSON, or CSV (`section,key,measure,value`) with `Accept: text/csv`.
    #[oai(
        path = "/api/reports/clients",
        method = "get",
        tag = "ReportTags::Reports",
        operation_id = "getClientReport"
    )]
    async fn clients(
        &self,
        req: &Request,
        auth: Auth,
        /// The period's first day (default: the first of `to`'s month).
        from: Query<Option<NaiveDate>>,
        /// The period's last day (default: today).
        to: Query<Option<NaiveDate>>,
        /// Only the clients of this branch.
        branch: Query<Option<String>>,
        /// Wait until the clients read model has applied this log position.
        min_position: Query<Option<i64>>,
    ) -> Result<ClientReportResponse, ReadError> {
        policy::require(&auth.0, Action::PortfolioRead)?;
        crate::http::wait_for_in(
            &self.state,
            projections::clients::NAME,
            crate::http::min_position(min_position.0, req)?,
        )
        .await?;
        let out = self.clients_report(&auth.0, branch.0, from.0, to.0).await?;
        Ok(ClientReportResponse::Ok(if wants_csv(req) {
            ClientReportBody::Csv(PlainText(out.csv().map_err(ApiError::internal)?))
        } else {
            ClientReportBody::Json(Json(out))
        }))
    }

    /// Compliance report
    ///
    /// For compliance officers and admins: the KYC report's numbers; reads of personal data
    /// in the period by staff member (who read the most people first) and, with `subject`,
    /// every read of that person's data (their lead and client records as one person) with
    /// who read it, in which role, and what was shown; erasure requests waiting; legal holds
    /// in force; and the audit ledger (entries, how far behind the log, the newest signed
    /// checkpoint). Headline numbers come beside the period before, as long. The period is
    /// in Indian days (`from`, `to`, both included; default this month). JSON, or CSV
    /// (`section,key,measure,value`) with `Accept: text/csv`.
    #[oai(
        path = "/api/reports/compliance",
        method = "get",
        tag = "ReportTags::Reports",
        operation_id = "getComplianceReport"
    )]
    #[allow(clippy::too_many_arguments)]
    async fn compliance(
        &self,
        req: &Request,
        auth: Auth,
        /// The period's first day (default: the first of `to`'s month).
        from: Query<Option<NaiveDate>>,
        /// The period's last day (default: today).
        to: Query<Option<NaiveDate>>,
        /// Only the clients of this branch (KYC) and the staff of this branch (readers).
        branch: Query<Option<String>>,
        /// A lead or client: list every read of this person's data.
        subject: Query<Option<uuid::Uuid>>,
        /// Wait until the history read model has applied this log position.
        min_position: Query<Option<i64>>,
    ) -> Result<ComplianceReportResponse, ReadError> {
        policy::require(&auth.0, Action::ComplianceReport)?;
        crate::http::wait_for_in(
            &self.state,
            projections::history::NAME,
            crate::http::min_position(min_position.0, req)?,
        )
        .await?;
        let out = compliance::report(
            &self.state,
            compliance::ComplianceAsk {
                from: from.0,
                to: to.0,
                branch: branch.0,
                subject: subject.0,
            },
        )
        .await?;
        Ok(ComplianceReportResponse::Ok(if wants_csv(req) {
            ComplianceReportBody::Csv(PlainText(out.csv().map_err(ApiError::internal)?))
        } else {
            ComplianceReportBody::Json(Json(out))
        }))
    }

    /// KYC report
    ///
    /// Counts by state, review ageing, approval turnaround (median, p90), rejected documents
    /// and rejection reasons, documents expiring within 30/60/90 days, overdue re-KYC, and
    /// the clients blocked from trading and why. For compliance officers and admins. JSON, or
    /// CSV with `Accept: text/csv`.
    #[oai(
        path = "/api/reports/kyc",
        method = "get",
        tag = "ReportTags::Reports",
        operation_id = "getKycReport"
    )]
    async fn kyc(
        &self,
        req: &Request,
        auth: Auth,
        /// Only the clients of this branch.
        branch: Query<Option<String>>,
    ) -> Result<KycReportResponse, ReadError> {
        policy::require(&auth.0, Action::KycDecide)?;
        let branch = branch.0.map(|b| b.trim().to_ascii_uppercase());
        let report = projections::kyc::report::kyc_report(
            &self.state.db,
            &self.state.keyring,
            branch.as_deref(),
            Utc::now(),
        )
        .await
        .map_err(ApiError::internal)?;
        let out = KycReportOut::from(report);
        Ok(KycReportResponse::Ok(if wants_csv(req) {
            KycReportBody::Csv(PlainText(out.csv().map_err(ApiError::internal)?))
        } else {
            KycReportBody::Json(Json(out))
        }))
    }

    /// Investments report
    ///
    /// Assets under management (current prices; at cost where an instrument has none) by
    /// segment (retail below 10 lakh, affluent below 1 crore, hni below 5 crore, ultra_hni),
    /// by branch and by relationship manager; the product mix; the top 10 holdings; and the
    /// trade volumes of the period (`from`, `to`; default this financial year) by side and
    /// asset class. Over the clients the caller may see. JSON, or CSV with `Accept: text/csv`.
    #[oai(
        path = "/api/reports/investments",
        method = "get",
        tag = "ReportTags::Reports",
        operation_id = "getInvestmentReport"
    )]
    async fn investments(
        &self,
        req: &Request,
        auth: Auth,
        /// Only the clients of this branch.
        branch: Query<Option<String>>,
        /// Trade volumes from this day.
        from: Query<Option<NaiveDate>>,
        /// Trade volumes up to this day.
        to: Query<Option<NaiveDate>>,
    ) -> Result<InvestmentReportResponse, ReadError> {
        policy::require(&auth.0, Action::PortfolioRead)?;
        let out = self
            .investments_report(&auth.0, branch.0, from.0, to.0)
            .await?;
        Ok(InvestmentReportResponse::Ok(if wants_csv(req) {
            InvestmentReportBody::Csv(PlainText(out.csv().map_err(ApiError::internal)?))
        } else {
            InvestmentReportBody::Json(Json(out))
        }))
    }
}

impl ReportsApi {
    async fn investments_report(
        &self,
        principal: &crate::auth::Principal,
        branch: Option<String>,
        from: Option<NaiveDate>,
        to: Option<NaiveDate>,
    ) -> Result<investments::InvestmentReportOut, ApiError> {
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
        let portfolios = projections::investments::query::portfolios_in(
            &self.state.db,
            &scope,
            branch.as_deref(),
        )
        .await
        .map_err(ApiError::internal)?;
        let held: std::collections::BTreeSet<domain::values::Isin> = portfolios
            .iter()
            .flat_map(|p| p.summary.holdings.values())
            .filter(|h| !h.quantity.is_zero())
            .map(|h| h.isin.clone())
            .collect();
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
        Ok(investments::build(
            today,
            &portfolios,
            &prices,
            (from, to, volumes),
            &self.state.write.clients.services().segments,
        ))
    }
}
