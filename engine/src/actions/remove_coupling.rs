//! Remove Coupling: on the errors page for the selected errors, and as an uncoupling job
//! for chosen couplings or every coupling of a mapping. Both records stay, remembered as
//! left uncoupled, and are not created anew until they change.

use super::{PerRecord, entry, outcome};
use crate::connector::Record;
use crate::error::EngineError;
use crate::handle::Engine;
use crate::model::{
    Action, ActionAnswer, Counters, ErrorRef, JobKind, JobSummary, Outcome, RecordOutcome, Side,
    SyncErrorSummary,
};
use crate::queue::UncouplingScope;
use crate::store::coupling::{self, Coupling};
use crate::store::log::{self, NewLogEntry};
use crate::store::{StoreError, action, progress, sync_error};
use crate::sync::{Run, RunError};
use std::collections::HashMap;

impl Engine {
    /// Remove Coupling on the errors page: uncouples each error's records; both stay, and
    /// are not created anew on the other side until they change.
    pub async fn remove_coupling(
        &self,
        actor: &str,
        action_id: &str,
        errors: &[ErrorRef],
    ) -> Result<ActionAnswer, EngineError> {
        let text = serde_json::to_string(errors).unwrap_or_default();
        self.act_on_each(
            actor,
            action_id,
            Action::RemoveCoupling.as_str(),
            text,
            errors,
            PerRecord::Uncouple,
        )
        .await
    }

    pub(super) async fn uncouple_error(
        &self,
        actor: &str,
        e: &SyncErrorSummary,
    ) -> Result<RecordOutcome, EngineError> {
        let (_, _, c, records) = match self.pair(e).await? {
            Ok(pair) => pair,
            Err(answer) => return Ok(answer),
        };
        let mut tx = self.inner.store.begin().await?;
        uncouple_one(&mut tx, &e.mapping, &c, &records).await?;
        sync_error::resolve(&mut tx, &[e.id], actor).await?;
        log::insert(
            &mut tx,
            &e.mapping,
            &[entry(
                actor,
                (&c.local_key, &c.integration_key),
                "uncoupled",
                Vec::new(),
                Some("coupling removed; both records stay".into()),
            )],
        )
        .await?;
        tx.commit().await.map_err(StoreError::from)?;
        Ok(outcome(e, Outcome::Done, "uncoupled; both records stay"))
    }

    /// Removes couplings of `mapping` as a logged uncoupling job: those `scope` names.
    /// With `wait`, runs it now.
    pub async fn remove_couplings(
        &self,
        actor: &str,
        mapping: &str,
        scope: UncouplingScope,
        wait: bool,
    ) -> Result<JobSummary, EngineError> {
        let selection = match &scope {
            UncouplingScope::Every => "every coupling".to_string(),
            UncouplingScope::Keys(t) if t.local.is_empty() && t.integration.is_empty() => {
                return Err(EngineError::Invalid(
                    "name the couplings to remove, or remove every coupling".into(),
                ));
            }
            UncouplingScope::Keys(t) => t
                .local
                .iter()
                .chain(&t.integration)
                .cloned()
                .collect::<Vec<_>>()
                .join(", "),
        };
        let mut conn = self.inner.store.conn().await?;
        action::audit(
            &mut conn,
            actor,
            "remove_couplings",
            &format!("{mapping}: {selection}"),
            "job started",
            None,
        )
        .await?;
        drop(conn);
        let targets = scope.targets();
        if wait {
            self.run_now(mapping, JobKind::Uncoupling, actor, targets)
                .await
        } else {
            let id = self
                .enqueue(mapping, JobKind::Uncoupling, actor, targets)
                .await?;
            self.job(id).await
        }
    }
}

/// Removes coupling `c`; both records stay, remembered as left uncoupled as they are now
/// (`records`: local, integration), so they are not created anew until they change.
pub(crate) async fn uncouple_one(
    tx: &mut sqlx::AnyConnection,
    mapping: &str,
    c: &Coupling,
    records: &[Option<Record>; 2],
) -> Result<(), sqlx::Error> {
    coupling::delete(tx, c.id).await?;
    for side in [Side::Local, Side::Integration] {
        if let Some(record) = &records[side as usize] {
            progress::remember_uncoupled(tx, mapping, side, c.key(side), record.modified).await?;
        }
    }
    Ok(())
}

/// The uncoupling job: removes the couplings `targets` names, or all of the mapping's.
pub(crate) async fn uncoupling_job(
    run: &mut Run<'_>,
    scope: &UncouplingScope,
) -> Result<(), RunError> {
    let name = run.compiled.mapping.name.clone();
    let mut after = 0;
    loop {
        let mut conn = run.store.conn().await?;
        let batch: Vec<Coupling> = match scope {
            UncouplingScope::Every => {
                let page =
                    coupling::page(&mut conn, &name, after, crate::sync::BATCH as i64).await?;
                let Some(last) = page.last() else { break };
                after = last.id;
                page
            }
            UncouplingScope::Keys(targets) if after == 0 => {
                after = 1;
                let mut found =
                    coupling::by_keys(&mut conn, &name, Side::Local, &targets.local).await?;
                found.extend(
                    coupling::by_keys(&mut conn, &name, Side::Integration, &targets.integration)
                        .await?,
                );
                found
            }
            UncouplingScope::Keys(_) => break,
        };
        drop(conn);
        let mut current: [HashMap<String, Record>; 2] = Default::default();
        for side in [Side::Local, Side::Integration] {
            let keys: Vec<String> = batch.iter().map(|c| c.key(side).to_string()).collect();
            let connector = run.connector(side);
            current[side as usize] = connector
                .read(run.compiled.spec(side), &keys)
                .await?
                .into_iter()
                .map(|r| (r.key.clone(), r))
                .collect();
        }
        let mut tx = run.store.begin().await?;
        let mut entries = Vec::with_capacity(batch.len());
        let mut couplings = Vec::with_capacity(batch.len());
        for c in &batch {
            let records = [Side::Local, Side::Integration]
                .map(|s| current[s as usize].get(c.key(s)).cloned());
            uncouple_one(&mut tx, &name, c, &records).await?;
            entries.push(NewLogEntry {
                job_id: Some(run.job_id),
                local_key: Some(c.local_key.clone()),
                integration_key: Some(c.integration_key.clone()),
                direction: None,
                action: "uncoupled",
                result: "ok",
                changes: Vec::new(),
                message: Some("coupling removed; both records stay".into()),
                actor: run.actor.clone(),
            });
            couplings.push(c.local_key.clone());
        }
        let open = sync_error::open_for(&mut tx, &name, Side::Local, &couplings).await?;
        let ids: Vec<i64> = open
            .iter()
            .filter(|e| e.coupling_id.is_some())
            .map(|e| e.id)
            .collect();
        sync_error::resolve(&mut tx, &ids, &run.actor).await?;
        log::insert(&mut tx, &name, &entries).await?;
        let delta = Counters {
            uncoupled: batch.len() as u64,
            ..Counters::default()
        };
        if !crate::store::job::add(&mut tx, run.job_id, run.fence, &delta, batch.len() as u64)
            .await?
        {
            return Err(RunError::LeaseLost);
        }
        tx.commit().await.map_err(StoreError::from)?;
        run.counters.add(&delta);
    }
    Ok(())
}
