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
    let why = Some(text("because"));
    let events = vec![
        onboarded(),
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
        ClientEvent::Privacy(PrivacyEvent::LegalHoldLifted { reason: why }),
        ClientEvent::Privacy(PrivacyEvent::MarketingConsentGiven {
            channel: MarketingChannel::Email,
        }),
        ClientEvent::Privacy(PrivacyEvent::MarketingConsentWithdrawn {
            channel: MarketingChannel::Email,
        }),
        ClientEvent::Privacy(PrivacyEvent::SubjectDataExported),
    ];
    for e in &events {
        let back: ClientEvent = serde_json::from_value(serde_json::to_value(e).unwrap()).unwrap();
        assert_eq!(&back, e, "{} reads back as itself", e.name());
    }
    let samples: Vec<(&str, ClientEvent)> = events.into_iter().map(|e| (e.name(), e)).collect();
    let table = [personal::EVENTS, crate::privacy::EVENTS].concat();
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
