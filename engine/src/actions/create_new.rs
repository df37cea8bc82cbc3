//! Create New: records not coupled, each held by an ambiguous match (or failed without
//! a coupling), created anew on the other side instead of coupled by match. The choice
//! is kept: match-based coupling leaves those records out from then on, as records to
//! match and as candidates for others.

use super::retry::retried;
use super::{Claims, outcome};
use crate::error::EngineError;
use crate::handle::Engine;
use crate::model::{Action, ActionAnswer, Outcome, Selection, SyncErrorSummary};
use crate::store::{StoreError, coupling, sync_error};

impl Engine {
    /// Create New: takes the selection's records out of match-based coupling and
    /// synchronizes them now, which creates each on the other side; answered per record.
    pub(super) async fn create_new(
        &self,
        actor: &str,
        action_id: &str,
        selection: &Selection,
    ) -> Result<ActionAnswer, EngineError> {
        let text = serde_json::to_string(selection).unwrap_or_default();
        let name = Action::CreateNew.as_str();
        self.act(actor, action_id, name, text, async |claims: &Claims| {
            let (rows, mut outcomes) = self.select(actor, selection, claims).await?;
            let mut create: Vec<SyncErrorSummary> = Vec::new();
            for row in rows {
                let e = row.summary;
                if Action::CreateNew.applies_to(&e) && retried(&e).1.is_some() {
                    create.push(e);
                } else {
                    outcomes.push(outcome(
                        &e,
                        Outcome::Refused,
                        "only a record not coupled is created anew: this one has a partner",
                    ));
                }
            }
            let mut tx = self.inner.store.begin().await?;
            for e in &create {
                let (side, key) = retried(e);
                let key = key.expect("kept above only with a key");
                coupling::decline_match(&mut tx, &e.mapping, side, &[key], actor).await?;
            }
            let ids: Vec<i64> = create.iter().map(|e| e.id).collect();
            sync_error::unskip(&mut tx, &ids, actor).await?;
            tx.commit().await.map_err(StoreError::from)?;
            let (answered, job) = self.synchronize_again(actor, &create).await?;
            outcomes.extend(answered);
            Ok((outcomes, job))
        })
        .await
    }
}
