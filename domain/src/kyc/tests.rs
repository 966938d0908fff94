//! Given events, when a command, then events or an error.

use chrono::{NaiveDate, TimeZone, Utc};
use cqrs_es::test::TestFramework;
use uuid::Uuid;

use super::*;
use crate::values::{CkycNumber, Text};

type Given = TestFramework<Kyc>;

const CLIENT: Uuid = Uuid::from_u128(1);
const AGENT: Uuid = Uuid::from_u128(10);
const OTHER_AGENT: Uuid = Uuid::from_u128(11);
const OFFICER: Uuid = Uuid::from_u128(20);

fn today() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 12, 1).unwrap()
}

fn services() -> KycServices {
    KycServices {
        clock: Clock::fixed(Utc.with_ymd_and_hms(2026, 12, 1, 6, 0, 0).unwrap()),
        rules: KycRules::default(),
    }
}

fn text(s: &str) -> Text {
    Text::parse(s, 500).unwrap()
}

fn date(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap()
}

fn doc(n: u128, document_type: KycDocumentType) -> KycDocument {
    KycDocument {
        document_id: Uuid::from_u128(100 + n),
        document_type,
        number: None,
        number_index: None,
        issue_date: None,
        expiry_date: document_type.expires().then(|| date(2030, 1, 1)),
        sha256: format!("{n:064x}"),
        uploaded_by: AGENT,
    }
}

fn case_id() -> Uuid {
    Uuid::from_u128(50)
}

fn opened() -> KycEvent {
    KycEvent::KycCaseOpened {
        case_id: case_id(),
        client_id: CLIENT,
        client_type: ClientType::Individual,
        derivatives: false,
        opened_by: AGENT,
    }
}

fn attached(d: KycDocument) -> KycEvent {
    KycEvent::KycDocumentAttached {
        case_id: case_id(),
        document: d,
    }
}

/// A case with every item an individual needs.
fn complete() -> Vec<KycEvent> {
    use KycDocumentType::*;
    let mut events = vec![opened()];
    for (n, t) in [
        (1, PanCard),
        (2, Passport),
        (3, Photograph),
        (4, Signature),
        (5, BankProof),
        (6, VerificationRecord),
    ] {
        events.push(attached(doc(n, t)));
    }
    events
}

fn attach(d: KycDocument) -> KycCommand {
    KycCommand::AttachDocument {
        new_case_id: case_id(),
        client_id: CLIENT,
        client_type: ClientType::Individual,
        document: d,
    }
}

fn all_present() -> ProfileAttributes {
    ProfileAttributes {
        name: true,
        pan: true,
        address: true,
        mobile: true,
        email: true,
    }
}

fn profile() -> RiskProfile {
    RiskProfile {
        pep: false,
        income_range: IncomeRange::From10To25Lakh,
        occupation: Occupation::Salaried,
        country: "IN".into(),
        derivatives: false,
    }
}

fn categorised() -> KycEvent {
    KycEvent::KycRiskCategorised {
        category: RiskCategory::Low,
        factors: RiskFactors::from(&profile()),
        by: AGENT,
    }
}

fn submitted() -> KycEvent {
    KycEvent::KycSubmitted {
        case_id: case_id(),
        submitted_by: AGENT,
    }
}

fn ready_for_review() -> Vec<KycEvent> {
    let mut events = complete();
    events.push(categorised());
    events.push(submitted());
    events
}

fn decide(by: Uuid, role: Role, decision: Decision) -> KycCommand {
    KycCommand::Decide {
        by,
        role,
        decision,
        reasons: vec![],
        documents: vec![],
    }
}

fn accepted_all() -> Vec<DocumentReview> {
    (1..=6)
        .map(|n| DocumentReview {
            document_id: Uuid::from_u128(100 + n),
            verdict: DocumentVerdict::Accepted,
            reason: None,
            sha256: format!("{n:064x}"),
        })
        .collect()
}

#[test]
fn the_first_document_opens_a_case_and_the_next_joins_it() {
    Given::with(services())
        .given_no_previous_events()
        .when(attach(doc(1, KycDocumentType::PanCard)))
        .then_expect_events(vec![opened(), attached(doc(1, KycDocumentType::PanCard))]);
    Given::with(services())
        .given(vec![opened(), attached(doc(1, KycDocumentType::PanCard))])
        .when(attach(doc(2, KycDocumentType::Photograph)))
        .then_expect_events(vec![attached(doc(2, KycDocumentType::Photograph))]);
    Given::with(services())
        .given(vec![opened(), attached(doc(1, KycDocumentType::PanCard))])
        .when(attach(doc(1, KycDocumentType::PanCard)))
        .then_expect_error(KycError::DuplicateDocument);
}

