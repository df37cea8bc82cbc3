//! A mapping's couplings and a record's synchronization log, as the couplings page and
//! the Synchronization Log show them.

use crate::error::EngineError;
use crate::handle::Engine;
use crate::model::{CouplingSummary, LogEntrySummary, Side};
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
}
