//! `/records/:mapping/:side/:key` (and `…/log`): one record's page — why it is or is not
//! synchronizing, with the fix where there is one, both records side by side, then its
//! synchronization history.

use super::api::{StatusView, find_records, get_record_log, get_record_status};
use super::href::record_href;
use crate::accounts::IfRole;
use crate::errors::api::ActOnSyncErrors;
use crate::errors::page::Answer;
use crate::mappings::api::SetMappingPaused;
use engine::model::{Fix, LogEntrySummary, Reason, RecordPair, Role, Side, format_time};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::{use_params_map, use_query_map};

/// The record's status, then its log, newest first.
#[component]
pub fn RecordPage() -> impl IntoView {
    let params = use_params_map();
    let record = move || {
        let p = params.read();
        (
            p.get("mapping").unwrap_or_default(),
            p.get("side").unwrap_or_default(),
            p.get("key").unwrap_or_default(),
        )
    };
    let act = ServerAction::<ActOnSyncErrors>::new();
    let resume = ServerAction::<SetMappingPaused>::new();
    let status = Resource::new(
        move || (record(), act.version().get(), resume.version().get()),
        |((mapping, side, key), _, _)| get_record_status(mapping, side, key),
    );
    let log = Resource::new(
        move || (record(), act.version().get()),
        |((mapping, side, key), _)| get_record_log(mapping, side, key),
    );
    view! {
        <Title text="Synchronization Log" />
        <h1>"Synchronization Log"</h1>
        <p class="record">
            {move || {
                let (mapping, side, key) = record();
                format!("Mapping {mapping}, {side} record {key}")
            }}
        </p>
        {move || act.value().get().map(|answer| view! { <Answer answer /> })}
        <Transition fallback=|| view! { <p>"Finding out its status…"</p> }>
            {move || Suspend::new(async move {
                match status.await {
                    Ok(shown) => view! { <Status shown act resume /> }.into_any(),
                    Err(error) => error.alert(),
                }
            })}
        </Transition>
        <h2>"History"</h2>
        <Transition fallback=|| view! { <p>"Loading the log…"</p> }>
            {move || Suspend::new(async move {
                match log.await {
                    Ok(entries) if entries.is_empty() => {
                        view! { <p class="empty">"Nothing has been logged for this record."</p> }.into_any()
                    }
                    Ok(entries) => view! { <LogTable entries /> }.into_any(),
                    Err(error) => error.alert(),
                }
            })}
        </Transition>
    }
}

/// The record's state and every reason behind it, each with its fix.
#[component]
fn Status(
    shown: StatusView,
    act: ServerAction<ActOnSyncErrors>,
    resume: ServerAction<SetMappingPaused>,
) -> impl IntoView {
    let StatusView { status, pair, view } = shown;
    let partner = status.partner.clone().map(|p| {
        let href = record_href(&status.mapping, status.side.other(), &p);
        view! { <p>"Coupled with the " {status.side.other().as_str()} " record " <a href=href>{p}</a></p> }
    });
    view! {
        <section class="status" aria-labelledby="status-heading">
            <h2 id="status-heading">
                "Status: "
                <span class=format!("badge state-{}", status.state.as_str())>{status.state.label()}</span>
            </h2>
            {partner}
            <ul class="reasons">
                {status
                    .reasons
                    .into_iter()
                    .map(|r| view! { <ReasonItem r view=view.clone() act resume /> })
                    .collect_view()}
            </ul>
        </section>
        {pair.map(|pair| view! { <SideBySide pair /> })}
    }
}

/// The record and its partner side by side: each mapped field as it is now, marked where
/// it changed since the last synchronization.
#[component]
fn SideBySide(pair: RecordPair) -> impl IntoView {
    let column = |side: Side| {
        let (key, exists) = match side {
            Side::Local => (pair.local_key.clone(), pair.local_exists),
            Side::Integration => (pair.integration_key.clone(), pair.integration_exists),
        };
        let heading = match &key {
            Some(key) => format!("The {side} record {key}"),
            None => format!("The {side} record: none coupled"),
        };
        let body = match (key, exists) {
            (None, _) => {
                view! { <p class="empty">"Not coupled: no record on this side yet."</p> }.into_any()
            }
            (Some(_), false) => view! { <p class="empty">"It does not exist now."</p> }.into_any(),
            (Some(_), true) => {
                let fields = pair
                    .fields
                    .iter()
                    .filter_map(|f| {
                        let (name, value, changed) = match side {
                            Side::Local => (f.local_field.clone()?, f.local.clone(), f.local_changed),
                            Side::Integration => {
                                (f.integration_field.clone()?, f.integration.clone(), f.integration_changed)
                            }
                        };
                        let text = value.map_or_else(|| "—".to_string(), |v| v.as_text());
                        Some(view! {
                            <dt>{name}</dt>
                            <dd class:changed=changed>
                                {text}
                                {changed.then(|| view! { " " <span class="badge changed">"changed"</span> })}
                            </dd>
                        })
                    })
                    .collect_view();
                view! { <dl class="fields">{fields}</dl> }.into_any()
            }
        };
        let label = heading.clone();
        view! {
            <section aria-label=label>
                <h3>{heading}</h3>
                {body}
            </section>
        }
    };
    view! {
        <h2>"Both records"</h2>
        <div class="records-side-by-side">
            {column(Side::Local)}
            {column(Side::Integration)}
        </div>
    }
}

