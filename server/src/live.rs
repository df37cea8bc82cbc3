//! Live events: `/api/events` tells each open console page (server-sent events) when the
//! store changed, as counted by the [shared state's](crate::state) watcher, so pages fetch
//! again within a second of a job's batch or another administrator's action, whichever
//! process did it.

use crate::guard::SignedInReader;
use crate::state::AppState;
use axum::extract::State;
use axum::response::sse::{Event, KeepAlive, Sse};
use futures_util::Stream;
use std::convert::Infallible;

/// `GET /api/events`: a `change` event whenever the store changes.
pub async fn events(
    _: SignedInReader,
    State(state): State<AppState>,
) -> Sse<impl Stream<Item = Result<Event, Infallible>>> {
    let mut changes = state.changes.clone();
    changes.mark_unchanged();
    let stream = futures_util::stream::unfold(changes, |mut changes| async move {
        changes.changed().await.ok()?;
        let count = *changes.borrow_and_update();
        let event = Event::default().event("change").data(count.to_string());
        Some((Ok(event), changes))
    });
    Sse::new(stream).keep_alive(KeepAlive::default())
}
