//! `/metrics`: the store's numbers in the Prometheus text format, for signed-in admins
//! and for anything on this machine (a local scraper), and nobody else.

use crate::state::AppState;
use app::server::ClientAddress;
use axum::extract::{Request, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use engine::model::{MappingCounts, ProblemCode, Role, SignedIn};
use std::fmt::Write;

/// Answers the metrics, or 403.
pub async fn metrics(State(state): State<AppState>, request: Request) -> Response {
    let admin = request
        .extensions()
        .get::<SignedIn>()
        .is_some_and(|me| me.role == Role::Admin);
    let local = request
        .extensions()
        .get::<ClientAddress>()
        .is_some_and(|address| address.0.is_loopback());
    if !(admin || local) {
        return (
            StatusCode::FORBIDDEN,
            "metrics are for admins, or for this machine\n",
        )
            .into_response();
    }
    let counts = match state.engine.mapping_counts().await {
        Ok(counts) => counts,
        Err(error) => {
            tracing::warn!(%error, "cannot count for the metrics");
            return (
                StatusCode::SERVICE_UNAVAILABLE,
                "the store is not answering\n",
            )
                .into_response();
        }
    };
    let mut text = String::new();
    let mut gauge = |name: &str, help: &str, samples: Vec<(String, i64)>| {
        let _ = writeln!(
            text,
            "# HELP coupler_{name} {help}\n# TYPE coupler_{name} gauge"
        );
        for (labels, value) in samples {
            let _ = writeln!(text, "coupler_{name}{{{labels}}} {value}");
        }
    };
    type PerMapping = fn(&MappingCounts) -> i64;
    let per_mapping: [(&str, &str, PerMapping); 5] = [
        ("couplings", "Coupled pairs of records.", |c| c.coupled),
        ("in_sync", "Coupled pairs with no open error.", |c| {
            c.in_sync
        }),
        (
            "skipped",
            "Couplings left out of scheduled synchronization.",
            |c| c.skipped,
        ),
        ("deferred", "Records waiting for another record.", |c| {
            c.deferred
        }),
        (
            "paused",
            "1 when scheduled synchronization is paused.",
            |c| i64::from(c.paused),
        ),
    ];
    for (name, help, value) in per_mapping {
        let samples = counts
            .iter()
            .map(|c| (format!("mapping=\"{}\"", c.mapping), value(c)))
            .collect();
        gauge(name, help, samples);
    }
    gauge(
        "open_sync_errors",
        "Open sync errors by kind.",
        counts
            .iter()
            .flat_map(|c| {
                c.errors.iter().map(|(kind, n)| {
                    (
                        format!("mapping=\"{}\",kind=\"{}\"", c.mapping, kind.as_str()),
                        *n,
                    )
                })
            })
            .collect(),
    );
    gauge(
        "records",
        "Records by state (the sync health counts; changes are counted up to a limit).",
        counts
            .iter()
            .flat_map(|c| {
                c.by_state.iter().map(|n| {
                    (
                        format!("mapping=\"{}\",state=\"{}\"", c.mapping, n.code.as_str()),
                        n.count,
                    )
                })
            })
            .collect(),
    );
    gauge(
        "mapping_problem",
        "1 when the problem holds for the mapping.",
        counts
            .iter()
            .flat_map(|c| {
                ProblemCode::ALL.into_iter().map(|code| {
                    let holds = c.health.problems.iter().any(|p| p.code == code);
                    (
                        format!("mapping=\"{}\",problem=\"{}\"", c.mapping, code.as_str()),
                        i64::from(holds),
                    )
                })
            })
            .collect(),
    );
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], text).into_response()
}
