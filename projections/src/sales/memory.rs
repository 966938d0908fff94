//! The sales facts read model held in memory. Each process keeps a copy of what the sales
//! report counts — per lead its moments, its stays in each stage and its follow-ups; no sealed
//! text, only blind indexes — and follows the model by the commit-order key each lead was
//! saved at: before a report, it reads again the leads saved past its own checkpoint, all in
//! one snapshot with the model's checkpoint. A new build of the model's tables (a rebuild, a
//! restore) is read again whole. A report is then one pass over the leads whatever its period
//! or moment, with exact medians, instead of a walk over a year of index entries per request.
//!
//! The stays and follow-ups are kept in two flat arrays, in the order of their leads, so that a
//! report reads them from memory in order rather than chasing each lead's own list.
//!
//! Memory: about 480 bytes a lead with its stays and follow-ups (40 MB for 87,586 leads).

use std::collections::{HashMap, HashSet};
use std::ops::Range;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use domain::lead::{FollowUpState, LeadSource, LeadStatus};
use sqlx::Row;
use store::{Checkpoint, Db};
use tokio::sync::{Mutex, OwnedRwLockReadGuard, RwLock};
use uuid::Uuid;

use super::NAME;
use crate::ProjectionError;

/// The copy of one store's sales facts.
#[derive(Default)]
pub struct SalesMemory {
    known: Arc<RwLock<Known>>,
    /// Held by the one request bringing the copy up; the others count from it meanwhile.
    refreshing: Mutex<()>,
}

/// What the copy holds, as of `checkpoint` of the model's build `generation`.
#[derive(Default)]
pub(super) struct Known {
    /// `None` until first read.
    generation: Option<Option<String>>,
    checkpoint: Checkpoint,
    pub(super) leads: Vec<LeadFacts>,
    /// Every lead's stays and follow-ups, each lead's together; those of a lead saved again
    /// since are marked [`GONE`] until the arrays are compacted.
    pub(super) stays: Vec<Stay>,
    pub(super) follow_ups: Vec<FollowUp>,
    /// Where each lead's rows are in those arrays.
    rows: Vec<(Range<usize>, Range<usize>)>,
    gone: usize,
    pub(super) groups: Vec<Group>,
    group_ids: HashMap<Group, u32>,
    by_id: HashMap<Uuid, usize>,
    /// Blind indexes, each held once.
    texts: HashSet<Arc<str>>,
}

/// The lead of a stay or follow-up no longer held.
pub(super) const GONE: u32 = u32::MAX;

/// A moment as microseconds since 1970 (UTC), what the copy compares.
pub(super) fn micros(t: DateTime<Utc>) -> i64 {
    t.timestamp_micros()
}

/// What the report filters and groups leads by: their source, campaign (a blind index) and
/// holder. Few, so each is held once and leads refer to it by number.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(super) struct Group {
    pub(super) source: LeadSource,
    pub(super) campaign_index: Option<Arc<str>>,
    pub(super) assignee: Option<Uuid>,
}

/// One lead as the report counts it (the columns of `sales_leads` of the same names).
#[derive(Debug, Clone)]
pub(super) struct LeadFacts {
    /// Its [`Group`] in [`Known::groups`].
    pub(super) group: u32,
    /// Moments in [`micros`].
    pub(super) created_at: i64,
    pub(super) status: LeadStatus,
    pub(super) furthest: i64,
    /// When it first reached contacted, qualified and converted (or a stage beyond).
    pub(super) reached: [Option<i64>; 3],
    pub(super) first_response_at: Option<i64>,
    pub(super) response_secs: Option<i64>,
    pub(super) client_id: Option<Uuid>,
    pub(super) lost_reason_index: Option<Arc<str>>,
    pub(super) merged: bool,
    pub(super) archived: bool,
    /// Its row no longer reads (an unknown source or status): counted nowhere.
    pub(super) unread: bool,
}

