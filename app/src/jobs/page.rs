//! `/jobs`: Integration Synchronization Jobs.

use super::api::list_jobs;
use engine::model::{JobSummary, format_time};
use leptos::prelude::*;
use leptos_meta::Title;

/// The newest jobs with their counters.
#[component]
pub fn JobsPage() -> impl IntoView {
    let jobs = Resource::new(|| (), |_| list_jobs());
    view! {
        <Title text="Integration Synchronization Jobs" />
        <h1>"Integration Synchronization Jobs"</h1>
        <p class="not-built" role="status">
            "Live progress, a job's errors and cancelling from the console are not built yet: use "
            <code>"coupler jobs cancel ID"</code> "."
        </p>
        <Suspense fallback=|| view! { <p>"Loading jobs…"</p> }>
            {move || Suspend::new(async move {
                match jobs.await {
                    Ok(list) if list.is_empty() => view! { <p class="empty">"No job has run yet."</p> }.into_any(),
                    Ok(list) => view! { <JobTable list /> }.into_any(),
                    Err(error) => error.alert(),
                }
            })}
        </Suspense>
    }
}

#[component]
fn JobTable(list: Vec<JobSummary>) -> impl IntoView {
    view! {
        <table class="list jobs">
            <thead>
                <tr>
                    <th scope="col">"Job"</th>
                    <th scope="col">"Mapping"</th>
                    <th scope="col">"Kind"</th>
                    <th scope="col">"State"</th>
                    <th scope="col">"Started"</th>
                    <th scope="col">"Duration"</th>
                    <th scope="col">"Counters"</th>
                    <th scope="col">"By"</th>
                </tr>
            </thead>
            <tbody>
                {list
                    .into_iter()
                    .map(|j| {
                        let duration = match (j.started_at, j.finished_at) {
                            (Some(start), Some(end)) => format!("{:.2} s", (end - start) as f64 / 1000.0),
                            (Some(_), None) => "running".into(),
                            _ => String::new(),
                        };
                        let counters: Vec<String> = j
                            .counters
                            .named()
                            .iter()
                            .filter(|(_, v)| *v > 0)
                            .map(|(n, v)| format!("{n} {v}"))
                            .collect();
                        view! {
                            <tr data-job=j.id>
                                <td>{j.id}</td>
                                <td>{j.mapping.clone()}</td>
                                <td>{j.kind.as_str()}</td>
                                <td>
                                    <span class=format!("state {}", j.state.as_str())>{j.state.as_str()}</span>
                                    {j.message.clone().map(|m| view! { <div class="message">{m}</div> })}
                                </td>
                                <td>{j.started_at.map(format_time).unwrap_or_default()}</td>
                                <td>{duration}</td>
                                <td>{if counters.is_empty() { "nothing to do".to_string() } else { counters.join(", ") }}</td>
                                <td>{j.actor.clone()}</td>
                            </tr>
                        }
                    })
                    .collect_view()}
            </tbody>
        </table>
    }
}
