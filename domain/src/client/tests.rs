//! Given events, when a command, then events or an error.

use chrono::{DateTime, Duration, TimeZone, Utc};
use cqrs_es::test::TestFramework;
use uuid::Uuid;

use super::*;
use crate::privacy::MarketingChannel;
use crate::values::{BirthDate, Email, PersonName, Phone};

type Given = TestFramework<Client>;

fn closed_on() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 1, 15, 10, 0, 0).unwrap()
}

fn at(now: DateTime<Utc>) -> ClientServices {
    ClientServices {
        clock: Clock::fixed(now),
        retention: RetentionPolicy::default(),
        documents: DocumentLimits::default(),
        segments: SegmentThresholds::default(),
    }
}

fn today() -> ClientServices {
    at(Utc.with_ymd_and_hms(2026, 11, 30, 10, 0, 0).unwrap())
}

fn text(s: &str) -> Text {
    Text::parse(s, 500).unwrap()
}

fn profile() -> ClientProfile {
    ClientProfile {
        name: PersonName::parse("Asha Rao").unwrap(),
        email: Email::parse("asha@example.in").unwrap(),
        phone: Phone::parse("9876543210").unwrap(),
        pan: Pan::parse("ABCPR1234F").unwrap(),
        date_of_birth: BirthDate::parse(
            "1988-04-12",
            chrono::NaiveDate::from_ymd_opt(2026, 11, 30).unwrap(),
        )
        .unwrap(),
        address: text("12 Marine Drive, Mumbai 400002"),
    }
}

fn onboarded() -> ClientEvent {
    ClientEvent::ClientOnboarded {
        client_id: Uuid::from_u128(1),
        lead_id: Some(Uuid::from_u128(2)),
        profile: profile(),
        branch: Branch::parse("MUM-01").unwrap(),
        relationship_manager: Some(Uuid::from_u128(3)),
        details: ClientDetails::default(),
    }
}

fn closed() -> ClientEvent {
    ClientEvent::RelationshipClosed {
        reason: text("account closed at the client's request"),
        closed_at: closed_on(),
    }
}

fn document(n: u128) -> Document {
    Document {
        document_id: Uuid::from_u128(n),
        kind: DocumentKind::PanCard,
        number: None,
        file_name: text("pan.pdf"),
        content_type: "application/pdf".into(),
        size: 1024,
        sha256: "ab".repeat(32),
    }
}

#[test]
fn onboarding_twice_is_refused() {
    Given::with(today())
        .given(vec![onboarded()])
        .when(ClientCommand::Onboard {
            client_id: Uuid::from_u128(1),
            lead_id: None,
            profile: profile(),
            branch: Branch::parse("MUM-01").unwrap(),
            relationship_manager: None,
            details: ClientDetails::default(),
        })
        .then_expect_error(ClientError::AlreadyExists);
}

#[test]
fn a_profile_update_records_only_what_changed() {
    let change = ClientProfileChange {
        name: Some(PersonName::parse("Asha Rao").unwrap()),
        phone: Some(Phone::parse("9123456780").unwrap()),
        ..Default::default()
    };
    Given::with(today())
        .given(vec![onboarded()])
        .when(ClientCommand::UpdateProfile(change))
        .then_expect_events(vec![ClientEvent::ClientProfileChanged(
            ClientProfileChange {
                phone: Some(Phone::parse("9123456780").unwrap()),
                ..Default::default()
            },
        )]);
    Given::with(today())
        .given(vec![onboarded()])
        .when(ClientCommand::UpdateProfile(ClientProfileChange {
            email: Some(Email::parse("asha@example.in").unwrap()),
            ..Default::default()
        }))
        .then_expect_events(vec![]);
}

#[test]
fn a_closed_relationship_takes_no_more_changes() {
    Given::with(today())
        .given(vec![onboarded(), closed()])
        .when(ClientCommand::AddDocument(document(7)))
        .then_expect_error(ClientError::Closed);
    Given::with(today())
        .given(vec![onboarded(), closed()])
        .when(ClientCommand::CloseRelationship {
            reason: text("again"),
        })
        .then_expect_error(ClientError::Closed);
}

#[test]
fn an_erasure_request_restricts_and_names_the_retention_end() {
    Given::with(today())
        .given(vec![onboarded(), closed()])
        .when(ClientCommand::Privacy(
            crate::privacy::PrivacyCommand::RequestErasure { reason: None },
        ))
        .then_expect_events(vec![ClientEvent::ErasureRequested {
            reason: None,
            retention_until: Some(Utc.with_ymd_and_hms(2034, 1, 15, 10, 0, 0).unwrap()),
        }]);
    let requested = ClientEvent::ErasureRequested {
        reason: None,
        retention_until: None,
    };
    Given::with(today())
        .given(vec![onboarded(), requested.clone()])
        .when(ClientCommand::UpdateProfile(ClientProfileChange {
            address: Some(text("elsewhere")),
            ..Default::default()
        }))
        .then_expect_error(ClientError::Restricted);
    // Closing the account is still possible: it starts the retention clock.
    Given::with(today())
        .given(vec![onboarded(), requested])
        .when(ClientCommand::CloseRelationship {
            reason: text("closed"),
        })
        .then_expect_events(vec![ClientEvent::RelationshipClosed {
            reason: text("closed"),
            closed_at: Utc.with_ymd_and_hms(2026, 11, 30, 10, 0, 0).unwrap(),
        }]);
}

