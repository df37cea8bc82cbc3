//! [`Engine`]: the configuration, the store and the systems behind one cheap handle, and
//! the operations that the console's server functions and the CLI call.

use crate::config::{Config, Mapping};
use crate::connector::{Connector, ConnectorError, SqlConnector};
use crate::model::{
    CouplingSummary, JobState, JobSummary, LogEntrySummary, MappingSummary, Side, SyncErrorSummary,
};
use crate::store::sync_error::ErrorFilter;
use crate::store::{MappingState, Store, StoreError, coupling, job, log, sync_error};
use crate::sync::plan::Compiled;
use crate::sync::{FaultPoint, Run, RunError, job_kind, run_mapping};
use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, Mutex};

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
    /// The mapping is being synchronized already.
    #[error("mapping {0} is synchronizing already")]
    Busy(String),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A fault test stopped the run.
    #[error("mapping {mapping}: {point}")]
    Fault {
        /// The mapping.
        mapping: String,
        /// Where it stopped.
        point: String,
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

/// The engine: shared by the server's handlers, cheap to clone.
#[derive(Clone, Debug)]
pub struct Engine {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    config: Config,
    store: Store,
    systems: tokio::sync::Mutex<Systems>,
    running: Mutex<BTreeSet<String>>,
    fault: Mutex<Option<FaultPoint>>,
}

/// Releases a mapping's run lock when the run ends, however it ends.
struct Running<'a> {
    engine: &'a Engine,
    mapping: String,
}

