//! Server functions for mappings: listing them with their counts and health, their settings, the
//! jobs they run, and their couplings.

use crate::error::AppError;
use engine::model::{
    ActionAnswer, CouplingSummary, JobSummary, MappingCounts, MappingHealth, MappingSummary,
};
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

/// Each mapping's health: its last success, and every problem that holds (paused, runs
/// failing, a system unreachable, no worker, errors growing, a column gone).
#[server(endpoint = "get_mapping_health")]
pub async fn get_mapping_health() -> Result<Vec<MappingHealth>, AppError> {
    let (engine, _) = crate::server::engine_as(engine::model::Role::Viewer)?;
    Ok(engine.mapping_health().await?)
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
    let (engine, me) = crate::server::engine_as(engine::model::Role::Admin)?;
    let (update, deletion, every) = settings(&update_conflict, &deletion_conflict, &interval)?;
    Ok(engine
        .set_mapping_settings(&me.name, &name, update, deletion, every)
        .await?)
}

/// A mapping's settings as the form sends them: two policies and an interval.
#[cfg(feature = "ssr")]
fn settings(
    update: &str,
    deletion: &str,
    interval: &str,
) -> Result<
    (
        engine::model::UpdateConflictPolicy,
        engine::model::DeletionConflictPolicy,
        std::time::Duration,
    ),
    AppError,
> {
    use crate::input::{choice, invalid};
    use engine::model::{DeletionConflictPolicy, UpdateConflictPolicy};
    let what = "an update conflict policy";
    let update = choice(update, "update_conflict", UpdateConflictPolicy::parse, what)?;
    let what = "a deletion conflict policy";
    let deletion = choice(
        deletion,
        "deletion_conflict",
        DeletionConflictPolicy::parse,
        what,
    )?;
    let every = engine::config::parse_duration(interval.trim())
        .map_err(|message| invalid("interval", message))?;
    Ok((update, deletion, every))
}

/// Queues a job of a mapping: `synchronize` (modified records), `full` (every record)
/// or `find_deleted`.
#[server(endpoint = "run_mapping")]
pub async fn run_mapping(name: String, job: String) -> Result<JobSummary, AppError> {
    use engine::model::JobKind;
    let (engine, me) = crate::server::engine_as(engine::model::Role::Operator)?;
    let kind = crate::input::choice(
        &job,
        "job",
        |job| match job {
            "synchronize" => Some(JobKind::Synchronization),
            "full" => Some(JobKind::FullSynchronization),
            "find_deleted" => Some(JobKind::FindForDeleted),
            _ => None,
        },
        "a job: synchronize, full or find_deleted",
    )?;
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
        return Err(crate::input::invalid(
            "confirm",
            format!(
                "{name} has {now} couplings now, not {confirm}: look again before removing them"
            ),
        ));
    }
    Ok(engine
        .remove_couplings(&me.name, &name, engine::UncouplingScope::Every, false)
        .await?)
}

/// A page of a mapping's couplings.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CouplingList {
    /// The couplings, by local key.
    pub couplings: Vec<CouplingSummary>,
    /// The local key the next page starts after, when there is one.
    pub next: Option<String>,
    /// How many couplings the mapping has, as counted a few seconds ago at most.
    pub total: i64,
    /// Unique to this view (see the errors list's).
    pub view: String,
}

/// Couplings shown per page.
#[cfg(feature = "ssr")]
const COUPLINGS_PAGE: usize = 50;

/// The couplings of a mapping by local key: those whose local key starts with `search`
/// or whose integration key is `search`, after the local key `after`.
#[server(endpoint = "list_couplings")]
pub async fn list_couplings(
    name: String,
    search: Option<String>,
    after: Option<String>,
) -> Result<CouplingList, AppError> {
    let (engine, _) = crate::server::engine_as(engine::model::Role::Viewer)?;
    let search = crate::input::text(search, "search")?;
    let after = after.as_deref().filter(|a| !a.is_empty());
    let mut couplings = engine
        .couplings(&name, search.as_deref(), after, COUPLINGS_PAGE as i64 + 1)
        .await?;
    let next = crate::input::more(&mut couplings, COUPLINGS_PAGE, |c| c.local_key.clone());
    Ok(CouplingList {
        couplings,
        next,
        total: engine.coupling_total(&name).await?,
        view: crate::server::unique_token(),
    })
}

/// Removes the coupling of one local record; both records stay.
#[server(endpoint = "remove_one_coupling")]
pub async fn remove_one_coupling(name: String, local_key: String) -> Result<JobSummary, AppError> {
    use engine::{Targets, UncouplingScope};
    let (engine, me) = crate::server::engine_as(engine::model::Role::Operator)?;
    let local = vec![crate::input::key(&local_key, "local_key")?.to_string()];
    let integration = Vec::new();
    let scope = UncouplingScope::Keys(Targets { local, integration });
    Ok(engine
        .remove_couplings(&me.name, &name, scope, true)
        .await?)
}

/// Couples a local record with an integration record; with `sync_from` (`local` or
/// `integration`) that side's values are written to the other. Sent twice, the second is
/// refused: the keys are coupled by then.
#[server(endpoint = "set_up_coupling")]
pub async fn set_up_coupling(
    name: String,
    local_key: String,
    integration_key: String,
    sync_from: Option<String>,
) -> Result<ActionAnswer, AppError> {
    use crate::input::{key, side};
    let (engine, me) = crate::server::engine_as(engine::model::Role::Operator)?;
    let local_key = key(&local_key, "local_key")?;
    let integration_key = key(&integration_key, "integration_key")?;
    let sync_from = side(sync_from, "sync_from")?;
    Ok(engine
        .set_up_coupling(
            &me.name,
            &format!("couple:{}", crate::server::unique_token()),
            &name,
            local_key,
            integration_key,
            sync_from,
        )
        .await?)
}
