//! The compliance report: the KYC report's numbers, reads of personal data by staff member and
//! by person (lead and client as one person), erasure requests, legal holds and the audit
//! ledger, with this period's numbers beside the period before.

use std::collections::HashMap;

use chrono::{DateTime, NaiveDate, Utc};
use poem_openapi::Object;
use uuid::Uuid;

use super::sales::HeadlineNumber;
use super::{Count, KycReportOut, LongCsv};
use crate::dashboard::{ledger_status, LedgerWidget};
use crate::http::State;
use crate::problem::{ApiError, FieldError};

/// A staff member's reads of personal data in the period.
#[derive(Debug, Clone, Object)]
pub struct ReaderOut {
    pub actor_id: String,
    pub name: Option<String>,
    pub role: String,
    pub branch: Option<String>,
    pub reads: i64,
    /// Different records read (a person's lead and client count apart; ask with `subject`
    /// for one person over all their records).
    pub people: i64,
}

/// One read of the person's data.
#[derive(Debug, Clone, Object)]
pub struct ReadOut {
    pub at: DateTime<Utc>,
    pub actor_id: String,
    pub name: Option<String>,
    pub role: String,
    /// What was shown: profile, history, as_of, export, document, duplicate_match.
    pub what: Option<String>,
    /// The record read: the person's lead or client.
    pub record_id: String,
    /// `lead` or `client`.
    pub record_kind: String,
}

/// Who looked at one person, over all their records.
#[derive(Debug, Clone, Object)]
pub struct PersonAccessOut {
    pub subject_id: Uuid,
    /// The person's records: `lead:<id>` and `client:<id>`.
    pub records: Vec<String>,
    /// Reads in all (the newest 500 are listed).
    pub total: i64,
    pub reads: Vec<ReadOut>,
}

/// A legal hold in force.
#[derive(Debug, Clone, Object)]
pub struct HoldOut {
    pub record_kind: String,
    pub record_id: String,
    pub since: DateTime<Utc>,
}

/// Erasure requests waiting (processing restricted, the shred not yet due).
#[derive(Debug, Clone, Object)]
pub struct ErasuresOut {
    pub waiting_leads: i64,
    pub waiting_clients: i64,
}

/// The compliance report.
#[derive(Debug, Clone, Object)]
#[oai(example)]
pub struct ComplianceReportOut {
    pub generated_at: DateTime<Utc>,
    /// The log position the history read model had applied.
    pub position: i64,
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub previous_from: NaiveDate,
    pub previous_to: NaiveDate,
    /// pii_reads, pii_readers, people_read, erasure_requests, erasures_done,
    /// legal_holds_placed, legal_holds_lifted: this period and the one before.
    pub headline: Vec<HeadlineNumber>,
    pub kyc: KycReportOut,
    /// Who read the most people's data in the period (at most 50).
    pub readers: Vec<ReaderOut>,
    /// Who looked at the person asked for (`subject`).
    pub person: Option<PersonAccessOut>,
    pub erasures: ErasuresOut,
    pub legal_holds: Vec<HoldOut>,
    pub ledger: LedgerWidget,
}

impl poem_openapi::types::Example for ComplianceReportOut {
    fn example() -> Self {
        let day = |m, d| NaiveDate::from_ymd_opt(2026, m, d).expect("a day");
        let at = DateTime::parse_from_rfc3339("2026-11-30T18:00:00Z")
            .expect("a time")
            .with_timezone(&Utc);
        Self {
            generated_at: at,
            position: 48213,
            from: day(11, 1),
            to: day(11, 30),
            previous_from: day(10, 2),
            previous_to: day(10, 31),
            headline: vec![HeadlineNumber {
                key: "pii_reads".into(),
                current: Some(1204.0),
                previous: Some(1130.0),
                change: Some(74.0),
            }],
            kyc: <KycReportOut as poem_openapi::types::Example>::example(),
            readers: vec![ReaderOut {
                actor_id: Uuid::nil().to_string(),
                name: Some("Priya Nair".into()),
                role: "relationship_manager".into(),
                branch: Some("MUM-01".into()),
                reads: 310,
                people: 84,
            }],
            person: None,
            erasures: ErasuresOut {
                waiting_leads: 2,
                waiting_clients: 1,
            },
            legal_holds: vec![HoldOut {
                record_kind: "client".into(),
                record_id: Uuid::nil().to_string(),
                since: at,
            }],
            ledger: LedgerWidget {
                position: 48213,
                entries: 48213,
                behind: 0,
                last_checkpoint_seq: Some(48000),
                last_checkpoint_at: Some("2026-11-30T17:55:00Z".into()),
            },
        }
    }
}

