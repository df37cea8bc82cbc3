//! What the overview shows: each mapping's state in numbers, and the error trend.

use crate::engine::{Engine, EngineError};
use crate::model::{ErrorTrend, MappingCounts, SyncErrorKind};
use crate::store::{StoreError, job};
use sqlx::Row;
use std::time::Instant;

/// How long the overview's counts serve before they are counted again.
pub const COUNTS_FOR: std::time::Duration = std::time::Duration::from_secs(2);

/// A figure counted at most [`COUNTS_FOR`] ago for a key (such as the period it covers),
/// shared by every reader. One reader counts it again while the others take the last
/// count for the same key, so a slow count holds up only the reader who started it.
/// Readers who have nothing to take yet (the first ones, or a new period) wait for the
/// count under way, so that a crowd arriving together counts once, but no longer than
/// [`COUNTS_FOR`]: then they count for themselves.
#[derive(Debug)]
pub(crate) struct Counted<K, T> {
    last: std::sync::RwLock<Option<(Instant, K, T)>>,
    /// Held by the reader counting again.
    counting: tokio::sync::Mutex<()>,
}

impl<K: Clone + PartialEq, T: Clone> Counted<K, T> {
    pub(crate) fn new() -> Self {
        Counted {
            last: std::sync::RwLock::new(None),
            counting: tokio::sync::Mutex::new(()),
        }
    }

    /// The last count for `key`, however old, and whether it is recent.
    fn last(&self, key: &K) -> Option<(T, bool)> {
        let last = self.last.read().unwrap_or_else(|e| e.into_inner());
        match last.as_ref() {
            Some((at, k, value)) if k == key => Some((value.clone(), at.elapsed() < COUNTS_FOR)),
            _ => None,
        }
    }

    /// The figure for `key`: the last count if recent, else counted again with `count`.
    pub(crate) async fn get<E>(
        &self,
        key: K,
        count: impl AsyncFnOnce() -> Result<T, E>,
    ) -> Result<T, E> {
        let last = self.last(&key);
        if let Some((value, true)) = last {
            return Ok(value);
        }
        let _counting = match (self.counting.try_lock(), last) {
            (Ok(guard), _) => Some(guard),
            (Err(_), Some((value, _))) => return Ok(value),
            (Err(_), None) => match tokio::time::timeout(COUNTS_FOR, self.counting.lock()).await {
                Ok(guard) => match self.last(&key) {
                    Some((value, true)) => return Ok(value),
                    _ => Some(guard),
                },
                Err(_) => None,
            },
        };
        let value = count().await?;
        *self.last.write().unwrap_or_else(|e| e.into_inner()) =
            Some((Instant::now(), key, value.clone()));
        Ok(value)
    }
}

impl Engine {
    /// Each mapping's couplings, open errors by kind, skipped and deferred records, and
    /// its last and next job, counted at most [`COUNTS_FOR`] ago (see [`Counted`]):
    /// counting a million couplings takes tens of milliseconds, and every open overview
    /// asks on every change.
    pub async fn mapping_counts(&self) -> Result<Vec<MappingCounts>, EngineError> {
        self.inner
            .counts
            .get((), async || self.count_mappings().await)
            .await
    }

    /// Errors first found per hour over the 24 hours to the end of `now`'s hour, and per
    /// day over the 7 days to the end of its day (UTC), counted at most [`COUNTS_FOR`]
    /// ago: each reads every error of the week.
    pub async fn error_trends(&self, now: i64) -> Result<[ErrorTrend; 2], EngineError> {
        const HOUR: i64 = 3_600_000;
        // Periods end on whole hours (and days), so bars do not shift as the clock moves.
        let hour_end = (now / HOUR + 1) * HOUR;
        let day_end = (now / (24 * HOUR) + 1) * 24 * HOUR;
        self.inner
            .trends
            .get(hour_end, async || {
                Ok([
                    self.error_trend(hour_end, HOUR, 24).await?,
                    self.error_trend(day_end, 24 * HOUR, 7).await?,
                ])
            })
            .await
    }

