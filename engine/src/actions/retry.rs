//! Retry and Retry All: the selection's records are let back into scheduled
//! synchronization and synchronized now in a targeted job; a small selection is answered
//! per record, a large one by the job that does the work.

use super::{Claims, INLINE_LIMIT, deleted_side, outcome};
use crate::error::EngineError;
use crate::handle::Engine;
use crate::model::{
    Action, ActionAnswer, JobKind, Outcome, RecordOutcome, Selection, Side, SyncErrorSummary,
};
use crate::queue::Targets;
use crate::store::{self, StoreError, sync_error};
use crate::sync::RecordResult;
use std::collections::{BTreeMap, BTreeSet, HashMap};

/// The side and key error `e`'s record is synchronized from again: the side that failed,
/// or the side whose key is known.
pub(super) fn retried(e: &SyncErrorSummary) -> (Side, Option<String>) {
    match (e.side, &e.local_key, &e.integration_key) {
        (Side::Local, Some(key), _) => (Side::Local, Some(key.clone())),
        (Side::Integration, _, Some(key)) => (Side::Integration, Some(key.clone())),
        (_, Some(key), _) => (Side::Local, Some(key.clone())),
        (_, _, Some(key)) => (Side::Integration, Some(key.clone())),
        _ => (e.side, None),
    }
}

impl Engine {
    /// Retry / Retry All: lets scheduled synchronization take the records up again and
    /// synchronizes them now; small selections are answered per record, from what the
    /// run says became of each.
    pub async fn retry(
        &self,
        actor: &str,
        action_id: &str,
        selection: &Selection,
    ) -> Result<ActionAnswer, EngineError> {
        let text = serde_json::to_string(selection).unwrap_or_default();
        let name = Action::Retry.as_str();
        self.act(actor, action_id, name, text, async |claims: &Claims| {
            let (rows, mut outcomes) = self.select(actor, selection, claims).await?;
            let mut retry: Vec<SyncErrorSummary> = Vec::new();
            for row in rows {
                let e = row.summary;
                match deleted_side(e.kind) {
                    Some(side) => outcomes.push(outcome(
                        &e,
                        Outcome::Refused,
                        format!("the {side} record was deleted: restore it, or delete the other"),
                    )),
                    None => retry.push(e),
                }
            }
            let ids: Vec<i64> = retry.iter().map(|e| e.id).collect();
            // Only store writes: done again when PostgreSQL ended it to break a deadlock.
            let mut attempt = 0;
            loop {
                let mut tx = self.inner.store.begin().await?;
                let done = match sync_error::unskip(&mut tx, &ids, actor).await {
                    Ok(()) => tx.commit().await,
                    Err(error) => Err(error),
                };
                match done {
                    Err(error) if attempt < 4 && store::conflicted(&error) => {
                        attempt += 1;
                        tracing::info!(%error, attempt, "retry ended by the store: once more");
                        store::Store::back_off(attempt).await;
                    }
                    done => break done.map_err(StoreError::from)?,
                }
            }
            let (answered, job) = self.synchronize_again(actor, &retry).await?;
            outcomes.extend(answered);
            Ok((outcomes, job))
        })
        .await
    }

    /// Synchronizes the records of `errors` again in a targeted job per mapping: now,
    /// answered per record, or (for a large selection) queued, answered by the first job.
    pub(super) async fn synchronize_again(
        &self,
        actor: &str,
        errors: &[SyncErrorSummary],
    ) -> Result<(Vec<RecordOutcome>, Option<i64>), EngineError> {
        let mut by_mapping: BTreeMap<String, Targets> = BTreeMap::new();
        for e in errors {
            let targets = by_mapping.entry(e.mapping.clone()).or_default();
            match retried(e) {
                (Side::Local, Some(key)) => targets.local.push(key),
                (Side::Integration, Some(key)) => targets.integration.push(key),
                (_, None) => {}
            }
        }
        if errors.len() > INLINE_LIMIT {
            let mut first = None;
            for (mapping, targets) in &by_mapping {
                let id = self
                    .enqueue(mapping, JobKind::Targeted, actor, Some(targets))
                    .await?;
                first.get_or_insert(id);
            }
            return Ok((Vec::new(), first));
        }
        // What the runs say became of each record, by mapping, side and key.
        let mut touched: HashMap<(String, Side, String), RecordResult> = HashMap::new();
        let mut queued = BTreeSet::new();
        for (mapping, targets) in &by_mapping {
            let kind = JobKind::Targeted;
            match self
                .run_now_reporting(mapping, kind, actor, Some(targets), true)
                .await
            {
                Ok((_, report)) => touched.extend(
                    report
                        .into_iter()
                        .map(|t| ((mapping.clone(), t.side, t.key), t.result)),
                ),
                Err(EngineError::Busy(_)) => {
                    self.enqueue(mapping, kind, actor, Some(targets)).await?;
                    queued.insert(mapping.clone());
                }
                Err(other) => return Err(other),
            }
        }
        let answer = |e: &SyncErrorSummary| {
            let (side, key) = retried(e);
            let found = touched.get(&(e.mapping.clone(), side, key.unwrap_or_default()));
            match found {
                _ if queued.contains(&e.mapping) => {
                    outcome(e, Outcome::Done, "queued: its mapping was synchronizing")
                }
                Some(RecordResult::Synchronized) => outcome(e, Outcome::Done, "synchronized"),
                Some(RecordResult::Failed(message) | RecordResult::Conflict(message)) => {
                    outcome(e, Outcome::Failed, message.clone())
                }
                Some(RecordResult::Deferred(reason)) => {
                    outcome(e, Outcome::Failed, format!("deferred: {reason}"))
                }
                Some(RecordResult::Skipped) => outcome(
                    e,
                    Outcome::Failed,
                    "left alone: only coupled records synchronize",
                ),
                None => outcome(
                    e,
                    Outcome::Failed,
                    format!("the {side} record was not found to synchronize"),
                ),
            }
        };
        Ok((errors.iter().map(answer).collect(), None))
    }
}
