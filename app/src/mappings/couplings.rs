//! `/mappings/:name/couplings`: a mapping's couplings, searched by key; remove one, or
//! set up a new one.

use super::api::{RemoveOneCoupling, SetUpCoupling, list_couplings};
use crate::accounts::IfRole;
use crate::errors::page::{Answer, thousands};
use crate::live::use_live;
use crate::records::href::log_href;
use engine::model::{CouplingSummary, Role, Side, format_time};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::{use_params_map, use_query_map};

/// The couplings of the mapping named in the URL.
#[component]
pub fn CouplingsPage() -> impl IntoView {
    let params = use_params_map();
    let query = use_query_map();
    let name = move || params.read().get("name").unwrap_or_default();
    let search = move || query.read().get("search").unwrap_or_default();
    let after = move || query.read().get("after").unwrap_or_default();
    let remove = ServerAction::<RemoveOneCoupling>::new();
    let couple = ServerAction::<SetUpCoupling>::new();
    let live = use_live();
    let me = crate::accounts::use_me();
    let couplings = Resource::new(
        move || {
            (
                name(),
                search(),
                after(),
                remove.version().get(),
                couple.version().get(),
                live.get(),
            )
        },
        |(name, search, after, _, _, _)| list_couplings(name, Some(search), Some(after)),
    );
    view! {
        <Title text="Couplings" />
        <p class="back"><a href=move || format!("/mappings/{}", name())>"← The mapping"</a></p>
        <h1>{move || format!("Couplings of {}", name())}</h1>
        <form method="get" class="filters" role="search">
            <label>
                "Key "
                <input type="search" name="search" value=search maxlength="200"
                    placeholder="local key (or its start) or integration key" />
            </label>
            <button type="submit">"Search"</button>
            <a href=move || format!("/mappings/{}/couplings", name())>"Clear"</a>
        </form>
        {move || remove.value().get().map(|answer| match answer {
            Ok(job) => view! {
                <p class="answer done" role="status">{format!("Coupling removed (job {}); both records stay.", job.id)}</p>
            }.into_any(),
            Err(error) => error.alert(),
        })}
        <Transition fallback=|| view! { <p>"Loading couplings…"</p> }>
            {move || Suspend::new(async move {
                let can_act = me.has(Role::Operator).await;
                match couplings.await {
                    Ok(list) => {
                        let next = list.next.clone().map(|next| {
                            let href = format!(
                                "/mappings/{}/couplings?search={}&after={}",
                                name(),
                                search(),
                                next
                            );
                            view! { <p class="more"><a class="button" href=href>"Next page"</a></p> }
                        });
                        view! {
                            <p class="count">{format!("{} couplings in all", thousands(list.total))}</p>
                            <CouplingTable list=list.couplings remove can_act />
                            {next}
                        }
                            .into_any()
                    }
                    Err(error) => error.alert(),
                }
            })}
        </Transition>
        <IfRole role=Role::Operator>
            <h2>"Set up a coupling"</h2>
            {move || couple.value().get().map(|answer| view! { <Answer answer /> })}
            <SetUpForm name=Signal::derive(name) couple />
        </IfRole>
    }
}

#[component]
fn CouplingTable(
    list: Vec<CouplingSummary>,
    remove: ServerAction<RemoveOneCoupling>,
    can_act: bool,
) -> impl IntoView {
    if list.is_empty() {
        return view! { <p class="empty">"No coupling matches."</p> }.into_any();
    }
    view! {
        <table class="list couplings">
            <thead>
                <tr>
                    <th scope="col">"Local record"</th>
                    <th scope="col">"Integration record"</th>
                    <th scope="col">"State"</th>
                    <th scope="col">"Last to integration"</th>
                    <th scope="col">"Last from integration"</th>
                    <th scope="col">"Synchronized"</th>
                    <th scope="col"><span class="visually-hidden">"Actions"</span></th>
                </tr>
            </thead>
            <tbody>
                {list
                    .into_iter()
                    .map(|c| {
                        let state = match (c.pending, c.skipped) {
                            (Some(side), _) => format!("creating the {side} record"),
                            (None, true) => "skipped".into(),
                            (None, false) => "coupled".into(),
                        };
                        view! {
                            <tr data-coupling=c.id>
                                <td><a href=log_href(&c.mapping, Side::Local, &c.local_key)>{c.local_key.clone()}</a></td>
                                <td><a href=log_href(&c.mapping, Side::Integration, &c.integration_key)>{c.integration_key.clone()}</a></td>
                                <td>{state}</td>
                                <td>{c.last_to_integration.clone().unwrap_or_default()}</td>
                                <td>{c.last_from_integration.clone().unwrap_or_default()}</td>
                                <td>{c.synced_at.map(format_time).unwrap_or_default()}</td>
                                <td>
                                    {can_act.then(|| view! {
                                        <ActionForm action=remove attr:class="inline">
                                            <input type="hidden" name="name" value=c.mapping.clone() />
                                            <input type="hidden" name="local_key" value=c.local_key.clone() />
                                            <button type="submit" aria-label=format!("Remove Coupling {}", c.local_key)>
                                                "Remove Coupling"
                                            </button>
                                        </ActionForm>
                                    })}
                                </td>
                            </tr>
                        }
                    })
                    .collect_view()}
            </tbody>
        </table>
    }
    .into_any()
}

#[component]
fn SetUpForm(name: Signal<String>, couple: ServerAction<SetUpCoupling>) -> impl IntoView {
    view! {
        <ActionForm action=couple attr:class="settings-form">
            <input type="hidden" name="name" value=name />
            <label>"Local key " <input type="text" name="local_key" required=true maxlength="200" /></label>
            <label>"Integration key " <input type="text" name="integration_key" required=true maxlength="200" /></label>
            <label>
                "Then "
                <select name="sync_from">
                    <option value="">"leave both records as they are"</option>
                    <option value="local">"write the local values to the integration record"</option>
                    <option value="integration">"write the integration values to the local record"</option>
                </select>
            </label>
            <button type="submit">"Set Up Coupling"</button>
        </ActionForm>
    }
}