    async fn count_mappings(&self) -> Result<Vec<MappingCounts>, EngineError> {
        let summaries = self.mappings().await?;
        let mut conn = self.inner.store.conn().await?;
        let mut counts = Vec::with_capacity(summaries.len());
        for m in summaries {
            let name = m.name.as_str();
            // Two indexed counts: every coupling, less those still being created.
            let all = count(
                &mut conn,
                "select count(*) from coupling where mapping = $1",
                name,
            )
            .await?;
            let pending = count(
                &mut conn,
                "select count(*) from coupling where mapping = $1 and pending is not null",
                name,
            )
            .await?;
            let coupled = all - pending;
            let skipped = count(
                &mut conn,
                "select count(*) from coupling where mapping = $1 and skipped <> 0",
                name,
            )
            .await?;
            let with_errors = count(
                &mut conn,
                "select count(distinct coupling_id) from sync_error \
                 where mapping = $1 and resolved_at is null and coupling_id is not null",
                name,
            )
            .await?;
            let deferred = count(
                &mut conn,
                "select count(*) from deferral where mapping = $1",
                name,
            )
            .await?;
            let rows = sqlx::query(
                "select kind, count(*) from sync_error where mapping = $1 and resolved_at is null \
                 group by kind",
            )
            .bind(name)
            .fetch_all(&mut *conn)
            .await
            .map_err(StoreError::from)?;
            let errors = [
                SyncErrorKind::UpdateConflict,
                SyncErrorKind::DeletedLocal,
                SyncErrorKind::DeletedIntegration,
                SyncErrorKind::Failed,
            ]
            .into_iter()
            .map(|kind| {
                let n = rows
                    .iter()
                    .find(|r| r.try_get::<String, _>(0).ok().as_deref() == Some(kind.as_str()))
                    .and_then(|r| r.try_get::<i64, _>(1).ok())
                    .unwrap_or(0);
                (kind, n)
            })
            .collect();
            let last_job = job::latest(&mut conn, name).await?;
            counts.push(MappingCounts {
                in_sync: (coupled - with_errors).max(0),
                mapping: m.name,
                coupled,
                errors,
                skipped,
                deferred,
                last_job,
                next_run_at: m.next_run_at,
                paused: m.paused,
            });
        }
        Ok(counts)
    }

    /// How many couplings `mapping` has (pending ones included).
    pub async fn coupling_count(&self, mapping: &str) -> Result<i64, EngineError> {
        self.configured(mapping)?;
        let mut conn = self.inner.store.conn().await?;
        Ok(count(
            &mut conn,
            "select count(*) from coupling where mapping = $1",
            mapping,
        )
        .await?)
    }

    /// Errors first found in each of `periods` periods of `period` ms ending at `end`.
    async fn error_trend(
        &self,
        end: i64,
        period: i64,
        periods: i64,
    ) -> Result<ErrorTrend, EngineError> {
        let period = period.max(1);
        let start = end - period * periods;
        let mut conn = self.inner.store.conn().await?;
        let rows = sqlx::query(
            "select (first_failed_at - $1) / $2 as bucket, count(*) from sync_error \
             where first_failed_at >= $1 and first_failed_at < $3 group by bucket",
        )
        .bind(start)
        .bind(period)
        .bind(end)
        .fetch_all(&mut *conn)
        .await
        .map_err(StoreError::from)?;
        let mut counts = vec![0; periods.max(0) as usize];
        for row in rows {
            let bucket: i64 = row.try_get(0).map_err(StoreError::from)?;
            let n: i64 = row.try_get(1).map_err(StoreError::from)?;
            if let Some(slot) = counts.get_mut(bucket as usize) {
                *slot = n;
            }
        }
        Ok(ErrorTrend {
            start,
            period,
            counts,
        })
    }
}

/// The count `sql` answers for the mapping `name` (its `$1`).
async fn count(
    conn: &mut sqlx::AnyConnection,
    sql: &'static str,
    name: &str,
) -> Result<i64, StoreError> {
    let row = sqlx::query(sql).bind(name).fetch_one(&mut *conn).await?;
    Ok(row.try_get::<i64, _>(0)?)
}