const PRIVACY_EVENTS: &[&str] = &[
    "ErasureRequested",
    "LeadErased",
    "ClientErased",
    "LegalHoldPlaced",
    "LegalHoldLifted",
];

/// What the caller asked for.
pub struct ComplianceAsk {
    pub from: Option<NaiveDate>,
    pub to: Option<NaiveDate>,
    pub branch: Option<String>,
    pub subject: Option<Uuid>,
}

pub async fn report(state: &State, ask: ComplianceAsk) -> Result<ComplianceReportOut, ApiError> {
    let now = Utc::now();
    let today = domain::kyc::india_today(now);
    let period = super::Period::of(ask.from, ask.to, today).map_err(ApiError::validation)?;
    let previous = period.previous();
    let (from, to) = (period.from, period.to);
    let (previous_from, previous_to) = (previous.from, previous.to);
    let (cur, prev) = (period.window(now), previous.window(now));
    let db = &state.db;
    let person = match ask.subject {
        Some(id) => Some(person(state, id).await?),
        None => None,
    };
    let position = state
        .progress
        .current(projections::history::NAME)
        .map(|c| c.position)
        .unwrap_or(0);
    let e = ApiError::internal;
    let reads = (
        projections::compliance::reads_in(db, cur.0, cur.1)
            .await
            .map_err(e)?,
        projections::compliance::reads_in(db, prev.0, prev.1)
            .await
            .map_err(e)?,
    );
    let events = (
        projections::compliance::events_in(db, PRIVACY_EVENTS, cur.0, cur.1)
            .await
            .map_err(e)?,
        projections::compliance::events_in(db, PRIVACY_EVENTS, prev.0, prev.1)
            .await
            .map_err(e)?,
    );
    let erased = |m: &std::collections::BTreeMap<String, i64>| {
        m.get("LeadErased").copied().unwrap_or(0) + m.get("ClientErased").copied().unwrap_or(0)
    };
    let of = |m: &std::collections::BTreeMap<String, i64>, k: &str| m.get(k).copied().unwrap_or(0);
    let h = super::headline;
    let headline = vec![
        h("pii_reads", reads.0 .0, reads.1 .0),
        h("pii_readers", reads.0 .1, reads.1 .1),
        h("people_read", reads.0 .2, reads.1 .2),
        h(
            "erasure_requests",
            of(&events.0, "ErasureRequested"),
            of(&events.1, "ErasureRequested"),
        ),
        h("erasures_done", erased(&events.0), erased(&events.1)),
        h(
            "legal_holds_placed",
            of(&events.0, "LegalHoldPlaced"),
            of(&events.1, "LegalHoldPlaced"),
        ),
        h(
            "legal_holds_lifted",
            of(&events.0, "LegalHoldLifted"),
            of(&events.1, "LegalHoldLifted"),
        ),
    ];
    let branch = ask.branch.map(|b| b.trim().to_ascii_uppercase());
    let readers = projections::compliance::readers(db, cur.0, cur.1, branch.as_deref(), 50)
        .await
        .map_err(e)?;
    let ids: Vec<Uuid> = readers
        .iter()
        .filter_map(|r| Uuid::parse_str(&r.actor_id).ok())
        .collect();
    let names = projections::users::names(db, &ids).await.map_err(e)?;
    let named = |id: &str| Uuid::parse_str(id).ok().and_then(|u| names.get(&u));
    let readers = readers
        .into_iter()
        .map(|r| ReaderOut {
            name: named(&r.actor_id).map(|n| n.0.clone()),
            branch: named(&r.actor_id).and_then(|n| n.1.clone()),
            actor_id: r.actor_id,
            role: r.actor_role,
            reads: r.reads,
            people: r.people,
        })
        .collect();
    let kyc = projections::kyc::report::kyc_report(db, &state.keyring, branch.as_deref(), now)
        .await
        .map_err(e)?;
    let (waiting_leads, waiting_clients) = projections::compliance::erasures_waiting(db)
        .await
        .map_err(e)?;
    let legal_holds = projections::compliance::holds_at(db, now)
        .await
        .map_err(e)?
        .into_iter()
        .map(|h| HoldOut {
            record_kind: h.aggregate_type,
            record_id: h.aggregate_id,
            since: h.since,
        })
        .collect();
    Ok(ComplianceReportOut {
        generated_at: now,
        position,
        from,
        to,
        previous_from,
        previous_to,
        headline,
        kyc: kyc.into(),
        readers,
        person,
        erasures: ErasuresOut {
            waiting_leads,
            waiting_clients,
        },
        legal_holds,
        ledger: ledger_status(state).await?,
    })
}

