//! Importing leads from a CSV file (`POST /api/leads/import`, `crm import leads FILE`): the
//! file read with a header row, every row checked, the good rows captured (repeats within the
//! file and people already on file set aside), and a report row by row.

use domain::lead::{ContactMethod, InvestmentCapacity, LeadDetails, LeadSource, RawDetails};
use poem_openapi::payload::PlainText;
use poem_openapi::{ApiRequest, Object};

use super::*;

pub struct ImportApi {
    pub state: State,
}

/// The columns a file may have (`name` is required, and an e-mail address or a phone).
pub const COLUMNS: &[&str] = &[
    "name",
    "email",
    "phone",
    "source",
    "source_detail",
    "product_interest",
    "preferred_contact_method",
    "preferred_contact_time",
    "notes",
    "investment_capacity",
];

/// The most rows one file may hold.
pub const MAX_ROWS: usize = 200_000;

/// What is wrong with one row: `row` is the line it starts on (the header is line 1).
#[derive(Debug, Clone, PartialEq, Eq, Object)]
pub struct RowProblem {
    pub row: u64,
    /// The column, or `row` for the row as a whole.
    pub field: String,
    pub message: String,
}

/// What an import did.
#[derive(Debug, Clone, Object)]
#[oai(example)]
pub struct ImportReport {
    /// Data rows in the file.
    pub rows: u64,
    pub imported: u64,
    /// Rows whose e-mail address or phone is already on file (a file imported again lands
    /// here).
    pub already_on_file: u64,
    /// Rows with the e-mail address or phone of an earlier row of the file.
    pub repeated_in_file: u64,
    /// Rows with a value that is not acceptable (named in `problems`).
    pub invalid: u64,
    /// Rows whose capture failed otherwise (tried again by importing the file again).
    pub failed: u64,
    /// Every row not imported, with why.
    pub problems: Vec<RowProblem>,
    /// The ids of the leads made, in row order.
    pub lead_ids: Vec<Uuid>,
}

impl poem_openapi::types::Example for ImportReport {
    fn example() -> Self {
        Self {
            rows: 4,
            imported: 1,
            already_on_file: 1,
            repeated_in_file: 1,
            invalid: 1,
            failed: 0,
            problems: vec![
                RowProblem {
                    row: 3,
                    field: "phone".into(),
                    message: "an Indian mobile number starts with 6, 7, 8 or 9".into(),
                },
                RowProblem {
                    row: 4,
                    field: "row".into(),
                    message: "the same e-mail address or phone as row 2".into(),
                },
                RowProblem {
                    row: 5,
                    field: "row".into(),
                    message: "a lead with this e-mail address or phone is already on file".into(),
                },
            ],
            lead_ids: vec![Uuid::from_u128(0x0193_5e2a_41c7_7b3e_9a10_44d2_6f8e_5b21)],
        }
    }
}

/// The file as sent.
#[derive(Debug, ApiRequest)]
pub enum ImportFile {
    /// UTF-8 CSV with a header row naming its columns: `name` and `email` and/or `phone`;
    /// optionally `source` (default `import`), `source_detail`, `product_interest` (separated
    /// by `;`), `preferred_contact_method`, `preferred_contact_time`, `notes`.
    #[oai(content_type = "text/csv")]
    Csv(PlainText<String>),
    /// The same, with its character set named.
    #[oai(content_type = "text/csv; charset=utf-8")]
    CsvUtf8(PlainText<String>),
}

#[derive(Debug, ApiResponse)]
pub enum ImportResponse {
    /// The report, row by row.
    #[oai(status = 200)]
    Ok(Json<ImportReport>),
}

/// Why a file cannot be read at all.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileProblem(pub String);

