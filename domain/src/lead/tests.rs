//! Given events, when a command, then events or an error.

use chrono::{DateTime, Duration, TimeZone, Utc};
use cqrs_es::test::TestFramework;
use uuid::Uuid;

use super::*;
use crate::input::Change;

type Given = TestFramework<Lead>;

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 25, 10, 0, 0).unwrap()
}

fn services() -> LeadServices {
    LeadServices {
        clock: Clock::fixed(now()),
    }
}

fn id(n: u128) -> Uuid {
    Uuid::from_u128(n)
}

fn text(s: &str) -> Text {
    Text::parse(s, 500).unwrap()
}

fn details() -> LeadDetails {
    LeadDetails {
        name: PersonName::parse("Asha Rao").unwrap(),
        email: Some(Email::parse("asha@example.in").unwrap()),
        phone: Some(Phone::parse("9876543210").unwrap()),
        source: LeadSource::Website,
        source_detail: None,
        product_interest: vec!["equity".into()],
        preferred_contact_method: Some(ContactMethod::Phone),
        preferred_contact_time: None,
        notes: None,
        investment_capacity: None,
    }
}

fn captured() -> LeadEvent {
    LeadEvent::LeadCaptured {
        lead_id: id(1),
        details: details(),
        channel: CaptureChannel::WebForm,
    }
}

fn moved(from: LeadStatus, to: LeadStatus) -> LeadEvent {
    LeadEvent::LeadStatusChanged {
        from,
        to,
        reason: None,
    }
}

fn change_status(to: LeadStatus, reason: Option<&str>) -> LeadCommand {
    LeadCommand::ChangeStatus {
        to,
        reason: reason.map(text),
        client_id: id(99),
    }
}

#[test]
fn capture_records_the_lead_and_an_initial_assignment() {
    Given::with(services())
        .given_no_previous_events()
        .when(LeadCommand::Capture {
            lead_id: id(1),
            details: details(),
            channel: CaptureChannel::WebForm,
            assign_to: Some(id(7)),
            round_robin: false,
        })
        .then_expect_events(vec![
            captured(),
            LeadEvent::LeadAssigned {
                agent_id: id(7),
                previous_agent_id: None,
                round_robin: false,
                reason: None,
            },
        ]);
}

#[test]
fn capture_needs_email_or_phone_and_happens_once() {
    let mut no_contact = details();
    no_contact.email = None;
    no_contact.phone = None;
    Given::with(services())
        .given_no_previous_events()
        .when(LeadCommand::Capture {
            lead_id: id(1),
            details: no_contact,
            channel: CaptureChannel::Manual,
            assign_to: None,
            round_robin: false,
        })
        .then_expect_error(LeadError::NoContactChannel);
    Given::with(services())
        .given(vec![captured()])
        .when(LeadCommand::Capture {
            lead_id: id(1),
            details: details(),
            channel: CaptureChannel::Manual,
            assign_to: None,
            round_robin: false,
        })
        .then_expect_error(LeadError::AlreadyExists);
}

#[test]
fn commands_on_a_missing_lead_are_not_found() {
    Given::with(services())
        .given_no_previous_events()
        .when(change_status(LeadStatus::Contacted, None))
        .then_expect_error(LeadError::NotFound);
}

#[test]
fn the_pipeline_moves_forward_one_step_at_a_time() {
    Given::with(services())
        .given(vec![captured()])
        .when(change_status(LeadStatus::Contacted, Some("called")))
        .then_expect_events(vec![LeadEvent::LeadStatusChanged {
            from: LeadStatus::New,
            to: LeadStatus::Contacted,
            reason: Some(text("called")),
        }]);
    Given::with(services())
        .given(vec![captured()])
        .when(change_status(LeadStatus::Qualified, None))
        .then_expect_error(LeadError::IllegalTransition {
            from: LeadStatus::New,
            to: LeadStatus::Qualified,
            allowed: vec![LeadStatus::Contacted, LeadStatus::Lost],
        });
}

