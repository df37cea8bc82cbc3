//! The store transaction of a batch: what each plan and the systems' answers to its
//! writes leave in the store (couplings completed, failed or removed, sync errors
//! recorded and resolved, log entries, deferrals, records left uncoupled), then the
//! batch's position in its stream and the job's counters. All of it commits together,
//! after both systems are written, so that a batch counts once or not at all.

use super::apply::{Outcomes, pair_keys};
use super::classify::{Item, Link, Plan, Position};
use super::compile::{self, Compiled};
use super::failures::Failures;
use super::{BATCH, FaultPoint, RecordResult, Run, RunError, Touched};
use crate::connector::{ChangeCursor, Record, WriteOutcome};
use crate::model::{Counters, FieldChange, Side};
use crate::store::StoreError;
use crate::store::coupling::{self, NewCoupling};
use crate::store::log::{self, NewLogEntry};
use crate::store::progress::{self, Stream};
use crate::store::sync_error::{self, OpenError};
use crate::value::Value;
use std::collections::{BTreeSet, HashMap};

mod deletion;
mod failed;

/// What one batch's store transaction writes. Statements about one record run on `tx` as
/// its item is recorded; the rows gathered here are written in bulk at the end, a few
/// statements for the whole batch.
pub(super) struct Ledger<'t> {
    pub(super) tx: &'t mut sqlx::AnyConnection,
    pub(super) mapping: &'t str,
    /// The side the batch's records changed on.
    pub(super) from: Side,
    job_id: i64,
    actor: &'t str,
    /// The batch's counters, added to the job's in the same transaction.
    pub(super) delta: Counters,
    entries: Vec<NewLogEntry>,
    /// Open sync errors the batch resolved.
    resolved: Vec<i64>,
    /// Couplings synchronized, with their new modified-on values and base.
    synced: Vec<coupling::Synced>,
    /// Pairs the batch coupled, with their rows as synchronized: inserted together when
    /// the batch is written out, so that a thousand matches cost a few statements.
    coupled: Vec<(NewCoupling, coupling::Synced)>,
    /// Deferred records that went through.
    undefer: Vec<String>,
    /// Records left uncoupled by someone that are coupled again.
    coupled_again: Vec<String>,
    /// The batch's records that failed.
    pub(super) failures: Failures,
    /// What became of each record, when the run reports per record.
    touched: Option<Vec<Touched>>,
}

/// One record of the batch with what the systems answered to its writes.
struct Answered<'b> {
    source: Record,
    /// The answer to its write on the other side.
    other: Option<WriteOutcome>,
    /// The answer to its write back to the source side.
    back: Option<WriteOutcome>,
    open_error: Option<&'b OpenError>,
}

