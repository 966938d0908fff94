//! Access records: who was shown a person's data, and when (`PiiViewed`).

use domain::access::{AccessCommand, AccessError, AccessKind};
use store::EventMetadata;
use uuid::Uuid;

use crate::CommandError;

/// Records that the caller (in `meta`) was shown the data of `subject_id`: a `PiiViewed` event
/// on a stream of its own, so one insert, nothing loaded, no contention with the person's
/// record.
pub async fn record(
    write: &crate::WriteSide,
    subject_type: &str,
    subject_id: Uuid,
    kind: AccessKind,
    meta: &EventMetadata,
) -> Result<(), CommandError<AccessError>> {
    let command = AccessCommand::Record {
        subject_type: subject_type.to_string(),
        subject_id,
        kind,
    };
    write
        .access
        .create(&Uuid::now_v7().to_string(), command, meta)
        .await?;
    Ok(())
}

/// Records that the caller was shown the data of each of `subject_ids` (an export): one
/// `PiiViewed` each, written concurrently so that the store's group commit takes them in few
/// transactions.
pub async fn record_many(
    write: &crate::WriteSide,
    subject_type: &str,
    subject_ids: &[Uuid],
    kind: AccessKind,
    meta: &EventMetadata,
) -> Result<(), CommandError<AccessError>> {
    use futures::stream::{self, StreamExt, TryStreamExt};
    stream::iter(subject_ids.iter().copied())
        .map(|id| record(write, subject_type, id, kind, meta))
        .buffer_unordered(128)
        .try_collect::<()>()
        .await
}