#[test]
fn the_key_stays_while_the_relationship_is_open_or_the_retention_runs() {
    Given::with(today())
        .given(vec![onboarded()])
        .when(ClientCommand::Erase)
        .then_expect_error(ClientError::Privacy(crate::privacy::PrivacyError::ErasureBlocked("the client relationship is open; its records are kept while it lasts and for the retention period after it ends")));
    let a_day_short = Utc.with_ymd_and_hms(2034, 1, 14, 10, 0, 0).unwrap();
    Given::with(at(a_day_short))
        .given(vec![onboarded(), closed()])
        .when(ClientCommand::Erase)
        .then_expect_error(ClientError::Privacy(
            crate::privacy::PrivacyError::ErasureBlocked(
                "the records are kept until the retention period ends",
            ),
        ));
}

#[test]
fn after_the_retention_period_the_data_goes_even_unasked_but_not_under_a_hold() {
    let later = Utc.with_ymd_and_hms(2034, 1, 15, 10, 0, 0).unwrap();
    Given::with(at(later))
        .given(vec![onboarded(), closed()])
        .when(ClientCommand::Erase)
        .then_expect_events(vec![ClientEvent::ClientErased {
            basis: ErasureBasis::RetentionEnded,
        }]);
    Given::with(at(later))
        .given(vec![
            onboarded(),
            closed(),
            ClientEvent::ErasureRequested {
                reason: None,
                retention_until: Some(later),
            },
        ])
        .when(ClientCommand::Erase)
        .then_expect_events(vec![ClientEvent::ClientErased {
            basis: ErasureBasis::Request,
        }]);
    Given::with(at(later))
        .given(vec![
            onboarded(),
            closed(),
            ClientEvent::Privacy(crate::privacy::PrivacyEvent::LegalHoldPlaced {
                reason: text("SEBI inquiry"),
            }),
        ])
        .when(ClientCommand::Erase)
        .then_expect_error(ClientError::Privacy(
            crate::privacy::PrivacyError::ErasureBlocked("a legal hold stands"),
        ));
}

#[test]
fn documents_are_purged_when_their_own_period_ends() {
    let added = ClientEvent::ClientDocumentAdded(document(7));
    let purged_already = ClientEvent::ClientDocumentsPurged {
        document_ids: vec![Uuid::from_u128(7)],
    };
    let five_years_on = Utc.with_ymd_and_hms(2031, 1, 15, 10, 0, 0).unwrap();
    Given::with(at(five_years_on))
        .given(vec![onboarded(), added.clone(), closed()])
        .when(ClientCommand::PurgeExpiredDocuments)
        .then_expect_events(vec![purged_already.clone()]);
    Given::with(at(five_years_on - Duration::days(1)))
        .given(vec![onboarded(), added.clone(), closed()])
        .when(ClientCommand::PurgeExpiredDocuments)
        .then_expect_events(vec![]);
    Given::with(at(five_years_on))
        .given(vec![onboarded(), added, closed(), purged_already])
        .when(ClientCommand::PurgeExpiredDocuments)
        .then_expect_events(vec![]);
}

#[test]
fn a_document_id_is_used_once() {
    Given::with(today())
        .given(vec![
            onboarded(),
            ClientEvent::ClientDocumentAdded(document(7)),
        ])
        .when(ClientCommand::AddDocument(document(7)))
        .then_expect_error(ClientError::DuplicateDocument);
}

#[test]
fn consent_is_withdrawn_at_once_and_not_given_while_restricted() {
    Given::with(today())
        .given(vec![
            onboarded(),
            ClientEvent::Privacy(crate::privacy::PrivacyEvent::MarketingConsentGiven {
                channel: MarketingChannel::Sms,
            }),
        ])
        .when(ClientCommand::Privacy(
            crate::privacy::PrivacyCommand::SetMarketingConsent {
                channel: MarketingChannel::Sms,
                granted: false,
            },
        ))
        .then_expect_events(vec![ClientEvent::Privacy(
            crate::privacy::PrivacyEvent::MarketingConsentWithdrawn {
                channel: MarketingChannel::Sms,
            },
        )]);
    Given::with(today())
        .given(vec![
            onboarded(),
            ClientEvent::ErasureRequested {
                reason: None,
                retention_until: None,
            },
        ])
        .when(ClientCommand::Privacy(
            crate::privacy::PrivacyCommand::SetMarketingConsent {
                channel: MarketingChannel::Email,
                granted: true,
            },
        ))
        .then_expect_error(ClientError::Privacy(
            crate::privacy::PrivacyError::ConsentWhileRestricted,
        ));
}

#[test]
fn an_erased_client_takes_no_changes_but_can_still_be_exported() {
    let erased = ClientEvent::ClientErased {
        basis: ErasureBasis::Request,
    };
    Given::with(today())
        .given(vec![onboarded(), closed(), erased.clone()])
        .when(ClientCommand::Privacy(
            crate::privacy::PrivacyCommand::PlaceLegalHold {
                reason: text("late inquiry"),
            },
        ))
        .then_expect_error(ClientError::Privacy(crate::privacy::PrivacyError::Erased));
    Given::with(today())
        .given(vec![onboarded(), closed(), erased])
        .when(ClientCommand::Privacy(
            crate::privacy::PrivacyCommand::RecordExport,
        ))
        .then_expect_events(vec![ClientEvent::Privacy(
            crate::privacy::PrivacyEvent::SubjectDataExported,
        )]);
}

