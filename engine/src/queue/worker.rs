//! Workers: a claimed job run to its end with its lease kept alive by a heartbeat, the
//! job's outcome recorded, and the loop that claims jobs in dependency order.

use super::lease::release_dead_leases;
use super::{Targets, UncouplingScope};
use crate::error::EngineError;
use crate::handle::Engine;
use crate::model::{JobKind, JobState, JobSummary, Side, Trigger};
use crate::store::job::{self, Claimed};
use crate::sync::{Run, Touched, run_mapping};
use std::time::{Duration, Instant};

/// How often a running job looks whether it waits on a system's limit, for its page.
const WAIT_WATCH: Duration = Duration::from_secs(1);

impl Engine {
    /// Runs a claimed job to its end, keeping its lease alive meanwhile. A claim that
    /// another worker has taken over commits nothing more.
    pub async fn execute(&self, claimed: Claimed) -> Result<JobSummary, EngineError> {
        Ok(self.execute_reporting(claimed, false).await?.0)
    }

    /// Runs a claimed job as [`Engine::execute`] does; with `reporting`, answers also
    /// what became of each record it touched.
    #[tracing::instrument(skip_all, fields(job = claimed.id, mapping = %claimed.mapping, kind = claimed.kind.as_str()))]
    pub(crate) async fn execute_reporting(
        &self,
        claimed: Claimed,
        reporting: bool,
    ) -> Result<(JobSummary, Vec<Touched>), EngineError> {
        let heartbeat = {
            let engine = self.clone();
            let systems = self
                .configured(&claimed.mapping)
                .map(|m| vec![m.local.system.clone(), m.integration.system.clone()])
                .unwrap_or_default();
            let (id, fence, lease) = (claimed.id, claimed.fence, self.lease_ms());
            tokio::spawn(async move {
                let beat = Duration::from_millis(lease as u64 / 3);
                let mut tick = tokio::time::interval(WAIT_WATCH.min(beat));
                tick.tick().await;
                let (mut beaten, mut said) = (Instant::now(), None);
                loop {
                    tick.tick().await;
                    let waiting = engine.waiting_on(&systems);
                    if beaten.elapsed() < beat && waiting == said {
                        continue;
                    }
                    let Ok(mut conn) = engine.inner.store.conn().await else {
                        continue;
                    };
                    match job::heartbeat(&mut conn, id, fence, lease, waiting.as_deref()).await {
                        Ok(false) => break,
                        Ok(true) => (beaten, said) = (Instant::now(), waiting),
                        Err(_) => {}
                    }
                }
            })
        };
        let (outcome, touched) = match self.work(&claimed, reporting).await {
            Ok((touched, notes)) => (Ok(notes), touched),
            Err(error) => (Err(error), Vec::new()),
        };
        heartbeat.abort();
        let (state, message) = match outcome {
            Ok(notes) if notes.is_empty() => (JobState::Succeeded, None),
            Ok(notes) => (JobState::Succeeded, Some(notes.join("; "))),
            Err(EngineError::System { source, .. }) => (JobState::Failed, Some(source.to_string())),
            Err(EngineError::Cancelled(_)) => (
                JobState::Cancelled,
                Some("cancelled after its last committed batch".to_string()),
            ),
            Err(EngineError::Stopped { reason, .. }) => (JobState::Failed, Some(reason)),
            Err(EngineError::Store(error)) => {
                tracing::error!(%error, "job stopped: the store failed");
                (JobState::Failed, Some(format!("the store failed: {error}")))
            }
            Err(other) => (JobState::Failed, Some(other.to_string())),
        };
        if let (Some(message), false) = (&message, state == JobState::Succeeded) {
            tracing::warn!(message, "job did not succeed");
        }
        let mut conn = self.inner.store.conn().await?;
        job::finish(
            &mut conn,
            claimed.id,
            claimed.fence,
            state,
            message.as_deref(),
        )
        .await?;
        let summary = job::get(&mut conn, claimed.id)
            .await?
            .ok_or_else(|| EngineError::NotFound(format!("job {} vanished", claimed.id)))?;
        drop(conn);
        self.pause_after_burst(&claimed.mapping).await?;
        // A scheduled scan for deleted records keeps its own time; a run's back-off is the
        // synchronization's.
        if claimed.trigger() == Trigger::Schedule && claimed.kind != JobKind::FindForDeleted {
            self.after_scheduled(&summary).await?;
        }
        Ok((summary, touched))
    }

