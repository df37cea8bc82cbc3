//! `/errors`: Coupled Data Synchronization Errors.

use super::api::{ActOnSyncError, PAGE, list_sync_errors};
use crate::records::page::log_href;
use engine::model::{ActionAnswer, Outcome, Side, SyncErrorKind, SyncErrorSummary, format_time};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

const KINDS: [(&str, &str); 4] = [
    ("update_conflict", "Update conflict"),
    ("deleted_local", "Local record deleted"),
    ("deleted_integration", "Integration record deleted"),
    ("failed", "Failed"),
];

/// The open errors; the filter lives in the URL, so any view is a link.
#[component]
pub fn ErrorsPage() -> impl IntoView {
    let query = use_query_map();
    let filter = move || {
        let q = query.read();
        (
            q.get("mapping").unwrap_or_default(),
            q.get("kind").unwrap_or_default(),
        )
    };
    let act = ServerAction::<ActOnSyncError>::new();
    let errors = Resource::new(
        move || (filter(), act.version().get()),
        |((mapping, kind), _)| list_sync_errors(Some(mapping), Some(kind)),
    );
    view! {
        <Title text="Coupled Data Synchronization Errors" />
        <h1>"Coupled Data Synchronization Errors"</h1>
        <form method="get" action="/errors" class="filters">
            <label>
                "Mapping "
                <input type="text" name="mapping" value=move || filter().0 placeholder="all" />
            </label>
            <label>
                "Kind "
                <select name="kind">
                    <option value="" selected=move || filter().1.is_empty()>"All kinds"</option>
                    {KINDS
                        .into_iter()
                        .map(|(value, label)| {
                            view! {
                                <option value=value selected=move || filter().1 == value>{label}</option>
                            }
                        })
                        .collect_view()}
                </select>
            </label>
            <button type="submit">"Filter"</button>
        </form>
        <p class="not-built" role="status">
            "Acting on several errors at once, the error's own page and live updates are not built yet; Retry All is "
            <code>"coupler errors retry --all"</code> "."
        </p>
        {move || act.value().get().map(|answer| view! { <Answer answer /> })}
        <Suspense fallback=|| view! { <p>"Loading errors…"</p> }>
            {move || Suspend::new(async move {
                match errors.await {
                    Ok(list) => view! { <ErrorTable list=list.errors view=list.view act /> }.into_any(),
                    Err(error) => error.alert(),
                }
            })}
        </Suspense>
    }
}

/// What an action answered, per record.
#[component]
fn Answer(answer: Result<ActionAnswer, crate::error::AppError>) -> impl IntoView {
    match answer {
        Ok(answer) => view! {
            <div class="answer" role="status" aria-live="polite">
                <p>{answer.summary.clone()}</p>
                <ul>
                    {answer
                        .outcomes
                        .into_iter()
                        .map(|o| {
                            let class = match o.outcome {
                                Outcome::Done => "done",
                                Outcome::Stale => "stale",
                                Outcome::Refused => "refused",
                                Outcome::Failed => "failed",
                            };
                            let record = o.local_key.or(o.integration_key).unwrap_or_default();
                            view! { <li class=class>{format!("{} {record}: {}", o.mapping, o.message)}</li> }
                        })
                        .collect_view()}
                </ul>
            </div>
        }
        .into_any(),
        Err(error) => error.alert(),
    }
}

#[component]
fn ErrorTable(
    list: Vec<SyncErrorSummary>,
    view: String,
    act: ServerAction<ActOnSyncError>,
) -> impl IntoView {
    if list.is_empty() {
        return view! { <p class="empty">"No open sync errors match."</p> }.into_any();
    }
    let count = if list.len() as i64 >= PAGE {
        format!("The newest {} open errors", list.len())
    } else {
        format!(
            "{} open error{}",
            list.len(),
            if list.len() == 1 { "" } else { "s" }
        )
    };
    view! {
        <p class="count">{count}</p>
        <table class="list errors">
            <thead>
                <tr>
                    <th scope="col">"Mapping"</th>
                    <th scope="col">"Local record"</th>
                    <th scope="col">"Integration record"</th>
                    <th scope="col">"Kind"</th>
                    <th scope="col">"What happened"</th>
                    <th scope="col">"Failed on"</th>
                    <th scope="col">"Attempts"</th>
                    <th scope="col">"Fix"</th>
                </tr>
            </thead>
            <tbody>
                {list.into_iter().map(|e| view! { <ErrorRow e view=view.clone() act /> }).collect_view()}
            </tbody>
        </table>
    }
    .into_any()
}

#[component]
fn ErrorRow(e: SyncErrorSummary, view: String, act: ServerAction<ActOnSyncError>) -> impl IntoView {
    // Which fixes apply: Retry and Synchronize when both records exist, Restore and Delete
    // Records when one was deleted, Remove Coupling when they are coupled.
    let mut fixes: Vec<(&str, &str)> = Vec::new();
    match e.kind {
        SyncErrorKind::UpdateConflict => {
            fixes.extend([
                ("use_local", "Use local"),
                ("use_integration", "Use integration"),
                ("retry", "Retry"),
            ]);
        }
        SyncErrorKind::Failed => fixes.push(("retry", "Retry")),
        SyncErrorKind::DeletedLocal | SyncErrorKind::DeletedIntegration => {
            fixes.extend([
                ("restore", "Restore Records"),
                ("delete_records", "Delete Records"),
            ]);
        }
    }
    if e.coupling_id.is_some() {
        fixes.push(("remove_coupling", "Remove Coupling"));
    }
    let record = e
        .local_key
        .clone()
        .or(e.integration_key.clone())
        .unwrap_or_default();
    let fixes = fixes
        .into_iter()
        .map(|(action, label)| {
            let aria = format!("{label} {record}");
            let action_id = format!("{view}-{action}-{}-{}", e.id, e.version);
            view! {
                <ActionForm action=act attr:class="inline">
                    <input type="hidden" name="action" value=action />
                    <input type="hidden" name="id" value=e.id />
                    <input type="hidden" name="version" value=e.version />
                    // The same action on the same error from this view is one action,
                    // however often sent.
                    <input type="hidden" name="action_id" value=action_id />
                    <button type="submit" aria-label=aria>{label}</button>
                </ActionForm>
            }
        })
        .collect_view();
    let record = |side: Side, key: Option<String>| match key {
        Some(key) => {
            let href = log_href(&e.mapping, side, &key);
            view! { <a href=href title="Synchronization Log">{key}</a> }.into_any()
        }
        None => view! { <span class="muted">"not coupled"</span> }.into_any(),
    };
    let kind = KINDS
        .iter()
        .find(|(value, _)| *value == e.kind.as_str())
        .map_or(e.kind.as_str(), |(_, label)| label);
    view! {
        <tr data-error=e.id>
            <td>{e.mapping.clone()}</td>
            <td>{record(Side::Local, e.local_key.clone())}</td>
            <td>{record(Side::Integration, e.integration_key.clone())}</td>
            <td>
                <span class=format!("kind {}", e.kind.as_str())>{kind}</span>
                {e.skipped.then(|| view! { " " <span class="badge paused">"Skipped"</span> })}
            </td>
            <td class="message">{e.message.clone()}</td>
            <td>{format_time(e.failed_at)}</td>
            <td>{e.attempts}</td>
            <td class="fixes">{fixes}</td>
        </tr>
    }
}
