//! One batch of records changed on a side, and what to do with each: first what the store
//! and the other system know about the batch (couplings, open errors, lookups, the
//! coupled partners, matches for the uncoupled records), looked up once for all of it;
//! then a [`Plan`] per record, coupled pairs decided by the three-way merge of
//! [`super::merge`]. The plans go on to [`super::apply`].

use super::compile::{self, Blocked, Compiled, Lookups};
use super::matching::{self, Found};
use super::merge::{self, Decision, Since};
use super::{Run, RunError};
use crate::connector::{ChangeCursor, Record};
use crate::model::Side;
use crate::store::coupling::{self, Coupling};
use crate::store::progress;
use crate::store::sync_error::{self, OpenError};
use crate::value::Value;
use std::collections::{BTreeSet, HashMap};

/// What to do with one record of a batch.
#[derive(Debug)]
pub(super) enum Plan {
    /// Our own write read back, or a record read again in the overlap window.
    Ignore,
    /// Left alone: skipped, or not coupled where only coupled records synchronize.
    Skipped,
    /// Nothing to write; the coupling takes the records' current state.
    Unchanged { link: Link, other: Record },
    /// Write to one or both records.
    Write {
        link: Link,
        other: Record,
        to_other: Vec<(usize, Value)>,
        to_source: Vec<(usize, Value)>,
    },
    /// Create the record on the other side (the coupling is written pending first).
    Create {
        key: String,
        values: Vec<(usize, Value)>,
        pending: Option<i64>,
    },
    /// Both changed the same field differently.
    Conflict {
        coupling: Coupling,
        fields: Vec<String>,
        message: String,
    },
    /// One record of the coupling is gone; the policy decides.
    Deleted {
        coupling: Coupling,
        deleted: Side,
        survivor: Option<Record>,
    },
    /// The record failed.
    Fail {
        coupling: Option<Coupling>,
        other_key: Option<String>,
        message: String,
    },
    /// The record waits for a record it depends on.
    Defer { reason: String },
    /// The record's match is ambiguous: it fails, is never skipped, and is read again
    /// every run, so that an edit anywhere that makes the match unique couples it.
    Hold { message: String },
}

/// What the next run would do with one record, as its status tells it: a [`Plan`] in
/// the words of the rest of the engine.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Next {
    /// Nothing: coupled and as at the last synchronization, a create in flight, or left
    /// uncoupled and unchanged since.
    Nothing,
    /// Left alone: skipped, or not coupled where only coupled records synchronize.
    LeftAlone,
    /// Changed, but no mapped value differs from its partner's.
    NothingToWrite,
    /// Write these fields of the other side (and merged ones back).
    Write { fields: Vec<String> },
    /// Couple with this record of the other side, found by matching.
    Couple { other: String },
    /// Create the record on the other side.
    Create,
    /// Both records changed these fields differently.
    Conflict { fields: Vec<String> },
    /// Its partner is gone.
    PartnerDeleted,
    /// It fails, for this reason.
    Fail { message: String },
    /// It waits for a record it depends on.
    Defer { reason: String },
    /// Its match is ambiguous.
    Hold { message: String },
}

/// Which coupling a plan works on.
#[derive(Debug, Clone)]
pub(super) enum Link {
    /// An existing coupling.
    Existing(Coupling),
    /// A coupling to make with this record of the other side (found by matching, or
    /// created by an earlier run that stopped before it coupled).
    New,
}

/// One record of a batch and what to do with it.
#[derive(Debug)]
pub(super) struct Item {
    pub(super) source: Record,
    pub(super) plan: Plan,
    /// Index of this item's write in the other side's batch, and in the source side's.
    pub(super) write_other: Option<usize>,
    pub(super) write_source: Option<usize>,
    /// The source record had been left uncoupled; coupling it again forgets that.
    pub(super) was_uncoupled: bool,
}

impl Item {
    /// `source` with its plan, before anything is written.
    pub(super) fn new(source: Record, plan: Plan, was_uncoupled: bool) -> Item {
        Item {
            source,
            plan,
            write_other: None,
            write_source: None,
            was_uncoupled,
        }
    }
}

/// Where a batch leaves a stream.
pub(super) enum Position {
    Changes((i64, String)),
    Tombstones(i64, i64),
}

/// How a batch was read, which decides which of its records are news.
struct Reading<'s> {
    from: Side,
    /// Read by key (looked at again, or targeted), not from the change feed: a record
    /// whose coupling knows its version is looked at all the same.
    revisit: bool,
    /// The watermark the change feed was read from.
    seen: Option<&'s (i64, String)>,
    /// Whether `from`'s versions are whole seconds, so that a change within the second
    /// of the version a coupling knows keeps that version: such records are merged
    /// against their base, not taken as at rest by their version alone.
    coarse: bool,
}

