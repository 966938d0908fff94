//! What a client declares beyond who they are: their e-mail addresses and phones (one of each
//! primary), how and when to reach them, their addresses, occupation, income and net worth,
//! nominees, bank and demat accounts, and the guardian of a minor. All of it is personal data
//! but the enum words (labels, kinds, bands, states), which are kept readable so that read
//! models can count them.

use chrono::NaiveDate;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::input::Checked;
pub use crate::kyc::{IncomeRange, Occupation};
use crate::values::{BirthDate, Email, Ifsc, InvalidValue, Pan, PersonName, Phone, Text};

snake_enum!(
    /// What an e-mail address or a phone is for.
    ContactLabel { Personal => "personal", Work => "work", Home => "home", Other => "other" }
);
snake_enum!(
    /// The channel a client prefers to be reached on.
    ContactChannel { Email => "email", Phone => "phone", Sms => "sms", Whatsapp => "whatsapp" }
);
snake_enum!(
    /// The part of the day a client prefers to be called in (India time).
    ContactTime { Morning => "morning", Afternoon => "afternoon", Evening => "evening" }
);
snake_enum!(
    /// Which of a client's addresses this is (KYC keeps both).
    AddressKind { Correspondence => "correspondence", Permanent => "permanent" }
);
snake_enum!(
    @exact
    /// Declared net worth (INR), in bands.
    NetWorthBand {
        Below10Lakh => "below_10_lakh",
        Lakh10To1Crore => "10_lakh_to_1_crore",
        Crore1To5 => "1_to_5_crore",
        Crore5To25 => "5_to_25_crore",
        Above25Crore => "above_25_crore"
    }
);
snake_enum!(
    /// How a nominee or guardian is related to the client.
    Relation {
        Spouse => "spouse",
        Son => "son",
        Daughter => "daughter",
        Father => "father",
        Mother => "mother",
        Brother => "brother",
        Sister => "sister",
        Grandparent => "grandparent",
        Grandchild => "grandchild",
        CourtAppointed => "court_appointed",
        Other => "other"
    }
);
snake_enum!(
    /// What kind of bank account.
    BankAccountType { Savings => "savings", Current => "current", Nre => "nre", Nro => "nro" }
);
snake_enum!(
    /// Which depository holds a demat account.
    Depository { Nsdl => "nsdl", Cdsl => "cdsl" }
);
snake_enum!(
    /// The states and union territories of India.
    IndianState {
        AndamanAndNicobarIslands => "andaman_and_nicobar_islands",
        AndhraPradesh => "andhra_pradesh",
        ArunachalPradesh => "arunachal_pradesh",
        Assam => "assam",
        Bihar => "bihar",
        Chandigarh => "chandigarh",
        Chhattisgarh => "chhattisgarh",
        DadraNagarHaveliAndDamanDiu => "dadra_nagar_haveli_and_daman_diu",
        Delhi => "delhi",
        Goa => "goa",
        Gujarat => "gujarat",
        Haryana => "haryana",
        HimachalPradesh => "himachal_pradesh",
        JammuAndKashmir => "jammu_and_kashmir",
        Jharkhand => "jharkhand",
        Karnataka => "karnataka",
        Kerala => "kerala",
        Ladakh => "ladakh",
        Lakshadweep => "lakshadweep",
        MadhyaPradesh => "madhya_pradesh",
        Maharashtra => "maharashtra",
        Manipur => "manipur",
        Meghalaya => "meghalaya",
        Mizoram => "mizoram",
        Nagaland => "nagaland",
        Odisha => "odisha",
        Puducherry => "puducherry",
        Punjab => "punjab",
        Rajasthan => "rajasthan",
        Sikkim => "sikkim",
        TamilNadu => "tamil_nadu",
        Telangana => "telangana",
        Tripura => "tripura",
        UttarPradesh => "uttar_pradesh",
        Uttarakhand => "uttarakhand",
        WestBengal => "west_bengal"
    }
);

