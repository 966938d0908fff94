//! Each error type of the layers below mapped to its problem, once: handlers use `?`.

use commands::leads::LeadsError;
use commands::lookups::LookupError;
use commands::users::staff::StaffError;
use commands::CommandError;
use domain::client::ClientError;
use domain::lead::LeadError;
use domain::privacy::PrivacyError;
use domain::user::UserError;

use super::{ApiError, FieldError};

/// Maps a data subject's refused privacy step to its problem (the same for every subject).
impl From<PrivacyError> for ApiError {
    fn from(e: PrivacyError) -> Self {
        let detail = e.to_string();
        match e {
            PrivacyError::Erased => ApiError::conflict("erased", detail),
            PrivacyError::AlreadyOnHold | PrivacyError::NotOnHold => {
                ApiError::conflict("legal-hold", detail)
            }
            PrivacyError::ErasureBlocked(_) => ApiError::conflict("erasure-blocked", detail),
            PrivacyError::ConsentWhileRestricted => {
                ApiError::conflict("processing-restricted", detail)
            }
        }
    }
}

/// Maps a lead command's failure to its HTTP problem.
impl From<CommandError<LeadError>> for ApiError {
    fn from(e: CommandError<LeadError>) -> Self {
        match e {
            CommandError::Rejected(e) => {
                let detail = e.to_string();
                match e {
                    LeadError::NotFound => ApiError::not_found("lead"),
                    LeadError::FollowUpNotFound => ApiError::not_found("follow-up on this lead"),
                    LeadError::IllegalTransition { allowed, .. } => ApiError::illegal_transition(
                        detail,
                        allowed.iter().map(|s| s.to_string()).collect(),
                    ),
                    LeadError::NoContactChannel => ApiError::validation(vec![
                        FieldError::new(
                            "email",
                            "a lead needs an e-mail address or a phone number",
                        ),
                        FieldError::new(
                            "phone",
                            "a lead needs an e-mail address or a phone number",
                        ),
                    ]),
                    LeadError::DueInThePast | LeadError::DueTooFarAhead => {
                        ApiError::field("due_at", detail)
                    }
                    LeadError::LostWithoutReason => ApiError::field("reason", detail),
                    LeadError::InteractionTooOld => ApiError::field("occurred_at", detail),
                    LeadError::InteractionInTheFuture => {
                        ApiError::field("occurred_at", "must not be in the future")
                    }
                    LeadError::AlreadyExists => ApiError::conflict("already-exists", detail),
                    LeadError::Archived => ApiError::conflict("archived", detail),
                    LeadError::Converted => ApiError::conflict("converted", detail),
                    LeadError::FollowUpClosed(_) => ApiError::conflict("follow-up-closed", detail),
                    LeadError::AlreadyAssigned => ApiError::conflict("already-assigned", detail),
                    LeadError::DuplicateId => ApiError::conflict("duplicate-id", detail),
                    LeadError::Erased => ApiError::conflict("erased", detail),
                    LeadError::Restricted => ApiError::conflict("processing-restricted", detail),
                    LeadError::Merged => ApiError::conflict("merged", detail),
                    LeadError::NotMerged | LeadError::NotMergedHere => {
                        ApiError::conflict("not-merged", detail)
                    }
                    LeadError::HoldsMerged => ApiError::conflict("holds-merged", detail),
                    LeadError::Lost => ApiError::conflict("lead-lost", detail),
                    LeadError::Privacy(e) => e.into(),
                }
            }
            CommandError::Conflict => ApiError::conflict(
                "concurrent-change",
                "the lead was changed by another request at the same time; retry",
            ),
            CommandError::VersionMismatch { .. } => ApiError::precondition_failed(e.to_string()),
            CommandError::Store(e) => ApiError::internal(e),
        }
    }
}

