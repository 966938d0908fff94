//! `crm seed --demo`: a year of a small broker replayed day by day, so that every report and
//! dashboard shows something true on a fresh install. Four branches and twenty staff; leads
//! captured across the twelve months from every source (named campaigns and partners), worked
//! with calls, follow-ups (kept, missed, cancelled) and status moves; a quarter of them become
//! clients, whose KYC goes through documents, review and decision (some still waiting, some
//! rejected or sent back, a few with a passport that expires and makes re-KYC due) and whose
//! portfolios hold real NSE symbols. Everything goes through the executors and use cases with
//! the aggregates reading a clock set to each day, and every event is recorded at its moment.
//! A seeded generator decides, so two runs tell the same story.

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, NaiveDate, TimeZone, Utc};
use domain::access::{Actor, ClientScope};
use domain::client::{
    Address, AddressKind, ClientCommand, ClientDetails, ClientProfile, IncomeRange, IndianState,
    NetWorthBand, Occupation, Pin,
};
use domain::investments::{
    AssetClass, Exchange, Experience, Fees, LossTolerance, RiskAnswers, Side, Trade,
};
use domain::kyc::{Decision, KycCommand, KycDocumentType, RiskProfile};
use domain::lead::{
    CaptureChannel, ContactMethod, FollowUpChannel, InteractionDirection, InteractionKind,
    InvestmentCapacity, LeadCommand, LeadDetails, LeadSource, LeadStatus, MarketingChannel,
};
use domain::user::{Branch, Role};
use domain::values::{BirthDate, Email, Isin, Pan, PersonName, Phone, Text};
use domain::ManualTime;
use futures::StreamExt;
use rust_decimal::Decimal;
use store::EventMetadata;
use uuid::Uuid;

use crate::dice::Dice;
use crate::WriteSide;

/// The branches and the staff added to the documented demo users (20 in all).
const BRANCHES: &[&str] = &["MUM-01", "MUM-02", "DEL-01", "BLR-01"];

const FIRST: &[&str] = &[
    "Aarav", "Vivaan", "Aditya", "Ishaan", "Arjun", "Ananya", "Diya", "Saanvi", "Meera", "Kavya",
    "Rohan", "Priya", "Neha", "Rahul", "Sneha", "Vikram", "Pooja", "Karan", "Divya", "Manish",
    "Lakshmi", "Suresh", "Farhan", "Zoya", "Harpreet", "Tenzin", "Joseph", "Fatima", "Anil",
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
    "Banerjee",
    "Das",
    "Menon",
    "Pillai",
    "Rao",
    "Kulkarni",
    "Joshi",
    "Singh",
    "Gill",
    "Khan",
    "Fernandes",
    "Bhat",
    "Chatterjee",
    "Agarwal",
];
const CAMPAIGNS: &[&str] = &[
    "Diwali SIP Drive",
    "Budget Day Webinar",
    "Tax Saver ELSS",
    "Zero AMC Demat",
    "Flexi Cap NFO",
];
const PARTNERS: &[&str] = &[
    "Axis Partner Network",
    "CA Referral Desk",
    "FinEdge Advisors",
];
const LOST: &[&str] = &[
    "Chose another broker",
    "Brokerage too high",
    "Not interested now",
    "Could not reach after many tries",
    "Opened a demat with their bank",
];
const SUMMARIES: &[&str] = &[
    "Discussed account opening and brokerage plans",
    "Explained SIP options in large-cap funds",
    "Asked about F&O margin requirements",
    "Shared the IPO calendar for next month",
    "Wants a callback after salary credit",
    "Walked through the mobile trading app",
    "Compared demat charges with the current broker",
    "Sent the KYC document checklist",
];
/// Cities with their state and a PIN code of it.
const PLACES: &[(&str, IndianState, &str)] = &[
    ("Mumbai", IndianState::Maharashtra, "400050"),
    ("Pune", IndianState::Maharashtra, "411001"),
    ("Thane", IndianState::Maharashtra, "400601"),
    ("New Delhi", IndianState::Delhi, "110001"),
    ("Gurugram", IndianState::Haryana, "122001"),
    ("Noida", IndianState::UttarPradesh, "201301"),
    ("Bengaluru", IndianState::Karnataka, "560001"),
    ("Mysuru", IndianState::Karnataka, "570001"),
    ("Chennai", IndianState::TamilNadu, "600001"),
    ("Hyderabad", IndianState::Telangana, "500001"),
    ("Ahmedabad", IndianState::Gujarat, "380001"),
    ("Kolkata", IndianState::WestBengal, "700001"),
];
/// NSE instruments the portfolios hold (the ISINs of `fixtures/prices.json`) with a price
/// around which trades are struck.
const INSTRUMENTS: &[(&str, &str, AssetClass, i64)] = &[
    ("INE002A01018", "RELIANCE", AssetClass::Equity, 1370),
    ("INE467B01029", "TCS", AssetClass::Equity, 3050),
    ("INE009A01021", "INFY", AssetClass::Equity, 1480),
    ("INE040A01034", "HDFCBANK", AssetClass::Equity, 960),
    ("INE090A01021", "ICICIBANK", AssetClass::Equity, 1350),
    ("INE062A01020", "SBIN", AssetClass::Equity, 870),
    ("INE154A01025", "ITC", AssetClass::Equity, 410),
    ("INF204KB14I2", "NIFTYBEES", AssetClass::Etf, 281),
];

