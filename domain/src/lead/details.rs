//! A lead's contact details, and the changes made to them.

use serde::{Deserialize, Serialize};

use super::*;
use crate::input::{Change, Checked, Invalid};
use crate::values::InvalidValue;

/// The contact details of a lead as captured or last updated.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LeadDetails {
    pub name: PersonName,
    pub email: Option<Email>,
    pub phone: Option<Phone>,
    pub source: LeadSource,
    /// Campaign name, referrer or partner, depending on the source.
    pub source_detail: Option<Text>,
    pub product_interest: Vec<String>,
    pub preferred_contact_method: Option<ContactMethod>,
    pub preferred_contact_time: Option<Text>,
    pub notes: Option<Text>,
    /// How much the prospect said they mean to invest.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub investment_capacity: Option<InvestmentCapacity>,
}

impl LeadDetails {
    /// The change that turns `self` into `wanted`, naming only the fields that differ.
    pub fn diff(&self, wanted: &LeadDetailsPatch) -> LeadDetailsChange {
        fn changed<T: PartialEq + Clone>(old: &T, new: &Option<T>) -> Option<T> {
            new.as_ref().filter(|n| *n != old).cloned()
        }
        LeadDetailsChange {
            name: changed(&self.name, &wanted.name),
            email: changed(&self.email, &wanted.email),
            phone: changed(&self.phone, &wanted.phone),
            source: changed(&self.source, &wanted.source),
            source_detail: changed(&self.source_detail, &wanted.source_detail),
            product_interest: changed(&self.product_interest, &wanted.product_interest),
            preferred_contact_method: changed(
                &self.preferred_contact_method,
                &wanted.preferred_contact_method,
            ),
            preferred_contact_time: changed(
                &self.preferred_contact_time,
                &wanted.preferred_contact_time,
            ),
            notes: changed(&self.notes, &wanted.notes),
            investment_capacity: changed(&self.investment_capacity, &wanted.investment_capacity),
        }
    }
}

/// A wanted update: `None` leaves a field as it is, `Some(None)` clears it.
pub type LeadDetailsPatch = LeadDetailsChange;

/// Replacing the details is a patch that sets every field (optional ones left out cleared).
impl From<LeadDetails> for LeadDetailsChange {
    fn from(d: LeadDetails) -> Self {
        Self {
            name: Some(d.name),
            email: Some(d.email),
            phone: Some(d.phone),
            source: Some(d.source),
            source_detail: Some(d.source_detail),
            product_interest: Some(d.product_interest),
            preferred_contact_method: Some(d.preferred_contact_method),
            preferred_contact_time: Some(d.preferred_contact_time),
            notes: Some(d.notes),
            investment_capacity: Some(d.investment_capacity),
        }
    }
}

/// Product interests are short tags (e.g. `equity`, `mutual_funds`, `f_and_o`).
pub fn parse_product_interest(raw: &[String]) -> Result<Vec<String>, crate::values::InvalidValue> {
    let mut out: Vec<String> = Vec::new();
    if raw.len() > 20 {
        return Err(crate::values::InvalidValue::new(
            "at most 20 product interests",
        ));
    }
    for p in raw {
        let tag = p.trim().to_lowercase();
        if tag.is_empty()
            || tag.len() > 40
            || !tag
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-' || c == ' ')
        {
            return Err(crate::values::InvalidValue::new(
                "a product interest is 1 to 40 letters, digits, spaces, '-' or '_'",
            ));
        }
        if !out.contains(&tag) {
            out.push(tag);
        }
    }
    Ok(out)
}

/// How long a lead's free texts may be (characters).
pub mod limits {
    pub const SOURCE_DETAIL: usize = 200;
    pub const CONTACT_TIME: usize = 100;
    pub const NOTES: usize = 5000;
    /// A reason given for a move, a follow-up's note or outcome.
    pub const REASON: usize = 1000;
    /// An interaction's summary.
    pub const SUMMARY: usize = 5000;
}

