//! [`Engine`]: the configuration, the store and the systems behind one cheap handle.
//! Each feature adds its own operations to it in its own module (the queue, the actions,
//! the console's reads, accounts); this one holds only what they all share.

use crate::accounts::limits::SignInLimits;
use crate::config::{Config, Mapping};
use crate::console::counted::{COUNTS_FOR, Counted, CountedEach, MappingStates, STATES_COUNT_FOR};
use crate::error::EngineError;
use crate::model::{ErrorTrend, MappingCounts};
use crate::queue::lease::{LEASE_MS, this_host};
use crate::store::sync_error::ErrorFilter;
use crate::store::{Store, StoreError, now_millis};
use crate::sync::FaultPoint;
use crate::systems::Systems;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// The engine: shared by the server's handlers and workers, cheap to clone.
#[derive(Clone, Debug)]
pub struct Engine {
    pub(crate) inner: Arc<Inner>,
}

#[derive(Debug)]
pub(crate) struct Inner {
    pub(crate) config: Config,
    pub(crate) store: Store,
    pub(crate) systems: tokio::sync::Mutex<Systems>,
    pub(crate) fault: Mutex<Option<FaultPoint>>,
    /// Who this process is, in job leases.
    pub(crate) owner: String,
    /// How long this engine's claims last without a heartbeat.
    lease_ms: std::sync::atomic::AtomicI64,
    /// The overview's counts: see `Engine::mapping_counts`.
    pub(crate) counts: Arc<Counted<(), Vec<MappingCounts>>>,
    /// The overview's records by state and health: see `Engine::mapping_counts`.
    pub(crate) states: Arc<Counted<(), Vec<MappingStates>>>,
    /// Counts of open errors per filter: see `Engine::sync_error_count`.
    pub(crate) error_counts: CountedEach<ErrorFilter, [i64; 2], i64>,
    /// Couplings per mapping, as the couplings list shows them: see
    /// `Engine::coupling_total`.
    pub(crate) coupling_totals: CountedEach<String, (), i64>,
    /// The overview's error trends, for the hour they end in: see `Engine::error_trends`.
    pub(crate) trends: Arc<Counted<i64, [ErrorTrend; 2]>>,
    /// Failed sign-ins of this process, per account and address.
    pub(crate) sign_in_limits: SignInLimits,
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
                counts: Arc::new(Counted::new(COUNTS_FOR)),
                states: Arc::new(Counted::new(STATES_COUNT_FOR)),
                trends: Arc::new(Counted::new(COUNTS_FOR)),
                error_counts: CountedEach::new(COUNTS_FOR),
                coupling_totals: CountedEach::new(COUNTS_FOR),
                sign_in_limits: SignInLimits::new(),
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

    pub(crate) fn lease_ms(&self) -> i64 {
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

    /// What the engine has sent `system` so far (requests, and the refusals of its
    /// service protection), for a remote system.
    pub async fn traffic(&self, system: &str) -> crate::connector::Traffic {
        self.inner.systems.lock().await.traffic(system)
    }

    /// Succeeds when the store answers.
    pub async fn health(&self) -> Result<(), StoreError> {
        self.inner.store.ping().await
    }

    /// Makes the next run stop at `point` as if the process died there: for fault tests,
    /// which then run again and check that nothing was lost or duplicated.
    pub fn inject_fault(&self, point: FaultPoint) {
        if let Ok(mut fault) = self.inner.fault.lock() {
            *fault = Some(point);
        }
    }

    pub(crate) fn configured(&self, name: &str) -> Result<&Mapping, EngineError> {
        self.inner
            .config
            .mapping(name)
            .ok_or_else(|| EngineError::UnknownMapping(name.to_string()))
    }
}
