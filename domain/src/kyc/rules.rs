//! What a KYC case needs and how risky a client is: the rules a broker configures.

use std::collections::BTreeMap;

use chrono::{Months, NaiveDate};
use serde::{Deserialize, Serialize};

use crate::client::DocumentKind;
use crate::values::Pan;

snake_enum!(
    /// Who the client is in law; it sets the items a case needs and the PAN's holder letter.
    ClientType {
        Individual => "individual",
        Huf => "huf",
        Company => "company",
        Partnership => "partnership",
        Trust => "trust"
    }
);

impl ClientType {
    /// The fourth letter of a PAN held by this kind of client.
    pub fn pan_holder(self) -> char {
        match self {
            ClientType::Individual => 'P',
            ClientType::Huf => 'H',
            ClientType::Company => 'C',
            ClientType::Partnership => 'F',
            ClientType::Trust => 'T',
        }
    }

    /// The kind of client a PAN's holder letter names, if KYC takes such clients.
    pub fn of_pan(pan: &Pan) -> Option<Self> {
        Self::ALL
            .iter()
            .copied()
            .find(|t| t.pan_holder() == pan.holder())
    }

    /// Whether `pan` can belong to this kind of client.
    pub fn fits(self, pan: &Pan) -> bool {
        pan.holder() == self.pan_holder()
    }
}

snake_enum!(
    /// What a case must hold before it can be submitted.
    KycItem {
        PanCard => "pan_card",
        AddressProof => "address_proof",
        Photograph => "photograph",
        Signature => "signature",
        BankProof => "bank_proof",
        IncomeProof => "income_proof",
        InPersonVerification => "in_person_verification"
    }
);

snake_enum!(
    /// A KYC document as the case records it.
    KycDocumentType {
        PanCard => "pan_card",
        Aadhaar => "aadhaar",
        Passport => "passport",
        VoterId => "voter_id",
        DrivingLicence => "driving_licence",
        Photograph => "photograph",
        Signature => "signature",
        BankProof => "bank_proof",
        IncomeProof => "income_proof",
        VerificationRecord => "verification_record"
    }
);

impl KycDocumentType {
    /// The item it provides.
    pub fn item(self) -> KycItem {
        use KycDocumentType::*;
        match self {
            PanCard => KycItem::PanCard,
            Aadhaar | Passport | VoterId | DrivingLicence => KycItem::AddressProof,
            Photograph => KycItem::Photograph,
            Signature => KycItem::Signature,
            BankProof => KycItem::BankProof,
            IncomeProof => KycItem::IncomeProof,
            VerificationRecord => KycItem::InPersonVerification,
        }
    }

    /// Whether the document carries a number the case must record (the IFSC for a bank proof).
    pub fn has_number(self) -> bool {
        use KycDocumentType::*;
        matches!(
            self,
            PanCard | Aadhaar | Passport | VoterId | DrivingLicence | BankProof
        )
    }

    /// Whether the document has an expiry date (passports and driving licences do).
    pub fn expires(self) -> bool {
        matches!(
            self,
            KycDocumentType::Passport | KycDocumentType::DrivingLicence
        )
    }

    /// The kind the client's document store files it under.
    pub fn document_kind(self) -> DocumentKind {
        use KycDocumentType::*;
        match self {
            PanCard => DocumentKind::PanCard,
            Aadhaar => DocumentKind::AadhaarMasked,
            Passport => DocumentKind::Passport,
            VoterId => DocumentKind::VoterId,
            DrivingLicence => DocumentKind::DrivingLicence,
            Photograph => DocumentKind::Photograph,
            Signature => DocumentKind::Signature,
            BankProof => DocumentKind::BankProof,
            IncomeProof => DocumentKind::IncomeProof,
            VerificationRecord => DocumentKind::VerificationRecord,
        }
    }
}

/// The items each kind of client must provide (income proof is added for derivatives
/// segments).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequiredItems(BTreeMap<ClientType, Vec<KycItem>>);