/// A stay in a stage of the lead at `lead` in [`Known::leads`].
#[derive(Debug, Clone)]
pub(super) struct Stay {
    pub(super) lead: u32,
    pub(super) stage: LeadStatus,
    pub(super) entered_at: i64,
    pub(super) left_at: Option<i64>,
    pub(super) secs: Option<i64>,
}

#[derive(Debug, Clone)]
pub(super) struct FollowUp {
    pub(super) lead: u32,
    pub(super) due_at: i64,
    pub(super) closed_at: Option<i64>,
    pub(super) state: FollowUpState,
}

fn follow_up_state(s: &str) -> Option<FollowUpState> {
    [
        FollowUpState::Open,
        FollowUpState::Completed,
        FollowUpState::Cancelled,
        FollowUpState::Moved,
    ]
    .into_iter()
    .find(|f| super::state_name(*f) == s)
}

const LEAD_COLUMNS: &str = "l.lead_id, l.source, l.campaign_index, l.assignee, l.created_at,
    l.status, l.furthest, l.reached_contacted_at, l.reached_qualified_at, l.reached_converted_at,
    l.first_response_at, l.response_secs, l.client_id, l.lost_reason_index, l.merged, l.archived";

/// Where the model stands: its build and its checkpoint.
type Marker = (Option<String>, Checkpoint);

const MARKER: &str =
    "SELECT generation, tx_id, position FROM projection_checkpoints WHERE name = $1";

/// The rows one read gives: leads, stays and follow-ups, each by lead id.
type LeadRow = (Uuid, Option<(Group, LeadFacts)>);
type StayRow = (Uuid, Option<Stay>);
type FollowUpRow = (Uuid, Option<FollowUp>);

/// What one read gave: where the model stood, and the leads saved with their stays and
/// follow-ups.
struct Rows {
    marker: Marker,
    leads: Vec<LeadRow>,
    stays: Vec<StayRow>,
    follow_ups: Vec<FollowUpRow>,
}