    /// What a job of `systems` waits on now: the first whose service asked to wait, and
    /// until when, in words for the job's page; `None` while requests go.
    fn waiting_on(&self, systems: &[String]) -> Option<String> {
        // A worker opening the systems holds them; the next tick looks again.
        let opened = self.inner.systems.try_lock().ok()?;
        systems.iter().find_map(|system| {
            let until = opened.traffic(system).closed_until?;
            let at = jiff::Timestamp::from_millisecond(until).ok()?;
            Some(format!(
                "waiting until {} UTC: the service of system {system} asked to wait (429 or 503 \
                 with Retry-After), and no request is sent to it before then",
                at.strftime("%Y-%m-%d %H:%M:%S")
            ))
        })
    }

    /// Runs `claimed`: answers what became of each record (when `reporting`) and what
    /// the job's message should say of it.
    async fn work(
        &self,
        claimed: &Claimed,
        reporting: bool,
    ) -> Result<(Vec<Touched>, Vec<String>), EngineError> {
        let (compiled, local, integration) = self.prepared(&claimed.mapping).await?;
        let mapping = &compiled.mapping;
        let fault = self.inner.fault.lock().ok().and_then(|mut f| f.take());
        let mut run = Run {
            fault,
            store: &self.inner.store,
            compiled: &compiled,
            local: local.as_ref(),
            integration: integration.as_ref(),
            job_id: claimed.id,
            fence: claimed.fence,
            actor: claimed.actor.clone(),
            counters: Default::default(),
            report: reporting.then(Vec::new),
            notes: Vec::new(),
        };
        let targets: Targets = claimed
            .targets
            .as_deref()
            .and_then(|t| serde_json::from_str(t).ok())
            .unwrap_or_default();
        let result = match claimed.kind {
            JobKind::Synchronization => run_mapping(&mut run, false).await,
            JobKind::FullSynchronization => run_mapping(&mut run, true).await,
            JobKind::Targeted => {
                async {
                    run.targets(Side::Local, &targets.local).await?;
                    run.targets(Side::Integration, &targets.integration).await
                }
                .await
            }
            JobKind::Uncoupling => {
                let scope = UncouplingScope::stored(Some(targets));
                crate::actions::remove_coupling::uncoupling_job(&mut run, &scope).await
            }
            JobKind::FindForDeleted => crate::actions::find_deleted::job(&mut run).await,
        };
        result
            .map(|()| (run.report.unwrap_or_default(), run.notes))
            .map_err(|error| error.in_mapping(&mapping.name))
    }

    /// One turn of a worker: queue the mappings due on their schedule, then claim and run
    /// the oldest job that may run (its mapping's dependencies have no earlier job
    /// waiting). Answers the job it ran, if any.
    pub async fn work_once(&self) -> Result<Option<JobSummary>, EngineError> {
        self.schedule_due().await?;
        let mut conn = self.inner.store.conn().await?;
        release_dead_leases(&mut conn).await?;
        let (candidates, active) = job::candidates(&mut conn, 100).await?;
        for candidate in candidates {
            let Some(mapping) = self.inner.config.mapping(&candidate.mapping) else {
                continue;
            };
            // A mapping waits while any mapping it depends on has a job to do.
            let blocked = active
                .iter()
                .any(|(_, other)| mapping.depends_on.contains(other));
            if blocked {
                continue;
            }
            if let Some(claimed) =
                job::claim(&mut conn, candidate.id, &self.inner.owner, self.lease_ms()).await?
            {
                drop(conn);
                return Ok(Some(self.execute(claimed).await?));
            }
        }
        Ok(None)
    }

    /// Runs jobs until `stop` resolves, checking the queue every `idle` when there is
    /// nothing to do. A job in progress is finished before stopping.
    pub async fn run_workers(&self, idle: Duration, stop: impl std::future::Future<Output = ()>) {
        tokio::pin!(stop);
        loop {
            match self.work_once().await {
                Ok(Some(_)) => continue,
                Ok(None) => {}
                Err(error) => tracing::error!(%error, "worker turn failed"),
            }
            tokio::select! {
                _ = &mut stop => break,
                _ = tokio::time::sleep(idle) => {}
            }
        }
    }
}
