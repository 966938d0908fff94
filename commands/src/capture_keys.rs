//! Capture key use cases: issuing a key (its secret shown once, only its sha256 kept),
//! revoking it, recognising a key a web form presents, and capturing a lead through it.
//!
//! A key reads `ck_<key id>_<secret>`: the id finds the key's record (folded from its events,
//! so a revocation holds at once in every process), the secret's digest must match.

use domain::capture_key::{CaptureKey, CaptureKeyCommand, CaptureKeyError, KeyTerms};
use domain::lead::{CaptureChannel, LeadCommand, LeadDetails};
use domain::values::Text;
use sha2::{Digest, Sha256};
use store::EventMetadata;
use uuid::Uuid;

use crate::leads::{contacts, LeadsError};
use crate::{CommandError, Committed, WriteSide};

/// A key just issued: its id and the whole key, which is never shown again.
#[derive(Debug, Clone)]
pub struct Issued {
    pub key_id: Uuid,
    pub key: String,
    pub committed: Committed,
}

fn digest(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

/// Issues a key with `terms`.
pub async fn issue(
    write: &WriteSide,
    terms: KeyTerms,
    meta: &EventMetadata,
) -> Result<Issued, CommandError<CaptureKeyError>> {
    let key_id = Uuid::now_v7();
    // 244 random bits from the operating system's generator.
    let secret = format!("{}{}", Uuid::new_v4().simple(), Uuid::new_v4().simple());
    let command = CaptureKeyCommand::Issue {
        key_id,
        terms,
        secret_sha256: digest(&secret),
    };
    let committed = write
        .capture_keys
        .create(&key_id.to_string(), command, meta)
        .await?;
    Ok(Issued {
        key_id,
        key: format!("ck_{}_{secret}", key_id.simple()),
        committed,
    })
}

/// Revokes the key `key_id`.
pub async fn revoke(
    write: &WriteSide,
    key_id: Uuid,
    reason: Option<Text>,
    meta: &EventMetadata,
) -> Result<Committed, CommandError<CaptureKeyError>> {
    write
        .capture_keys
        .execute(
            &key_id.to_string(),
            CaptureKeyCommand::Revoke { reason },
            meta,
            None,
        )
        .await
}

/// The key a caller presented, if it is an active key: its id and terms. Any other answer is
/// `None`, whatever was wrong (unknown, revoked, malformed, wrong secret).
pub async fn recognise(
    write: &WriteSide,
    presented: &str,
) -> Result<Option<(Uuid, KeyTerms)>, CommandError<CaptureKeyError>> {
    let Some((id, secret)) = presented
        .strip_prefix("ck_")
        .and_then(|rest| rest.split_once('_'))
    else {
        return Ok(None);
    };
    let Ok(key_id) = Uuid::try_parse(id) else {
        return Ok(None);
    };
    if secret.len() != 64 || !secret.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Ok(None);
    }
    let (key, _): (CaptureKey, _) = write.capture_keys.load(&key_id.to_string()).await?;
    if !key.accepts(&digest(secret)) {
        return Ok(None);
    }
    Ok(key.active_terms().cloned().map(|t| (key_id, t)))
}

/// Captures a lead sent through a key: source and campaign from the key, channel web form,
/// unassigned. A person already on file is not captured again and the answer says nothing
/// about it (`None`): a public form must not tell who is a prospect.
pub async fn capture(
    write: &WriteSide,
    terms: &KeyTerms,
    mut details: LeadDetails,
    meta: &EventMetadata,
) -> Result<Option<(Uuid, Committed)>, LeadsError> {
    details.source = terms.source;
    details.source_detail = terms.campaign.clone();
    let lead_id = Uuid::now_v7();
    let keys = match crate::leads::reserve_contact(write, &None, &details, lead_id).await {
        Ok(keys) => keys,
        Err(LeadsError::Duplicate { visible, .. }) => {
            // The person wrote again: their message goes on the lead they have (so the work
            // done is much the same either way, and nothing they wrote is lost).
            if let Some(existing) = visible.first() {
                again(write, *existing, terms, &details, meta).await;
            }
            return Ok(None);
        }
        Err(e) => return Err(e),
    };
    let command = LeadCommand::Capture {
        lead_id,
        details,
        channel: CaptureChannel::WebForm,
        assign_to: None,
        round_robin: false,
    };
    match write
        .leads
        .create(&lead_id.to_string(), command, meta)
        .await
    {
        Ok(done) => Ok(Some((lead_id, done))),
        Err(e) => {
            contacts::release(&write.db, &keys, lead_id).await?;
            Err(e.into())
        }
    }
}

/// Notes a repeated web-form submission on the lead the person has, with what they wrote;
/// a lead that takes no more interactions (converted, restricted) is left as it is.
async fn again(
    write: &WriteSide,
    lead_id: Uuid,
    terms: &KeyTerms,
    details: &LeadDetails,
    meta: &EventMetadata,
) {
    let message = details
        .notes
        .as_ref()
        .map(|n| n.as_str())
        .unwrap_or("no message");
    let summary = format!("Web form again ({}): {message}", terms.name.as_str());
    let Ok(summary) = Text::parse(&summary.chars().take(2000).collect::<String>(), 2000) else {
        return;
    };
    let command = LeadCommand::LogInteraction {
        interaction_id: Uuid::now_v7(),
        kind: domain::lead::InteractionKind::Note,
        direction: Some(domain::lead::InteractionDirection::Inbound),
        summary,
        occurred_at: chrono::Utc::now(),
        duration_minutes: None,
    };
    if let Err(e) = write
        .leads
        .execute(&lead_id.to_string(), command, meta, None)
        .await
    {
        tracing::info!(error = %e, "a repeated web-form submission was not noted on its lead");
    }
}
