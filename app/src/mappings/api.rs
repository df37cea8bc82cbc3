//! Server functions for mappings: listing them with their counts, their settings, the
//! jobs they run, and their couplings.

use crate::error::AppError;
use engine::model::{ActionAnswer, CouplingSummary, JobSummary, MappingCounts, MappingSummary};
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

/// Every mapping with its runtime state, in dependency order.
#[server(endpoint = "list_mappings")]
pub async fn list_mappings() -> Result<Vec<MappingSummary>, AppError> {
    let (engine, _) = crate::server::engine_as(engine::model::Role::Viewer)?;
    Ok(engine.mappings().await?)
}

/// Each mapping's couplings, open errors by kind, skipped and deferred records, last job.
#[server(endpoint = "get_mapping_counts")]
pub async fn get_mapping_counts() -> Result<Vec<MappingCounts>, AppError> {
    let (engine, _) = crate::server::engine_as(engine::model::Role::Viewer)?;
    Ok(engine.mapping_counts().await?)
}

/// One mapping with its field mappings.
#[server(endpoint = "get_mapping")]
pub async fn get_mapping(name: String) -> Result<MappingSummary, AppError> {
    let (engine, _) = crate::server::engine_as(engine::model::Role::Viewer)?;
    Ok(engine.mapping(&name).await?)
}

/// Pauses (`paused = true`) or resumes scheduled synchronization of a mapping.
#[server(endpoint = "set_mapping_paused")]
pub async fn set_mapping_paused(name: String, paused: bool) -> Result<MappingSummary, AppError> {
    let (engine, me) = crate::server::engine_as(engine::model::Role::Admin)?;
    Ok(engine.set_mapping_paused(&me.name, &name, paused).await?)
}

/// Changes a mapping's conflict policies and interval (`30s`, `5m`, `1h`) until changed
/// again; the configuration file's values stay as they were.
#[server(endpoint = "set_mapping_settings")]
pub async fn set_mapping_settings(
    name: String,
    update_conflict: String,
    deletion_conflict: String,
    interval: String,
) -> Result<MappingSummary, AppError> {
    use engine::config::parse_duration;
    use engine::model::{DeletionConflictPolicy, UpdateConflictPolicy};
    let (engine, me) = crate::server::engine_as(engine::model::Role::Admin)?;
    let update = UpdateConflictPolicy::parse(&update_conflict).ok_or_else(|| {
        invalid(
            "update_conflict",
            format!("{update_conflict:?} is not an update conflict policy"),
        )
    })?;
    let deletion = DeletionConflictPolicy::parse(&deletion_conflict).ok_or_else(|| {
        invalid(
            "deletion_conflict",
            format!("{deletion_conflict:?} is not a deletion conflict policy"),
        )
    })?;
    let every = parse_duration(interval.trim()).map_err(|message| invalid("interval", message))?;
    Ok(engine
        .set_mapping_settings(&me.name, &name, update, deletion, every)
        .await?)
}

/// Queues a job of a mapping: `synchronize` (modified records), `full` (every record)
/// or `find_deleted`.
#[server(endpoint = "run_mapping")]
pub async fn run_mapping(name: String, job: String) -> Result<JobSummary, AppError> {
    use engine::model::JobKind;
    let (engine, me) = crate::server::engine_as(engine::model::Role::Operator)?;
    let kind = match job.as_str() {
        "synchronize" => JobKind::Synchronization,
        "full" => JobKind::FullSynchronization,
        "find_deleted" => JobKind::FindForDeleted,
        other => {
            return Err(invalid(
                "job",
                format!("{other:?} is not a job: synchronize, full or find_deleted"),
            ));
        }
    };
    let id = engine.start_job(&me.name, &name, kind).await?;
    Ok(engine.job(id).await?)
}