#[test]
fn qualified_leads_convert_and_conversion_is_terminal() {
    let history = vec![
        captured(),
        moved(LeadStatus::New, LeadStatus::Contacted),
        moved(LeadStatus::Contacted, LeadStatus::Qualified),
    ];
    Given::with(services())
        .given(history.clone())
        .when(change_status(LeadStatus::Converted, None))
        .then_expect_events(vec![LeadEvent::LeadConverted {
            client_id: id(99),
            reason: None,
        }]);
    let mut converted = history;
    converted.push(LeadEvent::LeadConverted {
        client_id: id(99),
        reason: None,
    });
    Given::with(services())
        .given(converted)
        .when(change_status(LeadStatus::Lost, Some("gone")))
        .then_expect_error(LeadError::Converted);
}

#[test]
fn lost_from_any_open_state_and_reopen_returns_there() {
    let history = vec![captured(), moved(LeadStatus::New, LeadStatus::Contacted)];
    Given::with(services())
        .given(history.clone())
        .when(change_status(LeadStatus::Lost, None))
        .then_expect_error(LeadError::LostWithoutReason);
    Given::with(services())
        .given(history.clone())
        .when(change_status(
            LeadStatus::Lost,
            Some("chose another broker"),
        ))
        .then_expect_events(vec![LeadEvent::LeadLost {
            from: LeadStatus::Contacted,
            reason: text("chose another broker"),
        }]);
    let mut lost = history;
    lost.push(LeadEvent::LeadLost {
        from: LeadStatus::Contacted,
        reason: text("chose another broker"),
    });
    Given::with(services())
        .given(lost.clone())
        .when(change_status(LeadStatus::Contacted, Some("called back")))
        .then_expect_events(vec![LeadEvent::LeadReopened {
            to: LeadStatus::Contacted,
            reason: Some(text("called back")),
        }]);
    Given::with(services())
        .given(lost)
        .when(change_status(LeadStatus::New, None))
        .then_expect_error(LeadError::IllegalTransition {
            from: LeadStatus::Lost,
            to: LeadStatus::New,
            allowed: vec![LeadStatus::Contacted],
        });
}

#[test]
fn an_update_emits_only_what_changed() {
    let patch = LeadDetailsPatch {
        name: Some(PersonName::parse("Asha Rao").unwrap()),
        email: Some(Some(Email::parse("asha.rao@example.in").unwrap())),
        notes: Some(Some(text("prefers evenings"))),
        ..Default::default()
    };
    Given::with(services())
        .given(vec![captured()])
        .when(LeadCommand::UpdateDetails(patch))
        .then_expect_events(vec![LeadEvent::LeadDetailsChanged(LeadDetailsChange {
            email: Some(Some(Email::parse("asha.rao@example.in").unwrap())),
            notes: Some(Some(text("prefers evenings"))),
            ..Default::default()
        })]);
    Given::with(services())
        .given(vec![captured()])
        .when(LeadCommand::UpdateDetails(LeadDetailsPatch {
            name: Some(PersonName::parse("Asha Rao").unwrap()),
            ..Default::default()
        }))
        .then_expect_events(vec![]);
}

#[test]
fn an_update_cannot_remove_the_last_contact_channel() {
    Given::with(services())
        .given(vec![captured()])
        .when(LeadCommand::UpdateDetails(LeadDetailsPatch {
            email: Some(None),
            phone: Some(None),
            ..Default::default()
        }))
        .then_expect_error(LeadError::NoContactChannel);
}

#[test]
fn reassignment_keeps_the_previous_agent() {
    Given::with(services())
        .given(vec![
            captured(),
            LeadEvent::LeadAssigned {
                agent_id: id(7),
                previous_agent_id: None,
                round_robin: false,
                reason: None,
            },
        ])
        .when(LeadCommand::Assign {
            agent_id: id(8),
            round_robin: true,
            reason: Some(text("leave cover")),
        })
        .then_expect_events(vec![LeadEvent::LeadAssigned {
            agent_id: id(8),
            previous_agent_id: Some(id(7)),
            round_robin: true,
            reason: Some(text("leave cover")),
        }]);
    Given::with(services())
        .given(vec![
            captured(),
            LeadEvent::LeadAssigned {
                agent_id: id(7),
                previous_agent_id: None,
                round_robin: false,
                reason: None,
            },
        ])
        .when(LeadCommand::Assign {
            agent_id: id(7),
            round_robin: false,
            reason: None,
        })
        .then_expect_error(LeadError::AlreadyAssigned);
}