impl IndianState {
    /// The first two digits of the PIN codes of the state's postal circles (the border
    /// districts served from a neighbour's circle included).
    pub fn pin_prefixes(self) -> &'static [u8] {
        use IndianState::*;
        match self {
            Delhi => &[11],
            Haryana => &[12, 13],
            Punjab => &[14, 15, 16],
            Chandigarh => &[16],
            HimachalPradesh => &[17],
            JammuAndKashmir => &[18, 19],
            Ladakh => &[19],
            UttarPradesh => &[20, 21, 22, 23, 24, 25, 26, 27, 28],
            Uttarakhand => &[24, 26],
            Rajasthan => &[30, 31, 32, 33, 34],
            Gujarat => &[36, 37, 38, 39],
            DadraNagarHaveliAndDamanDiu => &[36, 39],
            Maharashtra => &[40, 41, 42, 43, 44],
            Goa => &[40],
            MadhyaPradesh => &[45, 46, 47, 48],
            Chhattisgarh => &[49],
            Telangana => &[50],
            AndhraPradesh => &[50, 51, 52, 53],
            Karnataka => &[56, 57, 58, 59],
            TamilNadu => &[60, 61, 62, 63, 64],
            Puducherry => &[53, 60, 67],
            Kerala => &[67, 68, 69],
            Lakshadweep => &[68],
            WestBengal => &[70, 71, 72, 73, 74],
            Sikkim => &[73],
            AndamanAndNicobarIslands => &[74],
            Odisha => &[75, 76, 77],
            Assam => &[78],
            ArunachalPradesh | Meghalaya | Manipur | Mizoram | Nagaland | Tripura => &[79],
            Bihar => &[80, 81, 82, 84, 85],
            Jharkhand => &[81, 82, 83],
        }
    }
}

/// An Indian postal index number: six digits, the first not zero.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Pin(String);

