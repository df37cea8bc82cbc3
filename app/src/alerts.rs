//! `/alerts`: the alert rules of `coupler.toml` (read-only) with where each holds now, and
//! the newest firings with each delivery's status, attempts and last error.

use crate::error::AppError;
use engine::model::{AlertFiring, AlertRuleSummary, AlertsView, DeliveryStatus, format_time};
use leptos::prelude::*;
use leptos_meta::Title;

/// The rules and the newest firings.
#[server(endpoint = "list_alerts")]
pub async fn list_alerts() -> Result<AlertsView, AppError> {
    let (engine, _) = crate::server::engine_as(engine::model::Role::Viewer)?;
    Ok(engine.alerts_view().await?)
}

/// The Alerts page.
#[component]
pub fn AlertsPage() -> impl IntoView {
    let live = crate::live::use_live();
    let view = Resource::new(move || live.get(), |_| list_alerts());
    view! {
        <Title text="Alerts" />
        <h1>"Alerts"</h1>
        <Transition fallback=|| view! { <p>"Loading the alerts…"</p> }>
            {move || Suspend::new(async move {
                match view.await {
                    Ok(alerts) => view! {
                        <Rules rules=alerts.rules />
                        <Firings firings=alerts.firings />
                    }
                    .into_any(),
                    Err(error) => error.alert(),
                }
            })}
        </Transition>
    }
}

/// The rules as configured.
#[component]
fn Rules(rules: Vec<AlertRuleSummary>) -> impl IntoView {
    if rules.is_empty() {
        return view! {
            <p class="empty">"No alert rules are configured: add [[alert]] rules to coupler.toml."</p>
        }
        .into_any();
    }
    view! {
        <h2>"Rules"</h2>
        <table class="alert-rules">
            <thead>
                <tr><th>"Rule"</th><th>"Fires on"</th><th>"Mapping"</th><th>"Delivered to"</th><th>"Holds now for"</th></tr>
            </thead>
            <tbody>
                {rules.into_iter().map(|rule| view! {
                    <tr>
                        <td>{rule.name}</td>
                        <td><code>{rule.when}</code>" · "{rule.condition}</td>
                        <td>{rule.mapping.unwrap_or_else(|| "every mapping".into())}</td>
                        <td>{rule.deliveries.join(", ")}</td>
                        <td class="holding">
                            {if rule.holding.is_empty() { "—".to_string() } else { rule.holding.join(", ") }}
                        </td>
                    </tr>
                }).collect_view()}
            </tbody>
        </table>
    }
    .into_any()
}

/// The newest firings, each with its deliveries.
#[component]
fn Firings(firings: Vec<AlertFiring>) -> impl IntoView {
    let list = if firings.is_empty() {
        view! { <p class="empty">"No alert has fired."</p> }.into_any()
    } else {
        view! {
            <table class="firings">
                <thead>
                    <tr><th>"When"</th><th>"Rule"</th><th>"Mapping"</th><th>"State"</th><th>"What held"</th><th>"Deliveries"</th></tr>
                </thead>
                <tbody>
                    {firings.into_iter().map(|firing| {
                        let link = firing.link.clone();
                        view! {
                            <tr class=format!("firing {}", firing.state.as_str())>
                                <td>{format_time(firing.at)}</td>
                                <td>{firing.rule}</td>
                                <td>{firing.mapping}</td>
                                <td class="state">{firing.state.as_str()}</td>
                                <td>{firing.message}" "<a href=link>"Open"</a></td>
                                <td>
                                    <ul class="deliveries">
                                        {firing.deliveries.into_iter().map(|d| {
                                            let status = match (d.status, d.attempts) {
                                                (DeliveryStatus::Sent, 1) => format!("sent {}", d.sent_at.map(format_time).unwrap_or_default()),
                                                (DeliveryStatus::Sent, n) => format!("sent {} after {n} attempts", d.sent_at.map(format_time).unwrap_or_default()),
                                                (DeliveryStatus::Pending, 0) => "pending".to_string(),
                                                (DeliveryStatus::Pending, 1) => "retrying: 1 attempt failed".to_string(),
                                                (DeliveryStatus::Pending, n) => format!("retrying: {n} attempts failed"),
                                                (DeliveryStatus::Failed, n) => format!("failed after {n} attempts"),
                                            };
                                            let error = d.last_error.map(|e| match d.status {
                                                DeliveryStatus::Sent => format!(" (a failed attempt: {e})"),
                                                _ => format!(" (last: {e}, at {})", d.last_at.map(format_time).unwrap_or_default()),
                                            });
                                            view! {
                                                <li class=format!("delivery {}", d.status.as_str())>
                                                    {format!("{} {}: {status}", d.channel, d.destination)}
                                                    {error}
                                                </li>
                                            }
                                        }).collect_view()}
                                    </ul>
                                </td>
                            </tr>
                        }
                    }).collect_view()}
                </tbody>
            </table>
        }
        .into_any()
    };
    view! { <h2>"Firings"</h2> {list} }
}
