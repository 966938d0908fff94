//! The use cases against a real SQLite store (a fresh file per test), with the read-model
//! lookups answered by a fixed staff list.

use std::sync::{Arc, Mutex};

use domain::access::{Actor, ClientScope, LeadScope};
use domain::client::{ClientProfile, RetentionPolicy};
use domain::lead::{CaptureChannel, LeadCommand, LeadDetails, LeadSource, LeadStatus};
use domain::user::{Branch, Role};
use domain::values::{BirthDate, Email, Pan, PersonName, Phone, RetentionPeriod, Text};
use store::privacy::Keyring;
use store::{Db, EventMetadata, LogSignal};
use uuid::Uuid;

use crate::clients::{ClientsError, NewClient};
use crate::leads::{Assignee, LeadsError, NewLead};
use crate::lookups::{ClientWatched, LeadOnFile, Lookup, Lookups, StaffMember};
use crate::privacy::subjects::{self, ErasureState, Scopes};
use crate::WriteSide;

/// Staff, and the leads a contact search finds.
#[derive(Default)]
struct Fixed {
    staff: Vec<StaffMember>,
    on_file: Mutex<Vec<LeadOnFile>>,
}

impl Lookups for Fixed {
    fn staff_member(&self, user_id: Uuid) -> Lookup<'_, Option<StaffMember>> {
        let found = self.staff.iter().find(|s| s.user_id == user_id).cloned();
        Box::pin(async move { Ok(found) })
    }
    fn active_staff<'a>(&'a self, branch: Option<&'a str>) -> Lookup<'a, Vec<StaffMember>> {
        let found = self
            .staff
            .iter()
            .filter(|s| s.active && branch.is_none_or(|b| s.branch.as_deref() == Some(b)))
            .cloned()
            .collect();
        Box::pin(async move { Ok(found) })
    }
    fn branch_members<'a>(&'a self, branch: &'a str) -> Lookup<'a, Vec<Uuid>> {
        let found = self
            .staff
            .iter()
            .filter(|s| s.serves(branch))
            .map(|s| s.user_id)
            .collect();
        Box::pin(async move { Ok(found) })
    }
    fn leads_with_contact<'a>(
        &'a self,
        _email: Option<&'a str>,
        _phone: Option<&'a str>,
    ) -> Lookup<'a, Vec<LeadOnFile>> {
        let found = self.on_file.lock().unwrap().clone();
        Box::pin(async move { Ok(found) })
    }
    fn lead_erasures_due(&self) -> Lookup<'_, Vec<String>> {
        Box::pin(async { Ok(Vec::new()) })
    }
    fn clients_to_watch(&self) -> Lookup<'_, Vec<ClientWatched>> {
        Box::pin(async { Ok(Vec::new()) })
    }

    fn lag_of<'a>(&'a self, _projections: &'a [&'a str]) -> Lookup<'a, i64> {
        Box::pin(async { Ok(0) })
    }

    fn dormant_clients(
        &self,
        _cutoff: chrono::NaiveDate,
    ) -> Lookup<'_, Vec<(Uuid, chrono::NaiveDate)>> {
        Box::pin(async { Ok(Vec::new()) })
    }

    fn kyc_to_check(&self, _by: chrono::NaiveDate) -> Lookup<'_, Vec<Uuid>> {
        Box::pin(async { Ok(Vec::new()) })
    }
}

fn member(role: Role, branch: &str) -> StaffMember {
    StaffMember {
        user_id: Uuid::now_v7(),
        role,
        branch: Some(branch.to_string()),
        active: true,
    }
}

fn actor(m: &StaffMember) -> Actor {
    Actor {
        user_id: m.user_id,
        role: m.role,
        branch: m.branch.clone(),
    }
}

fn admin() -> Actor {
    Actor {
        user_id: Uuid::now_v7(),
        role: Role::Admin,
        branch: None,
    }
}

