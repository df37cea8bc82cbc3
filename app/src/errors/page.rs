//! `/errors`: Coupled Data Synchronization Errors. The filter lives in the URL, so any
//! view is a link; one form holds the selection and every action, so the page works
//! with JavaScript disabled and, with it, acts and updates in place.

use super::api::{ActOnSyncErrors, ErrorList, MOST, PAGE, list_sync_errors};
use crate::live::use_live;
use crate::mappings::api::list_mappings;
use crate::records::href::{encode, log_href};
use engine::model::{
    Action, ActionAnswer, Outcome, Resolution, Role, Side, SyncErrorKind, SyncErrorSummary,
    format_time,
};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;
use std::collections::BTreeSet;

/// The kinds of sync error, as the filter and the table name them.
pub const KINDS: [(&str, &str); 4] = [
    ("update_conflict", "Update conflict"),
    ("deleted_local", "Local record deleted"),
    ("deleted_integration", "Integration record deleted"),
    ("failed", "Failed"),
];

/// The label of `kind`.
pub fn kind_label(kind: SyncErrorKind) -> &'static str {
    KINDS
        .iter()
        .find(|(value, _)| *value == kind.as_str())
        .map_or(kind.as_str(), |(_, label)| label)
}

/// The errors page's filter, as in its URL.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
struct ErrorQuery {
    mapping: String,
    kind: String,
    search: String,
    since: String,
    until: String,
    job: String,
    after: String,
    limit: String,
}

impl ErrorQuery {
    /// The filter's fields as URL parameters (without the page position).
    fn params(&self) -> String {
        let mut out = Vec::new();
        for (name, value) in [
            ("mapping", &self.mapping),
            ("kind", &self.kind),
            ("search", &self.search),
            ("since", &self.since),
            ("until", &self.until),
            ("job", &self.job),
            ("limit", &self.limit),
        ] {
            if !value.is_empty() {
                out.push(format!("{name}={}", encode(value)));
            }
        }
        out.join("&")
    }

    /// Errors per page: `limit` from the URL, or [`PAGE`].
    fn page_size(&self) -> i64 {
        self.limit.parse().map_or(PAGE, |n: i64| n.clamp(1, MOST))
    }

    /// This view starting after `after`.
    fn page_href(&self, after: Option<&str>) -> String {
        let mut params = self.params();
        if let Some(after) = after {
            if !params.is_empty() {
                params.push('&');
            }
            params.push_str(&format!("after={}", encode(after)));
        }
        if params.is_empty() {
            "/errors".into()
        } else {
            format!("/errors?{params}")
        }
    }
}

/// `1234567` as `1,234,567`.
pub fn thousands(n: i64) -> String {
    let digits = n.unsigned_abs().to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    if n < 0 { format!("-{out}") } else { out }
}

/// The open errors.
#[component]
pub fn ErrorsPage() -> impl IntoView {
    let query = use_query_map();
    let filter = Memo::new(move |_| {
        let q = query.read();
        let get = |name: &str| q.get(name).unwrap_or_default();
        ErrorQuery {
            mapping: get("mapping"),
            kind: get("kind"),
            search: get("search"),
            since: get("since"),
            until: get("until"),
            job: get("job"),
            after: get("after"),
            limit: get("limit"),
        }
    });
    let act = ServerAction::<ActOnSyncErrors>::new();
    let live = use_live();
    // "Load more" shows more of the same list; a new filter starts again with a page.
    let shown = RwSignal::new(filter.get_untracked().page_size());
    Effect::watch(
        move || filter.get(),
        move |f, _, _| shown.set(f.page_size()),
        false,
    );
    let errors = Resource::new(
        move || (filter.get(), shown.get(), act.version().get(), live.get()),
        |(f, limit, _, _)| {
            list_sync_errors(
                Some(f.mapping),
                Some(f.kind),
                Some(f.search),
                Some(f.since),
                Some(f.until),
                Some(f.job),
                Some(f.after),
                Some(limit),
            )
        },
    );
    // The selection outlives the table, which is drawn anew on every update.
    let selected = RwSignal::new(BTreeSet::<i64>::new());
    let all = RwSignal::new(false);
    // Controls reflect the selection once the page runs in the browser; before that
    // (and without JavaScript) every control is enabled and the server answers per record.
    let hydrated = RwSignal::new(false);
    Effect::new(move |_| hydrated.set(true));
    // A finished action, or another filter, leaves nothing selected.
    Effect::watch(
        move || (act.version().get(), filter.get()),
        move |_, _, _| {
            selected.set(BTreeSet::new());
            all.set(false);
        },
        false,
    );
    let me = crate::accounts::use_me();
    view! {
        <Title text="Coupled Data Synchronization Errors" />
        <h1>"Coupled Data Synchronization Errors"</h1>
        <FilterForm filter />
        {move || act.value().get().map(|answer| view! { <Answer answer /> })}
        <Transition fallback=|| view! { <p>"Loading errors…"</p> }>
            {move || Suspend::new(async move {
                let can_act = me.has(Role::Operator).await;
                match errors.await {
                    Ok(list) => {
                        view! { <ErrorTable list filter=filter.get_untracked() act selected all hydrated shown can_act /> }
                            .into_any()
                    }
                    Err(error) => error.alert(),
                }
            })}
        </Transition>
    }
}