#[test]
fn documents_must_be_current_and_dated_sensibly() {
    let expired = KycDocument {
        expiry_date: Some(date(2026, 11, 30)),
        ..doc(2, KycDocumentType::Passport)
    };
    Given::with(services())
        .given_no_previous_events()
        .when(attach(expired))
        .then_expect_error(KycError::Invalid {
            field: "expiry_date",
            message: "the document has expired; an expired document cannot be filed",
        });
    let backwards = KycDocument {
        issue_date: Some(date(2025, 1, 1)),
        expiry_date: Some(date(2024, 1, 1)),
        ..doc(2, KycDocumentType::Passport)
    };
    Given::with(services())
        .given_no_previous_events()
        .when(attach(backwards))
        .then_expect_error(KycError::Invalid {
            field: "expiry_date",
            message: "a document expires after it was issued",
        });
    let undated = KycDocument {
        expiry_date: None,
        ..doc(2, KycDocumentType::Passport)
    };
    Given::with(services())
        .given_no_previous_events()
        .when(attach(undated))
        .then_expect_error(KycError::Invalid {
            field: "expiry_date",
            message: "passports and driving licences are filed with their expiry date",
        });
    let future = KycDocument {
        issue_date: Some(date(2027, 1, 1)),
        ..doc(1, KycDocumentType::PanCard)
    };
    Given::with(services())
        .given_no_previous_events()
        .when(attach(future))
        .then_expect_error(KycError::Invalid {
            field: "issue_date",
            message: "a document's issue date cannot be in the future",
        });
}

#[test]
fn submission_names_every_missing_item_and_attribute() {
    Given::with(services())
        .given(vec![opened(), attached(doc(1, KycDocumentType::PanCard))])
        .when(KycCommand::Submit {
            by: AGENT,
            profile: ProfileAttributes {
                email: false,
                ..all_present()
            },
        })
        .then_expect_error(KycError::Incomplete {
            items: vec![
                KycItem::AddressProof,
                KycItem::Photograph,
                KycItem::Signature,
                KycItem::BankProof,
                KycItem::InPersonVerification,
            ],
            attributes: vec!["email", "income_range"],
        });
    let mut complete_and_categorised = complete();
    complete_and_categorised.push(categorised());
    Given::with(services())
        .given(complete_and_categorised)
        .when(KycCommand::Submit {
            by: AGENT,
            profile: all_present(),
        })
        .then_expect_events(vec![submitted()]);
}

#[test]
fn derivatives_need_an_income_proof() {
    let mut events = complete();
    events.push(KycEvent::KycRiskCategorised {
        category: RiskCategory::Low,
        factors: RiskFactors::from(&RiskProfile {
            derivatives: true,
            ..profile()
        }),
        by: AGENT,
    });
    Given::with(services())
        .given(events)
        .when(KycCommand::Submit {
            by: AGENT,
            profile: all_present(),
        })
        .then_expect_error(KycError::Incomplete {
            items: vec![KycItem::IncomeProof],
            attributes: vec![],
        });
    let rules = RequiredItems::default();
    assert!(!rules
        .for_case(ClientType::Individual, false)
        .contains(&KycItem::IncomeProof));
    assert!(rules
        .for_case(ClientType::Individual, true)
        .contains(&KycItem::IncomeProof));
    assert!(!rules
        .for_case(ClientType::Company, false)
        .contains(&KycItem::Photograph));
}

#[test]
fn a_maker_cannot_check_and_only_compliance_decides() {
    Given::with(services())
        .given(ready_for_review())
        .when(decide(AGENT, Role::ComplianceOfficer, Decision::Approve))
        .then_expect_error(KycError::MakerChecker);
    Given::with(services())
        .given(ready_for_review())
        .when(decide(
            OTHER_AGENT,
            Role::RelationshipManager,
            Decision::Approve,
        ))
        .then_expect_error(KycError::NotAChecker);
    Given::with(services())
        .given(ready_for_review())
        .when(KycCommand::StartReview {
            by: AGENT,
            role: Role::Admin,
        })
        .then_expect_error(KycError::MakerChecker);
}

