//! Given events, when a command, then events or an error.

use cqrs_es::test::TestFramework;
use uuid::Uuid;

use super::*;

type Given = TestFramework<WebhookSubscription>;

fn id() -> Uuid {
    Uuid::parse_str("0193a7b2-4c1e-7d10-9a51-3e7f2b8c9d02").unwrap()
}

fn terms() -> WebhookTerms {
    WebhookTerms {
        url: "https://hooks.broker.example/crm".into(),
        event_types: vec!["KycVerified".into()],
        description: Some(Text::parse("Back office", 200).unwrap()),
        personal_data: true,
    }
}

fn subscribed() -> WebhookEvent {
    WebhookEvent::WebhookSubscribed {
        subscription_id: id(),
        terms: terms(),
    }
}

#[test]
fn a_subscription_is_made_once() {
    Given::with(())
        .given_no_previous_events()
        .when(WebhookCommand::Subscribe {
            subscription_id: id(),
            terms: terms(),
        })
        .then_expect_events(vec![subscribed()]);
    Given::with(())
        .given(vec![subscribed()])
        .when(WebhookCommand::Subscribe {
            subscription_id: id(),
            terms: terms(),
        })
        .then_expect_error(WebhookError::AlreadyExists);
}

#[test]
fn a_replay_is_recorded_while_the_subscription_stands() {
    let replay = || WebhookCommand::RecordReplay {
        from_position: 10,
        to_position: 90,
        queued: 3,
    };
    Given::with(())
        .given(vec![subscribed()])
        .when(replay())
        .then_expect_events(vec![WebhookEvent::WebhookReplayed {
            from_position: 10,
            to_position: 90,
            queued: 3,
        }]);
    Given::with(())
        .given_no_previous_events()
        .when(replay())
        .then_expect_error(WebhookError::NotFound);
    Given::with(())
        .given(vec![subscribed(), WebhookEvent::WebhookRemoved {}])
        .when(replay())
        .then_expect_error(WebhookError::Removed);
}

#[test]
fn removing_is_recorded_once_and_may_be_asked_again() {
    Given::with(())
        .given(vec![subscribed()])
        .when(WebhookCommand::Remove)
        .then_expect_events(vec![WebhookEvent::WebhookRemoved {}]);
    Given::with(())
        .given(vec![subscribed(), WebhookEvent::WebhookRemoved {}])
        .when(WebhookCommand::Remove)
        .then_expect_events(vec![]);
    Given::with(())
        .given_no_previous_events()
        .when(WebhookCommand::Remove)
        .then_expect_error(WebhookError::NotFound);
}

#[test]
fn every_string_field_of_every_event_is_classified() {
    let events = vec![
        subscribed(),
        WebhookEvent::WebhookReplayed {
            from_position: 1,
            to_position: 2,
            queued: 1,
        },
        WebhookEvent::WebhookRemoved {},
    ];
    for e in &events {
        let back: WebhookEvent = serde_json::from_value(serde_json::to_value(e).unwrap()).unwrap();
        assert_eq!(&back, e, "{} reads back as itself", e.name());
    }
    let samples: Vec<(&str, WebhookEvent)> = events.into_iter().map(|e| (e.name(), e)).collect();
    assert_eq!(
        crate::personal::unclassified(personal::EVENTS, &samples),
        Vec::<String>::new()
    );
}
