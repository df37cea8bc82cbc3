//! Live events: `/api/events` tells each open console page (server-sent events) when the
//! store changed, as counted by the [shared state's](crate::state) watcher, so pages fetch
//! again within a second of a job's batch or another administrator's action, whichever
//! process did it. A stream lasts as long as the session it was opened with.

use crate::guard::SignedInReader;
use crate::state::AppState;
use app::server::{SESSION_COOKIE, cookie};
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::sse::{Event, KeepAlive, Sse};
use futures_util::Stream;
use std::convert::Infallible;
use std::time::Duration;

/// How often an open stream checks that its session is still open, when nothing changes.
const SESSION_CHECK: Duration = Duration::from_secs(5);

/// `GET /api/events`: a `change` event whenever the store changes, until the session
/// ends (signed out, signed out everywhere, expired).
pub async fn events(
    _: SignedInReader,
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Sse<impl Stream<Item = Result<Event, Infallible>>> {
    let mut changes = state.changes.clone();
    changes.mark_unchanged();
    let token = cookie(&headers, SESSION_COOKIE).unwrap_or_default();
    let mut check = tokio::time::interval(SESSION_CHECK);
    check.reset();
    let open = async move |state: &AppState, token: &str| {
        state
            .engine
            .session_is_open(token, state.sessions)
            .await
            .unwrap_or(true)
    };
    let stream = futures_util::stream::unfold(
        (changes, check, state, token),
        move |(mut changes, mut check, state, token)| async move {
            loop {
                tokio::select! {
                    changed = changes.changed() => {
                        changed.ok()?;
                        if !open(&state, &token).await {
                            return None;
                        }
                        let count = *changes.borrow_and_update();
                        let event = Event::default().event("change").data(count.to_string());
                        return Some((Ok(event), (changes, check, state, token)));
                    }
                    _ = check.tick() => {
                        if !open(&state, &token).await {
                            return None;
                        }
                    }
                }
            }
        },
    );
    Sse::new(stream).keep_alive(KeepAlive::default())
}
