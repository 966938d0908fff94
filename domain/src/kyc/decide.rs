//! How the KYC aggregate decides: each command checked against the case in hand and the last
//! verification, answered with the events it appends or why it is refused.

use chrono::{Duration, NaiveDate};
use uuid::Uuid;

use super::*;

impl Kyc {
    /// The events `command` would append, or why it is refused (callers that must do work
    /// first, such as storing a file, ask this before).
    pub fn decide(
        &self,
        command: KycCommand,
        services: &KycServices,
    ) -> Result<Vec<KycEvent>, KycError> {
        let today = india_today(services.clock.now());
        match command {
            KycCommand::AttachDocument {
                new_case_id,
                client_id,
                client_type,
                document,
            } => self.attach((new_case_id, client_id), client_type, document, today),
            KycCommand::Submit { by, profile } => {
                let case = self.case.as_ref().ok_or(KycError::NoCase)?;
                if !matches!(
                    case.status,
                    KycStatus::Pending | KycStatus::RevisionRequested
                ) {
                    return Err(Self::not_allowed(case.status));
                }
                let items = case.missing(&services.rules.required, self.derivatives);
                let mut attributes = Vec::new();
                for (present, name) in [
                    (profile.name, "name"),
                    (profile.pan, "pan"),
                    (profile.address, "address"),
                    (profile.mobile, "mobile"),
                    (profile.email, "email"),
                    (self.risk.is_some(), "income_range"),
                ] {
                    if !present {
                        attributes.push(name);
                    }
                }
                if !items.is_empty() || !attributes.is_empty() {
                    return Err(KycError::Incomplete { items, attributes });
                }
                Ok(vec![KycEvent::KycSubmitted {
                    case_id: case.case_id,
                    submitted_by: by,
                }])
            }
            KycCommand::StartReview { by, role } => {
                let case = self.case.as_ref().ok_or(KycError::NoCase)?;
                if case.status != KycStatus::Submitted {
                    return Err(Self::not_allowed(case.status));
                }
                Self::checker(case, by, role)?;
                Ok(vec![KycEvent::KycReviewStarted {
                    case_id: case.case_id,
                    reviewer: by,
                }])
            }
            KycCommand::Decide {
                by,
                role,
                decision,
                reasons,
                documents,
            } => self.review(by, role, decision, reasons, documents, services, today),
            KycCommand::Categorise { profile, by } => {
                let case = self.case.as_ref().ok_or(KycError::NoCase)?;
                // What a checker decides on does not change under them.
                if matches!(case.status, KycStatus::Submitted | KycStatus::UnderReview) {
                    return Err(Self::not_allowed(case.status));
                }
                Ok(vec![KycEvent::KycRiskCategorised {
                    category: profile.category(),
                    factors: RiskFactors::from(&profile),
                    by,
                }])
            }
            KycCommand::RecordRegistries {
                kra_status,
                ckyc_number,
                by,
            } => {
                self.case.as_ref().ok_or(KycError::NoCase)?;
                let kra = kra_status.map(|status| KycEvent::KraStatusRecorded { status, by });
                let ckyc = ckyc_number.map(|number| KycEvent::CkycNumberRecorded { number, by });
                Ok(kra.into_iter().chain(ckyc).collect())
            }
            KycCommand::RaiseAlerts { today, within_days } => {
                Ok(self.alerts_due(today, within_days))
            }
            KycCommand::CheckDue { today } => {
                let case = self.case.as_ref().ok_or(KycError::NoCase)?;
                let Some(verified_case) = self.verified_case else {
                    return Err(Self::not_allowed(case.status));
                };
                if self.rekyc_due {
                    return Err(KycError::NotDue);
                }
                if self.next_rekyc_on.is_some_and(|due| due <= today) {
                    return Ok(vec![KycEvent::RekycDue {
                        case_id: verified_case,
                        reason: RekycReason::Periodic,
                        document_id: None,
                    }]);
                }
                match self.verified_expiries.iter().find(|(_, e)| *e < today) {
                    Some((document_id, _)) => Ok(vec![KycEvent::RekycDue {
                        case_id: verified_case,
                        reason: RekycReason::DocumentExpired,
                        document_id: Some(*document_id),
                    }]),
                    None => Err(KycError::NotDue),
                }
            }
        }
    }

    /// The alerts the last verification owes for `within_days` ahead and has not raised yet
    /// (whatever case is in hand; none once re-KYC is due).
    fn alerts_due(&self, today: NaiveDate, within_days: u32) -> Vec<KycEvent> {
        let Some(case_id) = self.verified_case.filter(|_| !self.rekyc_due) else {
            return Vec::new();
        };
        let horizon = today + Duration::days(i64::from(within_days));
        let soon = |d: NaiveDate| d >= today && d <= horizon;
        let mut alerts: Vec<KycAlert> = self
            .verified_expiries
            .iter()
            .filter(|(_, e)| soon(*e))
            .map(|(document_id, due_on)| KycAlert {
                kind: AlertKind::DocumentExpiring,
                case_id,
                document_id: Some(*document_id),
                due_on: *due_on,
                within_days,
            })
            .collect();
        if let Some(due_on) = self.next_rekyc_on.filter(|d| soon(*d)) {
            alerts.push(KycAlert {
                kind: AlertKind::RekycDueSoon,
                case_id,
                document_id: None,
                due_on,
                within_days,
            });
        }
        alerts
            .into_iter()
            .filter(|a| !self.alerts.contains(&a.key()))
            .map(|alert| KycEvent::KycAlertRaised { alert })
            .collect()
    }