impl Drop for Running<'_> {
    fn drop(&mut self) {
        if let Ok(mut running) = self.engine.inner.running.lock() {
            running.remove(&self.mapping);
        }
    }
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
        Ok(Engine {
            inner: Arc::new(Inner {
                config,
                store,
                systems: tokio::sync::Mutex::new(systems),
                running: Mutex::new(BTreeSet::new()),
                fault: Mutex::new(None),
            }),
        })
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
        let states = self.inner.store.mapping_states().await?;
        Ok(summary(mapping, states.iter().find(|s| s.name == name)))
    }

    /// Pauses or resumes scheduled synchronization of a mapping; answers its new state.
    pub async fn set_mapping_paused(
        &self,
        name: &str,
        paused: bool,
    ) -> Result<MappingSummary, EngineError> {
        let mapping = self.configured(name)?;
        self.inner.store.set_mapping_paused(name, paused).await?;
        tracing::info!(mapping = %name, paused, "mapping schedule changed");
        let state = MappingState {
            name: name.to_string(),
            paused,
        };
        Ok(summary(mapping, Some(&state)))
    }

    /// Synchronizes one mapping, or every mapping in dependency order, now. A job that
    /// could not reach a system ends `failed` with the reason; later mappings still run.
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
        let mut jobs = Vec::with_capacity(names.len());
        for name in names {
            jobs.push(self.run(&name, full, actor).await?);
        }
        Ok(jobs)
    }

    async fn run(&self, name: &str, full: bool, actor: &str) -> Result<JobSummary, EngineError> {
        let mapping = self.configured(name)?;
        let _running = self.claim(name)?;
        let mut conn = self.inner.store.conn().await?;
        let job_id = job::start(&mut conn, name, job_kind(full), actor).await?;
        drop(conn);
        let (state, message) = match self.run_job(mapping, job_id, full, actor).await {
            Ok(()) => (JobState::Succeeded, None),
            Err(EngineError::System { source, .. }) => (JobState::Failed, Some(source.to_string())),
            Err(EngineError::Fault { point, .. }) => (JobState::Failed, Some(point)),
            Err(EngineError::Store(error)) => {
                tracing::error!(mapping = %name, %error, "synchronization stopped: the store failed");
                (JobState::Failed, Some(format!("the store failed: {error}")))
            }
            Err(other) => return Err(other),
        };
        if let Some(message) = &message {
            tracing::warn!(mapping = %name, job = job_id, message, "synchronization failed");
        }
        let mut conn = self.inner.store.conn().await?;
        job::finish(&mut conn, job_id, state, message.as_deref()).await?;
        Ok(job::get(&mut conn, job_id)
            .await?
            .expect("the job just written"))
    }

    async fn run_job(
        &self,
        mapping: &Mapping,
        job_id: i64,
        full: bool,
        actor: &str,
    ) -> Result<(), EngineError> {
        let (compiled, local, integration) = {
            let mut systems = self.inner.systems.lock().await;
            let compiled = systems.compile(&self.inner.config, mapping).await?;
            let local = systems.connector(&mapping.local.system);
            let integration = systems.connector(&mapping.integration.system);
            (compiled, local, integration)
        };
        let fault = self.inner.fault.lock().ok().and_then(|mut f| f.take());
        let mut run = Run {
            fault,
            store: &self.inner.store,
            compiled: &compiled,
            local: local.as_ref(),
            integration: integration.as_ref(),
            job_id,
            actor: actor.to_string(),
            counters: Default::default(),
        };
        run_mapping(&mut run, full)
            .await
            .map_err(|error| match error {
                RunError::System(source) => EngineError::System {
                    mapping: mapping.name.clone(),
                    source,
                },
                RunError::Store(error) => EngineError::Store(error),
                fault @ RunError::Fault(_) => EngineError::Fault {
                    mapping: mapping.name.clone(),
                    point: fault.to_string(),
                },
            })
    }

    /// Makes the next run stop at `point` as if the process died there: for fault tests,
    /// which then run again and check that nothing was lost or duplicated.
    pub fn inject_fault(&self, point: FaultPoint) {
        if let Ok(mut fault) = self.inner.fault.lock() {
            *fault = Some(point);
        }
    }

    fn claim(&self, name: &str) -> Result<Running<'_>, EngineError> {
        let mut running = self
            .inner
            .running
            .lock()
            .map_err(|_| EngineError::Busy(name.to_string()))?;
        if !running.insert(name.to_string()) {
            return Err(EngineError::Busy(name.to_string()));
        }
        Ok(Running {
            engine: self,
            mapping: name.to_string(),
        })
    }

    /// Open sync errors matching `filter`, newest first.
    pub async fn sync_errors(
        &self,
        filter: &ErrorFilter,
        limit: i64,
    ) -> Result<Vec<SyncErrorSummary>, EngineError> {
        if let Some(mapping) = &filter.mapping {
            self.configured(mapping)?;
        }
        let mut conn = self.inner.store.conn().await?;
        Ok(sync_error::list(&mut conn, filter, limit).await?)
    }

    /// The couplings of a mapping, by local key.
    pub async fn couplings(
        &self,
        mapping: &str,
        after: Option<&str>,
        limit: i64,
    ) -> Result<Vec<CouplingSummary>, EngineError> {
        self.configured(mapping)?;
        let mut conn = self.inner.store.conn().await?;
        Ok(coupling::list(&mut conn, mapping, after, limit).await?)
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

    /// The newest jobs.
    pub async fn jobs(&self, limit: i64) -> Result<Vec<JobSummary>, EngineError> {
        let mut conn = self.inner.store.conn().await?;
        Ok(job::recent(&mut conn, limit).await?)
    }

    fn configured(&self, name: &str) -> Result<&Mapping, EngineError> {
        self.inner
            .config
            .mapping(name)
            .ok_or_else(|| EngineError::UnknownMapping(name.to_string()))
    }
}

fn summary(m: &Mapping, state: Option<&MappingState>) -> MappingSummary {
    MappingSummary {
        name: m.name.clone(),
        local: m.local.summary(),
        integration: m.integration.summary(),
        direction: m.direction,
        update_conflict: m.update_conflict,
        deletion_conflict: m.deletion_conflict,
        sync_only_coupled: m.sync_only_coupled,
        interval_secs: m.interval.as_secs(),
        depends_on: m.depends_on.clone(),
        match_on: m.match_on.clone(),
        paused: state.is_some_and(|s| s.paused),
        fields: m.fields.iter().map(|f| f.summary()).collect(),
    }
}
