//! The monthly compliance pack: a PDF (KYC, the sales funnel, reads of personal data, privacy
//! requests, the audit ledger, with charts) and the CSVs of the sales, client and compliance
//! reports, kept under `<data dir>/reports/<YYYY-MM>/`. Each generation is recorded as a
//! `CompliancePackGenerated` event naming every file with its size and sha256.

use std::path::{Path, PathBuf};

use chrono::{DateTime, Duration, NaiveDate, Utc};
use domain::report_pack::{PackFile, PackMonth, ReportPackCommand};
use domain::user::Role;
use poem_openapi::Object;
use sha2::{Digest, Sha256};
use store::EventMetadata;
use uuid::Uuid;

use super::pdf::{document, Page};
use super::sales::{india_midnight, SalesAsk, SalesReportOut};
use super::{compliance, CsvReport, ReportsApi};
use crate::auth::Principal;
use crate::http::State;
use crate::problem::ApiError;

/// A file of a pack as listed.
#[derive(Debug, Clone, Object)]
pub struct PackFileOut {
    pub name: String,
    pub bytes: u64,
    pub sha256: String,
    /// Where to fetch it (signed in, with the same rights).
    pub href: String,
}

/// A month's pack.
#[derive(Debug, Clone, Object)]
#[oai(example)]
pub struct PackOut {
    /// `YYYY-MM`.
    pub month: String,
    pub generated_at: Option<DateTime<Utc>>,
    pub files: Vec<PackFileOut>,
}

impl poem_openapi::types::Example for PackOut {
    fn example() -> Self {
        Self {
            month: "2026-11".into(),
            generated_at: Some(
                DateTime::parse_from_rfc3339("2026-12-01T01:30:00Z")
                    .expect("a time")
                    .with_timezone(&Utc),
            ),
            files: vec![PackFileOut {
                name: "compliance-2026-11.pdf".into(),
                bytes: 14_382,
                sha256: "9f2c".repeat(16),
                href: "/api/reports/packs/2026-11/compliance-2026-11.pdf".into(),
            }],
        }
    }
}

/// The packs listed, newest month first.
#[derive(Debug, Clone, Object)]
pub struct PackList {
    pub items: Vec<PackOut>,
}

/// Where a month's pack lives.
fn folder(root: &Path, month: PackMonth) -> PathBuf {
    root.join(month.to_string())
}

/// A pack file's name, if it is one of a pack's (no paths, nothing else).
pub fn file_name_ok(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 64
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.')
        && !name.starts_with('.')
        && (name.ends_with(".pdf") || name.ends_with(".csv"))
}

/// The pack of `month` as it is on disk (`None`: never generated).
pub fn listed(root: &Path, month: PackMonth) -> Option<PackOut> {
    let dir = folder(root, month);
    let mut files = Vec::new();
    let mut newest: Option<DateTime<Utc>> = None;
    for entry in std::fs::read_dir(&dir).ok()?.flatten() {
        let name = entry.file_name().to_string_lossy().to_string();
        if !file_name_ok(&name) {
            continue;
        }
        let bytes = std::fs::read(entry.path()).ok()?;
        if let Ok(modified) = entry.metadata().and_then(|m| m.modified()) {
            let at: DateTime<Utc> = modified.into();
            newest = Some(newest.map_or(at, |n| n.max(at)));
        }
        files.push(PackFileOut {
            href: format!("/api/reports/packs/{month}/{name}"),
            name,
            bytes: bytes.len() as u64,
            sha256: hex::encode(Sha256::digest(&bytes)),
        });
    }
    files.sort_by(|a, b| a.name.cmp(&b.name));
    Some(PackOut {
        month: month.to_string(),
        generated_at: newest,
        files,
    })
}

/// Every pack on disk, newest month first.
pub fn list(root: &Path) -> Vec<PackOut> {
    let today = domain::kyc::india_today(Utc::now());
    let mut months: Vec<PackMonth> = std::fs::read_dir(root)
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| PackMonth::parse(&e.file_name().to_string_lossy(), today).ok())
        .collect();
    months.sort();
    months.reverse();
    months.into_iter().filter_map(|m| listed(root, m)).collect()
}

/// Whom a scheduled generation is recorded as.
fn system_principal() -> Principal {
    Principal {
        user_id: Uuid::nil(),
        role: Role::Admin,
        branch: None,
        must_change_password: false,
        family: Uuid::nil(),
    }
}