/// One event of every type with every optional field filled: each string field in the log is
/// either sealed as personal or declared plain, and every event reads back as itself.
#[test]
fn every_string_field_of_every_event_is_classified() {
    use crate::privacy::PrivacyEvent;
    use crate::worklog::WorkEvent;
    let why = Some(text("because"));
    let events = vec![
        ClientEvent::ClientOnboarded {
            client_id: Uuid::from_u128(1),
            lead_id: Some(Uuid::from_u128(2)),
            profile: profile(),
            branch: Branch::parse("MUM-01").unwrap(),
            relationship_manager: Some(Uuid::from_u128(3)),
            details: full_details(),
        },
        ClientEvent::ClientDetailsChanged {
            details: full_details(),
            changed: vec![DetailsPart::Contacts, DetailsPart::Guardian],
        },
        ClientEvent::ClientSegmentChanged {
            from: Segment::Retail,
            to: Segment::Hni,
            aum: Some(rust_decimal::Decimal::from(12_000_000)),
        },
        ClientEvent::ClientProfileChanged(ClientProfileChange {
            name: Some(PersonName::parse("Asha R").unwrap()),
            email: Some(Email::parse("a.r@example.in").unwrap()),
            phone: Some(Phone::parse("9876543210").unwrap()),
            address: Some(text("1 Hill Road")),
        }),
        ClientEvent::RelationshipManagerAssigned {
            manager_id: Uuid::from_u128(4),
            previous_manager_id: Some(Uuid::from_u128(3)),
        },
        closed(),
        ClientEvent::AccountSuspended {
            from: AccountStatus::Active,
            reason: text("exchange inquiry"),
        },
        ClientEvent::AccountMarkedDormant {
            last_activity_on: chrono::NaiveDate::from_ymd_opt(2024, 1, 2).unwrap(),
        },
        ClientEvent::AccountReactivated {
            from: AccountStatus::Inactive,
            reason: why.clone(),
        },
        ClientEvent::RelationshipReopened {
            reason: text("came back"),
            closed_at: closed_on(),
        },
        ClientEvent::ClientDocumentAdded(Document {
            number: Some(text("K1234567")),
            ..document(5)
        }),
        ClientEvent::ClientDocumentsPurged {
            document_ids: vec![Uuid::from_u128(5)],
        },
        ClientEvent::ErasureRequested {
            reason: why.clone(),
            retention_until: Some(closed_on()),
        },
        ClientEvent::ClientErased {
            basis: ErasureBasis::Request,
        },
        ClientEvent::Privacy(PrivacyEvent::LegalHoldPlaced {
            reason: text("inquiry"),
        }),
        ClientEvent::Privacy(PrivacyEvent::LegalHoldLifted {
            reason: why.clone(),
        }),
        ClientEvent::Privacy(PrivacyEvent::MarketingConsentGiven {
            channel: MarketingChannel::Email,
        }),
        ClientEvent::Privacy(PrivacyEvent::MarketingConsentWithdrawn {
            channel: MarketingChannel::Email,
        }),
        ClientEvent::Privacy(PrivacyEvent::SubjectDataExported),
        ClientEvent::Work(WorkEvent::FollowUpScheduled {
            follow_up_id: Uuid::from_u128(8),
            due_at: closed_on(),
            channel: crate::lead::FollowUpChannel::Call,
            note: why.clone(),
        }),
        ClientEvent::Work(WorkEvent::FollowUpRescheduled {
            follow_up_id: Uuid::from_u128(8),
            previous_due_at: closed_on(),
            due_at: closed_on(),
            reason: why.clone(),
        }),
        ClientEvent::Work(WorkEvent::FollowUpCompleted {
            follow_up_id: Uuid::from_u128(8),
            outcome: why.clone(),
        }),
        ClientEvent::Work(WorkEvent::FollowUpCancelled {
            follow_up_id: Uuid::from_u128(8),
            reason: why.clone(),
        }),
        ClientEvent::Work(WorkEvent::InteractionLogged {
            interaction_id: Uuid::from_u128(9),
            kind: crate::lead::InteractionKind::Review,
            direction: Some(crate::lead::InteractionDirection::Outbound),
            summary: text("annual portfolio review"),
            occurred_at: closed_on(),
            duration_minutes: Some(30),
        }),
        ClientEvent::Work(WorkEvent::MergeReceived {
            from_lead: Uuid::from_u128(10),
            follow_ups: vec![crate::merge::MovedFollowUp {
                follow_up_id: Uuid::from_u128(11),
                from_follow_up_id: Uuid::from_u128(12),
                due_at: closed_on(),
                channel: crate::lead::FollowUpChannel::Call,
            }],
        }),
        ClientEvent::Work(WorkEvent::MergeReverted {
            from_lead: Uuid::from_u128(10),
            follow_ups: vec![Uuid::from_u128(11)],
        }),
    ];
    for e in &events {
        let back: ClientEvent = serde_json::from_value(serde_json::to_value(e).unwrap()).unwrap();
        assert_eq!(&back, e, "{} reads back as itself", e.name());
    }
    let samples: Vec<(&str, ClientEvent)> = events.into_iter().map(|e| (e.name(), e)).collect();
    let table = personal::EVENT_TABLES.concat();
    assert_eq!(
        crate::personal::unclassified(&table, &samples),
        Vec::<String>::new()
    );
}

