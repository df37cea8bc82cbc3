//! `/mappings/:name/records?status=…&page=…`: a mapping's records in one state (a sync
//! health count opened), a page at a time, each with its status now and why.

use super::api::list_records_by_status;
use super::href::{encode, record_href};
use crate::mappings::health::records_href;
use engine::model::{COUNTED_STATES, RecordsByStatus};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::{use_params_map, use_query_map};

/// The records of one state, with links to the other states.
#[component]
pub fn RecordsByStatusPage() -> impl IntoView {
    let params = use_params_map();
    let query = use_query_map();
    let asked = move || {
        let q = query.read();
        (
            params.read().get("name").unwrap_or_default(),
            q.get("status").unwrap_or_else(|| "in_sync".into()),
            q.get("page"),
        )
    };
    let page = Resource::new(asked, |(mapping, status, page)| {
        list_records_by_status(mapping, status, page)
    });
    let tabs = move || {
        let (mapping, status, _) = asked();
        COUNTED_STATES
            .into_iter()
            .map(|code| {
                let current = (code.as_str() == status).then_some("page");
                view! {
                    <li><a href=records_href(&mapping, code) aria-current=current>{code.label()}</a></li>
                }
            })
            .collect_view()
    };
    view! {
        <Title text="Records by state" />
        <h1>{move || format!("Records of {}", asked().0)}</h1>
        <nav aria-label="States"><ul class="tabs">{tabs}</ul></nav>
        <Transition fallback=|| view! { <p>"Finding the records…"</p> }>
            {move || Suspend::new(async move {
                match page.await {
                    Ok(found) => view! { <RecordRows found /> }.into_any(),
                    Err(error) => error.alert(),
                }
            })}
        </Transition>
    }
}

#[component]
fn RecordRows(found: RecordsByStatus) -> impl IntoView {
    let RecordsByStatus {
        mapping,
        code,
        page,
        more,
        rows,
    } = found;
    let heading = format!("{}: page {}", code.label(), page + 1);
    if rows.is_empty() {
        return view! {
            <h2>{heading}</h2>
            <p class="empty">{format!("No record of {mapping} is {} now.", code.label().to_lowercase())}</p>
        }
        .into_any();
    }
    let at = |page: i64| {
        format!(
            "/mappings/{}/records?status={}&page={page}",
            encode(&mapping),
            code.as_str()
        )
    };
    let previous =
        (page > 0).then(|| view! { <a href=at(page - 1) rel="prev">"Previous page"</a> });
    let next = more.then(|| view! { <a href=at(page + 1) rel="next">"Next page"</a> });
    let rows = rows
        .into_iter()
        .map(|s| {
            let why = s.reasons.first().map(|r| r.message.clone()).unwrap_or_default();
            let moved = (s.state != code).then(|| view! { " " <span class="muted">"(moved on since it was counted)"</span> });
            view! {
                <tr>
                    <td><a href=record_href(&s.mapping, s.side, &s.key)>{format!("{} {}", s.side, s.key)}</a></td>
                    <td>{s.partner.clone().unwrap_or_default()}</td>
                    <td><span class=format!("badge state-{}", s.state.as_str())>{s.state.label()}</span>{moved}</td>
                    <td>{why}</td>
                </tr>
            }
        })
        .collect_view();
    view! {
        <h2>{heading}</h2>
        <table class="list records">
            <thead>
                <tr>
                    <th scope="col">"Record"</th>
                    <th scope="col">"Coupled with"</th>
                    <th scope="col">"State"</th>
                    <th scope="col">"Why"</th>
                </tr>
            </thead>
            <tbody>{rows}</tbody>
        </table>
        <p class="pages">{previous} " " {next}</p>
    }
    .into_any()
}
