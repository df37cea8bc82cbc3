//! [`Engine`]: the configuration, the store and the systems behind one cheap handle, and
//! the operations that the console's server functions and the CLI call. Jobs run here:
//! at once for the CLI, or from the queue for `coupler serve`'s workers.

use crate::config::{Config, Mapping};
use crate::connector::{Connector, ConnectorError, SqlConnector};
use crate::model::ErrorCursor;
use crate::model::{
    CouplingSummary, DeletionConflictPolicy, JobKind, JobState, JobSummary, LogEntrySummary,
    MappingSummary, Side, SyncErrorSummary, UpdateConflictPolicy,
};
use crate::store::job::Claimed;
use crate::store::sync_error::ErrorFilter;
use crate::store::{
    MappingState, Store, StoreError, action, coupling, job, log, now_millis, sync_error,
};
use crate::sync::plan::Compiled;
use crate::sync::{FaultPoint, Run, RunError, run_mapping};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// How long a worker's claim on a job lasts without a heartbeat. A job whose worker died
/// is claimable again after this, well within a minute.
pub const LEASE_MS: i64 = 30_000;

/// The longest a schedule backs off when runs keep finding nothing to do.
pub const BACKOFF_CEILING: Duration = Duration::from_secs(3600);

/// Why an engine operation was refused or failed.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    /// No mapping has that name.
    #[error("no mapping is named {0:?}")]
    UnknownMapping(String),
    /// A mapping's system or tables are not usable.
    #[error("mapping {mapping}: {source}")]
    System {
        /// The mapping.
        mapping: String,
        /// What the system said.
        source: ConnectorError,
    },
    /// The mapping is being synchronized already (by this process or another).
    #[error("mapping {0} is synchronizing already")]
    Busy(String),
    /// The request is not valid.
    #[error("{0}")]
    Invalid(String),
    /// No such thing (a job, an error, a coupling).
    #[error("{0}")]
    NotFound(String),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Who is asking could not be told: a wrong name or password, an ended session.
    #[error("{0}")]
    Denied(String),
    /// Too many failed sign-ins: try again after this many seconds.
    #[error("too many failed sign-ins: try again in {0} s")]
    Throttled(u64),
    /// The job stopped: a fault test, a lost lease, or a cancellation.
    #[error("mapping {mapping}: {reason}")]
    Stopped {
        /// The mapping.
        mapping: String,
        /// Why.
        reason: String,
    },
}

impl From<sqlx::Error> for EngineError {
    fn from(error: sqlx::Error) -> Self {
        EngineError::Store(StoreError::Database(error))
    }
}

/// The systems a configuration names, connected, with every mapping checked against its
/// tables. Building it only reads the systems.
#[derive(Debug, Default)]
pub struct Systems {
    connectors: HashMap<String, Arc<dyn Connector>>,
    compiled: HashMap<String, Arc<Compiled>>,
}

impl Systems {
    /// Connects every system `config` names and checks every mapping's tables and columns.
    pub async fn connect(config: &Config) -> Result<Systems, EngineError> {
        let mut systems = Systems::default();
        for mapping in &config.mappings {
            systems.compile(config, mapping).await?;
        }
        Ok(systems)
    }

    async fn compile(
        &mut self,
        config: &Config,
        mapping: &Mapping,
    ) -> Result<Arc<Compiled>, EngineError> {
        if let Some(compiled) = self.compiled.get(&mapping.name) {
            return Ok(compiled.clone());
        }
        let fail = |source| EngineError::System {
            mapping: mapping.name.clone(),
            source,
        };
        let tombstones = [Side::Local, Side::Integration].map(|side| {
            config.systems[&mapping.table(side).system]
                .tombstones
                .clone()
        });
        let mut compiled = Compiled::new(mapping.clone(), tombstones);
        for side in [Side::Local, Side::Integration] {
            let system = &mapping.table(side).system;
            let connector = match self.connectors.get(system) {
                Some(connector) => connector.clone(),
                None => {
                    let url = &config.systems[system].url;
                    let connector: Arc<dyn Connector> =
                        Arc::new(SqlConnector::open(system, url).await.map_err(fail)?);
                    self.connectors.insert(system.clone(), connector.clone());
                    connector
                }
            };
            connector
                .check(compiled.spec_mut(side))
                .await
                .map_err(fail)?;
        }
        let compiled = Arc::new(compiled);
        self.compiled.insert(mapping.name.clone(), compiled.clone());
        Ok(compiled)
    }