/// Says how many rows a table left out (they are in the CSV).
fn more(page: &mut Page, all: usize, shown: usize) {
    if all > shown {
        page.line(&format!("... and {} more (see the CSV)", all - shown));
    }
}

fn hours(v: Option<f64>) -> String {
    v.map(|h| format!("{h:.1} h")).unwrap_or_else(|| "-".into())
}

fn pdf(
    month: PackMonth,
    sales: &SalesReportOut,
    c: &compliance::ComplianceReportOut,
) -> Result<Vec<u8>, String> {
    let title = format!("Compliance pack {month}");
    let now = Utc::now().format("%Y-%m-%d %H:%M UTC");
    let mut cover = Page::new(&title);
    cover.line(&format!("Period: {} to {} (Indian days)", c.from, c.to));
    cover.line(&format!(
        "Generated {now}; the numbers are as of log position {}",
        c.position
    ));
    cover.heading("Audit ledger");
    let l = &c.ledger;
    cover.line(&format!(
        "Entries: {}   Not yet folded in: {}",
        l.entries, l.behind
    ));
    cover.line(&format!(
        "Newest signed checkpoint: {} at {}",
        l.last_checkpoint_seq
            .map(|s| s.to_string())
            .unwrap_or_else(|| "none".into()),
        l.last_checkpoint_at.clone().unwrap_or_else(|| "-".into())
    ));
    cover.heading("This month and the month before");
    let num = |v: Option<f64>| v.map(|v| format!("{v}")).unwrap_or_else(|| "-".into());
    let rows: Vec<Vec<String>> = c
        .headline
        .iter()
        .chain(&sales.headline)
        .map(|h| vec![h.key.replace('_', " "), num(h.current), num(h.previous)])
        .collect();
    cover.table(
        &[0.0, 240.0, 340.0],
        &["measure", "this period", "period before"],
        &rows,
    );
    cover.heading("Privacy requests");
    cover.line(&format!(
        "Erasures waiting (restricted): {} lead record(s), {} client record(s)",
        c.erasures.waiting_leads, c.erasures.waiting_clients
    ));
    cover.line(&format!("Legal holds in force: {}", c.legal_holds.len()));

    let mut kyc = Page::new("KYC");
    kyc.heading("Clients by the state of their case");
    let states: Vec<(String, f64)> = c
        .kyc
        .by_status
        .iter()
        .map(|s| (s.key.clone(), s.count as f64))
        .collect();
    kyc.bars(&states);
    kyc.line(&format!(
        "Active clients without a KYC case: {}",
        c.kyc.without_case
    ));
    kyc.heading("Cases waiting for a decision, by days waited");
    let ageing: Vec<(String, f64)> = c
        .kyc
        .review_ageing
        .iter()
        .map(|s| (format!("{} days", s.key), s.count as f64))
        .collect();
    kyc.bars(&ageing);
    kyc.line(&format!(
        "Approval turnaround: median {}, 90th percentile {}",
        hours(c.kyc.approval_hours_median),
        hours(c.kyc.approval_hours_p90)
    ));
    kyc.heading("Documents of verified cases expiring within");
    let expiring: Vec<Vec<String>> = c
        .kyc
        .expiring_documents
        .iter()
        .map(|e| vec![format!("{} days", e.key), e.count.to_string()])
        .collect();
    kyc.table(&[0.0, 200.0], &["within", "documents"], &expiring);
    kyc.line(&format!("Re-KYC overdue: {}", c.kyc.rekyc_overdue));
    kyc.heading("Clients who may not trade");
    let blocked: Vec<Vec<String>> = c
        .kyc
        .trading_blocked
        .iter()
        .map(|b| vec![b.key.replace('_', " "), b.count.to_string()])
        .collect();
    kyc.table(&[0.0, 200.0], &["why", "clients"], &blocked);

    let mut funnel = Page::new("Sales funnel");
    funnel.heading("Leads captured in the month: how far they got");
    let steps: Vec<(String, f64)> = sales
        .funnel
        .iter()
        .map(|f| (f.stage.clone(), f.reached as f64))
        .collect();
    funnel.bars(&steps);
    funnel.heading("Open leads by stage at the month's end");
    let open: Vec<(String, f64)> = sales
        .pipeline
        .iter()
        .map(|p| (p.stage.clone(), p.leads as f64))
        .collect();
    funnel.bars(&open);
    funnel.heading("Sources and campaigns");
    let sources: Vec<Vec<String>> = sales
        .sources
        .iter()
        .take(12)
        .map(|s| {
            vec![
                s.campaign
                    .clone()
                    .map(|c| format!("{}: {c}", s.source))
                    .unwrap_or_else(|| s.source.clone()),
                s.leads.to_string(),
                s.conversions.to_string(),
            ]
        })
        .collect();
    funnel.table(
        &[0.0, 280.0, 360.0],
        &["source", "leads", "converted"],
        &sources,
    );
    funnel.heading("Lost reasons");
    let reasons: Vec<(String, f64)> = sales
        .lost_reasons
        .iter()
        .take(8)
        .map(|r| (r.reason.chars().take(28).collect(), r.leads as f64))
        .collect();
    funnel.bars(&reasons);

    let mut access = Page::new("Reads of personal data");
    access.heading("Staff who read the most people's data this month");
    let readers: Vec<(String, f64)> = c
        .readers
        .iter()
        .take(15)
        .map(|r| {
            (
                r.name
                    .clone()
                    .unwrap_or_else(|| r.actor_id.chars().take(8).collect()),
                r.people as f64,
            )
        })
        .collect();
    access.bars(&readers);
    let rows: Vec<Vec<String>> = c
        .readers
        .iter()
        .take(25)
        .map(|r| {
            vec![
                r.name.clone().unwrap_or_else(|| r.actor_id.clone()),
                r.role.replace('_', " "),
                r.branch.clone().unwrap_or_default(),
                r.reads.to_string(),
                r.people.to_string(),
            ]
        })
        .collect();
    access.table(
        &[0.0, 150.0, 290.0, 360.0, 420.0],
        &["staff member", "role", "branch", "reads", "people"],
        &rows,
    );
    access.heading("Legal holds in force");
    let holds: Vec<Vec<String>> = c
        .legal_holds
        .iter()
        .take(20)
        .map(|h| {
            vec![
                h.record_kind.clone(),
                h.record_id.clone(),
                h.since.format("%Y-%m-%d").to_string(),
            ]
        })
        .collect();
    access.table(&[0.0, 60.0, 320.0], &["record", "id", "since"], &holds);
    more(&mut access, c.legal_holds.len(), 20);
    document(&title, vec![cover, kyc, funnel, access])
}

