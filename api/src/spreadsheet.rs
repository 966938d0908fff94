//! CSV for spreadsheets: cells that a spreadsheet would run as a formula are kept as text, and
//! a whole table is written with the `csv` crate (quoting and escaping).

use std::borrow::Cow;

use poem_openapi::payload::PlainText;
use poem_openapi::ApiResponse;

/// The most rows one export answers (narrow the filters for more).
pub const EXPORT_MAX: usize = 10_000;

#[derive(Debug, ApiResponse)]
pub enum CsvResponse {
    /// The rows as CSV (UTF-8, a header row first), as an attachment.
    #[oai(status = 200, content_type = "text/csv; charset=utf-8")]
    Ok(
        PlainText<String>,
        #[oai(header = "Content-Disposition")] String,
    ),
}

impl CsvResponse {
    /// `body` as the attachment `name`-`YYYY-MM-DD`.csv.
    pub fn attachment(name: &str, body: String) -> Self {
        let day = chrono::Utc::now().date_naive();
        Self::Ok(
            PlainText(body),
            format!("attachment; filename=\"{name}-{day}.csv\""),
        )
    }
}

/// Text a spreadsheet shows as text: a cell starting like a formula (`=`, `+`, `-`, `@`, a tab
/// or a carriage return) is prefixed with `'`, unless it is a plain number (`+919876543210`,
/// `-12.5`), which no spreadsheet runs.
pub fn safe(text: &str) -> Cow<'_, str> {
    let risky = text.starts_with(['=', '+', '-', '@', '\t', '\r']);
    let number = {
        let digits = text.strip_prefix(['+', '-']).unwrap_or(text);
        !digits.is_empty()
            && digits.bytes().all(|b| b.is_ascii_digit() || b == b'.')
            && digits.bytes().filter(|b| *b == b'.').count() <= 1
    };
    if risky && !number {
        Cow::Owned(format!("'{text}"))
    } else {
        Cow::Borrowed(text)
    }
}

/// 422 when a filter matches more rows than an export holds.
pub fn within_limit(
    what: &str,
    matched: usize,
    total: i64,
) -> Result<(), crate::problem::ApiError> {
    if matched > EXPORT_MAX {
        return Err(crate::problem::ApiError::field(
            "q",
            format!(
                "{total} {what} match; an export holds at most {EXPORT_MAX}: narrow the filters"
            ),
        ));
    }
    Ok(())
}

/// Records each person whose data `table` holds as exported by the caller, and answers the
/// table as the attachment `name`.
pub async fn exported(
    state: &crate::http::AppState,
    req: &poem::Request,
    subject_type: &str,
    people: &[uuid::Uuid],
    table: Table,
    name: &str,
) -> Result<CsvResponse, crate::problem::ApiError> {
    use crate::problem::ApiError;
    commands::access::record_many(
        &state.write,
        subject_type,
        people,
        domain::access::AccessKind::Export,
        &crate::http::metadata(req),
    )
    .await
    .map_err(ApiError::internal)?;
    let body = table.finish().map_err(ApiError::internal)?;
    Ok(CsvResponse::attachment(name, body))
}

/// A CSV table: a header, then rows whose every cell goes through [`safe`].
pub struct Table {
    writer: csv::Writer<Vec<u8>>,
}

impl Table {
    pub fn new(header: &[&str]) -> Result<Self, csv::Error> {
        let mut writer = csv::Writer::from_writer(Vec::new());
        writer.write_record(header)?;
        Ok(Self { writer })
    }

    pub fn row<I, S>(&mut self, cells: I) -> Result<(), csv::Error>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let cells: Vec<String> = cells
            .into_iter()
            .map(|c| safe(c.as_ref()).into_owned())
            .collect();
        self.writer.write_record(&cells)
    }

    pub fn finish(self) -> Result<String, csv::Error> {
        let bytes = self.writer.into_inner().map_err(|e| e.into_error())?;
        Ok(String::from_utf8(bytes).expect("CSV of UTF-8 text"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cells_that_look_like_formulas_stay_text() {
        assert_eq!(safe("=HYPERLINK(\"x\")"), "'=HYPERLINK(\"x\")");
        assert_eq!(safe("@SUM(A1)"), "'@SUM(A1)");
        assert_eq!(safe("+cmd|' /C calc'!A0"), "'+cmd|' /C calc'!A0");
        assert_eq!(safe("-2+3+cmd|' /C calc'!A0"), "'-2+3+cmd|' /C calc'!A0");
        assert_eq!(safe("\t=1"), "'\t=1");
        assert_eq!(safe("face not visible"), "face not visible");
        // Plain numbers are left as they are.
        assert_eq!(safe("+919876543210"), "+919876543210");
        assert_eq!(safe("-12.50"), "-12.50");
        assert_eq!(safe("-"), "'-");
        assert_eq!(safe("+1.2.3"), "'+1.2.3");
    }

    #[test]
    fn a_table_quotes_and_escapes() {
        let mut t = Table::new(&["a", "b"]).unwrap();
        t.row(["x, \"y\"", "=1+1"]).unwrap();
        assert_eq!(t.finish().unwrap(), "a,b\n\"x, \"\"y\"\"\",'=1+1\n");
    }
}
