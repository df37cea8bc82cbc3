//! `/jobs` and `/jobs/:id`: Integration Synchronization Jobs, with live progress.

use super::api::{CancelJob, JobView, get_job, list_jobs};
use crate::accounts::IfRole;
use crate::errors::page::{kind_label, thousands};
use crate::live::use_live;
use crate::mappings::page::DirectionLabel;
use crate::records::href::log_href;
use engine::model::{Direction, JobState, JobSummary, Role, Side, format_time};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_params_map;

/// The newest jobs with their counters; running ones with their progress.
#[component]
pub fn JobsPage() -> impl IntoView {
    let live = use_live();
    let jobs = Resource::new(move || live.get(), |_| list_jobs());
    view! {
        <Title text="Integration Synchronization Jobs" />
        <h1>"Integration Synchronization Jobs"</h1>
        <Transition fallback=|| view! { <p>"Loading jobs…"</p> }>
            {move || Suspend::new(async move {
                match jobs.await {
                    Ok(list) if list.jobs.is_empty() => view! { <p class="empty">"No job has run yet."</p> }.into_any(),
                    Ok(list) => view! { <JobTable list=list.jobs now=list.now directions=list.directions /> }.into_any(),
                    Err(error) => error.alert(),
                }
            })}
        </Transition>
    }
}

/// How long a job took, or has taken so far.
fn duration(j: &JobSummary, now: i64) -> String {
    match (j.started_at, j.finished_at) {
        (Some(start), Some(end)) => format!("{:.2} s", (end - start) as f64 / 1000.0),
        (Some(start), None) => format!("{:.0} s so far", ((now - start) as f64 / 1000.0).max(0.0)),
        _ => String::new(),
    }
}

/// The counters that are not zero, or "nothing to do".
fn counters(j: &JobSummary) -> String {
    let named: Vec<String> = j
        .counters
        .named()
        .iter()
        .filter(|(_, v)| *v > 0)
        .map(|(n, v)| format!("{n} {}", thousands(*v as i64)))
        .collect();
    if named.is_empty() {
        "nothing to do".into()
    } else {
        named.join(", ")
    }
}

/// A job's progress: a bar when the total is known, and the rate.
#[component]
fn Progress(j: JobSummary, now: i64) -> impl IntoView {
    let running = j.state == JobState::Running;
    let elapsed = match (j.started_at, j.finished_at) {
        (Some(start), Some(end)) => end - start,
        (Some(start), None) => now - start,
        _ => 0,
    };
    let rate = (elapsed > 0 && j.done > 0).then(|| {
        format!(
            "{} records/s",
            thousands((j.done as f64 * 1000.0 / elapsed as f64) as i64)
        )
    });
    let label = match j.planned {
        Some(planned) if planned > 0 => format!(
            "{} of {} records",
            thousands(j.done as i64),
            thousands(planned as i64)
        ),
        _ => format!("{} records", thousands(j.done as i64)),
    };
    view! {
        <div class="progress-cell">
            {running.then(|| match j.planned.filter(|p| *p > 0) {
                Some(planned) => view! {
                    <progress max=planned value=j.done.min(planned) aria-label="Progress">{label.clone()}</progress>
                }.into_any(),
                None => view! { <progress aria-label="Progress">{label.clone()}</progress> }.into_any(),
            })}
            <span class="progress-text">{label.clone()}</span>
            {rate.map(|r| view! { <span class="rate">{format!(" · {r}")}</span> })}
        </div>
    }
}

#[component]
fn JobTable(
    list: Vec<JobSummary>,
    now: i64,
    directions: Vec<(String, Direction)>,
) -> impl IntoView {
    view! {
        <table class="list jobs">
            <thead>
                <tr>
                    <th scope="col">"Job"</th>
                    <th scope="col">"Mapping"</th>
                    <th scope="col">"Kind"</th>
                    <th scope="col">"Direction"</th>
                    <th scope="col">"State"</th>
                    <th scope="col">"Started"</th>
                    <th scope="col">"Duration"</th>
                    <th scope="col">"Progress"</th>
                    <th scope="col">"Counters"</th>
                    <th scope="col">"By"</th>
                </tr>
            </thead>
            <tbody>
                {list
                    .into_iter()
                    .map(|j| {
                        view! {
                            <tr data-job=j.id>
                                <td><a href=format!("/jobs/{}", j.id)>{j.id}</a></td>
                                <td>{j.mapping.clone()}</td>
                                <td>{j.kind.as_str()}</td>
                                <td>
                                    {directions
                                        .iter()
                                        .find(|(name, _)| *name == j.mapping)
                                        .map(|(_, direction)| view! { <DirectionLabel direction=*direction /> })}
                                </td>
                                <td>
                                    <span class=format!("state {}", j.state.as_str())>{j.state.as_str()}</span>
                                    {j.message.clone().map(|m| view! { <div class="message">{m}</div> })}
                                </td>
                                <td>{j.started_at.map(format_time).unwrap_or_default()}</td>
                                <td>{duration(&j, now)}</td>
                                <td><Progress j=j.clone() now /></td>
                                <td>{counters(&j)}</td>
                                <td>{j.actor.clone()}</td>
                            </tr>
                        }
                    })
                    .collect_view()}
            </tbody>
        </table>
    }
}

