//! Synchronize: an update conflict resolved with the local data, the integration data,
//! a merge when no field conflicts, or a choice per field; both records written and the
//! error cleared.

use super::{PerRecord, changes, entry, outcome};
use crate::connector::{WriteOp, WriteOutcome};
use crate::error::EngineError;
use crate::handle::Engine;
use crate::model::{
    Action, ActionAnswer, ErrorRef, Outcome, RecordOutcome, Resolution, Side, SyncErrorKind,
    SyncErrorSummary,
};
use crate::store::{StoreError, log, sync_error};
use crate::sync::{plan, synced_pair};

impl Engine {
    /// Synchronize: resolves update conflicts as chosen, writing both records and
    /// clearing the errors. Several records at once take only a side.
    pub async fn resolve(
        &self,
        actor: &str,
        action_id: &str,
        errors: &[ErrorRef],
        resolution: &Resolution,
    ) -> Result<ActionAnswer, EngineError> {
        if errors.len() > 1 && !matches!(resolution, Resolution::Local | Resolution::Integration) {
            return Err(EngineError::Invalid(
                "several records at once are resolved by taking one side: local or integration"
                    .into(),
            ));
        }
        let text = serde_json::to_string(&(errors, resolution)).unwrap_or_default();
        let each = PerRecord::Resolve(resolution);
        let name = Action::Synchronize(Resolution::Merge).as_str();
        self.act_on_each(actor, action_id, name, text, errors, each)
            .await
    }

    pub(super) async fn resolve_one(
        &self,
        actor: &str,
        e: &SyncErrorSummary,
        resolution: &Resolution,
    ) -> Result<RecordOutcome, EngineError> {
        if e.kind != SyncErrorKind::UpdateConflict {
            let reason = format!("this is a {} error, not an update conflict", e.kind);
            return Ok(outcome(e, Outcome::Refused, reason));
        }
        self.resolve_one_conflict(actor, e, resolution).await
    }

    async fn resolve_one_conflict(
        &self,
        actor: &str,
        e: &SyncErrorSummary,
        resolution: &Resolution,
    ) -> Result<RecordOutcome, EngineError> {
        let (compiled, connectors, c, [local, integration]) = match self.pair(e).await? {
            Ok(pair) => pair,
            Err(answer) => return Ok(answer),
        };
        let (Some(local), Some(integration)) = (local, integration) else {
            return Ok(outcome(
                e,
                Outcome::Refused,
                "a record was deleted meanwhile: restore or delete instead",
            ));
        };
        let lookups = self
            .lookups(
                &compiled,
                [(Side::Local, &local), (Side::Integration, &integration)],
            )
            .await?;
        let (to_local, to_integration) = match plan::resolve(
            &compiled,
            &local,
            &integration,
            c.base.as_ref(),
            resolution,
            &lookups,
        ) {
            Ok(writes) => writes,
            Err(reason) => return Ok(outcome(e, Outcome::Refused, reason)),
        };
        let mut after = [local.clone(), integration.clone()];
        for (index, (side, record, writes)) in [
            (Side::Local, &local, &to_local),
            (Side::Integration, &integration, &to_integration),
        ]
        .into_iter()
        .enumerate()
        {
            if writes.is_empty() {
                continue;
            }
            let op = WriteOp::Update {
                key: record.key.clone(),
                expected: record.modified,
                values: writes.clone(),
            };
            match self
                .write(&e.mapping, connectors[index].as_ref(), &compiled, side, op)
                .await?
            {
                WriteOutcome::Written(modified) => {
                    after[index] = plan::applied(record, writes, modified)
                }
                WriteOutcome::Refused(reason) => {
                    return Ok(outcome(
                        e,
                        Outcome::Failed,
                        format!("the {side} system refused the values: {reason}"),
                    ));
                }
                WriteOutcome::Changed => {
                    return Ok(outcome(
                        e,
                        Outcome::Failed,
                        format!("the {side} record changed meanwhile: look again"),
                    ));
                }
            }
        }
        let mut written = changes(&compiled, Side::Local, &local, &to_local);
        written.extend(changes(
            &compiled,
            Side::Integration,
            &integration,
            &to_integration,
        ));
        let fields = written.len();
        let mut tx = self.inner.store.begin().await?;
        synced_pair(&mut tx, &compiled, c.id, Side::Local, &after[0], &after[1]).await?;
        sync_error::resolve(&mut tx, &[e.id], actor).await?;
        let how = match resolution {
            Resolution::Local => "with the local data".to_string(),
            Resolution::Integration => "with the integration data".to_string(),
            Resolution::Merge => "by merging".to_string(),
            Resolution::Fields(_) => "field by field".to_string(),
        };
        log::insert(
            &mut tx,
            &e.mapping,
            &[entry(
                actor,
                (&c.local_key, &c.integration_key),
                "resolved",
                written,
                Some(format!("conflict resolved {how}")),
            )],
        )
        .await?;
        tx.commit().await.map_err(StoreError::from)?;
        Ok(outcome(
            e,
            Outcome::Done,
            format!("synchronized {how}: {fields} field(s) written"),
        ))
    }
}