impl Ledger<'_> {
    /// Says what became of the batch's record `key`, when the run reports per record.
    pub(super) fn touched(&mut self, key: &str, result: RecordResult) {
        if let Some(touched) = &mut self.touched {
            touched.push(Touched {
                side: self.from,
                key: key.to_string(),
                result,
            });
        }
    }

    /// Logs an event of the batch, caused by the run's actor; answers its place among the
    /// batch's entries.
    pub(super) fn log(
        &mut self,
        local_key: Option<String>,
        integration_key: Option<String>,
        action: &'static str,
        result: &'static str,
        changes: Vec<FieldChange>,
        message: Option<String>,
    ) -> usize {
        self.entries.push(NewLogEntry {
            job_id: Some(self.job_id),
            local_key,
            integration_key,
            direction: Some(self.from.direction_from()),
            action,
            result,
            changes,
            message,
            actor: self.actor.to_string(),
        });
        self.entries.len() - 1
    }

    /// `(local, integration)` keys of a pair whose source record is `source_key`.
    pub(super) fn keys_of(
        &self,
        source_key: &str,
        other_key: &str,
    ) -> (Option<String>, Option<String>) {
        match self.from {
            Side::Local => (Some(source_key.to_string()), Some(other_key.to_string())),
            Side::Integration => (Some(other_key.to_string()), Some(source_key.to_string())),
        }
    }

    /// Keeps `row` as the pair of `source` and `other` synchronized through `link`, its
    /// id set here: the existing coupling's, or that of a new coupling (counted and logged
    /// as coupled), made when the batch is written out.
    fn synced(&mut self, link: Link, source: &str, other: &str, mut row: coupling::Synced) {
        match link {
            Link::Existing(c) => {
                row.id = c.id;
                self.synced.push(row);
            }
            Link::New => {
                self.delta.coupled += 1;
                let (l, i) = self.keys_of(source, other);
                self.log(l, i, "coupled", "ok", Vec::new(), None);
                self.coupled
                    .push((pair_keys(self.from, source, other, None), row));
            }
        }
    }

    /// Defers the record `key` until what it waits for is there: counted and logged.
    async fn deferral(&mut self, key: &str, reason: String) -> Result<(), sqlx::Error> {
        self.delta.deferred += 1;
        progress::defer(self.tx, self.mapping, self.from, key, &reason).await?;
        let (local_key, integration_key) = match self.from {
            Side::Local => (Some(key.to_string()), None),
            Side::Integration => (None, Some(key.to_string())),
        };
        self.log(
            local_key,
            integration_key,
            "deferred",
            "skipped",
            Vec::new(),
            Some(reason),
        );
        Ok(())
    }

    /// Writes the rows gathered for the whole batch; answers the batch's counters.
    async fn write_out(mut self) -> Result<Counters, sqlx::Error> {
        let (new, rows): (Vec<NewCoupling>, Vec<coupling::Synced>) =
            self.coupled.into_iter().unzip();
        let ids = coupling::insert(self.tx, self.mapping, &new).await?;
        self.synced.extend(
            rows.into_iter()
                .zip(ids)
                .map(|(row, id)| coupling::Synced { id, ..row }),
        );
        coupling::synced(self.tx, &self.synced, self.from).await?;
        sync_error::resolve(self.tx, &self.resolved, self.actor).await?;
        self.failures
            .write(self.tx, self.mapping, &mut self.entries)
            .await?;
        progress::undefer(self.tx, self.mapping, self.from, &self.undefer).await?;
        progress::forget_uncoupled(self.tx, self.mapping, self.from, &self.coupled_again).await?;
        log::insert(self.tx, self.mapping, &self.entries).await?;
        Ok(self.delta)
    }
}

