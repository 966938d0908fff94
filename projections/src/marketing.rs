//! Who marketing may contact on a channel now: people who gave consent for it and whose
//! processing is not restricted, leads and clients together. A withdrawal (or an erasure
//! request) takes them off the list as soon as the projection applies it.

use domain::lead::MarketingChannel;
use serde_json::Value;
use store::privacy::Keyring;
use store::{with_db, Db};
use uuid::Uuid;

use crate::clients::query::ClientScope;
use crate::leads::query::{bind_all, Bind, LeadScope, QueryError, Sql};

/// The channels stored for a person: ` email sms ` (space-delimited, for `LIKE '% sms %'`),
/// or a single space when marketing may not contact them at all.
pub fn channels(open: bool, consents: &[MarketingChannel]) -> String {
    let mut s = String::from(" ");
    if open {
        for c in consents {
            s.push_str(c.as_str());
            s.push(' ');
        }
    }
    s
}

/// One person marketing may contact.
#[derive(Debug, Clone, PartialEq)]
pub struct Recipient {
    /// `lead` or `client`.
    pub kind: &'static str,
    pub id: Uuid,
    pub name: String,
    /// The e-mail address for `email`, the mobile number for the other channels.
    pub contact: String,
}

#[derive(Debug, Clone)]
pub struct AudiencePage {
    pub items: Vec<Recipient>,
    pub next_cursor: Option<String>,
    pub total: i64,
}

/// Who is in the audience of `channel` within what the caller may see: the conditions on
/// the clients and on the leads.
fn filters(
    channel: MarketingChannel,
    leads: &Option<LeadScope>,
    clients: &ClientScope,
) -> (Sql, Sql) {
    let token = format!("% {} %", channel.as_str());
    let mut c = Sql::default();
    let b = c.bind(Bind::Text(token.clone()));
    c.and(format!("marketing LIKE {b}"));
    crate::clients::query::push_scope(&mut c, clients);
    let mut l = Sql::default();
    let b = l.bind(Bind::Text(token));
    l.and(format!("marketing LIKE {b}"));
    // A consent for a channel the person gave no address for reaches nobody.
    l.and(match channel {
        MarketingChannel::Email => "email_index IS NOT NULL".into(),
        _ => "phone_index IS NOT NULL".into(),
    });
    crate::leads::query::push_visible(&mut l, leads);
    (c, l)
}

/// The whole audience of `channel` within what the caller may see, as `(kind, id)`: clients
/// then leads. Nothing is opened (a campaign names its recipients by id; their details are
/// read as each message goes).
pub async fn audience_ids(
    db: &Db,
    channel: MarketingChannel,
    leads: &Option<LeadScope>,
    clients: &ClientScope,
) -> Result<Vec<(&'static str, Uuid)>, QueryError> {
    let (c, l) = filters(channel, leads, clients);
    let clients_sql = format!(
        "SELECT client_id FROM clients{} ORDER BY client_id",
        c.where_clause()
    );
    let leads_sql = format!(
        "SELECT lead_id FROM leads{} ORDER BY lead_id",
        l.where_clause()
    );
    let (cb, lb) = (c.binds, l.binds);
    let (client_ids, lead_ids): (Vec<String>, Vec<String>) = with_db!(db, pool => {
        let a = bind_all!(sqlx::query_scalar(&clients_sql), &cb).fetch_all(pool).await?;
        let b = bind_all!(sqlx::query_scalar(&leads_sql), &lb).fetch_all(pool).await?;
        (a, b)
    });
    let ids = |kind: &'static str, ids: Vec<String>| {
        ids.into_iter()
            .filter_map(move |id| Uuid::parse_str(&id).ok().map(|id| (kind, id)))
    };
    Ok(ids("client", client_ids)
        .chain(ids("lead", lead_ids))
        .collect())
}

/// The audience of `channel` within what the caller may see, clients first then leads, each
/// by id; `cursor` is the last `kind:id` of the previous page.
pub async fn audience(
    db: &Db,
    keyring: &Keyring,
    channel: MarketingChannel,
    leads: &Option<LeadScope>,
    clients: &ClientScope,
    limit: i64,
    cursor: Option<&str>,
) -> Result<AudiencePage, QueryError> {
    let after = match cursor {
        None => None,
        Some(c) => {
            let (kind, id) = c.split_once(':').ok_or(QueryError::BadCursor)?;
            let id = Uuid::parse_str(id).map_err(|_| QueryError::BadCursor)?;
            match kind {
                "client" | "lead" => Some((kind, id)),
                _ => return Err(QueryError::BadCursor),
            }
        }
    };
    let (mut c, mut l) = filters(channel, leads, clients);
    let count_clients = format!("SELECT COUNT(*) FROM clients{}", c.where_clause());
    let count_leads = format!("SELECT COUNT(*) FROM leads{}", l.where_clause());
    let (cb, lb) = (c.binds.clone(), l.binds.clone());
    let total: i64 = with_db!(db, pool => {
        let a: i64 = bind_all!(sqlx::query_scalar(&count_clients), &cb).fetch_one(pool).await?;
        let b: i64 = bind_all!(sqlx::query_scalar(&count_leads), &lb).fetch_one(pool).await?;
        a + b
    });

    let mut items = Vec::new();
    let want = limit + 1;
    // Clients, unless the cursor is already past them.
    if !matches!(after, Some(("lead", _))) {
        if let Some(("client", id)) = after {
            let b = c.bind(Bind::Text(id.to_string()));
            c.and(format!("client_id > {b}"));
        }
        let n = c.bind(Bind::Int(want));
        let sql = format!(
            "SELECT client_id, doc FROM clients{} ORDER BY client_id LIMIT {n}",
            c.where_clause()
        );
        let rows: Vec<(String, Value)> = with_db!(db, pool => {
            bind_all!(sqlx::query_as(&sql), &c.binds).fetch_all(pool).await?
        });
        for (id, doc) in rows {
            let v = crate::clients::open_view(keyring, &id, doc).await?;
            let contact = match channel {
                MarketingChannel::Email => v.email.clone(),
                _ => v.phone.clone(),
            };
            items.push(Recipient {
                kind: "client",
                id: v.client_id,
                name: v.name,
                contact,
            });
        }
    }
    if (items.len() as i64) < want {
        if let Some(("lead", id)) = after {
            let b = l.bind(Bind::Text(id.to_string()));
            l.and(format!("lead_id > {b}"));
        }
        let n = l.bind(Bind::Int(want - items.len() as i64));
        let sql = format!(
            "SELECT lead_id, doc FROM leads{} ORDER BY lead_id LIMIT {n}",
            l.where_clause()
        );
        let rows: Vec<(String, Value)> = with_db!(db, pool => {
            bind_all!(sqlx::query_as(&sql), &l.binds).fetch_all(pool).await?
        });
        for (id, doc) in rows {
            let v = crate::leads::open_view(keyring, &id, doc).await?;
            let contact = match channel {
                MarketingChannel::Email => v.email.clone(),
                _ => v.phone.clone(),
            };
            items.push(Recipient {
                kind: "lead",
                id: v.lead_id,
                name: v.name,
                contact: contact.unwrap_or_default(),
            });
        }
    }
    let more = items.len() as i64 > limit;
    items.truncate(limit as usize);
    let next_cursor = more
        .then(|| items.last().map(|r| format!("{}:{}", r.kind, r.id)))
        .flatten();
    Ok(AudiencePage {
        items,
        next_cursor,
        total,
    })
}