#[test]
fn follow_ups_are_scheduled_in_the_future_and_closed_once() {
    let due = now() + Duration::hours(3);
    let scheduled = LeadEvent::FollowUpScheduled {
        follow_up_id: id(5),
        due_at: due,
        channel: FollowUpChannel::Call,
        note: None,
    };
    Given::with(services())
        .given(vec![captured()])
        .when(LeadCommand::ScheduleFollowUp {
            follow_up_id: id(5),
            due_at: now() - Duration::hours(1),
            channel: FollowUpChannel::Call,
            note: None,
        })
        .then_expect_error(LeadError::DueInThePast);
    Given::with(services())
        .given(vec![captured()])
        .when(LeadCommand::ScheduleFollowUp {
            follow_up_id: id(5),
            due_at: now() + Duration::days(3000),
            channel: FollowUpChannel::Call,
            note: None,
        })
        .then_expect_error(LeadError::DueTooFarAhead);
    Given::with(services())
        .given(vec![captured(), scheduled.clone()])
        .when(LeadCommand::RescheduleFollowUp {
            follow_up_id: id(5),
            due_at: due + Duration::days(1),
            reason: None,
        })
        .then_expect_events(vec![LeadEvent::FollowUpRescheduled {
            follow_up_id: id(5),
            previous_due_at: due,
            due_at: due + Duration::days(1),
            reason: None,
        }]);
    let completed = LeadEvent::FollowUpCompleted {
        follow_up_id: id(5),
        outcome: None,
    };
    Given::with(services())
        .given(vec![captured(), scheduled.clone(), completed])
        .when(LeadCommand::CancelFollowUp {
            follow_up_id: id(5),
            reason: None,
        })
        .then_expect_error(LeadError::FollowUpClosed("completed"));
    Given::with(services())
        .given(vec![captured(), scheduled])
        .when(LeadCommand::CompleteFollowUp {
            follow_up_id: id(6),
            outcome: None,
        })
        .then_expect_error(LeadError::FollowUpNotFound);
}

#[test]
fn interactions_are_logged_but_not_in_the_future() {
    Given::with(services())
        .given(vec![captured()])
        .when(LeadCommand::LogInteraction {
            interaction_id: id(3),
            kind: InteractionKind::Call,
            direction: Some(InteractionDirection::Outbound),
            summary: text("discussed SIP"),
            occurred_at: now() - Duration::minutes(10),
            duration_minutes: Some(12),
        })
        .then_expect_events(vec![LeadEvent::InteractionLogged {
            interaction_id: id(3),
            kind: InteractionKind::Call,
            direction: Some(InteractionDirection::Outbound),
            summary: text("discussed SIP"),
            occurred_at: now() - Duration::minutes(10),
            duration_minutes: Some(12),
        }]);
    Given::with(services())
        .given(vec![captured()])
        .when(LeadCommand::LogInteraction {
            interaction_id: id(3),
            kind: InteractionKind::Note,
            direction: None,
            summary: text("later"),
            occurred_at: now() + Duration::days(1),
            duration_minutes: None,
        })
        .then_expect_error(LeadError::InteractionInTheFuture);
}

#[test]
fn an_archived_lead_keeps_its_history_but_takes_no_changes() {
    let archived = vec![captured(), LeadEvent::LeadArchived { reason: None }];
    Given::with(services())
        .given(archived.clone())
        .when(change_status(LeadStatus::Contacted, None))
        .then_expect_error(LeadError::Archived);
    Given::with(services())
        .given(archived)
        .when(LeadCommand::Archive { reason: None })
        .then_expect_events(vec![]);
}