impl Pin {
    pub fn parse(raw: &str) -> Result<Self, InvalidValue> {
        let s: String = raw.chars().filter(|c| !c.is_whitespace()).collect();
        if s.len() == 6 && s.bytes().all(|b| b.is_ascii_digit()) && !s.starts_with('0') {
            Ok(Self(s))
        } else {
            Err(InvalidValue::new(
                "not a PIN code (expected six digits, the first not 0, e.g. 400001)",
            ))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The first two digits (the postal circle's).
    pub fn prefix(&self) -> u8 {
        (self.0.as_bytes()[0] - b'0') * 10 + (self.0.as_bytes()[1] - b'0')
    }
}

/// A bank account number: 9 to 18 digits.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct AccountNumber(String);

impl AccountNumber {
    pub fn parse(raw: &str) -> Result<Self, InvalidValue> {
        let s: String = raw
            .chars()
            .filter(|c| !c.is_whitespace() && *c != '-')
            .collect();
        if (9..=18).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_digit()) {
            Ok(Self(s))
        } else {
            Err(InvalidValue::new(
                "not a bank account number (expected 9 to 18 digits)",
            ))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A demat account: the depository participant's id and the client's id there, 16 characters
/// in all (NSDL: `IN` and six digits, then eight digits; CDSL: sixteen digits, from `12`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct DematAccount {
    pub depository: Depository,
    pub dp_id: String,
    pub client_id: String,
    pub primary: bool,
}

impl DematAccount {
    pub fn parse(dp_id: &str, client_id: &str, primary: bool) -> Result<Self, InvalidValue> {
        let dp: String = dp_id.trim().to_ascii_uppercase();
        let id: String = client_id.trim().to_string();
        let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
        let depository = if dp.len() == 8 && dp.starts_with("IN") && digits(&dp[2..]) {
            Depository::Nsdl
        } else if dp.len() == 8 && digits(&dp) && dp.starts_with("12") {
            Depository::Cdsl
        } else {
            return Err(InvalidValue::new(
                "not a DP id (expected IN and six digits for NSDL, or eight digits starting 12 for CDSL)",
            ));
        };
        if id.len() != 8 || !digits(&id) {
            return Err(InvalidValue::new(
                "not a demat client id (expected eight digits after the DP id)",
            ));
        }
        Ok(Self {
            depository,
            dp_id: dp,
            client_id: id,
            primary,
        })
    }

    /// The 16-character beneficiary-owner id.
    pub fn bo_id(&self) -> String {
        format!("{}{}", self.dp_id, self.client_id)
    }
}

/// An e-mail address of the client with what it is for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LabelledEmail {
    pub label: ContactLabel,
    pub address: Email,
    pub primary: bool,
}

/// A phone of the client with what it is for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LabelledPhone {
    pub label: ContactLabel,
    pub number: Phone,
    pub primary: bool,
}

/// A postal address in India.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Address {
    pub kind: AddressKind,
    pub line1: Text,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub line2: Option<Text>,
    pub city: Text,
    pub state: IndianState,
    pub pin: Pin,
}

/// The longest address line or city name kept (characters).
pub const ADDRESS_LINE_MAX: usize = 120;

impl Address {
    /// Checks an address as sent: the PIN code must belong to the state's postal zone.
    pub fn parse(
        kind: AddressKind,
        line1: &str,
        line2: Option<&str>,
        city: &str,
        state: IndianState,
        pin: &str,
    ) -> Result<Self, InvalidValue> {
        let field = |what: &str, r: Result<Text, InvalidValue>| {
            r.map_err(|e| InvalidValue::new(format!("{what} {}", e.message)))
        };
        let pin = Pin::parse(pin)?;
        if !state.pin_prefixes().contains(&pin.prefix()) {
            return Err(InvalidValue::new(format!(
                "PIN code {} is not in {} (its PIN codes start with {})",
                pin.as_str(),
                state.as_str(),
                state
                    .pin_prefixes()
                    .iter()
                    .map(|p| p.to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            )));
        }
        Ok(Self {
            kind,
            line1: field("line1", Text::parse(line1, ADDRESS_LINE_MAX))?,
            line2: line2
                .filter(|s| !s.trim().is_empty())
                .map(|s| field("line2", Text::parse(s, ADDRESS_LINE_MAX)))
                .transpose()?,
            city: field("city", Text::parse(city, ADDRESS_LINE_MAX))?,
            state,
            pin,
        })
    }
}

/// Someone who receives a share of the holdings if the client dies.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Nominee {
    pub name: PersonName,
    pub relationship: Relation,
    /// Percent, at most two decimals.
    pub share: Decimal,
    /// Required for new nominees (it decides whether a guardian is needed); kept optional in
    /// the log's shape.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub date_of_birth: Option<BirthDate>,
    /// Required when the nominee is a minor.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub guardian_name: Option<PersonName>,
}

/// A bank account the client trades from (payouts go to the primary one).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BankAccount {
    pub ifsc: Ifsc,
    pub account_number: AccountNumber,
    pub account_type: BankAccountType,
    pub primary: bool,
}

/// Who acts for a client who is a minor.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Guardian {
    pub name: PersonName,
    pub relationship: Relation,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pan: Option<Pan>,
}

/// Everything a client declares beyond their identity. The e-mail and phone lists include the
/// profile's own (the primary ones); empty lists mean only those.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClientDetails {
    #[serde(default)]
    pub emails: Vec<LabelledEmail>,
    #[serde(default)]
    pub phones: Vec<LabelledPhone>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub preferred_channel: Option<ContactChannel>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub preferred_time: Option<ContactTime>,
    #[serde(default)]
    pub addresses: Vec<Address>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub occupation: Option<Occupation>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub annual_income: Option<IncomeRange>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub net_worth: Option<NetWorthBand>,
    #[serde(default)]
    pub nominees: Vec<Nominee>,
    #[serde(default)]
    pub bank_accounts: Vec<BankAccount>,
    #[serde(default)]
    pub demat_accounts: Vec<DematAccount>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub guardian: Option<Guardian>,
}

snake_enum!(
    /// A part of a client's details, as history names what changed.
    DetailsPart {
        Contacts => "contacts",
        Preferences => "preferences",
        Addresses => "addresses",
        Finances => "finances",
        Nominees => "nominees",
        BankAccounts => "bank_accounts",
        DematAccounts => "demat_accounts",
        Guardian => "guardian"
    }
);