#[test]
fn approval_records_reviewer_hashes_and_the_next_rekyc_date() {
    Given::with(services())
        .given(ready_for_review())
        .when(decide(OFFICER, Role::ComplianceOfficer, Decision::Approve))
        .then_expect_events(vec![
            KycEvent::KycReviewStarted {
                case_id: case_id(),
                reviewer: OFFICER,
            },
            KycEvent::KycVerified {
                review: Review {
                    case_id: case_id(),
                    reviewer: OFFICER,
                    reasons: vec![],
                    documents: accepted_all(),
                },
                // Low risk: ten years.
                next_rekyc_on: date(2036, 12, 1),
            },
        ]);
}

#[test]
fn approval_needs_a_risk_category() {
    let mut events = complete();
    events.push(submitted());
    Given::with(services())
        .given(events)
        .when(decide(OFFICER, Role::ComplianceOfficer, Decision::Approve))
        .then_expect_error(KycError::RiskNotSet);
}

#[test]
fn rejections_give_reasons_and_rejected_documents_must_be_replaced() {
    let mut events = ready_for_review();
    events.push(KycEvent::KycReviewStarted {
        case_id: case_id(),
        reviewer: OFFICER,
    });
    Given::with(services())
        .given(events.clone())
        .when(decide(OFFICER, Role::ComplianceOfficer, Decision::Reject))
        .then_expect_error(KycError::Invalid {
            field: "reasons",
            message: "a rejection or a revision request gives its reasons",
        });
    let blurred = DocumentFinding {
        document_id: Uuid::from_u128(103),
        verdict: DocumentVerdict::Rejected,
        reason: Some(text("photograph is blurred")),
    };
    let mut reviewed = accepted_all();
    reviewed[2].verdict = DocumentVerdict::Rejected;
    reviewed[2].reason = Some(text("photograph is blurred"));
    let revision = KycEvent::KycRevisionRequested {
        review: Review {
            case_id: case_id(),
            reviewer: OFFICER,
            reasons: vec![],
            documents: reviewed,
        },
    };
    Given::with(services())
        .given(events.clone())
        .when(KycCommand::Decide {
            by: OFFICER,
            role: Role::ComplianceOfficer,
            decision: Decision::RequestRevision,
            reasons: vec![],
            documents: vec![blurred.clone()],
        })
        .then_expect_events(vec![revision.clone()]);
    // Approving while rejecting a document is a contradiction.
    Given::with(services())
        .given(events.clone())
        .when(KycCommand::Decide {
            by: OFFICER,
            role: Role::ComplianceOfficer,
            decision: Decision::Approve,
            reasons: vec![],
            documents: vec![blurred],
        })
        .then_expect_error(KycError::Invalid {
            field: "documents",
            message: "an approval cannot reject a document: request a revision instead",
        });
    // After the revision request the rejected photograph no longer counts.
    events.push(revision);
    Given::with(services())
        .given(events.clone())
        .when(KycCommand::Submit {
            by: AGENT,
            profile: all_present(),
        })
        .then_expect_error(KycError::Incomplete {
            items: vec![KycItem::Photograph],
            attributes: vec![],
        });
    events.push(attached(doc(7, KycDocumentType::Photograph)));
    Given::with(services())
        .given(events.clone())
        .when(KycCommand::Submit {
            by: AGENT,
            profile: all_present(),
        })
        .then_expect_events(vec![submitted()]);
    // The approval reviews what counts: the rejected photograph stays rejected.
    events.push(submitted());
    let mut seen: Vec<DocumentReview> = accepted_all()
        .into_iter()
        .filter(|d| d.document_id != Uuid::from_u128(103))
        .collect();
    seen.push(DocumentReview {
        document_id: Uuid::from_u128(107),
        verdict: DocumentVerdict::Accepted,
        reason: None,
        sha256: format!("{:064x}", 7),
    });
    Given::with(services())
        .given(events)
        .when(decide(OFFICER, Role::ComplianceOfficer, Decision::Approve))
        .then_expect_events(vec![
            KycEvent::KycReviewStarted {
                case_id: case_id(),
                reviewer: OFFICER,
            },
            KycEvent::KycVerified {
                review: Review {
                    case_id: case_id(),
                    reviewer: OFFICER,
                    reasons: vec![],
                    documents: seen,
                },
                next_rekyc_on: date(2036, 12, 1),
            },
        ]);
}

