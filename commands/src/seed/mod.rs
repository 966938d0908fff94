//! Demo records for `crm seed`: a few leads in the demo agents' books and one client with
//! real (tiny) KYC document files from `fixtures/documents`, written through the same commands
//! the API runs. Skipped when the demo client's PAN is already on file.

use domain::client::{ClientCommand, ClientProfile, DocumentKind};
use domain::lead::{
    CaptureChannel, ContactMethod, InvestmentCapacity, LeadCommand, LeadDetails, LeadSource,
    LeadStatus, MarketingChannel,
};
use domain::user::{Branch, Role};
use domain::values::{BirthDate, Email, PersonName, Phone, Text};
use store::EventMetadata;
use uuid::Uuid;

/// The demo accounts and records, one line each of what was done: the accounts that exist are
/// kept, and so are the records once the demo client's PAN is on file.
pub async fn demo(write: &crate::WriteSide) -> Result<Vec<String>, String> {
    let mut done = Vec::new();
    for demo in DEMO_USERS {
        let (email, role) = (demo.email, demo.role);
        match crate::users::register_operator(
            write,
            email,
            demo.name,
            role,
            demo.branch,
            demo.password,
        )
        .await
        {
            Ok((id, _)) => done.push(format!("created {email:<32} {:<22} {id}", role.as_str())),
            Err(e) if e.contains("exists") => done.push(format!("kept    {email:<32} (exists)")),
            Err(e) => return Err(e),
        }
    }
    done.extend(demo_records(write).await?);
    Ok(done)
}

/// A demo account `crm seed` creates (documented in the README; for trying the system, never
/// for production).
pub struct DemoUser {
    pub email: &'static str,
    pub name: &'static str,
    pub role: Role,
    pub branch: Option<&'static str>,
    pub password: &'static str,
}

pub const DEMO_USERS: &[DemoUser] = &[
    DemoUser {
        email: "admin@demo.broker",
        name: "Asha Admin",
        role: Role::Admin,
        branch: None,
        password: "demo-admin-pass-1",
    },
    DemoUser {
        email: "manager@demo.broker",
        name: "Mohan Manager",
        role: Role::BranchManager,
        branch: Some("MUM-01"),
        password: "demo-manager-pass-1",
    },
    DemoUser {
        email: "agent1@demo.broker",
        name: "Ravi Agent",
        role: Role::RelationshipManager,
        branch: Some("MUM-01"),
        password: "demo-agent-pass-1",
    },
    DemoUser {
        email: "agent2@demo.broker",
        name: "Sita Agent",
        role: Role::RelationshipManager,
        branch: Some("DEL-01"),
        password: "demo-agent-pass-2",
    },
    DemoUser {
        email: "compliance@demo.broker",
        name: "Kavya Compliance",
        role: Role::ComplianceOfficer,
        branch: None,
        password: "demo-compliance-pass-1",
    },
    DemoUser {
        email: "auditor@demo.broker",
        name: "Arjun Auditor",
        role: Role::Auditor,
        branch: None,
        password: "demo-auditor-pass-1",
    },
];

const DEMO_PAN: &str = "ABHPK4821M";

const FILES: &[(&str, DocumentKind, &[u8])] = &[
    (
        "pan-card.pdf",
        DocumentKind::PanCard,
        include_bytes!("../../../fixtures/documents/pan-card.pdf"),
    ),
    (
        "address-proof.png",
        DocumentKind::AddressProof,
        include_bytes!("../../../fixtures/documents/address-proof.png"),
    ),
    (
        "photograph.jpg",
        DocumentKind::Photograph,
        include_bytes!("../../../fixtures/documents/photograph.jpg"),
    ),
];

fn text(s: &str) -> Text {
    Text::parse(s, 1000).expect("demo text is valid")
}

fn lead(name: &str, email: &str, phone: &str, source: LeadSource, notes: &str) -> LeadDetails {
    LeadDetails {
        name: PersonName::parse(name).expect("demo name"),
        email: Some(Email::parse(email).expect("demo e-mail")),
        phone: Some(Phone::parse(phone).expect("demo phone")),
        source,
        source_detail: None,
        product_interest: vec!["equity".into(), "mutual_funds".into()],
        preferred_contact_method: Some(ContactMethod::Phone),
        preferred_contact_time: None,
        notes: Some(text(notes)),
        investment_capacity: Some(InvestmentCapacity::Lakh5To25),
    }
}

