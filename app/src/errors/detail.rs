//! `/errors/:id`: one error, both records side by side with their values at the last
//! successful synchronization, what happened and the fix, and the conflict resolved by
//! side, by merge or field by field.

use super::api::{ActOnSyncErrors, ErrorView, get_sync_error};
use super::page::{Answer, kind_label};
use crate::accounts::IfRole;
use crate::live::use_live;
use crate::mappings::api::SetUpCoupling;
use crate::records::href::log_href;
use engine::model::{
    Action, Candidate, FieldComparison, Resolution, Role, Side, SyncErrorKind, SyncErrorSummary,
    format_time,
};
use engine::value::Value;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_params_map;

/// The error named in the URL.
#[component]
pub fn ErrorPage() -> impl IntoView {
    let params = use_params_map();
    let id = move || params.read().get("id").unwrap_or_default();
    let act = ServerAction::<ActOnSyncErrors>::new();
    let couple = ServerAction::<SetUpCoupling>::new();
    let live = use_live();
    let error = Resource::new(
        move || {
            (
                id(),
                act.version().get(),
                couple.version().get(),
                live.get(),
            )
        },
        |(id, _, _, _)| async move {
            get_sync_error(crate::error::AppError::id_from(&id, "a sync error")?).await
        },
    );
    view! {
        <Title text="Sync error" />
        <p class="back"><a href="/errors">"← Coupled Data Synchronization Errors"</a></p>
        {move || act.value().get().map(|answer| view! { <Answer answer /> })}
        {move || couple.value().get().map(|answer| view! { <Answer answer /> })}
        <Transition fallback=|| view! { <p>"Loading the error…"</p> }>
            {move || Suspend::new(async move {
                match error.await {
                    Ok(shown) => view! { <ErrorDetailView shown act couple /> }.into_any(),
                    Err(error) => error.alert(),
                }
            })}
        </Transition>
    }
}

#[component]
fn ErrorDetailView(
    shown: ErrorView,
    act: ServerAction<ActOnSyncErrors>,
    couple: ServerAction<SetUpCoupling>,
) -> impl IntoView {
    let ErrorView { detail, view } = shown;
    let e = detail.error;
    let unread = detail.local_exists != Some(true) && detail.integration_exists != Some(true);
    let resolved = detail.resolved_at.map(|at| {
        let by = detail.resolved_by.clone().unwrap_or_default();
        view! {
            <p class="answer done" role="status">
                {format!("Resolved by {by} at {}: nothing left to fix.", format_time(at))}
            </p>
        }
    });
    let is_open = detail.resolved_at.is_none();
    let record = |side: Side, exists: Option<bool>| match e.key(side) {
        Some(key) => {
            let state = match exists {
                Some(true) => "exists",
                Some(false) => "deleted",
                None => "unknown",
            };
            view! {
                <a href=log_href(&e.mapping, side, key)>{key.to_string()}</a>
                " "
                <span class=format!("badge {state}")>{state}</span>
            }
            .into_any()
        }
        None => view! { <span class="muted">"not coupled"</span> }.into_any(),
    };
    let conflict = e.kind == SyncErrorKind::UpdateConflict && is_open;
    let seen = format!("{}:{}", e.id, e.version);
    let fixes: Vec<(&'static str, &'static str)> = [
        (Action::Synchronize(Resolution::Local), "Use local"),
        (
            Action::Synchronize(Resolution::Integration),
            "Use integration",
        ),
        (
            Action::Synchronize(Resolution::Merge),
            "Synchronize with these choices",
        ),
        (Action::Retry, "Retry"),
        (Action::RestoreRecords, "Restore Records"),
        (Action::DeleteRecords, "Delete Records"),
        (Action::RemoveCoupling, "Remove Coupling"),
        (Action::CreateNew, "Create New"),
    ]
    .into_iter()
    // Create New is the choice an ambiguous match leaves: offered where there is one.
    .filter(|(action, _)| *action != Action::CreateNew || detail.held)
    .filter(|(action, _)| is_open && action.applies_to(&e))
    .map(|(action, label)| (action.form_name(), label))
    .collect();
    let title = format!("{} {}", e.mapping, kind_label(e.kind));
    view! {
        <h1>{title}</h1>
        {resolved}
        <dl class="facts">
            <dt>"Local record"</dt>
            <dd>{record(Side::Local, detail.local_exists)}</dd>
            <dt>"Integration record"</dt>
            <dd>{record(Side::Integration, detail.integration_exists)}</dd>
            <dt>"Failed on"</dt>
            <dd>{format_time(e.failed_at)} {format!(" (first {}; {} attempt{})", format_time(e.first_failed_at), e.attempts, if e.attempts == 1 { "" } else { "s" })}</dd>
            <dt>"Last changed by"</dt>
            <dd>{e.changed_by.clone().unwrap_or_else(|| "—".into())}</dd>
        </dl>
        <section class="explain" aria-labelledby="what-happened">
            <h2 id="what-happened">"What happened"</h2>
            <p>{detail.explanation.clone()}</p>
            <p class="message">{e.message.clone()}</p>
            <h2>"Recommended fix"</h2>
            <p class="fix">{detail.recommendation.clone()}</p>
        </section>
        {(is_open && !detail.candidates.is_empty())
            .then(|| view! { <Candidates e=e.clone() candidates=detail.candidates.clone() couple /> })}
        <ActionForm action=act attr:class="resolve" attr:aria-label="Fix this error">
            <input type="hidden" name="view" value=view />
            <input type="hidden" name="refs[]" value=seen />
            <h2>"Both records"</h2>
            <table class="list compare">
                <caption class="muted">
                    "Values now and at the last successful synchronization; changed values are marked."
                </caption>
                <thead>
                    <tr>
                        <th scope="col">"Field"</th>
                        <th scope="col">"Local then"</th>
                        <th scope="col">"Local now"</th>
                        <th scope="col">"Integration then"</th>
                        <th scope="col">"Integration now"</th>
                        {conflict.then(|| view! { <th scope="col">"Keep"</th> })}
                    </tr>
                </thead>
                <tbody>
                    {detail
                        .fields
                        .into_iter()
                        .enumerate()
                        .map(|(i, f)| view! { <FieldRow i f conflict /> })
                        .collect_view()}
                </tbody>
            </table>
            <IfRole role=Role::Operator>
                <div class="toolbar" role="toolbar" aria-label="Fixes">
                    {fixes
                        .iter()
                        .map(|&(action, label)| {
                            view! { <button type="submit" name="action" value=action>{label}</button> }
                        })
                        .collect_view()}
                </div>
            </IfRole>
        </ActionForm>
        {unread.then(|| view! { <p class="muted">"Neither record could be found in its system."</p> })}
    }
}