#[test]
fn illegal_moves_name_the_allowed_ones() {
    Given::with(services())
        .given(ready_for_review())
        .when(attach(doc(9, KycDocumentType::IncomeProof)))
        .then_expect_error(KycError::NotAllowed {
            status: KycStatus::Submitted,
            allowed: vec!["start_review", "approve", "reject", "request_revision"],
        });
    Given::with(services())
        .given(complete())
        .when(decide(OFFICER, Role::ComplianceOfficer, Decision::Approve))
        .then_expect_error(KycError::NotAllowed {
            status: KycStatus::Pending,
            allowed: vec!["attach_document", "submit"],
        });
    Given::with(services())
        .given_no_previous_events()
        .when(KycCommand::Submit {
            by: AGENT,
            profile: all_present(),
        })
        .then_expect_error(KycError::NoCase);
    let error = KycError::NotAllowed {
        status: KycStatus::Pending,
        allowed: KycStatus::Pending.allowed(),
    };
    assert_eq!(
        error.to_string(),
        "the case is pending: it can only attach_document, submit"
    );
}

fn verified() -> Vec<KycEvent> {
    let mut events = ready_for_review();
    events.push(KycEvent::KycVerified {
        review: Review {
            case_id: case_id(),
            reviewer: OFFICER,
            reasons: vec![],
            documents: accepted_all(),
        },
        next_rekyc_on: date(2028, 12, 1),
    });
    events
}

#[test]
fn a_verified_case_falls_due_by_period_or_expiry_and_a_new_document_opens_the_next() {
    Given::with(services())
        .given(verified())
        .when(KycCommand::CheckDue { today: today() })
        .then_expect_error(KycError::NotDue);
    Given::with(services())
        .given(verified())
        .when(KycCommand::CheckDue {
            today: date(2028, 12, 1),
        })
        .then_expect_events(vec![KycEvent::RekycDue {
            case_id: case_id(),
            reason: RekycReason::Periodic,
            document_id: None,
        }]);
    // The passport (document 2) expires on 2030-01-01, after the period here: move the
    // period past it to see the expiry.
    let mut long = verified();
    if let Some(KycEvent::KycVerified { next_rekyc_on, .. }) = long.last_mut() {
        *next_rekyc_on = date(2036, 1, 1);
    }
    Given::with(services())
        .given(long)
        .when(KycCommand::CheckDue {
            today: date(2030, 1, 2),
        })
        .then_expect_events(vec![KycEvent::RekycDue {
            case_id: case_id(),
            reason: RekycReason::DocumentExpired,
            document_id: Some(Uuid::from_u128(102)),
        }]);
    let next = doc(20, KycDocumentType::Passport);
    let next_case = Uuid::from_u128(51);
    Given::with(services())
        .given(verified())
        .when(KycCommand::AttachDocument {
            new_case_id: next_case,
            client_id: CLIENT,
            client_type: ClientType::Individual,
            document: next.clone(),
        })
        .then_expect_events(vec![
            KycEvent::KycCaseOpened {
                case_id: next_case,
                client_id: CLIENT,
                client_type: ClientType::Individual,
                derivatives: false,
                opened_by: AGENT,
            },
            KycEvent::KycDocumentAttached {
                case_id: next_case,
                document: next,
            },
        ]);
}

#[test]
fn risk_follows_the_profile_and_sets_the_interval() {
    assert_eq!(profile().category(), RiskCategory::Low);
    let pep = RiskProfile {
        pep: true,
        ..profile()
    };
    assert_eq!(pep.category(), RiskCategory::High);
    let abroad = RiskProfile {
        country: "AE".into(),
        ..profile()
    };
    assert_eq!(abroad.category(), RiskCategory::Medium);
    let sanctioned = RiskProfile {
        country: "KP".into(),
        ..profile()
    };
    assert_eq!(sanctioned.category(), RiskCategory::High);
    let thin = RiskProfile {
        derivatives: true,
        income_range: IncomeRange::From1To5Lakh,
        ..profile()
    };
    assert_eq!(thin.category(), RiskCategory::Medium);
    let intervals = RekycIntervals::default();
    assert_eq!(
        intervals.next(RiskCategory::High, date(2026, 2, 28)),
        date(2028, 2, 28)
    );
    assert_eq!(
        intervals.next(RiskCategory::Medium, date(2026, 12, 1)),
        date(2034, 12, 1)
    );
    Given::with(services())
        .given(complete())
        .when(KycCommand::Categorise {
            profile: pep.clone(),
            by: OFFICER,
        })
        .then_expect_events(vec![KycEvent::KycRiskCategorised {
            category: RiskCategory::High,
            factors: RiskFactors::from(&pep),
            by: OFFICER,
        }]);
    Given::with(services())
        .given_no_previous_events()
        .when(KycCommand::Categorise {
            profile: pep,
            by: OFFICER,
        })
        .then_expect_error(KycError::NoCase);
}