async fn open(lookups: Arc<Fixed>) -> WriteSide {
    let dir = std::env::temp_dir().join(format!("crm-commands-{}", Uuid::new_v4().simple()));
    let db = Db::connect(None, &dir).await.unwrap();
    db.migrate().await.unwrap();
    let keyring = Arc::new(Keyring::load(&db, &dir, None, &[]).await.unwrap());
    let retention = RetentionPolicy {
        client_records: RetentionPeriod::parse("8y").unwrap(),
        kyc_documents: RetentionPeriod::parse("5y").unwrap(),
    };
    WriteSide::open(
        &db,
        keyring,
        LogSignal::default(),
        retention,
        Default::default(),
        lookups,
    )
}

fn details(name: &str) -> LeadDetails {
    LeadDetails {
        name: PersonName::parse(name).unwrap(),
        email: Some(Email::parse("asha.rao@example.in").unwrap()),
        phone: None,
        source: LeadSource::Website,
        source_detail: None,
        product_interest: Vec::new(),
        preferred_contact_method: None,
        preferred_contact_time: None,
        notes: None,
        investment_capacity: None,
    }
}

fn new_lead(name: &str) -> NewLead {
    NewLead {
        details: details(name),
        channel: CaptureChannel::Manual,
        assign_to: None,
        round_robin: false,
        allow_duplicate: false,
    }
}

fn profile(pan: &str) -> ClientProfile {
    ClientProfile {
        name: PersonName::parse("Asha Rao").unwrap(),
        email: Email::parse("asha.rao@example.in").unwrap(),
        phone: Phone::parse("9876543210").unwrap(),
        pan: Pan::parse(pan).unwrap(),
        date_of_birth: BirthDate::parse("1988-04-12", chrono::Utc::now().date_naive()).unwrap(),
        address: Text::parse("12 Marine Drive, Mumbai 400002", 500).unwrap(),
    }
}

fn meta() -> EventMetadata {
    EventMetadata::system(None)
}

#[tokio::test]
async fn capture_assigns_an_agents_own_lead_and_names_only_visible_duplicates() {
    let agent = member(Role::RelationshipManager, "MUM-01");
    let other = member(Role::RelationshipManager, "MUM-01");
    let lookups = Arc::new(Fixed {
        staff: vec![agent.clone(), other.clone()],
        ..Default::default()
    });
    let write = open(lookups.clone()).await;
    let scope = actor(&agent).lead_scope(&[]);
    let (id, done) = crate::leads::capture(
        &write,
        &actor(&agent),
        &scope,
        new_lead("Asha Rao"),
        &meta(),
    )
    .await
    .unwrap();
    assert_eq!(done.appended, 2, "captured, and assigned to the agent");
    let (lead, _) = write.leads.load(&id.to_string()).await.unwrap();
    assert_eq!(
        lead.assignee(),
        Some(agent.user_id),
        "an agent's capture is theirs"
    );

    // The same person again: refused, and a lead in another agent's book is not named.
    lookups.on_file.lock().unwrap().extend([
        LeadOnFile {
            lead_id: id,
            assignee: Some(agent.user_id),
        },
        LeadOnFile {
            lead_id: Uuid::now_v7(),
            assignee: Some(other.user_id),
        },
    ]);
    let e = crate::leads::capture(
        &write,
        &actor(&agent),
        &scope,
        new_lead("Asha Rao"),
        &meta(),
    )
    .await
    .unwrap_err();
    assert!(
        matches!(&e, LeadsError::Duplicate { visible, hidden }
            if *visible == vec![id] && hidden.len() == 1),
        "{e:?}"
    );
    // The read model not yet caught up: the contact register still refuses the same person.
    lookups.on_file.lock().unwrap().clear();
    let e = crate::leads::capture(
        &write,
        &actor(&agent),
        &scope,
        new_lead("Asha Rao"),
        &meta(),
    )
    .await
    .unwrap_err();
    assert!(
        matches!(&e, LeadsError::Duplicate { visible, hidden }
            if *visible == vec![id] && hidden.is_empty()),
        "{e:?}"
    );
    let mut again = new_lead("Asha Rao");
    again.allow_duplicate = true;
    crate::leads::capture(&write, &actor(&agent), &scope, again, &meta())
        .await
        .unwrap();
}

