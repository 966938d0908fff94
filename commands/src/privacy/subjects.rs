//! Privacy requests on a data subject, who is a lead or a client (with the lead they came
//! from): erasure requests (restricting the same person's other record too), legal holds,
//! marketing consent and recorded exports; and the shred once nothing keeps the data.

use chrono::Utc;
use domain::access::{covers_lead, ClientScope, LeadScope};
use domain::client::{ClientCommand, ClientError};
use domain::lead::{Lead, LeadCommand, LeadError, MarketingChannel};
use domain::values::Text;
use store::EventMetadata;
use uuid::Uuid;

use super::erasure::{self, Erasure};
use crate::{CommandError, Committed, WriteSide};

/// Who a data subject is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Subject {
    Lead,
    /// A client, with the lead they came from.
    Client {
        lead_id: Option<Uuid>,
    },
}

/// A privacy step, as either record takes it.
#[derive(Debug, Clone)]
pub enum Step {
    RequestErasure(Option<Text>),
    PlaceHold(Text),
    LiftHold(Option<Text>),
    Consent(MarketingChannel, bool),
    Export,
}

impl Step {
    fn for_lead(self) -> LeadCommand {
        match self {
            Step::RequestErasure(reason) => {
                LeadCommand::Privacy(domain::privacy::PrivacyCommand::RequestErasure { reason })
            }
            Step::PlaceHold(reason) => {
                LeadCommand::Privacy(domain::privacy::PrivacyCommand::PlaceLegalHold { reason })
            }
            Step::LiftHold(reason) => {
                LeadCommand::Privacy(domain::privacy::PrivacyCommand::LiftLegalHold { reason })
            }
            Step::Consent(channel, granted) => {
                LeadCommand::Privacy(domain::privacy::PrivacyCommand::SetMarketingConsent {
                    channel,
                    granted,
                })
            }
            Step::Export => LeadCommand::Privacy(domain::privacy::PrivacyCommand::RecordExport),
        }
    }

    fn for_client(self) -> ClientCommand {
        match self {
            Step::RequestErasure(reason) => {
                ClientCommand::Privacy(domain::privacy::PrivacyCommand::RequestErasure { reason })
            }
            Step::PlaceHold(reason) => {
                ClientCommand::Privacy(domain::privacy::PrivacyCommand::PlaceLegalHold { reason })
            }
            Step::LiftHold(reason) => {
                ClientCommand::Privacy(domain::privacy::PrivacyCommand::LiftLegalHold { reason })
            }
            Step::Consent(channel, granted) => {
                ClientCommand::Privacy(domain::privacy::PrivacyCommand::SetMarketingConsent {
                    channel,
                    granted,
                })
            }
            Step::Export => ClientCommand::Privacy(domain::privacy::PrivacyCommand::RecordExport),
        }
    }
}

/// The records a caller may see, of either kind.
#[derive(Debug, Clone)]
pub struct Scopes {
    pub leads: Option<LeadScope>,
    pub clients: ClientScope,
}

#[derive(Debug, thiserror::Error)]
pub enum SubjectError {
    /// No such person, or not one the caller may see (one answer for both).
    #[error("no such data subject")]
    NotFound,
    #[error(transparent)]
    Lead(CommandError<LeadError>),
    #[error(transparent)]
    Client(CommandError<ClientError>),
}

impl From<CommandError<LeadError>> for SubjectError {
    fn from(e: CommandError<LeadError>) -> Self {
        match e {
            CommandError::Rejected(LeadError::NotFound) => SubjectError::NotFound,
            e => SubjectError::Lead(e),
        }
    }
}

impl From<CommandError<ClientError>> for SubjectError {
    fn from(e: CommandError<ClientError>) -> Self {
        match e {
            CommandError::Rejected(ClientError::NotFound) => SubjectError::NotFound,
            e => SubjectError::Client(e),
        }
    }
}

/// Where an erasure stands after a request or a lifted hold.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ErasureState {
    /// The key is destroyed; the data is unreadable everywhere.
    Erased,
    /// Recorded; processing is restricted and the shred waits for this.
    Restricted { blocked_by: String },
    /// Nobody asked for erasure.
    NotRequested,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ErasureOutcome {
    pub state: ErasureState,
    /// The log position of the last event the request wrote.
    pub position: i64,
}

/// Whether `id` is a client (onboarded) or else a lead.
pub async fn subject(write: &WriteSide, id: Uuid) -> Result<Subject, SubjectError> {
    let (client, _) = write.clients.load(&id.to_string()).await?;
    Ok(if client.is_onboarded() {
        Subject::Client {
            lead_id: client.lead_id(),
        }
    } else {
        Subject::Lead
    })
}

