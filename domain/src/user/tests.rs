//! Given events, when a command, then events or an error.

use chrono::{DateTime, Duration, TimeZone, Utc};
use cqrs_es::test::TestFramework;

use super::*;

type Given = TestFramework<User>;

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 30, 10, 0, 0).unwrap()
}

fn at(now: DateTime<Utc>) -> Given {
    Given::with(UserServices {
        clock: Clock::fixed(now),
    })
}

fn family() -> Uuid {
    Uuid::from_u128(9)
}

fn profile(role: Role, branch: Option<&str>) -> UserProfile {
    UserProfile {
        email: Email::parse("meera@broker.in").unwrap(),
        name: PersonName::parse("Meera Iyer").unwrap(),
        role,
        branch: branch.map(|b| Branch::parse(b).unwrap()),
        manager_id: None,
    }
}

fn registered() -> UserEvent {
    UserEvent::UserRegistered {
        user_id: Uuid::from_u128(1),
        profile: profile(Role::RelationshipManager, Some("mum-01")),
        password_hash: "h0".into(),
        must_change_password: false,
    }
}

/// The address attempts come from unless a test says otherwise.
const HERE: &str = "203.0.113.7";

fn login(ok: bool) -> UserCommand {
    login_from(ok, HERE)
}

fn login_from(ok: bool, address: &str) -> UserCommand {
    UserCommand::Login {
        password_ok: ok,
        family_id: family(),
        refresh_hash: "r1".into(),
        refresh_expires_at: now() + Duration::hours(12),
        address: address.into(),
    }
}

fn failed(minutes_ago: i64) -> UserEvent {
    UserEvent::LoginFailed {
        at: now() - Duration::minutes(minutes_ago),
        locked_until: None,
        address: Some(HERE.into()),
        everywhere: false,
    }
}

fn logged_in() -> UserEvent {
    UserEvent::LoginSucceeded {
        family_id: family(),
        refresh_hash: "r1".into(),
        refresh_expires_at: now() + Duration::hours(12),
        at: now() - Duration::minutes(1),
    }
}

fn refresh(presented: &str, new: &str) -> UserCommand {
    UserCommand::Refresh {
        family_id: family(),
        presented_hash: presented.into(),
        new_hash: new.into(),
        expires_at: now() + Duration::hours(12),
    }
}

#[test]
fn branch_codes_are_upper_case_words() {
    assert_eq!(Branch::parse(" mum-01 ").unwrap().as_str(), "MUM-01");
    assert!(Branch::parse("").is_err());
    assert!(Branch::parse("mum 01").is_err());
    assert!(Branch::parse(&"x".repeat(41)).is_err());
}

#[test]
fn password_policy_wants_twelve_characters_and_not_the_email() {
    let email = Email::parse("meera@broker.in").unwrap();
    assert!(check_password("short-pass1", &email).is_err());
    assert!(check_password("Meera@Broker.in", &email).is_err());
    assert!(check_password("correct horse battery", &email).is_ok());
}

#[test]
fn an_agent_is_registered_with_a_branch() {
    at(now())
        .given_no_previous_events()
        .when(UserCommand::Register {
            user_id: Uuid::from_u128(1),
            profile: profile(Role::RelationshipManager, Some("mum-01")),
            password_hash: "h0".into(),
            must_change_password: false,
        })
        .then_expect_events(vec![registered()]);
}

#[test]
fn an_agent_without_a_branch_is_refused() {
    at(now())
        .given_no_previous_events()
        .when(UserCommand::Register {
            user_id: Uuid::from_u128(1),
            profile: profile(Role::BranchManager, None),
            password_hash: "h0".into(),
            must_change_password: false,
        })
        .then_expect_error(UserError::BranchRequired(Role::BranchManager));
}

#[test]
fn registering_twice_is_refused() {
    at(now())
        .given(vec![registered()])
        .when(UserCommand::Register {
            user_id: Uuid::from_u128(1),
            profile: profile(Role::Auditor, None),
            password_hash: "h".into(),
            must_change_password: false,
        })
        .then_expect_error(UserError::AlreadyExists);
}

#[test]
fn a_role_change_records_only_what_changed() {
    at(now())
        .given(vec![registered()])
        .when(UserCommand::Update {
            name: Some(PersonName::parse("Meera Iyer").unwrap()),
            role: Some(Role::BranchManager),
            branch: None,
            manager_id: None,
        })
        .then_expect_events(vec![UserEvent::UserUpdated {
            name: None,
            role: Some(Role::BranchManager),
            branch: None,
            manager_id: None,
        }]);
}

