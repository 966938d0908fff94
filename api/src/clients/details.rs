//! A client's details on the wire (contacts, addresses, finances, nominees, accounts, guardian)
//! and their translation to and from the domain's checked values.

use domain::client::{
    AccountNumber, Address, AddressKind, BankAccount, BankAccountType, ClientDetails,
    ContactChannel, ContactLabel, ContactTime, DematAccount, Guardian, IncomeRange, IndianState,
    LabelledEmail, LabelledPhone, NetWorthBand, Nominee, Occupation, Relation,
};
use domain::values::{BirthDate, Email, Ifsc, Pan, PersonName, Phone};
use poem_openapi::Object;
use projections::clients::ClientView;

use crate::dto::{Str, W};
use crate::http::Fields;

fn personal() -> W<ContactLabel> {
    W(ContactLabel::Personal)
}

/// An e-mail address with what it is for; exactly one of a client's is primary (it is the
/// client's `email`).
#[derive(Debug, Clone, Object)]
#[oai(deny_unknown_fields)]
pub struct EmailEntry {
    /// Default `personal`.
    #[oai(default = "personal")]
    pub label: W<ContactLabel>,
    pub address: Str,
    #[oai(default)]
    pub primary: bool,
}

/// A phone with what it is for; exactly one of a client's is primary (it is the client's
/// `phone`).
#[derive(Debug, Clone, Object)]
#[oai(deny_unknown_fields)]
pub struct PhoneEntry {
    /// Default `personal`.
    #[oai(default = "personal")]
    pub label: W<ContactLabel>,
    /// An Indian mobile number in any common form.
    pub number: Str,
    #[oai(default)]
    pub primary: bool,
}

/// A postal address in India; the PIN code must be in the state's postal zone.
#[derive(Debug, Clone, Object)]
#[oai(deny_unknown_fields)]
pub struct AddressEntry {
    pub kind: W<AddressKind>,
    pub line1: Str,
    pub line2: Option<Str>,
    pub city: Str,
    pub state: W<IndianState>,
    /// Six digits, e.g. `400002`.
    pub pin: Str,
}

/// A nominee; the shares of all nominees add up to 100.
#[derive(Debug, Clone, Object)]
#[oai(deny_unknown_fields)]
pub struct NomineeEntry {
    pub name: Str,
    pub relationship: W<Relation>,
    /// Percent as a decimal string, at most two decimals (`33.34`).
    pub share: Str,
    /// `YYYY-MM-DD`; a nominee under 18 needs `guardian_name`.
    pub date_of_birth: Str,
    pub guardian_name: Option<Str>,
}

/// A bank account; payouts go to the primary one.
#[derive(Debug, Clone, Object)]
#[oai(deny_unknown_fields)]
pub struct BankAccountEntry {
    /// Four letters, a zero, six letters or digits (`HDFC0001234`).
    pub ifsc: Str,
    /// 9 to 18 digits.
    pub account_number: Str,
    pub account_type: W<BankAccountType>,
    #[oai(default)]
    pub primary: bool,
}

/// A demat account: DP id and client id, 16 characters together.
#[derive(Debug, Clone, Object)]
#[oai(deny_unknown_fields)]
pub struct DematAccountEntry {
    /// NSDL: `IN` and six digits; CDSL: eight digits starting `12`.
    pub dp_id: Str,
    /// Eight digits.
    pub client_id: Str,
    #[oai(default)]
    pub primary: bool,
    /// The depository, worked out from the DP id (what is sent here is ignored).
    pub depository: Option<W<domain::client::Depository>>,
}

/// Who acts for a client under 18.
#[derive(Debug, Clone, Object)]
#[oai(deny_unknown_fields)]
pub struct GuardianEntry {
    pub name: Str,
    /// `father`, `mother` or `court_appointed`.
    pub relationship: W<Relation>,
    pub pan: Str,
}

