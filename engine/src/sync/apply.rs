//! Writing a batch's plans to the two systems. The pending couplings of creates come
//! first, committed on their own, so that a create repeated after a crash finds the
//! record it made (DESIGN.md, "Crash safety"); then one write batch to the other system,
//! and one back to the source system for merged changes. A fault point sits before and
//! after each step. What the writes did is recorded by [`super::bookkeeping`].

use super::classify::{Item, Plan, Position};
use super::compile::{self, Blocked, Compiled, Lookups};
use super::{FaultPoint, Run, RunError};
use crate::connector::{WriteOp, WriteOutcome};
use crate::model::{DeletionConflictPolicy, Side};
use crate::store::StoreError;
use crate::store::coupling::{self, NewCoupling};
use crate::store::sync_error::OpenError;
use std::collections::{BTreeSet, HashMap};

/// What the two systems answered to a batch's writes, in the order of the writes.
pub(super) struct Outcomes {
    /// The other side's answers, by [`Item::write_other`].
    pub(super) other: Vec<WriteOutcome>,
    /// The source side's answers, by [`Item::write_source`].
    pub(super) source: Vec<WriteOutcome>,
}

impl Run<'_> {
    /// Writes a batch's plans: pending couplings first (one transaction), then both
    /// systems, then everything else in one store transaction with the new watermark.
    pub(super) async fn execute(
        &mut self,
        from: Side,
        mut items: Vec<Item>,
        open: &HashMap<String, OpenError>,
        deferred: &BTreeSet<String>,
        position: Option<Position>,
    ) -> Result<(), RunError> {
        self.write_pending(from, &mut items).await?;
        let outcomes = self.write(from, &mut items).await?;
        self.record(from, items, &outcomes, open, deferred, position)
            .await
    }

    /// Writes the couplings of the batch's new creates as pending, before the creates,
    /// and gives each create its coupling's id.
    async fn write_pending(&self, from: Side, items: &mut [Item]) -> Result<(), RunError> {
        let to = from.other();
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
            let ids = coupling::insert(&mut tx, self.name(), &new_pending).await?;
            tx.commit().await.map_err(StoreError::from)?;
            let mut ids = ids.into_iter();
            for item in items {
                if let Plan::Create {
                    pending: pending @ None,
                    ..
                } = &mut item.plan
                {
                    *pending = ids.next();
                }
            }
        }
        self.checkpoint(FaultPoint::AfterPending)
    }

    /// Writes the batch to both systems, one write batch each: the other side first,
    /// then merged changes back to the source side.
    async fn write(&self, from: Side, items: &mut [Item]) -> Result<Outcomes, RunError> {
        let to = from.other();
        let [source_ops, other_ops] = self.write_ops(from, items);
        let other = if other_ops.is_empty() {
            Vec::new()
        } else {
            self.connector(to)
                .write(self.compiled.spec(to), &other_ops)
                .await?
        };
        self.checkpoint(FaultPoint::AfterWriteOther)?;
        let source = if source_ops.is_empty() {
            Vec::new()
        } else {
            self.connector(from)
                .write(self.compiled.spec(from), &source_ops)
                .await?
        };
        self.checkpoint(FaultPoint::AfterWriteSource)?;
        Ok(Outcomes { other, source })
    }

    /// The writes of the batch, `[to the source side, to the other side]`; each item
    /// learns the index of its writes. A restore whose values cannot cross fails here.
    fn write_ops(&self, from: Side, items: &mut [Item]) -> [Vec<WriteOp>; 2] {
        let to = from.other();
        let compiled = self.compiled;
        let policy = compiled.mapping.deletion_conflict;
        let mut ops: [Vec<WriteOp>; 2] = [Vec::new(), Vec::new()];
        for item in items {
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
                    match compile::create_values(
                        compiled,
                        deleted.other(),
                        survivor,
                        &Lookups::new(),
                    ) {
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
        ops
    }
}

/// Whether the policy may recreate a record on `deleted`: data must be allowed to flow there.
fn restorable(compiled: &Compiled, deleted: Side) -> bool {
    match deleted {
        Side::Local => compiled.mapping.direction.from_integration(),
        Side::Integration => compiled.mapping.direction.to_integration(),
    }
}

/// The coupling of `source_key` on `from` with `other_key` on the other side; `pending`
/// names the side whose record is still to be created.
pub(super) fn pair_keys(
    from: Side,
    source_key: &str,
    other_key: &str,
    pending: Option<Side>,
) -> NewCoupling {
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