#[test]
fn the_profile_is_fixed_under_review_and_whoever_set_it_is_a_maker() {
    Given::with(services())
        .given(ready_for_review())
        .when(KycCommand::Categorise {
            profile: profile(),
            by: OTHER_AGENT,
        })
        .then_expect_error(KycError::NotAllowed {
            status: KycStatus::Submitted,
            allowed: KycStatus::Submitted.allowed(),
        });
    // An admin who set the risk profile may not approve the case.
    let mut events = complete();
    events.push(KycEvent::KycRiskCategorised {
        category: RiskCategory::Low,
        factors: RiskFactors::from(&profile()),
        by: OFFICER,
    });
    events.push(submitted());
    Given::with(services())
        .given(events)
        .when(decide(OFFICER, Role::Admin, Decision::Approve))
        .then_expect_error(KycError::MakerChecker);
}

#[test]
fn approval_needs_every_item_the_profile_asks_for_now() {
    let mut events = ready_for_review();
    // Derivatives were declared after the submission: an income proof is now missing. (The
    // profile cannot change under review; here it is as the log says.)
    events.push(KycEvent::KycRiskCategorised {
        category: RiskCategory::Low,
        factors: RiskFactors::from(&RiskProfile {
            derivatives: true,
            ..profile()
        }),
        by: AGENT,
    });
    Given::with(services())
        .given(events)
        .when(decide(OFFICER, Role::ComplianceOfficer, Decision::Approve))
        .then_expect_error(KycError::Incomplete {
            items: vec![KycItem::IncomeProof],
            attributes: vec![],
        });
}

#[test]
fn re_kyc_falls_due_on_the_last_verification_whatever_case_is_in_hand() {
    let mut events = verified();
    // A new case opened after the verification (an address change, say).
    events.push(KycEvent::KycCaseOpened {
        case_id: Uuid::from_u128(51),
        client_id: CLIENT,
        client_type: ClientType::Individual,
        derivatives: false,
        opened_by: AGENT,
    });
    Given::with(services())
        .given(events.clone())
        .when(KycCommand::CheckDue {
            today: date(2028, 12, 1),
        })
        .then_expect_events(vec![KycEvent::RekycDue {
            case_id: case_id(),
            reason: RekycReason::Periodic,
            document_id: None,
        }]);
    events.push(KycEvent::RekycDue {
        case_id: case_id(),
        reason: RekycReason::Periodic,
        document_id: None,
    });
    Given::with(services())
        .given(events)
        .when(KycCommand::CheckDue {
            today: date(2028, 12, 2),
        })
        .then_expect_error(KycError::NotDue);
    Given::with(services())
        .given(complete())
        .when(KycCommand::CheckDue {
            today: date(2028, 12, 2),
        })
        .then_expect_error(KycError::NotAllowed {
            status: KycStatus::Pending,
            allowed: KycStatus::Pending.allowed(),
        });
}

#[test]
fn pan_holder_letters_fit_the_client_type() {
    let person = crate::values::Pan::parse("ABCPE1234F").unwrap();
    let company = crate::values::Pan::parse("ABCCE1234F").unwrap();
    assert!(ClientType::Individual.fits(&person));
    assert!(!ClientType::Company.fits(&person));
    assert!(ClientType::Company.fits(&company));
    assert!(!ClientType::Huf.fits(&company));
}

