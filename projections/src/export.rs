//! Everything held about a person, gathered for a data-subject access request: the records of
//! both their ids (the lead and the client it became), every change to either, and who was
//! shown their data.

use store::privacy::Keyring;
use store::Db;
use uuid::Uuid;

use crate::clients::ClientView;
use crate::history::{HistoryFilter, HistoryRow};
use crate::leads::LeadView;
use crate::timeline::TimelineEntry;
use crate::ProjectionError;

/// Which records make up the person.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Records {
    /// A lead that never became a client.
    Lead(Uuid),
    /// A client, with the lead they came from.
    Client {
        client_id: Uuid,
        lead_id: Option<Uuid>,
    },
}

/// What the read side holds about one person.
#[derive(Debug, Clone)]
pub struct Person {
    pub lead: Option<LeadView>,
    pub client: Option<ClientView>,
    /// The client's KYC (cases, risk profile, registries), if any.
    pub kyc: Option<crate::kyc::KycView>,
    /// Every change to any of the records, in log order.
    pub history: Vec<TimelineEntry>,
    /// Each time someone was shown the person's data (or it was exported), oldest first.
    pub accessed_by: Vec<HistoryRow>,
}

/// Gathers the person's records; `None` when their main record is not (yet) in the read model.
pub async fn person(
    db: &Db,
    keyring: &Keyring,
    records: Records,
) -> Result<Option<Person>, ProjectionError> {
    let lead_of = |id| async move { crate::leads::query::get(db, keyring, id).await };
    let (lead_id, client) = match records {
        Records::Lead(id) => (Some(id), None),
        Records::Client { client_id, lead_id } => {
            match crate::clients::query::get(db, keyring, client_id).await? {
                Some(view) => (lead_id, Some(view)),
                None => return Ok(None),
            }
        }
    };
    let lead = match lead_id {
        Some(id) => lead_of(id).await?,
        None => None,
    };
    if client.is_none() && lead.is_none() {
        return Ok(None);
    }
    let mut history = Vec::new();
    let mut subjects = Vec::new();
    let mut kyc = None;
    if let Some(c) = &client {
        history.extend(
            crate::timeline::history::<ClientView>(db, keyring, c.client_id)
                .await?
                .0,
        );
        let (entries, view) = crate::kyc::client_timeline(db, keyring, c.client_id).await?;
        history.extend(entries);
        history.extend(crate::investments::client_timeline(db, keyring, c.client_id).await?);
        kyc = view;
        subjects.push(c.client_id);
    }
    if let Some(l) = &lead {
        history.extend(
            crate::timeline::history::<LeadView>(db, keyring, l.lead_id)
                .await?
                .0,
        );
        subjects.push(l.lead_id);
    }
    history.sort_by_key(|h| h.position);
    let mut accessed_by = Vec::new();
    for s in subjects {
        let filter = HistoryFilter {
            subject_id: Some(s.to_string()),
            limit: 10_000,
            ..Default::default()
        };
        accessed_by.extend(
            crate::history::query(db, &filter)
                .await?
                .into_iter()
                .filter(|r| r.event_type == "PiiViewed" || r.event_type == "SubjectDataExported"),
        );
    }
    accessed_by.sort_by_key(|a| a.recorded_at);
    Ok(Some(Person {
        lead,
        client,
        kyc,
        history,
        accessed_by,
    }))
}
