//! `/errors`: Coupled Data Synchronization Errors.

use super::api::{PAGE, list_sync_errors};
use crate::records::page::log_href;
use engine::model::{Side, SyncErrorSummary, format_time};
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
    let errors = Resource::new(filter, |(mapping, kind)| {
        list_sync_errors(Some(mapping), Some(kind))
    });
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
            "Retry, Synchronize, Restore Records, Delete Records and Remove Coupling are not in the console yet: use "
            <code>"coupler errors retry|resolve|restore|delete-records|remove-coupling"</code> "."
        </p>
        <Suspense fallback=|| view! { <p>"Loading errors…"</p> }>
            {move || Suspend::new(async move {
                match errors.await {
                    Ok(list) => view! { <ErrorTable list /> }.into_any(),
                    Err(error) => view! { <p class="error" role="alert">{error.to_string()}</p> }.into_any(),
                }
            })}
        </Suspense>
    }
}

#[component]
fn ErrorTable(list: Vec<SyncErrorSummary>) -> impl IntoView {
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
                </tr>
            </thead>
            <tbody>
                {list.into_iter().map(|e| view! { <ErrorRow e /> }).collect_view()}
            </tbody>
        </table>
    }
    .into_any()
}

#[component]
fn ErrorRow(e: SyncErrorSummary) -> impl IntoView {
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
        </tr>
    }
}
