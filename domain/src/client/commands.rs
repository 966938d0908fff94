//! What may be asked of a client.

use chrono::NaiveDate;
use uuid::Uuid;

use super::{
    Address, BankAccount, ClientDetails, ClientProfile, ClientProfileChange, ContactChannel,
    ContactTime, DematAccount, Document, Guardian, IncomeRange, LabelledEmail, LabelledPhone,
    NetWorthBand, Nominee, Occupation,
};
use crate::privacy::PrivacyCommand;
use crate::user::Branch;
use crate::values::Text;

/// What may be asked of a client. Values are already validated; the aggregate checks the rules
/// that depend on the client's state, the clock and the retention policy.
#[derive(Debug, Clone, PartialEq)]
pub enum ClientCommand {
    Onboard {
        client_id: Uuid,
        /// The converted lead this client came from, if any.
        lead_id: Option<Uuid>,
        profile: ClientProfile,
        branch: Branch,
        relationship_manager: Option<Uuid>,
        /// What else the client declared (contacts, addresses, nominees, accounts, guardian).
        details: ClientDetails,
    },
    UpdateProfile(ClientProfileChange),
    /// A change of the profile and of whole parts of the details (`None` parts stay).
    UpdateDetails {
        profile: ClientProfileChange,
        details: DetailsEdit,
    },
    /// The scheduled segment review: the client's assets under management now (INR).
    ReviewSegment {
        aum: rust_decimal::Decimal,
    },
    AssignRelationshipManager {
        manager_id: Uuid,
    },
    /// The relationship ends (account closed): the retention periods start counting.
    CloseRelationship {
        reason: Text,
    },
    /// The account is suspended (from active or inactive), with why.
    Suspend {
        reason: Text,
    },
    /// A dormant or suspended account is active again; a closed one is reopened (within its
    /// retention period, and a reason is required).
    Reactivate {
        reason: Option<Text>,
    },
    /// The scheduled dormancy step: no interaction or trade since `last_activity_on`. Marks an
    /// active account inactive; any other account is left as it is.
    MarkDormant {
        last_activity_on: NaiveDate,
    },
    AddDocument(Document),
    /// Lets go of the documents whose retention period has ended.
    PurgeExpiredDocuments,
    /// Record that the subject's key is destroyed now; refused while anything blocks it.
    Erase,
    /// Erasure requests, holds, consents and exports: the data-subject component decides.
    Privacy(PrivacyCommand),
    /// Interactions and follow-ups: the work-log component decides.
    Work(crate::worklog::WorkCommand),
}

/// Whole parts of a client's details to replace; `None` leaves a part as it is.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DetailsEdit {
    pub contacts: Option<(Vec<LabelledEmail>, Vec<LabelledPhone>)>,
    pub preferences: Option<(Option<ContactChannel>, Option<ContactTime>)>,
    pub addresses: Option<Vec<Address>>,
    pub finances: Option<(
        Option<Occupation>,
        Option<IncomeRange>,
        Option<NetWorthBand>,
    )>,
    pub nominees: Option<Vec<Nominee>>,
    pub bank_accounts: Option<Vec<BankAccount>>,
    pub demat_accounts: Option<Vec<DematAccount>>,
    pub guardian: Option<Option<Guardian>>,
}

impl DetailsEdit {
    /// Every part, from whole details (a `PUT` of the client).
    pub fn whole(d: ClientDetails) -> Self {
        Self {
            contacts: Some((d.emails, d.phones)),
            preferences: Some((d.preferred_channel, d.preferred_time)),
            addresses: Some(d.addresses),
            finances: Some((d.occupation, d.annual_income, d.net_worth)),
            nominees: Some(d.nominees),
            bank_accounts: Some(d.bank_accounts),
            demat_accounts: Some(d.demat_accounts),
            guardian: Some(d.guardian),
        }
    }

    /// `current` with the parts this edit names replaced.
    pub fn applied_to(&self, current: &ClientDetails) -> ClientDetails {
        let mut d = current.clone();
        if let Some((emails, phones)) = &self.contacts {
            d.emails = emails.clone();
            d.phones = phones.clone();
        }
        if let Some((channel, time)) = self.preferences {
            d.preferred_channel = channel;
            d.preferred_time = time;
        }
        if let Some(a) = &self.addresses {
            d.addresses = a.clone();
        }
        if let Some((occupation, income, worth)) = self.finances {
            d.occupation = occupation;
            d.annual_income = income;
            d.net_worth = worth;
        }
        if let Some(n) = &self.nominees {
            d.nominees = n.clone();
        }
        if let Some(b) = &self.bank_accounts {
            d.bank_accounts = b.clone();
        }
        if let Some(m) = &self.demat_accounts {
            d.demat_accounts = m.clone();
        }
        if let Some(g) = &self.guardian {
            d.guardian = g.clone();
        }
        d
    }
}
