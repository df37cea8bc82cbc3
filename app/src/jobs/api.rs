//! Server functions for jobs: `/api/list_jobs`, `/api/get_job` and `/api/cancel_job`.

use crate::error::AppError;
use engine::model::{Direction, JobSummary, SyncErrorSummary};
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

/// The newest jobs, and the server's clock for the running ones' durations.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct JobList {
    /// The newest jobs first.
    pub jobs: Vec<JobSummary>,
    /// The server's clock when answering (milliseconds since the epoch).
    pub now: i64,
    /// Each mapping's direction, which its jobs synchronize.
    pub directions: Vec<(String, Direction)>,
}

/// The newest jobs.
#[server(endpoint = "list_jobs")]
pub async fn list_jobs() -> Result<JobList, AppError> {
    let (engine, _) = crate::server::engine_as(engine::model::Role::Viewer)?;
    Ok(JobList {
        jobs: engine.jobs(200).await?,
        now: now(),
        directions: engine
            .config()
            .mappings
            .iter()
            .map(|m| (m.name.clone(), m.direction))
            .collect(),
    })
}

/// The server's clock in milliseconds since the epoch.
#[cfg(feature = "ssr")]
fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

/// One job and the open errors it found.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct JobView {
    /// The job.
    pub job: JobSummary,
    /// The newest open errors it found (at most 20; the rest are on the errors page).
    pub errors: Vec<SyncErrorSummary>,
    /// How many open errors it found.
    pub error_count: i64,
    /// The server's clock when answering (milliseconds since the epoch), for the rate.
    pub now: i64,
}

/// The errors a job's page lists.
#[cfg(feature = "ssr")]
const JOB_ERRORS: i64 = 20;

/// One job with its open errors.
#[server(endpoint = "get_job")]
pub async fn get_job(id: i64) -> Result<JobView, AppError> {
    use engine::model::ErrorFilter;
    let (engine, _) = crate::server::engine_as(engine::model::Role::Viewer)?;
    let job = engine.job(id).await?;
    let filter = ErrorFilter {
        job: Some(id),
        ..ErrorFilter::default()
    };
    let errors = engine.sync_errors(&filter, None, JOB_ERRORS).await?;
    let error_count = engine.sync_error_count(&filter).await?;
    Ok(JobView {
        job,
        errors,
        error_count,
        now: now(),
    })
}

/// Cancels a job: a queued one at once, a running one after its current batch.
#[server(endpoint = "cancel_job")]
pub async fn cancel_job(id: i64) -> Result<JobSummary, AppError> {
    let (engine, me) = crate::server::engine_as(engine::model::Role::Operator)?;
    Ok(engine.cancel_job(&me.name, id).await?)
}
