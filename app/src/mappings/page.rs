//! `/mappings` and `/mappings/:name`.

use super::api::{
    RemoveAllCouplings, RunMapping, SetMappingPaused, SetMappingSettings, get_mapping,
    get_mapping_counts, list_mappings,
};
use super::health::{HealthBadge, HealthCounts};
use crate::accounts::IfRole;
use crate::errors::page::{kind_label, thousands};
use crate::live::use_live;
use engine::model::{
    DeletionConflictPolicy, Direction, FieldSummary, JobSummary, MappingCounts, MappingSummary,
    OnMatch, Role, UpdateConflictPolicy, format_time,
};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_params_map;

/// The list of mappings, filterable as you type, with pause and resume.
#[component]
pub fn MappingsPage() -> impl IntoView {
    let toggle = ServerAction::<SetMappingPaused>::new();
    let live = use_live();
    let mappings = Resource::new(
        move || (toggle.version().get(), live.get()),
        |_| async {
            Ok::<_, crate::error::AppError>((list_mappings().await?, get_mapping_counts().await?))
        },
    );
    let (filter, set_filter) = signal(String::new());
    view! {
        <Title text="Integration Table Mappings" />
        <h1>"Integration Table Mappings"</h1>
        <label class="filter">
            "Filter "
            <input
                type="search"
                name="filter"
                placeholder="name or table"
                on:input=move |ev| set_filter.set(event_target_value(&ev))
            />
        </label>
        <Transition fallback=|| view! { <p>"Loading mappings…"</p> }>
            {move || Suspend::new(async move {
                match mappings.await {
                    Ok((list, counts)) => view! { <MappingTable list counts filter toggle /> }.into_any(),
                    Err(error) => error.alert(),
                }
            })}
        </Transition>
    }
}

#[component]
fn MappingTable(
    list: Vec<MappingSummary>,
    counts: Vec<MappingCounts>,
    filter: ReadSignal<String>,
    toggle: ServerAction<SetMappingPaused>,
) -> impl IntoView {
    view! {
        <table class="list">
            <thead>
                <tr>
                    <th scope="col">"Name"</th>
                    <th scope="col">"Local table"</th>
                    <th scope="col">"Direction"</th>
                    <th scope="col">"Integration table"</th>
                    <th scope="col">"Update conflict"</th>
                    <th scope="col">"Deletion conflict"</th>
                    <th scope="col">"Interval"</th>
                    <th scope="col">"State"</th>
                    <th scope="col">"Health"</th>
                    <th scope="col">"Open errors"</th>
                    <th scope="col">"Skipped"</th>
                    <th scope="col"><span class="visually-hidden">"Actions"</span></th>
                </tr>
            </thead>
            <tbody>
                {list
                    .into_iter()
                    .map(|m| {
                        let haystack = format!(
                            "{} {} {}",
                            m.name,
                            m.local.table,
                            m.integration.table,
                        )
                            .to_lowercase();
                        let hidden = move || !haystack.contains(&filter.get().trim().to_lowercase());
                        let c = counts.iter().find(|c| c.mapping == m.name);
                        let errors: i64 = c.map_or(0, |c| c.errors.iter().map(|(_, n)| n).sum());
                        let skipped = c.map_or(0, |c| c.skipped);
                        let health = c.map(|c| c.health.clone());
                        let errors_href = format!("/errors?mapping={}", m.name);
                        view! {
                            <tr hidden=hidden data-mapping=m.name.clone()>
                                <th scope="row">
                                    <a href=format!("/mappings/{}", m.name)>{m.name.clone()}</a>
                                </th>
                                <td>{format!("{}.{}", m.local.system, m.local.table)}</td>
                                <td><DirectionLabel direction=m.direction /></td>
                                <td>{format!("{}.{}", m.integration.system, m.integration.table)}</td>
                                <td>{m.update_conflict.as_str()}</td>
                                <td>{m.deletion_conflict.as_str()}</td>
                                <td>{interval(m.interval_secs)}</td>
                                <td><StateBadge paused=m.paused /></td>
                                <td>{health.map(|health| view! { <HealthBadge health brief=true /> })}</td>
                                <td><a href=errors_href>{thousands(errors)}</a></td>
                                <td>{thousands(skipped)}</td>
                                <td><PauseForm name=m.name.clone() paused=m.paused toggle /></td>
                            </tr>
                        }
                    })
                    .collect_view()}
            </tbody>
        </table>
    }
}

