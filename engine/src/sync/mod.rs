//! Synchronization runs: for one mapping, read what changed on each side since the last
//! run, decide per record (see [`plan`]), write both systems in batches, and record
//! couplings, errors, log entries, counters and the new watermark in one store
//! transaction per batch. DESIGN.md, "Synchronization semantics", is the contract.

pub mod compile;

/// The pure part of a run under the name the rest of the engine knows it by.
pub mod plan {
    pub use super::compile::*;
}

use crate::connector::{ChangeCursor, Connector, ConnectorError, Record, WriteOp, WriteOutcome};
use crate::model::{Counters, DeletionConflictPolicy, FieldChange, JobKind, Side, SyncErrorKind};
use crate::store::coupling::{self, Coupling, NewCoupling};
use crate::store::log::{self, NewLogEntry};
use crate::store::progress::{self, Stream};
use crate::store::sync_error::{self, NewSyncError, OpenError};
use crate::store::{Store, StoreError};
use crate::value::Value;
use plan::{Blocked, Compiled, Decision, Lookups};
use std::collections::{BTreeSet, HashMap};

/// Records read per batch; each batch commits to the store as one transaction.
pub const BATCH: usize = 5000;

/// How far before the watermark each run starts reading again, so that records whose
/// modified-on value was given just before a concurrent commit are not missed. Records
/// read twice are recognised by their coupling and cost a comparison.
pub const OVERLAP_MS: i64 = 5_000;

/// Why a run stopped.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// A system failed as a whole (unreachable, or a statement failed for the batch).
    #[error(transparent)]
    System(#[from] ConnectorError),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A fault test stopped the run here.
    #[error("stopped {0} by an injected fault")]
    Fault(FaultPoint),
    /// Another worker holds the job now (this one stalled past its lease): nothing of
    /// the last batch was committed.
    #[error("the job's lease passed to another worker; this worker's last batch was not committed")]
    LeaseLost,
    /// Someone cancelled the job; it stopped after its last committed batch.
    #[error("cancelled")]
    Cancelled,
}

/// Points in a batch where a fault test may stop a run, as if the process died there:
/// before and after each write step.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FaultPoint {
    /// Before the pending couplings of creates are written.
    BeforePending,
    /// After the pending couplings are committed, before any system is written.
    AfterPending,
    /// After the other side's records are written.
    AfterWriteOther,
    /// After the source side's records are written (merged changes).
    AfterWriteSource,
    /// After both systems are written, before the store transaction commits.
    BeforeCommit,
}

impl FaultPoint {
    /// Every point, in the order a batch reaches them.
    pub const ALL: [FaultPoint; 5] = [
        FaultPoint::BeforePending,
        FaultPoint::AfterPending,
        FaultPoint::AfterWriteOther,
        FaultPoint::AfterWriteSource,
        FaultPoint::BeforeCommit,
    ];
}

impl std::fmt::Display for FaultPoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            FaultPoint::BeforePending => "before writing pending couplings",
            FaultPoint::AfterPending => "after writing pending couplings",
            FaultPoint::AfterWriteOther => "after writing the other system",
            FaultPoint::AfterWriteSource => "after writing the source system",
            FaultPoint::BeforeCommit => "before committing the batch",
        })
    }
}

impl From<sqlx::Error> for RunError {
    fn from(error: sqlx::Error) -> Self {
        RunError::Store(StoreError::Database(error))
    }
}

/// One run of a mapping: its connectors, store, job and counters.
pub struct Run<'a> {
    /// The store.
    pub store: &'a Store,
    /// The mapping, compiled against its tables.
    pub compiled: &'a Compiled,
    /// The local system's connector.
    pub local: &'a dyn Connector,
    /// The integration system's connector.
    pub integration: &'a dyn Connector,
    /// The job this run counts into.
    pub job_id: i64,
    /// The fencing token of this worker's claim on the job.
    pub fence: i64,
    /// Who or what started it.
    pub actor: String,
    /// The counters so far.
    pub counters: Counters,
    /// Where a fault test stops this run, if it does.
    pub fault: Option<FaultPoint>,
}

/// What to do with one record of a batch.
#[derive(Debug)]
enum Plan {
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
}

/// Which coupling a plan works on.
#[derive(Debug, Clone)]
enum Link {
    /// An existing coupling.
    Existing(Coupling),
    /// A coupling to make with this record of the other side (found by matching, or
    /// created by an earlier run that stopped before it coupled).
    New,
}

/// One record of a batch and what to do with it.
#[derive(Debug)]
struct Item {
    source: Record,
    plan: Plan,
    /// Index of this item's write in the other side's batch, and in the source side's.
    write_other: Option<usize>,
    write_source: Option<usize>,
    /// The source record had been left uncoupled; coupling it again forgets that.
    was_uncoupled: bool,
}