/// The file's rows: those whose values are all acceptable, and what is wrong with the others.
pub fn read(
    text: &str,
) -> Result<(Vec<commands::leads::import::Row>, Vec<RowProblem>, usize), FileProblem> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut reader = csv::ReaderBuilder::new()
        .flexible(true)
        .trim(csv::Trim::All)
        .from_reader(text.as_bytes());
    let header: Vec<String> = reader
        .headers()
        .map_err(|e| FileProblem(format!("the header row cannot be read: {e}")))?
        .iter()
        .map(|h| h.to_ascii_lowercase())
        .collect();
    if let Some(twice) = header
        .iter()
        .enumerate()
        .find(|(i, h)| header[..*i].contains(h))
        .map(|(_, h)| h)
    {
        return Err(FileProblem(format!("the column `{twice}` is named twice")));
    }
    if let Some(unknown) = header.iter().find(|h| !COLUMNS.contains(&h.as_str())) {
        return Err(FileProblem(format!(
            "unknown column `{unknown}` (columns: {})",
            COLUMNS.join(", ")
        )));
    }
    for required in ["name"] {
        if !header.iter().any(|h| h == required) {
            return Err(FileProblem(format!(
                "the header has no `{required}` column"
            )));
        }
    }
    if !header.iter().any(|h| h == "email" || h == "phone") {
        return Err(FileProblem(
            "the header has neither `email` nor `phone`".into(),
        ));
    }
    let col = |name: &str| header.iter().position(|h| h == name);
    let cols: Vec<Option<usize>> = COLUMNS.iter().map(|c| col(c)).collect();
    let mut rows = Vec::new();
    let mut problems = Vec::new();
    let mut count = 0;
    for record in reader.records() {
        // The line the row starts on, as an editor shows it.
        let record = match record {
            Ok(r) => r,
            Err(e) => {
                count += 1;
                problems.push(RowProblem {
                    row: e.position().map_or(0, |p| p.line()),
                    field: "row".into(),
                    message: format!("cannot be read: {e}"),
                });
                continue;
            }
        };
        let row = record.position().map_or(0, |p| p.line()) as usize;
        // A row of empty cells (spreadsheets write them) is no row.
        if record.iter().all(str::is_empty) {
            continue;
        }
        count += 1;
        if count > MAX_ROWS {
            return Err(FileProblem(format!("a file holds at most {MAX_ROWS} rows")));
        }
        if record.len() != header.len() {
            problems.push(RowProblem {
                row: row as u64,
                field: "row".into(),
                message: format!(
                    "has {} cells where the header names {} columns",
                    record.len(),
                    header.len()
                ),
            });
            continue;
        }
        if [0, 1, 2]
            .iter()
            .filter_map(|c| cols[*c].and_then(|i| record.get(i)))
            .any(|v| v.contains('\n') || v.contains('\r'))
        {
            problems.push(RowProblem {
                row: row as u64,
                field: "row".into(),
                message: "a name, e-mail address or phone spans lines (a quote left open?)".into(),
            });
            continue;
        }
        let get = |c: usize| {
            cols[c]
                .and_then(|i| record.get(i))
                .filter(|v| !v.is_empty())
        };
        let mut mine: Vec<RowProblem> = Vec::new();
        let mut bad = |field: &str, message: String| {
            mine.push(RowProblem {
                row: row as u64,
                field: field.into(),
                message,
            })
        };
        let source = match get(3) {
            None => Some(LeadSource::Import),
            Some(s) => LeadSource::parse(&s.to_ascii_lowercase()).or_else(|| {
                bad(
                    "source",
                    format!(
                        "one of {}",
                        LeadSource::ALL
                            .iter()
                            .map(|s| s.as_str())
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                );
                None
            }),
        };
        let method = match get(6) {
            None => Some(None),
            Some(m) => match ContactMethod::parse(&m.to_ascii_lowercase()) {
                Some(m) => Some(Some(m)),
                None => {
                    bad(
                        "preferred_contact_method",
                        format!(
                            "one of {}",
                            ContactMethod::ALL
                                .iter()
                                .map(|s| s.as_str())
                                .collect::<Vec<_>>()
                                .join(", ")
                        ),
                    );
                    None
                }
            },
        };
        let interest: Vec<String> = get(5)
            .map(|p| {
                p.split(';')
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .map(String::from)
                    .collect()
            })
            .unwrap_or_default();
        let capacity = match get(9) {
            None => Some(None),
            Some(c) => match InvestmentCapacity::parse(&c.trim().to_ascii_lowercase()) {
                Some(c) => Some(Some(c)),
                None => {
                    bad(
                        "investment_capacity",
                        format!(
                            "one of {}",
                            InvestmentCapacity::ALL
                                .iter()
                                .map(|s| s.as_str())
                                .collect::<Vec<_>>()
                                .join(", ")
                        ),
                    );
                    None
                }
            },
        };
        let (Some(source), Some(method), Some(capacity)) = (source, method, capacity) else {
            problems.extend(mine);
            continue;
        };
        let parsed = LeadDetails::parse(RawDetails {
            name: get(0).unwrap_or(""),
            email: get(1),
            phone: get(2),
            source,
            source_detail: get(4),
            product_interest: &interest,
            preferred_contact_method: method,
            preferred_contact_time: get(7),
            notes: get(8),
            investment_capacity: capacity,
        });
        match parsed {
            Ok(details) if mine.is_empty() => {
                rows.push(commands::leads::import::Row { row, details })
            }
            Ok(_) => problems.extend(mine),
            Err(invalid) => {
                problems.extend(mine);
                for i in invalid {
                    problems.push(RowProblem {
                        row: row as u64,
                        field: i.field.into(),
                        message: i.message,
                    });
                }
            }
        }
    }
    Ok((rows, problems, count))
}

