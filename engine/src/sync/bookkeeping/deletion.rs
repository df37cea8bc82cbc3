//! A coupling one of whose records is gone, recorded as the deletion policy says: the
//! partner deleted too, the record restored, the coupling removed, or a `deleted_*`
//! error for a person to decide.

use super::{Answered, Ledger, synced_row};
use crate::connector::{Record, WriteOutcome};
use crate::model::{DeletionConflictPolicy, Side};
use crate::store::coupling::{self, Coupling};
use crate::store::progress;
use crate::sync::compile::{self, Lookups};
use crate::sync::{Run, RunError};

impl Run<'_> {
    /// Records a coupling one of whose records is gone, as the deletion policy and the
    /// answer to a restore say; answers whether it synchronized. The deleted record is
    /// always on the other side of the batch.
    pub(super) async fn record_deletion(
        &self,
        ledger: &mut Ledger<'_>,
        answered: &Answered<'_>,
        c: Coupling,
        deleted: Side,
        survivor: Option<Record>,
    ) -> Result<bool, RunError> {
        let compiled = self.compiled;
        let policy = compiled.mapping.deletion_conflict;
        let (l, i) = (Some(c.local_key.clone()), Some(c.integration_key.clone()));
        match (survivor, &answered.other) {
            (None, _) => {
                ledger.delta.uncoupled += 1;
                coupling::delete(ledger.tx, c.id).await?;
                let message = Some("both records were deleted".into());
                ledger.log(l, i, "uncoupled", "ok", Vec::new(), message);
                ledger.resolved.extend(answered.open_error.map(|e| e.id));
                Ok(false)
            }
            (Some(survivor), Some(WriteOutcome::Written(modified))) => {
                ledger.delta.inserted += 1;
                let values =
                    compile::create_values(compiled, deleted.other(), &survivor, &Lookups::new())
                        .unwrap_or_default();
                let recreated =
                    compile::new_record(compiled.spec(deleted), c.key(deleted), &values, *modified);
                let row = synced_row(compiled, c.id, deleted.other(), &survivor, &recreated);
                ledger.synced.push(row);
                let message = format!(
                    "the deleted {deleted} record was recreated from the {} record",
                    deleted.other()
                );
                ledger.log(l, i, "restored", "ok", Vec::new(), Some(message));
                Ok(true)
            }
            (Some(_), Some(WriteOutcome::Refused(message))) => {
                let message = format!("cannot restore the deleted {deleted} record: {message}");
                let other_key = Some(c.key(ledger.from.other()).to_string());
                let source = &answered.source;
                self.failure(
                    ledger,
                    source,
                    Some(c),
                    other_key,
                    message,
                    answered.open_error,
                );
                Ok(false)
            }
            (Some(survivor), _) if policy == DeletionConflictPolicy::RemoveCoupling => {
                ledger.delta.uncoupled += 1;
                coupling::delete(ledger.tx, c.id).await?;
                progress::remember_uncoupled(
                    ledger.tx,
                    ledger.mapping,
                    deleted.other(),
                    &survivor.key,
                    survivor.modified,
                )
                .await?;
                let message = format!("the {deleted} record was deleted; the coupling was removed");
                ledger.log(l, i, "uncoupled", "ok", Vec::new(), Some(message));
                ledger.resolved.extend(answered.open_error.map(|e| e.id));
                Ok(false)
            }
            (Some(survivor), _) => {
                let description = compiled.describe(deleted.other(), &survivor);
                let entry = self.report_deleted(
                    &mut ledger.failures,
                    &c,
                    deleted,
                    &survivor.key,
                    description,
                );
                ledger.delta.failed += 1;
                ledger.entries.push(entry);
                Ok(false)
            }
        }
    }
}