/// A lead's details as sent, before checking.
#[derive(Debug, Clone, Copy)]
pub struct RawDetails<'a> {
    pub name: &'a str,
    pub email: Option<&'a str>,
    pub phone: Option<&'a str>,
    pub source: LeadSource,
    pub source_detail: Option<&'a str>,
    pub product_interest: &'a [String],
    pub preferred_contact_method: Option<ContactMethod>,
    pub preferred_contact_time: Option<&'a str>,
    pub notes: Option<&'a str>,
    pub investment_capacity: Option<InvestmentCapacity>,
}

/// A change of a lead's details as sent, before checking.
#[derive(Debug, Clone, Copy, Default)]
pub struct RawChange<'a> {
    pub name: Change<&'a str>,
    pub email: Change<&'a str>,
    pub phone: Change<&'a str>,
    pub source: Change<LeadSource>,
    pub source_detail: Change<&'a str>,
    pub product_interest: Change<&'a [String]>,
    pub preferred_contact_method: Change<ContactMethod>,
    pub preferred_contact_time: Change<&'a str>,
    pub notes: Change<&'a str>,
    pub investment_capacity: Change<InvestmentCapacity>,
}

fn text(max: usize) -> impl Fn(&str) -> Result<Text, InvalidValue> {
    move |s| Text::parse(s, max)
}

impl LeadDetails {
    /// Checks details as sent: every field that is not acceptable is named.
    pub fn parse(raw: RawDetails<'_>) -> Result<Self, Vec<Invalid>> {
        let mut c = Checked::default();
        let name = c.take("name", PersonName::parse(raw.name));
        let email = c.opt("email", raw.email, Email::parse);
        let phone = c.opt("phone", raw.phone, Phone::parse);
        let source_detail = c.opt(
            "source_detail",
            raw.source_detail,
            text(limits::SOURCE_DETAIL),
        );
        let product_interest = c.take(
            "product_interest",
            parse_product_interest(raw.product_interest),
        );
        let preferred_contact_time = c.opt(
            "preferred_contact_time",
            raw.preferred_contact_time,
            text(limits::CONTACT_TIME),
        );
        let notes = c.opt("notes", raw.notes, text(limits::NOTES));
        if raw.email.is_none() && raw.phone.is_none() {
            for field in ["email", "phone"] {
                c.fail(field, "a lead needs an e-mail address or a phone number");
            }
        }
        let details = name
            .zip(product_interest)
            .map(|(name, product_interest)| Self {
                name,
                email,
                phone,
                source: raw.source,
                source_detail,
                product_interest,
                preferred_contact_method: raw.preferred_contact_method,
                preferred_contact_time,
                notes,
                investment_capacity: raw.investment_capacity,
            });
        c.finish(details)
    }
}

impl LeadDetailsChange {
    /// Checks a change as sent (the name and the source cannot be cleared).
    pub fn parse(raw: RawChange<'_>) -> Result<Self, Vec<Invalid>> {
        let mut c = Checked::default();
        let change = Self {
            name: c.required_change("name", "a lead's name", raw.name, PersonName::parse),
            email: c.change("email", raw.email, Email::parse),
            phone: c.change("phone", raw.phone, Phone::parse),
            source: c.required_change("source", "a lead's source", raw.source, Ok),
            source_detail: c.change(
                "source_detail",
                raw.source_detail,
                text(limits::SOURCE_DETAIL),
            ),
            product_interest: match raw.product_interest {
                Change::Keep => None,
                Change::Clear => Some(Vec::new()),
                Change::Set(v) => c.take("product_interest", parse_product_interest(v)),
            },
            preferred_contact_method: c.change(
                "preferred_contact_method",
                raw.preferred_contact_method,
                Ok,
            ),
            preferred_contact_time: c.change(
                "preferred_contact_time",
                raw.preferred_contact_time,
                text(limits::CONTACT_TIME),
            ),
            notes: c.change("notes", raw.notes, text(limits::NOTES)),
            investment_capacity: c.change("investment_capacity", raw.investment_capacity, Ok),
        };
        c.finish(Some(change))
    }
}
