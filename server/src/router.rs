//! The axum router: the console's pages, its server functions under `/api/`, the static
//! site (`/pkg/…`), `/health` and `/metrics`, all behind the [guard](crate::guard).
//! Separate from serving so tests drive the real router.

use crate::state::AppState;
use app::{App, shell};
use axum::Router;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use leptos::prelude::provide_context;
use leptos_axum::{
    AxumRouteListing, LeptosRoutes, generate_route_list, handle_server_fns_with_context,
};
use std::sync::LazyLock;

/// The console's routes, listed once per process. Listing them renders the whole app with
/// resource loading suppressed by a flag every thread shares: a resource first polled
/// while any router lists its routes waits forever, and so does its request. Listed once,
/// before any router exists, no listing overlaps a request.
static ROUTES: LazyLock<Vec<AxumRouteListing>> = LazyLock::new(|| generate_route_list(App));

/// The whole application.
pub fn router(state: AppState) -> Router {
    let routes = ROUTES.clone();
    let engine = state.engine.clone();
    let context = move || provide_context(engine.clone());
    let leptos = state.leptos.clone();
    Router::new()
        .route("/health", get(health))
        .route("/metrics", get(crate::metrics::metrics))
        .route("/api/events", get(crate::live::events))
        .route(
            "/api/export_sync_errors.csv",
            get(crate::export::sync_errors),
        )
        .route("/api/{*fn_name}", post(server_fn))
        .leptos_routes_with_context(&state, routes, context.clone(), move || {
            shell(leptos.clone())
        })
        .fallback(fallback)
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            crate::guard::guard,
        ))
        .with_state(state)
}

/// A file of the console's site, else the console's answer (its "not found").
async fn fallback(State(state): State<AppState>, request: Request<Body>) -> Response {
    let path = request.uri().path().to_string();
    if let Some(file) = state.site.file(request.method(), &path).await {
        return file;
    }
    let engine = state.engine.clone();
    let leptos = state.leptos.clone();
    let render = leptos_axum::render_app_async_with_context(
        move || provide_context(engine.clone()),
        move || shell(leptos.clone()),
    );
    render(request).await
}

async fn server_fn(State(state): State<AppState>, request: Request<Body>) -> impl IntoResponse {
    let engine = state.engine.clone();
    handle_server_fns_with_context(move || provide_context(engine.clone()), request).await
}

/// 200 once the server runs and the store answers; 503 with the reason otherwise.
async fn health(State(state): State<AppState>) -> Response {
    match state.engine.health().await {
        Ok(()) => (StatusCode::OK, "ok\n").into_response(),
        Err(error) => {
            tracing::warn!(%error, "health check failed");
            (StatusCode::SERVICE_UNAVAILABLE, "store unreachable\n").into_response()
        }
    }
}
