//! `/`: the overview of every mapping.

use crate::mappings::api::list_mappings;
use crate::mappings::page::{DirectionLabel, StateBadge};
use leptos::prelude::*;
use leptos_meta::Title;

/// Per mapping: its tables, direction and state.
#[component]
pub fn OverviewPage() -> impl IntoView {
    let mappings = Resource::new(|| (), |_| list_mappings());
    view! {
        <Title text="Overview" />
        <h1>"Overview"</h1>
        <p class="not-built" role="status">
            "Coupled, in sync and error counts per mapping, the last and next job, and the error trend are not built yet."
        </p>
        <Suspense fallback=|| view! { <p>"Loading mappings…"</p> }>
            {move || Suspend::new(async move {
                match mappings.await {
                    Ok(list) => {
                        view! {
                            <ul class="cards">
                                {list
                                    .into_iter()
                                    .map(|m| {
                                        let href = format!("/mappings/{}", m.name);
                                        view! {
                                            <li class="card">
                                                <h2><a href=href>{m.name.clone()}</a></h2>
                                                <p>
                                                    {format!("{}.{}", m.local.system, m.local.table)} " "
                                                    <DirectionLabel direction=m.direction /> " "
                                                    {format!("{}.{}", m.integration.system, m.integration.table)}
                                                </p>
                                                <StateBadge paused=m.paused />
                                            </li>
                                        }
                                    })
                                    .collect_view()}
                            </ul>
                        }
                            .into_any()
                    }
                    Err(error) => error.alert(),
                }
            })}
        </Suspense>
    }
}
