//! Who a client is (their profile, all personal data), the changes made to it, and the checks
//! a profile as sent must pass.

use serde::{Deserialize, Serialize};

use crate::input::{Checked, Invalid};
use crate::values::{BirthDate, Email, Pan, PersonName, Phone, Text};

/// Who the client is. Everything here is personal data and sealed in the log.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClientProfile {
    pub name: PersonName,
    pub email: Email,
    pub phone: Phone,
    pub pan: Pan,
    pub date_of_birth: BirthDate,
    pub address: Text,
}

/// Only the fields that changed (`None` is untouched). The PAN and the date of birth are
/// identity: they are not edited, a wrong one is a new KYC case.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ClientProfileChange {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<PersonName>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<Email>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone: Option<Phone>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address: Option<Text>,
}

impl ClientProfileChange {
    pub fn is_empty(&self) -> bool {
        *self == Self::default()
    }

    /// The names of the fields this change touches, for history views.
    pub fn fields(&self) -> Vec<&'static str> {
        [
            ("name", self.name.is_some()),
            ("email", self.email.is_some()),
            ("phone", self.phone.is_some()),
            ("address", self.address.is_some()),
        ]
        .into_iter()
        .filter_map(|(f, set)| set.then_some(f))
        .collect()
    }

    /// The part of `self` that differs from `p`.
    pub fn against(&self, p: &ClientProfile) -> Self {
        fn changed<T: PartialEq + Clone>(old: &T, new: &Option<T>) -> Option<T> {
            new.as_ref().filter(|n| *n != old).cloned()
        }
        Self {
            name: changed(&p.name, &self.name),
            email: changed(&p.email, &self.email),
            phone: changed(&p.phone, &self.phone),
            address: changed(&p.address, &self.address),
        }
    }

    pub fn apply_to(&self, p: &mut ClientProfile) {
        if let Some(v) = &self.name {
            p.name = v.clone();
        }
        if let Some(v) = &self.email {
            p.email = v.clone();
        }
        if let Some(v) = &self.phone {
            p.phone = v.clone();
        }
        if let Some(v) = &self.address {
            p.address = v.clone();
        }
    }
}

/// The longest address kept (characters).
pub const ADDRESS_MAX: usize = 500;

/// A client's profile as sent, before checking.
#[derive(Debug, Clone, Copy)]
pub struct RawProfile<'a> {
    pub name: &'a str,
    pub email: &'a str,
    pub phone: &'a str,
    pub pan: &'a str,
    pub date_of_birth: &'a str,
    pub address: &'a str,
}

impl ClientProfile {
    /// Checks a profile as sent (a date of birth is not after `today`): every field that is
    /// not acceptable is named.
    pub fn parse(raw: RawProfile<'_>, today: chrono::NaiveDate) -> Result<Self, Vec<Invalid>> {
        let mut c = Checked::default();
        let name = c.take("name", PersonName::parse(raw.name));
        let email = c.take("email", Email::parse(raw.email));
        let phone = c.take("phone", Phone::parse(raw.phone));
        let pan = c.take("pan", Pan::parse(raw.pan));
        let date_of_birth = c.take("date_of_birth", BirthDate::parse(raw.date_of_birth, today));
        let address = c.take("address", Text::parse(raw.address, ADDRESS_MAX));
        let profile = (|| {
            Some(Self {
                name: name?,
                email: email?,
                phone: phone?,
                pan: pan?,
                date_of_birth: date_of_birth?,
                address: address?,
            })
        })();
        c.finish(profile)
    }
}

/// A profile change as sent (`None` leaves a field as it is), before checking.
#[derive(Debug, Clone, Copy, Default)]
pub struct RawProfileChange<'a> {
    pub name: Option<&'a str>,
    pub email: Option<&'a str>,
    pub phone: Option<&'a str>,
    pub address: Option<&'a str>,
}

impl ClientProfileChange {
    /// Checks a change as sent; it names at least one field.
    pub fn parse(raw: RawProfileChange<'_>) -> Result<Self, Vec<Invalid>> {
        let mut c = Checked::default();
        let change = Self {
            name: c.opt("name", raw.name, PersonName::parse),
            email: c.opt("email", raw.email, Email::parse),
            phone: c.opt("phone", raw.phone, Phone::parse),
            address: c.opt("address", raw.address, |s| Text::parse(s, ADDRESS_MAX)),
        };
        if c.invalid.is_empty() && change.is_empty() {
            c.fail("body", "name at least one of name, email, phone, address");
        }
        c.finish(Some(change))
    }
}