/// Who looked at the person `id` names (a lead or a client), over all their records.
async fn person(state: &State, id: Uuid) -> Result<PersonAccessOut, ApiError> {
    use commands::privacy::subjects::{self, Record, Subject};
    let unknown = || {
        ApiError::validation(vec![FieldError::new(
            "subject",
            "no lead or client has this id",
        )])
    };
    let subject = subjects::subject(&state.write, id).await?;
    let known = match subject {
        Subject::Client { .. } => true,
        Subject::Lead => projections::leads::query::get(&state.db, &state.keyring, id)
            .await
            .map_err(ApiError::internal)?
            .is_some(),
    };
    if !known {
        return Err(unknown());
    }
    let mut records = vec![match subject {
        Subject::Client { .. } => Record::Client(id),
        Subject::Lead => Record::Lead(id),
    }];
    records.extend(subjects::other_records(&state.write, id, subject).await?);
    let kinds: HashMap<String, &str> = records
        .iter()
        .map(|r| match r {
            Record::Lead(l) => (l.to_string(), "lead"),
            Record::Client(c) => (c.to_string(), "client"),
        })
        .collect();
    let ids: Vec<String> = kinds.keys().cloned().collect();
    let (reads, total) = projections::compliance::reads_of(&state.db, &ids, 500)
        .await
        .map_err(ApiError::internal)?;
    let staff: Vec<Uuid> = reads
        .iter()
        .filter_map(|r| Uuid::parse_str(&r.actor_id).ok())
        .collect();
    let names = projections::users::names(&state.db, &staff)
        .await
        .map_err(ApiError::internal)?;
    let mut listed: Vec<String> = kinds.iter().map(|(id, k)| format!("{k}:{id}")).collect();
    listed.sort();
    Ok(PersonAccessOut {
        subject_id: id,
        records: listed,
        total,
        reads: reads
            .into_iter()
            .map(|r| ReadOut {
                at: r.recorded_at,
                name: Uuid::parse_str(&r.actor_id)
                    .ok()
                    .and_then(|u| names.get(&u))
                    .map(|n| n.0.clone()),
                actor_id: r.actor_id,
                role: r.actor_role,
                what: r.detail,
                record_kind: kinds.get(&r.subject_id).copied().unwrap_or("lead").into(),
                record_id: r.subject_id,
            })
            .collect(),
    })
}

impl super::CsvReport for ComplianceReportOut {
    /// The report as CSV (`section,key,measure,value`); the KYC numbers under `kyc.*`.
    fn csv(&self) -> Result<String, csv::Error> {
        let mut out = LongCsv::default();
        out.row("report", "period", "from", self.from.to_string());
        out.row("report", "period", "to", self.to.to_string());
        out.row("report", "position", "position", self.position.to_string());
        for h in &self.headline {
            out.row("headline", &h.key, "current", super::num(h.current));
            out.row("headline", &h.key, "previous", super::num(h.previous));
        }
        let k = &self.kyc;
        for (section, list) in [
            ("kyc.by_status", &k.by_status),
            ("kyc.review_ageing", &k.review_ageing),
            ("kyc.rejected_documents", &k.rejected_documents),
            ("kyc.rejection_reasons", &k.rejection_reasons),
            ("kyc.expiring_documents", &k.expiring_documents),
            ("kyc.trading_blocked", &k.trading_blocked),
        ] {
            for Count { key, count } in list {
                out.row(section, key, "count", count.to_string());
            }
        }
        out.row("kyc", "without_case", "count", k.without_case.to_string());
        out.row("kyc", "rekyc_overdue", "count", k.rekyc_overdue.to_string());
        for r in &self.readers {
            out.row("readers", &r.actor_id, "reads", r.reads.to_string());
            out.row("readers", &r.actor_id, "people", r.people.to_string());
        }
        if let Some(p) = &self.person {
            for r in &p.reads {
                let what = r.what.clone().unwrap_or_default();
                out.row(
                    "person",
                    &format!("{} {}", r.at.to_rfc3339(), r.actor_id),
                    &format!("{}:{}", r.record_kind, what),
                    r.record_id.clone(),
                );
            }
        }
        out.row(
            "erasures",
            "waiting",
            "leads",
            self.erasures.waiting_leads.to_string(),
        );
        out.row(
            "erasures",
            "waiting",
            "clients",
            self.erasures.waiting_clients.to_string(),
        );
        for h in &self.legal_holds {
            out.row(
                "legal_holds",
                &h.record_id,
                &h.record_kind,
                h.since.to_rfc3339(),
            );
        }
        let l = &self.ledger;
        out.row("ledger", "entries", "count", l.entries.to_string());
        out.row("ledger", "behind", "count", l.behind.to_string());
        out.row(
            "ledger",
            "last_checkpoint",
            "seq",
            l.last_checkpoint_seq
                .map(|s| s.to_string())
                .unwrap_or_default(),
        );
        out.finish()
    }
}