/// Maps a client command's failure to its HTTP problem.
impl From<CommandError<ClientError>> for ApiError {
    fn from(e: CommandError<ClientError>) -> Self {
        match e {
            CommandError::Rejected(e) => {
                let detail = e.to_string();
                match e {
                    ClientError::NotFound => ApiError::not_found("client"),
                    ClientError::AlreadyExists => ApiError::conflict("already-exists", detail),
                    ClientError::Closed => ApiError::conflict("relationship-closed", detail),
                    ClientError::Erased => ApiError::conflict("erased", detail),
                    ClientError::Restricted => ApiError::conflict("processing-restricted", detail),
                    ClientError::AlreadyAssigned => ApiError::conflict("already-assigned", detail),
                    ClientError::DuplicateDocument => ApiError::conflict("duplicate-id", detail),
                    ClientError::DocumentLimit { .. } => {
                        ApiError::conflict("document-limit", detail)
                    }
                    ClientError::IllegalMove { from, .. } => ApiError::illegal_transition(
                        detail,
                        domain::client::Client::allowed_moves(from)
                            .iter()
                            .map(|s| s.to_string())
                            .collect(),
                    ),
                    ClientError::RetentionEnded => ApiError::conflict("retention-ended", detail),
                    ClientError::ReasonRequired => ApiError::field("reason", detail),
                    ClientError::NotActive(_) => ApiError::conflict("account-not-active", detail),
                    ClientError::Invalid(invalid) => invalid.into(),
                    ClientError::Work(w) => {
                        use domain::worklog::WorkError;
                        match w {
                            WorkError::DuplicateId => ApiError::conflict("duplicate-id", detail),
                            WorkError::UnknownFollowUp => ApiError::not_found("follow-up"),
                            WorkError::FollowUpClosed => {
                                ApiError::conflict("follow-up-closed", detail)
                            }
                            WorkError::DueInThePast | WorkError::DueTooFarAhead => {
                                ApiError::field("due_at", detail)
                            }
                            WorkError::InteractionTooOld => ApiError::field("occurred_at", detail),
                            WorkError::InteractionInTheFuture => {
                                ApiError::field("occurred_at", "must not be in the future")
                            }
                            WorkError::NotMergedHere => ApiError::conflict("not-merged", detail),
                        }
                    }
                    ClientError::Privacy(e) => e.into(),
                }
            }
            CommandError::Conflict => ApiError::conflict(
                "concurrent-change",
                "the client was changed by another request at the same time; retry",
            ),
            CommandError::VersionMismatch { .. } => ApiError::precondition_failed(e.to_string()),
            CommandError::Store(e) => ApiError::internal(e),
        }
    }
}

impl From<CommandError<UserError>> for ApiError {
    fn from(e: CommandError<UserError>) -> Self {
        match e {
            CommandError::Rejected(e) => match e {
                UserError::NotFound => ApiError::not_found("user"),
                UserError::BranchRequired(_) => ApiError::field("branch", e.to_string()),
                UserError::AlreadyInState(_) | UserError::AlreadyExists => {
                    ApiError::conflict("user-state", e.to_string())
                }
                UserError::Inactive => ApiError::conflict("user-inactive", e.to_string()),
                UserError::Locked { until } => crate::users::locked(until),
                UserError::InvalidRefresh => {
                    ApiError::unauthorized("the refresh token is not valid")
                }
            },
            CommandError::Conflict => ApiError::conflict(
                "concurrent-change",
                "the user was changed concurrently; retry",
            ),
            CommandError::VersionMismatch { .. } => ApiError::precondition_failed(e.to_string()),
            CommandError::Store(e) => ApiError::internal(e),
        }
    }
}

impl From<LeadsError> for ApiError {
    fn from(e: LeadsError) -> Self {
        match e {
            LeadsError::Command(e) => e.into(),
            LeadsError::Duplicate { visible, .. } => ApiError::duplicate(visible),
            LeadsError::NotAssignable => {
                ApiError::field("agent_id", "not an active agent you may assign leads to")
            }
            LeadsError::NoActiveAgents => ApiError::conflict("no-active-agents", e.to_string()),
            LeadsError::Lookup(e) => ApiError::internal(e),
            LeadsError::Store(e) => ApiError::internal(e),
        }
    }
}

impl From<LookupError> for ApiError {
    fn from(e: LookupError) -> Self {
        ApiError::internal(e)
    }
}

impl From<commands::clients::ClientsError> for ApiError {
    fn from(e: commands::clients::ClientsError) -> Self {
        use commands::clients::ClientsError;
        match e {
            ClientsError::Command(e) => e.into(),
            ClientsError::Lead(e) => ApiError::internal(e),
            ClientsError::Invalid { field, message } => ApiError::field(field, message),
            ClientsError::OutsideBook(why) => ApiError::forbidden(why),
            ClientsError::Restricted => ApiError::conflict("processing-restricted", e.to_string()),
            ClientsError::AlreadyOnboarded => ApiError::conflict("already-exists", e.to_string()),
            ClientsError::DuplicatePan { visible } => ApiError::duplicate_client(visible),
            ClientsError::Lookup(e) => ApiError::internal(e),
            ClientsError::Store(e) => ApiError::internal(e),
            ClientsError::Documents(e) => ApiError::internal(e),
            ClientsError::Files(e) => ApiError::internal(e),
        }
    }
}

impl From<commands::privacy::subjects::SubjectError> for ApiError {
    fn from(e: commands::privacy::subjects::SubjectError) -> Self {
        use commands::privacy::subjects::SubjectError;
        match e {
            SubjectError::NotFound => ApiError::not_found("data subject (lead or client)"),
            SubjectError::Lead(e) => e.into(),
            SubjectError::Client(e) => e.into(),
        }
    }
}

impl From<StaffError> for ApiError {
    fn from(e: StaffError) -> Self {
        match e {
            StaffError::Invalid(errors) => ApiError::validation(
                errors
                    .into_iter()
                    .map(|i| FieldError::new(i.field, i.message))
                    .collect(),
            ),
            StaffError::SelfDemotion => ApiError::conflict("self-demotion", e.to_string()),
            StaffError::SelfDeactivation => ApiError::conflict("self-deactivation", e.to_string()),
            StaffError::SelfReset => ApiError::conflict("self-reset", e.to_string()),
            StaffError::Command(e) => e.into(),
            StaffError::Lookup(e) => ApiError::internal(e),
            StaffError::Hashing(e) => ApiError::internal(e),
        }
    }
}

