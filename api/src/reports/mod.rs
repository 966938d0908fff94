//! Reports for compliance and management, from the read models, as JSON for the web client or
//! as CSV (`Accept: text/csv`) for a spreadsheet.

pub mod clients;
pub mod compliance;
pub mod investments;
pub mod kyc;
pub mod pack;
pub mod pdf;
pub mod sales;

pub use kyc::KycReportOut;

use chrono::{DateTime, NaiveDate, Utc};
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

/// A report's period: Indian days `from` to `to`, both included, and the period before it, as
/// long. Dates are bounded (2000 to a year ahead) so that no arithmetic on them can overflow.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Period {
    pub from: NaiveDate,
    pub to: NaiveDate,
}

/// The longest period a report spans, in days.
pub const MAX_DAYS: i64 = 731;

impl Period {
    /// The period asked for: `to` defaults to `today`, `from` to the first of `to`'s month.
    /// Field errors name what is wrong.
    pub fn of(
        from: Option<NaiveDate>,
        to: Option<NaiveDate>,
        today: NaiveDate,
    ) -> Result<Self, Vec<crate::problem::FieldError>> {
        use chrono::Datelike;
        let earliest = NaiveDate::from_ymd_opt(2000, 1, 1).expect("a day");
        let latest = today + chrono::Duration::days(366);
        let mut wrong = Vec::new();
        for (field, day) in [("from", from), ("to", to)] {
            if day.is_some_and(|d| d < earliest || d > latest) {
                wrong.push(crate::problem::FieldError::new(
                    field,
                    format!("a day from {earliest} to {latest}"),
                ));
            }
        }
        if !wrong.is_empty() {
            return Err(wrong);
        }
        let given_to = to.is_some();
        let to = to.unwrap_or(today);
        let from = from.unwrap_or_else(|| to.with_day(1).expect("the first of a month"));
        if to < from {
            // Name the day that was given: `to` when both were, else the one asked for.
            wrong.push(if given_to {
                crate::problem::FieldError::new("to", "must not be before from")
            } else {
                crate::problem::FieldError::new(
                    "from",
                    format!("must not be after to (today, {to}, when not given)"),
                )
            });
        } else if (to - from).num_days() >= MAX_DAYS {
            wrong.push(crate::problem::FieldError::new(
                "to",
                format!("the period spans at most {MAX_DAYS} days"),
            ));
        }
        if wrong.is_empty() {
            Ok(Self { from, to })
        } else {
            Err(wrong)
        }
    }

    /// Its length in days.
    pub fn days(self) -> i64 {
        (self.to - self.from).num_days() + 1
    }

    /// The period before, as long.
    pub fn previous(self) -> Self {
        Self {
            from: self.from - chrono::Duration::days(self.days()),
            to: self.from - chrono::Duration::days(1),
        }
    }

    /// Its instants, `[start, end)`, the end no later than `now`.
    pub fn window(self, now: DateTime<Utc>) -> (DateTime<Utc>, DateTime<Utc>) {
        (
            sales::india_midnight(self.from),
            sales::india_midnight(self.to + chrono::Duration::days(1)).min(now),
        )
    }
}

/// A headline number: this period, the one before, and the change.
pub(crate) fn headline(key: &str, current: i64, previous: i64) -> sales::HeadlineNumber {
    sales::HeadlineNumber {
        key: key.into(),
        current: Some(current as f64),
        previous: Some(previous as f64),
        change: Some((current - previous) as f64),
    }
}

/// A report that can be written as CSV for a spreadsheet.
pub(crate) trait CsvReport {
    fn csv(&self) -> Result<String, csv::Error>;
}

/// A report's answer: JSON, or CSV when the request accepts `text/csv`.
macro_rules! report_answer {
    ($body:ident, $response:ident, $out:ty) => {
        // Answered once per request: not worth boxing.
        #[allow(clippy::large_enum_variant)]
        #[derive(ResponseContent)]
        pub enum $body {
            Json(Json<$out>),
            #[oai(content_type = "text/csv; charset=utf-8")]
            Csv(PlainText<String>),
        }

        #[derive(ApiResponse)]
        pub enum $response {
            /// The report: JSON, or CSV when the request accepts `text/csv`.
            #[oai(status = 200)]
            Ok($body),
        }

        impl $response {
            fn of(req: &Request, out: $out) -> Result<Self, ApiError> {
                Ok(Self::Ok(if wants_csv(req) {
                    $body::Csv(PlainText(out.csv().map_err(ApiError::internal)?))
                } else {
                    $body::Json(Json(out))
                }))
            }
        }
    };
}

report_answer!(KycReportBody, KycReportResponse, KycReportOut);
report_answer!(
    InvestmentReportBody,
    InvestmentReportResponse,
    investments::InvestmentReportOut
);
report_answer!(SalesReportBody, SalesReportResponse, sales::SalesReportOut);
report_answer!(
    ComplianceReportBody,
    ComplianceReportResponse,
    compliance::ComplianceReportOut
);
report_answer!(
    ClientReportBody,
    ClientReportResponse,
    clients::ClientReportOut
);

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
                sections: projections::sales::report::Sections::Whole,
            },
        )
        .await?;
        Ok(SalesReportResponse::of(req, out)?)
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
        Ok(ClientReportResponse::of(req, out)?)
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
        /// Only the clients of this branch (the KYC numbers) and the staff of this branch (the
        /// readers); the other sections cover the whole broker.
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
        Ok(ComplianceReportResponse::of(req, out)?)
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
        Ok(KycReportResponse::of(req, out)?)
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
        Ok(InvestmentReportResponse::of(req, out)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).expect("a day")
    }

    #[test]
    fn a_period_defaults_to_this_month_and_names_the_wrong_day() {
        let today = day(2026, 12, 2);
        let p = Period::of(None, None, today).expect("this month");
        assert_eq!((p.from, p.to), (day(2026, 12, 1), today));
        assert_eq!(p.previous().to, day(2026, 11, 30));
        let fields = |r: Result<Period, Vec<crate::problem::FieldError>>| -> Vec<String> {
            r.expect_err("refused")
                .into_iter()
                .map(|e| e.field)
                .collect()
        };
        // A `from` after today, with no `to`: the `from` is what is wrong.
        assert_eq!(
            fields(Period::of(Some(day(2027, 1, 1)), None, today)),
            ["from"]
        );
        assert_eq!(
            fields(Period::of(
                Some(day(2026, 6, 2)),
                Some(day(2026, 6, 1)),
                today
            )),
            ["to"]
        );
        assert_eq!(
            fields(Period::of(Some(day(1999, 1, 1)), None, today)),
            ["from"]
        );
        // A period may end after today (this month asked for whole).
        let p = Period::of(Some(day(2026, 12, 1)), Some(day(2026, 12, 31)), today).unwrap();
        assert_eq!((p.from, p.to), (day(2026, 12, 1), day(2026, 12, 31)));
    }
}
