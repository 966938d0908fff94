//! A store of realistic size for `crm bench --generate N`: leads and the clients some of them
//! become, each with the history an agent's working weeks leave (interactions, follow-ups,
//! status moves, consents), and each client with the demo's client story (KYC documents,
//! review and decision, risk profile, trades), written through the executors and use cases
//! like any command (sealed, hash-chained, group-committed). Names, numbers and stories come
//! from a seeded generator, so two runs with the same seed write the same people.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use chrono::{Duration, Utc};
use domain::lead::{
    CaptureChannel, ContactMethod, FollowUpChannel, InteractionDirection, InteractionKind,
    InvestmentCapacity, LeadCommand, LeadDetails, LeadSource, LeadStatus, MarketingChannel,
};
use domain::privacy::PrivacyCommand;
use domain::user::Role;
use domain::values::{Email, PersonName, Phone, Text};
use futures::StreamExt;
use store::EventMetadata;
use uuid::Uuid;

use crate::dice::Dice;
use crate::seed::year::Staff;
use crate::WriteSide;

/// What a generation wrote.
#[derive(Debug, Clone, Copy, Default)]
pub struct Generated {
    pub events: u64,
    pub leads: u64,
    pub clients: u64,
}

/// Stories written at once (their commands go through group commit together).
const CONCURRENCY: usize = 64;

const FIRST: &[&str] = &[
    "Aarav", "Vivaan", "Aditya", "Vihaan", "Arjun", "Sai", "Reyansh", "Ayaan", "Krishna", "Ishaan",
    "Ananya", "Diya", "Aadhya", "Saanvi", "Pari", "Anika", "Navya", "Myra", "Meera", "Kavya",
    "Rohan", "Priya", "Neha", "Rahul", "Sneha", "Vikram", "Pooja", "Karan", "Divya", "Manish",
    "Lakshmi", "Suresh", "Farhan", "Zoya", "Harpreet", "Gurpreet", "Tenzin", "Joseph",
];
const LAST: &[&str] = &[
    "Sharma",
    "Verma",
    "Iyer",
    "Nair",
    "Reddy",
    "Patel",
    "Shah",
    "Mehta",
    "Kapoor",
    "Gupta",
    "Agarwal",
    "Banerjee",
    "Chatterjee",
    "Das",
    "Menon",
    "Pillai",
    "Rao",
    "Naidu",
    "Kulkarni",
    "Deshpande",
    "Joshi",
    "Singh",
    "Gill",
    "Khan",
    "Sheikh",
    "Fernandes",
    "D'Souza",
    "Bhat",
];
const BRANCHES: &[&str] = &["MUM-01", "MUM-02", "DEL-01", "BLR-01"];
const SUMMARIES: &[&str] = &[
    "Discussed account opening and brokerage plans",
    "Explained SIP options in large-cap funds",
    "Asked about F&O margin requirements",
    "Shared the IPO calendar for next month",
    "Client wants a callback after salary credit",
    "Walked through the mobile trading app",
    "Compared demat charges with the current broker",
    "Sent the KYC document checklist",
];
const SOURCES: &[LeadSource] = &[
    LeadSource::Website,
    LeadSource::Referral,
    LeadSource::Campaign,
    LeadSource::WalkIn,
    LeadSource::Partner,
];

fn text(s: &str) -> Text {
    Text::parse(s, 1000).expect("generated text is valid")
}