#[test]
fn details_change_round_trips_cleared_fields_through_json() {
    let change = LeadDetailsChange {
        email: Some(None),
        notes: Some(Some(text("x"))),
        ..Default::default()
    };
    let json = serde_json::to_value(&change).unwrap();
    assert_eq!(json, serde_json::json!({"email": null, "notes": "x"}));
    let back: LeadDetailsChange = serde_json::from_value(json).unwrap();
    assert_eq!(back, change);
    assert_eq!(back.fields(), vec!["email", "notes"]);
}

fn erasure_requested(retention_required: bool) -> LeadEvent {
    LeadEvent::ErasureRequested {
        reason: None,
        retention_required,
    }
}

#[test]
fn erasure_of_a_prospect_is_allowed_at_once_and_restricts_processing() {
    Given::with(services())
        .given(vec![captured()])
        .when(LeadCommand::Privacy(
            crate::privacy::PrivacyCommand::RequestErasure { reason: None },
        ))
        .then_expect_events(vec![erasure_requested(false)]);
    Given::with(services())
        .given(vec![captured(), erasure_requested(false)])
        .when(LeadCommand::Erase)
        .then_expect_events(vec![LeadEvent::LeadErased]);
    Given::with(services())
        .given(vec![captured(), erasure_requested(false)])
        .when(change_status(LeadStatus::Contacted, None))
        .then_expect_error(LeadError::Restricted);
    Given::with(services())
        .given(vec![
            captured(),
            erasure_requested(false),
            LeadEvent::LeadErased,
        ])
        .when(LeadCommand::Erase)
        .then_expect_events(vec![]);
}

#[test]
fn a_legal_hold_or_retention_blocks_the_shred() {
    let hold = LeadEvent::Privacy(crate::privacy::PrivacyEvent::LegalHoldPlaced {
        reason: text("SEBI inquiry"),
    });
    Given::with(services())
        .given(vec![captured(), hold.clone(), erasure_requested(false)])
        .when(LeadCommand::Erase)
        .then_expect_error(LeadError::Privacy(
            crate::privacy::PrivacyError::ErasureBlocked("a legal hold stands"),
        ));
    Given::with(services())
        .given(vec![
            captured(),
            hold,
            erasure_requested(false),
            LeadEvent::Privacy(crate::privacy::PrivacyEvent::LegalHoldLifted { reason: None }),
        ])
        .when(LeadCommand::Erase)
        .then_expect_events(vec![LeadEvent::LeadErased]);
    let converted = vec![
        captured(),
        moved(LeadStatus::New, LeadStatus::Contacted),
        moved(LeadStatus::Contacted, LeadStatus::Qualified),
        LeadEvent::LeadConverted {
            client_id: id(99),
            reason: None,
        },
    ];
    Given::with(services())
        .given(converted.clone())
        .when(LeadCommand::Privacy(
            crate::privacy::PrivacyCommand::RequestErasure { reason: None },
        ))
        .then_expect_events(vec![erasure_requested(true)]);
    let mut requested = converted;
    requested.push(erasure_requested(true));
    Given::with(services())
        .given(requested)
        .when(LeadCommand::Erase)
        .then_expect_error(LeadError::Privacy(
            crate::privacy::PrivacyError::ErasureBlocked(
                "the records are kept until the retention period ends",
            ),
        ));
}

#[test]
fn consent_is_given_and_withdrawn_per_channel() {
    Given::with(services())
        .given(vec![captured()])
        .when(LeadCommand::Privacy(
            crate::privacy::PrivacyCommand::SetMarketingConsent {
                channel: MarketingChannel::Email,
                granted: true,
            },
        ))
        .then_expect_events(vec![LeadEvent::Privacy(
            crate::privacy::PrivacyEvent::MarketingConsentGiven {
                channel: MarketingChannel::Email,
            },
        )]);
    Given::with(services())
        .given(vec![
            captured(),
            LeadEvent::Privacy(crate::privacy::PrivacyEvent::MarketingConsentGiven {
                channel: MarketingChannel::Sms,
            }),
        ])
        .when(LeadCommand::Privacy(
            crate::privacy::PrivacyCommand::SetMarketingConsent {
                channel: MarketingChannel::Sms,
                granted: false,
            },
        ))
        .then_expect_events(vec![LeadEvent::Privacy(
            crate::privacy::PrivacyEvent::MarketingConsentWithdrawn {
                channel: MarketingChannel::Sms,
            },
        )]);
    Given::with(services())
        .given(vec![captured(), erasure_requested(false)])
        .when(LeadCommand::Privacy(
            crate::privacy::PrivacyCommand::SetMarketingConsent {
                channel: MarketingChannel::Sms,
                granted: true,
            },
        ))
        .then_expect_error(LeadError::Privacy(
            crate::privacy::PrivacyError::ConsentWhileRestricted,
        ));
}

