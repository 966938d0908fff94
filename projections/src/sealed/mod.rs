//! What the projections that open personal data share: making the subjects' keys before a
//! batch's transaction, decoding a stored event with its sealed fields opened, and the one
//! generic read model of sealed documents ([`SealedDocument`]) that every record kind uses.

use std::collections::{BTreeMap, HashMap};
use std::marker::PhantomData;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use cqrs_es::persist::EventUpcaster;
use futures::future::BoxFuture;
use serde::de::DeserializeOwned;
use serde_json::Value;
use store::privacy::{Keyring, PrivacyError};
use store::EventMetadata;

use crate::timeline::RecordView;
use crate::{log, with_tx, Projection, ProjectionError, StoredEvent, Tx};

/// Makes (or finds) the key of every subject of `aggregate_type` in the batch, outside the
/// batch's transaction (making a key writes). Subjects already shredded are passed over.
pub async fn prepare_keys(
    keyring: &Keyring,
    events: &[StoredEvent],
    aggregate_type: &str,
) -> Result<(), ProjectionError> {
    let mut seen = std::collections::HashSet::new();
    for e in events.iter().filter(|e| e.aggregate_type == aggregate_type) {
        if seen.insert(e.aggregate_id.as_str()) {
            match keyring.writer_key(&e.aggregate_id).await {
                Ok(_) | Err(PrivacyError::Shredded) => {}
                Err(err) => return Err(err.into()),
            }
        }
    }
    Ok(())
}

/// Decodes a stored event: its personal fields (at `fields`) opened, then upcast with
/// `upcasters`; an undecodable payload is a [`ProjectionError::Event`] naming the event.
pub async fn decode<E: DeserializeOwned>(
    keyring: &Keyring,
    e: &StoredEvent,
    fields: &[&str],
    upcasters: &[Box<dyn EventUpcaster>],
) -> Result<(E, EventMetadata), ProjectionError> {
    let mut payload = e.payload.clone();
    keyring.open(&e.aggregate_id, &mut payload, fields).await?;
    let payload = log::upcast_payload(e, payload, upcasters);
    let event: E = serde_json::from_value(payload).map_err(|err| {
        ProjectionError::Event(format!(
            "{} {}/{} #{}: {err}",
            e.event_type, e.aggregate_type, e.aggregate_id, e.sequence
        ))
    })?;
    Ok((event, EventMetadata::from_json(&e.metadata)))
}

/// A value of an indexed column, bound the same way on either store.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub enum Cell {
    #[serde(rename = "s")]
    Text(Option<String>),
    #[serde(rename = "i")]
    Int(Option<i64>),
    #[serde(rename = "b")]
    Bool(bool),
    #[serde(rename = "t")]
    Time(Option<DateTime<Utc>>),
}

impl From<&str> for Cell {
    fn from(s: &str) -> Self {
        Cell::Text(Some(s.to_string()))
    }
}
impl From<String> for Cell {
    fn from(s: String) -> Self {
        Cell::Text(Some(s))
    }
}
impl From<Option<String>> for Cell {
    fn from(s: Option<String>) -> Self {
        Cell::Text(s)
    }
}
impl From<i64> for Cell {
    fn from(n: i64) -> Self {
        Cell::Int(Some(n))
    }
}
impl From<Option<i64>> for Cell {
    fn from(n: Option<i64>) -> Self {
        Cell::Int(n)
    }
}
impl From<bool> for Cell {
    fn from(b: bool) -> Self {
        Cell::Bool(b)
    }
}
impl From<DateTime<Utc>> for Cell {
    fn from(t: DateTime<Utc>) -> Self {
        Cell::Time(Some(t))
    }
}
impl From<Option<DateTime<Utc>>> for Cell {
    fn from(t: Option<DateTime<Utc>>) -> Self {
        Cell::Time(t)
    }
}

/// Binds a [`Cell`] as the next value of a row being built (`b`: a query builder's separated
/// values, on either store).
macro_rules! push_cell {
    ($b:expr, $cell:expr) => {
        match $cell {
            Cell::Text(v) => $b.push_bind(v.clone()),
            Cell::Int(v) => $b.push_bind(*v),
            Cell::Bool(v) => $b.push_bind(*v),
            Cell::Time(v) => $b.push_bind(*v),
        }
    };
}