fn text(s: &str) -> Text {
    Text::parse(s, 1000).expect("demo text is valid")
}

/// Something a story does at a moment.
enum Step {
    Lead(Uuid, LeadCommand),
    Onboard(Box<(Uuid, Uuid, ClientProfile, Branch, ClientDetails)>),
    Documents(Uuid, Option<NaiveDate>),
    Categorise(Uuid, RiskProfile),
    Kyc(Uuid, KycCommand),
    /// Submit the case (as the profile of an onboarded client always has what it needs).
    Submit(Uuid),
    Decide(Uuid, Decision, Option<&'static str>),
    Risk(Uuid, RiskAnswers),
    Trade(Uuid, Box<Trade>),
}

/// Who does it.
#[derive(Clone, Copy)]
enum By {
    Agent(usize),
    Compliance(usize),
    System,
}

struct Planned {
    at: DateTime<Utc>,
    story: usize,
    by: By,
    step: Step,
}

/// The staff the year is worked by.
pub(crate) struct Staff {
    pub(crate) agents: Vec<(Uuid, &'static str)>,
    pub(crate) managers: Vec<(Uuid, &'static str)>,
    pub(crate) compliance: Vec<Uuid>,
}

/// Whether the demo year is already in the store (one of its staff exists).
pub async fn seeded(write: &WriteSide) -> Result<bool, String> {
    Ok(
        crate::users::user_by_email(&write.db, "rm1.mum-02@demo.broker")
            .await
            .map_err(|e| e.to_string())?
            .is_some(),
    )
}

/// Replays the year that ends `now` with `leads` leads; `time` sets the clock `write`'s
/// aggregates read; `progress` hears (days done, days). Answers what it wrote.
pub async fn replay(
    write: &WriteSide,
    time: &ManualTime,
    now: DateTime<Utc>,
    leads: usize,
    progress: impl Fn(u64, u64),
) -> Result<Vec<String>, String> {
    let start = now - Duration::days(365);
    time.set(start);
    let staff = staff(write, start).await?;
    let mut dice = Dice(0x5EED_2026);
    let mut plan = Vec::new();
    let mut clients = 0;
    for story in 0..leads {
        // More leads in the recent months, as a growing broker has.
        let day = 364 - (dice.below(365) * dice.below(365) / 365) as i64;
        let at = start + Duration::days(day) + dice.hours(4, 13);
        clients += usize::from(lead_story(&mut plan, &mut dice, &staff, story, at, now));
    }
    plan.retain(|p| p.at <= now);
    plan.sort_by_key(|p| p.at);
    // Weekly KYC checks: alerts of coming expiries, and re-KYC due once a document expired.
    let mut by_day: BTreeMap<NaiveDate, Vec<Planned>> = BTreeMap::new();
    for p in plan {
        by_day.entry(p.at.date_naive()).or_default().push(p);
    }
    let days = by_day.len() as u64;
    let mut done = 0u64;
    let mut written = 0usize;
    let mut verified: Vec<Uuid> = Vec::new();
    for (day, steps) in by_day {
        let end_of_day = Utc
            .from_utc_datetime(&day.and_hms_opt(23, 59, 0).expect("a time"))
            .min(now);
        time.set(end_of_day);
        let mut stories: BTreeMap<usize, Vec<Planned>> = BTreeMap::new();
        for p in steps {
            if let Step::Decide(client, Decision::Approve, _) = &p.step {
                verified.push(*client);
            }
            stories.entry(p.story).or_default().push(p);
        }
        let runs = futures::stream::iter(stories.into_values())
            .map(|steps| run_story(write, &staff, steps))
            .buffer_unordered(16);
        futures::pin_mut!(runs);
        while let Some(n) = runs.next().await {
            written += n?;
        }
        if day.weekday() == chrono::Weekday::Mon {
            let today = domain::kyc::india_today(end_of_day);
            for client in &verified {
                let meta = at_meta(end_of_day, None);
                for command in [
                    KycCommand::RaiseAlerts {
                        today,
                        within_days: 30,
                    },
                    KycCommand::CheckDue { today },
                ] {
                    // Nothing due is the usual answer: not an error here.
                    let _ = write
                        .kyc
                        .execute(&client.to_string(), command, &meta, None)
                        .await;
                }
            }
        }
        done += 1;
        progress(done, days);
    }
    time.set(now);
    Ok(vec![
        format!(
            "created the staff of {} branches (20 with the admin and the auditor)",
            BRANCHES.len()
        ),
        format!("created {leads} leads over the last 12 months, {clients} of them clients"),
        format!("wrote {written} events of their year"),
    ])
}

use chrono::Datelike;

/// The staff: the documented demo users and more to make twenty.
async fn staff(write: &WriteSide, at: DateTime<Utc>) -> Result<Staff, String> {
    let find = |email: &'static str| async move {
        crate::users::user_by_email(&write.db, email)
            .await
            .map_err(|e| e.to_string())?
            .ok_or_else(|| format!("the demo user {email} comes first"))
    };
    let mut staff = Staff {
        agents: vec![
            (find("agent1@demo.broker").await?, "MUM-01"),
            (find("agent2@demo.broker").await?, "DEL-01"),
        ],
        managers: vec![(find("manager@demo.broker").await?, "MUM-01")],
        compliance: vec![find("compliance@demo.broker").await?],
    };
    let password = store::privacy::generate_master_key();
    let meta = at_meta(at, None);
    let mut n = 0;
    let mut add = |role: Role, branch: Option<&'static str>, email: String| {
        n += 1;
        let name = format!(
            "{} {}",
            FIRST[(n * 5) % FIRST.len()],
            LAST[(n * 7) % LAST.len()]
        );
        let (password, meta) = (&password, &meta);
        async move {
            let new = crate::users::NewUser {
                email: &email,
                name: &name,
                role,
                branch,
                manager_id: None,
                password,
                must_change_password: true,
            };
            crate::users::register(write, meta, new)
                .await
                .map(|(id, _)| id)
                .map_err(|e| e.to_string())
        }
    };
    for branch in BRANCHES {
        let b = branch.to_lowercase();
        if *branch != "MUM-01" {
            let id = add(
                Role::BranchManager,
                Some(branch),
                format!("manager.{b}@demo.broker"),
            )
            .await?;
            staff.managers.push((id, branch));
        }
        let have = staff.agents.iter().filter(|a| a.1 == *branch).count();
        for i in have..3 {
            let id = add(
                Role::RelationshipManager,
                Some(branch),
                format!("rm{i}.{b}@demo.broker"),
            )
            .await?;
            staff.agents.push((id, branch));
        }
    }
    let id = add(
        Role::ComplianceOfficer,
        None,
        "compliance2@demo.broker".into(),
    )
    .await?;
    staff.compliance.push(id);
    Ok(staff)
}

fn at_meta(at: DateTime<Utc>, actor: Option<(Uuid, Role)>) -> EventMetadata {
    let mut meta = EventMetadata::system(None);
    meta.recorded_at = at;
    meta.user_agent = Some("crm seed --demo".into());
    if let Some((id, role)) = actor {
        meta.actor_id = id.to_string();
        meta.actor_role = role.as_str().into();
    }
    meta
}

/// Plans one lead's story from `at`; whether it becomes a client.
fn lead_story(
    plan: &mut Vec<Planned>,
    dice: &mut Dice,
    staff: &Staff,
    story: usize,
    at: DateTime<Utc>,
    now: DateTime<Utc>,
) -> bool {
    let id = Uuid::now_v7();
    let agent = dice.below(staff.agents.len() as u64) as usize;
    let mut push = |at: DateTime<Utc>, by: By, step: Step| {
        plan.push(Planned {
            at,
            story,
            by,
            step,
        })
    };
    let (first, last) = (*dice.pick(FIRST), *dice.pick(LAST));
    let source = *dice.pick(&[
        LeadSource::Website,
        LeadSource::Website,
        LeadSource::Referral,
        LeadSource::Campaign,
        LeadSource::Campaign,
        LeadSource::WalkIn,
        LeadSource::Partner,
    ]);
    let detail = match source {
        LeadSource::Campaign => Some(text(dice.pick::<&str>(CAMPAIGNS))),
        LeadSource::Partner => Some(text(dice.pick::<&str>(PARTNERS))),
        LeadSource::Referral => Some(text(&format!("{} {}", dice.pick(FIRST), dice.pick(LAST)))),
        _ => None,
    };
    let name = format!("{first} {last}");
    let email = format!(
        "{}.{}.{story}@example.in",
        first.to_lowercase(),
        last.to_lowercase()
    );
    let phone = format!("9{:09}", 810_000_000 + story as u64 * 7);
    let details = LeadDetails {
        name: PersonName::parse(&name).expect("a demo name"),
        email: Some(Email::parse(&email).expect("a demo e-mail")),
        phone: Some(Phone::parse(&phone).expect("a demo phone")),
        source,
        source_detail: detail,
        product_interest: vec!["equity".into(), "mutual_funds".into()],
        preferred_contact_method: Some(ContactMethod::Phone),
        preferred_contact_time: None,
        notes: Some(text(dice.pick::<&str>(SUMMARIES))),
        investment_capacity: Some(*dice.pick(&[
            InvestmentCapacity::Below1Lakh,
            InvestmentCapacity::Lakh1To5,
            InvestmentCapacity::Lakh5To25,
            InvestmentCapacity::Lakh25To1Crore,
            InvestmentCapacity::Above1Crore,
        ])),
    };
    // One lead in ten waits unassigned until the branch manager hands it out.
    let pooled = dice.chance(10);
    push(
        at,
        By::Agent(agent),
        Step::Lead(
            id,
            LeadCommand::Capture {
                lead_id: id,
                details,
                channel: if source == LeadSource::Website {
                    CaptureChannel::WebForm
                } else {
                    CaptureChannel::Manual
                },
                assign_to: (!pooled).then_some(staff.agents[agent].0),
                round_robin: false,
            },
        ),
    );
    // Two leads in five agree to marketing by e-mail when captured, one in four by SMS
    // (by the story's number, leaving the dice's draws as they were).
    for (channel, yes) in [
        (MarketingChannel::Email, story % 5 < 2),
        (MarketingChannel::Sms, story.is_multiple_of(4)),
    ] {
        if yes {
            push(
                at + Duration::minutes(1),
                By::Agent(agent),
                Step::Lead(
                    id,
                    LeadCommand::Privacy(domain::privacy::PrivacyCommand::SetMarketingConsent {
                        channel,
                        granted: true,
                    }),
                ),
            );
        }
    }
    let mut t = at;
    if pooled {
        t += dice.hours(2, 30);
        push(
            t,
            By::System,
            Step::Lead(
                id,
                LeadCommand::Assign {
                    agent_id: staff.agents[agent].0,
                    round_robin: false,
                    reason: None,
                },
            ),
        );
    }
    // The first response: a call, and the move to contacted.
    if !dice.chance(90) {
        return false;
    }
    t += dice.hours(1, 40);
    push(t, By::Agent(agent), Step::Lead(id, interaction(dice, t)));
    t += Duration::minutes(5);
    push(
        t,
        By::Agent(agent),
        Step::Lead(id, moved(LeadStatus::Contacted, None)),
    );
    // Follow-ups: kept on the day, late, missed, or cancelled.
    let mut late = t;
    for _ in 0..(1 + dice.below(3)) {
        let follow_up_id = Uuid::now_v7();
        let due = t + Duration::days(1 + dice.below(4) as i64);
        push(
            t,
            By::Agent(agent),
            Step::Lead(
                id,
                LeadCommand::ScheduleFollowUp {
                    follow_up_id,
                    due_at: due,
                    channel: *dice.pick(&[FollowUpChannel::Call, FollowUpChannel::Meeting]),
                    note: Some(text("Call back about the account opening")),
                },
            ),
        );
        match dice.below(10) {
            0..=6 => {
                let done = due - Duration::minutes(dice.below(180) as i64);
                push(
                    done,
                    By::Agent(agent),
                    Step::Lead(
                        id,
                        LeadCommand::CompleteFollowUp {
                            follow_up_id,
                            outcome: Some(text("Spoke; moving ahead")),
                        },
                    ),
                );
                push(
                    done,
                    By::Agent(agent),
                    Step::Lead(id, interaction(dice, done)),
                );
            }
            7 => {
                late = due + dice.hours(2, 48);
                push(
                    late,
                    By::Agent(agent),
                    Step::Lead(
                        id,
                        LeadCommand::CompleteFollowUp {
                            follow_up_id,
                            outcome: Some(text("Reached late")),
                        },
                    ),
                )
            }
            8 => push(
                t + dice.hours(1, 20),
                By::Agent(agent),
                Step::Lead(
                    id,
                    LeadCommand::CancelFollowUp {
                        follow_up_id,
                        reason: Some(text("Asked to be called next month")),
                    },
                ),
            ),
            // Missed: it stays open (overdue once its time passes).
            _ => {}
        }
        t = (due + dice.hours(1, 6)).max(late + Duration::minutes(1));
    }
    // A lead that goes no further: lost (with a reason) six times in ten, else left open.
    let stops = |plan: &mut Vec<Planned>, dice: &mut Dice, t: DateTime<Utc>, after: (i64, i64)| {
        if dice.chance(60) {
            let at = t + dice.hours(after.0, after.1);
            let reason = text(dice.pick::<&str>(LOST));
            plan.push(Planned {
                at,
                story,
                by: By::Agent(agent),
                step: Step::Lead(id, moved(LeadStatus::Lost, Some(reason))),
            });
        }
        false
    };
    if !dice.chance(62) {
        return stops(plan, dice, t, (2, 120));
    }
    t += dice.hours(24, 240);
    plan.push(Planned {
        at: t,
        story,
        by: By::Agent(agent),
        step: Step::Lead(id, moved(LeadStatus::Qualified, None)),
    });
    if !dice.chance(58) {
        return stops(plan, dice, t, (24, 300));
    }
    t += dice.hours(48, 480);
    // Converted only when the client is onboarded by now (a lead converts as its account
    // opens).
    if t + Duration::hours(30) > now {
        return false;
    }
    let client_id = Uuid::now_v7();
    plan.push(Planned {
        at: t,
        story,
        by: By::Agent(agent),
        step: Step::Lead(
            id,
            LeadCommand::ChangeStatus {
                to: LeadStatus::Converted,
                reason: Some(text("Account opening form signed")),
                client_id,
            },
        ),
    });
    client_story(
        plan,
        dice,
        staff,
        story,
        agent,
        (id, client_id),
        (&name, &email, &phone),
        t,
        now,
    );
    true
}

fn interaction(dice: &mut Dice, at: DateTime<Utc>) -> LeadCommand {
    LeadCommand::LogInteraction {
        interaction_id: Uuid::now_v7(),
        kind: *dice.pick(&[
            InteractionKind::Call,
            InteractionKind::Call,
            InteractionKind::Email,
            InteractionKind::Meeting,
        ]),
        direction: Some(InteractionDirection::Outbound),
        summary: text(dice.pick::<&str>(SUMMARIES)),
        occurred_at: at,
        duration_minutes: Some(5 + dice.below(30) as u32),
    }
}

fn moved(to: LeadStatus, reason: Option<Text>) -> LeadCommand {
    LeadCommand::ChangeStatus {
        to,
        reason,
        client_id: Uuid::nil(),
    }
}

/// Plans a client's onboarding, KYC and trades from `at`.
#[allow(clippy::too_many_arguments)]
fn client_story(
    plan: &mut Vec<Planned>,
    dice: &mut Dice,
    staff: &Staff,
    story: usize,
    agent: usize,
    (lead_id, client_id): (Uuid, Uuid),
    (name, email, phone): (&str, &str, &str),
    at: DateTime<Utc>,
    now: DateTime<Utc>,
) {
    let mut push = |at: DateTime<Utc>, by: By, step: Step| {
        plan.push(Planned {
            at,
            story,
            by,
            step,
        })
    };
    let (city, state, pin) = *dice.pick(PLACES);
    let occupation = *dice.pick(&[
        Occupation::Salaried,
        Occupation::Salaried,
        Occupation::Business,
        Occupation::Professional,
        Occupation::SelfEmployed,
        Occupation::Retired,
    ]);
    let income = *dice.pick(&[
        IncomeRange::From1To5Lakh,
        IncomeRange::From5To10Lakh,
        IncomeRange::From10To25Lakh,
        IncomeRange::From10To25Lakh,
        IncomeRange::Above25Lakh,
    ]);
    let born = format!(
        "19{}-{:02}-{:02}",
        55 + dice.below(45),
        1 + dice.below(12),
        1 + dice.below(28)
    );
    let pan = format!(
        "{}{}P{}{:04}{}",
        (b'A' + (story % 26) as u8) as char,
        (b'A' + (story / 26 % 26) as u8) as char,
        (b'A' + dice.below(26) as u8) as char,
        story % 10_000,
        (b'A' + dice.below(26) as u8) as char
    );
    let pan = format!("Q{pan}");
    let profile = ClientProfile {
        name: PersonName::parse(name).expect("a demo name"),
        email: Email::parse(email).expect("a demo e-mail"),
        phone: Phone::parse(phone).expect("a demo phone"),
        pan: Pan::parse(&pan).expect("a demo PAN"),
        date_of_birth: BirthDate::parse(&born, now.date_naive()).expect("a demo birth date"),
        address: text(&format!(
            "{} Park Street, {city} {pin}",
            1 + dice.below(200)
        )),
    };
    let details = ClientDetails {
        addresses: vec![Address {
            kind: AddressKind::Permanent,
            line1: text(&format!("{} Park Street", 1 + dice.below(200))),
            line2: None,
            city: text(city),
            state,
            pin: Pin::parse(pin).expect("a demo PIN"),
        }],
        occupation: Some(occupation),
        annual_income: Some(income),
        net_worth: Some(*dice.pick(&[
            NetWorthBand::Below10Lakh,
            NetWorthBand::Below10Lakh,
            NetWorthBand::Lakh10To1Crore,
            NetWorthBand::Crore1To5,
        ])),
        ..Default::default()
    };
    let branch = Branch::parse(staff_branch(staff, agent)).expect("a demo branch");
    let mut t = at + dice.hours(1, 30);
    push(
        t,
        By::Agent(agent),
        Step::Onboard(Box::new((client_id, lead_id, profile, branch, details))),
    );
    // KYC: documents, the risk profile, submission, review and a decision.
    t += dice.hours(2, 72);
    let expiring = dice.chance(6);
    let passport_expiry = if expiring {
        // Expires a few weeks after approval: an alert, then re-KYC due.
        (t + Duration::days(20 + dice.below(40) as i64)).date_naive()
    } else {
        (now + Duration::days(365 * 3 + dice.below(2000) as i64)).date_naive()
    };
    push(
        t,
        By::Agent(agent),
        Step::Documents(client_id, Some(passport_expiry)),
    );
    push(
        t,
        By::Agent(agent),
        Step::Categorise(
            client_id,
            RiskProfile {
                pep: dice.chance(2),
                income_range: income,
                occupation,
                country: "IN".into(),
                derivatives: dice.chance(20),
            },
        ),
    );
    if dice.chance(8) {
        return; // documents filed, never submitted: pending
    }
    t += dice.hours(4, 96);
    push(t, By::Agent(agent), Step::Submit(client_id));
    let officer = dice.below(staff.compliance.len() as u64) as usize;
    t += dice.hours(2, 60);
    push(
        t,
        By::Compliance(officer),
        Step::Kyc(
            client_id,
            KycCommand::StartReview {
                by: Uuid::nil(),
                role: Role::ComplianceOfficer,
            },
        ),
    );
    t += dice.hours(1, 50);
    match dice.below(100) {
        0..=5 => {
            push(
                t,
                By::Compliance(officer),
                Step::Decide(
                    client_id,
                    Decision::Reject,
                    Some("The photograph does not match the PAN card"),
                ),
            );
            return;
        }
        6..=17 => {
            push(
                t,
                By::Compliance(officer),
                Step::Decide(
                    client_id,
                    Decision::RequestRevision,
                    Some("The bank proof is unreadable"),
                ),
            );
            if dice.chance(50) {
                return;
            }
            t += dice.hours(24, 120);
            push(t, By::Agent(agent), Step::Documents(client_id, None));
            t += dice.hours(1, 24);
            push(t, By::Agent(agent), Step::Submit(client_id));
            t += dice.hours(2, 48);
        }
        _ => {}
    }
    push(
        t,
        By::Compliance(officer),
        Step::Decide(client_id, Decision::Approve, None),
    );
    // The portfolio: the questionnaire, then trades on weekdays until today.
    t += dice.hours(24, 120);
    push(
        t,
        By::Agent(agent),
        Step::Risk(
            client_id,
            RiskAnswers {
                age: 35,
                income_range: income,
                horizon_years: 10,
                experience: Experience::Some,
                loss_tolerance: LossTolerance::High,
                dependants: 1,
                goals: vec![text("retirement")],
                preferred_products: vec![AssetClass::Equity, AssetClass::Etf],
            },
        ),
    );
    let mut held: BTreeMap<&str, i64> = BTreeMap::new();
    let trades = dice.below(16);
    for n in 0..trades {
        t += Duration::days(1 + dice.below(40) as i64);
        if t.weekday().number_from_monday() > 5 {
            t += Duration::days(2);
        }
        // Trading stops once the KYC falls due again (the passport expired).
        if t > now || (expiring && t.date_naive() >= passport_expiry) {
            break;
        }
        let (isin, symbol, class, base) = *dice.pick(INSTRUMENTS);
        let have = held.get(isin).copied().unwrap_or(0);
        let sell = have > 0 && dice.chance(25);
        let quantity = if sell {
            1 + dice.below(have as u64) as i64
        } else {
            1 + dice.below(50) as i64
        };
        *held.entry(isin).or_default() += if sell { -quantity } else { quantity };
        let price = Decimal::new(
            base * 100 + dice.below((base * 20) as u64) as i64 - base * 10,
            2,
        );
        let day = domain::kyc::india_today(t);
        push(
            t,
            By::Agent(agent),
            Step::Trade(
                client_id,
                Box::new(Trade {
                    side: if sell { Side::Sell } else { Side::Buy },
                    asset_class: class,
                    fund_category: None,
                    isin: Isin::parse(isin).expect("a demo ISIN"),
                    symbol: text(symbol),
                    exchange: Some(Exchange::Nse),
                    quantity: Decimal::from(quantity),
                    price,
                    fees: Fees {
                        brokerage: Decimal::new(20, 0),
                        stt: Decimal::ZERO,
                        gst: Decimal::ZERO,
                        stamp_duty: Decimal::ZERO,
                        other: Decimal::ZERO,
                    },
                    trade_date: day,
                    settlement_date: day + Duration::days(1),
                    reference: text(&format!("CN-{story}-{n}")),
                    bond: None,
                }),
            ),
        );
    }
}

/// A converted lead's life as a client as `crm bench --generate` writes it: the demo's story
/// (profile, KYC documents, review and decision, risk profile, trades) run at once under the
/// real clock, its steps recorded at their moments up to now (those still to come are left
/// out). A document the demo lets expire (the real clock refuses an expired one) expires within
/// four months of now instead, so the reports have expiries to count; the trades still stop at
/// the date the demo chose. Answers the events it appended.
#[allow(clippy::too_many_arguments)]
pub(crate) async fn client_now(
    write: &WriteSide,
    staff: &Staff,
    dice: &mut Dice,
    story: usize,
    agent: usize,
    ids: (Uuid, Uuid),
    person: (&str, &str, &str),
    at: DateTime<Utc>,
) -> Result<usize, String> {
    let now = Utc::now();
    let soon = (now + Duration::days(120)).date_naive();
    let mut plan = Vec::new();
    client_story(&mut plan, dice, staff, story, agent, ids, person, at, now);
    plan.retain(|p| p.at <= now);
    for p in &mut plan {
        if let Step::Documents(_, Some(expiry)) = &mut p.step {
            if *expiry < soon {
                *expiry = (now + Duration::days(1 + dice.below(120) as i64)).date_naive();
            }
        }
    }
    run_story(write, staff, plan).await
}

fn staff_branch(staff: &Staff, agent: usize) -> &'static str {
    staff.agents[agent].1
}

