//! Server functions for jobs, at `/api/list_jobs`.

use crate::error::AppError;
use engine::model::JobSummary;
use leptos::prelude::*;

/// The newest jobs.
#[server(endpoint = "list_jobs")]
pub async fn list_jobs() -> Result<Vec<JobSummary>, AppError> {
    let engine = crate::server::engine()?;
    Ok(engine.jobs(200).await?)
}
