//! Retention: history older than `[retention]` allows is pruned, by a background task of
//! `coupler serve` every hour and by `coupler prune` by hand, in small steps (see
//! [`store::prune`](crate::store::prune)) so that the console answers throughout. Every
//! record keeps its newest log entries however old, and open errors are never pruned.

use crate::config::shown_duration;
use crate::error::EngineError;
use crate::handle::Engine;
use crate::model::{History, PruneReport, Pruned};
use crate::store::{action, now_millis, prune, sync_error};
use std::time::{Duration, Instant};

/// How often `coupler serve` prunes.
pub const PRUNE_EVERY: Duration = Duration::from_secs(3600);

impl Engine {
    /// Prunes every kind of history older than its retention (with `dry_run`, counts what
    /// would go and removes nothing), telling `progress` each kind as it is done. A prune
    /// that removed anything is recorded in the audit log, by `actor`.
    pub async fn prune(
        &self,
        actor: &str,
        dry_run: bool,
        mut progress: impl FnMut(&Pruned),
    ) -> Result<PruneReport, EngineError> {
        let started = Instant::now();
        let retention = self.inner.config.retention;
        let now = now_millis();
        let mut pruned = Vec::with_capacity(History::ALL.len());
        for history in History::ALL {
            let keep = match history {
                History::LogEntries => retention.log_entries,
                History::Jobs => retention.jobs,
                History::ResolvedErrors => retention.resolved_errors,
                History::AuditEntries | History::ActionAnswers | History::AlertFirings => {
                    retention.audit_entries
                }
            };
            let cutoff = now - keep.as_millis() as i64;
            let rows = self.prune_history(history, cutoff, dry_run).await?;
            let done = Pruned {
                history,
                older_than: shown_duration(keep),
                rows,
            };
            progress(&done);
            pruned.push(done);
        }
        if !dry_run {
            let mut conn = self.inner.store.conn().await?;
            sync_error::forget_closed_connections(&mut conn).await?;
        }
        let report = PruneReport {
            dry_run,
            pruned,
            seconds: started.elapsed().as_secs_f64(),
        };
        if !dry_run && report.rows() > 0 {
            let outcome = report
                .pruned
                .iter()
                .filter(|p| p.rows > 0)
                .map(|p| format!("{} {}", p.rows, p.history.label()))
                .collect::<Vec<_>>()
                .join(", ");
            let mut conn = self.inner.store.conn().await?;
            action::audit(
                &mut conn,
                actor,
                "prune",
                "history past its retention",
                &outcome,
                None,
            )
            .await?;
            tracing::info!(%outcome, seconds = report.seconds, "history pruned");
        }
        Ok(report)
    }

    /// Prunes (or counts) the rows of `history` older than `cutoff`, a step at a time.
    async fn prune_history(
        &self,
        history: History,
        cutoff: i64,
        dry_run: bool,
    ) -> Result<u64, EngineError> {
        let floor = self.inner.config.retention.log_floor;
        let mut rows = 0;
        let mut conn = self.inner.store.conn().await?;
        let Some((low, high)) = prune::id_range(&mut conn, history).await? else {
            if history == History::ActionAnswers {
                loop {
                    let n = prune::action_answers(&mut conn, cutoff, dry_run).await?;
                    rows += n;
                    if dry_run || n < prune::CHUNK as u64 {
                        break;
                    }
                    tokio::task::yield_now().await;
                }
            }
            return Ok(rows);
        };
        drop(conn);
        let mut from = low;
        while from <= high {
            let to = from.saturating_add(prune::CHUNK);
            // A connection a step: readers and writers take their turn between steps.
            let mut conn = self.inner.store.conn().await?;
            rows += prune::chunk(&mut conn, history, (from, to), cutoff, floor, dry_run).await?;
            drop(conn);
            tokio::task::yield_now().await;
            from = to;
        }
        Ok(rows)
    }
}
