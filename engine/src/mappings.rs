//! Integration table mappings as the console and the CLI see them: each mapping with its
//! run-time state (paused, policies and interval changed in the console), and the mapping
//! compiled against its tables with those settings applied, as every run takes it.

use crate::config::Mapping;
use crate::connector::Connector;
use crate::error::EngineError;
use crate::handle::Engine;
use crate::model::{DeletionConflictPolicy, MappingSummary, UpdateConflictPolicy};
use crate::store::MappingState;
use crate::sync::plan::Compiled;
use std::sync::Arc;
use std::time::Duration;

impl Engine {
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

pub(crate) fn interval(mapping: &Mapping, state: &MappingState) -> Duration {
    state
        .interval_ms
        .filter(|ms| *ms > 0)
        .map_or(mapping.interval, |ms| Duration::from_millis(ms as u64))
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
        on_match: m.on_match,
        paused: state.is_some_and(|s| s.paused),
        paused_by: state.and_then(|s| s.paused_by.clone()),
        paused_at: state.and_then(|s| s.paused_at),
        pause_reason: state.and_then(|s| s.pause_reason.clone()),
        pause_after: m.pause_after.map(|p| p.to_string()),
        overridden,
        next_run_at: state.and_then(|s| s.next_run_at),
        fields: m.fields.iter().map(|f| f.summary()).collect(),
    }
}
