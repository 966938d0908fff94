use super::{PackFile, PackMonth};

/// What may be asked of a month's packs.
#[derive(Debug, Clone, PartialEq)]
pub enum ReportPackCommand {
    /// Record a generation: its files, and the log position its numbers are as of.
    RecordGenerated {
        month: PackMonth,
        files: Vec<PackFile>,
        position: i64,
    },
}