#[test]
fn a_converted_lead_goes_with_its_client_unless_held() {
    let converted = LeadEvent::LeadConverted {
        client_id: id(9),
        reason: None,
    };
    Given::with(services())
        .given(vec![captured(), converted.clone()])
        .when(LeadCommand::EraseWithClient)
        .then_expect_events(vec![LeadEvent::LeadErased]);
    Given::with(services())
        .given(vec![
            captured(),
            converted,
            LeadEvent::Privacy(crate::privacy::PrivacyEvent::LegalHoldPlaced {
                reason: text("inquiry"),
            }),
        ])
        .when(LeadCommand::EraseWithClient)
        .then_expect_error(LeadError::Privacy(
            crate::privacy::PrivacyError::ErasureBlocked("a legal hold stands"),
        ));
}

/// One event of every type with every optional field filled: each string field in the log is
/// either sealed as personal or declared plain, and the stored names of the shared privacy
/// facts read back as before.
#[test]
fn every_string_field_of_every_event_is_classified() {
    use crate::privacy::{MarketingChannel, PrivacyEvent};
    let full = LeadDetails {
        source_detail: Some(text("stall at the fair")),
        preferred_contact_time: Some(text("evenings")),
        notes: Some(text("asked about SIPs")),
        investment_capacity: Some(InvestmentCapacity::Lakh5To25),
        ..details()
    };
    let change = LeadDetailsChange {
        name: Some(PersonName::parse("Asha R").unwrap()),
        email: Some(Some(Email::parse("a.r@example.in").unwrap())),
        phone: Some(None),
        source: Some(LeadSource::Referral),
        source_detail: Some(Some(text("friend"))),
        product_interest: Some(vec!["mutual_funds".into()]),
        preferred_contact_method: Some(Some(ContactMethod::Email)),
        preferred_contact_time: Some(Some(text("mornings"))),
        notes: Some(Some(text("prefers calls"))),
        investment_capacity: Some(Some(InvestmentCapacity::Above1Crore)),
    };
    let why = Some(text("because"));
    let events = vec![
        LeadEvent::LeadCaptured {
            lead_id: id(1),
            details: full,
            channel: CaptureChannel::Manual,
        },
        LeadEvent::LeadDetailsChanged(change),
        LeadEvent::LeadStatusChanged {
            from: LeadStatus::New,
            to: LeadStatus::Contacted,
            reason: why.clone(),
        },
        LeadEvent::LeadLost {
            from: LeadStatus::Contacted,
            reason: text("no answer"),
        },
        LeadEvent::LeadReopened {
            to: LeadStatus::Contacted,
            reason: why.clone(),
        },
        LeadEvent::LeadConverted {
            client_id: id(9),
            reason: why.clone(),
        },
        LeadEvent::LeadAssigned {
            agent_id: id(2),
            previous_agent_id: Some(id(3)),
            round_robin: false,
            reason: why.clone(),
        },
        LeadEvent::FollowUpScheduled {
            follow_up_id: id(4),
            due_at: now(),
            channel: FollowUpChannel::Call,
            note: why.clone(),
        },
        LeadEvent::FollowUpRescheduled {
            follow_up_id: id(4),
            previous_due_at: now(),
            due_at: now(),
            reason: why.clone(),
        },
        LeadEvent::FollowUpCompleted {
            follow_up_id: id(4),
            outcome: why.clone(),
        },
        LeadEvent::FollowUpCancelled {
            follow_up_id: id(4),
            reason: why.clone(),
        },
        LeadEvent::InteractionLogged {
            interaction_id: id(5),
            kind: InteractionKind::Call,
            direction: Some(InteractionDirection::Inbound),
            summary: text("discussed risk"),
            occurred_at: now(),
            duration_minutes: Some(5),
        },
        LeadEvent::LeadArchived {
            reason: why.clone(),
        },
        LeadEvent::LeadMerged {
            into: target(),
            follow_ups: vec![id(4)],
            reason: why.clone(),
        },
        LeadEvent::LeadUnmerged {
            from: target(),
            follow_ups: vec![crate::merge::ReopenedFollowUp {
                follow_up_id: id(4),
                due_at: now(),
            }],
            reason: why.clone(),
        },
        LeadEvent::MergeReceived {
            from_lead: id(6),
            follow_ups: vec![moved_in(7, 8)],
        },
        LeadEvent::MergeReverted {
            from_lead: id(6),
            follow_ups: vec![id(7)],
        },
        LeadEvent::ErasureRequested {
            reason: why.clone(),
            retention_required: false,
        },
        LeadEvent::LeadErased,
        LeadEvent::Privacy(PrivacyEvent::LegalHoldPlaced {
            reason: text("inquiry"),
        }),
        LeadEvent::Privacy(PrivacyEvent::LegalHoldLifted { reason: why }),
        LeadEvent::Privacy(PrivacyEvent::MarketingConsentGiven {
            channel: MarketingChannel::Sms,
        }),
        LeadEvent::Privacy(PrivacyEvent::MarketingConsentWithdrawn {
            channel: MarketingChannel::Sms,
        }),
        LeadEvent::Privacy(PrivacyEvent::SubjectDataExported),
    ];
    for e in &events {
        let stored = serde_json::to_value(e).unwrap();
        let back: LeadEvent = serde_json::from_value(stored).unwrap();
        assert_eq!(&back, e, "{} reads back as itself", e.name());
    }
    let samples: Vec<(&str, LeadEvent)> = events.into_iter().map(|e| (e.name(), e)).collect();
    let table = personal::EVENT_TABLES.concat();
    assert_eq!(
        crate::personal::unclassified(&table, &samples),
        Vec::<String>::new()
    );
}