/// Sources without their campaign or partner names: one row per source.
fn by_source(rows: Vec<super::sales::SourceResults>) -> Vec<super::sales::SourceResults> {
    let mut out: Vec<super::sales::SourceResults> = Vec::new();
    for r in rows {
        match out.iter_mut().find(|o| o.source == r.source) {
            Some(o) => {
                o.leads += r.leads;
                o.conversions += r.conversions;
                let sum = o
                    .aum_brought
                    .parse::<rust_decimal::Decimal>()
                    .unwrap_or_default()
                    + r.aum_brought
                        .parse::<rust_decimal::Decimal>()
                        .unwrap_or_default();
                o.aum_brought = sum.normalize().to_string();
            }
            None => out.push(super::sales::SourceResults {
                campaign: None,
                ..r
            }),
        }
    }
    for o in &mut out {
        o.conversion_rate = (o.leads > 0).then(|| o.conversions as f64 / o.leads as f64);
    }
    out.sort_by(|a, b| b.leads.cmp(&a.leads).then(a.source.cmp(&b.source)));
    out
}

/// Generates `month`'s pack under `root` and records it; answers the pack as listed.
pub async fn generate(
    state: &State,
    root: &Path,
    month: PackMonth,
    meta: &EventMetadata,
) -> Result<PackOut, ApiError> {
    let now = Utc::now();
    let (from, to) = (month.first_day(), month.last_day());
    let end = india_midnight(to + Duration::days(1)).min(now);
    let principal = system_principal();
    let sales = super::sales::report(
        state,
        &principal,
        SalesAsk {
            from: Some(from),
            to: Some(to),
            as_of: Some(end),
            branch: None,
            agent: None,
            source: None,
            campaign: None,
            sections: projections::sales::report::Sections::Whole,
        },
    )
    .await?;
    let compliance = compliance::report(
        state,
        compliance::ComplianceAsk {
            from: Some(from),
            to: Some(to),
            branch: None,
            subject: None,
        },
    )
    .await?;
    let clients = ReportsApi {
        state: state.clone(),
    }
    .clients_report(&principal, None, Some(from), Some(to))
    .await?;
    // Free text typed about people (lost reasons, campaign and partner names, which may hold
    // anything) stays in the sealed read model: a file handed out keeps counts only.
    let mut sales = sales;
    let lost: i64 = sales.lost_reasons.iter().map(|r| r.leads).sum();
    sales.lost_reasons = vec![super::sales::LostReason {
        reason: "all reasons".into(),
        leads: lost,
    }];
    sales.sources = by_source(std::mem::take(&mut sales.sources));
    let position = compliance.position.max(sales.position);
    let pdf = pdf(month, &sales, &compliance).map_err(ApiError::internal)?;
    let files: Vec<(String, Vec<u8>)> = vec![
        (format!("compliance-{month}.pdf"), pdf),
        (
            "sales.csv".into(),
            sales.csv().map_err(ApiError::internal)?.into_bytes(),
        ),
        (
            "clients.csv".into(),
            clients.csv().map_err(ApiError::internal)?.into_bytes(),
        ),
        (
            "compliance.csv".into(),
            compliance.csv().map_err(ApiError::internal)?.into_bytes(),
        ),
    ];
    let dir = folder(root, month);
    std::fs::create_dir_all(&dir).map_err(ApiError::internal)?;
    let mut recorded = Vec::new();
    for (name, bytes) in &files {
        // Written aside, then moved in: a reader never sees half a file.
        let part = dir.join(format!(".{name}.part"));
        std::fs::write(&part, bytes).map_err(ApiError::internal)?;
        // Readable by the server's own account only.
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&part, std::fs::Permissions::from_mode(0o600))
                .map_err(ApiError::internal)?;
        }
        std::fs::rename(&part, dir.join(name)).map_err(ApiError::internal)?;
        recorded.push(PackFile {
            name: name.clone(),
            bytes: bytes.len() as u64,
            sha256: hex::encode(Sha256::digest(bytes)),
        });
    }
    state
        .write
        .report_packs
        .execute(
            &month.stream_id().to_string(),
            ReportPackCommand::RecordGenerated {
                month,
                files: recorded,
                position,
            },
            meta,
            None,
        )
        .await
        .map_err(ApiError::internal)?;
    tracing::info!(month = %month, "compliance pack generated");
    listed(root, month).ok_or_else(|| ApiError::internal("the pack just written is missing"))
}