/// Fields found wanting by a domain check, all named at once.
impl From<Vec<domain::input::Invalid>> for ApiError {
    fn from(invalid: Vec<domain::input::Invalid>) -> Self {
        ApiError::validation(
            invalid
                .into_iter()
                .map(|i| FieldError::new(i.field, i.message))
                .collect(),
        )
    }
}

/// A file refused as received: an empty or cut-short file is malformed (400), a value that does
/// not fit (its name, its number) 422, a file that is not a PDF, JPEG or PNG 415.
impl From<commands::clients::UploadRefused> for ApiError {
    fn from(e: commands::clients::UploadRefused) -> Self {
        use commands::clients::UploadRefused;
        match e {
            UploadRefused::Invalid(invalid) if invalid.iter().any(|i| i.field == "body") => {
                ApiError::malformed(
                    invalid
                        .into_iter()
                        .map(|i| FieldError::new(i.field, i.message))
                        .collect(),
                )
            }
            UploadRefused::Invalid(invalid) => ApiError::from(invalid),
            UploadRefused::NotWhole(_) => {
                ApiError::malformed(vec![FieldError::new("file", e.to_string())])
            }
            UploadRefused::Unsupported => ApiError::unsupported_document(e.to_string()),
        }
    }
}

/// Maps a KYC step's failure to its HTTP problem.
impl From<commands::kyc::KycUseError> for ApiError {
    fn from(e: commands::kyc::KycUseError) -> Self {
        use commands::kyc::KycUseError;
        use domain::kyc::KycError;
        match e {
            KycUseError::Command(CommandError::Rejected(e)) => {
                let detail = e.to_string();
                match e {
                    KycError::NoCase => ApiError::not_found("KYC case"),
                    KycError::NotAllowed { allowed, .. } => ApiError::illegal_transition(
                        detail,
                        allowed.iter().map(|s| s.to_string()).collect(),
                    ),
                    KycError::Incomplete { .. } => ApiError::conflict("kyc-incomplete", detail),
                    KycError::NotAChecker | KycError::MakerChecker => ApiError::forbidden(detail),
                    KycError::UnknownDocument(_) => ApiError::field("documents", detail),
                    KycError::Invalid { field, message } => ApiError::field(field, message),
                    KycError::DuplicateDocument => ApiError::conflict("duplicate-id", detail),
                    KycError::RiskNotSet => ApiError::conflict("risk-not-set", detail),
                    KycError::NotDue => ApiError::conflict("not-due", detail),
                    KycError::ClientTypeChanged(_) => {
                        ApiError::conflict("client-type-changed", detail)
                    }
                }
            }
            KycUseError::Command(CommandError::Conflict) => ApiError::conflict(
                "concurrent-change",
                "the KYC case was changed by another request at the same time; retry",
            ),
            KycUseError::Command(e @ CommandError::VersionMismatch { .. }) => {
                ApiError::precondition_failed(e.to_string())
            }
            KycUseError::Command(CommandError::Store(e)) => ApiError::internal(e),
            KycUseError::Client(e) => e.into(),
            KycUseError::Upload(e) => e.into(),
            KycUseError::Invalid { field, message } => ApiError::field(field, message),
            KycUseError::WrongFileType(why) => ApiError::unsupported_document(why),
            KycUseError::Registry(why) => ApiError::internal(why),
        }
    }
}

/// Maps an investment use case's failure to its HTTP problem.
impl From<commands::investments::InvestmentError> for ApiError {
    fn from(e: commands::investments::InvestmentError) -> Self {
        use commands::investments::InvestmentError;
        use domain::investments::PortfolioError;
        match e {
            InvestmentError::Command(CommandError::Rejected(e)) => {
                let detail = e.to_string();
                match e {
                    PortfolioError::TradingBlocked(_) => {
                        ApiError::conflict("trading-blocked", detail)
                    }
                    PortfolioError::ReferenceTaken(_) => {
                        ApiError::conflict("reference-taken", detail)
                    }
                    PortfolioError::Oversold { .. } => ApiError::conflict("oversold", detail),
                    PortfolioError::UnknownTrade(_) => {
                        ApiError::conflict("trade-not-in-force", detail)
                    }
                    PortfolioError::Unsuitable { .. } => ApiError::conflict("unsuitable", detail),
                    PortfolioError::Invalid { field, message } => ApiError::field(field, message),
                }
            }
            InvestmentError::Command(CommandError::Conflict) => ApiError::conflict(
                "concurrent-change",
                "the portfolio was changed by another request at the same time; retry",
            ),
            InvestmentError::Command(e @ CommandError::VersionMismatch { .. }) => {
                ApiError::precondition_failed(e.to_string())
            }
            InvestmentError::Command(CommandError::Store(e)) => ApiError::internal(e),
            InvestmentError::Client(e) => e.into(),
        }
    }
}