#[tokio::test]
async fn assignment_rotates_past_the_current_agent_and_refuses_outsiders() {
    let a = member(Role::RelationshipManager, "MUM-01");
    let b = member(Role::RelationshipManager, "MUM-01");
    let delhi = member(Role::RelationshipManager, "DEL-01");
    let manager = member(Role::BranchManager, "MUM-01");
    let write = open(Arc::new(Fixed {
        staff: vec![a.clone(), b.clone(), delhi.clone(), manager.clone()],
        ..Default::default()
    }))
    .await;
    let boss = actor(&manager);
    let scope = boss.lead_scope(&[a.user_id, b.user_id]);
    let (id, _) = crate::leads::capture(&write, &boss, &scope, new_lead("Asha Rao"), &meta())
        .await
        .unwrap();
    for _ in 0..3 {
        let (before, _) = write.leads.load(&id.to_string()).await.unwrap();
        crate::leads::assign(
            &write,
            &boss,
            &scope,
            id,
            Assignee::RoundRobin,
            None,
            &meta(),
            None,
        )
        .await
        .unwrap();
        let (after, _) = write.leads.load(&id.to_string()).await.unwrap();
        assert_ne!(
            after.assignee(),
            before.assignee(),
            "round-robin passes over the holder"
        );
        assert!([a.user_id, b.user_id].contains(&after.assignee().unwrap()));
    }
    let e = crate::leads::assign(
        &write,
        &boss,
        &scope,
        id,
        Assignee::Agent(delhi.user_id),
        None,
        &meta(),
        None,
    )
    .await
    .unwrap_err();
    assert!(matches!(e, LeadsError::NotAssignable), "{e:?}");
    let unseen = Some(LeadScope {
        agents: vec![delhi.user_id],
        unassigned: false,
    });
    let e = crate::leads::assign(
        &write,
        &boss,
        &unseen,
        id,
        Assignee::RoundRobin,
        None,
        &meta(),
        None,
    )
    .await
    .unwrap_err();
    assert!(
        matches!(e, LeadsError::Command(_)),
        "a lead out of sight is not found: {e:?}"
    );
}

#[tokio::test]
async fn onboarding_checks_the_branch_the_book_the_lead_and_the_pan() {
    let agent = member(Role::RelationshipManager, "MUM-01");
    let write = open(Arc::new(Fixed {
        staff: vec![agent.clone()],
        ..Default::default()
    }))
    .await;
    let me = actor(&agent);
    let new = |pan: &str, branch: &str, lead_id: Option<Uuid>| NewClient {
        lead_id,
        profile: profile(pan),
        branch: Some(Branch::parse(branch).unwrap()),
        relationship_manager: None,
        details: Default::default(),
    };
    let scope = me.lead_scope(&[]);
    let e = crate::clients::onboard(
        &write,
        &me,
        &scope,
        new("ABCPR1234F", "DEL-01", None),
        &meta(),
    )
    .await
    .unwrap_err();
    assert!(matches!(e, ClientsError::OutsideBook(_)), "{e:?}");
    let e = crate::clients::onboard(
        &write,
        &admin(),
        &None,
        new("ABCPR1234F", "PUN-01", None),
        &meta(),
    )
    .await
    .unwrap_err();
    assert!(
        matches!(
            e,
            ClientsError::Invalid {
                field: "branch",
                ..
            }
        ),
        "unstaffed: {e:?}"
    );

    // From a lead: only once it is converted, and under the id its conversion named.
    let (lead, _) = crate::leads::capture(&write, &me, &scope, new_lead("Asha Rao"), &meta())
        .await
        .unwrap();
    let e = crate::clients::onboard(
        &write,
        &me,
        &scope,
        new("ABCPR1234F", "MUM-01", Some(lead)),
        &meta(),
    )
    .await
    .unwrap_err();
    assert!(
        matches!(
            e,
            ClientsError::Invalid {
                field: "lead_id",
                ..
            }
        ),
        "{e:?}"
    );
    let client_id = Uuid::now_v7();
    for to in [
        LeadStatus::Contacted,
        LeadStatus::Qualified,
        LeadStatus::Converted,
    ] {
        let command = LeadCommand::ChangeStatus {
            to,
            reason: None,
            client_id,
        };
        crate::leads::run(&write, &scope, lead, command, &meta(), None)
            .await
            .unwrap();
    }
    let (id, _) = crate::clients::onboard(
        &write,
        &me,
        &scope,
        new("ABCPR1234F", "MUM-01", Some(lead)),
        &meta(),
    )
    .await
    .unwrap();
    assert_eq!(id, client_id);
    let (client, _) = write.clients.load(&id.to_string()).await.unwrap();
    assert_eq!(client.relationship_manager(), Some(agent.user_id));

    // One client per PAN: the holder is named to those who may see them.
    let e = crate::clients::onboard(
        &write,
        &admin(),
        &None,
        new("ABCPR1234F", "MUM-01", None),
        &meta(),
    )
    .await
    .unwrap_err();
    assert!(
        matches!(&e, ClientsError::DuplicatePan { visible } if *visible == vec![id]),
        "{e:?}"
    );
}