/// The month before `today`'s.
pub fn last_month(today: NaiveDate) -> PackMonth {
    let first = today - Duration::days(i64::from(chrono::Datelike::day(&today)) - 1);
    let prev = first - Duration::days(1);
    PackMonth::parse(&prev.format("%Y-%m").to_string(), today).expect("last month has begun")
}

/// Generates last month's pack once it is over (checked `every`), unless it is on disk.
pub async fn monthly(state: State, root: PathBuf, every: std::time::Duration) {
    loop {
        let month = last_month(domain::kyc::india_today(Utc::now()));
        if listed(&root, month).is_none_or(|p| p.files.is_empty()) {
            let meta = EventMetadata::system(None);
            if let Err(e) = generate(&state, &root, month, &meta).await {
                tracing::warn!(month = %month, error = ?e, "the monthly compliance pack failed");
            }
        }
        tokio::time::sleep(every).await;
    }
}

/// Which month to generate.
#[derive(Debug, Clone, Object)]
#[oai(deny_unknown_fields, example)]
pub struct PackRequest {
    /// `YYYY-MM`: a month that has begun (the current one gives the month so far).
    pub month: String,
}

impl poem_openapi::types::Example for PackRequest {
    fn example() -> Self {
        Self {
            month: "2026-11".into(),
        }
    }
}

#[derive(poem_openapi::ApiResponse)]
pub enum PackListResponse {
    /// The packs, newest month first.
    #[oai(status = 200)]
    Ok(poem_openapi::payload::Json<PackList>),
}

#[derive(poem_openapi::ApiResponse)]
pub enum PackCreated {
    /// Generated (again, if it was before) and recorded; its files.
    #[oai(status = 201)]
    Created(poem_openapi::payload::Json<PackOut>),
}

#[derive(Debug, poem_openapi::ApiResponse)]
pub enum PackFileResponse {
    /// The file: `application/pdf` or `text/csv`.
    #[oai(status = 200)]
    Ok(poem_openapi::payload::Attachment<Vec<u8>>),
}

