//! The errors list's reads: open sync errors by filter and keyset page, how many match
//! (kept while no error changes), and the errors a selection means as they are now.

use crate::error::EngineError;
use crate::handle::Engine;
use crate::model::{ErrorCursor, ErrorRef, SyncErrorSummary};
use crate::store::sync_error::{self, ErrorFilter};

impl Engine {
    /// Open sync errors matching `filter`, newest first, after `after` when given.
    pub async fn sync_errors(
        &self,
        filter: &ErrorFilter,
        after: Option<ErrorCursor>,
        limit: i64,
    ) -> Result<Vec<SyncErrorSummary>, EngineError> {
        if let Some(mapping) = &filter.mapping {
            self.configured(mapping)?;
        }
        let mut conn = self.inner.store.conn().await?;
        Ok(sync_error::list(&mut conn, filter, after, limit).await?)
    }

    /// How many open sync errors match `filter`.
    pub async fn sync_error_count(&self, filter: &ErrorFilter) -> Result<i64, EngineError> {
        if let Some(mapping) = &filter.mapping {
            self.configured(mapping)?;
        }
        // Counting reads every matching error (on PostgreSQL, every open one); people
        // reading the same list share a count while no error changes, and a crowd
        // arriving after a change waits for one count.
        let mut conn = self.inner.store.conn().await?;
        let stamp = sync_error::stamp(&mut conn).await?;
        let counted = self.inner.error_counts.of(filter);
        Ok(counted
            .get(stamp, async || sync_error::count(&mut conn, filter).await)
            .await?)
    }

    /// The errors `ids` as they are now (id and current version), for callers that act
    /// on what is there rather than on what a person saw: the command line.
    pub async fn error_refs(&self, ids: &[i64]) -> Result<Vec<ErrorRef>, EngineError> {
        let mut conn = self.inner.store.conn().await?;
        let rows = sync_error::by_ids(&mut conn, ids).await?;
        Ok(ids
            .iter()
            .map(|id| ErrorRef {
                id: *id,
                version: rows
                    .iter()
                    .find(|r| r.summary.id == *id)
                    .map_or(0, |r| r.summary.version),
            })
            .collect())
    }

    /// Every open error matching `filter` as it is now (id and current version): for an
    /// action a person confirmed on "all matching".
    pub async fn matching_error_refs(
        &self,
        filter: &ErrorFilter,
    ) -> Result<Vec<ErrorRef>, EngineError> {
        let mut conn = self.inner.store.conn().await?;
        let rows = sync_error::matching(&mut conn, filter).await?;
        Ok(rows
            .iter()
            .map(|r| ErrorRef {
                id: r.summary.id,
                version: r.summary.version,
            })
            .collect())
    }
}
