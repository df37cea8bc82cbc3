//! A mapping's couplings, a record's synchronization log and a record beside its
//! partner, as the couplings page and the record's page show them.

use crate::error::EngineError;
use crate::handle::Engine;
use crate::model::{CouplingSummary, LogEntrySummary, RecordPair, Side};
use crate::pair::read_one;
use crate::store::{coupling, log};

impl Engine {
    /// The couplings of a mapping, by local key; with `search`, those whose local key
    /// starts with it or whose integration key is it.
    pub async fn couplings(
        &self,
        mapping: &str,
        search: Option<&str>,
        after: Option<&str>,
        limit: i64,
    ) -> Result<Vec<CouplingSummary>, EngineError> {
        self.configured(mapping)?;
        let mut conn = self.inner.store.conn().await?;
        Ok(coupling::list(&mut conn, mapping, search, after, limit).await?)
    }

    /// A record's synchronization log, newest first.
    pub async fn record_log(
        &self,
        mapping: &str,
        side: Side,
        key: &str,
        limit: i64,
    ) -> Result<Vec<LogEntrySummary>, EngineError> {
        self.configured(mapping)?;
        let mut conn = self.inner.store.conn().await?;
        Ok(log::for_record(&mut conn, mapping, side, key, limit).await?)
    }

    /// The record `key` on `side` of `mapping` beside its partner (when coupled), field
    /// by field, with the values of their last synchronization.
    pub async fn record_pair(
        &self,
        mapping: &str,
        side: Side,
        key: &str,
    ) -> Result<RecordPair, EngineError> {
        let (compiled, local, integration) = self.prepared(mapping).await?;
        let mut conn = self.inner.store.conn().await?;
        let found = coupling::by_keys(&mut conn, mapping, side, &[key.to_string()])
            .await?
            .pop();
        drop(conn);
        let key_of = |of: Side| match (&found, of == side) {
            (_, true) => Some(key.to_string()),
            (Some(c), false) => Some(c.key(of).to_string()),
            (None, false) => None,
        };
        let (local_key, integration_key) = (key_of(Side::Local), key_of(Side::Integration));
        let local_record = match &local_key {
            Some(key) => read_one(&compiled, local.as_ref(), Side::Local, key).await?,
            None => None,
        };
        let integration_record = match &integration_key {
            Some(key) => read_one(&compiled, integration.as_ref(), Side::Integration, key).await?,
            None => None,
        };
        let base = found.as_ref().and_then(|c| c.base.as_ref());
        Ok(RecordPair {
            fields: super::error_detail::compare(
                &compiled,
                &[],
                base,
                &local_record,
                &integration_record,
            ),
            local_exists: local_record.is_some(),
            integration_exists: integration_record.is_some(),
            local_key,
            integration_key,
        })
    }
}