/// The filter: a GET form, so the filter is the URL.
#[component]
fn FilterForm(filter: Memo<ErrorQuery>) -> impl IntoView {
    let mappings = Resource::new(|| (), |_| list_mappings());
    let value = move |pick: fn(&ErrorQuery) -> String| move || pick(&filter.read());
    view! {
        <form method="get" action="/errors" class="filters" role="search">
            <label>
                "Mapping "
                <select name="mapping">
                    <option value="" selected=move || filter.read().mapping.is_empty()>"All mappings"</option>
                    <Suspense>
                        {move || Suspend::new(async move {
                            mappings
                                .await
                                .unwrap_or_default()
                                .into_iter()
                                .map(|m| {
                                    let name = m.name.clone();
                                    let is = move || filter.read().mapping == name;
                                    let label = m.name.clone();
                                    view! { <option value=m.name selected=is>{label}</option> }
                                })
                                .collect_view()
                        })}
                    </Suspense>
                </select>
            </label>
            <label>
                "Kind "
                <select name="kind">
                    <option value="" selected=move || filter.read().kind.is_empty()>"All kinds"</option>
                    {KINDS
                        .into_iter()
                        .map(|(value, label)| {
                            view! {
                                <option value=value selected=move || filter.read().kind == value>{label}</option>
                            }
                        })
                        .collect_view()}
                </select>
            </label>
            <label>
                "Search "
                <input type="search" name="search" value=value(|f| f.search.clone())
                    placeholder="key, name or message" maxlength="200" />
            </label>
            <label>
                "Failed from "
                <input type="date" name="since" value=value(|f| f.since.clone()) />
            </label>
            <label>
                "to "
                <input type="date" name="until" value=value(|f| f.until.clone()) />
            </label>
            {move || {
                let job = filter.read().job.clone();
                (!job.is_empty()).then(|| view! {
                    <input type="hidden" name="job" value=job.clone() />
                    <span class="badge">{format!("found by job {job}")}</span>
                })
            }}
            <button type="submit">"Filter"</button>
            <a href="/errors">"Clear"</a>
        </form>
    }
}

/// What an action answered, per record.
#[component]
pub fn Answer(answer: Result<ActionAnswer, crate::error::AppError>) -> impl IntoView {
    match answer {
        Ok(answer) => view! {
            <div class="answer" role="status" aria-live="polite">
                <p>{answer.summary.clone()}</p>
                {answer
                    .job_id
                    .map(|id| view! { <p><a href=format!("/jobs/{id}")>{format!("Follow job {id}")}</a></p> })}
                <ul>
                    {answer
                        .outcomes
                        .into_iter()
                        .map(|o| {
                            let class = match o.outcome {
                                Outcome::Done => "done",
                                Outcome::Stale => "stale",
                                Outcome::Refused => "refused",
                                Outcome::Failed => "failed",
                            };
                            let record = o.local_key.or(o.integration_key).unwrap_or_default();
                            view! { <li class=class>{format!("{} {record}: {}", o.mapping, o.message)}</li> }
                        })
                        .collect_view()}
                </ul>
            </div>
        }
        .into_any(),
        Err(error) => error.alert(),
    }
}

/// The actions of the toolbar: (action, label).
const BULK: [(Action, &str); 6] = [
    (Action::Retry, "Retry"),
    (
        Action::Synchronize(Resolution::Local),
        "Synchronize: use local",
    ),
    (
        Action::Synchronize(Resolution::Integration),
        "Synchronize: use integration",
    ),
    (Action::RestoreRecords, "Restore Records"),
    (Action::DeleteRecords, "Delete Records"),
    (Action::RemoveCoupling, "Remove Coupling"),
];