/// The demo KYC files (tiny real files) as a case takes them.
fn documents(passport_expiry: Option<NaiveDate>, pan: &str, n: u64) -> Vec<crate::kyc::KycUpload> {
    let pdf = include_bytes!("../../../fixtures/documents/pan-card.pdf").to_vec();
    let png = include_bytes!("../../../fixtures/documents/address-proof.png").to_vec();
    let jpg = include_bytes!("../../../fixtures/documents/photograph.jpg").to_vec();
    let file = |t: KycDocumentType, number: Option<String>, expiry, name: &str, bytes: &Vec<u8>| {
        crate::kyc::KycUpload {
            document_type: t,
            number,
            issue_date: None,
            expiry_date: expiry,
            masked_copy: false,
            file_name: name.into(),
            bytes: bytes.clone(),
        }
    };
    let mut out = vec![file(
        KycDocumentType::BankProof,
        Some(format!("HDFC0{:06}", n % 1_000_000)),
        None,
        "bank-proof.pdf",
        &pdf,
    )];
    if let Some(expiry) = passport_expiry {
        out.extend([
            file(
                KycDocumentType::PanCard,
                Some(pan.into()),
                None,
                "pan-card.pdf",
                &pdf,
            ),
            file(
                KycDocumentType::Passport,
                Some(format!("M{:07}", n % 10_000_000)),
                Some(expiry),
                "passport.pdf",
                &pdf,
            ),
            file(
                KycDocumentType::Photograph,
                None,
                None,
                "photograph.jpg",
                &jpg,
            ),
            file(
                KycDocumentType::Signature,
                None,
                None,
                "signature.png",
                &png,
            ),
            file(
                KycDocumentType::VerificationRecord,
                None,
                None,
                "in-person-verification.pdf",
                &pdf,
            ),
            file(
                KycDocumentType::IncomeProof,
                None,
                None,
                "itr-acknowledgement.pdf",
                &pdf,
            ),
        ]);
    }
    out
}