/// Writes stories until at least `events` events were appended; `progress` hears the count of
/// events written so far.
pub async fn generate(
    write: &WriteSide,
    events: u64,
    seed: u64,
    progress: impl Fn(u64) + Send + Sync,
) -> Result<Generated, String> {
    let staff = staff(write, seed).await?;
    let written = Arc::new(AtomicU64::new(0));
    let clients = AtomicU64::new(0);
    let started = AtomicU64::new(0);
    let stories = futures::stream::iter(0u64..)
        .take_while(|_| {
            let enough = written.load(Ordering::Relaxed) >= events;
            async move { !enough }
        })
        .map(|n| {
            started.fetch_add(1, Ordering::Relaxed);
            let staff = &staff;
            let written = &written;
            let clients = &clients;
            async move {
                let (appended, client) = story(write, staff, seed, n).await?;
                written.fetch_add(appended, Ordering::Relaxed);
                if client {
                    clients.fetch_add(1, Ordering::Relaxed);
                }
                Ok::<_, String>(())
            }
        })
        .buffer_unordered(CONCURRENCY);
    futures::pin_mut!(stories);
    while let Some(done) = stories.next().await {
        done?;
        progress(written.load(Ordering::Relaxed));
    }
    Ok(Generated {
        events: written.load(Ordering::Relaxed),
        leads: started.load(Ordering::Relaxed),
        clients: clients.load(Ordering::Relaxed),
    })
}

/// The staff the stories are worked by, made for this run: two relationship managers per
/// branch, and two compliance officers who review the clients' KYC.
async fn staff(write: &WriteSide, seed: u64) -> Result<Staff, String> {
    let password = store::privacy::generate_master_key();
    let officers = [(Role::ComplianceOfficer, None); 2];
    let rms = BRANCHES
        .iter()
        .chain(BRANCHES)
        .map(|b| (Role::RelationshipManager, Some(*b)));
    let mut staff = Staff {
        agents: Vec::new(),
        managers: Vec::new(),
        compliance: Vec::new(),
    };
    for (i, (role, branch)) in rms.chain(officers).enumerate() {
        let email = format!("{}{i}-{seed}@generated.example", role.as_str());
        let name = format!("{} {}", FIRST[i % FIRST.len()], LAST[(i * 7) % LAST.len()]);
        let new = crate::users::NewUser {
            email: &email,
            name: &name,
            role,
            branch,
            manager_id: None,
            password: &password,
            must_change_password: true,
        };
        let (id, _) = crate::users::register(write, &EventMetadata::system(None), new)
            .await
            .map_err(|e| e.to_string())?;
        match branch {
            Some(branch) => staff.agents.push((id, branch)),
            None => staff.compliance.push(id),
        }
    }
    Ok(staff)
}

