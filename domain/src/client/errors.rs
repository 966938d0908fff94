//! Why a client command is refused.

/// Why the Client aggregate refused a command. Each maps to one HTTP status at the edge.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ClientError {
    #[error("a client with this id already exists")]
    AlreadyExists,
    #[error("no client with this id")]
    NotFound,
    #[error("the relationship is closed; the record is kept but takes no more changes")]
    Closed,
    #[error("the client's personal data was erased; the record takes no more changes")]
    Erased,
    #[error(
        "the person asked for erasure: processing is restricted to privacy and compliance steps"
    )]
    Restricted,
    #[error("this relationship manager already looks after the client")]
    AlreadyAssigned,
    #[error("an account that is {from} cannot become {to}")]
    IllegalMove {
        from: super::AccountStatus,
        to: super::AccountStatus,
    },
    #[error("the account is {0}: reactivate it before recording a trade")]
    NotActive(super::AccountStatus),
    #[error("reopening a closed account needs a reason")]
    ReasonRequired,
    #[error("the retention period after closing has ended; the account cannot be reopened")]
    RetentionEnded,
    #[error("a document with this id is already on the client")]
    DuplicateDocument,
    #[error("the client holds as many documents as allowed ({files} files, {bytes} bytes in all)")]
    DocumentLimit { files: usize, bytes: u64 },
    /// The details as they would be break a rule (each field named with why).
    #[error("{}", .0.iter().map(|i| format!("{}: {}", i.field, i.message)).collect::<Vec<_>>().join("; "))]
    Invalid(Vec<crate::input::Invalid>),
    #[error(transparent)]
    Work(#[from] crate::worklog::WorkError),
    #[error(transparent)]
    Privacy(#[from] crate::privacy::PrivacyError),
}