impl Reading<'_> {
    /// Records at or before the watermark were looked at by an earlier run; they are
    /// read again only to catch changes committed late, so leaving them alone again
    /// is not news.
    fn seen_before(&self, r: &Record) -> bool {
        self.seen
            .is_some_and(|(m, k)| (r.modified, r.key.as_str()) <= (*m, k.as_str()))
    }

    /// Our own writes read back, records read again in the overlap window and creates
    /// in flight elsewhere need nothing more.
    fn at_rest(&self, c: &Coupling, r: &Record) -> bool {
        match c.pending {
            _ if c.skipped => self.seen_before(r),
            Some(side) => side != self.from.other(),
            None => !self.revisit && !self.coarse && c.modified(self.from) == Some(r.modified),
        }
    }
}

/// What the store and the other system know about a batch, looked up once for all of it.
struct Known {
    /// The couplings of the batch's records, by source key; each is taken when decided.
    couplings: HashMap<String, Coupling>,
    /// The open sync errors of the records not at rest, by source key.
    open: HashMap<String, OpenError>,
    /// The coupled keys of the values of lookup fields.
    lookups: Lookups,
    /// The coupled records of the other side, by key; each is taken when decided.
    others: HashMap<String, Record>,
    /// The records someone left uncoupled, with the modified-on value they had then.
    left_uncoupled: HashMap<String, i64>,
    /// What matching found for each uncoupled record that it found anything for.
    matches: HashMap<String, Found>,
}