/// One job: its counters, live progress and rate, the errors it found, and cancel.
#[component]
pub fn JobPage() -> impl IntoView {
    let params = use_params_map();
    let id = move || params.read().get("id").unwrap_or_default();
    let live = use_live();
    let cancel = ServerAction::<CancelJob>::new();
    let job = Resource::new(
        move || (id(), live.get(), cancel.version().get()),
        |(id, _, _)| async move { get_job(crate::error::AppError::id_from(&id, "a job")?).await },
    );
    view! {
        <Title text="Synchronization Job" />
        <p class="back"><a href="/jobs">"← Integration Synchronization Jobs"</a></p>
        {move || cancel.value().get().and_then(|answer| answer.err()).map(|error| error.alert())}
        <Transition fallback=|| view! { <p>"Loading the job…"</p> }>
            {move || Suspend::new(async move {
                match job.await {
                    Ok(shown) => view! { <JobDetail shown cancel /> }.into_any(),
                    Err(error) => error.alert(),
                }
            })}
        </Transition>
    }
}

#[component]
fn JobDetail(shown: JobView, cancel: ServerAction<CancelJob>) -> impl IntoView {
    let JobView {
        job: j,
        errors,
        error_count,
        now,
    } = shown;
    let can_cancel = matches!(j.state, JobState::Queued | JobState::Running);
    let id = j.id;
    let counters = j
        .counters
        .named()
        .into_iter()
        .map(|(name, value)| view! { <tr><th scope="row">{name}</th><td>{thousands(value as i64)}</td></tr> })
        .collect_view();
    let errors_href = format!("/errors?job={id}");
    view! {
        <h1>{format!("Job {id}: {} {}", j.mapping, j.kind.as_str())}</h1>
        <dl class="facts">
            <dt>"State"</dt>
            <dd>
                <span class=format!("state {}", j.state.as_str()) data-state=j.state.as_str()>{j.state.as_str()}</span>
                {j.message.clone().map(|m| view! { " " <span class="message">{m}</span> })}
            </dd>
            <dt>"Progress"</dt>
            <dd><Progress j=j.clone() now /></dd>
            <dt>"Created"</dt>
            <dd>{format_time(j.created_at)}</dd>
            <dt>"Started"</dt>
            <dd>{j.started_at.map(format_time).unwrap_or_else(|| "not yet".into())}</dd>
            <dt>"Duration"</dt>
            <dd>{duration(&j, now)}</dd>
            <dt>"By"</dt>
            <dd>{j.actor.clone()}</dd>
        </dl>
        {can_cancel.then(|| view! {
            <IfRole role=Role::Operator>
                <ActionForm action=cancel attr:class="inline">
                    <input type="hidden" name="id" value=id />
                    <button type="submit" class="danger">"Cancel job"</button>
                </ActionForm>
            </IfRole>
        })}
        <h2>"Counters"</h2>
        <table class="list counters"><tbody>{counters}</tbody></table>
        <h2>{format!("Open errors found by this job: {}", thousands(error_count))}</h2>
        {(error_count > 0).then(|| view! {
            <table class="list errors">
                <thead>
                    <tr>
                        <th scope="col">"Record"</th>
                        <th scope="col">"Kind"</th>
                        <th scope="col">"What happened"</th>
                        <th scope="col">"Failed on"</th>
                    </tr>
                </thead>
                <tbody>
                    {errors
                        .into_iter()
                        .map(|e| {
                            let side = if e.local_key.is_some() { Side::Local } else { Side::Integration };
                            let key = e.key(side).unwrap_or_default().to_string();
                            view! {
                                <tr>
                                    <td><a href=log_href(&e.mapping, side, &key)>{key.clone()}</a></td>
                                    <td><a href=format!("/errors/{}", e.id)>{kind_label(e.kind)}</a></td>
                                    <td class="message">{e.message.clone()}</td>
                                    <td>{format_time(e.failed_at)}</td>
                                </tr>
                            }
                        })
                        .collect_view()}
                </tbody>
            </table>
            <p><a href=errors_href.clone()>"All of this job's errors on the errors page"</a></p>
        })}
    }
}