/// Each row's own fixes, offered where they apply: (action, label).
const ROW_FIXES: [(Action, &str); 6] = [
    (Action::Synchronize(Resolution::Local), "Use local"),
    (
        Action::Synchronize(Resolution::Integration),
        "Use integration",
    ),
    (Action::Retry, "Retry"),
    (Action::RestoreRecords, "Restore Records"),
    (Action::DeleteRecords, "Delete Records"),
    (Action::RemoveCoupling, "Remove Coupling"),
];

#[component]
fn ErrorTable(
    list: ErrorList,
    filter: ErrorQuery,
    act: ServerAction<ActOnSyncErrors>,
    selected: RwSignal<BTreeSet<i64>>,
    all: RwSignal<bool>,
    hydrated: RwSignal<bool>,
    shown: RwSignal<i64>,
    can_act: bool,
) -> impl IntoView {
    let ErrorList {
        errors,
        total,
        next,
        view,
        ..
    } = list;
    if errors.is_empty() {
        return view! { <p class="empty">"No open sync errors match."</p> }.into_any();
    }
    let rows = StoredValue::new(errors.clone());
    let ids: Vec<i64> = errors.iter().map(|e| e.id).collect();
    let page_ids = StoredValue::new(ids);
    let count_selected = move || {
        let chosen = selected.read();
        page_ids.with_value(|ids| ids.iter().filter(|id| chosen.contains(id)).count())
    };
    let disabled = move |action: Action| {
        move || {
            if !hydrated.get() || all.get() {
                return false;
            }
            let chosen = selected.read();
            !rows.with_value(|rows| {
                rows.iter()
                    .any(|e| chosen.contains(&e.id) && action.applies_to(e))
            })
        }
    };
    let whole_page = move || {
        let chosen = selected.read();
        page_ids.with_value(|ids| !ids.is_empty() && ids.iter().all(|id| chosen.contains(id)))
    };
    let toggle_page = move |_| {
        let on = !whole_page();
        selected.update(|chosen| {
            page_ids.with_value(|ids| {
                for id in ids {
                    if on {
                        chosen.insert(*id);
                    } else {
                        chosen.remove(id);
                    }
                }
            })
        });
    };
    let shown_now = errors.len() as i64;
    let export = format!("/api/export_sync_errors.csv?{}", filter.params());
    let more = next.clone().map(|next| {
        let href = filter.page_href(Some(&next));
        let can_grow = shown.get_untracked() < MOST && filter.after.is_empty();
        let step = filter.page_size();
        view! {
            <p class="more">
                <a href=href rel="external" class="button" on:click=move |ev| {
                    // With the page running, show more of this list in place; without
                    // it (or past the most one list shows) the link opens the next page.
                    if can_grow {
                        ev.prevent_default();
                        shown.update(|n| *n = (*n + step).min(MOST));
                    }
                }>"Load more"</a>
            </p>
        }
    });
    let first_page = (!filter.after.is_empty()).then(|| {
        let href = filter.page_href(None);
        view! { <a href=href>"Back to the newest"</a> }
    });
    view! {
        <ActionForm action=act attr:class="bulk" attr:aria-label="Act on sync errors">
            <input type="hidden" name="view" value=view.clone() />
            <input type="hidden" name="mapping" value=filter.mapping.clone() />
            <input type="hidden" name="kind" value=filter.kind.clone() />
            <input type="hidden" name="search" value=filter.search.clone() />
            <input type="hidden" name="since" value=filter.since.clone() />
            <input type="hidden" name="until" value=filter.until.clone() />
            <input type="hidden" name="job" value=filter.job.clone() />
            {if can_act {
                view! {
            <div class="toolbar" role="toolbar" aria-label="Act on the selected errors">
                <span class="selected-count" aria-live="polite">
                    {move || {
                        if all.get() {
                            format!("All {} matching errors", thousands(total))
                        } else {
                            format!("{} selected", count_selected())
                        }
                    }}
                </span>
                <label class="all-matching">
                    <input type="checkbox" name="all" value="matching"
                        prop:checked=move || all.get()
                        on:change=move |ev| all.set(event_target_checked(&ev)) />
                    {format!(" Act on all {} matching errors", thousands(total))}
                </label>
                {BULK
                    .into_iter()
                    .map(|(action, label)| {
                        view! {
                            <button type="submit" name="action" value=action.form_name()
                                disabled=disabled(action)>{label}</button>
                        }
                    })
                    .collect_view()}
                <span class="toolbar-gap"></span>
                <button type="submit" name="action" value="retry_all"
                    title="Retry every error matching the filter">
                    {format!("Retry All ({})", thousands(total))}
                </button>
                <button type="submit" name="action" value="find_deleted"
                    title="Look for coupled records deleted in either system">"Find for Deleted"</button>
                <a class="button" href=export download="sync-errors.csv">"Export CSV"</a>
            </div>
                }
                .into_any()
            } else {
                view! {
                    <div class="toolbar" role="note">
                        <span>"You may read these errors; fixing them needs the operator role."</span>
                        <a class="button" href=export download="sync-errors.csv">"Export CSV"</a>
                    </div>
                }
                .into_any()
            }}
            <p class="count">
                {format!(
                    "Showing {} of {} open error{}",
                    thousands(shown_now),
                    thousands(total),
                    if total == 1 { "" } else { "s" },
                )}
                " "
                {first_page}
            </p>
            <table class="list errors">
                <thead>
                    <tr>
                        <th scope="col" class="pick">
                            <input type="checkbox" aria-label="Select this page"
                                prop:checked=whole_page on:change=toggle_page />
                        </th>
                        <th scope="col">"Mapping"</th>
                        <th scope="col">"Local record"</th>
                        <th scope="col">"Integration record"</th>
                        <th scope="col">"Kind"</th>
                        <th scope="col">"What happened"</th>
                        <th scope="col">"Failed on"</th>
                        <th scope="col">"Attempts"</th>
                        <th scope="col">"Fix"</th>
                    </tr>
                </thead>
                <tbody>
                    {errors.into_iter().map(|e| view! { <ErrorRow e selected can_act /> }).collect_view()}
                </tbody>
            </table>
            {more}
        </ActionForm>
    }
    .into_any()
}

