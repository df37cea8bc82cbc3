//! The axum router: the console's pages, its server functions under `/api/`, the static
//! site (`/pkg/…`), `/health` and `/metrics`, all behind the [guard](crate::guard).
//! Separate from serving so tests drive the real router.

use app::{App, shell};
use axum::Router;
use axum::body::Body;
use axum::extract::{FromRef, Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use engine::Engine;
use engine::accounts::SessionPolicy;
use leptos::prelude::{LeptosOptions, provide_context};
use leptos_axum::{LeptosRoutes, generate_route_list, handle_server_fns_with_context};

/// What every handler shares.
#[derive(Clone, Debug)]
pub struct AppState {
    /// The engine, provided as context to every server function and page.
    pub engine: Engine,
    /// Where the built site lives and what it is called.
    pub leptos: LeptosOptions,
    /// Counts the store's changes, for live events.
    pub changes: tokio::sync::watch::Receiver<u64>,
    /// How long sessions last.
    pub sessions: SessionPolicy,
}

impl AppState {
    /// The state of a router over `engine`, watching its store for live events.
    pub fn new(engine: Engine, leptos: LeptosOptions) -> AppState {
        let changes = crate::live::watch_changes(engine.clone());
        AppState {
            engine,
            leptos,
            changes,
            sessions: SessionPolicy::default(),
        }
    }
}

impl FromRef<AppState> for LeptosOptions {
    fn from_ref(state: &AppState) -> Self {
        state.leptos.clone()
    }
}

/// The whole application.
pub fn router(state: AppState) -> Router {
    let routes = generate_route_list(App);
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
        .fallback(leptos_axum::file_and_error_handler_with_context::<
            AppState,
            _,
        >(context, shell))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            crate::guard::guard,
        ))
        .with_state(state)
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