/// The other side's records an uncoupled record matches, each with the form that couples
/// it with that one (Set Up Coupling): the choice Coupler leaves to a person.
#[component]
fn Candidates(
    e: SyncErrorSummary,
    candidates: Vec<Candidate>,
    couple: ServerAction<SetUpCoupling>,
) -> impl IntoView {
    let (from, other) = (e.side, e.side.other());
    let own_key = e.key(from).unwrap_or_default().to_string();
    let rows = candidates
        .into_iter()
        .map(|c| {
            let (local_key, integration_key) = match from {
                Side::Local => (own_key.clone(), c.key.clone()),
                Side::Integration => (c.key.clone(), own_key.clone()),
            };
            let label = format!("Couple with {}", c.key);
            let mapping = e.mapping.clone();
            view! {
                <tr>
                    <td><a href=log_href(&e.mapping, other, &c.key)>{c.key.clone()}</a></td>
                    <td>{c.description.unwrap_or_default()}</td>
                    <td>
                        <IfRole role=Role::Operator>
                            <CoupleForm
                                mapping=mapping.clone()
                                local_key=local_key.clone()
                                integration_key=integration_key.clone()
                                from
                                label=label.clone()
                                couple
                            />
                        </IfRole>
                    </td>
                </tr>
            }
        })
        .collect_view();
    view! {
        <section aria-labelledby="candidates">
            <h2 id="candidates">{format!("Candidates: {other} records this record matches")}</h2>
            <table class="list">
                <thead>
                    <tr>
                        <th scope="col">"Key"</th>
                        <th scope="col">"Description"</th>
                        <th scope="col">"Couple"</th>
                    </tr>
                </thead>
                <tbody>{rows}</tbody>
            </table>
        </section>
    }
}

/// Set Up Coupling of one record of `from` with one candidate, and whose values win.
#[component]
fn CoupleForm(
    mapping: String,
    local_key: String,
    integration_key: String,
    from: Side,
    label: String,
    couple: ServerAction<SetUpCoupling>,
) -> impl IntoView {
    let other = from.other();
    view! {
        <ActionForm action=couple attr:class="couple">
            <input type="hidden" name="name" value=mapping />
            <input type="hidden" name="local_key" value=local_key />
            <input type="hidden" name="integration_key" value=integration_key />
            <label>
                "then "
                <select name="sync_from">
                    <option value=from.as_str()>{format!("write this {from} record's values to it")}</option>
                    <option value=other.as_str()>{format!("write its values to this {from} record")}</option>
                    <option value="">"leave both as they are"</option>
                </select>
            </label>
            " "
            <button type="submit">{label}</button>
        </ActionForm>
    }
}

/// One field of both records; a conflicting field offers the choice of side.
#[component]
fn FieldRow(i: usize, f: FieldComparison, conflict: bool) -> impl IntoView {
    let cell = |value: Option<Value>, changed: bool| {
        let text = value.map_or_else(|| "—".to_string(), |v| v.as_text());
        view! {
            <td class:changed=changed>
                {text}
                {changed.then(|| view! { " " <span class="badge changed">"changed"</span> })}
            </td>
        }
    };
    let label = match (&f.local_field, &f.integration_field) {
        (Some(l), Some(i)) if l != i => format!("{l} ↔ {i}"),
        _ => f.name.clone(),
    };
    let choice = (conflict && f.conflict).then(|| {
        let name = format!("fields[{i}]");
        let local = format!("{}:local", f.name);
        let integration = format!("{}:integration", f.name);
        view! {
            <td class="choose">
                <label><input type="radio" name=name.clone() value=local checked=true />" local"</label>
                " "
                <label><input type="radio" name=name value=integration />" integration"</label>
            </td>
        }
    });
    let blank = (conflict && !f.conflict).then(|| view! { <td class="muted">"merges"</td> });
    view! {
        <tr class:conflict=f.conflict>
            <th scope="row">
                {label}
                {f.conflict.then(|| view! { " " <span class="badge conflict">"conflict"</span> })}
            </th>
            {cell(f.local_base, false)}
            {cell(f.local, f.local_changed)}
            {cell(f.integration_base, false)}
            {cell(f.integration, f.integration_changed)}
            {choice}
            {blank}
        </tr>
    }
}
