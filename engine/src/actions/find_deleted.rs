//! Find for Deleted: a mapping's couplings scanned for records that no longer exist,
//! each reported as a `deleted_*` sync error, or uncoupled when both are gone.

use crate::error::EngineError;
use crate::handle::Engine;
use crate::model::{Action, ActionAnswer, Counters, JobKind, JobSummary, Selection, Side};
use crate::store::log::{self, NewLogEntry};
use crate::store::{StoreError, action, coupling, sync_error};
use crate::sync::{Failures, Run, RunError};
use std::collections::HashSet;

impl Engine {
    /// Find for Deleted from the errors page: queues a scan of the selection's mapping,
    /// or of every mapping when the filter names none. Answers the jobs queued.
    pub async fn find_deleted_in(
        &self,
        actor: &str,
        action_id: &str,
        selection: &Selection,
    ) -> Result<ActionAnswer, EngineError> {
        let names: Vec<String> = match selection {
            Selection::Matching(filter) if filter.mapping.is_some() => {
                vec![
                    self.configured(filter.mapping.as_deref().unwrap_or_default())?
                        .name
                        .clone(),
                ]
            }
            _ => self
                .inner
                .config
                .mappings
                .iter()
                .map(|m| m.name.clone())
                .collect(),
        };
        let mut jobs = Vec::new();
        for name in &names {
            jobs.push(self.find_deleted(actor, name, false).await?.id);
        }
        Ok(ActionAnswer {
            action_id: action_id.to_string(),
            action: Action::FindForDeleted.as_str().into(),
            outcomes: Vec::new(),
            job_id: jobs.first().copied(),
            summary: format!(
                "Find for Deleted queued for {}: {}",
                names.join(", "),
                jobs.iter()
                    .map(|id| format!("job {id}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        })
    }

    /// Find for Deleted: scans `mapping`'s couplings for records deleted on either side
    /// and reports them as errors. With `wait`, runs it now.
    pub async fn find_deleted(
        &self,
        actor: &str,
        mapping: &str,
        wait: bool,
    ) -> Result<JobSummary, EngineError> {
        let mut conn = self.inner.store.conn().await?;
        action::audit(
            &mut conn,
            actor,
            "find_for_deleted",
            mapping,
            "job started",
            None,
        )
        .await?;
        drop(conn);
        if wait {
            self.run_now(mapping, JobKind::FindForDeleted, actor, None)
                .await
        } else {
            let id = self
                .enqueue(mapping, JobKind::FindForDeleted, actor, None)
                .await?;
            self.job(id).await
        }
    }
}

/// The find-for-deleted job: every coupling of the mapping, both records looked up; a
/// record gone on one side is reported as a `deleted_*` error, gone on both uncouples.
pub(crate) async fn job(run: &mut Run<'_>) -> Result<(), RunError> {
    let name = run.compiled.mapping.name.clone();
    let mut after = 0;
    loop {
        let mut conn = run.store.conn().await?;
        // Keys and state only: the scan asks whether records exist, never what they hold.
        let page = coupling::keys_page(&mut conn, &name, after, crate::sync::BATCH as i64).await?;
        let Some(last) = page.last() else { break };
        after = last.id;
        let local_keys: Vec<String> = page.iter().map(|c| c.local_key.clone()).collect();
        let open = sync_error::open_among(&mut conn, &name, Side::Local, &local_keys).await?;
        drop(conn);
        let mut exists: [HashSet<String>; 2] = Default::default();
        for side in [Side::Local, Side::Integration] {
            let keys: Vec<String> = page
                .iter()
                .filter(|c| c.pending.is_none())
                .map(|c| c.key(side).to_string())
                .collect();
            let connector = run.connector(side);
            exists[side as usize] = connector.exists(run.compiled.spec(side), &keys).await?;
        }
        let mut tx = run.store.begin().await?;
        let (mut entries, mut failures) = (Vec::new(), Failures::default());
        let mut delta = Counters::default();
        for c in page.iter().filter(|c| c.pending.is_none()) {
            let present =
                [Side::Local, Side::Integration].map(|s| exists[s as usize].contains(c.key(s)));
            match present {
                [true, true] => {}
                [false, false] => {
                    coupling::delete(&mut tx, c.id).await?;
                    delta.uncoupled += 1;
                    entries.push(NewLogEntry {
                        job_id: Some(run.job_id),
                        local_key: Some(c.local_key.clone()),
                        integration_key: Some(c.integration_key.clone()),
                        direction: None,
                        action: "uncoupled",
                        result: "ok",
                        changes: Vec::new(),
                        message: Some("both records were deleted".into()),
                        actor: run.actor.clone(),
                    });
                }
                // Already reported, and left alone until someone acts on it.
                _ if open.contains(&c.local_key) && c.skipped => {}
                [local, _] => {
                    let deleted = if local {
                        Side::Integration
                    } else {
                        Side::Local
                    };
                    let survivor = c.key(deleted.other());
                    entries.push(run.report_deleted(&mut failures, c, deleted, survivor, None));
                    delta.failed += 1;
                }
            }
        }
        failures.write(&mut tx, &name, &mut entries).await?;
        log::insert(&mut tx, &name, &entries).await?;
        if !crate::store::job::add(&mut tx, run.job_id, run.fence, &delta, page.len() as u64)
            .await?
        {
            return Err(RunError::LeaseLost);
        }
        tx.commit().await.map_err(StoreError::from)?;
        run.counters.add(&delta);
    }
    Ok(())
}