#[test]
fn details_as_sent_are_checked_field_by_field() {
    let raw = RawDetails {
        name: " Asha Rao ",
        email: Some("asha@example.in"),
        phone: None,
        source: LeadSource::Website,
        source_detail: None,
        product_interest: &[],
        preferred_contact_method: None,
        preferred_contact_time: None,
        notes: None,
        investment_capacity: None,
    };
    assert_eq!(LeadDetails::parse(raw).unwrap().name.as_str(), "Asha Rao");
    let long = "x".repeat(limits::NOTES + 1);
    let wrong = LeadDetails::parse(RawDetails {
        name: "",
        email: None,
        notes: Some(&long),
        ..raw
    })
    .unwrap_err();
    let fields: Vec<&str> = wrong.iter().map(|i| i.field).collect();
    assert_eq!(fields, ["name", "notes", "email", "phone"]);

    let change = LeadDetailsChange::parse(RawChange {
        email: Change::Clear,
        notes: Change::Set("call after 6"),
        ..Default::default()
    })
    .unwrap();
    assert_eq!(change.email, Some(None));
    assert_eq!(change.notes, Some(Some(text("call after 6"))));
    assert_eq!(change.name, None);
    let refused = LeadDetailsChange::parse(RawChange {
        name: Change::Clear,
        source: Change::Clear,
        ..Default::default()
    })
    .unwrap_err();
    assert_eq!(
        refused
            .iter()
            .map(|i| i.message.as_str())
            .collect::<Vec<_>>(),
        [
            "a lead's name cannot be cleared",
            "a lead's source cannot be cleared"
        ]
    );
}