#[component]
fn ReasonItem(
    r: Reason,
    view: String,
    act: ServerAction<ActOnSyncErrors>,
    resume: ServerAction<SetMappingPaused>,
) -> impl IntoView {
    let fix = r.fix.map(|fix| match fix {
        Fix::Retry { error_id, version } => view! {
            <ActionForm action=act attr:class="inline">
                <input type="hidden" name="view" value=view />
                <input type="hidden" name="refs[]" value=format!("{error_id}:{version}") />
                <IfRole role=Role::Operator>
                    <button type="submit" name="action" value="retry">"Retry"</button>
                </IfRole>
            </ActionForm>
            " "
            <a href=format!("/errors/{error_id}")>"Open the error"</a>
        }
        .into_any(),
        Fix::OpenError { error_id } => {
            view! { <a href=format!("/errors/{error_id}")>"Open the error"</a> }.into_any()
        }
        Fix::Resume { mapping } => view! {
            <ActionForm action=resume attr:class="inline">
                <input type="hidden" name="name" value=mapping.clone() />
                <input type="hidden" name="paused" value="false" />
                <IfRole role=Role::Admin>
                    <button type="submit">{format!("Resume {mapping}")}</button>
                </IfRole>
            </ActionForm>
        }
        .into_any(),
        Fix::OpenRecord { mapping, side, key } => view! {
            <a href=record_href(&mapping, side, &key)>{format!("Open {mapping} {side} record {key}")}</a>
        }
        .into_any(),
    });
    view! {
        <li class=format!("reason reason-{}", r.code.as_str())>
            <code>{r.code.as_str()}</code>
            " "
            {r.message}
            {fix.map(|fix| view! { <div class="fix">{fix}</div> })}
        </li>
    }
}

/// `/find?text=…`: the records a key or a name names, each a link to its page.
#[component]
pub fn FindPage() -> impl IntoView {
    let query = use_query_map();
    let text = move || query.read().get("text").unwrap_or_default();
    let found = Resource::new(text, |text| async move {
        if text.trim().is_empty() {
            return Ok(Vec::new());
        }
        find_records(text).await
    });
    view! {
        <Title text="Find a record" />
        <h1>"Find a record"</h1>
        <form class="finder-page" action="/find" method="get" role="search">
            <label for="find-text">"Key or name"</label>
            <input id="find-text" type="search" name="text" value=text />
            <button type="submit">"Find"</button>
        </form>
        <Transition fallback=|| view! { <p>"Looking…"</p> }>
            {move || Suspend::new(async move {
                match found.await {
                    Ok(records) if records.is_empty() && !text().trim().is_empty() => {
                        view! { <p class="empty">{format!("No record of any mapping is named {:?}.", text().trim())}</p> }.into_any()
                    }
                    Ok(records) => view! {
                        <ul class="found">
                            {records
                                .into_iter()
                                .map(|r| {
                                    let href = record_href(&r.mapping, r.side, &r.key);
                                    view! {
                                        <li>
                                            <a href=href>{format!("{} {} record {}", r.mapping, r.side, r.key)}</a>
                                            {r.description.map(|d| view! { " " <span class="muted">{d}</span> })}
                                        </li>
                                    }
                                })
                                .collect_view()}
                        </ul>
                    }
                    .into_any(),
                    Err(error) => error.alert(),
                }
            })}
        </Transition>
    }
}

#[component]
fn LogTable(entries: Vec<LogEntrySummary>) -> impl IntoView {
    view! {
        <table class="list log">
            <thead>
                <tr>
                    <th scope="col">"Time"</th>
                    <th scope="col">"Job"</th>
                    <th scope="col">"Direction"</th>
                    <th scope="col">"What was done"</th>
                    <th scope="col">"Fields changed"</th>
                    <th scope="col">"Result"</th>
                    <th scope="col">"By"</th>
                </tr>
            </thead>
            <tbody>
                {entries
                    .into_iter()
                    .map(|e| {
                        view! {
                            <tr>
                                <td>{format_time(e.at)}</td>
                                <td>{e.job_id.map(|j| j.to_string()).unwrap_or_default()}</td>
                                <td>{e.direction.map(|d| d.as_str()).unwrap_or("")}</td>
                                <td>
                                    {e.action.clone()}
                                    {e.message.clone().map(|m| view! { <div class="message">{m}</div> })}
                                </td>
                                <td>
                                    <ul class="changes">
                                        {e
                                            .changes
                                            .iter()
                                            .map(|c| {
                                                view! {
                                                    <li>
                                                        <span class="field">{c.field.clone()}</span> ": "
                                                        {c.old.to_string()} " → " {c.new.to_string()}
                                                    </li>
                                                }
                                            })
                                            .collect_view()}
                                    </ul>
                                </td>
                                <td>{e.result.clone()}</td>
                                <td>{e.actor.clone()}</td>
                            </tr>
                        }
                    })
                    .collect_view()}
            </tbody>
        </table>
    }
}