/// A read model of one row per record: the record's whole view as a document whose personal
/// fields are sealed with the subject's key, next to the columns lists filter and sort on
/// (blind indexes instead of personal values). A record kind joins by implementing this on
/// its view; [`apply`] does the rest (load, decode, dead letters, fold, seal, save).
pub trait SealedDocument: RecordView<Event: Send + Sync> + DeserializeOwned + Send + Sync {
    /// The projection's name (dead letters are recorded under it).
    const PROJECTION: &'static str;
    /// The table (without the rebuild suffix) and its key column.
    const TABLE: &'static str;
    const KEY: &'static str;
    /// Where the personal data is in the view's document (sealed at rest).
    const PERSONAL: &'static [&'static str];
    /// The read model's version (a new one rebuilds it) and its tables' definition.
    const VERSION: i64;
    const DDL: &'static str;
    const TABLES: &'static [&'static str];

    fn key(&self) -> String;
    /// Whether the person's data was erased: the document keeps nothing personal then, whether
    /// or not the key is destroyed yet.
    fn erased(&self) -> bool;
    /// Whether processing is restricted (the person asked for erasure, the shred waits):
    /// sales roles no longer see the person's data then.
    fn restricted(&self) -> bool;
    /// The indexed columns, in a fixed order. `shredded` says the subject's personal data is
    /// gone (no blind index may be computed from it).
    fn columns(&self, keyring: &Keyring, shredded: bool) -> Vec<(&'static str, Cell)>;
    /// Columns copied from the sealed document (what a query opens without reading the
    /// whole document), after [`Self::columns`].
    fn sealed_columns(&self, _sealed: &Value) -> Vec<(&'static str, Cell)> {
        Vec::new()
    }
    /// A table of counts per group of records (the table and its group columns), kept with
    /// the documents: each save moves a record from its old groups to its new ones, so that a
    /// count never reads the records themselves. The table has a text key `grp` (the group's
    /// values together), the group columns and the count `n`; the records' table has a text
    /// column `tally_groups`, the groups the record was last counted in.
    const TALLY: Option<(&'static str, &'static [&'static str])> = None;

    /// Whether the records' table has the columns `saved_tx` and `saved_position`: the
    /// commit-order key of the last event of the batch that saved each record last. Batches
    /// are applied in commit order, so the records saved since a checkpoint are those saved
    /// past it: a copy of the model held in memory reads only those again.
    const SAVED_AT: bool = false;

    /// The groups the record counts in (one value per group column each; one group, several
    /// or none), from the columns it is saved with or from what it holds that is not personal:
    /// the old groups are taken from what was stored, so a count never depends on reading a
    /// person's data again (it may be shredded by then).
    fn tallies(&self, _columns: &[(&'static str, Cell)]) -> Vec<Vec<Cell>> {
        Vec::new()
    }

    /// Rows of side tables kept with the documents, replaced on each save.
    fn save_children<'a>(
        _keyring: &'a Keyring,
        _tx: &'a mut Tx,
        _suffix: &'a str,
        _saved: &'a [(&'a Self, bool)],
    ) -> BoxFuture<'a, Result<(), ProjectionError>> {
        Box::pin(async { Ok(()) })
    }
}

/// The projection of a [`SealedDocument`] read model.
pub struct SealedProjection<V> {
    keyring: Arc<Keyring>,
    /// Configuration the documents depend on (0: none): part of the version, so that a change
    /// rebuilds the read model.
    salt: i64,
    view: PhantomData<fn() -> V>,
}

impl<V> SealedProjection<V> {
    pub fn new(keyring: Arc<Keyring>) -> Self {
        Self {
            keyring,
            salt: 0,
            view: PhantomData,
        }
    }

    /// The same projection whose documents depend on configuration fingerprinted by `salt`.
    pub fn with_salt(mut self, salt: i64) -> Self {
        self.salt = salt;
        self
    }
}