/// Reads the marker and, past `since` (everything when `None`), the leads saved with their
/// stays and follow-ups, in one snapshot of the store.
async fn read(db: &Db, since: Option<Checkpoint>) -> Result<Rows, ProjectionError> {
    let (saved, join) = match since {
        Some(_) => (
            " WHERE (l.saved_tx, l.saved_position) > ($1, $2)",
            " JOIN sales_leads l ON l.lead_id = x.lead_id",
        ),
        None => ("", ""),
    };
    let leads_sql = format!("SELECT {LEAD_COLUMNS} FROM sales_leads l{saved}");
    let stays_sql = format!(
        "SELECT x.lead_id, x.stage, x.entered_at, x.left_at, x.secs FROM sales_stages x{join}{saved}"
    );
    let follow_ups_sql = format!(
        "SELECT x.lead_id, x.due_at, x.closed_at, x.state FROM sales_follow_ups x{join}{saved}"
    );
    let postgres = matches!(db, Db::Postgres(_));
    let id = |s: String| Uuid::parse_str(&s).unwrap_or_default();
    Ok(store::with_db!(db, pool => {
        let mut tx = crate::leads::query::begin_snapshot!(pool, postgres);
        if postgres {
            // Table names are looked up at each statement, not in the snapshot: a rebuild's
            // swap must come wholly before this read or wait for it.
            sqlx::query("LOCK TABLE sales_leads, sales_stages, sales_follow_ups IN ACCESS SHARE MODE")
                .execute(&mut *tx)
                .await?;
        }
        let (generation, tx_id, position): (Option<String>, i64, i64) = sqlx::query_as(MARKER)
            .bind(NAME)
            .fetch_optional(&mut *tx)
            .await?
            .unwrap_or_default();
        let leads = sqlx::query(&leads_sql)
            .past(since)
            .fetch_all(&mut *tx)
            .await?
            .iter()
            .map(|r| -> Result<LeadRow, sqlx::Error> {
                let lead = (|| -> Result<Option<(Group, LeadFacts)>, sqlx::Error> {
                    let (Some(source), Some(status)) = (
                        LeadSource::parse(&r.try_get::<String, _>(1)?),
                        LeadStatus::parse(&r.try_get::<String, _>(5)?),
                    ) else {
                        return Ok(None);
                    };
                    let uuid = |i: usize| -> Result<Option<Uuid>, sqlx::Error> {
                        Ok(r.try_get::<Option<String>, _>(i)?
                            .and_then(|s| Uuid::parse_str(&s).ok()))
                    };
                    let at = |i: usize| -> Result<Option<i64>, sqlx::Error> {
                        Ok(r.try_get::<Option<DateTime<Utc>>, _>(i)?.map(micros))
                    };
                    let group = Group {
                        source,
                        campaign_index: r.try_get::<Option<String>, _>(2)?.map(Arc::from),
                        assignee: uuid(3)?,
                    };
                    Ok(Some((group, LeadFacts {
                        group: 0,
                        created_at: micros(r.try_get(4)?),
                        status,
                        furthest: r.try_get(6)?,
                        reached: [at(7)?, at(8)?, at(9)?],
                        first_response_at: at(10)?,
                        response_secs: r.try_get(11)?,
                        client_id: uuid(12)?,
                        lost_reason_index: r.try_get::<Option<String>, _>(13)?.map(Arc::from),
                        merged: r.try_get(14)?,
                        archived: r.try_get(15)?,
                        unread: false,
                    })))
                })()?;
                Ok((id(r.try_get(0)?), lead))
            })
            .collect::<Result<Vec<_>, _>>()?;
        let stays = sqlx::query(&stays_sql)
            .past(since)
            .fetch_all(&mut *tx)
            .await?
            .iter()
            .map(|r| -> Result<StayRow, sqlx::Error> {
                let stay = match LeadStatus::parse(&r.try_get::<String, _>(1)?) {
                    Some(stage) => Some(Stay {
                        lead: GONE,
                        stage,
                        entered_at: micros(r.try_get(2)?),
                        left_at: r.try_get::<Option<DateTime<Utc>>, _>(3)?.map(micros),
                        secs: r.try_get(4)?,
                    }),
                    None => None,
                };
                Ok((id(r.try_get(0)?), stay))
            })
            .collect::<Result<Vec<_>, _>>()?;
        let follow_ups = sqlx::query(&follow_ups_sql)
            .past(since)
            .fetch_all(&mut *tx)
            .await?
            .iter()
            .map(|r| -> Result<FollowUpRow, sqlx::Error> {
                let follow_up = match follow_up_state(&r.try_get::<String, _>(3)?) {
                    Some(state) => Some(FollowUp {
                        lead: GONE,
                        due_at: micros(r.try_get(1)?),
                        closed_at: r.try_get::<Option<DateTime<Utc>>, _>(2)?.map(micros),
                        state,
                    }),
                    None => None,
                };
                Ok((id(r.try_get(0)?), follow_up))
            })
            .collect::<Result<Vec<_>, _>>()?;
        tx.rollback().await?;
        Rows {
            marker: (generation, Checkpoint { tx_id, position }),
            leads,
            stays,
            follow_ups,
        }
    }))
}

/// Binds the checkpoint a read goes on from, if any.
trait Past: Sized {
    fn past(self, since: Option<Checkpoint>) -> Self;
}

impl<'q, DB: sqlx::Database> Past
    for sqlx::query::Query<'q, DB, <DB as sqlx::Database>::Arguments<'q>>
where
    i64: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
{
    fn past(self, since: Option<Checkpoint>) -> Self {
        match since {
            Some(c) => self.bind(c.tx_id).bind(c.position),
            None => self,
        }
    }
}

