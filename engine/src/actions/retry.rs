//! Retry and Retry All: the selection's records are let back into scheduled
//! synchronization and synchronized now in a targeted job; a small selection is answered
//! per record, a large one by the job that does the work.

use super::{Claims, INLINE_LIMIT, deleted_side, outcome};
use crate::error::EngineError;
use crate::handle::Engine;
use crate::model::{Action, ActionAnswer, JobKind, Outcome, Selection, Side, SyncErrorSummary};
use crate::queue::Targets;
use crate::store::{StoreError, sync_error};
use std::collections::BTreeMap;

impl Engine {
    /// Retry / Retry All: lets scheduled synchronization take the records up again and
    /// synchronizes them now; small selections are answered per record.
    pub async fn retry(
        &self,
        actor: &str,
        action_id: &str,
        selection: &Selection,
    ) -> Result<ActionAnswer, EngineError> {
        let text = serde_json::to_string(selection).unwrap_or_default();
        self.act(
            actor,
            action_id,
            Action::Retry.as_str(),
            text,
            async |claims: &Claims| {
                let (rows, mut outcomes) = self.select(actor, selection, claims).await?;
                let mut retry: Vec<SyncErrorSummary> = Vec::new();
                for row in rows {
                    let e = row.summary;
                    if let Some(side) = deleted_side(e.kind) {
                        outcomes.push(outcome(
                            &e,
                            Outcome::Refused,
                            format!(
                                "the {side} record was deleted: restore it, or delete the other"
                            ),
                        ));
                    } else {
                        retry.push(e);
                    }
                }
                let ids: Vec<i64> = retry.iter().map(|e| e.id).collect();
                let mut tx = self.inner.store.begin().await?;
                sync_error::unskip(&mut tx, &ids, actor).await?;
                tx.commit().await.map_err(StoreError::from)?;

                let mut by_mapping: BTreeMap<String, Targets> = BTreeMap::new();
                for e in &retry {
                    let targets = by_mapping.entry(e.mapping.clone()).or_default();
                    match (e.side, &e.local_key, &e.integration_key) {
                        (Side::Local, Some(key), _) => targets.local.push(key.clone()),
                        (Side::Integration, _, Some(key)) => targets.integration.push(key.clone()),
                        (_, Some(key), _) => targets.local.push(key.clone()),
                        (_, _, Some(key)) => targets.integration.push(key.clone()),
                        _ => {}
                    }
                }
                if retry.len() > INLINE_LIMIT {
                    let mut first = None;
                    for (mapping, targets) in &by_mapping {
                        let id = self
                            .enqueue(mapping, JobKind::Targeted, actor, Some(targets))
                            .await?;
                        first.get_or_insert(id);
                    }
                    return Ok((outcomes, first));
                }
                for (mapping, targets) in &by_mapping {
                    match self
                        .run_now(mapping, JobKind::Targeted, actor, Some(targets))
                        .await
                    {
                        Ok(_) => {}
                        Err(EngineError::Busy(_)) => {
                            self.enqueue(mapping, JobKind::Targeted, actor, Some(targets))
                                .await?;
                        }
                        Err(other) => return Err(other),
                    }
                }
                let mut conn = self.inner.store.conn().await?;
                for row in sync_error::by_ids(&mut conn, &ids).await? {
                    let e = &row.summary;
                    outcomes.push(match row.resolved_at {
                        Some(_) => outcome(e, Outcome::Done, "synchronized"),
                        None if e.version > 0 && e.attempts > 0 => {
                            outcome(e, Outcome::Failed, e.message.clone())
                        }
                        None => outcome(e, Outcome::Done, "queued: its mapping was synchronizing"),
                    });
                }
                Ok((outcomes, None))
            },
        )
        .await
    }
}