#[test]
fn a_profile_as_sent_is_checked_and_a_change_names_a_field() {
    let today = chrono::NaiveDate::from_ymd_opt(2026, 12, 1).unwrap();
    let raw = RawProfile {
        name: "Asha Rao",
        email: "asha@example.in",
        phone: "9876543210",
        pan: "abcpe1234f",
        date_of_birth: "1990-01-31",
        address: "12 Marine Drive, Mumbai",
    };
    assert_eq!(
        ClientProfile::parse(raw, today).unwrap().pan.as_str(),
        "ABCPE1234F"
    );
    let wrong = ClientProfile::parse(
        RawProfile {
            pan: "ABC",
            date_of_birth: "2027-01-01",
            ..raw
        },
        today,
    )
    .unwrap_err();
    let fields: Vec<&str> = wrong.iter().map(|i| i.field).collect();
    assert_eq!(fields, ["pan", "date_of_birth"]);
    let empty = ClientProfileChange::parse(RawProfileChange::default()).unwrap_err();
    assert_eq!(empty[0].field, "body");
    let change = ClientProfileChange::parse(RawProfileChange {
        address: Some("1 Hill Road"),
        ..Default::default()
    })
    .unwrap();
    assert_eq!(change.fields(), ["address"]);
}

#[test]
fn a_client_holds_documents_up_to_the_limits_and_purged_ones_do_not_count() {
    let limited = |files, bytes| ClientServices {
        documents: DocumentLimits { files, bytes },
        ..today()
    };
    let two = vec![
        onboarded(),
        ClientEvent::ClientDocumentAdded(document(5)),
        ClientEvent::ClientDocumentAdded(document(6)),
    ];
    Given::with(limited(2, 1 << 20))
        .given(two.clone())
        .when(ClientCommand::AddDocument(document(7)))
        .then_expect_error(ClientError::DocumentLimit {
            files: 2,
            bytes: 1 << 20,
        });
    Given::with(limited(10, 2048 + 1023))
        .given(two.clone())
        .when(ClientCommand::AddDocument(document(7)))
        .then_expect_error(ClientError::DocumentLimit {
            files: 10,
            bytes: 2048 + 1023,
        });
    let mut purged = two;
    purged.push(ClientEvent::ClientDocumentsPurged {
        document_ids: vec![Uuid::from_u128(5)],
    });
    Given::with(limited(2, 1 << 20))
        .given(purged)
        .when(ClientCommand::AddDocument(document(7)))
        .then_expect_events(vec![ClientEvent::ClientDocumentAdded(document(7))]);
}

fn suspended() -> ClientEvent {
    ClientEvent::AccountSuspended {
        from: AccountStatus::Active,
        reason: text("exchange inquiry"),
    }
}

fn dormant() -> ClientEvent {
    ClientEvent::AccountMarkedDormant {
        last_activity_on: chrono::NaiveDate::from_ymd_opt(2024, 1, 2).unwrap(),
    }
}

#[test]
fn an_active_account_is_suspended_with_its_reason_and_reactivated() {
    Given::with(today())
        .given(vec![onboarded()])
        .when(ClientCommand::Suspend {
            reason: text("exchange inquiry"),
        })
        .then_expect_events(vec![suspended()]);
    Given::with(today())
        .given(vec![onboarded(), suspended()])
        .when(ClientCommand::Reactivate {
            reason: Some(text("inquiry closed")),
        })
        .then_expect_events(vec![ClientEvent::AccountReactivated {
            from: AccountStatus::Suspended,
            reason: Some(text("inquiry closed")),
        }]);
}

#[test]
fn illegal_moves_are_refused_naming_both_ends() {
    let illegal = |given: Vec<ClientEvent>, command: ClientCommand, from, to| {
        Given::with(today())
            .given(given)
            .when(command)
            .then_expect_error(ClientError::IllegalMove { from, to });
    };
    use AccountStatus::*;
    let suspend = || ClientCommand::Suspend {
        reason: text("again"),
    };
    let reactivate = || ClientCommand::Reactivate { reason: None };
    illegal(vec![onboarded()], reactivate(), Active, Active);
    illegal(
        vec![onboarded(), suspended()],
        suspend(),
        Suspended,
        Suspended,
    );
    illegal(vec![onboarded(), closed()], suspend(), Closed, Suspended);
    Given::with(today())
        .given(vec![onboarded(), closed()])
        .when(reactivate())
        .then_expect_error(ClientError::ReasonRequired);
}

