//! Restore Records and Delete Records, for a record deleted on one side: recreate it from
//! its surviving partner and couple again, or delete the survivor and the coupling.

use super::{PerRecord, changes, entry, outcome};
use crate::connector::{WriteOp, WriteOutcome};
use crate::error::EngineError;
use crate::handle::Engine;
use crate::model::{
    Action, ActionAnswer, ErrorRef, Outcome, RecordOutcome, Side, SyncErrorSummary,
};
use crate::store::{StoreError, coupling, log, sync_error};
use crate::sync::{plan, synced_pair};

impl Engine {
    /// Restore Records: recreates each deleted record from its surviving partner and
    /// couples them again.
    pub async fn restore_records(
        &self,
        actor: &str,
        action_id: &str,
        errors: &[ErrorRef],
    ) -> Result<ActionAnswer, EngineError> {
        self.deleted_records(actor, action_id, errors, true).await
    }

    /// Delete Records: deletes each deleted record's surviving partner, and the coupling.
    pub async fn delete_records(
        &self,
        actor: &str,
        action_id: &str,
        errors: &[ErrorRef],
    ) -> Result<ActionAnswer, EngineError> {
        self.deleted_records(actor, action_id, errors, false).await
    }

    async fn deleted_records(
        &self,
        actor: &str,
        action_id: &str,
        errors: &[ErrorRef],
        restore: bool,
    ) -> Result<ActionAnswer, EngineError> {
        let action = if restore {
            Action::RestoreRecords.as_str()
        } else {
            Action::DeleteRecords.as_str()
        };
        let text = serde_json::to_string(errors).unwrap_or_default();
        let each = if restore {
            PerRecord::Restore
        } else {
            PerRecord::Delete
        };
        self.act_on_each(actor, action_id, action, text, errors, each)
            .await
    }

    pub(super) async fn deleted_record(
        &self,
        actor: &str,
        e: &SyncErrorSummary,
        restore: bool,
    ) -> Result<RecordOutcome, EngineError> {
        let (compiled, connectors, c, records) = match self.pair(e).await? {
            Ok(pair) => pair,
            Err(answer) => return Ok(answer),
        };
        let survivors: Vec<Side> = [Side::Local, Side::Integration]
            .into_iter()
            .filter(|s| records[*s as usize].is_some())
            .collect();
        let survivor = match survivors.as_slice() {
            [one] => *one,
            [] => {
                return Ok(outcome(
                    e,
                    Outcome::Refused,
                    "neither record exists any more: nothing to act on",
                ));
            }
            _ => {
                return Ok(outcome(
                    e,
                    Outcome::Refused,
                    "both records exist: use Retry or Synchronize",
                ));
            }
        };
        let deleted = survivor.other();
        let source = records[survivor as usize]
            .clone()
            .expect("the survivor exists");
        let keys = (c.local_key.as_str(), c.integration_key.as_str());
        if restore {
            let lookups = self
                .lookups(&compiled, [(survivor, &source), (survivor, &source)])
                .await?;
            let values = match plan::create_values(&compiled, survivor, &source, &lookups) {
                Ok(values) => values,
                Err(plan::Blocked::Fail(reason) | plan::Blocked::Defer(reason)) => {
                    return Ok(outcome(e, Outcome::Failed, reason));
                }
            };
            let op = WriteOp::Create {
                key: c.key(deleted).to_string(),
                values: values.clone(),
            };
            let modified = match self
                .write(
                    &e.mapping,
                    connectors[deleted as usize].as_ref(),
                    &compiled,
                    deleted,
                    op,
                )
                .await?
            {
                WriteOutcome::Written(modified) => modified,
                WriteOutcome::Refused(reason) => {
                    return Ok(outcome(
                        e,
                        Outcome::Failed,
                        format!("the {deleted} system refused the record: {reason}"),
                    ));
                }
                WriteOutcome::Changed => {
                    return Ok(outcome(
                        e,
                        Outcome::Failed,
                        "a record with that key appeared meanwhile",
                    ));
                }
            };
            let recreated =
                plan::new_record(compiled.spec(deleted), c.key(deleted), &values, modified);
            let mut tx = self.inner.store.begin().await?;
            synced_pair(&mut tx, &compiled, c.id, survivor, &source, &recreated).await?;
            sync_error::resolve(&mut tx, &[e.id], actor).await?;
            let blank = plan::new_record(compiled.spec(deleted), c.key(deleted), &[], 0);
            let message =
                format!("the deleted {deleted} record was recreated from the {survivor} record");
            log::insert(
                &mut tx,
                &e.mapping,
                &[entry(
                    actor,
                    keys,
                    "restored",
                    changes(&compiled, deleted, &blank, &values),
                    Some(message),
                )],
            )
            .await?;
            tx.commit().await.map_err(StoreError::from)?;
            Ok(outcome(
                e,
                Outcome::Done,
                format!("the {deleted} record was recreated and coupled again"),
            ))
        } else {
            let op = WriteOp::Delete {
                key: source.key.clone(),
            };
            match self
                .write(
                    &e.mapping,
                    connectors[survivor as usize].as_ref(),
                    &compiled,
                    survivor,
                    op,
                )
                .await?
            {
                WriteOutcome::Written(_) => {}
                WriteOutcome::Refused(reason) => {
                    return Ok(outcome(
                        e,
                        Outcome::Failed,
                        format!("the {survivor} system refused to delete: {reason}"),
                    ));
                }
                WriteOutcome::Changed => {
                    return Ok(outcome(e, Outcome::Failed, "the record was gone already"));
                }
            }
            let mut tx = self.inner.store.begin().await?;
            coupling::delete(&mut tx, c.id).await?;
            sync_error::resolve(&mut tx, &[e.id], actor).await?;
            let message = format!("the {survivor} record was deleted, as its partner was");
            log::insert(
                &mut tx,
                &e.mapping,
                &[entry(actor, keys, "deleted", Vec::new(), Some(message))],
            )
            .await?;
            tx.commit().await.map_err(StoreError::from)?;
            Ok(outcome(
                e,
                Outcome::Done,
                format!("the {survivor} record and the coupling were deleted"),
            ))
        }
    }
}