impl Run<'_> {
    /// Decides and applies one batch of records changed on `from`.
    #[tracing::instrument(skip_all, fields(from = %from, records = records.len()))]
    pub(super) async fn batch(
        &mut self,
        from: Side,
        records: Vec<Record>,
        revisit: bool,
        deferred: &BTreeSet<String>,
        cursor: Option<&ChangeCursor>,
        seen: Option<&(i64, String)>,
    ) -> Result<(), RunError> {
        if records.is_empty() {
            if let Some(cursor) = cursor {
                self.advance(from, cursor).await?;
            }
            return Ok(());
        }
        let reading = Reading {
            from,
            revisit,
            seen,
            coarse: self.compiled.spec(from).modified_kind.coarse(),
        };
        let mut known = self.look_up(&reading, &records).await?;
        let items: Vec<Item> = records
            .into_iter()
            .map(|source| {
                let plan = self.plan(&reading, &source, &mut known);
                let was_uncoupled = known.left_uncoupled.contains_key(&source.key);
                Item::new(source, plan, was_uncoupled)
            })
            .collect();
        let position = cursor.map(|c| Position::Changes((c.modified, c.key.clone())));
        self.execute(from, items, &known.open, deferred, position)
            .await
    }

    /// What the next run reading `source`, a record of `from`, in its change feed would
    /// do with it; nothing is written.
    pub(crate) async fn preview(&self, from: Side, source: Record) -> Result<Next, RunError> {
        let reading = Reading {
            from,
            revisit: false,
            seen: None,
            coarse: self.compiled.spec(from).modified_kind.coarse(),
        };
        let records = [source];
        let mut known = self.look_up(&reading, &records).await?;
        let to = from.other();
        let columns = &self.compiled.spec(to).columns;
        Ok(match self.plan(&reading, &records[0], &mut known) {
            Plan::Ignore => Next::Nothing,
            Plan::Skipped => Next::LeftAlone,
            Plan::Unchanged {
                link: Link::New,
                other,
            } => Next::Couple { other: other.key },
            Plan::Unchanged { .. } => Next::NothingToWrite,
            Plan::Write {
                link: Link::New,
                other,
                ..
            } => Next::Couple { other: other.key },
            Plan::Write {
                to_other,
                to_source,
                ..
            } if to_other.is_empty() && to_source.is_empty() => Next::NothingToWrite,
            Plan::Write { to_other, .. } => Next::Write {
                fields: to_other.iter().map(|(p, _)| columns[*p].clone()).collect(),
            },
            Plan::Create { .. } => Next::Create,
            Plan::Conflict { fields, .. } => Next::Conflict { fields },
            Plan::Deleted { .. } => Next::PartnerDeleted,
            Plan::Fail { message, .. } => Next::Fail { message },
            Plan::Defer { reason } => Next::Defer { reason },
            Plan::Hold { message } => Next::Hold { message },
        })
    }

    /// Looks up what the store and the other system know about `records`.
    async fn look_up(&self, reading: &Reading<'_>, records: &[Record]) -> Result<Known, RunError> {
        let name = self.name();
        let from = reading.from;
        let to = from.other();
        let compiled = self.compiled;
        let keys: Vec<String> = records.iter().map(|r| r.key.clone()).collect();
        let mut conn = self.store.conn().await?;
        if crate::store::job::cancel_requested(&mut conn, self.job_id).await? {
            return Err(RunError::Cancelled);
        }
        let couplings: HashMap<String, Coupling> = coupling::by_keys(&mut conn, name, from, &keys)
            .await?
            .into_iter()
            .map(|c| (c.key(from).to_string(), c))
            .collect();
        // The records at rest need nothing more: the rest of the batch is looked up
        // without them.
        let busy: Vec<&Record> = records
            .iter()
            .filter(|r| !couplings.get(&r.key).is_some_and(|c| reading.at_rest(c, r)))
            .collect();
        let busy_keys: Vec<String> = busy.iter().map(|r| r.key.clone()).collect();
        let open = open_by_key(
            sync_error::open_for(&mut conn, name, from, &busy_keys).await?,
            from,
        );
        let lookups = self.lookups(&mut conn, from, &busy).await?;
        drop(conn);

        let other_keys: Vec<String> = busy
            .iter()
            .filter_map(|r| couplings.get(&r.key))
            .map(|c| c.key(to).to_string())
            .collect();
        let others: HashMap<String, Record> = self
            .connector(to)
            .read(compiled.spec(to), &other_keys)
            .await?
            .into_iter()
            .map(|r| (r.key.clone(), r))
            .collect();

        // Uncoupled records and their matches. (A create in flight is no longer uncoupled:
        // its pending coupling holds the key it was given.)
        let uncoupled: Vec<&Record> = records
            .iter()
            .filter(|r| !couplings.contains_key(&r.key))
            .filter(|r| !open.get(&r.key).is_some_and(|e| e.skipped))
            .filter(|_| !compiled.mapping.sync_only_coupled)
            .collect();
        let left_uncoupled = {
            let keys: Vec<String> = uncoupled.iter().map(|r| r.key.clone()).collect();
            let mut conn = self.store.conn().await?;
            progress::uncoupled_among(&mut conn, name, from, &keys).await?
        };
        // Left uncoupled by someone and not changed since: stays as it is.
        let uncoupled: Vec<&Record> = uncoupled
            .into_iter()
            .filter(|r| left_uncoupled.get(&r.key) != Some(&r.modified))
            .collect();
        let matches = self.matches(from, &uncoupled, &lookups).await?;
        Ok(Known {
            couplings,
            open,
            lookups,
            others,
            left_uncoupled,
            matches,
        })
    }

    /// What to do with `source`, one record of the batch.
    fn plan(&self, reading: &Reading<'_>, source: &Record, known: &mut Known) -> Plan {
        match known.couplings.remove(&source.key) {
            Some(c) => self.coupled(reading, source, c, known),
            None => self.uncoupled(reading, source, known),
        }
    }

    /// What to do with `source`, coupled by `c`.
    fn coupled(
        &self,
        reading: &Reading<'_>,
        source: &Record,
        c: Coupling,
        known: &mut Known,
    ) -> Plan {
        let compiled = self.compiled;
        let from = reading.from;
        let to = from.other();
        if reading.at_rest(&c, source) {
            return Plan::Ignore;
        }
        if c.skipped {
            return Plan::Skipped;
        }
        if c.pending == Some(to) {
            return match known.others.remove(c.key(to)) {
                // The create went through before the run stopped: finish coupling.
                Some(other) => pair(
                    compiled,
                    from,
                    source,
                    other,
                    Link::Existing(c),
                    Since::Coupled(Some(from)),
                    false,
                    &known.lookups,
                ),
                None => match compile::create_values(compiled, from, source, &known.lookups) {
                    Ok(values) => Plan::Create {
                        key: c.key(to).to_string(),
                        values,
                        pending: Some(c.id),
                    },
                    Err(blocked) => blocked_plan(blocked, Some(c), None),
                },
            };
        }
        match known.others.remove(c.key(to)) {
            None => Plan::Deleted {
                coupling: c,
                deleted: to,
                survivor: Some(source.clone()),
            },
            Some(other) => {
                // On a side of whole-second versions a change within the coupling's own
                // second keeps its version: only the base can tell.
                let other_changed = compiled.spec(to).modified_kind.coarse()
                    || c.modified(to) != Some(other.modified);
                let base = c.base.clone();
                pair(
                    compiled,
                    from,
                    source,
                    other,
                    Link::Existing(c),
                    base.as_ref()
                        .map_or(Since::Coupled(Some(from)), Since::Base),
                    other_changed,
                    &known.lookups,
                )
            }
        }
    }

    /// What to do with `source`, not coupled: left alone, coupled to its one match, or
    /// created on the other side.
    fn uncoupled(&self, reading: &Reading<'_>, source: &Record, known: &mut Known) -> Plan {
        let compiled = self.compiled;
        let from = reading.from;
        let to = from.other();
        let only_coupled = compiled.mapping.sync_only_coupled;
        let skipped = known.open.get(&source.key).is_some_and(|e| e.skipped);
        if known.left_uncoupled.get(&source.key) == Some(&source.modified) {
            return Plan::Ignore;
        }
        if reading.seen_before(source) && (only_coupled || skipped) {
            return Plan::Ignore;
        }
        if skipped || only_coupled {
            return Plan::Skipped;
        }
        let match_on = &compiled.mapping.match_on;
        let found = known.matches.remove(&source.key).unwrap_or_default();
        if !found.rivals.is_empty() {
            return Plan::Hold {
                message: matching::shared(&match_on[found.set], from, &found),
            };
        }
        // Couplings are one-to-one: a record of the other side that several of the batch
        // match is every one's rival (matching says so), never the first one's.
        let (set, found) = (found.set, found.hits);
        match found.len() {
            0 => match compile::create_values(compiled, from, source, &known.lookups) {
                Ok(values) => Plan::Create {
                    key: new_key(),
                    values,
                    pending: None,
                },
                Err(blocked) => blocked_plan(blocked, None, None),
            },
            1 => {
                let other = found.into_iter().next().expect("one match");
                pair(
                    compiled,
                    from,
                    source,
                    other,
                    Link::New,
                    Since::Coupled(compiled.mapping.on_match.winner(from)),
                    false,
                    &known.lookups,
                )
            }
            _ => Plan::Hold {
                message: matching::several(&match_on[set], to, &found),
            },
        }
    }

    /// For fields whose values are keys of a parent mapping's records, the coupled keys
    /// of the values in `records`.
    pub(super) async fn lookups(
        &self,
        conn: &mut sqlx::AnyConnection,
        from: Side,
        records: &[&Record],
    ) -> Result<Lookups, RunError> {
        let mut lookups = Lookups::new();
        for (i, f) in self.compiled.fields.iter().enumerate() {
            let (Some(parent), Some(position)) = (&f.field.lookup, f.position(from)) else {
                continue;
            };
            if !f.field.flows_from(from) {
                continue;
            }
            let values: BTreeSet<String> = records
                .iter()
                .map(|r| &r.values[position])
                .filter(|v| !v.is_empty())
                .map(Value::as_text)
                .collect();
            let values: Vec<String> = values.into_iter().collect();
            lookups.insert(i, coupling::translate(conn, parent, from, &values).await?);
        }
        Ok(lookups)
    }
}

