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
// Each argument is one field of the filter form. (An allow, not an expect: the
// browser's build of a server function has no body to lint.)
#[allow(clippy::too_many_arguments)]
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
    use engine::model::ErrorCursor;
    let (engine, _) = crate::server::engine_as(engine::model::Role::Viewer)?;
    let filter = filter(mapping, kind, search, since, until, job)?;
    let after = match after.as_deref().filter(|a| !a.is_empty()) {
        None => None,
        Some(text) => Some(
            text.split_once('.')
                .and_then(|(at, id)| {
                    Some(ErrorCursor {
                        failed_at: at.parse().ok()?,
                        id: id.parse().ok()?,
                    })
                })
                .ok_or_else(|| invalid("after", format!("{text:?} is not a page position")))?,
        ),
    };
    let limit = limit.unwrap_or(PAGE).clamp(1, MOST);
    // One more than asked tells whether another page follows.
    let mut errors = engine.sync_errors(&filter, after, limit + 1).await?;
    let next = (errors.len() as i64 > limit).then(|| {
        errors.truncate(limit as usize);
        errors
            .last()
            .map(|e| format!("{}.{}", e.failed_at, e.id))
            .unwrap_or_default()
    });
    let total = engine.sync_error_count(&filter).await?;
    Ok(ErrorList {
        errors,
        total,
        next,
        view: crate::server::unique_token(),
        mappings: engine
            .config()
            .mappings
            .iter()
            .map(|m| m.name.clone())
            .collect(),
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
// Each argument is one field of the errors page's form.
#[allow(clippy::too_many_arguments)]
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
    use engine::model::{ErrorRef, Resolution, Selection, Side};
    let (engine, me) = crate::server::engine_as(engine::model::Role::Operator)?;
    let actor = me.name.as_str();
    let parse_ref = |text: &str| {
        text.split_once(':')
            .and_then(|(id, version)| {
                Some(ErrorRef {
                    id: id.parse().ok()?,
                    version: version.parse().ok()?,
                })
            })
            .ok_or_else(|| {
                invalid(
                    "refs",
                    format!("{text:?} is not an error as seen (id:version)"),
                )
            })
    };
    let (action, mut seen) = match row.as_deref().filter(|r| !r.is_empty()) {
        Some(row) => {
            let (action, one) = row
                .split_once('@')
                .ok_or_else(|| invalid("row", format!("{row:?} is not action@id:version")))?;
            (action.to_string(), vec![parse_ref(one)?])
        }
        None => (
            action.unwrap_or_default(),
            refs.unwrap_or_default()
                .iter()
                .map(|r| parse_ref(r))
                .collect::<Result<Vec<_>, _>>()?,
        ),
    };
    let filter = filter(mapping, kind, search, since, until, job)?;
    let matching = all.as_deref() == Some("matching") && row.is_none();
    if matching && !matches!(action.as_str(), "retry_all" | "find_deleted") {
        seen = engine.matching_error_refs(&filter).await?;
    }
    seen.sort_by_key(|r| (r.id, r.version));
    let what = format!(
        "{action}:{}:{}:{}",
        seen.iter()
            .map(|r| format!("{}.{}", r.id, r.version))
            .collect::<Vec<_>>()
            .join(","),
        fields.as_deref().unwrap_or_default().join(","),
        if matching { "all" } else { "" }
    );
    let action_id =
        engine::action_id(&view, actor, &what).map_err(|e| invalid("view", e.to_string()))?;
    let needs_selection = !matches!(action.as_str(), "retry_all" | "find_deleted");
    if needs_selection && seen.is_empty() {
        return Err(invalid(
            "refs",
            "select the errors to act on, or all matching".to_string(),
        ));
    }
    let answer = match action.as_str() {
        "retry" => {
            engine
                .retry(actor, &action_id, &Selection::Errors(seen))
                .await?
        }
        "retry_all" => {
            engine
                .retry(actor, &action_id, &Selection::Matching(filter))
                .await?
        }
        "use_local" | "use_integration" | "merge" => {
            let resolution = match (action.as_str(), fields) {
                ("merge", Some(choices)) if !choices.is_empty() => {
                    let mut by_field = std::collections::BTreeMap::new();
                    for choice in choices {
                        let side = choice
                            .split_once(':')
                            .and_then(|(name, side)| Some((name.to_string(), Side::parse(side)?)))
                            .ok_or_else(|| {
                                invalid(
                                    "fields",
                                    format!("{choice:?} is not field:local|integration"),
                                )
                            })?;
                        by_field.insert(side.0, side.1);
                    }
                    Resolution::Fields(by_field)
                }
                ("merge", _) => Resolution::Merge,
                ("use_local", _) => Resolution::Local,
                _ => Resolution::Integration,
            };
            engine
                .resolve(actor, &action_id, &seen, &resolution)
                .await?
        }
        "restore" => engine.restore_records(actor, &action_id, &seen).await?,
        "delete_records" => engine.delete_records(actor, &action_id, &seen).await?,
        "remove_coupling" => engine.remove_coupling(actor, &action_id, &seen).await?,
        "find_deleted" => {
            let names: Vec<String> = match &filter.mapping {
                Some(name) => vec![name.clone()],
                None => engine
                    .config()
                    .mappings
                    .iter()
                    .map(|m| m.name.clone())
                    .collect(),
            };
            let mut jobs = Vec::new();
            for name in &names {
                jobs.push(engine.find_deleted(actor, name, false).await?);
            }
            ActionAnswer {
                action_id,
                action: "find_deleted".into(),
                outcomes: Vec::new(),
                job_id: jobs.first().map(|j| j.id),
                summary: format!(
                    "Find for Deleted queued for {}: {}",
                    names.join(", "),
                    jobs.iter()
                        .map(|j| format!("job {}", j.id))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            }
        }
        other => {
            return Err(invalid(
                "action",
                format!("{other:?} is not an action on sync errors"),
            ));
        }
    };
    Ok(answer)
}

/// An input refused, with the response status set.
#[cfg(feature = "ssr")]
fn invalid(field: &str, message: String) -> AppError {
    crate::error::fail(AppError::Invalid {
        field: field.into(),
        message,
    })
}

/// The filter of the errors page's fields; empty fields filter nothing.
#[cfg(feature = "ssr")]
pub fn filter(
    mapping: Option<String>,
    kind: Option<String>,
    search: Option<String>,
    since: Option<String>,
    until: Option<String>,
    job: Option<String>,
) -> Result<engine::model::ErrorFilter, AppError> {
    use engine::model::{ErrorFilter, SyncErrorKind, parse_time};
    let given = |text: Option<String>| text.map(|t| t.trim().to_string()).filter(|t| !t.is_empty());
    let kind = match given(kind) {
        None => None,
        Some(text) => Some(SyncErrorKind::parse(&text).ok_or_else(|| {
            invalid(
                "kind",
                format!(
                    "{text:?} is not a kind: update_conflict, deleted_local, deleted_integration or failed"
                ),
            )
        })?),
    };
    let time = |field: &str, text: Option<String>, end_of_day: bool| match given(text) {
        None => Ok(None),
        Some(text) => parse_time(&text)
            .map(|ms| {
                // A bare date as the end of a range includes that whole day.
                if end_of_day && !text.contains('T') {
                    ms + 86_400_000
                } else {
                    ms
                }
            })
            .map(Some)
            .ok_or_else(|| {
                invalid(
                    field,
                    format!("{text:?} is not a date (2026-11-27 or 2026-11-27T05:42)"),
                )
            }),
    };
    let search = given(search);
    if search.as_ref().is_some_and(|s| s.chars().count() > 200) {
        return Err(invalid("search", "at most 200 characters".into()));
    }
    let job = match given(job) {
        None => None,
        Some(text) => Some(
            text.parse::<i64>()
                .map_err(|_| invalid("job", format!("{text:?} is not a job's id")))?,
        ),
    };
    Ok(ErrorFilter {
        job,
        mapping: given(mapping),
        kind,
        text: search,
        since: time("since", since, false)?,
        until: time("until", until, true)?,
    })
}
