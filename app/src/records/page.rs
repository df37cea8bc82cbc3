//! `/records/:mapping/:side/:key/log`: one record's synchronization history.

use super::api::get_record_log;
use engine::model::{LogEntrySummary, Side, format_time};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_params_map;

/// The address of a record's log.
pub fn log_href(mapping: &str, side: Side, key: &str) -> String {
    format!(
        "/records/{}/{}/{}/log",
        encode(mapping),
        side.as_str(),
        encode(key)
    )
}

/// Percent-encodes a path segment or a query value.
pub fn encode(segment: &str) -> String {
    let mut out = String::with_capacity(segment.len());
    for byte in segment.bytes() {
        match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(byte as char)
            }
            _ => out.push_str(&format!("%{byte:02X}")),
        }
    }
    out
}

/// The record's log, newest first.
#[component]
pub fn RecordLogPage() -> impl IntoView {
    let params = use_params_map();
    let record = move || {
        let p = params.read();
        (
            p.get("mapping").unwrap_or_default(),
            p.get("side").unwrap_or_default(),
            p.get("key").unwrap_or_default(),
        )
    };
    let log = Resource::new(record, |(mapping, side, key)| {
        get_record_log(mapping, side, key)
    });
    view! {
        <Title text="Synchronization Log" />
        <h1>"Synchronization Log"</h1>
        <p class="record">
            {move || {
                let (mapping, side, key) = record();
                format!("Mapping {mapping}, {side} record {key}")
            }}
        </p>
        <Suspense fallback=|| view! { <p>"Loading the log…"</p> }>
            {move || Suspend::new(async move {
                match log.await {
                    Ok(entries) if entries.is_empty() => {
                        view! { <p class="empty">"Nothing has been logged for this record."</p> }.into_any()
                    }
                    Ok(entries) => view! { <LogTable entries /> }.into_any(),
                    Err(error) => error.alert(),
                }
            })}
        </Suspense>
    }
}

#[component]
fn LogTable(entries: Vec<LogEntrySummary>) -> impl IntoView {
    view! {
        <table class="list log">
            <thead>
                <tr>
                    <th scope="col">"Time"</th>
                    <th scope="col">"Job"</th>
                    <th scope="col">"Direction"</th>
                    <th scope="col">"What was done"</th>
                    <th scope="col">"Fields changed"</th>
                    <th scope="col">"Result"</th>
                    <th scope="col">"By"</th>
                </tr>
            </thead>
            <tbody>
                {entries
                    .into_iter()
                    .map(|e| {
                        view! {
                            <tr>
                                <td>{format_time(e.at)}</td>
                                <td>{e.job_id.map(|j| j.to_string()).unwrap_or_default()}</td>
                                <td>{e.direction.map(|d| d.as_str()).unwrap_or("")}</td>
                                <td>
                                    {e.action.clone()}
                                    {e.message.clone().map(|m| view! { <div class="message">{m}</div> })}
                                </td>
                                <td>
                                    <ul class="changes">
                                        {e
                                            .changes
                                            .iter()
                                            .map(|c| {
                                                view! {
                                                    <li>
                                                        <span class="field">{c.field.clone()}</span> ": "
                                                        {c.old.to_string()} " → " {c.new.to_string()}
                                                    </li>
                                                }
                                            })
                                            .collect_view()}
                                    </ul>
                                </td>
                                <td>{e.result.clone()}</td>
                                <td>{e.actor.clone()}</td>
                            </tr>
                        }
                    })
                    .collect_view()}
            </tbody>
        </table>
    }
}