/// Runs an import of `text` and reports on it.
pub async fn run(
    write: &commands::WriteSide,
    actor: &domain::access::Actor,
    text: &str,
    meta: &store::EventMetadata,
    done: &(dyn Fn() + Sync),
    started: &(dyn Fn(usize) + Sync),
) -> Result<ImportReport, FileProblem> {
    use commands::leads::import::Outcome;
    let (rows, mut problems, count) = read(text)?;
    let invalid = {
        let mut r: Vec<u64> = problems.iter().map(|p| p.row).collect();
        r.dedup();
        r.len() as u64
    };
    started(rows.len());
    let outcomes = commands::leads::import::import(write, actor, &None, rows, meta, done).await;
    let mut report = ImportReport {
        rows: count as u64,
        imported: 0,
        already_on_file: 0,
        repeated_in_file: 0,
        invalid,
        failed: 0,
        problems: Vec::new(),
        lead_ids: Vec::new(),
    };
    for (row, outcome) in outcomes {
        let problem = |message: String| RowProblem {
            row: row as u64,
            field: "row".into(),
            message,
        };
        match outcome {
            Outcome::Imported(id) => {
                report.imported += 1;
                report.lead_ids.push(id);
            }
            Outcome::OnFile(existing) => {
                report.already_on_file += 1;
                let named = existing
                    .iter()
                    .map(Uuid::to_string)
                    .collect::<Vec<_>>()
                    .join(", ");
                problems.push(problem(format!(
                    "a lead with this e-mail address or phone is already on file ({named})"
                )));
            }
            Outcome::Repeat { of_row } => {
                report.repeated_in_file += 1;
                problems.push(problem(format!(
                    "the same e-mail address or phone as row {of_row}"
                )));
            }
            Outcome::Failed(why) => {
                report.failed += 1;
                problems.push(problem(format!("not imported: {why}")));
            }
        }
    }
    problems.sort_by_key(|p| p.row);
    report.problems = problems;
    Ok(report)
}

#[OpenApi]
impl ImportApi {
    /// Import leads from a CSV file
    ///
    /// For admins. A header row names the columns: `name`, `email` and/or `phone`, optionally
    /// `source`, `source_detail`, `product_interest` (`;`-separated), `preferred_contact_method`,
    /// `preferred_contact_time`, `notes`, `investment_capacity`; words are matched without
    /// regard to case. Every row is checked; a bad row never stops the good ones. Rows with the
    /// e-mail address or phone of an earlier row, or of a lead already on file, are set aside
    /// (so importing the same file again imports nothing twice); the rest are captured with
    /// the channel `import`. The answer reports every row not imported, with why. Files up to
    /// `CRM_MAX_IMPORT` bytes (default 32 MiB) and 200,000 rows. Sending the file again is
    /// safe: what it imported is on file by then.
    #[oai(
        path = "/api/leads/import",
        method = "post",
        tag = "ApiTags::Leads",
        operation_id = "importLeads"
    )]
    async fn import(
        &self,
        req: &Request,
        auth: Auth,
        body: ImportFile,
    ) -> Result<ImportResponse, ApiError> {
        // Safe to send again as it is: rows already imported are on file the second time.
        policy::require(&auth.0, Action::LeadImport)?;
        let (ImportFile::Csv(PlainText(text)) | ImportFile::CsvUtf8(PlainText(text))) = body;
        let meta = http::metadata(req);
        let report = run(
            &self.state.write,
            &auth.0.actor(),
            &text,
            &meta,
            &|| {},
            &|_| {},
        )
        .await
        .map_err(|FileProblem(why)| ApiError::field("body", why))?;
        Ok(ImportResponse::Ok(Json(report)))
    }
}