/// One mapping: its numbers, settings, field mappings and actions.
#[component]
pub fn MappingPage() -> impl IntoView {
    let params = use_params_map();
    let name = move || params.read().get("name").unwrap_or_default();
    let toggle = ServerAction::<SetMappingPaused>::new();
    let settings = ServerAction::<SetMappingSettings>::new();
    let run = ServerAction::<RunMapping>::new();
    let remove = ServerAction::<RemoveAllCouplings>::new();
    let live = use_live();
    // The settings form is not re-drawn by live updates (that would lose what is being
    // typed); the numbers are.
    let mapping = Resource::new(
        move || (name(), toggle.version().get(), settings.version().get()),
        |(name, _, _)| get_mapping(name),
    );
    let counts = Resource::new(
        move || (name(), live.get(), remove.version().get()),
        |(name, _, _)| async move {
            let all = get_mapping_counts().await?;
            Ok::<_, crate::error::AppError>(all.into_iter().find(|c| c.mapping == name))
        },
    );
    let job_answer = move |answer: Option<Result<JobSummary, crate::error::AppError>>| {
        answer.map(|answer| match answer {
            Ok(job) => view! {
                <p class="answer done" role="status">
                    {format!("Job {} ({}) is {}. ", job.id, job.kind.as_str(), job.state.as_str())}
                    <a href=format!("/jobs/{}", job.id)>"Follow it"</a>
                </p>
            }
            .into_any(),
            Err(error) => error.alert(),
        })
    };
    view! {
        {move || job_answer(run.value().get())}
        {move || job_answer(remove.value().get())}
        {move || settings.value().get().and_then(Result::err).map(|error| error.alert())}
        <Transition fallback=|| view! { <p>"Loading mapping…"</p> }>
            {move || Suspend::new(async move {
                match mapping.await {
                    Ok(m) => view! { <MappingDetail m counts toggle settings run remove /> }.into_any(),
                    Err(error) => {
                        view! {
                            <Title text="Mapping not found" />
                            <h1>"Mapping not found"</h1>
                            <p class="error" role="alert">{error.to_string()}</p>
                        }
                            .into_any()
                    }
                }
            })}
        </Transition>
    }
}

