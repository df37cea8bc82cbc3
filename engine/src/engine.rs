//! [`Engine`]: the configuration and the store behind one cheap handle, and the
//! operations that the console's server functions and the CLI call.

use crate::config::{Config, Mapping};
use crate::model::MappingSummary;
use crate::store::{MappingState, Store, StoreError};
use std::sync::Arc;

/// Why an engine operation was refused or failed.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    /// No mapping has that name.
    #[error("no mapping is named {0:?}")]
    UnknownMapping(String),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
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
}

impl Engine {
    /// Opens the store at `store_url` (running its migrations) for `config`.
    pub async fn open(config: Config, store_url: &str) -> Result<Engine, StoreError> {
        let store = Store::open(store_url).await?;
        Ok(Engine {
            inner: Arc::new(Inner { config, store }),
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
