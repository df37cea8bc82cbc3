//! `/mappings` and `/mappings/:name`.

use super::api::{SetMappingPaused, get_mapping, list_mappings};
use engine::model::{Direction, FieldSummary, MappingSummary};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_params_map;

/// The list of mappings, filterable as you type, with pause and resume.
#[component]
pub fn MappingsPage() -> impl IntoView {
    let toggle = ServerAction::<SetMappingPaused>::new();
    let mappings = Resource::new(move || toggle.version().get(), |_| list_mappings());
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
        <Suspense fallback=|| view! { <p>"Loading mappings…"</p> }>
            {move || Suspend::new(async move {
                match mappings.await {
                    Ok(list) => view! { <MappingTable list filter toggle /> }.into_any(),
                    Err(error) => error.alert(),
                }
            })}
        </Suspense>
    }
}

#[component]
fn MappingTable(
    list: Vec<MappingSummary>,
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
                                <td><PauseForm name=m.name.clone() paused=m.paused toggle /></td>
                            </tr>
                        }
                    })
                    .collect_view()}
            </tbody>
        </table>
    }
}

/// One mapping: its settings and field mappings.
#[component]
pub fn MappingPage() -> impl IntoView {
    let params = use_params_map();
    let toggle = ServerAction::<SetMappingPaused>::new();
    let mapping = Resource::new(
        move || {
            (
                params.read().get("name").unwrap_or_default(),
                toggle.version().get(),
            )
        },
        |(name, _)| get_mapping(name),
    );
    view! {
        <Suspense fallback=|| view! { <p>"Loading mapping…"</p> }>
            {move || Suspend::new(async move {
                match mapping.await {
                    Ok(m) => view! { <MappingDetail m toggle /> }.into_any(),
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
        </Suspense>
    }
}

#[component]
fn MappingDetail(m: MappingSummary, toggle: ServerAction<SetMappingPaused>) -> impl IntoView {
    let depends_on = if m.depends_on.is_empty() {
        "nothing".to_string()
    } else {
        m.depends_on.join(", ")
    };
    let match_on = if m.match_on.is_empty() {
        "no matching".to_string()
    } else {
        m.match_on.join(", ")
    };
    view! {
        <Title text=m.name.clone() />
        <h1>{format!("Integration Table Mapping {}", m.name)}</h1>
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
            <dd>{m.update_conflict.as_str()}</dd>
            <dt>"Deletion conflict"</dt>
            <dd>{m.deletion_conflict.as_str()}</dd>
            <dt>"Synchronize only coupled records"</dt>
            <dd>{if m.sync_only_coupled { "yes" } else { "no" }}</dd>
            <dt>"Interval"</dt>
            <dd>{interval(m.interval_secs)}</dd>
            <dt>"Depends on"</dt>
            <dd>{depends_on}</dd>
            <dt>"Match-based coupling on"</dt>
            <dd>{match_on}</dd>
            <dt>"State"</dt>
            <dd><StateBadge paused=m.paused /> " " <PauseForm name=m.name.clone() paused=m.paused toggle /></dd>
        </dl>
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
            <tbody>{m.fields.into_iter().map(|f| view! { <FieldRow f /> }).collect_view()}</tbody>
        </table>
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