    fn attach(
        &self,
        (new_case_id, client_id): (Uuid, Uuid),
        client_type: ClientType,
        document: KycDocument,
        today: NaiveDate,
    ) -> Result<Vec<KycEvent>, KycError> {
        if let (Some(issued), Some(expires)) = (document.issue_date, document.expiry_date) {
            if expires <= issued {
                return Err(KycError::Invalid {
                    field: "expiry_date",
                    message: "a document expires after it was issued",
                });
            }
        }
        if document.issue_date.is_some_and(|d| d > today) {
            return Err(KycError::Invalid {
                field: "issue_date",
                message: "a document's issue date cannot be in the future",
            });
        }
        if document.expiry_date.is_some_and(|d| d < today) {
            return Err(KycError::Invalid {
                field: "expiry_date",
                message: "the document has expired; an expired document cannot be filed",
            });
        }
        if document.document_type.expires() && document.expiry_date.is_none() {
            return Err(KycError::Invalid {
                field: "expiry_date",
                message: "passports and driving licences are filed with their expiry date",
            });
        }
        let mut events = Vec::new();
        let case_id = match self.case.as_ref() {
            Some(case) if case.status.is_open() => {
                if !matches!(
                    case.status,
                    KycStatus::Pending | KycStatus::RevisionRequested
                ) {
                    return Err(Self::not_allowed(case.status));
                }
                if case.client_type != client_type {
                    return Err(KycError::ClientTypeChanged(case.client_type));
                }
                if case.document(document.document_id).is_some() {
                    return Err(KycError::DuplicateDocument);
                }
                case.case_id
            }
            _ => {
                let case_id = new_case_id;
                events.push(KycEvent::KycCaseOpened {
                    case_id,
                    client_id,
                    client_type,
                    derivatives: self.derivatives,
                    opened_by: document.uploaded_by,
                });
                case_id
            }
        };
        events.push(KycEvent::KycDocumentAttached { case_id, document });
        Ok(events)
    }

    /// Only a compliance officer or an admin who made nothing in the case may check it.
    fn checker(case: &Case, by: Uuid, role: Role) -> Result<(), KycError> {
        if !matches!(role, Role::ComplianceOfficer | Role::Admin) {
            return Err(KycError::NotAChecker);
        }
        if case.makers.contains(&by) {
            return Err(KycError::MakerChecker);
        }
        Ok(())
    }

    #[allow(clippy::too_many_arguments)]
    fn review(
        &self,
        by: Uuid,
        role: Role,
        decision: Decision,
        reasons: Vec<crate::values::Text>,
        findings: Vec<DocumentFinding>,
        services: &KycServices,
        today: NaiveDate,
    ) -> Result<Vec<KycEvent>, KycError> {
        let case = self.case.as_ref().ok_or(KycError::NoCase)?;
        if !matches!(case.status, KycStatus::Submitted | KycStatus::UnderReview) {
            return Err(Self::not_allowed(case.status));
        }
        Self::checker(case, by, role)?;
        for f in &findings {
            if case.document(f.document_id).is_none() {
                return Err(KycError::UnknownDocument(f.document_id));
            }
            if f.verdict == DocumentVerdict::Rejected && f.reason.is_none() {
                return Err(KycError::Invalid {
                    field: "documents",
                    message: "a rejected document needs its reason",
                });
            }
        }
        let any_rejected = findings
            .iter()
            .any(|f| f.verdict == DocumentVerdict::Rejected);
        match decision {
            Decision::Approve if any_rejected => {
                return Err(KycError::Invalid {
                    field: "documents",
                    message: "an approval cannot reject a document: request a revision instead",
                })
            }
            Decision::Approve if self.risk.is_none() => return Err(KycError::RiskNotSet),
            Decision::Approve
                if !case
                    .missing(&services.rules.required, self.derivatives)
                    .is_empty() =>
            {
                return Err(KycError::Incomplete {
                    items: case.missing(&services.rules.required, self.derivatives),
                    attributes: Vec::new(),
                })
            }
            Decision::Reject | Decision::RequestRevision if reasons.is_empty() && !any_rejected => {
                return Err(KycError::Invalid {
                    field: "reasons",
                    message: "a rejection or a revision request gives its reasons",
                })
            }
            _ => {}
        }
        // Every document of the case that still counts (one rejected in an earlier round stays
        // rejected), with the hash of the file the reviewer saw.
        let documents = case
            .documents
            .iter()
            .filter(|d| !d.rejected)
            .map(|d| {
                let finding = findings
                    .iter()
                    .find(|f| f.document_id == d.document.document_id);
                DocumentReview {
                    document_id: d.document.document_id,
                    verdict: finding.map_or(DocumentVerdict::Accepted, |f| f.verdict),
                    reason: finding.and_then(|f| f.reason.clone()),
                    sha256: d.document.sha256.clone(),
                }
            })
            .collect();
        let review = Review {
            case_id: case.case_id,
            reviewer: by,
            reasons,
            documents,
        };
        let mut events = Vec::new();
        if case.status == KycStatus::Submitted {
            events.push(KycEvent::KycReviewStarted {
                case_id: case.case_id,
                reviewer: by,
            });
        }
        events.push(match decision {
            Decision::Approve => {
                let category = self.risk.expect("checked above");
                KycEvent::KycVerified {
                    review,
                    next_rekyc_on: services.rules.intervals.next(category, today),
                }
            }
            Decision::Reject => KycEvent::KycRejected { review },
            Decision::RequestRevision => KycEvent::KycRevisionRequested { review },
        });
        Ok(events)
    }
}
