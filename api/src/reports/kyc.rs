//! The KYC report as the web client and a spreadsheet read it.

use chrono::{DateTime, Utc};
use poem_openapi::Object;

use super::{counts, Count, CsvReport};

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

impl CsvReport for KycReportOut {
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