/// The other record of the same person: the client a lead became (once onboarded), or the
/// lead a client came from.
pub async fn other_record(
    write: &WriteSide,
    id: Uuid,
    subject: Subject,
) -> Result<Option<Uuid>, SubjectError> {
    Ok(match subject {
        Subject::Client { lead_id } => lead_id,
        Subject::Lead => {
            let (lead, _) = write.leads.load(&id.to_string()).await?;
            onboarded_client(write, &lead).await?
        }
    })
}

/// The client `lead` became, once onboarded.
async fn onboarded_client(write: &WriteSide, lead: &Lead) -> Result<Option<Uuid>, SubjectError> {
    let Some(client) = lead.converted_to() else {
        return Ok(None);
    };
    let (c, _) = write.clients.load(&client.to_string()).await?;
    Ok(c.is_onboarded().then_some(client))
}

/// Gives or withdraws marketing consent for the person, on both their records (a withdrawal
/// through the lead's id must stop marketing to the client it became, and the other way round).
pub async fn consent(
    write: &WriteSide,
    scopes: &Scopes,
    id: Uuid,
    channel: MarketingChannel,
    granted: bool,
    meta: &EventMetadata,
    expected: Option<usize>,
) -> Result<(Committed, Subject), SubjectError> {
    let step = Step::Consent(channel, granted);
    let (mut done, subject) = run(write, scopes, id, step.clone(), meta, expected).await?;
    if let Some(also) = on_other_record(write, id, subject, step, meta).await? {
        // The answer's position covers the other record too (read your write), changed or
        // not, so that a repeat never answers an earlier position than the first time.
        done.position = done.position.max(also.position);
        done.appended += also.appended;
    }
    Ok((done, subject))
}

/// One of the same person's other records.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Record {
    Lead(Uuid),
    Client(Uuid),
}

/// Every other record of the same person: the client a lead became (once onboarded) or the
/// lead a client came from, and the records a merge joined (what a lead is merged into, the
/// leads merged into a record).
pub async fn other_records(
    write: &WriteSide,
    id: Uuid,
    subject: Subject,
) -> Result<Vec<Record>, SubjectError> {
    let mut out = Vec::new();
    match subject {
        Subject::Client { lead_id } => {
            if let Some(lead_id) = lead_id {
                out.push(Record::Lead(lead_id));
                // Leads merged into the lead before it converted are the same person too.
                let (lead, _) = write.leads.load(&lead_id.to_string()).await?;
                out.extend(lead.merged_here().leads().map(Record::Lead));
            }
            let (client, _) = write.clients.load(&id.to_string()).await?;
            out.extend(client.work().merged_here().leads().map(Record::Lead));
        }
        Subject::Lead => {
            let (lead, _) = write.leads.load(&id.to_string()).await?;
            out.extend(onboarded_client(write, &lead).await?.map(Record::Client));
            out.extend(lead.merged_into().map(|t| match t.kind {
                domain::merge::MergeKind::Lead => Record::Lead(t.id),
                domain::merge::MergeKind::Client => Record::Client(t.id),
            }));
            out.extend(lead.merged_here().leads().map(Record::Lead));
        }
    }
    out.dedup();
    Ok(out)
}

/// Runs `step` on the same person's other records, if they have any; the last commit. A
/// refusal there (erased, restricted) leaves the first record's answer standing.
async fn on_other_record(
    write: &WriteSide,
    id: Uuid,
    subject: Subject,
    step: Step,
    meta: &EventMetadata,
) -> Result<Option<Committed>, SubjectError> {
    let mut last: Option<Committed> = None;
    for other in other_records(write, id, subject).await? {
        let done = match other {
            Record::Client(c) => match write
                .clients
                .execute(&c.to_string(), step.clone().for_client(), meta, None)
                .await
            {
                Ok(done) => Some(done),
                Err(CommandError::Rejected(_)) => None,
                Err(e) => return Err(SubjectError::Client(e)),
            },
            Record::Lead(l) => match write
                .leads
                .execute(&l.to_string(), step.clone().for_lead(), meta, None)
                .await
            {
                Ok(done) => Some(done),
                Err(CommandError::Rejected(_)) => None,
                Err(e) => return Err(SubjectError::Lead(e)),
            },
        };
        if let Some(d) = done {
            last = Some(match last {
                Some(l) => Committed {
                    position: l.position.max(d.position),
                    appended: l.appended + d.appended,
                    sequence: d.sequence,
                },
                None => d,
            });
        }
    }
    Ok(last)
}

