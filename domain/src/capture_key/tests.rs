//! Given events, when a command, then events or an error.

use cqrs_es::test::TestFramework;
use uuid::Uuid;

use super::*;

type Given = TestFramework<CaptureKey>;

fn terms() -> KeyTerms {
    KeyTerms {
        name: Text::parse("Website: open an account", NAME_MAX).unwrap(),
        source: LeadSource::Website,
        campaign: Some(Text::parse("diwali-2026", CAMPAIGN_MAX).unwrap()),
    }
}

fn issued() -> CaptureKeyEvent {
    CaptureKeyEvent::CaptureKeyIssued {
        key_id: Uuid::from_u128(1),
        terms: terms(),
        secret_sha256: "ab".repeat(32),
    }
}

#[test]
fn a_key_is_issued_once_and_revoked_once_and_a_repeat_changes_nothing() {
    Given::with(())
        .given_no_previous_events()
        .when(CaptureKeyCommand::Issue {
            key_id: Uuid::from_u128(1),
            terms: terms(),
            secret_sha256: "ab".repeat(32),
        })
        .then_expect_events(vec![issued()]);
    Given::with(())
        .given(vec![issued()])
        .when(CaptureKeyCommand::Issue {
            key_id: Uuid::from_u128(1),
            terms: terms(),
            secret_sha256: "cd".repeat(32),
        })
        .then_expect_error(CaptureKeyError::AlreadyExists);
    Given::with(())
        .given(vec![issued()])
        .when(CaptureKeyCommand::Revoke { reason: None })
        .then_expect_events(vec![CaptureKeyEvent::CaptureKeyRevoked { reason: None }]);
    Given::with(())
        .given(vec![
            issued(),
            CaptureKeyEvent::CaptureKeyRevoked { reason: None },
        ])
        .when(CaptureKeyCommand::Revoke { reason: None })
        .then_expect_events(vec![]);
    Given::with(())
        .given_no_previous_events()
        .when(CaptureKeyCommand::Revoke { reason: None })
        .then_expect_error(CaptureKeyError::NotFound);
}

#[test]
fn only_an_active_key_accepts_only_its_secret() {
    let mut key = CaptureKey::default();
    key.apply(issued());
    assert!(key.accepts(&"ab".repeat(32)));
    assert!(!key.accepts(&"ac".repeat(32)));
    assert!(!key.accepts("ab"));
    key.apply(CaptureKeyEvent::CaptureKeyRevoked { reason: None });
    assert!(!key.accepts(&"ab".repeat(32)));
    assert!(key.active_terms().is_none());
}

#[test]
fn every_string_field_of_every_event_is_classified() {
    let events = vec![
        issued(),
        CaptureKeyEvent::CaptureKeyRevoked {
            reason: Some(Text::parse("partner contract ended", 200).unwrap()),
        },
    ];
    for e in &events {
        let back: CaptureKeyEvent =
            serde_json::from_value(serde_json::to_value(e).unwrap()).unwrap();
        assert_eq!(&back, e, "{} reads back as itself", e.name());
    }
    let samples: Vec<(&str, CaptureKeyEvent)> = events.into_iter().map(|e| (e.name(), e)).collect();
    assert_eq!(
        crate::personal::unclassified(personal::EVENTS, &samples),
        Vec::<String>::new()
    );
}
