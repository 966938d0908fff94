//! Near duplicates among open leads, found without opening anyone's data: each lead keeps
//! blind indexes of normalised variants of its contacts (the e-mail address without Gmail's
//! dots or any `+tag`; the mobile number and every number one swap of neighbouring digits
//! away; the name's words in order), and two leads that share one are a candidate pair.

use std::collections::{BTreeMap, BTreeSet};

use store::privacy::Keyring;
use store::{with_db, Db};
use uuid::Uuid;

use crate::{with_tx, ProjectionError, Tx};

use super::LeadView;

/// The blind-index kind of every token here.
const KIND: &str = "near";

/// An e-mail address as the mailbox it reaches: lower case, no `+tag`; Gmail ignores dots and
/// `googlemail.com` is `gmail.com`.
pub fn canonical_email(email: &str) -> Option<String> {
    let email = email.trim().to_lowercase();
    let (local, domain) = email.split_once('@')?;
    let local = local.split('+').next().unwrap_or(local);
    let (local, domain) = match domain {
        "gmail.com" | "googlemail.com" => (local.replace('.', ""), "gmail.com"),
        d => (local.to_string(), d),
    };
    (!local.is_empty()).then(|| format!("{local}@{domain}"))
}

/// The ten digits of an Indian mobile number as stored (`+91…`).
fn national(phone: &str) -> Option<String> {
    let digits: String = phone.chars().filter(char::is_ascii_digit).collect();
    let n = digits.strip_prefix("91").unwrap_or(&digits);
    (n.len() == 10).then(|| n.to_string())
}

/// The number and every number one swap of neighbouring digits away.
pub fn phone_variants(national: &str) -> Vec<String> {
    let d: Vec<char> = national.chars().collect();
    let mut out = vec![national.to_string()];
    for i in 0..d.len().saturating_sub(1) {
        if d[i] != d[i + 1] {
            let mut v = d.clone();
            v.swap(i, i + 1);
            out.push(v.into_iter().collect());
        }
    }
    out
}

/// The name's words, lower case, in order (so `Rao Asha` is `Asha Rao`).
fn name_key(name: &str) -> Option<String> {
    let mut w = super::words(name);
    w.sort();
    (!w.is_empty()).then(|| w.join(" "))
}

/// The tokens of a lead that may have near duplicates (open: not archived, converted, erased
/// or restricted), each with its kind.
fn tokens(keyring: &Keyring, v: &LeadView) -> Vec<(String, &'static str)> {
    let open = v.listed()
        && v.status != domain::lead::LeadStatus::Converted
        && v.privacy.erasure_requested_at.is_none()
        && v.privacy.erased_at.is_none();
    if !open {
        return Vec::new();
    }
    let token = |tag: &str, value: &str| keyring.blind_index(KIND, &format!("{tag}:{value}"));
    let mut out = Vec::new();
    if let Some(e) = v.email.as_deref().and_then(canonical_email) {
        out.push((token("e", &e), "email"));
    }
    if let Some(n) = v.phone.as_deref().and_then(national) {
        out.push((token("p", &n), "phone"));
        for variant in phone_variants(&n) {
            out.push((token("t", &variant), "phone_near"));
        }
    }
    if let Some(n) = name_key(&v.name) {
        out.push((token("n", &n), "name"));
    }
    out
}