#[component]
fn MappingDetail(
    m: MappingSummary,
    counts: Resource<Result<Option<MappingCounts>, crate::error::AppError>>,
    toggle: ServerAction<SetMappingPaused>,
    settings: ServerAction<SetMappingSettings>,
    run: ServerAction<RunMapping>,
    remove: ServerAction<RemoveAllCouplings>,
) -> impl IntoView {
    let depends_on = if m.depends_on.is_empty() {
        "nothing".to_string()
    } else {
        m.depends_on.join(", ")
    };
    let match_on = if m.match_on.is_empty() {
        "no matching".to_string()
    } else {
        let sets: Vec<String> = m.match_on.iter().map(|set| set.join(" and ")).collect();
        sets.join(", else ")
    };
    let mapping_name = m.name.clone();
    let shown = m.clone();
    let numbers = move || {
        let name = mapping_name.clone();
        Suspend::new(async move {
            match counts.await {
                Ok(Some(c)) => {
                    let coupled = c.coupled;
                    view! {
                        <Numbers c />
                        <IfRole role=Role::Admin>
                            <RemoveAll name=name.clone() coupled remove />
                        </IfRole>
                    }
                    .into_any()
                }
                Ok(None) => ().into_any(),
                Err(error) => error.alert(),
            }
        })
    };
    let overridden = |setting: &str| {
        m.overridden
            .iter()
            .any(|o| o == setting)
            .then(|| view! { " " <span class="badge">"changed in the console"</span> })
    };
    let name = m.name.clone();
    let (name_for_pause, paused) = (m.name.clone(), m.paused);
    let run_button = move |job: &'static str, label: &'static str| {
        let name = name.clone();
        view! {
            <ActionForm action=run attr:class="inline">
                <input type="hidden" name="name" value=name />
                <input type="hidden" name="job" value=job />
                <button type="submit">{label}</button>
            </ActionForm>
        }
    };
    view! {
        <Title text=m.name.clone() />
        <h1>{format!("Integration Table Mapping {}", m.name)}</h1>
        <p class="links">
            <a href=format!("/errors?mapping={}", m.name)>"Its errors"</a>
            " · "
            <a href=format!("/mappings/{}/couplings", m.name)>"Its couplings"</a>
        </p>
        <Transition fallback=|| view! { <p>"Counting…"</p> }>{numbers}</Transition>
        <div class="toolbar" role="toolbar" aria-label="Run">
            <IfRole role=Role::Operator>
                {run_button("synchronize", "Synchronize modified records now")}
                {run_button("full", "Full synchronization")}
                {run_button("find_deleted", "Find for Deleted")}
            </IfRole>
            <IfRole role=Role::Admin>
                <PauseForm name=name_for_pause.clone() paused toggle />
            </IfRole>
        </div>
        <dl class="settings">
            <dt>"Local table"</dt>
            <dd>{format!("{}.{} (key {}, modified {})", m.local.system, m.local.table, m.local.key, m.local.modified)}</dd>
            <dt>"Integration table"</dt>
            <dd>
                {format!(
                    "{}.{} (key {}, modified {})",
                    m.integration.system,
                    m.integration.table,
                    m.integration.key,
                    m.integration.modified,
                )}
            </dd>
            <dt>"Direction"</dt>
            <dd><DirectionLabel direction=m.direction /></dd>
            <dt>"Update conflict"</dt>
            <dd>{m.update_conflict.as_str()} {overridden("update_conflict")}</dd>
            <dt>"Deletion conflict"</dt>
            <dd>{m.deletion_conflict.as_str()} {overridden("deletion_conflict")}</dd>
            <dt>"Synchronize only coupled records"</dt>
            <dd>{if m.sync_only_coupled { "yes" } else { "no" }}</dd>
            <dt>"Interval"</dt>
            <dd>{interval(m.interval_secs)} {overridden("interval")}</dd>
            <dt>"Next scheduled run"</dt>
            <dd>{m.next_run_at.map_or_else(|| "not scheduled".to_string(), format_time)}</dd>
            <dt>"Depends on"</dt>
            <dd>{depends_on}</dd>
            <dt>"Match-based coupling on"</dt>
            <dd>{match_on}</dd>
            <dt>"On a match"</dt>
            <dd>{m.on_match.as_str()} ": " {on_match_meaning(m.on_match)}</dd>
            <dt>"State"</dt>
            <dd>
                <StateBadge paused=m.paused />
                {m.paused_by.clone().map(|by| format!(" by {by}"))}
                {m.paused_at.map(|at| format!(" since {}", format_time(at)))}
                {m.pause_reason.clone().map(|reason| view! { <p class="pause-reason">{reason}</p> })}
            </dd>
            <dt>"Pause after"</dt>
            <dd>{m.pause_after.clone().unwrap_or_else(|| "never (no pause_after)".into())}</dd>
        </dl>
        <IfRole role=Role::Admin>
            <h2>"Settings"</h2>
            <SettingsForm m=shown.clone() settings />
        </IfRole>
        <h2>"Field mappings"</h2>
        <table class="list">
            <thead>
                <tr>
                    <th scope="col">"Local field"</th>
                    <th scope="col">"Direction"</th>
                    <th scope="col">"Integration field"</th>
                    <th scope="col">"Validation"</th>
                </tr>
            </thead>
            <tbody>{m.fields.clone().into_iter().map(|f| view! { <FieldRow f /> }).collect_view()}</tbody>
        </table>
    }
}

/// Removes every coupling of a mapping, once the person confirms the count.
#[component]
fn RemoveAll(
    name: String,
    coupled: i64,
    remove: ServerAction<RemoveAllCouplings>,
) -> impl IntoView {
    view! {
        <details class="danger-zone">
            <summary>"Remove all couplings"</summary>
            <ActionForm action=remove>
                <input type="hidden" name="name" value=name.clone() />
                <input type="hidden" name="confirm" value=coupled />
                <label>
                    <input type="checkbox" required=true name="understood" />
                    {format!(
                        " Remove all {} couplings of {}: the records stay in both systems and are not coupled again until they change.",
                        thousands(coupled),
                        name
                    )}
                </label>
                " "
                <button type="submit" class="danger">{format!("Remove {} couplings", thousands(coupled))}</button>
            </ActionForm>
        </details>
    }
}

/// A mapping's numbers: couplings, errors by kind, last and next job; then its health
/// and its records counted by state.
#[component]
pub fn Numbers(c: MappingCounts) -> impl IntoView {
    let errors = c
        .errors
        .iter()
        .map(|(kind, n)| {
            let href = format!("/errors?mapping={}&kind={}", c.mapping, kind.as_str());
            view! { <dt>{kind_label(*kind)}</dt><dd><a href=href>{thousands(*n)}</a></dd> }
        })
        .collect_view();
    let last = c.last_job.as_ref().map(|j| {
        view! {
            <a href=format!("/jobs/{}", j.id)>{format!("job {}", j.id)}</a>
            {format!(" {} {}", j.kind.as_str(), j.state.as_str())}
            {j.finished_at.map(|at| format!(" at {}", format_time(at)))}
        }
    });
    view! {
        <dl class="numbers">
            <dt>"Coupled"</dt><dd>{thousands(c.coupled)}</dd>
            {errors}
            <dt>"Last job"</dt><dd>{last.map_or_else(|| view! { "none yet" }.into_any(), |v| v.into_any())}</dd>
            <dt>"Next job"</dt>
            <dd>{if c.paused { "paused".to_string() } else { c.next_run_at.map_or_else(|| "not scheduled".into(), format_time) }}</dd>
        </dl>
        <HealthBadge health=c.health />
        <HealthCounts mapping=c.mapping counts=c.by_state />
    }
}