#[tokio::test]
async fn privacy_requests_reach_the_whole_person() {
    let agent = member(Role::RelationshipManager, "MUM-01");
    let write = open(Arc::new(Fixed {
        staff: vec![agent.clone()],
        ..Default::default()
    }))
    .await;
    let me = actor(&agent);
    let everything = Scopes {
        leads: None,
        clients: ClientScope::All,
    };

    // A prospect is erased at once.
    let (prospect, _) = crate::leads::capture(&write, &me, &None, new_lead("Ravi Kumar"), &meta())
        .await
        .unwrap();
    let outcome = subjects::request_erasure(&write, &everything, prospect, None, &meta(), None)
        .await
        .unwrap();
    assert_eq!(outcome.state, ErasureState::Erased);
    assert!(write
        .keyring
        .is_shredded(&prospect.to_string())
        .await
        .unwrap());

    // A client is kept (restricted), and so is the lead they came from.
    let (lead, _) = crate::leads::capture(&write, &me, &None, new_lead("Asha Rao"), &meta())
        .await
        .unwrap();
    let client_id = Uuid::now_v7();
    for to in [
        LeadStatus::Contacted,
        LeadStatus::Qualified,
        LeadStatus::Converted,
    ] {
        let command = LeadCommand::ChangeStatus {
            to,
            reason: None,
            client_id,
        };
        crate::leads::run(&write, &None, lead, command, &meta(), None)
            .await
            .unwrap();
    }
    let new = NewClient {
        lead_id: Some(lead),
        profile: profile("ABCPR1234F"),
        branch: Some(Branch::parse("MUM-01").unwrap()),
        relationship_manager: None,
        details: Default::default(),
    };
    crate::clients::onboard(&write, &me, &None, new, &meta())
        .await
        .unwrap();
    let (done, _) = subjects::consent(
        &write,
        &everything,
        lead,
        domain::lead::MarketingChannel::Email,
        true,
        &meta(),
        None,
    )
    .await
    .unwrap();
    assert_eq!(done.appended, 2, "the lead and the client it became");
    let outcome = subjects::request_erasure(&write, &everything, client_id, None, &meta(), None)
        .await
        .unwrap();
    assert!(
        matches!(outcome.state, ErasureState::Restricted { .. }),
        "{outcome:?}"
    );
    let (lead_now, _) = write.leads.load(&lead.to_string()).await.unwrap();
    assert!(
        lead_now.erasure_requested(),
        "the same person's lead is restricted too"
    );
    let hidden = Scopes {
        leads: Some(LeadScope::default()),
        clients: ClientScope::Nothing,
    };
    let e = subjects::request_erasure(&write, &hidden, client_id, None, &meta(), None)
        .await
        .unwrap_err();
    assert!(matches!(e, subjects::SubjectError::NotFound), "{e:?}");
}

