//! Server functions for sync errors, at `/api/list_sync_errors`.

use crate::error::AppError;
use engine::model::SyncErrorSummary;
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

/// A list of errors as one person sees it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorList {
    /// The errors, newest first.
    pub errors: Vec<SyncErrorSummary>,
    /// Unique to this view: actions sent from it carry it in their action id, so sending
    /// one twice from here does the work once, while another person's action is their own.
    pub view: String,
}

/// The most errors one list answers.
pub const PAGE: i64 = 500;

/// Open sync errors, newest first, of one mapping and one kind when given.
#[server(endpoint = "list_sync_errors")]
pub async fn list_sync_errors(
    mapping: Option<String>,
    kind: Option<String>,
) -> Result<ErrorList, AppError> {
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
    let errors = engine.sync_errors(&filter, PAGE).await?;
    Ok(ErrorList {
        errors,
        view: crate::server::unique_token(),
    })
}

/// Acts on one sync error as seen at `version`: `retry`, `use_local`, `use_integration`,
/// `restore`, `delete_records` or `remove_coupling`. `action_id` makes a repeat harmless.
#[server(endpoint = "act_on_sync_error")]
pub async fn act_on_sync_error(
    action: String,
    id: i64,
    version: i64,
    action_id: String,
) -> Result<engine::model::ActionAnswer, AppError> {
    use engine::model::{ErrorRef, Resolution, Selection};
    let engine = crate::server::engine()?;
    // Until accounts exist, the console acts as one actor.
    let actor = "console";
    let seen = [ErrorRef { id, version }];
    let answer = match action.as_str() {
        "retry" => {
            engine
                .retry(actor, &action_id, &Selection::Errors(seen.to_vec()))
                .await?
        }
        "use_local" => {
            engine
                .resolve(actor, &action_id, &seen, &Resolution::Local)
                .await?
        }
        "use_integration" => {
            engine
                .resolve(actor, &action_id, &seen, &Resolution::Integration)
                .await?
        }
        "restore" => engine.restore_records(actor, &action_id, &seen).await?,
        "delete_records" => engine.delete_records(actor, &action_id, &seen).await?,
        "remove_coupling" => engine.remove_coupling(actor, &action_id, &seen).await?,
        other => {
            return Err(crate::server::fail(AppError::Invalid {
                field: "action".into(),
                message: format!("{other:?} is not an action on sync errors"),
            }));
        }
    };
    Ok(answer)
}