impl Run<'_> {
    fn connector(&self, side: Side) -> &dyn Connector {
        match side {
            Side::Local => self.local,
            Side::Integration => self.integration,
        }
    }

    fn name(&self) -> &str {
        &self.compiled.mapping.name
    }

    fn checkpoint(&self, point: FaultPoint) -> Result<(), RunError> {
        match self.fault {
            Some(fault) if fault == point => Err(RunError::Fault(point)),
            _ => Ok(()),
        }
    }

    /// Synchronizes records changed on `from` to the other side: first the records to
    /// look at again (failed, deferred, creates in flight), then the changes since the
    /// watermark, batch by batch.
    pub async fn pass(&mut self, from: Side, full: bool) -> Result<(), RunError> {
        let name = self.name().to_string();
        let mut conn = self.store.conn().await?;
        let mut revisit: BTreeSet<String> = coupling::to_revisit(&mut conn, &name, from)
            .await?
            .into_iter()
            .collect();
        revisit.extend(sync_error::uncoupled_to_retry(&mut conn, &name, from).await?);
        // A job taken over from a worker that died does not try again what failed in it
        // already: each record counts once, and none is skipped that a run without the
        // fault would not skip.
        let failed_here: BTreeSet<String> =
            sync_error::failed_in_job(&mut conn, &name, from, self.job_id)
                .await?
                .into_iter()
                .collect();
        revisit.retain(|key| !failed_here.contains(key));
        let deferred: BTreeSet<String> = progress::deferred(&mut conn, &name, from)
            .await?
            .into_iter()
            .collect();
        revisit.extend(deferred.iter().cloned());
        let watermark = if full {
            None
        } else {
            progress::watermark(&mut conn, &name, from, Stream::Changes).await?
        };
        let settled = match (&watermark, full) {
            (Some(_), false) => progress::resume_from(&mut conn, &name, from)
                .await?
                .and_then(|(_, settled)| settled),
            _ => None,
        };
        let started = crate::store::now_millis();
        drop(conn);

        let keys: Vec<String> = revisit.iter().cloned().collect();
        for chunk in keys.chunks(BATCH) {
            let records = self
                .connector(from)
                .read(self.compiled.spec(from), chunk)
                .await?;
            let gone: Vec<String> = chunk
                .iter()
                .filter(|k| deferred.contains(*k) && !records.iter().any(|r| &r.key == *k))
                .cloned()
                .collect();
            if !gone.is_empty() {
                let mut conn = self.store.conn().await?;
                progress::undefer(&mut conn, &name, from, &gone).await?;
            }
            self.batch(from, records, true, &deferred, None, None)
                .await?;
        }

        // The overlap window is read again until a run has read it long enough after
        // the watermark that nothing older can still arrive; then it is settled.
        let (since, mut cursor) = match &watermark {
            None => (i64::MIN, None),
            Some((modified, key)) if settled == Some(*modified) => (
                *modified,
                Some(ChangeCursor {
                    modified: *modified,
                    key: key.clone(),
                }),
            ),
            Some((modified, _)) => (modified.saturating_sub(OVERLAP_MS), None),
        };
        loop {
            let records = self
                .connector(from)
                .changes(self.compiled.spec(from), since, cursor.as_ref(), BATCH)
                .await?;
            let Some(last) = records.last() else { break };
            let next = ChangeCursor {
                modified: last.modified,
                key: last.key.clone(),
            };
            let fresh: Vec<Record> = records
                .into_iter()
                .filter(|r| !revisit.contains(&r.key) && !failed_here.contains(&r.key))
                .collect();
            self.batch(
                from,
                fresh,
                false,
                &deferred,
                Some(&next),
                watermark.as_ref(),
            )
            .await?;
            cursor = Some(next);
        }
        let mut conn = self.store.conn().await?;
        if let Some((modified, _)) =
            progress::watermark(&mut conn, &name, from, Stream::Changes).await?
            && started.saturating_sub(modified) >= 2 * OVERLAP_MS
            && settled != Some(modified)
        {
            progress::settle(&mut conn, &name, from, modified).await?;
        }
        Ok(())
    }

    /// Synchronizes the records with `keys` on `from` now, whatever their modified-on
    /// value: a targeted run (Retry, Set Up Coupling).
    pub async fn targets(&mut self, from: Side, keys: &[String]) -> Result<(), RunError> {
        let name = self.name().to_string();
        let mut conn = self.store.conn().await?;
        let deferred: BTreeSet<String> = progress::deferred(&mut conn, &name, from)
            .await?
            .into_iter()
            .collect();
        drop(conn);
        for chunk in keys.chunks(BATCH) {
            let records = self
                .connector(from)
                .read(self.compiled.spec(from), chunk)
                .await?;
            self.batch(from, records, true, &deferred, None, None)
                .await?;
        }
        Ok(())
    }

    /// Handles the deletions `deleted` reported since its tombstone watermark.
    pub async fn tombstones(&mut self, deleted: Side) -> Result<(), RunError> {
        let name = self.name().to_string();
        if self.compiled.spec(deleted).tombstones.is_none() {
            return Ok(());
        }
        let mut conn = self.store.conn().await?;
        let start = progress::watermark(&mut conn, &name, deleted, Stream::Tombstones)
            .await?
            .map_or((i64::MIN, 0), |(at, _)| (at.saturating_sub(OVERLAP_MS), 0));
        drop(conn);
        let mut after = start;
        loop {
            let tombstones = self
                .connector(deleted)
                .tombstones(self.compiled.spec(deleted), after, BATCH)
                .await?;
            let Some(last) = tombstones.last() else { break };
            after = (last.deleted_at, last.id);
            let keys: Vec<String> = tombstones.iter().map(|t| t.key.clone()).collect();
            self.deletions(deleted, &keys, Some(after)).await?;
        }
        Ok(())
    }

    /// Handles records with `keys` on `deleted` reported gone: each coupling whose record
    /// really is gone meets the mapping's deletion policy.
    async fn deletions(
        &mut self,
        deleted: Side,
        keys: &[String],
        position: Option<(i64, i64)>,
    ) -> Result<(), RunError> {
        let name = self.name().to_string();
        let survivor_side = deleted.other();
        let mut conn = self.store.conn().await?;
        let couplings = coupling::by_keys(&mut conn, &name, deleted, keys).await?;
        let open: HashMap<String, OpenError> =
            sync_error::open_for(&mut conn, &name, deleted, keys)
                .await?
                .into_iter()
                .filter_map(|e| e.clone().key(deleted).map(|k| (k, e)))
                .collect();
        drop(conn);
        let back: BTreeSet<String> = self
            .connector(deleted)
            .read(self.compiled.spec(deleted), keys)
            .await?
            .into_iter()
            .map(|r| r.key)
            .collect();
        let couplings: Vec<Coupling> = couplings
            .into_iter()
            .filter(|c| c.pending.is_none() && !back.contains(c.key(deleted)))
            // Reported already and waiting for someone: leave it.
            .filter(|c| !(c.skipped && open.contains_key(c.key(deleted))))
            .collect();
        let survivor_keys: Vec<String> = couplings
            .iter()
            .map(|c| c.key(survivor_side).to_string())
            .collect();
        let mut survivors: HashMap<String, Record> = self
            .connector(survivor_side)
            .read(self.compiled.spec(survivor_side), &survivor_keys)
            .await?
            .into_iter()
            .map(|r| (r.key.clone(), r))
            .collect();
        let items: Vec<Item> = couplings
            .into_iter()
            .map(|c| {
                let survivor = survivors.remove(c.key(survivor_side));
                // The batch is seen from the survivor's side: its record is the source.
                let source = survivor.clone().unwrap_or_else(|| Record {
                    key: c.key(survivor_side).to_string(),
                    modified: 0,
                    values: Vec::new(),
                });
                Item {
                    source,
                    plan: Plan::Deleted {
                        coupling: c,
                        deleted,
                        survivor,
                    },
                    write_other: None,
                    write_source: None,
                    was_uncoupled: false,
                }
            })
            .collect();
        let position = position.map(|(at, id)| Position::Tombstones(at, id));
        self.execute(
            survivor_side,
            items,
            &open_by_key(open, survivor_side),
            &BTreeSet::new(),
            position,
        )
        .await
    }

    /// Decides and applies one batch of records changed on `from`.
    async fn batch(
        &mut self,
        from: Side,
        records: Vec<Record>,
        revisit: bool,
        deferred: &BTreeSet<String>,
        cursor: Option<&ChangeCursor>,
        seen: Option<&(i64, String)>,
    ) -> Result<(), RunError> {
        let name = self.name().to_string();
        let to = from.other();
        // Records at or before the watermark were looked at by an earlier run; they are
        // read again only to catch changes committed late, so leaving them alone again
        // is not news.
        let seen_before = |r: &Record| {
            seen.is_some_and(|(m, k)| (r.modified, r.key.as_str()) <= (*m, k.as_str()))
        };
        let compiled = self.compiled;
        if records.is_empty() {
            if let Some(cursor) = cursor {
                let mut tx = self.store.begin().await?;
                if !crate::store::job::holds(&mut tx, self.job_id, self.fence).await? {
                    return Err(RunError::LeaseLost);
                }
                progress::set_watermark(
                    &mut tx,
                    &name,
                    from,
                    Stream::Changes,
                    (cursor.modified, &cursor.key),
                )
                .await?;
                tx.commit().await.map_err(StoreError::from)?;
            }
            return Ok(());
        }
        let keys: Vec<String> = records.iter().map(|r| r.key.clone()).collect();
        let mut conn = self.store.conn().await?;
        if crate::store::job::cancel_requested(&mut conn, self.job_id).await? {
            return Err(RunError::Cancelled);
        }
        let mut couplings: HashMap<String, Coupling> =
            coupling::by_keys(&mut conn, &name, from, &keys)
                .await?
                .into_iter()
                .map(|c| (c.key(from).to_string(), c))
                .collect();
        // Our own writes read back, records read again in the overlap window and creates
        // in flight elsewhere need nothing more: the rest of the batch is looked up
        // without them.
        let at_rest = |c: &Coupling, r: &Record| match c.pending {
            _ if c.skipped => seen_before(r),
            Some(side) => side != to,
            None => !revisit && c.modified(from) == Some(r.modified),
        };
        let busy: Vec<&Record> = records
            .iter()
            .filter(|r| !couplings.get(&r.key).is_some_and(|c| at_rest(c, r)))
            .collect();
        let busy_keys: Vec<String> = busy.iter().map(|r| r.key.clone()).collect();
        let open: HashMap<String, OpenError> =
            sync_error::open_for(&mut conn, &name, from, &busy_keys)
                .await?
                .into_iter()
                .filter_map(|e| e.clone().key(from).map(|k| (k, e)))
                .collect();
        let lookups = self.lookups(&mut conn, from, &busy).await?;
        drop(conn);

        let other_keys: Vec<String> = busy
            .iter()
            .filter_map(|r| couplings.get(&r.key))
            .map(|c| c.key(to).to_string())
            .collect();
        let mut others: HashMap<String, Record> = self
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
            progress::uncoupled_among(&mut conn, &name, from, &keys).await?
        };
        // Left uncoupled by someone and not changed since: stays as it is.
        let uncoupled: Vec<&Record> = uncoupled
            .into_iter()
            .filter(|r| left_uncoupled.get(&r.key) != Some(&r.modified))
            .collect();
        let mut matches = self.matches(from, &uncoupled, &lookups).await?;
        {
            // A record of the other side that is coupled already is no candidate.
            let candidates: Vec<String> =
                matches.values().flatten().map(|r| r.key.clone()).collect();
            let mut conn = self.store.conn().await?;
            let taken: BTreeSet<String> =
                coupling::coupled_among(&mut conn, &name, to, &candidates)
                    .await?
                    .into_iter()
                    .collect();
            for list in matches.values_mut() {
                list.retain(|r| !taken.contains(&r.key));
            }
        }

        let mut claimed: BTreeSet<String> = BTreeSet::new();
        let mut items = Vec::with_capacity(records.len());
        for source in records {
            let plan = match couplings.remove(&source.key) {
                Some(c) if at_rest(&c, &source) => Plan::Ignore,
                Some(c) if c.skipped => Plan::Skipped,
                Some(c) if c.pending == Some(to) => match others.remove(c.key(to)) {
                    // The create went through before the run stopped: finish coupling.
                    Some(other) => pair(
                        compiled,
                        from,
                        &source,
                        other,
                        Link::Existing(c),
                        None,
                        false,
                        &lookups,
                    ),
                    None => match plan::create_values(compiled, from, &source, &lookups) {
                        Ok(values) => Plan::Create {
                            key: c.key(to).to_string(),
                            values,
                            pending: Some(c.id),
                        },
                        Err(blocked) => blocked_plan(blocked, Some(c), None),
                    },
                },
                Some(c) => match others.remove(c.key(to)) {
                    None => Plan::Deleted {
                        coupling: c,
                        deleted: to,
                        survivor: Some(source.clone()),
                    },
                    Some(other) => {
                        let other_changed = c.modified(to) != Some(other.modified);
                        let base = c.base.clone();
                        pair(
                            compiled,
                            from,
                            &source,
                            other,
                            Link::Existing(c),
                            base.as_ref(),
                            other_changed,
                            &lookups,
                        )
                    }
                },
                None if left_uncoupled.get(&source.key) == Some(&source.modified) => Plan::Ignore,
                None if seen_before(&source)
                    && (compiled.mapping.sync_only_coupled
                        || open.get(&source.key).is_some_and(|e| e.skipped)) =>
                {
                    Plan::Ignore
                }
                None if open.get(&source.key).is_some_and(|e| e.skipped) => Plan::Skipped,
                None if compiled.mapping.sync_only_coupled => Plan::Skipped,
                None => {
                    let found: Vec<Record> = matches
                        .remove(&source.key)
                        .unwrap_or_default()
                        .into_iter()
                        .filter(|r| !claimed.contains(&r.key))
                        .collect();
                    match found.len() {
                        0 => match plan::create_values(compiled, from, &source, &lookups) {
                            Ok(values) => Plan::Create {
                                key: new_key(),
                                values,
                                pending: None,
                            },
                            Err(blocked) => blocked_plan(blocked, None, None),
                        },
                        1 => {
                            let other = found.into_iter().next().expect("one match");
                            claimed.insert(other.key.clone());
                            pair(
                                compiled,
                                from,
                                &source,
                                other,
                                Link::New,
                                None,
                                false,
                                &lookups,
                            )
                        }
                        n => {
                            let keys: Vec<&str> = found.iter().map(|r| r.key.as_str()).collect();
                            Plan::Fail {
                                coupling: None,
                                other_key: None,
                                message: format!(
                                    "{n} {} records match on {}: {}; couple one by hand",
                                    to,
                                    compiled.mapping.match_on.join(", "),
                                    keys.join(", ")
                                ),
                            }
                        }
                    }
                }
            };
            let was_uncoupled = left_uncoupled.contains_key(&source.key);
            items.push(Item {
                source,
                plan,
                write_other: None,
                write_source: None,
                was_uncoupled,
            });
        }
        let position = cursor.map(|c| Position::Changes((c.modified, c.key.clone())));
        self.execute(from, items, &open, deferred, position).await
    }

    /// Writes a batch's plans: pending couplings first (one transaction), then both
    /// systems, then everything else in one store transaction with the new watermark.
    async fn execute(
        &mut self,
        from: Side,
        mut items: Vec<Item>,
        open: &HashMap<String, OpenError>,
        deferred: &BTreeSet<String>,
        position: Option<Position>,
    ) -> Result<(), RunError> {
        let name = self.name().to_string();
        let to = from.other();
        let compiled = self.compiled;
        let policy = compiled.mapping.deletion_conflict;
        let items_count = items.len();

        // 1. Couplings for creates, written before the creates (crash safety).
        let new_pending: Vec<NewCoupling> = items
            .iter()
            .filter_map(|item| match &item.plan {
                Plan::Create {
                    key, pending: None, ..
                } => Some(pair_keys(from, &item.source.key, key, Some(to))),
                _ => None,
            })
            .collect();
        self.checkpoint(FaultPoint::BeforePending)?;
        if !new_pending.is_empty() {
            let mut tx = self.store.begin().await?;
            if !crate::store::job::holds(&mut tx, self.job_id, self.fence).await? {
                return Err(RunError::LeaseLost);
            }
            let ids = coupling::insert(&mut tx, &name, &new_pending).await?;
            tx.commit().await.map_err(StoreError::from)?;
            let mut ids = ids.into_iter();
            for item in &mut items {
                if let Plan::Create {
                    pending: pending @ None,
                    ..
                } = &mut item.plan
                {
                    *pending = ids.next();
                }
            }
        }

        self.checkpoint(FaultPoint::AfterPending)?;

        // 2. The writes, one batch per system.
        let mut ops: [Vec<WriteOp>; 2] = [Vec::new(), Vec::new()];
        for item in &mut items {
            let source_key = item.source.key.clone();
            match &item.plan {
                Plan::Create { key, values, .. } => {
                    item.write_other = Some(ops[1].len());
                    ops[1].push(WriteOp::Create {
                        key: key.clone(),
                        values: values.clone(),
                    });
                }
                Plan::Write {
                    other,
                    to_other,
                    to_source,
                    ..
                } => {
                    if !to_other.is_empty() {
                        item.write_other = Some(ops[1].len());
                        ops[1].push(WriteOp::Update {
                            key: other.key.clone(),
                            expected: other.modified,
                            values: to_other.clone(),
                        });
                    }
                    if !to_source.is_empty() {
                        item.write_source = Some(ops[0].len());
                        ops[0].push(WriteOp::Update {
                            key: source_key,
                            expected: item.source.modified,
                            values: to_source.clone(),
                        });
                    }
                }
                Plan::Deleted {
                    coupling,
                    deleted,
                    survivor: Some(survivor),
                } if policy == DeletionConflictPolicy::Restore
                    && restorable(compiled, *deleted) =>
                {
                    match plan::create_values(compiled, deleted.other(), survivor, &Lookups::new())
                    {
                        Ok(values) => {
                            item.write_other = Some(ops[1].len());
                            ops[1].push(WriteOp::Create {
                                key: coupling.key(*deleted).to_string(),
                                values,
                            });
                        }
                        Err(Blocked::Fail(message) | Blocked::Defer(message)) => {
                            item.plan = Plan::Fail {
                                coupling: Some(coupling.clone()),
                                other_key: Some(coupling.key(to).to_string()),
                                message: format!(
                                    "cannot restore the deleted {deleted} record: {message}"
                                ),
                            };
                        }
                    }
                }
                _ => {}
            }
        }
        let [source_ops, other_ops] = ops;
        let other_outcomes = if other_ops.is_empty() {
            Vec::new()
        } else {
            self.connector(to)
                .write(compiled.spec(to), &other_ops)
                .await?
        };
        self.checkpoint(FaultPoint::AfterWriteOther)?;
        let source_outcomes = if source_ops.is_empty() {
            Vec::new()
        } else {
            self.connector(from)
                .write(compiled.spec(from), &source_ops)
                .await?
        };

        self.checkpoint(FaultPoint::AfterWriteSource)?;

        // 3. Everything the store keeps, in one transaction.
        let mut delta = Counters::default();
        let mut entries: Vec<NewLogEntry> = Vec::new();
        let mut resolved: Vec<i64> = Vec::new();
        let mut synced: Vec<coupling::Synced> = Vec::new();
        let mut undefer: Vec<String> = Vec::new();
        let mut coupled_again: Vec<String> = Vec::new();
        let direction = Some(from.direction_from());
        let actor = self.actor.clone();
        let job = Some(self.job_id);
        let entry = |local_key: Option<String>,
                     integration_key: Option<String>,
                     action: &'static str,
                     result: &'static str,
                     changes: Vec<FieldChange>,
                     message: Option<String>| NewLogEntry {
            job_id: job,
            local_key,
            integration_key,
            direction,
            action,
            result,
            changes,
            message,
            actor: actor.clone(),
        };
        let keys_of = |source_key: &str, other_key: &str| -> (Option<String>, Option<String>) {
            match from {
                Side::Local => (Some(source_key.to_string()), Some(other_key.to_string())),
                Side::Integration => (Some(other_key.to_string()), Some(source_key.to_string())),
            }
        };
        let mut tx = self.store.begin().await?;
        for item in items {
            let source = item.source;
            let outcome_other = item.write_other.map(|i| other_outcomes[i].clone());
            let outcome_source = item.write_source.map(|i| source_outcomes[i].clone());
            let open_error = open.get(&source.key);
            let mut succeeded = false;
            match item.plan {
                Plan::Ignore => {}
                Plan::Skipped => delta.skipped += 1,
                Plan::Defer { reason } => {
                    delta.deferred += 1;
                    progress::defer(&mut tx, &name, from, &source.key, &reason).await?;
                    let (local_key, integration_key) = match from {
                        Side::Local => (Some(source.key.clone()), None),
                        Side::Integration => (None, Some(source.key.clone())),
                    };
                    entries.push(entry(
                        local_key,
                        integration_key,
                        "deferred",
                        "skipped",
                        Vec::new(),
                        Some(reason),
                    ));
                }
                Plan::Unchanged { link, other } => {
                    let id = link_id(
                        &mut tx,
                        &name,
                        from,
                        link,
                        &source,
                        &other,
                        &mut delta,
                        &mut entries,
                        &entry,
                    )
                    .await?;
                    delta.unchanged += 1;
                    synced.push(synced_row(compiled, id, from, &source, &other));
                    succeeded = true;
                }
                Plan::Write {
                    link,
                    other,
                    to_other,
                    to_source,
                } => {
                    let refused = [&outcome_other, &outcome_source]
                        .into_iter()
                        .flatten()
                        .find_map(|o| match o {
                            WriteOutcome::Refused(message) => Some(message.clone()),
                            _ => None,
                        });
                    let changed = [&outcome_other, &outcome_source]
                        .into_iter()
                        .flatten()
                        .any(|o| *o == WriteOutcome::Changed);
                    let coupling_now = match &link {
                        Link::Existing(c) => Some(c.clone()),
                        Link::New => None,
                    };
                    if let Some(message) = refused {
                        self.failure(
                            &mut tx,
                            &mut delta,
                            &mut entries,
                            from,
                            &source,
                            coupling_now,
                            Some(other.key.clone()),
                            format!(
                                "{} refused the record: {message}",
                                self.connector(to).system()
                            ),
                            open_error,
                        )
                        .await?;
                    } else if changed {
                        // Someone changed a record while the run read it: nothing was
                        // written there; look at it again next run.
                        progress::defer(
                            &mut tx,
                            &name,
                            from,
                            &source.key,
                            "changed while synchronizing",
                        )
                        .await?;
                    } else {
                        let id = link_id(
                            &mut tx,
                            &name,
                            from,
                            link,
                            &source,
                            &other,
                            &mut delta,
                            &mut entries,
                            &entry,
                        )
                        .await?;
                        let other_modified = match outcome_other {
                            Some(WriteOutcome::Written(m)) => m,
                            _ => other.modified,
                        };
                        let source_modified = match outcome_source {
                            Some(WriteOutcome::Written(m)) => m,
                            _ => source.modified,
                        };
                        let other_after = plan::applied(&other, &to_other, other_modified);
                        let source_after = plan::applied(&source, &to_source, source_modified);
                        let mut changes = field_changes(compiled, to, &other, &to_other);
                        changes.extend(field_changes(compiled, from, &source, &to_source));
                        delta.modified +=
                            u64::from(!to_other.is_empty()) + u64::from(!to_source.is_empty());
                        let (l, i) = keys_of(&source.key, &other.key);
                        entries.push(entry(l, i, "modified", "ok", changes, None));
                        synced.push(synced_row(compiled, id, from, &source_after, &other_after));
                        succeeded = true;
                    }
                }
                Plan::Create {
                    key,
                    values,
                    pending,
                } => {
                    let pending_id = pending.expect("pending couplings are written first");
                    match outcome_other {
                        Some(WriteOutcome::Written(modified)) => {
                            delta.inserted += 1;
                            delta.coupled += 1;
                            let created =
                                plan::new_record(compiled.spec(to), &key, &values, modified);
                            let changes = field_changes(
                                compiled,
                                to,
                                &plan::new_record(compiled.spec(to), &key, &[], 0),
                                &values,
                            );
                            let (l, i) = keys_of(&source.key, &key);
                            entries.push(entry(l, i, "inserted", "ok", changes, None));
                            synced.push(synced_row(compiled, pending_id, from, &source, &created));
                            succeeded = true;
                        }
                        Some(WriteOutcome::Refused(message)) => {
                            coupling::delete(&mut tx, pending_id).await?;
                            self.failure(
                                &mut tx,
                                &mut delta,
                                &mut entries,
                                from,
                                &source,
                                None,
                                None,
                                format!(
                                    "{} refused the new record: {message}",
                                    self.connector(to).system()
                                ),
                                open_error,
                            )
                            .await?;
                        }
                        _ => {
                            // A record with that key appeared meanwhile: the next run
                            // finds it and couples it.
                            progress::defer(
                                &mut tx,
                                &name,
                                from,
                                &source.key,
                                "created concurrently",
                            )
                            .await?;
                        }
                    }
                }
                Plan::Conflict {
                    coupling: c,
                    fields,
                    message,
                } => {
                    delta.failed += 1;
                    let (l, i) = keys_of(&source.key, c.key(to));
                    let (attempts, _) =
                        coupling::failed(&mut tx, c.id, from, "conflict", &message, true).await?;
                    let _ = attempts;
                    sync_error::record(
                        &mut tx,
                        &name,
                        &NewSyncError {
                            coupling_id: Some(c.id),
                            kind: SyncErrorKind::UpdateConflict,
                            side: from,
                            local_key: l.clone(),
                            integration_key: i.clone(),
                            description: compiled.describe(from, &source),
                            message: message.clone(),
                            fields,
                            job_id: job,
                            skipped: true,
                            actor: actor.clone(),
                        },
                    )
                    .await?;
                    entries.push(entry(l, i, "conflict", "failed", Vec::new(), Some(message)));
                }
                Plan::Deleted {
                    coupling: c,
                    deleted,
                    survivor,
                } => {
                    let (l, i) = (Some(c.local_key.clone()), Some(c.integration_key.clone()));
                    // The deleted record is always on the other side of the batch.
                    match (survivor, outcome_other) {
                        (None, _) => {
                            delta.uncoupled += 1;
                            coupling::delete(&mut tx, c.id).await?;
                            entries.push(entry(
                                l,
                                i,
                                "uncoupled",
                                "ok",
                                Vec::new(),
                                Some("both records were deleted".into()),
                            ));
                            resolved.extend(open_error.map(|e| e.id));
                        }
                        (Some(survivor), Some(WriteOutcome::Written(modified))) => {
                            delta.inserted += 1;
                            let values = plan::create_values(
                                compiled,
                                deleted.other(),
                                &survivor,
                                &Lookups::new(),
                            )
                            .unwrap_or_default();
                            let recreated = plan::new_record(
                                compiled.spec(deleted),
                                c.key(deleted),
                                &values,
                                modified,
                            );
                            // The deleted record is on the other side of the batch.
                            synced.push(synced_row(
                                compiled,
                                c.id,
                                deleted.other(),
                                &survivor,
                                &recreated,
                            ));
                            entries.push(entry(
                                l,
                                i,
                                "restored",
                                "ok",
                                Vec::new(),
                                Some(format!(
                                    "the deleted {deleted} record was recreated from the {} record",
                                    deleted.other()
                                )),
                            ));
                            succeeded = true;
                        }
                        (Some(_), Some(WriteOutcome::Refused(message))) => {
                            self.failure(
                                &mut tx,
                                &mut delta,
                                &mut entries,
                                from,
                                &source,
                                Some(c.clone()),
                                Some(c.key(to).to_string()),
                                format!("cannot restore the deleted {deleted} record: {message}"),
                                open_error,
                            )
                            .await?;
                        }
                        (Some(survivor), _) if policy == DeletionConflictPolicy::RemoveCoupling => {
                            delta.uncoupled += 1;
                            coupling::delete(&mut tx, c.id).await?;
                            progress::remember_uncoupled(
                                &mut tx,
                                &name,
                                deleted.other(),
                                &survivor.key,
                                survivor.modified,
                            )
                            .await?;
                            entries.push(entry(
                                l,
                                i,
                                "uncoupled",
                                "ok",
                                Vec::new(),
                                Some(format!(
                                    "the {deleted} record was deleted; the coupling was removed"
                                )),
                            ));
                            resolved.extend(open_error.map(|e| e.id));
                        }
                        (Some(survivor), _) => {
                            let entry = self
                                .report_deleted(
                                    &mut tx,
                                    &c,
                                    deleted,
                                    &survivor.key,
                                    compiled.describe(deleted.other(), &survivor),
                                )
                                .await?;
                            delta.failed += 1;
                            entries.push(entry);
                        }
                    }
                }
                Plan::Fail {
                    coupling: c,
                    other_key,
                    message,
                } => {
                    self.failure(
                        &mut tx,
                        &mut delta,
                        &mut entries,
                        from,
                        &source,
                        c,
                        other_key,
                        message,
                        open_error,
                    )
                    .await?;
                }
            }
            if succeeded {
                if item.was_uncoupled {
                    coupled_again.push(source.key.clone());
                }
                resolved.extend(open_error.map(|e| e.id));
                if deferred.contains(&source.key) {
                    undefer.push(source.key.clone());
                }
            }
        }
        coupling::synced(&mut tx, &synced, from).await?;
        sync_error::resolve(&mut tx, &resolved, &self.actor).await?;
        progress::undefer(&mut tx, &name, from, &undefer).await?;
        progress::forget_uncoupled(&mut tx, &name, from, &coupled_again).await?;
        log::insert(&mut tx, &name, &entries).await?;
        match position {
            Some(Position::Changes((modified, key))) => {
                progress::set_watermark(&mut tx, &name, from, Stream::Changes, (modified, &key))
                    .await?;
            }
            Some(Position::Tombstones(at, id)) => {
                let deleted = to;
                progress::set_watermark(
                    &mut tx,
                    &name,
                    deleted,
                    Stream::Tombstones,
                    (at, &id.to_string()),
                )
                .await?;
            }
            None => {}
        }
        let done = items_count as u64;
        if !crate::store::job::add(&mut tx, self.job_id, self.fence, &delta, done).await? {
            return Err(RunError::LeaseLost);
        }
        self.checkpoint(FaultPoint::BeforeCommit)?;
        tx.commit().await.map_err(StoreError::from)?;
        let before = self.counters.coupled;
        self.counters.add(&delta);
        if doubled(before, self.counters.coupled) {
            self.store.refresh_statistics().await?;
        }
        Ok(())
    }

    /// Reports that the record of coupling `c` on `deleted` is gone while its partner
    /// `survivor_key` remains: a `deleted_*` sync error, the coupling skipped until
    /// someone acts. Answers the log entry to write.
    pub async fn report_deleted(
        &self,
        tx: &mut sqlx::AnyConnection,
        c: &Coupling,
        deleted: Side,
        survivor_key: &str,
        description: Option<String>,
    ) -> Result<NewLogEntry, RunError> {
        let message = format!(
            "The {deleted} record {} was deleted; the {} record {survivor_key} remains.",
            c.key(deleted),
            deleted.other(),
        );
        coupling::failed(tx, c.id, deleted.other(), "deleted", &message, true).await?;
        let (local_key, integration_key) =
            (Some(c.local_key.clone()), Some(c.integration_key.clone()));
        sync_error::record(
            tx,
            self.name(),
            &NewSyncError {
                coupling_id: Some(c.id),
                kind: SyncErrorKind::deleted(deleted),
                side: deleted.other(),
                local_key: local_key.clone(),
                integration_key: integration_key.clone(),
                description,
                message: message.clone(),
                fields: Vec::new(),
                job_id: Some(self.job_id),
                skipped: true,
                actor: self.actor.clone(),
            },
        )
        .await?;
        Ok(NewLogEntry {
            job_id: Some(self.job_id),
            local_key,
            integration_key,
            direction: None,
            action: "deletion_conflict",
            result: "failed",
            changes: Vec::new(),
            message: Some(message),
            actor: self.actor.clone(),
        })
    }

    /// Records a failed record: on its coupling (skipped after the same failure twice in a
    /// row) or, for a record not coupled yet, on its sync error alone.
    #[expect(
        clippy::too_many_arguments,
        reason = "one call site per kind of failure; a struct would only rename them"
    )]
    async fn failure(
        &self,
        tx: &mut sqlx::AnyConnection,
        delta: &mut Counters,
        entries: &mut Vec<NewLogEntry>,
        from: Side,
        source: &Record,
        coupling: Option<Coupling>,
        other_key: Option<String>,
        message: String,
        open_error: Option<&OpenError>,
    ) -> Result<(), RunError> {
        let name = self.name();
        let source_key = source.key.as_str();
        delta.failed += 1;
        let other_key =
            other_key.or_else(|| coupling.as_ref().map(|c| c.key(from.other()).to_string()));
        let (local_key, integration_key) = match from {
            Side::Local => (Some(source_key.to_string()), other_key),
            Side::Integration => (other_key, Some(source_key.to_string())),
        };
        let skipped = match &coupling {
            Some(c) => {
                coupling::failed(tx, c.id, from, "failed", &message, false)
                    .await?
                    .1
            }
            None => open_error.is_some_and(|e| e.message == message && e.attempts >= 1),
        };
        sync_error::record(
            tx,
            name,
            &NewSyncError {
                coupling_id: coupling.as_ref().map(|c| c.id),
                kind: SyncErrorKind::Failed,
                side: from,
                local_key: local_key.clone(),
                integration_key: integration_key.clone(),
                description: self.compiled.describe(from, source),
                message: message.clone(),
                fields: Vec::new(),
                job_id: Some(self.job_id),
                skipped,
                actor: self.actor.clone(),
            },
        )
        .await?;
        entries.push(NewLogEntry {
            job_id: Some(self.job_id),
            local_key,
            integration_key,
            direction: Some(from.direction_from()),
            action: "failed",
            result: "failed",
            changes: Vec::new(),
            message: Some(if skipped {
                format!("{message} (failed the same way twice: skipped until someone acts)")
            } else {
                message
            }),
            actor: self.actor.clone(),
        });
        Ok(())
    }

    /// For fields whose values are keys of a parent mapping's records, the coupled keys
    /// of the values in `records`.
    async fn lookups(
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

    /// Match-based coupling: for each uncoupled record, the other side's records whose
    /// `match_on` fields hold the same values.
    async fn matches(
        &self,
        from: Side,
        uncoupled: &[&Record],
        lookups: &Lookups,
    ) -> Result<HashMap<String, Vec<Record>>, RunError> {
        let compiled = self.compiled;
        let match_fields: Vec<usize> = compiled
            .mapping
            .match_on
            .iter()
            .filter_map(|name| {
                compiled
                    .fields
                    .iter()
                    .position(|f| f.field.local.as_deref() == Some(name))
            })
            .collect();
        let Some(&first) = match_fields.first() else {
            return Ok(HashMap::new());
        };
        let to = from.other();
        let wanted = |record: &Record| -> Option<Vec<Value>> {
            match_fields
                .iter()
                .map(|&i| {
                    plan::transfer(compiled, i, from, record, lookups)
                        .ok()
                        .filter(|v| !v.is_empty())
                })
                .collect()
        };
        let mut keys_wanted: Vec<(String, Vec<Value>)> = Vec::new();
        for record in uncoupled {
            if let Some(values) = wanted(record) {
                keys_wanted.push((record.key.clone(), values));
            }
        }
        if keys_wanted.is_empty() {
            return Ok(HashMap::new());
        }
        let Some(position) = compiled.fields[first].position(to) else {
            return Ok(HashMap::new());
        };
        let probe: Vec<Value> = keys_wanted.iter().map(|(_, v)| v[0].clone()).collect();
        let candidates = self
            .connector(to)
            .find(compiled.spec(to), position, &probe)
            .await?;
        let mut found = HashMap::new();
        for (key, values) in keys_wanted {
            let hits: Vec<Record> = candidates
                .iter()
                .filter(|c| {
                    match_fields.iter().zip(&values).all(|(&i, v)| {
                        compiled.fields[i]
                            .position(to)
                            .is_some_and(|p| &c.values[p] == v)
                    })
                })
                .cloned()
                .collect();
            found.insert(key, hits);
        }
        Ok(found)
    }
}