impl<V: SealedDocument + 'static> Projection for SealedProjection<V> {
    fn name(&self) -> &'static str {
        V::PROJECTION
    }

    fn version(&self) -> i64 {
        V::VERSION + (self.salt << 16)
    }

    fn ddl(&self) -> &'static str {
        V::DDL
    }

    fn tables(&self) -> &'static [&'static str] {
        V::TABLES
    }

    fn prepare<'a>(
        &'a self,
        events: &'a [StoredEvent],
    ) -> BoxFuture<'a, Result<(), ProjectionError>> {
        Box::pin(prepare_keys(&self.keyring, events, V::AGGREGATE))
    }

    fn apply<'a>(
        &'a self,
        tx: &'a mut Tx,
        suffix: &'a str,
        events: &'a [StoredEvent],
    ) -> BoxFuture<'a, Result<(), ProjectionError>> {
        Box::pin(apply::<V>(&self.keyring, tx, suffix, events))
    }
}

/// What personal data reads as for a sales role once its subject asked for erasure.
pub const RESTRICTED: &str = "[restricted]";

/// The view with its personal data replaced by [`RESTRICTED`].
pub fn masked<V: SealedDocument>(view: V) -> V {
    let mut doc = serde_json::to_value(&view).expect("a view serializes");
    Keyring::mask(&mut doc, V::PERSONAL, RESTRICTED);
    serde_json::from_value(doc).unwrap_or(view)
}

/// Whether `role` may no longer see the personal data of the record whose current state is
/// `now`: its processing is restricted and the role works in sales (compliance and admins
/// still see it).
pub fn restricted_for<V: SealedDocument>(role: domain::user::Role, now: &V) -> bool {
    domain::access::sells(role) && now.restricted()
}

/// The view as `role` may see it.
pub fn shown<V: SealedDocument>(role: domain::user::Role, view: V) -> V {
    if restricted_for(role, &view) {
        masked(view)
    } else {
        view
    }
}

/// Rows per statement.
const CHUNK: usize = 200;

/// Applies a batch of events to `V`'s read model: the events of `V`'s records folded into
/// their stored views, the views sealed and saved once each.
pub async fn apply<V: SealedDocument>(
    keyring: &Keyring,
    tx: &mut Tx,
    suffix: &str,
    events: &[StoredEvent],
) -> Result<(), ProjectionError> {
    let mine: Vec<&StoredEvent> = events
        .iter()
        .filter(|e| e.aggregate_type == V::AGGREGATE)
        .collect();
    if mine.is_empty() {
        return Ok(());
    }
    let mut ids: Vec<String> = Vec::new();
    for e in &mine {
        if !ids.contains(&e.aggregate_id) {
            ids.push(e.aggregate_id.clone());
        }
    }
    let (mut views, before) = load::<V>(keyring, tx, suffix, &ids).await?;
    let upcasters = V::upcasters();
    for e in mine {
        let fields = domain::personal_fields(V::AGGREGATE, &e.event_type).unwrap_or(&[]);
        let (event, meta) = match decode(keyring, e, fields, &upcasters).await {
            Ok(decoded) => decoded,
            // Passed over here (not only by the runner) so that rebuilds get past it too.
            Err(ProjectionError::Event(why)) => {
                crate::runner::record_dead_letter(tx, V::PROJECTION, e, &why).await?;
                continue;
            }
            Err(other) => return Err(other),
        };
        match views.get_mut(&e.aggregate_id) {
            Some(v) => v.apply(&event, &meta, e.sequence, e.position),
            None => match V::start(&event, &meta, e.sequence, e.position) {
                Some(v) => {
                    views.insert(e.aggregate_id.clone(), v);
                }
                None => tracing::warn!(
                    event = e.event_type,
                    position = e.position,
                    record = V::AGGREGATE,
                    "event before the record's first; skipped"
                ),
            },
        }
    }
    let ordered: Vec<&V> = ids.iter().filter_map(|id| views.get(id)).collect();
    let batch_end = events.last().map(|e| e.checkpoint()).unwrap_or_default();
    let after = save(keyring, tx, suffix, &ordered, batch_end).await?;
    if let Some((table, columns)) = V::TALLY {
        let mut moves: BTreeMap<String, (Vec<Cell>, i64)> = BTreeMap::new();
        let mut add = |group: Vec<Cell>, n: i64| {
            moves.entry(group_key(&group)).or_insert((group, 0)).1 += n;
        };
        for group in before {
            add(group, -1);
        }
        for group in after {
            add(group, 1);
        }
        moves.retain(|_, (_, n)| *n != 0);
        move_tallies(tx, &format!("{table}{suffix}"), columns, moves).await?;
    }
    Ok(())
}

