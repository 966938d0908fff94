//! Webhook subscription use cases: making one (its secret generated here, sealed with the
//! master key in the subscription's row, shown once), replaying history to it and removing it,
//! each a recorded event. The row is made first, inactive; the notifications projection makes
//! it active as it applies the `WebhookSubscribed` event, so deliveries start exactly after it.

use chrono::Utc;
use domain::webhook::{WebhookCommand, WebhookError, WebhookSubscription, WebhookTerms};
use store::{with_db, EventMetadata};
use uuid::Uuid;

use crate::{CommandError, Committed, WriteSide};

/// A subscription just made: its id, its terms and its secret, which is never shown again.
#[derive(Debug, Clone)]
pub struct Subscribed {
    pub id: Uuid,
    pub terms: WebhookTerms,
    pub secret: String,
    pub committed: Committed,
}

/// Makes a subscription with `terms` for `by`.
pub async fn subscribe(
    write: &WriteSide,
    terms: WebhookTerms,
    by: Uuid,
    meta: &EventMetadata,
) -> Result<Subscribed, CommandError<WebhookError>> {
    let id = Uuid::now_v7();
    // 244 random bits from the operating system's generator.
    let secret = format!(
        "whsec_{}{}",
        Uuid::new_v4().simple(),
        Uuid::new_v4().simple()
    );
    let sealed = write.keyring.seal_secret(
        &store::privacy::webhook_secret_label(&id.to_string()),
        &secret,
    );
    let turn = write.db.write_turn().await;
    with_db!(&write.db, pool => {
        sqlx::query(
            "INSERT INTO webhook_subscriptions (id, url, event_types, secret, description,
               active, created_at, created_by, personal_data)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(id.to_string())
        .bind(&terms.url)
        .bind(terms.event_types.join(","))
        .bind(&sealed)
        .bind(terms.description.as_ref().map(|d| d.as_str().to_string()))
        .bind(false)
        .bind(Utc::now())
        .bind(by.to_string())
        .bind(terms.personal_data)
        .execute(pool)
        .await
        .map_err(CommandError::store)?;
    });
    drop(turn);
    // The log keeps where deliveries go without what a URL may carry besides (a token in
    // its query): the row keeps the whole URL.
    let recorded = WebhookTerms {
        url: without_query(&terms.url),
        ..terms.clone()
    };
    let committed = write
        .webhooks
        .create(
            &id.to_string(),
            WebhookCommand::Subscribe {
                subscription_id: id,
                terms: recorded,
            },
            meta,
        )
        .await?;
    Ok(Subscribed {
        id,
        terms,
        secret,
        committed,
    })
}

/// `url` without its query and fragment.
fn without_query(url: &str) -> String {
    url.split(['?', '#']).next().unwrap_or_default().to_string()
}

/// Records the subscriptions made before they were recorded events (rows without a
/// `WebhookSubscribed`), so that they can be removed and replayed like any other, as the
/// system. Answers how many.
pub async fn record_unrecorded(write: &WriteSide) -> Result<usize, CommandError<WebhookError>> {
    type Row = (String, String, String, Option<String>, bool);
    let rows: Vec<Row> = with_db!(&write.db, pool => {
        sqlx::query_as(
            "SELECT id, url, event_types, description, personal_data FROM webhook_subscriptions
              WHERE active = $1",
        )
        .bind(true)
        .fetch_all(pool)
        .await
        .map_err(CommandError::store)?
    });
    let mut done = 0;
    for (id, url, types, description, personal_data) in rows {
        let Ok(subscription_id) = Uuid::parse_str(&id) else {
            continue;
        };
        // One that cannot be read or recorded (another process recording it at the same
        // time) stops no other.
        match write.webhooks.load(&id).await {
            Ok((subscription, _)) if subscription.active() == Err(WebhookError::NotFound) => {}
            Ok(_) => continue,
            Err(e) => {
                tracing::warn!(subscription = %id, error = %e, "a webhook subscription could not be read");
                continue;
            }
        }
        let terms = WebhookTerms {
            url: without_query(&url),
            event_types: types.split(',').map(str::to_string).collect(),
            description: description.and_then(|d| domain::values::Text::parse(&d, 200).ok()),
            personal_data,
        };
        let command = WebhookCommand::Subscribe {
            subscription_id,
            terms,
        };
        match write
            .webhooks
            .create(&id, command, &EventMetadata::system(None))
            .await
        {
            Ok(_) => done += 1,
            Err(e) => {
                tracing::warn!(subscription = %id, error = %e, "a webhook subscription could not be recorded")
            }
        }
    }
    Ok(done)
}

/// Whether the subscription `id` stands (made, not removed); or why not.
pub async fn standing(write: &WriteSide, id: Uuid) -> Result<(), CommandError<WebhookError>> {
    let (subscription, _): (WebhookSubscription, _) = write.webhooks.load(&id.to_string()).await?;
    subscription.active().map_err(CommandError::Rejected)
}

/// Records that `queued` deliveries of the events after `from` and up to `to` were queued
/// again for the subscription `id`.
pub async fn record_replay(
    write: &WriteSide,
    id: Uuid,
    (from, to): (i64, i64),
    queued: u64,
    meta: &EventMetadata,
) -> Result<Committed, CommandError<WebhookError>> {
    let command = WebhookCommand::RecordReplay {
        from_position: from,
        to_position: to,
        queued,
    };
    write
        .webhooks
        .execute(&id.to_string(), command, meta, None)
        .await
}

/// Removes the subscription `id`: nothing more is delivered to it.
pub async fn remove(
    write: &WriteSide,
    id: Uuid,
    meta: &EventMetadata,
) -> Result<Committed, CommandError<WebhookError>> {
    write
        .webhooks
        .execute(&id.to_string(), WebhookCommand::Remove, meta, None)
        .await
}