/// Where a batch leaves a stream.
enum Position {
    Changes((i64, String)),
    Tombstones(i64, i64),
}

impl OpenError {
    fn key(self, side: Side) -> Option<String> {
        match side {
            Side::Local => self.local_key,
            Side::Integration => self.integration_key,
        }
    }
}

fn open_by_key(open: HashMap<String, OpenError>, side: Side) -> HashMap<String, OpenError> {
    open.into_values()
        .filter_map(|e| e.clone().key(side).map(|k| (k, e)))
        .collect()
}

/// Decides a pair of records that exist on both sides.
#[expect(
    clippy::too_many_arguments,
    reason = "the pair, its coupling and the batch's lookups"
)]
fn pair(
    compiled: &Compiled,
    from: Side,
    source: &Record,
    other: Record,
    link: Link,
    base: Option<&coupling::Base>,
    other_changed: bool,
    lookups: &Lookups,
) -> Plan {
    match plan::decide(compiled, from, source, &other, base, other_changed, lookups) {
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

/// Whether the policy may recreate a record on `deleted`: data must be allowed to flow there.
fn restorable(compiled: &Compiled, deleted: Side) -> bool {
    match deleted {
        Side::Local => compiled.mapping.direction.from_integration(),
        Side::Integration => compiled.mapping.direction.to_integration(),
    }
}

/// Whether a run's couplings went from `before` to `after` past a full batch or a
/// doubling since: the points where a run that couples a lot has the store's statistics
/// refreshed (a million couplings: eight times).
fn doubled(before: u64, after: u64) -> bool {
    let batches = |n: u64| n / BATCH as u64;
    batches(after) > 0 && (batches(before) == 0 || batches(after).ilog2() > batches(before).ilog2())
}

/// The key a record created on the other side gets: a UUID ordered by time of creation
/// (version 7), so that records created together sit together in every index keyed by
/// it (the system's own, and the store's couplings and log), where random keys would
/// touch a different page of each index for every record. The pending coupling holds it
/// from before the create, so a create repeated after a crash finds the record it made.
pub fn new_key() -> String {
    uuid::Uuid::now_v7().hyphenated().to_string()
}

fn pair_keys(from: Side, source_key: &str, other_key: &str, pending: Option<Side>) -> NewCoupling {
    let (local_key, integration_key) = match from {
        Side::Local => (source_key, other_key),
        Side::Integration => (other_key, source_key),
    };
    NewCoupling {
        local_key: local_key.to_string(),
        integration_key: integration_key.to_string(),
        pending,
    }
}

/// The coupling a plan works on: the existing one, or a new one made now (counted and
/// logged as coupled).
#[expect(
    clippy::too_many_arguments,
    reason = "the batch's transaction, counters and log travel together"
)]
async fn link_id(
    tx: &mut sqlx::AnyConnection,
    mapping: &str,
    from: Side,
    link: Link,
    source: &Record,
    other: &Record,
    delta: &mut Counters,
    entries: &mut Vec<NewLogEntry>,
    entry: &LogEntryFor<'_>,
) -> Result<i64, sqlx::Error> {
    match link {
        Link::Existing(c) => Ok(c.id),
        Link::New => {
            delta.coupled += 1;
            let (l, i) = match from {
                Side::Local => (source.key.clone(), other.key.clone()),
                Side::Integration => (other.key.clone(), source.key.clone()),
            };
            entries.push(entry(Some(l), Some(i), "coupled", "ok", Vec::new(), None));
            insert_one(tx, mapping, pair_keys(from, &source.key, &other.key, None)).await
        }
    }
}

