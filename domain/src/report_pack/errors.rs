/// Why a pack command is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReportPackError {
    #[error("this stream records another month's packs")]
    OtherMonth,
    #[error("a pack has at least one file")]
    NoFiles,
}
