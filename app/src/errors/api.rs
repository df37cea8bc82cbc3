//! Server functions for sync errors, at `/api/list_sync_errors`.

use crate::error::AppError;
use engine::model::SyncErrorSummary;
use leptos::prelude::*;

/// The most errors one list answers.
pub const PAGE: i64 = 500;

/// Open sync errors, newest first, of one mapping and one kind when given.
#[server(endpoint = "list_sync_errors")]
pub async fn list_sync_errors(
    mapping: Option<String>,
    kind: Option<String>,
) -> Result<Vec<SyncErrorSummary>, AppError> {
    use engine::model::{ErrorFilter, SyncErrorKind};
    let engine = crate::server::engine()?;
    let kind = match kind.as_deref().filter(|k| !k.is_empty()) {
        None => None,
        Some(text) => Some(SyncErrorKind::parse(text).ok_or_else(|| {
            crate::server::fail(AppError::Invalid {
                field: "kind".into(),
                message: format!(
                    "{text:?} is not a kind: update_conflict, deleted_local, deleted_integration or failed"
                ),
            })
        })?),
    };
    let filter = ErrorFilter {
        mapping: mapping.filter(|m| !m.is_empty()),
        kind,
    };
    Ok(engine.sync_errors(&filter, PAGE).await?)
}
