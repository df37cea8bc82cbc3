//! What the overview shows: each mapping's state in numbers, and the error trend, counted
//! once for every reader (see [`Counted`](super::counted::Counted)).

use super::counted::MappingStates;
use crate::error::EngineError;
use crate::handle::Engine;
use crate::model::{ErrorTrend, MappingCounts, MappingHealth, ProblemCode, SyncErrorKind};
use crate::status::health::paused_problem;
use crate::store::{job, overview};

impl Engine {
    /// Each mapping's couplings, open errors by kind, skipped and deferred records, its
    /// records by state and its health, and its last and next job, as counted last:
    /// counted again in the background once the last count is older than
    /// [`COUNTS_FOR`](super::counted::COUNTS_FOR) (the records by state and the health:
    /// [`STATES_COUNT_FOR`](super::counted::STATES_COUNT_FOR)), or than ten times what
    /// counting took, so that only the first readers wait for a count (see
    /// [`Counted::kept`](super::counted::Counted::kept)). Counting a million couplings
    /// takes most of a second, and every open overview asks on every change. Whether a mapping is paused is always as counted
    /// last, its health's problem included.
    pub async fn mapping_counts(&self) -> Result<Vec<MappingCounts>, EngineError> {
        let counts = {
            let engine = self.clone();
            self.inner.counts.kept((), move || {
                let engine = engine.clone();
                async move { engine.count_mappings().await }
            })
        };
        let states = {
            let engine = self.clone();
            self.inner.states.kept((), move || {
                let engine = engine.clone();
                async move { engine.count_states().await }
            })
        };
        let (mut counts, states) = tokio::try_join!(counts, states)?;
        for c in &mut counts {
            if let Some(s) = states.iter().find(|s| s.mapping == c.mapping) {
                c.by_state = s.by_state.clone();
                c.health = s.health.clone();
            }
            c.health.problems.retain(|p| p.code != ProblemCode::Paused);
            if c.paused {
                c.health.problems.insert(0, paused_problem());
            }
        }
        Ok(counts)
    }

    /// Everything the overview shows counted now, as a server does when it starts, so
    /// that its first readers take a count instead of waiting for one.
    pub async fn count_overview(&self) -> Result<(), EngineError> {
        let now = crate::store::now_millis();
        tokio::try_join!(self.mapping_counts(), self.error_trends(now))?;
        Ok(())
    }

    /// Errors first found per hour over the 24 hours to the end of `now`'s hour, and per
    /// day over the 7 days to the end of its day (UTC), as counted last for this hour and
    /// counted again in the background once older than [`COUNTS_FOR`](super::counted::COUNTS_FOR)
    /// (or ten times what counting took): each count reads every error of the week.
    pub async fn error_trends(&self, now: i64) -> Result<[ErrorTrend; 2], EngineError> {
        const HOUR: i64 = 3_600_000;
        // Periods end on whole hours (and days), so bars do not shift as the clock moves.
        let hour_end = (now / HOUR + 1) * HOUR;
        let day_end = (now / (24 * HOUR) + 1) * 24 * HOUR;
        let engine = self.clone();
        self.inner
            .trends
            .kept(hour_end, move || {
                let engine = engine.clone();
                async move {
                    Ok([
                        engine.error_trend(hour_end, HOUR, 24).await?,
                        engine.error_trend(day_end, 24 * HOUR, 7).await?,
                    ])
                }
            })
            .await
    }

    async fn count_mappings(&self) -> Result<Vec<MappingCounts>, EngineError> {
        let summaries = self.mappings().await?;
        let mut conn = self.inner.store.conn().await?;
        let mut counts = Vec::with_capacity(summaries.len());
        for m in summaries {
            let name = m.name.as_str();
            let c = overview::coupling_counts(&mut conn, name).await?;
            let by_kind = overview::open_errors_by_kind(&mut conn, name).await?;
            let errors = [
                SyncErrorKind::UpdateConflict,
                SyncErrorKind::DeletedLocal,
                SyncErrorKind::DeletedIntegration,
                SyncErrorKind::Failed,
            ]
            .into_iter()
            .map(|kind| {
                let n = by_kind
                    .iter()
                    .find(|(k, _)| k == kind.as_str())
                    .map_or(0, |(_, n)| *n);
                (kind, n)
            })
            .collect();
            let last_job = job::latest(&mut conn, name).await?;
            let coupled = c.all - c.pending;
            counts.push(MappingCounts {
                in_sync: (coupled - c.with_errors).max(0),
                mapping: m.name.clone(),
                coupled,
                errors,
                skipped: c.skipped,
                deferred: c.deferred,
                last_job,
                next_run_at: m.next_run_at,
                paused: m.paused,
                by_state: Vec::new(),
                health: MappingHealth {
                    mapping: m.name.clone(),
                    ..MappingHealth::default()
                },
            });
        }
        Ok(counts)
    }

    /// Each mapping's records by state and its health.
    async fn count_states(&self) -> Result<Vec<MappingStates>, EngineError> {
        let mut states = Vec::with_capacity(self.inner.config.mappings.len());
        for mapping in &self.inner.config.mappings {
            let name = mapping.name.as_str();
            let state = self.inner.store.mapping_state(name).await?;
            let (health, prepared) = self.health_and_prepared(name, &state).await?;
            let by_state = match &prepared {
                Some((compiled, local, integration)) => {
                    self.count_by_state(compiled, [local.as_ref(), integration.as_ref()])
                        .await?
                }
                // A system that does not answer has nothing to count.
                None => Vec::new(),
            };
            states.push(MappingStates {
                mapping: mapping.name.clone(),
                by_state,
                health,
            });
        }
        Ok(states)
    }

    /// How many couplings `mapping` has now (pending ones included).
    pub async fn coupling_count(&self, mapping: &str) -> Result<i64, EngineError> {
        self.configured(mapping)?;
        let mut conn = self.inner.store.conn().await?;
        Ok(overview::coupling_count(&mut conn, mapping).await?)
    }

    /// How many couplings `mapping` has (pending ones included), as counted at most
    /// [`COUNTS_FOR`](super::counted::COUNTS_FOR) ago (or ten times what counting took),
    /// shared by everyone who reads the mapping's couplings.
    pub async fn coupling_total(&self, mapping: &str) -> Result<i64, EngineError> {
        self.configured(mapping)?;
        let counted = self.inner.coupling_totals.of(&mapping.to_string());
        counted
            .get((), async || self.coupling_count(mapping).await)
            .await
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
        let mut counts = vec![0; periods.max(0) as usize];
        for (bucket, n) in overview::errors_first_found(&mut conn, None, start, period, end).await?
        {
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
