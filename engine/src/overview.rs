//! What the overview shows: each mapping's state in numbers, and the error trend.

use crate::engine::{Engine, EngineError};
use crate::model::{ErrorTrend, MappingCounts, SyncErrorKind};
use crate::store::{StoreError, job};
use sqlx::Row;

/// How long the overview's counts serve before they are counted again.
pub const COUNTS_FOR: std::time::Duration = std::time::Duration::from_secs(2);

impl Engine {
    /// Each mapping's couplings, open errors by kind, skipped and deferred records, and
    /// its last and next job, as counted at most [`COUNTS_FOR`] ago: counting a million
    /// couplings takes tens of milliseconds, and every open overview asks on every
    /// change, so one count serves every reader for that long (the others wait for it).
    pub async fn mapping_counts(&self) -> Result<Vec<MappingCounts>, EngineError> {
        let mut cached = self.inner.counts.lock().await;
        if let Some((at, counts)) = cached.as_ref()
            && at.elapsed() < COUNTS_FOR
        {
            return Ok(counts.clone());
        }
        let counts = self.count_mappings().await?;
        *cached = Some((std::time::Instant::now(), counts.clone()));
        Ok(counts)
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
    pub async fn error_trend(
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