pub struct PacksApi {
    pub state: State,
}

#[poem_openapi::OpenApi]
impl PacksApi {
    /// Monthly compliance packs
    ///
    /// The packs kept under the data directory, newest month first, each file with its size
    /// and sha256 (the same as the `CompliancePackGenerated` event recorded it). Last month's
    /// pack is generated on a schedule (`CRM_COMPLIANCE_PACK_INTERVAL`). Compliance officers,
    /// auditors and admins.
    #[oai(
        path = "/api/reports/packs",
        method = "get",
        tag = "super::ReportTags::Reports",
        operation_id = "listCompliancePacks"
    )]
    async fn list(
        &self,
        auth: crate::auth::Auth,
    ) -> Result<PackListResponse, crate::problem::ReadError> {
        crate::policy::require(&auth.0, crate::policy::Action::CompliancePack)?;
        // Only the files the caller may open are listed.
        let tables = domain::access::allows(auth.0.role, crate::policy::Action::ComplianceReport);
        let mut items = list(&self.state.packs_dir);
        for pack in &mut items {
            pack.files
                .retain(|f| tables || !matches!(f.name.as_str(), "sales.csv" | "clients.csv"));
        }
        Ok(PackListResponse::Ok(poem_openapi::payload::Json(
            PackList { items },
        )))
    }

    /// Generate a month's compliance pack
    ///
    /// The PDF (KYC, the sales funnel, reads of personal data, privacy requests and the audit
    /// ledger, with charts) and the CSVs of the sales, client and compliance reports for the
    /// month, written under the data directory and recorded as a `CompliancePackGenerated`
    /// event. Generating a month again replaces its files and is recorded again. Compliance
    /// officers and admins.
    #[oai(
        path = "/api/reports/packs",
        method = "post",
        tag = "super::ReportTags::Reports",
        operation_id = "generateCompliancePack"
    )]
    async fn generate(
        &self,
        req: &poem::Request,
        auth: crate::auth::Auth,
        body: poem_openapi::payload::Json<PackRequest>,
    ) -> Result<PackCreated, ApiError> {
        crate::policy::require(&auth.0, crate::policy::Action::ComplianceReport)?;
        let month = PackMonth::parse(&body.0.month, domain::kyc::india_today(Utc::now()))
            .map_err(|e| ApiError::field("month", e.message))?;
        let meta = crate::http::metadata(req);
        let pack = generate(&self.state, &self.state.packs_dir, month, &meta).await?;
        Ok(PackCreated::Created(poem_openapi::payload::Json(pack)))
    }

    /// Download a file of a compliance pack
    #[oai(
        path = "/api/reports/packs/:month/:file",
        method = "get",
        tag = "super::ReportTags::Reports",
        operation_id = "downloadCompliancePackFile"
    )]
    async fn download(
        &self,
        auth: crate::auth::Auth,
        /// `YYYY-MM`.
        month: poem_openapi::param::Path<String>,
        /// A file the listing names.
        file: poem_openapi::param::Path<String>,
    ) -> Result<poem_openapi::payload::Response<PackFileResponse>, crate::problem::ReadError> {
        crate::policy::require(&auth.0, crate::policy::Action::CompliancePack)?;
        let missing = || ApiError::not_found("compliance pack file");
        let month = PackMonth::parse(&month.0, domain::kyc::india_today(Utc::now()))
            .map_err(|_| missing())?;
        if !file_name_ok(&file.0) {
            return Err(missing().into());
        }
        // The sales and client tables are for compliance and admins; auditors read the PDF
        // and the compliance CSV.
        if matches!(file.0.as_str(), "sales.csv" | "clients.csv") {
            crate::policy::require(&auth.0, crate::policy::Action::ComplianceReport)?;
        }
        let bytes = std::fs::read(folder(&self.state.packs_dir, month).join(&file.0))
            .map_err(|_| missing())?;
        let content_type = if file.0.ends_with(".pdf") {
            "application/pdf"
        } else {
            "text/csv; charset=utf-8"
        };
        Ok(poem_openapi::payload::Response::new(PackFileResponse::Ok(
            poem_openapi::payload::Attachment::new(bytes)
                .attachment_type(poem_openapi::payload::AttachmentType::Attachment)
                .filename(file.0.clone()),
        ))
        .header("content-type", content_type)
        .header("x-content-type-options", "nosniff")
        .header("cache-control", "no-store"))
    }
}