/// Edits the conflict policies and the interval.
#[component]
fn SettingsForm(m: MappingSummary, settings: ServerAction<SetMappingSettings>) -> impl IntoView {
    let updates = [
        UpdateConflictPolicy::None,
        UpdateConflictPolicy::SendUpdate,
        UpdateConflictPolicy::GetUpdate,
    ];
    let deletions = [
        DeletionConflictPolicy::None,
        DeletionConflictPolicy::Restore,
        DeletionConflictPolicy::RemoveCoupling,
    ];
    view! {
        <ActionForm action=settings attr:class="settings-form">
            <input type="hidden" name="name" value=m.name.clone() />
            <label>
                "Update conflict "
                <select name="update_conflict">
                    {updates
                        .into_iter()
                        .map(|p| view! { <option value=p.as_str() selected=p == m.update_conflict>{p.as_str()}</option> })
                        .collect_view()}
                </select>
            </label>
            <label>
                "Deletion conflict "
                <select name="deletion_conflict">
                    {deletions
                        .into_iter()
                        .map(|p| view! { <option value=p.as_str() selected=p == m.deletion_conflict>{p.as_str()}</option> })
                        .collect_view()}
                </select>
            </label>
            <label>
                "Interval "
                <input type="text" name="interval" value=format!("{}s", m.interval_secs) size="6"
                    pattern="[0-9]+(ms|s|m|h)" title="a number with ms, s, m or h" required=true />
            </label>
            <button type="submit">"Save settings"</button>
        </ActionForm>
    }
}

#[component]
fn FieldRow(f: FieldSummary) -> impl IntoView {
    let constant = |field: Option<String>| {
        field.unwrap_or_else(|| format!("constant {:?}", f.constant.clone().unwrap_or_default()))
    };
    let mut rules = Vec::new();
    if f.required {
        rules.push("required".to_string());
    }
    if let Some(max) = f.max_length {
        rules.push(format!("at most {max} characters"));
    }
    if f.value_mapped {
        rules.push("value map".to_string());
    }
    view! {
        <tr>
            <td>{constant(f.local.clone())}</td>
            <td><DirectionLabel direction=f.direction /></td>
            <td>{constant(f.integration.clone())}</td>
            <td>{rules.join(", ")}</td>
        </tr>
    }
}

/// A form that pauses or resumes a mapping. Without WebAssembly it posts to
/// `/api/set_mapping_paused` and the server sends the browser back to the page.
#[component]
fn PauseForm(name: String, paused: bool, toggle: ServerAction<SetMappingPaused>) -> impl IntoView {
    let label = if paused { "Resume" } else { "Pause" };
    view! {
        <ActionForm action=toggle attr:class="inline">
            <input type="hidden" name="name" value=name.clone() />
            <input type="hidden" name="paused" value=(!paused).to_string() />
            <button type="submit" aria-label=format!("{label} {name}")>{label}</button>
        </ActionForm>
    }
}

/// A mapping's direction as an arrow with words for screen readers.
#[component]
pub fn DirectionLabel(direction: Direction) -> impl IntoView {
    let arrow = match direction {
        Direction::Bidirectional => "⇄",
        Direction::ToIntegration => "→",
        Direction::FromIntegration => "←",
    };
    view! { <span class="direction" title=direction.as_str()>{arrow} " " {direction.as_str()}</span> }
}

/// Whether a mapping's schedule is paused.
#[component]
pub fn StateBadge(paused: bool) -> impl IntoView {
    if paused {
        view! { <span class="badge paused">"Paused"</span> }
    } else {
        view! { <span class="badge active">"Active"</span> }
    }
}

fn interval(secs: u64) -> String {
    match secs {
        s if s % 3600 == 0 => format!("{} h", s / 3600),
        s if s % 60 == 0 => format!("{} min", s / 60),
        s => format!("{s} s"),
    }
}

/// What a mapping's `on_match` setting does, in plain words.
fn on_match_meaning(on_match: OnMatch) -> &'static str {
    match on_match {
        OnMatch::Source => "the values of the record whose change found the match win",
        OnMatch::Local => "the local record's values win",
        OnMatch::Integration => "the integration record's values win",
        OnMatch::None => "both records keep their values until one of them changes",
    }
}