/// The store commands run on is a cqrs-es event store: a `CqrsFramework` runs a command on it,
/// and the events it appended read back sealed at rest, through sqlite-es, and opened through it.
#[tokio::test]
async fn the_log_store_serves_the_cqrs_framework_and_sqlite_es_reads_what_it_wrote() {
    use cqrs_es::persist::PersistedEventRepository;
    use cqrs_es::EventStore;

    let dir = std::env::temp_dir().join(format!("crm-logstore-{}", Uuid::new_v4().simple()));
    let db = Db::connect(None, &dir).await.unwrap();
    db.migrate().await.unwrap();
    let keyring = Arc::new(Keyring::load(&db, &dir, None, &[]).await.unwrap());
    let appender = Arc::new(store::append::Appender::new(&db));
    let log = crate::log_store::LogStore::<domain::lead::Lead>::new(
        &db,
        keyring,
        domain::lead::upcasters(),
        appender,
    );
    let cqrs = cqrs_es::CqrsFramework::new(
        log,
        Vec::new(),
        domain::lead::LeadServices {
            clock: domain::Clock::system(),
        },
    );
    let id = Uuid::now_v7();
    cqrs.execute(
        &id.to_string(),
        LeadCommand::Capture {
            lead_id: id,
            details: details("Meera Pillai"),
            channel: CaptureChannel::Manual,
            assign_to: None,
            round_robin: false,
        },
    )
    .await
    .unwrap();

    let Db::Sqlite(pool) = &db else {
        unreachable!()
    };
    let raw = sqlite_es::SqliteEventRepository::new(pool.clone())
        .get_events::<domain::lead::Lead>(&id.to_string())
        .await
        .unwrap();
    assert_eq!(raw.len(), 1);
    assert_eq!(raw[0].sequence, 1);
    assert!(
        !raw[0].payload.to_string().contains("Meera"),
        "the name is sealed at rest"
    );
    let keyring = Arc::new(Keyring::load(&db, &dir, None, &[]).await.unwrap());
    let again = crate::log_store::LogStore::<domain::lead::Lead>::new(
        &db,
        keyring,
        domain::lead::upcasters(),
        Arc::new(store::append::Appender::new(&db)),
    );
    let events = again.load_events(&id.to_string()).await.unwrap();
    assert_eq!(events.len(), 1);
    let context = again.load_aggregate(&id.to_string()).await.unwrap();
    assert_eq!(context.current_sequence, 1);
    assert!(context.aggregate.is_captured());
    let _ = std::fs::remove_dir_all(&dir);
}

