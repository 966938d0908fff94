//! Given events, when a command, then events or an error.

use chrono::NaiveDate;
use cqrs_es::test::TestFramework;

use super::*;

type Given = TestFramework<ReportPack>;

fn month(raw: &str) -> PackMonth {
    PackMonth::parse(raw, NaiveDate::from_ymd_opt(2026, 12, 2).unwrap()).unwrap()
}

fn files() -> Vec<PackFile> {
    vec![PackFile {
        name: "compliance-2026-11.pdf".into(),
        bytes: 2048,
        sha256: "ab".repeat(32),
    }]
}

fn generated(m: &str) -> ReportPackEvent {
    ReportPackEvent::CompliancePackGenerated {
        month: month(m),
        files: files(),
        position: 42,
    }
}

#[test]
fn each_generation_is_recorded_on_its_months_stream() {
    Given::with(())
        .given_no_previous_events()
        .when(ReportPackCommand::RecordGenerated {
            month: month("2026-11"),
            files: files(),
            position: 42,
        })
        .then_expect_events(vec![generated("2026-11")]);
    Given::with(())
        .given(vec![generated("2026-11")])
        .when(ReportPackCommand::RecordGenerated {
            month: month("2026-11"),
            files: files(),
            position: 42,
        })
        .then_expect_events(vec![generated("2026-11")]);
}

#[test]
fn a_stream_takes_one_month_and_a_pack_has_files() {
    Given::with(())
        .given(vec![generated("2026-11")])
        .when(ReportPackCommand::RecordGenerated {
            month: month("2026-10"),
            files: files(),
            position: 42,
        })
        .then_expect_error(ReportPackError::OtherMonth);
    Given::with(())
        .given_no_previous_events()
        .when(ReportPackCommand::RecordGenerated {
            month: month("2026-11"),
            files: vec![],
            position: 42,
        })
        .then_expect_error(ReportPackError::NoFiles);
}

#[test]
fn a_month_is_yyyy_mm_and_has_begun() {
    let today = NaiveDate::from_ymd_opt(2026, 12, 2).unwrap();
    let m = PackMonth::parse(" 2026-02 ", today).unwrap();
    assert_eq!(m.to_string(), "2026-02");
    assert_eq!(m.first_day(), NaiveDate::from_ymd_opt(2026, 2, 1).unwrap());
    assert_eq!(m.last_day(), NaiveDate::from_ymd_opt(2026, 2, 28).unwrap());
    assert_eq!(
        month("2026-12").last_day(),
        NaiveDate::from_ymd_opt(2026, 12, 31).unwrap()
    );
    assert!(PackMonth::parse("2026-12", today).is_ok());
    for bad in [
        "2027-01", "2026-13", "2026-1", "26-11", "november", "1999-12",
    ] {
        assert!(PackMonth::parse(bad, today).is_err(), "{bad}");
    }
    assert_eq!(month("2026-11").stream_id(), month("2026-11").stream_id());
    assert_ne!(month("2026-11").stream_id(), month("2026-10").stream_id());
}
