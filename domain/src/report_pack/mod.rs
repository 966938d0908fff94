//! A month's compliance pack: the PDF and the CSVs the broker keeps of a month (KYC, the sales
//! funnel, reads of personal data, privacy requests, the audit ledger). Each generation is a
//! recorded event naming every file with its size and sha256, so that what was handed to an
//! inspector can be matched against the log; a pack may be generated again (the month's
//! numbers move while late events come in), each time recorded.

mod commands;
mod errors;
mod events;
mod personal;
#[cfg(test)]
mod tests;

use cqrs_es::event_sink::EventSink;
use cqrs_es::Aggregate;
use serde::{Deserialize, Serialize};

pub use commands::ReportPackCommand;
pub use errors::ReportPackError;
pub use events::ReportPackEvent;
pub use personal::EVENT_TABLES;

/// A file of a pack.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PackFile {
    /// The file's name in the month's folder (`compliance-2026-11.pdf`, `sales.csv`, ...).
    pub name: String,
    pub bytes: u64,
    /// Hex sha256 of the content.
    pub sha256: String,
}

/// The month a pack covers: `YYYY-MM`, a month that has begun.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct PackMonth {
    pub year: i32,
    pub month: u32,
}

impl PackMonth {
    /// `YYYY-MM`, not after `today`'s month and not before 2000.
    pub fn parse(raw: &str, today: chrono::NaiveDate) -> Result<Self, crate::values::InvalidValue> {
        use chrono::Datelike;
        let bad = || crate::values::InvalidValue::new("a month as YYYY-MM, e.g. 2026-11");
        let (y, m) = raw.trim().split_once('-').ok_or_else(bad)?;
        if y.len() != 4 || m.len() != 2 {
            return Err(bad());
        }
        let (year, month): (i32, u32) =
            (y.parse().map_err(|_| bad())?, m.parse().map_err(|_| bad())?);
        if !(1..=12).contains(&month) || year < 2000 {
            return Err(bad());
        }
        let it = Self { year, month };
        if (year, month) > (today.year(), today.month()) {
            return Err(crate::values::InvalidValue::new(
                "must not be a month still to come",
            ));
        }
        Ok(it)
    }

    /// Its first day.
    pub fn first_day(self) -> chrono::NaiveDate {
        chrono::NaiveDate::from_ymd_opt(self.year, self.month, 1).expect("a valid month")
    }

    /// Its last day.
    pub fn last_day(self) -> chrono::NaiveDate {
        let next = if self.month == 12 {
            chrono::NaiveDate::from_ymd_opt(self.year + 1, 1, 1)
        } else {
            chrono::NaiveDate::from_ymd_opt(self.year, self.month + 1, 1)
        };
        next.expect("a valid month") - chrono::Duration::days(1)
    }

    /// The month's stream: one per month, the same id wherever it is generated.
    pub fn stream_id(self) -> uuid::Uuid {
        // "pack" in the high bytes, the month in the low ones.
        uuid::Uuid::from_u128(
            (0x7061_636b_u128 << 96) | ((self.year as u128) << 8) | self.month as u128,
        )
    }
}

impl std::fmt::Display for PackMonth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:04}-{:02}", self.year, self.month)
    }
}

/// The packs of one month: how many times it was generated.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ReportPack {
    month: Option<PackMonth>,
    generations: u32,
}

impl ReportPack {
    pub fn generations(&self) -> u32 {
        self.generations
    }

    fn decide(&self, command: ReportPackCommand) -> Result<Vec<ReportPackEvent>, ReportPackError> {
        match command {
            ReportPackCommand::RecordGenerated {
                month,
                files,
                position,
            } => {
                if self.month.is_some_and(|m| m != month) {
                    return Err(ReportPackError::OtherMonth);
                }
                if files.is_empty() {
                    return Err(ReportPackError::NoFiles);
                }
                Ok(vec![ReportPackEvent::CompliancePackGenerated {
                    month,
                    files,
                    position,
                }])
            }
        }
    }
}

impl Aggregate for ReportPack {
    const TYPE: &'static str = "report_pack";
    type Command = ReportPackCommand;
    type Event = ReportPackEvent;
    type Error = ReportPackError;
    type Services = ();

    async fn handle(
        &mut self,
        command: Self::Command,
        _services: &Self::Services,
        sink: &EventSink<Self>,
    ) -> Result<(), Self::Error> {
        for event in self.decide(command)? {
            sink.write(event, self).await;
        }
        Ok(())
    }

    fn apply(&mut self, event: Self::Event) {
        match event {
            ReportPackEvent::CompliancePackGenerated { month, .. } => {
                self.month = Some(month);
                self.generations += 1;
            }
        }
    }
}