#[test]
fn dormancy_is_marked_once_and_a_dormant_account_can_be_suspended_or_reactivated() {
    let mark = || ClientCommand::MarkDormant {
        last_activity_on: chrono::NaiveDate::from_ymd_opt(2024, 1, 2).unwrap(),
    };
    Given::with(today())
        .given(vec![onboarded()])
        .when(mark())
        .then_expect_events(vec![dormant()]);
    // Once: already dormant, suspended or closed, nothing happens.
    for state in [dormant(), suspended(), closed()] {
        Given::with(today())
            .given(vec![onboarded(), state])
            .when(mark())
            .then_expect_events(vec![]);
    }
    Given::with(today())
        .given(vec![onboarded(), dormant()])
        .when(ClientCommand::Suspend {
            reason: text("exchange inquiry"),
        })
        .then_expect_events(vec![ClientEvent::AccountSuspended {
            from: AccountStatus::Inactive,
            reason: text("exchange inquiry"),
        }]);
    Given::with(today())
        .given(vec![onboarded(), dormant()])
        .when(ClientCommand::Reactivate { reason: None })
        .then_expect_events(vec![ClientEvent::AccountReactivated {
            from: AccountStatus::Inactive,
            reason: None,
        }]);
}

#[test]
fn a_closed_account_reopens_within_its_retention_period_only() {
    let reopen = || ClientCommand::Reactivate {
        reason: Some(text("came back")),
    };
    Given::with(today())
        .given(vec![onboarded(), suspended(), closed()])
        .when(reopen())
        .then_expect_events(vec![ClientEvent::RelationshipReopened {
            reason: text("came back"),
            closed_at: closed_on(),
        }]);
    // Eight years after closing the records' purpose is served: no reopening.
    Given::with(at(closed_on() + Duration::days(8 * 366)))
        .given(vec![onboarded(), closed()])
        .when(reopen())
        .then_expect_error(ClientError::RetentionEnded);
    // A person who asked for erasure is not brought back.
    Given::with(today())
        .given(vec![
            onboarded(),
            closed(),
            ClientEvent::ErasureRequested {
                reason: None,
                retention_until: Some(closed_on()),
            },
        ])
        .when(reopen())
        .then_expect_error(ClientError::Restricted);
    // Reopened, it is active and takes changes again; the retention clock stops.
    let mut client = Client::default();
    for e in [
        onboarded(),
        suspended(),
        closed(),
        ClientEvent::RelationshipReopened {
            reason: text("came back"),
            closed_at: closed_on(),
        },
    ] {
        client.apply(e);
    }
    assert_eq!(client.status(), AccountStatus::Active);
    assert!(client.ensure_changeable().is_ok());
    assert_eq!(
        client.erasure_blocker(today().clock.now(), RetentionPolicy::default()),
        Some("the client relationship is open; its records are kept while it lasts and for the retention period after it ends")
    );
}

#[test]
fn only_an_active_account_takes_new_trades() {
    let with = |events: Vec<ClientEvent>| {
        let mut c = Client::default();
        for e in events {
            c.apply(e);
        }
        c
    };
    assert_eq!(with(vec![onboarded()]).ensure_tradable(), Ok(()));
    assert_eq!(
        with(vec![onboarded(), dormant()]).ensure_tradable(),
        Err(ClientError::NotActive(AccountStatus::Inactive))
    );
    assert_eq!(
        with(vec![onboarded(), suspended()]).ensure_tradable(),
        Err(ClientError::NotActive(AccountStatus::Suspended))
    );
    assert_eq!(
        with(vec![onboarded(), closed()]).ensure_tradable(),
        Err(ClientError::Closed)
    );
}

fn day(y: i32, m: u32, d: u32) -> chrono::NaiveDate {
    chrono::NaiveDate::from_ymd_opt(y, m, d).unwrap()
}

fn share(s: &str) -> rust_decimal::Decimal {
    s.parse().unwrap()
}

fn nominee(name: &str, pct: &str) -> Nominee {
    Nominee {
        name: PersonName::parse(name).unwrap(),
        relationship: Relation::Spouse,
        share: share(pct),
        date_of_birth: None,
        guardian_name: None,
    }
}

/// Details with every part and every optional field filled.
fn full_details() -> ClientDetails {
    ClientDetails {
        emails: vec![
            LabelledEmail {
                label: ContactLabel::Personal,
                address: Email::parse("asha@example.in").unwrap(),
                primary: true,
            },
            LabelledEmail {
                label: ContactLabel::Work,
                address: Email::parse("asha.rao@work.example").unwrap(),
                primary: false,
            },
        ],
        phones: vec![LabelledPhone {
            label: ContactLabel::Personal,
            number: Phone::parse("9876543210").unwrap(),
            primary: true,
        }],
        preferred_channel: Some(ContactChannel::Whatsapp),
        preferred_time: Some(ContactTime::Evening),
        addresses: vec![Address::parse(
            AddressKind::Correspondence,
            "12 Marine Drive",
            Some("Churchgate"),
            "Mumbai",
            IndianState::Maharashtra,
            "400002",
        )
        .unwrap()],
        occupation: Some(Occupation::Professional),
        annual_income: Some(IncomeRange::Above25Lakh),
        net_worth: Some(NetWorthBand::Crore1To5),
        nominees: vec![Nominee {
            date_of_birth: Some(BirthDate::parse("2015-06-01", day(2026, 11, 30)).unwrap()),
            guardian_name: Some(PersonName::parse("Ravi Rao").unwrap()),
            ..nominee("Meera Rao", "100")
        }],
        bank_accounts: vec![BankAccount {
            ifsc: crate::values::Ifsc::parse("HDFC0001234").unwrap(),
            account_number: AccountNumber::parse("50100123456789").unwrap(),
            account_type: BankAccountType::Savings,
            primary: true,
        }],
        demat_accounts: vec![DematAccount::parse("IN300476", "12345678", true).unwrap()],
        guardian: Some(Guardian {
            name: PersonName::parse("Ravi Rao").unwrap(),
            relationship: Relation::Father,
            pan: Some(Pan::parse("ABCPR1235G").unwrap()),
        }),
    }
}

