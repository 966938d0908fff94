//! A lead's contact details, and the changes made to them.

use serde::{Deserialize, Serialize};

use super::*;

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
        }
    }
}

/// A wanted update: `None` leaves a field as it is, `Some(None)` clears it.
pub type LeadDetailsPatch = LeadDetailsChange;

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