/// How many of each a client may have.
pub const MAX_CONTACTS: usize = 5;
pub const MAX_NOMINEES: usize = 10;
pub const MAX_ACCOUNTS: usize = 5;

/// Whole years from `born` to `on`.
pub fn age_on(born: NaiveDate, on: NaiveDate) -> u32 {
    on.years_since(born).unwrap_or(0)
}

impl ClientDetails {
    /// The parts where `self` differs from `other`.
    pub fn changed_parts(&self, other: &Self) -> Vec<DetailsPart> {
        use DetailsPart::*;
        [
            (
                Contacts,
                self.emails != other.emails || self.phones != other.phones,
            ),
            (
                Preferences,
                self.preferred_channel != other.preferred_channel
                    || self.preferred_time != other.preferred_time,
            ),
            (Addresses, self.addresses != other.addresses),
            (
                Finances,
                self.occupation != other.occupation
                    || self.annual_income != other.annual_income
                    || self.net_worth != other.net_worth,
            ),
            (Nominees, self.nominees != other.nominees),
            (BankAccounts, self.bank_accounts != other.bank_accounts),
            (DematAccounts, self.demat_accounts != other.demat_accounts),
            (Guardian, self.guardian != other.guardian),
        ]
        .into_iter()
        .filter_map(|(p, changed)| changed.then_some(p))
        .collect()
    }

    /// The primary e-mail address, if the list names one.
    pub fn primary_email(&self) -> Option<&Email> {
        self.emails.iter().find(|e| e.primary).map(|e| &e.address)
    }

    /// The primary phone, if the list names one.
    pub fn primary_phone(&self) -> Option<&Phone> {
        self.phones.iter().find(|p| p.primary).map(|p| &p.number)
    }

    /// Keeps the lists' primary entries in step with a changed profile e-mail or phone.
    /// A new value already in the list becomes the primary one; otherwise it replaces the
    /// primary entry's.
    pub fn follow_profile(&mut self, email: Option<&Email>, phone: Option<&Phone>) {
        if let Some(new) = email {
            if self.emails.iter().any(|e| e.address == *new) {
                for e in &mut self.emails {
                    e.primary = e.address == *new;
                }
            } else if let Some(e) = self.emails.iter_mut().find(|e| e.primary) {
                e.address = new.clone();
            }
        }
        if let Some(new) = phone {
            if self.phones.iter().any(|p| p.number == *new) {
                for p in &mut self.phones {
                    p.primary = p.number == *new;
                }
            } else if let Some(p) = self.phones.iter_mut().find(|p| p.primary) {
                p.number = new.clone();
            }
        }
    }

    /// The same details with a list that holds only the primary e-mail or phone under the
    /// default label written as no list (which is what it means).
    pub fn normalised(mut self) -> Self {
        if let [only] = self.emails.as_slice() {
            if only.primary && only.label == ContactLabel::Personal {
                self.emails.clear();
            }
        }
        if let [only] = self.phones.as_slice() {
            if only.primary && only.label == ContactLabel::Personal {
                self.phones.clear();
            }
        }
        self
    }

    /// Where the lists' primary entries are not the profile's e-mail and phone.
    pub fn mismatches(&self, profile: &super::ClientProfile) -> Vec<crate::input::Invalid> {
        let mut c = Checked::default();
        if self.primary_email().is_some_and(|e| *e != profile.email) {
            c.fail(
                "emails",
                "the primary e-mail address is the client's `email`",
            );
        }
        if self.primary_phone().is_some_and(|p| *p != profile.phone) {
            c.fail("phones", "the primary phone is the client's `phone`");
        }
        c.invalid
    }