impl Default for RequiredItems {
    fn default() -> Self {
        use KycItem::*;
        let person = vec![
            PanCard,
            AddressProof,
            Photograph,
            Signature,
            BankProof,
            InPersonVerification,
        ];
        // Entities: the entity's PAN, address and bank, and its signatories' signatures.
        let entity = vec![
            PanCard,
            AddressProof,
            Signature,
            BankProof,
            InPersonVerification,
        ];
        Self(BTreeMap::from([
            (ClientType::Individual, person.clone()),
            (ClientType::Huf, person),
            (ClientType::Company, entity.clone()),
            (ClientType::Partnership, entity.clone()),
            (ClientType::Trust, entity),
        ]))
    }
}

impl RequiredItems {
    pub fn new(items: BTreeMap<ClientType, Vec<KycItem>>) -> Self {
        Self(items)
    }

    /// The defaults with the kinds of client named in `spec` replaced:
    /// `company=pan_card+address_proof+bank_proof;trust=pan_card+bank_proof`.
    pub fn with_overrides(spec: &str) -> Result<Self, String> {
        let mut rules = Self::default();
        for part in spec.split(';').map(str::trim).filter(|p| !p.is_empty()) {
            let (kind, items) = part
                .split_once('=')
                .ok_or_else(|| format!("{part:?}: expected client_type=item+item"))?;
            let kind = ClientType::parse(kind.trim())
                .ok_or_else(|| format!("{kind:?} is not a client type"))?;
            let items = items
                .split('+')
                .map(|i| KycItem::parse(i.trim()).ok_or_else(|| format!("{i:?} is not a KYC item")))
                .collect::<Result<Vec<_>, _>>()?;
            rules.0.insert(kind, items);
        }
        Ok(rules)
    }

    /// What a case of `client_type` needs; `derivatives` adds the income proof.
    pub fn for_case(&self, client_type: ClientType, derivatives: bool) -> Vec<KycItem> {
        let mut items = self.0.get(&client_type).cloned().unwrap_or_default();
        if derivatives && !items.contains(&KycItem::IncomeProof) {
            items.push(KycItem::IncomeProof);
        }
        items
    }
}

snake_enum!(
    /// The client's money-laundering risk; it sets how often KYC is renewed.
    RiskCategory { Low => "low", Medium => "medium", High => "high" }
);

snake_enum!(
    /// Annual income as KYC forms ask it.
    IncomeRange {
        Below1Lakh => "below_1_lakh",
        From1To5Lakh => "1_to_5_lakh",
        From5To10Lakh => "5_to_10_lakh",
        From10To25Lakh => "10_to_25_lakh",
        Above25Lakh => "above_25_lakh"
    }
);

snake_enum!(
    /// Occupation as KYC forms ask it.
    Occupation {
        Salaried => "salaried",
        SelfEmployed => "self_employed",
        Business => "business",
        Professional => "professional",
        Retired => "retired",
        Student => "student",
        Homemaker => "homemaker",
        Agriculturist => "agriculturist",
        PreciousMetalsDealer => "precious_metals_dealer",
        MoneyServices => "money_services",
        RealEstate => "real_estate",
        Other => "other"
    }
);

/// Country codes (ISO 3166-1 alpha-2) on the FATF call for action; clients resident there are
/// high risk.
const HIGH_RISK_COUNTRIES: &[&str] = &["KP", "IR", "MM"];

/// What the risk category is decided from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RiskProfile {
    /// A politically exposed person (or a relative or close associate of one).
    pub pep: bool,
    pub income_range: IncomeRange,
    pub occupation: Occupation,
    /// Country of residence, ISO 3166-1 alpha-2 (`IN`).
    pub country: String,
    /// Whether the client trades derivatives.
    pub derivatives: bool,
}