#[test]
fn clearing_an_agents_branch_is_refused() {
    at(now())
        .given(vec![registered()])
        .when(UserCommand::Update {
            name: None,
            role: None,
            branch: Some(None),
            manager_id: None,
        })
        .then_expect_error(UserError::BranchRequired(Role::RelationshipManager));
}

#[test]
fn the_fifth_failure_in_fifteen_minutes_locks_the_account() {
    at(now())
        .given(vec![
            registered(),
            failed(14),
            failed(10),
            failed(5),
            failed(1),
        ])
        .when(login(false))
        .then_expect_events(vec![UserEvent::LoginFailed {
            at: now(),
            locked_until: Some(now() + Duration::minutes(15)),
            address: Some(HERE.into()),
            everywhere: false,
        }]);
}

#[test]
fn failures_older_than_the_window_do_not_count() {
    at(now())
        .given(vec![
            registered(),
            failed(20),
            failed(10),
            failed(5),
            failed(1),
        ])
        .when(login(false))
        .then_expect_events(vec![UserEvent::LoginFailed {
            at: now(),
            locked_until: None,
            address: Some(HERE.into()),
            everywhere: false,
        }]);
}

#[test]
fn a_locked_account_refuses_even_the_right_password_until_the_lock_ends() {
    let locked = UserEvent::LoginFailed {
        at: now() - Duration::minutes(1),
        locked_until: Some(now() + Duration::minutes(14)),
        address: Some(HERE.into()),
        everywhere: false,
    };
    at(now())
        .given(vec![registered(), locked.clone()])
        .when(login(true))
        .then_expect_error(UserError::Locked {
            until: now() + Duration::minutes(14),
        });
    at(now() + Duration::minutes(15))
        .given(vec![registered(), locked])
        .when(login(true))
        .then_expect_events(vec![UserEvent::LoginSucceeded {
            family_id: family(),
            refresh_hash: "r1".into(),
            refresh_expires_at: now() + Duration::hours(12),
            at: now() + Duration::minutes(15),
        }]);
}

#[test]
fn a_lockout_holds_for_the_address_the_failures_came_from_until_an_admin_lifts_it() {
    let locked = UserEvent::LoginFailed {
        at: now() - Duration::minutes(1),
        locked_until: Some(now() + Duration::minutes(14)),
        address: Some(HERE.into()),
        everywhere: false,
    };
    let success = UserEvent::LoginSucceeded {
        family_id: family(),
        refresh_hash: "r1".into(),
        refresh_expires_at: now() + Duration::hours(12),
        at: now(),
    };
    // Elsewhere, the right password signs in; failures from elsewhere count apart.
    at(now())
        .given(vec![registered(), locked.clone()])
        .when(login_from(true, "198.51.100.4"))
        .then_expect_events(vec![success.clone()]);
    at(now())
        .given(vec![registered(), failed(3), failed(2), failed(1)])
        .when(login_from(false, "198.51.100.4"))
        .then_expect_events(vec![UserEvent::LoginFailed {
            at: now(),
            locked_until: None,
            address: Some("198.51.100.4".into()),
            everywhere: false,
        }]);
    // An admin lifts it; lifting nothing records nothing.
    at(now())
        .given(vec![registered(), locked.clone()])
        .when(UserCommand::LiftLockout)
        .then_expect_events(vec![UserEvent::LockoutLifted {}]);
    at(now())
        .given(vec![registered(), locked, UserEvent::LockoutLifted {}])
        .when(login(true))
        .then_expect_events(vec![success]);
    at(now())
        .given(vec![registered()])
        .when(UserCommand::LiftLockout)
        .then_expect_events(vec![]);
    // A failure recorded before addresses were kept counts as from an unknown one.
    let old: UserEvent = serde_json::from_value(serde_json::json!(
        {"LoginFailed": {"at": "2026-11-30T09:59:00Z", "locked_until": "2026-11-30T10:14:00Z"}}
    ))
    .unwrap();
    at(now())
        .given(vec![registered(), old])
        .when(login_from(true, ""))
        .then_expect_error(UserError::Locked {
            until: now() + Duration::minutes(14),
        });
}