/// One lead's story; the events it appended and whether it became a client.
async fn story(write: &WriteSide, staff: &Staff, seed: u64, n: u64) -> Result<(u64, bool), String> {
    let mut dice = Dice(seed ^ n.wrapping_mul(0x2545_F491_4F6C_DD1D));
    let agent_index = dice.below(staff.agents.len() as u64) as usize;
    let agent = staff.agents[agent_index].0;
    let mut meta = EventMetadata::system(None);
    meta.actor_id = agent.to_string();
    meta.actor_role = Role::RelationshipManager.as_str().into();
    meta.user_agent = Some("crm bench --generate".into());
    let id = Uuid::now_v7();
    let first = *dice.pick(FIRST);
    let last = *dice.pick(LAST);
    let name = format!("{first} {last}");
    let email = format!(
        "{}.{}{}@example.in",
        first.to_lowercase(),
        last.to_lowercase().replace('\'', ""),
        n
    );
    let phone = format!("9{:09}", (seed.wrapping_mul(1_000_003) + n) % 1_000_000_000);
    const CAPACITIES: &[InvestmentCapacity] = &[
        InvestmentCapacity::Below1Lakh,
        InvestmentCapacity::Lakh1To5,
        InvestmentCapacity::Lakh5To25,
        InvestmentCapacity::Lakh25To1Crore,
        InvestmentCapacity::Above1Crore,
    ];
    let details = LeadDetails {
        name: PersonName::parse(&name).map_err(|e| e.to_string())?,
        email: Some(Email::parse(&email).map_err(|e| e.to_string())?),
        phone: Some(Phone::parse(&phone).map_err(|e| e.to_string())?),
        source: *dice.pick(SOURCES),
        source_detail: None,
        product_interest: vec!["equity".into(), "mutual_funds".into()],
        preferred_contact_method: Some(ContactMethod::Phone),
        preferred_contact_time: None,
        notes: Some(text(dice.pick::<&str>(SUMMARIES))),
        investment_capacity: Some(*dice.pick(CAPACITIES)),
    };
    let key = id.to_string();
    let mut appended = 0u64;
    // Stories begin across the last twelve months (recorded then: reports see a year of
    // history, not one day), each step some hours after the one before.
    let began = Utc::now() - Duration::days(dice.below(365) as i64) - Duration::hours(12);
    meta.recorded_at = began;
    let step = std::sync::atomic::AtomicI64::new(0);
    let run = |command: LeadCommand| {
        let key = &key;
        let mut meta = meta.clone();
        let n = step.fetch_add(1, Ordering::Relaxed) + 1;
        // Never later than now: a story begun yesterday is still going on.
        meta.recorded_at = (began + Duration::hours(5 * n)).min(Utc::now());
        async move {
            write
                .leads
                .execute(key, command, &meta, None)
                .await
                .map(|c| c.appended as u64)
                .map_err(|e| e.to_string())
        }
    };
    appended += write
        .leads
        .create(
            &key,
            LeadCommand::Capture {
                lead_id: id,
                details,
                channel: CaptureChannel::Manual,
                assign_to: Some(agent),
                round_robin: false,
            },
            &meta,
        )
        .await
        .map(|c| c.appended as u64)
        .map_err(|e| e.to_string())?;
    let now = Utc::now();
    for i in 0..(1 + dice.below(3)) {
        appended += run(LeadCommand::LogInteraction {
            interaction_id: Uuid::now_v7(),
            kind: *dice.pick(&[
                InteractionKind::Call,
                InteractionKind::Email,
                InteractionKind::Meeting,
                InteractionKind::Note,
            ]),
            direction: Some(if i % 2 == 0 {
                InteractionDirection::Outbound
            } else {
                InteractionDirection::Inbound
            }),
            summary: text(dice.pick::<&str>(SUMMARIES)),
            occurred_at: now - Duration::days(30 - i as i64),
            duration_minutes: Some(5 + dice.below(40) as u32),
        })
        .await?;
    }
    let follow_up_id = Uuid::now_v7();
    appended += run(LeadCommand::ScheduleFollowUp {
        follow_up_id,
        due_at: now + Duration::days(1 + dice.below(14) as i64),
        channel: FollowUpChannel::Call,
        note: Some(text("Call back about the account opening")),
    })
    .await?;
    if dice.chance(70) {
        appended += run(LeadCommand::CompleteFollowUp {
            follow_up_id,
            outcome: Some(text("Spoke; moving ahead")),
        })
        .await?;
    }
    if dice.chance(20) {
        appended += run(LeadCommand::Privacy(PrivacyCommand::SetMarketingConsent {
            channel: MarketingChannel::Email,
            granted: true,
        }))
        .await?;
    }
    let client_id = Uuid::now_v7();
    let mut path = vec![LeadStatus::Contacted];
    match dice.below(10) {
        0 | 1 => path.extend([LeadStatus::Qualified, LeadStatus::Converted]),
        2..=4 => path.push(LeadStatus::Qualified),
        5 | 6 => path.push(LeadStatus::Lost),
        _ => {}
    }
    let converts = path.contains(&LeadStatus::Converted);
    for to in path {
        let reason = (to == LeadStatus::Lost).then(|| text("Chose another broker"));
        appended += run(LeadCommand::ChangeStatus {
            to,
            reason,
            client_id,
        })
        .await?;
    }
    let mut onboarded = false;
    if converts {
        let at = (began + Duration::hours(5 * (step.load(Ordering::Relaxed) + 1))).min(now);
        let written = crate::seed::year::client_now(
            write,
            staff,
            &mut dice,
            n as usize,
            agent_index,
            (id, client_id),
            (&name, &email, &phone),
            at,
        )
        .await? as u64;
        // Onboarding is the story's first step: nothing written, no client (its moment is
        // still to come, or another story took the PAN).
        onboarded = written > 0;
        appended += written;
    }
    Ok((appended, onboarded))
}