    /// The rules a set of details must keep on its own: at most five e-mail addresses, phones,
    /// bank and demat accounts, each list with one primary and no repeats; one address of each
    /// kind; at most ten nominees whose shares (above 0, two decimals at most) add up to 100 %,
    /// a minor nominee with a guardian; all on `today`.
    pub fn check(&self, today: NaiveDate) -> Vec<crate::input::Invalid> {
        let mut c = Checked::default();
        fn one_primary(
            c: &mut Checked,
            field: &'static str,
            what: &str,
            len: usize,
            primaries: usize,
            max: usize,
        ) {
            if len > max {
                c.fail(field, format!("at most {max} {what}"));
            }
            if len > 0 && primaries != 1 {
                c.fail(field, format!("exactly one of the {what} is primary"));
            }
        }
        fn repeats<T: PartialEq>(items: &[T]) -> bool {
            items
                .iter()
                .enumerate()
                .any(|(i, a)| items[..i].contains(a))
        }
        let emails: Vec<_> = self.emails.iter().map(|e| &e.address).collect();
        one_primary(
            &mut c,
            "emails",
            "e-mail addresses",
            emails.len(),
            self.emails.iter().filter(|e| e.primary).count(),
            MAX_CONTACTS,
        );
        if repeats(&emails) {
            c.fail("emails", "an e-mail address is listed twice");
        }
        let phones: Vec<_> = self.phones.iter().map(|p| &p.number).collect();
        one_primary(
            &mut c,
            "phones",
            "phones",
            phones.len(),
            self.phones.iter().filter(|p| p.primary).count(),
            MAX_CONTACTS,
        );
        if repeats(&phones) {
            c.fail("phones", "a phone is listed twice");
        }
        let kinds: Vec<_> = self.addresses.iter().map(|a| a.kind).collect();
        if repeats(&kinds) {
            c.fail(
                "addresses",
                "one correspondence and one permanent address at most",
            );
        }
        if self.nominees.len() > MAX_NOMINEES {
            c.fail("nominees", format!("at most {MAX_NOMINEES} nominees"));
        }
        let mut total = Decimal::ZERO;
        for (i, n) in self.nominees.iter().enumerate() {
            let which = i + 1;
            if n.share <= Decimal::ZERO || n.share > Decimal::ONE_HUNDRED {
                c.fail(
                    "nominees",
                    format!("nominee {which}: a share is above 0 and at most 100"),
                );
            } else if n.share.normalize().scale() > 2 {
                c.fail(
                    "nominees",
                    format!("nominee {which}: a share has at most two decimals"),
                );
            }
            total += n.share;
            let minor = n
                .date_of_birth
                .as_ref()
                .and_then(|d| NaiveDate::parse_from_str(d.as_str(), "%Y-%m-%d").ok())
                .is_some_and(|born| age_on(born, today) < 18);
            if minor && n.guardian_name.is_none() {
                c.fail(
                    "nominees",
                    format!("nominee {which} is a minor: name their guardian"),
                );
            }
            if !minor && n.date_of_birth.is_some() && n.guardian_name.is_some() {
                c.fail(
                    "nominees",
                    format!("nominee {which} is an adult: a guardian is named only for a minor"),
                );
            }
        }
        if !self.nominees.is_empty() && total != Decimal::ONE_HUNDRED {
            c.fail(
                "nominees",
                format!("the nominees' shares add up to {total} %, not 100 %"),
            );
        }
        let banks: Vec<_> = self
            .bank_accounts
            .iter()
            .map(|b| (&b.ifsc, &b.account_number))
            .collect();
        one_primary(
            &mut c,
            "bank_accounts",
            "bank accounts",
            banks.len(),
            self.bank_accounts.iter().filter(|b| b.primary).count(),
            MAX_ACCOUNTS,
        );
        if repeats(&banks) {
            c.fail("bank_accounts", "a bank account is listed twice");
        }
        let demats: Vec<_> = self.demat_accounts.iter().map(|d| d.bo_id()).collect();
        one_primary(
            &mut c,
            "demat_accounts",
            "demat accounts",
            demats.len(),
            self.demat_accounts.iter().filter(|d| d.primary).count(),
            MAX_ACCOUNTS,
        );
        if repeats(&demats) {
            c.fail("demat_accounts", "a demat account is listed twice");
        }
        c.invalid
    }
}

snake_enum!(
    /// A client's segment by investment capacity: the larger of declared net worth (its band's
    /// lower bound) and assets under management, against the configured thresholds.
    Segment { Retail => "retail", Affluent => "affluent", Hni => "hni", UltraHni => "ultra_hni" }
);