/// The value of the column `name` among `columns` (null text when there is none).
pub(crate) fn cell(columns: &[(&'static str, Cell)], name: &str) -> Cell {
    let found = columns.iter().find(|(n, _)| *n == name);
    debug_assert!(found.is_some(), "no saved column {name}");
    found.map_or(Cell::Text(None), |(_, c)| c.clone())
}

/// A group's key in its tally table: its values together, as stored with the record.
fn group_key(group: &[Cell]) -> String {
    serde_json::to_string(group).expect("a group serializes")
}

/// Adds `moves` (by group key: the group's values and a change of count) to the tally table
/// `table`.
async fn move_tallies(
    tx: &mut Tx,
    table: &str,
    columns: &[&str],
    moves: BTreeMap<String, (Vec<Cell>, i64)>,
) -> Result<(), ProjectionError> {
    let moves: Vec<(String, Vec<Cell>, i64)> =
        moves.into_iter().map(|(k, (g, n))| (k, g, n)).collect();
    let names = columns.join(", ");
    for chunk in moves.chunks(CHUNK) {
        with_tx!(tx, t => {
            let mut qb = sqlx::QueryBuilder::new(format!("INSERT INTO {table} (grp, {names}, n) "));
            qb.push_values(chunk, |mut b, (key, group, n)| {
                b.push_bind(key.clone());
                for cell in group {
                    push_cell!(b, cell);
                }
                b.push_bind(*n);
            });
            qb.push(format!(" ON CONFLICT (grp) DO UPDATE SET n = {table}.n + excluded.n"));
            qb.build().execute(&mut **t).await?;
        });
    }
    // A group emptied by these moves goes, as a rebuild would never have written it.
    let lowered: Vec<&str> = moves
        .iter()
        .filter(|(_, _, n)| *n < 0)
        .map(|(k, _, _)| k.as_str())
        .collect();
    if !lowered.is_empty() {
        let sql = format!(
            "DELETE FROM {table} WHERE n = 0 AND {}",
            crate::schema::member_of(tx, "grp", 1)
        );
        let list = serde_json::to_string(&lowered).expect("keys serialize");
        with_tx!(tx, t => {
            sqlx::query(&sql).bind(&list).execute(&mut **t).await?;
        });
    }
    Ok(())
}

/// The stored views of `ids`, opened, and the groups they were counted in.
async fn load<V: SealedDocument>(
    keyring: &Keyring,
    tx: &mut Tx,
    suffix: &str,
    ids: &[String],
) -> Result<(HashMap<String, V>, Vec<Vec<Cell>>), ProjectionError> {
    let mut out = HashMap::new();
    let mut counted = Vec::new();
    let groups = match V::TALLY {
        Some(_) => "tally_groups",
        None => "CAST(NULL AS text)",
    };
    for chunk in ids.chunks(CHUNK) {
        let sql = format!(
            "SELECT {key}, doc, {groups} FROM {table}{suffix} WHERE {}",
            crate::schema::member_of(tx, V::KEY, 1),
            key = V::KEY,
            table = V::TABLE,
        );
        let list = serde_json::to_string(chunk).expect("ids serialize");
        let rows: Vec<(String, Value, Option<String>)> = with_tx!(tx, t => {
            sqlx::query_as(&sql).bind(&list).fetch_all(&mut **t).await?
        });
        for (id, doc, groups) in rows {
            out.insert(id.clone(), open_view(keyring, &id, doc).await?);
            if let Some(g) = groups {
                let groups: Vec<Vec<Cell>> = serde_json::from_str(&g).map_err(|e| {
                    ProjectionError::Event(format!("stored {} groups {id}: {e}", V::AGGREGATE))
                })?;
                counted.extend(groups);
            }
        }
    }
    Ok((out, counted))
}

/// A stored view with its personal fields opened (erased ones read as erased).
pub async fn open_view<V: SealedDocument>(
    keyring: &Keyring,
    id: &str,
    mut doc: Value,
) -> Result<V, ProjectionError> {
    keyring.open(id, &mut doc, V::PERSONAL).await?;
    serde_json::from_value(doc)
        .map_err(|e| ProjectionError::Event(format!("stored {} view {id}: {e}", V::AGGREGATE)))
}

/// The view's document with its personal fields sealed, and whether the subject's data is gone.
async fn seal<V: SealedDocument>(
    keyring: &Keyring,
    v: &V,
) -> Result<(Value, bool), ProjectionError> {
    let mut doc = serde_json::to_value(v).expect("a view serializes");
    if v.erased() {
        Keyring::erase(&mut doc, V::PERSONAL);
        return Ok((doc, true));
    }
    match keyring.seal_derived(&v.key(), &mut doc, V::PERSONAL).await {
        Ok(()) => Ok((doc, false)),
        Err(PrivacyError::Shredded) => {
            Keyring::erase(&mut doc, V::PERSONAL);
            Ok((doc, true))
        }
        Err(e) => Err(e.into()),
    }
}

/// Saves the views in the batch that ends at `batch_end`; answers the tally groups they now
/// count in.
async fn save<V: SealedDocument>(
    keyring: &Keyring,
    tx: &mut Tx,
    suffix: &str,
    views: &[&V],
    batch_end: store::Checkpoint,
) -> Result<Vec<Vec<Cell>>, ProjectionError> {
    let mut tallied = Vec::new();
    for chunk in views.chunks(CHUNK) {
        let mut rows = Vec::with_capacity(chunk.len());
        for v in chunk {
            let (doc, shredded) = seal(keyring, *v).await?;
            let mut columns = v.columns(keyring, shredded);
            columns.extend(v.sealed_columns(&doc));
            if V::SAVED_AT {
                columns.push(("saved_tx", batch_end.tx_id.into()));
                columns.push(("saved_position", batch_end.position.into()));
            }
            if V::TALLY.is_some() {
                let groups = v.tallies(&columns);
                debug_assert!(groups
                    .iter()
                    .all(|g| Some(g.len()) == V::TALLY.map(|t| t.1.len())));
                let stored = serde_json::to_string(&groups).expect("groups serialize");
                columns.push(("tally_groups", stored.into()));
                tallied.extend(groups);
            }
            rows.push((v.key(), columns, doc, shredded));
        }
        let names: Vec<&str> = rows[0].1.iter().map(|(n, _)| *n).collect();
        let head = format!(
            "INSERT INTO {}{suffix} ({}, {}, doc) ",
            V::TABLE,
            V::KEY,
            names.join(", ")
        );
        let updates: Vec<String> = names
            .iter()
            .chain(std::iter::once(&"doc"))
            .map(|n| format!("{n} = excluded.{n}"))
            .collect();
        let tail = format!(
            " ON CONFLICT ({}) DO UPDATE SET {}",
            V::KEY,
            updates.join(", ")
        );
        with_tx!(tx, t => {
            let mut qb = sqlx::QueryBuilder::new(head);
            qb.push_values(&rows, |mut b, (key, columns, doc, _)| {
                b.push_bind(key.clone());
                for (_, cell) in columns {
                    push_cell!(b, cell);
                }
                b.push_bind(doc.clone());
            });
            qb.push(tail);
            qb.build().execute(&mut **t).await?;
        });
        let saved: Vec<(&V, bool)> = chunk.iter().zip(&rows).map(|(v, r)| (*v, r.3)).collect();
        V::save_children(keyring, tx, suffix, &saved).await?;
    }
    Ok(tallied)
}

#[cfg(test)]
mod tests;