/// Writes the demo records; answers what it did, one line each.
pub async fn demo_records(write: &crate::WriteSide) -> Result<Vec<String>, String> {
    let (db, keyring) = (&write.db, &write.keyring);
    let err = |e: &dyn std::fmt::Display| e.to_string();
    if crate::clients::client_by_pan(db, keyring, DEMO_PAN)
        .await
        .map_err(|e| err(&e))?
        .is_some()
    {
        return Ok(vec!["kept    demo leads and client (exist)".into()]);
    }
    let agent = crate::users::user_by_email(db, "agent1@demo.broker")
        .await
        .map_err(|e| err(&e))?
        .ok_or("the demo users come first")?;
    let (leads, clients) = (&write.leads, &write.clients);
    let mut meta = EventMetadata::system(None);
    meta.actor_id = agent.to_string();
    meta.actor_role = "relationship_manager".into();
    meta.user_agent = Some("crm seed".into());
    let mut done = Vec::new();
    let run = |id: Uuid, c: LeadCommand| {
        let meta = &meta;
        async move {
            leads
                .execute(&id.to_string(), c, meta, None)
                .await
                .map_err(|e| e.to_string())
        }
    };

    // Three leads: one in the agent's book that converts, one in the agent's book with SMS
    // consent, one in the unassigned pool.
    let demo = [
        (
            lead(
                "Neha Kapoor",
                "neha.kapoor@example.in",
                "98200 11223",
                LeadSource::Referral,
                "Wants a demat account and SIPs",
            ),
            Some(agent),
        ),
        (
            lead(
                "Rahul Verma",
                "rahul.verma@example.in",
                "98111 22334",
                LeadSource::Campaign,
                "Asked about F&O margins",
            ),
            Some(agent),
        ),
        (
            lead(
                "Sana Sheikh",
                "sana.sheikh@example.in",
                "99300 44556",
                LeadSource::Website,
                "Interested in IPO applications",
            ),
            None,
        ),
    ];
    let mut ids = Vec::new();
    for (details, assignee) in demo {
        let id = Uuid::now_v7();
        let name = details.name.as_str().to_string();
        run(
            id,
            LeadCommand::Capture {
                lead_id: id,
                details,
                channel: CaptureChannel::Manual,
                assign_to: assignee,
                round_robin: false,
            },
        )
        .await?;
        done.push(format!("created lead   {name:<24} {id}"));
        ids.push(id);
    }
    run(
        ids[1],
        LeadCommand::Privacy(domain::privacy::PrivacyCommand::SetMarketingConsent {
            channel: MarketingChannel::Sms,
            granted: true,
        }),
    )
    .await?;
    let client_id = Uuid::now_v7();
    for to in [
        LeadStatus::Contacted,
        LeadStatus::Qualified,
        LeadStatus::Converted,
    ] {
        run(
            ids[0],
            LeadCommand::ChangeStatus {
                to,
                reason: None,
                client_id,
            },
        )
        .await?;
    }

    // The client the first lead became, with its KYC documents.
    if crate::clients::reserve_pan(db, keyring, DEMO_PAN, client_id, |_| async {
        Ok::<_, store::StoreError>(true)
    })
    .await
    .map_err(|e| err(&e))?
        != crate::clients::Reservation::Reserved
    {
        return Err("the demo PAN is taken".into());
    }
    let profile = ClientProfile {
        name: PersonName::parse("Neha Kapoor").expect("demo name"),
        email: Email::parse("neha.kapoor@example.in").expect("demo e-mail"),
        phone: Phone::parse("98200 11223").expect("demo phone"),
        pan: domain::values::Pan::parse(DEMO_PAN).expect("demo PAN"),
        date_of_birth: BirthDate::parse("1990-08-14", chrono::Utc::now().date_naive())
            .expect("demo date"),
        address: text("21 Carter Road, Bandra West, Mumbai 400050"),
    };
    clients
        .execute(
            &client_id.to_string(),
            ClientCommand::Onboard {
                client_id,
                lead_id: Some(ids[0]),
                profile,
                branch: Branch::parse("MUM-01").expect("demo branch"),
                relationship_manager: Some(agent),
                details: Default::default(),
            },
            &meta,
            None,
        )
        .await
        .map_err(|e| e.to_string())?;
    done.push(format!("created client {:<24} {client_id}", "Neha Kapoor"));
    let scope = domain::access::ClientScope::All;
    for (file_name, kind, bytes) in FILES {
        let upload = crate::clients::Upload {
            kind: *kind,
            number: None,
            file_name: text(file_name),
            content_type: infer::get(bytes)
                .map(|t| t.mime_type())
                .unwrap_or("application/octet-stream"),
            bytes: bytes.to_vec(),
        };
        let (document_id, _) =
            crate::clients::upload_document(write, &scope, client_id, upload, &meta, None)
                .await
                .map_err(|e| err(&e))?;
        done.push(format!("added document {file_name:<24} {document_id}"));
    }
    Ok(done)
}
pub mod year;
