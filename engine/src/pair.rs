//! One sync error's coupling and its two records as they are now: what the actions act
//! on and what the error's page shows side by side.

use crate::connector::{Connector, Record};
use crate::error::EngineError;
use crate::handle::Engine;
use crate::model::{Outcome, RecordOutcome, Side, SyncErrorSummary};
use crate::store::coupling::{self, Coupling};
use crate::sync::plan::Compiled;

/// A sync error's mapping compiled, its two connectors, its coupling and its two records
/// (local, integration; `None` where deleted).
pub(crate) type Pair = (
    Compiled,
    [std::sync::Arc<dyn Connector>; 2],
    Coupling,
    [Option<Record>; 2],
);

impl Engine {
    /// The coupling of error `e` and its two records, as they are now.
    pub(crate) async fn pair(
        &self,
        e: &SyncErrorSummary,
    ) -> Result<Result<Pair, RecordOutcome>, EngineError> {
        let Some(coupling_id) = e.coupling_id else {
            return Ok(Err(refused(e, "the records are not coupled")));
        };
        let mut conn = self.inner.store.conn().await?;
        let Some(c) = coupling::by_id(&mut conn, coupling_id).await? else {
            return Ok(Err(refused(e, "the records are not coupled any more")));
        };
        drop(conn);
        let (compiled, local, integration) = self.prepared(&e.mapping).await?;
        let l = read_one(&compiled, local.as_ref(), Side::Local, &c.local_key).await?;
        let i = read_one(
            &compiled,
            integration.as_ref(),
            Side::Integration,
            &c.integration_key,
        )
        .await?;
        Ok(Ok((compiled, [local, integration], c, [l, i])))
    }
}

fn refused(e: &SyncErrorSummary, message: &str) -> RecordOutcome {
    RecordOutcome {
        error_id: Some(e.id),
        mapping: e.mapping.clone(),
        local_key: e.local_key.clone(),
        integration_key: e.integration_key.clone(),
        outcome: Outcome::Refused,
        message: message.to_string(),
    }
}

/// The record `key` on `side`, if it exists.
pub(crate) async fn read_one(
    compiled: &Compiled,
    connector: &dyn Connector,
    side: Side,
    key: &str,
) -> Result<Option<Record>, EngineError> {
    connector
        .read(compiled.spec(side), &[key.to_string()])
        .await
        .map(|mut records| records.pop())
        .map_err(|source| EngineError::System {
            mapping: compiled.mapping.name.clone(),
            source,
        })
}