#[test]
fn twenty_failures_from_many_addresses_lock_every_address() {
    let from = |n: i64| UserEvent::LoginFailed {
        at: now() - Duration::minutes(10) + Duration::seconds(n),
        locked_until: None,
        address: Some(format!("198.51.100.{n}")),
        everywhere: false,
    };
    let mut given = vec![registered()];
    given.extend((0..19).map(from));
    let locked = UserEvent::LoginFailed {
        at: now(),
        locked_until: Some(now() + Duration::minutes(15)),
        address: Some(HERE.into()),
        everywhere: true,
    };
    at(now())
        .given(given)
        .when(login(false))
        .then_expect_events(vec![locked.clone()]);
    at(now() + Duration::minutes(1))
        .given(vec![registered(), locked])
        .when(login_from(true, "192.0.2.1"))
        .then_expect_error(UserError::Locked {
            until: now() + Duration::minutes(15),
        });
}

#[test]
fn addresses_locked_one_after_another_still_count_towards_the_lock_of_every_address() {
    // Three addresses tried five times each (each locked in turn), a fourth four times.
    let mut given = vec![registered()];
    for a in 0..4 {
        for n in 0..5 {
            if a == 3 && n == 4 {
                break;
            }
            let at = now() - Duration::minutes(12) + Duration::seconds(a * 60 + n * 5);
            given.push(UserEvent::LoginFailed {
                at,
                locked_until: (n == 4).then(|| at + Duration::minutes(15)),
                address: Some(format!("198.51.100.{a}")),
                everywhere: false,
            });
        }
    }
    // The twentieth locks them all.
    at(now())
        .given(given)
        .when(login_from(false, "198.51.100.3"))
        .then_expect_events(vec![UserEvent::LoginFailed {
            at: now(),
            locked_until: Some(now() + Duration::minutes(15)),
            address: Some("198.51.100.3".into()),
            everywhere: true,
        }]);
}

#[test]
fn a_deactivated_user_cannot_log_in() {
    at(now())
        .given(vec![registered(), UserEvent::UserDeactivated {}])
        .when(login(true))
        .then_expect_error(UserError::Inactive);
}

#[test]
fn a_session_ends_twelve_hours_after_its_login_however_often_refreshed() {
    at(now() + Duration::hours(11))
        .given(vec![registered(), logged_in()])
        .when(UserCommand::Refresh {
            family_id: family(),
            presented_hash: "r1".into(),
            new_hash: "r2".into(),
            expires_at: now() + Duration::hours(23),
        })
        .then_expect_events(vec![UserEvent::RefreshTokenRotated {
            family_id: family(),
            refresh_hash: "r2".into(),
            refresh_expires_at: now() + Duration::hours(12),
        }]);
}

#[test]
fn the_current_and_four_earlier_password_hashes_are_kept_for_the_reuse_check() {
    let mut user = User::default();
    user.apply(registered());
    assert_eq!(user.recent_hashes().collect::<Vec<_>>(), vec!["h0"]);
    for n in 1..=6 {
        let password_hash = format!("h{n}");
        user.apply(if n == 3 {
            UserEvent::PasswordReset { password_hash }
        } else {
            UserEvent::PasswordChanged { password_hash }
        });
    }
    // h6 current; h5, h4, h3 (a reset counts too) and h2 before it; h1 and h0 forgotten.
    assert_eq!(
        user.recent_hashes().collect::<Vec<_>>(),
        vec!["h6", "h5", "h4", "h3", "h2"]
    );
}

#[test]
fn changing_the_password_ends_every_session() {
    let mut user = User::default();
    user.apply(registered());
    user.apply(logged_in());
    user.apply(UserEvent::PasswordChanged {
        password_hash: "h2".into(),
    });
    assert!(user.families.values().all(|f| f.revoked));
}

