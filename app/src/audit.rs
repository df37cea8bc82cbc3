//! `/audit`: who did what, when, to which records, with what outcome; newest first,
//! filtered by who, what and text, in pages.

use crate::error::AppError;
use engine::model::{AuditEntry, format_time};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;
use serde::{Deserialize, Serialize};

/// A page of the audit log.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditList {
    /// The entries, newest first.
    pub entries: Vec<AuditEntry>,
    /// The id the next (older) page starts before, when there is one.
    pub next: Option<i64>,
}

/// Entries per page.
#[cfg(feature = "ssr")]
const AUDIT_PAGE: usize = 100;

/// A page of the audit log: by `actor`, by `action`, and containing `search` in what was
/// acted on or how it ended; older than entry `before`.
#[server(endpoint = "list_audit")]
pub async fn list_audit(
    actor: Option<String>,
    action: Option<String>,
    search: Option<String>,
    before: Option<String>,
) -> Result<AuditList, AppError> {
    use crate::input::{more, number, text};
    let (engine, _) = crate::server::engine_as(engine::model::Role::Viewer)?;
    let filter = engine::model::AuditFilter {
        actor: text(actor, "actor")?,
        action: text(action, "action")?,
        text: text(search, "search")?,
        before: number(before, "before", "an audit entry's id")?,
    };
    let mut entries = engine.audit(&filter, AUDIT_PAGE as i64 + 1).await?;
    let next = more(&mut entries, AUDIT_PAGE, |e| e.id);
    Ok(AuditList { entries, next })
}

/// The audit log.
#[component]
pub fn AuditPage() -> impl IntoView {
    let query = use_query_map();
    let get = move |name: &str| query.read().get(name).unwrap_or_default();
    let live = crate::live::use_live();
    let list = Resource::new(
        move || {
            (
                get("actor"),
                get("action"),
                get("search"),
                get("before"),
                live.get(),
            )
        },
        |(actor, action, search, before, _)| {
            list_audit(Some(actor), Some(action), Some(search), Some(before))
        },
    );
    view! {
        <Title text="Audit" />
        <h1>"Audit"</h1>
        <form method="get" class="filters" role="search">
            <label>"Who " <input name="actor" value=move || get("actor") maxlength="200" /></label>
            <label>"Action " <input name="action" value=move || get("action") maxlength="200"
                placeholder="retry, resolve, sign_in, …" /></label>
            <label>"Text " <input type="search" name="search" value=move || get("search") maxlength="200"
                placeholder="a record's key, a mapping, an outcome" /></label>
            <button type="submit">"Filter"</button>
            <a href="/audit">"Clear"</a>
        </form>
        <Transition fallback=|| view! { <p>"Loading the audit log…"</p> }>
            {move || Suspend::new(async move {
                match list.await {
                    Ok(list) if list.entries.is_empty() => view! { <p>"No entries match."</p> }.into_any(),
                    Ok(list) => {
                        let older = list.next.map(|before| {
                            let href = format!(
                                "/audit?actor={}&action={}&search={}&before={before}",
                                crate::records::href::encode(&get("actor")),
                                crate::records::href::encode(&get("action")),
                                crate::records::href::encode(&get("search")),
                            );
                            view! { <p class="more"><a class="button" href=href>"Older entries"</a></p> }
                        });
                        view! {
                            <table class="audit">
                                <thead>
                                    <tr><th>"When"</th><th>"Who"</th><th>"Action"</th><th>"On"</th><th>"Outcome"</th></tr>
                                </thead>
                                <tbody>
                                    {list.entries.into_iter().map(|e| view! {
                                        <tr>
                                            <td>{format_time(e.at)}</td>
                                            <td>{e.actor}</td>
                                            <td>{e.action}</td>
                                            <td class="selection">{e.selection}</td>
                                            <td>{e.outcome}</td>
                                        </tr>
                                    }).collect_view()}
                                </tbody>
                            </table>
                            {older}
                        }
                        .into_any()
                    }
                    Err(error) => error.alert(),
                }
            })}
        </Transition>
    }
}