#[test]
fn values_of_the_details_are_checked() {
    assert_eq!(Pin::parse("400 001").unwrap().as_str(), "400001");
    assert!(Pin::parse("040001").is_err());
    assert!(Pin::parse("40001").is_err());
    let wrong_state = Address::parse(
        AddressKind::Permanent,
        "1 MG Road",
        None,
        "Bengaluru",
        IndianState::Maharashtra,
        "560001",
    )
    .unwrap_err();
    assert!(
        wrong_state.message.contains("not in maharashtra"),
        "{wrong_state}"
    );
    assert!(Address::parse(
        AddressKind::Permanent,
        "1 MG Road",
        None,
        "Bengaluru",
        IndianState::Karnataka,
        "560001"
    )
    .is_ok());
    let nsdl = DematAccount::parse("in300476", "12345678", true).unwrap();
    assert_eq!(nsdl.depository, Depository::Nsdl);
    assert_eq!(nsdl.bo_id(), "IN30047612345678");
    assert!(DematAccount::parse("33081600", "00123456", false).is_err());
    let cdsl = DematAccount::parse("12081600", "00123456", false).unwrap();
    assert_eq!(cdsl.depository, Depository::Cdsl);
    assert_eq!(cdsl.bo_id().len(), 16);
    assert!(DematAccount::parse("IN30047", "12345678", true).is_err());
    assert!(DematAccount::parse("IN300476", "1234567X", true).is_err());
    assert!(AccountNumber::parse("12345678").is_err());
    assert_eq!(
        AccountNumber::parse("5010-0123-4567").unwrap().as_str(),
        "501001234567"
    );
}

#[test]
fn nominee_shares_add_up_to_a_hundred_and_lists_have_one_primary() {
    let on = day(2026, 11, 30);
    let mut d = full_details();
    assert_eq!(d.check(on), vec![]);
    d.nominees = vec![
        nominee("A One", "33.33"),
        nominee("B Two", "33.33"),
        nominee("C Three", "33.33"),
    ];
    let invalid = d.check(on);
    assert_eq!(invalid.len(), 1);
    assert!(invalid[0].message.contains("99.99 %"), "{invalid:?}");
    d.nominees[2].share = share("33.34");
    assert_eq!(d.check(on), vec![]);
    d.nominees[2].share = share("33.335");
    d.nominees[1].share = share("33.325");
    assert!(d.check(on)[0].message.contains("two decimals"));
    d.nominees = vec![Nominee {
        date_of_birth: Some(BirthDate::parse("2012-01-01", on).unwrap()),
        ..nominee("Young One", "100")
    }];
    assert!(d.check(on)[0].message.contains("minor"));
    d.nominees = vec![Nominee {
        date_of_birth: Some(BirthDate::parse("1980-01-01", on).unwrap()),
        guardian_name: Some(PersonName::parse("Someone").unwrap()),
        ..nominee("Grown Up", "100")
    }];
    assert!(d.check(on)[0].message.contains("adult"));
    d.nominees.clear();
    d.emails[1].primary = true;
    d.bank_accounts[0].primary = false;
    let fields: Vec<&str> = d.check(on).iter().map(|i| i.field).collect();
    assert_eq!(fields, ["emails", "bank_accounts"]);
}

#[test]
fn a_minor_is_onboarded_only_with_a_guardian_and_an_adult_without_one() {
    let minor = ClientProfile {
        date_of_birth: BirthDate::parse("2012-03-01", day(2026, 11, 30)).unwrap(),
        ..profile()
    };
    let onboard = |profile: ClientProfile, details: ClientDetails| ClientCommand::Onboard {
        client_id: Uuid::from_u128(1),
        lead_id: None,
        profile,
        branch: Branch::parse("MUM-01").unwrap(),
        relationship_manager: None,
        details,
    };
    let refused = |e: Result<Vec<ClientEvent>, ClientError>| match e {
        Err(ClientError::Invalid(i)) => i.into_iter().map(|i| i.field).collect::<Vec<_>>(),
        other => panic!("expected invalid, got {other:?}"),
    };
    let fresh = Client::default();
    assert_eq!(
        refused(fresh.decide(onboard(minor.clone(), ClientDetails::default()), &today())),
        ["guardian"]
    );
    let guarded = ClientDetails {
        guardian: full_details().guardian,
        ..Default::default()
    };
    assert_eq!(
        refused(fresh.decide(onboard(profile(), guarded.clone()), &today())),
        ["guardian"]
    );
    Given::with(today())
        .given_no_previous_events()
        .when(onboard(minor.clone(), guarded.clone()))
        .then_expect_events(vec![ClientEvent::ClientOnboarded {
            client_id: Uuid::from_u128(1),
            lead_id: None,
            profile: minor,
            branch: Branch::parse("MUM-01").unwrap(),
            relationship_manager: None,
            details: guarded,
        }]);
}