/// How a batch writes a log entry: keys, action, result, changes, message.
type LogEntryFor<'a> = dyn Fn(
        Option<String>,
        Option<String>,
        &'static str,
        &'static str,
        Vec<FieldChange>,
        Option<String>,
    ) -> NewLogEntry
    + Sync
    + 'a;

async fn insert_one(
    tx: &mut sqlx::AnyConnection,
    mapping: &str,
    new: NewCoupling,
) -> Result<i64, sqlx::Error> {
    Ok(coupling::insert(tx, mapping, &[new]).await?[0])
}

/// Records coupling `id` as synchronized from `from`: `source` (on `from`) and `other` as
/// they now are become its modified-on values and its base.
pub(crate) async fn synced_pair(
    tx: &mut sqlx::AnyConnection,
    compiled: &Compiled,
    id: i64,
    from: Side,
    source: &Record,
    other: &Record,
) -> Result<(), sqlx::Error> {
    coupling::synced(tx, &[synced_row(compiled, id, from, source, other)], from).await
}

/// Coupling `id` as synchronized from `from`, for [`coupling::synced`].
fn synced_row(
    compiled: &Compiled,
    id: i64,
    from: Side,
    source: &Record,
    other: &Record,
) -> coupling::Synced {
    let (local, integration) = ordered(from, source, other);
    coupling::Synced {
        id,
        local_modified: local.modified,
        integration_modified: integration.modified,
        base: compiled.snapshot(local, integration),
    }
}

