//! Schedules: each mapping queued when its interval has passed, and backing off when runs
//! keep finding nothing to do or keep failing; and each mapping's scan for deleted records
//! (`deletion_scan`) queued when it is due.

use crate::error::EngineError;
use crate::handle::Engine;
use crate::mappings::interval;
use crate::model::{JobKind, JobState, JobSummary, Trigger};
use crate::store::{job, now_millis};
use std::time::Duration;

/// The longest a schedule backs off when runs keep finding nothing to do.
pub const BACKOFF_CEILING: Duration = Duration::from_secs(3600);

impl Engine {
    /// Queues a synchronization of every mapping that is due and not paused, and a scan for
    /// deleted records of each whose `deletion_scan` is due.
    pub(crate) async fn schedule_due(&self) -> Result<(), EngineError> {
        let now = now_millis();
        let states = self.inner.store.mapping_states().await?;
        for mapping in &self.inner.config.mappings {
            let state = states
                .iter()
                .find(|s| s.name == mapping.name)
                .cloned()
                .unwrap_or_default();
            if state.paused {
                continue;
            }
            if state.next_run_at.is_none_or(|at| at <= now) {
                self.enqueue_scheduled(&mapping.name, JobKind::Synchronization)
                    .await?;
                let next =
                    now + backoff(interval(mapping, &state), state.idle_runs).as_millis() as i64;
                self.inner
                    .store
                    .set_schedule(&mapping.name, next, state.idle_runs)
                    .await?;
            }
            if let Some(every) = mapping.deletion_scan
                && state.next_scan_at.is_none_or(|at| at <= now)
            {
                self.enqueue_scheduled(&mapping.name, JobKind::FindForDeleted)
                    .await?;
                self.inner
                    .store
                    .set_next_scan(&mapping.name, now + every.as_millis() as i64)
                    .await?;
            }
        }
        Ok(())
    }

    async fn enqueue_scheduled(&self, mapping: &str, kind: JobKind) -> Result<(), EngineError> {
        let mut conn = self.inner.store.conn().await?;
        job::enqueue(&mut conn, mapping, kind, Trigger::Schedule.actor(), None).await?;
        Ok(())
    }

    /// After a scheduled run: back off when it found nothing to do, else keep the interval.
    pub(crate) async fn after_scheduled(&self, job: &JobSummary) -> Result<(), EngineError> {
        let Some(mapping) = self.inner.config.mapping(&job.mapping) else {
            return Ok(());
        };
        let state = self.inner.store.mapping_state(&job.mapping).await?;
        // A run that found nothing to do, or failed (a system not answering), waits
        // longer before the next: the wait doubles with each such run in a row.
        let idle = job.counters == Default::default() && job.state == JobState::Succeeded;
        let quiet = idle || job.state == JobState::Failed;
        let idle_runs = if quiet { state.idle_runs + 1 } else { 0 };
        let next = job.finished_at.unwrap_or_else(now_millis)
            + backoff(interval(mapping, &state), idle_runs).as_millis() as i64;
        self.inner
            .store
            .set_schedule(&job.mapping, next, idle_runs)
            .await?;
        Ok(())
    }
}

/// The wait before the next scheduled run: the interval, doubled for each run in a row
/// that found nothing to do or failed, up to [`BACKOFF_CEILING`] (or the interval, if longer).
pub fn backoff(interval: Duration, idle_runs: i64) -> Duration {
    let factor = 1u32 << idle_runs.clamp(0, 16);
    interval
        .saturating_mul(factor)
        .min(BACKOFF_CEILING.max(interval))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn idle_schedules_back_off_to_a_ceiling() {
        let thirty = Duration::from_secs(30);
        assert_eq!(backoff(thirty, 0), thirty);
        assert_eq!(backoff(thirty, 3), Duration::from_secs(240));
        assert_eq!(backoff(thirty, 20), BACKOFF_CEILING);
        assert_eq!(
            backoff(Duration::from_secs(7200), 2),
            Duration::from_secs(7200)
        );
    }
}