/// Replaces the saved leads' tokens.
pub(super) async fn save(
    keyring: &Keyring,
    tx: &mut Tx,
    suffix: &str,
    saved: &[(&LeadView, bool)],
) -> Result<(), ProjectionError> {
    // Only leads whose contacts or standing may have changed (or whose key is gone).
    let saved: Vec<&(&LeadView, bool)> = saved
        .iter()
        .filter(|(v, shredded)| v.index_dirty || *shredded)
        .collect();
    if saved.is_empty() {
        return Ok(());
    }
    let ids: Vec<String> = saved.iter().map(|(v, _)| v.lead_id.to_string()).collect();
    let ids = serde_json::to_string(&ids).expect("ids serialize");
    let mut rows: Vec<(String, String, &str)> = Vec::new();
    for (v, shredded) in saved.iter().copied() {
        if *shredded {
            continue;
        }
        let id = v.lead_id.to_string();
        for (t, kind) in tokens(keyring, v) {
            rows.push((t, id.clone(), kind));
        }
    }
    let rows = serde_json::to_string(&rows).expect("rows serialize");
    let delete = format!(
        "DELETE FROM lead_near{suffix} WHERE {}",
        crate::schema::member_of(tx, "lead_id", 1)
    );
    let insert = match tx {
        Tx::Sqlite(_) => format!(
            "INSERT INTO lead_near{suffix} (token, lead_id, kind)
             SELECT value ->> '$[0]', value ->> '$[1]', value ->> '$[2]' FROM json_each($1)
              WHERE true ON CONFLICT DO NOTHING"
        ),
        Tx::Postgres(_) => format!(
            "INSERT INTO lead_near{suffix} (token, lead_id, kind)
             SELECT r ->> 0, r ->> 1, r ->> 2 FROM json_array_elements($1::json) AS r
             ON CONFLICT DO NOTHING"
        ),
    };
    with_tx!(tx, t => {
        sqlx::query(&delete).bind(&ids).execute(&mut **t).await?;
        sqlx::query(&insert).bind(&rows).execute(&mut **t).await?;
    });
    Ok(())
}

/// Why two leads look like one person.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Reason {
    /// The same mailbox once Gmail's dots and `+tags` are set aside.
    SameMailbox,
    /// The same name and the same mobile number (another e-mail address).
    SameNameAndPhone,
    /// The same name, the mobile number one or two swaps of neighbouring digits apart.
    SameNameTransposedPhone,
    /// The same mobile number under another name (a family's shared phone, or a typo).
    SamePhone,
}

impl Reason {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::SameMailbox => "same_mailbox",
            Self::SameNameAndPhone => "same_name_and_phone",
            Self::SameNameTransposedPhone => "same_name_transposed_phone",
            Self::SamePhone => "same_phone",
        }
    }

    pub fn score(self) -> i64 {
        match self {
            Self::SameMailbox => 90,
            Self::SameNameAndPhone => 85,
            Self::SameNameTransposedPhone => 75,
            Self::SamePhone => 50,
        }
    }
}

/// A pair of open leads that look like one person: the higher score first, with every reason.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NearPair {
    pub first: Uuid,
    pub second: Uuid,
    pub score: i64,
    pub reasons: Vec<Reason>,
}

/// Every candidate pair, best first.
pub async fn pairs(db: &Db) -> Result<Vec<NearPair>, ProjectionError> {
    let rows: Vec<(String, String, String)> = with_db!(db, pool => {
        sqlx::query_as(
            "SELECT DISTINCT a.lead_id, b.lead_id, a.kind FROM lead_near a
               JOIN lead_near b ON b.token = a.token AND b.lead_id > a.lead_id
              WHERE a.kind IN ('email', 'phone', 'phone_near')",
        )
        .fetch_all(pool)
        .await?
    });
    let mut shared: BTreeMap<(String, String), BTreeSet<String>> = BTreeMap::new();
    for (a, b, kind) in rows {
        shared.entry((a, b)).or_default().insert(kind);
    }
    if shared.is_empty() {
        return Ok(Vec::new());
    }
    // Names only for the candidates (a common name alone is no reason).
    let mut ids: Vec<&String> = shared.keys().flat_map(|(a, b)| [a, b]).collect();
    ids.sort();
    ids.dedup();
    let list = serde_json::to_string(&ids).expect("ids serialize");
    let names: Vec<(String, String)> = with_db!(db, pool => {
        let sql = format!(
            "SELECT lead_id, token FROM lead_near WHERE kind = 'name' AND {}",
            crate::schema::member_of_db(db, "lead_id", 1)
        );
        sqlx::query_as(&sql).bind(&list).fetch_all(pool).await?
    });
    let names: BTreeMap<String, String> = names.into_iter().collect();
    let mut out = Vec::new();
    for ((a, b), kinds) in shared {
        let same_name = matches!((names.get(&a), names.get(&b)), (Some(x), Some(y)) if x == y);
        let mut reasons = Vec::new();
        if kinds.contains("email") {
            reasons.push(Reason::SameMailbox);
        }
        if kinds.contains("phone") {
            reasons.push(if same_name {
                Reason::SameNameAndPhone
            } else {
                Reason::SamePhone
            });
        } else if kinds.contains("phone_near") && same_name {
            reasons.push(Reason::SameNameTransposedPhone);
        }
        let Some(score) = reasons.iter().map(|r| r.score()).max() else {
            continue;
        };
        let (Ok(first), Ok(second)) = (Uuid::parse_str(&a), Uuid::parse_str(&b)) else {
            continue;
        };
        out.push(NearPair {
            first,
            second,
            score: (score + 5 * (reasons.len() as i64 - 1)).min(100),
            reasons,
        });
    }
    out.sort_by(|x, y| {
        y.score
            .cmp(&x.score)
            .then(x.first.cmp(&y.first))
            .then(x.second.cmp(&y.second))
    });
    Ok(out)
}

