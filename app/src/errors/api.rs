//! Server functions for sync errors: `/api/list_sync_errors`, `/api/get_sync_error` and
//! `/api/act_on_sync_errors`.

use crate::error::AppError;
use engine::model::{ActionAnswer, ErrorDetail, SyncErrorSummary};
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

/// A page of errors as one person sees it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorList {
    /// The errors, newest first.
    pub errors: Vec<SyncErrorSummary>,
    /// How many open errors match the filter in all.
    pub total: i64,
    /// Where the next page starts (`failed_at.id`), when there is one.
    pub next: Option<String>,
    /// Unique to this view: actions sent from it carry it, so sending one twice from
    /// here does the work once, while another person's action is their own.
    pub view: String,
    /// Every mapping's name, for the filter.
    pub mappings: Vec<String>,
}

/// Errors on a page unless asked for more.
pub const PAGE: i64 = 50;

/// The most errors one call answers.
pub const MOST: i64 = 1000;

/// Open sync errors, newest first, filtered by mapping, kind, text (keys, description,
/// message), the job that found them and a time range (`2026-11-27` or `2026-11-27T05:42`, UTC), starting after
/// `after` (a page's `next`), `limit` of them (50 unless given; at most 1,000).
#[server(endpoint = "list_sync_errors")]
pub async fn list_sync_errors(
    mapping: Option<String>,
    kind: Option<String>,
    search: Option<String>,
    since: Option<String>,
    until: Option<String>,
    job: Option<String>,
    after: Option<String>,
    limit: Option<i64>,
) -> Result<ErrorList, AppError> {
    let (engine, _) = crate::server::engine_as(engine::model::Role::Viewer)?;
    let filter = super::form::filter(mapping, kind, search, since, until, job)?;
    let after = super::form::cursor(after)?;
    let limit = limit.unwrap_or(PAGE).clamp(1, MOST);
    let mut errors = engine.sync_errors(&filter, after, limit + 1).await?;
    let next = crate::input::more(&mut errors, limit as usize, |e| {
        format!("{}.{}", e.failed_at, e.id)
    });
    Ok(ErrorList {
        total: engine.sync_error_count(&filter).await?,
        errors,
        next,
        view: crate::server::unique_token(),
        mappings: engine.config().mapping_names(),
    })
}

/// One error as one person sees it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ErrorView {
    /// The error with both records side by side.
    pub detail: ErrorDetail,
    /// Unique to this view, as in [`ErrorList::view`].
    pub view: String,
}

/// One open or resolved error with both records side by side.
#[server(endpoint = "get_sync_error")]
pub async fn get_sync_error(id: i64) -> Result<ErrorView, AppError> {
    let (engine, _) = crate::server::engine_as(engine::model::Role::Viewer)?;
    Ok(ErrorView {
        detail: engine.error_detail(id).await?,
        view: crate::server::unique_token(),
    })
}

/// Acts on sync errors: `retry`, `use_local`, `use_integration`, `merge`, `restore`,
/// `delete_records`, `remove_coupling`, `retry_all` (every error matching the filter) or
/// `find_deleted` (the filter's mapping, or every mapping).
///
/// The errors are `refs` (`id:version` as seen), or every error matching the filter when
/// `all` is `matching`; `row` (`action@id:version`) acts on one error alone, as a row's
/// own button does. `fields` (`name:local|integration`) resolves a conflict per field.
/// The same request from the same `view` is one action, however often it is sent.
#[server(endpoint = "act_on_sync_errors")]
pub async fn act_on_sync_errors(
    action: Option<String>,
    refs: Option<Vec<String>>,
    all: Option<String>,
    row: Option<String>,
    fields: Option<Vec<String>>,
    mapping: Option<String>,
    kind: Option<String>,
    search: Option<String>,
    since: Option<String>,
    until: Option<String>,
    job: Option<String>,
    view: String,
) -> Result<ActionAnswer, AppError> {
    let (engine, me) = crate::server::engine_as(engine::model::Role::Operator)?;
    let filter = super::form::filter(mapping, kind, search, since, until, job)?;
    let form = super::form::ActionForm {
        action,
        refs,
        all,
        row,
        fields,
        view,
    };
    let asked = form.parse(&me.name, filter)?;
    Ok(engine
        .act_on_errors(&me.name, &asked.action_id, &asked.action, &asked.selection)
        .await?)
}
