//! `/`: the overview: each mapping's numbers, and the error trend of the last 24 hours
//! and 7 days, drawn as SVG.

use crate::error::AppError;
use crate::live::use_live;
use crate::mappings::api::{get_mapping_counts, list_mappings};
use crate::mappings::page::{DirectionLabel, Numbers, StateBadge};
use engine::model::{ErrorTrend, format_time};
use leptos::prelude::*;
use leptos_meta::Title;

/// The error trend over two spans.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Trends {
    /// Per hour, the last 24 hours.
    pub day: ErrorTrend,
    /// Per day, the last 7 days.
    pub week: ErrorTrend,
}

/// Errors first found per hour over the last 24 hours and per day over the last 7 days.
#[server(endpoint = "error_trends")]
pub async fn error_trends() -> Result<Trends, AppError> {
    let (engine, _) = crate::server::engine_as(engine::model::Role::Viewer)?;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64);
    let [day, week] = engine.error_trends(now).await?;
    Ok(Trends { day, week })
}

/// Per mapping: its tables, state and numbers; then the trend.
#[component]
pub fn OverviewPage() -> impl IntoView {
    let live = use_live();
    let mappings = Resource::new(
        move || live.get(),
        |_| async { Ok::<_, AppError>((list_mappings().await?, get_mapping_counts().await?)) },
    );
    let trends = Resource::new(move || live.get(), |_| error_trends());
    view! {
        <Title text="Overview" />
        <h1>"Overview"</h1>
        <Transition fallback=|| view! { <p>"Loading mappings…"</p> }>
            {move || Suspend::new(async move {
                match mappings.await {
                    Ok((list, counts)) => {
                        view! {
                            <ul class="cards">
                                {list
                                    .into_iter()
                                    .map(|m| {
                                        let href = format!("/mappings/{}", m.name);
                                        let numbers = counts
                                            .iter()
                                            .find(|c| c.mapping == m.name)
                                            .cloned()
                                            .map(|c| view! { <Numbers c /> });
                                        view! {
                                            <li class="card" data-mapping=m.name.clone()>
                                                <h2><a href=href>{m.name.clone()}</a></h2>
                                                <p>
                                                    {format!("{}.{}", m.local.system, m.local.table)} " "
                                                    <DirectionLabel direction=m.direction /> " "
                                                    {format!("{}.{}", m.integration.system, m.integration.table)}
                                                </p>
                                                <StateBadge paused=m.paused />
                                                {numbers}
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
        </Transition>
        <h2>"Error trend"</h2>
        <Transition fallback=|| view! { <p>"Loading the trend…"</p> }>
            {move || Suspend::new(async move {
                match trends.await {
                    Ok(t) => view! {
                        <div class="trends">
                            <TrendChart title="Errors found per hour, last 24 hours" trend=t.day hours=true />
                            <TrendChart title="Errors found per day, last 7 days" trend=t.week hours=false />
                        </div>
                    }
                    .into_any(),
                    Err(error) => error.alert(),
                }
            })}
        </Transition>
    }
}

/// A bar chart of a trend, drawn by the app: one bar per period, its count in its title.
#[component]
fn TrendChart(title: &'static str, trend: ErrorTrend, hours: bool) -> impl IntoView {
    const WIDTH: f64 = 480.0;
    const HEIGHT: f64 = 140.0;
    const AXIS: f64 = 18.0;
    let n = trend.counts.len().max(1) as f64;
    let most = trend.counts.iter().copied().max().unwrap_or(0).max(1) as f64;
    let slot = WIDTH / n;
    let total: i64 = trend.counts.iter().sum();
    let label = |i: usize| {
        let start = format_time(trend.start + trend.period * i as i64);
        // "2026-11-27 05:00:00 UTC": the hour, or the date.
        if hours {
            start[11..16].to_string()
        } else {
            start[5..10].to_string()
        }
    };
    let bars = trend
        .counts
        .iter()
        .enumerate()
        .map(|(i, &count)| {
            let h = (count as f64 / most) * (HEIGHT - AXIS - 14.0);
            let x = i as f64 * slot + 2.0;
            let y = HEIGHT - AXIS - h;
            let tip = format!("{}: {count} error{}", label(i), if count == 1 { "" } else { "s" });
            let every = if hours { 4 } else { 1 };
            view! {
                <g>
                    <rect class="bar" x=format!("{x:.1}") y=format!("{y:.1}") width=format!("{:.1}", slot - 4.0)
                        height=format!("{h:.1}")>
                        <title>{tip}</title>
                    </rect>
                    {(count > 0).then(|| view! {
                        <text class="value" x=format!("{:.1}", x + (slot - 4.0) / 2.0) y=format!("{:.1}", y - 3.0)
                            text-anchor="middle">{count}</text>
                    })}
                    {(i % every == 0).then(|| view! {
                        <text class="tick" x=format!("{x:.1}") y=format!("{:.1}", HEIGHT - 4.0)>{label(i)}</text>
                    })}
                </g>
            }
        })
        .collect_view();
    view! {
        <figure class="trend">
            <svg viewBox=format!("0 0 {WIDTH} {HEIGHT}") role="img" aria-label=format!("{title}: {total} in all")>
                <line class="axis" x1="0" y1=HEIGHT - AXIS x2=WIDTH y2=HEIGHT - AXIS />
                {bars}
            </svg>
            <figcaption>{format!("{title}: {total} in all")}</figcaption>
        </figure>
    }
}