#[test]
fn a_new_primary_becomes_the_profile_contact_and_a_patch_follows_into_the_list() {
    let mut details = full_details();
    details.guardian = None;
    details.net_worth = None;
    details.emails[0].primary = false;
    details.emails[1].primary = true;
    let edit = DetailsEdit {
        contacts: Some((details.emails.clone(), details.phones.clone())),
        ..Default::default()
    };
    let with_contacts = DetailsEdit::whole(ClientDetails {
        emails: details.emails.clone(),
        phones: details.phones.clone(),
        ..Default::default()
    })
    .applied_to(&ClientDetails::default())
    .normalised();
    Given::with(today())
        .given(vec![onboarded()])
        .when(ClientCommand::UpdateDetails {
            profile: ClientProfileChange::default(),
            details: edit,
        })
        .then_expect_events(vec![
            ClientEvent::ClientProfileChanged(ClientProfileChange {
                email: Some(Email::parse("asha.rao@work.example").unwrap()),
                ..Default::default()
            }),
            ClientEvent::ClientDetailsChanged {
                details: with_contacts.clone(),
                changed: vec![DetailsPart::Contacts],
            },
        ]);
    // A PATCH of the e-mail changes the primary entry of the list.
    let mut followed = with_contacts.clone();
    followed.emails[1].address = Email::parse("new@example.in").unwrap();
    let mut client = Client::default();
    for e in [
        onboarded(),
        ClientEvent::ClientDetailsChanged {
            details: with_contacts,
            changed: vec![DetailsPart::Contacts],
        },
        ClientEvent::ClientProfileChanged(ClientProfileChange {
            email: Some(Email::parse("new@example.in").unwrap()),
            ..Default::default()
        }),
    ] {
        client.apply(e);
    }
    assert_eq!(client.details(), &followed);
}

#[test]
fn the_segment_follows_declared_net_worth_and_assets_under_management() {
    let worth = |band| DetailsEdit {
        finances: Some((None, None, Some(band))),
        ..Default::default()
    };
    let declared = ClientDetails {
        net_worth: Some(NetWorthBand::Crore1To5),
        ..Default::default()
    };
    Given::with(today())
        .given(vec![onboarded()])
        .when(ClientCommand::UpdateDetails {
            profile: ClientProfileChange::default(),
            details: worth(NetWorthBand::Crore1To5),
        })
        .then_expect_events(vec![
            ClientEvent::ClientDetailsChanged {
                details: declared.clone(),
                changed: vec![DetailsPart::Finances],
            },
            ClientEvent::ClientSegmentChanged {
                from: Segment::Retail,
                to: Segment::Hni,
                aum: None,
            },
        ]);
    let hni = vec![
        onboarded(),
        ClientEvent::ClientDetailsChanged {
            details: declared,
            changed: vec![DetailsPart::Finances],
        },
        ClientEvent::ClientSegmentChanged {
            from: Segment::Retail,
            to: Segment::Hni,
            aum: None,
        },
    ];
    // Holdings below the declared worth change nothing; above the next threshold they move it.
    Given::with(today())
        .given(hni.clone())
        .when(ClientCommand::ReviewSegment {
            aum: share("2500000"),
        })
        .then_expect_events(vec![]);
    Given::with(today())
        .given(hni.clone())
        .when(ClientCommand::ReviewSegment {
            aum: share("60000000"),
        })
        .then_expect_events(vec![ClientEvent::ClientSegmentChanged {
            from: Segment::Hni,
            to: Segment::UltraHni,
            aum: Some(share("60000000")),
        }]);
    // New thresholds move the client on the next review.
    let raised = ClientServices {
        segments: SegmentThresholds::parse("hni=20000000,ultra_hni=90000000").unwrap(),
        ..today()
    };
    Given::with(raised)
        .given(hni.clone())
        .when(ClientCommand::ReviewSegment { aum: share("0") })
        .then_expect_events(vec![ClientEvent::ClientSegmentChanged {
            from: Segment::Hni,
            to: Segment::Affluent,
            aum: Some(share("0")),
        }]);
    // Down only past a 10 % margin, so that a client near a threshold does not flap.
    let t = SegmentThresholds::default();
    assert_eq!(
        t.review(Segment::Hni, None, Some(share("9500000"))),
        Segment::Hni
    );
    assert_eq!(
        t.review(Segment::Hni, None, Some(share("8900000"))),
        Segment::Affluent
    );
    assert_eq!(
        t.review(Segment::Retail, None, Some(share("1000000"))),
        Segment::Affluent
    );
    // A lower declared worth does not move the client down at once (the review does).
    Given::with(today())
        .given(hni.clone())
        .when(ClientCommand::UpdateDetails {
            profile: ClientProfileChange::default(),
            details: worth(NetWorthBand::Below10Lakh),
        })
        .then_expect_events(vec![ClientEvent::ClientDetailsChanged {
            details: ClientDetails {
                net_worth: Some(NetWorthBand::Below10Lakh),
                ..Default::default()
            },
            changed: vec![DetailsPart::Finances],
        }]);
    assert!(SegmentThresholds::parse("hni=100").is_err());
    assert!(SegmentThresholds::parse("vip=100").is_err());
}

#[test]
fn bands_are_stored_under_their_words() {
    for b in NetWorthBand::ALL {
        assert_eq!(serde_json::to_value(b).unwrap(), b.as_str());
    }
}