/// Takes row `n` into `rows`, which ends right before it or is not started.
fn extend(rows: &mut Range<usize>, n: usize) {
    if rows.end == n {
        rows.end = n + 1;
    } else {
        *rows = n..n + 1;
    }
}

impl Known {
    /// Drops the rows marked gone, keeping each lead's together.
    fn compact(&mut self) {
        self.stays.retain(|s| s.lead != GONE);
        self.follow_ups.retain(|f| f.lead != GONE);
        let mut rows = vec![(0..0, 0..0); self.leads.len()];
        for (n, s) in self.stays.iter().enumerate() {
            extend(&mut rows[s.lead as usize].0, n);
        }
        for (n, f) in self.follow_ups.iter().enumerate() {
            extend(&mut rows[f.lead as usize].1, n);
        }
        self.rows = rows;
        self.gone = 0;
    }

    /// About how many bytes the copy takes (its arrays and maps, without the allocator's own).
    fn bytes(&self) -> usize {
        use std::mem::size_of;
        let texts: usize = self.texts.iter().map(|t| t.len() + 16).sum();
        self.leads.capacity() * size_of::<LeadFacts>()
            + self.stays.capacity() * size_of::<Stay>()
            + self.follow_ups.capacity() * size_of::<FollowUp>()
            + self.rows.capacity() * size_of::<(Range<usize>, Range<usize>)>()
            + self.by_id.capacity() * (size_of::<(Uuid, usize)>() + 1)
            + self.texts.capacity() * (size_of::<Arc<str>>() + 1)
            + texts
            + self.groups.capacity() * size_of::<Group>() * 2
    }

    /// The log position the copy is as of.
    pub(super) fn position(&self) -> i64 {
        self.checkpoint.position
    }

    /// Whether the copy is of the build `marker` names, at or past its checkpoint.
    fn fresh(&self, marker: &Marker) -> bool {
        self.generation.as_ref() == Some(&marker.0) && self.checkpoint >= marker.1
    }

    fn group(&mut self, g: Group) -> u32 {
        if let Some(&n) = self.group_ids.get(&g) {
            return n;
        }
        let n = self.groups.len() as u32;
        self.groups.push(g.clone());
        self.group_ids.insert(g, n);
        n
    }

    fn text(&mut self, t: Option<Arc<str>>) -> Option<Arc<str>> {
        let t = t?;
        if let Some(held) = self.texts.get(&t) {
            return Some(held.clone());
        }
        self.texts.insert(t.clone());
        Some(t)
    }

    /// Takes in the leads `rows` holds, in place of what it held of them.
    fn take(&mut self, rows: Rows) {
        let Rows {
            marker,
            leads,
            stays,
            follow_ups,
        } = rows;
        let mut changed: HashMap<Uuid, (LeadFacts, Vec<Stay>, Vec<FollowUp>)> =
            HashMap::with_capacity(leads.len());
        for (id, lead) in leads {
            let Some((mut group, mut lead)) = lead else {
                // Held from before: counted nowhere now, rather than as it was.
                if let Some(&i) = self.by_id.get(&id) {
                    self.forget_rows(i);
                    self.leads[i].unread = true;
                }
                continue;
            };
            group.campaign_index = self.text(group.campaign_index.take());
            lead.group = self.group(group);
            lead.lost_reason_index = self.text(lead.lost_reason_index.take());
            changed.insert(id, (lead, Vec::new(), Vec::new()));
        }
        for (id, stay) in stays {
            if let (Some(lead), Some(stay)) = (changed.get_mut(&id), stay) {
                lead.1.push(stay);
            }
        }
        for (id, follow_up) in follow_ups {
            if let (Some(lead), Some(f)) = (changed.get_mut(&id), follow_up) {
                lead.2.push(f);
            }
        }
        // In the order captured: reports count the recent leads' rows close together.
        let mut changed: Vec<_> = changed.into_iter().collect();
        changed.sort_by_key(|(_, (lead, _, _))| lead.created_at);
        for (id, (lead, stays, follow_ups)) in changed {
            let i = match self.by_id.get(&id) {
                Some(&i) => {
                    self.forget_rows(i);
                    self.leads[i] = lead;
                    i
                }
                None => {
                    self.by_id.insert(id, self.leads.len());
                    self.leads.push(lead);
                    self.rows.push((0..0, 0..0));
                    self.leads.len() - 1
                }
            };
            let at = self.stays.len()..self.stays.len() + stays.len();
            let fat = self.follow_ups.len()..self.follow_ups.len() + follow_ups.len();
            self.stays.extend(stays.into_iter().map(|s| Stay {
                lead: i as u32,
                ..s
            }));
            self.follow_ups
                .extend(follow_ups.into_iter().map(|f| FollowUp {
                    lead: i as u32,
                    ..f
                }));
            self.rows[i] = (at, fat);
        }
        if self.gone > (self.stays.len() + self.follow_ups.len()) / 4 {
            self.compact();
        }
        self.generation = Some(marker.0);
        self.checkpoint = marker.1;
    }