/// What a client declares beyond who they are. In a whole update (`PUT`) a part left out is
/// cleared; `emails` and `phones` left out mean only `email` and `phone`.
#[derive(Debug, Clone, Default, Object)]
#[oai(deny_unknown_fields)]
pub struct DetailsDoc {
    /// Up to five; the primary one is `email`.
    pub emails: Option<Vec<EmailEntry>>,
    /// Up to five; the primary one is `phone`.
    pub phones: Option<Vec<PhoneEntry>>,
    pub preferred_channel: Option<W<ContactChannel>>,
    /// The part of the day to call in (India time).
    pub preferred_time: Option<W<ContactTime>>,
    /// One correspondence and one permanent address at most.
    pub addresses: Option<Vec<AddressEntry>>,
    pub occupation: Option<W<Occupation>>,
    pub annual_income: Option<W<IncomeRange>>,
    /// Declared net worth; with assets under management, it sets the segment.
    pub net_worth: Option<W<NetWorthBand>>,
    /// Up to ten, shares adding up to 100.
    pub nominees: Option<Vec<NomineeEntry>>,
    /// Up to five, one primary.
    pub bank_accounts: Option<Vec<BankAccountEntry>>,
    /// Up to five, one primary.
    pub demat_accounts: Option<Vec<DematAccountEntry>>,
    /// Required for a client under 18, refused for an adult.
    pub guardian: Option<GuardianEntry>,
}