/// `(local, integration)` from a source on `from` and the other record.
fn ordered<'r>(from: Side, source: &'r Record, other: &'r Record) -> (&'r Record, &'r Record) {
    match from {
        Side::Local => (source, other),
        Side::Integration => (other, source),
    }
}

fn field_changes(
    compiled: &Compiled,
    side: Side,
    before: &Record,
    writes: &[(usize, Value)],
) -> Vec<FieldChange> {
    let spec = compiled.spec(side);
    writes
        .iter()
        .map(|(position, value)| FieldChange {
            field: spec.columns[*position].clone(),
            old: before.values.get(*position).cloned().unwrap_or_default(),
            new: value.clone(),
        })
        .collect()
}

/// The job kind for a run.
pub fn job_kind(full: bool) -> JobKind {
    if full {
        JobKind::FullSynchronization
    } else {
        JobKind::Synchronization
    }
}

/// Runs a mapping: deletions reported by either side first, then local → integration,
/// then integration → local, as the direction allows.
pub async fn run_mapping(run: &mut Run<'_>, full: bool) -> Result<(), RunError> {
    let direction = run.compiled.mapping.direction;
    if full {
        let mut conn = run.store.conn().await?;
        progress::reset_changes(&mut conn, &run.compiled.mapping.name).await?;
    }
    for side in [Side::Local, Side::Integration] {
        run.tombstones(side).await?;
    }
    if direction.to_integration() {
        run.pass(Side::Local, full).await?;
    }
    if direction.from_integration() {
        run.pass(Side::Integration, full).await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::{BATCH, doubled};

    #[test]
    fn statistics_are_refreshed_at_each_doubling_of_a_runs_couplings() {
        let batch = BATCH as u64;
        let mut refreshed = Vec::new();
        let mut coupled = 0;
        while coupled < 1_000_000 {
            let after = coupled + batch;
            if doubled(coupled, after) {
                refreshed.push(after);
            }
            coupled = after;
        }
        let expected: Vec<u64> = (0..8).map(|k| batch << k).collect();
        assert_eq!(refreshed, expected);
        assert!(
            !doubled(0, batch - 1),
            "a run smaller than a batch refreshes nothing"
        );
    }
}
