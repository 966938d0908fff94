//! The sealed-document read model fed events directly, on a real SQLite store: rows with their
//! indexed columns, personal fields sealed at rest, an erased subject's row emptied, and an
//! undecodable event set aside as a dead letter without stopping the batch.

use std::sync::Arc;

use cqrs_es::DomainEvent;
use domain::lead::{CaptureChannel, LeadDetails, LeadEvent, LeadSource, LeadStatus};
use domain::values::{Email, PersonName, Phone};
use serde_json::Value;
use store::privacy::{Keyring, ERASED};
use store::{Db, EventMetadata};

use super::*;
use crate::leads::LeadView;

fn stored(position: i64, sequence: i64, lead: &str, event: &LeadEvent) -> StoredEvent {
    StoredEvent {
        position,
        tx_id: 0,
        aggregate_type: "lead".into(),
        aggregate_id: lead.into(),
        sequence,
        event_type: event.event_type(),
        event_version: event.event_version(),
        payload: serde_json::to_value(event).unwrap(),
        metadata: serde_json::to_value(EventMetadata::system(None).to_map()).unwrap(),
    }
}

fn captured(id: uuid::Uuid, name: &str, email: &str) -> LeadEvent {
    LeadEvent::LeadCaptured {
        lead_id: id,
        details: LeadDetails {
            name: PersonName::parse(name).unwrap(),
            email: Some(Email::parse(email).unwrap()),
            phone: Some(Phone::parse("+91 98200 12345").unwrap()),
            source: LeadSource::Referral,
            source_detail: None,
            product_interest: Vec::new(),
            preferred_contact_method: None,
            preferred_contact_time: None,
            notes: None,
            investment_capacity: None,
        },
        channel: CaptureChannel::Manual,
    }
}

async fn setup() -> (Db, Arc<Keyring>, SealedProjection<LeadView>) {
    let dir = std::env::temp_dir().join(format!("crm-sealed-{}", uuid::Uuid::new_v4().simple()));
    let db = Db::connect(None, &dir).await.unwrap();
    db.migrate().await.unwrap();
    let keyring = Arc::new(Keyring::load(&db, &dir, None, &[]).await.unwrap());
    let projection = SealedProjection::<LeadView>::new(keyring.clone());
    let ddl = crate::schema::render(&db, &projection, "", "t");
    store::with_db!(&db, pool => {
        sqlx::raw_sql(&ddl).execute(pool).await.unwrap();
    });
    (db, keyring, projection)
}

async fn run(db: &Db, projection: &SealedProjection<LeadView>, events: &[StoredEvent]) {
    projection.prepare(events).await.unwrap();
    let mut tx = Tx::begin(db).await.unwrap();
    projection.apply(&mut tx, "", events).await.unwrap();
    tx.commit().await.unwrap();
}

async fn row(db: &Db, id: &str) -> (String, Option<String>, bool, String, Value) {
    let (status, email_index, erased, search, doc): (String, Option<String>, bool, String, String) = store::with_db!(db, pool => {
        sqlx::query_as(
            "SELECT status, email_index, erased, search_tokens, CAST(doc AS TEXT) FROM leads WHERE lead_id = $1",
        )
        .bind(id)
        .fetch_one(pool)
        .await
        .unwrap()
    });
    (
        status,
        email_index,
        erased,
        search,
        serde_json::from_str(&doc).unwrap(),
    )
}

#[tokio::test]
async fn views_are_saved_sealed_with_their_columns_and_erased_subjects_keep_nothing() {
    let (db, keyring, projection) = setup().await;
    let a = uuid::Uuid::now_v7();
    let b = uuid::Uuid::now_v7();
    let (la, lb) = (a.to_string(), b.to_string());
    let contacted = LeadEvent::LeadStatusChanged {
        from: LeadStatus::New,
        to: LeadStatus::Contacted,
        reason: None,
    };
    let mut broken = stored(4, 2, &lb, &contacted);
    broken.payload = serde_json::json!({"LeadStatusChanged": {"from": "nowhere"}});
    let batch = vec![
        stored(1, 1, &la, &captured(a, "Asha Rao", "asha.rao@example.in")),
        stored(2, 1, &lb, &captured(b, "Vikram Iyer", "vikram@example.in")),
        stored(3, 2, &la, &contacted),
        broken,
    ];
    run(&db, &projection, &batch).await;

    let (status, email_index, erased, search, doc) = row(&db, &la).await;
    assert_eq!((status.as_str(), erased), ("contacted", false));
    assert_eq!(
        email_index,
        Some(keyring.blind_index("email", "asha.rao@example.in"))
    );
    assert!(
        search.contains(&keyring.blind_index("word", "asha")),
        "{search}"
    );
    // At rest the name is sealed; opened with the subject's key it reads again.
    assert_ne!(doc["name"], "Asha Rao");
    assert!(!doc.to_string().contains("asha.rao@example.in"));
    let opened: LeadView = open_view(&keyring, &la, doc).await.unwrap();
    assert_eq!(opened.name, "Asha Rao");
    assert_eq!(opened.status, LeadStatus::Contacted);

    // The undecodable event is a dead letter; its lead stays as it was.
    let (status, ..) = row(&db, &lb).await;
    assert_eq!(status, "new");
    let dead: i64 = store::with_db!(&db, pool => {
        sqlx::query_scalar("SELECT COUNT(*) FROM projection_dead_letters WHERE projection = 'leads' AND position = 4")
            .fetch_one(pool)
            .await
            .unwrap()
    });
    assert_eq!(dead, 1);

    // Erasure: the next batch folds onto the stored view and empties it.
    let erasure = vec![
        stored(
            5,
            3,
            &la,
            &LeadEvent::ErasureRequested {
                reason: None,
                retention_required: false,
            },
        ),
        stored(6, 4, &la, &LeadEvent::LeadErased),
    ];
    run(&db, &projection, &erasure).await;
    let (_, email_index, erased, search, doc) = row(&db, &la).await;
    assert!(erased);
    assert_eq!((email_index, search.trim()), (None, ""));
    assert_eq!(doc["name"], ERASED);
    assert_eq!(doc["version"], 4);
}
