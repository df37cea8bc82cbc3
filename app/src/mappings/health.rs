//! A mapping's health as the overview, the mappings list and the mapping's page show it:
//! a badge with its problems, and its records counted by state, each count a link to
//! those records.

use crate::errors::page::thousands;
use crate::records::href::encode;
use engine::model::{HealthCount, MappingHealth, StatusCode};
use leptos::prelude::*;

/// "Healthy", or how many problems, with each problem in words.
#[component]
pub fn HealthBadge(health: MappingHealth, #[prop(optional)] brief: bool) -> impl IntoView {
    if health.healthy() {
        return view! { <span class="badge ok">"Healthy"</span> }.into_any();
    }
    let n = health.problems.len();
    let title = health
        .problems
        .iter()
        .map(|p| p.message.clone())
        .collect::<Vec<_>>()
        .join("; ");
    let badge = view! {
        <span class="badge problem" title=title>
            {format!("{n} problem{}", if n == 1 { "" } else { "s" })}
        </span>
    };
    if brief {
        return badge.into_any();
    }
    view! {
        {badge}
        <ul class="problems">
            {health
                .problems
                .into_iter()
                .map(|p| view! {
                    <li class=format!("problem-{}", p.code.as_str())>{p.message}</li>
                })
                .collect_view()}
        </ul>
    }
    .into_any()
}

/// The address of the list of `mapping`'s records in `state`.
pub fn records_href(mapping: &str, state: StatusCode) -> String {
    format!(
        "/mappings/{}/records?status={}",
        encode(mapping),
        state.as_str()
    )
}

/// A mapping's records counted by state, each a link to their list; the states none are
/// in are left out, but for "in sync".
#[component]
pub fn HealthCounts(mapping: String, counts: Vec<HealthCount>) -> impl IntoView {
    let items = counts
        .into_iter()
        .filter(|c| c.count > 0 || c.code == StatusCode::InSync)
        .map(|c| {
            let figure = format!(
                "{}{}",
                thousands(c.count),
                if c.at_least { "+" } else { "" }
            );
            view! {
                <li class=format!("count-{}", c.code.as_str())>
                    <a href=records_href(&mapping, c.code)>{c.code.label()} " " <b>{figure}</b></a>
                </li>
            }
        })
        .collect_view();
    view! { <ul class="health-counts" aria-label="Records by state">{items}</ul> }
}