/// Runs one story's steps of a day, in order; answers how many events they appended.
async fn run_story(write: &WriteSide, staff: &Staff, steps: Vec<Planned>) -> Result<usize, String> {
    let mut n = 0;
    for p in steps {
        let actor = match p.by {
            By::Agent(i) => Actor {
                user_id: staff.agents[i].0,
                role: Role::RelationshipManager,
                branch: Some(staff.agents[i].1.into()),
            },
            By::Compliance(i) => Actor {
                user_id: staff.compliance[i],
                role: Role::ComplianceOfficer,
                branch: None,
            },
            By::System => {
                let (id, branch) = staff.managers[0];
                Actor {
                    user_id: id,
                    role: Role::BranchManager,
                    branch: Some(branch.into()),
                }
            }
        };
        let meta = at_meta(p.at, Some((actor.user_id, actor.role)));
        let all = ClientScope::All;
        let e = |e: &dyn std::fmt::Display| format!("demo step at {}: {e}", p.at);
        n += match p.step {
            Step::Lead(id, command) => {
                write
                    .leads
                    .execute(&id.to_string(), command, &meta, None)
                    .await
                    .map_err(|x| e(&x))?
                    .appended
            }
            Step::Onboard(b) => {
                let (client_id, lead_id, profile, branch, details) = *b;
                let pan = profile.pan.as_str().to_string();
                let reserved = crate::clients::reserve_pan(
                    &write.db,
                    &write.keyring,
                    &pan,
                    client_id,
                    |_| async { Ok::<_, store::StoreError>(true) },
                )
                .await
                .map_err(|x| e(&x))?;
                if reserved != crate::clients::Reservation::Reserved {
                    return Ok(n);
                }
                write
                    .clients
                    .create(
                        &client_id.to_string(),
                        ClientCommand::Onboard {
                            client_id,
                            lead_id: Some(lead_id),
                            profile,
                            branch,
                            relationship_manager: Some(actor.user_id),
                            details,
                        },
                        &meta,
                    )
                    .await
                    .map_err(|x| e(&x))?
                    .appended
            }
            Step::Documents(client, expiry) => {
                let (client_view, _) = write
                    .clients
                    .load(&client.to_string())
                    .await
                    .map_err(|x| e(&x))?;
                let Some(pan) = client_view.pan() else {
                    return Ok(n);
                };
                let seq = client.as_u128() as u64;
                let mut appended = 0;
                for upload in documents(expiry, pan.as_str(), seq) {
                    appended += crate::kyc::upload(write, &actor, &all, client, upload, &meta)
                        .await
                        .map_err(|x| e(&x))?
                        .1
                        .appended;
                }
                appended
            }
            Step::Submit(client) => {
                crate::kyc::submit(write, &actor, &all, client, &meta)
                    .await
                    .map_err(|x| e(&x))?
                    .appended
            }
            Step::Categorise(client, profile) => {
                crate::kyc::categorise(write, &actor, &all, client, profile, &meta)
                    .await
                    .map_err(|x| e(&x))?
                    .appended
            }
            Step::Kyc(client, command) => {
                let command = match command {
                    KycCommand::StartReview { role, .. } => KycCommand::StartReview {
                        by: actor.user_id,
                        role,
                    },
                    other => other,
                };
                write
                    .kyc
                    .execute(&client.to_string(), command, &meta, None)
                    .await
                    .map_err(|x| e(&x))?
                    .appended
            }
            Step::Decide(client, decision, reason) => {
                let verdict = crate::kyc::Verdict {
                    decision,
                    reasons: reason.map(text).into_iter().collect(),
                    documents: Vec::new(),
                };
                crate::kyc::decide(write, &actor, &all, client, verdict, &meta)
                    .await
                    .map_err(|x| e(&x))?
                    .appended
            }
            Step::Risk(client, answers) => {
                crate::investments::profile_risk(write, &actor, &all, client, answers, &meta)
                    .await
                    .map_err(|x| e(&x))?
                    .appended
            }
            Step::Trade(client, trade) => {
                crate::investments::record_trade(write, &actor, &all, client, *trade, None, &meta)
                    .await
                    .map_err(|x| e(&x))?
                    .committed
                    .appended
            }
        };
    }
    Ok(n)
}
