//! Server functions for mappings, at `/api/list_mappings`, `/api/get_mapping` and
//! `/api/set_mapping_paused`.

use crate::error::AppError;
use engine::model::MappingSummary;
use leptos::prelude::*;

/// Every mapping with its runtime state, in dependency order.
#[server(endpoint = "list_mappings")]
pub async fn list_mappings() -> Result<Vec<MappingSummary>, AppError> {
    let engine = crate::server::engine()?;
    Ok(engine.mappings().await?)
}

/// One mapping with its field mappings.
#[server(endpoint = "get_mapping")]
pub async fn get_mapping(name: String) -> Result<MappingSummary, AppError> {
    let engine = crate::server::engine()?;
    Ok(engine.mapping(&name).await?)
}

/// Pauses (`paused = true`) or resumes scheduled synchronization of a mapping.
#[server(endpoint = "set_mapping_paused")]
pub async fn set_mapping_paused(name: String, paused: bool) -> Result<MappingSummary, AppError> {
    let engine = crate::server::engine()?;
    Ok(engine.set_mapping_paused(&name, paused).await?)
}