    /// Marks the stays and follow-ups of the lead at `i` gone.
    fn forget_rows(&mut self, i: usize) {
        let (stays, follow_ups) = std::mem::take(&mut self.rows[i]);
        self.gone += stays.len() + follow_ups.len();
        for s in &mut self.stays[stays] {
            s.lead = GONE;
        }
        for f in &mut self.follow_ups[follow_ups] {
            f.lead = GONE;
        }
    }
}

/// Where the model stands now.
async fn where_model_stands(db: &Db) -> Result<Marker, ProjectionError> {
    Ok(store::with_db!(db, pool => {
        let row: Option<(Option<String>, i64, i64)> =
            sqlx::query_as(MARKER).bind(NAME).fetch_optional(pool).await?;
        let (generation, tx_id, position) = row.unwrap_or_default();
        (generation, Checkpoint { tx_id, position })
    }))
}

impl SalesMemory {
    pub fn new() -> Self {
        Self::default()
    }

    /// The copy, brought up to where the model stands now.
    pub(super) async fn current(
        &self,
        db: &Db,
    ) -> Result<OwnedRwLockReadGuard<Known>, ProjectionError> {
        let marker = where_model_stands(db).await?;
        let known = self.known.clone().read_owned().await;
        if known.fresh(&marker) {
            return Ok(known);
        }
        drop(known);
        let _one = self.refreshing.lock().await;
        // Where the model stands now: another request may have brought the copy up meanwhile,
        // to this or to a newer build.
        let marker = where_model_stands(db).await?;
        let since = {
            let known = self.known.read().await;
            if known.fresh(&marker) {
                // Brought up by another request meanwhile.
                drop(known);
                return Ok(self.known.clone().read_owned().await);
            }
            (known.generation.as_ref() == Some(&marker.0)).then_some(known.checkpoint)
        };
        let mut rows = read(db, since).await?;
        let went_on = since.is_some_and(|c| rows.marker.0 == marker.0 && rows.marker.1 >= c);
        if went_on {
            // What was saved since: taken in place, briefly.
            self.known.write().await.take(rows);
        } else {
            // A new build of the tables: read whole and built apart (reports already counting
            // from the copy held finish with it; new ones wait for this one), then put in its
            // place.
            if since.is_some() {
                rows = read(db, None).await?;
            }
            let mut whole = Known::default();
            whole.take(rows);
            *self.known.write().await = whole;
        }
        Ok(self.known.clone().read_owned().await)
    }

    /// Reads the copy now (at start-up, so that the first report does not wait for it):
    /// how many leads it holds, and about how many bytes.
    pub async fn warm(&self, db: &Db) -> Result<(usize, usize), ProjectionError> {
        let known = self.current(db).await?;
        Ok((known.leads.len(), known.bytes()))
    }
}