impl Run<'_> {
    /// Records a batch in one store transaction: each item, then the rows gathered, the
    /// new position in its stream and the job's counters.
    pub(super) async fn record(
        &mut self,
        from: Side,
        items: Vec<Item>,
        outcomes: &Outcomes,
        open: &HashMap<String, OpenError>,
        deferred: &BTreeSet<String>,
        position: Option<Position>,
    ) -> Result<(), RunError> {
        let done = items.len() as u64;
        let mut tx = self.store.begin().await?;
        let mut ledger = Ledger {
            tx: &mut tx,
            mapping: self.name(),
            from,
            job_id: self.job_id,
            actor: &self.actor,
            delta: Counters::default(),
            entries: Vec::new(),
            resolved: Vec::new(),
            synced: Vec::new(),
            coupled: Vec::new(),
            undefer: Vec::new(),
            coupled_again: Vec::new(),
            failures: Failures::default(),
            touched: self.report.is_some().then(Vec::new),
        };
        for item in items {
            self.record_item(&mut ledger, item, outcomes, open, deferred)
                .await?;
        }
        let touched = ledger.touched.take();
        let delta = ledger.write_out().await?;
        let name = self.name();
        match position {
            Some(Position::Changes((modified, key))) => {
                progress::set_watermark(&mut tx, name, from, Stream::Changes, (modified, &key))
                    .await?;
            }
            Some(Position::Tombstones(at, id)) => {
                // Tombstones are read from the side whose records were deleted: the
                // other side of the batch.
                let deleted = from.other();
                progress::set_watermark(
                    &mut tx,
                    name,
                    deleted,
                    Stream::Tombstones,
                    (at, &id.to_string()),
                )
                .await?;
            }
            None => {}
        }
        if !crate::store::job::add(&mut tx, self.job_id, self.fence, &delta, done).await? {
            return Err(RunError::LeaseLost);
        }
        self.checkpoint(FaultPoint::BeforeCommit)?;
        tx.commit().await.map_err(StoreError::from)?;
        if let (Some(report), Some(touched)) = (&mut self.report, touched) {
            report.extend(touched);
        }
        let before = self.counters.coupled;
        self.counters.add(&delta);
        if doubled(before, self.counters.coupled) {
            self.store.refresh_statistics().await?;
        }
        Ok(())
    }

    /// Keeps the position `from`'s change tracking goes on from, under the job's fence.
    pub(super) async fn keep_delta(&self, from: Side, position: &str) -> Result<(), RunError> {
        let mut tx = self.store.begin().await?;
        if !crate::store::job::holds(&mut tx, self.job_id, self.fence).await? {
            return Err(RunError::LeaseLost);
        }
        progress::set_watermark(&mut tx, self.name(), from, Stream::Delta, (0, position)).await?;
        tx.commit().await.map_err(StoreError::from)?;
        Ok(())
    }

    /// Moves the change feed's watermark of `from` past a batch that left nothing to do.
    pub(super) async fn advance(&self, from: Side, cursor: &ChangeCursor) -> Result<(), RunError> {
        let mut tx = self.store.begin().await?;
        if !crate::store::job::holds(&mut tx, self.job_id, self.fence).await? {
            return Err(RunError::LeaseLost);
        }
        progress::set_watermark(
            &mut tx,
            self.name(),
            from,
            Stream::Changes,
            (cursor.modified, &cursor.key),
        )
        .await?;
        tx.commit().await.map_err(StoreError::from)?;
        Ok(())
    }

    /// Records one item of the batch as its plan and the answers to its writes say.
    async fn record_item(
        &self,
        ledger: &mut Ledger<'_>,
        item: Item,
        outcomes: &Outcomes,
        open: &HashMap<String, OpenError>,
        deferred: &BTreeSet<String>,
    ) -> Result<(), RunError> {
        // What to say of the record if the plan's own bookkeeping says nothing.
        let unsaid = match &item.plan {
            Plan::Skipped => Some(RecordResult::Skipped),
            Plan::Defer { reason } => Some(RecordResult::Deferred(reason.clone())),
            Plan::Deleted { deleted, .. } => Some(RecordResult::Conflict(format!(
                "the {deleted} record was deleted"
            ))),
            _ => None,
        };
        let said = ledger.touched.as_ref().map_or(0, Vec::len);
        let answered = Answered {
            other: item.write_other.map(|i| outcomes.other[i].clone()),
            back: item.write_source.map(|i| outcomes.source[i].clone()),
            open_error: open.get(&item.source.key),
            source: item.source,
        };
        let succeeded = match item.plan {
            Plan::Ignore => false,
            Plan::Skipped => {
                ledger.delta.skipped += 1;
                false
            }
            Plan::Defer { reason } => {
                ledger.deferral(&answered.source.key, reason).await?;
                false
            }
            Plan::Unchanged { link, other } => {
                ledger.delta.unchanged += 1;
                let row = synced_row(self.compiled, 0, ledger.from, &answered.source, &other);
                ledger.synced(link, &answered.source.key, &other.key, row);
                true
            }
            Plan::Write {
                link,
                other,
                to_other,
                to_source,
            } => {
                self.record_write(ledger, &answered, link, other, to_other, to_source)
                    .await?
            }
            Plan::Create {
                key,
                values,
                pending,
            } => {
                self.record_create(ledger, &answered, key, values, pending)
                    .await?
            }
            Plan::Conflict {
                coupling,
                fields,
                message,
            } => {
                self.record_conflict(ledger, &answered.source, coupling, fields, message);
                false
            }
            Plan::Deleted {
                coupling,
                deleted,
                survivor,
            } => {
                self.record_deletion(ledger, &answered, coupling, deleted, survivor)
                    .await?
            }
            Plan::Fail {
                coupling,
                other_key,
                message,
            } => {
                let source = &answered.source;
                self.failure(
                    ledger,
                    source,
                    coupling,
                    other_key,
                    message,
                    answered.open_error,
                );
                false
            }
            Plan::Hold { message } => {
                match answered.open_error {
                    // Held as before, for the same reason: nothing new to record, so the
                    // error keeps its place in the list and the log its one entry.
                    Some(open) if open.message == message => {
                        ledger.delta.failed += 1;
                        ledger.touched(&answered.source.key, RecordResult::Failed(message));
                    }
                    // Without its open error the failure is never counted as a repeat,
                    // so the record is never skipped.
                    _ => self.failure(ledger, &answered.source, None, None, message, None),
                }
                false
            }
        };
        let key = &answered.source.key;
        if ledger.touched.as_ref().map_or(0, Vec::len) == said {
            match unsaid {
                _ if succeeded => ledger.touched(key, RecordResult::Synchronized),
                Some(result) => ledger.touched(key, result),
                None => {}
            }
        }
        if succeeded {
            if item.was_uncoupled {
                ledger.coupled_again.push(key.clone());
            }
            ledger.resolved.extend(answered.open_error.map(|e| e.id));
            if deferred.contains(key) {
                ledger.undefer.push(key.clone());
            }
        }
        Ok(())
    }

    /// Records a pair written to one or both systems; answers whether it synchronized.
    async fn record_write(
        &self,
        ledger: &mut Ledger<'_>,
        answered: &Answered<'_>,
        link: Link,
        other: Record,
        to_other: Vec<(usize, Value)>,
        to_source: Vec<(usize, Value)>,
    ) -> Result<bool, RunError> {
        let compiled = self.compiled;
        let (from, source) = (ledger.from, &answered.source);
        let to = from.other();
        let answers = [&answered.other, &answered.back];
        let refused = answers.into_iter().flatten().find_map(|o| match o {
            WriteOutcome::Refused(message) => Some(message.clone()),
            _ => None,
        });
        let changed = answers
            .into_iter()
            .flatten()
            .any(|o| *o == WriteOutcome::Changed);
        if let Some(message) = refused {
            let coupling_now = match &link {
                Link::Existing(c) => Some(c.clone()),
                Link::New => None,
            };
            let message = format!(
                "{} refused the record: {message}",
                self.connector(to).system()
            );
            let other_key = Some(other.key.clone());
            self.failure(
                ledger,
                source,
                coupling_now,
                other_key,
                message,
                answered.open_error,
            );
            return Ok(false);
        }
        if changed {
            // Someone changed a record while the run read it: nothing was written
            // there; look at it again next run.
            let reason = "changed while synchronizing";
            progress::defer(ledger.tx, ledger.mapping, from, &source.key, reason).await?;
            return Ok(false);
        }
        let other_modified = match answered.other {
            Some(WriteOutcome::Written(m)) => m,
            _ => other.modified,
        };
        let source_modified = match answered.back {
            Some(WriteOutcome::Written(m)) => m,
            _ => source.modified,
        };
        let other_after = compile::applied(&other, &to_other, other_modified);
        let source_after = compile::applied(source, &to_source, source_modified);
        let mut changes = field_changes(compiled, to, &other, &to_other);
        changes.extend(field_changes(compiled, from, source, &to_source));
        ledger.delta.modified += u64::from(!to_other.is_empty()) + u64::from(!to_source.is_empty());
        let (l, i) = ledger.keys_of(&source.key, &other.key);
        ledger.log(l, i, "modified", "ok", changes, None);
        let row = synced_row(compiled, 0, from, &source_after, &other_after);
        ledger.synced(link, &source.key, &other.key, row);
        Ok(true)
    }

    /// Records a record created on the other side, whose coupling was written pending;
    /// answers whether it synchronized.
    async fn record_create(
        &self,
        ledger: &mut Ledger<'_>,
        answered: &Answered<'_>,
        key: String,
        values: Vec<(usize, Value)>,
        pending: Option<i64>,
    ) -> Result<bool, RunError> {
        let compiled = self.compiled;
        let (from, source) = (ledger.from, &answered.source);
        let to = from.other();
        let pending_id = pending.expect("pending couplings are written first");
        match &answered.other {
            Some(WriteOutcome::Written(modified)) => {
                ledger.delta.inserted += 1;
                ledger.delta.coupled += 1;
                let created = compile::new_record(compiled.spec(to), &key, &values, *modified);
                let blank = compile::new_record(compiled.spec(to), &key, &[], 0);
                let changes = field_changes(compiled, to, &blank, &values);
                let (l, i) = ledger.keys_of(&source.key, &key);
                ledger.log(l, i, "inserted", "ok", changes, None);
                let row = synced_row(compiled, pending_id, from, source, &created);
                ledger.synced.push(row);
                Ok(true)
            }
            Some(WriteOutcome::Refused(message)) => {
                coupling::delete(ledger.tx, pending_id).await?;
                let message = format!(
                    "{} refused the new record: {message}",
                    self.connector(to).system()
                );
                self.failure(ledger, source, None, None, message, answered.open_error);
                Ok(false)
            }
            _ => {
                // A record with that key appeared meanwhile: the next run finds it and
                // couples it.
                let reason = "created concurrently";
                progress::defer(ledger.tx, ledger.mapping, from, &source.key, reason).await?;
                Ok(false)
            }
        }
    }
}

/// Whether a run's couplings went from `before` to `after` past a full batch or a
/// doubling since: the points where a run that couples a lot has the store's statistics
/// refreshed (a million couplings: eight times).
fn doubled(before: u64, after: u64) -> bool {
    let batches = |n: u64| n / BATCH as u64;
    batches(after) > 0 && (batches(before) == 0 || batches(after).ilog2() > batches(before).ilog2())
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

/// The log's old → new values of the `writes` to `before`, a record on `side`.
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