#[component]
fn ErrorRow(
    e: SyncErrorSummary,
    selected: RwSignal<BTreeSet<i64>>,
    can_act: bool,
) -> impl IntoView {
    let record = e
        .local_key
        .clone()
        .or(e.integration_key.clone())
        .unwrap_or_default();
    let seen = format!("{}:{}", e.id, e.version);
    let fixes = ROW_FIXES
        .into_iter()
        .filter(|(action, _)| can_act && action.applies_to(&e))
        .map(|(action, label)| {
            let aria = format!("{label} {record}");
            view! {
                <button type="submit" name="row" value=format!("{}@{seen}", action.form_name()) aria-label=aria>
                    {label}
                </button>
            }
        })
        .collect_view();
    let id = e.id;
    let side = |side: Side| {
        let exists = e.exists(side);
        let description = (side == e.side).then(|| e.description.clone()).flatten();
        match e.key(side) {
            Some(key) => {
                let href = log_href(&e.mapping, side, key);
                view! {
                    <a href=href title="Synchronization Log">{key.to_string()}</a>
                    {description.map(|d| view! { <span class="description">{d}</span> })}
                    {(!exists).then(|| view! { <span class="badge deleted">"deleted"</span> })}
                }
                .into_any()
            }
            None => view! { <span class="muted">"not coupled"</span> }.into_any(),
        }
    };
    view! {
        <tr data-error=e.id class:selected=move || selected.read().contains(&id)>
            <td class="pick">
                <input type="checkbox" name="refs[]" value=seen.clone()
                    aria-label=format!("Select {record}")
                    prop:checked=move || selected.read().contains(&id)
                    on:change=move |ev| {
                        let on = event_target_checked(&ev);
                        selected.update(|chosen| {
                            if on { chosen.insert(id); } else { chosen.remove(&id); }
                        });
                    } />
            </td>
            <td>{e.mapping.clone()}</td>
            <td>{side(Side::Local)}</td>
            <td>{side(Side::Integration)}</td>
            <td>
                <span class=format!("kind {}", e.kind.as_str())>{kind_label(e.kind)}</span>
                {e.skipped.then(|| view! { " " <span class="badge paused">"Skipped"</span> })}
            </td>
            <td class="message">
                {e.message.clone()}
                {e.changed_by.clone().map(|by| {
                    view! { <span class="who">{format!("Last changed by {by}")}</span> }
                })}
            </td>
            <td>{format_time(e.failed_at)}</td>
            <td>{e.attempts}</td>
            <td class="fixes">
                {fixes}
                <a href=format!("/errors/{}", e.id) aria-label=format!("Details of {record}")>"Details"</a>
            </td>
        </tr>
    }
}