#[test]
fn interactions_and_follow_ups_on_a_client_and_closing_cancels_the_open_ones() {
    use crate::lead::{FollowUpChannel, InteractionKind};
    use crate::worklog::{WorkCommand, WorkError, WorkEvent};
    let now = Utc.with_ymd_and_hms(2026, 11, 30, 10, 0, 0).unwrap();
    let due = now + Duration::days(2);
    let scheduled = |n: u128| {
        ClientEvent::Work(WorkEvent::FollowUpScheduled {
            follow_up_id: Uuid::from_u128(n),
            due_at: due,
            channel: FollowUpChannel::Meeting,
            note: None,
        })
    };
    Given::with(today())
        .given(vec![onboarded()])
        .when(ClientCommand::Work(WorkCommand::LogInteraction {
            interaction_id: Uuid::from_u128(9),
            kind: InteractionKind::Review,
            direction: None,
            summary: text("half-yearly review"),
            occurred_at: now + Duration::hours(1),
            duration_minutes: None,
        }))
        .then_expect_error(ClientError::Work(WorkError::InteractionInTheFuture));
    Given::with(today())
        .given(vec![onboarded()])
        .when(ClientCommand::Work(WorkCommand::ScheduleFollowUp {
            follow_up_id: Uuid::from_u128(7),
            due_at: now - Duration::hours(1),
            channel: FollowUpChannel::Call,
            note: None,
        }))
        .then_expect_error(ClientError::Work(WorkError::DueInThePast));
    Given::with(today())
        .given(vec![onboarded(), scheduled(7)])
        .when(ClientCommand::Work(WorkCommand::CompleteFollowUp {
            follow_up_id: Uuid::from_u128(8),
            outcome: None,
        }))
        .then_expect_error(ClientError::Work(WorkError::UnknownFollowUp));
    let done = ClientEvent::Work(WorkEvent::FollowUpCompleted {
        follow_up_id: Uuid::from_u128(7),
        outcome: None,
    });
    Given::with(today())
        .given(vec![onboarded(), scheduled(7), scheduled(8), done])
        .when(ClientCommand::CloseRelationship {
            reason: text("moved abroad"),
        })
        .then_expect_events(vec![
            ClientEvent::RelationshipClosed {
                reason: text("moved abroad"),
                closed_at: now,
            },
            ClientEvent::Work(WorkEvent::FollowUpCancelled {
                follow_up_id: Uuid::from_u128(8),
                reason: None,
            }),
        ]);
    Given::with(today())
        .given(vec![onboarded(), scheduled(7)])
        .when(ClientCommand::Work(WorkCommand::RescheduleFollowUp {
            follow_up_id: Uuid::from_u128(7),
            due_at: due,
            reason: None,
        }))
        .then_expect_events(vec![]);
    Given::with(today())
        .given(vec![onboarded(), closed()])
        .when(ClientCommand::Work(WorkCommand::ScheduleFollowUp {
            follow_up_id: Uuid::from_u128(7),
            due_at: due,
            channel: FollowUpChannel::Call,
            note: None,
        }))
        .then_expect_error(ClientError::Closed);
}

#[test]
fn a_client_takes_over_a_merged_leads_follow_ups_and_gives_back_the_open_ones() {
    use crate::lead::FollowUpChannel;
    use crate::merge::MovedFollowUp;
    use crate::worklog::{WorkCommand, WorkError, WorkEvent};
    let due = Utc.with_ymd_and_hms(2026, 12, 5, 10, 0, 0).unwrap();
    let moved = |n: u128| MovedFollowUp {
        follow_up_id: Uuid::from_u128(n),
        from_follow_up_id: Uuid::from_u128(n + 100),
        due_at: due,
        channel: FollowUpChannel::Call,
    };
    let lead = Uuid::from_u128(77);
    Given::with(today())
        .given(vec![onboarded()])
        .when(ClientCommand::Work(WorkCommand::ReceiveMerge {
            from_lead: lead,
            follow_ups: vec![moved(1), moved(2)],
        }))
        .then_expect_events(vec![ClientEvent::Work(WorkEvent::MergeReceived {
            from_lead: lead,
            follow_ups: vec![moved(1), moved(2)],
        })]);
    let received = ClientEvent::Work(WorkEvent::MergeReceived {
        from_lead: lead,
        follow_ups: vec![moved(1), moved(2)],
    });
    let cancelled = ClientEvent::Work(WorkEvent::FollowUpCancelled {
        follow_up_id: Uuid::from_u128(2),
        reason: None,
    });
    Given::with(today())
        .given(vec![onboarded(), received.clone(), cancelled])
        .when(ClientCommand::Work(WorkCommand::RevertMerge {
            from_lead: lead,
        }))
        .then_expect_events(vec![ClientEvent::Work(WorkEvent::MergeReverted {
            from_lead: lead,
            follow_ups: vec![Uuid::from_u128(1)],
        })]);
    Given::with(today())
        .given(vec![onboarded()])
        .when(ClientCommand::Work(WorkCommand::RevertMerge {
            from_lead: lead,
        }))
        .then_expect_error(ClientError::Work(WorkError::NotMergedHere));
    // Merged in twice: refused.
    Given::with(today())
        .given(vec![onboarded(), received])
        .when(ClientCommand::Work(WorkCommand::ReceiveMerge {
            from_lead: lead,
            follow_ups: vec![],
        }))
        .then_expect_error(ClientError::Work(WorkError::DuplicateId));
}