/// Runs `step` on the person `id`, within what the caller may see.
pub async fn run(
    write: &WriteSide,
    scopes: &Scopes,
    id: Uuid,
    step: Step,
    meta: &EventMetadata,
    expected: Option<usize>,
) -> Result<(Committed, Subject), SubjectError> {
    let subject = subject(write, id).await?;
    let done = match subject {
        Subject::Lead => {
            let scope = scopes.leads.clone();
            let guard = move |lead: &Lead| {
                if lead.is_captured() && covers_lead(&scope, lead.assignee()) {
                    Ok(())
                } else {
                    Err(LeadError::NotFound)
                }
            };
            write
                .leads
                .execute_guarded(&id.to_string(), step.for_lead(), meta, expected, &guard)
                .await?
        }
        Subject::Client { .. } => {
            crate::clients::run(
                write,
                &scopes.clients,
                id,
                step.for_client(),
                meta,
                expected,
            )
            .await?
        }
    };
    Ok((done, subject))
}

/// Records an erasure request (restricting the same person's other record too) and shreds at
/// once if nothing keeps the data.
pub async fn request_erasure(
    write: &WriteSide,
    scopes: &Scopes,
    id: Uuid,
    reason: Option<Text>,
    meta: &EventMetadata,
    expected: Option<usize>,
) -> Result<ErasureOutcome, SubjectError> {
    let step = Step::RequestErasure(reason);
    let (done, subject) = run(write, scopes, id, step, meta, expected).await?;
    // The same person's other record is restricted too (their words stay with the first), and
    // the answer's position covers it (read your write).
    let also = Step::RequestErasure(None);
    let last = match on_other_record(write, id, subject, also, meta).await? {
        Some(also) => done.position.max(also.position),
        None => done.position,
    };
    settle(write, id, subject, last, meta).await
}

/// Lifts a legal hold; a shred that was only waiting for it happens now.
pub async fn lift_hold(
    write: &WriteSide,
    scopes: &Scopes,
    id: Uuid,
    reason: Option<Text>,
    meta: &EventMetadata,
    expected: Option<usize>,
) -> Result<ErasureOutcome, SubjectError> {
    let step = Step::LiftHold(reason);
    let (done, subject) = run(write, scopes, id, step, meta, expected).await?;
    let (due, requested) = match subject {
        Subject::Lead => {
            let (lead, _) = write.leads.load(&id.to_string()).await?;
            // Its client was erased while this hold kept the lead: it goes now.
            let erased = erasure::erase_lead_with_its_client(
                &write.clients,
                &write.leads,
                &write.keyring,
                &lead,
                &id.to_string(),
                meta,
            )
            .await?;
            if let Some(position) = erased {
                return Ok(ErasureOutcome {
                    state: ErasureState::Erased,
                    position,
                });
            }
            (lead.erasure_due(), lead.erasure_requested())
        }
        Subject::Client { .. } => {
            let (client, _) = write.clients.load(&id.to_string()).await?;
            let due = client
                .erasure_blocker(Utc::now(), write.retention)
                .is_none();
            (due, client.erasure_requested())
        }
    };
    let state = match (due, requested) {
        (true, _) => return settle(write, id, subject, done.position, meta).await,
        (false, false) => ErasureState::NotRequested,
        (false, true) => ErasureState::Restricted {
            blocked_by: "no erasure is due".into(),
        },
    };
    Ok(ErasureOutcome {
        state,
        position: done.position,
    })
}

/// Shreds now if nothing blocks it; otherwise says what does.
async fn settle(
    write: &WriteSide,
    id: Uuid,
    subject: Subject,
    position: i64,
    meta: &EventMetadata,
) -> Result<ErasureOutcome, SubjectError> {
    let outcome = match subject {
        Subject::Lead => {
            erasure::erase_if_allowed(&write.leads, &write.keyring, &id.to_string(), meta).await?
        }
        Subject::Client { .. } => {
            erasure::erase_client_if_allowed(
                &write.db,
                &*write.documents,
                &write.clients,
                &write.leads,
                &write.keyring,
                id,
                meta,
            )
            .await?
        }
    };
    Ok(match outcome {
        Erasure::Erased { position } => ErasureOutcome {
            state: ErasureState::Erased,
            position,
        },
        Erasure::Blocked { reason } => ErasureOutcome {
            state: ErasureState::Restricted {
                blocked_by: reason.to_string(),
            },
            position,
        },
    })
}
