//! The data-subject component on its own: the rules every embedding record shares.

use super::*;

#[derive(Debug, PartialEq)]
enum Fact {
    Shared(PrivacyEvent),
    Requested(Option<Text>),
    Erased,
}

impl From<PrivacyEvent> for Fact {
    fn from(e: PrivacyEvent) -> Self {
        Fact::Shared(e)
    }
}

fn text(s: &str) -> Text {
    Text::parse(s, 500).unwrap()
}

fn decide(s: &DataSubject, c: PrivacyCommand) -> Result<Vec<Fact>, PrivacyError> {
    s.decide(c, Fact::Requested)
}

#[test]
fn an_erasure_request_is_recorded_once_by_the_embedding_record() {
    let mut s = DataSubject::default();
    let reason = Some(text("moving abroad"));
    let first = decide(
        &s,
        PrivacyCommand::RequestErasure {
            reason: reason.clone(),
        },
    );
    assert_eq!(first, Ok(vec![Fact::Requested(reason.clone())]));
    s.restrict();
    assert!(s.erasure_requested() && !s.processing_allowed());
    assert_eq!(
        decide(&s, PrivacyCommand::RequestErasure { reason }),
        Ok(vec![])
    );
}

#[test]
fn consent_is_per_channel_idempotent_and_ends_with_an_erasure_request() {
    let mut s = DataSubject::default();
    let give = |c| PrivacyCommand::SetMarketingConsent {
        channel: c,
        granted: true,
    };
    let events = decide(&s, give(MarketingChannel::Email)).unwrap();
    assert_eq!(
        events,
        vec![Fact::Shared(PrivacyEvent::MarketingConsentGiven {
            channel: MarketingChannel::Email
        })]
    );
    s.apply(&PrivacyEvent::MarketingConsentGiven {
        channel: MarketingChannel::Email,
    });
    assert_eq!(decide(&s, give(MarketingChannel::Email)), Ok(vec![]));
    assert!(s.consents().contains(&MarketingChannel::Email));
    s.restrict();
    assert!(s.consents().is_empty());
    assert_eq!(
        decide(&s, give(MarketingChannel::Sms)),
        Err(PrivacyError::ConsentWhileRestricted)
    );
    let withdraw = PrivacyCommand::SetMarketingConsent {
        channel: MarketingChannel::Sms,
        granted: false,
    };
    assert_eq!(decide(&s, withdraw), Ok(vec![]));
}

#[test]
fn a_legal_hold_blocks_the_erasure_before_any_duty_of_the_record() {
    let mut s = DataSubject::default();
    assert_eq!(
        decide(&s, PrivacyCommand::LiftLegalHold { reason: None }),
        Err(PrivacyError::NotOnHold)
    );
    s.apply(&PrivacyEvent::LegalHoldPlaced {
        reason: text("SEBI inquiry"),
    });
    assert_eq!(
        decide(
            &s,
            PrivacyCommand::PlaceLegalHold {
                reason: text("again")
            }
        ),
        Err(PrivacyError::AlreadyOnHold)
    );
    assert_eq!(
        s.erase(Some("the records are kept"), Fact::Erased),
        Err(PrivacyError::ErasureBlocked("a legal hold stands"))
    );
    s.apply(&PrivacyEvent::LegalHoldLifted { reason: None });
    assert_eq!(
        s.erase(Some("the records are kept"), Fact::Erased),
        Err(PrivacyError::ErasureBlocked("the records are kept"))
    );
    assert_eq!(s.erase(None, Fact::Erased), Ok(vec![Fact::Erased]));
}

#[test]
fn an_erased_subject_takes_no_hold_or_consent_and_is_not_erased_twice() {
    let mut s = DataSubject::default();
    s.mark_erased();
    assert_eq!(s.erase(None, Fact::Erased), Ok(vec![]));
    assert_eq!(
        decide(
            &s,
            PrivacyCommand::PlaceLegalHold {
                reason: text("late")
            }
        ),
        Err(PrivacyError::Erased)
    );
    assert_eq!(
        decide(
            &s,
            PrivacyCommand::SetMarketingConsent {
                channel: MarketingChannel::Phone,
                granted: true
            }
        ),
        Err(PrivacyError::Erased)
    );
    assert_eq!(
        decide(&s, PrivacyCommand::RequestErasure { reason: None }),
        Ok(vec![])
    );
    // An export is still recorded: the person may ask what is left (the record, no data).
    assert_eq!(
        decide(&s, PrivacyCommand::RecordExport),
        Ok(vec![Fact::Shared(PrivacyEvent::SubjectDataExported)])
    );
}

#[test]
fn the_shared_facts_keep_their_stored_names_and_payloads() {
    let e = PrivacyEvent::LegalHoldPlaced {
        reason: text("audit"),
    };
    assert_eq!(e.name(), "LegalHoldPlaced");
    assert_eq!(
        serde_json::to_value(&e).unwrap(),
        serde_json::json!({"LegalHoldPlaced": {"reason": "audit"}})
    );
    assert_eq!(
        serde_json::to_value(PrivacyEvent::SubjectDataExported).unwrap(),
        serde_json::json!("SubjectDataExported")
    );
}