impl OpenError {
    fn key(self, side: Side) -> Option<String> {
        match side {
            Side::Local => self.local_key,
            Side::Integration => self.integration_key,
        }
    }
}

/// Open sync errors by their record's key on `side`.
pub(super) fn open_by_key(
    open: impl IntoIterator<Item = OpenError>,
    side: Side,
) -> HashMap<String, OpenError> {
    open.into_iter()
        .filter_map(|e| e.clone().key(side).map(|k| (k, e)))
        .collect()
}

/// Decides a pair of records that exist on both sides.
fn pair(
    compiled: &Compiled,
    from: Side,
    source: &Record,
    other: Record,
    link: Link,
    since: Since<'_>,
    other_changed: bool,
    lookups: &Lookups,
) -> Plan {
    match merge::decide(
        compiled,
        from,
        source,
        &other,
        since,
        other_changed,
        lookups,
    ) {
        Decision::Unchanged => Plan::Unchanged { link, other },
        Decision::Write {
            to_other,
            to_source,
        } => Plan::Write {
            link,
            other,
            to_other,
            to_source,
        },
        Decision::Conflict { fields, message } => match link {
            Link::Existing(coupling) => Plan::Conflict {
                coupling,
                fields,
                message,
            },
            Link::New => Plan::Fail {
                coupling: None,
                other_key: Some(other.key),
                message,
            },
        },
        Decision::Blocked(blocked) => {
            let coupling = match link {
                Link::Existing(c) => Some(c),
                Link::New => None,
            };
            blocked_plan(blocked, coupling, Some(other.key))
        }
    }
}

/// The plan of a record whose values cannot cross now.
fn blocked_plan(blocked: Blocked, coupling: Option<Coupling>, other_key: Option<String>) -> Plan {
    match blocked {
        Blocked::Defer(reason) => Plan::Defer { reason },
        Blocked::Fail(message) => Plan::Fail {
            coupling,
            other_key,
            message,
        },
    }
}

/// The key a record created on the other side gets: a UUID ordered by time of creation
/// (version 7), so that records created together sit together in every index keyed by
/// it (the system's own, and the store's couplings and log), where random keys would
/// touch a different page of each index for every record. The pending coupling holds it
/// from before the create, so a create repeated after a crash finds the record it made.
pub fn new_key() -> String {
    uuid::Uuid::now_v7().hyphenated().to_string()
}