#[test]
fn a_lead_lost_or_converted_closes_its_open_follow_ups() {
    let due = now() + chrono::Duration::days(2);
    let scheduled = |n| LeadEvent::FollowUpScheduled {
        follow_up_id: id(n),
        due_at: due,
        channel: FollowUpChannel::Call,
        note: None,
    };
    let history = vec![
        captured(),
        moved(LeadStatus::New, LeadStatus::Contacted),
        scheduled(5),
        scheduled(6),
        LeadEvent::FollowUpCompleted {
            follow_up_id: id(5),
            outcome: None,
        },
    ];
    Given::with(services())
        .given(history.clone())
        .when(change_status(
            LeadStatus::Lost,
            Some("chose another broker"),
        ))
        .then_expect_events(vec![
            LeadEvent::LeadLost {
                from: LeadStatus::Contacted,
                reason: text("chose another broker"),
            },
            LeadEvent::FollowUpCancelled {
                follow_up_id: id(6),
                reason: Some(text("the lead was marked lost")),
            },
        ]);
    // A plain move forward leaves them open.
    Given::with(services())
        .given(history.clone())
        .when(change_status(LeadStatus::Qualified, None))
        .then_expect_events(vec![moved(LeadStatus::Contacted, LeadStatus::Qualified)]);
    let mut qualified = history;
    qualified.push(moved(LeadStatus::Contacted, LeadStatus::Qualified));
    let client = Uuid::from_u128(77);
    Given::with(services())
        .given(qualified)
        .when(LeadCommand::ChangeStatus {
            to: LeadStatus::Converted,
            reason: None,
            client_id: client,
        })
        .then_expect_events(vec![
            LeadEvent::LeadConverted {
                client_id: client,
                reason: None,
            },
            LeadEvent::FollowUpCancelled {
                follow_up_id: id(6),
                reason: Some(text("the lead was converted")),
            },
        ]);
}

fn target() -> crate::merge::MergeTarget {
    crate::merge::MergeTarget {
        kind: crate::merge::MergeKind::Lead,
        id: id(50),
    }
}

fn moved_in(here: u128, there: u128) -> crate::merge::MovedFollowUp {
    crate::merge::MovedFollowUp {
        follow_up_id: id(here),
        from_follow_up_id: id(there),
        due_at: now() + Duration::days(1),
        channel: FollowUpChannel::Call,
    }
}

fn scheduled(n: u128, days: i64) -> LeadEvent {
    LeadEvent::FollowUpScheduled {
        follow_up_id: id(n),
        due_at: now() + Duration::days(days),
        channel: FollowUpChannel::Call,
        note: None,
    }
}

#[test]
fn a_merged_lead_lists_its_open_follow_ups_as_moved_and_takes_no_more_changes() {
    Given::with(services())
        .given(vec![
            captured(),
            scheduled(10, 2),
            scheduled(11, 1),
            LeadEvent::FollowUpCompleted {
                follow_up_id: id(10),
                outcome: None,
            },
            scheduled(12, 3),
        ])
        .when(LeadCommand::Merge {
            into: target(),
            reason: Some(text("same person")),
        })
        .then_expect_events(vec![LeadEvent::LeadMerged {
            into: target(),
            // Open ones only, soonest first.
            follow_ups: vec![id(11), id(12)],
            reason: Some(text("same person")),
        }]);
    let merged = LeadEvent::LeadMerged {
        into: target(),
        follow_ups: vec![],
        reason: None,
    };
    for command in [
        change_status(LeadStatus::Contacted, None),
        LeadCommand::Merge {
            into: target(),
            reason: None,
        },
        LeadCommand::LogInteraction {
            interaction_id: id(20),
            kind: InteractionKind::Note,
            direction: None,
            summary: text("x"),
            occurred_at: now(),
            duration_minutes: None,
        },
    ] {
        Given::with(services())
            .given(vec![captured(), merged.clone()])
            .when(command)
            .then_expect_error(LeadError::Merged);
    }
}

