//! Why a KYC command is refused.

use super::rules::KycItem;
use super::KycStatus;

/// Why the KYC aggregate refused a command. Each maps to one HTTP status at the edge.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KycError {
    #[error("the client has no KYC case")]
    NoCase,
    #[error("the case is {status}: it can {}", allowed_text(.allowed))]
    NotAllowed {
        status: KycStatus,
        allowed: Vec<&'static str>,
    },
    #[error("the case cannot be submitted: {}", missing_text(.items, .attributes))]
    Incomplete {
        items: Vec<KycItem>,
        attributes: Vec<&'static str>,
    },
    #[error("decisions on KYC cases are taken by a compliance officer or an admin")]
    NotAChecker,
    #[error("whoever submitted the case or uploaded one of its documents cannot decide it (maker-checker)")]
    MakerChecker,
    #[error("the case holds no document {0}")]
    UnknownDocument(uuid::Uuid),
    /// A value the case cannot take (the field, and why).
    #[error("{field}: {message}")]
    Invalid {
        field: &'static str,
        message: &'static str,
    },
    #[error("a document with this id is already in the case")]
    DuplicateDocument,
    #[error("the client's risk category must be set before the case is approved")]
    RiskNotSet,
    #[error("the client's KYC is not due")]
    NotDue,
    #[error("this case is for a {0} client; the client's type cannot change within a case")]
    ClientTypeChanged(super::rules::ClientType),
}

fn allowed_text(allowed: &[&str]) -> String {
    if allowed.is_empty() {
        "take no more steps".into()
    } else {
        format!("only {}", allowed.join(", "))
    }
}

fn missing_text(items: &[KycItem], attributes: &[&str]) -> String {
    let mut parts = Vec::new();
    if !items.is_empty() {
        // An item filed under other names says which (address_proof: an Aadhaar, a passport…).
        let names: Vec<String> = items
            .iter()
            .map(|i| {
                let as_types: Vec<&str> = super::rules::KycDocumentType::ALL
                    .iter()
                    .filter(|t| t.item() == *i && t.as_str() != i.as_str())
                    .map(|t| t.as_str())
                    .collect();
                match as_types.as_slice() {
                    [] => i.as_str().to_string(),
                    types => format!("{} (upload as {})", i.as_str(), types.join(" or ")),
                }
            })
            .collect();
        parts.push(format!("missing documents: {}", names.join(", ")));
    }
    if !attributes.is_empty() {
        parts.push(format!("missing attributes: {}", attributes.join(", ")));
    }
    parts.join("; ")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What is missing is named as it is uploaded.
    #[test]
    fn a_missing_item_filed_under_other_types_names_them() {
        let e = KycError::Incomplete {
            items: vec![
                KycItem::AddressProof,
                KycItem::Photograph,
                KycItem::InPersonVerification,
            ],
            attributes: vec!["risk"],
        };
        assert_eq!(
            e.to_string(),
            "the case cannot be submitted: missing documents: address_proof (upload as \
             aadhaar or passport or voter_id or driving_licence), photograph, \
             in_person_verification (upload as verification_record); missing attributes: risk"
        );
    }
}