#[test]
fn every_string_field_of_every_event_is_classified() {
    let mut events = verified();
    if let Some(KycEvent::KycVerified { review, .. }) = events.last_mut() {
        review.reasons.push(text("documents in order"));
        review.documents[0].reason = Some(text("clear copy"));
    }
    events.push(KycEvent::KycRejected {
        review: Review {
            case_id: case_id(),
            reviewer: OFFICER,
            reasons: vec![text("address proof does not match")],
            documents: vec![DocumentReview {
                document_id: Uuid::from_u128(102),
                verdict: DocumentVerdict::Rejected,
                reason: Some(text("expired")),
                sha256: "ab".into(),
            }],
        },
    });
    events.push(KycEvent::KycRevisionRequested {
        review: Review {
            case_id: case_id(),
            reviewer: OFFICER,
            reasons: vec![text("re-upload")],
            documents: vec![DocumentReview {
                document_id: Uuid::from_u128(102),
                verdict: DocumentVerdict::Rejected,
                reason: Some(text("blurred")),
                sha256: "ab".into(),
            }],
        },
    });
    events.push(KycEvent::KycReviewStarted {
        case_id: case_id(),
        reviewer: OFFICER,
    });
    events.push(attached(KycDocument {
        number: Some(text("XXXX-XXXX-1234")),
        number_index: Some("0f".repeat(16)),
        issue_date: Some(date(2020, 1, 1)),
        ..doc(8, KycDocumentType::Aadhaar)
    }));
    events.push(KycEvent::KraStatusRecorded {
        status: KraStatus::Validated,
        by: OFFICER,
    });
    events.push(KycEvent::CkycNumberRecorded {
        number: CkycNumber::parse("12345678901234").unwrap(),
        by: OFFICER,
    });
    events.push(KycEvent::RekycDue {
        case_id: case_id(),
        reason: RekycReason::DocumentExpired,
        document_id: Some(Uuid::from_u128(102)),
    });
    events.push(KycEvent::KycAlertRaised {
        alert: KycAlert {
            kind: AlertKind::DocumentExpiring,
            case_id: case_id(),
            document_id: Some(Uuid::from_u128(102)),
            due_on: date(2029, 12, 20),
            within_days: 30,
        },
    });
    for e in &events {
        let back: KycEvent = serde_json::from_value(serde_json::to_value(e).unwrap()).unwrap();
        assert_eq!(&back, e, "{} reads back as itself", e.name());
    }
    let samples: Vec<(&str, KycEvent)> = events.into_iter().map(|e| (e.name(), e)).collect();
    assert_eq!(
        crate::personal::unclassified(personal::EVENTS, &samples),
        Vec::<String>::new()
    );
}

#[test]
fn alerts_are_raised_once_per_item_and_window() {
    // The passport (document 2) expires on 2030-01-01; re-KYC is due on 2028-12-01.
    let passport = KycAlert {
        kind: AlertKind::DocumentExpiring,
        case_id: case_id(),
        document_id: Some(Uuid::from_u128(102)),
        due_on: date(2030, 1, 1),
        within_days: 30,
    };
    let rekyc = KycAlert {
        kind: AlertKind::RekycDueSoon,
        case_id: case_id(),
        document_id: None,
        due_on: date(2028, 12, 1),
        within_days: 30,
    };
    Given::with(services())
        .given(verified())
        .when(KycCommand::RaiseAlerts {
            today: today(),
            within_days: 30,
        })
        .then_expect_events(vec![]);
    Given::with(services())
        .given(verified())
        .when(KycCommand::RaiseAlerts {
            today: date(2028, 11, 5),
            within_days: 30,
        })
        .then_expect_events(vec![KycEvent::KycAlertRaised {
            alert: rekyc.clone(),
        }]);
    let mut raised = verified();
    raised.push(KycEvent::KycAlertRaised { alert: rekyc });
    Given::with(services())
        .given(raised.clone())
        .when(KycCommand::RaiseAlerts {
            today: date(2028, 11, 20),
            within_days: 30,
        })
        .then_expect_events(vec![]);
    // A longer window is another alert of the same item.
    let mut long = verified();
    if let Some(KycEvent::KycVerified { next_rekyc_on, .. }) = long.last_mut() {
        *next_rekyc_on = date(2036, 1, 1);
    }
    Given::with(services())
        .given(long)
        .when(KycCommand::RaiseAlerts {
            today: date(2029, 12, 10),
            within_days: 30,
        })
        .then_expect_events(vec![KycEvent::KycAlertRaised { alert: passport }]);
    // Not verified: nothing to warn of.
    Given::with(services())
        .given(ready_for_review())
        .when(KycCommand::RaiseAlerts {
            today: date(2029, 12, 10),
            within_days: 3650,
        })
        .then_expect_events(vec![]);
}