/// An open lead whose e-mail address or phone number is a client's: most likely a client
/// who came in again as a prospect (merge the lead into the client).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientMatch {
    pub lead_id: Uuid,
    pub client_id: Uuid,
    pub same_email: bool,
    pub same_phone: bool,
}

impl ClientMatch {
    /// 90 for the same e-mail address, 80 for the same phone, 95 for both.
    pub fn score(&self) -> i64 {
        match (self.same_email, self.same_phone) {
            (true, true) => 95,
            (true, false) => 90,
            _ => 80,
        }
    }
}

/// Every open lead (not converted, archived, merged, restricted or erased) sharing an e-mail
/// address or a phone number with a client who is not restricted or erased, by the blind
/// indexes both read models keep: best first.
pub async fn client_matches(db: &Db) -> Result<Vec<ClientMatch>, ProjectionError> {
    const OPEN: &str = "NOT l.archived AND NOT l.erased AND NOT l.restricted
                        AND l.status <> 'converted' AND NOT c.restricted AND c.status <> 'erased'";
    let sql = format!(
        "SELECT l.lead_id, c.client_id, 'email' FROM leads l
           JOIN clients c ON c.email_index = l.email_index WHERE {OPEN}
         UNION ALL
         SELECT l.lead_id, c.client_id, 'phone' FROM leads l
           JOIN clients c ON c.phone_index = l.phone_index WHERE {OPEN}"
    );
    let rows: Vec<(String, String, String)> = with_db!(db, pool => {
        sqlx::query_as(&sql).fetch_all(pool).await?
    });
    let mut found: BTreeMap<(String, String), (bool, bool)> = BTreeMap::new();
    for (lead, client, kind) in rows {
        let e = found.entry((lead, client)).or_default();
        match kind.as_str() {
            "email" => e.0 = true,
            _ => e.1 = true,
        }
    }
    let mut out: Vec<ClientMatch> = found
        .into_iter()
        .filter_map(|((l, c), (same_email, same_phone))| {
            Some(ClientMatch {
                lead_id: Uuid::parse_str(&l).ok()?,
                client_id: Uuid::parse_str(&c).ok()?,
                same_email,
                same_phone,
            })
        })
        .collect();
    out.sort_by(|x, y| {
        y.score()
            .cmp(&x.score())
            .then(x.lead_id.cmp(&y.lead_id))
            .then(x.client_id.cmp(&y.client_id))
    });
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mailboxes_and_numbers_are_normalised() {
        assert_eq!(
            canonical_email("Asha.Rao+leads@GoogleMail.com").as_deref(),
            Some("asharao@gmail.com")
        );
        assert_eq!(
            canonical_email("asha.rao+x@example.in").as_deref(),
            Some("asha.rao@example.in")
        );
        assert_eq!(national("+919876543210").as_deref(), Some("9876543210"));
        let v = phone_variants("9876543210");
        assert!(v.contains(&"9867543210".to_string()), "7 and 6 swapped");
        assert!(
            v.contains(&"9876543201".to_string()),
            "the last two swapped"
        );
        assert!(
            !v.contains(&"8976543201".to_string()),
            "two swaps are not one"
        );
        assert_eq!(v.len(), 10, "the number and nine swaps");
        assert_eq!(
            phone_variants("9999999999").len(),
            1,
            "equal neighbours swap to itself"
        );
        assert_eq!(name_key("Rao  Asha").as_deref(), Some("asha rao"));
    }
}
