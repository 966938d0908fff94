//! The sales facts of one lead folded from its events: stages with when they began and ended,
//! the first response, follow-ups and what a merge moves.

use chrono::{DateTime, Duration, TimeZone, Utc};
use domain::lead::{
    CaptureChannel, FollowUpChannel, FollowUpState, InteractionKind, LeadDetails, LeadEvent,
    LeadSource, LeadStatus,
};
use domain::merge::{MergeTarget, MovedFollowUp};
use domain::values::{PersonName, Text};
use store::EventMetadata;
use uuid::Uuid;

use super::*;
use crate::timeline::RecordView;

fn at(hours: i64) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 2, 9, 0, 0).unwrap() + Duration::hours(hours)
}

fn meta(hours: i64) -> EventMetadata {
    EventMetadata {
        recorded_at: at(hours),
        ..EventMetadata::system(None)
    }
}

fn text(s: &str) -> Text {
    Text::parse(s, 500).unwrap()
}

fn captured(source: LeadSource, detail: Option<&str>) -> SalesView {
    let event = LeadEvent::LeadCaptured {
        lead_id: Uuid::new_v4(),
        details: LeadDetails {
            name: PersonName::parse("Asha Rao").unwrap(),
            email: None,
            phone: None,
            source,
            source_detail: detail.map(text),
            product_interest: Vec::new(),
            preferred_contact_method: None,
            preferred_contact_time: None,
            notes: None,
            investment_capacity: None,
        },
        channel: CaptureChannel::Manual,
    };
    SalesView::start(&event, &meta(0), 1, 1).unwrap()
}

fn then(v: &mut SalesView, hours: i64, event: LeadEvent) {
    let seq = v.version + 1;
    v.apply(&event, &meta(hours), seq, seq);
}

#[test]
fn stages_record_when_each_began_and_ended() {
    let mut v = captured(LeadSource::Campaign, Some("Diwali SIP"));
    then(
        &mut v,
        5,
        LeadEvent::LeadStatusChanged {
            from: LeadStatus::New,
            to: LeadStatus::Contacted,
            reason: None,
        },
    );
    then(
        &mut v,
        29,
        LeadEvent::LeadLost {
            from: LeadStatus::Contacted,
            reason: text("Chose another broker"),
        },
    );
    assert_eq!(v.lost_at, Some(at(29)));
    assert_eq!(v.lost_reason.as_deref(), Some("Chose another broker"));
    then(
        &mut v,
        48,
        LeadEvent::LeadReopened {
            to: LeadStatus::Qualified,
            reason: None,
        },
    );
    let client = Uuid::new_v4();
    then(
        &mut v,
        50,
        LeadEvent::LeadConverted {
            client_id: client,
            reason: None,
        },
    );
    let stages: Vec<(LeadStatus, DateTime<Utc>, Option<DateTime<Utc>>)> = v
        .stages
        .iter()
        .map(|s| (s.stage, s.entered_at, s.left_at))
        .collect();
    assert_eq!(
        stages,
        vec![
            (LeadStatus::New, at(0), Some(at(5))),
            (LeadStatus::Contacted, at(5), Some(at(29))),
            (LeadStatus::Lost, at(29), Some(at(48))),
            (LeadStatus::Qualified, at(48), Some(at(50))),
            (LeadStatus::Converted, at(50), None),
        ]
    );
    assert_eq!(v.status, LeadStatus::Converted);
    assert_eq!((v.converted_at, v.client_id), (Some(at(50)), Some(client)));
    // Reopened: the lost reason no longer holds.
    assert_eq!((v.lost_at, v.lost_reason.as_deref()), (None, None));
    // The move out of `new` was the first response.
    assert_eq!(v.first_response_at, Some(at(5)));
    // Contacted first at 5, qualified at 48 (after a loss), converted at 50.
    assert_eq!(v.reached(), [Some(at(5)), Some(at(48)), Some(at(50))]);
}

#[test]
fn a_stage_skipped_is_reached_with_the_one_beyond() {
    let mut v = captured(LeadSource::Website, None);
    assert_eq!(v.reached(), [None, None, None]);
    then(
        &mut v,
        3,
        LeadEvent::LeadStatusChanged {
            from: LeadStatus::New,
            to: LeadStatus::Qualified,
            reason: None,
        },
    );
    then(
        &mut v,
        7,
        LeadEvent::LeadStatusChanged {
            from: LeadStatus::Qualified,
            to: LeadStatus::Contacted,
            reason: None,
        },
    );
    // Qualified at 3 counts as contacted then too; going back to contacted later moves neither.
    assert_eq!(v.reached(), [Some(at(3)), Some(at(3)), None]);
    assert_eq!(v.furthest(), 2);
}