    fn connector(&self, system: &str) -> Arc<dyn Connector> {
        self.connectors[system].clone()
    }
}

/// The records a targeted or uncoupling job names, stored with the job.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Targets {
    /// Local keys.
    pub local: Vec<String>,
    /// Integration keys.
    pub integration: Vec<String>,
}

/// The engine: shared by the server's handlers and workers, cheap to clone.
#[derive(Clone, Debug)]
pub struct Engine {
    pub(crate) inner: Arc<Inner>,
}

/// A count of the open errors a filter matches, and when and at which stamp it was taken.
#[derive(Debug)]
struct KeptCount {
    stamp: [i64; 2],
    count: i64,
    at: std::time::Instant,
}

#[derive(Debug)]
pub(crate) struct Inner {
    pub(crate) config: Config,
    pub(crate) store: Store,
    systems: tokio::sync::Mutex<Systems>,
    fault: Mutex<Option<FaultPoint>>,
    /// Who this process is, in job leases.
    owner: String,
    /// How long this engine's claims last without a heartbeat.
    lease_ms: std::sync::atomic::AtomicI64,
    /// The overview's counts: see `Engine::mapping_counts`.
    pub(crate) counts: crate::overview::Counted<(), Vec<crate::model::MappingCounts>>,
    /// Counts of open errors per filter: see `Engine::sync_error_count`.
    error_counts: Mutex<HashMap<ErrorFilter, KeptCount>>,
    /// The overview's error trends, for the hour they end in: see `Engine::error_trends`.
    pub(crate) trends: crate::overview::Counted<i64, [crate::model::ErrorTrend; 2]>,
    /// Failed sign-ins of this process, per account and address.
    pub(crate) sign_in_limits: crate::accounts::SignInLimits,
}

impl Engine {
    /// Opens the store at `store_url` (running its migrations) for `config`. Systems are
    /// connected when first needed.
    pub async fn open(config: Config, store_url: &str) -> Result<Engine, StoreError> {
        Engine::open_with(config, store_url, Systems::default()).await
    }

    /// Opens the store for `config` with systems connected already (see [`Systems::connect`]).
    pub async fn open_with(
        config: Config,
        store_url: &str,
        systems: Systems,
    ) -> Result<Engine, StoreError> {
        let store = Store::open(store_url).await?;
        let owner = format!(
            "coupler@{}:{}:{}",
            this_host(),
            std::process::id(),
            now_millis() % 100_000
        );
        Ok(Engine {
            inner: Arc::new(Inner {
                config,
                store,
                systems: tokio::sync::Mutex::new(systems),
                fault: Mutex::new(None),
                owner,
                lease_ms: std::sync::atomic::AtomicI64::new(LEASE_MS),
                counts: crate::overview::Counted::new(),
                trends: crate::overview::Counted::new(),
                error_counts: Mutex::new(HashMap::new()),
                sign_in_limits: crate::accounts::SignInLimits::new(),
            }),
        })
    }

    /// Sets how long this engine's claims on jobs last without a heartbeat (heartbeats
    /// come every third of it). Shorter leases hand a dead worker's job over sooner.
    pub fn set_lease(&self, lease: Duration) {
        self.inner.lease_ms.store(
            lease.as_millis().max(3) as i64,
            std::sync::atomic::Ordering::Relaxed,
        );
    }