#[test]
fn a_lead_holding_merged_leads_is_not_merged_on_and_a_lead_not_merged_is_not_undone() {
    Given::with(services())
        .given(vec![
            captured(),
            LeadEvent::MergeReceived {
                from_lead: id(6),
                follow_ups: vec![],
            },
        ])
        .when(LeadCommand::Merge {
            into: target(),
            reason: None,
        })
        .then_expect_error(LeadError::HoldsMerged);
    Given::with(services())
        .given(vec![captured()])
        .when(LeadCommand::Unmerge {
            follow_ups: vec![],
            reason: None,
        })
        .then_expect_error(LeadError::NotMerged);
    Given::with(services())
        .given(vec![captured()])
        .when(LeadCommand::RevertMerge { from_lead: id(6) })
        .then_expect_error(LeadError::NotMergedHere);
}

#[test]
fn the_survivor_works_moved_follow_ups_and_gives_back_only_those_still_open() {
    let received = LeadEvent::MergeReceived {
        from_lead: id(6),
        follow_ups: vec![moved_in(7, 70), moved_in(8, 80)],
    };
    // A moved follow-up is the survivor's to complete.
    Given::with(services())
        .given(vec![captured(), received.clone()])
        .when(LeadCommand::CompleteFollowUp {
            follow_up_id: id(7),
            outcome: None,
        })
        .then_expect_events(vec![LeadEvent::FollowUpCompleted {
            follow_up_id: id(7),
            outcome: None,
        }]);
    Given::with(services())
        .given(vec![
            captured(),
            received,
            LeadEvent::FollowUpCompleted {
                follow_up_id: id(7),
                outcome: None,
            },
        ])
        .when(LeadCommand::RevertMerge { from_lead: id(6) })
        .then_expect_events(vec![LeadEvent::MergeReverted {
            from_lead: id(6),
            follow_ups: vec![id(8)],
        }]);
}

#[test]
fn an_undone_merge_reopens_the_follow_ups_given_back_and_the_lead_takes_changes_again() {
    let back = crate::merge::ReopenedFollowUp {
        follow_up_id: id(11),
        due_at: now() + Duration::days(5),
    };
    Given::with(services())
        .given(vec![
            captured(),
            scheduled(11, 1),
            LeadEvent::LeadMerged {
                into: target(),
                follow_ups: vec![id(11)],
                reason: None,
            },
            LeadEvent::LeadUnmerged {
                from: target(),
                follow_ups: vec![back],
                reason: None,
            },
        ])
        .when(LeadCommand::RescheduleFollowUp {
            follow_up_id: id(11),
            due_at: now() + Duration::days(6),
            reason: None,
        })
        .then_expect_events(vec![LeadEvent::FollowUpRescheduled {
            follow_up_id: id(11),
            previous_due_at: now() + Duration::days(5),
            due_at: now() + Duration::days(6),
            reason: None,
        }]);
    // While merged, the follow-up was the survivor's.
    Given::with(services())
        .given(vec![
            captured(),
            scheduled(11, 1),
            LeadEvent::LeadMerged {
                into: target(),
                follow_ups: vec![id(11)],
                reason: None,
            },
        ])
        .when(LeadCommand::CancelFollowUp {
            follow_up_id: id(11),
            reason: None,
        })
        .then_expect_error(LeadError::FollowUpClosed("moved by a merge"));
}

#[test]
fn capacity_bands_are_stored_under_the_words_the_api_shows() {
    for c in InvestmentCapacity::ALL {
        assert_eq!(
            serde_json::to_value(c).unwrap(),
            serde_json::json!(c.as_str())
        );
    }
}

#[test]
fn a_lost_lead_takes_over_no_work_and_a_restricted_merged_lead_stays_merged() {
    Given::with(services())
        .given(vec![
            captured(),
            LeadEvent::LeadLost {
                from: LeadStatus::New,
                reason: text("not interested"),
            },
        ])
        .when(LeadCommand::ReceiveMerge {
            from_lead: id(6),
            follow_ups: vec![],
        })
        .then_expect_error(LeadError::Lost);
    Given::with(services())
        .given(vec![
            captured(),
            LeadEvent::LeadMerged {
                into: target(),
                follow_ups: vec![],
                reason: None,
            },
            LeadEvent::ErasureRequested {
                reason: None,
                retention_required: true,
            },
        ])
        .when(LeadCommand::Unmerge {
            follow_ups: vec![],
            reason: None,
        })
        .then_expect_error(LeadError::Restricted);
}