/// Removes every coupling of a mapping, as a logged job; `confirm` must name how many
/// couplings the person was shown, so a stale page removes nothing unexpected.
#[server(endpoint = "remove_all_couplings")]
pub async fn remove_all_couplings(name: String, confirm: i64) -> Result<JobSummary, AppError> {
    let (engine, me) = crate::server::engine_as(engine::model::Role::Admin)?;
    let now = engine.coupling_count(&name).await?;
    if now != confirm {
        return Err(invalid(
            "confirm",
            format!(
                "{name} has {now} couplings now, not {confirm}: look again before removing them"
            ),
        ));
    }
    Ok(engine
        .remove_couplings(&me.name, &name, None, false)
        .await?)
}

/// A page of a mapping's couplings.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CouplingList {
    /// The couplings, by local key.
    pub couplings: Vec<CouplingSummary>,
    /// The local key the next page starts after, when there is one.
    pub next: Option<String>,
    /// How many couplings the mapping has.
    pub total: i64,
    /// Unique to this view (see the errors list's).
    pub view: String,
}

/// Couplings shown per page.
#[cfg(feature = "ssr")]
const COUPLINGS_PAGE: i64 = 50;

/// The couplings of a mapping by local key: those whose local key starts with `search`
/// or whose integration key is `search`, after the local key `after`.
#[server(endpoint = "list_couplings")]
pub async fn list_couplings(
    name: String,
    search: Option<String>,
    after: Option<String>,
) -> Result<CouplingList, AppError> {
    let (engine, _) = crate::server::engine_as(engine::model::Role::Viewer)?;
    let search = search
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty());
    if search.as_ref().is_some_and(|s| s.chars().count() > 200) {
        return Err(invalid("search", "at most 200 characters".into()));
    }
    let mut couplings = engine
        .couplings(
            &name,
            search.as_deref(),
            after.as_deref().filter(|a| !a.is_empty()),
            COUPLINGS_PAGE + 1,
        )
        .await?;
    let next = (couplings.len() as i64 > COUPLINGS_PAGE).then(|| {
        couplings.truncate(COUPLINGS_PAGE as usize);
        couplings
            .last()
            .map(|c| c.local_key.clone())
            .unwrap_or_default()
    });
    Ok(CouplingList {
        couplings,
        next,
        total: engine.coupling_count(&name).await?,
        view: crate::server::unique_token(),
    })
}

/// Removes the coupling of one local record; both records stay.
#[server(endpoint = "remove_one_coupling")]
pub async fn remove_one_coupling(name: String, local_key: String) -> Result<JobSummary, AppError> {
    let (engine, me) = crate::server::engine_as(engine::model::Role::Operator)?;
    Ok(engine
        .remove_couplings(&me.name, &name, Some(vec![local_key]), true)
        .await?)
}

/// Couples a local record with an integration record; with `sync_from` (`local` or
/// `integration`) that side's values are written to the other.
#[server(endpoint = "set_up_coupling")]
pub async fn set_up_coupling(
    name: String,
    local_key: String,
    integration_key: String,
    sync_from: Option<String>,
) -> Result<ActionAnswer, AppError> {
    use engine::model::Side;
    let (engine, me) = crate::server::engine_as(engine::model::Role::Operator)?;
    let (local_key, integration_key) = (local_key.trim(), integration_key.trim());
    for (field, key) in [
        ("local_key", local_key),
        ("integration_key", integration_key),
    ] {
        if key.is_empty() || key.chars().count() > 200 {
            return Err(invalid(field, "a key of 1 to 200 characters".into()));
        }
    }
    let sync_from = match sync_from.as_deref().filter(|s| !s.is_empty()) {
        None => None,
        Some(text) => Some(Side::parse(text).ok_or_else(|| {
            invalid(
                "sync_from",
                format!("{text:?} is not a side: local or integration"),
            )
        })?),
    };
    // Sent twice, the second is refused: the keys are coupled by then.
    let action_id = format!("couple:{}", crate::server::unique_token());
    Ok(engine
        .set_up_coupling(
            &me.name,
            &action_id,
            &name,
            local_key,
            integration_key,
            sync_from,
        )
        .await?)
}

/// An input refused, with the response status set.
#[cfg(feature = "ssr")]
fn invalid(field: &str, message: String) -> AppError {
    crate::error::fail(AppError::Invalid {
        field: field.into(),
        message,
    })
}