#[test]
fn only_password_hashes_are_sealed_and_every_string_field_is_classified() {
    assert_eq!(
        crate::personal_fields("user", "UserRegistered"),
        Some(&["/UserRegistered/password_hash"][..])
    );
    assert_eq!(
        crate::personal_fields("user", "LoginSucceeded"),
        Some(&[][..])
    );
    let at = chrono::Utc::now();
    let mut full = profile(Role::RelationshipManager, Some("mum-01"));
    full.manager_id = Some(Uuid::from_u128(7));
    let events = vec![
        UserEvent::UserRegistered {
            user_id: Uuid::from_u128(1),
            profile: full,
            password_hash: "h0".into(),
            must_change_password: true,
        },
        UserEvent::UserUpdated {
            name: Some(PersonName::parse("Meera I").unwrap()),
            role: Some(Role::BranchManager),
            branch: Some(Some(Branch::parse("del-02").unwrap())),
            manager_id: Some(Some(Uuid::from_u128(7))),
        },
        UserEvent::UserDeactivated {},
        UserEvent::UserReactivated {},
        UserEvent::PasswordReset {
            password_hash: "h1".into(),
        },
        UserEvent::PasswordChanged {
            password_hash: "h2".into(),
        },
        UserEvent::LoginSucceeded {
            family_id: family(),
            refresh_hash: "r".into(),
            refresh_expires_at: at,
            at,
        },
        UserEvent::LoginFailed {
            at,
            locked_until: Some(at),
            address: Some("198.51.100.4".into()),
            everywhere: false,
        },
        UserEvent::LockoutLifted {},
        UserEvent::RefreshTokenRotated {
            family_id: family(),
            refresh_hash: "r2".into(),
            refresh_expires_at: at,
        },
        UserEvent::RefreshTokenReused {
            family_id: family(),
        },
        UserEvent::LoggedOut {
            family_id: family(),
        },
    ];
    let samples: Vec<(&str, UserEvent)> = events.into_iter().map(|e| (e.name(), e)).collect();
    assert_eq!(
        crate::personal::unclassified(personal::EVENTS, &samples),
        Vec::<String>::new()
    );
}

#[test]
fn a_refresh_token_is_traded_once() {
    at(now())
        .given(vec![registered(), logged_in()])
        .when(refresh("r1", "r2"))
        .then_expect_events(vec![UserEvent::RefreshTokenRotated {
            family_id: family(),
            refresh_hash: "r2".into(),
            refresh_expires_at: now() + Duration::hours(12),
        }]);
}

#[test]
fn presenting_a_traded_refresh_token_revokes_the_family() {
    let rotated = UserEvent::RefreshTokenRotated {
        family_id: family(),
        refresh_hash: "r2".into(),
        refresh_expires_at: now() + Duration::hours(12),
    };
    at(now())
        .given(vec![registered(), logged_in(), rotated.clone()])
        .when(refresh("r1", "r3"))
        .then_expect_events(vec![UserEvent::RefreshTokenReused {
            family_id: family(),
        }]);
    // After that even the newest token of the family is refused.
    at(now())
        .given(vec![
            registered(),
            logged_in(),
            rotated,
            UserEvent::RefreshTokenReused {
                family_id: family(),
            },
        ])
        .when(refresh("r2", "r4"))
        .then_expect_error(UserError::InvalidRefresh);
}

#[test]
fn an_unknown_or_expired_refresh_token_is_refused() {
    at(now())
        .given(vec![registered(), logged_in()])
        .when(refresh("forged", "r2"))
        .then_expect_error(UserError::InvalidRefresh);
    at(now() + Duration::hours(13))
        .given(vec![registered(), logged_in()])
        .when(refresh("r1", "r2"))
        .then_expect_error(UserError::InvalidRefresh);
}

#[test]
fn logout_revokes_the_family_and_a_second_logout_changes_nothing() {
    at(now())
        .given(vec![registered(), logged_in()])
        .when(UserCommand::Logout {
            family_id: family(),
        })
        .then_expect_events(vec![UserEvent::LoggedOut {
            family_id: family(),
        }]);
    at(now())
        .given(vec![
            registered(),
            logged_in(),
            UserEvent::LoggedOut {
                family_id: family(),
            },
        ])
        .when(UserCommand::Logout {
            family_id: family(),
        })
        .then_expect_events(vec![]);
}

#[test]
fn role_changes_and_password_resets_invalidate_access_tokens() {
    let mut user = User::default();
    user.apply(registered());
    let v1 = user.token_version;
    user.apply(logged_in());
    assert_eq!(user.token_version, v1, "a login keeps existing tokens");
    user.apply(UserEvent::UserUpdated {
        name: None,
        role: Some(Role::Auditor),
        branch: None,
        manager_id: None,
    });
    assert_eq!(user.token_version, v1 + 1);
    user.apply(UserEvent::PasswordReset {
        password_hash: "h1".into(),
    });
    assert_eq!(user.token_version, v1 + 2);
    assert!(user.must_change_password);
    assert!(user.families.values().all(|f| f.revoked));
}