/// Two processes' executors on one store: the one keeping the portfolio warm folds in what
/// the other appended since (a sell there leaves nothing to sell here).
#[tokio::test]
async fn a_warm_portfolio_folds_in_what_another_process_appended() {
    use domain::investments::{
        AssetClass, Exchange, Fees, Portfolio, PortfolioCommand, PortfolioError, PortfolioServices,
        Side, Trade,
    };
    use domain::values::Isin;

    let dir = std::env::temp_dir().join(format!("crm-warm-{}", Uuid::new_v4().simple()));
    let db = Db::connect(None, &dir).await.unwrap();
    db.migrate().await.unwrap();
    let executor = |counters: Arc<crate::CommandCounters>| async {
        let keyring = Arc::new(Keyring::load(&db, &dir, None, &[]).await.unwrap());
        crate::executor::Executor::<Portfolio>::new(
            &db,
            PortfolioServices {
                clock: domain::Clock::system(),
                rules: Default::default(),
            },
            LogSignal::default(),
            keyring,
            domain::investments::upcasters(),
            counters,
            Arc::new(store::append::Appender::new(&db)),
        )
        .keep_warm(1_000)
    };
    let counters = Arc::new(crate::CommandCounters::default());
    let (here, there) = (
        executor(counters.clone()).await,
        executor(Default::default()).await,
    );
    let client = Uuid::now_v7();
    let trade = |side, reference: &str| Trade {
        side,
        asset_class: AssetClass::Equity,
        fund_category: None,
        isin: Isin::parse("INE002A01018").unwrap(),
        symbol: Text::parse("RELIANCE", 50).unwrap(),
        exchange: Some(Exchange::Nse),
        quantity: 10.into(),
        price: 100.into(),
        fees: Fees::default(),
        trade_date: chrono::NaiveDate::from_ymd_opt(2026, 1, 5).unwrap(),
        settlement_date: chrono::NaiveDate::from_ymd_opt(2026, 1, 6).unwrap(),
        reference: Text::parse(reference, 50).unwrap(),
        bond: None,
    };
    let record = |side, reference: &str| PortfolioCommand::RecordTrade {
        trade_id: Uuid::now_v7(),
        client_id: client,
        trade: trade(side, reference),
        by: Uuid::nil(),
        kyc_block: None,
        override_reason: Some(Text::parse("the client asked for it", 200).unwrap()),
    };
    let id = client.to_string();
    let first = here
        .execute(&id, record(Side::Buy, "CN-1"), &meta(), None)
        .await
        .unwrap();
    assert_eq!(first.sequence, 1);
    let sold = there
        .execute(&id, record(Side::Sell, "CN-2"), &meta(), None)
        .await
        .unwrap();
    assert_eq!(sold.sequence, 2);
    let again = here
        .execute(&id, record(Side::Sell, "CN-3"), &meta(), None)
        .await;
    assert!(
        matches!(
            again,
            Err(crate::CommandError::Rejected(PortfolioError::Oversold { ref held, .. })) if held.is_zero()
        ),
        "{again:?}"
    );
    // And a reference used there is taken here.
    let taken = here
        .execute(&id, record(Side::Buy, "CN-2"), &meta(), None)
        .await;
    assert!(
        matches!(
            taken,
            Err(crate::CommandError::Rejected(
                PortfolioError::ReferenceTaken(_)
            ))
        ),
        "{taken:?}"
    );
    let bought = here
        .execute(&id, record(Side::Buy, "CN-4"), &meta(), None)
        .await
        .unwrap();
    assert_eq!(bought.sequence, 3);
    // Folded in full once (the first command here); every later one took it warm, adding
    // the sell appended there (a stale one would have lost the race and folded again).
    use std::sync::atomic::Ordering::Relaxed;
    assert_eq!(
        (
            counters.full_loads.load(Relaxed),
            counters.warm_loads.load(Relaxed)
        ),
        (1, 3)
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// A webhook secret is kept sealed with the master key: one kept plain by an older version is
/// sealed at the next start, opens only under its own subscription's label, and a rotation
/// seals it again with the new master key (the former one may then go).
#[tokio::test]
async fn webhook_secrets_are_sealed_with_the_master_key_and_rotated_with_it() {
    let dir = std::env::temp_dir().join(format!("crm-secrets-{}", Uuid::new_v4().simple()));
    let db = Db::connect(None, &dir).await.unwrap();
    db.migrate().await.unwrap();
    let (id, secret) = ("0193f2c0-0000-7000-8000-000000000001", "whsec_00ff");
    store::with_db!(&db, pool => {
        sqlx::query(
            "INSERT INTO webhook_subscriptions (id, url, event_types, secret, description,
               active, created_at, created_by) VALUES ($1, 'https://hooks.example/x', '*', $2,
               NULL, TRUE, $3, 'admin')",
        )
        .bind(id)
        .bind(secret)
        .bind(chrono::Utc::now())
        .execute(pool)
        .await
        .unwrap();
    });
    let kept = |db: Db| async move {
        let s: String = store::with_db!(&db, pool => {
            sqlx::query_scalar("SELECT secret FROM webhook_subscriptions")
                .fetch_one(pool)
                .await
                .unwrap()
        });
        s
    };
    let label = store::privacy::webhook_secret_label(id);
    let keyring = Keyring::load(&db, &dir, None, &[]).await.unwrap();
    assert_eq!(keyring.seal_webhook_secrets().await.unwrap(), 1);
    assert_eq!(keyring.seal_webhook_secrets().await.unwrap(), 0, "once");
    let sealed = kept(db.clone()).await;
    assert!(!sealed.contains("00ff"), "{sealed}");
    assert_eq!(keyring.open_secret(&label, &sealed).unwrap(), secret);
    let other = store::privacy::webhook_secret_label("another");
    assert!(keyring.open_secret(&other, &sealed).is_err());

    let n = store::privacy::rotation::rotate(&db, &dir, None, &[], None)
        .await
        .unwrap();
    assert_eq!(n, 1 + 1, "the keyring's own key and the secret");
    let resealed = kept(db.clone()).await;
    assert_ne!(resealed, sealed);
    // With the new master key alone (the former one gone), the secret opens.
    let new_master = std::fs::read_to_string(store::privacy::master_key_file(&dir)).unwrap();
    let _ = std::fs::remove_file(store::privacy::previous_keys_file(&dir));
    let keyring = Keyring::load(&db, &dir, Some(new_master.trim()), &[])
        .await
        .unwrap();
    assert_eq!(keyring.open_secret(&label, &resealed).unwrap(), secret);
    let _ = std::fs::remove_dir_all(&dir);
}