impl RiskProfile {
    /// High: a PEP, or resident in a FATF call-for-action country. Medium: resident abroad, a
    /// cash-intensive occupation (precious metals, money services, real estate), or derivatives
    /// with an income under 5 lakh. Low otherwise.
    pub fn category(&self) -> RiskCategory {
        if self.pep || HIGH_RISK_COUNTRIES.contains(&self.country.as_str()) {
            return RiskCategory::High;
        }
        let cash_intensive = matches!(
            self.occupation,
            Occupation::PreciousMetalsDealer | Occupation::MoneyServices | Occupation::RealEstate
        );
        let thin_income = matches!(
            self.income_range,
            IncomeRange::Below1Lakh | IncomeRange::From1To5Lakh
        );
        if self.country != "IN" || cash_intensive || (self.derivatives && thin_income) {
            RiskCategory::Medium
        } else {
            RiskCategory::Low
        }
    }
}

/// How often KYC is renewed, by risk category (years).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RekycIntervals {
    pub high: u32,
    pub medium: u32,
    pub low: u32,
}

impl Default for RekycIntervals {
    fn default() -> Self {
        Self {
            high: 2,
            medium: 8,
            low: 10,
        }
    }
}

impl RekycIntervals {
    /// `high,medium,low` in years (`2,8,10`), each 1 to 10.
    pub fn parse(spec: &str) -> Result<Self, String> {
        let years: Vec<u32> = spec
            .split(',')
            .map(|y| {
                y.trim()
                    .parse::<u32>()
                    .map_err(|_| format!("{y:?} is not a number of years"))
            })
            .collect::<Result<_, _>>()?;
        match years[..] {
            [high, medium, low] if [high, medium, low].iter().all(|y| (1..=10).contains(y)) => {
                Ok(Self { high, medium, low })
            }
            _ => Err(
                "expected three numbers of years, 1 to 10, for high, medium and low risk".into(),
            ),
        }
    }

    /// When KYC verified on `verified_on` is due again.
    pub fn next(&self, category: RiskCategory, verified_on: NaiveDate) -> NaiveDate {
        let years = match category {
            RiskCategory::High => self.high,
            RiskCategory::Medium => self.medium,
            RiskCategory::Low => self.low,
        };
        verified_on
            .checked_add_months(Months::new(years * 12))
            .unwrap_or(NaiveDate::MAX)
    }
}

/// The configurable rules of KYC.
#[derive(Debug, Clone, Default)]
pub struct KycRules {
    pub required: RequiredItems,
    pub intervals: RekycIntervals,
}

snake_enum!(
    /// Where the client stands at the KYC Registration Agency.
    KraStatus {
        NotChecked => "not_checked",
        Submitted => "submitted",
        Registered => "registered",
        Validated => "validated",
        OnHold => "on_hold",
        Rejected => "rejected"
    }
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules_are_configured_by_text() {
        let rules = RequiredItems::with_overrides("company = pan_card+bank_proof ; trust=pan_card")
            .unwrap();
        assert_eq!(
            rules.for_case(ClientType::Company, false),
            vec![KycItem::PanCard, KycItem::BankProof]
        );
        assert_eq!(
            rules.for_case(ClientType::Trust, false),
            vec![KycItem::PanCard]
        );
        assert_eq!(
            rules.for_case(ClientType::Individual, false),
            RequiredItems::default().for_case(ClientType::Individual, false)
        );
        assert!(RequiredItems::with_overrides("company").is_err());
        assert!(RequiredItems::with_overrides("bank=pan_card").is_err());
        assert!(RequiredItems::with_overrides("company=selfie").is_err());
        assert_eq!(
            RekycIntervals::parse("1, 5, 9").unwrap(),
            RekycIntervals {
                high: 1,
                medium: 5,
                low: 9
            }
        );
        assert!(RekycIntervals::parse("2,8").is_err());
        assert!(RekycIntervals::parse("2,8,40").is_err());
        assert!(RekycIntervals::parse("two,8,10").is_err());
    }
}