#[test]
fn a_note_is_no_response_and_a_call_or_a_follow_up_done_is() {
    let mut v = captured(LeadSource::Website, None);
    let note = |kind| LeadEvent::InteractionLogged {
        interaction_id: Uuid::new_v4(),
        kind,
        direction: None,
        summary: text("spoke"),
        occurred_at: at(1),
        duration_minutes: None,
    };
    then(&mut v, 1, note(InteractionKind::Note));
    assert_eq!(v.first_response_at, None);
    then(&mut v, 3, note(InteractionKind::Call));
    then(&mut v, 7, note(InteractionKind::Call));
    assert_eq!(v.first_response_at, Some(at(3)));

    let mut w = captured(LeadSource::Website, None);
    let f = Uuid::new_v4();
    then(
        &mut w,
        1,
        LeadEvent::FollowUpScheduled {
            follow_up_id: f,
            due_at: at(24),
            channel: FollowUpChannel::Call,
            note: None,
        },
    );
    then(
        &mut w,
        2,
        LeadEvent::FollowUpRescheduled {
            follow_up_id: f,
            previous_due_at: at(24),
            due_at: at(30),
            reason: None,
        },
    );
    assert_eq!(w.first_response_at, None);
    then(
        &mut w,
        26,
        LeadEvent::FollowUpCompleted {
            follow_up_id: f,
            outcome: None,
        },
    );
    assert_eq!(w.first_response_at, Some(at(26)));
    assert_eq!(
        w.follow_ups,
        vec![FollowUpFact {
            follow_up_id: f,
            due_at: at(30),
            closed_at: Some(at(26)),
            state: FollowUpState::Completed,
        }]
    );
}

#[test]
fn a_merge_moves_open_follow_ups_and_an_undo_brings_them_back() {
    let mut source = captured(LeadSource::Referral, Some("Ravi Kumar"));
    let mut survivor = captured(LeadSource::Website, None);
    let (f, moved) = (Uuid::new_v4(), Uuid::new_v4());
    then(
        &mut source,
        1,
        LeadEvent::FollowUpScheduled {
            follow_up_id: f,
            due_at: at(24),
            channel: FollowUpChannel::Call,
            note: None,
        },
    );
    then(
        &mut source,
        2,
        LeadEvent::LeadMerged {
            into: MergeTarget {
                kind: domain::merge::MergeKind::Lead,
                id: survivor.lead_id,
            },
            follow_ups: vec![f],
            reason: None,
        },
    );
    then(
        &mut survivor,
        2,
        LeadEvent::MergeReceived {
            from_lead: source.lead_id,
            follow_ups: vec![MovedFollowUp {
                follow_up_id: moved,
                from_follow_up_id: f,
                due_at: at(24),
                channel: FollowUpChannel::Call,
            }],
        },
    );
    assert!(source.merged);
    assert_eq!(source.follow_ups[0].state, FollowUpState::Moved);
    assert_eq!(survivor.follow_ups[0].state, FollowUpState::Open);
    then(
        &mut survivor,
        3,
        LeadEvent::MergeReverted {
            from_lead: source.lead_id,
            follow_ups: vec![moved],
        },
    );
    then(
        &mut source,
        3,
        LeadEvent::LeadUnmerged {
            from: MergeTarget {
                kind: domain::merge::MergeKind::Lead,
                id: survivor.lead_id,
            },
            follow_ups: vec![domain::merge::ReopenedFollowUp {
                follow_up_id: f,
                due_at: at(30),
            }],
            reason: None,
        },
    );
    assert!(!source.merged);
    assert_eq!(
        (source.follow_ups[0].state, source.follow_ups[0].due_at),
        (FollowUpState::Open, at(30))
    );
    assert_eq!(survivor.follow_ups[0].state, FollowUpState::Moved);
}

#[test]
fn campaign_names_and_reasons_compare_case_and_spacing_aside() {
    assert_eq!(normalised("  Diwali   SIP 2026 "), "diwali sip 2026");
    assert!(names_campaign(LeadSource::Campaign) && names_campaign(LeadSource::Partner));
    assert!(!names_campaign(LeadSource::Referral));
}
