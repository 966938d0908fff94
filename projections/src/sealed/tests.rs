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
    stored_as("lead", position, sequence, lead, event)
}

fn stored_as<E: DomainEvent>(
    aggregate_type: &str,
    position: i64,
    sequence: i64,
    id: &str,
    event: &E,
) -> StoredEvent {
    StoredEvent {
        position,
        tx_id: 0,
        aggregate_type: aggregate_type.into(),
        aggregate_id: id.into(),
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
    setup_for::<LeadView>().await
}

async fn setup_for<V: SealedDocument + 'static>() -> (Db, Arc<Keyring>, SealedProjection<V>) {
    let dir = std::env::temp_dir().join(format!("crm-sealed-{}", uuid::Uuid::new_v4().simple()));
    let db = Db::connect(None, &dir).await.unwrap();
    db.migrate().await.unwrap();
    let keyring = Arc::new(Keyring::load(&db, &dir, None, &[]).await.unwrap());
    let projection = SealedProjection::<V>::new(keyring.clone());
    let ddl = crate::schema::render(&db, &projection, "", "t");
    store::with_db!(&db, pool => {
        sqlx::raw_sql(&ddl).execute(pool).await.unwrap();
    });
    (db, keyring, projection)
}

async fn run<V: SealedDocument + 'static>(
    db: &Db,
    projection: &SealedProjection<V>,
    events: &[StoredEvent],
) {
    projection.prepare(events).await.unwrap();
    let mut tx = Tx::begin(db).await.unwrap();
    projection.apply(&mut tx, "", events).await.unwrap();
    // The checkpoint moves with the batch, as the runner moves it.
    let last = events.last().map(|e| e.position).unwrap_or(0);
    crate::with_tx!(&mut tx, t => {
        sqlx::query(
            "INSERT INTO projection_checkpoints (name, tx_id, position) VALUES ($1, 0, $2)
             ON CONFLICT (name) DO UPDATE SET position = excluded.position",
        )
        .bind(V::PROJECTION)
        .bind(last)
        .execute(&mut **t)
        .await
        .unwrap();
    });
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

#[test]
fn stored_groups_read_back_as_the_same_groups() {
    // A null of each kind stays that kind (its group key differs), and a time keeps its instant.
    let at = chrono::TimeZone::with_ymd_and_hms(&Utc, 2026, 11, 2, 9, 30, 0).unwrap();
    let groups = vec![
        vec![Cell::Text(None), Cell::Int(None), Cell::Time(None)],
        vec![
            Cell::Text(Some("Pune".into())),
            Cell::Int(Some(3)),
            Cell::Bool(true),
            Cell::Time(Some(at)),
        ],
    ];
    let stored = serde_json::to_string(&groups).unwrap();
    let back: Vec<Vec<Cell>> = serde_json::from_str(&stored).unwrap();
    assert_eq!(back, groups);
    let keys = |g: &[Vec<Cell>]| g.iter().map(|g| group_key(g)).collect::<Vec<_>>();
    assert_eq!(keys(&back), keys(&groups));
    assert_ne!(
        group_key(&[Cell::Text(None)]),
        group_key(&[Cell::Int(None)])
    );
}

#[tokio::test]
async fn a_campaign_lead_leaves_its_campaign_once_the_person_is_shredded() {
    // A campaign lead is counted by its campaign's blind index, computed from its sealed
    // source detail; once the key is gone that detail no longer reads, and the copy of the
    // model in memory must follow the lead out of its campaign.
    use crate::sales::memory::SalesMemory;
    use crate::sales::report::{sales_report, SalesFilter, Sections};
    let (db, keyring, projection) = setup_for::<crate::sales::SalesView>().await;
    let memory = SalesMemory::new();
    let id = uuid::Uuid::new_v4();
    let mut first = captured(id, "Asha Rao", "asha@example.com");
    if let LeadEvent::LeadCaptured { details, .. } = &mut first {
        details.source = LeadSource::Campaign;
        details.source_detail = Some(domain::values::Text::parse("Diwali SIP", 200).unwrap());
    }
    let lead = id.to_string();
    let pipeline = |campaign: Option<&str>| {
        let f = SalesFilter {
            visible: None,
            agents: None,
            source: None,
            campaign: campaign.map(String::from),
            from: Utc::now() - chrono::Duration::days(1),
            to: Utc::now() + chrono::Duration::days(1),
            as_of: Utc::now(),
            present: true,
            sections: Sections::Whole,
        };
        let (db, memory, keyring) = (&db, &memory, &keyring);
        async move {
            let r = sales_report(db, memory, keyring, &f).await.unwrap();
            r.pipeline.iter().map(|(_, n)| *n).collect::<Vec<i64>>()
        }
    };
    run(&db, &projection, &[stored(1, 1, &lead, &first)]).await;
    // Typed another way: the same campaign.
    assert_eq!(pipeline(Some(" diwali  SIP")).await, vec![1, 0, 0]);

    keyring.shred(&lead).await.unwrap();
    let moved = LeadEvent::LeadStatusChanged {
        from: LeadStatus::New,
        to: LeadStatus::Contacted,
        reason: None,
    };
    run(&db, &projection, &[stored(2, 2, &lead, &moved)]).await;
    // One lead, counted once: as contacted, its campaign no longer known.
    assert_eq!(pipeline(None).await, vec![0, 1, 0]);
    assert_eq!(pipeline(Some("Diwali SIP")).await, vec![0, 0, 0]);
}

#[tokio::test]
async fn the_pipeline_at_a_past_moment_is_the_stays_that_spanned_it() {
    use crate::sales::report::{sales_report, SalesFilter, Sections};
    use chrono::{Duration, TimeZone};
    let (db, keyring, projection) = setup_for::<crate::sales::SalesView>().await;
    let memory = crate::sales::memory::SalesMemory::new();
    // What the report's other parts read besides the sales facts.
    store::with_db!(&db, pool => {
        sqlx::raw_sql("CREATE TABLE portfolios (client_id text, invested text)")
            .execute(pool)
            .await
            .unwrap();
    });
    let start = Utc.with_ymd_and_hms(2026, 11, 2, 4, 0, 0).unwrap();
    let hour = |h: i64| start + Duration::hours(h);
    let moved = |from, to| LeadEvent::LeadStatusChanged {
        from,
        to,
        reason: None,
    };
    let lost = LeadEvent::LeadLost {
        from: LeadStatus::Contacted,
        reason: domain::values::Text::parse("Chose another broker", 200).unwrap(),
    };
    use LeadStatus::{Contacted, New, Qualified};
    // Four leads captured in the first hours, then worked at different times (one never).
    let leads: Vec<String> = (0..4).map(|_| uuid::Uuid::now_v7().to_string()).collect();
    let mut story: Vec<(i64, usize, LeadEvent)> = (0..4)
        .map(|i| {
            let id = uuid::Uuid::parse_str(&leads[i]).unwrap();
            (
                i as i64,
                i,
                captured(id, "Asha Rao", &format!("a{i}@example.com")),
            )
        })
        .collect();
    story.extend([
        (5, 0, moved(New, Contacted)),
        (6, 1, moved(New, Contacted)),
        (7, 2, moved(New, Qualified)),
        (8, 1, lost),
        (9, 0, moved(Contacted, Qualified)),
    ]);
    story.sort_by_key(|(h, _, _)| *h);
    let mut seq = [0i64; 4];
    let events: Vec<StoredEvent> = story
        .iter()
        .enumerate()
        .map(|(n, (h, i, event))| {
            seq[*i] += 1;
            let mut e = stored(n as i64 + 1, seq[*i], &leads[*i], event);
            let meta = EventMetadata {
                recorded_at: hour(*h),
                ..EventMetadata::system(None)
            };
            e.metadata = serde_json::to_value(meta.to_map()).unwrap();
            e
        })
        .collect();
    run(&db, &projection, &events).await;

    let pipeline_at = |h: i64| {
        let (db, memory, keyring) = (&db, &memory, &keyring);
        async move {
            let f = SalesFilter {
                visible: None,
                agents: None,
                source: None,
                campaign: None,
                from: start - Duration::days(1),
                to: start + Duration::days(1),
                as_of: hour(h),
                present: false,
                sections: Sections::Whole,
            };
            let r = sales_report(db, memory, keyring, &f).await.unwrap();
            r.pipeline.iter().map(|(_, n)| *n).collect::<Vec<i64>>()
        }
    };
    // New, contacted, qualified open at each hour, counted by hand from the story above.
    for (h, expected) in [
        (3, [4, 0, 0]),
        (5, [3, 1, 0]),
        (6, [2, 2, 0]),
        (7, [1, 2, 1]),
        (8, [1, 1, 1]),
        (9, [1, 0, 2]),
        (12, [1, 0, 2]),
    ] {
        assert_eq!(pipeline_at(h).await, expected.to_vec(), "at hour {h}");
    }
}

#[tokio::test]
async fn the_kyc_report_counts_cases_by_hand() {
    use crate::kyc::report::kyc_report;
    use chrono::{Duration, NaiveDate, TimeZone};
    use domain::kyc::{
        ClientType, DocumentReview, DocumentVerdict, KycDocument, KycDocumentType, KycEvent,
        RekycReason, Review,
    };
    use uuid::Uuid;
    let (db, keyring, projection) = setup_for::<crate::kyc::KycView>().await;
    // 06:30 UTC is noon in India: `today` is the 20th either way.
    let now = Utc.with_ymd_and_hms(2026, 11, 20, 6, 30, 0).unwrap();
    let today = NaiveDate::from_ymd_opt(2026, 11, 20).unwrap();
    let hour = |h: i64| now + Duration::hours(h);
    let clients: Vec<Uuid> = (0..10).map(|_| Uuid::now_v7()).collect();
    let branches = [
        "MUM-01", "MUM-01", "DEL-01", "DEL-01", "MUM-01", "MUM-01", "DEL-01", "MUM-01", "MUM-01",
        "DEL-01",
    ];
    store::with_db!(&db, pool => {
        sqlx::raw_sql("CREATE TABLE clients (client_id text, branch text, status text)")
            .execute(pool)
            .await
            .unwrap();
        for (i, c) in clients.iter().enumerate() {
            // Client 7 closed with a case in hand; 9 closed without one.
            let status = if i == 7 || i == 9 { "closed" } else { "active" };
            sqlx::query("INSERT INTO clients VALUES ($1, $2, $3)")
                .bind(c.to_string())
                .bind(branches[i])
                .bind(status)
                .execute(pool)
                .await
                .unwrap();
        }
    });
    let case = |i: usize| Uuid::from_u128(i as u128 + 1);
    let staff = Uuid::from_u128(99);
    let text = |s: &str| domain::values::Text::parse(s, 200).unwrap();
    let document = |id: u128, kind, expiry: Option<NaiveDate>| KycDocument {
        document_id: Uuid::from_u128(id),
        document_type: kind,
        number: None,
        number_index: None,
        issue_date: None,
        expiry_date: expiry,
        sha256: "ab".repeat(32),
        uploaded_by: staff,
    };
    let review = |i: usize, reasons: &[&str], documents: Vec<DocumentReview>| Review {
        case_id: case(i),
        reviewer: staff,
        reasons: reasons.iter().map(|r| text(r)).collect(),
        documents,
    };
    let opened = |i: usize| KycEvent::KycCaseOpened {
        case_id: case(i),
        client_id: clients[i],
        client_type: ClientType::Individual,
        derivatives: false,
        opened_by: staff,
    };
    let attached = |i: usize, d: KycDocument| KycEvent::KycDocumentAttached {
        case_id: case(i),
        document: d,
    };
    let submitted = |i: usize| KycEvent::KycSubmitted {
        case_id: case(i),
        submitted_by: staff,
    };
    let verified = |i: usize, rekyc: NaiveDate| KycEvent::KycVerified {
        review: review(i, &[], Vec::new()),
        next_rekyc_on: rekyc,
    };
    let later = today + Duration::days(730);
    // (hour, client, event): the cases of clients 0–7 (7 is closed); client 8 (active) and 9
    // (closed) have none.
    let story: Vec<(i64, usize, KycEvent)> = vec![
        // 0: verified 10 hours after submission; a passport expires in 20 days.
        (-400, 0, opened(0)),
        (
            -400,
            0,
            attached(
                0,
                document(
                    1,
                    KycDocumentType::Passport,
                    Some(today + Duration::days(20)),
                ),
            ),
        ),
        (-300, 0, submitted(0)),
        (-290, 0, verified(0, later)),
        // 1: verified after 30 hours; its re-KYC date passed yesterday (not yet moved);
        // its passport expires in 200 days.
        (-400, 1, opened(1)),
        (
            -400,
            1,
            attached(
                1,
                document(
                    2,
                    KycDocumentType::Passport,
                    Some(today + Duration::days(200)),
                ),
            ),
        ),
        (-300, 1, submitted(1)),
        (-270, 1, verified(1, today - Duration::days(1))),
        // 2: verified after 50 hours, then due again.
        (-400, 2, opened(2)),
        (-300, 2, submitted(2)),
        (-250, 2, verified(2, later)),
        (
            -100,
            2,
            KycEvent::RekycDue {
                case_id: case(2),
                reason: RekycReason::Periodic,
                document_id: None,
            },
        ),
        // 3: rejected, the photograph among the reasons.
        (-400, 3, opened(3)),
        (
            -400,
            3,
            attached(3, document(3, KycDocumentType::Photograph, None)),
        ),
        (-300, 3, submitted(3)),
        (
            -200,
            3,
            KycEvent::KycRejected {
                review: review(
                    3,
                    &["Photo does not match"],
                    vec![DocumentReview {
                        document_id: Uuid::from_u128(3),
                        verdict: DocumentVerdict::Rejected,
                        reason: Some(text("Blurred")),
                        sha256: "ab".repeat(32),
                    }],
                ),
            },
        ),
        // 4: sent back for revision.
        (-400, 4, opened(4)),
        (-300, 4, submitted(4)),
        (
            -200,
            4,
            KycEvent::KycRevisionRequested {
                review: review(4, &["Bank proof unreadable"], Vec::new()),
            },
        ),
        // 5: waiting ten days; 6: under review since yesterday; 7: documents not submitted.
        (-300, 5, opened(5)),
        (-240, 5, submitted(5)),
        (-30, 6, opened(6)),
        (-24, 6, submitted(6)),
        (
            -20,
            6,
            KycEvent::KycReviewStarted {
                case_id: case(6),
                reviewer: staff,
            },
        ),
        (-10, 7, opened(7)),
    ];
    let mut sequence = [0i64; 10];
    let mut ordered = story;
    ordered.sort_by_key(|(h, _, _)| *h);
    let events: Vec<StoredEvent> = ordered
        .iter()
        .enumerate()
        .map(|(n, (h, i, event))| {
            sequence[*i] += 1;
            let id = clients[*i].to_string();
            let mut e = stored_as("kyc", n as i64 + 1, sequence[*i], &id, event);
            e.metadata = serde_json::to_value(
                EventMetadata {
                    recorded_at: hour(*h),
                    ..EventMetadata::system(None)
                }
                .to_map(),
            )
            .unwrap();
            e
        })
        .collect();
    run(&db, &projection, &events).await;

    let pairs = |v: &[(&str, i64)]| {
        v.iter()
            .map(|(k, n)| (k.to_string(), *n))
            .collect::<Vec<_>>()
    };
    let all = kyc_report(&db, &keyring, None, now).await.unwrap();
    assert_eq!(
        pairs(&all.by_status),
        pairs(&[
            ("pending", 1),
            ("submitted", 1),
            ("under_review", 1),
            ("verified", 2),
            ("rejected", 1),
            ("revision_requested", 1),
            ("rekyc_due", 1),
        ])
    );
    assert_eq!(all.without_case, 1);
    assert_eq!(
        pairs(&all.review_ageing),
        pairs(&[("0-2", 1), ("3-7", 0), ("8-30", 1), ("31+", 0)])
    );
    // Verified now: 10 and 30 hours (the case due again no longer counts).
    assert_eq!(all.approval_hours_median, Some(10.0));
    assert_eq!(all.approval_hours_p90, Some(30.0));
    assert_eq!(all.rejected_documents, vec![("photograph".to_string(), 1)]);
    assert_eq!(
        all.rejection_reasons,
        vec![
            ("Bank proof unreadable".to_string(), 1),
            ("Blurred".to_string(), 1),
            ("Photo does not match".to_string(), 1),
        ]
    );
    assert_eq!(all.expiring, vec![(30, 1), (60, 1), (90, 1)]);
    assert_eq!(all.rekyc_overdue, 2);
    assert_eq!(
        pairs(&all.trading_blocked),
        pairs(&[
            ("no_kyc_case", 1),
            ("kyc_not_verified", 5),
            ("rekyc_due", 1)
        ])
    );

    // One branch: clients 0, 1, 4, 5, 7 and 8.
    let mum = kyc_report(&db, &keyring, Some("MUM-01"), now)
        .await
        .unwrap();
    assert_eq!(
        pairs(&mum.by_status),
        pairs(&[
            ("pending", 1),
            ("submitted", 1),
            ("under_review", 0),
            ("verified", 2),
            ("rejected", 0),
            ("revision_requested", 1),
            ("rekyc_due", 0),
        ])
    );
    assert_eq!(mum.without_case, 1);
    assert_eq!(
        pairs(&mum.review_ageing),
        pairs(&[("0-2", 0), ("3-7", 0), ("8-30", 1), ("31+", 0)])
    );
    assert!(mum.rejected_documents.is_empty());
    assert_eq!(
        mum.rejection_reasons,
        vec![("Bank proof unreadable".to_string(), 1)]
    );
    assert_eq!(mum.expiring, vec![(30, 1), (60, 1), (90, 1)]);
    assert_eq!(mum.rekyc_overdue, 1);
    assert_eq!(
        pairs(&mum.trading_blocked),
        pairs(&[
            ("no_kyc_case", 1),
            ("kyc_not_verified", 3),
            ("rekyc_due", 0)
        ])
    );

    // A shredded client's reasons read as erased, never as their text.
    keyring.shred(&clients[4].to_string()).await.unwrap();
    let after = kyc_report(&db, &keyring, Some("MUM-01"), now)
        .await
        .unwrap();
    assert_eq!(after.rejection_reasons, vec![(ERASED.to_string(), 1)]);
}

#[tokio::test]
async fn the_sales_copy_followed_batch_by_batch_equals_one_read_whole() {
    // The copy of the sales facts in memory takes in only the leads saved since it last read;
    // after every batch of moves, reassignments, losses, reopenings and follow-ups it must
    // count exactly as a copy read whole from the same tables.
    use crate::sales::memory::SalesMemory;
    use crate::sales::report::{sales_report, SalesFilter, Sections};
    use domain::access::LeadScope;
    use domain::lead::FollowUpChannel;
    use LeadStatus::{Contacted, Lost, New, Qualified};
    let (db, keyring, projection) = setup_for::<crate::sales::SalesView>().await;
    store::with_db!(&db, pool => {
        sqlx::raw_sql("CREATE TABLE portfolios (client_id text, invested text)")
            .execute(pool)
            .await
            .unwrap();
    });
    let followed = SalesMemory::new();
    let agents: Vec<uuid::Uuid> = (0..3).map(|_| uuid::Uuid::new_v4()).collect();
    let leads: Vec<String> = (0..40).map(|_| uuid::Uuid::now_v7().to_string()).collect();
    let mut seq = vec![0i64; leads.len()];
    let mut status = vec![New; leads.len()];
    let mut follow_up: Vec<Option<uuid::Uuid>> = vec![None; leads.len()];
    let mut position = 0i64;
    let start = Utc::now();
    let mut mid = None;
    for round in 0..12usize {
        let mut batch = Vec::new();
        for i in 0..leads.len() {
            let event = if round == 0 {
                captured(
                    uuid::Uuid::parse_str(&leads[i]).unwrap(),
                    "Asha Rao",
                    &format!("lead{i}@example.com"),
                )
            } else if (i * 7 + round * 3) % 4 != 0 {
                continue;
            } else {
                let text = |t: &str| domain::values::Text::parse(t, 200).unwrap();
                match ((i + round) % 6, status[i]) {
                    (0, _) => LeadEvent::LeadAssigned {
                        agent_id: agents[(i + round) % 3],
                        previous_agent_id: None,
                        round_robin: false,
                        reason: None,
                    },
                    (1, _) if follow_up[i].is_none() => {
                        let id = uuid::Uuid::new_v4();
                        follow_up[i] = Some(id);
                        LeadEvent::FollowUpScheduled {
                            follow_up_id: id,
                            due_at: Utc::now() + chrono::Duration::hours(round as i64 - 6),
                            channel: FollowUpChannel::Call,
                            note: None,
                        }
                    }
                    (1, _) => LeadEvent::FollowUpCompleted {
                        follow_up_id: follow_up[i].take().unwrap(),
                        outcome: None,
                    },
                    (_, Lost) => {
                        status[i] = New;
                        LeadEvent::LeadReopened {
                            to: New,
                            reason: None,
                        }
                    }
                    (2, from) => {
                        status[i] = Lost;
                        LeadEvent::LeadLost {
                            from,
                            reason: text(["Chose another broker", "Not reachable"][i % 2]),
                        }
                    }
                    (_, from) => {
                        let to = match from {
                            New => Contacted,
                            _ => Qualified,
                        };
                        status[i] = to;
                        LeadEvent::LeadStatusChanged {
                            from,
                            to,
                            reason: None,
                        }
                    }
                }
            };
            position += 1;
            seq[i] += 1;
            batch.push(stored(position, seq[i], &leads[i], &event));
        }
        run(&db, &projection, &batch).await;
        if round == 6 {
            mid = Some(Utc::now());
        }
        let day = chrono::Duration::days(1);
        let asks = [
            (None, None, true),
            (Some(vec![agents[0], agents[1]]), None, true),
            (None, Some(agents[2]), true),
            (None, None, false),
        ];
        for (agents_asked, scope, present) in asks {
            let f = SalesFilter {
                visible: scope.map(|a| LeadScope {
                    agents: vec![a],
                    unassigned: false,
                }),
                agents: agents_asked,
                source: None,
                campaign: None,
                from: start - day,
                to: start + day,
                as_of: if present {
                    Utc::now()
                } else {
                    mid.unwrap_or_else(Utc::now)
                },
                present,
                sections: Sections::Whole,
            };
            let by_steps = sales_report(&db, &followed, &keyring, &f).await.unwrap();
            let whole = sales_report(&db, &SalesMemory::new(), &keyring, &f)
                .await
                .unwrap();
            assert_eq!(by_steps, whole, "round {round}, {f:?}");
        }
    }
}