impl NetWorthBand {
    /// The least the band declares (INR).
    pub fn lower_bound(self) -> Decimal {
        use NetWorthBand::*;
        Decimal::from(match self {
            Below10Lakh => 0_i64,
            Lakh10To1Crore => 1_000_000,
            Crore1To5 => 10_000_000,
            Crore5To25 => 50_000_000,
            Above25Crore => 250_000_000,
        })
    }
}

/// The least capacity (INR) of each segment above `retail`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SegmentThresholds {
    pub affluent: Decimal,
    pub hni: Decimal,
    pub ultra_hni: Decimal,
}

impl Default for SegmentThresholds {
    /// Affluent from ₹10 lakh, HNI from ₹1 crore, ultra-HNI from ₹5 crore.
    fn default() -> Self {
        Self {
            affluent: Decimal::from(1_000_000),
            hni: Decimal::from(10_000_000),
            ultra_hni: Decimal::from(50_000_000),
        }
    }
}

impl SegmentThresholds {
    /// Thresholds as configured: `affluent=1000000,hni=10000000,ultra_hni=50000000` (INR;
    /// any left out keep their default); they must rise.
    pub fn parse(raw: &str) -> Result<Self, InvalidValue> {
        let mut t = Self::default();
        for part in raw.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let (name, value) = part
                .split_once('=')
                .ok_or_else(|| InvalidValue::new(format!("`{part}` is not name=amount")))?;
            let amount: Decimal = value
                .trim()
                .parse()
                .map_err(|_| InvalidValue::new(format!("`{value}` is not an amount in rupees")))?;
            if amount <= Decimal::ZERO {
                return Err(InvalidValue::new("a threshold is above zero"));
            }
            match name.trim() {
                "affluent" => t.affluent = amount,
                "hni" => t.hni = amount,
                "ultra_hni" => t.ultra_hni = amount,
                other => {
                    return Err(InvalidValue::new(format!(
                        "unknown segment `{other}` (affluent, hni, ultra_hni)"
                    )))
                }
            }
        }
        if !(t.affluent < t.hni && t.hni < t.ultra_hni) {
            return Err(InvalidValue::new(
                "thresholds rise: affluent < hni < ultra_hni",
            ));
        }
        Ok(t)
    }

    /// The segment of a capacity of `amount` (INR).
    pub fn segment(&self, amount: Decimal) -> Segment {
        if amount >= self.ultra_hni {
            Segment::UltraHni
        } else if amount >= self.hni {
            Segment::Hni
        } else if amount >= self.affluent {
            Segment::Affluent
        } else {
            Segment::Retail
        }
    }

    /// The segment of a client who declared `net_worth` and holds `aum`.
    pub fn of(&self, net_worth: Option<NetWorthBand>, aum: Option<Decimal>) -> Segment {
        self.segment(Self::capacity(net_worth, aum))
    }

    fn capacity(net_worth: Option<NetWorthBand>, aum: Option<Decimal>) -> Decimal {
        let declared = net_worth.map_or(Decimal::ZERO, NetWorthBand::lower_bound);
        declared.max(aum.unwrap_or_default())
    }

    /// The least capacity of `segment`.
    pub fn threshold(&self, segment: Segment) -> Decimal {
        match segment {
            Segment::Retail => Decimal::ZERO,
            Segment::Affluent => self.affluent,
            Segment::Hni => self.hni,
            Segment::UltraHni => self.ultra_hni,
        }
    }

    /// Where a review puts a client now in `current`: up as soon as the capacity reaches a
    /// higher threshold; down only once it is below 90 % of the current segment's (so that a
    /// client near a threshold does not move with every price tick).
    pub fn review(
        &self,
        current: Segment,
        net_worth: Option<NetWorthBand>,
        aum: Option<Decimal>,
    ) -> Segment {
        let capacity = Self::capacity(net_worth, aum);
        let to = self.segment(capacity);
        if to < current
            && capacity * Decimal::from(10) >= self.threshold(current) * Decimal::from(9)
        {
            current
        } else {
            to
        }
    }
}