/// Parses one list, naming each entry's field as `list[i].field`.
fn list<I, T>(
    f: &mut Fields,
    name: &str,
    items: &[I],
    parse: impl Fn(&I) -> Vec<(&'static str, Result<T, domain::values::InvalidValue>)>,
) -> Vec<T> {
    let mut out = Vec::new();
    for (i, item) in items.iter().enumerate() {
        for (field, r) in parse(item) {
            let at = if field.is_empty() {
                format!("{name}[{i}]")
            } else {
                format!("{name}[{i}].{field}")
            };
            if let Some(v) = f.take(&at, r) {
                out.push(v);
            }
        }
    }
    out
}

pub fn emails(f: &mut Fields, items: &[EmailEntry]) -> Vec<LabelledEmail> {
    list(f, "emails", items, |e| {
        vec![(
            "address",
            Email::parse(&e.address).map(|address| LabelledEmail {
                label: e.label.0,
                address,
                primary: e.primary,
            }),
        )]
    })
}

pub fn phones(f: &mut Fields, items: &[PhoneEntry]) -> Vec<LabelledPhone> {
    list(f, "phones", items, |p| {
        vec![(
            "number",
            Phone::parse(&p.number).map(|number| LabelledPhone {
                label: p.label.0,
                number,
                primary: p.primary,
            }),
        )]
    })
}

pub fn addresses(f: &mut Fields, items: &[AddressEntry]) -> Vec<Address> {
    list(f, "addresses", items, |a| {
        vec![(
            "",
            Address::parse(
                a.kind.0,
                &a.line1,
                a.line2.as_deref(),
                &a.city,
                a.state.0,
                &a.pin,
            ),
        )]
    })
}

pub fn nominees(f: &mut Fields, items: &[NomineeEntry], today: chrono::NaiveDate) -> Vec<Nominee> {
    let mut out = Vec::new();
    for (i, n) in items.iter().enumerate() {
        let at = |field: &str| format!("nominees[{i}].{field}");
        let name = f.take(&at("name"), PersonName::parse(&n.name));
        let plain = {
            let s = n.share.trim();
            !s.is_empty()
                && s.chars().all(|c| c.is_ascii_digit() || c == '.')
                && s.matches('.').count() <= 1
        };
        let share = f.take(
            &at("share"),
            Some(n.share.trim())
                .filter(|_| plain)
                .ok_or(())
                .and_then(|s| s.parse::<rust_decimal::Decimal>().map_err(|_| ()))
                .map_err(|_| {
                    domain::values::InvalidValue::new("not a percentage (e.g. 50 or 33.34)")
                }),
        );
        let born = match Some(&*n.date_of_birth).filter(|d| !d.is_empty()) {
            Some(d) => f
                .take(&at("date_of_birth"), BirthDate::parse(d, today))
                .map(Some),
            None => {
                f.errors.push(crate::problem::FieldError::new(
                    &at("date_of_birth"),
                    "required (a nominee under 18 needs a guardian)",
                ));
                None
            }
        };
        let guardian = match n.guardian_name.as_deref() {
            Some(g) => f.take(&at("guardian_name"), PersonName::parse(g)).map(Some),
            None => Some(None),
        };
        if let (Some(name), Some(share), Some(date_of_birth), Some(guardian_name)) =
            (name, share, born, guardian)
        {
            out.push(Nominee {
                name,
                relationship: n.relationship.0,
                share,
                date_of_birth,
                guardian_name,
            });
        }
    }
    out
}

fn bank_accounts(f: &mut Fields, items: &[BankAccountEntry]) -> Vec<BankAccount> {
    let mut out = Vec::new();
    for (i, b) in items.iter().enumerate() {
        let ifsc = f.take(&format!("bank_accounts[{i}].ifsc"), Ifsc::parse(&b.ifsc));
        let number = f.take(
            &format!("bank_accounts[{i}].account_number"),
            AccountNumber::parse(&b.account_number),
        );
        if let (Some(ifsc), Some(account_number)) = (ifsc, number) {
            out.push(BankAccount {
                ifsc,
                account_number,
                account_type: b.account_type.0,
                primary: b.primary,
            });
        }
    }
    out
}

fn demat_accounts(f: &mut Fields, items: &[DematAccountEntry]) -> Vec<DematAccount> {
    list(f, "demat_accounts", items, |d| {
        vec![("", DematAccount::parse(&d.dp_id, &d.client_id, d.primary))]
    })
}

fn guardian(f: &mut Fields, g: &GuardianEntry) -> Option<Guardian> {
    let name = f.take("guardian.name", PersonName::parse(&g.name));
    let pan = f.take("guardian.pan", Pan::parse(&g.pan)).map(Some);
    Some(Guardian {
        name: name?,
        relationship: g.relationship.0,
        pan: pan?,
    })
}

/// Whole details as sent (every part; one left out is empty), each value checked; the rules
/// that span values (one primary, shares adding up, a guardian for a minor) are the
/// aggregate's.
pub fn parse(f: &mut Fields, d: &DetailsDoc, today: chrono::NaiveDate) -> ClientDetails {
    let before = f.errors.len();
    let details = parse_parts(f, d, today);
    // Named as sent: inside `details`.
    for e in &mut f.errors[before..] {
        e.field = format!("details.{}", e.field);
    }
    details
}

fn parse_parts(f: &mut Fields, d: &DetailsDoc, today: chrono::NaiveDate) -> ClientDetails {
    ClientDetails {
        emails: emails(f, d.emails.as_deref().unwrap_or_default()),
        phones: phones(f, d.phones.as_deref().unwrap_or_default()),
        preferred_channel: d.preferred_channel.map(|w| w.0),
        preferred_time: d.preferred_time.map(|w| w.0),
        addresses: addresses(f, d.addresses.as_deref().unwrap_or_default()),
        occupation: d.occupation.map(|w| w.0),
        annual_income: d.annual_income.map(|w| w.0),
        net_worth: d.net_worth.map(|w| w.0),
        nominees: nominees(f, d.nominees.as_deref().unwrap_or_default(), today),
        bank_accounts: bank_accounts(f, d.bank_accounts.as_deref().unwrap_or_default()),
        demat_accounts: demat_accounts(f, d.demat_accounts.as_deref().unwrap_or_default()),
        guardian: d.guardian.as_ref().and_then(|g| guardian(f, g)),
    }
}

/// The details as shown: the e-mail and phone lists hold at least the client's own.
pub fn shown(v: &ClientView) -> DetailsDoc {
    let d = &v.details;
    let emails = if d.emails.is_empty() {
        vec![EmailEntry {
            label: personal(),
            address: v.email.clone().into(),
            primary: true,
        }]
    } else {
        d.emails
            .iter()
            .map(|e| EmailEntry {
                label: W(e.label),
                address: e.address.as_str().into(),
                primary: e.primary,
            })
            .collect()
    };
    let phones = if d.phones.is_empty() {
        vec![PhoneEntry {
            label: personal(),
            number: v.phone.clone().into(),
            primary: true,
        }]
    } else {
        d.phones
            .iter()
            .map(|p| PhoneEntry {
                label: W(p.label),
                number: p.number.as_str().into(),
                primary: p.primary,
            })
            .collect()
    };
    DetailsDoc {
        emails: Some(emails),
        phones: Some(phones),
        preferred_channel: d.preferred_channel.map(W),
        preferred_time: d.preferred_time.map(W),
        addresses: Some(
            d.addresses
                .iter()
                .map(|a| AddressEntry {
                    kind: W(a.kind),
                    line1: a.line1.as_str().into(),
                    line2: a.line2.as_ref().map(|l| l.as_str().into()),
                    city: a.city.as_str().into(),
                    state: W(a.state),
                    pin: a.pin.as_str().into(),
                })
                .collect(),
        ),
        occupation: d.occupation.map(W),
        annual_income: d.annual_income.map(W),
        net_worth: d.net_worth.map(W),
        nominees: Some(
            d.nominees
                .iter()
                .map(|n| NomineeEntry {
                    name: n.name.as_str().into(),
                    relationship: W(n.relationship),
                    share: n.share.normalize().to_string().into(),
                    date_of_birth: n
                        .date_of_birth
                        .as_ref()
                        .map(|b| b.as_str().into())
                        .unwrap_or_else(|| "".into()),
                    guardian_name: n.guardian_name.as_ref().map(|g| g.as_str().into()),
                })
                .collect(),
        ),
        bank_accounts: Some(
            d.bank_accounts
                .iter()
                .map(|b| BankAccountEntry {
                    ifsc: b.ifsc.as_str().into(),
                    account_number: b.account_number.as_str().into(),
                    account_type: W(b.account_type),
                    primary: b.primary,
                })
                .collect(),
        ),
        demat_accounts: Some(
            d.demat_accounts
                .iter()
                .map(|m| DematAccountEntry {
                    dp_id: m.dp_id.as_str().into(),
                    client_id: m.client_id.as_str().into(),
                    primary: m.primary,
                    depository: Some(W(m.depository)),
                })
                .collect(),
        ),
        guardian: d.guardian.as_ref().map(|g| GuardianEntry {
            name: g.name.as_str().into(),
            relationship: W(g.relationship),
            pan: g
                .pan
                .as_ref()
                .map(|p| p.as_str().into())
                .unwrap_or_else(|| "".into()),
        }),
    }
}

/// A full example (the OpenAPI document's).
pub fn example() -> DetailsDoc {
    DetailsDoc {
        emails: Some(vec![
            EmailEntry {
                label: personal(),
                address: "asha.rao@example.in".into(),
                primary: true,
            },
            EmailEntry {
                label: W(ContactLabel::Work),
                address: "asha.rao@tatamotors.example".into(),
                primary: false,
            },
        ]),
        phones: Some(vec![PhoneEntry {
            label: personal(),
            number: "+91 98765 43210".into(),
            primary: true,
        }]),
        preferred_channel: Some(W(ContactChannel::Whatsapp)),
        preferred_time: Some(W(ContactTime::Evening)),
        addresses: Some(vec![AddressEntry {
            kind: W(AddressKind::Correspondence),
            line1: "12 Marine Drive".into(),
            line2: Some("Churchgate".into()),
            city: "Mumbai".into(),
            state: W(IndianState::Maharashtra),
            pin: "400002".into(),
        }]),
        occupation: Some(W(Occupation::Salaried)),
        annual_income: Some(W(IncomeRange::Above25Lakh)),
        net_worth: Some(W(NetWorthBand::Lakh10To1Crore)),
        nominees: Some(vec![
            NomineeEntry {
                name: "Vikram Rao".into(),
                relationship: W(Relation::Spouse),
                share: "60".into(),
                date_of_birth: "1985-02-10".into(),
                guardian_name: None,
            },
            NomineeEntry {
                name: "Meera Rao".into(),
                relationship: W(Relation::Daughter),
                share: "40".into(),
                date_of_birth: "2015-06-01".into(),
                guardian_name: Some("Vikram Rao".into()),
            },
        ]),
        bank_accounts: Some(vec![BankAccountEntry {
            ifsc: "HDFC0000060".into(),
            account_number: "50100123456789".into(),
            account_type: W(BankAccountType::Savings),
            primary: true,
        }]),
        demat_accounts: Some(vec![DematAccountEntry {
            dp_id: "IN300476".into(),
            client_id: "12345678".into(),
            primary: true,
            depository: None,
        }]),
        guardian: None,
    }
}