    fn lease_ms(&self) -> i64 {
        self.inner
            .lease_ms
            .load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Who this engine is in job leases.
    pub fn owner(&self) -> &str {
        &self.inner.owner
    }

    /// The configuration the engine runs.
    pub fn config(&self) -> &Config {
        &self.inner.config
    }

    /// The store.
    pub fn store(&self) -> &Store {
        &self.inner.store
    }

    /// Succeeds when the store answers.
    pub async fn health(&self) -> Result<(), StoreError> {
        self.inner.store.ping().await
    }

    /// Every mapping with its runtime state, in dependency order.
    pub async fn mappings(&self) -> Result<Vec<MappingSummary>, EngineError> {
        let states = self.inner.store.mapping_states().await?;
        Ok(self
            .inner
            .config
            .mappings
            .iter()
            .map(|m| summary(m, states.iter().find(|s| s.name == m.name)))
            .collect())
    }

    /// The mapping named `name`, with its runtime state.
    pub async fn mapping(&self, name: &str) -> Result<MappingSummary, EngineError> {
        let mapping = self.configured(name)?;
        let state = self.inner.store.mapping_state(name).await?;
        Ok(summary(mapping, Some(&state)))
    }

    /// Pauses or resumes scheduled synchronization of a mapping; answers its new state.
    pub async fn set_mapping_paused(
        &self,
        actor: &str,
        name: &str,
        paused: bool,
    ) -> Result<MappingSummary, EngineError> {
        self.configured(name)?;
        self.inner
            .store
            .set_mapping_paused(actor, name, paused)
            .await?;
        tracing::info!(mapping = %name, paused, "mapping schedule changed");
        self.mapping(name).await
    }

    /// Changes a mapping's conflict policies and interval; they persist in the store and
    /// override the file until changed back. Answers the mapping's new state.
    pub async fn set_mapping_settings(
        &self,
        actor: &str,
        name: &str,
        update_conflict: UpdateConflictPolicy,
        deletion_conflict: DeletionConflictPolicy,
        interval: Duration,
    ) -> Result<MappingSummary, EngineError> {
        let mapping = self.configured(name)?;
        if interval.is_zero() {
            return Err(EngineError::Invalid(
                "the interval must be longer than zero".into(),
            ));
        }
        let differ = |same: bool, value: String| if same { None } else { Some(value) };
        self.inner
            .store
            .set_mapping_settings(
                actor,
                name,
                differ(
                    update_conflict == mapping.update_conflict,
                    update_conflict.as_str().into(),
                )
                .as_deref(),
                differ(
                    deletion_conflict == mapping.deletion_conflict,
                    deletion_conflict.as_str().into(),
                )
                .as_deref(),
                differ(interval == mapping.interval, String::new())
                    .map(|_| interval.as_millis() as i64),
            )
            .await?;
        self.mapping(name).await
    }

    /// Synchronizes one mapping, or every mapping in dependency order, now, in this
    /// process. A job that could not reach a system ends `failed` with the reason; later
    /// mappings still run.
    pub async fn synchronize(
        &self,
        mapping: Option<&str>,
        full: bool,
        actor: &str,
    ) -> Result<Vec<JobSummary>, EngineError> {
        let names: Vec<String> = match mapping {
            Some(name) => vec![self.configured(name)?.name.clone()],
            None => self
                .inner
                .config
                .mappings
                .iter()
                .map(|m| m.name.clone())
                .collect(),
        };
        let kind = if full {
            JobKind::FullSynchronization
        } else {
            JobKind::Synchronization
        };
        let mut jobs = Vec::with_capacity(names.len());
        for name in names {
            jobs.push(self.run_now(&name, kind, actor, None).await?);
        }
        Ok(jobs)
    }

    /// Runs a job now in this process; `Busy` when its mapping runs elsewhere.
    pub(crate) async fn run_now(
        &self,
        mapping: &str,
        kind: JobKind,
        actor: &str,
        targets: Option<&Targets>,
    ) -> Result<JobSummary, EngineError> {
        self.configured(mapping)?;
        let targets = targets.map(|t| serde_json::to_string(t).unwrap_or_default());
        let mut conn = self.inner.store.conn().await?;
        release_dead_leases(&mut conn).await?;
        let claimed = job::start_now(
            &mut conn,
            mapping,
            kind,
            actor,
            &self.inner.owner,
            self.lease_ms(),
            targets,
        )
        .await?
        .ok_or_else(|| EngineError::Busy(mapping.to_string()))?;
        drop(conn);
        self.execute(claimed).await
    }

    /// Queues a job for the workers; answers its id (an already queued synchronization of
    /// the mapping answers that one's).
    pub async fn enqueue(
        &self,
        mapping: &str,
        kind: JobKind,
        actor: &str,
        targets: Option<&Targets>,
    ) -> Result<i64, EngineError> {
        self.configured(mapping)?;
        let targets = targets.map(|t| serde_json::to_string(t).unwrap_or_default());
        let mut conn = self.inner.store.conn().await?;
        if let Some(id) = job::enqueue(&mut conn, mapping, kind, actor, targets).await? {
            return Ok(id);
        }
        let queued = job::recent(&mut conn, 200).await?;
        queued
            .into_iter()
            .find(|j| j.mapping == mapping && j.state == JobState::Queued && j.kind == kind)
            .map(|j| j.id)
            .ok_or_else(|| EngineError::Busy(mapping.to_string()))
    }

    /// Queues a job for `actor` and writes it to the audit log in the same transaction;
    /// answers its id (an already queued one of the same kind answers that one's).
    pub async fn start_job(
        &self,
        actor: &str,
        mapping: &str,
        kind: JobKind,
    ) -> Result<i64, EngineError> {
        self.configured(mapping)?;
        let mut tx = self.inner.store.begin().await?;
        if let Some(id) = job::enqueue(&mut tx, mapping, kind, actor, None).await? {
            action::audit(
                &mut tx,
                actor,
                kind.as_str(),
                mapping,
                &format!("job {id} queued"),
                None,
            )
            .await?;
            tx.commit().await.map_err(EngineError::from)?;
            return Ok(id);
        }
        drop(tx);
        self.enqueue(mapping, kind, actor, None).await
    }

    /// Cancels a queued job, or asks a running one to stop after its current batch.
    pub async fn cancel_job(&self, actor: &str, id: i64) -> Result<JobSummary, EngineError> {
        let mut tx = self.inner.store.begin().await?;
        let state = job::cancel(&mut tx, id)
            .await?
            .ok_or_else(|| EngineError::NotFound(format!("no job has id {id}")))?;
        action::audit(
            &mut tx,
            actor,
            "cancel_job",
            &format!("job {id}"),
            &format!("{state:?}"),
            None,
        )
        .await?;
        tx.commit().await.map_err(EngineError::from)?;
        let mut conn = self.inner.store.conn().await?;
        job::get(&mut conn, id)
            .await?
            .ok_or_else(|| EngineError::NotFound(format!("no job has id {id}")))
    }

    /// Runs a claimed job to its end, keeping its lease alive meanwhile. A claim that
    /// another worker has taken over commits nothing more.
    pub async fn execute(&self, claimed: Claimed) -> Result<JobSummary, EngineError> {
        let heartbeat = {
            let store = self.inner.store.clone();
            let (id, fence, lease) = (claimed.id, claimed.fence, self.lease_ms());
            tokio::spawn(async move {
                let mut tick = tokio::time::interval(Duration::from_millis(lease as u64 / 3));
                tick.tick().await;
                loop {
                    tick.tick().await;
                    let Ok(mut conn) = store.conn().await else {
                        continue;
                    };
                    if !job::heartbeat(&mut conn, id, fence, lease)
                        .await
                        .unwrap_or(true)
                    {
                        break;
                    }
                }
            })
        };
        let outcome = self.work(&claimed).await;
        heartbeat.abort();
        let (state, message) = match outcome {
            Ok(()) => (JobState::Succeeded, None),
            Err(EngineError::System { source, .. }) => (JobState::Failed, Some(source.to_string())),
            Err(EngineError::Stopped { reason, .. })
                if reason == RunError::Cancelled.to_string() =>
            {
                (
                    JobState::Cancelled,
                    Some("cancelled after its last committed batch".to_string()),
                )
            }
            Err(EngineError::Stopped { reason, .. }) => (JobState::Failed, Some(reason)),
            Err(EngineError::Store(error)) => {
                tracing::error!(mapping = %claimed.mapping, %error, "job stopped: the store failed");
                (JobState::Failed, Some(format!("the store failed: {error}")))
            }
            Err(other) => (JobState::Failed, Some(other.to_string())),
        };
        if let Some(message) = &message {
            tracing::warn!(mapping = %claimed.mapping, job = claimed.id, message, "job did not succeed");
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
        if claimed.actor == "schedule" {
            self.after_scheduled(&summary).await?;
        }
        Ok(summary)
    }

    async fn work(&self, claimed: &Claimed) -> Result<(), EngineError> {
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
            JobKind::Uncoupling => crate::actions::uncouple(&mut run, &targets).await,
            JobKind::FindForDeleted => crate::actions::find_deleted(&mut run).await,
        };
        result.map_err(|error| match error {
            RunError::System(source) => EngineError::System {
                mapping: mapping.name.clone(),
                source,
            },
            RunError::Store(error) => EngineError::Store(error),
            stopped => EngineError::Stopped {
                mapping: mapping.name.clone(),
                reason: stopped.to_string(),
            },
        })
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

    /// Queues a synchronization of every mapping that is due and not paused.
    async fn schedule_due(&self) -> Result<(), EngineError> {
        let now = now_millis();
        let states = self.inner.store.mapping_states().await?;
        for mapping in &self.inner.config.mappings {
            let state = states
                .iter()
                .find(|s| s.name == mapping.name)
                .cloned()
                .unwrap_or_default();
            if state.paused || state.next_run_at.is_some_and(|at| at > now) {
                continue;
            }
            let mut conn = self.inner.store.conn().await?;
            job::enqueue(
                &mut conn,
                &mapping.name,
                JobKind::Synchronization,
                "schedule",
                None,
            )
            .await?;
            drop(conn);
            let next = now + backoff(interval(mapping, &state), state.idle_runs).as_millis() as i64;
            self.inner
                .store
                .set_schedule(&mapping.name, next, state.idle_runs)
                .await?;
        }
        Ok(())
    }

    /// After a scheduled run: back off when it found nothing to do, else keep the interval.
    async fn after_scheduled(&self, job: &JobSummary) -> Result<(), EngineError> {
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

    /// Makes the next run stop at `point` as if the process died there: for fault tests,
    /// which then run again and check that nothing was lost or duplicated.
    pub fn inject_fault(&self, point: FaultPoint) {
        if let Ok(mut fault) = self.inner.fault.lock() {
            *fault = Some(point);
        }
    }

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
        // reading the same list share a count while no error changes.
        let mut conn = self.inner.store.conn().await?;
        let stamp = sync_error::stamp(&mut conn).await?;
        let kept = |counts: &HashMap<ErrorFilter, KeptCount>| {
            counts
                .get(filter)
                .filter(|c| c.stamp == stamp && c.at.elapsed() < crate::overview::COUNTS_FOR)
                .map(|c| c.count)
        };
        if let Some(count) = kept(&self.error_counts()) {
            return Ok(count);
        }
        let count = sync_error::count(&mut conn, filter).await?;
        let mut counts = self.error_counts();
        counts.retain(|_, c| c.at.elapsed() < crate::overview::COUNTS_FOR);
        counts.insert(
            filter.clone(),
            KeptCount {
                stamp,
                count,
                at: std::time::Instant::now(),
            },
        );
        Ok(count)
    }

    fn error_counts(&self) -> std::sync::MutexGuard<'_, HashMap<ErrorFilter, KeptCount>> {
        self.inner
            .error_counts
            .lock()
            .unwrap_or_else(|e| e.into_inner())
    }

    /// The errors `ids` as they are now (id and current version), for callers that act
    /// on what is there rather than on what a person saw: the command line.
    pub async fn error_refs(
        &self,
        ids: &[i64],
    ) -> Result<Vec<crate::model::ErrorRef>, EngineError> {
        let mut conn = self.inner.store.conn().await?;
        let rows = sync_error::by_ids(&mut conn, ids).await?;
        Ok(ids
            .iter()
            .map(|id| crate::model::ErrorRef {
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
    ) -> Result<Vec<crate::model::ErrorRef>, EngineError> {
        let mut conn = self.inner.store.conn().await?;
        let rows = sync_error::matching(&mut conn, filter).await?;
        Ok(rows
            .iter()
            .map(|r| crate::model::ErrorRef {
                id: r.summary.id,
                version: r.summary.version,
            })
            .collect())
    }

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

    /// A value that changes whenever something the console shows changes: a log entry
    /// written, an error found or acted on, a job queued, advanced or finished, a
    /// mapping's settings changed. Cheap enough to ask twice a second.
    pub async fn change_stamp(&self) -> Result<[i64; 6], EngineError> {
        let mut conn = self.inner.store.conn().await?;
        let row = sqlx::query(
            r"select (select coalesce(max(id), 0) from log_entry),
                     (select coalesce(max(changed_at), 0) from sync_error),
                     (select coalesce(max(id), 0) from job),
                     (select cast(coalesce(sum(done), 0) + count(*) as bigint) from job
                        where state in ('queued', 'running')),
                     (select coalesce(max(finished_at), 0) from job),
                     (select coalesce(max(updated_at), 0) from mapping_state)",
        )
        .fetch_one(&mut *conn)
        .await
        .map_err(StoreError::from)?;
        let mut stamp = [0; 6];
        for (i, slot) in stamp.iter_mut().enumerate() {
            *slot = sqlx::Row::try_get(&row, i).map_err(StoreError::from)?;
        }
        Ok(stamp)
    }

    /// The newest jobs.
    pub async fn jobs(&self, limit: i64) -> Result<Vec<JobSummary>, EngineError> {
        let mut conn = self.inner.store.conn().await?;
        Ok(job::recent(&mut conn, limit).await?)
    }

    /// One job.
    pub async fn job(&self, id: i64) -> Result<JobSummary, EngineError> {
        let mut conn = self.inner.store.conn().await?;
        job::get(&mut conn, id)
            .await?
            .ok_or_else(|| EngineError::NotFound(format!("no job has id {id}")))
    }

    pub(crate) fn configured(&self, name: &str) -> Result<&Mapping, EngineError> {
        self.inner
            .config
            .mapping(name)
            .ok_or_else(|| EngineError::UnknownMapping(name.to_string()))
    }

    /// The mapping compiled against its tables, with run-time settings applied, and its
    /// two connectors.
    pub(crate) async fn prepared(
        &self,
        name: &str,
    ) -> Result<(Compiled, Arc<dyn Connector>, Arc<dyn Connector>), EngineError> {
        let mapping = self.configured(name)?.clone();
        let mut systems = self.inner.systems.lock().await;
        let compiled = systems.compile(&self.inner.config, &mapping).await?;
        let local = systems.connector(&mapping.local.system);
        let integration = systems.connector(&mapping.integration.system);
        drop(systems);
        let state = self.inner.store.mapping_state(name).await?;
        let mut compiled = (*compiled).clone();
        apply_settings(&mut compiled.mapping, &state);
        Ok((compiled, local, integration))
    }
}

fn apply_settings(mapping: &mut Mapping, state: &MappingState) {
    if let Some(policy) = state
        .update_conflict
        .as_deref()
        .and_then(UpdateConflictPolicy::parse)
    {
        mapping.update_conflict = policy;
    }
    if let Some(policy) = state
        .deletion_conflict
        .as_deref()
        .and_then(DeletionConflictPolicy::parse)
    {
        mapping.deletion_conflict = policy;
    }
    mapping.interval = interval(mapping, state);
}

fn interval(mapping: &Mapping, state: &MappingState) -> Duration {
    state
        .interval_ms
        .filter(|ms| *ms > 0)
        .map_or(mapping.interval, |ms| Duration::from_millis(ms as u64))
}

/// This machine's name, as the kernel knows it (empty where that cannot be read).
fn this_host() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|name| name.trim().to_string())
        .unwrap_or_default()
}

/// Whether lease owner `owner` (`coupler@HOST:PID:N`) is a process of this machine that
/// no longer runs. Anything else — another machine, an unreadable name, a system
/// without `/proc` — is not known to be gone, and its lease runs out as usual.
fn owner_is_gone(owner: &str) -> bool {
    let mut parts = owner
        .strip_prefix("coupler@")
        .unwrap_or_default()
        .rsplitn(3, ':');
    let (Some(_), Some(pid), Some(host)) = (parts.next(), parts.next(), parts.next()) else {
        return false;
    };
    let here = this_host();
    !here.is_empty()
        && host == here
        && std::path::Path::new("/proc/self").exists()
        && pid.parse::<u32>().is_ok_and(|pid| {
            pid != std::process::id() && !std::path::Path::new(&format!("/proc/{pid}")).exists()
        })
}

/// Ends the leases of running jobs whose worker was a process of this machine that has
/// died (killed, crashed): a restarted `coupler` takes their work over at once instead
/// of waiting for the lease to run out.
async fn release_dead_leases(conn: &mut sqlx::AnyConnection) -> Result<(), StoreError> {
    for (id, owner) in job::lease_holders(conn).await? {
        if owner_is_gone(&owner) {
            tracing::info!(
                job = id,
                owner,
                "the job's worker has died; its lease ends now"
            );
            job::expire_lease(conn, id, &owner).await?;
        }
    }
    Ok(())
}

/// The wait before the next scheduled run: the interval, doubled for each run in a row
/// that found nothing to do or failed, up to [`BACKOFF_CEILING`] (or the interval, if longer).
pub fn backoff(interval: Duration, idle_runs: i64) -> Duration {
    let factor = 1u32 << idle_runs.clamp(0, 16);
    interval
        .saturating_mul(factor)
        .min(BACKOFF_CEILING.max(interval))
}

fn summary(m: &Mapping, state: Option<&MappingState>) -> MappingSummary {
    let mut effective = m.clone();
    let mut overridden = Vec::new();
    if let Some(state) = state {
        apply_settings(&mut effective, state);
        if effective.update_conflict != m.update_conflict {
            overridden.push("update_conflict".to_string());
        }
        if effective.deletion_conflict != m.deletion_conflict {
            overridden.push("deletion_conflict".to_string());
        }
        if effective.interval != m.interval {
            overridden.push("interval".to_string());
        }
    }
    MappingSummary {
        name: m.name.clone(),
        local: m.local.summary(),
        integration: m.integration.summary(),
        direction: m.direction,
        update_conflict: effective.update_conflict,
        deletion_conflict: effective.deletion_conflict,
        sync_only_coupled: m.sync_only_coupled,
        interval_secs: effective.interval.as_secs(),
        depends_on: m.depends_on.clone(),
        match_on: m.match_on.clone(),
        paused: state.is_some_and(|s| s.paused),
        overridden,
        next_run_at: state.and_then(|s| s.next_run_at),
        fields: m.fields.iter().map(|f| f.summary()).collect(),
    }
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
